//! Tests of the fake GitHub (`tests/support/github`) itself, over real HTTP: if the fake
//! drifts from GitHub's behaviour, the tests that lean on it prove nothing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::support::github::{
    Approval, BOT_LOGIN, Client, EMPTY_TREE, FakeGitHub, Reply, git_hash,
};

const REPO: &str = "acme/web";

fn started() -> (FakeGitHub, Client) {
    let fake = FakeGitHub::start();
    fake.create_repo(REPO);
    let client = fake.client();
    (fake, client)
}

/// Creates a commit on `parent` (with its tree) through the API; returns its sha.
fn commit_on(client: &Client, parent: &str, message: &str) -> String {
    let tree = client
        .get(&format!("/repos/{REPO}/git/commits/{parent}"))
        .json()["tree"]["sha"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = client.post(
        &format!("/repos/{REPO}/git/commits"),
        &json!({"message": message, "tree": tree, "parents": [parent]}),
    );
    reply.expect(201);
    reply.json()["sha"].as_str().unwrap().to_string()
}

fn message(reply: &Reply) -> String {
    reply.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_fake_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<FakeGitHub>();
}

#[test]
fn object_ids_are_the_ones_git_computes() {
    assert_eq!(git_hash("tree", b""), EMPTY_TREE);
    // `echo hello | git hash-object --stdin`
    assert_eq!(
        git_hash("blob", b"hello\n"),
        "ce013625030ba8dba906f756967f9e9ca394464a"
    );
    // Many SHA-1 blocks: `git hash-object` of this text.
    let long = "The quick brown fox jumps over the lazy dog\n".repeat(30);
    assert_eq!(
        git_hash("blob", long.as_bytes()),
        "12bc2f4ae495bec333122991eaed967513e5a432"
    );
}

#[test]
fn main_points_at_an_initial_commit() {
    let (fake, client) = started();
    let main = fake.ref_target(REPO, "refs/heads/main").unwrap();
    assert_eq!(fake.history(REPO, "refs/heads/main"), ["Initial commit"]);

    let reply = client.get(&format!("/repos/{REPO}/git/ref/heads/main"));
    reply.expect(200);
    let body = reply.json();
    assert_eq!(body["ref"], "refs/heads/main");
    assert_eq!(body["object"]["type"], "commit");
    assert_eq!(body["object"]["sha"], main.as_str());
    assert_eq!(
        body["url"],
        format!("{}/repos/{REPO}/git/refs/heads/main", fake.url())
    );

    let commit = client.get(&format!("/repos/{REPO}/commits/heads/main"));
    commit.expect(200);
    let commit = commit.json();
    assert_eq!(commit["sha"], main.as_str());
    assert_eq!(commit["commit"]["message"], "Initial commit");
    assert_eq!(commit["parents"], json!([]));
    assert_eq!(commit["author"]["login"], BOT_LOGIN);
    assert!(commit["commit"]["tree"]["sha"].as_str().unwrap().len() == 40);
    let date = commit["commit"]["author"]["date"].as_str().unwrap();
    assert!(date.ends_with('Z') && date.len() == 20, "{date}");

    // Also by sha, abbreviated sha and bare branch name.
    for rev in [main.as_str(), &main[..7], "main"] {
        client
            .get(&format!("/repos/{REPO}/commits/{rev}"))
            .expect(200);
    }
}

#[test]
fn missing_things_answer_like_github() {
    let (_fake, client) = started();
    let reply = client.get(&format!("/repos/{REPO}/commits/heads/nope"));
    reply.expect(422);
    assert_eq!(
        reply.json(),
        json!({
            "message": "No commit found for SHA: heads/nope",
            "documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
            "status": "422",
        })
    );

    client
        .get(&format!("/repos/{REPO}/git/ref/heads/nope"))
        .expect(404);
    let reply = client.get("/repos/acme/nope/git/ref/heads/main");
    reply.expect(404);
    assert_eq!(reply.json()["message"], "Not Found");
    assert_eq!(reply.json()["status"], "404");
    client
        .get(&format!("/repos/{REPO}/git/commits/{}", "0".repeat(40)))
        .expect(404);
    client.get(&format!("/repos/{REPO}/issues/9")).expect(404);
}

#[test]
fn references_are_compare_and_swap() {
    let (fake, client) = started();
    let main = fake.ref_target(REPO, "refs/heads/main").unwrap();
    let lock = "deploy-lock/web-production";

    let created = client.post(
        &format!("/repos/{REPO}/git/refs"),
        &json!({"ref": format!("refs/heads/{lock}"), "sha": main}),
    );
    created.expect(201);
    assert_eq!(created.json()["ref"], format!("refs/heads/{lock}"));
    assert_eq!(
        created.header("location").unwrap(),
        format!("{}/repos/{REPO}/git/refs/heads/{lock}", fake.url())
    );
    let again = client.post(
        &format!("/repos/{REPO}/git/refs"),
        &json!({"ref": format!("refs/heads/{lock}"), "sha": main}),
    );
    again.expect(422);
    assert_eq!(message(&again), "Reference already exists");

    // Two writers build on the same parent; only the first can move the ref.
    let a = commit_on(&client, &main, "holder: a");
    let b = commit_on(&client, &main, "holder: b");
    assert_ne!(a, b);
    client
        .patch(
            &format!("/repos/{REPO}/git/refs/heads/{lock}"),
            &json!({"sha": a, "force": false}),
        )
        .expect(200);
    let lost = client.patch(
        &format!("/repos/{REPO}/git/refs/heads/{lock}"),
        &json!({"sha": b, "force": false}),
    );
    lost.expect(422);
    assert_eq!(message(&lost), "Update is not a fast forward");
    assert_eq!(
        lost.json()["documentation_url"],
        "https://docs.github.com/rest/git/refs#update-a-reference"
    );
    assert_eq!(
        fake.ref_target(REPO, &format!("refs/heads/{lock}")),
        Some(a.clone())
    );
    assert_eq!(
        fake.history(REPO, &format!("refs/heads/{lock}")),
        ["holder: a", "Initial commit"]
    );
    assert_eq!(fake.commit_message(REPO, &b).unwrap(), "holder: b");

    // `force` overrides; omitting it means false.
    let c = commit_on(&client, &a, "holder: c");
    client
        .patch(
            &format!("/repos/{REPO}/git/refs/heads/{lock}"),
            &json!({"sha": c}),
        )
        .expect(200);
    client
        .patch(
            &format!("/repos/{REPO}/git/refs/heads/{lock}"),
            &json!({"sha": b}),
        )
        .expect(422);
    client
        .patch(
            &format!("/repos/{REPO}/git/refs/heads/{lock}"),
            &json!({"sha": b, "force": true}),
        )
        .expect(200);
    let got = client.get(&format!("/repos/{REPO}/commits/heads/{lock}"));
    got.expect(200);
    assert_eq!(got.json()["sha"], b.as_str());
    assert_eq!(got.json()["parents"][0]["sha"], main.as_str());

    // Deleting, then deleting or moving what is gone.
    client
        .delete(&format!("/repos/{REPO}/git/refs/heads/{lock}"))
        .expect(204);
    let gone = client.delete(&format!("/repos/{REPO}/git/refs/heads/{lock}"));
    gone.expect(422);
    assert_eq!(message(&gone), "Reference does not exist");
    let gone = client.patch(
        &format!("/repos/{REPO}/git/refs/heads/{lock}"),
        &json!({"sha": a}),
    );
    gone.expect(422);
    assert_eq!(message(&gone), "Reference does not exist");
    assert_eq!(fake.ref_target(REPO, &format!("refs/heads/{lock}")), None);
}

#[test]
fn creating_refs_and_commits_is_validated() {
    let (fake, client) = started();
    let main = fake.ref_target(REPO, "refs/heads/main").unwrap();
    let refs = format!("/repos/{REPO}/git/refs");

    let short = client.post(&refs, &json!({"ref": "refs/x", "sha": main}));
    short.expect(422);
    assert_eq!(
        message(&short),
        "Reference name must contain at least three slash-separated components."
    );
    client
        .post(&refs, &json!({"ref": "heads/a/b", "sha": main}))
        .expect(422);
    let no_object = client.post(
        &refs,
        &json!({"ref": "refs/heads/x", "sha": "1".repeat(40)}),
    );
    no_object.expect(422);
    assert_eq!(message(&no_object), "Object does not exist");
    client
        .post(&refs, &json!({"ref": "refs/heads/x"}))
        .expect(422);

    let commits = format!("/repos/{REPO}/git/commits");
    let root = client.post(&commits, &json!({"message": "root", "tree": EMPTY_TREE}));
    root.expect(201);
    assert_eq!(root.json()["parents"], json!([]));
    assert_eq!(root.json()["author"]["name"], BOT_LOGIN);
    client
        .post(&commits, &json!({"message": "m", "tree": "2".repeat(40)}))
        .expect(422);
    client
        .post(
            &commits,
            &json!({"message": "m", "tree": EMPTY_TREE, "parents": ["3".repeat(40)]}),
        )
        .expect(422);
    client
        .post(&commits, &json!({"tree": EMPTY_TREE}))
        .expect(422);
    let broken = client.send(
        "POST",
        &commits,
        &[("Content-Type", "application/json")],
        None,
    );
    assert_ne!(broken.status, 201);

    // A branch cannot sit where another branch is a directory, or the reverse.
    client
        .post(&refs, &json!({"ref": "refs/heads/deploy", "sha": main}))
        .expect(201);
    let clash = client.post(&refs, &json!({"ref": "refs/heads/deploy/web", "sha": main}));
    clash.expect(422);
    assert_eq!(message(&clash), "Reference update failed");
}

#[test]
fn conditional_requests_get_304_and_cost_nothing() {
    let (fake, client) = started();
    let path = format!("/repos/{REPO}/commits/heads/main");
    let first = client.get(&path);
    first.expect(200);
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    let remaining = first.number("x-ratelimit-remaining");

    fake.reset_calls();
    let again = client.send("GET", &path, &[("If-None-Match", &etag)], None);
    again.expect(304);
    assert_eq!(again.body, "");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.number("x-ratelimit-remaining"), remaining);
    assert_eq!(fake.counted_calls(), 0);
    assert_eq!(fake.calls().len(), 1);
    assert_eq!(fake.calls()[0].status, 304);
    assert!(!fake.calls()[0].counted);

    // A different tag, or a changed resource, gets the full answer and costs one.
    let other = client.send("GET", &path, &[("If-None-Match", "W/\"nope\"")], None);
    other.expect(200);
    assert_eq!(other.header("etag"), Some(etag.as_str()));
    fake.push(REPO, "main", "moved");
    let moved = client.send("GET", &path, &[("If-None-Match", &etag)], None);
    moved.expect(200);
    assert_ne!(moved.header("etag"), Some(etag.as_str()));
    assert_eq!(moved.json()["commit"]["message"], "moved");
    assert_eq!(fake.counted_calls(), 2);
}

