//! One error type for the whole tool. Each variant knows its exit code and says
//! what the user can do about it.

use crate::config::ConfigError;
use crate::exit;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `deploy.toml` is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A flag or argument that parses but makes no sense (`--to` a version that never ran).
    #[error("{0}")]
    Usage(String),

    /// The Docker engine failed or could not be reached after retries.
    #[error("docker engine at {host}: {message}")]
    Docker { host: String, message: String },

    /// The router could not be driven (runtime API, config reload).
    #[error("router: {0}")]
    Router(String),

    /// The new release was refused; the previous one keeps serving.
    #[error("{0}")]
    Refused(String),

    /// SIGINT or SIGTERM arrived; the step was aborted and what it had started undone
    /// (for a deploy: the previous release keeps serving).
    #[error("cancelled by {0}: the step was aborted and what it had started was undone")]
    Cancelled(&'static str),

    /// GitHub's API failed or refused after retries.
    #[error("GitHub API: {0}")]
    GitHub(String),

    /// Grafana's HTTP API failed or refused after retries.
    #[error("Grafana API: {0}")]
    Grafana(String),

    /// A lock could not be read or written (a file system error, a lost lease).
    #[error("lock: {0}")]
    Lock(String),

    /// The scanner `[scan] command` names failed to produce a report.
    #[error("scanner: {0}")]
    Scanner(String),

    /// Waiting ran out of time.
    #[error("timed out: {0}")]
    TimedOut(String),
}

/// An error with every cause behind it, `outer: inner: innermost`: the cause is often the
/// only part that says what to fix (a refused connection, an ssh failure).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) => exit::BAD_INPUT,
            Error::Docker { .. }
            | Error::Router(_)
            | Error::GitHub(_)
            | Error::Grafana(_)
            | Error::Lock(_)
            | Error::Scanner(_) => exit::ENVIRONMENT,
            Error::Refused(_) | Error::Cancelled(_) => exit::REFUSED,
            Error::TimedOut(_) => exit::TIMED_OUT,
        }
    }

    pub fn router(message: impl Into<String>) -> Self {
        Error::Router(message.into())
    }
}
