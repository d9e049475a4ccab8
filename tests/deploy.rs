//! `deploy`: health-gated, verified switches, and every way a new release can fail while
//! the old one keeps serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::images::*;
use crate::support::{Service, eventually};

#[test]
fn first_deploy_serves_the_release_and_records_it_in_labels() {
    let svc = Service::haproxy();
    let run = svc.run(&["--json", "deploy", "--image", V1]);
    run.success();
    let doc = run.json();
    assert_eq!(doc["deployed"]["release"], 1);
    assert_eq!(doc["deployed"]["version"], "v1");
    assert!(
        doc["deployed"]["image_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
    assert_eq!(svc.history(), vec![(1, "v1".into(), "serving".into())]);
    // The labels are the record: docker itself shows them.
    let labels = std::process::Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{json .Config.Labels}}",
            &format!("{}-r1-1", svc.name),
        ])
        .output()
        .unwrap();
    let labels: serde_json::Value = serde_json::from_slice(&labels.stdout).unwrap();
    assert_eq!(labels["deploy-action.version"], "v1");
    assert_eq!(labels["deploy-action.release"], "1");
    assert!(
        labels["deploy-action.deployed-at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        !labels["deploy-action.deployed-by"]
            .as_str()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn second_deploy_switches_and_keeps_the_old_release_as_warm_standby() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let run = svc.deploy(V2);
    run.success();
    assert!(
        run.stdout.contains("release 2 (v2) is serving"),
        "{}",
        run.stdout
    );
    assert_eq!(svc.get("/").body, "hello from v2\n");
    assert_eq!(
        svc.history(),
        vec![
            (2, "v2".into(), "serving".into()),
            (1, "v1".into(), "standby".into())
        ]
    );
    assert_eq!(
        svc.running().len(),
        3,
        "router, serving and standby: {:?}",
        svc.running()
    );
}

#[test]
fn redeploying_the_same_version_makes_a_new_release() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    svc.deploy(V1).success();
    let history = svc.history();
    assert_eq!(history[0], (2, "v1".into(), "serving".into()));
    assert_eq!(history[1], (1, "v1".into(), "standby".into()));
    assert_eq!(svc.get("/").status, 200);
}

#[test]
fn explicit_version_overrides_the_image_tag() {
    let svc = Service::haproxy();
    svc.run(&["deploy", "--image", V1, "--version", "1.0.0"])
        .success();
    assert_eq!(svc.history()[0].1, "1.0.0");
}

#[test]
fn a_release_that_never_becomes_healthy_is_removed_and_the_old_one_keeps_serving() {
    let svc = Service::haproxy().with_config("[health]\ninterval = \"200ms\"\ndeadline = \"4s\"\n");
    svc.deploy(V1).success();
    let run = svc.deploy(NEVER_HEALTHY);
    run.code(1);
    assert!(
        run.stderr.contains("release 2 (v2-never-healthy) failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("last probe"),
        "the failing probe's answer is shown: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("log lines"),
        "its logs are shown: {}",
        run.stderr
    );
    assert!(run.stderr.contains("the previous release keeps serving"));
    assert_eq!(svc.get("/").body, "hello from v1\n");
    assert_eq!(svc.history(), vec![(1, "v1".into(), "serving".into())]);
    assert!(
        !svc.containers().iter().any(|c| c.contains("-r2-")),
        "{:?}",
        svc.containers()
    );
}

#[test]
fn a_release_without_healthcheck_is_probed_over_http() {
    let svc = Service::haproxy().with_config("[health]\ninterval = \"200ms\"\ndeadline = \"3s\"\n");
    svc.deploy(V1).success();
    svc.deploy(V2_NO_HEALTHCHECK).success();
    assert_eq!(svc.get("/").body, "hello from v2\n");
    let run = svc.deploy(NEVER_HEALTHY_NO_HEALTHCHECK);
    run.code(1);
    assert!(
        run.stderr.contains("answered 503 (expected 200)"),
        "{}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v2\n");
}

#[test]
fn a_release_that_crashes_on_start_is_refused_with_its_logs() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let run = svc.deploy(CRASH);
    run.code(1);
    assert!(run.stderr.contains("exited with code 3"), "{}", run.stderr);
    assert!(
        run.stderr.contains("    | "),
        "log lines are quoted: {}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
    assert_eq!(svc.history().len(), 1);
}

#[test]
fn a_slow_starting_release_is_waited_for() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    svc.deploy(SLOW_START).success();
    assert_eq!(svc.get("/").body, "hello from v2\n");
}