#[test]
fn comments_paginate_with_link_headers() {
    let (fake, client) = started();
    let issue = fake.create_issue(REPO, "Deploy lock", "held");
    for i in 1..=7 {
        fake.comment(REPO, issue, "alice", &format!("comment {i}"));
    }
    let first = client.get(&format!("/repos/{REPO}/issues/{issue}/comments?per_page=3"));
    first.expect(200);
    let base = format!("{}/repos/{REPO}/issues/{issue}/comments", fake.url());
    assert_eq!(
        first.header("link").unwrap(),
        format!(
            "<{base}?per_page=3&page=2>; rel=\"next\", <{base}?per_page=3&page=3>; rel=\"last\""
        )
    );

    let mut bodies = Vec::new();
    let mut page = first;
    let mut pages = 1;
    loop {
        bodies.extend(
            page.json()
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["body"].as_str().unwrap().to_string()),
        );
        let Some(next) = page.link("next") else { break };
        page = client.get(&next);
        page.expect(200);
        pages += 1;
        if pages == 2 {
            assert_eq!(
                page.link("prev").unwrap(),
                format!("{base}?per_page=3&page=1")
            );
            assert_eq!(
                page.link("first").unwrap(),
                format!("{base}?per_page=3&page=1")
            );
            assert_eq!(
                page.link("last").unwrap(),
                format!("{base}?per_page=3&page=3")
            );
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1..=7).map(|i| format!("comment {i}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(page.link("last"), None);
    assert!(page.link("prev").is_some());

    // Everything on one page: no link header. Default page size is 30.
    let all = client.get(&format!("/repos/{REPO}/issues/{issue}/comments"));
    assert_eq!(all.header("link"), None);
    assert_eq!(all.json().as_array().unwrap().len(), 7);
    let comment = &all.json()[0];
    assert_eq!(comment["user"]["login"], "alice");
    assert_eq!(comment["user"]["type"], "User");
    assert!(
        comment["html_url"]
            .as_str()
            .unwrap()
            .contains("#issuecomment-")
    );
    // Each page has its own ETag.
    let p1 = client.get(&format!(
        "/repos/{REPO}/issues/{issue}/comments?per_page=3&page=1"
    ));
    let p2 = client.get(&format!(
        "/repos/{REPO}/issues/{issue}/comments?per_page=3&page=2"
    ));
    assert_ne!(p1.header("etag"), p2.header("etag"));
}

#[test]
fn since_keeps_comments_updated_at_or_after_it() {
    let (fake, client) = started();
    let issue = fake.create_issue(REPO, "Deploy lock", "");
    let at = |h| Utc.with_ymd_and_hms(2024, 5, 1, h, 0, 0).unwrap();
    let old = fake.comment_at(REPO, issue, "alice", "old", at(9));
    fake.comment_at(REPO, issue, "bob", "edge", at(10));
    fake.comment_at(REPO, issue, "carol", "new", at(11));
    fake.edit_comment(REPO, old, "old, edited");

    let reply = client.get(&format!(
        "/repos/{REPO}/issues/{issue}/comments?since=2024-05-01T10:00:00Z"
    ));
    reply.expect(200);
    let bodies: Vec<String> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bodies, ["old, edited", "edge", "new"]);
    let edited = &reply.json()[0];
    assert_eq!(edited["created_at"], "2024-05-01T09:00:00Z");
    assert_ne!(edited["updated_at"], "2024-05-01T09:00:00Z");

    let later = client.get(&format!(
        "/repos/{REPO}/issues/{issue}/comments?since=2024-05-01T10:00:01Z"
    ));
    assert_eq!(later.json().as_array().unwrap().len(), 2);
    client
        .get(&format!(
            "/repos/{REPO}/issues/{issue}/comments?since=yesterday"
        ))
        .expect(422);
}

#[test]
fn credentials_are_checked() {
    let (fake, _) = started();
    let path = format!("/repos/{REPO}/git/ref/heads/main");
    for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
        let reply = Client::with_authorization(fake.url(), auth).get(&path);
        reply.expect(401);
        assert_eq!(
            reply.json(),
            json!({
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401",
            })
        );
    }
    let token = format!("token {}", fake.token());
    Client::with_authorization(fake.url(), Some(&token))
        .get(&path)
        .expect(200);
    fake.client().get(&path).expect(200);
    assert!(
        fake.calls()
            .iter()
            .filter(|c| c.status == 401)
            .all(|c| !c.counted)
    );
}

