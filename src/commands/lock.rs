//! `lock acquire | release | renew | status`: the deploy lock from the command line and
//! across the steps of a job.

use std::time::Duration as StdDuration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::config::{Config, Duration, LockBackendKind, LockConfig};
use crate::error::{Error, Result};
use crate::lock::{Acquired, Holder, Lock, Released, hold};
use crate::output::Ui;
use crate::signals::Cancel;

#[derive(Debug, Args)]
pub struct LockArgs {
    #[command(subcommand)]
    pub action: LockAction,
}

#[derive(Debug, Subcommand)]
pub enum LockAction {
    /// Wait for the lock and take it. Prints the token that releases it (also written to the
    /// step's outputs and state under Actions). With `--hold -- COMMAND…`, runs the command
    /// under the lock, renews the lease meanwhile, and releases it afterwards.
    Acquire(AcquireArgs),
    /// Free the lock held by `--token`. A token that does not hold it is refused (exit 1).
    Release(TokenArgs),
    /// Extend the lease held by `--token` by the lock's TTL from now.
    Renew(TokenArgs),
    /// Show the holder, since when, when its lease ends, and who waits.
    Status(Which),
}

/// Which lock: `[lock]` of deploy.toml, with these overrides.
#[derive(Debug, Args)]
pub struct Which {
    /// The lock's name. Default: `lock.name`, then `<service>-<environment>`.
    #[arg(long, env = "DEPLOY_ACTION_LOCK_NAME")]
    pub name: Option<String>,

    /// Where the lock lives: `file` (this machine) or `github` (a branch of a repository).
    /// Default: `lock.backend`.
    #[arg(long, env = "DEPLOY_ACTION_LOCK_BACKEND", value_parser = backend)]
    pub backend: Option<LockBackendKind>,

    /// The lease length. Default: `lock.ttl` (10m).
    #[arg(long, env = "DEPLOY_ACTION_LOCK_TTL", value_name = "DURATION")]
    pub ttl: Option<Duration>,

