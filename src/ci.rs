//! GitHub Actions workflow commands, step outputs and the step summary.
//! <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when stdout carries a JSON document: workflow commands then go to stderr, which
/// the runner reads for them just the same, so the document stays parseable.
static STDOUT_IS_A_DOCUMENT: AtomicBool = AtomicBool::new(false);

/// Keeps workflow commands off stdout (for `--json`).
pub fn keep_stdout_for_the_document() {
    STDOUT_IS_A_DOCUMENT.store(true, Ordering::Relaxed);
}

/// Writes one workflow command line where the runner reads it.
fn command(line: std::fmt::Arguments<'_>) {
    if STDOUT_IS_A_DOCUMENT.load(Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// True when running as a GitHub Actions step.
pub fn is_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escapes a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn group(title: &str) {
    command(format_args!("::group::{}", escape_data(title)));
}

pub fn end_group() {
    command(format_args!("::endgroup::"));
}

/// Hides `secret` in every later line of the job's log.
pub fn add_mask(secret: &str) {
    if is_actions() && !secret.is_empty() {
        command(format_args!("::add-mask::{}", escape_data(secret)));
    }
}

/// Where an annotation points.
#[derive(Debug, Default, Clone)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

pub fn error(message: &str, at: Option<&Location>) {
    match at {
        Some(l) => command(format_args!(
            "::error file={},line={},col={}::{}",
            escape_property(&l.file),
            l.line,
            l.column,
            escape_data(message)
        )),
        None => command(format_args!("::error::{}", escape_data(message))),
    }
}

/// A warning annotation: the step goes on.
pub fn warning(message: &str) {
    command(format_args!("::warning::{}", escape_data(message)));
}

/// Appends `name=value` outputs to `$GITHUB_OUTPUT`.
pub fn set_outputs(outputs: &[(&str, String)]) -> std::io::Result<()> {
    for (name, _) in outputs {
        debug_assert!(
            crate::outputs::declared(name),
            "output `{name}` is not this command's in src/outputs.rs: add it there, then regenerate the actions (UPDATE_ACTIONS=1 cargo test --test integration action_map)"
        );
    }
    append_file_command("GITHUB_OUTPUT", outputs)
}

/// Appends `name=value` pairs to `$GITHUB_STATE`, which a later post step of the same
/// action reads back as `STATE_<name>`.
pub fn save_state(values: &[(&str, String)]) -> std::io::Result<()> {
    append_file_command("GITHUB_STATE", values)
}

/// Appends `name=value` pairs to the file named by `$variable`; every value uses a random
/// heredoc delimiter, so multi-line values and values containing `=` are safe.
fn append_file_command(variable: &str, outputs: &[(&str, String)]) -> std::io::Result<()> {
    let Ok(path) = std::env::var(variable) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    for (name, value) in outputs {
        let delimiter = loop {
            let d = format!("ghadelimiter_{:032x}", rand::random::<u128>());
            if !value.contains(&d) {
                break d;
            }
        };
        writeln!(file, "{name}<<{delimiter}\n{value}\n{delimiter}")?;
    }
    Ok(())
}

/// Appends Markdown to `$GITHUB_STEP_SUMMARY`.
pub fn append_summary(markdown: &str) -> std::io::Result<()> {
    let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    writeln!(file, "{markdown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
