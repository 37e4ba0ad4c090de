//! The policy lifecycle: versions, their diff, rollback, and the promotion of a shadow policy.
//!
//! Every write goes through the store's `change_policy`, which writes the change, its new
//! version and their audit entries in one transaction; the enforced set is then reloaded as after
//! any policy change.

use sentinel_api::dashboard::ShadowPolicySummary;
use sentinel_api::page::{Page, PageParams};
use sentinel_api::policy::{
    DiffLine, DiffOp, FieldChange, PolicyResponse, PolicyVersionDiff, PolicyVersionResponse,
};
use sentinel_api::{Enforcement, PolicyId, PolicyStatus};
use sentinel_store::{AuditContext, ChangeKind, PolicyChange, PolicyVersionRecord};
use serde_json::Value;

use crate::service::policies::{check_enforceable, estimate, reload, response as policy_response};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;

pub fn response(v: PolicyVersionRecord) -> PolicyVersionResponse {
    PolicyVersionResponse {
        policy_id: v.policy_id,
        version: v.version,
        author: v.author,
        author_id: v.author_id,
        created_at: v.created_at,
        changed: v.changed,
        rollback_of: v.rollback_of,
        name: v.name,
        definition: v.definition,
        category: v.category,
        status: v.status,
        severity: v.severity,
        performance_mode: v.performance_mode,
        intervention_type: v.intervention_type,
        intervention_config: v.intervention_config,
        enforcement: v.enforcement,
    }
}

/// Versions are numbered from 1: anything lower is a bad path, not a missing version.
fn check_number(param: &str, version: i64) -> ServiceResult<()> {
    if version < 1 {
        return Err(ServiceError::invalid(
            &["path", param],
            "Input should be greater than or equal to 1",
            "greater_than_equal",
        ));
    }
    Ok(())
}

/// A policy's versions, newest first.
pub async fn list(
    state: &AppState,
    id: PolicyId,
    page: PageParams,
) -> ServiceResult<Page<PolicyVersionResponse>> {
    Ok(state
        .store
        .list_policy_versions(id.get(), page)
        .await?
        .map(response))
}

pub async fn get(
    state: &AppState,
    id: PolicyId,
    version: i64,
) -> ServiceResult<PolicyVersionResponse> {
    check_number("version", version)?;
    Ok(response(
        state.store.get_policy_version(id.get(), version).await?,
    ))
}

