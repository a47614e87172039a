//! Commands that change an existing VG: vgextend, vgreduce, vgrename and vgchange. Each reads
//! the VG, plans the whole change on a copy of its model, refuses before any write when the
//! request or the VG's state is wrong, and writes once through `Context::commit_vg_with`.

use super::activate::{ActivationChange, Activator};
use super::context::{canonical, Context, PvEdits};
use super::lv_activate::ActivationMode;
use super::pv::{owning_vg, plan_pv_init, write_pv_init, PvInit};
use super::select_objects::{ObjectSelection, Select, VgView};
use super::vg::{alloc_arg, check_tag, find_vg_or_fail, vg_pv};
use super::vg_plan::{
    add_tag, del_tag, drop_lost_images, lvs_on_pv, missing_pv_ids, partial_lvs, pv_used_extents,
    remove_partial_lvs, MISSING,
};
use crate::cli::{parse_args, CommandSpec, CommonArgs, YesNo};
use crate::error::{CmdError, CmdResult};
use crate::names::check_vg_name;
use crate::report::ReportKind;
use crate::store::lock::LockMode;
use crate::store::scan::{self, FoundVg, Scan};
use crate::units::{parse_size, Sign};
use clap::{ArgAction, Parser};
use metadata_format::header::PvLayoutOptions;
use metadata_format::text::{AllocationPolicy, Id, Metadata, VolumeGroup};
use std::ffi::OsString;
use std::path::PathBuf;

/// A VG argument as LVM2 takes it: `/dev/vg0` names VG `vg0`.
pub fn strip_dev(name: &str) -> &str {
    name.strip_prefix("/dev/")
        .map(|n| n.trim_end_matches('/'))
        .unwrap_or(name)
}

/// Reports the VG's missing PVs and stale copies as LVM2 does (`Context::vet_vg`). Commands
/// call it once a request has passed its checks, so a refusal stays one line.
pub fn report_vg_state(ctx: &Context, scan: &Scan, found: &FoundVg) -> CmdResult {
    ctx.vet_vg(scan, found)
}

/// A VG name argument: `/dev/` dropped, LVM2's name rules checked (exit 5, as LVM2's
/// "has invalid characters", before any lock file is named after it).
pub fn vg_name_arg(arg: &str) -> CmdResult<String> {
    let name = strip_dev(arg);
    check_vg_name(name).map_err(CmdError::failed)?;
    Ok(name.to_string())
}

/// LVM2 refuses most changes to a VG with missing PVs (vg_read for update).
pub fn check_complete(found: &FoundVg) -> CmdResult {
    if missing_pv_ids(found).is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = missing_pv_ids(found).iter().map(Id::to_string).collect();
    Err(CmdError::failed(format!(
        "Cannot change VG {} while PVs are missing (PV {}); see vgreduce --removemissing and vgextend --restoremissing.",
        found.metadata.vg.name,
        ids.join(", ")
    )))
}

pub fn check_writable(vg: &VolumeGroup) -> CmdResult {
    if vg.status.iter().any(|s| s == "WRITE") {
        return Ok(());
    }
    Err(CmdError::failed(format!(
        "Volume group {} is read-only; make it writable first (vgchange --permission rw is LVM2's way).",
        vg.name
    )))
}

pub fn is_resizeable(vg: &VolumeGroup) -> bool {
    vg.status.iter().any(|s| s == "RESIZEABLE")
}

fn check_resizeable(vg: &VolumeGroup) -> CmdResult {
    if is_resizeable(vg) {
        return Ok(());
    }
    Err(CmdError::failed(format!(
        "Volume group {} is not resizeable; allow it with vgchange -x y.",
        vg.name
    )))
}

/// LVM2's yes/no prompt through `cli::prompt`: `-y` answers yes; on a terminal the user
/// answers (on stderr, LVM2's answer forms); without one the answer is no and the caller fails
/// with a message naming `-y`.
pub fn confirm(yes: bool, question: &str) -> bool {
    let who = crate::cli::prompt::Answerer::current(yes, 0);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut err = std::io::stderr();
    crate::cli::prompt::ask(who, question.trim_end(), "", &mut input, &mut err).unwrap_or(false)
}

/// Errors of a command that goes on after a failure (several VGs or PVs): every one is printed
/// in order, the last one is returned so the command exits 5.
#[derive(Default)]
pub struct Failures {
    last: Option<CmdError>,
}

impl Failures {
    pub fn push(&mut self, ctx: &Context, err: CmdError) {
        if let Some(prev) = self.last.replace(err) {
            ctx.warn(prev.message());
        }
    }

