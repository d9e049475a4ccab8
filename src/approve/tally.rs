//! Counting an approval request's comments: who may decide, which comments count, and
//! what they decide. Pure, so every rule is tested here.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

/// One issue comment, as the API lists it.
#[derive(Debug, Clone)]
pub struct Comment {
    pub login: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The rules of one request.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Logins (lower case) whose comments count: users and the members of teams.
    pub approvers: BTreeSet<String>,
    pub min_approvals: u32,
    /// The initiator, when they may not approve their own release.
    pub excluded: Option<String>,
    pub approve_words: Vec<String>,
    pub deny_words: Vec<String>,
    /// When the request was made: earlier comments do not count.
    pub since: DateTime<Utc>,
    /// The token's own login: what the tool itself writes never counts.
    pub own_login: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pending { approvals: Vec<String> },
    Approved { approvers: Vec<String> },
    Denied { by: String, comment: String },
}

/// A comment that was not counted, and why (reported once to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub login: String,
    pub reason: &'static str,
}

/// The decision the comments make, in the order they were written. A denial by an
/// approver denies, whatever else was said.
pub fn tally(comments: &[Comment], rules: &Rules) -> (Verdict, Vec<Ignored>) {
    let mut approvals: Vec<String> = Vec::new();
    let mut ignored = Vec::new();
    let mut sorted: Vec<&Comment> = comments.iter().collect();
    sorted.sort_by_key(|c| c.created_at);
    for c in sorted {
        let login = c.login.to_lowercase();
        if login == rules.own_login.to_lowercase() {
            continue;
        }
        let Some(word) = decision_word(&c.body, rules) else {
            continue;
        };
        let reason = if c.created_at < rules.since {
            Some("written before the request")
        } else if c.updated_at != c.created_at {
            Some("edited after it was written")
        } else if !rules.approvers.contains(&login) {
            Some("not an approver")
        } else if rules.excluded.as_deref().map(str::to_lowercase) == Some(login.clone()) {
            Some("started this run, and may not approve it")
        } else {
            None
        };
        if let Some(reason) = reason {
            ignored.push(Ignored {
                login: c.login.clone(),
                reason,
            });
            continue;
        }
        match word {
            Word::Deny => {
                return (
                    Verdict::Denied {
                        by: c.login.clone(),
                        comment: c.body.trim().to_string(),
                    },
                    ignored,
                );
            }
            Word::Approve => {
                if !approvals.iter().any(|a| a.eq_ignore_ascii_case(&c.login)) {
                    approvals.push(c.login.clone());
                }
            }
        }
    }
    if approvals.len() as u32 >= rules.min_approvals {
        (
            Verdict::Approved {
                approvers: approvals,
            },
            ignored,
        )
    } else {
        (Verdict::Pending { approvals }, ignored)
    }
}

enum Word {
    Approve,
    Deny,
}

/// The comment's first word, when it is an approve or deny word: `Approved!`,
/// `/approve ship it`, `LGTM.`.
fn decision_word(body: &str, rules: &Rules) -> Option<Word> {
    let first = body.split_whitespace().next()?;
    let word = first
        .trim_end_matches(|c: char| ".,!:;".contains(c))
        .to_lowercase();
    let is = |words: &[String]| words.iter().any(|w| w.trim().to_lowercase() == word);
    if is(&rules.deny_words) {
        Some(Word::Deny)
    } else if is(&rules.approve_words) {
        Some(Word::Approve)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn rules(min: u32) -> Rules {
        Rules {
            approvers: ["alice", "bob", "carol"].map(String::from).into(),
            min_approvals: min,
            excluded: None,
            approve_words: vec!["approve".into(), "lgtm".into()],
            deny_words: vec!["deny".into()],
            since: t(0),
            own_login: "github-actions[bot]".into(),
        }
    }

    fn c(login: &str, body: &str, at: i64) -> Comment {
        Comment {
            login: login.into(),
            body: body.into(),
            created_at: t(at),
            updated_at: t(at),
        }
    }

    #[test]
    fn one_approval_from_an_approver_approves() {
        let (v, ignored) = tally(&[c("Alice", "Approve!", 5)], &rules(1));
        assert_eq!(
            v,
            Verdict::Approved {
                approvers: vec!["Alice".into()]
            }
        );
        assert!(ignored.is_empty());
    }

    #[test]
    fn only_approvers_after_the_request_with_unedited_comments_count() {
        let mut edited = c("bob", "approve", 5);
        edited.updated_at = t(9);
        let comments = [
            c("mallory", "approve", 5),
            c("carol", "approve", -5),
            edited,
            c("github-actions[bot]", "approve", 6),
        ];
        let (v, ignored) = tally(&comments, &rules(1));
        assert_eq!(v, Verdict::Pending { approvals: vec![] });
        let reasons: Vec<&str> = ignored.iter().map(|i| i.reason).collect();
        assert_eq!(
            reasons,
            [
                "written before the request",
                "not an approver",
                "edited after it was written"
            ]
        );
    }

    #[test]
    fn two_approvals_are_two_people_and_one_denial_denies() {
        let twice = [c("alice", "approve", 1), c("alice", "LGTM", 2)];
        assert!(matches!(
            tally(&twice, &rules(2)).0,
            Verdict::Pending { .. }
        ));
        let two = [c("alice", "approve", 1), c("bob", "lgtm.", 2)];
        assert!(matches!(tally(&two, &rules(2)).0, Verdict::Approved { .. }));
        let denied = [
            c("alice", "approve", 1),
            c("carol", "deny: not today", 2),
            c("bob", "approve", 3),
        ];
        assert_eq!(
            tally(&denied, &rules(2)).0,
            Verdict::Denied {
                by: "carol".into(),
                comment: "deny: not today".into()
            }
        );
    }

    #[test]
    fn the_initiator_can_be_excluded_and_other_words_are_chatter() {
        let mut r = rules(1);
        r.excluded = Some("ALICE".into());
        let comments = [c("alice", "approve", 1), c("bob", "I approve of this", 2)];
        let (v, ignored) = tally(&comments, &r);
        assert_eq!(v, Verdict::Pending { approvals: vec![] });
        assert_eq!(
            ignored[0].reason,
            "started this run, and may not approve it"
        );
    }
}
