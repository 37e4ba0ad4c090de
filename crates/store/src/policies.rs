use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sentinel_api::Timestamp;
use sentinel_api::page::{Page, PageParams};
use sentinel_api::policy::PolicyFilter;
use sentinel_api::{
    Enforcement, InterventionType, PerformanceMode, PolicyCategory, PolicyStatus, Severity,
};
use serde::Serialize;

use crate::audit::{self, AuditChange, AuditContext};
use crate::entity::policy;
use crate::error::Entity;
use crate::versions::{self, VersionWrite};
use crate::{Result, Store, StoreError, convert};

/// A stored policy: what the store knows of it. Compile errors and live metrics are not stored;
/// the server adds them when it answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRecord {
    pub id: i64,
    pub name: String,
    pub definition: String,
    pub category: PolicyCategory,
    pub status: PolicyStatus,
    pub severity: Severity,
    pub performance_mode: PerformanceMode,
    pub intervention_type: InterventionType,
    pub intervention_config: Option<String>,
    pub estimated_cost_per_event: f64,
    pub estimated_latency_ms: f64,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    /// `shadow`: evaluated and recorded, never acted on.
    pub enforcement: Enforcement,
    /// The number of its current version (1 on creation).
    pub version: i64,
}

/// A policy to insert. The caller computes the estimates (they come from the engine).
#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub name: String,
    pub definition: String,
    pub category: PolicyCategory,
    pub status: PolicyStatus,
    pub severity: Severity,
    pub performance_mode: PerformanceMode,
    pub intervention_type: InterventionType,
    pub intervention_config: Option<String>,
    pub estimated_cost_per_event: f64,
    pub estimated_latency_ms: f64,
    pub created_by: Option<i64>,
    pub enforcement: Enforcement,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PolicyChange {
    pub name: Option<String>,
    pub definition: Option<String>,
    pub category: Option<PolicyCategory>,
    pub status: Option<PolicyStatus>,
    pub severity: Option<Severity>,
    pub performance_mode: Option<PerformanceMode>,
    pub intervention_type: Option<InterventionType>,
    /// `Some(None)` clears the configuration.
    pub intervention_config: Option<Option<String>>,
    pub estimated_cost_per_event: Option<f64>,
    pub estimated_latency_ms: Option<f64>,
    pub enforcement: Option<Enforcement>,
    /// The caller's user id, recorded as the author of the version the change creates.
    pub author_id: Option<i64>,
}

/// Why a policy changes, for its audit entry and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `PUT /api/policies/{id}` (`policy.update`).
    Update,
    /// Back to version `n`'s settings (`policy.rollback`): always a new version.
    Rollback(i64),
    /// From shadow to enforced (`policy.promote`).
    Promote,
}

impl ChangeKind {
    fn action(self) -> &'static str {
        match self {
            ChangeKind::Update => "policy.update",
            ChangeKind::Rollback(_) => "policy.rollback",
            ChangeKind::Promote => "policy.promote",
        }
    }
}

const ENTITY: Entity = Entity::Policy;

impl Store {
    /// Live (not deleted) policies in id order, filtered and paginated.
    pub async fn list_policies(
        &self,
        filter: &PolicyFilter,
        page: PageParams,
    ) -> Result<Page<PolicyRecord>> {
        let mut select = policy::Entity::find().filter(policy::Column::DeletedAt.is_null());
        if let Some(status) = filter.status {
            select = select.filter(policy::Column::Status.eq(status.as_str()));
        }
        if let Some(category) = &filter.category {
            select = select.filter(policy::Column::Category.eq(category.as_str()));
        }
        if let Some(enforcement) = filter.enforcement {
            select = select.filter(policy::Column::Enforcement.eq(enforcement.as_str()));
        }
        let select = select.order_by_asc(policy::Column::Id);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        let items = rows
            .into_iter()
            .map(convert::policy)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// Every live policy, whatever its status, in id order: what the engine compiles.
    pub async fn all_policies(&self) -> Result<Vec<PolicyRecord>> {
        policy::Entity::find()
            .filter(policy::Column::DeletedAt.is_null())
            .order_by_asc(policy::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert::policy)
            .collect()
    }

    pub async fn get_policy(&self, id: i64) -> Result<PolicyRecord> {
        convert::policy(self.find_live_policy(id).await?)
    }

    async fn find_live_policy(&self, id: i64) -> Result<policy::Model> {
        find_live(&self.db, id).await
    }

    pub async fn create_policy(&self, ctx: &AuditContext, new: NewPolicy) -> Result<PolicyRecord> {
        let model = policy::ActiveModel {
            name: Set(new.name),
            definition: Set(new.definition),
            category: Set(new.category.as_str().to_owned()),
            status: Set(new.status.as_str().to_owned()),
            severity: Set(new.severity.as_str().to_owned()),
            performance_mode: Set(new.performance_mode.as_str().to_owned()),
            intervention_type: Set(new.intervention_type.as_str().to_owned()),
            intervention_config: Set(new.intervention_config),
            estimated_cost_per_event: Set(new.estimated_cost_per_event),
            estimated_latency_ms: Set(new.estimated_latency_ms),
            created_by: Set(new.created_by),
            created_at: Set(sentinel_api::Timestamp::now().0),
            updated_at: Set(None),
            deleted_at: Set(None),
            enforcement: Set(new.enforcement.as_str().to_owned()),
            version: Set(1),
            ..Default::default()
        };
        let txn = audit::begin(&self.db).await?;
        let inserted = convert::policy(model.insert(&txn).await.map_err(StoreError::classify)?)?;
        policy_message(&txn, ctx, "policy.create", &inserted).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("policy.create", "policy")
                .target(inserted.id)
                .after(&inserted),
        )
        .await?;
        let write = VersionWrite {
            author_id: new.created_by,
            changed: Vec::new(),
            rollback_of: None,
        };
        versions::insert(&txn, ctx, &inserted, write).await?;
        txn.commit().await?;
        Ok(inserted)
    }

