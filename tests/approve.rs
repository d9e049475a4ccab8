//! `approve`: the github-issue backend against the fake GitHub (the tests play the
//! approvers' comments), the github-environment record, and the terminal backend.

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lock::file_command_value;
use crate::support::github::{Approval, FakeGitHub, IssueView};
use crate::support::{Run, bin, eventually};

const REPO: &str = "acme/shop";

/// One approval scenario: a fake GitHub with the repository, a deploy.toml with
/// `[approval]`, and everything the binary printed, to check that the token never shows.
struct Gate {
    fake: FakeGitHub,
    dir: tempfile::TempDir,
    printed: Mutex<String>,
}

impl Gate {
    fn new(approval: &str) -> Self {
        let fake = FakeGitHub::start();
        fake.create_repo(REPO);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("deploy.toml"),
            format!(
                "service = \"shop\"\nenvironment = \"production\"\n\n[approval]\npoll = \"100ms\"\n{approval}\n"
            ),
        )
        .unwrap();
        Self {
            fake,
            dir,
            printed: Mutex::default(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir.path())
            .env_remove("DEPLOY_ACTION_CONFIG")
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", self.dir.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary"))
            .env("GITHUB_API_URL", self.fake.url())
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_TOKEN", self.fake.token())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
            .env("GITHUB_ACTOR", "octo")
            .arg("approve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().unwrap()
    }

    fn finish(&self, child: Child) -> Run {
        let run = Run::from(child.wait_with_output().unwrap());
        let mut printed = self.printed.lock().unwrap();
        printed.push_str(&run.stdout);
        printed.push_str(&run.stderr);
        run
    }

    /// The approval issue, once the binary has opened it.
    fn issue(&self) -> IssueView {
        eventually(20, "the approval issue to open", || {
            !self.fake.issues(REPO).is_empty()
        });
        self.fake.issues(REPO).remove(0)
    }

    fn comment(&self, login: &str, body: &str) -> u64 {
        self.fake.comment(REPO, self.issue().number, login, body)
    }

    fn output(&self, name: &str) -> String {
        file_command_value(&self.dir.path().join("output"), name)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // Nothing the binary printed holds the token, except the line that asks the runner
        // to mask it (which the runner consumes and never shows).
        let printed = self.printed.lock().unwrap();
        let leaks: Vec<&str> = printed
            .lines()
            .filter(|l| l.contains(self.fake.token()) && !l.starts_with("::add-mask::"))
            .collect();
        assert!(leaks.is_empty(), "the token was printed: {leaks:?}");
        if !self.fake.calls().is_empty() {
            assert!(
                printed.contains(&format!("::add-mask::{}", self.fake.token())),
                "the token was not masked under Actions"
            );
        }
    }
}

fn closed_as(issue: &IssueView, reason: &str, comment: &str) {
    assert_eq!(issue.state, "closed", "{issue:?}");
    assert_eq!(issue.state_reason.as_deref(), Some(reason));
    let last = issue.comments.last().expect("an outcome comment");
    assert!(
        last.body.contains(comment),
        "outcome comment {:?} lacks {comment:?}",
        last.body
    );
}

#[test]
fn an_approver_approves_and_the_issue_says_what_is_deployed() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"alice\", \"bob\"]");
    let summary = gate.dir.path().join("scan.md");
    std::fs::write(&summary, "| CRITICAL | HIGH |\n|---|---|\n| 0 | 2 new |\n").unwrap();
    let child = gate.spawn(&[
        "--version",
        "1.2.3",
        "--image",
        "registry.example/shop@sha256:abcd",
        "--base",
        "v1.2.2",
        "--scan-summary",
        summary.to_str().unwrap(),
    ]);
    let issue = gate.issue();
    for shown in [
        "shop",
        "production",
        "1.2.3",
        "registry.example/shop@sha256:abcd",
        "https://github.example/acme/shop/actions/runs/4242",
        "https://github.example/acme/shop/compare/v1.2.2...0123456789abcdef0123456789abcdef01234567",
        "@alice",
        "@bob",
        "| 0 | 2 new |",
    ] {
        assert!(
            issue.body.contains(shown),
            "the issue lacks {shown:?}:\n{}",
            issue.body
        );
    }
    assert_eq!(issue.assignees, ["alice", "bob"]);
    gate.comment("alice", "Approve, ship it");
    let run = gate.finish(child);
    run.success();
    let issue = gate.issue();
    closed_as(&issue, "completed", "Approved");
    assert_eq!(gate.output("approvers"), "alice");
    assert!(
        gate.output("issue-url")
            .ends_with(&format!("/issues/{}", issue.number))
    );
    let summary = std::fs::read_to_string(gate.dir.path().join("summary")).unwrap();
    assert!(summary.contains("@alice"), "{summary}");
}

