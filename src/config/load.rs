//! Reading `deploy.toml` into a [`Config`], with positions on every error.
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

use serde::Deserialize;
use toml::de::DeTable;

use super::key::key_at;
use super::problem::{Problem, earliest};
use super::shape::check_shape;
use super::syntax::syntax_problem;
use super::validate::validate;
use super::{Config, ConfigError};

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
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
        match String::from_utf8(bytes) {
            Ok(text) => Self::parse(path, &text),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes());
                let byte = e.as_bytes()[valid];
                let problem = Problem::new(
                    valid..valid,
                    None,
                    format!("not UTF-8 text: byte 0x{byte:02x} does not start a character"),
                )
                .help("save the file as UTF-8");
                Err(problem.at(path, &text))
            }
        }
    }

    /// Parses and validates config text; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        parse(text).map_err(|problem| problem.at(path, text))
    }
}

fn parse(text: &str) -> Result<Config, Problem> {
    let root = DeTable::parse(text).map_err(|e| syntax_problem(text, &e))?;
    check_shape(root.get_ref())?;
    let config = Config::deserialize(toml::de::Deserializer::from(root.clone()))
        .map_err(|e| serde_problem(&e, root.get_ref()))?;
    earliest(validate(&config, root.get_ref()))?;
    Ok(config)
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
