//! The second factor (TOTP), with codes computed by an independent RFC 6238 implementation
//! (PyPI `pyotp`, one of the Python test peers) at times the test chooses, and the service's
//! TOTP clock moved by the test instead of sleeping.

use std::process::Command;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use test_stack::AuthStack;

use crate::helpers::{PASSWORD, TestApp, User, assert_problem, spawn_app, spawn_app_with};

/// A TOTP code of `secret` at Unix time `at`, from pyotp.
pub(crate) fn pyotp_at(secret: &str, at: i64) -> String {
    let python = test_support::test_peers_python();
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
            secret,
            &at.to_string(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("running pyotp with {python}: {e}"));
    assert!(
        out.status.success(),
        "pyotp failed (is pyotp in the test peers?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(code.len(), 6, "{code:?}");
    code
}

/// The second factor's steps as a test takes them, on any stack with auth-service in it (a
/// `TestApp` by its `Deref`, or the whole stack of the account tests).
pub(crate) trait Totp {
    fn stack(&self) -> &AuthStack;

    /// The service's TOTP time (Unix seconds).
    fn totp_now(&self) -> i64 {
        self.stack().auth_state.mfa.clock.now_secs()
    }

    /// Moves the service's TOTP clock to the middle of its step, so that a test's codes do not
    /// straddle a step boundary.
    fn mid_step(&self) {
        let into = self.totp_now().rem_euclid(30);
        self.stack().auth_state.mfa.clock.shift_for_tests(15 - into);
    }

    /// pyotp's code for `secret`, `steps` steps from the service's now.
    fn code(&self, secret: &str, steps: i64) -> String {
        pyotp_at(secret, self.totp_now() + 30 * steps)
    }

    /// A well-formed code that is none of the accepted ones now.
    fn wrong_code(&self, secret: &str) -> &'static str {
        let accepted = [-1, 0, 1].map(|steps| self.code(secret, steps));
        ["000000", "000001", "000002", "000003"]
            .into_iter()
            .find(|c| !accepted.iter().any(|a| a == c))
            .unwrap()
    }

    async fn bearer(&self, method: Method, path: &str, user: &User, body: &Value) -> Response {
        self.stack()
            .auth_call(method, path, Some(&user.token), Some(body))
            .await
    }

    async fn enrol(&self, user: &User, password: &str) -> Response {
        self.bearer(
            Method::POST,
            "/auth/mfa/totp/enrol",
            user,
            &json!({"password": password}),
        )
        .await
    }

    async fn confirm(&self, user: &User, code: &str) -> Response {
        self.bearer(
            Method::POST,
            "/auth/mfa/totp/confirm",
            user,
            &json!({"code": code}),
        )
        .await
    }

    /// Enrols and confirms: the secret (base32) and the recovery codes.
    async fn enable_totp(&self, user: &User) -> (String, Vec<String>) {
        self.mid_step();
        let res = self.enrol(user, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        let secret = body["secret"].as_str().unwrap().to_owned();
        let res = self.confirm(user, &self.code(&secret, 0)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        let codes = body["recoveryCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (secret, codes)
    }
}

impl Totp for AuthStack {
    fn stack(&self) -> &AuthStack {
        self
    }
}

impl TestApp {
    /// A log-in with the right password of an account with TOTP on: the challenge.
    pub(crate) async fn challenge(&self, user: &User) -> String {
        let body = assert_problem(
            self.login(&user.email, PASSWORD).await,
            StatusCode::UNAUTHORIZED,
            "mfa_required",
        )
        .await;
        assert!(body["expiresAt"].is_string(), "{body}");
        body["challenge"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn login_mfa(&self, challenge: &str, code: &str) -> Response {
        self.auth_post(
            "/auth/login/mfa",
            &json!({"challenge": challenge, "code": code}),
        )
        .await
    }

    async fn mfa_enabled(&self, user: &User) -> bool {
        let me: Value = self.me(&user.token).await.json().await.unwrap();
        me["mfaEnabled"].as_bool().unwrap()
    }

    async fn session_count(&self, user: &User) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1")
            .bind(user.id.to_string())
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap()
    }
}

async fn enrol_confirm_then_every_login_needs_a_code(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    assert!(!app.mfa_enabled(&alice).await);
    app.mid_step();

    assert_problem(
        app.enrol(&alice, "not the password").await,
        StatusCode::FORBIDDEN,
        "wrong_current_password",
    )
    .await;
    assert_problem(
        app.confirm(&alice, "123456").await,
        StatusCode::CONFLICT,
        "mfa_not_enrolled",
    )
    .await;
    let first: Value = app.enrol(&alice, PASSWORD).await.json().await.unwrap();
    let first_secret = first["secret"].as_str().unwrap().to_owned();
    // A second enrolment replaces the first pending secret.
    let res = app.enrol(&alice, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, first_secret);
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert_eq!(
        body["otpauthUri"],
        format!(
            "otpauth://totp/Cloud%20Chat:alice%40example.com?secret={secret}&issuer=Cloud%20Chat&algorithm=SHA1&digits=6&period=30"
        )
    );
    // Pending is not on.
    assert!(!app.mfa_enabled(&alice).await);
    app.login_ok(&alice.email, PASSWORD).await;
    assert_problem(
        app.confirm(&alice, &app.code(&first_secret, 0)).await,
        StatusCode::FORBIDDEN,
        "invalid_mfa_code",
    )
    .await;
    let res = app.confirm(&alice, &app.code(&secret, 0)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let codes = body["recoveryCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert!(app.mfa_enabled(&alice).await);
    assert_problem(
        app.enrol(&alice, PASSWORD).await,
        StatusCode::CONFLICT,
        "mfa_already_enabled",
    )
    .await;
    // Stored encrypted, recovery codes hashed.
    let stored = app.scalar_strings("SELECT secret_enc FROM user_totp").await;
    assert!(!stored[0].contains(&secret));
    let hashes = app
        .scalar_strings("SELECT code_hash FROM mfa_recovery_codes")
        .await;
    assert_eq!(hashes.len(), 10);
    assert!(
        !hashes
            .iter()
            .any(|h| h.contains(codes[0].as_str().unwrap()))
    );

    // The password alone: a challenge, no session.
    let sessions = app.session_count(&alice).await;
    let challenge = app.challenge(&alice).await;
    assert_eq!(app.session_count(&alice).await, sessions);
    // The confirming code was used: its replay is refused.
    assert_problem(
        app.login_mfa(&challenge, &app.code(&secret, 0)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_code",
    )
    .await;
    // The next step's code (within the ±30 s window) gets in.
    let res = app.login_mfa(&challenge, &app.code(&secret, 1)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("refresh_token="))
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], alice.id.to_string());
    assert_eq!(body["user"]["mfaEnabled"], true);
    assert!(body["accessToken"].is_string());
    // A challenge is single use.
    app.state.mfa.clock.shift_for_tests(60);
    assert_problem(
        app.login_mfa(&challenge, &app.code(&secret, 0)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_challenge",
    )
    .await;

    // Bob, without TOTP, is unaffected.
    let again = app.login_ok(&bob.email, PASSWORD).await;
    assert_eq!(again.id, bob.id);
    assert!(!app.mfa_enabled(&bob).await);
}

async fn a_used_or_old_code_is_refused_within_its_window(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let (secret, _) = app.enable_totp(&alice).await;
    // Confirming used the code of step S (now).
    let challenge = app.challenge(&alice).await;
    for (steps, why) in [
        (0, "the same step"),
        (-1, "30 s ago"),
        (2, "a minute ahead"),
    ] {
        let res = app.login_mfa(&challenge, &app.code(&secret, steps)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{why}");
    }
    assert_eq!(
        app.login_mfa(&challenge, &app.code(&secret, 1))
            .await
            .status(),
        StatusCode::OK
    );
    // Thirty seconds on, step S+1 is now: its code was used and stays refused.
    app.state.mfa.clock.shift_for_tests(30);
    let challenge = app.challenge(&alice).await;
    assert_problem(
        app.login_mfa(&challenge, &app.code(&secret, 0)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_code",
    )
    .await;
    assert_eq!(
        app.login_mfa(&challenge, &app.code(&secret, 1))
            .await
            .status(),
        StatusCode::OK
    );
    // Malformed codes are just wrong.
    let challenge = app.challenge(&alice).await;
    for bad in ["", "12345", "abcdef", "1234567"] {
        assert_problem(
            app.login_mfa(&challenge, bad).await,
            StatusCode::UNAUTHORIZED,
            "invalid_mfa_code",
        )
        .await;
    }
}

async fn a_challenge_expires_and_dies_after_five_wrong_codes(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let (secret, _) = app.enable_totp(&alice).await;

    let challenge = app.challenge(&alice).await;
    app.state.mfa.clock.shift_for_tests(301);
    assert_problem(
        app.login_mfa(&challenge, &app.code(&secret, 0)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_challenge",
    )
    .await;
    app.mid_step();

    let challenge = app.challenge(&alice).await;
    let wrong = app.wrong_code(&secret);
    for _ in 0..5 {
        assert_problem(
            app.login_mfa(&challenge, wrong).await,
            StatusCode::UNAUTHORIZED,
            "invalid_mfa_code",
        )
        .await;
    }
    assert_problem(
        app.login_mfa(&challenge, &app.code(&secret, 1)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_challenge",
    )
    .await;
    // A new log-in gets a new challenge, and the code still works.
    let challenge = app.challenge(&alice).await;
    assert_eq!(
        app.login_mfa(&challenge, &app.code(&secret, 1))
            .await
            .status(),
        StatusCode::OK
    );
    for bad in ["", "short", &"x".repeat(43)] {
        assert_problem(
            app.login_mfa(bad, "123456").await,
            StatusCode::UNAUTHORIZED,
            "invalid_mfa_challenge",
        )
        .await;
    }
}

async fn wrong_codes_are_throttled_like_passwords(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.rate_limits.login_failures_per_address = 3;
        s.mfa.challenge_attempts = 100;
    })
    .await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (secret, _) = app.enable_totp(&alice).await;
    let challenge = app.challenge(&alice).await;
    let wrong = app.wrong_code(&secret);
    // One wrong password and two wrong codes: three failures for this account and address.
    assert_problem(
        app.login(&alice.email, "not the password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    for _ in 0..2 {
        assert_problem(
            app.login_mfa(&challenge, wrong).await,
            StatusCode::UNAUTHORIZED,
            "invalid_mfa_code",
        )
        .await;
    }
    // Now even the right code waits, and so does the password.
    assert_problem(
        app.login_mfa(&challenge, &app.code(&secret, 1)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert_eq!(
        app.login(&alice.email, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another account is not.
    app.login_ok(&bob.email, PASSWORD).await;
}

async fn a_recovery_code_works_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let (secret, codes) = app.enable_totp(&alice).await;
    let challenge = app.challenge(&alice).await;
    // Any case, with or without the dash.
    let typed = codes[3].replace('-', "").to_lowercase();
    assert_eq!(
        app.login_mfa(&challenge, &typed).await.status(),
        StatusCode::OK
    );
    let challenge = app.challenge(&alice).await;
    assert_problem(
        app.login_mfa(&challenge, &codes[3]).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_code",
    )
    .await;
    assert_eq!(
        app.login_mfa(&challenge, &codes[4]).await.status(),
        StatusCode::OK
    );

    // New codes (password and code): the old ones are void.
    let path = "/auth/mfa/recovery-codes";
    assert_problem(
        app.bearer(Method::POST, path, &alice, &json!({"password": PASSWORD}))
            .await,
        StatusCode::FORBIDDEN,
        "mfa_code_required",
    )
    .await;
    let res = app
        .bearer(
            Method::POST,
            path,
            &alice,
            &json!({"password": PASSWORD, "code": app.code(&secret, 1)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let fresh: Vec<String> = body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let challenge = app.challenge(&alice).await;
    assert_problem(
        app.login_mfa(&challenge, &codes[5]).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_code",
    )
    .await;
    assert_eq!(
        app.login_mfa(&challenge, &fresh[0]).await.status(),
        StatusCode::OK
    );
}

async fn turning_off_and_changing_the_password_need_password_and_code(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.rate_limits.account_changes_per_hour = 100).await;
    let alice = app.signup("alice").await;
    let (secret, codes) = app.enable_totp(&alice).await;

    let change = async |code: Option<&str>| {
        let mut body = json!({"currentPassword": PASSWORD, "newPassword": "another password 1"});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        app.bearer(Method::POST, "/users/me/password", &alice, &body)
            .await
    };
    assert_problem(
        change(None).await,
        StatusCode::FORBIDDEN,
        "mfa_code_required",
    )
    .await;
    assert_problem(
        change(Some("000000x")).await,
        StatusCode::FORBIDDEN,
        "invalid_mfa_code",
    )
    .await;

    let off = async |password: &str, code: &str| {
        app.bearer(
            Method::DELETE,
            "/auth/mfa/totp",
            &alice,
            &json!({"password": password, "code": code}),
        )
        .await
    };
    assert_problem(
        off("not the password", &app.code(&secret, 1)).await,
        StatusCode::FORBIDDEN,
        "wrong_current_password",
    )
    .await;
    assert_problem(
        off(PASSWORD, "").await,
        StatusCode::FORBIDDEN,
        "mfa_code_required",
    )
    .await;
    assert_problem(
        off(PASSWORD, &app.code(&secret, 0)).await,
        StatusCode::FORBIDDEN,
        "invalid_mfa_code",
    )
    .await;
    assert!(app.mfa_enabled(&alice).await);
    // A recovery code stands in for the app.
    assert_eq!(
        off(PASSWORD, &codes[0]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(!app.mfa_enabled(&alice).await);
    assert_problem(
        off(PASSWORD, &codes[1]).await,
        StatusCode::CONFLICT,
        "mfa_not_enabled",
    )
    .await;
    assert!(
        app.scalar_strings("SELECT code_hash FROM mfa_recovery_codes")
            .await
            .is_empty()
    );
    // Log-in is the password again, and so is the password change.
    app.login_ok(&alice.email, PASSWORD).await;
    assert_eq!(change(None).await.status(), StatusCode::NO_CONTENT);
}

async fn a_suspended_account_is_told_after_the_code(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = app.signup("admin").await;
    app.grant(&admin, "admin").await;
    let admin = app.login_again(&admin).await;
    let alice = app.signup("alice").await;
    let (secret, _) = app.enable_totp(&alice).await;
    let res = app
        .suspend(&admin.token, &alice, &json!({"reason": "spam"}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    // The password alone says nothing of the suspension.
    let challenge = app.challenge(&alice).await;
    assert_problem(
        app.login_mfa(&challenge, &app.code(&secret, 1)).await,
        StatusCode::FORBIDDEN,
        "account_suspended",
    )
    .await;
}

async fn the_key_comes_from_the_environment_or_the_database(engine: Engine) {
    // Without TOTP_ENCRYPTION_KEY: made once and kept.
    let app = spawn_app(engine).await;
    let stored = app
        .scalar_strings("SELECT name FROM instance_secrets")
        .await;
    assert_eq!(stored, ["totp_encryption_key"]);
    // With it: nothing stored, and the secrets still work.
    let app = spawn_app_with(engine, |s| s.mfa.encryption_key = Some([42u8; 32])).await;
    assert!(
        app.scalar_strings("SELECT name FROM instance_secrets")
            .await
            .is_empty()
    );
    let alice = app.signup("alice").await;
    let (secret, _) = app.enable_totp(&alice).await;
    let challenge = app.challenge(&alice).await;
    assert_eq!(
        app.login_mfa(&challenge, &app.code(&secret, 1))
            .await
            .status(),
        StatusCode::OK
    );
}

both_engines!(
    enrol_confirm_then_every_login_needs_a_code,
    a_used_or_old_code_is_refused_within_its_window,
    a_challenge_expires_and_dies_after_five_wrong_codes,
    wrong_codes_are_throttled_like_passwords,
    a_recovery_code_works_once,
    turning_off_and_changing_the_password_need_password_and_code,
    a_suspended_account_is_told_after_the_code,
    the_key_comes_from_the_environment_or_the_database
);
