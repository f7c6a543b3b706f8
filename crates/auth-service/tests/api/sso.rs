//! Single sign-on against a real OpenID Connect provider: the npm `oidc-provider` package
//! (`scripts/test-peers/oidc_provider.mjs`), started per test with our client and fixed
//! accounts, its login page driven over HTTP as a browser would (cookies, redirects).
//!
//! The provider sends the browser back to the public URL (`http://localhost:8080`, the
//! development `PUBLIC_URL`, so the default `OIDC_REDIRECT_URL` is what is registered);
//! the test's browser stops there and calls the auth-service under test with the same query,
//! as nginx would route it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};

use auth_service::config::{OidcSettings, Settings};
use auth_service::domain::SecretToken;
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};
use crate::mfa::Totp;

const CLIENT_ID: &str = "cloudchat";
const CLIENT_SECRET: &str = "a-test-client-secret-of-some-length";
/// `{PUBLIC_URL}/auth/oidc/callback` with the development `PUBLIC_URL`.
const CALLBACK: &str = "http://localhost:8080/auth/oidc/callback";

/// What auth-service logged (warnings): the redirect carries only a stable code, the log says
/// why, and a test must fail for the reason it is about. One subscriber for the test binary;
/// each test reads the lines that name its own provider's issuer.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
            .try_init();
    });
}

/// The provider process; killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    /// Our client (and a second one, `other-client`), plus what `extra` sets in the config.
    fn start(extra: Value) -> Self {
        capture_logs();
        let modules = std::env::var("TEST_PEERS_NODE_MODULES")
            .unwrap_or_else(|_| "/var/tmp/cloudchat-tools/test-peers-node/node_modules".to_owned());
        assert!(
            std::path::Path::new(&modules)
                .join("oidc-provider")
                .exists(),
            "the Node test peers are missing ({modules}): run `bash scripts/test-peers.sh` (make test-rust does) or point TEST_PEERS_NODE_MODULES at their node_modules"
        );
        let mut config = json!({
            "clients": [
                {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [CALLBACK]},
                {"client_id": "other-client", "client_secret": "another-client-secret-of-some-length", "redirect_uris": [CALLBACK]},
            ],
        });
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/test-peers/oidc_provider.mjs"
        );
        let mut child = Command::new("node")
            .arg(script)
            .arg(config.to_string())
            .env("TEST_PEERS_NODE_MODULES", &modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the provider printed {line:?}, not its issuer"));
        Self {
            child,
            issuer: started["issuer"].as_str().unwrap().to_owned(),
        }
    }

    fn settings(&self) -> OidcSettings {
        OidcSettings {
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            // The default, from the development PUBLIC_URL: CALLBACK.
            redirect_url: None,
            allowed_domains: Vec::new(),
            display_name: "Example ID".to_owned(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
        }
    }
}

