//! Config errors carry the file, line and column of the offending key.

use std::path::PathBuf;

/// A `deploy.toml` that cannot be used. Always exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The dotted key, when known (`deploy.drain`).
        key: Option<String>,
        message: String,
    },
}
