//! `deploy.toml`: what a good file loads into, and the error each bad file gets.
//!
//! Bad files are data, side by side in `tests/fixtures/config/`: `<case>.toml` is the
//! input and `<case>.err` the whole error it must produce (first line
//! `file:line:col: message`, then any `help:` line), with the path shown as the file
//! name. To add a case, add both files and its name to `bad_config!` below.
//! `DEPLOY_ACTION_BLESS=1` writes each `.err` from the current output: review the diff.

use std::path::{Path, PathBuf};
use std::time::Duration;

use deploy_action::config::{Config, ConfigError, RouterKind, RouterMode, Strategy, TargetKind};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn load_fixture(case: &str) -> Result<Config, ConfigError> {
    Config::load(&fixtures().join(format!("{case}.toml")))
}

/// Loads `<case>.toml` and compares its error with `<case>.err`.
fn assert_fails_as_expected(case: &str) {
    let error = match load_fixture(case) {
        Ok(config) => panic!("{case}.toml loaded, but it should fail: {config:?}"),
        Err(error) => error,
    };
    assert!(
        matches!(error, ConfigError::Invalid { .. }),
        "{case}: {error:?}"
    );
    let prefix = format!("{}/", fixtures().display());
    let actual = error.to_string().replace(&prefix, "");

    let expected_path = fixtures().join(format!("{case}.err"));
    if std::env::var_os("DEPLOY_ACTION_BLESS").is_some() {
        std::fs::write(&expected_path, format!("{actual}\n")).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with DEPLOY_ACTION_BLESS=1 to write it",
            expected_path.display()
        )
    });
    assert_eq!(
        actual,
        expected.trim_end_matches('\n'),
        "\n{case}.toml fails differently from {case}.err"
    );
}

macro_rules! bad_config {
    ($($case:ident),* $(,)?) => {
        /// The cases below, so a fixture without a test is noticed.
        const BAD_CASES: &[&str] = &[$(stringify!($case)),*];

        /// Each test loads `tests/fixtures/config/<name>.toml` and expects `<name>.err`.
        mod bad_file {
            $(
                #[test]
                fn $case() {
                    super::assert_fails_as_expected(stringify!($case));
                }
            )*
        }
    };
}

bad_config! {
    // TOML syntax
    syntax_error_points_at_the_unclosed_table_header,
    unquoted_string_is_a_syntax_error_with_a_quoting_hint,
    duplicate_key_is_a_syntax_error,
    not_utf8_points_at_the_first_bad_byte,
    // Unknown keys, at the top level and in tables
    unknown_top_level_key_suggests_the_close_one,
    unknown_top_level_key_lists_the_valid_keys,
    unknown_table_suggests_the_close_one,
    unknown_key_in_a_table_suggests_the_close_one,
    unknown_key_in_a_table_lists_the_valid_keys,
    dashed_key_suggests_the_underscored_one,
    key_in_the_wrong_table_says_where_it_belongs,
    top_level_key_under_a_table_says_it_goes_at_the_top,
    // Wrong types
    string_for_an_integer_is_a_type_error,
    quoted_number_suggests_removing_the_quotes,
    port_above_65535_is_out_of_range,
    negative_count_is_out_of_range,
    boolean_written_as_a_string_suggests_true,
    env_value_must_be_a_string,
    command_written_as_a_string_suggests_an_array,
    table_written_as_a_string_suggests_a_header,
    array_of_tables_suggests_a_single_header,
    // Durations
    duration_with_an_unknown_unit_lists_the_units,
    duration_written_as_an_integer_suggests_seconds,
    duration_without_a_unit_suggests_seconds,
    error_under_a_dotted_key_names_the_full_key,
    // Enum values
    unknown_router_kind_lists_the_kinds,
    misspelt_router_kind_suggests_the_close_one,
    misspelt_strategy_suggests_the_close_one,
    // Required keys
    missing_service_asks_for_one,
    empty_file_asks_for_a_service,
    // Values that parse but cannot work
    service_with_a_space_suggests_a_docker_name,
    service_longer_than_50_characters_is_refused,
    zero_target_port_is_refused,
    zero_replicas_are_refused,
    zero_health_successes_are_refused,
    zero_health_interval_is_refused,
    zero_health_timeout_is_refused,
    zero_health_deadline_is_refused,
    zero_stop_timeout_is_refused,
    health_deadline_shorter_than_the_interval_is_refused,
    health_interval_beyond_the_default_deadline_points_at_interval,
    health_status_outside_100_to_599_is_refused,
    health_path_must_start_with_a_slash,
    verify_path_must_start_with_a_slash,
    one_router_slot_is_too_few,
    fewer_slots_than_twice_the_replicas_are_refused,
    replicas_beyond_the_default_slots_point_at_replicas,
    listen_needs_a_port,
    listen_needs_brackets_around_ipv6,
    router_url_must_be_http,
    // [lock] and [approval]
    unknown_lock_backend_lists_the_backends,
    lock_repository_needs_owner_and_name,
    lock_name_must_be_a_safe_name,
    zero_min_approvals_are_refused,
    issue_approval_without_approvers_is_refused,
}

