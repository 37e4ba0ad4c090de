//! Tests of the whole scan: positives, look-alikes, and the prefilter against the whole-text
//! reference.

use super::*;

fn found(text: &str) -> Vec<(String, String)> {
    let tv = TextViews::new(text);
    scan(&SecretsConfig::all(), &tv, Mode::Balanced)
        .into_iter()
        .map(|f| {
            (
                f.entity.into_owned(),
                text.get(f.start..f.end).unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn positives() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----";
    let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let cases = [
        (
            "key AKIAZ3MSJV4WWNKWW5FG",
            "aws_access_key",
            "AKIAZ3MSJV4WWNKWW5FG",
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0",
            "aws_secret_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0",
        ),
        (
            "AIzaSyD3k9fQ2xLmN8pR7tV1wY4zB6cE0gH5jK2",
            "gcp_api_key",
            "AIzaSyD3k9fQ2xLmN8pR7tV1wY4zB6cE0gH5jK2",
        ),
        (
            "token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            "github_token",
            "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
        ),
        (
            "glpat-x9Yz8Wv7Ut6Sr5Qp4On3",
            "gitlab_token",
            "glpat-x9Yz8Wv7Ut6Sr5Qp4On3",
        ),
        (
            "xoxb-2048302934-4829302934-aB3dE5fG7hJ9kL1m",
            "slack_token",
            "xoxb-2048302934-4829302934-aB3dE5fG7hJ9kL1m",
        ),
        (
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "stripe_key",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ),
        (
            "sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
            "openai_key",
            "sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
        ),
        (
            "sk-ant-api03-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
            "anthropic_key",
            "sk-ant-api03-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
        ),
        (
            "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",
            "sendgrid_key",
            "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",
        ),
        (
            "SK2f8a9c0b1d3e4f5a6b7c8d9e0f1a2b3c",
            "twilio_key",
            "SK2f8a9c0b1d3e4f5a6b7c8d9e0f1a2b3c",
        ),
        (pem, "private_key", pem),
        (ssh, "private_key", ssh),
        (jwt, "jwt", jwt),
        (
            "postgres://app:s3cr3tP4ss@db.internal:5432/prod",
            "connection_string_password",
            "s3cr3tP4ss",
        ),
        (
            "api_key = \"q8Zr2Lx9Vb4Nm7Kp1Ws6Td3\"",
            "generic_secret",
            "q8Zr2Lx9Vb4Nm7Kp1Ws6Td3",
        ),
        ("password: hunter2hunter", "generic_secret", "hunter2hunter"),
        (
            "config['api_key'] = 'q8Zr2Lx9Vb4Nm7Kp1Ws6Td3'",
            "generic_secret",
            "q8Zr2Lx9Vb4Nm7Kp1Ws6Td3",
        ),
        (
            "config[\"password\"] = \"Xk9#mQ2v!Lr7\"",
            "generic_secret",
            "Xk9#mQ2v!Lr7",
        ),
        (
            "SENDGRID_API_KEY=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",
            "sendgrid_key",
            "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",
        ),
        (
            "key: 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 done",
            "sendgrid_key",
            "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",
        ),
        (
            "GITHUB_TOKEN=ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            "github_token",
            "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
        ),
    ];
    for (text, entity, value) in cases {
        let got = found(text);
        assert!(
            got.iter().any(|(e, v)| e == entity && v == value),
            "{text}: {got:?}"
        );
    }
}

#[test]
fn negatives() {
    for text in [
        "The token is passed to the next function.",
        "token = next_token()",
        "api_key = os.environ['API_KEY']",
        "password: <your password here>",
        "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
        "postgres://user:${DB_PASSWORD}@localhost/db",
        "Ask the secret santa for a present.",
        "let key = config.api_key;",
        "AKIAAAAAAAAAAAAAAAAA",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "aws key AKIAI44QH8DHBEXAMPLE from the docs",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "config['api_key'] = 'your-api-key-here'",
        "config[\"password\"] = \"changeme\"",
        "config['api_key'] = 'abcdefghabcdefgh'",
        // 45 characters after the second dot: not a SendGrid key.
        "SG.aB3dE5fG7hJ9kL1mN3pQ5r.sT7uV9wX1yZ3aB5cD7eF9gH1jK3lM5nP7qR9sT1uV3wXX",
    ] {
        let got = found(text);
        assert!(got.is_empty(), "{text}: {got:?}");
    }
    // One finding per value: the provider pattern, not also `generic_secret`.
    for text in [
        "GITHUB_TOKEN=ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
        "export OPENAI_API_KEY=sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
        "STRIPE_SECRET_KEY: sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ] {
        let got = found(text);
        assert_eq!(got.len(), 1, "{text}: {got:?}");
        assert_ne!(got[0].0, "generic_secret", "{text}: {got:?}");
    }
}

fn assert_same_as_whole(text: &str) {
    for &mode in Mode::ALL {
        let tv = TextViews::new(text);
        let cfg = SecretsConfig::new(rules::providers().to_vec(), 0.0);
        assert_eq!(
            scan_views(&cfg, &tv, mode, false),
            scan_views(&cfg, &tv, mode, true),
            "{mode} {text:?}"
        );
    }
}

#[test]
fn prefilter_and_windows_find_what_the_whole_text_finds() {
    assert_eq!(RULES[GENERIC].entity, "generic_secret");
    for text in [
        "",
        "api_key = \"q8Zr2Lx9Vb4Nm7Kp1Ws6Td3\" and token: abcdef1234567890XYZ",
        "config['api_key'] = 'q8Zr2Lx9Vb4Nm7Kp1Ws6Td3'; x = 1; password=>hunter2hunter",
        "a=pwd=secret123 token = next_token() MY_SECRET_TOKEN:\t\"Zx9vQ2mL8kP4nR7tW1yB\"",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0",
        "AWS-SK: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0\"",
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=\
         Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;",
        "https://acct.blob.core.windows.net/c?sv=2020&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2B",
        "postgres://app:s3cr3tP4ss@db.internal:5432/prod",
        "token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5, sk-ant-api03-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
        "credentials]  :  'Xk9#mQ2v!Lr7' private-key=\"-----BEGIN RSA PRIVATE KEY-----\nMIIE\"",
        "apiKey:\n\n   abc:def=ghi123456 SECRET=:=:=== = token ==> x",
        "passwd=été123456 token: ＡＢＣ123456789",
        "{\"type\":  \"service_account\", \"x\": 1} \"type\"\n:\t\"service_account\"",
        "tenant 8Q~abcdefghijklmnopqrstuvwxyz0123456 and Q~ alone",
    ] {
        assert_same_as_whole(text);
    }
}

#[test]
fn prefilter_and_windows_find_what_the_whole_text_finds_in_the_corpus() {
    crate::tests_support::check_corpus_texts(assert_same_as_whole);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]
    #[test]
    fn prefilter_and_windows_find_what_the_whole_text_finds_on_noise(
        parts in proptest::collection::vec(proptest::sample::select(&[
            "api", "_key", "token", "secret", "passw", "ord", "pwd", "auth", "access",
            "private", "credential", "aws", "AccountKey", "sig", "?", "&", "=", ":", "=>",
            " ", "\t", "\n", "\"", "'", "]", "[", ",", ";", "{", "(", "q8Zr2Lx9Vb4N",
            "m7Kp1Ws6Td3", "hunter2", "ghp_", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            "sk-", "ant-", "AKIA", "Z3MSJV4WWNKWW5FG", "://", "@", "/", "-", "_", "x",
            "é", "K", "SK2f8a9c0b1d3e4f5a6b7c8d9e0f1a2b3c", "AC", "0123456789abcdef",
            "3Q~", "abc", "service_account", "\"type\"", "eyJ", "-----BEGIN ", "glpat-",
        ][..]), 0..30)
    ) {
        assert_same_as_whole(&parts.concat());
    }
}

/// `generic_groups` against the capture groups of every `generic_secret` match of `text`.
fn assert_generic_groups(text: &str) {
    let re = RULES[GENERIC].regex.get();
    for caps in re.captures_iter(text) {
        let (Some(all), Some(key), Some(value)) = (caps.get(0), caps.get(1), caps.get(2)) else {
            panic!("{text:?}: a match without its groups");
        };
        assert_eq!(
            generic::generic_groups(text.as_bytes(), all.start(), all.end()),
            Some(((key.start(), key.end()), (value.start(), value.end()))),
            "{text:?}"
        );
    }
}

#[test]
fn generic_groups_equal_the_capture_groups() {
    for text in [
        "api_key = \"q8Zr2Lx9Vb4Nm7Kp1Ws6Td3\"",
        "config['api_key'] = 'q8Zr2Lx9Vb4Nm7Kp1Ws6Td3'",
        "config[\"password\"] = \"Xk9#mQ2v!Lr7\"",
        "password: hunter2hunter",
        "token==abcdef123 secret=>abcdefgh PWD:  'x:y=z>12' my-token := aaaaaaa",
        "auth_key\t=\t\"\"abcdef\"\" client-secret = :abcdefg apikey=>=>=>aaa",
        "SECRET=123456 secret = 12345 credentials: \"'abcdef'\" access-key ]= abcdefgh",
    ] {
        assert_generic_groups(text);
    }
    for text in crate::tests_support::corpus_texts() {
        if text.is_ascii() {
            assert_generic_groups(&text);
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2048, ..Default::default() })]
    #[test]
    fn generic_groups_equal_the_capture_groups_on_noise(
        parts in proptest::collection::vec(proptest::sample::select(&[
            "api_key", "token", "secret", "PWD", "x", "-", "_", "9", " ", "\t", "=", ":",
            "=>", ">", "\"", "'", "]", "[", "abcdef", "Q1w2E3r4", "/", ";", "(", "é",
        ][..]), 0..16)
    ) {
        let text = parts.concat();
        if text.is_ascii() {
            assert_generic_groups(&text);
        }
    }
}

#[test]
fn all_rules_compile() {
    for r in &RULES {
        let _ = r.regex.get();
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every rule has a positive example, found at its value with its entity at or above the
/// balanced threshold, and a look-alike (the same carrier with a placeholder body) that is not
/// reported at all (`rule_examples.txt`, generated by scripts/quality/secrets_formats.py).
#[test]
fn every_rule_finds_its_example_and_not_its_look_alike() {
    let mut positives: Vec<&str> = Vec::new();
    let mut negatives: Vec<&str> = Vec::new();
    let mut failures = Vec::new();
    for line in include_str!("rule_examples.txt").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut f = line.split('\t');
        let (Some(id), Some(text)) = (f.next(), f.next()) else {
            panic!("bad line {line:?}");
        };
        let Some(rule) = RULES.iter().find(|r| r.id == id) else {
            panic!("no rule {id}");
        };
        if let Some(neg) = text.strip_prefix('!') {
            let text = unescape(neg);
            negatives.push(rule.id);
            let got = found(&text);
            if !got.is_empty() {
                failures.push(format!("{id}: look-alike reported: {got:?}"));
            }
            assert_same_as_whole(&text);
        } else {
            let text = unescape(text);
            let want = unescape(f.next().unwrap_or(""));
            positives.push(rule.id);
            let got = found(&text);
            if !got.iter().any(|(e, v)| e == rule.entity && *v == want) {
                failures.push(format!("{id}: {got:?} in {text:?}"));
            }
            assert_same_as_whole(&text);
        }
    }
    for r in &RULES {
        if !positives.contains(&r.id) || !negatives.contains(&r.id) {
            failures.push(format!("{}: no example or no look-alike", r.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn documentation_examples_are_reported_below_the_threshold() {
    for (text, value) in [
        (
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLE",
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        (
            "stripe.api_key = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        ),
    ] {
        assert!(found(text).is_empty(), "{text}");
        let tv = TextViews::new(text);
        let mut cfg = SecretsConfig::all();
        cfg.min_score = 0.0;
        let low: Vec<_> = scan(&cfg, &tv, Mode::Balanced)
            .into_iter()
            .filter(|f| &text[f.start..f.end] == value)
            .collect();
        assert!(!low.is_empty(), "{text}: not reported at all");
        assert!(low.iter().all(|f| f.score < 0.5), "{text}: {low:?}");
    }
}

#[test]
fn jwts_are_reported_by_how_far_they_decode() {
    let score = |text: &str| {
        let tv = TextViews::new(text);
        let mut cfg = SecretsConfig::all();
        cfg.min_score = 0.0;
        scan(&cfg, &tv, Mode::Balanced)
            .into_iter()
            .filter(|f| f.entity == "jwt")
            .map(|f| f.score)
            .fold(0.0, f64::max)
    };
    // {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890"}
    let valid = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert!(score(valid) >= 0.9);
    // A header that is not JSON: reported below the threshold only.
    let bogus =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N";
    let s = score(bogus);
    assert!(s > 0.0 && s < 0.5, "{s}");
}

#[test]
fn the_docs_list_every_rule() {
    let docs = include_str!("../../../../../docs/POLICY-LANGUAGE.md");
    let table = rules::docs_table();
    assert!(
        docs.contains(&table),
        "docs/POLICY-LANGUAGE.md must hold the rule table; expected:\n{table}"
    );
    assert!(RULES.len() >= 60);
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len(), "rule ids are unique");
}

/// `wanted` is the set of rules whose provider the configuration names: for every provider
/// alone, a few together (in any order, names copied so the all-providers shortcut cannot
/// apply), all of them, and an unknown name.
#[test]
fn wanted_rules_are_those_of_the_named_providers() {
    let reference = |providers: &[&str]| -> Mask {
        RULES
            .iter()
            .enumerate()
            .filter(|(_, r)| providers.contains(&r.provider))
            .fold(0, |m, (i, _)| m | 1 << i)
    };
    let cfg = |providers: Vec<&'static str>| SecretsConfig::new(providers, 0.5);
    let all = rules::providers();
    for &p in all {
        assert_eq!(cfg(vec![p]).wanted(), reference(&[p]), "{p}");
    }
    let mut some: Vec<&'static str> = all.iter().rev().step_by(3).copied().collect();
    some.push("no_such_provider");
    assert_eq!(cfg(some.clone()).wanted(), reference(&some));
    let copied: Vec<&'static str> = all
        .iter()
        .map(|p| &*Box::leak(p.to_string().into_boxed_str()))
        .collect();
    assert_eq!(cfg(copied).wanted(), reference(all));
    assert_eq!(SecretsConfig::all().wanted(), reference(all));
    assert_eq!(reference(all).count_ones() as usize, RULES.len());
}
