//! What stays on the target: one warm standby for `standby`, then stopped; the newest
//! `keep_releases` stopped releases; older ones pruned. Never the serving release, the
//! standby, or the rollback target.

use chrono::Utc;

use super::Target;
use super::release::{self, ReleaseState};
use crate::error::Result;

/// After traffic moved: stop surplus standbys, expire old ones, prune history.
pub async fn after_switch(t: &mut Target) -> Result<()> {
    expire_standby(t).await?;
    prune(t).await
}

/// Keeps at most one standby (the rollback target), and only for `deploy.standby` after it
/// stopped serving. Docker cannot schedule the stop, so every run of the tool enforces it.
pub async fn expire_standby(t: &mut Target) -> Result<()> {
    let releases = t.releases().await?;
    let keep = release::previous(&releases).map(|r| r.release);
    let window =
        chrono::Duration::from_std(t.config.deploy.standby.get()).unwrap_or(chrono::Duration::MAX);
    for r in releases.iter().filter(|r| r.state == ReleaseState::Standby) {
        // It stopped serving when the next release was deployed.
        let superseded = releases
            .iter()
            .filter(|n| n.release > r.release && n.promoted())
            .filter_map(|n| n.deployed_at)
            .min();
        let expired = superseded.is_some_and(|at| Utc::now() - at >= window);
        if Some(r.release) != keep || expired {
            tracing::info!("stopping standby release {} ({})", r.release, r.version);
            for x in &r.replicas {
                t.engine
                    .stop(&x.info.id, t.config.deploy.stop_timeout.get())
                    .await?;
            }
        }
    }
    Ok(())
}

async fn prune(t: &mut Target) -> Result<()> {
    let releases = t.releases().await?;
    let rollback_target = release::previous(&releases).map(|r| r.release);
    let prunable: Vec<_> = releases
        .iter()
        .filter(|r| !matches!(r.state, ReleaseState::Serving | ReleaseState::Standby))
        .filter(|r| Some(r.release) != rollback_target)
        .collect();
    for r in prunable
        .into_iter()
        .skip(t.config.deploy.keep_releases as usize)
    {
        tracing::info!("pruning release {} ({})", r.release, r.version);
        for x in &r.replicas {
            t.engine.remove(&x.info.id).await?;
        }
    }
    Ok(())
}
