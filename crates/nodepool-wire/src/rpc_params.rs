//! RPC parameters as a request type's serde representation: one parameter per struct field,
//! named as serde names the field, in field order (the order the query string is built in).
//! Scalars travel as their text, nested structs, maps and lists as one parameter holding
//! compact JSON, and `None` is left out. Reading back, a missing parameter, an empty required
//! string, a bad number or boolean and bad JSON are [`EnsParamError`]s naming the parameter,
//! checked in field order unless some fields are to be checked first.

use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::ser::{self, Impossible, Serialize};

use crate::ens::EnsParamError;

/// A value that cannot be RPC parameters: not a struct, or a field serde cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode RPC parameters: {0}")]
pub struct EncodeError(String);

impl ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// The parameters of `request`, a struct.
pub fn to_params<T: Serialize + ?Sized>(request: &T) -> Result<Vec<(String, String)>, EncodeError> {
    request.serialize(RequestSerializer)
}

/// The request read from `params`; parameters it has no field for are ignored, and of a
/// repeated name the first counts.
pub fn from_params<T: DeserializeOwned>(params: &[(String, String)]) -> Result<T, EnsParamError> {
    from_params_checking_first(params, &[])
}

/// [`from_params`], but whether the parameters named in `first` are present and readable is
/// checked before any other field; what must hold inside them (`Body.Count`) is still checked
/// in field order.
pub fn from_params_checking_first<T: DeserializeOwned>(
    params: &[(String, String)],
    first: &[&str],
) -> Result<T, EnsParamError> {
    let in_order = decode(params, &[]);
    if first.is_empty() || in_order.is_ok() {
        return in_order;
    }
    match decode::<T>(params, first) {
        Err(error) if first.contains(&error.parameter()) => Err(error),
        _ => in_order,
    }
}

/// Reads the fields named in `first` before the others.
fn decode<T: DeserializeOwned>(
    params: &[(String, String)],
    first: &[&str],
) -> Result<T, EnsParamError> {
    T::deserialize(RequestDeserializer { params, first }).map_err(|error| match error {
        DecodeError::Param(error) => error,
        // Only a request that is not a struct of parameters gets here.
        DecodeError::Custom(reason) => EnsParamError::Malformed {
            name: "parameters".into(),
            reason,
        },
    })
}

// ---- encoding ----

/// The `Serializer` methods of the scalars, each answering `$body` for the value `$v`.
macro_rules! scalars {
    (|$v:ident| $body:expr) => {
        scalars!(@each |$v| $body;
            serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
            serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
            serialize_str: &str);
    };
    (@each |$v:ident| $body:expr; $($method:ident: $ty:ty),*) => {$(
        fn $method(self, $v: $ty) -> Result<Self::Ok, Self::Error> {
            $body
        }
    )*};
}

struct RequestSerializer;

fn not_a_struct() -> EncodeError {
    EncodeError("RPC parameters come from a struct".into())
}

impl ser::Serializer for RequestSerializer {
    type Ok = Vec<(String, String)>;
    type Error = EncodeError;
    type SerializeSeq = Impossible<Self::Ok, EncodeError>;
    type SerializeTuple = Impossible<Self::Ok, EncodeError>;
    type SerializeTupleStruct = Impossible<Self::Ok, EncodeError>;
    type SerializeTupleVariant = Impossible<Self::Ok, EncodeError>;
    type SerializeMap = Impossible<Self::Ok, EncodeError>;
    type SerializeStruct = FieldsSerializer;
    type SerializeStructVariant = Impossible<Self::Ok, EncodeError>;

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<FieldsSerializer, EncodeError> {
        Ok(FieldsSerializer(Vec::with_capacity(len)))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok, EncodeError> {
        value.serialize(self)
    }

    scalars!(|_v| Err(not_a_struct()));
    fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_none(self) -> Result<Self::Ok, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Self::Ok, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_unit(self) -> Result<Self::Ok, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Self::Ok, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        Err(not_a_struct())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        Err(not_a_struct())
    }
}

struct FieldsSerializer(Vec<(String, String)>);

impl ser::SerializeStruct for FieldsSerializer {
    type Ok = Vec<(String, String)>;
    type Error = EncodeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        let text = match value.serialize(TextSerializer) {
            Ok(text) => text,
            // Whatever has parts (structs, maps, lists) is sent as its JSON.
            Err(TextError::Compound) => {
                Some(serde_json::to_string(value).map_err(|e| EncodeError(format!("{key}: {e}")))?)
            }
            Err(TextError::Custom(reason)) => return Err(EncodeError(format!("{key}: {reason}"))),
        };
        if let Some(text) = text {
            self.0.push((key.to_owned(), text));
        }
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, EncodeError> {
        Ok(self.0)
    }
}

