//! Git data: commits with real git object ids, trees (known by id only) and references,
//! with GitHub's rules for creating, moving and deleting references.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::server::{Endpoint, Req, Resp};
use super::users::Users;
use super::{BOT_LOGIN, Repo, State, iso, node_id, now, repo_key, seconds};

/// The id git gives the empty tree (`git hash-object -t tree /dev/null`).
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

const DOCS_GET_COMMIT: &str = "https://docs.github.com/rest/commits/commits#get-a-commit";
const DOCS_GET_REF: &str = "https://docs.github.com/rest/git/refs#get-a-reference";
const DOCS_CREATE_REF: &str = "https://docs.github.com/rest/git/refs#create-a-reference";
const DOCS_UPDATE_REF: &str = "https://docs.github.com/rest/git/refs#update-a-reference";
const DOCS_DELETE_REF: &str = "https://docs.github.com/rest/git/refs#delete-a-reference";
const DOCS_CREATE_COMMIT: &str = "https://docs.github.com/rest/git/commits#create-a-commit";
const DOCS_GET_GIT_COMMIT: &str = "https://docs.github.com/rest/git/commits#get-a-commit-object";

/// The id git gives an object of `kind` (`blob`, `tree`, `commit`) with this content:
/// the SHA-1 of `"<kind> <len>\0<content>"`.
pub fn git_hash(kind: &str, content: &[u8]) -> String {
    let mut object = format!("{kind} {}\0", content.len()).into_bytes();
    object.extend_from_slice(content);
    hex::encode(sha1(&object))
}

/// An author or committer line.
#[derive(Debug, Clone)]
pub(super) struct Signature {
    pub name: String,
    pub email: String,
    pub date: DateTime<Utc>,
}

impl Signature {
    /// `login` with the `noreply` address GitHub uses for commits made through the API.
    pub fn of(users: &mut Users, login: &str, date: DateTime<Utc>) -> Signature {
        Signature {
            name: login.to_string(),
            email: users.noreply_email(login),
            date,
        }
    }

    fn json(&self) -> Value {
        json!({"name": self.name, "email": self.email, "date": iso(self.date)})
    }

    fn line(&self) -> String {
        format!(
            "{} <{}> {} +0000",
            self.name,
            self.email,
            self.date.timestamp()
        )
    }
}

pub(super) struct Commit {
    pub sha: String,
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
    pub author: Signature,
    pub committer: Signature,
}

/// One repository's object database and references.
pub(super) struct Git {
    pub commits: HashMap<String, Commit>,
    /// Trees a commit may point at: the empty tree and every tree of a commit.
    pub trees: HashSet<String>,
    /// Full names (`refs/heads/main`) to commit ids.
    pub refs: BTreeMap<String, String>,
    pub default_branch: String,
}

impl Git {
    /// A repository whose `main` holds one commit adding `README.md`.
    pub fn init(name: &str, users: &mut Users) -> Git {
        let readme = format!("# {name}\n");
        let blob = git_hash("blob", readme.as_bytes());
        let mut entries = b"100644 README.md\0".to_vec();
        entries.extend(hex::decode(&blob).expect("blob id is hex"));
        let tree = git_hash("tree", &entries);
        let mut git = Git {
            commits: HashMap::new(),
            trees: HashSet::from([EMPTY_TREE.to_string()]),
            refs: BTreeMap::new(),
            default_branch: "main".to_string(),
        };
        let sig = Signature::of(users, BOT_LOGIN, now());
        let sha = git.write_commit(&tree, vec![], "Initial commit", sig.clone(), sig);
        git.refs.insert("refs/heads/main".to_string(), sha);
        git
    }

    /// Stores a commit (git's own serialisation, so the id is what git would compute).
    pub fn write_commit(
        &mut self,
        tree: &str,
        parents: Vec<String>,
        message: &str,
        author: Signature,
        committer: Signature,
    ) -> String {
        let mut text = format!("tree {tree}\n");
        for p in &parents {
            text.push_str(&format!("parent {p}\n"));
        }
        text.push_str(&format!(
            "author {}\ncommitter {}\n\n{message}",
            author.line(),
            committer.line()
        ));
        let sha = git_hash("commit", text.as_bytes());
        self.trees.insert(tree.to_string());
        self.commits.entry(sha.clone()).or_insert(Commit {
            sha: sha.clone(),
            tree: tree.to_string(),
            parents,
            message: message.to_string(),
            author,
            committer,
        });
        sha
    }

