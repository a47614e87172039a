//! Pure planning for mirrored and RAID LVs as LVM2 2.03 lays them out: `mirror` (legs
//! `_mimage_N`, disk log `_mlog`), `raid1`, `raid10`, `raid4/5/6` (`_rimage_N` with their
//! `_rmeta_N`), `raid0` (`_rimage_N` only); their region sizes, metadata sizes, allocation
//! (legs and metadata together on distinct PVs), extension and reduction.

use super::lv_plan::{alloc_error, display_size, new_lv};
use crate::alloc::{self, ParallelArea, Policy, PvSource, Request, Run};
use metadata_format::text::{
    AllocationPolicy, Area, Id, LogicalVolume, Mirror, Raid, RaidImage, RaidLevel, Segment,
    SegmentKind, VolumeGroup,
};

/// LVM2's default region size (activation/raid_region_size = 2 MiB), in sectors.
pub const DEFAULT_REGION_SECTORS: u32 = 4096;
/// Sectors of the mirror log header before its bitmap (LVM2's MIRROR_LOG_OFFSET).
const MIRROR_LOG_OFFSET_SECTORS: u64 = 2;
/// Most legs a `mirror` may have (the kernel's kcopyd limit) and devices a RAID may have.
pub const MAX_MIRROR_IMAGES: u32 = 8;
pub const MAX_RAID_IMAGES: u32 = 64;

/// The status flags LVM2 writes, in the order it writes them.
const STATUS_ORDER: &[&str] = &[
    "READ",
    "WRITE",
    "WRITE_LOCKED",
    "FIXED_MINOR",
    "VISIBLE",
    "PVMOVE",
    "LOCKED",
    "NOTSYNCED",
    "REBUILD",
    "RESHAPE",
    "RESHAPE_DATA_OFFSET",
    "RESHAPE_DELTA_DISKS_PLUS",
    "RESHAPE_DELTA_DISKS_MINUS",
    "REMOVE_AFTER_RESHAPE",
    "WRITEMOSTLY",
];

/// Adds a status flag where LVM2's flag table puts it.
pub fn set_status(lv: &mut LogicalVolume, flag: &str) {
    if lv.has_status(flag) {
        return;
    }
    let rank = |f: &str| {
        STATUS_ORDER
            .iter()
            .position(|x| *x == f)
            .unwrap_or(usize::MAX)
    };
    let mine = rank(flag);
    let at = lv
        .status
        .iter()
        .position(|f| rank(f) > mine)
        .unwrap_or(lv.status.len());
    lv.status.insert(at, flag.into());
}

pub fn clear_status(lv: &mut LogicalVolume, flag: &str) {
    lv.status.retain(|f| f != flag);
}

/// Mirrored or RAID layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The old `mirror` target with a disk or core log.
    Mirror,
    Raid(RaidLevel),
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Mirror => "mirror",
            Layout::Raid(level) => level.as_str(),
        }
    }

    /// Types `lvcreate --type` accepts here.
    pub fn from_type(name: &str) -> Option<Layout> {
        match name {
            "mirror" => Some(Layout::Mirror),
            "raid1" | "raid0" | "raid10" | "raid4" | "raid5" | "raid6" | "raid5_ls"
            | "raid5_la" | "raid5_rs" | "raid5_ra" | "raid5_n" | "raid6_zr" | "raid6_nr"
            | "raid6_nc" => RaidLevel::from_name(name).map(Layout::Raid),
            _ => None,
        }
    }

    /// Legs that are full copies (mirror, raid1, raid10).
    pub fn is_mirrored(self) -> bool {
        matches!(
            self,
            Layout::Mirror | Layout::Raid(RaidLevel::Raid1 | RaidLevel::Raid10)
        )
    }

    pub fn is_raid0(self) -> bool {
        matches!(self, Layout::Raid(l) if l.is_raid0())
    }

    /// RAID levels whose devices carry a metadata sub-LV.
    pub fn has_meta(self) -> bool {
        matches!(self, Layout::Raid(l) if !l.is_raid0())
    }

    pub fn parity(self) -> u32 {
        match self {
            Layout::Raid(level) => alloc::raid_parity(level),
            Layout::Mirror => 0,
        }
    }
}

/// What a mirrored or RAID LV is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaidParams {
    pub layout: Layout,
    /// Full copies: legs of a mirror or raid1, 2 for raid10, 1 otherwise.
    pub mirrors: u32,
    /// Data stripes (1 for mirror and raid1).
    pub stripes: u32,
    /// Stripe size in sectors (0 for mirror and raid1).
    pub stripe_size: u32,
    /// Region size in sectors (0 for raid0).
    pub region_size: u32,
    /// Mirror with a disk log (`--mirrorlog disk`, the default).
    pub disk_log: bool,
    /// `--nosync`: the LV is flagged NOTSYNCED and not resynchronised.
    pub nosync: bool,
}

impl RaidParams {
    /// Data areas allocated in parallel (LVM2's area_count).
    pub fn area_count(&self) -> u32 {
        match self.layout {
            Layout::Mirror | Layout::Raid(RaidLevel::Raid1) => self.mirrors,
            _ if self.mirrors > 1 => self.mirrors * self.stripes,
            _ => self.stripes,
        }
    }

    /// Every device: data areas plus parity.
    pub fn devices(&self) -> u32 {
        self.area_count() + self.layout.parity()
    }

    /// LVM2's area_multiple for this layout.
    pub fn area_multiple(&self) -> u32 {
        match self.layout {
            Layout::Mirror => 1,
            Layout::Raid(level) => alloc::raid_area_multiple(level, self.devices()),
        }
    }
}

/// LVM2's adjusted_mirror_region_size: a region larger than the LV shrinks to the largest
/// power of 2 that fits. Returns the size and whether it changed.
pub fn adjusted_region_size(extent_size: u32, extents: u32, region: u32) -> (u32, bool) {
    let max = u64::from(extents) * u64::from(extent_size);
    if max < u64::from(u32::MAX) && u64::from(region) > max && max > 0 {
        let pow = 1u64 << (63 - max.leading_zeros());
        (u32::try_from(pow).unwrap_or(region), true)
    } else {
        (region, false)
    }
}

/// LVM2's raid_ensure_min_region_size: MD's bitmap tracks at most 2^21 regions.
pub fn ensure_min_region_size(raid_sectors: u64, region: u32) -> u32 {
    let min = raid_sectors / (1 << 21);
    let mut r = u64::from(region.max(1));
    while r < min {
        r *= 2;
    }
    u32::try_from(r).unwrap_or(u32::MAX)
}

/// Extents of one RAID metadata LV for images of `rimage_extents` (LVM2's
/// _raid_rmeta_extents: superblock and bitmap pages plus one bit per region).
pub fn rmeta_extents(rimage_extents: u32, region: u32, extent_size: u32) -> u32 {
    let region = if region == 0 {
        DEFAULT_REGION_SECTORS
    } else {
        region
    };
    let regions = u64::from(rimage_extents) * u64::from(extent_size) / u64::from(region);
    let bytes = 2 * 4096 + regions.div_ceil(8);
    let sectors = bytes.div_ceil(512);
    u32::try_from(sectors.div_ceil(u64::from(extent_size))).unwrap_or(u32::MAX)
}

/// The image size LVM2 sizes the metadata LVs for (raid_rimage_extents).
fn rimage_extents_for_meta(p: &RaidParams, extents: u32) -> u32 {
    match p.layout {
        Layout::Raid(level) if level != RaidLevel::Raid1 => {
            let mut r = u64::from(extents);
            if matches!(level, RaidLevel::Raid10 | RaidLevel::Raid10Near) {
                r *= u64::from(p.mirrors.max(1));
            }
            u32::try_from(r.div_ceil(u64::from(p.stripes.max(1)))).unwrap_or(u32::MAX)
        }
        _ => extents,
    }
}

/// Extents of a mirror's disk log (LVM2's _mirror_log_extents: a header and one bit per
/// region, in whole sectors, in whole extents).
pub fn mirror_log_extents(region: u32, extent_size: u32, area_len: u32) -> u32 {
    let area = u64::from(area_len) * u64::from(extent_size);
    let regions = area.div_ceil(u64::from(region.max(1)));
    let bitset_bytes = regions.div_ceil(32) * 32 / 8;
    let log_sectors = ((MIRROR_LOG_OFFSET_SECTORS << 9) + bitset_bytes).div_ceil(512);
    u32::try_from(log_sectors.div_ceil(u64::from(extent_size))).unwrap_or(u32::MAX)
}

/// The name of device `n` of `lv`'s layout: `lv_rimage_N`, `lv_rmeta_N`, `lv_mimage_N`.
pub fn image_name(lv: &str, kind: &str, n: u32) -> String {
    format!("{lv}_{kind}_{n}")
}

/// What an existing mirrored or RAID LV is, read from its first segment.
pub fn read_params(vg: &VolumeGroup, lv: &LogicalVolume) -> Option<RaidParams> {
    let seg = lv.segments.first()?;
    match &seg.kind {
        SegmentKind::Mirror(m) => Some(RaidParams {
            layout: Layout::Mirror,
            mirrors: u32::try_from(m.mirrors.len()).ok()?,
            stripes: 1,
            stripe_size: 0,
            region_size: m.region_size.unwrap_or(0),
            disk_log: m.mirror_log.is_some(),
            nosync: lv.has_status("NOTSYNCED"),
        }),
        SegmentKind::Raid(r) => {
            let count = u32::try_from(r.images.len()).ok()?;
            let layout = Layout::Raid(r.level);
            let parity = layout.parity();
            let (mirrors, stripes) = match r.level {
                RaidLevel::Raid1 => (count, 1),
                RaidLevel::Raid10 | RaidLevel::Raid10Near => {
                    let copies = r.data_copies.unwrap_or(2).max(1);
                    (copies, count / copies)
                }
                _ => (1, count.saturating_sub(parity)),
            };
            let _ = vg;
            Some(RaidParams {
                layout,
                mirrors,
                stripes,
                stripe_size: r.stripe_size.unwrap_or(0),
                region_size: r.region_size.unwrap_or(0),
                disk_log: false,
                nosync: lv.has_status("NOTSYNCED"),
            })
        }
        _ => None,
    }
}

