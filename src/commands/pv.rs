//! PV commands that work on labels: pvcreate and pvremove.

use super::context::{canonical, Context};
use crate::cli::{parse_args, CommandSpec, CommonArgs, YesNo};
use crate::error::{CmdError, CmdResult};
use crate::store::commit::RawWrite;
use crate::store::device::{BlockDevice, DiskDevice};
use crate::store::scan::Scan;
use crate::store::signatures::{detect_signatures, SIGNATURE_SCAN_BYTES};
use crate::units::{parse_size, Sign};
use clap::{ArgAction, Parser};
use metadata_format::header::{compute_pv_layout, PvLayoutOptions, PvUuid, LABEL_SCAN_SIZE};
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(about = "Initialize physical volume(s) for use by LVM")]
struct PvcreateArgs {
    /// Override checks; repeat (-ff) to also overwrite a PV that belongs to a VG
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Wipe the start of the device (default y)
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    zero: Option<YesNo>,
    /// Size of each metadata area (default unit KiB)
    #[arg(long = "metadatasize", value_name = "SIZE")]
    metadatasize: Option<String>,
    /// Number of metadata areas: 0, 1 or 2
    #[arg(
        long = "metadatacopies",
        alias = "pvmetadatacopies",
        value_name = "0|1|2"
    )]
    metadatacopies: Option<u32>,
    /// Create the metadata areas flagged as ignored
    #[arg(long = "metadataignore", value_name = "y|n")]
    metadataignore: Option<YesNo>,
    /// Align the start of the data area to this size (default unit KiB)
    #[arg(long = "dataalignment", value_name = "SIZE")]
    dataalignment: Option<String>,
    /// Shift the aligned data area start by this much (default unit KiB)
    #[arg(long = "dataalignmentoffset", value_name = "SIZE")]
    dataalignmentoffset: Option<String>,
    /// Reserve a bootloader area of this size after the metadata (default unit MiB)
    #[arg(long = "bootloaderareasize", value_name = "SIZE")]
    bootloaderareasize: Option<String>,
    /// Sector (0-3) to hold the label
    #[arg(long = "labelsector", value_name = "NUMBER")]
    labelsector: Option<u64>,
    /// Use this PV UUID (needs --restorefile or --norestorefile)
    #[arg(short = 'u', long = "uuid", value_name = "UUID")]
    uuid: Option<String>,
    /// A metadata backup to take the PV's layout from (with --uuid)
    #[arg(long = "restorefile", value_name = "FILE")]
    restorefile: Option<String>,
    /// Allow --uuid without --restorefile
    #[arg(long = "norestorefile")]
    norestorefile: bool,
    /// Override the device size (default unit MiB)
    #[arg(long = "setphysicalvolumesize", value_name = "SIZE")]
    setphysicalvolumesize: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// Devices to initialize
    #[arg(value_name = "PV", required = true)]
    pvs: Vec<String>,
}

fn size_arg(name: &str, text: &Option<String>, unit: u64) -> CmdResult<Option<u64>> {
    let Some(text) = text else { return Ok(None) };
    let s = parse_size(text, unit).map_err(|e| CmdError::usage(format!("--{name}: {e}")))?;
    if s.sign != Sign::None {
        return Err(CmdError::usage(format!(
            "--{name} {text}: a size here takes no sign; give e.g. 1m."
        )));
    }
    Ok(Some(s.sectors))
}

