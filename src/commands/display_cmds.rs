//! `pvdisplay`, `vgdisplay`, `lvdisplay` (full, `-c` colon and `-s` short forms, `-m` maps for
//! PVs and striped LVs) and `pvscan`, `vgscan`, `lvscan`, printed as LVM2 2.03.16 does. With
//! device-mapper, lvdisplay and lvscan show the kernel's side as LVM2 does (`ACTIVE`, "LV
//! Status", "# open", pool and snapshot usage, the kernel's read-ahead, "Block device");
//! without it there are no such lines and every LV is inactive.

use super::context::Context;
use super::report_cmds::Snapshot;
use super::select_objects::Select;
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::report::values::{format_time, DeviceFacts, KernelInfo, SegStatus, VgFacts};
use crate::report::write_percent;
use crate::report::{format_size, ReportKind, Units};
use clap::Parser;
use metadata_format::text::{AllocationPolicy, Area, RaidLevel, ReadAhead, SegmentKind};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;

/// LVM2's `display_size`: a size with a short unit (`64.00 MiB`, `<2.99 GiB`, `0   `).
pub fn display_size(sectors: u64, units: Units) -> String {
    let text = format_size(sectors, units, true);
    if sectors == 0 && matches!(units.letter(), 'h' | 'H' | 'r' | 'R') {
        return "0   ".to_string();
    }
    let Some(last) = text.chars().last() else {
        return text;
    };
    let long = match last {
        'e' => " EiB",
        'p' => " PiB",
        't' => " TiB",
        'g' => " GiB",
        'm' => " MiB",
        'k' => " KiB",
        // LVM2 names bytes and sectors as special units ("B ", "Se").
        'b' | 'B' => " B ",
        's' | 'S' => " Se",
        'E' => " EB",
        'P' => " PB",
        'T' => " TB",
        'G' => " GB",
        'M' => " MB",
        'K' => " kB",
        _ => return text,
    };
    format!("{}{long}", &text[..text.len() - 1])
}

fn alloc_name(p: Option<&AllocationPolicy>, default: &str) -> String {
    p.map_or(default.to_string(), |p| p.as_str().to_string())
}

/// Collected output lines, each printed with LVM2's two-space prefix.
#[derive(Default)]
struct Out(String);

impl Out {
    fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str("  ");
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }

    fn print(&self) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(self.0.as_bytes())
            .and_then(|_| stdout.flush());
    }
}

fn units_arg(u: &Option<String>) -> CmdResult<Units> {
    match u {
        Some(u) => Units::parse(u).map_err(CmdError::usage),
        None => Ok(Units::default()),
    }
}

/// A PV as the display commands walk them: in a VG (facts index, PV index) or an orphan.
#[derive(Clone, Copy)]
enum PvRef {
    InVg(usize, usize),
    Orphan(usize),
}

/// PVs in LVM2's processing order (VGs, then orphans), or the named ones in argument order.
fn pv_list(snap: &Snapshot, names: &[String], failed: &mut bool) -> Vec<PvRef> {
    let mut all: Vec<(usize, PvRef)> = Vec::new();
    for (v, vg) in snap.vgs.iter().enumerate() {
        for (p, d) in vg.pv_devices.iter().enumerate() {
            all.push((d.unwrap_or(usize::MAX), PvRef::InVg(v, p)));
        }
    }
    for &i in &snap.orphans {
        all.push((i, PvRef::Orphan(i)));
    }
    if names.is_empty() {
        return all.into_iter().map(|(_, r)| r).collect();
    }
    // Named PVs are shown in the usual order, not the arguments'.
    let mut chosen: Vec<usize> = Vec::new();
    for name in names {
        let wanted = super::context::canonical(std::path::Path::new(name));
        let found = snap.scan.pvs.iter().position(|p| {
            p.path == std::path::Path::new(name) || super::context::canonical(&p.path) == wanted
        });
        match found.filter(|i| all.iter().any(|(d, _)| d == i)) {
            Some(i) => chosen.push(i),
            None => {
                if std::path::Path::new(name).exists() {
                    eprintln!("  Failed to find physical volume \"{name}\".");
                } else {
                    eprintln!("  Cannot use {name}: device not found");
                }
                *failed = true;
            }
        }
    }
    all.into_iter()
        .filter(|(d, _)| chosen.contains(d))
        .map(|(_, r)| r)
        .collect()
}

#[derive(Debug, Parser)]
#[command(about = "Display various attributes of physical volume(s)")]
struct PvdisplayArgs {
    /// Colon-separated output
    #[arg(short = 'c', long = "colon")]
    colon: bool,
    /// Only the free capacity
    #[arg(short = 's', long = "short")]
    short: bool,
    /// Show the physical segments
    #[arg(short = 'm', long = "maps")]
    maps: bool,
    /// Units for sizes
    #[arg(long = "units", value_name = "UNITS")]
    units: Option<String>,
    /// Show only the PVs this selection picks (as `pvs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "PV")]
    names: Vec<String>,
}

