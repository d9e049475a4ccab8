//! HAProxy, driven through its runtime API: a switch changes server addresses, weights and
//! states in place. Nothing reloads, so keep-alive clients never see a closed connection.
//!
//! The backend is a fixed set of server slots (`server-template`); the tool fills a free slot
//! with a release's address, sets it `ready`, and sets the old one to `drain`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::container::Launch;
use super::{Backend, CONTAINER_LISTEN_PORT, PIN_HEADER, Place, Router, Staged};
use crate::config::Config;
use crate::error::{Error, Result};

mod runtime;

use runtime::{CONTAINER_SOCKET, Runtime};

const CONFIG_PATH: &str = "/usr/local/etc/haproxy/haproxy.cfg";

pub struct Haproxy {
    place: Place,
    socket: PathBuf,
    backend: String,
    slots: u16,
    url: String,
    /// The slots as last read. Within one step the tool is HAProxy's only writer, and each
    /// write reads the state back in the same call, so reads cost no runtime API call.
    state: Option<Vec<Slot>>,
    runtime: Runtime,
    /// The routes last written to the container's haproxy.cfg by this process.
    persisted: Option<String>,
}

/// One server slot as `show servers state` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    name: String,
    addr: Option<SocketAddr>,
    weight: u32,
    maint: bool,
    drain: bool,
}

impl Slot {
    fn is_free(&self) -> bool {
        self.maint
    }
    fn is_active(&self) -> bool {
        !self.maint && !self.drain && self.weight > 0
    }
}

impl Haproxy {
    pub fn new(config: &Config, place: Place, url: String) -> Self {
        Self {
            place,
            socket: PathBuf::from(&config.router.admin_socket),
            backend: config
                .router
                .backend
                .clone()
                .filter(|b| !b.is_empty())
                .unwrap_or(config.service.clone()),
            slots: config.router.slots,
            url,
            state: None,
            runtime: Runtime::default(),
            persisted: None,
        }
    }

    async fn slots(&mut self) -> Result<Vec<Slot>> {
        match &self.state {
            Some(slots) => Ok(slots.clone()),
            None => Ok(self.apply(Vec::new()).await?.1),
        }
    }

    /// Runs `commands`, then reads the state back in the same runtime API call (one line
    /// on the open session). Returns the commands' answer and the new state.
    async fn apply(&mut self, mut commands: Vec<String>) -> Result<(String, Vec<Slot>)> {
        self.state = None;
        commands.push(format!("show servers state {}", self.backend));
        let answer = self
            .runtime
            .call(&self.place, &self.socket, &commands)
            .await?;
        let (said, state) = split_state(&answer);
        let slots = parse_servers_state(state).ok_or_else(|| {
            Error::router(format!(
                "haproxy has no usable backend `{}`: {}",
                self.backend,
                state.lines().next().unwrap_or("").trim()
            ))
        })?;
        self.state = Some(slots.clone());
        Ok((said.to_string(), slots))
    }

    /// The full haproxy.cfg for the router container, with the given slots.
    fn render_config(&self, slots: &[Slot]) -> String {
        let mut cfg = self.config_head();
        for i in 0..self.slots as usize {
            let name = format!("s{}", i + 1);
            // Only the servers taking new requests: a router restarted while a release
            // drains sends nothing to it.
            match slots
                .iter()
                .find(|s| s.name == name && s.is_active() && s.addr.is_some())
            {
                Some(Slot {
                    addr: Some(addr),
                    weight,
                    ..
                }) => cfg.push_str(&format!("    server {name} {addr} weight {weight}\n")),
                _ => cfg.push_str(&format!("    server {name} 127.0.0.1:1 disabled\n")),
            }
        }
        cfg
    }

    /// Everything in haproxy.cfg but the server lines.
    fn config_head(&self) -> String {
        let mut head = format!(
            "# Written by deploy-action. Routes change through the runtime API; this file only
# restores them if the router restarts.
global
    stats socket {CONTAINER_SOCKET} mode 600 level admin
    stats timeout 30s

defaults
    mode http
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout http-request 15s
    timeout http-keep-alive 60s
    # A connection refused by a release that is going away is retried on another one.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend web
    bind :{CONTAINER_LISTEN_PORT}
    default_backend {backend}

backend {backend}
    balance roundrobin
    http-response set-header X-Deploy-Backend %si:%sp
    # The tool checks a staged release (weight 0) through the router by naming its slot.
",
            backend = self.backend
        );
        for i in 1..=self.slots {
            head.push_str(&format!(
                "    use-server s{i} if {{ req.hdr({PIN_HEADER}) -m str s{i} }}\n"
            ));
        }
        head
    }

