//! The `rooms` table, and the read markers that drive unread counts.

use anyhow::Context;
use sqlx::AnyPool;
use store_kit::{Database, ResultExt, UuidText, placeholder_list, placeholder_rows};
use uuid::Uuid;

use super::members;
use crate::domain::RoomName;
use crate::domain::moderation::RoomRole;

/// The columns of a [`RoomRow`], in one place for every statement that reads rooms.
macro_rules! columns {
    () => {
        "id, name, owner_user_id, owner_username_snapshot, is_general, kind, last_seq, last_rev, created_at"
    };
}

#[derive(Debug, Clone)]
pub struct Room {
    pub id: i64,
    pub name: String,
    pub owner_user_id: Option<Uuid>,
    pub owner_username: Option<String>,
    pub is_general: bool,
    pub kind: RoomKind,
    pub last_seq: i64,
    /// The room's change-feed revision: the last one a change to its messages took.
    pub last_rev: i64,
    pub created_at: i64,
}

/// What a room is: `general` (everyone, no member rows), a group (a name, an owner, members
/// added by the owner) or a direct room (one pair of users, or one user's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    General,
    Group,
    Direct,
}

impl RoomKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::General => "general",
            RoomKind::Group => "group",
            RoomKind::Direct => "direct",
        }
    }

    pub(crate) fn parse(raw: &str) -> Self {
        match raw {
            "general" => RoomKind::General,
            "direct" => RoomKind::Direct,
            _ => RoomKind::Group,
        }
    }
}

impl Room {
    pub fn is_direct(&self) -> bool {
        self.kind == RoomKind::Direct
    }
}

#[derive(sqlx::FromRow)]
struct RoomRow {
    id: i64,
    name: String,
    owner_user_id: Option<UuidText>,
    owner_username_snapshot: Option<String>,
    is_general: i64,
    kind: String,
    last_seq: i64,
    last_rev: i64,
    created_at: i64,
}

impl From<RoomRow> for Room {
    fn from(r: RoomRow) -> Self {
        Room {
            id: r.id,
            name: r.name,
            owner_user_id: r.owner_user_id.map(Uuid::from),
            owner_username: r.owner_username_snapshot,
            is_general: r.is_general == 1,
            kind: RoomKind::parse(&r.kind),
            last_seq: r.last_seq,
            last_rev: r.last_rev,
            created_at: r.created_at,
        }
    }
}

/// A room as one user sees it: with member, unread and mention counts, and the other person
/// of a direct room.
#[derive(Debug, Clone)]
pub struct RoomSummary {
    pub room: Room,
    pub member_count: i64,
    pub unread_count: i64,
    /// Messages after the user's read marker that mention them.
    pub mention_count: i64,
    /// The other member of a direct room (the user themself in their notes).
    pub peer: Option<Peer>,
    /// The user's role in the room (`None` in `general`).
    pub role: Option<RoomRole>,
    /// Whether the user moderates the room (set by `ops::moderation`, which knows whether
    /// they are staff).
    pub can_moderate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub user_id: Uuid,
    pub username: String,
}

/// Unread and mention counts stop at this number (a new user in a busy `general` would
/// otherwise count its whole history on every listing).
pub const UNREAD_CAP: i64 = 1000;

#[derive(sqlx::FromRow)]
struct SummaryRow {
    #[sqlx(flatten)]
    room: RoomRow,
    member_count: i64,
    unread_count: i64,
    mention_count: i64,
    peer_user_id: Option<UuidText>,
    peer_username: Option<String>,
    my_role: Option<String>,
}

/// The other member `p` of a direct room `r` as user `$1` sees it (themself, in their notes).
macro_rules! peer_join {
    () => {
        "LEFT JOIN room_members p ON r.kind = 'direct' AND p.room_id = r.id
              AND (p.user_id <> $1 OR r.direct_key = $1 || ':' || $1)"
    };
}

