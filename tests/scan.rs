//! `scan`: the vulnerability gate, driven through the real binary.
//!
//! Reports are data: each case below names a report in `tests/fixtures/scan/` (written in
//! its scanner's documented format), the flags, the exit code it must give and snippets
//! its output must hold, side by side. Paths in arguments are relative to that folder,
//! where the binary runs (and where no `deploy.toml` is, so the defaults apply unless a
//! case passes `--config`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::bin;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan")
}

#[derive(Debug)]
struct Scan {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `deploy-action scan ARGS` in the fixtures folder, outside GitHub Actions.
fn scan(args: &[&str], env: &[(&str, &str)]) -> Scan {
    let mut c = Command::new(bin());
    c.current_dir(fixtures()).arg("scan").args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("DEPLOY_ACTION_") || key.starts_with("GITHUB_") || key == "CI" {
            c.env_remove(key);
        }
    }
    c.env("RUST_LOG", "deploy_action=warn");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    Scan {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

enum Expect {
    Stdout(&'static str),
    Stderr(&'static str),
    NotStdout(&'static str),
}

fn check(args: &[&str], code: i32, expects: &[Expect]) {
    let run = scan(args, &[]);
    let shown = format!(
        "scan {}\n--- exit {}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        run.code,
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, code, "wrong exit code\n{shown}");
    for expect in expects {
        match expect {
            Expect::Stdout(s) => assert!(run.stdout.contains(s), "stdout lacks {s:?}\n{shown}"),
            Expect::Stderr(s) => assert!(run.stderr.contains(s), "stderr lacks {s:?}\n{shown}"),
            Expect::NotStdout(s) => {
                assert!(!run.stdout.contains(s), "stdout has {s:?}\n{shown}")
            }
        }
    }
    assert!(
        !run.stderr.contains("panicked"),
        "the binary panicked\n{shown}"
    );
}

/// `name: [args] => exit code, stdout "…", stderr "…", not_stdout "…";`
macro_rules! cases {
    ($($name:ident: [$($arg:expr),* $(,)?] => $code:expr $(, $stream:ident $snippet:expr)* ;)*) => {
        $(
            #[test]
            fn $name() {
                check(&[$($arg),*], $code, &[$(cases!(@expect $stream $snippet)),*]);
            }
        )*
    };
    (@expect stdout $s:expr) => { Expect::Stdout($s) };
    (@expect stderr $s:expr) => { Expect::Stderr($s) };
    (@expect not_stdout $s:expr) => { Expect::NotStdout($s) };
}

cases! {
    // Trivy JSON
    trivy_report_with_a_fixable_critical_fails_the_default_policy: ["trivy/image.json"] => 1,
        stdout "### ❌ Scan gate failed",
        stdout "1 CRITICAL (none allowed), 2 HIGH (none allowed)",
        stdout "| CRITICAL | [CVE-2024-5535](https://avd.aquasec.com/nvd/cve-2024-5535)<br>openssl: SSL_select_next_proto buffer overread | libssl3 | 3.1.4-r5 | 3.1.6-r0 | registry.example.com/shop:1.3.0 (alpine 3.19.1) |",
        stdout "| MEDIUM | 1 | 1 | 0 | any |",
        stderr "error: scan gate failed: 3 counted findings break the policy";
    trivy_findings_below_fail_on_pass: ["trivy/image.json", "--fail-on", "critical,high", "--max", "CRITICAL=1,HIGH=2"] => 0,
        stdout "### ✅ Scan gate passed",
        stdout "| HIGH | 2 | 2 | 0 | 2 |";
    trivy_fail_on_none_leaves_only_the_max_limits: ["trivy/image.json", "--fail-on", "none", "--max", "LOW=0"] => 1,
        stdout "1 LOW (none allowed)",
        stdout "| LOW | CVE-2024-24783<br>golang: crypto/x509: Verify panics";
    trivy_secrets_and_misconfigurations_are_not_vulnerabilities: ["trivy/unknown_fields.json"] => 0,
        stdout "| LOW | 1 | 1 | 0 | any |",
        stdout "| HIGH | 0 | 0 | 0 | 0 |";
    trivy_report_without_results_passes: ["trivy/clean.json"] => 0,
        stdout "### ✅ Scan gate passed",
        stdout "| CRITICAL | 0 | 0 | 0 | 0 |";
    trivy_report_with_zero_results_passes: ["trivy/zero_results.json"] => 0,
        stdout "✅";
    trivy_null_results_pass: ["trivy/results_null.json"] => 0,
        stdout "✅";
    trivy_null_arrays_and_null_fields_are_read_as_empty: ["trivy/null_arrays.json", "--fail-on", "MEDIUM"] => 1,
        stdout "| MEDIUM | CVE-2024-29041 | express | 4.18.2 | 4.19.2 | app/package-lock.json |";
    trivy_unfixed_findings_count_unless_ignored: ["trivy/image.json", "--fail-on", "MEDIUM"] => 1,
        stdout "| MEDIUM | [CVE-2023-42363](https://avd.aquasec.com/nvd/cve-2023-42363)<br>busybox: use-after-free in awk | busybox | 1.36.1-r15 | no fix yet |";
    trivy_ignore_unfixed_drops_findings_without_a_fix: ["trivy/image.json", "--fail-on", "MEDIUM", "--ignore-unfixed"] => 0,
        stdout "| Severity | Found | Counted | Ignored | Unfixed | Allowed |",
        stdout "| MEDIUM | 1 | 0 | 0 | 1 | 0 |",
        stdout "1 finding without a fixed version is not counted (`ignore_unfixed`).";
    trivy_severity_in_the_wrong_case_is_bad_input_at_its_position: ["trivy/lowercase_severity.json"] => 2,
        stderr "error: trivy/lowercase_severity.json:9:112: `Results[0].Vulnerabilities[1].Severity`: unknown severity \"high\": Trivy writes CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN (did you mean \"HIGH\"?)";
    trivy_truncated_report_is_bad_input_at_its_end: ["trivy/truncated.json"] => 2,
        stderr "error: trivy/truncated.json:38:48: `Results[0].Vulnerabilities[0].PrimaryURL`: EOF while parsing a string",
        stderr "help: the report ends before its JSON does: was it cut short";
    trivy_results_as_an_object_is_a_wrong_schema: ["trivy/wrong_schema.json"] => 2,
        stderr "trivy/wrong_schema.json:4:13: `Results`: invalid type: map, expected a sequence";
    trivy_finding_without_an_id_is_a_wrong_schema: ["trivy/missing_id.json"] => 2,
        stderr "`Results[0].Vulnerabilities[0]`: missing field `VulnerabilityID`";
    trivy_schema_version_1_is_refused: ["trivy/schema_version_1.json"] => 2,
        stderr "trivy/schema_version_1.json:1:3: Trivy `SchemaVersion` 1 is not supported";
    trivy_table_output_is_not_json: ["trivy/table.txt"] => 2,
        stderr "trivy/table.txt:2:1: expected value",
        stderr "help: this is not JSON";
    a_missing_report_is_bad_input_naming_it: ["trivy/nope.json"] => 2,
        stderr "trivy/nope.json: cannot read the report: no such file";
    a_format_that_does_not_match_the_report_is_bad_input: ["--format", "grype", "trivy/image.json"] => 2,
        stderr "`--format grype` was asked for, but this is a Trivy JSON report",
        stderr "help: use `--format trivy` or `--format auto`";
    the_report_can_be_given_as_a_flag: ["--report", "trivy/clean.json", "--format", "trivy"] => 0,
        stdout "Report `trivy/clean.json` (Trivy JSON, `registry.example.com/shop:1.3.0`)";
    no_report_is_a_usage_error: [] => 2,
        stderr "scan needs a report";
    a_bad_max_flag_is_a_usage_error: ["trivy/image.json", "--max", "HIGH"] => 2,
        stderr "write SEVERITY=N";
    an_unknown_fail_on_severity_is_a_usage_error: ["trivy/image.json", "--fail-on", "severe"] => 2,
        stderr "--fail-on: unknown severity \"severe\"";

    // Grype JSON
    grype_report_fails_on_critical_and_high: ["grype/image.json"] => 1,
        stdout "Report `grype/image.json` (Grype JSON, `registry.example.com/shop:1.3.0`)",
        stdout "| CRITICAL | [CVE-2024-5535](https://security.alpinelinux.org/vuln/CVE-2024-5535) | libssl3 | 3.1.4-r5 | 3.1.6-r0 | /lib/apk/db/installed |",
        stdout "| HIGH | [GHSA-4v7x-pqxf-cx7m](https://github.com/advisories/GHSA-4v7x-pqxf-cx7m) | golang.org/x/net | v0.17.0 | no fix yet | /app/shop |";
    grype_negligible_counts_as_low: ["grype/image.json"] => 1,
        stdout "| LOW | 1 | 1 | 0 | any |";
    grype_not_fixed_and_wont_fix_are_unfixed: ["grype/image.json", "--ignore-unfixed", "--max", "CRITICAL=1"] => 0,
        stdout "| HIGH | 1 | 0 | 0 | 1 | 0 |",
        stdout "3 findings without a fixed version are not counted";
    grype_report_with_zero_matches_passes: ["grype/zero_matches.json"] => 0,
        stdout "(Grype JSON, `/work/shop`)";
    grype_severity_in_the_wrong_case_is_bad_input: ["grype/uppercase_severity.json"] => 2,
        stderr "grype/uppercase_severity.json:4:61: `matches[0].vulnerability.severity`: unknown severity \"CRITICAL\": Grype writes Critical, High, Medium, Low, Negligible, Unknown (did you mean \"Critical\"?)";

    // SARIF 2.1.0
    sarif_severity_comes_from_security_severity: ["sarif/trivy.sarif"] => 1,
        stdout "(SARIF, `Trivy`)",
        stdout "| CRITICAL | [CVE-2024-5535](https://avd.aquasec.com/nvd/cve-2024-5535)<br>openssl: SSL_select_next_proto buffer overread | libssl3 | 3.1.4-r5 | 3.1.6-r0 | registry.example.com/shop |",
        stdout "| MEDIUM | 1 | 1 | 0 | any |";
    sarif_from_trivy_carries_fixed_versions_for_ignore_unfixed: ["sarif/trivy.sarif", "--fail-on", "MEDIUM", "--ignore-unfixed"] => 0,
        stdout "| MEDIUM | 1 | 0 | 0 | 1 | 0 |";
    sarif_severity_falls_back_to_level_and_skips_passes: ["sarif/code.sarif"] => 1,
        stdout "2 HIGH (none allowed)",
        stdout "| HIGH | [js/sql-injection](https://codeql.github.com/codeql-query-help/javascript/js-sql-injection/)<br>Database query built from user-controlled sources |  |  | unknown | src/db.js |",
        stdout "| LOW | 1 | 1 | 0 | any |";
    sarif_fix_is_unknown_so_ignore_unfixed_keeps_it: ["sarif/code.sarif", "--ignore-unfixed"] => 1,
        stdout "2 HIGH (none allowed)";
    sarif_with_zero_results_passes: ["sarif/empty.sarif"] => 0,
        stdout "✅";
    sarif_with_null_results_and_rules_passes: ["sarif/null_results.sarif"] => 0,
        stdout "✅";
    sarif_level_in_the_wrong_case_is_bad_input: ["sarif/capitalised_level.sarif"] => 2,
        stderr "sarif/capitalised_level.sarif:4:45: `runs[0].results[0].level`: unknown variant `Error`, expected one of `none`, `note`, `warning`, `error`";
    sarif_security_severity_must_be_a_score: ["sarif/bad_security_severity.sarif"] => 2,
        stderr "`runs[0].tool.driver.rules[0].properties.security-severity`: `security-severity` must be a CVSS score from 0.0 to 10.0, like \"7.5\", found \"high\"";
    sarif_other_than_2_1_0_is_refused: ["sarif/version_2_0.sarif"] => 2,
        stderr "sarif/version_2_0.sarif:1:3: SARIF `version` \"2.0.0\" is not supported; only 2.1.0 is";

    // Ignore files
    trivyignore_ignores_ids_and_calls_out_expired_entries: ["trivy/image.json", "--ignore-file", "ignore/plain.trivyignore"] => 1,
        stdout "1 CRITICAL (none allowed), 1 HIGH (none allowed)",
        stdout "#### ⚠️ Expired ignores (1)",
        stdout "| CVE-2024-4741 | 2020-01-01 | the gateway was meant to drop SSL_free_buffers | 1 |",
        stdout "#### Ignored (2 findings by 2 entries)",
        stdout "| CVE-2023-42363 | 1 | busybox awk is not in the image's code path | never |",
        stdout "| CVE-2023-45288 | 1 | Waiting for the Go 1.22 upgrade; review then. | 2999-12-31 |",
        stdout "Ignore entries that matched nothing: `CVE-1999-0001`",
        stderr "ignore/plain.trivyignore:9: the ignore entry for CVE-2024-4741 expired on 2020-01-01; its 1 finding count again";
    trivyignore_yaml_matches_purls_and_paths: ["trivy/image.json", "--ignore-file", "ignore/accepted.trivyignore.yaml"] => 1,
        stdout "2 HIGH (none allowed)",
        stdout "| CVE-2024-5535 | 1 | Not reachable, the shop never calls SSL_select_next_proto | 2999-12-31 |",
        stdout "| CVE-2024-24783 | 1 | The shop verifies no client certificates | never |",
        stdout "| CVE-2023-45288 | 2020-01-01 | HTTP/2 is disabled in the shop | 1 |",
        stdout "Ignore entries that matched nothing: `CVE-2024-4741`";
    trivyignore_matches_grype_related_ids: ["grype/image.json", "--ignore-file", "ignore/plain.trivyignore", "--fail-on", "high"] => 0,
        stdout "| CVE-2023-45288 | 1 | Waiting for the Go 1.22 upgrade; review then. | 2999-12-31 |";
    trivyignore_with_a_bad_date_is_bad_input: ["trivy/image.json", "--ignore-file", "ignore/bad_date.trivyignore"] => 2,
        stderr "error: ignore/bad_date.trivyignore:1:19: expiry date \"2025-02-30\" is not a date like 2025-06-30";
    trivyignore_yaml_typo_is_bad_input: ["trivy/image.json", "--ignore-file", "ignore/typo.trivyignore.yaml"] => 2,
        stderr "error: ignore/typo.trivyignore.yaml:4:5: vulnerabilities[0]: unknown field `expires_at`";
    a_missing_ignore_file_is_bad_input: ["trivy/image.json", "--ignore-file", "ignore/none"] => 2,
        stderr "ignore/none: cannot read the ignore file: no such file";

    // Baseline
    baseline_lets_only_new_findings_fail: ["trivy/image.json", "--baseline", "trivy/serving.json"] => 1,
        stdout "1 new finding fails the gate: 1 HIGH (none allowed)",
        stdout "| Severity | Found | New | Baseline | Ignored | Allowed |",
        stdout "| CRITICAL | 1 | 0 | 1 | 0 | 0 |",
        stdout "| HIGH | 2 | **1** | 1 | 0 | 0 |",
        stdout "| HIGH | [CVE-2024-4741]",
        not_stdout "| CRITICAL | [CVE-2024-5535]";
    baseline_lists_fixed_findings_as_good_news: ["trivy/image.json", "--baseline", "trivy/serving.json"] => 1,
        stdout "#### 🎉 Fixed since the baseline (1)",
        stdout "| MEDIUM | [CVE-2023-6129](https://avd.aquasec.com/nvd/cve-2023-6129)";
    a_report_against_itself_as_baseline_passes: ["trivy/image.json", "--baseline", "trivy/image.json"] => 0,
        stdout "| CRITICAL | 1 | 0 | 1 | 0 | 0 |";
    a_bad_baseline_is_bad_input_naming_it: ["trivy/image.json", "--baseline", "trivy/truncated.json"] => 2,
        stderr "trivy/truncated.json:38:48";

    // deploy.toml
    config_scan_table_sets_the_policy: ["--config", "config/deploy.toml", "trivy/image.json"] => 0,
        stdout "| HIGH | 2 | 2 | 0 | 0 | 2 |",
        stdout "ignore file `config/../ignore/accepted.trivyignore.yaml`";
    config_severities_must_be_upper_case: ["--config", "config/lowercase_fail_on.toml", "trivy/image.json"] => 2,
        stderr "error: config/lowercase_fail_on.toml:4:24: `scan.fail_on[1]`: unknown severity \"high\"",
        stderr "help: severities are upper case, as Trivy writes them: `HIGH`";
    config_max_keys_must_be_severities: ["--config", "config/unknown_max_severity.toml", "trivy/image.json"] => 2,
        stderr "error: config/unknown_max_severity.toml:4:22: `scan.max.SEVERE`: unknown severity \"SEVERE\"",
        stderr "help: one of `CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `UNKNOWN`";
    scan_needs_no_config_file: ["--config", "config/nope.toml", "trivy/clean.json"] => 0,
        stdout "✅";
    flags_override_the_config: ["--config", "config/deploy.toml", "trivy/image.json", "--max", "HIGH=1", "--ignore-unfixed=false"] => 1,
        stdout "2 HIGH (at most 1 allowed)",
        stdout "| Severity | Found | Counted | Ignored | Allowed |";
}

#[test]
fn every_fixture_is_used_by_a_test() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scan.rs"))
            .unwrap();
    let mut unused = Vec::new();
    for dir in ["trivy", "grype", "sarif", "ignore", "config"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if !source.contains(&format!("{dir}/{name}")) {
                unused.push(format!("{dir}/{name}"));
            }
        }
    }
    assert!(unused.is_empty(), "fixtures no test reads: {unused:?}");
}

#[test]
fn environment_variables_set_every_flag() {
    let run = scan(
        &[],
        &[
            ("DEPLOY_ACTION_REPORT", "trivy/image.json"),
            ("DEPLOY_ACTION_FORMAT", "trivy"),
            ("DEPLOY_ACTION_BASELINE", "trivy/serving.json"),
            ("DEPLOY_ACTION_FAIL_ON", "CRITICAL"),
            ("DEPLOY_ACTION_IGNORE_UNFIXED", "true"),
            ("DEPLOY_ACTION_IGNORE_FILE", "ignore/plain.trivyignore"),
            ("DEPLOY_ACTION_MAX", "HIGH=0,LOW=5"),
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("1 HIGH (none allowed)"), "{run:?}");
    assert!(
        run.stdout.contains("| LOW | 1 | 1 | 0 | 0 | 0 | 5 |"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("baseline `trivy/serving.json`"),
        "{run:?}"
    );
}

#[test]
fn json_prints_one_document_with_the_decision_and_the_findings() {
    let run = scan(
        &[
            "--json",
            "trivy/image.json",
            "--baseline",
            "trivy/serving.json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", run.stdout));
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["format"], "trivy");
    assert_eq!(doc["artifact"], "registry.example.com/shop:1.3.0");
    assert_eq!(doc["counts"]["HIGH"]["new"], 1);
    assert_eq!(doc["counts"]["HIGH"]["baseline"], 1);
    assert_eq!(doc["counts"]["CRITICAL"]["allowed"], 0);
    assert_eq!(doc["counts"]["LOW"]["allowed"], serde_json::Value::Null);
    assert_eq!(doc["violations"][0]["severity"], "HIGH");
    let failing = doc["failing"].as_array().unwrap();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["id"], "CVE-2024-4741");
    assert_eq!(
        failing[0]["fix"],
        serde_json::json!({"state": "fixed", "version": "3.1.5-r0"})
    );
    assert_eq!(
        failing[0]["purl"],
        "pkg:apk/alpine/libssl3@3.1.4-r5?arch=x86_64&distro=3.19.1"
    );
    assert_eq!(doc["fixed_since_baseline"][0]["id"], "CVE-2023-6129");
    assert!(doc["error"].as_str().unwrap().contains("scan gate failed"));
    assert!(!run.stdout.contains("###"), "no Markdown with --json");
}

#[test]
fn json_lists_ignores_with_statement_expiry_and_use() {
    let run = scan(
        &[
            "--json",
            "trivy/image.json",
            "--ignore-file",
            "ignore/accepted.trivyignore.yaml",
        ],
        &[],
    );
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let ignores = doc["ignores"].as_array().unwrap();
    assert_eq!(ignores.len(), 4);
    assert_eq!(ignores[0]["id"], "CVE-2024-5535");
    assert_eq!(ignores[0]["expires"], "2999-12-31");
    assert_eq!(ignores[0]["expired"], false);
    assert_eq!(ignores[0]["matched"], 1);
    assert_eq!(ignores[0]["purls"][0], "pkg:apk/alpine/libssl3");
    assert_eq!(ignores[2]["expired"], true);
    assert_eq!(ignores[2]["line"], 12);
    assert_eq!(doc["ignored"][0]["ignore"], "CVE-2024-5535");
    assert_eq!(doc["ignored"][0]["finding"]["package"], "libssl3");
}

#[test]
fn json_of_a_passing_gate_says_ok() {
    let run = scan(&["--json", "sarif/empty.sarif"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["format"], "sarif");
}

#[test]
fn bad_input_under_json_is_one_error_document() {
    let run = scan(&["--json", "trivy/lowercase_severity.json"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("lowercase_severity.json:9:112")
    );
}

#[test]
fn under_actions_the_summary_and_outputs_go_to_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs");
    let run = scan(
        &["trivy/image.json", "--baseline", "trivy/serving.json"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("### ❌ Scan gate failed"), "{md}");
    assert!(md.contains("| HIGH | [CVE-2024-4741]"), "{md}");
    assert!(
        !run.stdout.contains("| Severity |"),
        "the table goes to the summary, not the log:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("::error::scan gate failed: 1 new finding breaks the policy"),
        "{run:?}"
    );
    let out = std::fs::read_to_string(&outputs).unwrap();
    for (name, value) in [
        ("passed", "false"),
        ("new", "2"),
        ("failing", "1"),
        ("fixed", "1"),
        ("ignored", "0"),
    ] {
        let found = out
            .split(&format!("{name}<<"))
            .nth(1)
            .and_then(|rest| rest.lines().nth(1));
        assert_eq!(found, Some(value), "output {name} in\n{out}");
    }
}

#[test]
fn summary_flag_writes_the_markdown_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.md");
    let run = scan(
        &[
            "grype/zero_matches.json",
            "--summary",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let md = std::fs::read_to_string(&path).unwrap();
    assert!(md.starts_with("### ✅ Scan gate passed"), "{md}");
}

#[test]
fn the_report_is_never_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    std::fs::copy(fixtures().join("trivy/image.json"), &report).unwrap();
    let before = std::fs::read(&report).unwrap();
    let modified = std::fs::metadata(&report).unwrap().modified().unwrap();
    for extra in [
        &[][..],
        &["--json"][..],
        &["--baseline", report.to_str().unwrap()][..],
    ] {
        let mut args = vec![report.to_str().unwrap()];
        args.extend_from_slice(extra);
        scan(&args, &[]);
    }
    assert_eq!(std::fs::read(&report).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&report).unwrap().modified().unwrap(),
        modified
    );
}

/// A Trivy report whose one finding has `severity` and a title of `title_len` bytes.
fn report_with(severity: &str, title_len: usize) -> String {
    format!(
        r#"{{"SchemaVersion": 2, "Results": [{{"Target": "app/x", "Vulnerabilities": [
            {{"VulnerabilityID": "CVE-2024-1", "PkgName": "x", "InstalledVersion": "1",
              "Severity": "{severity}", "Title": "{}"}}]}}]}}"#,
        "t".repeat(title_len)
    )
}

