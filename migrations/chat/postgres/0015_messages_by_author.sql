-- A person's own messages in id order: the data export (GET /internal/users/{id}/export)
-- reads them page by page, and an account's deletion renames or deletes them all.
CREATE INDEX messages_user_id_idx ON messages (user_id, id);
-- The same for a person's reactions.
CREATE INDEX reactions_user_idx ON reactions (user_id, message_id);