/// These rooms, each with its other person when it is a direct room, as `user_id` sees them
/// (in no particular order).
pub async fn with_peers(
    pool: &AnyPool,
    user_id: Uuid,
    ids: &[i64],
) -> anyhow::Result<Vec<(Room, Option<Peer>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        room: RoomRow,
        peer_user_id: Option<UuidText>,
        peer_username: Option<String>,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            ", p.user_id AS peer_user_id, p.username_snapshot AS peer_username FROM rooms r ",
            peer_join!(),
            " WHERE r.id IN ({})"
        ),
        placeholder_list(2, ids.len())
    );
    // Only numbered placeholders are formatted into this statement; every value is bound.
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(UuidText(user_id));
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query
        .fetch_all(pool)
        .await
        .context("reading rooms with their peers")?;
    Ok(rows
        .into_iter()
        .map(|r| (Room::from(r.room), peer(r.peer_user_id, r.peer_username)))
        .collect())
}

fn peer(user_id: Option<UuidText>, username: Option<String>) -> Option<Peer> {
    user_id.zip(username).map(|(user_id, username)| Peer {
        user_id: user_id.into(),
        username,
    })
}

/// Which of the user's rooms a listing answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Every room in the user's list: hidden direct rooms left out.
    Visible,
    /// One room, hidden or not.
    One(i64),
}

/// The rooms the user belongs to, `general` first, then by id.
pub async fn list_for_user(
    pool: &AnyPool,
    user_id: Uuid,
    listing: Listing,
) -> anyhow::Result<Vec<RoomSummary>> {
    let (only, with_hidden) = match listing {
        Listing::Visible => (0, 0),
        Listing::One(id) => (id, 1),
    };
    let rows: Vec<SummaryRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        ",
                (SELECT COUNT(*) FROM room_members m WHERE m.room_id = r.id) AS member_count,
                (SELECT COUNT(*) FROM (
                    SELECT 1 FROM messages g
                    WHERE g.room_id = r.id AND g.deleted_at IS NULL AND g.user_id <> $1
                      AND g.seq > COALESCE(
                          (SELECT k.last_read_seq FROM read_markers k WHERE k.room_id = r.id AND k.user_id = $1), 0)
                    LIMIT 1000) AS unread) AS unread_count,
                (SELECT COUNT(*) FROM (
                    SELECT 1 FROM mentions n
                    WHERE n.user_id = $1 AND n.room_id = r.id
                      AND n.seq > COALESCE(
                          (SELECT k.last_read_seq FROM read_markers k WHERE k.room_id = r.id AND k.user_id = $1), 0)
                    LIMIT 1000) AS mentioned) AS mention_count,
                p.user_id AS peer_user_id, p.username_snapshot AS peer_username,
                (SELECT h.role FROM room_members h WHERE h.room_id = r.id AND h.user_id = $1) AS my_role
         FROM rooms r ",
        peer_join!(),
        "
         WHERE ($2 = 0 OR r.id = $2)
           AND (r.is_general = 1 OR EXISTS (
                SELECT 1 FROM room_members h WHERE h.room_id = r.id AND h.user_id = $1
                  AND ($3 = 1 OR h.hidden_seq IS NULL OR h.hidden_seq < r.last_seq)))
         ORDER BY r.is_general DESC, r.id"
    ))
    .bind(UuidText(user_id))
    .bind(only)
    .bind(with_hidden)
    .fetch_all(pool)
    .await
    .context("listing rooms")?;
    Ok(rows
        .into_iter()
        .map(|r| RoomSummary {
            room: Room::from(r.room),
            member_count: r.member_count,
            unread_count: r.unread_count,
            mention_count: r.mention_count,
            peer: peer(r.peer_user_id, r.peer_username),
            role: r.my_role.as_deref().map(RoomRole::from_stored),
            can_moderate: false,
        })
        .collect())
}