#[test]
fn a_non_approver_cannot_approve_and_the_timeout_closes_the_issue() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"alice\"]");
    let started = Instant::now();
    let child = gate.spawn(&["--timeout", "3s"]);
    gate.comment("mallory", "approve");
    let run = gate.finish(child);
    run.code(4);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(run.stderr.contains("not an approver"), "{}", run.stderr);
    closed_as(&gate.issue(), "not_planned", "Timed out");
}

#[test]
fn an_approval_written_before_the_request_does_not_count() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"alice\", \"bob\"]");
    let child = gate.spawn(&[]);
    let issue = gate.issue();
    // A comment dated a minute before the issue opened (imported, or a clock trick).
    gate.fake.comment_at(
        REPO,
        issue.number,
        "alice",
        "approve",
        chrono::Utc::now() - chrono::Duration::seconds(60),
    );
    std::thread::sleep(Duration::from_millis(500));
    gate.comment("bob", "lgtm");
    let run = gate.finish(child);
    run.success();
    assert_eq!(gate.output("approvers"), "bob");
}

#[test]
fn an_edited_comment_does_not_count() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"alice\", \"bob\"]");
    let child = gate.spawn(&[]);
    let id = gate.comment("alice", "let me look first");
    std::thread::sleep(Duration::from_millis(1100));
    gate.fake.edit_comment(REPO, id, "approve");
    std::thread::sleep(Duration::from_millis(500));
    gate.comment("bob", "approve");
    let run = gate.finish(child);
    run.success();
    assert_eq!(gate.output("approvers"), "bob");
    assert!(run.stderr.contains("edited"), "{}", run.stderr);
}

#[test]
fn team_approvers_are_read_from_every_page_with_no_cap() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"acme/ops\"]");
    let members: Vec<String> = (0..250).map(|i| format!("ops-{i:03}")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    gate.fake.add_team("acme", "ops", &refs);
    let child = gate.spawn(&[]);
    gate.comment("ops-237", "approve");
    gate.finish(child).success();
    assert_eq!(gate.output("approvers"), "ops-237");
    let pages = gate
        .fake
        .calls()
        .iter()
        .filter(|c| c.path == "/orgs/acme/teams/ops/members")
        .count();
    assert_eq!(pages, 3, "250 members are three pages of 100");
}

#[test]
fn every_page_of_comments_is_read() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"alice\"]");
    let child = gate.spawn(&[]);
    let number = gate.issue().number;
    // 230 comments of discussion first: the approval is on the third page of 100.
    for i in 0..230 {
        gate.fake
            .comment(REPO, number, "bob", &format!("question {i}"));
    }
    gate.comment("alice", "approve");
    gate.finish(child).success();
    assert_eq!(gate.output("approvers"), "alice");
    let pages: std::collections::BTreeSet<String> = gate
        .fake
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("/comments") && c.method == "GET")
        .map(|c| c.query.clone())
        .collect();
    assert!(
        pages.iter().any(|q| q.contains("page=3")),
        "the third page was never read: {pages:?}"
    );
}

#[test]
fn one_denial_denies() {
    let gate = Gate::new(
        "backend = \"github-issue\"\napprovers = [\"alice\", \"bob\"]\nmin_approvals = 2",
    );
    let child = gate.spawn(&[]);
    gate.comment("alice", "approve");
    gate.comment("bob", "deny: the migration is not ready");
    let run = gate.finish(child);
    run.code(1);
    assert!(run.stderr.contains("bob denied"), "{}", run.stderr);
    closed_as(&gate.issue(), "not_planned", "Denied");
}

