//! The router: the real proxy in front of the releases that switches traffic between them.
//!
//! One [`Router`] trait, one type per kind: [`Haproxy`] switches through its runtime API
//! without a reload; [`Nginx`] rewrites an upstream file and reloads gracefully. Each kind
//! runs either in a container the tool owns ([`RouterContainer`]) or on this machine.
//! Routing is expressed as weights so a canary strategy fits later.

mod container;
mod haproxy;
mod nginx;
mod verify;

use std::net::SocketAddr;

pub use container::RouterContainer;
pub use haproxy::Haproxy;
pub use nginx::Nginx;
pub use verify::{Staging, Verification, Verifier};

use crate::config::{Config, RouterKind, RouterMode};
use crate::docker::Engine;
use crate::error::Result;

/// Response header the router adds naming the backend (`ip:port`) that answered. It is how
/// the tool proves, after a switch, that the intended release is the one answering.
pub const BACKEND_HEADER: &str = "x-deploy-backend";

/// Request header that asks the router for one backend by name, whatever its weight. The
/// tool sends it to check a staged release through the router before any client reaches it.
pub const PIN_HEADER: &str = "x-deploy-action-slot";

/// The port the router listens on inside its container.
pub const CONTAINER_LISTEN_PORT: u16 = 8000;

/// One server the router can send traffic to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    pub addr: SocketAddr,
    /// Relative share of new requests; 0 means draining (in-flight requests finish).
    pub weight: u32,
}

impl Backend {
    pub fn full(addr: SocketAddr) -> Self {
        Self { addr, weight: 100 }
    }
}

/// A backend made ready by [`Router::stage`], and the [`PIN_HEADER`] value that asks the
/// router for it alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub addr: SocketAddr,
    pub pin: String,
}

/// A traffic switch.
#[allow(async_fn_in_trait)]
pub trait Router {
    /// Makes sure the router is running and reachable (container mode creates it).
    async fn prepare(&mut self) -> Result<()>;

    /// Finds a router that already runs, changing nothing. False when there is none.
    async fn attach(&mut self) -> Result<bool>;

    /// The backends that get new requests now (weight > 0).
    async fn active(&mut self) -> Result<Vec<Backend>>;

    /// Before a switch to `backends`: makes those that take no requests now reachable through
    /// the router, but only for requests that ask for them with [`PIN_HEADER`], so the tool
    /// can check them through the router (and the router opens its connections to them)
    /// before any client is sent there. Returns them (none when all of `backends` already
    /// serve), or `None` for a kind that cannot pin.
    async fn stage(&mut self, backends: &[Backend]) -> Result<Option<Vec<Staged>>>;

    /// Sends new requests to exactly `backends`; every other backend is drained:
    /// it gets no new requests but finishes the ones in flight.
    async fn route(&mut self, backends: &[Backend]) -> Result<()>;

    /// Makes the live routes survive a restart of the router. Called when a switch has
    /// settled and when routes are put back, so a restarted router never brings back routes
    /// that failed verification.
    async fn save(&mut self) -> Result<()>;

    /// Forgets every backend that gets no new requests (drained ones), so their places
    /// are free for the next release. Running standbys are routed to again when needed.
    async fn forget_inactive(&mut self) -> Result<()>;

    /// Ends a verified switch to `backends` once the previous release has drained: makes
    /// sure the router still sends new requests to them (a router restarted meanwhile came
    /// back with its saved routes), forgets the drained backends and saves the routes.
    /// Saving here rather than at the switch keeps the write out of the moment traffic moves.
    async fn settle(&mut self, backends: &[Backend]) -> Result<()>;

    /// The URL clients (and the tool's verification) reach the service at.
    fn url(&self) -> &str;

    /// The router container's own URL on the service's network (`None` on the host). From
    /// this machine, with a local engine, it reaches the same listener as [`Router::url`]
    /// without the published port's proxy in between.
    async fn network_url(&self) -> Result<Option<String>>;
}

/// The router kind chosen in config.
pub enum AnyRouter {
    Haproxy(Haproxy),
    Nginx(Nginx),
}

