//! [`Expect`]: what the schema accepts at each key of `deploy.toml`, and how a message
//! says so ("must be an integer from 0 to 65535").
//!
//! It is learned from the serde types in `schema.rs` by the probe in `probe.rs`, so that
//! file stays the one description of `deploy.toml`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;

use super::key::join;
use super::probe::record;
use super::suggest::one_of;
use super::{Config, Duration};

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
    /// Something the probe does not understand; serde alone judges it.
    Any,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct ExpectTable {
    pub fields: &'static [&'static str],
    /// Fields without a default.
    pub required: Vec<&'static str>,
    pub children: BTreeMap<&'static str, Expect>,
}

/// What `Config` asks for, read once from its serde implementation.
pub(super) fn config_expect() -> &'static ExpectTable {
    static EXPECT: OnceLock<ExpectTable> = OnceLock::new();
    EXPECT.get_or_init(|| match Expect::of::<Config>() {
        Expect::Table(table) => table,
        // `Config` is a struct; this is only here so a change to that cannot panic.
        _ => ExpectTable::default(),
    })
}

impl Expect {
    /// What `T` accepts, read from its `Deserialize` implementation.
    pub fn of<T: DeserializeOwned>() -> Expect {
        let (mut root, _) = record::<T>(None);
        // A field is required when leaving it out makes serde report it missing.
        let is_required = |path: &str, field: &'static str| {
            let (_, missing) = record::<T>(Some(&(path.to_string(), field)));
            missing == Some(field)
        };
        root.finish(String::new(), &is_required, &duration_expecting());
        root
    }

    /// Marks required fields and recognises durations. Paths are spelt as the probe
    /// spells them: `deploy.drain`, `target.env.*`, `router.reload_command[]`.
    fn finish(
        &mut self,
        path: String,
        is_required: &dyn Fn(&str, &'static str) -> bool,
        duration: &str,
    ) {
        match self {
            Expect::Table(table) => {
                table.required = table
                    .fields
                    .iter()
                    .copied()
                    .filter(|field| is_required(&path, field))
                    .collect();
                for (field, child) in &mut table.children {
                    child.finish(join(&path, field), is_required, duration);
                }
            }
            Expect::Map(inner) => inner.finish(map_values(&path), is_required, duration),
            Expect::List(inner) => inner.finish(list_items(&path), is_required, duration),
            Expect::Parsed { expecting } if expecting == duration => {
                *self = Expect::Duration {
                    expecting: std::mem::take(expecting),
                };
            }
            _ => {}
        }
    }

    /// "must be …"
    pub fn describe(&self) -> String {
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

    /// A value of this type, for "add `key = …`" hints.
    pub fn example(&self) -> String {
        match self {
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
}

impl ExpectTable {
    /// The path of a table (`""` for the top level) that has a field `name`, searched
    /// breadth-first so the shallowest wins.
    pub fn table_with_field(&self, name: &str) -> Option<String> {
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

/// The probe's path for the values of the map at `path`.
pub(super) fn map_values(path: &str) -> String {
    format!("{path}.*")
}

/// The probe's path for the items of the array at `path`.
pub(super) fn list_items(path: &str) -> String {
    format!("{path}[]")
}

/// How [`Duration`] describes itself; a `Parsed` leaf that says the same is a duration.
fn duration_expecting() -> String {
    match record::<Duration>(None) {
        (Expect::Parsed { expecting }, _) => expecting,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
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
            [
                "service",
                "environment",
                "target",
                "router",
                "health",
                "deploy",
                "build",
                "scan",
                "lock",
                "approval",
                "smoke",
                "grafana"
            ]
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
}
