//! One report, whatever the scanner: the format is detected from the top-level keys in
//! the same pass that reads the findings, so a 100 MB report is parsed once.
//!
//! Strings are borrowed from the input where JSON allows it (no escapes), and fields the
//! gate does not read (descriptions, CVSS vectors, references) are skipped without
//! being kept. Any error is placed at its line and column and named by its JSON path:
//! `Results[0].Vulnerabilities[3].Severity`.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{Finding, grype, line_column, sarif, trivy};
use crate::config::ReportFormat;

/// The scanner a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scanner {
    Trivy,
    Grype,
    Sarif,
}

impl Scanner {
    pub fn name(self) -> &'static str {
        match self {
            Scanner::Trivy => "Trivy JSON",
            Scanner::Grype => "Grype JSON",
            Scanner::Sarif => "SARIF",
        }
    }

    /// The top-level keys that mark the format, for messages.
    fn marks(self) -> &'static str {
        match self {
            Scanner::Trivy => "`SchemaVersion` and `Results`",
            Scanner::Grype => "`matches`",
            Scanner::Sarif => "`version` and `runs`",
        }
    }
}

impl fmt::Display for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed report: its findings borrow from the input bytes.
#[derive(Debug)]
pub struct Report<'a> {
    pub scanner: Scanner,
    /// What was scanned (Trivy's `ArtifactName`, Grype's source, SARIF's tool), if said.
    pub artifact: Option<Cow<'a, str>>,
    pub findings: Vec<Finding<'a>>,
}

/// A report that cannot be read, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
}

impl ReportError {
    fn at(text: &[u8], offset: usize, message: String, help: Option<String>) -> Self {
        let (line, column) = line_column(&String::from_utf8_lossy(text), offset);
        ReportError {
            line,
            column,
            message,
            help,
        }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every top-level key any of the three formats uses; which ones are present decides the
/// format. Their names do not overlap, so one struct reads all three.
#[derive(Deserialize)]
#[serde(expecting = "a Trivy JSON, Grype JSON or SARIF 2.1.0 report: a JSON object")]
struct AnyReport<'a> {
    // Trivy
    #[serde(rename = "SchemaVersion", default, deserialize_with = "present")]
    schema_version: Option<Option<u64>>,
    #[serde(rename = "ArtifactName", borrow, default)]
    artifact_name: Option<Cow<'a, str>>,
    #[serde(rename = "Results", borrow, default, deserialize_with = "present")]
    results: Option<Option<Vec<trivy::TrivyResult<'a>>>>,
    // Grype
    #[serde(borrow, default, deserialize_with = "present")]
    matches: Option<Option<Vec<grype::Match<'a>>>>,
    #[serde(borrow, default)]
    source: Option<grype::Source<'a>>,
    // SARIF
    #[serde(borrow, default, deserialize_with = "present")]
    version: Option<Option<Cow<'a, str>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    runs: Option<Option<Vec<sarif::Run<'a>>>>,
}

/// `Some(value)` for a key that is present, even as `null`; a missing key stays `None`
/// through `#[serde(default)]`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Parses `bytes` as a report of `format` (`Auto` detects it).
pub fn parse(bytes: &[u8], format: ReportFormat) -> Result<Report<'_>, ReportError> {
    // A UTF-8 byte order mark (PowerShell redirection writes one) is not JSON.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let skipped = bytes.len() - text.len();
    let any: AnyReport<'_> =
        serde_json::from_slice(text).map_err(|e| json_error(bytes, skipped, &e))?;

    let trivy = any.schema_version.is_some() || any.results.is_some();
    let grype = any.matches.is_some();
    let sarif = any.runs.is_some();
    let found: Vec<Scanner> = [
        (trivy, Scanner::Trivy),
        (grype, Scanner::Grype),
        (sarif, Scanner::Sarif),
    ]
    .into_iter()
    .filter_map(|(yes, s)| yes.then_some(s))
    .collect();
    let wanted = match format {
        ReportFormat::Auto => None,
        ReportFormat::Trivy => Some(Scanner::Trivy),
        ReportFormat::Grype => Some(Scanner::Grype),
        ReportFormat::Sarif => Some(Scanner::Sarif),
    };
    let top =
        |message: String, help: Option<String>| ReportError::at(bytes, skipped, message, help);
    let scanner = match (wanted, found.as_slice()) {
        (None, [one]) => *one,
        (Some(w), found) if found.contains(&w) && found.len() == 1 => w,
        (_, []) => {
            return Err(top(
                "not a Trivy JSON, Grype JSON or SARIF report: it has none of their top-level keys \
                 (`SchemaVersion` and `Results` for Trivy, `matches` for Grype, `runs` for SARIF)"
                    .into(),
                Some("write the report as JSON: `trivy image --format json`, `grype -o json` or `--format sarif`".into()),
            ));
        }
        (Some(w), [other]) => {
            return Err(top(
                format!(
                    "`--format {}` was asked for, but this is a {} report: it has {}, not {}",
                    format_flag(w),
                    other,
                    other.marks(),
                    w.marks()
                ),
                Some(format!(
                    "use `--format {}` or `--format auto`",
                    format_flag(*other)
                )),
            ));
        }
        (_, several) => {
            let names: Vec<String> = several
                .iter()
                .map(|s| format!("{} ({})", s.name(), s.marks()))
                .collect();
            return Err(top(
                format!(
                    "the report mixes the top-level keys of {}: a scanner writes only its own",
                    names.join(" and ")
                ),
                None,
            ));
        }
    };

