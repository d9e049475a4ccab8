//! GitHub Actions: the review history (environment approvals) of workflow runs.

use serde_json::{Value, json};

use super::server::{Endpoint, Resp, encode};
use super::{State, iso, node_id, repo_key};

const DOCS_APPROVALS: &str =
    "https://docs.github.com/rest/actions/workflow-runs#get-the-review-history-for-a-workflow-run";

pub(super) fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    match (method, segments) {
        ("GET", ["repos", owner, repo, "actions", "runs", run, "approvals"]) => {
            let run: u64 = run.parse().ok()?;
            let key = repo_key(owner, repo);
            Some(Endpoint::new(move |st, _| approvals(st, &key, run)))
        }
        _ => None,
    }
}

// https://docs.github.com/en/rest/actions/workflow-runs#get-the-review-history-for-a-workflow-run
// 200 with an array (not paginated) of `{environments, state, user, comment}`, oldest
// first. A run the fake was not told about gets 404, as for any run that does not exist.
fn approvals(st: &mut State, key: &str, run: u64) -> Resp {
    let State {
        base, repos, users, ..
    } = st;
    let Some(repo) = repos.get(key) else {
        return Resp::not_found(DOCS_APPROVALS);
    };
    let Some((at, reviews)) = repo.runs.get(&run) else {
        return Resp::not_found(DOCS_APPROVALS);
    };
    let api = repo.api(base);
    let html = repo.html();
    let items: Vec<Value> = reviews
        .iter()
        .map(|review| {
            let environments: Vec<Value> = review
                .environments
                .iter()
                .map(|env| {
                    let id = environment_id(repo.id, env);
                    json!({
                        "id": id,
                        "node_id": node_id("EN", &id.to_string()),
                        "name": env,
                        "url": format!("{api}/environments/{}", encode(env)),
                        "html_url": format!("{html}/deployments/activity_log?environments_filter={}", encode(env)),
                        "created_at": iso(*at),
                        "updated_at": iso(*at),
                    })
                })
                .collect();
            json!({
                "environments": environments,
                "state": review.state,
                "user": users.json(base, &review.login),
                "comment": review.comment,
            })
        })
        .collect();
    Resp::ok(Value::Array(items))
}

/// A stable id for an environment of a repository (FNV-1a).
fn environment_id(repo: u64, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in repo.to_be_bytes().iter().chain(name.as_bytes()) {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % 1_000_000_000
}
