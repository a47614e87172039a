//! The command table: every LVM2 command name, what it does, and the function that runs it.
//! A name whose command is not built yet still resolves, so it can say so (exit 3) instead of
//! being mistaken for a typo.

use crate::commands;
use crate::error::{CmdError, CmdResult};
use std::ffi::OsString;

pub type RunFn = fn(&'static CommandSpec, &[OsString]) -> CmdResult;

pub struct CommandSpec {
    pub name: &'static str,
    pub summary: &'static str,
    pub run: RunFn,
    /// False while the command is only a name: it exits 3 saying it is not built yet.
    pub built: bool,
}

macro_rules! built {
    ($name:literal, $summary:literal, $run:path) => {
        CommandSpec {
            name: $name,
            summary: $summary,
            run: $run,
            built: true,
        }
    };
}

macro_rules! planned {
    ($name:literal, $summary:literal) => {
        CommandSpec {
            name: $name,
            summary: $summary,
            run: not_built,
            built: false,
        }
    };
}

fn not_built(spec: &'static CommandSpec, _args: &[OsString]) -> CmdResult {
    Err(CmdError::usage(format!(
        "oxlvm: command '{}' is not built yet in oxlvm {}; use LVM2's {} meanwhile.",
        spec.name,
        env!("CARGO_PKG_VERSION"),
        spec.name
    )))
}

pub static COMMANDS: &[CommandSpec] = &[
    built!(
        "oxlvm",
        "Run a command of the suite: oxlvm COMMAND [ARGS]",
        commands::help::run
    ),
    built!(
        "lvm",
        "Run a command of the suite: lvm COMMAND [ARGS]",
        commands::help::run
    ),
    built!("help", "Display help for commands", commands::help::run),
    built!(
        "version",
        "Display software and driver version information",
        commands::version::run
    ),
    planned!("config", "Display and manipulate configuration information"),
    built!(
        "container",
        "Manage containers: thin snapshots of images, run in namespaces",
        crate::container::cli::container_cmd
    ),
    planned!("devtypes", "Display recognised built-in block device types"),
    planned!(
        "dumpconfig",
        "Display and manipulate configuration information"
    ),
    planned!("formats", "List available metadata formats"),
    built!(
        "image",
        "Manage container images stored as thin LV chains",
        crate::container::cli::image_cmd
    ),
    built!(
        "fullreport",
        "Display full report",
        commands::report_cmds::fullreport
    ),
    planned!("lastlog", "Display last command's log report"),
    built!(
        "lvchange",
        "Change the attributes of logical volume(s)",
        commands::lv::lvchange
    ),
    built!(
        "lvconvert",
        "Change logical volume layout",
        commands::lv_convert::lvconvert
    ),
    built!(
        "lvcreate",
        "Create a logical volume",
        commands::lv::lvcreate
    ),
    built!(
        "lvdisplay",
        "Display information about a logical volume",
        commands::display_cmds::lvdisplay
    ),
    built!(
        "lvextend",
        "Add space to a logical volume",
        commands::lv::lvextend
    ),
    planned!(
        "lvmconfig",
        "Display and manipulate configuration information"
    ),
    planned!("lvmdevices", "Manage the devices file"),
    planned!(
        "lvmdiskscan",
        "List devices that may be used as physical volumes"
    ),
    built!(
        "lvmerge",
        "Merge a snapshot into its origin (lvconvert --merge)",
        commands::lv_convert::lvmerge
    ),
    built!(
        "lvreduce",
        "Reduce the size of a logical volume",
        commands::lv::lvreduce
    ),
    built!(
        "lvremove",
        "Remove logical volume(s) from the system",
        commands::lv::lvremove
    ),
    built!(
        "lvrename",
        "Rename a logical volume",
        commands::lv::lvrename
    ),
    built!(
        "lvresize",
        "Resize a logical volume",
        commands::lv::lvresize
    ),
    built!(
        "lvs",
        "Display information about logical volumes",
        commands::report_cmds::lvs
    ),
    built!(
        "lvscan",
        "List all logical volumes in all volume groups",
        commands::display_cmds::lvscan
    ),
    built!(
        "lvsnapshot",
        "Create a snapshot of a logical volume (lvcreate -s)",
        commands::lv::lvsnapshot
    ),
    built!(
        "pvchange",
        "Change attributes of physical volume(s)",
        commands::pv_change::pvchange
    ),
    built!(
        "pvck",
        "Check metadata on physical volumes",
        commands::pvck::run
    ),
    built!(
        "pvcreate",
        "Initialize physical volume(s) for use by LVM",
        commands::pv::pvcreate
    ),
    built!(
        "pvdisplay",
        "Display various attributes of physical volume(s)",
        commands::display_cmds::pvdisplay
    ),
    built!(
        "pvmove",
        "Move extents from one physical volume to another",
        commands::pvmove::pvmove
    ),
    built!(
        "pvremove",
        "Remove LVM label(s) from physical volume(s)",
        commands::pv::pvremove
    ),
    built!(
        "pvresize",
        "Resize physical volume(s)",
        commands::pv_change::pvresize
    ),
    built!(
        "pvs",
        "Display information about physical volumes",
        commands::report_cmds::pvs
    ),
    built!(
        "pvscan",
        "List all physical volumes",
        commands::display_cmds::pvscan
    ),
    planned!("segtypes", "List available segment types"),
    planned!(
        "systemid",
        "Display the system ID, if any, currently set on this host"
    ),
    planned!("tags", "List tags defined on this host"),
    built!(
        "vgcfgbackup",
        "Backup volume group configuration(s)",
        commands::vg_backup::vgcfgbackup
    ),
    built!(
        "vgcfgrestore",
        "Restore volume group configuration",
        commands::vg_backup::vgcfgrestore
    ),
    built!(
        "vgchange",
        "Change volume group attributes",
        commands::vg_change::vgchange
    ),
    built!(
        "vgck",
        "Check the consistency of volume group(s)",
        commands::vg_check::vgck
    ),
    planned!("vgconvert", "Change volume group metadata format"),
    built!("vgcreate", "Create a volume group", commands::vg::vgcreate),
    built!(
        "vgdisplay",
        "Display volume group information",
        commands::display_cmds::vgdisplay
    ),
    built!(
        "vgexport",
        "Unregister volume group(s) from the system",
        commands::vg_export::vgexport
    ),
    built!(
        "vgextend",
        "Add physical volumes to a volume group",
        commands::vg_change::vgextend
    ),
    built!(
        "vgimport",
        "Register exported volume group with system",
        commands::vg_export::vgimport
    ),
    planned!("vgimportclone", "Import a VG from cloned PVs"),
    planned!(
        "vgimportdevices",
        "Add devices for a VG to the devices file"
    ),
    built!(
        "vgmerge",
        "Merge volume groups",
        commands::vg_split::vgmerge
    ),
    built!(
        "vgmknodes",
        "Create the special files for volume group devices in /dev",
        commands::lv_activate::vgmknodes
    ),
    built!(
        "vgreduce",
        "Remove physical volume(s) from a volume group",
        commands::vg_change::vgreduce
    ),
    built!("vgremove", "Remove volume group(s)", commands::vg::vgremove),
    built!(
        "vgrename",
        "Rename a volume group",
        commands::vg_change::vgrename
    ),
    built!(
        "vgs",
        "Display information about volume groups",
        commands::report_cmds::vgs
    ),
    built!(
        "vgscan",
        "Search for all volume groups",
        commands::display_cmds::vgscan
    ),
    built!(
        "vgsplit",
        "Move physical volumes into a new or existing volume group",
        commands::vg_split::vgsplit
    ),
];

pub fn find_command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
