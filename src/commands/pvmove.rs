//! pvmove, as LVM2 records it (the `pvmoveN` mirror LV, see pvmove_plan), two ways:
//! - LVs in use (any moved LV active, or the pvmove LV already up): LVM2's way. The moved LVs
//!   are activated, the first write goes in while they are suspended and reloaded to map
//!   their moved extents through the pvmove LV, whose running segment is a dm-mirror the
//!   kernel copies ([`poll_live`] follows it, writes each finished segment and reloads, and
//!   finally reloads the LVs onto the destination and removes the pvmove device).
//! - Inactive LVs: each segment's extents are copied with plain O_DIRECT reads and writes,
//!   flushed, and marked copied in a new metadata write before the next one starts; the
//!   last write collapses the map onto the destination.
//!
//! Every write leaves either the old map or a state `pvmove` (resume) or `pvmove --abort`
//! finishes with the data intact: the source is never written, and a segment counts as
//! copied only after its data is on disk (or the kernel's mirror has it in sync).

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
use metadata_format::text::{AllocationPolicy, Area, Id, Metadata, VolumeGroup};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Set in the environment of the detached process `pvmove -b` leaves the copy to, so that it
/// follows the move instead of detaching again.
const POLLER_ENV: &str = "OXLVM_PVMOVE_POLLER";

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
    /// Run in the background: start the move, leave the copy to a detached process and exit
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
    let _ = args.noudevsync;
    // -b: the move is started (or found in progress) here, then followed by a detached copy of
    // this command, as LVM2 hands it to its poller; --abort is done in the foreground.
    let background = args.background && !args.abort && std::env::var_os(POLLER_ENV).is_none();
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
        return resume_all(&ctx, argv, args.abort, background, interval);
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
    let lock = ctx.lock_vg(&vg_name, LockMode::Exclusive)?;
    let scan = ctx.scan()?;
    let found = load(&ctx, &scan, &vg_name)?;
    let vg = &found.metadata.vg;
    let in_progress: Vec<String> = pvmove_plan::moves_in_progress(vg)
        .into_iter()
        .filter(|m| pvmove_plan::pvmove_source(vg, m) == Some(pv_id))
        .collect();
    if args.abort || !in_progress.is_empty() {
        if background {
            drop(lock);
            return detach(argv);
        }
        // Nothing in progress for this PV: nothing to abort, as LVM2 (exit 0).
        if !args.abort {
            ctx.say(format!("Detected pvmove in progress for {dev}."));
            if !args.dests.is_empty() || args.name.is_some() {
                ctx.warn("WARNING: Ignoring remaining command line arguments.");
            }
        }
        let live = run_moves(&ctx, &scan, &found, &in_progress, args.abort, interval, dev)?;
        drop(lock);
        for id in live {
            poll_live(&ctx, &vg_name, id, interval, dev)?;
        }
        return Ok(());
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
    let act = Activation::new(&ctx);
    let holders = lock_holders(&started.vg, &started.pvmove);
    let live = !ctx.test_mode
        && act.available()
        && holders
            .iter()
            .any(|h| vg.lv(h).is_some_and(|l| act.is_active(vg, l)));
    if live {
        // LVM2's way for active LVs: every moved LV is activated (with the old metadata),
        // then the first write goes in while they are suspended and reloaded to map their
        // moved extents through the pvmove LV, a mirror the kernel copies.
        for note in &started.notes {
            ctx.say(note);
        }
        act.activate_lvs(&ctx, &scan, &found, &holders)?;
        let mut md = found.metadata.clone();
        md.vg = started.vg.clone();
        act.reload_lvs(&ctx, &scan, &found, &started.vg, &holders, &mut || {
            ctx.commit_vg(&scan, Some(&found), &mut md)
        })?;
        let id = started
            .vg
            .lv(&started.pvmove)
            .map(|l| l.id)
            .ok_or_else(|| CmdError::failed("Internal error: the pvmove LV went missing."))?;
        drop(lock);
        if background {
            return detach(argv);
        }
        return poll_live(&ctx, &vg_name, id, interval, dev);
    }
    refuse_active(&ctx, vg, &started.moving)?;
    for note in &started.notes {
        ctx.say(note);
    }
    let mut md = found.metadata.clone();
    md.vg = started.vg;
    let mut w = Writes::new(&ctx, &found)?;
    w.commit(&mut md)?;
    if background {
        drop(w);
        drop(lock);
        return detach(argv);
    }
    copy_and_finish(&ctx, &mut w, &mut md, &started.pvmove, false, interval, dev)
}

