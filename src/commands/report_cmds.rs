//! `pvs`, `vgs`, `lvs` and `lvm fullreport`: the scan and the VG metadata turned into report
//! rows (through `report::values`) and rendered by the report engine, byte for byte as LVM2
//! 2.03.16 prints them. Objects come in LVM2's processing order (VGs newest-found first, LVs in
//! metadata order with thin pools first) so `--unbuffered` and sort ties match too.

use super::context::{canonical, Context};
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::report::values::{
    free_segment_value, orphan_value, DeviceFacts, KernelView, MdaFacts, PvSeg, RowRef, VgFacts,
};
use crate::report::{
    FieldId, FieldValue, ObjType, ReportDocument, ReportFormat, ReportKind, ReportOptions,
    ReportRows, ReportSpec, Row, Units,
};
use crate::store::devices::Candidate;
use crate::store::lock::LockMode;
use crate::store::scan::{FoundVg, Scan, ScannedPv};
use clap::{CommandFactory, Parser};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

/// The options every report command shares.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReportArgs {
    /// Fields to show; `+f` adds, `-f` removes, `#f` compacts (repeatable)
    #[arg(
        short = 'o',
        long = "options",
        value_name = "FIELDS",
        allow_hyphen_values = true
    )]
    pub options: Vec<String>,
    /// Sort keys; `-f` sorts descending
    #[arg(
        short = 'O',
        long = "sort",
        value_name = "FIELDS",
        allow_hyphen_values = true
    )]
    pub sort: Vec<String>,
    /// Units for sizes: hHbBsSkKmMgGtTpPeE, r/R (rounded, the default)
    #[arg(long = "units", value_name = "UNITS")]
    pub units: Option<String>,
    /// No unit suffix on sizes
    #[arg(long = "nosuffix")]
    pub nosuffix: bool,
    /// No heading line
    #[arg(long = "noheadings")]
    pub noheadings: bool,
    /// Separate fields with this string (turns alignment off unless --aligned)
    #[arg(long = "separator", value_name = "STRING", allow_hyphen_values = true)]
    pub separator: Option<String>,
    /// Align columns even with --separator
    #[arg(long = "aligned")]
    pub aligned: bool,
    /// Print each row as it is found (no sorting)
    #[arg(long = "unbuffered")]
    pub unbuffered: bool,
    /// Prefix each value with LVM2_FIELD_NAME=
    #[arg(long = "nameprefixes")]
    pub nameprefixes: bool,
    /// No quotes around values with --nameprefixes
    #[arg(long = "unquoted")]
    pub unquoted: bool,
    /// One line per field instead of per object
    #[arg(long = "rows")]
    pub rows: bool,
    /// Flags as 0/1 instead of words
    #[arg(long = "binary")]
    pub binary: bool,
    /// basic or json
    #[arg(long = "reportformat", value_name = "FORMAT")]
    pub reportformat: Option<String>,
    /// Report only the objects that match this selection (`-S help` lists fields and operators)
    #[arg(
        short = 'S',
        long = "select",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub select: Vec<String>,
    /// Which sub-report the following -o/-O apply to (fullreport: vg, pv, lv, pvseg, seg)
    #[arg(long = "configreport", value_name = "REPORT")]
    pub configreport: Vec<String>,
    /// Allow partial VGs (accepted; reports always include them)
    #[arg(short = 'P', long = "partial")]
    pub partial: bool,
    /// Read metadata without locking (accepted)
    #[arg(long = "readonly")]
    pub readonly: bool,
    /// Report VGs of other hosts too (accepted)
    #[arg(long = "foreign")]
    pub foreign: bool,
    /// Continue when locking fails (accepted)
    #[arg(long = "ignorelockingfailure")]
    pub ignorelockingfailure: bool,
    /// Skip clustered VGs (accepted)
    #[arg(long = "ignoreskippedcluster")]
    pub ignoreskippedcluster: bool,
    /// Report shared VGs (accepted)
    #[arg(long = "shared")]
    pub shared: bool,
    /// Only the log report (accepted; there is no log report)
    #[arg(long = "logonly")]
    pub logonly: bool,
    /// Include historical LVs (accepted; none are reported)
    #[arg(short = 'H', long = "history")]
    pub history: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Parser)]
