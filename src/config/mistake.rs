//! What each shape problem says: the dotted key, what the schema expects and what the
//! file has, and help with the fix the user most likely meant (a close key, quotes to
//! add or remove, a unit, a table header).

use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use super::duration::ParseDurationError;
use super::expect::{Expect, ExpectTable, config_expect};
use super::key::{assign, join, table_label, toml_key};
use super::problem::Problem;
use super::suggest::{did_you_mean, list};

/// Top-level keys people write for the service's name.
const SERVICE_SYNONYMS: &[&str] = &["name", "app", "application", "service_name"];

/// A key that is not in `table`, the table at `path`.
pub(super) fn unknown_key(
    span: Range<usize>,
    key: &str,
    name: &str,
    is_table: bool,
    path: &str,
    table: &ExpectTable,
) -> Problem {
    let message = match (is_table, path.is_empty()) {
        (true, _) => format!("unknown table {}", table_label(key)),
        (false, true) => format!("unknown top-level key `{name}`"),
        (false, false) => format!("unknown key `{name}` in {}", table_label(path)),
    };
    let help = if let Some(close) = did_you_mean(name, table.fields) {
        if is_table {
            format!("did you mean {}?", table_label(&join(path, close)))
        } else {
            format!("did you mean `{close}`?")
        }
    } else if path.is_empty() && SERVICE_SYNONYMS.contains(&name) {
        // `name = "shop"` at the top names the service, not the lock that has a `name`.
        format!(
            "did you mean `service`? valid top-level keys: {}",
            list(table.fields)
        )
    } else if let Some(home) = config_expect().table_with_field(name) {
        if home.is_empty() {
            format!("`{name}` goes at the top of the file, above the first [table]")
        } else {
            format!("`{name}` belongs in {}", table_label(&home))
        }
    } else if path.is_empty() {
        format!("valid top-level keys: {}", list(table.fields))
    } else {
        format!(
            "valid keys in {}: {}",
            table_label(path),
            list(table.fields)
        )
    };
    Problem::new(span, Some(key), message).help(help)
}

/// Required key `name` of `table`, the table at `path`, is not written; reported at
/// `offset`, where the table starts.
pub(super) fn missing_key(
    offset: usize,
    path: &str,
    name: &'static str,
    table: &ExpectTable,
) -> Problem {
    let key = join(path, name);
    let example = table
        .children
        .get(name)
        .map_or_else(|| "…".to_string(), Expect::example);
    let place = if path.is_empty() {
        "above the first [table]".to_string()
    } else {
        format!("under {}", table_label(path))
    };
    Problem::new(
        offset..offset,
        Some(&key),
        format!("missing required key `{key}`"),
    )
    .help(format!("add `{} = {example}` {place}", toml_key(name)))
}

/// A value of the wrong type, or out of range.
pub(super) fn wrong_value(
    span: Range<usize>,
    key: &str,
    expect: &Expect,
    found: &DeValue,
) -> Problem {
    Problem::new(span, Some(key), must_be(key, expect, found)).maybe_help(hint(key, expect, found))
}

/// A string that does not parse as a duration, for `error`.
pub(super) fn bad_duration(
    span: Range<usize>,
    key: &str,
    expect: &Expect,
    text: &str,
    error: &ParseDurationError,
) -> Problem {
    let help = if error.lacks_unit() {
        format!(
            "add a unit: `{}`",
            assign(key, &format!("\"{}s\"", text.trim()))
        )
    } else {
        error.reason().to_string()
    };
    let found = DeValue::String(text.into());
    Problem::new(span, Some(key), must_be(key, expect, &found)).help(help)
}

fn must_be(key: &str, expect: &Expect, found: &DeValue) -> String {
    format!(
        "`{key}` must be {}, found {}",
        expect.describe(),
        describe_found(found)
    )
}

/// What the user most likely meant, for the common type mistakes.
fn hint(key: &str, expect: &Expect, found: &DeValue) -> Option<String> {
    match (expect, found) {
        (Expect::Duration { .. }, DeValue::Integer(_) | DeValue::Float(_)) => Some(format!(
            "durations are strings with a unit: `{}`",
            assign(key, &format!("\"{}s\"", scalar(found)?))
        )),
        (Expect::Integer { .. } | Expect::Float, DeValue::String(text))
            if text.trim().parse::<f64>().is_ok() =>
        {
            Some(format!(
                "numbers are written without quotes: `{}`",
                assign(key, text.trim())
            ))
        }
        (Expect::Bool, DeValue::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => {
                Some(format!("write `{}`, without quotes", assign(key, "true")))
            }
            "false" | "no" | "off" | "0" => {
                Some(format!("write `{}`, without quotes", assign(key, "false")))
            }
            _ => None,
        },
        (
            Expect::String | Expect::Parsed { .. } | Expect::Enum(_),
            DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_),
        ) => Some(format!(
            "strings need quotes: `{}`",
            assign(key, &format!("\"{}\"", scalar(found)?))
        )),
        (Expect::List(inner), DeValue::String(text)) if matches!(**inner, Expect::String) => {
            let items: Vec<String> = text
                .split_whitespace()
                .map(|word| format!("{word:?}"))
                .collect();
            Some(format!(
                "write an array: `{}`",
                assign(key, &format!("[{}]", items.join(", ")))
            ))
        }
        (Expect::Table(_) | Expect::Map(_), DeValue::Array(items)) if is_array_of_tables(items) => {
            Some(format!(
                "write the header once, as `[{key}]`, not `[[{key}]]`"
            ))
        }
        (Expect::Table(_) | Expect::Map(_), _) => Some(format!(
            "write it as a table: a `[{key}]` header with `key = value` lines under it"
        )),
        _ => None,
    }
}

fn scalar(value: &DeValue) -> Option<String> {
    match value {
        DeValue::Integer(n) => Some(n.to_string()),
        DeValue::Float(n) => Some(n.to_string()),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn is_array_of_tables(items: &[Spanned<DeValue>]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|item| matches!(item.get_ref(), DeValue::Table(_)))
}

fn describe_found(found: &DeValue) -> String {
    match found {
        DeValue::String(text) => {
            // Long values would push the message off one line.
            let shown: String = text.chars().take(60).collect();
            if shown.len() < text.len() {
                format!("{shown:?}…")
            } else {
                format!("{shown:?}")
            }
        }
        DeValue::Integer(n) => format!("the integer {n}"),
        DeValue::Float(n) => format!("the number {n}"),
        DeValue::Boolean(b) => format!("`{b}`"),
        DeValue::Datetime(d) => format!("the date-time {d}"),
        DeValue::Array(items) if is_array_of_tables(items) => "an array of tables".to_string(),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}
