//! [`Policy`]: which findings fail the gate.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Severity;

/// What the gate tolerates. A severity in `fail_on` fails at its first counted finding;
/// a severity with a `max` fails once its counted findings exceed that number, whether
/// or not it is in `fail_on` (so `max` loosens `fail_on` for its severity); any other
/// severity never fails.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub fail_on: BTreeSet<Severity>,
    pub ignore_unfixed: bool,
    pub max: BTreeMap<Severity, u64>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_on: [Severity::Critical, Severity::High].into(),
            ignore_unfixed: false,
            max: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// How many counted findings of `severity` pass; `None` means any number.
    pub fn allowed(&self, severity: Severity) -> Option<u64> {
        self.max
            .get(&severity)
            .copied()
            .or_else(|| self.fail_on.contains(&severity).then_some(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_loosens_fail_on_and_adds_limits_elsewhere() {
        let policy = Policy {
            fail_on: [Severity::Critical, Severity::High].into(),
            ignore_unfixed: false,
            max: [(Severity::High, 3), (Severity::Medium, 10)].into(),
        };
        assert_eq!(policy.allowed(Severity::Critical), Some(0));
        assert_eq!(policy.allowed(Severity::High), Some(3));
        assert_eq!(policy.allowed(Severity::Medium), Some(10));
        assert_eq!(policy.allowed(Severity::Low), None);
    }
}
