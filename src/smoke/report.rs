//! A smoke run for people and programs: a table per check for a terminal, Markdown for the
//! step summary, and one JSON document. Results hold only masked text, so none of these
//! can print a secret.

use serde_json::{Value, json};

use super::check::{CheckResult, Outcome};

/// Counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

impl Tally {
    pub fn of(results: &[CheckResult]) -> Self {
        let mut tally = Tally {
            passed: 0,
            failed: 0,
            errors: 0,
        };
        for r in results {
            match r.outcome {
                Outcome::Passed => tally.passed += 1,
                Outcome::Failed { .. } => tally.failed += 1,
                Outcome::Error(_) => tally.errors += 1,
            }
        }
        tally
    }

    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed", self.passed)?;
        if self.failed > 0 {
            write!(f, ", {} failed", self.failed)?;
        }
        if self.errors > 0 {
            write!(f, ", {} without an answer", self.errors)?;
        }
        Ok(())
    }
}

fn verdict(r: &CheckResult) -> &'static str {
    match r.outcome {
        Outcome::Passed => "pass",
        Outcome::Failed { .. } => "FAIL",
        Outcome::Error(_) => "ERROR",
    }
}

fn latency(r: &CheckResult) -> String {
    r.latency
        .map_or_else(|| "-".to_string(), |l| format!("{} ms", l.as_millis()))
}

/// What went wrong, on one line.
fn problem(r: &CheckResult) -> String {
    match &r.outcome {
        Outcome::Passed => String::new(),
        Outcome::Failed { failure, .. } => failure.to_string(),
        Outcome::Error(e) => e.clone(),
    }
}

/// The terminal report: a table of every check, then what failed, check by check.
pub fn text(results: &[CheckResult]) -> String {
    let headers = ["CHECK", "RESULT", "ATTEMPTS", "LATENCY", "STATUS"];
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                verdict(r).to_string(),
                r.attempts.to_string(),
                latency(r),
                r.status.map_or_else(|| "-".to_string(), |s| s.to_string()),
            ]
        })
        .collect();
    let mut out = crate::output::aligned(headers, &rows);
    for r in results.iter().filter(|r| !r.passed()) {
        out.push_str(&format!(
            "\n\n{} {}: {} {} ({} attempt{} in {} ms)",
            verdict(r),
            r.name,
            r.method,
            r.url,
            r.attempts,
            if r.attempts == 1 { "" } else { "s" },
            r.elapsed.as_millis()
        ));
        match &r.outcome {
            Outcome::Failed { failure, excerpt } => {
                out.push_str(&format!("\n  {}", failure.assertion));
                out.push_str(&format!("\n    expected: {}", failure.expected));
                out.push_str(&format!("\n    actual:   {}", failure.actual));
                out.push_str(&format!("\n  body: {}", or_empty(excerpt)));
            }
            Outcome::Error(e) => out.push_str(&format!("\n  no answer: {e}")),
            Outcome::Passed => {}
        }
        for (name, value) in &r.headers {
            out.push_str(&format!("\n  request header {name}: {value}"));
        }
    }
    out
}

fn or_empty(text: &str) -> &str {
    if text.is_empty() { "(empty)" } else { text }
}

/// The step summary: a heading with the tally and a Markdown table.
pub fn markdown(results: &[CheckResult]) -> String {
    let tally = Tally::of(results);
    let icon = if tally.ok() { "✅" } else { "❌" };
    let mut out = format!(
        "### {icon} Smoke checks: {tally}\n\n| check | result | attempts | latency | status | first failing assertion |\n|---|---|---|---|---|---|\n"
    );
    for r in results {
        let detail = match &r.outcome {
            Outcome::Passed => String::new(),
            Outcome::Failed { failure, excerpt } if !excerpt.is_empty() => {
                format!(
                    "{failure} (body: `{}`)",
                    excerpt.chars().take(80).collect::<String>()
                )
            }
            _ => problem(r),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&r.name),
            verdict(r),
            r.attempts,
            latency(r),
            r.status.map_or_else(|| "-".to_string(), |s| s.to_string()),
            cell(&detail)
        ));
    }
    out
}

/// Text made safe for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The `--json` document.
pub fn json(results: &[CheckResult], base_url: Option<&str>, elapsed_ms: u128) -> Value {
    let tally = Tally::of(results);
    json!({
        "ok": tally.ok(),
        "base_url": base_url,
        "passed": tally.passed,
        "failed": tally.failed,
        "errors": tally.errors,
        "elapsed_ms": elapsed_ms as u64,
        "checks": results.iter().map(check_json).collect::<Vec<_>>(),
    })
}

fn check_json(r: &CheckResult) -> Value {
    let (outcome, failure, error) = match &r.outcome {
        Outcome::Passed => ("passed", Value::Null, Value::Null),
        Outcome::Failed { failure, excerpt } => (
            "failed",
            json!({
                "assertion": failure.assertion,
                "expected": failure.expected,
                "actual": failure.actual,
                "body_excerpt": excerpt,
            }),
            Value::Null,
        ),
        Outcome::Error(e) => ("error", Value::Null, json!(e)),
    };
    json!({
        "name": r.name,
        "ok": r.passed(),
        "outcome": outcome,
        "method": r.method,
        "url": r.url,
        "headers": r.headers.iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect::<serde_json::Map<_, _>>(),
        "attempts": r.attempts,
        "elapsed_ms": r.elapsed.as_millis() as u64,
        "latency_ms": r.latency.map(|l| l.as_millis() as u64),
        "status": r.status,
        "failure": failure,
        "error": error,
    })
}
