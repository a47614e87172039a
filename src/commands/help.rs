//! `oxlvm help [COMMAND]`: the command list, or one command's help.

use crate::cli::{find_command, CommandSpec, COMMANDS};
use crate::error::{CmdError, CmdResult};
use std::ffi::OsString;

pub fn run(_spec: &'static CommandSpec, args: &[OsString]) -> CmdResult {
    let topic = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .find(|a| !a.starts_with('-'));
    match topic {
        None => {
            print!("{}", command_list());
            Ok(())
        }
        Some(name) => match find_command(&name) {
            Some(spec) if spec.built && spec.name != "help" => {
                let argv = [OsString::from(spec.name), OsString::from("--help")];
                (spec.run)(spec, &argv)
            }
            Some(spec) => {
                println!("  {:<16}{}", spec.name, spec.summary);
                Ok(())
            }
            None => Err(CmdError::usage(format!(
                "No such command '{name}'. Try 'oxlvm help' for the list of commands."
            ))),
        },
    }
}

fn command_list() -> String {
    let mut out = String::from(
        "  Available lvm commands:\n  Use 'lvm help <command>' for more information\n\n",
    );
    for spec in COMMANDS
        .iter()
        .filter(|c| c.name != "oxlvm" && c.name != "lvm")
    {
        let note = if spec.built { "" } else { " (not built yet)" };
        out.push_str(&format!("  {:<16}{}{}\n", spec.name, spec.summary, note));
    }
    out.push('\n');
    out
}
