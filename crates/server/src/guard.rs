//! The policy set in force: compiled once by the engine, held in an `ArcSwap` and swapped
//! atomically when a policy changes, so evaluation never takes a lock and never parses.
//! Live per-policy counters travel with the set and survive reloads.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use sentinel_api::policy::PolicyMetrics;
use sentinel_api::{Enforcement, InterventionType, PolicyStatus};
use sentinel_engine::{PolicySet, PolicySpec};
use sentinel_store::PolicyRecord;

/// Latency buckets: bucket `i` holds samples below `BASE_US * GROWTH^i` microseconds.
const BUCKETS: usize = 64;
const BASE_US: f64 = 1.0;
const GROWTH: f64 = 1.3;

/// Lock-free counters of one policy.
pub struct PolicyCounters {
    evaluations: AtomicU64,
    hits: AtomicU64,
    latency: [AtomicU64; BUCKETS],
}

impl Default for PolicyCounters {
    fn default() -> Self {
        Self {
            evaluations: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl PolicyCounters {
    fn record(&self, elapsed_us: f64, hit: bool) {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        if hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        let bucket = if elapsed_us <= BASE_US {
            0
        } else {
            ((elapsed_us / BASE_US).ln() / GROWTH.ln()).ceil() as usize
        };
        self.latency[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The upper bound of the bucket holding quantile `q` (0..1), in microseconds.
    fn quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .latency
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let upper = BASE_US * GROWTH.powi(i as i32);
                return Some((upper * 10.0).round() / 10.0);
            }
        }
        None
    }

    pub fn snapshot(&self) -> PolicyMetrics {
        PolicyMetrics {
            evaluations: self.evaluations.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            p50_evaluation_us: self.quantile(0.5),
            p95_evaluation_us: self.quantile(0.95),
        }
    }
}

/// What the engine needs to know about a policy in force besides its compiled form.
#[derive(Clone)]
pub struct PolicyMeta {
    pub name: String,
    pub action: InterventionType,
    /// The version compiled into this generation, recorded on the violations it raises.
    pub version: i64,
    /// A shadow policy: evaluated and recorded, never acted on.
    pub shadow: bool,
    /// The policy's live counters, shared with every generation it is part of.
    counters: Arc<PolicyCounters>,
}

/// One immutable generation of the policies in force (enforced and shadow): exactly those in
/// `set`.
pub struct Enforced {
    pub set: PolicySet,
    pub policies: HashMap<i64, PolicyMeta>,
}

impl Enforced {
    /// Records one evaluation pass of the enforced policies: every enforced policy of this
    /// generation was evaluated, `hits` fired. On the evaluation path: no allocation, no lookup
    /// outside the generation itself.
    pub fn record(&self, elapsed_us: f64, hits: &[i64]) {
        self.record_where(elapsed_us, hits, false);
    }

    /// Records one evaluation pass of the shadow policies.
    pub fn record_shadow(&self, elapsed_us: f64, hits: &[i64]) {
        self.record_where(elapsed_us, hits, true);
    }

    fn record_where(&self, elapsed_us: f64, hits: &[i64], shadow: bool) {
        for (id, meta) in &self.policies {
            if meta.shadow == shadow {
                meta.counters.record(elapsed_us, hits.contains(id));
            }
        }
    }
}

/// The swap point plus the counters of every policy ever evaluated by this process.
pub struct Guard {
    enforced: ArcSwap<Enforced>,
    counters: ArcSwap<HashMap<i64, Arc<PolicyCounters>>>,
}

/// The engine's view of a stored policy.
pub fn spec_of(p: &PolicyRecord) -> PolicySpec {
    PolicySpec {
        id: p.id,
        name: p.name.clone(),
        definition: p.definition.clone(),
        severity: p.severity,
        mode: p.performance_mode,
        action: p.intervention_type,
        intervention_config: p.intervention_config.clone(),
        enforcement: p.enforcement,
    }
}

impl Guard {
    pub fn new(policies: &[PolicyRecord]) -> Self {
        let guard = Self {
            enforced: ArcSwap::from_pointee(Enforced {
                set: PolicySet::new(Vec::new()),
                policies: HashMap::new(),
            }),
            counters: ArcSwap::from_pointee(HashMap::new()),
        };
        guard.reload(policies);
        guard
    }

    /// Compiles the `open` policies among `policies` (enforced and shadow) and swaps them in.
    pub fn reload(&self, policies: &[PolicyRecord]) {
        let open: Vec<&PolicyRecord> = policies
            .iter()
            .filter(|p| p.status == PolicyStatus::Open)
            .collect();
        let set = PolicySet::new(open.iter().map(|p| spec_of(p)).collect());
        let mut counters = HashMap::clone(&self.counters.load());
        for p in policies {
            counters
                .entry(p.id)
                .or_insert_with(|| Arc::new(PolicyCounters::default()));
        }
        let failed: Vec<i64> = set.errors().iter().map(|(id, _)| *id).collect();
        let meta = open
            .iter()
            .filter(|p| !failed.contains(&p.id))
            .filter_map(|p| {
                let counters = counters.get(&p.id)?.clone();
                Some((
                    p.id,
                    PolicyMeta {
                        name: p.name.clone(),
                        action: p.intervention_type,
                        version: p.version,
                        shadow: p.enforcement == Enforcement::Shadow,
                        counters,
                    },
                ))
            })
            .collect();
        self.counters.store(Arc::new(counters));
        self.enforced.store(Arc::new(Enforced {
            set,
            policies: meta,
        }));
    }

    /// The generation in force now.
    pub fn current(&self) -> Arc<Enforced> {
        self.enforced.load_full()
    }

    /// Records an evaluation of a single policy (a `/test`).
    pub fn record_one(&self, policy_id: i64, elapsed_us: f64, hit: bool) {
        if let Some(c) = self.counters.load().get(&policy_id) {
            c.record(elapsed_us, hit);
        }
    }

    /// The counters of every policy this process has evaluated, by id.
    pub fn all_metrics(&self) -> Vec<(i64, PolicyMetrics)> {
        let mut all: Vec<_> = self
            .counters
            .load()
            .iter()
            .map(|(id, c)| (*id, c.snapshot()))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }

    pub fn metrics(&self, policy_id: i64) -> PolicyMetrics {
        self.counters
            .load()
            .get(&policy_id)
            .map(|c| c.snapshot())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_recorded_samples() {
        let c = PolicyCounters::default();
        assert_eq!(c.snapshot().p50_evaluation_us, None);
        for _ in 0..90 {
            c.record(10.0, false);
        }
        for _ in 0..10 {
            c.record(1000.0, true);
        }
        let m = c.snapshot();
        assert_eq!((m.evaluations, m.hits), (100, 10));
        let p50 = m.p50_evaluation_us.unwrap();
        let p95 = m.p95_evaluation_us.unwrap();
        assert!((10.0..=13.0).contains(&p50), "{p50}");
        assert!((1000.0..=1300.0).contains(&p95), "{p95}");
    }
}
