//! The JWKS-backed verifier against a real HTTP server: keys are fetched on first use,
//! re-fetched when a token names an unknown `kid` (key rotation), and kept when the server
//! goes away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use tokens::{Issuer, Jwks, SigningKey, Verifier, VerifyError};
use uuid::Uuid;

fn issuer() -> Issuer {
    Issuer::new(
        SigningKey::generate().unwrap(),
        "iss",
        "aud",
        Duration::from_secs(600),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_refetches_on_rotation_and_survives_an_outage() {
    let old = issuer();
    let new = issuer();
    let published: Arc<Mutex<Jwks>> = Arc::new(Mutex::new(old.jwks(&[])));
    let served = published.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let server = HttpServer::new(move || {
        let served = served.clone();
        App::new().route(
            "/.well-known/jwks.json",
            web::get().to(move || {
                let jwks = served.lock().unwrap().clone();
                async move { HttpResponse::Ok().json(jwks) }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);

    let verifier = Verifier::from_jwks_url("iss", "aud", url, reqwest::Client::new());
    assert!(!verifier.ready());
    let (token, _) = old.issue(Uuid::new_v4(), "alice", None).unwrap();
    assert_eq!(verifier.verify(&token).await.unwrap().username, "alice");
    assert!(verifier.ready());

    // Rotation: the server now publishes both keys; a token from the new key is accepted
    // after one re-fetch (at most one per second, hence the pause).
    *published.lock().unwrap() = new.jwks(&[old.key().public_jwk()]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (rotated, _) = new.issue(Uuid::new_v4(), "bob", None).unwrap();
    assert_eq!(verifier.verify(&rotated).await.unwrap().username, "bob");
    assert_eq!(verifier.verify(&token).await.unwrap().username, "alice");

    // Outage: cached keys keep working; an unknown key is refused, not an error page.
    handle.stop(true).await;
    assert_eq!(verifier.verify(&rotated).await.unwrap().username, "bob");
    let (stranger, _) = issuer().issue(Uuid::new_v4(), "mallory", None).unwrap();
    assert_eq!(
        verifier.verify(&stranger).await,
        Err(VerifyError::UnknownKey)
    );
}
