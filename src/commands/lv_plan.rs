//! Pure planning for the LV commands: names, size arguments, and the VG edits LVM2 makes for
//! linear/striped LVs, COW snapshots, thin pools, thin volumes and thin snapshots, their
//! resizing, renaming and removal (with the thin pool's device_id/transaction_id bookkeeping).

use crate::alloc::{self, AllocError, Allocation, PvSource, Request};
use crate::units::Sign;
use metadata_format::text::{
    Area, Id, LogicalVolume, Segment, SegmentKind, Snapshot, Thin, ThinPool, VolumeGroup,
};

/// LVM2's default stripe size (64 KiB) and COW chunk size (4 KiB), in sectors.
pub const DEFAULT_STRIPE_SECTORS: u32 = 128;
pub const DEFAULT_COW_CHUNK_SECTORS: u32 = 8;
/// Thin pool defaults: 64 KiB chunks, metadata between 2 MiB and ~15.81 GiB (sectors).
pub const DEFAULT_THIN_CHUNK_SECTORS: u32 = 128;
const THIN_MIN_METADATA_SECTORS: u64 = 4096;
pub const THIN_MAX_METADATA_SECTORS: u64 = 2 * 255 * ((1 << 14) - 64) * 4;
const THIN_OPTIMAL_METADATA_SECTORS: u64 = 2 * 128 * 1024;
const THIN_MAX_CHUNK_SECTORS: u32 = 2 * 1024 * 1024;
const THIN_MIN_CHUNK_SECTORS: u32 = 128;
pub const ACTIVATION_SKIP: &str = "ACTIVATION_SKIP";

/// Splits `vg/lv`, `/dev/vg/lv` or `lv` (with `default_vg`) into VG and LV names.
pub fn split_lv_arg(arg: &str, default_vg: Option<&str>) -> Result<(String, String), String> {
    let trimmed = arg.strip_prefix("/dev/").unwrap_or(arg);
    let parts: Vec<&str> = trimmed.split('/').collect();
    match parts.as_slice() {
        [vg, lv] if !vg.is_empty() && !lv.is_empty() => Ok((vg.to_string(), lv.to_string())),
        [lv] if !lv.is_empty() => match default_vg {
            Some(vg) => Ok((vg.to_string(), lv.to_string())),
            None => Err(format!(
                "\"{arg}\": please give the LV as VG/LV (e.g. vg0/{lv})."
            )),
        },
        _ => Err(format!(
            "\"{arg}\" is not an LV name; give it as VG/LV (e.g. vg0/lvol0)."
        )),
    }
}

/// The next free name of the form `<prefix>N`, as LVM2's generate_lv_name: one more than the
/// highest N any LV (historical ones too) starts with.
pub fn generate_lv_name(vg: &VolumeGroup, prefix: &str) -> String {
    let number = |name: &str| -> Option<i64> {
        let rest = name.strip_prefix(prefix)?.trim_start();
        let (sign, digits) = match rest.as_bytes().first() {
            Some(b'-') => (-1, &rest[1..]),
            Some(b'+') => (1, &rest[1..]),
            _ => (1, rest),
        };
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        digits[..n].parse::<i64>().ok().map(|v| sign * v)
    };
    let high = vg
        .lvs
        .iter()
        .map(|l| l.name.as_str())
        .chain(vg.historical_lvs.iter().map(|h| h.name.as_str()))
        .filter_map(number)
        .max()
        .unwrap_or(-1);
    format!("{prefix}{}", high + 1)
}

/// Whether a name is taken by an LV or a historical LV.
pub fn name_in_use(vg: &VolumeGroup, name: &str) -> bool {
    vg.lv(name).is_some() || vg.historical_lvs.iter().any(|h| h.name == name)
}

/// An `-l` value: a count or a percentage of something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percent {
    None,
    Vg,
    Free,
    Pvs,
    Origin,
    Lv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtentsArg {
    pub sign: Sign,
    pub value: u64,
    pub percent: Percent,
}

/// Parses `-l`: `N`, `+N`, `-N`, `N%VG|%FREE|%PVS|%ORIGIN|%LV`.
pub fn parse_extents(text: &str) -> Result<ExtentsArg, String> {
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (Sign::Plus, &text[1..]),
        Some(b'-') => (Sign::Minus, &text[1..]),
        _ => (Sign::None, text),
    };
    let (number, percent) = match rest.split_once('%') {
        Some((n, kind)) => {
            let p = match kind.to_ascii_uppercase().as_str() {
                "VG" => Percent::Vg,
                "FREE" => Percent::Free,
                "PVS" => Percent::Pvs,
                "ORIGIN" => Percent::Origin,
                "LV" => Percent::Lv,
                _ => {
                    return Err(format!(
                        "-l {text}: unknown percentage; use %VG, %FREE, %PVS, %ORIGIN or %LV."
                    ))
                }
            };
            (n, p)
        }
        None => (rest, Percent::None),
    };
    let value: u64 = number.parse().map_err(|_| {
        format!("-l {text}: give a number of extents, or a percentage like 100%FREE.")
    })?;
    if percent != Percent::None && percent != Percent::Origin && value > 100 {
        return Err(format!(
            "-l {text}: a percentage cannot be more than 100%; use at most 100{}.",
            &rest[number.len()..]
        ));
    }
    if value > u64::from(u32::MAX) {
        return Err(format!("-l {text}: too many extents."));
    }
    Ok(ExtentsArg {
        sign,
        value,
        percent,
    })
}