/// Fixtures that load.
const GOOD_CASES: &[&str] = &["every_key_set", "blue_green_with_several_replicas_loads"];

#[test]
fn every_fixture_is_a_listed_case_with_its_expected_output() {
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let case = path.file_stem().unwrap().to_str().unwrap().to_string();
        let listed = BAD_CASES.contains(&case.as_str()) || GOOD_CASES.contains(&case.as_str());
        if !listed {
            unlisted.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    unlisted.sort();
    assert!(
        unlisted.is_empty(),
        "fixtures with no test in tests/config.rs: {unlisted:?}"
    );
    for case in BAD_CASES {
        assert!(
            fixtures().join(format!("{case}.err")).exists(),
            "{case}.toml has no {case}.err"
        );
    }
}

#[test]
fn a_file_with_every_key_set_loads_each_value() {
    let config = load_fixture("every_key_set").unwrap();
    assert_eq!(config.service, "shop");

    let target = &config.target;
    assert_eq!(target.kind, TargetKind::Docker);
    assert_eq!(target.host.as_deref(), Some("ssh://deploy@app.example.com"));
    assert_eq!(target.network.as_deref(), Some("shop-net"));
    assert_eq!(target.port, 3000);
    assert_eq!(target.env_from_host, ["DATABASE_URL", "STRIPE_KEY"]);
    assert_eq!(target.env.len(), 2);
    assert_eq!(target.env["RUST_LOG"], "info");
    assert_eq!(target.env["MY VAR"], "with a space");
    assert_eq!(target.labels.len(), 1);
    assert_eq!(target.labels["com.example.team"], "payments");

    let router = &config.router;
    assert_eq!(router.kind, RouterKind::Nginx);
    assert_eq!(router.mode, RouterMode::Host);
    assert_eq!(router.image.as_deref(), Some("nginx:1.27-alpine"));
    assert_eq!(router.listen, "0.0.0.0:80");
    assert_eq!(router.url.as_deref(), Some("https://shop.example.com"));
    assert_eq!(router.admin_socket, "/var/run/haproxy.sock");
    assert_eq!(router.backend.as_deref(), Some("shop_backend"));
    assert_eq!(router.upstream_file, "/etc/nginx/conf.d/shop-upstream.conf");
    assert_eq!(router.reload_command, ["systemctl", "reload", "nginx"]);
    assert_eq!(router.slots, 12);

    let health = &config.health;
    assert!(!health.use_healthcheck);
    assert_eq!(health.path, "/healthz");
    assert_eq!(health.status, 204);
    assert_eq!(health.interval.get(), Duration::from_millis(250));
    assert_eq!(health.timeout.get(), Duration::from_secs(1));
    assert_eq!(health.successes, 3);
    assert_eq!(health.deadline.get(), Duration::from_secs(120));

    let deploy = &config.deploy;
    assert_eq!(deploy.strategy, Strategy::Rolling);
    assert_eq!(deploy.replicas, 3);
    assert_eq!(deploy.drain.get(), Duration::from_secs(5));
    assert_eq!(deploy.standby.get(), Duration::from_secs(30 * 60));
    assert_eq!(deploy.keep_releases, 10);
    assert_eq!(deploy.verify_requests, 5);
    assert_eq!(deploy.verify_path, "/ping");
    assert_eq!(deploy.stop_timeout.get(), Duration::from_secs(20));
}

/// With `replicas > 1` the rollout is rolling whatever `strategy` says, so asking for
/// blue-green as well is not a mistake.
#[test]
fn blue_green_with_several_replicas_loads() {
    let config = load_fixture("blue_green_with_several_replicas_loads").unwrap();
    assert_eq!(config.deploy.strategy, Strategy::BlueGreen);
    assert_eq!(config.deploy.replicas, 3);
}

#[test]
fn a_file_with_only_the_service_gets_the_documented_defaults() {
    let config = Config::parse(Path::new("deploy.toml"), "service = \"shop\"\n").unwrap();
    assert_eq!(config.target.kind, TargetKind::Docker);
    assert_eq!(config.target.port, 8080);
    assert_eq!(config.target.host, None);
    assert_eq!(config.router.kind, RouterKind::Haproxy);
    assert_eq!(config.router.mode, RouterMode::Container);
    assert_eq!(config.router.listen, "127.0.0.1:8000");
    assert_eq!(config.router.slots, 8);
    assert_eq!(config.router.reload_command, ["nginx", "-s", "reload"]);
    assert!(config.health.use_healthcheck);
    assert_eq!(config.health.path, "/health");
    assert_eq!(config.health.interval.get(), Duration::from_millis(500));
    assert_eq!(config.health.deadline.get(), Duration::from_secs(60));
    assert_eq!(config.deploy.strategy, Strategy::BlueGreen);
    assert_eq!(config.deploy.replicas, 1);
    assert_eq!(config.deploy.drain.get(), Duration::from_secs(2));
    assert_eq!(config.deploy.standby.get(), Duration::from_secs(15 * 60));
    assert_eq!(config.deploy.keep_releases, 5);
    assert_eq!(config.deploy.verify_path, "/");
}

#[test]
fn the_example_service_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello/deploy.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.service, "hello");
}

