//! The `room_members` table.

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool};
use store_kit::{Database, Engine, ResultExt, UuidText};
use uuid::Uuid;

use super::audit::NewEntry;
use crate::domain::MemberCursor;
use crate::domain::moderation::RoomRole;

/// The columns of a [`MemberRow`], in one place for every statement that reads members (of
/// `room_members`, unaliased): with the end of the member's mute in the room, if any.
macro_rules! columns {
    () => {
        "user_id, username_snapshot, joined_at, role,
         (SELECT u.until FROM room_mutes u
          WHERE u.room_id = room_members.room_id AND u.user_id = room_members.user_id) AS muted_until"
    };
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub username: String,
    pub joined_at: i64,
    /// `member` or `moderator` (the owner is the room's `owner_user_id`).
    pub role: RoomRole,
    /// The end of a mute in force when the row was read.
    pub muted_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: UuidText,
    username_snapshot: String,
    joined_at: i64,
    role: String,
    muted_until: Option<i64>,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Member {
            user_id: r.user_id.into(),
            username: r.username_snapshot,
            joined_at: r.joined_at,
            role: RoomRole::from_stored(&r.role),
            // An ended mute stays in its table until replaced or lifted.
            muted_until: r.muted_until.filter(|until| *until > store_kit::now_ms()),
        }
    }
}

/// Members by join time (every one: for the relays' `unsubscribe` of a deleted room, which
/// the members cap keeps bounded).
pub async fn list(pool: &AnyPool, room_id: i64) -> anyhow::Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM room_members WHERE room_id = $1 ORDER BY joined_at, user_id"
    ))
    .bind(room_id)
    .fetch_all(pool)
    .await
    .context("listing members")?;
    Ok(rows.into_iter().map(Member::from).collect())
}

/// One member of a room, if they are one.
pub async fn get(pool: &AnyPool, room_id: i64, user_id: Uuid) -> anyhow::Result<Option<Member>> {
    let row: Option<MemberRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM room_members WHERE room_id = $1 AND user_id = $2"
    ))
    .bind(room_id)
    .bind(UuidText(user_id))
    .fetch_optional(pool)
    .await
    .context("reading a member")?;
    Ok(row.map(Member::from))
}

/// Up to `limit` members by join time, after the cursor, and whether more follow.
pub async fn page(
    pool: &AnyPool,
    room_id: i64,
    after: Option<&MemberCursor>,
    limit: i64,
) -> anyhow::Result<(Vec<Member>, bool)> {
    // The first page: a join time before every member's (and no user id to compare).
    let (joined_at, user_id) = after.map_or((i64::MIN, None), |c| {
        (c.joined_at, Some(UuidText(c.user_id)))
    });
    let mut rows: Vec<MemberRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM room_members
         WHERE room_id = $1 AND (joined_at > $2 OR (joined_at = $2 AND user_id > $3))
         ORDER BY joined_at, user_id LIMIT $4"
    ))
    .bind(room_id)
    .bind(joined_at)
    .bind(user_id)
    .bind(limit + 1)
    .fetch_all(pool)
    .await
    .context("listing members")?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((rows.into_iter().map(Member::from).collect(), has_more))
}

