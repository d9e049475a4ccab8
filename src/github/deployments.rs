//! GitHub's deployment records: a deployment per release of an environment, with statuses
//! (`in_progress`, then `success` or `failure`), so GitHub shows what runs where.
//! <https://docs.github.com/rest/deployments/deployments>
//! <https://docs.github.com/rest/deployments/statuses>

use serde::Serialize;
use serde_json::{Value, json};

use super::GitHub;
use crate::error::{Error, Result};

/// How many of an environment's newest deployments are read: the ones still marked active
/// are among them, because every success marks the ones before it inactive.
const RECENT: usize = 50;

/// What `POST /repos/{owner}/{repo}/deployments` creates.
#[derive(Debug, Clone)]
pub struct NewDeployment {
    /// A sha, branch or tag.
    pub git_ref: String,
    pub environment: String,
    pub description: String,
    /// Free-form: the version and image digest of the release.
    pub payload: Value,
    pub production_environment: bool,
    pub transient_environment: bool,
}

/// A deployment status to set.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// `in_progress`, `success`, `failure`, `inactive`, …
    pub state: String,
    pub description: String,
    /// The run's page.
    pub log_url: Option<String>,
    /// Where users reach the environment.
    pub environment_url: Option<String>,
}

/// One deployment of an environment and its latest status.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub environment: String,
    pub created_at: String,
    pub creator: Option<String>,
    pub version: Option<String>,
    pub image_digest: Option<String>,
    /// The latest status's state; `None` when it has none yet.
    pub state: Option<String>,
    pub environment_url: Option<String>,
}

/// The deployments of one repository.
pub struct Deployments<'a> {
    github: &'a GitHub,
    repo: String,
}

impl<'a> Deployments<'a> {
    /// `repo` is `owner/name`.
    pub fn new(github: &'a GitHub, repo: &str) -> Self {
        Self {
            github,
            repo: repo.to_string(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("repos/{}/deployments{rest}", self.repo)
    }

    /// Creates a deployment of exactly `git_ref`: no merge of the default branch, no wait
    /// for commit statuses (the workflow running this already passed its checks).
    pub async fn create(&self, new: &NewDeployment) -> Result<u64> {
        let body = json!({
            "ref": new.git_ref,
            "task": "deploy",
            "auto_merge": false,
            "required_contexts": [],
            "payload": new.payload,
            "environment": new.environment,
            "description": new.description,
            "production_environment": new.production_environment,
            "transient_environment": new.transient_environment,
        });
        let path = self.path("");
        let reply = self.github.post(&path, &body).await?;
        if reply.status.as_u16() != 201 {
            return Err(Error::GitHub(format!(
                "POST {path} ({} at {}): {} {}",
                new.environment,
                new.git_ref,
                reply.status.as_u16(),
                reply.message()
            )));
        }
        reply
            .body
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::GitHub(format!("POST {path}: no deployment id in the answer")))
    }

    /// Adds a status to deployment `id`.
    pub async fn set_status(&self, id: u64, status: &Status) -> Result<()> {
        let mut body = json!({
            "state": status.state,
            "description": truncate(&status.description, 140),
        });
        if let Some(url) = &status.log_url {
            body["log_url"] = json!(url);
        }
        if let Some(url) = &status.environment_url {
            body["environment_url"] = json!(url);
        }
        let path = self.path(&format!("/{id}/statuses"));
        let reply = self.github.post(&path, &body).await?;
        if !reply.ok() {
            return Err(Error::GitHub(format!(
                "POST {path} ({}): {} {}",
                status.state,
                reply.status.as_u16(),
                reply.message()
            )));
        }
        Ok(())
    }

    /// The state of deployment `id`'s latest status.
    pub async fn latest_state(&self, id: u64) -> Result<Option<String>> {
        Ok(self.latest_status(id).await?.map(|s| s.0))
    }

    /// `(state, environment_url)` of the latest status (GitHub lists them newest first).
    async fn latest_status(&self, id: u64) -> Result<Option<(String, Option<String>)>> {
        let path = self.path(&format!("/{id}/statuses?per_page=1"));
        let reply = self.github.get(&path).await?;
        if !reply.ok() {
            return Err(Error::GitHub(format!(
                "GET {}: {} {}",
                self.path(&format!("/{id}/statuses")),
                reply.status.as_u16(),
                reply.message()
            )));
        }
        Ok(reply.body.as_array().and_then(|a| a.first()).map(|s| {
            (
                s["state"].as_str().unwrap_or_default().to_string(),
                s["environment_url"]
                    .as_str()
                    .filter(|u| !u.is_empty())
                    .map(str::to_string),
            )
        }))
    }

    /// The newest deployments of `environment` (at most `limit`), newest first, each with
    /// its latest status.
    pub async fn list(&self, environment: &str, limit: usize) -> Result<Vec<Deployment>> {
        let mut out = Vec::new();
        let per_page = limit.clamp(1, 100);
        let mut next = Some(self.path(&format!(
            "?environment={}&per_page={per_page}",
            encode(environment)
        )));
        // Bounded by `limit`, and by a page count no real history reaches.
        for _ in 0..20 {
            let Some(page) = next.take() else { break };
            let reply = self.github.get(&page).await?;
            if !reply.ok() {
                return Err(Error::GitHub(format!(
                    "GET {}: {} {}",
                    self.path(""),
                    reply.status.as_u16(),
                    reply.message()
                )));
            }
            for d in reply.body.as_array().into_iter().flatten() {
                if out.len() >= limit {
                    break;
                }
                let id = d["id"].as_u64().unwrap_or_default();
                let latest = self.latest_status(id).await?;
                let text = |v: &Value| v.as_str().map(str::to_string);
                out.push(Deployment {
                    id,
                    sha: text(&d["sha"]).unwrap_or_default(),
                    git_ref: text(&d["ref"]).unwrap_or_default(),
                    environment: text(&d["environment"]).unwrap_or_default(),
                    created_at: text(&d["created_at"]).unwrap_or_default(),
                    creator: text(&d["creator"]["login"]),
                    version: text(&d["payload"]["version"]),
                    image_digest: text(&d["payload"]["image_digest"]),
                    state: latest.as_ref().map(|l| l.0.clone()),
                    environment_url: latest.and_then(|l| l.1),
                });
            }
            if out.len() >= limit {
                break;
            }
            next = reply.next;
        }
        Ok(out)
    }

    /// Marks every earlier deployment of `environment` whose latest status is `success`
    /// inactive, now that `current` succeeded. GitHub does this itself only for
    /// non-production, non-transient environments (`auto_inactive`), so it is done here for
    /// all. Returns the ids marked.
    pub async fn deactivate_earlier(
        &self,
        current: u64,
        environment: &str,
        log_url: Option<String>,
    ) -> Result<Vec<u64>> {
        let mut marked = Vec::new();
        for d in self.list(environment, RECENT).await? {
            if d.id >= current || d.state.as_deref() != Some("success") {
                continue;
            }
            self.set_status(
                d.id,
                &Status {
                    state: "inactive".into(),
                    description: format!("superseded by deployment {current}"),
                    log_url: log_url.clone(),
                    environment_url: None,
                },
            )
            .await?;
            marked.push(d.id);
        }
        Ok(marked)
    }
}

/// At most `max` characters: GitHub refuses longer status descriptions.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut t: String = text.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn a_long_description_is_cut_to_what_github_accepts() {
        let long = "x".repeat(200);
        assert_eq!(truncate(&long, 140).chars().count(), 140);
        assert_eq!(truncate("short", 140), "short");
    }
}
