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
use std::ops::Range;
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

/// The 1-based line and column (in characters) of byte `offset` in `text`.
/// Offsets past the end or inside a character are clamped, so any offset is safe.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    // A byte-order mark is not a column anyone can see.
    let column = before[line_start..]
        .trim_start_matches('\u{feff}')
        .chars()
        .count()
        + 1;
    (line, column)
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

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // `=` on the second line comes after two characters (three bytes) and a space.
        assert_eq!(line_column(text, text.find("= 2").unwrap()), (2, 4));
    }

    #[test]
    fn offsets_past_the_end_or_inside_a_character_do_not_panic() {
        assert_eq!(line_column("", 10), (1, 1));
        assert_eq!(line_column("é", 1), (1, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn a_byte_order_mark_takes_no_column() {
        assert_eq!(line_column("\u{feff}abc", 4), (1, 2));
    }
}
