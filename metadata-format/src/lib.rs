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
    *CPUS.get_or_init(|| {
        // One sched_getaffinity (std's available_parallelism also reads the cgroup's CPU
        // quota: four more system calls, which cost more than they tell here).
        // SAFETY: `set` is a plain C bitmask, valid when all-zero; the call writes at most
        // `size_of::<cpu_set_t>()` bytes into it and only reads it afterwards.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 is this thread; the size and pointer describe `set` exactly.
        let rc =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
        // SAFETY: `set` was filled by the kernel (or is still all-zero on failure).
        rc == 0 && unsafe { libc::CPU_COUNT(&set) } > 1
    })
}
