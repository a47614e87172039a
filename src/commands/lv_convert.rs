//! lvconvert and lvmerge on the metadata side, writing what LVM2 2.03.16 writes:
//! `--merge` (a COW snapshot flagged merging for the next activation of its origin; a thin
//! snapshot of an inactive origin takes the origin's place at once), `--splitsnapshot`,
//! `-s ORIGIN COW`, `-m N` on raid1, mirror and linear LVs (lv_raid), and
//! `--type thin-pool --poolmetadata META DATA`. Conversions need the LVs inactive: what LVM2
//! does through the kernel for active ones is not built here.

use super::context::Context;
use super::context::PvEdits;
use super::lv::pv_sources;
use super::lv_activate::Activation;
use super::lv_io::{zero_lv_start, WIPE_BYTES};
use super::lv_online::PLAIN_SUSPEND;
use super::lv_plan::{
    add_cow_snapshot, display_size, extend_plain, generate_lv_name, hide, name_in_use, new_lv,
    pmspare, rename_lv, snapshot_of_cow, snapshots_of, split_lv_arg, sub_lvs, thin_pool_max_data,
    thin_pool_sizes, thin_seg, DEFAULT_COW_CHUNK_SECTORS,
};
use super::lv_raid::{self, ConvertCtx, Layout};
use super::vg::alloc_arg;
use crate::alloc::{self, Policy, Request};
use crate::cli::prompt::{confirm, Answerer};
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::store::lock::{LockGuard, LockMode};
use crate::store::scan::{FoundVg, Scan};
use crate::units::{parse_size, Sign};
use clap::{ArgAction, Parser};
use metadata_format::text::{
    AllocationPolicy, Id, Metadata, RaidLevel, Segment, SegmentKind, ThinPool, VolumeGroup,
};
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(about = "Change logical volume layout")]
struct LvconvertArgs {
    /// Merge a snapshot into its origin
    #[arg(long = "merge")]
    merge: bool,
    /// Split a COW snapshot from its origin (it becomes a plain LV)
    #[arg(long = "splitsnapshot")]
    splitsnapshot: bool,
    /// Make the second LV a COW snapshot of the first: -s ORIGIN COW
    #[arg(short = 's', long = "snapshot")]
    snapshot: bool,
    /// Chunk size of the COW snapshot or thin pool (default unit KiB)
    #[arg(short = 'c', long = "chunksize", value_name = "SIZE")]
    chunksize: Option<String>,
    /// Zero the start of the new COW store (y, the default) / zero new thin pool blocks
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    zero: Option<String>,
    /// Copies: N total extra copies, +N more, -N fewer (raid1, mirror, linear)
    #[arg(
        short = 'm',
        long = "mirrors",
        value_name = "NUMBER",
        allow_hyphen_values = true
    )]
    mirrors: Option<String>,
    /// Target type: raid1, mirror, thin-pool
    #[arg(long = "type", value_name = "TYPE")]
    segtype: Option<String>,
    /// Mirror log of a new mirror: disk (default) or core
    #[arg(long = "mirrorlog", value_name = "TYPE")]
    mirrorlog: Option<String>,
    /// Mirror log in memory (same as --mirrorlog core)
    #[arg(long = "corelog")]
    corelog: bool,
    /// Region size of a new mirror (default unit MiB)
    #[arg(short = 'R', long = "regionsize", value_name = "SIZE")]
    regionsize: Option<String>,
    /// The LV to become a thin pool (its data)
    #[arg(long = "thinpool", value_name = "LV")]
    thinpool: Option<String>,
    /// The LV to become the thin pool's metadata
    #[arg(long = "poolmetadata", value_name = "LV")]
    poolmetadata: Option<String>,
    /// Keep a spare pool metadata LV (lvolN_pmspare)
    #[arg(long = "poolmetadataspare", value_name = "y|n")]
    poolmetadataspare: Option<String>,
    /// Thin pool discards: passdown, nopassdown, ignore
    #[arg(long = "discards", value_name = "MODE")]
    discards: Option<String>,
    /// Allocation policy for new extents
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// Stripes of a RAID reshape (refused: oxlvm does not reshape)
    #[arg(long = "stripes", value_name = "NUMBER")]
    stripes: Option<String>,
    /// Stripe size of a RAID reshape (refused: oxlvm does not reshape)
    #[arg(short = 'I', long = "stripesize", value_name = "SIZE")]
    stripesize: Option<String>,
    /// Replace the failed images of a RAID or mirror LV (on missing PVs or failed in the
    /// kernel) with new ones from other PVs (or the PVs given); -f drops a mirror's failed
    /// legs and log without replacing them
    #[arg(long = "repair")]
    repair: bool,
    /// With --repair: do what activation/raid_fault_policy (mirror_image_fault_policy,
    /// mirror_log_fault_policy) says instead of asking
    #[arg(long = "usepolicies", alias = "use-policies")]
    usepolicies: bool,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Run in the background (accepted)
    #[arg(short = 'b', long = "background")]
    background: bool,
    /// Progress interval (accepted: metadata conversions do not wait)
    #[arg(short = 'i', long = "interval", value_name = "SECONDS")]
    interval: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// The LV(s) as VG/LV, then PVs
    #[arg(value_name = "LV")]
    args: Vec<String>,
}

#[derive(Debug, Parser)]
#[command(about = "Merge a snapshot into its origin (lvconvert --merge)")]
struct LvmergeArgs {
    /// Run in the background (accepted)
    #[arg(short = 'b', long = "background")]
    background: bool,
    /// Progress interval (accepted)
    #[arg(short = 'i', long = "interval", value_name = "SECONDS")]
    interval: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// Snapshots as VG/LV
    #[arg(value_name = "LV", required = true)]
    lvs: Vec<String>,
}

fn usage(e: impl Into<String>) -> CmdError {
    CmdError::usage(e.into())
}

fn failed(e: impl Into<String>) -> CmdError {
    CmdError::failed(e.into())
}

fn default_vg() -> Option<String> {
    std::env::var("LVM_VG_NAME").ok().filter(|v| !v.is_empty())
}

fn yn(opt: &str, v: &Option<String>) -> CmdResult<Option<bool>> {
    match v.as_deref() {
        None => Ok(None),
        Some("y" | "yes") => Ok(Some(true)),
        Some("n" | "no") => Ok(Some(false)),
        Some(other) => Err(usage(format!("{opt} {other}: use y or n."))),
    }
}

/// A VG locked and read for a change.
struct Loaded {
    ctx: Context,
    scan: Scan,
    found: FoundVg,
    _lock: LockGuard,
}

fn load(common: &CommonArgs, argv: &[OsString], vg: &str) -> CmdResult<Loaded> {
    let ctx = Context::new(common, argv)?;
    let lock = ctx.lock_vg(vg, LockMode::Exclusive)?;
    let scan = ctx.scan()?;
    let found = ctx.load_vg(&scan, vg)?;
    if found.is_partial() {
        return Err(failed(format!(
            "Cannot change VG {vg} while PVs are missing; restore them or run vgreduce --removemissing."
        )));
    }
    if !found.metadata.vg.status.iter().any(|s| s == "WRITE") {
        return Err(failed(format!(
            "Volume group {vg} is read-only; change it with vgchange -p rw first."
        )));
    }
    Ok(Loaded {
        ctx,
        scan,
        found,
        _lock: lock,
    })
}

impl Loaded {
    fn commit(&self, vg: VolumeGroup) -> CmdResult {
        if let Some(p) = vg.dangling_references().first() {
            return Err(failed(format!(
                "Internal error: planned metadata is inconsistent: {p}"
            )));
        }
        let mut md: Metadata = self.found.metadata.clone();
        md.vg = vg;
        self.ctx.commit_vg(&self.scan, Some(&self.found), &mut md)
    }

