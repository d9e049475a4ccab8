//! The step outputs each command writes to `$GITHUB_OUTPUT`: a contract with the actions in
//! `action.yml` and `actions/<command>/action.yml`, which are generated from this list and
//! declare exactly these (tests/action_map.rs holds the two together). Writing an output
//! that is not listed here for the running command is a bug, caught in debug builds by
//! [`crate::ci::set_outputs`].

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
                "How many findings are not in the baseline (all of them without one)",
            ),
            ("failing", "How many findings break the policy"),
            (
                "ignored",
                "How many findings the ignore file or the policy let through",
            ),
            ("fixed", "How many findings of the baseline are gone"),
            (
                "expired_ignores",
                "How many ignore entries are past their expiry date",
            ),
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
            ("passed", "How many checks passed"),
            ("failed", "How many checks failed or got no answer"),
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
            ("digest", "The digest of the image deployed"),
            (
                "release",
                "The release serving at the end (after a rollback, the old one)",
            ),
            ("version", "The version of the release"),
            ("url", "Where the service answers"),
            ("approvers", "Who approved, comma-separated logins"),
            ("annotation-id", "The Grafana region's id"),
            ("deployment-id", "The GitHub deployment's id"),
            ("outcome", "success, rolled-back or failed"),
        ],
    ),
];

const RELEASE: &[(&str, &str)] = &[
    ("release", "The number of the release serving now"),
    ("version", "The version of the release serving now"),
    ("digest", "The image digest of the release serving now"),
    ("url", "Where the service answers"),
];

/// The outputs `command` may write; empty for a command not listed.
pub fn of(command: &str) -> &'static [(&'static str, &'static str)] {
    OUTPUTS
        .iter()
        .find(|(name, _)| *name == command)
        .map_or(&[], |(_, outputs)| outputs)
}

/// Whether `command` declares output `name`.
pub fn declares(command: &str, name: &str) -> bool {
    of(command).iter().any(|(n, _)| *n == name)
}

static COMMAND: OnceLock<&'static str> = OnceLock::new();

/// Names the command this process runs, for the check in [`declared`].
pub fn set_command(name: &'static str) {
    let _ = COMMAND.set(name);
}

/// Whether the running command declares output `name` (always true when no command was named).
pub fn declared(name: &str) -> bool {
    COMMAND.get().is_none_or(|command| declares(command, name))
}

#[cfg(test)]
mod tests {
    use super::{OUTPUTS, declares, of};

    #[test]
    fn every_command_is_listed_once() {
        let mut names: Vec<&str> = OUTPUTS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn a_command_declares_only_its_own_outputs() {
        let deploy: Vec<&str> = of("deploy").iter().map(|(n, _)| *n).collect();
        assert_eq!(deploy, ["release", "version", "digest", "url"]);
        assert!(declares("smoke", "failed"));
        assert!(!declares("smoke", "digest"), "build's output, not smoke's");
        assert!(!declares("nonsense", "id"));
        assert!(of("nonsense").is_empty());
    }
}
