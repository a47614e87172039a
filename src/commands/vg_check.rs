//! vgck: what is wrong with a VG's metadata on disk and in itself. Damaged and stale copies,
//! missing PVs, damaged labels where a missing PV was last seen, PVs left holding the VG after
//! it moved on, and a text that contradicts itself (extents past a PV's end or used twice,
//! segments out of line, references to nothing). As LVM2, damaged or stale copies are warnings
//! (exit 0); missing PVs and a self-contradicting text fail (exit 5). `--updatemetadata`
//! rewrites every copy through the one commit path and releases the left-behind PVs.

use super::context::{release_pv, Context, PvEdits};
use super::vg::find_vg_or_fail;
use super::vg_args::{for_each_vg, is_exported, vg_names_or_all};
use super::vg_plan::pv_extent_runs;
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::store::device::{BlockDevice, DiskDevice};
use crate::store::lock::LockMode;
use crate::store::scan::{FoundVg, Scan};
use clap::Parser;
use metadata_format::header::{find_pv_label, HeaderError, LABEL_SCAN_SIZE};
use metadata_format::text::{SegmentKind, VolumeGroup};
use metadata_format::QuickHash;
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::path::Path;

#[derive(Debug, Parser)]
#[command(about = "Check the consistency of volume group(s)")]
struct VgckArgs {
    /// Rewrite the VG's metadata on every PV (repairs damaged and stale copies)
    #[arg(long = "updatemetadata")]
    updatemetadata: bool,
    /// Output format of the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// VGs to check (default: all)
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgck(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgckArgs>(argv)? else {
        return Ok(());
    };
    if args.updatemetadata && args.vgs.is_empty() {
        return Err(CmdError::usage(
            "vgck --updatemetadata needs the VG to rewrite: vgck --updatemetadata VG.",
        ));
    }
    let ctx = Context::new(&args.common, argv)?;
    let named = !args.vgs.is_empty();
    let names = vg_names_or_all(&args.vgs, &ctx.scan()?);
    for_each_vg(&names, |name| {
        let mode = if args.updatemetadata {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        let _lock = ctx.lock_vg(name, mode)?;
        let scan = ctx.scan()?;
        let found = find_vg_or_fail(&scan, name)?;
        report_copies(&ctx, &scan, &found);
        if is_exported(&found) {
            // As LVM2: an exported VG named is an error, one met while checking all is skipped.
            if named {
                return Err(CmdError::failed(format!(
                    "Volume group {name} is exported; run vgimport {name} to check it."
                )));
            }
            return Ok(());
        }
        report_damaged_labels(&ctx, &scan, &found);
        let outdated = outdated_pvs(&scan, &found);
        for &(pi, seqno) in &outdated {
            ctx.warn(format!(
                "WARNING: {} (PV {}) holds VG {name} metadata seqno {seqno}, but seqno {} no longer lists it; vgck --updatemetadata {name} releases it.",
                scan.pvs[pi].path.display(),
                scan.pvs[pi].id(),
                found.metadata.vg.seqno
            ));
        }
        let problems = inconsistencies(&found.metadata.vg);
        for p in &problems {
            ctx.warn(format!("VG {name}: {p}"));
        }
        if !problems.is_empty() {
            return Err(CmdError::failed(format!(
                "VG {name} metadata (seqno {}) contradicts itself in {} place(s); restore a good copy with vgcfgrestore {name}.",
                found.metadata.vg.seqno,
                problems.len()
            )));
        }
        if args.updatemetadata {
            // As LVM2: the rewrite keeps missing PVs (flagged MISSING).
            let edits = PvEdits {
                allow_missing_pvs: true,
                ..PvEdits::default()
            };
            let mut metadata = found.metadata.clone();
            ctx.commit_vg_with(&scan, Some(&found), &mut metadata, &edits)?;
            if !ctx.test_mode {
                ctx.with_writer(|w| -> CmdResult {
                    for &(pi, _) in &outdated {
                        release_pv(w, &scan.pvs[pi])?;
                    }
                    Ok(())
                })?;
            }
            return Ok(());
        }
        let missing = found.missing_pvs().count();
        if missing > 0 {
            return Err(CmdError::failed(format!(
                "The volume group is missing {missing} physical volumes."
            )));
        }
        Ok(())
    })
}

/// Every copy of the VG's metadata that is not the current one, and every missing PV, one
/// line each: where it is, what is wrong, and what repairs it.
fn report_copies(ctx: &Context, scan: &Scan, found: &FoundVg) {
    let vg = &found.metadata.vg;
    let (name, seqno) = (&vg.name, vg.seqno);
    for pv in found.missing_pvs() {
        ctx.warn(format!(
            "WARNING: VG {name} is missing PV {} (last written to {}).",
            pv.id,
            pv.device.as_deref().unwrap_or("an unknown device")
        ));
    }
    for &(pi, mi) in &found.stale {
        let pv = &scan.pvs[pi];
        let area = &pv.mdas[mi];
        let path = pv.path.display();
        let line = match (&area.header, &area.text, &area.problem) {
            (None, _, problem) => format!(
                "WARNING: {path}: bad metadata area header ({}); VG {name} metadata (seqno {seqno}) cannot be read there; vgck --updatemetadata {name} rewrites it.",
                problem.as_deref().unwrap_or("unreadable")
            ),
            (Some(_), None, Some(problem)) => format!(
                "WARNING: {path}: {problem}; that copy of VG {name} metadata is unusable (seqno {seqno} is current); vgck --updatemetadata {name} rewrites it."
            ),
            (Some(_), Some(t), _) if t.vg_name == *name => format!(
                "WARNING: {path}: metadata area at {} holds VG {name} seqno {}, older than the current {seqno}; vgck --updatemetadata {name} updates it.",
                area.start, t.seqno
            ),
            _ => format!(
                "WARNING: {path}: metadata area at {} holds no copy of VG {name} (seqno {seqno} is current); vgck --updatemetadata {name} writes it.",
                area.start
            ),
        };
        ctx.warn(line);
    }
}

/// For each missing PV whose last known device is still there without a readable label: why
/// the label does not read. A device now holding another PV, or no label at all, is not
/// reported (the PV may simply be elsewhere).
fn report_damaged_labels(ctx: &Context, scan: &Scan, found: &FoundVg) {
    for pv in found.missing_pvs() {
        let Some(hint) = pv.device.as_deref() else {
            continue;
        };
        let path = Path::new(hint);
        if !scan.others.iter().any(|c| c.path == path) {
            continue;
        }
        let Ok(dev) = DiskDevice::open_read(path) else {
            continue;
        };
        let Ok(head) = dev.read_at(0, LABEL_SCAN_SIZE.min(dev.size()) as usize) else {
            continue;
        };
        match find_pv_label(&head) {
            Err(HeaderError::NoLabel) | Ok(_) => {}
            Err(e) => ctx.warn(format!(
                "WARNING: {hint}, where PV {} was last seen, has a damaged LVM label ({e}); if it is that PV, rewrite the label with pvcreate --uuid {} --restorefile <backup of VG {}>.",
                pv.id, pv.id, found.metadata.vg.name
            )),
        }
    }
}

/// PVs outside the VG's list whose metadata areas still hold a copy of this VG (same name and
/// id): what a restore or split left behind. (scan index, highest seqno held)
fn outdated_pvs(scan: &Scan, found: &FoundVg) -> Vec<(usize, u32)> {
    let vg = &found.metadata.vg;
    let mut out = Vec::new();
    for (pi, pv) in scan.pvs.iter().enumerate() {
        if vg.pv(&pv.id()).is_some() {
            continue;
        }
        let seqno = pv
            .mdas
            .iter()
            .filter_map(|m| m.text.as_ref())
            .filter(|t| t.vg_name == vg.name && t.vg_id.is_none_or(|id| id == vg.id))
            .map(|t| t.seqno)
            .max();
        if let Some(seqno) = seqno {
            out.push((pi, seqno));
        }
    }
    out
}

/// Everything in a VG text that cannot be true, each as one sentence naming the LV or PV.
pub fn inconsistencies(vg: &VolumeGroup) -> Vec<String> {
    let mut out = vg.dangling_references();
    out.extend(reference_loops(vg));
    // Duplicates are looked for in a hash set first (every write checks the whole VG, and
    // 30,000 names in ordered maps cost more than the rest of the check); only a VG that has
    // some walks the maps that word the messages in LVM2's order.
    let dup_names = has_duplicates(vg.lvs.iter().map(|lv| lv.name.as_str()));
    let dup_ids = has_duplicates(vg.lvs.iter().map(|lv| lv.id));
    let mut seen_lv: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen_lv_id = BTreeMap::new();
    for lv in &vg.lvs {
        if dup_names && *seen_lv.entry(&lv.name).and_modify(|n| *n += 1).or_insert(1) == 2 {
            out.push(format!("LV name {} is used twice", lv.name));
        }
        if let Some(other) = dup_ids
            .then(|| seen_lv_id.insert(lv.id, &lv.name))
            .flatten()
        {
            out.push(format!(
                "LVs {other} and {} have the same id {}",
                lv.name, lv.id
            ));
        }
        let mut next = 0u64;
        for (n, seg) in lv.segments.iter().enumerate() {
            if u64::from(seg.start_extent) != next {
                out.push(format!(
                    "LV {} segment {} starts at extent {}, expected {next}",
                    lv.name,
                    n + 1,
                    seg.start_extent
                ));
            }
            next = seg.end_extent();
            if let SegmentKind::Striped(s) = &seg.kind {
                let stripes = s.stripes.len() as u32;
                if stripes == 0 || seg.extent_count % stripes != 0 {
                    out.push(format!(
                        "LV {} segment {}: {} extents do not divide into {stripes} stripes",
                        lv.name,
                        n + 1,
                        seg.extent_count
                    ));
                }
            }
        }
    }
    let mut seen_pv = BTreeMap::new();
    for pv in &vg.pvs {
        if seen_pv.insert(pv.id, ()).is_some() {
            out.push(format!("PV {} is listed twice", pv.id));
        }
        // LVM2's pvresize records dev_size less pe_start: only the extents are compared.
        let extents = u128::from(pv.pe_count) * u128::from(vg.extent_size);
        if let Some(size) = pv.dev_size.filter(|&s| u128::from(s) < extents) {
            out.push(format!(
                "PV {} has {} extents of {} sectors, more than its size of {size} sectors",
                pv.id, pv.pe_count, vg.extent_size
            ));
        }
        let mut runs = pv_extent_runs(vg, &pv.id);
        runs.sort_by_key(|(_, start, _)| *start);
        for (lv, start, len) in &runs {
            let end = u64::from(*start) + u64::from(*len);
            if end > u64::from(pv.pe_count) {
                out.push(format!(
                    "LV {lv} uses extents {start}..{} of PV {}, which has {}",
                    end.saturating_sub(1),
                    pv.id,
                    pv.pe_count
                ));
            }
        }
        for pair in runs.windows(2) {
            let (a, a_start, a_len) = pair[0];
            let (b, b_start, _) = pair[1];
            if u64::from(a_start) + u64::from(a_len) > u64::from(b_start) {
                out.push(format!(
                    "PV {} extent {b_start} is used by both {a} and {b}",
                    pv.id
                ));
            }
        }
    }
    out
}

/// Whether any value occurs twice.
fn has_duplicates<T: std::hash::Hash + Eq>(values: impl ExactSizeIterator<Item = T>) -> bool {
    let mut seen = HashSet::with_capacity_and_hasher(values.len(), QuickHash);
    for v in values {
        if !seen.insert(v) {
            return true;
        }
    }
    false
}

/// The LVs a segment of `lv` stands on: areas on LVs, snapshot origin and COW, pool parts,
/// thin pool and origin, cache pool and origin, mirror log, raid images. A thin origin's
/// `merge` points back at its merging snapshot by design and is left out.
fn lv_references(lv: &metadata_format::text::LogicalVolume) -> Vec<&str> {
    use metadata_format::text::Area;
    let mut names: Vec<&str> = Vec::new();
    for segment in &lv.segments {
        for area in segment.areas() {
            if let Area::Lv { name, .. } = area {
                names.push(name);
            }
        }
        match &segment.kind {
            SegmentKind::Mirror(m) => names.extend(m.mirror_log.as_deref()),
            SegmentKind::Raid(r) => {
                for image in &r.images {
                    names.push(&image.data);
                    names.extend(image.meta.as_deref());
                }
            }
            SegmentKind::Snapshot(s) => {
                names.push(&s.origin);
                names.push(&s.cow);
            }
            SegmentKind::ThinPool(p) => {
                names.push(&p.metadata);
                names.push(&p.pool);
            }
            SegmentKind::Thin(t) => {
                names.push(&t.thin_pool);
                names.extend(t.origin.as_deref());
                names.extend(t.external_origin.as_deref());
            }
            SegmentKind::CachePool(p) => {
                names.push(&p.data);
                names.push(&p.metadata);
            }
            SegmentKind::Cache(c) => {
                names.push(&c.cache_pool);
                names.push(&c.origin);
            }
            _ => {}
        }
    }
    names
}

/// LVs that stand on themselves through a chain of references (a thin volume whose origin's
/// origin is itself, an LV mapped onto an LV that is mapped onto it, a snapshot of itself):
/// no kernel table can be built for them and a walk over them would not end.
pub fn reference_loops(vg: &VolumeGroup) -> Vec<String> {
    let references: Vec<Vec<&str>> = vg.lvs.iter().map(lv_references).collect();
    // Plain linear and striped LVs refer to no LV: a VG of only those has no loop, and its
    // names need no index.
    if references.iter().all(Vec::is_empty) {
        return Vec::new();
    }
    let index: BTreeMap<&str, usize> = vg
        .lvs
        .iter()
        .enumerate()
        .map(|(i, lv)| (lv.name.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = references
        .into_iter()
        .map(|names| {
            names
                .into_iter()
                .filter_map(|n| index.get(n).copied())
                .collect()
        })
        .collect();
    // Iterative depth-first search: 0 unvisited, 1 on the current path, 2 done.
    let mut state = vec![0u8; vg.lvs.len()];
    let mut out = Vec::new();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for start in 0..vg.lvs.len() {
        if state[start] != 0 {
            continue;
        }
        stack.clear();
        stack.push((start, 0));
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&to) = edges[node].get(*next) {
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let chain: Vec<&str> = stack[from..]
                            .iter()
                            .map(|(n, _)| vg.lvs[*n].name.as_str())
                            .chain(std::iter::once(vg.lvs[to].name.as_str()))
                            .collect();
                        out.push(format!(
                            "LV {} refers to itself through {}",
                            vg.lvs[to].name,
                            chain.join(" -> ")
                        ));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::parse_metadata;

    fn vgdemo() -> VolumeGroup {
        let text = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        parse_metadata(&text).unwrap().vg
    }

    #[test]
    fn lvm2s_own_metadata_is_consistent() {
        assert_eq!(inconsistencies(&vgdemo()), Vec::<String>::new());
    }

    #[test]
    fn overlaps_overruns_and_gaps_are_named() {
        let mut vg = vgdemo();
        let pv0 = vg.pvs[0].id;
        let count = vg.pvs[0].pe_count;
        let linear = vg.lv_mut("linear").unwrap();
        if let SegmentKind::Striped(s) = &mut linear.segments[0].kind {
            s.stripes[0] = metadata_format::text::Area::Pv {
                pv: pv0,
                start: count - 1,
            };
        }
        let problems = inconsistencies(&vg);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("LV linear uses extents")),
            "{problems:?}"
        );
        let mut vg = vgdemo();
        vg.lv_mut("linear").unwrap().segments[0].start_extent = 3;
        let problems = inconsistencies(&vg);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("LV linear segment 1 starts at extent 3, expected 0")),
            "{problems:?}"
        );
        let mut vg = vgdemo();
        let dup = vg.lvs[0].clone();
        vg.lvs.push(dup);
        let problems = inconsistencies(&vg);
        assert!(
            problems.iter().any(|p| p.contains("used twice")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("used by both")),
            "{problems:?}"
        );
    }

    #[test]
    fn reference_loops_are_named_and_merges_are_not_loops() {
        let set_origin = |vg: &mut VolumeGroup, lv: &str, origin: &str| {
            if let SegmentKind::Thin(t) = &mut vg.lv_mut(lv).unwrap().segments[0].kind {
                t.origin = Some(origin.to_string());
            }
        };
        // thinsnap's origin is thin1; thin1's origin made thinsnap closes a loop.
        let mut vg = vgdemo();
        set_origin(&mut vg, "thin1", "thinsnap");
        let loops = reference_loops(&vg);
        assert_eq!(loops.len(), 1, "{loops:?}");
        assert!(loops[0].contains("thin1") && loops[0].contains("thinsnap"));
        assert!(inconsistencies(&vg).contains(&loops[0]));
        let mut vg = vgdemo();
        set_origin(&mut vg, "thin1", "thin1");
        assert_eq!(
            reference_loops(&vg),
            ["LV thin1 refers to itself through thin1 -> thin1"]
        );
        // A merging thin snapshot: the origin names it in `merge`, which is not a loop.
        let mut vg = vgdemo();
        if let SegmentKind::Thin(t) = &mut vg.lv_mut("thin1").unwrap().segments[0].kind {
            t.merge = Some("thinsnap".to_string());
        }
        assert!(reference_loops(&vg).is_empty());
    }
}
