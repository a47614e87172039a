//! Pure planning for pvmove as LVM2 2.03 records it: the temporary `pvmoveN` LV (a `mirror`
//! segment per moved run, source first, destination second, `extents_moved` as progress), the
//! moved LVs pointing at it and flagged LOCKED, and the final map once every segment is copied
//! (or, on abort, with copied segments on the destination and the rest on the source).

use super::lv_plan::{generate_lv_name, new_lv, snapshot_of_cow, sub_lvs};
use super::lv_raid::{adjusted_region_size, set_status, DEFAULT_REGION_SECTORS};
use crate::alloc::{self, ParallelArea, Policy, PvSource, Request};
use metadata_format::text::{
    AllocationPolicy, Area, Id, LogicalVolume, Mirror, Segment, SegmentKind, VolumeGroup,
};

/// What to move.
#[derive(Debug, Clone)]
pub struct MoveRequest {
    /// The source PV (index into `vg.pvs`) and its inclusive PE ranges (empty: all of it).
    pub source: usize,
    pub source_ranges: Vec<(u32, u32)>,
    /// `-n`: only this LV (and its sub-LVs).
    pub lv: Option<String>,
    /// Where the extents may go (the source already left out).
    pub dests: Vec<PvSource>,
    pub policy: Policy,
}

/// The planned first write of a pvmove.
#[derive(Debug)]
pub struct Started {
    pub vg: VolumeGroup,
    /// The temporary LV's name (`pvmove0`).
    pub pvmove: String,
    /// LVs whose extents move (bottom-level LVs now pointing at the pvmove LV).
    pub moving: Vec<String>,
    /// Lines LVM2 prints for LVs it leaves alone ("Skipping locked LV ...").
    pub notes: Vec<String>,
}

/// Whether the LV is the temporary LV of a pvmove.
pub fn is_pvmove_lv(lv: &LogicalVolume) -> bool {
    lv.has_status("PVMOVE")
}

/// Names of the pvmove LVs of the VG, in VG order.
pub fn moves_in_progress(vg: &VolumeGroup) -> Vec<String> {
    vg.lvs
        .iter()
        .filter(|l| is_pvmove_lv(l))
        .map(|l| l.name.clone())
        .collect()
}

/// The source PV of a pvmove LV (the first area of its first segment), if it is the
/// segment-by-segment kind this module writes and resumes.
pub fn pvmove_source(vg: &VolumeGroup, pvmove: &str) -> Option<Id> {
    match vg.lv(pvmove)?.segments.first().map(|s| &s.kind)? {
        SegmentKind::Mirror(m) => match m.mirrors.first()? {
            Area::Pv { pv, .. } => Some(*pv),
            Area::Lv { .. } => None,
        },
        _ => None,
    }
}

/// One run still to copy: `extents` extents from the source PE to the destination PE, and the
/// pvmove segment it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyStep {
    pub segment: usize,
    pub source: (Id, u32),
    pub dest: (Id, u32),
    pub extents: u32,
}

/// What remains to copy for a pvmove LV, segment by segment, from each one's `extents_moved`.
pub fn copy_steps(vg: &VolumeGroup, pvmove: &str) -> Result<Vec<CopyStep>, String> {
    let lv = vg
        .lv(pvmove)
        .ok_or_else(|| format!("pvmove LV {pvmove} not found"))?;
    let mut out = Vec::new();
    for (i, seg) in lv.segments.iter().enumerate() {
        let SegmentKind::Mirror(m) = &seg.kind else {
            // A segment already collapsed (LVM2 writes an error segment last) moves nothing.
            continue;
        };
        let (
            Some(Area::Pv {
                pv: spv,
                start: spe,
            }),
            Some(Area::Pv {
                pv: dpv,
                start: dpe,
            }),
        ) = (m.mirrors.first(), m.mirrors.get(1))
        else {
            return Err(format!(
                "{}/{pvmove} was started with --atomic (its legs are LVs); finish or abort it with LVM2's pvmove.",
                vg.name
            ));
        };
        let done = m.extents_moved.unwrap_or(0).min(seg.extent_count);
        if done < seg.extent_count {
            out.push(CopyStep {
                segment: i,
                source: (*spv, spe + done),
                dest: (*dpv, dpe + done),
                extents: seg.extent_count - done,
            });
        }
    }
    Ok(out)
}

/// The segment of a pvmove LV the kernel copies now: the first mirror segment not yet
/// copied (LVM2 runs one at a time).
pub fn running_segment(vg: &VolumeGroup, pvmove: &str) -> Option<usize> {
    vg.lv(pvmove)?.segments.iter().position(|s| match &s.kind {
        SegmentKind::Mirror(m) => {
            m.mirrors.len() > 1 && m.extents_moved.unwrap_or(0) < s.extent_count
        }
        _ => false,
    })
}

