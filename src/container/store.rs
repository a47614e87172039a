//! The store: which VG and thin pool hold the images and containers, and the LV work they
//! need through the core (VgSession: plan -> commit_vg -> activation), plus the edges
//! (mkfs.ext4, resize2fs, mount) that turn a thin LV into a filesystem tree.

use super::record::{Catalog, POOL_TAG};
use crate::cli::CommonArgs;
use crate::commands::context::Context;
use crate::commands::lv_activate::Activation;
use crate::commands::thin_txn::{ThinOp, VgSession};
use crate::error::{CmdError, CmdResult};
use crate::store::lock::{LockGuard, LockMode};
use crate::store::scan::Scan;
use metadata_format::text::VolumeGroup;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runtime state lives here only (pids, mounts); everything lasting is in the VG.
pub const RUN_DIR: &str = "/run/oxlvm";

pub fn failed(e: impl Into<String>) -> CmdError {
    CmdError::failed(e)
}

pub struct Store {
    pub ctx: Context,
    pub vg: String,
    pub pool: String,
    /// The VG as last read or written by this process (each scan costs a pass over the disks).
    cache: std::cell::RefCell<Option<VolumeGroup>>,
    /// [`Store::open_to_write`]: the VG's exclusive lock and the scan made under it, for the
    /// first session to use instead of locking and scanning again.
    held: std::cell::RefCell<Option<(LockGuard, Scan)>>,
}

impl Store {
    /// The store of `vg` (or of `OXLVM_VG`, or of the one VG whose pool is tagged
    /// `oxlvm_pool`).
    pub fn open(common: &CommonArgs, argv: &[OsString], vg: Option<&str>) -> CmdResult<Store> {
        Store::open_mode(common, argv, vg, false)
    }

    /// [`Store::open`] for a command whose next step is a write (`container create`): with
    /// the VG named (`--vg`, `OXLVM_VG`) its exclusive lock is taken at once and the one scan
    /// made under it serves the first transaction too. Any later lock is taken after that
    /// transaction, so nothing waits for this process's own lock.
    pub fn open_to_write(
        common: &CommonArgs,
        argv: &[OsString],
        vg: Option<&str>,
    ) -> CmdResult<Store> {
        Store::open_mode(common, argv, vg, true)
    }

