use sentinel_api::error::ValidationIssue;
use sentinel_api::live::{LiveMessage, LivePolicyChange};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::policy::{
    DefinitionError, PolicyCreate, PolicyFilter, PolicyResponse, PolicyTemplateResponse,
    PolicyUpdate, TemplateInstantiate,
};
use sentinel_api::{Enforcement, Patch, PerformanceMode, PolicyId, PolicyStatus};
use sentinel_engine::{CompileError, InterventionConfig};
use sentinel_store::{AuditContext, NewPolicy, PolicyChange, PolicyRecord, TemplateRecord};

use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Cost and latency estimates of a policy, computed by the engine from the definition and the
/// mode: deterministic, and growing from fast to balanced to robust.
pub fn estimate(definition: &str, mode: PerformanceMode) -> (f64, f64) {
    let e = sentinel_engine::estimate(definition, mode);
    (e.cost_per_event, e.latency_ms)
}

pub fn definition_error(e: &CompileError) -> DefinitionError {
    DefinitionError {
        line: e.line,
        column: e.column,
        message: e.message.clone(),
        hint: e.hint.clone(),
    }
}

/// The policy as the API returns it: the stored record plus the fields computed at read time,
/// compile errors and live metrics.
pub fn response(state: &AppState, policy: PolicyRecord) -> PolicyResponse {
    let definition_errors = sentinel_engine::validate(&policy.definition)
        .errors
        .iter()
        .map(definition_error)
        .collect();
    PolicyResponse {
        metrics: state.guard.metrics(policy.id),
        id: policy.id,
        name: policy.name,
        definition: policy.definition,
        category: policy.category,
        status: policy.status,
        severity: policy.severity,
        performance_mode: policy.performance_mode,
        intervention_type: policy.intervention_type,
        intervention_config: policy.intervention_config,
        estimated_cost_per_event: policy.estimated_cost_per_event,
        estimated_latency_ms: policy.estimated_latency_ms,
        created_by: policy.created_by,
        created_at: policy.created_at,
        updated_at: policy.updated_at,
        definition_errors,
        enforcement: policy.enforcement,
        version: policy.version,
    }
}

pub async fn list(
    state: &AppState,
    filter: &PolicyFilter,
    page: PageParams,
) -> ServiceResult<Page<PolicyResponse>> {
    let page = state.store.list_policies(filter, page).await?;
    Ok(page.map(|p| response(state, p)))
}

pub async fn get(state: &AppState, id: PolicyId) -> ServiceResult<PolicyResponse> {
    Ok(response(state, state.store.get_policy(id.get()).await?))
}

/// Recompiles the enforced set from the store and tells live clients what changed.
pub async fn reload(
    state: &AppState,
    id: PolicyId,
    change: &str,
    status: Option<PolicyStatus>,
) -> ServiceResult<()> {
    let policies = state.store.all_policies().await?;
    state.guard.reload(&policies);
    state.live.publish(&LiveMessage::PolicyChanged {
        policy: LivePolicyChange {
            id: id.get(),
            change: change.to_owned(),
            status,
        },
    });
    Ok(())
}

/// A policy with compile errors may be kept as a draft but never enforced.
pub(crate) fn check_enforceable(definition: &str, status: PolicyStatus) -> ServiceResult<()> {
    if status != PolicyStatus::Open {
        return Ok(());
    }
    let validation = sentinel_engine::validate(definition);
    if validation.valid {
        return Ok(());
    }
    Err(ServiceError::Invalid(
        validation
            .errors
            .iter()
            .map(|e| {
                sentinel_api::error::ValidationIssue::field(
                    "body",
                    "definition",
                    format!("A policy that does not compile cannot be enforced: {e}"),
                    "definition_error",
                )
            })
            .collect(),
    ))
}

fn check_intervention_config(config: Option<&str>) -> ServiceResult<()> {
    match config.filter(|c| !c.trim().is_empty()) {
        None => Ok(()),
        Some(c) => InterventionConfig::parse(Some(c)).map(|_| ()).map_err(|e| {
            ServiceError::invalid(
                &["body", "intervention_config"],
                format!("Invalid intervention_config: {e}"),
                "value_error",
            )
        }),
    }
}

