//! `sentinel report export` and `sentinel report verify`: the evidence bundle.
//!
//! A bundle is one zip archive:
//! - `report.json`: the compliance report of the framework and period;
//! - `report.pdf`: the same report as a PDF (made from `report.json`'s data);
//! - `csv/<table>.csv`: each of its tables;
//! - `audit.jsonl`: the audit entries made in the period, oldest first, as `sentinel audit
//!   export` writes them;
//! - `manifest.json`: the framework, the period, the audit chain's head (id and hash) when the
//!   bundle was made, and each other file's SHA-256 and size.
//!
//! `verify` checks the bundle against itself (every file listed with its hash and nothing else,
//! every audit entry's hash recomputed and linked to the one before, the report's head hash
//! equal to the manifest's) and, given a store, against the live audit chain (the chain verifies,
//! and holds the same entries and the same head entry).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use sentinel_api::Timestamp;
use sentinel_api::audit::AuditEntry;
use sentinel_api::report::{ComplianceReport, FrameworkRef, Period};
use sentinel_server::Settings;
use sentinel_server::service::reports::{self, csv, pdf};
use sentinel_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest's `format`.
const FORMAT: &str = "sentinel-evidence-bundle/1";

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Write the evidence bundle of a framework and period: the report as JSON, PDF and CSV, the
    /// period's audit entries as JSONL, and a manifest of SHA-256 hashes with the audit head.
    Export {
        /// `owasp-llm-2025` (default), `eu-ai-act`, `nist-ai-rmf`, or one from the configuration.
        #[arg(long)]
        framework: Option<String>,
        /// Start of the period, RFC 3339 (default: `until` minus 30 days).
        #[arg(long, value_parser = parse_time)]
        since: Option<Timestamp>,
        /// End of the period, RFC 3339, exclusive (default: now).
        #[arg(long, value_parser = parse_time)]
        until: Option<Timestamp>,
        /// The archive to write (a zip file).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a bundle against itself and, with `--database-url` or `--data-dir`, against the
    /// store's live audit chain. Exit status 0 when it holds, 1 when it was tampered with.
    Verify { file: PathBuf },
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s).ok_or_else(|| format!("`{s}` is not an RFC 3339 date-time"))
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestFile {
    path: String,
    sha256: String,
    bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct AuditHead {
    id: i64,
    hash: String,
    intact: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    framework: FrameworkRef,
    period: Period,
    generated_at: Timestamp,
    audit_head: AuditHead,
    /// Audit entries in `audit.jsonl`.
    audit_entries: u64,
    files: Vec<ManifestFile>,
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Exit status 0, or 1 when the report found the live audit chain broken (the bundle is
/// still written: it is the evidence of that).
pub async fn export(
    store: &Store,
    settings: &Settings,
    framework: Option<&str>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    out: &Path,
) -> Result<u8> {
    let framework = reports::framework(settings, framework).map_err(|e| anyhow::anyhow!("{e}"))?;
    let period =
        reports::period(since, until, chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The entries first: the report's head (read after) then covers every one of them.
    let entries = store
        .audit_between(period.since.0, period.until.0, None)
        .await
        .context("reading the audit entries of the period")?;
    let report: ComplianceReport = reports::compliance(store, settings, &framework, period)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push((
        "report.json".into(),
        serde_json::to_vec_pretty(&report).context("serialising the report")?,
    ));
    files.push((
        "report.pdf".into(),
        pdf::compliance_pdf(&report).context("rendering the report as PDF")?,
    ));
    for (name, table) in csv::compliance_tables(&report) {
        files.push((format!("csv/{name}.csv"), table.into_bytes()));
    }
    let mut jsonl = Vec::new();
    for e in &entries {
        serde_json::to_writer(&mut jsonl, e).context("serialising an audit entry")?;
        jsonl.push(b'\n');
    }
    files.push(("audit.jsonl".into(), jsonl));
    let manifest = Manifest {
        format: FORMAT.into(),
        framework: report.framework.clone(),
        period,
        generated_at: report.generated_at,
        audit_head: AuditHead {
            id: report.integrity.head_id,
            hash: report.integrity.head_hash.clone(),
            intact: report.integrity.intact,
        },
        audit_entries: entries.len() as u64,
        files: files
            .iter()
            .map(|(path, bytes)| ManifestFile {
                path: path.clone(),
                sha256: sha256(bytes),
                bytes: bytes.len() as u64,
            })
            .collect(),
    };
    let manifest = serde_json::to_vec_pretty(&manifest).context("serialising the manifest")?;

    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files
        .iter()
        .chain(std::iter::once(&("manifest.json".to_owned(), manifest)))
    {
        zip.start_file(path.as_str(), options)
            .with_context(|| format!("adding {path} to the bundle"))?;
        zip.write_all(bytes)
            .with_context(|| format!("writing {path} into the bundle"))?;
    }
    zip.finish()
        .context("finishing the bundle")?
        .flush()
        .context("writing the bundle")?;
    println!(
        "wrote {}: {} over {} to {}, {} audit entries, audit head {} ({}){}",
        out.display(),
        report.framework.id,
        period.since,
        period.until,
        entries.len(),
        report.integrity.head_id,
        report.integrity.head_hash,
        if report.integrity.intact {
            ""
        } else {
            "; WARNING: the live audit chain does not verify"
        }
    );
    Ok(if report.integrity.intact { 0 } else { 1 })
}

/// Every problem found in the bundle itself; empty when it holds.
fn check_bundle(path: &Path) -> Result<(Manifest, Vec<AuditEntry>, Vec<String>)> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).context("reading the bundle (a zip archive)")?;
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).context("reading the bundle")?;
        let name = f
            .name()
            .context("a file name in the bundle is not UTF-8")?
            .into_owned();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .with_context(|| format!("reading {name} in the bundle"))?;
        contents.insert(name, bytes);
    }
    let manifest: Manifest = serde_json::from_slice(
        contents
            .get("manifest.json")
            .context("the bundle has no manifest.json")?,
    )
    .context("manifest.json is not a bundle manifest")?;
    let mut problems = Vec::new();
    if manifest.format != FORMAT {
        problems.push(format!("unknown bundle format `{}`", manifest.format));
    }
    for f in &manifest.files {
        match contents.get(&f.path) {
            None => problems.push(format!("{} is listed in the manifest but missing", f.path)),
            Some(bytes) if sha256(bytes) != f.sha256 || bytes.len() as u64 != f.bytes => {
                problems.push(format!(
                    "{} was altered: its SHA-256 is {}, the manifest says {}",
                    f.path,
                    sha256(bytes),
                    f.sha256
                ));
            }
            Some(_) => {}
        }
    }
    for name in contents.keys() {
        if name != "manifest.json" && !manifest.files.iter().any(|f| &f.path == name) {
            problems.push(format!("{name} is in the bundle but not in the manifest"));
        }
    }
    // The PDF is part of the evidence: listed (so hashed above) and a PDF.
    if !manifest.files.iter().any(|f| f.path == "report.pdf") {
        problems.push("the manifest does not list report.pdf".to_owned());
    }
    match contents.get("report.pdf") {
        Some(b) if b.starts_with(b"%PDF-") => {}
        Some(_) => problems.push("report.pdf is not a PDF document".to_owned()),
        None => problems.push("the bundle has no report.pdf".to_owned()),
    }
    // The report's integrity section names the same head as the manifest.
    match contents
        .get("report.json")
        .map(|b| serde_json::from_slice::<ComplianceReport>(b))
    {
        Some(Ok(report)) => {
            if report.integrity.head_hash != manifest.audit_head.hash
                || report.integrity.head_id != manifest.audit_head.id
            {
                problems.push("report.json's audit head differs from the manifest's".to_owned());
            }
            if report.period != manifest.period || report.framework != manifest.framework {
                problems.push(
                    "report.json's framework or period differs from the manifest's".to_owned(),
                );
            }
        }
        Some(Err(e)) => problems.push(format!("report.json is not a compliance report: {e}")),
        None => problems.push("the bundle has no report.json".to_owned()),
    }
    // Each audit entry as recorded, and linked to the previous one.
    let mut entries = Vec::new();
    let text = contents
        .get("audit.jsonl")
        .map(|b| String::from_utf8_lossy(b).into_owned());
    for (n, line) in text.unwrap_or_default().lines().enumerate() {
        match serde_json::from_str::<AuditEntry>(line) {
            Ok(e) => entries.push(e),
            Err(e) => problems.push(format!("audit.jsonl line {}: {e}", n + 1)),
        }
    }
    if entries.len() as u64 != manifest.audit_entries {
        problems.push(format!(
            "audit.jsonl holds {} entries, the manifest says {}",
            entries.len(),
            manifest.audit_entries
        ));
    }
    for (i, e) in entries.iter().enumerate() {
        if sentinel_store::audit::entry_hash(e) != e.hash {
            problems.push(format!(
                "audit entry {} was altered (its hash does not match its contents)",
                e.id
            ));
        }
        if let Some(prev) = i.checked_sub(1).and_then(|p| entries.get(p))
            && (e.id != prev.id + 1 || e.prev_hash != prev.hash)
        {
            problems.push(format!(
                "audit entry {} does not follow entry {} (an entry is missing or reordered)",
                e.id, prev.id
            ));
        }
        if e.id > manifest.audit_head.id {
            problems.push(format!(
                "audit entry {} comes after the manifest's head {}",
                e.id, manifest.audit_head.id
            ));
        }
    }
    Ok((manifest, entries, problems))
}

