//! nginx, for teams that already run it: the tool writes an `upstream` block naming the
//! releases that get traffic, then asks nginx for a graceful reload. A reload replaces the
//! worker processes, so idle keep-alive client connections are closed; clients that reuse
//! such a connection at that moment see an error (docs/benchmarks.md has our measurement).

use std::time::Duration;

use super::container::Launch;
use super::{Backend, CONTAINER_LISTEN_PORT, Place, Router, Staged};
use crate::config::Config;
use crate::error::{Error, Result};

const CONTAINER_CONFIG: &str = "/etc/nginx/nginx.conf";
const CONTAINER_UPSTREAM: &str = "/etc/nginx/conf.d/deploy-action-upstream.conf";

pub struct Nginx {
    place: Place,
    upstream_name: String,
    upstream_file: String,
    reload_command: Vec<String>,
    url: String,
}

impl Nginx {
    pub fn new(config: &Config, place: Place, url: String) -> Self {
        let upstream_file = match place {
            Place::Container(_) => CONTAINER_UPSTREAM.to_string(),
            Place::Host => config.router.upstream_file.clone(),
        };
        Self {
            place,
            upstream_name: config.service.clone(),
            upstream_file,
            reload_command: config.router.reload_command.clone(),
            url,
        }
    }

    fn main_config(&self) -> String {
        format!(
            "# Written by deploy-action.
worker_processes auto;
daemon off;
error_log stderr notice;
pid /tmp/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path /tmp/nginx-client-body;
    proxy_temp_path /tmp/nginx-proxy;
    fastcgi_temp_path /tmp/nginx-fastcgi;
    uwsgi_temp_path /tmp/nginx-uwsgi;
    scgi_temp_path /tmp/nginx-scgi;
    keepalive_timeout 60s;
    include {CONTAINER_UPSTREAM};
    server {{
        listen {CONTAINER_LISTEN_PORT};
        location / {{
            proxy_pass http://{name};
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout http_502;
            add_header X-Deploy-Backend $upstream_addr always;
        }}
    }}
}}
",
            name = self.upstream_name
        )
    }

    async fn read_upstream(&self) -> Result<Option<String>> {
        match &self.place {
            Place::Container(c) => c.read(&self.upstream_file).await,
            Place::Host => match tokio::fs::read_to_string(&self.upstream_file).await {
                Ok(t) => Ok(Some(t)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::router(format!(
                    "cannot read {}: {e}",
                    self.upstream_file
                ))),
            },
        }
    }

    async fn write_upstream(&self, text: &str) -> Result<()> {
        match &self.place {
            Place::Container(c) => c.write(&self.upstream_file, text).await,
            Place::Host => {
                // Write beside, then rename: nginx never reads a half-written file.
                let tmp = format!("{}.deploy-action.tmp", self.upstream_file);
                tokio::fs::write(&tmp, text)
                    .await
                    .and(tokio::fs::rename(&tmp, &self.upstream_file).await)
                    .map_err(|e| Error::router(format!("cannot write {}: {e}", self.upstream_file)))
            }
        }
    }

    async fn reload(&self) -> Result<()> {
        let (code, output) = match &self.place {
            Place::Container(c) => {
                let out = c.exec(&["nginx", "-s", "reload"], None).await?;
                (out.exit_code, out.output)
            }
            Place::Host => {
                let (program, args) = self
                    .reload_command
                    .split_first()
                    .ok_or_else(|| Error::Usage("router.reload_command is empty".into()))?;
                let out = tokio::time::timeout(
                    Duration::from_secs(30),
                    tokio::process::Command::new(program).args(args).output(),
                )
                .await
                .map_err(|_| Error::router("the nginx reload command did not finish within 30s"))?
                .map_err(|e| {
                    Error::router(format!(
                        "cannot run `{}`: {e}",
                        self.reload_command.join(" ")
                    ))
                })?;
                let text = String::from_utf8_lossy(&out.stderr).into_owned()
                    + &String::from_utf8_lossy(&out.stdout);
                (out.status.code().unwrap_or(-1) as i64, text)
            }
        };
        if code != 0 {
            return Err(Error::router(format!(
                "nginx reload failed (exit {code}): {}",
                output.trim()
            )));
        }
        Ok(())
    }
}

