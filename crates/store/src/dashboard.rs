use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use sentinel_api::dashboard::{
    ActivityItem, CategoryCount, DashboardStats, ModePerformance, SeverityBreakdown, StatusCount,
    TimelinePoint,
};
use sentinel_api::{PolicyStatus, Severity};

use crate::entity::{event, policy, violation};
use crate::{Result, Store, convert};

fn round_to(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

impl Store {
    pub async fn dashboard_stats(&self) -> Result<DashboardStats> {
        let live = policy::Entity::find().filter(policy::Column::DeletedAt.is_null());
        Ok(DashboardStats {
            total_policies: live.clone().count(&self.db).await?,
            // Open and acting on traffic: a shadow policy is open but acts on nothing, and
            // before shadow mode existed every open policy acted, so legacy readers see the
            // count they always saw.
            active_policies: live
                .filter(policy::Column::Status.eq(PolicyStatus::Open.as_str()))
                .filter(policy::Column::Enforcement.eq(sentinel_api::Enforcement::Enforce.as_str()))
                .count(&self.db)
                .await?,
            total_events: self.rollup_total().await?,
            open_violations: self.open_violations().await?,
            events_last_24h: self.events_since(Utc::now() - Duration::hours(24)).await?,
            critical_violations: self.violations_with_severity(Severity::Critical).await?,
        })
    }

    /// One point per UTC date that has events triggered in the last `days` days, oldest first.
    ///
    /// Whole days come from the rollups; the first, partial day of the window is counted from
    /// the events themselves.
    pub async fn events_timeline(
        &self,
        days: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimelinePoint>> {
        let start = now - Duration::days(i64::from(days));
        let first_day = start.date_naive();
        let mut rows = self.rollup_days_after(first_day).await?;
        // The first, partial day: its whole hours from the hourly counters, the rest counted.
        let day_end = first_day
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or(start);
        for (severity, n) in self.events_in_window(Some(start), Some(day_end)).await? {
            rows.push((first_day, severity, i64::try_from(n).unwrap_or(i64::MAX)));
        }
        let mut by_day: BTreeMap<NaiveDate, SeverityBreakdown> = BTreeMap::new();
        for (day, severity, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            if n == 0 {
                continue;
            }
            let entry = by_day.entry(day).or_default();
            match convert::parse::<Severity>("events.severity", &severity)? {
                Severity::Low => entry.low += n,
                Severity::Medium => entry.medium += n,
                Severity::High => entry.high += n,
                Severity::Critical => entry.critical += n,
            }
        }
        Ok(by_day
            .into_iter()
            .map(|(day, b)| TimelinePoint {
                date: day.format("%Y-%m-%d").to_string(),
                total: b.low + b.medium + b.high + b.critical,
                severity_breakdown: b,
            })
            .collect())
    }

    /// The newest events (by trigger date) and violations (by creation), merged newest first.
    pub async fn recent_activity(&self, limit: u64) -> Result<Vec<ActivityItem>> {
        let events = event::Entity::find()
            .order_by_desc(event::Column::TriggerDate)
            .order_by_desc(event::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        // Shadow violations are not legacy activity.
        let violations = violation::Entity::find()
            .filter(violation::Column::Shadow.eq(false))
            .order_by_desc(violation::Column::CreatedAt)
            .order_by_desc(violation::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut items: Vec<ActivityItem> = events
            .into_iter()
            .map(|e| ActivityItem {
                kind: "event".to_owned(),
                id: e.id,
                title: e.title,
                severity: e.severity,
                timestamp: convert::ts(e.trigger_date),
                status: e.status,
            })
            .chain(violations.into_iter().map(|v| ActivityItem {
                kind: "violation".to_owned(),
                id: v.id,
                title: v.title.unwrap_or_default(),
                severity: v.severity,
                timestamp: convert::ts(v.created_at),
                status: v.status,
            }))
            .collect();
        // Stable: on equal timestamps events stay ahead of violations, as legacy clients expect.
        items.sort_by_key(|item| std::cmp::Reverse(item.timestamp));
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(items)
    }

    /// Average `duration_ms` of the events that report one, rounded to 2 places (from the rollups).
    pub async fn avg_event_duration_ms(&self) -> Result<f64> {
        Ok(round_to(
            self.rollup_avg_duration().await?.unwrap_or(0.0),
            2,
        ))
    }

    /// Per performance mode of the live policies, alphabetical.
    pub async fn policy_performance(&self) -> Result<Vec<ModePerformance>> {
        let rows: Vec<(String, Option<f64>, Option<f64>, i64)> = policy::Entity::find()
            .select_only()
            .column(policy::Column::PerformanceMode)
            .column_as(Expr::col(policy::Column::EstimatedLatencyMs).avg(), "lat")
            .column_as(
                Expr::col(policy::Column::EstimatedCostPerEvent).avg(),
                "cost",
            )
            .column_as(Expr::col(policy::Column::Id).count(), "n")
            .filter(policy::Column::DeletedAt.is_null())
            .group_by(policy::Column::PerformanceMode)
            .order_by_asc(policy::Column::PerformanceMode)
            .into_tuple()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|(mode, lat, cost, n)| {
                Ok(ModePerformance {
                    mode: convert::parse("policies.performance_mode", &mode)?,
                    avg_latency_ms: round_to(lat.unwrap_or(0.0), 2),
                    avg_cost_per_event: round_to(cost.unwrap_or(0.0), 4),
                    policy_count: u64::try_from(n).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Violations per type, alphabetical by type (from the maintained counters).
    pub async fn violations_by_category(&self) -> Result<Vec<CategoryCount>> {
        self.counted_violations_by_type()
            .await?
            .into_iter()
            .map(|(t, count)| {
                Ok(CategoryCount {
                    category: convert::parse("violations.violation_type", &t)?,
                    count,
                })
            })
            .collect()
    }

    /// Live policies per status, alphabetical by status.
    pub async fn policies_by_status(&self) -> Result<Vec<StatusCount>> {
        let rows: Vec<(String, i64)> = policy::Entity::find()
            .select_only()
            .column(policy::Column::Status)
            .column_as(Expr::col(policy::Column::Id).count(), "n")
            .filter(policy::Column::DeletedAt.is_null())
            .group_by(policy::Column::Status)
            .order_by_asc(policy::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|(s, n)| {
                Ok(StatusCount {
                    status: convert::parse("policies.status", &s)?,
                    count: u64::try_from(n).unwrap_or(0),
                })
            })
            .collect()
    }
}
