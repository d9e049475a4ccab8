//! `lock acquire --hold -- COMMAND…`: run a command under the lock, renew the lease while
//! it runs, and release the lock on every path out: the command's end, a signal, a lost
//! lease.

use std::time::Duration;

use super::{Acquired, Lock};
use crate::error::Error;
use crate::signals::Cancel;

/// How long the command gets to stop after a signal is passed on, before it is killed and
/// the lock released: the lock must be free within 2 s of the signal.
const GRACE: Duration = Duration::from_millis(1500);

/// Runs `command` while holding `acquired`; returns the command's exit code.
pub async fn hold(
    lock: &Lock,
    acquired: &Acquired,
    command: &[String],
    cancel: &Cancel,
) -> Result<i32, Error> {
    let result = supervise(lock, acquired, command, cancel).await;
    // Released on every path; a failed release is reported after the command's outcome.
    let released = lock.release(&acquired.token).await;
    match (&result, released) {
        (_, Ok(_)) => tracing::info!("lock {} released", lock.name),
        (Ok(_), Err(e)) => return Err(e),
        (Err(_), Err(e)) => tracing::error!("lock {}: {e}", lock.name),
    }
    result
}

async fn supervise(
    lock: &Lock,
    acquired: &Acquired,
    command: &[String],
    cancel: &Cancel,
) -> Result<i32, Error> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Error::Usage("`--hold` needs a command after `--`".into()))?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("DEPLOY_ACTION_LOCK_NAME", &lock.name)
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot run {program:?}: {e}")))?;
    let pid = child.id();
    let every = (lock.ttl / 3).max(Duration::from_millis(200));
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.map_err(|e| Error::Lock(format!("waiting for {program:?}: {e}")))?;
                return Ok(exit_code(status));
            }
            _ = renew.tick() => {
                match lock.renew(&acquired.token).await {
                    Ok(holder) => tracing::debug!(
                        "lock {} renewed until {}", lock.name, holder.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    Err(e @ (Error::Refused(_) | Error::Lock(_))) => {
                        // The lease is gone: the command no longer runs alone.
                        signal(pid, libc::SIGTERM);
                        stop(&mut child).await;
                        return Err(Error::Lock(format!(
                            "lost the lock while {program:?} ran, so it was stopped: {e}"
                        )));
                    }
                    // GitHub briefly unreachable: the lease has time left; try next tick.
                    Err(e) => tracing::warn!("lock {}: renewal failed, will retry: {e}", lock.name),
                }
            }
            _ = cancel.cancelled() => {
                let forwarded = match cancel.signal() {
                    Some("SIGINT") => libc::SIGINT,
                    _ => libc::SIGTERM,
                };
                signal(pid, forwarded);
                stop(&mut child).await;
                return Err(cancel.error());
            }
        }
    }
}

/// Waits up to [`GRACE`] for the child, then kills it.
async fn stop(child: &mut tokio::process::Child) {
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        tracing::warn!("the command did not stop within {GRACE:?}; killing it");
        let _ = child.kill().await;
    }
}

fn signal(pid: Option<u32>, sig: libc::c_int) {
    if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
        // SAFETY: kill(2) on our own child's pid; no memory is shared.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// The command's exit code, or 128 + the signal that ended it, as shells report it.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}