    /// How often a waiter looks. Default: `lock.poll` (250ms for file, 10s for github).
    #[arg(long, env = "DEPLOY_ACTION_LOCK_POLL", value_name = "DURATION")]
    pub poll: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct AcquireArgs {
    #[command(flatten)]
    pub which: Which,

    /// The longest wait for the lock; exit 4 after. Default: `lock.timeout` (30m).
    #[arg(long, env = "DEPLOY_ACTION_LOCK_TIMEOUT", value_name = "DURATION")]
    pub timeout: Option<Duration>,

    /// The version being deployed, recorded in the holder record.
    #[arg(long, env = "DEPLOY_ACTION_VERSION")]
    pub version: Option<String>,

    /// Run the command after `--` under the lock, then release it. Exits with the
    /// command's exit code.
    #[arg(long, requires = "command")]
    pub hold: bool,

    /// The command `--hold` runs.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub which: Which,

    /// The token `lock acquire` printed. Default: the `lock_token` the acquiring step saved
    /// in the action's state (`STATE_lock_token`).
    #[arg(long, env = "DEPLOY_ACTION_LOCK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

fn backend(value: &str) -> std::result::Result<LockBackendKind, String> {
    match value.trim() {
        "file" => Ok(LockBackendKind::File),
        "github" => Ok(LockBackendKind::Github),
        other => Err(format!(
            "`{other}` is not a lock backend: use `file` or `github`"
        )),
    }
}

/// Runs a `lock` action; `Ok(Some(code))` is a held command's own exit code.
pub async fn run(
    config: Option<Config>,
    args: LockArgs,
    ui: Ui,
    cancel: Cancel,
) -> Result<Option<i32>> {
    match args.action {
        LockAction::Acquire(a) => acquire(config, a, ui, cancel).await,
        LockAction::Release(a) => release(config, a, ui, cancel).await.map(|()| None),
        LockAction::Renew(a) => renew(config, a, ui, cancel).await.map(|()| None),
        LockAction::Status(which) => status(config, which, ui, cancel).await.map(|()| None),
    }
}

/// The lock and its settings: `[lock]`, then the flags.
fn open(config: Option<Config>, which: &Which, cancel: &Cancel) -> Result<(Lock, LockConfig)> {
    let config = match config {
        Some(config) => config,
        None if which.name.is_some() => Config::minimal("lock"),
        None => {
            return Err(Error::Usage(
                "no deploy.toml here to name the lock: pass `--name`, or `--config PATH`".into(),
            ));
        }
    };
    let mut settings = config.lock.clone().unwrap_or_default();
    if let Some(backend) = which.backend {
        settings.backend = backend;
    }
    if let Some(ttl) = which.ttl {
        settings.ttl = ttl;
    }
    if let Some(poll) = which.poll {
        settings.poll = Some(poll);
    }
    let lock = Lock::open(&config, &settings, which.name.as_deref(), cancel)?;
    Ok((lock, settings))
}

async fn acquire(
    config: Option<Config>,
    args: AcquireArgs,
    ui: Ui,
    cancel: Cancel,
) -> Result<Option<i32>> {
    let (lock, settings) = open(config, &args.which, &cancel)?;
    let timeout = args.timeout.unwrap_or(settings.timeout).get();
    let acquired = {
        let _phase = ui.phase(&format!("Acquire lock {}", lock.name));
        let spinner = ui.spinner(format!("waiting for lock {}", lock.name));
        let acquired = lock.acquire(args.version.clone(), timeout).await;
        spinner.finish();
        if let (Err(_), Some((counted, free))) = (&acquired, lock.backend().api_calls()) {
            tracing::info!(
                "lock {}: GitHub API calls while waiting: {counted} counted against the rate \
                 limit, {free} answered 304 Not Modified (free)",
                lock.name
            );
        }
        acquired?
    };
    tracing::info!(
        "lock {} acquired ({}) after {}; lease until {}",
        lock.name,
        lock.backend().location(),
        humantime::format_duration(StdDuration::from_millis(acquired.waited.as_millis() as u64)),
        acquired
            .holder
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    if args.hold {
        let code = hold(&lock, &acquired, &args.command, &cancel).await?;
        if ui.json {
            super::print_json(&json!({
                "ok": code == 0,
                "lock": describe(&lock),
                "holder": holder_json(&acquired.holder),
                "waited_ms": acquired.waited.as_millis() as u64,
                "exit_code": code,
                "api_calls": api_calls(&lock),
            }));
        }
        return Ok(Some(code));
    }
    let expires = acquired
        .holder
        .expires_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    ui.outputs(&[
        ("token", acquired.token.clone()),
        ("name", lock.name.clone()),
        ("expires-at", expires.clone()),
    ]);
    ui.save_state(&[
        ("lock_token", acquired.token.clone()),
        ("lock_name", lock.name.clone()),
    ]);
    if ui.json {
        super::print_json(&acquired_json(&lock, &acquired));
    } else {
        // The token alone on stdout, for `TOKEN=$(deploy-action lock acquire)`.
        println!("{}", acquired.token);
    }
    Ok(None)
}

fn acquired_json(lock: &Lock, acquired: &Acquired) -> Value {
    json!({
        "ok": true,
        "lock": describe(lock),
        "token": acquired.token,
        "holder": holder_json(&acquired.holder),
        "waited_ms": acquired.waited.as_millis() as u64,
        "took_over": acquired.took_over.as_ref().map(holder_json),
        "api_calls": api_calls(lock),
    })
}

fn token(args: &TokenArgs) -> Result<String> {
    args.token
        .clone()
        .or_else(|| std::env::var("STATE_lock_token").ok())
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "no lock token: pass `--token` (the output `token` of the step that acquired \
                 the lock), or set DEPLOY_ACTION_LOCK_TOKEN"
                    .into(),
            )
        })
}

