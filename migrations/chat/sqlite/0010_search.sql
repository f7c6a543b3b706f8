-- Full-text search (docs/architecture.md, "Search"): an FTS5 index over the messages' text,
-- kept by triggers in the transaction of each change, so an edit is found by its new text
-- only and a delete (which empties the text) is found no more. An external-content table:
-- the text lives once, in `messages`. unicode61 splits words at anything but letters and
-- digits, folds case and removes diacritics ("cafe" finds "café"); there are no stop words.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The messages stored before the index existed.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

-- Only a change of the text re-indexes (a reaction stamps `rev` and leaves the index alone).
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
