//! End to end under the real runner: the production workflow from `workflows/`, unchanged
//! but for its URLs (GitHub's API and server are the fake GitHub) and images (the scanner is
//! a fixture report, the app the test app), run by `act` on this host against the real
//! engine and HAProxy, the fake GitHub and the fake Grafana.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::support::act::{Act, ActRun, Repo, require_act};
use crate::support::github::FakeGitHub;
use crate::support::grafana::FakeGrafana;
use crate::support::images::{V1, V2};
use crate::support::{Service, free_port};

const REPO: &str = "acme/shop";

fn production_workflow() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/workflows/production.yml"
    ))
    .unwrap()
}

/// The user's side: the fakes, the service's engine and router, and its repository.
struct Production {
    github: FakeGitHub,
    grafana: FakeGrafana,
    svc: Service,
}

impl Production {
    /// `app` is the image the repository's Dockerfile builds on; `smoke` the `[[smoke]]` tables.
    fn new(smoke: &str) -> Production {
        let github = FakeGitHub::start();
        github.create_repo(REPO);
        let grafana = FakeGrafana::start();
        let tables = format!(
            r#"
environment = "production"

[build]
image = "e2e-shop-{pid}-{port}"
context = "app"

[scan]
command = ["cat", "{report}"]

[lock]
backend = "github"
ttl = "30s"
poll = "300ms"

[approval]
backend = "github-issue"
approvers = ["alice"]
poll = "200ms"
timeout = "2m"

[grafana]
url = "{grafana}"
timeout = "2s"

{smoke}
"#,
            pid = std::process::id(),
            port = free_port(),
            report = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/scan/trivy/clean.json"
            ),
            grafana = grafana.url(),
        );
        // `environment` belongs at the top: Service writes it before its own tables.
        let svc = Service::haproxy().with_config(&tables);
        let text = std::fs::read_to_string(svc.config_path()).unwrap();
        let text = move_top_level_first(&text, "environment = \"production\"");
        std::fs::write(svc.config_path(), &text).unwrap();
        Production {
            github,
            grafana,
            svc,
        }
    }

    /// The user's repository: the workflow, deploy.toml and the app's Dockerfile on `from`.
    fn repo(&self, from: &str) -> Repo {
        Repo::new(
            REPO,
            &[
                (".github/workflows/production.yml", production_workflow()),
                (
                    "deploy.toml",
                    std::fs::read_to_string(self.svc.config_path()).unwrap(),
                ),
                ("app/Dockerfile", format!("FROM {from}\n")),
            ],
        )
    }

    /// Runs the workflow for a push of `tag`. The harness commits the repository just before
    /// act starts; whatever it commits is pushed to the fake GitHub as `tag`, as the push
    /// that triggers the workflow would have put it there.
    fn release(&self, repo: &Repo, tag: &str) -> ActRun {
        let done = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            let watcher = scope.spawn(|| {
                let mut pushed = String::new();
                while !done.load(Ordering::SeqCst) {
                    let head = std::process::Command::new("git")
                        .args(["rev-parse", "HEAD"])
                        .current_dir(repo.path())
                        .output()
                        .unwrap();
                    let sha = String::from_utf8(head.stdout).unwrap().trim().to_string();
                    if sha.len() == 40 && sha != pushed {
                        self.github
                            .push_commit(REPO, &format!("refs/tags/{tag}"), &sha, tag);
                        pushed = sha;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            let run = self.act(tag).run(repo);
            done.store(true, Ordering::SeqCst);
            watcher.join().unwrap();
            run
        })
    }

    /// The runner with the workflow's URLs pointed at the fakes, on a tag push.
    fn act(&self, tag: &str) -> Act {
        Act::new("push", ".github/workflows/production.yml", "v1")
            .env("GITHUB_API_URL", self.github.url())
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("DEPLOY_ACTION_BIN", env!("CARGO_BIN_EXE_deploy-action"))
            .env("GITHUB_REF_TYPE", "tag")
            .env("GITHUB_REF_NAME", tag)
            .secret("GITHUB_TOKEN", self.github.token())
            .secret("GRAFANA_TOKEN", &self.grafana.token())
            .var("DOCKER_HOST", "")
            .event(serde_json::json!({
                "ref": format!("refs/tags/{tag}"),
                "repository": { "full_name": REPO, "name": "shop", "owner": { "login": "acme" } },
            }))
    }

    /// A reviewer who approves every request as it appears, until dropped.
    fn approver(self: &Arc<Self>) -> Approver {
        let stop = Arc::new(AtomicBool::new(false));
        let approved = Arc::new(AtomicUsize::new(0));
        let prod = self.clone();
        let (s, a) = (stop.clone(), approved.clone());
        let thread = std::thread::spawn(move || {
            let mut done = std::collections::BTreeSet::new();
            while !s.load(Ordering::SeqCst) {
                for issue in prod.github.issues(REPO) {
                    if issue.state == "open" && done.insert(issue.number) {
                        prod.github.comment(REPO, issue.number, "alice", "approve");
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Approver {
            stop,
            approved,
            thread: Some(thread),
        }
    }

    fn lock_history(&self) -> Vec<String> {
        let name = format!("{}-production", self.svc.name);
        self.github
            .history(REPO, &format!("refs/heads/deploy-lock/{name}"))
    }
}

struct Approver {
    stop: Arc<AtomicBool>,
    approved: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Approver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn move_top_level_first(text: &str, line: &str) -> String {
    let rest = text.replacen(&format!("{line}\n"), "", 1);
    let (service, tail) = rest.split_once('\n').unwrap();
    format!("{service}\n{line}\n{tail}")
}

fn succeeded(run: &ActRun) {
    assert_eq!(run.code, 0, "the job failed:\n{}", run.log);
}

#[test]
fn the_production_workflow_releases_through_every_step() {
    if !require_act() {
        return;
    }
    let prod = Arc::new(Production::new(
        "[[smoke]]\nname = \"home\"\nurl = \"${BASE_URL}/\"\nbody_contains = \"hello from v2\"\n",
    ));
    let approver = prod.approver();
    let repo = prod.repo(V2);
    let run = prod.release(&repo, "v2.0.0");
    succeeded(&run);
    assert_eq!(approver.approved.load(Ordering::SeqCst), 1);

    // The release serves; its records say so.
    assert_eq!(prod.svc.get("/").body, "hello from v2\n");
    let regions = prod.grafana.annotations();
    assert_eq!(regions.len(), 1);
    assert!(
        regions[0].tags.contains(&"success".to_string()),
        "{regions:?}"
    );
    let deployments = prod.github.deployments(REPO);
    assert_eq!(deployments[0].statuses.last().unwrap().state, "success");
    let issue = &prod.github.issues(REPO)[0];
    assert_eq!(issue.state, "closed");

    // The lock was taken and given back, on the branch GitHub keeps.
    let history = prod.lock_history();
    assert!(
        history.first().is_some_and(|m| m.contains(": released by")),
        "{history:?}\n{:?}\n{}",
        prod.github.refs(REPO),
        run.log
    );
    assert!(history.iter().any(|m| m.contains(": acquired by")));

    // The job's step summary holds the release summary and the release table.
    let summary = run.summary();
    assert!(
        summary.contains("to production: success"),
        "{summary}\n{}",
        run.log
    );
    assert!(
        summary.contains("| RELEASE | VERSION | STATE |"),
        "{summary}"
    );
    assert!(summary.contains("| Approved by | @alice"), "{summary}");
    // The tokens never show.
    assert!(!run.log.contains(prod.github.token()));
    assert!(!run.log.contains(&prod.grafana.token()));
}

#[test]
fn a_failed_smoke_check_in_the_workflow_rolls_back_and_fails_the_job() {
    if !require_act() {
        return;
    }
    let prod = Arc::new(Production::new(
        "[[smoke]]\nname = \"still v1\"\nurl = \"${BASE_URL}/version\"\nbody_contains = \"v1\"\ntimeout = \"1s\"\n",
    ));
    prod.svc.deploy(V1).success();
    let _approver = prod.approver();

    // Clients keep asking all along: every answer must come.
    let stop = Arc::new(AtomicBool::new(false));
    let port = prod.svc.port;
    let s = stop.clone();
    let load = std::thread::spawn(move || {
        let (mut ok, mut failed) = (0u32, Vec::new());
        while !s.load(Ordering::SeqCst) && ok < 100_000 {
            let answer = crate::support::http::get(port, "/version");
            if answer.status == 200 {
                ok += 1;
            } else {
                failed.push(format!("{} {}", answer.status, answer.body));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (ok, failed)
    });

    let repo = prod.repo(V2);
    let run = prod.release(&repo, "v2.0.0");
    stop.store(true, Ordering::SeqCst);
    let (answered, failed) = load.join().unwrap();
    assert_ne!(run.code, 0, "the job must fail:\n{}", run.log);
    assert!(answered > 50, "the load ran ({answered} answers)");
    assert!(
        failed.is_empty(),
        "requests failed during the release: {failed:?}"
    );

    // v1 serves again; the region and the deployment say rolled back; the lock is free.
    assert_eq!(prod.svc.get("/version").body, "v1");
    let regions = prod.grafana.annotations();
    assert!(
        regions[0].tags.contains(&"rolled-back".to_string()),
        "{regions:?}"
    );
    assert_eq!(
        prod.github.deployments(REPO)[0]
            .statuses
            .last()
            .unwrap()
            .state,
        "failure"
    );
    assert!(prod.lock_history()[0].contains(": released by"));
    let summary = run.summary();
    assert!(
        summary.contains("to production: rolled-back"),
        "{summary}\n{}",
        run.log
    );
    assert!(summary.contains("| rollback | passed |"), "{summary}");
}

#[test]
fn two_runs_of_the_workflow_at_once_take_turns_on_the_lock() {
    if !require_act() {
        return;
    }
    let prod = Arc::new(Production::new(
        "[[smoke]]\nname = \"home\"\nurl = \"${BASE_URL}/\"\nstatus = 200\n",
    ));
    let _approver = prod.approver();
    let runs: Vec<_> = [("v1.0.0", V1), ("v2.0.0", V2)]
        .into_iter()
        .map(|(tag, image)| {
            let prod = prod.clone();
            std::thread::spawn(move || {
                let repo = prod.repo(image);
                prod.release(&repo, tag)
            })
        })
        .collect();
    for run in runs {
        succeeded(&run.join().unwrap());
    }
    // Oldest first: acquired, released, acquired, released; renewals in between only.
    let mut history = prod.lock_history();
    history.reverse();
    let events: Vec<&str> = history
        .iter()
        .filter_map(|m| {
            if m.contains(": acquired by") {
                Some("acquired")
            } else if m.contains(": released by") {
                Some("released")
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        events,
        ["acquired", "released", "acquired", "released"],
        "{history:#?}"
    );
    assert_eq!(prod.svc.history().len(), 2, "both releases deployed");
}
