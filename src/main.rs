//! The one `oxlvm` binary: it dispatches on the name it was called by (`pvs`, `lvcreate`, ...)
//! or on its first argument (`oxlvm lvcreate ...`, also `oxlvm lvm lvcreate ...`), as LVM2's `lvm`.

use std::ffi::OsString;

/// Blocks from this size on are mapped on their own and go back to the system when freed.
/// glibc's default moves this threshold up to the size of the largest such block freed (a
/// freed metadata text of 10 MB makes every later block below 10 MB come from the heap, where
/// a freed one stays resident); a fixed threshold keeps the peak of a command on a large VG
/// at what it holds at once (docs/PERFORMANCE.md, "Session 6: memory").
const MMAP_THRESHOLD: i32 = 256 * 1024;

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread
    // exists, and a refusal (return 0) leaves glibc's defaults, which are also correct.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
    let args: Vec<OsString> = std::env::args_os().collect();
    std::process::exit(oxlvm::cli::run(args));
}
