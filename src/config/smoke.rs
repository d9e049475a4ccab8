//! `[[smoke]]`: the HTTP checks `smoke` runs against a deployed service (also the schema
//! of a `--file` of checks), what a check can get wrong before it runs, and the loading of
//! a `--file`, through the same steps and errors as `deploy.toml`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, de};
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::duration::Duration;
use super::expect::{Expect, ExpectTable};
use super::load::{parse_as, read};
use super::problem::{Problem, earliest};
use super::syntax::syntax_problem;

/// One check: a request, and what its answer must be.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeCheck {
    /// Shown in reports and JUnit.
    pub name: String,
    /// `${BASE_URL}` (the deploy's URL, or `--base-url`) and `${VAR}` (environment) expand.
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers; values expand like the URL.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The request body; expands like the URL.
    pub body: Option<String>,
    /// Accepted statuses: `200`, `[200, 204]` or `"200-299"`. Default: any 2xx.
    #[serde(default)]
    pub status: StatusSet,
    /// The body contains this text.
    pub body_contains: Option<String>,
    /// The body matches this regular expression.
    pub body_matches: Option<String>,
    /// JSON assertions on the body: `{ pointer = "/status", equals = "ok" }` or
    /// `{ pointer = "/id", exists = true }`.
    #[serde(default)]
    pub json: Vec<JsonAssertion>,
    /// Header assertions: `{ name = "content-type", equals = "…" }` or `matches = "…"`.
    #[serde(default)]
    pub header: Vec<HeaderAssertion>,
    /// The slowest acceptable answer.
    pub max_latency: Option<Duration>,
    /// The server's TLS certificate stays valid for at least this many days.
    pub tls_min_days: Option<u32>,
    /// One attempt's limit.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Retries (exponential backoff with jitter) until this much time has passed.
    #[serde(default = "default_deadline")]
    pub deadline: Duration,
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// A PEM file of CA certificates to trust besides the system's (relative to the config).
    pub ca_file: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_deadline() -> Duration {
    Duration::from_secs(60)
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonAssertion {
    /// An RFC 6901 JSON pointer (`/data/0/id`).
    pub pointer: String,
    /// The value there equals this (any TOML value, compared as JSON).
    pub equals: Option<serde_json::Value>,
    /// The pointer resolves (`true`) or does not (`false`).
    pub exists: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderAssertion {
    /// Case-insensitive.
    pub name: String,
    pub equals: Option<String>,
    /// A regular expression.
    pub matches: Option<String>,
}

/// Accepted HTTP statuses, as ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(pub Vec<(u16, u16)>);

impl Default for StatusSet {
    fn default() -> Self {
        Self(vec![(200, 299)])
    }
}

impl StatusSet {
    pub fn accepts(&self, status: u16) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

impl std::fmt::Display for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// One range from `200` or `200-299`.
fn status_range(text: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let n = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (100..=599).contains(n))
    };
    match (n(lo), n(hi)) {
        (Some(lo), Some(hi)) if lo <= hi => Ok((lo, hi)),
        _ => Err(format!(
            "invalid status {text:?}: write `200`, `[200, 204]` or `\"200-299\"` (statuses \
             from 100 to 599)"
        )),
    }
}

impl<'de> Deserialize<'de> for StatusSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Statuses;
        impl<'de> de::Visitor<'de> for Statuses {
            type Value = StatusSet;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a status (`200`), a list (`[200, 204]`) or a range (`\"200-299\"`)")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusSet, E> {
                Ok(StatusSet(vec![
                    status_range(&v.to_string()).map_err(E::custom)?,
                ]))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusSet, E> {
                self.visit_i64(v as i64)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusSet, E> {
                let ranges = v.split(',').map(status_range).collect::<Result<_, _>>();
                Ok(StatusSet(ranges.map_err(E::custom)?))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSet, A::Error> {
                let mut ranges = Vec::new();
                while let Some(status) = seq.next_element::<u16>()? {
                    ranges.push(status_range(&status.to_string()).map_err(de::Error::custom)?);
                }
                if ranges.is_empty() {
                    return Err(de::Error::custom("the list of statuses is empty"));
                }
                Ok(StatusSet(ranges))
            }

            /// Only the config's schema probe gets here (TOML has no null): the default.
            fn visit_unit<E: de::Error>(self) -> Result<StatusSet, E> {
                Ok(StatusSet::default())
            }
        }
        d.deserialize_any(Statuses)
    }
}

/// A `smoke --file`: `[[smoke]]` tables and nothing else.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeFile {
    #[serde(default)]
    pub smoke: Vec<SmokeCheck>,
}

