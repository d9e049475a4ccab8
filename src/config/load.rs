//! Reading `deploy.toml` into a [`Config`], with positions on every error. A `smoke
//! --file` of checks goes through the same steps ([`parse_as`]) against its own schema
//! (`smoke.rs`).
//!
//! Loading goes through four checks and stops at the first that finds something wrong,
//! reporting the earliest problem in the file:
//!
//! 1. TOML syntax (`syntax.rs`). [`DeTable`] keeps the byte span of every key and value.
//! 2. Shape (`shape.rs`): every key is known and every value has the type the schema
//!    asks for. What the schema asks for is read from the serde types in `schema.rs`
//!    themselves (`expect.rs`, `probe.rs`), so that file stays the one description of
//!    `deploy.toml`.
//! 3. serde builds the [`Config`] and fills in defaults. After step 2 it should not
//!    fail; if it does, its own message is reported at its span.
//! 4. Meaning (`validate.rs`): ports, names, slots, durations that must be above 0…

use std::io::ErrorKind;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::DeTable;

use super::expect::{ExpectTable, config_expect};
use super::key::key_at;
use super::problem::{Problem, earliest};
use super::shape::check_shape_against;
use super::syntax::syntax_problem;
use super::validate::validate;
use super::{Config, ConfigError};

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        Self::parse(path, &text)
    }

    /// Parses and validates config text; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        parse_as(text, config_expect(), validate).map_err(|problem| problem.at(path, text))
    }
}

/// The text of a file in this format (`deploy.toml`, or a `smoke --file`); a file that is
/// missing, unreadable or not UTF-8 is an error that says so.
pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        ErrorKind::NotFound => ConfigError::NotFound {
            path: path.to_path_buf(),
            tried: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        },
        _ => ConfigError::Read {
            path: path.to_path_buf(),
            source,
        },
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes());
        let byte = e.as_bytes()[valid];
        let problem = Problem::new(
            valid..valid,
            None,
            format!("not UTF-8 text: byte 0x{byte:02x} does not start a character"),
        )
        .help("save the file as UTF-8");
        problem.at(path, &text)
    })
}

/// The four steps of loading, for `T` whose keys `expect` describes and whose meaning
/// `validate` checks: the whole config, or a file of smoke checks.
pub(super) fn parse_as<T: DeserializeOwned>(
    text: &str,
    expect: &ExpectTable,
    validate: impl Fn(&T, &DeTable) -> Vec<Problem>,
) -> Result<T, Problem> {
    let root = DeTable::parse(text).map_err(|e| syntax_problem(text, &e))?;
    check_shape_against(root.get_ref(), expect)?;
    let value = T::deserialize(toml::de::Deserializer::from(root.clone()))
        .map_err(|e| serde_problem(&e, root.get_ref()))?;
    earliest(validate(&value, root.get_ref()))?;
    Ok(value)
}

/// serde said no after the shape check passed: report its message at its span.
fn serde_problem(error: &toml::de::Error, root: &DeTable) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let key = key_at(root, "", span.start);
    let message = match &key {
        Some(key) => format!("`{key}`: {}", error.message()),
        None => error.message().to_string(),
    };
    Problem::new(span, key.as_deref(), message)
}
