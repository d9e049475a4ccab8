//! A serde [`Deserializer`] that answers every request with a plausible value and
//! records what was requested: struct fields, enum variants, integer widths. Run over
//! the types in `schema.rs`, the record is the [`Expect`] of `deploy.toml`, without a
//! second copy of the schema.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, Deserializer, Expected, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::expect::{Expect, ExpectTable, list_items, map_values};
use super::key::join;

/// What `T` asks for, and the field serde reported missing, if any.
///
/// `hide` is a (table path, field) pair to leave out of the input: when serde then
/// reports that field missing, it has no default.
pub(super) fn record<T: DeserializeOwned>(
    hide: Option<&(String, &'static str)>,
) -> (Expect, Option<&'static str>) {
    let mut recorded = Expect::Any;
    let missing = match T::deserialize(Probe::new(&mut recorded, hide)) {
        Err(ProbeError { missing }) => missing,
        Ok(_) => None,
    };
    (recorded, missing)
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

    /// Has `visitor` read a map of `fields`, each value probed; returns what each value
    /// asked for. `path_of` gives a value's path from this probe's path and its key.
    fn visit_fields<'de, V: Visitor<'de>>(
        &self,
        visitor: V,
        fields: Vec<&'static str>,
        path_of: fn(&str, &'static str) -> String,
    ) -> (Result<V::Value, ProbeError>, BTreeMap<&'static str, Expect>) {
        let mut children = BTreeMap::new();
        let result = visitor.visit_map(Fields {
            probe: self,
            fields: fields.into_iter(),
            path_of,
            current: None,
            children: &mut children,
        });
        (result, children)
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

    /// Types that parse a string (like [`Duration`](super::Duration)) borrow it; `String`
    /// asks for an owned one.
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
        let path = list_items(&self.path);
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
        // One entry, whose value stands for every value of the map.
        const KEY: &str = "x";
        let (result, mut children) =
            self.visit_fields(visitor, vec![KEY], |path, _| map_values(path));
        let value = children.remove(KEY).unwrap_or(Expect::Any);
        *self.out = Expect::Map(Box::new(value));
        result
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        let hidden = self
            .hide
            .filter(|(path, _)| *path == self.path)
            .map(|(_, field)| *field);
        let shown = fields.iter().copied().filter(|f| Some(*f) != hidden);
        let (result, children) = self.visit_fields(visitor, shown.collect(), join);
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

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ProbeError> {
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

/// A struct's fields (or a map's one key), each value probed into `children`.
struct Fields<'p, 'a> {
    probe: &'p Probe<'a>,
    fields: std::vec::IntoIter<&'static str>,
    /// The path of a field's value, from the path of the struct or map.
    path_of: fn(&str, &'static str) -> String,
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
        let path = (self.path_of)(&self.probe.path, field);
        let slot = self.children.entry(field).or_insert(Expect::Any);
        seed.deserialize(self.probe.child(slot, path))
    }
}
