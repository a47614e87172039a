//! What every command shares: configuration, the device list, the scan, LVM2's locks, and the
//! one way metadata is written (archive -> commit protocol -> labels -> backup).

use crate::cli::CommonArgs;
use crate::config::Config;
use crate::error::{CmdError, CmdResult};
use crate::host::HostInfo;
use crate::store::archive;
use crate::store::commit::{self, AreaTarget, DeviceWriter, DiskWriter};
use crate::store::devices::{list_block_devices, Candidate, Filter};
use crate::store::lock::{LockGuard, LockMode, Locker, ORPHANS};
use crate::store::scan::{self, FoundVg, Scan};
use metadata_format::header::{MdaHeader, PvHeaderExtension};
use metadata_format::text::{emit_ondisk, Id, Metadata};
use std::cell::RefCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub struct Context {
    pub config: Config,
    /// The command line as LVM2 records it in descriptions: `vgcreate vg0 /dev/sdb`.
    pub cmdline: String,
    pub test_mode: bool,
    pub verbose: u8,
    pub quiet: u8,
    pub host: HostInfo,
    /// `--devices`: when not empty, only these devices are used.
    restrict: Vec<PathBuf>,
    locker: Locker,
    writer: RefCell<Box<dyn DeviceWriter>>,
}