/// The ids of the rooms a connection of this user subscribes to.
pub async fn ids_for_user(pool: &AnyPool, user_id: Uuid) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM rooms WHERE is_general = 1
         UNION
         SELECT room_id FROM room_members WHERE user_id = $1
         ORDER BY 1",
    )
    .bind(UuidText(user_id))
    .fetch_all(pool)
    .await
    .context("listing room ids")?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The ids of the rooms each of `users` may read (`general` included for everyone), for a
/// relay re-checking its connections' subscriptions. Two statements whatever the number of
/// users; the caller bounds it (`wire::ROOMS_REQUEST_MAX_USERS`).
pub async fn ids_for_users(
    pool: &AnyPool,
    users: &[Uuid],
) -> anyhow::Result<std::collections::HashMap<Uuid, Vec<i64>>> {
    let general: Vec<(i64,)> = sqlx::query_as("SELECT id FROM rooms WHERE is_general = 1")
        .fetch_all(pool)
        .await
        .context("listing general rooms")?;
    let mut rooms: std::collections::HashMap<Uuid, Vec<i64>> = users
        .iter()
        .map(|user| (*user, general.iter().map(|(id,)| *id).collect()))
        .collect();
    if users.is_empty() {
        return Ok(rooms);
    }
    // Only numbered placeholders are formatted into the statement; every value is bound.
    let sql = format!(
        "SELECT user_id, room_id FROM room_members WHERE user_id IN ({}) ORDER BY room_id",
        placeholder_list(1, users.len())
    );
    let mut query = sqlx::query_as::<_, (UuidText, i64)>(sqlx::AssertSqlSafe(sql));
    for user in users {
        query = query.bind(UuidText(*user));
    }
    for (user, room) in query
        .fetch_all(pool)
        .await
        .context("listing the rooms of several users")?
    {
        if let Some(list) = rooms.get_mut(&user.0) {
            list.push(room);
        }
    }
    for list in rooms.values_mut() {
        list.sort_unstable();
        list.dedup();
    }
    Ok(rooms)
}

/// A room and whether `user_id` is a member of it (always true for `general`).
pub async fn with_membership(
    pool: &AnyPool,
    room_id: i64,
    user_id: Uuid,
) -> anyhow::Result<Option<(Room, bool)>> {
    Ok(membership(pool, room_id, user_id)
        .await?
        .map(|(room, role)| {
            let member = room.is_general || role.is_some();
            (room, member)
        }))
}

/// A room and the role `user_id` has in it: `None` when they have no member row (never in
/// `general`, which has none).
pub async fn membership(
    pool: &AnyPool,
    room_id: i64,
    user_id: Uuid,
) -> anyhow::Result<Option<(Room, Option<RoomRole>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        room: RoomRow,
        member_role: Option<String>,
    }
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        ",
                (SELECT m.role FROM room_members m WHERE m.room_id = r.id AND m.user_id = $2) AS member_role
         FROM rooms r WHERE r.id = $1"
    ))
    .bind(room_id)
    .bind(UuidText(user_id))
    .fetch_optional(pool)
    .await
    .context("reading a room")?;
    Ok(row.map(|row| {
        (
            Room::from(row.room),
            row.member_role.as_deref().map(RoomRole::from_stored),
        )
    }))
}

/// Why a `(room, user)` pair may not post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostRefusal {
    /// No such room, or the user is not a member (the same answer: no existence leak).
    NotMember,
    /// Muted in the room until this time (Unix ms).
    Muted(i64),
    /// A direct room one of whose two people blocked the other.
    Blocked,
}

/// What [`may_post`] found for each pair: those that may post, and why the others may not.
#[derive(Debug, Default)]
pub struct PostRights {
    allowed: std::collections::HashSet<(i64, Uuid)>,
    muted: std::collections::HashMap<(i64, Uuid), i64>,
    blocked: std::collections::HashSet<(i64, Uuid)>,
}

