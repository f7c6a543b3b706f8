//! Full-text search over messages (docs/architecture.md, "Search"). The index part of the
//! statement is per engine — PostgreSQL's tsquery functions over the generated `search`
//! column, SQLite's FTS5 `MATCH` over `messages_fts` (migrations 0010) — and built from the
//! parsed terms only: every token is bound, and quoted by the database (PostgreSQL) or here
//! inside an FTS5 string (SQLite). The filters and the order are the same SQL for both.

use anyhow::Context;
use store_kit::{Database, Engine};
use uuid::Uuid;

use super::{Binds, Value};
use crate::domain::search::{RoomFilter, SearchQuery, Term};

/// The order of the hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Newest first.
    #[default]
    Recent,
    /// Best match first (PostgreSQL's `ts_rank_cd`, SQLite's `bm25`), then newest, among the
    /// newest [`Search::rank_window`] matches.
    Relevance,
}

/// Where a page starts: below this (score, message id) in the order of the sort (the score
/// is 0 for [`Sort::Recent`], which orders by id alone).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct After {
    pub score: f64,
    pub id: i64,
}

/// One search.
#[derive(Debug, Clone)]
pub struct Search<'a> {
    pub caller: Uuid,
    /// Authors whose messages the caller does not see: never found.
    pub hidden_authors: &'a [Uuid],
    pub query: &'a SearchQuery,
    /// Only this room (the caller may read it: checked before).
    pub room_id: Option<i64>,
    pub sort: Sort,
    pub after: Option<After>,
    pub limit: i64,
    /// [`Sort::Relevance`] ranks the newest this many matches.
    pub rank_window: i64,
}

/// A message found, and its score in the sort (higher first; 0 for [`Sort::Recent`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub id: i64,
    pub score: f64,
}

