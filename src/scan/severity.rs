//! [`Severity`]: the five levels the gate speaks, and how each scanner writes them.
//!
//! Each scanner has one spelling and the parsers accept only that one: `high` in a Trivy
//! report is not Trivy's output, so it is bad input rather than a guess.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A finding's severity, most severe first (so sorting puts CRITICAL on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Unknown,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    /// The name as `deploy.toml`, flags and Trivy write it: `CRITICAL`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Unknown => "UNKNOWN",
        }
    }

    /// Trivy's spelling: exactly the upper-case name.
    pub fn from_trivy(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.name() == s)
    }

    /// Grype's spelling: `Critical`, `High`, `Medium`, `Low`, `Negligible`, `Unknown`.
    /// Grype's `Negligible` sits below `Low`; the gate has no level below `LOW`.
    pub fn from_grype(s: &str) -> Option<Severity> {
        Some(match s {
            "Critical" => Severity::Critical,
            "High" => Severity::High,
            "Medium" => Severity::Medium,
            "Low" | "Negligible" => Severity::Low,
            "Unknown" => Severity::Unknown,
            _ => return None,
        })
    }

    /// A CVSS base score, as SARIF's `security-severity` carries it (the bands GitHub
    /// code scanning uses). 0.0 means the score says nothing: UNKNOWN.
    pub fn from_cvss(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Unknown
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a severity as a user writes it in a flag: any case (`high`, `High`, `HIGH`).
impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        Severity::from_trivy(&upper).ok_or_else(|| {
            format!(
                "unknown severity {}; use one of {}",
                super::quote(s),
                names()
            )
        })
    }
}

/// `CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN`, for messages.
pub fn names() -> String {
    let all: Vec<&str> = Severity::ALL.iter().map(|s| s.name()).collect();
    format!(
        "{} or {}",
        all[..all.len() - 1].join(", "),
        all[all.len() - 1]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scanner_has_exactly_one_spelling() {
        assert_eq!(Severity::from_trivy("HIGH"), Some(Severity::High));
        assert_eq!(Severity::from_trivy("high"), None);
        assert_eq!(Severity::from_trivy("High"), None);
        assert_eq!(Severity::from_grype("High"), Some(Severity::High));
        assert_eq!(Severity::from_grype("HIGH"), None);
        assert_eq!(Severity::from_grype("Negligible"), Some(Severity::Low));
    }

    #[test]
    fn cvss_scores_fall_in_github_bands() {
        let cases = [
            (10.0, Severity::Critical),
            (9.0, Severity::Critical),
            (8.9, Severity::High),
            (7.0, Severity::High),
            (6.9, Severity::Medium),
            (4.0, Severity::Medium),
            (3.9, Severity::Low),
            (0.1, Severity::Low),
            (0.0, Severity::Unknown),
        ];
        for (score, expected) in cases {
            assert_eq!(Severity::from_cvss(score), expected, "{score}");
        }
    }

    #[test]
    fn flags_take_any_case() {
        assert_eq!("critical".parse::<Severity>(), Ok(Severity::Critical));
        assert_eq!(" Medium ".parse::<Severity>(), Ok(Severity::Medium));
        assert!("severe".parse::<Severity>().is_err());
    }
}