/// LVM2's percent_of_extents.
pub fn percent_of(percent: u64, count: u64, round_up: bool) -> u64 {
    (percent * count + if round_up { 99 } else { 0 }) / 100
}

/// Size in sectors to extents, rounded up.
pub fn extents_from_sectors(sectors: u64, extent_size: u32) -> u64 {
    sectors.div_ceil(u64::from(extent_size))
}

/// LVM2's display_size for messages: `4.00 MiB`, `<15.88 TiB`.
pub fn display_size(sectors: u64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let bytes = sectors as f64 * 512.0;
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    let rounded = (value * 100.0).round() / 100.0;
    let prefix = if (rounded - value).abs() > 1e-9 && rounded > value {
        "<"
    } else {
        ""
    };
    let shown = rounded;
    format!("{prefix}{shown:.2} {}", units[unit])
}

/// A new LV as LVM2 writes it: `READ`, `WRITE`, `VISIBLE`, creation time and host.
pub fn new_lv(name: &str, id: Id, now: u64, host: &str) -> LogicalVolume {
    let mut lv = LogicalVolume::new(name, id);
    lv.creation_time = Some(now);
    lv.creation_host = Some(host.to_string());
    lv
}

pub fn hide(lv: &mut LogicalVolume) {
    lv.status.retain(|s| s != "VISIBLE");
}

/// What kind of LV this is, for the checks commands make.
pub fn is_cow(vg: &VolumeGroup, name: &str) -> bool {
    snapshot_of_cow(vg, name).is_some()
}

/// The internal `snapshotN` LV whose COW store is `cow`.
pub fn snapshot_of_cow<'a>(vg: &'a VolumeGroup, cow: &str) -> Option<&'a LogicalVolume> {
    vg.lvs.iter().find(|l| match l.segments.first() {
        Some(Segment {
            kind: SegmentKind::Snapshot(s),
            ..
        }) => s.cow == cow,
        _ => false,
    })
}

/// COW LV names of the snapshots of `origin`.
pub fn snapshots_of(vg: &VolumeGroup, origin: &str) -> Vec<String> {
    vg.lvs
        .iter()
        .filter_map(|l| match l.segments.first() {
            Some(Segment {
                kind: SegmentKind::Snapshot(s),
                ..
            }) if s.origin == origin => Some(s.cow.clone()),
            _ => None,
        })
        .collect()
}

pub fn thin_pool_seg(lv: &LogicalVolume) -> Option<&ThinPool> {
    match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::ThinPool(p)) => Some(p),
        _ => None,
    }
}

pub fn thin_seg(lv: &LogicalVolume) -> Option<&Thin> {
    match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Thin(t)) => Some(t),
        _ => None,
    }
}

/// Whether the LV maps PEs directly (linear or striped), so it can be extended or reduced.
pub fn is_plain(lv: &LogicalVolume) -> bool {
    !lv.segments.is_empty()
        && lv.segments.iter().all(|s| {
            matches!(&s.kind, SegmentKind::Striped(st) if st.stripes.iter().all(|a| matches!(a, Area::Pv { .. })))
        })
}

/// Thin volumes using `pool`.
pub fn thins_of(vg: &VolumeGroup, pool: &str) -> Vec<String> {
    vg.lvs
        .iter()
        .filter(|l| thin_seg(l).is_some_and(|t| t.thin_pool == pool))
        .map(|l| l.name.clone())
        .collect()
}

/// The pool metadata spare LV, if any (`*_pmspare`, hidden).
pub fn pmspare(vg: &VolumeGroup) -> Option<&LogicalVolume> {
    vg.lvs
        .iter()
        .find(|l| l.name.ends_with("_pmspare") && !l.has_status("VISIBLE"))
}

pub fn alloc_error(e: AllocError, vg: &VolumeGroup) -> String {
    match e {
        AllocError::Insufficient { needed, free } => format!(
            "Volume group \"{}\" has insufficient free space: needs {needed} extents, VG has {free} free; add a PV (vgextend) or ask for less.",
            vg.name
        ),
        other => other.to_string(),
    }
}

