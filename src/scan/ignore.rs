//! Ignore files, compatible with Trivy's:
//!
//! - `.trivyignore`: one vulnerability id per line, optionally with `exp:YYYY-MM-DD`;
//!   `#` starts a comment. The comment lines right above an id (or a `#` comment after
//!   it on the same line) are its statement.
//! - `.trivyignore.yaml` (or `.yml`): `vulnerabilities: [{id, statement, expired_at,
//!   paths, purls}]`. `paths` are globs (`**` crosses directories) matched against the
//!   finding's target and package path; `purls` are package URLs.
//!
//! As in Trivy, an entry expires at the start of its date (UTC): `exp:2025-06-30` no
//! longer applies on 2025-06-30. Unlike Trivy, an unreadable date or an unknown key is an
//! error (exit 2) rather than a skipped line: a typo must not quietly change the gate.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::purl::Purl;
use super::report::ReportError;
use super::{Finding, line_column, quote};

/// The entries of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct IgnoreList {
    pub entries: Vec<IgnoreEntry>,
}

/// One ignore entry.
#[derive(Debug, Clone)]
pub struct IgnoreEntry {
    pub id: String,
    pub statement: Option<String>,
    /// When it stops applying, as written and as an instant.
    pub expires: Option<(String, DateTime<Utc>)>,
    pub paths: Vec<(String, GlobMatcher)>,
    pub purls: Vec<(String, Purl)>,
    /// 1-based line of the entry in its file.
    pub line: usize,
}

impl IgnoreEntry {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.as_ref().is_some_and(|(_, at)| *at <= now)
    }

    /// Whether the entry names this finding (expiry aside).
    pub fn matches(&self, finding: &Finding<'_>) -> bool {
        let id = finding.id == self.id || finding.aliases.iter().any(|a| *a == self.id);
        id && self.matches_path(finding) && self.matches_purl(finding)
    }

    fn matches_path(&self, finding: &Finding<'_>) -> bool {
        if self.paths.is_empty() {
            return true;
        }
        let candidates = [Some(&finding.target), finding.path.as_ref()];
        candidates.into_iter().flatten().any(|path| {
            // Grype writes absolute paths, Trivy relative ones: try both spellings.
            let relative = path.trim_start_matches('/');
            self.paths
                .iter()
                .any(|(_, glob)| glob.is_match(path.as_ref()) || glob.is_match(relative))
        })
    }

    fn matches_purl(&self, finding: &Finding<'_>) -> bool {
        if self.purls.is_empty() {
            return true;
        }
        // An entry that names packages applies only where the package is known: a
        // finding with no package URL is not quietly ignored.
        let Some(target) = finding.purl.as_deref().and_then(|p| p.parse::<Purl>().ok()) else {
            return false;
        };
        self.purls.iter().any(|(_, p)| p.matches(&target))
    }
}

impl IgnoreList {
    /// Parses an ignore file; `name` decides the syntax (`.yaml`/`.yml` is YAML, as in
    /// Trivy). Errors carry the line and column.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<IgnoreList, ReportError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_column(&String::from_utf8_lossy(bytes), e.valid_up_to());
            ReportError {
                line,
                column,
                message: format!(
                    "not UTF-8 text: byte 0x{:02x} does not start a character",
                    bytes[e.valid_up_to()]
                ),
                help: Some("save the file as UTF-8".into()),
            }
        })?;
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            parse_yaml(text)
        } else {
            parse_lines(text)
        }
    }
}

fn error(text: &str, offset: usize, message: String, help: Option<&str>) -> ReportError {
    let (line, column) = line_column(text, offset);
    ReportError {
        line,
        column,
        message,
        help: help.map(str::to_string),
    }
}

