//! JSON shapes shared by the Cloud Chat services and their HTTP clients: the internal
//! contracts of DESIGN.md section 5. Serde only; no framework types.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user as other services see it: `GET /internal/users/{id}`, `GET /users/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicUser {
    pub id: Uuid,
    pub username: String,
}

/// Where a relay delivers a payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    Room(i64),
    User(Uuid),
    Connection(String),
}

/// One payload for one target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub target: Target,
    pub payload: serde_json::Value,
}

/// Changes to a relay's routing tables that start outside a WebSocket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Control {
    Subscribe {
        #[serde(rename = "userId")]
        user_id: Uuid,
        #[serde(rename = "roomId")]
        room_id: i64,
    },
    Unsubscribe {
        #[serde(rename = "userId")]
        user_id: Uuid,
        #[serde(rename = "roomId")]
        room_id: i64,
    },
    DisconnectUser(Uuid),
}

/// `POST /internal/publish` on a relay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Publish {
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    #[serde(default)]
    pub control: Vec<Control>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn publish_matches_the_design_shapes() {
        let user = Uuid::nil();
        let publish = Publish {
            deliveries: vec![Delivery {
                target: Target::Room(5),
                payload: json!({"type": "roomDeleted", "roomId": 5}),
            }],
            control: vec![
                Control::Subscribe { user_id: user, room_id: 5 },
                Control::DisconnectUser(user),
            ],
        };
        assert_eq!(
            serde_json::to_value(&publish).ok(),
            Some(json!({
                "deliveries": [{"target": {"room": 5}, "payload": {"type": "roomDeleted", "roomId": 5}}],
                "control": [
                    {"subscribe": {"userId": user, "roomId": 5}},
                    {"disconnectUser": user}
                ]
            }))
        );
    }
}
