//! VG lifecycle commands: vgcreate and vgremove.

use super::context::{canonical, Context, PvEdits};
use super::pv::{owning_vg, plan_pv_init, PvInit};
use super::select_objects::Select;
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::names::check_vg_name;
use crate::report::ReportKind;
use crate::store::lock::LockMode;
use crate::store::scan::{self, Scan, ScannedPv};
use crate::units::{parse_size, Sign};
use clap::{ArgAction, Parser};
use metadata_format::text::{AllocationPolicy, Metadata, PhysicalVolume, VolumeGroup};
use std::ffi::OsString;
use std::path::PathBuf;

/// LVM2's default extent size: 4 MiB.
pub const DEFAULT_EXTENT_SECTORS: u64 = 8192;

#[derive(Debug, Parser)]
#[command(about = "Create a volume group")]
struct VgcreateArgs {
    /// Physical extent size (default 4m; default unit MiB); a power of 2
    #[arg(short = 's', long = "physicalextentsize", value_name = "SIZE")]
    extent_size: Option<String>,
    /// Add a tag to the VG (repeatable)
    #[arg(long = "addtag", value_name = "TAG")]
    addtag: Vec<String>,
    /// Maximum number of LVs (0 = no limit)
    #[arg(short = 'l', long = "maxlogicalvolumes", value_name = "NUMBER")]
    max_lv: Option<u32>,
    /// Maximum number of PVs (0 = no limit)
    #[arg(short = 'p', long = "maxphysicalvolumes", value_name = "NUMBER")]
    max_pv: Option<u32>,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// Number of metadata copies to keep in use in the VG (0 = all)
    #[arg(
        long = "vgmetadatacopies",
        alias = "metadatacopies",
        value_name = "NUMBER"
    )]
    vgmetadatacopies: Option<String>,
    /// Override checks when initializing devices that are not PVs yet
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Make a VG shared through lvmlockd
    #[arg(long = "shared")]
    shared: bool,
    /// The VG's lock type in place of --shared: sanlock (shared) or none (local)
    #[arg(long = "locktype", alias = "lock-type", value_name = "sanlock|none")]
    locktype: Option<String>,
    /// Clustered VG (no longer supported by LVM2 either)
    #[arg(short = 'c', long = "clustered", value_name = "y|n")]
    clustered: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// Name of the new VG
    #[arg(value_name = "VG")]
    vg: String,
    /// Devices to put in it (initialized as PVs first if they are not)
    #[arg(value_name = "PV", required = true)]
    pvs: Vec<String>,
}