/// Field by field, what differs from version `from` to version `to`, with a line diff of the
/// definition.
pub async fn diff(
    state: &AppState,
    id: PolicyId,
    from: i64,
    to: i64,
) -> ServiceResult<PolicyVersionDiff> {
    check_number("from", from)?;
    check_number("to", to)?;
    let a = response(state.store.get_policy_version(id.get(), from).await?);
    let b = response(state.store.get_policy_version(id.get(), to).await?);
    Ok(version_diff(&a, &b))
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The stored fields of a version, in the order a diff lists them.
fn fields(v: &PolicyVersionResponse) -> [(&'static str, Value); 9] {
    [
        ("name", json(&v.name)),
        ("definition", json(&v.definition)),
        ("category", json(&v.category)),
        ("status", json(&v.status)),
        ("severity", json(&v.severity)),
        ("performance_mode", json(&v.performance_mode)),
        ("intervention_type", json(&v.intervention_type)),
        ("intervention_config", json(&v.intervention_config)),
        ("enforcement", json(&v.enforcement)),
    ]
}

/// What differs from version `a` to version `b`.
pub fn version_diff(a: &PolicyVersionResponse, b: &PolicyVersionResponse) -> PolicyVersionDiff {
    let changes: Vec<FieldChange> = fields(a)
        .into_iter()
        .zip(fields(b))
        .filter(|((_, x), (_, y))| x != y)
        .map(|((field, from), (_, to))| FieldChange {
            field: field.to_owned(),
            from,
            to,
        })
        .collect();
    let definition_diff = if a.definition == b.definition {
        Vec::new()
    } else {
        line_diff(&a.definition, &b.definition)
    };
    PolicyVersionDiff {
        policy_id: a.policy_id,
        from: a.version,
        to: b.version,
        fields: changes,
        definition_diff,
    }
}

/// Above this many line pairs, the diff does not look for common lines: it deletes every old
/// line and inserts every new one (still a correct diff, just not a minimal one).
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A minimal line diff (longest common subsequence) of `old` into `new`.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let line = |op: DiffOp, text: &str| DiffLine {
        op,
        line: text.to_owned(),
    };
    if a.len().saturating_mul(b.len()) > MAX_DIFF_CELLS {
        return a
            .iter()
            .map(|l| line(DiffOp::Delete, l))
            .chain(b.iter().map(|l| line(DiffOp::Insert, l)))
            .collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(line(DiffOp::Equal, a[i]));
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            out.push(line(DiffOp::Delete, a[i]));
            i += 1;
        } else {
            out.push(line(DiffOp::Insert, b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| line(DiffOp::Delete, l)));
    out.extend(b[j..].iter().map(|l| line(DiffOp::Insert, l)));
    out
}

/// Gives the policy back version `version`'s definition, severity, mode, intervention and
/// enforcement, as a new version (history is never rewritten). The status stays as it is, so a
/// rollback never switches a policy on or off; an enforced policy can only roll back to a
/// definition that compiles.
pub async fn rollback(
    state: &AppState,
    ctx: &AuditContext,
    id: PolicyId,
    version: i64,
    author_id: Option<i64>,
) -> ServiceResult<PolicyResponse> {
    check_number("version", version)?;
    let target = state.store.get_policy_version(id.get(), version).await?;
    let current = state.store.get_policy(id.get()).await?;
    check_enforceable(&target.definition, current.status)?;
    let (cost, latency) = estimate(&target.definition, target.performance_mode);
    let change = PolicyChange {
        definition: Some(target.definition),
        severity: Some(target.severity),
        performance_mode: Some(target.performance_mode),
        intervention_type: Some(target.intervention_type),
        intervention_config: Some(target.intervention_config),
        enforcement: Some(target.enforcement),
        estimated_cost_per_event: Some(cost),
        estimated_latency_ms: Some(latency),
        author_id,
        ..PolicyChange::default()
    };
    let policy = state
        .store
        .change_policy(ctx, id.get(), change, ChangeKind::Rollback(version))
        .await?;
    reload(state, id, "updated", Some(policy.status)).await?;
    Ok(policy_response(state, policy))
}

/// Moves a shadow policy to enforcement: `enforcement` becomes `enforce` and `status` `open`,
/// as one new version. Only a shadow policy can be promoted, and only if its definition compiles.
pub async fn promote(
    state: &AppState,
    ctx: &AuditContext,
    id: PolicyId,
    author_id: Option<i64>,
) -> ServiceResult<PolicyResponse> {
    let current = state.store.get_policy(id.get()).await?;
    if current.enforcement != Enforcement::Shadow {
        return Err(ServiceError::NotShadow {
            policy_id: current.id,
        });
    }
    check_enforceable(&current.definition, PolicyStatus::Open)?;
    let change = PolicyChange {
        enforcement: Some(Enforcement::Enforce),
        status: Some(PolicyStatus::Open),
        author_id,
        ..PolicyChange::default()
    };
    let policy = state
        .store
        .change_policy(ctx, id.get(), change, ChangeKind::Promote)
        .await?;
    reload(state, id, "updated", Some(policy.status)).await?;
    Ok(policy_response(state, policy))
}

/// Every live shadow policy with what its recorded hits would have done, in id order.
pub async fn shadow_summary(state: &AppState) -> ServiceResult<Vec<ShadowPolicySummary>> {
    let counts = state.store.shadow_counts().await?;
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    let policies = state.store.all_policies().await?;
    Ok(counts
        .into_iter()
        .filter_map(|c| {
            let p = policies.iter().find(|p| p.id == c.policy_id)?;
            Some(ShadowPolicySummary {
                policy_id: p.id,
                name: p.name.clone(),
                status: p.status,
                intervention_type: p.intervention_type,
                version: p.version,
                would_notify: c.notify,
                would_redact: c.redact,
                would_block: c.block,
                total: c.notify + c.redact + c.block,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(diff: &[DiffLine]) -> Vec<(DiffOp, &str)> {
        diff.iter().map(|d| (d.op, d.line.as_str())).collect()
    }

    /// (name, old, new, the expected diff).
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static [(DiffOp, &'static str)],
    );

    #[test]
    fn line_diffs_keep_common_lines() {
        use DiffOp::{Delete, Equal, Insert};
        let cases: &[Case] = &[
            ("same", "a\nb", "a\nb", &[(Equal, "a"), (Equal, "b")]),
            (
                "one line changed",
                "a\nb\nc",
                "a\nx\nc",
                &[(Equal, "a"), (Delete, "b"), (Insert, "x"), (Equal, "c")],
            ),
            (
                "added at the end",
                "a",
                "a\nb",
                &[(Equal, "a"), (Insert, "b")],
            ),
            (
                "removed at the start",
                "a\nb",
                "b",
                &[(Delete, "a"), (Equal, "b")],
            ),
            ("from nothing", "", "a", &[(Insert, "a")]),
            ("to nothing", "a", "", &[(Delete, "a")]),
        ];
        for (name, old, new, expected) in cases {
            assert_eq!(ops(&line_diff(old, new)), *expected, "{name}");
        }
    }

    #[test]
    fn huge_diffs_stay_correct() {
        let old: String = (0..3000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..3000).map(|i| format!("b{i}\n")).collect();
        let diff = line_diff(&old, &new);
        assert_eq!(diff.len(), 6000);
        assert!(diff[..3000].iter().all(|d| d.op == DiffOp::Delete));
        assert!(diff[3000..].iter().all(|d| d.op == DiffOp::Insert));
    }
}
