//! `lock`: the lease, mutual exclusion under contention and SIGKILL, signals, `--hold` and
//! the token across steps. Each test runs against the `file` backend here and, where the
//! test says so, against the `github` backend on the fake GitHub (`tests/support/github`).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::github::FakeGitHub;
use crate::support::{Run, bin};

/// Where a test's locks live: its own directory for `file`, its own repository for `github`.
pub struct LockPlace {
    dir: tempfile::TempDir,
    github: Option<(Arc<FakeGitHub>, String)>,
    /// Everything `run` saw printed, to check that the token never shows.
    printed: Mutex<String>,
}

impl LockPlace {
    pub fn file() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            github: None,
            printed: Mutex::default(),
        }
    }

    pub fn github(fake: &Arc<FakeGitHub>) -> Self {
        let repo = format!("acme/locks-{}", rand_suffix());
        fake.create_repo(&repo);
        Self {
            dir: tempfile::tempdir().unwrap(),
            github: Some((fake.clone(), repo)),
            printed: Mutex::default(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `deploy-action lock ARGS…` with this place's backend, no deploy.toml, no Actions.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir.path())
            .env_remove("GITHUB_ACTIONS")
            .env_remove("DEPLOY_ACTION_CONFIG")
            .env_remove("DEPLOY_ACTION_LOCK_NAME")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_REPOSITORY")
            .env("CI", "true")
            .arg("lock")
            .args(args);
        match &self.github {
            None => {
                c.env("TMPDIR", self.dir.path());
            }
            Some((fake, repo)) => {
                c.env("DEPLOY_ACTION_LOCK_BACKEND", "github")
                    .env("GITHUB_API_URL", fake.url())
                    .env("GITHUB_TOKEN", fake.token())
                    .env("GITHUB_REPOSITORY", repo);
            }
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let run = Run::from(self.command(args).output().unwrap());
        let mut printed = self.printed.lock().unwrap();
        printed.push_str(&run.stdout);
        printed.push_str(&run.stderr);
        run
    }

    pub fn status(&self, name: &str) -> serde_json::Value {
        let out = self.run(&["--json", "status", "--name", name]);
        out.success();
        out.json()
    }
}

impl Drop for LockPlace {
    fn drop(&mut self) {
        if let Some((fake, _)) = &self.github
            && !std::thread::panicking()
        {
            let printed = self.printed.lock().unwrap();
            assert!(
                !printed.contains(fake.token()),
                "the GitHub token was printed"
            );
        }
    }
}

fn rand_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The critical section every contender runs under the lock: it appends `enter` and `exit`
/// lines with wall-clock nanoseconds to a shared log.
fn section(log: &Path, who: &str, seconds: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!(
            "echo \"enter {who} $(date +%s%N)\" >> {log}; sleep {seconds}; echo \"exit {who} $(date +%s%N)\" >> {log}",
            log = log.display()
        ),
    ]
}

/// Who held the lock, from when to when (wall-clock nanoseconds).
type Section = (String, u128, u128);

/// The log's sections as (who, enter, exit) in order of entry; a section with no exit
/// (its holder was killed) ends at `killed[who]`.
fn sections(log: &Path, killed: &HashMap<String, u128>) -> Vec<Section> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut open: HashMap<String, u128> = HashMap::new();
    let mut done = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [what, who, at] = parts[..] else {
            panic!("bad log line {line:?}");
        };
        let at: u128 = at.parse().unwrap();
        match what {
            "enter" => assert!(
                open.insert(who.to_string(), at).is_none(),
                "{who} entered twice"
            ),
            "exit" => done.push((who.to_string(), open.remove(who).unwrap(), at)),
            _ => panic!("bad log line {line:?}"),
        }
    }
    for (who, enter) in open {
        let end = *killed
            .get(&who)
            .unwrap_or_else(|| panic!("{who} entered and never left, but was not killed"));
        done.push((who, enter, end));
    }
    done.sort_by_key(|s| s.1);
    done
}