impl SmokeFile {
    /// Reads and validates the checks in the file at `path`; errors point at its line and
    /// column, as `deploy.toml`'s do.
    pub fn load(path: &Path) -> Result<Vec<SmokeCheck>, ConfigError> {
        let text = read(path)?;
        Self::parse(&text).map_err(|problem| problem.at(path, &text))
    }

    fn parse(text: &str) -> Result<Vec<SmokeCheck>, Problem> {
        let root = DeTable::parse(text).map_err(|e| syntax_problem(text, &e))?;
        earliest(stray_keys(root.get_ref()))?;
        let file: SmokeFile = parse_as(text, smoke_file_expect(), |file: &SmokeFile, root| {
            problems(&file.smoke, root)
        })?;
        Ok(file.smoke)
    }
}

/// What a `--file` accepts, read once from [`SmokeFile`]'s serde implementation.
fn smoke_file_expect() -> &'static ExpectTable {
    static EXPECT: OnceLock<ExpectTable> = OnceLock::new();
    EXPECT.get_or_init(|| match Expect::of::<SmokeFile>() {
        Expect::Table(table) => table,
        _ => ExpectTable::default(),
    })
}

/// Keys written above the first `[[smoke]]` header: usually a check whose header is missing.
fn stray_keys(root: &DeTable) -> Vec<Problem> {
    root.iter()
        .filter(|(name, _)| name.get_ref() != "smoke")
        .map(|(name, value)| {
            let span = name.span();
            let name = name.get_ref();
            let help = if matches!(value.get_ref(), DeValue::Table(_)) {
                "a file of checks holds only `[[smoke]]` tables".to_string()
            } else {
                format!(
                    "put `{name}` under a `[[smoke]]` header: each check is one `[[smoke]]` table"
                )
            };
            Problem::new(
                span,
                Some(name),
                format!("unknown top-level key `{name}` in a file of smoke checks"),
            )
            .help(help)
        })
        .collect()
}