/// `.trivyignore`: `ID [exp:YYYY-MM-DD] [# comment]` per line.
pub fn parse_lines(text: &str) -> Result<IgnoreList, ReportError> {
    let mut entries = Vec::new();
    let mut comments: Vec<&str> = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim();
        if line.is_empty() {
            comments.clear();
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            comments.push(comment.trim());
            continue;
        }
        let (body, trailing) = match line.split_once(" #").or_else(|| line.split_once("\t#")) {
            Some((b, c)) => (b, Some(c.trim())),
            None => (line, None),
        };
        let mut fields = body.split_whitespace();
        let id = fields.next().unwrap_or_default().to_string();
        let mut expires = None;
        for field in fields {
            let Some(date) = field.strip_prefix("exp:") else {
                continue;
            };
            let at = field_offset(raw, field) + line_start + "exp:".len();
            let instant = day(date).ok_or_else(|| {
                error(
                    text,
                    at,
                    format!("expiry date {} is not a date like 2025-06-30", quote(date)),
                    Some("write `exp:YYYY-MM-DD`; the entry stops applying on that day"),
                )
            })?;
            expires = Some((date.to_string(), instant));
        }
        let statement = trailing
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .or_else(|| (!comments.is_empty()).then(|| comments.join(" ")))
            .filter(|s| !s.is_empty());
        comments.clear();
        entries.push(IgnoreEntry {
            id,
            statement,
            expires,
            paths: Vec::new(),
            purls: Vec::new(),
            line: index + 1,
        });
    }
    Ok(IgnoreList { entries })
}

/// Byte offset of `field` (a subslice of `line`) in `line`.
fn field_offset(line: &str, field: &str) -> usize {
    (field.as_ptr() as usize).saturating_sub(line.as_ptr() as usize)
}

/// Midnight UTC at the start of a `YYYY-MM-DD` day.
fn day(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// `expired_at`: a day, or an RFC 3339 instant as YAML timestamps allow.
fn instant(s: &str) -> Option<DateTime<Utc>> {
    day(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlFile {
    #[serde(default)]
    vulnerabilities: Option<Vec<YamlEntry>>,
    // Trivy's other finding kinds: known keys, not gated on here.
    #[serde(rename = "misconfigurations", default)]
    _misconfigurations: IgnoredAny,
    #[serde(rename = "secrets", default)]
    _secrets: IgnoredAny,
    #[serde(rename = "licenses", default)]
    _licenses: IgnoredAny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlEntry {
    id: Scalar,
    #[serde(default)]
    statement: Option<String>,
    #[serde(default)]
    expired_at: Option<Scalar>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    purls: Option<Vec<String>>,
}

/// A YAML scalar read as text: `id: 2024` and `expired_at: 2025-06-30` are not quoted.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
        }
    }
}

/// `.trivyignore.yaml`.
pub fn parse_yaml(text: &str) -> Result<IgnoreList, ReportError> {
    // An empty file (or only comments) is an empty list, as in Trivy.
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(IgnoreList::default());
    }
    let file: YamlFile = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let full = e.to_string();
        let message = match full.find(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        ReportError {
            line,
            column,
            message,
            help: Some(
                "a .trivyignore.yaml holds `vulnerabilities:`, a list of `- id:` entries with \
                 optional `statement`, `expired_at`, `paths` and `purls`"
                    .into(),
            ),
        }
    })?;
    let mut entries = Vec::new();
    // Each entry is placed at its `id:` line; YAML values carry no position once read.
    let mut search_from = 0;
    for raw in file.vulnerabilities.unwrap_or_default() {
        let id = raw.id.text();
        let at = locate(text, search_from, &id);
        search_from = at;
        let (line, _) = line_column(text, at);
        let expires = match raw.expired_at.map(Scalar::text) {
            None => None,
            Some(s) => {
                let instant = instant(&s).ok_or_else(|| {
                    error(
                        text,
                        locate(text, at, &s),
                        format!(
                            "`expired_at` of {} is {}, not a date like 2025-06-30",
                            quote(&id),
                            quote(&s)
                        ),
                        Some(
                            "write `expired_at: 2025-06-30`; the entry stops applying on that day",
                        ),
                    )
                })?;
                Some((s, instant))
            }
        };
        let mut paths = Vec::new();
        for pattern in raw.paths.unwrap_or_default() {
            let glob = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    error(
                        text,
                        locate(text, at, &pattern),
                        format!("path pattern {} of {}: {}", quote(&pattern), quote(&id), e.kind()),
                        Some("`*` matches within a directory, `**` across directories, `?` one character"),
                    )
                })?;
            paths.push((pattern, glob.compile_matcher()));
        }
        let mut purls = Vec::new();
        for written in raw.purls.unwrap_or_default() {
            let purl = written.parse::<Purl>().map_err(|e| {
                error(
                    text,
                    locate(text, at, &written),
                    format!("package URL {} of {}: {e}", quote(&written), quote(&id)),
                    Some("write it like `pkg:deb/debian/libssl1.1` (a version, `@1.1.1n`, is optional)"),
                )
            })?;
            purls.push((written, purl));
        }
        entries.push(IgnoreEntry {
            id,
            statement: raw
                .statement
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            expires,
            paths,
            purls,
            line,
        });
    }
    Ok(IgnoreList { entries })
}