#[test]
fn very_long_strings_are_read_and_cut_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.json");
    std::fs::write(&path, report_with("CRITICAL", 8 << 20)).unwrap();
    let run = scan(&[path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.len() < 4096,
        "the summary holds the whole title: {} bytes",
        run.stdout.len()
    );
    assert!(run.stdout.contains("ttt…"), "{}", run.stdout);
}

#[test]
fn a_very_long_bad_value_is_named_in_a_short_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.json");
    std::fs::write(&path, report_with(&"h".repeat(1 << 20), 10)).unwrap();
    let run = scan(&[path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.len() < 1024,
        "{} bytes of error",
        run.stderr.len()
    );
    assert!(
        run.stderr.contains(
            "long.json:3:27: `Results[0].Vulnerabilities[0].Severity`: unknown severity \"hhhh"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(1048576 characters)"),
        "{}",
        run.stderr
    );
}

#[test]
fn deep_nesting_is_skipped_or_refused_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let deep = |inner: &str| format!("{}{inner}{}", "[".repeat(100_000), "]".repeat(100_000));
    // Unknown keys are skipped without recursion, however deep.
    let path = dir.path().join("deep.json");
    std::fs::write(
        &path,
        format!("{{\"SchemaVersion\": 2, \"x\": {}}}", deep("")),
    )
    .unwrap();
    let run = scan(&[path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Where a finding is expected, the first wrong level is the error.
    std::fs::write(
        &path,
        format!("{{\"SchemaVersion\": 2, \"Results\": {}}}", deep("")),
    )
    .unwrap();
    let run = scan(&[path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`Results[0][0]`: invalid type: sequence"),
        "{}",
        run.stderr
    );
}

/// Bounded garbage: every fixture cut at many points and with bytes flipped goes
/// through the parsers, which must answer (a report or an error with a position) and
/// never panic. The cargo-fuzz targets in `fuzz/` do this without bounds.
#[test]
fn mangled_reports_and_ignore_files_never_panic() {
    use deploy_action::config::ReportFormat;
    use deploy_action::scan::{IgnoreList, parse};

    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut inputs = Vec::new();
    for dir in ["trivy", "grype", "sarif", "ignore"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            inputs.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    let mut checked = 0;
    for (name, bytes) in &inputs {
        let mut variants = Vec::new();
        for i in 0..64 {
            variants.push(bytes[..bytes.len() * i / 64].to_vec());
        }
        for _ in 0..200 {
            let mut v = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % v.len().max(1);
                if let Some(b) = v.get_mut(at) {
                    let pool = b"{}[]\",:0aZ \n\\\xff";
                    *b = pool[(next() as usize) % pool.len()];
                }
            }
            variants.push(v);
        }
        for v in variants {
            for format in [
                ReportFormat::Auto,
                ReportFormat::Trivy,
                ReportFormat::Grype,
                ReportFormat::Sarif,
            ] {
                if let Err(e) = parse(&v, format) {
                    assert!(e.line >= 1 && e.column >= 1, "{name}: {e}");
                }
            }
            for ignore_name in [".trivyignore", ".trivyignore.yaml"] {
                if let Err(e) = IgnoreList::parse(ignore_name, &v) {
                    assert!(e.line >= 1 && e.column >= 1, "{name}: {e}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 5_000, "{checked}");
}
