//! `deploy.toml`: its schema, loading, and errors that point at the file, line and column.
//!
//! The schema is `schema.rs` (with `duration.rs`); `load.rs` is the way in and lists
//! the steps of loading, each in a file of its own.

mod duration;
mod error;
mod expect;
mod grafana;
mod key;
mod load;
mod mistake;
mod position;
mod probe;
mod problem;
mod schema;
mod shape;
mod smoke;
mod suggest;
mod syntax;
mod validate;

pub use duration::{Duration, ParseDurationError};
pub use error::ConfigError;
pub use grafana::GrafanaConfig;
pub use schema::*;
pub use smoke::{HeaderAssertion, JsonAssertion, SmokeCheck, SmokeFile, StatusSet};
pub(crate) use validate::is_lock_name;
