//! The router container the tool owns in `mode = "container"`: created on the service's
//! managed network, publishing the listen address, and driven from outside through the
//! Docker API (exec and the archive API), never by SSH.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

use super::CONTAINER_LISTEN_PORT;
use crate::config::{Config, RouterKind};
use crate::docker::{
    ContainerInfo, ContainerSpec, Engine, ExecOutput, ExecStream, RunState, labels,
};
use crate::error::{Error, Result};

/// How a router kind starts: the command and the files it needs before its first start.
pub struct Launch {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// Everything fixed for the container's life (its config without the routes);
    /// a change recreates the container.
    pub fixed: String,
    /// Files written before the first start.
    pub files: Vec<(String, String)>,
}

pub struct RouterContainer {
    engine: Engine,
    service: String,
    network: String,
    name: String,
    image: String,
    listen_ip: String,
    listen_port: u16,
    id: Option<String>,
}

impl RouterContainer {
    pub fn new(config: &Config, engine: Engine) -> Result<Self> {
        let (listen_ip, port) = config.router.listen.rsplit_once(':').ok_or_else(|| {
            Error::Usage(format!(
                "router.listen `{}` is not host:port",
                config.router.listen
            ))
        })?;
        let listen_port = port.parse().map_err(|_| {
            Error::Usage(format!(
                "router.listen `{}` has no valid port",
                config.router.listen
            ))
        })?;
        let default_image = match config.router.kind {
            RouterKind::Haproxy => "haproxy:lts",
            RouterKind::Nginx => "nginx:stable-alpine",
        };
        Ok(Self {
            engine,
            service: config.service.clone(),
            network: crate::deploy::network_name(config),
            name: format!("{}-router", config.service),
            image: config
                .router
                .image
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or(default_image.into()),
            listen_ip: listen_ip.trim_matches(['[', ']']).to_string(),
            listen_port,
            id: None,
        })
    }

    /// Makes sure the router container runs with `launch`. Returns true when it was (re)created,
    /// which means it has no routes yet.
    pub async fn ensure(&mut self, launch: &Launch) -> Result<bool> {
        let spec_hash = self.spec_hash(launch);
        self.engine
            .ensure_network(&self.network, &self.service)
            .await?;
        for info in self.find().await? {
            let id = info.id.clone();
            if info.labels.get(labels::ROUTER_SPEC) == Some(&spec_hash) {
                if info.state != RunState::Running {
                    tracing::info!("starting the stopped router container {}", info.name);
                    self.engine.start(&id).await?;
                    self.wait_ready().await?;
                }
                self.id = Some(id);
                return Ok(false);
            }
            tracing::warn!(
                "router container {} was made from other settings; recreating it (requests fail while it restarts)",
                info.name
            );
            self.engine.remove(&id).await?;
        }
        let spec = ContainerSpec {
            name: self.name.clone(),
            image: self.image.clone(),
            labels: HashMap::from([
                (labels::SERVICE.to_string(), self.service.clone()),
                (labels::ROLE.to_string(), labels::ROLE_ROUTER.to_string()),
                (labels::ROUTER_SPEC.to_string(), spec_hash),
            ]),
            network: self.network.clone(),
            entrypoint: Some(launch.entrypoint.clone()),
            cmd: Some(launch.cmd.clone()),
            publish: vec![(
                CONTAINER_LISTEN_PORT,
                self.listen_ip.clone(),
                self.listen_port,
            )],
            restart_unless_stopped: true,
            ..Default::default()
        };
        let id = self.engine.create(&spec).await.map_err(|e| match e {
            Error::Docker { message, .. } if message.contains("No such image") => Error::Usage(format!(
                "router image `{}` is not on the engine; pull it, or set router.image to one that is",
                self.image
            )),
            other => other,
        })?;
        for (path, contents) in &launch.files {
            self.engine
                .upload_file(&id, path, contents.as_bytes())
                .await?;
        }
        if let Err(e) = self.engine.start(&id).await {
            let _ = self.engine.remove(&id).await;
            return Err(e);
        }
        self.id = Some(id);
        self.wait_ready().await?;
        tracing::info!(
            "router container {} started on {}:{}",
            self.name,
            self.listen_ip,
            self.listen_port
        );
        Ok(true)
    }

