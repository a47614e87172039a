//! LV lifecycle commands on the metadata side: lvcreate (linear, striped, COW snapshot, thin
//! pool, thin volume, thin snapshot), lvsnapshot, lvextend/lvreduce/lvresize, lvremove,
//! lvrename and lvchange. Each one: scan -> pure plan (lv_plan, alloc) -> commit_vg ->
//! activation hook -> output.

use super::context::{canonical, CommitSteps, Context};
use super::lv_activate::{Activation, ActivationMode};
use super::lv_online::{lock_holder, Committed, NewLv, PLAIN_SUSPEND};
use super::lv_plan::*;
use super::lv_raid::{self, Layout, RaidParams};
use super::select_objects::{Select, VgView};
use super::vg::{alloc_arg, check_tag};
use super::vg_plan::{add_tag, del_tag};
use crate::alloc::{self, Policy, PvSource, Request};
use crate::cli::prompt::{confirm, Answerer};
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::names::check_new_lv_name;
use crate::report::ReportKind;
use crate::store::lock::LockMode;
use crate::store::scan::{FoundVg, Scan};
use crate::units::{parse_size, Sign};
use clap::{ArgAction, Parser};
use metadata_format::text::{
    AllocationPolicy, LogicalVolume, Metadata, RaidLevel, Segment, SegmentKind, ThinPool,
    VolumeGroup,
};
use std::ffi::OsString;
use std::path::Path;

#[derive(Debug, Parser)]
#[command(about = "Create a logical volume")]
struct LvcreateArgs {
    /// Size of the LV (default unit MiB); with -s the COW size, with -T the pool size
    #[arg(
        short = 'L',
        long = "size",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    size: Option<String>,
    /// Size in extents: N, or N%VG, N%FREE, N%PVS, N%ORIGIN
    #[arg(
        short = 'l',
        long = "extents",
        value_name = "EXTENTS",
        allow_hyphen_values = true
    )]
    extents: Option<String>,
    /// Name of the new LV (default lvolN)
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    name: Option<String>,
    /// Number of stripes
    #[arg(short = 'i', long = "stripes", value_name = "NUMBER")]
    stripes: Option<u32>,
    /// Stripe size (default 64k; default unit KiB)
    #[arg(short = 'I', long = "stripesize", value_name = "SIZE")]
    stripesize: Option<String>,
    /// Create a snapshot (COW with -L/-l, thin without a size)
    #[arg(short = 's', long = "snapshot")]
    snapshot: bool,
    /// Chunk size of a snapshot or thin pool (default unit KiB)
    #[arg(short = 'c', long = "chunksize", value_name = "SIZE")]
    chunksize: Option<String>,
    /// Create a thin pool, or a thin volume in one
    #[arg(short = 'T', long = "thin")]
    thin: bool,
    /// The thin pool to use or create
    #[arg(long = "thinpool", value_name = "LV")]
    thinpool: Option<String>,
    /// Virtual size of a thin volume
    #[arg(short = 'V', long = "virtualsize", value_name = "SIZE")]
    virtualsize: Option<String>,
    /// Segment type: linear, striped, snapshot, thin-pool, thin, mirror, raid0, raid1,
    /// raid10, raid4, raid5, raid6
    #[arg(long = "type", value_name = "TYPE")]
    segtype: Option<String>,
    /// Number of extra copies (mirror, raid1, raid10): -m 1 makes two legs
    #[arg(
        short = 'm',
        long = "mirrors",
        value_name = "NUMBER",
        allow_hyphen_values = true
    )]
    mirrors: Option<String>,
    /// Mirror log: disk (default) or core
    #[arg(long = "mirrorlog", value_name = "TYPE")]
    mirrorlog: Option<String>,
    /// Mirror log in memory (same as --mirrorlog core)
    #[arg(long = "corelog")]
    corelog: bool,
    /// Region size of a mirror or RAID LV (default unit MiB; default 2 MiB)
    #[arg(
        short = 'R',
        long = "regionsize",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    regionsize: Option<String>,
    /// Do not synchronise the legs of a new mirror or RAID LV
    #[arg(long = "nosync")]
    nosync: bool,
    /// Thin pool metadata size (default unit MiB)
    #[arg(long = "poolmetadatasize", value_name = "SIZE")]
    poolmetadatasize: Option<String>,
    /// Keep a spare pool metadata LV (lvolN_pmspare)
    #[arg(long = "poolmetadataspare", value_name = "y|n")]
    poolmetadataspare: Option<String>,
    /// Thin pool discards: passdown, nopassdown, ignore
    #[arg(long = "discards", value_name = "MODE")]
    discards: Option<String>,
    /// Zero the start of the LV / zero new thin pool blocks
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    zero: Option<String>,
    /// Wipe signatures on the new LV
    #[arg(short = 'W', long = "wipesignatures", value_name = "y|n")]
    wipe: Option<String>,
    /// Activate the new LV (y, n, ey, ...)
    #[arg(short = 'a', long = "activate", value_name = "y|n")]
    activate: Option<String>,
    /// Flag the LV to be skipped at activation
    #[arg(short = 'k', long = "setactivationskip", value_name = "y|n")]
    setactivationskip: Option<String>,
    /// Ignore the activation skip flag when activating
    #[arg(short = 'K', long = "ignoreactivationskip")]
    ignoreactivationskip: bool,
    /// Add a tag to the LV (repeatable)
    #[arg(long = "addtag", value_name = "TAG")]
    addtag: Vec<String>,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// Contiguous allocation (y) or normal (n)
    #[arg(short = 'C', long = "contiguous", value_name = "y|n")]
    contiguous: Option<String>,
    /// Access permission: rw or r
    #[arg(short = 'p', long = "permission", value_name = "rw|r")]
    permission: Option<String>,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// VG (or VG/LV for a pool, or the origin with -s), then PVs to allocate from
    #[arg(value_name = "VG|LV")]
    target: Option<String>,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

/// What `lvcreate` was asked for.
enum Kind {
    Plain,
    /// Mirrored or RAID (the layout's stripes and copies decided from the command line).
    Raid(RaidParams),
    Cow {
        origin: String,
    },
    ThinSnapshot {
        origin: String,
    },
    Pool,
    Thin {
        pool: String,
    },
}

fn yn(opt: &str, v: &Option<String>) -> CmdResult<Option<bool>> {
    match v.as_deref() {
        None => Ok(None),
        Some("y" | "yes") => Ok(Some(true)),
        Some("n" | "no") => Ok(Some(false)),
        Some(other) => Err(CmdError::usage(format!("{opt} {other}: use y or n."))),
    }
}

fn usage(e: String) -> CmdError {
    CmdError::usage(e)
}

fn failed(e: String) -> CmdError {
    CmdError::failed(e)
}

/// The policy LVM2 allocates with: `--alloc`, else `-C y`, else the LV's, else the VG's.
fn effective_policy(explicit: Option<&AllocationPolicy>, vg: &VolumeGroup) -> Policy {
    let from = |p: &AllocationPolicy| Policy::from_name(p.as_str());
    explicit
        .and_then(from)
        .or_else(|| vg.allocation_policy.as_ref().and_then(from))
        .unwrap_or(Policy::Normal)
}

/// Resolves the trailing PV arguments (with optional `:PE ranges`) to allocation sources.
pub fn pv_sources(
    ctx: &Context,
    scan: &Scan,
    vg: &VolumeGroup,
    args: &[String],
) -> CmdResult<Vec<PvSource>> {
    if args.is_empty() {
        return Ok(alloc::all_pvs(vg));
    }
    let mut out: Vec<PvSource> = Vec::new();
    for arg in args {
        let (dev, ranges) = alloc::parse_pv_arg(arg);
        let wanted = canonical(Path::new(dev));
        let index = vg.pvs.iter().position(|pv| {
            scan.pv_index_by_id(&pv.id)
                .is_some_and(|i| canonical(&scan.pvs[i].path) == wanted)
        });
        let Some(index) = index else {
            return Err(CmdError::failed(format!(
                "Physical Volume \"{dev}\" not found in Volume Group \"{}\".",
                vg.name
            )));
        };
        let pv = &vg.pvs[index];
        let existing: Vec<(u32, u32)> = out
            .iter()
            .find(|s| s.pv == index)
            .map(|s| s.ranges.clone())
            .unwrap_or_default();
        let parsed = alloc::parse_pe_ranges(ranges.unwrap_or(""), pv.pe_count, &existing)
            .map_err(CmdError::usage)?;
        match out.iter_mut().find(|s| s.pv == index) {
            Some(s) => s.ranges = parsed,
            None => out.push(PvSource {
                pv: index,
                ranges: parsed,
            }),
        }
    }
    let _ = ctx;
    Ok(out)
}

/// Free extents the sources give (for %PVS).
fn sources_free(vg: &VolumeGroup, sources: &[PvSource]) -> u64 {
    let free = alloc::free_runs(vg);
    sources
        .iter()
        .map(|s| {
            let pe_count = vg.pvs[s.pv].pe_count;
            let ranges = if s.ranges.is_empty() {
                vec![(0, pe_count.saturating_sub(1))]
            } else {
                s.ranges.clone()
            };
            free[s.pv]
                .iter()
                .map(|&(start, len)| {
                    ranges
                        .iter()
                        .map(|&(a, b)| {
                            let s0 = start.max(a);
                            let e0 = (start + len - 1).min(b);
                            if e0 >= s0 {
                                u64::from(e0 - s0 + 1)
                            } else {
                                0
                            }
                        })
                        .sum::<u64>()
                })
                .sum::<u64>()
        })
        .sum()
}

fn total_extents(vg: &VolumeGroup) -> u64 {
    vg.pvs.iter().map(|p| u64::from(p.pe_count)).sum()
}

/// LVM2's default VG for bare LV names: `LVM_VG_NAME`.
fn default_vg() -> Option<String> {
    std::env::var("LVM_VG_NAME").ok().filter(|v| !v.is_empty())
}

struct Loaded {
    ctx: Context,
    scan: Scan,
    found: FoundVg,
    _lock: crate::store::lock::LockGuard,
}

impl Drop for Loaded {
    /// The VG as read lives until the command ends; its LVs are left to the exit
    /// (`free_at_exit`), the lock and the rest are released as usual.
    fn drop(&mut self) {
        super::free_at_exit(std::mem::take(&mut self.found.metadata.vg.lvs));
    }
}

/// The VG to plan a change on (`ctx` and `found` of a [`Loaded`]): the VG as read, edited in
/// place ([`Context::take_vg_to_change`]), when nothing after the planning reads it beyond its
/// PVs, name and seqno - not with a live device-mapper (the kernel steps compare the two VGs);
/// otherwise a copy (30,000 LVs: ~66M instructions and the model's size in memory once more).
fn vg_to_plan(ctx: &Context, found: &mut FoundVg, kernel: &Activation) -> VolumeGroup {
    if kernel.reads_planned_vg() {
        return found.metadata.vg.clone();
    }
    ctx.take_vg_to_change(found)
        .unwrap_or_else(|| found.metadata.vg.clone())
}

fn load(common: &CommonArgs, argv: &[OsString], vg: &str) -> CmdResult<Loaded> {
    load_with(common, argv, vg, LockMode::Exclusive)
}

/// [`load`] with the VG lock in `mode`: activation alone takes it shared, as LVM2.
fn load_with(
    common: &CommonArgs,
    argv: &[OsString],
    vg: &str,
    mode: LockMode,
) -> CmdResult<Loaded> {
    load_checked(common, argv, vg, mode, true)
}