/// Why a field has no plain text: it has parts, or serde refused it.
#[derive(Debug)]
enum TextError {
    Compound,
    Custom(String),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compound => f.write_str("a value with parts"),
            Self::Custom(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for TextError {}

impl ser::Error for TextError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Custom(msg.to_string())
    }
}

/// One field as parameter text; `None` (no parameter) for an absent option.
struct TextSerializer;

type Text = Option<String>;

fn text(value: impl ToString) -> Result<Text, TextError> {
    Ok(Some(value.to_string()))
}

impl ser::Serializer for TextSerializer {
    type Ok = Text;
    type Error = TextError;
    type SerializeSeq = Impossible<Text, TextError>;
    type SerializeTuple = Impossible<Text, TextError>;
    type SerializeTupleStruct = Impossible<Text, TextError>;
    type SerializeTupleVariant = Impossible<Text, TextError>;
    type SerializeMap = Impossible<Text, TextError>;
    type SerializeStruct = Impossible<Text, TextError>;
    type SerializeStructVariant = Impossible<Text, TextError>;

    scalars!(|v| text(v));
    fn serialize_bytes(self, _: &[u8]) -> Result<Text, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_none(self) -> Result<Text, TextError> {
        Ok(None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Text, TextError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Text, TextError> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Text, TextError> {
        Ok(None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Text, TextError> {
        text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Text, TextError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Text, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, TextError> {
        Err(TextError::Compound)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, TextError> {
        Err(TextError::Compound)
    }
}

// ---- decoding ----

/// A parameter error, or a message serde produced that still needs the parameter's name.
#[derive(Debug)]
enum DecodeError {
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

struct RequestDeserializer<'de, 'a> {
    params: &'de [(String, String)],
    first: &'a [&'a str],
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
        match self.text()? {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ens::{self, RpcRequest};

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn round_trip<R: RpcRequest + PartialEq + fmt::Debug>(request: R) {
        let params = request.to_params();
        assert_eq!(R::from_params(&params).unwrap(), request, "{params:?}");
    }

    fn group() -> ens::ScalingGroup {
        ens::ScalingGroup {
            image_id: Some("img-1".into()),
            instance_types: Some(vec!["ens.sn1.small".into()]),
            desired_size: Some(2),
            data_disks: Some(vec![ens::DataDisk {
                category: Some("cloud_efficiency".into()),
                size: Some(40),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn info() -> ens::NodepoolInfo {
        ens::NodepoolInfo {
            name: Some("workers".into()),
            ens_region_id: Some("cn-hangzhou-44".into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_request_type_survives_a_round_trip() {
        round_trip(ens::CreateClusterNodePoolRequest {
            cluster_id: "eck-1".into(),
            nodepool_info: info(),
            scaling_group: group(),
            kubernetes_config: Some(ens::KubernetesConfig {
                user_data: Some("ZWNobw==".into()),
                ..Default::default()
            }),
        });
        round_trip(ens::DescribeClusterNodePoolsRequest {
            cluster_id: "eck-1".into(),
            page_number: Some(2),
            page_size: None,
        });
        round_trip(ens::ScaleClusterNodePoolRequest {
            cluster_id: "eck-1".into(),
            nodepool_id: "np-1".into(),
            count: 5,
        });
        round_trip(ens::DeleteClusterNodesRequest {
            cluster_id: "eck-1".into(),
            nodes: vec!["i-1".into(), "i-2".into()],
            release_node: Some(true),
        });
        round_trip(ens::DescribeClusterNodesRequest {
            cluster_id: "eck-1".into(),
            nodepool_id: Some(String::new()),
            page_number: Some(1),
            page_size: Some(100),
        });
        round_trip(ens::ModifyClusterNodePoolRequest {
            cluster_id: "eck-1".into(),
            nodepool_info: info(),
            scaling_group: Some(group()),
            kubernetes_config: None,
        });
        round_trip(ens::DeleteClusterNodePoolRequest {
            cluster_id: "eck-1".into(),
            nodepool_id: "np-1".into(),
        });
    }

    #[test]
    fn nested_values_are_compact_json_in_field_order_and_none_is_left_out() {
        let request = ens::CreateClusterNodePoolRequest {
            cluster_id: "eck-1".into(),
            nodepool_info: info(),
            scaling_group: group(),
            kubernetes_config: None,
        };
        assert_eq!(
            request.to_params(),
            pairs(&[
                ("ClusterId", "eck-1"),
                (
                    "NodepoolInfo",
                    r#"{"Name":"workers","EnsRegionId":"cn-hangzhou-44"}"#
                ),
                (
                    "ScalingGroup",
                    r#"{"ImageId":"img-1","InstanceTypes":["ens.sn1.small"],"DesiredSize":2,"DataDisks":[{"Category":"cloud_efficiency","Size":40}]}"#
                ),
            ])
        );
        let delete = ens::DeleteClusterNodesRequest {
            cluster_id: "eck-1".into(),
            nodes: vec!["i-1".into()],
            release_node: Some(false),
        };
        assert_eq!(
            delete.to_params(),
            pairs(&[
                ("ClusterId", "eck-1"),
                ("Body", r#"{"Nodes":["i-1"]}"#),
                ("ReleaseNode", "false"),
            ])
        );
    }

    #[test]
    fn unknown_parameters_are_ignored_and_the_first_of_a_repeated_name_counts() {
        let request = ens::DeleteClusterNodePoolRequest::from_params(&pairs(&[
            ("Action", "DeleteClusterNodePool"),
            ("NodepoolId", "np-1"),
            ("ClusterId", "eck-1"),
            ("ClusterId", "eck-2"),
        ]))
        .unwrap();
        assert_eq!(request.cluster_id, "eck-1");
        assert_eq!(request.nodepool_id, "np-1");
    }

    #[test]
    fn a_missing_or_empty_required_parameter_is_named() {
        let missing =
            ens::DeleteClusterNodePoolRequest::from_params(&pairs(&[("ClusterId", "eck-1")]))
                .unwrap_err();
        assert_eq!(missing, EnsParamError::Missing("NodepoolId".into()));
        assert_eq!(missing.to_string(), "the parameter NodepoolId is required");
        let empty = ens::DeleteClusterNodePoolRequest::from_params(&pairs(&[
            ("ClusterId", ""),
            ("NodepoolId", "np-1"),
        ]))
        .unwrap_err();
        assert_eq!(empty, EnsParamError::Missing("ClusterId".into()));
        // Inside the JSON `Body`, a required part is named with its path.
        let count = ens::ScaleClusterNodePoolRequest::from_params(&pairs(&[
            ("ClusterId", "eck-1"),
            ("NodepoolId", "np-1"),
            ("Body", "{}"),
        ]))
        .unwrap_err();
        assert_eq!(count, EnsParamError::Missing("Body.Count".into()));
    }

    #[test]
    fn a_non_number_and_a_non_boolean_are_malformed() {
        let number = ens::DescribeClusterNodePoolsRequest::from_params(&pairs(&[
            ("ClusterId", "eck-1"),
            ("PageSize", "ten"),
        ]))
        .unwrap_err();
        assert_eq!(
            number.to_string(),
            "the parameter PageSize is malformed: invalid digit found in string"
        );
        let boolean = ens::DeleteClusterNodesRequest::from_params(&pairs(&[
            ("ClusterId", "eck-1"),
            ("Body", r#"{"Nodes":[]}"#),
            ("ReleaseNode", "yes"),
        ]))
        .unwrap_err();
        assert_eq!(
            boolean.to_string(),
            r#"the parameter ReleaseNode is malformed: "yes" is not true or false"#
        );
    }

    #[test]
    fn bad_json_is_malformed_with_serde_json_s_reason() {
        let error = ens::CreateClusterNodePoolRequest::from_params(&pairs(&[
            ("ClusterId", "eck-1"),
            ("NodepoolInfo", r#"{"Name":"a"} x"#),
            ("ScalingGroup", "{}"),
        ]))
        .unwrap_err();
        let reason = serde_json::from_str::<ens::NodepoolInfo>(r#"{"Name":"a"} x"#)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            EnsParamError::Malformed {
                name: "NodepoolInfo".into(),
                reason
            }
        );
    }

    #[test]
    fn a_body_that_cannot_be_read_is_reported_before_other_errors() {
        let unreadable = ens::ScaleClusterNodePoolRequest::from_params(&pairs(&[("Body", "{")]));
        assert!(
            matches!(unreadable, Err(EnsParamError::Malformed { ref name, .. }) if name == "Body"),
            "{unreadable:?}"
        );
        let absent = ens::DeleteClusterNodesRequest::from_params(&[]);
        assert_eq!(absent, Err(EnsParamError::Missing("Body".into())));
        // What must hold inside a readable body comes in field order.
        let partial = ens::ScaleClusterNodePoolRequest::from_params(&pairs(&[("Body", "{}")]));
        assert_eq!(partial, Err(EnsParamError::Missing("ClusterId".into())));
    }

    #[test]
    fn only_structs_are_parameters() {
        assert!(to_params(&5).is_err());
        assert!(from_params::<i64>(&[]).is_err());
    }
}
