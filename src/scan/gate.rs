//! The gate: each finding is ignored, unfixed, already in the baseline or new; the new
//! ones are counted per severity against the [`Policy`].

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Finding, Fix, Identity, IgnoreList, Policy, Report, Severity};

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "standing", content = "ignore")]
pub enum Standing {
    /// Matched by this (active) entry of the ignore file.
    Ignored(usize),
    /// No fixed version, and the policy ignores unfixed findings.
    Unfixed,
    /// Already in the baseline report.
    Baseline,
    /// Counted against the policy.
    New,
}

/// A finding and where it stands.
#[derive(Debug, Clone)]
pub struct Judged<'r, 'a> {
    pub finding: &'r Finding<'a>,
    pub standing: Standing,
    /// A counted finding of a severity whose limit is exceeded.
    pub failing: bool,
}

/// Findings per severity, by standing.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub total: u64,
    pub new: u64,
    pub baseline: u64,
    pub ignored: u64,
    pub unfixed: u64,
    /// The most new findings the policy allows; `None`: any number.
    pub allowed: Option<u64>,
}

/// A severity with more counted findings than the policy allows.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Violation {
    pub severity: Severity,
    pub count: u64,
    pub allowed: u64,
}

/// How one ignore entry was used.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EntryUse {
    /// Findings it ignored, or, once expired, would have ignored.
    pub matched: u64,
    pub expired: bool,
}

/// The gate's decision and everything it was made from.
#[derive(Debug)]
pub struct Outcome<'r, 'a> {
    pub judged: Vec<Judged<'r, 'a>>,
    /// Indexed like [`Severity::ALL`].
    pub counts: [Counts; 5],
    pub violations: Vec<Violation>,
    /// Indexed like the ignore list's entries.
    pub entries: Vec<EntryUse>,
    /// Baseline findings that are gone: fixed since the baseline.
    pub fixed: Vec<&'r Finding<'a>>,
    pub with_baseline: bool,
}

impl Outcome<'_, '_> {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn counts(&self, severity: Severity) -> &Counts {
        &self.counts[index(severity)]
    }

    pub fn failing(&self) -> impl Iterator<Item = &Judged<'_, '_>> {
        self.judged.iter().filter(|j| j.failing)
    }
}

fn index(severity: Severity) -> usize {
    Severity::ALL
        .iter()
        .position(|&s| s == severity)
        .unwrap_or(Severity::ALL.len() - 1)
}

/// Judges every finding of `report`.
pub fn evaluate<'r, 'a>(
    report: &'r Report<'a>,
    baseline: Option<&'r Report<'a>>,
    ignores: &IgnoreList,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Outcome<'r, 'a> {
    let known: Option<HashSet<Identity<'r>>> =
        baseline.map(|b| b.findings.iter().map(Finding::identity).collect());
    let mut entries = vec![
        EntryUse {
            matched: 0,
            expired: false,
        };
        ignores.entries.len()
    ];
    for (use_, entry) in entries.iter_mut().zip(&ignores.entries) {
        use_.expired = entry.expired(now);
    }
    // Ids with an entry, so most findings skip the entry list without a scan of it.
    let listed: HashSet<&str> = ignores.entries.iter().map(|e| e.id.as_str()).collect();

    let mut counts = [Counts::default(); 5];
    let mut judged = Vec::with_capacity(report.findings.len());
    for finding in &report.findings {
        let mut ignored = None;
        let named = listed.contains(finding.id.as_ref())
            || finding.aliases.iter().any(|a| listed.contains(a.as_ref()));
        if named {
            for (i, entry) in ignores.entries.iter().enumerate() {
                if entry.matches(finding) {
                    entries[i].matched += 1;
                    if !entries[i].expired {
                        ignored = Some(i);
                        break;
                    }
                }
            }
        }
        let standing = if let Some(i) = ignored {
            Standing::Ignored(i)
        } else if policy.ignore_unfixed && finding.fix == Fix::None {
            Standing::Unfixed
        } else if known
            .as_ref()
            .is_some_and(|k| k.contains(&finding.identity()))
        {
            Standing::Baseline
        } else {
            Standing::New
        };
        let c = &mut counts[index(finding.severity)];
        c.total += 1;
        match standing {
            Standing::Ignored(_) => c.ignored += 1,
            Standing::Unfixed => c.unfixed += 1,
            Standing::Baseline => c.baseline += 1,
            Standing::New => c.new += 1,
        }
        judged.push(Judged {
            finding,
            standing,
            failing: false,
        });
    }

    let mut violations = Vec::new();
    for (severity, c) in Severity::ALL.into_iter().zip(counts.iter_mut()) {
        c.allowed = policy.allowed(severity);
        if let Some(allowed) = c.allowed
            && c.new > allowed
        {
            violations.push(Violation {
                severity,
                count: c.new,
                allowed,
            });
        }
    }
    for j in &mut judged {
        j.failing = j.standing == Standing::New
            && violations.iter().any(|v| v.severity == j.finding.severity);
    }
    // Most severe first, then by id: the order a reader fixes them in.
    judged.sort_by(|a, b| {
        (a.finding.severity, &a.finding.id).cmp(&(b.finding.severity, &b.finding.id))
    });

    let fixed = match baseline {
        Some(b) => {
            let now_present: HashSet<Identity<'_>> =
                report.findings.iter().map(Finding::identity).collect();
            let mut seen = HashSet::new();
            let mut fixed: Vec<&Finding<'_>> = b
                .findings
                .iter()
                .filter(|f| !now_present.contains(&f.identity()) && seen.insert(f.identity()))
                .collect();
            fixed.sort_by(|a, b| (a.severity, &a.id).cmp(&(b.severity, &b.id)));
            fixed
        }
        None => Vec::new(),
    };

    Outcome {
        judged,
        counts,
        violations,
        entries,
        fixed,
        with_baseline: baseline.is_some(),
    }
}
