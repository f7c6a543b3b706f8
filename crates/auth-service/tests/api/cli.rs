//! `auth-service admin grant|revoke` (and `cloudchat admin`, the same function): run on its
//! own connection to the database while the service runs, as the command line does.

use auth_service::admin_cli::{AdminCommand, execute};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::spawn_app;

fn command(words: &[&str]) -> AdminCommand {
    let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    AdminCommand::parse(&words).unwrap()
}

async fn the_command_line_names_admins_while_the_service_runs(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    // Another process's view of the same database.
    let db = store_kit::Database::open(
        &app.state.settings.database_url,
        &auth_service::startup::MIGRATIONS,
        false,
    )
    .await
    .unwrap();
    let run = |words: &'static [&'static str]| {
        let pool = db.pool.clone();
        async move { execute(&pool, &command(words)).await }
    };

    let said = run(&["grant", "Alice@Example.com"]).await.unwrap();
    assert_eq!(said, "alice@example.com (alice) is now admin (was user)");
    let me: Value = app.me(&alice.token).await.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    let res = app.admin_users(&alice.token, "").await;
    assert_eq!(res.status(), StatusCode::OK);

    let said = run(&["grant", "alice@example.com"]).await.unwrap();
    assert_eq!(
        said,
        "alice@example.com (alice) is already admin; nothing changed"
    );
    let said = run(&["grant", "alice@example.com", "--role", "moderator"])
        .await
        .unwrap();
    assert_eq!(
        said,
        "alice@example.com (alice) is now moderator (was admin)"
    );
    let said = run(&["revoke", "alice@example.com"]).await.unwrap();
    assert_eq!(
        said,
        "alice@example.com (alice) is now user (was moderator)"
    );
    let res = app.admin_users(&alice.token, "").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let unknown = run(&["grant", "nobody@example.com"]).await.unwrap_err();
    assert_eq!(
        format!("{unknown:#}"),
        "no account has the e-mail address nobody@example.com"
    );

    // Each change is audited as the command line's, with its event.
    let entries = app.audit("").await;
    let changes: Vec<Value> = entries.iter().map(|e| e["details"].clone()).collect();
    assert_eq!(
        changes,
        [
            json!({"from": "moderator", "to": "user"}),
            json!({"from": "admin", "to": "moderator"}),
            json!({"from": "user", "to": "admin"}),
        ]
    );
    for entry in &entries {
        assert_eq!(entry["actor"], json!({"id": null, "name": "command line"}));
        assert_eq!(entry["ip"], Value::Null);
        assert_eq!(entry["target"], json!({"id": alice.id, "name": "alice"}));
    }
    let versions: Vec<Value> = app
        .pending_events()
        .await
        .iter()
        .map(|(_, e)| e["version"].clone())
        .collect();
    assert_eq!(versions, [json!(1), json!(2), json!(3)]);
    db.pool.close().await;
}

both_engines!(the_command_line_names_admins_while_the_service_runs);
