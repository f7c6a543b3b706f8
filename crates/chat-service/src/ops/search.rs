//! Search (docs/architecture.md, "Search"): the messages of every room the caller can read
//! now that match a query, a page at a time, with the ranges to highlight.

use service_kit::ratelimit::Quota;

use super::{Caller, rate_limit, visible_room};
use crate::domain::search::{self, MAX_QUERY_CHARS, SearchQuery};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::messages::{self, Message};
use crate::store::rooms::{self, Peer, Room};
use crate::store::search::{self as store, After, Search, Sort};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 50;

/// What a search asks, as the route received it.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub q: &'a str,
    pub room_id: Option<i64>,
    pub from: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub has_file: bool,
    pub sort: Sort,
    pub limit: Option<i64>,
    pub cursor: Option<&'a str>,
}

/// A message found, its room as the caller sees it, and the ranges of its text to highlight
/// (UTF-16 code units).
pub struct Hit {
    pub message: Message,
    pub room: Room,
    pub peer: Option<Peer>,
    pub highlights: Vec<(usize, usize)>,
}

pub struct Results {
    pub hits: Vec<Hit>,
    /// What to send as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// The form of a cursor, for the OpenAPI document: the last hit's score (the bits of an
/// IEEE 754 double, in hex) and its message id.
pub const CURSOR_PATTERN: &str = r"^[0-9a-f]{16}\.[0-9]{1,18}$";

fn parse_cursor(raw: &str) -> ApiResult<After> {
    let (score, id) = raw.split_once('.').ok_or(ApiError::InvalidCursor)?;
    if score.len() != 16
        || !score
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        || id.is_empty()
        || id.len() > 18
        || !id.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ApiError::InvalidCursor);
    }
    Ok(After {
        score: f64::from_bits(u64::from_str_radix(score, 16).map_err(|_| ApiError::InvalidCursor)?),
        id: id.parse().map_err(|_| ApiError::InvalidCursor)?,
    })
}

/// `before`/`after`: a day or an RFC 3339 date-time, read by `parse`.
fn time_param(field: &'static str, text: &str, parse: fn(&str) -> Option<i64>) -> ApiResult<i64> {
    parse(text).ok_or_else(|| {
        ApiError::field(field, "must be a day (YYYY-MM-DD) or an RFC 3339 date-time")
    })
}

fn cursor(after: After) -> String {
    format!("{:016x}.{}", after.score.to_bits(), after.id)
}

/// Runs a search for the caller (within `CHAT_SEARCHES_PER_MINUTE`).
pub async fn search(state: &AppState, caller: &Caller, req: Request<'_>) -> ApiResult<Results> {
    let chars = req.q.chars().count();
    if !(1..=MAX_QUERY_CHARS).contains(&chars) {
        return Err(ApiError::field("q", "must be 1 to 500 characters"));
    }
    if req.limit.is_some_and(|l| !(1..=MAX_LIMIT).contains(&l)) {
        return Err(ApiError::field("limit", "must be 1 to 50"));
    }
    let after = req.cursor.map(parse_cursor).transpose()?;
    let mut query = SearchQuery::parse(req.q);
    if let Some(from) = req.from.map(str::trim).filter(|f| !f.is_empty()) {
        query.add_from(from);
    }
    if let Some(before) = req.before {
        query.restrict_before(time_param("before", before, search::parse_time)?);
    }
    if let Some(after) = req.after {
        query.restrict_after(time_param("after", after, search::after_time)?);
    }
    query.has_file |= req.has_file;
    let quota = Quota::per_minute(state.settings.limits.searches_per_minute);
    rate_limit(state, &format!("search:{}", caller.id), quota).await?;
    if let Some(room) = req.room_id {
        visible_room(state, caller, room).await?;
    }
    let nothing = Results {
        hits: Vec::new(),
        next_cursor: None,
    };
    // Nothing to search by (only punctuation, say): nothing found, rather than everything.
    let filtered = !query.from.is_empty()
        || !query.rooms.is_empty()
        || query.has_file
        || query.before.is_some()
        || query.after.is_some();
    if !query.has_terms() && query.excluded.is_empty() && !filtered {
        return Ok(nothing);
    }
    let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
    // Messages the caller does not see (blocked or hidden authors) are never found.
    let hidden = super::messages::HideSet::of(state, caller).await?;
    let hidden_authors = hidden.authors();
    let mut found = store::find(
        &state.db,
        &Search {
            caller: caller.id,
            hidden_authors: &hidden_authors,
            query: &query,
            room_id: req.room_id,
            sort: req.sort,
            after,
            limit: limit + 1,
            rank_window: i64::from(state.settings.limits.search_rank_window),
        },
    )
    .await?;
    let more = found.len() as i64 > limit;
    found.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = found.last().filter(|_| more).map(|last| {
        cursor(After {
            score: last.score,
            id: last.id,
        })
    });
    let ids: Vec<i64> = found.iter().map(|f| f.id).collect();
    let mut page = messages::by_ids(&state.db.pool, &ids).await?;
    super::messages::as_clients_see(state, &hidden, &mut page).await?;
    let mut room_ids: Vec<i64> = page.iter().map(|m| m.room_id).collect();
    room_ids.sort_unstable();
    room_ids.dedup();
    let rooms = rooms::with_peers(&state.db.pool, caller.id, &room_ids).await?;
    let mut hits = Vec::with_capacity(found.len());
    for id in ids {
        let Some(message) = page.iter().find(|m| m.id == id) else {
            continue; // removed with its room in between
        };
        let Some((room, peer)) = rooms.iter().find(|(r, _)| r.id == message.room_id) else {
            continue;
        };
        hits.push(Hit {
            highlights: query.highlights(&message.content),
            message: message.clone(),
            room: room.clone(),
            peer: peer.clone(),
        });
    }
    Ok(Results { hits, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let rule = regex::Regex::new(CURSOR_PATTERN).ok();
        for after in [
            After { score: 0.0, id: 1 },
            After {
                score: 0.123_456_789,
                id: 987_654_321,
            },
            After {
                score: -3.5,
                id: i64::from(u32::MAX),
            },
        ] {
            let text = cursor(after);
            assert!(rule.as_ref().is_some_and(|r| r.is_match(&text)));
            assert_eq!(parse_cursor(&text).ok(), Some(after));
        }
        for bad in [
            "",
            "1",
            "0000000000000000.",
            "000000000000000g.1",
            "0000000000000000.1x",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
