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
    svc.set_key(
        "target",
        &format!("host = \"tcp://127.0.0.1:{}\"", engine.port),
    );
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

/// An sshd on a loopback address of its own, port 22 (bollard's ssh transport does not pass
/// a port from the URL to ssh), letting in one generated key held by a private ssh-agent.
struct SshEngine {
    address: String,
    agent_socket: std::path::PathBuf,
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl SshEngine {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let keygen = |name: &str| {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(name))
                .status()
                .expect("these tests need openssh (apt-get install openssh-server openssh-client); .ci/run installs it");
            assert!(ok.success());
        };
        keygen("host_key");
        keygen("user_key");
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let address = format!(
            "127.0.{}.{}",
            std::process::id() % 250 + 1,
            free_port() % 250 + 2
        );
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress {address}\nPort 22\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nStrictModes no\nUsePAM no\n\
                 PidFile {d}/sshd.pid\n",
                d = d.display()
            ),
        )
        .unwrap();
        let sshd = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .spawn()
            .expect("sshd is missing (apt-get install openssh-server)");
        let agent_socket = d.join("agent.sock");
        let agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&agent_socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let engine = SshEngine {
            address,
            agent_socket,
            children: vec![sshd, agent],
            _dir: dir,
        };
        let addr = engine.address.clone();
        eventually(10, "sshd and ssh-agent to listen", || {
            std::net::TcpStream::connect((addr.as_str(), 22)).is_ok()
                && engine.agent_socket.exists()
        });
        let added = Command::new("ssh-add")
            .arg("-q")
            .arg(engine._dir.path().join("user_key"))
            .env("SSH_AUTH_SOCK", &engine.agent_socket)
            .status()
            .unwrap();
        assert!(added.success());
        engine
    }
}

impl Drop for SshEngine {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn deploys_through_an_engine_over_ssh() {
    let ssh = SshEngine::start();
    let svc = Service::haproxy();
    let out = svc
        .command(&["deploy", "--image", V1])
        .env("DOCKER_HOST", format!("ssh://root@{}", ssh.address))
        .env("SSH_AUTH_SOCK", &ssh.agent_socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(svc.get("/").body, "hello from v1\n");
}
