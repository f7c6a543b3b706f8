//! `cloudchat admin grant|revoke <email>`: the built binary names an admin in a running quick
//! start's DATA_DIR, and the server sees it at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use common::{get_as, register, start};

/// Runs `cloudchat admin <words>` on `data`.
fn admin(data: &std::path::Path, words: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudchat"))
        .arg("admin")
        .args(words)
        .env_clear()
        .env("DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running the cloudchat binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_names_an_admin_while_the_server_runs() {
    let app = start(|_| {}).await;
    let http = reqwest::Client::new();
    let token = register(&http, &app.base, "alice").await;
    let me = get_as(&http, &format!("{}/users/me", app.base), &token).await;
    assert_eq!(me["role"], "user");
    let res = http
        .get(format!("{}/admin/users", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let done = admin(&app.data, &["grant", "alice@example.com"]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert_eq!(
        text(&done.stdout),
        "alice@example.com (alice) is now admin (was user)"
    );
    // The running server reads the role from the database: no restart, no new log-in.
    let me = get_as(&http, &format!("{}/users/me", app.base), &token).await;
    assert_eq!(me["role"], "admin");
    let page = get_as(&http, &format!("{}/admin/users?q=ali", app.base), &token).await;
    assert_eq!(page["users"][0]["role"], "admin");

    let unknown = admin(&app.data, &["grant", "bob@example.com"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        text(&unknown.stderr),
        "cloudchat admin: no account has the e-mail address bob@example.com"
    );
    let usage = admin(&app.data, &["promote", "alice@example.com"]);
    assert_eq!(usage.status.code(), Some(1));
    assert!(text(&usage.stderr).contains("usage:"));

    let done = admin(&app.data, &["revoke", "alice@example.com"]);
    assert!(done.status.success());
    assert_eq!(
        text(&done.stdout),
        "alice@example.com (alice) is now user (was admin)"
    );
    let me = get_as(&http, &format!("{}/users/me", app.base), &token).await;
    assert_eq!(me["role"], "user");

    // `cloudchat --help` lists the command.
    let help = Command::new(env!("CARGO_BIN_EXE_cloudchat"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("admin grant <email> [--role admin|moderator]"));
}