/// One step of a path into the parsed file: a key, or an array index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Where `smoke[check]` then `path` is written, else the check's table, else the file start.
fn span_of(root: &DeTable, check: usize, path: &[Step]) -> Range<usize> {
    let Some(item) = root.get("smoke").and_then(|v| match v.get_ref() {
        DeValue::Array(items) => items.get(check),
        _ => None,
    }) else {
        return 0..0;
    };
    let mut here = item;
    for step in path {
        let next = match (step, here.get_ref()) {
            (Step::Key(k), DeValue::Table(t)) => t.get(*k),
            (Step::Index(i), DeValue::Array(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(next) => here = next,
            None => break,
        }
    }
    here.span()
}

/// Everything wrong with the checks that their types allow: names, methods, header names,
/// regular expressions, JSON pointers, placeholders, assertions with no or two tests.
pub(super) fn problems(checks: &[SmokeCheck], root: &DeTable) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, check) in checks.iter().enumerate() {
        let key = |k: &str| format!("smoke[{i}].{k}");
        let mut problem = |path: &[Step], key: String, message: String, help: Option<String>| {
            problems
                .push(Problem::new(span_of(root, i, path), Some(&key), message).maybe_help(help));
        };
        let name = check.name.trim();
        if name.is_empty() {
            problem(
                &[Step::Key("name")],
                key("name"),
                format!("`{}` must not be empty", key("name")),
                Some(
                    "name the check, like `name = \"home page\"`: reports and JUnit show it".into(),
                ),
            );
        } else if !names.insert(name.to_string()) {
            problem(
                &[Step::Key("name")],
                key("name"),
                format!("two checks are named {name:?}"),
                Some(
                    "give each check its own name: reports and JUnit tell them apart by it".into(),
                ),
            );
        }
        if check.url.trim().is_empty() {
            problem(
                &[Step::Key("url")],
                key("url"),
                format!("`{}` must not be empty", key("url")),
                Some("like `url = \"${BASE_URL}/health\"`".into()),
            );
        } else if !check.url.contains("${") && !is_http_url(&check.url) {
            problem(
                &[Step::Key("url")],
                key("url"),
                format!(
                    "`{}` must be an http:// or https:// URL, found {:?}",
                    key("url"),
                    check.url
                ),
                Some("start it with `${BASE_URL}` (the deploy's URL) or a scheme".into()),
            );
        }
        let mut templated = vec![(vec![Step::Key("url")], key("url"), check.url.as_str())];
        if let Some(body) = &check.body {
            templated.push((vec![Step::Key("body")], key("body"), body.as_str()));
        }
        for (name, value) in &check.headers {
            templated.push((
                vec![Step::Key("headers"), Step::Key(name.as_str())],
                format!("{}.{}", key("headers"), super::key::toml_key(name)),
                value.as_str(),
            ));
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                problem(
                    &[Step::Key("headers"), Step::Key(name)],
                    key("headers"),
                    format!("{name:?} is not an HTTP header name"),
                    Some("header names are letters, digits and `-`, like `X-Request-Id`".into()),
                );
            }
        }
        for (path, key, text) in templated {
            if let Err(e) = crate::smoke::template::placeholders(text) {
                problem(
                    &path,
                    key.clone(),
                    format!("`{key}`: {e}"),
                    Some("write `${NAME}` for a variable, `$${` for a literal `${`".into()),
                );
            }
        }
        if http::Method::from_bytes(check.method.as_bytes()).is_err() || check.method.is_empty() {
            problem(
                &[Step::Key("method")],
                key("method"),
                format!(
                    "`{}` {:?} is not an HTTP method",
                    key("method"),
                    check.method
                ),
                Some("like `GET`, `POST` or `HEAD`".into()),
            );
        } else if check.method != check.method.to_ascii_uppercase() {
            problem(
                &[Step::Key("method")],
                key("method"),
                format!(
                    "`{}` must be upper case, found {:?}",
                    key("method"),
                    check.method
                ),
                Some(format!(
                    "write `method = {:?}`",
                    check.method.to_ascii_uppercase()
                )),
            );
        }
        if let Some(pattern) = &check.body_matches
            && let Err(e) = regex::Regex::new(pattern)
        {
            problem(
                &[Step::Key("body_matches")],
                key("body_matches"),
                format!(
                    "`{}` is not a regular expression: {}",
                    key("body_matches"),
                    first_line(&e)
                ),
                None,
            );
        }
        for (j, json) in check.json.iter().enumerate() {
            let at = [Step::Key("json"), Step::Index(j)];
            let key = format!("smoke[{i}].json[{j}]");
            if !(json.pointer.is_empty() || json.pointer.starts_with('/')) {
                problem(
                    &[Step::Key("json"), Step::Index(j), Step::Key("pointer")],
                    format!("{key}.pointer"),
                    format!(
                        "`{key}.pointer` must be a JSON pointer, found {:?}",
                        json.pointer
                    ),
                    Some(format!(
                        "pointers start with `/`: `pointer = \"/{}\"`",
                        json.pointer
                    )),
                );
            }
            if json.equals.is_some() == json.exists.is_some() {
                problem(
                    &at,
                    key.clone(),
                    format!("`{key}` needs one test: `equals` or `exists`"),
                    Some("like `{ pointer = \"/status\", equals = \"ok\" }`".into()),
                );
            }
        }
        for (j, header) in check.header.iter().enumerate() {
            let at = [Step::Key("header"), Step::Index(j)];
            let key = format!("smoke[{i}].header[{j}]");
            if http::HeaderName::from_bytes(header.name.as_bytes()).is_err() {
                problem(
                    &[Step::Key("header"), Step::Index(j), Step::Key("name")],
                    format!("{key}.name"),
                    format!("`{key}.name` {:?} is not an HTTP header name", header.name),
                    None,
                );
            }
            if header.equals.is_some() == header.matches.is_some() {
                problem(
                    &at,
                    key.clone(),
                    format!("`{key}` needs one test: `equals` or `matches`"),
                    Some(
                        "like `{ name = \"content-type\", matches = \"^application/json\" }`"
                            .into(),
                    ),
                );
            }
            if let Some(pattern) = &header.matches
                && let Err(e) = regex::Regex::new(pattern)
            {
                problem(
                    &[Step::Key("header"), Step::Index(j), Step::Key("matches")],
                    format!("{key}.matches"),
                    format!(
                        "`{key}.matches` is not a regular expression: {}",
                        first_line(&e)
                    ),
                    None,
                );
            }
        }
        for (name, duration) in [("timeout", check.timeout), ("deadline", check.deadline)] {
            if duration.get().is_zero() {
                problem(
                    &[Step::Key(name)],
                    key(name),
                    format!("`{}` must be more than 0", key(name)),
                    None,
                );
            }
        }
        if check.tls_min_days.is_some() && check.url.trim_start().starts_with("http://") {
            problem(
                &[Step::Key("tls_min_days")],
                key("tls_min_days"),
                format!(
                    "`{}` needs an https:// URL: plain HTTP has no certificate",
                    key("tls_min_days")
                ),
                None,
            );
        }
        if check
            .ca_file
            .as_deref()
            .is_some_and(|f| f.trim().is_empty())
        {
            problem(
                &[Step::Key("ca_file")],
                key("ca_file"),
                format!("`{}` is empty", key("ca_file")),
                Some("name a PEM file of CA certificates, or leave the key out".into()),
            );
        }
    }
    problems
}

