//! `/api/reports/*`: the compliance report of a framework over a period, and usage and cost
//! analytics; JSON by default, CSV with `?format=csv` (or the `.csv` path), and the compliance
//! report as a PDF at the `.pdf` path.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sentinel_api::error::{ErrorBody, ValidationErrorBody};
use sentinel_api::report::{
    ComplianceParams, ComplianceReport, PdfDocument, ReportFormat, UsageParams, UsageReport,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::service::reports::{self, csv};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(compliance_report))
        .routes(routes!(compliance_report_csv))
        .routes(routes!(compliance_report_pdf))
        .routes(routes!(usage_report))
}

fn csv_response(body: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Every table of the compliance report as one CSV answer (`?format=csv` and `.csv`).
fn compliance_csv(report: &ComplianceReport) -> Response {
    csv_response(
        csv::concatenated(&csv::compliance_tables(report)),
        "compliance",
    )
}

async fn build(state: &AppState, params: &ComplianceParams) -> ApiResult<ComplianceReport> {
    Ok(reports::compliance_report(
        &state.store,
        &state.settings,
        params.framework.as_deref(),
        params.since,
        params.until,
    )
    .await?)
}

/// The compliance report of a framework over `[since, until)`: coverage of each control by the
/// enforced and shadow policies (and its gaps), incidents by category, severity, application and
/// model against the previous period of equal length, triage performance (time to acknowledge
/// and resolve, false-positive rates per policy and detector), human-oversight evidence from the
/// audit trail, the retention setting against the six-month rule, and the audit chain's
/// integrity. `?format=csv` answers every table as CSV.
#[utoipa::path(
    get,
    path = "/api/reports/compliance",
    tag = "reports",
    params(ComplianceParams),
    responses(
        (status = 200, body = ComplianceReport, content_type = "application/json"),
        (status = 200, description = "With `format=csv`: every table, each headed by a `# name` line", body = String, content_type = "text/csv"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn compliance_report(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ComplianceParams>,
) -> ApiResult<Response> {
    let report = build(&state, &params).await?;
    Ok(match params.format.unwrap_or_default() {
        ReportFormat::Json => Json(report).into_response(),
        ReportFormat::Csv => compliance_csv(&report),
    })
}

/// The compliance report's tables as CSV (the same as `?format=csv`).
#[utoipa::path(
    get,
    path = "/api/reports/compliance.csv",
    tag = "reports",
    params(ComplianceParams),
    responses(
        (status = 200, description = "Every table, each headed by a `# name` line", body = String, content_type = "text/csv"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn compliance_report_csv(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ComplianceParams>,
) -> ApiResult<Response> {
    let report = build(&state, &params).await?;
    Ok(compliance_csv(&report))
}

/// The compliance report as a PDF made by the server itself: a cover, a summary with charts,
/// every table (coverage, incidents, triage, oversight, retention, integrity), and on every
/// page the framework's edition, the period and the page number.
#[utoipa::path(
    get,
    path = "/api/reports/compliance.pdf",
    tag = "reports",
    params(ComplianceParams),
    responses(
        (status = 200, description = "The report as a PDF document (a `format`, if given, must still be `json` or `csv`, and changes nothing)", body = PdfDocument, content_type = "application/pdf"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn compliance_report_pdf(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ComplianceParams>,
) -> ApiResult<Response> {
    let report = build(&state, &params).await?;
    // A framework id from the configuration may hold anything: keep the name header-safe.
    let id: String = report
        .framework
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!(
        "compliance-{id}-{}.pdf",
        report.period.until.0.format("%Y-%m-%d")
    );
    let pdf = reports::compliance_pdf(report).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        pdf,
    )
        .into_response())
}

/// Tokens and cost per application, model, user or day over `[since, until)`, from the events'
/// token counts and the gateway's price table; with the cost avoided by blocked requests and
/// the guard's own cost (the enforced policies' `estimated_cost_per_event`).
#[utoipa::path(
    get,
    path = "/api/reports/usage",
    tag = "reports",
    params(UsageParams),
    responses(
        (status = 200, body = UsageReport, content_type = "application/json"),
        (status = 200, description = "With `format=csv`: one row per key, then the total", body = String, content_type = "text/csv"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn usage_report(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> ApiResult<Response> {
    let report = reports::usage_report(
        &state,
        params.since,
        params.until,
        params.group_by.unwrap_or_default(),
    )
    .await?;
    Ok(match params.format.unwrap_or_default() {
        ReportFormat::Json => Json(report).into_response(),
        ReportFormat::Csv => csv_response(csv::usage_table(&report), "usage"),
    })
}
