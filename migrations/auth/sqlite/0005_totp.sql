-- A second factor: TOTP (RFC 6238) with recovery codes, and the log-in challenges that wait
-- for a code (docs/architecture.md, "Second factor").

-- Secrets auth-service makes for itself on first start, shared by every replica through the
-- database: the key the TOTP secrets are encrypted under when TOTP_ENCRYPTION_KEY is not set.
CREATE TABLE instance_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- One TOTP secret per account: pending (enabled_at NULL) from enrolment until a code confirms
-- it, then enabled. The secret is AES-256-GCM ciphertext (nonce, ciphertext and tag, base64)
-- bound to the user id. last_step is the last time step whose code was accepted: a code of
-- that step or an earlier one is refused, so a code works once.
CREATE TABLE user_totp (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    enabled_at INTEGER,
    last_step  INTEGER NOT NULL DEFAULT -1,
    created_at INTEGER NOT NULL
);

-- Ten single-use recovery codes per account with TOTP on, kept as their SHA-256 only.
CREATE TABLE mfa_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- A right password for an account with TOTP on: a challenge that a code completes
-- (POST /auth/login/mfa). Single use, a few minutes, a few wrong codes; the hash kept.
CREATE TABLE mfa_challenges (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