/// [`load_with`]; a VG with missing PVs is refused only when `complete` is asked for.
fn load_checked(
    common: &CommonArgs,
    argv: &[OsString],
    vg: &str,
    mode: LockMode,
    complete: bool,
) -> CmdResult<Loaded> {
    let ctx = Context::new(common, argv)?;
    let lock = ctx.lock_vg(vg, mode)?;
    let mut scan = ctx.scan()?;
    let found = ctx.load_vg(&scan, vg)?;
    // The LV commands read no text again once their VG is parsed.
    scan.drop_texts();
    if complete && found.is_partial() {
        return Err(CmdError::failed(format!(
            "Cannot change VG {vg} while PVs are missing; restore them or run vgreduce --removemissing."
        )));
    }
    if !found.metadata.vg.status.iter().any(|s| s == "WRITE") {
        return Err(CmdError::failed(format!(
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

fn commit(l: &Loaded, vg: VolumeGroup) -> CmdResult<Metadata> {
    // The header and top-level extras of the text as read, with the new VG (cloning the whole
    // metadata first would copy every LV once more only to drop them).
    let old = &l.found.metadata;
    let mut md = Metadata {
        vg,
        header: old.header.clone(),
        utc_offset: old.utc_offset,
        extra: old.extra.clone(),
    };
    l.ctx.commit_vg(&l.scan, Some(&l.found), &mut md)?;
    Ok(md)
}

/// [`commit`] taking only `steps` of the archive and backup, and saying what was written.
fn commit_steps(l: &Loaded, vg: VolumeGroup, steps: CommitSteps) -> CmdResult<Committed> {
    let old = &l.found.metadata;
    let mut md = Metadata {
        vg,
        header: old.header.clone(),
        utc_offset: old.utc_offset,
        extra: old.extra.clone(),
    };
    let written = l
        .ctx
        .commit_vg_steps(&l.scan, Some(&l.found), &mut md, steps)?;
    Ok(Committed {
        metadata: md,
        written,
    })
}

/// `-L`/`-l` to a number of extents for a new LV. Percentages also return LVM2's approx flag.
fn size_to_extents(
    size: Option<&str>,
    extents: Option<&str>,
    vg: &VolumeGroup,
    sources: &[PvSource],
    pv_list_given: bool,
    origin_extents: Option<u64>,
    ctx: &Context,
) -> CmdResult<Option<(u64, bool, bool)>> {
    match (size, extents) {
        (Some(_), Some(_)) => Err(CmdError::usage(
            "Give either -L or -l, not both.".to_string(),
        )),
        (Some(text), None) => {
            let s = parse_size(text, 2048).map_err(usage)?;
            if s.sign != Sign::None {
                return Err(CmdError::usage(format!(
                    "-L {text}: a new LV's size takes no sign; give e.g. -L 10G."
                )));
            }
            if s.sectors == 0 {
                return Err(CmdError::usage(
                    "Size must be larger than 0; give e.g. -L 10G.".to_string(),
                ));
            }
            let ext = extents_from_sectors(s.sectors, vg.extent_size);
            if ext * u64::from(vg.extent_size) != s.sectors {
                ctx.say(format!(
                    "Rounding up size to full physical extent {}.",
                    display_size(ext * u64::from(vg.extent_size))
                ));
            }
            Ok(Some((ext, false, false)))
        }
        (None, Some(text)) => {
            let e = parse_extents(text).map_err(usage)?;
            if e.sign != Sign::None {
                return Err(CmdError::usage(format!(
                    "-l {text}: a new LV's size takes no sign; give e.g. -l 100."
                )));
            }
            let free = alloc::vg_free_extents(vg);
            let n = match e.percent {
                Percent::None => e.value,
                Percent::Vg => percent_of(e.value, total_extents(vg), false).min(free),
                Percent::Free => percent_of(e.value, free, false),
                Percent::Pvs => {
                    if pv_list_given {
                        percent_of(e.value, sources_free(vg, sources), false)
                    } else {
                        percent_of(e.value, total_extents(vg), false)
                    }
                }
                Percent::Origin => match origin_extents {
                    Some(o) => percent_of(e.value, o, true),
                    None => {
                        return Err(CmdError::usage(
                            "%ORIGIN is only for snapshots (-s); use %FREE, %PVS or %VG.",
                        ))
                    }
                },
                Percent::Lv => {
                    return Err(CmdError::usage(
                        "Please express size as %FREE, %ORIGIN, %PVS or %VG.",
                    ))
                }
            };
            if n == 0 {
                return Err(CmdError::usage(
                    "Size must be larger than 0 extents; give a bigger -l.".to_string(),
                ));
            }
            Ok(Some((n, e.percent != Percent::None, true)))
        }
        (None, None) => Ok(None),
    }
}

/// The mirrored/RAID layout the options ask for (LVM2's _read_mirror_and_raid_params), or
/// None for a linear or striped LV. Stripe size is filled in by the caller.
fn raid_params(args: &LvcreateArgs) -> CmdResult<Option<RaidParams>> {
    let mirrors_arg = match args.mirrors.as_deref() {
        None => None,
        Some(t) => {
            if t.starts_with('-') {
                return Err(CmdError::usage(format!(
                    "-m {t}: the number of mirrors may not be negative."
                )));
            }
            Some(t.parse::<u32>().map_err(|_| {
                CmdError::usage(format!(
                    "-m {t}: give the number of extra copies, e.g. -m 1 for two legs."
                ))
            })?)
        }
    };
    let stripes_arg = args.stripes;
    let layout = match args.segtype.as_deref() {
        Some(t) => Layout::from_type(t),
        None => match mirrors_arg {
            Some(m) if m > 0 => Some(if stripes_arg.unwrap_or(1) > 1 {
                Layout::Raid(RaidLevel::Raid10)
            } else {
                Layout::Raid(RaidLevel::Raid1)
            }),
            _ => None,
        },
    };
    let Some(layout) = layout else {
        if args.mirrorlog.is_some() || args.corelog || args.regionsize.is_some() || args.nosync {
            return Err(CmdError::usage(
                "--mirrorlog, --corelog, -R and --nosync are for mirror and RAID LVs; add --type raid1 (or -m 1).",
            ));
        }
        return Ok(None);
    };
    let name = layout.name();
    let raid10 = layout == Layout::Raid(RaidLevel::Raid10);
    let mirrors = match mirrors_arg {
        Some(m) => {
            if matches!(layout, Layout::Raid(_)) && !layout.is_mirrored() {
                return Err(CmdError::usage(format!(
                    "Mirror argument cannot be used with segment type, {name}; leave -m out."
                )));
            }
            if m == 0 {
                return Err(CmdError::usage(format!(
                    "--mirrors must be at least 1 with segment type {name}."
                )));
            }
            if raid10 && m > 1 {
                return Err(CmdError::usage(
                    "RAID10 currently supports only 2-way mirroring (i.e. '-m 1').",
                ));
            }
            m.saturating_add(1)
        }
        None if layout.is_mirrored() => 2,
        None => 1,
    };
    let max = match layout {
        Layout::Mirror => lv_raid::MAX_MIRROR_IMAGES,
        Layout::Raid(RaidLevel::Raid1) => lv_raid::MAX_RAID_IMAGES,
        _ => lv_raid::MAX_RAID_IMAGES - layout.parity(),
    };
    if layout.is_mirrored() && !raid10 && mirrors > max {
        return Err(CmdError::usage(format!(
            "Only up to {max} mirrors in {name} supported currently."
        )));
    }
    let stripes_given = stripes_arg.is_some();
    let mut stripes = stripes_arg.unwrap_or(1);
    match layout {
        Layout::Mirror if stripes > 1 => return Err(CmdError::usage(
            "oxlvm does not create striped mirrors (--type mirror with -i) yet; use --type raid10.",
        )),
        Layout::Mirror => {}
        Layout::Raid(RaidLevel::Raid1) => {
            if stripes > 1 {
                return Err(CmdError::usage(
                    "Stripes argument cannot be used with segment type, raid1.",
                ));
            }
            if args.stripesize.is_some() {
                return Err(CmdError::usage(
                    "Stripe size argument cannot be used with segment type, raid1.",
                ));
            }
        }
        _ => {
            let min = if raid10 || layout.parity() < 2 { 2 } else { 3 };
            if stripes < min {
                if stripes_given {
                    return Err(CmdError::usage(format!(
                        "Minimum of {min} stripes required for {name}."
                    )));
                }
                stripes = min;
            }
        }
    }
    if raid10 && mirrors * stripes > max {
        return Err(CmdError::usage(format!(
            "Only up to {} stripes in {name} supported currently.",
            max / mirrors
        )));
    }
    if !layout.is_mirrored() && stripes > max {
        return Err(CmdError::usage(format!(
            "Only up to {max} stripes in {name} supported currently."
        )));
    }
    if args.nosync && layout.parity() == 2 {
        return Err(CmdError::usage("nosync option prohibited on RAID6."));
    }
    let region_size = match args.regionsize.as_deref() {
        None => lv_raid::DEFAULT_REGION_SECTORS,
        Some(t) => {
            let r = parse_size(t, 2048).map_err(usage)?;
            if r.sign == Sign::Minus {
                return Err(CmdError::usage("Region size may not be negative."));
            }
            if r.sectors == 0 {
                return Err(CmdError::usage("Region size may not be zero."));
            }
            let r = u32::try_from(r.sectors)
                .map_err(|_| CmdError::usage("Region size is too big (max 4294967295)."))?;
            if r % 8 != 0 {
                return Err(CmdError::usage(
                    "Region size must be a multiple of machine memory page size (4096 bytes).",
                ));
            }
            if !r.is_power_of_two() {
                return Err(CmdError::usage("Region size must be a power of 2."));
            }
            r
        }
    };
    let disk_log = match (layout, args.mirrorlog.as_deref(), args.corelog) {
        (Layout::Mirror, Some(_), true) => {
            return Err(CmdError::usage(
                "Please use only one of --corelog or --mirrorlog.",
            ))
        }
        (Layout::Mirror, None, corelog) => !corelog,
        (Layout::Mirror, Some("disk"), false) => true,
        (Layout::Mirror, Some("core"), false) => false,
        (Layout::Mirror, Some("mirrored"), false) => {
            return Err(CmdError::usage(
                "Log type \"mirrored\" is DEPRECATED. Use RAID1 LV or disk log instead.",
            ))
        }
        (Layout::Mirror, Some(other), false) => {
            return Err(CmdError::usage(format!(
                "--mirrorlog {other}: use disk or core."
            )))
        }
        (_, Some(_), _) | (_, _, true) => {
            return Err(CmdError::usage(format!(
                "--mirrorlog and --corelog are for --type mirror, not {name}."
            )))
        }
        _ => false,
    };
    Ok(Some(RaidParams {
        layout,
        mirrors,
        stripes: if layout.is_mirrored() && !raid10 {
            1
        } else {
            stripes
        },
        stripe_size: 0,
        region_size: if layout.is_raid0() { 0 } else { region_size },
        disk_log,
        nosync: args.nosync,
    }))
}

pub fn lvcreate(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvcreateArgs>(argv)? else {
        return Ok(());
    };
    create(args, argv)
}

/// `lvsnapshot ...` is `lvcreate -s ...`.
pub fn lvsnapshot(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(mut args) = parse_args::<LvcreateArgs>(argv)? else {
        return Ok(());
    };
    args.snapshot = true;
    create(args, argv)
}

fn create(args: LvcreateArgs, argv: &[OsString]) -> CmdResult {
    // Decide what is being made before touching any device.
    let segtype = args.segtype.as_deref();
    if let Some(t) = segtype {
        if !matches!(t, "linear" | "striped" | "snapshot" | "thin-pool" | "thin")
            && Layout::from_type(t).is_none()
        {
            return Err(CmdError::usage(format!(
                "--type {t} is not supported by oxlvm lvcreate yet; use linear, striped, snapshot, thin-pool, thin, mirror, raid0, raid1, raid10, raid4, raid5 or raid6."
            )));
        }
    }
    let raid = raid_params(&args)?;
    let target = args.target.clone().ok_or_else(|| {
        CmdError::usage("Please specify a volume group (or VG/LV) to create the LV in.")
    })?;
    if let Some(n) = &args.name {
        let n = n.rsplit('/').next().unwrap_or(n);
        check_new_lv_name(n).map_err(usage)?;
    }
    for tag in &args.addtag {
        check_tag(tag)?;
    }
    let explicit_alloc = alloc_arg(args.alloc.as_deref())?;
    let contiguous = yn("-C", &args.contiguous)?;
    let skip = yn("-k", &args.setactivationskip)?;
    let spare = yn("--poolmetadataspare", &args.poolmetadataspare)?.unwrap_or(true);
    let zero = yn("-Z", &args.zero)?;
    let wipe = yn("-W", &args.wipe)?;
    let activate = match args.activate.as_deref() {
        None => true,
        Some(a) => crate::commands::activate::ActivationChange::parse(a)
            .ok_or_else(|| CmdError::usage(format!("-a {a}: use y, n, ey, sy, ly or ay.")))?
            .is_activating(),
    };
    let read_only = match args.permission.as_deref() {
        None | Some("rw") => false,
        Some("r") => true,
        Some(p) => return Err(CmdError::usage(format!("-p {p}: use r or rw."))),
    };
    if let Some(d) = args.discards.as_deref() {
        if !matches!(d, "passdown" | "nopassdown" | "ignore") {
            return Err(CmdError::usage(format!(
                "--discards {d}: use passdown, nopassdown or ignore."
            )));
        }
    }
    let has_size = args.size.is_some() || args.extents.is_some();
    let (vg_name, target_lv) = match target.split_once('/') {
        Some(_) => {
            let (v, l) = split_lv_arg(&target, None).map_err(usage)?;
            (v, Some(l))
        }
        None => (target.clone(), None),
    };
    if let Some((v, _)) = args.name.as_deref().and_then(|n| n.split_once('/')) {
        if v.trim_start_matches("/dev/") != vg_name {
            return Err(CmdError::usage(format!(
                "Inconsistent volume group names given: \"{v}\" and \"{vg_name}\"; give -n NAME alone."
            )));
        }
    }
    let kind = if args.snapshot || segtype == Some("snapshot") {
        let origin = target_lv.clone().ok_or_else(|| {
            CmdError::usage(
                "A snapshot needs its origin as VG/LV, e.g. lvcreate -s -L 1G vg0/data.",
            )
        })?;
        if has_size {
            Kind::Cow { origin }
        } else {
            Kind::ThinSnapshot { origin }
        }
    } else if args.virtualsize.is_some() || segtype == Some("thin") {
        let pool = args.thinpool.clone().or(target_lv.clone()).ok_or_else(|| {
            CmdError::usage("A thin volume needs its pool: -T VG/POOL or --thinpool POOL.")
        })?;
        if args.virtualsize.is_none() {
            return Err(CmdError::usage(
                "A thin volume needs a virtual size (-V).".to_string(),
            ));
        }
        if has_size {
            return Err(CmdError::usage(
                "Creating a thin pool and a thin volume in one command is not supported yet; create the pool first (-T -L), then the volume (-V).",
            ));
        }
        Kind::Thin {
            pool: pool.rsplit('/').next().unwrap_or(&pool).to_string(),
        }
    } else if args.thin || segtype == Some("thin-pool") || args.thinpool.is_some() {
        Kind::Pool
    } else if let Some(p) = raid {
        Kind::Raid(p)
    } else {
        Kind::Plain
    };
    if args.mirrors.is_some() && !matches!(kind, Kind::Raid(_) | Kind::Plain) {
        return Err(CmdError::usage(
            "-m/--mirrors is for mirror and raid1/raid10 LVs; leave it out here.".to_string(),
        ));
    }
    if !matches!(kind, Kind::ThinSnapshot { .. } | Kind::Thin { .. }) && !has_size {
        return Err(CmdError::usage(
            "Please specify either size or extents (-L or -l).".to_string(),
        ));
    }
    if matches!(kind, Kind::Cow { .. } | Kind::ThinSnapshot { .. }) && zero.is_some() {
        return Err(CmdError::usage(
            "Option --zero is unsupported with snapshots.".to_string(),
        ));
    }
    let stripes = args.stripes.unwrap_or(1);
    if stripes == 0 {
        return Err(CmdError::usage("-i 0: give at least 1 stripe.".to_string()));
    }
    if stripes > 128 {
        return Err(CmdError::usage(
            "Number of stripes (-i) must be at most 128.".to_string(),
        ));
    }
    let stripe_sectors = match args.stripesize.as_deref() {
        None => DEFAULT_STRIPE_SECTORS,
        Some(t) => {
            let s = parse_size(t, 2).map_err(usage)?;
            if s.sign != Sign::None || s.sectors < 8 || !s.sectors.is_power_of_two() {
                return Err(CmdError::usage(format!(
                    "-I {t}: the stripe size must be a power of 2 of at least 4 KiB."
                )));
            }
            u32::try_from(s.sectors).map_err(|_| CmdError::usage("-I: too big"))?
        }
    };
    let chunk = match args.chunksize.as_deref() {
        None => None,
        Some(t) => {
            let s = parse_size(t, 2).map_err(usage)?;
            if s.sign != Sign::None || s.sectors == 0 {
                return Err(CmdError::usage(format!("-c {t}: give a positive size.")));
            }
            Some(u32::try_from(s.sectors).map_err(|_| CmdError::usage("-c: too big"))?)
        }
    };
    let policy_arg = explicit_alloc.or(match contiguous {
        Some(true) => Some(AllocationPolicy::Contiguous),
        _ => None,
    });

    let mut l = load(&args.common, argv, &vg_name)?;
    // A sanlock VG: room for the new LV's lease comes first (LVM2's handle_sanlock_lv; the
    // lvmlock LV grows when full). Thin volumes and COW snapshots use another LV's lock.
    if matches!(kind, Kind::Plain | Kind::Raid(_) | Kind::Pool) {
        if let Some(grown) = super::shared::ensure_lease_space(&l.ctx, &l.scan, &l.found)? {
            l.found = grown;
        }
    }
    let ctx = &l.ctx;
    // A thin volume or snapshot in a shared VG: its pool's lock first (held while the pool is
    // active here, dropped at the end otherwise).
    let thin_pool = match &kind {
        Kind::Thin { pool } => Some(pool.clone()),
        Kind::ThinSnapshot { origin } => l
            .found
            .metadata
            .vg
            .lv(origin)
            .and_then(thin_seg)
            .map(|t| t.thin_pool.clone()),
        _ => None,
    };
    let _pool_lock = match &thin_pool {
        Some(pool) => super::shared::lock_thin_pool(ctx, &l.found.metadata.vg, pool)?,
        None => None,
    };
    // A COW snapshot in a shared VG: its origin's lock ex for this command - the origin must
    // not be active on another host (LVM2's lockd_init_lv).
    if let Kind::Cow { origin } = &kind {
        super::shared::lock_cow_origin(ctx, &l.found.metadata.vg, origin)?;
    }
    let kernel = Activation::new(ctx);
    let mut vg = vg_to_plan(ctx, &mut l.found, &kernel);
    let now = ctx.host.now;
    let host = ctx.host.node.clone();
    let sources = pv_sources(ctx, &l.scan, &vg, &args.pvs)?;
    if sources.is_empty() {
        return Err(CmdError::failed(
            "No specified PVs have space available.".to_string(),
        ));
    }
    let policy = effective_policy(policy_arg.as_ref(), &vg);

    let pick_name = |vg: &VolumeGroup, wanted: Option<&String>| -> CmdResult<String> {
        match wanted {
            Some(n) => {
                let n = n.rsplit('/').next().unwrap_or(n).to_string();
                if name_in_use(vg, &n) {
                    return Err(CmdError::failed(format!(
                        "Logical Volume \"{n}\" already exists in volume group \"{}\"",
                        vg.name
                    )));
                }
                Ok(n)
            }
            None => Ok(generate_lv_name(vg, "lvol")),
        }
    };
    let origin_extents = match &kind {
        Kind::Cow { origin } | Kind::ThinSnapshot { origin } => Some(
            vg.lv(origin)
                .map(LogicalVolume::extent_count)
                .ok_or_else(|| {
                    CmdError::failed(format!(
                        "Snapshot origin LV {origin} not found in Volume group {vg_name}."
                    ))
                })?,
        ),
        _ => None,
    };
    let sized = size_to_extents(
        args.size.as_deref(),
        args.extents.as_deref(),
        &vg,
        &sources,
        !args.pvs.is_empty(),
        origin_extents,
        ctx,
    )?;
    let mut created: Vec<String> = Vec::new();
    let mut say_after: Vec<String> = Vec::new();
    match &kind {
        Kind::Raid(p) => {
            let (extents, approx, _) = sized.unwrap_or((0, false, false));
            let mut p = p.clone();
            let type_name = p.layout.name();
            // allocation/raid_stripe_all_devices: without -i, stripe over every PV given
            // (or every PV of the VG), as LVM2's _check_raid_parameters.
            let all_devices = alloc::settings().raid_stripe_all_devices;
            if all_devices
                && args.stripes.is_none()
                && !matches!(p.layout, Layout::Mirror | Layout::Raid(RaidLevel::Raid1))
            {
                let devs = u32::try_from(if args.pvs.is_empty() {
                    vg.pvs.len()
                } else {
                    args.pvs.len()
                })
                .unwrap_or(u32::MAX);
                let parity = p.layout.parity();
                if p.layout == Layout::Raid(RaidLevel::Raid10) {
                    p.stripes = devs / p.mirrors.max(1);
                    if p.stripes < 2 {
                        return Err(CmdError::failed(
                            "Unable to create RAID(1)0 LV: insufficient number of devices.",
                        ));
                    }
                } else {
                    p.stripes = devs;
                    if parity > 0 && devs > 2 * parity {
                        p.stripes -= parity;
                    }
                    if p.layout.is_raid0() && p.stripes < 2 {
                        return Err(CmdError::failed(
                            "Segment type 'raid0' requires 2 or more stripes.",
                        ));
                    }
                    if !p.layout.is_raid0() && p.stripes <= parity {
                        return Err(CmdError::failed(format!(
                            "Number of stripes must be at least {} for {type_name}",
                            parity + 1
                        )));
                    }
                }
                let max = lv_raid::MAX_RAID_IMAGES - parity;
                if p.area_count() > max {
                    return Err(CmdError::failed(format!(
                        "Only up to {max} stripes in {type_name} supported currently."
                    )));
                }
            }
            if p.stripes > 1 || p.layout.is_raid0() {
                if args.stripesize.is_none() {
                    ctx.say(format!(
                        "Using default stripesize {}.",
                        display_size(u64::from(stripe_sectors))
                    ));
                }
                p.stripe_size = stripe_sectors;
                if p.stripe_size > vg.extent_size {
                    ctx.say(format!(
                        "Reducing requested stripe size {} to maximum, physical extent size {}.",
                        display_size(u64::from(p.stripe_size)),
                        display_size(u64::from(vg.extent_size))
                    ));
                    p.stripe_size = vg.extent_size;
                }
                if !p.layout.is_raid0() && p.region_size < p.stripe_size {
                    ctx.say(format!(
                        "Adjusting {type_name} {} region size to required minimum of stripe size {}.",
                        display_size(u64::from(p.region_size)),
                        display_size(u64::from(p.stripe_size))
                    ));
                    p.region_size = p.stripe_size;
                }
            }
            // Percentages count physical extents: one share per copy (LVM2 divides by
            // the mirror count).
            let mut extents = extents;
            if approx && p.mirrors > 1 {
                extents = (extents / u64::from(p.mirrors)).max(1);
            }
            let stripes = u64::from(p.stripes.max(1));
            let rest = extents % stripes;
            if rest != 0 {
                let up = extents - rest + stripes;
                ctx.say(format!(
                    "Rounding size {} ({extents} extents) up to stripe boundary size {} ({up} extents).",
                    display_size(extents * u64::from(vg.extent_size)),
                    display_size(up * u64::from(vg.extent_size))
                ));
                extents = up;
            }
            let extents = u32::try_from(extents).map_err(|_| {
                CmdError::usage("The size is more extents than LVM2 can count; give less.")
            })?;
            if policy != Policy::Anywhere && p.stripes as usize > sources.len() {
                return Err(CmdError::failed(format!(
                    "Number of stripes ({}) must not exceed number of physical volumes ({})",
                    p.stripes,
                    sources.len()
                )));
            }
            let with_space = sources
                .iter()
                .filter(|s| sources_free(&vg, std::slice::from_ref(s)) > 0)
                .count();
            if policy != Policy::Anywhere && (p.devices() as usize) > with_space {
                return Err(CmdError::failed(format!(
                    "Insufficient suitable allocatable extents: a {type_name} LV with {} devices needs {} PVs with free space, {} {with_space}; add PVs (vgextend), name more PVs or use --alloc anywhere.",
                    p.devices(),
                    p.devices(),
                    if args.pvs.is_empty() {
                        format!("VG {vg_name} has")
                    } else {
                        "the PVs given are".to_string()
                    }
                )));
            }
            if p.nosync {
                ctx.warn(format!(
                    "WARNING: New {type_name} won't be synchronised. Don't read what you didn't write!"
                ));
            }
            let name = pick_name(&vg, args.name.as_ref())?;
            for n in 0..p.devices() {
                for kind in ["rimage", "rmeta", "mimage"] {
                    let sub = lv_raid::image_name(&name, kind, n);
                    if name_in_use(&vg, &sub) {
                        return Err(CmdError::failed(format!(
                            "Logical Volume \"{sub}\" already exists in volume group \"{vg_name}\""
                        )));
                    }
                }
            }
            let lv_policy = policy_arg
                .clone()
                .filter(|p| *p != AllocationPolicy::Inherit);
            let made = lv_raid::create(
                &mut vg,
                &lv_raid::CreateRequest {
                    name: &name,
                    extents,
                    params: p,
                    sources: &sources,
                    policy,
                    lv_policy,
                    approx,
                    now,
                    host: &host,
                },
                &mut crate::host::new_id,
            )
            .map_err(failed)?;
            for note in made.notes {
                ctx.say(note);
            }
            created.push(name);
        }
        Kind::Plain | Kind::Cow { .. } => {
            let (mut extents, approx, _) = sized.unwrap_or((0, false, false));
            let mut chunk_size = 0;
            if let Kind::Cow { origin } = &kind {
                let o = vg
                    .lv(origin)
                    .ok_or_else(|| failed(format!("{origin} not found")))?;
                if is_cow(&vg, origin)
                    || o.segments
                        .iter()
                        .any(|s| matches!(s.kind, SegmentKind::Snapshot(_)))
                {
                    return Err(CmdError::failed(format!(
                        "Snapshots of snapshots are not supported: {vg_name}/{origin} is a snapshot; snapshot its origin instead."
                    )));
                }
                if !is_plain(o) {
                    return Err(CmdError::failed(format!(
                        "oxlvm can take COW snapshots of linear and striped LVs only; {vg_name}/{origin} is {}.",
                        o.segments.first().map_or("empty", |s| s.kind.type_name())
                    )));
                }
                let c = chunk.unwrap_or(DEFAULT_COW_CHUNK_SECTORS);
                if !(8..=1024).contains(&c) || !c.is_power_of_two() {
                    return Err(CmdError::usage(format!(
                        "Chunk size {} is invalid: use a power of 2 between 4 KiB and 512 KiB.",
                        display_size(u64::from(c))
                    )));
                }
                chunk_size = c;
                let max = cow_max_extents(o.extent_count(), vg.extent_size, c);
                if extents > max {
                    say_after.push(format!(
                        "Reducing COW size {} down to maximum usable size {}.",
                        display_size(extents * u64::from(vg.extent_size)),
                        display_size(max * u64::from(vg.extent_size))
                    ));
                    extents = max;
                }
            }
            if stripes > 1 && policy != Policy::Anywhere && stripes as usize > sources.len() {
                return Err(CmdError::failed(format!(
                    "Number of stripes ({stripes}) must not exceed number of physical volumes ({})",
                    sources.len()
                )));
            }
            let mut stripe_size = stripe_sectors;
            if stripes > 1 {
                if args.stripesize.is_none() {
                    ctx.say(format!(
                        "Using default stripesize {}.",
                        display_size(u64::from(stripe_size))
                    ));
                }
                if stripe_size > vg.extent_size {
                    ctx.say(format!(
                        "Reducing requested stripe size {} to maximum, physical extent size {}.",
                        display_size(u64::from(stripe_size)),
                        display_size(u64::from(vg.extent_size))
                    ));
                    stripe_size = vg.extent_size;
                }
                let rest = extents % u64::from(stripes);
                if rest != 0 {
                    let free = alloc::vg_free_extents(&vg);
                    if approx && free < extents - rest + u64::from(stripes) {
                        extents -= rest;
                    } else {
                        let up = extents - rest + u64::from(stripes);
                        ctx.say(format!(
                            "Rounding size {} ({extents} extents) up to stripe boundary size {} ({up} extents).",
                            display_size(extents * u64::from(vg.extent_size)),
                            display_size(up * u64::from(vg.extent_size))
                        ));
                        extents = up;
                    }
                }
            }
            let extents = u32::try_from(extents).map_err(|_| {
                CmdError::usage("The size is more extents than LVM2 can count; give less.")
            })?;
            if extents == 0 {
                return Err(CmdError::usage("Size must be larger than 0."));
            }
            let name = pick_name(&vg, args.name.as_ref())?;
            let mut lv = new_lv(&name, crate::host::new_id(), now, &host);
            if let Some(p) = &policy_arg {
                if *p != AllocationPolicy::Inherit {
                    lv.rare.allocation_policy = Some(p.clone());
                }
            }
            vg.lvs.push(lv);
            let mut req = Request::new(stripes, extents, policy);
            req.approx = approx;
            extend_plain(&mut vg, &name, &req, &sources, stripe_size).map_err(failed)?;
            if let Kind::Cow { origin } = &kind {
                add_cow_snapshot(
                    &mut vg,
                    origin,
                    &name,
                    chunk_size,
                    crate::host::new_id(),
                    now,
                    &host,
                )
                .map_err(failed)?;
            }
            created.push(name);
        }
        Kind::Pool => {
            let (extents, approx, _) = sized.unwrap_or((0, false, false));
            let extents =
                u32::try_from(extents).map_err(|_| CmdError::usage("The size is too big."))?;
            let meta_sectors = match args.poolmetadatasize.as_deref() {
                None => None,
                Some(t) => {
                    let s = parse_size(t, 2048).map_err(usage)?;
                    if s.sign != Sign::None || s.sectors == 0 {
                        return Err(CmdError::usage(format!(
                            "--poolmetadatasize {t}: give a positive size."
                        )));
                    }
                    Some(s.sectors)
                }
            };
            let (chunk_size, meta_extents) =
                thin_pool_sizes(extents, vg.extent_size, chunk, meta_sectors).map_err(failed)?;
            // The pool's name is decided first; a spare made now is named lvolN_pmspare.
            let pool_name = pick_name(
                &vg,
                target_lv
                    .as_ref()
                    .or(args.thinpool.as_ref())
                    .or(args.name.as_ref()),
            )?;
            check_new_lv_name(&pool_name).map_err(usage)?;
            let needs_spare =
                spare && pmspare(&vg).is_none_or(|s| s.extent_count() < u64::from(meta_extents));
            if needs_spare {
                match pmspare(&vg).map(|s| s.name.clone()) {
                    Some(existing) => {
                        let have = vg.lv(&existing).map_or(0, LogicalVolume::extent_count);
                        let req = Request::new(1, meta_extents - have as u32, policy);
                        extend_plain(&mut vg, &existing, &req, &sources, 0).map_err(failed)?;
                    }
                    None => {
                        let base = generate_lv_name(&vg, "lvol");
                        let mut lv = new_lv(&base, crate::host::new_id(), now, &host);
                        hide(&mut lv);
                        vg.lvs.push(lv);
                        let req = Request::new(1, meta_extents, policy);
                        extend_plain(&mut vg, &base, &req, &sources, 0).map_err(failed)?;
                        rename_lv(&mut vg, &base, &format!("{base}_pmspare"));
                    }
                }
            } else if !spare {
                ctx.warn(
                    "WARNING: recovery of pools without pool metadata spare LV is not automated.",
                );
            }
            let tdata = format!("{pool_name}_tdata");
            let tmeta = format!("{pool_name}_tmeta");
            for n in [&tdata, &tmeta] {
                if name_in_use(&vg, n) {
                    return Err(CmdError::failed(format!(
                        "Logical Volume \"{n}\" already exists in volume group \"{vg_name}\""
                    )));
                }
            }
            let mut req = Request::new(1, extents, policy);
            req.approx = approx;
            req.log_count = 1;
            req.log_len = meta_extents;
            req.logs_separate = alloc::settings().thin_pool_metadata_separate;
            let got = alloc::allocate(&vg, None, &sources, &req)
                .map_err(|e| failed(alloc_error(e, &vg)))?;
            let mut pool = new_lv(&pool_name, crate::host::new_id(), now, &host);
            let mut meta = new_lv(&tmeta, crate::host::new_id(), now, &host);
            let mut data = new_lv(&tdata, crate::host::new_id(), now, &host);
            hide(&mut meta);
            hide(&mut data);
            if let Some(run) = got.logs.first() {
                meta.segments
                    .push(Segment::linear(0, run.len, vg.pvs[run.pv].id, run.pe));
            }
            alloc::append_chunks(&alloc::pv_ids(&vg), &mut data, &got, 0);
            pool.segments.push(Segment::new(
                0,
                got.extents,
                SegmentKind::ThinPool(Box::new(ThinPool {
                    metadata: tmeta.clone(),
                    pool: tdata.clone(),
                    transaction_id: 0,
                    chunk_size,
                    discards: Some(args.discards.clone().unwrap_or_else(|| "passdown".into())),
                    zero_new_blocks: zero.unwrap_or(true),
                    crop_metadata: None,
                    messages: Vec::new(),
                })),
            ));
            if let Some(p) = &policy_arg {
                if *p != AllocationPolicy::Inherit {
                    pool.rare.allocation_policy = Some(p.clone());
                }
            }
            vg.lvs.push(pool);
            vg.lvs.push(meta);
            vg.lvs.push(data);
            ctx.say(format!(
                "Thin pool volume with chunk size {} can address at most {} of data.",
                display_size(u64::from(chunk_size)),
                display_size(thin_pool_max_data(chunk_size))
            ));
            created.push(pool_name);
        }
        Kind::Thin { pool } => {
            let p = vg.lv(pool).ok_or_else(|| {
                failed(format!("Pool {pool} not found in Volume group {vg_name}."))
            })?;
            let chunk = thin_pool_seg(p)
                .map(|s| s.chunk_size)
                .ok_or_else(|| failed(format!("Logical volume {vg_name}/{pool} is not a thin pool; create one with lvcreate -T -L SIZE {vg_name}/{pool}.")))?;
            let vtext = args.virtualsize.as_deref().unwrap_or("0");
            let v = parse_size(vtext, 2048).map_err(usage)?;
            if v.sign != Sign::None || v.sectors == 0 {
                return Err(CmdError::usage(format!(
                    "-V {vtext}: the virtual size must be larger than 0, without a sign."
                )));
            }
            let mut extents = extents_from_sectors(v.sectors, vg.extent_size);
            if extents * u64::from(vg.extent_size) != v.sectors {
                ctx.say(format!(
                    "Rounding up size to full physical extent {}.",
                    display_size(extents * u64::from(vg.extent_size))
                ));
            }
            if chunk > vg.extent_size {
                let c = u64::from(chunk);
                extents = (extents * u64::from(vg.extent_size)).div_ceil(c) * c
                    / u64::from(vg.extent_size);
            }
            let extents = u32::try_from(extents).map_err(|_| CmdError::usage("-V: too big"))?;
            let name = pick_name(&vg, args.name.as_ref())?;
            add_thin(
                &mut vg,
                pool,
                &name,
                extents,
                None,
                crate::host::new_id(),
                now,
                &host,
            )
            .map_err(failed)?;
            created.push(name);
        }
        Kind::ThinSnapshot { origin } => {
            let o = vg
                .lv(origin)
                .ok_or_else(|| failed(format!("{origin} not found")))?;
            let Some(t) = thin_seg(o) else {
                return Err(CmdError::usage(format!(
                    "A snapshot of {vg_name}/{origin} needs a size (-L): only thin volumes take snapshots without one."
                )));
            };
            let pool = t.thin_pool.clone();
            let extents = u32::try_from(o.extent_count()).unwrap_or(u32::MAX);
            let name = pick_name(&vg, args.name.as_ref())?;
            add_thin(
                &mut vg,
                &pool,
                &name,
                extents,
                Some(origin),
                crate::host::new_id(),
                now,
                &host,
            )
            .map_err(failed)?;
            // Thin snapshots are skipped at activation unless told otherwise, as LVM2 does.
            if skip != Some(false) {
                if let Some(lv) = vg.lv_mut(&name) {
                    lv.flags.push(ACTIVATION_SKIP.into());
                }
            }
            created.push(name);
        }
    }
    // Common LV attributes.
    if let Some(name) = created.first() {
        let lv = vg
            .lv_mut(name)
            .ok_or_else(|| failed(format!("{name} vanished")))?;
        for tag in &args.addtag {
            add_tag(&mut lv.tags, tag);
        }
        if read_only {
            lv.status.retain(|s| s != "WRITE");
        }
        if skip == Some(true) && !lv.flags.iter().any(|f| f == ACTIVATION_SKIP) {
            lv.flags.push(ACTIVATION_SKIP.into());
        }
        if matches!(kind, Kind::Raid(_)) {
            lv_raid::copy_tags_to_metadata(&mut vg, name);
        }
    }
    let problems = vg.dangling_references();
    if let Some(p) = problems.first() {
        return Err(CmdError::failed(format!(
            "Internal error: planned metadata is inconsistent: {p}"
        )));
    }
    // LVM2's allocation/wipe_signatures_when_zeroing_new_lvs: without -W, wipe when zeroing.
    let wipe_set = wipe == Some(true);
    let wipe = wipe.or_else(|| {
        ctx.config
            .get_bool("allocation/wipe_signatures_when_zeroing_new_lvs", true)
            .then_some(zero.unwrap_or(true))
    });
    let new_lv = NewLv {
        name: created.first().map_or("", String::as_str),
        activate,
        zero,
        wipe: wipe.unwrap_or(false),
        wipe_set,
        yes: args.yes,
        ignore_skip: args.ignoreactivationskip,
        skip_set: skip == Some(true),
    };
    let mut prepared = kernel.before_create(ctx, &l.scan, &l.found, vg, &new_lv)?;
    // A thin LV's first commit (its pool message queued) leaves the backup file to the
    // second (the message cleared), as LVM2 writes one backup per command.
    let steps = CommitSteps {
        archive: true,
        backup: !prepared.second_commit,
    };
    let first = if kernel.reads_planned_vg() {
        commit_steps(&l, prepared.vg.clone(), steps)?
    } else {
        // Without a live device-mapper nothing reads the planned VG after the commit: it is
        // moved into the commit, not copied, and an empty VG takes its place.
        let empty = VolumeGroup::new(&vg_name, l.found.metadata.vg.id, 0);
        commit_steps(&l, std::mem::replace(&mut prepared.vg, empty), steps)?
    };
    let written = &first.metadata;
    // Only once the change is written (a refused write must say only why).
    if let Some(name) = created.last() {
        super::thin_overcommit::warn(ctx, &written.vg, name);
    }
    if activate {
        // A shared VG: the new LV is activated exclusively, under its lock (LVM2's -aey).
        super::shared::lock_for_activation(
            ctx,
            &written.vg,
            new_lv.name,
            crate::commands::activate::ActivationChange::Exclusive,
        )?;
    }
    if let Err(e) = kernel.after_create(ctx, &l.scan, &l.found, &prepared, &new_lv, &first) {
        // The first commit left the backup file to a second that may not have happened.
        if !steps.backup {
            ctx.backup_latest(&vg_name);
        }
        return Err(e);
    }
    for line in say_after {
        ctx.say(line);
    }
    if let Some(name) = created.first() {
        let no_kernel = !kernel.available();
        if no_kernel && matches!(kind, Kind::Plain | Kind::Cow { .. } | Kind::Raid(_)) && activate {
            ctx.warn(format!(
                "WARNING: Logical volume {vg_name}/{name} not zeroed."
            ));
        }
        ctx.say(format!("Logical volume \"{name}\" created."));
    }
    super::free_at_exit(prepared);
    super::free_at_exit(first.metadata);
    Ok(())
}

// ---- lvextend / lvreduce / lvresize ----

#[derive(Debug, Parser)]
#[command(about = "Resize a logical volume")]
struct LvresizeArgs {
    /// New size, or +SIZE / -SIZE to grow or shrink (default unit MiB)
    #[arg(
        short = 'L',
        long = "size",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    size: Option<String>,
    /// New size in extents: N, +N, -N, N%VG, +N%FREE, N%PVS, N%ORIGIN, N%LV
    #[arg(
        short = 'l',
        long = "extents",
        value_name = "EXTENTS",
        allow_hyphen_values = true
    )]
    extents: Option<String>,
    /// Stripes for the new extents (must match the LV's)
    #[arg(short = 'i', long = "stripes", value_name = "NUMBER")]
    stripes: Option<u32>,
    /// Stripe size for the new extents
    #[arg(short = 'I', long = "stripesize", value_name = "SIZE")]
    stripesize: Option<String>,
    /// Resize the file system too (ext2/3/4 with resize2fs, xfs with xfs_growfs; the LV must be active)
    #[arg(short = 'r', long = "resizefs")]
    resizefs: bool,
    /// Do not check the file system before resizing it (-r)
    #[arg(short = 'n', long = "nofsck")]
    nofsck: bool,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// Grow a thin pool's metadata LV to SIZE or by +SIZE (default unit MiB); the pool
    /// metadata spare grows with it
    #[arg(
        long = "poolmetadatasize",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    poolmetadatasize: Option<String>,
    /// Do not ask (reducing)
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// The LV as VG/LV, then PVs to allocate from
    #[arg(value_name = "LV", required = true)]
    lv: String,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ResizeMode {
    Extend,
    Reduce,
    Any,
}

pub fn lvextend(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    resize(argv, ResizeMode::Extend)
}

pub fn lvreduce(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    resize(argv, ResizeMode::Reduce)
}

pub fn lvresize(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    resize(argv, ResizeMode::Any)
}

fn resize(argv: &[OsString], mode: ResizeMode) -> CmdResult {
    let Some(args) = parse_args::<LvresizeArgs>(argv)? else {
        return Ok(());
    };
    let explicit_alloc = alloc_arg(args.alloc.as_deref())?;
    let (vg_name, lv_name) = split_lv_arg(&args.lv, default_vg().as_deref()).map_err(usage)?;
    // Parse the size request before reading anything.
    enum Want {
        Sectors(Sign, u64),
        Extents(Sign, u64, Percent),
    }
    let pool_meta = match args.poolmetadatasize.as_deref() {
        None => None,
        Some(t) => {
            let s = parse_size(t, 2048).map_err(usage)?;
            if s.sectors == 0 {
                return Err(CmdError::usage("--poolmetadatasize may not be zero."));
            }
            if s.sign == Sign::Minus {
                return Err(CmdError::usage(
                    "Can't reduce pool metadata size; thin pool metadata only grows.",
                ));
            }
            if mode == ResizeMode::Reduce && s.sign == Sign::Plus {
                return Err(CmdError::usage(
                    "Positive sign not permitted - use lvextend.",
                ));
            }
            Some((s.sign, s.sectors))
        }
    };
    if args.size.is_none() && args.extents.is_none() {
        if let Some(want) = pool_meta {
            return resize_pool_metadata_only(&args, argv, mode, &vg_name, &lv_name, want);
        }
    }
    let want = match (&args.size, &args.extents) {
        (Some(_), Some(_)) => {
            return Err(CmdError::usage("Give either -L or -l, not both."));
        }
        (Some(t), None) => {
            let s = parse_size(t, 2048).map_err(usage)?;
            Want::Sectors(s.sign, s.sectors)
        }
        (None, Some(t)) => {
            let e = parse_extents(t).map_err(usage)?;
            Want::Extents(e.sign, e.value, e.percent)
        }
        // PVs alone: as much as they hold (LVM2's +100%PVS).
        (None, None) if !args.pvs.is_empty() => Want::Extents(Sign::Plus, 100, Percent::Pvs),
        (None, None) => {
            return Err(CmdError::usage(
                "Please specify either size or extents (-L or -l).",
            ))
        }
    };
    let sign = match want {
        Want::Sectors(s, _) | Want::Extents(s, _, _) => s,
    };
    match (mode, sign) {
        (ResizeMode::Extend, Sign::Minus) => {
            return Err(CmdError::usage(
                "Negative argument not permitted - use lvreduce.",
            ))
        }
        (ResizeMode::Reduce, Sign::Plus) => {
            return Err(CmdError::usage(
                "Positive sign not permitted - use lvextend.",
            ))
        }
        _ => {}
    }
    if matches!(
        want,
        Want::Sectors(Sign::None, 0) | Want::Extents(Sign::None, 0, _)
    ) {
        return Err(CmdError::usage("New size of 0 not permitted."));
    }
    if matches!(want, Want::Sectors(_, 0) | Want::Extents(_, 0, _)) {
        return Err(CmdError::usage("The size change must be larger than 0."));
    }

    let mut l = load(&args.common, argv, &vg_name)?;
    let ctx = &l.ctx;
    let kernel = Activation::new(ctx);
    let lv = l
        .found
        .metadata
        .vg
        .lv(&lv_name)
        .ok_or_else(|| {
            failed(format!(
                "Logical volume {lv_name} not found in volume group {vg_name}."
            ))
        })?
        .clone();
    // -r reads the LV's device from the VG as read (kept whole then).
    let mut vg = if args.resizefs {
        l.found.metadata.vg.clone()
    } else {
        vg_to_plan(ctx, &mut l.found, &kernel)
    };
    // A thin pool is resized through its data LV (LVM2's resizable layer): the messages name
    // `<pool>_tdata`, the pool's segment follows, the pool's devices are reloaded.
    let pool_lv = thin_pool_seg(&lv).map(|_| lv_name.clone());
    if pool_meta.is_some() && pool_lv.is_none() {
        return Err(CmdError::failed(format!(
            "--poolmetadatasize can be used only with thin pools; {vg_name}/{lv_name} is not one."
        )));
    }
    let (lv_name, lv) = match thin_pool_seg(&lv).map(|p| p.pool.clone()) {
        Some(data) => {
            if mode == ResizeMode::Reduce {
                return Err(CmdError::failed(format!(
                    "Thin pool volumes {vg_name}/{lv_name} cannot be reduced in size yet."
                )));
            }
            let data_lv = vg
                .lv(&data)
                .cloned()
                .ok_or_else(|| failed(format!("Thin pool data {vg_name}/{data} not found.")))?;
            (data, data_lv)
        }
        None => (lv_name, lv),
    };
    let mut resizefs = args.resizefs;
    if resizefs && pool_lv.is_some() {
        ctx.say(format!(
            "Ignoring --resizefs as volume {vg_name}/{} does not have a filesystem.",
            pool_lv.as_deref().unwrap_or(&lv_name)
        ));
        resizefs = false;
    }
    if resizefs && is_cow(&vg, &lv_name) {
        // The snapshot's device keeps its origin's size whatever its COW store holds.
        return Err(failed(format!(
            "Cannot resize the file system of snapshot {vg_name}/{lv_name}: a snapshot has its origin's size; run without -r."
        )));
    }
    let thin = thin_seg(&lv).is_some();
    let raid = lv_raid::read_params(&vg, &lv);
    if let Some(p) = &raid {
        if p.layout.parity() == 1 && p.devices() < 3 {
            return Err(CmdError::failed(format!(
                "Cannot resize {} LV {vg_name}/{lv_name}. Convert to more stripes first.",
                p.layout.name()
            )));
        }
    }
    if !thin && !is_plain(&lv) && raid.is_none() {
        return Err(CmdError::failed(format!(
            "oxlvm resizes linear, striped, COW and thin LVs only; {vg_name}/{lv_name} is {}.",
            lv.segments.first().map_or("empty", |s| s.kind.type_name())
        )));
    }
    if !vg.is_lv_visible(&lv) && !is_cow(&vg, &lv_name) && pool_lv.is_none() {
        return Err(CmdError::failed(format!(
            "Can't resize internal logical volume {vg_name}/{lv_name}."
        )));
    }
    let sources = pv_sources(ctx, &l.scan, &vg, &args.pvs)?;
    let current = lv.extent_count();
    let free = alloc::vg_free_extents(&vg);
    let es = u64::from(vg.extent_size);
    let mut approx = false;
    let target: i128 = match want {
        Want::Sectors(sign, sectors) => {
            let ext = extents_from_sectors(sectors, vg.extent_size);
            if ext * es != sectors {
                ctx.say(format!(
                    "Rounding size to boundary between physical extents: {}.",
                    display_size(ext * es)
                ));
            }
            match sign {
                Sign::Plus => i128::from(current) + i128::from(ext),
                Sign::Minus => i128::from(current) - i128::from(ext),
                Sign::None => i128::from(ext),
            }
        }
        Want::Extents(sign, value, percent) => {
            let n = match percent {
                Percent::None => value,
                Percent::Vg => percent_of(value, total_extents(&vg), false),
                Percent::Free => percent_of(value, free, false),
                Percent::Pvs => {
                    if args.pvs.is_empty() {
                        percent_of(value, total_extents(&vg), false)
                    } else {
                        percent_of(value, sources_free(&vg, &sources), false)
                    }
                }
                Percent::Lv => percent_of(value, current, false),
                Percent::Origin => {
                    let origin = snapshot_of_cow(&vg, &lv_name)
                        .and_then(|s| match &s.segments.first()?.kind {
                            SegmentKind::Snapshot(s) => Some(s.origin.clone()),
                            _ => None,
                        })
                        .ok_or_else(|| {
                            CmdError::usage(
                                "%ORIGIN is only for snapshots; use %FREE, %VG, %PVS or %LV.",
                            )
                        })?;
                    percent_of(
                        value,
                        vg.lv(&origin).map_or(0, LogicalVolume::extent_count),
                        true,
                    )
                }
            };
            approx = percent != Percent::None;
            // A percentage of PEs counts every copy of a mirrored or RAID LV: LVM2 turns
            // the PEs into logical extents per leg (extents_are_pes).
            let pes = matches!(percent, Percent::Vg | Percent::Free | Percent::Pvs);
            match (&raid, pes, sign) {
                (Some(p), true, Sign::Plus | Sign::None) if !thin => {
                    let have = raid_pe_count(&vg, &lv);
                    let pe_delta = match sign {
                        Sign::Plus => n,
                        _ => n.saturating_sub(have),
                    };
                    let am = u64::from(p.area_multiple());
                    let data = u64::from(p.area_count().max(1));
                    let to_le = |pe: u64| pe * am / data / am * am;
                    if sign == Sign::None && n <= have {
                        i128::from(to_le(n))
                    } else {
                        i128::from(current) + i128::from(to_le(pe_delta))
                    }
                }
                _ => match sign {
                    Sign::Plus => i128::from(current) + i128::from(n),
                    Sign::Minus => i128::from(current) - i128::from(n),
                    Sign::None => i128::from(n),
                },
            }
        }
    };
    if target < 1 {
        return Err(CmdError::failed(format!(
            "Unable to reduce {vg_name}/{lv_name} below 1 extent."
        )));
    }
    let mut target = u64::try_from(target).unwrap_or(u64::MAX);
    if target == current && pool_meta.is_none() {
        return Err(CmdError::failed(format!(
            "New size ({target} extents) matches existing size ({current} extents)."
        )));
    }
    let extending = target > current;
    if !extending && !snapshots_of(&vg, &lv_name).is_empty() {
        return Err(CmdError::failed(format!(
            "Snapshot origin volumes cannot be reduced in size yet: {vg_name}/{lv_name} has snapshots."
        )));
    }
    if extending && mode == ResizeMode::Reduce {
        return Err(CmdError::failed(format!(
            "New size given ({target} extents) not less than existing size ({current} extents)"
        )));
    }
    if !extending && mode == ResizeMode::Extend {
        return Err(CmdError::failed(format!(
            "New size given ({target} extents) not larger than existing size ({current} extents)"
        )));
    }
    let last_stripes = match lv.segments.last().map(|s| &s.kind) {
        Some(SegmentKind::Striped(s)) => (s.stripes.len() as u32, s.stripe_size.unwrap_or(0)),
        _ => (1, 0),
    };
    if let Some(i) = args.stripes {
        if extending && !thin && raid.is_none() && i != last_stripes.0 {
            return Err(CmdError::usage(format!(
                "-i {i}: oxlvm extends {vg_name}/{lv_name} with its {} stripe(s); leave -i out.",
                last_stripes.0
            )));
        }
    }
    let old_size = display_size(current * es);
    if let Some(pool) = &pool_lv {
        // The metadata first, as LVM2 resizes it before the data: to --poolmetadatasize, or,
        // when the data grows with neither that nor a PV list, to what the new data size
        // needs (LVM2's estimate), if that is more.
        let meta_want = match pool_meta {
            Some(w) => Some(w),
            None if extending && args.pvs.is_empty() => {
                let chunk = thin_pool_seg(vg.lv(pool).unwrap_or(&lv)).map_or(0, |p| p.chunk_size);
                let estimate = (target * es) / (u64::from(chunk.max(1)) * 8);
                Some((Sign::None, estimate))
            }
            None => None,
        };
        if let Some(w) = meta_want {
            let auto = pool_meta.is_none();
            grow_pool_metadata(
                ctx,
                &mut vg,
                &vg_name,
                pool,
                w,
                &sources,
                !args.pvs.is_empty(),
                explicit_alloc.as_ref(),
                if auto {
                    MetaGrow::Auto
                } else {
                    MetaGrow::WithData
                },
            )?;
        }
    }
    if target == current {
        // --poolmetadatasize with the pool's own size: only the metadata changes.
    } else if extending {
        let add = target - current;
        if thin {
            // A thin LV's size is virtual: no extents are allocated.
        } else if let Some(p) = &raid {
            if let Some(i) = args.stripes {
                if i != p.stripes {
                    return Err(CmdError::usage(format!(
                        "Unable to extend \"{}\" segment type with different number of stripes.",
                        p.layout.name()
                    )));
                }
            }
            if p.layout.is_mirrored() {
                ctx.say(format!("Extending {} mirror images.", p.mirrors));
            } else if p.stripes > 1 {
                ctx.say(format!(
                    "Using stripesize of last segment {}",
                    display_size(u64::from(p.stripe_size))
                ));
            }
            let mut add = add;
            let am = u64::from(p.area_multiple());
            let rest = add % am;
            if rest != 0 {
                ctx.say(format!(
                    "Rounding size ({target} extents) up to stripe boundary size for segment ({} extents).",
                    target - rest + am
                ));
                add = add - rest + am;
            }
            let policy = effective_policy(
                explicit_alloc
                    .as_ref()
                    .or(lv.rare.allocation_policy.as_ref()),
                &vg,
            );
            let got = lv_raid::extend(
                &mut vg,
                &lv_name,
                u32::try_from(add).map_err(|_| CmdError::usage("too many extents"))?,
                &sources,
                policy,
                approx,
            )
            .map_err(failed)?;
            target = current + u64::from(got);
        } else {
            let (stripes, stripe_size) = last_stripes;
            let mut add = add;
            if stripes > 1 {
                let rest = add % u64::from(stripes);
                if rest != 0 {
                    if !approx || free >= add - rest + u64::from(stripes) {
                        ctx.say(format!(
                            "Rounding size ({target} extents) up to stripe boundary size for segment ({} extents).",
                            target - rest + u64::from(stripes)
                        ));
                        add = add - rest + u64::from(stripes);
                    } else {
                        ctx.say(format!(
                            "Rounding size ({target} extents) down to stripe boundary size for segment ({} extents)",
                            target - rest
                        ));
                        add -= rest;
                    }
                }
                if stripes > 1 {
                    ctx.say(format!(
                        "Using stripesize of last segment {}",
                        display_size(u64::from(stripe_size))
                    ));
                }
            }
            if is_cow(&vg, &lv_name) {
                if let Some(SegmentKind::Snapshot(s)) = snapshot_of_cow(&vg, &lv_name)
                    .and_then(|s| s.segments.first())
                    .map(|s| s.kind.clone())
                {
                    let o = vg.lv(&s.origin).map_or(0, LogicalVolume::extent_count);
                    let max = cow_max_extents(o, vg.extent_size, s.chunk_size);
                    if current + add > max {
                        ctx.say(format!(
                            "Reached maximum COW size {} ({max} extents).",
                            display_size(max * es)
                        ));
                        add = max.saturating_sub(current);
                        if add == 0 {
                            return Err(CmdError::failed(format!(
                                "{vg_name}/{lv_name} already has the maximum COW size."
                            )));
                        }
                    }
                }
            }
            let policy = effective_policy(
                explicit_alloc
                    .as_ref()
                    .or(lv.rare.allocation_policy.as_ref()),
                &vg,
            );
            let mut req = Request::new(
                stripes,
                u32::try_from(add).map_err(|_| CmdError::usage("too many extents"))?,
                policy,
            );
            req.approx = approx;
            let got =
                extend_plain(&mut vg, &lv_name, &req, &sources, stripe_size).map_err(failed)?;
            target = current + u64::from(got);
        }
        if thin {
            set_virtual_extents(&mut vg, &lv_name, target)?;
        }
    } else {
        if let Some(pool) = &pool_lv {
            return Err(CmdError::failed(format!(
                "Thin pool volumes {vg_name}/{pool} cannot be reduced in size yet."
            )));
        }
        if (args.stripes.is_some() || args.stripesize.is_some()) && !thin {
            ctx.say("Ignoring stripes, stripesize and mirrors arguments when reducing.");
        }
        // Striped RAID (raid0/4/5/6) is cut in whole stripes as striped LVs are (LVM2 rounds
        // toward the old size by the data stripes); raid10 counts as mirrored there, its
        // reduction must divide by its stripes (lv_raid::reduce).
        let (stripes, _) = match raid.as_ref().map(|p| p.layout) {
            Some(Layout::Raid(level))
                if level != RaidLevel::Raid1
                    && !matches!(level, RaidLevel::Raid10 | RaidLevel::Raid10Near) =>
            {
                let p = raid.as_ref().map_or(1, |p| p.stripes.max(1));
                let ss = raid.as_ref().map_or(0, |p| p.stripe_size);
                let per = if ss > vg.extent_size {
                    ss / vg.extent_size.max(1)
                } else {
                    1
                };
                (p * per, ss)
            }
            Some(_) => (1, 0),
            None => last_stripes,
        };
        let mut keep = target;
        if !thin && stripes > 1 {
            // The last segment is cut in whole stripes.
            let seg_start = lv.segments.last().map_or(0, |s| u64::from(s.start_extent));
            if keep > seg_start {
                let part = keep - seg_start;
                let rest = part % u64::from(stripes);
                if rest != 0 {
                    let up = keep - rest + u64::from(stripes);
                    ctx.say(format!(
                        "Rounding size ({keep} extents) up to stripe boundary size for segment ({up} extents)."
                    ));
                    keep = up;
                }
            }
            if keep >= current {
                return Err(CmdError::failed(format!(
                    "New size ({keep} extents) matches existing size ({current} extents)."
                )));
            }
        }
        // LVM2 warns and asks only when the LV is active (an inactive one holds no open
        // file system to destroy), and not with -r: the file system is shrunk first.
        let kernel = Activation::new(ctx);
        let old = &l.found.metadata.vg;
        let open = old
            .lv(&lv_name)
            .and_then(|lv| kernel.active_open_count(old, lv))
            .filter(|_| !resizefs);
        if let Some(open) = open {
            let question = format!("Do you really want to reduce {vg_name}/{lv_name}?");
            let refuse = format!(
                "Not reducing active {vg_name}/{lv_name} without confirmation: no terminal to ask on; add -y (or -f) to reduce it."
            );
            let yes = args.yes || args.force > 0;
            if Answerer::current(yes, ctx.quiet) == Answerer::Nobody {
                return Err(CmdError::failed(refuse));
            }
            ctx.warn(format!(
                "WARNING: Reducing active{} logical volume to {}.",
                if open > 0 { " and open" } else { "" },
                display_size(keep * es)
            ));
            ctx.warn("THIS MAY DESTROY YOUR DATA (filesystem etc.)");
            if !confirm(yes, ctx.quiet, &question, &refuse)? {
                return Err(CmdError::failed(format!(
                    "Logical volume {vg_name}/{lv_name} NOT reduced."
                )));
            }
        }
        if thin {
            set_virtual_extents(&mut vg, &lv_name, keep)?;
        } else if raid.is_some() {
            lv_raid::reduce(&mut vg, &lv_name, u32::try_from(keep).unwrap_or(u32::MAX))
                .map_err(failed)?;
        } else if let Some(lvm) = vg.lv_mut(&lv_name) {
            reduce_to(lvm, u32::try_from(keep).unwrap_or(u32::MAX));
        }
        target = keep;
    }
    if let Some(pool) = &pool_lv {
        set_virtual_extents(&mut vg, pool, target)?;
    }
    let holder = pool_lv
        .clone()
        .unwrap_or_else(|| lock_holder(&vg, &lv_name));
    // A shared VG: the LV (or its origin, its pool) must not be active on another host.
    let refresh = super::shared::lock_for_resize(
        ctx,
        &l.found.metadata.vg,
        pool_lv.as_deref().unwrap_or(&lv_name),
        extending,
        args.common.lockopt.as_deref(),
    )?;
    // (Snapshots and their origins are as read in the planned VG.)
    kernel.check_resize(&vg, &lv_name)?;
    // -r: the file system is checked, and shrunk before the LV is (grown after it).
    let fs = if resizefs {
        let old = &l.found.metadata.vg;
        let label = format!("{vg_name}/{lv_name}");
        let devno = old
            .lv(&lv_name)
            .and_then(|lv| kernel.active_devno(old, lv))
            .ok_or_else(|| {
                failed(format!(
                    "Logical volume {label} must be activated before resizing filesystem."
                ))
            })?;
        let dev = std::path::PathBuf::from(format!("/dev/{vg_name}/{lv_name}"));
        let fs = super::lv_fs::FsResize::plan(&label, &dev, devno, target * es * 512)?;
        if !args.nofsck {
            fs.check()?;
        }
        if fs.shrinks() {
            fs.resize()?;
        }
        Some(fs)
    } else {
        None
    };
    let vg = if kernel.reload_needed(ctx, &l.found, &holder) {
        kernel.update_and_reload(
            ctx,
            &l.scan,
            &l.found,
            &vg,
            &holder,
            &holder,
            PLAIN_SUSPEND,
            &mut || commit(&l, vg.clone()).map(drop),
        )?;
        vg
    } else {
        // Nothing in the kernel to reload: the planned VG goes into the commit as it is.
        commit(&l, vg)?.vg
    };
    if extending && (thin || pool_lv.is_some()) {
        super::thin_overcommit::warn(ctx, &vg, &lv_name);
    }
    if target == current {
        ctx.say(format!(
            "Size of logical volume {vg_name}/{lv_name} unchanged from {old_size} ({current} extents)."
        ));
    } else {
        ctx.say(format!(
            "Size of logical volume {vg_name}/{lv_name} changed from {old_size} ({current} extents) to {} ({target} extents).",
            display_size(target * es)
        ));
    }
    ctx.say(format!(
        "Logical volume {vg_name}/{} successfully resized.",
        pool_lv.as_deref().unwrap_or(&lv_name)
    ));
    if let Some(fs) = fs.filter(|f| !f.shrinks()) {
        fs.resize()?;
    }
    super::shared::refresh_on_other_hosts(ctx, refresh)
}

/// `lvextend --poolmetadatasize SIZE VG/POOL` (or `VG/POOL_tmeta`) without -L/-l: the
/// metadata LV is resized alone, as LVM2 switches to it.
fn resize_pool_metadata_only(
    args: &LvresizeArgs,
    argv: &[OsString],
    mode: ResizeMode,
    vg_name: &str,
    lv_name: &str,
    want: (Sign, u64),
) -> CmdResult {
    let explicit_alloc = alloc_arg(args.alloc.as_deref())?;
    let l = load(&args.common, argv, vg_name)?;
    let ctx = &l.ctx;
    let mut vg = l.found.metadata.vg.clone();
    let lv = vg.lv(lv_name).ok_or_else(|| {
        failed(format!(
            "Logical volume {lv_name} not found in volume group {vg_name}."
        ))
    })?;
    let pool = if thin_pool_seg(lv).is_some() {
        lv_name.to_string()
    } else {
        vg.lvs
            .iter()
            .find(|p| thin_pool_seg(p).is_some_and(|s| s.metadata == lv_name))
            .map(|p| p.name.clone())
            .ok_or_else(|| {
                failed(format!(
                    "--poolmetadatasize can be used only with thin pools; {vg_name}/{lv_name} is not one."
                ))
            })?
    };
    let meta_name = vg
        .lv(&pool)
        .and_then(thin_pool_seg)
        .map(|p| p.metadata.clone())
        .unwrap_or_default();
    if mode == ResizeMode::Reduce {
        // lvreduce: a larger size is no reduction, a smaller one is refused for metadata.
        let current = vg.lv(&meta_name).map_or(0, LogicalVolume::extent_count);
        let es = u64::from(vg.extent_size);
        let new = want.1.div_ceil(es);
        if new > current {
            return Err(CmdError::failed(format!(
                "New size given ({new} extents) not less than existing size ({current} extents)"
            )));
        }
    }
    let sources = pv_sources(ctx, &l.scan, &vg, &args.pvs)?;
    grow_pool_metadata(
        ctx,
        &mut vg,
        vg_name,
        &pool,
        want,
        &sources,
        !args.pvs.is_empty(),
        explicit_alloc.as_ref(),
        MetaGrow::Only,
    )?;
    let refresh = super::shared::lock_for_resize(
        ctx,
        &l.found.metadata.vg,
        &pool,
        true,
        args.common.lockopt.as_deref(),
    )?;
    let kernel = Activation::new(ctx);
    kernel.update_and_reload(
        ctx,
        &l.scan,
        &l.found,
        &vg,
        &pool,
        &pool,
        PLAIN_SUSPEND,
        &mut || commit(&l, vg.clone()).map(drop),
    )?;
    ctx.say(format!(
        "Logical volume {vg_name}/{meta_name} successfully resized."
    ));
    super::shared::refresh_on_other_hosts(ctx, refresh)
}

/// How a thin pool's metadata is being grown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MetaGrow {
    /// `--poolmetadatasize` alone: the metadata LV is the LV resized.
    Only,
    /// `--poolmetadatasize` beside a data size.
    WithData,
    /// To LVM2's estimate for the new data size (no option given).
    Auto,
}

/// Grows the metadata LV of `pool` to `want` (sign, sectors) as LVM2's lv_resize does:
/// rounded up to extents, at most the largest metadata a pool uses, never reduced; then,
/// without a PV list, the pool metadata spare to the largest metadata LV of the VG (made when
/// there is none). Returns whether the metadata grew.
#[allow(clippy::too_many_arguments)]
fn grow_pool_metadata(
    ctx: &Context,
    vg: &mut VolumeGroup,
    vg_name: &str,
    pool: &str,
    want: (Sign, u64),
    sources: &[PvSource],
    pv_list_given: bool,
    explicit_alloc: Option<&AllocationPolicy>,
    how: MetaGrow,
) -> CmdResult<bool> {
    let meta_name = vg
        .lv(pool)
        .and_then(thin_pool_seg)
        .map(|p| p.metadata.clone())
        .ok_or_else(|| failed(format!("{vg_name}/{pool} is not a thin pool.")))?;
    let meta = vg.lv(&meta_name).cloned().ok_or_else(|| {
        failed(format!(
            "Thin pool metadata {vg_name}/{meta_name} not found."
        ))
    })?;
    let es = u64::from(vg.extent_size);
    let current = meta.extent_count();
    let (sign, sectors) = want;
    if how == MetaGrow::Auto && sectors <= current * es {
        return Ok(false);
    }
    let ext = sectors.div_ceil(es);
    if ext * es != sectors {
        ctx.say(format!(
            "Rounding size to boundary between physical extents: {}.",
            display_size(ext * es)
        ));
    }
    let mut new = match sign {
        Sign::Plus => current + ext,
        _ => ext,
    };
    if new < current {
        return Err(CmdError::failed(
            "Thin pool metadata volumes cannot be reduced.",
        ));
    }
    if new == current {
        if how == MetaGrow::Only {
            return Err(CmdError::failed(format!(
                "New size ({new} extents) matches existing size ({current} extents)."
            )));
        }
        return Ok(false);
    }
    let max_sectors = THIN_MAX_METADATA_SECTORS;
    if new * es > max_sectors {
        new = max_sectors.div_ceil(es);
        ctx.say(format!(
            "Reached maximum pool metadata size {} ({new} extents).",
            display_size(max_sectors)
        ));
        if new <= current {
            if how == MetaGrow::Only {
                return Err(CmdError::failed(format!(
                    "New size ({new} extents) matches existing size ({current} extents)."
                )));
            }
            return Ok(false);
        }
    }
    let policy = effective_policy(explicit_alloc.or(meta.rare.allocation_policy.as_ref()), vg);
    let add = u32::try_from(new - current).map_err(|_| CmdError::usage("too many extents"))?;
    let stripes = match meta.segments.last().map(|s| &s.kind) {
        Some(SegmentKind::Striped(s)) => (s.stripes.len() as u32, s.stripe_size.unwrap_or(0)),
        _ => (1, 0),
    };
    let req = Request::new(stripes.0, add, policy);
    extend_plain(vg, &meta_name, &req, sources, stripes.1).map_err(failed)?;
    ctx.say(format!(
        "Size of logical volume {vg_name}/{meta_name} changed from {} ({current} extents) to {} ({new} extents).",
        display_size(current * es),
        display_size(new * es)
    ));
    if !pv_list_given {
        let stamp = (ctx.host.now, ctx.host.node.clone());
        grow_pool_metadata_spare(vg, sources, &stamp).map_err(failed)?;
    }
    Ok(true)
}

/// LVM2's handle_pool_metadata_spare after a metadata resize: the spare as large as the
/// largest pool metadata LV (at most 16 GiB), extended like its last segment, or made.
fn grow_pool_metadata_spare(
    vg: &mut VolumeGroup,
    sources: &[PvSource],
    stamp: &(u64, String),
) -> Result<(), String> {
    let es = u64::from(vg.extent_size);
    let max = (2 * 16 * 1024 * 1024u64).div_ceil(es);
    let metas: Vec<String> = vg
        .lvs
        .iter()
        .filter_map(|l| thin_pool_seg(l).map(|p| p.metadata.clone()))
        .collect();
    let mut want = 0u64;
    for l in &vg.lvs {
        if metas.contains(&l.name) && l.extent_count() > want {
            want = l.extent_count();
            if want >= max {
                break;
            }
        }
    }
    if want == 0 {
        return Ok(());
    }
    let want = want.min(max);
    match pmspare(vg).map(|s| {
        (
            s.name.clone(),
            s.extent_count(),
            s.rare.allocation_policy.clone(),
        )
    }) {
        Some((name, have, lv_policy)) => {
            if have < want {
                let policy = effective_policy(lv_policy.as_ref(), vg);
                let add = u32::try_from(want - have).map_err(|_| "too many extents".to_string())?;
                let stripes = match vg
                    .lv(&name)
                    .and_then(|l| l.segments.last())
                    .map(|s| &s.kind)
                {
                    Some(SegmentKind::Striped(s)) => {
                        (s.stripes.len() as u32, s.stripe_size.unwrap_or(0))
                    }
                    _ => (1, 0),
                };
                let req = Request::new(stripes.0, add, policy);
                extend_plain(vg, &name, &req, sources, stripes.1)?;
            }
        }
        None => {
            let base = generate_lv_name(vg, "lvol");
            let mut lv = new_lv(&base, crate::host::new_id(), stamp.0, &stamp.1);
            hide(&mut lv);
            vg.lvs.push(lv);
            let policy = effective_policy(None, vg);
            let req = Request::new(1, u32::try_from(want).unwrap_or(u32::MAX), policy);
            extend_plain(vg, &base, &req, sources, 0)?;
            rename_lv(vg, &base, &format!("{base}_pmspare"));
        }
    }
    Ok(())
}

/// PEs a mirrored or RAID LV holds, sub-LVs included (LVM2's _lv_pe_count).
fn raid_pe_count(vg: &VolumeGroup, lv: &LogicalVolume) -> u64 {
    let mut total = 0u64;
    for name in std::iter::once(lv.name.clone()).chain(sub_lvs(vg, &lv.name)) {
        if let Some(l) = vg.lv(&name) {
            for seg in &l.segments {
                let pv_areas = seg
                    .areas()
                    .iter()
                    .filter(|a| matches!(a, metadata_format::text::Area::Pv { .. }))
                    .count() as u64;
                total += pv_areas * u64::from(alloc::area_len(seg));
            }
        }
    }
    total
}

fn set_virtual_extents(vg: &mut VolumeGroup, name: &str, extents: u64) -> CmdResult {
    let lv = vg
        .lv_mut(name)
        .ok_or_else(|| failed(format!("{name} not found")))?;
    if let Some(seg) = lv.segments.first_mut() {
        seg.extent_count = u32::try_from(extents).map_err(|_| CmdError::usage("too big"))?;
    }
    Ok(())
}

// ---- lvremove ----

#[derive(Debug, Parser)]
#[command(about = "Remove logical volume(s) from the system")]
struct LvremoveArgs {
    /// Remove without asking
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// Remove only the LVs this selection picks (as `lvs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    /// LVs as VG/LV, or a VG to remove all its LVs (default with -S: every VG)
    #[arg(value_name = "VG|LV")]
    lvs: Vec<String>,
}

pub fn lvremove(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvremoveArgs>(argv)? else {
        return Ok(());
    };
    let select = Select::parse(ReportKind::Lv, args.select.as_deref())?;
    if select.is_help() {
        return Ok(());
    }
    if args.lvs.is_empty() && !select.is_given() {
        return Err(usage(
            "Please enter one or more logical volume paths or use --select for selection.".into(),
        ));
    }
    // Group requests by VG, keeping order; with only -S, every VG.
    let mut by_vg: Vec<(String, Vec<String>)> = Vec::new();
    if args.lvs.is_empty() {
        let ctx = Context::new(&args.common, argv)?;
        // Every VG, in LVM2's order (newest found first).
        for vg in super::report_cmds::lvm2_vg_order(&ctx.scan()?) {
            by_vg.push((vg, vec![String::new()]));
        }
    }
    for a in &args.lvs {
        let (vg, lv) = if a.trim_start_matches("/dev/").contains('/') {
            let (v, l) = split_lv_arg(a, default_vg().as_deref()).map_err(usage)?;
            (v, Some(l))
        } else {
            (a.clone(), None)
        };
        let entry = match by_vg.iter_mut().find(|(v, _)| *v == vg) {
            Some(e) => e,
            None => {
                by_vg.push((vg.clone(), Vec::new()));
                by_vg.last_mut().ok_or_else(|| failed("no vg".into()))?
            }
        };
        if let Some(lv) = lv {
            entry.1.push(lv);
        } else {
            entry.1.push(String::new());
        }
    }
    let yes = args.yes || args.force > 0;
    for (vg_name, names) in by_vg {
        let mut l = load(&args.common, argv, &vg_name)?;
        let ctx = &l.ctx;
        let vg = &l.found.metadata.vg;
        let mut wanted: Vec<String> = Vec::new();
        for n in names {
            if n.is_empty() {
                for lv in vg.lvs.iter().filter(|lv| vg.is_lv_visible(lv)) {
                    wanted.push(lv.name.clone());
                }
                continue;
            }
            let lv = vg.lv(&n).ok_or_else(|| {
                failed(format!("Failed to find logical volume \"{vg_name}/{n}\""))
            })?;
            if !vg.is_lv_visible(lv) && !n.ends_with("_pmspare") {
                return Err(CmdError::failed(format!(
                    "Can't remove logical volume {vg_name}/{n} used by another LV; remove that LV instead."
                )));
            }
            if !wanted.contains(&n) {
                wanted.push(n);
            }
        }
        if let Select::Some(sel) = &select {
            let view = VgView::new(ctx, &l.scan, &l.found);
            let facts = view.facts(&l.found);
            wanted.retain(|n| sel.lv_matches(&facts, n));
        }
        // LVM2's order (pools first, each LV after its dependents) and its questions: an
        // active LV, a pool with thin LVs, the pool spare. `-f` or `-y` answers them all.
        let kernel = Activation::new(ctx);
        let old = &l.found.metadata.vg;
        let is_active = |n: &str| old.lv(n).is_some_and(|lv| kernel.is_active(old, lv));
        let issue_discards = ctx.config.get_bool("devices/issue_discards", false);
        let plan = removal_plan_with(vg, &wanted, &is_active, issue_discards);
        let order = plan.order;
        if order.is_empty() {
            continue;
        }
        // LVM2 reports visible LVs only (a named pool spare goes silently).
        let reported: Vec<String> = order
            .iter()
            .filter(|n| old.lv(n).is_some_and(|lv| old.is_lv_visible(lv)))
            .cloned()
            .collect();
        for (lv, question) in &plan.questions {
            let refusal = format!(
                "Not removing {vg_name}/{lv} without confirmation (\"{question}\"): no terminal to ask on; add -y (or -f)."
            );
            if !confirm(yes, ctx.quiet, question, &refusal)? {
                return Err(CmdError::failed(format!(
                    "Logical volume {vg_name}/{lv} not removed."
                )));
            }
        }
        // A shared VG: each LV's lock (or its pool's) ex first - it must not be active on
        // another host; the commit frees the removed LVs' leases.
        super::shared::lock_for_removal(ctx, old, &order)?;
        // Discards compare the VG as read with the VG as written: planned on a copy then.
        let mut vg = if issue_discards {
            old.clone()
        } else {
            vg_to_plan(ctx, &mut l.found, &kernel)
        };
        let mut pools_removed = false;
        for n in &order {
            if let Some(p) = vg.lv(n).and_then(thin_pool_seg).cloned() {
                vg.lvs
                    .retain(|lv| lv.name != p.pool && lv.name != p.metadata);
                pools_removed = true;
            }
            remove_lv(&mut vg, n);
        }
        if pools_removed && !vg.lvs.iter().any(|lv| thin_pool_seg(lv).is_some()) {
            if let Some(s) = pmspare(&vg).map(|s| s.name.clone()) {
                vg.lvs.retain(|lv| lv.name != s);
            }
        }
        let vg = kernel.before_remove(ctx, &l.found, vg, &order)?;
        let (vg, first) = if kernel.reads_planned_vg() {
            // Thin deletions queued as pool messages: a second commit clears them, and the
            // backup file waits for it (LVM2 writes one per command).
            let steps = CommitSteps {
                archive: true,
                backup: !Activation::queues_pool_messages(&vg),
            };
            let first = commit_steps(&l, vg.clone(), steps)?;
            (vg, Some((first, steps)))
        } else {
            // `after_remove` reads nothing without a live device-mapper; the lock release
            // below only looks LVs up by name, which the VG as written answers the same.
            (commit(&l, vg)?.vg, None)
        };
        let after = kernel.after_remove(
            ctx,
            &l.scan,
            &l.found,
            &vg,
            &order,
            first.as_ref().map(|(c, _)| c),
        );
        if let Err(e) = after {
            // The first commit left the backup file to a second that may not have happened.
            if first.as_ref().is_some_and(|(_, s)| !s.backup) {
                ctx.backup_latest(&vg_name);
            }
            return Err(e);
        }
        if issue_discards && !ctx.test_mode {
            discard_freed_extents(ctx, &l.scan, &l.found, &l.found.metadata.vg, &vg);
        }
        super::shared::unlock_after_removal(ctx, &l.found.metadata.vg, &vg, &order);
        for n in reported {
            ctx.say(format!("Logical volume \"{n}\" successfully removed."));
        }
        super::free_at_exit(vg);
    }
    Ok(())
}

nix::ioctl_write_ptr_bad!(
    /// BLKDISCARD (`_IO(0x12, 119)`): discards the byte range `[start, length]` of a block
    /// device.
    blkdiscard,
    0x1277,
    [u64; 2]
);

/// `devices/issue_discards`: the extents the removal freed are discarded on their PVs, as
/// LVM2 discards released PV segments. After the commit, so a failed write loses nothing;
/// a device that cannot discard (or a failed discard) only warns.
pub(crate) fn discard_freed_extents(
    ctx: &Context,
    scan: &crate::store::scan::Scan,
    found: &crate::store::scan::FoundVg,
    before: &VolumeGroup,
    after: &VolumeGroup,
) {
    use std::os::fd::AsRawFd;
    let free_before = alloc::free_runs(before);
    let free_after = alloc::free_runs(after);
    let ext_bytes = u64::from(before.extent_size) * 512;
    for (p, pv) in before.pvs.iter().enumerate() {
        let Some(path) = found
            .pv_devices
            .get(p)
            .copied()
            .flatten()
            .and_then(|i| scan.pvs.get(i))
            .map(|d| d.path.clone())
        else {
            continue;
        };
        let was_free = |pe: u32| {
            free_before
                .get(p)
                .is_some_and(|runs| runs.iter().any(|&(s, n)| pe >= s && pe - s < n))
        };
        // Runs free now that were in use before, split where they were already free.
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for &(start, len) in free_after.get(p).map(Vec::as_slice).unwrap_or(&[]) {
            for pe in start..start.saturating_add(len) {
                if was_free(pe) {
                    continue;
                }
                match ranges.last_mut() {
                    Some((s, n)) if *s + *n == pe => *n += 1,
                    _ => ranges.push((pe, 1)),
                }
            }
        }
        if ranges.is_empty() {
            continue;
        }
        let file = match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) => {
                ctx.warn(format!(
                    "WARNING: Failed to discard the freed extents of {}: {e}.",
                    path.display()
                ));
                continue;
            }
        };
        for (start, len) in ranges {
            let range = [
                pv.pe_start * 512 + u64::from(start) * ext_bytes,
                u64::from(len) * ext_bytes,
            ];
            // SAFETY: BLKDISCARD reads two u64s from the pointer, which points at `range`,
            // alive for the call; the descriptor is open for writing.
            let done = unsafe { blkdiscard(file.as_raw_fd(), &range) };
            if let Err(e) = done {
                ctx.warn(format!(
                    "WARNING: Failed to discard extents {start}-{} of {}: {e}.",
                    start + len - 1,
                    path.display()
                ));
                break;
            }
        }
    }
}

// ---- lvrename ----

#[derive(Debug, Parser)]
#[command(about = "Rename a logical volume")]
struct LvrenameArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// VG OLD NEW, or VG/OLD NEW, or VG/OLD VG/NEW
    #[arg(value_name = "NAME", required = true, num_args = 2..=3)]
    names: Vec<String>,
}