/// Offset of the first `needle` at or after `from`, else `from`.
fn locate(text: &str, from: usize, needle: &str) -> usize {
    let from = from.min(text.len());
    let from = (0..=from)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[from..].find(needle).map_or(from, |i| from + i)
}

/// The statement shown for an entry: its own, else a plain "no statement".
pub(super) fn statement(entry: &IgnoreEntry) -> Cow<'_, str> {
    entry
        .statement
        .as_deref()
        .map_or(Cow::Borrowed("(no statement)"), Cow::Borrowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(s: &str) -> DateTime<Utc> {
        instant(s).unwrap()
    }

    #[test]
    fn plain_lines_take_ids_expiry_and_comments_as_statements() {
        let list = parse_lines(
            "# accepted: not reachable\nCVE-2024-1 exp:2025-06-30\n\nCVE-2024-2 # no shell in the image\n  \nGHSA-x\n",
        )
        .unwrap();
        let e = &list.entries;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].id, "CVE-2024-1");
        assert_eq!(e[0].statement.as_deref(), Some("accepted: not reachable"));
        assert_eq!(e[0].line, 2);
        assert!(!e[0].expired(now("2025-06-29T23:59:59Z")));
        assert!(e[0].expired(now("2025-06-30")));
        assert_eq!(e[1].statement.as_deref(), Some("no shell in the image"));
        assert_eq!(e[2].statement, None);
        assert_eq!(e[2].expires, None);
    }

    #[test]
    fn a_bad_expiry_date_is_placed() {
        let err = parse_lines("CVE-1\nCVE-2 exp:2025-13-01\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 11));
        assert!(err.message.contains("\"2025-13-01\""), "{}", err.message);
    }

    #[test]
    fn yaml_entries_take_every_key() {
        let list = parse_yaml(
            "vulnerabilities:\n  - id: CVE-2024-1\n    statement: Accept the risk\n    expired_at: 2025-06-30\n    paths: [\"usr/lib/**\"]\n    purls: [\"pkg:deb/debian/libssl1.1\"]\n  - id: 12345\nmisconfigurations:\n  - id: AVD-1\nsecrets:\n",
        )
        .unwrap();
        let e = &list.entries;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].statement.as_deref(), Some("Accept the risk"));
        assert_eq!(e[0].expires.as_ref().unwrap().0, "2025-06-30");
        assert_eq!(e[0].line, 2);
        assert!(e[0].paths[0].1.is_match("usr/lib/x/y.so"));
        assert!(!e[0].paths[0].1.is_match("usr/bin/x"));
        assert_eq!(e[1].id, "12345");
        assert_eq!(e[1].line, 7);
    }

    #[test]
    fn yaml_typos_are_errors_with_a_position() {
        let err = parse_yaml("vulnerabilities:\n  - id: CVE-1\n    expires_at: 2025-01-01\n")
            .unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("expires_at"), "{}", err.message);
        let err =
            parse_yaml("vulnerabilities:\n  - id: CVE-1\n    expired_at: soon\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let err =
            parse_yaml("vulnerabilities:\n  - id: CVE-1\n    purls: [\"deb/x\"]\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let err =
            parse_yaml("vulnerabilities:\n  - id: CVE-1\n    paths: [\"a/[b\"]\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn empty_files_ignore_nothing() {
        assert!(parse_yaml("").unwrap().entries.is_empty());
        assert!(parse_yaml("# nothing\n").unwrap().entries.is_empty());
        assert!(parse_yaml("vulnerabilities:\n").unwrap().entries.is_empty());
        assert!(parse_lines("").unwrap().entries.is_empty());
    }
}
