//! The vulnerability gate: scanner reports (Trivy JSON, Grype JSON, SARIF 2.1.0) read into
//! one [`Finding`] shape, an ignore file, a baseline, and the policy that turns them into a
//! pass or a fail. No I/O here: `commands/scan.rs` reads the files and writes the output.
//!
//! - `report.rs` detects the format and parses in one pass, borrowing strings from the
//!   input; `trivy.rs`, `grype.rs` and `sarif.rs` hold each scanner's shape.
//! - `ignore.rs` reads `.trivyignore` and `.trivyignore.yaml` (with `purl.rs`).
//! - `gate.rs` applies the [`Policy`] and a baseline; `markdown.rs` and `json.rs` show
//!   the [`Outcome`].

mod gate;
mod grype;
mod ignore;
mod json;
mod markdown;
mod policy;
mod purl;
mod report;
mod sarif;
mod severity;
mod trivy;

use std::borrow::Cow;

use serde::Serialize;

pub use gate::{Counts, Judged, Outcome, Standing, Violation, evaluate};
pub use ignore::{IgnoreEntry, IgnoreList};
pub use json::document;
pub use markdown::markdown;
pub use policy::Policy;
pub use purl::Purl;
pub use report::{Report, ReportError, Scanner, parse};
pub use severity::Severity;

/// One vulnerability in one package, whichever scanner found it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding<'a> {
    /// `CVE-2024-1234`, `GHSA-…`, or a SARIF rule id.
    pub id: Cow<'a, str>,
    /// Other ids of the same vulnerability (Grype's related vulnerabilities); an ignore
    /// entry for any of them applies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Cow<'a, str>>,
    pub severity: Severity,
    /// Package name; empty for SARIF results that do not name one.
    pub package: Cow<'a, str>,
    /// Installed version; empty when the report does not say.
    pub installed: Cow<'a, str>,
    pub fix: Fix<'a>,
    /// What was scanned, as the report names it (`shop:1.2 (alpine 3.19.1)`, a lock file).
    pub target: Cow<'a, str>,
    /// Where the finding sits, without the image name: the package's OS family for OS
    /// packages, the file otherwise. It stays the same between two builds of an image,
    /// so it is the target in a finding's baseline [`Identity`].
    #[serde(skip)]
    pub place: Cow<'a, str>,
    /// The package's file inside the target, when the report says (ignore `paths` match it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Cow<'a, str>>,
    /// The package URL, when the report says (ignore `purls` match it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Cow<'a, str>>,
}

/// Whether a fixed version exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "version", rename_all = "lowercase")]
pub enum Fix<'a> {
    /// Fixed in these versions (comma-separated when there are several).
    Fixed(Cow<'a, str>),
    /// The report says there is no fix (yet, or ever).
    None,
    /// The report cannot say (SARIF from most tools): never treated as unfixed.
    Unknown,
}

impl Fix<'_> {
    pub fn version(&self) -> Option<&str> {
        match self {
            Fix::Fixed(v) => Some(v),
            _ => None,
        }
    }
}

/// What the gate was run on, for the summary and the JSON document.
#[derive(Debug, Clone, Copy)]
pub struct Context<'c> {
    /// The report's path, as given.
    pub report: &'c str,
    pub scanner: Scanner,
    /// What was scanned, when the report says.
    pub artifact: Option<&'c str>,
    pub baseline: Option<&'c str>,
    pub ignore_file: Option<&'c str>,
    pub ignores: &'c IgnoreList,
    pub policy: &'c Policy,
}

/// What makes two findings the same across two reports: vulnerability, package,
/// installed version and place.
pub type Identity<'f> = (&'f str, &'f str, &'f str, &'f str);

impl Finding<'_> {
    pub fn identity(&self) -> Identity<'_> {
        (&self.id, &self.package, &self.installed, &self.place)
    }
}

/// Longest echo of input text in a message: a report or ignore file may hold megabytes
/// in one string, and the message must stay readable.
const ECHO_LIMIT: usize = 60;

/// `s` in double quotes for a message, cut at [`ECHO_LIMIT`] characters.
pub(crate) fn quote(s: &str) -> String {
    match s.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{:?}… ({} characters)", &s[..cut], s.chars().count()),
        None => format!("{s:?}"),
    }
}

/// 1-based line and column of byte `offset` in `text`, counting characters.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_in_messages() {
        assert_eq!(quote("high"), "\"high\"");
        let long = "x".repeat(10_000);
        let q = quote(&long);
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("(10000 characters)"), "{q}");
        // Cuts on a character boundary.
        assert!(quote(&"é".repeat(100)).contains("(100 characters)"));
    }

    #[test]
    fn positions_are_one_based_characters() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
        assert_eq!(line_column("éx", 2), (1, 2));
    }
}