pub fn lvrename(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvrenameArgs>(argv)? else {
        return Ok(());
    };
    let (vg_name, old, new) = match args.names.as_slice() {
        [vg, old, new] => (vg.clone(), old.clone(), new.clone()),
        [old, new] => {
            let (vg, o) = split_lv_arg(old, default_vg().as_deref()).map_err(usage)?;
            let n = if new.contains('/') {
                let (vg2, n) = split_lv_arg(new, None).map_err(usage)?;
                if vg2 != vg {
                    return Err(CmdError::usage(format!(
                        "Logical volume names must have the same volume group (\"{vg}\" or \"{vg2}\")."
                    )));
                }
                n
            } else {
                new.clone()
            };
            (vg, o, n)
        }
        _ => {
            return Err(CmdError::usage(
                "Give VG OLD NEW, or VG/OLD NEW.".to_string(),
            ))
        }
    };
    let old = old.rsplit('/').next().unwrap_or(&old).to_string();
    let new = new.rsplit('/').next().unwrap_or(&new).to_string();
    check_new_lv_name(&new).map_err(usage)?;
    if old == new {
        return Err(CmdError::usage(format!(
            "Old and new logical volume names must differ (both \"{old}\")."
        )));
    }
    let l = load(&args.common, argv, &vg_name)?;
    let mut vg = l.found.metadata.vg.clone();
    let lv = vg.lv(&old).ok_or_else(|| {
        failed(format!(
            "Existing logical volume \"{old}\" not found in volume group \"{vg_name}\""
        ))
    })?;
    if !vg.is_lv_visible(lv) {
        return Err(CmdError::failed(format!(
            "Cannot rename internal LV \"{old}\"."
        )));
    }
    if name_in_use(&vg, &new) {
        return Err(CmdError::failed(format!(
            "Logical Volume \"{new}\" already exists in volume group \"{vg_name}\""
        )));
    }
    // A shared VG: the LV must not be active on another host (LVM2's transient ex lock).
    super::shared::lock_for_change(&l.ctx, &l.found.metadata.vg, &old)?;
    rename_lv(&mut vg, &old, &new);
    Activation::new(&l.ctx).update_and_reload(
        &l.ctx,
        &l.scan,
        &l.found,
        &vg,
        &lock_holder(&l.found.metadata.vg, &old),
        &lock_holder(&vg, &new),
        PLAIN_SUSPEND,
        &mut || commit(&l, vg.clone()).map(drop),
    )?;
    l.ctx.say(format!(
        "Renamed \"{old}\" to \"{new}\" in volume group \"{vg_name}\""
    ));
    Ok(())
}

