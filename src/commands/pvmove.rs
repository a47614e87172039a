//! pvmove of inactive LVs: the move is recorded as LVM2 records it (the `pvmoveN` mirror LV,
//! see pvmove_plan), then each segment's extents are copied with plain O_DIRECT reads and
//! writes, flushed, and marked copied in a new metadata write before the next one starts; the
//! last write collapses the map onto the destination. Every write leaves either the old map
//! or a state `pvmove` (resume) or `pvmove --abort` finishes with the data intact: the source
//! is never written, and a segment counts as copied only after its data is on disk.

use super::context::{canonical, Context};
use super::lv::pv_sources;
use super::lv_activate::Activation;
use super::lv_plan::split_lv_arg;
use super::pvmove_plan::{self, MoveRequest};
use super::vg::alloc_arg;
use crate::alloc::{self, Policy};
use crate::cli::progress::Progress;
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::store::device::{BlockDevice, DiskDevice};
use crate::store::lock::LockMode;
use crate::store::scan::{FoundVg, Scan};
use clap::Parser;
use metadata_format::text::{AllocationPolicy, Id, Metadata, VolumeGroup};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Bytes copied per read/write pair: big enough to stream, small enough to keep memory flat.
const COPY_CHUNK: u64 = 4 << 20;
/// LVM2's activation/polling_interval default, in seconds.
const DEFAULT_INTERVAL: u64 = 15;

#[derive(Debug, Parser)]
#[command(about = "Move extents from one physical volume to another")]
struct PvmoveArgs {
    /// Abort the moves in progress (of SOURCE, or of every VG): copied segments stay on the
    /// destination, the rest on the source
    #[arg(long = "abort")]
    abort: bool,
    /// Move all LVs or none (not supported yet)
    #[arg(long = "atomic")]
    atomic: bool,
    /// Move only the extents of this LV
    #[arg(short = 'n', long = "name", value_name = "LV")]
    name: Option<String>,
    /// Report progress every this many seconds (0: no progress lines)
    #[arg(short = 'i', long = "interval", value_name = "SECONDS")]
    interval: Option<String>,
    /// Run in the background (accepted; the copy runs in the foreground)
    #[arg(short = 'b', long = "background")]
    background: bool,
    /// Allocation policy for the destination
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// Back up the metadata (accepted; lvm.conf decides)
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Do not wait for udev (accepted)
    #[arg(long = "noudevsync")]
    noudevsync: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// The PV to move extents off, with optional PE ranges (/dev/sdb:0-99)
    #[arg(value_name = "SOURCE")]
    source: Option<String>,
    /// PVs (with optional PE ranges) to move them to
    #[arg(value_name = "DEST")]
    dests: Vec<String>,
}

