//! Applying a publish to this relay's own connections, through the routing tables.

use bytestring::ByteString;
use uuid::Uuid;
use wire::protocol::PresenceView;
use wire::{Control, ServerFrame, Target};

use crate::hub::Hub;
use crate::protocol::{self, close};
use crate::socket::writer::CloseCommand;

/// Applies deliveries and control items to this relay's connections. Order: routing changes
/// (`subscribe`, `unsubscribe`) first, so that a member added in the same publish hears its
/// deliveries and a removed one does not (chat-service reaches them through a `{user}`
/// target); then deliveries; then `disconnectUser` and `disconnectSession`, so that a final
/// delivery still goes out before the close.
pub(super) fn apply(hub: &Hub, deliveries: &[(Target, ByteString)], control: &[Control]) {
    for item in control {
        match item {
            Control::Subscribe { user_id, room_id } => hub.subscribe(*user_id, *room_id),
            Control::Unsubscribe { user_id, room_id } => hub.unsubscribe(*user_id, *room_id),
            Control::DisconnectUser(_) | Control::DisconnectSession(_) => {}
        }
    }
    for (target, frame) in deliveries {
        hub.deliver(target, frame);
    }
    for item in control {
        match item {
            Control::DisconnectUser(user_id) => {
                for conn in hub.connections_of(*user_id) {
                    conn.closer
                        .close(CloseCommand::new(close::LOGGED_OUT, "logged out").flushing());
                }
            }
            Control::DisconnectSession(session_id) => close_session(hub, *session_id),
            Control::Subscribe { .. } | Control::Unsubscribe { .. } => {}
        }
    }
}

/// Sends each presence change, serialised once, to the local connections watching its user.
pub(super) fn apply_presence(hub: &Hub, changes: &[PresenceView]) {
    for change in changes {
        let frame = protocol::encode(&ServerFrame::Presence(change.clone()));
        hub.deliver_presence(change.user_id, &frame);
    }
}

/// Closes every local socket of a revoked session with 4003.
pub(crate) fn close_session(hub: &Hub, session_id: Uuid) {
    for conn in hub.connections_of_session(session_id) {
        if conn
            .closer
            .close(CloseCommand::new(close::LOGGED_OUT, "session revoked").flushing())
        {
            tracing::info!(connection_id = %conn.id, %session_id, "session revoked; closing with 4003");
        }
    }
}
