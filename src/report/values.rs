//! The model -> report values mapping: what LVM2 2.03.16 shows in every field for a VG read from
//! metadata, its PVs' labels and the devices' sizes. Pure: callers hand in [`DeviceFacts`] and
//! the parsed [`VolumeGroup`]; nothing here touches a disk.
//!
//! LVM2 derives many LV properties on import that the text does not spell out (a mirror image,
//! a thin pool's data LV, a COW store, a pmspare). [`VgFacts::new`] computes them once for the
//! whole VG, with a name -> index map, so each row is a few lookups even with many LVs.
//!
//! Kernel-derived fields are what LVM2 prints without device-mapper (`--driverloaded n`):
//! state and open flags `X`, kernel numbers `-1`, percentages blank, status flags `unknown`.
//! With device-mapper the caller hands in a [`KernelView`] (what LVM2's
//! lv_info_with_seg_status reads for each LV) and they follow the kernel as LVM2's do.

use super::size::PERCENT_INVALID;
use super::{FieldId, FieldType, FieldValue, ObjType};
use metadata_format::text::{
    AllocationPolicy, Area, Id, LogicalVolume, Raid, ReadAhead, Segment, SegmentKind, Snapshot,
    Thin, ThinPool, VolumeGroup, Word,
};
use std::borrow::Cow;
use std::collections::HashMap;

/// One metadata area of a device as the label scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdaFacts {
    /// Area size in bytes (header included).
    pub size: u64,
    pub ignored: bool,
    /// Size in bytes of the committed text, when there is one.
    pub text_size: Option<u64>,
}

impl MdaFacts {
    /// LVM2's free space of an area in sectors: half the ring less a sector, less the text.
    pub fn free_sectors(&self) -> u64 {
        let max = (self.size.saturating_sub(512) / 2).saturating_sub(512);
        let used = self.text_size.unwrap_or(0);
        if used >= max {
            0
        } else {
            (max - used) >> 9
        }
    }
}

/// A device carrying a PV label, as the scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The device name LVM2 prints (`/dev/loop0`).
    pub name: String,
    pub major: u32,
    pub minor: u32,
    /// Current device size in sectors.
    pub dev_size: u64,
    pub pv_id: Id,
    /// `device_size` of the pv_header, in sectors.
    pub label_size: u64,
    /// Start of the data area from the pv_header, in sectors.
    pub pe_start: u64,
    /// pv_header extension version (0 without one).
    pub ext_version: u32,
    /// PV_EXT_USED: the label says the PV belongs to a VG.
    pub ext_used: bool,
    pub mdas: Vec<MdaFacts>,
    /// Bootloader area (start, size) in sectors.
    pub ba: Option<(u64, u64)>,
}

impl DeviceFacts {
    pub fn mda_size(&self) -> u64 {
        self.mdas.iter().map(|m| m.size >> 9).min().unwrap_or(0)
    }

    pub fn mda_free(&self) -> u64 {
        self.mdas
            .iter()
            .filter(|m| !m.ignored)
            .map(MdaFacts::free_sectors)
            .min()
            .unwrap_or(0)
    }

    pub fn mda_used_count(&self) -> u64 {
        self.mdas.iter().filter(|m| !m.ignored).count() as u64
    }
}

/// What the kernel says about one LV, as LVM2's lv_info_with_seg_status collects it: the
/// device its state comes from and the status of its segment's target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LvKernel {
    /// The device LVM2 takes the LV's state from, when it exists.
    pub info: Option<KernelInfo>,
    /// LVM2's lv_is_active: the LV's own device exists.
    pub active: bool,
    /// The LV's own device (LVM2's lv_info without a layer: a new thin pool's `-tpool`), as
    /// lvdisplay and lvscan read it.
    pub own: Option<KernelInfo>,
    pub status: SegStatus,
    /// A mirror image whose mirror is in sync, a RAID image whose health is `A`.
    pub image_in_sync: bool,
    /// LVM2's lv_raid_healthy (true when the RAID LV is not active).
    pub raid_healthy: bool,
    /// A RAID LV's mismatch count and sync action, when it is active.
    pub raid_mismatches: Option<u64>,
    pub raid_sync_action: Option<String>,
    /// A mirror LV's copy percent (LVM2's copy_percent over its segments), when active.
    pub mirror_copy: Option<i32>,
}

/// LVM2's lvinfo of a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelInfo {
    pub major: u32,
    pub minor: u32,
    pub open_count: i32,
    pub suspended: bool,
    pub read_only: bool,
    pub live_table: bool,
    pub inactive_table: bool,
    /// In sectors.
    pub read_ahead: Option<u64>,
}

/// LVM2's seg_status: the parsed status of the target that maps the LV's segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SegStatus {
    /// No status to show (inactive, or a target LVM2 reports nothing for).
    #[default]
    None,
    /// A status LVM2 could not parse or match: shown as `X`.
    Unknown,
    ThinPool(crate::dm::status::ThinPoolStatus),
    Thin(crate::dm::status::ThinStatus),
    Snapshot(crate::dm::status::SnapshotStatus),
    Raid(crate::dm::status::RaidStatus),
}

/// The kernel's state of every LV of a VG (same order as `vg.lvs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelView {
    pub lvs: Vec<LvKernel>,
}

/// Properties LVM2 derives for an LV on import (its `status` bits beyond the text's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Kind(u32);

impl Kind {
    const MIRRORED: u32 = 1;
    const MIRROR_IMAGE: u32 = 1 << 1;
    const MIRROR_LOG: u32 = 1 << 2;
    const RAID: u32 = 1 << 3;
    const RAID_IMAGE: u32 = 1 << 4;
    const RAID_META: u32 = 1 << 5;
    const THIN_POOL: u32 = 1 << 6;
    const THIN_POOL_DATA: u32 = 1 << 7;
    const THIN_POOL_META: u32 = 1 << 8;
    const THIN_VOLUME: u32 = 1 << 9;
    const CACHE_POOL: u32 = 1 << 10;
    const CACHE_POOL_DATA: u32 = 1 << 11;
    const CACHE_POOL_META: u32 = 1 << 12;
    const CACHE: u32 = 1 << 13;
    const CACHE_ORIGIN: u32 = 1 << 14;
    /// The internal `snapshotN` LV.
    const SNAPSHOT: u32 = 1 << 15;
    const COW: u32 = 1 << 16;
    const ORIGIN: u32 = 1 << 17;
    const PVMOVE: u32 = 1 << 18;
    const PMSPARE: u32 = 1 << 19;
    const EXTERNAL_ORIGIN: u32 = 1 << 20;
    const UNKNOWN_SEGMENT: u32 = 1 << 21;

    fn has(self, bits: u32) -> bool {
        self.0 & bits != 0
    }
}

/// Derived facts about one LV.
#[derive(Debug, Clone, Default)]
struct LvDerived {
    kind: Kind,
    /// Segments of other LVs that use this LV, in import order: (lv, segment).
    users: Vec<(usize, usize)>,
    /// For an origin: its COW LVs, in order.
    cows: Vec<usize>,
    /// For a COW LV: the internal snapshot LV whose segment names it.
    snapshot: Option<usize>,
    visible: bool,
    partial: bool,
}

/// A VG with everything a report needs about it precomputed.
pub struct VgFacts<'a> {
    pub vg: &'a VolumeGroup,
    /// Per PV of the VG (same order): its device, or None when missing.
    pub devices: Vec<Option<&'a DeviceFacts>>,
    /// LV names to indexes, built on the first lookup: a VG of plain linear LVs (whose
    /// segments name no other LV) never needs it, and at 30,000 LVs it is ~1.6 MB.
    lv_by_name: std::sync::OnceLock<LvNames<'a>>,
    pv_by_id: HashMap<Id, usize, metadata_format::QuickHash>,
    lvs: Vec<LvDerived>,
    /// Allocated extents per PV.
    pv_alloc: Vec<u64>,
    /// PVs without a device or flagged missing.
    missing_pvs: u64,
    /// The kernel's state of the LVs; None without device-mapper.
    kernel: Option<&'a KernelView>,
}

/// What one report row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef {
    Vg,
    Lv(usize),
    /// LV, segment index.
    Seg(usize, usize),
    /// PV index in the VG.
    Pv(usize),
    /// PV index, PV segment.
    PvSeg(usize, PvSeg),
}

/// A run of physical extents on a PV: used by an LV segment or free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PvSeg {
    pub start: u64,
    pub len: u64,
    /// (lv, segment) owning the extents.
    pub owner: Option<(usize, usize)>,
}

fn has_flag(status: &[Word], flags: &[Word], name: &str) -> bool {
    status.iter().chain(flags).any(|s| s == name)
}

fn lv_has(lv: &LogicalVolume, name: &str) -> bool {
    has_flag(&lv.status, &lv.flags, name)
}

/// Extents of the area a segment maps onto one PV or sub-LV (LVM2's `area_len`).
pub fn area_len(seg: &Segment) -> u64 {
    let len = u64::from(seg.extent_count);
    match &seg.kind {
        SegmentKind::Striped(s) if !s.stripes.is_empty() => len / s.stripes.len() as u64,
        _ => len,
    }
}

/// LVM2's one-letter allocation policy.
fn alloc_char(policy: Option<&AllocationPolicy>, default: char) -> char {
    match policy {
        None => default,
        Some(AllocationPolicy::Contiguous) => 'c',
        Some(AllocationPolicy::Cling) => 'l',
        Some(AllocationPolicy::ClingByTags) => 't',
        Some(AllocationPolicy::Normal) => 'n',
        Some(AllocationPolicy::Anywhere) => 'a',
        Some(AllocationPolicy::Inherit) => 'i',
        Some(AllocationPolicy::Other(_)) => '-',
    }
}

fn s<'x>(text: impl Into<Cow<'x, str>>) -> FieldValue<'x> {
    FieldValue::Str(text.into())
}

fn empty() -> FieldValue<'static> {
    FieldValue::Str(Cow::Borrowed(""))
}

fn undef_int() -> FieldValue<'static> {
    FieldValue::Int(-1)
}

/// LVM2's time field: `2026-11-29 05:18:21 +0000` in the local zone, sorted by the epoch.
pub fn time_value(epoch: Option<u64>) -> FieldValue<'static> {
    match epoch {
        Some(t) if t > 0 => FieldValue::TextNum(Cow::Owned(format_time(t)), t),
        _ => FieldValue::TextNum(Cow::Borrowed(""), 0),
    }
}

/// `%Y-%m-%d %T %z` in the local time zone (LVM2's `report/time_format` default).
pub fn format_time(epoch: u64) -> String {
    format_time_at(epoch, crate::host::local_utc_offset(epoch))
}