#[test]
fn unknown_routes_are_recorded_and_fail_the_test() {
    let (fake, client) = started();
    let reply = client.get("/x?y=1");
    reply.expect(404);
    assert_eq!(message(&reply), "Not Found");
    client.send("PUT", &format!("/repos/{REPO}/git/refs"), &[], None);
    assert_eq!(
        fake.unknown_requests(),
        ["GET /x?y=1", &format!("PUT /repos/{REPO}/git/refs")]
    );
    let panic = catch_unwind(AssertUnwindSafe(|| fake.assert_known())).unwrap_err();
    let text = panic.downcast_ref::<String>().unwrap();
    assert!(
        text.starts_with("fake GitHub got requests it does not know: GET /x?y=1"),
        "{text}"
    );
    fake.clear_unknown();
    fake.assert_known();

    // Dropping a fake that saw an unknown request panics too.
    let dropped = catch_unwind(|| {
        let fake = FakeGitHub::start();
        fake.client().delete("/nowhere");
    })
    .unwrap_err();
    let text = dropped.downcast_ref::<String>().unwrap();
    assert!(text.contains("DELETE /nowhere"), "{text}");
}

#[test]
fn secondary_limit_answers_403_with_retry_after() {
    let (fake, client) = started();
    fake.secondary_limit_next(2, 7);
    let path = format!("/repos/{REPO}/git/ref/heads/main");
    for _ in 0..2 {
        let reply = client.get(&path);
        reply.expect(403);
        assert_eq!(reply.header("retry-after"), Some("7"));
        assert!(
            message(&reply).starts_with("You have exceeded a secondary rate limit"),
            "{}",
            reply.body
        );
        assert!(reply.number("x-ratelimit-remaining") > 0);
    }
    let ok = client.get(&path);
    ok.expect(200);
    assert_eq!(ok.header("retry-after"), None);
}