pub fn pvcreate(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvcreateArgs>(argv)? else {
        return Ok(());
    };
    let mut opts = PvLayoutOptions::default();
    if let Some(c) = args.metadatacopies {
        opts.metadata_copies = c;
    }
    opts.metadata_size_sectors = size_arg("metadatasize", &args.metadatasize, 2)?;
    opts.data_alignment_sectors = size_arg("dataalignment", &args.dataalignment, 2)?;
    opts.data_alignment_offset_sectors =
        size_arg("dataalignmentoffset", &args.dataalignmentoffset, 2)?;
    opts.bootloader_area_sectors =
        size_arg("bootloaderareasize", &args.bootloaderareasize, 2048)?.unwrap_or(0);
    opts.metadata_ignore = args.metadataignore.is_some_and(YesNo::is_yes);
    if let Some(s) = args.labelsector {
        opts.label_sector = s;
    }
    let set_size = size_arg("setphysicalvolumesize", &args.setphysicalvolumesize, 2048)?;
    let fixed_uuid = match &args.uuid {
        None => None,
        Some(text) => {
            if args.restorefile.is_none() && !args.norestorefile {
                return Err(CmdError::usage(
                    "--uuid needs --restorefile FILE (or --norestorefile) so the PV keeps its layout.",
                ));
            }
            Some(PvUuid::parse(text).map_err(|e| CmdError::usage(format!("--uuid {text}: {e}")))?)
        }
    };
    if let Some(file) = &args.restorefile {
        let uuid =
            fixed_uuid.ok_or_else(|| CmdError::usage("--uuid is required with --restorefile"))?;
        super::vg_backup::restore_layout(&mut opts, file, &uuid, args.metadatasize.is_some())?;
    }
    if fixed_uuid.is_some() && args.pvs.len() > 1 {
        return Err(CmdError::usage(
            "--uuid applies to one device; give exactly one PV.",
        ));
    }
    let zero = args.zero.map(YesNo::is_yes).unwrap_or(fixed_uuid.is_none());

    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let _orphans = ctx.lock_orphans()?;
    let candidates = ctx.candidates()?;
    let init = PvInit {
        layout: opts,
        zero,
        force: args.force,
        yes: args.yes,
        set_size_sectors: set_size,
        uuid: fixed_uuid,
    };
    let devices: Vec<(String, std::path::PathBuf)> = args
        .pvs
        .iter()
        .map(|arg| Ok((arg.clone(), ctx.resolve_device(arg, &candidates)?.path)))
        .collect::<CmdResult<_>>()?;
    // The labels say whether a device is a PV already; only then are the VGs' texts needed
    // (to name the VG that holds it), so new devices cost no read of other VGs' metadata.
    let mut scan = crate::store::scan::scan_labels(&candidates);
    if devices
        .iter()
        .any(|(_, path)| scan.pv_index_by_path(path).is_some())
    {
        scan = crate::store::scan::scan(&candidates);
    }
    if let (Some(uuid), Some((arg, path))) = (&fixed_uuid, devices.first()) {
        // As LVM2: one PV UUID on two devices would make both unusable.
        if let Some(other) = scan
            .pvs
            .iter()
            .find(|p| p.label.pv_header.pv_uuid == *uuid && canonical(&p.path) != canonical(path))
        {
            return Err(CmdError::failed(format!(
                "uuid {} already in use on \"{}\"; give {arg} another --uuid, or remove that PV first.",
                uuid.dashed(),
                other.path.display()
            )));
        }
    }
    let plans = plan_pv_init(&scan, &devices, &init)?;
    for plan in &plans {
        write_pv_init(&ctx, plan)?;
        ctx.say(format!(
            "Physical volume \"{}\" successfully created.",
            plan.arg
        ));
    }
    Ok(())
}

/// How new PVs are laid out (pvcreate's options; vgcreate and vgextend use the defaults).
#[derive(Debug, Clone, Default)]
pub struct PvInit {
    pub layout: PvLayoutOptions,
    pub zero: bool,
    pub force: u8,
    pub yes: bool,
    pub set_size_sectors: Option<u64>,
    pub uuid: Option<PvUuid>,
}

/// What will be written to make one device a PV.
pub struct PvInitPlan {
    pub arg: String,
    pub path: std::path::PathBuf,
    layout: metadata_format::header::PvLayout,
    uuid: PvUuid,
    head: Vec<u8>,
    zero: bool,
}

