//! The typed shape of `deploy.toml`. Every key has a default except `service`;
//! README.md documents each one, and a test below keeps it from falling
//! behind. Loading and error reporting start in `load.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::duration::Duration;

/// A whole `deploy.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the service: prefixes containers, the router backend and labels.
    pub service: String,
    /// The environment this file deploys to (`staging`, `production`): names the default
    /// lock and appears in approval requests.
    #[serde(default = "default_environment")]
    pub environment: String,
    #[serde(default)]
    pub target: TargetConfig,
    #[serde(default)]
    pub router: RouterConfig,
    #[serde(default)]
    pub health: HealthConfig,
    #[serde(default)]
    pub deploy: DeployConfig,
    /// How `build` makes the image. Absent: `run` skips the build step.
    pub build: Option<BuildConfig>,
    /// The vulnerability gate `scan` applies. Absent: `run` skips the scan step.
    pub scan: Option<ScanConfig>,
    /// The deploy lock `lock` takes. Absent: the `file` backend with its defaults, and
    /// `run` skips the lock step.
    pub lock: Option<LockConfig>,
    /// Who must approve a release, and how `approve` asks. Absent: `run` skips approval.
    pub approval: Option<ApprovalConfig>,
    /// The checks `smoke` runs after a deploy. None: `run` skips the smoke step.
    #[serde(default)]
    pub smoke: Vec<super::SmokeCheck>,
    /// Where `annotate` writes. Absent: no Grafana annotations.
    pub grafana: Option<super::GrafanaConfig>,
}

impl Config {
    /// The config of a service with every default, for commands run without a deploy.toml.
    pub fn minimal(service: &str) -> Self {
        Self {
            service: service.into(),
            environment: default_environment(),
            target: TargetConfig::default(),
            router: RouterConfig::default(),
            health: HealthConfig::default(),
            deploy: DeployConfig::default(),
            build: None,
            scan: None,
            lock: None,
            approval: None,
            smoke: Vec::new(),
            grafana: None,
        }
    }
}

fn default_environment() -> String {
    "production".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    #[default]
    Docker,
}

/// Where releases run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetConfig {
    pub kind: TargetKind,
    /// Engine address (`unix://…`, `tcp://…`, `ssh://…`); empty means `DOCKER_HOST`, then the local socket.
    pub host: Option<String>,
    /// The docker network the tool manages for the service and its router.
    /// Empty means `deploy-action-<service>`.
    pub network: Option<String>,
    /// The port the application listens on inside its container.
    pub port: u16,
    /// Environment passed to every release container.
    pub env: BTreeMap<String, String>,
    /// Names of variables copied from the tool's own environment into the container (secrets).
    pub env_from_host: Vec<String>,
    /// Extra labels on every release container.
    pub labels: BTreeMap<String, String>,
}

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            kind: TargetKind::Docker,
            host: None,
            network: None,
            port: 8080,
            env: BTreeMap::new(),
            env_from_host: Vec::new(),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RouterKind {
    #[default]
    Haproxy,
    Nginx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RouterMode {
    /// The tool owns a router container on its managed network.
    #[default]
    Container,
    /// A router already running on the same machine as the tool.
    Host,
}

/// The traffic switch in front of the releases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    pub kind: RouterKind,
    pub mode: RouterMode,
    /// Container mode: the router image. Empty means `haproxy:lts` or `nginx:stable-alpine`.
    pub image: Option<String>,
    /// Container mode: the host address the router publishes its listener on.
    pub listen: String,
    /// URL through which the tool verifies each switch and users reach the service.
    /// Empty means `http://<engine host>:<listen port>`.
    pub url: Option<String>,
    /// Host mode, haproxy: the runtime API socket (`level admin`).
    pub admin_socket: String,
    /// Host mode, haproxy: the backend whose servers the tool drives.
    /// Empty means the service name.
    pub backend: Option<String>,
    /// Host mode, nginx: the file the tool writes the `upstream` block into.
    pub upstream_file: String,
    /// Host mode, nginx: the command that gracefully reloads nginx.
    pub reload_command: Vec<String>,
    /// Number of server slots in the haproxy backend (upper bound on releases routed at once).
    pub slots: u16,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            kind: RouterKind::Haproxy,
            mode: RouterMode::Container,
            image: None,
            listen: "127.0.0.1:8000".to_string(),
            url: None,
            admin_socket: "/run/haproxy/admin.sock".to_string(),
            backend: None,
            upstream_file: "/etc/nginx/conf.d/deploy-action-upstream.conf".to_string(),
            reload_command: vec!["nginx".into(), "-s".into(), "reload".into()],
            slots: 8,
        }
    }
}