impl Provider {
    /// Asserts that a failed sign-in at this provider was logged with `reason`.
    fn assert_failure_logged(&self, reason: &str) {
        let log = String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned();
        let issuer = format!("issuer={}", self.issuer);
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("single sign-on failed") && l.contains(&issuer))
            .collect();
        assert!(
            lines.iter().any(|l| l.contains(reason)),
            "no failure logged with {reason:?}: {lines:#?}"
        );
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn_sso(
    engine: Engine,
    provider: &Provider,
    tweak: impl FnOnce(&mut OidcSettings),
) -> TestApp {
    let mut oidc = provider.settings();
    tweak(&mut oidc);
    spawn_app_with(engine, |s: &mut Settings| s.oidc = Some(oidc)).await
}

/// A browser: the provider's cookies in a jar, ours (Secure, which a jar keeps off plain
/// http) carried by hand.
struct Browser {
    at_provider: reqwest::Client,
}

/// A sign-in started at auth-service: where it sent the browser, and the binding cookie.
struct Started {
    location: String,
    cookie: String,
}

/// What the provider sent back to the callback.
struct Callback {
    query: String,
}

impl Callback {
    fn param(&self, name: &str) -> String {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    fn with_state(&self, state: &str) -> String {
        format!("code={}&state={state}", self.param("code"))
    }
}

impl Browser {
    fn new() -> Self {
        let public = url::Url::parse(CALLBACK).unwrap();
        Self {
            at_provider: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    if attempt.url().origin() == public.origin() {
                        attempt.stop()
                    } else {
                        attempt.follow()
                    }
                }))
                .build()
                .unwrap(),
        }
    }

    async fn start(&self, app: &TestApp, return_to: &str) -> Started {
        let res = app
            .client
            .get(app.url(&format!(
                "/auth/oidc/start?returnTo={}",
                url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        let cookie = set_cookie(&res, "oidc_browser").expect("the binding cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        Started {
            location: location(&res),
            cookie: cookie.split(';').next().unwrap().to_owned(),
        }
    }

    /// Signs in at the provider's own login page as `login`; the redirect back.
    async fn sign_in_at_provider(&self, started: &Started, login: &str) -> Callback {
        let form = self
            .at_provider
            .get(&started.location)
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let action = form.url().clone();
        assert!(form.text().await.unwrap().contains("name=\"login\""));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("prompt", "login"), ("login", login), ("password", "any")])
            .finish();
        let back = self
            .at_provider
            .post(action)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(back.status().is_redirection(), "{}", back.status());
        let to = url::Url::parse(&location(&back)).unwrap();
        assert_eq!(to.as_str().split('?').next(), Some(CALLBACK));
        Callback {
            query: to.query().unwrap_or_default().to_owned(),
        }
    }

    /// The callback, as the browser with this binding cookie calls it.
    async fn callback(&self, app: &TestApp, query: &str, cookie: &str) -> reqwest::Response {
        app.client
            .get(format!("{}?{query}", app.url("/auth/oidc/callback")))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    /// A whole sign-in as `login`: the callback's answer.
    async fn sign_in(&self, app: &TestApp, login: &str) -> reqwest::Response {
        let started = self.start(app, "/rooms/1").await;
        let back = self.sign_in_at_provider(&started, login).await;
        self.callback(app, &back.query, &started.cookie).await
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
        .map(str::to_owned)
}

/// A callback that signed in: it goes to `returnTo` with the refresh-token cookie, which
/// `/auth/refresh` turns into a session (what the web app does at start).
async fn signed_in(app: &TestApp, res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/rooms/1");
    let cookie = set_cookie(&res, "refresh_token").expect("the refresh cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/auth"));
    let refresh = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("refresh_token=");
    let res = app.refresh(refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// A callback that failed with this `sso_error` code.
fn failed_with(res: &reqwest::Response, code: &str) {
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(res), format!("/login?sso_error={code}"));
    assert!(set_cookie(res, "refresh_token").is_none());
}

/// `GET /auth/oidc`.
async fn sso_status(app: &TestApp) -> Value {
    let res = app.client.get(app.url("/auth/oidc")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn user_count(app: &TestApp) -> usize {
    app.scalar_strings("SELECT id FROM users").await.len()
}

async fn first_sign_in_creates_the_account_and_the_second_logs_into_it(engine: Engine) {
    let provider = Provider::start(json!({}));
    let app = spawn_sso(engine, &provider, |_| {}).await;
    assert_eq!(
        sso_status(&app).await,
        json!({"enabled": true, "displayName": "Example ID"})
    );

    let browser = Browser::new();
    let first = signed_in(&app, browser.sign_in(&app, "alice").await).await;
    assert_eq!(first["user"]["email"], "alice@example.com");
    assert_eq!(first["user"]["username"], "alice");
    // The provider verified the address: the account starts verified.
    assert_eq!(first["user"]["emailVerified"], true);
    // No usable password: the account's is random and unknown.
    assert_problem(
        app.login("alice@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;

    // Again, from another browser (the provider asks for the login again): the same account.
    let again = signed_in(&app, Browser::new().sign_in(&app, "alice").await).await;
    assert_eq!(again["user"]["id"], first["user"]["id"]);
    assert_eq!(user_count(&app).await, 1);

    // A suspended account does not sign in through its provider either.
    sqlx::query("UPDATE users SET suspended_at = $1, suspension_reason = 'spam' WHERE id = $2")
        .bind(store_kit::now_ms())
        .bind(first["user"]["id"].as_str().unwrap())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    failed_with(
        &Browser::new().sign_in(&app, "alice").await,
        "account_suspended",
    );
    sqlx::query("UPDATE users SET suspended_at = NULL WHERE id = $1")
        .bind(first["user"]["id"].as_str().unwrap())
        .execute(&app.state.db.pool)
        .await
        .unwrap();

    // Someone else whose preferred name is taken gets it with a number.
    let erin = signed_in(&app, Browser::new().sign_in(&app, "erin").await).await;
    assert_eq!(erin["user"]["username"], "alice2");
    assert_eq!(erin["user"]["email"], "erin@example.com");
    let identities = app
        .scalar_strings("SELECT subject FROM user_identities ORDER BY subject")
        .await;
    assert_eq!(identities, ["alice", "erin"]);
}

async fn an_existing_account_is_linked_only_after_its_password(engine: Engine) {
    let provider = Provider::start(json!({}));
    let app = spawn_sso(engine, &provider, |_| {}).await;
    let bob = app.signup("bob").await;

    let res = Browser::new().sign_in(&app, "bob").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(set_cookie(&res, "refresh_token").is_none());
    let to = location(&res);
    let token = to
        .strip_prefix("/login?sso_link=")
        .unwrap_or_else(|| panic!("{to}"))
        .to_owned();
    assert!(
        app.scalar_strings("SELECT subject FROM user_identities")
            .await
            .is_empty()
    );

    // A second sign-in before linking: a second link request for the same identity.
    let res = Browser::new().sign_in(&app, "bob").await;
    let second = location(&res)
        .strip_prefix("/login?sso_link=")
        .unwrap()
        .to_owned();
    assert_ne!(second, token);
    let link_with = async |token: &str, password: &str| {
        app.auth_post(
            "/auth/oidc/link",
            &json!({"linkToken": token, "password": password, "code": "123456"}),
        )
        .await
    };
    let link = async |password: &str| link_with(&token, password).await;
    assert_problem(
        link("not the password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert!(
        app.scalar_strings("SELECT subject FROM user_identities")
            .await
            .is_empty()
    );
    let res = link(PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookie(&res, "refresh_token").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], bob.id.to_string());
    assert!(body["accessToken"].is_string());
    // Single use.
    assert_problem(link(PASSWORD).await, StatusCode::NOT_FOUND, "not_found").await;
    // The other request finds the identity linked.
    assert_problem(
        link_with(&second, PASSWORD).await,
        StatusCode::CONFLICT,
        "identity_linked",
    )
    .await;

    // Linked: the next sign-in goes straight in.
    let again = signed_in(&app, Browser::new().sign_in(&app, "bob").await).await;
    assert_eq!(again["user"]["id"], bob.id.to_string());
    assert_eq!(user_count(&app).await, 1);
}

async fn wrong_or_foreign_state_is_refused(engine: Engine) {
    let provider = Provider::start(json!({}));
    let app = spawn_sso(engine, &provider, |_| {}).await;
    let browser = Browser::new();
    let started = browser.start(&app, "/").await;
    let back = browser.sign_in_at_provider(&started, "alice").await;

    // A state nobody issued.
    let forged = SecretToken::generate().unwrap().plain;
    failed_with(
        &browser
            .callback(&app, &back.with_state(&forged), &started.cookie)
            .await,
        "sso_state_invalid",
    );
    // The right state in another browser (its own binding cookie, or none).
    let other = Browser::new().start(&app, "/").await;
    failed_with(
        &browser.callback(&app, &back.query, &other.cookie).await,
        "sso_state_invalid",
    );
    // That spent the state: even its own browser cannot use it now.
    failed_with(
        &browser.callback(&app, &back.query, &started.cookie).await,
        "sso_state_invalid",
    );
    assert_eq!(user_count(&app).await, 0);
    provider.assert_failure_logged("unknown, spent or expired state");
}

async fn a_replayed_code_is_refused_by_the_provider(engine: Engine) {
    let provider = Provider::start(json!({}));
    let app = spawn_sso(engine, &provider, |_| {}).await;
    let browser = Browser::new();
    let started = browser.start(&app, "/rooms/1").await;
    let back = browser.sign_in_at_provider(&started, "alice").await;
    // A second pending sign-in with the same PKCE verifier and nonce under a new state, so
    // that only the code's single use can stop the second exchange.
    let replay = SecretToken::generate().unwrap();
    sqlx::query(
        "INSERT INTO oidc_logins
            (state_hash, browser_hash, nonce, pkce_verifier, return_to, created_at, expires_at)
         SELECT $1, browser_hash, nonce, pkce_verifier, return_to, created_at, expires_at
         FROM oidc_logins WHERE state_hash = $2",
    )
    .bind(&replay.hash)
    .bind(SecretToken::hash(&back.param("state")))
    .execute(&app.state.db.pool)
    .await
    .unwrap();

    signed_in(
        &app,
        browser.callback(&app, &back.query, &started.cookie).await,
    )
    .await;
    let res = browser
        .callback(&app, &back.with_state(&replay.plain), &started.cookie)
        .await;
    failed_with(&res, "sso_failed");
    provider
        .assert_failure_logged("the provider refused the code (400 Bad Request): invalid_grant");
}

async fn an_answer_naming_another_issuer_is_refused(engine: Engine) {
    // RFC 9207: oidc-provider names itself in the redirect back (`iss`); a redirect that
    // names another issuer (a mix-up between providers) is refused before the code is used.
    let provider = Provider::start(json!({}));
    let app = spawn_sso(engine, &provider, |_| {}).await;
    let browser = Browser::new();
    let started = browser.start(&app, "/").await;
    let back = browser.sign_in_at_provider(&started, "alice").await;
    assert_eq!(back.param("iss"), provider.issuer);
    let query = format!(
        "{}&iss={}",
        back.with_state(&back.param("state")),
        "https%3A%2F%2Fevil.example"
    );
    failed_with(
        &browser.callback(&app, &query, &started.cookie).await,
        "sso_failed",
    );
    provider.assert_failure_logged("the authorization response names another issuer");
    assert_eq!(user_count(&app).await, 0);
}

async fn an_id_token_for_another_audience_is_refused(engine: Engine) {
    // The provider's own key signs ID tokens meant for another client, then for several
    // audiences without `azp`.
    for (audience, reason) in [
        (json!(["other-client"]), "the ID token: InvalidAudience"),
        (
            json!([CLIENT_ID, "other-client"]),
            "the ID token has several audiences and no azp",
        ),
    ] {
        let provider = Provider::start(json!({"idTokenAudience": audience}));
        let app = spawn_sso(engine, &provider, |_| {}).await;
        let res = Browser::new().sign_in(&app, "alice").await;
        failed_with(&res, "sso_failed");
        assert_eq!(user_count(&app).await, 0, "{audience}");
        provider.assert_failure_logged(reason);
    }
}

async fn domains_and_unverified_addresses_are_refused(engine: Engine) {
    let provider = Provider::start(json!({}));
    let app = spawn_sso(engine, &provider, |o| {
        o.allowed_domains = vec!["example.com".into()];
    })
    .await;
    failed_with(
        &Browser::new().sign_in(&app, "carol").await,
        "sso_domain_not_allowed",
    );
    failed_with(
        &Browser::new().sign_in(&app, "dave").await,
        "sso_email_unverified",
    );
    assert_eq!(user_count(&app).await, 0);
    // The allowed domain still works.
    signed_in(&app, Browser::new().sign_in(&app, "alice").await).await;
}

async fn a_rotated_key_is_fetched_and_the_cache_outlives_an_outage(engine: Engine) {
    let first = Provider::start(json!({}));
    let app = spawn_sso(engine, &first, |_| {}).await;
    let port = url::Url::parse(&first.issuer).unwrap().port().unwrap();
    drop(first);
    // The provider is down: what was fetched at start still sends browsers to it.
    let browser = Browser::new();
    let started = browser.start(&app, "/rooms/1").await;
    assert!(started.location.contains("code_challenge_method=S256"));
    // Back on the same address with a new signing key (another kid): its ID tokens are
    // checked with keys fetched again for the unknown kid. (Fetches are at most one a second.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = Provider::start(json!({"port": port}));
    assert_eq!(second.issuer, format!("http://127.0.0.1:{port}"));
    let back = browser.sign_in_at_provider(&started, "alice").await;
    let res = browser.callback(&app, &back.query, &started.cookie).await;
    let session = signed_in(&app, res).await;
    assert_eq!(session["user"]["email"], "alice@example.com");
}

/// An account with the second factor on links an identity only with its code too; once
/// linked, the provider's sign-in stands in for both factors (docs/decisions.md).
async fn linking_an_account_with_totp_needs_its_code(engine: Engine) {
    let provider = Provider::start(json!({}));
    let app = spawn_sso(engine, &provider, |_| {}).await;
    let bob = app.signup("bob").await;
    let (secret, _) = app.enable_totp(&bob).await;

    let res = Browser::new().sign_in(&app, "bob").await;
    let token = location(&res)
        .strip_prefix("/login?sso_link=")
        .unwrap()
        .to_owned();
    let link = async |code: Option<String>| {
        let mut body = json!({"linkToken": token, "password": PASSWORD});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        app.auth_post("/auth/oidc/link", &body).await
    };
    // No code: asked for one; the link token still works.
    assert_problem(
        link(None).await,
        StatusCode::UNAUTHORIZED,
        "mfa_code_required",
    )
    .await;
    // The confirming code, replayed: refused.
    assert_problem(
        link(Some(app.code(&secret, 0))).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_code",
    )
    .await;
    assert!(
        app.scalar_strings("SELECT subject FROM user_identities")
            .await
            .is_empty()
    );
    let res = link(Some(app.code(&secret, 1))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], bob.id.to_string());
    assert_eq!(body["user"]["mfaEnabled"], true);

    // Linked: the provider's sign-in goes straight in.
    let again = signed_in(&app, Browser::new().sign_in(&app, "bob").await).await;
    assert_eq!(again["user"]["id"], bob.id.to_string());
}

async fn sso_off_says_so_and_has_no_start(engine: Engine) {
    let app = spawn_app(engine).await;
    assert_eq!(
        sso_status(&app).await,
        json!({"enabled": false, "displayName": null})
    );
    let res = app
        .client
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .get(app.url("/auth/oidc/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

both_engines!(
    first_sign_in_creates_the_account_and_the_second_logs_into_it,
    an_existing_account_is_linked_only_after_its_password,
    wrong_or_foreign_state_is_refused,
    a_replayed_code_is_refused_by_the_provider,
    an_answer_naming_another_issuer_is_refused,
    a_rotated_key_is_fetched_and_the_cache_outlives_an_outage,
    an_id_token_for_another_audience_is_refused,
    domains_and_unverified_addresses_are_refused,
    sso_off_says_so_and_has_no_start,
    linking_an_account_with_totp_needs_its_code,
);
