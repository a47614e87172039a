//! `oxlvm version`: what scripts read from `lvm version`, plus oxlvm's own version.

use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::CmdResult;
use clap::Parser;
use std::ffi::OsString;

/// The LVM2 release whose on-disk format and interface this build follows.
pub const LVM2_COMPAT_VERSION: &str = "2.03.16(2)";

#[derive(Debug, Parser)]
#[command(about = "Display software and driver version information")]
struct VersionArgs {
    #[command(flatten)]
    common: CommonArgs,
}

pub fn run(_spec: &'static CommandSpec, args: &[OsString]) -> CmdResult {
    let Some(_args) = parse_args::<VersionArgs>(args)? else {
        return Ok(());
    };
    let ours = env!("CARGO_PKG_VERSION");
    println!("  LVM version:     {LVM2_COMPAT_VERSION} (oxlvm {ours})");
    println!("  Library version: oxlvm {ours}");
    println!("  Driver version:  {}", driver_version());
    println!("  Configuration:   oxlvm multicall binary, LVM2 text format 1");
    Ok(())
}

/// The device-mapper driver version as the kernel reports it in sysfs, if there is one.
fn driver_version() -> String {
    match std::fs::read_to_string("/sys/module/dm_mod/version") {
        Ok(v) => v.trim().to_string(),
        Err(_) => "none (no device-mapper in this kernel)".to_string(),
    }
}
