-- Replies: the message a message answers (same room). The quote clients show is read from
-- the original when the reply is read, so it follows the original's edits and deletion.
ALTER TABLE messages ADD COLUMN reply_to_id BIGINT;
