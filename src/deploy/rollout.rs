//! `deploy`: start the new release, gate it on health, switch, verify, drain the old one.
//! Blue-green replaces every replica at once; rolling (`replicas > 1`) one at a time.
//! Until the switch is verified, any failure or signal undoes the step: the new containers
//! are removed and the router points where it pointed before.

use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;

use super::health::{Unhealthy, wait_healthy};
use super::release::container_name;
use super::{Failure, Meta, Target, Timings, retention};
use crate::config::Strategy;
use crate::error::{Error, Result};
use crate::router::{Backend, Router};

#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub service: String,
    pub release: u64,
    pub version: String,
    pub image: String,
    pub image_digest: String,
    pub url: String,
    pub previous: Option<u64>,
    pub strategy: &'static str,
    pub timings: Timings,
}

/// What a rollout has changed so far, so it can be undone.
struct Progress {
    started: Vec<(u16, String)>,
    routes_before: Vec<Backend>,
    routed: bool,
}

pub async fn deploy(t: &mut Target, image: &str, version: Option<String>) -> Result<Deployed> {
    let begin = Instant::now();
    let (image_id, repo_digest) = t.engine.image_ids(image).await?.ok_or_else(|| {
        Error::Usage(format!(
            "image `{image}` is not on the docker engine at {}: build or pull it first",
            t.engine.host().uri
        ))
    })?;
    let digest = repo_digest
        .and_then(|d| d.split_once('@').map(|(_, d)| d.to_string()))
        .unwrap_or(image_id);
    let meta = Meta {
        version: version.unwrap_or_else(|| default_version(image, &digest)),
        digest,
        deployed_by: Meta::deployed_by(),
        run_url: Meta::run_url(),
    };
    let releases = t.releases().await?;
    let number = releases.iter().map(|r| r.release).max().unwrap_or(0) + 1;
    let previous = releases
        .iter()
        .find(|r| r.state == super::ReleaseState::Serving)
        .map(|r| r.release);
    let routes_before = t.router.active().await?;
    let replicas = t.config.deploy.replicas;
    let rolling = t.config.deploy.strategy == Strategy::Rolling || replicas > 1;
    let batch = if rolling { 1 } else { replicas };
    tracing::info!(
        "deploying {image} as release {number} (version {}), {} replica(s), {}",
        meta.version,
        replicas,
        if rolling { "rolling" } else { "blue-green" }
    );

    let mut progress = Progress {
        started: Vec::new(),
        routes_before: routes_before.clone(),
        routed: false,
    };
    let mut timings = Timings::default();
    let result = roll(t, image, number, &meta, batch, &mut progress, &mut timings).await;
    if let Err(e) = result {
        undo(t, &progress).await;
        return Err(e);
    }

    // The new release serves and answered through the router: the deploy has succeeded.
    // From here a signal only cuts the housekeeping short.
    // Docker reuses addresses: an old route may name the new release's address.
    let now_routed: Vec<SocketAddr> = t.router.active().await?.iter().map(|b| b.addr).collect();
    let before: Vec<SocketAddr> = routes_before.iter().map(|b| b.addr).collect();
    let drain = Instant::now();
    {
        let _phase = t.ui.phase("drain the previous release");
        t.drain_and_settle(&now_routed, &before).await?;
    }
    timings.drain_ms = drain.elapsed().as_millis() as u64;
    retention::after_switch(t).await?;
    timings.total_ms = begin.elapsed().as_millis() as u64;
    Ok(Deployed {
        service: t.config.service.clone(),
        release: number,
        version: meta.version,
        image: image.to_string(),
        image_digest: meta.digest,
        url: t.router.url().to_string(),
        previous,
        strategy: if rolling { "rolling" } else { "blue-green" },
        timings,
    })
}

