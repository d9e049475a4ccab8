//! Trivy's JSON report (`trivy image --format json`, schema version 2): the fields the gate
//! reads from `Results[].Vulnerabilities[]`. Everything else is skipped unread.
//!
//! ```json
//! { "SchemaVersion": 2, "ArtifactName": "shop:1.2",
//!   "Results": [ { "Target": "shop:1.2 (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine",
//!     "Vulnerabilities": [ { "VulnerabilityID": "CVE-2024-0727", "PkgName": "libcrypto3",
//!       "PkgPath": "…", "PkgIdentifier": { "PURL": "pkg:apk/alpine/libcrypto3@3.1.4-r2" },
//!       "InstalledVersion": "3.1.4-r2", "FixedVersion": "3.1.4-r5", "Status": "fixed",
//!       "Severity": "MEDIUM", "Title": "…", "PrimaryURL": "https://avd.aquasec.com/…" } ] } ] }
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

use super::{Finding, Fix, Severity};

#[derive(Deserialize)]
pub(super) struct TrivyResult<'a> {
    #[serde(rename = "Target", borrow)]
    target: Cow<'a, str>,
    /// `os-pkgs`, `lang-pkgs`, `config`, `secret`, `license`.
    #[serde(rename = "Class", borrow, default)]
    class: Option<Cow<'a, str>>,
    /// The OS family (`alpine`, `debian`) or the package manager (`npm`, `gobinary`).
    #[serde(rename = "Type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "Vulnerabilities", borrow, default)]
    vulnerabilities: Option<Vec<Vulnerability<'a>>>,
}

#[derive(Deserialize)]
struct Vulnerability<'a> {
    #[serde(rename = "VulnerabilityID", borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "PkgName", borrow)]
    package: Cow<'a, str>,
    #[serde(rename = "PkgPath", borrow, default)]
    path: Option<Cow<'a, str>>,
    #[serde(rename = "PkgIdentifier", borrow, default)]
    identifier: Option<Identifier<'a>>,
    #[serde(rename = "InstalledVersion", borrow, default)]
    installed: Option<Cow<'a, str>>,
    #[serde(rename = "FixedVersion", borrow, default)]
    fixed: Option<Cow<'a, str>>,
    /// Trivy omits `Severity` only when it has none: that is UNKNOWN.
    #[serde(
        rename = "Severity",
        default = "unknown",
        deserialize_with = "severity"
    )]
    severity: Severity,
    #[serde(rename = "Title", borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(rename = "PrimaryURL", borrow, default)]
    url: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Identifier<'a> {
    #[serde(rename = "PURL", borrow, default)]
    purl: Option<Cow<'a, str>>,
}

fn unknown() -> Severity {
    Severity::Unknown
}

fn severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    super::report::severity(
        d,
        Severity::from_trivy,
        "Trivy",
        "CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN",
    )
}

/// The findings of every result, in report order.
pub(super) fn findings<'a>(
    artifact: Option<&str>,
    results: Vec<TrivyResult<'a>>,
) -> Vec<Finding<'a>> {
    let count = results
        .iter()
        .map(|r| r.vulnerabilities.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(count);
    for result in results {
        let place = place(artifact, &result);
        for v in result.vulnerabilities.into_iter().flatten() {
            let fix = match v.fixed {
                Some(f) if !f.is_empty() => Fix::Fixed(f),
                _ => Fix::None,
            };
            out.push(Finding {
                id: v.id,
                aliases: Vec::new(),
                severity: v.severity,
                package: v.package,
                installed: v.installed.unwrap_or_default(),
                fix,
                target: result.target.clone(),
                place: place.clone(),
                path: v.path.filter(|p| !p.is_empty()),
                purl: v.identifier.and_then(|i| i.purl).filter(|p| !p.is_empty()),
                title: v.title.filter(|t| !t.is_empty()),
                url: v.url.filter(|u| !u.is_empty()),
            });
        }
    }
    out
}

/// The baseline place of a result: OS packages are named after the image
/// (`shop:1.2 (alpine 3.19.1)`), which changes with every build, so they are placed by
/// their OS family (`alpine`) instead. Language packages keep their file.
fn place<'a>(artifact: Option<&str>, result: &TrivyResult<'a>) -> Cow<'a, str> {
    // Reports without `Class` (before Trivy 0.23) name OS results `<artifact> (<os>)`.
    let os = match result.class.as_deref() {
        Some(class) => class == "os-pkgs",
        None => artifact.is_some_and(|a| {
            result
                .target
                .strip_prefix(a)
                .is_some_and(|rest| rest.starts_with(" (") && rest.ends_with(')'))
        }),
    };
    match (&result.kind, os) {
        (Some(kind), true) if !kind.is_empty() => kind.clone(),
        _ => result.target.clone(),
    }
}
