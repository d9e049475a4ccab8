//! The record of one `run`: each step with its outcome and duration, and what the release
//! produced (image, approvers, scan counts, smoke results, links). One record makes the
//! step summary, the terminal report and the `--json` document, so the three agree.

mod markdown;
mod text;

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

pub use markdown::markdown;
pub use text::text;

use crate::deploy::Release;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    Passed,
    Failed,
    /// Its table is absent from deploy.toml (or nothing asked for it).
    Skipped,
    /// An earlier step failed, so it never started.
    NotRun,
}

impl StepOutcome {
    pub fn word(self) -> &'static str {
        match self {
            StepOutcome::Passed => "passed",
            StepOutcome::Failed => "failed",
            StepOutcome::Skipped => "skipped",
            StepOutcome::NotRun => "not run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub outcome: StepOutcome,
    pub duration_ms: u64,
    /// One line: what it did, or why it failed or was skipped.
    pub detail: String,
}

/// How the whole release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The new release serves and passed its smoke checks.
    Success,
    /// The new release failed its smoke checks; the previous one serves again.
    RolledBack,
    /// A step failed before the new release served; the previous one kept serving.
    Failed,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::RolledBack => "rolled-back",
            Outcome::Failed => "failed",
        }
    }
}

/// A Grafana annotation or GitHub deployment the run wrote, and where to see it.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub id: u64,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub service: String,
    pub environment: String,
    pub outcome: Outcome,
    pub version: Option<String>,
    pub image: Option<String>,
    pub digest: Option<String>,
    /// The release `deploy` made, and where it serves.
    pub release: Option<u64>,
    pub url: Option<String>,
    /// Where `deploy`'s time went: the health wait and the drain are waits the config sets;
    /// the rest is the tool's own work.
    pub deploy_timings: Option<crate::deploy::Timings>,
    pub steps: Vec<Step>,
    pub approvers: Vec<String>,
    pub approval_url: Option<String>,
    /// The scan's counts (`new`, `failing`, `ignored`, `fixed`, `expired_ignores`).
    pub scan: Option<Value>,
    /// The smoke checks' JSON document (`smoke --json`).
    pub smoke: Option<Value>,
    #[serde(skip)]
    pub smoke_markdown: Option<String>,
    pub annotation: Option<Link>,
    pub deployment: Option<Link>,
    /// Where the lock was, and who held it.
    pub lock: Option<String>,
    pub releases: Vec<Release>,
    pub duration_ms: u64,
    /// What went wrong, when something did.
    pub error: Option<String>,
    #[serde(skip)]
    started: Option<Instant>,
}

impl Summary {
    pub fn new(service: &str, environment: &str) -> Self {
        Self {
            service: service.to_string(),
            environment: environment.to_string(),
            outcome: Outcome::Failed,
            version: None,
            image: None,
            digest: None,
            release: None,
            url: None,
            deploy_timings: None,
            steps: Vec::new(),
            approvers: Vec::new(),
            approval_url: None,
            scan: None,
            smoke: None,
            smoke_markdown: None,
            annotation: None,
            deployment: None,
            lock: None,
            releases: Vec::new(),
            duration_ms: 0,
            error: None,
            started: Some(Instant::now()),
        }
    }

    /// Records a step that ran from `started` until now.
    pub fn ran(&mut self, name: &'static str, started: Instant, ok: bool, detail: String) {
        self.push(
            name,
            if ok {
                StepOutcome::Passed
            } else {
                StepOutcome::Failed
            },
            started.elapsed(),
            detail,
        );
    }

    pub fn skipped(&mut self, name: &'static str, why: &str) {
        self.push(name, StepOutcome::Skipped, Duration::ZERO, why.to_string());
    }

    fn push(&mut self, name: &'static str, outcome: StepOutcome, took: Duration, detail: String) {
        self.steps.push(Step {
            name,
            outcome,
            duration_ms: took.as_millis() as u64,
            detail,
        });
    }

    /// Marks every step of `all` that has no record as not run, in `all`'s order.
    pub fn close(&mut self, all: &[&'static str], outcome: Outcome, error: Option<String>) {
        let mut ordered = Vec::with_capacity(all.len().max(self.steps.len()));
        for name in all {
            match self.steps.iter().position(|s| s.name == *name) {
                Some(i) => ordered.push(self.steps.remove(i)),
                None => ordered.push(Step {
                    name,
                    outcome: StepOutcome::NotRun,
                    duration_ms: 0,
                    detail: String::new(),
                }),
            }
        }
        // Steps outside the usual order (a rollback) keep their place after the step before.
        for extra in self.steps.drain(..) {
            let at = ordered
                .iter()
                .position(|s| s.name == "annotate finish")
                .unwrap_or(ordered.len());
            ordered.insert(at, extra);
        }
        self.steps = ordered;
        self.outcome = outcome;
        self.error = error;
        if let Some(started) = self.started {
            self.duration_ms = started.elapsed().as_millis() as u64;
        }
    }
}

/// `1.2 s`, `340 ms`, `2 min 5 s`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_orders_the_steps_and_marks_the_missing_ones_not_run() {
        let mut s = Summary::new("shop", "production");
        let t = Instant::now();
        s.ran("deploy", t, true, "release 2".into());
        s.skipped("build", "no [build]");
        s.ran("rollback", t, true, "release 1".into());
        s.close(
            &["build", "deploy", "smoke", "annotate finish", "unlock"],
            Outcome::RolledBack,
            Some("smoke failed".into()),
        );
        let names: Vec<_> = s.steps.iter().map(|s| (s.name, s.outcome)).collect();
        assert_eq!(
            names,
            [
                ("build", StepOutcome::Skipped),
                ("deploy", StepOutcome::Passed),
                ("smoke", StepOutcome::NotRun),
                ("rollback", StepOutcome::Passed),
                ("annotate finish", StepOutcome::NotRun),
                ("unlock", StepOutcome::NotRun),
            ]
        );
        assert_eq!(s.outcome, Outcome::RolledBack);
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(340), "340 ms");
        assert_eq!(duration(1234), "1.2 s");
        assert_eq!(duration(125_000), "2 min 5 s");
    }
}