async fn release(config: Option<Config>, args: TokenArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let token = token(&args)?;
    let (lock, _) = open(config, &args.which, &cancel)?;
    let released = lock.release(&token).await?;
    let (released_now, holder) = match &released {
        Released::Released(h) => {
            tracing::info!(
                "lock {} released (held since {})",
                lock.name,
                h.acquired_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            (true, Some(holder_json(h)))
        }
        Released::AlreadyFree => {
            tracing::info!("lock {} was already free: nothing to release", lock.name);
            (false, None)
        }
    };
    if ui.json {
        super::print_json(&json!({
            "ok": true,
            "lock": describe(&lock),
            "released": released_now,
            "holder": holder,
            "api_calls": api_calls(&lock),
        }));
    }
    Ok(())
}

async fn renew(config: Option<Config>, args: TokenArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let token = token(&args)?;
    let (lock, _) = open(config, &args.which, &cancel)?;
    let holder = lock.renew(&token).await?;
    let expires = holder
        .expires_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tracing::info!("lock {} renewed until {expires}", lock.name);
    ui.outputs(&[("expires-at", expires)]);
    if ui.json {
        super::print_json(&json!({
            "ok": true,
            "lock": describe(&lock),
            "holder": holder_json(&holder),
            "api_calls": api_calls(&lock),
        }));
    }
    Ok(())
}

async fn status(config: Option<Config>, which: Which, ui: Ui, cancel: Cancel) -> Result<()> {
    let (lock, _) = open(config, &which, &cancel)?;
    let seen = lock.status().await?;
    let now = chrono::Utc::now();
    let holder = seen.state.holder.as_ref();
    let expired = holder.is_some_and(|h| h.expired(now));
    let queue = lock.backend().keeps_queue().then_some(&seen.state.queue);
    if ui.json {
        super::print_json(&json!({
            "lock": describe(&lock),
            "held": holder.is_some() && !expired,
            "expired": expired,
            "holder": holder.map(holder_json),
            "expires_in_ms": holder.map(|h| (h.expires_at - now).num_milliseconds()),
            "queue": queue.map(|q| q.iter().map(|w| json!({
                "actor": w.actor, "run_url": w.run_url, "host": w.host, "pid": w.pid,
                "since": w.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })).collect::<Vec<_>>()),
            "api_calls": api_calls(&lock),
        }));
        return Ok(());
    }
    println!("lock {} ({})", lock.name, lock.backend().location());
    match holder {
        None => println!("  free"),
        Some(h) => {
            let ago = |t: chrono::DateTime<chrono::Utc>| {
                humantime::format_duration(StdDuration::from_secs(
                    (now - t).num_seconds().unsigned_abs(),
                ))
                .to_string()
            };
            println!("  held by {}", h.describe());
            println!(
                "  since {} ({} ago)",
                h.acquired_at.format("%Y-%m-%d %H:%M:%S UTC"),
                ago(h.acquired_at)
            );
            if expired {
                println!(
                    "  lease ended {} ago, at {}: the next waiter takes the lock over",
                    ago(h.expires_at),
                    h.expires_at.format("%H:%M:%S UTC")
                );
            } else {
                println!(
                    "  lease ends {} (in {})",
                    h.expires_at.format("%H:%M:%S UTC"),
                    ago(h.expires_at)
                );
            }
        }
    }
    match queue {
        Some(q) if q.is_empty() => println!("  nobody waiting"),
        Some(q) => {
            println!("  waiting, in order:");
            for w in q {
                println!(
                    "    {} (pid {} on {}) since {}",
                    w.actor,
                    w.pid,
                    w.host,
                    w.since.format("%H:%M:%S UTC")
                );
            }
        }
        None => println!(
            "  waiters: not recorded by the {} backend",
            lock.backend().kind()
        ),
    }
    Ok(())
}

fn describe(lock: &Lock) -> Value {
    json!({
        "name": lock.name,
        "backend": lock.backend().kind(),
        "location": lock.backend().location(),
        "ttl_ms": lock.ttl.as_millis() as u64,
    })
}

/// A holder record for output: everything but the token's hash.
fn holder_json(h: &Holder) -> Value {
    json!({
        "actor": h.actor,
        "run_url": h.run_url,
        "run_id": h.run_id,
        "job": h.job,
        "version": h.version,
        "host": h.host,
        "pid": h.pid,
        "acquired_at": h.acquired_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "renewed_at": h.renewed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "expires_at": h.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

fn api_calls(lock: &Lock) -> Value {
    match lock.backend().api_calls() {
        Some((counted, free)) => json!({ "counted": counted, "not_modified": free }),
        None => Value::Null,
    }
}