    /// Writes the routes into the container's haproxy.cfg, so a restarted router keeps them.
    /// Skipped when this process already wrote the same routes (the archive API starts a
    /// process in the engine, which a busy host's clients feel).
    async fn persist(&mut self, slots: &[Slot]) -> Result<()> {
        if let Place::Container(c) = &self.place {
            let config = self.render_config(slots);
            if self.persisted.as_ref() != Some(&config) {
                c.write(CONFIG_PATH, &config).await?;
                self.persisted = Some(config);
            }
        }
        Ok(())
    }
}

impl Router for Haproxy {
    async fn prepare(&mut self) -> Result<()> {
        let launch = Launch {
            entrypoint: vec!["haproxy".into()],
            cmd: vec!["-W".into(), "-db".into(), "-f".into(), CONFIG_PATH.into()],
            fixed: self.config_head(),
            files: vec![(CONFIG_PATH.into(), self.render_config(&[]))],
        };
        if let Place::Container(c) = &mut self.place {
            c.ensure(&launch).await?;
        }
        // A session or a written config from before belongs to what was there then.
        self.runtime = Runtime::default();
        self.persisted = None;
        // The runtime API answers once haproxy has bound its sockets.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            self.state = None;
            match self.slots().await {
                Ok(slots) if slots.len() < 2 => {
                    return Err(Error::router(format!(
                        "haproxy backend `{}` has {} server slot(s); it needs at least 2 \
                         (e.g. `server-template s 1-8 127.0.0.1:1 disabled`)",
                        self.backend,
                        slots.len()
                    )));
                }
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn attach(&mut self) -> Result<bool> {
        self.place.attach().await
    }

    async fn active(&mut self) -> Result<Vec<Backend>> {
        Ok(self
            .slots()
            .await?
            .into_iter()
            .filter(Slot::is_active)
            .filter_map(|s| {
                Some(Backend {
                    addr: s.addr?,
                    weight: s.weight,
                })
            })
            .collect())
    }

    async fn stage(&mut self, backends: &[Backend]) -> Result<Option<Vec<Staged>>> {
        let slots = self.slots().await?;
        let Some((commands, staged)) = plan_stage(&self.backend, &slots, backends) else {
            // No free slot: `route` says so.
            return Ok(None);
        };
        if commands.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let (answer, after) = self.apply(commands).await?;
        for s in &staged {
            if !after
                .iter()
                .any(|slot| slot.name == s.pin && slot.addr == Some(s.addr) && !slot.maint)
            {
                return Err(Error::router(format!(
                    "haproxy did not take the staged route to {}: {}",
                    s.addr,
                    answer.trim()
                )));
            }
        }
        Ok(Some(staged))
    }

    async fn route(&mut self, backends: &[Backend]) -> Result<()> {
        let slots = self.slots().await?;
        let plan = plan_route(&self.backend, &slots, backends).ok_or_else(|| {
            Error::router(format!(
                "haproxy backend `{}` has no free server slot for {} backend(s); raise router.slots",
                self.backend,
                backends.len()
            ))
        })?;
        // Read back: the answer text varies by version, the state does not.
        let (answer, after) = self.apply(plan).await?;
        for b in backends {
            if !after
                .iter()
                .any(|s| s.addr == Some(b.addr) && s.is_active() && s.weight == b.weight)
            {
                return Err(Error::router(format!(
                    "haproxy did not take the route to {}: {}",
                    b.addr,
                    answer.trim()
                )));
            }
        }
        Ok(())
    }

    async fn save(&mut self) -> Result<()> {
        let slots = self.slots().await?;
        self.persist(&slots).await
    }

    async fn forget_inactive(&mut self) -> Result<()> {
        let slots = self.slots().await?;
        let commands: Vec<String> = slots
            .iter()
            .filter(|s| !s.maint && !s.is_active())
            .map(|s| format!("set server {}/{} state maint", self.backend, s.name))
            .collect();
        if commands.is_empty() {
            return Ok(());
        }
        let (_, after) = self.apply(commands).await?;
        self.persist(&after).await
    }

    async fn settle(&mut self, backends: &[Backend]) -> Result<()> {
        // Read HAProxy itself, not the state kept since the switch: a router restarted
        // during the drain runs the config saved before the switch.
        self.state = None;
        let live = self.active().await?;
        let missing: Vec<SocketAddr> = backends
            .iter()
            .filter(|b| !live.contains(b))
            .map(|b| b.addr)
            .collect();
        if !missing.is_empty() || live.len() != backends.len() {
            tracing::warn!(
                "the router no longer routes to {missing:?} (restarted since the switch?); \
                 routing to them again"
            );
            self.route(backends).await?;
        }
        self.forget_inactive().await?;
        self.save().await
    }

    fn url(&self) -> &str {
        &self.url
    }

    async fn network_url(&self) -> Result<Option<String>> {
        self.place.network_url().await
    }
}

/// The runtime API commands that send new requests to exactly `backends`: first every target
/// is made ready (a free slot is filled for a new address), then every other slot drains.
fn plan_route(backend: &str, slots: &[Slot], backends: &[Backend]) -> Option<Vec<String>> {
    let mut ready = Vec::new();
    let assigned = assign(slots, backends)?;
    let used: Vec<&str> = assigned.iter().map(|(_, s)| s.name.as_str()).collect();
    for (b, slot) in &assigned {
        ready.extend(fill(backend, slot, b.addr, b.weight));
    }
    let drain = slots
        .iter()
        .filter(|s| !s.maint && !used.contains(&s.name.as_str()))
        .map(|s| format!("set server {backend}/{} state drain", s.name));
    ready.extend(drain);
    Some(ready)
}

/// The runtime API commands that make `slot` a ready server for `addr` at `weight`: its
/// address when it has another one, then the weight, then the state.
fn fill(backend: &str, slot: &Slot, addr: SocketAddr, weight: u32) -> Vec<String> {
    let server = format!("{backend}/{}", slot.name);
    let mut commands = Vec::new();
    if slot.addr != Some(addr) {
        commands.push(format!(
            "set server {server} addr {} port {}",
            addr.ip(),
            addr.port()
        ));
    }
    commands.push(format!("set server {server} weight {weight}"));
    commands.push(format!("set server {server} state ready"));
    commands
}

/// The slot each of `backends` goes in: the one that has its address, else a free one that
/// no other of them has. `None` when there are not enough.
fn assign<'a, 'b>(
    slots: &'a [Slot],
    backends: &'b [Backend],
) -> Option<Vec<(&'b Backend, &'a Slot)>> {
    let mut assigned: Vec<(&Backend, &Slot)> = Vec::new();
    for b in backends {
        let taken = |s: &Slot| assigned.iter().any(|(_, t)| t.name == s.name);
        let slot = slots
            .iter()
            .find(|s| s.addr == Some(b.addr) && !taken(s))
            .or_else(|| {
                slots.iter().find(|s| {
                    s.is_free() && !taken(s) && !backends.iter().any(|b| Some(b.addr) == s.addr)
                })
            })?;
        assigned.push((b, slot));
    }
    Some(assigned)
}

/// The runtime API commands that stage `backends` for a switch: each one that takes no new
/// requests now gets a slot (the one it has, else a free one), its address, weight 0 and state
/// `ready`, so that only requests naming the slot reach it. `None` when a slot is missing.
fn plan_stage(
    backend: &str,
    slots: &[Slot],
    backends: &[Backend],
) -> Option<(Vec<String>, Vec<Staged>)> {
    let mut commands = Vec::new();
    let mut staged = Vec::new();
    for (b, slot) in assign(slots, backends)? {
        if slot.is_active() {
            continue;
        }
        commands.extend(fill(backend, slot, b.addr, 0));
        staged.push(Staged {
            addr: b.addr,
            pin: slot.name.clone(),
        });
    }
    Some((commands, staged))
}

/// Splits a runtime API answer into what the commands said and the `show servers state`
/// that ends it (which starts with its format version, `1`, then a `# be_id` header).
fn split_state(answer: &str) -> (&str, &str) {
    let at = answer
        .rmatch_indices("1\n# be_id")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || answer.as_bytes()[i - 1] == b'\n');
    match at {
        Some(i) => (&answer[..i], &answer[i..]),
        None => ("", answer),
    }
}

/// Parses `show servers state <backend>` (format version 1). `None` if it is not that format.
fn parse_servers_state(text: &str) -> Option<Vec<Slot>> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next()? != "1" {
        return None;
    }
    let mut slots = Vec::new();
    for line in lines.filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight
        // srv_iweight … srv_port is field 18.
        if f.len() < 19 {
            continue;
        }
        let admin: u32 = f[6].parse().ok()?;
        let port: u16 = f[18].parse().unwrap_or(0);
        let addr = f[4].parse().ok().map(|ip| SocketAddr::new(ip, port));
        slots.push(Slot {
            name: f[3].to_string(),
            addr,
            weight: f[7].parse().ok()?,
            // Forced, inherited or resolution maintenance (HAProxy's SRV_ADMF_MAINT mask).
            // 0x04 only records that the config said `disabled`; it outlives `state ready`.
            maint: admin & (0x01 | 0x02 | 0x20) != 0,
            drain: admin & (0x08 | 0x10) != 0,
        });
    }
    Some(slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 s1 172.18.0.3 2 0 100 100 12 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
3 app 2 s2 172.18.0.4 2 12 100 100 3 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0
3 app 3 s3 127.0.0.1 0 5 1 1 40 1 0 0 0 0 0 0 - 1 - 0 0 - - 0
";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn servers_state_is_parsed_into_slots() {
        let slots = parse_servers_state(STATE).unwrap();
        assert_eq!(slots.len(), 3);
        assert!(slots[0].is_active());
        assert_eq!(slots[0].addr, Some(addr("172.18.0.3:8080")));
        assert!(slots[1].drain && !slots[1].is_active());
        assert!(slots[2].is_free());
    }

    #[test]
    fn command_answers_are_split_from_the_state_read_back() {
        let answer = format!("IP changed from '127.0.0.1' to '172.18.0.9'\n\n{STATE}");
        let (said, state) = split_state(&answer);
        assert_eq!(said.trim(), "IP changed from '127.0.0.1' to '172.18.0.9'");
        assert_eq!(parse_servers_state(state).unwrap().len(), 3);
        assert_eq!(split_state(STATE), ("", STATE));
    }

    #[test]
    fn an_error_answer_is_not_a_state() {
        assert_eq!(parse_servers_state("Can't find backend.\n"), None);
    }

    #[test]
    fn a_switch_readies_the_new_release_before_draining_the_old() {
        let slots = parse_servers_state(STATE).unwrap();
        let plan = plan_route("app", &slots, &[Backend::full(addr("172.18.0.9:8080"))]).unwrap();
        assert_eq!(
            plan,
            vec![
                "set server app/s3 addr 172.18.0.9 port 8080",
                "set server app/s3 weight 100",
                "set server app/s3 state ready",
                "set server app/s1 state drain",
                "set server app/s2 state drain",
            ]
        );
    }

    #[test]
    fn a_stage_readies_a_new_release_at_weight_zero_in_a_free_slot() {
        let slots = parse_servers_state(STATE).unwrap();
        let new = addr("172.18.0.9:8080");
        let (commands, staged) = plan_stage("app", &slots, &[Backend::full(new)]).unwrap();
        assert_eq!(
            commands,
            vec![
                "set server app/s3 addr 172.18.0.9 port 8080",
                "set server app/s3 weight 0",
                "set server app/s3 state ready",
            ]
        );
        assert_eq!(
            staged,
            vec![Staged {
                addr: new,
                pin: "s3".into()
            }]
        );
        // The switch that follows takes the staged slot.
        let plan = plan_route("app", &slots, &[Backend::full(new)]).unwrap();
        assert_eq!(plan[0], "set server app/s3 addr 172.18.0.9 port 8080");
    }

    #[test]
    fn a_stage_keeps_a_standby_in_its_slot_and_skips_what_already_serves() {
        let slots = parse_servers_state(STATE).unwrap();
        let standby = addr("172.18.0.4:8080");
        let (commands, staged) = plan_stage("app", &slots, &[Backend::full(standby)]).unwrap();
        assert_eq!(
            commands,
            vec![
                "set server app/s2 weight 0",
                "set server app/s2 state ready"
            ]
        );
        assert_eq!(staged[0].pin, "s2");
        let serving = addr("172.18.0.3:8080");
        let (commands, staged) = plan_stage("app", &slots, &[Backend::full(serving)]).unwrap();
        assert!(commands.is_empty() && staged.is_empty());
    }

    #[test]
    fn switching_back_to_a_draining_release_reuses_its_slot() {
        let slots = parse_servers_state(STATE).unwrap();
        let plan = plan_route("app", &slots, &[Backend::full(addr("172.18.0.4:8080"))]).unwrap();
        assert_eq!(plan[0], "set server app/s2 weight 100");
        assert!(plan.contains(&"set server app/s1 state drain".to_string()));
    }

    #[test]
    fn no_free_slot_is_reported() {
        let slots = parse_servers_state(STATE).unwrap();
        let many = [
            Backend::full(addr("10.0.0.1:1")),
            Backend::full(addr("10.0.0.2:1")),
        ];
        assert!(plan_route("app", &slots, &many).is_none());
    }
}
