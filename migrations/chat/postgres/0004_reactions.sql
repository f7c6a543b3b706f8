-- Reactions: one row per (message, emoji, user). Adding or removing one takes the room's next
-- revision and stamps it on the message (messages.rev), like an edit, so the change feed
-- replays reactions too. A deleted message loses its reactions.
CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);