/// [`format_time`] with a given UTC offset (seconds east).
pub fn format_time_at(epoch: u64, offset: i32) -> String {
    let local = epoch as i64 + i64::from(offset);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        off / 3600,
        off / 60 % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The dm name LVM2 builds: `vg-lv` with every `-` inside a name doubled.
pub fn dm_name(vg: &str, lv: &str) -> String {
    format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"))
}

type LvNames<'a> = HashMap<&'a str, usize, metadata_format::QuickHash>;

/// The name index of `vg`'s LVs, built into `cell` on first use.
fn lv_name_map<'a, 'c>(
    vg: &'a VolumeGroup,
    cell: &'c std::sync::OnceLock<LvNames<'a>>,
) -> &'c LvNames<'a> {
    cell.get_or_init(|| {
        vg.lvs
            .iter()
            .enumerate()
            .map(|(i, lv)| (lv.name.as_str(), i))
            .collect()
    })
}

impl<'a> VgFacts<'a> {
    pub fn new(vg: &'a VolumeGroup, devices: Vec<Option<&'a DeviceFacts>>) -> VgFacts<'a> {
        let lv_by_name = std::sync::OnceLock::new();
        let pv_by_id: HashMap<Id, usize, metadata_format::QuickHash> =
            vg.pvs.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        let mut lvs = vec![LvDerived::default(); vg.lvs.len()];
        let mut pv_alloc = vec![0u64; vg.pvs.len()];
        let find = |name: &str| lv_name_map(vg, &lv_by_name).get(name).copied();
        for (i, lv) in vg.lvs.iter().enumerate() {
            if lv_has(lv, "PVMOVE") {
                lvs[i].kind.0 |= Kind::PVMOVE;
            }
            if lv.name.ends_with("_pmspare") {
                lvs[i].kind.0 |= Kind::PMSPARE;
            }
            for (si, seg) in lv.segments.iter().enumerate() {
                let mark = |name: &str, bits: u32, lvs: &mut Vec<LvDerived>| {
                    if let Some(t) = find(name) {
                        lvs[t].kind.0 |= bits;
                        lvs[t].users.push((i, si));
                    }
                };
                for area in seg.areas() {
                    match area {
                        Area::Pv { pv, .. } => {
                            if let Some(&p) = pv_by_id.get(pv) {
                                pv_alloc[p] += area_len(seg);
                            }
                        }
                        Area::Lv { name, .. } => {
                            let bits = match &seg.kind {
                                SegmentKind::Mirror(_) => Kind::MIRROR_IMAGE,
                                _ => 0,
                            };
                            mark(name, bits, &mut lvs);
                        }
                    }
                }
                match &seg.kind {
                    SegmentKind::Striped(_) => {}
                    SegmentKind::Mirror(m) => {
                        lvs[i].kind.0 |= Kind::MIRRORED;
                        if let Some(log) = &m.mirror_log {
                            mark(log, Kind::MIRROR_LOG, &mut lvs);
                        }
                    }
                    SegmentKind::Raid(r) => {
                        lvs[i].kind.0 |= Kind::RAID;
                        for image in &r.images {
                            mark(&image.data, Kind::RAID_IMAGE, &mut lvs);
                            if let Some(meta) = &image.meta {
                                mark(meta, Kind::RAID_META, &mut lvs);
                            }
                        }
                    }
                    SegmentKind::ThinPool(p) => {
                        lvs[i].kind.0 |= Kind::THIN_POOL;
                        mark(&p.pool, Kind::THIN_POOL_DATA, &mut lvs);
                        mark(&p.metadata, Kind::THIN_POOL_META, &mut lvs);
                    }
                    SegmentKind::Thin(t) => {
                        lvs[i].kind.0 |= Kind::THIN_VOLUME;
                        mark(&t.thin_pool, 0, &mut lvs);
                        if let Some(o) = &t.origin {
                            mark(o, 0, &mut lvs);
                        }
                        if let Some(o) = &t.external_origin {
                            mark(o, Kind::EXTERNAL_ORIGIN, &mut lvs);
                        }
                    }
                    SegmentKind::CachePool(p) => {
                        lvs[i].kind.0 |= Kind::CACHE_POOL;
                        mark(&p.data, Kind::CACHE_POOL_DATA, &mut lvs);
                        mark(&p.metadata, Kind::CACHE_POOL_META, &mut lvs);
                    }
                    SegmentKind::Cache(c) => {
                        lvs[i].kind.0 |= Kind::CACHE;
                        mark(&c.cache_pool, 0, &mut lvs);
                        mark(&c.origin, Kind::CACHE_ORIGIN, &mut lvs);
                    }
                    SegmentKind::Snapshot(sn) => {
                        lvs[i].kind.0 |= Kind::SNAPSHOT;
                        if let Some(cow) = find(&sn.cow) {
                            lvs[cow].kind.0 |= Kind::COW;
                            lvs[cow].snapshot = Some(i);
                            if let Some(o) = find(&sn.origin) {
                                lvs[o].kind.0 |= Kind::ORIGIN;
                                lvs[o].cows.push(cow);
                            }
                        }
                    }
                    SegmentKind::Other(_) => lvs[i].kind.0 |= Kind::UNKNOWN_SEGMENT,
                }
            }
        }
        let missing: Vec<bool> = vg
            .pvs
            .iter()
            .zip(&devices)
            .map(|(p, d)| d.is_none() || has_flag(&p.status, &p.flags, "MISSING"))
            .collect();
        let missing_pvs = missing.iter().filter(|m| **m).count() as u64;
        let mut facts = VgFacts {
            vg,
            devices,
            lv_by_name,
            pv_by_id,
            lvs,
            pv_alloc,
            missing_pvs,
            kernel: None,
        };
        for i in 0..vg.lvs.len() {
            facts.lvs[i].visible = facts.compute_visible(i, 0);
        }
        if missing_pvs > 0 {
            let mut memo = vec![None; vg.lvs.len()];
            for i in 0..vg.lvs.len() {
                let p = facts.compute_partial(i, &missing, &mut memo, 0);
                facts.lvs[i].partial = p;
            }
        }
        facts
    }

    /// The kernel's state of the LVs (device-mapper present); without it kernel fields read
    /// as LVM2's with `--driverloaded n`.
    pub fn with_kernel(mut self, kernel: Option<&'a KernelView>) -> VgFacts<'a> {
        self.kernel = kernel;
        self
    }

    /// The kernel state of LV `i` when device-mapper is there (default: inactive).
    fn lk(&self, i: usize) -> Option<LvKernel> {
        self.kernel
            .map(|k| k.lvs.get(i).cloned().unwrap_or_default())
    }

    /// The kernel state of LV `i`; None without device-mapper.
    pub fn kernel_lv(&self, i: usize) -> Option<LvKernel> {
        self.lk(i)
    }

    /// The data (`metadata` false) or metadata percent of LV `i`'s segment status, as
    /// the reports show it (`PERCENT_INVALID` when there is none).
    pub fn kernel_percent(&self, i: usize, metadata: bool) -> i32 {
        match self.lk(i) {
            Some(k) => self.seg_percent(i, &k, metadata),
            None => PERCENT_INVALID,
        }
    }

    /// LVM2's lvseg_percent_with_info_and_seg_status for data (`metadata` false) or
    /// metadata.
    fn seg_percent(&self, i: usize, k: &LvKernel, metadata: bool) -> i32 {
        use super::make_percent;
        match &k.status {
            SegStatus::Snapshot(s) if !metadata => {
                if s.merge_failed {
                    PERCENT_INVALID
                } else if s.invalid {
                    super::PERCENT_100
                } else if s.has_metadata_sectors && s.used_sectors == s.metadata_sectors {
                    0
                } else {
                    make_percent(s.used_sectors, s.total_sectors)
                }
            }
            SegStatus::ThinPool(p) => {
                if p.fail || p.error {
                    PERCENT_INVALID
                } else if metadata {
                    make_percent(p.used_metadata_blocks, p.total_metadata_blocks)
                } else {
                    make_percent(p.used_data_blocks, p.total_data_blocks)
                }
            }
            SegStatus::Thin(t) if !metadata => {
                if t.fail {
                    return PERCENT_INVALID;
                }
                let chunk = self
                    .thin_segment(i)
                    .and_then(|t| self.lv_index(&t.thin_pool))
                    .and_then(|p| match self.lv(p).segments.first().map(|s| &s.kind) {
                        Some(SegmentKind::ThinPool(tp)) => Some(u64::from(tp.chunk_size)),
                        _ => None,
                    })
                    .unwrap_or(1)
                    .max(1);
                let size = self.lv_size(i).div_ceil(chunk) * chunk;
                make_percent(t.mapped_sectors.min(size), size)
            }
            _ => PERCENT_INVALID,
        }
    }

    fn compute_visible(&self, i: usize, depth: u32) -> bool {
        let d = &self.lvs[i];
        if d.kind.has(Kind::SNAPSHOT) {
            return false;
        }
        if let Some(snap) = d.snapshot {
            if let Some(SegmentKind::Snapshot(sn)) =
                self.vg.lvs[snap].segments.first().map(|s| &s.kind)
            {
                if sn.merging {
                    return false;
                }
                if let Some(o) = self.lv_index(&sn.origin) {
                    if depth < 8 {
                        return self.compute_visible(o, depth + 1);
                    }
                }
            }
        }
        lv_has(&self.vg.lvs[i], "VISIBLE")
    }

    /// LVM2 marks an LV partial when any of its extents, directly or through sub-LVs, sit on a
    /// missing PV.
    fn compute_partial(
        &self,
        i: usize,
        missing: &[bool],
        memo: &mut Vec<Option<bool>>,
        depth: u32,
    ) -> bool {
        if let Some(v) = memo[i] {
            return v;
        }
        if depth > 64 {
            return false;
        }
        memo[i] = Some(false);
        let mut partial = false;
        for seg in &self.vg.lvs[i].segments {
            for sub in self.sub_lvs(seg) {
                if self.compute_partial(sub, missing, memo, depth + 1) {
                    partial = true;
                }
            }
            for area in seg.areas() {
                if let Area::Pv { pv, .. } = area {
                    if self.pv_by_id.get(pv).is_none_or(|&p| missing[p]) {
                        partial = true;
                    }
                }
            }
        }
        memo[i] = Some(partial);
        partial
    }

    /// The LVs a segment is built from (LVM2's `for_each_sub_lv`).
    fn sub_lvs(&self, seg: &Segment) -> Vec<usize> {
        let mut names: Vec<&str> = Vec::new();
        for area in seg.areas() {
            if let Area::Lv { name, .. } = area {
                names.push(name);
            }
        }
        match &seg.kind {
            SegmentKind::Mirror(m) => names.extend(m.mirror_log.as_deref()),
            SegmentKind::Raid(r) => {
                for image in &r.images {
                    names.push(&image.data);
                    names.extend(image.meta.as_deref());
                }
            }
            SegmentKind::ThinPool(p) => {
                names.push(&p.pool);
                names.push(&p.metadata);
            }
            SegmentKind::CachePool(p) => {
                names.push(&p.data);
                names.push(&p.metadata);
            }
            SegmentKind::Cache(c) => {
                names.push(&c.cache_pool);
                names.push(&c.origin);
            }
            SegmentKind::Thin(t) => names.extend(t.external_origin.as_deref()),
            _ => {}
        }
        names.into_iter().filter_map(|n| self.lv_index(n)).collect()
    }

    pub fn lv_index(&self, name: &str) -> Option<usize> {
        lv_name_map(self.vg, &self.lv_by_name).get(name).copied()
    }

    pub fn pv_index(&self, id: &Id) -> Option<usize> {
        self.pv_by_id.get(id).copied()
    }

    /// Whether `lvs` lists this LV at all (the internal `snapshotN` LVs never are).
    pub fn is_reported(&self, i: usize) -> bool {
        !self.lvs[i].kind.has(Kind::SNAPSHOT)
    }

    pub fn is_visible(&self, i: usize) -> bool {
        self.lvs[i].visible
    }

    pub fn is_thin_pool(&self, i: usize) -> bool {
        self.lvs[i].kind.has(Kind::THIN_POOL)
    }

    pub fn is_cow(&self, i: usize) -> bool {
        self.lvs[i].kind.has(Kind::COW)
    }

    pub fn is_origin(&self, i: usize) -> bool {
        self.lvs[i].kind.has(Kind::ORIGIN)
    }

    pub fn is_thin_volume(&self, i: usize) -> bool {
        self.lvs[i].kind.has(Kind::THIN_VOLUME)
    }

    pub fn is_mirrored(&self, i: usize) -> bool {
        self.lvs[i].kind.has(Kind::MIRRORED)
    }

    pub fn is_pvmove(&self, i: usize) -> bool {
        self.lvs[i].kind.has(Kind::PVMOVE)
    }

    pub fn is_partial(&self, i: usize) -> bool {
        self.lvs[i].partial
    }

    /// The COW LVs of an origin.
    pub fn cows(&self, i: usize) -> &[usize] {
        &self.lvs[i].cows
    }

    /// For a COW LV: its origin and the internal snapshot segment.
    pub fn snapshot_of(&self, i: usize) -> Option<(usize, &'a Snapshot)> {
        let snap = self.lvs[i].snapshot?;
        match self.vg.lvs[snap].segments.first().map(|s| &s.kind) {
            Some(SegmentKind::Snapshot(sn)) => Some((self.lv_index(&sn.origin)?, sn)),
            _ => None,
        }
    }

    /// LVs in LVM2's processing order for a VG: text order, thin pools moved to the front (the
    /// last one first); internal snapshot LVs left out.
    pub fn lv_order(&self) -> Vec<usize> {
        let mut front: Vec<usize> = Vec::new();
        let mut rest: Vec<usize> = Vec::new();
        for i in 0..self.vg.lvs.len() {
            if !self.is_reported(i) {
                continue;
            }
            if self.is_thin_pool(i) {
                front.push(i);
            } else {
                rest.push(i);
            }
        }
        front.reverse();
        front.extend(rest);
        front
    }

    pub fn extent_size(&self) -> u64 {
        u64::from(self.vg.extent_size)
    }

    pub fn extent_count(&self) -> u64 {
        self.vg.pvs.iter().map(|p| u64::from(p.pe_count)).sum()
    }

    pub fn free_count(&self) -> u64 {
        let alloc: u64 = self.pv_alloc.iter().sum();
        self.extent_count().saturating_sub(alloc)
    }

    pub fn pv_alloc(&self, p: usize) -> u64 {
        self.pv_alloc.get(p).copied().unwrap_or(0)
    }

    pub fn is_pv_missing(&self, p: usize) -> bool {
        self.devices.get(p).is_none_or(|d| d.is_none())
            || has_flag(&self.vg.pvs[p].status, &self.vg.pvs[p].flags, "MISSING")
    }

    pub fn missing_pv_count(&self) -> u64 {
        self.missing_pvs
    }

    pub fn lv_count(&self) -> u64 {
        (0..self.vg.lvs.len())
            .filter(|&i| self.is_reported(i) && self.lvs[i].visible)
            .count() as u64
    }

    pub fn snap_count(&self) -> u64 {
        (0..self.vg.lvs.len()).filter(|&i| self.is_cow(i)).count() as u64
    }

    fn vg_has(&self, name: &str) -> bool {
        has_flag(&self.vg.status, &self.vg.flags, name)
    }

    pub fn is_exported(&self) -> bool {
        self.vg_has("EXPORTED")
    }

    pub fn is_writeable(&self) -> bool {
        self.vg_has("WRITE") || self.vg_has("WRITE_LOCKED")
    }

    pub fn is_resizeable(&self) -> bool {
        self.vg_has("RESIZEABLE")
    }

    fn is_clustered(&self) -> bool {
        self.vg_has("CLUSTERED")
    }

    fn is_shared(&self) -> bool {
        matches!(
            self.vg.lock_type.as_deref(),
            Some("sanlock" | "dlm" | "idm")
        )
    }

    /// `wz--n-`
    pub fn vg_attr(&self) -> String {
        let mut a = String::with_capacity(6);
        a.push(if self.is_writeable() { 'w' } else { 'r' });
        a.push(if self.is_resizeable() { 'z' } else { '-' });
        a.push(if self.is_exported() { 'x' } else { '-' });
        a.push(if self.missing_pvs > 0 { 'p' } else { '-' });
        a.push(alloc_char(self.vg.allocation_policy.as_ref(), 'n'));
        a.push(if self.is_clustered() {
            'c'
        } else if self.is_shared() {
            's'
        } else {
            '-'
        });
        a
    }

    /// Metadata areas of the VG's present PVs.
    fn mdas(&self) -> impl Iterator<Item = &MdaFacts> {
        self.devices.iter().flatten().flat_map(|d| d.mdas.iter())
    }

    pub fn mda_count(&self) -> u64 {
        self.mdas().count() as u64
    }

    pub fn mda_used_count(&self) -> u64 {
        self.mdas().filter(|m| !m.ignored).count() as u64
    }

    pub fn mda_free(&self) -> u64 {
        self.mdas()
            .filter(|m| !m.ignored)
            .map(MdaFacts::free_sectors)
            .min()
            .unwrap_or(0)
    }

    pub fn mda_size(&self) -> u64 {
        self.mdas()
            .filter(|m| !m.ignored)
            .map(|m| m.size >> 9)
            .min()
            .unwrap_or(0)
    }

    // ---- LV properties ----

    pub fn lv(&self, i: usize) -> &'a LogicalVolume {
        &self.vg.lvs[i]
    }

    fn kind(&self, i: usize) -> Kind {
        self.lvs[i].kind
    }

    /// LV size in sectors (LVM2 leaves out reshape space).
    pub fn lv_size(&self, i: usize) -> u64 {
        let lv = self.lv(i);
        let mut extents = lv.extent_count();
        if let Some(seg) = lv.segments.first() {
            if !self.kind(i).has(Kind::RAID_IMAGE) {
                let reshape = u64::from(seg.reshape_count.unwrap_or(0));
                let areas = area_count(seg);
                let mult = if areas > 2 {
                    areas.saturating_sub(parity_devs(seg))
                } else {
                    1
                };
                extents = extents.saturating_sub(reshape * mult);
            }
        }
        extents * self.extent_size()
    }

    fn is_locked(&self, i: usize) -> bool {
        lv_has(self.lv(i), "LOCKED")
    }

    fn not_synced(&self, i: usize) -> bool {
        lv_has(self.lv(i), "NOTSYNCED")
    }

    fn is_raid_type(&self, i: usize) -> bool {
        self.kind(i)
            .has(Kind::RAID | Kind::RAID_IMAGE | Kind::RAID_META)
    }

    fn is_mirror_type(&self, i: usize) -> bool {
        self.kind(i)
            .has(Kind::MIRRORED | Kind::MIRROR_IMAGE | Kind::MIRROR_LOG)
    }

    fn is_cache_type(&self, i: usize) -> bool {
        self.kind(i)
            .has(Kind::CACHE | Kind::CACHE_POOL | Kind::CACHE_POOL_DATA | Kind::CACHE_POOL_META)
    }

    fn is_virtual(&self, i: usize) -> bool {
        self.kind(i).has(Kind::THIN_VOLUME)
            || self.lv(i).segments.iter().any(|s| {
                matches!(&s.kind, SegmentKind::Other(o) if o.type_name == "zero" || o.type_name == "error")
            })
    }

    fn thin_segment(&self, i: usize) -> Option<&'a Thin> {
        match self.lv(i).segments.first().map(|s| &s.kind) {
            Some(SegmentKind::Thin(t)) => Some(t),
            _ => None,
        }
    }

    fn pool_zero(&self, pool: usize) -> bool {
        matches!(
            self.lv(pool).segments.first().map(|s| &s.kind),
            Some(SegmentKind::ThinPool(p)) if p.zero_new_blocks
        )
    }

    /// The 10 characters of `lv_attr` for an LV, as LVM2 shows it without device-mapper.
    pub fn lv_attr(&self, i: usize) -> String {
        let k = self.kind(i);
        let lv = self.lv(i);
        let mut a = ['-'; 10];
        a[0] = if k.has(Kind::PVMOVE) {
            'p'
        } else if lv_has(lv, "CONVERTING") {
            'c'
        } else if k.has(Kind::ORIGIN | Kind::EXTERNAL_ORIGIN) {
            if self.is_merging_origin(i) {
                'O'
            } else {
                'o'
            }
        } else if k
            .has(Kind::THIN_POOL_META | Kind::CACHE_POOL_META | Kind::PMSPARE | Kind::RAID_META)
        {
            'e'
        } else if self.is_cache_type(i) {
            'C'
        } else if k.has(Kind::RAID) {
            if self.not_synced(i) {
                'R'
            } else {
                'r'
            }
        } else if k.has(Kind::MIRRORED) {
            if self.not_synced(i) {
                'M'
            } else {
                'm'
            }
        } else if k.has(Kind::THIN_VOLUME) {
            if self.thin_segment(i).is_some_and(|t| t.merge.is_some()) {
                'O'
            } else {
                'V'
            }
        } else if self.is_virtual(i) {
            'v'
        } else if k.has(Kind::THIN_POOL) {
            't'
        } else if k.has(Kind::THIN_POOL_DATA) {
            'T'
        } else if k.has(Kind::MIRROR_IMAGE) {
            // In sync only when the kernel says so; without it LVM2 assumes not.
            if self.lk(i).is_some_and(|l| l.image_in_sync) {
                'i'
            } else {
                'I'
            }
        } else if k.has(Kind::RAID_IMAGE) {
            // A visible image (split off with --trackchanges) always shows 'I'.
            if !self.lvs[i].visible && self.lk(i).is_some_and(|l| l.image_in_sync) {
                'i'
            } else {
                'I'
            }
        } else if k.has(Kind::MIRROR_LOG) {
            'l'
        } else if k.has(Kind::COW) {
            if self.is_merging_cow(i) {
                'S'
            } else {
                's'
            }
        } else if k.has(Kind::CACHE_ORIGIN) {
            'o'
        } else {
            '-'
        };
        a[1] = if k.has(Kind::PVMOVE) {
            '-'
        } else if lv_has(lv, "WRITE") || lv_has(lv, "WRITE_LOCKED") {
            'w'
        } else if lv_has(lv, "READ") {
            'r'
        } else {
            '-'
        };
        let alloc = alloc_char(lv.rare.allocation_policy.as_ref(), 'i');
        a[2] = if self.is_locked(i) {
            alloc.to_ascii_uppercase()
        } else {
            alloc
        };
        a[3] = if lv_has(lv, "FIXED_MINOR") { 'm' } else { '-' };
        a[4] = 'X';
        a[5] = 'X';
        let lk = self.lk(i);
        if let Some(l) = lk.as_ref().filter(|l| l.status != SegStatus::Unknown) {
            match &l.info {
                Some(info) => {
                    a[4] = if info.suspended {
                        's'
                    } else if info.live_table {
                        'a'
                    } else if info.inactive_table {
                        'i'
                    } else {
                        'd'
                    };
                    if let (true, SegStatus::Snapshot(s)) = (info.live_table, &l.status) {
                        if s.invalid {
                            a[4] = if info.suspended { 'S' } else { 'I' };
                        } else if s.merge_failed {
                            a[4] = if info.suspended { 'M' } else { 'm' };
                        }
                    }
                    if let (true, SegStatus::ThinPool(p)) = (k.has(Kind::THIN_POOL), &l.status) {
                        if p.needs_check {
                            a[4] = if info.suspended { 'C' } else { 'c' };
                        }
                    }
                    if a[1] != 'r' && info.read_only {
                        a[1] = 'R';
                    }
                    a[5] = if info.open_count > 0 { 'o' } else { '-' };
                }
                None => {
                    a[4] = '-';
                    a[5] = '-';
                }
            }
        }
        a[6] = if k.has(Kind::THIN_POOL | Kind::THIN_VOLUME) {
            't'
        } else if k.has(Kind::CACHE_POOL | Kind::CACHE | Kind::CACHE_ORIGIN) {
            'C'
        } else if self.is_raid_type(i) {
            'r'
        } else if self.is_mirror_type(i) || k.has(Kind::PVMOVE) {
            'm'
        } else if k.has(Kind::COW | Kind::ORIGIN) {
            's'
        } else if k.has(Kind::UNKNOWN_SEGMENT) {
            'u'
        } else if self.is_virtual(i) {
            'v'
        } else {
            '-'
        };
        let zero = if k.has(Kind::THIN_VOLUME) {
            self.thin_segment(i)
                .and_then(|t| self.lv_index(&t.thin_pool))
                .is_some_and(|p| self.pool_zero(p))
        } else {
            k.has(Kind::THIN_POOL) && self.pool_zero(i)
        };
        a[7] = if zero { 'z' } else { '-' };
        a[8] = if self.lvs[i].partial {
            'p'
        } else if self.is_raid_type(i) {
            match &lk {
                None => 'X',
                Some(l) if !l.raid_healthy => 'r',
                Some(l) if k.has(Kind::RAID) => {
                    if l.raid_mismatches.is_some_and(|n| n > 0) {
                        'm'
                    } else if l.raid_sync_action.as_deref() == Some("reshape") {
                        's'
                    } else {
                        '-'
                    }
                }
                Some(_) if lv_has(lv, "WRITEMOSTLY") => 'w',
                Some(_) if lv_has(lv, "REMOVE_AFTER_RESHAPE") => 'R',
                Some(_) => '-',
            }
        } else {
            match lk.as_ref().map(|l| &l.status) {
                Some(SegStatus::ThinPool(p)) if p.fail => 'F',
                Some(SegStatus::ThinPool(p)) if p.out_of_data_space => 'D',
                Some(SegStatus::ThinPool(p)) if p.read_only => 'M',
                Some(SegStatus::Thin(t)) if t.fail => 'F',
                Some(SegStatus::Unknown) => 'X',
                _ => '-',
            }
        };
        a[9] = if lv_has(lv, "ACTIVATION_SKIP") {
            'k'
        } else {
            '-'
        };
        a.iter().collect()
    }

    fn is_merging_origin(&self, i: usize) -> bool {
        self.lvs[i].cows.iter().any(|&c| self.is_merging_cow(c))
            || self.lvs[i].users.iter().any(|&(u, _)| {
                self.thin_segment(u)
                    .is_some_and(|t| t.merge.as_deref() == Some(self.lv(i).name.as_str()))
            })
    }

    fn is_merging_cow(&self, i: usize) -> bool {
        self.snapshot_of(i).is_some_and(|(_, sn)| sn.merging)
    }

    /// LVM2's `lv_layout` and `lv_role` lists.
    pub fn layout_and_role(&self, i: usize) -> (Vec<String>, Vec<String>) {
        let k = self.kind(i);
        let lv = self.lv(i);
        let mut layout: Vec<&'static str> = Vec::new();
        let mut role: Vec<&'static str> = Vec::new();
        let mut public = true;
        let add = |list: &mut Vec<&'static str>, item: &'static str| {
            if !list.contains(&item) {
                list.push(item);
            }
        };
        if self.is_mirror_type(i) || k.has(Kind::PVMOVE) {
            if k.has(Kind::MIRROR_IMAGE) {
                role.extend(["mirror", "image"]);
                public = false;
            } else if k.has(Kind::MIRROR_LOG) {
                role.extend(["mirror", "log"]);
                if k.has(Kind::MIRRORED) {
                    layout.push("mirror");
                }
                public = false;
            } else if k.has(Kind::PVMOVE) {
                role.push("pvmove");
                layout.push("mirror");
                public = false;
            } else {
                layout.push("mirror");
            }
        }
        if self.is_raid_type(i) {
            if k.has(Kind::RAID_IMAGE) {
                role.extend(["raid", "image"]);
                public = false;
            } else if k.has(Kind::RAID_META) {
                role.extend(["raid", "metadata"]);
                public = false;
            } else {
                layout.push("raid");
                if let Some(SegmentKind::Raid(r)) = lv.segments.first().map(|s| &s.kind) {
                    layout.extend(raid_layout(r));
                }
            }
        }
        let thin_type = k
            .has(Kind::THIN_POOL | Kind::THIN_POOL_DATA | Kind::THIN_POOL_META | Kind::THIN_VOLUME);
        if thin_type || k.has(Kind::EXTERNAL_ORIGIN) {
            if k.has(Kind::THIN_POOL_META) {
                role.extend(["thin", "pool", "metadata"]);
                public = false;
            } else if k.has(Kind::THIN_POOL_DATA) {
                role.extend(["thin", "pool", "data"]);
                public = false;
            } else {
                if k.has(Kind::THIN_VOLUME) {
                    layout.extend(["thin", "sparse"]);
                    let snaps = self.thin_snapshot_count(i);
                    if snaps > 0 {
                        add(&mut role, "origin");
                        role.push("thinorigin");
                        if snaps > 1 {
                            role.push("multithinorigin");
                        }
                    }
                    if self
                        .thin_segment(i)
                        .is_some_and(|t| t.origin.is_some() || t.external_origin.is_some())
                    {
                        add(&mut role, "snapshot");
                        role.push("thinsnapshot");
                    }
                } else if k.has(Kind::THIN_POOL) {
                    layout.extend(["thin", "pool"]);
                    public = false;
                }
                if k.has(Kind::EXTERNAL_ORIGIN) {
                    add(&mut role, "origin");
                    role.push("extthinorigin");
                    let name = lv.name.as_str();
                    let ext = self.lvs[i]
                        .users
                        .iter()
                        .filter(|&&(u, _)| {
                            self.thin_segment(u)
                                .is_some_and(|t| t.external_origin.as_deref() == Some(name))
                        })
                        .count();
                    if ext > 1 {
                        role.push("multiextthinorigin");
                    }
                }
            }
        }
        if self.is_cache_type(i) || k.has(Kind::CACHE_ORIGIN) {
            if k.has(Kind::CACHE_POOL_META) {
                role.extend(["cache", "pool", "metadata"]);
                public = false;
            } else if k.has(Kind::CACHE_POOL_DATA) {
                role.extend(["cache", "pool", "data"]);
                if k.has(Kind::CACHE) {
                    layout.push("cache");
                }
                public = false;
            } else if k.has(Kind::CACHE_ORIGIN) {
                add(&mut role, "cache");
                add(&mut role, "origin");
                role.push("cacheorigin");
                if k.has(Kind::CACHE) {
                    layout.push("cache");
                }
                public = false;
            } else if k.has(Kind::CACHE) {
                layout.push("cache");
            } else if k.has(Kind::CACHE_POOL) {
                layout.extend(["cache", "pool"]);
                public = false;
            }
        }
        if k.has(Kind::PMSPARE) {
            role.extend(["pool", "spare"]);
            public = false;
        }
        if k.has(Kind::ORIGIN) {
            add(&mut role, "origin");
            role.push("thickorigin");
            if self.is_virtual(i) && !k.has(Kind::THIN_VOLUME) {
                layout.push("virtual");
                public = false;
            }
            if self.lvs[i].cows.len() > 1 {
                role.push("multithickorigin");
            }
        } else if k.has(Kind::COW) {
            add(&mut role, "snapshot");
            role.push("thicksnapshot");
        }
        if layout.is_empty() {
            let mut linear = false;
            let mut striped = false;
            for seg in &lv.segments {
                if let SegmentKind::Striped(st) = &seg.kind {
                    if st.stripes.len() == 1 {
                        linear = true;
                    } else {
                        striped = true;
                    }
                }
            }
            if linear {
                layout.push("linear");
            }
            if striped {
                layout.push("striped");
            }
            if !linear && !striped {
                layout.push("unknown");
            }
        }
        role.insert(0, if public { "public" } else { "private" });
        (
            layout.into_iter().map(str::to_string).collect(),
            role.into_iter().map(str::to_string).collect(),
        )
    }

    fn thin_snapshot_count(&self, i: usize) -> usize {
        let name = self.lv(i).name.as_str();
        self.lvs[i]
            .users
            .iter()
            .filter(|&&(u, _)| {
                self.thin_segment(u)
                    .is_some_and(|t| t.origin.as_deref() == Some(name))
            })
            .count()
    }

    /// LVM2's name display: hidden LVs in brackets.
    fn lv_name_value(&self, i: usize) -> FieldValue<'_> {
        FieldValue::lv_name(&self.lv(i).name, !self.lvs[i].visible)
    }

    fn lv_ref(&self, target: Option<usize>, uuid: bool) -> FieldValue<'_> {
        match target {
            None => empty(),
            Some(t) if uuid => s(self.lv(t).id.to_string()),
            Some(t) => self.lv_name_value(t),
        }
    }

    pub fn origin_of(&self, i: usize) -> Option<usize> {
        let k = self.kind(i);
        if k.has(Kind::COW) {
            return self.snapshot_of(i).map(|(o, _)| o);
        }
        if k.has(Kind::CACHE) {
            return match self.lv(i).segments.first().map(|s| &s.kind) {
                Some(SegmentKind::Cache(c)) => self.lv_index(&c.origin),
                _ => None,
            };
        }
        if k.has(Kind::THIN_VOLUME) {
            let t = self.thin_segment(i)?;
            return t
                .origin
                .as_deref()
                .or(t.external_origin.as_deref())
                .and_then(|n| self.lv_index(n));
        }
        None
    }

    pub fn pool_of(&self, i: usize) -> Option<usize> {
        match self.lv(i).segments.first().map(|s| &s.kind) {
            Some(SegmentKind::Thin(t)) => self.lv_index(&t.thin_pool),
            Some(SegmentKind::Cache(c)) => self.lv_index(&c.cache_pool),
            _ => None,
        }
    }

    pub fn data_of(&self, i: usize) -> Option<usize> {
        match self.lv(i).segments.first().map(|s| &s.kind) {
            Some(SegmentKind::ThinPool(p)) => self.lv_index(&p.pool),
            Some(SegmentKind::CachePool(p)) => self.lv_index(&p.data),
            _ => None,
        }
    }

    pub fn metadata_of(&self, i: usize) -> Option<usize> {
        match self.lv(i).segments.first().map(|s| &s.kind) {
            Some(SegmentKind::ThinPool(p)) => self.lv_index(&p.metadata),
            Some(SegmentKind::CachePool(p)) => self.lv_index(&p.metadata),
            _ => None,
        }
    }

    fn mirror_log_of(&self, i: usize) -> Option<usize> {
        self.lv(i).segments.iter().find_map(|s| match &s.kind {
            SegmentKind::Mirror(m) => m.mirror_log.as_deref().and_then(|n| self.lv_index(n)),
            _ => None,
        })
    }

    fn parent_of(&self, i: usize) -> Option<usize> {
        let k = self.kind(i);
        if self.lvs[i].visible {
            return None;
        }
        let component = k.has(
            Kind::MIRROR_IMAGE
                | Kind::MIRROR_LOG
                | Kind::RAID_IMAGE
                | Kind::RAID_META
                | Kind::CACHE_POOL_DATA
                | Kind::CACHE_POOL_META
                | Kind::THIN_POOL_DATA
                | Kind::THIN_POOL_META,
        );
        if !component || self.lvs[i].users.len() != 1 {
            return None;
        }
        self.lvs[i].users.first().map(|&(u, _)| u)
    }

    /// `move_pv`: the source PV of a pvmove.
    fn move_pv(&self, i: usize) -> Option<usize> {
        if !self.kind(i).has(Kind::PVMOVE) {
            return None;
        }
        for seg in &self.lv(i).segments {
            match seg.areas().first() {
                Some(Area::Pv { pv, .. }) => return self.pv_index(pv),
                Some(Area::Lv { name, .. }) => {
                    let image = self.lv_index(name)?;
                    let first = self.lv(image).segments.first()?;
                    if let Some(Area::Pv { pv, .. }) = first.areas().first() {
                        return self.pv_index(pv);
                    }
                }
                None => {}
            }
        }
        None
    }

    pub fn origin_size(&self, i: usize) -> u64 {
        let k = self.kind(i);
        if k.has(Kind::COW) {
            return self.snapshot_of(i).map_or(0, |(o, _)| self.lv_size(o));
        }
        if k.has(Kind::THIN_VOLUME) {
            if let Some(e) = self
                .thin_segment(i)
                .and_then(|t| t.external_origin.as_deref())
                .and_then(|n| self.lv_index(n))
            {
                return self.lv_size(e);
            }
        }
        if k.has(Kind::ORIGIN) {
            return self.lv_size(i);
        }
        0
    }

    fn modules(&self, i: usize, out: &mut Vec<String>, depth: u32) {
        if depth > 32 {
            return;
        }
        for seg in &self.lv(i).segments {
            self.segment_modules(i, seg, out, depth);
        }
    }

    fn segment_modules(&self, i: usize, seg: &Segment, out: &mut Vec<String>, depth: u32) {
        if depth > 32 {
            return;
        }
        let add = |m: &str, out: &mut Vec<String>| {
            if !out.iter().any(|x| x == m) {
                out.push(m.to_string());
            }
        };
        match &seg.kind {
            SegmentKind::Mirror(m) => {
                if let Some(log) = m.mirror_log.as_deref().and_then(|n| self.lv_index(n)) {
                    if let Some(first) = self.lv(log).segments.first() {
                        self.segment_modules(log, first, out, depth + 1);
                    }
                }
                add("mirror", out);
            }
            SegmentKind::Raid(_) => add("raid", out),
            SegmentKind::Snapshot(_) => add("snapshot", out),
            SegmentKind::ThinPool(_) => add("thin-pool", out),
            SegmentKind::Thin(_) => {
                add("thin-pool", out);
                add("thin", out);
            }
            SegmentKind::CachePool(_) | SegmentKind::Cache(_) => add("cache", out),
            _ => {}
        }
        if self.kind(i).has(Kind::ORIGIN) {
            for &c in &self.lvs[i].cows {
                self.modules(c, out, depth + 1);
            }
        }
        if self.kind(i).has(Kind::COW) {
            add("snapshot", out);
        }
        for area in seg.areas() {
            if let Area::Lv { name, start } = area {
                if let Some(sub) = self.lv_index(name) {
                    let at = u64::from(*start);
                    if let Some(s2) = self
                        .lv(sub)
                        .segments
                        .iter()
                        .find(|s| at >= u64::from(s.start_extent) && at < s.end_extent())
                    {
                        self.segment_modules(sub, s2, out, depth + 1);
                    }
                }
            }
        }
    }

    fn ancestors(&self, i: usize, out: &mut Vec<String>, depth: u32) {
        if depth > 64 {
            return;
        }
        let next = if self.is_cow(i) {
            self.snapshot_of(i).map(|(o, _)| o)
        } else if self.is_thin_volume(i) {
            self.thin_segment(i).and_then(|t| {
                t.origin
                    .as_deref()
                    .or(t.external_origin.as_deref())
                    .and_then(|n| self.lv_index(n))
            })
        } else {
            None
        };
        if let Some(n) = next {
            if n != i {
                out.push(self.lv(n).name.clone());
                self.ancestors(n, out, depth + 1);
            }
        }
    }

    fn descendants(&self, i: usize, out: &mut Vec<String>, depth: u32) {
        if depth > 64 {
            return;
        }
        if self.is_origin(i) {
            for &c in &self.lvs[i].cows {
                out.push(self.lv(c).name.clone());
                self.descendants(c, out, depth + 1);
            }
            return;
        }
        let name = self.lv(i).name.as_str();
        for &(u, _) in &self.lvs[i].users {
            let Some(t) = self.thin_segment(u) else {
                continue;
            };
            if t.origin.as_deref() == Some(name) || t.external_origin.as_deref() == Some(name) {
                out.push(self.lv(u).name.clone());
                self.descendants(u, out, depth + 1);
            }
        }
    }

    fn metadata_size(&self, i: usize) -> Option<u64> {
        if self.kind(i).has(Kind::THIN_POOL | Kind::CACHE_POOL) {
            return Some(self.metadata_of(i).map_or(0, |m| self.lv_size(m)));
        }
        None
    }

    /// The value of an LV-level field (`LVS`, `LVSINFO`, `LVSSTATUS`, `LVSINFOSTATUS`).
    pub fn lv_value(&self, i: usize, f: FieldId) -> FieldValue<'_> {
        let lv = self.lv(i);
        let k = self.kind(i);
        match f {
            FieldId::LV_UUID => s(lv.id.to_string()),
            FieldId::LV_NAME => self.lv_name_value(i),
            FieldId::LV_FULL_NAME => s(format!("{}/{}", self.vg.name, lv.name)),
            FieldId::LV_PATH => {
                if self.lvs[i].visible && !k.has(Kind::THIN_POOL) {
                    s(format!("/dev/{}/{}", self.vg.name, lv.name))
                } else {
                    empty()
                }
            }
            FieldId::LV_DM_PATH => s(format!("/dev/mapper/{}", dm_name(&self.vg.name, &lv.name))),
            FieldId::LV_PARENT => self.lv_ref(self.parent_of(i), false),
            FieldId::LV_LAYOUT => FieldValue::List(self.layout_and_role(i).0),
            FieldId::LV_ROLE => FieldValue::List(self.layout_and_role(i).1),
            FieldId::LV_INITIAL_IMAGE_SYNC => {
                FieldValue::Bin(k.has(Kind::RAID | Kind::MIRRORED) && !self.not_synced(i))
            }
            FieldId::LV_IMAGE_SYNCED => FieldValue::Bin(
                k.has(Kind::MIRROR_IMAGE | Kind::RAID_IMAGE)
                    && (k.has(Kind::MIRROR_IMAGE) || !self.lvs[i].visible)
                    && self.lk(i).is_some_and(|l| l.image_in_sync),
            ),
            FieldId::LV_MERGING => {
                FieldValue::Bin(if k.has(Kind::ORIGIN | Kind::EXTERNAL_ORIGIN) {
                    self.is_merging_origin(i)
                } else if k.has(Kind::COW) {
                    self.is_merging_cow(i)
                } else if k.has(Kind::THIN_VOLUME) {
                    self.thin_segment(i).is_some_and(|t| t.merge.is_some())
                } else {
                    false
                })
            }
            FieldId::LV_CONVERTING => FieldValue::Bin(lv_has(lv, "CONVERTING")),
            FieldId::LV_ALLOCATION_POLICY => s(lv
                .rare
                .allocation_policy
                .as_ref()
                .map_or("inherit".to_string(), |p| p.as_str().to_string())),
            FieldId::LV_ALLOCATION_LOCKED => FieldValue::Bin(self.is_locked(i)),
            FieldId::LV_FIXED_MINOR => FieldValue::Bin(lv_has(lv, "FIXED_MINOR")),
            FieldId::LV_SKIP_ACTIVATION => FieldValue::Bin(lv_has(lv, "ACTIVATION_SKIP")),
            FieldId::LV_AUTOACTIVATION => FieldValue::Bin(!lv_has(lv, "NOAUTOACTIVATE")),
            FieldId::LV_WHEN_FULL => {
                if k.has(Kind::THIN_POOL) {
                    s(if lv_has(lv, "ERROR_WHEN_FULL") {
                        "error"
                    } else {
                        "queue"
                    })
                } else {
                    empty()
                }
            }
            FieldId::LV_ACTIVE => match self.lk(i) {
                None => s("unknown"),
                Some(l) if l.active => s("active"),
                Some(_) => empty(),
            },
            FieldId::LV_ACTIVE_LOCALLY | FieldId::LV_ACTIVE_EXCLUSIVELY => match self.lk(i) {
                None => FieldValue::BinUndef,
                Some(l) => FieldValue::Bin(l.active),
            },
            FieldId::LV_ACTIVE_REMOTELY => match self.lk(i) {
                None => FieldValue::BinUndef,
                Some(_) => FieldValue::Bin(false),
            },
            FieldId::LV_MAJOR => FieldValue::Int(lv.rare.major.map_or(-1, i64::from)),
            FieldId::LV_MINOR => FieldValue::Int(lv.rare.minor.map_or(-1, i64::from)),
            FieldId::LV_READ_AHEAD => match lv.rare.read_ahead {
                None => FieldValue::read_ahead_auto(),
                Some(ReadAhead::Disabled) => FieldValue::Size(0),
                Some(ReadAhead::Sectors(n)) => FieldValue::Size(u64::from(n)),
            },
            FieldId::LV_SIZE => FieldValue::Size(self.lv_size(i)),
            FieldId::LV_METADATA_SIZE => match self.metadata_size(i) {
                Some(sz) => FieldValue::Size(sz),
                None => FieldValue::undefined(),
            },
            FieldId::SEG_COUNT => FieldValue::Num(lv.segments.len() as u64),
            FieldId::ORIGIN => self.lv_ref(self.origin_of(i), false),
            FieldId::ORIGIN_UUID => self.lv_ref(self.origin_of(i), true),
            FieldId::ORIGIN_SIZE => match self.origin_size(i) {
                0 => FieldValue::TextNum(Cow::Borrowed(""), 0),
                sz => FieldValue::Size(sz),
            },
            FieldId::LV_ANCESTORS | FieldId::LV_FULL_ANCESTORS => {
                let mut out = Vec::new();
                self.ancestors(i, &mut out, 0);
                FieldValue::List(out)
            }
            FieldId::LV_DESCENDANTS | FieldId::LV_FULL_DESCENDANTS => {
                let mut out = Vec::new();
                self.descendants(i, &mut out, 0);
                FieldValue::List(out)
            }
            FieldId::RAID_MISMATCH_COUNT => {
                match self
                    .lk(i)
                    .and_then(|l| l.raid_mismatches)
                    .filter(|_| k.has(Kind::RAID))
                {
                    Some(n) => FieldValue::Num(n),
                    None => FieldValue::undefined(),
                }
            }
            FieldId::RAID_SYNC_ACTION => {
                match self
                    .lk(i)
                    .and_then(|l| l.raid_sync_action)
                    .filter(|_| k.has(Kind::RAID))
                {
                    Some(a) => s(a),
                    None => empty(),
                }
            }
            FieldId::RAID_WRITE_BEHIND
            | FieldId::RAID_MIN_RECOVERY_RATE
            | FieldId::RAID_MAX_RECOVERY_RATE => {
                let raid = match lv.segments.first().map(|s| &s.kind) {
                    Some(SegmentKind::Raid(r)) => Some(r),
                    _ => None,
                };
                let v = raid.and_then(|r| match f {
                    FieldId::RAID_WRITE_BEHIND => r.writebehind,
                    FieldId::RAID_MIN_RECOVERY_RATE => r.min_recovery_rate,
                    _ => r.max_recovery_rate,
                });
                match v {
                    Some(n) if n > 0 => FieldValue::Num(u64::from(n)),
                    _ => FieldValue::undefined(),
                }
            }
            FieldId::RAIDINTEGRITYMODE => empty(),
            FieldId::RAIDINTEGRITYBLOCKSIZE => undef_int(),
            FieldId::INTEGRITYMISMATCHES => FieldValue::undefined(),
            FieldId::MOVE_PV => match self.move_pv(i) {
                Some(p) => s(self.pv_name(p)),
                None => empty(),
            },
            FieldId::MOVE_PV_UUID => match self.move_pv(i) {
                Some(p) => s(self.vg.pvs[p].id.to_string()),
                None => empty(),
            },
            FieldId::CONVERT_LV | FieldId::CONVERT_LV_UUID => empty(),
            FieldId::MIRROR_LOG => self.lv_ref(self.mirror_log_of(i), false),
            FieldId::MIRROR_LOG_UUID => self.lv_ref(self.mirror_log_of(i), true),
            FieldId::DATA_LV => self.lv_ref(self.data_of(i), false),
            FieldId::DATA_LV_UUID => self.lv_ref(self.data_of(i), true),
            FieldId::METADATA_LV => self.lv_ref(self.metadata_of(i), false),
            FieldId::METADATA_LV_UUID => self.lv_ref(self.metadata_of(i), true),
            FieldId::POOL_LV => self.lv_ref(self.pool_of(i), false),
            FieldId::POOL_LV_UUID => self.lv_ref(self.pool_of(i), true),
            FieldId::LV_TAGS => FieldValue::List(lv.tags.clone()),
            FieldId::LV_PROFILE => s(lv.rare.profile.clone().unwrap_or_default()),
            FieldId::LV_LOCKARGS => s(lv.rare.lock_args.clone().unwrap_or_default()),
            FieldId::LV_TIME => time_value(lv.creation_time),
            FieldId::LV_TIME_REMOVED => FieldValue::TextNum(Cow::Borrowed(""), 0),
            FieldId::LV_HOST => s(lv.creation_host.clone().unwrap_or_default()),
            FieldId::LV_MODULES => {
                let mut out = Vec::new();
                self.modules(i, &mut out, 0);
                FieldValue::List(out)
            }
            FieldId::LV_HISTORICAL => FieldValue::Bin(false),
            FieldId::WRITECACHE_BLOCK_SIZE => undef_int(),
            FieldId::LV_KERNEL_MAJOR | FieldId::LV_KERNEL_MINOR => {
                match self.lk(i).and_then(|l| l.info) {
                    Some(info) if f == FieldId::LV_KERNEL_MAJOR => {
                        FieldValue::Int(i64::from(info.major))
                    }
                    Some(info) => FieldValue::Int(i64::from(info.minor)),
                    None => undef_int(),
                }
            }
            FieldId::LV_KERNEL_READ_AHEAD => match self.lk(i).and_then(|l| l.info) {
                Some(info) => FieldValue::Size(info.read_ahead.unwrap_or(0)),
                None => undef_int(),
            },
            FieldId::LV_PERMISSIONS => {
                let info = self.lk(i).and_then(|l| l.info);
                if k.has(Kind::PVMOVE) {
                    empty()
                } else if lv_has(lv, "WRITE") || lv_has(lv, "WRITE_LOCKED") {
                    match info {
                        Some(info) if info.read_only => s("read-only-override"),
                        Some(_) => s("writeable"),
                        None => s("unknown"),
                    }
                } else if lv_has(lv, "READ") {
                    s("read-only")
                } else {
                    s("unknown")
                }
            }
            FieldId::LV_SUSPENDED
            | FieldId::LV_LIVE_TABLE
            | FieldId::LV_INACTIVE_TABLE
            | FieldId::LV_DEVICE_OPEN => match self.lk(i).and_then(|l| l.info) {
                Some(info) => FieldValue::Bin(match f {
                    FieldId::LV_SUSPENDED => info.suspended,
                    FieldId::LV_LIVE_TABLE => info.live_table,
                    FieldId::LV_INACTIVE_TABLE => info.inactive_table,
                    _ => info.open_count > 0,
                }),
                None => FieldValue::BinUndef,
            },
            FieldId::LV_CHECK_NEEDED => match self.lk(i).map(|l| l.status) {
                Some(SegStatus::ThinPool(p)) if k.has(Kind::THIN_POOL) => {
                    FieldValue::Bin(p.needs_check)
                }
                _ => FieldValue::BinUndef,
            },
            FieldId::LV_MERGE_FAILED | FieldId::LV_SNAPSHOT_INVALID => {
                match self.lk(i).map(|l| l.status) {
                    Some(SegStatus::Snapshot(sn)) => {
                        FieldValue::Bin(if f == FieldId::LV_MERGE_FAILED {
                            sn.merge_failed
                        } else {
                            sn.invalid
                        })
                    }
                    _ => FieldValue::BinUndef,
                }
            }
            FieldId::DATA_PERCENT | FieldId::SNAP_PERCENT | FieldId::METADATA_PERCENT => {
                match self.lk(i) {
                    Some(l) => {
                        let meta = f == FieldId::METADATA_PERCENT;
                        if meta && !matches!(l.status, SegStatus::ThinPool(_)) {
                            FieldValue::Percent(PERCENT_INVALID)
                        } else {
                            FieldValue::Percent(self.seg_percent(i, &l, meta))
                        }
                    }
                    None => FieldValue::Percent(PERCENT_INVALID),
                }
            }
            FieldId::COPY_PERCENT | FieldId::SYNC_PERCENT => {
                let raid0 = lv
                    .segments
                    .first()
                    .is_some_and(|s| matches!(&s.kind, SegmentKind::Raid(r) if r.level.is_raid0()));
                match self.lk(i) {
                    Some(l) if k.has(Kind::RAID) && !raid0 => match &l.status {
                        SegStatus::Raid(r) => FieldValue::Percent(super::make_percent(
                            r.insync_regions,
                            r.total_regions,
                        )),
                        _ => FieldValue::Percent(PERCENT_INVALID),
                    },
                    Some(l) if k.has(Kind::MIRRORED) => {
                        FieldValue::Percent(l.mirror_copy.unwrap_or(PERCENT_INVALID))
                    }
                    _ => FieldValue::Percent(PERCENT_INVALID),
                }
            }
            FieldId::KERNEL_CACHE_SETTINGS => FieldValue::List(Vec::new()),
            FieldId::KERNEL_CACHE_POLICY => empty(),
            FieldId::LV_HEALTH_STATUS => {
                let lk = self.lk(i);
                if self.lvs[i].partial {
                    s("partial")
                } else if self.is_raid_type(i) {
                    match lk {
                        None => s("unknown"),
                        Some(l) if !l.raid_healthy => s("refresh needed"),
                        Some(l) if k.has(Kind::RAID) => {
                            if l.raid_mismatches.is_some_and(|n| n > 0) {
                                s("mismatches exist")
                            } else {
                                empty()
                            }
                        }
                        Some(_) if lv_has(lv, "WRITEMOSTLY") => s("writemostly"),
                        Some(_) => empty(),
                    }
                } else if k.has(Kind::THIN_POOL) {
                    match lk.map(|l| l.status) {
                        Some(SegStatus::ThinPool(p)) if p.fail => s("failed"),
                        Some(SegStatus::ThinPool(p)) if p.out_of_data_space => s("out_of_data"),
                        Some(SegStatus::ThinPool(p)) if p.read_only => s("metadata_read_only"),
                        Some(SegStatus::None) | None | Some(SegStatus::ThinPool(_)) => empty(),
                        Some(_) => s("undefined"),
                    }
                } else {
                    empty()
                }
            }
            FieldId::KERNEL_DISCARDS => match self.lk(i).map(|l| l.status) {
                Some(SegStatus::ThinPool(p)) if k.has(Kind::THIN_POOL) => s(p.discards),
                _ => empty(),
            },
            FieldId::VDO_OPERATING_MODE
            | FieldId::VDO_COMPRESSION_STATE
            | FieldId::VDO_INDEX_STATE => FieldValue::TextNum(Cow::Borrowed(""), u64::MAX),
            FieldId::LV_ATTR => s(self.lv_attr(i)),
            _ => match f.field_type() {
                FieldType::Num | FieldType::Size => FieldValue::undefined(),
                _ => empty(),
            },
        }
    }

    /// The device name of a PV of this VG, `[unknown]` when it is missing.
    pub fn pv_name(&self, p: usize) -> String {
        match self.devices.get(p).copied().flatten() {
            Some(d) => d.name.clone(),
            None => "[unknown]".to_string(),
        }
    }

    fn sub_lv_item(&self, name: &str, mark_hidden: bool, ranges: bool) -> String {
        let l = self.lv_index(name);
        let visible = l.is_none_or(|l| self.lvs[l].visible);
        let len = l.map_or(0, |l| self.lv(l).extent_count());
        area_item(name, visible, mark_hidden, 0, len, ranges)
    }

    /// `devices`, `seg_pe_ranges`, `seg_le_ranges` items of a segment.
    fn format_areas(&self, seg: &Segment, ranges: bool, mark_hidden: bool) -> Vec<String> {
        let mut out = Vec::new();
        for area in seg.areas() {
            match area {
                Area::Pv { pv, start } => {
                    let name = match self.pv_index(pv) {
                        Some(p) => self.pv_name(p),
                        None => "[unknown]".to_string(),
                    };
                    out.push(area_item(
                        &name,
                        true,
                        false,
                        u64::from(*start),
                        area_len(seg),
                        ranges,
                    ));
                }
                Area::Lv { name, .. } => out.push(self.sub_lv_item(name, mark_hidden, ranges)),
            }
        }
        let lv_areas: Vec<&str> = match &seg.kind {
            SegmentKind::Raid(r) => r.images.iter().map(|im| im.data.as_str()).collect(),
            SegmentKind::ThinPool(p) => vec![p.pool.as_str()],
            SegmentKind::CachePool(p) => vec![p.data.as_str()],
            SegmentKind::Cache(c) => vec![c.origin.as_str()],
            _ => Vec::new(),
        };
        for name in lv_areas {
            out.push(self.sub_lv_item(name, mark_hidden, ranges));
        }
        out
    }

    fn metadata_areas(&self, seg: &Segment, ranges: bool, mark_hidden: bool) -> Vec<String> {
        let SegmentKind::Raid(r) = &seg.kind else {
            return Vec::new();
        };
        r.images
            .iter()
            .filter_map(|im| im.meta.as_deref())
            .map(|meta| self.sub_lv_item(meta, mark_hidden, ranges))
            .collect()
    }

    /// Whether segment `si` of LV `i` reports a reshape length, as LVM2 decides: a reshapable
    /// RAID segment, or the first segment of a RAID image whose LV, named by the image's name
    /// up to its first `_` (past a `_dup_`), has a reshapable RAID first segment.
    fn reshapable_seg(&self, i: usize, si: usize) -> bool {
        let lv = self.lv(i);
        let reshapable = |seg: Option<&Segment>| matches!(seg.map(|s| &s.kind), Some(SegmentKind::Raid(r)) if is_reshapable(r));
        if reshapable(lv.segments.get(si)) {
            return true;
        }
        if si != 0 || !self.kind(i).has(Kind::RAID_IMAGE) {
            return false;
        }
        let Some(cut) = lv.name.find('_') else {
            return false;
        };
        let mut top = &lv.name[..cut];
        if lv.name[cut..].contains("_dup_") {
            match lv.name.get(cut + 5..).and_then(|rest| rest.find('_')) {
                Some(c) => top = &lv.name[..cut + 5 + c],
                None => return false,
            }
        }
        self.lv_index(top)
            .is_some_and(|t| reshapable(self.lv(t).segments.first()))
    }

    /// The value of a segment field for segment `si` of LV `i`.
    pub fn seg_value(&self, i: usize, si: usize, f: FieldId) -> FieldValue<'_> {
        let lv = self.lv(i);
        let Some(seg) = lv.segments.get(si) else {
            return empty();
        };
        let ext = self.extent_size();
        let undefined = FieldValue::undefined;
        match f {
            FieldId::SEGTYPE => s(segtype_name(seg)),
            FieldId::STRIPES => FieldValue::Num(seg_area_count(seg)),
            FieldId::DATA_STRIPES => {
                let mut n = seg_area_count(seg).saturating_sub(parity_devs(seg));
                if let SegmentKind::Raid(r) = &seg.kind {
                    if r.level.as_str().starts_with("raid10") {
                        n /= u64::from(r.data_copies.unwrap_or(2).max(1));
                    }
                }
                FieldValue::Num(n)
            }
            FieldId::RESHAPE_LEN | FieldId::RESHAPE_LEN_LE if self.reshapable_seg(i, si) => {
                let len = u64::from(seg.reshape_count.unwrap_or(0)) * seg_area_count(seg);
                if f == FieldId::RESHAPE_LEN {
                    FieldValue::Size(len * ext)
                } else {
                    FieldValue::Num(len)
                }
            }
            FieldId::RESHAPE_LEN | FieldId::RESHAPE_LEN_LE => undefined(),
            FieldId::DATA_COPIES => FieldValue::Num(data_copies(seg)),
            FieldId::DATA_OFFSET | FieldId::NEW_DATA_OFFSET => undefined(),
            FieldId::PARITY_CHUNKS => {
                let p = match parity_devs(seg) {
                    0 => data_copies(seg).saturating_sub(1),
                    p => p,
                };
                if p > 0 {
                    FieldValue::Num(p)
                } else {
                    undefined()
                }
            }
            FieldId::STRIPE_SIZE => FieldValue::Size(match &seg.kind {
                SegmentKind::Striped(st) => u64::from(st.stripe_size.unwrap_or(0)),
                SegmentKind::Raid(r) => u64::from(r.stripe_size.unwrap_or(0)),
                _ => 0,
            }),
            FieldId::REGION_SIZE => FieldValue::Size(match &seg.kind {
                SegmentKind::Mirror(m) => u64::from(m.region_size.unwrap_or(0)),
                SegmentKind::Raid(r) => u64::from(r.region_size.unwrap_or(0)),
                _ => 0,
            }),
            FieldId::CHUNK_SIZE => FieldValue::Size(self.chunk_size(i, seg)),
            FieldId::THIN_COUNT => match &seg.kind {
                SegmentKind::ThinPool(_) => FieldValue::Num(self.lvs[i].users.len() as u64),
                _ => undefined(),
            },
            FieldId::DISCARDS => match self.pool_segment(seg) {
                Some(p) => s(p.discards.clone().unwrap_or_else(|| "passdown".to_string())),
                None => empty(),
            },
            FieldId::CACHE_METADATA_FORMAT => match self.cache_pool_settings(seg) {
                Some((Some(n @ (1 | 2)), _)) => FieldValue::Num(u64::from(n)),
                _ => undefined(),
            },
            FieldId::CACHE_MODE => s(self
                .cache_pool_settings(seg)
                .and_then(|(_, st)| st.cache_mode.clone())
                .unwrap_or_default()),
            FieldId::ZERO => match self.pool_segment(seg) {
                Some(p) => FieldValue::Bin(p.zero_new_blocks),
                None => FieldValue::BinUndef,
            },
            FieldId::TRANSACTION_ID => match &seg.kind {
                SegmentKind::ThinPool(p) => FieldValue::Num(p.transaction_id),
                SegmentKind::Thin(t) => FieldValue::Num(t.transaction_id),
                _ => undefined(),
            },
            FieldId::THIN_ID => match &seg.kind {
                SegmentKind::Thin(t) => FieldValue::Num(u64::from(t.device_id)),
                _ => undefined(),
            },
            FieldId::SEG_START => FieldValue::Size(u64::from(seg.start_extent) * ext),
            FieldId::SEG_START_PE => FieldValue::Num(u64::from(seg.start_extent)),
            FieldId::SEG_SIZE => FieldValue::Size(u64::from(seg.extent_count) * ext),
            FieldId::SEG_SIZE_PE => FieldValue::Num(u64::from(seg.extent_count)),
            FieldId::SEG_TAGS => FieldValue::List(seg.tags.clone()),
            FieldId::SEG_PE_RANGES => FieldValue::List(self.format_areas(seg, true, false)),
            FieldId::SEG_LE_RANGES => FieldValue::List(self.format_areas(seg, true, true)),
            FieldId::SEG_METADATA_LE_RANGES => {
                FieldValue::List(self.metadata_areas(seg, true, true))
            }
            FieldId::DEVICES => FieldValue::List(self.format_areas(seg, false, false)),
            FieldId::METADATA_DEVICES => FieldValue::List(self.metadata_areas(seg, false, false)),
            FieldId::SEG_MONITOR => empty(),
            FieldId::CACHE_POLICY => s(self
                .cache_pool_settings(seg)
                .and_then(|(_, st)| st.policy.clone())
                .unwrap_or_default()),
            FieldId::CACHE_SETTINGS => FieldValue::List(Vec::new()),
            FieldId::VDO_WRITE_POLICY => empty(),
            _ => undefined(),
        }
    }

    /// The cache pool's metadata format and settings a cache or cache-pool segment uses.
    fn cache_pool_settings(
        &self,
        seg: &'a Segment,
    ) -> Option<(Option<u32>, &'a metadata_format::text::CacheSettings)> {
        match &seg.kind {
            SegmentKind::CachePool(p) => Some((p.metadata_format, &p.settings)),
            SegmentKind::Cache(c) => {
                if c.metadata_start.is_some() {
                    return Some((c.metadata_format, &c.settings));
                }
                let pool = self.lv_index(&c.cache_pool)?;
                match self.lv(pool).segments.first().map(|s| &s.kind) {
                    Some(SegmentKind::CachePool(p)) => Some((p.metadata_format, &p.settings)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn pool_segment(&self, seg: &'a Segment) -> Option<&'a ThinPool> {
        let pool = match &seg.kind {
            SegmentKind::Thin(t) => self.lv_index(&t.thin_pool)?,
            SegmentKind::ThinPool(p) => return Some(p),
            _ => return None,
        };
        match self.lv(pool).segments.first().map(|s| &s.kind) {
            Some(SegmentKind::ThinPool(p)) => Some(p),
            _ => None,
        }
    }

    fn chunk_size(&self, i: usize, seg: &'a Segment) -> u64 {
        if self.is_cow(i) {
            return self
                .snapshot_of(i)
                .map_or(0, |(_, sn)| u64::from(sn.chunk_size));
        }
        match &seg.kind {
            SegmentKind::ThinPool(p) => u64::from(p.chunk_size),
            SegmentKind::CachePool(_) | SegmentKind::Cache(_) => self
                .cache_pool_settings(seg)
                .and_then(|(_, st)| st.chunk_size)
                .map_or(0, u64::from),
            _ => 0,
        }
    }

    /// The value of a VG field.
    pub fn vg_value(&self, f: FieldId) -> FieldValue<'_> {
        let vg = self.vg;
        let ext = self.extent_size();
        match f {
            FieldId::VG_FMT => s("lvm2"),
            FieldId::VG_UUID => s(vg.id.to_string()),
            FieldId::VG_NAME => s(vg.name.clone()),
            FieldId::VG_ATTR => s(self.vg_attr()),
            FieldId::VG_PERMISSIONS => s(if self.is_writeable() {
                "writeable"
            } else {
                "read-only"
            }),
            FieldId::VG_EXTENDABLE => FieldValue::Bin(self.is_resizeable()),
            FieldId::VG_EXPORTED => FieldValue::Bin(self.is_exported()),
            FieldId::VG_AUTOACTIVATION => FieldValue::Bin(!self.vg_has("NOAUTOACTIVATE")),
            FieldId::VG_PARTIAL => FieldValue::Bin(self.missing_pvs > 0),
            FieldId::VG_ALLOCATION_POLICY => s(vg
                .allocation_policy
                .as_ref()
                .map_or("normal".to_string(), |p| p.as_str().to_string())),
            FieldId::VG_CLUSTERED => FieldValue::Bin(self.is_clustered()),
            FieldId::VG_SHARED => FieldValue::Bin(self.is_shared()),
            FieldId::VG_SIZE => FieldValue::Size(self.extent_count() * ext),
            FieldId::VG_FREE => FieldValue::Size(self.free_count() * ext),
            FieldId::VG_SYSID | FieldId::VG_SYSTEMID => s(vg.system_id.clone().unwrap_or_default()),
            FieldId::VG_LOCK_TYPE => s(match vg.lock_type.as_deref() {
                None | Some("none") => String::new(),
                Some(t) => t.to_string(),
            }),
            FieldId::VG_LOCK_ARGS => s(vg.lock_args.clone().unwrap_or_default()),
            FieldId::VG_EXTENT_SIZE => FieldValue::Size(ext),
            FieldId::VG_EXTENT_COUNT => FieldValue::Num(self.extent_count()),
            FieldId::VG_FREE_COUNT => FieldValue::Num(self.free_count()),
            FieldId::MAX_LV => FieldValue::Num(u64::from(vg.max_lv)),
            FieldId::MAX_PV => FieldValue::Num(u64::from(vg.max_pv)),
            FieldId::PV_COUNT => FieldValue::Num(vg.pvs.len() as u64),
            FieldId::VG_MISSING_PV_COUNT => FieldValue::Num(self.missing_pvs),
            FieldId::LV_COUNT => FieldValue::Num(self.lv_count()),
            FieldId::SNAP_COUNT => FieldValue::Num(self.snap_count()),
            FieldId::VG_SEQNO => FieldValue::Num(u64::from(vg.seqno)),
            FieldId::VG_TAGS => FieldValue::List(vg.tags.clone()),
            FieldId::VG_PROFILE => s(vg.profile.clone().unwrap_or_default()),
            FieldId::VG_MDA_COUNT => FieldValue::Num(self.mda_count()),
            FieldId::VG_MDA_USED_COUNT => FieldValue::Num(self.mda_used_count()),
            FieldId::VG_MDA_FREE => FieldValue::Size(self.mda_free()),
            FieldId::VG_MDA_SIZE => FieldValue::Size(self.mda_size()),
            FieldId::VG_MDA_COPIES => match vg.metadata_copies {
                None | Some(0) => FieldValue::unmanaged(),
                Some(n) => FieldValue::Num(u64::from(n)),
            },
            _ => empty(),
        }
    }

    /// The value of a PV or label field for PV `p` of this VG.
    pub fn pv_value(&self, p: usize, f: FieldId) -> FieldValue<'_> {
        let pv = &self.vg.pvs[p];
        let ext = self.extent_size();
        let dev = self.devices.get(p).copied().flatten();
        let pe_count = u64::from(pv.pe_count);
        let alloc = self.pv_alloc(p);
        let allocatable = pv.status.iter().any(|s| s == "ALLOCATABLE");
        let exported = self.is_exported();
        let missing = self.is_pv_missing(p);
        match f {
            FieldId::PE_START => FieldValue::Size(pv.pe_start),
            FieldId::PV_SIZE => FieldValue::Size(if pe_count > 0 {
                pe_count * ext
            } else {
                pv.dev_size.unwrap_or(0)
            }),
            FieldId::PV_FREE => FieldValue::Size(pe_count.saturating_sub(alloc) * ext),
            FieldId::PV_USED => FieldValue::Size(alloc * ext),
            FieldId::PV_ATTR => {
                let mut a = String::with_capacity(3);
                a.push(if allocatable { 'a' } else { 'u' });
                a.push(if exported { 'x' } else { '-' });
                a.push(if missing { 'm' } else { '-' });
                s(a)
            }
            FieldId::PV_ALLOCATABLE => FieldValue::Bin(allocatable),
            FieldId::PV_EXPORTED => FieldValue::Bin(exported),
            FieldId::PV_MISSING => FieldValue::Bin(missing),
            FieldId::PV_PE_COUNT => FieldValue::Num(pe_count),
            FieldId::PV_PE_ALLOC_COUNT => FieldValue::Num(alloc),
            FieldId::PV_TAGS => FieldValue::List(pv.tags.clone()),
            FieldId::PV_MDA_COUNT => FieldValue::Num(dev.map_or(0, |d| d.mdas.len() as u64)),
            FieldId::PV_MDA_USED_COUNT => {
                FieldValue::Num(dev.map_or(0, DeviceFacts::mda_used_count))
            }
            FieldId::PV_BA_START => FieldValue::Size(pv.ba_start.unwrap_or(0)),
            FieldId::PV_BA_SIZE => FieldValue::Size(pv.ba_size.unwrap_or(0)),
            FieldId::PV_IN_USE => FieldValue::Bin(true),
            FieldId::PV_DUPLICATE => FieldValue::Bin(false),
            FieldId::PV_DEVICE_ID => s(pv.device_id.clone().unwrap_or_default()),
            FieldId::PV_DEVICE_ID_TYPE => s(pv.device_id_type.clone().unwrap_or_default()),
            _ => match dev {
                Some(d) => label_value(d, f),
                None => missing_label_value(pv.id, f),
            },
        }
    }

    /// The PV's segments: allocated runs and free gaps, by start.
    pub fn pv_segments(&self, p: usize) -> Vec<PvSeg> {
        let id = self.vg.pvs[p].id;
        let mut used: Vec<PvSeg> = Vec::new();
        for (li, lv) in self.vg.lvs.iter().enumerate() {
            for (si, seg) in lv.segments.iter().enumerate() {
                for area in seg.areas() {
                    if let Area::Pv { pv, start } = area {
                        if *pv == id {
                            used.push(PvSeg {
                                start: u64::from(*start),
                                len: area_len(seg),
                                owner: Some((li, si)),
                            });
                        }
                    }
                }
            }
        }
        used.sort_by_key(|s| s.start);
        let mut out = Vec::new();
        let mut at = 0u64;
        for seg in used {
            if seg.start > at {
                out.push(PvSeg {
                    start: at,
                    len: seg.start - at,
                    owner: None,
                });
            }
            at = at.max(seg.start + seg.len);
            out.push(seg);
        }
        let count = u64::from(self.vg.pvs[p].pe_count);
        if at < count || out.is_empty() {
            out.push(PvSeg {
                start: at,
                len: count.saturating_sub(at),
                owner: None,
            });
        }
        out
    }

    /// The value of any field for a row of this VG.
    pub fn value(&self, row: RowRef, f: FieldId) -> FieldValue<'_> {
        let t = f.obj_type();
        if t == ObjType::VGS {
            return self.vg_value(f);
        }
        if t == ObjType::PVSEGS {
            return match row {
                RowRef::PvSeg(_, seg) => FieldValue::Num(if f == FieldId::PVSEG_START {
                    seg.start
                } else {
                    seg.len
                }),
                _ => FieldValue::Num(0),
            };
        }
        if t == ObjType::PVS || t == ObjType::LABEL {
            return match row {
                RowRef::Pv(p) | RowRef::PvSeg(p, _) => self.pv_value(p, f),
                _ => empty(),
            };
        }
        let (lv, seg) = match row {
            RowRef::Lv(i) => (Some(i), self.vg.lvs[i].segments.first().map(|_| 0)),
            RowRef::Seg(i, si) => (Some(i), Some(si)),
            RowRef::PvSeg(
                _,
                PvSeg {
                    owner: Some((i, si)),
                    ..
                },
            ) => (Some(i), Some(si)),
            _ => (None, None),
        };
        let Some(lv) = lv else {
            return match row {
                RowRef::PvSeg(_, seg) => self.free_value(seg, f),
                _ => free_lv_value(f),
            };
        };
        if t == ObjType::SEGS {
            return match seg {
                Some(si) => self.seg_value(lv, si, f),
                None => empty(),
            };
        }
        self.lv_value(lv, f)
    }
}

impl VgFacts<'_> {
    fn free_value(&self, seg: PvSeg, f: FieldId) -> FieldValue<'_> {
        free_segment_value(&self.vg.name, self.extent_size(), seg, f)
    }
}

