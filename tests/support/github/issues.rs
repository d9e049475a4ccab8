//! Issues and issue comments.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::server::{Endpoint, Req, Resp, encode, paginate};
use super::users::Users;
use super::{BOT_LOGIN, CommentView, Ids, IssueView, Repo, State, iso, node_id, now, repo_key};

const DOCS_CREATE: &str = "https://docs.github.com/rest/issues/issues#create-an-issue";
const DOCS_GET: &str = "https://docs.github.com/rest/issues/issues#get-an-issue";
const DOCS_UPDATE: &str = "https://docs.github.com/rest/issues/issues#update-an-issue";
const DOCS_LIST: &str = "https://docs.github.com/rest/issues/issues#list-repository-issues";
const DOCS_LIST_COMMENTS: &str = "https://docs.github.com/rest/issues/comments#list-issue-comments";
const DOCS_CREATE_COMMENT: &str =
    "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
const DOCS_GET_COMMENT: &str = "https://docs.github.com/rest/issues/comments#get-an-issue-comment";
const DOCS_UPDATE_COMMENT: &str =
    "https://docs.github.com/rest/issues/comments#update-an-issue-comment";

const STATE_REASONS: [&str; 4] = ["completed", "not_planned", "duplicate", "reopened"];

pub(super) struct Issue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub user: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
}

pub(super) struct IssueComment {
    pub id: u64,
    pub issue: u64,
    pub user: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One repository's issues, their comments and its labels.
#[derive(Default)]
pub(super) struct Issues {
    pub list: Vec<Issue>,
    pub comments: Vec<IssueComment>,
    /// Label ids by name (GitHub creates a label the first time an issue is given it).
    pub labels: HashMap<String, u64>,
}

impl Issues {
    /// Opens an issue now; returns its number.
    pub fn open(
        &mut self,
        id: u64,
        login: &str,
        title: &str,
        body: Option<&str>,
        labels: Vec<String>,
        assignees: Vec<String>,
    ) -> u64 {
        let number = self.list.len() as u64 + 1;
        let at = now();
        self.list.push(Issue {
            id,
            number,
            title: title.to_string(),
            body: body.map(str::to_string),
            state: "open".to_string(),
            state_reason: None,
            labels,
            assignees,
            user: login.to_string(),
            created_at: at,
            updated_at: at,
            closed_at: None,
            closed_by: None,
        });
        number
    }

    /// Adds a comment to issue `number`, if it exists; returns the comment's id.
    pub fn comment(
        &mut self,
        id: u64,
        number: u64,
        login: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Option<u64> {
        let issue = self.list.iter_mut().find(|i| i.number == number)?;
        issue.updated_at = issue.updated_at.max(at);
        self.comments.push(IssueComment {
            id,
            issue: number,
            user: login.to_string(),
            body: body.to_string(),
            created_at: at,
            updated_at: at,
        });
        Some(id)
    }

    pub fn edit_comment(&mut self, id: u64, body: &str, at: DateTime<Utc>) -> bool {
        match self.comments.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.body = body.to_string();
                c.updated_at = at;
                true
            }
            None => false,
        }
    }

    pub fn views(&self) -> Vec<IssueView> {
        self.list
            .iter()
            .map(|i| IssueView {
                number: i.number,
                title: i.title.clone(),
                body: i.body.clone().unwrap_or_default(),
                state: i.state.clone(),
                state_reason: i.state_reason.clone(),
                labels: i.labels.clone(),
                assignees: i.assignees.clone(),
                author: i.user.clone(),
                comments: self
                    .of(i.number)
                    .into_iter()
                    .map(|c| CommentView {
                        id: c.id,
                        login: c.user.clone(),
                        body: c.body.clone(),
                        created_at: c.created_at,
                        updated_at: c.updated_at,
                    })
                    .collect(),
            })
            .collect()
    }

    /// The comments of issue `number` in GitHub's order: oldest first.
    fn of(&self, number: u64) -> Vec<&IssueComment> {
        let mut comments: Vec<&IssueComment> =
            self.comments.iter().filter(|c| c.issue == number).collect();
        comments.sort_by_key(|c| (c.created_at, c.id));
        comments
    }