/// Allocates and appends `extents` to the plain LV `name` (linear or striped).
pub fn extend_plain(
    vg: &mut VolumeGroup,
    name: &str,
    req: &Request,
    sources: &[PvSource],
    stripe_size: u32,
) -> Result<u32, String> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?;
    let existing = (!lv.segments.is_empty()).then_some(lv);
    let got: Allocation =
        alloc::allocate(vg, existing, sources, req).map_err(|e| alloc_error(e, vg))?;
    let ids = alloc::pv_ids(vg);
    let lv = vg
        .lv_mut(name)
        .ok_or_else(|| format!("Logical volume {name} not found"))?;
    alloc::append_chunks(&ids, lv, &got, stripe_size);
    Ok(got.extents)
}

/// Cuts the LV down to `keep` logical extents (at least 1).
pub fn reduce_to(lv: &mut LogicalVolume, keep: u32) {
    let mut out = Vec::new();
    for mut seg in lv.segments.drain(..) {
        if seg.start_extent >= keep {
            break;
        }
        if seg.end_extent() > u64::from(keep) {
            seg.extent_count = keep - seg.start_extent;
        }
        out.push(seg);
    }
    lv.segments = out;
}

/// Thin pool sizing as LVM2's update_thin_pool_params: (chunk sectors, metadata extents).
pub fn thin_pool_sizes(
    data_extents: u32,
    extent_size: u32,
    chunk: Option<u32>,
    metadata_sectors: Option<u64>,
) -> Result<(u32, u32), String> {
    let data = u64::from(data_extents) * u64::from(extent_size);
    let estimate = |chunk: u64| data / (chunk * 8);
    let mut chunk_size: u32;
    let mut meta: u64;
    match metadata_sectors {
        None => {
            match chunk {
                Some(c) => {
                    chunk_size = c;
                    meta = estimate(u64::from(c));
                }
                None => {
                    chunk_size = DEFAULT_THIN_CHUNK_SECTORS;
                    meta = estimate(u64::from(chunk_size));
                    while meta > THIN_OPTIMAL_METADATA_SECTORS * 2
                        && chunk_size < THIN_MAX_CHUNK_SECTORS
                    {
                        chunk_size <<= 1;
                        meta >>= 1;
                    }
                }
            }
            meta = meta.div_ceil(u64::from(extent_size)) * u64::from(extent_size);
        }
        Some(m) => {
            meta = m;
            let est = (data / (meta.max(1) * 8)).max(1);
            let mut c: u64 = if est > 2 * 1024 * 2 - 1 {
                (est + 2 * 1024 * 2 - 1) & !(2 * 1024 * 2 - 1)
            } else {
                est.next_power_of_two()
            };
            c = c.clamp(
                u64::from(THIN_MIN_CHUNK_SECTORS),
                u64::from(THIN_MAX_CHUNK_SECTORS),
            );
            chunk_size = chunk.unwrap_or(c as u32);
        }
    }
    let es = u64::from(extent_size);
    let max = THIN_MAX_METADATA_SECTORS.div_ceil(es) * es;
    let min = THIN_MIN_METADATA_SECTORS.div_ceil(es) * es;
    meta = meta.clamp(min, max);
    if !(THIN_MIN_CHUNK_SECTORS..=THIN_MAX_CHUNK_SECTORS).contains(&chunk_size)
        || !chunk_size.is_multiple_of(THIN_MIN_CHUNK_SECTORS)
    {
        return Err(format!(
            "Thin pool chunk size {} is invalid: use a multiple of 64 KiB between 64 KiB and 1 GiB.",
            display_size(u64::from(chunk_size))
        ));
    }
    if u64::from(chunk_size) > data {
        return Err(format!(
            "Size of thin-pool data volume cannot be smaller than chunk size {}.",
            display_size(u64::from(chunk_size))
        ));
    }
    let meta_extents = u32::try_from(meta.div_ceil(es)).map_err(|_| "metadata too big")?;
    Ok((chunk_size, meta_extents))
}

/// The largest data size (sectors) a pool with this chunk size can address, for LVM2's
/// "can address at most" line.
pub fn thin_pool_max_data(chunk: u32) -> u64 {
    THIN_MAX_METADATA_SECTORS * u64::from(chunk) * 512 / 64
}

/// LVM2's cow_max_extents: a COW bigger than this holds nothing more (kernels with the fixed
/// snapshot leak, as every supported one).
pub fn cow_max_extents(origin_extents: u64, extent_size: u32, chunk: u32) -> u64 {
    let origin = origin_extents * u64::from(extent_size);
    let chunk = u64::from(chunk);
    let origin_chunks = origin.div_ceil(chunk);
    let per_area = chunk << (9 - 4);
    let meta_chunks = (origin_chunks + per_area) / per_area;
    let size = (1 + origin_chunks + meta_chunks) * chunk;
    size.div_ceil(u64::from(extent_size))
}

