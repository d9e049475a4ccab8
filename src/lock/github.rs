//! The `github` backend: the lock is the branch `<branch_prefix><name>` of a repository.
//! The branch's newest commit holds the state as JSON under a one-line summary, so the
//! branch's history is the lock's audit log (`git log origin/deploy-lock/<name>`).
//!
//! Every change is a compare-and-swap. The new commit's parent is the commit that was read,
//! and the branch moves with `force: false`: if anyone moved it in between, the new commit
//! is not a fast-forward of the branch and GitHub refuses the update with 422. A branch that
//! does not exist yet is created, and creating one that exists is refused with 422 too.
//!
//! Costs: reading is a conditional GET (a 304 costs no rate limit); a swap is two calls
//! (the commit, then the ref). An uncontended acquire is therefore 3 calls.
//!
//! - <https://docs.github.com/rest/commits/commits#get-a-commit>
//! - <https://docs.github.com/rest/git/commits#create-a-commit>
//! - <https://docs.github.com/rest/git/refs#create-a-reference>
//! - <https://docs.github.com/rest/git/refs#update-a-reference>

use serde_json::{Value, json};

use super::LockState;
use super::backend::{Marker, Seen};
use crate::config::LockConfig;
use crate::error::Error;
use crate::github::GitHub;
use crate::signals::Cancel;

/// Git's empty tree: lock commits carry no files.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

pub struct GitHubBackend {
    api: GitHub,
    repository: String,
    branch: String,
}

impl GitHubBackend {
    pub fn open(lock: &LockConfig, name: &str, cancel: Cancel) -> Result<Self, Error> {
        let repository = lock
            .repository
            .clone()
            .filter(|r| !r.trim().is_empty())
            .or_else(|| std::env::var("GITHUB_REPOSITORY").ok())
            .filter(|r| crate::github::split_repository(r).is_some())
            .ok_or_else(|| {
                Error::Usage(
                    "the github lock needs a repository: set `lock.repository = \"owner/name\"` \
                     or run under GitHub Actions (GITHUB_REPOSITORY)"
                        .into(),
                )
            })?;
        Ok(Self {
            api: GitHub::from_env(&lock.token_env, cancel)?,
            repository,
            branch: format!("{}{name}", lock.branch_prefix),
        })
    }

    pub fn location(&self) -> String {
        format!("branch {} of {}", self.branch, self.repository)
    }

    pub fn api_calls(&self) -> (u64, u64) {
        (self.api.counted_calls(), self.api.free_calls())
    }

    pub fn poll_delay(&self, every: std::time::Duration) -> std::time::Duration {
        self.api.poll_delay(every)
    }

    pub async fn observe(&self) -> Result<Seen, Error> {
        let path = format!("repos/{}/commits/heads/{}", self.repository, self.branch);
        let reply = self.api.get(&path).await?;
        match reply.status.as_u16() {
            200 => {}
            // No such branch yet: GitHub answers 404 or 422 ("No commit found for SHA").
            404 | 409 | 422 => {
                return Ok(Seen {
                    state: LockState::default(),
                    marker: Marker::Absent,
                });
            }
            status => {
                return Err(self.failed("read", status, &reply.message()));
            }
        }
        let text = |v: &Value, pointer: &str| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (Some(sha), Some(tree), Some(message)) = (
            text(&reply.body, "/sha"),
            text(&reply.body, "/commit/tree/sha"),
            text(&reply.body, "/commit/message"),
        ) else {
            return Err(Error::GitHub(format!(
                "the commit of {} has no sha, tree or message",
                self.location()
            )));
        };
        let state = parse_message(&message).ok_or_else(|| {
            Error::Lock(format!(
                "{} points at commit {sha}, which is not a lock record; delete the branch if \
                 it is not a deploy lock, or choose another `lock.branch_prefix`",
                self.location()
            ))
        })?;
        Ok(Seen {
            state,
            marker: Marker::Commit { sha, tree },
        })
    }

    pub async fn swap(&self, seen: &Seen, next: &LockState, summary: &str) -> Result<bool, Error> {
        let (parents, tree) = match &seen.marker {
            Marker::Commit { sha, tree } => (vec![sha.clone()], tree.clone()),
            Marker::Absent => (Vec::new(), EMPTY_TREE.to_string()),
            Marker::Generation(_) => {
                return Err(Error::Lock(
                    "a github lock was read by another backend".into(),
                ));
            }
        };
        let message = format!(
            "{summary}\n\n{}\n",
            serde_json::to_string_pretty(next).expect("the lock state serialises")
        );
        let commit = self
            .api
            .post(
                &format!("repos/{}/git/commits", self.repository),
                &json!({ "message": message, "tree": tree, "parents": parents }),
            )
            .await?;
        if commit.status.as_u16() != 201 {
            return Err(self.failed(
                "write a commit for",
                commit.status.as_u16(),
                &commit.message(),
            ));
        }
        let Some(sha) = commit.body.get("sha").and_then(Value::as_str) else {
            return Err(Error::GitHub("the new lock commit has no sha".into()));
        };
        let moved = match seen.marker {
            Marker::Absent => {
                self.api
                    .post(
                        &format!("repos/{}/git/refs", self.repository),
                        &json!({ "ref": format!("refs/heads/{}", self.branch), "sha": sha }),
                    )
                    .await?
            }
            _ => {
                self.api
                    .patch(
                        &format!("repos/{}/git/refs/heads/{}", self.repository, self.branch),
                        &json!({ "sha": sha, "force": false }),
                    )
                    .await?
            }
        };
        match moved.status.as_u16() {
            200 | 201 => Ok(true),
            // "Reference already exists", "Update is not a fast forward", "Reference does
            // not exist" (deleted meanwhile): someone else changed the lock first.
            409 | 422 => {
                tracing::debug!("lock swap lost: {}", moved.message());
                Ok(false)
            }
            status => Err(self.failed("move", status, &moved.message())),
        }
    }

    fn failed(&self, what: &str, status: u16, message: &str) -> Error {
        let hint = match status {
            403 | 404 => {
                "; the token needs `contents: write` on that repository (and the repository \
                 must exist)"
            }
            _ => "",
        };
        Error::GitHub(format!(
            "cannot {what} the lock {}: {status} {message}{hint}",
            self.location()
        ))
    }
}

/// The state under a lock commit's summary line.
fn parse_message(message: &str) -> Option<LockState> {
    let (_, json) = message.split_once("\n\n")?;
    serde_json::from_str(json.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_commit_message_round_trips() {
        let state = LockState::default();
        let message = format!(
            "lock x: released\n\n{}\n",
            serde_json::to_string_pretty(&state).unwrap()
        );
        assert_eq!(parse_message(&message), Some(state));
        assert_eq!(parse_message("Initial commit"), None);
        assert_eq!(parse_message("fix\n\nnot json"), None);
    }
}
