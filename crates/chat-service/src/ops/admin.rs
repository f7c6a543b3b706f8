//! The admin pages' reads (staff only, docs/architecture.md, "Moderation"): the audit log —
//! chat-service's merged with auth-service's — and the instance's figures.

use std::time::Duration;

use serde::Serialize;
use service_kit::FieldError;
use uuid::Uuid;
use wire::moderation::AuditEntry;

use super::Caller;
use crate::auth_client::AuditQuery;
use crate::domain::moderation::{self as input, AuditCursor};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::audit::{self, Filter};
use crate::store::reports;

/// What an audit page asks, as the route received it.
#[derive(Debug, Clone, Default)]
pub struct AuditRequest<'a> {
    pub actor_id: Option<&'a str>,
    pub target_user_id: Option<&'a str>,
    pub action: Option<&'a str>,
    /// RFC 3339: entries at or after it.
    pub since: Option<&'a str>,
    /// RFC 3339: entries before it.
    pub until: Option<&'a str>,
    pub limit: Option<i64>,
    pub cursor: Option<&'a str>,
}

/// A page of the merged audit log.
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

fn user_param(
    field: &'static str,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<Uuid> {
    let raw = raw?;
    let id = Uuid::parse_str(raw).ok();
    if id.is_none() {
        errors.push(FieldError::new(field, "must be a user id (a UUID)"));
    }
    id
}

fn time_param(field: &'static str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<i64> {
    let raw = raw?;
    let at = store_kit::parse_rfc3339(raw);
    if at.is_none() {
        errors.push(FieldError::new(field, "must be an RFC 3339 date-time"));
    }
    at
}

/// Where an entry stands in the log's order: newest first by `(at, id)`.
fn place(entry: &AuditEntry) -> AuditCursor {
    AuditCursor {
        at: store_kit::parse_rfc3339(&entry.at).unwrap_or(0),
        id: entry.id,
    }
}

/// A page of the audit log, newest first: chat-service's entries and auth-service's, each
/// asked for one more than the page before the cursor and merged by `(at, id)`. auth-service
/// unreachable is 503 `auth_unavailable` — never a page with half the log.
pub async fn audit(
    state: &AppState,
    caller: &Caller,
    req: AuditRequest<'_>,
    request_id: &str,
) -> ApiResult<AuditPage> {
    let mut errors = Vec::new();
    let actor_id = user_param("actorId", req.actor_id, &mut errors);
    let target_user_id = user_param("targetUserId", req.target_user_id, &mut errors);
    let since = time_param("since", req.since, &mut errors);
    let until = time_param("until", req.until, &mut errors);
    let action = req.action.map(str::trim).filter(|a| !a.is_empty());
    if action.is_some_and(|a| a.chars().count() > input::MAX_ACTION_CHARS) {
        errors.push(FieldError::new("action", "must be at most 64 characters"));
    }
    let limit = input::admin_limit(req.limit)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(limit), true) = (limit, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let before = req
        .cursor
        .map(|c| AuditCursor::parse(c).ok_or(ApiError::InvalidCursor))
        .transpose()?;
    super::moderation::require_staff(state, caller).await?;
    let filter = Filter {
        actor_id,
        target_user_id,
        action: action.map(str::to_owned),
        since,
        until,
    };
    let asked = limit + 1;
    let theirs = AuditQuery {
        limit: usize::try_from(asked).unwrap_or(0),
        before,
        actor_id,
        target_user_id,
        action: filter.action.clone(),
        since,
        until,
    };
    let (ours, theirs) = futures_util::future::join(
        audit::page(&state.db.pool, &filter, before, asked),
        state.auth.audit(&theirs, request_id),
    )
    .await;
    Ok(merge(ours?, theirs?, usize::try_from(limit).unwrap_or(0)))
}

/// The page of `limit` entries the two logs give together (each holds up to `limit + 1`
/// entries before the cursor, newest first): merged by `(at, id)`, newest first, with the
/// cursor of the last one when more follow.
fn merge(ours: Vec<AuditEntry>, theirs: Vec<AuditEntry>, limit: usize) -> AuditPage {
    let mut entries = ours;
    entries.extend(theirs);
    entries.sort_by_key(|e| std::cmp::Reverse(place(e)));
    let has_more = entries.len() > limit;
    entries.truncate(limit);
    let next_cursor = entries
        .last()
        .filter(|_| has_more)
        .map(|e| place(e).to_string());
    AuditPage {
        entries,
        next_cursor,
        has_more,
    }
}

