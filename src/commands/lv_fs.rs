//! `lvextend/lvreduce/lvresize -r`: the file system on an active LV resized with it, as LVM2
//! does through fsadm. ext2/3/4 (e2fsck, resize2fs) and xfs (xfs_repair -n, xfs_growfs; xfs
//! cannot shrink). The order is LVM2's: check the file system (unless `-n`; skipped while it is
//! mounted), shrink it before the LV is reduced, grow it after the LV is extended. Whatever can
//! be refused (no file system, xfs shrink, a mounted ext file system to shrink) is refused
//! before anything changes.

use crate::error::{CmdError, CmdResult};
use crate::store::device::DiskDevice;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file system found at the start of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsKind {
    /// ext2/3/4: block size, block count, last mount and last check times.
    Ext {
        block_size: u64,
        blocks: u64,
        mount_time: u32,
        check_time: u32,
    },
    Xfs {
        block_size: u64,
        blocks: u64,
    },
}

impl FsKind {
    pub fn name(&self) -> &'static str {
        match self {
            FsKind::Ext { .. } => "ext4",
            FsKind::Xfs { .. } => "xfs",
        }
    }

    fn geometry(&self) -> (u64, u64) {
        match *self {
            FsKind::Ext {
                block_size, blocks, ..
            }
            | FsKind::Xfs { block_size, blocks } => (block_size, blocks),
        }
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

fn be64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// The file system whose superblock `head` (the first 4 KiB of the device) holds.
pub fn detect(head: &[u8]) -> Option<FsKind> {
    if head.get(0..4) == Some(b"XFSB") {
        let block_size = u64::from(be32(head, 4));
        let blocks = be64(head, 8);
        return (block_size > 0).then_some(FsKind::Xfs { block_size, blocks });
    }
    // ext2/3/4: the superblock at 1024, magic 0xEF53 at its byte 56.
    let sb = head.get(1024..)?;
    if sb.get(56..58) != Some(&[0x53, 0xEF][..]) {
        return None;
    }
    let log = le32(sb, 24);
    if log > 6 {
        return None;
    }
    let block_size = 1024u64 << log;
    let mut blocks = u64::from(le32(sb, 4));
    // INCOMPAT_64BIT: the high half of the block count.
    if le32(sb, 96) & 0x80 != 0 {
        blocks |= u64::from(le32(sb, 0x150)) << 32;
    }
    Some(FsKind::Ext {
        block_size,
        blocks,
        mount_time: le32(sb, 44),
        check_time: le32(sb, 64),
    })
}

/// How far into a new LV the known signatures reach (btrfs's superblock at 64 KiB).
pub const SIGNATURE_SPAN: u64 = 68 * 1024;

/// A signature found on a device: blkid's type name, the offset and length of its magic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub kind: &'static str,
    pub offset: u64,
    pub len: u64,
}

/// The signatures blkid would report on a device that starts with `head` (up to
/// [`SIGNATURE_SPAN`] bytes): file systems (ext2/3/4, xfs, btrfs), swap, LUKS, an LVM2 PV
/// label and an MD 1.1/1.2 superblock.
pub fn signatures(head: &[u8]) -> Vec<Signature> {
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    let mut found = Vec::new();
    let mut add = |kind: &'static str, offset: usize, len: usize| {
        found.push(Signature {
            kind,
            offset: offset as u64,
            len: len as u64,
        })
    };
    if at(0, b"XFSB") {
        add("xfs", 0, 4);
    }
    if at(0, b"LUKS\xba\xbe") {
        add("crypto_LUKS", 0, 6);
    }
    if at(1080, &[0x53, 0xEF]) {
        let sb = &head[1024..];
        let (compat, incompat, ro) = (le32(sb, 92), le32(sb, 96), le32(sb, 100));
        // blkid's ext4 features (extents, 64bit, flex_bg; huge_file, gdt_csum, dir_nlink,
        // extra_isize), then ext3's journal.
        let kind = if incompat & 0x2c0 != 0 || ro & 0x78 != 0 {
            "ext4"
        } else if compat & 0x4 != 0 {
            "ext3"
        } else {
            "ext2"
        };
        add(kind, 1080, 2);
    }
    if at(512, b"LABELONE") {
        add("LVM2_member", 512, 8);
    }
    for magic in [&b"SWAPSPACE2"[..], b"SWAP-SPACE"] {
        if at(4086, magic) {
            add("swap", 4086, 10);
        }
    }
    for off in [0usize, 4096] {
        if at(off, &0xa92b_4efcu32.to_le_bytes()) {
            add("linux_raid_member", off, 4);
        }
    }
    if at(65536 + 64, b"_BHRfS_M") {
        add("btrfs", 65536 + 64, 8);
    }
    found.sort_by_key(|s| s.offset);
    found
}

