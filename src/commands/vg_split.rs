//! vgsplit and vgmerge: PVs and the LVs that live on them move between VGs. The planning is
//! pure (`split_vg`, `merge_vgs`): LVs move as whole stacks (an LV with its sub-LVs, a thin pool
//! with its thin volumes, an origin with its snapshots), and a stack with extents on both sides
//! of the split is refused before anything is written. The writes follow LVM2's crash order:
//! the destination first, marked EXPORTED, then the source, then the destination again.

use super::context::Context;
use super::vg::{alloc_arg, find_vg_or_fail};
use super::vg_args::{active_lvs, refuse_exported, refuse_partial, vg_arg, EXPORTED};
use super::vg_plan::lv_dependencies;
use crate::cli::{parse_args, CommandSpec, CommonArgs, YesNo};
use crate::error::{CmdError, CmdResult};
use crate::names::check_vg_name;
use crate::store::archive;
use crate::store::lock::{LockGuard, LockMode};
use crate::store::scan::{FoundVg, Scan};
use clap::Parser;
use metadata_format::text::{Area, Id, LogicalVolume, Metadata, VolumeGroup};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;

/// LV indexes of `vg` grouped into stacks: LVs that reference each other (sub-LVs, pools and
/// their thin volumes, snapshots and their origins) end up in one group. Groups and their
/// members are in VG order.
fn lv_stacks(vg: &VolumeGroup) -> Vec<Vec<usize>> {
    let index: BTreeMap<&str, usize> = vg
        .lvs
        .iter()
        .enumerate()
        .map(|(i, lv)| (lv.name.as_str(), i))
        .collect();
    let mut parent: Vec<usize> = (0..vg.lvs.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, lv) in vg.lvs.iter().enumerate() {
        for dep in lv_dependencies(lv) {
            if let Some(&j) = index.get(dep) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..vg.lvs.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().collect()
}

/// The PVs an LV maps onto directly.
fn lv_pvs(lv: &LogicalVolume) -> impl Iterator<Item = Id> + '_ {
    lv.segments
        .iter()
        .flat_map(|s| s.areas())
        .filter_map(|a| match a {
            Area::Pv { pv, .. } => Some(*pv),
            Area::Lv { .. } => None,
        })
}

/// The PVs that hold LV `name` and everything it is built on, in the order met (sub-LVs
/// first, as LVM2's `vgsplit -n` moves them).
pub fn pvs_of_lv(vg: &VolumeGroup, name: &str) -> Vec<Id> {
    fn visit(vg: &VolumeGroup, name: &str, seen: &mut BTreeSet<String>, out: &mut Vec<Id>) {
        if !seen.insert(name.to_string()) {
            return;
        }
        let Some(lv) = vg.lv(name) else { return };
        for dep in lv_dependencies(lv) {
            visit(vg, dep, seen, out);
        }
        for pv in lv_pvs(lv) {
            if !out.contains(&pv) {
                out.push(pv);
            }
        }
    }
    let mut out = Vec::new();
    visit(vg, name, &mut BTreeSet::new(), &mut out);
    out
}

/// LVM2's `vgs_are_compatible`: what stops `from` joining `to`. One sentence, LVM2's wording
/// first.
fn check_compatible(to: &VolumeGroup, from: &VolumeGroup) -> Result<(), String> {
    if to.extent_size != from.extent_size {
        return Err(format!(
            "Extent sizes differ: {} ({}) and {} ({}); both VGs need the same -s.",
            to.extent_size, to.name, from.extent_size, from.name
        ));
    }
    if to.max_pv != 0 && (to.max_pv as usize) < to.pvs.len() + from.pvs.len() {
        return Err(format!(
            "Maximum number of physical volumes ({}) exceeded for \"{}\" and \"{}\"; raise it with vgchange -p.",
            to.max_pv, to.name, from.name
        ));
    }
    let visible = |vg: &VolumeGroup| vg.lvs.iter().filter(|lv| vg.is_lv_visible(lv)).count();
    if to.max_lv != 0 && (to.max_lv as usize) < visible(to) + visible(from) {
        return Err(format!(
            "Maximum number of logical volumes ({}) exceeded for \"{}\" and \"{}\"; raise it with vgchange -l.",
            to.max_lv, to.name, from.name
        ));
    }
    if let Some(lv) = to.lvs.iter().find(|lv| from.lv(&lv.name).is_some()) {
        return Err(format!(
            "Duplicate logical volume name \"{}\" in \"{}\" and \"{}\"; rename one first (lvrename).",
            lv.name, to.name, from.name
        ));
    }
    Ok(())
}

/// Moves the PVs `moving` (ids of `src`'s PVs, in the order they join) and every LV stack on
/// them from `src` to `dst` (an existing VG, or a new one with no PVs). A stack with extents
/// on PVs that move and on PVs that stay is refused, naming its LV; `pv_name` shows a PV to
/// the user. Stacks on no PV at all stay in `src`.
pub fn split_vg(
    src: &VolumeGroup,
    dst: &VolumeGroup,
    moving: &[Id],
    pv_name: &dyn Fn(&Id) -> String,
) -> Result<(VolumeGroup, VolumeGroup), String> {
    if !dst.pvs.is_empty() {
        check_compatible(dst, src)?;
    }
    let mut move_lv = vec![false; src.lvs.len()];
    for stack in lv_stacks(src) {
        let pvs: BTreeSet<Id> = stack.iter().flat_map(|&i| lv_pvs(&src.lvs[i])).collect();
        let (going, staying): (Vec<Id>, Vec<Id>) = pvs.iter().partition(|id| moving.contains(id));
        if going.is_empty() {
            continue;
        }
        if !staying.is_empty() {
            // Name the stack by its first visible LV (a pool, an origin, a RAID LV...).
            let top = stack
                .iter()
                .map(|&i| &src.lvs[i])
                .find(|lv| src.is_lv_visible(lv))
                .unwrap_or(&src.lvs[stack[0]]);
            let list = |ids: &[Id]| ids.iter().map(pv_name).collect::<Vec<_>>().join(", ");
            return Err(format!(
                "Can't split Logical Volume {} between two Volume Groups: it needs {} staying in {} and {} moving to {}; move all of these PVs or none.",
                top.name,
                list(&staying),
                src.name,
                list(&going),
                dst.name
            ));
        }
        for i in stack {
            move_lv[i] = true;
        }
    }
    let mut from = src.clone();
    let mut to = dst.clone();
    from.pvs.retain(|pv| !moving.contains(&pv.id));
    for id in moving {
        if let Some(pv) = src.pv(id) {
            to.pvs.push(pv.clone());
        }
    }
    from.lvs = Vec::new();
    for (lv, go) in src.lvs.iter().zip(&move_lv) {
        if *go {
            to.lvs.push(lv.clone());
        } else {
            from.lvs.push(lv.clone());
        }
    }
    Ok((from, to))
}

/// LVM2's pool metadata spare: a hidden LV whose name ends `_pmspare`.
fn pmspare(vg: &VolumeGroup) -> Option<&LogicalVolume> {
    vg.lvs
        .iter()
        .find(|lv| lv.name.ends_with("_pmspare") && !lv.has_status("VISIBLE"))
}

/// `src` merged into `dst`: all its PVs and LVs join, an LV id already used in `dst` gets a
/// fresh one from `new_id`, and when both have a pool metadata spare only the bigger stays.
pub fn merge_vgs(
    dst: &VolumeGroup,
    src: &VolumeGroup,
    new_id: &mut dyn FnMut() -> Id,
) -> Result<VolumeGroup, String> {
    let mut to = dst.clone();
    let mut from = src.clone();
    if let (Some(a), Some(b)) = (pmspare(&to), pmspare(&from)) {
        if a.extent_count() < b.extent_count() {
            let name = a.name.clone();
            to.lvs.retain(|lv| lv.name != name);
        } else {
            let name = b.name.clone();
            from.lvs.retain(|lv| lv.name != name);
        }
    }
    check_compatible(&to, &from)?;
    let used: BTreeSet<Id> = to.lvs.iter().map(|lv| lv.id).collect();
    for lv in &mut from.lvs {
        if used.contains(&lv.id) {
            lv.id = new_id();
        }
    }
    to.pvs.extend(from.pvs);
    to.lvs.extend(from.lvs);
    Ok(to)
}

/// Takes the VG locks of two VGs in name order, so two commands never wait on each other.
fn lock_two(ctx: &Context, a: &str, b: &str) -> CmdResult<(LockGuard, LockGuard)> {
    if a <= b {
        let first = ctx.lock_vg(a, LockMode::Exclusive)?;
        Ok((first, ctx.lock_vg(b, LockMode::Exclusive)?))
    } else {
        let first = ctx.lock_vg(b, LockMode::Exclusive)?;
        Ok((ctx.lock_vg(a, LockMode::Exclusive)?, first))
    }
}

/// How a PV is shown in messages: its device, or its id when it has none.
fn pv_display(scan: &Scan) -> impl Fn(&Id) -> String + '_ {
    move |id| {
        scan.pv_index_by_id(id)
            .map(|i| scan.pvs[i].path.display().to_string())
            .unwrap_or_else(|| id.to_string())
    }
}

