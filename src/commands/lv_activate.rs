//! Kernel activation for the commands: turns an LV of a scanned VG into its dm devices (through
//! `dm::tables` and `dm::apply`) and keeps /dev in step, or reports once that there is no
//! device-mapper and leaves the kernel alone, as LVM2 does with `--driverloaded n`.
//! The public calls are the seam other commands use: `Activation::{activate_lv, deactivate_lv,
//! is_active, active_lv_count, commit_pool_messages}` and `change_lvs` (lvchange -a); the
//! vgmknodes command lives here too.

use super::activate::ActivationChange;
use super::context::Context;
use crate::dm::apply::{self, Changes};
use crate::dm::ioctl::{Control, DevId};
use crate::dm::nodes::DevDir;
use crate::dm::tables::{
    dm_layer_name, dm_uuid, lv_tree, lv_tree_indexed, lvs_tree, DevNo, DmTree, TableOptions,
    VgIndex,
};
use crate::error::{CmdError, CmdResult};
use crate::store::scan::{FoundVg, Scan};
use metadata_format::text::{Id, LogicalVolume, Raid, RaidLevel, SegmentKind, VolumeGroup};
use std::cell::Cell;
use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// What LVM2 prints when it runs without device-mapper (`--driverloaded n`).
pub const ACTIVATION_DISABLED: &str =
    "WARNING: Activation disabled. No device-mapper interaction will be attempted.";

/// How to activate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivateOptions {
    /// `--readonly`.
    pub read_only: bool,
    /// Send the thin pools' pending messages (commands that create or remove thin LVs).
    pub send_messages: bool,
    /// What to do with LVs that reach a missing PV.
    pub mode: ActivationMode,
}

/// LVM2's activation modes (`--activationmode`, `activation/activation_mode`): which LVs with
/// extents on missing PVs may be activated. Those extents read and write as errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ActivationMode {
    /// Only LVs whose PVs are all present.
    Complete,
    /// Also RAID LVs that still hold every block (LVM2's default).
    #[default]
    Degraded,
    /// Any LV (`-P`/`--partial` too).
    Partial,
}

impl ActivationMode {
    /// The mode of a command: `--activationmode`, else `-P` (partial), else
    /// `activation/activation_mode`, else degraded. Partial mode is announced as LVM2 does.
    pub fn from_args(ctx: &Context, arg: Option<&str>, partial: bool) -> CmdResult<ActivationMode> {
        if let Some(a) = arg {
            if partial && a != "partial" {
                return Err(CmdError::usage(
                    "--partial and --activationmode are mutually exclusive arguments",
                ));
            }
        }
        let configured = ctx
            .config
            .get_str("activation/activation_mode")
            .map(str::to_string);
        let text = match (arg, partial) {
            (Some(a), _) => a.to_string(),
            (None, true) => "partial".to_string(),
            (None, false) => configured.unwrap_or_else(|| "degraded".to_string()),
        };
        let mode = match text.as_str() {
            "complete" => ActivationMode::Complete,
            "degraded" => ActivationMode::Degraded,
            "partial" => ActivationMode::Partial,
            other => {
                return Err(CmdError::usage(format!(
                    "Invalid activation mode given: {other}; use complete, degraded or partial."
                )))
            }
        };
        if mode == ActivationMode::Partial {
            ctx.warn("PARTIAL MODE. Incomplete logical volumes will be processed.");
        }
        Ok(mode)
    }
}

/// Whether a RAID LV still holds all its data with the images in `partial` gone (LVM2's
/// `raid_is_available`): raid1 needs one image, raid4/5 may lose one, raid6 two, raid10
/// one per mirror pair, raid0 none.
fn raid_is_available(raid: &Raid, partial: &[String]) -> bool {
    let lost: Vec<bool> = raid
        .images
        .iter()
        .map(|i| partial.contains(&i.data))
        .collect();
    let missing = lost.iter().filter(|l| **l).count();
    match raid.level {
        RaidLevel::Raid1 => missing < lost.len(),
        RaidLevel::Raid10 | RaidLevel::Raid10Near => {
            // Two copies of each chunk, on images i and i+1 (mod n) for even i < 2n.
            let n = lost.len();
            (0..2 * n)
                .step_by(2)
                .all(|i| !(lost[i % n] && lost[(i + 1) % n]))
        }
        RaidLevel::Raid0 | RaidLevel::Raid0Meta => missing == 0,
        RaidLevel::Raid4
        | RaidLevel::Raid5
        | RaidLevel::Raid5Ls
        | RaidLevel::Raid5N
        | RaidLevel::Raid5La
        | RaidLevel::Raid5Ra
        | RaidLevel::Raid5Rs => missing <= 1,
        _ => missing <= 2,
    }
}

/// LVM2's check before activating an LV that reaches a missing PV: allowed in partial mode,
/// and in degraded mode for a RAID LV that still holds all its data; otherwise the one-line
/// refusal LVM2 prints.
fn check_partial(
    vg: &VolumeGroup,
    lv_name: &str,
    missing: &[Id],
    mode: ActivationMode,
) -> CmdResult {
    if missing.is_empty() || mode == ActivationMode::Partial {
        return Ok(());
    }
    let partial = super::vg_plan::partial_lvs(vg, missing);
    if !partial.iter().any(|p| p == lv_name) {
        return Ok(());
    }
    let raid = vg
        .lv(lv_name)
        .and_then(|lv| lv.segments.first())
        .and_then(|s| match &s.kind {
            SegmentKind::Raid(r) => Some(r),
            _ => None,
        });
    let display = format!("{}/{lv_name}", vg.name);
    match raid {
        Some(r) if raid_is_available(r, &partial) => {
            if mode == ActivationMode::Degraded {
                Ok(())
            } else {
                Err(CmdError::failed(format!(
                    "Refusing activation of partial LV {display}.  Try '--activationmode degraded'."
                )))
            }
        }
        _ => Err(CmdError::failed(format!(
            "Refusing activation of partial LV {display}.  Use '--activationmode partial' to override."
        ))),
    }
}

/// What the activation of many LVs of one VG shares (see [`Activation::prepare`]).
pub(crate) struct VgPrep<'a> {
    index: VgIndex<'a>,
    missing: Vec<Id>,
    pvs: HashMap<Id, DevNo>,
    /// Some snapshot of the VG is merging (else no LV needs merge_postponed's look).
    merging: bool,
    /// The dm devices that exist, listed once for a whole VG's activation (so a device
    /// that does not exist yet is not asked about), when the driver lists UUIDs.
    known: Option<apply::KnownDevices>,
}