fn is_http_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// A regex error's first line: the rest is a picture of the pattern.
fn first_line(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error:").trim().to_string())
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<SmokeCheck>, String> {
        SmokeFile::parse(text).map_err(|p| {
            let (line, column) = super::super::position::line_column(text, p.span.start);
            format!("{line}:{column}: {}", p.message)
        })
    }

    #[test]
    fn a_file_of_checks_loads_with_defaults() {
        let checks = parse(
            "[[smoke]]\nname = \"home\"\nurl = \"${BASE_URL}/\"\n\n[[smoke]]\nname = \"api\"\nurl = \"https://x.example/api\"\nstatus = \"200-204, 304\"\n",
        )
        .unwrap();
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].method, "GET");
        assert_eq!(checks[0].status, StatusSet(vec![(200, 299)]));
        assert_eq!(checks[1].status, StatusSet(vec![(200, 204), (304, 304)]));
        assert!(checks[0].follow_redirects);
    }

    #[test]
    fn statuses_are_a_number_a_list_or_ranges() {
        let status = |v: &str| {
            parse(&format!(
                "[[smoke]]\nname = \"a\"\nurl = \"http://a/\"\nstatus = {v}\n"
            ))
            .map(|c| c[0].status.clone())
        };
        assert_eq!(status("204").unwrap(), StatusSet(vec![(204, 204)]));
        assert_eq!(
            status("[200, 301]").unwrap(),
            StatusSet(vec![(200, 200), (301, 301)])
        );
        assert!(status("\"299-200\"").is_err());
        assert!(status("700").is_err());
        assert!(StatusSet(vec![(200, 204)]).accepts(204));
        assert!(!StatusSet(vec![(200, 204)]).accepts(205));
    }

    #[test]
    fn problems_point_at_the_value_to_change() {
        let err = |text: &str| parse(text).unwrap_err();
        let base = "[[smoke]]\nname = \"a\"\nurl = \"http://a/\"\n";
        assert_eq!(
            err(&format!("{base}body_matches = \"(\"\n")),
            "4:16: `smoke[0].body_matches` is not a regular expression: unclosed group"
        );
        assert_eq!(
            err(&format!(
                "{base}json = [{{ pointer = \"status\", equals = 1 }}]\n"
            )),
            "4:21: `smoke[0].json[0].pointer` must be a JSON pointer, found \"status\""
        );
        assert!(
            err(&format!("{base}json = [{{ pointer = \"/a\" }}]\n")).contains("needs one test")
        );
        assert!(err(&format!("{base}method = \"get\"\n")).contains("upper case"));
        assert!(err(&format!("{base}stauts = 200\n")).starts_with("4:1: unknown key `stauts`"));
        assert!(
            err(&format!(
                "{base}[[smoke]]\nname = \"a\"\nurl = \"http://b/\"\n"
            ))
            .contains("two checks")
        );
        assert!(err("name = \"a\"\n").contains("in a file of smoke checks"));
        assert!(
            err(&format!("{base}headers = {{ A = \"${{OPEN\" }}\n")).contains("`${` is not closed")
        );
    }
}
