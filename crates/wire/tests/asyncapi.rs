//! The published WebSocket protocol (`docs/asyncapi.yaml`) against the types: every example
//! frame in the document reads into `wire`'s types and writes back unchanged, and every client
//! action and server frame type has an example.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use wire::{ClientAction, ClientFrame, Reply, ServerFrame};

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/asyncapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/asyncapi.yaml");
    yaml_serde::from_str(&text).expect("docs/asyncapi.yaml is YAML")
}

/// `(message key, example name, payload)` of every example in the document.
fn examples(doc: &Value) -> Vec<(String, String, Value)> {
    let messages = doc["components"]["messages"]
        .as_object()
        .expect("components.messages");
    let mut all = Vec::new();
    for (key, message) in messages {
        let list = message["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("{key} has no examples"));
        for example in list {
            let name = example["name"].as_str().unwrap_or("?").to_owned();
            all.push((key.clone(), name, example["payload"].clone()));
        }
    }
    all
}

#[test]
fn every_example_frame_reads_into_the_types_and_writes_back_unchanged() {
    let doc = document();
    let mut actions = BTreeSet::new();
    let mut types = BTreeSet::new();
    for (key, name, payload) in examples(&doc) {
        let at = format!("{key} / {name}");
        if let Some(action) = payload.get("action").and_then(Value::as_str) {
            actions.insert(action.to_owned());
            let frame = ClientFrame::parse(&payload.to_string())
                .unwrap_or_else(|e| panic!("{at}: {} {}", e.code.as_str(), e.message));
            assert_eq!(serde_json::to_value(&frame).unwrap(), payload, "{at}");
        } else if let Some(kind) = payload.get("type").and_then(Value::as_str) {
            types.insert(kind.to_owned());
            // A frame, or a reply carrying the client's `id` (`messageDeleted` has an `id` of
            // its own, the message's, and is never a reply).
            let frame: Result<ServerFrame, _> = serde_json::from_value(payload.clone());
            let as_frame = frame.ok().map(|f| serde_json::to_value(&f).unwrap());
            if as_frame.as_ref() != Some(&payload) {
                let reply: Reply =
                    serde_json::from_value(payload.clone()).unwrap_or_else(|e| panic!("{at}: {e}"));
                assert_eq!(serde_json::to_value(&reply).unwrap(), payload, "{at}");
            }
        } else {
            panic!("{at}: a frame without `action` or `type`");
        }
    }
    let expected: BTreeSet<String> = ClientAction::NAMES.iter().map(|a| a.to_string()).collect();
    assert_eq!(actions, expected, "client actions with an example");
    let frames = [
        "ready",
        "ack",
        "message",
        "messages",
        "changes",
        "messageEdited",
        "messageDeleted",
        "typing",
        "memberAdded",
        "memberRemoved",
        "memberRoleChanged",
        "memberMuted",
        "memberUnmuted",
        "roomDeleted",
        "roomHidden",
        "reactionChanged",
        "readMarker",
        "tokenRefreshed",
        "presence",
        "presenceList",
        "pong",
        "error",
    ];
    let expected: BTreeSet<String> = frames.iter().map(|t| t.to_string()).collect();
    assert_eq!(types, expected, "server frames with an example");
}

#[test]
fn every_error_code_in_the_document_is_one_the_types_know() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["ErrorCode"];
    let codes: Vec<&str> = schema["enum"]
        .as_array()
        .expect("ErrorCode.enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(codes.len() >= 10, "{codes:?}");
    // The description lists the temporary codes first, then the permanent ones.
    let description = schema["description"]
        .as_str()
        .expect("ErrorCode.description");
    let temporary = &description[description.find("- temporary").expect("temporary list")
        ..description.find("- permanent").expect("permanent list")];
    for code in codes {
        let parsed: wire::ErrorCode =
            serde_json::from_value(Value::String(code.to_owned())).unwrap();
        assert_ne!(
            parsed,
            wire::ErrorCode::Unknown,
            "{code} is not an ErrorCode"
        );
        assert_eq!(parsed.as_str(), code);
        assert_eq!(
            parsed.temporary(),
            temporary.contains(&format!("`{code}`")),
            "{code}: whether it is temporary differs between the document and ErrorCode"
        );
    }
}
