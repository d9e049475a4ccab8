//! What every report target does: parse with the format forced and detected, and when a
//! report comes out, run it through the whole gate (baseline against itself, an ignore
//! list, the Markdown and JSON output), which must not panic either.

use deploy_action::config::ReportFormat;
use deploy_action::scan::{
    Context, IgnoreList, Policy, Severity, document, evaluate, markdown, parse,
};

pub fn report(data: &[u8], format: ReportFormat) {
    let _ = parse(data, ReportFormat::Auto);
    let Ok(report) = parse(data, format) else {
        return;
    };
    let ignores = IgnoreList::parse(".trivyignore", b"CVE-2024-1\nCVE-2024-2 exp:2020-01-01\n")
        .expect("a valid ignore file");
    let policy = Policy {
        ignore_unfixed: data.len() % 2 == 0,
        max: [(Severity::Medium, 1)].into(),
        ..Policy::default()
    };
    let outcome = evaluate(
        &report,
        Some(&report),
        &ignores,
        &policy,
        chrono::Utc::now(),
    );
    let context = Context {
        report: "fuzz.json",
        scanner: report.scanner,
        artifact: report.artifact.as_deref(),
        baseline: Some("fuzz.json"),
        ignore_file: Some(".trivyignore"),
        ignores: &ignores,
        policy: &policy,
    };
    let _ = markdown(&context, &outcome);
    let _ = document(&context, &outcome).to_string();
}