/// The data sub-LVs of a mirrored or RAID LV, in device order.
pub fn data_images(lv: &LogicalVolume) -> Vec<String> {
    match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Mirror(m)) => m
            .mirrors
            .iter()
            .filter_map(|a| match a {
                Area::Lv { name, .. } => Some(name.clone()),
                Area::Pv { .. } => None,
            })
            .collect(),
        Some(SegmentKind::Raid(r)) => r.images.iter().map(|i| i.data.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Appends runs to a linear sub-LV (merging with its last segment when they continue it).
fn append_runs(ids: &[Id], lv: &mut LogicalVolume, runs: &[Run]) {
    for r in runs {
        let le = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
        lv.segments
            .push(Segment::linear(le, r.len, ids[r.pv], r.pe));
    }
    alloc::merge_segments(lv);
}

/// What `create` made, for the command's messages.
#[derive(Debug, Default)]
pub struct Created {
    /// Logical extents of the new LV.
    pub extents: u32,
    /// Lines LVM2 prints on the way (reduced region size).
    pub notes: Vec<String>,
}

/// Per-device runs of an allocation, in device order.
fn runs_per_device(got: &alloc::Allocation, devices: usize) -> Vec<Vec<Run>> {
    let mut out = vec![Vec::new(); devices];
    for chunk in &got.chunks {
        for (i, run) in chunk.iter().enumerate() {
            if let Some(v) = out.get_mut(i) {
                v.push(*run);
            }
        }
    }
    out
}

/// Fresh hidden sub-LV as LVM2 makes them: `READ`, `WRITE`, the parent's creation stamp and
/// allocation policy.
fn sub_lv(
    name: &str,
    id: Id,
    now: u64,
    host: &str,
    alloc: Option<AllocationPolicy>,
) -> LogicalVolume {
    let mut lv = new_lv(name, id, now, host);
    lv.status.retain(|s| s != "VISIBLE");
    lv.rare.allocation_policy = alloc;
    lv
}

/// Inputs of `create` besides the VG.
pub struct CreateRequest<'a> {
    pub name: &'a str,
    /// Logical extents wanted (already rounded to the stripe boundary).
    pub extents: u32,
    pub params: RaidParams,
    pub sources: &'a [PvSource],
    pub policy: Policy,
    /// The LV's own allocation policy as written (`--alloc`), if any.
    pub lv_policy: Option<AllocationPolicy>,
    /// A percentage size: take what there is, up to `extents`.
    pub approx: bool,
    pub now: u64,
    pub host: &'a str,
}

/// Creates a mirrored or RAID LV: the top LV, its data (and metadata) sub-LVs and, for a
/// mirror with a disk log, the log, allocated as LVM2's lv_extend + add_mirror_log do.
pub fn create(
    vg: &mut VolumeGroup,
    req: &CreateRequest<'_>,
    new_id: &mut dyn FnMut() -> Id,
) -> Result<Created, String> {
    let p = &req.params;
    let mut out = Created::default();
    let mut params = p.clone();
    if !p.layout.is_raid0() {
        let (region, reduced) = adjusted_region_size(vg.extent_size, req.extents, p.region_size);
        if reduced {
            out.notes.push(format!(
                "Using reduced mirror region size of {}",
                display_size(u64::from(region))
            ));
        }
        params.region_size = region;
        if matches!(p.layout, Layout::Raid(_)) {
            params.region_size = ensure_min_region_size(
                u64::from(req.extents) * u64::from(vg.extent_size),
                params.region_size,
            );
        }
    }
    let devices = params.devices();
    let am = params.area_multiple();
    let meta_len = if params.layout.has_meta() {
        rmeta_extents(
            rimage_extents_for_meta(&params, req.extents),
            params.region_size,
            vg.extent_size,
        )
    } else {
        0
    };
    let meta_share = if params.layout == Layout::Raid(RaidLevel::Raid1) {
        meta_len
    } else {
        meta_len.saturating_mul(am)
    };
    let total = req.extents.checked_add(meta_share).ok_or_else(|| {
        format!(
            "{} extents are more than LVM2 can count; give a smaller size.",
            req.extents
        )
    })?;
    let mut ar = Request::new(1, total, req.policy);
    ar.stripes = params.area_count();
    ar.parity = params.layout.parity();
    ar.area_multiple = am;
    ar.approx = req.approx;
    if meta_len > 0 {
        ar.log_len = meta_len;
        ar.split_meta = true;
    }
    let got = alloc::allocate(vg, None, req.sources, &ar).map_err(|e| alloc_error(e, vg))?;
    let extents = got.extents.saturating_sub(meta_share);
    if extents == 0 {
        return Err(format!(
            "Insufficient suitable allocatable extents for logical volume {}.",
            req.name
        ));
    }
    let ids = alloc::pv_ids(vg);
    let per_device = runs_per_device(&got, devices as usize);

    let mut top = new_lv(req.name, new_id(), req.now, req.host);
    top.rare.allocation_policy = req.lv_policy.clone();
    if params.nosync {
        set_status(&mut top, "NOTSYNCED");
    }
    let mut subs: Vec<LogicalVolume> = Vec::new();
    let kind = match params.layout {
        Layout::Mirror => {
            let mut legs = Vec::new();
            for (n, runs) in per_device.iter().enumerate() {
                let name = image_name(req.name, "mimage", n as u32);
                let mut leg = sub_lv(&name, new_id(), req.now, req.host, req.lv_policy.clone());
                append_runs(&ids, &mut leg, runs);
                legs.push(Area::Lv { name, start: 0 });
                subs.push(leg);
            }
            SegmentKind::Mirror(Mirror {
                extents_moved: None,
                mirror_log: None,
                region_size: Some(params.region_size),
                mirrors: legs,
            })
        }
        Layout::Raid(level) => {
            let mut images = Vec::new();
            for (n, runs) in per_device.iter().enumerate() {
                let data = image_name(req.name, "rimage", n as u32);
                let mut image = sub_lv(&data, new_id(), req.now, req.host, req.lv_policy.clone());
                append_runs(&ids, &mut image, runs);
                subs.push(image);
                let meta = if params.layout.has_meta() {
                    let name = image_name(req.name, "rmeta", n as u32);
                    let mut m = sub_lv(&name, new_id(), req.now, req.host, req.lv_policy.clone());
                    if let Some(run) = got.meta.get(n) {
                        append_runs(&ids, &mut m, std::slice::from_ref(run));
                    }
                    subs.push(m);
                    Some(name)
                } else {
                    None
                };
                images.push(RaidImage { meta, data });
            }
            let striped = !matches!(level, RaidLevel::Raid1);
            SegmentKind::Raid(Box::new(Raid {
                level,
                data_copies: matches!(level, RaidLevel::Raid10 | RaidLevel::Raid10Near)
                    .then_some(params.mirrors),
                region_size: (!level.is_raid0()).then_some(params.region_size),
                stripe_size: (striped && params.stripe_size > 0).then_some(params.stripe_size),
                writebehind: None,
                min_recovery_rate: None,
                max_recovery_rate: None,
                data_offset: None,
                images,
            }))
        }
    };
    top.segments.push(Segment::new(0, extents, kind));
    vg.lvs.push(top);
    vg.lvs.extend(subs);
    let mut extents = extents;
    if params.layout == Layout::Mirror && params.disk_log {
        // LVM2 (rhbz1269533): when the legs took every free extent, give one back for the log.
        if alloc::vg_free_extents(vg) == 0 && extents > 1 {
            reduce(vg, req.name, extents - 1)?;
            extents -= 1;
        }
        add_mirror_log(
            vg,
            req.name,
            req.sources,
            req.policy,
            new_id,
            req.now,
            req.host,
        )?;
    }
    out.extents = extents;
    Ok(out)
}

/// RAID metadata LVs carry their LV's tags, as LVM2 copies them on creation (so the metadata
/// can be activated on its own for clearing) and leaves them there.
pub fn copy_tags_to_metadata(vg: &mut VolumeGroup, name: &str) {
    let Some(lv) = vg.lv(name) else { return };
    let tags = lv.tags.clone();
    let metas: Vec<String> = match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Raid(r)) => r.images.iter().filter_map(|i| i.meta.clone()).collect(),
        _ => return,
    };
    for m in metas {
        if let Some(meta) = vg.lv_mut(&m) {
            meta.tags = tags.clone();
        }
    }
}

/// Allocates and attaches a disk log to the mirror `name`, avoiding the PVs its legs use, as
/// LVM2's add_mirror_log.
pub fn add_mirror_log(
    vg: &mut VolumeGroup,
    name: &str,
    sources: &[PvSource],
    policy: Policy,
    new_id: &mut dyn FnMut() -> Id,
    now: u64,
    host: &str,
) -> Result<(), String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?;
    let region = match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Mirror(m)) => m.region_size.unwrap_or(DEFAULT_REGION_SECTORS),
        _ => return Err(format!("{name} is not a mirror")),
    };
    let extents = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    let len = mirror_log_extents(region, vg.extent_size, extents);
    let mut req = Request::log_only(len, policy);
    req.parallel = parallel_areas(vg, name);
    let got = alloc::allocate(vg, None, sources, &req).map_err(|e| match e {
        alloc::AllocError::LogSpace
        | alloc::AllocError::Unsuitable { .. }
        // LVM2's two lines: the log is allocated on its own, for no LV yet (hence the empty
        // name).
        | alloc::AllocError::Insufficient { .. } => {
            "Insufficient free space for log allocation for logical volume .\n  Unable to allocate extents for mirror log.".to_string()
        }
        other => alloc_error(other, vg),
    })?;
    let ids = alloc::pv_ids(vg);
    let log_name = format!("{name}_mlog");
    let lv_policy = lv.rare.allocation_policy.clone();
    let mut log = sub_lv(&log_name, new_id(), now, host, lv_policy);
    append_runs(&ids, &mut log, &got.logs);
    vg.lvs.push(log);
    if let Some(Segment {
        kind: SegmentKind::Mirror(m),
        ..
    }) = vg.lv_mut(name).and_then(|l| l.segments.first_mut())
    {
        m.mirror_log = Some(log_name);
    }
    Ok(())
}

