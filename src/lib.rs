//! nodepool-operator: declare Huawei Cloud CCE, Huawei Cloud ModelArts and Alibaba Cloud ENS
//! node pools as Kubernetes resources.
//!
//! - [`api`]: the `NodePool` and `CloudAccount` custom resources (the CRDs are generated from
//!   these types);
//! - [`controller`]: the reconcile pipeline (observe, validate, plan, apply, cleanup, status);
//! - [`provider`]: the one door to a cloud, the [`provider::NodePoolProvider`] trait, and its
//!   three clients, which speak the wire types and signatures of the `nodepool-wire` crate;
//! - [`import`]: NodePool manifests for the pools a cloud already runs;
//! - [`leader`]: leader election on a Lease, so of several processes one reconciles;
//! - [`cli`]: the `nodepool-operator` command (`run`, `crds`, `import`).
//!
//! The cloud simulator (`nodepool-sim`) and the local try-it-out command (`nodepool-dev`) are
//! crates of their own in this workspace; nothing of them is compiled into the operator.

pub mod api;
pub mod cli;
pub mod controller;
pub mod import;
pub mod leader;
pub mod provider;
