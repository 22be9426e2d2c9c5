//! RPC parameters as a request type's serde representation: one parameter per struct field,
//! named as serde names the field, in field order (the order the query string is built in).
//! Scalars travel as their text, nested structs, maps and lists as one parameter holding
//! compact JSON, and `None` is left out. Reading back, a missing parameter, an empty required
//! string, a bad number or boolean and bad JSON are [`EnsParamError`]s naming the parameter,
//! checked in field order unless some fields are to be checked first.

mod decode;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ens::EnsParamError;
use decode::{DecodeError, RequestDeserializer};

/// A value that cannot be RPC parameters: not a struct, or a field serde cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode RPC parameters: {0}")]
pub struct EncodeError(String);

/// The parameters of `request`, a struct: its fields in order (serde_json keeps the order),
/// scalars as text, everything nested as compact JSON.
pub fn to_params<T: Serialize + ?Sized>(request: &T) -> Result<Vec<(String, String)>, EncodeError> {
    let fields = match serde_json::to_value(request) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err(EncodeError("RPC parameters must be a struct".into())),
        Err(error) => return Err(EncodeError(error.to_string())),
    };
    Ok(fields
        .into_iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::Null => return None,
                Value::String(text) => text,
                scalar @ (Value::Bool(_) | Value::Number(_)) => scalar.to_string(),
                nested @ (Value::Array(_) | Value::Object(_)) => nested.to_string(),
            };
            Some((name, text))
        })
        .collect())
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
