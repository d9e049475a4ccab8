//! `smoke`: HTTP checks against a real service on loopback (`support::web`), plain and
//! over TLS with a test CA. Each assertion kind passes and fails; retries wait for a slow
//! service and stop at the deadline; checks run concurrently; the JUnit, JSON and Markdown
//! reports hold what a reader needs and never a secret.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::web::{Reply, Request, TestCa, Web};
use crate::support::{Run, bin, free_port};

/// A directory to run `smoke` in, with no deploy.toml unless a test writes one.
pub struct Smoke {
    dir: tempfile::TempDir,
}

impl Smoke {
    pub fn new() -> Self {
        Smoke {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `checks.toml`.
    pub fn file(&self, toml: &str) -> PathBuf {
        let path = self.path().join("checks.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    /// `deploy-action ARGS…` here, outside Actions, with no proxy between it and loopback.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.path()).env("CI", "true");
        for var in [
            "GITHUB_ACTIONS",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_OUTPUT",
            "DEPLOY_ACTION_CONFIG",
            "DEPLOY_ACTION_JSON",
            "DEPLOY_ACTION_SMOKE_FILE",
            "DEPLOY_ACTION_BASE_URL",
            "DEPLOY_ACTION_CONCURRENCY",
            "DEPLOY_ACTION_JUNIT",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            c.env_remove(var);
        }
        c.args(args);
        c
    }

    /// `--json smoke --file checks.toml --base-url URL EXTRA…`.
    pub fn run(&self, base_url: &str, toml: &str, extra: &[&str]) -> Run {
        self.file(toml);
        let mut args = vec![
            "--json",
            "smoke",
            "--file",
            "checks.toml",
            "--base-url",
            base_url,
        ];
        args.extend_from_slice(extra);
        Run::from(self.command(&args).output().unwrap())
    }
}

/// The check called `name` in a `--json` document.
fn check<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {doc:#}"))
}

/// A service with something for every assertion to look at.
fn app() -> Web {
    Web::http(|r: &Request| match r.path.as_str() {
        "/health" => Reply::ok("ok"),
        "/created" => Reply::status(201),
        "/api" => Reply::json(json!({
            "status": "ok",
            "version": "1.2.3",
            "count": 3,
            "items": [{ "id": 7 }],
        }))
        .header("x-version", "1.2.3"),
        "/slow" => Reply::ok("slow").after(Duration::from_millis(300)),
        _ => Reply::status(404).body("not found"),
    })
}

#[test]
fn every_assertion_kind_passes_against_a_service_that_meets_it() {
    let web = app();
    let run = Smoke::new().run(
        web.url(),
        r#"
[[smoke]]
name = "status list"
url = "${BASE_URL}/created"
status = [200, 201]

[[smoke]]
name = "status range"
url = "${BASE_URL}/health"
status = "200-204"

[[smoke]]
name = "body"
url = "${BASE_URL}/health"
body_contains = "ok"
body_matches = "^o.$"

[[smoke]]
name = "json"
url = "${BASE_URL}/api"
json = [
  { pointer = "/status", equals = "ok" },
  { pointer = "/count", equals = 3 },
  { pointer = "/items/0/id", exists = true },
  { pointer = "/error", exists = false },
]

[[smoke]]
name = "headers"
url = "${BASE_URL}/api"
header = [
  { name = "X-Version", equals = "1.2.3" },
  { name = "content-type", matches = "^application/json" },
]

[[smoke]]
name = "latency"
url = "${BASE_URL}/health"
max_latency = "2s"
"#,
        &[],
    );
    run.success();
    let doc = run.json();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["passed"], 6);
    for c in doc["checks"].as_array().unwrap() {
        assert_eq!(c["outcome"], "passed", "{c:#}");
        assert_eq!(c["attempts"], 1, "a passing check is asked once: {c:#}");
    }
    assert_eq!(check(&doc, "status list")["status"], 201);
    assert_eq!(web.requests().len(), 6, "one request per check");
}

#[test]
fn each_assertion_kind_fails_saying_what_was_expected_and_what_came() {
    let web = app();
    // (name, url path, assertion, the label reported, in `expected`, in `actual`)
    let cases = [
        (
            "status",
            "/health",
            "status = 204",
            "status",
            "status 204",
            "200",
        ),
        (
            "range",
            "/health",
            "status = \"500-599\"",
            "status",
            "status 500-599",
            "200",
        ),
        (
            "contains",
            "/health",
            "body_contains = \"healthy\"",
            "body_contains",
            "\"healthy\"",
            "2 bytes",
        ),
        (
            "matches",
            "/health",
            "body_matches = \"^fine$\"",
            "body_matches",
            "/^fine$/",
            "no match",
        ),
        (
            "json equals",
            "/api",
            "json = [{ pointer = \"/status\", equals = \"down\" }]",
            "json /status",
            "\"down\"",
            "\"ok\"",
        ),
        (
            "json number",
            "/api",
            "json = [{ pointer = \"/count\", equals = 4 }]",
            "json /count",
            "4",
            "3",
        ),
        (
            "json exists",
            "/api",
            "json = [{ pointer = \"/missing\", exists = true }]",
            "json /missing",
            "a value at /missing",
            "nothing there",
        ),
        (
            "json absent",
            "/api",
            "json = [{ pointer = \"/status\", exists = false }]",
            "json /status",
            "nothing at /status",
            "\"ok\"",
        ),
        (
            "json of text",
            "/health",
            "json = [{ pointer = \"/a\", exists = true }]",
            "json /a",
            "a JSON body",
            "not JSON",
        ),
        (
            "header equals",
            "/api",
            "header = [{ name = \"X-Version\", equals = \"9\" }]",
            "header x-version",
            "\"9\"",
            "\"1.2.3\"",
        ),
        (
            "header missing",
            "/health",
            "header = [{ name = \"X-Version\", equals = \"9\" }]",
            "header x-version",
            "\"9\"",
            "no x-version header",
        ),
        (
            "header matches",
            "/api",
            "header = [{ name = \"content-type\", matches = \"^text/\" }]",
            "header content-type",
            "/^text//",
            "application/json",
        ),
        (
            "latency",
            "/slow",
            "max_latency = \"100ms\"",
            "max_latency",
            "within 100 ms",
            " ms",
        ),
    ];
    let mut toml = String::new();
    for (name, path, assertion, ..) in &cases {
        toml.push_str(&format!(
            "[[smoke]]\nname = \"{name}\"\nurl = \"${{BASE_URL}}{path}\"\n{assertion}\ndeadline = \"400ms\"\n\n"
        ));
    }
    let run = Smoke::new().run(web.url(), &toml, &[]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["failed"], cases.len());
    for (name, path, _, label, expected, actual) in cases {
        let c = check(&doc, name);
        assert_eq!(c["outcome"], "failed", "{c:#}");
        let failure = &c["failure"];
        assert_eq!(failure["assertion"], label, "{name}: {c:#}");
        let text = |k: &str| failure[k].as_str().unwrap().to_string();
        assert!(
            text("expected").contains(expected),
            "{name}: expected {expected:?} in {c:#}"
        );
        assert!(
            text("actual").contains(actual),
            "{name}: actual {actual:?} in {c:#}"
        );
        if path == "/health" {
            assert_eq!(failure["body_excerpt"], "ok", "{name}: the body is shown");
        }
        // Until the deadline: only the slow one has no time for a second try.
        if name != "latency" {
            assert!(
                c["attempts"].as_u64().unwrap() >= 2,
                "{name} retried: {c:#}"
            );
        }
    }
    assert!(
        run.stderr.contains(&format!(
            "{} of {} smoke checks failed",
            cases.len(),
            cases.len()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn the_terminal_table_shows_each_check_and_the_first_failing_assertion() {
    let web = app();
    let smoke = Smoke::new();
    smoke.file(
        r#"
[[smoke]]
name = "home"
url = "${BASE_URL}/health"

[[smoke]]
name = "api version"
url = "${BASE_URL}/health"
status = 201
body_contains = "never"
deadline = "200ms"
"#,
    );
    let out = smoke
        .command(&["smoke", "--file", "checks.toml", "--base-url", web.url()])
        .output()
        .unwrap();
    let run = Run::from(out);
    run.code(1);
    let table = &run.stdout;
    assert!(table.starts_with("CHECK"), "{table}");
    assert!(table.contains("home") && table.contains("pass"), "{table}");
    assert!(
        table.contains("api version") && table.contains("FAIL"),
        "{table}"
    );
    // The status is judged first: it is the failure shown, not the body's.
    assert!(
        table.contains("  status\n    expected: status 201\n    actual:   200"),
        "{table}"
    );
    assert!(table.contains("  body: ok"), "{table}");
}

#[test]
fn a_service_that_becomes_ready_passes_before_the_deadline() {
    let first: Arc<Mutex<Option<Instant>>> = Arc::default();
    let seen = first.clone();
    let web = Web::http(move |_| {
        let first = *seen.lock().unwrap().get_or_insert_with(Instant::now);
        if first.elapsed() < Duration::from_millis(1500) {
            Reply::status(503).body("starting")
        } else {
            Reply::ok("ready")
        }
    });
    let run = Smoke::new().run(
        web.url(),
        "[[smoke]]\nname = \"ready\"\nurl = \"${BASE_URL}/\"\nbody_contains = \"ready\"\ndeadline = \"20s\"\n",
        &[],
    );
    run.success();
    let c = check(&run.json(), "ready").clone();
    let attempts = c["attempts"].as_u64().unwrap();
    assert!(attempts >= 3, "it was asked until ready: {c:#}");
    assert_eq!(web.requests().len() as u64, attempts);
    let elapsed = c["elapsed_ms"].as_u64().unwrap();
    assert!(
        (1500..8000).contains(&elapsed),
        "ready after 1.5 s, seen soon after: {c:#}"
    );
}

#[test]
fn a_service_that_never_gets_ready_fails_at_its_deadline_within_ten_percent() {
    let web = Web::http(|_| Reply::status(503).body("starting"));
    let smoke = Smoke::new();
    // What starting the binary costs on this machine now, which no deadline covers.
    let startup = {
        let started = Instant::now();
        smoke.command(&["--version"]).output().unwrap();
        started.elapsed()
    };
    let started = Instant::now();
    let run = smoke.run(
        web.url(),
        "[[smoke]]\nname = \"never\"\nurl = \"${BASE_URL}/\"\ndeadline = \"3s\"\ntimeout = \"1s\"\n",
        &[],
    );
    let wall = started.elapsed();
    run.code(1);
    let c = check(&run.json(), "never").clone();
    assert!(
        wall >= Duration::from_millis(3000) && wall <= Duration::from_millis(3300) + startup,
        "the 3 s deadline took {wall:?} (starting the binary: {startup:?}): {c:#}"
    );
    let elapsed = c["elapsed_ms"].as_u64().unwrap();
    assert!((3000..=3300).contains(&elapsed), "{c:#}");
    assert!(
        c["attempts"].as_u64().unwrap() >= 4,
        "backoff still retries: {c:#}"
    );
    assert_eq!(c["failure"]["actual"], "503");
}

#[test]
fn a_single_attempt_is_cut_off_at_its_timeout() {
    let web = Web::http(|_| Reply::ok("late").after(Duration::from_secs(10)));
    let started = Instant::now();
    let run = Smoke::new().run(
        web.url(),
        "[[smoke]]\nname = \"stuck\"\nurl = \"${BASE_URL}/\"\ntimeout = \"300ms\"\ndeadline = \"1s\"\n",
        &[],
    );
    let wall = started.elapsed();
    run.code(1);
    let c = check(&run.json(), "stuck").clone();
    assert_eq!(
        c["outcome"], "error",
        "no answer is an error, not a failure: {c:#}"
    );
    assert!(
        c["error"].as_str().unwrap().contains("no answer within"),
        "{c:#}"
    );
    assert!(wall < Duration::from_millis(1500), "took {wall:?}");
    assert!(c["attempts"].as_u64().unwrap() >= 2, "{c:#}");
}

#[test]
fn tls_with_a_private_ca_and_the_certificate_expiry() {
    let ca = TestCa::new(3);
    let web = Web::https(&ca, |_| Reply::ok("secure"));
    let smoke = Smoke::new();
    let ca_file = ca.write_ca(smoke.path());
    let toml = format!(
        r#"
[[smoke]]
name = "trusted"
url = "${{BASE_URL}}/"
ca_file = "{ca}"
body_contains = "secure"
tls_min_days = 2

[[smoke]]
name = "expiring"
url = "${{BASE_URL}}/"
ca_file = "test-ca.pem"
tls_min_days = 30
deadline = "300ms"

[[smoke]]
name = "unknown ca"
url = "${{BASE_URL}}/"
deadline = "300ms"
"#,
        ca = ca_file.display()
    );
    let run = smoke.run(web.url(), &toml, &[]);
    run.code(1);
    let doc = run.json();
    assert_eq!(check(&doc, "trusted")["outcome"], "passed", "{doc:#}");
    let expiring = &check(&doc, "expiring")["failure"];
    assert_eq!(expiring["assertion"], "tls_min_days", "{doc:#}");
    assert_eq!(
        expiring["expected"],
        "a certificate valid for at least 30 days"
    );
    let actual = expiring["actual"].as_str().unwrap();
    assert!(
        actual.starts_with("a certificate that expires in 2."),
        "{actual}"
    );
    let unknown = check(&doc, "unknown ca");
    assert_eq!(unknown["outcome"], "error", "{unknown:#}");
    assert!(
        unknown["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{unknown:#}"
    );
}

#[test]
fn checks_run_concurrently_so_a_run_takes_about_as_long_as_the_slowest() {
    let web = Web::http(|_| Reply::ok("slow").after(Duration::from_millis(600)));
    let toml: String = (0..5)
        .map(|i| format!("[[smoke]]\nname = \"slow {i}\"\nurl = \"${{BASE_URL}}/{i}\"\n\n"))
        .collect();
    let smoke = Smoke::new();
    let together = smoke.run(web.url(), &toml, &[]);
    together.success();
    let together = together.json()["elapsed_ms"].as_u64().unwrap();
    assert!(
        together < 1200,
        "5 checks of 600 ms at once took {together} ms"
    );
    let one_by_one = smoke.run(web.url(), &toml, &["--concurrency", "1"]);
    one_by_one.success();
    let one_by_one = one_by_one.json()["elapsed_ms"].as_u64().unwrap();
    assert!(
        one_by_one >= 3000,
        "--concurrency 1 runs them in turn: {one_by_one} ms"
    );
}

#[test]
fn junit_output_has_the_elements_the_junit_schema_requires() {
    let web = app();
    let closed = free_port();
    let smoke = Smoke::new();
    let toml = format!(
        r#"
[[smoke]]
name = "home"
url = "${{BASE_URL}}/health"

[[smoke]]
name = "wrong status"
url = "${{BASE_URL}}/health"
status = 418
deadline = "200ms"

[[smoke]]
name = "nobody home"
url = "http://127.0.0.1:{closed}/"
deadline = "200ms"
"#
    );
    let run = smoke.run(web.url(), &toml, &["--junit", "out/junit.xml"]);
    // A directory that does not exist is an error the user can fix; make it and retry.
    run.code(2);
    assert!(
        run.stderr.contains("--junit out/junit.xml"),
        "{}",
        run.stderr
    );
    std::fs::create_dir(smoke.path().join("out")).unwrap();
    smoke
        .run(web.url(), &toml, &["--junit", "out/junit.xml"])
        .code(1);

    let xml = std::fs::read_to_string(smoke.path().join("out/junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites", "{xml}");
    let number = |node: roxmltree::Node, attr: &str| -> u64 {
        node.attribute(attr)
            .unwrap_or_else(|| panic!("<{}> has no {attr}: {xml}", node.tag_name().name()))
            .parse()
            .unwrap()
    };
    assert_eq!(
        (
            number(root, "tests"),
            number(root, "failures"),
            number(root, "errors")
        ),
        (3, 1, 1)
    );
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1, "{xml}");
    let suite = suites[0];
    assert!(
        !suite.attribute("name").unwrap_or_default().is_empty(),
        "{xml}"
    );
    assert_eq!(
        (
            number(suite, "tests"),
            number(suite, "failures"),
            number(suite, "errors")
        ),
        (3, 1, 1)
    );
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3, "{xml}");
    for case in &cases {
        assert!(
            !case.attribute("name").unwrap_or_default().is_empty(),
            "{xml}"
        );
        assert!(
            !case.attribute("classname").unwrap_or_default().is_empty(),
            "{xml}"
        );
        let time: f64 = case.attribute("time").unwrap().parse().unwrap();
        assert!(time >= 0.0);
    }
    let case = |name: &str| {
        *cases
            .iter()
            .find(|c| c.attribute("name") == Some(name))
            .unwrap()
    };
    fn child<'a, 'i>(case: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
        case.children().find(|n| n.has_tag_name(tag))
    }
    let home = case("home");
    assert!(child(home, "failure").is_none() && child(home, "error").is_none());
    let failure = child(case("wrong status"), "failure").expect("a <failure>");
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("expected status 418, got 200"),
        "{xml}"
    );
    assert!(child(case("wrong status"), "error").is_none());
    let error = child(case("nobody home"), "error").expect("an <error> for no answer");
    assert!(
        !error.attribute("message").unwrap_or_default().is_empty(),
        "{xml}"
    );
    assert!(child(case("nobody home"), "failure").is_none());
}

#[test]
fn the_json_document_has_one_entry_per_check() {
    let web = app();
    let run = Smoke::new().run(
        web.url(),
        "[[smoke]]\nname = \"a\"\nurl = \"${BASE_URL}/health\"\n\n[[smoke]]\nname = \"b\"\nurl = \"${BASE_URL}/nope\"\ndeadline = \"200ms\"\n",
        &[],
    );
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["base_url"], web.url());
    for key in ["passed", "failed", "errors", "elapsed_ms"] {
        assert!(doc[key].is_u64(), "{key}: {doc:#}");
    }
    assert_eq!(
        (doc["passed"].as_u64(), doc["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let a = check(&doc, "a");
    assert_eq!(a["ok"], true);
    assert_eq!(a["method"], "GET");
    assert_eq!(a["url"], format!("{}/health", web.url()));
    assert_eq!(a["status"], 200);
    assert!(a["latency_ms"].is_u64() && a["elapsed_ms"].is_u64() && a["headers"].is_object());
    assert!(a["failure"].is_null() && a["error"].is_null());
    let b = check(&doc, "b");
    assert_eq!(
        (b["ok"].as_bool(), b["status"].as_u64()),
        (Some(false), Some(404))
    );
    for key in ["assertion", "expected", "actual", "body_excerpt"] {
        assert!(b["failure"][key].is_string(), "{key}: {b:#}");
    }
    assert_eq!(b["failure"]["body_excerpt"], "not found");
}

#[test]
fn a_bad_file_of_checks_is_bad_input_at_its_line_and_column() {
    let smoke = Smoke::new();
    let base = "[[smoke]]\nname = \"a\"\nurl = \"${BASE_URL}/\"\n";
    let cases = [
        (
            format!("{base}stauts = 200\n"),
            "checks.toml:4:1: unknown key `stauts` in `smoke[0]`",
            "did you mean `status`?",
        ),
        (
            format!("{base}body_matches = \"(\"\n"),
            "checks.toml:4:16: `smoke[0].body_matches` is not a regular expression",
            "",
        ),
        (
            format!("{base}timeout = 5\n"),
            "checks.toml:4:11: `smoke[0].timeout` must be a duration",
            "",
        ),
        (
            format!("{base}status = \"200-\"\n"),
            "checks.toml:4:10:",
            "invalid status",
        ),
        (
            "name = \"a\"\n".to_string(),
            "checks.toml:1:1: unknown top-level key `name` in a file of smoke checks",
            "under a `[[smoke]]` header",
        ),
        (
            format!("{base}url = \"x\"\n"),
            "checks.toml:4:1:",
            "duplicate key",
        ),
    ];
    for (toml, location, help) in cases {
        let run = smoke.run("http://127.0.0.1:9", &toml, &[]);
        run.code(2);
        assert!(
            run.stderr.contains(location),
            "{location:?} in:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains(help), "{help:?} in:\n{}", run.stderr);
    }
    let missing = Run::from(
        smoke
            .command(&[
                "smoke",
                "--file",
                "nope.toml",
                "--base-url",
                "http://127.0.0.1:9",
            ])
            .output()
            .unwrap(),
    );
    missing.code(2);
    assert!(
        missing.stderr.contains("--file nope.toml: no such file"),
        "{}",
        missing.stderr
    );
}

#[test]
fn secret_header_values_are_never_printed() {
    let web = Web::http(|r: &Request| {
        // A service that echoes what it got, as debugging endpoints do.
        let auth = r.headers.get("authorization").cloned().unwrap_or_default();
        let trace = r.headers.get("x-trace").cloned().unwrap_or_default();
        Reply::ok(&format!("auth={auth} trace={trace}"))
    });
    let smoke = Smoke::new();
    let summary = smoke.path().join("summary.md");
    std::fs::write(&summary, "").unwrap();
    smoke.file(
        r#"
[[smoke]]
name = "echo"
url = "${BASE_URL}/echo"
headers = { Authorization = "Bearer ${SMOKE_TOKEN}", X-Trace = "${SMOKE_TRACE}", Accept = "text/plain" }
body_contains = "never there"
deadline = "200ms"
"#,
    );
    let (token, trace) = ("s3cr3t-t0k3n-value", "trace-from-env-42");
    let mut printed = String::new();
    for json in [false, true] {
        let mut args = vec![
            "smoke",
            "--file",
            "checks.toml",
            "--base-url",
            web.url(),
            "--junit",
            "junit.xml",
        ];
        if json {
            args.insert(0, "--json");
        }
        let run = Run::from(
            smoke
                .command(&args)
                .env("SMOKE_TOKEN", token)
                .env("SMOKE_TRACE", trace)
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", &summary)
                .output()
                .unwrap(),
        );
        run.code(1);
        // Masks are registered with the runner first; they are the only place a value shows.
        // Under --json the workflow commands go to stderr, leaving stdout to the document.
        let commands = if json { &run.stderr } else { &run.stdout };
        for secret in [token, trace] {
            assert!(
                commands.contains(&format!("::add-mask::{secret}\n")),
                "{commands}"
            );
        }
        for line in run
            .stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| !l.starts_with("::add-mask::"))
        {
            printed.push_str(line);
            printed.push('\n');
        }
        printed.push_str(&std::fs::read_to_string(smoke.path().join("junit.xml")).unwrap());
        if json {
            let doc: Value = serde_json::from_str(&run.stdout).unwrap();
            let c = check(&doc, "echo");
            assert_eq!(c["headers"]["Authorization"], "***", "{c:#}");
            assert_eq!(c["headers"]["X-Trace"], "***", "{c:#}");
            assert_eq!(
                c["headers"]["Accept"], "text/plain",
                "only secrets are masked"
            );
            assert_eq!(c["failure"]["body_excerpt"], "auth=*** trace=***", "{c:#}");
        } else {
            assert!(
                run.stdout.contains("request header Authorization: ***"),
                "{}",
                run.stdout
            );
        }
    }
    printed.push_str(&std::fs::read_to_string(&summary).unwrap());
    // The service did get the real values: the masking is in the output only.
    let got = web.requests();
    assert_eq!(got[0].headers["authorization"], format!("Bearer {token}"));
    assert_eq!(got[0].headers["x-trace"], trace);
    assert!(
        !printed.contains(token),
        "the token was printed:\n{printed}"
    );
    assert!(
        !printed.contains(trace),
        "an environment value was printed:\n{printed}"
    );
    assert!(printed.contains("echo"), "the output was read: {printed}");
}

#[test]
fn under_actions_the_step_summary_gets_a_markdown_table_and_failures_annotations() {
    let web = app();
    let smoke = Smoke::new();
    let summary = smoke.path().join("summary.md");
    smoke.file(
        "[[smoke]]\nname = \"home\"\nurl = \"${BASE_URL}/health\"\n\n[[smoke]]\nname = \"teapot\"\nurl = \"${BASE_URL}/health\"\nstatus = 418\ndeadline = \"200ms\"\n",
    );
    let run = Run::from(
        smoke
            .command(&["smoke", "--file", "checks.toml", "--base-url", web.url()])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap(),
    );
    run.code(1);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("Smoke checks: 1 passed, 1 failed"), "{md}");
    assert!(
        md.contains("| check | result | attempts | latency | status | first failing assertion |"),
        "{md}"
    );
    assert!(md.contains("| home | pass | 1 |"), "{md}");
    assert!(
        md.contains("| teapot | FAIL |") && md.contains("expected status 418, got 200"),
        "{md}"
    );
    assert!(
        run.stdout
            .contains("::error::smoke check `teapot`: status: expected status 418, got 200"),
        "{}",
        run.stdout
    );
}

#[test]
fn checks_come_from_deploy_toml_and_the_base_url_from_the_router() {
    let web = app();
    let smoke = Smoke::new();
    let config = format!(
        "service = \"shop\"\n\n[router]\nurl = \"{}\"\n\n[[smoke]]\nname = \"health\"\nurl = \"${{BASE_URL}}/health\"\nbody_contains = \"ok\"\n",
        web.url()
    );
    std::fs::write(smoke.path().join("deploy.toml"), &config).unwrap();
    let run = Run::from(smoke.command(&["--json", "smoke"]).output().unwrap());
    run.success();
    let doc = run.json();
    assert_eq!(doc["base_url"], web.url());
    assert_eq!(
        check(&doc, "health")["url"],
        format!("{}/health", web.url())
    );
    assert_eq!(web.requests()[0].path, "/health");

    // The same loader reports deploy.toml's [[smoke]] mistakes at their place.
    std::fs::write(
        smoke.path().join("deploy.toml"),
        format!("{config}max_latency = \"fast\"\n"),
    )
    .unwrap();
    let run = Run::from(smoke.command(&["smoke"]).output().unwrap());
    run.code(2);
    assert!(
        run.stderr
            .contains("deploy.toml:10:15: `smoke[0].max_latency`"),
        "{}",
        run.stderr
    );
}

#[test]
fn redirects_are_followed_or_not_as_configured() {
    let web = Web::http(|r: &Request| match r.path.as_str() {
        "/old" => Reply::status(302).header("location", "/new"),
        "/new" => Reply::ok("the new page"),
        _ => Reply::status(404),
    });
    let run = Smoke::new().run(
        web.url(),
        r#"
[[smoke]]
name = "followed"
url = "${BASE_URL}/old"
body_contains = "the new page"

[[smoke]]
name = "not followed"
url = "${BASE_URL}/old"
follow_redirects = false
status = 302
header = [{ name = "location", equals = "/new" }]

[[smoke]]
name = "not followed, 2xx expected"
url = "${BASE_URL}/old"
follow_redirects = false
deadline = "200ms"
"#,
        &[],
    );
    run.code(1);
    let doc = run.json();
    assert_eq!(check(&doc, "followed")["status"], 200, "{doc:#}");
    assert_eq!(check(&doc, "not followed")["outcome"], "passed", "{doc:#}");
    let c = check(&doc, "not followed, 2xx expected");
    assert_eq!(c["failure"]["actual"], "302", "{c:#}");
}

#[test]
fn urls_headers_and_bodies_are_filled_in_from_the_environment() {
    let web = app();
    let smoke = Smoke::new();
    smoke.file(
        "[[smoke]]\nname = \"post\"\nmethod = \"POST\"\nurl = \"${BASE_URL}/${SMOKE_PATH}\"\nbody = '{\"v\": \"${SMOKE_VALUE}\"}'\nheaders = { Content-Type = \"application/json\" }\n",
    );
    let args = [
        "--json",
        "smoke",
        "--file",
        "checks.toml",
        "--base-url",
        web.url(),
    ];
    let run = Run::from(
        smoke
            .command(&args)
            .env("SMOKE_PATH", "health")
            .env("SMOKE_VALUE", "42")
            .output()
            .unwrap(),
    );
    run.success();
    let got = &web.requests()[0];
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("POST", "/health")
    );
    assert_eq!(got.body, r#"{"v": "42"}"#);
    assert_eq!(got.headers["content-type"], "application/json");

    let unset = Run::from(
        smoke
            .command(&args)
            .env_remove("SMOKE_PATH")
            .output()
            .unwrap(),
    );
    unset.code(2);
    assert!(
        unset.stderr.contains("smoke check `post`: `url`: `${SMOKE_PATH}`: the environment variable SMOKE_PATH is not set"),
        "{}",
        unset.stderr
    );
}
