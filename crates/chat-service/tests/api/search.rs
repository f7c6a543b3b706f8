//! Search (`GET /search`): words, phrases, exclusions, the prefix, accents and stop words;
//! the filters in `q` and as parameters; only rooms the caller can read now; edits and
//! deletes; paging in both orders; highlight ranges; bad cursors and limits.

use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use test_support::{Engine, both_engines};

use crate::helpers::{GENERAL, TestApp, User, assert_problem, spawn_app, spawn_app_with};

/// `/search` with these query parameters.
fn path(params: &[(&str, &str)]) -> String {
    let url = Url::parse_with_params("http://x/search", params).unwrap();
    format!("/search?{}", url.query().unwrap_or_default())
}

/// The search's answer, which must be a 200.
async fn search(app: &TestApp, user: &User, params: &[(&str, &str)]) -> Value {
    let res = app.get(user, &path(params)).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{params:?}: {body}");
    body
}

/// The contents of the hits of `q`, in order.
async fn found(app: &TestApp, user: &User, q: &str) -> Vec<String> {
    contents(&search(app, user, &[("q", q)]).await)
}

fn contents(page: &Value) -> Vec<String> {
    page["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["message"]["content"].as_str().unwrap().to_owned())
        .collect()
}

fn id(message: &Value) -> i64 {
    message["id"].as_i64().unwrap()
}

async fn words_phrases_exclusions_and_prefixes(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    for text in [
        "the quick brown fox",
        "a brown dog and the cat",
        "Café crème au lait",
        "Привет, мир! Как дела?",
        "hello world",
        "the fox, brown and quick",
        "mail me at x@bob.com",
    ] {
        app.send_ok(&alice, GENERAL, text).await;
    }
    // Words: all of them, in any order; newest first.
    assert_eq!(
        found(&app, &alice, "brown quick").await,
        ["the fox, brown and quick", "the quick brown fox"]
    );
    // A phrase: those words in a row.
    assert_eq!(
        found(&app, &alice, "\"quick brown\"").await,
        ["the quick brown fox"]
    );
    // Exclusions, of a word and of a phrase.
    assert_eq!(
        found(&app, &alice, "brown -dog -\"brown and quick\"").await,
        ["the quick brown fox"]
    );
    // The last bare word is a prefix; the others are whole words.
    assert_eq!(found(&app, &alice, "hel").await, ["hello world"]);
    assert_eq!(found(&app, &alice, "hello wor").await, ["hello world"]);
    assert!(found(&app, &alice, "hel world").await.is_empty());
    assert!(found(&app, &alice, "hel wor nothing").await.is_empty());
    assert_eq!(found(&app, &alice, "world hel").await, ["hello world"]);
    assert!(found(&app, &alice, "wor hel").await.is_empty());
    // Accents either way, and case.
    assert_eq!(
        found(&app, &alice, "cafe CREME").await,
        ["Café crème au lait"]
    );
    assert_eq!(
        found(&app, &alice, "LAÏT café").await,
        ["Café crème au lait"]
    );
    // Stop words are words, and so is any language.
    assert_eq!(
        found(&app, &alice, "the and").await,
        ["the fox, brown and quick", "a brown dog and the cat"]
    );
    assert_eq!(
        found(&app, &alice, "мир привет").await,
        ["Привет, мир! Как дела?"]
    );
    assert_eq!(found(&app, &alice, "ДЕЛ").await, ["Привет, мир! Как дела?"]);
    // Punctuation splits words, as it does in the text.
    assert_eq!(found(&app, &alice, "bob").await, ["mail me at x@bob.com"]);
    assert_eq!(
        found(&app, &alice, "x@bob.com").await,
        ["mail me at x@bob.com"]
    );
    // Only exclusions: everything else, newest first.
    assert_eq!(
        found(&app, &alice, "-brown -hello -café -мир").await,
        ["mail me at x@bob.com"]
    );
    // The query syntax of the engines is only ever words.
    for hostile in [
        "a:* | b",
        "\"",
        "NEAR(",
        "*",
        "brown:*",
        "'",
        "\\",
        "fox' & !'dog",
        "OR",
        "-",
        "\"\"",
        "^",
        "NOT brown",
        "brown)",
        "(",
        "{brown}",
        "brown*",
        "\u{0}",
        "a\u{0}b in:a\u{0}",
        "-\u{0}brown",
    ] {
        search(&app, &alice, &[("q", hostile)]).await;
        search(&app, &alice, &[("q", hostile), ("sort", "relevance")]).await;
    }
    assert!(found(&app, &alice, "*").await.is_empty());
    assert_eq!(found(&app, &alice, "brown*").await.len(), 3);
    // Relevance: the better match first.
    let ranked = contents(
        &search(
            &app,
            &alice,
            &[("q", "brown fox quick"), ("sort", "relevance")],
        )
        .await,
    );
    assert_eq!(ranked.len(), 2);
}

async fn filters_in_q_and_as_parameters(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let team = app.create_room(&alice, "Team Room").await;
    app.add_member_ok(&alice, team, &bob).await;
    let res = app.post(&alice, "/dms", &json!({"username": "bob"})).await;
    assert!(res.status().is_success());
    let dm = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = app
        .post(&alice, "/dms", &json!({"username": "carol"}))
        .await;
    let dm_carol = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let general = app.send_ok(&alice, GENERAL, "report in general").await;
    app.send_ok(&bob, GENERAL, "report by bob").await;
    app.send_ok(&bob, team, "report in the team").await;
    app.send_ok(&bob, dm, "report in private").await;
    app.send_ok(&carol, dm_carol, "report to alice from carol")
        .await;
    // A message with a file.
    let res = app
        .client
        .post(app.url("/uploads?filename=notes.txt"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/octet-stream")
        .body(b"some notes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let upload: Value = res.json().await.unwrap();
    let res = app
        .post(
            &alice,
            &format!("/rooms/{team}/messages"),
            &json!({"content": "report attached", "attachmentIds": [upload["id"]]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    assert_eq!(
        found(&app, &alice, "report from:BOB").await,
        ["report in private", "report in the team", "report by bob"]
    );
    assert_eq!(
        contents(&search(&app, &alice, &[("q", "report"), ("from", "bob")]).await),
        ["report in private", "report in the team", "report by bob"]
    );
    // Only filters: every message that passes them, newest first.
    assert_eq!(
        found(&app, &alice, "from:bob in:general").await,
        ["report by bob"]
    );
    assert_eq!(
        found(&app, &alice, "report in:\"team room\"").await,
        ["report attached", "report in the team"]
    );
    assert_eq!(found(&app, &alice, "in:@bob").await, ["report in private"]);
    assert_eq!(
        found(&app, &alice, "in:@carol").await,
        ["report to alice from carol"]
    );
    assert_eq!(found(&app, &alice, "has:file").await, ["report attached"]);
    assert_eq!(
        contents(&search(&app, &alice, &[("q", "report"), ("has", "file")]).await),
        ["report attached"]
    );
    // Filters and parameters together: all must hold.
    assert!(
        contents(&search(&app, &alice, &[("q", "from:bob"), ("from", "carol")]).await).is_empty()
    );
    // Nobody and nowhere: no hits, not an error.
    assert!(found(&app, &alice, "report from:nobody").await.is_empty());
    assert!(found(&app, &alice, "report in:nowhere").await.is_empty());
    assert!(found(&app, &alice, "in:@nobody").await.is_empty());
    // A NUL (which PostgreSQL text cannot hold) names nobody either.
    assert!(
        found(&app, &alice, "from:b\u{0}ob in:\u{0}")
            .await
            .is_empty()
    );
    assert!(
        contents(&search(&app, &alice, &[("q", "report"), ("from", "\u{0}")]).await).is_empty()
    );
    // Days (UTC): before a day is before it starts; after a day is from the next one on.
    let today = &general["createdAt"].as_str().unwrap()[..10];
    assert!(
        found(&app, &alice, &format!("general before:{today}"))
            .await
            .is_empty()
    );
    assert!(
        found(&app, &alice, &format!("general after:{today}"))
            .await
            .is_empty()
    );
    assert_eq!(
        found(&app, &alice, "general after:2000-01-31 before:2999-12-31").await,
        ["report in general"]
    );
    // A malformed day is words.
    assert!(
        found(&app, &alice, "general before:2000-02-30")
            .await
            .is_empty()
    );
    // Parameters: a day or a date-time; after a time is strictly later.
    let at = general["createdAt"].as_str().unwrap();
    for (param, value, hits) in [
        ("before", at, 0),
        ("after", at, 0),
        ("before", "2999-01-01", 1),
        ("after", "2000-01-01T00:00:00+02:00", 1),
        ("after", today, 0),
    ] {
        let page = search(&app, &alice, &[("q", "general"), (param, value)]).await;
        assert_eq!(contents(&page).len(), hits, "{param}={value}");
    }
    let res = app
        .get(&alice, &path(&[("q", "x"), ("before", "yesterday")]))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    // roomId: only that room, and only a room the caller can read.
    let page = search(
        &app,
        &alice,
        &[("q", "report"), ("roomId", &team.to_string())],
    )
    .await;
    assert_eq!(contents(&page), ["report attached", "report in the team"]);
    let room = &page["hits"][0]["room"];
    assert_eq!(room["id"], team);
    assert_eq!(room["kind"], "group");
    assert_eq!(room["name"], "Team Room");
    assert_eq!(room["peer"], Value::Null);
    let res = app
        .get(
            &carol,
            &path(&[("q", "report"), ("roomId", &team.to_string())]),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "room_not_found").await;
    // A direct room's hit names the other person.
    let page = search(&app, &alice, &[("q", "private")]).await;
    let room = &page["hits"][0]["room"];
    assert_eq!(room["kind"], "direct");
    assert_eq!(room["name"], "");
    assert_eq!(room["peer"]["username"], "bob");
    assert_eq!(room["peer"]["userId"], bob.id.to_string());
    // The message is the history's: its files too.
    let page = search(&app, &alice, &[("q", "attached")]).await;
    assert_eq!(
        page["hits"][0]["message"]["attachments"][0]["id"],
        upload["id"]
    );
}

async fn only_rooms_the_caller_can_read_now(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let secret = app.create_room(&alice, "secret").await;
    app.add_member_ok(&alice, secret, &bob).await;
    app.send_ok(&alice, secret, "launch codes").await;
    let res = app.post(&alice, "/dms", &json!({"username": "bob"})).await;
    let dm = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.send_ok(&alice, dm, "launch party").await;
    app.send_ok(&carol, GENERAL, "launch day").await;

    assert_eq!(
        found(&app, &bob, "launch").await,
        ["launch day", "launch party", "launch codes"]
    );
    // Not a member: neither the group room nor the direct room of others.
    assert_eq!(found(&app, &carol, "launch").await, ["launch day"]);
    assert!(found(&app, &carol, "in:secret").await.is_empty());
    assert!(found(&app, &carol, "codes").await.is_empty());
    // After leaving, no longer.
    app.remove_member(&bob, secret, &bob).await;
    assert_eq!(
        found(&app, &bob, "launch").await,
        ["launch day", "launch party"]
    );
}

async fn edited_and_deleted_messages(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let edited = app.send_ok(&alice, GENERAL, "original wording").await;
    let deleted = app.send_ok(&alice, GENERAL, "doomed wording").await;
    let res = app
        .patch(
            &alice,
            &format!("/messages/{}", id(&edited)),
            &json!({"content": "revised text"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .delete(&alice, &format!("/messages/{}", id(&deleted)))
        .await;
    assert!(res.status().is_success());

    assert_eq!(found(&app, &alice, "revised").await, ["revised text"]);
    assert!(found(&app, &alice, "original").await.is_empty());
    assert!(found(&app, &alice, "doomed").await.is_empty());
    assert_eq!(found(&app, &alice, "wording").await, Vec::<String>::new());
    // Filters alone never list a deleted message either.
    assert_eq!(found(&app, &alice, "from:alice").await, ["revised text"]);
    let page = search(&app, &alice, &[("q", "revised")]).await;
    assert!(page["hits"][0]["message"]["editedAt"].is_string());
}

async fn pages_follow_their_cursor(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let mut sent = Vec::new();
    for i in 0..13 {
        // Varied relevance: more repetitions, higher rank.
        let text = format!("{} item {i}", "needle ".repeat(1 + i % 4));
        sent.push(id(&app.send_ok(&alice, GENERAL, &text).await));
    }
    app.send_ok(&alice, GENERAL, "haystack only").await;
    for sort in ["recent", "relevance"] {
        let mut seen: Vec<i64> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut params = vec![("q", "needle"), ("limit", "5"), ("sort", sort)];
            if let Some(c) = &cursor {
                params.push(("cursor", c));
            }
            let page = search(&app, &alice, &params).await;
            pages += 1;
            let hits = page["hits"].as_array().unwrap();
            assert!(hits.len() <= 5);
            seen.extend(hits.iter().map(|h| id(&h["message"])));
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{sort}");
        let mut all = seen.clone();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), seen.len(), "{sort}: no duplicates");
        let mut want = sent.clone();
        want.sort_unstable();
        assert_eq!(all, want, "{sort}: no gaps");
        if sort == "recent" {
            let mut newest_first = want.clone();
            newest_first.reverse();
            assert_eq!(seen, newest_first);
        }
    }
}

async fn relevance_ranks_the_newest_matches(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.limits.search_rank_window = 3).await;
    let alice = app.signup("alice").await;
    // The best match first, but only among the newest three (CHAT_SEARCH_RANK_WINDOW).
    for text in [
        "pin pin pin pin pin",
        "pin once",
        "pin pin pin twice",
        "pin pin again",
        "pin last",
    ] {
        app.send_ok(&alice, GENERAL, text).await;
    }
    let page = search(&app, &alice, &[("q", "pin"), ("sort", "relevance")]).await;
    assert_eq!(
        contents(&page),
        ["pin pin pin twice", "pin pin again", "pin last"]
    );
    assert_eq!(page["nextCursor"], Value::Null);
}

async fn highlight_ranges_are_utf16(engine: Engine) {
    let app = spawn_app(engine).await;
    let alice = app.signup("alice").await;
    let text = "😀 Café! A big   DEAL, hello HE";
    app.send_ok(&alice, GENERAL, text).await;
    let page = search(&app, &alice, &[("q", "cafe \"big deal\" he")]).await;
    let hit = &page["hits"][0];
    assert_eq!(hit["message"]["content"], text);
    let utf16: Vec<u16> = text.encode_utf16().collect();
    let marked: Vec<String> = hit["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let (s, e) = (
                h["start"].as_u64().unwrap() as usize,
                h["end"].as_u64().unwrap() as usize,
            );
            String::from_utf16(&utf16[s..e]).unwrap()
        })
        .collect();
    assert_eq!(marked, ["Café", "big   DEAL", "hello", "HE"]);
    assert_eq!(hit["highlights"][0], json!({"start": 3, "end": 7}));
}

async fn bad_cursors_limits_and_the_rate(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.limits.searches_per_minute = 12).await;
    let alice = app.signup("alice").await;
    for cursor in ["nope", "0000000000000000.", "0000000000000000.1.2"] {
        let res = app
            .get(&alice, &path(&[("q", "x"), ("cursor", cursor)]))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    }
    for limit in ["0", "51"] {
        let res = app
            .get(&alice, &path(&[("q", "x"), ("limit", limit)]))
            .await;
        assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    let res = app.get(&alice, &path(&[("q", &"x".repeat(501))])).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    // 500 characters (not bytes) is fine.
    search(&app, &alice, &[("q", &"é".repeat(500))]).await;
    let res = app.get(&alice, "/search").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .get(&alice, &path(&[("q", "x"), ("sort", "best")]))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A well-formed cursor is never an error, whatever it says.
    search(
        &app,
        &alice,
        &[
            ("q", "x"),
            ("cursor", "7ff8000000000000.999"),
            ("sort", "relevance"),
        ],
    )
    .await;
    // CHAT_SEARCHES_PER_MINUTE (12 here; the requests above that got past validation count).
    let mut limited = false;
    for _ in 0..12 {
        let res = app.get(&alice, &path(&[("q", "x")])).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
            limited = true;
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert!(limited);
}

both_engines!(
    words_phrases_exclusions_and_prefixes,
    filters_in_q_and_as_parameters,
    only_rooms_the_caller_can_read_now,
    edited_and_deleted_messages,
    pages_follow_their_cursor,
    relevance_ranks_the_newest_matches,
    highlight_ranges_are_utf16,
    bad_cursors_limits_and_the_rate,
);
