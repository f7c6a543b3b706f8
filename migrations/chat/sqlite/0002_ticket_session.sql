-- The session (`sid` of the access token) that bought a WebSocket ticket, so the connection
-- it opens can be closed when that session is revoked. NULL for tokens without a session.
ALTER TABLE ws_tickets ADD COLUMN session_id TEXT;
