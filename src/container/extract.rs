//! Writing a tar into a directory tree through descriptors, never through joined path strings.
//!
//! [`Tree`] holds a descriptor of the tree's top directory. Every entry's parent directory is
//! opened relative to it with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: a symlink met
//! on the way (absolute or relative, planted by this archive or by a lower layer) resolves as
//! if the tree's top were `/`, and `..` stops at the top, so no entry can reach outside.
//! Where the kernel has no openat2 (before 5.6, or a seccomp filter refusing it) the same
//! resolution is done one component at a time with `openat(O_NOFOLLOW | O_DIRECTORY)`,
//! reading each symlink with `readlinkat` and keeping the stack of directories already opened,
//! so `..` and absolute links are handled here, never by the kernel's path walk. The last
//! component of an entry is never followed: the entry is made with `mkdirat`, `mknodat`,
//! `symlinkat`, `linkat`, `openat(O_CREAT | O_EXCL | O_NOFOLLOW)` in the parent's descriptor,
//! and owners, modes, times and extended attributes are set on that descriptor or with
//! `AT_SYMLINK_NOFOLLOW`. Whatever stands where an entry goes (a symlink included) is
//! removed with `unlinkat`, not followed. Tar names with `..` are refused, absolute names
//! are taken relative to the top, as Docker does; device nodes and setuid bits are kept, as
//! Docker keeps them for a root daemon.

use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, UtimensatFlags};
use nix::unistd::{Gid, Uid, UnlinkatFlags};

use super::fs::{hex, Applied};

/// How deep symlinks may nest while one path is resolved (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// A directory tree written through descriptors: see the module's text.
pub struct Tree {
    root: OwnedFd,
    /// Resolve with the component walk even where openat2 exists (tests use both).
    walk_only: bool,
}

fn to_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: every caller passes a descriptor just returned by a successful open call,
    // which nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Opens the directory `name` (one component) in `dir`, not following a symlink.
fn open_dir_at(dir: RawFd, name: &OsStr) -> io::Result<OwnedFd> {
    nix::fcntl::openat(Some(dir), name, dir_flags(), Mode::empty())
        .map(owned)
        .map_err(to_io)
}

fn dup_fd(fd: RawFd) -> io::Result<OwnedFd> {
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(0))
        .map(owned)
        .map_err(to_io)
}

/// The path made relative and free of `.`; `..` is refused (None for the top itself).
pub fn clean_path(path: &Path) -> Result<Option<PathBuf>, String> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "tar entry {} climbs out of the tree with '..'; refusing the archive.",
                    path.display()
                ))
            }
            Component::Prefix(_) => return Err(format!("bad tar path {}", path.display())),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// openat2(2) with `how`; Err(ENOSYS) where the kernel (or a seccomp filter) lacks it.
fn openat2(dir: RawFd, path: &Path, flags: OFlag, resolve: u64) -> Result<OwnedFd, Errno> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: open_how is plain data; zeroed is a valid value for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags.bits() as u64;
    how.resolve = resolve;
    for _ in 0..16 {
        // SAFETY: openat2 reads the NUL-terminated path and `how` (with its size) only during
        // the call and returns a new descriptor or -1.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if rc >= 0 {
            return Ok(owned(rc as RawFd));
        }
        match Errno::last() {
            // A rename elsewhere raced the resolution: the kernel asks for a retry.
            Errno::EAGAIN => continue,
            Errno::EPERM => return Err(Errno::ENOSYS), // an old seccomp filter's answer
            e => return Err(e),
        }
    }
    Err(Errno::EAGAIN)
}

impl Tree {
    /// The tree whose top is the directory `path` (not a symlink).
    pub fn open(path: &Path) -> Result<Tree, String> {
        let fd = nix::fcntl::open(path, dir_flags(), Mode::empty())
            .map_err(|e| format!("Cannot open {}: {e}", path.display()))?;
        Ok(Tree {
            root: owned(fd),
            walk_only: false,
        })
    }

    /// The tree whose top is the directory `rel` inside `self`, resolved as any entry's
    /// directory is (a symlink to a directory is followed, inside the tree).
    pub fn subtree(&self, rel: &Path) -> Result<Tree, String> {
        let fd = self
            .open_dir(rel)
            .map_err(|e| format!("Cannot open {}: {e}", Path::new("/").join(rel).display()))?;
        Ok(Tree {
            root: fd,
            walk_only: self.walk_only,
        })
    }

