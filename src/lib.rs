//! nodepool-operator: declare Huawei Cloud CCE, Huawei Cloud ModelArts and Alibaba Cloud ENS
//! node pools as Kubernetes resources.
//!
//! The crate is organised by role:
//! - [`wire`]: request and response types of each cloud API, shared by the simulator and the
//!   cloud clients;
//! - [`signing`]: the request signatures of both clouds (Huawei SDK-HMAC-SHA256, Alibaba V1 and
//!   V3), used by clients to sign and by the simulator to verify;
//! - [`sim`]: `nodepool-sim`, a local simulator of the three node-pool APIs;
//! - [`local_cluster`]: a real etcd and kube-apiserver on loopback, for `dev` and the tests.

pub mod api;
pub mod cli;
pub mod controller;
pub mod local_cluster;
pub mod provider;
pub mod signing;
pub mod sim;
pub mod wire;