    /// A commit id for `rev`: a full or abbreviated (unique, 7+ hex digits) sha,
    /// `refs/...`, `heads/x`, `tags/x` or a bare branch or tag name.
    pub fn resolve(&self, rev: &str) -> Option<String> {
        if rev.len() >= 7 && rev.len() <= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            let rev = rev.to_ascii_lowercase();
            if self.commits.contains_key(&rev) {
                return Some(rev);
            }
            let mut matching = self.commits.keys().filter(|s| s.starts_with(&rev));
            if let (Some(sha), None) = (matching.next(), matching.next()) {
                return Some(sha.clone());
            }
        }
        let candidates = [
            rev.to_string(),
            format!("refs/{rev}"),
            format!("refs/heads/{rev}"),
            format!("refs/tags/{rev}"),
        ];
        candidates
            .iter()
            .filter(|c| c.starts_with("refs/"))
            .find_map(|c| self.refs.get(c).cloned())
    }

    /// Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> bool {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([descendant.to_string()]);
        while let Some(sha) = queue.pop_front() {
            if sha == ancestor {
                return true;
            }
            if !seen.insert(sha.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&sha) {
                queue.extend(c.parents.iter().cloned());
            }
        }
        false
    }

    /// Messages along the first-parent chain from `sha`, newest first.
    pub fn first_parent_messages(&self, sha: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut next = Some(sha.to_string());
        while let Some(sha) = next {
            let Some(c) = self.commits.get(&sha) else {
                break;
            };
            out.push(c.message.clone());
            next = c.parents.first().cloned();
        }
        out
    }
}

pub(super) fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    let ["repos", owner, repo, rest @ ..] = segments else {
        return None;
    };
    let (o, r) = (owner.to_string(), repo.to_string());
    let multi = |parts: &[&str]| {
        (!parts.is_empty() && parts.iter().all(|p| !p.is_empty())).then(|| parts.join("/"))
    };
    let endpoint = match (method, rest) {
        ("GET", ["commits", rev @ ..]) => {
            let rev = multi(rev)?;
            Endpoint::new(move |st, _| get_commit(st, &o, &r, &rev))
        }
        ("GET", ["git", "ref", name @ ..]) => {
            let name = multi(name)?;
            Endpoint::new(move |st, _| get_ref(st, &o, &r, &name))
        }
        ("POST", ["git", "refs"]) => Endpoint::new(move |st, req| create_ref(st, req, &o, &r)),
        ("PATCH", ["git", "refs", name @ ..]) => {
            let name = multi(name)?;
            Endpoint::new(move |st, req| update_ref(st, req, &o, &r, &name))
        }
        ("DELETE", ["git", "refs", name @ ..]) => {
            let name = multi(name)?;
            Endpoint::new(move |st, _| delete_ref(st, &o, &r, &name))
        }
        ("POST", ["git", "commits"]) => {
            Endpoint::new(move |st, req| create_commit(st, req, &o, &r))
        }
        ("GET", ["git", "commits", sha]) if !sha.is_empty() => {
            let sha = sha.to_string();
            Endpoint::new(move |st, _| get_git_commit(st, &o, &r, &sha))
        }
        _ => return None,
    };
    Some(endpoint)
}

