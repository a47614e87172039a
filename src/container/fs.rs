//! Reading mounted image and container trees: listing a tree, `docker diff`'s A/C/D changes,
//! and writing tars (a whole tree, or one layer's diff against its parent). Each of these runs
//! in a forked child chrooted into the tree, so absolute symlinks planted in an image resolve
//! inside the image and never reach the host's files. Writing into a tree (applying a tar) is
//! `container::extract`, through directory descriptors.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Runs `work` in a forked child chrooted at `root` and returns the bytes it produced (or its
/// error text). The caller must be single-threaded: the child runs ordinary Rust code.
pub fn in_chroot<F>(root: &Path, work: F) -> Result<Vec<u8>, String>
where
    F: FnOnce() -> Result<Vec<u8>, String>,
{
    let (read_end, write_end) =
        nix::unistd::pipe().map_err(|e| format!("Cannot make a pipe: {e}"))?;
    // SAFETY: the callers are single-threaded command processes, so the child owns a
    // consistent copy of the heap and every lock; it leaves only through _exit.
    let fork = unsafe { nix::unistd::fork() }.map_err(|e| format!("Cannot fork: {e}"))?;
    match fork {
        nix::unistd::ForkResult::Child => {
            drop(read_end);
            let mut out = File::from(write_end);
            let result = nix::unistd::chroot(root)
                .map_err(|e| format!("Cannot enter {}: {e}", root.display()))
                .and_then(|_| nix::unistd::chdir("/").map_err(|e| format!("Cannot enter /: {e}")))
                .and_then(|_| work());
            let (code, bytes) = match result {
                Ok(b) => (0, b),
                Err(e) => (1, e.into_bytes()),
            };
            let _ = out.write_all(&bytes);
            drop(out);
            // SAFETY: _exit ends the child without running the parent's destructors twice.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(write_end);
            let mut data = Vec::new();
            let read = File::from(read_end).read_to_end(&mut data);
            let status = nix::sys::wait::waitpid(child, None);
            read.map_err(|e| format!("Cannot read from the helper: {e}"))?;
            match status {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(data),
                Ok(nix::sys::wait::WaitStatus::Exited(_, _)) => {
                    Err(String::from_utf8_lossy(&data).into_owned())
                }
                other => Err(format!("The filesystem helper died: {other:?}")),
            }
        }
    }
}

fn cstr(path: &Path) -> Result<CString, String> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| format!("bad path {}", path.display()))
}

/// The extended attributes of `path` (not following a symlink), sorted by name.
pub fn list_xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(c) = cstr(path) else { return Vec::new() };
    let mut names = vec![0u8; 4096];
    // SAFETY: llistxattr writes at most `names.len()` bytes into the buffer.
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Vec::new();
    }
    names.truncate(n as usize);
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = CString::new(name) else {
            continue;
        };
        let mut value = vec![0u8; 65536];
        // SAFETY: lgetxattr writes at most `value.len()` bytes into the buffer.
        let len = unsafe {
            libc::lgetxattr(
                c.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len >= 0 {
            value.truncate(len as usize);
            out.push((String::from_utf8_lossy(name).into_owned(), value));
        }
    }
    out.sort();
    out
}

/// What applying a tar did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Applied {
    /// sha256 of the (uncompressed) tar stream, hex.
    pub digest: String,
    pub bytes: u64,
    pub entries: u64,
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// One file of a tree, as `lstat` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub ino: u64,
    pub nlink: u64,
    pub rdev: u64,
}

impl Node {
    fn of(m: &fs::Metadata) -> Node {
        Node {
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            nlink: m.nlink(),
            rdev: m.rdev(),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// Docker's test for a changed entry (mode, owner, device; for non-directories also
    /// mtime and size), plus a new ctime or inode, which a thin snapshot keeps for
    /// every file nobody touched.
    fn changed_from(&self, old: &Node) -> bool {
        self.mode != old.mode
            || self.uid != old.uid
            || self.gid != old.gid
            || self.rdev != old.rdev
            || (!self.is_dir()
                && (self.mtime != old.mtime
                    || self.size != old.size
                    || self.ctime != old.ctime
                    || self.ino != old.ino))
    }
}

/// Every path of the tree at the current root (call inside [`in_chroot`]), as `/a/b`.
pub fn walk_tree() -> Result<BTreeMap<Vec<u8>, Node>, String> {
    let mut out = BTreeMap::new();
    let mut todo: Vec<PathBuf> = vec![PathBuf::from("/")];
    while let Some(dir) = todo.pop() {
        let list = fs::read_dir(&dir).map_err(|e| format!("Cannot list {}: {e}", dir.display()))?;
        for entry in list.flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(path.clone());
            }
            out.insert(path.into_os_string().into_vec(), Node::of(&meta));
        }
    }
    Ok(out)
}