impl PostRights {
    pub fn check(&self, pair: (i64, Uuid)) -> Result<(), PostRefusal> {
        if !self.allowed.contains(&pair) {
            return Err(PostRefusal::NotMember);
        }
        if self.blocked.contains(&pair) {
            return Err(PostRefusal::Blocked);
        }
        match self.muted.get(&pair) {
            Some(until) => Err(PostRefusal::Muted(*until)),
            None => Ok(()),
        }
    }
}

/// Which of the `(room, user)` pairs may post at `now`: the room exists and is general or the
/// user is a member, the user is not muted there, and in a direct room neither person blocked
/// the other. Three statements whatever the number of pairs (a relay's batch of sends): the
/// rooms, the memberships, and the mutes and blocks of the members found.
pub async fn may_post(
    pool: &AnyPool,
    pairs: &[(i64, Uuid)],
    now: i64,
) -> anyhow::Result<PostRights> {
    let mut rights = PostRights::default();
    if pairs.is_empty() {
        return Ok(rights);
    }
    let mut rooms: Vec<i64> = pairs.iter().map(|(r, _)| *r).collect();
    rooms.sort_unstable();
    rooms.dedup();
    // Only numbered placeholders are formatted into these statements; every value is bound.
    let sql = format!(
        "SELECT id, is_general, kind FROM rooms WHERE id IN ({})",
        placeholder_list(1, rooms.len())
    );
    let mut query = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql));
    for room in &rooms {
        query = query.bind(*room);
    }
    let found = query
        .fetch_all(pool)
        .await
        .context("reading rooms for a batch")?;
    let general: std::collections::HashSet<i64> = found
        .iter()
        .filter(|(_, g, _)| *g != 0)
        .map(|(id, _, _)| *id)
        .collect();
    let private: std::collections::HashSet<i64> = found
        .iter()
        .filter(|(_, g, _)| *g == 0)
        .map(|(id, _, _)| *id)
        .collect();
    let direct: std::collections::HashSet<i64> = found
        .iter()
        .filter(|(_, _, kind)| RoomKind::parse(kind) == RoomKind::Direct)
        .map(|(id, _, _)| *id)
        .collect();
    let mut asked: Vec<(i64, Uuid)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for pair in pairs {
        if general.contains(&pair.0) {
            rights.allowed.insert(*pair);
        } else if private.contains(&pair.0) && seen.insert(*pair) {
            asked.push(*pair);
        }
    }
    if !asked.is_empty() {
        let sql = format!(
            "SELECT m.room_id, m.user_id FROM (VALUES {}) AS k
             JOIN room_members m ON m.room_id = k.column1 AND m.user_id = k.column2",
            placeholder_rows(1, asked.len(), 2)
        );
        let mut query = sqlx::query_as::<_, (i64, UuidText)>(sqlx::AssertSqlSafe(sql));
        for (room, user) in &asked {
            query = query.bind(*room).bind(UuidText(*user));
        }
        for (room, user) in query
            .fetch_all(pool)
            .await
            .context("reading memberships for a batch")?
        {
            rights.allowed.insert((room, user.0));
        }
    }
    refusals(pool, &mut rights, &direct, now).await?;
    Ok(rights)
}