/// How a new release proves it is ready before it gets traffic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Use the image's HEALTHCHECK when it has one (otherwise, or when false, probe over HTTP).
    pub use_healthcheck: bool,
    /// HTTP probe path.
    pub path: String,
    /// Expected HTTP status of the probe.
    pub status: u16,
    /// Time between probes.
    pub interval: Duration,
    /// Timeout of one probe.
    pub timeout: Duration,
    /// Consecutive successes needed.
    pub successes: u32,
    /// Overall deadline for a release to become healthy.
    pub deadline: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            use_healthcheck: true,
            path: "/health".to_string(),
            status: 200,
            interval: Duration::from_millis(500),
            timeout: Duration::from_secs(2),
            successes: 2,
            deadline: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    BlueGreen,
    Rolling,
}

/// How a release replaces the one serving.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeployConfig {
    /// `blue-green` or `rolling`. With `replicas > 1` the rollout is rolling, one replica
    /// at a time, whatever this says.
    pub strategy: Strategy,
    pub replicas: u16,
    /// How long the old release keeps finishing in-flight requests after the switch.
    pub drain: Duration,
    /// How long the old release stays running as a warm standby for instant rollback.
    pub standby: Duration,
    /// How many stopped releases to keep for rollback; older ones are pruned.
    pub keep_releases: u16,
    /// Requests sent through the router after a switch to verify the new release answers.
    pub verify_requests: u32,
    /// Path requested through the router after a switch; any answer below 500 from the
    /// intended release passes.
    pub verify_path: String,
    /// Timeout for stopping a container (SIGTERM, then SIGKILL).
    pub stop_timeout: Duration,
    /// GitHub deployment records: whether end users use this environment. Empty means
    /// `environment == "production"`.
    pub production_environment: Option<bool>,
    /// GitHub deployment records: the environment goes away after this deployment (a
    /// review app); GitHub shows it destroyed once inactive.
    pub transient_environment: bool,
    /// GitHub deployment records: where users reach this environment. Empty means the
    /// router's URL.
    pub environment_url: Option<String>,
}

impl DeployConfig {
    /// Whether `environment` is one end users use: `production_environment`, else whether
    /// it is called `production` (GitHub's own default).
    pub fn is_production(&self, environment: &str) -> bool {
        self.production_environment
            .unwrap_or(environment == "production")
    }
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            strategy: Strategy::BlueGreen,
            replicas: 1,
            drain: Duration::from_secs(2),
            standby: Duration::from_secs(15 * 60),
            keep_releases: 5,
            verify_requests: 3,
            verify_path: "/".to_string(),
            stop_timeout: Duration::from_secs(10),
            production_environment: None,
            transient_environment: false,
            environment_url: None,
        }
    }
}

/// How `build` makes the image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuildConfig {
    /// Image repository to tag and push, without a tag (`registry:5000/team/shop`).
    /// Empty means the service name.
    pub image: Option<String>,
    /// The build context directory, relative to the config file.
    pub context: String,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
    /// Build arguments (`--build-arg`).
    pub args: BTreeMap<String, String>,
    /// The stage to build (`--target`). Empty builds the last stage.
    pub target: Option<String>,
    /// Platform to build for (`linux/amd64`). Empty means the engine's.
    pub platform: Option<String>,
    /// Extra labels on the image, besides the OCI ones the tool adds.
    pub labels: BTreeMap<String, String>,
    /// Push the tags to the image's registry.
    pub push: bool,
    /// Also tag a stable release `latest`.
    pub latest: bool,
}

