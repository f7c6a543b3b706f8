//! relay-client against a real HTTP listener standing in for a relay that refuses some
//! publishes: control items are retried until accepted, in order; deliveries alone get one
//! try; nothing is held past the retry horizon.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use relay_client::{RelayClient, RetryPolicy};
use serde_json::Value;
use service_kit::InternalApiKey;
use test_support::FakeRelay;
use wire::{Control, Delivery, Publish, ServerFrame, Target};

fn client(relay: &FakeRelay, policy: RetryPolicy) -> RelayClient {
    RelayClient::new(
        Some(&relay.url),
        InternalApiKey::new("relay-client-test-key"),
        Duration::from_secs(2),
    )
    .unwrap()
    .with_retry(policy)
}

fn deliveries(tag: &str) -> Publish {
    Publish {
        deliveries: vec![Delivery {
            target: Target::Room(1),
            // The tag rides in a frame's text field.
            payload: ServerFrame::Typing {
                room_id: 1,
                user_id: uuid::Uuid::nil(),
                username: tag.to_owned(),
            },
        }],
        control: Vec::new(),
    }
}

fn control(tag: &str) -> Publish {
    Publish {
        control: vec![Control::Unsubscribe {
            user_id: uuid::Uuid::nil(),
            room_id: 7,
        }],
        ..deliveries(tag)
    }
}

fn tags(received: &[(Option<String>, Value)]) -> Vec<String> {
    received
        .iter()
        .map(|(_, body)| {
            body["deliveries"][0]["payload"]["username"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn wait_until_idle(client: &RelayClient, within: Duration) {
    let started = Instant::now();
    while client.pending() > 0 {
        assert!(started.elapsed() < within, "publishes still pending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_items_are_retried_until_accepted_and_order_holds() {
    let relay = FakeRelay::start_refusing(3).await;
    let client = client(&relay, RetryPolicy::default());
    client.publish_in_background(control("a"), "r-a".into());
    client.publish_in_background(deliveries("b"), "r-b".into());
    client.publish_in_background(control("c"), "r-c".into());
    wait_until_idle(&client, Duration::from_secs(10)).await;
    let received = relay.wait_for(3).await;
    assert_eq!(tags(&received), ["a", "b", "c"]);
    assert_eq!(
        received[0].0.as_deref(),
        Some("relay-client-test-key"),
        "the internal key goes with every try"
    );
    assert_eq!(
        relay.refused.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "the first publish was refused three times before it got through"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_alone_get_one_try() {
    let relay = FakeRelay::start_refusing(1).await;
    let client = client(&relay, RetryPolicy::default());
    client.publish_in_background(deliveries("lost"), "r-1".into());
    wait_until_idle(&client, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.publish_in_background(deliveries("kept"), "r-2".into());
    let received = relay.wait_for(1).await;
    assert_eq!(tags(&received), ["kept"]);
    // The awaited form says how its one try went.
    assert!(client.publish(&deliveries("direct"), "r-3").await);
    assert_eq!(tags(&relay.wait_for(2).await), ["kept", "direct"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_held_past_the_horizon() {
    let relay = FakeRelay::start_refusing(usize::MAX).await;
    let client = client(
        &relay,
        RetryPolicy {
            horizon: Duration::from_secs(1),
            max_pending: 10,
        },
    );
    for tag in ["a", "b", "c"] {
        client.publish_in_background(control(tag), tag.into());
    }
    assert!(client.pending() > 0);
    wait_until_idle(&client, Duration::from_secs(5)).await;
    assert!(relay.received.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_relay_configured_is_a_no_op() {
    let client = RelayClient::new(None, InternalApiKey::new("k"), Duration::from_secs(1)).unwrap();
    client.publish_in_background(control("a"), "r".into());
    assert_eq!(client.pending(), 0);
    assert!(client.publish(&control("a"), "r").await);
}
