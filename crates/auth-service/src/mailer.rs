//! Outgoing mail behind a trait: the default writes the message to the log (the only log line
//! allowed to carry a reset link, for development); `SMTP_URL` switches to SMTP via lettre.

use futures_util::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// A one-click unsubscribe URL (RFC 8058): the message then carries `List-Unsubscribe`
    /// and `List-Unsubscribe-Post` (e-mail digests; docs/architecture.md, "Notifications").
    pub unsubscribe_url: Option<String>,
}

impl Mail {
    /// The extra header lines this mail carries, as `(name, value)`.
    pub fn extra_headers(&self) -> Vec<(&'static str, String)> {
        match &self.unsubscribe_url {
            Some(url) => vec![
                ("List-Unsubscribe", format!("<{url}>")),
                (
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click".to_owned(),
                ),
            ],
            None => Vec::new(),
        }
    }
}

pub trait Mailer: Send + Sync {
    fn send(&self, mail: Mail) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// Sends the mail off the request path: the answer does not wait for SMTP, and a failure is
/// logged (`what` names the mail) and counted.
pub fn send_in_background(mailer: std::sync::Arc<dyn Mailer>, mail: Mail, what: &'static str) {
    tokio::spawn(async move {
        match mailer.send(mail).await {
            Ok(()) => metrics::counter!("auth_mail_sent_total", "kind" => what).increment(1),
            Err(err) => {
                metrics::counter!("auth_mail_failed_total", "kind" => what).increment(1);
                tracing::error!(error = %format!("{err:#}"), kind = what, "sending a mail failed");
            }
        }
    });
}

/// Writes each mail to the log.
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: Mail) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            tracing::info!(
                target: "dev_mailer",
                to = %mail.to,
                subject = %mail.subject,
                body = %mail.body,
                headers = ?mail.extra_headers(),
                "dev mailer: not sending; configure SMTP_URL to deliver mail"
            );
            Ok(())
        })
    }
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `url` as lettre reads it, e.g. `smtps://user:pass@smtp.example.com:465`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("SMTP_URL is not usable: {e}"))?
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM is not a mailbox: {e}"))?;
        Ok(Self { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let mut builder = Message::builder()
                .from(self.from.clone())
                .to(mail
                    .to
                    .parse()
                    .map_err(|e| anyhow::anyhow!("bad recipient: {e}"))?)
                .subject(mail.subject.clone());
            for (name, value) in mail.extra_headers() {
                // `HeaderValue::new` encodes the value (RFC 2047) and folds it: no raw line
                // breaks reach the message.
                builder = builder.raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str(name),
                    value,
                ));
            }
            let message = builder.body(mail.body)?;
            self.transport.send(message).await?;
            Ok(())
        })
    }
}
