//! The installer every action runs first (dist/install.sh), end to end: the root action run by
//! act on this host, fed by a fake GitHub release over HTTPS that serves the artifacts
//! `dist build` makes, exactly as the release workflow publishes them. The fake's certificate
//! comes from a test CA that the job trusts through `CURL_CA_BUNDLE`, so HTTPS stays the only
//! way in. The installer's other branches (a given binary, a branch ref, a bad tag, an
//! untrusted certificate) run the script directly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::act::{Act, ActRun, Repo, require_act};
use crate::support::release_server::ReleaseServer;
use crate::support::web::{Reply, Web};

/// Where the actions come from on GitHub.
const REPOSITORY: &str = "deploy-action/deploy-action";

/// This crate's version, whose release is `v<version>`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn release_tag() -> String {
    format!("v{VERSION}")
}

/// The major tag a workflow pins (`v1`), moved to each stable release; `v0` before 1.0.
fn major_tag() -> String {
    format!("v{}", VERSION.split('.').next().unwrap())
}

/// The target triple of this host, which the installer picks here.
fn host_triple() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-gnu"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("no release target for {other}"),
    }
}

fn asset() -> String {
    format!("deploy-action-{}.tar.xz", host_triple())
}

/// The release's assets for this host, made as the release workflow makes them: `dist build
/// --artifacts=local` for the host's target, its manifest beside the artifacts (the global
/// job downloads them all into target/distrib), then `dist build --artifacts=global`, which
/// writes sha256.sum. Built once per test run; the cargo build goes to a target directory of
/// its own (`target/install-e2e`): the dist profile shares nothing with the test build, and
/// a build under `cargo test` must not wait on the lock of the directory `cargo test` holds.
fn artifacts() -> &'static [(String, Vec<u8>)] {
    static ASSETS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("install-e2e");
        let dist = |args: &[&str]| -> serde_json::Value {
            let out = Command::new("dist")
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .arg("build")
                .args(args)
                .arg("--output-format=json")
                .env("CARGO_TARGET_DIR", &target)
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run `dist` ({e}): scripts/install-dist.sh installs cargo-dist")
                });
            assert!(
                out.status.success(),
                "dist build {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).expect("dist's manifest")
        };
        let local = dist(&["--artifacts=local", "--target", &host_triple()]);
        let files = |manifest: &serde_json::Value| -> Vec<PathBuf> {
            manifest["upload_files"]
                .as_array()
                .expect("upload_files in dist's manifest")
                .iter()
                .map(|f| PathBuf::from(f.as_str().unwrap()))
                .collect()
        };
        let mut uploads = files(&local);
        let distrib = uploads[0].parent().unwrap().to_path_buf();
        std::fs::write(
            distrib.join(format!("{}-dist-manifest.json", host_triple())),
            local.to_string(),
        )
        .unwrap();
        uploads.extend(files(&dist(&["--artifacts=global"])));
        let assets: Vec<(String, Vec<u8>)> = uploads
            .iter()
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(path).unwrap())
            })
            .collect();
        for name in [asset(), "sha256.sum".to_string()] {
            assert!(
                assets.iter().any(|(n, _)| *n == name),
                "dist build made no {name}: {uploads:?}"
            );
        }
        assets
    })
}

/// A workflow whose job installs through the root action twice, then runs the binary from
/// PATH as a later step would.
const TWICE: &str = r#"on: push
jobs:
  install:
    runs-on: ubuntu-latest
    steps:
      - id: first
        uses: deploy-action/deploy-action@MAJOR
        with:
          command: releases
          args: --help
      - id: second
        uses: deploy-action/deploy-action@MAJOR
        with:
          command: releases
          args: --help
      - id: version
        run: |
          command -v deploy-action
          deploy-action --version
"#;

fn install_twice() -> Repo {
    Repo::new(
        "acme/app",
        &[(
            ".github/workflows/install.yml",
            TWICE.replace("MAJOR", &major_tag()),
        )],
    )
}

