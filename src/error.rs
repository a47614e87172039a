//! The one error type commands return, and its mapping to LVM2's exit codes
//! (0 success, 3 invalid command line, 5 command failed - "not found" included).

use std::fmt;

/// LVM2's exit code for an invalid command line.
pub const EXIT_USAGE: i32 = 3;
/// LVM2's exit code for a command that failed.
pub const EXIT_FAILED: i32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// The command line is wrong: bad option, bad value, missing argument.
    Usage(String),
    /// The command was understood but could not be carried out.
    Failed(String),
}

impl CmdError {
    pub fn usage(msg: impl Into<String>) -> Self {
        CmdError::Usage(msg.into())
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        CmdError::Failed(msg.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CmdError::Usage(_) => EXIT_USAGE,
            CmdError::Failed(_) => EXIT_FAILED,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CmdError::Usage(m) | CmdError::Failed(m) => m,
        }
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for CmdError {}

pub type CmdResult<T = ()> = Result<T, CmdError>;