/// Checks and lays out every device before any is written, so one bad device leaves all of
/// them untouched.
pub fn plan_pv_init(
    scan: &Scan,
    devices: &[(String, std::path::PathBuf)],
    init: &PvInit,
) -> CmdResult<Vec<PvInitPlan>> {
    let mut plans = Vec::new();
    for (arg, path) in devices {
        if plans.iter().any(|p: &PvInitPlan| &p.path == path) {
            return Err(CmdError::usage(format!(
                "Device {arg} is given twice; name each device once."
            )));
        }
        let dev = DiskDevice::open_read(path)
            .map_err(|e| CmdError::failed(format!("Cannot open {arg}: {e}")))?;
        // One read of the device's start serves the signature check and the wipe.
        let head_len = (SIGNATURE_SCAN_BYTES as u64).min(dev.size()) as usize;
        let head = dev
            .read_at(0, head_len)
            .map_err(|e| CmdError::failed(format!("Cannot read {arg}: {e}")))?;
        check_overwrite(scan, path, arg, init.force, init.yes, &head)?;
        let size = match init.set_size_sectors {
            Some(s) => s * 512,
            None => dev.size(),
        };
        let layout = compute_pv_layout(size, &init.layout)
            .map_err(|e| CmdError::failed(format!("Cannot use {arg}: {e}.")))?;
        let uuid = init
            .uuid
            .unwrap_or_else(|| PvUuid::from_random_bytes(crate::host::random_bytes32()));
        plans.push(PvInitPlan {
            arg: arg.clone(),
            path: path.clone(),
            layout,
            uuid,
            head,
            zero: init.zero,
        });
    }
    Ok(plans)
}

impl PvInitPlan {
    /// The PV as a scan will find it once this plan is written, so callers can plan a VG on
    /// it before any byte changes.
    pub fn as_scanned(&self) -> crate::store::scan::ScannedPv {
        use crate::store::scan::{MdaCopy, ScannedPv};
        ScannedPv {
            path: self.path.clone(),
            dev_size: self.layout.device_size,
            label: self.layout.pv_label(self.uuid),
            mdas: self
                .layout
                .mda_headers()
                .into_iter()
                .map(|h| MdaCopy {
                    start: h.start,
                    size: h.size,
                    header: Some(h),
                    text: None,
                    problem: None,
                })
                .collect(),
        }
    }
}

/// Writes one planned PV: other signatures zeroed first, then the label area and the empty
/// metadata area headers, and the label last - until it lands, nothing claims the device.
pub fn write_pv_init(ctx: &Context, plan: &PvInitPlan) -> CmdResult {
    if ctx.test_mode {
        return Ok(());
    }
    let PvInitPlan { arg, path, .. } = plan;
    let (body, label) = plan.writes()?;
    ctx.with_writer(|w| -> CmdResult {
        let werr = |e: std::io::Error| CmdError::failed(format!("Failed to write {arg}: {e}"));
        for r in &body {
            w.write_at(path, r.offset, &r.data).map_err(werr)?;
        }
        w.flush(path).map_err(werr)?;
        w.write_at(path, label.offset, &label.data).map_err(werr)?;
        w.flush(path).map_err(werr)
    })
}

impl PvInitPlan {
    /// What makes the device a PV: the wipes (other signatures, the label sectors unless
    /// `-Zn`, the start of each metadata area) and the empty area headers, in write order;
    /// then the label, which must land only after them.
    pub fn writes(&self) -> CmdResult<(Vec<RawWrite>, RawWrite)> {
        let PvInitPlan {
            arg,
            path,
            layout,
            uuid,
            head,
            zero,
        } = self;
        let raw = |offset: u64, data: Vec<u8>| RawWrite {
            path: path.clone(),
            offset,
            data,
        };
        let mut body = Vec::new();
        if !detect_signatures(head).is_empty() {
            body.push(raw(0, vec![0u8; head.len()]));
        }
        for r in layout.wipe_ranges(*zero) {
            if r.offset < LABEL_SCAN_SIZE && !zero {
                continue;
            }
            body.push(raw(r.offset, vec![0u8; r.size as usize]));
        }
        for h in layout.mda_headers() {
            body.push(raw(h.start, h.to_bytes().to_vec()));
        }
        let bytes = layout
            .pv_label(*uuid)
            .to_bytes()
            .map_err(|e| CmdError::failed(format!("Cannot build the label for {arg}: {e}")))?;
        Ok((body, raw(layout.label_sector * 512, bytes.to_vec())))
    }
}