    /// Refuses when device-mapper has any of `lvs` (or what they are built into) active:
    /// these conversions are made on the metadata of inactive LVs.
    fn refuse_active(&self, vg: &VolumeGroup, lvs: &[&str]) -> CmdResult {
        let act = Activation::new(&self.ctx);
        if !act.available() {
            return Ok(());
        }
        for name in lvs {
            let mut names = vec![name.to_string()];
            names.extend(sub_lvs(vg, name));
            for n in names {
                if let Some(lv) = vg.lv(&n) {
                    if act.is_active(vg, lv) {
                        return Err(failed(format!(
                            "Logical volume {}/{n} is active: oxlvm converts inactive LVs only (converting active ones through the kernel is not built yet); deactivate it (lvchange -an {}/{name}) or use LVM2's lvconvert.",
                            vg.name, vg.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

/// LVM2's warnings before a destructive question, then the question. With nobody to answer
/// (no terminal, no -y) the command refuses in one line before warning about anything.
fn warn_and_confirm(
    ctx: &Context,
    yes: bool,
    warnings: &[String],
    question: &str,
    refusal: &str,
) -> CmdResult<bool> {
    if Answerer::current(yes, ctx.quiet) == Answerer::Nobody {
        return Err(failed(refusal));
    }
    for w in warnings {
        ctx.warn(w);
    }
    confirm(yes, ctx.quiet, question, refusal)
}

/// `VG/LV` (or `LV` with LVM_VG_NAME) to its parts.
fn lv_arg(arg: &str) -> CmdResult<(String, String)> {
    split_lv_arg(arg, default_vg().as_deref()).map_err(usage)
}

pub fn lvconvert(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvconvertArgs>(argv)? else {
        return Ok(());
    };
    let _ = (args.background, args.interval.as_deref());
    if args.stripes.is_some()
        || args.stripesize.is_some()
        || args.segtype.as_deref().is_some_and(is_takeover_type)
    {
        return refuse_takeover(&args, argv);
    }
    let pool = args.segtype.as_deref() == Some("thin-pool") || args.thinpool.is_some();
    let mirrors = args.mirrors.is_some()
        || matches!(args.segtype.as_deref(), Some("raid1" | "mirror" | "linear"));
    if args.usepolicies && !args.repair {
        return Err(usage("--usepolicies goes with --repair."));
    }
    let ops = [
        args.merge,
        args.splitsnapshot,
        args.snapshot,
        pool,
        mirrors,
        args.repair,
    ];
    match ops.iter().filter(|o| **o).count() {
        0 => {
            if let Some(t) = args.segtype.as_deref() {
                return Err(usage(format!(
                    "lvconvert --type {t} is not supported by oxlvm yet; it converts with --merge, --splitsnapshot, -s, -m (raid1, mirror) and --type thin-pool."
                )));
            }
            return Err(usage(
                "Need an operation: --merge, --splitsnapshot, -s ORIGIN COW, -m N, --repair or --type thin-pool --poolmetadata META DATA.",
            ));
        }
        1 => {}
        _ => return Err(usage(
            "Give one operation at a time (--merge, --splitsnapshot, -s, -m, --repair or --type thin-pool).",
        )),
    }
    if args.merge {
        if args.args.is_empty() {
            return Err(usage("Give the snapshot(s) to merge as VG/LV."));
        }
        return merge(&args.common, argv, &args.args);
    }
    if args.splitsnapshot {
        let [lv] = args.args.as_slice() else {
            return Err(usage(
                "Give one COW snapshot to split off: lvconvert --splitsnapshot VG/SNAP.",
            ));
        };
        return split_snapshot(&args.common, argv, lv);
    }
    if args.snapshot {
        return make_snapshot(&args, argv);
    }
    if args.repair {
        return repair(&args, argv);
    }
    if pool {
        return to_thin_pool(&args, argv);
    }
    change_copies(&args, argv)
}

/// Segment types `lvconvert --type` reaches only by a RAID takeover or reshape.
fn is_takeover_type(t: &str) -> bool {
    t == "striped" || (t != "raid1" && metadata_format::text::RaidLevel::from_name(t).is_some())
}

/// RAID takeover (`--type` to another level) and reshape (`--stripes`, `--stripesize`) are not
/// built: one line naming the LV, what it is and what was asked, exit 5, nothing written.
fn refuse_takeover(args: &LvconvertArgs, argv: &[OsString]) -> CmdResult {
    let [lv_text, ..] = args.args.as_slice() else {
        return Err(usage("Give the LV to convert as VG/LV."));
    };
    let (vg_name, name) = lv_arg(lv_text)?;
    let l = load(&args.common, argv, &vg_name)?;
    let vg = &l.found.metadata.vg;
    let lv = vg.lv(&name).ok_or_else(|| {
        failed(format!(
            "Failed to find logical volume \"{vg_name}/{name}\""
        ))
    })?;
    let current = match lv_raid::read_params(vg, lv) {
        Some(p) if p.layout.is_mirrored() => p.layout.name().to_string(),
        Some(p) => format!(
            "{} with {} stripe(s) of {}",
            p.layout.name(),
            p.stripes,
            crate::commands::lv_plan::display_size(u64::from(p.stripe_size))
        ),
        None if lv_raid::is_linear(lv) => "linear".to_string(),
        None => lv
            .segments
            .first()
            .map_or("empty", |s| s.kind.type_name())
            .to_string(),
    };
    let mut asked = Vec::new();
    if let Some(t) = &args.segtype {
        asked.push(format!("--type {t}"));
    }
    if let Some(n) = &args.stripes {
        asked.push(format!("--stripes {n}"));
    }
    if let Some(n) = &args.stripesize {
        asked.push(format!("--stripesize {n}"));
    }
    Err(failed(format!(
        "Converting {vg_name}/{name} ({current}) with {} is a RAID takeover or reshape, which oxlvm does not support; nothing was changed (LVM2's lvconvert can do it).",
        asked.join(" ")
    )))
}

/// `lvmerge VG/SNAP...` is `lvconvert --merge VG/SNAP...`.
pub fn lvmerge(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvmergeArgs>(argv)? else {
        return Ok(());
    };
    let _ = (args.background, args.interval.as_deref());
    merge(&args.common, argv, &args.lvs)
}

/// After an activation: RAID images flagged REBUILD (legs `lvconvert -m` added while the LV
/// was inactive) have had their rebuild handed to the kernel, so the flags are cleared in one
/// more write, as LVM2's _raid_add_images clears them after its reload; otherwise every later
/// activation would rebuild those legs again. Only LVs now active count.
pub fn clear_passed_rebuild_flags(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    names: &[String],
) -> CmdResult {
    let act = Activation::new(ctx);
    if !act.available() {
        return Ok(());
    }
    let mut vg = found.metadata.vg.clone();
    let mut changed = false;
    for name in names {
        let Some(lv) = vg.lv(name) else { continue };
        if !act.is_active(&vg, lv) {
            continue;
        }
        let Some(SegmentKind::Raid(r)) = lv.segments.first().map(|s| s.kind.clone()) else {
            continue;
        };
        for image in &r.images {
            for sub in std::iter::once(&image.data).chain(image.meta.iter()) {
                if let Some(l) = vg.lv_mut(sub) {
                    if l.has_status("REBUILD") {
                        lv_raid::clear_status(l, "REBUILD");
                        changed = true;
                    }
                }
            }
        }
    }
    if !changed {
        return Ok(());
    }
    let mut md = found.metadata.clone();
    md.vg = vg;
    ctx.commit_vg(scan, Some(found), &mut md)
}

// ---- --merge ----

fn merge(common: &CommonArgs, argv: &[OsString], lvs: &[String]) -> CmdResult {
    for arg in lvs {
        let (vg_name, name) = lv_arg(arg)?;
        let l = load(common, argv, &vg_name)?;
        let mut vg = l.found.metadata.vg.clone();
        let lv = vg.lv(&name).ok_or_else(|| {
            failed(format!(
                "Failed to find logical volume \"{vg_name}/{name}\""
            ))
        })?;
        if let Some(snap) = snapshot_of_cow(&vg, &name).map(|s| s.name.clone()) {
            let Some(SegmentKind::Snapshot(s)) = vg
                .lv(&snap)
                .and_then(|l| l.segments.first())
                .map(|s| s.kind.clone())
            else {
                return Err(failed(format!("{vg_name}/{snap} is not a snapshot")));
            };
            if s.merging {
                return Err(failed(format!(
                    "Snapshot {vg_name}/{name} is already merging."
                )));
            }
            let other = vg
                .lvs
                .iter()
                .find_map(|l| match l.segments.first().map(|x| &x.kind) {
                    Some(SegmentKind::Snapshot(o)) if o.origin == s.origin && o.merging => {
                        Some(o.cow.clone())
                    }
                    _ => None,
                });
            if let Some(o) = other {
                return Err(failed(format!(
                    "Cannot merge snapshot {vg_name}/{name} into the origin {vg_name}/{} while snapshot {vg_name}/{o} is merging.",
                    s.origin
                )));
            }
            if let Some(internal) = vg.lv_mut(&snap) {
                internal.status.retain(|f| f != "VISIBLE");
                if let Some(Segment {
                    kind: SegmentKind::Snapshot(sn),
                    ..
                }) = internal.segments.first_mut()
                {
                    sn.merging = true;
                }
            }
            // The kernel side (an active origin merges now, an open one later) is
            // lv_online's; without device-mapper it commits and says when the merge happens.
            let act = Activation::new(&l.ctx);
            let merged = vg.clone();
            act.merge_cow_snapshot(&l.ctx, &l.scan, &l.found, &merged, &name, &mut || {
                l.commit(merged.clone())
            })?;
            continue;
        }
        if let Some(t) = thin_seg(lv).filter(|t| t.origin.is_some()).cloned() {
            let origin = t.origin.clone().unwrap_or_default();
            l.refuse_active(&vg, &[&origin, &name])?;
            merge_thin(&mut vg, &name, &origin)?;
            l.commit(vg)?;
            l.ctx.say(format!(
                "Volume {vg_name}/{name} replaced origin {vg_name}/{origin}."
            ));
            continue;
        }
        return Err(failed(format!(
            "{vg_name}/{name} is not a snapshot: only COW and thin snapshots merge into an origin."
        )));
    }
    Ok(())
}

/// LVM2's merge of a thin snapshot into an inactive origin: the origin keeps its name,
/// identity and place but takes the snapshot's thin device; the origin's old device is
/// deleted (the pool's transaction id moves on); the snapshot entry goes.
pub fn merge_thin(vg: &mut VolumeGroup, snap: &str, origin: &str) -> CmdResult {
    let snap_lv = vg
        .lv(snap)
        .ok_or_else(|| failed(format!("{snap} not found")))?
        .clone();
    let mut seg = snap_lv
        .segments
        .first()
        .cloned()
        .ok_or_else(|| failed(format!("{snap} has no segment")))?;
    let pool = match &mut seg.kind {
        SegmentKind::Thin(t) => {
            t.origin = None;
            t.thin_pool.clone()
        }
        _ => return Err(failed(format!("{snap} is not a thin LV"))),
    };
    for lv in &mut vg.lvs {
        if lv.name == snap {
            continue;
        }
        if let Some(Segment {
            kind: SegmentKind::Thin(t),
            ..
        }) = lv.segments.first_mut()
        {
            if t.origin.as_deref() == Some(origin) {
                t.origin = None;
            } else if t.origin.as_deref() == Some(snap) {
                t.origin = Some(origin.to_string());
            }
        }
    }
    if let Some(o) = vg.lv_mut(origin) {
        o.segments = vec![seg];
    }
    vg.lvs.retain(|l| l.name != snap);
    if let Some(Segment {
        kind: SegmentKind::ThinPool(p),
        ..
    }) = vg.lv_mut(&pool).and_then(|l| l.segments.first_mut())
    {
        p.transaction_id += 1;
    }
    Ok(())
}

// ---- --splitsnapshot ----

fn split_snapshot(common: &CommonArgs, argv: &[OsString], arg: &str) -> CmdResult {
    let (vg_name, name) = lv_arg(arg)?;
    let l = load(common, argv, &vg_name)?;
    let mut vg = l.found.metadata.vg.clone();
    if vg.lv(&name).is_none() {
        return Err(failed(format!(
            "Failed to find logical volume \"{vg_name}/{name}\""
        )));
    }
    let Some(snap) = snapshot_of_cow(&vg, &name).cloned() else {
        return Err(failed(format!(
            "{vg_name}/{name} is not a COW snapshot; --splitsnapshot splits a snapshot from its origin."
        )));
    };
    let Some(SegmentKind::Snapshot(s)) = snap.segments.first().map(|x| x.kind.clone()) else {
        return Err(failed(format!("{vg_name}/{} is not a snapshot", snap.name)));
    };
    if crate::lockd::vg_is_shared(&vg) {
        // LVM2 has no lease to give the LV that becomes independent.
        return Err(failed(format!(
            "Unable to split snapshots in VG with lock_type {}.",
            vg.lock_type.as_deref().unwrap_or("")
        )));
    }
    if s.merging {
        return Err(failed(format!(
            "Unable to split off snapshot {vg_name}/{name} being merged into its origin."
        )));
    }
    l.refuse_active(&vg, &[&name, &s.origin])?;
    vg.lvs.retain(|x| x.name != snap.name);
    if let Some(cow) = vg.lv_mut(&name) {
        lv_raid::set_status(cow, "VISIBLE");
    }
    l.commit(vg)?;
    l.ctx.say(format!(
        "Logical Volume {vg_name}/{name} split from its origin."
    ));
    Ok(())
}

// ---- -s ORIGIN COW ----

fn make_snapshot(args: &LvconvertArgs, argv: &[OsString]) -> CmdResult {
    let [origin_arg, cow_arg] = args.args.as_slice() else {
        return Err(usage(
            "Give the origin and the LV to become its COW store: lvconvert -s VG/ORIGIN VG/COW.",
        ));
    };
    let (vg_name, origin) = lv_arg(origin_arg)?;
    let (vg2, cow) = if cow_arg.contains('/') {
        lv_arg(cow_arg)?
    } else {
        (vg_name.clone(), cow_arg.clone())
    };
    if vg2 != vg_name {
        return Err(usage(format!(
            "The origin and the COW store must be in one VG (\"{vg_name}\" and \"{vg2}\")."
        )));
    }
    let zero = yn("-Z", &args.zero)?.unwrap_or(true);
    let chunk = match args.chunksize.as_deref() {
        None => DEFAULT_COW_CHUNK_SECTORS,
        Some(t) => {
            let s = parse_size(t, 2).map_err(usage)?;
            let c = u32::try_from(s.sectors).map_err(|_| usage("-c: too big"))?;
            if s.sign != Sign::None || !(8..=1024).contains(&c) || !c.is_power_of_two() {
                return Err(usage(format!(
                    "Chunk size {t} is invalid: use a power of 2 between 4 KiB and 512 KiB."
                )));
            }
            c
        }
    };
    let l = load(&args.common, argv, &vg_name)?;
    let mut vg = l.found.metadata.vg.clone();
    if crate::lockd::vg_is_shared(&vg) && vg.lv(&cow).is_some() {
        return Err(failed(format!(
            "Unable to combine split snapshots in VG with lock_type {}",
            vg.lock_type.as_deref().unwrap_or("")
        )));
    }
    let o = vg.lv(&origin).ok_or_else(|| {
        failed(format!(
            "Failed to find logical volume \"{vg_name}/{origin}\""
        ))
    })?;
    let c = vg
        .lv(&cow)
        .ok_or_else(|| failed(format!("Failed to find logical volume \"{vg_name}/{cow}\"")))?;
    if origin == cow {
        return Err(usage("The origin and the COW store must be two LVs."));
    }
    let plain = |lv: &metadata_format::text::LogicalVolume| {
        crate::commands::lv_plan::is_plain(lv) && vg.is_lv_visible(lv)
    };
    if !plain(o) || snapshot_of_cow(&vg, &origin).is_some() {
        return Err(failed(format!(
            "oxlvm takes COW snapshots of visible linear and striped LVs only; {vg_name}/{origin} is not one."
        )));
    }
    if !plain(c) || !snapshots_of(&vg, &cow).is_empty() || snapshot_of_cow(&vg, &cow).is_some() {
        return Err(failed(format!(
            "{vg_name}/{cow} cannot become a COW store: it must be a visible linear or striped LV that is neither a snapshot nor an origin."
        )));
    }
    if !c.tags.is_empty() || c.has_status("LOCKED") {
        return Err(failed(format!(
            "{vg_name}/{cow} is in use (tagged or locked); use an unused LV as the COW store."
        )));
    }
    let cow_sectors = c.extent_count() * u64::from(vg.extent_size);
    if cow_sectors < 3 * u64::from(chunk) {
        return Err(failed(format!(
            "Snapshot volume cannot be smaller than {} for chunk size {}.",
            display_size(3 * u64::from(chunk)),
            display_size(u64::from(chunk))
        )));
    }
    l.refuse_active(&vg, &[&origin, &cow])?;
    let q = format!("Do you really want to convert {vg_name}/{cow}?");
    let refuse = format!(
        "Not converting {vg_name}/{cow} into a COW store without confirmation: no terminal to ask on; add -y to convert it."
    );
    let warnings = [
        format!("WARNING: Converting logical volume {vg_name}/{cow} to snapshot exception store."),
        "THIS WILL DESTROY CONTENT OF LOGICAL VOLUME (filesystem etc.)".to_string(),
    ];
    if !warn_and_confirm(&l.ctx, args.yes, &warnings, &q, &refuse)? {
        return Err(failed(format!(
            "Logical volume {vg_name}/{cow} not converted."
        )));
    }
    add_cow_snapshot(
        &mut vg,
        &origin,
        &cow,
        chunk,
        crate::host::new_id(),
        l.ctx.host.now,
        &l.ctx.host.node,
    )
    .map_err(failed)?;
    if zero {
        // A COW store starts with a zeroed header, as LVM2 wipes it.
        zero_lv_start(&l.ctx, &l.scan, &vg, &cow, WIPE_BYTES)?;
    } else {
        l.ctx.warn(format!(
            "WARNING: {vg_name}/{cow} is not zeroed: the kernel reads its old content as a snapshot header."
        ));
    }
    l.commit(vg)?;
    l.ctx.say(format!(
        "Logical volume {vg_name}/{cow} converted to snapshot."
    ));
    Ok(())
}

// ---- --type thin-pool --poolmetadata META DATA ----

fn to_thin_pool(args: &LvconvertArgs, argv: &[OsString]) -> CmdResult {
    let data_arg = match (&args.thinpool, args.args.as_slice()) {
        (Some(p), []) => p.clone(),
        (None, [d]) => d.clone(),
        (Some(_), _) => {
            return Err(usage(
                "Give the pool's data LV once: --thinpool VG/LV or as the argument.",
            ))
        }
        (None, _) => {
            return Err(usage(
                "Give the LV to become the pool: lvconvert --type thin-pool --poolmetadata VG/META VG/DATA.",
            ))
        }
    };
    let Some(meta_arg) = args.poolmetadata.as_deref() else {
        return Err(usage(
            "oxlvm makes a thin pool from two LVs: add --poolmetadata VG/META (creating the metadata LV here is not built yet).",
        ));
    };
    let (vg_name, data) = lv_arg(&data_arg)?;
    let (vg2, meta) = if meta_arg.contains('/') {
        lv_arg(meta_arg)?
    } else {
        (vg_name.clone(), meta_arg.to_string())
    };
    if vg2 != vg_name {
        return Err(usage(format!(
            "The pool's data and metadata must be in one VG (\"{vg_name}\" and \"{vg2}\")."
        )));
    }
    if data == meta {
        return Err(usage("The pool's data and metadata must be two LVs."));
    }
    let zero = yn("-Z", &args.zero)?;
    let spare = yn("--poolmetadataspare", &args.poolmetadataspare)?.unwrap_or(true);
    if let Some(d) = args.discards.as_deref() {
        if !matches!(d, "passdown" | "nopassdown" | "ignore") {
            return Err(usage(format!(
                "--discards {d}: use passdown, nopassdown or ignore."
            )));
        }
    }
    let chunk = match args.chunksize.as_deref() {
        None => None,
        Some(t) => {
            let s = parse_size(t, 2).map_err(usage)?;
            if s.sign != Sign::None || s.sectors == 0 {
                return Err(usage(format!("-c {t}: give a positive size.")));
            }
            Some(u32::try_from(s.sectors).map_err(|_| usage("-c: too big"))?)
        }
    };
    let policy_arg = alloc_arg(args.alloc.as_deref())?;
    let l = load(&args.common, argv, &vg_name)?;
    let mut vg = l.found.metadata.vg.clone();
    for n in [&data, &meta] {
        let lv = vg
            .lv(n)
            .ok_or_else(|| failed(format!("Failed to find logical volume \"{vg_name}/{n}\"")))?;
        if !crate::commands::lv_plan::is_plain(lv) || !vg.is_lv_visible(lv) {
            return Err(failed(format!(
                "{vg_name}/{n} cannot become part of a thin pool: oxlvm converts visible linear and striped LVs."
            )));
        }
        if !snapshots_of(&vg, n).is_empty() || snapshot_of_cow(&vg, n).is_some() {
            return Err(failed(format!(
                "{vg_name}/{n} is a snapshot or has snapshots; it cannot become part of a thin pool."
            )));
        }
    }
    let meta_extents = vg.lv(&meta).map_or(0, |l| l.extent_count());
    let data_extents = vg.lv(&data).map_or(0, |l| l.extent_count());
    let meta_sectors = meta_extents * u64::from(vg.extent_size);
    if meta_sectors < 4096 {
        return Err(failed(format!(
            "Pool metadata {vg_name}/{meta} is too small ({}); it needs at least 2.00 MiB.",
            display_size(meta_sectors)
        )));
    }
    let data_extents = u32::try_from(data_extents).map_err(|_| failed("data LV too big"))?;
    let (chunk_size, _) =
        thin_pool_sizes(data_extents, vg.extent_size, chunk, Some(meta_sectors)).map_err(failed)?;
    for n in [format!("{data}_tdata"), format!("{data}_tmeta")] {
        if name_in_use(&vg, &n) {
            return Err(failed(format!(
                "Logical Volume \"{n}\" already exists in volume group \"{vg_name}\""
            )));
        }
    }
    // A shared VG: neither LV may be active on another host (LVM2's transient ex locks).
    super::shared::lock_for_change(&l.ctx, &vg, &data)?;
    super::shared::lock_for_change(&l.ctx, &vg, &meta)?;
    l.refuse_active(&vg, &[&data, &meta])?;
    l.ctx.say(format!(
        "Thin pool volume with chunk size {} can address at most {} of data.",
        display_size(u64::from(chunk_size)),
        display_size(thin_pool_max_data(chunk_size))
    ));
    let q = format!("Do you really want to convert {vg_name}/{data} and {vg_name}/{meta}?");
    let refuse = format!(
        "Not converting {vg_name}/{data} and {vg_name}/{meta} into a thin pool without confirmation: no terminal to ask on; add -y to convert them."
    );
    let warnings = [
        format!("WARNING: Converting {vg_name}/{data} and {vg_name}/{meta} to thin pool's data and metadata volumes with metadata wiping."),
        "THIS WILL DESTROY CONTENT OF LOGICAL VOLUME (filesystem etc.)".to_string(),
    ];
    if !warn_and_confirm(&l.ctx, args.yes, &warnings, &q, &refuse)? {
        return Err(failed(format!(
            "Logical volumes {vg_name}/{data} and {vg_name}/{meta} not converted."
        )));
    }
    let now = l.ctx.host.now;
    let host = l.ctx.host.node.clone();
    let policy = policy_arg
        .as_ref()
        .filter(|p| **p != AllocationPolicy::Inherit)
        .or(vg.allocation_policy.as_ref())
        .and_then(|p| Policy::from_name(p.as_str()))
        .unwrap_or(Policy::Normal);
    // The data LV becomes `DATA_tdata` and the metadata `DATA_tmeta`, both hidden, where they
    // are in the list; the pool is a new LV named DATA appended to it, then the spare (LVM2
    // allocates it as an LV named lvolN and renames it).
    let tdata = format!("{data}_tdata");
    let tmeta = format!("{data}_tmeta");
    let data_policy = vg.lv(&data).and_then(|l| l.rare.allocation_policy.clone());
    // In a shared VG the pool gets a lease of its own (the write allocates it); the two LVs
    // lose theirs (freed after the write), as LVM2's lvconvert does.
    for (from, to) in [(&data, &tdata), (&meta, &tmeta)] {
        if let Some(lv) = vg.lv_mut(from) {
            lv.name = to.clone();
            lv.rare.lock_args = None;
            hide(lv);
        }
    }
    let mut pool = new_lv(&data, crate::host::new_id(), now, &host);
    pool.rare.allocation_policy = data_policy;
    pool.segments.push(Segment::new(
        0,
        data_extents,
        SegmentKind::ThinPool(Box::new(ThinPool {
            metadata: tmeta.clone(),
            pool: tdata,
            transaction_id: 0,
            chunk_size,
            discards: Some(
                args.discards
                    .clone()
                    .unwrap_or_else(|| "passdown".to_string()),
            ),
            zero_new_blocks: zero.unwrap_or(true),
            crop_metadata: None,
            messages: Vec::new(),
        })),
    ));
    vg.lvs.push(pool);
    let meta_len = u32::try_from(meta_extents).unwrap_or(u32::MAX);
    if spare {
        let sources = alloc::all_pvs(&vg);
        match pmspare(&vg).map(|s| (s.name.clone(), s.extent_count())) {
            Some((name, have)) if have < u64::from(meta_len) => {
                let more = meta_len - u32::try_from(have).unwrap_or(0);
                let req = Request::new(1, more, policy);
                extend_plain(&mut vg, &name, &req, &sources, 0).map_err(failed)?;
            }
            Some(_) => {}
            None => {
                let base = generate_lv_name(&vg, "lvol");
                let mut lv = new_lv(&base, crate::host::new_id(), now, &host);
                hide(&mut lv);
                vg.lvs.push(lv);
                let req = Request::new(1, meta_len, policy);
                extend_plain(&mut vg, &base, &req, &sources, 0).map_err(failed)?;
                rename_lv(&mut vg, &base, &format!("{base}_pmspare"));
            }
        }
    } else {
        l.ctx
            .warn("WARNING: recovery of pools without pool metadata spare LV is not automated.");
    }
    // New pool metadata starts zeroed: the kernel formats it on the first activation.
    zero_lv_start(&l.ctx, &l.scan, &vg, &tmeta, WIPE_BYTES)?;
    l.commit(vg)?;
    l.ctx.say(format!(
        "Converted {vg_name}/{data} and {vg_name}/{meta} to thin pool."
    ));
    Ok(())
}

// ---- -m N ----

fn change_copies(args: &LvconvertArgs, argv: &[OsString]) -> CmdResult {
    let Some((lv_arg_text, pv_args)) = args.args.split_first() else {
        return Err(usage("Give the LV to convert as VG/LV."));
    };
    let (vg_name, name) = lv_arg(lv_arg_text)?;
    let wanted_type = match args.segtype.as_deref() {
        None => None,
        Some("raid1") => Some(Layout::Raid(RaidLevel::Raid1)),
        Some("mirror") => Some(Layout::Mirror),
        // --type linear is -m 0 (raid1 and mirror LVs become linear).
        Some("linear") => None,
        Some(t) => {
            return Err(usage(format!(
                "lvconvert --type {t} is not supported by oxlvm yet; -m converts raid1, mirror and linear LVs."
            )))
        }
    };
    enum Count {
        Total(u32),
        More(u32),
        Fewer(u32),
    }
    if args.segtype.as_deref() == Some("linear")
        && args
            .mirrors
            .as_deref()
            .is_some_and(|m| m.trim_start_matches('+') != "0")
    {
        return Err(usage(
            "--type linear leaves one image: use it without -m, or with -m 0.",
        ));
    }
    let count = match args.mirrors.as_deref() {
        None if args.segtype.as_deref() == Some("linear") => Count::Total(0),
        None => Count::Total(1),
        Some(t) => {
            let (kind, digits): (fn(u32) -> Count, &str) = match t.as_bytes().first() {
                Some(b'+') => (Count::More, &t[1..]),
                Some(b'-') => (Count::Fewer, &t[1..]),
                _ => (Count::Total, t),
            };
            kind(digits.parse::<u32>().map_err(|_| {
                usage(format!(
                    "-m {t}: give the number of extra copies (N), or +N / -N to add or remove some."
                ))
            })?)
        }
    };
    let region = match args.regionsize.as_deref() {
        None => lv_raid::DEFAULT_REGION_SECTORS,
        Some(t) => {
            let r = parse_size(t, 2048).map_err(usage)?;
            let r = u32::try_from(r.sectors).unwrap_or(0);
            if r == 0 || r % 8 != 0 || !r.is_power_of_two() {
                return Err(usage(format!(
                    "-R {t}: the region size must be a power of 2 and a multiple of 4 KiB."
                )));
            }
            r
        }
    };
    let disk_log = match (args.mirrorlog.as_deref(), args.corelog) {
        (Some(_), true) => return Err(usage("Please use only one of --corelog or --mirrorlog.")),
        (None, c) => !c,
        (Some("disk"), false) => true,
        (Some("core"), false) => false,
        (Some(o), false) => return Err(usage(format!("--mirrorlog {o}: use disk or core."))),
    };
    let policy_arg = alloc_arg(args.alloc.as_deref())?;
    let l = load(&args.common, argv, &vg_name)?;
    let mut vg = l.found.metadata.vg.clone();
    let lv = vg
        .lv(&name)
        .ok_or_else(|| {
            failed(format!(
                "Failed to find logical volume \"{vg_name}/{name}\""
            ))
        })?
        .clone();
    if !vg.is_lv_visible(&lv) {
        return Err(failed(format!(
            "Cannot convert internal LV {vg_name}/{name}."
        )));
    }
    // A shared VG: the LV must not be active on another host (LVM2's transient ex lock).
    super::shared::lock_for_change(&l.ctx, &vg, &name)?;
    let current = lv_raid::read_params(&vg, &lv);
    let (layout, have) = match (&current, lv_raid::is_linear(&lv)) {
        (Some(p), _) if matches!(p.layout, Layout::Mirror | Layout::Raid(RaidLevel::Raid1)) => {
            (p.layout, p.mirrors)
        }
        (Some(p), _) => {
            return Err(failed(format!(
                "oxlvm changes the copies of raid1, mirror and linear LVs; {vg_name}/{name} is {}.",
                p.layout.name()
            )))
        }
        (None, true) => (wanted_type.unwrap_or(Layout::Raid(RaidLevel::Raid1)), 1),
        (None, false) => {
            return Err(failed(format!(
                "oxlvm changes the copies of raid1, mirror and linear LVs; {vg_name}/{name} is {}.",
                lv.segments.first().map_or("empty", |s| s.kind.type_name())
            )))
        }
    };
    if let Some(t) = wanted_type {
        if t != layout && have > 1 {
            return Err(failed(format!(
                "Converting {} LV {vg_name}/{name} to {} is not supported by oxlvm yet.",
                layout.name(),
                t.name()
            )));
        }
    }
    let new_count = match count {
        Count::Total(n) => n.saturating_add(1),
        Count::More(n) => have.saturating_add(n),
        Count::Fewer(n) => {
            if n >= have {
                return Err(usage(format!(
                    "-m -{n}: {vg_name}/{name} has {have} image(s); it cannot lose {n}."
                )));
            }
            have - n
        }
    };
    let max = match layout {
        Layout::Mirror => lv_raid::MAX_MIRROR_IMAGES,
        _ => lv_raid::MAX_RAID_IMAGES,
    };
    if new_count > max {
        return Err(usage(format!(
            "Only up to {max} images in {} supported currently.",
            layout.name()
        )));
    }
    if new_count == have {
        return Err(failed(format!(
            "{vg_name}/{name} already has image count of {have}."
        )));
    }
    // Legs added to an active mirror that has two or more go in through the kernel; every
    // other conversion is made on an inactive LV.
    let act = Activation::new(&l.ctx);
    let live = layout == Layout::Mirror
        && new_count > have
        && have >= 2
        && act.available()
        && act.is_active(&vg, &lv);
    if live {
        if lv.status.iter().any(|s| s == "NOTSYNCED") {
            return Err(failed(format!(
                "Can't add mirror to out-of-sync mirrored LV {vg_name}/{name}: use lvchange --resync first."
            )));
        }
        if !super::lv_plan::snapshots_of(&vg, &name).is_empty() {
            return Err(failed(format!(
                "Can't add additional mirror images to mirror {vg_name}/{name} which is under snapshots."
            )));
        }
    } else {
        l.refuse_active(&vg, &[&name])?;
    }
    let policy = policy_arg
        .as_ref()
        .or(lv.rare.allocation_policy.as_ref())
        .filter(|p| **p != AllocationPolicy::Inherit)
        .or(vg.allocation_policy.as_ref())
        .and_then(|p| Policy::from_name(p.as_str()))
        .unwrap_or(Policy::Normal);
    let sources = pv_sources(&l.ctx, &l.scan, &vg, pv_args)?;
    let on_pvs: Vec<usize> = if pv_args.is_empty() {
        Vec::new()
    } else {
        sources.iter().map(|s| s.pv).collect()
    };
    let raid = matches!(layout, Layout::Raid(_));
    if raid {
        let from = if have == 1 { "linear" } else { "raid1" };
        let q = format!(
            "Are you sure you want to convert {from} LV {vg_name}/{name} to {}{new_count} images {} resilience?",
            if have == 1 { "raid1 with " } else { "" },
            if new_count > have { "enhancing" } else { "reducing" }
        );
        let refuse = format!(
            "Not converting {vg_name}/{name} to {new_count} images without confirmation: no terminal to ask on; add -y to convert it."
        );
        if !confirm(args.yes, l.ctx.quiet, &q, &refuse)? {
            return Err(failed(format!(
                "Logical volume {vg_name}/{name} NOT converted."
            )));
        }
    }
    let c = ConvertCtx {
        sources: &sources,
        policy,
        now: l.ctx.host.now,
        host: &l.ctx.host.node,
    };
    let mut ids = crate::host::new_id;
    let mut clear: Vec<String> = Vec::new();
    match (layout, new_count > have, have == 1) {
        (Layout::Raid(_), true, true) => {
            clear = lv_raid::linear_to_raid1(&mut vg, &name, new_count, &c, &mut ids)
                .map_err(failed)?;
        }
        (Layout::Raid(_), true, false) => {
            clear = lv_raid::add_raid1_images(&mut vg, &name, new_count, &c, &mut ids)
                .map_err(failed)?;
        }
        (Layout::Raid(_), false, _) => {
            lv_raid::remove_raid1_images(&mut vg, &name, new_count, &on_pvs).map_err(failed)?;
        }
        (Layout::Mirror, true, true) => {
            clear.extend(
                lv_raid::linear_to_mirror(
                    &mut vg, &name, new_count, disk_log, region, &c, &mut ids,
                )
                .map_err(failed)?,
            );
        }
        (Layout::Mirror, true, false) => {
            clear.extend(
                lv_raid::add_mirror_legs(&mut vg, &name, new_count, &c, &mut ids)
                    .map_err(failed)?,
            );
        }
        (Layout::Mirror, false, _) => {
            lv_raid::remove_mirror_legs(&mut vg, &name, new_count, &on_pvs).map_err(failed)?;
        }
    }
    if live {
        return add_legs_live(&l, &act, vg, &name, clear.first().cloned());
    }
    // New RAID metadata and mirror logs start zeroed, as LVM2 clears them, so the first
    // activation resynchronises the new legs.
    for n in &clear {
        let len = if n.ends_with("_mlog") {
            // A mirror log is cleared whole, as LVM2 initialises it.
            vg.lv(n).map_or(WIPE_BYTES, |l| {
                l.extent_count() * u64::from(vg.extent_size) * 512
            })
        } else {
            WIPE_BYTES
        };
        zero_lv_start(&l.ctx, &l.scan, &vg, n, len)?;
    }
    l.commit(vg)?;
    if raid {
        l.ctx.say(format!(
            "Logical volume {vg_name}/{name} successfully converted."
        ));
    } else {
        l.ctx
            .say(format!("Logical volume {vg_name}/{name} converted."));
    }
    Ok(())
}

/// The end of `lvconvert -m` adding legs to an active mirror of two or more: `vg` holds the
/// final layout (LVM2 reaches it by collapsing a `_mimagetmp_N` layer once in sync). The mirror
/// is suspended, its disk log `log` cleared (so the kernel copies every region from the first
/// leg; a core log starts out of sync anyway), the metadata committed, the table with every
/// leg loaded and resumed; then the command waits for the copy as LVM2's poll does.
fn add_legs_live(
    l: &Loaded,
    act: &Activation,
    vg: VolumeGroup,
    name: &str,
    log: Option<String>,
) -> CmdResult {
    if let Some(p) = vg.dangling_references().first() {
        return Err(failed(format!(
            "Internal error: planned metadata is inconsistent: {p}"
        )));
    }
    act.set_mirror_in_sync(false);
    let mut commit = || {
        if let Some(log) = &log {
            let len = vg.lv(log).map_or(WIPE_BYTES, |lv| {
                lv.extent_count() * u64::from(vg.extent_size) * 512
            });
            zero_lv_start(&l.ctx, &l.scan, &vg, log, len)?;
        }
        let mut md: Metadata = l.found.metadata.clone();
        md.vg = vg.clone();
        l.ctx.commit_vg(&l.scan, Some(&l.found), &mut md)
    };
    act.update_and_reload(
        &l.ctx,
        &l.scan,
        &l.found,
        &vg,
        name,
        name,
        MIRROR_REPAIR_SUSPEND,
        &mut commit,
    )?;
    l.ctx.say(format!(
        "Logical volume {}/{name} being converted.",
        vg.name
    ));
    wait_mirror_synced(&l.ctx, act, &vg, name)?;
    if log.is_some() {
        // LVM2's poll ends by collapsing its temporary layer (used for disk-log mirrors only),
        // with this line.
        l.ctx
            .say(format!("Logical volume {}/{name} converted.", vg.name));
    }
    Ok(())
}

// ---- --repair ----

/// `lvconvert --repair VG/LV [PV...]` as LVM2's _lvconvert_repair_pvs_raid: an active RAID LV
/// gets new images for those on failed PVs (or dead in the kernel), rebuilt by dm-raid; the
/// metadata is committed while the LV is suspended for its new table, then the REBUILD flags
/// are cleared with a second commit and reload, as LVM2's lv_raid_replace does.
fn repair(args: &LvconvertArgs, argv: &[OsString]) -> CmdResult {
    let Some((lv_text, pv_args)) = args.args.split_first() else {
        return Err(usage("Give the LV to repair as VG/LV."));
    };
    let (vg_name, name) = lv_arg(lv_text)?;
    let policy_arg = alloc_arg(args.alloc.as_deref())?;
    let ctx = Context::new(&args.common, argv)?;
    let _lock = ctx.lock_vg(&vg_name, LockMode::Exclusive)?;
    let scan = ctx.scan()?;
    let found = ctx.load_vg(&scan, &vg_name)?;
    if !found.metadata.vg.status.iter().any(|s| s == "WRITE") {
        return Err(failed(format!(
            "Volume group {vg_name} is read-only; change it with vgchange -p rw first."
        )));
    }
    let vg = found.metadata.vg.clone();
    let display = format!("{vg_name}/{name}");
    let lv = vg
        .lv(&name)
        .ok_or_else(|| failed(format!("Failed to find logical volume \"{display}\"")))?
        .clone();
    let act = Activation::new(&ctx);
    match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Raid(_)) => {}
        Some(SegmentKind::Mirror(_)) if vg.is_lv_visible(&lv) => {
            let _ = policy_arg;
            return repair_mirror(args, &ctx, &scan, &found, &act, &name, pv_args);
        }
        _ => {
            return Err(failed(format!(
                "Unsupported volume type for repair of volume {display}."
            )))
        }
    }
    if !act.is_active(&vg, &lv) {
        return Err(failed(format!(
            "Logical volume {display} must be active to perform this operation."
        )));
    }
    if args.usepolicies {
        let policy = ctx
            .config
            .get_str("activation/raid_fault_policy")
            .unwrap_or("warn");
        if policy != "allocate" && policy != "replace" {
            ctx.warn(format!(
                "Use 'lvconvert --repair {display}' to replace failed device."
            ));
            return Ok(());
        }
    } else if !confirm(
        args.yes,
        ctx.quiet,
        "Attempt to replace failed RAID images (requires full device resync)?",
        &format!(
            "Not replacing the failed images of {display} without confirmation: no terminal to ask on; add -y to replace them."
        ),
    )? {
        return Ok(());
    }
    let status = act.raid_status(&vg, &lv);
    if let Some(st) = &status {
        if st.total_regions > 0 && st.insync_regions < st.total_regions {
            return Err(failed(format!(
                "Unable to replace devices in {display} while it is not in-sync."
            )));
        }
    }
    // LVM2's _failed_pv_list: missing PVs that hold extents.
    let failed_pvs: Vec<metadata_format::text::Id> = super::vg_plan::missing_pv_ids(&found)
        .into_iter()
        .filter(|id| super::vg_plan::pv_used_extents(&vg, id) > 0)
        .collect();
    let images = lv_raid::failed_images(
        &vg,
        &lv,
        &failed_pvs,
        status.as_ref().map(|s| s.dev_health.as_str()),
    );
    if images.is_empty() {
        if !failed_pvs.is_empty() {
            return Err(failed(format!(
                "Logical volume {display} does not contain devices specified to replace."
            )));
        }
        ctx.say(format!(
            "{display} does not contain devices specified to replace."
        ));
        ctx.say(format!(
            "Faulty devices in {display} successfully replaced."
        ));
        return Ok(());
    }
    lv_raid::check_replace(&vg, &lv, &images).map_err(failed)?;
    let missing = super::vg_plan::missing_pv_ids(&found);
    let sources: Vec<alloc::PvSource> = pv_sources(&ctx, &scan, &vg, pv_args)?
        .into_iter()
        .filter(|s| !missing.contains(&vg.pvs[s.pv].id))
        .collect();
    let policy = policy_arg
        .as_ref()
        .or(lv.rare.allocation_policy.as_ref())
        .filter(|p| **p != AllocationPolicy::Inherit)
        .or(vg.allocation_policy.as_ref())
        .and_then(|p| Policy::from_name(p.as_str()))
        .unwrap_or(Policy::Normal);
    let c = ConvertCtx {
        sources: &sources,
        policy,
        now: ctx.host.now,
        host: &ctx.host.node,
    };
    let mut planned = vg.clone();
    let mut ids = crate::host::new_id;
    let removed = lv_raid::replace_raid_images(&mut planned, &name, &images, &[], &c, &mut ids)
        .map_err(|e| {
            failed(format!(
                "Failed to allocate replacement images for {display}: {e}"
            ))
        })?;
    if let Some(p) = planned.dangling_references().first() {
        return Err(failed(format!(
            "Internal error: planned metadata is inconsistent: {p}"
        )));
    }
    // The failed images' devices make room for their replacements' names.
    let mut renamed: Vec<&metadata_format::text::LogicalVolume> = Vec::new();
    let mut result: CmdResult = Ok(());
    for old in &removed {
        match act.rename_aside(&vg, old, &format!("{}_extracted", old.name)) {
            Ok(()) => renamed.push(old),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let allow_missing = PvEdits {
        allow_missing_pvs: true,
        ..PvEdits::default()
    };
    if result.is_ok() {
        let mut commit = || {
            let mut md = found.metadata.clone();
            md.vg = planned.clone();
            ctx.commit_vg_with(&scan, Some(&found), &mut md, &allow_missing)
        };
        result = act.update_and_reload(
            &ctx,
            &scan,
            &found,
            &planned,
            &name,
            &name,
            PLAIN_SUSPEND,
            &mut commit,
        );
    }
    if let Err(e) = result {
        // Nothing was committed: the old devices get their names back.
        for old in renamed {
            let aside = crate::dm::tables::dm_layer_name(
                &vg.name,
                &format!("{}_extracted", old.name),
                None,
            );
            if let Some(control) = act.live_control() {
                let _ = control.rename(
                    crate::dm::ioctl::DevId::Name(&aside),
                    &crate::dm::tables::dm_layer_name(&vg.name, &old.name, None),
                );
            }
        }
        return Err(e);
    }
    // The rebuild is under way: the REBUILD flags go, with a reload so the table no longer
    // asks for it (LVM2's second lv_update_and_reload_origin).
    let scan2 = ctx.scan()?;
    let found2 = scan2
        .find_vg(&vg_name)
        .map_err(CmdError::failed)?
        .ok_or_else(|| failed(format!("Volume group \"{vg_name}\" not found")))?;
    let mut cleared = found2.metadata.vg.clone();
    if let Some(SegmentKind::Raid(r)) = cleared
        .lv(&name)
        .and_then(|l| l.segments.first())
        .map(|s| s.kind.clone())
    {
        for image in &r.images {
            for sub in std::iter::once(&image.data).chain(image.meta.iter()) {
                if let Some(l) = cleared.lv_mut(sub) {
                    lv_raid::clear_status(l, "REBUILD");
                }
            }
        }
    }
    let mut commit = || {
        let mut md = found2.metadata.clone();
        md.vg = cleared.clone();
        ctx.commit_vg_with(&scan2, Some(&found2), &mut md, &allow_missing)
    };
    act.update_and_reload(
        &ctx,
        &scan2,
        &found2,
        &cleared,
        &name,
        &name,
        PLAIN_SUSPEND,
        &mut commit,
    )?;
    ctx.say(format!(
        "Faulty devices in {display} successfully replaced."
    ));
    Ok(())
}

/// `lvconvert --repair` of a mirror as LVM2's _lvconvert_mirrors_repair: the failed legs (on
/// missing PVs or dead in the kernel) and a failed disk log are dropped first (a mirror left
/// with one leg becomes linear), in one commit with the LV reloaded; then, unless -f or the
/// fault policies say "remove", the mirror is converted back up to its legs and log
/// ([`lv_raid::plan_mirror_upconvert`]: a leg, then the log, given up when there is no room,
/// as LVM2's retry loop does), loaded while the LV stays active, and the command waits for
/// the kernel to copy the data to the new legs. A mirror that keeps two or more legs gets its
/// new legs in the final layout at once (LVM2 goes through a `_mimagetmp_N` layer and
/// collapses it when in sync): its disk log is cleared while it is suspended, before the
/// commit, so the kernel copies every region from the first leg to the others.
#[allow(clippy::too_many_arguments)]
/// The suspend around a mirror's repair reloads: no flush (LVM2 suspends mirrors without
/// one), so a write the kernel holds for a failed leg or log is requeued to the new table
/// rather than failed.
const MIRROR_REPAIR_SUSPEND: crate::dm::apply::SuspendMode = crate::dm::apply::SuspendMode {
    flush: false,
    lockfs: false,
};

fn repair_mirror(
    args: &LvconvertArgs,
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    act: &Activation,
    name: &str,
    pv_args: &[String],
) -> CmdResult {
    let vg = &found.metadata.vg;
    let display = format!("{}/{name}", vg.name);
    let Some(lv) = vg.lv(name) else {
        return Err(failed(format!(
            "Failed to find logical volume \"{display}\""
        )));
    };
    let Some(SegmentKind::Mirror(m)) = lv.segments.first().map(|s| s.kind.clone()) else {
        return Err(failed(format!(
            "Unsupported volume type for repair of volume {display}."
        )));
    };
    if lv.segments.len() != 1 {
        return Err(failed(format!(
            "Logical volume {display} has multiple mirror segments."
        )));
    }
    let missing = super::vg_plan::missing_pv_ids(found);
    let on_missing = |n: &str| {
        vg.lv(n).is_some_and(|l| {
            l.segments.iter().any(|seg| {
                seg.areas().iter().any(|a| {
                    matches!(a, metadata_format::text::Area::Pv { pv, .. } if missing.contains(pv))
                })
            })
        })
    };
    // The kernel's view (LVM2's lv_check_transient): a leg the mirror target reports dead, a
    // disk log it reports anything but alive (`D` device failed, `F` flush failed).
    let status = act.mirror_health(vg, lv);
    let health = status
        .as_ref()
        .map(|s| s.dev_health.clone())
        .unwrap_or_default();
    let log_dead = status
        .as_ref()
        .and_then(|s| s.log_health)
        .is_some_and(|c| c != 'A');
    let legs = lv_raid::data_images(lv);
    let failed_legs: Vec<String> = legs
        .iter()
        .enumerate()
        .filter(|(i, leg)| on_missing(leg) || health.as_bytes().get(*i) == Some(&b'D'))
        .map(|(_, leg)| leg.clone())
        .collect();
    let failed_log = m
        .mirror_log
        .as_deref()
        .is_some_and(|l| on_missing(l) || log_dead);
    // The PVs a failed log was on: its replacement goes elsewhere, even where the PV itself
    // still answers (a log the kernel saw fail on a PV that is not missing).
    let failed_log_pvs: Vec<Id> = match m.mirror_log.as_deref().and_then(|l| vg.lv(l)) {
        Some(log) if failed_log => log
            .segments
            .iter()
            .flat_map(|seg| seg.areas())
            .filter_map(|a| match a {
                metadata_format::text::Area::Pv { pv, .. } => Some(*pv),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if failed_legs.is_empty() && !failed_log {
        ctx.say(format!(
            "Volume {display} is consistent. Nothing to repair."
        ));
        return Ok(());
    }
    if failed_legs.len() == legs.len() {
        return Err(failed(format!(
            "No usable images left in {display}: remove it (lvremove) or restore its PVs."
        )));
    }
    let original_legs = legs.len() as u32;
    let original_logs = u32::from(m.mirror_log.is_some());
    // What to convert back up to: LVM2's _lvconvert_mirrors_repair_ask.
    let (mut replace_log, replace_legs) = if args.usepolicies {
        let leg_policy = ctx
            .config
            .get_str("activation/mirror_image_fault_policy")
            .unwrap_or("remove");
        let log_policy = ctx
            .config
            .get_str("activation/mirror_log_fault_policy")
            .unwrap_or("allocate");
        (log_policy != "remove", leg_policy != "remove")
    } else if args.force > 0 {
        (false, false)
    } else {
        let refuse = format!(
            "Not repairing {display} without confirmation: no terminal to ask on; add -y to replace the failed images (or -f to only remove them)."
        );
        let mut log = true;
        let mut legs_too = true;
        if failed_log
            && !confirm(
                args.yes,
                ctx.quiet,
                "Attempt to replace failed mirror log?",
                &refuse,
            )?
        {
            log = false;
        }
        if !failed_legs.is_empty()
            && !confirm(
                args.yes,
                ctx.quiet,
                "Attempt to replace failed mirror images (requires full device resync)?",
                &refuse,
            )?
        {
            legs_too = false;
        }
        (log, legs_too)
    };
    let target_legs = if replace_legs {
        original_legs
    } else {
        original_legs - failed_legs.len() as u32
    };
    if target_legs == 1 {
        replace_log = false;
    }
    let target_logs = if replace_log {
        original_logs
    } else {
        original_logs - u32::from(failed_log)
    };
    let left_legs = original_legs - failed_legs.len() as u32;
    // Phase one: drop what failed, reloading the LV around the commit.
    let mut planned = vg.clone();
    super::vg_plan::drop_mirror_images(&mut planned, name, &failed_legs, failed_log)
        .map_err(failed)?;
    if super::vg_plan::mirror_log_dropped(vg, &planned, name) && act.mirror_in_sync(vg, lv) {
        act.set_mirror_in_sync(true);
    }
    let allow_missing = PvEdits {
        allow_missing_pvs: true,
        ..PvEdits::default()
    };
    let mut commit = || {
        let mut md = found.metadata.clone();
        md.vg = planned.clone();
        ctx.commit_vg_with(scan, Some(found), &mut md, &allow_missing)
    };
    act.update_and_reload(
        ctx,
        scan,
        found,
        &planned,
        name,
        name,
        MIRROR_REPAIR_SUSPEND,
        &mut commit,
    )?;
    if !failed_legs.is_empty() {
        ctx.say(format!(
            "Mirror status: {} of {original_legs} images failed.",
            failed_legs.len()
        ));
    }
    if failed_log {
        ctx.say(format!(
            "Mirror log status: 1 of {original_logs} images failed."
        ));
    }
    if !(replace_legs || replace_log) {
        return Ok(());
    }
    // Phase two: back up to the wanted legs and log, giving up a log, then legs, when there
    // is no room (LVM2's retry loop).
    let scan2 = ctx.scan()?;
    let found2 = scan2
        .find_vg(&vg.name)
        .map_err(CmdError::failed)?
        .ok_or_else(|| failed(format!("Volume group \"{}\" not found", vg.name)))?;
    let base = found2.metadata.vg.clone();
    let missing2 = super::vg_plan::missing_pv_ids(&found2);
    let sources: Vec<alloc::PvSource> = pv_sources(ctx, &scan2, &base, pv_args)?
        .into_iter()
        .filter(|s| {
            let id = &base.pvs[s.pv].id;
            !missing2.contains(id) && !failed_log_pvs.contains(id)
        })
        .collect();
    let policy = alloc_arg(args.alloc.as_deref())?
        .as_ref()
        .or(lv.rare.allocation_policy.as_ref())
        .filter(|p| **p != AllocationPolicy::Inherit)
        .or(base.allocation_policy.as_ref())
        .and_then(|p| Policy::from_name(p.as_str()))
        .unwrap_or(Policy::Normal);
    let c = ConvertCtx {
        sources: &sources,
        policy,
        now: ctx.host.now,
        host: &ctx.host.node,
    };
    let region = m.region_size.unwrap_or(lv_raid::DEFAULT_REGION_SECTORS);
    let mut ids = crate::host::new_id;
    let plan =
        lv_raid::plan_mirror_upconvert(&base, name, target_legs, target_logs, region, &c, &mut ids);
    for (legs, logs) in &plan.tries {
        ctx.warn(format!(
            "WARNING: Trying to up-convert to {legs} images, {logs} logs."
        ));
    }
    if let Some(next) = &plan.vg {
        if plan.legs_added {
            // New legs are copied from the first one: no table may call the mirror in sync
            // (LVM2's lv_add_mirrors sets mirror_in_sync off too).
            act.set_mirror_in_sync(false);
        }
        if let Some(p) = next.dangling_references().first() {
            return Err(failed(format!(
                "Internal error: planned metadata is inconsistent: {p}"
            )));
        }
        let mut commit = || {
            // The disk log is cleared while the mirror is suspended (a kept log held by the
            // running table), before the commit: a crash after it leaves the old or the new
            // layout with a cleared log, and either resynchronises every region from the
            // first leg on its next activation.
            if let Some(log) = &plan.clear_log {
                let len = next.lv(log).map_or(WIPE_BYTES, |l| {
                    l.extent_count() * u64::from(next.extent_size) * 512
                });
                zero_lv_start(ctx, &scan2, next, log, len)?;
            }
            let mut md = found2.metadata.clone();
            md.vg = next.clone();
            ctx.commit_vg_with(&scan2, Some(&found2), &mut md, &allow_missing)
        };
        act.update_and_reload(
            ctx,
            &scan2,
            &found2,
            next,
            name,
            name,
            if left_legs > 1 {
                MIRROR_REPAIR_SUSPEND
            } else {
                PLAIN_SUSPEND
            },
            &mut commit,
        )?;
    }
    if replace_legs && plan.legs != original_legs {
        ctx.warn(format!(
            "WARNING: Failed to replace {} of {original_legs} images in volume {display}.",
            original_legs - plan.legs
        ));
    }
    if replace_log && plan.logs != original_logs {
        ctx.warn(format!(
            "WARNING: Failed to replace {} of {original_logs} logs in volume {display}.",
            original_logs - plan.logs
        ));
    }
    // Only new legs are copied (and polled); a new log on its own is not.
    if let Some(next) = plan.vg.as_ref().filter(|_| plan.legs_added) {
        wait_mirror_synced(ctx, act, next, name)?;
        if left_legs > 1 && plan.logs > 0 && act.is_active(next, lv) {
            // LVM2 added these legs through a temporary layer (a disk-log mirror), whose
            // collapse at the end of the poll prints this line.
            ctx.say(format!("Logical volume {display} converted."));
        }
    }
    Ok(())
}

/// Waits until the kernel has copied an active mirror's data to every leg, printing LVM2's
/// progress line (`VG/LV: Converted: NN.NN%`) when it is done, as lvconvert's foreground poll.
fn wait_mirror_synced(ctx: &Context, act: &Activation, vg: &VolumeGroup, name: &str) -> CmdResult {
    let Some(lv) = vg.lv(name) else {
        return Ok(());
    };
    if !act.is_active(vg, lv) {
        ctx.say("Conversion starts after activation.");
        return Ok(());
    }
    loop {
        let Some(lines) = act.lv_status(vg, lv) else {
            return Ok(());
        };
        let Some(st) = lines
            .iter()
            .find(|l| l.target_type == "mirror")
            .and_then(|l| crate::dm::status::parse_mirror(&l.params))
        else {
            return Ok(());
        };
        if st.total_regions == 0 || st.insync_regions >= st.total_regions {
            ctx.say(format!("{}/{name}: Converted: 100.00%", vg.name));
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
