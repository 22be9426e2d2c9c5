//! Reading RPC parameters back into a request: a `Deserializer` over the parameter list whose
//! values deserialise into whatever the field asks for (text, a number, a boolean, or JSON for
//! anything nested), with errors that name the parameter.

use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use crate::ens::EnsParamError;

/// A parameter error, or a message serde produced that still needs the parameter's name.
#[derive(Debug)]
pub(super) enum DecodeError {
    Param(EnsParamError),
    Custom(String),
}

impl DecodeError {
    fn malformed(name: &str, reason: impl ToString) -> Self {
        Self::Param(EnsParamError::Malformed {
            name: name.to_owned(),
            reason: reason.to_string(),
        })
    }

    fn named(self, name: &str) -> Self {
        match self {
            Self::Custom(reason) => Self::malformed(name, reason),
            param => param,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Param(error) => error.fmt(f),
            Self::Custom(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom(msg.to_string())
    }

    /// Also what a nested value reports for a required part (`Body.Count`).
    fn missing_field(field: &'static str) -> Self {
        Self::Param(EnsParamError::Missing(field.into()))
    }
}

pub(super) struct RequestDeserializer<'de, 'a> {
    pub(super) params: &'de [(String, String)],
    pub(super) first: &'a [&'a str],
}

impl<'de> de::Deserializer<'de> for RequestDeserializer<'de, '_> {
    type Error = DecodeError;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let (mut order, rest): (Vec<_>, Vec<_>) =
            fields.iter().copied().partition(|f| self.first.contains(f));
        order.extend(rest);
        visitor.visit_map(FieldsAccess {
            params: self.params,
            fields: order.into_iter(),
            current: None,
        })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DecodeError> {
        Err(DecodeError::Custom(
            "RPC parameters are read into a struct".into(),
        ))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Every field, present or not, so that a missing required parameter is reported in the same
/// order as a malformed one.
struct FieldsAccess<'de> {
    params: &'de [(String, String)],
    fields: std::vec::IntoIter<&'static str>,
    current: Option<&'static str>,
}

impl<'de> MapAccess<'de> for FieldsAccess<'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        self.current = Some(field);
        let key: StrDeserializer<'_, DecodeError> = field.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let name = self.current.take().unwrap_or_default();
        let value = self
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let value = ValueDeserializer {
            name,
            value,
            optional: false,
        };
        seed.deserialize(value).map_err(|e| e.named(name))
    }
}

/// One parameter's text (`None`: not sent), read as the field's type asks.
struct ValueDeserializer<'de> {
    name: &'static str,
    value: Option<&'de str>,
    /// Inside an `Option`: an empty string is a value, not a missing parameter.
    optional: bool,
}

impl<'de> ValueDeserializer<'de> {
    fn text(&self) -> Result<&'de str, DecodeError> {
        self.value
            .ok_or_else(|| DecodeError::Param(EnsParamError::Missing(self.name.into())))
    }

    fn number<N>(&self) -> Result<N, DecodeError>
    where
        N: std::str::FromStr,
        N::Err: fmt::Display,
    {
        self.text()?
            .parse()
            .map_err(|e| DecodeError::malformed(self.name, e))
    }

    /// Nested values are JSON text, read by serde_json exactly as `serde_json::from_str` would.
    fn json<T>(
        &self,
        read: impl FnOnce(
            &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
        ) -> Result<T, serde_json::Error>,
    ) -> Result<T, DecodeError> {
        let mut json = serde_json::Deserializer::from_str(self.text()?);
        read(&mut json)
            .and_then(|value| json.end().map(|()| value))
            .map_err(|e| DecodeError::malformed(self.name, e))
    }
}

/// The `Deserializer` methods of numbers and `char`, parsed from the text.
macro_rules! parsed {
    ($($method:ident => $visit:ident,)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            visitor.$visit(self.number()?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = DecodeError;

    /// A field of no declared shape gets the raw text.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.text()? {
            "" if !self.optional => {
                Err(DecodeError::Param(EnsParamError::Missing(self.name.into())))
            }
            text => visitor.visit_borrowed_str(text),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        // Alibaba's Python SDK writes booleans as `True`/`False`, the Go and Java ones in lower
        // case; the service takes either.
        match self.text()? {
            t if t.eq_ignore_ascii_case("true") => visitor.visit_bool(true),
            f if f.eq_ignore_ascii_case("false") => visitor.visit_bool(false),
            other => Err(DecodeError::malformed(
                self.name,
                format!("{other:?} is not true or false"),
            )),
        }
    }

    parsed! {
        deserialize_i8 => visit_i8,
        deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64,
        deserialize_i128 => visit_i128,
        deserialize_u8 => visit_u8,
        deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32,
        deserialize_u64 => visit_u64,
        deserialize_u128 => visit_u128,
        deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64,
        deserialize_char => visit_char,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value {
            None => visitor.visit_none(),
            Some(_) => visitor.visit_some(ValueDeserializer {
                optional: true,
                ..self
            }),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let text: StrDeserializer<'_, DecodeError> = self.text()?.into_deserializer();
        visitor.visit_enum(text)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.json(|json| de::Deserializer::deserialize_bytes(json, visitor))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.json(|json| de::Deserializer::deserialize_byte_buf(json, visitor))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.json(|json| de::Deserializer::deserialize_seq(json, visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.json(|json| de::Deserializer::deserialize_tuple(json, len, visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.json(|json| de::Deserializer::deserialize_tuple_struct(json, name, len, visitor))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.json(|json| de::Deserializer::deserialize_map(json, visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.json(|json| de::Deserializer::deserialize_struct(json, name, fields, visitor))
    }
}