/// The VG (by name) whose metadata lists the PV with this id, if any.
pub fn owning_vg(scan: &Scan, id: &metadata_format::text::Id) -> Option<String> {
    scan.vg_names().into_iter().find(|name| {
        scan.find_vg(name)
            .ok()
            .flatten()
            .is_some_and(|vg| vg.metadata.vg.pvs.iter().any(|p| &p.id == id))
    })
}

/// Refuses to overwrite a PV in a VG (without -ff) or another signature (without -f/-y);
/// `head` is the device's first SIGNATURE_SCAN_BYTES.
fn check_overwrite(
    scan: &Scan,
    path: &std::path::Path,
    arg: &str,
    force: u8,
    yes: bool,
    head: &[u8],
) -> CmdResult {
    if let Some(i) = scan.pv_index_by_path(path) {
        if let Some(vg) = owning_vg(scan, &scan.pvs[i].id()) {
            if force < 2 {
                return Err(CmdError::failed(format!(
                    "Can't initialize physical volume \"{arg}\" of volume group \"{vg}\" without -ff; remove it from the VG first (vgreduce)."
                )));
            }
            let question =
                format!("Really INITIALIZE physical volume \"{arg}\" of volume group \"{vg}\"?");
            let refusal = format!(
                "Physical volume \"{arg}\" belongs to volume group \"{vg}\"; add -y to confirm overwriting it."
            );
            if !crate::cli::prompt::confirm(yes, 0, &question, &refusal)? {
                return Err(CmdError::failed(format!(
                    "{arg}: physical volume not initialized."
                )));
            }
        }
        return Ok(());
    }
    let found = detect_signatures(head);
    if let Some(sig) = found.first() {
        if force == 0 && !yes {
            return Err(CmdError::failed(format!(
                "{arg} holds a {} signature at offset {}; use -f or -y to overwrite it.",
                sig.kind, sig.offset
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Remove LVM label(s) from physical volume(s)")]
struct PvremoveArgs {
    /// Override checks; repeat (-ff) to remove a PV that belongs to a VG
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// PVs to wipe the label from
    #[arg(value_name = "PV", required = true)]
    pvs: Vec<String>,
}

pub fn pvremove(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvremoveArgs>(argv)? else {
        return Ok(());
    };
    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let _orphans = ctx.lock_orphans()?;
    let candidates = ctx.candidates()?;
    let scan = crate::store::scan::scan(&candidates);
    let mut targets = Vec::new();
    for arg in &args.pvs {
        let cand = ctx.resolve_device(arg, &candidates)?;
        let Some(i) = scan.pv_index_by_path(&cand.path) else {
            return Err(CmdError::failed(format!(
                "No PV found on device {arg}; there is no LVM label to remove."
            )));
        };
        if let Some(vg) = owning_vg(&scan, &scan.pvs[i].id()) {
            if args.force < 2 {
                return Err(CmdError::failed(format!(
                    "PV {arg} is used by VG {vg} so please use vgreduce first; or -ff to remove it anyway."
                )));
            }
            let question = format!(
                "Really WIPE LABELS from physical volume \"{arg}\" of volume group \"{vg}\"?"
            );
            let refusal =
                format!("PV {arg} belongs to VG {vg}; add -y to confirm removing its label.");
            if !crate::cli::prompt::confirm(args.yes, ctx.quiet, &question, &refusal)? {
                return Err(CmdError::failed(format!(
                    "{arg}: physical volume label not removed."
                )));
            }
        }
        targets.push((
            arg.clone(),
            cand.path.clone(),
            scan.pvs[i].label.label.sector,
        ));
    }
    if ctx.test_mode {
        return Ok(());
    }
    for (arg, path, sector) in targets {
        // As LVM2: only the label sector is wiped; the rest of the device is left alone.
        ctx.with_writer(|w| {
            w.write_at(&path, sector * 512, &[0u8; 512])
                .and_then(|_| w.flush(&path))
        })
        .map_err(|e| CmdError::failed(format!("Failed to wipe the label on {arg}: {e}")))?;
        ctx.say(format!(
            "Labels on physical volume \"{arg}\" successfully wiped."
        ));
    }
    Ok(())
}
