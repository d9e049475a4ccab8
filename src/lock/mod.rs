//! The deploy lock: one deploy of a service and environment at a time, as a lease.
//!
//! A holder's record names its run, job, actor and version, when it took the lock and when
//! its lease ends. A live holder renews the lease; a dead one loses it when the lease ends,
//! and the next waiter takes over. The record keeps only a hash of the holder's token, so
//! reading the lock (or the branch that holds it) never gives the right to release it.
//!
//! Each backend only knows how to read the lock's state and to replace it if nobody changed
//! it in between (compare-and-swap); acquiring, renewing and releasing are built on those
//! two in `lease.rs`, the same for every backend.

mod backend;
mod file;
mod github;
mod hold;
mod lease;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use backend::Backend;
pub use hold::hold;
pub use lease::{Acquired, Lock, Released};

/// Who holds the lock, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// SHA-256 of the holder's token (hex): release and renew prove the token.
    pub token_sha256: String,
    pub actor: String,
    pub run_url: Option<String>,
    pub run_id: Option<String>,
    pub job: Option<String>,
    pub version: Option<String>,
    pub host: String,
    pub pid: u32,
    pub acquired_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Holder {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    pub fn holds(&self, token: &str) -> bool {
        self.token_sha256 == token_hash(token)
    }

    /// One line for people: who, for which run, since when.
    pub fn describe(&self) -> String {
        let mut text = format!("{} (pid {} on {}", self.actor, self.pid, self.host);
        if let Some(url) = &self.run_url {
            text.push_str(&format!(", run {url}"));
        }
        if let Some(job) = &self.job {
            text.push_str(&format!(", job {job}"));
        }
        if let Some(version) = &self.version {
            text.push_str(&format!(", version {version}"));
        }
        text.push(')');
        text
    }
}

/// A process waiting for the lock, in order of arrival (backends that keep a queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    pub id: String,
    pub actor: String,
    pub run_url: Option<String>,
    pub host: String,
    pub pid: u32,
    pub since: DateTime<Utc>,
    /// The waiter's last sign of life; a waiter silent for long is dropped from the queue.
    pub seen: DateTime<Utc>,
}

/// Everything a backend stores for one lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    /// `None`: free (released, or never taken).
    pub holder: Option<Holder>,
    #[serde(default)]
    pub queue: Vec<Waiter>,
}

/// A fresh random token for a new holder (256 bits, hex).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// This machine's name, for holder and waiter records.
pub fn host_name() -> String {
    whoami::hostname().unwrap_or_else(|_| "unknown".into())
}