/// The caps checked when a room or a membership is added (docs/architecture.md).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub max_rooms_owned: u32,
    pub max_members_per_room: u32,
    /// Rooms one user may be a member of.
    pub max_rooms_per_user: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum AddMemberError {
    #[error("already a member")]
    AlreadyMember,
    #[error("room gone")]
    RoomGone,
    #[error("the room is full")]
    RoomFull,
    #[error("the user is in too many rooms")]
    TooManyRooms,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Adds a member unless the room or the user is at its cap. The counts are taken after the
/// insert, under the room's lock and the user's (see [`lock_user`]), so concurrent adds never
/// pass a cap.
pub async fn add(
    db: &Database,
    room_id: i64,
    user_id: Uuid,
    username: &str,
    now: i64,
    caps: Caps,
) -> Result<Member, AddMemberError> {
    let mut tx = db.pool.begin().await.context("starting a member add")?;
    // A write first: it takes the room's row lock on PostgreSQL and the write lock on SQLite,
    // so adds to one room count one after another.
    let locked: Option<i64> =
        sqlx::query_scalar("UPDATE rooms SET last_seq = last_seq WHERE id = $1 RETURNING id")
            .bind(room_id)
            .fetch_optional(&mut *tx)
            .await
            .context("locking the room")?;
    if locked.is_none() {
        return Err(AddMemberError::RoomGone);
    }
    lock_user(&mut tx, db.engine, user_id).await?;
    insert(&mut tx, room_id, user_id, username, now)
        .await
        .on_unique(|_| AddMemberError::AlreadyMember)?
        .on_foreign_key(|| AddMemberError::RoomGone)?
        .context("adding a member")?;
    let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM room_members WHERE room_id = $1")
        .bind(room_id)
        .fetch_one(&mut *tx)
        .await
        .context("counting members")?;
    if members > i64::from(caps.max_members_per_room) {
        return Err(AddMemberError::RoomFull);
    }
    if rooms_of(&mut tx, user_id).await? > i64::from(caps.max_rooms_per_user) {
        return Err(AddMemberError::TooManyRooms);
    }
    // A mute outlives a membership: leaving and coming back does not lift it.
    let muted_until: Option<i64> = sqlx::query_scalar(
        "SELECT until FROM room_mutes WHERE room_id = $1 AND user_id = $2 AND until > $3",
    )
    .bind(room_id)
    .bind(UuidText(user_id))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .context("reading the new member's mute")?;
    tx.commit().await.context("committing a member add")?;
    Ok(Member {
        user_id,
        username: username.to_owned(),
        joined_at: now,
        role: RoomRole::Member,
        muted_until,
    })
}

pub(crate) async fn insert(
    conn: &mut AnyConnection,
    room_id: i64,
    user_id: Uuid,
    username: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO room_members (room_id, user_id, username_snapshot, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(room_id)
        .bind(UuidText(user_id))
        .bind(username)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes the transaction the only one changing this user's memberships until it ends, so
/// counts of a user's rooms stay exact when two rooms add the same user at once. On
/// PostgreSQL a transaction-scoped advisory lock; SQLite has one writer at a time already.
pub(crate) async fn lock_user(
    conn: &mut AnyConnection,
    engine: Engine,
    user_id: Uuid,
) -> anyhow::Result<()> {
    if engine.serializes_writers() {
        return Ok(());
    }
    let _: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS l",
    )
    .bind(format!("cloudchat:user-rooms:{user_id}"))
    .fetch_one(conn)
    .await
    .context("locking a user's memberships")?;
    Ok(())
}

/// How many group rooms the user is a member of (`general` has no membership rows; direct
/// rooms do not count: opening them is rate-limited instead, docs/architecture.md).
pub(crate) async fn rooms_of(conn: &mut AnyConnection, user_id: Uuid) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM room_members m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = $1 AND r.kind <> 'direct'",
    )
    .bind(UuidText(user_id))
    .fetch_one(conn)
    .await
    .context("counting a user's rooms")
}

/// Removes a member and their read marker; false when they were not a member.
pub async fn remove(conn: &mut AnyConnection, room_id: i64, user_id: Uuid) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(UuidText(user_id))
        .execute(&mut *conn)
        .await
        .context("removing a member")?;
    sqlx::query("DELETE FROM read_markers WHERE room_id = $1 AND user_id = $2")
        .bind(room_id)
        .bind(UuidText(user_id))
        .execute(&mut *conn)
        .await
        .context("removing a read marker")?;
    Ok(done.rows_affected() > 0)
}

/// The longest-standing member, who inherits a room its owner leaves.
pub async fn longest_standing(
    conn: &mut AnyConnection,
    room_id: i64,
) -> anyhow::Result<Option<Member>> {
    let row: Option<MemberRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM room_members WHERE room_id = $1
         ORDER BY joined_at, user_id LIMIT 1"
    ))
    .bind(room_id)
    .fetch_optional(conn)
    .await
    .context("finding the next owner")?;
    Ok(row.map(Member::from))
}

/// What removing a member did to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// The member who inherited the room, when its owner left.
    pub new_owner: Option<Uuid>,
    /// The last member left: the room is gone.
    pub room_deleted: bool,
}

/// Removes a member in one transaction: when the owner (`owner`) leaves, the longest-standing
/// member becomes owner; when the last member leaves, the room is deleted with it. A removal
/// by someone else is recorded in the audit log (`audit`) in the same transaction. `None`
/// when `user_id` was not a member.
pub async fn remove_member(
    pool: &AnyPool,
    room_id: i64,
    owner: Option<Uuid>,
    user_id: Uuid,
    audit: Option<&NewEntry<'_>>,
) -> anyhow::Result<Option<Removal>> {
    let mut tx = pool.begin().await.context("starting a member removal")?;
    let removal = remove_member_in(&mut tx, room_id, owner, user_id, audit).await?;
    if removal.is_some() {
        tx.commit().await.context("committing a member removal")?;
    }
    Ok(removal)
}

/// [`remove_member`] inside the caller's transaction (an account's deletion removes the
/// person from every room in one).
pub async fn remove_member_in(
    tx: &mut AnyConnection,
    room_id: i64,
    owner: Option<Uuid>,
    user_id: Uuid,
    audit: Option<&NewEntry<'_>>,
) -> anyhow::Result<Option<Removal>> {
    if !remove(tx, room_id, user_id).await? {
        return Ok(None);
    }
    if let Some(entry) = audit {
        super::audit::append(tx, entry, store_kit::now_ms()).await?;
    }
    let mut removal = Removal {
        new_owner: None,
        room_deleted: false,
    };
    if owner == Some(user_id) {
        match longest_standing(tx, room_id).await? {
            Some(heir) => {
                super::rooms::set_owner(tx, room_id, heir.user_id, &heir.username).await?;
                removal.new_owner = Some(heir.user_id);
            }
            None => {
                super::rooms::delete(&mut *tx, room_id).await?;
                removal.room_deleted = true;
            }
        }
    }
    Ok(Some(removal))
}
