//! `run`: the whole release from `deploy.toml`, one step after another, each skipped when
//! its table is absent:
//!
//! build → scan → lock → approve → annotate start → deploy → smoke → annotate finish → unlock
//!
//! A failed smoke check rolls back to the release that served before, finishes the
//! annotation as `rolled-back` and marks the GitHub deployment `failure` (exit 1). The lock
//! is renewed while the steps run and released on every path out, signals included.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::annotate::{self, Common, FinishArgs, Outcome as Finished, StartArgs};
use super::{approve, build, scan, smoke};
use crate::cli::{BuildArgs, RunArgs};
use crate::config::Config;
use crate::deploy::{self, ReleaseState, Target};
use crate::error::{Error, Result};
use crate::github::RunContext;
use crate::lock::{Acquired, Lock};
use crate::output::Ui;
use crate::release::{self, Link, Outcome, Summary};
use crate::signals::Cancel;

/// The steps in the order they run; `rollback` appears only when it ran.
const STEPS: [&str; 9] = [
    "build",
    "scan",
    "lock",
    "approve",
    "annotate start",
    "deploy",
    "smoke",
    "annotate finish",
    "unlock",
];

pub async fn run(
    config_path: &Path,
    config: Config,
    args: RunArgs,
    ui: Ui,
    cancel: Cancel,
) -> Result<()> {
    let mut summary = Summary::new(&config.service, &config.environment);
    let result = match Plan::new(config_path, &config, args) {
        Ok(plan) => {
            summary.version = plan.version.clone();
            locked(&plan, &config, &ui, &cancel, &mut summary).await
        }
        Err(e) => Err(e),
    };
    let outcome = match &result {
        Ok(()) => Outcome::Success,
        Err(_) if summary.steps.iter().any(|s| s.name == "rollback") => Outcome::RolledBack,
        Err(_) => Outcome::Failed,
    };
    let error = result.as_ref().err().map(ToString::to_string);
    summary.close(&STEPS, outcome, error);
    report(&ui, &summary, result.as_ref().err());
    result
}

/// What the flags and deploy.toml ask for, checked before anything starts.
struct Plan {
    config_path: PathBuf,
    image: Option<String>,
    version: Option<String>,
    report: Option<PathBuf>,
    baseline: Option<PathBuf>,
    base: Option<String>,
    junit: Option<PathBuf>,
    yes: bool,
}

impl Plan {
    fn new(config_path: &Path, config: &Config, args: RunArgs) -> Result<Self> {
        let text = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let path = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
        let env = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        // Like `build`: under Actions a tag push names the version.
        let version = text(args.version).or_else(|| {
            (env("GITHUB_REF_TYPE").as_deref() == Some("tag"))
                .then(|| env("GITHUB_REF_NAME"))
                .flatten()
        });
        let plan = Plan {
            config_path: config_path.to_path_buf(),
            image: text(args.image),
            version,
            report: path(args.report),
            baseline: path(args.baseline),
            base: text(args.base),
            junit: path(args.junit),
            yes: args.yes,
        };
        if config.build.is_none() && plan.image.is_none() {
            return Err(Error::Usage(format!(
                "{}: nothing to deploy: add a [build] table, or pass --image (or \
                 DEPLOY_ACTION_IMAGE) naming an image the engine has",
                config_path.display()
            )));
        }
        if let Some(scan) = &config.scan
            && scan.command.is_empty()
            && plan.report.is_none()
        {
            return Err(Error::Usage(format!(
                "{}: [scan] needs a report: set `scan.command` to run the scanner on the \
                 image, or pass --report (or DEPLOY_ACTION_REPORT)",
                config_path.display()
            )));
        }
        if config.scan.is_none() && (plan.report.is_some() || plan.baseline.is_some()) {
            return Err(Error::Usage(format!(
                "--report and --baseline need a [scan] table in {}",
                config_path.display()
            )));
        }
        if let Some(check) = plan.junit.as_ref().filter(|_| config.smoke.is_empty()) {
            return Err(Error::Usage(format!(
                "--junit {}: {} has no [[smoke]] checks to report",
                check.display(),
                config_path.display()
            )));
        }
        Ok(plan)
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.config_path.parent().map(Path::to_path_buf)
    }
}