pub fn vgcreate(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgcreateArgs>(argv)? else {
        return Ok(());
    };
    check_vg_name(&args.vg).map_err(CmdError::usage)?;
    if args.clustered.as_deref() == Some("y") {
        return Err(CmdError::usage(
            "Clustered VGs are no longer supported (LVM2 2.03 dropped clvmd); use --shared with lvmlockd.",
        ));
    }
    let extent = extent_size_arg(args.extent_size.as_deref())?;
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
    for tag in &args.addtag {
        check_tag(tag)?;
    }
    if std::path::Path::new("/dev").join(&args.vg).exists() {
        return Err(CmdError::failed(format!(
            "/dev/{}: already exists in filesystem; choose another VG name.",
            args.vg
        )));
    }

    let ctx = Context::new(&args.common, argv)?;
    // --shared: the lock manager lvmlockd runs decides the type (or --locktype names it);
    // the first sanlock VG is made without a global lock (it will hold it), as LVM2's
    // vgcreate. dlm and idm are refused here, before any lock or write.
    let lock_type = super::shared::vgcreate_lock_type(&ctx, args.locktype.as_deref(), args.shared)?;
    let shared = if let Some(lock_type) = &lock_type {
        ctx.shared.lock_global_create(&ctx, lock_type)?;
        ctx.shared.disable_vg_locks();
        true
    } else {
        false
    };
    let _global = ctx.lock_global()?;
    let _vglock = ctx.lock_vg(&args.vg, LockMode::Exclusive)?;
    let _orphans = ctx.lock_orphans()?;
    let candidates = ctx.candidates()?;
    let mut scan = scan::scan(&candidates);
    if scan.vg_names().contains(&args.vg) {
        return Err(CmdError::failed(format!(
            "A volume group called {} already exists.",
            args.vg
        )));
    }

    // Devices that are not PVs yet are initialized with pvcreate's defaults.
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    for arg in &args.pvs {
        let path = ctx.resolve_device(arg, &candidates)?.path;
        if paths.iter().any(|(_, p)| canonical(p) == canonical(&path)) {
            return Err(CmdError::usage(format!(
                "Device {arg} is given twice; name each device once."
            )));
        }
        paths.push((arg.clone(), path));
    }
    let fresh: Vec<(String, PathBuf)> = paths
        .iter()
        .filter(|(_, p)| scan.pv_index_by_path(p).is_none())
        .cloned()
        .collect();
    for (arg, path) in &paths {
        if let Some(i) = scan.pv_index_by_path(path) {
            if let Some(owner) = owning_vg(&scan, &scan.pvs[i].id()) {
                return Err(CmdError::failed(format!(
                    "Physical volume '{arg}' is already in volume group '{owner}'; remove it there first (vgreduce)."
                )));
            }
        }
    }
    let init = PvInit {
        zero: true,
        force: args.force,
        yes: args.yes,
        ..PvInit::default()
    };
    let plans = plan_pv_init(&scan, &fresh, &init)?;

    // Plan the whole VG before writing anything.
    let mut vg = VolumeGroup::new(&args.vg, crate::host::new_id(), extent as u32);
    vg.max_lv = args.max_lv.unwrap_or(0);
    vg.max_pv = args.max_pv.unwrap_or(0);
    vg.allocation_policy = alloc;
    if let Some(c) = mdacopies {
        vg.metadata_copies = Some(c);
    }
    vg.tags = args.addtag.clone();
    for plan in &plans {
        scan.pvs.push(plan.as_scanned());
    }
    for (arg, path) in &paths {
        let i = scan
            .pv_index_by_path(path)
            .ok_or_else(|| CmdError::failed(format!("{arg} is not a PV")))?;
        vg.pvs.push(vg_pv(&scan.pvs[i], extent, arg)?);
    }
    // New PVs are written with the VG's first commit: wipes and area headers with the text,
    // labels with the precommit (PvEdits::new_pvs) - the states a crash can leave are those of
    // pvcreate then vgcreate, with two flushes per device fewer. A VG of one new device needs
    // no early label: its label is written once, with the in-VG flag, after the commit (as
    // every member's flag is), so until that one-sector write lands the device carries no
    // label and nothing reads its area - one flush fewer. With several devices every label
    // must be on the disk before any commit, or a crash could show the VG without a member.
    let mut edits = PvEdits::default();
    let label_last = plans.len() == 1 && paths.len() == 1;
    for plan in &plans {
        let (body, label) = plan.writes()?;
        edits.new_pvs.with_text.extend(body);
        if !label_last {
            edits.new_pvs.with_precommit.push(label);
        }
    }
    let mut metadata = Metadata::new(vg, ctx_header(&ctx));
    ctx.commit_vg_with(&scan, None, &mut metadata, &edits)?;
    for plan in &plans {
        ctx.say(format!(
            "Physical volume \"{}\" successfully created.",
            plan.arg
        ));
    }
    if !shared {
        ctx.say(format!("Volume group \"{}\" successfully created", args.vg));
        return Ok(());
    }
    // Written first as a local VG, then made a sanlock VG (lvmlock LV, leases, lock type),
    // then its lockspace started: LVM2's order. A failed lock setup leaves no VG behind.
    let local = super::shared::found_from(&scan, &metadata);
    let found = match super::shared::init_vg_sanlock(&ctx, &scan, &local, 0) {
        Ok(f) => f,
        Err(e) => {
            let _ = ctx.remove_vg(&scan, &local);
            return Err(CmdError::failed(format!(
                "{}\n  Failed to initialize lock args for lock type sanlock",
                e.message()
            )));
        }
    };
    ctx.say(format!("Volume group \"{}\" successfully created", args.vg));
    super::shared::start_new_vg(&ctx, &scan, &found)
}