impl<'a> VgPrep<'a> {
    pub(crate) fn index(&self) -> &VgIndex<'a> {
        &self.index
    }
}

/// The kernel side of one command: the dm control device when there is one.
pub struct Activation {
    control: Option<Control>,
    warned: Cell<bool>,
    dev: DevDir,
    test_mode: bool,
    /// LVM2's command-wide mirror_in_sync: set when a command drops the disk log of an
    /// in-sync active mirror, so its reload (and later mirror loads of the command) tell the
    /// kernel the legs are in sync (`nosync`).
    mirror_in_sync: Cell<bool>,
}

impl Activation {
    /// Opens device-mapper unless `--driverloaded n`, `global/activation = 0` or the kernel
    /// has none (no /dev/mapper/control, or it does not answer).
    pub fn new(ctx: &Context) -> Activation {
        let wanted = ctx.driver_loaded && ctx.config.get_bool("global/activation", true);
        let mut control = if wanted {
            Control::open().ok().filter(|c| c.version().is_ok())
        } else {
            None
        };
        let mut dev = DevDir::default();
        // With udev running, its rules make /dev (libdm's udev_sync and udev_rules, both on
        // by default; DM_DISABLE_UDEV or activation/udev_sync = 0 turn it off).
        if let Some(control) = control.as_mut() {
            if crate::dm::udev::udev_running() && ctx.config.get_bool("activation/udev_sync", true)
            {
                let rules = ctx.config.get_bool("activation/udev_rules", true);
                control.sync_with_udev(rules);
                dev.udev_makes_nodes = rules;
            }
        }
        Activation {
            control,
            warned: Cell::new(false),
            dev,
            test_mode: ctx.test_mode,
            mirror_in_sync: Cell::new(false),
        }
    }

    /// Sets LVM2's mirror_in_sync for the mirror tables the command loads from now on.
    pub fn set_mirror_in_sync(&self, in_sync: bool) {
        self.mirror_in_sync.set(in_sync);
    }

    /// Whether an active mirror has every region in sync (false when it is not active).
    pub fn mirror_in_sync(&self, vg: &VolumeGroup, lv: &LogicalVolume) -> bool {
        self.lv_status(vg, lv).is_some_and(|lines| {
            lines
                .iter()
                .find(|l| l.target_type == "mirror")
                .and_then(|l| crate::dm::status::parse_mirror(&l.params))
                .is_some_and(|st| st.insync_regions == st.total_regions)
        })
    }

    /// Waits until udev has made (or removed) the /dev entries of what this command changed
    /// so far; at once without udev. Before opening a device by its /dev path.
    pub fn settle(&self) {
        if let Some(control) = &self.control {
            if let Err(e) = control.udev_wait() {
                eprintln!("  WARNING: {e}");
            }
        }
    }

    /// Whether dm devices can be made here.
    pub fn available(&self) -> bool {
        self.control.is_some()
    }

    /// Prints, once per command, that activation is disabled when there is no device-mapper.
    pub fn warn_if_disabled(&self, ctx: &Context) {
        let _ = self.control(ctx);
    }

    /// The control device, after the one warning when there is none.
    pub(crate) fn control(&self, ctx: &Context) -> Option<&Control> {
        if self.control.is_none() && !self.warned.replace(true) {
            ctx.warn(ACTIVATION_DISABLED);
        }
        self.control.as_ref()
    }

    fn options(ctx: &Context, opts: ActivateOptions) -> TableOptions {
        let threshold = ctx
            .config
            .get_int("activation/thin_pool_autoextend_threshold")
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(100);
        TableOptions {
            // LVM2 drops mirrors' handle_errors only for `--monitor n`; `monitoring = 0` in
            // lvm.conf means "leave monitoring alone", which keeps it.
            monitoring: true,
            thin_pool_autoextend_threshold: threshold,
            read_only: opts.read_only,
            send_messages: opts.send_messages,
            no_merging: false,
            missing_pvs: Vec::new(),
            mirror_in_sync: false,
        }
    }

    /// The dm control device when there is one and the command may use it (not `--test`).
    pub(crate) fn live_control(&self) -> Option<&Control> {
        self.control.as_ref().filter(|_| !self.test_mode)
    }

    /// The dm control device, for reading only (reports), with no warning when there is none.
    pub(crate) fn quiet_control(&self) -> Option<&Control> {
        self.control.as_ref()
    }

    /// Where this command makes /dev entries.
    pub(crate) fn dev_dir(&self) -> &DevDir {
        &self.dev
    }

    /// The device tree of `lv_name`, with LVM2's decision whether a pending snapshot merge can
    /// start (not while the origin or the merging snapshot is open, unless it already runs),
    /// and the areas on the PVs `missing` mapped to error devices.
    fn tree_for_missing(
        &self,
        ctx: &Context,
        vg: &VolumeGroup,
        lv_name: &str,
        opts: ActivateOptions,
        missing: Vec<Id>,
    ) -> CmdResult<DmTree> {
        let mut options = Self::options(ctx, opts);
        options.no_merging = self.merge_postponed(vg, lv_name);
        options.missing_pvs = missing;
        options.mirror_in_sync = self.mirror_in_sync.get();
        lv_tree(vg, lv_name, &options).map_err(|e| CmdError::failed(e.to_string()))
    }

    /// LVM2's `no_merging` for the origin a tree of `lv_name` reaches.
    fn merge_postponed(&self, vg: &VolumeGroup, lv_name: &str) -> bool {
        let Some(control) = &self.control else {
            return false;
        };
        let origin = snapshot_origin(vg, lv_name).unwrap_or_else(|| lv_name.to_string());
        let Some(snap) = vg
            .lvs
            .iter()
            .flat_map(|l| &l.segments)
            .find_map(|s| match &s.kind {
                SegmentKind::Snapshot(sn) if sn.merging && sn.origin == origin => Some(sn),
                _ => None,
            })
        else {
            return false;
        };
        let info = |lv: &str| {
            vg.lv(lv)
                .and_then(|l| control.info(DevId::Uuid(&lv_uuid(vg, l))).ok().flatten())
        };
        let Some(origin_info) = info(&origin) else {
            return false; // activating now: the merge starts
        };
        let merging = control
            .table(DevId::Uuid(&origin_info.uuid))
            .is_ok_and(|t| t.iter().any(|l| l.target_type == "snapshot-merge"));
        if merging {
            return false;
        }
        origin_info.open_count > 0 || info(&snap.cow).is_some_and(|i| i.open_count > 0)
    }

