//! `scan REPORT [--baseline REPORT] [policy flags]`: gates a release on a scanner report.
//!
//! Reads the report (never writes it), applies the policy from `[scan]` in `deploy.toml`
//! with flags on top, and reports: a Markdown summary (the step summary under Actions,
//! stdout in a terminal), step outputs, and with `--json` one JSON document. A policy
//! violation exits 1; a report or ignore file that cannot be read exits 2 at its
//! file:line:col.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{Config, ReportFormat, ScanConfig};
use crate::error::{Error, Result};
use crate::output::Ui;
use crate::scan::{self, Context, IgnoreList, Policy, Report, Severity};

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// The scanner report: Trivy JSON, Grype JSON or SARIF 2.1.0. It is only read.
    #[arg(value_name = "REPORT")]
    pub report: Option<PathBuf>,

    /// The report, as a flag instead of the positional argument.
    #[arg(long = "report", value_name = "REPORT", env = "DEPLOY_ACTION_REPORT")]
    pub report_flag: Option<PathBuf>,

    /// The report's format; `auto` detects it from the content. Default: `[scan] format`,
    /// else `auto`.
    #[arg(long, value_enum, env = "DEPLOY_ACTION_FORMAT")]
    pub format: Option<FormatArg>,

    /// A report of what is serving now: only findings that are not in it fail the gate.
    #[arg(long, value_name = "REPORT", env = "DEPLOY_ACTION_BASELINE")]
    pub baseline: Option<PathBuf>,

    /// Severities that fail the gate, comma-separated (`CRITICAL,HIGH`), or `none`.
    /// Default: `[scan] fail_on`, else `CRITICAL,HIGH`.
    #[arg(
        long,
        value_name = "SEVERITIES",
        value_delimiter = ',',
        env = "DEPLOY_ACTION_FAIL_ON"
    )]
    pub fail_on: Option<Vec<String>>,

    /// Findings with no fixed version do not fail the gate (`--ignore-unfixed=false`
    /// turns off `[scan] ignore_unfixed`).
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        env = "DEPLOY_ACTION_IGNORE_UNFIXED"
    )]
    pub ignore_unfixed: Option<bool>,

    /// A `.trivyignore` or `.trivyignore.yaml` file. Default: `[scan] ignore_file`.
    #[arg(long, value_name = "PATH", env = "DEPLOY_ACTION_IGNORE_FILE")]
    pub ignore_file: Option<PathBuf>,

    /// Most findings allowed of a severity, like `MEDIUM=10`; repeat it or separate
    /// with commas. Added to `[scan.max]`, replacing the same severity there.
    #[arg(
        long,
        value_name = "SEVERITY=N",
        value_delimiter = ',',
        value_parser = parse_max,
        env = "DEPLOY_ACTION_MAX"
    )]
    pub max: Vec<(Severity, u64)>,

    /// Also write the Markdown summary to this file.
    #[arg(long, value_name = "FILE", env = "DEPLOY_ACTION_SUMMARY")]
    pub summary: Option<PathBuf>,

    /// The config path (the global `--config`): `[scan] ignore_file` is relative to it.
    #[arg(from_global)]
    pub config: PathBuf,
}

/// `--format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    Auto,
    Trivy,
    Grype,
    Sarif,
}

impl From<FormatArg> for ReportFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Auto => ReportFormat::Auto,
            FormatArg::Trivy => ReportFormat::Trivy,
            FormatArg::Grype => ReportFormat::Grype,
            FormatArg::Sarif => ReportFormat::Sarif,
        }
    }
}

/// `MEDIUM=10`.
fn parse_max(s: &str) -> std::result::Result<(Severity, u64), String> {
    let (severity, n) = s
        .split_once('=')
        .ok_or_else(|| format!("write SEVERITY=N, like `MEDIUM=10`, not {s:?}"))?;
    let severity: Severity = severity.parse()?;
    let n = n
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{:?} is not a count: write SEVERITY=N, like `MEDIUM=10`", n))?;
    Ok((severity, n))
}

