//! Dotted keys as TOML writes them (`deploy.drain`, `target.env."MY VAR"`,
//! `router.reload_command[0]`), and where a key is written in the parsed document.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// `deploy` + `drain` = `deploy.drain`; keys that are not bare get quotes.
pub(super) fn join(prefix: &str, name: &str) -> String {
    let name = toml_key(name);
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}.{name}")
    }
}

/// The key of item `index` of the array at `key`: `cmd` + 0 = `cmd[0]`.
pub(super) fn item(key: &str, index: usize) -> String {
    format!("{key}[{index}]")
}

/// A key as it must be written in TOML.
pub(super) fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// The last segment of a dotted key, as it is written in TOML (quoted if need be).
fn last_segment(key: &str) -> &str {
    // A quoted segment may hold dots: it starts after the last `."`.
    match key.rfind(".\"") {
        Some(i) => &key[i + 1..],
        None => key.rsplit('.').next().unwrap_or(key),
    }
}

/// `name = value` for the key, or just the value for an array item (`cmd[0]`).
pub(super) fn assign(key: &str, value: &str) -> String {
    if key.ends_with(']') {
        value.to_string()
    } else {
        format!("{} = {value}", last_segment(key))
    }
}

/// How a message names a table: `[deploy]`, or `` `jobs[0]` `` inside an array.
pub(super) fn table_label(path: &str) -> String {
    if path.contains('[') {
        format!("`{path}`")
    } else {
        format!("[{path}]")
    }
}

/// The dotted key whose key or value covers byte `offset`, the innermost one.
pub(super) fn key_at(table: &DeTable, prefix: &str, offset: usize) -> Option<String> {
    let covers = |span: Range<usize>| span.contains(&offset) || span.start == offset;
    table.iter().find_map(|(name, value)| {
        let key = join(prefix, name.get_ref());
        let inner = match value.get_ref() {
            DeValue::Table(table) => key_at(table, &key, offset),
            DeValue::Array(items) => {
                items
                    .iter()
                    .enumerate()
                    .find_map(|(i, element)| match element.get_ref() {
                        DeValue::Table(table) => key_at(table, &item(&key, i), offset),
                        _ => None,
                    })
            }
            _ => None,
        };
        inner.or_else(|| (covers(name.span()) || covers(value.span())).then_some(key))
    })
}

/// The span of the value at a dotted path of plain keys (`["deploy", "replicas"]`), if written.
pub(super) fn value_span(root: &DeTable, path: &[&str]) -> Option<Range<usize>> {
    let (last, tables) = path.split_last()?;
    let mut table = root;
    for name in tables {
        match table.get(*name)?.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => return None,
        }
    }
    table.get(*last).map(Spanned::span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_at_finds_the_innermost_key_covering_an_offset() {
        let text = "service = \"x\"\n[deploy]\ndrain = \"5s\"\n";
        let root = DeTable::parse(text).unwrap();
        let at = |needle: &str| key_at(root.get_ref(), "", text.find(needle).unwrap());
        assert_eq!(at("\"5s\"").as_deref(), Some("deploy.drain"));
        assert_eq!(at("drain").as_deref(), Some("deploy.drain"));
        assert_eq!(at("\"x\"").as_deref(), Some("service"));
    }

    #[test]
    fn keys_that_are_not_bare_are_quoted() {
        assert_eq!(join("target.env", "MY VAR"), "target.env.\"MY VAR\"");
        assert_eq!(last_segment("target.env.\"MY.VAR\""), "\"MY.VAR\"");
        assert_eq!(last_segment("deploy.drain"), "drain");
    }
}
