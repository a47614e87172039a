//! Shared VGs for the commands: what LVM2's `lib/locking/lvmlockd.c` does around each request
//! (retries, which failures stop a command, the messages) and where the commands call it -
//! the global lock, the VG lock taken before the VG is read, the access check after, LV locks
//! around activation, leases for new LVs and the seqno update at every write, `vgcreate
//! --shared`, `vgchange --lockstart/--lockstop/--locktype`, vgremove of a shared VG - plus
//! system ID ownership (lvmsystemid(7), the simple case).
//!
//! Without `global/use_lvmlockd = 1` nothing here talks to a daemon: local VGs work as before
//! and a shared VG is refused with LVM2's message (exit 5).

use super::activate::ActivationChange;
use super::context::Context;
use super::lv_activate::{ActivateOptions, Activation};
use super::lv_plan::{extend_plain, hide, new_lv};
use crate::alloc::{self, Policy, Request};
use crate::error::{CmdError, CmdResult};
use crate::lockd::protocol::code;
use crate::lockd::{self, Lockd, Mode, Outcome};
use crate::store::lock::LockMode;
use crate::store::scan::{FoundVg, Scan};
use crate::system_id::{self, LocalSystemId};
use metadata_format::text::ReadAhead;
use metadata_format::text::{Area, Id, Metadata, SegmentKind, VolumeGroup};
use std::cell::{Cell, OnceCell, RefCell, RefMut};
use std::collections::HashMap;

/// How a VG lock request ended, kept until the VG has been read (LVM2's `lockd_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VgLockState {
    ex: bool,
    failed: bool,
}

enum Session {
    NotTried,
    Connected(Lockd),
    Failed,
}

/// A command's state towards lvmlockd and system IDs (one per `Context`).
pub struct Shared {
    use_lvmlockd: bool,
    retries: u32,
    cmd: String,
    session: RefCell<Session>,
    vg_states: RefCell<HashMap<String, VgLockState>>,
    /// The global lock is held ex (or vgcreate's sanlock bootstrap proceeds without it).
    gl_ex: Cell<bool>,
    /// No VG locks in this command (vgchange --lockstart: the lockspaces are not there yet).
    vg_locks_disabled: Cell<bool>,
    local_id: OnceCell<LocalSystemId>,
}

impl Shared {
    pub fn new(config: &crate::config::Config, cmdline: &str) -> Shared {
        Shared {
            use_lvmlockd: config.use_lvmlockd(),
            retries: config
                .get_int("global/lvmlockd_lock_retries")
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(3),
            cmd: cmdline.split(' ').next().unwrap_or("").to_string(),
            session: RefCell::new(Session::NotTried),
            vg_states: RefCell::new(HashMap::new()),
            gl_ex: Cell::new(false),
            vg_locks_disabled: Cell::new(false),
            local_id: OnceCell::new(),
        }
    }

    pub fn use_lvmlockd(&self) -> bool {
        self.use_lvmlockd
    }

    /// No lvmlockd VG locks in this command (LVM2's `lockd_vg_disable`: vgcreate, whose VG
    /// has no lockspace yet, and vgchange --lockstart).
    pub fn disable_vg_locks(&self) {
        self.vg_locks_disabled.set(true);
    }

