//! Inputs parsed at the edge: once a value has one of these types it is valid.

mod email;
pub mod moderation;
pub(crate) mod password;
pub mod totp;
mod username;

pub use email::{EMAIL_PATTERN, Email};
pub use moderation::{Reason, Role, SuspensionInput};
pub use password::{MAX_PASSWORD_CHARS, Password};
pub use tokens::SecretToken;
pub use username::Username;

use service_kit::FieldError;

/// Collects the parse results of several fields into one validation error listing them all.
pub fn collect_errors(results: &[Option<FieldError>]) -> Vec<FieldError> {
    results.iter().flatten().cloned().collect()
}