impl Router for Nginx {
    async fn prepare(&mut self) -> Result<()> {
        let initial = render_upstream(&self.upstream_name, &[]);
        let launch = Launch {
            entrypoint: vec!["nginx".into()],
            cmd: vec!["-c".into(), CONTAINER_CONFIG.into()],
            fixed: self.main_config(),
            files: vec![
                (CONTAINER_CONFIG.into(), self.main_config()),
                (CONTAINER_UPSTREAM.into(), initial.clone()),
            ],
        };
        match &mut self.place {
            Place::Container(c) => {
                c.ensure(&launch).await?;
            }
            Place::Host => {
                if self.read_upstream().await?.is_none() {
                    self.write_upstream(&initial).await?;
                    self.reload().await?;
                }
            }
        }
        Ok(())
    }

    async fn attach(&mut self) -> Result<bool> {
        self.place.attach().await
    }

    async fn active(&mut self) -> Result<Vec<Backend>> {
        Ok(self
            .read_upstream()
            .await?
            .map(|t| parse_upstream(&t))
            .unwrap_or_default())
    }

    /// nginx reaches only the servers of its upstream, and changing that takes a reload:
    /// nothing is staged, and a new release is first checked after the switch.
    async fn stage(&mut self, _backends: &[Backend]) -> Result<Option<Vec<Staged>>> {
        Ok(None)
    }

    async fn route(&mut self, backends: &[Backend]) -> Result<()> {
        let previous = self.read_upstream().await?;
        self.write_upstream(&render_upstream(&self.upstream_name, backends))
            .await?;
        if let Err(e) = self.reload().await {
            if let Some(previous) = previous {
                let _ = self.write_upstream(&previous).await;
            }
            return Err(e);
        }
        Ok(())
    }

    /// The upstream file `route` writes is what a restarted nginx reads: nothing to do.
    async fn save(&mut self) -> Result<()> {
        Ok(())
    }

    async fn forget_inactive(&mut self) -> Result<()> {
        // A backend left out of the upstream block is already forgotten by the reload.
        Ok(())
    }

    /// The upstream file holds exactly the routes `route` wrote, and a restarted nginx
    /// reads it: the switch is settled as soon as it is made.
    async fn settle(&mut self, _backends: &[Backend]) -> Result<()> {
        Ok(())
    }

    fn url(&self) -> &str {
        &self.url
    }

    async fn network_url(&self) -> Result<Option<String>> {
        self.place.network_url().await
    }
}

/// The upstream block; with no backend, a placeholder that is down keeps the config valid.
fn render_upstream(name: &str, backends: &[Backend]) -> String {
    let mut out =
        format!("# Written by deploy-action: the releases that get traffic.\nupstream {name} {{\n");
    let live: Vec<_> = backends.iter().filter(|b| b.weight > 0).collect();
    if live.is_empty() {
        out.push_str("    server 127.0.0.1:1 down;\n");
    }
    for b in live {
        out.push_str(&format!("    server {} weight={};\n", b.addr, b.weight));
    }
    out.push_str("    keepalive 32;\n}\n");
    out
}

fn parse_upstream(text: &str) -> Vec<Backend> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("server "))
        .filter(|l| !l.contains(" down"))
        .filter_map(|l| {
            let mut parts = l.trim_end_matches(';').split_whitespace();
            let addr = parts.next()?.parse().ok()?;
            let weight = parts
                .find_map(|p| p.strip_prefix("weight="))
                .and_then(|w| w.parse().ok())
                .unwrap_or(1);
            Some(Backend { addr, weight })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_round_trips() {
        let b = [Backend {
            addr: "172.18.0.3:8080".parse().unwrap(),
            weight: 100,
        }];
        let text = render_upstream("hello", &b);
        assert!(text.contains("upstream hello {"));
        assert_eq!(parse_upstream(&text), b);
    }

    #[test]
    fn an_empty_upstream_stays_valid_and_routes_nothing() {
        let text = render_upstream("hello", &[]);
        assert!(text.contains("server 127.0.0.1:1 down;"));
        assert!(parse_upstream(&text).is_empty());
    }
}