/// The runner, with `GITHUB_SERVER_URL` at `server_url` and the test CA trusted.
fn runner(server_url: &str, ca_bundle: &Path) -> Act {
    Act::new("push", ".github/workflows/install.yml", &major_tag())
        .env("GITHUB_SERVER_URL", server_url)
        .env("CURL_CA_BUNDLE", ca_bundle.to_str().unwrap())
}

/// The release, served by the fake.
fn release() -> ReleaseServer {
    ReleaseServer::start(REPOSITORY, &release_tag(), artifacts())
}

/// The installer's own report lines (`deploy-action X.Y.Z <how> in N ms: <path>`) of a step.
fn installed(run: &ActRun, step: &str) -> Vec<String> {
    run.step_output(step)
        .into_iter()
        .filter(|l| l.starts_with("deploy-action ") && l.contains(" ms: "))
        .collect()
}

#[test]
fn the_release_binary_is_downloaded_verified_and_cached_and_a_second_use_downloads_nothing() {
    if !require_act() {
        return;
    }
    let server = release();
    let act = runner(server.url(), server.ca_bundle());
    let run = act.run(&install_twice());
    run.success();

    // One download of each, both over HTTPS, through GitHub's redirect.
    assert_eq!(server.downloads(&asset()), 1, "{:#?}", server.served());
    assert_eq!(server.downloads("sha256.sum"), 1, "{:#?}", server.served());
    let first = installed(&run, "first");
    let second = installed(&run, "second");
    assert_eq!(first.len(), 1, "{}", run.log);
    assert!(
        first[0].contains(&format!("downloaded from release {}", release_tag())),
        "{}",
        run.log
    );
    assert!(second[0].contains("from the tool cache"), "{}", run.log);

    // Laid out as @actions/tool-cache lays out a tool, and on PATH for later steps.
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    let tool = act.tool_cache().join("deploy-action").join(VERSION);
    let bin = tool.join(arch).join("deploy-action");
    assert!(tool.join(format!("{arch}.complete")).is_file());
    assert!(
        first[0].ends_with(&format!(": {}", bin.display())),
        "{first:?}"
    );
    assert_eq!(
        run.step_output("version"),
        [
            bin.display().to_string(),
            format!("deploy-action {VERSION}")
        ],
        "{}",
        run.log
    );
}

#[test]
fn a_tampered_asset_fails_the_job_before_the_binary_ever_runs() {
    if !require_act() {
        return;
    }
    let server = release();
    let scratch = tempfile::tempdir().unwrap();
    let marker = scratch.path().join("the tampered binary ran");
    server.replace(&asset(), tampered_archive(scratch.path(), &marker));
    // Run, the tampered binary leaves the marker: its absence below means it never ran.
    let tampered = scratch
        .path()
        .join(format!("deploy-action-{}/deploy-action", host_triple()));
    assert!(Command::new(&tampered).status().unwrap().success());
    assert!(marker.exists());
    std::fs::remove_file(&marker).unwrap();
    let act = runner(server.url(), server.ca_bundle());
    let run = act.run(&install_twice());
    run.failure();

    assert_eq!(server.downloads(&asset()), 1);
    let errors = run.commands("error");
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&format!("{} does not match the sha256.sum", asset()))),
        "{errors:?}\n{}",
        run.log
    );
    assert!(!marker.exists(), "the tampered binary ran:\n{}", run.log);
    assert!(!run.ran("second") && !run.ran("version"), "{}", run.log);
    // Nothing was cached.
    assert!(!act.tool_cache().join("deploy-action").exists());
}

#[test]
fn a_plain_http_server_is_refused_before_any_request() {
    if !require_act() {
        return;
    }
    let web = Web::http(|_| Reply::status(404));
    let act = runner(web.url(), Path::new("/nonexistent"));
    let run = act.run(&install_twice());
    run.failure();

    let errors = run.commands("error");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("refusing to download deploy-action over anything but HTTPS")),
        "{errors:?}\n{}",
        run.log
    );
    assert!(web.requests().is_empty(), "{:?}", web.requests());
    assert!(!run.ran("version"));
}