    fn ensure_labels(&mut self, ids: &mut Ids, labels: &[String]) {
        for label in labels {
            if !self.labels.contains_key(label) {
                self.labels.insert(label.clone(), ids.next());
            }
        }
    }
}

pub(super) fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    let ["repos", owner, repo, "issues", rest @ ..] = segments else {
        return None;
    };
    let (o, r) = (owner.to_string(), repo.to_string());
    let number = |s: &str| s.parse::<u64>().ok();
    let endpoint = match (method, rest) {
        ("GET", []) => Endpoint::new(move |st, req| list_issues(st, req, &o, &r)),
        ("POST", []) => Endpoint::new(move |st, req| create_issue(st, req, &o, &r)),
        ("GET", ["comments", id]) => {
            let id = number(id)?;
            Endpoint::new(move |st, _| get_comment(st, &o, &r, id))
        }
        ("PATCH", ["comments", id]) => {
            let id = number(id)?;
            Endpoint::new(move |st, req| update_comment(st, req, &o, &r, id))
        }
        ("GET", [n]) => {
            let n = number(n)?;
            Endpoint::new(move |st, _| get_issue(st, &o, &r, n))
        }
        ("PATCH", [n]) => {
            let n = number(n)?;
            Endpoint::new(move |st, req| update_issue(st, req, &o, &r, n))
        }
        ("GET", [n, "comments"]) => {
            let n = number(n)?;
            Endpoint::new(move |st, req| list_comments(st, req, &o, &r, n))
        }
        ("POST", [n, "comments"]) => {
            let n = number(n)?;
            Endpoint::new(move |st, req| create_comment(st, req, &o, &r, n))
        }
        _ => return None,
    };
    Some(endpoint)
}

/// What rendering an issue or comment needs besides the repository.
struct Ctx<'a> {
    base: &'a str,
    users: &'a mut Users,
    teams: &'a HashMap<String, Vec<String>>,
}

impl Ctx<'_> {
    fn user(&mut self, login: &str) -> Value {
        self.users.json(self.base, login)
    }

    /// `OWNER` for the repository's owner, `MEMBER` for a member of one of the owner
    /// organisation's teams, else `NONE`.
    fn association(&self, repo: &Repo, login: &str) -> &'static str {
        let org = format!("{}/", repo.owner.to_lowercase());
        let member = self.teams.iter().any(|(team, members)| {
            team.starts_with(&org) && members.iter().any(|m| m.eq_ignore_ascii_case(login))
        });
        if login.eq_ignore_ascii_case(&repo.owner) {
            "OWNER"
        } else if member {
            "MEMBER"
        } else {
            "NONE"
        }
    }

    fn issue(&mut self, repo: &Repo, issue: &Issue) -> Value {
        let api = repo.api(self.base);
        let n = issue.number;
        let labels: Vec<Value> = issue
            .labels
            .iter()
            .map(|name| {
                let id = repo.issues.labels.get(name).copied().unwrap_or_default();
                json!({
                    "id": id,
                    "node_id": node_id("LA", &id.to_string()),
                    "url": format!("{api}/labels/{}", encode(name)),
                    "name": name,
                    "color": "ededed",
                    "default": false,
                    "description": null,
                })
            })
            .collect();
        let assignees: Vec<Value> = issue.assignees.iter().map(|a| self.user(a)).collect();
        let comments = repo.issues.of(n).len();
        json!({
            "id": issue.id,
            "node_id": node_id("I", &issue.id.to_string()),
            "url": format!("{api}/issues/{n}"),
            "repository_url": api,
            "labels_url": format!("{api}/issues/{n}/labels{{/name}}"),
            "comments_url": format!("{api}/issues/{n}/comments"),
            "events_url": format!("{api}/issues/{n}/events"),
            "timeline_url": format!("{api}/issues/{n}/timeline"),
            "html_url": format!("{}/issues/{n}", repo.html()),
            "number": n,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(&issue.user),
            "labels": labels,
            "assignee": assignees.first().cloned(),
            "assignees": assignees,
            "milestone": null,
            "locked": false,
            "active_lock_reason": null,
            "comments": comments,
            "closed_at": issue.closed_at.map(iso),
            "closed_by": issue.closed_by.as_deref().map(|l| self.user(l)),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "author_association": self.association(repo, &issue.user),
            "performed_via_github_app": null,
        })
    }

    fn comment(&mut self, repo: &Repo, c: &IssueComment) -> Value {
        let api = repo.api(self.base);
        json!({
            "id": c.id,
            "node_id": node_id("IC", &c.id.to_string()),
            "url": format!("{api}/issues/comments/{}", c.id),
            "html_url": format!("{}/issues/{}#issuecomment-{}", repo.html(), c.issue, c.id),
            "issue_url": format!("{api}/issues/{}", c.issue),
            "body": c.body,
            "user": self.user(&c.user),
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "author_association": self.association(repo, &c.user),
            "performed_via_github_app": null,
        })
    }
}