async fn roll(
    t: &mut Target,
    image: &str,
    number: u64,
    meta: &Meta,
    batch: u16,
    progress: &mut Progress,
    timings: &mut Timings,
) -> Result<()> {
    let replicas = t.config.deploy.replicas;
    let mut old_routes = progress.routes_before.clone();
    let mut new_routes: Vec<Backend> = Vec::new();
    let indexes: Vec<u16> = (1..=replicas).collect();
    for chunk in indexes.chunks(batch as usize) {
        let start = Instant::now();
        let mut ids = Vec::new();
        {
            let _phase =
                t.ui.phase(&format!("start release {number} replica(s) {chunk:?}"));
            for &i in chunk {
                t.cancel.check()?;
                let spec = t.container_spec(number, i, image, meta)?;
                let id = t.engine.run(&spec).await?;
                progress.started.push((i, id.clone()));
                ids.push((i, id));
            }
        }
        timings.start_ms += start.elapsed().as_millis() as u64;

        let wait = Instant::now();
        let mut ips = Vec::new();
        {
            let _phase = t.ui.phase("wait for health");
            let spinner =
                t.ui.spinner(format!("waiting for release {number} to become healthy"));
            for (i, id) in &ids {
                match wait_healthy(t, id).await? {
                    Ok(ip) => ips.push(ip),
                    Err(unhealthy) => {
                        spinner.finish();
                        return Err(refuse(t, number, &meta.version, id, unhealthy).await);
                    }
                }
                t.engine
                    .rename(id, &container_name(&t.config.service, number, *i, false))
                    .await?;
            }
            spinner.finish();
        }
        timings.health_wait_ms += wait.elapsed().as_millis() as u64;

        let switch = Instant::now();
        let _phase = t.ui.phase("switch traffic and verify");
        let mut new_addrs = Vec::new();
        for ((_, id), ip) in ids.iter().zip(ips) {
            let ip = t.address(id, ip).await?.ok_or_else(|| {
                Error::Refused(format!(
                    "release {number} has no address on network {}",
                    t.network
                ))
            })?;
            new_addrs.push(SocketAddr::new(ip, t.config.target.port));
        }
        // Each batch drops as many old routes as it adds new ones; the last batch drops the rest.
        let last = chunk.last() == Some(&replicas);
        let drop = if last {
            old_routes.len()
        } else {
            chunk.len().min(old_routes.len())
        };
        old_routes.drain(..drop);
        new_routes.extend(new_addrs.iter().copied().map(Backend::full));
        let routes: Vec<SocketAddr> = old_routes
            .iter()
            .chain(&new_routes)
            .map(|b| b.addr)
            .collect();
        progress.routed = true;
        let verified = t.switch_to(&routes).await?;
        if let Err(answer) = verified {
            let (_, id) = ids.last().cloned().unwrap_or_default();
            let unhealthy = Unhealthy {
                reason: "it does not answer correctly through the router".into(),
                probe: Some(answer),
            };
            return Err(refuse(t, number, &meta.version, &id, unhealthy).await);
        }
        timings.switch_ms += switch.elapsed().as_millis() as u64;
    }
    Ok(())
}

/// Collects what the user needs to see of a refused release and turns it into the error.
async fn refuse(t: &Target, number: u64, version: &str, id: &str, why: Unhealthy) -> Error {
    let failure = Failure {
        release: number,
        version: version.to_string(),
        reason: why.reason,
        probe: why.probe,
        logs: t.engine.logs_tail(id, 50).await,
    };
    t.ui.failure(&failure);
    Error::Refused(format!(
        "release {number} ({version}) was refused; the previous release keeps serving"
    ))
}

/// Puts the router back and removes every container this rollout started.
async fn undo(t: &mut Target, progress: &Progress) {
    if progress.routed
        && let Err(e) = t.restore(&progress.routes_before).await
    {
        tracing::error!("could not restore the previous routes: {e}");
    }
    for (_, id) in &progress.started {
        if let Err(e) = t.engine.remove(id).await {
            tracing::error!("could not remove the new container {id}: {e}");
        }
    }
}

/// `registry:5000/app:1.2.3` gives `1.2.3`; an untagged or digest-only image gives the short digest.
fn default_version(image: &str, digest: &str) -> String {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag.to_string(),
        _ => digest
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::default_version;

    #[test]
    fn version_defaults_to_the_image_tag() {
        assert_eq!(
            default_version("registry:5000/team/app:1.2.3", "sha256:ab"),
            "1.2.3"
        );
        assert_eq!(
            default_version("app", "sha256:0123456789abcdef"),
            "0123456789ab"
        );
        assert_eq!(
            default_version("registry:5000/app", "sha256:0123456789abcdef"),
            "0123456789ab"
        );
        assert_eq!(
            default_version("app@sha256:ff", "sha256:ffeeddccbbaa99"),
            "ffeeddccbbaa"
        );
    }
}
