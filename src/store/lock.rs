//! The same flock files LVM2 uses (`P_global`, `V_<vg>`, `V_#orphans` in the locking dir), so
//! oxlvm and LVM2 running at once serialise on one set of locks and never interleave commits.

use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const DEFAULT_LOCKING_DIR: &str = "/run/lock/lvm";
/// LVM2's resource name for the lock that guards PVs outside any VG.
pub const ORPHANS: &str = "#orphans";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// A held lock; dropping it unlocks.
#[derive(Debug)]
pub struct LockGuard {
    _lock: Flock<File>,
    pub path: PathBuf,
}

pub struct Locker {
    dir: PathBuf,
}

impl Locker {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Locker { dir: dir.into() }
    }

    pub fn global(&self, mode: LockMode) -> io::Result<LockGuard> {
        self.lock_file(&self.dir.join("P_global"), mode)
    }

    /// Lock for a VG by name, or for the orphan PVs with [`ORPHANS`].
    pub fn vg(&self, vg_name: &str, mode: LockMode) -> io::Result<LockGuard> {
        self.lock_file(&self.dir.join(format!("V_{vg_name}")), mode)
    }

    fn lock_file(&self, path: &Path, mode: LockMode) -> io::Result<LockGuard> {
        std::fs::create_dir_all(&self.dir)?;
        let arg = match mode {
            LockMode::Shared => FlockArg::LockShared,
            LockMode::Exclusive => FlockArg::LockExclusive,
        };
        // The other tool may unlink a lock file between our open and our flock; lock the file
        // that is still at the path, retrying until the inode we hold is the one there.
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)?;
            let held = Flock::lock(file, arg).map_err(|(_, errno)| io::Error::from(errno))?;
            let ours = held.metadata()?.ino();
            match std::fs::metadata(path) {
                Ok(m) if m.ino() == ours => {
                    return Ok(LockGuard {
                        _lock: held,
                        path: path.to_path_buf(),
                    })
                }
                _ => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn exclusive_lock_excludes_across_processes_names() {
        let dir = std::env::temp_dir().join(format!("oxlvm-lock-{}", std::process::id()));
        let locker = Locker::new(&dir);
        let g = locker.vg("vg0", LockMode::Exclusive).unwrap();
        assert_eq!(g.path, dir.join("V_vg0"));
        // flock is per open file description: a second open in this process must wait.
        let dir2 = dir.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let l = Locker::new(dir2);
            let _g = l.vg("vg0", LockMode::Shared).unwrap();
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(g);
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_ok());
        t.join().unwrap();
        let _o = locker.vg(ORPHANS, LockMode::Exclusive).unwrap();
        assert!(dir.join("V_#orphans").exists());
        let _p = locker.global(LockMode::Exclusive).unwrap();
        assert!(dir.join("P_global").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
