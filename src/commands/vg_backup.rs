//! vgcfgbackup and vgcfgrestore: VG metadata to and from LVM2's backup files (the form
//! `/etc/lvm/backup/<vg>` and the archives use), listing archives as LVM2 does, and the checks a
//! restore needs before it writes: the file is whole and names this VG, every PV it lists is
//! here, in no other VG, and laid out as the file says.

use super::context::{Context, PvEdits};
use super::pv::owning_vg;
use super::vg_args::{active_lvs, for_each_vg, vg_arg, vg_names_or_all};
use super::vg_check::inconsistencies;
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::host::HostInfo;
use crate::names::check_vg_name;
use crate::store::archive::{self, write_file_atomically};
use crate::store::lock::LockMode;
use crate::store::scan::{FoundVg, Scan};
use clap::{ArgAction, Parser};
use metadata_format::header::{PvLayoutOptions, PvUuid};
use metadata_format::text::{ctime_text, parse_metadata, Id, Metadata, SegmentKind};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The flag LVM2 writes on a PV that had no device when the text was written.
const MISSING: &str = "MISSING";

/// Reads and parses a backup or archive file. Every problem is one line naming the file.
pub fn read_backup_file(path: &Path) -> CmdResult<Metadata> {
    let bytes = std::fs::read(path).map_err(|e| {
        CmdError::failed(format!(
            "Cannot read backup file {}: {e}; give a file written by vgcfgbackup or an archive (vgcfgrestore --list VG).",
            path.display()
        ))
    })?;
    let metadata = parse_metadata(&bytes).map_err(|e| {
        CmdError::failed(format!(
            "Backup file {} is damaged ({e}); pick another archive (vgcfgrestore --list VG).",
            path.display()
        ))
    })?;
    // As LVM2's vg_validate before a write: a text that contradicts itself is not restored.
    if let Some(problem) = inconsistencies(&metadata.vg).first() {
        return Err(CmdError::failed(format!(
            "Backup file {} is inconsistent ({problem}); pick another archive (vgcfgrestore --list VG).",
            path.display()
        )));
    }
    Ok(metadata)
}

/// pvcreate `--uuid U --restorefile FILE`: the PV gets the layout the VG in `file` expects of
/// it - its first extent (pe_start), bootloader area, and, unless `--metadatasize` was given,
/// a first metadata area that fills the room before pe_start; the extent size and count keep
/// a second metadata area clear of the extents. Errors are command-line errors, as LVM2's.
pub fn restore_layout(
    opts: &mut PvLayoutOptions,
    file: &str,
    uuid: &PvUuid,
    metadatasize_given: bool,
) -> CmdResult {
    let metadata =
        read_backup_file(Path::new(file)).map_err(|e| CmdError::usage(e.message().to_string()))?;
    let pv = Id::from_bytes(*uuid.as_bytes())
        .and_then(|id| metadata.vg.pv(&id))
        .ok_or_else(|| {
            CmdError::usage(format!(
                "Can't find uuid {} in backup file {file}; give the id of one of its PVs.",
                uuid.dashed()
            ))
        })?;
    opts.pe_start_sectors = Some(pv.pe_start);
    opts.bootloader_area_start_sectors = pv.ba_start;
    if opts.bootloader_area_sectors == 0 {
        opts.bootloader_area_sectors = pv.ba_size.unwrap_or(0);
    }
    opts.extent_size_sectors = u64::from(metadata.vg.extent_size);
    opts.extent_count = u64::from(pv.pe_count);
    if !metadatasize_given {
        // A maximum: the layout shrinks it to what fits before pe_start.
        opts.metadata_size_sectors = Some(pv.pe_start);
    }
    let align = opts.data_alignment_sectors.unwrap_or(0);
    let offset = opts.data_alignment_offset_sectors.unwrap_or(0);
    if align + offset != 0 {
        let at = if align != 0 {
            pv.pe_start % align
        } else {
            pv.pe_start
        };
        if at != offset {
            eprintln!(
                "  WARNING: Ignoring data alignment of {} sectors incompatible with restored pe_start value of {} sectors.",
                align + offset,
                pv.pe_start
            );
            opts.data_alignment_sectors = None;
            opts.data_alignment_offset_sectors = None;
        }
    }
    Ok(())
}

