use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::violation::{FindingResponse, ViolationFilter, ViolationStats};
use sentinel_api::{Severity, ShadowFilter, Timestamp, ViolationStatus, ViolationType};

use crate::audit::{self, AuditChange, AuditContext};
use crate::counters::Counters;
use crate::entity::violation;
use crate::error::Entity;
use crate::report_rollups::ViolationRollupDims;
use crate::writes::Writes;
use crate::{Result, Store, StoreError, Triage, convert};

/// A stored violation: one breached policy for one event. The findings are kept in the form the
/// API reports them, because that is the form they were evaluated and stored in.
#[derive(Debug, Clone, PartialEq)]
pub struct ViolationRecord {
    pub id: i64,
    pub violation_type: ViolationType,
    pub severity: Severity,
    pub status: ViolationStatus,
    pub title: Option<String>,
    pub description: Option<String>,
    pub details: Option<String>,
    pub confidence_score: f64,
    pub event_id: i64,
    pub policy_id: i64,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_date: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub legal_advice_score: Option<f64>,
    pub controversial_topics_score: Option<f64>,
    pub code_prompt_score: Option<f64>,
    pub safe_prompt_score: Option<f64>,
    pub findings: Vec<FindingResponse>,
    /// The version of the policy that raised it; `None` before versions were kept.
    pub policy_version: Option<i64>,
    /// Raised by a shadow policy.
    pub shadow: bool,
}

/// Narrows a violation query to what `shadow` asks for.
pub(crate) fn shadow_filter(
    select: sea_orm::Select<violation::Entity>,
    shadow: ShadowFilter,
) -> sea_orm::Select<violation::Entity> {
    match shadow {
        ShadowFilter::Exclude => select.filter(violation::Column::Shadow.eq(false)),
        ShadowFilter::Include => select,
        ShadowFilter::Only => select.filter(violation::Column::Shadow.eq(true)),
    }
}

/// `detected` and `investigating` count as open.
pub(crate) const OPEN_STATUSES: [ViolationStatus; 2] =
    [ViolationStatus::Detected, ViolationStatus::Investigating];

impl Store {
    /// Newest first.
    pub async fn list_violations(
        &self,
        filter: &ViolationFilter,
        page: PageParams,
    ) -> Result<Page<ViolationRecord>> {
        let mut select =
            shadow_filter(violation::Entity::find(), filter.shadow.unwrap_or_default());
        if let Some(v) = filter.status {
            select = select.filter(violation::Column::Status.eq(v.as_str()));
        }
        if let Some(v) = filter.severity {
            select = select.filter(violation::Column::Severity.eq(v.as_str()));
        }
        if let Some(v) = filter.policy_id {
            select = select.filter(violation::Column::PolicyId.eq(v));
        }
        if let Some(v) = filter.event_id {
            select = select.filter(violation::Column::EventId.eq(v));
        }
        if let Some(v) = filter.violation_type {
            select = select.filter(violation::Column::ViolationType.eq(v.as_str()));
        }
        let select = select
            .order_by_desc(violation::Column::CreatedAt)
            .order_by_desc(violation::Column::Id);
        // Exact totals from the counters; an `event_id` filter counts its few rows directly.
        let total = match self.counted_violations(filter).await? {
            Some(total) => total,
            None => select.clone().count(&self.db).await?,
        };
        let rows = select
            .offset(page.skip)
            .limit(page.limit)
            .all(&self.db)
            .await?;
        let items = rows
            .into_iter()
            .map(convert::violation)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    pub async fn get_violation(&self, id: i64) -> Result<ViolationRecord> {
        let row = violation::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound {
                entity: Entity::Violation,
            })?;
        convert::violation(row)
    }

