//! Pure planning for the commands that change a VG's PVs and attributes (vgextend, vgreduce,
//! vgchange, pvchange, pvresize): which extents and LVs a PV carries, which PVs count as
//! missing, which LVs a missing PV takes down, and what `vgreduce --removemissing --force` drops.

use crate::store::scan::FoundVg;
use metadata_format::text::{Area, Id, LogicalVolume, Segment, SegmentKind, VolumeGroup};

/// The status/flag word LVM2 writes on a PV that was missing when the VG was written.
pub const MISSING: &str = "MISSING";

/// Extents one area of `seg` covers: a stripe holds its share, a mirror image all of it.
fn area_len(seg: &Segment) -> u32 {
    match &seg.kind {
        SegmentKind::Striped(s) if s.stripes.len() > 1 => {
            seg.extent_count / u32::try_from(s.stripes.len()).unwrap_or(u32::MAX)
        }
        _ => seg.extent_count,
    }
}

/// Every run of physical extents on PV `id`: (LV name, first PE, length), in VG order.
pub fn pv_extent_runs<'a>(vg: &'a VolumeGroup, id: &Id) -> Vec<(&'a str, u32, u32)> {
    let mut runs = Vec::new();
    for lv in &vg.lvs {
        for seg in &lv.segments {
            for area in seg.areas() {
                if let Area::Pv { pv, start } = area {
                    if pv == id {
                        runs.push((lv.name.as_str(), *start, area_len(seg)));
                    }
                }
            }
        }
    }
    runs
}

/// How many of the PV's extents are allocated to LVs.
pub fn pv_used_extents(vg: &VolumeGroup, id: &Id) -> u64 {
    pv_extent_runs(vg, id)
        .iter()
        .map(|(_, _, len)| u64::from(*len))
        .sum()
}

/// The LVs with extents on the PV, each once, in VG order.
pub fn lvs_on_pv(vg: &VolumeGroup, id: &Id) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (name, _, _) in pv_extent_runs(vg, id) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Whether an allocated extent of the PV lies at or past `pe_count`.
pub fn pv_used_beyond(vg: &VolumeGroup, id: &Id, pe_count: u32) -> bool {
    pv_extent_runs(vg, id)
        .iter()
        .any(|(_, start, len)| u64::from(*start) + u64::from(*len) > u64::from(pe_count))
}

/// Gives PV `old` the id `new`, in the PV list and in every segment that maps onto it.
pub fn rename_pv(vg: &mut VolumeGroup, old: &Id, new: Id) {
    if let Some(pv) = vg.pv_mut(old) {
        pv.id = new;
    }
    for lv in &mut vg.lvs {
        for seg in &mut lv.segments {
            let areas = match &mut seg.kind {
                SegmentKind::Striped(s) => &mut s.stripes,
                SegmentKind::Mirror(m) => &mut m.mirrors,
                _ => continue,
            };
            for area in areas {
                if let Area::Pv { pv, .. } = area {
                    if pv == old {
                        *pv = new;
                    }
                }
            }
        }
    }
}

/// The PVs LVM2 treats as missing: those without a device, and those whose device came back
/// after the VG was written without them while they held extents (flag `MISSING`).
pub fn missing_pv_ids(found: &FoundVg) -> Vec<Id> {
    let vg = &found.metadata.vg;
    vg.pvs
        .iter()
        .zip(&found.pv_devices)
        .filter(|(pv, dev)| {
            dev.is_none()
                || (pv.flags.iter().any(|f| f == MISSING) && pv_used_extents(vg, &pv.id) > 0)
        })
        .map(|(pv, _)| pv.id)
        .collect()
}