    /// Whether [`Activation::update_and_reload`] of the LV `old_name` of `found` would reach
    /// the kernel; false when it would only commit (no device-mapper - warned once, as the
    /// reload warns -, `--test`, no device of the LV active), so a caller can commit its
    /// planned VG itself instead of keeping it for the reload's tables.
    pub fn reload_needed(&self, ctx: &Context, found: &FoundVg, old_name: &str) -> bool {
        let Some(control) = self.control(ctx).filter(|_| !self.test_mode) else {
            return false;
        };
        let mut options = Self::options(ctx, ActivateOptions::default());
        options.missing_pvs = super::vg_plan::missing_pv_ids(found);
        let tree = lv_tree(&found.metadata.vg, old_name, &options).unwrap_or_default();
        let exists = |uuid: &str| control.info(DevId::Uuid(uuid)).ok().flatten().is_some();
        tree.top.iter().any(|&t| exists(&tree.nodes[t].uuid))
            || tree
                .nodes
                .iter()
                .any(|n| n.layer == Some("tpool") && n.lv == old_name && exists(&n.uuid))
    }

    /// LVM2's lv_update_and_reload: the LV `new_name` of `new_vg` (`old_name` in `found`) gets
    /// its new tables loaded, the devices whose tables change are suspended, `commit` writes
    /// the metadata, and everything resumes (renamed where names changed); devices the LV no
    /// longer uses are removed and /dev follows. A failed commit puts the old tables back. An
    /// inactive LV (or no device-mapper) only commits.
    #[allow(clippy::too_many_arguments)]
    pub fn update_and_reload(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        new_vg: &VolumeGroup,
        old_name: &str,
        new_name: &str,
        mode: apply::SuspendMode,
        commit: &mut dyn FnMut() -> CmdResult,
    ) -> CmdResult {
        let old_vg = &found.metadata.vg;
        // Areas on PVs without a device are error devices in the kernel (partial or degraded
        // activation): both trees map them so, or they could not be rendered at all.
        let missing = super::vg_plan::missing_pv_ids(found);
        let mut old_options = Self::options(ctx, ActivateOptions::default());
        old_options.missing_pvs = missing.clone();
        let old_tree = lv_tree(old_vg, old_name, &old_options).unwrap_or_default();
        let control = match self.control(ctx) {
            Some(c) if !self.test_mode => c,
            _ => return commit(),
        };
        let exists = |uuid: &str| control.info(DevId::Uuid(uuid)).ok().flatten().is_some();
        let top_active = old_tree
            .top
            .iter()
            .any(|&t| exists(&old_tree.nodes[t].uuid));
        // A pool whose -tpool is up for its thin LVs while the pool itself is not: LVM2
        // activates the pool for the reload and takes it down again.
        let tpool_only = !top_active
            && old_tree
                .nodes
                .iter()
                .any(|n| n.layer == Some("tpool") && n.lv == old_name && exists(&n.uuid));
        if !top_active && !tpool_only {
            return commit();
        }
        let tree =
            self.tree_for_missing(ctx, new_vg, new_name, ActivateOptions::default(), missing)?;
        let pvs = pv_devices(scan, found);
        let mut kernel = KernelRef(control);
        let mut failure: Option<CmdError> = None;
        let mut between = || match commit() {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        };
        let result = apply::reload(&tree, &pvs, &mut kernel, mode, &mut between);
        let changes = match result {
            Ok(c) => c,
            Err(apply::ApplyError::Aborted) => {
                return Err(failure.unwrap_or_else(|| CmdError::failed("")))
            }
            Err(e) => {
                return Err(failure.unwrap_or_else(|| {
                    CmdError::failed(format!("Failed to reload {}/{new_name}: {e}", new_vg.name))
                }))
            }
        };
        let removed = apply::remove_detached(&old_tree, &tree, &mut kernel)
            .map_err(|e| CmdError::failed(e.to_string()))?;
        for (old, _) in &changes.renamed {
            self.dev.remove_node(old).map_err(|e| node_err(old, e))?;
        }
        for name in &removed {
            self.dev.remove_node(name).map_err(|e| node_err(name, e))?;
        }
        // Links of LVs that lost theirs (renamed, now merging, removed snapshots).
        for node in old_tree.nodes.iter().filter(|n| n.symlink) {
            let kept = tree
                .nodes
                .iter()
                .any(|n| n.symlink && n.lv == node.lv && n.uuid == node.uuid);
            if !kept {
                self.dev
                    .remove_lv_link(&old_vg.name, &node.lv)
                    .map_err(|e| node_err(&node.name, e))?;
            }
        }
        self.make_nodes(&new_vg.name, &tree, &changes)?;
        if tpool_only {
            let mut now = found.clone();
            now.metadata.vg = new_vg.clone();
            self.deactivate_lv(ctx, &now, new_name)?;
        }
        Ok(())
    }

    /// Activates the LVs `names` of `found` together (one tree: a pvmove LV and the LVs
    /// mapped through it) and makes their /dev entries; devices already up with the same
    /// tables are left alone.
    pub fn activate_lvs(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        names: &[String],
    ) -> CmdResult {
        let vg = &found.metadata.vg;
        let opts = Self::options(ctx, ActivateOptions::default());
        let tree = lvs_tree(vg, names, &opts).map_err(|e| CmdError::failed(e.to_string()))?;
        let Some(control) = self.control(ctx) else {
            return Ok(());
        };
        if self.test_mode {
            return Ok(());
        }
        let pvs = pv_devices(scan, found);
        let mut kernel = KernelRef(control);
        let changes = apply::activate(&tree, &pvs, &mut kernel).map_err(|e| {
            CmdError::failed(format!(
                "Failed to activate {}/{}: {e}",
                vg.name,
                names.join(",")
            ))
        })?;
        self.make_nodes(&vg.name, &tree, &changes)
    }

