//! Interruptions: a SIGKILL anywhere in a deploy must converge on the next run, and
//! SIGINT/SIGTERM must abort cleanly within 5 s with the old release serving.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::images::*;
use crate::support::{Service, eventually};

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn sigterm_during_the_health_wait_aborts_within_5s_and_keeps_the_old_release() {
    let svc =
        Service::haproxy().with_config("[health]\ninterval = \"200ms\"\ndeadline = \"60s\"\n");
    svc.deploy(V1).success();
    let mut child = svc
        .command(&["deploy", "--image", NEVER_HEALTHY])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually(20, "the new release container to start", || {
        svc.containers().iter().any(|c| c.ends_with("-pending"))
    });
    let sent = Instant::now();
    signal(child.id(), "-TERM");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "still running 5s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cancelled by SIGTERM"), "{stderr}");
    assert!(
        !svc.containers().iter().any(|c| c.contains("-r2-")),
        "{:?}",
        svc.containers()
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
}

#[test]
fn sigint_is_handled_like_sigterm() {
    let svc =
        Service::haproxy().with_config("[health]\ninterval = \"200ms\"\ndeadline = \"60s\"\n");
    svc.deploy(V1).success();
    let child = svc
        .command(&["deploy", "--image", NEVER_HEALTHY])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually(20, "the new release container to start", || {
        svc.containers().iter().any(|c| c.ends_with("-pending"))
    });
    signal(child.id(), "-INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancelled by SIGINT"));
    assert_eq!(svc.get("/").body, "hello from v1\n");
}

/// Kills `deploy` with SIGKILL once `at` holds, then checks that a rerun converges.
fn kill_then_rerun(at: &str, ready: impl Fn(&Service) -> bool, image: &str) {
    let svc = Service::haproxy()
        .with_config("[health]\ninterval = \"200ms\"\nsuccesses = 3\ndeadline = \"30s\"\n");
    svc.deploy(V1).success();
    let mut child = svc
        .command(&["deploy", "--image", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually(20, at, || ready(&svc));
    child.kill().unwrap();
    child.wait().unwrap();
    // Users never lost service.
    assert_eq!(svc.get("/").status, 200, "after SIGKILL {at}");
    // The next run converges: nothing half-made is left, and the deploy goes through.
    svc.deploy(V3).success();
    assert_eq!(svc.get("/").body, "hello from v3\n");
    let containers = svc.containers();
    assert!(
        !containers.iter().any(|c| c.ends_with("-pending")),
        "{containers:?}"
    );
    let history = svc.history();
    assert_eq!(
        history.iter().filter(|r| r.2 == "serving").count(),
        1,
        "{history:?}"
    );
    assert_eq!(history[0].1, "v3");
    // Everything running is labelled (the filter is by label) and is router, serving or standby.
    assert!(svc.running().len() <= 3, "{:?}", svc.running());
}

#[test]
fn sigkill_while_the_new_release_starts_converges_on_rerun() {
    kill_then_rerun(
        "a pending container",
        |s| s.containers().iter().any(|c| c.ends_with("-pending")),
        SLOW_START,
    );
}

#[test]
fn sigkill_right_after_the_switch_converges_on_rerun() {
    kill_then_rerun(
        "v2 answering through the router",
        |s| s.get("/").body == "hello from v2\n",
        V2,
    );
}

/// HAProxy server slots holding an address (not in maintenance), from the runtime API.
fn slots_in_use(svc: &Service) -> usize {
    let mut child = std::process::Command::new("docker")
        .args(["exec", "-i", &format!("{}-router", svc.name)])
        .args([
            "socat",
            "-t5",
            "stdio",
            "unix-connect:/var/lib/haproxy/admin.sock",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("show servers state {}\n", svc.name).as_bytes())
        .unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    out.lines()
        .filter(|l| !l.starts_with('#') && l.split_whitespace().count() > 7)
        .filter(|l| {
            l.split_whitespace()
                .nth(6)
                .and_then(|a| a.parse::<u32>().ok())
                .is_some_and(|a| a & 0x23 == 0)
        })
        .count()
}

#[test]
fn sigkill_during_the_drain_leaves_no_slot_held_after_the_next_run() {
    let svc = Service::haproxy().with_config("[deploy]\ndrain = \"30s\"\nstop_timeout = \"1s\"\n");
    svc.deploy(V1).success();
    let mut child = svc
        .command(&["deploy", "--image", V2])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually(30, "v2 to serve", || svc.get("/").body == "hello from v2\n");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        slots_in_use(&svc),
        2,
        "v2 serving and v1 draining when the run died"
    );
    // The next run converges before it does anything else, even one that is then refused.
    svc.deploy(CRASH).code(1);
    assert_eq!(
        slots_in_use(&svc),
        1,
        "only the serving release holds a slot"
    );
    assert_eq!(svc.get("/").body, "hello from v2\n");
}