pub fn pvdisplay(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvdisplayArgs>(argv)? else {
        return Ok(());
    };
    let units = units_arg(&args.units)?;
    let select = Select::parse(ReportKind::Pv, args.select.as_deref())?;
    if select.is_help() {
        return Ok(());
    }
    let ctx = Context::new(&args.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut failed = false;
    let mut out = Out::default();
    for r in pv_list(&snap, &args.names, &mut failed) {
        match r {
            PvRef::InVg(v, p) => {
                if select.picks(|s| s.pv_matches(&facts[v], p)) {
                    pv_in_vg(&mut out, &facts[v], p, &args, units);
                }
            }
            PvRef::Orphan(i) => {
                if select.picks(|s| s.orphan_pv_matches(&snap.devices[i])) {
                    orphan_pv(&mut out, &snap.devices[i], &args, units);
                }
            }
        }
    }
    out.print();
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

fn pv_in_vg(out: &mut Out, f: &VgFacts, p: usize, args: &PvdisplayArgs, units: Units) {
    let pv = &f.vg.pvs[p];
    let name = f.pv_name(p);
    let ext = f.extent_size();
    let count = u64::from(pv.pe_count);
    let alloc = f.pv_alloc(p);
    let free = count.saturating_sub(alloc);
    let allocatable = pv.status.iter().any(|s| s == "ALLOCATABLE");
    if args.short {
        out.line(format!(
            "Device \"{name}\" has a capacity of {}",
            display_size(free * ext, units)
        ));
        return;
    }
    if f.is_exported() {
        out.line(format!(
            "Physical volume \"{name}\" of volume group \"{}\" is exported",
            f.vg.name
        ));
    }
    let size = pv.dev_size.unwrap_or(0);
    if args.colon {
        let mut status = 0u64;
        if allocatable {
            status |= 0x8;
        }
        if f.is_exported() {
            status |= 0x2;
        }
        out.line(format!(
            "{name}:{}:{size}:-1:{status}:{}:-1:{}:{count}:{free}:{alloc}:{}",
            f.vg.name,
            status & 0x8,
            ext / 2,
            pv.id
        ));
        return;
    }
    let data = count * ext;
    let (pvsize, unusable) = if size > data + pv.pe_start {
        (size, size - data)
    } else {
        (data + pv.pe_start, data + pv.pe_start - size)
    };
    out.line("--- Physical volume ---");
    out.line(format!("PV Name               {name}"));
    out.line(format!(
        "VG Name               {}{}",
        f.vg.name,
        if f.is_exported() { " (exported)" } else { "" }
    ));
    if data > 0 {
        out.line(format!(
            "PV Size               {} / not usable {}",
            display_size(pvsize, units),
            display_size(unusable, units)
        ));
    } else {
        out.line(format!(
            "PV Size               {}",
            display_size(pvsize, units)
        ));
    }
    if count > 0 && allocatable {
        out.line(format!(
            "Allocatable           yes {}",
            if free == 0 { "(but full)" } else { "" }
        ));
    } else {
        out.line("Allocatable           NO");
    }
    out.line(format!(
        "PE Size               {}",
        display_size(ext, units)
    ));
    out.line(format!("Total PE              {count}"));
    out.line(format!("Free PE               {free}"));
    out.line(format!("Allocated PE          {alloc}"));
    out.line(format!("PV UUID               {}", pv.id));
    out.line(" ");
    if args.maps {
        out.line("--- Physical Segments ---");
        for seg in f.pv_segments(p) {
            out.line(format!(
                "Physical extent {} to {}:",
                seg.start,
                (seg.start + seg.len).wrapping_sub(1) as u32
            ));
            match seg.owner {
                Some((li, si)) => {
                    let lv = f.lv(li);
                    let s = &lv.segments[si];
                    out.line(format!("  Logical volume\t/dev/{}/{}", f.vg.name, lv.name));
                    out.line(format!(
                        "  Logical extents\t{} to {}",
                        s.start_extent,
                        (s.end_extent()).wrapping_sub(1) as u32
                    ));
                }
                None => out.line("  FREE"),
            }
        }
        out.line(" ");
    }
}

fn orphan_pv(out: &mut Out, d: &DeviceFacts, args: &PvdisplayArgs, units: Units) {
    let size = d.label_size;
    if args.short {
        out.line(format!(
            "Device \"{}\" has a capacity of {}",
            d.name,
            display_size(size, units)
        ));
        return;
    }
    out.line(format!(
        "\"{}\" is a new physical volume of \"{}\"",
        d.name,
        display_size(size, units)
    ));
    if args.colon {
        out.line(format!("{}::{size}:-1:0:0:-1:0:0:0:0:{}", d.name, d.pv_id));
        return;
    }
    out.line("--- NEW Physical volume ---");
    out.line(format!("PV Name               {}", d.name));
    out.line("VG Name               ");
    out.line(format!(
        "PV Size               {}",
        display_size(size, units)
    ));
    out.line("Allocatable           NO");
    out.line(format!("PE Size               {}", display_size(0, units)));
    out.line("Total PE              0");
    out.line("Free PE               0");
    out.line("Allocated PE          0");
    out.line(format!("PV UUID               {}", d.pv_id));
    out.line(" ");
    if args.maps {
        // An orphan has no extents: only the closing line of the (empty) map.
        out.line(" ");
    }
}

#[derive(Debug, Parser)]
#[command(about = "Display volume group information")]
struct VgdisplayArgs {
    /// Colon-separated output
    #[arg(short = 'c', long = "colon")]
    colon: bool,
    /// One line per VG
    #[arg(short = 's', long = "short")]
    short: bool,
    /// Only VGs with active LVs
    #[arg(short = 'A', long = "activevolumegroups")]
    active: bool,
    /// Units for sizes
    #[arg(long = "units", value_name = "UNITS")]
    units: Option<String>,
    /// Show only the VGs this selection picks (as `vgs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "VG")]
    names: Vec<String>,
}

/// (active, open) counts of a VG's visible LVs as LVM2's vgdisplay counts them: an LV is
/// active when its own device is in the kernel, open when that device is held open.
fn visible_lvs_in_kernel(f: &VgFacts) -> (usize, usize) {
    let mut active = 0;
    let mut open = 0;
    for (i, lv) in f.vg.lvs.iter().enumerate() {
        if !f.vg.is_lv_visible(lv) {
            continue;
        }
        let Some(k) = f.kernel_lv(i) else {
            continue;
        };
        if k.active {
            active += 1;
        }
        if k.own.as_ref().is_some_and(|o| o.open_count > 0) {
            open += 1;
        }
    }
    (active, open)
}

/// VGs by name in argument order (all when none), with LVM2's not-found messages.
fn vg_list(facts: &[VgFacts], names: &[String], failed: &mut bool) -> Vec<usize> {
    if names.is_empty() {
        return (0..facts.len()).collect();
    }
    let mut out: Vec<usize> = Vec::new();
    for name in names {
        let name = name.trim_start_matches("/dev/").trim_end_matches('/');
        match facts.iter().position(|f| f.vg.name == name) {
            Some(v) if !out.contains(&v) => out.push(v),
            Some(_) => {}
            None => {
                eprintln!("  Volume group \"{name}\" not found");
                eprintln!("  Cannot process volume group {name}");
                *failed = true;
            }
        }
    }
    out
}

pub fn vgdisplay(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgdisplayArgs>(argv)? else {
        return Ok(());
    };
    let units = units_arg(&args.units)?;
    let select = Select::parse(ReportKind::Vg, args.select.as_deref())?;
    if select.is_help() {
        return Ok(());
    }
    if args.active && !args.names.is_empty() {
        return Err(CmdError::usage(
            "Option -A is not allowed with volume group names: give either -A (every VG with active LVs) or the VG names.",
        ));
    }
    let ctx = Context::new(&args.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut failed = false;
    let mut out = Out::default();
    for v in vg_list(&facts, &args.names, &mut failed) {
        if !select.picks(|s| s.vg_matches(&facts[v])) {
            continue;
        }
        let f = &facts[v];
        // LVM2's lvs_in_vg_activated / lvs_in_vg_opened: visible LVs whose own device is in
        // the kernel, and those of them held open (none without device-mapper).
        let (active_lvs, open_lvs) = visible_lvs_in_kernel(f);
        if args.active && active_lvs == 0 {
            continue;
        }
        let ext = f.extent_size();
        let total = f.extent_count();
        let free = f.free_count();
        let alloc = total - free;
        let pv_count = f.vg.pvs.len() as u64;
        let active_pvs = pv_count - f.missing_pv_count();
        let read = f.vg.status.iter().any(|s| s == "READ");
        let write = f.is_writeable();
        if args.colon {
            let access = match (read, write) {
                (true, true) => "r/w",
                (true, false) => "r",
                (false, true) => "w",
                _ => "",
            };
            let mut status = 0u64;
            if read {
                status |= 0x100;
            }
            if write {
                status |= 0x200;
            }
            if f.is_resizeable() {
                status |= 0x4;
            }
            if f.is_exported() {
                status |= 0x2;
            }
            out.line(format!(
                "{}:{access}:{status}:-1:{}:{}:{open_lvs}:-1:{}:{pv_count}:{active_pvs}:{}:{}:{total}:{alloc}:{free}:{}",
                f.vg.name,
                f.vg.max_lv,
                f.lv_count(),
                f.vg.max_pv,
                total * (ext / 2),
                ext / 2,
                f.vg.id
            ));
            continue;
        }
        if args.short {
            out.line(format!(
                "\"{}\" {:<9} [{:<9} used / {} free]",
                f.vg.name,
                display_size(total * ext, units),
                display_size(alloc * ext, units),
                display_size(free * ext, units)
            ));
            continue;
        }
        out.line("--- Volume group ---");
        out.line(format!("VG Name               {}", f.vg.name));
        out.line(format!(
            "System ID             {}",
            f.vg.system_id.as_deref().unwrap_or("")
        ));
        out.line("Format                lvm2");
        out.line(format!("Metadata Areas        {}", f.mda_count()));
        out.line(format!("Metadata Sequence No  {}", f.vg.seqno));
        let access = match (read, write) {
            (true, true) => "read/write",
            (true, false) => "read",
            (false, true) => "write",
            _ => "error",
        };
        out.line(format!("VG Access             {access}"));
        out.line(format!(
            "VG Status             {}{}resizable",
            if f.is_exported() { "exported/" } else { "" },
            if f.is_resizeable() { "" } else { "NOT " }
        ));
        out.line(format!("MAX LV                {}", f.vg.max_lv));
        out.line(format!("Cur LV                {}", f.lv_count()));
        out.line(format!("Open LV               {open_lvs}"));
        out.line(format!("Max PV                {}", f.vg.max_pv));
        out.line(format!("Cur PV                {pv_count}"));
        out.line(format!("Act PV                {active_pvs}"));
        out.line(format!(
            "VG Size               {}",
            display_size(total * ext, units)
        ));
        out.line(format!(
            "PE Size               {}",
            display_size(ext, units)
        ));
        out.line(format!("Total PE              {total}"));
        out.line(format!(
            "Alloc PE / Size       {alloc} / {}",
            display_size(alloc * ext, units)
        ));
        out.line(format!(
            "Free  PE / Size       {free} / {}",
            display_size(free * ext, units)
        ));
        out.line(format!("VG UUID               {}", f.vg.id));
        out.line(" ");
        if args.common.verbose > 0 {
            // As LVM2: each visible LV in full, then each PV in short form.
            for i in f.lv_order() {
                if f.is_visible(i) {
                    lv_full(&mut out, f, i, units);
                }
            }
            out.line("--- Physical volumes ---");
            for p in 0..f.vg.pvs.len() {
                let pv = &f.vg.pvs[p];
                let count = u64::from(pv.pe_count);
                out.line(format!("PV Name               {}     ", f.pv_name(p)));
                out.line(format!("PV UUID               {}", pv.id));
                out.line(format!(
                    "PV Status             {}allocatable",
                    if pv.status.iter().any(|s| s == "ALLOCATABLE") {
                        ""
                    } else {
                        "NOT "
                    }
                ));
                out.line(format!(
                    "Total PE / Free PE    {count} / {}",
                    count.saturating_sub(f.pv_alloc(p))
                ));
                out.line(" ");
            }
        }
    }
    out.print();
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Display information about a logical volume")]
struct LvdisplayArgs {
    /// Also hidden LVs
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Colon-separated output
    #[arg(short = 'c', long = "colon")]
    colon: bool,
    /// Show the segments
    #[arg(short = 'm', long = "maps")]
    maps: bool,
    /// Units for sizes
    #[arg(long = "units", value_name = "UNITS")]
    units: Option<String>,
    /// Show only the LVs this selection picks (as `lvs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    #[arg(value_name = "VG|VG/LV")]
    names: Vec<String>,
}

/// LVs to show: (facts index, LV indexes) in LVM2's order, with LVM2's not-found messages.
fn lv_plan(
    facts: &[VgFacts],
    names: &[String],
    all: bool,
    failed: &mut bool,
) -> Vec<(usize, Vec<usize>)> {
    let mut plan: Vec<(usize, Option<Vec<String>>)> = Vec::new();
    if names.is_empty() {
        plan = (0..facts.len()).map(|v| (v, None)).collect();
    } else {
        let mut missing: Vec<String> = Vec::new();
        for arg in names {
            let a = arg.strip_prefix("/dev/").unwrap_or(arg);
            let (vg, lv) = match a.split_once('/') {
                Some((vg, lv)) if !lv.is_empty() => (vg, Some(lv)),
                Some((vg, _)) => (vg, None),
                None => (a, None),
            };
            let Some(v) = facts.iter().position(|f| f.vg.name == vg) else {
                if !missing.iter().any(|m| m == vg) {
                    missing.push(vg.to_string());
                }
                continue;
            };
            let entry = match plan.iter().position(|(p, _)| *p == v) {
                Some(e) => e,
                None => {
                    plan.push((v, Some(Vec::new())));
                    plan.len() - 1
                }
            };
            match (lv, &mut plan[entry].1) {
                (None, slot) => *slot = None,
                (Some(lv), Some(list)) => list.push(lv.to_string()),
                (Some(_), None) => {}
            }
        }
        for vg in missing {
            eprintln!("  Volume group \"{vg}\" not found");
            eprintln!("  Cannot process volume group {vg}");
            *failed = true;
        }
    }
    // As LVM2, LVs of an exported VG are not shown: silently unless the VG was named.
    plan.retain(|(v, _)| {
        let f = &facts[*v];
        if !f.is_exported() {
            return true;
        }
        if !names.is_empty() {
            eprintln!("  Volume group {} is exported", f.vg.name);
            *failed = true;
        }
        false
    });
    let mut out = Vec::new();
    for (v, named) in plan {
        let f = &facts[v];
        let mut lvs = Vec::new();
        for i in f.lv_order() {
            let take = match &named {
                Some(list) => list.iter().any(|l| *l == f.lv(i).name),
                None => all || f.is_visible(i),
            };
            if take && (all || f.is_visible(i) || named.is_some()) {
                lvs.push(i);
            }
        }
        if let Some(list) = &named {
            for lv in list {
                if f.lv_index(lv).is_none_or(|i| !f.is_reported(i)) {
                    eprintln!("  Failed to find logical volume \"{}/{lv}\"", f.vg.name);
                    *failed = true;
                }
            }
        }
        out.push((v, lvs));
    }
    out
}

pub fn lvdisplay(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvdisplayArgs>(argv)? else {
        return Ok(());
    };
    let units = units_arg(&args.units)?;
    let select = Select::parse(ReportKind::Lv, args.select.as_deref())?;
    if select.is_help() {
        return Ok(());
    }
    let ctx = Context::new(&args.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut failed = false;
    let mut out = Out::default();
    for (v, lvs) in lv_plan(&facts, &args.names, args.all, &mut failed) {
        let f = &facts[v];
        for i in lvs {
            // Hidden LVs are shown only with -a, even when named.
            if !args.all && !f.is_visible(i) {
                continue;
            }
            if !select.picks(|s| s.lv_matches(f, &f.lv(i).name)) {
                continue;
            }
            if args.colon {
                lv_colon(&mut out, f, i);
            } else {
                lv_full(&mut out, f, i, units);
                if args.maps {
                    lv_maps(&mut out, f, i, units);
                }
            }
        }
    }
    out.print();
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

fn lv_colon(out: &mut Out, f: &VgFacts, i: usize) {
    let lv = f.lv(i);
    let own = own_info(f, i);
    let mut access = 0;
    if lv.has_status("READ") {
        access |= 1;
    }
    if lv.has_status("WRITE") {
        access |= 2;
    }
    if own.as_ref().is_some_and(|k| k.read_only) {
        access |= 4;
    }
    let contiguous = matches!(
        lv.rare.allocation_policy,
        Some(AllocationPolicy::Contiguous)
    );
    // LVM2 prints its unsigned read-ahead with %d: `auto` is -1.
    let read_ahead = lv_read_ahead(lv.rare.read_ahead) as i32;
    let (active, open, major, minor) = match &own {
        Some(k) => (1, k.open_count, i64::from(k.major), i64::from(k.minor)),
        None => (0, 0, -1, -1),
    };
    out.line(format!(
        "/dev/{}/{}:{}:{access}:{active}:-1:{open}:{}:{}:-1:{}:{read_ahead}:{major}:{minor}",
        f.vg.name,
        lv.name,
        f.vg.name,
        f.lv_size(i),
        lv.extent_count(),
        if contiguous { 2 } else { 0 }
    ));
}

/// LVM2's lv->read_ahead: `auto` is DM_READ_AHEAD_AUTO (all ones), off is 0.
fn lv_read_ahead(r: Option<ReadAhead>) -> u32 {
    match r {
        None => u32::MAX,
        Some(ReadAhead::Disabled) => 0,
        Some(ReadAhead::Sectors(n)) => n,
    }
}

/// LVM2's lv_info of LV `i` without a layer: its own device, when device-mapper has it.
fn own_info(f: &VgFacts, i: usize) -> Option<KernelInfo> {
    f.kernel_lv(i).and_then(|k| k.own)
}

/// LVM2's lv_snapshot_percent of COW LV `c` when the snapshot counts as active (its device is
/// there and the kernel has not invalidated it).
fn snapshot_active(f: &VgFacts, c: usize) -> Option<i32> {
    let k = f.kernel_lv(c)?;
    k.own.as_ref()?;
    match &k.status {
        SegStatus::Snapshot(s) if !s.invalid => Some(f.kernel_percent(c, false)),
        _ => None,
    }
}

/// LVM2's raid_is_available: a RAID LV with missing legs is available while each level's
/// redundancy covers them (raid1: one leg left; raid4/5/6: up to their parity devices;
/// raid10: one leg per pair; raid0: none missing). Other LVs are always available.
fn raid_available(f: &VgFacts, i: usize) -> bool {
    let Some(SegmentKind::Raid(r)) = f.lv(i).segments.first().map(|s| &s.kind) else {
        return true;
    };
    let missing: Vec<bool> = r
        .images
        .iter()
        .map(|im| f.lv_index(&im.data).is_some_and(|d| f.is_partial(d)))
        .collect();
    let count = missing.iter().filter(|m| **m).count() as u32;
    match r.level {
        RaidLevel::Raid1 => count < r.images.len() as u32,
        RaidLevel::Raid10 | RaidLevel::Raid10Near => {
            missing.chunks(2).all(|pair| pair.iter().any(|m| !m))
        }
        level => count <= crate::alloc::raid_parity(level),
    }
}

fn percent(p: i32) -> String {
    let mut s = String::new();
    write_percent(&mut s, p);
    s
}

fn lv_full(out: &mut Out, f: &VgFacts, i: usize, units: Units) {
    let lv = f.lv(i);
    let vg = &f.vg.name;
    let kernel = f.kernel_lv(i);
    let own = kernel.as_ref().and_then(|k| k.own.clone());
    out.line("--- Logical volume ---");
    if f.is_visible(i) {
        if !f.is_thin_pool(i) {
            out.line(format!("LV Path                /dev/{vg}/{}", lv.name));
        }
        out.line(format!("LV Name                {}", lv.name));
    } else {
        out.line(format!("Internal LV Name       {}", lv.name));
    }
    out.line(format!("VG Name                {vg}"));
    out.line(format!("LV UUID                {}", lv.id));
    out.line(format!(
        "LV Write Access        {}",
        if lv.has_status("WRITE") && own.as_ref().is_some_and(|k| k.read_only) {
            "read/write (activated read only)"
        } else if lv.has_status("WRITE") {
            "read/write"
        } else {
            "read only"
        }
    ));
    let time = lv
        .creation_time
        .filter(|&t| t > 0)
        .map(format_time)
        .unwrap_or_default();
    out.line(format!(
        "LV Creation host, time {}, {time}",
        lv.creation_host.as_deref().unwrap_or("")
    ));
    let mut snapshot = None;
    if f.is_origin(i) {
        out.line("LV snapshot status     source of");
        for &c in f.cows(i) {
            let active = own.is_some() && snapshot_active(f, c).is_some();
            out.line(format!(
                "                       {} [{}]",
                f.lv(c).name,
                if active { "active" } else { "INACTIVE" }
            ));
        }
    } else if let Some((origin, sn)) = f.is_cow(i).then(|| f.snapshot_of(i)).flatten() {
        out.line(format!(
            "LV snapshot status     {} destination for {}",
            if snapshot_active(f, i).is_some() {
                "active"
            } else {
                "INACTIVE"
            },
            f.lv(origin).name
        ));
        snapshot = Some((origin, sn));
    }
    let status = kernel.as_ref().map(|k| &k.status);
    // LVM2's lv_thin_pool_status (the -tpool's) and lv_thin_status (only when active).
    let pool_usage = match status {
        Some(SegStatus::ThinPool(_)) if f.is_thin_pool(i) => {
            Some((f.kernel_percent(i, false), f.kernel_percent(i, true)))
        }
        _ => None,
    };
    let thin_usage = match status {
        Some(SegStatus::Thin(_)) if own.is_some() && f.is_thin_volume(i) => {
            Some(f.kernel_percent(i, false))
        }
        _ => None,
    };
    match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Thin(t)) => {
            out.line(format!("LV Pool name           {}", t.thin_pool));
            if let Some(o) = &t.origin {
                out.line(format!("LV Thin origin name    {o}"));
            }
            if let Some(o) = &t.external_origin {
                out.line(format!("LV External origin name {o}"));
            }
            if let Some(m) = &t.merge {
                out.line(format!("LV merging to          {m}"));
            }
        }
        Some(SegmentKind::ThinPool(p)) => {
            out.line(format!("LV Pool metadata       {}", p.metadata));
            out.line(format!("LV Pool data           {}", p.pool));
        }
        Some(SegmentKind::CachePool(p)) => {
            out.line(format!("LV Pool metadata       {}", p.metadata));
            out.line(format!("LV Pool data           {}", p.data));
        }
        _ => {}
    }
    if kernel.is_some() {
        match &own {
            Some(o) if o.suspended => out.line("LV Status              suspended"),
            _ => out.line(format!(
                "LV Status              {}available{}",
                if own.is_some() && raid_available(f, i) {
                    ""
                } else {
                    "NOT "
                },
                if f.is_partial(i) { " (partial)" } else { "" }
            )),
        }
    }
    if let Some(o) = &own {
        out.line(format!("# open                 {}", o.open_count));
    }
    let (size, le) = match snapshot {
        Some((origin, _)) => (f.lv_size(origin), f.lv(origin).extent_count()),
        None => (f.lv_size(i), lv.extent_count()),
    };
    out.line(format!(
        "LV Size                {}",
        display_size(size, units)
    ));
    if let Some((data, meta)) = pool_usage {
        out.line(format!("Allocated pool data    {}%", percent(data)));
        out.line(format!("Allocated metadata     {}%", percent(meta)));
    }
    if let Some(p) = thin_usage {
        out.line(format!("Mapped size            {}%", percent(p)));
    }
    out.line(format!("Current LE             {le}"));
    if let Some((_, sn)) = snapshot {
        out.line(format!(
            "COW-table size         {}",
            display_size(f.lv_size(i), units)
        ));
        out.line(format!("COW-table LE           {}", lv.extent_count()));
        if let Some(p) = snapshot_active(f, i) {
            out.line(format!("Allocated to snapshot  {}%", percent(p)));
        }
        out.line(format!(
            "Snapshot chunk size    {}",
            display_size(u64::from(sn.chunk_size), units)
        ));
    }
    // LVM2 counts raid1 and raid10 LVs as mirrored too (their areas are mirrored).
    let copies = match lv.segments.first().map(|s| &s.kind) {
        Some(SegmentKind::Mirror(m)) if f.is_mirrored(i) => Some(m.mirrors.len()),
        Some(SegmentKind::Raid(r))
            if matches!(
                r.level,
                RaidLevel::Raid1 | RaidLevel::Raid10 | RaidLevel::Raid10Near
            ) =>
        {
            Some(r.images.len())
        }
        _ => None,
    };
    if let Some(n) = copies {
        out.line(format!("Mirrored volumes       {n}"));
        if lv.has_status("CONVERTING") {
            out.line("LV type        Mirror undergoing conversion");
        }
    }
    out.line(format!("Segments               {}", lv.segments.len()));
    out.line(format!(
        "Allocation             {}",
        alloc_name(lv.rare.allocation_policy.as_ref(), "inherit")
    ));
    match lv.rare.read_ahead {
        None => out.line("Read ahead sectors     auto"),
        Some(ReadAhead::Disabled) => out.line("Read ahead sectors     0"),
        Some(ReadAhead::Sectors(n)) => out.line(format!("Read ahead sectors     {n}")),
    }
    if let Some(o) = &own {
        let current = o.read_ahead.unwrap_or(0);
        if u64::from(lv_read_ahead(lv.rare.read_ahead)) != current {
            out.line(format!("- currently set to     {current}"));
        }
    }
    if lv.has_status("FIXED_MINOR") {
        if let Some(major) = lv.rare.major.filter(|m| *m >= 0) {
            out.line(format!("Persistent major       {major}"));
        }
        out.line(format!(
            "Persistent minor       {}",
            lv.rare.minor.unwrap_or(-1)
        ));
    }
    if let Some(o) = &own {
        out.line(format!("Block device           {}:{}", o.major, o.minor));
    }
    out.line(" ");
}

/// `lvdisplay -m`: LVM2's segment maps, per segment type as LVM2's display of each type
/// prints it (stripes, mirror legs and log, RAID images and metadata, thin pool settings, thin
/// device ids, cache pool settings).
fn lv_maps(out: &mut Out, f: &VgFacts, i: usize, units: Units) {
    let lv = f.lv(i);
    out.line("--- Segments ---");
    for seg in &lv.segments {
        let kind = if f.is_thin_volume(i) {
            "Virtual"
        } else {
            "Logical"
        };
        out.line(format!(
            "{kind} extents {} to {}:",
            seg.start_extent,
            seg.end_extent().wrapping_sub(1) as u32
        ));
        out.line(format!(
            "  Type\t\t{}",
            crate::report::values::segtype_name(seg)
        ));
        // Types dmeventd can monitor: the state of monitoring for an LV in the kernel (oxlvm
        // registers none with dmeventd), nothing for an LV not in the kernel.
        if matches!(
            seg.kind,
            SegmentKind::Mirror(_)
                | SegmentKind::Raid(_)
                | SegmentKind::ThinPool(_)
                | SegmentKind::Snapshot(_)
        ) {
            let in_kernel = f.kernel_lv(i).is_some_and(|k| k.own.is_some() || k.active);
            let state = if in_kernel { "not monitored" } else { "" };
            out.line(format!("  Monitoring\t\t{state}"));
        }
        let area_len = match &seg.kind {
            SegmentKind::Raid(r) => raid_area_len(r, seg.extent_count),
            _ => crate::report::values::area_len(seg),
        };
        let stripe = |out: &mut Out, area: &Area, pre: &str| match area {
            Area::Pv { pv, start } => {
                let name = f.pv_index(pv).map(|p| f.pv_name(p));
                out.line(format!(
                    "{pre}Physical volume\t{}",
                    name.as_deref().unwrap_or("Missing")
                ));
                if name.is_some() {
                    out.line(format!(
                        "{pre}Physical extents\t{start} to {}",
                        (u64::from(*start) + area_len).wrapping_sub(1) as u32
                    ));
                }
            }
            Area::Lv { name, start } => {
                let found = f.lv_index(name).is_some();
                out.line(format!(
                    "{pre}Logical volume\t{}",
                    if found { name.as_str() } else { "Missing" }
                ));
                if found {
                    out.line(format!(
                        "{pre}Logical extents\t{start} to {}",
                        (u64::from(*start) + area_len).wrapping_sub(1) as u32
                    ));
                }
            }
        };
        match &seg.kind {
            SegmentKind::Striped(st) => {
                if st.stripes.len() == 1 {
                    stripe(out, &st.stripes[0], "  ");
                } else {
                    out.line(format!("  Stripes\t\t{}", st.stripes.len()));
                    out.line(format!(
                        "  Stripe size\t\t{}",
                        display_size(u64::from(st.stripe_size.unwrap_or(0)), units)
                    ));
                    for (n, area) in st.stripes.iter().enumerate() {
                        out.line(format!("  Stripe {n}:"));
                        stripe(out, area, "    ");
                    }
                }
                out.line(" ");
            }
            SegmentKind::Mirror(m) => {
                out.line(format!("  Mirrors\t\t{}", m.mirrors.len()));
                out.line(format!("  Mirror size\t\t{area_len}"));
                if let Some(log) = &m.mirror_log {
                    out.line(format!("  Mirror log volume\t{log}"));
                }
                if let Some(region) = m.region_size.filter(|r| *r > 0) {
                    out.line(format!(
                        "  Mirror region size\t{}",
                        display_size(u64::from(region), units)
                    ));
                }
                out.line("  Mirror original:");
                if let Some(first) = m.mirrors.first() {
                    stripe(out, first, "    ");
                }
                out.line("  Mirror destinations:");
                for area in m.mirrors.iter().skip(1) {
                    stripe(out, area, "    ");
                }
                out.line(" ");
            }
            SegmentKind::Raid(r) => {
                for (n, image) in r.images.iter().enumerate() {
                    out.line(format!("  Raid Data LV{n:2}"));
                    let area = Area::Lv {
                        name: image.data.clone(),
                        start: 0,
                    };
                    stripe(out, &area, "    ");
                }
                for (n, image) in r.images.iter().enumerate() {
                    if let Some(meta) = image.meta.as_deref().filter(|m| f.lv_index(m).is_some()) {
                        out.line(format!("  Raid Metadata LV{n:2}\t{meta}"));
                    }
                }
                out.line(" ");
            }
            SegmentKind::ThinPool(p) => {
                let thins = f
                    .vg
                    .lvs
                    .iter()
                    .flat_map(|l| &l.segments)
                    .filter(|s| matches!(&s.kind, SegmentKind::Thin(t) if t.thin_pool == lv.name))
                    .count();
                out.line(format!(
                    "  Chunk size\t\t{}",
                    display_size(u64::from(p.chunk_size), units)
                ));
                out.line(format!(
                    "  Discards\t\t{}",
                    p.discards.as_deref().unwrap_or("ignore")
                ));
                out.line(format!("  Thin count\t\t{thins}"));
                out.line(format!("  Transaction ID\t{}", p.transaction_id));
                out.line(format!(
                    "  Zero new blocks\t{}",
                    if p.zero_new_blocks { "yes" } else { "no" }
                ));
                out.line(" ");
            }
            SegmentKind::Thin(t) => {
                out.line(format!("  Device ID\t\t{}", t.device_id));
                out.line(" ");
            }
            SegmentKind::CachePool(p) => cache_settings(out, p.metadata_format, &p.settings, units),
            SegmentKind::Cache(c) => {
                let pool = f
                    .lv_index(&c.cache_pool)
                    .and_then(|p| f.lv(p).segments.first());
                match pool.map(|s| &s.kind) {
                    Some(SegmentKind::CachePool(p)) => {
                        cache_settings(out, p.metadata_format, &p.settings, units)
                    }
                    // A cache volume (cachevol): the settings are the cache segment's own.
                    _ => cache_settings(out, c.metadata_format, &c.settings, units),
                }
            }
            SegmentKind::Snapshot(_) | SegmentKind::Other(_) => {}
        }
    }
    out.line(" ");
}

/// The extents of each RAID image a RAID segment maps, as LVM2 counts them when it reads the
/// metadata: the segment's extents for raid1 and raid10, divided among the stripes for raid0,
/// and among the data stripes (rounded up) for the parity levels.
fn raid_area_len(r: &metadata_format::text::Raid, extents: u32) -> u64 {
    let images = r.images.len() as u64;
    let extents = u64::from(extents);
    let name = r.level.as_str();
    let parity = if name.starts_with("raid6") {
        2
    } else if name.starts_with("raid5") || name == "raid4" {
        1
    } else {
        0
    };
    if name.starts_with("raid0") {
        extents / images.max(1)
    } else if parity > 0 {
        extents.div_ceil(images.saturating_sub(parity).max(1))
    } else {
        extents
    }
}

/// LVM2's display of a cache pool's settings (a cached LV shows its pool's).
fn cache_settings(
    out: &mut Out,
    metadata_format: Option<u32>,
    settings: &metadata_format::text::CacheSettings,
    units: Units,
) {
    out.line(format!(
        "  Chunk size\t\t{}",
        display_size(u64::from(settings.chunk_size.unwrap_or(0)), units)
    ));
    if let Some(fmt) = metadata_format.filter(|f| *f > 0) {
        out.line(format!("  Metadata format\t{fmt}"));
    }
    if let Some(mode) = &settings.cache_mode {
        out.line(format!("  Mode\t\t{mode}"));
    }
    if let Some(policy) = &settings.policy {
        out.line(format!("  Policy\t\t{policy}"));
    }
    out.line(" ");
}

#[derive(Debug, Parser)]
#[command(about = "List all physical volumes")]
struct PvscanArgs {
    /// Only the device names
    #[arg(short = 's', long = "short")]
    short: bool,
    /// Only PVs in no VG
    #[arg(short = 'n', long = "novolumegroup")]
    novolumegroup: bool,
    /// Only PVs of exported VGs
    #[arg(short = 'e', long = "exported")]
    exported: bool,
    /// Show the PV UUIDs too
    #[arg(short = 'u', long = "uuid")]
    uuid: bool,
    /// Accepted for compatibility (autoactivation needs device-mapper)
    #[arg(long = "cache")]
    cache: bool,
    #[command(flatten)]
    common: CommonArgs,
}

pub fn pvscan(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvscanArgs>(argv)? else {
        return Ok(());
    };
    if args.novolumegroup && args.exported {
        return Err(CmdError::usage("Options -e and -n are incompatible"));
    }
    // LVM2's pvscan has no --units: sizes are human-readable.
    let units = Units::default();
    let ctx = Context::new(&args.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    // LVM2 sizes its columns by every name it knows, the orphan VG's own name included.
    let vg_len = facts
        .iter()
        .map(|f| f.vg.name.len())
        .chain(std::iter::once("#orphans_lvm2".len()))
        .max()
        .unwrap_or(0)
        + 2;
    let pv_len = snap
        .scan
        .pvs
        .iter()
        .map(|p| p.path.display().to_string().len())
        .max()
        .unwrap_or(0)
        + 2;
    let mut out = Out::default();
    let (mut found, mut new, mut total, mut size_new) = (0u64, 0u64, 0u64, 0u64);
    let mut failed = false;
    for r in pv_list(&snap, &[], &mut failed) {
        let (name, id, line_vg, exported, size, free, orphan) = match r {
            PvRef::InVg(v, p) => {
                let f = &facts[v];
                let ext = f.extent_size();
                let count = u64::from(f.vg.pvs[p].pe_count);
                (
                    f.pv_name(p),
                    f.vg.pvs[p].id,
                    f.vg.name.clone(),
                    f.is_exported(),
                    count * ext,
                    count.saturating_sub(f.pv_alloc(p)) * ext,
                    false,
                )
            }
            PvRef::Orphan(i) => {
                let d = &snap.devices[i];
                (
                    d.name.clone(),
                    d.pv_id,
                    String::new(),
                    false,
                    d.label_size,
                    0,
                    true,
                )
            }
        };
        if (args.exported && !exported) || (args.novolumegroup && !orphan) {
            continue;
        }
        found += 1;
        total += size;
        if orphan {
            new += 1;
            size_new += size;
        }
        if args.short {
            out.line(&name);
            continue;
        }
        let (shown, width) = if args.uuid {
            (
                format!("{name:<w$} with UUID {id}", w = pv_len - 2),
                pv_len + 50,
            )
        } else {
            (name, pv_len)
        };
        if orphan {
            out.line(format!(
                "PV {shown:<width$}    {:<vg_len$} lvm2 [{}]",
                " ",
                display_size(size, units)
            ));
        } else if exported {
            out.line(format!(
                "PV {shown:<width$}  is in exported VG {line_vg} [{} / {} free]",
                display_size(size, units),
                display_size(free, units)
            ));
        } else {
            out.line(format!(
                "PV {shown:<width$} VG {line_vg:<vg_len$} lvm2 [{} / {} free]",
                display_size(size, units),
                display_size(free, units)
            ));
        }
    }
    if found == 0 {
        out.line("No matching physical volumes found");
    } else {
        let mut s = String::new();
        let _ = write!(
            s,
            "Total: {found} [{}] / in use: {} [{}] / in no VG: {new} [{}]",
            display_size(total, units),
            found - new,
            display_size(total - size_new, units),
            display_size(size_new, units)
        );
        out.line(s);
    }
    out.print();
    if failed {
        return Err(CmdError::failed(""));
    }
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "Search for all volume groups")]
struct VgscanArgs {
    /// Accepted for compatibility (there is no separate cache to refresh)
    #[arg(long = "mknodes")]
    mknodes: bool,
    #[command(flatten)]
    common: CommonArgs,
}

pub fn vgscan(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgscanArgs>(argv)? else {
        return Ok(());
    };
    let ctx = Context::new(&args.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let mut out = Out::default();
    for vg in &snap.vgs {
        let exported = vg.metadata.vg.status.iter().any(|s| s == "EXPORTED");
        out.line(format!(
            "Found {}volume group \"{}\" using metadata type lvm2",
            if exported { "exported " } else { "" },
            vg.metadata.vg.name
        ));
    }
    out.print();
    Ok(())
}

#[derive(Debug, Parser)]
#[command(about = "List all logical volumes in all volume groups")]
struct LvscanArgs {
    /// Also hidden LVs
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[command(flatten)]
    common: CommonArgs,
}

pub fn lvscan(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<LvscanArgs>(argv)? else {
        return Ok(());
    };
    // LVM2's lvscan has no --units: sizes are human-readable.
    let units = Units::default();
    let ctx = Context::new(&args.common, argv)?;
    let snap = Snapshot::take(&ctx, None)?;
    let facts = snap.facts();
    let mut out = Out::default();
    // LVs of exported VGs are not listed, as LVM2.
    for f in facts.iter().filter(|f| !f.is_exported()) {
        for i in f.lv_order() {
            if !args.all && !f.is_visible(i) {
                continue;
            }
            let kind = if f.is_origin(i) {
                "Original"
            } else if f.is_cow(i) {
                "Snapshot"
            } else {
                "        "
            };
            let lv = f.lv(i);
            let active =
                own_info(f, i).is_some() && (!f.is_cow(i) || snapshot_active(f, i).is_some());
            out.line(format!(
                "{} {kind} '/dev/{}/{}' [{}] {}",
                if active { "ACTIVE  " } else { "inactive" },
                f.vg.name,
                lv.name,
                display_size(f.lv_size(i), units),
                alloc_name(lv.rare.allocation_policy.as_ref(), "inherit")
            ));
        }
    }
    out.print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_sizes_read_as_lvm2s() {
        let r = Units::default();
        // pvdisplay / vgdisplay lines of LVM2 2.03.16 on the compat VGs
        assert_eq!(display_size(64 * 2048, r), "64.00 MiB");
        assert_eq!(display_size(0, r), "0   ");
        assert_eq!(display_size(6_266_880, r), "<2.99 GiB");
        assert_eq!(display_size(8, r), "4.00 KiB");
        assert_eq!(
            display_size(2048, Units::parse("k").unwrap()),
            "1024.00 KiB"
        );
    }
}
