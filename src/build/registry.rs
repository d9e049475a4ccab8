//! Asks a registry, over the Distribution API, whether a tag exists and under which manifest
//! digest. That is all `build` needs from a registry directly: pushes and pulls go through
//! the engine.
//!
//! Authentication follows the registry's challenge: HTTP Basic (an htpasswd registry), or a
//! Bearer token from the realm it names (Docker Hub, GHCR and most hosted registries).
//! A registry on loopback that does not speak TLS is reached over plain HTTP, as the engine
//! does by default for `127.0.0.0/8`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};

use super::reference::ImageName;
use crate::docker::RegistryAuth;

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

pub struct Registry {
    http: reqwest::Client,
    name: ImageName,
    auth: Option<RegistryAuth>,
}

impl Registry {
    pub fn new(name: &ImageName, auth: Option<RegistryAuth>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("deploy-action/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            name: name.clone(),
            auth,
        }
    }

    /// The manifest digest `tag` points at, or `None` when the tag (or the repository)
    /// does not exist.
    pub async fn manifest_digest(&self, tag: &str) -> Result<Option<String>, String> {
        let path = format!("/v2/{}/manifests/{tag}", self.name.remote_path());
        let https = format!("https://{}{path}", self.name.api_host());
        let response = match self.head(&https, None).await {
            Err(e) if self.name.is_loopback_registry() && (e.is_connect() || e.is_request()) => {
                let http = format!("http://{}{path}", self.name.api_host());
                self.authorized_head(&http).await?
            }
            Err(e) => return Err(describe(&https, &e)),
            Ok(r) if r.status() == StatusCode::UNAUTHORIZED => {
                self.retry_with_auth(&https, r.headers()).await?
            }
            Ok(r) => r,
        };
        match response.status() {
            s if s.is_success() => Ok(response
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or(Some(String::new()))),
            StatusCode::NOT_FOUND => Ok(None),
            s => Err(format!(
                "{} answered {s} for the manifest of {}:{tag}",
                self.name.registry(),
                self.name
            )),
        }
    }

    async fn head(
        &self,
        url: &str,
        authorization: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = self.http.head(url).header(ACCEPT, MANIFEST_TYPES);
        if let Some(a) = authorization {
            request = request.header(AUTHORIZATION, a);
        }
        request.send().await
    }

    async fn authorized_head(&self, url: &str) -> Result<reqwest::Response, String> {
        let r = self.head(url, None).await.map_err(|e| describe(url, &e))?;
        if r.status() == StatusCode::UNAUTHORIZED {
            return self.retry_with_auth(url, r.headers()).await;
        }
        Ok(r)
    }

    /// Answers the registry's `WWW-Authenticate` challenge and asks again.
    async fn retry_with_auth(
        &self,
        url: &str,
        challenge_headers: &HeaderMap,
    ) -> Result<reqwest::Response, String> {
        let challenge = challenge_headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let authorization = if challenge.to_ascii_lowercase().starts_with("bearer") {
            format!("Bearer {}", self.token(&challenge).await?)
        } else {
            let auth = self.auth.as_ref().ok_or_else(|| {
                format!(
                    "{} wants credentials: set {} and {}, or log in with docker",
                    self.name.registry(),
                    super::auth::USER_ENV,
                    super::auth::PASSWORD_ENV
                )
            })?;
            basic(auth)
        };
        self.head(url, Some(&authorization))
            .await
            .map_err(|e| describe(url, &e))
    }

    /// Fetches a pull token from the realm a Bearer challenge names.
    async fn token(&self, challenge: &str) -> Result<String, String> {
        let params = challenge_params(challenge);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("{} sent a Bearer challenge with no realm", self.name))?;
        let mut url = url::Url::parse(&realm).map_err(|e| format!("token realm {realm}: {e}"))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
                q.append_pair("service", service);
            }
            q.append_pair(
                "scope",
                &format!("repository:{}:pull", self.name.remote_path()),
            );
        }
        let mut request = self.http.get(url.clone());
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, basic(auth));
        }
        let response = request
            .send()
            .await
            .map_err(|e| describe(url.as_str(), &e))?;
        if !response.status().is_success() {
            return Err(format!(
                "the token service {realm} answered {}",
                response.status()
            ));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let t: Token = response
            .json()
            .await
            .map_err(|e| format!("the token service {realm} sent no token: {e}"))?;
        t.token
            .or(t.access_token)
            .ok_or_else(|| format!("the token service {realm} sent no token"))
    }
}

fn basic(auth: &RegistryAuth) -> String {
    use base64::Engine as _;
    let secret = auth.identity_token.as_deref().unwrap_or(&auth.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", auth.username))
    )
}

fn describe(url: &str, e: &reqwest::Error) -> String {
    let mut message = format!("{url}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}

/// `Bearer realm="https://auth",service="registry",scope="x"` as key/value pairs.
fn challenge_params(challenge: &str) -> Vec<(String, String)> {
    let rest = challenge
        .split_once(char::is_whitespace)
        .map_or("", |(_, r)| r);
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut v = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => v.extend(chars.next()),
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            chars.by_ref().take_while(|c| *c != ',').collect()
        };
        out.push((key.trim().to_ascii_lowercase(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::challenge_params;

    #[test]
    fn a_bearer_challenge_is_read_into_its_parameters() {
        let p = challenge_params(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/x:pull""#,
        );
        assert_eq!(
            p,
            [
                ("realm".into(), "https://auth.docker.io/token".into()),
                ("service".into(), "registry.docker.io".into()),
                ("scope".into(), "repository:library/x:pull".into()),
            ]
        );
    }
}