    pub fn finish(self) -> CmdResult {
        match self.last {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The index in the VG's PV list of the PV on the device `arg`.
fn vg_pv_on_device(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    arg: &str,
    candidates: &[crate::store::devices::Candidate],
) -> CmdResult<usize> {
    let path = ctx.resolve_device(arg, candidates)?.path;
    let in_vg = scan.pv_index_by_path(&path).and_then(|si| {
        found
            .pv_devices
            .iter()
            .position(|d| d.is_some_and(|d| d == si))
    });
    in_vg.ok_or_else(|| {
        CmdError::failed(format!(
            "Failed to find physical volume \"{arg}\" in volume group \"{}\".",
            found.metadata.vg.name
        ))
    })
}

#[derive(Debug, Parser)]
#[command(about = "Add physical volumes to a volume group")]
struct VgextendArgs {
    /// Clear the MISSING flag of PVs that came back (no devices are initialized)
    #[arg(long = "restoremissing")]
    restoremissing: bool,
    /// Accepted for compatibility; as with LVM2, vgextend never forces pvcreate
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Wipe the start of new PVs (default y)
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    zero: Option<YesNo>,
    /// Sector (0-3) to hold the label of new PVs
    #[arg(long = "labelsector", value_name = "NUMBER")]
    labelsector: Option<u64>,
    /// Size of each metadata area of new PVs (default unit KiB)
    #[arg(long = "metadatasize", value_name = "SIZE")]
    metadatasize: Option<String>,
    /// Number of metadata areas on new PVs: 0, 1 or 2
    #[arg(
        long = "pvmetadatacopies",
        alias = "metadatacopies",
        value_name = "0|1|2"
    )]
    pvmetadatacopies: Option<u32>,
    /// Create the new PVs' metadata areas flagged as ignored
    #[arg(long = "metadataignore", value_name = "y|n")]
    metadataignore: Option<YesNo>,
    /// Align the data area of new PVs to this size (default unit KiB)
    #[arg(long = "dataalignment", value_name = "SIZE")]
    dataalignment: Option<String>,
    /// Shift the aligned data area start by this much (default unit KiB)
    #[arg(long = "dataalignmentoffset", value_name = "SIZE")]
    dataalignmentoffset: Option<String>,
    /// Metadata format; only lvm2 exists
    #[arg(short = 'M', long = "metadatatype", value_name = "lvm2")]
    metadatatype: Option<String>,
    /// Back up the metadata after the change (as lvm.conf backup/backup says by default)
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<YesNo>,
    /// Output format for the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// The VG to extend
    #[arg(value_name = "VG")]
    vg: String,
    /// Devices to add (initialized as PVs first if they are not)
    #[arg(value_name = "PV", required = true)]
    pvs: Vec<String>,
}

fn sectors_arg(name: &str, text: &Option<String>, unit: u64) -> CmdResult<Option<u64>> {
    let Some(text) = text else { return Ok(None) };
    let s = parse_size(text, unit).map_err(|e| CmdError::usage(format!("--{name}: {e}")))?;
    if s.sign != Sign::None {
        return Err(CmdError::usage(format!(
            "--{name} {text}: a size here takes no sign; give e.g. 1m."
        )));
    }
    Ok(Some(s.sectors))
}

pub fn vgextend(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgextendArgs>(argv)? else {
        return Ok(());
    };
    if args.metadatatype.as_deref().is_some_and(|t| t != "lvm2") {
        return Err(CmdError::usage(
            "--metadatatype: only lvm2 is supported (LVM2 2.03 dropped lvm1 and pool).",
        ));
    }
    let mut layout = PvLayoutOptions::default();
    if let Some(c) = args.pvmetadatacopies {
        if c > 2 {
            return Err(CmdError::usage(format!(
                "--pvmetadatacopies {c}: give 0, 1 or 2."
            )));
        }
        layout.metadata_copies = c;
    }
    layout.metadata_size_sectors = sectors_arg("metadatasize", &args.metadatasize, 2)?;
    layout.data_alignment_sectors = sectors_arg("dataalignment", &args.dataalignment, 2)?;
    layout.data_alignment_offset_sectors =
        sectors_arg("dataalignmentoffset", &args.dataalignmentoffset, 2)?;
    layout.metadata_ignore = args.metadataignore.is_some_and(YesNo::is_yes);
    if let Some(s) = args.labelsector {
        layout.label_sector = s;
    }
    let vg_name = vg_name_arg(&args.vg)?;

    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let _vglock = ctx.lock_vg(&vg_name, LockMode::Exclusive)?;
    let _orphans = ctx.lock_orphans()?;
    let candidates = ctx.candidates()?;
    let mut scan = scan::scan(&candidates);
    // Missing PVs do not stop vgextend (they are reported once the request passed its checks).
    let found = find_vg_or_fail(&scan, &vg_name)?;
    ctx.check_vg_access(&found)?;
    if args.restoremissing {
        return restore_missing(&ctx, &scan, &found, &args.pvs, &candidates);
    }
    let vg = &found.metadata.vg;
    check_writable(vg)?;
    check_resizeable(vg)?;

    // Every device is checked before anything is written: a bad one leaves all untouched.
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    for arg in &args.pvs {
        let path = ctx.resolve_device(arg, &candidates)?.path;
        if paths.iter().any(|(_, p)| canonical(p) == canonical(&path)) {
            return Err(CmdError::usage(format!(
                "Device {arg} is given twice; name each device once."
            )));
        }
        if let Some(i) = scan.pv_index_by_path(&path) {
            if let Some(owner) = owning_vg(&scan, &scan.pvs[i].id()) {
                return Err(CmdError::failed(if owner == vg_name {
                    format!("Physical volume '{arg}' is already in volume group '{owner}'.")
                } else {
                    format!(
                        "Physical volume '{arg}' is already in volume group '{owner}'; remove it there first (vgreduce) to add it to '{vg_name}'."
                    )
                }));
            }
        }
        paths.push((arg.clone(), path));
    }
    if vg.max_pv != 0 && vg.pvs.len() + paths.len() > vg.max_pv as usize {
        let (arg, _) = &paths[(vg.max_pv as usize).saturating_sub(vg.pvs.len())];
        return Err(CmdError::failed(format!(
            "No space for '{arg}' - volume group '{vg_name}' holds max {} physical volume(s); raise it with vgchange -p.",
            vg.max_pv
        )));
    }
    let managed_copies = vg.metadata_copies.unwrap_or(0) != 0;
    if args.metadataignore.is_some()
        && managed_copies
        && !confirm(
            args.yes,
            &format!("Override preferred number of copies of VG {vg_name} metadata?"),
        )
    {
        return Err(CmdError::failed(format!(
            "Volume group {vg_name} not changed: --metadataignore overrides its vgmetadatacopies; add -y to confirm."
        )));
    }
    let fresh: Vec<(String, PathBuf)> = paths
        .iter()
        .filter(|(_, p)| scan.pv_index_by_path(p).is_none())
        .cloned()
        .collect();
    let init = PvInit {
        layout,
        zero: args.zero.map(YesNo::is_yes).unwrap_or(true),
        // pvcreate within vgextend cannot be forced (LVM2).
        force: 0,
        yes: args.yes,
        set_size_sectors: None,
        uuid: None,
    };
    let plans = plan_pv_init(&scan, &fresh, &init)?;
    let extent = u64::from(vg.extent_size);
    for (arg, path) in &paths {
        if let Some(i) = scan.pv_index_by_path(path) {
            vg_pv(&scan.pvs[i], extent, arg)?;
        }
    }
    if ctx.test_mode {
        for plan in &plans {
            ctx.say(format!(
                "Physical volume \"{}\" successfully created.",
                plan.arg
            ));
        }
        ctx.say(format!("Volume group \"{vg_name}\" successfully extended"));
        return Ok(());
    }
    for plan in &plans {
        write_pv_init(&ctx, plan)?;
        ctx.say(format!(
            "Physical volume \"{}\" successfully created.",
            plan.arg
        ));
        let pv = scan::scan_device(&plan.path)
            .map_err(|e| CmdError::failed(format!("Cannot read {} back: {e}", plan.arg)))?
            .ok_or_else(|| CmdError::failed(format!("{} lost its new label", plan.arg)))?;
        scan.pvs.push(pv);
    }
    let mut metadata = found.metadata.clone();
    for (arg, path) in &paths {
        let i = scan
            .pv_index_by_path(path)
            .ok_or_else(|| CmdError::failed(format!("{arg} is not a PV")))?;
        metadata.vg.pvs.push(vg_pv(&scan.pvs[i], extent, arg)?);
    }
    if args.metadataignore.is_some() && managed_copies {
        let used = used_area_count(&scan, &metadata.vg);
        let copies = metadata.vg.metadata_copies.unwrap_or(0);
        if copies as usize != used {
            ctx.warn(format!(
                "WARNING: Changing preferred number of copies of VG {vg_name} metadata from {copies} to {used}"
            ));
            metadata.vg.metadata_copies = Some(used as u32);
        }
    }
    // As LVM2, adding PVs to a VG with missing PVs is allowed (it helps repairs).
    report_vg_state(&ctx, &scan, &found)?;
    let edits = PvEdits {
        allow_missing_pvs: true,
        ..PvEdits::default()
    };
    ctx.commit_vg_with(&scan, Some(&found), &mut metadata, &edits)?;
    ctx.say(format!("Volume group \"{vg_name}\" successfully extended"));
    Ok(())
}

/// Metadata areas in use (not ignored) on the VG's PVs present in the scan.
pub fn used_area_count(scan: &Scan, vg: &VolumeGroup) -> usize {
    vg.pvs
        .iter()
        .filter_map(|p| scan.pv_index_by_id(&p.id))
        .flat_map(|i| scan.pvs[i].mdas.iter())
        .filter(|m| !m.is_ignored())
        .count()
}

/// `vgextend --restoremissing`: PVs that came back after the VG was written without them are
/// taken into use again (their MISSING flag dropped).
fn restore_missing(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    args: &[String],
    candidates: &[crate::store::devices::Candidate],
) -> CmdResult {
    let name = found.metadata.vg.name.clone();
    let mut metadata = found.metadata.clone();
    let mut fixed = 0;
    let mut notes = Vec::new();
    for arg in args {
        let i = match vg_pv_on_device(ctx, scan, found, arg, candidates) {
            Ok(i) => i,
            Err(_) => {
                notes.push(format!("PV {arg} not found in VG {name}"));
                continue;
            }
        };
        let pv = &mut metadata.vg.pvs[i];
        if pv.flags.iter().any(|f| f == MISSING) {
            pv.flags.retain(|f| f != MISSING);
            fixed += 1;
        } else {
            notes.push(format!("PV {arg} was not missing in VG {name}"));
        }
    }
    if fixed == 0 {
        return Err(CmdError::failed(format!(
            "No PV has been restored: {}.",
            notes.join("; ")
        )));
    }
    report_vg_state(ctx, scan, found)?;
    for note in notes {
        ctx.warn(format!("WARNING: {note}"));
    }
    let edits = PvEdits {
        allow_missing_pvs: true,
        ..PvEdits::default()
    };
    ctx.commit_vg_with(scan, Some(found), &mut metadata, &edits)?;
    ctx.say(format!("Volume group \"{name}\" successfully extended"));
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Remove physical volume(s) from a volume group")]
struct VgreduceArgs {
    /// Remove every PV that holds no extents
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Remove PVs that are missing; with -f also the LVs that used them
    #[arg(long = "removemissing")]
    removemissing: bool,
    /// With --removemissing: only remove missing mirror images
    #[arg(long = "mirrorsonly")]
    mirrorsonly: bool,
    /// With --removemissing: also remove LVs that used the missing PVs
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
    #[command(flatten)]
    common: CommonArgs,
    /// The VG, then the PVs to remove from it
    #[arg(value_name = "VG PV")]
    args: Vec<String>,
}

pub fn vgreduce(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgreduceArgs>(argv)? else {
        return Ok(());
    };
    let Some((vg_arg, pv_args)) = args.args.split_first() else {
        return Err(CmdError::usage(if args.removemissing {
            "Please give volume group name."
        } else {
            "Please give volume group name and physical volume paths."
        }));
    };
    if args.mirrorsonly && !args.removemissing {
        return Err(CmdError::usage("--mirrorsonly requires --removemissing."));
    }
    if args.all && args.removemissing {
        return Err(CmdError::usage(
            "Options -a and --removemissing are exclusive; run them one after the other.",
        ));
    }
    if pv_args.is_empty() && !args.all && !args.removemissing {
        return Err(CmdError::usage(
            "Please enter physical volume paths or option -a.",
        ));
    }
    if !pv_args.is_empty() && args.all {
        return Err(CmdError::usage(
            "Option -a and physical volume paths mutually exclusive.",
        ));
    }
    if !pv_args.is_empty() && args.removemissing {
        return Err(CmdError::usage(
            "Please only specify the volume group with --removemissing.",
        ));
    }
    let vg_name = vg_name_arg(vg_arg)?;
    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let _vglock = ctx.lock_vg(&vg_name, LockMode::Exclusive)?;
    let _orphans = ctx.lock_orphans()?;
    let candidates = ctx.candidates()?;
    let scan = scan::scan(&candidates);
    if args.removemissing {
        let found = find_vg_or_fail(&scan, &vg_name)?;
        ctx.check_vg_access(&found)?;
        ctx.check_vg_access(&found)?;
        return remove_missing(&ctx, &scan, &found, args.force > 0, args.mirrorsonly);
    }
    let found = find_vg_or_fail(&scan, &vg_name)?;
    ctx.check_vg_access(&found)?;
    check_complete(&found)?;
    let vg = &found.metadata.vg;
    check_writable(vg)?;
    check_resizeable(vg)?;

    // (index in the VG's PV list, PV path) of each PV to remove; errors for the others.
    let mut remove: Vec<usize> = Vec::new();
    let device_of = |i: usize| {
        found.pv_devices[i]
            .map(|si| scan.pvs[si].path.display().to_string())
            .unwrap_or_else(|| vg.pvs[i].id.to_string())
    };
    let in_use = |i: usize| {
        let lvs = lvs_on_pv(vg, &vg.pvs[i].id);
        CmdError::failed(format!(
            "Physical volume \"{}\" still in use by LV(s) {}; move them off first (pvmove) or remove them.",
            device_of(i),
            lvs.join(", ")
        ))
    };
    let final_pv = |i: usize| {
        CmdError::failed(format!(
            "Can't remove final physical volume \"{}\" from volume group \"{vg_name}\"; remove the VG instead (vgremove).",
            device_of(i)
        ))
    };
    if args.all {
        // As LVM2: each PV in VG order; used ones are reported, the last empty one stays when
        // every PV is empty. The empty ones go in one write.
        let mut outcome: Vec<Result<usize, CmdError>> = Vec::new();
        let mut left = vg.pvs.len();
        for i in 0..vg.pvs.len() {
            if pv_used_extents(vg, &vg.pvs[i].id) > 0 {
                outcome.push(Err(in_use(i)));
            } else if left == 1 {
                outcome.push(Err(final_pv(i)));
            } else {
                left -= 1;
                remove.push(i);
                outcome.push(Ok(i));
            }
        }
        if !remove.is_empty() {
            commit_without(&ctx, &scan, &found, &remove)?;
        }
        let mut failures = Failures::default();
        for o in outcome {
            match o {
                Ok(i) => ctx.say(format!(
                    "Removed \"{}\" from volume group \"{vg_name}\"",
                    device_of(i)
                )),
                Err(e) => failures.push(&ctx, e),
            }
        }
        return failures.finish();
    }
    for arg in pv_args {
        let i = vg_pv_on_device(&ctx, &scan, &found, arg, &candidates)?;
        if remove.contains(&i) {
            return Err(CmdError::usage(format!(
                "Device {arg} is given twice; name each device once."
            )));
        }
        if pv_used_extents(vg, &vg.pvs[i].id) > 0 {
            return Err(in_use(i));
        }
        if remove.len() + 1 == vg.pvs.len() {
            return Err(final_pv(i));
        }
        remove.push(i);
    }
    commit_without(&ctx, &scan, &found, &remove)?;
    for i in remove {
        ctx.say(format!(
            "Removed \"{}\" from volume group \"{vg_name}\"",
            device_of(i)
        ));
    }
    Ok(())
}

/// Writes the VG without the PVs at `remove` (indexes in its PV list); they become orphans.
fn commit_without(ctx: &Context, scan: &Scan, found: &FoundVg, remove: &[usize]) -> CmdResult {
    let mut metadata = found.metadata.clone();
    let mut i = 0;
    metadata.vg.pvs.retain(|_| {
        i += 1;
        !remove.contains(&(i - 1))
    });
    ctx.commit_vg(scan, Some(found), &mut metadata)
}

/// `vgreduce --removemissing [--force]`.
fn remove_missing(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    force: bool,
    mirrors_only: bool,
) -> CmdResult {
    let name = found.metadata.vg.name.clone();
    let missing = missing_pv_ids(found);
    if missing.is_empty() {
        ctx.say(format!("Volume group \"{name}\" is already consistent."));
        return Ok(());
    }
    check_writable(&found.metadata.vg)?;
    let mut metadata = found.metadata.clone();
    let partial = partial_lvs(&metadata.vg, &missing);
    let mut removed = Vec::new();
    let mut lost = super::vg_plan::LostImages::default();
    if !partial.is_empty() {
        if !force {
            return Err(CmdError::failed(format!(
                "There are still partial LVs in VG {name} ({}); to remove them unconditionally use: vgreduce --removemissing --force.",
                partial.join(", ")
            )));
        }
        // RAID images on the missing PVs become error segments, mirrors drop their lost legs
        // and logs; what is still partial after that is removed (not with --mirrorsonly).
        lost = drop_lost_images(&mut metadata.vg, &missing);
        let left: Vec<String> = partial_lvs(&metadata.vg, &missing)
            .into_iter()
            .filter(|n| {
                metadata
                    .vg
                    .lv(n)
                    .is_some_and(|l| metadata.vg.is_lv_visible(l))
            })
            .collect();
        if mirrors_only && !left.is_empty() {
            return Err(CmdError::failed(format!(
                "Non-mirror-image LVs found in VG {name} ({}): --mirrorsonly can't remove them; use vgreduce --removemissing --force.",
                left.join(", ")
            )));
        }
        removed = remove_partial_lvs(&mut metadata.vg, &missing).map_err(CmdError::failed)?;
    }
    metadata.vg.pvs.retain(|pv| !missing.contains(&pv.id));
    if metadata.vg.pvs.is_empty() {
        return Err(CmdError::failed(format!(
            "Volume group \"{name}\" would have no PVs left; remove it with vgremove -f instead."
        )));
    }
    report_vg_state(ctx, scan, found)?;
    let act = super::lv_activate::Activation::new(ctx);
    // Removed LVs that are active go from the kernel first (LVM2's lv_remove deactivates).
    for lv in removed.iter().filter(|r| r.visible) {
        if let Some(l) = found.metadata.vg.lv(&lv.name) {
            if act.is_active(&found.metadata.vg, l) {
                act.deactivate_lv(ctx, found, &lv.name)?;
            }
        }
    }
    // Active LVs that lost images are reloaded around the commit (LVM2's lv_update_and_reload
    // in lv_raid_remove_missing and mirror_remove_missing): the first one's suspend holds the
    // commit, the others reload over the metadata already written.
    let mut committed = false;
    for lv in &lost.changed {
        if super::vg_plan::mirror_log_dropped(&found.metadata.vg, &metadata.vg, lv)
            && found
                .metadata
                .vg
                .lv(lv)
                .is_some_and(|l| act.mirror_in_sync(&found.metadata.vg, l))
        {
            act.set_mirror_in_sync(true);
        }
        let mut commit = || {
            if committed {
                return Ok(());
            }
            committed = true;
            ctx.commit_vg(scan, Some(found), &mut metadata.clone())
        };
        act.update_and_reload(
            ctx,
            scan,
            found,
            &metadata.vg,
            lv,
            lv,
            super::lv_online::PLAIN_SUSPEND,
            &mut commit,
        )?;
    }
    if !committed {
        ctx.commit_vg(scan, Some(found), &mut metadata)?;
    }
    for lv in &removed {
        if lost.unusable.contains(&lv.name) {
            ctx.warn(format!("No usable images left in {name}/{}.", lv.name));
        } else if lv.partial && lv.visible {
            ctx.warn(format!("WARNING: Removing partial LV {name}/{}.", lv.name));
        }
        if lv.visible {
            ctx.say(format!(
                "Logical volume \"{}\" successfully removed.",
                lv.name
            ));
        }
    }
    ctx.say(format!("Wrote out consistent volume group {name}."));
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Rename a volume group")]
struct VgrenameArgs {
    /// Accepted for compatibility
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Back up the metadata after the change
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<YesNo>,
    /// Output format for the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// The VG's current name, or its UUID
    #[arg(value_name = "VG|UUID")]
    old: String,
    /// The new name
    #[arg(value_name = "VG_NEW")]
    new: String,
}

/// The VG whose id is `id`, if any.
fn vg_by_id(scan: &Scan, id: &Id) -> Option<String> {
    scan.vg_names().into_iter().find(|n| {
        scan.find_vg(n)
            .ok()
            .flatten()
            .is_some_and(|vg| vg.metadata.vg.id == *id)
    })
}

/// Longest VG name `vgrename` accepts: LVM2 keeps room for the `/dev/` path.
const MAX_RENAME_LEN: usize = 128 - "/dev/".len() - 2;

pub fn vgrename(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgrenameArgs>(argv)? else {
        return Ok(());
    };
    let old_arg = strip_dev(&args.old).to_string();
    let new = strip_dev(&args.new).to_string();
    if new.len() > MAX_RENAME_LEN {
        return Err(CmdError::failed(format!(
            "New volume group path exceeds maximum length of {MAX_RENAME_LEN}!"
        )));
    }
    check_vg_name(&new).map_err(|e| {
        CmdError::failed(match e.strip_prefix("Volume group") {
            Some(rest) => format!("New volume group{rest}"),
            None => e,
        })
    })?;
    if old_arg == new {
        return Err(CmdError::failed(
            "Old and new volume group names must differ",
        ));
    }
    // A UUID passes the name rules too (letters, digits, dashes).
    check_vg_name(&old_arg).map_err(CmdError::failed)?;
    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let scan = ctx.scan()?;
    // The old VG by name, else by UUID as LVM2 allows.
    let old_name = if scan.vg_names().contains(&old_arg) {
        old_arg.clone()
    } else {
        Id::parse(&old_arg)
            .and_then(|id| vg_by_id(&scan, &id))
            .ok_or_else(|| CmdError::failed(format!("Volume group \"{old_arg}\" not found")))?
    };
    if old_name == new {
        return Err(CmdError::failed(
            "New VG name must differ from the old VG name.",
        ));
    }
    // Both names locked, in name order, then the VG read again under the locks.
    let (first, second) = if old_name < new {
        (&old_name, &new)
    } else {
        (&new, &old_name)
    };
    let _l1 = ctx.lock_vg(first, LockMode::Exclusive)?;
    let _l2 = ctx.lock_vg(second, LockMode::Exclusive)?;
    let scan = ctx.scan()?;
    let found = find_vg_or_fail(&scan, &old_name)?;
    ctx.check_vg_access(&found)?;
    if scan.vg_names().contains(&new) {
        return Err(CmdError::failed(format!(
            "New VG name \"{new}\" already exists"
        )));
    }
    if let Some(other) = Id::parse(&new).and_then(|id| vg_by_id(&scan, &id)) {
        return Err(CmdError::failed(format!(
            "New VG name \"{new}\" matches the UUID of existing VG {other}"
        )));
    }
    check_complete(&found)?;
    check_writable(&found.metadata.vg)?;
    let mut metadata = found.metadata.clone();
    metadata.vg.name = new.clone();
    ctx.commit_vg(&scan, Some(&found), &mut metadata)?;
    ctx.say(format!(
        "Volume group \"{old_arg}\" successfully renamed to \"{new}\""
    ));
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Change volume group attributes")]
struct VgchangeArgs {
    /// Join the lockspaces of shared VGs (lvmlockd)
    #[arg(long = "lockstart")]
    lockstart: bool,
    /// Leave the lockspaces of shared VGs (lvmlockd)
    #[arg(long = "lockstop")]
    lockstop: bool,
    /// Change the VG's lock type: sanlock (shared) or none (local)
    #[arg(long = "locktype", alias = "lock-type", value_name = "sanlock|none")]
    locktype: Option<String>,
    /// Activate (y, ey, sy, ly, ay) or deactivate (n, ln) the VG's LVs
    #[arg(short = 'a', long = "activate", value_name = "y|n|ey|sy|ay|ly|ln")]
    activate: Option<String>,
    /// Also (de)activate LVs flagged to skip activation
    #[arg(short = 'K', long = "ignoreactivationskip")]
    ignoreactivationskip: bool,
    /// With -a: how to treat missing PVs (complete, degraded, partial)
    #[arg(long = "activationmode", value_name = "MODE")]
    activationmode: Option<String>,
    /// With -a: allow LVs with missing PVs
    #[arg(short = 'P', long = "partial")]
    partial: bool,
    /// With -a: activate read-only
    #[arg(long = "readonly")]
    readonly: bool,
    /// With -a: as run from early boot scripts
    #[arg(long = "sysinit")]
    sysinit: bool,
    /// With -a: go on when locking fails
    #[arg(long = "ignorelockingfailure")]
    ignorelockingfailure: bool,
    /// With -a: dmeventd monitoring of the activated LVs
    #[arg(long = "monitor", value_name = "y|n")]
    monitor: Option<YesNo>,
    /// With -a: background polling of pending conversions
    #[arg(long = "poll", value_name = "y|n")]
    poll: Option<YesNo>,
    /// With -a: the autoactivation event source (event)
    #[arg(long = "autoactivation", value_name = "STRING")]
    autoactivation: Option<String>,
    /// Add a tag to the VG (repeatable)
    #[arg(long = "addtag", value_name = "TAG")]
    addtag: Vec<String>,
    /// Remove a tag from the VG (repeatable)
    #[arg(long = "deltag", value_name = "TAG")]
    deltag: Vec<String>,
    /// Maximum number of LVs (0 = no limit)
    #[arg(short = 'l', long = "logicalvolume", value_name = "NUMBER")]
    logicalvolume: Option<u32>,
    /// Maximum number of PVs (0 = no limit)
    #[arg(short = 'p', long = "maxphysicalvolumes", value_name = "NUMBER")]
    maxphysicalvolumes: Option<u32>,
    /// Whether PVs may be added or removed
    #[arg(
        short = 'x',
        long = "resizeable",
        alias = "resizable",
        value_name = "y|n"
    )]
    resizeable: Option<YesNo>,
    /// Generate a new random VG UUID
    #[arg(short = 'u', long = "uuid")]
    uuid: bool,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// Number of metadata copies to keep in use (a number, all or unmanaged)
    #[arg(
        long = "vgmetadatacopies",
        alias = "metadatacopies",
        value_name = "NUMBER|all|unmanaged"
    )]
    vgmetadatacopies: Option<String>,
    /// Whether the VG's LVs are autoactivated
    #[arg(long = "setautoactivation", value_name = "y|n")]
    setautoactivation: Option<YesNo>,
    /// Change the extent size (not built yet)
    #[arg(short = 's', long = "physicalextentsize", value_name = "SIZE")]
    physicalextentsize: Option<String>,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Accepted for compatibility
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Back up the metadata after the change
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<YesNo>,
    /// Accepted for compatibility (no dmeventd here)
    #[arg(long = "ignoremonitoring")]
    ignoremonitoring: bool,
    /// Accepted for compatibility (no udev synchronisation here)
    #[arg(long = "noudevsync")]
    noudevsync: bool,
    /// Output format for the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    /// Change only the VGs this selection picks (as `vgs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// VGs (or @tags) to change; all VGs when none is given
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

/// `--vgmetadatacopies`: None = unmanaged (0), `all` un-ignores every area and then is
/// unmanaged, N keeps N areas in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MdaCopies {
    All,
    Count(u32),
}