pub fn pvmove(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvmoveArgs>(argv)? else {
        return Ok(());
    };
    if args.atomic {
        return Err(CmdError::usage(
            "pvmove --atomic is not supported by oxlvm yet; move without it (segments move one at a time) or use LVM2's pvmove.",
        ));
    }
    let interval = match args.interval.as_deref() {
        None => DEFAULT_INTERVAL,
        Some(t) => t.parse::<u64>().map_err(|_| {
            CmdError::usage(format!(
                "-i {t}: give the progress interval in whole seconds, e.g. -i 5 (0: no progress lines)."
            ))
        })?,
    };
    let policy_arg = alloc_arg(args.alloc.as_deref())?;
    if let Some(a) = args.autobackup.as_deref() {
        if !matches!(a, "y" | "n" | "yes" | "no") {
            return Err(CmdError::usage(format!("-A {a}: use y or n.")));
        }
    }
    let _ = (args.background, args.noudevsync);
    let ctx = Context::new(&args.common, argv)?;
    // LVM2 does not move with lvmlockd unless lvmpolld is enabled (oxlvm polls itself, but
    // keeps LVM2's rule so that one lvm.conf gives both tools the same answer).
    if ctx.shared.use_lvmlockd() && ctx.config.get_int("global/use_lvmpolld") == Some(0) {
        return Err(CmdError::failed("Enable lvmpolld when using lvmlockd."));
    }
    let Some(source) = args.source.clone() else {
        if args.name.is_some() || !args.dests.is_empty() {
            return Err(CmdError::usage(
                "pvmove needs the source PV first: pvmove [-n LV] SOURCE [DEST...].",
            ));
        }
        return resume_all(&ctx, argv, args.abort, interval);
    };
    let (dev, ranges) = alloc::parse_pv_arg(&source);
    let scan = ctx.scan()?;
    let wanted = canonical(Path::new(dev));
    let Some(pi) = scan.pvs.iter().position(|p| canonical(&p.path) == wanted) else {
        if !Path::new(dev).exists() {
            return Err(CmdError::failed(format!(
                "No device found for {dev}; check the path (e.g. with lsblk)."
            )));
        }
        return Err(CmdError::failed(format!(
            "Physical volume {dev} not found: it is not a PV (pvcreate) or is filtered out."
        )));
    };
    let pv_id = scan.pvs[pi].id();
    let vg_name = scan
        .vg_names()
        .into_iter()
        .find(|n| {
            scan.find_vg(n)
                .ok()
                .flatten()
                .is_some_and(|f| f.metadata.vg.pvs.iter().any(|p| p.id == pv_id))
        })
        .ok_or_else(|| {
            CmdError::failed(format!(
                "Physical volume {dev} is not in a volume group: it has no extents to move."
            ))
        })?;
    let _lock = ctx.lock_vg(&vg_name, LockMode::Exclusive)?;
    let scan = ctx.scan()?;
    let found = load(&ctx, &scan, &vg_name)?;
    let vg = &found.metadata.vg;
    let in_progress: Vec<String> = pvmove_plan::moves_in_progress(vg)
        .into_iter()
        .filter(|m| pvmove_plan::pvmove_source(vg, m) == Some(pv_id))
        .collect();
    if args.abort {
        // Nothing in progress for this PV: nothing to abort, as LVM2 (exit 0).
        return run_moves(&ctx, &scan, &found, &in_progress, true, interval, dev);
    }
    if !in_progress.is_empty() {
        ctx.say(format!("Detected pvmove in progress for {dev}."));
        if !args.dests.is_empty() || args.name.is_some() {
            ctx.warn("WARNING: Ignoring remaining command line arguments.");
        }
        return run_moves(&ctx, &scan, &found, &in_progress, false, interval, dev);
    }
    // A new move.
    let source = vg
        .pv_index(&pv_id)
        .ok_or_else(|| CmdError::failed(format!("{dev} is not in VG {vg_name}.")))?;
    let source_ranges = match ranges {
        None => Vec::new(),
        Some(r) => {
            alloc::parse_pe_ranges(r, vg.pvs[source].pe_count, &[]).map_err(CmdError::usage)?
        }
    };
    let lv = match args.name.as_deref() {
        None => None,
        Some(n) => {
            let (v, l) = if n.trim_start_matches("/dev/").contains('/') {
                split_lv_arg(n, None).map_err(CmdError::usage)?
            } else {
                (vg_name.clone(), n.to_string())
            };
            if v != vg_name {
                return Err(CmdError::usage(format!(
                    "Logical volume {n} is not in volume group {vg_name}, which holds {dev}."
                )));
            }
            if vg.lv(&l).is_none() {
                return Err(CmdError::failed(format!("Logical volume {l} not found.")));
            }
            Some(l)
        }
    };
    // A shared VG (LVM2's pvmove): only a named LV moves, under its lock ex (persistent) - it
    // must not be active on another host, whose PEs the move would change under it.
    if crate::lockd::vg_is_shared(vg) {
        let Some(l) = lv.as_deref() else {
            return Err(CmdError::failed(
                "pvmove in a shared VG requires a named LV.",
            ));
        };
        if l == crate::lockd::LVMLOCK_LV {
            return Err(CmdError::failed(
                "pvmove not allowed on internal sanlock LV.",
            ));
        }
        ctx.shared
            .lock_lv(&ctx, vg, l, Some(crate::lockd::Mode::Ex), true)
            .map_err(|e| {
                CmdError::failed(format!(
                    "{}\n  pvmove in a shared VG requires exclusive lock on named LV.",
                    e.message()
                ))
            })?;
    }
    let policy = policy_arg
        .as_ref()
        .filter(|p| **p != AllocationPolicy::Inherit)
        .or(vg.allocation_policy.as_ref())
        .and_then(|p| Policy::from_name(p.as_str()))
        .unwrap_or(Policy::Normal);
    let mut dests = pv_sources(&ctx, &scan, vg, &args.dests)?;
    let free = alloc::free_runs(vg);
    dests.retain(|d| (policy == Policy::Anywhere || d.pv != source) && !free[d.pv].is_empty());
    if dests.is_empty() {
        return Err(CmdError::failed(
            "No extents available for allocation: the destination PVs are full (or are the source); add a PV (vgextend) or name another destination.",
        ));
    }
    let req = MoveRequest {
        source,
        source_ranges,
        lv,
        dests,
        policy,
    };
    let started = pvmove_plan::start(
        vg,
        &req,
        crate::host::new_id(),
        ctx.host.now,
        &ctx.host.node,
    )
    .map_err(CmdError::failed)?;
    refuse_active(&ctx, vg, &started.moving)?;
    for note in &started.notes {
        ctx.say(note);
    }
    let mut md = found.metadata.clone();
    md.vg = started.vg;
    let mut w = Writes::new(&ctx, &found)?;
    w.commit(&mut md)?;
    copy_and_finish(&ctx, &mut w, &mut md, &started.pvmove, false, interval, dev)
}

