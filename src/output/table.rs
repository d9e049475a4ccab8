//! The release table, as text for a terminal and as Markdown for the step summary.

use crate::deploy::Release;

const HEADERS: [&str; 7] = [
    "RELEASE",
    "VERSION",
    "STATE",
    "IMAGE DIGEST",
    "DEPLOYED AT",
    "DEPLOYED BY",
    "RUN",
];

fn rows(releases: &[Release]) -> Vec<[String; 7]> {
    releases
        .iter()
        .map(|r| {
            [
                r.release.to_string(),
                r.version.clone(),
                r.state.to_string(),
                short_digest(&r.image_digest),
                r.deployed_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
                    .unwrap_or_default(),
                r.deployed_by.clone(),
                r.run_url.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", &hex[..hex.len().min(12)]),
        None => d.to_string(),
    }
}

pub fn text_releases(releases: &[Release]) -> String {
    let rows = rows(releases);
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(HEADERS.to_vec());
    for row in &rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    if rows.is_empty() {
        out.push_str("\n(no releases yet)");
    }
    out
}

pub fn markdown_releases(releases: &[Release]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        HEADERS.join(" | "),
        "---|".repeat(HEADERS.len())
    );
    for row in rows(releases) {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}