/// `pvmove -b`: the same command line, run again as a detached process (own process group,
/// no terminal, output discarded) that finds the move in progress and follows it to its end;
/// this one returns at once. `pvmove` (or `lvs` for progress) shows how it goes.
fn detach(argv: &[OsString]) -> CmdResult {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().map_err(|e| {
        CmdError::failed(format!(
            "Cannot find oxlvm itself to poll the move in the background ({e}); run pvmove without -b to follow it."
        ))
    })?;
    Command::new(exe)
        .arg("pvmove")
        .args(argv.iter().skip(1))
        .env(POLLER_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| {
            CmdError::failed(format!(
                "Cannot start the background poller ({e}); the move is recorded: run pvmove without -b to finish it."
            ))
        })?;
    Ok(())
}

/// Every VG's moves in progress (`pvmove` or `pvmove --abort` with no PV).
fn resume_all(
    ctx: &Context,
    argv: &[OsString],
    abort: bool,
    background: bool,
    interval: u64,
) -> CmdResult {
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
        if background {
            // The detached process resumes every VG's moves.
            return detach(argv);
        }
        let lock = ctx.lock_vg(&vg_name, LockMode::Exclusive)?;
        let scan = ctx.scan()?;
        let found = load(ctx, &scan, &vg_name)?;
        let moves = pvmove_plan::moves_in_progress(&found.metadata.vg);
        let label = moves
            .first()
            .and_then(|m| pvmove_plan::pvmove_source(&found.metadata.vg, m))
            .and_then(|id| scan.pv_index_by_id(&id))
            .map(|i| scan.pvs[i].path.display().to_string())
            .unwrap_or_else(|| vg_name.clone());
        let live = run_moves(ctx, &scan, &found, &moves, abort, interval, &label)?;
        drop(lock);
        for id in live {
            poll_live(ctx, &vg_name, id, interval, &label)?;
        }
    }
    Ok(())
}