/// Every VG's moves in progress (`pvmove` or `pvmove --abort` with no PV).
fn resume_all(ctx: &Context, _argv: &[OsString], abort: bool, interval: u64) -> CmdResult {
    let scan = ctx.scan()?;
    for vg_name in scan.vg_names() {
        let has = scan
            .find_vg(&vg_name)
            .ok()
            .flatten()
            .is_some_and(|f| !pvmove_plan::moves_in_progress(&f.metadata.vg).is_empty());
        if !has {
            continue;
        }
        let _lock = ctx.lock_vg(&vg_name, LockMode::Exclusive)?;
        let scan = ctx.scan()?;
        let found = load(ctx, &scan, &vg_name)?;
        let moves = pvmove_plan::moves_in_progress(&found.metadata.vg);
        let label = moves
            .first()
            .and_then(|m| pvmove_plan::pvmove_source(&found.metadata.vg, m))
            .and_then(|id| scan.pv_index_by_id(&id))
            .map(|i| scan.pvs[i].path.display().to_string())
            .unwrap_or_else(|| vg_name.clone());
        run_moves(ctx, &scan, &found, &moves, abort, interval, &label)?;
    }
    Ok(())
}

/// Resumes (or aborts) the named pvmove LVs of one VG, one after the other.
fn run_moves(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    moves: &[String],
    abort: bool,
    interval: u64,
    label: &str,
) -> CmdResult {
    if moves.is_empty() {
        return Ok(());
    }
    let mut md = found.metadata.clone();
    let mut w = Writes::new(ctx, found)?;
    let _ = scan;
    for m in moves {
        let moving: Vec<String> = md
            .vg
            .lvs
            .iter()
            .filter(|l| {
                l.segments.iter().any(|s| {
                    s.areas().iter().any(
                        |a| matches!(a, metadata_format::text::Area::Lv { name, .. } if name == m),
                    )
                })
            })
            .map(|l| l.name.clone())
            .collect();
        let mut with_self = moving.clone();
        with_self.push(m.clone());
        refuse_active(ctx, &md.vg, &with_self)?;
        copy_and_finish(ctx, &mut w, &mut md, m, abort, interval, label)?;
    }
    Ok(())
}