/// Whether the PVs `ids` (present in `scan`) have at least one metadata area between them.
fn has_metadata_area(scan: &Scan, ids: impl Iterator<Item = Id>) -> bool {
    ids.filter_map(|id| scan.pv_index_by_id(&id))
        .any(|i| !scan.pvs[i].mdas.is_empty())
}

/// vgsplit marks only the VG, not its PVs, while the destination is half-written.
fn mark_vg_exported(vg: &mut VolumeGroup, exported: bool) {
    vg.status.retain(|s| s != EXPORTED);
    if exported {
        vg.status.insert(0, EXPORTED.into());
    }
}

#[derive(Debug, Parser)]
#[command(about = "Move physical volumes into a new or existing volume group")]
struct VgsplitArgs {
    /// Move the PVs of this LV (and of everything it is built on)
    #[arg(short = 'n', long = "name", value_name = "LV")]
    name: Option<String>,
    /// Back up the metadata after the change (accepted; lvm.conf decides)
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<YesNo>,
    /// Keep a pool metadata spare (accepted; oxlvm does not allocate one here)
    #[arg(long = "poolmetadataspare", value_name = "y|n")]
    poolmetadataspare: Option<YesNo>,
    /// New VG only: allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// New VG only: maximum number of LVs
    #[arg(short = 'l', long = "maxlogicalvolumes", value_name = "NUMBER")]
    max_lv: Option<u32>,
    /// New VG only: maximum number of PVs
    #[arg(short = 'p', long = "maxphysicalvolumes", value_name = "NUMBER")]
    max_pv: Option<u32>,
    /// Metadata type: only lvm2
    #[arg(short = 'M', long = "metadatatype", value_name = "TYPE")]
    metadatatype: Option<String>,
    /// New VG only: number of metadata copies to keep in use
    #[arg(
        long = "vgmetadatacopies",
        alias = "metadatacopies",
        value_name = "NUMBER"
    )]
    vgmetadatacopies: Option<String>,
    /// Clustered VG (no longer supported by LVM2 either)
    #[arg(short = 'c', long = "clustered", value_name = "y|n")]
    clustered: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// Source VG, destination VG, then the PVs to move
    #[arg(value_name = "VG VG PV")]
    args: Vec<String>,
}

