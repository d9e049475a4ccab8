//! JUnit XML for CI tools, one `<testcase>` per check:
//!
//! ```xml
//! <testsuites name="deploy-action smoke" tests="3" failures="1" errors="1">
//!   <testsuite name="shop" tests="3" failures="1" errors="1" …>
//!     <testcase name="home" classname="smoke.shop" time="0.012"/>
//!     <testcase name="api" classname="smoke.shop" time="3.001">
//!       <failure message="status: expected status 200-299, got 503" type="status">body excerpt</failure>
//!     </testcase>
//!     <testcase name="admin" classname="smoke.shop" time="5.000">
//!       <error message="no answer within 5000 ms" type="transport"/>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! An answer that fails an assertion is a `<failure>`; no answer at all is an `<error>`.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::check::{CheckResult, Outcome};

/// The report of `results`, the checks of `suite` (the service, or the file's name).
pub fn report(suite: &str, results: &[CheckResult]) -> Report {
    let mut report = Report::new("deploy-action smoke");
    let mut test_suite = TestSuite::new(suite);
    test_suite.add_test_cases(results.iter().map(|r| test_case(suite, r)));
    report.add_test_suite(test_suite);
    report
}

fn test_case(suite: &str, r: &CheckResult) -> TestCase {
    let status = match &r.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Failed { failure, excerpt } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(failure.to_string())
                .set_type(failure.assertion.clone())
                .set_description(format!(
                    "{} {}\nexpected: {}\nactual: {}\nbody: {excerpt}",
                    r.method, r.url, failure.expected, failure.actual
                ));
            status
        }
        Outcome::Error(e) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(e.clone())
                .set_type("transport")
                .set_description(format!("{} {}: {e}", r.method, r.url));
            status
        }
    };
    let mut case = TestCase::new(r.name.clone(), status);
    case.set_classname(format!("smoke.{suite}"))
        .set_time(r.elapsed)
        .set_system_out(format!(
            "{} {}: {} attempt{}",
            r.method,
            r.url,
            r.attempts,
            if r.attempts == 1 { "" } else { "s" }
        ));
    case
}

/// Writes the report of `results` to `path`.
pub fn write(path: &std::path::Path, suite: &str, results: &[CheckResult]) -> std::io::Result<()> {
    let xml = report(suite, results)
        .to_string()
        .map_err(std::io::Error::other)?;
    std::fs::write(path, xml)
}
