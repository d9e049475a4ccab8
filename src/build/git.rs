//! The commit and repository an image is built from: GitHub Actions' variables first
//! (`GITHUB_SHA`, `GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`), then the git checkout.

use std::path::Path;
use std::process::{Command, Stdio};

use super::labels::Provenance;

/// Reads the provenance of the checkout that holds `dir`.
pub fn provenance(dir: &Path) -> Provenance {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let revision = env("GITHUB_SHA")
        .filter(|s| is_sha(s))
        .or_else(|| git(dir, &["rev-parse", "HEAD"]).filter(|s| is_sha(s)));
    let source = match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY")) {
        (Some(server), Some(repo)) => Some(format!("{}/{repo}", server.trim_end_matches('/'))),
        _ => git(dir, &["config", "--get", "remote.origin.url"]).and_then(|u| web_url(&u)),
    };
    Provenance { source, revision }
}

fn is_sha(s: &str) -> bool {
    s.len() >= 7 && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The web address of a git remote, with any credentials in it dropped:
/// `git@github.com:org/shop.git` and `https://token@github.com/org/shop.git` are both
/// `https://github.com/org/shop`.
pub fn web_url(remote: &str) -> Option<String> {
    let remote = remote.trim();
    let (host, path) = if let Some((scheme, rest)) = remote.split_once("://") {
        if !matches!(scheme, "https" | "http" | "ssh" | "git") {
            return None;
        }
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/')?;
        // An ssh port is no part of the web address.
        let host = if scheme == "ssh" || scheme == "git" {
            host.split(':').next().unwrap_or(host)
        } else {
            host
        };
        (host.to_string(), path.to_string())
    } else {
        // scp-like: [user@]host:path
        let rest = remote.rsplit_once('@').map_or(remote, |(_, r)| r);
        let (host, path) = rest.split_once(':')?;
        (host.to_string(), path.to_string())
    };
    let path = path.trim_matches('/').trim_end_matches(".git");
    (!host.is_empty() && !path.is_empty()).then(|| format!("https://{host}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::web_url;

    #[test]
    fn remotes_become_web_urls_without_credentials() {
        for remote in [
            "git@github.com:org/shop.git",
            "https://github.com/org/shop.git",
            "https://x-access-token:secret@github.com/org/shop",
            "ssh://git@github.com:22/org/shop.git",
        ] {
            assert_eq!(
                web_url(remote).as_deref(),
                Some("https://github.com/org/shop"),
                "{remote}"
            );
        }
        assert_eq!(web_url("/srv/git/shop"), None);
        assert_eq!(web_url("file:///srv/git/shop"), None);
    }
}
