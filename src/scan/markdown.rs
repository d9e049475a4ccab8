//! The gate's Markdown summary, for `$GITHUB_STEP_SUMMARY` or a terminal:
//!
//! ```markdown
//! ### ❌ Scan gate failed
//! 2 new findings fail the gate: 1 CRITICAL (none allowed), 1 HIGH (none allowed).
//!
//! | Severity | Found | New | Baseline | Ignored | Allowed |
//! |---|--:|--:|--:|--:|--:|
//! | CRITICAL | 2 | 1 | 1 | 0 | 0 |
//! …
//! #### Failing findings (2)
//! | Severity | Vulnerability | Package | Installed | Fixed in | Target |
//! ```
//!
//! then expired ignores, applied ignores, and findings fixed since the baseline.

use std::fmt::Write;

use super::gate::Standing;
use super::ignore::statement;
use super::{Context, Finding, Outcome, Severity};

/// Most rows in one table: a step summary is limited to 1 MiB, and the JSON document
/// has every row.
const MAX_ROWS: usize = 50;

/// Longest cell text; titles and paths can be long.
const MAX_CELL: usize = 80;

pub fn markdown(context: &Context<'_>, outcome: &Outcome<'_, '_>) -> String {
    let mut md = String::new();
    let baseline = outcome.with_baseline;
    let unfixed = context.policy.ignore_unfixed;
    let new = if baseline { "new" } else { "counted" };

    if outcome.passed() {
        let _ = writeln!(md, "### ✅ Scan gate passed\n");
        let _ = writeln!(md, "No {new} finding breaks the policy.\n");
    } else {
        let failing = outcome.violations.iter().map(|v| v.count).sum::<u64>();
        let parts: Vec<String> = outcome
            .violations
            .iter()
            .map(|v| match v.allowed {
                0 => format!("{} {} (none allowed)", v.count, v.severity),
                n => format!("{} {} (at most {n} allowed)", v.count, v.severity),
            })
            .collect();
        let _ = writeln!(md, "### ❌ Scan gate failed\n");
        let _ = writeln!(
            md,
            "{failing} {new} finding{} the gate: {}.\n",
            if failing == 1 { " fails" } else { "s fail" },
            parts.join(", ")
        );
    }

    let mut about = format!("Report `{}` ({}", cell(context.report), context.scanner);
    if let Some(a) = context.artifact.filter(|a| !a.is_empty()) {
        let _ = write!(about, ", `{}`", cell(a));
    }
    about.push(')');
    if let Some(b) = context.baseline {
        let _ = write!(about, " · baseline `{}`", cell(b));
    }
    if let Some(i) = context.ignore_file {
        let _ = write!(about, " · ignore file `{}`", cell(i));
    }
    let _ = writeln!(md, "{about}\n");

    // Counts by severity.
    let mut head = vec![
        "Severity",
        "Found",
        if baseline { "New" } else { "Counted" },
    ];
    if baseline {
        head.push("Baseline");
    }
    head.push("Ignored");
    if unfixed {
        head.push("Unfixed");
    }
    head.push("Allowed");
    let _ = writeln!(md, "| {} |", head.join(" | "));
    let _ = writeln!(md, "|---|{}", "--:|".repeat(head.len() - 1));
    for severity in Severity::ALL {
        let c = outcome.counts(severity);
        let violated = outcome.violations.iter().any(|v| v.severity == severity);
        let mut row = vec![
            severity.name().to_string(),
            c.total.to_string(),
            if violated {
                format!("**{}**", c.new)
            } else {
                c.new.to_string()
            },
        ];
        if baseline {
            row.push(c.baseline.to_string());
        }
        row.push(c.ignored.to_string());
        if unfixed {
            row.push(c.unfixed.to_string());
        }
        row.push(c.allowed.map_or("any".to_string(), |n| n.to_string()));
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }

    let failing: Vec<&Finding<'_>> = outcome.failing().map(|j| j.finding).collect();
    if !failing.is_empty() {
        let _ = writeln!(md, "\n#### Failing findings ({})\n", failing.len());
        findings_table(&mut md, &failing, true);
    }

    let entries = &context.ignores.entries;
    let expired: Vec<usize> = (0..entries.len())
        .filter(|&i| outcome.entries[i].expired)
        .collect();
    if !expired.is_empty() {
        let _ = writeln!(md, "\n#### ⚠️ Expired ignores ({})\n", expired.len());
        let _ = writeln!(
            md,
            "These entries no longer apply: their findings count again.\n"
        );
        let _ = writeln!(md, "| Vulnerability | Expired on | Statement | Findings |");
        let _ = writeln!(md, "|---|---|---|--:|");
        for &i in expired.iter().take(MAX_ROWS) {
            let e = &entries[i];
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&e.id),
                cell(e.expires.as_ref().map_or("", |(s, _)| s)),
                cell(&statement(e)),
                outcome.entries[i].matched
            );
        }
        more(&mut md, expired.len());
    }

    let applied: Vec<usize> = (0..entries.len())
        .filter(|&i| !outcome.entries[i].expired && outcome.entries[i].matched > 0)
        .collect();
    if !applied.is_empty() {
        let total: u64 = applied.iter().map(|&i| outcome.entries[i].matched).sum();
        let _ = writeln!(
            md,
            "\n#### Ignored ({total} finding{} by {} entr{})\n",
            plural(total),
            applied.len(),
            if applied.len() == 1 { "y" } else { "ies" }
        );
        let _ = writeln!(md, "| Vulnerability | Findings | Statement | Expires |");
        let _ = writeln!(md, "|---|--:|---|---|");
        for &i in applied.iter().take(MAX_ROWS) {
            let e = &entries[i];
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&e.id),
                outcome.entries[i].matched,
                cell(&statement(e)),
                e.expires
                    .as_ref()
                    .map_or("never".to_string(), |(s, _)| cell(s))
            );
        }
        more(&mut md, applied.len());
    }
    let unused: Vec<&str> = (0..entries.len())
        .filter(|&i| outcome.entries[i].matched == 0)
        .map(|i| entries[i].id.as_str())
        .collect();
    if !unused.is_empty() {
        let shown: Vec<String> = unused
            .iter()
            .take(MAX_ROWS)
            .map(|id| format!("`{}`", cell(id)))
            .collect();
        let _ = writeln!(
            md,
            "\nIgnore entries that matched nothing: {}{}",
            shown.join(", "),
            if unused.len() > MAX_ROWS { ", …" } else { "" }
        );
    }

    let unfixed_count: usize = outcome
        .judged
        .iter()
        .filter(|j| j.standing == Standing::Unfixed)
        .count();
    if unfixed_count > 0 {
        let _ = writeln!(
            md,
            "\n{unfixed_count} finding{} without a fixed version {} not counted (`ignore_unfixed`).",
            plural(unfixed_count as u64),
            if unfixed_count == 1 { "is" } else { "are" }
        );
    }

    if !outcome.fixed.is_empty() {
        let _ = writeln!(
            md,
            "\n#### 🎉 Fixed since the baseline ({})\n",
            outcome.fixed.len()
        );
        findings_table(&mut md, &outcome.fixed, false);
    }
    md
}