/// The LVs an LV is built on, by name.
pub fn lv_dependencies(lv: &LogicalVolume) -> Vec<&str> {
    let mut names = Vec::new();
    for seg in &lv.segments {
        for area in seg.areas() {
            if let Area::Lv { name, .. } = area {
                names.push(name.as_str());
            }
        }
        match &seg.kind {
            SegmentKind::Mirror(m) => names.extend(m.mirror_log.as_deref()),
            SegmentKind::Raid(r) => {
                for image in &r.images {
                    names.push(image.data.as_str());
                    names.extend(image.meta.as_deref());
                }
            }
            SegmentKind::Snapshot(s) => {
                names.push(s.origin.as_str());
                names.push(s.cow.as_str());
            }
            SegmentKind::ThinPool(p) => {
                names.push(p.metadata.as_str());
                names.push(p.pool.as_str());
            }
            SegmentKind::Thin(t) => {
                names.push(t.thin_pool.as_str());
                names.extend(t.external_origin.as_deref());
            }
            SegmentKind::CachePool(p) => {
                names.push(p.data.as_str());
                names.push(p.metadata.as_str());
            }
            SegmentKind::Cache(c) => {
                names.push(c.cache_pool.as_str());
                names.push(c.origin.as_str());
            }
            _ => {}
        }
    }
    names
}

