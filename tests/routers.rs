//! Both router kinds in both modes do the same job: deploy, switch, roll back.

use crate::support::images::*;
use crate::support::{Kind, Mode, Service};

fn deploy_switch_rollback(kind: Kind, mode: Mode) {
    let svc = Service::new(kind, mode);
    svc.deploy(V1).success();
    assert_eq!(svc.get("/").body, "hello from v1\n");
    svc.deploy(V2).success();
    assert_eq!(svc.get("/").body, "hello from v2\n");
    let failed = svc.deploy(ERROR_500);
    failed.code(1);
    assert_eq!(svc.get("/").body, "hello from v2\n", "{}", failed.stderr);
    svc.run(&["rollback"]).success();
    assert_eq!(svc.get("/").body, "hello from v1\n");
    let history = svc.history();
    assert_eq!(
        history.iter().find(|r| r.2 == "serving").unwrap().1,
        "v1",
        "{history:?}"
    );
}

#[test]
fn haproxy_in_a_container() {
    deploy_switch_rollback(Kind::Haproxy, Mode::Container);
}

#[test]
fn haproxy_on_the_host() {
    deploy_switch_rollback(Kind::Haproxy, Mode::Host);
}

#[test]
fn nginx_in_a_container() {
    deploy_switch_rollback(Kind::Nginx, Mode::Container);
}

#[test]
fn nginx_on_the_host() {
    deploy_switch_rollback(Kind::Nginx, Mode::Host);
}

#[test]
fn the_router_container_is_recreated_when_it_was_removed() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let router = format!("{}-router", svc.name);
    assert!(
        std::process::Command::new("docker")
            .args(["rm", "-f", &router])
            .status()
            .unwrap()
            .success()
    );
    // The next run brings the router back and routes to the release that was serving.
    svc.deploy(V2).success();
    assert_eq!(svc.get("/").body, "hello from v2\n");
}