/// The tree listing, serialised for the trip out of the chroot.
pub fn walk_tree_bytes() -> Result<Vec<u8>, String> {
    let tree = walk_tree()?;
    let list: Vec<(String, Node)> = tree
        .into_iter()
        .map(|(k, v)| (base_escape(&k), v))
        .collect();
    serde_json::to_vec(&list).map_err(|e| e.to_string())
}

pub fn parse_tree(bytes: &[u8]) -> Result<BTreeMap<Vec<u8>, Node>, String> {
    let list: Vec<(String, Node)> =
        serde_json::from_slice(bytes).map_err(|e| format!("bad tree listing: {e}"))?;
    Ok(list
        .into_iter()
        .map(|(k, v)| (base_unescape(&k), v))
        .collect())
}

// Paths are bytes; JSON wants text. Non-UTF-8 names travel hex-escaped.
fn base_escape(path: &[u8]) -> String {
    match std::str::from_utf8(path) {
        Ok(s) if !s.starts_with('\u{1}') => s.to_string(),
        _ => format!("\u{1}{}", hex(path)),
    }
}

fn base_unescape(text: &str) -> Vec<u8> {
    match text.strip_prefix('\u{1}') {
        Some(h) => (0..h.len() / 2)
            .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
            .collect(),
        None => text.as_bytes().to_vec(),
    }
}

/// One `docker diff` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: char,
    pub path: Vec<u8>,
}

fn components(p: &[u8]) -> Vec<&[u8]> {
    p.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect()
}

fn parent_of(p: &[u8]) -> Option<&[u8]> {
    let i = p.iter().rposition(|&b| b == b'/')?;
    (i > 0).then(|| &p[..i])
}

/// Changes from `old` to `new` as `docker diff` lists them: added paths (every one under an
/// added directory), deleted paths (only the top of a deleted tree), changed paths, and the
/// directories above any of those as changed; in tree order.
pub fn diff_trees(old: &BTreeMap<Vec<u8>, Node>, new: &BTreeMap<Vec<u8>, Node>) -> Vec<Change> {
    let mut out: BTreeMap<Vec<Vec<u8>>, Change> = BTreeMap::new();
    let key = |p: &[u8]| {
        components(p)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>()
    };
    let mut touched_dirs: HashSet<Vec<u8>> = HashSet::new();
    for (path, node) in new {
        let kind = match old.get(path) {
            None => 'A',
            Some(o) if node.changed_from(o) => 'C',
            Some(_) => continue,
        };
        out.insert(
            key(path),
            Change {
                kind,
                path: path.clone(),
            },
        );
        if let Some(p) = parent_of(path) {
            touched_dirs.insert(p.to_vec());
        }
    }
    for path in old.keys() {
        if new.contains_key(path) {
            continue;
        }
        // Only the top of a deleted tree.
        if parent_of(path).is_some_and(|p| old.contains_key(p) && !new.contains_key(p)) {
            continue;
        }
        out.insert(
            key(path),
            Change {
                kind: 'D',
                path: path.clone(),
            },
        );
        if let Some(p) = parent_of(path) {
            touched_dirs.insert(p.to_vec());
        }
    }
    // Directories holding a change are changed too (unless added).
    let mut more: Vec<Vec<u8>> = touched_dirs.into_iter().collect();
    while let Some(dir) = more.pop() {
        let k = key(&dir);
        if k.is_empty() || out.contains_key(&k) {
            continue;
        }
        if new.contains_key(&dir) {
            out.insert(
                k,
                Change {
                    kind: 'C',
                    path: dir.clone(),
                },
            );
        }
        if let Some(p) = parent_of(&dir) {
            more.push(p.to_vec());
        }
    }
    out.into_values().collect()
}