/// LVM2's build_parallel_areas_from_lv: for each range of `name`'s logical extents, the PVs
/// its legs (and log) use there.
pub fn parallel_areas(vg: &VolumeGroup, name: &str) -> Vec<ParallelArea> {
    let Some(lv) = vg.lv(name) else {
        return Vec::new();
    };
    let total = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    let mut le = 0;
    while le < total {
        let mut pvs: Vec<usize> = Vec::new();
        let mut len = total - le;
        pvs_at(vg, lv, le, &mut len, &mut pvs, 0);
        let len = len.max(1);
        out.push(ParallelArea { le, len, pvs });
        le += len;
    }
    out
}

/// PVs `lv` uses at logical extent `le`, shrinking `len` to where that stops being true.
fn pvs_at(
    vg: &VolumeGroup,
    lv: &LogicalVolume,
    le: u32,
    len: &mut u32,
    pvs: &mut Vec<usize>,
    depth: u32,
) {
    if depth > 8 {
        return;
    }
    let Some(seg) = lv
        .segments
        .iter()
        .find(|s| s.start_extent <= le && u64::from(le) < s.end_extent())
    else {
        return;
    };
    let remaining = seg.start_extent + seg.extent_count - le;
    *len = (*len).min(remaining);
    let add = |pv: &metadata_format::text::Id, pvs: &mut Vec<usize>| {
        if let Some(i) = vg.pv_index(pv) {
            if !pvs.contains(&i) {
                pvs.push(i);
            }
        }
    };
    let sub = |name: &str, sub_le: u32, len: &mut u32, pvs: &mut Vec<usize>| {
        if let Some(l) = vg.lv(name) {
            pvs_at(vg, l, sub_le, len, pvs, depth + 1);
        }
    };
    match &seg.kind {
        SegmentKind::Striped(s) => {
            let n = u32::try_from(s.stripes.len().max(1)).unwrap_or(1);
            let offset = (le - seg.start_extent) / n;
            for a in &s.stripes {
                match a {
                    Area::Pv { pv, .. } => add(pv, pvs),
                    Area::Lv { name, start } => sub(name, start + offset, len, pvs),
                }
            }
        }
        SegmentKind::Mirror(m) => {
            let offset = le - seg.start_extent;
            for a in &m.mirrors {
                match a {
                    Area::Pv { pv, .. } => add(pv, pvs),
                    Area::Lv { name, start } => sub(name, start + offset, len, pvs),
                }
            }
            if let Some(log) = vg.lv(m.mirror_log.as_deref().unwrap_or("")) {
                let mut ignore = u32::MAX;
                pvs_at(vg, log, 0, &mut ignore, pvs, depth + 1);
            }
        }
        SegmentKind::Raid(r) => {
            let count = u32::try_from(r.images.len().max(1)).unwrap_or(1);
            let offset = (le - seg.start_extent) / alloc::raid_area_multiple(r.level, count);
            for image in &r.images {
                sub(&image.data, offset, len, pvs);
            }
        }
        _ => {}
    }
}

/// Extends a mirrored or RAID LV by `extents` logical extents: every leg grows, continuing
/// where it ends when it can (LVM2's lv_extend on the top LV). Returns the extents added.
pub fn extend(
    vg: &mut VolumeGroup,
    name: &str,
    extents: u32,
    sources: &[PvSource],
    policy: Policy,
    approx: bool,
) -> Result<u32, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    let p = read_params(vg, &lv).ok_or_else(|| format!("{name} is not mirrored or RAID"))?;
    let mut req = Request::new(1, extents, policy);
    req.stripes = p.area_count();
    req.parity = p.layout.parity();
    req.area_multiple = p.area_multiple();
    req.approx = approx;
    let got = alloc::allocate(vg, Some(&lv), sources, &req).map_err(|e| alloc_error(e, vg))?;
    let ids = alloc::pv_ids(vg);
    let per_device = runs_per_device(&got, p.devices() as usize);
    for (image, runs) in data_images(&lv).iter().zip(&per_device) {
        if let Some(sub) = vg.lv_mut(image) {
            append_runs(&ids, sub, runs);
        }
    }
    let new_total = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX) + got.extents;
    let extent_size = vg.extent_size;
    if let Some(top) = vg.lv_mut(name) {
        if let Some(seg) = top.segments.first_mut() {
            seg.extent_count = new_total;
            if let SegmentKind::Raid(r) = &mut seg.kind {
                if let Some(region) = r.region_size {
                    r.region_size = Some(ensure_min_region_size(
                        u64::from(new_total) * u64::from(extent_size),
                        region,
                    ));
                }
            }
        }
    }
    Ok(got.extents)
}

/// Cuts a mirror or raid1 LV (and each of its legs) down to `keep` logical extents.
pub fn reduce(vg: &mut VolumeGroup, name: &str, keep: u32) -> Result<(), String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    let p = read_params(vg, &lv).ok_or_else(|| format!("{name} is not mirrored or RAID"))?;
    if p.layout == Layout::Mirror
        && u64::from(p.region_size) > u64::from(keep) * u64::from(vg.extent_size)
    {
        // LVM2's vg_validate refuses a mirror smaller than its region.
        return Err(format!(
            "Unable to reduce mirror {}/{name} below its region size {}.",
            vg.name,
            display_size(u64::from(p.region_size))
        ));
    }
    let current = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    let reduction = current.saturating_sub(keep);
    // Each image loses the reduction divided by the data areas (LVM2's _lv_segment_reduce:
    // images / copies for raid10, images - parity otherwise, 1 for mirrors and raid1).
    let images = data_images(&lv);
    let count = u32::try_from(images.len()).unwrap_or(u32::MAX);
    let areas = match p.layout {
        Layout::Mirror | Layout::Raid(RaidLevel::Raid1) => 1,
        Layout::Raid(RaidLevel::Raid10 | RaidLevel::Raid10Near) => {
            (count / p.mirrors.max(1)).max(1)
        }
        Layout::Raid(_) => count.saturating_sub(p.layout.parity()).max(1),
    };
    if !reduction.is_multiple_of(areas) {
        return Err(format!(
            "Segment extent reduction {reduction} not divisible by #stripes {count}."
        ));
    }
    let per_image = reduction / areas;
    let metas: Vec<Option<String>> = match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Raid(r)) => r.images.iter().map(|i| i.meta.clone()).collect(),
        _ => vec![None; images.len()],
    };
    for (image, meta) in images.iter().zip(metas) {
        let Some(have) = vg
            .lv(image)
            .map(|l| u32::try_from(l.extent_count()).unwrap_or(0))
        else {
            continue;
        };
        let left = have.saturating_sub(per_image);
        // The metadata LV shrinks only if the smaller image needs fewer of its extents
        // (LVM2's raid_rmeta_extents_delta).
        if let Some(meta) = meta {
            let before = rmeta_extents(have, p.region_size, vg.extent_size);
            let after = rmeta_extents(left, p.region_size, vg.extent_size);
            let m_have = vg
                .lv(&meta)
                .map_or(0, |l| u32::try_from(l.extent_count()).unwrap_or(0));
            let mut delta = before.saturating_sub(after);
            if delta > m_have || left == 0 {
                delta = m_have;
            }
            if delta > 0 && delta < m_have {
                if let Some(m) = vg.lv_mut(&meta) {
                    super::lv_plan::reduce_to(m, m_have - delta);
                }
            }
        }
        if let Some(sub) = vg.lv_mut(image) {
            super::lv_plan::reduce_to(sub, left.max(1));
        }
    }
    if let Some(seg) = vg.lv_mut(name).and_then(|l| l.segments.first_mut()) {
        seg.extent_count = keep;
    }
    Ok(())
}

/// Inputs shared by the conversions that allocate.
pub struct ConvertCtx<'a> {
    pub sources: &'a [PvSource],
    pub policy: Policy,
    pub now: u64,
    pub host: &'a str,
}

/// The first index `i` for which neither `lv_rimage_i` nor `lv_rmeta_i` (or `lv_mimage_i`)
/// is taken, at or above `from`.
fn free_index(vg: &VolumeGroup, lv: &str, kinds: &[&str], from: u32) -> u32 {
    let mut i = from;
    while kinds.iter().any(|k| vg.lv(&image_name(lv, k, i)).is_some()) {
        i += 1;
    }
    i
}

/// PVs the data sub-LVs of `name` use anywhere (LVM2's single parallel-area list).
fn data_pvs(vg: &VolumeGroup, name: &str) -> Vec<usize> {
    let mut out = Vec::new();
    if let Some(lv) = vg.lv(name) {
        let total = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
        let mut le = 0;
        while le < total {
            let mut step = total - le;
            pvs_at(vg, lv, le, &mut step, &mut out, 0);
            le += step.max(1);
        }
    }
    out
}

/// PVs a linear LV is on, in the order its segments use them.
fn lv_pvs_in_order(vg: &VolumeGroup, lv: &LogicalVolume) -> Vec<usize> {
    let mut out = Vec::new();
    for seg in &lv.segments {
        for a in seg.areas() {
            if let Area::Pv { pv, .. } = a {
                if let Some(i) = vg.pv_index(pv) {
                    if !out.contains(&i) {
                        out.push(i);
                    }
                }
            }
        }
    }
    out
}

