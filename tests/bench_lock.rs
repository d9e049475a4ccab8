//! The lock and approval benchmark (`bench/lock/run.sh` runs it; ignored in the test run).
//! Against the fake GitHub, it counts the API calls that cost rate limit and measures the
//! handoff from a release to the next waiter's acquire. Results go to the JSON file named
//! by `BENCH_LOCK_OUT`; docs/benchmarks.md explains the figures.
//!
//! Time is scaled: a waiter or poller runs for 1/`scale()` of an hour with every interval
//! (poll, lease) divided by `scale()` too, so the calls it makes are those of an hour at the
//! default settings.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::lock::LockPlace;
use crate::support::Run;
use crate::support::github::FakeGitHub;

/// By default an hour becomes 3 minutes: the `github` poll of 10 s becomes 500 ms, a
/// 10 min lease 30 s. `BENCH_LOCK_SCALE` changes it (for a quick check of the benchmark).
fn scale() -> u32 {
    env_usize("BENCH_LOCK_SCALE", 20) as u32
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * xs.len() as f64).ceil() as usize;
    xs[rank.clamp(1, xs.len()) - 1]
}

fn scaled(d: Duration) -> String {
    format!("{}ms", (d / scale()).as_millis())
}

/// Counted calls of `n` uncontended acquires (a fresh lock, then one that was released).
fn uncontended(fake: &Arc<FakeGitHub>, n: usize) -> serde_json::Value {
    let place = LockPlace::github(fake);
    let (mut fresh, mut again, mut release) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let name = format!("u{i}");
        fake.reset_calls();
        let run = place.run(&["acquire", "--name", &name]);
        run.success();
        fresh.push(fake.counted_calls() as f64);
        fake.reset_calls();
        place
            .run(&["release", "--name", &name, "--token", run.stdout.trim()])
            .success();
        release.push(fake.counted_calls() as f64);
        fake.reset_calls();
        place.run(&["acquire", "--name", &name]).success();
        again.push(fake.counted_calls() as f64);
    }
    serde_json::json!({
        "runs": n,
        "acquire_new_lock_median": median(fresh.clone()),
        "acquire_new_lock_max": fresh.iter().cloned().fold(0.0, f64::max),
        "acquire_released_lock_median": median(again.clone()),
        "acquire_released_lock_max": again.iter().cloned().fold(0.0, f64::max),
        "release_median": median(release),
    })
}

/// A waiter's counted calls in one (scaled) hour while a live holder renews its lease at
/// the default rhythm (every third of a 10 min lease).
fn waiter_hour(fake: &Arc<FakeGitHub>) -> serde_json::Value {
    let place = LockPlace::github(fake);
    let hour = Duration::from_secs(3600) / scale();
    let ttl = scaled(Duration::from_secs(600));
    let poll = scaled(Duration::from_secs(10));
    let mut holder = place.command(&[
        "acquire", "--name", "busy", "--ttl", &ttl, "--hold", "--", "sleep",
    ]);
    holder
        .arg(format!("{}", hour.as_secs() + 30))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut holder = holder.spawn().unwrap();
    crate::support::eventually(20, "the holder to hold", || {
        place.status("busy")["held"] == true
    });
    fake.reset_calls();
    let waiter = place.run(&[
        "acquire",
        "--name",
        "busy",
        "--poll",
        &poll,
        "--timeout",
        &format!("{}s", hour.as_secs()),
    ]);
    waiter.code(4);
    let calls = fake.calls();
    let _ = Command::new("kill")
        .args(["-TERM", &holder.id().to_string()])
        .status();
    let _ = holder.wait();
    // The fake sees the holder's renewals too; the waiter reports its own calls.
    let own = |what: &str| -> u64 {
        let text = waiter
            .stderr
            .split("GitHub API calls while waiting: ")
            .nth(1);
        let text =
            text.unwrap_or_else(|| panic!("no call count from the waiter:\n{}", waiter.stderr));
        let text = match what {
            "counted" => text,
            _ => text.split(", ").nth(1).unwrap_or_default(),
        };
        text.split_whitespace()
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap()
    };
    let (counted, free) = (own("counted"), own("free"));
    let renewals = calls
        .iter()
        .filter(|c| c.method == "PATCH" && c.path.contains("/git/refs/"))
        .count();
    serde_json::json!({
        "scaled_hour_s": hour.as_secs(),
        "poll": poll, "ttl": ttl,
        "looks": counted + free,
        "counted_per_hour": counted,
        "not_modified_per_hour": free,
        "holder_renewals_per_hour": renewals,
    })
}

