//! One error type for everything that can be wrong with a text: its syntax, and the shape the
//! VG model needs. Every variant names the line so a user can find the problem in the file.

use thiserror::Error;

/// Why a text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TextError {
    #[error("line {line}: the text is not valid UTF-8")]
    NotUtf8 { line: usize },

    #[error("line {line}: the text ends inside {context}; it looks truncated")]
    UnexpectedEnd { line: usize, context: &'static str },

    #[error("line {line}: expected {expected}, found {found:?}")]
    Unexpected {
        line: usize,
        expected: &'static str,
        found: char,
    },

    #[error("line {line}: '{key}' must be followed by '=' or '{{'")]
    MissingEquals { line: usize, key: String },

    #[error("line {line}: empty key or section name")]
    EmptyKey { line: usize },

    #[error("line {line}: '{key}' appears more than once in the same section")]
    DuplicateKey { line: usize, key: String },

    #[error("line {line}: integer {text} is out of range")]
    IntegerOutOfRange { line: usize, text: String },

    #[error("line {line}: malformed number {text:?}")]
    InvalidNumber { line: usize, text: String },

    #[error("line {line}: sections are nested deeper than {limit} levels")]
    TooDeep { line: usize, limit: usize },

    #[error("line {line}: no volume group section found")]
    NoVolumeGroup { line: usize },

    #[error("line {line}: {section} has no '{key}'")]
    MissingKey {
        line: usize,
        section: String,
        key: &'static str,
    },

    #[error("line {line}: {section}: '{key}' must be {expected}")]
    WrongType {
        line: usize,
        section: String,
        key: String,
        expected: &'static str,
    },

    #[error("line {line}: {section}: '{key}' {reason}")]
    InvalidValue {
        line: usize,
        section: String,
        key: String,
        reason: String,
    },
}

impl TextError {
    /// The 1-based line the error refers to.
    pub fn line(&self) -> usize {
        match self {
            TextError::NotUtf8 { line }
            | TextError::UnexpectedEnd { line, .. }
            | TextError::Unexpected { line, .. }
            | TextError::MissingEquals { line, .. }
            | TextError::EmptyKey { line }
            | TextError::DuplicateKey { line, .. }
            | TextError::IntegerOutOfRange { line, .. }
            | TextError::InvalidNumber { line, .. }
            | TextError::TooDeep { line, .. }
            | TextError::NoVolumeGroup { line }
            | TextError::MissingKey { line, .. }
            | TextError::WrongType { line, .. }
            | TextError::InvalidValue { line, .. } => *line,
        }
    }
}
