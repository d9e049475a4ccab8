//! `deploy.toml`: its schema, loading, and errors that point at the file, line and column.

mod duration;
mod error;
mod load;
mod schema;
mod suggest;
mod validate;

pub use duration::Duration;
pub use error::ConfigError;
pub use schema::*;
