//! The report engine behind `pvs`, `vgs`, `lvs` and `lvm fullreport`: renders rows of typed
//! values exactly as LVM2 2.03.16 prints them, because scripts parse that output by column, by
//! `LVM2_*=` name or as JSON. It reads no disks; commands compute the values.
//!
//! Flow: [`ReportSpec::parse`] turns `-o`/`-O` arguments and [`ReportOptions`] into a layout and
//! says which fields to compute ([`ReportSpec::columns`], hidden sort keys included) and what
//! each row stands for ([`ReportSpec::row_objects`]: `pvs -o+lv_name` reports PV segments); the
//! caller builds one [`Row`] per object with a [`FieldValue`] per column, in that order;
//! [`render`] returns the text for stdout, every line already carrying LVM2's two-space prefix.
//! `lvm fullreport` builds one spec per sub-report with [`ReportSpec::parse_full`] and writes
//! them through a [`ReportDocument`] (one `begin_object`/`end_object` per VG).
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
//! Values follow LVM2's display functions, not only the field's type: `pe_start` is a number
//! column showing a size (pass `Size`), `seg_size_pe` a size column showing an extent count
//! (pass `Num`); hidden LV names are `FieldValue::lv_name(name, true)` (shown `[x]`, sorted as
//! `x`); numbers LVM2 leaves blank are `FieldValue::undefined()`; `auto` read-ahead and
//! `unmanaged` metadata copies have constructors; times (`lv_time`) arrive formatted, as
//! `TextNum(text, epoch)`. Percentages are LVM2's `dm_percent_t` ([`make_percent`]).
//!
//! Errors are LVM2's messages (exit code 5 for fields, 3 for `--units`); where LVM2 dumps its
//! whole field list before `Unrecognised field: foo`, the message points at `-o help` instead.
//! `--select` ([`ReportSpec::set_selection`], module `select`) adds the fields it reads as hidden
//! columns; [`render`] drops the rows that do not pass before widths are computed (LVM2 sizes
//! columns by the selected rows only).

mod fields;
mod help;
mod registry;
mod render;
mod select;
mod size;
mod spec;
mod value;
pub mod values;

pub use help::{field_help, selection_help};
pub use registry::{FieldId, FieldType, ObjType, ObjTypes};
pub use render::{render, ReportDocument, ReportRows, LINE_PREFIX};
pub use select::{Parsed as SelectionParse, Selection};
pub use size::{
    format_size, make_percent, write_percent, write_size, Units, PERCENT_100, PERCENT_INVALID,
};
pub use spec::{ReportFormat, ReportKind, ReportOptions, ReportSpec, RowObjects};
pub use value::{FieldValue, Row};
