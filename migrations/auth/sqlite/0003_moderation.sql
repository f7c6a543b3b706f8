-- Moderation and administration (docs/architecture.md, "Moderation"): instance roles,
-- suspensions, the audit log and the outbox of user events for chat-service.

-- 'user', 'moderator' or 'admin'. The first admin is named on the command line
-- (`auth-service admin grant <email>`), never by registration order.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'
    CHECK (role IN ('user', 'moderator', 'admin'));
-- A suspension: set while the account is suspended; `suspended_until` NULL = until lifted.
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
ALTER TABLE users ADD COLUMN suspended_until INTEGER;
ALTER TABLE users ADD COLUMN suspension_reason TEXT;
ALTER TABLE users ADD COLUMN suspended_by TEXT;
-- Whether the suspended account's messages are hidden from everyone while it lasts.
ALTER TABLE users ADD COLUMN hide_messages INTEGER NOT NULL DEFAULT 0 CHECK (hide_messages IN (0, 1));
-- Bumped by every change of role or suspension; the user events carry it so that chat-service
-- applies the newest state whatever order the events arrive in.
ALTER TABLE users ADD COLUMN moderation_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_role_idx ON users (role) WHERE role <> 'user';
CREATE INDEX users_created_idx ON users (created_at, id);

-- Every administrative action taken here (who, whom, what, why, when, from where). Rows are
-- only ever added: triggers refuse deletes and changes to anything but the name snapshots
-- (which account deletion may erase).
CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,      -- UUID v7: ordered by time
    at             INTEGER NOT NULL,
    actor_id       TEXT,                  -- NULL: the command line
    actor_name     TEXT NOT NULL,
    action         TEXT NOT NULL,
    target_user_id TEXT,
    target_name    TEXT,
    room_id        INTEGER,
    message_id     INTEGER,
    reason         TEXT,
    details        TEXT,                  -- JSON object, or NULL
    ip             TEXT
);
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_target_idx ON audit_log (target_user_id, at);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_update
    BEFORE UPDATE OF id, at, actor_id, action, target_user_id, room_id, message_id, reason, details, ip
    ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Changes chat-service must hear about (role, suspension; later account deletion), written in
-- the transaction of the change and delivered until chat-service accepts them.
CREATE TABLE user_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,        -- JSON: the body chat-service receives
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX user_events_pending_idx ON user_events (next_attempt_at, id) WHERE delivered_at IS NULL;
