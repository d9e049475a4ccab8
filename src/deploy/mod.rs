//! The release engine: putting a new release in front of users, rolling back, and keeping
//! the target tidy. Every step is health-gated; a failure leaves the previous release serving.

mod health;
mod reconcile;
pub mod release;
mod retention;
mod rollback;
mod rollout;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

pub use release::{Release, ReleaseState};
pub use rollback::rollback;
pub use rollout::deploy;

use crate::config::Config;
use crate::docker::{ContainerSpec, Engine, EngineHost, labels};
use crate::error::{Error, Result};
use crate::output::Ui;
use crate::router::{AnyRouter, Backend, Router, Staging, Verifier};
use crate::signals::Cancel;

/// The docker network the tool manages for a service and its router.
pub fn network_name(config: &Config) -> String {
    config
        .target
        .network
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("deploy-action-{}", config.service))
}

/// Everything a step needs: the engine, the router in front of it, and the config.
pub struct Target {
    pub engine: Engine,
    pub config: Config,
    pub network: String,
    pub router: AnyRouter,
    /// Made here, at the start of a command, not at the switch (see [`Verifier`]).
    verifier: Verifier,
    pub cancel: Cancel,
    pub ui: Ui,
}

impl Target {
    /// Connects to the engine and the router, without changing anything.
    pub async fn connect(config: Config, cancel: Cancel, ui: Ui) -> Result<Self> {
        let engine = Engine::connect(EngineHost::resolve(config.target.host.as_deref())).await?;
        let router = AnyRouter::from_config(&config, &engine)?;
        let verifier = Verifier::new(router.url()).map_err(Error::Usage)?;
        Ok(Self {
            network: network_name(&config),
            engine,
            config,
            router,
            verifier,
            cancel,
            ui,
        })
    }

    /// Connects, makes sure the router runs, and converges whatever an interrupted run left.
    pub async fn open(config: Config, cancel: Cancel, ui: Ui) -> Result<Self> {
        let mut target = Self::connect(config, cancel, ui).await?;
        target
            .engine
            .ensure_network(&target.network, &target.config.service)
            .await?;
        target.router.prepare().await?;
        target.prefer_network_url().await?;
        reconcile::converge(&mut target).await?;
        Ok(target)
    }

    /// The release history, newest first, with the router's view of what serves.
    pub async fn releases(&mut self) -> Result<Vec<Release>> {
        let active = self.router.active().await?;
        release::list(&self.engine, &self.config, &active).await
    }