// https://docs.github.com/en/rest/commits/commits#get-a-commit
// 200 with the commit; a ref or sha that names no commit gets 422 "No commit found for SHA:
// <ref>" (the docs list 422 for this endpoint; the message is what api.github.com sends).
fn get_commit(st: &mut State, owner: &str, name: &str, rev: &str) -> Resp {
    let State {
        base, repos, users, ..
    } = st;
    let Some(repo) = repos.get(&repo_key(owner, name)) else {
        return Resp::not_found(DOCS_GET_COMMIT);
    };
    let Some(sha) = repo.git.resolve(rev) else {
        return Resp::unprocessable(&format!("No commit found for SHA: {rev}"), DOCS_GET_COMMIT);
    };
    let c = &repo.git.commits[&sha];
    let api = repo.api(base);
    let html = repo.html();
    let mut person = |sig: &Signature| match users.by_email(&sig.email) {
        Some(login) => users.json(base, &login),
        None => Value::Null,
    };
    let author = person(&c.author);
    let committer = person(&c.committer);
    let parents: Vec<Value> = c
        .parents
        .iter()
        .map(|p| json!({"sha": p, "url": format!("{api}/commits/{p}"), "html_url": format!("{html}/commit/{p}")}))
        .collect();
    Resp::ok(json!({
        "sha": c.sha,
        "node_id": node_id("C", &c.sha),
        "commit": {
            "author": c.author.json(),
            "committer": c.committer.json(),
            "message": c.message,
            "tree": {"sha": c.tree, "url": format!("{api}/git/trees/{}", c.tree)},
            "url": format!("{api}/git/commits/{}", c.sha),
            "comment_count": 0,
            "verification": unsigned(),
        },
        "url": format!("{api}/commits/{}", c.sha),
        "html_url": format!("{html}/commit/{}", c.sha),
        "comments_url": format!("{api}/commits/{}/comments", c.sha),
        "author": author,
        "committer": committer,
        "parents": parents,
        "stats": {"total": 0, "additions": 0, "deletions": 0},
        "files": [],
    }))
}

// https://docs.github.com/en/rest/git/refs#get-a-reference
// `ref` is `heads/<branch>` (slashes allowed); a ref that does not exist gets 404.
fn get_ref(st: &mut State, owner: &str, name: &str, short: &str) -> Resp {
    let Some(repo) = st.repos.get(&repo_key(owner, name)) else {
        return Resp::not_found(DOCS_GET_REF);
    };
    let full = format!("refs/{short}");
    match repo.git.refs.get(&full) {
        Some(sha) => Resp::ok(ref_json(&st.base, repo, &full, sha)),
        None => Resp::not_found(DOCS_GET_REF),
    }
}

// https://docs.github.com/en/rest/git/refs#create-a-reference
// 201 with the reference. 422 when `ref` does not start with `refs` and have at least two
// slashes, when `sha` is no object, when the reference exists, or when it collides with an
// existing one as a directory (`a` vs `a/b`, which git cannot store: "Reference update
// failed").
fn create_ref(st: &mut State, req: &Req, owner: &str, name: &str) -> Resp {
    let body = match req.json(DOCS_CREATE_REF) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(repo) = st.repos.get_mut(&repo_key(owner, name)) else {
        return Resp::not_found(DOCS_CREATE_REF);
    };
    let Some(full) = body["ref"].as_str() else {
        return Resp::missing("ref", DOCS_CREATE_REF);
    };
    let Some(sha) = body["sha"].as_str() else {
        return Resp::missing("sha", DOCS_CREATE_REF);
    };
    if let Err(message) = check_ref_name(full) {
        return Resp::unprocessable(&message, DOCS_CREATE_REF);
    }
    if !repo.git.commits.contains_key(sha) {
        return Resp::unprocessable("Object does not exist", DOCS_CREATE_REF);
    }
    if repo.git.refs.contains_key(full) {
        return Resp::unprocessable("Reference already exists", DOCS_CREATE_REF);
    }
    let collides = repo.git.refs.keys().any(|existing| {
        existing.starts_with(&format!("{full}/")) || full.starts_with(&format!("{existing}/"))
    });
    if collides {
        return Resp::unprocessable("Reference update failed", DOCS_CREATE_REF);
    }
    repo.git.refs.insert(full.to_string(), sha.to_string());
    let location = format!("{}/git/{full}", repo.api(&st.base));
    Resp::created(ref_json(&st.base, repo, full, sha), location)
}

