//! What a well-typed `deploy.toml` can still get wrong: values that parse but cannot work.
//! Each problem points at the value that has to change.

use std::net::IpAddr;
use std::ops::Range;

use toml::de::DeTable;

use super::key::value_span;
use super::problem::Problem;
use super::{Config, DeployConfig, HealthConfig};

/// Docker allows longer names, but the service prefixes container, network and router
/// backend names, which must stay readable and within Docker's limits with a suffix added.
const MAX_SERVICE_LEN: usize = 50;

/// The HTTP statuses a health probe can expect.
const HTTP_STATUSES: std::ops::RangeInclusive<u16> = 100..=599;

/// Every problem in `config`; `root` is the parsed file, to find where each key is written.
pub(super) fn validate(config: &Config, root: &DeTable) -> Vec<Problem> {
    let at = |path: &[&str]| value_span(root, path);
    // A default that breaks a rule can only do so because of another key that was written.
    let here = |path: &[&str]| at(path).unwrap_or(0..0);
    let mut problems = Vec::new();
    let mut problem = |span: Range<usize>, key: &str, message: String, help: Option<String>| {
        problems.push(Problem::new(span, Some(key), message).maybe_help(help));
    };

    if let Err((message, help)) = service_name(&config.service) {
        problem(here(&["service"]), "service", message, help);
    }

    let target = &config.target;
    if target.port == 0 {
        problem(
            here(&["target", "port"]),
            "target.port",
            "`target.port` must be a port from 1 to 65535, found 0".into(),
            None,
        );
    }

    let router = &config.router;
    if let Err(reason) = host_port(&router.listen) {
        problem(
            here(&["router", "listen"]),
            "router.listen",
            format!(
                "`router.listen` must be `host:port`, like `127.0.0.1:8000`, found {:?}",
                router.listen
            ),
            Some(reason),
        );
    }
    if let Some(url) = &router.url
        && let Err(reason) = http_url(url)
    {
        problem(
            here(&["router", "url"]),
            "router.url",
            format!("`router.url` must be an http:// or https:// URL, found {url:?}"),
            Some(reason),
        );
    }
    let replicas = config.deploy.replicas;
    let needed = 2 * u32::from(replicas);
    if router.slots < 2 {
        problem(
            here(&["router", "slots"]),
            "router.slots",
            format!("`router.slots` must be at least 2, found {}", router.slots),
            Some("a switch needs a slot for the release serving and one for the next".into()),
        );
    } else if u32::from(router.slots) < needed {
        // Point at whichever of the two keys was written; `slots` first, it is the one to raise.
        let (span, key, message) = match at(&["router", "slots"]) {
            Some(span) => (
                span,
                "router.slots",
                format!(
                    "`router.slots` is {}, too few for `deploy.replicas = {replicas}`",
                    router.slots
                ),
            ),
            None => (
                here(&["deploy", "replicas"]),
                "deploy.replicas",
                format!(
                    "`deploy.replicas = {replicas}` needs more `router.slots` than the default {}",
                    router.slots
                ),
            ),
        };
        problem(
            span,
            key,
            message,
            Some(format!(
                "a rolling deploy needs two slots per replica: set `slots = {needed}` or more in [router]"
            )),
        );
    }

    let health = &config.health;
    if !health.path.starts_with('/') {
        problem(
            here(&["health", "path"]),
            "health.path",
            format!("`health.path` must start with `/`, found {:?}", health.path),
            Some(format!("write `path = \"/{}\"`", health.path)),
        );
    }
    if !HTTP_STATUSES.contains(&health.status) {
        problem(
            here(&["health", "status"]),
            "health.status",
            format!(
                "`health.status` must be an HTTP status from {} to {}, found {}",
                HTTP_STATUSES.start(),
                HTTP_STATUSES.end(),
                health.status
            ),
            Some(format!(
                "the status a passing probe answers with, like `status = {}`",
                HealthConfig::default().status
            )),
        );
    }
    if health.successes == 0 {
        problem(
            here(&["health", "successes"]),
            "health.successes",
            "`health.successes` must be at least 1, found 0".into(),
            Some(
                "it counts the consecutive passing probes a release needs before it gets traffic"
                    .into(),
            ),
        );
    }

    let (health_defaults, deploy_defaults) = (HealthConfig::default(), DeployConfig::default());
    let above_zero = [
        (
            ["health", "interval"],
            health.interval,
            format!(
                "probing without a pause would flood the release; try `interval = \"{}\"`",
                health_defaults.interval
            ),
        ),
        (
            ["health", "timeout"],
            health.timeout,
            format!(
                "a probe with no time to answer always fails; try `timeout = \"{}\"`",
                health_defaults.timeout
            ),
        ),
        (
            ["health", "deadline"],
            health.deadline,
            format!(
                "it is the time a release has to become healthy; try `deadline = \"{}\"`",
                health_defaults.deadline
            ),
        ),
        (
            ["deploy", "stop_timeout"],
            config.deploy.stop_timeout,
            format!(
                "a container needs time to finish its requests after SIGTERM; try `stop_timeout = \"{}\"`",
                deploy_defaults.stop_timeout
            ),
        ),
    ];
    for (path, duration, help) in above_zero {
        if duration.get().is_zero() {
            let key = path.join(".");
            problem(
                here(&path),
                &key,
                format!("`{key}` must be more than 0"),
                Some(help),
            );
        }
    }
    let (interval, deadline) = (health.interval, health.deadline);
    if !interval.get().is_zero() && !deadline.get().is_zero() && deadline < interval {
        let why = "probes are `interval` apart, so the deadline passes before the second is due";
        // Point at `deadline` when it is written: it is the one to raise.
        let (span, key, message, fix) = match at(&["health", "deadline"]) {
            Some(span) => (
                span,
                "health.deadline",
                format!(
                    "`health.deadline` ({deadline}) is shorter than `health.interval` ({interval})"
                ),
                "raise `deadline` or lower `interval`".to_string(),
            ),
            None => (
                here(&["health", "interval"]),
                "health.interval",
                format!(
                    "`health.interval` ({interval}) is longer than the default `health.deadline` ({deadline})"
                ),
                format!("lower `interval`, or set `deadline = \"{interval}\"` or more in [health]"),
            ),
        };
        problem(span, key, message, Some(format!("{why}; {fix}")));
    }

    let verify_path = &config.deploy.verify_path;
    if !verify_path.starts_with('/') {
        problem(
            here(&["deploy", "verify_path"]),
            "deploy.verify_path",
            format!("`deploy.verify_path` must start with `/`, found {verify_path:?}"),
            Some(format!("write `verify_path = \"/{verify_path}\"`")),
        );
    }
    if replicas == 0 {
        problem(
            here(&["deploy", "replicas"]),
            "deploy.replicas",
            "`deploy.replicas` must be at least 1, found 0".into(),
            Some(
                "to stop a service, stop its containers; a deploy always runs at least one".into(),
            ),
        );
    }

    problems.extend(scan_table(config, root));
    problems.extend(gates(config, root));
    problems.extend(super::smoke::problems(&config.smoke, root));
    problems
}