#[test]
fn two_approvals_need_two_people() {
    let gate = Gate::new(
        "backend = \"github-issue\"\napprovers = [\"alice\", \"bob\"]\nmin_approvals = 2",
    );
    let child = gate.spawn(&[]);
    gate.comment("alice", "approve");
    gate.comment("alice", "approve");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(gate.issue().state, "open", "one person approved twice");
    gate.comment("bob", "approved");
    gate.finish(child).success();
    assert_eq!(gate.output("approvers"), "alice,bob");
}

#[test]
fn the_initiator_cannot_approve_their_own_run() {
    let gate = Gate::new(
        "backend = \"github-issue\"\napprovers = [\"octo\", \"bob\"]\nexclude_initiator = true",
    );
    let child = gate.spawn(&[]);
    gate.comment("octo", "approve");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(gate.issue().state, "open", "the initiator approved");
    gate.comment("bob", "approve");
    let run = gate.finish(child);
    run.success();
    assert_eq!(gate.output("approvers"), "bob");
    assert!(run.stderr.contains("started this run"), "{}", run.stderr);
}

#[test]
fn polling_for_approval_costs_almost_no_rate_limit() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"alice\"]");
    let child = gate.spawn(&["--timeout", "3s"]);
    let run = gate.finish(child);
    run.code(4);
    let calls = gate.fake.calls();
    let polls = calls
        .iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/comments"))
        .collect::<Vec<_>>();
    let counted = polls.iter().filter(|c| c.counted).count();
    assert!(polls.len() >= 10, "{} looks in 3 s at 100 ms", polls.len());
    assert!(counted <= 1, "unchanged looks cost rate limit: {polls:?}");
}

#[test]
fn the_environment_backend_records_who_approved_the_run() {
    let gate = Gate::new("backend = \"github-environment\"");
    gate.fake.set_run_approvals(
        REPO,
        4242,
        vec![
            Approval::approved("carol", &["production"]).with_comment("go"),
            Approval::approved("dave", &["staging"]),
        ],
    );
    let run = gate.finish(gate.spawn(&[]));
    run.success();
    assert_eq!(gate.output("approvers"), "carol");
    let summary = std::fs::read_to_string(gate.dir.path().join("summary")).unwrap();
    assert!(
        summary.contains("@carol") && summary.contains("go"),
        "{summary}"
    );
    // A run nobody approved for this environment fails closed.
    let gate = Gate::new("backend = \"github-environment\"");
    gate.fake
        .set_run_approvals(REPO, 4242, vec![Approval::approved("dave", &["staging"])]);
    gate.finish(gate.spawn(&[])).code(1);
}

#[test]
fn the_terminal_backend_needs_a_terminal_or_yes() {
    let gate = Gate::new("backend = \"tty\"");
    let run = gate.finish(gate.spawn(&[]));
    run.code(1);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    gate.finish(gate.spawn(&["--yes"])).success();
    assert_eq!(gate.output("approvers"), "octo");
}

#[test]
fn bad_approval_settings_exit_2() {
    let gate = Gate::new("backend = \"github-issue\"\napprovers = []");
    let run = gate.finish(gate.spawn(&[]));
    run.code(2);
    assert!(run.stderr.contains("approval.approvers"), "{}", run.stderr);
    let gate = Gate::new("backend = \"github-issue\"\napprovers = [\"alice\"]\nmin_approvals = 2");
    let run = gate.finish(gate.spawn(&[]));
    run.code(2);
    assert!(
        gate.fake.issues(REPO).is_empty(),
        "an impossible request was opened"
    );
    let gate = Gate::new("backend = \"github-isue\"");
    let run = gate.finish(gate.spawn(&[]));
    run.code(2);
    assert!(run.stderr.contains("deploy.toml:6:"), "{}", run.stderr);
}
