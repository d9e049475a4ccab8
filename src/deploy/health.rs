//! The health gate: a new release gets traffic only after it proves healthy, by the image's
//! own HEALTHCHECK when it has one, otherwise by an HTTP probe.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::Target;
use crate::docker::RunState;
use crate::error::{Error, Result};

/// Why a release did not become healthy: what the last probe saw.
#[derive(Debug, Clone)]
pub struct Unhealthy {
    pub reason: String,
    pub probe: Option<String>,
}

/// Waits until container `id` is healthy, and gives its address on the service's network as
/// the last look saw it, so the switch needs no further call to the engine (each one costs
/// the host CPU that clients feel). `Ok(Err(_))` means the release failed its gate; `Err(_)`
/// means the tool could not find out (Docker failed, or a signal arrived).
pub async fn wait_healthy(
    target: &Target,
    id: &str,
) -> Result<std::result::Result<Option<IpAddr>, Unhealthy>> {
    let cfg = &target.config.health;
    let deadline = Instant::now() + cfg.deadline.get();
    let mut streak = 0;
    let mut last_probe: Option<String> = None;
    // Probes are plain HTTP to the release's address.
    let client = crate::http::plain_client_builder()
        .timeout(cfg.timeout.get())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| Error::Usage(format!("cannot build an HTTP client: {e}")))?;
    loop {
        target.cancel.check()?;
        let Some(info) = target.engine.inspect(id, &target.network).await? else {
            return Ok(Err(Unhealthy {
                reason: "the container disappeared".into(),
                probe: None,
            }));
        };
        if info.state == RunState::Exited {
            return Ok(Err(Unhealthy {
                reason: format!(
                    "the container exited with code {} before becoming healthy",
                    info.exit_code
                ),
                probe: last_probe,
            }));
        }
        let use_healthcheck = cfg.use_healthcheck && info.healthy.is_some();
        if use_healthcheck {
            last_probe = info.health_log.last().cloned().or(last_probe);
            // Docker's `unhealthy` is not final: a slow starter recovers once it listens.
            // Only the deadline (or the container exiting) ends the wait.
            if info.healthy == Some(true) {
                return Ok(Ok(info.ip));
            }
            if !info.health_starting {
                last_probe = last_probe.map(|p| format!("HEALTHCHECK reports unhealthy: {p}"));
            }
        } else if info.state == RunState::Running {
            if !target.engine.host().is_local() {
                return Err(Error::Usage(format!(
                    "image has no HEALTHCHECK and the engine at {} is remote, so the tool cannot probe \
                     the container over HTTP: add a HEALTHCHECK to the image",
                    target.engine.host().uri
                )));
            }
            let Some(ip) = info.ip else {
                return Ok(Err(Unhealthy {
                    reason: "the container has no address on the network".into(),
                    probe: None,
                }));
            };
            let url = format!(
                "http://{}{}",
                SocketAddr::new(ip, target.config.target.port),
                cfg.path
            );
            match client.get(&url).send().await {
                Ok(resp) if resp.status().as_u16() == cfg.status => {
                    streak += 1;
                    last_probe = Some(format!("GET {url} answered {}", resp.status().as_u16()));
                    if streak >= cfg.successes {
                        return Ok(Ok(Some(ip)));
                    }
                }
                Ok(resp) => {
                    streak = 0;
                    let status = resp.status().as_u16();
                    let body: String = resp
                        .text()
                        .await
                        .unwrap_or_default()
                        .chars()
                        .take(300)
                        .collect();
                    last_probe = Some(format!(
                        "GET {url} answered {status} (expected {}): {}",
                        cfg.status,
                        body.trim()
                    ));
                }
                Err(e) => {
                    streak = 0;
                    last_probe = Some(format!("GET {url} failed: {}", crate::error::chain(&e)));
                }
            }
        }
        if Instant::now() > deadline {
            return Ok(Err(Unhealthy {
                reason: format!("not healthy within {}", target.config.health.deadline),
                probe: last_probe,
            }));
        }
        let pause = if use_healthcheck {
            Duration::from_millis(200)
        } else {
            cfg.interval.get()
        };
        target.cancel.sleep(pause).await?;
    }
}
