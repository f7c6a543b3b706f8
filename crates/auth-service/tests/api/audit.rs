//! The audit log: append-only in the database itself, and `GET /internal/audit` for
//! chat-service with its filters and cursor.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{CHAT_KEY, RELAY_KEY, assert_problem, spawn_app};

async fn audit_rows_cannot_be_changed_or_deleted(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    app.grant(&alice, "moderator").await;
    let pool = &app.state.db.pool;
    for sql in [
        "UPDATE audit_log SET action = 'nothing.happened'",
        "UPDATE audit_log SET reason = 'rewritten', actor_id = NULL",
        "DELETE FROM audit_log",
    ] {
        let refused = sqlx::query(sql).execute(pool).await;
        let err = refused.err().unwrap_or_else(|| panic!("{sql} was allowed"));
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // Only the name snapshots may be erased (account deletion).
    sqlx::query("UPDATE audit_log SET target_name = 'deleted user'")
        .execute(pool)
        .await
        .unwrap();
    let entries = app.audit("").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "role.change");
    assert_eq!(entries[0]["target"]["name"], "deleted user");
    assert_eq!(
        entries[0]["actor"],
        json!({"id": null, "name": "command line"})
    );
}

async fn chat_service_reads_the_log_by_page_and_filter(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.signup("root").await;
    app.grant(&admin, "admin").await;
    let users = [
        app.signup("alice").await,
        app.signup("bob").await,
        app.signup("carol").await,
    ];
    for user in &users {
        let res = app
            .put_role(&admin.token, user, &json!({"role": "moderator"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app
        .suspend(&admin.token, &users[1], &json!({"reason": "spam"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Rows: the command line's grant, three role changes, a suspension: newest first.
    let all = app.audit("").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "suspension.create",
            "role.change",
            "role.change",
            "role.change",
            "role.change"
        ]
    );

    // Pages of two, each before the last entry of the previous one.
    let mut seen: Vec<Value> = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = app.audit(&query).await;
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        let at = store_kit::parse_rfc3339(last["at"].as_str().unwrap()).unwrap();
        query = format!("limit=2&before={at}:{}", last["id"].as_str().unwrap());
        seen.extend(page);
    }
    assert_eq!(seen, all);

    // Filters.
    let by_admin = app.audit(&format!("actorId={}", admin.id)).await;
    assert_eq!(by_admin.len(), 4);
    let about_bob = app.audit(&format!("targetUserId={}", users[1].id)).await;
    assert_eq!(about_bob.len(), 2);
    let suspensions = app.audit("action=suspension.create").await;
    assert_eq!(suspensions.len(), 1);
    let newest_at = store_kit::parse_rfc3339(all[0]["at"].as_str().unwrap()).unwrap();
    let oldest_at = store_kit::parse_rfc3339(all[4]["at"].as_str().unwrap()).unwrap();
    assert_eq!(app.audit(&format!("since={newest_at}")).await[0], all[0]);
    assert_eq!(
        app.audit(&format!("since={}", newest_at + 1)).await.len(),
        0
    );
    assert_eq!(
        app.audit(&format!("until={}", oldest_at + 1)).await.last(),
        all.last()
    );
    assert_eq!(app.audit(&format!("until={oldest_at}")).await.len(), 0);

    // Only chat-service's key, and sane parameters.
    let res = app
        .internal(Method::GET, "/internal/audit", RELAY_KEY, None)
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
    for query in ["limit=0", "limit=202", "before=yesterday"] {
        let path = format!("/internal/audit?{query}");
        let res = app.internal(Method::GET, &path, CHAT_KEY, None).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    assert_eq!(app.audit("limit=201").await.len(), 5);

    // The figures.
    let res = app
        .internal(Method::GET, "/internal/stats", CHAT_KEY, None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let stats: Value = res.json().await.unwrap();
    assert_eq!(
        stats,
        json!({"users": 4, "suspendedUsers": 1, "admins": 1, "moderators": 3})
    );
    let res = app
        .internal(Method::GET, "/internal/stats", RELAY_KEY, None)
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden_internal_caller").await;
}

both_engines!(
    audit_rows_cannot_be_changed_or_deleted,
    chat_service_reads_the_log_by_page_and_filter,
);
