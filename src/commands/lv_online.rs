//! What the LV commands do in the kernel around their metadata commits, in LVM2's order:
//! lvcreate activates and zeroes the new LV (metadata areas of pools, RAID and mirrors and a
//! snapshot's exception store before the commit, through temporary devices), takes a COW
//! snapshot of an active origin by suspending and reloading it, and creates thin LVs through
//! the pool's messages (committed first, sent, then cleared); lvremove and vgremove refuse open
//! LVs and deactivate before they remove. Each flow is one call before and one after the
//! commit, so the commands stay metadata code.

use super::context::{CommitSteps, Context, Written};
use super::lv_activate::{kernel_ref, lv_uuid, node_err, pv_devices, ActivateOptions, Activation};
use crate::dm::apply::{self, SuspendMode};
use crate::dm::ioctl::DevId;
use crate::dm::tables::{dm_layer_name, lv_tree, DevNo, TableOptions};
use crate::error::{CmdError, CmdResult};
use crate::store::scan::{FoundVg, Scan};
use metadata_format::text::{LogicalVolume, Metadata, SegmentKind, ThinMessage, VolumeGroup};

/// What lvcreate asked of the new LV, for the kernel side.
#[derive(Debug, Clone, Copy)]
pub struct NewLv<'a> {
    pub name: &'a str,
    /// `-a y` (default) or `-a n`.
    pub activate: bool,
    /// `-Z` as given (None: LVM2's default, zero).
    pub zero: Option<bool>,
    /// `-W` (or its default, `-Z`'s value): wipe known signatures on the new LV.
    pub wipe: bool,
    /// `-Wy` given explicitly.
    pub wipe_set: bool,
    /// `-y`: wipe without asking.
    pub yes: bool,
    /// `-K`.
    pub ignore_skip: bool,
    /// `-k y` given explicitly.
    pub skip_set: bool,
}

/// The VG to commit, and what the kernel side found before the commit.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub vg: VolumeGroup,
    pool_was_active: bool,
    /// A second commit follows the first (a thin LV's pool messages cleared): the first
    /// writes no backup file, the second archives nothing (LVM2: one archive before the
    /// first write, one backup after the last).
    pub second_commit: bool,
}

/// What a command's first commit wrote: the metadata (seqno and all) and where it went, so
/// a second commit under the same lock follows without reading the disks again.
pub struct Committed {
    pub metadata: Metadata,
    pub written: Written,
}

/// LVM2's flush-and-freeze suspend around snapshot changes.
const SNAPSHOT_SUSPEND: SuspendMode = SuspendMode {
    flush: true,
    lockfs: true,
};
/// Its plain suspend for other reloads: flush, no freeze.
pub const PLAIN_SUSPEND: SuspendMode = SuspendMode {
    flush: true,
    lockfs: false,
};

/// What LVM2 says when an LV cannot be removed or deactivated because it is open
/// (lv_check_not_in_use): another device holds it, a file system on it is mounted, or some
/// process has it open.
pub fn in_use_error(vg: &str, lv: &str, dev: DevNo) -> CmdError {
    let holders = std::fs::read_dir(format!("/sys/dev/block/{dev}/holders"))
        .is_ok_and(|mut d| d.next().is_some());
    if holders {
        return CmdError::failed(format!(
            "Logical volume {vg}/{lv} is used by another device."
        ));
    }
    let mounted = std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines()
            .any(|l| l.split_whitespace().nth(2) == Some(dev.to_string().as_str()))
    });
    if mounted {
        return CmdError::failed(format!(
            "Logical volume {vg}/{lv} contains a filesystem in use."
        ));
    }
    CmdError::failed(format!("Logical volume {vg}/{lv} in use."))
}

/// The LV whose devices a change to `name` reloads (LVM2's lv_lock_holder): a snapshot's
/// origin, otherwise the LV itself.
pub fn lock_holder(vg: &VolumeGroup, name: &str) -> String {
    cow_snapshot(vg, name).unwrap_or_else(|| name.to_string())
}

fn lv_kind(vg: &VolumeGroup, name: &str) -> Option<&'static str> {
    if cow_snapshot(vg, name).is_some() {
        return Some("cow");
    }
    let lv = vg.lv(name)?;
    Some(match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::ThinPool(_)) => "pool",
        Some(SegmentKind::Thin(_)) => "thin",
        _ => "plain",
    })
}

/// The snapshot segment whose exception store is `cow`: (origin, chunk size).
fn cow_snapshot(vg: &VolumeGroup, cow: &str) -> Option<String> {
    vg.lvs
        .iter()
        .flat_map(|l| &l.segments)
        .find_map(|s| match &s.kind {
            SegmentKind::Snapshot(sn) if sn.cow == cow => Some(sn.origin.clone()),
            _ => None,
        })
}

fn thin_of(lv: &LogicalVolume) -> Option<&metadata_format::text::Thin> {
    match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Thin(t)) => Some(t),
        _ => None,
    }
}

fn pool_of(lv: &LogicalVolume) -> Option<&metadata_format::text::ThinPool> {
    match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::ThinPool(p)) => Some(p),
        _ => None,
    }
}

