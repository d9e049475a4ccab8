//! `releases`: the history the target holds and, with `--github`, the environment's GitHub
//! deployments next to it, with where the two disagree. Read-only: it changes nothing.

use clap::Args;
use serde_json::json;

use crate::config::Config;
use crate::deploy::{Release, ReleaseState, Target};
use crate::error::{Error, Result};
use crate::github::GitHub;
use crate::github::deployments::{Deployment, Deployments};
use crate::output::Ui;
use crate::router::Router;
use crate::signals::Cancel;

/// How many of the environment's newest GitHub deployments are shown.
const GITHUB_HISTORY: usize = 20;

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// Also list the environment's GitHub deployments (`GITHUB_TOKEN`, `GITHUB_REPOSITORY`)
    /// and say where GitHub and the target disagree.
    #[arg(long, env = "DEPLOY_ACTION_GITHUB")]
    pub github: bool,
}

pub async fn run(config: Config, args: ReleasesArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let github = if args.github {
        Some(github_history(&config, &cancel).await?)
    } else {
        None
    };
    let mut target = Target::connect(config, cancel, ui.clone()).await?;
    let releases = target.releases_read_only().await?;
    let url = target.router.url().to_string();
    let environment = target.config.environment.clone();
    let disagreements = github
        .as_ref()
        .map(|deployments| disagreements(&environment, &releases, deployments));
    if ui.json {
        let mut doc = json!({ "service": target.config.service, "url": url, "releases": releases });
        if let (Some(deployments), Some(disagreements)) = (&github, &disagreements) {
            doc["github"] = json!({
                "environment": environment,
                "deployments": deployments,
                "disagreements": disagreements,
            });
        }
        super::print_json(&doc);
    }
    super::report_releases(&ui, &target.config, &url, &releases);
    if let (Some(deployments), Some(disagreements)) = (&github, &disagreements) {
        let text = github_table(&environment, deployments, disagreements);
        if !ui.json {
            println!("\n{text}");
        }
        if ui.actions()
            && let Err(e) = crate::ci::append_summary(&format!("```text\n{text}\n```"))
        {
            tracing::warn!("cannot write the step summary: {e}");
        }
        for d in disagreements {
            tracing::warn!("{d}");
        }
    }
    Ok(())
}

async fn github_history(config: &Config, cancel: &Cancel) -> Result<Vec<Deployment>> {
    let repo = std::env::var("GITHUB_REPOSITORY")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "`--github` needs GITHUB_REPOSITORY (`owner/name`): the repository whose \
                 deployments to read"
                    .into(),
            )
        })?;
    let github = GitHub::from_env("GITHUB_TOKEN", cancel.clone())?;
    Deployments::new(&github, repo.trim())
        .list(&config.environment, GITHUB_HISTORY)
        .await
}

/// The deployment GitHub shows as active: the newest whose latest status is `success`.
fn active(deployments: &[Deployment]) -> Option<&Deployment> {
    deployments
        .iter()
        .find(|d| d.state.as_deref() == Some("success"))
}

/// Where GitHub's record and the target's labels tell different stories.
pub fn disagreements(
    environment: &str,
    releases: &[Release],
    deployments: &[Deployment],
) -> Vec<String> {
    let serving = releases.iter().find(|r| r.state == ReleaseState::Serving);
    let mut out = Vec::new();
    match (active(deployments), serving) {
        (Some(d), Some(r)) => {
            let version = d.version.as_deref().unwrap_or("an unknown version");
            if d.version.as_deref() != Some(r.version.as_str()) {
                out.push(format!(
                    "GitHub says {version} is active in {environment} (deployment {}), but the \
                     target serves {} (release {})",
                    d.id, r.version, r.release
                ));
            } else if let Some(digest) = &d.image_digest
                && !r.image_digest.is_empty()
                && digest != &r.image_digest
            {
                out.push(format!(
                    "GitHub's active deployment {} of {version} was image {digest}, but the \
                     target serves {version} from image {}",
                    d.id, r.image_digest
                ));
            }
        }
        (Some(d), None) => out.push(format!(
            "GitHub says {} is active in {environment} (deployment {}), but the target serves \
             nothing",
            d.version.as_deref().unwrap_or("a release"),
            d.id
        )),
        (None, Some(r)) => out.push(format!(
            "the target serves {} (release {}), but GitHub has no active deployment of \
             {environment}",
            r.version, r.release
        )),
        (None, None) => {}
    }
    for d in deployments.iter().filter(|d| {
        matches!(
            d.state.as_deref(),
            Some("in_progress" | "queued" | "pending")
        )
    }) {
        out.push(format!(
            "GitHub deployment {} ({}) is still {}: its run never finished it",
            d.id,
            d.version.as_deref().unwrap_or("unknown version"),
            d.state.as_deref().unwrap_or_default()
        ));
    }
    out
}

fn github_table(environment: &str, deployments: &[Deployment], disagreements: &[String]) -> String {
    let mut out = format!("GitHub deployments of {environment}, newest first:\n");
    let rows: Vec<[String; 6]> = deployments
        .iter()
        .map(|d| {
            [
                d.id.to_string(),
                d.version.clone().unwrap_or_default(),
                d.state.clone().unwrap_or_else(|| "(no status)".into()),
                d.sha.chars().take(7).collect(),
                d.created_at.clone(),
                d.creator.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let headers = [
        "DEPLOYMENT",
        "VERSION",
        "STATE",
        "COMMIT",
        "CREATED AT",
        "BY",
    ];
    out.push_str(&crate::output::aligned(headers, &rows));
    if rows.is_empty() {
        out.push_str("\n(no deployments recorded)");
    }
    out.push('\n');
    if disagreements.is_empty() {
        out.push_str("\nGitHub and the target agree.");
    } else {
        out.push_str("\nGitHub and the target disagree:");
        for d in disagreements {
            out.push_str(&format!("\n  - {d}"));
        }
    }
    out
}
