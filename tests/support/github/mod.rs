//! A faithful, stateful, in-process fake of the GitHub REST API.
//!
//! [`FakeGitHub::start`] binds `127.0.0.1:0` and serves HTTP/1.1 from its own thread (a
//! current-thread tokio runtime running hyper), so plain synchronous tests can point the
//! binary under test at it with `GITHUB_API_URL=<fake.url()>`. All state sits behind one
//! mutex: any number of client processes may hit it at once.
//!
//! What it models, each in its own file:
//! - `server.rs`: HTTP plumbing, authentication, the primary and secondary rate limits,
//!   ETag / `If-None-Match`, `Link` pagination, fault injection, unknown-route failure.
//! - `git.rs`: commits (with real git object ids), references and their fast-forward rule.
//! - `issues.rs`: issues and issue comments.
//! - `teams.rs`: organisation team membership.
//! - `actions.rs`: the review (approval) history of workflow runs.
//! - `deployments.rs`: deployments and their statuses (`auto_inactive` included).
//! - `rate_limit.rs`: `GET /rate_limit`.
//! - `users.rs`: the simple-user objects that every author field carries.
//! - `client.rs`: a tiny blocking HTTP/1.1 client for tests of the fake itself.
//!
//! A request to a route the fake does not know answers 404 like GitHub would, but is also
//! recorded, and dropping the fake panics listing them, so a test cannot pass while the
//! client talks to an endpoint nobody modelled.

mod actions;
pub mod client;
mod deployments;
mod git;
mod issues;
mod rate_limit;
mod server;
mod teams;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use client::{Client, Reply};
pub use deployments::DeploymentView;
pub use git::{EMPTY_TREE, git_hash};

/// The login of the identity behind [`FakeGitHub::token`], as for a workflow's
/// `GITHUB_TOKEN`: everything created through the API is authored by it.
pub const BOT_LOGIN: &str = "github-actions[bot]";

/// Where `html_url` fields point (the web UI, which the fake does not serve).
pub const HTML_BASE: &str = "http://github.example";

/// The rate-limit window, as GitHub's: one hour.
const WINDOW_SECS: i64 = 3600;

/// The hourly budget of a workflow's `GITHUB_TOKEN`.
const DEFAULT_LIMIT: u64 = 1000;

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    /// The path as sent, without the query string.
    pub path: String,
    /// The raw query string, without `?`; empty when there was none.
    pub query: String,
    pub status: u16,
    /// Whether the request cost one unit of the primary rate limit (a `304 Not Modified`,
    /// a `401`, a rate-limited request, an injected failure and `GET /rate_limit` do not).
    pub counted: bool,
}

/// One review of a workflow run's deployment, as "Get the review history for a workflow
/// run" reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub login: String,
    /// `"approved"` or `"rejected"`.
    pub state: String,
    pub comment: String,
    pub environments: Vec<String>,
}

impl Approval {
    pub fn approved(login: &str, environments: &[&str]) -> Self {
        Self::new(login, "approved", environments)
    }

    pub fn rejected(login: &str, environments: &[&str]) -> Self {
        Self::new(login, "rejected", environments)
    }

    pub fn with_comment(mut self, comment: &str) -> Self {
        self.comment = comment.to_string();
        self
    }

    fn new(login: &str, state: &str, environments: &[&str]) -> Self {
        Approval {
            login: login.to_string(),
            state: state.to_string(),
            comment: String::new(),
            environments: environments.iter().map(|e| e.to_string()).collect(),
        }
    }
}

/// An issue as the fake holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueView {
    pub number: u64,
    pub title: String,
    /// Empty when the issue has no body.
    pub body: String,
    /// `"open"` or `"closed"`.
    pub state: String,
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub author: String,
    /// In the order GitHub lists them (oldest first).
    pub comments: Vec<CommentView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentView {
    pub id: u64,
    pub login: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The primary rate limit as the fake currently counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    pub used: u64,
    /// UTC epoch seconds at which the window resets.
    pub reset: i64,
}

/// The fake server. Dropping it stops the server and panics if it received requests for
/// routes it does not know (unless the thread is already panicking).
pub struct FakeGitHub {
    state: Arc<Mutex<State>>,
    server: Option<server::Server>,
    base: String,
    token: String,
}

