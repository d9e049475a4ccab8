//! Both router kinds in both modes do the same job: deploy, switch, roll back.

use std::process::Command;

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

/// What the engine recorded for `container` between two moments: `exec_create: <cmd>` for
/// every process started in it, `extract-to-dir` for every file written into it.
fn engine_work(container: &str, since: f64, until: f64) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["events", "--format", "{{.Action}}"])
        .args([
            "--since",
            &format!("{since:.6}"),
            "--until",
            &format!("{until:.6}"),
        ])
        .args(["--filter", &format!("container={container}")])
        .args([
            "--filter",
            "event=exec_create",
            "--filter",
            "event=extract-to-dir",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `docker restart` of `container`, giving its process a second to stop.
fn restart(container: &str) {
    let status = std::process::Command::new("docker")
        .args(["restart", "-t", "1", container])
        .status()
        .unwrap();
    assert!(status.success(), "docker restart {container}: {status}");
}

/// The servers the router's saved haproxy.cfg routes to (the ones a restart brings back),
/// and the whole file.
fn saved_routes(router: &str) -> (Vec<String>, String) {
    let config = crate::support::container_file(router, "/usr/local/etc/haproxy/haproxy.cfg");
    let routed = config
        .lines()
        .filter(|l| l.trim_start().starts_with("server ") && !l.contains("disabled"))
        .map(str::to_string)
        .collect();
    (routed, config)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Runs `step` and returns the engine work it caused in the router container.
fn router_work(router: &str, step: impl FnOnce()) -> Vec<String> {
    let since = now();
    step();
    // The engine's event log is written asynchronously; a moment later it holds the step.
    std::thread::sleep(std::time::Duration::from_millis(300));
    engine_work(router, since, now())
}

#[test]
fn a_haproxy_switch_starts_one_process_in_the_router_and_saves_only_verified_routes() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let router = format!("{}-router", svc.name);

    // One runtime API session for the whole command (not one process per call), and the
    // config written once, when the verified switch has settled.
    let work = router_work(&router, || {
        svc.deploy(V2).success();
    });
    let execs: Vec<&String> = work
        .iter()
        .filter(|a| a.starts_with("exec_create"))
        .collect();
    assert_eq!(execs.len(), 1, "{work:?}");
    assert!(execs[0].contains("socat"), "{work:?}");
    assert_eq!(
        work.iter().filter(|a| *a == "extract-to-dir").count(),
        1,
        "{work:?}"
    );

    // A release that fails verification through the router is never written to the config:
    // the one write is of the routes put back.
    let work = router_work(&router, || {
        svc.deploy(ERROR_500).code(1);
    });
    assert_eq!(
        work.iter().filter(|a| *a == "extract-to-dir").count(),
        1,
        "{work:?}"
    );
    assert_eq!(svc.get("/").body, "hello from v2\n");

    // The config holds the serving release only, so a restarted router serves it.
    let (routed, config) = saved_routes(&router);
    assert_eq!(routed.len(), 1, "{config}");
    restart(&router);
    crate::support::eventually(15, "the restarted router to serve v2", || {
        svc.get("/").body == "hello from v2\n"
    });
    for _ in 0..20 {
        assert_eq!(svc.get("/").body, "hello from v2\n");
    }
}

#[test]
fn a_haproxy_router_restarted_during_the_drain_ends_up_on_the_new_release() {
    use std::io::BufRead;
    // The routes are saved when the switch settles, after the drain. A router restarted
    // during the drain comes back with the routes saved before the switch (v1, still
    // running); the deploy must route to v2 again before it forgets v1.
    let svc = Service::haproxy().with_config("[deploy]\ndrain = \"6s\"\nstop_timeout = \"2s\"\n");
    svc.deploy(V1).success();
    let router = format!("{}-router", svc.name);
    let mut child = svc
        .command(&["deploy", "--image", V2])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let line = seen
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the deploy to reach its drain");
        if line.contains("drain the previous release") {
            break;
        }
    }
    assert_eq!(svc.get("/").body, "hello from v2\n");
    restart(&router);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the deploy ended before the router was back: the drain is too short for this test"
    );
    // Back from its saved config: the previous release serves, and nothing is dropped.
    crate::support::eventually(15, "the restarted router to answer", || {
        svc.get("/").status == 200
    });
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("routing to them again"), "{stderr}");
    for _ in 0..20 {
        assert_eq!(svc.get("/").body, "hello from v2\n");
    }
    let (routed, config) = saved_routes(&router);
    assert_eq!(routed.len(), 1, "{config}");
    let history = svc.history();
    assert_eq!(
        history.iter().find(|r| r.2 == "serving").unwrap().1,
        "v2",
        "{history:?}"
    );
}

/// The router container's address on the service's network, as the engine reports it.
fn router_ip(svc: &Service) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f"])
        .arg(format!(
            "{{{{(index .NetworkSettings.Networks \"deploy-action-{}\").IPAddress}}}}",
            svc.name
        ))
        .arg(format!("{}-router", svc.name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `run` deployed v2, which now serves, and verified it at `ip`, the router's network address.
fn assert_switched_to_v2_verified_at(svc: &Service, run: &crate::support::Run, ip: &str) {
    run.success();
    assert!(
        run.stderr
            .contains(&format!("verifying through the router at http://{ip}:8000")),
        "{}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v2\n");
}

#[test]
fn a_container_router_is_verified_at_its_network_address_when_the_engine_is_local() {
    let svc = Service::haproxy();
    svc.deploy(V1).success();
    let ip = router_ip(&svc);
    assert!(!ip.is_empty());
    let run = svc.run(&["-v", "deploy", "--image", V2]);
    assert_switched_to_v2_verified_at(&svc, &run, &ip);
    // A release that answers 500 is still refused there, before any client reaches it.
    let run = svc.run(&["-v", "deploy", "--image", ERROR_500]);
    run.code(1);
    assert!(
        run.stderr
            .contains(&format!("GET http://{ip}:8000/ answered 500"))
            && run.stderr.contains("before any client was sent to it"),
        "{}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v2\n");
}

#[test]
fn an_http_proxy_in_the_environment_is_not_used_for_the_router_network_address() {
    let svc = Service::haproxy();
    // Nothing listens on the discard port: a request sent to this proxy fails.
    let with_proxy = |image: &str| {
        let mut c = svc.command(&["-v", "deploy", "--image", image]);
        c.env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("http_proxy", "http://127.0.0.1:9");
        crate::support::Run::from(c.output().unwrap())
    };
    with_proxy(V1).success();
    let ip = router_ip(&svc);
    let run = with_proxy(V2);
    assert_switched_to_v2_verified_at(&svc, &run, &ip);
}

#[test]
fn a_router_url_in_the_config_is_verified_the_way_clients_come() {
    let svc = Service::haproxy();
    svc.set_key(
        "router",
        &format!("url = \"http://localhost:{}\"", svc.port),
    );
    let run = svc.run(&["-v", "deploy", "--image", V1]);
    run.success();
    assert!(
        !run.stderr.contains("verifying through the router at"),
        "{}",
        run.stderr
    );
    let run = svc.run(&["-v", "deploy", "--image", ERROR_500]);
    run.code(1);
    assert!(
        run.stderr
            .contains(&format!("GET http://localhost:{}/ answered 500", svc.port)),
        "{}",
        run.stderr
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
}
