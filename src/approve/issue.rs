//! The `github-issue` backend: open an issue that says what is being deployed, wait for
//! approvers to answer in comments, then say the outcome there and close it, whatever the
//! outcome (approved, denied, timed out, cancelled).
//!
//! Polling reads every page of comments with conditional requests, so a look that finds
//! nothing new costs no rate limit.
//!
//! - <https://docs.github.com/rest/issues/issues#create-an-issue>
//! - <https://docs.github.com/rest/issues/comments#list-issue-comments>
//! - <https://docs.github.com/rest/issues/comments#create-an-issue-comment>
//! - <https://docs.github.com/rest/issues/issues#update-an-issue>
//! - <https://docs.github.com/rest/teams/members#list-team-members>

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::tally::{Comment, Ignored, Rules, Verdict, tally};
use super::{Approval, Approver, Request, Settings, repository, what};
use crate::error::Error;
use crate::github::GitHub;
use crate::signals::Cancel;

/// GitHub assigns at most 10 people to an issue; everyone else is @mentioned, and
/// assignment never decides who may approve.
const MAX_ASSIGNEES: usize = 10;

pub async fn ask(
    request: &Request,
    settings: &Settings,
    cancel: &Cancel,
) -> Result<Approval, Error> {
    let config = &settings.config;
    let repo = repository(config, &request.run)?;
    let api = GitHub::from_env(&config.token_env, cancel.clone())?;
    let approvers = expand(&api, &config.approvers).await?;
    let excluded = config
        .exclude_initiator
        .then(|| request.run.actor.clone())
        .filter(|a| !a.is_empty());
    let eligible = approvers
        .iter()
        .filter(|a| Some(a.as_str()) != excluded.as_deref().map(str::to_lowercase).as_deref())
        .count();
    if (eligible as u32) < config.min_approvals {
        return Err(Error::Usage(format!(
            "{} approvals are needed but only {eligible} approvers can give one ({}{}): add \
             approvers or lower `approval.min_approvals`",
            config.min_approvals,
            approvers.iter().cloned().collect::<Vec<_>>().join(", "),
            if excluded.is_some() {
                "; the initiator is excluded"
            } else {
                ""
            }
        )));
    }
    let deadline = Instant::now() + settings.timeout;
    let issue = open(&api, &repo, request, settings, &approvers).await?;
    tracing::info!(
        "waiting for approval of {} in {} ({} of: {})",
        what(request),
        issue.url,
        config.min_approvals,
        config.approvers.join(", ")
    );
    let rules = Rules {
        approvers,
        min_approvals: config.min_approvals,
        excluded,
        approve_words: config.approve_words.clone(),
        deny_words: config.deny_words.clone(),
        since: issue.created_at,
        own_login: issue.author.clone(),
    };
    let outcome = wait(&api, &repo, &issue, &rules, settings, deadline, cancel).await;
    // Say the outcome and close the issue, also after a timeout, a denial or a signal.
    let (comment, reason) = match &outcome {
        Ok((approvers, _)) => (
            format!(
                "**Approved** by {}: deploying {}.",
                mentions(approvers.iter().map(|a| a.login.as_str())),
                what(request)
            ),
            "completed",
        ),
        Err(Error::Refused(message)) => (format!("**Denied**: {message}"), "not_planned"),
        Err(Error::TimedOut(message)) => (format!("**Timed out**: {message}"), "not_planned"),
        Err(e) => (
            format!("**Not approved**: {e}. Not deploying {}.", what(request)),
            "not_planned",
        ),
    };
    if let Err(e) = close(&api, &repo, issue.number, &comment, reason).await {
        tracing::warn!("could not close {}: {e}", issue.url);
    }
    let (approvers, _) = outcome?;
    Ok(Approval {
        backend: "github-issue",
        approvers,
        issue_url: Some(issue.url),
        api_calls: Some((api.counted_calls(), api.free_calls())),
    })
}

struct Issue {
    number: u64,
    url: String,
    created_at: DateTime<Utc>,
    author: String,
}

