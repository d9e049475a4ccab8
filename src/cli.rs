//! The command line: clap types only. Every flag can also be set through
//! `DEPLOY_ACTION_<FLAG>`; defaults come from `deploy.toml`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Ship a containerised service safely: health-gated, zero-downtime deploys
/// behind a real router, with instant rollback.
#[derive(Debug, Parser)]
#[command(name = "deploy-action", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok, 1 a gate or check said no (failed deploy, old release kept \
serving, denied), 2 bad input, 3 the environment failed (Docker, router, GitHub, Grafana \
unreachable), 4 timed out waiting (lock, approval)."
)]
pub struct Cli {
    /// Path to the service's config file.
    #[arg(
        long,
        global = true,
        env = "DEPLOY_ACTION_CONFIG",
        default_value = "deploy.toml"
    )]
    pub config: PathBuf,

    /// Print one JSON document on stdout instead of human output.
    #[arg(long, global = true, env = "DEPLOY_ACTION_JSON")]
    pub json: bool,

    /// More log output (-v debug, -vv trace). `RUST_LOG` overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Put an image on the target: start, health-gate, switch the router, verify, keep the old
    /// release as a warm standby. On any failure the old release keeps serving (exit 1).
    Deploy(DeployArgs),
    /// Switch traffic back to the previous healthy release, or to `--to VERSION`.
    Rollback(RollbackArgs),
    /// List the release history the target holds; with `--github`, next to the
    /// environment's GitHub deployments, showing where they disagree.
    Releases(crate::commands::releases::ReleasesArgs),
    /// Gate on a scanner report (Trivy JSON, Grype JSON or SARIF): exit 1 when findings
    /// break the policy, only new ones with `--baseline`.
    Scan(crate::commands::scan::ScanArgs),
    /// Build the image from a tar of the context (honouring .dockerignore), tag it from the
    /// version and the commit, push it; an image of an unchanged context is reused.
    Build(BuildArgs),
    /// Take, renew or free the deploy lock (a lease), or show who holds it.
    Lock(crate::commands::lock::LockArgs),
    /// Wait for a human decision: a terminal prompt, an issue approvers answer, or the
    /// record of GitHub's environment reviewers. Denied: exit 1; no decision in time: exit 4.
    Approve(crate::commands::approve::ApproveArgs),
    /// Mark a deploy in Grafana (a point, or a region `start` opens and `finish` closes with
    /// the outcome) and in GitHub's deployments. Failures warn; `--required` makes them exit 3.
    Annotate(crate::commands::annotate::AnnotateArgs),
    /// Check the deployed service over HTTP (status, body, JSON, headers, latency, TLS
    /// expiry), retrying each check until it passes or its deadline runs out. Exit 1 if any
    /// fails; `--junit FILE` writes JUnit XML.
    Smoke(crate::commands::smoke::SmokeArgs),
    /// Run the whole release from `deploy.toml`: build → scan → lock → approve → annotate →
    /// deploy → smoke → annotate → unlock, skipping the steps whose table is absent. A failed
    /// smoke check rolls back (exit 1); the lock is released on every path, signals included.
    Run(RunArgs),
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Deploy(_) => "deploy",
            Command::Rollback(_) => "rollback",
            Command::Releases(_) => "releases",
            Command::Scan(_) => "scan",
            Command::Build(_) => "build",
            Command::Lock(_) => "lock",
            Command::Approve(_) => "approve",
            Command::Annotate(_) => "annotate",
            Command::Smoke(_) => "smoke",
            Command::Run(_) => "run",
        }
    }
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Image to deploy (`registry/name:tag` or `name@sha256:…`); it must exist on the engine.
    #[arg(long, env = "DEPLOY_ACTION_IMAGE")]
    pub image: String,

    /// Version recorded for the release. Defaults to the image tag.
    #[arg(long, env = "DEPLOY_ACTION_VERSION")]
    pub version: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Image to deploy when there is no `[build]` table; with `[build]`, the repository to
    /// build into (as `build --image`).
    #[arg(long, env = "DEPLOY_ACTION_IMAGE")]
    pub image: Option<String>,

    /// Version of the release. Default: the tag being built under Actions, then the image tag.
    #[arg(long, env = "DEPLOY_ACTION_VERSION")]
    pub version: Option<String>,

    /// Scanner report of the image for `[scan]` (Trivy JSON, Grype JSON or SARIF), when
    /// `[scan] command` does not produce it.
    #[arg(long, env = "DEPLOY_ACTION_REPORT", value_name = "REPORT")]
    pub report: Option<PathBuf>,

    /// Report of the image serving now: only findings it does not have fail the scan.
    #[arg(long, env = "DEPLOY_ACTION_BASELINE", value_name = "REPORT")]
    pub baseline: Option<PathBuf>,

    /// Git ref of the release serving now, for the compare link in the approval request and
    /// the annotation. Default: the version of the release serving now.
    #[arg(long, env = "DEPLOY_ACTION_BASE", value_name = "REF")]
    pub base: Option<String>,

    /// Write the smoke checks' results as JUnit XML to this file.
    #[arg(long, env = "DEPLOY_ACTION_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Approve on the terminal without asking (`[approval] backend = "tty"` only).
    #[arg(long, short = 'y', env = "DEPLOY_ACTION_YES")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Roll back to the newest release with this version instead of the previous one.
    #[arg(long, env = "DEPLOY_ACTION_TO")]
    pub to: Option<String>,
}

