-- Mentions (docs/architecture.md, "Mentions"): `@username` and `@room` are resolved when a
-- message is sent or edited. The message keeps the users it names (`mention_ids`, uuids
-- separated by spaces) and whether it used `@room`; one `mentions` row per mentioned user
-- (every member for `@room`, the author never) drives the per-room unread mention count and
-- `GET /mentions`. An edit replaces the rows, a delete removes them.
ALTER TABLE messages ADD COLUMN mention_ids TEXT;
ALTER TABLE messages ADD COLUMN mentions_room INTEGER NOT NULL DEFAULT 0;

CREATE TABLE mentions (
    user_id    TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    room_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX mentions_user_room_seq_idx ON mentions (user_id, room_id, seq);