/// Whether every segment of the LV is a one-area mapping onto a PV.
pub fn is_linear(lv: &LogicalVolume) -> bool {
    !lv.segments.is_empty()
        && lv.segments.iter().all(|s| {
            matches!(&s.kind, SegmentKind::Striped(st) if st.stripes.len() == 1 && matches!(st.stripes[0], Area::Pv { .. }))
        })
}

#[allow(clippy::too_many_arguments)]
/// Adds `count` raid1 images (each a `_rmeta_N` + `_rimage_N` pair flagged REBUILD) to the
/// raid1 LV `name`, allocated as LVM2's _alloc_image_components: together, away from the PVs
/// the existing images use. Returns the new metadata LVs (to be cleared).
fn alloc_raid_images(
    vg: &mut VolumeGroup,
    name: &str,
    count: u32,
    image_len: u32,
    region: u32,
    raid1_type: bool,
    c: &ConvertCtx<'_>,
    new_id: &mut dyn FnMut() -> Id,
    avoid_extra: &[usize],
) -> Result<Vec<(String, String)>, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    // LVM2 allocates new images of a RAID LV as raid0_meta (area multiple = count) and those
    // of a linear LV being converted as raid1 (area multiple 1); both give each new device
    // `image_len` extents plus its metadata in front.
    let meta_len = rmeta_extents(
        image_len.saturating_mul(if raid1_type { 1 } else { count }),
        region,
        vg.extent_size,
    );
    let mut req = Request::new(1, 0, c.policy);
    req.stripes = count;
    if raid1_type {
        req.area_multiple = 1;
        req.extents = image_len.saturating_add(meta_len);
    } else {
        req.area_multiple = count;
        req.extents = image_len.saturating_add(meta_len).saturating_mul(count);
    }
    req.log_len = meta_len;
    req.split_meta = meta_len > 0;
    let total = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    let mut avoid = data_pvs(vg, name);
    for pv in avoid_extra {
        if !avoid.contains(pv) {
            avoid.push(*pv);
        }
    }
    req.parallel = vec![ParallelArea {
        le: 0,
        len: total.max(1),
        pvs: avoid,
    }];
    let got = alloc::allocate(vg, None, c.sources, &req).map_err(|e| alloc_error(e, vg))?;
    let ids = alloc::pv_ids(vg);
    let per_device = runs_per_device(&got, count as usize);
    let policy = lv.rare.allocation_policy.clone();
    let mut made = Vec::new();
    let mut next = 0;
    for s in 0..count as usize {
        next = free_index(vg, name, &["rimage", "rmeta"], next);
        let meta_name = image_name(name, "rmeta", next);
        let data_name = image_name(name, "rimage", next);
        let mut meta = sub_lv(&meta_name, new_id(), c.now, c.host, policy.clone());
        set_status(&mut meta, "REBUILD");
        if let Some(run) = got.meta.get(s) {
            append_runs(&ids, &mut meta, std::slice::from_ref(run));
        }
        let mut data = sub_lv(&data_name, new_id(), c.now, c.host, policy.clone());
        set_status(&mut data, "REBUILD");
        append_runs(
            &ids,
            &mut data,
            per_device.get(s).map_or(&[][..], |v| &v[..]),
        );
        vg.lvs.push(meta);
        vg.lvs.push(data);
        made.push((meta_name, data_name));
        next += 1;
    }
    Ok(made)
}

/// raid1 with more legs: the state LVM2 hands the kernel (new images flagged REBUILD, so the
/// first activation copies the data onto them). Returns the metadata LVs to clear.
pub fn add_raid1_images(
    vg: &mut VolumeGroup,
    name: &str,
    new_count: u32,
    c: &ConvertCtx<'_>,
    new_id: &mut dyn FnMut() -> Id,
) -> Result<Vec<String>, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    let p = read_params(vg, &lv).ok_or_else(|| format!("{name} is not a raid1 LV"))?;
    if p.layout != Layout::Raid(RaidLevel::Raid1) {
        return Err(format!("{}/{name} is not a raid1 LV.", vg.name));
    }
    if lv.has_status("NOTSYNCED") {
        return Err(
            "Can't add image to out-of-sync RAID LV: use 'lvchange --resync' first.".to_string(),
        );
    }
    let count = new_count.saturating_sub(p.mirrors);
    let image_len = data_images(&lv)
        .first()
        .and_then(|n| vg.lv(n))
        .map_or(0, |l| u32::try_from(l.extent_count()).unwrap_or(u32::MAX));
    let made = alloc_raid_images(
        vg,
        name,
        count,
        image_len,
        p.region_size,
        false,
        c,
        new_id,
        &[],
    )?;
    if let Some(Segment {
        kind: SegmentKind::Raid(r),
        ..
    }) = vg.lv_mut(name).and_then(|l| l.segments.first_mut())
    {
        for (meta, data) in &made {
            r.images.push(RaidImage {
                meta: Some(meta.clone()),
                data: data.clone(),
            });
        }
    }
    Ok(made.into_iter().map(|(m, _)| m).collect())
}

/// A linear LV becomes raid1 with `new_count` images (LVM2's _raid_add_images from linear):
/// its metadata LV goes on a PV it already uses, the new images elsewhere, its own extents
/// become `_rimage_0`. Returns the metadata LVs to clear.
pub fn linear_to_raid1(
    vg: &mut VolumeGroup,
    name: &str,
    new_count: u32,
    c: &ConvertCtx<'_>,
    new_id: &mut dyn FnMut() -> Id,
) -> Result<Vec<String>, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    if !is_linear(&lv) {
        return Err(format!(
            "oxlvm converts linear LVs to raid1 only; {}/{name} is {}.",
            vg.name,
            lv.segments.first().map_or("empty", |s| s.kind.type_name())
        ));
    }
    let extents = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    let region = ensure_min_region_size(
        u64::from(extents) * u64::from(vg.extent_size),
        DEFAULT_REGION_SECTORS,
    );
    // The metadata of the existing image: on the PVs the LV is on.
    let meta_len = rmeta_extents(extents, region, vg.extent_size);
    let own: Vec<PvSource> = lv_pvs_in_order(vg, &lv)
        .into_iter()
        .map(|pv| PvSource {
            pv,
            ranges: Vec::new(),
        })
        .collect();
    let policy = lv.rare.allocation_policy.clone();
    let req = Request::new(1, meta_len, c.policy);
    let got = alloc::allocate(vg, None, &own, &req).map_err(|e| alloc_error(e, vg))?;
    let ids = alloc::pv_ids(vg);
    let meta0 = image_name(name, "rmeta", 0);
    let mut m0 = sub_lv(&meta0, new_id(), c.now, c.host, policy.clone());
    set_status(&mut m0, "REBUILD");
    for chunk in &got.chunks {
        append_runs(&ids, &mut m0, chunk);
    }
    vg.lvs.push(m0);
    let made = alloc_raid_images(
        vg,
        name,
        new_count.saturating_sub(1),
        extents,
        region,
        true,
        c,
        new_id,
        &[],
    )?;
    let data0 = image_name(name, "rimage", 0);
    let mut d0 = sub_lv(&data0, new_id(), c.now, c.host, policy);
    d0.segments = lv.segments.clone();
    vg.lvs.push(d0);
    let mut images = vec![RaidImage {
        meta: Some(meta0.clone()),
        data: data0,
    }];
    let mut metas = vec![meta0];
    for (meta, data) in made {
        images.push(RaidImage {
            meta: Some(meta.clone()),
            data,
        });
        metas.push(meta);
    }
    if let Some(top) = vg.lv_mut(name) {
        top.segments = vec![Segment::new(
            0,
            extents,
            SegmentKind::Raid(Box::new(Raid {
                level: RaidLevel::Raid1,
                data_copies: None,
                region_size: Some(region),
                stripe_size: None,
                writebehind: None,
                min_recovery_rate: None,
                max_recovery_rate: None,
                data_offset: None,
                images,
            })),
        )];
    }
    Ok(metas)
}

/// The images of a RAID LV that `lvconvert --repair` replaces (LVM2's _raid_leg_degraded or
/// on a failed PV): those whose data or metadata sub-LV has extents on a PV in `failed`, or
/// whose device the kernel reports dead (`D` in `health`).
pub fn failed_images(
    vg: &VolumeGroup,
    lv: &LogicalVolume,
    failed: &[Id],
    health: Option<&str>,
) -> Vec<usize> {
    let Some(SegmentKind::Raid(r)) = lv.segments.first().map(|s| &s.kind) else {
        return Vec::new();
    };
    let on_failed = |name: &str| {
        vg.lv(name).is_some_and(|l| {
            l.segments.iter().any(|seg| {
                seg.areas().iter().any(|a| match a {
                    Area::Pv { pv, .. } => failed.contains(pv),
                    Area::Lv { .. } => false,
                }) || seg.kind.type_name() == "error"
            })
        })
    };
    r.images
        .iter()
        .enumerate()
        .filter(|(s, image)| {
            health.is_some_and(|h| h.as_bytes().get(*s) == Some(&b'D'))
                || on_failed(&image.data)
                || image.meta.as_deref().is_some_and(on_failed)
        })
        .map(|(s, _)| s)
        .collect()
}