/// Users as written, and every member of each `org/team`, every page, lower case.
async fn expand(api: &GitHub, approvers: &[String]) -> Result<BTreeSet<String>, Error> {
    let mut logins = BTreeSet::new();
    for approver in approvers {
        let approver = approver.trim().trim_start_matches('@');
        let Some((org, team)) = approver.split_once('/') else {
            logins.insert(approver.to_lowercase());
            continue;
        };
        let members = api
            .get_all(&format!("orgs/{org}/teams/{team}/members?per_page=100"))
            .await
            .map_err(|e| match e {
                Error::GitHub(m) => Error::GitHub(format!(
                    "cannot list the members of team {approver}: {m}; the token needs \
                     `read:org` (the job's GITHUB_TOKEN cannot read teams: use an app or \
                     personal token)"
                )),
                e => e,
            })?;
        let before = logins.len();
        logins.extend(
            members
                .iter()
                .filter_map(|m| m.get("login").and_then(Value::as_str))
                .map(str::to_lowercase),
        );
        tracing::debug!("team {approver}: {} members", logins.len() - before);
    }
    Ok(logins)
}

async fn open(
    api: &GitHub,
    repo: &str,
    request: &Request,
    settings: &Settings,
    approvers: &BTreeSet<String>,
) -> Result<Issue, Error> {
    let config = &settings.config;
    let title = format!("Approve deploy: {}", what(request));
    let assignees: Vec<&str> = config
        .approvers
        .iter()
        .map(|a| a.trim_start_matches('@'))
        .filter(|a| !a.contains('/'))
        .take(MAX_ASSIGNEES)
        .collect();
    let body = body(request, settings, approvers.len());
    let reply = api
        .post(
            &format!("repos/{repo}/issues"),
            &json!({ "title": title, "body": body, "labels": config.labels, "assignees": assignees }),
        )
        .await?;
    if reply.status.as_u16() != 201 {
        return Err(Error::GitHub(format!(
            "cannot open the approval issue in {repo}: {} {}{}",
            reply.status.as_u16(),
            reply.message(),
            if reply.status.as_u16() == 403 || reply.status.as_u16() == 404 {
                "; the token needs `issues: write`"
            } else {
                ""
            }
        )));
    }
    let field = |p: &str| {
        reply
            .body
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let created_at = DateTime::parse_from_rfc3339(field("/created_at"))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now());
    Ok(Issue {
        number: reply
            .body
            .get("number")
            .and_then(Value::as_u64)
            .unwrap_or_default(),
        url: field("/html_url").to_string(),
        created_at,
        author: field("/user/login").to_string(),
    })
}