    fn open_mode(
        common: &CommonArgs,
        argv: &[OsString],
        vg: Option<&str>,
        write: bool,
    ) -> CmdResult<Store> {
        let ctx = Context::new(common, argv)?;
        let wanted = vg
            .map(str::to_string)
            .or_else(|| std::env::var("OXLVM_VG").ok().filter(|v| !v.is_empty()));
        if let (true, Some(name)) = (write, &wanted) {
            let lock = ctx.lock_vg(name, LockMode::Exclusive)?;
            let scan = ctx.scan()?;
            let found = ctx
                .load_vg(&scan, name)
                .map_err(|_| failed(format!("Volume group \"{name}\" not found")))?;
            let pool = Catalog::read(&found.metadata.vg).pool.ok_or_else(|| {
                failed(format!(
                    "Volume group {name} holds no image store; make one with 'oxlvm image init {name}'."
                ))
            })?;
            return Ok(Store {
                vg: name.clone(),
                pool,
                cache: std::cell::RefCell::new(Some(found.metadata.vg)),
                held: std::cell::RefCell::new(Some((lock, scan))),
                ctx,
            });
        }
        let scan = ctx.scan()?;
        let names = match &wanted {
            Some(v) => vec![v.clone()],
            None => scan.vg_names(),
        };
        let mut hits: Vec<(String, String, VolumeGroup)> = Vec::new();
        for name in names {
            let _lock = ctx.lock_vg(&name, LockMode::Shared)?;
            let Ok(found) = ctx.load_vg(&scan, &name) else {
                if wanted.is_some() {
                    return Err(failed(format!("Volume group \"{name}\" not found")));
                }
                continue;
            };
            if let Some(pool) = Catalog::read(&found.metadata.vg).pool {
                hits.push((name, pool, found.metadata.vg));
            }
        }
        match hits.len() {
            1 => {
                let (vg, pool, read) = hits.remove(0);
                Ok(Store {
                    ctx,
                    vg,
                    pool,
                    cache: std::cell::RefCell::new(Some(read)),
                    held: std::cell::RefCell::new(None),
                })
            }
            0 => Err(failed(match wanted {
                Some(v) => format!(
                    "Volume group {v} holds no image store; make one with 'oxlvm image init {v}'."
                ),
                None => "No image store found; make one with 'oxlvm image init VG'.".to_string(),
            })),
            _ => Err(failed(format!(
                "Several VGs hold an image store ({}); pick one with --vg or OXLVM_VG.",
                hits.iter()
                    .map(|(v, _, _)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The VG as this process last read or wrote it (a fresh read the first time).
    pub fn read_vg(&self) -> CmdResult<VolumeGroup> {
        if let Some(vg) = self.cache.borrow().as_ref() {
            return Ok(vg.clone());
        }
        self.reread_vg()
    }

    /// The VG as it is on disk now (shared lock for the read).
    pub fn reread_vg(&self) -> CmdResult<VolumeGroup> {
        // A lock still held from open_to_write is let go first (flock does not nest).
        drop(self.held.borrow_mut().take());
        let _lock = self.ctx.lock_vg(&self.vg, LockMode::Shared)?;
        let scan = self.ctx.scan()?;
        let vg = self.ctx.load_vg(&scan, &self.vg)?.metadata.vg;
        *self.cache.borrow_mut() = Some(vg.clone());
        Ok(vg)
    }

    pub fn catalog(&self) -> CmdResult<Catalog> {
        Ok(Catalog::read(&self.read_vg()?))
    }

    /// The VG's session: with the lock and scan held since open_to_write, else locked and
    /// read now.
    fn any_session(&self) -> CmdResult<VgSession<'_>> {
        let held = self.held.borrow_mut().take();
        match held {
            Some((lock, scan)) => VgSession::with_lock(&self.ctx, &self.vg, lock, scan),
            None => VgSession::open(&self.ctx, &self.vg),
        }
    }

    pub fn session(&self) -> CmdResult<VgSession<'_>> {
        let s = self.any_session()?;
        if !s.kernel.available() {
            return Err(failed(
                "Images and containers need device-mapper (the kernel has none here, or --driverloaded n).",
            ));
        }
        Ok(s)
    }

    /// One thin transaction on the store's pool.
    pub fn transact(
        &self,
        ops: &[ThinOp],
        edit: &mut dyn FnMut(&mut VolumeGroup) -> CmdResult,
    ) -> CmdResult {
        self.transact_and_activate(ops, edit, &[])
    }

    /// A thin transaction, then `activate` activated under the same lock and read.
    pub fn transact_and_activate(
        &self,
        ops: &[ThinOp],
        edit: &mut dyn FnMut(&mut VolumeGroup) -> CmdResult,
        activate: &[String],
    ) -> CmdResult {
        *self.cache.borrow_mut() = None;
        let mut s = self.session()?;
        s.thin_transaction(&self.pool, ops, edit)?;
        *self.cache.borrow_mut() = Some(s.vg().clone());
        for lv in activate {
            s.activate(lv)?;
        }
        Ok(())
    }

    pub fn dev_path(&self, lv: &str) -> PathBuf {
        PathBuf::from(format!("/dev/{}/{lv}", self.vg))
    }

    pub fn extent_bytes(&self, vg: &VolumeGroup) -> u64 {
        u64::from(vg.extent_size) * 512
    }

    /// Activates `lv` (read-only if its metadata says so) unless it is active already.
    pub fn activate(&self, lv: &str) -> CmdResult {
        if self.is_active(lv) {
            return Ok(());
        }
        let mut s = self.session()?;
        s.activate(lv)?;
        *self.cache.borrow_mut() = Some(s.vg().clone());
        Ok(())
    }

    /// Deactivates `lv`; a device still open (mounted elsewhere) stays, which is not an error.
    pub fn deactivate_quietly(&self, lv: &str) {
        self.deactivate_all_quietly(&[lv.to_string()]);
    }

    /// Deactivates each of `lvs` that is active, under one lock and read.
    pub fn deactivate_all_quietly(&self, lvs: &[String]) {
        if !lvs.iter().any(|l| self.is_active(l)) {
            return;
        }
        if let Ok(mut s) = self.any_session() {
            for lv in lvs {
                let _ = s.deactivate(lv);
            }
        }
    }

    /// Whether `lv`'s own device is live (a dm lookup; no scan).
    pub fn is_active(&self, lv: &str) -> bool {
        let Ok(vg) = self.read_vg() else { return false };
        let kernel = Activation::new(&self.ctx);
        vg.lv(lv).is_some_and(|l| kernel.is_active(&vg, l))
    }
}

/// Runs a helper program; its stderr becomes the error.
pub fn run_tool(program: &str, args: &[&str]) -> CmdResult<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| failed(format!("Cannot run {program}: {e} (install e2fsprogs)")))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let first = msg
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(failed(format!(
            "{program} {} failed: {first}",
            args.join(" ")
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn mkfs(dev: &Path, label: &str) -> CmdResult {
    let dev = dev.to_string_lossy();
    let label: String = label.chars().take(16).collect();
    run_tool(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-m",
            "0",
            "-L",
            &label,
            "-E",
            "nodiscard,lazy_itable_init=1,lazy_journal_init=1",
            &dev,
        ],
    )
    .map(|_| ())
}

/// Grows the filesystem on `dev` to fill it (offline: the LV is not mounted).
pub fn grow_fs(dev: &Path) -> CmdResult {
    let dev = dev.to_string_lossy();
    run_tool("resize2fs", &["-f", &dev]).map(|_| ())
}

/// A mounted ext4 LV, unmounted on drop.
pub struct Mounted {
    pub dir: PathBuf,
    mounted: bool,
}

impl Mounted {
    pub fn mount(dev: &Path, dir: &Path, read_only: bool) -> CmdResult<Mounted> {
        std::fs::create_dir_all(dir)
            .map_err(|e| failed(format!("Cannot create {}: {e}", dir.display())))?;
        let mut flags = nix::mount::MsFlags::MS_NOATIME;
        if read_only {
            flags |= nix::mount::MsFlags::MS_RDONLY;
        }
        nix::mount::mount(Some(dev), dir, Some("ext4"), flags, None::<&str>).map_err(|e| {
            failed(format!(
                "Cannot mount {} on {}: {e}",
                dev.display(),
                dir.display()
            ))
        })?;
        Ok(Mounted {
            dir: dir.to_path_buf(),
            mounted: true,
        })
    }

    /// The container's (or image's) root inside the LV's filesystem.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn unmount(mut self) -> CmdResult {
        self.mounted = false;
        unmount_dir(&self.dir)
    }

    /// Leaves the filesystem mounted past this value (the runtime unmounts it).
    pub fn keep(mut self) {
        self.mounted = false;
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if self.mounted {
            let _ = unmount_dir(&self.dir);
        }
    }
}

pub fn unmount_dir(dir: &Path) -> CmdResult {
    nix::mount::umount2(dir, nix::mount::MntFlags::empty())
        .or_else(|_| nix::mount::umount2(dir, nix::mount::MntFlags::MNT_DETACH))
        .map_err(|e| failed(format!("Cannot unmount {}: {e}", dir.display())))?;
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

/// Whether `dir` is a mount point now (from /proc/self/mountinfo).
pub fn is_mounted(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = dir.to_string_lossy();
    text.lines()
        .any(|l| l.split(' ').nth(4).is_some_and(|m| m == want))
}

/// A scratch mount point for `lv` under /run/oxlvm.
pub fn scratch_dir(lv: &str) -> PathBuf {
    PathBuf::from(RUN_DIR)
        .join("mnt")
        .join(format!("{lv}.{}", std::process::id()))
}

/// Mounts `lv` (activating it) for a short job, and takes it down again afterwards.
pub fn with_mounted<T>(
    store: &Store,
    lv: &str,
    read_only: bool,
    job: impl FnOnce(&Mounted) -> CmdResult<T>,
) -> CmdResult<T> {
    store.activate(lv)?;
    let result = (|| {
        let m = Mounted::mount(&store.dev_path(lv), &scratch_dir(lv), read_only)?;
        let out = job(&m);
        let unmounted = m.unmount();
        let out = out?;
        unmounted?;
        Ok(out)
    })();
    store.deactivate_quietly(lv);
    result
}

/// Extents for `bytes`, rounded up.
pub fn extents_for(bytes: u64, vg: &VolumeGroup) -> u32 {
    let e = u64::from(vg.extent_size) * 512;
    u32::try_from(bytes.div_ceil(e).max(1)).unwrap_or(u32::MAX)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 64 random hex digits.
pub fn random_id() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{}{}", a.simple(), b.simple())
}

/// The pool tag on `pool` (image init).
pub fn mark_pool(vg: &mut VolumeGroup, pool: &str) -> CmdResult {
    let lv = vg
        .lv_mut(pool)
        .ok_or_else(|| failed(format!("{pool} vanished")))?;
    if !lv.tags.iter().any(|t| t == POOL_TAG) {
        lv.tags.push(POOL_TAG.to_string());
    }
    Ok(())
}
