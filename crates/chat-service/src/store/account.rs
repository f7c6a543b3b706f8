//! Forgetting a deleted account (docs/architecture.md, "Deleting an account"), in one
//! transaction: every row that names the person gets the neutral name, every row that is only
//! theirs goes. Written so that running it again changes nothing: auth-service retries the
//! event until it is accepted.

use anyhow::Context;
use sqlx::AnyConnection;
use store_kit::UuidText;
use uuid::Uuid;
use wire::DELETED_USER_NAME;

use super::members::{self, Removal};
use super::messages::{self, Change, Message};

/// What forgetting the person did that connected clients should hear of.
#[derive(Debug, Default)]
pub struct Forgotten {
    /// The group rooms they left, and what that did to each.
    pub removals: Vec<(i64, Removal)>,
    /// Their messages deleted (with `deleteMessages`).
    pub deleted: Vec<Message>,
}

/// Rows that carry the person's name: (table, name column, id column).
const NAMED: &[(&str, &str, &str)] = &[
    ("messages", "username_snapshot", "user_id"),
    // Their member rows left are those of direct rooms, which stay a pair.
    ("room_members", "username_snapshot", "user_id"),
    ("rooms", "owner_username_snapshot", "owner_user_id"),
    ("reports", "reporter_name", "reporter_id"),
    ("reports", "author_name", "author_id"),
];

/// Rows that are only the person's: (table, id column).
const OWN: &[(&str, &str)] = &[
    ("ws_tickets", "user_id"),
    ("known_users", "user_id"),
    ("read_markers", "user_id"),
    ("reactions", "user_id"),
    ("mentions", "user_id"),
    ("push_subscriptions", "user_id"),
    ("push_windows", "user_id"),
    ("notification_settings", "user_id"),
    ("room_notification_settings", "user_id"),
    ("email_digests", "user_id"),
    ("room_mutes", "user_id"),
    ("blocks", "blocker_id"),
    ("blocks", "blocked_id"),
    ("user_moderation", "user_id"),
];

/// Forgets `user_id` inside `tx`: their messages deleted as their author would delete them
/// (with `delete_messages`), their group memberships ended as if they left (the
/// longest-standing member inherits a room they owned; a room left empty goes), every name
/// snapshot renamed, their notes and their own rows deleted, and their uploads that no message carries marked
/// deleted for the sweeper.
pub async fn forget(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: Uuid,
    delete_messages: bool,
    now: i64,
) -> anyhow::Result<Forgotten> {
    let mut forgotten = Forgotten::default();
    if delete_messages {
        for message in messages::live_of(tx, user_id).await? {
            if let Some(deleted) = messages::change_in(tx, &message, Change::Delete, now).await? {
                forgotten.deleted.push(deleted);
            }
        }
    }
    let rooms: Vec<(i64, Option<UuidText>)> = sqlx::query_as(
        "SELECT r.id, r.owner_user_id FROM room_members m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = $1 AND r.kind <> 'direct' ORDER BY r.id",
    )
    .bind(UuidText(user_id))
    .fetch_all(&mut **tx)
    .await
    .context("listing a deleted user's rooms")?;
    for (room_id, owner) in rooms {
        let owner = owner.map(Uuid::from);
        if let Some(removal) = members::remove_member_in(tx, room_id, owner, user_id, None).await? {
            forgotten.removals.push((room_id, removal));
        }
    }
    // Their notes (a direct room with themself) go with them.
    sqlx::query("DELETE FROM rooms WHERE kind = 'direct' AND direct_key = $1 || ':' || $1")
        .bind(UuidText(user_id))
        .execute(&mut **tx)
        .await
        .context("deleting a deleted user's notes")?;
    rename(tx, user_id).await?;
    store_kit::audit::rename(tx, user_id, DELETED_USER_NAME).await?;
    for (table, column) in OWN {
        // Only constant table and column names are formatted into the statement.
        let sql = format!("DELETE FROM {table} WHERE {column} = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(UuidText(user_id))
            .execute(&mut **tx)
            .await
            .with_context(|| format!("forgetting a deleted user's {table}"))?;
    }
    sqlx::query(
        "UPDATE uploads SET deleted_at = $2
         WHERE owner_user_id = $1 AND message_id IS NULL AND deleted_at IS NULL",
    )
    .bind(UuidText(user_id))
    .bind(now)
    .execute(&mut **tx)
    .await
    .context("deleting a deleted user's unsent uploads")?;
    Ok(forgotten)
}

/// Replaces the person's name in every row that keeps it.
async fn rename(conn: &mut AnyConnection, user_id: Uuid) -> anyhow::Result<()> {
    for (table, name, id) in NAMED {
        // Only constant table and column names are formatted into the statement.
        let sql = format!("UPDATE {table} SET {name} = $2 WHERE {id} = $1 AND {name} <> $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(UuidText(user_id))
            .bind(DELETED_USER_NAME)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("renaming a deleted user in {table}"))?;
    }
    Ok(())
}
