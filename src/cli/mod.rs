//! Command-line entry: picks the command from argv[0] or the first argument, parses its
//! options with clap under LVM2's spellings, and maps every outcome to LVM2's exit codes.

mod common;
pub mod docs;
pub mod lvm2_options;
pub mod progress;
pub mod prompt;
mod table;

pub use common::{describe, parse_args, CommonArgs, YesNo};
pub use table::{find_command, CommandSpec, COMMANDS};

use crate::error::{CmdError, EXIT_USAGE};
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// Names under which the binary acts as a shell over all commands rather than as one command.
const SUITE_NAMES: &[&str] = &["oxlvm", "lvm"];

/// Runs the command named by `argv` and returns the process exit code.
pub fn run(argv: Vec<OsString>) -> i32 {
    match resolve(&argv) {
        Ok((spec, rest)) => finish(spec.name, (spec.run)(spec, rest)),
        Err(err) => report(None, &err),
    }
}

/// Splits argv into the command to run and its arguments (the command name first, as clap
/// expects it).
fn resolve(argv: &[OsString]) -> Result<(&'static CommandSpec, &[OsString]), CmdError> {
    let invoked = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(OsStr::to_string_lossy)
        .unwrap_or_default();
    if let Some(spec) = find_command(&invoked) {
        if !SUITE_NAMES.contains(&invoked.as_ref()) {
            return Ok((spec, argv));
        }
    }
    // `oxlvm CMD ...` or `oxlvm lvm CMD ...`.
    let mut at = 1;
    while let Some(word) = argv.get(at) {
        let word = word.to_string_lossy();
        if word == "lvm" || word == "oxlvm" {
            at += 1;
            continue;
        }
        if word == "--version" {
            let spec = find_command("version").ok_or_else(|| CmdError::usage("no version"))?;
            return Ok((spec, &argv[at..]));
        }
        if word == "-h" || word == "--help" {
            let spec = find_command("help").ok_or_else(|| CmdError::usage("no help"))?;
            return Ok((spec, &argv[at..at + 1]));
        }
        return match find_command(&word) {
            Some(spec) => Ok((spec, &argv[at..])),
            None => Err(CmdError::usage(format!(
                "No such command '{word}'. Try 'oxlvm help' for the list of commands."
            ))),
        };
    }
    Err(CmdError::usage(
        "No command given. Try 'oxlvm help' for the list of commands.",
    ))
}

fn finish(name: &str, result: Result<(), CmdError>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(err) => report(Some(name), &err),
    }
}

/// Prints an error as LVM2 does (two-space indent, on stderr) and returns its exit code.
fn report(_command: Option<&str>, err: &CmdError) -> i32 {
    let msg = err.message();
    if !msg.is_empty() {
        eprintln!("  {msg}");
    }
    let code = err.exit_code();
    debug_assert!(code == EXIT_USAGE || code == crate::error::EXIT_FAILED);
    code
}