#[test]
fn rate_limit_headers_count_down_and_run_out() {
    let (fake, client) = started();
    let path = format!("/repos/{REPO}/git/ref/heads/main");
    let first = client.get(&path);
    let second = client.get(&path);
    assert_eq!(first.number("x-ratelimit-limit"), 1000);
    assert_eq!(first.header("x-ratelimit-resource"), Some("core"));
    assert_eq!(
        first.number("x-ratelimit-remaining") - 1,
        second.number("x-ratelimit-remaining")
    );
    assert_eq!(
        first.number("x-ratelimit-used") + 1,
        second.number("x-ratelimit-used")
    );
    let reset = first.number("x-ratelimit-reset");
    let in_an_hour = Utc::now().timestamp() + 3600;
    assert!((in_an_hour - 5..=in_an_hour).contains(&reset), "{reset}");

    fake.set_rate_limit(1, Duration::from_secs(120));
    let last = client.get(&path);
    last.expect(200);
    assert_eq!(last.number("x-ratelimit-remaining"), 0);
    let out = client.get(&path);
    out.expect(403);
    assert_eq!(out.number("x-ratelimit-remaining"), 0);
    assert!(
        message(&out).starts_with("API rate limit exceeded"),
        "{}",
        out.body
    );
    let reset = out.number("x-ratelimit-reset");
    assert!((reset - Utc::now().timestamp() - 120).abs() <= 2, "{reset}");

    // GET /rate_limit still answers and costs nothing.
    let status = client.get("/rate_limit");
    status.expect(200);
    assert_eq!(status.json()["resources"]["core"]["remaining"], 0);
    assert_eq!(status.json()["rate"]["limit"], 1000);
    assert_eq!(fake.rate_limit().remaining, 0);
    let calls = fake.calls();
    let tail: Vec<(u16, bool)> = calls
        .iter()
        .rev()
        .take(3)
        .map(|c| (c.status, c.counted))
        .collect();
    assert_eq!(tail, [(200, false), (403, false), (200, true)]);
}

