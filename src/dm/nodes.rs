//! /dev entries for dm devices when no udev makes them (as in a rescue shell, a container or
//! the test VM): `/dev/mapper/<name>` block nodes and `/dev/<vg>/<lv>` symlinks to them,
//! created and removed the way LVM2 does with `verify_udev_operations`. Every step is
//! idempotent, so a node udev made first is simply kept.

use super::tables::DevNo;
use nix::sys::stat::{mknod, umask, Mode, SFlag};
use nix::unistd::{chown, Gid, Uid};
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The owner, group and mode LVM2 (as Debian builds it) gives dm nodes: root:disk 0660.
const NODE_GID: u32 = 6;
const NODE_MODE: u32 = 0o660;

/// Where the nodes go; `/dev` normally, a scratch directory in tests.
#[derive(Debug, Clone)]
pub struct DevDir {
    pub root: PathBuf,
    /// udev makes and removes the entries (its rules run, synchronised through a cookie): every
    /// step here is then left to it.
    pub udev_makes_nodes: bool,
}

impl Default for DevDir {
    fn default() -> Self {
        DevDir {
            root: PathBuf::from("/dev"),
            udev_makes_nodes: false,
        }
    }
}

fn mode_of(path: &Path) -> Option<fs::Metadata> {
    fs::symlink_metadata(path).ok()
}

impl DevDir {
    pub fn mapper_path(&self, name: &str) -> PathBuf {
        self.root.join("mapper").join(name)
    }

    pub fn lv_link_path(&self, vg: &str, lv: &str) -> PathBuf {
        self.root.join(vg).join(lv)
    }

    /// `/dev/mapper/<name>` as a block node for `dev` (replacing a stale one).
    pub fn add_node(&self, name: &str, dev: DevNo) -> io::Result<()> {
        self.add_node_hint(name, dev, false)
    }

    /// [`Self::add_node`]; `new`: the device was just created, so its node most likely does not
    /// exist yet: it is made straight away (one mknod and one chown), and only when something
    /// is in the way does the slower path look at what.
    pub fn add_node_hint(&self, name: &str, dev: DevNo, new: bool) -> io::Result<()> {
        if self.udev_makes_nodes {
            return Ok(());
        }
        let path = self.mapper_path(name);
        if new {
            match make_node(&path, dev) {
                Ok(()) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir_all(self.root.join("mapper"))?;
                    return make_node(&path, dev);
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(meta) = mode_of(&path) {
            if meta.file_type().is_block_device() && meta.rdev() == dev.to_dev_t() {
                return Ok(());
            }
            fs::remove_file(&path)?;
        }
        fs::create_dir_all(self.root.join("mapper"))?;
        make_node(&path, dev)
    }

    pub fn remove_node(&self, name: &str) -> io::Result<()> {
        if self.udev_makes_nodes {
            return Ok(());
        }
        match fs::remove_file(self.mapper_path(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// `/dev/<vg>/<lv>` -> `/dev/mapper/<name>`.
    pub fn add_lv_link(&self, vg: &str, lv: &str, name: &str) -> io::Result<()> {
        self.add_lv_link_hint(vg, lv, name, false)
    }

    /// [`Self::add_lv_link`]; `new`: the LV's device was just created, so the link is made
    /// straight away, and only an entry in the way makes it look at what is there.
    pub fn add_lv_link_hint(&self, vg: &str, lv: &str, name: &str, new: bool) -> io::Result<()> {
        if self.udev_makes_nodes {
            return Ok(());
        }
        let link = self.lv_link_path(vg, lv);
        let target = self.mapper_path(name);
        if new {
            match std::os::unix::fs::symlink(&target, &link) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if let Ok(existing) = fs::read_link(&link) {
            if existing == target {
                return Ok(());
            }
        }
        if mode_of(&link).is_some() {
            fs::remove_file(&link)?;
        }
        fs::create_dir_all(self.root.join(vg))?;
        std::os::unix::fs::symlink(&target, &link)
    }

    /// Removes `/dev/<vg>/<lv>`, and `/dev/<vg>` once it is empty.
    pub fn remove_lv_link(&self, vg: &str, lv: &str) -> io::Result<()> {
        if self.udev_makes_nodes {
            return Ok(());
        }
        let link = self.lv_link_path(vg, lv);
        if mode_of(&link).is_some_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&link)?;
        }
        // Gone once empty: rmdir refuses a directory that still has entries (no listing of
        // the directory per link, which made deactivating a VG quadratic in its LVs).
        let _ = fs::remove_dir(self.root.join(vg));
        Ok(())
    }
}

/// A block node for `dev` at `path` with LVM2's owner, group and mode: mknod under a zero
/// umask (so the mode is exact without a chmod), then the group.
fn make_node(path: &Path, dev: DevNo) -> io::Result<()> {
    let old = umask(Mode::empty());
    let made = mknod(
        path,
        SFlag::S_IFBLK,
        Mode::from_bits_truncate(NODE_MODE),
        dev.to_dev_t() as libc::dev_t,
    );
    umask(old);
    made.map_err(io::Error::from)?;
    // Ownership is cosmetic for root; a failure (e.g. in a user namespace) is not fatal.
    let _ = chown(path, Some(Uid::from_raw(0)), Some(Gid::from_raw(NODE_GID)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_come_and_go_with_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let dev = DevDir {
            root: dir.path().to_path_buf(),
            udev_makes_nodes: false,
        };
        dev.add_lv_link("vg", "lv", "vg-lv").unwrap();
        dev.add_lv_link("vg", "lv", "vg-lv").unwrap();
        assert_eq!(
            fs::read_link(dir.path().join("vg/lv")).unwrap(),
            dir.path().join("mapper/vg-lv")
        );
        dev.add_lv_link("vg", "lv2", "vg-lv2").unwrap();
        dev.remove_lv_link("vg", "lv").unwrap();
        assert!(dir.path().join("vg").exists(), "lv2 still there");
        dev.remove_lv_link("vg", "lv2").unwrap();
        assert!(!dir.path().join("vg").exists());
        dev.remove_lv_link("vg", "lv2").unwrap();
        dev.remove_node("gone").unwrap();
    }
}