fn findings_table(md: &mut String, findings: &[&Finding<'_>], with_fix: bool) {
    if with_fix {
        let _ = writeln!(
            md,
            "| Severity | Vulnerability | Package | Installed | Fixed in | Target |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|");
    } else {
        let _ = writeln!(
            md,
            "| Severity | Vulnerability | Package | Installed | Target |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|");
    }
    for f in findings.iter().take(MAX_ROWS) {
        let id = match f.url.as_deref().filter(|u| is_web_link(u)) {
            Some(url) => format!("[{}]({})", cell(&f.id), link(url)),
            None => cell(&f.id),
        };
        let id = match f.title.as_deref() {
            Some(title) => format!("{id}<br>{}", cell(title)),
            None => id,
        };
        let fix = match f.fix.version() {
            Some(v) => cell(v),
            None if f.fix == super::Fix::None => "no fix yet".to_string(),
            None => "unknown".to_string(),
        };
        let mut row = vec![
            f.severity.name().to_string(),
            id,
            cell(&f.package),
            cell(&f.installed),
        ];
        if with_fix {
            row.push(fix);
        }
        row.push(cell(&f.target));
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    more(md, findings.len());
}

fn more(md: &mut String, rows: usize) {
    if rows > MAX_ROWS {
        let _ = writeln!(
            md,
            "\n…and {} more: the JSON document (`--json`) lists every one.",
            rows - MAX_ROWS
        );
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Text made safe for a table cell: one line, no `|` or HTML, at most [`MAX_CELL`]
/// characters.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_CELL + 8));
    for (n, c) in s.chars().enumerate() {
        if n == MAX_CELL {
            out.push('…');
            break;
        }
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\''),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn is_web_link(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A URL safe inside `(…)` of a Markdown link.
fn link(url: &str) -> String {
    url.replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a|b\nc<script>"), "a\\|b c&lt;script&gt;");
        assert_eq!(cell(&"x".repeat(200)).chars().count(), MAX_CELL + 1);
    }

    #[test]
    fn only_web_links_become_links() {
        assert!(is_web_link("https://avd.aquasec.com/nvd/cve-2024-1"));
        assert!(!is_web_link("javascript:alert(1)"));
        assert_eq!(link("https://x/(a)"), "https://x/%28a%29");
    }
}
