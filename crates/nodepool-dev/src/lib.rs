//! `nodepool-dev`: nodepool-operator on one machine, for trying it and for its tests. It finds
//! the current cluster or starts a real etcd + kube-apiserver ([`local_cluster`]), installs the
//! CRDs, serves the cloud simulator and runs the controller, all in one process tree. The
//! production operator (`nodepool-operator`) contains none of this.

pub mod cli;
pub mod local_cluster;
