//! Containers on oxlvm's own thin pools, Docker's storage model: images as chains of read-only
//! thin snapshots (one per layer), each container a writable thin snapshot of its image, all
//! bookkeeping in the VG's LV tags. A client of the core (VgSession: plan -> commit_vg ->
//! activation), with the runtime (namespaces, cgroup v2, pivot_root) beside it.

pub mod cli;
#[allow(clippy::module_inception)]
pub mod container;
pub mod extract;
pub mod fs;
pub mod image;
pub mod record;
pub mod runtime;
pub mod store;
