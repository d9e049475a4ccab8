//! `run`: the whole release against the real engine and router, with the fake GitHub and
//! the fake Grafana: every step in order, the summary, rollback on a failed smoke check,
//! the lock released on every path (a signal included), and bad input.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lock::file_command_value;
use crate::support::github::FakeGitHub;
use crate::support::grafana::FakeGrafana;
use crate::support::images::{SLOW_START, V1, V2};
use crate::support::{Run, Service, eventually};

const REPO: &str = "acme/shop";

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/scan/trivy/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A service behind HAProxy, a fake Grafana and GitHub, a lock directory, and the files an
/// Actions step writes.
struct Release {
    svc: Service,
    grafana: FakeGrafana,
    github: FakeGitHub,
    sha: String,
    actions: tempfile::TempDir,
}

impl Release {
    /// `tables`: extra deploy.toml tables; `{grafana}` and `{locks}` are filled in.
    fn new(tables: &str) -> Self {
        let grafana = FakeGrafana::start();
        let github = FakeGitHub::start();
        github.create_repo(REPO);
        let sha = github.ref_target(REPO, "refs/heads/main").unwrap();
        let actions = tempfile::tempdir().unwrap();
        let locks = actions.path().join("locks");
        let tables = tables
            .replace("{grafana}", grafana.url())
            .replace("{locks}", &locks.display().to_string());
        let svc = Service::haproxy().with_config(&tables);
        Self {
            svc,
            grafana,
            github,
            sha,
            actions,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = self.svc.command(args);
        c.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", self.actions.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", self.actions.path().join("summary"))
            .env("GRAFANA_TOKEN", self.grafana.token())
            .env("GITHUB_API_URL", self.github.url())
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_TOKEN", self.github.token())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SHA", &self.sha)
            .env("GITHUB_ACTOR", "octo")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        let run = Run::from(self.command(args).output().unwrap());
        self.no_secret_in(&run);
        run
    }

    fn no_secret_in(&self, run: &Run) {
        for secret in [self.github.token().to_string(), self.grafana.token()] {
            for line in run.stdout.lines().chain(run.stderr.lines()) {
                assert!(
                    !line.contains(&secret) || line.starts_with("::add-mask::"),
                    "a token was printed: {line}"
                );
            }
        }
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.actions.path().join("summary")).unwrap_or_default()
    }

    fn output(&self, name: &str) -> String {
        file_command_value(&self.actions.path().join("output"), name)
    }

    fn lock_held(&self) -> bool {
        let status = self.svc.run(&["--json", "lock", "status"]);
        status.success();
        status.json()["held"].as_bool().unwrap()
    }
}

fn steps(doc: &Value) -> Vec<(String, String)> {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const LOCAL_STEPS: &str = r#"
[lock]
dir = "{locks}"
ttl = "3s"

[approval]
backend = "tty"

[grafana]
url = "{grafana}"
timeout = "2s"
"#;

/// A build context whose image is the test app at `from`, relabelled.
fn context(release: &Release, from: &str) -> PathBuf {
    let dir = release.svc.dir.path().join("app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {from}\nLABEL org.example.built-by=run-test\n"),
    )
    .unwrap();
    dir
}

