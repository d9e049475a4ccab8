//! Reaching the Docker engine: `DOCKER_HOST` and `target.host`, over a unix socket or TCP.

use std::process::{Child, Command, Stdio};

use crate::support::images::*;
use crate::support::{Service, eventually, free_port};

/// Exposes the local engine's unix socket on a loopback TCP port, as a remote engine would be.
struct TcpEngine {
    port: u16,
    child: Child,
}

impl TcpEngine {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("socat")
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
            .arg("UNIX-CONNECT:/var/run/docker.sock")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("these tests need socat (apt-get install socat); .ci/run installs it");
        eventually(5, "socat to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        TcpEngine { port, child }
    }
}

impl Drop for TcpEngine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn deploys_through_an_engine_over_tcp_named_by_docker_host() {
    let engine = TcpEngine::start();
    let svc = Service::haproxy();
    let run = |args: &[&str]| {
        let out = svc
            .command(args)
            .env("DOCKER_HOST", format!("tcp://127.0.0.1:{}", engine.port))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["deploy", "--image", V1]);
    assert_eq!(svc.get("/").body, "hello from v1\n");
    assert!(run(&["releases"]).contains("serving"));
}

#[test]
fn target_host_in_the_config_wins_over_docker_host() {
    let engine = TcpEngine::start();
    let svc = Service::haproxy();
    let text = std::fs::read_to_string(svc.config_path()).unwrap().replace(
        "port = 8080\n",
        &format!("port = 8080\nhost = \"tcp://127.0.0.1:{}\"\n", engine.port),
    );
    std::fs::write(svc.config_path(), text).unwrap();
    let out = svc
        .command(&["releases"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