#[test]
fn injected_failures_come_first_and_then_stop() {
    let (fake, client) = started();
    fake.fail_next(2, 502);
    let path = format!("/repos/{REPO}/git/ref/heads/main");
    assert_eq!(client.get(&path).status, 502);
    assert_eq!(client.get(&path).status, 502);
    client.get(&path).expect(200);
    assert_eq!(fake.counted_calls(), 1);
}

#[test]
fn issues_open_comment_and_close() {
    let (fake, client) = started();
    let created = client.post(
        &format!("/repos/{REPO}/issues"),
        &json!({"title": "Approve deploy", "body": "please", "labels": ["deploy"], "assignees": ["alice"]}),
    );
    created.expect(201);
    let issue = created.json();
    let n = issue["number"].as_u64().unwrap();
    assert_eq!(issue["user"]["login"], BOT_LOGIN);
    assert_eq!(issue["user"]["type"], "Bot");
    assert_eq!(issue["state"], "open");
    assert_eq!(issue["labels"][0]["name"], "deploy");
    assert_eq!(issue["assignees"][0]["login"], "alice");
    assert_eq!(
        created.header("location").unwrap(),
        format!("{}/repos/{REPO}/issues/{n}", fake.url())
    );
    client
        .post(
            &format!("/repos/{REPO}/issues"),
            &json!({"body": "no title"}),
        )
        .expect(422);

    let comment = client.post(
        &format!("/repos/{REPO}/issues/{n}/comments"),
        &json!({"body": "waiting"}),
    );
    comment.expect(201);
    assert_eq!(comment.json()["user"]["login"], BOT_LOGIN);
    fake.comment(REPO, n, "alice", "/approve");
    assert_eq!(
        client.get(&format!("/repos/{REPO}/issues/{n}")).json()["comments"],
        2
    );

    let closed = client.patch(
        &format!("/repos/{REPO}/issues/{n}"),
        &json!({"state": "closed", "state_reason": "not_planned"}),
    );
    closed.expect(200);
    assert_eq!(closed.json()["state"], "closed");
    assert_eq!(closed.json()["state_reason"], "not_planned");
    assert!(closed.json()["closed_at"].is_string());
    client
        .patch(
            &format!("/repos/{REPO}/issues/{n}"),
            &json!({"state": "shut"}),
        )
        .expect(422);

    let view = fake.issue(REPO, n).unwrap();
    assert_eq!(view.title, "Approve deploy");
    assert_eq!(view.body, "please");
    assert_eq!(view.state, "closed");
    assert_eq!(view.state_reason.as_deref(), Some("not_planned"));
    assert_eq!(view.labels, ["deploy"]);
    assert_eq!(view.assignees, ["alice"]);
    let who: Vec<(&str, &str)> = view
        .comments
        .iter()
        .map(|c| (c.login.as_str(), c.body.as_str()))
        .collect();
    assert_eq!(who, [(BOT_LOGIN, "waiting"), ("alice", "/approve")]);

    let open = client.get(&format!("/repos/{REPO}/issues?state=open"));
    assert_eq!(open.json(), json!([]));
    let all = client.get(&format!("/repos/{REPO}/issues?state=all&labels=deploy"));
    assert_eq!(all.json().as_array().unwrap().len(), 1);
}

