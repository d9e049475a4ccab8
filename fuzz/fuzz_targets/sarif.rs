//! The Sarif report parser: any bytes give a report or an error, never a panic.
#![no_main]

#[path = "common.rs"]
mod common;

use deploy_action::config::ReportFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::report(data, ReportFormat::Sarif));