    /// LVM2's reload of a pvmove LV with every LV mapped through it (its track_pvmove_deps):
    /// the tree of the LVs `names` as `found` has them becomes their tree in `new_vg` -
    /// new devices created and tables loaded, changed devices suspended (with a flush),
    /// `commit` run while they are, everything resumed children first; devices the new tree
    /// no longer has (the pvmove LV at the end) are removed. A failed commit puts the old
    /// tables back. Without device-mapper (or with `--test`) it only commits.
    pub fn reload_lvs(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        new_vg: &VolumeGroup,
        names: &[String],
        commit: &mut dyn FnMut() -> CmdResult,
    ) -> CmdResult {
        let opts = Self::options(ctx, ActivateOptions::default());
        let old_tree = lvs_tree(&found.metadata.vg, names, &opts).unwrap_or_default();
        let control = match self.control(ctx) {
            Some(c) if !self.test_mode => c,
            _ => return commit(),
        };
        let tree = lvs_tree(new_vg, names, &opts).map_err(|e| CmdError::failed(e.to_string()))?;
        let pvs = pv_devices(scan, found);
        let mut kernel = KernelRef(control);
        let mut failure: Option<CmdError> = None;
        let mut between = || match commit() {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        };
        let mode = apply::SuspendMode {
            flush: true,
            lockfs: false,
        };
        let changes = match apply::reload(&tree, &pvs, &mut kernel, mode, &mut between) {
            Ok(c) => c,
            Err(apply::ApplyError::Aborted) => {
                return Err(failure.unwrap_or_else(|| CmdError::failed("")))
            }
            Err(e) => {
                return Err(failure.unwrap_or_else(|| {
                    CmdError::failed(format!(
                        "Failed to reload {}/{}: {e}",
                        new_vg.name,
                        names.join(",")
                    ))
                }))
            }
        };
        let removed = apply::remove_detached(&old_tree, &tree, &mut kernel)
            .map_err(|e| CmdError::failed(e.to_string()))?;
        for name in &removed {
            self.dev.remove_node(name).map_err(|e| node_err(name, e))?;
        }
        self.make_nodes(&new_vg.name, &tree, &changes)
    }

    /// The status lines of the active device of `lv` (layer-less), if it is active.
    pub fn lv_status(
        &self,
        vg: &VolumeGroup,
        lv: &LogicalVolume,
    ) -> Option<Vec<crate::dm::ioctl::TableLine>> {
        let control = self.control.as_ref()?;
        control.status(DevId::Uuid(&lv_uuid(vg, lv))).ok()
    }

    /// The dm-raid status of an active RAID LV (None when inactive or without device-mapper).
    pub fn raid_status(
        &self,
        vg: &VolumeGroup,
        lv: &LogicalVolume,
    ) -> Option<crate::dm::status::RaidStatus> {
        let control = self.control.as_ref()?;
        let lines = control.status(DevId::Uuid(&lv_uuid(vg, lv))).ok()?;
        lines
            .iter()
            .find(|l| l.target_type == "raid")
            .and_then(|l| crate::dm::status::parse_raid(&l.params))
    }

    /// The dm-mirror status of an active mirror: its legs' health letters (`A` alive, `D`
    /// dead, ...) and its disk log's.
    pub fn mirror_health(
        &self,
        vg: &VolumeGroup,
        lv: &LogicalVolume,
    ) -> Option<crate::dm::status::MirrorStatus> {
        let control = self.control.as_ref()?;
        let lines = control.status(DevId::Uuid(&lv_uuid(vg, lv))).ok()?;
        lines
            .iter()
            .find(|l| l.target_type == "mirror")
            .and_then(|l| crate::dm::status::parse_mirror(&l.params))
    }

    /// Renames the active device of `lv` (a sub-LV about to be replaced by a new LV of the
    /// same name) to the device name of `aside`, as LVM2 renames extracted images
    /// `*_extracted` before their replacements are loaded; its /dev/mapper node goes.
    pub fn rename_aside(&self, vg: &VolumeGroup, lv: &LogicalVolume, aside: &str) -> CmdResult {
        let Some(control) = self.live_control() else {
            return Ok(());
        };
        let Some(info) = control.info(DevId::Uuid(&lv_uuid(vg, lv))).map_err(|e| {
            CmdError::failed(format!("Failed to look up {}/{}: {e}", vg.name, lv.name))
        })?
        else {
            return Ok(());
        };
        let new_name = dm_layer_name(&vg.name, aside, None);
        control
            .rename(DevId::Name(&info.name), &new_name)
            .map_err(|e| {
                CmdError::failed(format!("Failed to rename {} to {new_name}: {e}", info.name))
            })?;
        self.dev
            .remove_node(&info.name)
            .map_err(|e| node_err(&info.name, e))
    }

    /// Writes `len` bytes of `value` at the start of the active device `dm_name` (LVM2's
    /// wipe_lv: 4 KiB of zeros for a new LV), with direct I/O so no page cache holds them.
    pub fn fill_start(&self, dm_name: &str, len: u64, value: u8) -> CmdResult {
        self.settle();
        let path = self.dev.mapper_path(dm_name);
        fill_device(&path, len, value).map_err(|e| {
            CmdError::failed(format!(
                "Failed to initialize {} with value {value}: {e}",
                path.display()
            ))
        })
    }