#[command(about = "Display information about physical volumes")]
struct PvsArgs {
    /// Also show devices that are not PVs
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// One row per PV segment
    #[arg(long = "segments")]
    segments: bool,
    #[command(flatten)]
    report: ReportArgs,
    /// PVs to report (default: all)
    #[arg(value_name = "PV")]
    names: Vec<String>,
}

#[derive(Debug, Parser)]
#[command(about = "Display information about volume groups")]
struct VgsArgs {
    /// Accepted for compatibility
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[command(flatten)]
    report: ReportArgs,
    /// VGs to report (default: all)
    #[arg(value_name = "VG")]
    names: Vec<String>,
}

#[derive(Debug, Parser)]
#[command(about = "Display information about logical volumes")]
struct LvsArgs {
    /// Also show hidden sub-LVs ([x_tdata], ...)
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// One row per LV segment
    #[arg(long = "segments")]
    segments: bool,
    #[command(flatten)]
    report: ReportArgs,
    /// VGs or VG/LVs to report (default: all)
    #[arg(value_name = "VG|VG/LV")]
    names: Vec<String>,
}

#[derive(Debug, Parser)]
#[command(about = "Display full report")]
struct FullArgs {
    /// Also hidden LVs (in the lv and seg sub-reports)
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[command(flatten)]
    report: ReportArgs,
    /// VGs to report (default: all)
    #[arg(value_name = "VG")]
    names: Vec<String>,
}

impl ReportArgs {
    pub fn options(&self) -> CmdResult<ReportOptions> {
        let mut o = ReportOptions::default();
        if let Some(f) = &self.reportformat {
            o.format = ReportFormat::parse(f).map_err(CmdError::usage)?;
        }
        o.headings = !self.noheadings;
        o.separator = self.separator.clone();
        o.aligned = self.aligned;
        o.unbuffered = self.unbuffered;
        o.name_prefixes = self.nameprefixes;
        o.unquoted = self.unquoted;
        o.rows = self.rows;
        if let Some(u) = &self.units {
            o.units = Units::parse(u).map_err(CmdError::usage)?;
        }
        o.suffix = !self.nosuffix;
        o.binary = self.binary;
        o.verbose = self.common.verbose > 0;
        Ok(o)
    }
}

/// Everything the report commands read: the scan, the VGs in LVM2's order, and device facts.
pub struct Snapshot {
    pub scan: Scan,
    /// Per `scan.pvs` entry.
    pub devices: Vec<DeviceFacts>,
    /// VGs in LVM2's processing order.
    pub vgs: Vec<FoundVg>,
    /// Indexes into `scan.pvs` of PVs in no VG, in device order.
    pub orphans: Vec<usize>,
    /// Problems reading VGs (printed by the caller).
    pub errors: Vec<String>,
    /// The kernel's state of each VG's LVs (same order as `vgs`; None without device-mapper).
    pub kernel: Vec<Option<KernelView>>,
}

fn dev_numbers(path: &Path) -> (u32, u32) {
    match nix::sys::stat::stat(path) {
        Ok(st) => {
            let rdev = st.st_rdev;
            (
                nix::sys::stat::major(rdev) as u32,
                nix::sys::stat::minor(rdev) as u32,
            )
        }
        Err(_) => (0, 0),
    }
}

