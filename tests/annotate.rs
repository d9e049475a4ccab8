//! `annotate point | start | finish` against the fake Grafana and the fake GitHub: tags,
//! dashboards, links, the region lifecycle, retries, failures that only warn unless
//! `--required`, and GitHub deployment records; then `releases --github` against a real
//! deploy.

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::lock::file_command_value;
use crate::support::github::FakeGitHub;
use crate::support::grafana::{AnnotationView, FakeGrafana};
use crate::support::images::V1;
use crate::support::{Run, Service, bin, free_port};

const REPO: &str = "acme/shop";

/// One scenario: a fake Grafana and a fake GitHub, a deploy.toml pointing at them, and
/// everything the binary printed, to check that no token ever shows.
struct Scene {
    grafana: FakeGrafana,
    github: FakeGitHub,
    dir: tempfile::TempDir,
    sha: String,
    grafana_token: String,
    printed: Mutex<String>,
}

impl Scene {
    /// `grafana` is extra lines for `[grafana]`; `rest` extra tables after it.
    fn new(grafana: &str, rest: &str) -> Self {
        let fake = FakeGrafana::start();
        let url = fake.url().to_string();
        Self::with_url(fake, &url, grafana, rest)
    }

    fn with_url(fake: FakeGrafana, url: &str, grafana: &str, rest: &str) -> Self {
        let github = FakeGitHub::start();
        github.create_repo(REPO);
        let sha = github.ref_target(REPO, "refs/heads/main").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("deploy.toml"),
            format!(
                "service = \"shop\"\nenvironment = \"production\"\n\n[grafana]\nurl = \"{url}\"\ntimeout = \"2s\"\n{grafana}\n{rest}\n"
            ),
        )
        .unwrap();
        let grafana_token = fake.token();
        Self {
            grafana: fake,
            github,
            dir,
            sha,
            grafana_token,
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
            .env("GRAFANA_TOKEN", &self.grafana_token)
            .env("GITHUB_API_URL", self.github.url())
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_TOKEN", self.github.token())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SHA", &self.sha)
            .env("GITHUB_ACTOR", "octo")
            .arg("annotate")
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        self.record(Run::from(self.command(args).output().unwrap()))
    }

    fn record(&self, run: Run) -> Run {
        let mut printed = self.printed.lock().unwrap();
        printed.push_str(&run.stdout);
        printed.push_str(&run.stderr);
        run
    }

    /// Sets the top-level `environment` of the written deploy.toml.
    fn set_environment(&self, environment: &str) {
        let path = self.dir.path().join("deploy.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen(
            "environment = \"production\"",
            &format!("environment = \"{environment}\""),
            1,
        );
        std::fs::write(path, text).unwrap();
    }

    fn output(&self, name: &str) -> String {
        file_command_value(&self.dir.path().join("output"), name)
    }

    fn annotation(&self, id: &str) -> AnnotationView {
        let id: u64 = id.parse().unwrap();
        self.grafana
            .annotations()
            .into_iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("no annotation {id} in {:?}", self.grafana.annotations()))
    }

    fn run_url(&self) -> &'static str {
        "https://github.example/acme/shop/actions/runs/4242"
    }

    fn short_sha(&self) -> String {
        self.sha[..7].to_string()
    }

    fn calls(&self, method: &str) -> usize {
        self.grafana
            .calls()
            .iter()
            .filter(|c| c.method == method)
            .count()
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // No token shows anywhere the binary printed, except the line that asks the runner
        // to mask it (which the runner consumes and never shows).
        let printed = self.printed.lock().unwrap();
        for token in [
            self.grafana.token(),
            self.grafana.viewer_token(),
            self.grafana_token.clone(),
            self.github.token().to_string(),
        ] {
            let leaks: Vec<&str> = printed
                .lines()
                .filter(|l| l.contains(&token) && !l.starts_with("::add-mask::"))
                .collect();
            assert!(leaks.is_empty(), "a token was printed: {leaks:?}");
        }
        if !self.grafana.calls().is_empty() {
            assert!(
                printed.contains(&format!("::add-mask::{}", self.grafana_token)),
                "the Grafana token was not masked under Actions"
            );
        }
    }
}