/// LV and segment fields of free space on a PV: LVM2 reports a nameless LV of segment type
/// `free` there (in the orphan VG, whose name is empty, for orphan PVs).
pub fn free_segment_value(vg: &str, extent_size: u64, seg: PvSeg, f: FieldId) -> FieldValue<'_> {
    {
        match f {
            FieldId::LV_FULL_NAME => s(format!("{vg}/")),
            FieldId::LV_PATH if !vg.is_empty() => s(format!("/dev/{vg}/")),
            FieldId::LV_DM_PATH if !vg.is_empty() => {
                s(format!("/dev/mapper/{}-", vg.replace('-', "--")))
            }
            FieldId::LV_LAYOUT => FieldValue::List(vec!["unknown".to_string()]),
            FieldId::LV_ROLE => FieldValue::List(vec!["public".to_string()]),
            FieldId::LV_ALLOCATION_POLICY | FieldId::LV_ACTIVE | FieldId::LV_PERMISSIONS => {
                s("unknown")
            }
            FieldId::LV_AUTOACTIVATION => FieldValue::Bin(true),
            FieldId::LV_ACTIVE_LOCALLY
            | FieldId::LV_ACTIVE_REMOTELY
            | FieldId::LV_ACTIVE_EXCLUSIVELY
            | FieldId::LV_SUSPENDED
            | FieldId::LV_LIVE_TABLE
            | FieldId::LV_INACTIVE_TABLE
            | FieldId::LV_DEVICE_OPEN
            | FieldId::LV_CHECK_NEEDED
            | FieldId::LV_MERGE_FAILED
            | FieldId::LV_SNAPSHOT_INVALID
            | FieldId::ZERO => FieldValue::BinUndef,
            FieldId::LV_MAJOR
            | FieldId::LV_MINOR
            | FieldId::RAIDINTEGRITYBLOCKSIZE
            | FieldId::WRITECACHE_BLOCK_SIZE
            | FieldId::LV_KERNEL_MAJOR
            | FieldId::LV_KERNEL_MINOR
            | FieldId::LV_KERNEL_READ_AHEAD => undef_int(),
            FieldId::LV_READ_AHEAD
            | FieldId::LV_SIZE
            | FieldId::STRIPE_SIZE
            | FieldId::REGION_SIZE
            | FieldId::CHUNK_SIZE
            | FieldId::SEG_START => FieldValue::Size(0),
            FieldId::SEG_COUNT
            | FieldId::STRIPES
            | FieldId::DATA_STRIPES
            | FieldId::SEG_START_PE => FieldValue::Num(0),
            FieldId::PARITY_CHUNKS => FieldValue::Num(u64::from(u32::MAX)),
            FieldId::SEGTYPE => s("free"),
            FieldId::SEG_SIZE => FieldValue::Size(seg.len * extent_size),
            FieldId::SEG_SIZE_PE => FieldValue::Num(seg.len),
            _ => match f.field_type() {
                FieldType::Num | FieldType::Size => FieldValue::undefined(),
                FieldType::Percent => FieldValue::Percent(PERCENT_INVALID),
                FieldType::StrList => FieldValue::List(Vec::new()),
                FieldType::Time => FieldValue::TextNum(Cow::Borrowed(""), 0),
                FieldType::Bin | FieldType::Str => empty(),
            },
        }
    }
}