    /// The same tree resolving with the component walk only (the fallback for kernels
    /// without openat2), for tests.
    pub fn walk_only(mut self) -> Tree {
        self.walk_only = true;
        self
    }

    /// Opens the directory at `rel` (relative; `..` and symlinks stay inside the tree).
    pub fn open_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        if rel.as_os_str().is_empty() {
            return dup_fd(self.root.as_raw_fd());
        }
        if !self.walk_only {
            let resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            match openat2(self.root.as_raw_fd(), rel, flags, resolve) {
                Ok(fd) => return Ok(fd),
                Err(Errno::ENOSYS) => {}
                Err(e) => return Err(to_io(e)),
            }
        }
        self.walk(rel)
    }

    /// The component walk: `..` pops the stack of opened directories (never past the top),
    /// an absolute symlink starts again from the top, every open is O_NOFOLLOW.
    fn walk(&self, rel: &Path) -> io::Result<OwnedFd> {
        let mut stack: Vec<OwnedFd> = vec![dup_fd(self.root.as_raw_fd())?];
        let mut todo: Vec<OsString> = Vec::new();
        push_components(&mut todo, rel);
        let mut links = 0;
        while let Some(part) = todo.pop() {
            if part == ".." {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            let cur = stack.last().map(AsRawFd::as_raw_fd).unwrap_or(-1);
            let st =
                nix::sys::stat::fstatat(Some(cur), part.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(to_io)?;
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                links += 1;
                if links > MAX_LINKS {
                    return Err(to_io(Errno::ELOOP));
                }
                let target = nix::fcntl::readlinkat(Some(cur), part.as_os_str()).map_err(to_io)?;
                let target = Path::new(&target);
                if target.is_absolute() {
                    stack.truncate(1);
                }
                push_components(&mut todo, target);
                continue;
            }
            // O_NOFOLLOW: a symlink swapped in since the fstatat fails here (ELOOP).
            let next = open_dir_at(cur, &part)?;
            stack.push(next);
        }
        stack.pop().ok_or_else(|| to_io(Errno::ENOENT))
    }

    /// The parent directory of `rel` (made, with mode 0755, where missing) and its last
    /// component.
    fn parent_of(&self, rel: &Path) -> Result<(OwnedFd, OsString), String> {
        let name = rel
            .file_name()
            .ok_or_else(|| format!("bad tar path {}", rel.display()))?
            .to_os_string();
        let parent = rel.parent().unwrap_or(Path::new(""));
        match self.open_dir(parent) {
            Ok(fd) => return Ok((fd, name)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(format!("Cannot open /{}: {e}", parent.display())),
        }
        // Make the missing directories one by one, each in its resolved parent.
        let mut at = PathBuf::new();
        for c in parent.components() {
            let next = at.join(c);
            if let Err(e) = self.open_dir(&next) {
                if e.raw_os_error() != Some(libc::ENOENT) {
                    return Err(format!("Cannot open /{}: {e}", next.display()));
                }
                let up = self
                    .open_dir(&at)
                    .map_err(|e| format!("Cannot open /{}: {e}", at.display()))?;
                match nix::sys::stat::mkdirat(
                    Some(up.as_raw_fd()),
                    c.as_os_str(),
                    Mode::from_bits_truncate(0o755),
                ) {
                    Ok(()) => {}
                    Err(Errno::EEXIST) => {
                        // Something stands there that does not resolve to a directory: a
                        // symlink to a missing one (not made through the link) or a file.
                        return Err(format!(
                            "Cannot create /{}: a symlink to a missing directory or a file stands there; refusing the archive.",
                            next.display()
                        ));
                    }
                    Err(e) => return Err(format!("Cannot create /{}: {e}", next.display())),
                }
            }
            at = next;
        }
        let fd = self
            .open_dir(parent)
            .map_err(|e| format!("Cannot open /{}: {e}", parent.display()))?;
        Ok((fd, name))
    }
}

fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    for c in path.components().rev() {
        match c {
            Component::Normal(n) => todo.push(n.to_os_string()),
            Component::ParentDir => todo.push(OsString::from("..")),
            _ => {}
        }
    }
}

