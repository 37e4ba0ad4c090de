use axum::Json;
use axum::extract::State;
use sentinel_api::PolicyId;
use sentinel_api::error::{ErrorBody, MessageResponse, ValidationErrorBody};
use sentinel_api::guard::PolicyTestResponse;
use sentinel_api::page::PageParams;
use sentinel_api::policy::{
    PolicyCreate, PolicyFilter, PolicyResponse, PolicyTemplateResponse, PolicyTestRequest,
    PolicyUpdate, PolicyVersionDiff, PolicyVersionResponse, TemplateInstantiate, ValidateRequest,
    ValidateResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Analyst, Auth, Read};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Pagination, PathId, PathInts};
use crate::routes::Listed;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(get_policy, update_policy, delete_policy))
        .routes(routes!(test_policy))
        .routes(routes!(list_templates))
        .routes(routes!(instantiate_template))
        .routes(routes!(validate_policy))
        .routes(routes!(list_policy_versions))
        .routes(routes!(get_policy_version))
        .routes(routes!(diff_policy_versions))
        .routes(routes!(rollback_policy))
        .routes(routes!(promote_policy))
}

/// The policy's versions, newest first. A version is written by every change to its definition,
/// status, severity, performance mode, intervention (type or config) or enforcement.
#[utoipa::path(
    get,
    path = "/api/policies/{policy_id}/versions",
    tag = "policies",
    params(("policy_id" = i64, Path), PageParams),
    responses(
        (status = 200, body = [PolicyVersionResponse], headers(("X-Total-Count" = u64))),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_policy_versions(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    PathId(id): PathId<PolicyId>,
    Pagination(page): Pagination,
) -> ApiResult<Listed<PolicyVersionResponse>> {
    Ok(Listed(service::versions::list(&state, id, page).await?))
}

/// One version of the policy.
#[utoipa::path(
    get,
    path = "/api/policies/{policy_id}/versions/{version}",
    tag = "policies",
    params(("policy_id" = i64, Path), ("version" = i64, Path, minimum = 1)),
    responses(
        (status = 200, body = PolicyVersionResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn get_policy_version(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    path: PathInts<2>,
) -> ApiResult<Json<PolicyVersionResponse>> {
    let [id, version] = path.0;
    Ok(Json(
        service::versions::get(&state, PolicyId(id), version).await?,
    ))
}

/// What differs from version `from` to version `to`: each differing field with both values, and
/// a line diff of the definition.
#[utoipa::path(
    get,
    path = "/api/policies/{policy_id}/versions/{from}/diff/{to}",
    tag = "policies",
    params(
        ("policy_id" = i64, Path),
        ("from" = i64, Path, minimum = 1),
        ("to" = i64, Path, minimum = 1),
    ),
    responses(
        (status = 200, body = PolicyVersionDiff),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn diff_policy_versions(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    path: PathInts<3>,
) -> ApiResult<Json<PolicyVersionDiff>> {
    let [id, from, to] = path.0;
    Ok(Json(
        service::versions::diff(&state, PolicyId(id), from, to).await?,
    ))
}

/// Gives the policy back the settings of version `version` (definition, severity, performance
/// mode, intervention, enforcement) as a new version; earlier versions are never changed. The
/// status stays as it is. Audited as `policy.rollback`.
#[utoipa::path(
    post,
    path = "/api/policies/{policy_id}/versions/{version}/rollback",
    tag = "policies",
    params(("policy_id" = i64, Path), ("version" = i64, Path, minimum = 1)),
    responses(
        (status = 200, body = PolicyResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn rollback_policy(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    path: PathInts<2>,
) -> ApiResult<Json<PolicyResponse>> {
    let [id, version] = path.0;
    Ok(Json(
        service::versions::rollback(
            &state,
            &auth.audit(),
            PolicyId(id),
            version,
            auth.principal.user_id(),
        )
        .await?,
    ))
}

/// Promotes a shadow policy: `enforcement` becomes `enforce` and `status` `open`, as a new
/// version. A policy that is not in shadow mode answers 409; one whose definition does not
/// compile, 422. Audited as `policy.promote`.
#[utoipa::path(
    post,
    path = "/api/policies/{policy_id}/promote",
    tag = "policies",
    params(("policy_id" = i64, Path)),
    responses(
        (status = 200, body = PolicyResponse),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn promote_policy(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    PathId(id): PathId<PolicyId>,
) -> ApiResult<Json<PolicyResponse>> {
    Ok(Json(
        service::versions::promote(&state, &auth.audit(), id, auth.principal.user_id()).await?,
    ))
}

/// Policies in id order, optionally filtered by status and category.
#[utoipa::path(
    get,
    path = "/api/policies/",
    tag = "policies",
    params(PageParams, PolicyFilter),
    responses(
        (status = 200, body = [PolicyResponse], headers(("X-Total-Count" = u64, description = "Rows matching the filter"))),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_policies(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    Pagination(page): Pagination,
    ApiQuery(filter): ApiQuery<PolicyFilter>,
) -> ApiResult<Listed<PolicyResponse>> {
    Ok(Listed(
        service::policies::list(&state, &filter, page).await?,
    ))
}

/// Creates a policy. Its status is always `draft`.
#[utoipa::path(
    post,
    path = "/api/policies/",
    tag = "policies",
    request_body = PolicyCreate,
    responses((status = 200, body = PolicyResponse), (status = 422, body = ValidationErrorBody))
)]
async fn create_policy(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    ApiJson(body): ApiJson<PolicyCreate>,
) -> ApiResult<Json<PolicyResponse>> {
    Ok(Json(
        service::policies::create(&state, &auth.audit(), body, auth.principal.user_id()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/policies/{policy_id}",
    tag = "policies",
    params(("policy_id" = i64, Path)),
    responses((status = 200, body = PolicyResponse), (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody))
)]
async fn get_policy(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    PathId(id): PathId<PolicyId>,
) -> ApiResult<Json<PolicyResponse>> {
    Ok(Json(service::policies::get(&state, id).await?))
}

/// Partial update; `null` for a required field is a 422.
#[utoipa::path(
    put,
    path = "/api/policies/{policy_id}",
    tag = "policies",
    params(("policy_id" = i64, Path)),
    request_body = PolicyUpdate,
    responses((status = 200, body = PolicyResponse), (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody))
)]
async fn update_policy(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    PathId(id): PathId<PolicyId>,
    ApiJson(body): ApiJson<PolicyUpdate>,
) -> ApiResult<Json<PolicyResponse>> {
    Ok(Json(
        service::policies::update(&state, &auth.audit(), id, body, auth.principal.user_id())
            .await?,
    ))
}

/// Removes the policy from the API; its past violations keep referring to it.
#[utoipa::path(
    delete,
    path = "/api/policies/{policy_id}",
    tag = "policies",
    params(("policy_id" = i64, Path)),
    responses((status = 200, body = MessageResponse), (status = 404, body = ErrorBody))
)]
async fn delete_policy(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    PathId(id): PathId<PolicyId>,
) -> ApiResult<Json<MessageResponse>> {
    service::policies::delete(&state, &auth.audit(), id).await?;
    Ok(Json(MessageResponse {
        message: "Policy deleted successfully".into(),
    }))
}

/// Runs the engine on a text against this one policy, whatever its status. A definition that
/// does not compile answers 200 with `test_passed: false` and the errors.
#[utoipa::path(
    post,
    path = "/api/policies/{policy_id}/test",
    tag = "policies",
    params(("policy_id" = i64, Path)),
    request_body = PolicyTestRequest,
    responses(
        (status = 200, body = PolicyTestResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn test_policy(
    _auth: Auth<Analyst>,

    State(state): State<AppState>,
    PathId(id): PathId<PolicyId>,
    ApiJson(body): ApiJson<PolicyTestRequest>,
) -> ApiResult<Json<PolicyTestResponse>> {
    Ok(Json(service::guard::test_policy(&state, id, body).await?))
}

/// Active policy templates.
#[utoipa::path(
    get,
    path = "/api/policies/templates/",
    tag = "policies",
    params(PageParams),
    responses((status = 200, body = [PolicyTemplateResponse], headers(("X-Total-Count" = u64))))
)]
async fn list_templates(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    Pagination(page): Pagination,
) -> ApiResult<Listed<PolicyTemplateResponse>> {
    Ok(Listed(service::policies::templates(&state, page).await?))
}

/// Creates a draft policy from a template.
#[utoipa::path(
    post,
    path = "/api/policies/templates/{template_id}/instantiate",
    tag = "policies",
    params(("template_id" = i64, Path)),
    request_body(content = Option<TemplateInstantiate>, description = "Optional overrides"),
    responses((status = 200, body = PolicyResponse), (status = 404, body = ErrorBody))
)]
async fn instantiate_template(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    PathId(id): PathId,
    body: axum::body::Bytes,
) -> ApiResult<Json<PolicyResponse>> {
    let overrides = if body.iter().all(u8::is_ascii_whitespace) {
        TemplateInstantiate::default()
    } else {
        crate::extract::parse_json_body(&body)?
    };
    Ok(Json(
        service::policies::instantiate(
            &state,
            &auth.audit(),
            id,
            overrides,
            auth.principal.user_id(),
        )
        .await?,
    ))
}

/// Checks a definition without saving it: errors with line, column and hint, and the detectors
/// it uses.
#[utoipa::path(
    post,
    path = "/api/policies/validate",
    tag = "policies",
    request_body = ValidateRequest,
    responses((status = 200, body = ValidateResponse), (status = 422, body = ValidationErrorBody))
)]
async fn validate_policy(
    _auth: Auth<Analyst>,
    ApiJson(body): ApiJson<ValidateRequest>,
) -> Json<ValidateResponse> {
    let v = sentinel_engine::validate(&body.definition);
    Json(ValidateResponse {
        valid: v.valid,
        errors: v
            .errors
            .iter()
            .map(service::policies::definition_error)
            .collect(),
        detectors: v.detectors,
    })
}
