//! The step outputs each command writes to `$GITHUB_OUTPUT`: a contract with the actions in
//! `actions/<command>/action.yml`, which declare exactly these (a test holds the two
//! together). Writing an output that is not listed here is a bug, caught in debug builds.

use std::sync::OnceLock;

/// Every command, and the outputs it may write with what each holds.
pub const OUTPUTS: &[(&str, &[(&str, &str)])] = &[
    (
        "build",
        &[
            (
                "image",
                "The most specific reference the image was tagged with",
            ),
            (
                "digest",
                "The registry's manifest digest when pushed, else the image id",
            ),
            (
                "tags",
                "Every reference the image was tagged with, one per line",
            ),
            (
                "unchanged",
                "true when an image of the same context was reused",
            ),
        ],
    ),
    (
        "scan",
        &[
            ("passed", "true when no finding breaks the policy"),
            (
                "new",
                "Findings not in the baseline (all of them without one)",
            ),
            ("failing", "Findings that break the policy"),
            (
                "ignored",
                "Findings the ignore file or the policy let through",
            ),
            ("fixed", "Findings of the baseline that are gone"),
            ("expired_ignores", "Ignore entries past their expiry date"),
        ],
    ),
    (
        "lock",
        &[
            (
                "token",
                "The token that releases or renews the lock (acquire)",
            ),
            ("name", "The lock's name (acquire)"),
            (
                "expires-at",
                "When the lease ends unless renewed (acquire, renew)",
            ),
        ],
    ),
    (
        "approve",
        &[
            ("approvers", "Who approved, comma-separated logins"),
            ("issue-url", "The approval request issue (github-issue)"),
        ],
    ),
    ("deploy", RELEASE),
    ("rollback", RELEASE),
    ("releases", &[]),
    (
        "smoke",
        &[
            ("passed", "Checks that passed"),
            ("failed", "Checks that failed or got no answer"),
        ],
    ),
    (
        "annotate",
        &[
            ("id", "The Grafana annotation's id"),
            ("deployment-id", "The GitHub deployment's id"),
        ],
    ),
    (
        "run",
        &[
            ("image", "The image deployed"),
            ("digest", "Its digest"),
            (
                "release",
                "The release serving at the end (after a rollback, the old one)",
            ),
            ("version", "The version deployed"),
            ("url", "Where the service answers"),
            ("approvers", "Who approved, comma-separated logins"),
            ("annotation-id", "The Grafana region's id"),
            ("deployment-id", "The GitHub deployment's id"),
            ("outcome", "success, rolled-back or failed"),
        ],
    ),
];

const RELEASE: &[(&str, &str)] = &[
    ("release", "The release number serving now"),
    ("version", "Its version"),
    ("digest", "Its image digest"),
    ("url", "Where the service answers"),
];

/// The outputs `command` may write; empty for a command not listed.
pub fn of(command: &str) -> &'static [(&'static str, &'static str)] {
    OUTPUTS
        .iter()
        .find(|(name, _)| *name == command)
        .map_or(&[], |(_, outputs)| outputs)
}

static COMMAND: OnceLock<&'static str> = OnceLock::new();

/// Names the command this process runs, for the check in [`declared`].
pub fn set_command(name: &'static str) {
    let _ = COMMAND.set(name);
}

/// Whether the running command declares output `name` (always true when no command was named).
pub fn declared(name: &str) -> bool {
    COMMAND
        .get()
        .is_none_or(|command| of(command).iter().any(|(n, _)| *n == name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_is_listed_once() {
        let mut names: Vec<&str> = super::OUTPUTS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
        let deploy: Vec<&str> = super::of("deploy").iter().map(|(n, _)| *n).collect();
        assert_eq!(deploy, ["release", "version", "digest", "url"]);
        assert!(super::of("nonsense").is_empty());
    }
}