fn ctx_header(ctx: &Context) -> metadata_format::text::Header {
    crate::store::archive::header_now(&ctx.host, String::new())
}

/// The VG's record of a PV: its size, where extents start, and how many fit before the end
/// of the device or a metadata area at the end.
pub fn vg_pv(pv: &ScannedPv, extent_sectors: u64, arg: &str) -> CmdResult<PhysicalVolume> {
    let hdr = &pv.label.pv_header;
    let pe_start_bytes = hdr.pe_start().unwrap_or(1 << 20);
    let dev_bytes = pv.dev_size;
    let data_end = hdr
        .metadata_areas
        .iter()
        .map(|a| a.offset)
        .filter(|&o| o > pe_start_bytes)
        .min()
        .unwrap_or(dev_bytes)
        .min(dev_bytes);
    let usable = data_end.saturating_sub(pe_start_bytes) / 512;
    let pe_count = usable / extent_sectors;
    if pe_count == 0 {
        return Err(CmdError::failed(format!(
            "{arg} is too small for one extent of {} KiB; use a bigger device or a smaller -s.",
            extent_sectors / 2
        )));
    }
    let pe_count = u32::try_from(pe_count).map_err(|_| {
        CmdError::failed(format!(
            "{arg} would have {pe_count} extents, more than LVM2 can count; use a bigger -s."
        ))
    })?;
    let mut out = PhysicalVolume::new(
        pv.id(),
        &pv.path.display().to_string(),
        dev_bytes / 512,
        pe_start_bytes / 512,
        pe_count,
    );
    if let Some(ba) = hdr.bootloader_areas().first() {
        out.ba_start = Some(ba.offset / 512);
        out.ba_size = Some(ba.size / 512);
    }
    Ok(out)
}

/// `-s`: a power of two, at least one sector; default unit MiB.
pub fn extent_size_arg(text: Option<&str>) -> CmdResult<u64> {
    let Some(text) = text else {
        return Ok(DEFAULT_EXTENT_SECTORS);
    };
    let s = parse_size(text, 2048).map_err(|e| CmdError::usage(format!("-s: {e}")))?;
    if s.sign != Sign::None {
        return Err(CmdError::usage(format!(
            "-s {text}: the extent size takes no sign."
        )));
    }
    if s.sectors == 0 || !s.sectors.is_power_of_two() {
        return Err(CmdError::usage(format!(
            "Physical extent size {text} is not a power of 2; use e.g. 1m, 4m or 32m."
        )));
    }
    if s.sectors > u64::from(u32::MAX) {
        return Err(CmdError::usage(format!(
            "Physical extent size {text} is too large; the maximum is 1 TiB."
        )));
    }
    Ok(s.sectors)
}

pub fn alloc_arg(text: Option<&str>) -> CmdResult<Option<AllocationPolicy>> {
    match text {
        None => Ok(None),
        Some(
            p @ ("normal" | "contiguous" | "cling" | "cling_by_tags" | "anywhere" | "inherit"),
        ) => Ok(Some(AllocationPolicy::from_name(p))),
        Some(other) => Err(CmdError::usage(format!(
            "--alloc {other}: use normal, contiguous, cling, cling_by_tags, anywhere or inherit."
        ))),
    }
}

