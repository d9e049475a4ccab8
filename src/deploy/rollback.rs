//! `rollback`: back to the previous healthy release, or to `--to VERSION`. From a warm
//! standby it is a router switch only; from a stopped container it is start, health gate,
//! then switch. A rollback target that fails its gate is removed and nothing changes.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use serde::Serialize;

use super::health::{Unhealthy, wait_healthy};
use super::release::{self, Release, ReleaseState};
use super::{Failure, Target, Timings, retention};
use crate::error::{Error, Result};
use crate::router::Router;

#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    pub service: String,
    pub from: Option<u64>,
    pub release: u64,
    pub version: String,
    pub image_digest: String,
    pub url: String,
    /// True when the target was a running standby, so only the router switched.
    pub warm: bool,
    pub timings: Timings,
}

pub async fn rollback(t: &mut Target, to: Option<&str>) -> Result<RolledBack> {
    let begin = Instant::now();
    let releases = t.releases().await?;
    let from = release::serving(&releases).cloned();
    let target = choose(&releases, from.as_ref(), to)?.clone();
    let warm = target.state == ReleaseState::Standby && target.replicas.iter().all(|r| r.running());
    tracing::info!(
        "rolling back to release {} ({}) from {}",
        target.release,
        target.version,
        from.as_ref().map_or("nothing".into(), |f| format!(
            "release {} ({})",
            f.release, f.version
        ))
    );
    let routes_before = t.router.active().await?;
    let mut timings = Timings::default();

    let started = Instant::now();
    // The addresses the health gate saw for the replicas it started.
    let mut started_at: Vec<(String, Option<IpAddr>)> = Vec::new();
    if !warm {
        let _phase = t.ui.phase(&format!("start release {}", target.release));
        let spinner = t.ui.spinner(format!(
            "waiting for release {} to become healthy",
            target.release
        ));
        for r in target.replicas.iter().filter(|r| !r.running()) {
            let gate = async {
                t.cancel.check()?;
                t.engine.start(&r.info.id).await?;
                wait_healthy(t, &r.info.id).await
            };
            match gate.await {
                Ok(Ok(ip)) => started_at.push((r.info.id.clone(), ip)),
                Ok(Err(unhealthy)) => {
                    spinner.finish();
                    return Err(refuse(t, &target, &r.info.id, unhealthy).await);
                }
                Err(e) => {
                    spinner.finish();
                    stop_all(t, &target).await;
                    return Err(e);
                }
            }
        }
        spinner.finish();
    }
    timings.health_wait_ms = started.elapsed().as_millis() as u64;

    let switch = Instant::now();
    // A running replica's address is in the listing, a started one's came from its gate.
    let mut addrs = Vec::new();
    for r in &target.replicas {
        let known = r.addr.map(|a| a.ip()).or_else(|| {
            started_at
                .iter()
                .find(|(id, _)| *id == r.info.id)
                .and_then(|(_, ip)| *ip)
        });
        let ip = t.address(&r.info.id, known).await?;
        addrs.push(SocketAddr::new(
            ip.ok_or_else(|| Error::Refused(format!("release {} has no address", target.release)))?,
            t.config.target.port,
        ));
    }
    {
        let _phase = t.ui.phase("switch traffic and verify");
        match t.switch_to(&addrs).await {
            Ok(Ok(())) => {}
            outcome => {
                if let Err(e) = t.restore(&routes_before).await {
                    tracing::error!("could not restore the previous routes: {e}");
                }
                let answer = match outcome {
                    Ok(Err(answer)) => answer,
                    Err(e) => e.to_string(),
                    Ok(Ok(())) => unreachable!(),
                };
                let id = target.replicas[0].info.id.clone();
                let why = Unhealthy {
                    reason: "it does not answer correctly through the router".into(),
                    probe: Some(answer),
                };
                return Err(refuse(t, &target, &id, why).await);
            }
        }
    }
    timings.switch_ms = switch.elapsed().as_millis() as u64;

    let drain = Instant::now();
    {
        let _phase = t.ui.phase("drain and stop the release rolled back from");
        let before: Vec<SocketAddr> = routes_before.iter().map(|b| b.addr).collect();
        t.drain_and_settle(&addrs, &before).await?;
        if let Some(from) = &from {
            stop_all(t, from).await;
        }
    }
    timings.drain_ms = drain.elapsed().as_millis() as u64;
    retention::after_switch(t).await?;
    timings.total_ms = begin.elapsed().as_millis() as u64;
    Ok(RolledBack {
        service: t.config.service.clone(),
        from: from.map(|f| f.release),
        release: target.release,
        version: target.version,
        image_digest: target.image_digest,
        url: t.router.url().to_string(),
        warm,
        timings,
    })
}

fn choose<'a>(
    releases: &'a [Release],
    serving: Option<&Release>,
    to: Option<&str>,
) -> Result<&'a Release> {
    match to {
        Some(version) => releases
            .iter()
            .filter(|r| r.version == version && r.usable() && r.state != ReleaseState::Serving)
            .max_by_key(|r| r.release)
            .ok_or_else(|| {
                if serving.is_some_and(|s| s.version == version) {
                    return Error::Usage(format!("version {version} is already serving"));
                }
                let mut known: Vec<&str> = releases.iter().filter(|r| r.usable()).map(|r| r.version.as_str()).collect();
                known.dedup();
                Error::Usage(format!(
                    "--to {version}: no healthy release with that version is kept on the target; \
                     kept versions: {}",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                ))
            }),
        None => release::previous(releases).ok_or_else(|| {
            Error::Usage("there is no earlier healthy release to roll back to (see `deploy-action releases`)".into())
        }),
    }
}

async fn stop_all(t: &Target, release: &Release) {
    for r in &release.replicas {
        if let Err(e) = t
            .engine
            .stop(&r.info.id, t.config.deploy.stop_timeout.get())
            .await
        {
            tracing::error!("could not stop {}: {e}", r.info.name);
        }
    }
}

/// A rollback target that fails its gate is removed: it can never serve again.
async fn refuse(t: &Target, target: &Release, id: &str, why: Unhealthy) -> Error {
    let failure = Failure {
        release: target.release,
        version: target.version.clone(),
        reason: why.reason,
        probe: why.probe,
        logs: t.engine.logs_tail(id, 50).await,
    };
    t.ui.failure(&failure);
    for r in &target.replicas {
        let _ = t.engine.remove(&r.info.id).await;
    }
    Error::Refused(format!(
        "rollback to release {} ({}) was refused; the serving release is unchanged",
        target.release, target.version
    ))
}