    /// The session, connected on first use; None (after one warning, as LVM2) when lvmlockd
    /// is not there.
    fn lockd(&self, ctx: &Context) -> Option<RefMut<'_, Lockd>> {
        if !self.use_lvmlockd {
            return None;
        }
        {
            let mut s = self.session.borrow_mut();
            if matches!(*s, Session::NotTried) {
                *s = match Lockd::connect(&self.cmd) {
                    Ok(l) => Session::Connected(l),
                    Err(_) => {
                        if !std::path::Path::new(lockd::client::PIDFILE).exists() {
                            ctx.warn("WARNING: lvmlockd process is not running.");
                        } else {
                            ctx.warn("WARNING: lvmlockd connect failed.");
                        }
                        Session::Failed
                    }
                };
            }
        }
        RefMut::filter_map(self.session.borrow_mut(), |s| match s {
            Session::Connected(l) => Some(l),
            _ => None,
        })
        .ok()
    }

    /// Sends a lock request again while the lock is held elsewhere (-EAGAIN), one second
    /// apart, `global/lvmlockd_lock_retries` times, as LVM2.
    fn with_retries(
        &self,
        ctx: &Context,
        what: &str,
        mut send: impl FnMut(&mut Lockd) -> Option<Outcome>,
    ) -> Option<Outcome> {
        let mut tries = 0;
        loop {
            let out = {
                let mut l = self.lockd(ctx)?;
                send(&mut l)
            }?;
            if out.result == -code::EAGAIN && tries < self.retries {
                ctx.warn(format!("Retrying {what}"));
                std::thread::sleep(std::time::Duration::from_secs(1));
                tries += 1;
                continue;
            }
            return Some(out);
        }
    }

    /// This host's system ID (worked out once; its warnings printed then).
    pub fn local_system_id(&self, ctx: &Context) -> &LocalSystemId {
        self.local_id.get_or_init(|| {
            let l = system_id::local(&ctx.config, &ctx.host.node);
            for w in &l.warnings {
                ctx.warn(w);
            }
            l
        })
    }

    // ---- the global lock

    /// LVM2's `lockd_global` for `ex` (commands that change the VG namespace or orphan PVs)
    /// and `sh`; a no-op without lvmlockd.
    pub fn lock_global(&self, ctx: &Context, mode: Mode) -> CmdResult {
        if !self.use_lvmlockd || (mode == Mode::Sh && self.gl_ex.get()) {
            return Ok(());
        }
        if mode == Mode::Ex && self.gl_ex.get() {
            return Ok(());
        }
        let m = mode.as_str();
        let Some(out) =
            self.with_retries(ctx, &format!("{m} global lock"), |l| l.lock_gl(mode, None))
        else {
            return match mode {
                Mode::Un => Ok(()),
                Mode::Sh => {
                    ctx.warn("Reading without shared global lock.");
                    Ok(())
                }
                Mode::Ex => Err(CmdError::failed(
                    "Global lock failed: check that lvmlockd is running.",
                )),
            };
        };
        let r = out.result;
        if mode == Mode::Un {
            self.gl_ex.set(false);
            return Ok(());
        }
        if r == -code::EALREADY {
            return Ok(());
        }
        if r == -code::ENOLS && out.flags.no_lm {
            ctx.warn("Start a lock manager, lvmlockd did not find one running.");
        }
        if [
            -code::ENOLS,
            -code::ESTARTING,
            -code::EVGKILLED,
            -code::ELOCKIO,
        ]
        .contains(&r)
        {
            if mode == Mode::Ex {
                return Err(CmdError::failed(match -r {
                    code::ESTARTING => "Global lock failed: lockspace is starting".to_string(),
                    code::ENOLS => {
                        "Global lock failed: check that global lockspace is started".to_string()
                    }
                    code::ELOCKIO => {
                        "Global lock failed: storage errors for sanlock leases".to_string()
                    }
                    code::EVGKILLED => {
                        "Global lock failed: storage failed for sanlock leases".to_string()
                    }
                    _ => format!("Global lock failed: error {r}"),
                }));
            }
            ctx.warn(match -r {
                code::ESTARTING => "Skipping global lock: lockspace is starting",
                code::ELOCKIO => "Skipping global lock: storage errors for sanlock leases",
                code::EVGKILLED => "Skipping global lock: storage failed for sanlock leases",
                _ if out.flags.no_gl_ls && out.flags.warn_gl_removed => {
                    "Skipping global lock: VG with global lock was removed"
                }
                _ => "Skipping global lock: lockspace not found or started",
            });
            return Ok(());
        }
        if out.flags.dup_gl_ls {
            ctx.warn("Duplicate sanlock global locks should be corrected");
        }
        if r == -code::EAGAIN {
            return Err(CmdError::failed("Global lock failed: held by other host."));
        }
        if r < 0 {
            return Err(CmdError::failed(format!("Global lock failed: error {r}.")));
        }
        if mode == Mode::Ex {
            self.gl_ex.set(true);
        }
        Ok(())
    }

    /// LVM2's `lockd_global_create` (vgcreate): as `lock_global(ex)`, except that the first
    /// sanlock VG is created without a global lock - the lock will live in it.
    pub fn lock_global_create(&self, ctx: &Context, lock_type: &str) -> CmdResult {
        if !self.use_lvmlockd {
            if lockd::is_lockd_type(Some(lock_type)) {
                return Err(CmdError::failed(format!(
                    "Cannot create VG with lock_type {lock_type} without lvmlockd."
                )));
            }
            return Ok(());
        }
        let Some(out) = self.with_retries(ctx, "ex global lock", |l| {
            l.lock_gl(Mode::Ex, Some(lock_type))
        }) else {
            return Err(CmdError::failed(
                "Global lock failed: check that lvmlockd is running.",
            ));
        };
        let r = out.result;
        if r == -code::ENOLS {
            if out.flags.no_gl_ls && out.flags.no_lockspaces && lock_type == "sanlock" {
                if has_sanlock_vg(&ctx.scan()?) {
                    ctx.warn(
                        "Global lock failed: start existing sanlock VGs to access global lock.",
                    );
                    return Err(CmdError::failed(
                        "(If all sanlock VGs are started, enable global lock with lvmlockctl.)",
                    ));
                }
                ctx.say("Enabling sanlock global lock");
                self.gl_ex.set(true);
                return Ok(());
            }
            if out.flags.no_lm {
                ctx.warn("Start a lock manager, lvmlockd did not find one running.");
            }
            return Err(CmdError::failed(if lock_type == "sanlock" {
                "Global lock failed: check that VG holding global lock exists and is started."
            } else {
                "Global lock failed: check that global lockspace is started."
            }));
        }
        if r < 0 {
            return Err(CmdError::failed(match -r {
                code::ESTARTING => "Global lock failed: lockspace is starting.".to_string(),
                code::EAGAIN => "Global lock failed: held by other host.".to_string(),
                code::EPROTONOSUPPORT => format!(
                    "VG create failed: lock manager {lock_type} is not supported by lvmlockd."
                ),
                _ => format!("Global lock failed: error {r}"),
            }));
        }
        self.gl_ex.set(true);
        Ok(())
    }

    // ---- the VG lock and access

    /// LVM2's `lockd_vg`, sent before the VG is read (the caller takes the local file lock
    /// after it). Whether a failure matters is decided once the VG is read and its lock type
    /// known ([`Shared::check_access`]); only an ex request on a VG lockspace that answered
    /// fails here.
    pub fn lock_vg(&self, ctx: &Context, vg_name: &str, mode: LockMode) -> CmdResult {
        if vg_name.starts_with('#') || self.vg_locks_disabled.get() {
            return Ok(());
        }
        let ex = mode == LockMode::Exclusive;
        let mut state = VgLockState { ex, failed: true };
        let outcome = if self.use_lvmlockd {
            let m = if ex { Mode::Ex } else { Mode::Sh };
            self.with_retries(ctx, &format!("{} lock on VG {vg_name}", m.as_str()), |l| {
                l.lock_vg(vg_name, m)
            })
        } else {
            None
        };
        let result = outcome.as_ref().map(|o| o.result);
        state.failed = result != Some(0);
        self.vg_states
            .borrow_mut()
            .insert(vg_name.to_string(), state);
        let Some(out) = outcome else {
            return Ok(());
        };
        if out.flags.dup_gl_ls {
            ctx.warn(format!("Duplicate sanlock global lock in VG {vg_name}"));
        }
        let r = out.result;
        if r == 0 || r == -code::ENOLS {
            return Ok(());
        }
        if r == -code::EREMOVED {
            ctx.warn(format!("VG {vg_name} lock failed: removed"));
            return Ok(());
        }
        let problem = match -r {
            code::ESTARTING => "lock start in progress".to_string(),
            code::ELOCKIO => "storage errors for sanlock leases".to_string(),
            code::EVGKILLED => "storage failed for sanlock leases".to_string(),
            code::EAGAIN => "held by other host.".to_string(),
            _ => format!("error {r}"),
        };
        if ex {
            Err(CmdError::failed(format!(
                "VG {vg_name} lock failed: {problem}"
            )))
        } else {
            ctx.warn(format!("VG {vg_name} lock skipped: {problem}"));
            Ok(())
        }
    }

    /// After the VG is read: a shared VG needs lvmlockd and, for changes, its lock; a VG with
    /// another host's system ID is refused (LVM2's `_access_vg_lock_type` and
    /// `_access_vg_systemid`).
    pub fn check_access(&self, ctx: &Context, vg: &VolumeGroup) -> CmdResult {
        if lockd::vg_is_shared(vg) && !self.vg_locks_disabled.get() {
            let lock_type = vg.lock_type.as_deref().unwrap_or("");
            if !self.use_lvmlockd {
                return Err(CmdError::failed(format!(
                    "Cannot access VG {} with lock type {lock_type} that requires lvmlockd.",
                    vg.name
                )));
            }
            let state = self.vg_states.borrow().get(&vg.name).copied();
            match state {
                Some(VgLockState { failed: false, .. }) => {}
                Some(VgLockState { ex: true, .. }) => {
                    return Err(CmdError::failed(format!(
                        "Cannot access VG {} due to failed lock.",
                        vg.name
                    )))
                }
                _ => ctx.warn(format!("Reading VG {} without a lock.", vg.name)),
            }
            if ctx.test_mode {
                return Err(CmdError::failed(format!(
                    "Test mode is not yet supported with lock type {lock_type}."
                )));
            }
        }
        if let Some(sid) = vg.system_id.as_deref().filter(|s| !s.is_empty()) {
            let local = self.local_system_id(ctx);
            if !system_id::is_allowed(&ctx.config, local, Some(sid)) {
                return Err(CmdError::failed(system_id::access_error(
                    &vg.name, sid, local,
                )));
            }
        }
        Ok(())
    }

    // ---- LV locks

    /// LVM2's `lockd_lv` for activation (`lv_active_change`): the LV's lock (or its thin
    /// pool's) in `mode` (None: ex), persistent so it outlives the command. Refusals carry
    /// LVM2's lines ("LV locked by other host: vg/lv").
    pub fn lock_lv(
        &self,
        ctx: &Context,
        vg: &VolumeGroup,
        lv_name: &str,
        mode: Option<Mode>,
        persistent: bool,
    ) -> CmdResult {
        self.lock_lv_flags(ctx, vg, lv_name, mode, persistent, false)
            .map(drop)
    }

    /// [`Shared::lock_lv`] with LVM2's `LDLV_SH_EXISTS_OK` (`sh_exists_ok`): an ex request
    /// refused because this host holds the lock sh (-EEXIST with SH_EXISTS) goes ahead with a
    /// warning. Ok(true) when that happened (LVM2's `lockd_lv_sh_for_ex`).
    fn lock_lv_flags(
        &self,
        ctx: &Context,
        vg: &VolumeGroup,
        lv_name: &str,
        mode: Option<Mode>,
        persistent: bool,
        sh_exists_ok: bool,
    ) -> CmdResult<bool> {
        if !lockd::vg_is_shared(vg) {
            return Ok(false);
        }
        if !self.use_lvmlockd {
            return Err(CmdError::failed(format!(
                "LV in VG {} with lock_type {} requires lvmlockd.",
                vg.name,
                vg.lock_type.as_deref().unwrap_or("")
            )));
        }
        let Some(target) = lockd::lock_target(vg, lv_name) else {
            return Ok(false);
        };
        let mode = mode.unwrap_or(Mode::Ex);
        if mode == Mode::Sh && target.no_sh {
            let kind = vg
                .lv(lv_name)
                .and_then(|lv| lv.segments.first())
                .map_or("", |s| s.kind.type_name());
            return Err(CmdError::failed(format!(
                "Shared activation not compatible with LV type {kind} of {}/{lv_name}",
                vg.name
            )));
        }
        let name = format!("{}/{}", vg.name, target.lv_name);
        let mut refreshed = false;
        let (r, sh_exists) = loop {
            let Some(out) = self
                .lockd(ctx)
                .and_then(|mut l| l.lock_lv(vg, &target, mode, persistent))
            else {
                return Err(CmdError::failed(format!("Locking failed for LV {name}")));
            };
            // The lease lies past the end of the lvmlock LV as active here: another host grew
            // it. Reload it from the metadata and ask once more (LVM2's lockd_lv_name).
            if out.result == -code::EMSGSIZE && !refreshed {
                refreshed = true;
                refresh_lvmlock(ctx, vg);
                continue;
            }
            break (out.result, out.flags.sh_exists);
        };
        match -r {
            0 | code::EALREADY => Ok(false),
            code::ENOENT if mode == Mode::Un => Ok(false),
            code::EAGAIN => Err(CmdError::failed(format!("LV locked by other host: {name}"))),
            code::EEXIST if sh_exists && sh_exists_ok => {
                ctx.warn(
                    "WARNING: extending LV with a shared lock, other hosts may require LV refresh.",
                );
                Ok(true)
            }
            code::EEXIST => Err(CmdError::failed(format!(
                "LV is already locked with incompatible mode: {name}"
            ))),
            code::ENOLS => Err(CmdError::failed(format!(
                "LV {name} lock failed: lockspace is inactive"
            ))),
            code::ELOCKIO => Err(CmdError::failed(format!(
                "LV {name} lock failed: storage errors for sanlock leases"
            ))),
            code::EVGKILLED => Err(CmdError::failed(format!(
                "LV {name} lock failed: storage failed for sanlock leases"
            ))),
            _ => Err(CmdError::failed(format!(
                "LV {name} lock failed: error {r}"
            ))),
        }
    }

    // ---- around every metadata write

    /// Before a shared VG is written: new LVs that own a lock get a lease (`lock_args` was
    /// "pending", or an LV created by this command has none yet), as LVM2's vg_write does.
    /// Returns the LVs whose lease is new, to free if the write fails.
    pub fn before_write(
        &self,
        ctx: &Context,
        old: Option<&Metadata>,
        new: &mut Metadata,
    ) -> CmdResult<Vec<(String, Id, String)>> {
        let vg = &new.vg;
        if vg.lock_type.as_deref() != Some("sanlock") {
            return Ok(Vec::new());
        }
        // "pending" (set by a command), or an LV this write adds that owns a lock.
        let is_new = |id: &Id| old.is_some_and(|o| !o.vg.lvs.iter().any(|l| l.id == *id));
        let pending: Vec<usize> = (0..vg.lvs.len())
            .filter(|&i| {
                let lv = &vg.lvs[i];
                lv.rare.lock_args.as_deref() == Some(lockd::PENDING)
                    || (lv.rare.lock_args.is_none() && is_new(&lv.id) && lockd::uses_lock(vg, lv))
            })
            .collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let vg_name = vg.name.clone();
        if !self.use_lvmlockd {
            return Err(CmdError::failed(format!(
                "Cannot access VG {vg_name} with lock type sanlock that requires lvmlockd."
            )));
        }
        // No look for free space here: only lvcreate does that (and grows the lvmlock LV,
        // [`ensure_lease_space`]); for other commands a full lvmlock LV fails `init_lv`, as
        // in LVM2's vg_write.
        let mut allocated = Vec::new();
        for i in pending {
            let (name, id) = (new.vg.lvs[i].name.clone(), new.vg.lvs[i].id);
            let out = self
                .lockd(ctx)
                .and_then(|mut l| l.init_lv(&new.vg, &name, &id));
            let args = match &out {
                Some(o) if o.result == 0 => o.reply.str("lv_lock_args").map(str::to_string),
                _ => None,
            };
            let Some(args) = args.filter(|a| a != "none") else {
                self.free_leases(ctx, &new.vg, &allocated);
                let why = match out.map(|o| o.result) {
                    Some(r) if r == -code::EEXIST => {
                        format!("Lock already exists for LV {vg_name}/{name}")
                    }
                    Some(r) if r == -code::EMSGSIZE => {
                        format!("No sanlock space for lock for LV {vg_name}/{name}")
                    }
                    Some(r) if r < 0 => format!("_init_lv_sanlock lvmlockd result {r}"),
                    Some(_) => "lv_lock_args not returned".to_string(),
                    None => format!("_init_lv_sanlock lvmlockd result {}", -code::ELOCKD),
                };
                return Err(CmdError::failed(format!(
                    "{why}\n  Cannot allocate lock for new LV."
                )));
            };
            new.vg.lvs[i].rare.lock_args = Some(args.clone());
            allocated.push((name, id, args));
        }
        Ok(allocated)
    }

    /// The write failed: the leases `before_write` made go back.
    pub fn revert_write(
        &self,
        ctx: &Context,
        vg: &VolumeGroup,
        allocated: &[(String, Id, String)],
    ) {
        self.free_leases(ctx, vg, allocated);
    }

    fn free_leases(&self, ctx: &Context, vg: &VolumeGroup, leases: &[(String, Id, String)]) {
        for (name, id, args) in leases {
            if let Some(mut l) = self.lockd(ctx) {
                let _ = l.free_lv(vg, name, id, Some(args));
            }
        }
    }

    /// After a shared VG was written: lvmlockd learns the new seqno (`vg_update`), and the
    /// leases of LVs that are gone are unlocked and freed.
    pub fn after_write(&self, ctx: &Context, old: Option<&Metadata>, new: &Metadata) {
        if !lockd::vg_is_shared(&new.vg) || !self.use_lvmlockd {
            return;
        }
        if let Some(old) = old.filter(|o| lockd::vg_is_shared(&o.vg)) {
            for lv in &old.vg.lvs {
                let Some(args) = lv.rare.lock_args.as_deref() else {
                    continue;
                };
                // Still there with its lease (an LV that lost it became part of another, as
                // lvconvert's thin pool data and metadata do).
                if new
                    .vg
                    .lvs
                    .iter()
                    .any(|l| l.id == lv.id && l.rare.lock_args.is_some())
                {
                    continue;
                }
                let _ = self.lock_lv(ctx, &old.vg, &lv.name, Some(Mode::Un), true);
                let freed = self
                    .lockd(ctx)
                    .and_then(|mut l| l.free_lv(&old.vg, &lv.name, &lv.id, Some(args)));
                if let Some(r) = freed.map(|o| o.result).filter(|r| *r < 0) {
                    ctx.warn(format!("_free_lv lvmlockd result {r}"));
                }
            }
        }
        if let Some(mut l) = self.lockd(ctx) {
            let _ = l.vg_update(&new.vg.name, new.vg.seqno);
        }
    }
}

