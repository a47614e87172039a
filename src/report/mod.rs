//! The report engine behind `pvs`, `vgs`, `lvs` (and later `lvm fullreport`): renders rows of
//! typed values exactly as LVM2 2.03.16 prints them, because scripts parse that output by column,
//! by `LVM2_*=` name or as JSON. It reads no disks; commands compute the values.
//!
//! Flow: [`ReportSpec::parse`] turns `-o`/`-O` arguments and [`ReportOptions`] into a layout and
//! says which fields to compute ([`ReportSpec::columns`]); the caller builds one [`Row`] per
//! object with a [`FieldValue`] per column, in that order; [`render`] returns the text (stdout,
//! each line already carrying LVM2's two-space prefix). Several reports in one JSON document
//! (`fullreport`) go through [`ReportDocument`].
//!
//! ```
//! use oxlvm::report::{render, FieldId, FieldValue, ReportKind, ReportOptions, ReportSpec};
//! let spec = ReportSpec::parse(ReportKind::Vg, &["vg_name,vg_size".into()], &[],
//!                              &ReportOptions::default()).unwrap();
//! let rows: Vec<Vec<FieldValue>> = vec![spec.columns().iter().map(|&f| match f {
//!     FieldId::VG_NAME => FieldValue::str("vg0"),
//!     _ => FieldValue::Size(38 * 2048),
//! }).collect()];
//! assert_eq!(render(&spec, &rows), "  VG  VSize \n  vg0 38.00m\n");
//! ```
//!
//! `--select` is not implemented yet; it will filter rows before widths are computed (LVM2
//! sizes columns by the selected rows only).

mod fields;
mod registry;
mod render;
mod size;
mod spec;
mod value;

pub use registry::{FieldId, FieldType, ObjType, ObjTypes};
pub use render::{render, ReportDocument, LINE_PREFIX};
pub use size::{
    format_size, make_percent, write_percent, write_size, Units, PERCENT_100, PERCENT_INVALID,
};
pub use spec::{ReportFormat, ReportKind, ReportOptions, ReportSpec, RowObjects};
pub use value::{FieldValue, Row};
