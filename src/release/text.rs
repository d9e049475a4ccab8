//! The release summary for a terminal.

use super::{Summary, duration};
use crate::output::{aligned, text_releases};

pub fn text(s: &Summary) -> String {
    let rows: Vec<[String; 4]> = s
        .steps
        .iter()
        .map(|step| {
            [
                step.name.to_string(),
                step.outcome.word().to_string(),
                if step.duration_ms == 0 && step.outcome.word() != "passed" {
                    String::new()
                } else {
                    duration(step.duration_ms)
                },
                step.detail.clone(),
            ]
        })
        .collect();
    let mut out = format!(
        "{}{} to {}: {} in {}\n\n",
        s.service,
        s.version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        s.environment,
        s.outcome.word(),
        duration(s.duration_ms)
    );
    out.push_str(&aligned(["STEP", "OUTCOME", "TOOK", "DETAIL"], &rows));
    out.push('\n');
    if !s.releases.is_empty() {
        out.push('\n');
        out.push_str(&text_releases(&s.releases));
        out.push('\n');
    }
    out
}
