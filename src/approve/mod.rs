//! Human approval before a release: a terminal prompt, an issue that approvers answer, or
//! the record of GitHub's own environment reviewers. Every backend fails closed: no
//! decision in time is a refusal.

mod environment;
mod issue;
pub mod tally;
mod tty;

use std::time::Duration;

use crate::config::{ApprovalBackendKind, ApprovalConfig};
use crate::error::Error;
use crate::github::RunContext;
use crate::signals::Cancel;

/// What is to be approved.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub service: String,
    pub environment: String,
    pub version: Option<String>,
    pub image: Option<String>,
    /// The release serving now (a version or commit), for the compare link.
    pub base: Option<String>,
    /// Markdown from `scan`, shown in the request.
    pub scan_summary: Option<String>,
    pub run: RunContext,
}

/// Who approved, and where it is recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Approval {
    pub backend: &'static str,
    pub approvers: Vec<Approver>,
    /// The issue that asked, for `github-issue`.
    pub issue_url: Option<String>,
    /// API calls that cost rate limit, and 304s that did not.
    pub api_calls: Option<(u64, u64)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Approver {
    pub login: String,
    /// When the approval was given, or (where GitHub does not say) when it was read.
    pub at: String,
    pub comment: Option<String>,
}

/// Settings as `[approval]` and the flags make them.
pub struct Settings {
    pub config: ApprovalConfig,
    pub timeout: Duration,
    pub yes: bool,
}

/// Asks, waits and decides. `Ok` is an approval; a denial is [`Error::Refused`] (exit 1)
/// and no decision in time [`Error::TimedOut`] (exit 4).
pub async fn approve(
    request: &Request,
    settings: &Settings,
    cancel: &Cancel,
) -> Result<Approval, Error> {
    match settings.config.backend {
        ApprovalBackendKind::Tty => tty::ask(request, settings, cancel).await,
        ApprovalBackendKind::GithubIssue => issue::ask(request, settings, cancel).await,
        ApprovalBackendKind::GithubEnvironment => {
            environment::record(request, settings, cancel).await
        }
    }
}

/// The repository approvals live in: `[approval] repository`, then `GITHUB_REPOSITORY`.
fn repository(config: &ApprovalConfig, run: &RunContext) -> Result<String, Error> {
    config
        .repository
        .clone()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| run.repository.clone())
        .filter(|r| crate::github::split_repository(r).is_some())
        .ok_or_else(|| {
            Error::Usage(
                "approval through GitHub needs a repository: set `approval.repository = \
                 \"owner/name\"` or run under GitHub Actions (GITHUB_REPOSITORY)"
                    .into(),
            )
        })
}

fn what(request: &Request) -> String {
    match &request.version {
        Some(v) => format!("{} {v} to {}", request.service, request.environment),
        None => format!("{} to {}", request.service, request.environment),
    }
}