// ---- lvchange ----

#[derive(Debug, Parser)]
#[command(about = "Change the attributes of logical volume(s)")]
struct LvchangeArgs {
    /// Access permission: rw or r
    #[arg(short = 'p', long = "permission", value_name = "rw|r")]
    permission: Option<String>,
    /// Add a tag (repeatable)
    #[arg(long = "addtag", value_name = "TAG")]
    addtag: Vec<String>,
    /// Remove a tag (repeatable)
    #[arg(long = "deltag", value_name = "TAG")]
    deltag: Vec<String>,
    /// Flag the LV to be skipped at activation (y) or not (n)
    #[arg(short = 'k', long = "setactivationskip", value_name = "y|n")]
    setactivationskip: Option<String>,
    /// Ignore the activation skip flag (with -a)
    #[arg(short = 'K', long = "ignoreactivationskip")]
    ignoreactivationskip: bool,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    alloc: Option<String>,
    /// Activate or deactivate (goes through the activation seam)
    #[arg(short = 'a', long = "activate", value_name = "y|n")]
    activate: Option<String>,
    /// With -a: how to treat missing PVs (complete, degraded, partial)
    #[arg(long = "activationmode", value_name = "MODE")]
    activationmode: Option<String>,
    /// With -a: allow LVs with missing PVs (same as --activationmode partial)
    #[arg(short = 'P', long = "partial")]
    partial: bool,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    #[command(flatten)]
    common: CommonArgs,
    /// Change only the LVs this selection picks (as `lvs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    /// LVs as VG/LV, or a VG for all its LVs (default with -S: every VG)
    #[arg(value_name = "VG|LV")]
    lvs: Vec<String>,
}

