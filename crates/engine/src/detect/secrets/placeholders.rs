//! Telling placeholders and documentation examples from secrets.
//!
//! A placeholder (`<your key>`, `${TOKEN}`, `changeme`, `sk_live_xxxx…`) is never reported. A
//! documentation example (AWS's `AKIAIOSFODNN7EXAMPLE`, jwt.io's token) is reported at
//! [`EXAMPLE_SCORE`], below the balanced threshold, so a policy with a low `min_score` can still
//! show it. Both lists are data files.

/// The score of a documentation example key: below the default `min_score` of 0.5.
pub(crate) const EXAMPLE_SCORE: f64 = 0.3;

struct Markers {
    /// Lowercase ASCII substrings marking a placeholder.
    list: Vec<&'static str>,
    /// For each byte, the markers that start with it (bit `i` for `list[i]`).
    by_first_byte: [u64; 256],
}

fn lines(data: &'static str) -> impl Iterator<Item = &'static str> {
    data.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn markers() -> &'static Markers {
    static M: std::sync::OnceLock<Markers> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let list: Vec<&'static str> = lines(include_str!("placeholders.txt")).take(64).collect();
        let mut by_first_byte = [0u64; 256];
        for (i, m) in list.iter().enumerate() {
            by_first_byte[usize::from(m.as_bytes()[0])] |= 1 << i;
        }
        Markers {
            list,
            by_first_byte,
        }
    })
}

#[cfg(test)]
pub(crate) fn marker_list() -> &'static [&'static str] {
    &markers().list
}

/// Whether `v` is a placeholder: it contains a marker (ASCII-case-insensitive), is a bare word
/// such as `password`, or repeats one character.
pub(crate) fn is_placeholder(v: &str) -> bool {
    let m = markers();
    let l = v.as_bytes();
    // `v.to_ascii_lowercase().contains(m)` for the lowercase ASCII markers, without the copy:
    // at each byte, only the markers starting with its lowercase form are compared.
    let marked = (0..l.len()).any(|i| {
        let mut bits = m.by_first_byte[usize::from(l[i].to_ascii_lowercase())];
        while bits != 0 {
            let marker = m.list[bits.trailing_zeros() as usize].as_bytes();
            if l[i..]
                .get(..marker.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(marker))
            {
                return true;
            }
            bits &= bits - 1;
        }
        false
    });
    marked
        || ["password", "true", "false", "secret", "token"]
            .iter()
            .any(|w| l.eq_ignore_ascii_case(w.as_bytes()))
        || l.iter().all(|b| b.eq_ignore_ascii_case(&l[0]))
}

/// Whether a vendor-shaped value is a documentation example: one of the published examples
/// (data file) or a value ending in `EXAMPLE`/`EXAMPLEKEY`, AWS's convention.
pub(crate) fn is_example_key(v: &str) -> bool {
    static KNOWN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(|| lines(include_str!("example_keys.txt")).collect());
    if known.contains(&v) {
        return true;
    }
    let u = v.to_ascii_uppercase();
    let u = u.trim_end_matches(['=', '_', '-']);
    u.ends_with("EXAMPLE") || u.ends_with("EXAMPLEKEY")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_placeholder` as first written, over a lowercased copy.
    fn is_placeholder_by_copy(v: &str) -> bool {
        let l = v.to_ascii_lowercase();
        marker_list().iter().any(|m| l.contains(m))
            || matches!(
                l.as_str(),
                "password" | "true" | "false" | "secret" | "token"
            )
            || l.bytes().all(|b| b == l.as_bytes()[0])
    }

    #[test]
    fn the_marker_list_is_read_whole() {
        let list = marker_list();
        assert!(list.len() > 20 && list.len() <= 64, "{}", list.len());
        assert!(list.contains(&"changeme") && list.contains(&"${"));
        assert!(list.iter().all(|m| *m == m.to_ascii_lowercase()));
    }

    #[test]
    fn placeholder_test_equals_the_copying_one() {
        for v in [
            "",
            "a",
            "aA",
            "AAAA",
            "Password",
            "TRUE",
            "q8Zr2Lx9Vb4Nm7Kp1Ws6Td3",
            "YOUR_KEY",
            "x${HOME}",
            "Process.Env.KEY",
            "NULLABLE",
            "séCRET",
            "xxx",
            "XxXx",
            "<redacted>",
            "hunter2",
            "Undefined1",
            "token_HERE",
            "é",
            "ÉÉ",
        ] {
            assert_eq!(is_placeholder(v), is_placeholder_by_copy(v), "{v:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn placeholder_test_equals_the_copying_one_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "x", "X", "*", "Y", "our", "<", "$", "{", "%", "s", "EXAMPLE", "env", ".", "(",
                "none", "NULL", "true", "a", "9", "é", "_here", "secret", "token", "Pass", "word",
            ][..]), 0..8)
        ) {
            let v = parts.concat();
            proptest::prop_assert_eq!(is_placeholder(&v), is_placeholder_by_copy(&v));
        }
    }

    #[test]
    fn documentation_examples_are_known() {
        assert!(is_example_key("AKIAIOSFODNN7EXAMPLE"));
        assert!(is_example_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(is_example_key("sk_test_4eC39HqLyjWDarjtT1zdp7dc"));
        assert!(!is_example_key("sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
        assert!(!is_example_key("AKIAZ3MSJV4WWNKWW5FG"));
    }
}
