//! Enforcement on the way in: every text the model will read, found in the request body,
//! evaluated, and rewritten in place where a policy redacts.

use sentinel_engine::{Decision, Evaluation, Finding, Input, Redactor, Scope, Target};
use serde_json::Value;

use crate::guard::Enforced;

/// What a text of the request is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    System,
    User,
    /// An earlier answer of the model.
    Assistant,
    /// What a tool returned.
    ToolResult,
    /// Arguments the model gave a tool.
    ToolArguments,
}

/// One text of the request: where it is in the body and what it is.
#[derive(Debug, Clone)]
pub struct Slot {
    /// JSON pointer into the body.
    pub pointer: String,
    pub part: Part,
    pub text: String,
    /// The tool whose arguments or result this is.
    pub tool: Option<String>,
}

/// The texts of a request, and what could not be read.
#[derive(Debug, Default)]
pub struct Texts {
    pub slots: Vec<Slot>,
    /// A part that is not text (`image_url at /messages/1/content/0`).
    pub unscannable: Vec<String>,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::System => "system",
            Part::User => "user",
            Part::Assistant => "assistant",
            Part::ToolResult => "tool_result",
            Part::ToolArguments => "tool_arguments",
        }
    }
}

impl Texts {
    /// How many texts of each part the request holds (`{"system": 1, "user": 2}`).
    pub fn parts(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for slot in &self.slots {
            *counts.entry(slot.part.as_str()).or_insert(0) += 1;
        }
        counts
    }

    pub fn push(&mut self, pointer: String, part: Part, text: &str) {
        self.slots.push(Slot {
            pointer,
            part,
            text: text.to_owned(),
            tool: None,
        });
    }

    /// Names the tool of the slots pushed since the first `from` slots.
    pub fn name_tool(&mut self, from: usize, tool: Option<&str>) {
        for slot in self.slots.iter_mut().skip(from) {
            slot.tool = tool.map(str::to_owned);
        }
    }

    /// Every string inside `value` (a tool's JSON input), each as its own slot.
    pub fn push_strings(&mut self, pointer: &str, part: Part, value: &Value) {
        match value {
            Value::String(s) => self.push(pointer.to_owned(), part, s),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.push_strings(&format!("{pointer}/{i}"), part, v);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let key = k.replace('~', "~0").replace('/', "~1");
                    self.push_strings(&format!("{pointer}/{key}"), part, v);
                }
            }
            _ => {}
        }
    }

    /// The texts joined as the recorded prompt, with each slot's offset in it.
    pub fn joined(&self) -> (String, Vec<usize>) {
        let mut prompt = String::new();
        let mut starts = Vec::with_capacity(self.slots.len());
        for (i, slot) in self.slots.iter().enumerate() {
            if i > 0 {
                prompt.push_str(SEPARATOR);
            }
            starts.push(prompt.len());
            prompt.push_str(&slot.text);
        }
        (prompt, starts)
    }
}

/// Between two texts in the recorded prompt: a paragraph break.
const SEPARATOR: &str = "\n\n";

/// The outcome on the way in.
pub struct Inbound {
    pub evaluation: Evaluation,
    /// Numbering of the placeholders of this request (also restores pseudonyms on the way out).
    pub redactor: Option<Redactor>,
    /// Texts whose redacted form must replace the original in the body.
    pub rewrites: Vec<(String, String)>,
}

/// Evaluates the request's texts with the enforced policies, each on its own (a classifier
/// reads one message as it was trained to, not a mix of prose and tool JSON), and merges the
/// outcomes into one evaluation whose findings are offsets of the joined prompt.
pub fn evaluate(enforced: &Enforced, texts: &Texts, scope: &Scope) -> Inbound {
    let (_, starts) = texts.joined();
    let mut merged = Evaluation {
        decision: Decision::Allow,
        hits: Vec::new(),
        findings: Vec::new(),
        redacted_prompt: None,
        redacted_completion: None,
        scores: sentinel_engine::Scores {
            safe_prompt: 1.0,
            ..Default::default()
        },
        block_message: None,
    };
    let mut redactor: Option<Redactor> = None;
    let mut rewrites = Vec::new();
    let mut chars_before = 0;
    for (slot, &start) in texts.slots.iter().zip(&starts) {
        let scope = part_scope(scope, slot.part.as_str(), slot.tool.as_deref());
        let span = crate::telemetry::guardrail_span(match slot.part {
            Part::ToolResult => "tool_result",
            Part::ToolArguments => "tool_call",
            _ => "llm_input",
        });
        let started = std::time::Instant::now();
        let mut eval = span.in_scope(|| {
            enforced.set.evaluate(&Input {
                prompt: Some(&slot.text),
                completion: None,
                scope: &scope,
            })
        });
        if slot.part == Part::System {
            trusted(&enforced.set, &mut eval);
        }
        crate::telemetry::record_evaluation(&span, &eval);
        let hits: Vec<i64> = eval.hits.iter().map(|h| h.policy_id).collect();
        enforced.record(started.elapsed().as_secs_f64() * 1e6, &hits);
        if eval.decision == Decision::Redact
            && let Some((style, findings)) = enforced.set.redaction(&eval, Target::Prompt)
        {
            let owned: Vec<Finding> = findings.into_iter().cloned().collect();
            let r = redactor.get_or_insert_with(|| Redactor::new(style));
            rewrites.push((slot.pointer.clone(), r.redact(&slot.text, &owned)));
        }
        let shift = |f: &mut Finding| {
            f.start += start;
            f.end += start;
            f.char_start += chars_before;
            f.char_end += chars_before;
        };
        eval.findings.iter_mut().for_each(shift);
        for h in &mut eval.hits {
            h.findings.iter_mut().for_each(shift);
        }
        merge(&mut merged, eval);
        chars_before += slot.text.chars().count() + SEPARATOR.chars().count();
    }
    Inbound {
        evaluation: merged,
        redactor,
        rewrites,
    }
}