/// Build and scan, then take the lock and run the rest under it, renewing the lease, and
/// release it whatever happened.
async fn locked(
    plan: &Plan,
    config: &Config,
    ui: &Ui,
    cancel: &Cancel,
    summary: &mut Summary,
) -> Result<()> {
    let image = build_step(plan, config, ui, cancel, summary).await?;
    let scan_markdown = scan_step(plan, config, &image, cancel, summary).await?;

    let Some(settings) = &config.lock else {
        summary.skipped("lock", "no [lock] table");
        summary.skipped("unlock", "no [lock] table");
        return release_steps(plan, config, &image, scan_markdown, ui, cancel, summary).await;
    };
    let started = Instant::now();
    let lock = Lock::open(config, settings, None, cancel)?;
    let acquired = {
        let _phase = ui.phase(&format!("Acquire lock {}", lock.name));
        let spinner = ui.spinner(format!("waiting for lock {}", lock.name));
        let acquired = lock
            .acquire(plan.version.clone(), settings.timeout.get())
            .await;
        spinner.finish();
        acquired
    };
    let acquired = match acquired {
        Ok(acquired) => acquired,
        Err(e) => {
            summary.ran("lock", started, false, e.to_string());
            return Err(e);
        }
    };
    let location = lock.backend().location();
    summary.lock = Some(format!("{} ({location})", lock.name));
    summary.ran(
        "lock",
        started,
        true,
        format!(
            "{} after {}",
            lock.name,
            release::duration(acquired.waited.as_millis() as u64)
        ),
    );

    // The steps stop (and put things back) if the lease is lost.
    let steps_cancel = cancel.child();
    let result = {
        let steps = release_steps(
            plan,
            config,
            &image,
            scan_markdown,
            ui,
            &steps_cancel,
            summary,
        );
        tokio::select! {
            result = steps => result,
            never = keep(&lock, &acquired, &steps_cancel) => match never {},
        }
    };

    let started = Instant::now();
    match lock.release(&acquired.token).await {
        Ok(_) => {
            tracing::info!("lock {} released", lock.name);
            summary.ran("unlock", started, true, lock.name.clone());
            result
        }
        Err(e) => {
            summary.ran("unlock", started, false, e.to_string());
            match result {
                // The release's own outcome comes first; the lease runs out by itself.
                Err(first) => {
                    tracing::error!("lock {}: {e}", lock.name);
                    Err(first)
                }
                Ok(()) => Err(e),
            }
        }
    }
}

