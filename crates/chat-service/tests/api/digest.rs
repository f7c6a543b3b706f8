//! E-mail digests end to end: auth-service, chat-service and a real relay (for presence and
//! live sockets), with auth-service mailing a real SMTP server (`scripts/test-peers/
//! smtp_sink.py`, aiosmtpd) whose received messages the tests read.

use std::time::Duration;

use chat_service::ops::digest::tick;
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::{Options, Stack, User, assert_problem, spawn_stack_with};
use test_support::{Engine, SmtpSink, both_engines, mail_header as header, mail_text as text};

/// The address links in mail start with.
const PUBLIC_URL: &str = "https://chat.example.test";

/// The SMTP server, without the verification link every sign-up is mailed.
fn digest_sink() -> SmtpSink {
    SmtpSink::start().ignoring("Confirm your Cloud Chat e-mail address")
}

/// The stack with a fast digest (1 s away, a tick every 200 ms) mailing `sink`.
async fn spawn(engine: Engine, sink: &SmtpSink) -> Stack {
    spawn_with(engine, sink, |_| {}).await
}

/// As [`spawn`], with chat-service's settings tweaked further.
async fn spawn_with(
    engine: Engine,
    sink: &SmtpSink,
    tweak: impl FnOnce(&mut chat_service::config::Settings) + 'static,
) -> Stack {
    let smtp = sink.url();
    spawn_stack_with(
        Options::new(engine)
            .auth(move |a| a.smtp_url = Some(smtp))
            .chat(|c| {
                c.public_url = PUBLIC_URL.to_owned();
                c.digest.tick = Duration::from_millis(200);
                c.digest.after = Duration::from_secs(1);
                tweak(c);
            }),
    )
    .await
}

/// Opens the direct room of `from` and `to` and sends `content` there: (room, seq).
async fn dm(stack: &Stack, from: &User, to: &User, content: &str) -> (i64, i64) {
    let res = stack.post(from, "/dms", &json!({"userId": to.id})).await;
    assert!(res.status().is_success(), "{}", res.status());
    let room = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let message = stack.send_ok(from, room, content).await;
    (room, message["seq"].as_i64().unwrap())
}

/// The user's stored `email_digest` flag (no row: none).
async fn digest_flag(stack: &Stack, user: &User) -> Option<i64> {
    sqlx::query_scalar::<_, i64>(
        "SELECT email_digest FROM notification_settings WHERE user_id = $1",
    )
    .bind(user.id.to_string())
    .fetch_optional(&stack.chat_state.db.pool)
    .await
    .unwrap()
}

/// Ticks enough for anything due to have been mailed.
async fn a_few_ticks() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}