pub fn vgsplit(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgsplitArgs>(argv)? else {
        return Ok(());
    };
    if args.args.len() + usize::from(args.name.is_some()) < 3 {
        return Err(CmdError::usage(
            "Existing VG, new VG and either physical volumes or logical volume required.",
        ));
    }
    if args.name.is_some() && args.args.len() > 2 {
        return Err(CmdError::usage(
            "A logical volume name cannot be given with physical volumes.",
        ));
    }
    if args.clustered.is_some() {
        return Err(CmdError::usage(
            "The clustered option is deprecated, see --shared.",
        ));
    }
    if let Some(t) = args.metadatatype.as_deref().filter(|t| *t != "lvm2") {
        return Err(CmdError::usage(format!(
            "Metadata type {t} is not supported; only lvm2 is."
        )));
    }
    let alloc = alloc_arg(args.alloc.as_deref())?;
    let mdacopies = match args.vgmetadatacopies.as_deref() {
        None => None,
        Some("all" | "unmanaged") => Some(0),
        Some(n) => Some(n.parse::<u32>().map_err(|_| {
            CmdError::usage(format!(
                "--vgmetadatacopies {n}: give a number, all or unmanaged."
            ))
        })?),
    };
    let new_vg_option = args.alloc.is_some()
        || args.max_lv.is_some()
        || args.max_pv.is_some()
        || args.vgmetadatacopies.is_some();
    let src_name = vg_arg(&args.args[0]).to_string();
    let dst_name = vg_arg(&args.args[1]).to_string();
    if src_name == dst_name {
        return Err(CmdError::failed(format!(
            "Duplicate volume group name \"{src_name}\""
        )));
    }

    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let _locks = lock_two(&ctx, &src_name, &dst_name)?;
    let candidates = ctx.candidates()?;
    let scan = crate::store::scan::scan(&candidates);
    let existing = scan.find_vg(&dst_name).map_err(CmdError::failed)?;
    if existing.is_none() {
        check_vg_name(&dst_name)
            .map_err(|e| CmdError::failed(format!("Invalid vg name {dst_name}: {e}")))?;
    }
    let src = ctx.load_vg(&scan, &src_name)?;
    refuse_exported(&src)?;
    refuse_partial(&src)?;
    let dst_vg = match &existing {
        Some(dst) => {
            refuse_exported(dst)?;
            refuse_partial(dst)?;
            if new_vg_option {
                return Err(CmdError::failed(format!(
                    "Volume group \"{dst_name}\" exists, but new VG option specified; drop --alloc, -l, -p and --vgmetadatacopies."
                )));
            }
            dst.metadata.vg.clone()
        }
        None => {
            let s = &src.metadata.vg;
            let mut vg = VolumeGroup::new(&dst_name, crate::host::new_id(), s.extent_size);
            vg.max_lv = args.max_lv.unwrap_or(s.max_lv);
            vg.max_pv = args.max_pv.unwrap_or(s.max_pv);
            vg.allocation_policy = alloc.or_else(|| s.allocation_policy.clone());
            vg.metadata_copies = mdacopies.or(s.metadata_copies);
            vg.system_id = s.system_id.clone();
            vg
        }
    };

    let src_vg = &src.metadata.vg;
    let moving: Vec<Id> = match &args.name {
        Some(lv) => {
            if src_vg.lv(lv).is_none() {
                return Err(CmdError::failed(format!(
                    "Logical volume {lv} not in volume group {src_name}"
                )));
            }
            pvs_of_lv(src_vg, lv)
        }
        None => {
            let mut ids = Vec::new();
            for arg in &args.args[2..] {
                let path = ctx.resolve_device(arg, &candidates)?.path;
                let id = scan
                    .pv_index_by_path(&path)
                    .map(|i| scan.pvs[i].id())
                    .filter(|id| src_vg.pv(id).is_some())
                    .ok_or_else(|| {
                        CmdError::failed(format!(
                            "Physical volume {arg} not in volume group {src_name}"
                        ))
                    })?;
                if ids.contains(&id) {
                    return Err(CmdError::usage(format!(
                        "Device {arg} is given twice; name each device once."
                    )));
                }
                ids.push(id);
            }
            ids
        }
    };
    let (from, to) =
        split_vg(src_vg, &dst_vg, &moving, &pv_display(&scan)).map_err(CmdError::failed)?;
    // As LVM2: LVs that move must be inactive, and joining an existing VG needs every LV of
    // the source inactive.
    let active = active_lvs(&ctx, src_vg);
    let blocking = active
        .iter()
        .find(|name| existing.is_some() || to.lv(name).is_some());
    if let Some(lv) = blocking {
        return Err(CmdError::failed(format!(
            "Logical volume {src_name}/{lv} must be inactive; deactivate it first (lvchange -an {src_name}/{lv})."
        )));
    }
    if !has_metadata_area(&scan, to.pvs.iter().map(|p| p.id)) {
        return Err(CmdError::failed(format!(
            "Cannot split: Nowhere to store metadata for new Volume Group (none of the PVs of {dst_name} has a metadata area)."
        )));
    }
    if !from.pvs.is_empty() && !has_metadata_area(&scan, from.pvs.iter().map(|p| p.id)) {
        return Err(CmdError::failed(format!(
            "Cannot split: Nowhere to store metadata for new Volume Group (none of the PVs staying in {src_name} has a metadata area)."
        )));
    }

    // 1. The destination, EXPORTED: after a crash here the moved PVs form a VG that
    //    vgimport brings back, and the source still describes everything.
    let mut dst_meta = match &existing {
        Some(d) => d.metadata.clone(),
        None => Metadata::new(to.clone(), archive::header_now(&ctx.host, String::new())),
    };
    dst_meta.vg = to;
    mark_vg_exported(&mut dst_meta.vg, true);
    ctx.commit_vg(&scan, existing.as_ref(), &mut dst_meta)?;
    if !ctx.test_mode {
        // 2. The source without the moved PVs. They are left out of the scan this write
        //    sees, so it does not release them: they now belong to the destination.
        if !from.pvs.is_empty() {
            let now = ctx.scan()?;
            let kept = Scan {
                pvs: now
                    .pvs
                    .into_iter()
                    .filter(|p| !moving.contains(&p.id()))
                    .collect(),
                others: Vec::new(),
                warnings: Vec::new(),
                // Indexes into the unfiltered scan; the first write checked them.
                duplicates: Vec::new(),
            };
            let mut src_meta = src.metadata.clone();
            src_meta.vg = from;
            ctx.commit_vg(&kept, Some(&src), &mut src_meta)?;
        }
        // 3. The destination again, imported.
        let now = ctx.scan()?;
        let written = find_vg_or_fail(&now, &dst_name)?;
        let mut final_meta = written.metadata.clone();
        mark_vg_exported(&mut final_meta.vg, false);
        ctx.commit_vg(&now, Some(&written), &mut final_meta)?;
    }
    ctx.say(format!(
        "{} volume group \"{dst_name}\" successfully split from \"{src_name}\"",
        if existing.is_some() {
            "Existing"
        } else {
            "New"
        }
    ));
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Merge volume groups")]
struct VgmergeArgs {
    /// Back up the metadata after the change (accepted; lvm.conf decides)
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<YesNo>,
    /// Display the merged VG (accepted; LVM2 2.03 prints nothing either)
    #[arg(short = 'l', long = "list")]
    list: bool,
    /// Keep a pool metadata spare (accepted; the bigger of two spares is kept)
    #[arg(long = "poolmetadataspare", value_name = "y|n")]
    poolmetadataspare: Option<YesNo>,
    #[command(flatten)]
    common: CommonArgs,
    /// Destination VG (it keeps its name)
    #[arg(value_name = "VG")]
    dst: String,
    /// VG merged into it (it disappears)
    #[arg(value_name = "VG")]
    src: String,
}

pub fn vgmerge(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgmergeArgs>(argv)? else {
        return Ok(());
    };
    let dst_name = vg_arg(&args.dst).to_string();
    let src_name = vg_arg(&args.src).to_string();
    if dst_name == src_name {
        return Err(CmdError::failed(format!(
            "Duplicate volume group name \"{src_name}\""
        )));
    }
    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let _locks = lock_two(&ctx, &dst_name, &src_name)?;
    let scan = ctx.scan()?;
    // As LVM2: the VGs are read in name order, so "not found" names the first missing one.
    let (dst, src) = if dst_name <= src_name {
        let d = ctx.load_vg(&scan, &dst_name)?;
        (d, ctx.load_vg(&scan, &src_name)?)
    } else {
        let s = ctx.load_vg(&scan, &src_name)?;
        (ctx.load_vg(&scan, &dst_name)?, s)
    };
    // As LVM2: a shared VG (either one, in the order read) is not merged.
    let read_order = if dst_name <= src_name {
        [&dst, &src]
    } else {
        [&src, &dst]
    };
    for found in read_order {
        let vg = &found.metadata.vg;
        if crate::lockd::vg_is_shared(vg) {
            return Err(CmdError::failed(format!(
                "vgmerge not allowed for lock_type {}",
                vg.lock_type.as_deref().unwrap_or("")
            )));
        }
    }
    for vg in [&dst, &src] {
        refuse_exported(vg)?;
        refuse_partial(vg)?;
    }
    if !active_lvs(&ctx, &src.metadata.vg).is_empty() {
        return Err(CmdError::failed(format!(
            "Logical volumes in \"{src_name}\" must be inactive; deactivate them first (vgchange -an {src_name})."
        )));
    }
    let merged = merge_vgs(&dst.metadata.vg, &src.metadata.vg, &mut crate::host::new_id)
        .map_err(CmdError::failed)?;
    archive_also(&ctx, &src)?;
    let mut metadata = dst.metadata.clone();
    metadata.vg = merged;
    ctx.commit_vg(&scan, Some(&dst), &mut metadata)?;
    ctx.say(format!(
        "Volume group \"{src_name}\" successfully merged into \"{dst_name}\""
    ));
    Ok(())
}

/// Archives a second VG that a write consumes (commit_vg archives the one it writes).
fn archive_also(ctx: &Context, found: &FoundVg) -> CmdResult {
    if ctx.test_mode || !ctx.config.archive_enabled() {
        return Ok(());
    }
    archive::archive(
        &ctx.config.archive_dir(),
        &found.metadata,
        &ctx.host,
        &ctx.cmdline,
        ctx.config.retain_min(),
        ctx.config.retain_days(),
    )
    .map(|_| ())
    .map_err(|e| {
        CmdError::failed(format!(
            "Cannot archive VG {} metadata in {}: {e}",
            found.metadata.vg.name,
            ctx.config.archive_dir().display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::{parse_metadata, Segment};

    fn vgdemo() -> VolumeGroup {
        let text = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        parse_metadata(&text).unwrap().vg
    }

    fn id(n: u8) -> Id {
        Id::parse(&format!("{n:0>32}")).unwrap()
    }

    /// Three PVs; lv0 on pv0, lv1 striped over pv0+pv1, lv2 on pv2.
    fn three() -> VolumeGroup {
        let mut vg = VolumeGroup::new("src", id(20), 8192);
        for n in 0..3 {
            vg.pvs.push(metadata_format::text::PhysicalVolume::new(
                id(n),
                &format!("/dev/d{n}"),
                131072,
                2048,
                15,
            ));
        }
        let mut lv0 = LogicalVolume::new("lv0", id(10));
        lv0.segments.push(Segment::linear(0, 2, id(0), 0));
        let mut lv1 = LogicalVolume::new("lv1", id(11));
        lv1.segments.push(Segment::striped(
            0,
            4,
            128,
            vec![
                Area::Pv {
                    pv: id(0),
                    start: 2,
                },
                Area::Pv {
                    pv: id(1),
                    start: 0,
                },
            ],
        ));
        let mut lv2 = LogicalVolume::new("lv2", id(12));
        lv2.segments.push(Segment::linear(0, 3, id(2), 0));
        vg.lvs = vec![lv0, lv1, lv2];
        vg
    }

    fn names(vg: &VolumeGroup) -> Vec<&str> {
        vg.lvs.iter().map(|lv| lv.name.as_str()).collect()
    }

    #[test]
    fn whole_lvs_move_with_their_pvs() {
        let src = three();
        let dst = VolumeGroup::new("dst", id(21), 8192);
        let (from, to) = split_vg(&src, &dst, &[id(2)], &|i| i.to_string()).unwrap();
        assert_eq!(names(&from), ["lv0", "lv1"]);
        assert_eq!(names(&to), ["lv2"]);
        assert_eq!(to.pvs.len(), 1);
        assert_eq!(from.pvs.len(), 2);
        assert!(from.dangling_references().is_empty());
        assert!(to.dangling_references().is_empty());
        let (from, to) = split_vg(&src, &dst, &[id(1), id(0)], &|i| i.to_string()).unwrap();
        assert_eq!(names(&from), ["lv2"]);
        assert_eq!(names(&to), ["lv0", "lv1"]);
        assert_eq!(to.pvs[0].id, id(1), "PVs join in the order given");
    }

    #[test]
    fn a_straddling_lv_is_named() {
        let src = three();
        let dst = VolumeGroup::new("dst", id(21), 8192);
        let err =
            split_vg(&src, &dst, &[id(1)], &|i| format!("PV{}", i.as_bytes()[31])).unwrap_err();
        assert!(err.starts_with("Can't split Logical Volume lv1 between two Volume Groups"));
        assert!(
            err.contains("PV48 staying in src") && err.contains("PV49 moving to dst"),
            "{err}"
        );
    }

    #[test]
    fn stacks_move_whole_or_not_at_all() {
        let vg = vgdemo();
        // Every LVM2 stack in vgdemo spans its PVs; moving one PV must be refused by name.
        let dst = VolumeGroup::new("dst", id(21), vg.extent_size);
        let pv2 = vg.pvs[2].id;
        let err = split_vg(&vg, &dst, &[pv2], &|i| i.to_string()).unwrap_err();
        assert!(err.contains("between two Volume Groups"), "{err}");
        // Moving all PVs moves everything.
        let all: Vec<Id> = vg.pvs.iter().map(|p| p.id).collect();
        let (from, to) = split_vg(&vg, &dst, &all, &|i| i.to_string()).unwrap();
        assert!(from.lvs.is_empty() && from.pvs.is_empty());
        assert_eq!(to.lvs.len(), vg.lvs.len());
        // -n r1 takes the PVs of r1's images and metadata sub-LVs.
        let pvs = pvs_of_lv(&vg, "r1");
        assert_eq!(pvs.len(), 2, "{pvs:?}");
        // The thin pool stack includes the thin volumes and their snapshots.
        let stacks = lv_stacks(&vg);
        let pool = stacks
            .iter()
            .find(|s| s.iter().any(|&i| vg.lvs[i].name == "pool"))
            .unwrap();
        let members: Vec<&str> = pool.iter().map(|&i| vg.lvs[i].name.as_str()).collect();
        for want in ["pool", "pool_tdata", "pool_tmeta", "thin1", "thinsnap"] {
            assert!(members.contains(&want), "{members:?}");
        }
    }

    #[test]
    fn merge_checks_extent_size_names_and_ids() {
        let a = three();
        let mut b = VolumeGroup::new("b", id(22), 8192);
        b.pvs.push(metadata_format::text::PhysicalVolume::new(
            id(5),
            "/dev/d5",
            131072,
            2048,
            15,
        ));
        let mut clash = LogicalVolume::new("lv0", id(13));
        clash.segments.push(Segment::linear(0, 1, id(5), 0));
        b.lvs.push(clash);
        let err = merge_vgs(&a, &b, &mut || id(30)).unwrap_err();
        assert!(err.starts_with("Duplicate logical volume name \"lv0\" in \"src\" and \"b\""));
        b.lvs[0].name = "other".into();
        b.lvs[0].id = id(10); // the same id as a's lv0
        let merged = merge_vgs(&a, &b, &mut || id(30)).unwrap();
        assert_eq!(merged.pvs.len(), 4);
        assert_eq!(merged.lv("other").unwrap().id, id(30));
        assert!(merged.dangling_references().is_empty());
        let mut c = b.clone();
        c.extent_size = 2048;
        let err = merge_vgs(&a, &c, &mut || id(30)).unwrap_err();
        assert!(
            err.starts_with("Extent sizes differ: 8192 (src) and 2048 (b)"),
            "{err}"
        );
    }
}
