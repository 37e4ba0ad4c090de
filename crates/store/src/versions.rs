//! Policy versions (migration 7): every change to a policy's versioned fields writes the policy's
//! whole state as the next version, in the transaction of the change and with its own audit
//! entry. Versions are never updated or deleted; a rollback writes a new one.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::{
    Enforcement, InterventionType, PerformanceMode, PolicyCategory, PolicyStatus, Severity,
    Timestamp,
};
use serde::Serialize;

use crate::audit::{self, AuditChange, AuditContext};
use crate::entity::{policy, policy_version, violation};
use crate::{PolicyChange, PolicyRecord, Result, Store, StoreError, convert};

/// The fields whose change creates a version, in the order `changed` lists them. A rename or a
/// new category does not (each version still records the name and category of its time).
pub const VERSIONED_FIELDS: [&str; 7] = [
    "definition",
    "status",
    "severity",
    "performance_mode",
    "intervention_type",
    "intervention_config",
    "enforcement",
];

/// One immutable version of a policy: its state after the change, who made it, when, and which
/// versioned fields differ from the version before (none for version 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyVersionRecord {
    pub policy_id: i64,
    pub version: i64,
    /// The audit actor of the change (`user:<name>`, `key:<prefix>`, `system`, …); `None` for the
    /// version 1 the migration wrote for a policy that existed before versions were kept.
    pub author: Option<String>,
    pub author_id: Option<i64>,
    pub created_at: Timestamp,
    pub changed: Vec<String>,
    /// The version a rollback restored.
    pub rollback_of: Option<i64>,
    pub name: String,
    pub definition: String,
    pub category: PolicyCategory,
    pub status: PolicyStatus,
    pub severity: Severity,
    pub performance_mode: PerformanceMode,
    pub intervention_type: InterventionType,
    pub intervention_config: Option<String>,
    pub enforcement: Enforcement,
}

/// What the writer of a version knows beyond the policy's new state.
pub(crate) struct VersionWrite {
    pub author_id: Option<i64>,
    pub changed: Vec<&'static str>,
    pub rollback_of: Option<i64>,
}

/// The versioned fields `change` sets to a value other than `before`'s.
pub(crate) fn changed_fields(before: &PolicyRecord, change: &PolicyChange) -> Vec<&'static str> {
    let differs = [
        change
            .definition
            .as_ref()
            .is_some_and(|v| *v != before.definition),
        change.status.is_some_and(|v| v != before.status),
        change.severity.is_some_and(|v| v != before.severity),
        change
            .performance_mode
            .is_some_and(|v| v != before.performance_mode),
        change
            .intervention_type
            .is_some_and(|v| v != before.intervention_type),
        change
            .intervention_config
            .as_ref()
            .is_some_and(|v| *v != before.intervention_config),
        change.enforcement.is_some_and(|v| v != before.enforcement),
    ];
    VERSIONED_FIELDS
        .into_iter()
        .zip(differs)
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect()
}

/// Writes `policy`'s state as its version `policy.version`, and audits it.
pub(crate) async fn insert(
    txn: &DatabaseTransaction,
    ctx: &AuditContext,
    policy: &PolicyRecord,
    write: VersionWrite,
) -> Result<PolicyVersionRecord> {
    let changed = serde_json::to_string(&write.changed).map_err(|e| StoreError::Corrupt {
        column: "policy_versions.changed",
        value: e.to_string(),
    })?;
    let row = policy_version::ActiveModel {
        policy_id: Set(policy.id),
        version: Set(policy.version),
        author: Set(Some(ctx.actor.clone())),
        author_id: Set(write.author_id),
        created_at: Set(Timestamp::now().0),
        changed: Set(changed),
        rollback_of: Set(write.rollback_of),
        name: Set(policy.name.clone()),
        definition: Set(policy.definition.clone()),
        category: Set(policy.category.as_str().to_owned()),
        status: Set(policy.status.as_str().to_owned()),
        severity: Set(policy.severity.as_str().to_owned()),
        performance_mode: Set(policy.performance_mode.as_str().to_owned()),
        intervention_type: Set(policy.intervention_type.as_str().to_owned()),
        intervention_config: Set(policy.intervention_config.clone()),
        enforcement: Set(policy.enforcement.as_str().to_owned()),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(StoreError::classify)?;
    let record = record(row)?;
    audit::append(
        txn,
        ctx,
        AuditChange::new("policy.version.create", "policy")
            .target(policy.id)
            .after(&record),
    )
    .await?;
    Ok(record)
}

fn record(m: policy_version::Model) -> Result<PolicyVersionRecord> {
    let changed: Vec<String> =
        serde_json::from_str(&m.changed).map_err(|_| StoreError::Corrupt {
            column: "policy_versions.changed",
            value: m.changed.chars().take(40).collect(),
        })?;
    Ok(PolicyVersionRecord {
        policy_id: m.policy_id,
        version: m.version,
        author: m.author,
        author_id: m.author_id,
        created_at: convert::ts(m.created_at),
        changed,
        rollback_of: m.rollback_of,
        category: convert::parse("policy_versions.category", &m.category)?,
        status: convert::parse("policy_versions.status", &m.status)?,
        severity: convert::parse("policy_versions.severity", &m.severity)?,
        performance_mode: convert::parse("policy_versions.performance_mode", &m.performance_mode)?,
        intervention_type: convert::parse(
            "policy_versions.intervention_type",
            &m.intervention_type,
        )?,
        enforcement: convert::parse("policy_versions.enforcement", &m.enforcement)?,
        name: m.name,
        definition: m.definition,
        intervention_config: m.intervention_config,
    })
}

/// One shadow policy's recorded hits, by the action each would have taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShadowCounts {
    pub policy_id: i64,
    pub notify: u64,
    pub redact: u64,
    pub block: u64,
}

