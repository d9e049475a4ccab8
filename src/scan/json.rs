//! The gate's JSON document (`--json`): the decision, the counts, and every finding that
//! fails, was ignored, or was fixed since the baseline.
//!
//! ```json
//! { "passed": false, "report": "trivy.json", "format": "trivy", "artifact": "shop:1.3",
//!   "baseline": "serving.json", "ignore_file": ".trivyignore",
//!   "policy": { "fail_on": ["CRITICAL", "HIGH"], "ignore_unfixed": false, "max": {} },
//!   "counts": { "CRITICAL": { "total": 2, "new": 1, "baseline": 1, "ignored": 0,
//!                            "unfixed": 0, "allowed": 0 }, … },
//!   "violations": [ { "severity": "CRITICAL", "count": 1, "allowed": 0 } ],
//!   "failing": [ { "id": "CVE-…", "severity": "CRITICAL", "package": "…", … } ],
//!   "ignores": [ { "id": "CVE-…", "statement": "…", "expires": "2025-06-30",
//!                 "expired": false, "matched": 1, "line": 3 } ],
//!   "ignored": [ { "finding": { … }, "ignore": "CVE-…" } ],
//!   "fixed_since_baseline": [ … ] }
//! ```

use serde_json::{Map, Value, json};

use super::gate::Standing;
use super::{Context, Outcome, Severity};

pub fn document(context: &Context<'_>, outcome: &Outcome<'_, '_>) -> Value {
    let mut counts = Map::new();
    for severity in Severity::ALL {
        counts.insert(severity.name().to_string(), json!(outcome.counts(severity)));
    }
    let entries = &context.ignores.entries;
    let ignores: Vec<Value> = entries
        .iter()
        .zip(&outcome.entries)
        .map(|(e, used)| {
            json!({
                "id": e.id,
                "statement": e.statement,
                "expires": e.expires.as_ref().map(|(s, _)| s),
                "expired": used.expired,
                "matched": used.matched,
                "line": e.line,
                "paths": e.paths.iter().map(|(p, _)| p).collect::<Vec<_>>(),
                "purls": e.purls.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ignored: Vec<Value> = outcome
        .judged
        .iter()
        .filter_map(|j| match j.standing {
            Standing::Ignored(i) => Some(json!({ "finding": j.finding, "ignore": entries[i].id })),
            _ => None,
        })
        .collect();
    let unfixed: Vec<Value> = outcome
        .judged
        .iter()
        .filter(|j| j.standing == Standing::Unfixed)
        .map(|j| json!(j.finding))
        .collect();
    let failing: Vec<Value> = outcome.failing().map(|j| json!(j.finding)).collect();
    json!({
        "passed": outcome.passed(),
        "report": context.report,
        "format": context.scanner,
        "artifact": context.artifact,
        "baseline": context.baseline,
        "ignore_file": context.ignore_file,
        "policy": context.policy,
        "counts": counts,
        "violations": outcome.violations,
        "failing": failing,
        "ignores": ignores,
        "ignored": ignored,
        "unfixed": unfixed,
        "fixed_since_baseline": outcome.fixed,
    })
}
