//! Options every LVM2 command accepts, and the clap glue that turns clap's outcomes into
//! LVM2's: `--help` prints and succeeds, any other parse problem is one line and exit 3.

use crate::error::CmdError;
use clap::{Args, CommandFactory, FromArgMatches, ValueEnum};
use std::ffi::OsString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum YesNo {
    #[value(name = "y", alias = "yes")]
    Y,
    #[value(name = "n", alias = "no")]
    N,
}

impl YesNo {
    pub fn is_yes(self) -> bool {
        self == YesNo::Y
    }
}

/// LVM2's common options. Parsed by every command so scripts that pass them never fail.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// Set verbose level; repeat from 1 to 4 times to increase the detail
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Suppress output and log messages; repeat to also suppress prompts
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Set debug level; repeat to increase the detail
    #[arg(short = 'd', long = "debug", action = clap::ArgAction::Count)]
    pub debug: u8,
    /// Run in test mode: do everything but write to disk or to the kernel
    #[arg(short = 't', long = "test")]
    pub test: bool,
    /// Configuration settings that override lvm.conf, as a config string
    #[arg(long = "config", value_name = "STRING")]
    pub config: Vec<String>,
    /// Use only these devices (repeatable, or comma-separated)
    #[arg(long = "devices", value_name = "PV", value_delimiter = ',')]
    pub devices: Vec<String>,
    /// A devices file to use instead of the default
    #[arg(long = "devicesfile", value_name = "STRING")]
    pub devicesfile: Option<String>,
    /// Whether the device-mapper kernel driver may be used (n: metadata only)
    #[arg(long = "driverloaded", value_name = "y|n")]
    pub driverloaded: Option<YesNo>,
    /// Disable locking (accepted for compatibility; locking is still used for safety)
    #[arg(long = "nolocking")]
    pub nolocking: bool,
    /// Locking options for lvmlockd
    #[arg(long = "lockopt", value_name = "STRING")]
    pub lockopt: Option<String>,
    /// A command profile to use
    #[arg(long = "commandprofile", value_name = "STRING")]
    pub commandprofile: Option<String>,
    /// A metadata or command profile to use
    #[arg(long = "profile", value_name = "STRING")]
    pub profile: Option<String>,
}

thread_local! {
    /// Set while [`describe`] runs a command: `parse_args` hands over the command's clap
    /// definition instead of parsing, and the command returns at once.
    static DESCRIBING: std::cell::RefCell<Option<Option<clap::Command>>> =
        const { std::cell::RefCell::new(None) };
}

/// The clap definition of the command `run` parses, as `parse_args` configures it. Every
/// command's run function starts with `parse_args` (the man pages, completions and
/// `tests/cli_docs.rs` rely on it), so nothing else of the command runs here.
pub fn describe(spec: &'static super::CommandSpec) -> Option<clap::Command> {
    if !spec.built {
        return None;
    }
    DESCRIBING.with(|d| *d.borrow_mut() = Some(None));
    let _ = (spec.run)(spec, &[OsString::from(spec.name)]);
    DESCRIBING.with(|d| d.borrow_mut().take()).flatten()
}

/// Parses `argv` (command name first) into `T`. `Ok(None)` means help or version was printed
/// and the command has nothing more to do.
pub fn parse_args<T>(argv: &[OsString]) -> Result<Option<T>, CmdError>
where
    T: CommandFactory + FromArgMatches,
{
    let name = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = std::path::Path::new(&name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(name);
    let command = T::command()
        .name(name.clone())
        .bin_name(name.clone())
        .infer_long_args(true)
        .disable_version_flag(true);
    let handed_over = DESCRIBING.with(|d| match d.borrow_mut().as_mut() {
        Some(slot) => {
            *slot = Some(command.clone());
            true
        }
        None => false,
    });
    if handed_over {
        return Ok(None);
    }
    match command.try_get_matches_from(argv) {
        Ok(matches) => T::from_arg_matches(&matches)
            .map(Some)
            .map_err(|e| usage_error(&name, &e)),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            | clap::error::ErrorKind::DisplayVersion => {
                print!("{}", e.render());
                Ok(None)
            }
            _ => Err(usage_error(&name, &e)),
        },
    }
}

/// clap's message is several lines; LVM2 users get one line naming the problem and the fix.
fn usage_error(command: &str, err: &clap::Error) -> CmdError {
    // An option LVM2's command has and oxlvm's does not: not built yet, not a typo.
    if err.kind() == clap::error::ErrorKind::UnknownArgument {
        if let Some(clap::error::ContextValue::String(arg)) =
            err.get(clap::error::ContextKind::InvalidArg)
        {
            let name = arg.trim_start_matches("--");
            let name = name.split('=').next().unwrap_or(name);
            if arg.starts_with("--") && super::lvm2_options::lvm2_has(command, name) {
                return CmdError::usage(format!(
                    "{command} --{name} is not built yet in oxlvm {}; use LVM2's {command} for it meanwhile.",
                    env!("CARGO_PKG_VERSION")
                ));
            }
        }
    }
    let rendered = err.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut first = first.to_string();
    // "The following required arguments were not provided:" names them on the next line.
    if first.ends_with(':') {
        if let Some(next) = lines.next() {
            first.push(' ');
            first.push_str(next);
        }
    }
    if let Some(c) = first.get(..1) {
        let upper = c.to_uppercase();
        first.replace_range(..1, &upper);
    }
    let first = first.trim_end_matches('.');
    CmdError::usage(format!("{first}. Run '{command} --help' for usage."))
}
