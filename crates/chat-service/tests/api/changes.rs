//! The change feed: every change to a room's messages takes the room's next revision, and
//! `GET /rooms/{id}/changes` / `sync {sinceRev}` replay them, edits and deletes included.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{Engine, both_engines};
use wire::protocol::{Page, Sync};
use wire::{ActionBatchResponse, ChatAction, ServerFrame};

use crate::helpers::{
    TestApp, User, ack, assert_problem, event, messages_page, ok, page_seqs, send_message,
    spawn_app, spawn_app_with, sync_after,
};

fn revs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rev"].as_i64().unwrap())
        .collect()
}

async fn changes(app: &TestApp, user: &User, room: i64, query: &str) -> Value {
    let res = app
        .get(user, &format!("/rooms/{room}/changes{query}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn edits_and_deletes_are_replayed_in_revision_order(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "feed").await;
    app.add_member(&alice, room, "bob").await;
    let mut ids = Vec::new();
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        let m = app.send_ok(&alice, room, text).await;
        assert_eq!(
            m["rev"],
            i as i64 + 1,
            "a new message takes the next revision"
        );
        ids.push(m["id"].as_i64().unwrap());
    }
    let page = app.history(&bob, room, "").await;
    assert_eq!(
        page["rev"], 3,
        "a history page says up to which revision it is"
    );
    assert_eq!(revs(&page), [1, 2, 3]);

    // While bob is away: an edit, a delete, a new message.
    let res = app
        .patch(
            &alice,
            &format!("/messages/{}", ids[0]),
            &json!({"content": "ONE"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["rev"], 4);
    assert_eq!(edited["seq"], 1, "the seq stays");
    let res = app.delete(&alice, &format!("/messages/{}", ids[1])).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.send_ok(&alice, room, "four").await;

    // Bob replays from where his page was.
    let feed = changes(&app, &bob, room, "?sinceRev=3").await;
    assert_eq!(feed["roomId"], room);
    assert_eq!(feed["rev"], 6);
    assert_eq!(feed["hasMore"], false);
    assert_eq!(revs(&feed), [4, 5, 6]);
    let m = &feed["messages"];
    assert_eq!(
        (m[0]["id"].as_i64(), m[0]["content"].as_str()),
        (Some(ids[0]), Some("ONE"))
    );
    assert!(m[0]["editedAt"].is_string());
    assert_eq!(m[1]["id"], ids[1]);
    assert_eq!(m[1]["deleted"], true);
    assert_eq!(
        m[1]["content"], "",
        "a deleted message comes back without its text"
    );
    assert_eq!(m[2]["content"], "four");
    assert_eq!(m[2]["seq"], 4);

    // Paging by the last revision returned.
    let first = changes(&app, &bob, room, "?sinceRev=0&limit=2").await;
    assert_eq!(
        revs(&first),
        [3, 4],
        "oldest change first, in revision order"
    );
    assert_eq!(first["hasMore"], true);
    let second = changes(&app, &bob, room, "?sinceRev=4&limit=2").await;
    assert_eq!(revs(&second), [5, 6]);
    assert_eq!(second["hasMore"], false);
    let none = changes(&app, &bob, room, "?sinceRev=6").await;
    assert_eq!(revs(&none), Vec::<i64>::new());
    assert_eq!(none["rev"], 6);

    // What changes nothing takes no revision.
    assert_eq!(
        app.delete(&alice, &format!("/messages/{}", ids[1]))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = app
        .patch(
            &alice,
            &format!("/messages/{}", ids[1]),
            &json!({"content": "undead"}),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "message_not_found").await;
    let rooms = app.rooms(&bob).await;
    let listed = rooms.iter().find(|r| r["id"] == room).unwrap();
    assert_eq!(listed["lastRev"], 6);
    assert_eq!(listed["lastSeq"], 4);

    // The same over the socket: `sync {sinceRev}` answers `changes`.
    let since = Sync {
        room_id: room,
        since_rev: Some(3),
        limit: Some(2),
        ..Sync::default()
    };
    let answer = app.action_ok(&bob, ChatAction::Sync(since)).await;
    let Some(ServerFrame::Changes(page)) = &answer.reply else {
        panic!("expected changes, got {answer:?}");
    };
    assert_eq!(page_revs(page), [4, 5]);
    assert!(page.has_more);
    assert_eq!(page.rev, 6);
    // The older form still answers `messages`, now with the revision too.
    let answer = app
        .action_ok(&bob, ChatAction::Sync(sync_after(room, 3)))
        .await;
    let page = messages_page(&answer);
    assert_eq!(page_seqs(page), [4]);
    assert_eq!(page.rev, 6);

    // Live frames carry the revision they made.
    let published = app.published(5).await;
    let payloads: Vec<&ServerFrame> = published
        .iter()
        .flat_map(|p| &p.deliveries)
        .map(|d| &d.payload)
        .collect();
    let edited_rev = payloads.iter().find_map(|p| match p {
        ServerFrame::MessageEdited { message, .. } => Some(message.rev),
        _ => None,
    });
    assert_eq!(edited_rev, Some(4));
    let deleted = payloads.iter().find_map(|p| match p {
        ServerFrame::MessageDeleted { id, rev, .. } => Some((*rev, *id)),
        _ => None,
    });
    assert_eq!(deleted, Some((5, ids[1])));
}

/// The revisions of a page's messages, in order.
fn page_revs(page: &Page) -> Vec<i64> {
    page.messages.iter().map(|m| m.rev).collect()
}

async fn bad_feed_requests_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let room = app.create_room(&alice, "private").await;
    for query in ["?sinceRev=-1", "?sinceRev=0&limit=0"] {
        let res = app
            .get(&alice, &format!("/rooms/{room}/changes{query}"))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    let res = app
        .get(&alice, &format!("/rooms/{room}/changes?sinceRev=x"))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A private room one is not in does not exist.
    let res = app.get(&bob, &format!("/rooms/{room}/changes")).await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
    let both = Sync {
        since_rev: Some(1),
        ..sync_after(room, 1)
    };
    let res = app.action(&alice, ChatAction::Sync(both)).await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "sinceRev");
}

const WRITERS: usize = 4;
const PER_WRITER: usize = 40;

/// Sends, edits and deletes as `user`: each message is sent, edited once, and every third
/// one deleted. Half of the sends go through the relays' batch endpoint (the group-commit
/// path), half over REST.
async fn writer(app: &TestApp, user: &User, room: i64, w: usize) {
    for i in 0..PER_WRITER {
        let content = format!("w{w} m{i}");
        let id = if i % 2 == 0 {
            app.send_ok(user, room, &content).await["id"]
                .as_i64()
                .unwrap()
        } else {
            let cid = format!("w{w}-{i}");
            let send = ChatAction::SendMessage(send_message(room, &content, Some(&cid)));
            let res = app.batch(vec![event(user, &format!("c{w}"), send)]).await;
            assert_eq!(res.status(), StatusCode::OK);
            let body: ActionBatchResponse = res.json().await.unwrap();
            ack(ok(&body.results[0])).1.id
        };
        let res = app
            .patch(
                user,
                &format!("/messages/{id}"),
                &json!({"content": format!("{content} edited")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        if i % 3 == 0 {
            let res = app.delete(user, &format!("/messages/{id}")).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
        }
    }
}

/// A reader that pages through the feed while writers change the room ends with exactly what
/// the database holds: paging by the last revision returned skips nothing.
async fn paging_the_feed_under_concurrent_writers_skips_nothing(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.send_limit = 100_000).await;
    let owner = app.signup("owner").await;
    let room = app.create_room(&owner, "busy").await;
    let mut users = Vec::new();
    for w in 0..WRITERS {
        let name = format!("writer{w}");
        users.push(app.signup(&name).await);
        app.add_member(&owner, room, &name).await;
    }
    let reader = async {
        // message id -> (rev, content, deleted), as a client would hold them.
        let mut seen: BTreeMap<i64, (i64, String, bool)> = BTreeMap::new();
        let mut cursor = 0;
        let mut idle_rounds = 0;
        while idle_rounds < 3 {
            let page = changes(&app, &owner, room, &format!("?sinceRev={cursor}&limit=7")).await;
            let got = revs(&page);
            assert!(
                got.windows(2).all(|w| w[0] < w[1]),
                "revision order: {got:?}"
            );
            assert!(
                got.iter().all(|r| *r > cursor),
                "only changes after the cursor"
            );
            for m in page["messages"].as_array().unwrap() {
                let entry = (
                    m["rev"].as_i64().unwrap(),
                    m["content"].as_str().unwrap().to_owned(),
                    m["deleted"].as_bool().unwrap(),
                );
                seen.insert(m["id"].as_i64().unwrap(), entry);
            }
            cursor = if page["hasMore"] == true {
                *got.last().unwrap()
            } else {
                page["rev"].as_i64().unwrap()
            };
            let done = (WRITERS * PER_WRITER * 2 + WRITERS * PER_WRITER.div_ceil(3)) as i64;
            if cursor >= done {
                idle_rounds += 1;
            }
            tokio::task::yield_now().await;
        }
        seen
    };
    let writers = futures_util::future::join_all(
        users
            .iter()
            .enumerate()
            .map(|(w, user)| writer(&app, user, room, w)),
    );
    let (seen, ()) = futures_util::future::join(reader, async {
        writers.await;
    })
    .await;

    // Every change took one revision, without gaps: sends, edits, deletes.
    let changes_made = (WRITERS * PER_WRITER * 2 + WRITERS * PER_WRITER.div_ceil(3)) as i64;
    let rooms = app.rooms(&owner).await;
    let listed = rooms.iter().find(|r| r["id"] == room).unwrap();
    assert_eq!(listed["lastRev"], changes_made);
    // The reader's copy is the database's.
    let stored: Vec<(i64, i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, rev, content, deleted_at FROM messages WHERE room_id = $1 ORDER BY id",
    )
    .bind(room)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), WRITERS * PER_WRITER);
    let stored: BTreeMap<i64, (i64, String, bool)> = stored
        .into_iter()
        .map(|(id, rev, content, deleted)| (id, (rev, content, deleted.is_some())))
        .collect();
    assert_eq!(seen, stored);
    let mut final_revs: Vec<i64> = stored.values().map(|(rev, _, _)| *rev).collect();
    final_revs.sort_unstable();
    final_revs.dedup();
    assert_eq!(
        final_revs.len(),
        stored.len(),
        "no two messages share a revision"
    );
}

both_engines!(
    edits_and_deletes_are_replayed_in_revision_order,
    bad_feed_requests_are_refused,
    paging_the_feed_under_concurrent_writers_skips_nothing,
);
