-- Moderation (docs/architecture.md, "Moderation"): room roles, mutes, blocks, reports, the
-- instance roles and suspensions heard from auth-service, and the audit log.

-- A member's role in a group room: 'member' or 'moderator' (named by the owner). The owner is
-- rooms.owner_user_id, whatever this column says.
ALTER TABLE room_members ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CHECK (role IN ('member', 'moderator'));

-- A member muted in a room (general included, which has no member rows) until a time: they
-- read, their sends are refused.
CREATE TABLE room_mutes (
    room_id    BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    until      BIGINT NOT NULL,
    muted_by   TEXT NOT NULL,
    reason     TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- blocker no longer hears from blocked: no direct messages, their messages hidden.
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);

-- A report of a message. The text is kept as it was reported (an edit or a delete after the
-- report does not erase the evidence). One open report per message and reporter.
CREATE TABLE reports (
    id               BIGSERIAL PRIMARY KEY,
    message_id       BIGINT NOT NULL,
    room_id          BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    reporter_id      TEXT NOT NULL,
    reporter_name    TEXT NOT NULL,
    author_id        TEXT NOT NULL,
    author_name      TEXT NOT NULL,
    content_snapshot TEXT NOT NULL,
    reason           TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    created_at       BIGINT NOT NULL,
    resolved_at      BIGINT,
    resolved_by      TEXT,
    resolution       TEXT,   -- 'dismiss', 'delete_message', 'mute', 'suspend'
    resolution_note  TEXT
);
CREATE UNIQUE INDEX reports_open_key ON reports (message_id, reporter_id) WHERE status = 'open';
CREATE INDEX reports_status_room_idx ON reports (status, room_id, id);
CREATE INDEX reports_message_idx ON reports (message_id);

-- Each user's instance role and suspension as auth-service last told us (POST
-- /internal/user-events); `version` is auth's moderation_version, newer wins. No row = 'user',
-- not suspended.
CREATE TABLE user_moderation (
    user_id         TEXT PRIMARY KEY,
    role            TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'moderator', 'admin')),
    suspended       BIGINT NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
    suspended_until BIGINT,
    hide_messages   BIGINT NOT NULL DEFAULT 0 CHECK (hide_messages IN (0, 1)),
    version         BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX user_moderation_hidden_idx ON user_moderation (user_id) WHERE hide_messages = 1;

-- Every moderation action taken here; the same shape as auth-service's, so GET /admin/audit
-- merges the two by (at, id). Append-only (see below).
CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,      -- UUID v7: ordered by time
    at             BIGINT NOT NULL,
    actor_id       TEXT,
    actor_name     TEXT NOT NULL,
    action         TEXT NOT NULL,
    target_user_id TEXT,
    target_name    TEXT,
    room_id        BIGINT,
    message_id     BIGINT,
    reason         TEXT,
    details        TEXT,                  -- JSON object, or NULL
    ip             TEXT
);
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_target_idx ON audit_log (target_user_id, at);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_update
    BEFORE UPDATE OF id, at, actor_id, action, target_user_id, room_id, message_id, reason, details, ip
    ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
