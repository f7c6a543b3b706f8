//! The admin API (`/admin/users*`): who may use it, the account list, and role changes.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{PASSWORD, TestApp, User, assert_problem, spawn_app, spawn_app_with};

/// An app with an admin (named by the command line), a moderator and an ordinary user.
async fn staffed(app: &TestApp) -> (User, User, User) {
    let admin = app.signup("root").await;
    let moderator = app.signup("mod").await;
    let user = app.signup("carol").await;
    app.grant(&admin, "admin").await;
    app.grant(&moderator, "moderator").await;
    (admin, moderator, user)
}

async fn only_staff_read_and_only_admins_change(engine: Engine) {
    let app = spawn_app(engine).await;
    let (admin, moderator, user) = staffed(&app).await;
    let list = "/admin/users";
    let one = format!("/admin/users/{}", user.id);

    // No token, then an ordinary user.
    let res = app.client.get(app.url(list)).send().await.unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "missing_token").await;
    for path in [list, one.as_str()] {
        let res = app.get(path, &user.token).await;
        assert_problem(res, StatusCode::FORBIDDEN, "staff_required").await;
    }
    // Moderators read.
    let page = app.admin_users_ok(&moderator.token, "").await;
    assert_eq!(page["users"].as_array().unwrap().len(), 3);
    let res = app.get(&one, &moderator.token).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Only admins change roles and suspensions; an ordinary user and a moderator are refused
    // whatever they ask, before their body is even read.
    for who in [&user, &moderator] {
        let res = app
            .put_role(&who.token, &admin, &json!({"role": "user"}))
            .await;
        assert_problem(res, StatusCode::FORBIDDEN, "admin_required").await;
        let res = app
            .put_role(&who.token, &user, &json!({"role": "nonsense"}))
            .await;
        assert_problem(res, StatusCode::FORBIDDEN, "admin_required").await;
        let res = app
            .suspend(&who.token, &user, &json!({"reason": "spam"}))
            .await;
        assert_problem(res, StatusCode::FORBIDDEN, "admin_required").await;
        let res = app.lift(&who.token, &user).await;
        assert_problem(res, StatusCode::FORBIDDEN, "admin_required").await;
    }

    // Admins do not act on their own account, and are not suspended by others.
    let res = app
        .put_role(&admin.token, &admin, &json!({"role": "user"}))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "cannot_target_self").await;
    let res = app
        .suspend(&admin.token, &admin, &json!({"reason": "x"}))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "cannot_target_self").await;
    let other_admin = app.signup("root2").await;
    app.grant(&other_admin, "admin").await;
    let res = app
        .suspend(&admin.token, &other_admin, &json!({"reason": "coup"}))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "target_is_admin").await;

    // Unknown accounts and bad bodies.
    let nobody = format!("/admin/users/{}", uuid::Uuid::now_v7());
    let res = app.get(&nobody, &admin.token).await;
    assert_problem(res, StatusCode::NOT_FOUND, "user_not_found").await;
    let res = app
        .auth_call(
            reqwest::Method::PUT,
            &format!("{nobody}/role"),
            Some(&admin.token),
            Some(&json!({"role": "moderator"})),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "user_not_found").await;
    for body in [
        json!({"role": "root"}),
        json!({"role": "admin", "reason": "x".repeat(501)}),
        json!({}),
    ] {
        let res = app.put_role(&admin.token, &user, &body).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    let past = "2001-01-01T00:00:00Z";
    for body in [
        json!({"reason": ""}),
        json!({"reason": "spam", "until": past}),
        json!({"reason": "spam", "until": "tomorrow"}),
    ] {
        let res = app.suspend(&admin.token, &user, &body).await;
        let problem = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(problem["errors"].as_array().is_some_and(|e| !e.is_empty()));
    }
    // Nothing above was audited.
    assert!(
        app.audit("")
            .await
            .iter()
            .all(|e| e["actor"]["id"].is_null())
    );
}

