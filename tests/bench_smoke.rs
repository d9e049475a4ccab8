//! The smoke benchmark (`bench/smoke/run.sh` runs it; ignored in the test run): checks
//! (200 by default) against a loopback service that answers every request after 50 ms, at
//! the default concurrency. It compares the run's wall time with one check's latency (the
//! goal: at most 3×) and measures the binary's start-up, `deploy-action --version` (the
//! goal: under 10 ms). Results go to the JSON file named by `BENCH_SMOKE_OUT`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::smoke::Smoke;
use crate::support::web::{Reply, Web};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

#[test]
#[ignore = "a benchmark: bench/smoke/run.sh runs it"]
fn bench_smoke() {
    let runs = env_usize("BENCH_SMOKE_RUNS", 5).clamp(1, 50);
    let checks = env_usize("BENCH_SMOKE_CHECKS", 200).clamp(1, 2000);
    let delay = Duration::from_millis(50);
    let web = Web::http(move |_| Reply::ok("ok").after(delay));
    let smoke = Smoke::new();
    let toml: String = (0..checks)
        .map(|i| format!("[[smoke]]\nname = \"check {i}\"\nurl = \"${{BASE_URL}}/{i}\"\n\n"))
        .collect();

    // One check's latency: a run of a single check, as the tool measures it.
    let one_check = "[[smoke]]\nname = \"one\"\nurl = \"${BASE_URL}/one\"\n";
    let mut singles = Vec::new();
    let mut walls = Vec::new();
    let mut runs_ms = Vec::new();
    for _ in 0..runs {
        let single = smoke.run(web.url(), one_check, &[]);
        single.success();
        singles.push(single.json()["checks"][0]["latency_ms"].as_f64().unwrap());

        let started = Instant::now();
        let run = smoke.run(web.url(), &toml, &[]);
        let wall = started.elapsed().as_secs_f64() * 1000.0;
        run.success();
        let run_ms = run.json()["elapsed_ms"].as_f64().unwrap();
        walls.push(wall);
        runs_ms.push(run_ms);
        eprintln!(
            "{checks} checks: {run_ms:.0} ms in the tool, {wall:.0} ms with the process; \
             one check alone: {:.0} ms",
            singles.last().unwrap()
        );
    }
    let one = median(singles);
    let ratios: Vec<f64> = runs_ms.iter().map(|r| r / one).collect();

    let startups: Vec<f64> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let out = smoke.command(&["--version"]).output().unwrap();
            assert!(out.status.success());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();

    let result = json!({
        "checks": checks,
        "service_delay_ms": delay.as_millis() as u64,
        "concurrency": "default",
        "runs": runs,
        "run_ms_median": median(runs_ms),
        "wall_ms_with_process_median": median(walls),
        "one_check_latency_ms_median": one,
        "wall_over_one_check_median": median(ratios.clone()),
        "wall_over_one_check_worst": ratios.iter().copied().fold(0.0, f64::max),
        "startup_ms_median": median(startups.clone()),
        "startup_ms_worst": startups.iter().copied().fold(0.0, f64::max),
        "machine": {
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "loadavg": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        },
    });
    eprintln!("{}", serde_json::to_string_pretty(&result).unwrap());
    if let Ok(out) = std::env::var("BENCH_SMOKE_OUT") {
        std::fs::write(out, serde_json::to_string_pretty(&result).unwrap()).unwrap();
    }
}