/// Build the image from a tar of the context (honouring `.dockerignore`), label and tag it
/// from the version and the commit, and push it. An image of the same context is reused.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// Image repository, without a tag (`registry:5000/team/app`). Default: `[build] image`,
    /// then the service name.
    #[arg(long, env = "DEPLOY_ACTION_IMAGE")]
    pub image: Option<String>,

    /// Version to tag: `v1.2.3` gives `1.2.3`, `1.2` and `1`; a pre-release only itself.
    /// Default: the tag being built under Actions (`GITHUB_REF_NAME` when `GITHUB_REF_TYPE`
    /// is `tag`); there is always a `sha-<commit>` tag.
    #[arg(long, env = "DEPLOY_ACTION_VERSION")]
    pub version: Option<String>,

    /// The context directory. Default: `[build] context` (relative to the config file), then `.`.
    #[arg(long, env = "DEPLOY_ACTION_CONTEXT", value_name = "DIR", value_parser = path_value)]
    pub context: Option<PathBuf>,

    /// The Dockerfile, relative to the current directory as with `docker build -f`.
    /// Default: `[build] dockerfile` (relative to the context), then `Dockerfile`.
    #[arg(
        long,
        short = 'f',
        env = "DEPLOY_ACTION_FILE",
        value_name = "PATH",
        value_parser = path_value
    )]
    pub file: Option<PathBuf>,

    /// A build argument; repeat it, or give one per line in the variable. Overrides the same
    /// key in `[build] args`.
    #[arg(
        long = "build-arg",
        env = "DEPLOY_ACTION_BUILD_ARG",
        value_name = "KEY=VALUE",
        value_delimiter = '\n'
    )]
    pub build_args: Vec<String>,

    /// The stage to build. Default: `[build] target`, then the last stage.
    #[arg(long, env = "DEPLOY_ACTION_TARGET", value_name = "STAGE")]
    pub target: Option<String>,

    /// The platform to build for (`linux/amd64`). Default: `[build] platform`, then the
    /// engine's own.
    #[arg(long, env = "DEPLOY_ACTION_PLATFORM")]
    pub platform: Option<String>,

    /// An extra image label; repeat it, or give one per line in the variable.
    #[arg(
        long = "label",
        env = "DEPLOY_ACTION_LABEL",
        value_name = "KEY=VALUE",
        value_delimiter = '\n'
    )]
    pub labels: Vec<String>,

    /// Push every tag to the image's registry (`--push=false` overrides `[build] push`).
    #[arg(long, env = "DEPLOY_ACTION_PUSH", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_name = "BOOL", value_parser = switch)]
    pub push: Option<Switch>,

    /// Also tag a stable release `latest` (`--latest=false` overrides `[build] latest`).
    #[arg(long, env = "DEPLOY_ACTION_LATEST", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_name = "BOOL", value_parser = switch)]
    pub latest: Option<Switch>,

    /// The directory `[build]` paths are relative to: the config file's. Set by the caller,
    /// not a flag; unset means the current directory.
    #[arg(skip)]
    pub config_dir: Option<PathBuf>,
}

/// The value of `--push` or `--latest`. Empty, as an unset Actions input reaches the
/// variable, leaves `[build]`'s value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch(pub Option<bool>);

fn switch(value: &str) -> std::result::Result<Switch, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(Switch(None)),
        "true" | "yes" | "on" | "1" => Ok(Switch(Some(true))),
        "false" | "no" | "off" | "0" => Ok(Switch(Some(false))),
        other => Err(format!("`{other}` is not true or false")),
    }
}

/// A path; empty (an unset Actions input) is taken as unset later, not refused here.
fn path_value(value: &str) -> std::result::Result<PathBuf, String> {
    Ok(PathBuf::from(value))
}

#[cfg(test)]
mod tests {
    use super::{Switch, switch};

    #[test]
    fn a_switch_is_a_boolean_or_empty_for_unset() {
        assert_eq!(switch("true"), Ok(Switch(Some(true))));
        assert_eq!(switch("FALSE"), Ok(Switch(Some(false))));
        assert_eq!(switch(""), Ok(Switch(None)));
        assert!(switch("maybe").is_err());
    }
}
