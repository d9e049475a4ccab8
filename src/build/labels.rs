//! Image labels: the OCI `org.opencontainers.image.*` set and our context digest.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

/// The context digest an image was built from: how `build` finds an unchanged image.
pub const CONTEXT_DIGEST: &str = "deploy-action.context-digest";

pub const OCI_SOURCE: &str = "org.opencontainers.image.source";
pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
pub const OCI_VERSION: &str = "org.opencontainers.image.version";
pub const OCI_CREATED: &str = "org.opencontainers.image.created";
pub const OCI_TITLE: &str = "org.opencontainers.image.title";

/// Where the image comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The repository's web URL (`https://github.com/org/shop`).
    pub source: Option<String>,
    /// The full commit sha.
    pub revision: Option<String>,
}

/// Every label the image gets. The user's labels may override the OCI ones (as
/// docker/metadata-action allows); the context digest is ours and always wins.
pub fn image_labels(
    provenance: &Provenance,
    version: &str,
    title: &str,
    created: DateTime<Utc>,
    user: &BTreeMap<String, String>,
    context_digest: &str,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if let Some(source) = &provenance.source {
        labels.insert(OCI_SOURCE.to_string(), source.clone());
    }
    if let Some(revision) = &provenance.revision {
        labels.insert(OCI_REVISION.to_string(), revision.clone());
    }
    labels.insert(OCI_VERSION.to_string(), version.to_string());
    labels.insert(
        OCI_CREATED.to_string(),
        created.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    labels.insert(OCI_TITLE.to_string(), title.to_string());
    labels.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert(CONTEXT_DIGEST.to_string(), context_digest.to_string());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_labels_override_oci_ones_but_not_the_context_digest() {
        let user = BTreeMap::from([
            (OCI_TITLE.to_string(), "Shop".to_string()),
            (CONTEXT_DIGEST.to_string(), "forged".to_string()),
        ]);
        let created = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let labels = image_labels(
            &Provenance {
                source: Some("https://github.com/o/r".into()),
                revision: Some("abc".into()),
            },
            "1.2.3",
            "shop",
            created,
            &user,
            "sha256:1",
        );
        assert_eq!(labels[OCI_TITLE], "Shop");
        assert_eq!(labels[CONTEXT_DIGEST], "sha256:1");
        assert_eq!(labels[OCI_CREATED], "2026-01-02T03:04:05Z");
        assert_eq!(labels[OCI_SOURCE], "https://github.com/o/r");
        assert_eq!(labels[OCI_REVISION], "abc");
        assert_eq!(labels[OCI_VERSION], "1.2.3");
    }
}
