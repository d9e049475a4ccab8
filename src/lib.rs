//! deploy-action: ship a containerised service safely from GitHub Actions or a laptop.

pub mod approve;
pub mod build;
pub mod ci;
pub mod cli;
mod commands;
pub mod config;
pub mod deploy;
pub mod docker;
pub mod error;
pub mod exit;
pub mod github;
pub mod grafana;
pub mod http;
pub mod lock;
pub mod output;
pub mod outputs;
pub mod release;
pub mod router;
pub mod scan;
pub mod signals;
pub mod smoke;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::cli::{Cli, Command};
use crate::config::{Config, ConfigError};
use crate::error::Error;
use crate::output::Ui;

/// Entry point of the binary: parse, run, print the error once, exit with its code.
pub fn main() -> ExitCode {
    // Like other Unix tools, stop quietly when the reader of stdout goes away
    // (`deploy-action releases | head -1`) instead of failing to print.
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            });
        }
    };
    init_tracing(cli.verbose);
    // One TLS crypto provider for every client (ring, which the Docker client uses too).
    let _ = rustls::crypto::ring::default_provider().install_default();
    if cli.json {
        ci::keep_stdout_for_the_document();
    }
    outputs::set_command(cli.command.name());
    let ui = Ui::detect(cli.json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ENVIRONMENT);
        }
    };
    // `scan --json` and `smoke --json` print their own document, refusal included; `run`
    // prints its own on every error but a config that does not load.
    let own_document = match cli.command {
        Command::Scan(_) | Command::Smoke(_) => Own::Refusal,
        Command::Run(_) => Own::AllButConfig,
        _ => Own::None,
    };
    let result = runtime.block_on(run(cli, ui.clone()));
    // Do not wait for blocking tasks (a pending stdin read, a slow socket) at exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(None) => ExitCode::from(exit::OK),
        // A command run under `lock acquire --hold` decides the exit code.
        Ok(Some(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            report_error(&e, &ui, own_document);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs the command; `Some(code)` when the exit code is another program's.
async fn run(cli: Cli, ui: Ui) -> Result<Option<i32>, Error> {
    let cancel = signals::Cancel::on_signals();
    let path = cli.config;
    if let Command::Lock(args) = cli.command {
        return commands::lock::run(optional_config(&path)?, args, ui, cancel).await;
    }
    match cli.command {
        // `scan` and `build` work without a deploy.toml: flags and defaults suffice.
        Command::Scan(args) => commands::scan::run(optional_config(&path)?, args, ui).await,
        Command::Build(mut args) => {
            args.config_dir = path.parent().map(std::path::Path::to_path_buf);
            commands::build::run(optional_config(&path)?, args, ui, cancel).await
        }
        Command::Deploy(args) => {
            commands::deploy::run(Config::load(&path)?, args, ui, cancel).await
        }
        Command::Rollback(args) => {
            commands::rollback::run(Config::load(&path)?, args, ui, cancel).await
        }
        Command::Releases(args) => {
            commands::releases::run(Config::load(&path)?, args, ui, cancel).await
        }
        Command::Annotate(args) => {
            commands::annotate::run(Config::load(&path)?, args, ui, cancel).await
        }
        Command::Approve(args) => {
            commands::approve::run(optional_config(&path)?, args, ui, cancel).await
        }
        Command::Smoke(args) => commands::smoke::run(&path, args, ui, cancel).await,
        Command::Run(args) => {
            commands::run::run(&path, Config::load(&path)?, args, ui, cancel).await
        }
        Command::Lock(_) => unreachable!("handled above"),
    }
    .map(|()| None)
}

/// The config when there is one; a missing file is fine, a broken one is not.
fn optional_config(path: &std::path::Path) -> Result<Option<Config>, Error> {
    match Config::load(path) {
        Err(ConfigError::NotFound { .. }) => Ok(None),
        loaded => Ok(Some(loaded?)),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "deploy_action=info",
        1 => "deploy_action=debug",
        _ => "deploy_action=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // bollard's debug logs print request bodies, container env (secrets) included.
        .add_directive("bollard=warn".parse().expect("a valid directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

/// Which errors a command's own JSON document already reports.
#[derive(Clone, Copy)]
enum Own {
    None,
    Refusal,
    AllButConfig,
}

fn report_error(e: &Error, ui: &Ui, own_document: Own) {
    if ui.actions() {
        // The annotation carries the location itself, so its text leaves it out.
        let (text, at) = match e {
            Error::Config(
                error @ ConfigError::Invalid {
                    path, line, column, ..
                },
            ) => (
                error.without_location(),
                Some(ci::Location {
                    file: path.display().to_string(),
                    line: *line,
                    column: *column,
                }),
            ),
            _ => (e.to_string(), None),
        };
        // A refused release was already annotated with its details.
        if !matches!(e, Error::Refused(_)) {
            ci::error(&text, at.as_ref());
        }
    }
    let printed = match own_document {
        Own::None => false,
        Own::Refusal => matches!(e, Error::Refused(_)),
        Own::AllButConfig => !matches!(e, Error::Config(_)),
    };
    if ui.json && !printed {
        let doc = json!({
            "ok": false,
            "exit_code": e.exit_code(),
            "error": e.to_string(),
            "failure": ui.take_failure(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    eprintln!("error: {e}");
}