/// The report view of one scanned PV.
pub fn device_facts(pv: &ScannedPv) -> DeviceFacts {
    let hdr = &pv.label.pv_header;
    let (major, minor) = dev_numbers(&pv.path);
    DeviceFacts {
        name: pv.path.display().to_string(),
        major,
        minor,
        dev_size: pv.dev_size / 512,
        pv_id: pv.id(),
        label_size: hdr.device_size / 512,
        pe_start: hdr.pe_start().unwrap_or(0) / 512,
        ext_version: hdr.extension.as_ref().map_or(0, |e| e.version),
        ext_used: pv.in_vg_flag(),
        mdas: pv
            .mdas
            .iter()
            .map(|m| MdaFacts {
                size: m.size,
                ignored: m.is_ignored(),
                text_size: m
                    .header
                    .as_ref()
                    .map(|h| *h.committed())
                    .filter(|l| !l.is_empty())
                    .map(|l| l.size),
            })
            .collect(),
        ba: hdr
            .bootloader_areas()
            .first()
            .map(|b| (b.offset / 512, b.size / 512)),
    }
}

/// Indexes of `devices` by device number: the order LVM2 scans them in.
fn devices_in_scan_order(devices: &[DeviceFacts]) -> Vec<usize> {
    let mut by_dev: Vec<usize> = (0..devices.len()).collect();
    by_dev.sort_by_key(|&i| (devices[i].major, devices[i].minor));
    by_dev
}

/// VG names in LVM2's processing order: it scans devices by device number and puts each
/// newly found VG at the head of its list, so VGs come newest-found first.
fn vgs_in_scan_order(scan: &Scan, by_dev: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for &i in by_dev {
        for m in &scan.pvs[i].mdas {
            if let Some(t) = &m.text {
                if !names.contains(&t.vg_name) {
                    names.insert(0, t.vg_name.clone());
                }
            }
        }
    }
    names
}

/// Every VG of the scan in LVM2's processing order (the order `vgs` lists them and the
/// per-object commands take them in).
pub fn lvm2_vg_order(scan: &Scan) -> Vec<String> {
    let devices: Vec<DeviceFacts> = scan.pvs.iter().map(device_facts).collect();
    vgs_in_scan_order(scan, &devices_in_scan_order(&devices))
}

impl Snapshot {
    /// Scans and reads every VG (all of them, or only `only` when given).
    pub fn take(ctx: &Context, only: Option<&[String]>) -> CmdResult<Snapshot> {
        let mut scan = ctx.scan()?;
        let devices: Vec<DeviceFacts> = scan.pvs.iter().map(device_facts).collect();
        let by_dev = devices_in_scan_order(&devices);
        let names = vgs_in_scan_order(&scan, &by_dev);
        let mut vgs = Vec::new();
        let mut errors = Vec::new();
        let mut used = vec![false; scan.pvs.len()];
        for name in &names {
            let wanted = only.is_none_or(|o| o.iter().any(|n| n == name));
            let _lock = if wanted {
                ctx.lock_vg(name, LockMode::Shared).ok()
            } else {
                None
            };
            match scan.find_vg(name) {
                Ok(Some(vg)) => {
                    for i in vg.pv_devices.iter().flatten() {
                        used[*i] = true;
                    }
                    if wanted {
                        vgs.push(vg);
                    }
                }
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        // Every VG is parsed and the device facts are taken: the texts (each as large as its
        // VG's metadata) are not read again, so a report does not hold them while it builds
        // its rows.
        for pv in &mut scan.pvs {
            for text in pv.mdas.iter_mut().filter_map(|m| m.text.as_mut()) {
                text.text = Default::default();
            }
        }
        let orphans = by_dev.into_iter().filter(|&i| !used[i]).collect();
        let activation = crate::commands::lv_activate::Activation::new(ctx);
        let kernel = vgs
            .iter()
            .map(|v| activation.kernel_view(&v.metadata.vg))
            .collect();
        Ok(Snapshot {
            scan,
            devices,
            vgs,
            orphans,
            errors,
            kernel,
        })
    }

    pub fn facts(&self) -> Vec<VgFacts<'_>> {
        self.vgs
            .iter()
            .enumerate()
            .map(|(n, vg)| {
                let devs = vg
                    .pv_devices
                    .iter()
                    .map(|d| d.and_then(|i| self.devices.get(i)))
                    .collect();
                VgFacts::new(&vg.metadata.vg, devs)
                    .with_kernel(self.kernel.get(n).and_then(Option::as_ref))
            })
            .collect()
    }
}

/// Values of VG fields, computed once per VG and reused on every row.
struct VgCache<'a> {
    values: Vec<Option<FieldValue<'a>>>,
}