/// The messages the caller can read now that match, in the sort's order, at most `limit`.
pub async fn find(db: &Database, search: &Search<'_>) -> anyhow::Result<Vec<Found>> {
    let q = search.query;
    let mut binds = Binds::default();
    let caller = binds.text(search.caller.to_string());
    // Only placeholders and fixed SQL are formatted into the statement; every value is bound.
    // A typed zero: PostgreSQL reads `0.0` as numeric.
    let mut score = "CAST(0 AS DOUBLE PRECISION)".to_owned();
    // What is read, and the key of its newest-first order (the message id).
    let mut from = "messages m".to_owned();
    let mut key = "m.id";
    let mut conditions = vec!["m.deleted_at IS NULL".to_owned()];
    match search.room_id {
        Some(room) => conditions.push(format!("m.room_id = {}", binds.push(Value::Int(room)))),
        // Two hashed sets on PostgreSQL, checked per message (a join with the caller's rooms
        // was planned as a nested loop over them, slow for a member of many rooms).
        None => conditions.push(format!(
            "(m.room_id IN (SELECT id FROM rooms WHERE is_general = 1)
              OR EXISTS (SELECT 1 FROM room_members x
                         WHERE x.room_id = m.room_id AND x.user_id = {caller}))"
        )),
    }
    match db.engine {
        Engine::Postgres => {
            let mut wanted: Vec<String> = q.terms.iter().map(|t| phrase(&mut binds, t)).collect();
            if let Some(prefix) = &q.prefix {
                wanted.push(pg_prefix(&mut binds, prefix));
            }
            if !wanted.is_empty() {
                let query = format!("({})", wanted.join(" && "));
                conditions.push(format!("m.search @@ {query}"));
                if search.sort == Sort::Relevance {
                    score = format!("ts_rank_cd(m.search, {query})::float8");
                }
            }
            for term in &q.excluded {
                conditions.push(format!("NOT (m.search @@ {})", phrase(&mut binds, term)));
            }
        }
        Engine::Sqlite => {
            let mut wanted: Vec<String> = q.terms.iter().map(|t| fts_phrase(t, false)).collect();
            if let Some(prefix) = &q.prefix {
                wanted.push(fts_phrase(prefix, true));
            }
            let unwanted: Vec<String> = q.excluded.iter().map(|t| fts_phrase(t, false)).collect();
            if wanted.is_empty() {
                if !unwanted.is_empty() {
                    let m = binds.text(unwanted.join(" OR "));
                    conditions.push(format!(
                        "m.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH {m})"
                    ));
                }
            } else {
                let mut expr = format!("({})", wanted.join(" AND "));
                if !unwanted.is_empty() {
                    expr = format!("{expr} NOT ({})", unwanted.join(" OR "));
                }
                // The index drives: FTS5 hands its matches out newest (highest rowid) first
                // and stops at the limit, with the cursor as a rowid range.
                from = "messages_fts JOIN messages m ON m.id = messages_fts.rowid".to_owned();
                key = "messages_fts.rowid";
                conditions.push(format!("messages_fts MATCH {}", binds.text(expr)));
                if search.sort == Sort::Relevance {
                    // bm25 is lower for better matches: its negation sorts like ts_rank_cd.
                    score = "-bm25(messages_fts)".to_owned();
                }
            }
        }
    }
    for name in &q.from {
        conditions.push(format!(
            "lower(m.username_snapshot) = lower({})",
            binds.text(name.as_str())
        ));
    }
    for room in &q.rooms {
        conditions.push(match room {
            RoomFilter::Named(name) => format!(
                "m.room_id IN (SELECT id FROM rooms WHERE kind <> 'direct' AND lower(name) = lower({}))",
                binds.text(name.as_str())
            ),
            // The caller's direct room with that user (their notes, for their own name).
            RoomFilter::Direct(name) => format!(
                "m.room_id IN (SELECT x.room_id FROM room_members x JOIN rooms d ON d.id = x.room_id
                  WHERE d.kind = 'direct' AND lower(x.username_snapshot) = lower({})
                    AND (x.user_id <> {caller} OR d.direct_key = {caller} || ':' || {caller}))",
                binds.text(name.as_str())
            ),
        });
    }
    if !search.hidden_authors.is_empty() {
        let authors: Vec<String> = search
            .hidden_authors
            .iter()
            .map(|a| binds.text(a.to_string()))
            .collect();
        conditions.push(format!("m.user_id NOT IN ({})", authors.join(", ")));
    }
    if q.has_file {
        conditions.push(
            "EXISTS (SELECT 1 FROM uploads u WHERE u.message_id = m.id AND u.deleted_at IS NULL)"
                .to_owned(),
        );
    }
    if let Some(before) = q.before {
        conditions.push(format!("m.created_at < {}", binds.push(Value::Int(before))));
    }
    if let Some(after) = q.after {
        conditions.push(format!("m.created_at >= {}", binds.push(Value::Int(after))));
    }
    let conditions = conditions.join(" AND ");
    let sql = match search.sort {
        Sort::Recent => {
            let below = match search.after {
                Some(after) => format!("AND {key} < {}", binds.push(Value::Int(after.id))),
                None => String::new(),
            };
            let limit = binds.push(Value::Int(search.limit));
            format!(
                "SELECT m.id, {score} AS score FROM {from} WHERE {conditions} {below}
                 ORDER BY {key} DESC LIMIT {limit}"
            )
        }
        // The newest matches (the window), then those by score: ranking every match of a
        // common word would read and rank a large part of the table.
        Sort::Relevance => {
            let window = binds.push(Value::Int(search.rank_window));
            let below = match search.after {
                Some(after) => {
                    let id = binds.push(Value::Int(after.id));
                    let s = binds.push(Value::Float(after.score));
                    format!("WHERE c.score < {s} OR (c.score = {s} AND c.id < {id})")
                }
                None => String::new(),
            };
            let limit = binds.push(Value::Int(search.limit));
            format!(
                "SELECT c.id, c.score FROM (
                     SELECT m.id, {score} AS score FROM {from} WHERE {conditions}
                     ORDER BY {key} DESC LIMIT {window}) c
                 {below} ORDER BY c.score DESC, c.id DESC LIMIT {limit}"
            )
        }
    };
    // Not a prepared statement: PostgreSQL then plans each search with its words, whose
    // frequencies decide the plan (a generic plan, made after a few runs of a cached
    // statement, would read every match of a common word).
    let query =
        binds.bind_all(sqlx::query_as::<_, (i64, f64)>(sqlx::AssertSqlSafe(sql)).persistent(false));
    let mut tx = db.pool.begin().await.context("starting a search")?;
    if db.engine == Engine::Postgres {
        // A search over many matches is costed past `jit_above_cost`, and compiling it takes
        // longer than running it (docs/decisions.md, "Search").
        sqlx::query("SET LOCAL jit = off")
            .execute(&mut *tx)
            .await
            .context("turning JIT off for a search")?;
    }
    let rows = query
        .fetch_all(&mut *tx)
        .await
        .context("searching messages")?;
    tx.commit().await.context("ending a search")?;
    Ok(rows
        .into_iter()
        .map(|(id, score)| Found { id, score })
        .collect())
}

/// PostgreSQL: the words of a term in a row, split and normalised as the index was.
fn phrase(binds: &mut Binds, term: &Term) -> String {
    format!(
        "phraseto_tsquery('simple', chat_search_text({}))",
        binds.text(term.text())
    )
}

/// PostgreSQL: a term whose last word need only start a word of the text.
fn pg_prefix(binds: &mut Binds, term: &Term) -> String {
    let tokens = term.tokens();
    let (last, head) = match tokens.split_last() {
        Some((last, head)) => (last, head),
        None => return "chat_search_prefix('')".to_owned(),
    };
    let last = format!("chat_search_prefix({})", binds.text(last.as_str()));
    if head.is_empty() {
        return last;
    }
    format!(
        "tsquery_phrase(phraseto_tsquery('simple', chat_search_text({})), {last})",
        binds.text(head.join(" "))
    )
}

/// SQLite: a term as an FTS5 string (a phrase of its words, double quotes doubled), `*` for
/// a prefix.
fn fts_phrase(term: &Term, prefix: bool) -> String {
    let quoted = format!("\"{}\"", term.text().replace('"', "\"\""));
    if prefix { quoted + "*" } else { quoted }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_strings_quote_every_term() {
        let q = SearchQuery::parse(r#"NEAR(a "b c" -d x:* "#);
        let parts: Vec<String> = q
            .terms
            .iter()
            .map(|t| fts_phrase(t, false))
            .chain(q.prefix.iter().map(|t| fts_phrase(t, true)))
            .collect();
        assert_eq!(parts, ["\"NEAR a\"", "\"b c\"", "\"x\"*"]);
    }
}