impl FakeGitHub {
    /// Starts a fake with no repositories on a free loopback port.
    pub fn start() -> FakeGitHub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let base = format!("http://127.0.0.1:{port}");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let token = format!("ghs_fake{:x}{:x}", nanos, std::process::id());
        let state = Arc::new(Mutex::new(State::new(base.clone(), token.clone())));
        let server = server::start(state.clone(), listener);
        FakeGitHub {
            state,
            server: Some(server),
            base,
            token,
        }
    }

    /// The base URL for `GITHUB_API_URL`, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The one token the fake accepts (`Authorization: Bearer <t>` or `token <t>`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The login the token authenticates as.
    pub fn bot_login(&self) -> &'static str {
        BOT_LOGIN
    }

    /// A blocking HTTP client for tests of the fake itself, authenticated with [`Self::token`].
    pub fn client(&self) -> Client {
        Client::new(&self.base, &self.token)
    }

    /// Creates `owner/name` with a branch `main` at an initial commit holding a README.
    pub fn create_repo(&self, full_name: &str) {
        let (owner, name) = split_repo(full_name);
        let mut st = self.lock();
        let key = repo_key(owner, name);
        assert!(
            !st.repos.contains_key(&key),
            "fake GitHub: repository {full_name} already exists"
        );
        let id = st.ids.next();
        let git = git::Git::init(name, &mut st.users);
        st.repos.insert(
            key,
            Repo {
                id,
                owner: owner.to_string(),
                name: name.to_string(),
                git,
                issues: issues::Issues::default(),
                runs: HashMap::new(),
                deployments: Vec::new(),
            },
        );
    }

    /// Makes team `org/slug` with these members (replacing any earlier members).
    pub fn add_team(&self, org: &str, slug: &str, logins: &[&str]) {
        let mut st = self.lock();
        for login in logins {
            st.users.id(login);
        }
        st.teams.insert(
            team_key(org, slug),
            logins.iter().map(|l| l.to_string()).collect(),
        );
    }

    /// Opens an issue authored by the bot, as if the action had created it earlier.
    pub fn create_issue(&self, repo: &str, title: &str, body: &str) -> u64 {
        let mut st = self.lock();
        let st = &mut *st;
        let repo = find_repo(&mut st.repos, repo);
        let id = st.ids.next();
        repo.issues
            .open(id, BOT_LOGIN, title, Some(body), vec![], vec![])
    }

    /// `login` comments `body` on issue `number` now; returns the comment id.
    pub fn comment(&self, repo: &str, number: u64, login: &str, body: &str) -> u64 {
        self.comment_at(repo, number, login, body, now())
    }

    /// `login` commented `body` on issue `number` at `created_at` (truncated to seconds).
    pub fn comment_at(
        &self,
        repo: &str,
        number: u64,
        login: &str,
        body: &str,
        created_at: DateTime<Utc>,
    ) -> u64 {
        let mut st = self.lock();
        let st = &mut *st;
        st.users.id(login);
        let full = repo;
        let repo = find_repo(&mut st.repos, repo);
        let id = st.ids.next();
        repo.issues
            .comment(id, number, login, body, seconds(created_at))
            .unwrap_or_else(|| panic!("fake GitHub: {full} has no issue #{number}"))
    }

    /// Replaces the body of comment `id`; its `updated_at` becomes now.
    pub fn edit_comment(&self, repo: &str, id: u64, body: &str) {
        let mut st = self.lock();
        let full = repo;
        let repo = find_repo(&mut st.repos, repo);
        assert!(
            repo.issues.edit_comment(id, body, now()),
            "fake GitHub: {full} has no issue comment {id}"
        );
    }

    /// Every issue of `repo`, by number.
    pub fn issues(&self, repo: &str) -> Vec<IssueView> {
        let mut st = self.lock();
        find_repo(&mut st.repos, repo).issues.views()
    }

    /// Issue `number` of `repo`, if it exists.
    pub fn issue(&self, repo: &str, number: u64) -> Option<IssueView> {
        self.issues(repo).into_iter().find(|i| i.number == number)
    }

    /// Sets the review history of workflow run `run_id` (the run then exists).
    pub fn set_run_approvals(&self, repo: &str, run_id: u64, approvals: Vec<Approval>) {
        let mut st = self.lock();
        let st = &mut *st;
        for a in &approvals {
            st.users.id(&a.login);
        }
        let repo = find_repo(&mut st.repos, repo);
        repo.runs.insert(run_id, (now(), approvals));
    }

    /// What a `git push` of the local commit `sha` to `full_ref` leaves on GitHub: the commit (with its id as
    /// the pusher's git computed it, on top of `main`) and the reference.
    pub fn push_commit(&self, repo: &str, full_ref: &str, sha: &str, message: &str) {
        let mut st = self.lock();
        let sig = git::Signature::of(&mut st.users, "octocat", now());
        let git = &mut find_repo(&mut st.repos, repo).git;
        let main = git.refs.get("refs/heads/main").cloned();
        git.commits.entry(sha.to_string()).or_insert(git::Commit {
            sha: sha.to_string(),
            tree: EMPTY_TREE.to_string(),
            parents: main.into_iter().collect(),
            message: message.to_string(),
            author: sig.clone(),
            committer: sig,
        });
        git.refs.insert(qualify(full_ref), sha.to_string());
    }

    /// The commit `full_ref` (`refs/heads/x`; `heads/x` is accepted too) points at.
    pub fn ref_target(&self, repo: &str, full_ref: &str) -> Option<String> {
        let mut st = self.lock();
        let full_ref = qualify(full_ref);
        find_repo(&mut st.repos, repo)
            .git
            .refs
            .get(&full_ref)
            .cloned()
    }

    /// Every reference of `repo` (`refs/heads/main`, ...) with its target, sorted.
    pub fn refs(&self, repo: &str) -> Vec<(String, String)> {
        let mut st = self.lock();
        find_repo(&mut st.repos, repo)
            .git
            .refs
            .iter()
            .map(|(r, s)| (r.clone(), s.clone()))
            .collect()
    }

    /// The message of commit `sha`, if `repo` has it.
    pub fn commit_message(&self, repo: &str, sha: &str) -> Option<String> {
        let mut st = self.lock();
        find_repo(&mut st.repos, repo)
            .git
            .commits
            .get(sha)
            .map(|c| c.message.clone())
    }

    /// The messages along the first-parent chain from `rev` (a sha, `refs/heads/x`,
    /// `heads/x` or a branch name), newest first; empty when `rev` resolves to nothing.
    pub fn history(&self, repo: &str, rev: &str) -> Vec<String> {
        let mut st = self.lock();
        let git = &find_repo(&mut st.repos, repo).git;
        match git.resolve(rev) {
            Some(sha) => git.first_parent_messages(&sha),
            None => Vec::new(),
        }
    }

    /// Commits `message` on top of `branch` (keeping its tree) and moves the branch there,
    /// as a push by someone else would; returns the new sha.
    pub fn push(&self, repo: &str, branch: &str, message: &str) -> String {
        let mut st = self.lock();
        let st = &mut *st;
        let full = repo;
        let repo = find_repo(&mut st.repos, repo);
        let full_ref = format!("refs/heads/{branch}");
        let parent = repo
            .git
            .refs
            .get(&full_ref)
            .cloned()
            .unwrap_or_else(|| panic!("fake GitHub: {full} has no branch {branch}"));
        let tree = repo.git.commits[&parent].tree.clone();
        let sig = git::Signature::of(&mut st.users, BOT_LOGIN, now());
        let sha = repo
            .git
            .write_commit(&tree, vec![parent], message, sig.clone(), sig);
        repo.git.refs.insert(full_ref, sha.clone());
        sha
    }

    /// Points `full_ref` at `sha` (creating the ref), bypassing every check.
    pub fn set_ref(&self, repo: &str, full_ref: &str, sha: &str) {
        let mut st = self.lock();
        let full = repo;
        let repo = find_repo(&mut st.repos, repo);
        assert!(
            repo.git.commits.contains_key(sha),
            "fake GitHub: {full} has no commit {sha}"
        );
        repo.git.refs.insert(qualify(full_ref), sha.to_string());
    }

    /// Every deployment of `repo`, oldest first, each with its statuses (oldest first).
    pub fn deployments(&self, repo: &str) -> Vec<DeploymentView> {
        let mut st = self.lock();
        deployments::views(find_repo(&mut st.repos, repo))
    }

    /// Records a deployment of `git_ref` to `environment` with `payload` and these statuses
    /// (oldest first), as an earlier run would have; returns its id.
    pub fn seed_deployment(
        &self,
        repo: &str,
        environment: &str,
        git_ref: &str,
        payload: serde_json::Value,
        states: &[&str],
    ) -> u64 {
        let (owner, name) = split_repo(repo);
        let mut st = self.lock();
        deployments::seed(
            &mut st,
            &repo_key(owner, name),
            environment,
            git_ref,
            payload,
            states,
        )
    }

    /// Every request answered so far (since the last [`Self::reset_calls`]), in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many of [`Self::calls`] cost rate limit.
    pub fn counted_calls(&self) -> usize {
        self.lock().calls.iter().filter(|c| c.counted).count()
    }

    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    /// The primary rate limit now.
    pub fn rate_limit(&self) -> RateLimit {
        let mut st = self.lock();
        st.limits.roll(Utc::now().timestamp());
        st.limits.view()
    }

    /// Leaves `remaining` requests in a window that resets in `reset_in`.
    pub fn set_rate_limit(&self, remaining: u64, reset_in: Duration) {
        let mut st = self.lock();
        let l = &mut st.limits;
        l.limit = l.limit.max(remaining);
        l.used = l.limit - remaining;
        l.reset = Utc::now().timestamp() + reset_in.as_secs() as i64;
    }

    /// The next `n` requests get GitHub's secondary-rate-limit 403 with `retry-after`.
    pub fn secondary_limit_next(&self, n: u32, retry_after_secs: u64) {
        let mut st = self.lock();
        st.limits.secondary = n;
        st.limits.retry_after = retry_after_secs;
    }

    /// The next `n` requests to known routes fail with `status` (e.g. 502).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut st = self.lock();
        st.limits.fail = n;
        st.limits.fail_status = status;
    }

    /// The requests (`METHOD /path?query`) that matched no route the fake knows.
    pub fn unknown_requests(&self) -> Vec<String> {
        self.lock().unknown.clone()
    }

    /// Forgets the unknown requests, for a test that made them on purpose.
    pub fn clear_unknown(&self) {
        self.lock().unknown.clear();
    }

    /// Panics listing the unknown requests, if there were any.
    pub fn assert_known(&self) {
        let unknown = self.unknown_requests();
        if !unknown.is_empty() {
            panic!(
                "fake GitHub got requests it does not know: {}",
                unknown.join(", ")
            );
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        if !std::thread::panicking() {
            self.assert_known();
        }
    }
}