/// What the gate decided, owned, for `scan` to print and `run` to summarise.
pub(crate) struct Gate {
    pub markdown: String,
    /// The JSON document, without its `ok`/`exit_code`/`error` head.
    pub document: Value,
    pub outputs: Vec<(&'static str, String)>,
    /// Why the gate said no; `None` when it passed.
    pub refusal: Option<String>,
}

pub async fn run(config: Option<Config>, args: ScanArgs, ui: Ui) -> Result<()> {
    let Gate {
        markdown,
        document,
        outputs,
        refusal,
    } = gate(config.as_ref(), &args)?;
    let step_summary = std::env::var_os("GITHUB_STEP_SUMMARY").is_some();
    if step_summary && let Err(e) = crate::ci::append_summary(&markdown) {
        tracing::warn!("cannot write the step summary: {e}");
    }
    if let Some(path) = &args.summary {
        std::fs::write(path, &markdown).map_err(|e| {
            Error::Usage(format!(
                "--summary {}: cannot write it: {e}",
                path.display()
            ))
        })?;
    }
    ui.outputs(&outputs);
    if ui.json {
        let mut doc = document;
        if let Value::Object(map) = &mut doc {
            let mut head = serde_json::Map::new();
            head.insert("ok".into(), Value::Bool(refusal.is_none()));
            head.insert(
                "exit_code".into(),
                Value::from(if refusal.is_none() {
                    crate::exit::OK
                } else {
                    crate::exit::REFUSED
                }),
            );
            if let Some(r) = &refusal {
                head.insert("error".into(), Value::String(r.clone()));
            }
            head.append(map);
            *map = head;
        }
        super::print_json(&doc);
    } else if step_summary {
        println!(
            "{}",
            refusal
                .clone()
                .unwrap_or_else(|| "scan gate passed: no new finding breaks the policy".into())
        );
    } else {
        println!("{markdown}");
    }

    match refusal {
        None => Ok(()),
        Some(message) => {
            if ui.actions() {
                crate::ci::error(&message, None);
            }
            Err(Error::Refused(message))
        }
    }
}

/// Reads the report (and baseline and ignore file) and applies the policy.
pub(crate) fn gate(config: Option<&Config>, args: &ScanArgs) -> Result<Gate> {
    let scan_config = config.and_then(|c| c.scan.clone()).unwrap_or_default();
    let config_dir = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let report_path = args.report.clone().or(args.report_flag.clone()).ok_or_else(|| {
        Error::Usage(
            "scan needs a report: `deploy-action scan trivy.json` (or `--report PATH`, or DEPLOY_ACTION_REPORT)"
                .into(),
        )
    })?;
    let format = args.format.map_or(scan_config.format, ReportFormat::from);
    let policy = policy(&scan_config, args)?;
    let ignore_path = match &args.ignore_file {
        Some(p) => Some(p.clone()),
        None => scan_config.ignore_file.as_ref().map(|p| config_dir.join(p)),
    };

    let started = std::time::Instant::now();
    let bytes = read(&report_path, "report")?;
    let read_at = started.elapsed();
    let report = scan::parse(&bytes, format).map_err(|e| bad_file(&report_path, &e))?;
    tracing::debug!(
        "{}: {} bytes read in {read_at:.1?}, {} findings parsed in {:.1?}",
        report_path.display(),
        bytes.len(),
        report.findings.len(),
        started.elapsed() - read_at
    );
    let baseline_bytes = match &args.baseline {
        Some(p) => Some((p, read(p, "baseline report")?)),
        None => None,
    };
    let baseline: Option<Report<'_>> = match &baseline_bytes {
        Some((p, b)) => Some(scan::parse(b, format).map_err(|e| bad_file(p, &e))?),
        None => None,
    };
    let ignores = match &ignore_path {
        Some(p) => {
            let bytes = read(p, "ignore file")?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            IgnoreList::parse(&name, &bytes).map_err(|e| bad_file(p, &e))?
        }
        None => IgnoreList::default(),
    };

    let outcome = scan::evaluate(
        &report,
        baseline.as_ref(),
        &ignores,
        &policy,
        chrono::Utc::now(),
    );
    let report_name = report_path.display().to_string();
    let baseline_name = args.baseline.as_ref().map(|p| p.display().to_string());
    let ignore_name = ignore_path.as_ref().map(|p| p.display().to_string());
    let context = Context {
        report: &report_name,
        scanner: report.scanner,
        artifact: report.artifact.as_deref(),
        baseline: baseline_name.as_deref(),
        ignore_file: ignore_name.as_deref(),
        ignores: &ignores,
        policy: &policy,
    };

    for (entry, used) in ignores.entries.iter().zip(&outcome.entries) {
        if used.expired && used.matched > 0 {
            tracing::warn!(
                "{}:{}: the ignore entry for {} expired on {}; its {} finding{} count again",
                ignore_name.as_deref().unwrap_or_default(),
                entry.line,
                entry.id,
                entry.expires.as_ref().map_or("", |(s, _)| s),
                used.matched,
                if used.matched == 1 { "" } else { "s" }
            );
        }
    }

