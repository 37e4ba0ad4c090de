//! Entity → domain record conversions (`PolicyRecord`, `EventRecord`, …). Enum text columns
//! are parsed back into typed values; a value the schema does not allow is reported as corruption
//! rather than guessed.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sentinel_api::Timestamp;
use sentinel_api::violation::FindingResponse;

use crate::entity::{event, policy, policy_template, violation};
use crate::events::EventRecord;
use crate::policies::PolicyRecord;
use crate::templates::TemplateRecord;
use crate::violations::ViolationRecord;
use crate::{Result, StoreError};

pub(crate) fn parse<T: FromStr>(column: &'static str, value: &str) -> Result<T> {
    value.parse().map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_owned(),
    })
}

pub(crate) fn ts(value: DateTime<Utc>) -> Timestamp {
    Timestamp(value)
}

pub(crate) fn policy(m: policy::Model) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        id: m.id,
        category: parse("policies.category", &m.category)?,
        status: parse("policies.status", &m.status)?,
        severity: parse("policies.severity", &m.severity)?,
        performance_mode: parse("policies.performance_mode", &m.performance_mode)?,
        intervention_type: parse("policies.intervention_type", &m.intervention_type)?,
        name: m.name,
        definition: m.definition,
        intervention_config: m.intervention_config,
        estimated_cost_per_event: m.estimated_cost_per_event,
        estimated_latency_ms: m.estimated_latency_ms,
        created_by: m.created_by,
        created_at: ts(m.created_at),
        updated_at: m.updated_at.map(ts),
        enforcement: parse("policies.enforcement", &m.enforcement)?,
        version: m.version,
    })
}

/// The items of a comma-separated column, trimmed, empty ones dropped.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn template(m: policy_template::Model) -> Result<TemplateRecord> {
    Ok(TemplateRecord {
        id: m.id,
        category: parse("policy_templates.category", &m.category)?,
        default_severity: parse("policy_templates.default_severity", &m.default_severity)?,
        default_performance_mode: parse(
            "policy_templates.default_performance_mode",
            &m.default_performance_mode,
        )?,
        default_intervention_type: parse(
            "policy_templates.default_intervention_type",
            &m.default_intervention_type,
        )?,
        name: m.name,
        description: m.description,
        template_code: m.template_code,
        tags: m.tags,
        owasp_llm: m.owasp_llm.as_deref().map(split_list).unwrap_or_default(),
        is_active: m.is_active,
        created_at: ts(m.created_at),
    })
}

pub(crate) fn event(m: event::Model) -> Result<EventRecord> {
    let metadata = match m.metadata.as_deref() {
        Some(text) => Some(serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
            column: "events.metadata",
            value: text.chars().take(40).collect(),
        })?),
        None => None,
    };
    Ok(EventRecord {
        id: m.id,
        event_type: parse("events.event_type", &m.event_type)?,
        severity: parse("events.severity", &m.severity)?,
        status: parse("events.status", &m.status)?,
        decision: m
            .decision
            .as_deref()
            .map(|d| parse("events.decision", d))
            .transpose()?,
        event_id: m.event_id,
        title: m.title,
        description: m.description,
        event_data: m.event_data,
        trigger_date: ts(m.trigger_date),
        policy_id: m.policy_id,
        user_id: m.user_id,
        acknowledged_by: m.acknowledged_by,
        acknowledged_date: m.acknowledged_date.map(ts),
        created_at: ts(m.created_at),
        updated_at: m.updated_at.map(ts),
        source: m.source,
        model_name: m.model_name,
        prompt: m.prompt,
        completion: m.completion,
        request_tokens: m.request_tokens,
        response_tokens: m.response_tokens,
        duration_ms: m.duration_ms,
        metadata,
    })
}

pub(crate) fn violation(m: violation::Model) -> Result<ViolationRecord> {
    let findings: Vec<FindingResponse> = match m.findings.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
            column: "violations.findings",
            value: text.chars().take(40).collect(),
        })?,
        None => Vec::new(),
    };
    Ok(ViolationRecord {
        id: m.id,
        violation_type: parse("violations.violation_type", &m.violation_type)?,
        severity: parse("violations.severity", &m.severity)?,
        status: parse("violations.status", &m.status)?,
        title: m.title,
        description: m.description,
        details: m.details,
        confidence_score: m.confidence_score,
        event_id: m.event_id,
        policy_id: m.policy_id,
        acknowledged_by: m.acknowledged_by,
        acknowledged_date: m.acknowledged_date.map(ts),
        created_at: ts(m.created_at),
        updated_at: m.updated_at.map(ts),
        legal_advice_score: m.legal_advice_score,
        controversial_topics_score: m.controversial_topics_score,
        code_prompt_score: m.code_prompt_score,
        safe_prompt_score: m.safe_prompt_score,
        findings,
        policy_version: m.policy_version,
        shadow: m.shadow,
    })
}

/// Applies `skip`/`limit` and counts the total, for list routes.
pub(crate) async fn paginate<E, M, C>(
    db: &C,
    select: sea_orm::Select<E>,
    skip: u64,
    limit: u64,
) -> Result<(Vec<M>, u64)>
where
    E: sea_orm::EntityTrait<Model = M>,
    M: sea_orm::FromQueryResult + Sized + Send + Sync,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::{PaginatorTrait, QuerySelect};
    let total = select.clone().count(db).await?;
    let rows = select.offset(skip).limit(limit).all(db).await?;
    Ok((rows, total))
}
