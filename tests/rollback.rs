//! `rollback`: from a warm standby it is a router switch; from a stopped release it is
//! start, health gate, then switch. No version number needed.

use crate::support::Service;
use crate::support::images::*;

#[test]
fn rollback_from_warm_standby_switches_without_starting_anything() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    svc.deploy(V2).success();
    let run = svc.run(&["--json", "rollback"]);
    run.success();
    let doc = run.json();
    assert_eq!(doc["rolled_back"]["release"], 1);
    assert_eq!(doc["rolled_back"]["warm"], true);
    assert_eq!(svc.get("/").body, "hello from v1\n");
    let history = svc.history();
    assert_eq!(history[0], (2, "v2".into(), "stopped".into()));
    assert_eq!(history[1], (1, "v1".into(), "serving".into()));
}

#[test]
fn rollback_from_a_stopped_release_starts_and_health_checks_it() {
    let svc = Service::haproxy()
        .with_config("[deploy]\ndrain = \"100ms\"\nstandby = \"0s\"\nstop_timeout = \"1s\"\n");
    svc.deploy(V1).success();
    svc.deploy(V2).success();
    assert_eq!(svc.history()[1].2, "stopped");
    let run = svc.run(&["--json", "rollback"]);
    run.success();
    assert_eq!(run.json()["rolled_back"]["warm"], false);
    assert_eq!(svc.get("/").body, "hello from v1\n");
}

#[test]
fn rollback_to_names_an_old_version() {
    let svc = Service::haproxy()
        .with_config("[deploy]\ndrain = \"100ms\"\nstandby = \"0s\"\nstop_timeout = \"1s\"\n");
    for image in [V1, V2, V3] {
        svc.deploy(image).success();
    }
    svc.run(&["rollback", "--to", "v1"]).success();
    assert_eq!(svc.get("/").body, "hello from v1\n");
    assert_eq!(
        svc.history().iter().find(|r| r.2 == "serving").unwrap().1,
        "v1"
    );
}

#[test]
fn rollback_to_an_unknown_version_is_bad_input_and_changes_nothing() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    svc.deploy(V2).success();
    let run = svc.run(&["rollback", "--to", "v9"]);
    run.code(2);
    assert!(
        run.stderr.contains("kept versions: v2, v1") || run.stderr.contains("kept versions: v1"),
        "{}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v2\n");
}

#[test]
fn rollback_with_nothing_to_go_back_to_is_bad_input() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let run = svc.run(&["rollback"]);
    run.code(2);
    assert!(
        run.stderr.contains("no earlier healthy release"),
        "{}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
}

#[test]
fn twice_rolled_back_walks_further_into_history() {
    let svc =
        Service::haproxy().with_config("[deploy]\ndrain = \"100ms\"\nstop_timeout = \"1s\"\n");
    for image in [V1, V2, V3] {
        svc.deploy(image).success();
    }
    svc.run(&["rollback"]).success();
    assert_eq!(svc.get("/").body, "hello from v2\n");
    svc.run(&["rollback"]).success();
    assert_eq!(svc.get("/").body, "hello from v1\n");
}