/// The entries of the directory `dir` (without `.` and `..`).
fn list_dir(dir: RawFd) -> io::Result<Vec<OsString>> {
    let mut d = nix::dir::Dir::openat(Some(dir), ".", dir_flags(), Mode::empty()).map_err(to_io)?;
    let mut out = Vec::new();
    for e in d.iter() {
        let e = e.map_err(to_io)?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    Ok(out)
}

/// Removes `name` in `dir` (a whole tree for a directory), never following a symlink.
fn remove_at(dir: RawFd, name: &OsStr) -> io::Result<()> {
    let st = match nix::sys::stat::fstatat(Some(dir), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(to_io(e)),
    };
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let sub = open_dir_at(dir, name)?;
        for child in list_dir(sub.as_raw_fd())? {
            remove_at(sub.as_raw_fd(), &child)?;
        }
        nix::unistd::unlinkat(Some(dir), name, UnlinkatFlags::RemoveDir).map_err(to_io)
    } else {
        nix::unistd::unlinkat(Some(dir), name, UnlinkatFlags::NoRemoveDir).map_err(to_io)
    }
}

fn is_dir_at(dir: RawFd, name: &OsStr) -> bool {
    nix::sys::stat::fstatat(Some(dir), name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

/// Sets an extended attribute on `name` in `dir` without following it: through the
/// descriptor's /proc/self/fd link (our own descriptor) and lsetxattr on the last component.
fn set_xattr_at(dir: RawFd, name: &OsStr, key: &str, value: &[u8]) -> Result<(), String> {
    let mut p = format!("/proc/self/fd/{dir}/").into_bytes();
    p.extend_from_slice(name.as_bytes());
    let c = CString::new(p).map_err(|_| "bad name".to_string())?;
    let k = CString::new(key).map_err(|_| format!("bad xattr name {key}"))?;
    // SAFETY: lsetxattr reads the two NUL-terminated strings and `value` (with its length)
    // only during the call.
    let rc = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            k.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc != 0 {
        return Err(format!(
            "Cannot set xattr {key} on {}: {}",
            name.to_string_lossy(),
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn set_xattr_fd(fd: RawFd, key: &str, value: &[u8], shown: &Path) -> Result<(), String> {
    let k = CString::new(key).map_err(|_| format!("bad xattr name {key}"))?;
    // SAFETY: fsetxattr reads the NUL-terminated name and `value` (with its length) only
    // during the call.
    let rc = unsafe { libc::fsetxattr(fd, k.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc != 0 {
        return Err(format!(
            "Cannot set xattr {key} on /{}: {}",
            shown.display(),
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn times_at(dir: RawFd, name: &OsStr, mtime: i64, shown: &Path) -> Result<(), String> {
    let ts = nix::sys::time::TimeSpec::new(mtime, 0);
    nix::sys::stat::utimensat(Some(dir), name, &ts, &ts, UtimensatFlags::NoFollowSymlink)
        .map_err(|e| format!("Cannot set the times of /{}: {e}", shown.display()))
}

fn chown_at(dir: RawFd, name: &OsStr, uid: u64, gid: u64, shown: &Path) -> Result<(), String> {
    nix::unistd::fchownat(
        Some(dir),
        name,
        Some(Uid::from_raw(uid as u32)),
        Some(Gid::from_raw(gid as u32)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| format!("Cannot chown /{}: {e}", shown.display()))
}

fn chown_fd(fd: RawFd, uid: u64, gid: u64, shown: &Path) -> Result<(), String> {
    nix::unistd::fchown(
        fd,
        Some(Uid::from_raw(uid as u32)),
        Some(Gid::from_raw(gid as u32)),
    )
    .map_err(|e| format!("Cannot chown /{}: {e}", shown.display()))
}

fn chmod_fd(fd: RawFd, mode: u32, shown: &Path) -> Result<(), String> {
    nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(mode as libc::mode_t))
        .map_err(|e| format!("Cannot chmod /{}: {e}", shown.display()))
}

/// Counts and hashes what is read through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl Tree {
    /// Applies the tar read from `input` to the tree. With `whiteouts`, `.wh.NAME` removes
    /// NAME and `.wh..wh..opq` empties its directory of what lower layers put there.
    pub fn apply_tar(&self, input: impl Read, whiteouts: bool) -> Result<Applied, String> {
        let mut hashing = Hashing {
            inner: input,
            hash: Sha256::new(),
            bytes: 0,
        };
        let mut entries_done = 0u64;
        let mut dir_times: Vec<(PathBuf, i64)> = Vec::new();
        let mut created: HashSet<PathBuf> = HashSet::new();
        {
            let mut archive = tar::Archive::new(&mut hashing);
            let entries = archive
                .entries()
                .map_err(|e| format!("Cannot read the tar: {e}"))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("Cannot read the tar: {e}"))?;
                if self.apply_entry(entry, whiteouts, &mut created, &mut dir_times)? {
                    entries_done += 1;
                }
            }
        }
        // Drain what follows the end-of-archive blocks, so the digest covers the whole file.
        io::copy(&mut hashing, &mut io::sink()).map_err(|e| format!("Cannot read the tar: {e}"))?;
        for (dir, t) in dir_times.iter().rev() {
            let (parent, name) = self.parent_of(dir)?;
            times_at(parent.as_raw_fd(), &name, *t, dir)?;
        }
        Ok(Applied {
            digest: hex(&hashing.hash.finalize()),
            bytes: hashing.bytes,
            entries: entries_done,
        })
    }

    /// One tar entry; false for the top directory itself.
    fn apply_entry<R: Read>(
        &self,
        mut entry: tar::Entry<R>,
        whiteouts: bool,
        created: &mut HashSet<PathBuf>,
        dir_times: &mut Vec<(PathBuf, i64)>,
    ) -> Result<bool, String> {
        let raw = entry
            .path()
            .map_err(|e| format!("Bad path in the tar: {e}"))?
            .into_owned();
        let link = entry
            .link_name()
            .map_err(|e| format!("Bad link in the tar: {e}"))?
            .map(|l| l.into_owned());
        let header = entry.header().clone();
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let mtime = header.mtime().unwrap_or(0) as i64;
        let Some(path) = clean_path(&raw)? else {
            // The top directory itself: its owner and mode.
            let mode = header.mode().unwrap_or(0o755) & 0o7777;
            let top = self.root.as_raw_fd();
            let _ = chown_fd(top, uid, gid, Path::new(""));
            let _ = chmod_fd(top, mode, Path::new(""));
            return Ok(false);
        };
        let name_bytes = path.file_name().map(OsStr::as_bytes).unwrap_or_default();
        if whiteouts && name_bytes.starts_with(b".wh.") {
            let dir = path.parent().unwrap_or(Path::new(""));
            let parent = match self.open_dir(dir) {
                Ok(fd) => fd,
                // Nothing below to hide.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(true),
                Err(e) => return Err(format!("Cannot open /{}: {e}", dir.display())),
            };
            if name_bytes == b".wh..wh..opq" {
                let list = list_dir(parent.as_raw_fd())
                    .map_err(|e| format!("Cannot list /{}: {e}", dir.display()))?;
                for child in list {
                    if !created.contains(&dir.join(&child)) {
                        remove_at(parent.as_raw_fd(), &child).map_err(|e| {
                            format!("Cannot remove /{}: {e}", dir.join(&child).display())
                        })?;
                    }
                }
            } else {
                let gone = OsStr::from_bytes(&name_bytes[4..]);
                remove_at(parent.as_raw_fd(), gone)
                    .map_err(|e| format!("Cannot remove /{}: {e}", dir.join(gone).display()))?;
            }
            return Ok(true);
        }
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let mut xattrs: Vec<(String, Vec<u8>)> = Vec::new();
        if let Ok(Some(exts)) = entry.pax_extensions() {
            for ext in exts.flatten() {
                if let Ok(key) = ext.key() {
                    if let Some(n) = key.strip_prefix("SCHILY.xattr.") {
                        xattrs.push((n.to_string(), ext.value_bytes().to_vec()));
                    }
                }
            }
        }
        let (parent, name) = self.parent_of(&path)?;
        let pfd = parent.as_raw_fd();
        let kind = header.entry_type();
        let gone = |e: io::Error| format!("Cannot replace /{}: {e}", path.display());
        if kind.is_dir() {
            if !is_dir_at(pfd, &name) {
                remove_at(pfd, &name).map_err(gone)?;
                nix::sys::stat::mkdirat(
                    Some(pfd),
                    name.as_os_str(),
                    Mode::from_bits_truncate(0o700),
                )
                .map_err(|e| format!("Cannot create /{}: {e}", path.display()))?;
            }
            let fd = open_dir_at(pfd, &name)
                .map_err(|e| format!("Cannot open /{}: {e}", path.display()))?;
            chown_fd(fd.as_raw_fd(), uid, gid, &path)?;
            chmod_fd(fd.as_raw_fd(), mode, &path)?;
            for (k, v) in &xattrs {
                set_xattr_fd(fd.as_raw_fd(), k, v, &path)?;
            }
            dir_times.push((path.clone(), mtime));
            created.insert(path);
            return Ok(true);
        }
        let link_name = || -> Result<PathBuf, String> {
            link.clone()
                .ok_or_else(|| format!("link /{} has no target", path.display()))
        };
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                remove_at(pfd, &name).map_err(gone)?;
                let fd = nix::fcntl::openat(
                    Some(pfd),
                    name.as_os_str(),
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| format!("Cannot create /{}: {e}", path.display()))?;
                let mut file = File::from(owned(fd));
                io::copy(&mut entry, &mut file)
                    .map_err(|e| format!("Cannot write /{}: {e}", path.display()))?;
                // Owner first: chown clears setuid/setgid bits, which the mode then sets.
                chown_fd(file.as_raw_fd(), uid, gid, &path)?;
                chmod_fd(file.as_raw_fd(), mode, &path)?;
                for (k, v) in &xattrs {
                    set_xattr_fd(file.as_raw_fd(), k, v, &path)?;
                }
                file.flush()
                    .map_err(|e| format!("Cannot write /{}: {e}", path.display()))?;
            }
            tar::EntryType::Symlink => {
                let target = link_name()?;
                remove_at(pfd, &name).map_err(gone)?;
                nix::unistd::symlinkat(target.as_os_str(), Some(pfd), name.as_os_str())
                    .map_err(|e| format!("Cannot create symlink /{}: {e}", path.display()))?;
                chown_at(pfd, &name, uid, gid, &path)?;
                for (k, v) in &xattrs {
                    set_xattr_at(pfd, &name, k, v)?;
                }
            }
            tar::EntryType::Link => {
                let target = link_name()?;
                let target = clean_path(&target)?
                    .ok_or_else(|| format!("hard link /{} points at the top", path.display()))?;
                // The target's directory resolves inside the tree like any entry's; its last
                // component is linked as it is (a symlink stays a symlink).
                let tname = target
                    .file_name()
                    .ok_or_else(|| format!("bad hard link target {}", target.display()))?;
                let tdir = target.parent().unwrap_or(Path::new(""));
                let tfd = self.open_dir(tdir).map_err(|e| {
                    format!(
                        "Cannot find the hard link target /{} of /{}: {e}",
                        target.display(),
                        path.display()
                    )
                })?;
                if target != path {
                    remove_at(pfd, &name).map_err(gone)?;
                }
                nix::unistd::linkat(
                    Some(tfd.as_raw_fd()),
                    tname,
                    Some(pfd),
                    name.as_os_str(),
                    AtFlags::empty(),
                )
                .map_err(|e| format!("Cannot create hard link /{}: {e}", path.display()))?;
                created.insert(path);
                return Ok(true);
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let (sflag, major, minor) = match kind {
                    tar::EntryType::Char => (
                        SFlag::S_IFCHR,
                        header.device_major().ok().flatten().unwrap_or(0),
                        header.device_minor().ok().flatten().unwrap_or(0),
                    ),
                    tar::EntryType::Block => (
                        SFlag::S_IFBLK,
                        header.device_major().ok().flatten().unwrap_or(0),
                        header.device_minor().ok().flatten().unwrap_or(0),
                    ),
                    _ => (SFlag::S_IFIFO, 0, 0),
                };
                remove_at(pfd, &name).map_err(gone)?;
                nix::sys::stat::mknodat(
                    Some(pfd),
                    name.as_os_str(),
                    sflag,
                    Mode::from_bits_truncate(0o600),
                    nix::sys::stat::makedev(u64::from(major), u64::from(minor)),
                )
                .map_err(|e| format!("Cannot create /{}: {e}", path.display()))?;
                chown_at(pfd, &name, uid, gid, &path)?;
                // The node was just made here and is not a symlink; fchmodat cannot refuse
                // to follow one on Linux, and need not.
                nix::sys::stat::fchmodat(
                    Some(pfd),
                    name.as_os_str(),
                    Mode::from_bits_truncate(mode as libc::mode_t),
                    FchmodatFlags::FollowSymlink,
                )
                .map_err(|e| format!("Cannot chmod /{}: {e}", path.display()))?;
                for (k, v) in &xattrs {
                    set_xattr_at(pfd, &name, k, v)?;
                }
            }
            // pax global headers and the like carry nothing to create.
            _ => return Ok(true),
        }
        times_at(pfd, &name, mtime, &path)?;
        created.insert(path);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(
            clean_path(Path::new("./a/b")).unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(clean_path(Path::new("/")).unwrap(), None);
        assert!(clean_path(Path::new("a/../../etc")).is_err());
    }
}
