//! Smoke checks: HTTP requests against a deployed service and assertions on the answers
//! (status, body, JSON, headers, latency, TLS expiry), retried until each passes or its
//! deadline runs out, run concurrently, reported for people, CI and programs.
//!
//! - `template.rs`: `${BASE_URL}` and `${VAR}` in URLs, headers and bodies
//! - `secret.rs`: what must never be printed, and masking it
//! - `assert.rs` (with `cert.rs`): how an answer is judged
//! - `check.rs`: one check, with its retries and deadline
//! - `runner.rs`: many checks at once
//! - `report.rs`, `junit.rs`: the results as text, Markdown, JSON and JUnit XML

mod assert;
mod cert;
mod check;
mod junit;
mod report;
mod runner;
mod secret;
pub mod template;

pub use assert::{Assertion, Failure};
pub use check::{Check, CheckResult, Outcome};
pub use junit::write as write_junit;
pub use report::{Tally, json, markdown, text};
pub use runner::run_all;
