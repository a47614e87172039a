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
    lv.status.insert(at, flag.to_string());
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
    lv.allocation_policy = alloc;
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
        meta_len * am
    };
    let mut ar = Request::new(1, req.extents + meta_share, req.policy);
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
    top.allocation_policy = req.lv_policy.clone();
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
            SegmentKind::Raid(Raid {
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
            })
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
        | alloc::AllocError::Insufficient { .. } => format!(
            "Insufficient free space for the log of mirror {}/{name}: it needs {len} extent(s) on a PV none of its legs uses; add a PV or use --mirrorlog core.",
            vg.name
        ),
        other => alloc_error(other, vg),
    })?;
    let ids = alloc::pv_ids(vg);
    let log_name = format!("{name}_mlog");
    let lv_policy = lv.allocation_policy.clone();
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
    if !matches!(p.layout, Layout::Mirror | Layout::Raid(RaidLevel::Raid1)) {
        return Err(format!(
            "oxlvm reduces mirror and raid1 LVs only; {}/{name} is {}.",
            vg.name,
            p.layout.name()
        ));
    }
    for image in data_images(&lv) {
        if let Some(sub) = vg.lv_mut(&image) {
            super::lv_plan::reduce_to(sub, keep);
        }
    }
    if let Some(seg) = vg.lv_mut(name).and_then(|l| l.segments.first_mut()) {
        seg.extent_count = keep;
    }
    Ok(())
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
