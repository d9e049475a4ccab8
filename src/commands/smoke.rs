//! `smoke`: HTTP checks against the deployed service, from deploy.toml's `[[smoke]]`
//! tables or a `--file` of them, run concurrently until each passes or its deadline runs
//! out. Exit 1 when any fails; reports on the terminal, in JSON, JUnit XML and the step
//! summary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use crate::config::{Config, ConfigError, SmokeCheck, SmokeFile};
use crate::docker::EngineHost;
use crate::error::{Error, Result};
use crate::output::Ui;
use crate::signals::Cancel;
use crate::smoke::{self, Check, Outcome, Tally};

/// Checks at once when `--concurrency` is not given: enough that a run of a hundred checks
/// takes about as long as its slowest.
pub const DEFAULT_CONCURRENCY: usize = 100;

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// A TOML file of `[[smoke]]` tables to run instead of deploy.toml's checks.
    #[arg(long, env = "DEPLOY_ACTION_SMOKE_FILE", value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// The deploy's URL, `${BASE_URL}` in checks. Default: the router's URL (`router.url`,
    /// else the router's published listener).
    #[arg(long, env = "DEPLOY_ACTION_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// How many checks run at once [default: 100].
    #[arg(long, env = "DEPLOY_ACTION_CONCURRENCY", value_name = "N", value_parser = concurrency)]
    pub concurrency: Option<Concurrency>,

    /// Also write the results as JUnit XML to this file.
    #[arg(long, env = "DEPLOY_ACTION_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// The value of `--concurrency`; empty, as an unset Actions input arrives, is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency(pub Option<usize>);

fn concurrency(value: &str) -> std::result::Result<Concurrency, String> {
    match value.trim() {
        "" => Ok(Concurrency(None)),
        v => match v.parse::<usize>() {
            Ok(n @ 1..=10_000) => Ok(Concurrency(Some(n))),
            _ => Err(format!("`{v}` is not a number of checks from 1 to 10000")),
        },
    }
}

/// Where the checks come from: their definitions, the directory a relative `ca_file` is
/// in, and the JUnit suite's name.
struct Source {
    checks: Vec<SmokeCheck>,
    dir: Option<PathBuf>,
    suite: String,
}

/// Runs `smoke`; `config_path` is `--config`, needed only without `--file`.
pub async fn run(config_path: &Path, args: SmokeArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let checked = execute(config_path, args, &ui, &cancel).await?;
    report(&ui, &checked)
}

/// The checks' results, and where they ran.
pub(crate) struct Checked {
    pub results: Vec<smoke::CheckResult>,
    pub base_url: Option<String>,
    pub elapsed: std::time::Duration,
}

/// Loads and runs the checks, and writes `--junit`; prints nothing of its own.
pub(crate) async fn execute(
    config_path: &Path,
    args: SmokeArgs,
    ui: &Ui,
    cancel: &Cancel,
) -> Result<Checked> {
    let file = args.file.clone().filter(|f| !f.as_os_str().is_empty());
    let config = match Config::load(config_path) {
        Ok(config) => Some(config),
        // A file of checks and a base URL are enough: no deploy.toml needed.
        Err(ConfigError::NotFound { .. }) if file.is_some() => None,
        Err(e) => return Err(e.into()),
    };
    let source = match &file {
        Some(path) => Source {
            checks: load_file(path)?,
            dir: path.parent().map(Path::to_path_buf),
            suite: config.as_ref().map_or_else(
                || {
                    path.file_stem()
                        .map_or("smoke".into(), |s| s.to_string_lossy().into_owned())
                },
                |c| c.service.clone(),
            ),
        },
        None => Source {
            checks: config.as_ref().map(|c| c.smoke.clone()).unwrap_or_default(),
            dir: config_path.parent().map(Path::to_path_buf),
            suite: config
                .as_ref()
                .map_or("smoke".into(), |c| c.service.clone()),
        },
    };
    if source.checks.is_empty() {
        return Err(Error::Usage(match &file {
            Some(path) => format!("{}: no `[[smoke]]` checks in it", path.display()),
            None => format!(
                "{}: no `[[smoke]]` checks: add some (see README, `[[smoke]]`), or pass `--file PATH`",
                config_path.display()
            ),
        }));
    }
    let base_url = base_url(args.base_url.as_deref(), config.as_ref())?;
    let env = |name: &str| std::env::var(name).ok();
    let checks = source
        .checks
        .iter()
        .map(|c| Check::prepare(c, base_url.as_deref(), &env, source.dir.as_deref()))
        .collect::<Result<Vec<_>>>()?;
    // Before anything is printed: the job's log hides these from here on.
    for check in &checks {
        for secret in check.secrets.values() {
            crate::ci::add_mask(secret);
        }
    }
    let concurrency = args
        .concurrency
        .and_then(|c| c.0)
        .unwrap_or(DEFAULT_CONCURRENCY);
    let started = Instant::now();
    let results = {
        let _phase = ui.phase(&format!(
            "Smoke checks: {} against {}",
            checks.len(),
            base_url.as_deref().unwrap_or("their URLs")
        ));
        let spinner = ui.spinner(format!("running {} smoke checks", checks.len()));
        let results = smoke::run_all(&checks, concurrency, cancel).await?;
        spinner.finish();
        results
    };
    let elapsed = started.elapsed();
    if let Some(path) = args.junit.as_deref().filter(|p| !p.as_os_str().is_empty()) {
        smoke::write_junit(path, &source.suite, &results)
            .map_err(|e| Error::Usage(format!("--junit {}: cannot write: {e}", path.display())))?;
    }
    Ok(Checked {
        results,
        base_url,
        elapsed,
    })
}

