//! The `reactions` table: one row per (message, emoji, user). Adding or removing one takes the
//! room's next revision and stamps the message with it, like an edit, so the change feed
//! replays reactions too (docs/protocol.md).

use std::collections::HashMap;

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{ResultExt, UuidText, placeholder_list};
use uuid::Uuid;

use super::messages::{self, Message};

/// One emoji's reactions on a message: the total and the first users, by time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub emoji: String,
    pub count: i64,
    pub user_ids: Vec<Uuid>,
}

/// Fills in the reactions of `messages` (one statement), emoji in the order each was first
/// used, at most `wire::protocol::REACTION_USERS_SHOWN` users each.
pub async fn attach(pool: &AnyPool, messages: &mut [Message]) -> anyhow::Result<()> {
    let ids: Vec<i64> = messages
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| m.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN ({})
         ORDER BY message_id, created_at, emoji, user_id",
        placeholder_list(1, ids.len())
    );
    // Only numbered placeholders are formatted into this statement; every value is bound.
    let mut query = sqlx::query_as::<_, (i64, String, UuidText)>(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(pool).await.context("reading reactions")?;
    let mut by_message: HashMap<i64, Vec<Reaction>> = HashMap::new();
    for (message_id, emoji, user) in rows {
        let list = by_message.entry(message_id).or_default();
        let reaction = match list.iter_mut().position(|r| r.emoji == emoji) {
            Some(i) => &mut list[i],
            None => {
                list.push(Reaction {
                    emoji,
                    count: 0,
                    user_ids: Vec::new(),
                });
                let last = list.len() - 1;
                &mut list[last]
            }
        };
        reaction.count += 1;
        if reaction.user_ids.len() < wire::protocol::REACTION_USERS_SHOWN {
            reaction.user_ids.push(user.into());
        }
    }
    for message in messages.iter_mut() {
        message.reactions = by_message.remove(&message.id).unwrap_or_default();
    }
    Ok(())
}

/// One message with its reactions.
pub async fn attached(pool: &AnyPool, message: Message) -> anyhow::Result<Message> {
    let mut one = [message];
    attach(pool, &mut one).await?;
    let [message] = one;
    Ok(message)
}

/// What a reaction change did: the message with its new revision and reactions, and the
/// emoji's count after it.
#[derive(Debug, Clone)]
pub struct Changed {
    pub message: Message,
    pub count: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReactError {
    #[error("the message is gone or deleted")]
    Gone,
    #[error("the message already has as many distinct reactions as it may")]
    TooMany,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Adds (`add`) or removes `user`'s `emoji` on `message` in one transaction with the room's
/// next revision. `Ok(None)` when it changes nothing (already there, or not there): no
/// revision is taken then. An addition that would make more than `max_distinct` distinct
/// emoji on the message is refused.
pub async fn change(
    pool: &AnyPool,
    message: &Message,
    emoji: &str,
    user: Uuid,
    add: bool,
    max_distinct: u32,
    now: i64,
) -> Result<Option<Changed>, ReactError> {
    let mut tx = pool.begin().await.context("starting a reaction")?;
    // The room's revision first: its row is the lock that orders the room's changes.
    let Some(rev) = messages::next_rev(&mut tx, message.room_id).await? else {
        return Err(ReactError::Gone);
    };
    let done = if add {
        sqlx::query(
            "INSERT INTO reactions (message_id, emoji, user_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (message_id, emoji, user_id) DO NOTHING",
        )
        .bind(message.id)
        .bind(emoji)
        .bind(UuidText(user))
        .bind(now)
        .execute(&mut *tx)
        .await
    } else {
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3")
            .bind(message.id)
            .bind(emoji)
            .bind(UuidText(user))
            .execute(&mut *tx)
            .await
    };
    // A message deleted under us (with its row gone) refuses the reaction's foreign key.
    let done = done
        .on_foreign_key(|| ReactError::Gone)?
        .context("changing a reaction")?;
    if done.rows_affected() == 0 {
        // Nothing changed: the rollback gives the revision back.
        return Ok(None);
    }
    if add {
        let distinct: i64 =
            sqlx::query_scalar("SELECT COUNT(DISTINCT emoji) FROM reactions WHERE message_id = $1")
                .bind(message.id)
                .fetch_one(&mut *tx)
                .await
                .context("counting a message's reactions")?;
        if distinct > i64::from(max_distinct) {
            return Err(ReactError::TooMany);
        }
    }
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM reactions WHERE message_id = $1 AND emoji = $2")
            .bind(message.id)
            .bind(emoji)
            .fetch_one(&mut *tx)
            .await
            .context("counting an emoji's reactions")?;
    let Some(stamped) = messages::stamp(&mut tx, message.id, rev).await? else {
        return Err(ReactError::Gone);
    };
    tx.commit().await.context("committing a reaction")?;
    let message = attached(pool, stamped).await?;
    Ok(Some(Changed { message, count }))
}

/// One reaction a person gave: `(message_id, emoji, created_at)`.
pub type Given = (i64, String, i64);

/// The reactions `user_id` gave after `(message_id, emoji)` (`None`: from the start), in that
/// order, at most `limit`: a page of their data export (index `reactions_user_idx`).
pub async fn given_by(
    pool: &AnyPool,
    user_id: Uuid,
    after: Option<(i64, &str)>,
    limit: i64,
) -> anyhow::Result<Vec<Given>> {
    let (after_id, after_emoji) = after.unwrap_or((i64::MIN, ""));
    sqlx::query_as(
        "SELECT message_id, emoji, created_at FROM reactions
         WHERE user_id = $1 AND (message_id > $2 OR (message_id = $2 AND emoji > $3))
         ORDER BY message_id, emoji LIMIT $4",
    )
    .bind(UuidText(user_id))
    .bind(after_id)
    .bind(after_emoji)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading a person's reactions")
}