fn area_item(
    name: &str,
    visible: bool,
    mark_hidden: bool,
    extent: u64,
    len: u64,
    ranges: bool,
) -> String {
    let (open, close) = if !visible && mark_hidden {
        ("[", "]")
    } else {
        ("", "")
    };
    if ranges {
        // LVM2 computes the end in 32 bits: an empty area shows as ...-4294967295.
        let end = (extent + len).wrapping_sub(1) as u32;
        format!("{open}{name}{close}:{extent}-{end}")
    } else {
        format!("{open}{name}{close}({extent})")
    }
}

/// Label fields of a device.
pub fn label_value(d: &DeviceFacts, f: FieldId) -> FieldValue<'_> {
    match f {
        FieldId::PV_FMT => s("lvm2"),
        FieldId::PV_UUID => s(d.pv_id.to_string()),
        FieldId::DEV_SIZE => FieldValue::Size(d.dev_size),
        FieldId::PV_NAME => s(d.name.clone()),
        FieldId::PV_MAJOR => FieldValue::Num(u64::from(d.major)),
        FieldId::PV_MINOR => FieldValue::Num(u64::from(d.minor)),
        FieldId::PV_MDA_FREE => FieldValue::Size(d.mda_free()),
        FieldId::PV_MDA_SIZE => FieldValue::Size(d.mda_size()),
        FieldId::PV_EXT_VSN => FieldValue::Num(u64::from(d.ext_version)),
        _ => empty(),
    }
}

