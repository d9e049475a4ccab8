//! Grype's JSON report (`grype -o json`): the fields the gate reads from `matches[]`.
//!
//! ```json
//! { "matches": [ { "vulnerability": { "id": "CVE-2024-0727", "severity": "Medium",
//!       "dataSource": "https://…", "urls": ["https://…"],
//!       "fix": { "versions": ["3.1.4-r5"], "state": "fixed" } },
//!     "relatedVulnerabilities": [ { "id": "CVE-2024-0727" } ],
//!     "artifact": { "name": "libcrypto3", "version": "3.1.4-r2", "type": "apk",
//!       "locations": [ { "path": "/lib/apk/db/installed" } ],
//!       "purl": "pkg:apk/alpine/libcrypto3@3.1.4-r2" } } ],
//!   "source": { "type": "image", "target": { "userInput": "shop:1.2" } } }
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

use super::{Finding, Fix, Severity};

#[derive(Deserialize)]
pub(super) struct Match<'a> {
    #[serde(borrow)]
    vulnerability: Vulnerability<'a>,
    #[serde(rename = "relatedVulnerabilities", borrow, default)]
    related: Option<Vec<Related<'a>>>,
    #[serde(borrow)]
    artifact: Artifact<'a>,
}

#[derive(Deserialize)]
struct Vulnerability<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    /// Grype omits `severity` only when it has none: that is UNKNOWN.
    #[serde(default = "unknown", deserialize_with = "severity")]
    severity: Severity,
    #[serde(rename = "dataSource", borrow, default)]
    data_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    urls: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    fix: Option<FixInfo<'a>>,
}

#[derive(Deserialize)]
struct FixInfo<'a> {
    #[serde(borrow, default)]
    versions: Option<Vec<Cow<'a, str>>>,
    /// `fixed`, `not-fixed`, `wont-fix` or `unknown`.
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Related<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Artifact<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    locations: Option<Vec<Location<'a>>>,
    #[serde(borrow, default)]
    purl: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Location<'a> {
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
}

/// What was scanned: an image (`target` is an object) or a directory or file (a string).
#[derive(Deserialize)]
pub(super) struct Source<'a> {
    #[serde(borrow, default)]
    target: Option<Target<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Target<'a> {
    Path(#[serde(borrow)] Cow<'a, str>),
    Image {
        #[serde(rename = "userInput", borrow, default)]
        user_input: Option<Cow<'a, str>>,
    },
}

impl<'a> Source<'a> {
    pub(super) fn name(&self) -> Option<Cow<'a, str>> {
        match self.target.as_ref()? {
            Target::Path(p) => Some(p.clone()),
            Target::Image { user_input } => user_input.clone(),
        }
    }
}

fn unknown() -> Severity {
    Severity::Unknown
}

fn severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    super::report::severity(
        d,
        Severity::from_grype,
        "Grype",
        "Critical, High, Medium, Low, Negligible, Unknown",
    )
}

pub(super) fn findings(matches: Vec<Match<'_>>) -> Vec<Finding<'_>> {
    let mut out = Vec::with_capacity(matches.len());
    for m in matches {
        let v = m.vulnerability;
        let a = m.artifact;
        let fix = fix(v.fix);
        let path = a
            .locations
            .and_then(|l| l.into_iter().find_map(|l| l.path))
            .filter(|p| !p.is_empty());
        // The file that holds the package is the same in every build of an image; the
        // package type stands in when Grype names none.
        let place = match (&path, &a.kind) {
            (Some(p), _) => p.clone(),
            (None, Some(k)) => k.clone(),
            (None, None) => Cow::Borrowed(""),
        };
        let url = v
            .data_source
            .filter(|u| !u.is_empty())
            .or_else(|| v.urls.and_then(|u| u.into_iter().next()));
        let aliases = m
            .related
            .into_iter()
            .flatten()
            .map(|r| r.id)
            .filter(|id| *id != v.id)
            .collect();
        out.push(Finding {
            id: v.id,
            aliases,
            severity: v.severity,
            package: a.name,
            installed: a.version.unwrap_or_default(),
            fix,
            target: place.clone(),
            place,
            path,
            purl: a.purl.filter(|p| !p.is_empty()),
            title: None,
            url,
        });
    }
    out
}

fn fix(info: Option<FixInfo<'_>>) -> Fix<'_> {
    let Some(info) = info else {
        return Fix::Unknown;
    };
    let mut versions: Vec<Cow<'_, str>> = info
        .versions
        .unwrap_or_default()
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect();
    match versions.len() {
        0 if info.state.as_deref() == Some("unknown") => Fix::Unknown,
        0 => Fix::None,
        1 => Fix::Fixed(versions.remove(0)),
        _ => Fix::Fixed(Cow::Owned(versions.join(", "))),
    }
}
