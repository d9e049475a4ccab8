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
    let mut out = aligned(HEADERS, &rows);
    if rows.is_empty() {
        out.push_str("\n(no releases yet)");
    }
    out
}

/// A table for a terminal: a header line, then one line per row, each column as wide as
/// its widest cell, two spaces apart, no trailing spaces.
pub fn aligned<const N: usize>(headers: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = headers.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        cells
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&mut headers.into_iter());
    for row in rows {
        out.push('\n');
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

pub fn markdown_releases(releases: &[Release]) -> String {
    markdown_table(HEADERS, &rows(releases))
}

/// A Markdown table; `|` inside a cell is escaped and a line break becomes a space.
pub fn markdown_table<const N: usize>(headers: [&str; N], rows: &[[String; N]]) -> String {
    let mut out = format!("| {} |\n|{}\n", headers.join(" | "), "---|".repeat(N));
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| c.replace('|', "\\|").replace('\n', " "))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::aligned;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_without_trailing_spaces() {
        let rows = [
            ["1".to_string(), "serving".to_string(), String::new()],
            ["10".to_string(), "stopped".to_string(), "x".to_string()],
        ];
        assert_eq!(
            aligned(["N", "STATE", "RUN"], &rows),
            "N   STATE    RUN\n1   serving\n10  stopped  x"
        );
    }
}
