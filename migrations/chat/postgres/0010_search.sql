-- Full-text search (docs/architecture.md, "Search"). Each message carries a `tsvector` of its
-- text, computed by the database in the statement that writes the text (a generated column),
-- so the index changes in the message's own transaction: an edit is found by its new text
-- only, and a delete (which empties the text) is found no more.
--
-- The `simple` configuration has no stop words and no stemming, so "the", "and" and words
-- of any language are found; unaccent makes "cafe" find "café".
CREATE EXTENSION IF NOT EXISTS unaccent;

-- The text as the index splits it: accents removed, and ASCII punctuation made a space so
-- that words are runs of letters and digits, as in SQLite's index and in the server's
-- highlighting ("x@bob.com" is x, bob and com). IMMUTABLE so that it may feed a generated
-- column; a SQL-standard body is bound when created, so it does not depend on search_path.
CREATE FUNCTION chat_search_text(body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN regexp_replace(unaccent('unaccent'::regdictionary, body), '[[:punct:]]', ' ', 'g');

-- The query for words that start with `word` (one token of the server's parser). The word is
-- quoted here, after chat_search_text, with quotes and backslashes escaped, so none of its
-- characters is ever read as tsquery syntax.
CREATE FUNCTION chat_search_prefix(word text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN to_tsquery('simple',
        '''' || replace(replace(chat_search_text(word), '\', '\\'), '''', '''''') || ''':*');

ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, chat_search_text(content))) STORED;
CREATE INDEX messages_search_idx ON messages USING GIN (search);
