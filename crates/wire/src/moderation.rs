//! Moderation shapes both services speak (docs/architecture.md, "Moderation"): the audit log's
//! entries (each service keeps its own table; chat-service merges auth-service's into
//! `GET /admin/audit`), the user events auth-service delivers to chat-service
//! (`POST /internal/user-events`), and the internal moderation calls chat-service makes to
//! auth-service (`GET /internal/audit`, `GET /internal/stats`,
//! `PUT /internal/users/{id}/suspension`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An instance role. Staff — `moderator` and `admin` — moderate `general` and see the admin
/// pages; only admins change roles and suspend accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Moderator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::User, Role::Moderator, Role::Admin];

    /// The role as it is written in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// `user`, `moderator` or `admin`; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Moderators and admins.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Moderator | Role::Admin)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which service wrote an [`AuditEntry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AuditSource {
    Auth,
    Chat,
}

/// Who acted: a user, or the command line (`id` null, `name` "command line").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    pub id: Option<Uuid>,
    /// The actor's name when they acted.
    pub name: String,
}

/// Whom an action was about, with their name when it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditTarget {
    pub id: Uuid,
    pub name: String,
}

/// One row of an audit log, as `GET /admin/audit` (chat-service) and `GET /internal/audit`
/// (auth-service) list it. Every member is always present (`null` when it does not apply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// UUID v7: ordered by time.
    pub id: Uuid,
    /// RFC 3339.
    pub at: String,
    pub actor: AuditActor,
    /// `role.change`, `suspension.create`, `suspension.lift` (auth); `message.delete`,
    /// `member.remove`, `member.mute`, `member.unmute`, `member.role`, `report.resolve` (chat).
    pub action: String,
    #[serde(default)]
    pub target: Option<AuditTarget>,
    #[serde(default)]
    pub room_id: Option<i64>,
    #[serde(default)]
    pub message_id: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
    /// A JSON object whose members depend on the action (`{"from", "to"}` for `role.change`).
    #[serde(default)]
    pub details: Option<serde_json::Value>,
    /// The client's address as the acting service saw it.
    #[serde(default)]
    pub ip: Option<String>,
    pub source: AuditSource,
}

/// `GET /internal/audit` (auth-service, chat-service's key): newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntries {
    pub entries: Vec<AuditEntry>,
}

/// An account's moderation state as chat-service keeps it (`user_moderation`). `version`
/// grows with every change of role or suspension: chat-service keeps the state of the
/// highest version it has seen, so duplicated or reordered events are harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModerationState {
    pub role: Role,
    /// Whether a suspension was set (chat-service compares `suspendedUntil` with its clock).
    pub suspended: bool,
    /// Unix ms; `null` while suspended means until lifted.
    pub suspended_until: Option<i64>,
    /// The suspended account's messages are hidden from everyone but staff while it lasts.
    pub hide_messages: bool,
    pub version: i64,
}

/// What changed about a user, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum UserChange {
    /// The role or suspension changed: the whole new state.
    Moderation(ModerationState),
    /// The account was deleted (docs/architecture.md, "Deleting an account"): chat-service
    /// forgets the person, and deletes their messages too with `deleteMessages`. Applying it
    /// twice gives the same result.
    #[serde(rename_all = "camelCase")]
    Deleted {
        #[serde(default)]
        delete_messages: bool,
    },
}

/// One event of auth-service's outbox: `{"id", "userId", "kind", ...the kind's members}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEvent {
    /// The outbox row's id: increasing in the order the changes were made.
    pub id: i64,
    pub user_id: Uuid,
    #[serde(flatten)]
    pub change: UserChange,
}

/// `POST /internal/user-events` on chat-service (auth-service's key) → 204. At most
/// [`MAX_USER_EVENTS`] events, in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEventBatch {
    pub events: Vec<UserEvent>,
}

/// The name the moderation contract gives the batch.
pub type UserEvents = UserEventBatch;

/// Most events auth-service sends in one [`UserEventBatch`].
pub const MAX_USER_EVENTS: usize = 100;

