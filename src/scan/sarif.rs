//! SARIF 2.1.0 (`runs[].results[]`), as Trivy, Grype, CodeQL and others write it.
//!
//! A result's severity comes from its rule's `properties.security-severity` (a CVSS score,
//! as GitHub code scanning reads it), else from its `level` (`error` HIGH, `warning`
//! MEDIUM, `note` LOW, `none` UNKNOWN), else from the rule's default level, else
//! `warning`. Results whose `kind` says they are not a problem (`pass`,
//! `notApplicable`, `informational`) are not findings.
//!
//! SARIF has no package fields; Trivy's SARIF puts them in the message text
//! (`Package: …`, `Installed Version: …`, `Fixed Version: …`), and those lines are read
//! when present. Elsewhere the fix is unknown, so `ignore_unfixed` never drops it.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{Finding, Fix, Severity};

#[derive(Deserialize)]
pub(super) struct Run<'a> {
    #[serde(borrow, default)]
    tool: Option<Tool<'a>>,
    #[serde(borrow, default)]
    results: Option<Vec<SarifResult<'a>>>,
}

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow, default)]
    driver: Option<Driver<'a>>,
}

#[derive(Deserialize)]
struct Driver<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rules: Option<Vec<Rule<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    short_description: Option<Message<'a>>,
    #[serde(borrow, default)]
    help_uri: Option<Cow<'a, str>>,
    #[serde(default)]
    properties: Option<RuleProperties>,
    #[serde(default)]
    default_configuration: Option<Configuration>,
}

#[derive(Deserialize)]
struct RuleProperties {
    #[serde(rename = "security-severity", default, deserialize_with = "score")]
    security_severity: Option<f64>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    level: Option<Level>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
enum Level {
    None,
    Note,
    Warning,
    Error,
}

impl Level {
    fn severity(self) -> Severity {
        match self {
            Level::Error => Severity::High,
            Level::Warning => Severity::Medium,
            Level::Note => Severity::Low,
            Level::None => Severity::Unknown,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    #[serde(borrow, default)]
    rule_id: Option<Cow<'a, str>>,
    #[serde(default)]
    rule_index: Option<usize>,
    #[serde(borrow, default)]
    rule: Option<RuleReference<'a>>,
    #[serde(default)]
    level: Option<Level>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    #[serde(borrow, default)]
    locations: Option<Vec<Location<'a>>>,
}

#[derive(Deserialize)]
struct RuleReference<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    index: Option<usize>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(borrow, default)]
    physical_location: Option<PhysicalLocation<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    #[serde(borrow, default)]
    artifact_location: Option<ArtifactLocation<'a>>,
    #[serde(default)]
    region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation<'a> {
    #[serde(borrow, default)]
    uri: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    #[serde(default)]
    start_line: Option<u64>,
}

/// `security-severity`: a CVSS score from 0.0 to 10.0, written as a string (GitHub's
/// convention) or a number.
fn score<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct Score;

    impl Visitor<'_> for Score {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a CVSS score from 0.0 to 10.0, like \"7.5\"")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            match s.trim().parse::<f64>() {
                Ok(v) => self.visit_f64(v),
                Err(_) => Err(E::custom(format!(
                    "`security-severity` must be a CVSS score from 0.0 to 10.0, like \"7.5\", found {}",
                    super::quote(s)
                ))),
            }
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if (0.0..=10.0).contains(&v) {
                Ok(Some(v))
            } else {
                Err(E::custom(format!(
                    "`security-severity` must be a CVSS score from 0.0 to 10.0, found {v}"
                )))
            }
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_f64(v as f64)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.visit_f64(v as f64)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    d.deserialize_any(Score)
}

impl<'a> Run<'a> {
    pub(super) fn tool_name(&self) -> Option<Cow<'a, str>> {
        self.tool.as_ref()?.driver.as_ref()?.name.clone()
    }
}

