//! oxlvm: a userspace volume manager compatible with LVM2 on disk and in the kernel.
//! Every command takes one path: scan -> pure plan -> crash-safe commit -> kernel -> report.

pub mod alloc;
pub mod cli;
pub mod commands;
pub mod config;
pub mod container;
pub mod dm;
pub mod error;
pub mod host;
pub mod lockd;
pub mod names;
pub mod report;
pub mod store;
pub mod system_id;
pub mod units;
