//! Deployments and deployment statuses.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::server::{Endpoint, Req, Resp, paginate};
use super::{BOT_LOGIN, Repo, State, iso, node_id, now, repo_key};

const DOCS_CREATE: &str =
    "https://docs.github.com/rest/deployments/deployments#create-a-deployment";
const DOCS_LIST: &str = "https://docs.github.com/rest/deployments/deployments#list-deployments";
const DOCS_GET: &str = "https://docs.github.com/rest/deployments/deployments#get-a-deployment";
const DOCS_CREATE_STATUS: &str =
    "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status";
const DOCS_LIST_STATUSES: &str =
    "https://docs.github.com/rest/deployments/statuses#list-deployment-statuses";

/// The states a deployment status may have.
const STATES: [&str; 7] = [
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

pub(super) struct Deployment {
    pub id: u64,
    pub sha: String,
    pub git_ref: String,
    pub task: String,
    pub payload: Value,
    pub original_environment: String,
    pub environment: String,
    pub description: Option<String>,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub transient_environment: bool,
    pub production_environment: bool,
    /// Oldest first.
    pub statuses: Vec<DeploymentStatus>,
}

pub(super) struct DeploymentStatus {
    pub id: u64,
    pub state: String,
    pub creator: String,
    pub description: String,
    pub environment: String,
    pub target_url: String,
    pub log_url: String,
    pub environment_url: String,
    pub created_at: DateTime<Utc>,
}

impl Deployment {
    fn latest_state(&self) -> Option<&str> {
        self.statuses.last().map(|s| s.state.as_str())
    }
}

/// A deployment as the fake holds it, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentView {
    pub id: u64,
    pub sha: String,
    pub git_ref: String,
    pub environment: String,
    pub payload: Value,
    pub production_environment: bool,
    pub transient_environment: bool,
    /// Oldest first.
    pub statuses: Vec<StatusView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    pub state: String,
    pub description: String,
    pub log_url: String,
    pub environment_url: String,
}

pub(super) fn views(repo: &Repo) -> Vec<DeploymentView> {
    repo.deployments
        .iter()
        .map(|d| DeploymentView {
            id: d.id,
            sha: d.sha.clone(),
            git_ref: d.git_ref.clone(),
            environment: d.environment.clone(),
            payload: d.payload.clone(),
            production_environment: d.production_environment,
            transient_environment: d.transient_environment,
            statuses: d
                .statuses
                .iter()
                .map(|s| StatusView {
                    state: s.state.clone(),
                    description: s.description.clone(),
                    log_url: s.log_url.clone(),
                    environment_url: s.environment_url.clone(),
                })
                .collect(),
        })
        .collect()
}

pub(super) fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    let ["repos", owner, repo, "deployments", rest @ ..] = segments else {
        return None;
    };
    let key = repo_key(owner, repo);
    let number = |s: &str| s.parse::<u64>().ok();
    let endpoint = match (method, rest) {
        ("GET", []) => Endpoint::new(move |st, req| list(st, req, &key)),
        ("POST", []) => Endpoint::new(move |st, req| create(st, req, &key)),
        ("GET", [id]) => {
            let id = number(id)?;
            Endpoint::new(move |st, _| get(st, &key, id))
        }
        ("GET", [id, "statuses"]) => {
            let id = number(id)?;
            Endpoint::new(move |st, req| list_statuses(st, req, &key, id))
        }
        ("POST", [id, "statuses"]) => {
            let id = number(id)?;
            Endpoint::new(move |st, req| create_status(st, req, &key, id))
        }
        _ => return None,
    };
    Some(endpoint)
}

fn deployment_json(st: &mut State, repo: &Repo, d: &Deployment) -> Value {
    let api = repo.api(&st.base);
    json!({
        "url": format!("{api}/deployments/{}", d.id),
        "id": d.id,
        "node_id": node_id("DE", &d.id.to_string()),
        "sha": d.sha,
        "ref": d.git_ref,
        "task": d.task,
        "payload": d.payload,
        "original_environment": d.original_environment,
        "environment": d.environment,
        "description": d.description,
        "creator": st.users.json(&st.base, &d.creator),
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
        "statuses_url": format!("{api}/deployments/{}/statuses", d.id),
        "repository_url": api,
        "transient_environment": d.transient_environment,
        "production_environment": d.production_environment,
        "performed_via_github_app": null,
    })
}

fn status_json(st: &mut State, repo: &Repo, d: &Deployment, s: &DeploymentStatus) -> Value {
    let api = repo.api(&st.base);
    json!({
        "url": format!("{api}/deployments/{}/statuses/{}", d.id, s.id),
        "id": s.id,
        "node_id": node_id("DES", &s.id.to_string()),
        "state": s.state,
        "creator": st.users.json(&st.base, &s.creator),
        "description": s.description,
        "environment": s.environment,
        "target_url": s.target_url,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.created_at),
        "deployment_url": format!("{api}/deployments/{}", d.id),
        "repository_url": api,
        "environment_url": s.environment_url,
        "log_url": s.log_url,
        "performed_via_github_app": null,
    })
}

