//! deploy-action: ship a containerised service safely from GitHub Actions or a laptop.

pub mod cli;
pub mod config;
pub mod exit;

use std::process::ExitCode;

use clap::Parser;

/// Entry point of the binary: parse, run, print the error once, exit with its code.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::BAD_INPUT } else { exit::OK });
        }
    };
    match config::Config::load(&cli.config) {
        Ok(_) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::BAD_INPUT)
        }
    }
}
