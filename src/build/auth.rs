//! Registry credentials, looked up as `docker push` looks them up, with our variables first:
//!
//! 1. `DEPLOY_ACTION_REGISTRY_USER` and `DEPLOY_ACTION_REGISTRY_PASSWORD`;
//! 2. `~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`): the registry's
//!    `credHelpers` entry, then `credsStore`, each run as `docker-credential-<name> get`;
//!    then the registry's `auths` entry (`auth` is base64 `user:password`, or an
//!    `identitytoken`).
//!
//! Every secret found is masked in the GitHub Actions log.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use super::reference::DOCKER_HUB;
use crate::docker::RegistryAuth;
use crate::error::{Error, Result};

pub const USER_ENV: &str = "DEPLOY_ACTION_REGISTRY_USER";
pub const PASSWORD_ENV: &str = "DEPLOY_ACTION_REGISTRY_PASSWORD";
/// How Docker keys Docker Hub's credentials.
const HUB_SERVER: &str = "https://index.docker.io/v1/";

/// Credentials found for a registry, and where they came from (for the log, never the secret).
#[derive(Debug, Clone)]
pub struct Found {
    pub auth: RegistryAuth,
    pub from: String,
}

#[derive(Debug, Default, Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The credentials for `registry` (as written in the image name; `docker.io` for Hub), or
/// `None` to go anonymous.
pub fn lookup(registry: &str) -> Result<Option<Found>> {
    let server = if registry == DOCKER_HUB {
        HUB_SERVER.to_string()
    } else {
        registry.to_string()
    };
    let user = std::env::var(USER_ENV).ok().filter(|v| !v.is_empty());
    let password = std::env::var(PASSWORD_ENV).ok().filter(|v| !v.is_empty());
    match (user, password) {
        (Some(username), Some(password)) => {
            crate::ci::add_mask(&password);
            return Ok(Some(Found {
                auth: RegistryAuth {
                    server,
                    username,
                    password,
                    identity_token: None,
                },
                from: format!("{USER_ENV}/{PASSWORD_ENV}"),
            }));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::Usage(format!(
                "set both {USER_ENV} and {PASSWORD_ENV}, or neither"
            )));
        }
        (None, None) => {}
    }
    let Some(path) = config_path() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Usage(format!("cannot read {}: {e}", path.display())));
        }
    };
    let config: DockerConfig = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: not valid JSON: {e}", path.display())))?;
    let host = hostname(&server);

    let helper = config
        .cred_helpers
        .iter()
        .find(|(k, _)| hostname(k) == host)
        .map(|(_, v)| v.clone())
        .or(config.creds_store.clone())
        .filter(|h| !h.is_empty());
    if let Some(helper) = helper {
        match from_helper(&helper, &server) {
            Ok(Some(auth)) => {
                return Ok(Some(Found {
                    auth,
                    from: format!("docker-credential-{helper}"),
                }));
            }
            Ok(None) => {}
            // As `docker push` would fail, but say why and go on: the registry may not
            // need credentials at all, and if it does its refusal follows.
            Err(e) => tracing::warn!("{e}"),
        }
    }

    let Some(entry) = config
        .auths
        .iter()
        .find(|(k, _)| hostname(k) == host)
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    let from = format!("{} (auths)", path.display());
    let bad = |why: &str| Error::Usage(format!("{from}: the entry for {registry} {why}"));
    let (username, password) = match (&entry.auth, &entry.username, &entry.password) {
        (Some(b64), _, _) if !b64.is_empty() => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| bad("has an `auth` that is not base64"))?;
            let text =
                String::from_utf8(decoded).map_err(|_| bad("has an `auth` that is not text"))?;
            let (u, p) = text
                .split_once(':')
                .ok_or_else(|| bad("has an `auth` that is not `user:password`"))?;
            (u.to_string(), p.to_string())
        }
        (_, Some(u), Some(p)) => (u.clone(), p.clone()),
        _ => (String::new(), String::new()),
    };
    let identity_token = entry.identitytoken.clone().filter(|t| !t.is_empty());
    if username.is_empty() && password.is_empty() && identity_token.is_none() {
        return Ok(None);
    }
    crate::ci::add_mask(&password);
    if let Some(t) = &identity_token {
        crate::ci::add_mask(t);
    }
    Ok(Some(Found {
        auth: RegistryAuth {
            server,
            username,
            password,
            identity_token,
        },
        from,
    }))
}

fn config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// How Docker compares credential keys: scheme and path dropped
/// (`https://index.docker.io/v1/` is `index.docker.io`).
fn hostname(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// Runs `docker-credential-<helper> get`, the credential helper protocol.
fn from_helper(helper: &str, server: &str) -> std::result::Result<Option<RegistryAuth>, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run the credential helper {program} ({e}): install it, or remove it \
                 from ~/.docker/config.json"
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program} get: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!(
            "{program} get failed for {server}: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let answer: HelperAnswer = serde_json::from_str(&stdout)
        .map_err(|e| format!("{program} get answered something that is not its JSON: {e}"))?;
    crate::ci::add_mask(&answer.secret);
    // `<token>` as the user name means the secret is an identity token.
    Ok(Some(if answer.username == "<token>" {
        RegistryAuth {
            server: server.to_string(),
            username: String::new(),
            password: String::new(),
            identity_token: Some(answer.secret),
        }
    } else {
        RegistryAuth {
            server: server.to_string(),
            username: answer.username,
            password: answer.secret,
            identity_token: None,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::hostname;

    #[test]
    fn credential_keys_compare_by_host() {
        assert_eq!(hostname("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(hostname("http://127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(hostname("ghcr.io"), "ghcr.io");
    }
}