    /// What activating or deactivating many LVs of `found` shares, computed once (vgchange of
    /// a whole VG): the VG's role index, its missing PVs, its PVs' device numbers.
    pub(crate) fn prepare<'a>(&self, scan: Option<&Scan>, found: &'a FoundVg) -> VgPrep<'a> {
        let vg = &found.metadata.vg;
        VgPrep {
            index: VgIndex::new(vg),
            missing: super::vg_plan::missing_pv_ids(found),
            pvs: scan.map(|scan| pv_devices(scan, found)).unwrap_or_default(),
            merging: vg
                .lvs
                .iter()
                .flat_map(|l| &l.segments)
                .any(|s| matches!(&s.kind, SegmentKind::Snapshot(sn) if sn.merging)),
            known: None,
        }
    }

    /// [`Self::prepare`] for changing many LVs at once (vgchange): the dm devices that exist
    /// are listed too, with one DM_LIST_DEVICES, so the activation asks the kernel only
    /// about those (an LV that is not active costs no look-up before it is created).
    pub(crate) fn prepare_many<'a>(&self, scan: &Scan, found: &'a FoundVg) -> VgPrep<'a> {
        let mut prep = self.prepare(Some(scan), found);
        if let Some(control) = self.live_control() {
            if let Ok(Some(devices)) = control.list_with_uuids() {
                prep.known = Some(apply::KnownDevices::new(
                    devices.into_iter().filter_map(|d| Some((d.name, d.uuid?))),
                ));
            }
        }
        prep
    }

    /// The tree of `lv_name` with the lookups of `prep`.
    fn tree_prepared(
        &self,
        ctx: &Context,
        vg: &VolumeGroup,
        prep: &VgPrep<'_>,
        lv_name: &str,
        opts: ActivateOptions,
    ) -> CmdResult<DmTree> {
        let mut options = Self::options(ctx, opts);
        options.no_merging = prep.merging && self.merge_postponed(vg, lv_name);
        options.missing_pvs = prep.missing.clone();
        lv_tree_indexed(vg, &prep.index, lv_name, &options)
            .map_err(|e| CmdError::failed(e.to_string()))
    }

    /// Activates `lv_name` of `found` (with everything it needs) and makes its /dev entries.
    /// Already-active devices with the same tables are left alone.
    pub fn activate_lv(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        lv_name: &str,
        opts: ActivateOptions,
    ) -> CmdResult {
        let prep = self.prepare(Some(scan), found);
        self.activate_lv_prepared(ctx, found, &prep, lv_name, opts)
    }

    /// [`Self::activate_lv`] with what [`Self::prepare`] computed for the VG.
    pub(crate) fn activate_lv_prepared(
        &self,
        ctx: &Context,
        found: &FoundVg,
        prep: &VgPrep<'_>,
        lv_name: &str,
        opts: ActivateOptions,
    ) -> CmdResult {
        let vg = &found.metadata.vg;
        check_partial(vg, lv_name, &prep.missing, opts.mode)?;
        let tree = self.tree_prepared(ctx, vg, prep, lv_name, opts)?;
        let Some(control) = self.control(ctx) else {
            return Ok(());
        };
        if self.test_mode {
            return Ok(());
        }
        let changes = with_kernel(control, prep.known.as_ref(), |kernel| {
            apply::activate(&tree, &prep.pvs, kernel)
        })
        .map_err(|e| CmdError::failed(format!("Failed to activate {}/{lv_name}: {e}", vg.name)))?;
        self.make_nodes(&vg.name, &tree, &changes)
    }

    /// Deactivates `lv_name` and what only it used; refuses while it is open.
    pub fn deactivate_lv(&self, ctx: &Context, found: &FoundVg, lv_name: &str) -> CmdResult {
        let prep = self.prepare(None, found);
        self.deactivate_lv_prepared(ctx, found, &prep, lv_name)
    }

    /// [`Self::deactivate_lv`] with what [`Self::prepare`] computed for the VG.
    pub(crate) fn deactivate_lv_prepared(
        &self,
        ctx: &Context,
        found: &FoundVg,
        prep: &VgPrep<'_>,
        lv_name: &str,
    ) -> CmdResult {
        let vg = &found.metadata.vg;
        // The error devices standing in for missing PVs go too.
        let tree = self.tree_prepared(ctx, vg, prep, lv_name, ActivateOptions::default())?;
        let Some(control) = self.control(ctx) else {
            return Ok(());
        };
        if self.test_mode {
            return Ok(());
        }
        let changes = with_kernel(control, prep.known.as_ref(), |kernel| {
            apply::deactivate(&tree, kernel)
        })
        .map_err(|e| self.deactivation_error(control, &vg.name, lv_name, e))?;
        self.remove_nodes(&vg.name, &tree, &changes)
    }

    /// Deactivates the LVs `names` of one VG and returns one result per name, as
    /// [`Self::deactivate_lv_prepared`] would one by one. The trees are built in turn; then the
    /// kernel removals of the trees that share no device with another tree run on several
    /// threads at once (a device removal waits in the kernel, for an RCU grace period, far
    /// longer than it works, so a whole VG goes quickly only when those waits overlap), the
    /// others after them in turn; /dev follows in the order of `names`.
    pub(crate) fn deactivate_many(
        &self,
        ctx: &Context,
        found: &FoundVg,
        prep: &VgPrep<'_>,
        names: &[&str],
    ) -> Vec<CmdResult> {
        let vg = &found.metadata.vg;
        let trees: Vec<CmdResult<DmTree>> = names
            .iter()
            .map(|name| self.tree_prepared(ctx, vg, prep, name, ActivateOptions::default()))
            .collect();
        let control = match self.control(ctx) {
            Some(control) if !self.test_mode => control,
            _ => return trees.into_iter().map(|t| t.map(|_| ())).collect(),
        };
        // A device in two trees (a thin pool under two thin LVs) is left to the serial pass.
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for tree in trees.iter().flatten() {
            for node in &tree.nodes {
                *uses.entry(node.uuid.as_str()).or_default() += 1;
            }
        }
        let (alone, shared): (Vec<usize>, Vec<usize>) = (0..trees.len())
            .filter(|&i| trees[i].is_ok())
            .partition(|&i| {
                trees[i]
                    .as_ref()
                    .is_ok_and(|t| t.nodes.iter().all(|n| uses[n.uuid.as_str()] == 1))
            });
        let outcomes: Vec<std::sync::Mutex<Option<Result<Changes, apply::ApplyError>>>> = (0
            ..trees.len())
            .map(|_| std::sync::Mutex::new(None))
            .collect();
        let run = |i: usize| {
            if let Ok(tree) = &trees[i] {
                let outcome = with_kernel(control, prep.known.as_ref(), |kernel| {
                    apply::deactivate(tree, kernel)
                });
                *outcomes[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            }
        };
        let threads = (alone.len() / 8).clamp(1, 16);
        if threads > 1 {
            let next = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = alone.get(k) else { break };
                        run(i);
                    });
                }
            });
        } else {
            alone.iter().for_each(|&i| run(i));
        }
        shared.iter().for_each(|&i| run(i));

        let mut results = Vec::with_capacity(names.len());
        for ((name, tree), outcome) in names.iter().zip(trees).zip(outcomes) {
            let outcome = outcome.into_inner().unwrap_or_else(|e| e.into_inner());
            let result = tree.and_then(|tree| match outcome {
                Some(Ok(changes)) => self.remove_nodes(&vg.name, &tree, &changes),
                Some(Err(e)) => Err(self.deactivation_error(control, &vg.name, name, e)),
                None => Ok(()),
            });
            results.push(result);
        }
        results
    }

    /// The message for a failed deactivation (LVM2's lv_check_not_in_use wording for an open
    /// device).
    fn deactivation_error(
        &self,
        control: &Control,
        vg: &str,
        lv_name: &str,
        e: apply::ApplyError,
    ) -> CmdError {
        match e {
            apply::ApplyError::InUse { lv, name, .. } => {
                let dev = control
                    .info(DevId::Name(&name))
                    .ok()
                    .flatten()
                    .map_or(DevNo::new(0, 0), |i| i.dev);
                super::lv_online::in_use_error(vg, &lv, dev)
            }
            e => CmdError::failed(format!("Failed to deactivate {vg}/{lv_name}: {e}")),
        }
    }

    /// /dev after a deactivation: the removed devices' nodes, and the links of removed LV
    /// devices (also one made while the LV was visible: a snapshot that is now merging).
    fn remove_nodes(&self, vg: &str, tree: &DmTree, changes: &Changes) -> CmdResult {
        for name in &changes.removed {
            self.dev.remove_node(name).map_err(|e| node_err(name, e))?;
        }
        for node in tree.nodes.iter().filter(|n| n.layer.is_none()) {
            if changes.removed.contains(&node.name) {
                self.dev
                    .remove_lv_link(vg, &node.lv)
                    .map_err(|e| node_err(&node.name, e))?;
            }
        }
        Ok(())
    }

    /// Sends the pending thin pool messages of `lv_name`'s pool (after a metadata change that
    /// adds or removes thin LVs of an active pool).
    pub fn commit_pool_messages(&self, ctx: &Context, found: &FoundVg, lv_name: &str) -> CmdResult {
        let opts = ActivateOptions {
            send_messages: true,
            ..ActivateOptions::default()
        };
        let tree = lv_tree(&found.metadata.vg, lv_name, &Self::options(ctx, opts))
            .map_err(|e| CmdError::failed(e.to_string()))?;
        let Some(control) = self.control(ctx) else {
            return Ok(());
        };
        if self.test_mode {
            return Ok(());
        }
        apply::commit_pool_messages(&tree, &mut KernelRef(control))
            .map_err(|e| CmdError::failed(e.to_string()))
    }

    pub(crate) fn make_nodes(&self, vg: &str, tree: &DmTree, changes: &Changes) -> CmdResult {
        // A device this call created most likely has no entries yet: they are made without
        // looking first (see DevDir::add_node_hint).
        let new = |name: &str| changes.created.iter().any(|c| c == name);
        for (name, dev) in &changes.present {
            self.dev
                .add_node_hint(name, *dev, new(name))
                .map_err(|e| node_err(name, e))?;
        }
        for node in tree.nodes.iter().filter(|n| n.symlink) {
            if changes.present.iter().any(|(n, _)| *n == node.name) {
                self.dev
                    .add_lv_link_hint(vg, &node.lv, &node.name, new(&node.name))
                    .map_err(|e| node_err(&node.name, e))?;
            }
        }
        Ok(())
    }

    /// Whether the LV's own device exists (false without device-mapper).
    pub fn is_active(&self, vg: &VolumeGroup, lv: &LogicalVolume) -> bool {
        let Some(control) = &self.control else {
            return false;
        };
        control
            .info(DevId::Uuid(&lv_uuid(vg, lv)))
            .ok()
            .flatten()
            .is_some_and(|i| i.live_table)
    }

    /// The open count of the LV's device when it is active (None when inactive or without
    /// device-mapper).
    pub fn active_open_count(&self, vg: &VolumeGroup, lv: &LogicalVolume) -> Option<i32> {
        let control = self.control.as_ref()?;
        control
            .info(DevId::Uuid(&lv_uuid(vg, lv)))
            .ok()
            .flatten()
            .filter(|i| i.live_table)
            .map(|i| i.open_count)
    }

    /// LVM2's `pool_is_active`: the thin pool's `-tpool` device exists (its thin LVs or the
    /// pool itself use it), false without device-mapper.
    pub fn pool_is_active(&self, vg: &VolumeGroup, pool: &LogicalVolume) -> bool {
        let Some(control) = &self.control else {
            return false;
        };
        control
            .info(DevId::Uuid(&dm_uuid(&vg.id, &pool.id, Some("tpool"))))
            .ok()
            .flatten()
            .is_some_and(|i| i.live_table)
    }

    /// The device numbers of an active LV's own device.
    pub fn active_devno(&self, vg: &VolumeGroup, lv: &LogicalVolume) -> Option<(u32, u32)> {
        let control = self.control.as_ref()?;
        control
            .info(DevId::Uuid(&lv_uuid(vg, lv)))
            .ok()
            .flatten()
            .filter(|i| i.live_table)
            .map(|i| (i.dev.major, i.dev.minor))
    }

    /// How many visible LVs of the VG are active, as LVM2 counts them for "now active".
    pub fn active_lv_count(&self, vg: &VolumeGroup) -> usize {
        self.active_lv_count_indexed(vg, &VgIndex::new(vg))
    }

    /// [`Self::active_lv_count`] with the VG's role index built once.
    pub(crate) fn active_lv_count_indexed(&self, vg: &VolumeGroup, index: &VgIndex<'_>) -> usize {
        let Some(control) = &self.control else {
            return 0;
        };
        // LVM2 counts the LVs whose device exists: one device list when the driver gives
        // UUIDs, else one look-up per LV.
        if let Ok(Some(devices)) = control.list_with_uuids() {
            let present: std::collections::HashSet<&str> =
                devices.iter().filter_map(|d| d.uuid.as_deref()).collect();
            return vg
                .lvs
                .iter()
                .filter(|lv| {
                    index.is_lv_visible(lv)
                        && present.contains(lv_uuid_indexed(vg, index, lv).as_str())
                })
                .count();
        }
        vg.lvs
            .iter()
            .filter(|lv| {
                index.is_lv_visible(lv)
                    && control
                        .info(DevId::Uuid(&lv_uuid_indexed(vg, index, lv)))
                        .ok()
                        .flatten()
                        .is_some()
            })
            .count()
    }

    /// vgmknodes for one VG: /dev/mapper nodes for its active devices, /dev/<vg>/<lv> links
    /// for its active visible LVs, and no links for inactive ones.
    pub fn mknodes(&self, ctx: &Context, vg: &VolumeGroup) -> CmdResult {
        let Some(control) = self.control(ctx) else {
            return Ok(());
        };
        if self.test_mode {
            return Ok(());
        }
        let opts = Self::options(ctx, ActivateOptions::default());
        for lv in vg.lvs.iter().filter(|lv| vg.is_lv_visible(lv)) {
            let Ok(tree) = lv_tree(vg, &lv.name, &opts) else {
                continue;
            };
            for node in &tree.nodes {
                let info = control.info(DevId::Uuid(&node.uuid)).ok().flatten();
                match info {
                    Some(info) => {
                        self.dev
                            .add_node(&node.name, info.dev)
                            .map_err(|e| node_err(&node.name, e))?;
                        if node.symlink {
                            self.dev
                                .add_lv_link(&vg.name, &node.lv, &node.name)
                                .map_err(|e| node_err(&node.name, e))?;
                        }
                    }
                    None if node.symlink => {
                        self.dev
                            .remove_lv_link(&vg.name, &node.lv)
                            .map_err(|e| node_err(&node.name, e))?;
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }

    /// `/dev/mapper` as the kernel has it: a node for every dm device, none for devices that
    /// are gone (libdm's mknodes without a name).
    pub fn refresh_mapper_dir(&self, ctx: &Context) -> CmdResult {
        let Some(control) = self.control(ctx) else {
            return Ok(());
        };
        if self.test_mode {
            return Ok(());
        }
        let devices = control
            .list()
            .map_err(|e| CmdError::failed(format!("Failed to list dm devices: {e}")))?;
        for (name, dev) in &devices {
            self.dev
                .add_node(name, *dev)
                .map_err(|e| node_err(name, e))?;
        }
        if let Ok(dir) = std::fs::read_dir(self.dev.root.join("mapper")) {
            for entry in dir.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let stale = entry
                    .metadata()
                    .is_ok_and(|m| m.file_type().is_block_device())
                    && !devices.iter().any(|(n, _)| *n == name);
                if stale {
                    self.dev
                        .remove_node(&name)
                        .map_err(|e| node_err(&name, e))?;
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn node_err(name: &str, e: std::io::Error) -> CmdError {
    CmdError::failed(format!("Failed to update the /dev entries of {name}: {e}"))
}

/// The dm UUID of the LV's own (top) device.
pub fn lv_uuid(vg: &VolumeGroup, lv: &LogicalVolume) -> String {
    let used_as = |f: &dyn Fn(&metadata_format::text::ThinPool) -> &str| {
        vg.lvs
            .iter()
            .flat_map(|l| &l.segments)
            .any(|s| matches!(&s.kind, SegmentKind::ThinPool(p) if f(p) == lv.name))
    };
    uuid_with_roles(
        vg,
        lv,
        || used_as(&|p| p.pool.as_str()),
        || used_as(&|p| p.metadata.as_str()),
    )
}

/// [`lv_uuid`] with the VG's role index.
pub(crate) fn lv_uuid_indexed(vg: &VolumeGroup, index: &VgIndex<'_>, lv: &LogicalVolume) -> String {
    uuid_with_roles(
        vg,
        lv,
        || index.is_thin_pool_data(&lv.name),
        || index.is_thin_pool_metadata(&lv.name),
    )
}

fn uuid_with_roles(
    vg: &VolumeGroup,
    lv: &LogicalVolume,
    pool_data: impl Fn() -> bool,
    pool_meta: impl Fn() -> bool,
) -> String {
    let pool = lv.segments.first().and_then(|s| match &s.kind {
        SegmentKind::ThinPool(p) => Some(p.transaction_id),
        _ => None,
    });
    let layer = match pool {
        Some(0) => Some("tpool"),
        Some(_) => Some("pool"),
        None if pool_data() => Some("tdata"),
        None if pool_meta() => Some("tmeta"),
        None => None,
    };
    dm_uuid(&vg.id, &lv.id, layer)
}

/// The device numbers of the VG's PVs that the scan found as block devices.
pub fn pv_devices(scan: &Scan, found: &FoundVg) -> HashMap<Id, DevNo> {
    found
        .metadata
        .vg
        .pvs
        .iter()
        .zip(&found.pv_devices)
        .filter_map(|(pv, index)| {
            let path = &scan.pvs.get((*index)?)?.path;
            let meta = std::fs::metadata(path).ok()?;
            meta.file_type()
                .is_block_device()
                .then(|| (pv.id, DevNo::from_dev_t(meta.rdev())))
        })
        .collect()
}

/// `apply::Kernel` over a shared control device.
struct KernelRef<'a>(&'a Control);

impl apply::Kernel for KernelRef<'_> {
    fn info(&mut self, uuid: &str) -> std::io::Result<Option<crate::dm::ioctl::DmInfo>> {
        self.0.info(DevId::Uuid(uuid))
    }
    fn create(&mut self, name: &str, uuid: &str) -> std::io::Result<crate::dm::ioctl::DmInfo> {
        self.0.create(name, uuid)
    }
    fn load(
        &mut self,
        name: &str,
        table: &[crate::dm::ioctl::TableLine],
        read_only: bool,
    ) -> std::io::Result<()> {
        self.0.load(DevId::Name(name), table, read_only).map(|_| ())
    }
    fn resume(&mut self, name: &str) -> std::io::Result<()> {
        self.0.resume(DevId::Name(name)).map(|_| ())
    }
    fn remove(&mut self, name: &str) -> std::io::Result<()> {
        self.0.remove(DevId::Name(name))
    }
    fn table(&mut self, name: &str) -> std::io::Result<Vec<crate::dm::ioctl::TableLine>> {
        self.0.table(DevId::Name(name))
    }
    fn status(&mut self, name: &str) -> std::io::Result<Vec<crate::dm::ioctl::TableLine>> {
        self.0.status(DevId::Name(name))
    }
    fn message(&mut self, name: &str, message: &str) -> std::io::Result<()> {
        self.0.message(DevId::Name(name), 0, message)
    }
    fn suspend(&mut self, name: &str, flush: bool, lockfs: bool) -> std::io::Result<()> {
        self.0
            .suspend_with(DevId::Name(name), flush, lockfs)
            .map(|_| ())
    }
    fn rename(&mut self, name: &str, new_name: &str) -> std::io::Result<()> {
        self.0.rename(DevId::Name(name), new_name)
    }
    fn clear(&mut self, name: &str) -> std::io::Result<()> {
        self.0.clear(DevId::Name(name))
    }
    fn resume_udev(&mut self, name: &str, udev_flags: u16) -> std::io::Result<()> {
        self.0
            .resume_udev(DevId::Name(name), udev_flags)
            .map(|_| ())
    }
    fn remove_udev(&mut self, name: &str, udev_flags: u16) -> std::io::Result<()> {
        self.0.remove_udev(DevId::Name(name), udev_flags)
    }
    fn rename_udev(&mut self, name: &str, new_name: &str, udev_flags: u16) -> std::io::Result<()> {
        self.0.rename_udev(DevId::Name(name), new_name, udev_flags)
    }
}

/// Runs `f` with the kernel of `control`, through `known` when the activation has listed the
/// existing devices.
fn with_kernel<R>(
    control: &Control,
    known: Option<&apply::KnownDevices>,
    f: impl FnOnce(&mut dyn apply::Kernel) -> R,
) -> R {
    match known {
        Some(known) => f(&mut apply::KnownKernel {
            inner: KernelRef(control),
            known,
        }),
        None => f(&mut KernelRef(control)),
    }
}

/// `apply::Kernel` over a shared control device, for the other command modules.
pub(crate) fn kernel_ref(control: &Control) -> impl apply::Kernel + '_ {
    KernelRef(control)
}

/// Fills the first `len` bytes of a block device with `value`: O_DIRECT writes of up to
/// 1 MiB from an aligned buffer, then fsync.
pub fn fill_device(path: &std::path::Path, len: u64, value: u8) -> std::io::Result<()> {
    fill_range(path, 0, len, value)
}

/// Fills `len` bytes of a block device from byte `offset` (a multiple of 512) with `value`,
/// as [`fill_device`] does from 0.
pub fn fill_range(path: &std::path::Path, offset: u64, len: u64, value: u8) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::OpenOptionsExt;
    const CHUNK: usize = 1 << 20;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)?;
    // A Vec<u64> is 8-byte aligned; O_DIRECT wants the logical block size (512 or 4096), so
    // write from a 4096-aligned window of it.
    let mut backing = vec![0u64; (CHUNK + 4096) / 8];
    let base = backing.as_mut_ptr() as usize;
    let skip = (4096 - base % 4096) % 4096;
    // SAFETY: the window [skip, skip + CHUNK) lies inside `backing`, which outlives `buf`.
    let buf: &mut [u8] = unsafe {
        std::slice::from_raw_parts_mut((backing.as_mut_ptr() as *mut u8).add(skip), CHUNK)
    };
    buf.fill(value);
    file.seek(SeekFrom::Start(offset))?;
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        // Direct I/O moves whole sectors: round a short tail up to 512 bytes.
        let n = n.div_ceil(512) * 512;
        file.write_all(&buf[..n])?;
        left = left.saturating_sub(n as u64);
    }
    file.sync_all()
}

/// `lvchange -a` on the LVs `names` of one VG (`found` holds the metadata as committed by the
/// command, if it changed any): LVs flagged to skip activation are skipped unless
/// `ignore_skip`, a COW LV changes with its origin, and every LV is tried even when one fails.
pub fn change_lvs(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    names: &[String],
    change: ActivationChange,
    ignore_skip: bool,
    mode: ActivationMode,
) -> CmdResult {
    let vg = &found.metadata.vg;
    let kernel = Activation::new(ctx);
    let mut ok = true;
    for name in names {
        let Some(lv) = vg.lv(name) else { continue };
        let flagged =
            |flag: &str| lv.flags.iter().any(|f| f == flag) || lv.status.iter().any(|f| f == flag);
        if change.is_activating() && !ignore_skip && flagged("ACTIVATION_SKIP") {
            continue;
        }
        if change == ActivationChange::Auto && flagged("NOAUTOACTIVATE") {
            continue;
        }
        let target = snapshot_origin(vg, name).unwrap_or_else(|| name.clone());
        // In a shared VG the LV's lock (lvmlockd) comes first and goes last.
        let result = if change.is_activating() {
            super::shared::lock_for_activation(ctx, vg, &target, change).and_then(|_| {
                kernel.activate_lv(
                    ctx,
                    scan,
                    found,
                    &target,
                    ActivateOptions {
                        mode,
                        ..ActivateOptions::default()
                    },
                )
            })
        } else {
            kernel
                .deactivate_lv(ctx, found, &target)
                .map(|_| super::shared::unlock_after_deactivation(ctx, &kernel, vg, &target))
        };
        if let Err(e) = result {
            ctx.warn(e.message());
            ok = false;
        }
    }
    // A snapshot merge that waited for this activation runs now; finish it as LVM2's
    // background polling would (lvchange holds the VG's write lock).
    if ok && change.is_activating() {
        if let Err(e) = kernel.finish_started_merges(ctx, vg) {
            ctx.warn(e.message());
            ok = false;
        }
    }
    // RAID legs added while inactive were rebuilt by this activation: their REBUILD flags go.
    if ok && change.is_activating() {
        if let Err(e) = super::lv_convert::clear_passed_rebuild_flags(ctx, scan, found, names) {
            ctx.warn(e.message());
            ok = false;
        }
    }
    if ok {
        Ok(())
    } else {
        // Each failure was printed as it happened.
        Err(CmdError::failed(""))
    }
}

/// The origin of a COW LV.
pub(crate) fn snapshot_origin(vg: &VolumeGroup, cow: &str) -> Option<String> {
    vg.lvs
        .iter()
        .flat_map(|l| &l.segments)
        .find_map(|s| match &s.kind {
            SegmentKind::Snapshot(snap) if snap.cow == cow => Some(snap.origin.clone()),
            _ => None,
        })
}

#[derive(Debug, clap::Parser)]
#[command(about = "Create the special files for volume group devices in /dev")]
struct VgmknodesArgs {
    /// Also refresh what is active (accepted; the nodes are checked either way)
    #[arg(long = "refresh")]
    refresh: bool,
    /// Go on when locking fails
    #[arg(long = "ignorelockingfailure")]
    ignorelockingfailure: bool,
    /// Output format for the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: crate::cli::CommonArgs,
    /// VGs to check; all when none is given
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

/// vgmknodes: /dev/mapper as the kernel has it, and the /dev/<vg>/<lv> links of active LVs.
pub fn vgmknodes(
    _spec: &'static crate::cli::CommandSpec,
    argv: &[std::ffi::OsString],
) -> CmdResult {
    let Some(args) = crate::cli::parse_args::<VgmknodesArgs>(argv)? else {
        return Ok(());
    };
    let ctx = Context::new(&args.common, argv)?;
    let kernel = Activation::new(&ctx);
    kernel.refresh_mapper_dir(&ctx)?;
    let scan = ctx.scan()?;
    let names: Vec<String> = if args.vgs.is_empty() {
        scan.vg_names()
    } else {
        args.vgs
            .iter()
            .map(|v| {
                v.strip_prefix("/dev/")
                    .unwrap_or(v)
                    .trim_end_matches('/')
                    .to_string()
            })
            .collect()
    };
    let mut failed = None;
    for name in names {
        let result = ctx
            .lock_vg(&name, crate::store::lock::LockMode::Shared)
            .and_then(|_lock| {
                let found = ctx.load_vg(&scan, &name)?;
                kernel.mknodes(&ctx, &found.metadata.vg)
            });
        if let Err(e) = result {
            ctx.warn(e.message());
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), |_| Err(CmdError::failed("")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::parse_metadata;

    #[test]
    fn lv_uuids_carry_lvm2s_suffixes() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        let vg = parse_metadata(text.as_bytes()).unwrap().vg;
        let uuid = |name: &str| lv_uuid(&vg, vg.lv(name).unwrap());
        assert!(uuid("pool").ends_with("-pool"));
        assert!(uuid("pool_tdata").ends_with("-tdata"));
        assert!(uuid("pool_tmeta").ends_with("-tmeta"));
        assert_eq!(uuid("linear").len(), 68);
    }
}