    /// A partial update (`policy.update`). A change to a versioned field creates the next version
    /// in the same transaction; a change that touches none of them creates none.
    pub async fn update_policy(
        &self,
        ctx: &AuditContext,
        id: i64,
        change: PolicyChange,
    ) -> Result<PolicyRecord> {
        self.change_policy(ctx, id, change, ChangeKind::Update)
            .await
    }

    /// Changes a policy for `kind`, with its audit entry and, when a versioned field changed (or
    /// for a rollback, always), its new version: all in one transaction.
    pub async fn change_policy(
        &self,
        ctx: &AuditContext,
        id: i64,
        change: PolicyChange,
        kind: ChangeKind,
    ) -> Result<PolicyRecord> {
        let txn = audit::begin(&self.db).await?;
        let current = find_live(&txn, id).await?;
        let before = convert::policy(current.clone())?;
        let next_version = current.version + 1;
        let author_id = change.author_id;
        let changed = versions::changed_fields(&before, &change);
        let mut model: policy::ActiveModel = current.into();
        if let Some(v) = change.name {
            model.name = Set(v);
        }
        if let Some(v) = change.definition {
            model.definition = Set(v);
        }
        if let Some(v) = change.category {
            model.category = Set(v.as_str().to_owned());
        }
        if let Some(v) = change.status {
            model.status = Set(v.as_str().to_owned());
        }
        if let Some(v) = change.severity {
            model.severity = Set(v.as_str().to_owned());
        }
        if let Some(v) = change.performance_mode {
            model.performance_mode = Set(v.as_str().to_owned());
        }
        if let Some(v) = change.intervention_type {
            model.intervention_type = Set(v.as_str().to_owned());
        }
        if let Some(v) = change.intervention_config {
            model.intervention_config = Set(v);
        }
        if let Some(v) = change.estimated_cost_per_event {
            model.estimated_cost_per_event = Set(v);
        }
        if let Some(v) = change.estimated_latency_ms {
            model.estimated_latency_ms = Set(v);
        }
        if let Some(v) = change.enforcement {
            model.enforcement = Set(v.as_str().to_owned());
        }
        let rollback_of = match kind {
            ChangeKind::Rollback(n) => Some(n),
            ChangeKind::Update | ChangeKind::Promote => None,
        };
        let versioned = !changed.is_empty() || rollback_of.is_some();
        if versioned {
            model.version = Set(next_version);
        }
        model.updated_at = Set(Some(sentinel_api::Timestamp::now().0));
        let updated = convert::policy(model.update(&txn).await.map_err(StoreError::classify)?)?;
        policy_message(&txn, ctx, kind.action(), &updated).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new(kind.action(), "policy")
                .target(id)
                .before(&before)
                .after(&updated),
        )
        .await?;
        if versioned {
            let write = VersionWrite {
                author_id,
                changed,
                rollback_of,
            };
            versions::insert(&txn, ctx, &updated, write).await?;
        }
        txn.commit().await?;
        Ok(updated)
    }

    /// Removes a policy from the API. Its row stays, so past events and violations keep their link.
    pub async fn delete_policy(&self, ctx: &AuditContext, id: i64) -> Result<PolicyRecord> {
        let txn = audit::begin(&self.db).await?;
        let current = find_live(&txn, id).await?;
        let before = convert::policy(current.clone())?;
        let mut model: policy::ActiveModel = current.into();
        let now = sentinel_api::Timestamp::now().0;
        model.deleted_at = Set(Some(now));
        model.updated_at = Set(Some(now));
        model.update(&txn).await.map_err(StoreError::classify)?;
        policy_message(&txn, ctx, "policy.delete", &before).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("policy.delete", "policy")
                .target(id)
                .before(&before),
        )
        .await?;
        txn.commit().await?;
        Ok(before)
    }
}

async fn find_live<C: ConnectionTrait>(db: &C, id: i64) -> Result<policy::Model> {
    policy::Entity::find_by_id(id)
        .filter(policy::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: ENTITY })
}

/// The `policy_changed` message of a change, on the change's transaction.
async fn policy_message<C: ConnectionTrait>(
    txn: &C,
    ctx: &AuditContext,
    action: &str,
    policy: &PolicyRecord,
) -> Result<()> {
    let message = crate::outbox::OutboxMessage {
        message_type: sentinel_api::webhook::MessageType::PolicyChanged,
        payload: serde_json::json!({ "action": action, "actor": ctx.actor, "policy": policy }),
        severity: Some(policy.severity),
        policy_id: Some(policy.id),
        app: None,
    };
    crate::outbox::push(txn, vec![message]).await
}
