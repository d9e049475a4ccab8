//! The Docker engine, through bollard: connecting, containers, exec and logs.
//! Everything the tool asks of Docker goes through [`Engine`].

mod container;
mod exec;
mod image;
pub mod labels;
mod network;

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bollard::Docker;

pub use container::{ContainerInfo, ContainerSpec, RunState};
pub use exec::{ExecOutput, ExecStream};
pub use image::{BuildEvent, BuildFailure, ImageBuild, ImageDetails, PushEvent, RegistryAuth};

use crate::error::{Error, Result};

/// Where the engine lives, as the user wrote it (or `DOCKER_HOST`, or the local socket).
#[derive(Debug, Clone)]
pub struct EngineHost {
    pub uri: String,
}

impl EngineHost {
    /// `configured` wins, then `DOCKER_HOST`, then the local unix socket.
    pub fn resolve(configured: Option<&str>) -> Self {
        let uri = configured
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        Self { uri }
    }

    /// True when the engine runs on this machine, so container addresses on its
    /// bridge networks are reachable from here.
    pub fn is_local(&self) -> bool {
        self.uri.starts_with("unix://") || self.hostname().is_some_and(is_loopback)
    }

    /// The machine name the engine is reached at (`None` for a unix socket).
    pub fn hostname(&self) -> Option<&str> {
        let rest = self.uri.split_once("://")?.1;
        if self.uri.starts_with("unix://") {
            return None;
        }
        let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let host = rest.split(['/', '?']).next().unwrap_or(rest);
        if let Some(v6) = host.strip_prefix('[') {
            return v6.split(']').next();
        }
        Some(host.rsplit_once(':').map_or(host, |(h, _)| h))
    }

    /// The address published ports are reachable at from this machine.
    pub fn published_address(&self) -> String {
        match self.hostname() {
            Some(h) if !is_loopback(h) => h.to_string(),
            _ => "127.0.0.1".to_string(),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A connected engine with a negotiated API version.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    host: EngineHost,
}

impl Engine {
    /// Connects and negotiates the API version, retrying a few times with backoff.
    /// An engine that stays unreachable is an environment failure (exit 3).
    pub async fn connect(host: EngineHost) -> Result<Self> {
        let docker = Docker::connect_with_host(&host.uri).map_err(|e| Error::Docker {
            host: host.uri.clone(),
            message: format!("cannot use this address: {e}"),
        })?;
        let attempt = || {
            let docker = docker.clone();
            async move {
                docker.ping().await?;
                docker.negotiate_version().await
            }
        };
        let docker = attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(250))
                    .with_max_delay(Duration::from_secs(2))
                    .with_max_times(4)
                    .with_jitter(),
            )
            .notify(|e, wait| {
                tracing::warn!(
                    "docker engine not answering ({}); retrying in {wait:?}",
                    crate::error::chain(e)
                )
            })
            .await
            .map_err(|e| Error::Docker {
                host: host.uri.clone(),
                message: format!(
                    "unreachable after 5 attempts: {}. Is the engine running, and does \
                     DOCKER_HOST or [target] host point at it?",
                    crate::error::chain(&e)
                ),
            })?;
        tracing::debug!(host = %host.uri, version = ?docker.client_version(), "connected to docker");
        Ok(Self { docker, host })
    }

    pub fn host(&self) -> &EngineHost {
        &self.host
    }

    pub(crate) fn api(&self) -> &Docker {
        &self.docker
    }

    pub(crate) fn fail(&self, what: impl std::fmt::Display, e: bollard::errors::Error) -> Error {
        Error::Docker {
            host: self.host.uri.clone(),
            message: format!("{what}: {}", crate::error::chain(&e)),
        }
    }
}

/// True when bollard says the object does not exist (HTTP 404).
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::EngineHost;

    fn host(uri: &str) -> EngineHost {
        EngineHost { uri: uri.into() }
    }

    #[test]
    fn hostname_is_read_from_every_scheme() {
        assert_eq!(host("unix:///var/run/docker.sock").hostname(), None);
        assert_eq!(host("tcp://10.0.0.5:2376").hostname(), Some("10.0.0.5"));
        assert_eq!(
            host("ssh://deploy@box.example:22").hostname(),
            Some("box.example")
        );
        assert_eq!(host("ssh://box.example").hostname(), Some("box.example"));
        assert_eq!(host("tcp://[::1]:2375").hostname(), Some("::1"));
    }

    #[test]
    fn local_engines_are_recognised() {
        assert!(host("unix:///run/docker.sock").is_local());
        assert!(host("tcp://127.0.0.1:2375").is_local());
        assert!(!host("ssh://deploy@box.example").is_local());
        assert_eq!(
            host("ssh://deploy@box.example").published_address(),
            "box.example"
        );
        assert_eq!(
            host("unix:///run/docker.sock").published_address(),
            "127.0.0.1"
        );
    }
}