/// Everything the fake knows.
struct State {
    /// The base URL every API URL in a response starts with.
    pub base: String,
    pub token: String,
    /// By lower-cased `owner/name`: GitHub's names are case-insensitive.
    pub repos: HashMap<String, Repo>,
    /// Members by lower-cased `org/slug`.
    pub teams: HashMap<String, Vec<String>>,
    pub users: users::Users,
    pub ids: Ids,
    pub limits: server::Limits,
    pub calls: Vec<Call>,
    pub unknown: Vec<String>,
    pub requests: u64,
}

impl State {
    fn new(base: String, token: String) -> Self {
        State {
            base,
            token,
            repos: HashMap::new(),
            teams: HashMap::new(),
            users: users::Users::new(),
            ids: Ids(1000),
            limits: server::Limits::new(DEFAULT_LIMIT, Utc::now().timestamp() + WINDOW_SECS),
            calls: Vec::new(),
            unknown: Vec::new(),
            requests: 0,
        }
    }
}

struct Repo {
    pub id: u64,
    /// As created (the URL may use another case).
    pub owner: String,
    pub name: String,
    pub git: git::Git,
    pub issues: issues::Issues,
    /// Review history by run id, with when it was set.
    pub runs: HashMap<u64, (DateTime<Utc>, Vec<Approval>)>,
    /// Deployments, oldest first.
    pub deployments: Vec<deployments::Deployment>,
}