/// Extents of a pvmove LV and how many are already copied.
pub fn progress(vg: &VolumeGroup, pvmove: &str) -> (u64, u64) {
    let Some(lv) = vg.lv(pvmove) else {
        return (0, 0);
    };
    let total = lv.extent_count();
    let done = lv
        .segments
        .iter()
        .map(|s| match &s.kind {
            SegmentKind::Mirror(m) => u64::from(m.extents_moved.unwrap_or(0).min(s.extent_count)),
            _ => u64::from(s.extent_count),
        })
        .sum();
    (total, done)
}

/// Records that segment `segment` of the pvmove LV is copied up to `moved` extents.
pub fn mark_moved(vg: &mut VolumeGroup, pvmove: &str, segment: usize, moved: u32) {
    if let Some(Segment {
        kind: SegmentKind::Mirror(m),
        ..
    }) = vg.lv_mut(pvmove).and_then(|l| l.segments.get_mut(segment))
    {
        m.extents_moved = Some(moved);
    }
}

/// Splits `lv`'s segment containing logical extent `le` so that a segment starts there (a
/// no-op on a boundary). Striped and mirror segments of PV or LV areas only.
fn split_at(lv: &mut LogicalVolume, le: u32) -> bool {
    let Some(i) = lv
        .segments
        .iter()
        .position(|s| s.start_extent < le && u64::from(le) < s.end_extent())
    else {
        return false;
    };
    let seg = &lv.segments[i];
    let offset = le - seg.start_extent;
    let per_area = match &seg.kind {
        SegmentKind::Striped(s) => {
            let n = u32::try_from(s.stripes.len().max(1)).unwrap_or(1);
            if !offset.is_multiple_of(n) {
                return false;
            }
            offset / n
        }
        SegmentKind::Mirror(_) => offset,
        _ => return false,
    };
    let mut tail = seg.clone();
    tail.start_extent = le;
    tail.extent_count = seg.extent_count - offset;
    let advance = |areas: &mut Vec<Area>| {
        for a in areas {
            match a {
                Area::Pv { start, .. } | Area::Lv { start, .. } => *start += per_area,
            }
        }
    };
    match &mut tail.kind {
        SegmentKind::Striped(s) => advance(&mut s.stripes),
        SegmentKind::Mirror(m) => {
            advance(&mut m.mirrors);
            if let Some(moved) = m.extents_moved.as_mut() {
                *moved = moved.saturating_sub(per_area);
            }
        }
        _ => {}
    }
    if let SegmentKind::Mirror(m) = &mut lv.segments[i].kind {
        if let Some(moved) = m.extents_moved.as_mut() {
            *moved = (*moved).min(per_area);
        }
    }
    lv.segments[i].extent_count = offset;
    lv.segments.insert(i + 1, tail);
    true
}

/// Splits `lv`'s segments where an area on `pv` starts or stops being inside `ranges`
/// (LVM2's _align_segment_boundary_to_pe_range).
fn align_to_ranges(lv: &mut LogicalVolume, pv: &Id, ranges: &[(u32, u32)]) {
    if ranges.is_empty() {
        return;
    }
    loop {
        let mut cut = None;
        'segs: for seg in &lv.segments {
            let SegmentKind::Striped(st) = &seg.kind else {
                continue;
            };
            let n = u32::try_from(st.stripes.len().max(1)).unwrap_or(1);
            let len = alloc::area_len(seg);
            for a in &st.stripes {
                let Area::Pv { pv: apv, start } = a else {
                    continue;
                };
                if apv != pv || len == 0 {
                    continue;
                }
                let (pe_start, pe_end) = (*start, start + len - 1);
                for &(rs, re) in ranges {
                    if pe_end < rs || pe_start > re {
                        continue;
                    }
                    if rs > pe_start {
                        cut = Some(seg.start_extent + (rs - pe_start) * n);
                        break 'segs;
                    }
                    if re < pe_end {
                        cut = Some(seg.start_extent + (re - pe_start + 1) * n);
                        break 'segs;
                    }
                }
            }
        }
        match cut {
            Some(le) if split_at(lv, le) => {}
            _ => return,
        }
    }
}

/// Whether an area starting at `pe` on the source lies in the ranges (empty: anywhere).
fn in_ranges(pe: u32, ranges: &[(u32, u32)]) -> bool {
    ranges.is_empty() || ranges.iter().any(|&(s, e)| pe >= s && pe <= e)
}