/// Writes a tar of the current root (or of `only`, with paths relative to `/`) to `out`,
/// with owners, modes, times, symlinks, hard links, device nodes and xattrs (as PAX
/// `SCHILY.xattr.` records). Call inside [`in_chroot`].
pub fn write_tree_tar(out: &mut dyn Write, skip: &[&str]) -> Result<(), String> {
    let tree = walk_tree()?;
    let mut builder = tar::Builder::new(out);
    let mut links: HashMap<u64, Vec<u8>> = HashMap::new();
    for (path, node) in &tree {
        let rel = &path[1..];
        if skip
            .iter()
            .any(|s| rel == s.as_bytes() || rel.starts_with(format!("{s}/").as_bytes()))
        {
            continue;
        }
        append_entry(&mut builder, path, node, &mut links)?;
    }
    builder
        .into_inner()
        .map_err(|e| format!("Cannot write the tar: {e}"))?
        .flush()
        .map_err(|e| format!("Cannot write the tar: {e}"))
}

fn append_entry(
    builder: &mut tar::Builder<&mut dyn Write>,
    path: &[u8],
    node: &Node,
    links: &mut HashMap<u64, Vec<u8>>,
) -> Result<(), String> {
    let host_path = Path::new(OsStr::from_bytes(path));
    let rel = OsStr::from_bytes(&path[1..]);
    let err = |e: io::Error| format!("Cannot add {} to the tar: {e}", host_path.display());
    let xattrs = list_xattrs(host_path);
    if !xattrs.is_empty() {
        let keys: Vec<(String, Vec<u8>)> = xattrs
            .into_iter()
            .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v))
            .collect();
        builder
            .append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .map_err(err)?;
    }
    let mut h = tar::Header::new_gnu();
    h.set_uid(u64::from(node.uid));
    h.set_gid(u64::from(node.gid));
    h.set_mode(node.mode & 0o7777);
    h.set_mtime(node.mtime.0.max(0) as u64);
    h.set_size(0);
    let fmt = node.mode & libc::S_IFMT;
    if fmt != libc::S_IFDIR && node.nlink > 1 {
        if let Some(first) = links.get(&node.ino) {
            h.set_entry_type(tar::EntryType::Link);
            let target = Path::new(OsStr::from_bytes(&first[1..]));
            return builder.append_link(&mut h, rel, target).map_err(err);
        }
        links.insert(node.ino, path.to_vec());
    }
    match fmt {
        libc::S_IFDIR => {
            h.set_entry_type(tar::EntryType::Directory);
            let mut name = OsString::from(rel);
            name.push("/");
            builder
                .append_data(&mut h, Path::new(&name), io::empty())
                .map_err(err)
        }
        libc::S_IFREG => {
            h.set_entry_type(tar::EntryType::Regular);
            let file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(host_path)
                .map_err(err)?;
            let size = file.metadata().map_err(err)?.len();
            h.set_size(size);
            builder
                .append_data(&mut h, rel, file.take(size))
                .map_err(err)
        }
        libc::S_IFLNK => {
            h.set_entry_type(tar::EntryType::Symlink);
            let target = fs::read_link(host_path).map_err(err)?;
            builder.append_link(&mut h, rel, &target).map_err(err)
        }
        libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
            let t = match fmt {
                libc::S_IFCHR => tar::EntryType::Char,
                libc::S_IFBLK => tar::EntryType::Block,
                _ => tar::EntryType::Fifo,
            };
            h.set_entry_type(t);
            if fmt != libc::S_IFIFO {
                let _ = h.set_device_major(libc::major(node.rdev));
                let _ = h.set_device_minor(libc::minor(node.rdev));
            }
            builder.append_data(&mut h, rel, io::empty()).map_err(err)
        }
        _ => Ok(()), // sockets are not archived, as with tar(1)
    }
}