/// Builds the COW snapshot LVs: `cow` (already allocated, made hidden) and the internal
/// `snapshotN` joining it to `origin`.
pub fn add_cow_snapshot(
    vg: &mut VolumeGroup,
    origin: &str,
    cow: &str,
    chunk: u32,
    id: Id,
    now: u64,
    host: &str,
) -> Result<(), String> {
    let origin_extents = vg
        .lv(origin)
        .map(LogicalVolume::extent_count)
        .ok_or_else(|| format!("Origin {origin} not found"))?;
    let name = generate_lv_name(vg, "snapshot");
    if let Some(c) = vg.lv_mut(cow) {
        hide(c);
    }
    let mut snap = new_lv(&name, id, now, host);
    snap.segments.push(Segment::new(
        0,
        u32::try_from(origin_extents).unwrap_or(u32::MAX),
        SegmentKind::Snapshot(Snapshot {
            chunk_size: chunk,
            origin: origin.to_string(),
            cow: cow.to_string(),
            merging: false,
        }),
    ));
    vg.lvs.push(snap);
    Ok(())
}

/// The thin device id LVM2 gives the next thin LV of `pool`: one more than the highest in use.
pub fn next_device_id(vg: &VolumeGroup, pool: &str) -> u32 {
    vg.lvs
        .iter()
        .filter_map(thin_seg)
        .filter(|t| t.thin_pool == pool)
        .map(|t| t.device_id)
        .max()
        .unwrap_or(0)
        + 1
}

/// Adds a thin volume (or, with `origin`, a thin snapshot) to `pool`, with LVM2's
/// bookkeeping: the new LV records the pool's transaction id, which then moves on by one.
#[allow(clippy::too_many_arguments)]
pub fn add_thin(
    vg: &mut VolumeGroup,
    pool: &str,
    name: &str,
    extents: u32,
    origin: Option<&str>,
    id: Id,
    now: u64,
    host: &str,
) -> Result<(), String> {
    let device_id = next_device_id(vg, pool);
    let pool_lv = vg
        .lv_mut(pool)
        .ok_or_else(|| format!("Thin pool {pool} not found"))?;
    let Some(Segment {
        kind: SegmentKind::ThinPool(p),
        ..
    }) = pool_lv.segments.first_mut()
    else {
        return Err(format!("{pool} is not a thin pool"));
    };
    let tx = p.transaction_id;
    p.transaction_id += 1;
    let mut lv = new_lv(name, id, now, host);
    lv.segments.push(Segment::new(
        0,
        extents,
        SegmentKind::Thin(Box::new(Thin {
            thin_pool: pool.to_string(),
            transaction_id: tx,
            device_id,
            external_origin: None,
            origin: origin.map(str::to_string),
            merge: None,
        })),
    ));
    vg.lvs.push(lv);
    Ok(())
}

/// Removes the LV from the VG's list and, for a thin LV, records the deletion in its pool
/// (transaction id + 1); the internal snapshot LV of a COW goes with it.
pub fn remove_lv(vg: &mut VolumeGroup, name: &str) {
    if let Some(pool) = vg.lv(name).and_then(thin_seg).map(|t| t.thin_pool.clone()) {
        if let Some(Segment {
            kind: SegmentKind::ThinPool(p),
            ..
        }) = vg.lv_mut(&pool).and_then(|l| l.segments.first_mut())
        {
            p.transaction_id += 1;
        }
        // Thin snapshots of it lose their origin.
        for lv in &mut vg.lvs {
            if let Some(Segment {
                kind: SegmentKind::Thin(t),
                ..
            }) = lv.segments.first_mut()
            {
                if t.origin.as_deref() == Some(name) {
                    t.origin = None;
                }
            }
        }
    }
    if let Some(snap) = snapshot_of_cow(vg, name).map(|l| l.name.clone()) {
        vg.lvs.retain(|l| l.name != snap);
    }
    // Sub-LVs only this LV uses (raid images and metadata, mirror legs and log, pool data
    // and metadata) go with it.
    let subs = sub_lvs(vg, name);
    vg.lvs.retain(|l| l.name != name && !subs.contains(&l.name));
}

/// The order in which LVM2 removes `chosen` (lvremove's LVs, or every visible LV of a
/// vgremove) and everything that depends on them: its processing list holds the chosen LVs in
/// VG order with each thin pool moved to the front (so the last pool comes first), and each
/// LV is removed after its dependents - a COW origin after its snapshots, a thin pool after
/// its thin LVs (in VG order), recursively. An LV already removed as a dependent is skipped.
pub fn removal_order(vg: &VolumeGroup, chosen: &[String]) -> Vec<String> {
    removal_plan(vg, chosen, &|_| false).order
}