/// PVs an LV and all its sub-LVs use (LVM2's get_pv_list_for_lv).
fn pvs_of(vg: &VolumeGroup, name: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for n in std::iter::once(name.to_string()).chain(sub_lvs(vg, name)) {
        let Some(lv) = vg.lv(&n) else { continue };
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
    }
    out
}

/// Whether the LV (or a sub-LV of it) has an extent on the PV within `ranges`.
fn is_on_pv(vg: &VolumeGroup, name: &str, pv: &Id, ranges: &[(u32, u32)]) -> bool {
    std::iter::once(name.to_string())
        .chain(sub_lvs(vg, name))
        .filter_map(|n| vg.lv(&n))
        .flat_map(|l| l.segments.iter())
        .any(|seg| {
            let len = alloc::area_len(seg);
            seg.areas().iter().any(|a| match a {
                Area::Pv { pv: p, start } => {
                    p == pv
                        && (ranges.is_empty()
                            || ranges
                                .iter()
                                .any(|&(s, e)| !(start + len.max(1) - 1 < s || *start > e)))
                }
                Area::Lv { .. } => false,
            })
        })
}

/// The top-level LV an LV belongs to (itself when nothing uses it).
pub fn top_level(vg: &VolumeGroup, name: &str) -> String {
    let mut current = name.to_string();
    for _ in 0..16 {
        let parent = vg
            .lvs
            .iter()
            .find(|l| l.name != current && sub_lvs_direct(l).contains(&current));
        match parent {
            Some(p) => current = p.name.clone(),
            None => break,
        }
    }
    current
}

/// Names an LV's segments refer to directly.
fn sub_lvs_direct(lv: &LogicalVolume) -> Vec<String> {
    let mut out = Vec::new();
    for seg in &lv.segments {
        for a in seg.areas() {
            if let Area::Lv { name, .. } = a {
                out.push(name.clone());
            }
        }
        match &seg.kind {
            SegmentKind::Mirror(m) => out.extend(m.mirror_log.clone()),
            SegmentKind::Raid(r) => {
                for i in &r.images {
                    out.push(i.data.clone());
                    out.extend(i.meta.clone());
                }
            }
            SegmentKind::ThinPool(p) => {
                out.push(p.pool.clone());
                out.push(p.metadata.clone());
            }
            SegmentKind::Snapshot(s) => out.push(s.cow.clone()),
            _ => {}
        }
    }
    out
}

/// Whether `lv` is `top` or built into it.
fn is_part_of(vg: &VolumeGroup, lv: &str, top: &str) -> bool {
    lv == top || sub_lvs(vg, top).iter().any(|s| s == lv)
}

/// Segment types whose LVs hold no PV extents themselves (only their sub-LVs do).
fn is_stacked(lv: &LogicalVolume) -> bool {
    matches!(
        lv.segments.first().map(|s| &s.kind),
        Some(
            SegmentKind::Mirror(_)
                | SegmentKind::Raid(_)
                | SegmentKind::Snapshot(_)
                | SegmentKind::Thin(_)
                | SegmentKind::ThinPool(_)
                | SegmentKind::Cache(_)
                | SegmentKind::CachePool(_)
        )
    )
}

/// Whether the LV is merging (a COW whose snapshot merges, or its origin).
fn is_merging(vg: &VolumeGroup, name: &str) -> bool {
    snapshot_of_cow(vg, name).is_some_and(|s| {
        matches!(s.segments.first().map(|x| &x.kind), Some(SegmentKind::Snapshot(sn)) if sn.merging)
    }) || vg.lvs.iter().any(|l| {
        matches!(l.segments.first().map(|x| &x.kind), Some(SegmentKind::Snapshot(sn)) if sn.merging && sn.origin == name)
    })
}