/// Writes the diff of the current root against `parent` (its listing) as a layer tar:
/// changed and added entries, `.wh.NAME` for deleted ones, and a directory whose inode
/// changed (removed and made again) as an opaque directory with all of its content.
pub fn write_layer_tar(
    out: &mut dyn Write,
    parent: &BTreeMap<Vec<u8>, Node>,
) -> Result<(), String> {
    let tree = walk_tree()?;
    let mut builder = tar::Builder::new(out);
    let mut links: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut whole: Vec<Vec<u8>> = Vec::new(); // dirs emitted with all content
    let under = |p: &[u8], dirs: &[Vec<u8>]| {
        dirs.iter()
            .any(|d| p.len() > d.len() && p.starts_with(d) && p[d.len()] == b'/')
    };
    // Deletions first, in tree order, topmost only.
    for path in parent.keys() {
        if tree.contains_key(path) {
            continue;
        }
        if parent_of(path).is_some_and(|p| parent.contains_key(p) && !tree.contains_key(p)) {
            continue;
        }
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&path[..0], &path[..]),
        };
        let mut wh = dir.to_vec();
        wh.extend_from_slice(b"/.wh.");
        wh.extend_from_slice(name);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(0);
        builder
            .append_data(&mut h, Path::new(OsStr::from_bytes(&wh[1..])), io::empty())
            .map_err(|e| format!("Cannot write the tar: {e}"))?;
    }
    for (path, node) in &tree {
        let emit = match parent.get(path) {
            None => true,
            Some(old) => node.changed_from(old) || node.ino != old.ino || under(path, &whole),
        };
        if under(path, &whole) || emit {
            let replaced = parent
                .get(path)
                .is_some_and(|old| node.is_dir() && old.is_dir() && old.ino != node.ino);
            append_entry(&mut builder, path, node, &mut links)?;
            if replaced {
                whole.push(path.clone());
                let mut opq = path[1..].to_vec();
                opq.extend_from_slice(b"/.wh..wh..opq");
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(0);
                builder
                    .append_data(&mut h, Path::new(OsStr::from_bytes(&opq)), io::empty())
                    .map_err(|e| format!("Cannot write the tar: {e}"))?;
            }
        } else if node.is_dir()
            && tree.keys().any(|k| {
                k.len() > path.len()
                    && k.starts_with(path)
                    && k[path.len()] == b'/'
                    && parent
                        .get(k)
                        .is_none_or(|o| tree.get(k).is_some_and(|n| n.changed_from(o)))
            })
        {
            // An unchanged directory above a change: included so the layer restores it.
            append_entry(&mut builder, path, node, &mut links)?;
        }
    }
    builder
        .into_inner()
        .map_err(|e| format!("Cannot write the tar: {e}"))?
        .flush()
        .map_err(|e| format!("Cannot write the tar: {e}"))
}

/// Opens `path` inside the current root for `container cp` out: a tar of it (a file, or a
/// directory with everything under it), named by its last component.
pub fn write_path_tar(out: &mut dyn Write, path: &Path) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path
        .file_name()
        .map(OsStr::to_os_string)
        .unwrap_or_else(|| OsString::from("."));
    let mut builder = tar::Builder::new(out);
    let mut links: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut items: Vec<(PathBuf, fs::Metadata)> = vec![(path.to_path_buf(), meta.clone())];
    if meta.is_dir() {
        let mut todo = vec![path.to_path_buf()];
        while let Some(d) = todo.pop() {
            let list = fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            for e in list.flatten() {
                let p = e.path();
                if let Ok(m) = fs::symlink_metadata(&p) {
                    if m.is_dir() {
                        todo.push(p.clone());
                    }
                    items.push((p, m));
                }
            }
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, m) in items {
        let rel = p.strip_prefix(path).unwrap_or(Path::new(""));
        let mut name = PathBuf::from("/");
        name.push(&base);
        if !rel.as_os_str().is_empty() {
            name.push(rel);
        }
        // append_entry reads the file at its real path and names it `name`.
        append_entry_named(
            &mut builder,
            &p,
            name.as_os_str().as_bytes(),
            &Node::of(&m),
            &mut links,
        )?;
    }
    builder
        .into_inner()
        .map_err(|e| format!("Cannot write the tar: {e}"))?
        .flush()
        .map_err(|e| format!("Cannot write the tar: {e}"))
}

fn append_entry_named(
    builder: &mut tar::Builder<&mut dyn Write>,
    real: &Path,
    name: &[u8],
    node: &Node,
    links: &mut HashMap<u64, Vec<u8>>,
) -> Result<(), String> {
    if real.as_os_str().as_bytes() == name {
        return append_entry(builder, name, node, links);
    }
    // Read through the real path, name the entry `name`: a bind of the real path.
    let tmp_links = links;
    let mut h = tar::Header::new_gnu();
    h.set_uid(u64::from(node.uid));
    h.set_gid(u64::from(node.gid));
    h.set_mode(node.mode & 0o7777);
    h.set_mtime(node.mtime.0.max(0) as u64);
    let rel = Path::new(OsStr::from_bytes(&name[1..]));
    let err = |e: io::Error| format!("Cannot add {} to the tar: {e}", real.display());
    let _ = tmp_links;
    match node.mode & libc::S_IFMT {
        libc::S_IFDIR => {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            let mut n = rel.as_os_str().to_os_string();
            n.push("/");
            builder
                .append_data(&mut h, Path::new(&n), io::empty())
                .map_err(err)
        }
        libc::S_IFREG => {
            let file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(real)
                .map_err(err)?;
            let size = file.metadata().map_err(err)?.len();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(size);
            builder
                .append_data(&mut h, rel, file.take(size))
                .map_err(err)
        }
        libc::S_IFLNK => {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            let target = fs::read_link(real).map_err(err)?;
            builder.append_link(&mut h, rel, &target).map_err(err)
        }
        _ => Ok(()),
    }
}

