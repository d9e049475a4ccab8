//! Acquire, renew and release, built on a backend's read and compare-and-swap.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::backend::{Backend, Seen};
use super::{Holder, LockState, Waiter, host_name, new_token, token_hash};
use crate::config::{Config, LockConfig};
use crate::error::Error;
use crate::github::RunContext;
use crate::signals::Cancel;

/// How often to retry a swap lost to a waiter's heartbeat before giving up.
const SWAP_ATTEMPTS: u32 = 50;

/// How often a waiter says who it is waiting for, when nothing changes.
const WAIT_REPORT_EVERY: Duration = Duration::from_secs(30);

pub struct Lock {
    pub name: String,
    backend: Backend,
    pub ttl: Duration,
    pub poll: Duration,
    cancel: Cancel,
}

/// The lock, taken.
#[derive(Debug, Clone)]
pub struct Acquired {
    pub token: String,
    pub holder: Holder,
    pub waited: Duration,
    /// The holder whose lease had run out when the lock was taken over.
    pub took_over: Option<Holder>,
}

#[derive(Debug, Clone)]
pub enum Released {
    Released(Box<Holder>),
    /// Nobody held it (a second release, or a lease that ran out and was never taken).
    AlreadyFree,
}

impl Lock {
    /// The lock `[lock]` describes (defaults when the table is absent); `name` overrides
    /// `lock.name`, which defaults to `<service>-<environment>`.
    pub fn open(
        config: &Config,
        lock: &LockConfig,
        name: Option<&str>,
        cancel: &Cancel,
    ) -> Result<Self, Error> {
        let name = name
            .map(str::to_string)
            .or_else(|| lock.name.clone())
            .unwrap_or_else(|| format!("{}-{}", config.service, config.environment));
        if !crate::config::is_lock_name(&name) {
            return Err(Error::Usage(format!(
                "lock name {name:?} cannot name a lock file and a git branch; use letters, \
                 digits, `-`, `_` and `.`"
            )));
        }
        let backend = Backend::open(lock, &name, cancel)?;
        let poll = lock.poll.map(|p| p.get()).unwrap_or(match backend {
            Backend::File(_) => Duration::from_millis(250),
            Backend::GitHub(_) => Duration::from_secs(10),
        });
        Ok(Self {
            name,
            backend,
            ttl: lock.ttl.get(),
            poll,
            cancel: cancel.clone(),
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub async fn status(&self) -> Result<Seen, Error> {
        self.backend.observe().await
    }

    /// Waits up to `timeout` for the lock and takes it: when it is free, or when its
    /// holder's lease has run out. With a queue, waiters take turns in order of arrival.
    pub async fn acquire(
        &self,
        version: Option<String>,
        timeout: Duration,
    ) -> Result<Acquired, Error> {
        let started = Instant::now();
        let deadline = started + timeout;
        let run = RunContext::from_env();
        let token = new_token();
        let me = Waiter {
            id: new_token()[..16].to_string(),
            actor: run.actor.clone(),
            run_url: run.run_url(),
            host: host_name(),
            pid: std::process::id(),
            since: Utc::now(),
            seen: Utc::now(),
        };
        let mut last_report: Option<(Option<String>, Instant)> = None;
        let result = loop {
            if let Err(e) = self.cancel.check() {
                break Err(e);
            }
            let seen = match self.backend.observe().await {
                Ok(seen) => seen,
                Err(e) => break Err(e),
            };
            let now = Utc::now();
            let holder = seen.state.holder.clone();
            let free = holder.as_ref().is_none_or(|h| h.expired(now));
            let mut queue = self.live_queue(&seen.state.queue, now);
            let my_turn =
                !self.backend.keeps_queue() || queue.first().is_none_or(|first| first.id == me.id);
            if free && my_turn {
                let record = Holder {
                    token_sha256: token_hash(&token),
                    actor: run.actor.clone(),
                    run_url: run.run_url(),
                    run_id: run.run_id.clone(),
                    job: run.job.clone(),
                    version: version.clone(),
                    host: me.host.clone(),
                    pid: me.pid,
                    acquired_at: now,
                    renewed_at: now,
                    expires_at: expiry(now, self.ttl),
                };
                queue.retain(|w| w.id != me.id);
                let next = LockState {
                    holder: Some(record.clone()),
                    queue,
                };
                let summary = match &holder {
                    Some(old) => format!(
                        "lock {}: taken over by {} from {} (lease ended {})",
                        self.name,
                        run.actor,
                        old.actor,
                        old.expires_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    None => format!("lock {}: acquired by {}", self.name, run.actor),
                };
                match self.backend.swap(&seen, &next, &summary).await {
                    Ok(true) => {
                        if let Some(old) = &holder {
                            tracing::warn!(
                                "lock {}: took over from {}, whose lease ended at {}",
                                self.name,
                                old.describe(),
                                old.expires_at
                                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                            );
                        }
                        break Ok(Acquired {
                            token,
                            holder: record,
                            waited: started.elapsed(),
                            took_over: holder,
                        });
                    }
                    // Someone else moved first: look again at once.
                    Ok(false) => continue,
                    Err(e) => break Err(e),
                }
            }
            if self.backend.keeps_queue() {
                // Join the queue, or say we are still alive.
                let mine = queue.iter().position(|w| w.id == me.id);
                let stale = mine.is_none_or(|i| {
                    (now - queue[i].seen).to_std().unwrap_or_default() >= self.poll
                });
                if stale || queue.len() != seen.state.queue.len() {
                    match mine {
                        Some(i) => queue[i].seen = now,
                        None => queue.push(Waiter {
                            seen: now,
                            ..me.clone()
                        }),
                    }
                    let next = LockState {
                        holder: seen.state.holder.clone(),
                        queue,
                    };
                    let summary = format!("lock {}: {} waits", self.name, run.actor);
                    if let Err(e) = self.backend.swap(&seen, &next, &summary).await {
                        break Err(e);
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.report_wait(&seen, now, left, &mut last_report);
            if left.is_zero() {
                let who = holder
                    .as_ref()
                    .map(|h| format!("held by {}", h.describe()))
                    .unwrap_or_else(|| "other waiters were ahead".into());
                break Err(Error::TimedOut(format!(
                    "lock {} was not free within {} ({who}); raise `--timeout` or \
                     `lock.timeout`, or check `deploy-action lock status`",
                    self.name,
                    humantime::format_duration(timeout)
                )));
            }
            let mut wait = self.backend.poll_delay(self.poll).min(left);
            if let Some(h) = &holder
                && !h.expired(now)
            {
                // Look again as soon as the lease runs out.
                let until_expiry = (h.expires_at - now).to_std().unwrap_or_default();
                wait = wait.min(until_expiry + Duration::from_millis(20));
            }
            if let Err(e) = self.cancel.sleep(wait).await {
                break Err(e);
            }
        };
        match result {
            Ok(acquired) if self.cancel.is_cancelled() => {
                // A signal came while the lock was being taken: give it back.
                let _ = self.release(&acquired.token).await;
                Err(self.cancel.error())
            }
            Err(e) => {
                if self.backend.keeps_queue() {
                    self.leave_queue(&me.id).await;
                }
                Err(e)
            }
            ok => ok,
        }
    }

    /// Extends the lease of the holder of `token` by `ttl` from now.
    pub async fn renew(&self, token: &str) -> Result<Holder, Error> {
        self.change_own(token, "renewed", |state, now| {
            let holder = state.holder.as_mut().expect("checked by change_own");
            holder.renewed_at = now;
            holder.expires_at = expiry(now, self.ttl);
        })
        .await?
        .map(|(before, after)| after.holder.unwrap_or(before))
        .ok_or_else(|| {
            Error::Refused(format!(
                "lock {} is free: this token no longer holds it (released, or its lease ran \
                 out); acquire it again",
                self.name
            ))
        })
    }

    /// Frees the lock if `token` holds it. A token that does not hold it is refused, so
    /// nobody releases a lock that someone else took over.
    pub async fn release(&self, token: &str) -> Result<Released, Error> {
        match self
            .change_own(token, "released", |state, _| state.holder = None)
            .await
        {
            Ok(Some((holder, _))) => Ok(Released::Released(Box::new(holder))),
            Ok(None) => Ok(Released::AlreadyFree),
            Err(e) => Err(e),
        }
    }

    /// Applies `change` to a state whose holder is `token`'s, retrying swaps lost to
    /// waiters joining the queue. Returns the holder before and the state after, or `None`
    /// when nobody holds the lock.
    async fn change_own(
        &self,
        token: &str,
        verb: &str,
        change: impl Fn(&mut LockState, DateTime<Utc>),
    ) -> Result<Option<(Holder, LockState)>, Error> {
        for _ in 0..SWAP_ATTEMPTS {
            let seen = self.backend.observe().await?;
            let now = Utc::now();
            let Some(holder) = seen.state.holder.clone() else {
                return Ok(None);
            };
            if !holder.holds(token) {
                return Err(Error::Refused(format!(
                    "lock {} is held by {} since {}, not by this token: nothing was {verb}{}",
                    self.name,
                    holder.describe(),
                    holder
                        .acquired_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    " (the lease this token held ran out and was taken over, or the token is \
                     from another lock)"
                )));
            }
            let mut next = seen.state.clone();
            next.queue = self.live_queue(&next.queue, now);
            change(&mut next, now);
            let summary = format!("lock {}: {verb} by {}", self.name, holder.actor);
            if self.backend.swap(&seen, &next, &summary).await? {
                return Ok(Some((holder, next)));
            }
        }
        Err(Error::Lock(format!(
            "lock {}: the state kept changing; could not record it as {verb}",
            self.name
        )))
    }

    /// Best effort: a waiter that gives up leaves the queue at once rather than when it goes
    /// stale.
    async fn leave_queue(&self, id: &str) {
        for _ in 0..5 {
            let Ok(seen) = self.backend.observe().await else {
                return;
            };
            if !seen.state.queue.iter().any(|w| w.id == id) {
                return;
            }
            let mut next = seen.state.clone();
            next.queue.retain(|w| w.id != id);
            if let Ok(true) = self
                .backend
                .swap(&seen, &next, &format!("lock {}: a waiter left", self.name))
                .await
            {
                return;
            }
        }
    }

    /// The queue without waiters that stopped showing signs of life (killed, or gone).
    fn live_queue(&self, queue: &[Waiter], now: DateTime<Utc>) -> Vec<Waiter> {
        let silence = self.poll * 4 + Duration::from_secs(2);
        queue
            .iter()
            .filter(|w| (now - w.seen).to_std().unwrap_or_default() < silence)
            .cloned()
            .collect()
    }

    fn report_wait(
        &self,
        seen: &Seen,
        now: DateTime<Utc>,
        left: Duration,
        last: &mut Option<(Option<String>, Instant)>,
    ) {
        let who = seen.state.holder.as_ref().map(|h| h.token_sha256.clone());
        let due = match last {
            Some((previous, at)) => *previous != who || at.elapsed() >= WAIT_REPORT_EVERY,
            None => true,
        };
        if !due {
            return;
        }
        *last = Some((who, Instant::now()));
        let ahead = if self.backend.keeps_queue() {
            format!(", {} in the queue", seen.state.queue.len())
        } else {
            String::new()
        };
        match &seen.state.holder {
            Some(h) if !h.expired(now) => tracing::info!(
                "waiting for lock {}: held by {} since {}; lease ends in {}{ahead}; giving up in {}",
                self.name,
                h.describe(),
                h.acquired_at.format("%H:%M:%S UTC"),
                humantime::format_duration(round(
                    (h.expires_at - now).to_std().unwrap_or_default()
                )),
                humantime::format_duration(round_up(left)),
            ),
            _ => tracing::info!(
                "waiting for lock {}: free, other waiters first{ahead}; giving up in {}",
                self.name,
                humantime::format_duration(round_up(left)),
            ),
        }
    }
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

fn round_up(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().ceil() as u64)
}