/// Builds the first write of a pvmove as LVM2's _set_up_pvmove_lv does.
pub fn start(
    vg: &VolumeGroup,
    req: &MoveRequest,
    id: Id,
    now: u64,
    host: &str,
) -> Result<Started, String> {
    let mut vg = vg.clone();
    let source_id = vg
        .pvs
        .get(req.source)
        .map(|p| p.id)
        .ok_or_else(|| "source PV not in the VG".to_string())?;
    let ranges = req.source_ranges.clone();
    let pvmove = generate_lv_name(&vg, "pvmove");
    let top_wanted = req.lv.as_ref().map(|n| top_level(&vg, n));
    // First: mirrored and RAID LVs on the source keep their legs apart, so the PVs they use
    // are no destination (a named sub-LV's sibling excepted, to keep image and metadata
    // together).
    let mut dests = req.dests.clone();
    for lv in &vg.lvs {
        if let Some(t) = &top_wanted {
            if lv.name != *t {
                continue;
            }
        }
        if !is_on_pv(&vg, &lv.name, &source_id, &ranges) {
            continue;
        }
        if is_merging(&vg, &lv.name) {
            return Err(format!(
                "Unable to pvmove when merging volume {}/{} is present.",
                vg.name, lv.name
            ));
        }
        if matches!(
            lv.segments.first().map(|s| &s.kind),
            Some(SegmentKind::Raid(_) | SegmentKind::Mirror(_))
        ) {
            let mut trim = pvs_of(&vg, &lv.name);
            if let Some(n) = req.lv.as_ref().filter(|n| **n != lv.name) {
                let sibling = if let Some(i) = n.find("_rimage_") {
                    Some(format!("{}_rmeta_{}", &n[..i], &n[i + 8..]))
                } else {
                    n.find("_rmeta_")
                        .map(|i| format!("{}_rimage_{}", &n[..i], &n[i + 7..]))
                };
                if let Some(s) = sibling {
                    let keep = pvs_of(&vg, &s);
                    trim.retain(|p| !keep.contains(p));
                }
            }
            if req.policy != Policy::Anywhere {
                dests.retain(|d| !trim.contains(&d.pv));
            }
        }
    }
    // Second: bottom-level LVs' areas on the source become segments of the pvmove LV.
    let mut layer = new_lv(&pvmove, id, now, host);
    layer.status = metadata_format::text::Words::read_write();
    set_status(&mut layer, "PVMOVE");
    set_status(&mut layer, "LOCKED");
    layer.rare.allocation_policy = Some(AllocationPolicy::Contiguous);
    let mut moving: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    let mut skipped = false;
    let mut found_named = false;
    let names: Vec<String> = vg.lvs.iter().map(|l| l.name.clone()).collect();
    for name in names {
        if let Some(n) = &req.lv {
            if !is_part_of(&vg, &name, n) {
                continue;
            }
            found_named = true;
        }
        let Some(lv) = vg.lv(&name) else { continue };
        if is_stacked(lv) || is_pvmove_lv(lv) {
            continue;
        }
        if !is_on_pv(&vg, &name, &source_id, &ranges) {
            continue;
        }
        if lv.has_status("LOCKED") {
            skipped = true;
            notes.push(format!("Skipping locked LV {}/{name}.", vg.name));
            continue;
        }
        let Some(lv) = vg.lv_mut(&name) else { continue };
        align_to_ranges(lv, &source_id, &ranges);
        let mut used = false;
        for seg in &mut lv.segments {
            let len = alloc::area_len(seg);
            let SegmentKind::Striped(st) = &mut seg.kind else {
                continue;
            };
            for a in &mut st.stripes {
                let Area::Pv { pv, start } = *a else { continue };
                if pv != source_id || !in_ranges(start, &ranges) {
                    continue;
                }
                let le = u32::try_from(layer.extent_count()).unwrap_or(u32::MAX);
                layer.segments.push(Segment::linear(le, len, pv, start));
                *a = Area::Lv {
                    name: pvmove.clone(),
                    start: le,
                };
                used = true;
            }
        }
        if used {
            set_status(lv, "LOCKED");
            moving.push(name);
        }
    }
    if let Some(n) = &req.lv {
        if !found_named {
            return Err(format!("Logical volume {n} not found."));
        }
    }
    if layer.segments.is_empty() {
        let mut msg = String::new();
        if skipped {
            msg.push_str("All data on source PV skipped. It contains locked, hidden or non-top level LVs only. ");
        }
        msg.push_str(&format!("No data to move for {}.", vg.name));
        return Err(msg);
    }
    if dests.is_empty() {
        return Err("No extents available for allocation.".to_string());
    }
    // The destination: one area per segment, avoiding the PVs the parent segment already
    // uses (its other stripes), as LVM2's parallel areas from the pvmove parent LV.
    let parallel: Vec<ParallelArea> = layer
        .segments
        .iter()
        .map(|seg| {
            let mut pvs = vec![req.source];
            for lv in &vg.lvs {
                for pseg in &lv.segments {
                    let refers = pseg.areas().iter().any(|a| {
                        matches!(a, Area::Lv { name, start } if *name == pvmove && *start == seg.start_extent)
                    });
                    if !refers {
                        continue;
                    }
                    for a in pseg.areas() {
                        if let Area::Pv { pv, .. } = a {
                            if let Some(i) = vg.pv_index(pv) {
                                if !pvs.contains(&i) {
                                    pvs.push(i);
                                }
                            }
                        }
                    }
                }
            }
            ParallelArea {
                le: seg.start_extent,
                len: seg.extent_count,
                pvs,
            }
        })
        .collect();
    let total = u32::try_from(layer.extent_count()).unwrap_or(u32::MAX);
    let mut areq = Request::new(1, total, req.policy);
    areq.parallel = parallel;
    let got = alloc::allocate(&vg, None, &dests, &areq).map_err(|e| match e {
        alloc::AllocError::Insufficient { needed, free } => format!(
            "Insufficient free space: {needed} extents needed, but only {free} available on the destination PVs; add a PV (vgextend) or name other destinations."
        ),
        other => format!("Unable to allocate the destination of the move: {other}"),
    })?;
    let (region, _) = adjusted_region_size(vg.extent_size, total, DEFAULT_REGION_SECTORS);
    let ids = alloc::pv_ids(&vg);
    let mut le = 0u32;
    for chunk in &got.chunks {
        let Some(run) = chunk.first() else { continue };
        split_at(&mut layer, le + run.len);
        if let Some(seg) = layer.segments.iter_mut().find(|s| s.start_extent == le) {
            let source = seg.areas().first().cloned();
            if let Some(source) = source {
                seg.kind = SegmentKind::Mirror(Mirror {
                    extents_moved: Some(0),
                    mirror_log: None,
                    region_size: Some(region),
                    mirrors: vec![
                        source,
                        Area::Pv {
                            pv: ids[run.pv],
                            start: run.pe,
                        },
                    ],
                });
            }
        }
        le += run.len;
    }
    // Parent segments follow the pvmove LV's segment boundaries (LVM2's
    // split_parent_segments_for_layer).
    let bounds: Vec<u32> = layer.segments.iter().map(|s| s.start_extent).collect();
    for name in &moving {
        let Some(lv) = vg.lv_mut(name) else { continue };
        loop {
            let mut cut = None;
            for seg in &lv.segments {
                let n = u32::try_from(seg.areas().len().max(1)).unwrap_or(1);
                let len = alloc::area_len(seg);
                for a in seg.areas() {
                    if let Area::Lv { name, start } = a {
                        if *name != pvmove {
                            continue;
                        }
                        if let Some(b) = bounds.iter().find(|&&b| b > *start && b < start + len) {
                            cut = Some(seg.start_extent + (b - start) * n);
                        }
                    }
                }
                if cut.is_some() {
                    break;
                }
            }
            match cut {
                Some(at) if split_at(lv, at) => {}
                _ => break,
            }
        }
    }
    vg.lvs.push(layer);
    Ok(Started {
        vg,
        pvmove,
        moving,
        notes,
    })
}

