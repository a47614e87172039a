//! One module per command family. Each `run` parses its own options and follows the one path:
//! scan -> plan -> commit -> kernel -> report.

pub mod activate;
pub mod context;
pub mod display_cmds;
pub mod help;
pub mod lv;
pub mod lv_activate;
pub mod lv_convert;
pub mod lv_fs;
pub mod lv_io;
pub mod lv_online;
pub mod lv_plan;
pub mod lv_raid;
pub mod lv_status;
pub mod pv;
pub mod pv_change;
pub mod pvck;
pub mod pvmove;
pub mod pvmove_plan;
pub mod report_cmds;
pub mod select_objects;
pub mod shared;
pub mod thin_overcommit;
pub mod thin_txn;
pub mod version;
pub mod vg;
pub mod vg_args;
pub mod vg_backup;
pub mod vg_change;
pub mod vg_check;
pub mod vg_export;
pub mod vg_plan;
pub mod vg_split;

/// Leaves `value` to the process's exit instead of freeing it now. A command ends right after
/// it reports: the VG model it read is tens of thousands of small allocations (30,000 LVs are
/// ~300,000), and handing them back one by one costs as much as a fifth of the whole command,
/// while the exit returns the memory at once. Only for what a command holds until it returns.
pub(crate) fn free_at_exit<T>(value: T) {
    std::mem::forget(value);
}