fn mda_copies_arg(text: &str) -> CmdResult<MdaCopies> {
    match text.to_ascii_lowercase().as_str() {
        "all" => Ok(MdaCopies::All),
        "unmanaged" => Ok(MdaCopies::Count(0)),
        n => n.parse::<u32>().map(MdaCopies::Count).map_err(|_| {
            CmdError::usage(format!(
                "--vgmetadatacopies {text}: give a number, all or unmanaged."
            ))
        }),
    }
}

impl VgchangeArgs {
    fn changes_metadata(&self) -> bool {
        !self.addtag.is_empty()
            || !self.deltag.is_empty()
            || self.logicalvolume.is_some()
            || self.maxphysicalvolumes.is_some()
            || self.resizeable.is_some()
            || self.uuid
            || self.alloc.is_some()
            || self.vgmetadatacopies.is_some()
            || self.setautoactivation.is_some()
            || self.physicalextentsize.is_some()
    }

    /// Options LVM2 still allows on a VG with missing PVs.
    fn partial_safe(&self) -> bool {
        self.logicalvolume.is_none()
            && self.maxphysicalvolumes.is_none()
            && self.resizeable.is_none()
            && !self.uuid
            && self.alloc.is_none()
            && self.vgmetadatacopies.is_none()
            && self.setautoactivation.is_none()
    }
}

