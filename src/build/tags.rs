//! The tags an image gets, as docker/metadata-action users expect them:
//!
//! | version | tags |
//! |---|---|
//! | `v1.2.3` | `1.2.3`, `1.2`, `1` (and `latest` when asked) |
//! | `v0.4.1` | `0.4.1`, `0.4` (no `0`: a `0` tag would mix unrelated 0.x releases) |
//! | `v1.3.0-rc.1` | `1.3.0-rc.1` only: a pre-release never moves `1.3`, `1` or `latest` |
//! | `staging-42` (not semver) | `staging-42` as written |
//!
//! and always `sha-<7 hex>` of the commit. Build metadata (`+build.5`) is kept in the full
//! tag with `+` spelled `_`, since a tag cannot hold `+`.

/// Characters of the commit sha in a `sha-` tag.
pub const SHORT_SHA: usize = 7;

/// The tags for `version`, most specific first.
pub fn version_tags(version: &str, latest: bool) -> Result<Vec<String>, String> {
    let bare = version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('V'))
        .unwrap_or(version);
    let Ok(semver) = semver::Version::parse(bare) else {
        if is_valid_tag(version) {
            return Ok(vec![version.to_string()]);
        }
        return Err(format!(
            "--version `{version}` is neither a semantic version (v1.2.3) nor a valid image tag \
             (letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`)"
        ));
    };
    let full = bare.replace('+', "_");
    if !semver.pre.is_empty() {
        return Ok(vec![full]);
    }
    let mut tags = vec![full, format!("{}.{}", semver.major, semver.minor)];
    if semver.major > 0 {
        tags.push(semver.major.to_string());
    }
    if latest {
        tags.push("latest".to_string());
    }
    tags.dedup();
    Ok(tags)
}

/// The value of the `org.opencontainers.image.version` label: the version without its `v`.
pub fn version_label(version: &str) -> String {
    let bare = version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('V'))
        .unwrap_or(version);
    if semver::Version::parse(bare).is_ok() {
        bare.to_string()
    } else {
        version.to_string()
    }
}

/// `sha-<short>` for a commit.
pub fn sha_tag(sha: &str) -> String {
    format!("sha-{}", &sha[..sha.len().min(SHORT_SHA)])
}

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: &str, latest: bool) -> Vec<String> {
        version_tags(v, latest).unwrap()
    }

    #[test]
    fn a_stable_version_gives_full_minor_and_major_tags() {
        assert_eq!(tags("v1.2.3", false), ["1.2.3", "1.2", "1"]);
        assert_eq!(tags("1.2.3", true), ["1.2.3", "1.2", "1", "latest"]);
    }

    #[test]
    fn a_pre_release_gets_only_its_own_tag_even_with_latest() {
        assert_eq!(tags("v1.3.0-rc.1", true), ["1.3.0-rc.1"]);
    }

    #[test]
    fn major_zero_gets_no_bare_major_tag() {
        assert_eq!(tags("v0.4.1", false), ["0.4.1", "0.4"]);
    }

    #[test]
    fn build_metadata_is_kept_with_an_underscore() {
        assert_eq!(tags("v1.2.3+build.5", false), ["1.2.3_build.5", "1.2", "1"]);
    }

    #[test]
    fn a_version_that_is_not_semver_is_used_as_written_if_it_is_a_valid_tag() {
        assert_eq!(tags("staging-42", true), ["staging-42"]);
        assert!(version_tags("feature/x", false).is_err());
        assert!(version_tags("-x", false).is_err());
    }

    #[test]
    fn the_sha_tag_holds_seven_characters() {
        assert_eq!(
            sha_tag("860c1904a1ce19322e91ac35af1ab07466440c37"),
            "sha-860c190"
        );
    }

    #[test]
    fn the_version_label_drops_the_v_of_a_semantic_version() {
        assert_eq!(version_label("v1.2.3"), "1.2.3");
        assert_eq!(version_label("vNext"), "vNext");
    }
}