/// Collapses a pvmove LV as LVM2's pvmove_finish: each moved LV's area on it is replaced by
/// the destination of a copied segment (or, when aborting, the source of one that is not
/// fully copied; a finished move has every segment copied), the LVs are unlocked and their
/// segments merged, and the pvmove LV goes. Returns the LVs changed.
pub fn finish(vg: &mut VolumeGroup, pvmove: &str, abort: bool) -> Result<Vec<String>, String> {
    let layer = vg
        .lv(pvmove)
        .ok_or_else(|| format!("pvmove LV {pvmove} not found"))?
        .clone();
    let target = |le: u32| -> Option<Area> {
        let seg = layer
            .segments
            .iter()
            .find(|s| s.start_extent <= le && u64::from(le) < s.end_extent())?;
        let offset = le - seg.start_extent;
        let pick = match &seg.kind {
            SegmentKind::Mirror(m) => {
                let copied = m.extents_moved.unwrap_or(0) >= seg.extent_count;
                let i = usize::from(copied || (!abort && m.mirrors.len() > 1));
                m.mirrors
                    .get(i.min(m.mirrors.len().saturating_sub(1)))?
                    .clone()
            }
            SegmentKind::Striped(s) => s.stripes.first()?.clone(),
            _ => return None,
        };
        Some(match pick {
            Area::Pv { pv, start } => Area::Pv {
                pv,
                start: start + offset,
            },
            Area::Lv { name, start } => Area::Lv {
                name,
                start: start + offset,
            },
        })
    };
    let mut changed = Vec::new();
    for lv in &mut vg.lvs {
        if lv.name == pvmove {
            continue;
        }
        let mut touched = false;
        for seg in &mut lv.segments {
            let areas = match &mut seg.kind {
                SegmentKind::Striped(s) => &mut s.stripes,
                SegmentKind::Mirror(m) => &mut m.mirrors,
                _ => continue,
            };
            for a in areas.iter_mut() {
                if let Area::Lv { name, start } = a {
                    if name == pvmove {
                        *a = target(*start)
                            .ok_or_else(|| format!("{pvmove} has no segment at extent {start}"))?;
                        touched = true;
                    }
                }
            }
        }
        if touched {
            lv.status.retain(|s| s != "LOCKED");
            alloc::merge_segments(lv);
            changed.push(lv.name.clone());
        }
    }
    vg.lvs.retain(|l| l.name != pvmove);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    //! Expected maps come from real LVM2 2.03.16: the host fixture
    //! `vgvar_pvmove_in_progress.vg` and a guest run (pvmove of three LVs, one striped, on 1 MiB
    //! extents, every metadata version kept in the ring).
    use super::*;
    use metadata_format::text::{parse_metadata, PhysicalVolume};

    fn id(n: usize) -> Id {
        Id::parse(&format!("{n:0>32}")).unwrap()
    }

    fn vg(pe_counts: &[u32]) -> VolumeGroup {
        let mut vg = VolumeGroup::new("vg", id(999), 2048);
        for (i, &c) in pe_counts.iter().enumerate() {
            vg.pvs
                .push(PhysicalVolume::new(id(i), "/dev/x", 0, 2048, c));
        }
        vg
    }

    fn lv(name: &str, n: usize, segs: Vec<Segment>) -> LogicalVolume {
        let mut l = LogicalVolume::new(name, id(100 + n));
        l.segments = segs;
        l
    }

    fn mirror_areas(vg: &VolumeGroup, seg: &Segment) -> (u32, u32, Vec<(usize, u32)>) {
        let SegmentKind::Mirror(m) = &seg.kind else {
            panic!("not a mirror")
        };
        let areas = m
            .mirrors
            .iter()
            .map(|a| match a {
                Area::Pv { pv, start } => (vg.pv_index(pv).unwrap(), *start),
                Area::Lv { .. } => panic!(),
            })
            .collect();
        (seg.start_extent, seg.extent_count, areas)
    }

    #[test]
    fn the_guest_pvmove_of_three_lvs() {
        // a: pv0 0-2 and pv0 5-6; b: pv0 3-4; s: striped over pv0 7-8 and pv1 0-1.
        let mut g = vg(&[63, 63, 63, 63]);
        g.lvs.push(lv(
            "a",
            0,
            vec![
                Segment::linear(0, 3, id(0), 0),
                Segment::linear(3, 2, id(0), 5),
            ],
        ));
        g.lvs
            .push(lv("b", 1, vec![Segment::linear(0, 2, id(0), 3)]));
        g.lvs.push(lv(
            "s",
            2,
            vec![Segment::striped(
                0,
                4,
                128,
                vec![
                    Area::Pv {
                        pv: id(0),
                        start: 7,
                    },
                    Area::Pv {
                        pv: id(1),
                        start: 0,
                    },
                ],
            )],
        ));
        let req = MoveRequest {
            source: 0,
            source_ranges: vec![],
            lv: None,
            dests: vec![PvSource {
                pv: 2,
                ranges: vec![],
            }],
            policy: Policy::Normal,
        };
        let st = start(&g, &req, id(50), 0, "h").unwrap();
        assert_eq!(st.pvmove, "pvmove0");
        let pm = st.vg.lv("pvmove0").unwrap();
        assert_eq!(pm.status, vec!["READ", "WRITE", "PVMOVE", "LOCKED"]);
        assert_eq!(
            pm.rare.allocation_policy,
            Some(AllocationPolicy::Contiguous)
        );
        let segs: Vec<_> = pm
            .segments
            .iter()
            .map(|s| mirror_areas(&st.vg, s))
            .collect();
        assert_eq!(
            segs,
            vec![
                (0, 3, vec![(0, 0), (2, 0)]),
                (3, 2, vec![(0, 5), (2, 3)]),
                (5, 2, vec![(0, 3), (2, 5)]),
                (7, 2, vec![(0, 7), (2, 7)]),
            ]
        );
        let a = st.vg.lv("a").unwrap();
        assert_eq!(a.status, vec!["READ", "WRITE", "VISIBLE", "LOCKED"]);
        assert_eq!(
            a.segments[1].areas(),
            &[Area::Lv {
                name: "pvmove0".into(),
                start: 3
            }]
        );
        // Copy everything, then collapse: a becomes one segment on pv2.
        let mut done = st.vg.clone();
        for i in 0..4 {
            mark_moved(&mut done, "pvmove0", i, 3);
        }
        let changed = finish(&mut done, "pvmove0", false).unwrap();
        assert_eq!(changed, vec!["a", "b", "s"]);
        let a = done.lv("a").unwrap();
        assert_eq!(a.segments.len(), 1);
        assert_eq!(
            a.segments[0].areas(),
            &[Area::Pv {
                pv: id(2),
                start: 0
            }]
        );
        assert_eq!(
            done.lv("s").unwrap().segments[0].areas(),
            &[
                Area::Pv {
                    pv: id(2),
                    start: 7
                },
                Area::Pv {
                    pv: id(1),
                    start: 0
                }
            ]
        );
        assert!(done.lv("pvmove0").is_none());
        assert!(done.dangling_references().is_empty());
        // An abort after the first segment: a's first part moved, the rest stays.
        let mut aborted = st.vg.clone();
        mark_moved(&mut aborted, "pvmove0", 0, 3);
        finish(&mut aborted, "pvmove0", true).unwrap();
        let a = aborted.lv("a").unwrap();
        assert_eq!(
            a.segments
                .iter()
                .map(|s| s.areas()[0].clone())
                .collect::<Vec<_>>(),
            vec![
                Area::Pv {
                    pv: id(2),
                    start: 0
                },
                Area::Pv {
                    pv: id(0),
                    start: 5
                }
            ]
        );
        assert!(!a.has_status("LOCKED"));
    }

    /// The kernel tables of a move in progress, as LVM2 loads them: one tree with the pvmove
    /// LV under every moved LV; the first segment not yet copied is a core-log mirror from
    /// the source to the destination, copied ones map the destination, later ones the source.
    #[test]
    fn the_tables_of_a_move_in_progress() {
        use crate::dm::tables::{lvs_tree, DevNo, DevResolver, TableOptions};
        struct Devs(Vec<(String, DevNo)>);
        impl DevResolver for Devs {
            fn pv(&self, want: &Id) -> Option<DevNo> {
                let n = (0..4).find(|&n| id(n) == *want)?;
                Some(DevNo::new(252, u32::try_from(n * 16).ok()?))
            }
            fn dm(&self, uuid: &str) -> Option<DevNo> {
                let i = self.0.iter().position(|(u, _)| u == uuid)?;
                Some(self.0[i].1)
            }
        }
        let mut g = vg(&[63, 63, 63, 63]);
        g.lvs.push(lv(
            "a",
            0,
            vec![
                Segment::linear(0, 3, id(0), 0),
                Segment::linear(3, 2, id(0), 5),
            ],
        ));
        g.lvs
            .push(lv("b", 1, vec![Segment::linear(0, 2, id(0), 3)]));
        for l in &mut g.lvs {
            set_status(l, "VISIBLE");
        }
        let req = MoveRequest {
            source: 0,
            source_ranges: vec![],
            lv: None,
            dests: vec![PvSource {
                pv: 2,
                ranges: vec![],
            }],
            policy: Policy::Normal,
        };
        let st = start(&g, &req, id(50), 0, "h").unwrap();
        let tables = |vg: &VolumeGroup| -> Vec<(String, Vec<String>)> {
            let tree = lvs_tree(vg, &st.moving, &TableOptions::default()).unwrap();
            let devs = Devs(
                tree.nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.uuid.clone(), DevNo::new(254, u32::try_from(i).unwrap())))
                    .collect(),
            );
            tree.creation_order()
                .into_iter()
                .map(|i| {
                    let n = &tree.nodes[i];
                    let lines = tree
                        .table(n, &devs)
                        .unwrap()
                        .into_iter()
                        .map(|(s, l, t, p)| format!("{s} {l} {t} {p}"))
                        .collect();
                    (n.name.clone(), lines)
                })
                .collect()
        };
        // pvmove0 is 254:1 (a is 254:0); extents are 2048 sectors, PVs start at 2048.
        let expect = |pvmove: Vec<&str>| {
            vec![
                (
                    "vg-pvmove0".to_string(),
                    pvmove.into_iter().map(String::from).collect::<Vec<_>>(),
                ),
                (
                    "vg-a".to_string(),
                    vec![
                        "0 6144 linear 254:1 0".to_string(),
                        "6144 4096 linear 254:1 6144".to_string(),
                    ],
                ),
                (
                    "vg-b".to_string(),
                    vec!["0 4096 linear 254:1 10240".to_string()],
                ),
            ]
        };
        assert_eq!(
            tables(&st.vg),
            expect(vec![
                "0 6144 mirror core 1 4096 2 252:0 2048 252:32 2048",
                "6144 4096 linear 252:0 12288",
                "10240 4096 linear 252:0 8192",
            ])
        );
        let tree = lvs_tree(&st.vg, &st.moving, &TableOptions::default()).unwrap();
        let pm = tree.nodes.iter().find(|n| n.lv == "pvmove0").unwrap();
        assert!(!pm.symlink && !pm.read_only);
        let mut next = st.vg.clone();
        mark_moved(&mut next, "pvmove0", 0, 3);
        assert_eq!(
            tables(&next),
            expect(vec![
                "0 6144 linear 252:32 2048",
                "6144 4096 mirror core 1 4096 2 252:0 12288 252:32 8192",
                "10240 4096 linear 252:0 8192",
            ])
        );
        // The last segment runs once the others are copied.
        mark_moved(&mut next, "pvmove0", 1, 2);
        assert_eq!(
            tables(&next)[0].1[2],
            "10240 4096 mirror core 1 4096 2 252:0 8192 252:32 12288"
        );
    }

    #[test]
    fn the_host_fixture_is_read_as_a_move_in_progress() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/host/vgvar_pvmove_in_progress.vg"
        ))
        .unwrap();
        let md = parse_metadata(text.as_bytes()).unwrap();
        let vg = md.vg;
        assert_eq!(moves_in_progress(&vg), vec!["pvmove0"]);
        assert_eq!(pvmove_source(&vg, "pvmove0"), Some(vg.pvs[1].id));
        let steps = copy_steps(&vg, "pvmove0").unwrap();
        assert_eq!(
            steps,
            vec![CopyStep {
                segment: 0,
                source: (vg.pvs[1].id, 0),
                dest: (vg.pvs[0].id, 0),
                extents: 10
            }]
        );
        // LVM2 moved lvvar (10 extents on pv1 from 0) towards pv0 from 0: rebuild it.
        let mut g = vg.clone();
        finish(&mut g, "pvmove0", true).unwrap();
        assert_eq!(
            g.lv("lvvar").unwrap().segments[0].areas(),
            &[Area::Pv {
                pv: vg.pvs[1].id,
                start: 0
            }]
        );
        let mut planned = vg.clone();
        planned.lvs.retain(|l| l.name != "pvmove0");
        planned.lv_mut("lvvar").unwrap().segments[0] = Segment::linear(0, 10, vg.pvs[1].id, 0);
        planned
            .lv_mut("lvvar")
            .unwrap()
            .status
            .retain(|s| s != "LOCKED");
        let req = MoveRequest {
            source: 1,
            source_ranges: vec![],
            lv: None,
            dests: vec![PvSource {
                pv: 0,
                ranges: vec![],
            }],
            policy: Policy::Normal,
        };
        let id = vg.lv("pvmove0").unwrap().id;
        let st = start(&planned, &req, id, 0, "h").unwrap();
        let mut mine = st.vg.lv("pvmove0").unwrap().clone();
        let mut theirs = vg.lv("pvmove0").unwrap().clone();
        mine.creation_time = None;
        theirs.creation_time = None;
        mine.creation_host = None;
        theirs.creation_host = None;
        assert_eq!(mine, theirs);
        assert_eq!(st.vg.lv("lvvar").unwrap(), vg.lv("lvvar").unwrap());
    }

    #[test]
    fn pe_ranges_split_the_moved_lv() {
        let mut g = vg(&[20, 20]);
        g.lvs
            .push(lv("a", 0, vec![Segment::linear(0, 10, id(0), 0)]));
        let req = MoveRequest {
            source: 0,
            source_ranges: vec![(2, 4)],
            lv: None,
            dests: vec![PvSource {
                pv: 1,
                ranges: vec![],
            }],
            policy: Policy::Normal,
        };
        let st = start(&g, &req, id(50), 0, "h").unwrap();
        let a = st.vg.lv("a").unwrap();
        assert_eq!(a.segments.len(), 3);
        assert_eq!(
            a.segments[1].areas(),
            &[Area::Lv {
                name: "pvmove0".into(),
                start: 0
            }]
        );
        assert_eq!(st.vg.lv("pvmove0").unwrap().extent_count(), 3);
        let mut done = st.vg.clone();
        mark_moved(&mut done, "pvmove0", 0, 3);
        finish(&mut done, "pvmove0", false).unwrap();
        let a = done.lv("a").unwrap();
        assert_eq!(a.segments.len(), 3);
        assert_eq!(
            a.segments[1].areas(),
            &[Area::Pv {
                pv: id(1),
                start: 0
            }]
        );
    }
}