fn body(request: &Request, settings: &Settings, eligible: usize) -> String {
    let config = &settings.config;
    let run = &request.run;
    let mut rows = vec![
        ("Service", request.service.clone()),
        ("Environment", request.environment.clone()),
    ];
    if let Some(v) = &request.version {
        rows.push(("Version", format!("`{v}`")));
    }
    if let Some(image) = &request.image {
        rows.push(("Image", format!("`{image}`")));
    }
    if let Some(url) = run.run_url() {
        let id = run.run_id.clone().unwrap_or_default();
        rows.push(("Run", format!("[#{id}]({url})")));
    }
    if let Some(base) = &request.base
        && let Some(url) = run.compare_url(base)
    {
        rows.push((
            "Changes",
            format!("[{base}…{}]({url})", short(run.sha.as_deref())),
        ));
    }
    rows.push(("Requested by", format!("@{}", run.actor)));
    let mut text = format!("### Deploy {}\n\n| | |\n|---|---|\n", what(request));
    for (k, v) in rows {
        text.push_str(&format!("| {k} | {v} |\n"));
    }
    let words = |w: &[String]| {
        w.iter()
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    text.push_str(&format!(
        "\n**Approvers:** {} ({eligible} people); {} approval{} needed.{}\n\n\
         To approve, comment {}. To deny, comment {}. One denial denies.\n\n\
         Only new, unedited comments from approvers count. This request closes at {} UTC.\n",
        mentions(config.approvers.iter().map(|a| a.trim_start_matches('@'))),
        config.min_approvals,
        if config.min_approvals == 1 { "" } else { "s" },
        if config.exclude_initiator {
            format!(" @{} started this run and cannot approve it.", run.actor)
        } else {
            String::new()
        },
        words(&config.approve_words),
        words(&config.deny_words),
        (Utc::now() + chrono::Duration::from_std(settings.timeout).unwrap_or_default())
            .format("%Y-%m-%d %H:%M"),
    ));
    if let Some(summary) = &request.scan_summary {
        text.push_str(&format!(
            "\n<details><summary>Vulnerability scan</summary>\n\n{summary}\n\n</details>\n"
        ));
    }
    text
}

fn short(sha: Option<&str>) -> &str {
    sha.map(|s| &s[..s.len().min(7)]).unwrap_or("HEAD")
}

fn mentions<'a>(logins: impl Iterator<Item = &'a str>) -> String {
    logins
        .map(|l| format!("@{l}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Polls the comments until they decide, or the deadline.
async fn wait(
    api: &GitHub,
    repo: &str,
    issue: &Issue,
    rules: &Rules,
    settings: &Settings,
    deadline: Instant,
    cancel: &Cancel,
) -> Result<(Vec<Approver>, Vec<Ignored>), Error> {
    let since = issue
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let path = format!(
        "repos/{repo}/issues/{}/comments?per_page=100&since={since}",
        issue.number
    );
    let mut reported = 0;
    loop {
        let items = api.get_all(&path).await?;
        let comments: Vec<Comment> = items.iter().filter_map(comment).collect();
        let (verdict, ignored) = tally(&comments, rules);
        for i in &ignored[reported.min(ignored.len())..] {
            tracing::warn!("not counted: a comment by {} ({})", i.login, i.reason);
        }
        reported = ignored.len();
        match verdict {
            Verdict::Approved { approvers } => {
                let at = |login: &str| {
                    comments
                        .iter()
                        .filter(|c| c.login.eq_ignore_ascii_case(login))
                        .map(|c| (c.created_at, c.body.clone()))
                        .find(|_| true)
                };
                let approvers = approvers
                    .iter()
                    .map(|login| {
                        let (when, body) = at(login).unwrap_or((Utc::now(), String::new()));
                        Approver {
                            login: login.clone(),
                            at: when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            comment: Some(body.trim().to_string()),
                        }
                    })
                    .collect();
                return Ok((approvers, ignored));
            }
            Verdict::Denied { by, comment } => {
                return Err(Error::Refused(format!(
                    "@{by} denied the deploy: {:?}",
                    comment.lines().next().unwrap_or_default()
                )));
            }
            Verdict::Pending { approvals } => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::TimedOut(format!(
                        "no decision within {} ({} of {} approvals: {}); not deploying",
                        humantime::format_duration(settings.timeout),
                        approvals.len(),
                        rules.min_approvals,
                        if approvals.is_empty() {
                            "none".to_string()
                        } else {
                            approvals.join(", ")
                        }
                    )));
                }
                let wait = api.poll_delay(settings.config.poll.get()).min(left);
                cancel.sleep(wait.max(Duration::from_millis(10))).await?;
            }
        }
    }
}

fn comment(item: &Value) -> Option<Comment> {
    let time = |k: &str| {
        DateTime::parse_from_rfc3339(item.get(k)?.as_str()?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    Some(Comment {
        login: item.pointer("/user/login")?.as_str()?.to_string(),
        body: item.get("body")?.as_str().unwrap_or_default().to_string(),
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
    })
}

async fn close(
    api: &GitHub,
    repo: &str,
    number: u64,
    comment: &str,
    reason: &str,
) -> Result<(), Error> {
    let commented = api
        .post(
            &format!("repos/{repo}/issues/{number}/comments"),
            &json!({ "body": comment }),
        )
        .await?;
    if !commented.ok() {
        tracing::warn!("could not comment the outcome: {}", commented.message());
    }
    let closed = api
        .patch(
            &format!("repos/{repo}/issues/{number}"),
            &json!({ "state": "closed", "state_reason": reason }),
        )
        .await?;
    if !closed.ok() {
        return Err(Error::GitHub(format!(
            "{} {}",
            closed.status.as_u16(),
            closed.message()
        )));
    }
    Ok(())
}
