use axum::Json;
use axum::extract::State;
use sentinel_api::audit::{AuditEntry, AuditFilter, AuditVerification};
use sentinel_api::error::{ErrorBody, ValidationErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Auth};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Pagination};
use crate::routes::Listed;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(verify_audit))
}

/// The audit trail, newest first: who changed what, when and from where.
#[utoipa::path(
    get,
    path = "/api/audit/",
    tag = "audit",
    params(sentinel_api::page::PageParams, AuditFilter),
    responses(
        (status = 200, body = [AuditEntry], headers(("X-Total-Count" = u64, description = "Rows matching the filter"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_audit(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    Pagination(page): Pagination,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> ApiResult<Listed<AuditEntry>> {
    Ok(Listed(state.store.list_audit(&filter, page).await?))
}

/// Recomputes the whole hash chain and says whether it is intact, and if not, where it breaks.
#[utoipa::path(
    get,
    path = "/api/audit/verify",
    tag = "audit",
    responses((status = 200, body = AuditVerification), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
async fn verify_audit(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
) -> ApiResult<Json<AuditVerification>> {
    Ok(Json(state.store.verify_audit().await?))
}
