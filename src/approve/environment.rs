//! The `github-environment` backend: the environment's required reviewers already gated
//! this job before it started. This reads who approved the run for the environment and
//! records it (outputs, summary): an audit trail, not a gate of its own. When the run has
//! no approval for the environment, it fails closed: the environment has no reviewers, or
//! the job does not deploy to it.
//!
//! <https://docs.github.com/rest/actions/workflow-runs#get-the-review-history-for-a-workflow-run>

use serde_json::Value;

use super::{Approval, Approver, Request, Settings, repository};
use crate::error::Error;
use crate::github::GitHub;
use crate::signals::Cancel;

pub async fn record(
    request: &Request,
    settings: &Settings,
    cancel: &Cancel,
) -> Result<Approval, Error> {
    let repo = repository(&settings.config, &request.run)?;
    let run_id = request.run.run_id.clone().ok_or_else(|| {
        Error::Usage(
            "the github-environment approval reads the run's reviews: run it under GitHub \
             Actions (GITHUB_RUN_ID)"
                .into(),
        )
    })?;
    let api = GitHub::from_env(&settings.config.token_env, cancel.clone())?;
    let reviews = api
        .get_all(&format!("repos/{repo}/actions/runs/{run_id}/approvals"))
        .await?;
    // GitHub gives no time for a review; it was given before this job could start.
    let read_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let for_environment = |review: &&Value| {
        review
            .get("environments")
            .and_then(Value::as_array)
            .is_some_and(|envs| {
                envs.iter().any(|e| {
                    e.get("name").and_then(Value::as_str) == Some(request.environment.as_str())
                })
            })
    };
    let mut approvers = Vec::new();
    for review in reviews.iter().filter(for_environment) {
        let login = review
            .pointer("/user/login")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let comment = review
            .get("comment")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        match review.get("state").and_then(Value::as_str) {
            Some("approved") => approvers.push(Approver {
                login: login.to_string(),
                at: read_at.clone(),
                comment,
            }),
            Some("rejected") => {
                return Err(Error::Refused(format!(
                    "@{login} rejected the deployment to {}{}",
                    request.environment,
                    comment.map(|c| format!(": {c:?}")).unwrap_or_default()
                )));
            }
            _ => {}
        }
    }
    if approvers.is_empty() {
        return Err(Error::Refused(format!(
            "run {run_id} has no approval for environment {:?}: give the environment required \
             reviewers (Settings → Environments) and `environment: {}` to the job, or use \
             `approval.backend = \"github-issue\"`",
            request.environment, request.environment
        )));
    }
    tracing::info!(
        "environment {} approved by {}",
        request.environment,
        approvers
            .iter()
            .map(|a| a.login.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Approval {
        backend: "github-environment",
        approvers,
        issue_url: None,
        api_calls: Some((api.counted_calls(), api.free_calls())),
    })
}
