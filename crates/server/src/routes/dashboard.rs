use axum::Json;
use axum::extract::State;
use chrono::Utc;
use sentinel_api::dashboard::{
    ActivityItem, CategoryCount, DashboardStats, PerformanceMetrics, RecentActivityParams,
    ShadowPolicySummary, StatusCount, TimelineParams, TimelinePoint,
};
use sentinel_api::error::ValidationErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard_stats))
        .routes(routes!(events_timeline))
        .routes(routes!(recent_activity))
        .routes(routes!(performance_metrics))
        .routes(routes!(violations_by_category))
        .routes(routes!(policies_by_status))
        .routes(routes!(shadow_policies))
}

/// Every shadow policy with what its recorded hits would have done had it been enforced: how
/// many interactions it would have notified, redacted and blocked (each counted by the action of
/// the policy version that raised it). Promote one with `POST /api/policies/{policy_id}/promote`.
#[utoipa::path(
    get,
    path = "/api/dashboard/shadow",
    tag = "dashboard",
    responses((status = 200, body = [ShadowPolicySummary]))
)]
async fn shadow_policies(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ShadowPolicySummary>>> {
    Ok(Json(
        crate::service::versions::shadow_summary(&state).await?,
    ))
}

#[utoipa::path(get, path = "/api/dashboard/stats", tag = "dashboard", responses((status = 200, body = DashboardStats)))]
async fn dashboard_stats(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> ApiResult<Json<DashboardStats>> {
    Ok(Json(state.store.dashboard_stats().await?))
}

/// One item per UTC date having events in the window, ascending.
#[utoipa::path(
    get,
    path = "/api/dashboard/events/timeline",
    tag = "dashboard",
    params(TimelineParams),
    responses((status = 200, body = [TimelinePoint]), (status = 422, body = ValidationErrorBody))
)]
async fn events_timeline(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<TimelineParams>,
) -> ApiResult<Json<Vec<TimelinePoint>>> {
    if !(1..=365).contains(&params.days) {
        return Err(ApiError::invalid(
            &["query", "days"],
            "Input should be between 1 and 365",
            "range",
        ));
    }
    Ok(Json(
        state.store.events_timeline(params.days, Utc::now()).await?,
    ))
}

/// Newest events and violations merged, newest first.
#[utoipa::path(
    get,
    path = "/api/dashboard/recent-activity",
    tag = "dashboard",
    params(RecentActivityParams),
    responses((status = 200, body = [ActivityItem]), (status = 422, body = ValidationErrorBody))
)]
async fn recent_activity(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<RecentActivityParams>,
) -> ApiResult<Json<Vec<ActivityItem>>> {
    if !(1..=100).contains(&params.limit) {
        return Err(ApiError::invalid(
            &["query", "limit"],
            "Input should be between 1 and 100",
            "range",
        ));
    }
    Ok(Json(state.store.recent_activity(params.limit).await?))
}

/// Average event duration and estimated cost and latency per performance mode.
#[utoipa::path(get, path = "/api/dashboard/performance-metrics", tag = "dashboard", responses((status = 200, body = PerformanceMetrics)))]
async fn performance_metrics(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> ApiResult<Json<PerformanceMetrics>> {
    Ok(Json(PerformanceMetrics {
        avg_event_duration_ms: state.store.avg_event_duration_ms().await?,
        policy_performance: state.store.policy_performance().await?,
        policy_metrics: state
            .store
            .all_policies()
            .await?
            .into_iter()
            .map(|p| {
                let m = state.guard.metrics(p.id);
                sentinel_api::dashboard::PolicyLiveMetrics {
                    policy_id: p.id,
                    name: p.name,
                    evaluations: m.evaluations,
                    hits: m.hits,
                    p50_evaluation_us: m.p50_evaluation_us,
                    p95_evaluation_us: m.p95_evaluation_us,
                }
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/dashboard/violations/by-category", tag = "dashboard", responses((status = 200, body = [CategoryCount])))]
async fn violations_by_category(
    _auth: Auth<Read>,

    State(state): State<AppState>,
) -> ApiResult<Json<Vec<CategoryCount>>> {
    Ok(Json(state.store.violations_by_category().await?))
}

#[utoipa::path(get, path = "/api/dashboard/policies/by-status", tag = "dashboard", responses((status = 200, body = [StatusCount])))]
async fn policies_by_status(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<StatusCount>>> {
    Ok(Json(state.store.policies_by_status().await?))
}