/// Label fields of a PV whose device is missing.
fn missing_label_value(id: Id, f: FieldId) -> FieldValue<'static> {
    match f {
        FieldId::PV_FMT => s("lvm2"),
        FieldId::PV_UUID => s(id.to_string()),
        FieldId::DEV_SIZE | FieldId::PV_MDA_FREE | FieldId::PV_MDA_SIZE => FieldValue::Size(0),
        FieldId::PV_NAME => s("[unknown]"),
        FieldId::PV_MAJOR | FieldId::PV_MINOR => FieldValue::Num(0),
        FieldId::PV_EXT_VSN => FieldValue::undefined(),
        _ => empty(),
    }
}

/// Fields of an orphan PV (a labelled device in no VG).
pub fn orphan_value(d: &DeviceFacts, f: FieldId) -> FieldValue<'_> {
    let t = f.obj_type();
    if t == ObjType::VGS {
        return orphan_vg_value(f);
    }
    if t == ObjType::PVSEGS {
        return FieldValue::Num(0);
    }
    if t == ObjType::LABEL {
        return label_value(d, f);
    }
    if t != ObjType::PVS {
        return free_lv_value(f);
    }
    match f {
        FieldId::PE_START => FieldValue::Size(d.pe_start),
        FieldId::PV_SIZE | FieldId::PV_FREE => FieldValue::Size(d.label_size),
        FieldId::PV_USED => FieldValue::Size(0),
        FieldId::PV_ATTR => s(if d.ext_used { "u--" } else { "---" }),
        FieldId::PV_ALLOCATABLE | FieldId::PV_EXPORTED | FieldId::PV_MISSING => {
            FieldValue::Bin(false)
        }
        FieldId::PV_PE_COUNT | FieldId::PV_PE_ALLOC_COUNT => FieldValue::Num(0),
        FieldId::PV_TAGS => FieldValue::List(Vec::new()),
        FieldId::PV_MDA_COUNT => FieldValue::Num(d.mdas.len() as u64),
        FieldId::PV_MDA_USED_COUNT => FieldValue::Num(d.mda_used_count()),
        FieldId::PV_BA_START => FieldValue::Size(d.ba.map_or(0, |b| b.0)),
        FieldId::PV_BA_SIZE => FieldValue::Size(d.ba.map_or(0, |b| b.1)),
        FieldId::PV_IN_USE => FieldValue::Bin(d.ext_used),
        FieldId::PV_DUPLICATE => FieldValue::Bin(false),
        _ => empty(),
    }
}

