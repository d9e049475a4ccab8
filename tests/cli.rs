//! The command line contract: help, flags, exit codes.

use std::process::Command;

use crate::support::bin;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(bin());
    c.args(args)
        .env_remove("DEPLOY_ACTION_CONFIG")
        .env_remove("GITHUB_ACTIONS");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn help_lists_only_the_commands_that_work() {
    let (code, out, _) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    let listed: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description continues under its command, further in.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed,
        [
            "deploy", "rollback", "releases", "scan", "build", "lock", "approve", "annotate",
            "smoke", "run", "help"
        ],
        "{out}"
    );
    assert!(out.contains("--config") && out.contains("--json") && out.contains("--verbose"));
}

#[test]
fn an_unknown_flag_is_bad_input() {
    let (code, _, err) = run(&["deploy", "--imag", "x"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--image"),
        "clap suggests the right flag: {err}"
    );
}

#[test]
fn a_missing_config_file_is_bad_input_naming_the_path() {
    let (code, _, err) = run(&["--config", "/nonexistent/deploy.toml", "releases"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/deploy.toml"), "{err}");
}

#[test]
fn the_config_path_comes_from_the_environment_too() {
    let (code, _, err) = run(
        &["releases"],
        &[("DEPLOY_ACTION_CONFIG", "/nonexistent/from-env.toml")],
    );
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/from-env.toml"), "{err}");
}

#[test]
fn an_unreachable_docker_engine_exits_3_after_retries() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("deploy.toml");
    std::fs::write(
        &cfg,
        "service = \"x\"\n[target]\nhost = \"tcp://127.0.0.1:1\"\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, _, err) = run(&["--config", cfg.to_str().unwrap(), "releases"], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("tcp://127.0.0.1:1") && err.contains("unreachable after"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "retries are bounded"
    );
}

#[test]
fn a_config_error_under_actions_is_an_annotation_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("deploy.toml");
    std::fs::write(&cfg, "service = \"x\"\n[deploy]\ndrian = \"5s\"\n").unwrap();
    let (code, out, err) = run(
        &["--config", cfg.to_str().unwrap(), "releases"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(code, 2);
    assert!(
        out.contains(&format!("::error file={},line=3,col=1::", cfg.display())),
        "{out}"
    );
    assert!(err.contains("drain"), "did you mean: {err}");
}