/// LVM2's checks before replacing `count` of a RAID LV's images: not all of them, no more than
/// its parity devices can rebuild, never both copies of a raid10 mirror group.
pub fn check_replace(vg: &VolumeGroup, lv: &LogicalVolume, images: &[usize]) -> Result<(), String> {
    let Some(SegmentKind::Raid(r)) = lv.segments.first().map(|s| &s.kind) else {
        return Err(format!("{}/{} is not a RAID LV.", vg.name, lv.name));
    };
    let display = format!("{}/{}", vg.name, lv.name);
    if r.level.is_raid0() {
        return Err(format!(
            "Can't replace any devices in {} LV {display}.",
            r.level.as_str()
        ));
    }
    if images.len() >= r.images.len() {
        return Err(format!("Unable to replace all PVs from {display} at once."));
    }
    let parity = alloc::raid_parity(r.level) as usize;
    if parity > 0 && images.len() > parity {
        return Err(format!(
            "Unable to replace more than {parity} PVs from ({}) {display}.",
            r.level.as_str()
        ));
    }
    if matches!(r.level, RaidLevel::Raid10 | RaidLevel::Raid10Near) {
        // Two copies per group, adjacent devices (LVM2 supports 2 data copies only).
        let pairs = r.images.len() / 2;
        for g in 0..pairs {
            if images.contains(&(2 * g)) && images.contains(&(2 * g + 1)) {
                return Err("Unable to replace all the devices in a RAID10 mirror group.".into());
            }
        }
    }
    Ok(())
}

/// `lvconvert --repair` of a RAID LV (LVM2's lv_raid_replace): new `_rmeta_N`/`_rimage_N`
/// pairs for `images`, allocated away from every PV the LV's images use (and `avoid`), take
/// the failed pairs' places and names, flagged REBUILD so the kernel rebuilds them; the failed
/// sub-LVs leave the VG. Returns the sub-LVs removed (their kernel devices are renamed aside
/// and removed around the reload).
pub fn replace_raid_images(
    vg: &mut VolumeGroup,
    name: &str,
    images: &[usize],
    avoid: &[usize],
    c: &ConvertCtx<'_>,
    new_id: &mut dyn FnMut() -> Id,
) -> Result<Vec<LogicalVolume>, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    let Some(SegmentKind::Raid(r)) = lv.segments.first().map(|s| s.kind.clone()) else {
        return Err(format!("{}/{name} is not a RAID LV.", vg.name));
    };
    let healthy = (0..r.images.len())
        .find(|s| !images.contains(s))
        .ok_or_else(|| format!("Unable to replace all PVs from {}/{name} at once.", vg.name))?;
    let image_len = vg
        .lv(&r.images[healthy].data)
        .map_or(0, |l| u32::try_from(l.extent_count()).unwrap_or(u32::MAX));
    let mut avoid_all: Vec<usize> = avoid.to_vec();
    for image in &r.images {
        for sub in std::iter::once(&image.data).chain(image.meta.iter()) {
            if let Some(l) = vg.lv(sub) {
                for pv in lv_pvs_in_order(vg, l) {
                    if !avoid_all.contains(&pv) {
                        avoid_all.push(pv);
                    }
                }
            }
        }
    }
    let count = u32::try_from(images.len()).unwrap_or(u32::MAX);
    let made = alloc_raid_images(
        vg,
        name,
        count,
        image_len,
        r.region_size.unwrap_or(0),
        false,
        c,
        new_id,
        &avoid_all,
    )?;
    let mut removed = Vec::new();
    let mut new_images = r.images.clone();
    for (&s, (meta, data)) in images.iter().zip(&made) {
        let old = &r.images[s];
        let mut names = vec![old.data.clone()];
        names.extend(old.meta.clone());
        removed.extend(vg.lvs.iter().filter(|l| names.contains(&l.name)).cloned());
        vg.lvs.retain(|l| !names.contains(&l.name));
        if let Some(l) = vg.lv_mut(data) {
            l.name = old.data.clone();
        }
        if let (Some(old_meta), Some(l)) = (old.meta.as_ref(), vg.lv_mut(meta)) {
            l.name = old_meta.clone();
        }
        new_images[s] = RaidImage {
            meta: old.meta.clone(),
            data: old.data.clone(),
        };
    }
    // As in LVM2's VG the new sub-LVs come last in the LV list (each metadata LV before its
    // image), where the allocation appended them.
    if let Some(Segment {
        kind: SegmentKind::Raid(rr),
        ..
    }) = vg.lv_mut(name).and_then(|l| l.segments.first_mut())
    {
        rr.images = new_images;
    }
    Ok(removed)
}

/// Which `remove` of the legs go: those with extents on `on_pvs` (highest index first) or,
/// without PVs, the last ones, as LVM2's _raid_extract_images.
fn legs_to_remove(
    vg: &VolumeGroup,
    legs: &[(String, Option<String>)],
    remove: usize,
    on_pvs: &[usize],
) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for i in (0..legs.len()).rev() {
        if out.len() == remove {
            break;
        }
        let (data, meta) = &legs[i];
        let on = on_pvs.is_empty()
            || std::iter::once(data)
                .chain(meta.iter())
                .filter_map(|n| vg.lv(n))
                .any(|l| lv_pvs_in_order(vg, l).iter().any(|p| on_pvs.contains(p)));
        if on {
            out.push(i);
        }
    }
    if out.len() < remove {
        return Err(format!(
            "Unable to remove {remove} images: only {} of them use the PVs given.",
            out.len()
        ));
    }
    Ok(out)
}

/// raid1 with fewer legs; at one leg the LV becomes linear on the remaining image. The images
/// left are renamed to keep their numbers contiguous, as LVM2 does.
pub fn remove_raid1_images(
    vg: &mut VolumeGroup,
    name: &str,
    new_count: u32,
    on_pvs: &[usize],
) -> Result<(), String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    let Some(SegmentKind::Raid(r)) = lv.segments.first().map(|s| s.kind.clone()) else {
        return Err(format!("{}/{name} is not a raid1 LV.", vg.name));
    };
    let legs: Vec<(String, Option<String>)> = r
        .images
        .iter()
        .map(|i| (i.data.clone(), i.meta.clone()))
        .collect();
    let remove = legs.len().saturating_sub(new_count.max(1) as usize);
    let gone = legs_to_remove(vg, &legs, remove, on_pvs)?;
    let mut doomed: Vec<String> = Vec::new();
    for &i in &gone {
        doomed.push(legs[i].0.clone());
        doomed.extend(legs[i].1.clone());
    }
    let kept: Vec<(String, Option<String>)> = legs
        .iter()
        .enumerate()
        .filter(|(i, _)| !gone.contains(i))
        .map(|(_, l)| l.clone())
        .collect();
    if new_count <= 1 {
        let Some((data, meta)) = kept.first().cloned() else {
            return Err("no leg left".to_string());
        };
        let segs = vg.lv(&data).map(|l| l.segments.clone()).unwrap_or_default();
        doomed.push(data);
        doomed.extend(meta);
        vg.lvs.retain(|l| !doomed.contains(&l.name));
        if let Some(top) = vg.lv_mut(name) {
            top.segments = segs;
        }
        return Ok(());
    }
    vg.lvs.retain(|l| !doomed.contains(&l.name));
    let mut images = Vec::new();
    for (n, (data, meta)) in kept.into_iter().enumerate() {
        let want_data = image_name(name, "rimage", n as u32);
        let want_meta = image_name(name, "rmeta", n as u32);
        if data != want_data {
            if let Some(l) = vg.lv_mut(&data) {
                l.name = want_data.clone();
            }
        }
        let meta = meta.map(|m| {
            if m != want_meta {
                if let Some(l) = vg.lv_mut(&m) {
                    l.name = want_meta.clone();
                }
            }
            want_meta.clone()
        });
        images.push(RaidImage {
            meta,
            data: want_data,
        });
    }
    if let Some(Segment {
        kind: SegmentKind::Raid(r),
        ..
    }) = vg.lv_mut(name).and_then(|l| l.segments.first_mut())
    {
        r.images = images;
    }
    Ok(())
}

/// More legs for a mirror: the final layout LVM2 reaches once its temporary layer has synced
/// (new `_mimage_N` legs allocated away from the legs and the log). Returns the disk log, which
/// the caller clears so the kernel copies every region on the next activation.
pub fn add_mirror_legs(
    vg: &mut VolumeGroup,
    name: &str,
    new_count: u32,
    c: &ConvertCtx<'_>,
    new_id: &mut dyn FnMut() -> Id,
) -> Result<Option<String>, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    let Some(SegmentKind::Mirror(m)) = lv.segments.first().map(|s| s.kind.clone()) else {
        return Err(format!("{}/{name} is not a mirror.", vg.name));
    };
    let count = new_count.saturating_sub(u32::try_from(m.mirrors.len()).unwrap_or(0));
    let extents = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    let mut req = Request::new(1, extents, c.policy);
    req.stripes = count;
    req.area_multiple = 1;
    req.parallel = parallel_areas(vg, name);
    let got = alloc::allocate(vg, None, c.sources, &req).map_err(|e| alloc_error(e, vg))?;
    let ids = alloc::pv_ids(vg);
    let per_device = runs_per_device(&got, count as usize);
    let policy = lv.rare.allocation_policy.clone();
    let mut legs = Vec::new();
    // LVM2 numbers a new leg one past the highest `_mimage_N` in the VG (generate_lv_name),
    // so a leg dropped by a repair leaves its number unused.
    let first = next_mimage_index(vg, name);
    for (n, runs) in (first..).zip(&per_device) {
        let leg_name = image_name(name, "mimage", n);
        let mut leg = sub_lv(&leg_name, new_id(), c.now, c.host, policy.clone());
        append_runs(&ids, &mut leg, runs);
        vg.lvs.push(leg);
        legs.push(leg_name);
    }
    if let Some(top) = vg.lv_mut(name) {
        clear_status(top, "NOTSYNCED");
        if let Some(Segment {
            kind: SegmentKind::Mirror(m),
            ..
        }) = top.segments.first_mut()
        {
            for leg in legs {
                m.mirrors.push(Area::Lv {
                    name: leg,
                    start: 0,
                });
            }
        }
    }
    Ok(m.mirror_log)
}

/// One past the highest N of the VG's `<name>_mimage_N` LVs (0 when there is none).
fn next_mimage_index(vg: &VolumeGroup, name: &str) -> u32 {
    let prefix = format!("{name}_mimage_");
    vg.lvs
        .iter()
        .filter_map(|l| l.name.strip_prefix(&prefix))
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        })
        .max()
        .map_or(0, |n| n.saturating_add(1))
}