/// Unescapes a mountinfo path (`\040` for a space, ...).
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).ok();
            if let Some(v) = oct.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where device `major:minor` is mounted, from a mountinfo text: a mount of its root when
/// there is one, else any (a bind mount of a directory in it).
pub fn mount_point(mountinfo: &str, major: u32, minor: u32) -> Option<PathBuf> {
    let dev = format!("{major}:{minor}");
    let mut found: Option<(bool, PathBuf)> = None;
    for l in mountinfo.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        if f.get(2) != Some(&dev.as_str()) {
            continue;
        }
        let Some(at) = f.get(4) else { continue };
        let root = f.get(3) == Some(&"/");
        if found.as_ref().is_none_or(|(r, _)| !r && root) {
            found = Some((root, PathBuf::from(unescape(at))));
        }
    }
    found.map(|(_, p)| p)
}

/// One resize of an LV's file system, decided before the LV changes.
pub struct FsResize {
    dev: PathBuf,
    kind: FsKind,
    mounted: Option<PathBuf>,
    new_blocks: u64,
    shrink: bool,
}

fn run(program: &str, args: &[&str], package: &str) -> CmdResult<i32> {
    let status = Command::new(program).args(args).status().map_err(|e| {
        CmdError::failed(format!(
            "Cannot run {program}: {e}; install {package} or run without -r."
        ))
    })?;
    Ok(status.code().unwrap_or(-1))
}

fn fs_failed(what: &str) -> CmdError {
    CmdError::failed(what.to_string())
}

impl FsResize {
    /// Reads the file system of the active LV at `dev` (device `major:minor`) and decides the
    /// resize to `new_bytes`; refuses what cannot be done, before anything changes.
    pub fn plan(
        lv_label: &str,
        dev: &Path,
        devno: (u32, u32),
        new_bytes: u64,
    ) -> CmdResult<FsResize> {
        let head = DiskDevice::open_read(dev)
            .and_then(|d| d.read_owned(0, 4096))
            .map_err(|e| CmdError::failed(format!("Cannot read {}: {e}", dev.display())))?;
        let kind = detect(&head).ok_or_else(|| {
            CmdError::failed(format!(
                "No ext2/3/4 or xfs file system found on {} to resize with {lv_label}; run without -r.",
                dev.display()
            ))
        })?;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mounted = mount_point(&mountinfo, devno.0, devno.1);
        let (block_size, blocks) = kind.geometry();
        let new_blocks = new_bytes / block_size;
        let shrink = new_blocks < blocks;
        match (&kind, &mounted) {
            (FsKind::Xfs { .. }, _) if shrink => {
                return Err(CmdError::failed(format!(
                    "Cannot reduce {lv_label} with -r: xfs file systems cannot shrink."
                )));
            }
            (FsKind::Ext { .. }, Some(at)) if shrink => {
                return Err(CmdError::failed(format!(
                    "Cannot reduce {lv_label} with -r: its ext file system is mounted on {}; unmount it first.",
                    at.display()
                )));
            }
            _ => {}
        }
        Ok(FsResize {
            dev: dev.to_path_buf(),
            kind,
            mounted,
            new_blocks,
            shrink,
        })
    }

    pub fn shrinks(&self) -> bool {
        self.shrink
    }

    /// fsadm's check: e2fsck -p (with -f when mounted since the last check), xfs_repair -n.
    /// A mounted file system is not checked.
    pub fn check(&self) -> CmdResult {
        if self.mounted.is_some() {
            return Ok(());
        }
        let dev = self.dev.to_string_lossy();
        let ok = match self.kind {
            FsKind::Ext {
                mount_time,
                check_time,
                ..
            } => {
                let mut args = vec!["-p"];
                if mount_time > check_time {
                    args.insert(0, "-f");
                }
                args.push(&dev);
                // 1: errors corrected.
                matches!(run("e2fsck", &args, "e2fsprogs")?, 0 | 1)
            }
            FsKind::Xfs { .. } => {
                run(
                    "xfs_repair",
                    &["-n", "-o", "force_geometry", &dev],
                    "xfsprogs",
                )? == 0
            }
        };
        if !ok {
            return Err(fs_failed("Filesystem check failed."));
        }
        Ok(())
    }

    /// Resizes the file system to the planned size (after the LV grew, or before it shrinks).
    pub fn resize(&self) -> CmdResult {
        let dev = self.dev.to_string_lossy();
        let ok = match self.kind {
            FsKind::Ext { .. } => {
                let blocks = self.new_blocks.to_string();
                run("resize2fs", &[&dev, &blocks], "e2fsprogs")? == 0
            }
            FsKind::Xfs { .. } => match &self.mounted {
                Some(at) => run("xfs_growfs", &[&at.to_string_lossy()], "xfsprogs")? == 0,
                None => self.grow_xfs_unmounted()?,
            },
        };
        if !ok {
            return Err(fs_failed("Filesystem resize failed."));
        }
        Ok(())
    }

