//! Reading a detector's arguments, with errors that point at the offending argument.

use crate::ast::{ArgValue, DetectorCall};
use crate::error::{CompileError, closest};

pub(crate) struct ArgReader<'a> {
    call: &'a DetectorCall,
    used: Vec<bool>,
    pub errors: Vec<CompileError>,
}

impl<'a> ArgReader<'a> {
    pub(crate) fn new(call: &'a DetectorCall) -> Self {
        ArgReader {
            call,
            used: vec![false; call.args.len()],
            errors: Vec::new(),
        }
    }

    /// A numeric `key=value` (any of `keys` is accepted), within `min..=max`.
    pub(crate) fn number(&mut self, keys: &[&str], min: f64, max: f64) -> Option<f64> {
        let mut found = None;
        for (i, arg) in self.call.args.iter().enumerate() {
            let Some(key) = &arg.key else { continue };
            if !keys.contains(&key.as_str()) {
                continue;
            }
            self.used[i] = true;
            let n = match &arg.value {
                ArgValue::Number(n) => Some(*n),
                ArgValue::Str(s) | ArgValue::Word(s) => {
                    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
                }
            };
            match n {
                Some(n) if (min..=max).contains(&n) => found = Some(n),
                _ => self.errors.push(
                    CompileError::new(
                        arg.pos,
                        format!(
                            "`{key}` must be a number from {min} to {max}, found `{}`",
                            arg.value.text()
                        ),
                    )
                    .with_hint(format!(
                        "e.g. `{key}={}`",
                        if max <= 1.0 {
                            "0.8".to_owned()
                        } else {
                            format!("{}", min.max(1.0))
                        }
                    )),
                ),
            }
        }
        found
    }

    /// A count-like `key=value`: a whole number in `min..=max`.
    pub(crate) fn count(&mut self, keys: &[&str], min: usize, max: usize) -> Option<usize> {
        let before = self.errors.len();
        #[expect(clippy::cast_precision_loss, reason = "limits are small")]
        let n = self.number(keys, min as f64, max as f64)?;
        if n.fract() != 0.0 {
            if let Some(arg) = self
                .call
                .args
                .iter()
                .find(|a| a.key.as_deref().is_some_and(|k| keys.contains(&k)))
            {
                self.errors.push(CompileError::new(
                    arg.pos,
                    format!("`{}` must be a whole number", keys[0]),
                ));
            }
            return None;
        }
        if self.errors.len() > before {
            return None;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked to be a whole number in range"
        )]
        Some(n as usize)
    }

    /// Positional names, each one of `allowed` (after `alias`), lowercased.
    pub(crate) fn names(
        &mut self,
        allowed: &[&'static str],
        what: &str,
        alias: impl Fn(&str) -> Option<&'static str>,
    ) -> Vec<&'static str> {
        self.keyed_names(&[], allowed, what, alias)
    }

    /// Names given positionally or under any of `keys` (`categories=[a, b]` arrives as one
    /// argument per list item, all with the key), each one of `allowed` (after `alias`).
    pub(crate) fn keyed_names(
        &mut self,
        keys: &[&str],
        allowed: &[&'static str],
        what: &str,
        alias: impl Fn(&str) -> Option<&'static str>,
    ) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (i, arg) in self.call.args.iter().enumerate() {
            if arg.key.as_deref().is_some_and(|k| !keys.contains(&k)) {
                continue;
            }
            self.used[i] = true;
            let raw = arg.value.text().to_ascii_lowercase();
            let name = allowed
                .iter()
                .find(|a| **a == raw)
                .copied()
                .or_else(|| alias(&raw));
            match name {
                Some(n) => {
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
                None => {
                    let hint = match closest(&raw, allowed.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("known {what}s: {}", allowed.join(", ")),
                    };
                    self.errors.push(
                        CompileError::new(arg.pos, format!("unknown {what} `{raw}`"))
                            .with_hint(hint),
                    );
                }
            }
        }
        out
    }

    /// The `flags="imsx"` argument of `regex(...)`, validated.
    pub(crate) fn flags(&mut self) -> String {
        let mut flags = String::new();
        for (i, arg) in self.call.args.iter().enumerate() {
            if arg.key.as_deref() != Some("flags") {
                continue;
            }
            self.used[i] = true;
            let v = arg.value.text();
            if v.chars().all(|c| matches!(c, 'i' | 'm' | 's' | 'x')) {
                flags = v;
            } else {
                self.errors.push(
                    CompileError::new(arg.pos, format!("unknown regex flags `{v}`"))
                        .with_hint("supported flags are i (case-insensitive), m (multi-line), s (dot matches newline), x (verbose)"),
                );
            }
        }
        flags
    }

    /// Positional free texts (strings, words, numbers), as written.
    pub(crate) fn texts(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, arg) in self.call.args.iter().enumerate() {
            if arg.key.is_none() {
                self.used[i] = true;
                out.push(arg.value.text());
            }
        }
        out
    }

    /// Positions of the positional arguments, parallel to `texts()`.
    pub(crate) fn positional_positions(&self) -> Vec<crate::error::Pos> {
        self.call
            .args
            .iter()
            .filter(|a| a.key.is_none())
            .map(|a| a.pos)
            .collect()
    }

    /// Report every argument nobody read, then hand back all errors.
    pub(crate) fn finish(mut self, known_keys: &[&str]) -> Result<(), Vec<CompileError>> {
        for (i, arg) in self.call.args.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let name = &self.call.name;
            let err = match &arg.key {
                Some(k) => {
                    let hint = match closest(k, known_keys.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None if known_keys.is_empty() => {
                            format!("`sentinelai.{name}` takes no named arguments")
                        }
                        None => format!("`sentinelai.{name}` accepts: {}", known_keys.join(", ")),
                    };
                    CompileError::new(
                        arg.pos,
                        format!("unknown argument `{k}` for `sentinelai.{name}`"),
                    )
                    .with_hint(hint)
                }
                None => CompileError::new(
                    arg.pos,
                    format!("`sentinelai.{name}` takes no positional arguments"),
                )
                .with_hint(if known_keys.is_empty() {
                    "remove the arguments".to_owned()
                } else {
                    format!("use key=value with: {}", known_keys.join(", "))
                }),
            };
            self.errors.push(err);
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