#[test]
fn a_point_annotation_is_organisation_wide_with_the_default_tags_and_links() {
    let scene = Scene::new("tags = [\"team-a\"]", "");
    let run = scene.run(&[
        "point",
        "--text",
        "Cache flushed",
        "--version",
        "v1.2.3",
        "--base",
        "v1.2.2",
        "--tag",
        "manual",
    ]);
    run.success();
    let id = scene.output("id");
    assert!(run.stdout.contains(&format!("id={id}")), "{}", run.stdout);
    let a = scene.annotation(&id);
    assert_eq!(
        a.tags,
        [
            "deploy",
            "shop",
            "production",
            "v1.2.3",
            scene.short_sha().as_str(),
            "team-a",
            "manual"
        ]
    );
    assert!(a.text.starts_with("Cache flushed (by octo)"), "{}", a.text);
    assert!(
        a.text
            .contains(&format!("<a href=\"{}\">run 4242</a>", scene.run_url())),
        "{}",
        a.text
    );
    let compare = format!(
        "https://github.example/acme/shop/compare/v1.2.2...{}",
        scene.sha
    );
    assert!(a.text.contains(&compare), "{}", a.text);
    // No dashboard configured: an organisation annotation, found by its tags.
    assert_eq!(a.dashboard_uid, None);
    assert_eq!(a.panel_id, 0);
    assert_eq!(a.time, a.time_end, "a point, not a region");
    let post = &scene.grafana.calls()[0];
    assert_eq!(
        post.authorization.as_deref(),
        Some(format!("Bearer {}", scene.grafana.token()).as_str())
    );
    // A point is no deployment: GitHub was not asked.
    assert!(scene.github.deployments(REPO).is_empty());
}

#[test]
fn start_opens_a_region_on_the_panel_and_finish_closes_it_with_the_outcome() {
    let scene = Scene::new("dashboard_uid = \"deploys\"\npanel_id = 4", "");
    scene.grafana.add_dashboard("deploys");
    scene.run(&["start", "--version", "v2.0.0"]).success();
    let id = scene.output("id");
    let open = scene.annotation(&id);
    assert_eq!(open.dashboard_uid.as_deref(), Some("deploys"));
    assert_eq!(open.panel_id, 4);
    assert!(open.tags.contains(&"in-progress".to_string()), "{open:?}");
    assert!(
        open.text.starts_with("Deploying shop v2.0.0 to production"),
        "{}",
        open.text
    );
    std::thread::sleep(Duration::from_millis(20));
    scene
        .run(&["finish", "--id", &id, "--outcome", "rolled-back"])
        .success();
    let closed = scene.annotation(&id);
    assert!(closed.time_end > closed.time, "a region: {closed:?}");
    assert_eq!(closed.time, open.time);
    assert!(
        closed.tags.contains(&"rolled-back".to_string()),
        "{closed:?}"
    );
    assert!(
        !closed.tags.contains(&"in-progress".to_string()),
        "{closed:?}"
    );
    for kept in ["deploy", "shop", "production", "v2.0.0"] {
        assert!(closed.tags.contains(&kept.to_string()), "{closed:?}");
    }
    assert!(
        closed.text.ends_with("Outcome: rolled-back"),
        "{}",
        closed.text
    );
    assert_eq!(scene.calls("PATCH"), 1);
}

