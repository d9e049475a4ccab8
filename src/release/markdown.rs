//! The release summary for `$GITHUB_STEP_SUMMARY`.

use super::{Summary, duration};
use crate::output::{markdown_releases, markdown_table};

/// ```markdown
/// ### hello v2 to production: success
///
/// | Step | Outcome | Duration | Detail |
/// |---|---|---|---|
/// | build | passed | 1.2 s | hello:v2 |
/// …
/// ```
/// then the image and digest, the approvers, the scan counts, the smoke table, the links
/// to the annotation and the deployment, and the release table.
pub fn markdown(s: &Summary) -> String {
    let mut out = format!(
        "### {}{} to {}: {}\n\n",
        s.service,
        s.version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        s.environment,
        s.outcome.word()
    );
    if let Some(error) = &s.error {
        out.push_str(&format!("> {}\n\n", error.replace('\n', " ")));
    }
    let rows: Vec<[String; 4]> = s
        .steps
        .iter()
        .map(|step| {
            [
                step.name.to_string(),
                step.outcome.word().to_string(),
                duration(step.duration_ms),
                step.detail.clone(),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        ["Step", "Outcome", "Duration", "Detail"],
        &rows,
    ));
    out.push_str(&format!("\nTotal: {}\n\n", duration(s.duration_ms)));

    let mut facts: Vec<[String; 2]> = Vec::new();
    if let Some(image) = &s.image {
        facts.push(["Image".into(), format!("`{image}`")]);
    }
    if let Some(digest) = &s.digest {
        facts.push(["Digest".into(), format!("`{digest}`")]);
    }
    if let (Some(release), Some(url)) = (s.release, &s.url) {
        facts.push(["Release".into(), format!("{release} at {url}")]);
    }
    if !s.approvers.is_empty() || s.approval_url.is_some() {
        let who: Vec<String> = s.approvers.iter().map(|a| format!("@{a}")).collect();
        let mut cell = who.join(", ");
        if let Some(url) = &s.approval_url {
            cell.push_str(&format!(" ([request]({url}))"));
        }
        facts.push(["Approved by".into(), cell.trim().to_string()]);
    }
    if let Some(scan) = &s.scan {
        let count = |k: &str| {
            scan.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("0")
                .to_string()
        };
        facts.push([
            "Scan".into(),
            format!(
                "{} new, {} failing, {} ignored, {} fixed",
                count("new"),
                count("failing"),
                count("ignored"),
                count("fixed")
            ),
        ]);
    }
    if let Some(a) = &s.annotation {
        facts.push(["Grafana annotation".into(), link(a.id, a.url.as_deref())]);
    }
    if let Some(d) = &s.deployment {
        facts.push(["GitHub deployment".into(), link(d.id, d.url.as_deref())]);
    }
    if let Some(lock) = &s.lock {
        facts.push(["Lock".into(), lock.clone()]);
    }
    if !facts.is_empty() {
        out.push_str(&markdown_table(["", ""], &facts));
        out.push('\n');
    }
    if let Some(smoke) = &s.smoke_markdown {
        out.push_str("#### Smoke checks\n\n");
        out.push_str(smoke);
        out.push('\n');
    }
    if !s.releases.is_empty() {
        out.push_str(&format!("#### {} releases\n\n", s.service));
        out.push_str(&markdown_releases(&s.releases));
    }
    out
}

fn link(id: u64, url: Option<&str>) -> String {
    match url {
        Some(url) => format!("[{id}]({url})"),
        None => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::release::{Link, Outcome};

    #[test]
    fn the_summary_has_the_steps_the_facts_and_the_links() {
        let mut s = Summary::new("hello", "production");
        s.version = Some("v2".into());
        s.image = Some("hello:v2".into());
        s.digest = Some("sha256:abc".into());
        s.approvers = vec!["alice".into()];
        s.approval_url = Some("https://github.example/o/r/issues/7".into());
        s.deployment = Some(Link {
            id: 4,
            url: Some("https://github.example/o/r/deployments/production".into()),
        });
        s.ran("build", Instant::now(), true, "hello:v2 | built".into());
        s.close(&["build", "deploy"], Outcome::Success, None);
        let md = markdown(&s);
        assert!(
            md.starts_with("### hello v2 to production: success\n"),
            "{md}"
        );
        assert!(md.contains("| build | passed |"), "{md}");
        assert!(md.contains("hello:v2 \\| built"), "{md}");
        assert!(md.contains("| deploy | not run |"), "{md}");
        assert!(
            md.contains("@alice ([request](https://github.example/o/r/issues/7))"),
            "{md}"
        );
        assert!(
            md.contains("[4](https://github.example/o/r/deployments/production)"),
            "{md}"
        );
    }
}
