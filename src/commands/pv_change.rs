//! Commands that change existing PVs: pvchange (allocatable, tags, metadata areas in use, UUID)
//! and pvresize. PVs in a VG change through one VG write per VG (`commit_vg_with`, with the
//! edited labels and area switches); orphan PVs get their label and area headers rewritten.

use super::context::{write_label_in_vg, Context, PvEdits};
use super::pv::owning_vg;
use super::report_cmds::device_facts;
use super::select_objects::{ObjectSelection, Select, VgView};
use super::vg::{check_tag, find_vg_or_fail};
use super::vg_change::{check_complete, check_writable, confirm, Failures};
use super::vg_plan::{add_tag, del_tag, pv_used_beyond, pv_used_extents, rename_pv};
use crate::cli::{parse_args, CommandSpec, CommonArgs, YesNo};
use crate::error::{CmdError, CmdResult};
use crate::report::ReportKind;
use crate::store::lock::LockMode;
use crate::store::scan::{self, FoundVg, MdaCopy, Scan};
use crate::units::{parse_size, Sign};
use clap::{ArgAction, Parser};
use metadata_format::header::{DiskLocn, MdaHeader, PvUuid};
use metadata_format::text::{Id, Metadata};
use std::ffi::OsString;

/// Smallest PV LVM2 resizes to: 2 MiB, in sectors (`pv_min_size`).
const PV_MIN_SECTORS: u64 = 4096;
/// Smallest metadata area LVM2 places: eight pages.
const MIN_MDA_BYTES: u64 = 8 * 4096;

/// What happened to one PV of a pvchange/pvresize run.
enum Outcome {
    Changed,
    /// Nothing to do; the warnings say why.
    Unchanged(Vec<String>),
    Failed(CmdError),
}

/// PVs of one VG (`None`: orphans), each as (device path, scan index).
type Group = (Option<String>, Vec<(String, usize)>);

/// The PVs named on the command line (or all with `-a`), as scan indexes, grouped by owning VG
/// (orphans under `None`), in command-line order; devices that are not PVs are failures.
struct Targets {
    groups: Vec<Group>,
    failures: Vec<CmdError>,
}