/// VG fields on an orphan's row: LVM2's internal orphan VG.
fn orphan_vg_value(f: FieldId) -> FieldValue<'static> {
    match f {
        FieldId::VG_FMT => s("lvm2"),
        FieldId::VG_ATTR => s("r-----"),
        FieldId::VG_PERMISSIONS => s("read-only"),
        FieldId::VG_AUTOACTIVATION => FieldValue::Bin(true),
        FieldId::VG_ALLOCATION_POLICY => s("unknown"),
        FieldId::VG_MDA_COPIES => FieldValue::unmanaged(),
        _ => match f.field_type() {
            FieldType::Bin => FieldValue::Bin(false),
            FieldType::Size => FieldValue::Size(0),
            FieldType::Num => FieldValue::Num(0),
            FieldType::StrList => FieldValue::List(Vec::new()),
            _ => empty(),
        },
    }
}

/// LV and segment fields of a row with no LV (free space): LVM2 reports an LV without a name.
fn free_lv_value(f: FieldId) -> FieldValue<'static> {
    match f.field_type() {
        FieldType::Num => FieldValue::undefined(),
        FieldType::Size => FieldValue::Size(0),
        FieldType::Percent => FieldValue::Percent(PERCENT_INVALID),
        FieldType::Bin => FieldValue::Bin(false),
        FieldType::StrList => FieldValue::List(Vec::new()),
        FieldType::Time => FieldValue::TextNum(Cow::Borrowed(""), 0),
        FieldType::Str => empty(),
    }
}