/// The VG, complete and writable.
fn load(ctx: &Context, scan: &Scan, vg_name: &str) -> CmdResult<FoundVg> {
    let found = ctx.load_vg(scan, vg_name)?;
    if found.is_partial() {
        return Err(CmdError::failed(format!(
            "Cannot move extents in VG {vg_name} while PVs are missing; restore them or run vgreduce --removemissing."
        )));
    }
    let vg = &found.metadata.vg;
    if !vg.status.iter().any(|s| s == "WRITE") {
        return Err(CmdError::failed(format!(
            "Volume group {vg_name} is read-only; change it with vgchange -p rw first."
        )));
    }
    if vg.status.iter().any(|s| s == "EXPORTED") {
        return Err(CmdError::failed(format!(
            "Volume group {vg_name} is exported; import it with vgimport first."
        )));
    }
    Ok(found)
}

/// Moving the extents of an active LV needs the kernel's mirror (LVM2's way); oxlvm copies
/// only while nothing uses the data.
fn refuse_active(ctx: &Context, vg: &VolumeGroup, lvs: &[String]) -> CmdResult {
    let act = Activation::new(ctx);
    if !act.available() {
        return Ok(());
    }
    for name in lvs {
        let top = pvmove_plan::top_level(vg, name);
        for n in [name, &top] {
            if let Some(lv) = vg.lv(n) {
                if act.is_active(vg, lv) {
                    return Err(CmdError::failed(format!(
                        "Logical volume {}/{n} is active: oxlvm moves the extents of inactive LVs only (moving active ones through the kernel is not built yet); deactivate it (lvchange -an {}/{n}) or use LVM2's pvmove.",
                        vg.name, vg.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The writes of one pvmove run: the first against the VG as read, each later one one seqno
/// higher (no second archive of a VG this command already archived). The area headers are
/// read again after every write, so each text goes after the one just committed in the ring
/// instead of over it.
struct Writes<'a> {
    ctx: &'a Context,
    scan: Scan,
    found: &'a FoundVg,
    first: bool,
}

impl<'a> Writes<'a> {
    fn new(ctx: &'a Context, found: &'a FoundVg) -> CmdResult<Self> {
        Ok(Writes {
            ctx,
            scan: ctx.scan()?,
            found,
            first: true,
        })
    }

    fn commit(&mut self, md: &mut Metadata) -> CmdResult {
        let problems = md.vg.dangling_references();
        if let Some(p) = problems.first() {
            return Err(CmdError::failed(format!(
                "Internal error: planned metadata is inconsistent: {p}"
            )));
        }
        if self.first {
            self.ctx.commit_vg(&self.scan, Some(self.found), md)?;
            self.first = false;
        } else {
            md.vg.seqno = md.vg.seqno.saturating_add(1);
            self.ctx.commit_vg(&self.scan, None, md)?;
        }
        if !self.ctx.test_mode {
            self.scan = self.ctx.scan()?;
        }
        Ok(())
    }
}

/// Copies what remains of pvmove LV `pvmove`, committing each finished segment, then writes
/// the final map (or, aborting, collapses at once).
#[allow(clippy::too_many_arguments)]
fn copy_and_finish(
    ctx: &Context,
    w: &mut Writes<'_>,
    md: &mut Metadata,
    pvmove: &str,
    abort: bool,
    interval: u64,
    label: &str,
) -> CmdResult {
    if !abort {
        let steps = pvmove_plan::copy_steps(&md.vg, pvmove).map_err(CmdError::failed)?;
        let (total, mut done) = pvmove_plan::progress(&md.vg, pvmove);
        // Progress in sectors, so a long extent still moves the figure.
        let extent_sectors = u64::from(md.vg.extent_size);
        let mut report = (interval > 0)
            .then(|| Progress::new(format!("{label}: Moved"), Some(interval), ctx.quiet > 0));
        for (n, step) in steps.iter().enumerate() {
            copy_step(ctx, &w.scan, &md.vg, step, |bytes| {
                if let Some(r) = report.as_mut() {
                    r.update(done * extent_sectors + bytes / 512, total * extent_sectors);
                }
            })?;
            done += u64::from(step.extents);
            if n + 1 < steps.len() {
                let count = md
                    .vg
                    .lv(pvmove)
                    .and_then(|l| l.segments.get(step.segment))
                    .map_or(0, |s| s.extent_count);
                pvmove_plan::mark_moved(&mut md.vg, pvmove, step.segment, count);
                w.commit(md)?;
            } else {
                // The last segment goes straight to the final map, as LVM2 does.
                let count = md
                    .vg
                    .lv(pvmove)
                    .and_then(|l| l.segments.get(step.segment))
                    .map_or(0, |s| s.extent_count);
                pvmove_plan::mark_moved(&mut md.vg, pvmove, step.segment, count);
            }
        }
        pvmove_plan::finish(&mut md.vg, pvmove, false).map_err(CmdError::failed)?;
        w.commit(md)?;
        if let Some(r) = report.as_mut() {
            r.finish(total, total);
        }
    } else {
        pvmove_plan::finish(&mut md.vg, pvmove, true).map_err(CmdError::failed)?;
        w.commit(md)?;
    }
    Ok(())
}

/// The device and byte offset of physical extent `pe` of PV `id`.
fn pe_location(scan: &Scan, vg: &VolumeGroup, id: &Id, pe: u32) -> CmdResult<(PathBuf, u64)> {
    let pv = vg
        .pv(id)
        .ok_or_else(|| CmdError::failed(format!("PV {id} is not in VG {}", vg.name)))?;
    let path = scan
        .pv_index_by_id(id)
        .map(|i| scan.pvs[i].path.clone())
        .ok_or_else(|| CmdError::failed(format!("PV {id} of VG {} has no device", vg.name)))?;
    let offset = (pv.pe_start + u64::from(pe) * u64::from(vg.extent_size)) * 512;
    Ok((path, offset))
}

/// Copies one run of extents with direct I/O and makes it durable; `progress` gets the bytes
/// copied so far.
fn copy_step(
    ctx: &Context,
    scan: &Scan,
    vg: &VolumeGroup,
    step: &pvmove_plan::CopyStep,
    mut progress: impl FnMut(u64),
) -> CmdResult {
    let (src, src_off) = pe_location(scan, vg, &step.source.0, step.source.1)?;
    let (dst, dst_off) = pe_location(scan, vg, &step.dest.0, step.dest.1)?;
    let len = u64::from(step.extents) * u64::from(vg.extent_size) * 512;
    let reader = DiskDevice::open_read(&src)
        .map_err(|e| CmdError::failed(format!("Cannot read {}: {e}", src.display())))?;
    if ctx.test_mode {
        return Ok(());
    }
    let mut at = 0u64;
    while at < len {
        let n = (len - at).min(COPY_CHUNK);
        let data = reader
            .read_at(src_off + at, usize::try_from(n).unwrap_or(usize::MAX))
            .map_err(|e| CmdError::failed(format!("Cannot read {}: {e}", src.display())))?;
        ctx.with_writer(|w| w.write_at(&dst, dst_off + at, &data))
            .map_err(|e| CmdError::failed(format!("Cannot write {}: {e}", dst.display())))?;
        at += n;
        progress(at);
    }
    ctx.with_writer(|w| w.flush(&dst))
        .map_err(|e| CmdError::failed(format!("Cannot flush {}: {e}", dst.display())))?;
    Ok(())
}
