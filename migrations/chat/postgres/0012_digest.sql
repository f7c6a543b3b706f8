-- E-mail digests (docs/architecture.md, "Notifications"): every tick reads the direct
-- messages and mentions of the last DIGEST_LOOKBACK_HOURS that are at least
-- DIGEST_AFTER_MINUTES old. This index makes that one range read instead of a scan of every
-- message (docs/decisions.md, "E-mail digests").
CREATE INDEX messages_created_at_idx ON messages (created_at);
