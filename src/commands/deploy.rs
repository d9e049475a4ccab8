//! `deploy --image REF [--version V]`.

use serde_json::json;

use crate::cli::DeployArgs;
use crate::config::Config;
use crate::deploy::{self, Target};
use crate::error::Result;
use crate::output::Ui;
use crate::signals::Cancel;

pub async fn run(config: Config, args: DeployArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let mut target = Target::open(config, cancel, ui.clone()).await?;
    let deployed = deploy::deploy(&mut target, &args.image, args.version).await?;
    let releases = target.releases().await?;
    ui.outputs(&[
        ("release", deployed.release.to_string()),
        ("version", deployed.version.clone()),
        ("digest", deployed.image_digest.clone()),
        ("url", deployed.url.clone()),
    ]);
    if ui.json {
        super::print_json(&json!({ "deployed": deployed, "releases": releases }));
    } else {
        println!(
            "release {} ({}) is serving at {}{}",
            deployed.release,
            deployed.version,
            deployed.url,
            deployed
                .previous
                .map(|p| format!("; release {p} is the warm standby"))
                .unwrap_or_default()
        );
        println!(
            "health wait {:.1}s, switch and verify {:.2}s, drain {:.1}s, total {:.1}s\n",
            deployed.timings.health_wait_ms as f64 / 1000.0,
            deployed.timings.switch_ms as f64 / 1000.0,
            deployed.timings.drain_ms as f64 / 1000.0,
            deployed.timings.total_ms as f64 / 1000.0,
        );
    }
    super::report_releases(&ui, &target.config, &deployed.url, &releases);
    Ok(())
}