// https://docs.github.com/en/rest/git/refs#update-a-reference
// 200 with the reference. 422 when the reference does not exist, when `sha` is no object,
// and, unless `force` is true, when the new commit does not descend from the current one.
fn update_ref(st: &mut State, req: &Req, owner: &str, name: &str, short: &str) -> Resp {
    let body = match req.json(DOCS_UPDATE_REF) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(repo) = st.repos.get_mut(&repo_key(owner, name)) else {
        return Resp::not_found(DOCS_UPDATE_REF);
    };
    let Some(sha) = body["sha"].as_str() else {
        return Resp::missing("sha", DOCS_UPDATE_REF);
    };
    let force = body["force"].as_bool().unwrap_or(false);
    let full = format!("refs/{short}");
    let Some(current) = repo.git.refs.get(&full).cloned() else {
        return Resp::unprocessable("Reference does not exist", DOCS_UPDATE_REF);
    };
    if !repo.git.commits.contains_key(sha) {
        return Resp::unprocessable("Object does not exist", DOCS_UPDATE_REF);
    }
    if !force && !repo.git.is_ancestor(&current, sha) {
        return Resp::unprocessable("Update is not a fast forward", DOCS_UPDATE_REF);
    }
    repo.git.refs.insert(full.clone(), sha.to_string());
    Resp::ok(ref_json(&st.base, repo, &full, sha))
}

// https://docs.github.com/en/rest/git/refs#delete-a-reference
// 204. 422 when the reference does not exist or is the default branch.
fn delete_ref(st: &mut State, owner: &str, name: &str, short: &str) -> Resp {
    let Some(repo) = st.repos.get_mut(&repo_key(owner, name)) else {
        return Resp::not_found(DOCS_DELETE_REF);
    };
    let full = format!("refs/{short}");
    if !repo.git.refs.contains_key(&full) {
        return Resp::unprocessable("Reference does not exist", DOCS_DELETE_REF);
    }
    if full == format!("refs/heads/{}", repo.git.default_branch) {
        return Resp::unprocessable("Cannot delete the default branch", DOCS_DELETE_REF);
    }
    repo.git.refs.remove(&full);
    Resp::no_content()
}

// https://docs.github.com/en/rest/git/commits#create-a-commit
// 201 with the git commit. `message` and `tree` are required; `parents` defaults to none (a
// root commit); `author` defaults to the authenticated identity and `committer` to
// `author`. An unknown tree or parent gets 422.
fn create_commit(st: &mut State, req: &Req, owner: &str, name: &str) -> Resp {
    let body = match req.json(DOCS_CREATE_COMMIT) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let State {
        base, repos, users, ..
    } = st;
    let Some(repo) = repos.get_mut(&repo_key(owner, name)) else {
        return Resp::not_found(DOCS_CREATE_COMMIT);
    };
    let Some(message) = body["message"].as_str() else {
        return Resp::missing("message", DOCS_CREATE_COMMIT);
    };
    let Some(tree) = body["tree"].as_str() else {
        return Resp::missing("tree", DOCS_CREATE_COMMIT);
    };
    let parents = match &body["parents"] {
        Value::Null => Vec::new(),
        Value::Array(list) => {
            let parents: Option<Vec<String>> = list
                .iter()
                .map(|p| p.as_str().map(str::to_string))
                .collect();
            match parents {
                Some(p) => p,
                None => return Resp::invalid_field("Commit", "parents", DOCS_CREATE_COMMIT),
            }
        }
        _ => return Resp::invalid_field("Commit", "parents", DOCS_CREATE_COMMIT),
    };
    if !repo.git.trees.contains(tree) {
        return Resp::unprocessable("Tree SHA does not exist", DOCS_CREATE_COMMIT);
    }
    if parents.iter().any(|p| !repo.git.commits.contains_key(p)) {
        return Resp::unprocessable(
            "Parent SHA does not exist or is not a commit object",
            DOCS_CREATE_COMMIT,
        );
    }
    let author = match signature(&body["author"], users) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let committer = match &body["committer"] {
        Value::Null => author.clone(),
        v => match signature(v, users) {
            Ok(s) => s,
            Err(e) => return e,
        },
    };
    let sha = repo
        .git
        .write_commit(tree, parents, message, author, committer);
    let location = format!("{}/git/commits/{sha}", repo.api(base));
    Resp::created(git_commit_json(base, repo, &sha), location)
}