/// `[lock]` and `[approval]`: names that become refs and files, repositories written as
/// `owner/name`, and an approval that someone can actually give.
fn gates(config: &Config, root: &DeTable) -> Vec<Problem> {
    use super::ApprovalBackendKind;

    let here = |path: &[&str]| value_span(root, path).unwrap_or(0..0);
    let mut problems = Vec::new();
    let repository = |problems: &mut Vec<Problem>, table: &str, value: &Option<String>| {
        if let Some(repo) = value
            && !is_repository(repo)
        {
            let key = format!("{table}.repository");
            problems.push(
                Problem::new(
                    here(&[table, "repository"]),
                    Some(&key),
                    format!("`{key}` must be `owner/name`, found {repo:?}"),
                )
                .help("like `acme/deploy-locks`, or leave it out to use `GITHUB_REPOSITORY`"),
            );
        }
    };
    if let Some(lock) = &config.lock {
        if let Some(name) = &lock.name
            && !is_lock_name(name)
        {
            problems.push(
                Problem::new(
                    here(&["lock", "name"]),
                    Some("lock.name"),
                    format!("`lock.name` {name:?} cannot name a lock file and a git branch"),
                )
                .help("use letters, digits, `-`, `_` and `.`, like `shop-production`"),
            );
        }
        if lock.ttl.get() < std::time::Duration::from_secs(1) {
            problems.push(Problem::new(
                here(&["lock", "ttl"]),
                Some("lock.ttl"),
                "`lock.ttl` must be at least 1s: a holder renews its lease well before it ends",
            ));
        }
        repository(&mut problems, "lock", &lock.repository);
    }
    if let Some(approval) = &config.approval {
        if approval.min_approvals == 0 {
            problems.push(
                Problem::new(
                    here(&["approval", "min_approvals"]),
                    Some("approval.min_approvals"),
                    "`approval.min_approvals` must be at least 1",
                )
                .help("to deploy without approval, leave out the `[approval]` table"),
            );
        }
        if approval.backend == ApprovalBackendKind::GithubIssue && approval.approvers.is_empty() {
            problems.push(
                Problem::new(
                    here(&["approval", "backend"]),
                    Some("approval.approvers"),
                    "`approval.backend = \"github-issue\"` needs `approval.approvers`",
                )
                .help("list users and teams, like `approvers = [\"alice\", \"acme/ops\"]`"),
            );
        }
        for (key, words) in [
            ("approve_words", &approval.approve_words),
            ("deny_words", &approval.deny_words),
        ] {
            if words.iter().all(|w| w.trim().is_empty()) {
                let key = format!("approval.{key}");
                problems.push(Problem::new(
                    here(&["approval", key.trim_start_matches("approval.")]),
                    Some(&key),
                    format!("`{key}` needs at least one word"),
                ));
            }
        }
        repository(&mut problems, "approval", &approval.repository);
    }
    problems
}

