//! Evaluation cost. See docs/ENGINE-BENCHMARKS.md for the figures and how to run them.
//!
//! - `balanced_1k_ten_policies_scoped`: the ten demo policies
//!   (`response.completion has sentinelai.<bundle> and scope.app is <App>`), a 1 KiB completion,
//!   scope matching one policy (the most expensive one, data_leakage).
//! - `balanced_1k_ten_bundles_all_match`: the same ten detectors as `any.text has
//!   sentinelai.<bundle>`, so every one of them must run over a 1 KiB prompt.
//! - `fast_1k`, `balanced_1k`, `robust_1k`: the all-match policy set in each mode.
//! - `fast_pii_secrets_1mib`: `pii` + `secrets` in fast mode over a 1 MiB document (throughput).
//! - `bundle_<name>_balanced`: each all-match policy alone, to see where the time goes.
//! - `pii_1k_<mode>`: `sentinelai.pii` alone in each mode (balanced and robust run the name,
//!   place and organisation tagger; fast does not).
//! - `balanced_1k_without_injection_model`, `robust_1k_without_injection_model`: the all-match
//!   set less `prompt_injection`, the one bundle that runs the trained classifier: what the rest
//!   of the engine costs.

/// The allocator of the `sentinel` binary (crates/cli/src/main.rs), so that the figures are the
/// product's: findings, views and explanations are many small allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sentinel_engine::{Input, Mode, Scope};
use std::hint::black_box;

mod workload;
use workload::{DEMO, all_match_set, document_1mib, realistic, scoped_set, set};

fn headline(c: &mut Criterion) {
    let text = realistic(1024);
    let scope = Scope {
        app: Some("SecureBot".into()),
        ..Scope::default()
    };
    let empty = Scope::default();

    let scoped = scoped_set(Mode::Balanced);
    let completion = Input {
        prompt: None,
        completion: Some(&text),
        scope: &scope,
    };
    // The data_leakage policy fires on the e-mail and phone number; no other is in scope.
    assert_eq!(scoped.evaluate(&completion).hits.len(), 1);
    c.bench_function("balanced_1k_ten_policies_scoped", |b| {
        b.iter(|| scoped.evaluate(black_box(&completion)))
    });

    let prompt = Input {
        prompt: Some(&text),
        completion: None,
        scope: &empty,
    };
    for mode in [Mode::Balanced, Mode::Fast, Mode::Robust] {
        let all = all_match_set(mode);
        if mode == Mode::Balanced {
            c.bench_function("balanced_1k_ten_bundles_all_match", |b| {
                b.iter(|| all.evaluate(black_box(&prompt)))
            });
        }
        c.bench_function(&format!("{mode}_1k"), |b| {
            b.iter(|| all.evaluate(black_box(&prompt)))
        });
    }

    let doc = document_1mib();
    let pii_secrets = set(
        [
            "any.text has sentinelai.pii".to_owned(),
            "any.text has sentinelai.secrets".to_owned(),
        ],
        Mode::Fast,
    );
    let input = Input {
        prompt: Some(&doc),
        completion: None,
        scope: &empty,
    };
    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("fast_pii_secrets_1mib", |b| {
        b.iter(|| pii_secrets.evaluate(black_box(&input)))
    });
    g.finish();
}

/// Each all-match policy alone in balanced mode, to see where the time goes.
fn per_bundle(c: &mut Criterion) {
    let text = realistic(1024);
    let scope = Scope::default();
    let input = Input {
        prompt: Some(&text),
        completion: None,
        scope: &scope,
    };
    for mode in [Mode::Balanced, Mode::Robust] {
        let rest = set(
            DEMO.iter()
                .filter(|(_, det)| *det != "prompt_injection")
                .map(|(_, det)| format!("any.text has sentinelai.{det}")),
            mode,
        );
        c.bench_function(&format!("{mode}_1k_without_injection_model"), |b| {
            b.iter(|| rest.evaluate(black_box(&input)))
        });
    }
    // Not a demo policy: the unsafe-content detector alone, per mode, on the same KiB.
    for mode in [Mode::Fast, Mode::Balanced, Mode::Robust] {
        let one = set(["any.text has sentinelai.unsafe_content".to_owned()], mode);
        c.bench_function(&format!("unsafe_content_{mode}_1k"), |b| {
            b.iter(|| one.evaluate(black_box(&input)))
        });
    }
    // `pii` alone per mode: fast mode has no name/place/organisation tagger, so the difference
    // to balanced is roughly what the tagger (and the context words) cost.
    for mode in [Mode::Fast, Mode::Balanced, Mode::Robust] {
        let pii = set(["any.text has sentinelai.pii".to_owned()], mode);
        c.bench_function(&format!("pii_1k_{mode}"), |b| {
            b.iter(|| pii.evaluate(black_box(&input)))
        });
    }
    for (_, det) in DEMO {
        let one = set([format!("any.text has sentinelai.{det}")], Mode::Balanced);
        c.bench_function(&format!("bundle_{det}_balanced"), |b| {
            b.iter(|| one.evaluate(black_box(&input)))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = headline, per_bundle
}
criterion_main!(benches);
