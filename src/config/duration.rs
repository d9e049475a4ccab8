//! Durations in `deploy.toml` are strings like `500ms`, `30s` or `5m`.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// A duration written as a human string in config (`30s`, `5m`, `1h 30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    pub const fn from_millis(millis: u64) -> Self {
        Self(std::time::Duration::from_millis(millis))
    }

    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl std::str::FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s.trim())
            .map(Duration)
            .map_err(|reason| ParseDurationError {
                input: s.to_string(),
                reason,
            })
    }
}

/// A string that is not a duration: the text, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid duration `{input}` ({reason}); write it like `500ms`, `30s` or `5m`")]
pub struct ParseDurationError {
    input: String,
    reason: humantime::DurationError,
}

impl ParseDurationError {
    /// Why the text is not a duration, without the advice around it: `unknown time unit
    /// "parsecs", supported units: …`.
    pub fn reason(&self) -> &humantime::DurationError {
        &self.reason
    }

    /// The text is one number with nothing after it (`900`, `1.5`): only the unit is
    /// missing.
    pub fn lacks_unit(&self) -> bool {
        // humantime reads `10 20` as the digits of one number; that is not a typo a unit fixes.
        let one_word = !self.input.trim().contains(char::is_whitespace);
        one_word
            && matches!(&self.reason, humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty())
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string like `500ms`, `30s` or `5m`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::Duration;

    fn lacks_unit(text: &str) -> bool {
        text.parse::<Duration>().unwrap_err().lacks_unit()
    }

    #[test]
    fn a_bare_number_lacks_only_a_unit() {
        assert!(lacks_unit("900"));
        assert!(lacks_unit(" 1.5 "));
        assert!(!lacks_unit("5 parsecs"));
        assert!(!lacks_unit("1.2.3"));
        assert!(!lacks_unit("10 20"));
        assert!(!lacks_unit(""));
    }

    #[test]
    fn the_error_says_what_was_written_why_it_fails_and_how_to_write_one() {
        let error = "5 parsecs".parse::<Duration>().unwrap_err();
        assert!(
            error
                .reason()
                .to_string()
                .starts_with("unknown time unit \"parsecs\"")
        );
        assert_eq!(
            error.to_string(),
            format!(
                "invalid duration `5 parsecs` ({}); write it like `500ms`, `30s` or `5m`",
                error.reason()
            )
        );
    }
}