/// What a mirror repair converts back up to after the failed legs and log were dropped
/// ([`plan_mirror_upconvert`]).
#[derive(Debug, Clone)]
pub struct MirrorUpconvert {
    /// (legs, logs) of each try, in order (LVM2's "Trying to up-convert to N images, L logs.").
    pub tries: Vec<(u32, u32)>,
    /// The new metadata, when a try fitted and changes something.
    pub vg: Option<VolumeGroup>,
    /// Legs and disk logs the mirror ends with.
    pub legs: u32,
    pub logs: u32,
    /// The disk log to clear before the new metadata is committed: a new one, or the kept one
    /// when legs are added (a cleared log makes the kernel copy every region from the first
    /// leg, so no new leg is ever read as in sync before it was copied).
    pub clear_log: Option<String>,
    /// Whether legs were added: the kernel copies to them and the command waits for it.
    pub legs_added: bool,
}

/// LVM2's up-conversion loop of `lvconvert --repair` on `base`, where `name` is what the drop
/// left (linear, or a mirror of one or more legs): tries `target_legs` legs and `target_logs`
/// disk logs, and where nothing fits one leg fewer (down to the legs left, or 2), then no log.
/// A mirror that keeps two or more legs gets its log back first, then the new legs added to
/// it (LVM2 ends the same after collapsing its `_mimagetmp` layer); a linear LV becomes a
/// mirror as `lvconvert -m` makes one.
pub fn plan_mirror_upconvert(
    base: &VolumeGroup,
    name: &str,
    mut target_legs: u32,
    mut target_logs: u32,
    region: u32,
    c: &ConvertCtx<'_>,
    new_id: &mut dyn FnMut() -> Id,
) -> MirrorUpconvert {
    let (left_legs, kept_log) = match base.lv(name) {
        Some(lv) => match lv.segments.first().map(|s| &s.kind) {
            Some(SegmentKind::Mirror(m)) => (
                u32::try_from(data_images(lv).len()).unwrap_or(u32::MAX),
                m.mirror_log.clone(),
            ),
            _ => (1, None),
        },
        None => (1, None),
    };
    let mut out = MirrorUpconvert {
        tries: Vec::new(),
        vg: None,
        legs: left_legs,
        logs: u32::from(left_legs > 1 && kept_log.is_some()),
        clear_log: None,
        legs_added: false,
    };
    loop {
        out.tries.push((target_legs, target_logs));
        if target_legs <= left_legs && (left_legs == 1 || target_logs == 0 || kept_log.is_some()) {
            // Nothing to add: LVM2 reloads the LV unchanged.
            return out;
        }
        let mut next = base.clone();
        if left_legs > 1 {
            // The legs stay. A dropped log comes back first, on a PV no leg uses (LVM2's
            // add_mirror_log), then the new legs are added beside the kept ones.
            let mut log = kept_log.clone();
            if target_logs > 0 && log.is_none() {
                match add_mirror_log(&mut next, name, c.sources, c.policy, new_id, c.now, c.host) {
                    Ok(()) => log = Some(format!("{name}_mlog")),
                    Err(_) => {
                        if target_legs > left_legs {
                            target_legs -= 1;
                        } else {
                            target_logs -= 1;
                        }
                        continue;
                    }
                }
            }
            let adding = target_legs > left_legs;
            if adding && add_mirror_legs(&mut next, name, target_legs, c, new_id).is_err() {
                if target_legs > 2 {
                    target_legs -= 1;
                } else if target_logs > 0 {
                    target_logs -= 1;
                } else {
                    return out;
                }
                continue;
            }
            out.legs = target_legs.max(left_legs);
            out.logs = u32::from(log.is_some());
            // The kept log is cleared only when legs are added; a new one always is.
            out.clear_log = if adding || log != kept_log { log } else { None };
            out.legs_added = adding;
            out.vg = Some(next);
            return out;
        }
        match linear_to_mirror(
            &mut next,
            name,
            target_legs,
            target_logs > 0,
            region,
            c,
            new_id,
        ) {
            Ok(log) => {
                out.legs = target_legs;
                out.logs = u32::from(log.is_some());
                out.clear_log = log;
                out.legs_added = true;
                out.vg = Some(next);
                return out;
            }
            Err(_) if target_legs > 2 => target_legs -= 1,
            Err(_) if target_logs > 0 => target_logs -= 1,
            Err(_) => return out,
        }
    }
}

/// Fewer legs for a mirror; at one leg it becomes linear (its log goes too).
pub fn remove_mirror_legs(
    vg: &mut VolumeGroup,
    name: &str,
    new_count: u32,
    on_pvs: &[usize],
) -> Result<(), String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    let Some(SegmentKind::Mirror(m)) = lv.segments.first().map(|s| s.kind.clone()) else {
        return Err(format!("{}/{name} is not a mirror.", vg.name));
    };
    let legs: Vec<(String, Option<String>)> =
        data_images(&lv).into_iter().map(|n| (n, None)).collect();
    let remove = legs.len().saturating_sub(new_count.max(1) as usize);
    let gone = legs_to_remove(vg, &legs, remove, on_pvs)?;
    let mut doomed: Vec<String> = gone.iter().map(|&i| legs[i].0.clone()).collect();
    let kept: Vec<String> = legs
        .iter()
        .enumerate()
        .filter(|(i, _)| !gone.contains(i))
        .map(|(_, l)| l.0.clone())
        .collect();
    if new_count <= 1 {
        let Some(leg) = kept.first().cloned() else {
            return Err("no leg left".to_string());
        };
        let segs = vg.lv(&leg).map(|l| l.segments.clone()).unwrap_or_default();
        doomed.push(leg);
        doomed.extend(m.mirror_log.clone());
        vg.lvs.retain(|l| !doomed.contains(&l.name));
        if let Some(top) = vg.lv_mut(name) {
            top.segments = segs;
            clear_status(top, "NOTSYNCED");
        }
        return Ok(());
    }
    vg.lvs.retain(|l| !doomed.contains(&l.name));
    if let Some(Segment {
        kind: SegmentKind::Mirror(m),
        ..
    }) = vg.lv_mut(name).and_then(|l| l.segments.first_mut())
    {
        m.mirrors = kept
            .into_iter()
            .map(|n| Area::Lv { name: n, start: 0 })
            .collect();
    }
    Ok(())
}

/// A linear LV becomes a mirror of `new_count` legs (LVM2's add_mirror_images: the new legs and
/// the disk log allocated together, away from the LV's PVs; its extents become `_mimage_0`).
/// Returns the disk log to clear.
#[allow(clippy::too_many_arguments)]
pub fn linear_to_mirror(
    vg: &mut VolumeGroup,
    name: &str,
    new_count: u32,
    disk_log: bool,
    region: u32,
    c: &ConvertCtx<'_>,
    new_id: &mut dyn FnMut() -> Id,
) -> Result<Option<String>, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?
        .clone();
    if !is_linear(&lv) {
        return Err(format!(
            "oxlvm converts linear LVs to mirrors only; {}/{name} is {}.",
            vg.name,
            lv.segments.first().map_or("empty", |s| s.kind.type_name())
        ));
    }
    let extents = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    let (region, _) = adjusted_region_size(vg.extent_size, extents, region);
    let count = new_count.saturating_sub(1);
    let mut req = Request::new(1, extents, c.policy);
    req.stripes = count;
    req.area_multiple = 1;
    if disk_log {
        req.log_count = 1;
        req.log_len = mirror_log_extents(region, vg.extent_size, extents);
    }
    req.parallel = parallel_areas(vg, name);
    let got = alloc::allocate(vg, None, c.sources, &req).map_err(|e| alloc_error(e, vg))?;
    let ids = alloc::pv_ids(vg);
    let policy = lv.rare.allocation_policy.clone();
    let log_name = format!("{name}_mlog");
    if disk_log {
        let mut log = sub_lv(&log_name, new_id(), c.now, c.host, policy.clone());
        append_runs(&ids, &mut log, &got.logs);
        vg.lvs.push(log);
    }
    let leg0 = image_name(name, "mimage", 0);
    let mut l0 = sub_lv(&leg0, new_id(), c.now, c.host, policy.clone());
    l0.segments = lv.segments.clone();
    vg.lvs.push(l0);
    let mut mirrors = vec![Area::Lv {
        name: leg0,
        start: 0,
    }];
    for (n, runs) in runs_per_device(&got, count as usize).iter().enumerate() {
        let leg_name = image_name(name, "mimage", n as u32 + 1);
        let mut leg = sub_lv(&leg_name, new_id(), c.now, c.host, policy.clone());
        append_runs(&ids, &mut leg, runs);
        vg.lvs.push(leg);
        mirrors.push(Area::Lv {
            name: leg_name,
            start: 0,
        });
    }
    if let Some(top) = vg.lv_mut(name) {
        top.segments = vec![Segment::new(
            0,
            extents,
            SegmentKind::Mirror(Mirror {
                extents_moved: None,
                mirror_log: disk_log.then(|| log_name.clone()),
                region_size: Some(region),
                mirrors,
            }),
        )];
    }
    Ok(disk_log.then_some(log_name))
}

#[cfg(test)]
mod tests {
    //! Expected layouts come from real LVM2 2.03.16 with device-mapper (a guest of the VM
    //! harness, `lvcreate -an ...` on four 64 MiB PVs, 4 MiB extents, in this order) and the
    //! guest fixture (tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg).
    use super::*;
    use metadata_format::text::PhysicalVolume;

    fn id(n: usize) -> Id {
        Id::parse(&format!("{n:0>32}")).unwrap()
    }