#[test]
fn an_error_carries_the_path_line_column_and_dotted_key() {
    let text = "service = \"shop\"\n\n[deploy]\ndrain = 5\n";
    let error = Config::parse(Path::new("ci/deploy.toml"), text).unwrap_err();
    let ConfigError::Invalid {
        path,
        line,
        column,
        key,
        message,
        help,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(path, Path::new("ci/deploy.toml"));
    assert_eq!((*line, *column), (4, 9));
    assert_eq!(key.as_deref(), Some("deploy.drain"));
    assert!(message.contains("`deploy.drain`"), "{message}");
    assert_eq!(
        help.as_deref(),
        Some("durations are strings with a unit: `drain = \"5s\"`")
    );
    assert!(
        error.to_string().starts_with("ci/deploy.toml:4:9: "),
        "{error}"
    );
}

/// A GitHub annotation carries the file, line and column itself; its text is the rest.
#[test]
fn without_location_is_the_message_and_help_alone() {
    let text = "service = \"shop\"\n\n[deploy]\ndrain = 5\n";
    let error = Config::parse(Path::new("ci/deploy.toml"), text).unwrap_err();
    assert_eq!(
        error.without_location(),
        "`deploy.drain` must be a duration string like `500ms`, `30s` or `5m`, found the integer 5\n  \
         help: durations are strings with a unit: `drain = \"5s\"`"
    );
    assert_eq!(
        error.to_string(),
        format!("ci/deploy.toml:4:9: {}", error.without_location())
    );

    let missing = Config::load(Path::new("no/such/deploy.toml")).unwrap_err();
    assert_eq!(missing.without_location(), missing.to_string());
}

#[test]
fn a_missing_file_names_the_path_tried_and_how_to_choose_another() {
    let error = Config::load(Path::new("no/such/deploy.toml")).unwrap_err();
    assert!(matches!(error, ConfigError::NotFound { .. }), "{error:?}");
    let shown = error.to_string();
    let absolute = Path::new(env!("CARGO_MANIFEST_DIR")).join("no/such/deploy.toml");
    let first_line = format!(
        "no/such/deploy.toml: no such file (looked for {})",
        absolute.display()
    );
    assert_eq!(shown.lines().next(), Some(first_line.as_str()));
    assert!(shown.contains("--config PATH"), "{shown}");
    assert!(shown.contains("DEPLOY_ACTION_CONFIG"), "{shown}");
}

#[test]
fn a_directory_is_an_unreadable_config() {
    let dir = tempfile::tempdir().unwrap();
    let error = Config::load(dir.path()).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: cannot read: ", dir.path().display())),
        "{error}"
    );
}

