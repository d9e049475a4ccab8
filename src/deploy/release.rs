//! Releases as the target records them: containers and their labels, nothing else.
//! Any runner, or a laptop, reads the same history.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::docker::{ContainerInfo, Engine, RunState, labels};
use crate::error::Result;
use crate::router::Backend;

/// Suffix of a release container that has not yet proven healthy. Renaming it away is the
/// record that the release was once healthy (labels cannot change after creation).
pub const PENDING_SUFFIX: &str = "-pending";

pub fn container_name(service: &str, release: u64, replica: u16, pending: bool) -> String {
    let suffix = if pending { PENDING_SUFFIX } else { "" };
    format!("{service}-r{release}-{replica}{suffix}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseState {
    /// The router sends it traffic.
    Serving,
    /// Running, not routed: a warm standby for instant rollback.
    Standby,
    /// Stopped after being healthy: a rollback target that needs a start.
    Stopped,
    /// Never became healthy, or died on its own.
    Failed,
}

impl std::fmt::Display for ReleaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReleaseState::Serving => "serving",
            ReleaseState::Standby => "standby",
            ReleaseState::Stopped => "stopped",
            ReleaseState::Failed => "failed",
        })
    }
}

/// One container of a release.
#[derive(Debug, Clone)]
pub struct Replica {
    pub index: u16,
    pub info: ContainerInfo,
    /// Renamed away from `-pending`: it passed its health gate once.
    pub promoted: bool,
    pub addr: Option<SocketAddr>,
}

impl Replica {
    pub fn running(&self) -> bool {
        self.info.state == RunState::Running
    }

    /// Exited on its own rather than being stopped by us (SIGTERM 143, SIGKILL 137, 0).
    pub fn died(&self) -> bool {
        self.info.state == RunState::Exited
            && (self.info.oom_killed || ![0, 137, 143].contains(&self.info.exit_code))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Release {
    pub release: u64,
    pub version: String,
    pub image: String,
    pub image_digest: String,
    pub state: ReleaseState,
    pub deployed_at: Option<DateTime<Utc>>,
    pub deployed_by: String,
    pub run_url: Option<String>,
    #[serde(skip)]
    pub replicas: Vec<Replica>,
}

impl Release {
    pub fn promoted(&self) -> bool {
        !self.replicas.is_empty() && self.replicas.iter().all(|r| r.promoted)
    }

    pub fn running(&self) -> bool {
        self.replicas.iter().any(Replica::running)
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.replicas.iter().filter_map(|r| r.addr).collect()
    }

    /// A rollback target: once healthy, and not failed since.
    pub fn usable(&self) -> bool {
        self.promoted() && self.state != ReleaseState::Failed
    }
}

/// All releases of the service, newest first, with states derived from the router's routes.
pub async fn list(engine: &Engine, config: &Config, active: &[Backend]) -> Result<Vec<Release>> {
    let network = super::network_name(config);
    let ids = engine
        .list_by_labels(&[
            (labels::SERVICE, &config.service),
            (labels::ROLE, labels::ROLE_RELEASE),
        ])
        .await?;
    let mut releases: Vec<Release> = Vec::new();
    for id in ids {
        let Some(info) = engine.inspect(&id, &network).await? else {
            continue;
        };
        let Some(number) = info
            .labels
            .get(labels::RELEASE)
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        let label = |k: &str| info.labels.get(k).cloned().unwrap_or_default();
        let replica = Replica {
            index: label(labels::REPLICA).parse().unwrap_or(1),
            promoted: !info.name.ends_with(PENDING_SUFFIX),
            addr: info
                .ip
                .filter(|_| info.state == RunState::Running)
                .map(|ip| SocketAddr::new(ip, config.target.port)),
            info: info.clone(),
        };
        match releases.iter_mut().find(|r| r.release == number) {
            Some(r) => r.replicas.push(replica),
            None => releases.push(Release {
                release: number,
                version: label(labels::VERSION),
                image: label(labels::IMAGE),
                image_digest: label(labels::IMAGE_DIGEST),
                state: ReleaseState::Stopped,
                deployed_at: DateTime::parse_from_rfc3339(&label(labels::DEPLOYED_AT))
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
                deployed_by: label(labels::DEPLOYED_BY),
                run_url: Some(label(labels::RUN_URL)).filter(|u| !u.is_empty()),
                replicas: vec![replica],
            }),
        }
    }
    for r in &mut releases {
        r.replicas.sort_by_key(|x| x.index);
        let routed = r
            .addrs()
            .iter()
            .any(|a| active.iter().any(|b| b.addr == *a));
        r.state = if routed {
            ReleaseState::Serving
        } else if !r.promoted() || r.replicas.iter().any(Replica::died) {
            ReleaseState::Failed
        } else if r.running() {
            ReleaseState::Standby
        } else {
            ReleaseState::Stopped
        };
    }
    releases.sort_by_key(|r| std::cmp::Reverse(r.release));
    Ok(releases)
}

/// The release serving now, if any.
pub fn serving(releases: &[Release]) -> Option<&Release> {
    releases.iter().find(|r| r.state == ReleaseState::Serving)
}

/// Where a plain `rollback` goes: the newest release before the serving one that was once
/// healthy. With nothing serving, the newest usable release.
pub fn previous(releases: &[Release]) -> Option<&Release> {
    let serving = serving(releases).map(|s| s.release);
    releases
        .iter()
        .filter(|r| r.usable() && r.state != ReleaseState::Serving)
        .filter(|r| serving.is_none_or(|s| r.release < s))
        .max_by_key(|r| r.release)
}