#[test]
fn finish_without_an_id_finds_the_open_region_by_its_tags() {
    let scene = Scene::new("", "");
    scene.run(&["start", "--version", "v3"]).success();
    let id = scene.output("id");
    // Someone else's note with some of the same tags must not be taken for it.
    scene
        .run(&["point", "--text", "unrelated", "--version", "v3"])
        .success();
    scene.run(&["finish", "--outcome", "success"]).success();
    assert_eq!(scene.output("id"), id);
    let closed = scene.annotation(&id);
    assert!(closed.tags.contains(&"success".to_string()), "{closed:?}");
    let find = scene
        .grafana
        .calls()
        .into_iter()
        .find(|c| c.method == "GET" && c.path == "/api/annotations")
        .expect("a search by tags");
    for tag in [
        "tags=deploy",
        "tags=shop",
        "tags=production",
        "tags=in-progress",
    ] {
        assert!(find.query.contains(tag), "{}", find.query);
    }
    // Nothing open is left: a second finish finds nothing and says so.
    let again = scene.run(&["finish", "--outcome", "success", "--required"]);
    again.code(3);
    assert!(
        again.stderr.contains("no open deploy region"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_5xx_or_429_from_grafana_is_retried_and_the_annotation_written_once() {
    let scene = Scene::new("", "");
    scene.grafana.fail_next(2, 503);
    let run = scene.run(&["point", "--text", "after an outage", "--required"]);
    run.success();
    assert_eq!(scene.calls("POST"), 3, "two 503s, then the write");
    assert_eq!(scene.grafana.annotations().len(), 1);
    assert!(run.stderr.contains("503"), "{}", run.stderr);

    scene.grafana.fail_next(1, 429);
    let started = Instant::now();
    scene
        .run(&["point", "--text", "rate limited", "--required"])
        .success();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was honoured, waited {:?}",
        started.elapsed()
    );
    assert_eq!(scene.grafana.annotations().len(), 2);
}

#[test]
fn grafana_down_is_a_warning_and_required_exits_3_after_bounded_retries() {
    // A port nothing listens on: every connection is refused.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let scene = Scene::with_url(FakeGrafana::start(), &closed, "", "");
    let run = scene.run(&["point", "--text", "deploying"]);
    run.success();
    assert!(
        run.stdout.contains("::warning::Grafana API"),
        "{}",
        run.stdout
    );
    let started = Instant::now();
    let run = scene.run(&["point", "--text", "deploying", "--required"]);
    run.code(3);
    assert!(run.stderr.contains("after 5 attempts"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&closed),
        "the URL that failed: {}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_grafana_that_keeps_failing_gets_five_attempts_then_exit_3() {
    let scene = Scene::new("", "");
    scene.grafana.fail_next(50, 500);
    let run = scene.run(&["start", "--required"]);
    run.code(3);
    assert_eq!(scene.calls("POST"), 5);
    assert!(run.stderr.contains("500"), "{}", run.stderr);
    // Without --required the same failure is a warning, and the deployment record is still
    // made: one does not wait for the other.
    let run = scene.run(&["start"]);
    run.success();
    assert_eq!(scene.github.deployments(REPO).len(), 2);
}

#[test]
fn a_bad_token_is_refused_at_once_and_never_printed() {
    let mut scene = Scene::new("", "");
    scene.grafana_token = "glsa_notAToken_0123456789abcdef".into();
    let run = scene.run(&["point", "--text", "x", "--required"]);
    run.code(3);
    assert!(run.stderr.contains("401 Invalid API key"), "{}", run.stderr);
    assert!(run.stderr.contains("GRAFANA_TOKEN"), "{}", run.stderr);
    assert_eq!(scene.calls("POST"), 1, "a 401 is not retried");
    // The refused token is masked, and shows nowhere else either.
    let printed = format!("{}\n{}", run.stdout, run.stderr);
    assert!(printed.contains(&format!("::add-mask::{}", scene.grafana_token)));
    assert!(
        printed
            .lines()
            .all(|l| l.starts_with("::add-mask::") || !l.contains(&scene.grafana_token)),
        "{printed}"
    );

    scene.grafana_token = scene.grafana.viewer_token();
    let run = scene.run(&["point", "--text", "x", "--required"]);
    run.code(3);
    assert!(run.stderr.contains("403"), "{}", run.stderr);
    assert!(run.stderr.contains("annotations:create"), "{}", run.stderr);
    assert!(scene.grafana.annotations().is_empty());
}

#[test]
fn finishing_an_annotation_grafana_does_not_have_is_a_404() {
    let scene = Scene::new("", "");
    let run = scene.run(&[
        "finish",
        "--id",
        "999",
        "--outcome",
        "failure",
        "--required",
    ]);
    run.code(3);
    assert!(
        run.stderr.contains("404 Annotation not found"),
        "{}",
        run.stderr
    );
}

#[test]
fn start_records_a_github_deployment_and_finish_marks_it_successful_and_the_earlier_inactive() {
    let scene = Scene::new("", "[deploy]\nenvironment_url = \"https://shop.example\"");
    let earlier = scene.github.seed_deployment(
        REPO,
        "production",
        "main",
        json!({"version": "v1"}),
        &["in_progress", "success"],
    );
    let run = scene.run(&[
        "start",
        "--version",
        "v2",
        "--image",
        "registry.example/shop@sha256:abcd",
    ]);
    run.success();
    let id: u64 = scene.output("deployment-id").parse().unwrap();
    assert!(
        run.stdout.contains(&format!("deployment-id={id}")),
        "{}",
        run.stdout
    );
    let deployment = scene
        .github
        .deployments(REPO)
        .into_iter()
        .find(|d| d.id == id)
        .unwrap();
    assert_eq!(deployment.sha, scene.sha);
    assert_eq!(deployment.environment, "production");
    assert_eq!(deployment.payload["version"], "v2");
    assert_eq!(deployment.payload["image_digest"], "sha256:abcd");
    assert_eq!(deployment.payload["service"], "shop");
    assert!(deployment.production_environment);
    assert!(!deployment.transient_environment);
    let states: Vec<&str> = deployment
        .statuses
        .iter()
        .map(|s| s.state.as_str())
        .collect();
    assert_eq!(states, ["in_progress"]);
    assert_eq!(deployment.statuses[0].log_url, scene.run_url());
    assert_eq!(
        deployment.statuses[0].environment_url,
        "https://shop.example"
    );

    let annotation = scene.output("id");
    scene
        .run(&[
            "finish",
            "--id",
            &annotation,
            "--deployment-id",
            &id.to_string(),
            "--outcome",
            "success",
        ])
        .success();
    let all = scene.github.deployments(REPO);
    let this = all.iter().find(|d| d.id == id).unwrap();
    let states: Vec<&str> = this.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["in_progress", "success"]);
    assert_eq!(this.statuses[1].log_url, scene.run_url());
    assert_eq!(this.statuses[1].environment_url, "https://shop.example");
    // GitHub's auto_inactive spares production deployments; the tool marks them itself.
    let before = all.iter().find(|d| d.id == earlier).unwrap();
    assert_eq!(before.statuses.last().unwrap().state, "inactive");
}

#[test]
fn a_failed_deploy_marks_the_deployment_failed_and_the_earlier_one_stays_active() {
    let scene = Scene::new("", "");
    let earlier = scene.github.seed_deployment(
        REPO,
        "production",
        "main",
        json!({"version": "v1"}),
        &["success"],
    );
    scene.run(&["start", "--version", "v2"]).success();
    let id = scene.output("deployment-id");
    let annotation = scene.output("id");
    scene
        .run(&[
            "finish",
            "--id",
            &annotation,
            "--deployment-id",
            &id,
            "--outcome",
            "failure",
        ])
        .success();
    let all = scene.github.deployments(REPO);
    let this = all.iter().find(|d| d.id.to_string() == id).unwrap();
    assert_eq!(this.statuses.last().unwrap().state, "failure");
    let before = all.iter().find(|d| d.id == earlier).unwrap();
    assert_eq!(before.statuses.last().unwrap().state, "success");
    assert!(
        scene
            .annotation(&annotation)
            .tags
            .contains(&"failure".to_string())
    );
}

#[test]
fn a_review_app_is_recorded_as_transient_and_not_production_at_the_router_url() {
    let scene = Scene::new("", "[deploy]\ntransient_environment = true");
    scene.set_environment("pr-7");
    scene.run(&["start", "--version", "pr-7"]).success();
    let deployments = scene.github.deployments(REPO);
    let d = &deployments[0];
    assert_eq!(d.environment, "pr-7");
    assert!(!d.production_environment, "only `production` is by default");
    assert!(d.transient_environment);
    // No `deploy.environment_url`: where the router listens.
    assert_eq!(d.statuses[0].environment_url, "http://127.0.0.1:8000");
    let region = scene.annotation(&scene.output("id"));
    assert!(region.tags.contains(&"pr-7".to_string()), "{region:?}");
}

#[test]
fn releases_github_shows_where_github_and_the_target_disagree() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let github = FakeGitHub::start();
    github.create_repo(REPO);
    github.seed_deployment(
        REPO,
        "production",
        "main",
        json!({"version": "v9"}),
        &["in_progress", "success"],
    );
    let run = |args: &[&str]| {
        let mut c = svc.command(args);
        c.env("GITHUB_API_URL", github.url())
            .env("GITHUB_TOKEN", github.token())
            .env("GITHUB_REPOSITORY", REPO);
        Run::from(c.output().unwrap())
    };
    let json_run = run(&["--json", "releases", "--github"]);
    json_run.success();
    let doc = json_run.json();
    assert_eq!(doc["releases"][0]["version"], "v1");
    assert_eq!(doc["github"]["deployments"][0]["version"], "v9");
    assert_eq!(doc["github"]["deployments"][0]["state"], "success");
    let disagreements = doc["github"]["disagreements"].as_array().unwrap();
    assert_eq!(disagreements.len(), 1, "{disagreements:?}");
    let said = disagreements[0].as_str().unwrap();
    assert!(
        said.contains("GitHub says v9 is active in production") && said.contains("serves v1"),
        "{said}"
    );
    let text = run(&["releases", "--github"]);
    text.success();
    assert!(
        text.stdout.contains("GitHub and the target disagree"),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains(github.token()));
}
