//! Reports (docs/architecture.md, "Moderation"): anyone reports a message they can read; the
//! room's moderators (staff for `general` and direct rooms) see a queue and resolve each
//! reported message once — dismissed, deleted, its author muted or suspended — every open
//! report of it alike, recorded in the audit log with the action's own row.

use service_kit::ratelimit::Quota;
use wire::moderation::{Role, SuspensionRequest};

use super::{Actor, Caller, Outcome, rate_limit, to_room, visible_room};
use crate::domain::moderation::{self as input, ReportStatus, Resolution};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::audit::{self, NewEntry};
use crate::store::messages::{self, Change};
use crate::store::moderation as moderation_store;
use crate::store::reports::{self, CreateError, NewReport, Report, Scope};
use crate::store::rooms::{self, RoomKind};
use crate::store::users;
use crate::views::frames;

/// Reports `message_id` (a message the caller can read, not theirs, not deleted), within
/// `CHAT_REPORTS_PER_HOUR`. One open report per message and reporter.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    message_id: i64,
    reason: &str,
) -> ApiResult<Report> {
    let reason = input::report_reason(reason).map_err(|e| ApiError::Validation(vec![e]))?;
    let message = messages::get(&state.db.pool, message_id)
        .await?
        .ok_or(ApiError::MessageNotFound)?;
    visible_room(state, caller, message.room_id)
        .await
        .map_err(|_| ApiError::MessageNotFound)?;
    if message.deleted_at.is_some() {
        return Err(ApiError::MessageNotFound);
    }
    if message.user_id == caller.id {
        return Err(ApiError::CannotTargetSelf);
    }
    let per_hour = Quota::per_hour(state.settings.limits.reports_per_hour);
    rate_limit(state, &format!("report:{}", caller.id), per_hour).await?;
    let report = reports::create(
        &state.db.pool,
        &NewReport {
            message_id: message.id,
            room_id: message.room_id,
            reporter_id: caller.id,
            reporter_name: &caller.username,
            author_id: message.user_id,
            author_name: &message.username,
            content: &message.content,
            reason: &reason,
            now: store_kit::now_ms(),
        },
    )
    .await
    .map_err(|e| match e {
        CreateError::AlreadyReported => ApiError::AlreadyReported,
        CreateError::Unexpected(e) => ApiError::Unexpected(e),
    })?;
    tracing::info!(report_id = report.id, message_id, by = %caller.id, "message reported");
    Ok(report)
}

/// What a queue asks, as the route received it.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub status: Option<&'a str>,
    pub room_id: Option<i64>,
    pub limit: Option<i64>,
    pub cursor: Option<&'a str>,
}

