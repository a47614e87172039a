//! The one `oxlvm` binary: it dispatches on the name it was called by (`pvs`, `lvcreate`, ...)
//! or on its first argument (`oxlvm lvcreate ...`, also `oxlvm lvm lvcreate ...`), as LVM2's `lvm`.

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    std::process::exit(oxlvm::cli::run(args));
}