/// Renews the lease every third of its TTL; when it is lost, aborts the steps. Never ends.
async fn keep(lock: &Lock, acquired: &Acquired, steps: &Cancel) -> std::convert::Infallible {
    let every = (lock.ttl / 3).max(Duration::from_millis(200));
    let mut lost = false;
    loop {
        tokio::time::sleep(every).await;
        if lost {
            continue;
        }
        match lock.renew(&acquired.token).await {
            Ok(holder) => tracing::debug!(
                "lock {} renewed until {}",
                lock.name,
                holder
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Err(e @ (Error::Refused(_) | Error::Lock(_))) => {
                tracing::error!("lock {}: the lease is lost ({e}): stopping", lock.name);
                lost = true;
                steps.abort("the loss of the deploy lock");
            }
            // The backend briefly unreachable: the lease has time left; try next time.
            Err(e) => tracing::warn!("lock {}: renewal failed, will retry: {e}", lock.name),
        }
    }
}

/// `build`, or the `--image` given; returns the image to deploy.
async fn build_step(
    plan: &Plan,
    config: &Config,
    ui: &Ui,
    cancel: &Cancel,
    summary: &mut Summary,
) -> Result<String> {
    if config.build.is_none() {
        summary.skipped("build", "no [build] table");
        let image = plan.image.clone().unwrap_or_default();
        summary.image = Some(image.clone());
        return Ok(image);
    }
    let started = Instant::now();
    let args = BuildArgs {
        image: plan.image.clone(),
        version: plan.version.clone(),
        context: None,
        file: None,
        build_args: Vec::new(),
        target: None,
        platform: None,
        labels: Vec::new(),
        push: None,
        latest: None,
        config_dir: plan.config_dir(),
    };
    match build::execute(Some(config), args, ui, cancel).await {
        Ok(built) => {
            let how = if built.unchanged {
                "unchanged"
            } else {
                "built"
            };
            summary.ran("build", started, true, format!("{} ({how})", built.image));
            summary.image = Some(built.image.clone());
            summary.digest = Some(built.digest.clone());
            Ok(built.image)
        }
        Err(e) => {
            summary.ran("build", started, false, e.to_string());
            Err(e)
        }
    }
}

/// The scan gate on the image; returns its Markdown for the approval request.
async fn scan_step(
    plan: &Plan,
    config: &Config,
    image: &str,
    cancel: &Cancel,
    summary: &mut Summary,
) -> Result<Option<String>> {
    let Some(settings) = &config.scan else {
        summary.skipped("scan", "no [scan] table");
        return Ok(None);
    };
    let started = Instant::now();
    // The scanner's report lives until the gate has read it.
    let produced = std::env::temp_dir().join(format!(
        "deploy-action-scan-{}-{}.json",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    ));
    let scanned = async {
        let report = match &plan.report {
            Some(report) => report.clone(),
            None => scanner(&settings.command, image, &produced, cancel).await?,
        };
        let args = scan::ScanArgs {
            report: Some(report),
            report_flag: None,
            format: None,
            baseline: plan.baseline.clone(),
            fail_on: None,
            ignore_unfixed: None,
            ignore_file: None,
            max: Vec::new(),
            summary: None,
            config: plan.config_path.clone(),
        };
        scan::gate(Some(config), &args)
    }
    .await;
    let _ = std::fs::remove_file(&produced);
    let gate = match scanned {
        Ok(gate) => gate,
        Err(e) => {
            summary.ran("scan", started, false, e.to_string());
            return Err(e);
        }
    };
    let counts: serde_json::Map<String, Value> = gate
        .outputs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    let detail = format!(
        "{} new, {} failing, {} ignored",
        counts.get("new").and_then(Value::as_str).unwrap_or("0"),
        counts.get("failing").and_then(Value::as_str).unwrap_or("0"),
        counts.get("ignored").and_then(Value::as_str).unwrap_or("0"),
    );
    summary.scan = Some(Value::Object(counts));
    match gate.refusal {
        None => {
            summary.ran("scan", started, true, detail);
            Ok(Some(gate.markdown))
        }
        Some(refusal) => {
            summary.ran("scan", started, false, refusal.clone());
            if crate::ci::is_actions() {
                crate::ci::error(&refusal, None);
            }
            Err(Error::Refused(refusal))
        }
    }
}

/// Runs `[scan] command` with `{image}` filled in; its standard output is the report.
async fn scanner(command: &[String], image: &str, path: &Path, cancel: &Cancel) -> Result<PathBuf> {
    let argv: Vec<String> = command
        .iter()
        .map(|a| a.replace("{image}", image))
        .collect();
    let (program, rest) = argv
        .split_first()
        .ok_or_else(|| Error::Usage("scan.command is empty".into()))?;
    tracing::info!("scanning {image}: {}", argv.join(" "));
    let out = tokio::process::Command::new(program)
        .args(rest)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .output();
    let out = cancel.or_cancel(out).await?.map_err(|e| {
        Error::Usage(format!(
            "scan.command: cannot run {program:?}: {e}; is it installed and on PATH?"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Scanner(format!(
            "{program} exited with {} before writing a report",
            out.status
        )));
    }
    std::fs::write(path, &out.stdout)
        .map_err(|e| Error::Scanner(format!("cannot keep the report: {e}")))?;
    Ok(path.to_path_buf())
}

/// approve → annotate start → deploy → smoke (→ rollback) → annotate finish.
async fn release_steps(
    plan: &Plan,
    config: &Config,
    image: &str,
    scan_markdown: Option<String>,
    ui: &Ui,
    cancel: &Cancel,
    summary: &mut Summary,
) -> Result<()> {
    let mut target = Target::open(config.clone(), cancel.clone(), ui.clone()).await?;
    // The compare link starts at what serves now.
    let base = match &plan.base {
        Some(base) => Some(base.clone()),
        None => target
            .releases()
            .await?
            .into_iter()
            .find_map(|r| (r.state == ReleaseState::Serving).then_some(r.version)),
    };

    approve_step(
        plan,
        config,
        image,
        base.clone(),
        scan_markdown,
        ui,
        cancel,
        summary,
    )
    .await?;

    let common = Common {
        version: plan.version.clone(),
        base,
        tags: Vec::new(),
        required: false,
    };
    let marks = annotate_start(config, &common, image, summary, cancel).await;

    let started = Instant::now();
    let deployed = deploy::deploy(&mut target, image, plan.version.clone()).await;
    let deployed = match deployed {
        Ok(d) => d,
        Err(e) => {
            summary.ran("deploy", started, false, e.to_string());
            finish_marks(config, &common, &marks, Finished::Failure, summary, cancel).await;
            summary.releases = target.releases().await.unwrap_or_default();
            return Err(e);
        }
    };
    summary.ran(
        "deploy",
        started,
        true,
        format!(
            "release {} ({}) serving at {}; health wait {}",
            deployed.release,
            deployed.version,
            deployed.url,
            release::duration(deployed.timings.health_wait_ms)
        ),
    );
    summary.version = Some(deployed.version.clone());
    summary.release = Some(deployed.release);
    summary.url = Some(deployed.url.clone());
    summary.deploy_timings = Some(deployed.timings.clone());
    summary.digest = summary
        .digest
        .clone()
        .or(Some(deployed.image_digest.clone()));

    let smoked = smoke_step(plan, config, ui, cancel, summary).await;
    if let Err(failed) = smoked {
        let outcome = if cancel.is_cancelled() {
            // Stopped by a signal with the checks unfinished: the new release passed its
            // health gate and keeps serving; nothing more is started.
            failed
        } else {
            rollback_step(&mut target, failed, summary).await
        };
        let how = if cancel.is_cancelled() {
            Finished::Failure
        } else {
            Finished::RolledBack
        };
        finish_marks(config, &common, &marks, how, summary, cancel).await;
        summary.releases = target.releases().await.unwrap_or_default();
        return Err(outcome);
    }

    annotate_finish(config, &common, &marks, Finished::Success, summary, cancel).await;
    summary.releases = target.releases().await.unwrap_or_default();
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn approve_step(
    plan: &Plan,
    config: &Config,
    image: &str,
    base: Option<String>,
    scan_markdown: Option<String>,
    ui: &Ui,
    cancel: &Cancel,
    summary: &mut Summary,
) -> Result<()> {
    if config.approval.is_none() {
        summary.skipped("approve", "no [approval] table");
        return Ok(());
    }
    let started = Instant::now();
    let args = approve::ApproveArgs {
        backend: None,
        version: plan.version.clone(),
        image: Some(image.to_string()),
        base,
        scan_summary: None,
        timeout: None,
        poll: None,
        approvers: Vec::new(),
        min_approvals: None,
        yes: plan.yes,
    };
    let asked = async {
        let (request, settings) = approve::prepare(config, args, scan_markdown)?;
        let _phase = ui.phase("Approval");
        crate::approve::approve(&request, &settings, cancel).await
    }
    .await;
    match asked {
        Ok(approval) => {
            summary.approvers = approval.approvers.iter().map(|a| a.login.clone()).collect();
            summary.approval_url = approval.issue_url.clone();
            let who: Vec<String> = summary.approvers.iter().map(|a| format!("@{a}")).collect();
            summary.ran(
                "approve",
                started,
                true,
                format!("{} by {}", approval.backend, who.join(", ")),
            );
            Ok(())
        }
        Err(e) => {
            summary.ran("approve", started, false, e.to_string());
            // A denial is a refusal nobody else annotates.
            if matches!(e, Error::Refused(_)) && crate::ci::is_actions() {
                crate::ci::error(&e.to_string(), None);
            }
            Err(e)
        }
    }
}

/// The Grafana region and GitHub deployment `annotate start` opened.
#[derive(Default)]
struct Marks {
    annotation: Option<u64>,
    deployment: Option<u64>,
}

/// Whether `annotate` has anywhere to write: `[grafana]`, or GitHub deployment records.
fn annotates(config: &Config) -> bool {
    let set = |n: &str| std::env::var(n).is_ok_and(|v| !v.trim().is_empty());
    config.grafana.is_some() || (set("GITHUB_TOKEN") && set("GITHUB_REPOSITORY"))
}

async fn annotate_start(
    config: &Config,
    common: &Common,
    image: &str,
    summary: &mut Summary,
    cancel: &Cancel,
) -> Marks {
    if !annotates(config) {
        summary.skipped(
            "annotate start",
            "no [grafana] table, and no GITHUB_TOKEN for deployment records",
        );
        return Marks::default();
    }
    let started = Instant::now();
    let mut report = annotate::Report::default();
    let args = StartArgs {
        common: common.clone(),
        text: None,
        image: Some(image.to_string()),
        digest: summary.digest.clone(),
        git_ref: None,
    };
    annotate::start(config, args, &mut report, cancel).await;
    let marks = Marks {
        annotation: report.annotation.as_ref().map(|a| a.id),
        deployment: report.deployment.as_ref().map(|(id, _)| *id),
    };
    record_marks(config, &report, summary);
    summary.ran(
        "annotate start",
        started,
        report.failures.is_empty(),
        marks_detail(&marks, &report),
    );
    marks
}

async fn annotate_finish(
    config: &Config,
    common: &Common,
    marks: &Marks,
    outcome: Finished,
    summary: &mut Summary,
    cancel: &Cancel,
) {
    if marks.annotation.is_none() && marks.deployment.is_none() {
        summary.skipped("annotate finish", "nothing was opened to finish");
        return;
    }
    let started = Instant::now();
    let mut report = annotate::Report::default();
    let args = FinishArgs {
        common: common.clone(),
        id: marks.annotation.map(|id| id.to_string()),
        deployment_id: marks.deployment.map(|id| id.to_string()),
        outcome,
    };
    // Without a region id, `finish` would search for one: only finish what was opened.
    if marks.annotation.is_none() {
        let mut no_grafana = config.clone();
        no_grafana.grafana = None;
        annotate::finish(&no_grafana, args, &mut report, cancel).await;
    } else {
        annotate::finish(config, args, &mut report, cancel).await;
    }
    record_marks(config, &report, summary);
    summary.ran(
        "annotate finish",
        started,
        report.failures.is_empty(),
        format!("{}: {}", outcome.tag(), marks_detail(marks, &report)),
    );
}

/// `annotate finish` on a path that failed. After a signal the run's cancellation would stop
/// the calls at once, so they get a few seconds of their own (GitHub sends SIGTERM 7.5 s
/// after SIGINT): the region and the deployment still say the release failed.
async fn finish_marks(
    config: &Config,
    common: &Common,
    marks: &Marks,
    outcome: Finished,
    summary: &mut Summary,
    cancel: &Cancel,
) {
    if !cancel.is_cancelled() {
        annotate_finish(config, common, marks, outcome, summary, cancel).await;
        return;
    }
    let own = Cancel::default();
    let finished = annotate_finish(config, common, marks, outcome, summary, &own);
    if tokio::time::timeout(AFTER_A_SIGNAL, finished)
        .await
        .is_err()
    {
        tracing::warn!(
            "the annotations could not be finished within {AFTER_A_SIGNAL:?} of the signal"
        );
    }
}

/// How long marks may take to finish once a signal arrived.
const AFTER_A_SIGNAL: Duration = Duration::from_secs(3);

/// Notes the links, and warns of what could not be written: annotations never fail a release.
fn record_marks(config: &Config, report: &annotate::Report, summary: &mut Summary) {
    for failure in &report.failures {
        tracing::warn!("{failure} (annotations are not required: going on)");
        if crate::ci::is_actions() {
            crate::ci::warning(&failure.to_string());
        }
    }
    if let Some(a) = &report.annotation {
        let url = config.grafana.as_ref().map(|g| {
            let base = g.url.trim_end_matches('/');
            match &g.dashboard_uid {
                Some(uid) => format!(
                    "{base}/d/{uid}?from={}&to={}",
                    a.time - 60_000,
                    a.time_end.max(a.time) + 60_000
                ),
                None => format!("{base}/api/annotations/{}", a.id),
            }
        });
        summary.annotation = Some(Link { id: a.id, url });
    }
    if let Some((id, _)) = &report.deployment {
        let run = RunContext::from_env();
        let url = match (&run.server_url, &run.repository) {
            (Some(server), Some(repo)) => Some(format!(
                "{}/{repo}/deployments/{}",
                server.trim_end_matches('/'),
                config.environment
            )),
            _ => None,
        };
        summary.deployment = Some(Link { id: *id, url });
    }
}

fn marks_detail(marks: &Marks, report: &annotate::Report) -> String {
    let mut parts = Vec::new();
    if let Some(id) = marks.annotation {
        parts.push(format!("Grafana region {id}"));
    }
    if let Some((id, state)) = &report.deployment {
        parts.push(format!("GitHub deployment {id} {state}"));
    } else if let Some(id) = marks.deployment {
        parts.push(format!("GitHub deployment {id}"));
    }
    if !report.failures.is_empty() {
        parts.push(format!("{} warning(s)", report.failures.len()));
    }
    parts.join(", ")
}

/// The `[[smoke]]` checks against the new release; a failure is the error.
async fn smoke_step(
    plan: &Plan,
    config: &Config,
    ui: &Ui,
    cancel: &Cancel,
    summary: &mut Summary,
) -> Result<()> {
    if config.smoke.is_empty() {
        summary.skipped("smoke", "no [[smoke]] checks");
        return Ok(());
    }
    let started = Instant::now();
    let args = smoke::SmokeArgs {
        file: None,
        base_url: None,
        concurrency: None,
        junit: plan.junit.clone(),
    };
    let checked = match smoke::execute(&plan.config_path, args, ui, cancel).await {
        Ok(checked) => checked,
        Err(e) => {
            summary.ran("smoke", started, false, e.to_string());
            return Err(e);
        }
    };
    let results = &checked.results;
    summary.smoke = Some(crate::smoke::json(
        results,
        checked.base_url.as_deref(),
        checked.elapsed.as_millis(),
    ));
    summary.smoke_markdown = Some(crate::smoke::markdown(results));
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("`{}`", r.name))
        .collect();
    if failed.is_empty() {
        summary.ran(
            "smoke",
            started,
            true,
            format!("{} checks passed", results.len()),
        );
        return Ok(());
    }
    let why = format!(
        "{} of {} smoke checks failed: {}",
        failed.len(),
        results.len(),
        failed.join(", ")
    );
    if crate::ci::is_actions() {
        crate::ci::error(&why, None);
    }
    summary.ran("smoke", started, false, why.clone());
    Err(Error::Refused(why))
}

/// Back to the release that served before; returns the error the run ends with.
async fn rollback_step(target: &mut Target, failed: Error, summary: &mut Summary) -> Error {
    let started = Instant::now();
    tracing::warn!("{failed}: rolling back");
    match deploy::rollback(target, None).await {
        Ok(done) => {
            summary.ran(
                "rollback",
                started,
                true,
                format!(
                    "release {} ({}) serving again{}",
                    done.release,
                    done.version,
                    if done.warm { ", from warm standby" } else { "" }
                ),
            );
            summary.release = Some(done.release);
            Error::Refused(format!(
                "{failed}; rolled back to release {} ({})",
                done.release, done.version
            ))
        }
        Err(e) => {
            summary.ran("rollback", started, false, e.to_string());
            tracing::error!("rollback failed: {e}");
            Error::Refused(format!("{failed}; the rollback failed too: {e}"))
        }
    }
}

/// The step summary, outputs, and the terminal report or JSON document.
fn report(ui: &Ui, summary: &Summary, error: Option<&Error>) {
    if ui.actions()
        && let Err(e) = crate::ci::append_summary(&release::markdown(summary))
    {
        tracing::warn!("cannot write the step summary: {e}");
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    ui.outputs(&[
        ("image", text(&summary.image)),
        ("digest", text(&summary.digest)),
        (
            "release",
            summary.release.map(|r| r.to_string()).unwrap_or_default(),
        ),
        ("version", text(&summary.version)),
        ("url", text(&summary.url)),
        ("approvers", summary.approvers.join(",")),
        (
            "annotation-id",
            summary
                .annotation
                .as_ref()
                .map(|a| a.id.to_string())
                .unwrap_or_default(),
        ),
        (
            "deployment-id",
            summary
                .deployment
                .as_ref()
                .map(|d| d.id.to_string())
                .unwrap_or_default(),
        ),
        ("outcome", summary.outcome.word().to_string()),
    ]);
    if ui.json {
        let mut doc = json!({
            "ok": error.is_none(),
            "exit_code": error.map_or(crate::exit::OK, Error::exit_code),
        });
        if let (Value::Object(head), Ok(Value::Object(body))) =
            (&mut doc, serde_json::to_value(summary))
        {
            head.extend(body);
        }
        super::print_json(&doc);
    } else {
        print!("{}", release::text(summary));
    }
}
