//! CSV renderings of the report models: one table per section (RFC 4180 quoting). A text cell
//! that a spreadsheet would read as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.

use sentinel_api::report::{
    ComplianceReport, DurationStats, FalsePositiveRow, TrendRow, UsageReport,
};

/// A cell: text (escaped against formulas) or a number (written as is).
enum Cell {
    Text(String),
    Num(String),
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn n(x: impl ToString) -> Cell {
    Cell::Num(x.to_string())
}

fn opt(x: Option<f64>) -> Cell {
    Cell::Num(x.map(|x| x.to_string()).unwrap_or_default())
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn line(cells: Vec<Cell>) -> String {
    let cells: Vec<String> = cells
        .into_iter()
        .map(|c| match c {
            Cell::Num(s) => s,
            Cell::Text(s) => {
                let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    format!("'{s}")
                } else {
                    s
                };
                quote(&s)
            }
        })
        .collect();
    let mut out = cells.join(",");
    out.push_str("\r\n");
    out
}

fn table(header: &[&str], rows: Vec<Vec<Cell>>) -> String {
    let mut out = line(header.iter().map(|h| t(*h)).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

fn trend_table(rows: &[TrendRow]) -> String {
    table(
        &["key", "count", "previous", "change_pct"],
        rows.iter()
            .map(|r| vec![t(&r.key), n(r.count), n(r.previous), opt(r.change_pct)])
            .collect(),
    )
}

fn fp_table(rows: &[FalsePositiveRow]) -> String {
    table(
        &[
            "key",
            "name",
            "violations",
            "triaged",
            "false_positives",
            "false_positive_rate",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    t(&r.key),
                    t(&r.name),
                    n(r.violations),
                    n(r.triaged),
                    n(r.false_positives),
                    opt(r.false_positive_rate),
                ]
            })
            .collect(),
    )
}

fn duration_row(name: &str, d: &DurationStats) -> Vec<Cell> {
    vec![
        t(name),
        n(d.count),
        opt(d.median_seconds),
        opt(d.p90_seconds),
    ]
}

/// The compliance report's tables, by name (the file stem in the evidence bundle).
pub fn compliance_tables(r: &ComplianceReport) -> Vec<(&'static str, String)> {
    let names = |ps: &[sentinel_api::report::PolicyRef]| {
        ps.iter()
            .map(|p| format!("{} ({})", p.name, p.id))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let coverage = table(
        &[
            "control",
            "title",
            "status",
            "enforced_policies",
            "shadow_policies",
            "evidence",
            "note",
        ],
        r.coverage
            .controls
            .iter()
            .map(|c| {
                let evidence = c
                    .evidence
                    .iter()
                    .map(|e| format!("{}: {}", e.kind, if e.passed { "pass" } else { "fail" }))
                    .collect::<Vec<_>>()
                    .join("; ");
                let status = serde_json::to_value(c.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                vec![
                    t(&c.id),
                    t(&c.title),
                    t(status),
                    t(names(&c.enforced_policies)),
                    t(names(&c.shadow_policies)),
                    t(evidence),
                    t(c.note.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    );
    let i = &r.incidents;
    let summary = table(
        &["metric", "period", "previous_period"],
        vec![
            vec![t("events"), n(i.events), n(i.previous_events)],
            vec![t("incidents"), n(i.total), n(i.previous_total)],
            vec![t("shadow_hits"), n(i.shadow_hits), t("")],
        ],
    );
    let tr = &r.triage;
    let triage = table(
        &["metric", "count", "median_seconds", "p90_seconds"],
        vec![
            vec![t("violations"), n(tr.violations), t(""), t("")],
            vec![t("open"), n(tr.open), t(""), t("")],
            vec![t("acknowledged"), n(tr.acknowledged), t(""), t("")],
            vec![t("resolved"), n(tr.resolved), t(""), t("")],
            vec![t("false_positives"), n(tr.false_positives), t(""), t("")],
            duration_row("time_to_acknowledge", &tr.time_to_acknowledge),
            duration_row("time_to_resolve", &tr.time_to_resolve),
        ],
    );
    let reviewers = table(
        &[
            "actor",
            "actions",
            "violations",
            "events",
            "acknowledged",
            "resolved",
            "false_positives",
            "median_response_seconds",
        ],
        r.oversight
            .reviewers
            .iter()
            .map(|a| {
                vec![
                    t(&a.actor),
                    n(a.actions),
                    n(a.violations),
                    n(a.events),
                    n(a.acknowledged),
                    n(a.resolved),
                    n(a.false_positives),
                    opt(a.median_response_seconds),
                ]
            })
            .collect(),
    );
    let rt = &r.retention;
    let retention = table(
        &[
            "retention_days",
            "required_days",
            "compliant",
            "warning",
            "oldest_event",
        ],
        vec![vec![
            Cell::Num(rt.retention_days.map(|d| d.to_string()).unwrap_or_default()),
            n(rt.required_days),
            n(rt.compliant),
            t(rt.warning.clone().unwrap_or_default()),
            t(rt.oldest_event.map(|o| o.to_string()).unwrap_or_default()),
        ]],
    );
    let g = &r.integrity;
    let integrity = table(
        &[
            "intact",
            "entries",
            "head_id",
            "head_hash",
            "first_bad_id",
            "reason",
        ],
        vec![vec![
            n(g.intact),
            n(g.entries),
            n(g.head_id),
            t(&g.head_hash),
            Cell::Num(g.first_bad_id.map(|d| d.to_string()).unwrap_or_default()),
            t(g.reason.clone().unwrap_or_default()),
        ]],
    );
    vec![
        ("coverage", coverage),
        ("incidents_summary", summary),
        ("incidents_by_category", trend_table(&i.by_category)),
        ("incidents_by_severity", trend_table(&i.by_severity)),
        ("incidents_by_app", trend_table(&i.by_app)),
        ("incidents_by_model", trend_table(&i.by_model)),
        ("triage", triage),
        ("false_positives_by_policy", fp_table(&tr.by_policy)),
        ("false_positives_by_detector", fp_table(&tr.by_detector)),
        ("reviewers", reviewers),
        ("retention", retention),
        ("integrity", integrity),
    ]
}

/// The usage report's one table (the total last).
pub fn usage_table(r: &UsageReport) -> String {
    table(
        &[
            "key",
            "events",
            "request_tokens",
            "response_tokens",
            "cost_usd",
            "unpriced_events",
            "blocked",
            "cost_avoided_usd",
            "guard_cost_usd",
        ],
        r.rows
            .iter()
            .chain(std::iter::once(&r.total))
            .map(|u| {
                vec![
                    t(&u.key),
                    n(u.events),
                    n(u.request_tokens),
                    n(u.response_tokens),
                    n(u.cost_usd),
                    n(u.unpriced_events),
                    n(u.blocked),
                    n(u.cost_avoided_usd),
                    n(u.guard_cost_usd),
                ]
            })
            .collect(),
    )
}

/// Every table in one text: each headed by a `# name` line, separated by a blank line.
pub fn concatenated(tables: &[(&str, String)]) -> String {
    tables
        .iter()
        .map(|(name, csv)| format!("# {name}\r\n{csv}"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(
            line(vec![t("a,b"), t("say \"hi\""), t("=SUM(A1)"), n(-3)]),
            "\"a,b\",\"say \"\"hi\"\"\",'=SUM(A1),-3\r\n"
        );
    }
}
