-- The change feed (docs/protocol.md, "Reconnect and sync"): every change to a room's
-- messages (a new message, an edit, a delete) takes the room's next revision in the
-- transaction that makes it, the same way a new message takes the next seq. `messages.rev`
-- is the revision of the message's last change, so "everything changed after rev N" is one
-- range read of an index.
ALTER TABLE rooms ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;

-- Messages stored before the feed existed: their seq is their revision (seqs are gap-free and
-- unique per room), and every room's revision starts where its seqs are.
UPDATE messages SET rev = seq;
UPDATE rooms SET last_rev = last_seq;

CREATE UNIQUE INDEX messages_room_rev_key ON messages (room_id, rev);
