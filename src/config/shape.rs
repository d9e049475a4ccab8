//! Step 2 of loading: walks the parsed document, with the span of every key and value,
//! against what the schema expects ([`Expect`]). It finds unknown keys, values of the
//! wrong type or out of range, and required keys that are not written.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Duration;
use super::expect::{Expect, ExpectTable};
use super::key::{item, join};
use super::mistake::{bad_duration, missing_key, unknown_key, wrong_value};
use super::problem::{Problem, earliest};
use super::suggest::did_you_mean;

/// The earliest shape problem in `root`, a whole file whose keys `expect` describes.
pub(super) fn check_shape_against(root: &DeTable, expect: &ExpectTable) -> Result<(), Problem> {
    let mut found = Found::default();
    check_table(root, 0..0, expect, "", &mut found);
    earliest(found.wrong)?;
    // Only now: a missing key is often the other side of a misspelt or misplaced one,
    // and that one is the problem to show.
    earliest(found.missing)
}

#[derive(Default)]
struct Found {
    /// Unknown keys and wrong values.
    wrong: Vec<Problem>,
    /// Required keys that are not written.
    missing: Vec<Problem>,
}

/// `span` is where the table starts (its header), where a missing key is reported.
fn check_table(
    items: &DeTable,
    span: Range<usize>,
    table: &ExpectTable,
    path: &str,
    found: &mut Found,
) {
    for &required in &table.required {
        if !items.contains_key(required) {
            found
                .missing
                .push(missing_key(span.start, path, required, table));
        }
    }
    for (name, value) in items {
        let name_str: &str = name.get_ref();
        let key = join(path, name_str);
        if table.fields.contains(&name_str) {
            if let Some(expect) = table.children.get(name_str) {
                check(value, expect, &key, found);
            }
        } else {
            let is_table = matches!(value.get_ref(), DeValue::Table(_));
            found.wrong.push(unknown_key(
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

fn check(value: &Spanned<DeValue>, expect: &Expect, key: &str, found: &mut Found) {
    let span = value.span();
    match (expect, value.get_ref()) {
        (Expect::Any, _)
        | (Expect::Bool, DeValue::Boolean(_))
        | (Expect::Float, DeValue::Float(_) | DeValue::Integer(_))
        | (Expect::String | Expect::Parsed { .. }, DeValue::String(_)) => {}
        (Expect::Table(table), DeValue::Table(items)) => {
            check_table(items, span, table, key, found)
        }
        (Expect::Map(inner), DeValue::Table(items)) => {
            for (name, value) in items {
                check(value, inner, &join(key, name.get_ref()), found);
            }
        }
        (Expect::List(inner), DeValue::Array(items)) => {
            for (i, element) in items.iter().enumerate() {
                check(element, inner, &item(key, i), found);
            }
        }
        (Expect::Integer { min, max }, DeValue::Integer(int)) => {
            let in_range = i128::from_str_radix(int.as_str(), int.radix())
                .is_ok_and(|n| (*min..=*max).contains(&n));
            if !in_range {
                found
                    .wrong
                    .push(wrong_value(span, key, expect, value.get_ref()));
            }
        }
        (Expect::Duration { .. }, DeValue::String(text)) => {
            if let Err(error) = text.parse::<Duration>() {
                found
                    .wrong
                    .push(bad_duration(span, key, expect, text, &error));
            }
        }
        (Expect::Enum(variants), DeValue::String(text)) => {
            if !variants.contains(&text.as_ref()) {
                let help = did_you_mean(text, variants).map(|v| format!("did you mean `{v}`?"));
                found
                    .wrong
                    .push(wrong_value(span, key, expect, value.get_ref()).maybe_help(help));
            }
        }
        (_, value) => found.wrong.push(wrong_value(span, key, expect, value)),
    }
}
