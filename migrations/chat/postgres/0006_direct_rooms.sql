-- Direct rooms (docs/architecture.md, "Rooms"): `kind` is 'general', 'group' or 'direct'. A
-- direct room belongs to one pair of users — `direct_key` is "<lower uuid>:<higher uuid>"
-- (the same uuid twice for a user's notes to themself), unique, so concurrent opens of the
-- same pair find one room — and has no name and no owner. Room names stay unique among the
-- other rooms only.
ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'group';
ALTER TABLE rooms ADD COLUMN direct_key TEXT;
UPDATE rooms SET kind = 'general' WHERE is_general = 1;
CREATE UNIQUE INDEX rooms_direct_key ON rooms (direct_key);
DROP INDEX rooms_name_key;
CREATE UNIQUE INDEX rooms_name_key ON rooms (lower(name)) WHERE kind <> 'direct';

-- A member hides a direct room from their list until its next message: hidden while the
-- room's last_seq is not past hidden_seq, so a send never has to touch the members.
ALTER TABLE room_members ADD COLUMN hidden_seq BIGINT;

-- The users chat-service has met (a WebSocket ticket, a member add, a direct room), by name:
-- what `@username` resolves against in `general`, which has no member rows.
CREATE TABLE known_users (
    user_id  TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    seen_at  BIGINT NOT NULL
);
CREATE INDEX known_users_username_idx ON known_users (lower(username));