#[test]
fn run_builds_scans_locks_approves_annotates_deploys_and_smoke_tests() {
    let tables = format!(
        "{LOCAL_STEPS}\n[build]\nimage = \"deploy-action-run-{pid}\"\ncontext = \"app\"\n\n\
         [scan]\ncommand = [\"cat\", \"{clean}\"]\n\n\
         [[smoke]]\nname = \"home\"\nurl = \"${{BASE_URL}}/\"\nbody_contains = \"hello from v2\"\n\n\
         [[smoke]]\nname = \"version\"\nurl = \"${{BASE_URL}}/version\"\nstatus = 200\n",
        pid = std::process::id(),
        clean = fixture("clean.json"),
    );
    let release = Release::new(&tables);
    context(&release, V2);
    let junit = release.actions.path().join("smoke.xml");

    let run = release.run(&[
        "--json",
        "run",
        "--version",
        "v2",
        "--yes",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    run.success();
    let doc = run.json();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["outcome"], "success");
    assert_eq!(
        steps(&doc),
        pairs(&[
            ("build", "passed"),
            ("scan", "passed"),
            ("lock", "passed"),
            ("approve", "passed"),
            ("annotate start", "passed"),
            ("deploy", "passed"),
            ("smoke", "passed"),
            ("annotate finish", "passed"),
            ("unlock", "passed"),
        ])
    );
    assert_eq!(doc["version"], "v2");
    assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(doc["scan"]["failing"], "0");
    assert_eq!(doc["smoke"]["passed"], 2, "{doc:#}");
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuite")
    );

    // The new release serves; the lock is free again.
    assert_eq!(release.svc.get("/").body, "hello from v2\n");
    assert!(!release.lock_held());

    // One Grafana region, closed as a success; one GitHub deployment, successful.
    let regions = release.grafana.annotations();
    assert_eq!(regions.len(), 1, "{regions:?}");
    assert!(regions[0].tags.contains(&"success".to_string()));
    assert!(!regions[0].tags.contains(&"in-progress".to_string()));
    assert!(regions[0].time_end > regions[0].time);
    assert_eq!(doc["annotation"]["id"], regions[0].id);
    let deployments = release.github.deployments(REPO);
    assert_eq!(deployments.len(), 1);
    let states: Vec<&str> = deployments[0]
        .statuses
        .iter()
        .map(|s| s.state.as_str())
        .collect();
    assert_eq!(states, ["in_progress", "success"]);
    assert_eq!(doc["deployment"]["id"], deployments[0].id);

    // The step summary: the steps, the facts, the smoke table and the release table.
    let summary = release.summary();
    assert!(summary.contains("to production: success"), "{summary}");
    assert!(summary.contains("| smoke | passed |"), "{summary}");
    assert!(summary.contains("| Approved by |"), "{summary}");
    assert!(summary.contains("0 new, 0 failing"), "{summary}");
    assert!(
        summary.contains("https://github.example/acme/shop/deployments/production"),
        "{summary}"
    );
    assert!(
        summary.contains("| RELEASE | VERSION | STATE |"),
        "{summary}"
    );
    assert!(summary.contains("| serving |"), "{summary}");
    assert_eq!(release.output("outcome"), "success");
    assert_eq!(release.output("version"), "v2");
    assert_eq!(
        release.output("deployment-id"),
        deployments[0].id.to_string()
    );
}

#[test]
fn a_failed_smoke_check_rolls_back_finishes_the_marks_and_frees_the_lock() {
    let tables = format!(
        "{LOCAL_STEPS}\n[[smoke]]\nname = \"still v1\"\nurl = \"${{BASE_URL}}/version\"\nbody_contains = \"v1\"\ntimeout = \"1s\"\n"
    );
    let release = Release::new(&tables);
    release.svc.deploy(V1).success();

    let run = release.run(&["--json", "run", "--image", V2, "--yes"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["outcome"], "rolled-back", "{doc:#}");
    assert_eq!(
        steps(&doc),
        pairs(&[
            ("build", "skipped"),
            ("scan", "skipped"),
            ("lock", "passed"),
            ("approve", "passed"),
            ("annotate start", "passed"),
            ("deploy", "passed"),
            ("smoke", "failed"),
            ("rollback", "passed"),
            ("annotate finish", "passed"),
            ("unlock", "passed"),
        ])
    );
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("rolled back to release 1"),
        "{doc:#}"
    );
    // Under --json the workflow commands go to stderr: stdout is the document.
    assert!(run.stderr.contains("::error::1 of 1 smoke checks failed"));

    // v1 serves again, from its warm standby; the lock is free.
    assert_eq!(release.svc.get("/version").body, "v1");
    assert!(!release.lock_held());
    let regions = release.grafana.annotations();
    assert_eq!(regions.len(), 1);
    assert!(regions[0].tags.contains(&"rolled-back".to_string()));
    let deployments = release.github.deployments(REPO);
    assert_eq!(
        deployments[0].statuses.last().unwrap().state,
        "failure",
        "{deployments:?}"
    );
    assert_eq!(release.output("outcome"), "rolled-back");
    assert!(release.summary().contains("| rollback | passed |"));
}

