//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`), enough to match a
//! `.trivyignore.yaml` `purls` entry against a finding's package the way Trivy does: type,
//! namespace and name equal; the version and subpath equal when the entry gives them;
//! and every qualifier the entry gives present with the same value.
//! <https://github.com/package-url/purl-spec>

use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: BTreeMap<String, String>,
    pub subpath: Option<String>,
}

impl Purl {
    /// Whether `target` is a package this entry (`self`) names.
    pub fn matches(&self, target: &Purl) -> bool {
        self.kind == target.kind
            && self.namespace == target.namespace
            && self.name == target.name
            && self
                .version
                .as_ref()
                .is_none_or(|v| target.version.as_ref() == Some(v))
            && self
                .subpath
                .as_ref()
                .is_none_or(|s| target.subpath.as_ref() == Some(s))
            && self
                .qualifiers
                .iter()
                .all(|(k, v)| target.qualifiers.get(k) == Some(v))
    }
}

impl FromStr for Purl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .get(..4)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkg:"))
            .map(|_| &s[4..])
            .ok_or_else(|| "a package URL starts with `pkg:`".to_string())?;
        let rest = rest.trim_start_matches('/');
        let (rest, subpath) = match rest.split_once('#') {
            Some((r, sub)) => (r, Some(decode(sub.trim_matches('/'))?)),
            None => (rest, None),
        };
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((r, q)) => (r, qualifiers(q)?),
            None => (rest, BTreeMap::new()),
        };
        let (kind, rest) = rest
            .split_once('/')
            .ok_or_else(|| "a package URL needs a type and a name: `pkg:type/name`".to_string())?;
        if kind.is_empty()
            || !kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c))
        {
            return Err(format!("{} is not a package URL type", super::quote(kind)));
        }
        let rest = rest.trim_end_matches('/');
        // The version follows the last `@`; an `@` before it belongs to an npm scope.
        let (path, version) = match rest.rsplit_once('@') {
            Some((p, v)) if !p.is_empty() && !p.ends_with('/') => (p, Some(decode(v)?)),
            _ => (rest, None),
        };
        let (namespace, name) = match path.rsplit_once('/') {
            Some((ns, name)) => (
                ns.split('/')
                    .filter(|seg| !seg.is_empty())
                    .map(decode)
                    .collect::<Result<Vec<_>, _>>()?
                    .join("/"),
                name,
            ),
            None => (String::new(), path),
        };
        let name = decode(name)?;
        if name.is_empty() {
            return Err("a package URL needs a name: `pkg:type/name`".to_string());
        }
        Ok(Purl {
            kind: kind.to_ascii_lowercase(),
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()),
            qualifiers,
            subpath: subpath.filter(|s| !s.is_empty()),
        })
    }
}

fn qualifiers(q: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("qualifier {} has no `=value`", super::quote(pair)))?;
        let v = decode(v)?;
        if !v.is_empty() {
            out.insert(k.to_ascii_lowercase(), v);
        }
    }
    Ok(out)
}

/// Percent-decoding, as the spec asks of every component.
fn decode(s: &str) -> Result<String, String> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape in {}", super::quote(s)))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| format!("{} decodes to bytes that are not UTF-8", super::quote(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Purl {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_every_component() {
        let purl =
            p("pkg:deb/debian/libssl1.1@1.1.1n-0%2Bdeb11u5?arch=amd64&distro=debian-11#sub/dir");
        assert_eq!(purl.kind, "deb");
        assert_eq!(purl.namespace, "debian");
        assert_eq!(purl.name, "libssl1.1");
        assert_eq!(purl.version.as_deref(), Some("1.1.1n-0+deb11u5"));
        assert_eq!(purl.qualifiers["arch"], "amd64");
        assert_eq!(purl.subpath.as_deref(), Some("sub/dir"));
        let npm = p("pkg:npm/%40angular/core@16.0.0");
        assert_eq!(
            (npm.namespace.as_str(), npm.name.as_str()),
            ("@angular", "core")
        );
        let bare = p("pkg:PyPI/django");
        assert_eq!((bare.kind.as_str(), bare.version), ("pypi", None));
    }

    #[test]
    fn an_entry_without_a_version_matches_every_version() {
        let entry = p("pkg:deb/debian/libssl1.1");
        assert!(entry.matches(&p("pkg:deb/debian/libssl1.1@1.1.1n?arch=amd64")));
        assert!(!entry.matches(&p("pkg:deb/debian/libssl3@3.0.1")));
        let pinned = p("pkg:deb/debian/libssl1.1@1.1.1n");
        assert!(!pinned.matches(&p("pkg:deb/debian/libssl1.1@1.1.1o")));
        let arch = p("pkg:deb/debian/libssl1.1?arch=arm64");
        assert!(!arch.matches(&p("pkg:deb/debian/libssl1.1@1?arch=amd64")));
        assert!(arch.matches(&p("pkg:deb/debian/libssl1.1@1?arch=arm64&distro=x")));
    }

    #[test]
    fn malformed_urls_are_refused() {
        for bad in [
            "",
            "deb/debian/x",
            "pkg:",
            "pkg:deb",
            "pkg:deb/",
            "pkg:d%b/x",
            "pkg:deb/x%zz",
            "pkg:deb/x?arch",
        ] {
            assert!(bad.parse::<Purl>().is_err(), "{bad}");
        }
    }
}
