use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use service_kit::{AppEnv, Caller, TrustedProxies};
use test_stack::auth_settings;
use test_support::{Engine, TempDir, both_engines};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

fn claims(user_id: &str, overrides: Value) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut c = json!({
        "sub": user_id, "username": "alice", "iat": now, "exp": now + 600,
        "iss": "cloudchat-auth", "aud": "cloudchat", "jti": uuid::Uuid::new_v4(),
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

async fn access_tokens_are_verified_strictly(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let id = &alice.id.to_string();
    assert_eq!(
        app.me(&app.sign(&claims(id, json!({})))).await.status(),
        StatusCode::OK
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let rejected = [
        ("wrong iss", app.sign(&claims(id, json!({"iss": "evil"})))),
        ("wrong aud", app.sign(&claims(id, json!({"aud": "other"})))),
        ("no exp", app.sign(&claims(id, json!({"exp": null})))),
        ("no aud", app.sign(&claims(id, json!({"aud": null})))),
        ("no sub", app.sign(&claims(id, json!({"sub": null})))),
    ];
    for (what, token) in rejected {
        let res = app.me(&token).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "invalid_token").await;
        let _ = what;
    }
    let expired = app.sign(&claims(id, json!({"exp": now - 300})));
    assert_problem(
        app.me(&expired).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;

    let body = URL_SAFE_NO_PAD.encode(claims(id, json!({})).to_string());
    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#)
    );
    assert_problem(
        app.me(&none).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.typ = Some("at+jwt".into());
    hs_header.kid = Some(app.state.issuer.key().kid().into());
    let hs = jsonwebtoken::encode(
        &hs_header,
        &claims(id, json!({})),
        &jsonwebtoken::EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    assert_problem(app.me(&hs).await, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // Re-sign the same claims with typ JWT instead of at+jwt: refused.
    let parts: Vec<&str> = alice.token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    let wrong_typ = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    assert_problem(
        app.me(&wrong_typ).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let res = app
        .client
        .get(app.url("/users/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "missing_token").await;
}

async fn login_is_rate_limited_with_retry_after(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.rate_limits.per_ip_per_min = 3).await;
    for _ in 0..3 {
        assert_eq!(
            app.login("a@example.com", PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = app.login("a@example.com", PASSWORD).await;
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // A spoofed X-Forwarded-For from an untrusted peer does not buy a new budget.
    let res = app
        .client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", "203.0.113.77")
        .json(&json!({"email": "a@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Log-in from `ip` behind the trusted proxy (127.0.0.1).
async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn behind_proxy(s: &mut auth_service::config::Settings) {
    s.trusted_proxies = TrustedProxies::parse("TRUSTED_PROXIES", &["127.0.0.1".into()]).unwrap();
}

async fn wrong_passwords_cannot_lock_the_owner_out(engine: Engine) {
    let app = spawn_app_with(engine, behind_proxy).await;
    app.signup("bob").await;
    let attacker = "198.51.100.1";
    for i in 0..10 {
        let res = login_from(&app, attacker, "bob@example.com", "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = login_from(&app, attacker, "BOB@example.com ", "wrong password").await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The attacker's address is refused for Bob's account even with the right password...
    let res = login_from(&app, attacker, "bob@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...but not for other accounts, and Bob, elsewhere, gets in.
    let res = login_from(&app, attacker, "carol@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = login_from(&app, "203.0.113.5", "bob@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    // An IPv6 attacker does not get a fresh budget per address of its /64.
    for i in 0..10 {
        let ip = format!("2001:db8:7:7::{i:x}");
        let res = login_from(&app, &ip, "bob@example.com", "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = login_from(&app, "2001:db8:7:7:ffff::1", "bob@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn the_account_ceiling_slows_fresh_addresses_and_refuses_failed_ones(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        behind_proxy(s);
        s.rate_limits.login_failures_per_account = 3;
        s.rate_limits.login_slowdown = std::time::Duration::from_millis(300);
    })
    .await;
    app.signup("bob").await;
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let res = login_from(&app, ip, "bob@example.com", "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Past the ceiling, an address that has failed is refused...
    let res = login_from(&app, "198.51.100.1", "bob@example.com", PASSWORD).await;
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // ...and a fresh one is slowed, then answered: right password in, wrong one refused next time.
    let started = std::time::Instant::now();
    let res = login_from(&app, "203.0.113.5", "bob@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let res = login_from(&app, "203.0.113.6", "bob@example.com", "wrong password").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = login_from(&app, "203.0.113.6", "bob@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn register_and_forgot_are_rate_limited(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.rate_limits.per_ip_per_min = 2;
        s.rate_limits.forgot_per_hour = 5;
    })
    .await;
    app.signup("alice").await;
    app.signup("bob").await;
    let res = app.register("carol", "carol@example.com", PASSWORD).await;
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Forgot-password: 5 an hour per address, whatever the addresses asked for.
    for i in 0..5 {
        let res = app.forgot(&format!("x{i}@example.com")).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    let res = app.forgot("z@example.com").await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60, "an hourly window: {retry}");
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn the_database_holds_no_raw_token(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let next = app.refresh_ok(&alice.refresh).await;
    let stored = app
        .scalar_strings("SELECT token_hash FROM refresh_tokens")
        .await;
    assert_eq!(stored.len(), 2);
    for raw in [&alice.refresh, &next.refresh] {
        assert!(
            stored
                .iter()
                .all(|h| !h.contains(raw.as_str()) && h.len() == 64)
        );
    }
    let hashes = app.scalar_strings("SELECT password_hash FROM users").await;
    assert!(
        hashes[0].starts_with("sha256-bcrypt:$2"),
        "bcrypt of the SHA-256 expected"
    );
    assert!(!hashes[0].contains(PASSWORD));
}

async fn production_refuses_default_secrets(engine: Engine) {
    let db = test_support::TestDatabase::create(engine).await;
    let data = TempDir::new("cloudchat-prod");
    let prod = |tweak: &dyn Fn(&mut auth_service::config::Settings)| {
        let mut s = auth_settings(&db.url, &data.0);
        s.env = AppEnv::Production;
        s.bcrypt_cost = 12;
        s.dev_return_reset_link = false;
        s.internal_keys = service_kit::InternalKeySet::new(
            "kV9s-really-long-random-relay-key",
            "kV9s-really-long-random-chat-key",
            "kV9s-really-long-random-auth-key",
        );
        s.jwt_private_key = Some(tokens::SigningKey::generate().unwrap().to_pem());
        s.chat_url = Some("http://chat-service:8082".into());
        if engine == Engine::Postgres {
            s.database_url = "postgres://auth:Str0ng-Passw0rd-here@127.0.0.1/auth".into();
        }
        tweak(&mut s);
        s
    };
    assert!(prod(&|_| {}).validate().is_ok());
    type Tweak<'a> = &'a dyn Fn(&mut auth_service::config::Settings);
    let cases: [(&str, Tweak); 7] = [
        ("AUTH_INTERNAL_KEY", &|s| {
            s.internal_keys.set(Caller::Auth, "dev-auth-internal-key")
        }),
        ("CHAT_INTERNAL_KEY", &|s| {
            s.internal_keys.set(Caller::Chat, "change-me")
        }),
        // One value for two callers would let one act as the other.
        ("RELAY_INTERNAL_KEY", &|s| {
            s.internal_keys
                .set(Caller::Relay, "kV9s-really-long-random-chat-key")
        }),
        ("JWT_PRIVATE_KEY", &|s| s.jwt_private_key = None),
        ("DATABASE_URL", &|s| {
            s.database_url = "postgres://auth:postgres@db/auth".into()
        }),
        ("DEV_RETURN_RESET_LINK", &|s| s.dev_return_reset_link = true),
        // Role and suspension changes must reach chat-service.
        ("CHAT_URL", &|s| s.chat_url = None),
    ];
    for (var, tweak) in cases {
        let err = prod(tweak).validate().unwrap_err();
        assert_eq!(err.var, var);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let built =
            auth_service::startup::Application::build_with_listener(prod(tweak), listener).await;
        assert!(built.is_err(), "production started with a bad {var}");
    }
}

async fn operational_endpoints_answer(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ready: Value = test_support::get_json(&app.client, &app.url("/readyz")).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["database"], "ok");
    app.signup("alice").await;
    let res = app
        .client
        .get(app.url("/users/me"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "trace-me-123");
    let metrics = test_support::get_text(&app.client, &app.url("/metrics")).await;
    assert!(metrics.contains(r#"route="/auth/register""#), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert_problem(
        app.client.get(app.url("/nowhere")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

both_engines!(
    access_tokens_are_verified_strictly,
    login_is_rate_limited_with_retry_after,
    wrong_passwords_cannot_lock_the_owner_out,
    the_account_ceiling_slows_fresh_addresses_and_refuses_failed_ones,
    register_and_forgot_are_rate_limited,
    the_database_holds_no_raw_token,
    production_refuses_default_secrets,
    operational_endpoints_answer,
);
