-- E-mail verification (docs/architecture.md, "E-mail verification"): the address an account
-- proved it receives mail at, and the single-use links sent to prove it.

-- When the current address was verified; NULL: not (yet). A change of address clears it.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- One row per link sent: only the token's SHA-256 is kept. A link proves the address it was
-- sent to (email), so a link sent before an address change proves nothing after it.
CREATE TABLE email_verifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX email_verifications_token_hash_key ON email_verifications (token_hash);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id);
CREATE INDEX email_verifications_expires_idx ON email_verifications (expires_at);
