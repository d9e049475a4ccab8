//! Config errors carry the file, line and column of the offending key or value.
//!
//! Every error renders as one line a human and an editor can both follow, then an
//! optional hint:
//!
//! ```text
//! deploy.toml:12:1: unknown key `drian` in [deploy]
//!   help: did you mean `drain`?
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// A `deploy.toml` that cannot be used. Always exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// There is no file at the path: usually the wrong directory or a typo in `--config`.
    #[error("{}: no such file{}\n  help: run from the directory that holds it, or choose the file with `--config PATH` or `DEPLOY_ACTION_CONFIG=PATH`", path.display(), LookedFor(path, tried))]
    NotFound {
        /// The path as given.
        path: PathBuf,
        /// The same path made absolute, so the message says where we looked.
        tried: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory, I/O).
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but its content is wrong.
    #[error("{}:{line}:{column}: {message}{}", path.display(), Help(help))]
    Invalid {
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// 1-based, in characters.
        column: usize,
        /// The dotted key, when known (`deploy.drain`).
        key: Option<String>,
        /// What is wrong, on one line.
        message: String,
        /// What to do about it, when there is something specific to say.
        help: Option<String>,
    },
}

impl ConfigError {
    /// The message and any help, without the `path:line:col: ` in front: for places
    /// that show the location themselves, like a GitHub annotation. An error that has
    /// no line and column is returned whole.
    pub fn without_location(&self) -> String {
        match self {
            ConfigError::Invalid { message, help, .. } => format!("{message}{}", Help(help)),
            _ => self.to_string(),
        }
    }
}

struct Help<'a>(&'a Option<String>);

impl fmt::Display for Help<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(help) => write!(f, "\n  help: {help}"),
            None => Ok(()),
        }
    }
}

struct LookedFor<'a>(&'a Path, &'a Path);

impl fmt::Display for LookedFor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LookedFor(path, tried) = self;
        if path == tried {
            Ok(())
        } else {
            write!(f, " (looked for {})", tried.display())
        }
    }
}