/// LVs that lose extents when the PVs `missing` are gone (LVM2's partial LVs): those mapped
/// onto a missing PV and those built on a partial LV, in VG order.
pub fn partial_lvs(vg: &VolumeGroup, missing: &[Id]) -> Vec<String> {
    let mut partial: Vec<bool> = vg
        .lvs
        .iter()
        .map(|lv| {
            lv.segments.iter().any(|seg| {
                seg.areas()
                    .iter()
                    .any(|a| matches!(a, Area::Pv { pv, .. } if missing.contains(pv)))
            })
        })
        .collect();
    loop {
        let mut grew = false;
        for (i, lv) in vg.lvs.iter().enumerate() {
            if partial[i] {
                continue;
            }
            let on_partial = lv_dependencies(lv).iter().any(|dep| {
                vg.lvs
                    .iter()
                    .position(|l| l.name == *dep)
                    .is_some_and(|j| partial[j])
            });
            if on_partial {
                partial[i] = true;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    vg.lvs
        .iter()
        .zip(partial)
        .filter(|(_, p)| *p)
        .map(|(lv, _)| lv.name.clone())
        .collect()
}

/// What `vgreduce --removemissing --force` does first to RAID and mirror LVs that lost
/// images on the PVs `missing` (LVM2's lv_raid_remove_missing and mirror_remove_missing):
/// a RAID image whose data or metadata sub-LV is partial has both become one `error` segment
/// of their size (kept in the raid table as devices, as LVM2 does);
/// a mirror drops its lost legs (and a lost disk log), becoming linear when one leg is left; a
/// mirror without a usable leg is left for the partial-LV removal. Returns the top-level LVs
/// changed, for the kernel's reload, and the mirrors without a usable leg.
pub fn drop_lost_images(vg: &mut VolumeGroup, missing: &[Id]) -> LostImages {
    let partial = partial_lvs(vg, missing);
    let is_partial = |vg: &VolumeGroup, name: &str| {
        vg.lv(name).is_some_and(|l| {
            l.segments.iter().any(|seg| {
                seg.areas()
                    .iter()
                    .any(|a| matches!(a, Area::Pv { pv, .. } if missing.contains(pv)))
            })
        })
    };
    let mut changed = Vec::new();
    let mut unusable = Vec::new();
    for name in &partial {
        let Some(kind) = vg
            .lv(name)
            .and_then(|l| l.segments.first())
            .map(|s| s.kind.clone())
        else {
            continue;
        };
        match kind {
            SegmentKind::Raid(r) => {
                // Both sub-LVs of an image go when either is lost (LVM2 keeps them paired).
                for image in &r.images {
                    let subs: Vec<&String> = std::iter::once(&image.data)
                        .chain(image.meta.iter())
                        .collect();
                    if !subs.iter().any(|sub| is_partial(vg, sub)) {
                        continue;
                    }
                    for sub in subs {
                        if let Some(l) = vg.lv_mut(sub) {
                            let len = u32::try_from(l.extent_count()).unwrap_or(u32::MAX).max(1);
                            l.segments = vec![error_segment(len)];
                        }
                    }
                    if !changed.contains(name) {
                        changed.push(name.clone());
                    }
                }
            }
            SegmentKind::Mirror(m) => {
                let Some(top) = vg.lv(name) else { continue };
                let legs = super::lv_raid::data_images(top);
                let lost: Vec<usize> = legs
                    .iter()
                    .enumerate()
                    .filter(|(_, leg)| is_partial(vg, leg))
                    .map(|(i, _)| i)
                    .collect();
                if lost.len() == legs.len() {
                    unusable.push(name.clone());
                    continue;
                }
                let lost_legs: Vec<String> = lost.iter().map(|&i| legs[i].clone()).collect();
                let lost_log = m.mirror_log.as_deref().is_some_and(|l| is_partial(vg, l));
                if (lost_log || !lost_legs.is_empty())
                    && drop_mirror_images(vg, name, &lost_legs, lost_log).is_ok()
                {
                    changed.push(name.clone());
                }
            }
            _ => {}
        }
    }
    LostImages { changed, unusable }
}

/// Drops the legs `lost_legs` of the mirror `name` and, with `lost_log`, its disk log (the
/// mirror keeps a core log), as LVM2's mirror_remove_missing: one leg left makes the LV linear
/// on that leg's extents (its log goes too). At least one leg must be left.
pub fn drop_mirror_images(
    vg: &mut VolumeGroup,
    name: &str,
    lost_legs: &[String],
    lost_log: bool,
) -> Result<(), String> {
    let Some(top) = vg.lv(name) else {
        return Err(format!("Logical volume {name} not found"));
    };
    let Some(SegmentKind::Mirror(m)) = top.segments.first().map(|s| s.kind.clone()) else {
        return Err(format!("{}/{name} is not a mirror.", vg.name));
    };
    let kept: Vec<String> = super::lv_raid::data_images(top)
        .into_iter()
        .filter(|l| !lost_legs.contains(l))
        .collect();
    let Some(first) = kept.first().cloned() else {
        return Err(format!("No usable images left in {}/{name}.", vg.name));
    };
    let mut doomed: Vec<String> = lost_legs.to_vec();
    if kept.len() == 1 {
        let segs = vg
            .lv(&first)
            .map(|l| l.segments.clone())
            .unwrap_or_default();
        doomed.push(first);
        doomed.extend(m.mirror_log.clone());
        vg.lvs.retain(|l| !doomed.contains(&l.name));
        if let Some(top) = vg.lv_mut(name) {
            top.segments = segs;
            super::lv_raid::clear_status(top, "NOTSYNCED");
        }
        return Ok(());
    }
    if lost_log {
        doomed.extend(m.mirror_log.clone());
    }
    vg.lvs.retain(|l| !doomed.contains(&l.name));
    if let Some(Segment {
        kind: SegmentKind::Mirror(mm),
        ..
    }) = vg.lv_mut(name).and_then(|l| l.segments.first_mut())
    {
        mm.mirrors = kept
            .into_iter()
            .map(|n| Area::Lv { name: n, start: 0 })
            .collect();
        if lost_log {
            mm.mirror_log = None;
        }
    }
    Ok(())
}

/// Whether the mirror `name` keeps its legs but lost its disk log from `old` to `new` (LVM2's
/// remove_mirror_log, after which an in-sync mirror is loaded `nosync`).
pub fn mirror_log_dropped(old: &VolumeGroup, new: &VolumeGroup, name: &str) -> bool {
    let log = |vg: &VolumeGroup| match vg.lv(name).and_then(|l| l.segments.first()) {
        Some(Segment {
            kind: SegmentKind::Mirror(m),
            ..
        }) => Some(m.mirror_log.is_some()),
        _ => None,
    };
    log(old) == Some(true) && log(new) == Some(false)
}

/// What [`drop_lost_images`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LostImages {
    /// RAID and mirror LVs that lost images or a log and keep the rest.
    pub changed: Vec<String>,
    /// Mirrors whose every leg is lost: LVM2 removes them ("No usable images left").
    pub unusable: Vec<String>,
}

/// LVM2's virtual `error` segment of `len` extents.
fn error_segment(len: u32) -> Segment {
    Segment::new(
        0,
        len,
        SegmentKind::Other(metadata_format::text::OtherSegment {
            type_name: "error".to_string(),
            items: Vec::new(),
        }),
    )
}

/// One LV `vgreduce --removemissing --force` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedLv {
    pub name: String,
    /// Whether LVM2 names it in "Logical volume ... successfully removed".
    pub visible: bool,
    /// Whether it is partial itself (LVM2 warns "Removing partial LV") rather than removed
    /// because it depended on one.
    pub partial: bool,
}

/// Removes from `vg` every visible partial LV with what depends on it (snapshots of it, thin
/// volumes of it) and the sub-LVs only it used, as LVM2's `lv_remove_with_dependencies`.
/// RAID and mirror LVs have had their lost images dropped first ([`drop_lost_images`]); one
/// still partial (a mirror without a usable leg) goes whole.
pub fn remove_partial_lvs(vg: &mut VolumeGroup, missing: &[Id]) -> Result<Vec<RemovedLv>, String> {
    let partial = partial_lvs(vg, missing);
    let mut removed: Vec<RemovedLv> = Vec::new();
    for name in &partial {
        let Some(lv) = vg.lv(name) else { continue };
        if !vg.is_lv_visible(lv) || removed.iter().any(|r| &r.name == name) {
            continue;
        }
        let mut doomed: Vec<String> = vec![name.clone()];
        // What depends on a removed LV goes too; then sub-LVs (hidden ones and the COW of a
        // removed snapshot) that nothing left uses.
        loop {
            let mut grew = false;
            for other in &vg.lvs {
                if doomed.contains(&other.name) {
                    continue;
                }
                let uses_doomed = lv_dependencies(other)
                    .iter()
                    .any(|d| doomed.iter().any(|n| n == d));
                if uses_doomed {
                    doomed.push(other.name.clone());
                    grew = true;
                }
            }
            let mut subs: Vec<String> = Vec::new();
            for gone in &doomed {
                let Some(gone_lv) = vg.lv(gone) else { continue };
                let cows: Vec<&str> = gone_lv
                    .segments
                    .iter()
                    .filter_map(|s| match &s.kind {
                        SegmentKind::Snapshot(snap) => Some(snap.cow.as_str()),
                        _ => None,
                    })
                    .collect();
                for dep in lv_dependencies(gone_lv) {
                    if doomed.iter().any(|n| n == dep) || subs.iter().any(|n| n == dep) {
                        continue;
                    }
                    let Some(dep_lv) = vg.lv(dep) else { continue };
                    if vg.is_lv_visible(dep_lv) && !cows.contains(&dep) {
                        continue;
                    }
                    let used_elsewhere = vg
                        .lvs
                        .iter()
                        .any(|l| !doomed.contains(&l.name) && lv_dependencies(l).contains(&dep));
                    if !used_elsewhere {
                        subs.push(dep.to_string());
                    }
                }
            }
            if !subs.is_empty() {
                doomed.extend(subs);
                grew = true;
            }
            if !grew {
                break;
            }
        }
        for gone in doomed {
            let visible = vg.lv(&gone).is_some_and(|l| vg.is_lv_visible(l));
            removed.push(RemovedLv {
                partial: partial.contains(&gone),
                visible,
                name: gone,
            });
        }
        let names: Vec<&str> = removed.iter().map(|r| r.name.as_str()).collect();
        vg.lvs.retain(|l| !names.contains(&l.name.as_str()));
    }
    Ok(removed)
}

/// Adds a tag unless the list has it (LVM2 keeps each tag once).
pub fn add_tag(tags: &mut Vec<String>, tag: &str) {
    if !tags.iter().any(|t| t == tag) {
        tags.push(tag.to_string());
    }
}

/// Drops a tag if present; a tag that is not there is not an error, as with LVM2.
pub fn del_tag(tags: &mut Vec<String>, tag: &str) {
    tags.retain(|t| t != tag);
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::{PhysicalVolume, Snapshot, Striped, Thin, ThinPool, VolumeGroup};

    fn id(c: char) -> Id {
        Id::parse(&c.to_string().repeat(32)).unwrap()
    }

    fn vg() -> VolumeGroup {
        let mut vg = VolumeGroup::new("vg", id('v'), 8192);
        for c in ['a', 'b'] {
            vg.pvs
                .push(PhysicalVolume::new(id(c), "/dev/x", 32768, 2048, 10));
        }
        vg
    }

    fn linear(name: &str, pv: Id, pe: u32, len: u32) -> LogicalVolume {
        let mut lv = LogicalVolume::new(name, id('l'));
        lv.segments.push(Segment::linear(0, len, pv, pe));
        lv
    }

    #[test]
    fn counts_extents_per_pv_including_stripes() {
        let mut vg = vg();
        vg.lvs.push(linear("one", id('a'), 0, 3));
        let mut striped = LogicalVolume::new("st", id('s'));
        striped.segments.push(Segment::striped(
            0,
            4,
            128,
            vec![
                Area::Pv {
                    pv: id('a'),
                    start: 3,
                },
                Area::Pv {
                    pv: id('b'),
                    start: 0,
                },
            ],
        ));
        vg.lvs.push(striped);
        assert_eq!(pv_used_extents(&vg, &id('a')), 5);
        assert_eq!(pv_used_extents(&vg, &id('b')), 2);
        assert_eq!(lvs_on_pv(&vg, &id('a')), ["one", "st"]);
        assert!(pv_used_beyond(&vg, &id('a'), 4));
        assert!(!pv_used_beyond(&vg, &id('a'), 5));
        rename_pv(&mut vg, &id('b'), id('c'));
        assert_eq!(pv_used_extents(&vg, &id('c')), 2);
        assert_eq!(pv_used_extents(&vg, &id('b')), 0);
        assert!(vg.pv(&id('c')).is_some());
    }

    #[test]
    fn partial_spreads_through_snapshots_and_thin_pools() {
        let mut vg = vg();
        vg.lvs.push(linear("origin", id('a'), 0, 2));
        vg.lvs.push(linear("cow", id('b'), 0, 1));
        let mut snap = LogicalVolume::new("snapshot0", id('n'));
        snap.status = metadata_format::text::Words::read_write();
        snap.segments.push(Segment::new(
            0,
            2,
            SegmentKind::Snapshot(Snapshot {
                chunk_size: 8,
                origin: "origin".into(),
                cow: "cow".into(),
                merging: false,
            }),
        ));
        vg.lvs.push(snap);
        vg.lvs.push(linear("other", id('a'), 2, 1));
        assert_eq!(partial_lvs(&vg, &[id('b')]), ["cow", "snapshot0"]);
        let mut v = vg.clone();
        let removed = remove_partial_lvs(&mut v, &[id('b')]).unwrap();
        let names: Vec<&str> = removed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["cow", "snapshot0"]);
        assert!(removed[0].visible && !removed[1].visible);
        assert_eq!(v.lvs.len(), 2);
        // Losing the origin takes its snapshot (COW included) with it.
        let mut v = vg.clone();
        let removed = remove_partial_lvs(&mut v, &[id('a')]).unwrap();
        let names: Vec<&str> = removed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["origin", "snapshot0", "cow", "other"]);
        assert!(v.lvs.is_empty());
    }

    #[test]
    fn a_lost_pool_takes_its_thin_volumes_and_sub_lvs() {
        let mut vg = vg();
        let mut tdata = linear("pool_tdata", id('a'), 0, 4);
        tdata.status = metadata_format::text::Words::read_write();
        let mut tmeta = linear("pool_tmeta", id('b'), 0, 1);
        tmeta.status = metadata_format::text::Words::read_write();
        let mut pool = LogicalVolume::new("pool", id('p'));
        pool.segments.push(Segment::new(
            0,
            4,
            SegmentKind::ThinPool(Box::new(ThinPool {
                metadata: "pool_tmeta".into(),
                pool: "pool_tdata".into(),
                transaction_id: 1,
                chunk_size: 128,
                discards: None,
                zero_new_blocks: true,
                crop_metadata: None,
                messages: Vec::new(),
            })),
        ));
        let mut thin = LogicalVolume::new("thin", id('t'));
        thin.segments.push(Segment::new(
            0,
            8,
            SegmentKind::Thin(Box::new(Thin {
                thin_pool: "pool".into(),
                transaction_id: 1,
                device_id: 1,
                external_origin: None,
                origin: None,
                merge: None,
            })),
        ));
        vg.lvs.extend([pool, thin, tdata, tmeta]);
        vg.lvs.push(linear("keep", id('b'), 1, 1));
        let removed = remove_partial_lvs(&mut vg, &[id('a')]).unwrap();
        let mut names: Vec<&str> = removed.iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["pool", "pool_tdata", "pool_tmeta", "thin"]);
        assert_eq!(vg.lvs.len(), 1);
        assert_eq!(vg.lvs[0].name, "keep");
    }

    #[test]
    fn a_raid1_keeps_its_image_and_the_lost_one_becomes_error_sub_lvs() {
        // raid1 "r": image 0 (rimage+rmeta) on PV a, image 1 on PV b; b is lost.
        let mut vg = vg();
        let sub = |name: &str, pv: char, start: u32| {
            let mut lv = LogicalVolume::new(name, id(pv));
            lv.segments.push(Segment::new(
                0,
                1,
                SegmentKind::Striped(Striped {
                    stripes: vec![Area::Pv { pv: id(pv), start }],
                    ..Default::default()
                }),
            ));
            lv
        };
        let raid = metadata_format::text::Raid {
            level: metadata_format::text::RaidLevel::Raid1,
            data_copies: None,
            region_size: Some(1024),
            stripe_size: None,
            writebehind: None,
            min_recovery_rate: None,
            max_recovery_rate: None,
            data_offset: None,
            images: (0..2)
                .map(|i| metadata_format::text::RaidImage {
                    meta: Some(format!("r_rmeta_{i}")),
                    data: format!("r_rimage_{i}"),
                })
                .collect(),
        };
        let mut r = LogicalVolume::new("r", id('r'));
        r.segments
            .push(Segment::new(0, 1, SegmentKind::Raid(raid.into())));
        vg.lvs.push(r);
        vg.lvs.push(sub("r_rmeta_0", 'a', 0));
        vg.lvs.push(sub("r_rimage_0", 'a', 1));
        vg.lvs.push(sub("r_rmeta_1", 'b', 0));
        vg.lvs.push(sub("r_rimage_1", 'b', 1));
        let before = vg.lvs.len();
        let lost = drop_lost_images(&mut vg, &[id('b')]);
        assert_eq!(lost.changed, ["r"]);
        assert!(lost.unusable.is_empty());
        for name in ["r_rmeta_1", "r_rimage_1"] {
            let kinds: Vec<String> = vg
                .lv(name)
                .expect(name)
                .segments
                .iter()
                .map(|s| s.type_string())
                .collect();
            assert_eq!(kinds, ["error"], "{name}");
        }
        for name in ["r_rmeta_0", "r_rimage_0"] {
            assert_eq!(
                vg.lv(name).expect(name).segments[0].type_string(),
                "striped",
                "{name}"
            );
        }
        // Nothing is left on the lost PV, so nothing is removed.
        let removed = remove_partial_lvs(&mut vg, &[id('b')]).expect("no refusal");
        assert!(removed.is_empty(), "{removed:?}");
        assert_eq!(vg.lvs.len(), before);
    }

    #[test]
    fn tags_stay_unique() {
        let mut tags = vec!["a".to_string()];
        add_tag(&mut tags, "a");
        add_tag(&mut tags, "b");
        del_tag(&mut tags, "c");
        del_tag(&mut tags, "a");
        assert_eq!(tags, ["b"]);
    }
}