    pub async fn update_violation(
        &self,
        ctx: &AuditContext,
        id: i64,
        change: Triage<ViolationStatus>,
    ) -> Result<ViolationRecord> {
        let txn = audit::begin(&self.db).await?;
        let current =
            violation::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(StoreError::NotFound {
                    entity: Entity::Violation,
                })?;
        let before = triage_state(&current.status, current.acknowledged_by);
        let mut counters = Counters::default();
        // Shadow violations are not in the counters (they serve the legacy counts only).
        if let Some(status) = change.status.filter(|_| !current.shadow) {
            counters.violation_status(
                &current.status,
                status.as_str(),
                &current.severity,
                &current.violation_type,
                current.policy_id,
            );
        }
        use crate::entity::event;
        // The event's application and model: the webhook message and the report rollups.
        let (app, model_name): (Option<String>, Option<String>) =
            event::Entity::find_by_id(current.event_id)
                .select_only()
                .column(event::Column::Source)
                .column(event::Column::ModelName)
                .into_tuple()
                .one(&txn)
                .await?
                .unwrap_or((None, None));
        let before_row = current.clone();
        let mut model: violation::ActiveModel = current.into();
        let now = sentinel_api::Timestamp::now().0;
        if let Some(status) = change.status {
            model.status = Set(status.as_str().to_owned());
        }
        if let Some(by) = change.acknowledged_by {
            model.acknowledged_by = Set(by);
            model.acknowledged_date = Set(Some(now));
        }
        model.updated_at = Set(Some(now));
        let updated = model.update(&txn).await.map_err(StoreError::classify)?;
        counters.violation_rollup_moved(
            ViolationRollupDims::of(&before_row, app.as_deref(), model_name.as_deref()),
            ViolationRollupDims::of(&updated, app.as_deref(), model_name.as_deref()),
        );
        // The counters and the message need no answer: one round trip on SQLite.
        let mut writes = Writes::new(txn.get_database_backend());
        counters.stage(&mut writes);
        if !updated.shadow {
            let message = crate::outbox::violation_message(
                sentinel_api::webhook::MessageType::ViolationUpdated,
                &updated,
                app,
                serde_json::json!({ "before": before, "actor": ctx.actor }),
            );
            crate::outbox::stage(&mut writes, vec![message])?;
        }
        writes.run(&txn).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("violation.update", "violation")
                .target(id)
                .before(before)
                .after(triage_state(&updated.status, updated.acknowledged_by)),
        )
        .await?;
        txn.commit().await?;
        convert::violation(updated)
    }

    /// The summary as `shadow` asks: the legacy counts (`exclude`, from the counters), the
    /// shadow policies' violations alone (`only`, counted from their rows), or both.
    pub async fn violation_stats_with(&self, shadow: ShadowFilter) -> Result<ViolationStats> {
        let legacy = match shadow {
            ShadowFilter::Only => ViolationStats {
                total_violations: 0,
                open_violations: 0,
                critical_violations: 0,
                high_violations: 0,
            },
            ShadowFilter::Exclude | ShadowFilter::Include => self.violation_stats().await?,
        };
        if shadow == ShadowFilter::Exclude {
            return Ok(legacy);
        }
        let rows: Vec<(String, String, i64)> = violation::Entity::find()
            .select_only()
            .column(violation::Column::Status)
            .column(violation::Column::Severity)
            .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
            .filter(violation::Column::Shadow.eq(true))
            .group_by(violation::Column::Status)
            .group_by(violation::Column::Severity)
            .into_tuple()
            .all(&self.db)
            .await?;
        let open = OPEN_STATUSES.map(|s| s.as_str());
        Ok(rows
            .into_iter()
            .fold(legacy, |mut stats, (status, severity, n)| {
                let n = u64::try_from(n).unwrap_or(0);
                stats.total_violations += n;
                if open.contains(&status.as_str()) {
                    stats.open_violations += n;
                }
                if severity == Severity::Critical.as_str() {
                    stats.critical_violations += n;
                }
                if severity == Severity::High.as_str() {
                    stats.high_violations += n;
                }
                stats
            }))
    }

    pub async fn violation_stats(&self) -> Result<ViolationStats> {
        Ok(ViolationStats {
            total_violations: self.counted_violations_in(None, None).await?,
            open_violations: self.open_violations().await?,
            critical_violations: self.violations_with_severity(Severity::Critical).await?,
            high_violations: self.violations_with_severity(Severity::High).await?,
        })
    }

    pub(crate) async fn open_violations(&self) -> Result<u64> {
        self.counted_violations_in(Some(&OPEN_STATUSES.map(|s| s.as_str())), None)
            .await
    }

    pub(crate) async fn violations_with_severity(&self, severity: Severity) -> Result<u64> {
        self.counted_violations_in(None, Some(severity.as_str()))
            .await
    }
}

/// What a triage change touches, for the audit entry (never the event's text).
pub(crate) fn triage_state(status: &str, acknowledged_by: Option<i64>) -> serde_json::Value {
    serde_json::json!({ "status": status, "acknowledged_by": acknowledged_by })
}