    let (artifact, findings) = match scanner {
        Scanner::Trivy => {
            match any.schema_version {
                Some(Some(2)) => {}
                Some(Some(v)) => {
                    return Err(key_error(
                        bytes,
                        "\"SchemaVersion\"",
                        format!(
                            "Trivy `SchemaVersion` {v} is not supported; Trivy 0.20 and later write 2"
                        ),
                    ));
                }
                _ => {
                    return Err(top(
                        "a Trivy report needs `\"SchemaVersion\": 2` at the top; this one has `Results` without it".into(),
                        Some("reports from Trivy before 0.20 are not supported: scan again with a current Trivy".into()),
                    ));
                }
            }
            let findings = trivy::findings(
                any.artifact_name.as_deref(),
                any.results.flatten().unwrap_or_default(),
            );
            (any.artifact_name, findings)
        }
        Scanner::Grype => {
            let artifact = any.source.as_ref().and_then(grype::Source::name);
            let findings = grype::findings(any.matches.flatten().unwrap_or_default());
            (artifact, findings)
        }
        Scanner::Sarif => {
            match any.version.flatten().as_deref() {
                Some("2.1.0") => {}
                Some(v) => {
                    return Err(key_error(
                        bytes,
                        "\"version\"",
                        format!(
                            "SARIF `version` {} is not supported; only 2.1.0 is",
                            super::quote(v)
                        ),
                    ));
                }
                None => {
                    return Err(top(
                        "a SARIF log needs `\"version\": \"2.1.0\"` at the top".into(),
                        None,
                    ));
                }
            }
            let runs = any.runs.flatten().unwrap_or_default();
            let artifact = runs.first().and_then(sarif::Run::tool_name);
            let findings = sarif::findings(runs);
            (artifact, findings)
        }
    };
    Ok(Report {
        scanner,
        artifact,
        findings,
    })
}

fn format_flag(s: Scanner) -> &'static str {
    match s {
        Scanner::Trivy => "trivy",
        Scanner::Grype => "grype",
        Scanner::Sarif => "sarif",
    }
}

/// An error about a top-level value, placed at its key (first occurrence).
fn key_error(bytes: &[u8], key: &str, message: String) -> ReportError {
    let offset = find(bytes, key.as_bytes()).unwrap_or(0);
    ReportError::at(bytes, offset, message, None)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// serde_json's error, with the JSON path of the value it is about. The path costs a
/// second parse, so it is only worked out once the fast parse has failed.
fn json_error(bytes: &[u8], skipped: usize, error: &serde_json::Error) -> ReportError {
    let text = &bytes[skipped..];
    let mut de = serde_json::Deserializer::from_slice(text);
    let path = match serde_path_to_error::deserialize::<_, AnyReport<'_>>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            (path != ".").then_some(path)
        }
        Ok(_) => None,
    };
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    let help = match error.classify() {
        serde_json::error::Category::Eof => Some(
            "the report ends before its JSON does: was it cut short (a full disk, a cancelled scan)?"
                .to_string(),
        ),
        serde_json::error::Category::Syntax
            if text.iter().position(|b| !b.is_ascii_whitespace()) == Some(offset_of(text, error)) =>
        {
            Some(
                "this is not JSON: write the report with `trivy --format json`, `grype -o json` \
                 or a SARIF output"
                    .to_string(),
            )
        }
        serde_json::error::Category::Syntax => {
            Some("the report is not valid JSON at this point".to_string())
        }
        _ => None,
    };
    let message = match path {
        Some(path) => format!("`{path}`: {message}"),
        None => message,
    };
    // serde_json counts bytes from 1 and places a bad value's error after it; point at
    // the value's start instead, and count characters as editors do.
    let mut offset = byte_offset(text, error.line(), error.column());
    if error.classify() == serde_json::error::Category::Data && text.get(offset) == Some(&b'"') {
        offset = string_start(text, offset);
    }
    let (line, column) = line_column(&String::from_utf8_lossy(bytes), skipped + offset);
    ReportError {
        line,
        column,
        message,
        help,
    }
}

fn offset_of(text: &[u8], error: &serde_json::Error) -> usize {
    byte_offset(text, error.line(), error.column())
}

/// The byte offset of serde_json's 1-based line and byte column.
fn byte_offset(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}

/// The opening quote of the JSON string whose closing quote is at `close`.
fn string_start(text: &[u8], close: usize) -> usize {
    let mut i = close;
    while i > 0 {
        i -= 1;
        if text[i] == b'"' {
            let backslashes = text[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes % 2 == 0 {
                return i;
            }
        }
    }
    close
}

/// Deserializes a severity string with a scanner's spelling, naming the bad value and
/// the spellings that scanner writes. It allocates nothing on the way to success.
pub(super) fn severity<'de, D>(
    d: D,
    parse: fn(&str) -> Option<super::Severity>,
    scanner: &'static str,
    spellings: &'static str,
) -> Result<super::Severity, D::Error>
where
    D: Deserializer<'de>,
{
    struct Spelling {
        parse: fn(&str) -> Option<super::Severity>,
        scanner: &'static str,
        spellings: &'static str,
    }

    impl serde::de::Visitor<'_> for Spelling {
        type Value = super::Severity;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a severity: {}", self.spellings)
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            (self.parse)(s).ok_or_else(|| {
                let upper = s.to_ascii_uppercase();
                let hint = self
                    .spellings
                    .split(", ")
                    .find(|w| s.len() <= 16 && w.to_ascii_uppercase() == upper)
                    .map(|w| format!(" (did you mean {w:?}?)"))
                    .unwrap_or_default();
                E::custom(format!(
                    "unknown severity {}: {} writes {}{hint}",
                    super::quote(s),
                    self.scanner,
                    self.spellings
                ))
            })
        }
    }

    d.deserialize_str(Spelling {
        parse,
        scanner,
        spellings,
    })
}