impl Store {
    /// A live policy's versions, newest first.
    pub async fn list_policy_versions(
        &self,
        policy_id: i64,
        page: PageParams,
    ) -> Result<Page<PolicyVersionRecord>> {
        self.get_policy(policy_id).await?;
        let select = policy_version::Entity::find()
            .filter(policy_version::Column::PolicyId.eq(policy_id))
            .order_by_desc(policy_version::Column::Version);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        let items = rows.into_iter().map(record).collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// Version `version` of a live policy. An unknown version is
    /// [`StoreError::NoSuchVersion`], which names the versions there are.
    pub async fn get_policy_version(
        &self,
        policy_id: i64,
        version: i64,
    ) -> Result<PolicyVersionRecord> {
        let policy = self.get_policy(policy_id).await?;
        let row = policy_version::Entity::find()
            .filter(policy_version::Column::PolicyId.eq(policy_id))
            .filter(policy_version::Column::Version.eq(version))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NoSuchVersion {
                policy_id,
                version,
                latest: policy.version,
            })?;
        record(row)
    }

    /// Per live shadow policy, its shadow violations by the action of the version that raised
    /// them (the policy's current action for a violation without a version): what it would have
    /// notified, redacted and blocked. Policies without any are listed with zeros.
    pub async fn shadow_counts(&self) -> Result<Vec<ShadowCounts>> {
        let shadow: Vec<(i64, String)> = policy::Entity::find()
            .select_only()
            .column(policy::Column::Id)
            .column(policy::Column::InterventionType)
            .filter(policy::Column::DeletedAt.is_null())
            .filter(policy::Column::Enforcement.eq(Enforcement::Shadow.as_str()))
            .order_by_asc(policy::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        if shadow.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = shadow.iter().map(|(id, _)| *id).collect();
        // Per (policy, version): few rows, whatever the number of violations.
        let per_version: Vec<(i64, Option<i64>, i64)> = violation::Entity::find()
            .select_only()
            .column(violation::Column::PolicyId)
            .column(violation::Column::PolicyVersion)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(violation::Column::Shadow.eq(true))
            .filter(violation::Column::PolicyId.is_in(ids.iter().copied()))
            .group_by(violation::Column::PolicyId)
            .group_by(violation::Column::PolicyVersion)
            .into_tuple()
            .all(&self.db)
            .await?;
        let actions: Vec<(i64, i64, String)> = policy_version::Entity::find()
            .select_only()
            .column(policy_version::Column::PolicyId)
            .column(policy_version::Column::Version)
            .column(policy_version::Column::InterventionType)
            .filter(policy_version::Column::PolicyId.is_in(ids.iter().copied()))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut out: Vec<ShadowCounts> = ids
            .iter()
            .map(|&policy_id| ShadowCounts {
                policy_id,
                ..ShadowCounts::default()
            })
            .collect();
        for (policy_id, version, n) in per_version {
            let current = shadow.iter().find(|(id, _)| *id == policy_id);
            let action = version
                .and_then(|v| {
                    actions
                        .iter()
                        .find(|(p, n, _)| *p == policy_id && *n == v)
                        .map(|(_, _, a)| a)
                })
                .or(current.map(|(_, a)| a));
            let action: InterventionType = match action {
                Some(a) => convert::parse("policy_versions.intervention_type", a)?,
                None => continue,
            };
            let Some(counts) = out.iter_mut().find(|c| c.policy_id == policy_id) else {
                continue;
            };
            let n = u64::try_from(n).unwrap_or(0);
            match action {
                InterventionType::Notification => counts.notify += n,
                InterventionType::Redact => counts.redact += n,
                InterventionType::Block => counts.block += n,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PolicyRecord {
        PolicyRecord {
            id: 1,
            name: "p".into(),
            definition: "request.prompt contains \"x\"".into(),
            category: PolicyCategory::Privacy,
            status: PolicyStatus::Draft,
            severity: Severity::Medium,
            performance_mode: PerformanceMode::Balanced,
            intervention_type: InterventionType::Notification,
            intervention_config: None,
            estimated_cost_per_event: 0.0,
            estimated_latency_ms: 0.0,
            created_by: None,
            created_at: Timestamp::now(),
            updated_at: None,
            enforcement: Enforcement::Enforce,
            version: 1,
        }
    }

    #[test]
    fn only_versioned_fields_that_differ_are_changed() {
        let before = record();
        let same = PolicyChange {
            name: Some("renamed".into()),
            definition: Some(before.definition.clone()),
            status: Some(PolicyStatus::Draft),
            intervention_config: Some(None),
            ..PolicyChange::default()
        };
        assert!(changed_fields(&before, &same).is_empty());
        let change = PolicyChange {
            definition: Some("request.prompt contains \"y\"".into()),
            intervention_type: Some(InterventionType::Block),
            intervention_config: Some(Some("{}".into())),
            enforcement: Some(Enforcement::Shadow),
            ..PolicyChange::default()
        };
        assert_eq!(
            changed_fields(&before, &change),
            [
                "definition",
                "intervention_type",
                "intervention_config",
                "enforcement"
            ]
        );
    }
}
