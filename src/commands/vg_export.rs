//! vgexport and vgimport: the EXPORTED status of a VG (and of each of its PVs) that tells
//! hosts to keep their hands off while its disks move to another machine. LVM2 clears the
//! VG's system ID on export and sets this host's on import (none here: oxlvm has no system ID).

use super::context::{Context, PvEdits};
use super::select_objects::Select;
use super::vg_args::{active_lvs, for_each_vg, is_exported, refuse_exported, vg_arg, EXPORTED};
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::report::ReportKind;
use crate::store::lock::LockMode;
use crate::store::scan::Scan;
use clap::{ArgAction, Parser};
use metadata_format::text::VolumeGroup;
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(about = "Unregister volume group(s) from the system")]
struct VgexportArgs {
    /// Export every VG
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Only the VGs this selection picks (as `vgs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    /// Output format of the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// VGs to export
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

#[derive(Debug, Parser)]
#[command(about = "Register exported volume group with system")]
struct VgimportArgs {
    /// Import every exported VG
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Import even a VG with missing PVs
    #[arg(short = 'f', long = "force", action = ArgAction::Count)]
    force: u8,
    /// Only the VGs this selection picks (as `vgs -S`; `-S help` lists fields)
    #[arg(short = 'S', long = "select", value_name = "STRING")]
    select: Option<String>,
    /// Output format of the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// VGs to import
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

/// LVM2's rules for naming VGs: names, -a alone, or -S (with or without names). A bad
/// selection fails here, before anything is read.
fn which_vgs(all: bool, select: &Option<String>, vgs: &[String], usage: &str) -> CmdResult<Select> {
    let selection = Select::parse(ReportKind::Vg, select.as_deref())?;
    if vgs.is_empty() && !all && select.is_none() {
        return Err(CmdError::usage(usage.to_string()));
    }
    if all && !vgs.is_empty() {
        return Err(CmdError::usage(
            "No arguments permitted when using -a for all.",
        ));
    }
    Ok(selection)
}

/// The VGs `-S` picks among `names` (all of them without one).
fn selected(ctx: &Context, scan: &Scan, names: Vec<String>, sel: &Select) -> Vec<String> {
    match sel {
        Select::Some(sel) => names
            .into_iter()
            .filter(|n| super::vg_change::vg_selected(ctx, scan, n, sel))
            .collect(),
        _ => names,
    }
}

/// Sets or clears EXPORTED on the VG and on each of its PVs, where LVM2 writes it (first
/// among the VG's status words, after ALLOCATABLE among a PV's).
pub fn set_exported(vg: &mut VolumeGroup, exported: bool) {
    vg.status.retain(|s| s != EXPORTED);
    if exported {
        vg.status.insert(0, EXPORTED.into());
    }
    for pv in &mut vg.pvs {
        pv.status.retain(|s| s != EXPORTED);
        if exported {
            let at = pv
                .status
                .iter()
                .position(|s| s == "ALLOCATABLE")
                .map_or(0, |i| i + 1);
            pv.status.insert(at, EXPORTED.into());
        }
    }
}

pub fn vgexport(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgexportArgs>(argv)? else {
        return Ok(());
    };
    let sel = which_vgs(
        args.all,
        &args.select,
        &args.vgs,
        "Please supply volume groups or use --select for selection or use -a for all.",
    )?;
    if sel.is_help() {
        return Ok(());
    }
    let ctx = Context::new(&args.common, argv)?;
    let _global = ctx.lock_global()?;
    let scan = ctx.scan()?;
    let names: Vec<String> = if args.all || args.vgs.is_empty() {
        // As LVM2: -a (or -S alone) goes over every VG and skips the exported ones quietly.
        scan.vg_names()
            .into_iter()
            .filter(|n| {
                scan.find_vg(n)
                    .ok()
                    .flatten()
                    .is_some_and(|vg| !is_exported(&vg))
            })
            .collect()
    } else {
        args.vgs.iter().map(|a| vg_arg(a).to_string()).collect()
    };
    let names = selected(&ctx, &scan, names, &sel);
    for_each_vg(&names, |name| {
        let _lock = ctx.lock_vg(name, LockMode::Exclusive)?;
        let scan = ctx.scan()?;
        let found = ctx.load_vg(&scan, name)?;
        refuse_exported(&found)?;
        if !active_lvs(&ctx, &found.metadata.vg).is_empty() {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" has active logical volumes; deactivate them first (vgchange -an {name})."
            )));
        }
        // A shared VG: no LV may be active on another host (each LV's lock ex and back).
        super::shared::lock_each_lv_for_export(&ctx, &found.metadata.vg)?;
        let mut metadata = found.metadata.clone();
        set_exported(&mut metadata.vg, true);
        metadata.vg.system_id = None;
        ctx.commit_vg(&scan, Some(&found), &mut metadata)?;
        ctx.say(format!("Volume group \"{name}\" successfully exported"));
        Ok(())
    })
}

pub fn vgimport(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgimportArgs>(argv)? else {
        return Ok(());
    };
    let sel = which_vgs(
        args.all,
        &args.select,
        &args.vgs,
        "Please supply volume groups or -S for selection or use -a for all.",
    )?;
    if sel.is_help() {
        return Ok(());
    }
    let ctx = Context::new(&args.common, argv)?;
    if args.force > 0 {
        ctx.warn("WARNING: Volume groups with missing PVs will be imported with --force.");
    }
    let _global = ctx.lock_global()?;
    let scan = ctx.scan()?;
    let names: Vec<String> = if args.all || args.vgs.is_empty() {
        // As LVM2: -a (or -S alone) tries every VG, and one that is not exported is an error.
        scan.vg_names()
    } else {
        args.vgs.iter().map(|a| vg_arg(a).to_string()).collect()
    };
    let names = selected(&ctx, &scan, names, &sel);
    for_each_vg(&names, |name| {
        let _lock = ctx.lock_vg(name, LockMode::Exclusive)?;
        let scan = ctx.scan()?;
        let found = ctx.load_vg(&scan, name)?;
        if !is_exported(&found) {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" is not exported"
            )));
        }
        if found.is_partial() && args.force == 0 {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" is partially missing; reconnect its PVs, or import it with --force and repair it (vgreduce --removemissing)."
            )));
        }
        let mut metadata = found.metadata.clone();
        set_exported(&mut metadata.vg, false);
        let edits = PvEdits {
            allow_missing_pvs: args.force > 0,
            ..PvEdits::default()
        };
        ctx.commit_vg_with(&scan, Some(&found), &mut metadata, &edits)?;
        ctx.say(format!("Volume group \"{name}\" successfully imported"));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::parse_metadata;

    #[test]
    fn exported_words_sit_where_lvm2_writes_them() {
        let text = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgmda2.vg"
        ))
        .unwrap();
        let mut vg = parse_metadata(&text).unwrap().vg;
        let before = vg.clone();
        set_exported(&mut vg, true);
        assert_eq!(vg.status, ["EXPORTED", "RESIZEABLE", "READ", "WRITE"]);
        assert_eq!(vg.pvs[0].status, ["ALLOCATABLE", "EXPORTED"]);
        set_exported(&mut vg, true);
        assert_eq!(vg.status.iter().filter(|s| *s == "EXPORTED").count(), 1);
        set_exported(&mut vg, false);
        assert_eq!(vg, before);
    }
}