/// A page of a queue, and where the next one starts.
pub struct Page {
    pub reports: Vec<Report>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A report queue, newest first: staff see every report, the owners and moderators of group
/// rooms those of their rooms; with `roomId`, the caller must moderate that room.
pub async fn list(state: &AppState, caller: &Caller, query: Query<'_>) -> ApiResult<Page> {
    let status = ReportStatus::parse(query.status);
    let limit = input::admin_limit(query.limit);
    let (status, limit) = match (status, limit) {
        (Ok(s), Ok(l)) => (s, l),
        (s, l) => {
            return Err(ApiError::Validation(
                [s.err(), l.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let before = query
        .cursor
        .map(|c| c.parse::<i64>().ok().filter(|id| *id > 0))
        .map(|c| c.ok_or(ApiError::InvalidCursor))
        .transpose()?;
    let staff = super::moderation::staff(state, caller).await?;
    if !staff {
        let moderates = match query.room_id {
            Some(room) => match super::moderation::authority(state, caller, room).await {
                Ok(authority) => authority.moderates(),
                Err(ApiError::RoomNotFound) => false,
                Err(other) => return Err(other),
            },
            None => moderation_store::moderates_any_room(&state.db.pool, caller.id).await?,
        };
        if !moderates {
            return Err(ApiError::ModeratorRequired);
        }
    }
    let scope = if staff {
        Scope::All
    } else {
        Scope::ModeratedBy(caller.id)
    };
    let mut found = reports::page(
        &state.db.pool,
        scope,
        status,
        query.room_id,
        before,
        limit + 1,
    )
    .await?;
    let has_more = found.len() as i64 > limit;
    found.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = found.last().filter(|_| has_more).map(|r| r.id.to_string());
    Ok(Page {
        reports: found,
        next_cursor,
        has_more,
    })
}

/// What a resolution asks, as the route received it.
#[derive(Debug, Clone, Default)]
pub struct Resolve<'a> {
    pub action: &'a str,
    pub note: Option<&'a str>,
    pub duration_seconds: Option<i64>,
    pub hide_messages: Option<bool>,
}

/// Resolves a report, and every other open report of its message alike, by `action`: the
/// caller must moderate the report's room (staff for `general` and direct rooms); `suspend`
/// needs an admin and goes through auth-service first (down: 503, the report stays open).
pub async fn resolve(
    state: &AppState,
    actor: &Actor,
    report_id: i64,
    how: Resolve<'_>,
    request_id: &str,
) -> ApiResult<Outcome<Report>> {
    let caller = &actor.caller;
    let resolution = Resolution::parse(how.action);
    let note = input::optional_text("note", how.note, input::MAX_REPORT_CHARS);
    let (resolution, note) = match (resolution, note) {
        (Ok(r), Ok(n)) => (r, n),
        (r, n) => {
            return Err(ApiError::Validation(
                [r.err(), n.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let limits = &state.settings.limits;
    let mute_seconds = match resolution {
        Resolution::Mute => Some(
            input::mute_seconds(
                how.duration_seconds,
                limits.min_mute_seconds,
                limits.max_mute_seconds,
            )
            .map_err(|e| ApiError::Validation(vec![e]))?,
        ),
        _ => None,
    };
    let report = reports::get(&state.db.pool, report_id)
        .await?
        .ok_or(ApiError::ReportNotFound)?;
    let (room, role) = rooms::membership(&state.db.pool, report.room_id, caller.id)
        .await?
        .ok_or(ApiError::ReportNotFound)?;
    let instance_role = super::moderation::role(state, caller).await?;
    let staff = instance_role.is_staff();
    if !super::moderation::may_moderate(&room, caller.id, role, staff) && !staff {
        return Err(ApiError::ModeratorRequired);
    }
    if report.status == ReportStatus::Resolved {
        return Err(ApiError::ReportResolved);
    }
    let now = store_kit::now_ms();
    users::remember(&state.db.pool, caller.id, &caller.username, now).await?;
    let author = (report.author_id, report.author_name.as_str());
    // What the action needs before its transaction.
    let mut mute_target = None;
    match resolution {
        Resolution::Suspend => {
            if instance_role != Role::Admin {
                return Err(ApiError::AdminRequired);
            }
            let until = how
                .duration_seconds
                .map(|s| {
                    if s < 1 {
                        return Err(ApiError::field("durationSeconds", "must be at least 1"));
                    }
                    Ok(store_kit::rfc3339(
                        now.saturating_add(s.saturating_mul(1000)),
                    ))
                })
                .transpose()?;
            let reason = note.clone().unwrap_or_else(|| {
                format!("report #{}: {}", report.id, report.reason)
                    .chars()
                    .take(input::MAX_REASON_CHARS)
                    .collect()
            });
            let request = SuspensionRequest {
                actor_id: caller.id,
                actor_name: caller.username.clone(),
                ip: actor.ip.clone(),
                reason,
                until,
                hide_messages: how.hide_messages,
            };
            state
                .auth
                .suspend(report.author_id, &request, request_id)
                .await?;
            tracing::info!(user = %report.author_id, by = %caller.id, report_id, "user suspended from a report");
        }
        Resolution::Mute => {
            if room.kind == RoomKind::Direct {
                return Err(ApiError::DirectRoom);
            }
            let authority = super::moderation::authority(state, caller, room.id).await?;
            let name =
                match super::moderation::mute_target(state, &authority, report.author_id).await {
                    // In general, an author chat-service never met by name: the report names them.
                    Err(ApiError::UserNotFound) => report.author_name.clone(),
                    other => other?,
                };
            mute_target = Some(name);
        }
        Resolution::Dismiss | Resolution::DeleteMessage => {}
    }
    let message = match resolution {
        Resolution::DeleteMessage => messages::get(&state.db.pool, report.message_id).await?,
        _ => None,
    };
    let mut tx = state.db.pool.begin().await.map_err(anyhow::Error::from)?;
    let mut deliveries = Vec::new();
    // A message deleted already (by its author, say) is only resolved.
    if let Some(message) = &message
        && let Some(deleted) = messages::change_in(&mut tx, message, Change::Delete, now).await?
    {
        let entry = NewEntry {
            target: Some(author),
            room_id: Some(room.id),
            message_id: Some(message.id),
            reason: note.as_deref(),
            ..NewEntry::new(actor.audit(), "message.delete")
        };
        audit::append(&mut tx, &entry, now).await?;
        deliveries.push(to_room(room.id, frames::message_deleted(&deleted, true)));
    }
    if let (Some(name), Some(seconds)) = (&mute_target, mute_seconds) {
        let mute = super::moderation::mute_in(
            &mut tx,
            actor,
            &room,
            (report.author_id, name),
            seconds,
            note.as_deref(),
            now,
        )
        .await?;
        deliveries.push(to_room(
            room.id,
            frames::member_muted(room.id, report.author_id, mute.until),
        ));
    }
    let resolved = reports::resolve(
        &mut tx,
        &reports::Resolve {
            message_id: report.message_id,
            resolution,
            note: note.as_deref(),
            by: caller.id,
            now,
        },
    )
    .await?;
    if !resolved.contains(&report.id) {
        // Resolved by someone else meanwhile: nothing of this one happens.
        return Err(ApiError::ReportResolved);
    }
    let entry = NewEntry {
        target: Some(author),
        room_id: Some(room.id),
        message_id: Some(report.message_id),
        reason: note.as_deref(),
        details: Some(serde_json::json!({
            "reportIds": resolved,
            "resolution": resolution.as_str(),
        })),
        ..NewEntry::new(actor.audit(), "report.resolve")
    };
    audit::append(&mut tx, &entry, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    tracing::info!(report_id, resolution = resolution.as_str(), reports = resolved.len(), by = %caller.id, "reports resolved");
    let report = reports::get(&state.db.pool, report_id)
        .await?
        .ok_or(ApiError::ReportNotFound)?;
    Ok(Outcome::delivering(report, deliveries))
}