impl<'a> VgCache<'a> {
    fn new(spec: &ReportSpec, facts: &'a VgFacts) -> VgCache<'a> {
        VgCache {
            values: spec
                .columns()
                .iter()
                .map(|&f| (f.obj_type() == ObjType::VGS).then(|| facts.vg_value(f)))
                .collect(),
        }
    }
}

fn vg_row<'a>(spec: &ReportSpec, facts: &'a VgFacts, cache: &VgCache<'a>, r: RowRef) -> Row<'a> {
    let mut row = Row::with_capacity(spec.columns().len());
    vg_row_into(spec, facts, cache, r, &mut row);
    row
}

/// [`vg_row`] into `row` (empty), for [`ReportRows::push_with`].
fn vg_row_into<'a>(
    spec: &ReportSpec,
    facts: &'a VgFacts,
    cache: &VgCache<'a>,
    r: RowRef,
    row: &mut Row<'a>,
) {
    row.extend(
        spec.columns()
            .iter()
            .enumerate()
            .map(|(c, &f)| match cache.values.get(c) {
                Some(Some(v)) => v.clone(),
                _ => facts.value(r, f),
            }),
    );
}

pub fn orphan_row<'a>(spec: &ReportSpec, d: &'a DeviceFacts, seg: bool) -> Row<'a> {
    spec.columns()
        .iter()
        .map(|&f| {
            let t = f.obj_type();
            if seg && t == ObjType::PVSEGS {
                FieldValue::Num(0)
            } else if seg && t != ObjType::VGS && t != ObjType::PVS && t != ObjType::LABEL {
                let free = PvSeg {
                    start: 0,
                    len: 0,
                    owner: None,
                };
                free_segment_value("", 0, free, f)
            } else {
                orphan_value(d, f)
            }
        })
        .collect()
}

/// A device that is not a PV, as `pvs -a` shows it: its name, numbers and size, the rest of
/// an empty PV in the orphan VG (no format there).
fn other_row(spec: &ReportSpec, c: &Candidate, seg: bool) -> Row<'static> {
    let (major, minor) = dev_numbers(&c.path);
    let facts = DeviceFacts {
        name: c.path.display().to_string(),
        major,
        minor,
        dev_size: c.size_bytes / 512,
        pv_id: metadata_format::text::Id::from_bytes([b'0'; 32])
            .unwrap_or_else(crate::host::new_id),
        label_size: 0,
        pe_start: 0,
        ext_version: 0,
        ext_used: false,
        mdas: Vec::new(),
        ba: None,
    };
    let base = orphan_row(spec, &facts, seg);
    spec.columns()
        .iter()
        .zip(base)
        .map(|(&f, v)| match f {
            FieldId::PV_UUID | FieldId::PV_FMT | FieldId::VG_FMT => FieldValue::str(""),
            FieldId::PV_EXT_VSN => FieldValue::undefined(),
            _ => v.into_owned(),
        })
        .collect()
}

/// Writes a report to stdout as it is rendered.
fn print_rows(rows: ReportRows<'_, '_>) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not the command's failure.
    let _ = rows.write_to(&mut stdout).and_then(|_| stdout.flush());
}

fn print(out: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not the command's failure.
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush());
}

fn spec_for(kind: ReportKind, args: &ReportArgs, opts: &ReportOptions) -> CmdResult<ReportSpec> {
    let mut spec =
        ReportSpec::parse(kind, &args.options, &args.sort, opts).map_err(CmdError::failed)?;
    for w in spec.warnings() {
        eprintln!("  {w}");
    }
    // LVM2 uses the last -S.
    if let Some(sel) = args.select.last() {
        spec.set_selection(sel).map_err(CmdError::failed)?;
    }
    print_help_requests(&spec);
    Ok(spec)
}

