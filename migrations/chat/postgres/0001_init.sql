-- chat-service schema (PostgreSQL).
-- User ids are UUID text, timestamps Unix milliseconds and flags 0/1 integers, so that one
-- query code path serves SQLite and PostgreSQL (docs/decisions.md). Integer columns are
-- BIGINT so both engines hand back the same Rust type.

CREATE TABLE rooms (
    id                      BIGSERIAL PRIMARY KEY,
    name                    TEXT NOT NULL,
    owner_user_id           TEXT,
    owner_username_snapshot TEXT,
    is_general              BIGINT NOT NULL DEFAULT 0 CHECK (is_general IN (0, 1)),
    -- The last message sequence number given out in this room. Bumped in the transaction
    -- that inserts the message, so seqs have no gaps and no duplicates.
    last_seq                BIGINT NOT NULL DEFAULT 0,
    created_at              BIGINT NOT NULL
);
CREATE UNIQUE INDEX rooms_name_key ON rooms (lower(name));

-- The general room: every authenticated user reads and writes it without a membership row.
INSERT INTO rooms (name, owner_user_id, owner_username_snapshot, is_general, last_seq, created_at)
VALUES ('general', NULL, NULL, 1, 0, 0);

CREATE TABLE room_members (
    room_id           BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL,
    username_snapshot TEXT NOT NULL,
    joined_at         BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user_idx ON room_members (user_id);

-- Read markers for every room the user sees, general included (which has no member rows).
CREATE TABLE read_markers (
    room_id       BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    last_read_seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE messages (
    id                BIGSERIAL PRIMARY KEY,
    room_id           BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq               BIGINT NOT NULL,
    user_id           TEXT NOT NULL,
    username_snapshot TEXT NOT NULL,
    type              TEXT NOT NULL DEFAULT 'text',
    content           TEXT NOT NULL,
    file_url          TEXT,
    client_msg_id     TEXT,
    created_at        BIGINT NOT NULL,
    edited_at         BIGINT,
    deleted_at        BIGINT
);
CREATE UNIQUE INDEX messages_room_seq_key ON messages (room_id, seq);
-- A retried send (same user, same clientMsgId) finds the original instead of a second row.
CREATE UNIQUE INDEX messages_user_client_msg_key ON messages (user_id, client_msg_id);

-- Single-use WebSocket tickets (30 s), stored hashed; consumed by DELETE ... RETURNING.
CREATE TABLE ws_tickets (
    ticket_hash      TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    username         TEXT NOT NULL,
    token_expires_at BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX ws_tickets_expires_idx ON ws_tickets (expires_at);