impl Default for BuildConfig {
    fn default() -> Self {
        Self {
            image: None,
            context: ".".to_string(),
            dockerfile: "Dockerfile".to_string(),
            args: BTreeMap::new(),
            target: None,
            platform: None,
            labels: BTreeMap::new(),
            push: false,
            latest: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ReportFormat {
    /// Detected from the report's content.
    #[default]
    Auto,
    Trivy,
    Grype,
    Sarif,
}

/// The vulnerability gate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// The report's format; `auto` detects Trivy JSON, Grype JSON or SARIF 2.1.0.
    pub format: ReportFormat,
    /// Severities that fail the gate (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `UNKNOWN`).
    pub fail_on: Vec<String>,
    /// Findings with no fixed version do not fail the gate.
    pub ignore_unfixed: bool,
    /// Most findings allowed per severity before the gate fails (`{ MEDIUM = 10 }`),
    /// on top of `fail_on`.
    pub max: BTreeMap<String, u64>,
    /// An ignore file: `.trivyignore` lines (`ID exp:YYYY-MM-DD`) or `.trivyignore.yaml`.
    /// Relative to the config file.
    pub ignore_file: Option<String>,
    /// For `run`: the scanner to run on the built image, as an argument list; `{image}` is
    /// replaced by the image reference and its standard output is the report. Empty: `run`
    /// takes the report from `--report`.
    pub command: Vec<String>,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            format: ReportFormat::Auto,
            fail_on: vec!["CRITICAL".into(), "HIGH".into()],
            ignore_unfixed: false,
            max: BTreeMap::new(),
            ignore_file: None,
            command: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LockBackendKind {
    /// A state file under an OS file lock: processes on one machine.
    #[default]
    File,
    /// A git ref in a GitHub repository, moved by compare-and-swap: any runner.
    Github,
}

/// The deploy lock: one deploy of a service and environment at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockConfig {
    pub backend: LockBackendKind,
    /// The lock's name. Empty means `<service>-<environment>`.
    pub name: Option<String>,
    /// How long a holder's lease lasts without renewal; a holder that died frees the
    /// lock after this.
    pub ttl: Duration,
    /// The longest `lock acquire` waits for the lock (exit 4 after).
    pub timeout: Duration,
    /// How often a waiter checks the lock. Empty: `250ms` for `file`, `10s` for `github`
    /// (conditional requests: a check that finds nothing new costs no rate limit).
    pub poll: Option<Duration>,
    /// `file`: the directory of lock files. Empty: `$TMPDIR/deploy-action-locks`.
    pub dir: Option<String>,
    /// `github`: the repository that holds the lock refs (`owner/name`). Empty means
    /// `GITHUB_REPOSITORY`; several repositories can share one lock repository.
    pub repository: Option<String>,
    /// `github`: the branch that holds lock `<name>` is `<branch_prefix><name>`.
    pub branch_prefix: String,
    /// `github`: the environment variable that holds the API token.
    pub token_env: String,
}

impl Default for LockConfig {
    fn default() -> Self {
        Self {
            backend: LockBackendKind::File,
            name: None,
            ttl: Duration::from_secs(10 * 60),
            timeout: Duration::from_secs(30 * 60),
            poll: None,
            dir: None,
            repository: None,
            branch_prefix: "deploy-lock/".into(),
            token_env: "GITHUB_TOKEN".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalBackendKind {
    /// A prompt on the terminal (`--yes` for scripts).
    #[default]
    Tty,
    /// An issue that approvers answer with a comment.
    GithubIssue,
    /// GitHub's environment protection rules gate the job; this records who approved.
    GithubEnvironment,
}

/// Human approval before a release.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalConfig {
    pub backend: ApprovalBackendKind,
    /// `github-issue`: users (`alice`) and organisation teams (`acme/ops`) whose comments count.
    pub approvers: Vec<String>,
    /// Approvals needed; one denial denies.
    pub min_approvals: u32,
    /// The person who started the run (`GITHUB_ACTOR`) cannot approve it.
    pub exclude_initiator: bool,
    /// A comment whose first word is one of these approves (case-insensitive).
    pub approve_words: Vec<String>,
    /// A comment whose first word is one of these denies.
    pub deny_words: Vec<String>,
    /// How long to wait for a decision; then the request is closed and fails (exit 4).
    pub timeout: Duration,
    /// How often to check for new comments (conditional requests: no change costs nothing).
    pub poll: Duration,
    /// The repository for approval issues. Empty means `GITHUB_REPOSITORY`.
    pub repository: Option<String>,
    /// Labels put on the approval issue.
    pub labels: Vec<String>,
    /// The environment variable that holds the API token.
    pub token_env: String,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        Self {
            backend: ApprovalBackendKind::Tty,
            approvers: Vec::new(),
            min_approvals: 1,
            exclude_initiator: false,
            approve_words: words(&["approve", "approved", "lgtm", "yes", "/approve"]),
            deny_words: words(&["deny", "denied", "reject", "rejected", "no", "/deny"]),
            timeout: Duration::from_secs(60 * 60),
            poll: Duration::from_secs(15),
            repository: None,
            labels: vec!["deploy-approval".into()],
            token_env: "GITHUB_TOKEN".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::Config;
    use crate::config::expect::{Expect, config_expect};
    use crate::config::key::join;

    fn configuration_reference() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every key in this file has an entry in README.md, so the reference
    /// cannot fall behind the code.
    #[test]
    fn the_configuration_reference_documents_every_key() {
        let docs = configuration_reference();
        let mut missing = Vec::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![(String::new(), config_expect())];
        while let Some((path, table)) = stack.pop() {
            for field in table.fields {
                let key = join(&path, field);
                // A table is documented by its `[header]`, a key by its dotted name.
                let (child, entry) = match table.children.get(field) {
                    Some(Expect::Table(child)) => (Some(child), format!("`[{key}]`")),
                    _ => (None, format!("`{key}`")),
                };
                if !docs.contains(&entry) {
                    missing.push(entry);
                }
                if let Some(child) = child
                    && seen.insert(key.clone())
                {
                    stack.push((key, child));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "README.md does not document: {missing:?}"
        );
    }

    #[test]
    fn the_configuration_reference_example_loads() {
        let docs = configuration_reference();
        let example = docs
            .split("A complete example")
            .nth(1)
            .and_then(|rest| rest.split("```toml\n").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("a ```toml block under \"A complete example\"");
        let config =
            Config::parse(Path::new("README.md"), example).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.service, "shop");
    }
}
