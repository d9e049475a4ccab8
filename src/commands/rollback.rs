//! `rollback [--to VERSION]`.

use serde_json::json;

use crate::cli::RollbackArgs;
use crate::config::Config;
use crate::deploy::{self, Target};
use crate::error::Result;
use crate::output::Ui;
use crate::signals::Cancel;

pub async fn run(config: Config, args: RollbackArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let mut target = Target::open(config, cancel, ui.clone()).await?;
    let done = deploy::rollback(&mut target, args.to.as_deref()).await?;
    let releases = target.releases().await?;
    ui.outputs(&[
        ("release", done.release.to_string()),
        ("version", done.version.clone()),
        ("digest", done.image_digest.clone()),
        ("url", done.url.clone()),
    ]);
    if ui.json {
        super::print_json(&json!({ "rolled_back": done, "releases": releases }));
    } else {
        println!(
            "rolled back to release {} ({}) at {} ({}, switch {} ms)\n",
            done.release,
            done.version,
            done.url,
            if done.warm {
                "from warm standby"
            } else {
                "restarted from stopped"
            },
            done.timings.switch_ms
        );
    }
    super::report_releases(&ui, &target.config, &done.url, &releases);
    Ok(())
}