#[test]
fn team_members_and_run_approvals() {
    let (fake, client) = started();
    let members: Vec<String> = (0..5).map(|i| format!("dev{i}")).collect();
    let logins: Vec<&str> = members.iter().map(String::as_str).collect();
    fake.add_team("acme", "deployers", &logins);

    let page = client.get("/orgs/acme/teams/deployers/members?per_page=2");
    page.expect(200);
    assert_eq!(page.json()[0]["login"], "dev0");
    assert_eq!(page.json()[0]["type"], "User");
    assert!(page.link("next").unwrap().ends_with("per_page=2&page=2"));
    assert!(page.link("last").unwrap().ends_with("per_page=2&page=3"));
    client.get("/orgs/acme/teams/nobody/members").expect(404);

    client
        .get(&format!("/repos/{REPO}/actions/runs/42/approvals"))
        .expect(404);
    fake.set_run_approvals(
        REPO,
        42,
        vec![
            Approval::approved("dev1", &["production"]).with_comment("ship it"),
            Approval::rejected("dev2", &["staging", "production"]),
        ],
    );
    let reply = client.get(&format!("/repos/{REPO}/actions/runs/42/approvals"));
    reply.expect(200);
    let body = reply.json();
    assert_eq!(body[0]["state"], "approved");
    assert_eq!(body[0]["user"]["login"], "dev1");
    assert_eq!(body[0]["comment"], "ship it");
    assert_eq!(body[0]["environments"][0]["name"], "production");
    assert_eq!(body[1]["state"], "rejected");
    assert_eq!(body[1]["environments"].as_array().unwrap().len(), 2);
}

#[test]
fn many_clients_at_once() {
    let (fake, _) = started();
    let issue = fake.create_issue(REPO, "busy", "");
    std::thread::scope(|s| {
        for i in 0..20 {
            let client = fake.client();
            s.spawn(move || {
                client
                    .post(
                        &format!("/repos/{REPO}/issues/{issue}/comments"),
                        &json!({"body": format!("hello {i}")}),
                    )
                    .expect(201);
            });
        }
    });
    assert_eq!(fake.issue(REPO, issue).unwrap().comments.len(), 20);
    assert_eq!(fake.counted_calls(), 20);
    assert_eq!(fake.rate_limit().used, 20);
}