/// `GET /admin/stats`: the instance's figures. A part whose service does not answer is null.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminStats {
    /// Accounts (auth-service).
    pub users: Option<i64>,
    /// Accounts whose suspension is in force (auth-service).
    pub suspended_users: Option<i64>,
    pub admins: Option<i64>,
    pub moderators: Option<i64>,
    /// Group rooms.
    pub rooms: i64,
    pub direct_rooms: i64,
    /// Messages not deleted.
    pub messages: i64,
    /// Messages sent in the last 24 hours.
    pub messages_last24h: i64,
    pub open_reports: i64,
    /// Users with a socket open (a relay).
    pub online_users: Option<u64>,
    /// Sockets open on every relay.
    pub connections: Option<u64>,
}

/// The instance's figures: chat-service's own, auth-service's and a relay's, asked at once.
pub async fn stats(state: &AppState, caller: &Caller, request_id: &str) -> ApiResult<AdminStats> {
    super::moderation::require_staff(state, caller).await?;
    let day = i64::try_from(Duration::from_secs(24 * 3600).as_millis()).unwrap_or(i64::MAX);
    let since = store_kit::now_ms().saturating_sub(day);
    let (ours, users, relay) = futures_util::future::join3(
        reports::figures(&state.db.pool, since),
        state.auth.stats(request_id),
        state.relay.stats(request_id),
    )
    .await;
    let ours = ours?;
    let users = users.ok();
    let relay = relay
        .map_err(|e| tracing::warn!(error = %e, "GET /admin/stats: no relay answered"))
        .ok();
    Ok(AdminStats {
        users: users.map(|u| u.users),
        suspended_users: users.map(|u| u.suspended_users),
        admins: users.map(|u| u.admins),
        moderators: users.map(|u| u.moderators),
        rooms: ours.rooms,
        direct_rooms: ours.direct_rooms,
        messages: ours.messages,
        messages_last24h: ours.messages_since,
        open_reports: ours.open_reports,
        online_users: relay.map(|r| r.online_users),
        connections: relay.map(|r| r.connections),
    })
}

#[cfg(test)]
mod tests {
    use wire::moderation::{AuditActor, AuditSource};

    use super::*;

    fn entry(at: i64, id: u128, source: AuditSource) -> AuditEntry {
        AuditEntry {
            id: Uuid::from_u128(id),
            at: store_kit::rfc3339(at),
            actor: AuditActor {
                id: None,
                name: "x".to_owned(),
            },
            action: "member.mute".to_owned(),
            target: None,
            room_id: None,
            message_id: None,
            reason: None,
            details: None,
            ip: None,
            source,
        }
    }

    #[test]
    fn two_logs_merge_newest_first_and_page_by_at_and_id() {
        let ours: Vec<AuditEntry> = [(5_000, 1), (3_000, 2), (1_000, 3)]
            .into_iter()
            .map(|(at, id)| entry(at, id, AuditSource::Chat))
            .collect();
        let theirs: Vec<AuditEntry> = [(4_000, 4), (3_000, 5), (2_000, 6)]
            .into_iter()
            .map(|(at, id)| entry(at, id, AuditSource::Auth))
            .collect();
        let page = merge(ours.clone(), theirs.clone(), 4);
        let ats: Vec<i64> = page.entries.iter().map(|e| place(e).at).collect();
        assert_eq!(ats, [5_000, 4_000, 3_000, 3_000]);
        assert!(page.has_more);
        // The two entries at 3 000 come by id, the higher first.
        assert_eq!(page.entries[2].id, theirs[1].id);
        let cursor = page.next_cursor.and_then(|c| AuditCursor::parse(&c));
        assert_eq!(cursor, Some(place(&ours[1])));
        let last = merge(vec![ours[2].clone()], vec![theirs[2].clone()], 4);
        assert!(!last.has_more);
        assert_eq!(last.next_cursor, None);
        assert_eq!(last.entries.len(), 2);
    }
}
