//! One module per subcommand: the orchestration of that step and how it reports.

pub mod annotate;
pub mod approve;
pub mod build;
pub mod deploy;
pub mod lock;
pub mod releases;
pub mod rollback;
pub mod run;
pub mod scan;
pub mod smoke;

use crate::config::Config;
use crate::deploy::Release;
use crate::output::{Ui, markdown_releases, text_releases};

/// Prints the release table and, under Actions, adds it to the step summary.
fn report_releases(ui: &Ui, config: &Config, url: &str, releases: &[Release]) {
    if ui.actions() {
        let md = format!(
            "### {} releases\n\nServing at {url}\n\n{}",
            config.service,
            markdown_releases(releases)
        );
        if let Err(e) = crate::ci::append_summary(&md) {
            tracing::warn!("cannot write the step summary: {e}");
        }
    }
    if !ui.json {
        println!("{}", text_releases(releases));
    }
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