    fn vg(pe_counts: &[u32], extent_size: u32) -> VolumeGroup {
        let mut vg = VolumeGroup::new("vg", id(999), extent_size);
        for (i, &c) in pe_counts.iter().enumerate() {
            vg.pvs
                .push(PhysicalVolume::new(id(i), "/dev/x", 0, 2048, c));
        }
        vg
    }

    fn params(layout: Layout, mirrors: u32, stripes: u32) -> RaidParams {
        RaidParams {
            layout,
            mirrors,
            stripes,
            stripe_size: if stripes > 1 { 128 } else { 0 },
            region_size: if layout.is_raid0() {
                0
            } else {
                DEFAULT_REGION_SECTORS
            },
            disk_log: layout == Layout::Mirror,
            nosync: false,
        }
    }

    fn make(vg: &mut VolumeGroup, name: &str, extents: u32, p: RaidParams) {
        let sources = alloc::all_pvs(vg);
        let mut n = 100 + vg.lvs.len() * 10;
        let mut ids = || {
            n += 1;
            id(n)
        };
        create(
            vg,
            &CreateRequest {
                name,
                extents,
                params: p,
                sources: &sources,
                policy: Policy::Normal,
                lv_policy: None,
                approx: false,
                now: 0,
                host: "h",
            },
            &mut ids,
        )
        .unwrap();
    }