impl Repo {
    /// `{base}/repos/{owner}/{name}`.
    pub fn api(&self, base: &str) -> String {
        format!("{base}/repos/{}/{}", self.owner, self.name)
    }

    /// `{HTML_BASE}/{owner}/{name}`.
    pub fn html(&self) -> String {
        format!("{HTML_BASE}/{}/{}", self.owner, self.name)
    }
}

/// Database ids for issues, comments, labels and repositories, unique across the fake.
struct Ids(u64);

impl Ids {
    pub fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn repo_key(owner: &str, name: &str) -> String {
    format!("{}/{}", owner.to_lowercase(), name.to_lowercase())
}

fn team_key(org: &str, slug: &str) -> String {
    format!("{}/{}", org.to_lowercase(), slug.to_lowercase())
}

fn split_repo(full_name: &str) -> (&str, &str) {
    match full_name.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => (o, n),
        _ => panic!("fake GitHub: repository names are owner/name, not {full_name:?}"),
    }
}

fn find_repo<'a>(repos: &'a mut HashMap<String, Repo>, full_name: &str) -> &'a mut Repo {
    let (owner, name) = split_repo(full_name);
    repos
        .get_mut(&repo_key(owner, name))
        .unwrap_or_else(|| panic!("fake GitHub: no repository {full_name}; call create_repo"))
}

/// `heads/x` → `refs/heads/x`; `refs/...` unchanged.
fn qualify(r: &str) -> String {
    if r.starts_with("refs/") {
        r.to_string()
    } else {
        format!("refs/{r}")
    }
}

/// Now, at GitHub's one-second precision.
fn now() -> DateTime<Utc> {
    seconds(Utc::now())
}

fn seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// ISO 8601 in UTC with a trailing `Z`, as GitHub writes timestamps.
fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An opaque GraphQL-style node id.
fn node_id(kind: &str, key: &str) -> String {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{kind}:{key}"));
    format!("{kind}_{raw}")
}
