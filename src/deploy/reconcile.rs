//! Converging after an interrupted run (a SIGKILL can land anywhere): before a step changes
//! anything, the router must point at running, once-healthy releases, and nothing half-made
//! may be left running.

use std::net::SocketAddr;

use super::release::{Release, ReleaseState};
use super::{Target, retention};
use crate::error::Result;
use crate::router::{Backend, Router};

pub async fn converge(t: &mut Target) -> Result<()> {
    let releases = t.releases().await?;

    // A container still named `-pending` never passed its health gate: an interrupted deploy.
    for r in &releases {
        for replica in r.replicas.iter().filter(|x| !x.promoted) {
            tracing::warn!(
                "removing {} left behind by an interrupted deploy of release {}",
                replica.info.name,
                r.release
            );
            t.engine.remove(&replica.info.id).await?;
        }
    }

    let live: Vec<SocketAddr> = releases
        .iter()
        .filter(|r| r.promoted())
        .flat_map(|r| {
            r.replicas
                .iter()
                .filter(|x| x.running())
                .filter_map(|x| x.addr)
        })
        .collect();
    let active = t.router.active().await?;
    let (good, dead): (Vec<Backend>, Vec<Backend>) =
        active.into_iter().partition(|b| live.contains(&b.addr));
    let repair = if !good.is_empty() {
        (!dead.is_empty()).then_some(good)
    } else {
        newest_running(&releases).map(|r| r.addrs().into_iter().map(Backend::full).collect())
    };
    if repair.is_none() && !dead.is_empty() {
        // Nothing healthy to route to: at least stop sending requests to addresses that are
        // gone (a later container may reuse them).
        let gone: Vec<SocketAddr> = dead.iter().map(|b| b.addr).collect();
        tracing::warn!(
            "the router pointed at {gone:?}, which no release runs at; dropping those routes"
        );
        t.restore(&[]).await?;
    }
    if let Some(routes) = repair {
        tracing::warn!(
            "the router pointed at {} backend(s) that are not running; routing to {:?}",
            dead.len(),
            routes.iter().map(|b| b.addr).collect::<Vec<_>>()
        );
        t.restore(&routes).await?;
    }
    // Routes left draining by an interrupted run would hold their places forever.
    t.router.forget_inactive().await?;

    // A once-healthy release newer than the serving one that is running but not routed was
    // never switched to (interrupted after its health gate): stop it.
    let releases = t.releases().await?;
    if let Some(serving) = super::release::serving(&releases) {
        for r in releases
            .iter()
            .filter(|r| r.release > serving.release && r.state == ReleaseState::Standby)
        {
            tracing::warn!(
                "stopping release {}: an interrupted run started it but never switched to it",
                r.release
            );
            for x in &r.replicas {
                t.engine
                    .stop(&x.info.id, t.config.deploy.stop_timeout.get())
                    .await?;
            }
        }
    }
    retention::expire_standby(t).await
}

fn newest_running(releases: &[Release]) -> Option<&Release> {
    releases
        .iter()
        .filter(|r| r.usable() && r.replicas.iter().all(|x| x.running()))
        .max_by_key(|r| r.release)
}