fn reject_blank(field: &str, value: &str) -> ServiceResult<()> {
    if value.trim().is_empty() {
        return Err(ServiceError::invalid(
            &["body", field],
            "String should have at least 1 character",
            "string_too_short",
        ));
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    ctx: &AuditContext,
    body: PolicyCreate,
    created_by: Option<i64>,
) -> ServiceResult<PolicyResponse> {
    reject_blank("name", &body.name)?;
    reject_blank("definition", &body.definition)?;
    check_intervention_config(body.intervention_config.as_deref())?;
    let (cost, latency) = estimate(&body.definition, body.performance_mode);
    let policy = state
        .store
        .create_policy(
            ctx,
            NewPolicy {
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
                enforcement: body.enforcement,
            },
        )
        .await?;
    reload(state, PolicyId(policy.id), "created", Some(policy.status)).await?;
    Ok(response(state, policy))
}

pub async fn update(
    state: &AppState,
    ctx: &AuditContext,
    id: PolicyId,
    body: PolicyUpdate,
    author_id: Option<i64>,
) -> ServiceResult<PolicyResponse> {
    let nulled = body.nulled_required_fields();
    if !nulled.is_empty() {
        return Err(ServiceError::Invalid(
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
    if let Patch::Value(config) = &body.intervention_config {
        check_intervention_config(Some(config))?;
    }
    let current = state.store.get_policy(id.get()).await?;
    let definition = body.definition.clone().value();
    let status = body.status.clone().value().unwrap_or(current.status);
    check_enforceable(definition.as_deref().unwrap_or(&current.definition), status)?;
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
        enforcement: body.enforcement.value(),
        author_id,
    };
    let policy = state.store.update_policy(ctx, id.get(), change).await?;
    reload(state, id, "updated", Some(policy.status)).await?;
    Ok(response(state, policy))
}

pub async fn delete(state: &AppState, ctx: &AuditContext, id: PolicyId) -> ServiceResult<()> {
    state.store.delete_policy(ctx, id.get()).await?;
    reload(state, id, "deleted", None).await
}

/// A template as the API returns it.
pub fn template_response(t: TemplateRecord) -> PolicyTemplateResponse {
    PolicyTemplateResponse {
        id: t.id,
        name: t.name,
        description: t.description,
        category: t.category,
        template_code: t.template_code,
        default_severity: t.default_severity,
        default_performance_mode: t.default_performance_mode,
        default_intervention_type: t.default_intervention_type,
        tags: t.tags,
        owasp_llm: t.owasp_llm,
        is_active: t.is_active,
        created_at: t.created_at,
    }
}

/// Active templates in id order.
pub async fn templates(
    state: &AppState,
    page: PageParams,
) -> ServiceResult<Page<PolicyTemplateResponse>> {
    Ok(state
        .store
        .list_templates(page)
        .await?
        .map(template_response))
}

/// Creates a draft policy from an active template, with optional overrides. It starts in
/// shadow mode unless the request says `enforcement: enforce`; `apps` restricts it to those
/// applications.
pub async fn instantiate(
    state: &AppState,
    ctx: &AuditContext,
    template_id: i64,
    overrides: TemplateInstantiate,
    created_by: Option<i64>,
) -> ServiceResult<PolicyResponse> {
    let template = state.store.get_template(template_id).await?;
    let definition = match overrides.apps.as_deref() {
        None => template.template_code,
        Some([]) => {
            return Err(ServiceError::invalid(
                &["body", "apps"],
                "apps must name at least one application (leave it out to apply everywhere)",
                "too_short",
            ));
        }
        Some(apps) => {
            if let Some(i) = apps.iter().position(|a| a.trim().is_empty()) {
                return Err(ServiceError::Invalid(vec![ValidationIssue::new(
                    vec!["body".into(), "apps".into(), i.into()],
                    "an application name must not be empty",
                    "string_too_short",
                )]));
            }
            super::templates::scoped_to_apps(&template.template_code, apps)
        }
    };
    let body = PolicyCreate {
        name: overrides.name.unwrap_or_else(|| template.name.clone()),
        definition,
        category: template.category,
        severity: overrides.severity.unwrap_or(template.default_severity),
        performance_mode: overrides
            .performance_mode
            .unwrap_or(template.default_performance_mode),
        intervention_type: overrides
            .intervention_type
            .unwrap_or(template.default_intervention_type),
        intervention_config: overrides.intervention_config,
        enforcement: overrides.enforcement.unwrap_or(Enforcement::Shadow),
    };
    create(state, ctx, body, created_by).await
}