async fn a_direct_message_to_someone_away_is_mailed_once(engine: Engine) {
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let (room, seq) = dm(&stack, &alice, &bob, "hello bob,\nare you there?").await;

    let mails = sink.wait_for(&bob.email, 1).await;
    let mail = &mails[0];
    assert_eq!(mail["subject"], "1 unread message on Cloud Chat");
    let body = text(mail);
    assert!(body.contains("Direct message from alice, "), "{body}");
    assert!(body.contains("  hello bob, are you there?\n"), "{body}");
    assert!(
        body.contains(&format!("  {PUBLIC_URL}/chat/{room}?seq={seq}\n")),
        "{body}"
    );
    let unsubscribe = header(mail, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with(&format!(
            "<{PUBLIC_URL}/notifications/unsubscribe?user={}&sig=",
            bob.id
        )) && unsubscribe.ends_with('>'),
        "{unsubscribe}"
    );
    assert!(body.contains(&unsubscribe[1..unsubscribe.len() - 1]));
    assert_eq!(
        header(mail, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    // The author is not mailed about their own message.
    assert!(sink.mails_to(&alice.email).is_empty());

    // Nothing is mailed twice.
    a_few_ticks().await;
    a_few_ticks().await;
    assert_eq!(sink.mails_to(&bob.email).len(), 1);
    // The next one lists only what is new.
    dm(&stack, &alice, &bob, "second thought").await;
    let mails = sink.wait_for(&bob.email, 2).await;
    let body = text(&mails[1]);
    assert!(body.contains("second thought"), "{body}");
    assert!(!body.contains("hello bob"), "{body}");
}

async fn a_mention_is_mailed(engine: Engine) {
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let room = stack.create_room(&alice, "project").await;
    stack.add_member_ok(&alice, room, &bob).await;
    stack.send_ok(&alice, room, "nothing for bob here").await;
    let mention = stack.send_ok(&alice, room, "@bob look at this").await;

    let mails = sink.wait_for(&bob.email, 1).await;
    let body = text(&mails[0]);
    assert_eq!(mails[0]["subject"], "1 unread message on Cloud Chat");
    assert!(body.contains("alice in #project, "), "{body}");
    assert!(body.contains("  @bob look at this\n"), "{body}");
    assert!(body.contains(&format!("/chat/{room}?seq={}", mention["seq"])));
    assert!(!body.contains("nothing for bob"), "{body}");
}

async fn what_is_read_before_the_delay_is_not_mailed(engine: Engine) {
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let (room, seq) = dm(&stack, &alice, &bob, "read me now").await;
    let res = stack
        .post(&bob, &format!("/rooms/{room}/read"), &json!({"seq": seq}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    dm(&stack, &alice, &carol, "for carol").await;

    // Carol's mail shows the tick has passed both messages.
    sink.wait_for(&carol.email, 1).await;
    a_few_ticks().await;
    assert!(sink.mails_to(&bob.email).is_empty());
}

async fn people_who_silenced_notifications_get_no_mail(engine: Engine) {
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    let alice = stack.signup("alice").await;
    let names = [
        "off",
        "nothing",
        "muted",
        "roomnone",
        "roommuted",
        "pushed",
        "control",
        "roomall",
    ];
    let mut users = Vec::new();
    for name in names {
        users.push(stack.signup(name).await);
    }
    let pool = &stack.chat_state.db.pool;
    let now = store_kit::now_ms();
    let user_setting = |user: &User, level: &str, muted_until: Option<i64>, digest: i64| {
        sqlx::query(
            "INSERT INTO notification_settings (user_id, level, muted_until, email_digest, updated_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user.id.to_string())
        .bind(level.to_owned())
        .bind(muted_until)
        .bind(digest)
        .bind(now)
    };
    user_setting(&users[0], "mentions", None, 0)
        .execute(pool)
        .await
        .unwrap();
    user_setting(&users[1], "none", None, 1)
        .execute(pool)
        .await
        .unwrap();
    user_setting(&users[2], "all", Some(now + 3_600_000), 1)
        .execute(pool)
        .await
        .unwrap();
    // Someone with Web Push gets pushes, not digests.
    sqlx::query(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
         VALUES ($1, $2, 'https://push.example.net/x', 'k', 'a', $3)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(users[5].id.to_string())
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
    // A mute that has ended silences nothing.
    user_setting(&users[6], "all", Some(now - 1000), 1)
        .execute(pool)
        .await
        .unwrap();
    // A room's level overrides the person's.
    user_setting(&users[7], "none", None, 1)
        .execute(pool)
        .await
        .unwrap();
    for user in &users {
        let (room, _) = dm(&stack, &alice, user, "ping").await;
        let room_setting = match user.name.as_str() {
            "roomnone" => Some((Some("none"), None)),
            "roommuted" => Some((None, Some(now + 3_600_000))),
            "roomall" => Some((Some("all"), None)),
            _ => None,
        };
        if let Some((level, muted_until)) = room_setting {
            sqlx::query(
                "INSERT INTO room_notification_settings (user_id, room_id, level, muted_until, updated_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user.id.to_string())
            .bind(room)
            .bind(level.map(str::to_owned))
            .bind(muted_until)
            .bind(now)
            .execute(pool)
            .await
            .unwrap();
        }
    }

    sink.wait_for(&users[6].email, 1).await;
    sink.wait_for(&users[7].email, 1).await;
    a_few_ticks().await;
    for user in &users[..6] {
        assert!(
            sink.mails_to(&user.email).is_empty(),
            "{} was mailed",
            user.name
        );
    }
}

async fn the_one_click_link_turns_the_digest_off(engine: Engine) {
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    dm(&stack, &alice, &bob, "first").await;
    let mails = sink.wait_for(&bob.email, 1).await;
    let link = header(&mails[0], "List-Unsubscribe").unwrap();
    let path = link
        .trim_start_matches('<')
        .trim_end_matches('>')
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();

    // GET shows a button and changes nothing (mail scanners open links).
    let res = stack.client.get(stack.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(
        page.contains(&format!("user={}&amp;sig=", bob.id)),
        "{page}"
    );
    assert_eq!(digest_flag(&stack, &bob).await, None);

    // A wrong signature: an HTML page for GET, a problem for POST; nothing changes.
    let forged = format!("/notifications/unsubscribe?user={}&sig=AAAA", bob.id);
    for bad in [
        forged.as_str(),
        "/notifications/unsubscribe",
        "/notifications/unsubscribe?user=nobody&sig=x",
    ] {
        let res = stack.client.get(stack.url(bad)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{bad}");
        assert!(res.text().await.unwrap().contains("not valid"));
        let res = stack.client.post(stack.url(bad)).send().await.unwrap();
        assert_problem(res, StatusCode::FORBIDDEN, "invalid_unsubscribe_link").await;
    }
    // Another user's signature does not work for bob.
    let carols = format!(
        "{}&sig={}",
        path.split("&sig=").next().unwrap(),
        stack.chat_state.unsubscribe.sign(carol.id)
    );
    let res = stack.client.post(stack.url(&carols)).send().await.unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "invalid_unsubscribe_link").await;
    assert_eq!(digest_flag(&stack, &bob).await, None);

    // The one-click POST (RFC 8058), as a mail client sends it.
    let res = stack
        .client
        .post(stack.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You will no longer receive e-mail digests")
    );
    assert_eq!(digest_flag(&stack, &bob).await, Some(0));
    // Again, with no body: still fine.
    let res = stack.client.post(stack.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    dm(&stack, &alice, &bob, "after unsubscribing").await;
    dm(&stack, &alice, &carol, "for carol").await;
    sink.wait_for(&carol.email, 1).await;
    a_few_ticks().await;
    assert_eq!(sink.mails_to(&bob.email).len(), 1);
}

async fn someone_online_is_not_mailed(engine: Engine) {
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let carol = stack.signup("carol").await;
    let socket = stack.connect(&bob).await;
    dm(&stack, &alice, &bob, "you are here").await;
    dm(&stack, &alice, &carol, "you are not").await;

    sink.wait_for(&carol.email, 1).await;
    a_few_ticks().await;
    assert!(sink.mails_to(&bob.email).is_empty());
    drop(socket);
}

async fn two_replicas_mail_each_digest_once(engine: Engine) {
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    // Two more replicas on the same database, each with its own digest task.
    stack.second_replica().await;
    stack.second_replica().await;
    let alice = stack.signup("alice").await;
    let mut people = Vec::new();
    for i in 0..6 {
        let user = stack.signup(&format!("reader{i}")).await;
        dm(&stack, &alice, &user, "one for you").await;
        people.push(user);
    }
    for user in &people {
        sink.wait_for(&user.email, 1).await;
    }
    a_few_ticks().await;
    for user in &people {
        assert_eq!(sink.mails_to(&user.email).len(), 1, "{}", user.name);
    }
}

/// The conditional writes that claim a digest and give it back.
async fn a_claim_is_won_once_and_released_only_by_its_holder(engine: Engine) {
    use chat_service::store::digests::{Watermark, claim, release, watermark};
    let sink = digest_sink();
    let stack = spawn(engine, &sink).await;
    let pool = &stack.chat_state.db.pool;
    let user = uuid::Uuid::new_v4();
    let first = Watermark {
        last_message_id: 10,
        last_sent_at: 1000,
    };
    let second = Watermark {
        last_message_id: 20,
        last_sent_at: 2000,
    };
    assert!(claim(pool, user, None, first).await.unwrap());
    // A replica that read "no row" too loses.
    assert!(!claim(pool, user, None, second).await.unwrap());
    assert!(claim(pool, user, Some(first), second).await.unwrap());
    // One that read the old watermark loses.
    assert!(!claim(pool, user, Some(first), second).await.unwrap());
    // Giving back a claim that is not the current one changes nothing.
    release(pool, user, first, None).await.unwrap();
    assert_eq!(watermark(pool, user).await.unwrap(), Some(second));
    release(pool, user, second, Some(first)).await.unwrap();
    assert_eq!(watermark(pool, user).await.unwrap(), Some(first));
    release(pool, user, first, None).await.unwrap();
    assert_eq!(watermark(pool, user).await.unwrap(), None);
}

async fn a_mail_auth_service_does_not_take_is_tried_again(engine: Engine) {
    use chat_service::store::digests::watermark;
    let sink = digest_sink();
    // The test runs the ticks itself.
    let stack = spawn_with(engine, &sink, |c| c.digest.tick = Duration::from_secs(3600)).await;
    let alice = stack.signup("alice").await;
    let bob = stack.signup("bob").await;
    let res = stack.post(&alice, "/dms", &json!({"userId": bob.id})).await;
    let room = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // auth-service goes away; chat-service still takes the message (it has the keys).
    stack.auth_server.stop(true).await;
    stack.send_ok(&alice, room, "are you there?").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let state = &stack.chat_state;
    for _ in 0..2 {
        let tick = tick(state).await.unwrap();
        assert_eq!((tick.sent, tick.failed), (0, 1), "{tick:?}");
        // The claim was given back: the next tick tries again.
        assert_eq!(watermark(&state.db.pool, bob.id).await.unwrap(), None);
    }
    assert!(sink.mails_to(&bob.email).is_empty());
}

both_engines!(
    a_mail_auth_service_does_not_take_is_tried_again,
    two_replicas_mail_each_digest_once,
    a_claim_is_won_once_and_released_only_by_its_holder,
    a_direct_message_to_someone_away_is_mailed_once,
    a_mention_is_mailed,
    what_is_read_before_the_delay_is_not_mailed,
    people_who_silenced_notifications_get_no_mail,
    the_one_click_link_turns_the_digest_off,
    someone_online_is_not_mailed,
);