#[test]
fn a_scan_violation_stops_the_release_before_the_lock() {
    let tables = format!(
        "{LOCAL_STEPS}\n[scan]\ncommand = [\"cat\", \"{}\"]\n",
        fixture("image.json")
    );
    let release = Release::new(&tables);
    let run = release.run(&["--json", "run", "--image", V2, "--yes"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["outcome"], "failed");
    let steps = steps(&doc);
    assert_eq!(steps[1], ("scan".to_string(), "failed".to_string()));
    assert_eq!(steps[2], ("lock".to_string(), "not-run".to_string()));
    assert!(release.svc.history().is_empty(), "nothing was deployed");
    assert!(release.grafana.annotations().is_empty());
    assert!(run.stderr.contains("::error::scan gate failed"));
}

#[test]
fn a_scanner_that_fails_exits_3_and_deploys_nothing() {
    let release = Release::new("[scan]\ncommand = [\"false\"]\n");
    let run = release.run(&["run", "--image", V2]);
    run.code(3);
    assert!(
        run.stderr.contains("scanner: false exited"),
        "{}",
        run.stderr
    );
    assert!(release.svc.history().is_empty());
}

#[test]
fn sigterm_while_waiting_for_approval_frees_the_lock_and_deploys_nothing() {
    let tables = "[lock]\ndir = \"{locks}\"\n\n[approval]\nbackend = \"github-issue\"\napprovers = [\"alice\"]\npoll = \"100ms\"\n";
    let release = Release::new(tables);
    let child: Child = release.command(&["run", "--image", V2]).spawn().unwrap();
    eventually(30, "the approval issue is opened", || {
        !release.github.issues(REPO).is_empty()
    });
    assert!(release.lock_held());
    let pid = child.id() as libc::pid_t;
    let sent = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!release.lock_held(), "the lock was released");
    assert!(release.svc.history().is_empty(), "nothing was deployed");
    let issue = &release.github.issues(REPO)[0];
    assert_eq!(issue.state, "closed", "the request was withdrawn");
}

#[test]
fn sigint_during_the_deploy_keeps_the_old_release_marks_the_failure_and_frees_the_lock() {
    let release = Release::new(
        "[lock]\ndir = \"{locks}\"\n\n[grafana]\nurl = \"{grafana}\"\ntimeout = \"2s\"\n",
    );
    release.svc.deploy(V1).success();
    let before = release.svc.containers().len();
    let child: Child = release
        .command(&["run", "--image", SLOW_START])
        .spawn()
        .unwrap();
    eventually(30, "the new release's container starts", || {
        release.svc.containers().len() > before
    });
    assert!(release.lock_held());
    let sent = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cancelled by SIGINT"),
        "{out:?}"
    );
    // The old release serves, the lock is free, the marks say what happened.
    assert_eq!(release.svc.get("/version").body, "v1");
    assert!(!release.lock_held(), "the lock was released");
    let deployments = release.github.deployments(REPO);
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].statuses.last().unwrap().state, "failure");
    let regions = release.grafana.annotations();
    assert!(
        regions[0].tags.contains(&"failure".to_string()),
        "{regions:?}"
    );
    assert!(!regions[0].tags.contains(&"in-progress".to_string()));
}

#[test]
fn bad_run_input_exits_2_and_says_what_to_do() {
    let release = Release::new("");
    let run = release.run(&["run"]);
    run.code(2);
    assert!(run.stderr.contains("nothing to deploy"), "{}", run.stderr);

    let release = Release::new("[scan]\nfail_on = [\"HIGH\"]\n");
    let run = release.run(&["run", "--image", V2]);
    run.code(2);
    assert!(run.stderr.contains("set `scan.command`"), "{}", run.stderr);

    let release = Release::new("");
    let run = release.run(&["run", "--image", V2, "--junit", "x.xml"]);
    run.code(2);
    assert!(run.stderr.contains("no [[smoke]] checks"), "{}", run.stderr);

    let release = Release::new("[scan]\ncommand = \"trivy image {image}\"\n");
    let run = release.run(&["run", "--image", V2]);
    run.code(2);
    assert!(run.stderr.contains("scan.command"), "{}", run.stderr);
}
