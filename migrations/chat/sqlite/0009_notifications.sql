-- Notifications while a person is away (docs/architecture.md, "Notifications"). Timestamps
-- are Unix milliseconds, user ids UUID text, flags 0/1 integers.

-- Per user: which messages notify ('all' of their rooms, 'mentions' = direct messages and
-- mentions, 'none'), a mute until a time, and whether unread direct messages and mentions
-- are mailed as a digest. No row = the defaults ('mentions', not muted, digest on).
CREATE TABLE notification_settings (
    user_id      TEXT PRIMARY KEY,
    level        TEXT NOT NULL DEFAULT 'mentions' CHECK (level IN ('all', 'mentions', 'none')),
    muted_until  INTEGER,
    email_digest INTEGER NOT NULL DEFAULT 1 CHECK (email_digest IN (0, 1)),
    updated_at   INTEGER NOT NULL
);

-- Per user and room: a level that overrides the user's (NULL = the user's) and a mute.
CREATE TABLE room_notification_settings (
    user_id     TEXT NOT NULL,
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    level       TEXT CHECK (level IS NULL OR level IN ('all', 'mentions', 'none')),
    muted_until INTEGER,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id)
);

-- Web Push subscriptions (RFC 8030/8291): one per browser. The endpoint is unique: a browser
-- that subscribes again for another user moves to that user.
CREATE TABLE push_subscriptions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    p256dh          TEXT NOT NULL,
    auth            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_success_at INTEGER,
    last_failure_at INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX push_subscriptions_endpoint_key ON push_subscriptions (endpoint);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);

-- Collapsing bursts: the first notifiable message of a (user, room) is pushed at once and
-- opens a window; later ones until `window_until` only count in `pending`, and one push
-- with the count goes when the window ends.
CREATE TABLE push_windows (
    user_id       TEXT NOT NULL,
    room_id       INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    window_until  INTEGER NOT NULL,
    pending       INTEGER NOT NULL DEFAULT 0,
    last_message_id INTEGER,
    PRIMARY KEY (user_id, room_id)
);
CREATE INDEX push_windows_due_idx ON push_windows (window_until) WHERE pending > 0;

-- E-mail digests: the highest message id a user's digests have covered, so nothing is
-- mailed twice, and when the last one went.
CREATE TABLE email_digests (
    user_id         TEXT PRIMARY KEY,
    last_message_id INTEGER NOT NULL,
    last_sent_at    INTEGER NOT NULL
);

-- Secrets the service makes for itself on first start and shares between replicas: the
-- VAPID key pair (RFC 8292) and the key that signs unsubscribe links.
CREATE TABLE instance_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