/// No input makes loading panic, and every failure is a positioned error.
#[test]
fn garbage_binary_and_empty_input_never_panic() {
    let good = std::fs::read_to_string(fixtures().join("every_key_set.toml")).unwrap();
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\n\n\n",
        "\u{feff}",
        "\0",
        "\0\0\0\u{1}\u{7f}",
        "=",
        "[",
        "[[",
        "]]",
        "[deploy]]",
        "service =",
        "service = \"",
        "service = '''",
        "service = \"\\u{D800}\"",
        "service = \"shop\"\n[deploy]\n[deploy]",
        "service = 1e999",
        "service = \"shop\"\ndeploy.replicas = 99999999999999999999999999999999999999999",
        "service = \"shop\"\ndeploy.replicas = 0x",
        "service = \"shop\"\nhealth.interval = \"99999999999999999999 years\"",
        "service = \"shop\"\nrouter.listen = \":\"",
        "service = \"shop\"\nrouter.url = \"http://[\"",
        "service = \"\u{1f680}\u{1f680}\"",
        "\"\u{1f680}\" = 1",
        "service = \"shop\"\ntarget.env.\"\u{1f680}\" = 1",
    ]
    .map(String::from)
    .to_vec();
    inputs.push(format!("a = {}{}", "[".repeat(10_000), "]".repeat(10_000)));
    inputs.push(format!("a = {}", "{ b = ".repeat(5_000)));
    inputs.push(format!("{}= 1", "a.".repeat(5_000)));
    inputs.push("x".repeat(1_000_000));
    // Every prefix of a good file: all the ways a file can be cut short.
    inputs.extend(good.char_indices().map(|(i, _)| good[..i].to_string()));
    // Seeded random text from the characters TOML cares about, and random Unicode.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet: Vec<char> = "[]{}=\"'.,#\n\\ abc019_-+:tfe\u{0}\u{7f}é"
        .chars()
        .collect();
    for _ in 0..2_000 {
        let len = (next() % 64) as usize;
        inputs.push(
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect(),
        );
        inputs.push(
            (0..len)
                .filter_map(|_| char::from_u32((next() % 0x11_0000) as u32))
                .collect(),
        );
    }

    for input in &inputs {
        if let Err(error) = Config::parse(Path::new("fuzz.toml"), input) {
            let ConfigError::Invalid { line, column, .. } = error else {
                panic!("{input:?}: {error:?}");
            };
            assert!(line >= 1 && column >= 1, "{input:?}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("fuzz.toml:{line}:{column}: ")),
                "{input:?}: {error}"
            );
        }
    }

    // Bytes that are not UTF-8 at all go through `load`.
    let dir = tempfile::tempdir().unwrap();
    for bytes in [
        &b"\xff\xfe\x00s\x00e"[..],
        b"service = \"\xc3\x28\"",
        b"\x80",
        &[0xde, 0xad, 0xbe, 0xef],
    ] {
        let path = dir.path().join("binary.toml");
        std::fs::write(&path, bytes).unwrap();
        let error = Config::load(&path).unwrap_err();
        assert!(
            matches!(error, ConfigError::Invalid { .. }),
            "{bytes:?}: {error:?}"
        );
    }
}