fn pool_mut<'a>(
    vg: &'a mut VolumeGroup,
    name: &str,
) -> Option<&'a mut metadata_format::text::ThinPool> {
    match vg.lv_mut(name)?.segments.first_mut().map(|s| &mut s.kind) {
        Some(SegmentKind::ThinPool(p)) => Some(p),
        _ => None,
    }
}

/// A copy of `vg` with `found`'s devices: what activation reads after a commit.
fn with_vg(found: &FoundVg, vg: &VolumeGroup) -> FoundVg {
    let mut f = found.clone();
    f.metadata.vg = vg.clone();
    f
}

/// Writes the VG once more (after a first commit of the same command): rescans so the write
/// lands after the one before, lets `edit` change it, commits.
pub fn recommit(
    ctx: &Context,
    vg_name: &str,
    edit: impl FnOnce(&mut VolumeGroup),
) -> CmdResult<(Scan, FoundVg)> {
    let scan = ctx.scan()?;
    let found = ctx.load_vg(&scan, vg_name)?;
    let mut md = found.metadata.clone();
    edit(&mut md.vg);
    ctx.commit_vg(&scan, Some(&found), &mut md)?;
    let scan = ctx.scan()?;
    let found = ctx.load_vg(&scan, vg_name)?;
    Ok((scan, found))
}

/// The VG after a command's first commit (`first`), as read from `scan` and `found` (the
/// scan and VG that commit was planned on): carried over in memory - the written areas'
/// headers and text, the metadata written - or, when that write changed more than the areas
/// (labels), read from the disks again.
pub fn after_commit(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    first: &Committed,
) -> CmdResult<(Scan, FoundVg)> {
    let mut scan2 = scan.clone();
    let mut found2 = FoundVg {
        metadata: first.metadata.clone(),
        checksum: found.checksum,
        pv_devices: found.pv_devices.clone(),
        stale: found.stale.clone(),
    };
    if first.written.apply(&mut scan2, &mut found2) {
        return Ok((scan2, found2));
    }
    let scan = ctx.scan()?;
    let found = ctx.load_vg(&scan, &first.metadata.vg.name)?;
    Ok((scan, found))
}

/// The second commit of a command under the lock it already holds (`scan`/`found`: the VG as
/// its first commit left it, [`after_commit`]): `edit` changes it, it is written without a
/// second archive (LVM2 archives once per command) and with the backup file, and the VG as
/// written is handed back the same way, without reading the disks again.
pub fn recommit_in_memory(
    ctx: &Context,
    mut scan: Scan,
    mut found: FoundVg,
    edit: impl FnOnce(&mut VolumeGroup),
) -> CmdResult<(Scan, FoundVg)> {
    let mut md = found.metadata.clone();
    edit(&mut md.vg);
    let steps = CommitSteps {
        archive: false,
        backup: true,
    };
    let written = ctx.commit_vg_steps(&scan, Some(&found), &mut md, steps)?;
    found.metadata = md;
    if written.apply(&mut scan, &mut found) {
        return Ok((scan, found));
    }
    let scan = ctx.scan()?;
    let found = ctx.load_vg(&scan, &found.metadata.vg.name)?;
    Ok((scan, found))
}

impl Activation {
    /// Whether the LV's own device exists, by name in `vg` (a thin pool counts by its `-tpool`
    /// when it is new, as LVM2's lv_is_active).
    pub fn lv_active(&self, vg: &VolumeGroup, name: &str) -> bool {
        vg.lv(name).is_some_and(|lv| self.is_active(vg, lv))
    }

    fn device_info(&self, uuid: &str) -> Option<crate::dm::ioctl::DmInfo> {
        self.live_control()?.info(DevId::Uuid(uuid)).ok().flatten()
    }

    /// LVM2's lv_check_not_in_use for the device an LV is seen through.
    fn check_not_in_use(&self, vg: &VolumeGroup, name: &str) -> CmdResult {
        let Some(lv) = vg.lv(name) else {
            return Ok(());
        };
        match self.device_info(&lv_uuid(vg, lv)) {
            Some(info) if info.open_count > 0 => Err(in_use_error(&vg.name, name, info.dev)),
            _ => Ok(()),
        }
    }

    /// Activates a not yet committed LV of `planned` as a temporary plain device (LVM2 makes
    /// it an ordinary LV for the moment), fills its first `len` bytes (all of it when None)
    /// with `value`, and takes the device down again.
    fn fill_planned_lv(
        &self,
        scan: &Scan,
        found: &FoundVg,
        planned: &VolumeGroup,
        name: &str,
        len: Option<u64>,
        value: u8,
    ) -> CmdResult {
        self.on_planned_lv(scan, found, planned, name, &mut |dm_name, size| {
            self.fill_start(dm_name, len.unwrap_or(size).min(size), value)
        })
    }