fn assert_no_overlap(sections: &[Section]) {
    for pair in sections.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            b.1 >= a.2,
            "critical sections overlap: {} held it until {} but {} entered at {} ({} µs early)",
            a.0,
            a.2,
            b.0,
            b.1,
            (a.2 - b.1) / 1000
        );
    }
}

/// `workers` processes take the lock `rounds` times each through `--hold`; a killer may
/// SIGKILL holders. Returns the sections and who was killed.
fn contend(
    place: &LockPlace,
    name: &str,
    workers: usize,
    rounds: usize,
    extra: &[&str],
    kills: usize,
) -> (Vec<Section>, HashMap<String, u128>) {
    let log = place.path().join("sections.log");
    let killed: Arc<Mutex<HashMap<String, u128>>> = Arc::default();
    let holders: Arc<Mutex<HashMap<u32, String>>> = Arc::default();
    let started = Instant::now();
    let mut threads = Vec::new();
    for w in 0..workers {
        let (log, killed, holders) = (log.clone(), killed.clone(), holders.clone());
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let name = name.to_string();
        // Each round's command is built from the place's environment.
        let envs: Vec<(String, String)> = place
            .command(&[])
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.into(), v?.to_str()?.into())))
            .collect();
        let cwd = place.path().to_path_buf();
        threads.push(std::thread::spawn(move || {
            let mut failures = Vec::new();
            for r in 0..rounds {
                let who = format!("w{w}r{r}");
                let mut c = Command::new(bin());
                c.current_dir(&cwd)
                    .env_remove("GITHUB_ACTIONS")
                    .env_remove("GITHUB_TOKEN")
                    .envs(envs.iter().map(|(k, v)| (k, v)))
                    .args(["lock", "acquire", "--name", &name, "--timeout", "120s"])
                    .args(&extra)
                    .arg("--hold")
                    .arg("--")
                    .args(section(&log, &who, if kills > 0 { "0.3" } else { "0.02" }))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                std::os::unix::process::CommandExt::process_group(&mut c, 0);
                let child = c.spawn().unwrap();
                let pid = child.id();
                holders.lock().unwrap().insert(pid, who.clone());
                let out = child.wait_with_output().unwrap();
                holders.lock().unwrap().remove(&pid);
                if !out.status.success() && !killed.lock().unwrap().contains_key(&who) {
                    failures.push(format!(
                        "{who}: {:?}\n{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
            failures
        }));
    }
    // The killer: SIGKILL whichever process holds the lock now, with its command.
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(700));
        let status = place.status(name);
        let Some(pid) = status["holder"]["pid"].as_u64() else {
            continue;
        };
        let pid = pid as u32;
        let name_of = holders.lock().unwrap().get(&pid).cloned();
        if let Some(who) = name_of {
            killed.lock().unwrap().insert(who, now_ns());
            // The holder and its command are one process group.
            kill_group(pid);
        }
    }
    let mut failures = Vec::new();
    for t in threads {
        failures.extend(t.join().unwrap());
    }
    assert!(
        failures.is_empty(),
        "contenders failed after {:?}:\n{}",
        started.elapsed(),
        failures.join("\n")
    );
    let killed = killed.lock().unwrap().clone();
    (sections(&log, &killed), killed)
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

#[test]
fn twenty_processes_take_a_file_lock_two_hundred_times_without_overlap() {
    let place = LockPlace::file();
    let (sections, _) = contend(&place, "contended", 20, 10, &["--poll", "20ms"], 0);
    assert_eq!(sections.len(), 200);
    assert_no_overlap(&sections);
}

#[test]
fn killed_file_lock_holders_lose_the_lock_after_their_ttl_and_nothing_double_holds() {
    let place = LockPlace::file();
    let (sections, killed) = contend(
        &place,
        "killed",
        20,
        3,
        &["--poll", "20ms", "--ttl", "3s"],
        4,
    );
    assert!(!killed.is_empty(), "the killer found no holder to kill");
    assert_eq!(
        sections.len(),
        60,
        "every acquisition entered, killed ones included"
    );
    assert_no_overlap(&sections);
}

fn spawn_holder(place: &LockPlace, name: &str) -> Child {
    let mut c = place.command(&["acquire", "--name", name, "--hold", "--", "sleep", "60"]);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c.spawn().unwrap()
}

fn wait_until_held(place: &LockPlace, name: &str) {
    crate::support::eventually(20, "the lock to be held", || {
        place.status(name)["held"] == true
    });
}

/// How long after `signal` the lock is free.
fn release_time_after(place: &LockPlace, name: &str, signal: &str) -> Duration {
    let mut holder = spawn_holder(place, name);
    wait_until_held(place, name);
    let sent = Instant::now();
    Command::new("kill")
        .args([&format!("-{signal}"), &holder.id().to_string()])
        .status()
        .unwrap();
    let mut free_after = None;
    while sent.elapsed() < Duration::from_secs(10) {
        if place.status(name)["held"] == false {
            free_after = Some(sent.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = holder.wait().unwrap();
    assert_eq!(status.code(), Some(1), "a cancelled hold exits 1");
    free_after.unwrap_or_else(|| panic!("the lock was still held 10 s after {signal}"))
}

#[test]
fn sigterm_and_sigint_release_a_held_file_lock_within_two_seconds() {
    let place = LockPlace::file();
    for signal in ["TERM", "INT"] {
        let took = release_time_after(&place, &format!("sig-{signal}"), signal);
        assert!(
            took < Duration::from_secs(2),
            "{signal}: released after {took:?}"
        );
    }
}

/// The token crosses steps: `acquire` writes it to `$GITHUB_OUTPUT` and `$GITHUB_STATE`,
/// and `release` in a later step takes it from `--token` or from the saved state.
pub fn cross_step_token(place: &LockPlace) {
    let outputs = place.path().join("output");
    let state = place.path().join("state");
    let acquire = |name: &str| {
        let mut c = place.command(&["acquire", "--name", name, "--version", "1.2.3"]);
        c.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_STATE", &state)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_ACTOR", "octo");
        Run::from(c.output().unwrap()).success().stdout.clone()
    };
    acquire("steps");
    let token = file_command_value(&outputs, "token");
    assert_eq!(token.len(), 64);
    assert_eq!(file_command_value(&state, "lock_token"), token);
    assert_eq!(file_command_value(&outputs, "name"), "steps");
    let status = place.status("steps");
    assert_eq!(status["holder"]["actor"], "octo");
    assert_eq!(status["holder"]["version"], "1.2.3");
    assert!(
        !status.to_string().contains(&token),
        "status shows the token"
    );
    // Someone else's token is refused and changes nothing.
    place
        .run(&["release", "--name", "steps", "--token", &"0".repeat(64)])
        .code(1);
    assert_eq!(place.status("steps")["held"], true);
    // A later `if: always()` step releases with the token from the state.
    let mut c = place.command(&["release", "--name", "steps"]);
    c.env("STATE_lock_token", &token);
    Run::from(c.output().unwrap()).success();
    assert_eq!(place.status("steps")["held"], false);
    // A second release is harmless.
    place
        .run(&["release", "--name", "steps", "--token", &token])
        .success();
    // The token from the output, passed explicitly.
    std::fs::remove_file(&outputs).unwrap();
    acquire("steps");
    let token = file_command_value(&outputs, "token");
    place
        .run(&["renew", "--name", "steps", "--token", &token])
        .success();
    place
        .run(&["release", "--name", "steps", "--token", &token])
        .success();
    assert_eq!(place.status("steps")["held"], false);
}

/// The value of `name` in a `$GITHUB_OUTPUT`-style file (`name<<DELIM … DELIM`).
pub fn file_command_value(path: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let mut found = None;
    while let Some(line) = lines.next() {
        if let Some(delim) = line.strip_prefix(&format!("{name}<<")) {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            found = Some(value.join("\n"));
        }
    }
    found.unwrap_or_else(|| panic!("{name} not in {}:\n{text}", path.display()))
}

#[test]
fn the_file_lock_token_crosses_steps() {
    cross_step_token(&LockPlace::file());
}

/// `--hold` runs the command under the lock and releases on every path out.
pub fn hold_releases_on_every_path(place: &LockPlace) {
    let run = place.run(&[
        "acquire", "--name", "held", "--hold", "--", "sh", "-c", "exit 7",
    ]);
    run.code(7);
    assert_eq!(
        place.status("held")["held"],
        false,
        "released after a failing command"
    );
    let run = place.run(&[
        "acquire",
        "--name",
        "held",
        "--hold",
        "--",
        "sh",
        "-c",
        "echo inside",
    ]);
    run.success();
    assert!(run.stdout.contains("inside"));
    assert_eq!(place.status("held")["held"], false);
    // A command that does not exist: exit 2, and the lock is free again.
    place
        .run(&[
            "acquire",
            "--name",
            "held",
            "--hold",
            "--",
            "/nonexistent/cmd",
        ])
        .code(2);
    assert_eq!(place.status("held")["held"], false);
    // The lease is renewed while the command runs longer than the TTL.
    let run = place.run(&[
        "acquire", "--name", "held", "--ttl", "1s", "--hold", "--", "sleep", "2.5",
    ]);
    run.success();
    assert_eq!(place.status("held")["held"], false);
}

#[test]
fn hold_releases_a_file_lock_on_every_path() {
    hold_releases_on_every_path(&LockPlace::file());
}

/// A waiter sees the holder, gives up with exit 4 after `--timeout`, and takes the lock
/// over once the holder's lease has run out.
pub fn timeout_and_takeover(place: &LockPlace) {
    let first = place.run(&["acquire", "--name", "stale", "--ttl", "3s"]);
    first.success();
    let started = Instant::now();
    let waiter = place.run(&["acquire", "--name", "stale", "--timeout", "1s"]);
    waiter.code(4);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        waiter.stderr.contains("waiting for lock stale: held by")
            && waiter.stderr.contains("lease ends in"),
        "the waiter says who holds the lock:\n{}",
        waiter.stderr
    );
    // The first holder never renews: its lease runs out and a waiter takes over.
    let second = place.run(&["--json", "acquire", "--name", "stale", "--timeout", "20s"]);
    second.success();
    let doc = second.json();
    assert!(doc["took_over"].is_object(), "{doc}");
    assert!(started.elapsed() >= Duration::from_millis(2500));
    // The first holder's token no longer releases anything.
    let old = first.stdout.trim();
    place
        .run(&["release", "--name", "stale", "--token", old])
        .code(1);
    assert_eq!(place.status("stale")["held"], true);
}

#[test]
fn a_file_lock_waiter_times_out_then_takes_over_an_expired_lease() {
    timeout_and_takeover(&LockPlace::file());
}

#[test]
fn file_lock_waiters_are_served_in_order_of_arrival() {
    let place = LockPlace::file();
    let first = place.run(&["acquire", "--name", "fifo", "--ttl", "30s"]);
    first.success();
    let log = place.path().join("order.log");
    let mut waiters = Vec::new();
    for i in 0..4 {
        let mut c = place.command(&[
            "acquire",
            "--name",
            "fifo",
            "--poll",
            "50ms",
            "--timeout",
            "60s",
            "--hold",
            "--",
            "sh",
            "-c",
        ]);
        c.arg(format!("echo {i} >> {}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        waiters.push(c.spawn().unwrap());
        // Each joins the queue before the next starts.
        crate::support::eventually(10, "the waiter to queue", || {
            place.status("fifo")["queue"].as_array().map(Vec::len) == Some(i + 1)
        });
    }
    let status = place.status("fifo");
    assert_eq!(status["queue"].as_array().unwrap().len(), 4, "{status}");
    place
        .run(&["release", "--name", "fifo", "--token", first.stdout.trim()])
        .success();
    for mut w in waiters {
        assert!(w.wait().unwrap().success());
    }
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "0\n1\n2\n3\n");
}

#[test]
fn bad_lock_flags_exit_2() {
    let place = LockPlace::file();
    let run = place.run(&["acquire", "--name", "x", "--ttl", "soon"]);
    run.code(2);
    assert!(run.stderr.contains("soon"), "{}", run.stderr);
    place.run(&["acquire", "--name", "../x"]).code(2);
    place.run(&["release", "--name", "x"]).code(2);
    // No deploy.toml and no `--name`: nothing names the lock.
    place.run(&["status"]).code(2);
}

// ---- The `github` backend, on the fake GitHub ----

fn fake() -> Arc<FakeGitHub> {
    let fake = Arc::new(FakeGitHub::start());
    // Contention tests make thousands of calls; the budget is tested on its own below.
    fake.set_rate_limit(1_000_000, Duration::from_secs(3600));
    fake
}

#[test]
fn twenty_processes_take_a_github_lock_two_hundred_times_without_overlap() {
    let fake = fake();
    let place = LockPlace::github(&fake);
    let (sections, _) = contend(&place, "contended", 20, 10, &["--poll", "50ms"], 0);
    assert_eq!(sections.len(), 200);
    assert_no_overlap(&sections);
    // The branch's history is the audit log: 200 acquisitions and 200 releases.
    let (repo, _) = (&place.github.as_ref().unwrap().1, ());
    let history = fake.history(repo, "refs/heads/deploy-lock/contended");
    let count = |what: &str| history.iter().filter(|m| m.contains(what)).count();
    assert_eq!(count(": acquired by"), 200, "{:?}", &history[..5]);
    assert_eq!(count(": released by"), 200);
}

#[test]
fn killed_github_lock_holders_lose_the_lock_after_their_ttl_and_nothing_double_holds() {
    let fake = fake();
    let place = LockPlace::github(&fake);
    let (sections, killed) = contend(
        &place,
        "killed",
        20,
        3,
        &["--poll", "50ms", "--ttl", "3s"],
        4,
    );
    assert!(!killed.is_empty(), "the killer found no holder to kill");
    assert_eq!(sections.len(), 60);
    assert_no_overlap(&sections);
    // A holder killed inside its section (it entered and never left) never released: its
    // lease ran out and the next waiter took over, as the branch's history records.
    let log = std::fs::read_to_string(place.path().join("sections.log")).unwrap();
    let died_inside = log.matches("enter ").count() - log.matches("exit ").count();
    let repo = &place.github.as_ref().unwrap().1;
    let history = fake.history(repo, "refs/heads/deploy-lock/killed");
    let takeovers = history.iter().filter(|m| m.contains("taken over")).count();
    assert!(
        takeovers >= died_inside.max(1),
        "{died_inside} holders died holding the lock, {takeovers} takeovers"
    );
}

#[test]
fn an_uncontended_github_acquire_costs_three_calls_and_waiting_costs_almost_none() {
    let fake = fake();
    let place = LockPlace::github(&fake);
    let repo = place.github.as_ref().unwrap().1.clone();
    fake.reset_calls();
    let first = place.run(&["--json", "acquire", "--name", "cheap", "--ttl", "30s"]);
    first.success();
    assert!(
        fake.counted_calls() <= 3,
        "uncontended acquire: {:?}",
        fake.calls()
    );
    assert_eq!(first.json()["api_calls"]["counted"], fake.counted_calls());
    // A waiter polling every 100 ms for 3 s: after the first look, every look is a 304.
    fake.reset_calls();
    let waiter = place.run(&[
        "--json",
        "acquire",
        "--name",
        "cheap",
        "--poll",
        "100ms",
        "--timeout",
        "3s",
    ]);
    waiter.code(4);
    let calls = fake.calls();
    let counted = calls.iter().filter(|c| c.counted).count();
    let not_modified = calls.iter().filter(|c| c.status == 304).count();
    assert!(counted <= 1, "a waiter paid for unchanged looks: {calls:?}");
    assert!(
        not_modified >= 10,
        "{not_modified} conditional looks in 3 s"
    );
    // An acquire after a release (the branch exists) is three calls too.
    place
        .run(&[
            "release",
            "--name",
            "cheap",
            "--token",
            first.stdout_token(),
        ])
        .success();
    fake.reset_calls();
    place.run(&["acquire", "--name", "cheap"]).success();
    assert!(fake.counted_calls() <= 3, "{:?}", fake.calls());
    let _ = repo;
}

trait Token {
    fn stdout_token(&self) -> &str;
}

impl Token for Run {
    /// The token from `--json` output or from the plain output.
    fn stdout_token(&self) -> &str {
        let start = self.stdout.find("\"token\": \"").map(|i| i + 10);
        match start {
            Some(i) => &self.stdout[i..i + 64],
            None => self.stdout.trim(),
        }
    }
}

#[test]
fn a_github_lock_waiter_honours_secondary_and_primary_rate_limits() {
    let fake = fake();
    let place = LockPlace::github(&fake);
    fake.secondary_limit_next(1, 1);
    let started = Instant::now();
    let run = place.run(&["acquire", "--name", "limited"]);
    run.success();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retry-after was not honoured"
    );
    assert!(
        run.stderr.contains("secondary rate limit"),
        "{}",
        run.stderr
    );
    place
        .run(&["release", "--name", "limited", "--token", run.stdout.trim()])
        .success();
    // The primary limit is spent until the window resets in 2 s: the client waits for it.
    fake.set_rate_limit(0, Duration::from_secs(2));
    let started = Instant::now();
    place.run(&["acquire", "--name", "limited"]).success();
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_github_lock_token_crosses_steps() {
    let fake = fake();
    cross_step_token(&LockPlace::github(&fake));
}

#[test]
fn hold_releases_a_github_lock_on_every_path() {
    let fake = fake();
    hold_releases_on_every_path(&LockPlace::github(&fake));
}

#[test]
fn a_github_lock_waiter_times_out_then_takes_over_an_expired_lease() {
    let fake = fake();
    timeout_and_takeover(&LockPlace::github(&fake));
}

#[test]
fn sigterm_releases_a_held_github_lock_within_two_seconds() {
    let fake = fake();
    let place = LockPlace::github(&fake);
    let took = release_time_after(&place, "sig", "TERM");
    assert!(took < Duration::from_secs(2), "released after {took:?}");
}

#[test]
fn a_github_lock_in_a_branch_that_is_not_a_lock_is_not_taken() {
    let fake = fake();
    let place = LockPlace::github(&fake);
    let repo = place.github.as_ref().unwrap().1.clone();
    let main = fake.ref_target(&repo, "refs/heads/main").unwrap();
    fake.set_ref(&repo, "refs/heads/deploy-lock/foreign", &main);
    let run = place.run(&["acquire", "--name", "foreign"]);
    run.code(3);
    assert!(run.stderr.contains("not a lock record"), "{}", run.stderr);
    assert_eq!(
        fake.ref_target(&repo, "refs/heads/deploy-lock/foreign"),
        Some(main)
    );
    // A bad token: exit 3 with GitHub's reason, and the token is not printed.
    let mut c = place.command(&["acquire", "--name", "x"]);
    c.env("GITHUB_TOKEN", "ghs_wrongwrongwrong");
    let run = Run::from(c.output().unwrap());
    run.code(3);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(!run.stderr.contains("ghs_wrongwrongwrong") && !run.stdout.contains("ghs_wrong"));
}