/// `owner/name` as GitHub allows them.
fn is_repository(repo: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    matches!(repo.split_once('/'), Some((owner, name)) if part(owner) && part(name))
}

/// A name that is safe as a file name and as the last part of a branch name.
pub(crate) fn is_lock_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `[scan]`: severities are written as Trivy writes them (`HIGH`), and an ignore file,
/// when named, has a name.
fn scan_table(config: &Config, root: &DeTable) -> Vec<Problem> {
    use toml::de::DeValue;

    use crate::scan::Severity;

    let Some(scan) = &config.scan else {
        return Vec::new();
    };
    let table = match root.get("scan").map(|v| v.get_ref()) {
        Some(DeValue::Table(table)) => Some(table),
        _ => None,
    };
    let mut problems = Vec::new();
    let severity_problem = |span: Range<usize>, key: String, written: &str| {
        let upper = written.to_ascii_uppercase();
        let help = match Severity::from_trivy(&upper) {
            Some(s) => format!("severities are upper case, as Trivy writes them: `{s}`"),
            None => format!(
                "one of {}",
                Severity::ALL.map(|s| format!("`{s}`")).join(", ")
            ),
        };
        Problem::new(
            span,
            Some(&key),
            format!("`{key}`: unknown severity {written:?}"),
        )
        .help(help)
    };

    let items = match table.and_then(|t| t.get("fail_on")).map(|v| v.get_ref()) {
        Some(DeValue::Array(items)) => Some(items),
        _ => None,
    };
    for (i, written) in scan.fail_on.iter().enumerate() {
        if Severity::from_trivy(written).is_none() {
            let span = items
                .and_then(|items| items.get(i))
                .map(|item| item.span())
                .or_else(|| value_span(root, &["scan", "fail_on"]))
                .unwrap_or(0..0);
            problems.push(severity_problem(
                span,
                format!("scan.fail_on[{i}]"),
                written,
            ));
        }
    }

    let max = match table.and_then(|t| t.get("max")).map(|v| v.get_ref()) {
        Some(DeValue::Table(max)) => Some(max),
        _ => None,
    };
    for written in scan.max.keys() {
        if Severity::from_trivy(written).is_none() {
            let span = max
                .and_then(|max| max.iter().find(|(k, _)| k.get_ref() == written))
                .map(|(k, _)| k.span())
                .unwrap_or(0..0);
            problems.push(severity_problem(
                span,
                format!("scan.max.{written}"),
                written,
            ));
        }
    }

    if scan
        .ignore_file
        .as_deref()
        .is_some_and(|f| f.trim().is_empty())
    {
        problems.push(
            Problem::new(
                value_span(root, &["scan", "ignore_file"]).unwrap_or(0..0),
                Some("scan.ignore_file"),
                "`scan.ignore_file` is empty",
            )
            .help("name a `.trivyignore` or `.trivyignore.yaml` file, or leave the key out"),
        );
    }
    problems
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most [`MAX_SERVICE_LEN`] characters.
fn service_name(name: &str) -> Result<(), (String, Option<String>)> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
    let Some(first) = name.chars().next() else {
        return Err((
            "`service` must not be empty".into(),
            Some("name the service, like `service = \"my-app\"`".into()),
        ));
    };
    let length = name.chars().count();
    if length > MAX_SERVICE_LEN {
        return Err((
            format!("`service` is {length} characters long; the limit is {MAX_SERVICE_LEN}"),
            Some("it prefixes the name of every container, network and router backend".into()),
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return Err((
            format!("`service` must start with a letter or a digit, found {name:?}"),
            None,
        ));
    }
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        let fixed: String = name
            .chars()
            .map(|c| if allowed(c) { c } else { '-' })
            .collect();
        return Err((
            format!(
                "`service` may only hold letters, digits, `_`, `.` and `-`, found {bad:?} in {name:?}"
            ),
            Some(format!(
                "it names Docker containers; try `service = {fixed:?}`"
            )),
        ));
    }
    Ok(())
}

/// `host:port` where host is an IP address (`[…]` for IPv6) or a DNS name.
/// The error says what is wrong with it.
fn host_port(listen: &str) -> Result<(), String> {
    let Some((host, port)) = listen.rsplit_once(':') else {
        return Err("it has no `:port`".into());
    };
    match port.parse::<u16>() {
        Ok(1..) => {}
        _ => return Err(format!("{port:?} is not a port from 1 to 65535")),
    }
    if let Some(ipv6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match ipv6.parse::<std::net::Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => Err(format!("{ipv6:?} is not an IPv6 address")),
        };
    }
    if host.contains(':') {
        return Err(format!(
            "write IPv6 addresses in brackets: `[{host}]:{port}`"
        ));
    }
    if host.is_empty() {
        return Err("the host is missing: `0.0.0.0` listens on every address, `127.0.0.1` on this machine only".into());
    }
    if host.parse::<IpAddr>().is_ok() || is_host_name(host) {
        Ok(())
    } else {
        Err(format!("{host:?} is neither an IP address nor a host name"))
    }
}

