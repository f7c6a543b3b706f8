-- Uploaded files (docs/architecture.md, "Files"). An upload belongs to its owner until a
-- message takes it: a conditional UPDATE in the message's own transaction sets `message_id`
-- and `room_id` (only where `message_id IS NULL AND deleted_at IS NULL`), so two messages can
-- never take the same upload. The bytes live in object storage under `uploads/<id>` and
-- `thumbnails/<id>`; a row is written before the bytes are streamed (`completed_at` stays
-- NULL until they are stored) so that a crash leaves a row for the sweeper, never an object
-- nobody knows about. Deleting a message sets `deleted_at` on its uploads (in the delete's
-- transaction); the sweeper soft-deletes uploads never attached after the TTL and those of
-- deleted rooms, claims deleted rows (`sweeping_at`), removes the objects, then the rows.
-- Timestamps are Unix milliseconds; the old `messages.file_url` column stays unused.
CREATE TABLE uploads (
    id                TEXT PRIMARY KEY,
    owner_user_id     TEXT NOT NULL,
    name              TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    size              INTEGER NOT NULL DEFAULT 0,
    width             INTEGER,
    height            INTEGER,
    thumb_width       INTEGER,
    thumb_height      INTEGER,
    thumb_size        INTEGER,
    thumb_content_type TEXT,
    created_at        INTEGER NOT NULL,
    completed_at      INTEGER,
    message_id        INTEGER,
    room_id           INTEGER,
    position          INTEGER NOT NULL DEFAULT 0,
    deleted_at        INTEGER,
    sweeping_at       INTEGER
);
CREATE INDEX uploads_owner_live_idx ON uploads (owner_user_id) WHERE deleted_at IS NULL;
CREATE INDEX uploads_message_idx ON uploads (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX uploads_unattached_idx ON uploads (created_at) WHERE message_id IS NULL;
CREATE INDEX uploads_deleted_idx ON uploads (deleted_at) WHERE deleted_at IS NOT NULL;