/// The segment type name LVM2 reports (`linear` for one stripe).
pub fn segtype_name(seg: &Segment) -> String {
    match &seg.kind {
        SegmentKind::Striped(st) if st.stripes.len() == 1 => "linear".to_string(),
        other => other.type_name().to_string(),
    }
}

fn area_count(seg: &Segment) -> u64 {
    match &seg.kind {
        SegmentKind::Striped(s) => s.stripes.len() as u64,
        SegmentKind::Mirror(m) => m.mirrors.len() as u64,
        SegmentKind::Raid(r) => r.images.len() as u64,
        SegmentKind::ThinPool(_) | SegmentKind::CachePool(_) | SegmentKind::Cache(_) => 1,
        _ => 0,
    }
}

fn seg_area_count(seg: &Segment) -> u64 {
    area_count(seg)
}

fn raid_layout(r: &Raid) -> Vec<&'static str> {
    let name = r.level.as_str();
    let family = if name.starts_with("raid0") {
        Some("raid0")
    } else if name == "raid1" {
        Some("raid1")
    } else if name.starts_with("raid10") {
        Some("raid10")
    } else if name == "raid4" {
        Some("raid4")
    } else if name.starts_with("raid5") {
        Some("raid5")
    } else if name.starts_with("raid6") {
        Some("raid6")
    } else {
        None
    };
    let sub = match name {
        "raid5_la" => Some("raid5_la"),
        "raid5_ra" => Some("raid5_ra"),
        // plain raid5 and raid6 are LVM2's aliases of raid5_ls and raid6_zr
        "raid5_ls" | "raid5" => Some("raid5_ls"),
        "raid5_rs" => Some("raid5_rs"),
        "raid6_zr" | "raid6" => Some("raid6_zr"),
        "raid6_nr" => Some("raid6_nr"),
        "raid6_nc" => Some("raid6_nc"),
        _ => None,
    };
    family.into_iter().chain(sub).collect()
}

fn parity_devs(seg: &Segment) -> u64 {
    match &seg.kind {
        SegmentKind::Raid(r) => {
            let name = r.level.as_str();
            if name.starts_with("raid6") {
                2
            } else if name.starts_with("raid5") || name == "raid4" {
                1
            } else {
                0
            }
        }
        _ => 0,
    }
}

fn data_copies(seg: &Segment) -> u64 {
    match &seg.kind {
        SegmentKind::Raid(r) => {
            let name = r.level.as_str();
            if name == "raid1" {
                u64::from(r.data_copies.unwrap_or(r.images.len() as u32))
            } else if name.starts_with("raid10") {
                u64::from(r.data_copies.unwrap_or(2))
            } else if name.starts_with("raid6") {
                3
            } else if name.starts_with("raid5") || name == "raid4" {
                2
            } else {
                u64::from(r.data_copies.unwrap_or(1))
            }
        }
        _ => 1,
    }
}

fn is_reshapable(r: &Raid) -> bool {
    let name = r.level.as_str();
    name.starts_with("raid4")
        || name.starts_with("raid5")
        || name.starts_with("raid6")
        || name == "raid10_near"
        || name == "raid0_meta"
        || name == "raid10"
}