impl Context {
    pub fn new(common: &CommonArgs, argv: &[OsString]) -> CmdResult<Context> {
        let config = Config::load(&common.config).map_err(CmdError::usage)?;
        let cmdline = argv
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let a = a.to_string_lossy();
                if i == 0 {
                    Path::new(a.as_ref())
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    a.into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let locker = Locker::new(config.locking_dir());
        if common.test {
            eprintln!(
                "  TEST MODE: Metadata will NOT be updated and volumes will not be (de)activated."
            );
        }
        Ok(Context {
            config,
            cmdline,
            test_mode: common.test,
            verbose: common.verbose,
            quiet: common.quiet,
            host: HostInfo::current(),
            restrict: common.devices.iter().map(PathBuf::from).collect(),
            locker,
            writer: RefCell::new(Box::new(DiskWriter::default())),
        })
    }

    /// Prints a line on stdout unless `-q`.
    pub fn say(&self, line: impl AsRef<str>) {
        if self.quiet == 0 {
            println!("  {}", line.as_ref());
        }
    }

    pub fn warn(&self, line: impl AsRef<str>) {
        eprintln!("  {}", line.as_ref());
    }

    /// Block devices that may be PVs: sysfs, then lvm.conf's filters, then `--devices`.
    pub fn candidates(&self) -> CmdResult<Vec<Candidate>> {
        let filter = self.filter("devices/filter")?;
        let global = self.filter("devices/global_filter")?;
        let restrict: Vec<PathBuf> = self.restrict.iter().map(|p| canonical(p)).collect();
        Ok(
            list_block_devices(Path::new("/sys/class/block"), Path::new("/dev"))
                .into_iter()
                .filter(|c| global.accepts(&c.path) && filter.accepts(&c.path))
                .filter(|c| restrict.is_empty() || restrict.contains(&canonical(&c.path)))
                .collect(),
        )
    }

    fn filter(&self, key: &str) -> CmdResult<Filter> {
        let entries = self.config.get_str_list(key).unwrap_or_default();
        Filter::parse(&entries).map_err(|e| CmdError::failed(format!("{e} (in {key})")))
    }

    pub fn scan(&self) -> CmdResult<Scan> {
        let found = scan::scan(&self.candidates()?);
        if self.verbose > 0 {
            for w in &found.warnings {
                self.warn(w);
            }
        }
        Ok(found)
    }

    /// The candidate a command-line device argument names, or LVM2's "No device found" error.
    pub fn resolve_device(&self, arg: &str, candidates: &[Candidate]) -> CmdResult<Candidate> {
        let wanted = canonical(Path::new(arg));
        if let Some(c) = candidates.iter().find(|c| canonical(&c.path) == wanted) {
            return Ok(c.clone());
        }
        if !Path::new(arg).exists() {
            return Err(CmdError::failed(format!(
                "No device found for {arg}; check the path (e.g. with lsblk)."
            )));
        }
        Err(CmdError::failed(format!(
            "Cannot use {arg}: device is not a usable block device or is rejected by a filter (devices/filter, devices/global_filter, --devices)."
        )))
    }

    pub fn lock_global(&self) -> CmdResult<LockGuard> {
        self.locker
            .global(LockMode::Exclusive)
            .map_err(|e| CmdError::failed(format!("Cannot take the global lock: {e}")))
    }

    pub fn lock_vg(&self, name: &str, mode: LockMode) -> CmdResult<LockGuard> {
        self.locker
            .vg(name, mode)
            .map_err(|e| CmdError::failed(format!("Cannot lock VG {name}: {e}")))
    }

    pub fn lock_orphans(&self) -> CmdResult<LockGuard> {
        self.lock_vg(ORPHANS, LockMode::Exclusive)
    }

    /// VG `name` from `scan`, or LVM2's not-found failure (exit 5). Copies that are older or
    /// damaged, and PVs that are missing, are reported as LVM2 reports them; the next write
    /// repairs the copies.
    pub fn load_vg(&self, scan: &Scan, name: &str) -> CmdResult<FoundVg> {
        let found = scan
            .find_vg(name)
            .map_err(CmdError::failed)?
            .ok_or_else(|| CmdError::failed(format!("Volume group \"{name}\" not found")))?;
        for pv in found.missing_pvs() {
            let hint = pv.device.as_deref().unwrap_or("unknown device");
            self.warn(format!(
                "WARNING: VG {name} is missing PV {} (last written to {hint}).",
                pv.id
            ));
        }
        for (pi, mi) in &found.stale {
            let pv = &scan.pvs[*pi];
            let area = &pv.mdas[*mi];
            let what = match (&area.text, &area.problem) {
                (Some(t), _) if t.vg_name == name => format!("an older copy (seqno {})", t.seqno),
                (_, Some(p)) => p.clone(),
                _ => "no copy".to_string(),
            };
            self.warn(format!(
                "WARNING: {} holds {what} of VG {name} metadata (seqno {} is current); the next change repairs it.",
                pv.path.display(),
                found.metadata.vg.seqno
            ));
        }
        Ok(found)
    }

    /// Runs `f` with the device writer (tests may swap it).
    pub fn with_writer<T>(&self, f: impl FnOnce(&mut dyn DeviceWriter) -> T) -> T {
        let mut w = self.writer.borrow_mut();
        f(w.as_mut())
    }

    /// Writes `new` as the next version of its VG. `old` is the VG as read (None when creating
    /// it). PVs of `new` get the text in every used metadata area and the in-VG label flag; PVs
    /// of `old` that left get their areas cleared and the flag dropped. Archive before, backup
    /// after, as LVM2.
    pub fn commit_vg(&self, scan: &Scan, old: Option<&FoundVg>, new: &mut Metadata) -> CmdResult {
        if let Some(old) = old {
            let missing: Vec<String> = old
                .missing_pvs()
                .filter(|m| new.vg.pvs.iter().any(|p| p.id == m.id))
                .map(|m| m.id.to_string())
                .collect();
            if !missing.is_empty() {
                return Err(CmdError::failed(format!(
                    "Cannot change VG {} while PV {} is missing; reconnect it, or run vgreduce --removemissing {}.",
                    new.vg.name,
                    missing.join(", "),
                    new.vg.name
                )));
            }
        }
        new.vg.seqno = old.map(|o| o.metadata.vg.seqno + 1).unwrap_or(1);
        for pv in &mut new.vg.pvs {
            if let Some(i) = scan.pv_index_by_id(&pv.id) {
                pv.device = Some(scan.pvs[i].path.display().to_string());
            }
        }
        new.header = archive::header_now(&self.host, format!("Write from {}.", self.cmdline));
        let mut text = emit_ondisk(new);
        text.push(0);

        let targets = area_targets(scan, new.vg.pvs.iter().map(|p| p.id));
        commit::check_fits(&targets, text.len() as u64)
            .map_err(|e| CmdError::failed(format!("Cannot write VG {}: {e}", new.vg.name)))?;
        if targets.is_empty() {
            return Err(CmdError::failed(format!(
                "Cannot write VG {}: none of its PVs has a metadata area; add a PV with one (pvcreate --metadatacopies 1).",
                new.vg.name
            )));
        }
        if self.test_mode {
            return Ok(());
        }
        if let Some(old) = old {
            if self.config.archive_enabled() {
                archive::archive(
                    &self.config.archive_dir(),
                    &old.metadata,
                    &self.host,
                    &self.cmdline,
                    self.config.retain_min(),
                    self.config.retain_days(),
                )
                .map_err(|e| {
                    CmdError::failed(format!(
                        "Cannot archive VG {} metadata in {}: {e}",
                        new.vg.name,
                        self.config.archive_dir().display()
                    ))
                })?;
            }
        }
        self.with_writer(|w| -> CmdResult {
            commit::write_text(w, &targets, &text).map_err(|e| {
                CmdError::failed(format!("Failed to write VG {}: {e}", new.vg.name))
            })?;
            // Labels follow the committed text: a crash in between leaves a VG whose PV lacks
            // the flag, which the next write sets again.
            let new_ids: Vec<Id> = new.vg.pvs.iter().map(|p| p.id).collect();
            for id in &new_ids {
                if let Some(i) = scan.pv_index_by_id(id) {
                    set_in_vg_flag(w, &scan.pvs[i], true)?;
                }
            }
            if let Some(old) = old {
                for pv in &old.metadata.vg.pvs {
                    if new_ids.contains(&pv.id) {
                        continue;
                    }
                    if let Some(i) = scan.pv_index_by_id(&pv.id) {
                        release_pv(w, &scan.pvs[i])?;
                    }
                }
            }
            Ok(())
        })?;
        if self.config.backup_enabled() {
            if let Err(e) =
                archive::backup(&self.config.backup_dir(), new, &self.host, &self.cmdline)
            {
                self.warn(format!(
                    "WARNING: Backup of VG {} metadata failed: {e}",
                    new.vg.name
                ));
            }
        }
        Ok(())
    }

    /// Removes a VG from its PVs: every area's slots cleared, every label's in-VG flag dropped.
    pub fn remove_vg(&self, scan: &Scan, old: &FoundVg) -> CmdResult {
        if self.test_mode {
            return Ok(());
        }
        if self.config.archive_enabled() {
            let _ = archive::archive(
                &self.config.archive_dir(),
                &old.metadata,
                &self.host,
                &self.cmdline,
                self.config.retain_min(),
                self.config.retain_days(),
            );
        }
        self.with_writer(|w| -> CmdResult {
            for i in old.pv_devices.iter().flatten() {
                release_pv(w, &scan.pvs[*i])?;
            }
            Ok(())
        })?;
        if self.config.backup_enabled() {
            let _ = std::fs::remove_file(self.config.backup_dir().join(&old.metadata.vg.name));
        }
        Ok(())
    }
}

/// The used metadata areas of the PVs `ids` (present in `scan`), with the header to build on:
/// the one on disk, or a fresh one where the header on disk is damaged.
pub fn area_targets(scan: &Scan, ids: impl Iterator<Item = Id>) -> Vec<AreaTarget> {
    let mut out = Vec::new();
    for id in ids {
        let Some(i) = scan.pv_index_by_id(&id) else {
            continue;
        };
        let pv = &scan.pvs[i];
        for m in &pv.mdas {
            let header = m
                .header
                .clone()
                .unwrap_or_else(|| MdaHeader::new(m.start, m.size, false));
            if header.is_ignored() {
                continue;
            }
            out.push(AreaTarget {
                path: pv.path.clone(),
                header,
                ignored: false,
            });
        }
    }
    out
}

fn commit_err(e: commit::CommitError) -> CmdError {
    CmdError::failed(e.to_string())
}

fn set_in_vg_flag(w: &mut dyn DeviceWriter, pv: &scan::ScannedPv, in_vg: bool) -> CmdResult {
    if pv.in_vg_flag() == in_vg {
        return Ok(());
    }
    let mut label = pv.label.clone();
    let boot = label
        .pv_header
        .extension
        .as_ref()
        .map(|e| e.bootloader_areas.clone())
        .unwrap_or_default();
    label.pv_header.extension = Some(PvHeaderExtension::current(in_vg, boot));
    commit::write_label(w, &pv.path, &label.sealed()).map_err(commit_err)
}

/// Makes a PV an orphan again: areas cleared, in-VG flag dropped.
fn release_pv(w: &mut dyn DeviceWriter, pv: &scan::ScannedPv) -> CmdResult {
    for m in &pv.mdas {
        if let Some(h) = &m.header {
            commit::clear_area(w, &pv.path, h).map_err(commit_err)?;
        }
    }
    set_in_vg_flag(w, pv, false)
}

/// A path with symlinks resolved (`/dev/disk/by-id/...` -> `/dev/sdb`), or as given.
pub fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