    tracing::debug!("gate decided after {:.1?}", started.elapsed());
    let failing = outcome.failing().count();
    let new: u64 = Severity::ALL.iter().map(|&s| outcome.counts(s).new).sum();
    let ignored: u64 = Severity::ALL
        .iter()
        .map(|&s| outcome.counts(s).ignored)
        .sum();
    let expired = outcome.entries.iter().filter(|e| e.expired).count();
    let outputs = vec![
        ("passed", outcome.passed().to_string()),
        ("new", new.to_string()),
        ("failing", failing.to_string()),
        ("ignored", ignored.to_string()),
        ("fixed", outcome.fixed.len().to_string()),
        ("expired_ignores", expired.to_string()),
    ];
    Ok(Gate {
        markdown: scan::markdown(&context, &outcome),
        document: scan::document(&context, &outcome),
        outputs,
        refusal: (!outcome.passed()).then(|| refusal(&outcome)),
    })
}

/// The policy: `[scan]` with flags on top.
fn policy(config: &ScanConfig, args: &ScanArgs) -> Result<Policy> {
    let fail_on = match &args.fail_on {
        Some(values) => {
            let mut set = std::collections::BTreeSet::new();
            for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
                if v.eq_ignore_ascii_case("none") {
                    continue;
                }
                set.insert(
                    v.parse::<Severity>()
                        .map_err(|e| Error::Usage(format!("--fail-on: {e}")))?,
                );
            }
            set
        }
        None => config
            .fail_on
            .iter()
            .map(|v| {
                Severity::from_trivy(v).ok_or_else(|| {
                    Error::Usage(format!(
                        "[scan] fail_on: unknown severity {v:?}; use one of {}",
                        Severity::ALL.map(Severity::name).join(", ")
                    ))
                })
            })
            .collect::<Result<_>>()?,
    };
    let mut max = BTreeMap::new();
    for (name, n) in &config.max {
        let severity = Severity::from_trivy(name)
            .ok_or_else(|| Error::Usage(format!("[scan.max]: unknown severity {name:?}")))?;
        max.insert(severity, *n);
    }
    for &(severity, n) in &args.max {
        max.insert(severity, n);
    }
    Ok(Policy {
        fail_on,
        ignore_unfixed: args.ignore_unfixed.unwrap_or(config.ignore_unfixed),
        max,
    })
}

/// The one-line reason the gate said no.
fn refusal(outcome: &scan::Outcome<'_, '_>) -> String {
    let count: u64 = outcome.violations.iter().map(|v| v.count).sum();
    let parts: Vec<String> = outcome
        .violations
        .iter()
        .map(|v| match v.allowed {
            0 => format!("{} {} (none allowed)", v.count, v.severity),
            n => format!("{} {} (at most {n} allowed)", v.count, v.severity),
        })
        .collect();
    let mut first: Vec<String> = outcome
        .failing()
        .take(3)
        .map(|j| {
            let f = j.finding;
            let fix = f
                .fix
                .version()
                .map(|v| format!(", fixed in {v}"))
                .unwrap_or_default();
            if f.package.is_empty() {
                format!("{} in {}", f.id, f.target)
            } else {
                format!("{} in {} {}{fix}", f.id, f.package, f.installed)
            }
        })
        .collect();
    if count > 3 {
        first.push("…".into());
    }
    format!(
        "scan gate failed: {count} {} finding{} the policy: {} ({})",
        if outcome.with_baseline {
            "new"
        } else {
            "counted"
        },
        if count == 1 { " breaks" } else { "s break" },
        parts.join(", "),
        first.join("; ")
    )
}

/// A file's bytes: mapped when it is large, read otherwise.
enum Bytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Read(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// Above this size a report is mapped rather than copied: copying 100 MB into fresh
/// memory costs as much time as parsing it.
const MAP_FROM: u64 = 16 << 20;

fn read(path: &Path, what: &str) -> Result<Bytes> {
    let fail = |e: std::io::Error| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        };
        Error::Usage(format!(
            "{}: cannot read the {what}: {reason}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if meta.is_file() && meta.len() >= MAP_FROM {
        // SAFETY: the map is only read, and only while this command runs. A scanner's
        // report is complete before `scan` starts; were another process to truncate it
        // meanwhile, reads past the new end would fault (SIGBUS), the documented risk of
        // any memory map, never wrong data.
        let mapped = unsafe { memmap2::MmapOptions::new().populate().map(&file) };
        if let Ok(map) = mapped {
            return Ok(Bytes::Mapped(map));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(fail)?;
    Ok(Bytes::Read(bytes))
}

fn bad_file(path: &Path, e: &scan::ReportError) -> Error {
    Error::Usage(format!("{}:{e}", path.display()))
}