pub fn lvchange(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvchangeArgs>(argv)? else {
        return Ok(());
    };
    let permission = match args.permission.as_deref() {
        None => None,
        Some("r") => Some(false),
        Some("rw") => Some(true),
        Some(p) => return Err(CmdError::usage(format!("-p {p}: use r or rw."))),
    };
    for t in args.addtag.iter().chain(&args.deltag) {
        check_tag(t)?;
    }
    let skip = yn("-k", &args.setactivationskip)?;
    let policy = alloc_arg(args.alloc.as_deref())?;
    let activate = match args.activate.as_deref() {
        None => None,
        Some(a) => Some(
            crate::commands::activate::ActivationChange::parse(a)
                .ok_or_else(|| CmdError::usage(format!("-a {a}: use y, n, ey, sy, ly or ay.")))?,
        ),
    };
    let metadata_change = permission.is_some()
        || !args.addtag.is_empty()
        || !args.deltag.is_empty()
        || skip.is_some()
        || policy.is_some();
    if !metadata_change && activate.is_none() {
        return Err(CmdError::usage(
            "Need one or more command options: -p, --addtag, --deltag, -k, --alloc or -a.",
        ));
    }
    if activate.is_none() && (args.activationmode.is_some() || args.partial) {
        return Err(CmdError::usage(
            "--activationmode and --partial go with -a.",
        ));
    }
    let _ = (args.yes, args.force, args.ignoreactivationskip);
    let select = Select::parse(ReportKind::Lv, args.select.as_deref())?;
    if select.is_help() {
        return Ok(());
    }
    if args.lvs.is_empty() && !select.is_given() {
        return Err(usage(
            "Please give logical volume path(s) or use --select for selection.".into(),
        ));
    }
    // Per VG: the LVs named (None: every visible LV of it), in argument order of VGs.
    let mut by_vg: Vec<(String, Option<Vec<String>>)> = Vec::new();
    if args.lvs.is_empty() {
        let ctx = Context::new(&args.common, argv)?;
        by_vg = super::report_cmds::lvm2_vg_order(&ctx.scan()?)
            .into_iter()
            .map(|v| (v, None))
            .collect();
    }
    for a in &args.lvs {
        let (vg, lv) = if a.trim_start_matches("/dev/").contains('/') {
            let (v, l) = split_lv_arg(a, default_vg().as_deref()).map_err(usage)?;
            (v, Some(l))
        } else {
            (a.trim_start_matches("/dev/").to_string(), None)
        };
        let i = match by_vg.iter().position(|(v, _)| *v == vg) {
            Some(i) => i,
            None => {
                by_vg.push((vg, Some(Vec::new())));
                by_vg.len() - 1
            }
        };
        match (lv, &mut by_vg[i].1) {
            (None, slot) => *slot = None,
            (Some(lv), Some(list)) if !list.contains(&lv) => list.push(lv),
            _ => {}
        }
    }
    for (vg_name, named) in by_vg {
        // Activation alone reads the VG under a shared lock (lvmlockd's too), as LVM2.
        let mode = if metadata_change {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        // Activation alone works on a VG with missing PVs (the activation mode decides).
        let l = load_checked(&args.common, argv, &vg_name, mode, metadata_change)?;
        let activation_mode = match activate {
            Some(_) => {
                ActivationMode::from_args(&l.ctx, args.activationmode.as_deref(), args.partial)?
            }
            None => ActivationMode::default(),
        };
        let mut vg = l.found.metadata.vg.clone();
        let mut names: Vec<String> = match named {
            Some(list) => {
                if let Some(n) = list.iter().find(|n| vg.lv(n).is_none()) {
                    return Err(failed(format!(
                        "Failed to find logical volume \"{vg_name}/{n}\""
                    )));
                }
                list
            }
            // A whole VG: its visible LVs; activation leaves COW snapshots to their origin.
            None => vg
                .lvs
                .iter()
                .filter(|lv| vg.is_lv_visible(lv))
                .filter(|lv| activate.is_none() || snapshot_of_cow(&vg, &lv.name).is_none())
                .map(|lv| lv.name.clone())
                .collect(),
        };
        if let Select::Some(sel) = &select {
            let view = VgView::new(&l.ctx, &l.scan, &l.found);
            let facts = view.facts(&l.found);
            names.retain(|n| sel.lv_matches(&facts, n));
        }
        // LVM2's processing order: VG order, thin pools first.
        let names = processing_order(&vg, &names);
        if names.is_empty() {
            continue;
        }
        let mut changed: Vec<String> = Vec::new();
        for name in &names {
            let lv = vg.lv_mut(name).ok_or_else(|| {
                failed(format!(
                    "Failed to find logical volume \"{vg_name}/{name}\""
                ))
            })?;
            if let Some(rw) = permission {
                let has_write = lv.has_status("WRITE");
                if has_write == rw {
                    return Err(CmdError::failed(format!(
                        "Logical volume {vg_name}/{name} is already {}.",
                        if rw { "read/write" } else { "read only" }
                    )));
                }
                if rw {
                    let at = lv
                        .status
                        .iter()
                        .position(|s| s == "READ")
                        .map_or(0, |p| p + 1);
                    lv.status.insert(at, "WRITE".into());
                } else {
                    lv.status.retain(|s| s != "WRITE");
                }
            }
            for t in &args.addtag {
                add_tag(&mut lv.tags, t);
            }
            for t in &args.deltag {
                del_tag(&mut lv.tags, t);
            }
            match skip {
                Some(true) if !lv.flags.iter().any(|f| f == ACTIVATION_SKIP) => {
                    lv.flags.push(ACTIVATION_SKIP.into())
                }
                Some(false) => lv.flags.retain(|f| f != ACTIVATION_SKIP),
                _ => {}
            }
            if let Some(p) = &policy {
                lv.rare.allocation_policy = (*p != AllocationPolicy::Inherit).then(|| p.clone());
            }
            changed.push(name.clone());
        }
        if metadata_change {
            // A permission change reloads active LVs read-only or read-write.
            let reload = if permission.is_some() {
                &changed[..]
            } else {
                &[]
            };
            Activation::new(&l.ctx).update_and_reload_all(
                &l.ctx,
                &l.scan,
                &l.found,
                &vg,
                reload,
                &mut || commit(&l, vg.clone()).map(drop),
            )?;
        }
        if let Some(change) = activate {
            let mut found = l.found.clone();
            found.metadata.vg = vg.clone();
            crate::commands::lv_activate::change_lvs(
                &l.ctx,
                &l.scan,
                &found,
                &changed,
                change,
                args.ignoreactivationskip,
                activation_mode,
            )?;
        }
        if metadata_change {
            for n in &changed {
                l.ctx.say(format!("Logical volume {vg_name}/{n} changed."));
            }
        }
    }
    Ok(())
}
