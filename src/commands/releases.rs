//! `releases`: the history the target holds. Read-only: it changes nothing.

use serde_json::json;

use crate::config::Config;
use crate::deploy::Target;
use crate::error::Result;
use crate::output::Ui;
use crate::router::Router;
use crate::signals::Cancel;

pub async fn run(config: Config, ui: Ui, cancel: Cancel) -> Result<()> {
    let mut target = Target::connect(config, cancel, ui.clone()).await?;
    let releases = target.releases_read_only().await?;
    let url = target.router.url().to_string();
    if ui.json {
        super::print_json(
            &json!({ "service": target.config.service, "url": url, "releases": releases }),
        );
    }
    super::report_releases(&ui, &target.config, &url, &releases);
    Ok(())
}
