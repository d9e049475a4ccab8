//! [`Problem`]: one thing wrong with a file, at a byte span, before it is placed on a
//! line and column. Every check produces problems; the one that comes first in the file
//! becomes the [`ConfigError`].

use std::ops::Range;
use std::path::Path;

use super::error::ConfigError;
use super::position::line_column;

/// One thing wrong with a file, before it is placed on a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// Byte range in the file text.
    pub span: Range<usize>,
    pub key: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(span: Range<usize>, key: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            span,
            key: key.map(str::to_string),
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Places the problem in `text`, the content of the file at `path`.
    pub fn at(self, path: &Path, text: &str) -> ConfigError {
        let (line, column) = line_column(text, self.span.start);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            key: self.key,
            message: self.message,
            help: self.help,
        }
    }
}

/// The problem that comes first in the file, as an error; `Ok` when there is none.
pub(super) fn earliest(problems: Vec<Problem>) -> Result<(), Problem> {
    // `min_by_key` keeps the first of equals, so order of discovery breaks ties.
    match problems.into_iter().min_by_key(|p| p.span.start) {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}