/// The order in which LVM2's per-LV commands (lvchange, lvremove, ...) take `chosen`: VG
/// order, with each thin pool moved to the front of the list as it is met (so the last pool
/// in the VG comes first).
pub fn processing_order(vg: &VolumeGroup, chosen: &[String]) -> Vec<String> {
    let mut list: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for lv in vg.lvs.iter().filter(|lv| chosen.contains(&lv.name)) {
        if thin_pool_seg(lv).is_some() {
            list.push_front(lv.name.clone());
        } else {
            list.push_back(lv.name.clone());
        }
    }
    list.into()
}

/// [`removal_order`] with the questions LVM2 asks on the way (unless `-f`/`-y`), in the
/// order it asks them.
pub struct RemovalPlan {
    pub order: Vec<String>,
    /// (LV the question is about, question without ` [y/n]: `).
    pub questions: Vec<(String, String)>,
}

/// LVM2's walk of lv_remove_with_dependencies over the processing list. `active` tells
/// whether an LV's device is active: LVM2 asks before removing an active visible LV (an
/// origin once, with its snapshot count, before its snapshots go - taking it down takes them
/// down), before removing a thin pool with thin LVs, and before removing the pool metadata
/// spare while a pool exists.
pub fn removal_plan(
    vg: &VolumeGroup,
    chosen: &[String],
    active: &dyn Fn(&str) -> bool,
) -> RemovalPlan {
    removal_plan_with(vg, chosen, active, false)
}

/// [`removal_plan`] with `devices/issue_discards`: LVM2 then also asks before removing an
/// inactive LV whose extents it discards (any but thin volumes and virtual origins), and says
/// "remove and DISCARD" in each question about such an LV.
pub fn removal_plan_with(
    vg: &VolumeGroup,
    chosen: &[String],
    active: &dyn Fn(&str) -> bool,
    issue_discards: bool,
) -> RemovalPlan {
    let list = processing_order(vg, chosen);
    struct Walk<'a> {
        vg: &'a VolumeGroup,
        active: &'a dyn Fn(&str) -> bool,
        issue_discards: bool,
        plan: RemovalPlan,
        /// LVs taken down on the way (an origin's snapshots go down with it).
        inactive: Vec<String>,
    }
    impl Walk<'_> {
        fn ask_if_active(&mut self, name: &str, kind: &str, tail: &str) {
            let Some(lv) = self.vg.lv(name) else { return };
            let visible = self.vg.is_lv_visible(lv);
            let active = !self.inactive.iter().any(|n| n == name) && (self.active)(name);
            let virtual_lv = !lv.segments.is_empty()
                && lv.segments.iter().all(|s| match &s.kind {
                    SegmentKind::Thin(_) => true,
                    SegmentKind::Other(o) => o.type_name == "zero" || o.type_name == "error",
                    _ => false,
                });
            let discards = self.issue_discards && !virtual_lv;
            // As LVM2: an active LV is asked about when visible, an inactive one only when
            // its extents are to be discarded.
            let ask = if active { visible } else { discards };
            if ask {
                let q = format!(
                    "Do you really want to remove{}{} logical volume {}/{name}{tail}?",
                    if discards { " and DISCARD" } else { "" },
                    if active {
                        format!(" active{kind}")
                    } else {
                        kind.to_string()
                    },
                    self.vg.name
                );
                self.plan.questions.push((name.to_string(), q));
            }
        }
        fn visit(&mut self, name: &str) {
            if self.plan.order.iter().any(|n| n == name) {
                return;
            }
            let vg = self.vg;
            let snaps: Vec<String> = snapshots_of(vg, name)
                .into_iter()
                .filter(|s| !self.plan.order.contains(s))
                .collect();
            if !snaps.is_empty() {
                let tail = format!(" with {} snapshots(s)", snaps.len());
                self.ask_if_active(name, " origin", &tail);
                self.inactive.push(name.to_string());
                self.inactive.extend(snaps.iter().cloned());
                for s in &snaps {
                    self.visit(s);
                }
            }
            if vg.lv(name).and_then(thin_pool_seg).is_some() {
                let thins: Vec<String> = thins_of(vg, name)
                    .into_iter()
                    .filter(|t| !self.plan.order.contains(t))
                    .collect();
                if !thins.is_empty() {
                    let q = format!(
                        "Removing pool {}/{name} will remove {} dependent volume(s). Proceed?",
                        vg.name,
                        thins.len()
                    );
                    self.plan.questions.push((name.to_string(), q));
                    for t in &thins {
                        self.visit(t);
                    }
                }
            }
            let is_spare = pmspare(vg).is_some_and(|s| s.name == name);
            let pool_left = vg
                .lvs
                .iter()
                .any(|lv| thin_pool_seg(lv).is_some() && !self.plan.order.contains(&lv.name));
            if is_spare && pool_left {
                let q = format!(
                    "Removal of pool metadata spare logical volume {}/{name} disables automatic recovery attempts after damage to a thin or cache pool. Proceed?",
                    vg.name
                );
                self.plan.questions.push((name.to_string(), q));
            }
            self.ask_if_active(name, "", "");
            self.plan.order.push(name.to_string());
        }
    }
    let mut walk = Walk {
        vg,
        active,
        issue_discards,
        plan: RemovalPlan {
            order: Vec::new(),
            questions: Vec::new(),
        },
        inactive: Vec::new(),
    };
    for name in &list {
        walk.visit(name);
    }
    walk.plan
}