fn collect_targets(ctx: &Context, scan: &Scan, all: bool, args: &[String]) -> CmdResult<Targets> {
    let candidates = ctx.candidates()?;
    let mut picked: Vec<(String, usize)> = Vec::new();
    let mut failures = Vec::new();
    if all {
        for i in 0..scan.pvs.len() {
            picked.push((scan.pvs[i].path.display().to_string(), i));
        }
    } else {
        for arg in args {
            let found = ctx.resolve_device(arg, &candidates).and_then(|c| {
                scan.pv_index_by_path(&c.path).ok_or_else(|| {
                    CmdError::failed(format!(
                        "Failed to find physical volume \"{arg}\"; initialize it with pvcreate first."
                    ))
                })
            });
            match found {
                Ok(i) if picked.iter().any(|(_, j)| *j == i) => {}
                Ok(i) => picked.push((scan.pvs[i].path.display().to_string(), i)),
                Err(e) => failures.push(e),
            }
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    for (name, i) in picked {
        let owner = owning_vg(scan, &scan.pvs[i].id());
        match groups.iter_mut().find(|(o, _)| *o == owner) {
            Some((_, list)) => list.push((name, i)),
            None => groups.push((owner, vec![(name, i)])),
        }
    }
    // As LVM2's process_each_pv: PVs of VGs first (by VG name), orphans last.
    groups.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    Ok(Targets { groups, failures })
}

/// Runs `per_vg` on each VG group (under its lock, on a fresh scan) and `per_orphan` on each
/// orphan PV, printing outcomes in order; returns (changed, not changed, failures).
fn run_groups(
    ctx: &Context,
    targets: Targets,
    mut per_vg: impl FnMut(&Scan, &FoundVg, &[(String, usize)]) -> CmdResult<Vec<Outcome>>,
    mut per_orphan: impl FnMut(&Scan, &str, usize) -> Outcome,
    changed_line: impl Fn(&str) -> String,
    unchanged_line: impl Fn(&str) -> String,
) -> CmdResult<(usize, usize, Failures)> {
    let mut failures = Failures::default();
    for e in targets.failures {
        failures.push(ctx, e);
    }
    let (mut done, mut not_done) = (0, 0);
    let mut report = |name: &str, outcome: Outcome, failures: &mut Failures| match outcome {
        Outcome::Changed => {
            done += 1;
            ctx.say(changed_line(name));
        }
        Outcome::Unchanged(notes) => {
            not_done += 1;
            for n in notes {
                ctx.warn(n);
            }
            ctx.say(unchanged_line(name));
        }
        Outcome::Failed(e) => {
            not_done += 1;
            failures.push(ctx, e);
        }
    };
    for (owner, pvs) in targets.groups {
        match owner {
            Some(vg_name) => {
                let result = ctx
                    .lock_vg(&vg_name, LockMode::Exclusive)
                    .and_then(|_lock| {
                        let scan = ctx.scan()?;
                        let found = find_vg_or_fail(&scan, &vg_name)?;
                        // Indexes may move between scans: find each PV again by path.
                        let mut again = Vec::new();
                        for (name, _) in &pvs {
                            let i = scan
                                .pvs
                                .iter()
                                .position(|p| p.path.display().to_string() == *name)
                                .ok_or_else(|| {
                                    CmdError::failed(format!(
                                        "Failed to find physical volume \"{name}\"."
                                    ))
                                })?;
                            again.push((name.clone(), i));
                        }
                        per_vg(&scan, &found, &again)
                    });
                match result {
                    Ok(outcomes) => {
                        for ((name, _), o) in pvs.iter().zip(outcomes) {
                            report(name, o, &mut failures);
                        }
                    }
                    Err(e) => failures.push(ctx, e),
                }
            }
            None => {
                let scan = ctx.scan()?;
                for (name, _) in &pvs {
                    let Some(i) = scan
                        .pvs
                        .iter()
                        .position(|p| p.path.display().to_string() == *name)
                    else {
                        failures.push(
                            ctx,
                            CmdError::failed(format!("Failed to find physical volume \"{name}\".")),
                        );
                        continue;
                    };
                    let o = per_orphan(&scan, name, i);
                    report(name, o, &mut failures);
                }
            }
        }
    }
    Ok((done, not_done, failures))
}

#[derive(Debug, Parser)]
#[command(about = "Change attributes of physical volume(s)")]
struct PvchangeArgs {
    /// Change every PV
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Whether extents may be allocated from the PV (PVs in a VG only)
    #[arg(short = 'x', long = "allocatable", value_name = "y|n")]
    allocatable: Option<YesNo>,
    /// Add a tag to the PV (repeatable; PVs in a VG only)
    #[arg(long = "addtag", value_name = "TAG")]
    addtag: Vec<String>,
    /// Remove a tag from the PV (repeatable)
    #[arg(long = "deltag", value_name = "TAG")]
    deltag: Vec<String>,
    /// Give the PV a new random UUID
    #[arg(short = 'u', long = "uuid")]
    uuid: bool,
    /// Stop (y) or start (n) keeping VG metadata in the PV's metadata areas
    #[arg(long = "metadataignore", value_name = "y|n")]
    metadataignore: Option<YesNo>,
    /// Skip the confirmation for overriding the VG's vgmetadatacopies; -ff to change a PV whose
    /// VG metadata is missing
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Back up the metadata after the change
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<YesNo>,
    /// Output format for the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    /// Change only the PVs this selection picks (as `pvs -S`; all PVs when none are named)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// PVs to change
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

/// Keeps the targets `select` picks: PVs of a VG on the VG's report values, orphans on
/// theirs, as `pvs -S` evaluates them.
fn select_targets(ctx: &Context, scan: &Scan, sel: &ObjectSelection, targets: &mut Targets) {
    for (owner, pvs) in &mut targets.groups {
        match owner {
            Some(vg_name) => {
                // A VG that cannot be read keeps its PVs: changing them fails as without -S.
                let Ok(found) = find_vg_or_fail(scan, vg_name) else {
                    continue;
                };
                let view = VgView::new(ctx, scan, &found);
                let facts = view.facts(&found);
                pvs.retain(|(_, i)| {
                    found
                        .pv_devices
                        .iter()
                        .position(|d| *d == Some(*i))
                        .is_some_and(|p| sel.pv_matches(&facts, p))
                });
            }
            None => pvs.retain(|(_, i)| sel.orphan_pv_matches(&device_facts(&scan.pvs[*i]))),
        }
    }
    targets.groups.retain(|(_, pvs)| !pvs.is_empty());
}

pub fn pvchange(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvchangeArgs>(argv)? else {
        return Ok(());
    };
    if args.allocatable.is_none()
        && args.addtag.is_empty()
        && args.deltag.is_empty()
        && !args.uuid
        && args.metadataignore.is_none()
    {
        return Err(CmdError::usage(
            "Please give one or more of -x, -uuid, --addtag, --deltag or --metadataignore",
        ));
    }
    if args.all && args.select.is_some() {
        return Err(CmdError::usage("Command does not accept option: --select."));
    }
    if !args.all && args.pvs.is_empty() && args.select.is_none() {
        return Err(CmdError::usage(
            "Please give a physical volume path or use --all.",
        ));
    }
    if args.all && !args.pvs.is_empty() {
        return Err(CmdError::usage(
            "Option --all and PhysicalVolumePath are exclusive.",
        ));
    }
    for tag in args.addtag.iter().chain(&args.deltag) {
        check_tag(tag)?;
    }
    let ctx = Context::new(&args.common, argv)?;
    let summary = |done: usize, not_done: usize| {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        format!(
            "{done} physical volume{} changed / {not_done} physical volume{} not changed",
            plural(done),
            plural(not_done)
        )
    };
    // A bad selection: LVM2 reports nothing changed, then the selection's error.
    let select = match Select::parse(ReportKind::Pv, args.select.as_deref()) {
        Ok(select) => select,
        Err(e) => {
            ctx.say(summary(0, 0));
            return Err(e);
        }
    };
    if select.is_help() {
        return Ok(());
    }
    let _global = ctx.lock_global()?;
    let _orphans = ctx.lock_orphans()?;
    let scan = ctx.scan()?;
    let every = args.all || (args.pvs.is_empty() && select.is_given());
    let mut targets = collect_targets(&ctx, &scan, every, &args.pvs)?;
    if let Select::Some(sel) = &select {
        select_targets(&ctx, &scan, sel, &mut targets);
    }
    let (done, not_done, failures) = run_groups(
        &ctx,
        targets,
        |scan, found, pvs| pvchange_in_vg(&ctx, &args, scan, found, pvs),
        |scan, name, i| pvchange_orphan(&ctx, &args, scan, name, i),
        |name| format!("Physical volume \"{name}\" changed"),
        |name| format!("Physical volume {name} not changed"),
    )?;
    ctx.say(summary(done, not_done));
    failures.finish()
}

/// Ignored state of every metadata area of the scan, after `edits`.
fn area_ignored(scan: &Scan, edits: &PvEdits, pi: usize, mi: usize) -> bool {
    edits
        .ignore
        .iter()
        .rev()
        .find(|(p, m, _)| *p == pi && *m == mi)
        .map_or_else(|| scan.pvs[pi].mdas[mi].is_ignored(), |(_, _, i)| *i)
}

fn pvchange_in_vg(
    ctx: &Context,
    args: &PvchangeArgs,
    scan: &Scan,
    found: &FoundVg,
    pvs: &[(String, usize)],
) -> CmdResult<Vec<Outcome>> {
    check_complete(found)?;
    check_writable(&found.metadata.vg)?;
    let vg_name = found.metadata.vg.name.clone();
    let mut metadata: Metadata = found.metadata.clone();
    let mut edited = scan_clone(scan);
    let mut edits = PvEdits::default();
    let mut outcomes = Vec::new();
    let mut any = false;
    for (name, si) in pvs {
        // Each PV is planned on scratch copies, kept only when it succeeds.
        let mut md = metadata.clone();
        let mut sc = scan_clone(&edited);
        let mut ed = edits.clone();
        let result = pvchange_one(ctx, args, &mut sc, &mut md, &mut ed, name, *si);
        match result {
            Ok(true) => {
                metadata = md;
                edited = sc;
                edits = ed;
                any = true;
                outcomes.push(Outcome::Changed);
            }
            Ok(false) => outcomes.push(Outcome::Unchanged(Vec::new())),
            Err(Unchanged::Notes(notes)) => outcomes.push(Outcome::Unchanged(notes)),
            Err(Unchanged::Error(e)) => outcomes.push(Outcome::Failed(e)),
        }
    }
    if any {
        if let Err(e) = ctx.commit_vg_with(&edited, Some(found), &mut metadata, &edits) {
            return Err(CmdError::failed(format!(
                "Failed to store physical volumes in volume group \"{vg_name}\": {}",
                e.message()
            )));
        }
    }
    Ok(outcomes)
}

enum Unchanged {
    Notes(Vec<String>),
    Error(CmdError),
}

fn scan_clone(scan: &Scan) -> Scan {
    Scan {
        pvs: scan.pvs.clone(),
        others: scan.others.clone(),
        warnings: Vec::new(),
        duplicates: scan.duplicates.clone(),
    }
}

/// One PV of a VG. Ok(true) = changed; Notes = nothing changed (already so).
fn pvchange_one(
    ctx: &Context,
    args: &PvchangeArgs,
    scan: &mut Scan,
    md: &mut Metadata,
    edits: &mut PvEdits,
    name: &str,
    si: usize,
) -> Result<bool, Unchanged> {
    let vg_name = md.vg.name.clone();
    let id = scan.pvs[si].id();
    let failed = |msg: String| Unchanged::Error(CmdError::failed(msg));
    let mut done = false;
    let mut notes = Vec::new();
    if let Some(want) = args.allocatable {
        let pv = md
            .vg
            .pv_mut(&id)
            .ok_or_else(|| failed(format!("PV {name} is not in VG {vg_name}.")))?;
        let now = pv.status.iter().any(|s| s == "ALLOCATABLE");
        if now == want.is_yes() {
            notes.push(format!(
                "Physical volume \"{name}\" is already {}.",
                if now { "allocatable" } else { "unallocatable" }
            ));
        } else if want.is_yes() {
            pv.status.insert(0, "ALLOCATABLE".into());
            done = true;
        } else {
            pv.status.retain(|s| s != "ALLOCATABLE");
            done = true;
        }
    }
    if !args.addtag.is_empty() || !args.deltag.is_empty() {
        if let Some(pv) = md.vg.pv_mut(&id) {
            for tag in &args.addtag {
                add_tag(&mut pv.tags, tag);
            }
            for tag in &args.deltag {
                del_tag(&mut pv.tags, tag);
            }
        }
        done = true;
    }
    if let Some(want) = args.metadataignore {
        let ignore = want.is_yes();
        let areas = scan.pvs[si].mdas.len();
        let used_here = (0..areas)
            .filter(|&mi| !area_ignored(scan, edits, si, mi))
            .count();
        if areas == 0 {
            return Err(failed(format!(
                "Physical volume \"{name}\" has no metadata areas."
            )));
        }
        if ignore && used_here == 0 {
            return Err(failed(format!(
                "Metadata areas on physical volume \"{name}\" already ignored."
            )));
        }
        if !ignore && used_here == areas {
            return Err(failed(format!(
                "Metadata areas on physical volume \"{name}\" already marked as in-use."
            )));
        }
        let vg_used: usize = md
            .vg
            .pvs
            .iter()
            .filter_map(|p| scan.pv_index_by_id(&p.id))
            .map(|pi| {
                (0..scan.pvs[pi].mdas.len())
                    .filter(|&mi| !area_ignored(scan, edits, pi, mi))
                    .count()
            })
            .sum();
        if ignore && used_here == vg_used {
            return Err(failed(format!(
                "Cannot disable all metadata areas in volume group {vg_name}."
            )));
        }
        let copies = md.vg.metadata_copies.unwrap_or(0);
        if copies != 0
            && args.force == 0
            && !confirm(
                args.yes,
                &format!("Override preferred number of copies of VG {vg_name} metadata?"),
            )
        {
            return Err(failed(format!(
                "Physical volume {name} not changed: VG {vg_name} keeps {copies} metadata copies (vgmetadatacopies); add -y or -f to override."
            )));
        }
        for mi in 0..areas {
            edits.ignore.push((si, mi, ignore));
        }
        if copies != 0 {
            let used_after = if ignore {
                vg_used - used_here
            } else {
                vg_used + (areas - used_here)
            };
            ctx.warn(format!(
                "WARNING: Changing preferred number of copies of VG {vg_name} metadata from {copies} to {used_after}"
            ));
            md.vg.metadata_copies = Some(used_after as u32);
        }
        done = true;
    }
    if args.uuid {
        let uuid = PvUuid::from_random_bytes(crate::host::random_bytes32());
        let new = Id::from_bytes(*uuid.as_bytes())
            .ok_or_else(|| failed(format!("Failed to generate new random UUID for {name}.")))?;
        rename_pv(&mut md.vg, &id, new);
        scan.pvs[si].label.pv_header.pv_uuid = uuid;
        if !edits.labels.contains(&si) {
            edits.labels.push(si);
        }
        done = true;
    }
    if done {
        Ok(true)
    } else {
        Err(Unchanged::Notes(notes))
    }
}

fn pvchange_orphan(
    ctx: &Context,
    args: &PvchangeArgs,
    scan: &Scan,
    name: &str,
    si: usize,
) -> Outcome {
    let fail = |msg: String| Outcome::Failed(CmdError::failed(msg));
    let mut pv = scan.pvs[si].clone();
    if !args.addtag.is_empty() || !args.deltag.is_empty() {
        return fail(format!(
            "Can't change tag on Physical Volume {name} not in volume group; add it to a VG first."
        ));
    }
    if pv.in_vg_flag() && args.force < 2 {
        return fail(format!(
            "PV {name} is used by a VG but its metadata is missing; can't change PV '{name}' without -ff."
        ));
    }
    if args.allocatable.is_some() {
        return fail(format!(
            "Allocatability not supported by orphan lvm2 format PV {name}; add it to a VG first."
        ));
    }
    let mut headers: Vec<MdaHeader> = Vec::new();
    if let Some(want) = args.metadataignore {
        let ignore = want.is_yes();
        let used = pv.mdas.iter().filter(|m| !m.is_ignored()).count();
        if pv.mdas.is_empty() {
            return fail(format!("Physical volume \"{name}\" has no metadata areas."));
        }
        if ignore && used == 0 {
            return fail(format!(
                "Metadata areas on physical volume \"{name}\" already ignored."
            ));
        }
        if !ignore && used == pv.mdas.len() {
            return fail(format!(
                "Metadata areas on physical volume \"{name}\" already marked as in-use."
            ));
        }
        for m in &pv.mdas {
            let base = m
                .header
                .clone()
                .unwrap_or_else(|| MdaHeader::new(m.start, m.size, ignore));
            headers.push(base.with_removed(ignore));
        }
    }
    if args.uuid {
        pv.label.pv_header.pv_uuid = PvUuid::from_random_bytes(crate::host::random_bytes32());
    }
    if ctx.test_mode {
        return Outcome::Changed;
    }
    let written = ctx.with_writer(|w| -> CmdResult {
        for h in &headers {
            w.write_at(&pv.path, h.start, &h.to_bytes())
                .and_then(|_| w.flush(&pv.path))
                .map_err(|e| CmdError::failed(format!("Failed to write {name}: {e}")))?;
        }
        if args.uuid {
            write_label_in_vg(w, &pv, false)?;
        }
        Ok(())
    });
    match written {
        Ok(()) => Outcome::Changed,
        Err(e) => fail(format!(
            "Failed to store physical volume \"{name}\": {}",
            e.message()
        )),
    }
}

#[derive(Debug, Parser)]
#[command(about = "Resize physical volume(s)")]
struct PvresizeArgs {
    /// Use this size instead of the device's (default unit MiB)
    #[arg(
        long = "setphysicalvolumesize",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    setphysicalvolumesize: Option<String>,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Output format for the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// PVs to resize
    #[arg(value_name = "PV", required = true)]
    pvs: Vec<String>,
}

/// LVM2's `display_size` in messages: two decimals and a binary unit (`16.00 MiB`).
fn display_size(sectors: u64) -> String {
    let bytes = sectors as f64 * 512.0;
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", units[unit])
}

pub fn pvresize(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvresizeArgs>(argv)? else {
        return Ok(());
    };
    let set_size = match &args.setphysicalvolumesize {
        None => None,
        Some(text) => {
            let s = parse_size(text, 2048)
                .map_err(|e| CmdError::usage(format!("--setphysicalvolumesize: {e}")))?;
            if s.sign == Sign::Minus {
                return Err(CmdError::usage("Physical volume size may not be negative"));
            }
            // 0 means "the device's size", as with LVM2.
            (s.sectors != 0).then_some(s.sectors)
        }
    };
    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let _orphans = ctx.lock_orphans()?;
    let scan = ctx.scan()?;
    let targets = collect_targets(&ctx, &scan, false, &args.pvs)?;
    let (done, not_done, failures) = run_groups(
        &ctx,
        targets,
        |scan, found, pvs| pvresize_in_vg(&ctx, &args, set_size, scan, found, pvs),
        |scan, name, i| pvresize_orphan(&ctx, &args, set_size, scan, name, i),
        |name| format!("Physical volume \"{name}\" changed"),
        |name| format!("Physical Volume {name} not resized."),
    )?;
    ctx.say(format!(
        "{done} physical volume(s) resized or updated / {not_done} physical volume(s) not resized"
    ));
    failures.finish()
}

/// The size a PV is resized to, in sectors, after LVM2's checks and confirmation, with the
/// warnings LVM2 prints about it (the caller prints them once every check has passed, so a
/// refusal stays one line).
fn resize_target(
    args: &PvresizeArgs,
    set_size: Option<u64>,
    name: &str,
    real: u64,
    pe_start: u64,
) -> CmdResult<(u64, Vec<String>)> {
    let size = set_size.unwrap_or(real);
    if size < PV_MIN_SECTORS {
        return Err(CmdError::failed(format!(
            "Size must exceed minimum of {PV_MIN_SECTORS} sectors on PV {name}."
        )));
    }
    if size < pe_start {
        return Err(CmdError::failed(format!(
            "Size must exceed physical extent start of {pe_start} sectors on PV {name}."
        )));
    }
    let mut warnings = Vec::new();
    if size != real {
        let relation = if size > real {
            "exceeds"
        } else {
            "is less than"
        };
        let question = format!(
            "{name}: Requested size {} {relation} real size {}. Proceed? ",
            display_size(size),
            display_size(real)
        );
        if !confirm(args.yes, &question) {
            return Err(CmdError::failed(format!(
                "Physical Volume {name} not resized: the requested size {} {relation} the real size {}; add -y to confirm.",
                display_size(size),
                display_size(real)
            )));
        }
        if size > real {
            warnings.push(format!(
                "WARNING: {name}: Overriding real size {}. You could lose data.",
                display_size(real)
            ));
        }
        warnings.push(format!(
            "WARNING: {name}: Pretending size is {size} not {real} sectors."
        ));
    }
    Ok((size, warnings))
}

/// Moves a PV's second metadata area (if any) to the end of a device of `size` sectors, as
/// LVM2's format-specific resize: same area size, at the very end, never below pe_start.
/// Returns its index and size in sectors, or None when the PV has one area.
fn move_second_area(
    pv: &mut scan::ScannedPv,
    size: u64,
    name: &str,
) -> CmdResult<Option<(usize, u64)>> {
    let pe_start = pv.label.pv_header.pe_start().unwrap_or(1 << 20);
    let Some(mi) = pv.mdas.iter().position(|m| m.start > pe_start) else {
        return Ok(None);
    };
    let disk = size * 512;
    let mut area = pv.mdas[mi].size;
    let mut start = disk.saturating_sub(area);
    if start < pe_start {
        area = disk.saturating_sub(pe_start);
        start = pe_start;
    }
    if area < MIN_MDA_BYTES {
        return Err(CmdError::failed(format!(
            "Failed to move metadata area with index 1 while resizing PV {name}: no room for it after the first extent."
        )));
    }
    let ignored = pv.mdas[mi].is_ignored();
    pv.mdas[mi] = MdaCopy {
        start,
        size: area,
        header: Some(MdaHeader::new(start, area, ignored)),
        text: None,
        problem: None,
    };
    if let Some(l) = pv
        .label
        .pv_header
        .metadata_areas
        .iter_mut()
        .find(|l| l.offset > pe_start)
    {
        *l = DiskLocn::new(start, area);
    }
    Ok(Some((mi, area / 512)))
}

fn pvresize_in_vg(
    ctx: &Context,
    args: &PvresizeArgs,
    set_size: Option<u64>,
    scan: &Scan,
    found: &FoundVg,
    pvs: &[(String, usize)],
) -> CmdResult<Vec<Outcome>> {
    check_complete(found)?;
    check_writable(&found.metadata.vg)?;
    let vg_name = found.metadata.vg.name.clone();
    let mut metadata = found.metadata.clone();
    let mut edited = scan_clone(scan);
    let mut edits = PvEdits::default();
    let mut outcomes = Vec::new();
    for (name, si) in pvs {
        let result = (|| -> CmdResult {
            let id = edited.pvs[si.to_owned()].id();
            let extent = u64::from(metadata.vg.extent_size);
            let pv = metadata
                .vg
                .pv(&id)
                .ok_or_else(|| CmdError::failed(format!("PV {name} is not in VG {vg_name}.")))?;
            let pe_start = pv.pe_start;
            let real = edited.pvs[*si].dev_size / 512;
            let (size, warnings) = resize_target(args, set_size, name, real, pe_start)?;
            let mut spv = edited.pvs[*si].clone();
            let moved = move_second_area(&mut spv, size, name)?;
            // LVM2 records the size less pe_start (and the moved area) as dev_size.
            let dev_size = size - pe_start - moved.map_or(0, |(_, s)| s);
            let new_count = dev_size / extent;
            if new_count == 0 {
                return Err(CmdError::failed(format!(
                    "Size must leave space for at least one physical extent of {extent} sectors on PV {name}."
                )));
            }
            let new_count = u32::try_from(new_count).map_err(|_| {
                CmdError::failed(format!(
                    "{name}: {new_count} extents are more than LVM2 can count."
                ))
            })?;
            let used = pv_used_extents(&metadata.vg, &id);
            if u64::from(new_count) < used {
                return Err(CmdError::failed(format!(
                    "{name}: cannot resize to {new_count} extents as {used} are allocated."
                )));
            }
            if pv_used_beyond(&metadata.vg, &id, new_count) {
                return Err(CmdError::failed(format!(
                    "{name}: cannot resize to {new_count} extents as later ones are allocated."
                )));
            }
            for w in warnings {
                ctx.warn(w);
            }
            if let Some(pv) = metadata.vg.pv_mut(&id) {
                pv.dev_size = Some(dev_size);
                pv.pe_count = new_count;
            }
            if let Some((mi, _)) = moved {
                // Only a PV with an area at its end gets a new label, as with LVM2.
                spv.label.pv_header.device_size = dev_size * 512;
                edited.pvs[*si] = spv;
                edits.labels.push(*si);
                edits.fresh_headers.push((*si, mi));
            }
            Ok(())
        })();
        outcomes.push(match result {
            Ok(()) => Outcome::Changed,
            Err(e) => Outcome::Failed(e),
        });
    }
    if outcomes.iter().any(|o| matches!(o, Outcome::Changed)) {
        if let Err(e) = ctx.commit_vg_with(&edited, Some(found), &mut metadata, &edits) {
            return Err(CmdError::failed(format!(
                "Failed to store physical volumes in volume group \"{vg_name}\": {}",
                e.message()
            )));
        }
    }
    Ok(outcomes)
}

fn pvresize_orphan(
    ctx: &Context,
    args: &PvresizeArgs,
    set_size: Option<u64>,
    scan: &Scan,
    name: &str,
    si: usize,
) -> Outcome {
    let mut pv = scan.pvs[si].clone();
    let pe_start = pv.label.pv_header.pe_start().unwrap_or(1 << 20) / 512;
    let real = pv.dev_size / 512;
    let result = (|| -> CmdResult {
        let (size, warnings) = resize_target(args, set_size, name, real, pe_start)?;
        let moved = move_second_area(&mut pv, size, name)?;
        for w in warnings {
            ctx.warn(w);
        }
        pv.label.pv_header.device_size = size * 512;
        if ctx.test_mode {
            return Ok(());
        }
        ctx.with_writer(|w| -> CmdResult {
            if let Some((mi, _)) = moved {
                if let Some(h) = &pv.mdas[mi].header {
                    w.write_at(&pv.path, h.start, &h.to_bytes())
                        .and_then(|_| w.flush(&pv.path))
                        .map_err(|e| CmdError::failed(format!("Failed to write {name}: {e}")))?;
                }
            }
            write_label_in_vg(w, &pv, pv.in_vg_flag())
        })
    })();
    match result {
        Ok(()) => Outcome::Changed,
        Err(e) => Outcome::Failed(e),
    }
}
