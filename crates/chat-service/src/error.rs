//! The errors chat-service handlers return, and their one mapping to problem+json.
//! Unexpected errors are logged with their cause chain and answered with a generic 500. The
//! relay turns these problems into WebSocket `error` frames, keeping `code`.

use service_kit::{FieldError, Problem};
use wire::{ActionProblem, ErrorCode, FieldProblem};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("room not found")]
    RoomNotFound,
    #[error("message not found")]
    MessageNotFound,
    /// `replyToId` names no live message of the room (code `message_not_found`).
    #[error("replied-to message not found")]
    ReplyTargetNotFound,
    #[error("user not found")]
    UserNotFound,
    #[error("member not found")]
    MemberNotFound,
    #[error("not the room owner")]
    NotRoomOwner,
    #[error("not the author")]
    NotAuthor,
    #[error("general room")]
    GeneralRoom,
    #[error("room name taken")]
    RoomNameTaken,
    #[error("already a member")]
    AlreadyMember,
    #[error("invalid ticket")]
    InvalidTicket,
    /// A write (or a socket) by an account whose token carries `unverified`.
    #[error("e-mail unverified")]
    EmailUnverified,
    #[error("unknown action")]
    UnknownAction(String),
    #[error("rate limited")]
    RateLimited(u64),
    #[error("too many rooms owned")]
    TooManyRoomsOwned(u32),
    #[error("room full")]
    RoomFull(u32),
    /// The user to be added (or the creator of a new room) is in too many rooms already.
    #[error("the user is in too many rooms")]
    TooManyRooms(u32),
    /// A new emoji on a message that has as many distinct ones as it may.
    #[error("too many reactions")]
    TooManyReactions(u32),
    /// Members cannot be added to or removed from a direct room, nor can it be deleted.
    #[error("direct room")]
    DirectRoom,
    /// Only direct rooms can be hidden.
    #[error("not a direct room")]
    NotDirectRoom,
    /// `@room` by someone other than the room's owner, or in `general`.
    #[error("room mention forbidden")]
    RoomMentionForbidden,
    /// More distinct `@username`s than a message may carry, or `@room` in too big a room.
    #[error("too many mentions")]
    TooManyMentions(String),
    /// An action of a relay's batch whose answer would not fit in the batch's byte budget.
    #[error("batch answer full")]
    Busy,
    #[error("auth-service unavailable")]
    AuthUnavailable,
    /// No relay answered (`GET /presence`).
    #[error("no relay answered")]
    RelayUnavailable,
    /// No such file, or one the caller may not see.
    #[error("file not found")]
    FileNotFound,
    /// `attachmentIds` names an upload the sender may not attach (not theirs, on a message
    /// already, deleted, or unknown).
    #[error("attachment not found")]
    AttachmentNotFound,
    /// An upload over `UPLOAD_MAX_BYTES` (the limit).
    #[error("upload too large")]
    UploadTooLarge(u64),
    /// The uploader's live files would pass `UPLOAD_QUOTA_BYTES`.
    #[error("upload quota exceeded")]
    UploadQuotaExceeded { used: u64, quota: u64 },
    /// An upload with no body or a body we cannot read as one file.
    #[error("unsupported upload body")]
    UnsupportedMediaType(String),
    /// Object storage failed (the cause is logged).
    #[error("storage unavailable")]
    StorageUnavailable(anyhow::Error),
    /// `PUSH_ENABLED=false`.
    #[error("push disabled")]
    PushDisabled,
    /// A subscription endpoint that is not https on a public host (the reason).
    #[error("push endpoint refused")]
    PushEndpointRefused(&'static str),
    #[error("push subscription not found")]
    PushSubscriptionNotFound,
    /// An unsubscribe link whose signature is not ours (`/notifications/unsubscribe`).
    #[error("invalid unsubscribe link")]
    InvalidUnsubscribeLink,
    /// A `cursor` that is not a `nextCursor` of an earlier page.
    #[error("invalid cursor")]
    InvalidCursor,
    /// Only instance moderators and admins (`GET /admin/*`).
    #[error("staff required")]
    StaffRequired,
    /// Only instance admins (a report resolved by suspension).
    #[error("admin required")]
    AdminRequired,
    /// Only who moderates the room, and only over whom they may (docs/architecture.md,
    /// "Moderation").
    #[error("moderator required")]
    ModeratorRequired,
    /// A moderation action (or a block, or a report) aimed at oneself.
    #[error("cannot target self")]
    CannotTargetSelf,
    /// auth-service refused to suspend an admin.
    #[error("target is an admin")]
    TargetIsAdmin,
    /// The sender is muted in the room until this time (Unix ms).
    #[error("muted")]
    Muted(i64),
    /// One of the two people of a direct room blocked the other.
    #[error("blocked")]
    Blocked,
    /// Past `CHAT_MAX_BLOCKS` (the limit).
    #[error("too many blocks")]
    TooManyBlocks(u32),
    /// The caller has an open report of this message already.
    #[error("already reported")]
    AlreadyReported,
    #[error("report resolved")]
    ReportResolved,
    #[error("report not found")]
    ReportNotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &'static str, message: &'static str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// A failure of object storage: logged here, with what to check, and answered 503.
    pub fn storage(err: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{err:#}"), "file storage failed; check that the store (STORAGE_URL) is up and the credentials are right");
        ApiError::StorageUnavailable(err)
    }

    /// The error's stable code (also the `code` of the relay's `error` frame).
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Validation(_) => ErrorCode::ValidationFailed,
            ApiError::RoomNotFound => ErrorCode::RoomNotFound,
            ApiError::MessageNotFound | ApiError::ReplyTargetNotFound => ErrorCode::MessageNotFound,
            ApiError::UserNotFound => ErrorCode::UserNotFound,
            ApiError::MemberNotFound => ErrorCode::MemberNotFound,
            ApiError::NotRoomOwner => ErrorCode::NotRoomOwner,
            ApiError::NotAuthor => ErrorCode::NotMessageAuthor,
            ApiError::GeneralRoom => ErrorCode::GeneralRoom,
            ApiError::RoomNameTaken => ErrorCode::RoomNameTaken,
            ApiError::AlreadyMember => ErrorCode::AlreadyMember,
            ApiError::InvalidTicket => ErrorCode::InvalidTicket,
            ApiError::EmailUnverified => ErrorCode::EmailUnverified,
            ApiError::UnknownAction(_) => ErrorCode::UnknownAction,
            ApiError::RateLimited(_) => ErrorCode::RateLimited,
            ApiError::TooManyRoomsOwned(_) => ErrorCode::TooManyRoomsOwned,
            ApiError::RoomFull(_) => ErrorCode::RoomFull,
            ApiError::TooManyRooms(_) => ErrorCode::TooManyRooms,
            ApiError::TooManyReactions(_) => ErrorCode::TooManyReactions,
            ApiError::DirectRoom => ErrorCode::DirectRoom,
            ApiError::NotDirectRoom => ErrorCode::NotDirectRoom,
            ApiError::RoomMentionForbidden => ErrorCode::RoomMentionForbidden,
            ApiError::TooManyMentions(_) => ErrorCode::TooManyMentions,
            ApiError::Busy => ErrorCode::Busy,
            ApiError::AuthUnavailable => ErrorCode::AuthUnavailable,
            ApiError::RelayUnavailable => ErrorCode::RelayUnavailable,
            ApiError::FileNotFound => ErrorCode::FileNotFound,
            ApiError::AttachmentNotFound => ErrorCode::AttachmentNotFound,
            ApiError::UploadTooLarge(_) => ErrorCode::UploadTooLarge,
            ApiError::UploadQuotaExceeded { .. } => ErrorCode::UploadQuotaExceeded,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::StorageUnavailable(_) => ErrorCode::StorageUnavailable,
            ApiError::PushDisabled => ErrorCode::PushDisabled,
            ApiError::PushEndpointRefused(_) => ErrorCode::PushEndpointRefused,
            ApiError::PushSubscriptionNotFound => ErrorCode::PushSubscriptionNotFound,
            ApiError::InvalidUnsubscribeLink => ErrorCode::InvalidUnsubscribeLink,
            ApiError::InvalidCursor => ErrorCode::InvalidCursor,
            ApiError::StaffRequired => ErrorCode::StaffRequired,
            ApiError::AdminRequired => ErrorCode::AdminRequired,
            ApiError::ModeratorRequired => ErrorCode::ModeratorRequired,
            ApiError::CannotTargetSelf => ErrorCode::CannotTargetSelf,
            ApiError::TargetIsAdmin => ErrorCode::TargetIsAdmin,
            ApiError::Muted(_) => ErrorCode::Muted,
            ApiError::Blocked => ErrorCode::Blocked,
            ApiError::TooManyBlocks(_) => ErrorCode::TooManyBlocks,
            ApiError::AlreadyReported => ErrorCode::AlreadyReported,
            ApiError::ReportResolved => ErrorCode::ReportResolved,
            ApiError::ReportNotFound => ErrorCode::ReportNotFound,
            ApiError::Unexpected(_) => ErrorCode::InternalError,
        }
    }

    /// The problem as a relay's batch answer carries it.
    pub fn action_problem(&self) -> ActionProblem {
        let problem = self.problem();
        ActionProblem {
            status: problem.status().as_u16(),
            code: self.code(),
            title: None,
            detail: problem.detail().map(str::to_owned),
            errors: problem
                .errors()
                .iter()
                .map(|e| FieldProblem {
                    field: e.field.to_string(),
                    message: e.message.to_string(),
                })
                .collect(),
        }
    }

    pub fn problem(&self) -> Problem {
        match self {
            ApiError::Validation(errors) => Problem::validation(errors.clone()),
            ApiError::RoomNotFound => Problem::not_found(
                self.code().as_str(),
                "no such room, or you are not a member of it",
            ),
            ApiError::MessageNotFound => {
                Problem::not_found(self.code().as_str(), "no such message")
            }
            ApiError::ReplyTargetNotFound => Problem::not_found(
                self.code().as_str(),
                "replyToId: no such message in this room (it may have been deleted)",
            ),
            ApiError::UserNotFound => {
                Problem::not_found(self.code().as_str(), "no user has that name")
            }
            ApiError::MemberNotFound => Problem::not_found(
                self.code().as_str(),
                "that user is not a member of this room",
            ),
            ApiError::NotRoomOwner => {
                Problem::forbidden(self.code().as_str(), "only the room's owner may do this")
            }
            ApiError::NotAuthor => Problem::forbidden(
                self.code().as_str(),
                "only the message's author may do this",
            ),
            ApiError::GeneralRoom => Problem::forbidden(
                self.code().as_str(),
                "the general room belongs to everyone: it has no members to manage and cannot be deleted",
            ),
            ApiError::RoomNameTaken => {
                Problem::conflict(self.code().as_str(), "a room with that name already exists")
                    .with_errors(vec![FieldError::new("name", "is already taken")])
            }
            ApiError::AlreadyMember => Problem::conflict(
                self.code().as_str(),
                "that user is already a member of this room",
            ),
            ApiError::InvalidTicket => Problem::unauthorized(
                self.code().as_str(),
                "the WebSocket ticket is unknown, expired or already used; get a new one from POST /ws-tickets",
            ),
            ApiError::EmailUnverified => Problem::forbidden(
                self.code().as_str(),
                "verify your e-mail address first: open the link we sent you, then refresh your token",
            ),
            ApiError::UnknownAction(action) => {
                Problem::not_found(self.code().as_str(), format!("unknown action {action:?}"))
            }
            ApiError::RateLimited(secs) => Problem::rate_limited(*secs),
            ApiError::TooManyRoomsOwned(max) => Problem::forbidden(
                self.code().as_str(),
                format!("you already own {max} rooms, the most one user may own; delete one first"),
            ),
            ApiError::RoomFull(max) => Problem::forbidden(
                self.code().as_str(),
                format!("this room already has {max} members, the most a room may have"),
            ),
            ApiError::TooManyRooms(max) => Problem::forbidden(
                self.code().as_str(),
                format!("already a member of {max} rooms, the most one user may belong to"),
            ),
            ApiError::TooManyReactions(max) => Problem::conflict(
                self.code().as_str(),
                format!(
                    "this message already has {max} different reactions, the most it may have; react with one of them"
                ),
            ),
            ApiError::DirectRoom => Problem::forbidden(
                self.code().as_str(),
                "a direct room belongs to its two people: nobody can be added, removed or leave, and it cannot be deleted; hide it instead (POST /rooms/{id}/hide)",
            ),
            ApiError::NotDirectRoom => Problem::forbidden(
                self.code().as_str(),
                "only direct rooms can be hidden; leave a group room instead",
            ),
            ApiError::RoomMentionForbidden => Problem::forbidden(
                self.code().as_str(),
                "only the room's owner may mention @room, and never in general; name the people instead",
            ),
            ApiError::TooManyMentions(detail) => Problem::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                self.code().as_str(),
                detail.clone(),
            ),
            ApiError::Busy => Problem::unavailable(
                self.code().as_str(),
                "the chat service has answered as much as it may in one go; retry shortly",
            ),
            ApiError::AuthUnavailable => Problem::unavailable(
                self.code().as_str(),
                "auth-service cannot be reached to look up the user; retry shortly",
            ),
            ApiError::RelayUnavailable => {
                Problem::unavailable(self.code().as_str(), "no relay answered; retry shortly")
            }
            ApiError::FileNotFound => Problem::not_found(
                self.code().as_str(),
                "no such file, or it is not in a room you are in",
            ),
            ApiError::AttachmentNotFound => Problem::not_found(
                self.code().as_str(),
                "attachmentIds: each must be one of your uploads (POST /uploads) that no message carries yet",
            )
            .with_errors(vec![FieldError::new(
                "attachmentIds",
                "must be your own uploads that no message carries yet",
            )]),
            ApiError::UploadTooLarge(max) => Problem::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                self.code().as_str(),
                format!("a file may be at most {max} bytes (UPLOAD_MAX_BYTES)"),
            ),
            ApiError::UploadQuotaExceeded { used, quota } => Problem::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                self.code().as_str(),
                format!(
                    "your files take {used} of the {quota} bytes you may keep (UPLOAD_QUOTA_BYTES); delete messages with files to make room"
                ),
            ),
            ApiError::UnsupportedMediaType(detail) => Problem::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                self.code().as_str(),
                detail.clone(),
            ),
            // The cause was logged where it happened ([`ApiError::storage`]).
            ApiError::StorageUnavailable(_) => Problem::unavailable(
                self.code().as_str(),
                "file storage is not answering; retry shortly",
            ),
            ApiError::PushDisabled => Problem::unavailable(
                self.code().as_str(),
                "Web Push is turned off on this server (PUSH_ENABLED=false)",
            ),
            ApiError::PushEndpointRefused(why) => Problem::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                self.code().as_str(),
                format!("endpoint: {why}"),
            )
            .with_errors(vec![FieldError::new("endpoint", *why)]),
            ApiError::PushSubscriptionNotFound => Problem::not_found(
                self.code().as_str(),
                "no such push subscription of yours",
            ),
            ApiError::InvalidUnsubscribeLink => Problem::forbidden(
                self.code().as_str(),
                "this unsubscribe link is not valid; use the newest one from a digest, or turn digests off in the app's settings",
            ),
            ApiError::InvalidCursor => Problem::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                self.code().as_str(),
                "cursor: send back the nextCursor of the previous page, unchanged",
            )
            .with_errors(vec![FieldError::new(
                "cursor",
                "must be a nextCursor from an earlier page",
            )]),
            ApiError::StaffRequired => Problem::forbidden(
                self.code().as_str(),
                "only instance moderators and admins may do this",
            ),
            ApiError::AdminRequired => {
                Problem::forbidden(self.code().as_str(), "only instance admins may do this")
            }
            ApiError::ModeratorRequired => Problem::forbidden(
                self.code().as_str(),
                "only the room's owner, its moderators and instance staff may do this, and a room moderator not to the owner, staff or another moderator",
            ),
            ApiError::CannotTargetSelf => {
                Problem::conflict(self.code().as_str(), "you cannot do this to yourself")
            }
            ApiError::TargetIsAdmin => {
                Problem::conflict(self.code().as_str(), "an admin cannot be suspended")
            }
            ApiError::Muted(until) => {
                let until = store_kit::rfc3339(*until);
                Problem::forbidden(
                    self.code().as_str(),
                    format!("you are muted in this room until {until}"),
                )
                .with_extension("until", serde_json::Value::String(until))
            }
            ApiError::Blocked => Problem::forbidden(
                self.code().as_str(),
                "one of you has blocked the other: no direct messages between you",
            ),
            ApiError::TooManyBlocks(max) => Problem::forbidden(
                self.code().as_str(),
                format!("you already block {max} users, the most one may (CHAT_MAX_BLOCKS); unblock one first"),
            ),
            ApiError::AlreadyReported => Problem::conflict(
                self.code().as_str(),
                "you have reported this message already; moderators will look at it",
            ),
            ApiError::ReportResolved => {
                Problem::conflict(self.code().as_str(), "this report is resolved already")
            }
            ApiError::ReportNotFound => {
                Problem::not_found(self.code().as_str(), "no such report")
            }
            ApiError::Unexpected(err) => Problem::from_unexpected(err),
        }
    }
}

service_kit::problem_response_error!(ApiError, ApiError::Unexpected);

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Unexpected(err.into())
    }
}

pub type ApiResult<T, E = ApiError> = Result<T, E>;