/// An archive laid out like the real one whose `deploy-action` leaves `marker` behind if it
/// ever runs.
fn tampered_archive(dir: &Path, marker: &Path) -> Vec<u8> {
    let inner = dir.join(format!("deploy-action-{}", host_triple()));
    std::fs::create_dir_all(&inner).unwrap();
    let bin = inner.join("deploy-action");
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\ntouch '{}'\necho 'deploy-action {VERSION}'\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let archive = dir.join("tampered.tar.xz");
    let ok = Command::new("tar")
        .arg("-cJf")
        .arg(&archive)
        .arg("-C")
        .arg(dir)
        .arg(inner.file_name().unwrap())
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::read(archive).unwrap()
}

// The installer's other branches, run directly: no runner needed to tell them apart.

/// One run of dist/install.sh with only `env` (and a PATH of `tools`) set, as a step would run it.
struct Install {
    code: i32,
    stdout: String,
    output: String,
    path: String,
}

fn install_script(env: &[(&str, &str)]) -> Install {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let path = dir.path().join("path");
    let out = Command::new(which("bash"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/dist/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", dir.path())
        .env("RUNNER_TEMP", dir.path())
        .env("RUNNER_TOOL_CACHE", dir.path().join("tool_cache"))
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_PATH", &path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Install {
        code: out.status.code().unwrap_or(-1),
        stdout: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        output: std::fs::read_to_string(output).unwrap_or_default(),
        path: std::fs::read_to_string(path).unwrap_or_default(),
    }
}

/// Where `tool` is on this process's PATH.
fn which(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(tool))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH"))
}

#[test]
fn a_binary_named_by_deploy_action_bin_is_used_as_it_is() {
    let bin = crate::support::bin();
    let run = install_script(&[("DEPLOY_ACTION_BIN", bin), ("DEPLOY_ACTION_REF", "v1")]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "deploy-action {VERSION} from DEPLOY_ACTION_BIN={bin}"
        )),
        "{}",
        run.stdout
    );
    // Under its own name on PATH, so later steps can call `deploy-action`.
    assert_eq!(run.output, format!("path={bin}\n"));
    assert_eq!(
        run.path.trim(),
        Path::new(bin).parent().unwrap().to_str().unwrap()
    );
}

