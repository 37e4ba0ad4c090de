use sentinel_api::policy::{PolicyCreate, PolicyResponse, PolicyUpdate, TemplateInstantiate};
use sentinel_api::{Patch, PerformanceMode, PolicyStatus};
use sentinel_store::{NewPolicy, PolicyChange};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Cost and latency estimates of a policy: deterministic and growing from fast to robust.
pub fn estimate(_definition: &str, mode: PerformanceMode) -> (f64, f64) {
    let factor = match mode {
        PerformanceMode::Fast => 0.5,
        PerformanceMode::Balanced => 1.0,
        PerformanceMode::Robust => 2.0,
    };
    (240.0 * factor, 100.0 * factor)
}

fn reject_blank(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(
            &["body", field],
            "String should have at least 1 character",
            "string_too_short",
        ));
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    body: PolicyCreate,
    created_by: Option<i64>,
) -> ApiResult<PolicyResponse> {
    reject_blank("name", &body.name)?;
    reject_blank("definition", &body.definition)?;
    let (cost, latency) = estimate(&body.definition, body.performance_mode);
    let policy = state
        .store
        .create_policy(NewPolicy {
            name: body.name,
            definition: body.definition,
            category: body.category,
            status: PolicyStatus::Draft,
            severity: body.severity,
            performance_mode: body.performance_mode,
            intervention_type: body.intervention_type,
            intervention_config: body.intervention_config,
            estimated_cost_per_event: cost,
            estimated_latency_ms: latency,
            created_by,
        })
        .await?;
    Ok(policy)
}

pub async fn update(state: &AppState, id: i64, body: PolicyUpdate) -> ApiResult<PolicyResponse> {
    let nulled = body.nulled_required_fields();
    if !nulled.is_empty() {
        return Err(ApiError::Validation(
            nulled
                .into_iter()
                .map(|f| {
                    sentinel_api::error::ValidationIssue::field(
                        "body",
                        f,
                        "Input should not be null",
                        "null_not_allowed",
                    )
                })
                .collect(),
        ));
    }
    if let Patch::Value(name) = &body.name {
        reject_blank("name", name)?;
    }
    if let Patch::Value(definition) = &body.definition {
        reject_blank("definition", definition)?;
    }
    let current = state.store.get_policy(id).await?;
    let definition = body.definition.clone().value();
    let mode = body.performance_mode.clone().value();
    let (cost, latency) = if definition.is_some() || mode.is_some() {
        let (c, l) = estimate(
            definition.as_deref().unwrap_or(&current.definition),
            mode.unwrap_or(current.performance_mode),
        );
        (Some(c), Some(l))
    } else {
        (None, None)
    };
    let change = PolicyChange {
        name: body.name.value(),
        definition,
        category: body.category.value(),
        status: body.status.value(),
        severity: body.severity.value(),
        performance_mode: mode,
        intervention_type: body.intervention_type.value(),
        intervention_config: body.intervention_config.into_update(),
        estimated_cost_per_event: cost,
        estimated_latency_ms: latency,
    };
    Ok(state.store.update_policy(id, change).await?)
}

pub async fn delete(state: &AppState, id: i64) -> ApiResult<()> {
    state.store.delete_policy(id).await?;
    Ok(())
}

/// Creates a draft policy from an active template, with optional overrides.
pub async fn instantiate(
    state: &AppState,
    template_id: i64,
    overrides: TemplateInstantiate,
    created_by: Option<i64>,
) -> ApiResult<PolicyResponse> {
    let template = state.store.get_template(template_id).await?;
    let body = PolicyCreate {
        name: overrides.name.unwrap_or_else(|| template.name.clone()),
        definition: template.template_code,
        category: template.category,
        severity: overrides.severity.unwrap_or(template.default_severity),
        performance_mode: overrides
            .performance_mode
            .unwrap_or(template.default_performance_mode),
        intervention_type: overrides
            .intervention_type
            .unwrap_or(template.default_intervention_type),
        intervention_config: overrides.intervention_config,
    };
    create(state, body, created_by).await
}