    /// Finds the running router container without creating or changing anything.
    /// Returns false when there is none.
    pub async fn attach(&mut self) -> Result<bool> {
        let running = self
            .find()
            .await?
            .into_iter()
            .find(|i| i.state == RunState::Running);
        self.id = running.map(|i| i.id);
        Ok(self.id.is_some())
    }

    /// Every router container of this service, as the engine sees it now.
    async fn find(&self) -> Result<Vec<ContainerInfo>> {
        let ids = self
            .engine
            .list_by_labels(&[
                (labels::SERVICE, &self.service),
                (labels::ROLE, labels::ROLE_ROUTER),
            ])
            .await?;
        let mut found = Vec::new();
        for id in ids {
            found.extend(self.engine.inspect(&id, &self.network).await?);
        }
        Ok(found)
    }

    fn id(&self) -> Result<&str> {
        self.id
            .as_deref()
            .ok_or_else(|| Error::router("the router container is not prepared (a bug)"))
    }

    /// The router's address on the service's network: where the tool reaches it directly
    /// when the engine runs on this machine. `None` when the engine reports none.
    pub async fn address(&self) -> Result<Option<IpAddr>> {
        Ok(self
            .engine
            .inspect(self.id()?, &self.network)
            .await?
            .and_then(|i| i.ip))
    }

    pub async fn exec(&self, cmd: &[&str], stdin: Option<&[u8]>) -> Result<ExecOutput> {
        self.engine.exec(self.id()?, cmd, stdin).await
    }

    /// Starts `cmd` in the router container with its stdin and output left attached.
    pub async fn exec_attached(&self, cmd: &[&str]) -> Result<ExecStream> {
        self.engine.exec_attached(self.id()?, cmd).await
    }

    pub async fn write(&self, path: &str, contents: &str) -> Result<()> {
        self.engine
            .upload_file(self.id()?, path, contents.as_bytes())
            .await
    }

    /// Reads a file from the router container; `None` when it does not exist.
    pub async fn read(&self, path: &str) -> Result<Option<String>> {
        let stream = self.engine.api().download_from_container(
            self.id()?,
            Some(bollard::query_parameters::DownloadFromContainerOptions {
                path: path.to_string(),
            }),
        );
        let bytes: Vec<u8> = match stream.map_ok(|b| b.to_vec()).try_concat().await {
            Ok(b) => b,
            Err(e) if crate::docker::is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(self
                    .engine
                    .fail(format_args!("read {path} from the router"), e));
            }
        };
        let mut archive = tar::Archive::new(bytes.as_slice());
        let bad = |e: std::io::Error| Error::router(format!("bad archive of {path}: {e}"));
        let mut entries = archive.entries().map_err(bad)?;
        let Some(entry) = entries.next() else {
            return Ok(None);
        };
        let mut text = String::new();
        entry.map_err(bad)?.read_to_string(&mut text).map_err(bad)?;
        Ok(Some(text))
    }

    /// Waits until the router process answers on its exec'able side: the container runs and
    /// has not exited. Readiness of the listener is checked by the caller's first command.
    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let info = self.engine.inspect(self.id()?, &self.network).await?;
            match info {
                Some(i) if i.state == RunState::Running => return Ok(()),
                Some(i) if i.state == RunState::Exited || Instant::now() > deadline => {
                    let logs = self.engine.logs_tail(self.id()?, 20).await.join("\n");
                    return Err(Error::router(format!(
                        "router container {} did not start (exit code {}). Its last log lines:\n{logs}",
                        self.name, i.exit_code
                    )));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn spec_hash(&self, launch: &Launch) -> String {
        let mut h = Sha256::new();
        for part in [
            &self.image,
            &self.listen_ip,
            &self.listen_port.to_string(),
            &self.network,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for part in launch.entrypoint.iter().chain(&launch.cmd) {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(launch.fixed.as_bytes());
        hex::encode(&h.finalize()[..12])
    }
}
