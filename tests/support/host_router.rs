//! A router running on this machine (`mode = "host"`): Debian's haproxy or nginx, started by
//! the test with the config snippet the README tells users to add, and stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{Kind, eventually};

pub struct HostRouter {
    kind: Kind,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn binary(kind: Kind) -> &'static str {
    let name = kind.name();
    for dir in ["/usr/sbin", "/usr/local/sbin", "/usr/bin"] {
        let path = format!("{dir}/{name}");
        if Path::new(&path).exists() {
            return Box::leak(path.into_boxed_str());
        }
    }
    panic!("host-mode tests need {name} installed (apt-get install {name}); .ci/run installs it");
}

impl HostRouter {
    /// `pins`: with the README's `use-server` lines, which let the tool check a staged
    /// release through HAProxy before the switch.
    pub fn start(kind: Kind, service: &str, port: u16, dir: &Path, pins: bool) -> Self {
        let dir = dir.to_path_buf();
        let child = match kind {
            Kind::Haproxy => {
                let cfg = dir.join("haproxy.cfg");
                let use_server: String = if pins {
                    (1..=8)
                        .map(|i| {
                            format!(
                                "    use-server s{i} if {{ req.hdr(x-deploy-action-slot) -m str s{i} }}\n"
                            )
                        })
                        .collect()
                } else {
                    String::new()
                };
                std::fs::write(
                    &cfg,
                    format!(
                        "global\n    stats socket {sock} mode 600 level admin\n\n\
                         defaults\n    mode http\n    timeout connect 3s\n    timeout client 60s\n    timeout server 60s\n    \
                         retries 3\n    option redispatch 1\n    retry-on conn-failure empty-response\n\n\
                         frontend web\n    bind 127.0.0.1:{port}\n    default_backend {service}\n\n\
                         backend {service}\n    balance roundrobin\n    http-response set-header X-Deploy-Backend %si:%sp\n{use_server}    \
                         server-template s 1-8 127.0.0.1:1 disabled\n",
                        sock = dir.join("admin.sock").display()
                    ),
                )
                .unwrap();
                Command::new(binary(kind))
                    .args(["-W", "-db", "-f"])
                    .arg(&cfg)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            }
            Kind::Nginx => {
                for sub in ["logs", "tmp"] {
                    std::fs::create_dir_all(dir.join(sub)).unwrap();
                }
                std::fs::write(
                    dir.join("upstream.conf"),
                    format!("upstream {service} {{ server 127.0.0.1:1 down; }}\n"),
                )
                .unwrap();
                std::fs::write(
                    dir.join("nginx.conf"),
                    format!(
                        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\n\
                         events {{ worker_connections 1024; }}\n\
                         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  \
                         fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  \
                         include {d}/upstream.conf;\n  server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      \
                         proxy_pass http://{service};\n      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n      \
                         add_header X-Deploy-Backend $upstream_addr always;\n    }}\n  }}\n}}\n",
                        d = dir.display()
                    ),
                )
                .unwrap();
                Command::new(binary(kind))
                    .arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(dir.join("nginx.conf"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            }
        };
        eventually(10, "the host router to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        HostRouter {
            kind,
            port,
            dir,
            child: Some(child),
        }
    }

    /// The `[router]` table body for this router.
    pub fn router_config(&self) -> String {
        let d = self.dir.display();
        match self.kind {
            Kind::Haproxy => format!(
                "kind = \"haproxy\"\nmode = \"host\"\nadmin_socket = \"{d}/admin.sock\"\nlisten = \"127.0.0.1:{port}\"\n",
                port = self.port
            ),
            Kind::Nginx => format!(
                "kind = \"nginx\"\nmode = \"host\"\nupstream_file = \"{d}/upstream.conf\"\n\
                 reload_command = [\"{bin}\", \"-p\", \"{d}\", \"-c\", \"{d}/nginx.conf\", \"-s\", \"reload\"]\n\
                 listen = \"127.0.0.1:{port}\"\n",
                bin = binary(Kind::Nginx),
                port = self.port
            ),
        }
    }
}

impl Drop for HostRouter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
