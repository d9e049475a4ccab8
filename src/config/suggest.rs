//! "Did you mean …?" for misspelt keys and values.

/// How alike (Jaro-Winkler, 0 to 1) a word must be to a candidate to be suggested.
/// At 0.85 `drian`/`drain`, `helth`/`health` and `ha-proxy`/`haproxy` match, while
/// unrelated keys of the same length (`status`/`slots` scores 0.73) do not.
const THRESHOLD: f64 = 0.85;

/// The candidate closest to `word`, if one is close enough to be what was meant.
/// Case and `-` versus `_` are ignored, so `keep-releases` finds `keep_releases`.
pub(super) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = normalise(word);
    candidates
        .iter()
        .map(|&candidate| {
            (
                strsim::jaro_winkler(&word, &normalise(candidate)),
                candidate,
            )
        })
        .filter(|&(score, _)| score >= THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b` or `c` ``
pub(super) fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [only] => format!("`{only}`"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|w| format!("`{w}`")).collect();
            format!("{} or `{last}`", rest.join(", "))
        }
    }
}

/// `` `a`, `b`, `c` ``
pub(super) fn list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    quoted.join(", ")
}

fn normalise(word: &str) -> String {
    word.to_lowercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_a_close_key() {
        let keys = ["strategy", "replicas", "drain", "standby"];
        assert_eq!(did_you_mean("drian", &keys), Some("drain"));
        assert_eq!(did_you_mean("replica", &keys), Some("replicas"));
    }

    #[test]
    fn ignores_case_and_dash_versus_underscore() {
        assert_eq!(
            did_you_mean("Keep-Releases", &["keep_releases", "drain"]),
            Some("keep_releases")
        );
        assert_eq!(
            did_you_mean("ha-proxy", &["haproxy", "nginx"]),
            Some("haproxy")
        );
    }

    #[test]
    fn suggests_nothing_when_nothing_is_close() {
        assert_eq!(did_you_mean("traefik", &["haproxy", "nginx"]), None);
        assert_eq!(did_you_mean("status", &["slots", "kind", "mode"]), None);
        assert_eq!(did_you_mean("", &["slots"]), None);
        assert_eq!(did_you_mean("x", &[]), None);
    }

    #[test]
    fn one_of_reads_as_a_sentence() {
        assert_eq!(one_of(&[]), "");
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b"]), "`a` or `b`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b`, `c`");
    }
}