/// Splits the state into what an issue handler needs; `None` when the repository is missing.
fn open_repo<'a>(
    st: &'a mut State,
    owner: &str,
    name: &str,
) -> Option<(&'a mut Repo, Ctx<'a>, &'a mut Ids)> {
    let State {
        base,
        repos,
        users,
        teams,
        ids,
        ..
    } = st;
    let repo = repos.get_mut(&repo_key(owner, name))?;
    Some((repo, Ctx { base, users, teams }, ids))
}

// https://docs.github.com/en/rest/issues/issues#create-an-issue
// 201 with the issue, authored by the authenticated identity. `title` is required (string
// or integer). `labels` (names or `{name}` objects) are created on first use; `assignees`
// (and the older single `assignee`) are kept as given.
fn create_issue(st: &mut State, req: &Req, owner: &str, name: &str) -> Resp {
    let body = match req.json(DOCS_CREATE) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some((repo, mut ctx, ids)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_CREATE);
    };
    let title = match &body["title"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Resp::missing("title", DOCS_CREATE),
    };
    let labels = match labels(&body["labels"]) {
        Some(l) => l,
        None => return Resp::invalid_field("Issue", "labels", DOCS_CREATE),
    };
    let mut assignees = match logins(&body["assignees"]) {
        Some(a) => a,
        None => return Resp::invalid_field("Issue", "assignees", DOCS_CREATE),
    };
    if let Some(one) = body["assignee"].as_str()
        && !assignees.iter().any(|a| a == one)
    {
        assignees.insert(0, one.to_string());
    }
    repo.issues.ensure_labels(ids, &labels);
    let id = ids.next();
    let n = repo.issues.open(
        id,
        BOT_LOGIN,
        &title,
        body["body"].as_str(),
        labels,
        assignees,
    );
    let issue = repo
        .issues
        .list
        .iter()
        .find(|i| i.number == n)
        .expect("just opened");
    let location = format!("{}/issues/{n}", repo.api(ctx.base));
    Resp::created(ctx.issue(repo, issue), location)
}

// https://docs.github.com/en/rest/issues/issues#get-an-issue
// 200 with the issue; 404 when there is none.
fn get_issue(st: &mut State, owner: &str, name: &str, n: u64) -> Resp {
    let Some((repo, mut ctx, _)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_GET);
    };
    match repo.issues.list.iter().find(|i| i.number == n) {
        Some(issue) => Resp::ok(ctx.issue(repo, issue)),
        None => Resp::not_found(DOCS_GET),
    }
}