/// The mutes in force and the blocks of the pairs allowed so far, in one statement joined
/// to the pairs as `VALUES` lists (room_mutes is usually empty; blocks are looked up only for
/// direct rooms, each by its other member).
async fn refusals(
    pool: &AnyPool,
    rights: &mut PostRights,
    direct: &std::collections::HashSet<i64>,
    now: i64,
) -> anyhow::Result<()> {
    let mut allowed: Vec<(i64, Uuid)> = rights.allowed.iter().copied().collect();
    if allowed.is_empty() {
        return Ok(());
    }
    allowed.sort_unstable();
    let in_direct: Vec<(i64, Uuid)> = allowed
        .iter()
        .filter(|(room, _)| direct.contains(room))
        .copied()
        .collect();
    let n = allowed.len();
    let d = in_direct.len();
    // Only numbered placeholders are formatted into this statement; every value is bound.
    // `$1` is now; then the pairs, then the direct pairs twice (one list a way of blocking).
    let mut sql = format!(
        "SELECT k.column1, k.column2, u.until FROM (VALUES {}) AS k
         JOIN room_mutes u ON u.room_id = k.column1 AND u.user_id = k.column2
         WHERE u.until > $1",
        placeholder_rows(2, n, 2)
    );
    if d > 0 {
        sql.push_str(&format!(
            "
         UNION ALL
         SELECT k.column1, k.column2, CAST(0 AS BIGINT) FROM (VALUES {}) AS k
         JOIN room_members p ON p.room_id = k.column1 AND p.user_id <> k.column2
         JOIN blocks b ON b.blocker_id = p.user_id AND b.blocked_id = k.column2
         UNION ALL
         SELECT k.column1, k.column2, CAST(0 AS BIGINT) FROM (VALUES {}) AS k
         JOIN room_members p ON p.room_id = k.column1 AND p.user_id <> k.column2
         JOIN blocks b ON b.blocker_id = k.column2 AND b.blocked_id = p.user_id",
            placeholder_rows(2 + 2 * n, d, 2),
            placeholder_rows(2 + 2 * n + 2 * d, d, 2)
        ));
    }
    let mut query = sqlx::query_as::<_, (i64, UuidText, i64)>(sqlx::AssertSqlSafe(sql)).bind(now);
    for (room, user) in allowed.iter().chain(&in_direct).chain(&in_direct) {
        query = query.bind(*room).bind(UuidText(*user));
    }
    let rows = query
        .fetch_all(pool)
        .await
        .context("reading mutes and blocks for a batch")?;
    for (room, user, until) in rows {
        // A mute's end is after now; a block's row says 0.
        if until > now {
            rights.muted.insert((room, user.0), until);
        } else {
            rights.blocked.insert((room, user.0));
        }
    }
    Ok(())
}

pub async fn member_count(pool: &AnyPool, room_id: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM room_members WHERE room_id = $1")
        .bind(room_id)
        .fetch_one(pool)
        .await
        .context("counting members")
}

#[derive(Debug, thiserror::Error)]
pub enum CreateRoomError {
    #[error("room name taken")]
    NameTaken,
    #[error("the owner owns too many rooms")]
    TooManyOwned,
    #[error("the owner is in too many rooms")]
    TooManyRooms,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Creates a room with its owner as first member, unless the owner would own more than
/// `caps.max_rooms_owned` rooms or belong to more than `caps.max_rooms_per_user`. Counted after the inserts and
/// under the owner's lock (see [`members::lock_user`]), so concurrent creates never pass a cap.
pub async fn create(
    db: &Database,
    name: &RoomName,
    owner: Uuid,
    owner_username: &str,
    now: i64,
    caps: members::Caps,
) -> Result<Room, CreateRoomError> {
    let mut tx = db.pool.begin().await.context("starting a transaction")?;
    members::lock_user(&mut tx, db.engine, owner).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO rooms (name, owner_user_id, owner_username_snapshot, is_general, last_seq, created_at)
         VALUES ($1, $2, $3, 0, 0, $4) RETURNING id",
    )
    .bind(name.as_str())
    .bind(UuidText(owner))
    .bind(owner_username)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .on_unique(|_| CreateRoomError::NameTaken)?
    .context("inserting a room")?;
    members::insert(&mut tx, id, owner, owner_username, now)
        .await
        .context("adding the owner")?;
    // An owner is always a member (ownership passes to a member), so the user's membership
    // rows find the rooms they own without a scan of every room.
    let owned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM room_members m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = $1 AND r.owner_user_id = $1",
    )
    .bind(UuidText(owner))
    .fetch_one(&mut *tx)
    .await
    .context("counting rooms owned")?;
    if owned > i64::from(caps.max_rooms_owned) {
        return Err(CreateRoomError::TooManyOwned);
    }
    if members::rooms_of(&mut tx, owner).await? > i64::from(caps.max_rooms_per_user) {
        return Err(CreateRoomError::TooManyRooms);
    }
    tx.commit().await.context("committing a room")?;
    Ok(Room {
        id,
        name: name.as_str().to_owned(),
        owner_user_id: Some(owner),
        owner_username: Some(owner_username.to_owned()),
        is_general: false,
        kind: RoomKind::Group,
        last_seq: 0,
        last_rev: 0,
        created_at: now,
    })
}