/// Problems between the bundle and the store's live chain.
async fn check_live(
    store: &Store,
    manifest: &Manifest,
    entries: &[AuditEntry],
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let live = store
        .verify_audit()
        .await
        .context("verifying the live audit chain")?;
    if !live.intact {
        problems.push(format!(
            "the live audit chain is broken at entry {}: {}",
            live.first_bad_id.unwrap_or_default(),
            live.reason.unwrap_or_default()
        ));
    }
    let mut ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    ids.push(manifest.audit_head.id);
    let hashes = store
        .audit_hashes(&ids)
        .await
        .context("reading the live audit chain")?;
    for e in entries {
        match hashes.get(&e.id) {
            Some(h) if *h == e.hash => {}
            Some(_) => problems.push(format!(
                "audit entry {} differs from the live chain's entry {}",
                e.id, e.id
            )),
            None => problems.push(format!("audit entry {} is not in the live chain", e.id)),
        }
    }
    if manifest.audit_head.id > 0 {
        match hashes.get(&manifest.audit_head.id) {
            Some(h) if *h == manifest.audit_head.hash => {}
            _ => problems.push(format!(
                "the manifest's audit head (entry {}, {}) is not the live chain's entry {}",
                manifest.audit_head.id, manifest.audit_head.hash, manifest.audit_head.id
            )),
        }
    }
    Ok(problems)
}

/// Exit status 0 when the bundle holds, 1 when it does not.
pub async fn verify(path: &Path, store: Option<&Store>) -> Result<u8> {
    let (manifest, entries, mut problems) = check_bundle(path)?;
    if let Some(store) = store {
        problems.extend(check_live(store, &manifest, &entries).await?);
    }
    if problems.is_empty() {
        println!(
            "bundle intact: {} files, {} audit entries, audit head {} ({}){}",
            manifest.files.len() + 1,
            entries.len(),
            manifest.audit_head.id,
            manifest.audit_head.hash,
            if store.is_some() {
                "; matches the live audit chain"
            } else {
                ""
            }
        );
        Ok(0)
    } else {
        println!("bundle FAILED verification:");
        for p in &problems {
            println!("- {p}");
        }
        Ok(1)
    }
}