/// Resumes (or aborts) the named pvmove LVs of one VG, one after the other. Moves the
/// kernel runs (the pvmove LV or an LV mapped through it is active) are aborted here at once,
/// or brought up (LVM2 activates the pvmove LV and every moved LV) and returned, by pvmove LV
/// id, for [`poll_live`] once the VG lock is let go; the others are copied here.
fn run_moves(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    moves: &[String],
    abort: bool,
    interval: u64,
    label: &str,
) -> CmdResult<Vec<Id>> {
    let mut live = Vec::new();
    if moves.is_empty() {
        return Ok(live);
    }
    let act = Activation::new(ctx);
    let mut offline = Vec::new();
    for m in moves {
        let vg = &found.metadata.vg;
        let holders = lock_holders(vg, m);
        let running = !ctx.test_mode
            && act.available()
            && std::iter::once(m)
                .chain(&holders)
                .any(|n| vg.lv(n).is_some_and(|l| act.is_active(vg, l)));
        let Some(id) = vg.lv(m).map(|l| l.id) else {
            continue;
        };
        if !running {
            offline.push(m.clone());
        } else if abort {
            let mut md = found.metadata.clone();
            pvmove_plan::finish(&mut md.vg, m, true).map_err(CmdError::failed)?;
            let new_vg = md.vg.clone();
            act.reload_lvs(ctx, scan, found, &new_vg, &holders, &mut || {
                ctx.commit_vg(scan, Some(found), &mut md)
            })?;
            // One abort per command: the next one re-reads the VG.
            return Ok(live);
        } else {
            act.activate_lvs(ctx, scan, found, &holders)?;
            live.push(id);
        }
    }
    if offline.is_empty() {
        return Ok(live);
    }
    let moves = offline;
    let mut md = found.metadata.clone();
    let mut w = Writes::new(ctx, found)?;
    for m in &moves {
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
    Ok(live)
}

/// The LVs a pvmove LV's users belong to (LVM2's lv_lock_holder of each LV mapped through
/// it), in VG order: what is activated, suspended and reloaded with it.
fn lock_holders(vg: &VolumeGroup, pvmove: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for lv in &vg.lvs {
        let uses = lv.segments.iter().any(|s| {
            s.areas()
                .iter()
                .any(|a| matches!(a, Area::Lv { name, .. } if name == pvmove))
        });
        if !uses {
            continue;
        }
        let top = pvmove_plan::top_level(vg, &lv.name);
        if !out.contains(&top) {
            out.push(top);
        }
    }
    out
}

/// How far the kernel's copy of pvmove LV `pvmove` is: (sectors copied, sectors in all,
/// whether its running segment is complete), from the mirror line of the segment the metadata
/// says runs. None when the device is not active as such a mirror or a leg failed.
fn kernel_progress(act: &Activation, vg: &VolumeGroup, pvmove: &str) -> Option<(u64, u64, bool)> {
    let lv = vg.lv(pvmove)?;
    let extent = u64::from(vg.extent_size);
    let total = lv.extent_count() * extent;
    let running = pvmove_plan::running_segment(vg, pvmove);
    let mut done = 0u64;
    for (i, seg) in lv.segments.iter().enumerate() {
        if Some(i) == running {
            break;
        }
        done += u64::from(seg.extent_count) * extent;
    }
    let Some(i) = running else {
        return Some((total, total, true));
    };
    let seg = &lv.segments[i];
    let start = u64::from(seg.start_extent) * extent;
    let len = u64::from(seg.extent_count) * extent;
    let lines = act.lv_status(vg, lv)?;
    let line = lines
        .iter()
        .find(|l| l.start == start && l.target_type == "mirror")?;
    let m = crate::dm::status::parse_mirror(&line.params)?;
    if m.total_regions == 0 || m.dev_health.chars().any(|c| c != 'A') {
        // A failed leg (the kernel's health letters other than A): the copy cannot end.
        return None;
    }
    let part = len * m.insync_regions.min(m.total_regions) / m.total_regions;
    Some((done + part, total, m.insync_regions >= m.total_regions))
}

/// Follows the kernel's copy of the pvmove LV with id `lv_id` to its end, as LVM2's poll:
/// the copy percent every interval, and under the VG lock, each time the running segment is
/// in sync, the next write (the segment marked copied, the tables reloaded so that it maps
/// its destination and the next segment mirrors) or, after the last one, the final map
/// (the LVs reloaded onto the destination, the pvmove LV removed). The lock is let go
/// between checks, so `pvmove --abort` (either tool's) can stop the move meanwhile.
fn poll_live(ctx: &Context, vg_name: &str, lv_id: Id, interval: u64, label: &str) -> CmdResult {
    let act = Activation::new(ctx);
    let mut report = (interval > 0)
        .then(|| Progress::new(format!("{label}: Moved"), Some(interval), ctx.quiet > 0));
    let period = std::time::Duration::from_millis(if interval == 0 { 200 } else { 500 });
    let mut cached: Option<VolumeGroup> = None;
    loop {
        // Without the lock while the running segment copies.
        if let Some(vg) = &cached {
            let name = vg
                .lvs
                .iter()
                .find(|l| l.id == lv_id)
                .map(|l| l.name.clone());
            if let Some((done, total, false)) = name.and_then(|n| kernel_progress(&act, vg, &n)) {
                if let Some(r) = report.as_mut() {
                    r.update(done, total);
                }
                std::thread::sleep(period);
                continue;
            }
        }
        let lock = ctx.lock_vg(vg_name, LockMode::Exclusive)?;
        let scan = ctx.scan()?;
        let found = load(ctx, &scan, vg_name)?;
        let vg = &found.metadata.vg;
        let Some(name) = vg
            .lvs
            .iter()
            .find(|l| l.id == lv_id && pvmove_plan::is_pvmove_lv(l))
            .map(|l| l.name.clone())
        else {
            ctx.say(format!(
                "{label}: No pvmove in progress - already finished or aborted."
            ));
            return Ok(());
        };
        let holders = lock_holders(vg, &name);
        let Some((done, total, complete)) = kernel_progress(&act, vg, &name) else {
            return Err(CmdError::failed(format!(
                "ABORTING: Mirror percentage check failed: {vg_name}/{name} is not active as a healthy mirror (dmsetup status shows it); run pvmove again to restart it, or pvmove --abort to go back to the source."
            )));
        };
        if let Some(r) = report.as_mut() {
            r.update(done, total);
        }
        if !complete {
            cached = Some(vg.clone());
            drop(lock);
            std::thread::sleep(period);
            continue;
        }
        let mut md = found.metadata.clone();
        if let Some(i) = pvmove_plan::running_segment(&md.vg, &name) {
            let count = md.vg.lv(&name).map_or(0, |l| l.segments[i].extent_count);
            pvmove_plan::mark_moved(&mut md.vg, &name, i, count);
        }
        let last = pvmove_plan::running_segment(&md.vg, &name).is_none();
        if last {
            pvmove_plan::finish(&mut md.vg, &name, false).map_err(CmdError::failed)?;
        }
        let new_vg = md.vg.clone();
        act.reload_lvs(ctx, &scan, &found, &new_vg, &holders, &mut || {
            ctx.commit_vg(&scan, Some(&found), &mut md)
        })?;
        if last {
            if let Some(r) = report.as_mut() {
                r.finish(total, total);
            }
            return Ok(());
        }
        cached = Some(md.vg.clone());
    }
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

/// The user-space copy runs only while nothing uses the data: an LV activated meanwhile
/// stops it (the next `pvmove` continues it through the kernel).
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
                        "Logical volume {}/{n} became active while its extents were copied without the kernel; run pvmove again (it continues the move through the kernel).",
                        vg.name
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
