-- When each session (refresh-token family) was revoked: logout, session revoke, reuse
-- detection, logout-all, password change or reset, e-mail change. Services that verify access
-- tokens locally read the recent ones (GET /internal/sessions/revoked) to refuse the tokens of
-- a revoked session before they expire; rows older than the access-token lifetime are swept.
CREATE TABLE revoked_sessions (
    session_id TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    reason     TEXT NOT NULL
);
CREATE INDEX revoked_sessions_revoked_at_idx ON revoked_sessions (revoked_at);