/// Renders with the repository taken out of the state for the duration (the renderers
/// need the users table too).
fn with_repo<T>(
    st: &mut State,
    key: &str,
    f: impl FnOnce(&mut State, &mut Repo) -> T,
) -> Option<T> {
    let mut repo = st.repos.remove(key)?;
    let out = f(st, &mut repo);
    st.repos.insert(key.to_string(), repo);
    Some(out)
}

// https://docs.github.com/en/rest/deployments/deployments#create-a-deployment
// 201 with the deployment. `ref` is required (422 when missing, 422 "No ref found for: X"
// when it names nothing). `environment` defaults to `production`, `task` to `deploy`,
// `production_environment` to whether the environment is `production`,
// `transient_environment` to false. `payload` is an object or a JSON string of one.
// `required_contexts`: the fake repository has no commit statuses, so omitting it passes
// and naming any context is the 409 "Conflict: Commit status checks failed for <ref>."
// (`auto_merge` has nothing to merge: the fake's refs never lag the default branch.)
fn create(st: &mut State, req: &Req, key: &str) -> Resp {
    let body = match req.json(DOCS_CREATE) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(git_ref) = body.get("ref").and_then(Value::as_str).map(str::to_string) else {
        return Resp::missing("ref", DOCS_CREATE);
    };
    let payload = match body.get("payload") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(s)) if s.is_empty() => json!({}),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Resp::invalid_field("Deployment", "payload", DOCS_CREATE),
        },
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Resp::invalid_field("Deployment", "payload", DOCS_CREATE),
    };
    let environment = body
        .get("environment")
        .and_then(Value::as_str)
        .unwrap_or("production")
        .to_string();
    let contexts = body
        .get("required_contexts")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let flag =
        |name: &str, default: bool| body.get(name).and_then(Value::as_bool).unwrap_or(default);
    let production = flag("production_environment", environment == "production");
    let transient = flag("transient_environment", false);
    let task = body
        .get("task")
        .and_then(Value::as_str)
        .unwrap_or("deploy")
        .to_string();
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    let id = st.ids.next();
    with_repo(st, key, |st, repo| {
        let Some(sha) = repo.git.resolve(&git_ref) else {
            return Resp::unprocessable(&format!("No ref found for: {git_ref}"), DOCS_CREATE);
        };
        if contexts > 0 {
            return Resp::error(
                409,
                &format!("Conflict: Commit status checks failed for {git_ref}."),
                DOCS_CREATE,
            );
        }
        let at = now();
        let d = Deployment {
            id,
            sha,
            git_ref,
            task,
            payload,
            original_environment: environment.clone(),
            environment,
            description,
            creator: BOT_LOGIN.to_string(),
            created_at: at,
            updated_at: at,
            transient_environment: transient,
            production_environment: production,
            statuses: Vec::new(),
        };
        let body = deployment_json(st, repo, &d);
        let location = format!("{}/deployments/{id}", repo.api(&st.base));
        repo.deployments.push(d);
        Resp::created(body, location)
    })
    .unwrap_or_else(|| Resp::not_found(DOCS_CREATE))
}

// https://docs.github.com/en/rest/deployments/deployments#list-deployments
// 200, newest first, filtered by `sha`, `ref`, `task` and `environment`; paginated.
fn list(st: &mut State, req: &Req, key: &str) -> Resp {
    let filters: Vec<(&str, String)> = ["sha", "ref", "task", "environment"]
        .into_iter()
        .filter_map(|name| req.param(name).map(|v| (name, v.to_string())))
        .collect();
    let base = st.base.clone();
    with_repo(st, key, |st, repo| {
        let items: Vec<Value> = repo
            .deployments
            .iter()
            .rev()
            .filter(|d| {
                filters.iter().all(|(name, v)| match *name {
                    "sha" => d.sha == *v,
                    "ref" => d.git_ref == *v,
                    "task" => d.task == *v,
                    _ => d.environment == *v,
                })
            })
            .map(|d| deployment_json(st, repo, d))
            .collect();
        paginate(&base, req, items)
    })
    .unwrap_or_else(|| Resp::not_found(DOCS_LIST))
}

// https://docs.github.com/en/rest/deployments/deployments#get-a-deployment
fn get(st: &mut State, key: &str, id: u64) -> Resp {
    with_repo(st, key, |st, repo| {
        match repo.deployments.iter().find(|d| d.id == id) {
            Some(d) => Resp::ok(deployment_json(st, repo, d)),
            None => Resp::not_found(DOCS_GET),
        }
    })
    .unwrap_or_else(|| Resp::not_found(DOCS_GET))
}

