//! Under GitHub Actions: groups, annotations, step outputs, the summary, and masked secrets.

use crate::support::images::*;
use crate::support::{Run, Service};

struct Actions {
    dir: tempfile::TempDir,
}

impl Actions {
    fn new() -> Self {
        Actions {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, svc: &Service, args: &[&str]) -> Run {
        let out = svc
            .command(args)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTOR", "octocat")
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_REPOSITORY", "team/shop")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_OUTPUT", self.dir.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary"))
            .env("SHOP_SECRET", "s3cr3t-value-42")
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

#[test]
fn a_deploy_under_actions_writes_groups_outputs_and_a_release_table() {
    let svc = Service::haproxy();
    let gh = Actions::new();
    let run = gh.run(&svc, &["deploy", "--image", V1]);
    run.success();
    assert!(
        run.stdout.contains("::group::wait for health"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("::endgroup::"));
    let outputs = gh.file("output");
    for name in ["release", "version", "digest", "url"] {
        assert!(
            outputs.contains(&format!("{name}<<ghadelimiter_")),
            "{outputs}"
        );
    }
    assert!(outputs.contains("\nv1\n") && outputs.contains(&format!("\n{}\n", svc.url())));
    let summary = gh.file("summary");
    assert!(
        summary.contains("| RELEASE | VERSION | STATE |"),
        "{summary}"
    );
    assert!(summary.contains("| 1 | v1 | serving |"), "{summary}");
    assert!(
        summary.contains("octocat")
            && summary.contains("https://github.example/team/shop/actions/runs/4242")
    );
}

#[test]
fn a_refused_release_under_actions_is_an_error_annotation() {
    let svc = Service::haproxy();
    let gh = Actions::new();
    gh.run(&svc, &["deploy", "--image", V1]).success();
    let run = gh.run(&svc, &["deploy", "--image", CRASH]);
    run.code(1);
    assert!(
        run.stdout.contains("::error::release 2 (v2-crash) failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("%0A"),
        "multi-line messages are escaped: {}",
        run.stdout
    );
}

#[test]
fn secrets_from_the_host_reach_the_container_and_are_masked() {
    let svc = Service::haproxy();
    svc.set_key("target", "env_from_host = [\"SHOP_SECRET\"]");
    let gh = Actions::new();
    // Even the most verbose logs, and a RUST_LOG that asks for the Docker client's, hide it.
    let run = gh.run(&svc, &["-vv", "deploy", "--image", V1]);
    run.success();
    assert!(
        run.stdout.contains("::add-mask::s3cr3t-value-42"),
        "{}",
        run.stdout
    );
    let elsewhere = run.stdout.replace("::add-mask::s3cr3t-value-42", "") + &run.stderr;
    assert!(
        !elsewhere.contains("s3cr3t-value-42"),
        "the secret leaked:\n{elsewhere}"
    );
    let env = std::process::Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{json .Config.Env}}",
            &format!("{}-r1-1", svc.name),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&env.stdout).contains("SHOP_SECRET=s3cr3t-value-42"));
}
