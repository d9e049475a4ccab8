//! Reading `deploy.toml` into a [`Config`], with positions on every error.
//!
//! Loading goes through four checks and stops at the first that finds something wrong,
//! reporting the earliest problem in the file:
//!
//! 1. TOML syntax. [`DeTable`] keeps the byte span of every key and value.
//! 2. Shape: every key is known and every value has the type the schema asks for.
//!    What the schema asks for is read from the serde types in `schema.rs` themselves
//!    ([`Expect::of`]), so that file stays the one description of `deploy.toml`.
//! 3. serde builds the [`Config`] and fills in defaults. After step 2 it should not
//!    fail; if it does, its own message is reported at its span.
//! 4. Meaning: [`validate`](super::validate::validate) (ports, names, slots…).

use std::io::ErrorKind;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use self::expect::{Expect, ExpectTable};
use super::error::Problem;
use super::suggest::{did_you_mean, list, one_of};
use super::{Config, ConfigError, Duration};

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            ErrorKind::NotFound => ConfigError::NotFound {
                path: path.to_path_buf(),
                tried: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            },
            _ => ConfigError::Read {
                path: path.to_path_buf(),
                source,
            },
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => Self::parse(path, &text),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes());
                let byte = e.as_bytes()[valid];
                let problem = Problem::new(
                    valid..valid,
                    None,
                    format!("not UTF-8 text: byte 0x{byte:02x} does not start a character"),
                )
                .help("save the file as UTF-8");
                Err(problem.at(path, &text))
            }
        }
    }

    /// Parses and validates config text; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        parse(text).map_err(|problem| problem.at(path, text))
    }
}

fn parse(text: &str) -> Result<Config, Problem> {
    let root = DeTable::parse(text).map_err(|e| syntax_problem(text, &e))?;

    let mut problems = Vec::new();
    check_table(root.get_ref(), config_expect(), "", &mut problems);
    earliest(problems)?;
    // Only now: a missing key is often the other side of a misspelt or misplaced one,
    // and that one is the problem to show.
    let mut problems = Vec::new();
    check_required(root.get_ref(), 0..0, config_expect(), "", &mut problems);
    earliest(problems)?;

    let config = Config::deserialize(toml::de::Deserializer::from(root.clone()))
        .map_err(|e| serde_problem(&e, root.get_ref()))?;

    earliest(super::validate::validate(&config, root.get_ref()))?;
    Ok(config)
}

/// The problem that comes first in the file, as an error; `Ok` when there is none.
fn earliest(problems: Vec<Problem>) -> Result<(), Problem> {
    // `min_by_key` keeps the first of equals, so order of discovery breaks ties.
    match problems.into_iter().min_by_key(|p| p.span.start) {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// What `Config` asks for, read once from its serde implementation.
fn config_expect() -> &'static ExpectTable {
    static EXPECT: OnceLock<ExpectTable> = OnceLock::new();
    EXPECT.get_or_init(|| match Expect::of::<Config>() {
        Expect::Table(table) => table,
        // `Config` is a struct; this is only here so a change to that cannot panic.
        _ => ExpectTable::default(),
    })
}

fn syntax_problem(text: &str, error: &toml::de::Error) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let start = span.start;
    // The text the parser stopped at, when it is a short token worth quoting back.
    let token = text
        .get(span.clone())
        .filter(|t| !t.trim().is_empty() && t.len() <= 40 && !t.contains('\n'));
    let message = match token {
        Some(token) => format!("invalid TOML at `{token}`: {}", error.message()),
        None => format!("invalid TOML: {}", error.message()),
    };
    Problem::new(span, None, message).maybe_help(unquoted_value_hint(text, start))
}

/// `kind = traefik` or `drain = 5s` are syntax errors in TOML: strings need quotes.
/// When the error is in a value made only of word characters, say so.
fn unquoted_value_hint(text: &str, offset: usize) -> Option<String> {
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let (key, value) = line.split_once('=')?;
    let value = value.split('#').next().unwrap_or(value);
    let (key, value) = (key.trim(), value.trim());
    let value_start = line_start + line.find('=')? + 1;
    let is_word = |c: char| c.is_alphanumeric() || " _.:/@+-".contains(c);
    let plausible = !key.is_empty()
        && !key.starts_with('[')
        && offset >= value_start
        && value.chars().all(is_word)
        && value.chars().any(char::is_alphabetic);
    plausible.then(|| format!("strings need quotes: `{key} = \"{value}\"`"))
}

