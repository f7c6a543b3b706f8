-- Single sign-on with OpenID Connect (docs/architecture.md, "Single sign-on").

-- Which account an identity at a provider signs into: (issuer, subject) is the provider's
-- stable name for a person (OpenID Connect Core 5.7: never the e-mail).
CREATE TABLE user_identities (
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email         TEXT,                  -- the address the provider gave when it was linked
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- Sign-ins under way: one row per redirect to the provider, looked up by the SHA-256 of its
-- `state`, bound to the browser by the SHA-256 of a cookie, spent by the callback (deleted),
-- ten minutes at most.
CREATE TABLE oidc_logins (
    state_hash    TEXT PRIMARY KEY,
    browser_hash  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expires_idx ON oidc_logins (expires_at);

-- An identity waiting to be linked to the existing account with its e-mail: the account's
-- password confirms it (POST /auth/oidc/link). Single use, ten minutes, only the hash kept.
CREATE TABLE oidc_link_requests (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_link_requests_expires_idx ON oidc_link_requests (expires_at);
