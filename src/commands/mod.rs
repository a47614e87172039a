//! One module per command family. Each `run` parses its own options and follows the one path:
//! scan -> plan -> commit -> kernel -> report.

pub mod help;
pub mod pvck;
pub mod version;