    /// Runs `work(dm name, size in bytes)` on a temporary device over the planned extents of
    /// LV `name` (not yet committed), taken down again afterwards.
    fn on_planned_lv(
        &self,
        scan: &Scan,
        found: &FoundVg,
        planned: &VolumeGroup,
        name: &str,
        work: &mut dyn FnMut(&str, u64) -> CmdResult,
    ) -> CmdResult {
        let Some(control) = self.live_control() else {
            return Ok(());
        };
        let lv = planned
            .lv(name)
            .ok_or_else(|| CmdError::failed(format!("Internal error: {name} is not planned.")))?;
        let mut temp = VolumeGroup::new(&planned.name, planned.id, planned.extent_size);
        temp.pvs = planned.pvs.clone();
        let mut plain = lv.clone();
        plain.status = metadata_format::text::Words::read_write_visible();
        plain.flags.clear();
        temp.lvs.push(plain);
        let tree = lv_tree(&temp, name, &TableOptions::default())
            .map_err(|e| CmdError::failed(e.to_string()))?;
        let pvs = pv_devices(scan, found);
        let mut kernel = kernel_ref(control);
        let changes = apply::activate(&tree, &pvs, &mut kernel).map_err(|e| {
            CmdError::failed(format!(
                "Aborting. Failed to activate {}/{name}: {e}",
                planned.name
            ))
        })?;
        let dm_name = dm_layer_name(&planned.name, name, None);
        let size = lv.extent_count() * u64::from(planned.extent_size) * 512;
        let result = (|| {
            for (n, dev) in &changes.present {
                self.dev_dir()
                    .add_node(n, *dev)
                    .map_err(|e| node_err(n, e))?;
            }
            self.settle();
            work(&dm_name, size)
        })();
        let down = apply::deactivate(&tree, &mut kernel);
        let _ = self.dev_dir().remove_node(&dm_name);
        result?;
        down.map(|_| ()).map_err(|e| {
            CmdError::failed(format!(
                "Aborting. Could not deactivate {}/{name}: {e}",
                planned.name
            ))
        })
    }