/// serde said no after the shape check passed: report its message at its span.
fn serde_problem(error: &toml::de::Error, root: &DeTable) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let key = key_at(root, "", span.start);
    let message = match &key {
        Some(key) => format!("`{key}`: {}", error.message()),
        None => error.message().to_string(),
    };
    Problem::new(span, key.as_deref(), message)
}

/// The dotted key whose key or value covers byte `offset`, the innermost one.
fn key_at(table: &DeTable, prefix: &str, offset: usize) -> Option<String> {
    let covers = |span: Range<usize>| span.contains(&offset) || span.start == offset;
    table.iter().find_map(|(name, value)| {
        let key = join(prefix, name.get_ref());
        let inner =
            match value.get_ref() {
                DeValue::Table(table) => key_at(table, &key, offset),
                DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| match item
                    .get_ref()
                {
                    DeValue::Table(table) => key_at(table, &format!("{key}[{i}]"), offset),
                    _ => None,
                }),
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

/// `deploy` + `drain` = `deploy.drain`; keys that are not bare get quotes.
fn join(prefix: &str, name: &str) -> String {
    let name = toml_key(name);
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}.{name}")
    }
}

/// A key as it must be written in TOML.
fn toml_key(name: &str) -> String {
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
fn assign(key: &str, value: &str) -> String {
    if key.ends_with(']') {
        value.to_string()
    } else {
        format!("{} = {value}", last_segment(key))
    }
}

fn table_label(path: &str) -> String {
    if path.contains('[') {
        format!("`{path}`")
    } else {
        format!("[{path}]")
    }
}

// ---------------------------------------------------------------------------------------
// Step 2: the shape check.

fn check_table(items: &DeTable, table: &ExpectTable, path: &str, problems: &mut Vec<Problem>) {
    for (name, value) in items {
        let name_str: &str = name.get_ref();
        let key = join(path, name_str);
        if table.fields.contains(&name_str) {
            if let Some(expect) = table.children.get(name_str) {
                check(value, expect, &key, problems);
            }
        } else {
            let is_table = matches!(value.get_ref(), DeValue::Table(_));
            problems.push(unknown_key(
                name.span(),
                &key,
                name_str,
                is_table,
                path,
                table,
            ));
        }
    }
}

/// Keys without a default that are not written, in `items` and the tables under it.
/// `span` is where the table starts (its header), where a missing key is reported.
fn check_required(
    items: &DeTable,
    span: Range<usize>,
    table: &ExpectTable,
    path: &str,
    problems: &mut Vec<Problem>,
) {
    for &required in &table.required {
        if !items.contains_key(required) {
            let key = join(path, required);
            let example = table
                .children
                .get(required)
                .map_or_else(|| "…".to_string(), example);
            let help = if path.is_empty() {
                format!(
                    "add `{} = {example}` above the first [table]",
                    toml_key(required)
                )
            } else {
                format!(
                    "add `{} = {example}` under {}",
                    toml_key(required),
                    table_label(path)
                )
            };
            problems.push(
                Problem::new(
                    span.start..span.start,
                    Some(&key),
                    format!("missing required key `{key}`"),
                )
                .help(help),
            );
        }
    }
    for (name, value) in items {
        let key = join(path, name.get_ref());
        match (table.children.get(name.get_ref().as_ref()), value.get_ref()) {
            (Some(Expect::Table(child)), DeValue::Table(inner)) => {
                check_required(inner, value.span(), child, &key, problems)
            }
            (Some(Expect::List(child)), DeValue::Array(elements)) => {
                let Expect::Table(child) = &**child else {
                    continue;
                };
                for (i, element) in elements.iter().enumerate() {
                    if let DeValue::Table(inner) = element.get_ref() {
                        check_required(
                            inner,
                            element.span(),
                            child,
                            &format!("{key}[{i}]"),
                            problems,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn check(value: &Spanned<DeValue>, expect: &Expect, key: &str, problems: &mut Vec<Problem>) {
    let span = value.span();
    match (expect, value.get_ref()) {
        (Expect::Any, _)
        | (Expect::Bool, DeValue::Boolean(_))
        | (Expect::Float, DeValue::Float(_) | DeValue::Integer(_))
        | (Expect::String | Expect::Parsed { .. }, DeValue::String(_)) => {}
        (Expect::Table(table), DeValue::Table(items)) => check_table(items, table, key, problems),
        (Expect::Map(inner), DeValue::Table(items)) => {
            for (name, value) in items {
                check(value, inner, &join(key, name.get_ref()), problems);
            }
        }
        (Expect::List(inner), DeValue::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(item, inner, &format!("{key}[{i}]"), problems);
            }
        }
        (Expect::Integer { min, max }, DeValue::Integer(int)) => {
            let in_range = i128::from_str_radix(int.as_str(), int.radix())
                .is_ok_and(|n| (*min..=*max).contains(&n));
            if !in_range {
                problems.push(wrong_value(span, key, expect, value.get_ref()));
            }
        }
        (Expect::Duration { .. }, DeValue::String(text)) => {
            if text.parse::<Duration>().is_err() {
                problems.push(bad_duration(span, key, expect, text));
            }
        }
        (Expect::Enum(variants), DeValue::String(text)) => {
            if !variants.contains(&text.as_ref()) {
                let help = did_you_mean(text, variants).map(|v| format!("did you mean `{v}`?"));
                problems.push(wrong_value(span, key, expect, value.get_ref()).maybe_help(help));
            }
        }
        (_, found) => problems.push(wrong_value(span, key, expect, found)),
    }
}

fn unknown_key(
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

fn wrong_value(span: Range<usize>, key: &str, expect: &Expect, found: &DeValue) -> Problem {
    let message = format!(
        "`{key}` must be {}, found {}",
        expect.describe(),
        describe_found(found)
    );
    Problem::new(span, Some(key), message).maybe_help(hint(key, expect, found))
}

fn bad_duration(span: Range<usize>, key: &str, expect: &Expect, text: &str) -> Problem {
    let number = text.trim();
    let help = if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        format!("add a unit: `{}`", assign(key, &format!("\"{number}s\"")))
    } else {
        // The same parser `Duration::from_str` uses, for its reason without the wrapping.
        match humantime::parse_duration(number) {
            Err(reason) => reason.to_string(),
            Ok(_) => "write it like `500ms`, `30s` or `5m`".to_string(),
        }
    };
    let message = format!(
        "`{key}` must be {}, found {}",
        expect.describe(),
        describe_found(&DeValue::String(text.into()))
    );
    Problem::new(span, Some(key), message).help(help)
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

/// A value of the expected type, for "add `key = …`" hints.
fn example(expect: &Expect) -> String {
    match expect {
        Expect::Bool => "true".to_string(),
        Expect::Integer { .. } | Expect::Float => "1".to_string(),
        Expect::String | Expect::Parsed { .. } => "\"…\"".to_string(),
        Expect::Duration { .. } => "\"30s\"".to_string(),
        Expect::Enum(variants) => variants
            .first()
            .map_or_else(|| "\"…\"".to_string(), |v| format!("{v:?}")),
        Expect::List(_) => "[…]".to_string(),
        Expect::Table(_) | Expect::Map(_) => "{ … }".to_string(),
        Expect::Any => "…".to_string(),
    }
}

impl Expect {
    /// "must be …"
    fn describe(&self) -> String {
        match self {
            Expect::Table(_) => "a table".to_string(),
            Expect::Map(inner) => format!("a table of {}", inner.plural()),
            Expect::List(inner) => format!("an array of {}", inner.plural()),
            Expect::Bool => "`true` or `false`".to_string(),
            Expect::Integer { min, max } => format!("an integer from {min} to {max}"),
            Expect::Float => "a number".to_string(),
            Expect::String => "a string".to_string(),
            Expect::Parsed { expecting } | Expect::Duration { expecting } => expecting.clone(),
            Expect::Enum(variants) => format!("one of {}", one_of(variants)),
            Expect::Any => "something else".to_string(),
        }
    }

    fn plural(&self) -> &'static str {
        match self {
            Expect::String | Expect::Parsed { .. } | Expect::Enum(_) => "strings",
            Expect::Integer { .. } => "integers",
            Expect::Float => "numbers",
            Expect::Bool => "booleans",
            Expect::Duration { .. } => "durations",
            Expect::Table(_) | Expect::Map(_) => "tables",
            Expect::List(_) => "arrays",
            Expect::Any => "values",
        }
    }
}

impl ExpectTable {
    /// The path of a table (`""` for the top level) that has a field `name`, searched
    /// breadth-first so the shallowest wins.
    fn table_with_field(&self, name: &str) -> Option<String> {
        let mut queue = vec![(String::new(), self)];
        while !queue.is_empty() {
            let mut next = Vec::new();
            for (path, table) in queue {
                if table.fields.contains(&name) {
                    return Some(path);
                }
                for (field, child) in &table.children {
                    if let Expect::Table(child) = child {
                        next.push((join(&path, field), child));
                    }
                }
            }
            queue = next;
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// What the serde types expect, read from their `Deserialize` implementations.

mod expect {
    //! A serde [`Deserializer`] that answers every request with a plausible value and
    //! records what was requested: struct fields, enum variants, integer widths. The
    //! result describes `deploy.toml` as `schema.rs` defines it, without a second copy.

    use std::collections::{BTreeMap, BTreeSet};
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{
        self, DeserializeOwned, Deserializer, Expected, IntoDeserializer, MapAccess, SeqAccess,
        Visitor,
    };

    use super::join;
    use crate::config::Duration;

    /// What the schema accepts at one key.
    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Expect {
        /// A struct: its keys are fixed.
        Table(ExpectTable),
        /// A map (`env`, `labels`): any key, values of one kind.
        Map(Box<Expect>),
        List(Box<Expect>),
        Bool,
        Integer {
            min: i128,
            max: i128,
        },
        Float,
        String,
        /// A string that its type parses, described by the type itself.
        Parsed {
            expecting: String,
        },
        /// A [`Duration`]: a `Parsed` string, known here so hints and checks can use its parser.
        Duration {
            expecting: String,
        },
        Enum(&'static [&'static str]),
        /// Something this module does not understand; serde alone judges it.
        Any,
    }

    #[derive(Debug, Clone, PartialEq, Default)]
    pub(super) struct ExpectTable {
        pub fields: &'static [&'static str],
        /// Fields without a default.
        pub required: Vec<&'static str>,
        pub children: BTreeMap<&'static str, Expect>,
    }

    impl Expect {
        pub fn of<T: DeserializeOwned>() -> Expect {
            let mut root = Expect::Any;
            let _ = T::deserialize(Probe::new(&mut root, None));

            // A field is required when leaving it out makes serde report it missing.
            let mut fields = Vec::new();
            root.fields(String::new(), &mut fields);
            let required: BTreeSet<(String, &'static str)> = fields
                .into_iter()
                .filter(|(path, field)| {
                    let mut scratch = Expect::Any;
                    let hidden = (path.clone(), *field);
                    matches!(T::deserialize(Probe::new(&mut scratch, Some(&hidden))),
                        Err(ProbeError { missing: Some(missing) }) if missing == *field)
                })
                .collect();
            root.finish(String::new(), &required, &duration_expecting());
            root
        }

        /// Every (table path, field) pair.
        fn fields(&self, path: String, out: &mut Vec<(String, &'static str)>) {
            match self {
                Expect::Table(table) => {
                    for &field in table.fields {
                        out.push((path.clone(), field));
                    }
                    for (field, child) in &table.children {
                        child.fields(join(&path, field), out);
                    }
                }
                Expect::Map(inner) => inner.fields(format!("{path}.*"), out),
                Expect::List(inner) => inner.fields(format!("{path}[]"), out),
                _ => {}
            }
        }

        /// Marks required fields and recognises durations.
        fn finish(
            &mut self,
            path: String,
            required: &BTreeSet<(String, &'static str)>,
            duration: &str,
        ) {
            match self {
                Expect::Table(table) => {
                    table.required = table
                        .fields
                        .iter()
                        .copied()
                        .filter(|f| required.contains(&(path.clone(), *f)))
                        .collect();
                    for (field, child) in &mut table.children {
                        child.finish(join(&path, field), required, duration);
                    }
                }
                Expect::Map(inner) => inner.finish(format!("{path}.*"), required, duration),
                Expect::List(inner) => inner.finish(format!("{path}[]"), required, duration),
                Expect::Parsed { expecting } if expecting == duration => {
                    *self = Expect::Duration {
                        expecting: std::mem::take(expecting),
                    };
                }
                _ => {}
            }
        }
    }

    /// How [`Duration`] describes itself; a `Parsed` leaf that says the same is a duration.
    fn duration_expecting() -> String {
        let mut leaf = Expect::Any;
        let _ = Duration::deserialize(Probe::new(&mut leaf, None));
        match leaf {
            Expect::Parsed { expecting } => expecting,
            _ => String::new(),
        }
    }

    struct Probe<'a> {
        out: &'a mut Expect,
        path: String,
        /// While looking for required fields: the (table path, field) to leave out.
        hide: Option<&'a (String, &'static str)>,
    }

    impl<'a> Probe<'a> {
        fn new(out: &'a mut Expect, hide: Option<&'a (String, &'static str)>) -> Self {
            Self {
                out,
                path: String::new(),
                hide,
            }
        }

        fn child<'b>(&'b self, out: &'b mut Expect, path: String) -> Probe<'b> {
            Probe {
                out,
                path,
                hide: self.hide,
            }
        }
    }

    #[derive(Debug)]
    struct ProbeError {
        missing: Option<&'static str>,
    }

    impl fmt::Display for ProbeError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("schema probe")
        }
    }

    impl std::error::Error for ProbeError {}

    impl de::Error for ProbeError {
        fn custom<T: fmt::Display>(_: T) -> Self {
            Self { missing: None }
        }

        fn missing_field(field: &'static str) -> Self {
            Self {
                missing: Some(field),
            }
        }
    }

    macro_rules! integer {
        ($($method:ident: $ty:ty => $visit:ident),* $(,)?) => {$(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
                *self.out = Expect::Integer { min: <$ty>::MIN as i128, max: <$ty>::MAX as i128 };
                visitor.$visit(1)
            }
        )*};
    }

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = ProbeError;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Any;
            visitor.visit_unit()
        }

        fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Bool;
            visitor.visit_bool(false)
        }

        integer! {
            deserialize_i8: i8 => visit_i8,
            deserialize_i16: i16 => visit_i16,
            deserialize_i32: i32 => visit_i32,
            deserialize_i64: i64 => visit_i64,
            deserialize_u8: u8 => visit_u8,
            deserialize_u16: u16 => visit_u16,
            deserialize_u32: u32 => visit_u32,
            deserialize_u64: u64 => visit_u64,
        }

        fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Float;
            visitor.visit_f32(1.0)
        }

        fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Float;
            visitor.visit_f64(1.0)
        }

        fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::String;
            visitor.visit_char('x')
        }

        /// Types that parse a string (like [`Duration`]) borrow it; `String` asks for an owned one.
        fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Parsed {
                expecting: (&visitor as &dyn Expected).to_string(),
            };
            // A valid duration: the only parsed string type in the schema today.
            visitor.visit_str("1s")
        }

        fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::String;
            visitor.visit_str("x")
        }

        fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Any;
            visitor.visit_bytes(b"")
        }

        fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            self.deserialize_bytes(visitor)
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            visitor.visit_some(self)
        }

        fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Any;
            visitor.visit_unit()
        }

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            self.deserialize_unit(visitor)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            let mut item = Expect::Any;
            let path = format!("{}[]", self.path);
            let result = visitor.visit_seq(One {
                probe: Some(self.child(&mut item, path)),
            });
            *self.out = Expect::List(Box::new(item));
            result
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            _len: usize,
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Any;
            visitor.visit_seq(One { probe: None })
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            self.deserialize_tuple(len, visitor)
        }

        fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            let mut value = Expect::Any;
            let path = format!("{}.*", self.path);
            let result = visitor.visit_map(Entry {
                key: Some("x"),
                value: Some(self.child(&mut value, path)),
            });
            *self.out = Expect::Map(Box::new(value));
            result
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            let mut children = BTreeMap::new();
            let hidden = self
                .hide
                .filter(|(path, _)| *path == self.path)
                .map(|(_, field)| *field);
            let result = visitor.visit_map(Fields {
                probe: &self,
                fields: fields
                    .iter()
                    .copied()
                    .filter(|f| Some(*f) != hidden)
                    .collect::<Vec<_>>()
                    .into_iter(),
                current: None,
                children: &mut children,
            });
            *self.out = Expect::Table(ExpectTable {
                fields,
                required: Vec::new(),
                children,
            });
            result
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            *self.out = Expect::Enum(variants);
            match variants.first() {
                Some(first) => {
                    visitor.visit_enum(IntoDeserializer::<ProbeError>::into_deserializer(*first))
                }
                None => Err(de::Error::custom("enum without variants")),
            }
        }

        fn deserialize_identifier<V: Visitor<'de>>(
            self,
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            self.deserialize_string(visitor)
        }

        fn deserialize_ignored_any<V: Visitor<'de>>(
            self,
            visitor: V,
        ) -> Result<V::Value, ProbeError> {
            self.deserialize_unit(visitor)
        }
    }

    /// A sequence of one probed element (or none).
    struct One<'a> {
        probe: Option<Probe<'a>>,
    }

    impl<'de> SeqAccess<'de> for One<'_> {
        type Error = ProbeError;

        fn next_element_seed<T: de::DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, ProbeError> {
            self.probe
                .take()
                .map(|probe| seed.deserialize(probe))
                .transpose()
        }
    }

    /// A map of one entry whose value is probed.
    struct Entry<'a> {
        key: Option<&'static str>,
        value: Option<Probe<'a>>,
    }

    impl<'de> MapAccess<'de> for Entry<'_> {
        type Error = ProbeError;

        fn next_key_seed<K: de::DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, ProbeError> {
            self.key
                .take()
                .map(|key| seed.deserialize(key.into_deserializer()))
                .transpose()
        }

        fn next_value_seed<T: de::DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<T::Value, ProbeError> {
            match self.value.take() {
                Some(probe) => seed.deserialize(probe),
                None => Err(de::Error::custom("value without key")),
            }
        }
    }

    /// A struct's fields, each value probed into `children`.
    struct Fields<'p, 'a> {
        probe: &'p Probe<'a>,
        fields: std::vec::IntoIter<&'static str>,
        current: Option<&'static str>,
        children: &'p mut BTreeMap<&'static str, Expect>,
    }

    impl<'de> MapAccess<'de> for Fields<'_, '_> {
        type Error = ProbeError;

        fn next_key_seed<K: de::DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, ProbeError> {
            self.current = self.fields.next();
            self.current
                .map(|field| seed.deserialize(field.into_deserializer()))
                .transpose()
        }

        fn next_value_seed<T: de::DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<T::Value, ProbeError> {
            let Some(field) = self.current else {
                return Err(de::Error::custom("value without key"));
            };
            let path = join(&self.probe.path, field);
            let slot = self.children.entry(field).or_insert(Expect::Any);
            seed.deserialize(self.probe.child(slot, path))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::expect::{Expect, ExpectTable};
    use super::*;

    fn leaf(path: &[&'static str]) -> &'static Expect {
        let (last, tables) = path.split_last().unwrap();
        let mut table = config_expect();
        for name in tables {
            match &table.children[name] {
                Expect::Table(inner) => table = inner,
                other => panic!("{name} is {other:?}"),
            }
        }
        &table.children[last]
    }

    #[test]
    fn the_schema_is_read_from_the_serde_types() {
        let top = config_expect();
        assert_eq!(
            top.fields,
            ["service", "target", "router", "health", "deploy"]
        );
        assert_eq!(top.required, ["service"]);
        assert_eq!(
            *leaf(&["target", "port"]),
            Expect::Integer { min: 0, max: 65535 }
        );
        assert!(matches!(
            leaf(&["deploy", "drain"]),
            Expect::Duration { .. }
        ));
        assert_eq!(
            *leaf(&["router", "kind"]),
            Expect::Enum(&["haproxy", "nginx"])
        );
        assert_eq!(*leaf(&["router", "url"]), Expect::String);
        assert_eq!(
            *leaf(&["target", "env"]),
            Expect::Map(Box::new(Expect::String))
        );
        assert_eq!(
            *leaf(&["router", "reload_command"]),
            Expect::List(Box::new(Expect::String))
        );
        assert_eq!(*leaf(&["health", "use_healthcheck"]), Expect::Bool);
        let ExpectTable { required, .. } = match leaf(&["deploy"]) {
            Expect::Table(table) => table.clone(),
            other => panic!("{other:?}"),
        };
        assert!(required.is_empty(), "every [deploy] key has a default");
    }

    /// Every key in `schema.rs` has an entry in docs/configuration.md, so the reference
    /// cannot fall behind the code.
    #[test]
    fn the_configuration_reference_documents_every_key() {
        let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
        let docs = std::fs::read_to_string(&docs_path)
            .unwrap_or_else(|e| panic!("{}: {e}", docs_path.display()));
        let mut missing = Vec::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![(String::new(), config_expect())];
        while let Some((path, table)) = stack.pop() {
            for field in table.fields {
                let key = join(&path, field);
                // A table is documented by its `[header]`, a key by its dotted name.
                let (child, entry) = match table.children.get(field) {
                    Some(Expect::Table(child)) => (Some(child), format!("`[{key}]`")),
                    _ => (None, format!("`{key}`")),
                };
                if !docs.contains(&entry) {
                    missing.push(entry);
                }
                if let Some(child) = child
                    && seen.insert(key.clone())
                {
                    stack.push((key, child));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "docs/configuration.md does not document: {missing:?}"
        );
    }

    #[test]
    fn the_configuration_reference_example_loads() {
        let docs = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
        )
        .unwrap();
        let example = docs
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a ```toml block");
        let config = Config::parse(Path::new("docs/configuration.md"), example)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.service, "shop");
    }

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