/// Resolves `path` inside `root` the way the container would see it: symlinks (absolute or
/// relative) are followed but clamped to `root`, so the result never leaves it. Missing
/// components are kept as given.
pub fn secure_join(root: &Path, path: &Path) -> PathBuf {
    let mut parts: Vec<OsString> = Vec::new();
    let mut todo: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .rev()
        .collect();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        if part == ".." {
            parts.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        for p in &parts {
            candidate.push(p);
        }
        candidate.push(&part);
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() && hops < 40 => {
                hops += 1;
                if let Ok(target) = fs::read_link(&candidate) {
                    if target.is_absolute() {
                        parts.clear();
                    }
                    for c in target.components().rev() {
                        match c {
                            Component::Normal(n) => todo.push(n.to_os_string()),
                            Component::ParentDir => todo.push(OsString::from("..")),
                            _ => {}
                        }
                    }
                }
            }
            _ => parts.push(part),
        }
    }
    let mut out = root.to_path_buf();
    for p in parts {
        out.push(p);
    }
    out
}

/// A duplicate of a descriptor as a `File` (for handing one fd to a reader and keeping it).
pub fn dup_file(fd: &impl AsRawFd) -> io::Result<File> {
    // SAFETY: dup returns a new descriptor that this process owns alone.
    let new = unsafe { libc::dup(fd.as_raw_fd()) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh, owned, open descriptor.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(new) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ino: u64, dir: bool, mtime: i64) -> Node {
        Node {
            mode: if dir {
                libc::S_IFDIR | 0o755
            } else {
                libc::S_IFREG | 0o644
            },
            uid: 0,
            gid: 0,
            size: 1,
            mtime: (mtime, 0),
            ctime: (mtime, 0),
            ino,
            nlink: 1,
            rdev: 0,
        }
    }

    fn tree(items: &[(&str, Node)]) -> BTreeMap<Vec<u8>, Node> {
        items
            .iter()
            .map(|(p, n)| (p.as_bytes().to_vec(), n.clone()))
            .collect()
    }

    #[test]
    fn diff_lists_like_docker() {
        let old = tree(&[
            ("/etc", node(1, true, 1)),
            ("/etc/passwd", node(2, false, 1)),
            ("/tmp", node(3, true, 1)),
            ("/old", node(4, true, 1)),
            ("/old/a", node(5, false, 1)),
            ("/bin", node(6, true, 1)),
            ("/bin/sh", node(7, false, 1)),
        ]);
        let new = tree(&[
            ("/etc", node(1, true, 2)),
            ("/etc/passwd", node(2, false, 2)),
            ("/tmp", node(3, true, 2)),
            ("/tmp/new", node(8, true, 2)),
            ("/tmp/new/f", node(9, false, 2)),
            ("/bin", node(6, true, 1)),
            ("/bin/sh", node(7, false, 1)),
        ]);
        let lines: Vec<String> = diff_trees(&old, &new)
            .iter()
            .map(|c| format!("{} {}", c.kind, String::from_utf8_lossy(&c.path)))
            .collect();
        assert_eq!(
            lines,
            [
                "C /etc",
                "C /etc/passwd",
                "D /old",
                "C /tmp",
                "A /tmp/new",
                "A /tmp/new/f"
            ]
        );
    }

    #[test]
    fn secure_join_stays_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("usr")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("evil")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("usr/up")).unwrap();
        assert_eq!(secure_join(root, Path::new("/evil/x")), root.join("etc/x"));
        assert_eq!(secure_join(root, Path::new("/usr/up/y")), root.join("y"));
        assert_eq!(secure_join(root, Path::new("/../../z")), root.join("z"));
    }
}