/// Hidden LVs that `name` is built on, recursively.
pub fn sub_lvs(vg: &VolumeGroup, name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        let Some(lv) = vg.lv(&n) else { continue };
        for seg in &lv.segments {
            let mut names: Vec<&str> = seg
                .areas()
                .iter()
                .filter_map(|a| match a {
                    Area::Lv { name, .. } => Some(name.as_str()),
                    Area::Pv { .. } => None,
                })
                .collect();
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
                _ => {}
            }
            for sub in names {
                let hidden = vg.lv(sub).is_some_and(|l| !l.has_status("VISIBLE"));
                if hidden && !out.iter().any(|o| o == sub) {
                    out.push(sub.to_string());
                    todo.push(sub.to_string());
                }
            }
        }
    }
    out
}

/// Renames an LV and every reference to it (snapshot origin/cow, thin pool, thin origin, a
/// pool's `_tdata`/`_tmeta` sub-LVs follow the pool's new name).
pub fn rename_lv(vg: &mut VolumeGroup, old: &str, new: &str) {
    let mut renames = vec![(old.to_string(), new.to_string())];
    if let Some(p) = vg.lv(old).and_then(thin_pool_seg) {
        for (sub, suffix) in [(&p.pool, "_tdata"), (&p.metadata, "_tmeta")] {
            if sub.starts_with(old) && sub[old.len()..].starts_with(suffix) {
                renames.push((sub.clone(), format!("{new}{}", &sub[old.len()..])));
            }
        }
    }
    // RAID images and metadata, mirror legs and log are named after their LV, as LVM2's
    // lv_rename_update keeps them.
    for sub in sub_lvs(vg, old) {
        let rest = &sub[old.len().min(sub.len())..];
        if sub.starts_with(old)
            && ["_rimage_", "_rmeta_", "_mimage_", "_mlog"]
                .iter()
                .any(|sfx| rest.starts_with(sfx))
        {
            renames.push((sub.clone(), format!("{new}{rest}")));
        }
    }
    for (from, to) in &renames {
        let swap = |s: &mut String| {
            if s == from {
                *s = to.clone();
            }
        };
        for lv in &mut vg.lvs {
            if lv.name == *from {
                lv.name = to.clone();
            }
            for seg in &mut lv.segments {
                match &mut seg.kind {
                    SegmentKind::Snapshot(s) => {
                        swap(&mut s.origin);
                        swap(&mut s.cow);
                    }
                    SegmentKind::ThinPool(p) => {
                        swap(&mut p.pool);
                        swap(&mut p.metadata);
                    }
                    SegmentKind::Thin(t) => {
                        swap(&mut t.thin_pool);
                        if let Some(o) = t.origin.as_mut() {
                            swap(o);
                        }
                    }
                    SegmentKind::Striped(st) => {
                        for a in &mut st.stripes {
                            if let Area::Lv { name, .. } = a {
                                swap(name);
                            }
                        }
                    }
                    SegmentKind::Mirror(m) => {
                        for a in &mut m.mirrors {
                            if let Area::Lv { name, .. } = a {
                                swap(name);
                            }
                        }
                        if let Some(log) = m.mirror_log.as_mut() {
                            swap(log);
                        }
                    }
                    SegmentKind::Raid(r) => {
                        for image in &mut r.images {
                            swap(&mut image.data);
                            if let Some(meta) = image.meta.as_mut() {
                                swap(meta);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vg_with(names: &[&str]) -> VolumeGroup {
        let mut vg = VolumeGroup::new("vg", Id::parse(&"a".repeat(32)).unwrap(), 8192);
        for (i, n) in names.iter().enumerate() {
            let id = Id::parse(&format!("{:0>32}", i)).unwrap();
            vg.lvs.push(LogicalVolume::new(n, id));
        }
        vg
    }

    /// LVM2's guest VG: linear (origin of snap), striped, pool with thin1 and thinsnap, r1,
    /// a pool spare.
    fn vgdemo() -> VolumeGroup {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        metadata_format::text::parse_metadata(text.as_bytes())
            .unwrap()
            .vg
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn removal_order_and_questions_follow_lvm2s_walk() {
        let vg = vgdemo();
        let visible: Vec<String> = vg
            .lvs
            .iter()
            .filter(|lv| vg.is_lv_visible(lv))
            .map(|lv| lv.name.clone())
            .collect();
        // Nothing active: only the pool with thin LVs asks.
        let plan = removal_plan(&vg, &visible, &|_| false);
        assert_eq!(
            plan.order,
            names(&["thin1", "thinsnap", "pool", "snap", "linear", "striped", "r1"])
        );
        assert_eq!(
            plan.questions,
            vec![(
                "pool".to_string(),
                "Removing pool vgdemo/pool will remove 2 dependent volume(s). Proceed?".to_string()
            )]
        );
        // Everything active: the origin is asked once, with its snapshot count, and its
        // snapshot not at all (taking the origin down takes it down); each thin LV before
        // its pool.
        let plan = removal_plan(&vg, &names(&["linear", "pool"]), &|_| true);
        let asked: Vec<&str> = plan.questions.iter().map(|(_, q)| q.as_str()).collect();
        assert_eq!(
            asked,
            [
                "Removing pool vgdemo/pool will remove 2 dependent volume(s). Proceed?",
                "Do you really want to remove active logical volume vgdemo/thin1?",
                "Do you really want to remove active logical volume vgdemo/thinsnap?",
                "Do you really want to remove active logical volume vgdemo/pool?",
                "Do you really want to remove active origin logical volume vgdemo/linear with 1 snapshots(s)?",
            ]
        );
        assert_eq!(
            plan.order,
            names(&["thin1", "thinsnap", "pool", "snap", "linear"])
        );
        // The spare is asked about while a pool remains, not after its pool went first.
        let plan = removal_plan(&vg, &names(&["lvol0_pmspare"]), &|_| false);
        assert_eq!(plan.questions.len(), 1);
        assert!(plan.questions[0]
            .1
            .starts_with("Removal of pool metadata spare logical volume vgdemo/lvol0_pmspare"));
        let plan = removal_plan(&vg, &names(&["lvol0_pmspare", "pool"]), &|_| false);
        assert_eq!(
            plan.order,
            names(&["thin1", "thinsnap", "pool", "lvol0_pmspare"])
        );
        assert_eq!(plan.questions.len(), 1, "{:?}", plan.questions);
        // devices/issue_discards: every LV with extents is asked about, inactive or not
        // ("and DISCARD"), thin volumes only when active; the origin once more after its
        // snapshot went, as LVM2 checks it again when removing it.
        let plan = removal_plan_with(&vg, &names(&["linear", "pool"]), &|_| true, true);
        let asked: Vec<&str> = plan.questions.iter().map(|(_, q)| q.as_str()).collect();
        assert_eq!(
            asked,
            [
                "Removing pool vgdemo/pool will remove 2 dependent volume(s). Proceed?",
                "Do you really want to remove active logical volume vgdemo/thin1?",
                "Do you really want to remove active logical volume vgdemo/thinsnap?",
                "Do you really want to remove and DISCARD active logical volume vgdemo/pool?",
                "Do you really want to remove and DISCARD active origin logical volume vgdemo/linear with 1 snapshots(s)?",
                "Do you really want to remove and DISCARD logical volume vgdemo/snap?",
                "Do you really want to remove and DISCARD logical volume vgdemo/linear?",
            ]
        );
        let plan = removal_plan_with(&vg, &names(&["striped", "thin1"]), &|_| false, true);
        let asked: Vec<&str> = plan.questions.iter().map(|(_, q)| q.as_str()).collect();
        assert_eq!(
            asked,
            ["Do you really want to remove and DISCARD logical volume vgdemo/striped?"]
        );
    }

    #[test]
    fn generated_names_follow_the_highest_number() {
        assert_eq!(generate_lv_name(&vg_with(&[]), "lvol"), "lvol0");
        assert_eq!(
            generate_lv_name(&vg_with(&["lvol0", "lvol3", "x"]), "lvol"),
            "lvol4"
        );
        // sscanf's %d stops at the first non-digit: lvol0_pmspare counts as 0.
        assert_eq!(
            generate_lv_name(&vg_with(&["lvol0_pmspare"]), "lvol"),
            "lvol1"
        );
        assert_eq!(
            generate_lv_name(&vg_with(&["snapshot1"]), "snapshot"),
            "snapshot2"
        );
    }

    #[test]
    fn extents_arguments() {
        let e = parse_extents("+100%FREE").unwrap();
        assert_eq!(
            (e.sign, e.value, e.percent),
            (Sign::Plus, 100, Percent::Free)
        );
        assert_eq!(parse_extents("50%vg").unwrap().percent, Percent::Vg);
        assert_eq!(parse_extents("12").unwrap().percent, Percent::None);
        assert!(parse_extents("101%FREE").is_err());
        assert!(parse_extents("150%ORIGIN").is_ok());
        assert!(parse_extents("x").is_err());
        assert!(parse_extents("10%XYZ").is_err());
    }

    #[test]
    fn lv_arguments() {
        assert_eq!(
            split_lv_arg("vg0/lv", None).unwrap(),
            ("vg0".to_string(), "lv".to_string())
        );
        assert_eq!(
            split_lv_arg("/dev/vg0/lv", None).unwrap(),
            ("vg0".to_string(), "lv".to_string())
        );
        assert_eq!(split_lv_arg("lv", Some("v")).unwrap().0, "v");
        assert!(split_lv_arg("lv", None).is_err());
        assert!(split_lv_arg("a/b/c", None).is_err());
    }

    #[test]
    fn thin_pool_sizes_as_lvm2() {
        // The guest fixture: 128 MiB pool, 4 MiB extents -> 64 KiB chunks, one metadata extent.
        assert_eq!(thin_pool_sizes(32, 8192, None, None).unwrap(), (128, 1));
        // 1 MiB extents: the 2 MiB minimum is two extents.
        assert_eq!(thin_pool_sizes(16, 2048, None, None).unwrap(), (128, 2));
        assert!(thin_pool_sizes(1, 64, Some(128 * 1024), None).is_err());
    }

    #[test]
    fn thin_bookkeeping_as_the_guest_fixture() {
        // LVM2 with dm: thin1 gets device 1 at transaction 0, thinsnap device 2 at 1, and the
        // pool ends at 2; a removal (a delete message) moves it on once more.
        let mut vg = vg_with(&[]);
        let mut pool = LogicalVolume::new("pool", Id::parse(&"p".repeat(32)).unwrap());
        pool.segments.push(Segment::new(
            0,
            32,
            SegmentKind::ThinPool(Box::new(ThinPool {
                metadata: "pool_tmeta".into(),
                pool: "pool_tdata".into(),
                transaction_id: 0,
                chunk_size: 128,
                discards: Some("passdown".into()),
                zero_new_blocks: true,
                crop_metadata: None,
                messages: Vec::new(),
            })),
        ));
        vg.lvs.push(pool);
        let id = |c: char| Id::parse(&c.to_string().repeat(32)).unwrap();
        add_thin(&mut vg, "pool", "thin1", 64, None, id('t'), 1, "h").unwrap();
        add_thin(
            &mut vg,
            "pool",
            "thinsnap",
            64,
            Some("thin1"),
            id('s'),
            1,
            "h",
        )
        .unwrap();
        let t1 = thin_seg(vg.lv("thin1").unwrap()).unwrap();
        assert_eq!((t1.transaction_id, t1.device_id), (0, 1));
        let ts = thin_seg(vg.lv("thinsnap").unwrap()).unwrap();
        assert_eq!(
            (ts.transaction_id, ts.device_id, ts.origin.as_deref()),
            (1, 2, Some("thin1"))
        );
        assert_eq!(
            thin_pool_seg(vg.lv("pool").unwrap())
                .unwrap()
                .transaction_id,
            2
        );
        remove_lv(&mut vg, "thin1");
        assert_eq!(
            thin_pool_seg(vg.lv("pool").unwrap())
                .unwrap()
                .transaction_id,
            3
        );
        assert_eq!(thin_seg(vg.lv("thinsnap").unwrap()).unwrap().origin, None);
        assert_eq!(next_device_id(&vg, "pool"), 3);
    }

    #[test]
    fn renaming_a_pool_renames_its_sub_lvs() {
        let mut vg = vg_with(&["pool_tdata", "pool_tmeta"]);
        let mut pool = LogicalVolume::new("pool", Id::parse(&"p".repeat(32)).unwrap());
        pool.segments.push(Segment::new(
            0,
            1,
            SegmentKind::ThinPool(Box::new(ThinPool {
                metadata: "pool_tmeta".into(),
                pool: "pool_tdata".into(),
                transaction_id: 0,
                chunk_size: 128,
                discards: None,
                zero_new_blocks: true,
                crop_metadata: None,
                messages: Vec::new(),
            })),
        ));
        vg.lvs.push(pool);
        rename_lv(&mut vg, "pool", "tank");
        let p = thin_pool_seg(vg.lv("tank").unwrap()).unwrap();
        assert_eq!(
            (p.pool.as_str(), p.metadata.as_str()),
            ("tank_tdata", "tank_tmeta")
        );
        assert!(vg.lv("tank_tdata").is_some() && vg.lv("tank_tmeta").is_some());
        assert!(vg.dangling_references().is_empty());
    }

    #[test]
    fn display_sizes() {
        assert_eq!(display_size(8192), "4.00 MiB");
        assert_eq!(display_size(128), "64.00 KiB");
    }

    #[test]
    fn size_parse_reexport() {
        use crate::units::parse_size;
        assert_eq!(parse_size("4m", 2048).unwrap().sectors, 8192);
    }
}