#[test]
fn a_deploy_action_bin_that_is_not_an_executable_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("deploy-action");
    std::fs::write(&text, "not a program").unwrap();
    let text = text.to_str().unwrap();
    let run = install_script(&[("DEPLOY_ACTION_BIN", text)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "::error title=deploy-action install::DEPLOY_ACTION_BIN={text} is not an executable file"
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn a_branch_ref_is_built_from_source_and_without_cargo_says_what_is_missing() {
    // A PATH with the shell's tools and no cargo.
    let tools = tempfile::tempdir().unwrap();
    for tool in ["dirname", "sed", "head", "date", "basename"] {
        std::os::unix::fs::symlink(which(tool), tools.path().join(tool)).unwrap();
    }
    let run = install_script(&[
        ("DEPLOY_ACTION_REF", "main"),
        ("DEPLOY_ACTION_REPOSITORY", REPOSITORY),
        ("PATH", tools.path().to_str().unwrap()),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("::notice title=deploy-action::the action's ref 'main' is not a release"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("building deploy-action from source needs cargo"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_release_tag_that_disagrees_with_the_version_fails() {
    let run = install_script(&[
        ("DEPLOY_ACTION_REF", "v99.0.0"),
        ("DEPLOY_ACTION_REPOSITORY", REPOSITORY),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "the action's ref v99.0.0 looks like a release tag, but its Cargo.toml says version {VERSION}"
        )),
        "{}",
        run.stdout
    );
}

/// The installer run directly against the fake release, on this host.
fn install_release(server: &ReleaseServer, ca_bundle: &Path) -> Install {
    install_script(&[
        ("DEPLOY_ACTION_REF", &major_tag()),
        ("DEPLOY_ACTION_REPOSITORY", REPOSITORY),
        ("GITHUB_SERVER_URL", server.url()),
        ("CURL_CA_BUNDLE", ca_bundle.to_str().unwrap()),
    ])
}

#[test]
fn an_asset_missing_from_sha256_sum_fails_closed() {
    let server = release();
    let sums = String::from_utf8(server.asset("sha256.sum")).unwrap();
    let without: String = sums
        .lines()
        .filter(|l| !l.ends_with(&asset()))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(sums, without, "sha256.sum lists {}:\n{sums}", asset());
    server.replace("sha256.sum", without.into_bytes());
    let run = install_release(&server, server.ca_bundle());
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "{} is not in the sha256.sum of {}: not running it",
            asset(),
            release_tag()
        )),
        "{}",
        run.stdout
    );
    assert!(run.output.is_empty() && run.path.is_empty());
}

#[test]
fn a_server_whose_certificate_the_runner_does_not_trust_is_not_downloaded_from() {
    let server = release();
    // The system's CAs only: the test CA is not among them.
    let run = install_release(&server, Path::new("/etc/ssl/certs/ca-certificates.crt"));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("cannot download") && run.stdout.contains("sha256.sum"),
        "{}",
        run.stdout
    );
    assert!(server.served().is_empty(), "{:?}", server.served());
}

/// Cold and cached installs inside the act job, and the release binary's size: run by
/// bench/install/run.sh. Each run is a new runner (an empty tool cache) whose job uses the
/// root action twice; the fake release is on loopback. BENCH_INSTALL_RUNS runs (default 7);
/// JSON results to BENCH_INSTALL_OUT.
#[test]
#[ignore]
fn bench_install() {
    assert!(require_act(), "the benchmark needs act and Docker");
    let runs: usize = std::env::var("BENCH_INSTALL_RUNS")
        .map(|v| v.parse().expect("BENCH_INSTALL_RUNS"))
        .unwrap_or(7);
    let server = release();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let (mut cold, mut cached, mut cold_step, mut cached_step) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let act = runner(server.url(), server.ca_bundle());
        let run = act.run(&install_twice());
        run.success();
        let reported = |step: &str| -> f64 {
            let line = &installed(&run, step)[0];
            let (_, after) = line.split_once(" in ").unwrap();
            after.split_once(" ms").unwrap().0.parse().unwrap()
        };
        cold.push(reported("first"));
        cached.push(reported("second"));
        cold_step.push(ms(run.step_time(&["first", "0"]).unwrap()));
        cached_step.push(ms(run.step_time(&["second", "0"]).unwrap()));
    }
    assert_eq!(server.downloads(&asset()), runs, "one download per job");

    // The binary as released: unpacked from the archive dist made.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join(asset());
    std::fs::write(&archive, server.asset(&asset())).unwrap();
    let ok = Command::new("tar")
        .arg("-xJf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let binary = dir
        .path()
        .join(format!("deploy-action-{}/deploy-action", host_triple()));
    let file = Command::new("file").arg(&binary).output();
    let file = file.map_or(String::new(), |o| {
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    });

    let median = |v: &mut Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let results = serde_json::json!({
        "runs": runs,
        "asset": asset(),
        "cold_install_ms": { "median": median(&mut cold), "all": cold },
        "cached_install_ms": { "median": median(&mut cached), "all": cached },
        "cold_step_ms": { "median": median(&mut cold_step), "all": cold_step },
        "cached_step_ms": { "median": median(&mut cached_step), "all": cached_step },
        "archive_bytes": std::fs::metadata(&archive).unwrap().len(),
        "binary_bytes": std::fs::metadata(&binary).unwrap().len(),
        "binary_file": file,
    });
    eprintln!("{}", serde_json::to_string_pretty(&results).unwrap());
    if let Ok(out) = std::env::var("BENCH_INSTALL_OUT") {
        std::fs::write(out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    }
}
