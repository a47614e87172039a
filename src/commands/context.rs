//! What every command shares: configuration, the device list, the scan, LVM2's locks, and the
//! one way metadata is written (archive -> commit protocol -> labels -> backup).

use super::shared::Shared;
use super::vg_plan::{missing_pv_ids, pv_used_extents, MISSING};
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
use metadata_format::text::{emit_ondisk, Id, Metadata, VolumeGroup};
use std::cell::RefCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub struct Context {
    pub config: Config,
    /// The command line as LVM2 records it in descriptions: `vgcreate vg0 /dev/sdb`.
    pub cmdline: String,
    pub test_mode: bool,
    /// False with `--driverloaded n`: metadata only, no device-mapper.
    pub driver_loaded: bool,
    pub verbose: u8,
    pub quiet: u8,
    pub host: HostInfo,
    /// `--devices`: when not empty, only these devices are used.
    restrict: Vec<PathBuf>,
    locker: Locker,
    writer: RefCell<Box<dyn DeviceWriter>>,
    /// lvmlockd (shared VGs) and system IDs: `commands::shared`.
    pub shared: Shared,
    /// The "NOT backed up" warning (lvm.conf `backup/backup = 0`) was given, or must not be:
    /// as LVM2, once per command.
    backup_noted: std::cell::Cell<bool>,
    /// The archive of the VG as read, rendered before a command changed that VG in place
    /// ([`Context::archive_ahead`]); the next commit writes it instead of rendering `old`.
    /// (VG name, seqno, text)
    archive_ahead: RefCell<Option<(String, u32, Vec<u8>)>>,
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
        let shared = Shared::new(&config, &cmdline);
        let (settings, warnings) = config.allocation_settings();
        crate::alloc::configure(settings);
        for w in warnings {
            eprintln!("  {w}");
        }
        Ok(Context {
            config,
            cmdline,
            test_mode: common.test,
            driver_loaded: !matches!(common.driverloaded, Some(crate::cli::YesNo::N)),
            verbose: common.verbose,
            quiet: common.quiet,
            host: HostInfo::current(),
            restrict: common.devices.iter().map(PathBuf::from).collect(),
            locker,
            backup_noted: std::cell::Cell::new(false),
            writer: RefCell::new(
                commit::CrashingWriter::from_env(DiskWriter::default())
                    .unwrap_or_else(|plain| Box::new(plain)),
            ),
            shared,
            archive_ahead: RefCell::new(None),
        })
    }

    /// The VG of `found` (as read) handed over to be changed in place, when the commit needs
    /// no more of the VG as read than its PVs, name and seqno: not with a lock type (lvmlockd's
    /// lease bookkeeping compares the LVs of both). Its archive is rendered first; `found`
    /// keeps everything but its LVs. None: the caller plans on a copy.
    pub fn take_vg_to_change(&self, found: &mut FoundVg) -> Option<VolumeGroup> {
        if found.metadata.vg.lock_type.is_some() {
            return None;
        }
        self.archive_ahead(&found.metadata);
        let old = &mut found.metadata.vg;
        let lvs = std::mem::take(&mut old.lvs);
        let mut vg = old.clone();
        vg.lvs = lvs;
        Some(vg)
    }

    /// Renders the archive of `old` (the VG as read) now, when archives are kept, for a
    /// command about to change that VG in place instead of planning on a copy: the commit
    /// then writes this text and needs no more of `old` than its PVs, name and seqno.
    pub fn archive_ahead(&self, old: &Metadata) {
        if self.config.archive_enabled() && !self.test_mode {
            let text = archive::archive_text(old, &self.host, &self.cmdline);
            *self.archive_ahead.borrow_mut() = Some((old.vg.name.clone(), old.vg.seqno, text));
        }
    }

    /// Prints a line on stdout unless `-q`.
    pub fn say(&self, line: impl AsRef<str>) {
        if self.quiet == 0 {
            println!("  {}", line.as_ref());
        }
    }

    /// With automatic backups switched off (`backup/backup = 0`) a metadata write warns that
    /// it is not backed up, once per command, as LVM2 (also in test mode, as LVM2).
    fn note_not_backed_up(&self) {
        if !self.config.backup_enabled() && !self.backup_noted.replace(true) {
            self.warn("WARNING: This metadata update is NOT backed up.");
        }
    }

    /// Commands whose writes LVM2 does not follow with a backup (vgcfgrestore) give no
    /// "NOT backed up" warning either.
    pub fn skip_backup_note(&self) {
        self.backup_noted.set(true);
    }

    pub fn warn(&self, line: impl AsRef<str>) {
        // One write per line (stderr is unbuffered: `eprintln!` made three).
        use std::io::Write;
        let line = format!("  {}\n", line.as_ref());
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    /// Block devices that may be PVs: sysfs, then lvm.conf's filters, then `--devices`.
    pub fn candidates(&self) -> CmdResult<Vec<Candidate>> {
        let filter = self.filter("devices/filter")?;
        let global = self.filter("devices/global_filter")?;
        let restrict: Vec<PathBuf> = self.restrict.iter().map(|p| canonical(p)).collect();
        Ok(
            list_block_devices(Path::new("/sys/class/block"), Path::new("/dev"), |path| {
                global.accepts(path) && filter.accepts(path)
            })
            .into_iter()
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

    /// The global lock: lvmlockd's (ex, with `use_lvmlockd`), then LVM2's file lock.
    pub fn lock_global(&self) -> CmdResult<LockGuard> {
        self.shared.lock_global(self, crate::lockd::Mode::Ex)?;
        self.locker
            .global(LockMode::Exclusive)
            .map_err(|e| CmdError::failed(format!("Cannot take the global lock: {e}")))
    }

    /// A VG's lock: lvmlockd's first (with `use_lvmlockd`; LVM2's order), then LVM2's file
    /// lock. Read the VG after this: a shared VG changed by another host is seen then.
    pub fn lock_vg(&self, name: &str, mode: LockMode) -> CmdResult<LockGuard> {
        // The lock file is named after the VG: a name no VG can have (too long for a file
        // name, a '/') is refused by the name rules before it reaches the file system.
        if name.len() > 200 || name.contains('/') || name.contains('\0') {
            crate::names::check_vg_name(name).map_err(CmdError::failed)?;
        }
        self.shared.lock_vg(self, name, mode)?;
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
        self.vet_vg(scan, &found)?;
        Ok(found)
    }

    /// What `load_vg` checks and reports of a VG found in `scan`: access (shared VGs, other
    /// hosts' system IDs), a text that contradicts itself (refused), missing PVs and stale
    /// copies (warned). For a command that already holds the VG, so it is not parsed again.
    pub fn vet_vg(&self, scan: &Scan, found: &FoundVg) -> CmdResult {
        let name = found.metadata.vg.name.as_str();
        self.check_vg_access(found)?;
        // As LVM2, a VG whose metadata contradicts itself is not worked on: planning over
        // overlapping extents or a reference loop would build on the damage.
        let problems = super::vg_check::inconsistencies(&found.metadata.vg);
        if let Some(first) = problems.first() {
            let more = match problems.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            return Err(CmdError::failed(format!(
                "VG {name} metadata (seqno {}) contradicts itself ({first}{more}); restore a good copy with vgcfgrestore {name}.",
                found.metadata.vg.seqno
            )));
        }
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
        Ok(())
    }

    /// Whether this command may use the VG: a shared VG needs lvmlockd (and its lock for
    /// changes), a VG with another host's system ID is refused (LVM2's messages, exit 5).
    pub fn check_vg_access(&self, found: &FoundVg) -> CmdResult {
        self.shared.check_access(self, &found.metadata.vg)
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
        self.commit_vg_with(scan, old, new, &PvEdits::default())
    }

    /// [`Context::commit_vg`] for a command that writes the VG more than once under one lock
    /// (the two commits of a thin pool transaction): `steps` says whether this write archives
    /// the VG as read (LVM2 archives once per command, before its first write) and writes the
    /// backup file (LVM2 writes it once, after the last). Returns what went to the disks, so
    /// the caller can carry its scan over to the next write without reading the disks again
    /// ([`Written::apply`]).
    pub fn commit_vg_steps(
        &self,
        scan: &Scan,
        old: Option<&FoundVg>,
        new: &mut Metadata,
        steps: CommitSteps,
    ) -> CmdResult<Written> {
        self.commit_vg_inner(scan, old, new, &PvEdits::default(), steps)
    }

    /// [`Context::commit_vg`] plus changes to the PVs' own headers that go with this write
    /// (`edits`; `scan` holds the PVs as edited). A write that keeps a missing PV in the VG is
    /// refused unless `edits.allow_missing_pvs` (LVM2's commands that handle missing PVs:
    /// vgextend, vgreduce --removemissing, vgchange --addtag/--deltag). As LVM2's vg_write, PVs
    /// without a device are then written with `device = "[unknown]"` and flag MISSING, a
    /// returned PV that holds no extents loses the flag, and with `metadata_copies` set the
    /// used metadata areas are switched on or off to that number.
    pub fn commit_vg_with(
        &self,
        scan: &Scan,
        old: Option<&FoundVg>,
        new: &mut Metadata,
        edits: &PvEdits,
    ) -> CmdResult {
        self.commit_vg_inner(scan, old, new, edits, CommitSteps::default())
            .map(|_| ())
    }

    fn commit_vg_inner(
        &self,
        scan: &Scan,
        old: Option<&FoundVg>,
        new: &mut Metadata,
        edits: &PvEdits,
        steps: CommitSteps,
    ) -> CmdResult<Written> {
        // An archive rendered ahead serves this commit only, and only for the VG it was
        // rendered from.
        let ahead = self
            .archive_ahead
            .borrow_mut()
            .take()
            .and_then(|(name, seqno, text)| {
                old.filter(|o| o.metadata.vg.name == name && o.metadata.vg.seqno == seqno)
                    .map(|_| text)
            });
        if let Some(old) = old.filter(|_| !edits.allow_missing_pvs) {
            let missing: Vec<String> = missing_pv_ids(old)
                .into_iter()
                .filter(|id| new.vg.pvs.iter().any(|p| p.id == *id))
                .map(|id| id.to_string())
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
        // Nothing that contradicts itself is written: the copies on disk stay as they are and
        // the user restores a good one (LVM2 refuses such a VG when it reads it).
        let problems = super::vg_check::inconsistencies(&new.vg);
        if let Some(first) = problems.first() {
            let more = match problems.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            return Err(CmdError::failed(format!(
                "Cannot write VG {}: its metadata contradicts itself ({first}{more}); restore a good copy with vgcfgrestore {}.",
                new.vg.name, new.vg.name
            )));
        }
        // Two devices with one PV UUID: which one a write would reach is a guess (LVM2 refuses
        // too: "Cannot update volume group with duplicate PV devices").
        let ids: Vec<Id> = new
            .vg
            .pvs
            .iter()
            .chain(old.iter().flat_map(|o| o.metadata.vg.pvs.iter()))
            .map(|p| p.id)
            .collect();
        if let Some((pi, other)) = scan
            .duplicates
            .iter()
            .find(|(pi, _)| ids.contains(&scan.pvs[*pi].id()))
        {
            return Err(CmdError::failed(format!(
                "Cannot update VG {} with duplicate PV devices: PV {} is on both {} and {}; detach or wipe one of them (or give the copy new UUIDs with vgimportclone).",
                new.vg.name,
                scan.pvs[*pi].id(),
                scan.pvs[*pi].path.display(),
                other.display()
            )));
        }
        // One above the VG as read (1 for a new VG); a caller may ask for more (vgcfgrestore:
        // above the restored file's and every copy on disk), never less.
        new.vg.seqno = new
            .vg
            .seqno
            .max(old.map_or(1, |o| o.metadata.vg.seqno.saturating_add(1)));
        let mut present: Vec<bool> = Vec::new();
        for i in 0..new.vg.pvs.len() {
            let id = new.vg.pvs[i].id;
            let found = scan.pv_index_by_id(&id);
            let used = pv_used_extents(&new.vg, &id);
            let pv = &mut new.vg.pvs[i];
            match found {
                Some(i) => {
                    pv.device = Some(scan.pvs[i].path.display().to_string());
                    if used == 0 {
                        pv.flags.retain(|f| f != MISSING);
                    }
                }
                None => {
                    pv.device = Some("[unknown]".to_string());
                    if !pv.flags.iter().any(|f| f == MISSING) {
                        pv.flags.push(MISSING.into());
                    }
                }
            }
            present.push(found.is_some());
        }
        new.header = archive::header_now(&self.host, format!("Write from {}.", self.cmdline));
        if self.test_mode && crate::lockd::vg_is_shared(&new.vg) {
            return Err(CmdError::failed(format!(
                "Test mode is not yet supported with lock type {}.",
                new.vg.lock_type.as_deref().unwrap_or("")
            )));
        }
        // Leases for new LVs of a shared VG go into the text (LVM2's vg_write); they are
        // freed again if this write does not happen.
        let leases = self
            .shared
            .before_write(self, old.map(|o| &o.metadata), new)?;
        let revert = |e: CmdError| {
            self.shared.revert_write(self, &new.vg, &leases);
            e
        };
        let mut text = if crate::lockd::flag_write_locked(&new.vg) {
            // As LVM2 writes a VG with a lock type or system ID: WRITE_LOCKED, not WRITE.
            let mut ondisk = new.clone();
            crate::lockd::export_write_locked(&mut ondisk.vg);
            emit_ondisk(&ondisk)
        } else {
            emit_ondisk(new)
        };
        text.push(0);

        let areas = area_plan(scan, &new.vg, edits);
        let targets: Vec<AreaTarget> = areas.iter().filter_map(AreaPlan::target).collect();
        let places: Vec<(usize, usize)> = areas
            .iter()
            .filter(|a| a.target().is_some())
            .map(|a| (a.pv, a.mda))
            .collect();
        commit::check_fits(&targets, text.len() as u64)
            .map_err(|e| CmdError::failed(format!("Cannot write VG {}: {e}", new.vg.name)))
            .map_err(revert)?;
        if !targets.iter().any(|t| !t.ignored) {
            return Err(revert(CmdError::failed(format!(
                "Cannot write VG {}: none of its PVs has a metadata area in use; add a PV with one (pvcreate --metadatacopies 1) or pvchange --metadataignore n.",
                new.vg.name
            ))));
        }
        if self.test_mode {
            self.note_not_backed_up();
            return Ok(Written::default());
        }
        if let Some(old) = old.filter(|_| steps.archive) {
            if self.config.archive_enabled() {
                let dir = self.config.archive_dir();
                let (min, days) = (self.config.retain_min(), self.config.retain_days());
                match ahead {
                    Some(text) => archive::archive_rendered(
                        &dir,
                        &old.metadata.vg.name,
                        &self.host,
                        &text,
                        min,
                        days,
                    ),
                    None => {
                        archive::archive(&dir, &old.metadata, &self.host, &self.cmdline, min, days)
                    }
                }
                .map_err(|e| {
                    CmdError::failed(format!(
                        "Cannot archive VG {} metadata in {}: {e}",
                        new.vg.name,
                        self.config.archive_dir().display()
                    ))
                })
                .map_err(revert)?;
            }
        }
        // Whether only the areas' headers and texts changed (no label, no released PV), so the
        // scan can follow in memory.
        let mut exact = edits.fresh_headers.is_empty()
            && edits.labels.is_empty()
            && edits.new_pvs.with_text.is_empty()
            && edits.new_pvs.with_precommit.is_empty();
        let mut committed_headers: Vec<MdaHeader> = Vec::new();
        let written = self.with_writer(|w| -> CmdResult {
            // Moved areas get their fresh headers first, so the text lands where the edited
            // labels (new UUID, size, area list) will point.
            for &(pi, mi) in &edits.fresh_headers {
                let pv = &scan.pvs[pi];
                if let Some(h) = pv.mdas.get(mi).and_then(|m| m.header.as_ref()) {
                    w.write_at(&pv.path, h.start, &h.to_bytes())
                        .and_then(|_| w.flush(&pv.path))
                        .map_err(|e| {
                            CmdError::failed(format!("Failed to write {}: {e}", pv.path.display()))
                        })?;
                }
            }
            let write_err = |e: commit::CommitError| {
                CmdError::failed(format!("Failed to write VG {}: {e}", new.vg.name))
            };
            let pre = commit::precommit_text_with(w, &targets, &text, &edits.new_pvs)
                .map_err(write_err)?;
            // Edited labels land between precommit and commit: a label and the texts that name
            // its PV cannot change in one write, and here a crash leaves them apart at one
            // write only (the first commit) instead of across the whole text write.
            for &pi in &edits.labels {
                write_label_in_vg(w, &scan.pvs[pi], true)?;
            }
            let renamed = old.is_some_and(|o| o.metadata.vg.name != new.vg.name);
            committed_headers = if renamed {
                commit::commit_text_staged(w, &pre).map_err(write_err)?
            } else {
                commit::commit_text(w, &pre).map_err(write_err)?
            };
            // Labels follow the committed text: a crash in between leaves a VG whose PV lacks
            // the flag, which the next write sets again.
            let new_ids: Vec<Id> = new.vg.pvs.iter().map(|p| p.id).collect();
            for (id, _) in new_ids.iter().zip(&present).filter(|(_, p)| **p) {
                if let Some(i) = scan.pv_index_by_id(id) {
                    if !edits.labels.contains(&i) {
                        exact &= scan.pvs[i].in_vg_flag();
                        set_in_vg_flag(w, &scan.pvs[i], true)?;
                    }
                }
            }
            if let Some(old) = old {
                for pv in &old.metadata.vg.pvs {
                    if new_ids.contains(&pv.id) {
                        continue;
                    }
                    if let Some(i) = scan.pv_index_by_id(&pv.id) {
                        exact = false;
                        release_pv(w, &scan.pvs[i])?;
                    }
                }
            }
            Ok(())
        });
        written.map_err(revert)?;
        // lvmlockd learns the new seqno; the leases of removed LVs are freed.
        self.shared.after_write(self, old.map(|o| &o.metadata), new);
        if !self.config.backup_enabled() {
            self.note_not_backed_up();
        } else if steps.backup {
            self.backup_vg(new);
            // A renamed VG's backup under its old name would describe a VG that is gone.
            if let Some(old) = old.filter(|o| o.metadata.vg.name != new.vg.name) {
                let _ = std::fs::remove_file(self.config.backup_dir().join(&old.metadata.vg.name));
            }
        }
        text.pop();
        let areas = if exact && committed_headers.len() == places.len() {
            places
                .into_iter()
                .zip(committed_headers)
                .map(|((pv, mda), header)| (pv, mda, header))
                .collect()
        } else {
            Vec::new()
        };
        let checksum = areas.first().map_or(0, |(_, _, h)| h.committed().checksum);
        Ok(Written {
            exact: exact && !areas.is_empty(),
            areas,
            vg_name: new.vg.name.clone(),
            vg_id: Some(new.vg.id),
            seqno: new.vg.seqno,
            checksum,
            text: std::sync::Arc::new(text),
        })
    }

    /// Writes the backup file of `md` (the VG as now on disk) when backups are on; a failure
    /// is a warning, as LVM2's.
    pub fn backup_vg(&self, md: &Metadata) {
        if !self.config.backup_enabled() || self.test_mode {
            return;
        }
        if let Err(e) = archive::backup(&self.config.backup_dir(), md, &self.host, &self.cmdline) {
            self.warn(format!(
                "WARNING: Backup of VG {} metadata failed: {e}",
                md.vg.name
            ));
        }
    }

    /// The backup file of VG `name` as the disks hold it now, for a command that failed
    /// after a write that left the backup to a later one (read again: which writes landed
    /// is not known here).
    pub fn backup_latest(&self, name: &str) {
        if !self.config.backup_enabled() || self.test_mode {
            return;
        }
        if let Ok(Some(found)) = self
            .scan()
            .map(|s| s.find_vg(name))
            .and_then(|f| f.map_err(CmdError::failed))
        {
            self.backup_vg(&found.metadata);
        }
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
        } else if !old.metadata.vg.lvs.is_empty() {
            // LVM2 removes the LVs first, in writes of their own, each followed by its backup.
            self.note_not_backed_up();
        }
        Ok(())
    }
}

/// Which of the steps around a VG write [`Context::commit_vg_steps`] takes.
#[derive(Debug, Clone, Copy)]
pub struct CommitSteps {
    /// Archive the VG as read before writing (when archiving is on).
    pub archive: bool,
    /// Write the backup file after writing (when backups are on).
    pub backup: bool,
}

impl Default for CommitSteps {
    fn default() -> CommitSteps {
        CommitSteps {
            archive: true,
            backup: true,
        }
    }
}

/// What one VG write put on the disks: each area's header as committed, and the text.
#[derive(Debug, Default, Clone)]
pub struct Written {
    /// Only area headers and texts changed (no label, no released PV): the scan can follow
    /// in memory. False in test mode (nothing was written).
    pub exact: bool,
    /// (pv index, area index in the scan, the header now on disk) of every area written.
    pub areas: Vec<(usize, usize, MdaHeader)>,
    pub vg_name: String,
    pub vg_id: Option<Id>,
    pub seqno: u32,
    pub checksum: u32,
    /// The text written, without its NUL.
    pub text: std::sync::Arc<Vec<u8>>,
}

impl Written {
    /// Brings `scan` and `found` (the scan the write was planned on and the VG as read from
    /// it) to what the disks now hold, as a new scan under the same lock would read them:
    /// each written area's header and committed text, no stale copy. `found.metadata` is the
    /// caller's to set to the metadata written.
    /// Returns false, changing nothing, when the write did more than that (labels, released
    /// PVs) or nothing; the caller then reads the disks again.
    pub fn apply(&self, scan: &mut Scan, found: &mut FoundVg) -> bool {
        if !self.exact
            || self
                .areas
                .iter()
                .any(|(pi, mi, _)| scan.pvs.get(*pi).is_none_or(|p| p.mdas.len() <= *mi))
        {
            return false;
        }
        let text = scan::CommittedText {
            vg_name: self.vg_name.clone(),
            vg_id: self.vg_id,
            seqno: self.seqno,
            checksum: self.checksum,
            text: std::sync::Arc::clone(&self.text),
        };
        for (pi, mi, header) in &self.areas {
            let area = &mut scan.pvs[*pi].mdas[*mi];
            area.header = Some(header.clone());
            area.text = (!header.is_ignored()).then(|| text.clone());
            area.problem = None;
            found.stale.retain(|s| s != &(*pi, *mi));
        }
        found.checksum = self.checksum;
        true
    }
}

/// What a VG write changes on its PVs besides the text (pvchange, pvresize). Indexes are into
/// the `Scan` passed with it, which holds the PVs as edited (new UUID, size, area list).
#[derive(Debug, Default, Clone)]
pub struct PvEdits {
    /// PVs whose edited label is written, with the in-VG flag, before the text.
    pub labels: Vec<usize>,
    /// Areas whose header in the scan is new (an area moved by pvresize): written as they are
    /// before the labels, then the text goes into them. (pv index, area index)
    pub fresh_headers: Vec<(usize, usize)>,
    /// Areas the command switches on or off: (pv index, area index, ignored after the write).
    pub ignore: Vec<(usize, usize, bool)>,
    /// The command may write a VG that keeps missing PVs (they are written flagged MISSING).
    pub allow_missing_pvs: bool,
    /// Devices this write makes PVs (vgcreate): their wipes and headers go out with the text,
    /// their labels with the precommit (`commit::RideAlong`). The scan holds them as planned.
    pub new_pvs: commit::RideAlong,
}

/// One metadata area of a VG write: its header to build on and whether it is ignored on disk
/// now and after the write.
struct AreaPlan {
    /// Its place in the scan: (pv index, area index).
    pv: usize,
    mda: usize,
    path: std::path::PathBuf,
    header: MdaHeader,
    ignored_now: bool,
    ignored_after: bool,
}

impl AreaPlan {
    /// The area gets the text unless it is ignored and stays so. An area being switched off
    /// still gets this text, flagged ignored, as LVM2 writes it.
    fn target(&self) -> Option<AreaTarget> {
        (!(self.ignored_now && self.ignored_after)).then(|| AreaTarget {
            path: self.path.clone(),
            header: self.header.clone(),
            ignored: self.ignored_after,
        })
    }
}

/// The metadata areas of the VG's PVs present in `scan`, in VG order, with the ignore
/// switches of `edits` applied and then LVM2's balancing to `metadata_copies` (when set, that
/// many areas in use: the first ones in VG order are switched on, the last ones off - LVM2
/// picks at random).
fn area_plan(scan: &Scan, vg: &VolumeGroup, edits: &PvEdits) -> Vec<AreaPlan> {
    let mut out = Vec::new();
    for pv in &vg.pvs {
        let Some(pi) = scan.pv_index_by_id(&pv.id) else {
            continue;
        };
        let spv = &scan.pvs[pi];
        for (mi, m) in spv.mdas.iter().enumerate() {
            let header = m
                .header
                .clone()
                .unwrap_or_else(|| MdaHeader::new(m.start, m.size, false));
            let ignored_now = header.is_ignored();
            let ignored_after = edits
                .ignore
                .iter()
                .find(|(p, a, _)| *p == pi && *a == mi)
                .map_or(ignored_now, |(_, _, ignored)| *ignored);
            out.push(AreaPlan {
                pv: pi,
                mda: mi,
                path: spv.path.clone(),
                header,
                ignored_now,
                ignored_after,
            });
        }
    }
    let used = out.iter().filter(|a| !a.ignored_after).count();
    match vg.metadata_copies.map(|c| c as usize) {
        None | Some(0) => {
            // Unmanaged: LVM2 only makes sure one area is in use.
            if used == 0 {
                if let Some(a) = out.first_mut() {
                    a.ignored_after = false;
                }
            }
        }
        Some(want) if want > used => {
            for a in out.iter_mut().filter(|a| a.ignored_after).take(want - used) {
                a.ignored_after = false;
            }
        }
        Some(want) => {
            for a in out
                .iter_mut()
                .rev()
                .filter(|a| !a.ignored_after)
                .take(used - want)
            {
                a.ignored_after = true;
            }
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
    write_label_in_vg(w, pv, in_vg)
}

/// Writes the PV's label as it is in `pv`, with the in-VG flag set to `in_vg`.
pub fn write_label_in_vg(w: &mut dyn DeviceWriter, pv: &scan::ScannedPv, in_vg: bool) -> CmdResult {
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
pub fn release_pv(w: &mut dyn DeviceWriter, pv: &scan::ScannedPv) -> CmdResult {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::devices::Candidate;

    /// LVM2's three-PV VG `vgdemo` copied into a temporary directory, as scan candidates.
    fn vgdemo(dir: &Path) -> Vec<Candidate> {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lvm2-2.03.16/guest");
        (0..3)
            .map(|i| {
                let name = format!("vgdemo_pv{i}_final.img");
                let path = dir.join(&name);
                std::fs::copy(from.join(&name), &path).unwrap();
                Candidate {
                    name,
                    path,
                    size_bytes: 0,
                }
            })
            .collect()
    }

    /// What a scan holds of every area: header, committed text (name, seqno, checksum,
    /// bytes) and problem.
    type AreaView = (
        Option<MdaHeader>,
        Option<(String, u32, u32, Vec<u8>)>,
        Option<String>,
    );

    fn areas(scan: &Scan) -> Vec<AreaView> {
        scan.pvs
            .iter()
            .flat_map(|p| &p.mdas)
            .map(|m| {
                let text = m
                    .text
                    .as_ref()
                    .map(|t| (t.vg_name.clone(), t.seqno, t.checksum, t.text.to_vec()));
                (m.header.clone(), text, m.problem.clone())
            })
            .collect()
    }

    /// Two writes in a row under one lock, the second planned on the scan the first one
    /// carried over in memory (as a thin pool transaction's two commits): after each, the
    /// carried scan and VG are exactly what a new scan of the disks reads.
    #[test]
    fn scan_carried_over_a_commit_equals_a_new_scan() {
        let tmp = tempfile::tempdir().unwrap();
        let cands = vgdemo(tmp.path());
        let common = CommonArgs {
            config: vec!["backup { backup = 0 archive = 0 }".into()],
            ..CommonArgs::default()
        };
        let ctx = Context::new(&common, &[OsString::from("lvchange")]).unwrap();
        let mut scan = scan::scan(&cands);
        let mut found = scan.find_vg("vgdemo").unwrap().unwrap();
        let seqno = found.metadata.vg.seqno;
        for (round, steps) in [
            CommitSteps {
                archive: true,
                backup: false,
            },
            CommitSteps {
                archive: false,
                backup: true,
            },
        ]
        .into_iter()
        .enumerate()
        {
            let mut md = found.metadata.clone();
            md.vg.tags.push(format!("round{round}"));
            let written = ctx
                .commit_vg_steps(&scan, Some(&found), &mut md, steps)
                .unwrap();
            found.metadata = md;
            assert!(written.apply(&mut scan, &mut found), "round {round}");
            let fresh = scan::scan(&cands);
            let refound = fresh.find_vg("vgdemo").unwrap().unwrap();
            assert_eq!(areas(&scan), areas(&fresh), "round {round}");
            assert_eq!(refound.metadata.vg, found.metadata.vg, "round {round}");
            assert_eq!(refound.metadata.vg.seqno, seqno + 1 + round as u32);
            assert_eq!(refound.checksum, found.checksum);
            assert_eq!(refound.pv_devices, found.pv_devices);
            assert_eq!(refound.stale, found.stale);
            assert!(fresh.warnings.is_empty(), "{:?}", fresh.warnings);
        }
    }

    /// A write that changes a PV label (a PV without the in-VG flag gets it) is not carried
    /// over: the caller reads the disks again.
    #[test]
    fn a_write_that_changes_a_label_is_not_carried_over() {
        let tmp = tempfile::tempdir().unwrap();
        let cands = vgdemo(tmp.path());
        let common = CommonArgs {
            config: vec!["backup { backup = 0 archive = 0 }".into()],
            ..CommonArgs::default()
        };
        let ctx = Context::new(&common, &[OsString::from("lvchange")]).unwrap();
        let mut scan = scan::scan(&cands);
        let mut found = scan.find_vg("vgdemo").unwrap().unwrap();
        // As if the first PV's label lacked the flag: the commit writes it.
        let ext = scan.pvs[0].label.pv_header.extension.clone().unwrap();
        scan.pvs[0].label.pv_header.extension =
            Some(PvHeaderExtension::current(false, ext.bootloader_areas));
        let before = areas(&scan);
        let mut md = found.metadata.clone();
        let written = ctx
            .commit_vg_steps(&scan, Some(&found), &mut md, CommitSteps::default())
            .unwrap();
        assert!(!written.exact);
        assert!(!written.apply(&mut scan, &mut found));
        assert_eq!(areas(&scan), before, "nothing changed in the scan");
    }
}
