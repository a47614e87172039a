//! One module per command family. Each `run` parses its own options and follows the one path:
//! scan -> plan -> commit -> kernel -> report.

pub mod context;
pub mod help;
pub mod pv;
pub mod pvck;
pub mod version;
pub mod vg;
