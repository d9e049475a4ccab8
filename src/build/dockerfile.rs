//! Just enough of the Dockerfile for two jobs: point at the line of a failed step, and put
//! the image's labels in one `LABEL` instruction at the end of the stage being built.
//!
//! The classic builder turns each label passed to it into a step of its own, and each step
//! costs a container (about a second here): seven labels cost seven seconds. One `LABEL`
//! holding them all costs one step, so the Dockerfile the engine is told to use is the
//! user's with that line added (sent beside the context, the user's file untouched).

use std::collections::BTreeMap;

/// One instruction: the 1-based line it starts on, its keyword (upper case), and the rest of
/// its first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub line: usize,
    pub keyword: String,
    pub rest: String,
}

/// The escape character (`\`, or what a `# escape=` directive says) and the instructions.
pub fn parse(text: &str) -> (char, Vec<Instruction>) {
    let mut escape = '\\';
    let mut out = Vec::new();
    let mut continuing = false;
    let mut directives = true;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix('#') {
            // Parser directives come first: `# escape=`` ` changes the line continuation.
            if directives
                && let Some(value) = comment
                    .trim()
                    .to_ascii_lowercase()
                    .strip_prefix("escape")
                    .and_then(|r| r.trim().strip_prefix('='))
                    .map(|v| v.trim().to_string())
            {
                escape = value.chars().next().unwrap_or('\\');
            }
            continue;
        }
        directives = false;
        if trimmed.is_empty() {
            continue;
        }
        if !continuing {
            let (keyword, rest) = trimmed
                .split_once(char::is_whitespace)
                .unwrap_or((trimmed, ""));
            out.push(Instruction {
                line: index + 1,
                keyword: keyword.to_ascii_uppercase(),
                rest: rest.trim().to_string(),
            });
        }
        continuing = trimmed.ends_with(escape);
    }
    (escape, out)
}

/// The 1-based line each instruction starts on, with its keyword (upper case).
pub fn instructions(text: &str) -> Vec<(usize, String)> {
    parse(text)
        .1
        .into_iter()
        .map(|i| (i.line, i.keyword))
        .collect()
}

/// The line of step `n` (1-based), when the step's instruction is the `n`th one in the file.
pub fn step_line(text: &str, n: usize, keyword: &str) -> Option<usize> {
    instructions(text)
        .get(n.checked_sub(1)?)
        .filter(|(_, k)| k.eq_ignore_ascii_case(keyword))
        .map(|(line, _)| *line)
}

/// The Dockerfile with one `LABEL` instruction holding every label, at the end of the
/// `target` stage (the last stage without one). `None` when that cannot be done safely (a
/// label with a line break, a target stage not found): pass the labels to the engine then.
pub fn with_labels(
    text: &str,
    target: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> Option<String> {
    if labels.is_empty() {
        return Some(text.to_string());
    }
    if labels
        .iter()
        .any(|(k, v)| k.contains(['\n', '\r']) || v.contains(['\n', '\r']))
    {
        return None;
    }
    let (escape, instructions) = parse(text);
    let froms: Vec<&Instruction> = instructions
        .iter()
        .filter(|i| i.keyword == "FROM")
        .collect();
    // The line before which the LABEL goes; `None` is the end of the file.
    let before = match target {
        None => None,
        Some(target) => {
            let stage = froms.iter().position(|f| {
                stage_name(&f.rest).is_some_and(|n| n.eq_ignore_ascii_case(target))
            })?;
            froms.get(stage + 1).map(|next| next.line)
        }
    };
    let quote = |s: &str| {
        let mut q = String::from('"');
        for c in s.chars() {
            if c == '"' || c == '$' || c == escape {
                q.push(escape);
            }
            q.push(c);
        }
        q.push('"');
        q
    };
    let label = format!(
        "LABEL {}",
        labels
            .iter()
            .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut out = String::with_capacity(text.len() + label.len() + 2);
    match before {
        Some(line) => {
            for (index, l) in text.lines().enumerate() {
                if index + 1 == line {
                    out.push_str(&label);
                    out.push('\n');
                }
                out.push_str(l);
                out.push('\n');
            }
        }
        None => {
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&label);
            out.push('\n');
        }
    }
    Some(out)
}

/// `AS name` of a `FROM` line (`[--platform=…] image [AS name]`).
fn stage_name(rest: &str) -> Option<&str> {
    let words: Vec<&str> = rest
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    match words.as_slice() {
        [_, r#as, name, ..] if r#as.eq_ignore_ascii_case("as") => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_found_past_comments_blank_lines_and_continuations() {
        let text = "# syntax=docker/dockerfile:1\nFROM scratch AS base\n\n# note\nCOPY a \\\n  b /\nRUN x\n";
        assert_eq!(
            instructions(text),
            [(2, "FROM".into()), (5, "COPY".into()), (7, "RUN".into())]
        );
        assert_eq!(step_line(text, 2, "copy"), Some(5));
        assert_eq!(step_line(text, 2, "RUN"), None);
    }

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("a.b".to_string(), "x \"y\" $HOME".to_string()),
            ("c".to_string(), "1".to_string()),
        ])
    }

    #[test]
    fn labels_go_in_one_instruction_at_the_end_of_the_last_stage() {
        let out = with_labels("FROM scratch\nCOPY a /", None, &labels()).unwrap();
        assert_eq!(
            out,
            "FROM scratch\nCOPY a /\nLABEL \"a.b\"=\"x \\\"y\\\" \\$HOME\" \"c\"=\"1\"\n"
        );
    }

    #[test]
    fn labels_go_at_the_end_of_the_target_stage() {
        let text = "FROM scratch AS Build\nCOPY a /\n\n# next\nFROM --platform=linux/amd64 scratch as run\nCOPY b /\n";
        let out = with_labels(text, Some("build"), &labels()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[4],
            "LABEL \"a.b\"=\"x \\\"y\\\" \\$HOME\" \"c\"=\"1\""
        );
        assert_eq!(lines[5], "FROM --platform=linux/amd64 scratch as run");
        let out = with_labels(text, Some("run"), &labels()).unwrap();
        assert!(out.ends_with("COPY b /\nLABEL \"a.b\"=\"x \\\"y\\\" \\$HOME\" \"c\"=\"1\"\n"));
        assert_eq!(with_labels(text, Some("nope"), &labels()), None);
    }

    #[test]
    fn a_label_with_a_line_break_is_left_to_the_engine() {
        let l = BTreeMap::from([("k".to_string(), "a\nb".to_string())]);
        assert_eq!(with_labels("FROM scratch\n", None, &l), None);
    }

    #[test]
    fn the_escape_directive_escapes_label_values() {
        let l = BTreeMap::from([("k".to_string(), "$x\"".to_string())]);
        let out = with_labels("# escape=`\nFROM scratch\n", None, &l).unwrap();
        assert!(out.ends_with("LABEL \"k\"=\"`$x`\"\"\n"), "{out}");
    }

    #[test]
    fn an_escape_directive_changes_the_continuation_character() {
        let text = "# escape=`\nFROM scratch\nCOPY a `\n  b /\nCMD [\"x\"]\n";
        assert_eq!(step_line(text, 3, "CMD"), Some(5));
    }
}