// https://docs.github.com/en/rest/git/commits#get-a-commit-object
// 200 with the git commit; 404 when there is none.
fn get_git_commit(st: &mut State, owner: &str, name: &str, sha: &str) -> Resp {
    let Some(repo) = st.repos.get(&repo_key(owner, name)) else {
        return Resp::not_found(DOCS_GET_GIT_COMMIT);
    };
    if !repo.git.commits.contains_key(sha) {
        return Resp::not_found(DOCS_GET_GIT_COMMIT);
    }
    Resp::ok(git_commit_json(&st.base, repo, sha))
}

/// An `author` / `committer` body parameter; null means the authenticated identity now.
fn signature(value: &Value, users: &mut Users) -> Result<Signature, Resp> {
    if value.is_null() {
        return Ok(Signature::of(users, BOT_LOGIN, now()));
    }
    let Some(name) = value["name"].as_str() else {
        return Err(Resp::missing("name", DOCS_CREATE_COMMIT));
    };
    let Some(email) = value["email"].as_str() else {
        return Err(Resp::missing("email", DOCS_CREATE_COMMIT));
    };
    let date = match value["date"].as_str() {
        None => now(),
        Some(d) => match DateTime::parse_from_rfc3339(d) {
            Ok(d) => seconds(d.with_timezone(&Utc)),
            Err(_) => return Err(Resp::invalid_field("Commit", "date", DOCS_CREATE_COMMIT)),
        },
    };
    Ok(Signature {
        name: name.to_string(),
        email: email.to_string(),
        date,
    })
}

/// `ref` as "Create a reference" accepts it: `refs/` and at least two slashes, and a name
/// git would take (`git check-ref-format`).
fn check_ref_name(full: &str) -> Result<(), String> {
    if full.matches('/').count() < 2 {
        return Err(
            "Reference name must contain at least three slash-separated components.".into(),
        );
    }
    let bad_component = |c: &str| c.is_empty() || c.starts_with('.') || c.ends_with(".lock");
    let bad_char = |ch: char| ch.is_ascii_control() || " ~^:?*[\\".contains(ch);
    let valid = full.starts_with("refs/")
        && !full.split('/').any(bad_component)
        && !full.chars().any(bad_char)
        && !full.contains("..")
        && !full.contains("@{")
        && !full.ends_with('.');
    if valid {
        Ok(())
    } else {
        Err(format!("{full} is not a valid ref name."))
    }
}

fn ref_json(base: &str, repo: &Repo, full: &str, sha: &str) -> Value {
    let api = repo.api(base);
    json!({
        "ref": full,
        "node_id": node_id("REF", &format!("{}:{full}", repo.id)),
        "url": format!("{api}/git/{full}"),
        "object": {"type": "commit", "sha": sha, "url": format!("{api}/git/commits/{sha}")},
    })
}

/// The "Git Commit" object of the git database endpoints.
fn git_commit_json(base: &str, repo: &Repo, sha: &str) -> Value {
    let c = &repo.git.commits[sha];
    let api = repo.api(base);
    let html = repo.html();
    let parents: Vec<Value> = c
        .parents
        .iter()
        .map(|p| json!({"sha": p, "url": format!("{api}/git/commits/{p}"), "html_url": format!("{html}/commit/{p}")}))
        .collect();
    json!({
        "sha": c.sha,
        "node_id": node_id("C", &c.sha),
        "url": format!("{api}/git/commits/{}", c.sha),
        "html_url": format!("{html}/commit/{}", c.sha),
        "author": c.author.json(),
        "committer": c.committer.json(),
        "tree": {"sha": c.tree, "url": format!("{api}/git/trees/{}", c.tree)},
        "message": c.message,
        "parents": parents,
        "verification": unsigned(),
    })
}

fn unsigned() -> Value {
    json!({"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null})
}

/// SHA-1 (FIPS 180-4), which git names its objects with.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in message.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
