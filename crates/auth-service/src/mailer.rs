//! Outgoing mail behind a trait: the default writes the message to the log (the only log line
//! allowed to carry a reset link, for development); `SMTP_URL` switches to SMTP via lettre.

use futures_util::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

pub trait Mailer: Send + Sync {
    fn send(&self, mail: Mail) -> BoxFuture<'_, anyhow::Result<()>>;
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
            let message = Message::builder()
                .from(self.from.clone())
                .to(mail
                    .to
                    .parse()
                    .map_err(|e| anyhow::anyhow!("bad recipient: {e}"))?)
                .subject(mail.subject)
                .body(mail.body)?;
            self.transport.send(message).await?;
            Ok(())
        })
    }
}