impl AnyRouter {
    pub fn from_config(config: &Config, engine: &Engine) -> Result<Self> {
        let place = match config.router.mode {
            RouterMode::Container => {
                Place::Container(Box::new(RouterContainer::new(config, engine.clone())?))
            }
            RouterMode::Host => Place::Host,
        };
        let url = router_url(config, engine);
        Ok(match config.router.kind {
            RouterKind::Haproxy => AnyRouter::Haproxy(Haproxy::new(config, place, url)),
            RouterKind::Nginx => AnyRouter::Nginx(Nginx::new(config, place, url)),
        })
    }
}

/// Where a router runs.
pub enum Place {
    Container(Box<RouterContainer>),
    Host,
}

impl Place {
    async fn attach(&mut self) -> Result<bool> {
        match self {
            Place::Container(c) => c.attach().await,
            Place::Host => Ok(true),
        }
    }

    async fn network_url(&self) -> Result<Option<String>> {
        Ok(match self {
            Place::Container(c) => c
                .address()
                .await?
                .map(|ip| format!("http://{}", SocketAddr::new(ip, CONTAINER_LISTEN_PORT))),
            Place::Host => None,
        })
    }
}

/// `router.url`, when the config sets it.
pub fn configured_url(config: &Config) -> Option<&str> {
    config.router.url.as_deref().filter(|u| !u.is_empty())
}

fn router_url(config: &Config, engine: &Engine) -> String {
    url_for(config, engine.host())
}

/// Where users reach the service through the router (`router.url`, else the published
/// listener), known without connecting to anything.
pub fn url_for(config: &Config, host: &crate::docker::EngineHost) -> String {
    if let Some(url) = configured_url(config) {
        return url.trim_end_matches('/').to_string();
    }
    let port = config
        .router
        .listen
        .rsplit_once(':')
        .map_or(config.router.listen.as_str(), |(_, p)| p);
    match config.router.mode {
        RouterMode::Container => format!("http://{}:{port}", host.published_address()),
        RouterMode::Host => format!("http://{}", config.router.listen),
    }
}

impl Router for AnyRouter {
    async fn prepare(&mut self) -> Result<()> {
        match self {
            AnyRouter::Haproxy(r) => r.prepare().await,
            AnyRouter::Nginx(r) => r.prepare().await,
        }
    }
    async fn attach(&mut self) -> Result<bool> {
        match self {
            AnyRouter::Haproxy(r) => r.attach().await,
            AnyRouter::Nginx(r) => r.attach().await,
        }
    }
    async fn active(&mut self) -> Result<Vec<Backend>> {
        match self {
            AnyRouter::Haproxy(r) => r.active().await,
            AnyRouter::Nginx(r) => r.active().await,
        }
    }
    async fn stage(&mut self, backends: &[Backend]) -> Result<Option<Vec<Staged>>> {
        match self {
            AnyRouter::Haproxy(r) => r.stage(backends).await,
            AnyRouter::Nginx(r) => r.stage(backends).await,
        }
    }
    async fn route(&mut self, backends: &[Backend]) -> Result<()> {
        match self {
            AnyRouter::Haproxy(r) => r.route(backends).await,
            AnyRouter::Nginx(r) => r.route(backends).await,
        }
    }
    async fn save(&mut self) -> Result<()> {
        match self {
            AnyRouter::Haproxy(r) => r.save().await,
            AnyRouter::Nginx(r) => r.save().await,
        }
    }
    async fn forget_inactive(&mut self) -> Result<()> {
        match self {
            AnyRouter::Haproxy(r) => r.forget_inactive().await,
            AnyRouter::Nginx(r) => r.forget_inactive().await,
        }
    }
    async fn settle(&mut self, backends: &[Backend]) -> Result<()> {
        match self {
            AnyRouter::Haproxy(r) => r.settle(backends).await,
            AnyRouter::Nginx(r) => r.settle(backends).await,
        }
    }
    fn url(&self) -> &str {
        match self {
            AnyRouter::Haproxy(r) => r.url(),
            AnyRouter::Nginx(r) => r.url(),
        }
    }
    async fn network_url(&self) -> Result<Option<String>> {
        match self {
            AnyRouter::Haproxy(r) => r.network_url().await,
            AnyRouter::Nginx(r) => r.network_url().await,
        }
    }
}
