//! `/search`: full-text search over the messages of every room the caller can read.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use tokens::actix::AuthUser;

use crate::error::ApiResult;
use crate::ops::search::{Request, Results};
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::store::search::Sort;
use crate::views::{MessageView, PeerView};

/// The order of the hits.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SearchSort {
    /// Newest first (the default).
    Recent,
    /// Best match first, then newest.
    Relevance,
}

/// Only messages that have this.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SearchHas {
    File,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchQuery {
    q: String,
    room_id: Option<i64>,
    from: Option<String>,
    before: Option<String>,
    after: Option<String>,
    has: Option<SearchHas>,
    sort: Option<SearchSort>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The room of a hit, as the room list shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchRoomView {
    id: i64,
    /// `general`, `group` or `direct`.
    #[schema(example = "group")]
    kind: &'static str,
    /// Empty for a direct room (clients show `peer.username`).
    name: String,
    /// The other person of a direct room (the caller themself in their notes); null otherwise.
    peer: Option<PeerView>,
}

/// A range of `message.content` to highlight, in UTF-16 code units (JavaScript string
/// indices): `start` inclusive, `end` exclusive.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Highlight {
    start: usize,
    end: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchHit {
    message: MessageView,
    room: SearchRoomView,
    /// Every occurrence of a searched word or phrase (of a word starting with the last bare
    /// word), compared case- and accent-blind; sorted, not overlapping.
    highlights: Vec<Highlight>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchPage {
    hits: Vec<SearchHit>,
    /// What to send as `cursor` for the next page (with the same query); null on the last.
    next_cursor: Option<String>,
}

impl From<Results> for SearchPage {
    fn from(results: Results) -> Self {
        Self {
            hits: results
                .hits
                .into_iter()
                .map(|hit| SearchHit {
                    message: MessageView::from(&hit.message),
                    room: SearchRoomView {
                        id: hit.room.id,
                        kind: hit.room.kind.as_str(),
                        name: hit.room.name.clone(),
                        peer: hit.peer.map(|p| PeerView {
                            user_id: p.user_id,
                            username: p.username,
                        }),
                    },
                    highlights: hit
                        .highlights
                        .into_iter()
                        .map(|(start, end)| Highlight { start, end })
                        .collect(),
                })
                .collect(),
            next_cursor: results.next_cursor,
        }
    }
}

#[utoipa::path(tag = "search", security(("bearer" = [])),
    params(
        ("q" = String, Query, min_length = 1, max_length = 500, description = "Words (all must be found), \"quoted phrases\", -excluded words and -\"phrases\"; the last bare word also finds the words it starts. Compared case- and accent-blind, with no stop words. Filters inside q: from:username, in:roomname (a group room, or general), in:@username (your direct room with that user), has:file, before:YYYY-MM-DD (created before that UTC day starts), after:YYYY-MM-DD (created from the next UTC day on). An unknown user or room finds nothing; a malformed filter is searched as words. Only filters, or only exclusions, list the matching messages newest first."),
        ("roomId" = Option<i64>, Query, description = "only this room (404 room_not_found unless you can read it)"),
        ("from" = Option<String>, Query, description = "only messages by this username (any case)"),
        ("before" = Option<String>, Query, description = "only messages created before this time (a day: before it starts, UTC)"),
        ("after" = Option<String>, Query, description = "only messages created after this time (a day: from the next day on, UTC)"),
        ("has" = Option<SearchHas>, Query, description = "file: only messages with attachments"),
        ("sort" = Option<SearchSort>, Query, description = "recent (default: newest first) or relevance (best match first, then newest)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 50, description = "1 to 50 (default 20)"),
        ("cursor" = Option<String>, Query, description = "the nextCursor of the previous page (same query and sort)"),
    ),
    responses((status = 200, description = "Messages of the rooms the caller can read now (general, their group and direct rooms) that match; deleted messages are never found, edited ones by their new text", body = SearchPage),
              (status = 400, description = "validation_failed (a bad limit, before or after) or invalid_cursor", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "room_not_found: roomId names no room the caller can read", body = service_kit::openapi::ProblemDoc),
              (status = 429, description = "rate_limited: CHAT_SEARCHES_PER_MINUTE per user, with Retry-After", body = service_kit::openapi::ProblemDoc)))]
#[get("/search")]
pub(crate) async fn search(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let request = Request {
        q: &query.q,
        room_id: query.room_id,
        from: query.from.as_deref(),
        before: query.before.as_deref(),
        after: query.after.as_deref(),
        has_file: matches!(query.has, Some(SearchHas::File)),
        sort: match query.sort {
            Some(SearchSort::Relevance) => Sort::Relevance,
            Some(SearchSort::Recent) | None => Sort::Recent,
        },
        limit: query.limit,
        cursor: query.cursor.as_deref(),
    };
    let results = ops::search::search(&state, &Caller::from(&user), request).await?;
    Ok(HttpResponse::Ok().json(SearchPage::from(results)))
}