/// A user of a direct room, as a member row records them.
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    pub user_id: Uuid,
    pub username: &'a str,
}

/// The key of the direct room of a pair: the same whoever asks.
pub fn direct_key(a: Uuid, b: Uuid) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("{lo}:{hi}")
}

/// Creates the direct room of `me` and `peer` (the same user twice for notes) with both as
/// members — the caller found none with [`find_direct`] — and says whether it did. Two users
/// opening it at once get the same room: the unique `direct_key` makes the second insert
/// fail, and it reads the first one's (shown again in `me`'s list, see [`show`]).
pub async fn open_direct(
    db: &Database,
    me: Party<'_>,
    peer: Party<'_>,
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    let key = direct_key(me.user_id, peer.user_id);
    let mut tx = db.pool.begin().await.context("starting a direct room")?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO rooms (name, owner_user_id, owner_username_snapshot, is_general, kind, direct_key, last_seq, created_at)
         VALUES ('', NULL, NULL, 0, 'direct', $1, 0, $2) RETURNING id",
    )
    .bind(&key)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .on_unique(|_| ());
    let Ok(inserted) = inserted else {
        // The other one of the pair opened it in the meantime.
        drop(tx);
        let id = find_direct(&db.pool, &key)
            .await?
            .context("a direct room that collided is gone")?;
        show(&db.pool, id, me.user_id).await?;
        return Ok((id, false));
    };
    let id = inserted.context("inserting a direct room")?;
    members::insert(&mut tx, id, me.user_id, me.username, now)
        .await
        .context("adding the first member of a direct room")?;
    if peer.user_id != me.user_id {
        members::insert(&mut tx, id, peer.user_id, peer.username, now)
            .await
            .context("adding the second member of a direct room")?;
    }
    tx.commit().await.context("committing a direct room")?;
    Ok((id, true))
}

pub async fn find_direct(pool: &AnyPool, key: &str) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM rooms WHERE direct_key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
        .context("finding a direct room")
}

/// Hides a room from the user's list until its next message.
pub async fn hide(pool: &AnyPool, room_id: i64, user_id: Uuid) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE room_members SET hidden_seq = (SELECT last_seq FROM rooms WHERE id = $1)
         WHERE room_id = $1 AND user_id = $2",
    )
    .bind(room_id)
    .bind(UuidText(user_id))
    .execute(pool)
    .await
    .context("hiding a room")?;
    Ok(())
}

/// Shows a hidden room in the user's list again.
pub async fn show(pool: &AnyPool, room_id: i64, user_id: Uuid) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE room_members SET hidden_seq = NULL
         WHERE room_id = $1 AND user_id = $2 AND hidden_seq IS NOT NULL",
    )
    .bind(room_id)
    .bind(UuidText(user_id))
    .execute(pool)
    .await
    .context("showing a room")?;
    Ok(())
}

/// Deletes a room with its members, messages and read markers (cascade); on the pool or
/// inside a transaction.
pub async fn delete<'c, E>(executor: E, room_id: i64) -> anyhow::Result<bool>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let done = sqlx::query("DELETE FROM rooms WHERE id = $1 AND is_general = 0")
        .bind(room_id)
        .execute(executor)
        .await
        .context("deleting a room")?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_owner(
    conn: &mut sqlx::AnyConnection,
    room_id: i64,
    owner: Uuid,
    owner_username: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE rooms SET owner_user_id = $2, owner_username_snapshot = $3 WHERE id = $1")
        .bind(room_id)
        .bind(UuidText(owner))
        .bind(owner_username)
        .execute(conn)
        .await
        .context("transferring ownership")?;
    Ok(())
}