// https://docs.github.com/en/rest/issues/issues#update-an-issue
// 200 with the issue. `state` is `open` or `closed`; `state_reason` one of `completed`,
// `not_planned`, `duplicate`, `reopened` (closing without one means `completed`, reopening
// sets `reopened`); anything else gets 422 "Validation Failed". `labels` and `assignees`
// replace the current ones.
fn update_issue(st: &mut State, req: &Req, owner: &str, name: &str, n: u64) -> Resp {
    let body = match req.json(DOCS_UPDATE) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some((repo, mut ctx, ids)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_UPDATE);
    };
    if !repo.issues.list.iter().any(|i| i.number == n) {
        return Resp::not_found(DOCS_UPDATE);
    }
    let state = match &body["state"] {
        Value::Null => None,
        Value::String(s) if s == "open" || s == "closed" => Some(s.clone()),
        _ => return Resp::invalid_field("Issue", "state", DOCS_UPDATE),
    };
    let reason = match &body["state_reason"] {
        Value::Null => None,
        Value::String(s) if STATE_REASONS.contains(&s.as_str()) => Some(s.clone()),
        _ => return Resp::invalid_field("Issue", "state_reason", DOCS_UPDATE),
    };
    let title = match &body["title"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(num) => Some(num.to_string()),
        _ => return Resp::invalid_field("Issue", "title", DOCS_UPDATE),
    };
    let new_labels = match &body["labels"] {
        Value::Null => None,
        v => match labels(v) {
            Some(l) => Some(l),
            None => return Resp::invalid_field("Issue", "labels", DOCS_UPDATE),
        },
    };
    let new_assignees = match &body["assignees"] {
        Value::Null => None,
        v => match logins(v) {
            Some(a) => Some(a),
            None => return Resp::invalid_field("Issue", "assignees", DOCS_UPDATE),
        },
    };
    if let Some(l) = &new_labels {
        repo.issues.ensure_labels(ids, l);
    }

    let at = now();
    let issue = repo
        .issues
        .list
        .iter_mut()
        .find(|i| i.number == n)
        .expect("checked above");
    if let Some(t) = title {
        issue.title = t;
    }
    if let Some(b) = body.get("body") {
        issue.body = b.as_str().map(str::to_string);
    }
    if let Some(l) = new_labels {
        issue.labels = l;
    }
    if let Some(a) = new_assignees {
        issue.assignees = a;
    }
    match (state.as_deref(), issue.state.as_str()) {
        (Some("closed"), "open") => {
            issue.state = "closed".into();
            issue.closed_at = Some(at);
            issue.closed_by = Some(BOT_LOGIN.into());
            issue.state_reason = Some(reason.unwrap_or_else(|| "completed".into()));
        }
        (Some("open"), "closed") => {
            issue.state = "open".into();
            issue.closed_at = None;
            issue.closed_by = None;
            issue.state_reason = Some("reopened".into());
        }
        (_, "closed") if reason.is_some() => issue.state_reason = reason,
        _ => {}
    }
    issue.updated_at = at;

    let issue = repo
        .issues
        .list
        .iter()
        .find(|i| i.number == n)
        .expect("exists");
    Resp::ok(ctx.issue(repo, issue))
}

// https://docs.github.com/en/rest/issues/issues#list-repository-issues
// 200 with a page of issues. Filters: `state` (open by default, closed, all), `labels`
// (comma-separated, all must match), `creator`, `assignee` (a login, `*` or `none`),
// `since` (updated at or after); `sort` created (default) / updated / comments and
// `direction` desc (default) / asc. Paginated.
fn list_issues(st: &mut State, req: &Req, owner: &str, name: &str) -> Resp {
    let Some((repo, mut ctx, _)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_LIST);
    };
    let since = match req.param("since").map(parse_since) {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => return Resp::invalid_field("Issue", "since", DOCS_LIST),
    };
    let state = req.param("state").unwrap_or("open");
    let wanted: Vec<&str> = req
        .param("labels")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut issues: Vec<&Issue> = repo
        .issues
        .list
        .iter()
        .filter(|i| state == "all" || i.state == state)
        .filter(|i| {
            wanted
                .iter()
                .all(|w| i.labels.iter().any(|l| l.eq_ignore_ascii_case(w)))
        })
        .filter(|i| {
            req.param("creator")
                .is_none_or(|c| i.user.eq_ignore_ascii_case(c))
        })
        .filter(|i| match req.param("assignee") {
            None => true,
            Some("*") => !i.assignees.is_empty(),
            Some("none") => i.assignees.is_empty(),
            Some(a) => i.assignees.iter().any(|x| x.eq_ignore_ascii_case(a)),
        })
        .filter(|i| since.is_none_or(|s| i.updated_at >= s))
        .collect();
    match req.param("sort").unwrap_or("created") {
        "updated" => issues.sort_by_key(|i| (i.updated_at, i.number)),
        "comments" => issues.sort_by_key(|i| (repo.issues.of(i.number).len(), i.number)),
        _ => issues.sort_by_key(|i| (i.created_at, i.number)),
    }
    if req.param("direction").unwrap_or("desc") != "asc" {
        issues.reverse();
    }
    let items: Vec<Value> = issues.iter().map(|i| ctx.issue(repo, i)).collect();
    paginate(ctx.base, req, items)
}

