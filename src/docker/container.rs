//! Containers: create, start, inspect, list by label, stop, remove, rename, logs, upload.

use std::collections::HashMap;
use std::net::IpAddr;

use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, EndpointSettings, HealthStatusEnum, HostConfig,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions, RenameContainerOptions, StopContainerOptions, UploadToContainerOptions,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::{Engine, is_not_found};
use crate::error::Result;

/// What to run: the parts of a container the tool sets.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    pub network: String,
    pub aliases: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `container port -> (host ip, host port)` to publish.
    pub publish: Vec<(u16, String, u16)>,
    pub restart_unless_stopped: bool,
}

/// A container's lifecycle state, as far as the tool cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Created,
    Running,
    Exited,
    Other,
}

/// What inspecting a container tells us.
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    pub state: RunState,
    pub exit_code: i64,
    pub oom_killed: bool,
    /// `Some(true/false)` when the image has a HEALTHCHECK; `None` without one.
    pub healthy: Option<bool>,
    pub health_starting: bool,
    /// The last HEALTHCHECK outputs, newest last.
    pub health_log: Vec<String>,
    /// Address on the given network, if attached.
    pub ip: Option<IpAddr>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub image_id: String,
}

impl Engine {
    /// Creates and starts a container. On a failed start the container is removed again.
    pub async fn run(&self, spec: &ContainerSpec) -> Result<String> {
        let id = self.create(spec).await?;
        if let Err(e) = self.start(&id).await {
            let _ = self.remove(&id).await;
            return Err(e);
        }
        Ok(id)
    }

    /// Creates a container without starting it.
    pub async fn create(&self, spec: &ContainerSpec) -> Result<String> {
        let mut port_bindings = HashMap::new();
        let mut exposed = Vec::new();
        for (container_port, host_ip, host_port) in &spec.publish {
            let key = format!("{container_port}/tcp");
            exposed.push(key.clone());
            port_bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some(host_ip.clone()),
                    host_port: Some(host_port.to_string()),
                }]),
            );
        }
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.cmd.clone(),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            host_config: Some(HostConfig {
                network_mode: Some(spec.network.clone()),
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                restart_policy: spec.restart_unless_stopped.then_some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    spec.network.clone(),
                    EndpointSettings {
                        aliases: (!spec.aliases.is_empty()).then(|| spec.aliases.clone()),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = self
            .api()
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.fail(format_args!("create container {}", spec.name), e))?;
        Ok(created.id)
    }

    pub async fn start(&self, id: &str) -> Result<()> {
        self.api()
            .start_container(id, None)
            .await
            .map_err(|e| self.fail(format_args!("start container {id}"), e))
    }

    /// Stops a container: SIGTERM, then SIGKILL after `timeout`. Already stopped is fine.
    pub async fn stop(&self, id: &str, timeout: std::time::Duration) -> Result<()> {
        let options = StopContainerOptions {
            t: Some(timeout.as_secs().max(1) as i32),
            signal: None,
        };
        match self.api().stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.fail(format_args!("stop container {id}"), e)),
        }
    }

    /// Removes a container, running or not. Already gone is fine.
    pub async fn remove(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.api().remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // Removal already in progress (a concurrent prune): treat as done.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(self.fail(format_args!("remove container {id}"), e)),
        }
    }

    pub async fn rename(&self, id: &str, name: &str) -> Result<()> {
        let options = RenameContainerOptions {
            name: name.to_string(),
        };
        self.api()
            .rename_container(id, options)
            .await
            .map_err(|e| self.fail(format_args!("rename container {id} to {name}"), e))
    }

    /// Inspects a container; `None` when it does not exist.
    pub async fn inspect(&self, id: &str, network: &str) -> Result<Option<ContainerInfo>> {
        let c = match self
            .api()
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => c,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(self.fail(format_args!("inspect container {id}"), e)),
        };
        let state = c.state.unwrap_or_default();
        let health = state.health.clone();
        let healthy = health.as_ref().and_then(|h| match h.status {
            Some(HealthStatusEnum::HEALTHY) => Some(true),
            Some(HealthStatusEnum::UNHEALTHY) | Some(HealthStatusEnum::STARTING) => Some(false),
            _ => None,
        });
        let health_starting = health
            .as_ref()
            .is_some_and(|h| h.status == Some(HealthStatusEnum::STARTING));
        let health_log = health
            .and_then(|h| h.log)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.output.map(|o| o.trim().to_string()))
            .collect();
        let ip = c
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut n| n.remove(network))
            .and_then(|e| e.ip_address)
            .and_then(|ip| ip.parse().ok());
        let run_state = match state.status {
            Some(ContainerStateStatusEnum::RUNNING) => RunState::Running,
            Some(ContainerStateStatusEnum::CREATED) => RunState::Created,
            Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD) => {
                RunState::Exited
            }
            _ => RunState::Other,
        };
        Ok(Some(ContainerInfo {
            id: c.id.unwrap_or_default(),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            labels: c.config.and_then(|c| c.labels).unwrap_or_default(),
            state: run_state,
            exit_code: state.exit_code.unwrap_or_default(),
            oom_killed: state.oom_killed.unwrap_or_default(),
            healthy,
            health_starting,
            health_log,
            ip,
            started_at: parse_time(state.started_at.as_deref()),
            finished_at: parse_time(state.finished_at.as_deref()),
            image_id: c.image.unwrap_or_default(),
        }))
    }

    /// Ids of all containers (running or not) carrying every `key=value` label given.
    pub async fn list_by_labels(&self, labels: &[(&str, &str)]) -> Result<Vec<String>> {
        let filter = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([("label".to_string(), filter)])),
            ..Default::default()
        };
        let list = self
            .api()
            .list_containers(Some(options))
            .await
            .map_err(|e| self.fail("list containers", e))?;
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }

    /// The last `lines` lines of a container's stdout and stderr.
    pub async fn logs_tail(&self, id: &str, lines: usize) -> Vec<String> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let mut stream = self.api().logs(id, Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        let all: Vec<String> = text.lines().map(str::to_string).collect();
        all[all.len().saturating_sub(lines)..].to_vec()
    }

    /// Writes one file into a container (created or running) through the archive API.
    pub async fn upload_file(&self, id: &str, path: &str, contents: &[u8]) -> Result<()> {
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(Utc::now().timestamp().max(0) as u64);
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_data(&mut header, file, contents)
            .and_then(|_| builder.finish())
            .map_err(|e| crate::error::Error::router(format!("cannot pack {path}: {e}")))?;
        let tar = builder.into_inner().unwrap_or_default();
        let options = UploadToContainerOptions {
            path: if dir.is_empty() {
                "/".into()
            } else {
                dir.into()
            },
            ..Default::default()
        };
        self.api()
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| self.fail(format_args!("write {path} into container {id}"), e))
    }

    /// The image's id (`sha256:…`) and repo digest if it has one; `None` when absent.
    pub async fn image_ids(&self, image: &str) -> Result<Option<(String, Option<String>)>> {
        match self.api().inspect_image(image).await {
            Ok(i) => Ok(Some((
                i.id.unwrap_or_default(),
                i.repo_digests.and_then(|d| d.into_iter().next()),
            ))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.fail(format_args!("inspect image {image}"), e)),
        }
    }
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s?).ok()?.with_timezone(&Utc);
    // Docker reports "0001-01-01T00:00:00Z" for never.
    (t.timestamp() > 0).then_some(t)
}