/// LVM2's tag rules: 1-1024 characters of `[A-Za-z0-9_+.-/=!:&#]`, not starting with '-'.
pub fn check_tag(tag: &str) -> CmdResult {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+.-/=!:&#".contains(c);
    if tag.is_empty() || tag.len() > 1024 || tag.starts_with('-') || !tag.chars().all(ok_char) {
        return Err(CmdError::usage(format!(
            "Tag \"{}\" is invalid: use 1-1024 characters of A-Z a-z 0-9 _ + . - / = ! : & #, not starting with '-'.",
            tag.escape_debug()
        )));
    }
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Remove volume group(s)")]
struct VgremoveArgs {
    /// Remove the VG's LVs without asking
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Remove only the VGs this selection picks (as `vgs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// VGs to remove (default with -S: every VG)
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgremove(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgremoveArgs>(argv)? else {
        return Ok(());
    };
    let select = Select::parse(ReportKind::Vg, args.select.as_deref())?;
    if select.is_help() {
        return Ok(());
    }
    if args.vgs.is_empty() && !select.is_given() {
        return Err(CmdError::usage(
            "Please enter one or more volume group paths or use --select for selection.",
        ));
    }
    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let mut names: Vec<String> = args.vgs.clone();
    if let Select::Some(sel) = &select {
        let scan = ctx.scan()?;
        if names.is_empty() {
            names = super::report_cmds::lvm2_vg_order(&scan);
        }
        names.retain(|n| super::vg_change::vg_selected(&ctx, &scan, n, sel));
    }
    for name in &names {
        let _lock = ctx.lock_vg(name, LockMode::Exclusive)?;
        let scan = ctx.scan()?;
        let found = ctx.load_vg(&scan, name)?;
        if found.is_partial() && args.force == 0 {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" has missing PVs; use vgreduce --removemissing first, or -f."
            )));
        }
        let vg = &found.metadata.vg;
        let visible: Vec<String> = vg
            .lvs
            .iter()
            .filter(|lv| vg.is_lv_visible(lv))
            .map(|lv| lv.name.clone())
            .collect();
        // Removing LVs with the VG is asked (as LVM2) unless -f; without a terminal it needs -y.
        if !visible.is_empty() && args.force == 0 {
            let question = format!(
                "Do you really want to remove volume group \"{name}\" containing {} logical volumes?",
                visible.len()
            );
            let refusal = format!(
                "Volume group \"{name}\" still contains {} logical volume(s); use -f (or -y) to remove them too.",
                visible.len()
            );
            if !crate::cli::prompt::confirm(args.yes, ctx.quiet, &question, &refusal)? {
                return Err(CmdError::failed(format!(
                    "Volume group \"{name}\" not removed"
                )));
            }
            // Then, as LVM2 removes each LV as lvremove would, lvremove's questions: each
            // active LV, a pool with thin LVs, and with devices/issue_discards every LV whose
            // extents are discarded. (oxlvm asks them all first: a no removes nothing.)
            let kernel = crate::commands::lv_activate::Activation::new(&ctx);
            let is_active = |n: &str| vg.lv(n).is_some_and(|lv| kernel.is_active(vg, lv));
            let discards = ctx.config.get_bool("devices/issue_discards", false);
            let plan = super::lv_plan::removal_plan_with(vg, &visible, &is_active, discards);
            for (lv, question) in &plan.questions {
                let refusal = format!(
                    "Not removing {name}/{lv} without confirmation (\"{question}\"): no terminal to ask on; add -y (or -f)."
                );
                if !crate::cli::prompt::confirm(args.yes, ctx.quiet, question, &refusal)? {
                    return Err(CmdError::failed(format!(
                        "Logical volume {name}/{lv} not removed."
                    )));
                }
            }
        }
        crate::commands::lv_activate::Activation::new(&ctx).deactivate_vg(&ctx, &found)?;
        // A shared VG: inactive everywhere, its lockspace left by every other host.
        super::shared::before_vgremove(&ctx, &found)?;
        ctx.remove_vg(&scan, &found)?;
        // devices/issue_discards: the LVs' extents are discarded as LVM2 discards each
        // removed LV's.
        if ctx.config.get_bool("devices/issue_discards", false) && !ctx.test_mode {
            let mut emptied = vg.clone();
            emptied.lvs.clear();
            super::lv::discard_freed_extents(&ctx, &scan, &found, vg, &emptied);
        }
        // In the order LVM2 removes them: pools first, dependents before what they use.
        for lv in super::lv_plan::removal_order(vg, &visible) {
            ctx.say(format!("Logical volume \"{lv}\" successfully removed."));
        }
        ctx.say(format!("Volume group \"{name}\" successfully removed"));
    }
    Ok(())
}

/// The VG or LVM2's not-found failure (exit 5).
pub fn find_vg_or_fail(scan: &Scan, name: &str) -> CmdResult<crate::store::scan::FoundVg> {
    scan.find_vg(name)
        .map_err(CmdError::failed)?
        .ok_or_else(|| CmdError::failed(format!("Volume group \"{name}\" not found")))
}
