//! Deterministic cost and latency estimates per policy and mode.
//!
//! Formula (per event of about 1 KiB of text):
//!
//! ```text
//! U          = 0.25 + Σ cost units of the distinct detectors + 0.05 × scope clauses
//! latency_ms = 0.002 + 0.004 × U × L(mode)      L: fast 1.0, balanced 1.6, robust 3.2
//! cost       = 0.000002 × U × C(mode)           C: fast 1.0, balanced 1.5, robust 4.0   (USD)
//! ```
//!
//! Each detector's units are its registry entry's (`DetectorSpec::cost_units`, detect/registry.rs),
//! calibrated against the engine's own timings: `pii` and `secrets` 3 (a dozen
//! validated patterns each), `prompt_injection`/`jailbreak`/`toxicity`/`unsafe_content` 1.5, the
//! topic detectors and `code` 1, `invisible_text` 0.3, `length` 0.1, term lists 0.5 (+0.002 per
//! term), each regex 1 (+ its length / 200), `contains` 0.5, `matches` 1+, and each bundle the
//! sum of its parts.
//! Because `L` and `C` strictly grow with the mode and `U > 0`, every estimate strictly grows from
//! fast to balanced to robust. A definition that does not compile is estimated from the
//! detectors it names (or the base alone if it does not parse).

use serde::Serialize;

use crate::compile::{CompiledPolicy, compile, named_detectors};
use crate::policy::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub cost_per_event: f64,
    pub latency_ms: f64,
}

/// Something an estimate can be made for: a compiled policy or a definition's text.
pub trait Estimable {
    /// The `U` of the module formula.
    fn cost_units(&self) -> f64;
}

const BASE_UNITS: f64 = 0.25;

impl Estimable for CompiledPolicy {
    fn cost_units(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "clause counts are small")]
        let scope = self.expr.scope_clauses() as f64;
        BASE_UNITS
            + self
                .detectors
                .iter()
                .map(crate::detect::Detector::cost_units)
                .sum::<f64>()
            + 0.05 * scope
    }
}

impl Estimable for str {
    fn cost_units(&self) -> f64 {
        match compile(self) {
            Ok(p) => p.cost_units(),
            Err(_) => {
                let named = named_detectors(self);
                BASE_UNITS
                    + named
                        .iter()
                        .filter_map(|n| compile(&format!("any.text has sentinelai.{n}")).ok())
                        .map(|p| p.cost_units() - BASE_UNITS)
                        .sum::<f64>()
            }
        }
    }
}

impl Estimable for String {
    fn cost_units(&self) -> f64 {
        self.as_str().cost_units()
    }
}

fn factors(mode: Mode) -> (f64, f64) {
    match mode {
        Mode::Fast => (1.0, 1.0),
        Mode::Balanced => (1.6, 1.5),
        Mode::Robust => (3.2, 4.0),
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Estimate a policy's cost and latency in `mode`. See the module docs for the formula.
pub fn estimate<P: Estimable + ?Sized>(policy: &P, mode: Mode) -> Estimate {
    let u = policy.cost_units();
    let (l, c) = factors(mode);
    Estimate {
        latency_ms: round(0.002 + 0.004 * u * l, 6),
        cost_per_event: round(0.000_002 * u * c, 9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_mode_and_is_deterministic() {
        let defs = [
            "request.prompt has sentinelai.prompt_injection",
            "scope.app is x",
            "any.text has sentinelai.data_leakage and scope.app in [a, b]",
            "this does not parse",
            "request.prompt has sentinelai.pii and request.prompt has sentinelai.nope",
        ];
        for d in defs {
            let [f, b, r] = [Mode::Fast, Mode::Balanced, Mode::Robust].map(|m| estimate(d, m));
            assert!(
                f.latency_ms < b.latency_ms && b.latency_ms < r.latency_ms,
                "{d}"
            );
            assert!(
                f.cost_per_event < b.cost_per_event && b.cost_per_event < r.cost_per_event,
                "{d}"
            );
            assert_eq!(estimate(d, Mode::Fast), f);
        }
        let cheap = estimate("scope.app is x", Mode::Fast);
        let dear = estimate("any.text has sentinelai.data_leakage", Mode::Fast);
        assert!(cheap.latency_ms < dear.latency_ms);
        let broken = estimate(
            "request.prompt has sentinelai.pii and request.prompt has sentinelai.nope",
            Mode::Fast,
        );
        assert!(broken.latency_ms > cheap.latency_ms);
        if let Ok(p) = compile("any.text has sentinelai.pii") {
            assert_eq!(
                estimate(&p, Mode::Robust),
                estimate("any.text has sentinelai.pii", Mode::Robust)
            );
        }
    }
}
