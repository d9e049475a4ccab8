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
serving), 2 bad input, 3 the environment failed (Docker, router unreachable), 4 timed out waiting."
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
    /// List the release history the target holds.
    Releases,
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
pub struct RollbackArgs {
    /// Roll back to the newest release with this version instead of the previous one.
    #[arg(long, env = "DEPLOY_ACTION_TO")]
    pub to: Option<String>,
}
