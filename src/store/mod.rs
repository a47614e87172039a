//! The store: everything that touches PVs - block I/O, LVM2's lock files, scanning, the
//! crash-safe commit protocol, archives and backups.

pub mod archive;
pub mod commit;
pub mod device;
pub mod devices;
pub mod lock;
pub mod scan;
pub mod signatures;