fn has_sanlock_vg(scan: &Scan) -> bool {
    scan.vg_names().iter().any(|n| {
        scan.find_vg(n)
            .ok()
            .flatten()
            .is_some_and(|f| f.metadata.vg.lock_type.as_deref() == Some("sanlock"))
    })
}

/// A `FoundVg` for metadata this command has just written (all of its PVs are in `scan`).
pub fn found_from(scan: &Scan, metadata: &Metadata) -> FoundVg {
    FoundVg {
        pv_devices: metadata
            .vg
            .pvs
            .iter()
            .map(|pv| scan.pv_index_by_id(&pv.id))
            .collect(),
        metadata: metadata.clone(),
        checksum: 0,
        stale: Vec::new(),
    }
}

const MIB: u64 = 1 << 20;

/// Whether one of the VG's PVs has 4096-byte sectors (sanlock then needs 8 MiB leases).
fn has_4k_sectors(scan: &Scan, vg: &VolumeGroup) -> bool {
    vg.pvs.iter().any(|pv| {
        let Some(i) = scan.pv_index_by_id(&pv.id) else {
            return false;
        };
        let dev = crate::commands::context::canonical(&scan.pvs[i].path);
        let Some(name) = dev.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        ["logical_block_size", "physical_block_size"]
            .iter()
            .any(|f| {
                std::fs::read_to_string(format!("/sys/class/block/{name}/queue/{f}"))
                    .is_ok_and(|v| v.trim() == "4096")
            })
    })
}

/// `global/sanlock_lv_extend`: MiB the lvmlock LV grows by when it is full (LVM2's default
/// 256; 0 never grows it).
pub const DEFAULT_SANLOCK_LV_EXTEND_MIB: i64 = 256;

