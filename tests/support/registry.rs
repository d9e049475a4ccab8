//! Debian's `docker-registry` (distribution 2.x) on a free loopback port, with or without
//! htpasswd auth, started from a generated config and stopped when dropped. The engine
//! treats `127.0.0.0/8` registries as insecure by default, so plain HTTP works.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;

use super::{eventually, free_port};

pub struct Registry {
    pub port: u16,
    /// `(user, password)` when the registry wants them.
    pub login: Option<(String, String)>,
    child: Child,
    dir: tempfile::TempDir,
}

impl Registry {
    /// A registry anyone may push to.
    pub fn open() -> Self {
        Self::start(None)
    }

    /// A registry that wants `user`/`password` (htpasswd, bcrypt) for every request.
    pub fn with_login(user: &str, password: &str) -> Self {
        Self::start(Some((user.to_string(), password.to_string())))
    }

    fn start(login: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let auth = match &login {
            Some((user, password)) => {
                let hash = bcrypt::hash(password, 5).unwrap();
                std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: deploy-action-test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = spawn(&config_path, dir.path());
        let registry = Registry {
            port,
            login,
            child,
            dir,
        };
        eventually(15, "docker-registry to answer", || {
            matches!(registry.get("/v2/").0, 200 | 401)
        });
        registry
    }

    /// `127.0.0.1:port`, the registry part of an image name.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The tags the registry holds for `path` (`team/app`), sorted.
    pub fn tags(&self, path: &str) -> Vec<String> {
        let (status, body) = self.get(&format!("/v2/{path}/tags/list"));
        if status == 404 {
            return Vec::new();
        }
        assert_eq!(status, 200, "tags of {path}: {body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut tags: Vec<String> = doc["tags"]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        tags.sort();
        tags
    }

    /// The manifest digest of `path:tag`.
    pub fn manifest_digest(&self, path: &str, tag: &str) -> Option<String> {
        let (status, head) = self.request(
            "HEAD",
            &format!("/v2/{path}/manifests/{tag}"),
            "Accept: application/vnd.docker.distribution.manifest.v2+json\r\n",
        );
        (status == 200).then(|| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("docker-content-digest")
                        .then(|| v.trim().to_string())
                })
                .unwrap()
        })
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, "")
    }

    /// A plain HTTP/1.1 request with the registry's login, if any; the status and, for a
    /// HEAD, the headers, else the body.
    fn request(&self, method: &str, path: &str, headers: &str) -> (u16, String) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let auth = self
            .login
            .as_ref()
            .map(|(u, p)| {
                format!(
                    "Authorization: Basic {}\r\n",
                    base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
                )
            })
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}{headers}Connection: close\r\n\r\n",
            self.host()
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let rest = if method == "HEAD" { head } else { body };
        (status, rest.to_string())
    }
}

fn spawn(config: &Path, dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("registry.log")).unwrap();
    Command::new("docker-registry")
        .arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect(
            "these tests need Debian's docker-registry (apt-get install docker-registry); \
             scripts/install-deps.sh installs it",
        )
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}
