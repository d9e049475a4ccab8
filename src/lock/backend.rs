//! The backends behind one interface: read the state, and swap it if unchanged.

use super::LockState;
use super::file::FileBackend;
use super::github::GitHubBackend;
use crate::config::{LockBackendKind, LockConfig};
use crate::error::Error;
use crate::signals::Cancel;

/// The state as read, with what the backend needs to swap it safely.
#[derive(Debug, Clone)]
pub struct Seen {
    pub state: LockState,
    pub(super) marker: Marker,
}

/// What identifies the version of the state that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Marker {
    /// `file`: the generation counter of the state file (0: no file yet).
    Generation(u64),
    /// `github`: the lock branch's commit and its tree, or no branch yet.
    Commit {
        sha: String,
        tree: String,
    },
    Absent,
}

pub enum Backend {
    File(FileBackend),
    GitHub(Box<GitHubBackend>),
}

impl Backend {
    /// The backend `[lock]` names, for the lock `name`.
    pub fn open(lock: &LockConfig, name: &str, cancel: &Cancel) -> Result<Self, Error> {
        Ok(match lock.backend {
            LockBackendKind::File => Backend::File(FileBackend::open(lock, name)?),
            LockBackendKind::Github => {
                Backend::GitHub(Box::new(GitHubBackend::open(lock, name, cancel.clone())?))
            }
        })
    }

    pub async fn observe(&self) -> Result<Seen, Error> {
        match self {
            Backend::File(b) => b.observe().await,
            Backend::GitHub(b) => b.observe().await,
        }
    }

    /// Replaces the state with `next` if it is still what `seen` read; false if someone
    /// changed it first. `summary` says what the change is, for backends that keep history.
    pub async fn swap(&self, seen: &Seen, next: &LockState, summary: &str) -> Result<bool, Error> {
        match self {
            Backend::File(b) => b.swap(seen, next).await,
            Backend::GitHub(b) => b.swap(seen, next, summary).await,
        }
    }

    /// Whether waiters queue in order of arrival (`file`), or race when the lock frees
    /// (`github`, where each queue change would cost API calls).
    pub fn keeps_queue(&self) -> bool {
        matches!(self, Backend::File(_))
    }

    /// Where the lock lives, for messages.
    pub fn location(&self) -> String {
        match self {
            Backend::File(b) => b.location(),
            Backend::GitHub(b) => b.location(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Backend::File(_) => "file",
            Backend::GitHub(_) => "github",
        }
    }

    /// API calls so far: (cost rate limit, answered 304), for backends that make any.
    pub fn api_calls(&self) -> Option<(u64, u64)> {
        match self {
            Backend::File(_) => None,
            Backend::GitHub(b) => Some(b.api_calls()),
        }
    }

    /// How long a waiter should wait before looking again.
    pub fn poll_delay(&self, every: std::time::Duration) -> std::time::Duration {
        match self {
            Backend::File(_) => crate::github::jittered(every),
            Backend::GitHub(b) => b.poll_delay(every),
        }
    }
}
