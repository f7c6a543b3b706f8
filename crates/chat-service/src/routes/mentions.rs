//! `/mentions`: the caller's recent mentions across rooms.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use tokens::actix::AuthUser;

use crate::error::ApiResult;
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::views::MessageView;

#[derive(Deserialize)]
pub(crate) struct MentionsQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MentionsPage {
    /// Newest first; each carries its `roomId`.
    messages: Vec<MessageView>,
    /// Older mentions follow: ask again with `before` = the last message's `id`.
    has_more: bool,
}

#[utoipa::path(tag = "messages", security(("bearer" = [])),
    params(("before" = Option<i64>, Query, minimum = 1, description = "only mentions in messages with a smaller id (the last id of the previous page)"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1 to 100 (default 50)")),
    responses((status = 200, description = "The messages that mention the caller (by name, or @room), newest first, in rooms the caller can read now; deleted messages drop out", body = MentionsPage),
              (status = 400, description = "validation_failed: a bad before or limit", body = service_kit::openapi::ProblemDoc)))]
#[get("/mentions")]
pub(crate) async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<MentionsQuery>,
) -> ApiResult<HttpResponse> {
    let (messages, has_more) =
        ops::mentions::list(&state, &Caller::from(&user), query.before, query.limit).await?;
    Ok(HttpResponse::Ok().json(MentionsPage {
        messages: messages.iter().map(MessageView::from).collect(),
        has_more,
    }))
}