/// GETs through the router on new connections until the returned flag is set (at most
/// 60 s or 20,000 requests), then gives every status seen.
fn clients_during(port: u16) -> (Arc<AtomicBool>, std::thread::JoinHandle<Vec<u16>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let clients = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let mut statuses = Vec::new();
        while !flag.load(Ordering::SeqCst)
            && statuses.len() < 20_000
            && start.elapsed() < std::time::Duration::from_secs(60)
        {
            statuses.push(crate::support::http::get(port, "/").status);
        }
        statuses
    });
    (stop, clients)
}

#[test]
fn a_release_that_answers_500_through_the_router_is_refused_before_any_client_sees_it() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let (stop, clients) = clients_during(svc.port);
    let run = svc.deploy(ERROR_500);
    stop.store(true, Ordering::SeqCst);
    let statuses = clients.join().unwrap();
    run.code(1);
    assert!(
        run.stderr.contains("answers wrong through the router")
            && run.stderr.contains("before any client was sent to it"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("500"), "{}", run.stderr);
    let not_ok: Vec<&u16> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(
        statuses.len() > 10 && not_ok.is_empty(),
        "{} requests during the deploy, not 200: {not_ok:?}",
        statuses.len()
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
    assert_eq!(svc.history(), vec![(1, "v1".into(), "serving".into())]);
}

#[test]
fn a_host_haproxy_without_the_pin_rules_checks_the_release_after_the_switch() {
    let svc = Service::haproxy_on_the_host_without_pins();
    svc.deploy(V1).success();
    let run = svc.deploy(ERROR_500);
    run.code(1);
    assert!(
        run.stderr.contains("lacks the `use-server` lines"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("answers wrong through the router")
            && !run.stderr.contains("before any client was sent to it"),
        "{}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
    svc.deploy(V2).success();
    assert_eq!(svc.get("/").body, "hello from v2\n");
}

#[test]
fn retention_prunes_old_releases_but_never_the_rollback_target() {
    let svc = Service::haproxy().with_config(
        "[deploy]\ndrain = \"100ms\"\nstandby = \"0s\"\nkeep_releases = 1\nstop_timeout = \"1s\"\n",
    );
    for image in [V1, V2, V3, V1] {
        svc.deploy(image).success();
    }
    let history = svc.history();
    // 4 serves; 3 is the rollback target (stopped: standby is 0s); one more is kept.
    assert_eq!(history[0], (4, "v1".into(), "serving".into()));
    assert_eq!(history[1], (3, "v3".into(), "stopped".into()));
    assert_eq!(history.len(), 3, "{history:?}");
    svc.run(&["rollback"]).success();
    assert_eq!(svc.get("/").body, "hello from v3\n");
}

#[test]
fn rolling_deploy_replaces_replicas_one_at_a_time() {
    let svc = Service::haproxy().with_config("[deploy]\nreplicas = 2\ndrain = \"200ms\"\n");
    svc.deploy(V1).success();
    svc.deploy(V2).success();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..8 {
        let a = svc.get("/");
        assert_eq!(a.body, "hello from v2\n");
        seen.insert(a.backend);
    }
    assert_eq!(seen.len(), 2, "both new replicas serve: {seen:?}");
    let running = svc.running();
    assert!(
        running.iter().any(|c| c.ends_with("-r2-1"))
            && running.iter().any(|c| c.ends_with("-r2-2"))
    );
}

#[test]
fn releases_from_a_fresh_runner_sees_the_same_history() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    svc.deploy(V2).success();
    // A different config file and directory: only the labels on the engine carry state.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(svc.config_path(), other.path().join("deploy.toml")).unwrap();
    let out = std::process::Command::new(crate::support::bin())
        .current_dir(other.path())
        .args(["releases"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("RELEASE") && text.contains("serving") && text.contains("standby"),
        "{text}"
    );
    eventually(1, "both releases listed", || text.lines().count() == 3);
}
