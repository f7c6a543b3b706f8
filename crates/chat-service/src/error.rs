//! The errors chat-service handlers return, and their one mapping to problem+json.
//! Unexpected errors are logged with their cause chain and answered with a generic 500. The
//! relay turns these problems into WebSocket `error` frames, keeping `code`.

use service_kit::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("room not found")]
    RoomNotFound,
    #[error("message not found")]
    MessageNotFound,
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
    /// An action of a relay's batch whose answer would not fit in the batch's byte budget.
    #[error("batch answer full")]
    Busy,
    #[error("auth-service unavailable")]
    AuthUnavailable,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &'static str, message: &'static str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn problem(&self) -> Problem {
        match self {
            ApiError::Validation(errors) => Problem::validation(errors.clone()),
            ApiError::RoomNotFound => Problem::not_found(
                "room_not_found",
                "no such room, or you are not a member of it",
            ),
            ApiError::MessageNotFound => Problem::not_found("message_not_found", "no such message"),
            ApiError::UserNotFound => Problem::not_found("user_not_found", "no user has that name"),
            ApiError::MemberNotFound => {
                Problem::not_found("member_not_found", "that user is not a member of this room")
            }
            ApiError::NotRoomOwner => {
                Problem::forbidden("not_room_owner", "only the room's owner may do this")
            }
            ApiError::NotAuthor => Problem::forbidden(
                "not_message_author",
                "only the message's author may do this",
            ),
            ApiError::GeneralRoom => Problem::forbidden(
                "general_room",
                "the general room belongs to everyone: it has no members to manage and cannot be deleted",
            ),
            ApiError::RoomNameTaken => {
                Problem::conflict("room_name_taken", "a room with that name already exists")
                    .with_errors(vec![FieldError::new("name", "is already taken")])
            }
            ApiError::AlreadyMember => Problem::conflict(
                "already_member",
                "that user is already a member of this room",
            ),
            ApiError::InvalidTicket => Problem::unauthorized(
                "invalid_ticket",
                "the WebSocket ticket is unknown, expired or already used; get a new one from POST /ws-tickets",
            ),
            ApiError::UnknownAction(action) => {
                Problem::not_found("unknown_action", format!("unknown action {action:?}"))
            }
            ApiError::RateLimited(secs) => Problem::rate_limited(*secs),
            ApiError::TooManyRoomsOwned(max) => Problem::forbidden(
                "too_many_rooms_owned",
                format!("you already own {max} rooms, the most one user may own; delete one first"),
            ),
            ApiError::RoomFull(max) => Problem::forbidden(
                "room_full",
                format!("this room already has {max} members, the most a room may have"),
            ),
            ApiError::TooManyRooms(max) => Problem::forbidden(
                "too_many_rooms",
                format!("already a member of {max} rooms, the most one user may belong to"),
            ),
            ApiError::Busy => Problem::unavailable(
                "busy",
                "the chat service has answered as much as it may in one go; retry shortly",
            ),
            ApiError::AuthUnavailable => Problem::unavailable(
                "auth_unavailable",
                "auth-service cannot be reached to look up the user; retry shortly",
            ),
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
