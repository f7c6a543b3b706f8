//! `auth-service admin grant <email> [--role admin|moderator]` and
//! `auth-service admin revoke <email>` — and the quick start's `cloudchat admin ...`, which
//! runs the same code on its own auth database. It names the first admin (never the first
//! account to register) and works while the server runs: it only writes the database, in one
//! transaction with its audit row (actor "command line") and its user event, which the
//! running server's dispatcher delivers to chat-service at its next poll.

use std::io::Write;
use std::process::ExitCode;

use sqlx::AnyPool;

use crate::domain::{Email, Role};
use crate::error::ApiError;
use crate::ops::moderation::{self, Change};
use crate::store::audit::Actor;
use crate::store::moderation::Target;

/// What `admin` takes after the program's name.
pub const USAGE: &str = "admin grant <email> [--role admin|moderator] | admin revoke <email>";

/// A parsed `admin` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Give the account `role` (admin by default, or moderator).
    Grant { email: Email, role: Role },
    /// Make the account an ordinary user again.
    Revoke { email: Email },
}

impl AdminCommand {
    /// `grant <email> [--role admin|moderator]` or `revoke <email>` (the words after `admin`).
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let usage = || format!("usage: {USAGE}");
        let (verb, rest) = args.split_first().ok_or_else(usage)?;
        let (role, rest): (Option<&str>, Vec<&String>) = match rest {
            [email, flag, role] if flag == "--role" => (Some(role.as_str()), vec![email]),
            [flag, role, email] if flag == "--role" => (Some(role.as_str()), vec![email]),
            other => (None, other.iter().collect()),
        };
        let [email] = rest.as_slice() else {
            return Err(usage());
        };
        let email = Email::parse(email)
            .map_err(|_| format!("{email:?} is not an e-mail address; {}", usage()))?;
        match (verb.as_str(), role) {
            ("grant", None | Some("admin")) => Ok(Self::Grant {
                email,
                role: Role::Admin,
            }),
            ("grant", Some("moderator")) => Ok(Self::Grant {
                email,
                role: Role::Moderator,
            }),
            ("grant", Some(other)) => Err(format!(
                "--role must be admin or moderator, not {other:?} (revoke makes an account an ordinary user)"
            )),
            ("revoke", None) => Ok(Self::Revoke { email }),
            _ => Err(usage()),
        }
    }

    fn email(&self) -> &Email {
        match self {
            Self::Grant { email, .. } | Self::Revoke { email } => email,
        }
    }

    fn role(&self) -> Role {
        match self {
            Self::Grant { role, .. } => *role,
            Self::Revoke { .. } => Role::User,
        }
    }
}

/// Runs the command on the auth database; what it did, in one line. An e-mail address no
/// account has is an error saying so.
pub async fn execute(pool: &AnyPool, command: &AdminCommand) -> anyhow::Result<String> {
    let email = command.email();
    let role = command.role();
    let actor = Actor::command_line();
    let changed = moderation::change_role(
        pool,
        &actor,
        Target::Email(email),
        role,
        None,
        store_kit::now_ms(),
    )
    .await;
    match changed {
        Ok(Change {
            user,
            changed: true,
            previous_role,
        }) => {
            tracing::info!(user_id = %user.id, from = %previous_role, to = %role, "role changed on the command line");
            Ok(format!(
                "{} ({}) is now {role} (was {previous_role})",
                user.email, user.username
            ))
        }
        Ok(Change { user, .. }) => Ok(format!(
            "{} ({}) is already {role}; nothing changed",
            user.email, user.username
        )),
        Err(ApiError::UserNotFound) => Err(anyhow::anyhow!(
            "no account has the e-mail address {}",
            email.as_str()
        )),
        Err(ApiError::Unexpected(err)) => Err(err),
        Err(other) => Err(anyhow::anyhow!("{other}")),
    }
}

/// The whole `admin` command: parses `args` (the words after `admin`), opens the database
/// (applying migrations when `migrate`), runs it, prints what it did, and gives the exit code
/// (1 with a message on standard error when it could not).
pub async fn main(program: &str, database_url: &str, migrate: bool, args: &[String]) -> ExitCode {
    let done = async {
        let command = AdminCommand::parse(args).map_err(anyhow::Error::msg)?;
        let db =
            store_kit::Database::open(database_url, &crate::startup::MIGRATIONS, migrate).await?;
        let said = execute(&db.pool, &command).await;
        db.pool.close().await;
        said
    }
    .await;
    match done {
        Ok(line) => {
            let _ = writeln!(std::io::stdout(), "{line}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "{program} admin: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<AdminCommand, String> {
        AdminCommand::parse(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn commands() {
        let alice = || Email::parse("Alice@Example.com").unwrap();
        assert_eq!(
            parse(&["grant", "Alice@Example.com"]),
            Ok(AdminCommand::Grant {
                email: alice(),
                role: Role::Admin
            })
        );
        assert_eq!(
            parse(&["grant", "alice@example.com", "--role", "moderator"]),
            Ok(AdminCommand::Grant {
                email: alice(),
                role: Role::Moderator
            })
        );
        assert_eq!(
            parse(&["grant", "--role", "admin", "alice@example.com"]).map(|c| c.role()),
            Ok(Role::Admin)
        );
        assert_eq!(
            parse(&["revoke", "alice@example.com"]),
            Ok(AdminCommand::Revoke { email: alice() })
        );
        for bad in [
            &["grant"][..],
            &["grant", "alice"],
            &["grant", "alice@example.com", "--role", "user"],
            &["revoke", "alice@example.com", "--role", "admin"],
            &["promote", "alice@example.com"],
            &[],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
