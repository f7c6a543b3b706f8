-- auth-service schema (SQLite).
-- Ids are UUID text and timestamps are Unix milliseconds (INTEGER) so that one query code
-- path serves SQLite and PostgreSQL through sqlx's Any driver (docs/decisions.md).

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    username            TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);
-- E-mails are stored lower-cased; usernames keep their case but are unique without it.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
-- Prefix search uses users_username_lower_key.

-- One row per refresh token. Tokens of one log-in form a family (a session): rotation spends
-- the presented token and issues the next one in the same family.
CREATE TABLE refresh_tokens (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id         TEXT NOT NULL,
    token_hash        TEXT NOT NULL,
    expires_at        INTEGER NOT NULL,
    family_created_at INTEGER NOT NULL,
    family_expires_at INTEGER NOT NULL,
    revoked_at        INTEGER,
    revoked_reason    TEXT,
    replaced_by       TEXT,
    user_agent        TEXT,
    ip                TEXT,
    created_at        INTEGER NOT NULL,
    last_used_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

CREATE TABLE password_reset_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX password_reset_tokens_token_hash_key ON password_reset_tokens (token_hash);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);
CREATE INDEX password_reset_tokens_expires_idx ON password_reset_tokens (expires_at);