/// The detectors that judge what users, documents and tools bring in as an attack on the
/// operator's instructions.
const ATTACK_DETECTORS: [&str; 2] = ["prompt_injection", "jailbreak"];

/// The system prompt is the operator's own instruction, not an attack on it: the injection and
/// jailbreak findings in it are dropped (a policy breached by them alone is not breached), and
/// everything else stands (PII, secrets, keywords). A policy written for the system prompt
/// (`request.system has sentinelai.prompt_injection`) keeps its findings.
fn trusted(set: &sentinel_engine::PolicySet, eval: &mut Evaluation) {
    let attack = |f: &Finding| ATTACK_DETECTORS.contains(&&*f.detector);
    let written_for_it =
        |h: &sentinel_engine::PolicyHit| set.names_part(h.policy_id, Part::System.as_str());
    let kept: Vec<(usize, usize)> = eval
        .hits
        .iter()
        .filter(|h| written_for_it(h))
        .flat_map(|h| h.findings.iter().map(|f| (f.start, f.end)))
        .collect();
    eval.hits.retain_mut(|h| {
        if written_for_it(h) {
            return true;
        }
        let had = !h.findings.is_empty();
        h.findings.retain(|f| !attack(f));
        !(had && h.findings.is_empty())
    });
    eval.findings
        .retain(|f| !attack(f) || kept.contains(&(f.start, f.end)));
    eval.decision = eval
        .hits
        .iter()
        .map(|h| Decision::from(h.action))
        .max()
        .unwrap_or(Decision::Allow);
    if eval.decision != Decision::Block {
        eval.block_message = None;
    }
}

/// The call's scope for one part of it: `scope.part` (`system`, `user`, `assistant`,
/// `tool_result`, `tool_arguments`, `completion`) and, for a tool's arguments or result,
/// `scope.tool`, so that a policy can single out a part or a tool.
pub fn part_scope(scope: &Scope, part: &str, tool: Option<&str>) -> Scope {
    let mut scope = scope.clone();
    scope.metadata.insert("part".to_owned(), part.to_owned());
    if let Some(tool) = tool {
        scope.metadata.insert("tool".to_owned(), tool.to_owned());
    }
    scope
}

/// Adds `eval` to `into`: the stronger decision, one hit per policy, every finding.
fn merge(into: &mut Evaluation, eval: Evaluation) {
    into.decision = into.decision.max(eval.decision);
    if into.block_message.is_none() {
        into.block_message = eval.block_message;
    }
    into.findings.extend(eval.findings);
    for hit in eval.hits {
        match into.hits.iter_mut().find(|h| h.policy_id == hit.policy_id) {
            Some(h) => {
                h.confidence = h.confidence.max(hit.confidence);
                h.findings.extend(hit.findings);
            }
            None => into.hits.push(hit),
        }
    }
    let (a, b) = (&mut into.scores, eval.scores);
    a.legal_advice = a.legal_advice.max(b.legal_advice);
    a.controversial_topics = a.controversial_topics.max(b.controversial_topics);
    a.code_prompt = a.code_prompt.max(b.code_prompt);
    a.safe_prompt = a.safe_prompt.min(b.safe_prompt);
}

/// Replaces the texts at their pointers.
pub fn apply(body: &mut Value, rewrites: &[(String, String)]) {
    for (pointer, text) in rewrites {
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = Value::String(text.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_of_a_tool_input_are_slots() {
        let mut texts = Texts::default();
        let input = serde_json::json!({"to": "a@b.io", "cc/x": ["c@d.io", 3], "n": 1});
        texts.push_strings("/messages/0/content/1/input", Part::ToolArguments, &input);
        let pointers: Vec<&str> = texts.slots.iter().map(|s| s.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/messages/0/content/1/input/cc~1x/0",
                "/messages/0/content/1/input/to"
            ]
        );
        let mut body = serde_json::json!({"messages": [{"content": [{}, {"input": input}]}]});
        apply(
            &mut body,
            &[(
                "/messages/0/content/1/input/cc~1x/0".into(),
                "[EMAIL_1]".into(),
            )],
        );
        assert_eq!(
            body["messages"][0]["content"][1]["input"]["cc/x"][0],
            "[EMAIL_1]"
        );
    }
}