// https://docs.github.com/en/rest/deployments/statuses#list-deployment-statuses
// 200, newest first, paginated; 404 for a deployment that does not exist.
fn list_statuses(st: &mut State, req: &Req, key: &str, id: u64) -> Resp {
    let base = st.base.clone();
    with_repo(st, key, |st, repo| {
        let Some(d) = repo.deployments.iter().find(|d| d.id == id) else {
            return Resp::not_found(DOCS_LIST_STATUSES);
        };
        let items: Vec<Value> = d
            .statuses
            .iter()
            .rev()
            .map(|s| status_json(st, repo, d, s))
            .collect();
        paginate(&base, req, items)
    })
    .unwrap_or_else(|| Resp::not_found(DOCS_LIST_STATUSES))
}

// https://docs.github.com/en/rest/deployments/statuses#create-a-deployment-status
// 201 with the status. `state` is required and one of `STATES` (422 otherwise).
// `log_url` also sets `target_url`; `description` is at most 140 characters (422).
// `environment` moves the deployment to another environment. `auto_inactive` (default
// true) adds an `inactive` status to every earlier non-transient, non-production
// deployment of the same environment whose latest status is `success`, when the new
// status is `success`.
fn create_status(st: &mut State, req: &Req, key: &str, id: u64) -> Resp {
    let body = match req.json(DOCS_CREATE_STATUS) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(state) = body
        .get("state")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Resp::missing("state", DOCS_CREATE_STATUS);
    };
    if !STATES.contains(&state.as_str()) {
        return Resp::invalid_field("DeploymentStatus", "state", DOCS_CREATE_STATUS);
    }
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let description = text("description");
    if description.chars().count() > 140 {
        return Resp::invalid_field("DeploymentStatus", "description", DOCS_CREATE_STATUS);
    }
    let log_url = match text("log_url") {
        l if l.is_empty() => text("target_url"),
        l => l,
    };
    let environment_url = text("environment_url");
    let new_environment = body
        .get("environment")
        .and_then(Value::as_str)
        .map(str::to_string);
    let auto_inactive = body
        .get("auto_inactive")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let status_id = st.ids.next();
    with_repo(st, key, |st, repo| {
        let Some(index) = repo.deployments.iter().position(|d| d.id == id) else {
            return Resp::not_found(DOCS_CREATE_STATUS);
        };
        let at = now();
        let environment = {
            let d = &mut repo.deployments[index];
            if let Some(env) = new_environment {
                d.environment = env;
            }
            d.updated_at = at;
            d.statuses.push(DeploymentStatus {
                id: status_id,
                state: state.clone(),
                creator: BOT_LOGIN.to_string(),
                description,
                environment: d.environment.clone(),
                target_url: log_url.clone(),
                log_url,
                environment_url,
                created_at: at,
            });
            d.environment.clone()
        };
        if state == "success" && auto_inactive {
            for d in repo.deployments.iter_mut().filter(|d| {
                d.id < id
                    && d.environment == environment
                    && !d.transient_environment
                    && !d.production_environment
                    && d.latest_state() == Some("success")
            }) {
                d.updated_at = at;
                d.statuses.push(DeploymentStatus {
                    id: st.ids.next(),
                    state: "inactive".into(),
                    creator: BOT_LOGIN.to_string(),
                    description: String::new(),
                    environment: d.environment.clone(),
                    target_url: String::new(),
                    log_url: String::new(),
                    environment_url: String::new(),
                    created_at: at,
                });
            }
        }
        let d = &repo.deployments[index];
        let status = d.statuses.last().expect("the status just added");
        let body = status_json(st, repo, d, status);
        let location = format!(
            "{}/deployments/{id}/statuses/{status_id}",
            repo.api(&st.base)
        );
        Resp::created(body, location)
    })
    .unwrap_or_else(|| Resp::not_found(DOCS_CREATE_STATUS))
}

/// Records a deployment and its statuses directly, as an earlier run would have.
pub(super) fn seed(
    st: &mut State,
    key: &str,
    environment: &str,
    git_ref: &str,
    payload: Value,
    states: &[&str],
) -> u64 {
    let id = st.ids.next();
    let status_ids: Vec<u64> = states.iter().map(|_| st.ids.next()).collect();
    let production = environment == "production";
    with_repo(st, key, |_, repo| {
        let sha = repo
            .git
            .resolve(git_ref)
            .unwrap_or_else(|| panic!("fake GitHub: no ref {git_ref} to deploy"));
        let at = now();
        repo.deployments.push(Deployment {
            id,
            sha,
            git_ref: git_ref.to_string(),
            task: "deploy".into(),
            payload,
            original_environment: environment.to_string(),
            environment: environment.to_string(),
            description: None,
            creator: BOT_LOGIN.to_string(),
            created_at: at,
            updated_at: at,
            transient_environment: false,
            production_environment: production,
            statuses: states
                .iter()
                .zip(status_ids)
                .map(|(state, sid)| DeploymentStatus {
                    id: sid,
                    state: state.to_string(),
                    creator: BOT_LOGIN.to_string(),
                    description: String::new(),
                    environment: environment.to_string(),
                    target_url: String::new(),
                    log_url: String::new(),
                    environment_url: String::new(),
                    created_at: at,
                })
                .collect(),
        });
    })
    .unwrap_or_else(|| panic!("fake GitHub: no repository {key}; call create_repo"));
    id
}