pub fn vgchange(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgchangeArgs>(argv)? else {
        return Ok(());
    };
    if args.lockstart || args.lockstop || args.locktype.is_some() {
        return lock_forms(&args, argv);
    }
    let activation = match args.activate.as_deref() {
        None => None,
        Some(a) => Some(ActivationChange::parse(a).ok_or_else(|| {
            CmdError::usage(format!(
                "Invalid argument for --activate: {a}; use y, n, ey, sy, ay, ly or ln."
            ))
        })?),
    };
    let metadata_change = args.changes_metadata();
    if activation.is_none() && !metadata_change {
        return Err(CmdError::usage(
            if args.monitor.is_some() || args.poll.is_some() {
                "vgchange --monitor/--poll without -a is not built in oxlvm yet (no dmeventd or polling here)."
            } else {
                "Need one or more command options: -a, --addtag, --deltag, -l, -p, -x, -u, --alloc, --vgmetadatacopies or --setautoactivation."
            },
        ));
    }
    if activation.is_some() && metadata_change {
        return Err(CmdError::usage(
            "vgchange -a does not take attribute changes (--addtag, -x, -l, ...) in the same command; run two commands.",
        ));
    }
    if activation.is_none()
        && (args.ignoreactivationskip
            || args.activationmode.is_some()
            || args.partial
            || args.readonly
            || args.sysinit
            || args.autoactivation.is_some())
    {
        return Err(CmdError::usage(
            "--ignoreactivationskip, --activationmode, --partial, --readonly, --sysinit and --autoactivation go with -a.",
        ));
    }
    if let Some(a) = activation {
        if !a.is_activating() && (args.monitor.is_some() || args.poll.is_some()) {
            return Err(CmdError::usage(
                "Only -ay* allowed with --monitor or --poll.",
            ));
        }
    }
    if let Some(m) = args.activationmode.as_deref() {
        if !matches!(m, "complete" | "degraded" | "partial") {
            return Err(CmdError::usage(format!(
                "--activationmode {m}: use complete, degraded or partial."
            )));
        }
    }
    if args.physicalextentsize.is_some() {
        return Err(CmdError::usage(
            "vgchange -s (changing the extent size) is not built in oxlvm yet; use LVM2's vgchange -s meanwhile.",
        ));
    }
    for tag in args.addtag.iter().chain(&args.deltag) {
        check_tag(tag)?;
    }
    let alloc = alloc_arg(args.alloc.as_deref())?;
    let copies = args
        .vgmetadatacopies
        .as_deref()
        .map(mda_copies_arg)
        .transpose()?;
    for arg in args.vgs.iter().filter(|a| !a.starts_with('@')) {
        // LVM2 rejects a bad VG name here as an invalid command line.
        check_vg_name(strip_dev(arg)).map_err(CmdError::usage)?;
    }

    let select = Select::parse(ReportKind::Vg, args.select.as_deref())?;
    if select.is_help() {
        return Ok(());
    }
    let ctx = Context::new(&args.common, argv)?;
    let activation_mode = match activation {
        Some(_) => ActivationMode::from_args(&ctx, args.activationmode.as_deref(), args.partial)?,
        None => ActivationMode::default(),
    };
    // VGs named outright need no scan before their lock (each is read under it); all VGs,
    // `@tag` and `--select` do.
    let needs_scan = args.vgs.is_empty()
        || args.vgs.iter().any(|a| a.starts_with('@'))
        || matches!(select, Select::Some(_));
    let scan = if needs_scan {
        ctx.scan()?
    } else {
        Scan::default()
    };
    let mut names = select_vgs(&scan, &args.vgs);
    if let Select::Some(sel) = &select {
        names.retain(|name| vg_selected(&ctx, &scan, name, sel));
    }
    let activator = Activator::new();
    let mut failures = Failures::default();
    // No VG at all is not an error for LVM2's vgchange either: nothing to do.
    for name in names {
        let mode = if metadata_change {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        let result = ctx.lock_vg(&name, mode).and_then(|_lock| {
            let mut scan = ctx.scan()?;
            let mut found = find_vg_or_fail(&scan, &name)?;
            ctx.check_vg_access(&found)?;
            if metadata_change {
                // The VG is parsed; no text is read again for the change.
                scan.drop_texts();
                change_vg(&ctx, &scan, &mut found, &args, alloc.as_ref(), copies)?;
            }
            if let Some(change) = activation {
                report_vg_state(&ctx, &scan, &found)?;
                let active = activator.apply(
                    &ctx,
                    &scan,
                    &found,
                    change,
                    args.ignoreactivationskip,
                    activation_mode,
                )?;
                ctx.say(format!(
                    "{active} logical volume(s) in volume group \"{name}\" now active"
                ));
            }
            super::free_at_exit(found);
            Ok(())
        });
        if let Err(e) = result {
            failures.push(&ctx, e);
        }
    }
    failures.finish()
}

/// vgchange's lvmlockd forms, each a command of its own in LVM2: `--lockstart`,
/// `--lockstop`, `--locktype TYPE VG`.
fn lock_forms(args: &VgchangeArgs, argv: &[OsString]) -> CmdResult {
    let others = args.activate.is_some() || args.changes_metadata();
    let forms = [args.lockstart, args.lockstop, args.locktype.is_some()]
        .iter()
        .filter(|f| **f)
        .count();
    if others || forms > 1 {
        return Err(CmdError::usage(
            "--lockstart, --lockstop and --locktype are commands of their own; give one, without -a or attribute changes.",
        ));
    }
    let names: Vec<String> = args.vgs.iter().map(|v| strip_dev(v).to_string()).collect();
    for n in &names {
        check_vg_name(n).map_err(CmdError::usage)?;
    }
    if let Some(t) = args.locktype.as_deref() {
        super::shared::check_lock_type_arg(t)?;
        if let [name] = names.as_slice() {
            super::shared::refuse_unsupported_lock_type(
                &format!("VG {name} lock type change failed"),
                t,
            )?;
        }
    }
    let ctx = Context::new(&args.common, argv)?;
    if args.lockstart {
        return super::shared::lockstart(&ctx, &names);
    }
    if args.lockstop {
        return super::shared::lockstop(&ctx, &names);
    }
    let lock_type = args.locktype.as_deref().unwrap_or("");
    let force = args.common.lockopt.as_deref() == Some("force");
    let [name] = names.as_slice() else {
        return Err(CmdError::usage("vgchange --locktype takes one VG."));
    };
    if force {
        if !confirm(args.yes, "Forcibly change VG lock type to none?") {
            return Err(CmdError::failed("VG lock type not changed."));
        }
    } else {
        if !ctx.shared.use_lvmlockd() {
            return Err(CmdError::failed("Using lock type requires lvmlockd."));
        }
        ctx.shared.lock_global(&ctx, crate::lockd::Mode::Ex)?;
    }
    let _lock = ctx.lock_vg(name, LockMode::Exclusive)?;
    let scan = ctx.scan()?;
    let found = find_vg_or_fail(&scan, name)?;
    if !force {
        ctx.check_vg_access(&found)?;
    }
    super::shared::change_lock_type(&ctx, &scan, &found, lock_type, force)
}

/// Whether the VG passes `--select` (a VG that cannot be read is left to the command, which
/// reports it).
pub fn vg_selected(ctx: &Context, scan: &Scan, name: &str, sel: &ObjectSelection) -> bool {
    match scan.find_vg(name) {
        Ok(Some(found)) => {
            let view = VgView::new(ctx, scan, &found);
            sel.vg_matches(&view.facts(&found))
        }
        _ => true,
    }
}

/// The VGs named on the command line (`@tag` = every VG with that tag), or all VGs.
fn select_vgs(scan: &Scan, args: &[String]) -> Vec<String> {
    if args.is_empty() {
        return super::report_cmds::lvm2_vg_order(scan);
    }
    let mut out: Vec<String> = Vec::new();
    for arg in args {
        if let Some(tag) = arg.strip_prefix('@') {
            for name in scan.vg_names() {
                let tagged = scan
                    .find_vg(&name)
                    .ok()
                    .flatten()
                    .is_some_and(|vg| vg.metadata.vg.tags.iter().any(|t| t == tag));
                if tagged && !out.contains(&name) {
                    out.push(name);
                }
            }
        } else {
            let name = strip_dev(arg).to_string();
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The metadata changes of vgchange on one VG, in LVM2's order, then one write.
fn change_vg(
    ctx: &Context,
    scan: &Scan,
    found: &mut FoundVg,
    args: &VgchangeArgs,
    alloc: Option<&AllocationPolicy>,
    copies: Option<MdaCopies>,
) -> CmdResult {
    if !args.partial_safe() {
        check_complete(found)?;
    }
    check_writable(&found.metadata.vg)?;
    // The VG as read is changed in place when the commit allows (no lock type); its LVs go
    // back into `found` for the state report, which reads them (vgchange changes none).
    let (mut metadata, in_place) = match ctx.take_vg_to_change(found) {
        Some(vg) => (
            Metadata {
                vg,
                header: found.metadata.header.clone(),
                utc_offset: found.metadata.utc_offset,
                extra: found.metadata.extra.clone(),
            },
            true,
        ),
        None => (found.metadata.clone(), false),
    };
    let vg = &mut metadata.vg;
    let name = vg.name.clone();
    let mut edits = PvEdits {
        allow_missing_pvs: args.partial_safe(),
        ..PvEdits::default()
    };
    if let Some(max) = args.logicalvolume {
        if !is_resizeable(vg) {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" must be resizeable to change MaxLogicalVolume; run vgchange -x y first."
            )));
        }
        let visible = vg.lvs.iter().filter(|lv| vg.is_lv_visible(lv)).count();
        if max != 0 && (max as usize) < visible {
            return Err(CmdError::failed(format!(
                "MaxLogicalVolume is less than the current number {visible} of LVs for {name}"
            )));
        }
        vg.max_lv = max;
    }
    if let Some(max) = args.maxphysicalvolumes {
        if !is_resizeable(vg) {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" must be resizeable to change MaxPhysicalVolumes; run vgchange -x y first."
            )));
        }
        if max != 0 && (max as usize) < vg.pvs.len() {
            return Err(CmdError::failed(format!(
                "MaxPhysicalVolumes is less than the current number {} of PVs for \"{name}\"",
                vg.pvs.len()
            )));
        }
        vg.max_pv = max;
    }
    if let Some(want) = args.resizeable {
        let now = is_resizeable(vg);
        if want.is_yes() && now {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" is already resizeable"
            )));
        }
        if !want.is_yes() && !now {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" is already not resizeable"
            )));
        }
        if want.is_yes() {
            // LVM2 writes RESIZEABLE first.
            vg.status.insert(0, "RESIZEABLE".into());
        } else {
            vg.status.retain(|s| s != "RESIZEABLE");
        }
    }
    if let Some(want) = args.setautoactivation {
        let off_now = vg.flags.iter().any(|f| f == "NOAUTOACTIVATE");
        if off_now != want.is_yes() {
            return Err(CmdError::failed(format!(
                "Volume group autoactivation is already {}.",
                if want.is_yes() { "yes" } else { "no" }
            )));
        }
        if want.is_yes() {
            vg.flags.retain(|f| f != "NOAUTOACTIVATE");
        } else {
            vg.flags.push("NOAUTOACTIVATE".into());
        }
    }
    for tag in &args.deltag {
        del_tag(&mut vg.tags, tag);
    }
    for tag in &args.addtag {
        add_tag(&mut vg.tags, tag);
    }
    if args.uuid {
        // LV ids are the LV part only; the VG part of their dm UUIDs follows the VG id.
        vg.id = crate::host::new_id();
    }
    if let Some(policy) = alloc {
        if *policy == AllocationPolicy::Inherit {
            return Err(CmdError::failed(
                "Volume Group allocation policy cannot inherit from anything",
            ));
        }
        let now = vg
            .allocation_policy
            .clone()
            .unwrap_or(AllocationPolicy::Normal);
        if now == *policy {
            return Err(CmdError::failed(format!(
                "Volume group allocation policy is already {}",
                now.as_str()
            )));
        }
        // LVM2 writes the policy only when it is not normal.
        vg.allocation_policy = (*policy != AllocationPolicy::Normal).then(|| policy.clone());
    }
    if let Some(c) = copies {
        let now = vg.metadata_copies.unwrap_or(0);
        match c {
            MdaCopies::Count(n) if n == now => ctx.warn(if n == 0 {
                format!("Number of metadata copies for VG {name} is already unmanaged.")
            } else {
                format!("Number of metadata copies for VG {name} is already {n}.")
            }),
            MdaCopies::Count(n) => vg.metadata_copies = Some(n),
            MdaCopies::All => {
                vg.metadata_copies = Some(0);
                for pv in &vg.pvs {
                    let Some(pi) = scan.pv_index_by_id(&pv.id) else {
                        continue;
                    };
                    for mi in 0..scan.pvs[pi].mdas.len() {
                        edits.ignore.push((pi, mi, false));
                    }
                }
            }
        }
    }
    if in_place {
        std::mem::swap(&mut found.metadata.vg.lvs, &mut metadata.vg.lvs);
        let vetted = report_vg_state(ctx, scan, found);
        std::mem::swap(&mut found.metadata.vg.lvs, &mut metadata.vg.lvs);
        vetted?;
    } else {
        report_vg_state(ctx, scan, found)?;
    }
    ctx.commit_vg_with(scan, Some(found), &mut metadata, &edits)?;
    ctx.say(format!("Volume group \"{name}\" successfully changed"));
    super::free_at_exit(metadata);
    Ok(())
}