/// `-o help` and `-S help` list on stderr, as LVM2 does, and the report shows no rows.
fn print_help_requests(spec: &ReportSpec) {
    if spec.selection_help_requested() {
        eprint!("{}", crate::report::selection_help());
    } else if spec.help_requested() {
        eprint!("{}", crate::report::field_help());
    }
}

/// Resolves a device argument to its scanned PV index: LVM2's messages when it is not one.
fn find_pv_arg(snap: &Snapshot, arg: &str) -> Result<usize, String> {
    let wanted = canonical(Path::new(arg));
    if let Some(i) = snap
        .scan
        .pvs
        .iter()
        .position(|p| p.path == Path::new(arg) || canonical(&p.path) == wanted)
    {
        return Ok(i);
    }
    if !Path::new(arg).exists() {
        return Err(format!("Cannot use {arg}: device not found"));
    }
    Err(format!("Failed to find physical volume \"{arg}\"."))
}

pub fn pvs(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvsArgs>(argv)? else {
        return Ok(());
    };
    let opts = args.report.options()?;
    let kind = if args.segments {
        ReportKind::PvSeg
    } else {
        ReportKind::Pv
    };
    let spec = spec_for(kind, &args.report, &opts)?;
    let per = spec.row_objects(true).map_err(CmdError::failed)?.per;
    let ctx = Context::new(&args.report.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut failed = false;

    // Which PVs: all, or the named ones in argument order.
    let mut chosen: Option<Vec<usize>> = None;
    if !args.names.is_empty() {
        let mut list = Vec::new();
        for name in &args.names {
            match find_pv_arg(&snap, name) {
                Ok(i) => {
                    if !list.contains(&i) {
                        list.push(i)
                    }
                }
                Err(e) => {
                    eprintln!("  {e}");
                    failed = true;
                }
            }
        }
        chosen = Some(list);
    }
    // Where each scanned PV sits: (vg, pv index in the VG).
    let mut owner: Vec<Option<(usize, usize)>> = vec![None; snap.scan.pvs.len()];
    for (v, vg) in snap.vgs.iter().enumerate() {
        for (p, d) in vg.pv_devices.iter().enumerate() {
            if let Some(i) = d {
                owner[*i] = Some((v, p));
            }
        }
    }
    let caches: Vec<VgCache> = facts.iter().map(|f| VgCache::new(&spec, f)).collect();
    let mut rows = ReportRows::new(&spec);
    let seg_rows = per == ReportKind::PvSeg;
    let emit_vg_pv = |rows: &mut ReportRows, v: usize, p: usize| {
        let f = &facts[v];
        if seg_rows {
            for seg in f.pv_segments(p) {
                rows.push(vg_row(&spec, f, &caches[v], RowRef::PvSeg(p, seg)));
            }
        } else {
            rows.push(vg_row(&spec, f, &caches[v], RowRef::Pv(p)));
        }
    };
    match &chosen {
        Some(list) => {
            for &i in list {
                match owner[i] {
                    Some((v, p)) => emit_vg_pv(&mut rows, v, p),
                    None => rows.push(orphan_row(&spec, &snap.devices[i], seg_rows)),
                }
            }
        }
        None => {
            for (v, vg) in snap.vgs.iter().enumerate() {
                for p in 0..vg.metadata.vg.pvs.len() {
                    emit_vg_pv(&mut rows, v, p);
                }
            }
            for &i in &snap.orphans {
                rows.push(orphan_row(&spec, &snap.devices[i], seg_rows));
            }
            if args.all {
                let mut others: Vec<&Candidate> = snap.scan.others.iter().collect();
                others.sort_by_key(|c| dev_numbers(&c.path));
                for c in others {
                    rows.push(other_row(&spec, c, seg_rows));
                }
            }
        }
    }
    print_rows(rows);
    for e in &snap.errors {
        eprintln!("  {e}");
    }
    super::free_at_exit(facts);
    super::free_at_exit(snap);
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

/// Positional VG names as given, each once, with LVM2's messages for the missing ones.
fn named_vgs(
    snap: &Snapshot,
    facts: &[VgFacts<'_>],
    names: &[String],
    failed: &mut bool,
) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        let name = name.trim_start_matches("/dev/").trim_end_matches('/');
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        match facts.iter().position(|f| f.vg.name == name) {
            Some(v) => out.push(v),
            None => {
                if !snap.errors.iter().any(|e| e.contains(name)) {
                    eprintln!("  Volume group \"{name}\" not found");
                }
                eprintln!("  Cannot process volume group {name}");
                *failed = true;
            }
        }
    }
    out
}

pub fn vgs(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgsArgs>(argv)? else {
        return Ok(());
    };
    let opts = args.report.options()?;
    let spec = spec_for(ReportKind::Vg, &args.report, &opts)?;
    let per = spec.row_objects(false).map_err(CmdError::failed)?.per;
    let ctx = Context::new(&args.report.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut failed = false;
    let order: Vec<usize> = if args.names.is_empty() {
        (0..facts.len()).collect()
    } else {
        named_vgs(&snap, &facts, &args.names, &mut failed)
    };
    let mut rows = ReportRows::new(&spec);
    for v in order {
        let f = &facts[v];
        let cache = VgCache::new(&spec, f);
        match per {
            ReportKind::Pv | ReportKind::PvSeg => {
                for p in 0..f.vg.pvs.len() {
                    if per == ReportKind::PvSeg {
                        for seg in f.pv_segments(p) {
                            rows.push(vg_row(&spec, f, &cache, RowRef::PvSeg(p, seg)));
                        }
                    } else {
                        rows.push(vg_row(&spec, f, &cache, RowRef::Pv(p)));
                    }
                }
            }
            ReportKind::Lv | ReportKind::Seg => {
                let mut order = f.lv_order();
                order.retain(|&i| f.is_visible(i));
                let segments = per == ReportKind::Seg;
                rows.extend_split(order.len(), |k, rows| {
                    push_lv_rows(&spec, f, &cache, order[k], segments, rows)
                });
            }
            ReportKind::Vg => rows.push(vg_row(&spec, f, &cache, RowRef::Vg)),
        }
    }
    print_rows(rows);
    for e in &snap.errors {
        eprintln!("  {e}");
    }
    super::free_at_exit(facts);
    super::free_at_exit(snap);
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

fn push_lv_rows<'a>(
    spec: &ReportSpec,
    f: &'a VgFacts,
    cache: &VgCache<'a>,
    i: usize,
    segments: bool,
    rows: &mut ReportRows<'_, 'a>,
) {
    if segments {
        for si in 0..f.vg.lvs[i].segments.len() {
            rows.push_with(|row| vg_row_into(spec, f, cache, RowRef::Seg(i, si), row));
        }
    } else {
        rows.push_with(|row| vg_row_into(spec, f, cache, RowRef::Lv(i), row));
    }
}

/// `vg` or `vg/lv` (also `/dev/vg/lv`) from an lvs argument.
fn split_lv_arg(arg: &str) -> (&str, Option<&str>) {
    let a = arg.strip_prefix("/dev/").unwrap_or(arg);
    let a = a.strip_prefix("mapper/").unwrap_or(a);
    match a.split_once('/') {
        Some((vg, lv)) if !lv.is_empty() => (vg, Some(lv)),
        Some((vg, _)) => (vg, None),
        None => (a, None),
    }
}

pub fn lvs(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvsArgs>(argv)? else {
        return Ok(());
    };
    let opts = args.report.options()?;
    let kind = if args.segments {
        ReportKind::Seg
    } else {
        ReportKind::Lv
    };
    let spec = spec_for(kind, &args.report, &opts)?;
    let per = spec.row_objects(false).map_err(CmdError::failed)?.per;
    let ctx = Context::new(&args.report.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut failed = false;

    // VGs in argument order; per VG the named LVs (None: all).
    let mut plan: Vec<(usize, Option<Vec<String>>)> = Vec::new();
    if args.names.is_empty() {
        plan = (0..facts.len()).map(|v| (v, None)).collect();
    } else {
        let mut missing_vgs: Vec<String> = Vec::new();
        for arg in &args.names {
            let (vg, lv) = split_lv_arg(arg);
            match facts.iter().position(|f| f.vg.name == vg) {
                Some(v) => {
                    let entry = match plan.iter().position(|(p, _)| *p == v) {
                        Some(e) => e,
                        None => {
                            plan.push((v, Some(Vec::new())));
                            plan.len() - 1
                        }
                    };
                    match (lv, &mut plan[entry].1) {
                        (None, slot) => *slot = None,
                        (Some(lv), Some(list)) => {
                            if !list.iter().any(|l| l == lv) {
                                list.push(lv.to_string());
                            }
                        }
                        (Some(_), None) => {}
                    }
                }
                None => {
                    if !missing_vgs.iter().any(|m| m == vg) {
                        missing_vgs.push(vg.to_string());
                    }
                }
            }
        }
        for vg in missing_vgs {
            eprintln!("  Volume group \"{vg}\" not found");
            eprintln!("  Cannot process volume group {vg}");
            failed = true;
        }
    }
    // As LVM2, LVs of an exported VG are not reported: silently unless the VG was named.
    plan.retain(|(v, _)| {
        let f = &facts[*v];
        if !f.is_exported() {
            return true;
        }
        if !args.names.is_empty() {
            eprintln!("  Volume group {} is exported", f.vg.name);
            failed = true;
        }
        false
    });
    let mut rows = ReportRows::new(&spec);
    if per != ReportKind::Seg {
        rows.reserve(plan.iter().map(|(v, _)| facts[*v].vg.lvs.len()).sum());
    }
    for (v, named) in &plan {
        let f = &facts[*v];
        let cache = VgCache::new(&spec, f);
        let mut order = f.lv_order();
        order.retain(|&i| match named {
            Some(list) => list.iter().any(|l| *l == f.vg.lvs[i].name),
            None => args.all || f.is_visible(i),
        });
        let segments = per == ReportKind::Seg;
        rows.extend_split(order.len(), |k, rows| {
            push_lv_rows(&spec, f, &cache, order[k], segments, rows)
        });
        if let Some(list) = named {
            for lv in list {
                if f.lv_index(lv).is_none_or(|i| !f.is_reported(i)) {
                    eprintln!("  Failed to find logical volume \"{}/{lv}\"", f.vg.name);
                    failed = true;
                }
            }
        }
    }
    print_rows(rows);
    for e in &snap.errors {
        eprintln!("  {e}");
    }
    super::free_at_exit(facts);
    super::free_at_exit(snap);
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

const FULL_KINDS: [ReportKind; 5] = [
    ReportKind::Vg,
    ReportKind::Pv,
    ReportKind::Lv,
    ReportKind::PvSeg,
    ReportKind::Seg,
];

/// Splits `-o`/`-O` of `lvm fullreport` by the `--configreport` before them (LVM2 applies
/// options given before any `--configreport` to none of the sub-reports).
/// `-o`, `-O` and `-S` arguments per sub-report.
type OptionLists = (Vec<Vec<String>>, Vec<Vec<String>>, Vec<Vec<String>>);

fn full_option_lists(argv: &[OsString]) -> CmdResult<OptionLists> {
    let matches = FullArgs::command()
        .infer_long_args(true)
        .disable_version_flag(true)
        .try_get_matches_from(argv)
        .map_err(|e| CmdError::usage(e.to_string()))?;
    let mut marks: Vec<(usize, usize)> = Vec::new();
    if let (Some(idx), Some(vals)) = (
        matches.indices_of("configreport"),
        matches.get_many::<String>("configreport"),
    ) {
        for (i, v) in idx.zip(vals) {
            let k = FULL_KINDS
                .iter()
                .position(|k| k.name() == v)
                .ok_or_else(|| {
                    CmdError::usage(format!("--configreport {v}: use vg, pv, lv, pvseg or seg."))
                })?;
            marks.push((i, k));
        }
    }
    let which =
        |at: usize| -> Option<usize> { marks.iter().rfind(|(i, _)| *i < at).map(|(_, k)| *k) };
    let mut o = vec![Vec::new(); FULL_KINDS.len()];
    let mut sort = vec![Vec::new(); FULL_KINDS.len()];
    let mut select = vec![Vec::new(); FULL_KINDS.len()];
    for (id, out) in [
        ("options", &mut o),
        ("sort", &mut sort),
        ("select", &mut select),
    ] {
        if let (Some(idx), Some(vals)) = (matches.indices_of(id), matches.get_many::<String>(id)) {
            for (i, v) in idx.zip(vals) {
                if let Some(k) = which(i) {
                    out[k].push(v.clone());
                }
            }
        }
    }
    Ok((o, sort, select))
}

pub fn fullreport(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<FullArgs>(argv)? else {
        return Ok(());
    };
    let opts = args.report.options()?;
    let (o_lists, sort_lists, select_lists) = full_option_lists(argv)?;
    let specs: Vec<ReportSpec> = FULL_KINDS
        .iter()
        .enumerate()
        .map(|(k, &kind)| {
            let mut spec = ReportSpec::parse_full(kind, &o_lists[k], &sort_lists[k], &opts)
                .map_err(CmdError::failed)?;
            // A -S after `--configreport K` selects within sub-report K only; before any
            // --configreport LVM2 applies it to none of them.
            if let Some(sel) = select_lists[k].last() {
                spec.set_selection(sel).map_err(CmdError::failed)?;
            }
            print_help_requests(&spec);
            Ok(spec)
        })
        .collect::<CmdResult<_>>()?;
    let ctx = Context::new(&args.report.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut failed = false;
    let order: Vec<usize> = if args.names.is_empty() {
        (0..facts.len()).collect()
    } else {
        named_vgs(&snap, &facts, &args.names, &mut failed)
    };
    let mut doc = ReportDocument::new(opts.format);
    for v in order {
        let f = &facts[v];
        doc.begin_object();
        for (k, spec) in specs.iter().enumerate() {
            let cache = VgCache::new(spec, f);
            let mut rows = ReportRows::new(spec);
            match FULL_KINDS[k] {
                ReportKind::Vg => rows.push(vg_row(spec, f, &cache, RowRef::Vg)),
                ReportKind::Pv => {
                    for p in 0..f.vg.pvs.len() {
                        rows.push(vg_row(spec, f, &cache, RowRef::Pv(p)));
                    }
                }
                ReportKind::PvSeg => {
                    for p in 0..f.vg.pvs.len() {
                        for seg in f.pv_segments(p) {
                            rows.push(vg_row(spec, f, &cache, RowRef::PvSeg(p, seg)));
                        }
                    }
                }
                ReportKind::Lv | ReportKind::Seg => {
                    for i in f
                        .lv_order()
                        .into_iter()
                        .filter(|&i| args.all || f.is_visible(i))
                    {
                        push_lv_rows(
                            spec,
                            f,
                            &cache,
                            i,
                            FULL_KINDS[k] == ReportKind::Seg,
                            &mut rows,
                        );
                    }
                }
            }
            doc.add_rows(rows);
        }
        doc.end_object();
    }
    if args.names.is_empty() && !snap.orphans.is_empty() {
        doc.begin_object();
        for (k, spec) in specs.iter().enumerate() {
            let seg = match FULL_KINDS[k] {
                ReportKind::Pv => false,
                ReportKind::PvSeg => true,
                _ => continue,
            };
            let mut rows = ReportRows::new(spec);
            for &i in &snap.orphans {
                rows.push(orphan_row(spec, &snap.devices[i], seg));
            }
            doc.add_rows(rows);
        }
        doc.end_object();
    }
    print(&doc.finish());
    for e in &snap.errors {
        eprintln!("  {e}");
    }
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

/// Free-space PV segments of a row without an LV (used by display code).
pub fn is_free(seg: &PvSeg) -> bool {
    seg.owner.is_none()
}