/// `PUT /internal/users/{id}/suspension` (chat-service → auth-service): a suspension decided
/// in chat-service (a report's resolution), by an admin whom auth-service checks again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuspensionRequest {
    pub actor_id: Uuid,
    pub actor_name: String,
    /// The admin's address as chat-service saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// 1 to 500 characters.
    pub reason: String,
    /// RFC 3339, in the future; absent: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_messages: Option<bool>,
}

/// Whether an account's suspension is in force now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    Suspended,
}

/// A suspension as the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SuspensionView {
    pub reason: String,
    /// RFC 3339.
    pub since: String,
    /// RFC 3339; `null`: until lifted.
    pub until: Option<String>,
    pub hide_messages: bool,
    /// The admin who suspended the account (`null`: the command line).
    pub by: Option<Uuid>,
}

/// An account as staff see it (`GET /admin/users`, and the answer of every admin change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub role: Role,
    /// `suspended` only while the suspension is in force.
    pub status: AccountStatus,
    /// The suspension last set, while it is in force (`null` otherwise).
    pub suspension: Option<SuspensionView>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the last use of any of the account's sessions (they refresh every 15 minutes
    /// while used); `null` if none is known.
    pub last_seen_at: Option<String>,
}

/// `GET /internal/stats` (auth-service, chat-service's key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStats {
    pub users: i64,
    /// Accounts whose suspension is in force.
    pub suspended_users: i64,
    pub admins: i64,
    pub moderators: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_events_have_the_contract_shape() {
        let user = Uuid::nil();
        let batch = UserEventBatch {
            events: vec![UserEvent {
                id: 7,
                user_id: user,
                change: UserChange::Moderation(ModerationState {
                    role: Role::Moderator,
                    suspended: true,
                    suspended_until: None,
                    hide_messages: false,
                    version: 3,
                }),
            }],
        };
        let expected = json!({"events": [{
            "id": 7, "userId": user, "kind": "moderation", "role": "moderator",
            "suspended": true, "suspendedUntil": null, "hideMessages": false, "version": 3
        }]});
        assert_eq!(serde_json::to_value(&batch).ok(), Some(expected.clone()));
        assert_eq!(
            serde_json::from_value::<UserEventBatch>(expected).ok(),
            Some(batch)
        );
    }

    #[test]
    fn a_deletion_has_the_contract_shape() {
        let event = UserEvent {
            id: 9,
            user_id: Uuid::nil(),
            change: UserChange::Deleted {
                delete_messages: true,
            },
        };
        let expected =
            json!({"id": 9, "userId": Uuid::nil(), "kind": "deleted", "deleteMessages": true});
        assert_eq!(serde_json::to_value(&event).ok(), Some(expected.clone()));
        assert_eq!(
            serde_json::from_value::<UserEvent>(expected).ok(),
            Some(event)
        );
    }

    #[test]
    fn audit_entries_have_every_member() {
        let entry = AuditEntry {
            id: Uuid::nil(),
            at: "2026-01-02T03:04:05Z".to_owned(),
            actor: AuditActor {
                id: None,
                name: "command line".to_owned(),
            },
            action: "role.change".to_owned(),
            target: Some(AuditTarget {
                id: Uuid::nil(),
                name: "alice".to_owned(),
            }),
            room_id: None,
            message_id: None,
            reason: None,
            details: Some(json!({"from": "user", "to": "admin"})),
            ip: None,
            source: AuditSource::Auth,
        };
        let expected = json!({
            "id": Uuid::nil(), "at": "2026-01-02T03:04:05Z",
            "actor": {"id": null, "name": "command line"}, "action": "role.change",
            "target": {"id": Uuid::nil(), "name": "alice"}, "roomId": null, "messageId": null,
            "reason": null, "details": {"from": "user", "to": "admin"}, "ip": null,
            "source": "auth"
        });
        assert_eq!(serde_json::to_value(&entry).ok(), Some(expected.clone()));
        assert_eq!(
            serde_json::from_value::<AuditEntry>(expected).ok(),
            Some(entry)
        );
    }

    #[test]
    fn roles_by_name() {
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.as_str()), Some(role));
        }
        assert_eq!(Role::from_name("Admin"), None);
        assert!(Role::Moderator.is_staff() && !Role::User.is_staff());
    }
}
