//! Thin LV transactions for clients of the core (the container store today): one locked VG
//! session that plans a VG edit, commits it with the thin pool's pending messages, sends them
//! to the kernel, and commits again with the messages cleared, as LVM2's update_pool_lv does.
//! After a commit the session's scan follows the write in memory (each written area's new
//! header and text, as a new scan under the same lock would read them), so the next write
//! lands after the one before it without reading the disks again; only a write that changed
//! more than the areas (a PV label) makes the next step read them. The VG is archived before
//! the session's first write only, and the backup file is written after a transaction's last
//! write, as LVM2 does both once per command.

use super::context::{CommitSteps, Context};
use super::lv_activate::{ActivateOptions, Activation};
use super::lv_plan::{add_thin, remove_lv, thin_pool_seg, thin_seg};
use crate::error::{CmdError, CmdResult};
use crate::store::lock::{LockGuard, LockMode};
use crate::store::scan::{FoundVg, Scan};
use metadata_format::text::{Id, SegmentKind, ThinMessage, VolumeGroup};

/// One change to the thin LVs of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThinOp {
    /// A new thin LV (`origin: None`) or thin snapshot of `origin`, `extents` long (a snapshot
    /// may be given more extents than its origin: its virtual size grows).
    Create {
        name: String,
        origin: Option<String>,
        extents: u32,
        tags: Vec<String>,
        read_only: bool,
    },
    /// Removes the thin LV (it is deactivated first; refused while open).
    Delete { name: String },
}

/// A VG held under its exclusive lock: read, changed and written as one command's session.
/// After a commit the VG and scan in memory are the ones written (see the module's notes).
pub struct VgSession<'c> {
    pub ctx: &'c Context,
    scan: Scan,
    found: FoundVg,
    pub kernel: Activation,
    name: String,
    /// A commit happened since `scan`/`found` were read from the disks and they could not
    /// follow it in memory.
    stale: bool,
    /// The VG as read was archived (LVM2 archives once per command, before its first write).
    archived: bool,
    _lock: LockGuard,
}

impl<'c> VgSession<'c> {
    /// Locks and reads `vg_name`; refuses a partial or read-only VG.
    pub fn open(ctx: &'c Context, vg_name: &str) -> CmdResult<VgSession<'c>> {
        let lock = ctx.lock_vg(vg_name, LockMode::Exclusive)?;
        let scan = ctx.scan()?;
        VgSession::with_lock(ctx, vg_name, lock, scan)
    }

    /// The session of `vg_name` from its exclusive `lock` and a `scan` made while holding it
    /// (a caller that scanned under the lock already need not scan again).
    pub fn with_lock(
        ctx: &'c Context,
        vg_name: &str,
        lock: LockGuard,
        scan: Scan,
    ) -> CmdResult<VgSession<'c>> {
        let found = ctx.load_vg(&scan, vg_name)?;
        if found.is_partial() {
            return Err(CmdError::failed(format!(
                "Cannot change VG {vg_name} while PVs are missing; restore them or run vgreduce --removemissing."
            )));
        }
        if !found.metadata.vg.status.iter().any(|s| s == "WRITE") {
            return Err(CmdError::failed(format!(
                "Volume group {vg_name} is read-only; change it with vgchange -p rw first."
            )));
        }
        Ok(VgSession {
            ctx,
            scan,
            found,
            kernel: Activation::new(ctx),
            name: vg_name.to_string(),
            stale: false,
            archived: false,
            _lock: lock,
        })
    }

    pub fn vg(&self) -> &VolumeGroup {
        &self.found.metadata.vg
    }

    /// Reads the disks again if a commit happened that the scan could not follow in memory.
    fn refresh(&mut self) -> CmdResult {
        if self.stale {
            self.scan = self.ctx.scan()?;
            self.found = self.ctx.load_vg(&self.scan, &self.name)?;
            self.stale = false;
        }
        Ok(())
    }

    /// Writes `vg` as the VG's next version (the VG in memory becomes it), with the backup
    /// file.
    pub fn commit(&mut self, vg: VolumeGroup) -> CmdResult {
        self.commit_with_backup(vg, true)
    }

    /// [`VgSession::commit`]; `backup: false` leaves the backup file to a commit that follows.
    /// The scan follows the write in memory (the areas' new headers and text), so the next
    /// step does not read the disks again.
    fn commit_with_backup(&mut self, vg: VolumeGroup, backup: bool) -> CmdResult {
        if let Some(p) = vg.dangling_references().first() {
            return Err(CmdError::failed(format!(
                "Internal error: planned metadata is inconsistent: {p}"
            )));
        }
        self.refresh()?;
        let mut md = self.found.metadata.clone();
        md.vg = vg;
        let steps = CommitSteps {
            archive: !self.archived,
            backup,
        };
        let written = self
            .ctx
            .commit_vg_steps(&self.scan, Some(&self.found), &mut md, steps)?;
        self.archived = true;
        self.found.metadata = md;
        self.stale = !written.apply(&mut self.scan, &mut self.found);
        Ok(())
    }