/// Kinds of result that say "no problem here" (SARIF §3.27.9).
const NOT_A_PROBLEM: [&str; 3] = ["pass", "notApplicable", "informational"];

pub(super) fn findings(runs: Vec<Run<'_>>) -> Vec<Finding<'_>> {
    let mut out = Vec::new();
    for run in runs {
        let tool = run.tool_name().unwrap_or(Cow::Borrowed("SARIF"));
        let rules: Vec<Rule<'_>> = run
            .tool
            .and_then(|t| t.driver)
            .and_then(|d| d.rules)
            .unwrap_or_default();
        let by_id: HashMap<&str, usize> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_ref(), i))
            .collect();
        for result in run.results.into_iter().flatten() {
            if result
                .kind
                .as_deref()
                .is_some_and(|k| NOT_A_PROBLEM.contains(&k))
            {
                continue;
            }
            let reference = result.rule.as_ref();
            let index = result
                .rule_index
                .or_else(|| reference.and_then(|r| r.index));
            let named = result
                .rule_id
                .clone()
                .or_else(|| reference.and_then(|r| r.id.clone()));
            let rule = index.and_then(|i| rules.get(i)).or_else(|| {
                named
                    .as_deref()
                    .and_then(|id| by_id.get(id).map(|&i| &rules[i]))
            });
            let id = named
                .or_else(|| rule.map(|r| r.id.clone()))
                .unwrap_or(Cow::Borrowed("(no rule id)"));

            let score = rule.and_then(|r| r.properties.as_ref()?.security_severity);
            let level = result
                .level
                .or_else(|| rule.and_then(|r| r.default_configuration.as_ref()?.level));
            let severity = match (score, level) {
                (Some(score), _) => Severity::from_cvss(score),
                (None, Some(level)) => level.severity(),
                (None, None) => Level::Warning.severity(),
            };

            let text = result.message.and_then(|m| m.text);
            let fields = text.as_deref().map(MessageFields::read).unwrap_or_default();
            let (uri, line) = result
                .locations
                .into_iter()
                .flatten()
                .find_map(|l| l.physical_location)
                .map(|p| {
                    (
                        p.artifact_location.and_then(|a| a.uri),
                        p.region.and_then(|r| r.start_line),
                    )
                })
                .unwrap_or_default();
            let target = uri.unwrap_or_else(|| tool.clone());
            let place = match line {
                Some(line) if fields.package.is_none() => Cow::Owned(format!("{target}:{line}")),
                _ => target.clone(),
            };
            let title = rule
                .and_then(|r| r.short_description.as_ref()?.text.clone())
                .or_else(|| {
                    text.as_deref()
                        .and_then(|t| t.lines().next())
                        .map(|l| Cow::Owned(l.to_string()))
                });
            let fix = match (&fields.package, fields.fixed) {
                (_, Some(v)) if !v.is_empty() => Fix::Fixed(Cow::Owned(v.to_string())),
                (Some(_), _) => Fix::None,
                (None, _) => Fix::Unknown,
            };
            out.push(Finding {
                id,
                aliases: Vec::new(),
                severity,
                package: fields
                    .package
                    .map(|p| Cow::Owned(p.to_string()))
                    .unwrap_or_default(),
                installed: fields
                    .installed
                    .map(|p| Cow::Owned(p.to_string()))
                    .unwrap_or_default(),
                fix,
                target,
                place,
                path: None,
                purl: None,
                title,
                url: rule.and_then(|r| r.help_uri.clone()),
            });
        }
    }
    out
}

/// The package lines of Trivy's SARIF message text.
#[derive(Default)]
struct MessageFields<'t> {
    package: Option<&'t str>,
    installed: Option<&'t str>,
    fixed: Option<&'t str>,
}

impl<'t> MessageFields<'t> {
    fn read(text: &'t str) -> Self {
        let mut fields = MessageFields::default();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                fields.package = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Installed Version: ") {
                fields.installed = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Fixed Version: ") {
                fields.fixed = Some(v.trim());
            }
        }
        fields
    }
}