/// The step summary, annotations, outputs and printout; a failed check is the error.
fn report(ui: &Ui, checked: &Checked) -> Result<()> {
    let Checked {
        results,
        base_url,
        elapsed,
    } = checked;
    let tally = Tally::of(results);
    if ui.actions() {
        if let Err(e) = crate::ci::append_summary(&smoke::markdown(results)) {
            tracing::warn!("cannot write the step summary: {e}");
        }
        for r in results.iter().filter(|r| !r.passed()) {
            let why = match &r.outcome {
                Outcome::Failed { failure, .. } => failure.to_string(),
                Outcome::Error(e) => format!("no answer: {e}"),
                Outcome::Passed => continue,
            };
            crate::ci::error(&format!("smoke check `{}`: {why}", r.name), None);
        }
    }
    ui.outputs(&[
        ("passed", tally.passed.to_string()),
        ("failed", (tally.failed + tally.errors).to_string()),
    ]);
    if ui.json {
        super::print_json(&smoke::json(
            results,
            base_url.as_deref(),
            elapsed.as_millis(),
        ));
    } else {
        println!("{}", smoke::text(results));
    }
    if tally.ok() {
        tracing::info!("smoke checks: {tally} in {} ms", elapsed.as_millis());
        return Ok(());
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("`{}`", r.name))
        .collect();
    Err(Error::Refused(format!(
        "{} of {} smoke checks failed: {}",
        failed.len(),
        results.len(),
        failed.join(", ")
    )))
}

/// The checks of a `--file`; its errors point at its line and column.
fn load_file(path: &Path) -> Result<Vec<SmokeCheck>> {
    SmokeFile::load(path).map_err(|e| match e {
        ConfigError::NotFound { tried, .. } => Error::Usage(format!(
            "--file {}: no such file (looked for {})",
            path.display(),
            tried.display()
        )),
        e => e.into(),
    })
}

/// `--base-url`, else the router's URL from deploy.toml; `None` with neither.
fn base_url(flag: Option<&str>, config: Option<&Config>) -> Result<Option<String>> {
    if let Some(url) = flag.map(str::trim).filter(|u| !u.is_empty()) {
        let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(Error::Usage(format!(
                "--base-url must be an http:// or https:// URL, found {url:?}"
            )));
        }
        return Ok(Some(url.trim_end_matches('/').to_string()));
    }
    Ok(config.map(|c| {
        let host = EngineHost::resolve(c.target.host.as_deref());
        crate::router::url_for(c, &host)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_a_positive_count_or_empty_for_the_default() {
        assert_eq!(concurrency("8"), Ok(Concurrency(Some(8))));
        assert_eq!(concurrency(""), Ok(Concurrency(None)));
        assert!(concurrency("0").is_err());
        assert!(concurrency("many").is_err());
    }

    #[test]
    fn the_base_url_flag_wins_over_the_router() {
        let mut config = Config::minimal("shop");
        config.router.url = Some("https://shop.example.com/".into());
        assert_eq!(
            base_url(None, Some(&config)).unwrap().as_deref(),
            Some("https://shop.example.com")
        );
        assert_eq!(
            base_url(Some("http://127.0.0.1:9/"), Some(&config))
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert!(base_url(Some("ftp://x"), None).is_err());
        assert_eq!(base_url(None, None).unwrap(), None);
    }
}
