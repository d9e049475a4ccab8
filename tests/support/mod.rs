//! Test support: a real service on the real Docker engine behind a real router, driven
//! through the real binary. Every container, network and process a test makes carries the
//! test's unique service name and is removed when the test's [`Service`] drops.

#![allow(dead_code)]

pub mod act;
pub mod github;
pub mod grafana;
pub mod host_router;
pub mod http;
pub mod images;
pub mod loopback;
pub mod registry;
pub mod release_server;
pub mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub use http::{Answer, get};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_deploy-action")
}

/// Panics when Docker is missing: a test that needs it must fail, not skip.
pub fn require_docker() {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    match ok {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "these tests need a running Docker engine (`docker info` failed); .ci/run installs one"
        ),
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Haproxy,
    Nginx,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Haproxy => "haproxy",
            Kind::Nginx => "nginx",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Container,
    Host,
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One service under test, with its own name, config, port and router.
pub struct Service {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub kind: Kind,
    pub mode: Mode,
    host_router: Option<host_router::HostRouter>,
    extra: String,
}

impl Service {
    pub fn new(kind: Kind, mode: Mode) -> Self {
        Self::build(kind, mode, true)
    }

    /// HAProxy on the host, set up with the README's snippet minus its `use-server` lines, as
    /// a config written before the tool staged releases.
    pub fn haproxy_on_the_host_without_pins() -> Self {
        Self::build(Kind::Haproxy, Mode::Host, false)
    }

    fn build(kind: Kind, mode: Mode, pins: bool) -> Self {
        require_docker();
        images::ensure();
        let name = format!(
            "t{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            kind.name()
        );
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let host_router = match mode {
            Mode::Host => Some(host_router::HostRouter::start(
                kind,
                &name,
                port,
                dir.path(),
                pins,
            )),
            Mode::Container => None,
        };
        let s = Service {
            name,
            dir,
            port,
            kind,
            mode,
            host_router,
            extra: String::new(),
        };
        s.write_config();
        s
    }

    pub fn haproxy() -> Self {
        Self::new(Kind::Haproxy, Mode::Container)
    }

    /// Adds TOML lines (whole tables) to the config.
    pub fn with_config(mut self, toml: &str) -> Self {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self.write_config();
        self
    }

    /// Adds one `key = value` line to `table` (`target`, `router`) of the written config.
    pub fn set_key(&self, table: &str, line: &str) {
        let path = self.config_path();
        let text = std::fs::read_to_string(&path).unwrap();
        let head = format!("[{table}]\n");
        assert!(text.contains(&head), "no [{table}] in {text}");
        std::fs::write(&path, text.replacen(&head, &format!("{head}{line}\n"), 1)).unwrap();
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("deploy.toml")
    }

    fn write_config(&self) {
        let router = match (self.mode, &self.host_router) {
            (Mode::Container, _) => format!(
                "kind = \"{}\"\nmode = \"container\"\nlisten = \"127.0.0.1:{}\"\nimage = \"{}\"\n",
                self.kind.name(),
                self.port,
                images::router(self.kind)
            ),
            (Mode::Host, Some(h)) => h.router_config(),
            (Mode::Host, None) => unreachable!(),
        };
        let mut tables = String::new();
        // Tests override whole tables; the defaults below keep runs fast.
        if !self.extra.contains("[health]") {
            tables.push_str("[health]\ninterval = \"200ms\"\nsuccesses = 2\ndeadline = \"20s\"\n");
        }
        if !self.extra.contains("[deploy]") {
            tables.push_str("[deploy]\ndrain = \"300ms\"\nstop_timeout = \"2s\"\n");
        }
        let text = format!(
            "service = \"{}\"\n\n[target]\nport = 8080\nlabels = {{ \"deploy-action.test\" = \"1\" }}\n\n[router]\n{router}\n{tables}{}",
            self.name, self.extra
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--config").arg(self.config_path()).args(args);
        c.env_remove("GITHUB_ACTIONS")
            .env_remove("DEPLOY_ACTION_CONFIG")
            .env("CI", "true");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    pub fn deploy(&self, image: &str) -> Run {
        self.run(&["deploy", "--image", image])
    }

    pub fn releases(&self) -> serde_json::Value {
        let run = self.run(&["--json", "releases"]);
        run.success();
        run.json()["releases"].clone()
    }

    /// `(release, version, state)` of every release, newest first.
    pub fn history(&self) -> Vec<(u64, String, String)> {
        self.releases()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["release"].as_u64().unwrap(),
                    r["version"].as_str().unwrap().to_string(),
                    r["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// GET through the router.
    pub fn get(&self, path: &str) -> Answer {
        get(self.port, path)
    }

    /// Names of this service's containers (running or not).
    pub fn containers(&self) -> Vec<String> {
        self.names(&["-a"])
    }

    /// Names of this service's running containers.
    pub fn running(&self) -> Vec<String> {
        self.names(&[])
    }

    fn names(&self, flags: &[&str]) -> Vec<String> {
        let out = Command::new("docker")
            .arg("ps")
            .args(flags)
            .args(["--format", "{{.Names}}", "--filter"])
            .arg(format!("label=deploy-action.service={}", self.name))
            .output()
            .unwrap();
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let ids = Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=deploy-action.service={}", self.name))
            .output();
        if let Ok(ids) = ids {
            let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .args(["rm", "-f", "-v"])
                    .args(&ids)
                    .output();
            }
        }
        let _ = Command::new("docker")
            .args(["network", "rm"])
            .arg(format!("deploy-action-{}", self.name))
            .output();
    }
}

/// Polls `check` every 50 ms until it holds or `secs` pass.
#[track_caller]
pub fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out after {secs}s waiting for: {what}");
}

/// A file's content inside a container (running or not), through `docker cp`.
pub fn container_file(container: &str, path: &str) -> String {
    let out = Command::new("docker")
        .args(["cp", &format!("{container}:{path}"), "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker cp {container}:{path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    text
}