    /// xfs grows only mounted: mount it on a temporary directory, grow, unmount (as fsadm).
    fn grow_xfs_unmounted(&self) -> CmdResult<bool> {
        use nix::mount::{mount, umount, MsFlags};
        let dir = std::env::temp_dir().join(format!("oxlvm-xfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| CmdError::failed(format!("Cannot make {}: {e}", dir.display())))?;
        let mounted = mount(
            Some(self.dev.as_path()),
            &dir,
            Some("xfs"),
            MsFlags::empty(),
            None::<&str>,
        );
        if let Err(e) = mounted {
            let _ = std::fs::remove_dir(&dir);
            return Err(CmdError::failed(format!(
                "Cannot mount the xfs file system of {} to grow it: {e}",
                self.dev.display()
            )));
        }
        let grown = run("xfs_growfs", &[&dir.to_string_lossy()], "xfsprogs");
        let unmounted = umount(&dir);
        let _ = std::fs::remove_dir(&dir);
        let grown = grown?;
        if let Err(e) = unmounted {
            return Err(CmdError::failed(format!(
                "Cannot unmount {} after growing it: {e}",
                dir.display()
            )));
        }
        Ok(grown == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superblocks_are_recognised() {
        let mut head = vec![0u8; 4096];
        assert_eq!(detect(&head), None);
        head[..4].copy_from_slice(b"XFSB");
        head[4..8].copy_from_slice(&4096u32.to_be_bytes());
        head[8..16].copy_from_slice(&8192u64.to_be_bytes());
        assert_eq!(
            detect(&head),
            Some(FsKind::Xfs {
                block_size: 4096,
                blocks: 8192
            })
        );
        let mut head = vec![0u8; 4096];
        let sb = 1024;
        head[sb + 4..sb + 8].copy_from_slice(&16384u32.to_le_bytes());
        head[sb + 24..sb + 28].copy_from_slice(&0u32.to_le_bytes());
        head[sb + 44..sb + 48].copy_from_slice(&200u32.to_le_bytes());
        head[sb + 56..sb + 58].copy_from_slice(&0xEF53u16.to_le_bytes());
        head[sb + 64..sb + 68].copy_from_slice(&100u32.to_le_bytes());
        assert_eq!(
            detect(&head),
            Some(FsKind::Ext {
                block_size: 1024,
                blocks: 16384,
                mount_time: 200,
                check_time: 100
            })
        );
        // 64-bit block counts.
        head[sb + 24..sb + 28].copy_from_slice(&2u32.to_le_bytes());
        head[sb + 96..sb + 100].copy_from_slice(&0x80u32.to_le_bytes());
        head[sb + 0x150..sb + 0x154].copy_from_slice(&1u32.to_le_bytes());
        assert!(matches!(
            detect(&head),
            Some(FsKind::Ext { block_size: 4096, blocks, .. }) if blocks == (1 << 32) + 16384
        ));
    }

    #[test]
    fn signatures_are_found_where_blkid_finds_them() {
        let mut head = vec![0u8; SIGNATURE_SPAN as usize];
        assert!(signatures(&head).is_empty());
        head[1080..1082].copy_from_slice(&[0x53, 0xEF]);
        head[1024 + 96] = 0x40;
        head[4086..4096].copy_from_slice(b"SWAPSPACE2");
        head[65600..65608].copy_from_slice(b"_BHRfS_M");
        let kinds: Vec<(&str, u64)> = signatures(&head)
            .iter()
            .map(|s| (s.kind, s.offset))
            .collect();
        assert_eq!(kinds, [("ext4", 1080), ("swap", 4086), ("btrfs", 65600)]);
        head[1024 + 96] = 0;
        head[1024 + 92] = 0x4;
        assert_eq!(signatures(&head)[0].kind, "ext3");
    }

    #[test]
    fn mount_points_come_from_mountinfo() {
        let info = "22 1 0:20 / / rw - tmpfs none rw\n\
                    40 22 253:3 / /mnt/a\\040b rw,relatime - ext4 /dev/mapper/vg-lv rw\n\
                    41 22 253:4 /sub /mnt/bind rw - ext4 /dev/mapper/vg-x rw\n";
        assert_eq!(mount_point(info, 253, 3), Some(PathBuf::from("/mnt/a b")));
        // A bind mount of a directory in it counts as mounted too.
        assert_eq!(mount_point(info, 253, 4), Some(PathBuf::from("/mnt/bind")));
        assert_eq!(mount_point(info, 253, 5), None);
    }
}