/// The metadata as a backup records it now: PVs with their current device path, PVs without
/// a device as `[unknown]` and flagged MISSING, as LVM2's vgcfgbackup writes them.
fn with_current_devices(found: &FoundVg, scan: &Scan) -> Metadata {
    let mut m = found.metadata.clone();
    for (pv, dev) in m.vg.pvs.iter_mut().zip(&found.pv_devices) {
        match dev {
            Some(i) => pv.device = Some(scan.pvs[*i].path.display().to_string()),
            None => {
                pv.device = Some("[unknown]".to_string());
                if !pv.flags.iter().any(|f| f == MISSING) {
                    pv.flags.push(MISSING.into());
                }
            }
        }
    }
    m
}

fn has_unknown_segments(m: &Metadata) -> bool {
    m.vg.lvs
        .iter()
        .flat_map(|lv| &lv.segments)
        .any(|s| matches!(s.kind, SegmentKind::Other(_)))
}

/// `-f` names a file per VG with `%s` standing for the VG name (and `%%` for `%`), as LVM2's
/// printf-style template.
fn expand_template(template: &str, vg: &str) -> String {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.peek() {
                Some('s') => {
                    chars.next();
                    out.push_str(vg);
                    continue;
                }
                Some('%') => {
                    chars.next();
                    out.push('%');
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Parser)]
#[command(about = "Backup volume group configuration(s)")]
struct VgcfgbackupArgs {
    /// Write the backup to this file instead of the backup directory; %s stands for the VG name
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<String>,
    /// Accepted for compatibility: VGs owned by other hosts are read as any other
    #[arg(long = "foreign")]
    foreign: bool,
    /// Accepted for compatibility
    #[arg(long = "ignorelockingfailure")]
    ignorelockingfailure: bool,
    /// Read metadata without taking locks (accepted; oxlvm still takes read locks)
    #[arg(long = "readonly")]
    readonly: bool,
    /// Accepted for compatibility: VGs with missing PVs are backed up with -f
    #[arg(short = 'P', long = "partial")]
    partial: bool,
    /// Output format of the log report (accepted for compatibility)
    #[arg(long = "reportformat", value_name = "FORMAT")]
    reportformat: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// VGs to back up (default: all)
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgcfgbackup(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgcfgbackupArgs>(argv)? else {
        return Ok(());
    };
    let ctx = Context::new(&args.common, argv)?;
    let names = vg_names_or_all(&args.vgs, &ctx.scan()?);
    let mut last_file: Option<PathBuf> = None;
    for_each_vg(&names, |name| {
        let _lock = ctx.lock_vg(name, LockMode::Shared)?;
        let scan = ctx.scan()?;
        let found = ctx.load_vg(&scan, name)?;
        let metadata = with_current_devices(&found, &scan);
        match &args.file {
            Some(template) => {
                let path = PathBuf::from(expand_template(template, name));
                if last_file.as_ref() == Some(&path) {
                    return Err(CmdError::failed(
                        "VGs must be backed up into different files. Use %s in filename for VG name.",
                    ));
                }
                last_file = Some(path.clone());
                if !ctx.test_mode {
                    let text = archive::backup_text(&metadata, &ctx.host, ctx.cmdline.clone());
                    write_file_atomically(&path, &text).map_err(|e| {
                        CmdError::failed(format!(
                            "Cannot write backup of VG {name} to {}: {e}",
                            path.display()
                        ))
                    })?;
                }
            }
            None => {
                if found.is_partial() {
                    return Err(CmdError::failed(
                        "No backup taken: specify filename with -f to backup with missing PVs.",
                    ));
                }
                if has_unknown_segments(&metadata) {
                    return Err(CmdError::failed(
                        "No backup taken: specify filename with -f to backup with unknown segments.",
                    ));
                }
                // As LVM2: written even when lvm.conf switches automatic backups off.
                let dir = ctx.config.backup_dir();
                if !ctx.test_mode {
                    archive::backup(&dir, &metadata, &ctx.host, &ctx.cmdline).map_err(|e| {
                        CmdError::failed(format!(
                            "Cannot write backup of VG {name} in {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
            }
        }
        ctx.say(format!("Volume group \"{name}\" successfully backed up."));
        Ok(())
    })
}

#[derive(Debug, Parser)]
#[command(about = "Restore volume group configuration")]
struct VgcfgrestoreArgs {
    /// Restore from this file (default: the VG's file in the backup directory)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<String>,
    /// List the VG's archive and backup files (or describe the file given with -f)
    #[arg(short = 'l', long = "list")]
    list: bool,
    /// Restore even a VG with thin pools (their kernel state is not restored)
    #[arg(long = "force", action = ArgAction::Count)]
    force: u8,
    /// Metadata type: only lvm2
    #[arg(short = 'M', long = "metadatatype", value_name = "TYPE")]
    metadatatype: Option<String>,
    /// Answer yes to every question
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// VG to restore (or list)
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgcfgrestore(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<VgcfgrestoreArgs>(argv)? else {
        return Ok(());
    };
    if let Some(t) = args.metadatatype.as_deref().filter(|t| *t != "lvm2") {
        return Err(CmdError::usage(format!(
            "Metadata type {t} is not supported; only lvm2 is."
        )));
    }
    let vg_name = match args.vgs.as_slice() {
        [one] => Some(vg_arg(one).to_string()),
        [] if args.list && args.file.is_some() => None,
        [] => return Err(CmdError::usage(
            "Please specify a *single* volume group to restore (or --list VG, or --list -f FILE).",
        )),
        _ => {
            return Err(CmdError::usage(
                "Please specify a *single* volume group to restore.",
            ))
        }
    };
    if let Some(name) = &vg_name {
        check_vg_name(name).map_err(CmdError::usage)?;
    }
    let ctx = Context::new(&args.common, argv)?;
    if args.list {
        return match (&args.file, &vg_name) {
            (Some(file), _) => list_file(&ctx, Path::new(file)),
            (None, Some(name)) => list_vg(&ctx, name),
            (None, None) => Err(CmdError::usage("Give the VG whose backups to list.")),
        };
    }
    let name = vg_name.unwrap_or_default();
    let file = args
        .file
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.config.backup_dir().join(&name));
    let _global = ctx.lock_global()?;
    let _lock = ctx.lock_vg(&name, LockMode::Exclusive)?;
    let _orphans = ctx.lock_orphans()?;
    restore(&ctx, &name, &file, args.force > 0, args.yes)?;
    ctx.say(format!("Restored volume group {name}."));
    Ok(())
}

/// Checks everything a restore of `file` as VG `name` needs, then writes it through the one
/// commit path: the VG now on disk (if any) is archived first, its PVs that the file does not
/// list are released, and the seqno ends above every copy on disk and above the file's.
fn restore(ctx: &Context, name: &str, file: &Path, force: bool, yes: bool) -> CmdResult {
    let mut metadata = read_backup_file(file)?;
    if metadata.vg.name != name {
        return Err(CmdError::failed(format!(
            "'{}' does not contain volume group '{name}' (it holds {}); give the VG name the file holds.",
            file.display(),
            metadata.vg.name
        )));
    }
    let thin = metadata.vg.lvs.iter().any(|lv| {
        lv.segments
            .iter()
            .any(|s| matches!(s.kind, SegmentKind::Thin(_) | SegmentKind::ThinPool(_)))
    });
    if thin {
        if !force {
            return Err(CmdError::failed(format!(
                "Consider using option --force to restore Volume Group {name} with thin volumes."
            )));
        }
        ctx.warn(format!(
            "WARNING: Forced restore of Volume Group {name} with thin volumes."
        ));
    }

    let scan = ctx.scan()?;
    let missing: Vec<String> = metadata
        .vg
        .pvs
        .iter()
        .filter(|pv| scan.pv_index_by_id(&pv.id).is_none())
        .map(|pv| {
            format!(
                "{} last on {}",
                pv.id,
                pv.device.as_deref().unwrap_or("an unknown device")
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(CmdError::failed(format!(
            "Cannot restore Volume Group {name} with {} PVs marked as missing ({}); reconnect them, or recreate them with pvcreate --uuid ID --restorefile {}.",
            missing.len(),
            missing.join(", "),
            file.display()
        )));
    }
    let extent = u64::from(metadata.vg.extent_size);
    for pv in &metadata.vg.pvs {
        let Some(i) = scan.pv_index_by_id(&pv.id) else {
            continue;
        };
        let spv = &scan.pvs[i];
        let path = spv.path.display();
        if let Some(owner) = owning_vg(&scan, &pv.id).filter(|o| o != name) {
            return Err(CmdError::failed(format!(
                "Cannot restore Volume Group {name}: PV {path} belongs to volume group {owner}; remove it there first (vgreduce {owner} {path})."
            )));
        }
        let label_pe_start = spv.label.pv_header.pe_start().map(|b| b / 512);
        if label_pe_start.is_some_and(|s| s != pv.pe_start) {
            return Err(CmdError::failed(format!(
                "Cannot restore Volume Group {name}: PV {path} has its first extent at sector {}, the file says {}; recreate it with pvcreate --uuid {} --restorefile {}.",
                label_pe_start.unwrap_or(0),
                pv.pe_start,
                pv.id,
                file.display()
            )));
        }
        let needed = pv.pe_start + u64::from(pv.pe_count) * extent;
        if needed > spv.dev_size / 512 {
            return Err(CmdError::failed(format!(
                "Cannot restore Volume Group {name}: PV {path} has {} sectors, the file needs {needed}; restore onto a device at least that big.",
                spv.dev_size / 512
            )));
        }
    }

    // The VG of this name on disk now, if its metadata can be read at all: it is archived,
    // and its PVs that the file does not list are released.
    let old = scan.find_vg(name).ok().flatten();
    // LVM2 asks before restoring under active LVs; without a terminal to ask, -y decides.
    let active = old
        .as_ref()
        .map(|o| active_lvs(ctx, &o.metadata.vg))
        .unwrap_or_default();
    if !active.is_empty() && !yes {
        return Err(CmdError::failed(format!(
            "Volume group {name} has {} active volume(s) ({}); restoring may leave the kernel out of step with the metadata: deactivate them (vgchange -an {name}) or add -y.",
            active.len(),
            active.join(", ")
        )));
    }
    let highest_on_disk = scan
        .pvs
        .iter()
        .flat_map(|p| &p.mdas)
        .filter_map(|m| m.text.as_ref())
        .filter(|t| t.vg_name == name)
        .map(|t| t.seqno)
        .max()
        .unwrap_or(0);
    // LVM2 writes the file's seqno + 1; going above every copy on disk too makes sure the
    // restored text is the one every reader picks.
    metadata.vg.seqno = metadata.vg.seqno.max(highest_on_disk).saturating_add(1);
    // Every PV the file lists is here (checked above); a PV the VG on disk still flags
    // MISSING is what this restore repairs, so the commit does not refuse it.
    let edits = PvEdits {
        allow_missing_pvs: true,
        ..PvEdits::default()
    };
    // LVM2's vgcfgrestore writes no backup afterwards and says nothing of it.
    ctx.skip_backup_note();
    ctx.commit_vg_with(&scan, old.as_ref(), &mut metadata, &edits)
}

/// `--list VG`: the VG's archives, oldest first, then its backup, in LVM2's layout. As LVM2,
/// an archive directory that cannot be read fails the command after the backup is listed.
fn list_vg(ctx: &Context, name: &str) -> CmdResult {
    let dir = ctx.config.archive_dir();
    let readable = std::fs::read_dir(&dir).is_ok();
    if readable {
        let archives = archive::list_archives(&dir, name);
        if archives.is_empty() {
            ctx.say(format!("No archives found in {}.", dir.display()));
        }
        for (_, path) in &archives {
            print_entry(&ctx.host, path);
        }
    }
    let backup = ctx.config.backup_dir().join(name);
    if backup.exists() {
        print_entry(&ctx.host, &backup);
    }
    if !readable {
        return Err(CmdError::failed(format!(
            "Couldn't scan the archive directory ({}).",
            dir.display()
        )));
    }
    Ok(())
}

/// `--list -f FILE`: one file described.
fn list_file(ctx: &Context, path: &Path) -> CmdResult {
    if !path.exists() {
        return Err(CmdError::failed(format!(
            "Archive file {} not found.",
            path.display()
        )));
    }
    if !print_entry(&ctx.host, path) {
        return Err(CmdError::failed(format!(
            "Unable to read archive file {}.",
            path.display()
        )));
    }
    Ok(())
}

/// Prints one file's entry (File, VG name, Description, Backup Time) as LVM2 does; a file that
/// does not parse gets LVM2's one-line error after its File line. False when unreadable.
/// Output goes out in one write whose failure (a closed pipe) is ignored, as LVM2's stdio.
fn print_entry(host: &HostInfo, path: &Path) -> bool {
    use std::io::Write;
    let mut out = format!("   \n  File:\t\t{}\n", path.display());
    let parsed = std::fs::read(path)
        .ok()
        .and_then(|b| parse_metadata(&b).ok());
    if let Some(m) = &parsed {
        let when = m
            .header
            .creation_time
            .map_or(0, |t| i64::try_from(t).unwrap_or(0));
        out.push_str(&format!("  VG name:    \t{}\n", m.vg.name));
        out.push_str(&format!(
            "  Description:\t{}\n",
            m.header
                .description
                .as_deref()
                .unwrap_or("<No description>")
        ));
        // LVM2 prints ctime(3), whose text ends in a newline, then its own.
        out.push_str(&format!(
            "  Backup Time:\t{}\n\n",
            ctime_text(when, host.utc_offset)
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush());
    if parsed.is_none() {
        eprintln!("  Unable to read archive file.");
    }
    parsed.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_as_printf_with_one_string() {
        assert_eq!(expand_template("/b/%s.vg", "vg0"), "/b/vg0.vg");
        assert_eq!(expand_template("/b/x.vg", "vg0"), "/b/x.vg");
        assert_eq!(expand_template("/b/100%%-%s", "v"), "/b/100%-v");
        assert_eq!(expand_template("/b/%d", "v"), "/b/%d");
    }

    #[test]
    fn damaged_files_are_refused_with_their_name() {
        let dir = std::env::temp_dir().join(format!("oxlvm-vgbackup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        let truncated = dir.join("truncated.vg");
        std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
        let err = read_backup_file(&truncated).unwrap_err();
        assert_eq!(err.exit_code(), 5);
        assert!(err.message().contains("truncated.vg"), "{err}");
        let syntax = dir.join("syntax.vg");
        let text = String::from_utf8(good.clone())
            .unwrap()
            .replace("seqno = 14", "seqno == 14");
        std::fs::write(&syntax, text).unwrap();
        assert!(read_backup_file(&syntax).is_err());
        assert!(read_backup_file(&dir.join("absent.vg")).is_err());
        let whole = dir.join("whole.vg");
        std::fs::write(&whole, &good).unwrap();
        assert_eq!(read_backup_file(&whole).unwrap().vg.seqno, 14);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