    /// lvcreate's kernel work before its commit: LVM2's refusal to zero an LV that will not be
    /// active, the new LV's metadata areas initialised on temporary devices (a snapshot's
    /// exception store header, a thin pool's metadata, RAID metadata and mirror logs), and for
    /// a thin LV the pool checked and its create message queued in the metadata.
    pub fn before_create(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        mut vg: VolumeGroup,
        new: &NewLv,
    ) -> CmdResult<Prepared> {
        let kind = lv_kind(&vg, new.name).unwrap_or("plain");
        let read_only = vg.lv(new.name).is_some_and(|l| !l.has_status("WRITE"));
        if matches!(kind, "plain") && (new.zero == Some(true) || new.wipe_set) {
            let mut why = String::new();
            if read_only {
                why.push_str("read-only ");
            }
            if !new.activate {
                why.push_str("inactive ");
            }
            if new.skip_set && !new.ignore_skip {
                why.push_str("skipped from activation ");
            }
            if !why.is_empty() {
                return Err(CmdError::usage(format!(
                    "Cannot zero {why}logical volume with option -Zy or -Wy."
                )));
            }
        }
        // The planned VG is handed back as it leaves this function (only a new thin LV's
        // pool message changes it), not copied: a copy of 30,000 LVs costs more than the plan.
        let mut pool_was_active = false;
        if self.live_control().is_none() {
            return Ok(Prepared {
                vg,
                pool_was_active,
                second_commit: false,
            });
        }
        match kind {
            // "Must zero cow": the exception store starts with a zeroed header.
            "cow" => self.fill_planned_lv(scan, found, &vg, new.name, Some(4096), 0)?,
            "pool" => {
                if let Some(p) = vg.lv(new.name).and_then(pool_of) {
                    let whole = ctx.config.get_bool("allocation/zero_metadata", true);
                    let len = if whole { None } else { Some(4096) };
                    self.fill_planned_lv(scan, found, &vg, &p.metadata.clone(), len, 0)?;
                }
            }
            "thin" => {
                let old_vg = &found.metadata.vg;
                let pool = vg
                    .lv(new.name)
                    .and_then(thin_of)
                    .map(|t| t.thin_pool.clone())
                    .ok_or_else(|| CmdError::failed("Internal error: thin LV without pool."))?;
                let old_tid = old_vg
                    .lv(&pool)
                    .and_then(pool_of)
                    .map_or(0, |p| p.transaction_id);
                pool_was_active = self.lv_active(old_vg, &pool);
                // LVM2 activates the pool for its transaction id; a new pool (one device) is
                // taken down again so it comes back with its -tpool layer.
                self.activate_lv(ctx, scan, found, &pool, ActivateOptions::default())?;
                if old_tid == 0 {
                    let tpool = dm_layer_name(&vg.name, &pool, None);
                    let kernel_tid = self
                        .live_control()
                        .and_then(|c| c.status(DevId::Name(&tpool)).ok())
                        .and_then(|l| l.first().and_then(|l| apply::parse_pool_status(&l.params)))
                        .map_or(0, |s| s.transaction_id);
                    if kernel_tid != 0 {
                        return Err(CmdError::failed(format!(
                            "Cannot use thin pool {}/{pool} with transaction id {kernel_tid} for thin volumes. Expected transaction id 0.",
                            vg.name
                        )));
                    }
                    self.deactivate_lv(ctx, found, &pool)?;
                }
                if let Some(p) = pool_mut(&mut vg, &pool) {
                    p.messages = vec![ThinMessage::Create(new.name.to_string())];
                }
            }
            _ => {
                let lv = vg.lv(new.name).cloned();
                // LVM2's wipe_lv signature pass (blkid there): known signatures on a new
                // linear or striped LV wiped before it is committed, asked about unless -y.
                let linear = lv.as_ref().is_some_and(|l| {
                    l.segments
                        .iter()
                        .all(|s| matches!(s.kind, SegmentKind::Striped(_)))
                });
                if new.wipe && new.activate && linear && !read_only {
                    let shown = format!("/dev/{}/{}", vg.name, new.name);
                    self.on_planned_lv(scan, found, &vg, new.name, &mut |dm_name, size| {
                        self.wipe_signatures(ctx, dm_name, size, &shown, new.yes)
                    })?;
                }
                // RAID metadata areas get their first 4 KiB zeroed, mirror logs all of it (all
                // ones when the mirror is not to be synced), as LVM2 does before first use.
                for seg in lv.iter().flat_map(|l| &l.segments) {
                    match &seg.kind {
                        SegmentKind::Raid(r) => {
                            for meta in r.images.iter().filter_map(|i| i.meta.as_deref()) {
                                self.fill_planned_lv(scan, found, &vg, meta, Some(4096), 0)?;
                            }
                        }
                        SegmentKind::Mirror(m) => {
                            if let Some(log) = m.mirror_log.as_deref() {
                                let nosync =
                                    vg.lv(new.name).is_some_and(|l| l.has_status("NOTSYNCED"));
                                let value = if nosync { 0xff } else { 0 };
                                self.fill_planned_lv(scan, found, &vg, log, None, value)?;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let second_commit = kind == "thin";
        Ok(Prepared {
            vg,
            pool_was_active,
            second_commit,
        })
    }

    /// Whether the `after_*` steps read the planned VG: only with a live device-mapper (not
    /// in test mode). Without one a caller hands the planned VG to the commit instead of
    /// copying it (30,000 LVs cost more to copy than to plan).
    pub fn reads_planned_vg(&self) -> bool {
        self.live_control().is_some()
    }

    /// Wipes the magic bytes of every known signature at the start of device `dm_name`
    /// (`shown` in messages), each after LVM2's question unless `yes`.
    fn wipe_signatures(
        &self,
        ctx: &Context,
        dm_name: &str,
        size: u64,
        shown: &str,
        yes: bool,
    ) -> CmdResult {
        self.settle();
        let path = self.dev_dir().mapper_path(dm_name);
        let len = size.min(super::lv_fs::SIGNATURE_SPAN) as usize;
        use crate::store::device::BlockDevice;
        let dev = crate::store::device::DiskDevice::open_write(&path)
            .map_err(|e| CmdError::failed(format!("Cannot open {}: {e}", path.display())))?;
        let head = dev
            .read_owned(0, len)
            .map_err(|e| CmdError::failed(format!("Cannot read {}: {e}", path.display())))?;
        for sig in super::lv_fs::signatures(&head) {
            let question = format!(
                "WARNING: {} signature detected on {shown} at offset {}. Wipe it?",
                sig.kind, sig.offset
            );
            let refusal = format!(
                "Not wiping the {} signature on {shown} without confirmation: no terminal to ask on; add -y to wipe it, or -Wn to keep it.",
                sig.kind
            );
            if !crate::cli::prompt::confirm(yes, ctx.quiet, &question, &refusal)? {
                return Err(CmdError::failed(format!("Aborted wiping of {}.", sig.kind)));
            }
            ctx.say(format!("Wiping {} signature on {shown}.", sig.kind));
            // Whole aligned blocks around the magic, with the rest of their bytes kept.
            let start = sig.offset / 4096 * 4096;
            let end = (sig.offset + sig.len).div_ceil(4096) * 4096;
            let mut block = head[start as usize..(end as usize).min(head.len())].to_vec();
            let at = (sig.offset - start) as usize;
            block[at..at + sig.len as usize].fill(0);
            dev.write_at(start, &block)
                .and_then(|_| dev.flush())
                .map_err(|e| {
                    CmdError::failed(format!(
                        "Failed to wipe {} signature on {shown}: {e}",
                        sig.kind
                    ))
                })?;
        }
        Ok(())
    }

    /// lvcreate's kernel work after its commit: the new LV activated (unless `-an` or skipped)
    /// and its first 4 KiB zeroed as LVM2's wipe_lv does, or LVM2's warning that it was not;
    /// a snapshot's origin reloaded; a thin LV's pool messages sent and then cleared from the
    /// metadata with a second commit.
    pub fn after_create(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        prepared: &Prepared,
        new: &NewLv,
        first: &Committed,
    ) -> CmdResult {
        let vg = &prepared.vg;
        if self.control(ctx).is_none() || self.live_control().is_none() {
            return Ok(());
        }
        let kind = lv_kind(vg, new.name).unwrap_or("plain");
        let lv = vg
            .lv(new.name)
            .ok_or_else(|| CmdError::failed(format!("Internal error: {} vanished.", new.name)))?;
        let skipped = lv.flags.iter().any(|f| f == "ACTIVATION_SKIP") && !new.ignore_skip;
        let activate = new.activate && !skipped;
        let writable = lv.has_status("WRITE");
        let display = format!("{}/{}", vg.name, new.name);
        match kind {
            "cow" => {
                let origin = cow_snapshot(vg, new.name).unwrap_or_default();
                // The new snapshot comes up with its origin when that is active.
                let mut nothing = || Ok(());
                self.update_and_reload(
                    ctx,
                    scan,
                    found,
                    vg,
                    &origin,
                    &origin,
                    SNAPSHOT_SUSPEND,
                    &mut nothing,
                )?;
                return Ok(());
            }
            "pool" => {
                if activate {
                    let committed = with_vg(found, vg);
                    self.activate_lv(ctx, scan, &committed, new.name, ActivateOptions::default())?;
                }
                return Ok(());
            }
            "thin" => {
                let thin = thin_of(lv)
                    .cloned()
                    .ok_or_else(|| CmdError::failed("no thin"))?;
                let pool = thin.thin_pool.clone();
                let send = ActivateOptions {
                    send_messages: true,
                    ..ActivateOptions::default()
                };
                let origin_active = thin
                    .origin
                    .as_deref()
                    .is_some_and(|o| self.lv_active(vg, o));
                // The VG as the first commit left it, carried over without reading the disks.
                let (scan1, found1) = after_commit(ctx, scan, found, first)?;
                let committed = &found1;
                match (thin.origin.as_deref(), origin_active) {
                    (Some(origin), true) => {
                        // A snapshot of an active thin LV: the origin is suspended while the
                        // pool takes the create_snap message.
                        let origin_dm = dm_layer_name(&vg.name, origin, None);
                        let control = self.live_control().ok_or_else(|| CmdError::failed(""))?;
                        control
                            .suspend_with(DevId::Name(&origin_dm), true, true)
                            .map_err(|e| {
                                CmdError::failed(format!(
                                    "Failed to suspend thin snapshot origin {}/{origin}: {e}",
                                    vg.name
                                ))
                            })?;
                        let messaged = self.commit_pool_messages(ctx, committed, &pool);
                        let resumed = control.resume(DevId::Name(&origin_dm));
                        messaged?;
                        resumed.map_err(|e| {
                            CmdError::failed(format!(
                                "Failed to resume thin snapshot origin {}/{origin}: {e}",
                                vg.name
                            ))
                        })?;
                    }
                    _ => {
                        self.activate_lv(ctx, &scan1, committed, &pool, send)?;
                        self.commit_pool_messages(ctx, committed, &pool)?;
                    }
                }
                let (scan2, found2) = recommit_in_memory(ctx, scan1, found1, |v| {
                    if let Some(p) = pool_mut(v, &pool) {
                        p.messages.clear();
                    }
                })?;
                if activate {
                    self.activate_lv(ctx, &scan2, &found2, new.name, ActivateOptions::default())?;
                }
                if !prepared.pool_was_active && self.lv_active(&found2.metadata.vg, &pool) {
                    self.deactivate_lv(ctx, &found2, &pool)?;
                }
                let pool_zeroes = vg
                    .lv(&pool)
                    .and_then(pool_of)
                    .is_some_and(|p| p.zero_new_blocks);
                if thin.origin.is_some() || pool_zeroes {
                    return Ok(());
                }
            }
            _ => {
                if activate {
                    let committed = with_vg(found, vg);
                    self.activate_lv(ctx, scan, &committed, new.name, ActivateOptions::default())?;
                }
            }
        }
        // LVM2's wipe_lv signature pass on what could only be probed through the kernel: a
        // RAID or mirror LV (its first leg's old bytes) and a thin LV of a pool that does not
        // zero (linear and striped LVs were probed before the commit). Refused, the new LV is
        // taken down and removed again, as LVM2 reverts it.
        let direct = lv
            .segments
            .iter()
            .all(|s| matches!(s.kind, SegmentKind::Striped(_)));
        if new.wipe && activate && writable && !direct {
            let size = lv.extent_count() * u64::from(vg.extent_size) * 512;
            let dm = dm_layer_name(&vg.name, new.name, None);
            let shown = format!("/dev/{}/{}", vg.name, new.name);
            if let Err(e) = self.wipe_signatures(ctx, &dm, size, &shown, new.yes) {
                let latest = match ctx.scan().and_then(|s| {
                    let f = ctx.load_vg(&s, &vg.name)?;
                    Ok((s, f))
                }) {
                    Ok(v) => v,
                    Err(_) => return Err(e),
                };
                let _ = self.deactivate_lv(ctx, &latest.1, new.name);
                let mut doomed = super::lv_plan::sub_lvs(vg, new.name);
                doomed.push(new.name.to_string());
                let _ = recommit(ctx, &vg.name, |v| {
                    v.lvs.retain(|l| !doomed.contains(&l.name));
                });
                return Err(e);
            }
        }
        // LVM2's _should_wipe_lv and wipe_lv: 4 KiB of zeros through the new device.
        let zero = new.zero.unwrap_or(true) && activate;
        if zero && writable {
            let size = lv.extent_count() * u64::from(vg.extent_size) * 512;
            let dm = dm_layer_name(&vg.name, new.name, None);
            self.fill_start(&dm, size.min(4096), 0).map_err(|e| {
                CmdError::failed(format!(
                    "{} Aborting. Failed to wipe start of new LV.",
                    e.message()
                ))
            })?;
        } else {
            ctx.warn(format!("WARNING: Logical volume {display} not zeroed."));
        }
        Ok(())
    }

    /// lvremove's kernel work before its commit (`vg` is the planned VG, `removed` the LVs it
    /// no longer has): open LVs refused with LVM2's message, the others deactivated (a
    /// snapshot leaves with its origin's reload after the commit), and thin deletions of a
    /// kept pool queued as pool messages under one transaction.
    pub fn before_remove(
        &self,
        ctx: &Context,
        found: &FoundVg,
        mut vg: VolumeGroup,
        removed: &[String],
    ) -> CmdResult<VolumeGroup> {
        if self.live_control().is_none() {
            return Ok(vg);
        }
        let old_vg = &found.metadata.vg;
        for name in removed {
            self.check_not_in_use(old_vg, name)?;
        }
        let mut deletes: Vec<(String, u32)> = Vec::new();
        for name in removed {
            let Some(lv) = old_vg.lv(name) else { continue };
            if cow_snapshot(old_vg, name).is_some() {
                continue;
            }
            if let Some(t) = thin_of(lv) {
                if vg.lv(&t.thin_pool).is_some() {
                    deletes.push((t.thin_pool.clone(), t.device_id));
                }
            }
            if self.lv_active(old_vg, name) || pool_of(lv).is_some() || thin_of(lv).is_some() {
                self.deactivate_lv(ctx, found, name)?;
            }
        }
        let pools: Vec<String> = {
            let mut p: Vec<String> = deletes.iter().map(|(p, _)| p.clone()).collect();
            p.dedup();
            p
        };
        for pool in pools {
            let old_tid = old_vg
                .lv(&pool)
                .and_then(pool_of)
                .map_or(0, |p| p.transaction_id);
            if let Some(p) = pool_mut(&mut vg, &pool) {
                p.transaction_id = old_tid + 1;
                p.messages = deletes
                    .iter()
                    .filter(|(n, _)| *n == pool)
                    .map(|(_, id)| ThinMessage::Delete(*id))
                    .collect();
            }
        }
        Ok(vg)
    }

    /// Whether `vg` (planned by `before_remove` or `before_create`) queues thin pool messages,
    /// so a second commit clearing them follows the first.
    pub fn queues_pool_messages(vg: &VolumeGroup) -> bool {
        vg.lvs
            .iter()
            .any(|l| pool_of(l).is_some_and(|p| !p.messages.is_empty()))
    }

    /// lvremove's kernel work after its commit: origins that lost a snapshot reloaded without
    /// it, pools that lost thin LVs told so (activated for it when they were not), and the
    /// messages cleared from the metadata with a second commit.
    pub fn after_remove(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        vg: &VolumeGroup,
        removed: &[String],
        first: Option<&Committed>,
    ) -> CmdResult {
        if self.control(ctx).is_none() || self.live_control().is_none() {
            return Ok(());
        }
        let old_vg = &found.metadata.vg;
        let mut origins: Vec<String> = Vec::new();
        for name in removed {
            if let Some(origin) = cow_snapshot(old_vg, name) {
                if vg.lv(&origin).is_some() && !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        for origin in &origins {
            let mut nothing = || Ok(());
            self.update_and_reload(
                ctx,
                scan,
                found,
                vg,
                origin,
                origin,
                SNAPSHOT_SUSPEND,
                &mut nothing,
            )?;
        }
        // Whatever is left of removed COWs (an inactive origin's snapshot has no devices).
        let pools: Vec<String> = vg
            .lvs
            .iter()
            .filter(|l| pool_of(l).is_some_and(|p| !p.messages.is_empty()))
            .map(|l| l.name.clone())
            .collect();
        if pools.is_empty() {
            return Ok(());
        }
        let clear = |v: &mut VolumeGroup| {
            for pool in &pools {
                if let Some(p) = pool_mut(v, pool) {
                    p.messages.clear();
                }
            }
        };
        let send = ActivateOptions {
            send_messages: true,
            ..ActivateOptions::default()
        };
        let mut was_active = Vec::new();
        let found2 = match first {
            // The VG as the first commit left it, carried over without reading the disks.
            Some(first) => {
                let (scan1, found1) = after_commit(ctx, scan, found, first)?;
                let sent = pools.iter().try_for_each(|pool| {
                    was_active.push(self.lv_active(vg, pool));
                    self.activate_lv(ctx, &scan1, &found1, pool, send)?;
                    self.commit_pool_messages(ctx, &found1, pool)
                });
                sent?;
                recommit_in_memory(ctx, scan1, found1, clear)?.1
            }
            None => {
                let committed = with_vg(found, vg);
                for pool in &pools {
                    was_active.push(self.lv_active(vg, pool));
                    self.activate_lv(ctx, scan, &committed, pool, send)?;
                    self.commit_pool_messages(ctx, &committed, pool)?;
                }
                recommit(ctx, &vg.name, clear)?.1
            }
        };
        for (pool, active) in pools.iter().zip(was_active) {
            if !active {
                self.deactivate_lv(ctx, &found2, pool)?;
            }
        }
        Ok(())
    }

    /// The kernel side of `lvconvert --merge` / `lvmerge` of the COW snapshot `cow`, as LVM2's
    /// _lvconvert_merge_old_snapshot: `merged` is the VG with the snapshot flagged merging and
    /// `commit` writes it. An open origin or snapshot defers the merge to the origin's next
    /// activation; an active origin is reloaded with the snapshot-merge target around the
    /// commit, the merge is polled to its end ("Merged: 100.00%") and the snapshot removed.
    /// An inactive origin merges when it is next activated.
    #[allow(clippy::too_many_arguments)]
    pub fn merge_cow_snapshot(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        merged: &VolumeGroup,
        cow: &str,
        commit: &mut dyn FnMut() -> CmdResult,
    ) -> CmdResult {
        let vg_name = merged.name.clone();
        let origin = cow_snapshot(merged, cow)
            .ok_or_else(|| CmdError::failed(format!("{vg_name}/{cow} is not a COW snapshot.")))?;
        let later = format!(
            "Merging of snapshot {vg_name}/{cow} will occur on next activation of {vg_name}/{origin}."
        );
        if self.live_control().is_none() {
            commit()?;
            ctx.say(later);
            return Ok(());
        }
        let old_vg = &found.metadata.vg;
        if let Some(lv) = old_vg.lv(cow) {
            let uuid = lv_uuid(old_vg, lv);
            let invalid = self
                .live_control()
                .and_then(|c| c.status(DevId::Uuid(&uuid)).ok())
                .and_then(|l| {
                    l.first()
                        .and_then(|l| crate::dm::status::parse_snapshot(&l.params))
                })
                .is_some_and(|s| s.invalid);
            if invalid {
                return Err(CmdError::failed(format!(
                    "Unable to merge invalidated snapshot LV {vg_name}/{cow}."
                )));
            }
        }
        let open = |name: &str| {
            old_vg
                .lv(name)
                .and_then(|lv| self.device_info(&lv_uuid(old_vg, lv)))
                .is_some_and(|i| i.open_count > 0)
        };
        if self.lv_active(old_vg, &origin) {
            let why = if open(&origin) {
                Some("Delaying merge since origin is open.")
            } else if open(cow) {
                Some("Delaying merge since snapshot is open.")
            } else {
                None
            };
            if let Some(why) = why {
                ctx.say(why);
                commit()?;
                ctx.say(later);
                return Ok(());
            }
        }
        self.update_and_reload(
            ctx,
            scan,
            found,
            merged,
            &origin,
            &origin,
            SNAPSHOT_SUSPEND,
            commit,
        )?;
        if !self.merge_running(merged, &origin) {
            ctx.say(later);
            return Ok(());
        }
        ctx.say(format!("Merging of volume {vg_name}/{cow} started."));
        self.finish_merge(ctx, &vg_name, &origin, true)
    }

    /// Whether the origin's device runs the snapshot-merge target.
    fn merge_running(&self, vg: &VolumeGroup, origin: &str) -> bool {
        let Some(lv) = vg.lv(origin) else {
            return false;
        };
        self.live_control()
            .and_then(|c| c.table(DevId::Uuid(&lv_uuid(vg, lv))).ok())
            .is_some_and(|t| t.iter().any(|l| l.target_type == "snapshot-merge"))
    }

    /// Waits for the merge into `origin` to copy everything back (LVM2's merge polling,
    /// `progress` printing "vg/lv: Merged: N%" as lvconvert does), then removes the merged
    /// snapshot: the metadata loses it and the origin is reloaded without it. The caller
    /// holds the VG's write lock.
    pub fn finish_merge(
        &self,
        ctx: &Context,
        vg_name: &str,
        origin: &str,
        progress: bool,
    ) -> CmdResult {
        let Some(control) = self.live_control() else {
            return Ok(());
        };
        let dm = dm_layer_name(vg_name, origin, None);
        let interval = std::time::Duration::from_secs(
            ctx.config
                .get_int("activation/polling_interval")
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(15)
                .max(1),
        );
        let mut last_print = std::time::Instant::now();
        loop {
            let status = control
                .status(DevId::Name(&dm))
                .ok()
                .and_then(|l| {
                    l.first()
                        .filter(|l| l.target_type == "snapshot-merge")
                        .and_then(|l| crate::dm::status::parse_snapshot(&l.params))
                })
                .ok_or_else(|| {
                    CmdError::failed(format!(
                        "{vg_name}/{origin}: Failed query for merging percentage. Aborting merge."
                    ))
                })?;
            if status.merge_failed {
                return Err(CmdError::failed(format!(
                    "{vg_name}/{origin}: Merge failed. Retry merge or inspect manually."
                )));
            }
            if status.invalid {
                return Err(CmdError::failed(format!(
                    "{vg_name}/{origin}: Merging snapshot invalidated. Aborting merge."
                )));
            }
            let done = status.merge_done();
            let left = if done {
                0
            } else {
                crate::report::make_percent(status.used_sectors, status.total_sectors)
            };
            if progress && (done || last_print.elapsed() >= interval) {
                let mut pct = String::new();
                crate::report::write_percent(&mut pct, crate::report::PERCENT_100 - left);
                ctx.say(format!("{vg_name}/{origin}: Merged: {pct}%"));
                last_print = std::time::Instant::now();
            }
            if done {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if progress {
            ctx.say(format!(
                "Merge of snapshot into logical volume {vg_name}/{origin} has finished."
            ));
        }
        let scan = ctx.scan()?;
        let found = ctx.load_vg(&scan, vg_name)?;
        let old_vg = &found.metadata.vg;
        let Some(cow) = old_vg
            .lvs
            .iter()
            .flat_map(|l| &l.segments)
            .find_map(|s| match &s.kind {
                SegmentKind::Snapshot(sn) if sn.origin == origin && sn.merging => {
                    Some(sn.cow.clone())
                }
                _ => None,
            })
        else {
            return Ok(());
        };
        let mut vg = old_vg.clone();
        super::lv_plan::remove_lv(&mut vg, &cow);
        let mut commit = || {
            let mut md = found.metadata.clone();
            md.vg = vg.clone();
            ctx.commit_vg(&scan, Some(&found), &mut md)
        };
        self.update_and_reload(
            ctx,
            &scan,
            &found,
            &vg,
            origin,
            origin,
            SNAPSHOT_SUSPEND,
            &mut commit,
        )?;
        if progress {
            ctx.say(format!("Logical volume \"{cow}\" successfully removed."));
        }
        Ok(())
    }

    /// After an activation under the VG's write lock: merges it started are polled to their
    /// end and the merged snapshots removed, quietly, as LVM2's background polling does.
    pub fn finish_started_merges(&self, ctx: &Context, vg: &VolumeGroup) -> CmdResult {
        let origins: Vec<String> = vg
            .lvs
            .iter()
            .flat_map(|l| &l.segments)
            .filter_map(|s| match &s.kind {
                SegmentKind::Snapshot(sn) if sn.merging => Some(sn.origin.clone()),
                _ => None,
            })
            .collect();
        for origin in origins {
            if self.merge_running(vg, &origin) {
                self.finish_merge(ctx, &vg.name, &origin, false)?;
            }
        }
        Ok(())
    }

    /// LVM2's _lvresize_check_type for an active origin: "Snapshot origin volumes can be
    /// resized only while inactive".
    pub fn check_resize(&self, vg: &VolumeGroup, name: &str) -> CmdResult {
        let origin = vg
            .lvs
            .iter()
            .flat_map(|l| &l.segments)
            .any(|s| matches!(&s.kind, SegmentKind::Snapshot(sn) if sn.origin == name));
        if origin && self.live_control().is_some() && self.lv_active(vg, name) {
            return Err(CmdError::failed(
                "Snapshot origin volumes can be resized only while inactive: try lvchange -an.",
            ));
        }
        Ok(())
    }

    /// One commit for several changed LVs, each active one reloaded around it (lvchange -p):
    /// the first reload carries the commit, the others follow it.
    pub fn update_and_reload_all(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        vg: &VolumeGroup,
        lvs: &[String],
        commit: &mut dyn FnMut() -> CmdResult,
    ) -> CmdResult {
        if lvs.is_empty() || !self.available() {
            return commit();
        }
        let mut holders: Vec<String> = Vec::new();
        for name in lvs {
            let h = lock_holder(vg, name);
            if !holders.contains(&h) {
                holders.push(h);
            }
        }
        let mut committed = false;
        for h in &holders {
            let mut once = || {
                if committed {
                    Ok(())
                } else {
                    committed = true;
                    commit()
                }
            };
            self.update_and_reload(ctx, scan, found, vg, h, h, PLAIN_SUSPEND, &mut once)?;
        }
        Ok(())
    }

    /// vgremove's kernel work: every LV of the VG deactivated, none of it if one is open.
    pub fn deactivate_vg(&self, ctx: &Context, found: &FoundVg) -> CmdResult {
        if self.live_control().is_none() {
            return Ok(());
        }
        let vg = &found.metadata.vg;
        let tops =
            super::activate::lvs_to_change(vg, super::activate::ActivationChange::Deactivate, true);
        let names: Vec<String> = tops.iter().map(|l| l.name.clone()).collect();
        for name in &names {
            self.check_not_in_use(vg, name)?;
            for cow in vg
                .lvs
                .iter()
                .filter(|l| cow_snapshot(vg, &l.name).as_deref() == Some(name))
            {
                self.check_not_in_use(vg, &cow.name)?;
            }
        }
        for name in &names {
            if self.lv_active(vg, name) || vg.lv(name).and_then(pool_of).is_some() {
                self.deactivate_lv(ctx, found, name)?;
            }
        }
        Ok(())
    }
}