    /// Activates `lv` (and what it needs) as the VG now says.
    pub fn activate(&mut self, lv: &str) -> CmdResult {
        self.refresh()?;
        self.kernel.activate_lv(
            self.ctx,
            &self.scan,
            &self.found,
            lv,
            ActivateOptions::default(),
        )
    }

    /// Deactivates `lv` if it is active (refused while open).
    pub fn deactivate(&mut self, lv: &str) -> CmdResult {
        self.refresh()?;
        match self.vg().lv(lv) {
            Some(l) if self.kernel.is_active(self.vg(), l) => {
                self.kernel.deactivate_lv(self.ctx, &self.found, lv)
            }
            _ => Ok(()),
        }
    }

    /// Applies `ops` to the thin LVs of `pool` as one pool transaction, with `edit` (tags,
    /// permissions of other LVs) in the same first commit. The pool's transaction id moves on
    /// by one for the whole batch; its messages are sent once the first commit is on disk.
    pub fn thin_transaction(
        &mut self,
        pool: &str,
        ops: &[ThinOp],
        edit: &mut dyn FnMut(&mut VolumeGroup) -> CmdResult,
    ) -> CmdResult {
        let mut vg = self.vg().clone();
        let old_tx = vg
            .lv(pool)
            .and_then(thin_pool_seg)
            .map(|p| p.transaction_id)
            .ok_or_else(|| CmdError::failed(format!("{}/{pool} is not a thin pool.", self.name)))?;
        if ops.is_empty() {
            edit(&mut vg)?;
            return self.commit(vg);
        }
        if !self.kernel.available() {
            return Err(CmdError::failed(format!(
                "Cannot change thin LVs of {}/{pool} without device-mapper: the pool's kernel metadata must follow.",
                self.name
            )));
        }
        // A pool that never held a thin LV is active as one device; once it does it needs the
        // -tpool layer, so a new pool is taken down before its first message.
        if old_tx == 0 {
            self.deactivate(pool)?;
        }
        let mut messages: Vec<ThinMessage> = Vec::new();
        for op in ops {
            if let ThinOp::Delete { name } = op {
                let lv = vg.lv(name).ok_or_else(|| {
                    CmdError::failed(format!("Logical volume {}/{name} not found.", self.name))
                })?;
                let t = thin_seg(lv)
                    .filter(|t| t.thin_pool == pool)
                    .ok_or_else(|| {
                        CmdError::failed(format!(
                            "{}/{name} is not a thin LV of {pool}.",
                            self.name
                        ))
                    })?;
                messages.push(ThinMessage::Delete(t.device_id));
                self.deactivate(name)?;
                remove_lv(&mut vg, name);
            }
        }
        let now = self.ctx.host.now;
        let host = self.ctx.host.node.clone();
        for op in ops {
            if let ThinOp::Create {
                name,
                origin,
                extents,
                tags,
                read_only,
            } = op
            {
                if vg.lv(name).is_some() {
                    return Err(CmdError::failed(format!(
                        "Logical Volume \"{name}\" already exists in volume group \"{}\"",
                        self.name
                    )));
                }
                add_thin(
                    &mut vg,
                    pool,
                    name,
                    *extents,
                    origin.as_deref(),
                    new_lv_id(),
                    now,
                    &host,
                )
                .map_err(CmdError::failed)?;
                if let Some(lv) = vg.lv_mut(name) {
                    lv.tags.extend(tags.iter().cloned());
                    if *read_only {
                        lv.status.retain(|s| s != "WRITE");
                    }
                    if let Some(SegmentKind::Thin(t)) = lv.segments.first_mut().map(|s| &mut s.kind)
                    {
                        t.transaction_id = old_tx;
                    }
                }
                messages.push(ThinMessage::Create(name.clone()));
            }
        }
        if let Some(SegmentKind::ThinPool(p)) = vg
            .lv_mut(pool)
            .and_then(|l| l.segments.first_mut())
            .map(|s| &mut s.kind)
        {
            p.transaction_id = old_tx + 1;
            p.messages = messages;
        }
        edit(&mut vg)?;
        self.commit_with_backup(vg, false)?;
        self.refresh()?;
        // The kernel follows: a pool coming up sends them on activation, a live one now.
        let opts = ActivateOptions {
            send_messages: true,
            ..ActivateOptions::default()
        };
        let sent = self
            .kernel
            .activate_lv(self.ctx, &self.scan, &self.found, pool, opts)
            .and_then(|_| {
                self.kernel
                    .commit_pool_messages(self.ctx, &self.found, pool)
            });
        if let Err(e) = sent {
            // The first commit left the backup file to the second; this is the last.
            self.ctx.backup_vg(&self.found.metadata);
            return Err(e);
        }
        let mut vg = self.vg().clone();
        if let Some(SegmentKind::ThinPool(p)) = vg
            .lv_mut(pool)
            .and_then(|l| l.segments.first_mut())
            .map(|s| &mut s.kind)
        {
            p.messages.clear();
        }
        self.commit(vg)
    }
}

fn new_lv_id() -> Id {
    crate::host::new_id()
}
