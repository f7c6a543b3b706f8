//! `/notification-settings`: the caller's notification preferences, and per-room overrides
//! (docs/architecture.md, "Notifications").

use actix_web::{HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use tokens::actix::AuthUser;

use super::{JsonObject, take};
use crate::domain::notifications::Level;
use crate::error::ApiResult;
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::store::notifications::{RoomSettings, UserSettings};

/// A room override.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoomNotificationSettings {
    room_id: i64,
    /// The room's level, over the caller's own; null: the caller's own.
    level: Option<Level>,
    /// Pushes for this room are silenced until then; null (or a past time): not muted.
    #[schema(format = DateTime)]
    muted_until: Option<String>,
}

impl From<&RoomSettings> for RoomNotificationSettings {
    fn from(s: &RoomSettings) -> Self {
        Self {
            room_id: s.room_id,
            level: s.level,
            muted_until: s.muted_until.map(store_kit::rfc3339),
        }
    }
}

/// The caller's notification preferences.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotificationSettings {
    /// `all`: every message of the caller's group and direct rooms (general only through
    /// mentions); `mentions`: direct messages and mentions, `@room` included; `none`.
    level: Level,
    /// Every push is silenced until then; null (or a past time): not muted.
    #[schema(format = DateTime)]
    muted_until: Option<String>,
    /// Unread direct messages and mentions are mailed as a digest after a while away.
    email_digest: bool,
    /// The caller's overrides, for rooms they can still read.
    rooms: Vec<RoomNotificationSettings>,
}

impl NotificationSettings {
    fn of((user, rooms): &(UserSettings, Vec<RoomSettings>)) -> Self {
        Self {
            level: user.level,
            muted_until: user.muted_until.map(store_kit::rfc3339),
            email_digest: user.email_digest,
            rooms: rooms.iter().map(RoomNotificationSettings::from).collect(),
        }
    }
}

/// Every field is required (`mutedUntil` and a room's `level` may be null).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", try_from = "JsonObject")]
pub(crate) struct PutNotificationSettings {
    level: Level,
    /// null: not muted; a past time is accepted and means not muted.
    #[schema(format = DateTime, required = true)]
    muted_until: Option<String>,
    email_digest: bool,
}

impl TryFrom<JsonObject> for PutNotificationSettings {
    type Error = String;

    fn try_from(mut body: JsonObject) -> Result<Self, String> {
        Ok(Self {
            level: take(&mut body, "level")?,
            muted_until: take(&mut body, "mutedUntil")?,
            email_digest: take(&mut body, "emailDigest")?,
        })
    }
}

/// Both fields are required; both null removes the override.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", try_from = "JsonObject")]
pub(crate) struct PutRoomNotificationSettings {
    /// null: the caller's own level.
    #[schema(required = true)]
    level: Option<Level>,
    /// null: not muted.
    #[schema(format = DateTime, required = true)]
    muted_until: Option<String>,
}

impl TryFrom<JsonObject> for PutRoomNotificationSettings {
    type Error = String;

    fn try_from(mut body: JsonObject) -> Result<Self, String> {
        Ok(Self {
            level: take(&mut body, "level")?,
            muted_until: take(&mut body, "mutedUntil")?,
        })
    }
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "The caller's preferences (the defaults when they set none: mentions, not muted, digest on) and their room overrides", body = NotificationSettings)))]
#[get("/notification-settings")]
pub(crate) async fn get(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let settings = ops::notifications::get(&state, &Caller::from(&user)).await?;
    Ok(HttpResponse::Ok().json(NotificationSettings::of(&settings)))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = PutNotificationSettings,
    responses((status = 200, description = "Stored; the caller's preferences as GET answers them", body = NotificationSettings),
              (status = 400, description = "invalid_body: a field missing or of the wrong type, or an unknown level; validation_failed: mutedUntil not an RFC 3339 date-time", body = service_kit::openapi::ProblemDoc)))]
#[put("/notification-settings")]
pub(crate) async fn put(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<PutNotificationSettings>,
) -> ApiResult<HttpResponse> {
    let settings = ops::notifications::put(
        &state,
        &Caller::from(&user),
        body.level,
        body.muted_until.as_deref(),
        body.email_digest,
    )
    .await?;
    Ok(HttpResponse::Ok().json(NotificationSettings::of(&settings)))
}

#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(("roomId" = i64, Path)),
    request_body = PutRoomNotificationSettings,
    responses((status = 200, description = "Stored (both null: the override is removed); the room's entry", body = RoomNotificationSettings),
              (status = 400, description = "invalid_body: a field missing or of the wrong type, or an unknown level; validation_failed: mutedUntil not an RFC 3339 date-time", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "room_not_found: no such room, or the caller cannot read it", body = service_kit::openapi::ProblemDoc)))]
#[put("/notification-settings/rooms/{roomId}")]
pub(crate) async fn put_room(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: web::Json<PutRoomNotificationSettings>,
) -> ApiResult<HttpResponse> {
    let settings = ops::notifications::put_room(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        body.level,
        body.muted_until.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(RoomNotificationSettings::from(&settings)))
}