/// The active lvmlock device's size here, or None (not active, no device-mapper).
fn lvmlock_device_bytes(vg: &VolumeGroup) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let path = std::path::Path::new("/dev/mapper")
        .join(crate::names::dm_name(&vg.name, crate::lockd::LVMLOCK_LV));
    std::fs::File::open(path)
        .and_then(|mut f| f.seek(SeekFrom::End(0)))
        .ok()
}

fn lvmlock_metadata_bytes(vg: &VolumeGroup) -> Option<u64> {
    vg.lv(crate::lockd::LVMLOCK_LV)
        .map(|lv| lv.extent_count() * u64::from(vg.extent_size) * 512)
}

/// Another host grew the lvmlock LV: its table here is reloaded from the metadata (a
/// resume with the larger table), so sanlock sees the leases in the new space. Failures are
/// left to the lock request that follows.
fn refresh_lvmlock(ctx: &Context, vg: &VolumeGroup) {
    let Ok(scan) = ctx.scan() else { return };
    let Ok(Some(found)) = scan.find_vg(&vg.name) else {
        return;
    };
    if let Err(e) = Activation::new(ctx).activate_lv(
        ctx,
        &scan,
        &found,
        crate::lockd::LVMLOCK_LV,
        ActivateOptions::default(),
    ) {
        ctx.warn(format!(
            "{}\n  Failed to refresh {}.",
            e.message(),
            crate::lockd::LVMLOCK_LV
        ));
    }
}

/// Before lvcreate makes an LV that owns a lease in a sanlock VG (LVM2's
/// `handle_sanlock_lv`): the lvmlock LV is reloaded if another host grew it, lvmlockd is asked
/// for a free lease, and when it has none (-EMSGSIZE) the lvmlock LV grows by
/// `global/sanlock_lv_extend` MiB - zeroed, committed, reloaded here - so the write's
/// `init_lv` finds room in the new space. Returns the VG as written when it grew.
pub fn ensure_lease_space(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
) -> CmdResult<Option<FoundVg>> {
    let vg = &found.metadata.vg;
    if vg.lock_type.as_deref() != Some("sanlock") || !ctx.shared.use_lvmlockd() {
        return Ok(None);
    }
    let no_space = |detail: String| {
        CmdError::failed(format!(
            "{detail}\n  No space for sanlock lock, extend the internal lvmlock LV."
        ))
    };
    let extend_mib = ctx
        .config
        .get_int("global/sanlock_lv_extend")
        .unwrap_or(DEFAULT_SANLOCK_LV_EXTEND_MIB);
    // 0: the lvmlock LV is extended by hand; LVM2 does not look for space then.
    if extend_mib <= 0 {
        return Ok(None);
    }
    let (Some(meta), dev) = (lvmlock_metadata_bytes(vg), lvmlock_device_bytes(vg)) else {
        return Err(no_space("No internal lvmlock LV found.".to_string()));
    };
    if dev.is_some_and(|d| d < meta) {
        refresh_lvmlock(ctx, vg);
    }
    let out = ctx
        .shared
        .lockd(ctx)
        .and_then(|mut l| l.find_free_lock(&vg.name));
    match out.map(|o| o.result) {
        Some(0) => Ok(None),
        Some(r) if r == -code::EMSGSIZE => {
            let grown = extend_lvmlock(ctx, scan, found, extend_mib.unsigned_abs())
                .map_err(|e| no_space(e.message().to_string()))?;
            // lvmlockd looks in the new space first (it remembers where the old one ended).
            Ok(Some(grown))
        }
        Some(r) => Err(no_space(format!("find_free_lock lvmlockd result {r}"))),
        None => Err(no_space(
            "lvmlockd find_free_lock failed no result".to_string(),
        )),
    }
}

/// LVM2's `_extend_sanlock_lv`: the lvmlock LV gets `mib` MiB more (whole extents) from the
/// VG's free space, zeroed through its PVs before the metadata names them, then committed and
/// its table reloaded here.
fn extend_lvmlock(ctx: &Context, scan: &Scan, found: &FoundVg, mib: u64) -> CmdResult<FoundVg> {
    let mut md = found.metadata.clone();
    let name = md.vg.name.clone();
    let lock_lv = crate::lockd::LVMLOCK_LV;
    let extent_bytes = u64::from(md.vg.extent_size) * 512;
    let old_extents = md.vg.lv(lock_lv).map_or(0, |lv| lv.extent_count());
    let extents = u32::try_from((mib * MIB).div_ceil(extent_bytes.max(1))).unwrap_or(u32::MAX);
    let policy = md
        .vg
        .allocation_policy
        .as_ref()
        .and_then(|p| Policy::from_name(p.as_str()))
        .unwrap_or(Policy::Normal);
    let sources = alloc::all_pvs(&md.vg);
    extend_plain(
        &mut md.vg,
        lock_lv,
        &Request::new(1, extents, policy),
        &sources,
        0,
    )
    .map_err(|e| {
        CmdError::failed(format!(
            "{e}\n  Extend sanlock LV {name}/{lock_lv} to size {} failed.",
            super::lv_plan::display_size((old_extents + u64::from(extents)) * extent_bytes / 512)
        ))
    })?;
    ctx.say(format!(
        "Zeroing {mib} MiB on extended internal lvmlock LV..."
    ));
    zero_lv_extents(scan, &md.vg, lock_lv, old_extents)?;
    ctx.commit_vg(scan, Some(found), &mut md)?;
    let written = found_from(scan, &md);
    Activation::new(ctx)
        .activate_lv(ctx, scan, &written, lock_lv, ActivateOptions::default())
        .map_err(|e| {
            CmdError::failed(format!(
                "{}\n  Failed to refresh sanlock LV {name}/{lock_lv} after extend.",
                e.message()
            ))
        })?;
    Ok(written)
}