    /// Like [`Target::releases`] for a read-only look: a router that is not there yet
    /// simply routes nothing.
    pub async fn releases_read_only(&mut self) -> Result<Vec<Release>> {
        let active = if self.router.attach().await? {
            match self.router.active().await {
                Ok(a) => a,
                Err(e @ Error::Docker { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(
                        "cannot read the router's routes ({e}); no release shows as serving"
                    );
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        release::list(&self.engine, &self.config, &active).await
    }

    /// Routes to `addrs` and proves through the router that they answer. Where the router can
    /// (HAProxy), each new backend is first staged and checked through the router with no
    /// client sent to it, so a release that answers wrong is refused before anyone sees it,
    /// and the router's connections to it are open when clients arrive. The routes are saved
    /// once the switch settles ([`Target::drain_and_settle`]).
    async fn switch_to(&mut self, addrs: &[SocketAddr]) -> Result<std::result::Result<(), String>> {
        let backends: Vec<Backend> = addrs.iter().copied().map(Backend::full).collect();
        let staged = self.router.stage(&backends).await?;
        // Every backend that did not serve yet answered through the router on its own.
        let mut proved = staged.is_some();
        for staged in staged.unwrap_or_default() {
            let checked = self
                .verifier
                .check_staged(
                    &self.config.deploy.verify_path,
                    &staged,
                    self.config.deploy.verify_requests,
                    Duration::from_secs(10),
                )
                .await;
            match checked {
                Ok(Staging::Answers { .. }) => {}
                Ok(Staging::NotPinned) => {
                    proved = false;
                    tracing::warn!(
                        "the router sent a request for slot {} to another backend: its config \
                         lacks the `use-server` lines (see the README), so the new release is \
                         checked only after the switch",
                        staged.pin
                    );
                    break;
                }
                Err(answer) => return Ok(Err(answer)),
            }
        }
        self.router.route(&backends).await?;
        // What is left to prove after a checked stage is that clients' requests now reach
        // the new backends: one answer from each. Without the check, the full streak.
        let needed = if proved { 1 } else { self.full_streak(addrs) };
        Ok(self.verify(addrs, needed, Duration::from_secs(10)).await)
    }

    /// Answers in a row that prove `addrs` serve when nothing was checked before:
    /// `deploy.verify_requests`, and two from each of them at least.
    fn full_streak(&self, addrs: &[SocketAddr]) -> u32 {
        self.config
            .deploy
            .verify_requests
            .max(addrs.len() as u32 * 2)
    }

    /// Asks through the router, as a client would, until `needed` answers in a row come from
    /// `addrs` (each of them at least once), for up to `deadline`.
    async fn verify(
        &self,
        addrs: &[SocketAddr],
        needed: u32,
        deadline: Duration,
    ) -> std::result::Result<(), String> {
        self.verifier
            .verify(&self.config.deploy.verify_path, addrs, needed, deadline)
            .await
            .map(|_| ())
    }

    /// Verifies through the router container's address on the service's network, when the
    /// engine runs here and answers there, rather than through the published port: the same
    /// listener, without docker-proxy, which carries every client connection from this
    /// machine. Not when `router.url` names another way in (a proxy or a TLS front in front
    /// of the router): then verification goes the way clients come.
    async fn prefer_network_url(&mut self) -> Result<()> {
        if crate::router::configured_url(&self.config).is_some() || !self.engine.host().is_local() {
            return Ok(());
        }
        if let Some(url) = self.router.network_url().await? {
            self.verifier
                .prefer(&url, &self.config.deploy.verify_path)
                .await;
        }
        Ok(())
    }

    /// Container `id`'s address on the service's network: `known` when the tool has just
    /// seen it (an engine call next to a switch costs the host CPU that clients feel), else
    /// the engine's answer.
    async fn address(&self, id: &str, known: Option<IpAddr>) -> Result<Option<IpAddr>> {
        match known {
            Some(ip) => Ok(Some(ip)),
            None => Ok(self
                .engine
                .inspect(id, &self.network)
                .await?
                .and_then(|i| i.ip)),
        }
    }

    /// After a verified switch to `addrs`: drains the routes it replaced for `deploy.drain`
    /// (a signal cuts the wait short), then settles the router on `addrs` and saves them.
    /// The releases switched away from keep running until this returns.
    async fn drain_and_settle(
        &mut self,
        addrs: &[SocketAddr],
        replaced: &[SocketAddr],
    ) -> Result<()> {
        if replaced.iter().any(|a| !addrs.contains(a))
            && let Err(e) = self.cancel.sleep(self.config.deploy.drain.get()).await
        {
            tracing::warn!("{e}; skipping the rest of the drain");
        }
        let backends: Vec<Backend> = addrs.iter().copied().map(Backend::full).collect();
        self.router.settle(&backends).await
    }

    /// Routes to `routes` and saves them: routes that served before a switch that failed, or
    /// repairs after an interrupted run. It then waits until they answer through the router
    /// (an nginx reload takes effect a moment after it is asked for), so that the command
    /// ends with them serving; if they do not, it says so and goes on, since nothing better
    /// is left to route to.
    async fn restore(&mut self, routes: &[Backend]) -> Result<()> {
        self.router.route(routes).await?;
        self.router.save().await?;
        let addrs: Vec<SocketAddr> = routes.iter().map(|b| b.addr).collect();
        // Bounded tighter than a switch's check: this also runs when a signal aborts a step.
        if !addrs.is_empty()
            && let Err(e) = self
                .verify(&addrs, self.full_streak(&addrs), Duration::from_secs(3))
                .await
        {
            tracing::warn!("the routes put back do not answer as expected: {e}");
        }
        Ok(())
    }

    fn container_spec(
        &self,
        release: u64,
        replica: u16,
        image: &str,
        meta: &Meta,
    ) -> Result<ContainerSpec> {
        let cfg = &self.config;
        let mut env: Vec<String> = cfg
            .target
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for name in &cfg.target.env_from_host {
            let value = std::env::var(name).map_err(|_| {
                Error::Usage(format!(
                    "target.env_from_host names `{name}`, but it is not set in this environment"
                ))
            })?;
            crate::ci::add_mask(&value);
            env.push(format!("{name}={value}"));
        }
        let mut l: HashMap<String, String> = cfg.target.labels.clone().into_iter().collect();
        for (k, v) in [
            (labels::SERVICE, cfg.service.clone()),
            (labels::ROLE, labels::ROLE_RELEASE.into()),
            (labels::RELEASE, release.to_string()),
            (labels::REPLICA, replica.to_string()),
            (labels::VERSION, meta.version.clone()),
            (labels::IMAGE, image.to_string()),
            (labels::IMAGE_DIGEST, meta.digest.clone()),
            (
                labels::DEPLOYED_AT,
                Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            (labels::DEPLOYED_BY, meta.deployed_by.clone()),
            (labels::RUN_URL, meta.run_url.clone().unwrap_or_default()),
        ] {
            l.insert(k.to_string(), v);
        }
        Ok(ContainerSpec {
            name: release::container_name(&cfg.service, release, replica, true),
            image: image.to_string(),
            env,
            labels: l,
            network: self.network.clone(),
            aliases: vec![cfg.service.clone()],
            ..Default::default()
        })
    }
}

/// Who and what a release records.
#[derive(Debug, Clone)]
pub struct Meta {
    pub version: String,
    pub digest: String,
    pub deployed_by: String,
    pub run_url: Option<String>,
}

impl Meta {
    pub fn deployed_by() -> String {
        crate::github::RunContext::actor()
    }

    /// The Actions run URL, when running under GitHub Actions.
    pub fn run_url() -> Option<String> {
        crate::github::RunContext::from_env().run_url()
    }
}

/// Why a release was refused, with what the user needs to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub release: u64,
    pub version: String,
    pub reason: String,
    pub probe: Option<String>,
    pub logs: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "release {} ({}) failed: {}",
            self.release, self.version, self.reason
        )?;
        if let Some(p) = &self.probe {
            write!(f, "\n  last probe: {p}")?;
        }
        if !self.logs.is_empty() {
            write!(f, "\n  its last {} log lines:", self.logs.len())?;
            for l in &self.logs {
                write!(f, "\n    | {l}")?;
            }
        }
        write!(f, "\n  the previous release keeps serving")
    }
}

/// How long each part of a step took.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub total_ms: u64,
    pub start_ms: u64,
    pub health_wait_ms: u64,
    pub switch_ms: u64,
    pub drain_ms: u64,
}
