//! LVM2's text metadata language and the typed VG model built from it.
//!
//! Every LVM2 metadata copy, backup file and lvm.conf is written in one small configuration
//! language, so there is one parser (`parse_config`) producing a generic ordered tree.

mod error;
mod parse;
mod tree;

pub use error::TextError;
pub use parse::{parse_config, MAX_DEPTH};
pub use tree::{line_at, Array, Item, Node, Scalar, Section, Value};
