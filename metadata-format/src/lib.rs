//! LVM2's on-disk format as typed values: bytes in, bytes out, no device access.
//! Everything here is pure so it can be unit-tested on fixtures and fuzzed.

pub mod crc;
pub mod hash;
pub mod header;
pub mod text;

pub use hash::QuickHash;

/// Whether this process may run on more than one CPU (asked once). Work split over threads
/// (large parses and emits here, device scans and flushes in the tool) is only split when it
/// is: on one CPU a thread adds its own start and switches to the same work, and in an
/// emulated single-CPU guest a thread start costs more than the scan or flush it overlaps.
pub fn more_than_one_cpu() -> bool {
    static CPUS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}
