//! `oxlvm help [COMMAND]`: the command list, or one command's help.

use crate::cli::{find_command, parse_args, CommandSpec, CommonArgs, COMMANDS};
use crate::error::{CmdError, CmdResult};
use clap::Parser;
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(about = "Display help for commands")]
struct HelpArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The command to describe; without it, all commands are listed
    #[arg(value_name = "COMMAND")]
    topic: Option<String>,
}

pub fn run(_spec: &'static CommandSpec, args: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<HelpArgs>(args)? else {
        return Ok(());
    };
    match args.topic {
        None => {
            print!("{}", command_list());
            Ok(())
        }
        Some(name) => match find_command(&name) {
            Some(spec) if spec.built && !matches!(spec.name, "help" | "oxlvm" | "lvm") => {
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