/// A DNS name: dot-separated labels of letters, digits and inner `-`.
fn is_host_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn http_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        Ok(parsed) => Err(format!(
            "the scheme is `{}`; the tool verifies switches over HTTP",
            parsed.scheme()
        )),
        Err(e) => Err(format!(
            "{e}; write a full URL like `http://app.example.com:8000`, or leave `url` out"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_follow_docker_rules() {
        for good in ["app", "my-app", "App_2.v1", "0day", &"a".repeat(50)] {
            assert_eq!(service_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-app",
            ".app",
            "my app",
            "app/x",
            "ápp",
            &"a".repeat(51),
        ] {
            assert!(service_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn listen_takes_an_ip_or_a_host_name_and_a_port() {
        for good in [
            "127.0.0.1:8000",
            "0.0.0.0:80",
            "[::1]:8000",
            "localhost:8000",
            "router.internal:443",
        ] {
            assert_eq!(host_port(good), Ok(()), "{good}");
        }
        for bad in [
            "127.0.0.1",
            ":8000",
            "::1:8000",
            "[::g]:80",
            "host:0",
            "host:99999",
            "host:http",
            "bad_host:80",
            "-x:80",
            "a..b:80",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_http_or_https() {
        assert_eq!(http_url("http://127.0.0.1:8000"), Ok(()));
        assert_eq!(http_url("https://app.example.com/"), Ok(()));
        assert!(http_url("ftp://example.com").is_err());
        assert!(http_url("example.com").is_err());
        assert!(http_url("").is_err());
    }
}
