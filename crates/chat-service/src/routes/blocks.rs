//! `/blocks`: the users the caller blocks.

use actix_web::{HttpResponse, delete, get, put, web};
use serde::Serialize;
use service_kit::RequestId;
use tokens::actix::AuthUser;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::ops::{self, Caller};
use crate::startup::AppState;
use crate::views::BlockView;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BlockList {
    users: Vec<BlockView>,
}

#[utoipa::path(tag = "blocks", security(("bearer" = [])),
    responses((status = 200, description = "The users the caller blocks, the latest first", body = BlockList)))]
#[get("/blocks")]
pub(crate) async fn list(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let blocks = ops::blocks::list(&state, &Caller::from(&user)).await?;
    Ok(HttpResponse::Ok().json(BlockList {
        users: blocks.iter().map(BlockView::from).collect(),
    }))
}

#[utoipa::path(tag = "blocks", security(("bearer" = [])), params(("userId" = Uuid, Path)),
    responses((status = 200, description = "Blocked (blocking again changes nothing): no direct messages between the two either way, and their messages come hidden (`hidden: \"blocked\"`) to the caller", body = BlockView),
              (status = 403, description = "too_many_blocks: CHAT_MAX_BLOCKS already", body = service_kit::openapi::ProblemDoc),
              (status = 404, description = "user_not_found", body = service_kit::openapi::ProblemDoc),
              (status = 409, description = "cannot_target_self", body = service_kit::openapi::ProblemDoc),
              (status = 503, description = "auth_unavailable: the user could not be looked up", body = service_kit::openapi::ProblemDoc)))]
#[put("/blocks/{userId}")]
pub(crate) async fn block(
    state: web::Data<AppState>,
    user: AuthUser,
    request_id: RequestId,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let block = ops::blocks::block(
        &state,
        &Caller::from(&user),
        path.into_inner(),
        request_id.as_str(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(BlockView::from(&block)))
}

#[utoipa::path(tag = "blocks", security(("bearer" = [])), params(("userId" = Uuid, Path)),
    responses((status = 204, description = "Not blocked (any more)"),
              (status = 409, description = "cannot_target_self", body = service_kit::openapi::ProblemDoc)))]
#[delete("/blocks/{userId}")]
pub(crate) async fn unblock(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    ops::blocks::unblock(&state, &Caller::from(&user), path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
