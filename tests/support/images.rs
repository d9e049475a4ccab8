//! The images tests deploy, built once per test run by the same scripts a person uses.

use std::process::Command;
use std::sync::OnceLock;

use super::Kind;

pub const V1: &str = "deploy-action-testapp:v1";
pub const V2: &str = "deploy-action-testapp:v2";
pub const V3: &str = "deploy-action-testapp:v3";
pub const NEVER_HEALTHY: &str = "deploy-action-testapp:v2-never-healthy";
pub const CRASH: &str = "deploy-action-testapp:v2-crash";
pub const SLOW_START: &str = "deploy-action-testapp:v2-slow-start";
pub const ERROR_500: &str = "deploy-action-testapp:v2-error500";
/// No HEALTHCHECK: the tool probes over HTTP.
pub const V2_NO_HEALTHCHECK: &str = "deploy-action-testapp:v2-nohc";
pub const NEVER_HEALTHY_NO_HEALTHCHECK: &str = "deploy-action-testapp:v2-never-healthy-nohc";

pub fn router(kind: Kind) -> &'static str {
    match kind {
        Kind::Haproxy => "deploy-action/haproxy:local",
        Kind::Nginx => "deploy-action/nginx:local",
    }
}

fn script(name: &str, args: &[&str]) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/").to_string() + name;
    let out = Command::new("bash").arg(&path).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds every test image once per process.
pub fn ensure() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let app = "build-testapp-image.sh";
        script(app, &[V1, "v1"]);
        script(app, &[V2, "v2"]);
        script(app, &[V3, "v3"]);
        script(app, &[NEVER_HEALTHY, "v2", "never-healthy"]);
        script(app, &[CRASH, "v2", "crash"]);
        script(app, &[SLOW_START, "v2", "slow-start"]);
        script(app, &[ERROR_500, "v2", "error500"]);
        script(
            app,
            &[V2_NO_HEALTHCHECK, "v2", "healthy", "--no-healthcheck"],
        );
        script(
            app,
            &[
                NEVER_HEALTHY_NO_HEALTHCHECK,
                "v2",
                "never-healthy",
                "--no-healthcheck",
            ],
        );
        script("build-router-image.sh", &["haproxy"]);
        script("build-router-image.sh", &["nginx"]);
    });
}