/// An approval poller's counted calls in one (scaled) hour with the default poll (15 s) and
/// a few unrelated comments arriving.
fn approval_hour(fake: &Arc<FakeGitHub>) -> serde_json::Value {
    let repo = "acme/bench-approval";
    fake.create_repo(repo);
    let dir = tempfile::tempdir().unwrap();
    let hour = Duration::from_secs(3600) / scale();
    std::fs::write(
        dir.path().join("deploy.toml"),
        format!(
            "service = \"shop\"\n[approval]\nbackend = \"github-issue\"\napprovers = [\"alice\"]\npoll = \"{}\"\n",
            scaled(Duration::from_secs(15))
        ),
    )
    .unwrap();
    let mut c = Command::new(crate::support::bin());
    c.current_dir(dir.path())
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", fake.token())
        .env("GITHUB_REPOSITORY", repo)
        .env_remove("GITHUB_ACTIONS")
        .args(["approve", "--timeout", &format!("{}s", hour.as_secs())])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    fake.reset_calls();
    let child = c.spawn().unwrap();
    crate::support::eventually(20, "the approval issue", || !fake.issues(repo).is_empty());
    let number = fake.issues(repo)[0].number;
    // Six comments in the hour that decide nothing (a discussion): each changes the page.
    for i in 0..6 {
        std::thread::sleep(hour / 7);
        fake.comment(
            repo,
            number,
            "bob",
            &format!("question {i}: is the migration done?"),
        );
    }
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(4);
    let calls = fake.calls();
    let polls: Vec<_> = calls
        .iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/comments"))
        .collect();
    serde_json::json!({
        "scaled_hour_s": hour.as_secs(),
        "poll": scaled(Duration::from_secs(15)),
        "looks": polls.len(),
        "counted_per_hour": polls.iter().filter(|c| c.counted).count(),
        "not_modified_per_hour": polls.iter().filter(|c| c.status == 304).count(),
        "all_counted_calls": calls.iter().filter(|c| c.counted).count(),
    })
}

/// Release-to-acquire handoff at the default poll of each backend (`poll`), `n` times.
fn handoff(place: &LockPlace, poll: Duration, n: usize) -> serde_json::Value {
    let mut samples = Vec::new();
    for i in 0..n {
        let name = format!("h{i}");
        let holder = place.run(&["acquire", "--name", &name]);
        holder.success();
        let mut waiter = place.command(&["acquire", "--name", &name, "--timeout", "120s"]);
        waiter.stdout(Stdio::null()).stderr(Stdio::null());
        let mut waiter = waiter.spawn().unwrap();
        // Release at points spread evenly over the waiter's poll cycle (after its first
        // look, which comes at once): the golden-ratio sequence covers [0, 1) evenly.
        let phase = (i as f64 * 0.618_034).fract();
        std::thread::sleep(Duration::from_millis(500) + poll.mul_f64(phase));
        let release = place.run(&["release", "--name", &name, "--token", holder.stdout.trim()]);
        let released = Instant::now();
        release.success();
        assert!(waiter.wait().unwrap().success());
        samples.push(released.elapsed().as_secs_f64() * 1000.0);
    }
    serde_json::json!({
        "runs": n,
        "median_ms": median(samples.clone()),
        "p95_ms": percentile(samples.clone(), 95.0),
        "samples_ms": samples.iter().map(|s| s.round()).collect::<Vec<_>>(),
    })
}

#[test]
#[ignore = "a benchmark: bench/lock/run.sh"]
fn bench_lock() {
    let n = env_usize("BENCH_LOCK_RUNS", 20);
    let fake = Arc::new(FakeGitHub::start());
    fake.set_rate_limit(1_000_000, Duration::from_secs(3600));
    let started = Instant::now();
    let mut doc = serde_json::json!({ "scale": scale() });
    doc["uncontended"] = uncontended(&fake, n);
    eprintln!("uncontended: {}", doc["uncontended"]);
    doc["handoff_file"] = handoff(&LockPlace::file(), Duration::from_millis(250), n);
    eprintln!("handoff file: {}", doc["handoff_file"]);
    doc["handoff_github"] = handoff(&LockPlace::github(&fake), Duration::from_secs(10), n);
    eprintln!("handoff github: {}", doc["handoff_github"]);
    doc["waiter_hour"] = waiter_hour(&fake);
    eprintln!("waiter: {}", doc["waiter_hour"]);
    doc["approval_hour"] = approval_hour(&fake);
    eprintln!("approval: {}", doc["approval_hour"]);
    doc["wall_s"] = serde_json::json!(started.elapsed().as_secs());
    let text = serde_json::to_string_pretty(&doc).unwrap();
    println!("{text}");
    if let Ok(out) = std::env::var("BENCH_LOCK_OUT") {
        std::fs::write(out, text).unwrap();
    }
}