async fn roles_change_once_and_are_audited(engine: Engine) {
    let app = spawn_app(engine).await;
    let (admin, _, user) = staffed(&app).await;
    let me: Value = app.me(&user.token).await.json().await.unwrap();
    assert_eq!(me["role"], "user");

    let res = app
        .put_role(
            &admin.token,
            &user,
            &json!({"role": "moderator", "reason": "helps in #general"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": user.id, "username": "carol", "email": "carol@example.com",
            "role": "moderator", "status": "active", "suspension": null,
            "createdAt": body["createdAt"], "lastSeenAt": body["lastSeenAt"],
        })
    );
    assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(
        body["lastSeenAt"].is_string(),
        "carol has a session: {body}"
    );
    let me: Value = app.me(&user.token).await.json().await.unwrap();
    assert_eq!(me["role"], "moderator");
    // The log-in answer says so too.
    let again = app.login(&user.email, PASSWORD).await;
    let answer: Value = again.json().await.unwrap();
    assert_eq!(answer["user"]["role"], "moderator");

    // The same role again: no change, no audit row, no event.
    let events_before = app.pending_events().await.len();
    let res = app
        .put_role(&admin.token, &user, &json!({"role": "moderator"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.pending_events().await.len(), events_before);

    let res = app
        .put_role(&admin.token, &user, &json!({"role": "user"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let entries = app.audit(&format!("targetUserId={}", user.id)).await;
    let changes: Vec<(Value, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["details"]["from"].clone(),
                e["details"]["to"].clone(),
                e["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (json!("moderator"), json!("user"), Value::Null),
            (
                json!("user"),
                json!("moderator"),
                json!("helps in #general")
            ),
        ]
    );
    let newest = &entries[0];
    assert_eq!(newest["action"], "role.change");
    assert_eq!(newest["actor"], json!({"id": admin.id, "name": "root"}));
    assert_eq!(newest["target"], json!({"id": user.id, "name": "carol"}));
    assert_eq!(newest["ip"], "127.0.0.1");
    assert_eq!(newest["source"], "auth");
    assert_eq!(newest["roomId"], Value::Null);
    assert_eq!(newest["messageId"], Value::Null);
    assert!(newest["at"].as_str().unwrap().ends_with('Z'));

    // Each change queued one event with the whole state and a growing version.
    let events: Vec<Value> = app
        .pending_events()
        .await
        .into_iter()
        .filter(|(id, _)| *id == user.id.to_string())
        .map(|(_, payload)| payload)
        .collect();
    let seen: Vec<(Value, Value)> = events
        .iter()
        .map(|e| (e["role"].clone(), e["version"].clone()))
        .collect();
    assert_eq!(
        seen,
        [(json!("moderator"), json!(1)), (json!("user"), json!(2))]
    );
    assert_eq!(
        events[0],
        json!({"kind": "moderation", "role": "moderator", "suspended": false,
               "suspendedUntil": null, "hideMessages": false, "version": 1})
    );

    // A revoked admin is refused at once: the role is read on every request.
    app.grant(&admin, "user").await;
    let res = app
        .put_role(&admin.token, &user, &json!({"role": "admin"}))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "admin_required").await;
    let res = app.admin_users(&admin.token, "").await;
    assert_problem(res, StatusCode::FORBIDDEN, "staff_required").await;
}

async fn the_list_searches_filters_and_pages(engine: Engine) {
    let app = spawn_app(engine).await;
    let (admin, moderator, carol) = staffed(&app).await;
    let mut names = vec!["root", "mod", "carol"];
    for name in ["alice", "alina", "al_x", "bob", "Albert"] {
        app.signup(name).await;
        names.push(name);
    }
    let usernames = |page: &Value| -> Vec<String> {
        page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    // Newest accounts first.
    let all = app.admin_users_ok(&admin.token, "").await;
    let newest_first: Vec<String> = names.iter().rev().map(|n| (*n).to_owned()).collect();
    assert_eq!(usernames(&all), newest_first);
    assert_eq!(all["hasMore"], false);
    assert_eq!(all["nextCursor"], Value::Null);

    // A prefix of the username or of the e-mail, whatever the case; LIKE wildcards are
    // literal.
    let page = app.admin_users_ok(&admin.token, "q=AL").await;
    assert_eq!(usernames(&page), ["Albert", "al_x", "alina", "alice"]);
    let page = app.admin_users_ok(&admin.token, "q=al_").await;
    assert_eq!(usernames(&page), ["al_x"]);
    let page = app.admin_users_ok(&admin.token, "q=bob%40example").await;
    assert_eq!(usernames(&page), ["bob"]);
    let page = app.admin_users_ok(&admin.token, "q=example.com").await;
    assert_eq!(usernames(&page), Vec::<String>::new());

    // By role and by status.
    let page = app.admin_users_ok(&admin.token, "role=moderator").await;
    assert_eq!(usernames(&page), ["mod"]);
    let res = app
        .suspend(&admin.token, &carol, &json!({"reason": "spam"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = app
        .admin_users_ok(&moderator.token, "status=suspended")
        .await;
    assert_eq!(usernames(&page), ["carol"]);
    assert_eq!(page["users"][0]["status"], "suspended");
    let page = app.admin_users_ok(&admin.token, "status=active&q=c").await;
    assert_eq!(usernames(&page), Vec::<String>::new());

    // Pages of three, following the cursor to the end.
    let mut seen = Vec::new();
    let mut query = "limit=3".to_owned();
    loop {
        let page = app.admin_users_ok(&admin.token, &query).await;
        seen.extend(usernames(&page));
        if page["hasMore"] == false {
            assert_eq!(page["nextCursor"], Value::Null);
            break;
        }
        let cursor = page["nextCursor"].as_str().unwrap();
        query = format!("limit=3&cursor={cursor}");
    }
    assert_eq!(seen, newest_first);

    // Bad filters.
    let long = "q".repeat(101);
    for query in [
        "limit=0".to_owned(),
        "limit=101".to_owned(),
        "cursor=yesterday".to_owned(),
        "role=root".to_owned(),
        "status=gone".to_owned(),
        format!("q={long}"),
    ] {
        let res = app.admin_users(&admin.token, &query).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
}

async fn admin_changes_are_rate_limited_per_actor(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.rate_limits.admin_actions_per_minute = 2).await;
    let (admin, _, user) = staffed(&app).await;
    for role in ["moderator", "user"] {
        let res = app
            .put_role(&admin.token, &user, &json!({"role": role}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app
        .put_role(&admin.token, &user, &json!({"role": "admin"}))
        .await;
    let problem = assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(problem["detail"].is_string());
    // Reading is not counted.
    app.admin_users_ok(&admin.token, "").await;
}

both_engines!(
    only_staff_read_and_only_admins_change,
    roles_change_once_and_are_audited,
    the_list_searches_filters_and_pages,
    admin_changes_are_rate_limited_per_actor,
);