    /// (pv index, pe, len) of each segment of a linear LV.
    fn runs(vg: &VolumeGroup, name: &str) -> Vec<(usize, u32, u32)> {
        vg.lv(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .segments
            .iter()
            .map(|s| match &s.areas()[0] {
                Area::Pv { pv, start } => (vg.pv_index(pv).unwrap(), *start, s.extent_count),
                Area::Lv { .. } => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn the_guest_sequence_of_raid_and_mirror_lvs() {
        let mut g = vg(&[15, 15, 15, 15], 8192);
        make(
            &mut g,
            "r1",
            2,
            params(Layout::Raid(RaidLevel::Raid1), 2, 1),
        );
        assert_eq!(runs(&g, "r1_rmeta_0"), vec![(0, 0, 1)]);
        assert_eq!(runs(&g, "r1_rimage_0"), vec![(0, 1, 2)]);
        assert_eq!(runs(&g, "r1_rmeta_1"), vec![(1, 0, 1)]);
        assert_eq!(runs(&g, "r1_rimage_1"), vec![(1, 1, 2)]);
        make(&mut g, "m1", 2, params(Layout::Mirror, 2, 1));
        assert_eq!(runs(&g, "m1_mimage_0"), vec![(0, 3, 2)]);
        assert_eq!(runs(&g, "m1_mimage_1"), vec![(1, 3, 2)]);
        assert_eq!(runs(&g, "m1_mlog"), vec![(3, 0, 1)]);
        let mut core = params(Layout::Mirror, 2, 1);
        core.disk_log = false;
        make(&mut g, "m2", 2, core);
        assert_eq!(runs(&g, "m2_mimage_0"), vec![(0, 5, 2)]);
        assert!(g.lv("m2_mlog").is_none());
        make(
            &mut g,
            "r5",
            2,
            params(Layout::Raid(RaidLevel::Raid5), 1, 2),
        );
        assert_eq!(runs(&g, "r5_rmeta_0"), vec![(0, 7, 1)]);
        assert_eq!(runs(&g, "r5_rimage_0"), vec![(0, 8, 1)]);
        assert_eq!(runs(&g, "r5_rimage_1"), vec![(1, 8, 1)]);
        assert_eq!(runs(&g, "r5_rmeta_2"), vec![(2, 0, 1)]);
        assert_eq!(runs(&g, "r5_rimage_2"), vec![(2, 1, 1)]);
        make(
            &mut g,
            "r10",
            2,
            params(Layout::Raid(RaidLevel::Raid10), 2, 2),
        );
        assert_eq!(runs(&g, "r10_rimage_0"), vec![(0, 10, 1)]);
        assert_eq!(runs(&g, "r10_rimage_2"), vec![(2, 3, 1)]);
        assert_eq!(runs(&g, "r10_rmeta_3"), vec![(3, 1, 1)]);
        assert_eq!(runs(&g, "r10_rimage_3"), vec![(3, 2, 1)]);
        make(
            &mut g,
            "r0",
            2,
            params(Layout::Raid(RaidLevel::Raid0), 1, 2),
        );
        assert_eq!(runs(&g, "r0_rimage_0"), vec![(0, 11, 1)]);
        assert_eq!(runs(&g, "r0_rimage_1"), vec![(1, 11, 1)]);
        // Three legs where two PVs have only three extents left: LVM2 splits each image.
        let mut p = params(Layout::Raid(RaidLevel::Raid1), 3, 1);
        p.region_size = 2048;
        make(&mut g, "r1b", 3, p);
        assert_eq!(runs(&g, "r1b_rmeta_0"), vec![(2, 4, 1)]);
        assert_eq!(runs(&g, "r1b_rimage_0"), vec![(2, 5, 2), (1, 12, 1)]);
        assert_eq!(runs(&g, "r1b_rmeta_1"), vec![(3, 3, 1)]);
        assert_eq!(runs(&g, "r1b_rimage_1"), vec![(3, 4, 2), (2, 7, 1)]);
        assert_eq!(runs(&g, "r1b_rmeta_2"), vec![(0, 12, 1)]);
        assert_eq!(runs(&g, "r1b_rimage_2"), vec![(0, 13, 2), (3, 6, 1)]);
        // LVM2's list order: the LV, then each image before its metadata.
        let names: Vec<&str> = g.lvs.iter().map(|l| l.name.as_str()).collect();
        let at = names.iter().position(|n| *n == "r1").unwrap();
        assert_eq!(
            &names[at..at + 5],
            &[
                "r1",
                "r1_rimage_0",
                "r1_rmeta_0",
                "r1_rimage_1",
                "r1_rmeta_1"
            ]
        );
        assert!(g.dangling_references().is_empty());
    }

    #[test]
    fn extensions_continue_every_leg() {
        // LVM2 2.03.16 in the guest, 1 MiB extents, four 64 MiB PVs (63 extents each).
        let mut g = vg(&[63, 63, 63, 63], 2048);
        make(
            &mut g,
            "r1",
            8,
            params(Layout::Raid(RaidLevel::Raid1), 2, 1),
        );
        let sources = alloc::all_pvs(&g);
        assert_eq!(
            extend(&mut g, "r1", 5, &sources, Policy::Normal, false).unwrap(),
            5
        );
        assert_eq!(runs(&g, "r1_rimage_0"), vec![(0, 1, 13)]);
        assert_eq!(runs(&g, "r1_rimage_1"), vec![(1, 1, 13)]);
        make(&mut g, "m1", 8, params(Layout::Mirror, 2, 1));
        extend(&mut g, "m1", 5, &sources, Policy::Normal, false).unwrap();
        assert_eq!(runs(&g, "m1_mimage_0"), vec![(0, 14, 13)]);
        assert_eq!(runs(&g, "m1_mimage_1"), vec![(1, 14, 13)]);
        assert_eq!(runs(&g, "m1_mlog"), vec![(3, 0, 1)]);
        make(
            &mut g,
            "r5",
            8,
            params(Layout::Raid(RaidLevel::Raid5), 1, 2),
        );
        extend(&mut g, "r5", 6, &sources, Policy::Normal, false).unwrap();
        assert_eq!(runs(&g, "r5_rmeta_0"), vec![(0, 27, 1)]);
        assert_eq!(runs(&g, "r5_rimage_0"), vec![(0, 28, 7)]);
        assert_eq!(runs(&g, "r5_rimage_2"), vec![(2, 1, 7)]);
        make(
            &mut g,
            "r10",
            8,
            params(Layout::Raid(RaidLevel::Raid10), 2, 2),
        );
        extend(&mut g, "r10", 4, &sources, Policy::Normal, false).unwrap();
        assert_eq!(runs(&g, "r10_rimage_0"), vec![(0, 36, 6)]);
        assert_eq!(runs(&g, "r10_rimage_2"), vec![(2, 9, 6)]);
        assert_eq!(runs(&g, "r10_rimage_3"), vec![(3, 2, 6)]);
        make(
            &mut g,
            "r0",
            8,
            params(Layout::Raid(RaidLevel::Raid0), 1, 2),
        );
        extend(&mut g, "r0", 4, &sources, Policy::Normal, false).unwrap();
        assert_eq!(runs(&g, "r0_rimage_0"), vec![(0, 42, 6)]);
        assert_eq!(runs(&g, "r0_rimage_1"), vec![(1, 42, 6)]);
        assert_eq!(g.lv("r5").unwrap().extent_count(), 14);
    }

    /// A linear LV as lvcreate makes it.
    fn linear(vg: &mut VolumeGroup, name: &str, extents: u32) {
        let n = vg.lvs.len();
        vg.lvs.push(LogicalVolume::new(name, id(500 + n)));
        let sources = alloc::all_pvs(vg);
        let req = Request::new(1, extents, Policy::Normal);
        crate::commands::lv_plan::extend_plain(vg, name, &req, &sources, 0).unwrap();
    }

    /// The PVs a linear sub-LV is on.
    fn pvs_of(vg: &VolumeGroup, name: &str) -> Vec<usize> {
        runs(vg, name).into_iter().map(|r| r.0).collect()
    }

    #[test]
    fn a_repair_adds_legs_back_to_a_mirror_that_keeps_two() {
        // A 3-leg disk-log mirror on PVs 0-2 (log on the last PV, 4) loses leg 1 (its PV
        // failed): the repair's up-conversion adds the leg back on the free PV 3, numbered one past the
        // highest leg as LVM2 numbers it, and clears the kept log so the kernel copies it.
        let mut g = vg(&[15, 15, 15, 15, 15], 8192);
        make(&mut g, "m", 2, params(Layout::Mirror, 3, 1));
        let leg_pvs: Vec<usize> = (0..3)
            .flat_map(|i| pvs_of(&g, &format!("m_mimage_{i}")))
            .collect();
        assert_eq!(leg_pvs, vec![0, 1, 2]);
        assert_eq!(pvs_of(&g, "m_mlog"), vec![4]);
        remove_mirror_legs(&mut g, "m", 2, &[1]).unwrap();
        assert_eq!(
            data_images(g.lv("m").unwrap()),
            ["m_mimage_0", "m_mimage_2"]
        );
        let healthy: Vec<PvSource> = alloc::all_pvs(&g)
            .into_iter()
            .filter(|s| s.pv != 1)
            .collect();
        let c = ConvertCtx {
            sources: &healthy,
            policy: Policy::Normal,
            now: 0,
            host: "h",
        };
        let mut n = 900;
        let mut ids = || {
            n += 1;
            id(n)
        };
        let plan = plan_mirror_upconvert(&g, "m", 3, 1, DEFAULT_REGION_SECTORS, &c, &mut ids);
        assert_eq!(plan.tries, vec![(3, 1)]);
        assert_eq!((plan.legs, plan.logs, plan.legs_added), (3, 1, true));
        assert_eq!(plan.clear_log.as_deref(), Some("m_mlog"));
        let next = plan.vg.expect("a layout");
        let top = next.lv("m").unwrap();
        assert_eq!(data_images(top), ["m_mimage_0", "m_mimage_2", "m_mimage_3"]);
        assert_eq!(pvs_of(&next, "m_mimage_3"), vec![3]);
        assert!(!top.status.iter().any(|s| s == "NOTSYNCED"));
        assert!(next.dangling_references().is_empty());
        // No PV with room for a third leg: one leg fewer is the layout left, nothing to load.
        let no_room: Vec<PvSource> = healthy.iter().filter(|s| s.pv != 3).cloned().collect();
        let c = ConvertCtx {
            sources: &no_room,
            ..c
        };
        let plan = plan_mirror_upconvert(&g, "m", 3, 1, DEFAULT_REGION_SECTORS, &c, &mut ids);
        assert_eq!(plan.tries, vec![(3, 1), (2, 1)]);
        assert!(plan.vg.is_none() && !plan.legs_added && plan.clear_log.is_none());
        assert_eq!((plan.legs, plan.logs), (2, 1));
        // Leg and log lost together: the log and the leg come back on the two PVs no leg uses.
        let mut g2 = g.clone();
        let log = g2.lv("m").unwrap().segments[0].kind.clone();
        if let SegmentKind::Mirror(mut m) = log {
            m.mirror_log = None;
            g2.lvs.retain(|l| l.name != "m_mlog");
            g2.lv_mut("m").unwrap().segments[0].kind = SegmentKind::Mirror(m);
        }
        let sources: Vec<PvSource> = alloc::all_pvs(&g2)
            .into_iter()
            .filter(|s| s.pv != 1)
            .collect();
        let c = ConvertCtx {
            sources: &sources,
            ..c
        };
        let plan = plan_mirror_upconvert(&g2, "m", 3, 1, DEFAULT_REGION_SECTORS, &c, &mut ids);
        assert_eq!(plan.tries, vec![(3, 1)]);
        assert_eq!((plan.legs, plan.logs, plan.legs_added), (3, 1, true));
        assert_eq!(plan.clear_log.as_deref(), Some("m_mlog"));
        let next = plan.vg.expect("a layout");
        let mut used = pvs_of(&next, "m_mlog");
        used.extend(pvs_of(&next, "m_mimage_3"));
        used.sort_unstable();
        assert_eq!(used, vec![3, 4]);
    }

    #[test]
    fn conversions_as_the_guest_ran_them() {
        // LVM2 2.03.16 with device-mapper, four 64 MiB PVs, 1 MiB extents, LVs active: every
        // metadata version of this sequence was read back from the ring.
        let mut g = vg(&[63, 63, 63, 63], 2048);
        make(
            &mut g,
            "r1",
            8,
            params(Layout::Raid(RaidLevel::Raid1), 2, 1),
        );
        let sources = alloc::all_pvs(&g);
        let c = ConvertCtx {
            sources: &sources,
            policy: Policy::Normal,
            now: 0,
            host: "h",
        };
        let mut n = 700;
        let mut ids = || {
            n += 1;
            id(n)
        };
        // lvconvert -m2: the new pair on the PV no image uses, flagged REBUILD.
        let metas = add_raid1_images(&mut g, "r1", 3, &c, &mut ids).unwrap();
        assert_eq!(metas, vec!["r1_rmeta_2"]);
        assert_eq!(runs(&g, "r1_rmeta_2"), vec![(2, 0, 1)]);
        assert_eq!(runs(&g, "r1_rimage_2"), vec![(2, 1, 8)]);
        assert_eq!(
            g.lv("r1_rimage_2").unwrap().status,
            vec!["READ", "WRITE", "REBUILD"]
        );
        // -m1 drops the last image, -m0 leaves the LV linear on image 0.
        remove_raid1_images(&mut g, "r1", 2, &[]).unwrap();
        assert!(g.lv("r1_rimage_2").is_none() && g.lv("r1_rmeta_2").is_none());
        remove_raid1_images(&mut g, "r1", 1, &[]).unwrap();
        assert_eq!(runs(&g, "r1"), vec![(0, 1, 8)]);
        assert!(g.lvs.iter().all(|l| !l.name.starts_with("r1_")));
        // A linear LV becomes raid1: metadata where it is, the new image elsewhere.
        linear(&mut g, "lin", 4);
        assert_eq!(runs(&g, "lin"), vec![(0, 9, 4)]);
        let metas = linear_to_raid1(&mut g, "lin", 2, &c, &mut ids).unwrap();
        assert_eq!(metas, vec!["lin_rmeta_0", "lin_rmeta_1"]);
        assert_eq!(runs(&g, "lin_rmeta_0"), vec![(0, 0, 1)]);
        assert_eq!(runs(&g, "lin_rmeta_1"), vec![(1, 0, 1)]);
        assert_eq!(runs(&g, "lin_rimage_1"), vec![(1, 1, 4)]);
        assert_eq!(runs(&g, "lin_rimage_0"), vec![(0, 9, 4)]);
        let names: Vec<&str> = g.lvs.iter().map(|l| l.name.as_str()).collect();
        let at = names.iter().position(|n| *n == "lin_rmeta_0").unwrap();
        assert_eq!(
            &names[at..at + 4],
            &["lin_rmeta_0", "lin_rmeta_1", "lin_rimage_1", "lin_rimage_0"]
        );
        // A mirror gains a leg away from its legs and log, loses it, becomes linear.
        make(&mut g, "m1", 4, params(Layout::Mirror, 2, 1));
        assert_eq!(runs(&g, "m1_mimage_0"), vec![(0, 13, 4)]);
        assert_eq!(runs(&g, "m1_mimage_1"), vec![(1, 5, 4)]);
        assert_eq!(runs(&g, "m1_mlog"), vec![(3, 0, 1)]);
        let log = add_mirror_legs(&mut g, "m1", 3, &c, &mut ids).unwrap();
        assert_eq!(log.as_deref(), Some("m1_mlog"));
        assert_eq!(runs(&g, "m1_mimage_2"), vec![(2, 0, 4)]);
        remove_mirror_legs(&mut g, "m1", 2, &[]).unwrap();
        assert!(g.lv("m1_mimage_2").is_none());
        remove_mirror_legs(&mut g, "m1", 1, &[]).unwrap();
        assert_eq!(runs(&g, "m1"), vec![(0, 13, 4)]);
        assert!(g.lv("m1_mlog").is_none());
        // A linear LV becomes a mirror with a disk log.
        linear(&mut g, "lin2", 4);
        assert_eq!(runs(&g, "lin2"), vec![(0, 17, 4)]);
        linear_to_mirror(
            &mut g,
            "lin2",
            2,
            true,
            DEFAULT_REGION_SECTORS,
            &c,
            &mut ids,
        )
        .unwrap();
        assert_eq!(runs(&g, "lin2_mlog"), vec![(3, 0, 1)]);
        assert_eq!(runs(&g, "lin2_mimage_0"), vec![(0, 17, 4)]);
        assert_eq!(runs(&g, "lin2_mimage_1"), vec![(1, 5, 4)]);
        let names: Vec<&str> = g.lvs.iter().map(|l| l.name.as_str()).collect();
        let at = names.iter().position(|n| *n == "lin2_mlog").unwrap();
        assert_eq!(
            &names[at..at + 3],
            &["lin2_mlog", "lin2_mimage_0", "lin2_mimage_1"]
        );
        assert!(g.dangling_references().is_empty());
    }

    #[test]
    fn sizes_as_lvm2_computes_them() {
        // 64 MiB raid1 with 4 MiB extents: one metadata extent (the guest fixture's r1).
        assert_eq!(rmeta_extents(16, 4096, 8192), 1);
        // 1 MiB extents: still one.
        assert_eq!(rmeta_extents(8, 4096, 2048), 1);
        // A mirror log of an 8 MiB mirror is one extent.
        assert_eq!(mirror_log_extents(4096, 8192, 2), 1);
        // A region bigger than the LV shrinks to the largest power of 2 below its size.
        assert_eq!(adjusted_region_size(2048, 1, 4096), (2048, true));
        assert_eq!(adjusted_region_size(8192, 2, 4096), (4096, false));
        assert_eq!(ensure_min_region_size(1 << 20, 4096), 4096);
        assert_eq!(ensure_min_region_size(1u64 << 34, 4096), 8192);
    }

    #[test]
    fn status_flags_go_where_lvm2_writes_them() {
        let mut lv = LogicalVolume::new("x", id(1));
        set_status(&mut lv, "NOTSYNCED");
        set_status(&mut lv, "LOCKED");
        assert_eq!(
            lv.status,
            vec!["READ", "WRITE", "VISIBLE", "LOCKED", "NOTSYNCED"]
        );
    }
}
