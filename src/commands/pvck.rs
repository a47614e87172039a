//! `pvck --dump headers|metadata DEV`: shows what is on a PV (or an image of one) as stored.

use crate::cli::CommandSpec;
use crate::error::{CmdError, CmdResult};
use std::ffi::OsString;

pub fn run(_spec: &'static CommandSpec, _args: &[OsString]) -> CmdResult {
    Err(CmdError::usage("pvck is being built"))
}
