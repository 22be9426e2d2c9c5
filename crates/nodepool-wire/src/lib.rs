//! `nodepool-wire`: what the operator's cloud clients and the simulator `nodepool-sim` must
//! agree on byte for byte. The request and response types of each cloud API ([`cce`],
//! [`modelarts`], [`ens`], [`iam`], [`huawei_error`]) and the request signatures of both clouds
//! ([`signing`]: clients sign, the simulator verifies).
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
pub mod rpc_params;
pub mod signing;

/// Unmodelled fields of a JSON object.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// For `skip_serializing_if`: a value equal to its default was absent from the document.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
