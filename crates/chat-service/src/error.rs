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
