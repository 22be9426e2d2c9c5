//! Request and response types of each cloud API, shared by the cloud clients and the simulator.
//!
//! Every struct keeps the fields it does not model in `extra` (`#[serde(flatten)]`), and every
//! optional field is skipped when absent, so a document read and written again is unchanged:
//! a client never drops what the cloud added, and the contract tests check exactly that
//! against the documented examples under `tests/fixtures/`.

pub mod cce;
pub mod ens;
pub mod huawei_error;
pub mod iam;
pub mod modelarts;

/// Unmodelled fields of a JSON object.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// For `skip_serializing_if`: a value equal to its default was absent from the document.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