// https://docs.github.com/en/rest/issues/comments#list-issue-comments
// 200 with a page of comments, oldest first; `since` keeps those updated at or after it.
// Paginated (`per_page` default 30, max 100). 404 when the issue does not exist.
fn list_comments(st: &mut State, req: &Req, owner: &str, name: &str, n: u64) -> Resp {
    let Some((repo, mut ctx, _)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_LIST_COMMENTS);
    };
    if !repo.issues.list.iter().any(|i| i.number == n) {
        return Resp::not_found(DOCS_LIST_COMMENTS);
    }
    let since = match req.param("since").map(parse_since) {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => return Resp::invalid_field("IssueComment", "since", DOCS_LIST_COMMENTS),
    };
    let items: Vec<Value> = repo
        .issues
        .of(n)
        .into_iter()
        .filter(|c| since.is_none_or(|s| c.updated_at >= s))
        .map(|c| ctx.comment(repo, c))
        .collect();
    paginate(ctx.base, req, items)
}

// https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
// 201 with the comment, authored by the authenticated identity; `body` is required. 404
// when the issue does not exist.
fn create_comment(st: &mut State, req: &Req, owner: &str, name: &str, n: u64) -> Resp {
    let body = match req.json(DOCS_CREATE_COMMENT) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some((repo, mut ctx, ids)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_CREATE_COMMENT);
    };
    if !repo.issues.list.iter().any(|i| i.number == n) {
        return Resp::not_found(DOCS_CREATE_COMMENT);
    }
    let Some(text) = body["body"].as_str() else {
        return Resp::missing("body", DOCS_CREATE_COMMENT);
    };
    let id = ids.next();
    repo.issues.comment(id, n, BOT_LOGIN, text, now());
    let c = repo
        .issues
        .comments
        .iter()
        .find(|c| c.id == id)
        .expect("just added");
    let location = format!("{}/issues/comments/{id}", repo.api(ctx.base));
    Resp::created(ctx.comment(repo, c), location)
}

// https://docs.github.com/en/rest/issues/comments#get-an-issue-comment
// 200 with the comment; 404 when there is none.
fn get_comment(st: &mut State, owner: &str, name: &str, id: u64) -> Resp {
    let Some((repo, mut ctx, _)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_GET_COMMENT);
    };
    match repo.issues.comments.iter().find(|c| c.id == id) {
        Some(c) => Resp::ok(ctx.comment(repo, c)),
        None => Resp::not_found(DOCS_GET_COMMENT),
    }
}

// https://docs.github.com/en/rest/issues/comments#update-an-issue-comment
// 200 with the comment; `body` is required; `updated_at` becomes now. 404 when there is
// no such comment.
fn update_comment(st: &mut State, req: &Req, owner: &str, name: &str, id: u64) -> Resp {
    let body = match req.json(DOCS_UPDATE_COMMENT) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some((repo, mut ctx, _)) = open_repo(st, owner, name) else {
        return Resp::not_found(DOCS_UPDATE_COMMENT);
    };
    let Some(text) = body["body"].as_str() else {
        return Resp::missing("body", DOCS_UPDATE_COMMENT);
    };
    if !repo.issues.edit_comment(id, text, now()) {
        return Resp::not_found(DOCS_UPDATE_COMMENT);
    }
    let c = repo
        .issues
        .comments
        .iter()
        .find(|c| c.id == id)
        .expect("exists");
    Resp::ok(ctx.comment(repo, c))
}

/// `labels` as names or `{ "name": ... }` objects; null is none.
fn labels(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(list) => list
            .iter()
            .map(|l| match l {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name")?.as_str().map(str::to_string),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn logins(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(list) => list
            .iter()
            .map(|l| l.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// An ISO 8601 timestamp (`YYYY-MM-DDTHH:MM:SSZ`, any offset, or a bare date).
fn parse_since(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}