/// Writes zeros over the extents of the linear LV `lv_name` from logical extent `from` on,
/// through its PVs (direct I/O), so no old lease or data shows in the new space.
fn zero_lv_extents(scan: &Scan, vg: &VolumeGroup, lv_name: &str, from: u64) -> CmdResult {
    let Some(lv) = vg.lv(lv_name) else {
        return Ok(());
    };
    let extent = u64::from(vg.extent_size) * 512;
    for seg in &lv.segments {
        let (start, end) = (u64::from(seg.start_extent), seg.end_extent());
        if end <= from {
            continue;
        }
        let SegmentKind::Striped(st) = &seg.kind else {
            continue;
        };
        let [Area::Pv { pv, start: pe }] = st.stripes.as_slice() else {
            continue;
        };
        let skip = from.saturating_sub(start);
        let Some(meta) = vg.pvs.iter().find(|p| p.id == *pv) else {
            continue;
        };
        let Some(i) = scan.pv_index_by_id(pv) else {
            return Err(CmdError::failed(format!(
                "Cannot zero the new space of {}/{lv_name}: PV {pv} is missing.",
                vg.name
            )));
        };
        let path = &scan.pvs[i].path;
        let offset = meta.pe_start * 512 + (u64::from(*pe) + skip) * extent;
        let len = (end - start - skip) * extent;
        super::lv_activate::fill_range(path, offset, len, 0).map_err(|e| {
            CmdError::failed(format!(
                "Extend sanlock LV {}/{lv_name} cannot zero device {} at {offset}: {e}",
                vg.name,
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// The lock types LVM2 knows (`get_lock_type_from_string`); anything else is a bad
/// `--locktype` argument (exit 3).
pub fn check_lock_type_arg(lock_type: &str) -> CmdResult {
    match lock_type {
        "none" | "sanlock" | "dlm" | "idm" | "clvm" => Ok(()),
        other => Err(CmdError::usage(format!(
            "Invalid argument for --locktype: {other} (give sanlock or none)."
        ))),
    }
}

/// dlm and idm are lock types LVM2 supports and oxlvm does not (they need corosync or
/// special drives): refused before any lock request or disk write, exit 5. `what` begins
/// the line as LVM2's messages do ("VG create failed", "VG vg lock type change failed").
pub fn refuse_unsupported_lock_type(what: &str, lock_type: &str) -> CmdResult {
    match lock_type {
        "dlm" | "idm" => Err(CmdError::failed(format!(
            "{what}: lock manager {lock_type} is not supported by oxlvm; use sanlock."
        ))),
        _ => Ok(()),
    }
}

/// vgcreate's lock type from `--locktype` and `--shared`, checked as LVM2's
/// `vgcreate_params_set_from_args` checks them (exit 3), then dlm and idm refused (exit 5):
/// None for a local VG.
pub fn vgcreate_lock_type(
    ctx: &Context,
    locktype: Option<&str>,
    shared: bool,
) -> CmdResult<Option<String>> {
    let lock_type = match locktype {
        Some(t) => {
            check_lock_type_arg(t)?;
            if shared && !crate::lockd::is_lockd_type(Some(t)) {
                return Err(CmdError::usage(
                    "The --shared option requires lock type sanlock, dlm or idm.",
                ));
            }
            t.to_string()
        }
        None if shared => running_lock_type(ctx)?,
        None => return Ok(None),
    };
    match lock_type.as_str() {
        "none" => return Ok(None),
        "clvm" => return Err(CmdError::usage("lock_type clvm is invalid")),
        _ => {}
    }
    if !ctx.shared.use_lvmlockd() {
        return Err(CmdError::usage(
            "Using a shared lock type requires lvmlockd.",
        ));
    }
    refuse_unsupported_lock_type("VG create failed", &lock_type)?;
    Ok(Some(lock_type))
}

/// LVM2's `--shared` lock type: the lock manager lvmlockd finds running (`running_lm`).
fn running_lock_type(ctx: &Context) -> CmdResult<String> {
    if !ctx.shared.use_lvmlockd() {
        return Err(CmdError::usage(
            "Using a shared lock type requires lvmlockd (lvm.conf use_lvmlockd.)",
        ));
    }
    let out = ctx.shared.lockd(ctx).and_then(|mut l| l.running_lm());
    match out.map(|o| o.result) {
        Some(crate::lockd::protocol::LOCK_TYPE_SANLOCK) => Ok("sanlock".to_string()),
        Some(crate::lockd::protocol::LOCK_TYPE_DLM) => Ok("dlm".to_string()),
        Some(crate::lockd::protocol::LOCK_TYPE_IDM) => Ok("idm".to_string()),
        Some(r) if r == -code::EXFULL => Err(CmdError::failed(
            "Found multiple lock managers, select one with --lock-type.",
        )),
        Some(_) => Err(CmdError::failed(
            "Failed to detect a running lock manager to select lock type.",
        )),
        None => Err(CmdError::failed(
            "Failed to get result from lvmlockd\n  Failed to detect a running lock manager to select lock type.",
        )),
    }
}

/// Adds the `lvmlock` LV (LVM2's `_create_sanlock_lv`): `mib` MiB, linear, from any PV by the
/// VG's policy, read-ahead off.
fn add_lvmlock_lv(ctx: &Context, vg: &mut VolumeGroup, mib: u64) -> CmdResult {
    let extent_bytes = u64::from(vg.extent_size) * 512;
    let extents = u32::try_from(mib * MIB / extent_bytes.max(1)).unwrap_or(u32::MAX);
    if extents == 0 {
        return Err(CmdError::failed(format!(
            "Failed to create sanlock lv lvmlock in vg {}: the extent size is larger than {mib} MiB.",
            vg.name
        )));
    }
    let mut lv = new_lv(
        crate::lockd::LVMLOCK_LV,
        crate::host::new_id(),
        ctx.host.now,
        &ctx.host.node,
    );
    lv.rare.read_ahead = Some(ReadAhead::Disabled);
    vg.lvs.push(lv);
    let policy = vg
        .allocation_policy
        .as_ref()
        .and_then(|p| Policy::from_name(p.as_str()))
        .unwrap_or(Policy::Normal);
    let sources = alloc::all_pvs(vg);
    extend_plain(
        vg,
        crate::lockd::LVMLOCK_LV,
        &Request::new(1, extents, policy),
        &sources,
        0,
    )
    .map_err(|e| {
        CmdError::failed(format!(
            "{e}\n  Failed to create sanlock lv lvmlock in vg {}",
            vg.name
        ))
    })?;
    Ok(())
}

/// Makes the VG written by `found` (local, just committed) a sanlock VG as LVM2's
/// `_init_vg_sanlock`: the lvmlock LV is added and written, activated, lvmlockd formats the
/// leases on it (`init_vg`), then the LV is hidden and the lock type and args written.
/// `lv_lock_count` LVs will need leases (vgchange --locktype). Returns the VG as written.
pub fn init_vg_sanlock(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    lv_lock_count: u64,
) -> CmdResult<FoundVg> {
    let mut md = found.metadata.clone();
    let name = md.vg.name.clone();
    let mib = crate::lockd::lvmlock_size_mib(has_4k_sectors(scan, &md.vg), lv_lock_count);
    add_lvmlock_lv(ctx, &mut md.vg, mib)?;
    ctx.commit_vg(scan, Some(found), &mut md)?;
    ctx.say(format!(
        "Logical volume \"{}\" created.",
        crate::lockd::LVMLOCK_LV
    ));
    let with_lv = found_from(scan, &md);
    let kernel = Activation::new(ctx);
    kernel
        .activate_lv(
            ctx,
            scan,
            &with_lv,
            crate::lockd::LVMLOCK_LV,
            ActivateOptions::default(),
        )
        .map_err(|e| {
            CmdError::failed(format!(
                "{}\n  Failed to activate sanlock lv {name}/{}",
                e.message(),
                crate::lockd::LVMLOCK_LV
            ))
        })?;
    let out = ctx
        .shared
        .lockd(ctx)
        .and_then(|mut l| l.init_vg_sanlock(&name, crate::lockd::LVMLOCK_LV));
    let failure = match out.as_ref().map(|o| o.result) {
        Some(0) => None,
        None => Some(format!("VG {name} init failed: lvmlockd not available")),
        Some(r) => Some(match -r {
            code::EARGS => format!("VG {name} init failed: invalid parameters for sanlock"),
            code::EDEVOPEN => format!(
                "VG {name} init failed: sanlock cannot open device /dev/mapper/{name}-{}\n  Check that sanlock has permission to access disks.",
                crate::lockd::LVMLOCK_LV
            ),
            code::EMANAGER => {
                format!("VG {name} init failed: lock manager sanlock is not running")
            }
            code::EPROTONOSUPPORT => format!(
                "VG {name} init failed: lock manager sanlock is not supported by lvmlockd"
            ),
            code::EMSGSIZE => format!("VG {name} init failed: no disk space for leases"),
            code::EEXIST => {
                format!("VG {name} init failed: a lockspace with the same name exists")
            }
            _ => format!("VG {name} init failed: {r}"),
        }),
    };
    let args = out
        .as_ref()
        .and_then(|o| o.reply.str("vg_lock_args"))
        .filter(|a| *a != "none")
        .map(str::to_string);
    let args = match (failure, args) {
        (None, Some(a)) => a,
        (failure, _) => {
            // As LVM2: give sanlock a moment to close the LV, then take the LV away again.
            std::thread::sleep(std::time::Duration::from_secs(1));
            let _ = kernel.deactivate_lv(ctx, &with_lv, crate::lockd::LVMLOCK_LV);
            let mut back = md.clone();
            back.vg.lvs.retain(|l| l.name != crate::lockd::LVMLOCK_LV);
            let _ = ctx.commit_vg(scan, Some(&with_lv), &mut back);
            return Err(CmdError::failed(failure.unwrap_or_else(|| {
                format!("VG {name} init failed: lock_args not returned")
            })));
        }
    };
    let mut locked = md.clone();
    if let Some(lv) = locked
        .vg
        .lvs
        .iter_mut()
        .find(|l| l.name == crate::lockd::LVMLOCK_LV)
    {
        hide(lv);
    }
    locked.vg.lock_type = Some("sanlock".to_string());
    locked.vg.lock_args = Some(args);
    locked.vg.system_id = None;
    ctx.commit_vg(scan, Some(&with_lv), &mut locked)?;
    Ok(found_from(scan, &locked))
}

/// LVM2's `lockd_start_vg`: the lvmlock LV is activated (oxlvm makes its node at once, so
/// sanlock finds it without udev), then lvmlockd joins the lockspace in the background.
/// Ok(true) when a start was begun or is under way.
pub fn start_vg(ctx: &Context, scan: &Scan, found: &FoundVg, start_init: bool) -> CmdResult<bool> {
    let vg = &found.metadata.vg;
    if !crate::lockd::vg_is_shared(vg) {
        return Ok(false);
    }
    let name = &vg.name;
    let lock_type = vg.lock_type.as_deref().unwrap_or("");
    if !ctx.shared.use_lvmlockd() {
        return Err(CmdError::failed(format!(
            "VG {name} start failed: lvmlockd is not enabled"
        )));
    }
    if ctx.shared.lockd(ctx).is_none() {
        return Err(CmdError::failed(format!(
            "VG {name} start failed: lvmlockd is not running"
        )));
    }
    let mut host_id = 0;
    if lock_type == "sanlock" {
        Activation::new(ctx)
            .activate_lv(
                ctx,
                scan,
                found,
                crate::lockd::LVMLOCK_LV,
                ActivateOptions::default(),
            )
            .map_err(|e| {
                CmdError::failed(format!(
                    "{}\n  Failed to activate sanlock lv {name}/{}",
                    e.message(),
                    crate::lockd::LVMLOCK_LV
                ))
            })?;
        host_id = ctx.config.get_int("local/host_id").unwrap_or(0);
    }
    let out = ctx
        .shared
        .lockd(ctx)
        .and_then(|mut l| l.start_vg(vg, host_id, start_init));
    let r = out.map_or(-code::ELOCKD, |o| o.result);
    match -r {
        0 => {
            ctx.say(format!("VG {name} starting {lock_type} lockspace"));
            Ok(true)
        }
        code::EEXIST => Ok(false),
        code::ESTARTING => Ok(true),
        code::ELOCKD => Err(CmdError::failed(format!(
            "VG {name} start failed: lvmlockd not available"
        ))),
        code::EARGS => Err(CmdError::failed(format!(
            "VG {name} start failed: invalid parameters for {lock_type}"
        ))),
        code::EHOSTID => Err(CmdError::failed(format!(
            "VG {name} start failed: invalid sanlock host_id, set in lvmlocal.conf"
        ))),
        code::EMANAGER => Err(CmdError::failed(format!(
            "VG {name} start failed: lock manager {lock_type} is not running"
        ))),
        code::EPROTONOSUPPORT => Err(CmdError::failed(format!(
            "VG {name} start failed: lock manager {lock_type} is not supported by lvmlockd"
        ))),
        _ => Err(CmdError::failed(format!("VG {name} start failed: {r}"))),
    }
}

/// Waits until the lockspaces this command started are joined (`start_wait`).
pub fn start_wait(ctx: &Context) -> CmdResult {
    let out = ctx.shared.lockd(ctx).and_then(|mut l| l.start_wait());
    match out.map(|o| o.result) {
        Some(r) if r >= 0 => Ok(()),
        _ => Err(CmdError::failed("Lock start failed")),
    }
}

/// vgcreate --shared after the VG is on disk: start its lockspace and wait for it, so the
/// VG can be used at once (LVM2's default `--lockopt wait`).
pub fn start_new_vg(ctx: &Context, scan: &Scan, found: &FoundVg) -> CmdResult {
    if let Err(e) = start_vg(ctx, scan, found, true) {
        return Err(CmdError::failed(format!(
            "{}\n  Failed to start locking",
            e.message()
        )));
    }
    let _ = ctx.shared.lock_global(ctx, Mode::Un);
    ctx.say("Starting locking.  Waiting until locks are ready...");
    start_wait(ctx)
}

/// `vgchange --lockstart [VG...]`: join the lockspaces of the shared VGs named (all when
/// none), then wait for them.
pub fn lockstart(ctx: &Context, names: &[String]) -> CmdResult {
    if !ctx.shared.use_lvmlockd() {
        return Err(CmdError::failed(
            "Using lock start and lock stop requires lvmlockd.",
        ));
    }
    // The global lock sh, if there is one yet; VG locks are not available before the start.
    ctx.shared.disable_vg_locks();
    let _ = ctx.shared.lock_global(ctx, Mode::Sh);
    let scan = ctx.scan()?;
    let names = if names.is_empty() {
        scan.vg_names()
    } else {
        names.to_vec()
    };
    let mut started = 0;
    let mut failed = None;
    for name in &names {
        let result = ctx
            .load_vg(&scan, name)
            .and_then(|found| start_vg(ctx, &scan, &found, false));
        match result {
            Ok(true) => started += 1,
            Ok(false) => {}
            Err(e) => {
                ctx.warn(e.message());
                failed = Some(());
            }
        }
    }
    if started > 0 {
        let _ = ctx.shared.lock_global(ctx, Mode::Un);
        ctx.say("Starting locking.  Waiting for sanlock may take 20 sec to 3 min...");
        start_wait(ctx)?;
    }
    failed.map_or(Ok(()), |_| Err(CmdError::failed("")))
}

/// `vgchange --lockstop [VG...]`: leave the lockspaces (refused while LVs are active here),
/// then deactivate the lvmlock LV.
pub fn lockstop(ctx: &Context, names: &[String]) -> CmdResult {
    if !ctx.shared.use_lvmlockd() {
        return Err(CmdError::failed(
            "Using lock start and lock stop requires lvmlockd.",
        ));
    }
    let scan = ctx.scan()?;
    let names = if names.is_empty() {
        scan.vg_names()
    } else {
        names.to_vec()
    };
    let mut failed = None;
    for name in &names {
        let result = (|| -> CmdResult {
            let _lock = ctx.lock_vg(name, LockMode::Shared)?;
            let scan = ctx.scan()?;
            let found = ctx.load_vg(&scan, name)?;
            let vg = &found.metadata.vg;
            if !crate::lockd::vg_is_shared(vg) {
                return Ok(());
            }
            let out = ctx.shared.lockd(ctx).and_then(|mut l| l.stop_vg(name));
            let r = out.map_or(-code::ELOCKD, |o| o.result);
            if r == -code::ENOLS {
                return Ok(());
            }
            if r == -code::EBUSY {
                return Err(CmdError::failed(format!(
                    "VG {name} stop failed: LVs must first be deactivated"
                )));
            }
            if r < 0 {
                return Err(CmdError::failed(format!("VG {name} stop failed: {r}")));
            }
            if vg.lock_type.as_deref() == Some("sanlock") {
                let _ = Activation::new(ctx).deactivate_lv(ctx, &found, crate::lockd::LVMLOCK_LV);
            }
            Ok(())
        })();
        if let Err(e) = result {
            ctx.warn(e.message());
            failed = Some(());
        }
    }
    failed.map_or(Ok(()), |_| Err(CmdError::failed("")))
}

/// Before activating `lv_name` of a shared VG: its lock, persistent, in the mode `-a` asks
/// for (`ey` ex, `sy` sh, `y` ex), as LVM2's `lv_active_change`.
pub fn lock_for_activation(
    ctx: &Context,
    vg: &VolumeGroup,
    lv_name: &str,
    change: ActivationChange,
) -> CmdResult {
    let mode = match change {
        ActivationChange::Shared => Some(Mode::Sh),
        _ => Some(Mode::Ex),
    };
    ctx.shared
        .lock_lv(ctx, vg, lv_name, mode, true)
        .map_err(|e| {
            CmdError::failed(format!(
                "{}\n  Failed to lock logical volume {}/{lv_name}.",
                e.message(),
                vg.name
            ))
        })
}

/// After deactivating `lv_name`: its lock goes (a thin pool's only once the pool is down).
pub fn unlock_after_deactivation(
    ctx: &Context,
    kernel: &Activation,
    vg: &VolumeGroup,
    lv_name: &str,
) {
    // Local VGs have no LV locks (and lock_target scans the VG: quadratic over a whole VG).
    if !crate::lockd::vg_is_shared(vg) {
        return;
    }
    let Some(target) = crate::lockd::lock_target(vg, lv_name) else {
        return;
    };
    // A thin pool's lock stays while the pool is active here (its -tpool: other thin LVs).
    let pool = vg.lv(&target.lv_name).filter(|p| {
        p.segments
            .iter()
            .any(|s| matches!(s.kind, SegmentKind::ThinPool(_)))
    });
    if pool.is_some_and(|p| kernel.pool_is_active(vg, p)) {
        return;
    }
    if ctx
        .shared
        .lock_lv(ctx, vg, lv_name, Some(Mode::Un), true)
        .is_err()
    {
        ctx.warn(format!(
            "Failed to unlock logical volume {}/{lv_name}.",
            vg.name
        ));
    }
}

/// A thin pool's lock taken for lvcreate of a thin volume or snapshot in it; dropped when this
/// goes unless the pool is active here (the new thin LV was activated, or others are).
pub struct ThinPoolLock<'a> {
    ctx: &'a Context,
    vg: VolumeGroup,
    pool: String,
}

impl Drop for ThinPoolLock<'_> {
    fn drop(&mut self) {
        let kernel = Activation::new(self.ctx);
        if self
            .vg
            .lv(&self.pool)
            .is_some_and(|p| kernel.pool_is_active(&self.vg, p))
        {
            return;
        }
        if self
            .ctx
            .shared
            .lock_lv(self.ctx, &self.vg, &self.pool, Some(Mode::Un), true)
            .is_err()
        {
            self.ctx.warn(format!(
                "WARNING: Failed to unlock {}/{}.",
                self.vg.name, self.pool
            ));
        }
    }
}

/// lvcreate of a thin volume or thin snapshot in a shared VG: the pool's lock ex (persistent)
/// before anything changes - the pool must not be active on another host while its thin
/// volumes change (LVM2's `lockd_init_lv`). "LV locked by other host" stops the command.
pub fn lock_thin_pool<'a>(
    ctx: &'a Context,
    vg: &VolumeGroup,
    pool: &str,
) -> CmdResult<Option<ThinPoolLock<'a>>> {
    if !crate::lockd::vg_is_shared(vg) || vg.lv(pool).is_none() {
        return Ok(None);
    }
    ctx.shared
        .lock_lv(ctx, vg, pool, Some(Mode::Ex), true)
        .map_err(|e| {
            CmdError::failed(format!(
                "{}\n  Failed to lock thin pool {}/{pool}.",
                e.message(),
                vg.name
            ))
        })?;
    Ok(Some(ThinPoolLock {
        ctx,
        vg: vg.clone(),
        pool: pool.to_string(),
    }))
}

/// Before LVs of a shared VG are removed (lvremove): each LV's lock ex - it must not be
/// active on another host (LVM2's `lv_remove_single`).
pub fn lock_for_removal(ctx: &Context, vg: &VolumeGroup, names: &[String]) -> CmdResult {
    for name in names {
        ctx.shared.lock_lv(ctx, vg, name, Some(Mode::Ex), true)?;
    }
    Ok(())
}

/// The LV whose lock covers a change of `lv_name` (LVM2's `lv_lock_holder` for the LVs oxlvm
/// makes): a COW LV changes under its origin's lock; every other LV under its own, which
/// [`crate::lockd::lock_target`] directs to the thin pool for thin LVs and pool sub-LVs.
pub fn change_lock_holder(vg: &VolumeGroup, lv_name: &str) -> String {
    vg.lvs
        .iter()
        .flat_map(|l| &l.segments)
        .find_map(|s| match &s.kind {
            SegmentKind::Snapshot(snap) if snap.cow == lv_name => Some(snap.origin.clone()),
            _ => None,
        })
        .unwrap_or_else(|| lv_name.to_string())
}

/// Before a command changes an LV of a shared VG (lvrename, lvconvert, vgexport...): LVM2's
/// transient `lockd_lv(lv, "ex", 0)`. An LV active here is covered by its activation's lock
/// (lvmlockd grants the request at once; one active here shared gives "LV is already locked
/// with incompatible mode"); an inactive one has its lease taken for this command only
/// (released when the command's lvmlockd session ends); one active on another host is
/// refused: "LV locked by other host: VG/LV", exit 5, before anything is written.
pub fn lock_for_change(ctx: &Context, vg: &VolumeGroup, lv_name: &str) -> CmdResult {
    ctx.shared.lock_lv(ctx, vg, lv_name, Some(Mode::Ex), false)
}

/// lvcreate of a COW snapshot in a shared VG: the origin's lock ex, transient (the snapshot
/// has no lock of its own; its origin's covers both).
pub fn lock_cow_origin(ctx: &Context, vg: &VolumeGroup, origin: &str) -> CmdResult {
    if !crate::lockd::vg_is_shared(vg) {
        return Ok(());
    }
    lock_for_change(ctx, vg, origin).map_err(|e| {
        CmdError::failed(format!(
            "{}\n  Failed to lock origin LV {}/{origin}",
            e.message(),
            vg.name
        ))
    })
}

/// vgexport of a shared VG (LVM2's vgexport): each LV that owns a lock is locked ex and
/// unlocked again (transient) - none may be active on any host.
pub fn lock_each_lv_for_export(ctx: &Context, vg: &VolumeGroup) -> CmdResult {
    if !crate::lockd::vg_is_shared(vg) {
        return Ok(());
    }
    for lv in vg.lvs.iter().filter(|lv| crate::lockd::uses_lock(vg, lv)) {
        if let Err(e) = lock_for_change(ctx, vg, &lv.name) {
            // LVM2 names the LV as VG/VG/LV here.
            return Err(CmdError::failed(format!(
                "{}\n  LV {vg}/{vg}/{lv} must be inactive on all hosts before vgexport.",
                e.message(),
                vg = vg.name,
                lv = lv.name
            )));
        }
        ctx.shared
            .lock_lv(ctx, vg, &lv.name, Some(Mode::Un), false)?;
    }
    Ok(())
}

/// What lvresize must ask other hosts to reload once the LV was extended under a shared lock
/// (LVM2's `lockd_lv_refresh_path` and `_uuid`).
pub struct RemoteRefresh {
    path: String,
    uuid: String,
}

/// lvextend/lvreduce/lvresize of an LV in a shared VG (LVM2's `lockd_lv_resize`): the lock of
/// the LV's lock holder (a COW LV's origin) ex, transient. An extend may go ahead under this
/// host's shared lock - with a warning - when `--lockopt shupdate` is given or a gfs2/ocfs2
/// file system is mounted; the LV is then refreshed on the other hosts at the end
/// ([`refresh_on_other_hosts`]) unless `--lockopt norefresh`.
pub fn lock_for_resize(
    ctx: &Context,
    vg: &VolumeGroup,
    lv_name: &str,
    extend: bool,
    lockopt: Option<&str>,
) -> CmdResult<Option<RemoteRefresh>> {
    if !crate::lockd::vg_is_shared(vg) {
        return Ok(None);
    }
    let holder = change_lock_holder(vg, lv_name);
    let opt = |w: &str| lockopt.is_some_and(|o| o.contains(w));
    let sh_exists_ok = extend && (opt("shupdate") || shared_fs_mounted());
    let sh_for_ex =
        ctx.shared
            .lock_lv_flags(ctx, vg, &holder, Some(Mode::Ex), false, sh_exists_ok)?;
    if !sh_for_ex || opt("norefresh") {
        return Ok(None);
    }
    let Some(lv) = vg.lv(&holder) else {
        return Ok(None);
    };
    Ok(Some(RemoteRefresh {
        // LVM2 joins its dev_dir "/dev/" with "/vg/lv": the path has "//".
        path: format!("/dev//{}/{}", vg.name, lv.name),
        uuid: lv.id.to_string(),
    }))
}

/// LVM2's `_shared_fs_can_resize`: any gfs2 or ocfs2 mount on this host (LVM2 does not look
/// at which device it is on).
fn shared_fs_mounted() -> bool {
    std::fs::read_to_string("/etc/mtab")
        .or_else(|_| std::fs::read_to_string("/proc/self/mounts"))
        .is_ok_and(|t| {
            t.lines()
                .any(|l| matches!(l.split_whitespace().nth(2), Some("gfs2" | "ocfs2")))
        })
}

/// After an LV was extended under a shared lock: lvmlockd is asked to have the other hosts
/// reload it (LVM2's `lockd_lv_refresh`; lvmlockd does that through dlm - with sanlock,
/// lvmlockd 2.03.16 answered success in the two-host VM). A failure tells the user to refresh
/// by hand, exit 5, as LVM2.
pub fn refresh_on_other_hosts(ctx: &Context, refresh: Option<RemoteRefresh>) -> CmdResult {
    let Some(r) = refresh else {
        return Ok(());
    };
    ctx.warn(format!("Refreshing LV {} on other hosts...", r.path));
    let out = ctx
        .shared
        .lockd(ctx)
        .and_then(|mut l| l.refresh_lv(&r.uuid, &r.path));
    match out.map(|o| o.result) {
        None => Err(CmdError::failed(format!(
            "LV refresh failed for LV {}",
            r.path
        ))),
        Some(res) if res < 0 => Err(CmdError::failed(format!(
            "Failed to refresh LV on all hosts.\n  Manual lvchange --refresh required on all hosts for {}.",
            r.path
        ))),
        Some(_) => Ok(()),
    }
}

/// After thin LVs of a shared VG were removed: their pool's lock goes unless the pool is
/// still active here (the removed LVs' own leases are freed by the commit).
pub fn unlock_after_removal(ctx: &Context, old: &VolumeGroup, new: &VolumeGroup, names: &[String]) {
    if !crate::lockd::vg_is_shared(old) {
        return;
    }
    let kernel = Activation::new(ctx);
    for name in names {
        let Some(target) = crate::lockd::lock_target(old, name) else {
            continue;
        };
        if target.lv_name == *name || new.lv(&target.lv_name).is_none() {
            continue;
        }
        unlock_after_deactivation(ctx, &kernel, new, &target.lv_name);
    }
}

/// vgremove of a shared VG, before anything is removed: no LV may be active on any host,
/// other hosts must have stopped the lockspace (`free_vg`), then the lvmlock LV goes down
/// (LVM2's `lockd_free_vg_before`).
pub fn before_vgremove(ctx: &Context, found: &FoundVg) -> CmdResult {
    let vg = &found.metadata.vg;
    if !crate::lockd::vg_is_shared(vg) {
        return Ok(());
    }
    // Each LV's lock ex and back, as vgremove removing each LV does (persistent: a lock an
    // activation here left goes too): none may be active on any host.
    free_vg(ctx, found, true, true)
}

/// The lockspace of a sanlock VG is given up for good (vgremove, --locktype none).
fn free_vg(ctx: &Context, found: &FoundVg, check_lvs: bool, persistent: bool) -> CmdResult {
    let vg = &found.metadata.vg;
    let name = &vg.name;
    if check_lvs {
        for lv in vg.lvs.iter().filter(|lv| crate::lockd::uses_lock(vg, lv)) {
            let ok = ctx
                .shared
                .lock_lv(ctx, vg, &lv.name, Some(Mode::Ex), persistent)
                .and_then(|_| {
                    ctx.shared
                        .lock_lv(ctx, vg, &lv.name, Some(Mode::Un), persistent)
                });
            match ok {
                Err(e) if persistent => return Err(e),
                Err(_) => {
                    return Err(CmdError::failed(format!(
                        "LV {name}/{} must be inactive on all hosts.\n  Cannot change VG {name} with active LVs",
                        lv.name
                    )))
                }
                Ok(()) => {}
            }
        }
    }
    if vg.lock_args.as_deref().is_none_or(str::is_empty) {
        return Ok(());
    }
    let out = ctx.shared.lockd(ctx).and_then(|mut l| l.free_vg(vg));
    let Some(out) = out else {
        return Err(CmdError::failed(
            "_free_vg_sanlock lvmlockd result -216".to_string(),
        ));
    };
    if out.result == -code::EBUSY {
        return Err(CmdError::failed(format!(
            "Lockspace for \"{name}\" not stopped on other hosts"
        )));
    }
    if out.result < 0 {
        return Err(CmdError::failed(format!(
            "_free_vg_sanlock lvmlockd result {}",
            out.result
        )));
    }
    if out.flags.warn_gl_removed {
        ctx.warn(format!(
            "VG {name} held the sanlock global lock, enable global lock in another VG."
        ));
    }
    // As LVM2: give sanlock time to close the lvmlock LV before it goes.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let _ = Activation::new(ctx).deactivate_lv(ctx, found, crate::lockd::LVMLOCK_LV);
    Ok(())
}

/// `vgchange --locktype sanlock|none VG` (LVM2's `_vgchange_locktype`), after the VG lock.
pub fn change_lock_type(
    ctx: &Context,
    scan: &Scan,
    found: &FoundVg,
    lock_type: &str,
    force: bool,
) -> CmdResult {
    let vg = &found.metadata.vg;
    let name = vg.name.clone();
    if force {
        if lock_type != "none" {
            return Err(CmdError::failed(
                "Lock type can only be forced to \"none\" for recovery.",
            ));
        }
        let mut md = found.metadata.clone();
        md.vg.lock_type = None;
        md.vg.lock_args = None;
        md.vg.status.retain(|s| s != "CLUSTERED");
        for lv in &mut md.vg.lvs {
            lv.rare.lock_args = None;
        }
        ctx.commit_vg(scan, Some(found), &mut md)?;
        ctx.say(format!("Volume group \"{name}\" successfully changed"));
        return Ok(());
    }
    let now = vg.lock_type.clone().unwrap_or_else(|| "none".to_string());
    if now == lock_type {
        ctx.warn(format!(
            "New lock type {lock_type} matches the current lock type {now}."
        ));
        return Ok(());
    }
    if crate::lockd::is_lockd_type(Some(&now)) && crate::lockd::is_lockd_type(Some(lock_type)) {
        return Err(CmdError::failed(format!(
            "Cannot change lock type directly from \"{now}\" to \"{lock_type}\".\n  First change lock type to \"none\", then to \"{lock_type}\"."
        )));
    }
    match lock_type {
        "none" | "sanlock" => {}
        other => {
            return Err(CmdError::failed(format!(
                "Cannot change VG {name} to lock type {other}: oxlvm supports sanlock and none."
            )))
        }
    }
    let kernel = Activation::new(ctx);
    if vg
        .lvs
        .iter()
        .any(|lv| lv.name != crate::lockd::LVMLOCK_LV && kernel.is_active(vg, lv))
    {
        return Err(CmdError::failed(format!(
            "Changing VG {name} lock type not allowed with active LVs"
        )));
    }
    if lock_type == "sanlock" {
        // Stage 1: the lvmlock LV, big enough for every LV that needs a lease, and the lock
        // type; stage 2: the leases ("pending" lock_args resolved by the write).
        let count = vg
            .lvs
            .iter()
            .filter(|lv| crate::lockd::uses_lock(vg, lv))
            .count() as u64;
        let locked = init_vg_sanlock(ctx, scan, found, count)?;
        let mut md = locked.metadata.clone();
        let needing: Vec<usize> = (0..md.vg.lvs.len())
            .filter(|&i| crate::lockd::uses_lock(&md.vg, &md.vg.lvs[i]))
            .collect();
        for i in needing {
            md.vg.lvs[i].rare.lock_args = Some(crate::lockd::PENDING.to_string());
        }
        ctx.commit_vg(scan, Some(&locked), &mut md)?;
        // The lockspace is not started by this command: the lvmlock LV goes down again.
        let written = found_from(scan, &md);
        kernel
            .deactivate_lv(ctx, &written, crate::lockd::LVMLOCK_LV)
            .map_err(|e| {
                CmdError::failed(format!(
                    "{}\n  Failed to deativate {name}/{}.",
                    e.message(),
                    crate::lockd::LVMLOCK_LV
                ))
            })?;
    } else {
        free_vg(ctx, found, true, false)?;
        let mut md = found.metadata.clone();
        md.vg.lvs.retain(|l| l.name != crate::lockd::LVMLOCK_LV);
        md.vg.lock_type = None;
        md.vg.lock_args = None;
        for lv in &mut md.vg.lvs {
            lv.rare.lock_args = None;
        }
        md.vg.system_id = ctx.shared.local_system_id(ctx).id.clone();
        ctx.commit_vg(scan, Some(found), &mut md)?;
    }
    ctx.say(format!("Volume group \"{name}\" successfully changed"));
    Ok(())
}

/// The VG changes that LVM2 refuses on a VG owned by another host or without its lock are
/// checked by `Context::load_vg`; commands that find VGs another way call this.
pub fn check_access(ctx: &Context, found: &FoundVg) -> CmdResult {
    ctx.check_vg_access(found)
}
