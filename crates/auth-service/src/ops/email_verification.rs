//! E-mail verification links: made and mailed at registration, on an e-mail change and on
//! request (docs/architecture.md, "E-mail verification").

use crate::mailer::{Mail, send_in_background};
use crate::startup::AppState;
use crate::store::{users, users::User, verifications};

/// Creates a link for the account's current address and mails it in the background (the
/// answer does not wait for SMTP; a failure is logged and counted).
pub async fn send_link(state: &AppState, user: &User) -> anyhow::Result<()> {
    let ttl = state.settings.email_verification_ttl;
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let now = store_kit::now_ms();
    let token = verifications::create(&state.db.pool, user.id, &user.email, ttl_ms, now).await?;
    let link = format!(
        "{}/verify-email?token={token}",
        state.settings.public_url.trim_end_matches('/'),
    );
    let hours = ttl.as_secs().div_ceil(3600);
    let mail = Mail {
        to: user.email.clone(),
        subject: "Confirm your Cloud Chat e-mail address".to_owned(),
        body: format!(
            "Hello {},\n\nTo confirm that this is your e-mail address, open this link \
             within {hours} hours:\n\n{link}\n\n\
             If you did not sign up for Cloud Chat, ignore this message.\n",
            user.username,
        ),
        unsubscribe_url: None,
    };
    send_in_background(state.mailer.clone(), mail, "e-mail verification");
    tracing::info!(user_id = %user.id, "e-mail verification link sent");
    Ok(())
}

/// A new link for the account with this address, when there is one and it is unverified;
/// nothing otherwise (the caller's answer says the same either way).
pub async fn resend(state: &AppState, email: &str) -> anyhow::Result<()> {
    match users::by_email(&state.db.pool, email).await? {
        Some(user) if !user.email_verified() => send_link(state, &user).await,
        _ => Ok(()),
    }
}