/// Moves the user's read marker forward to `seq` (never back); whether it moved.
pub async fn mark_read(
    pool: &AnyPool,
    room_id: i64,
    user_id: Uuid,
    seq: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO read_markers (room_id, user_id, last_read_seq) VALUES ($1, $2, $3)
         ON CONFLICT (room_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq
         WHERE excluded.last_read_seq > read_markers.last_read_seq",
    )
    .bind(room_id)
    .bind(UuidText(user_id))
    .bind(seq)
    .execute(pool)
    .await
    .context("moving a read marker")?;
    // Nothing changed when the marker was already there or further.
    Ok(done.rows_affected() > 0)
}

/// A member's read marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadMarker {
    pub user_id: Uuid,
    pub username: String,
    pub seq: i64,
}

/// The read markers of a room's members (members who never read have none).
pub async fn read_markers(pool: &AnyPool, room_id: i64) -> anyhow::Result<Vec<ReadMarker>> {
    let rows: Vec<(UuidText, String, i64)> = sqlx::query_as(
        "SELECT m.user_id, m.username_snapshot, k.last_read_seq
         FROM room_members m JOIN read_markers k ON k.room_id = m.room_id AND k.user_id = m.user_id
         WHERE m.room_id = $1",
    )
    .bind(room_id)
    .fetch_all(pool)
    .await
    .context("reading a room's read markers")?;
    Ok(rows
        .into_iter()
        .map(|(user_id, username, seq)| ReadMarker {
            user_id: user_id.into(),
            username,
            seq,
        })
        .collect())
}

/// One room of a person's data export, with their membership of it.
#[derive(Debug, Clone)]
pub struct Belonging {
    pub room: Room,
    /// Their member row's role (`None` in `general`, which has no member rows).
    pub role: Option<RoomRole>,
    pub joined_at: Option<i64>,
    pub last_read_seq: i64,
    pub muted_until: Option<i64>,
    /// The other person of a direct room (none in their notes).
    pub peer: Option<String>,
}

/// Every room `user_id` belongs to (hidden direct rooms too), by id, with their membership:
/// the data export's rooms. Bounded by the per-user room limits.
pub async fn belongings(pool: &AnyPool, user_id: Uuid) -> anyhow::Result<Vec<Belonging>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        room: RoomRow,
        member_role: Option<String>,
        joined_at: Option<i64>,
        last_read_seq: i64,
        muted_until: Option<i64>,
        peer: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        ", m.role AS member_role, m.joined_at,
                COALESCE((SELECT k.last_read_seq FROM read_markers k
                          WHERE k.room_id = r.id AND k.user_id = $1), 0) AS last_read_seq,
                (SELECT u.until FROM room_mutes u
                 WHERE u.room_id = r.id AND u.user_id = $1) AS muted_until,
                (SELECT p.username_snapshot FROM room_members p
                 WHERE r.kind = 'direct' AND p.room_id = r.id AND p.user_id <> $1) AS peer
         FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $1
         WHERE r.is_general = 1 OR m.user_id IS NOT NULL
         ORDER BY r.id"
    ))
    .bind(UuidText(user_id))
    .fetch_all(pool)
    .await
    .context("listing a person's rooms for their export")?;
    Ok(rows
        .into_iter()
        .map(|row| Belonging {
            room: Room::from(row.room),
            role: row.member_role.as_deref().map(RoomRole::from_stored),
            joined_at: row.joined_at,
            last_read_seq: row.last_read_seq,
            muted_until: row.muted_until,
            peer: row.peer,
        })
        .collect())
}
