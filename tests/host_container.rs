//! Host tier (root, loop devices, no device-mapper): the container store's metadata side.
//! `image init` makes and tags the pool through lvcreate's planning and is idempotent; the
//! store is found from the VG alone; listing an empty store works; everything that needs the
//! kernel (import, run) refuses in one line with exit 5 and leaves the disks as they were;
//! bad command lines are one line with exit 3.

mod common;

use common::{assert_refused, hashes, ok, sandbox_with, stderr, stdout};

#[test]
fn loop_container_store_metadata_side() {
    let (sb, devs) = sandbox_with("container", &[64]);
    let dev = devs[0].path_str();
    ok(sb.oxlvm(&["pvcreate", "-y", dev]));
    ok(sb.oxlvm(&["vgcreate", "vgh", dev]));
    // No store yet.
    let out = sb.oxlvm(&["image", "ls"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("image init"), "{}", stderr(&out));
    ok(sb.oxlvm(&["image", "init", "vgh", "--size", "32m"]));
    let tags = ok(sb.oxlvm(&["lvs", "--noheadings", "-o", "lv_name,lv_tags", "vgh"]));
    assert!(
        tags.contains("oxlvm_pool") && tags.contains("oxlvm_pool "),
        "{tags}"
    );
    // Adopting the existing pool again changes nothing but the seqno.
    ok(sb.oxlvm(&["image", "init", "vgh", "--size", "32m"]));
    let ls = ok(sb.oxlvm(&["image", "ls"]));
    assert_eq!(ls.lines().count(), 1, "{ls}");
    assert!(ls.starts_with("REPOSITORY"));
    let ls = ok(sb.oxlvm(&["container", "ls", "-a"]));
    assert!(
        ls.starts_with("CONTAINER ID") && ls.lines().count() == 1,
        "{ls}"
    );
    let ls = ok(sb.oxlvm(&["container", "ls", "-aq"]));
    assert_eq!(ls, "");
    let tar = sb.dir.join("root.tar");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, "f", &b"abc"[..]).unwrap();
    std::fs::write(&tar, b.into_inner().unwrap()).unwrap();
    let tar = tar.to_string_lossy().into_owned();
    let before = hashes(&devs);
    // The kernel is needed: one line, exit 5, nothing written.
    let err = assert_refused(
        sb.oxlvm(&["image", "import", &tar, "x:1"]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("device-mapper"), "{err}");
    let err = assert_refused(
        sb.oxlvm(&["container", "run", "x:1", "true"]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("No such image"), "{err}");
    for (args, code) in [
        (&["image", "import", &tar, "UPPER:1"][..], 3),
        (&["container", "run", "--memory", "1k", "x", "true"][..], 3),
        (&["container", "run", "-v", "a:b", "x"][..], 3),
        (&["container", "kill", "-s", "BOGUS", "x"][..], 3),
        (&["container", "rm", "nosuch"][..], 5),
        (&["image", "rm", "nosuch"][..], 5),
        (&["image", "init", "nosuchvg"][..], 5),
        (&["image", "frobnicate"][..], 3),
    ] {
        let e = assert_refused(sb.oxlvm(args), code, &devs, &before);
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
    }
    let _ = stdout;
}

// ---- hostile archives, extracted into a plain directory (no device-mapper needed) ----

use oxlvm::container::extract::Tree;
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A tar entry with its name and link name written as raw bytes, so `..` and absolute names
/// survive (the tar crate's own builder refuses them).
fn raw_entry(
    b: &mut tar::Builder<Vec<u8>>,
    kind: tar::EntryType,
    name: &str,
    link: &str,
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    h.set_size(data.len() as u64);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_000_000);
    let gnu = h.as_gnu_mut().unwrap();
    gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// Every path under `dir` (not following symlinks) with its type, mode, size, link target
/// and content, except what is under `skip`.
fn snapshot(dir: &Path, skip: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.starts_with(skip) {
                continue;
            }
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.is_dir() {
                todo.push(p.clone());
                String::from("dir")
            } else if m.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else {
                format!("{:?}", std::fs::read(&p).unwrap())
            };
            out.insert(p, format!("{:o} {} {what}", m.mode(), m.size()));
        }
    }
    out
}

/// Each hostile archive is refused or lands inside the target; nothing outside it changes.
/// Run with openat2 and with the component walk (the fallback for kernels without it).
#[test]
fn hostile_archives_stay_inside_the_tree() {
    let outer = tempfile::tempdir().unwrap();
    let outer_path = outer.path().canonicalize().unwrap();
    let op = outer_path
        .to_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    std::fs::write(outer_path.join("victim"), b"precious").unwrap();
    std::fs::create_dir(outer_path.join("dir")).unwrap();
    std::fs::write(outer_path.join("dir/x"), b"keep me").unwrap();
    type Check = Box<dyn Fn(&Path)>;
    use tar::EntryType as T;
    type Entries = Vec<(T, String, String, &'static [u8])>;
    let cases: Vec<(&str, Entries, Option<&str>, Check)> = vec![
        (
            "../x",
            vec![(T::Regular, "../victim".into(), String::new(), b"evil")],
            Some("'..'"),
            Box::new(|_| {}),
        ),
        (
            "a/../../x",
            vec![(T::Regular, "a/../../dir/x".into(), String::new(), b"evil")],
            Some("'..'"),
            Box::new(|_| {}),
        ),
        (
            "absolute name",
            vec![(T::Regular, format!("/{op}/victim"), String::new(), b"evil")],
            None,
            Box::new({
                let op = op.clone();
                move |t: &Path| {
                    assert_eq!(std::fs::read(t.join(&op).join("victim")).unwrap(), b"evil")
                }
            }),
        ),
        (
            "symlink to / then through it",
            vec![
                (T::Symlink, "a".into(), "/".into(), b""),
                (T::Regular, format!("a/{op}/victim"), String::new(), b"evil"),
            ],
            None,
            Box::new({
                let op = op.clone();
                move |t: &Path| {
                    assert_eq!(std::fs::read_link(t.join("a")).unwrap(), Path::new("/"));
                    assert_eq!(std::fs::read(t.join(&op).join("victim")).unwrap(), b"evil");
                }
            }),
        ),
        (
            "symlink to the outer directory then through it",
            vec![
                (T::Symlink, "o".into(), format!("/{op}"), b""),
                (T::Regular, "o/victim".into(), String::new(), b"evil"),
                (T::Directory, "o/dir".into(), String::new(), b""),
                (T::Regular, "o/dir/x".into(), String::new(), b"evil"),
            ],
            Some("symlink to a missing directory"),
            Box::new(|_| {}),
        ),
        (
            "symlink to a parent then a file under it",
            vec![
                (T::Directory, "d".into(), String::new(), b""),
                (T::Directory, "d/e".into(), String::new(), b""),
                (
                    T::Symlink,
                    "d/e/up".into(),
                    "../../../../../../..".into(),
                    b"",
                ),
                (T::Regular, "d/e/up/victim".into(), String::new(), b"evil"),
                (T::Symlink, "d/p".into(), "..".into(), b""),
                (T::Regular, "d/p/p2".into(), String::new(), b"evil2"),
            ],
            None,
            Box::new(|t: &Path| {
                assert_eq!(std::fs::read(t.join("victim")).unwrap(), b"evil");
                assert_eq!(std::fs::read(t.join("p2")).unwrap(), b"evil2");
            }),
        ),
        (
            "hard link to outside with ..",
            vec![(T::Link, "hl".into(), "../victim".into(), b"")],
            Some("'..'"),
            Box::new(|_| {}),
        ),
        (
            "hard link to an absolute outside path",
            vec![(T::Link, "hl".into(), format!("/{op}/victim"), b"")],
            Some("hard link target"),
            Box::new(|_| {}),
        ),
        (
            "hard link through a symlink to outside",
            vec![
                (T::Symlink, "o".into(), format!("/{op}"), b""),
                (T::Link, "hl".into(), "o/victim".into(), b""),
            ],
            Some("hard link target"),
            Box::new(|_| {}),
        ),
        (
            "whiteout ../.wh.x",
            vec![(T::Regular, "../.wh.victim".into(), String::new(), b"")],
            Some("'..'"),
            Box::new(|_| {}),
        ),
        (
            "whiteouts through a symlink to outside",
            vec![
                (T::Symlink, "o".into(), format!("/{op}"), b""),
                (T::Regular, "o/.wh.victim".into(), String::new(), b""),
                (T::Regular, "o/dir/.wh..wh..opq".into(), String::new(), b""),
            ],
            None,
            Box::new(|_| {}),
        ),
        (
            "an entry over a symlink replaces the link",
            vec![
                (T::Symlink, "l".into(), format!("/{op}/victim"), b""),
                (T::Symlink, "ld".into(), format!("/{op}/dir"), b""),
                (T::Regular, "l".into(), String::new(), b"evil"),
                (T::Directory, "ld".into(), String::new(), b""),
                (T::Regular, "ld/x".into(), String::new(), b"evil"),
            ],
            None,
            Box::new(|t: &Path| {
                assert_eq!(std::fs::read(t.join("l")).unwrap(), b"evil");
                assert!(std::fs::symlink_metadata(t.join("ld")).unwrap().is_dir());
                assert_eq!(std::fs::read(t.join("ld/x")).unwrap(), b"evil");
            }),
        ),
    ];
    for walk in [false, true] {
        for (what, entries, refusal, check) in &cases {
            let target = outer_path.join("target");
            std::fs::create_dir(&target).unwrap();
            let before = snapshot(&outer_path, &target);
            let mut b = tar::Builder::new(Vec::new());
            for (kind, name, link, data) in entries {
                raw_entry(&mut b, *kind, name, link, data);
            }
            let data = b.into_inner().unwrap();
            let mut tree = Tree::open(&target).unwrap();
            if walk {
                tree = tree.walk_only();
            }
            let r = tree.apply_tar(&data[..], true);
            match refusal {
                Some(text) => {
                    let e = r.expect_err(what);
                    assert!(e.contains(text), "{what} (walk {walk}): {e}");
                    assert_eq!(e.lines().count(), 1, "{e}");
                }
                None => {
                    r.unwrap_or_else(|e| panic!("{what} (walk {walk}): {e}"));
                    check(&target);
                }
            }
            assert_eq!(
                snapshot(&outer_path, &target),
                before,
                "{what} (walk {walk})"
            );
            std::fs::remove_dir_all(&target).unwrap();
        }
    }
    assert_eq!(
        std::fs::read(outer_path.join("victim")).unwrap(),
        b"precious"
    );
}

/// What a root filesystem carries comes through as Docker keeps it: owners, setuid bits,
/// device nodes, hard links, symlinks, xattrs, times; layers apply whiteouts and opaque
/// directories (run as root: owners and nodes).
#[test]
fn archive_contents_kept_as_docker_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t");
    std::fs::create_dir(&target).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o4755);
    h.set_uid(1000);
    h.set_gid(1001);
    h.set_mtime(1_234_567);
    h.set_size(2);
    b.append_data(&mut h, "bin/su", &b"su"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Block);
    h.set_mode(0o660);
    h.set_device_major(7).unwrap();
    h.set_device_minor(200).unwrap();
    h.set_size(0);
    b.append_data(&mut h, "dev/loopx", &b""[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    b.append_link(&mut h, "bin/su2", "bin/su").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_uid(1000);
    b.append_link(&mut h, "bin/sh", "/bin/su").unwrap();
    b.append_pax_extensions([("SCHILY.xattr.user.k", &b"v"[..])])
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(1);
    b.append_data(&mut h, "etc/x", &b"x"[..]).unwrap();
    let layer1 = b.into_inner().unwrap();
    let tree = Tree::open(&target).unwrap();
    let applied = tree.apply_tar(&layer1[..], true).unwrap();
    assert_eq!(applied.entries, 5);
    let su = std::fs::symlink_metadata(target.join("bin/su")).unwrap();
    assert_eq!(
        (su.mode() & 0o7777, su.uid(), su.gid(), su.mtime()),
        (0o4755, 1000, 1001, 1_234_567)
    );
    assert_eq!(su.nlink(), 2);
    let node = std::fs::symlink_metadata(target.join("dev/loopx")).unwrap();
    assert!(node.file_type().is_block_device());
    assert_eq!(
        (node.rdev(), node.mode() & 0o7777),
        (libc::makedev(7, 200), 0o660)
    );
    assert_eq!(
        std::fs::read_link(target.join("bin/sh")).unwrap(),
        Path::new("/bin/su")
    );
    assert_eq!(
        std::fs::symlink_metadata(target.join("bin/sh"))
            .unwrap()
            .uid(),
        1000
    );
    let x = std::fs::read(target.join("etc/x")).unwrap();
    assert_eq!(x, b"x");
    // A second layer: a whiteout, an opaque directory, a new file in it.
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("bin/.wh.su2", &b""[..]),
        ("etc/.wh..wh..opq", b""),
        ("etc/y", b"y"),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    }
    let layer2 = b.into_inner().unwrap();
    Tree::open(&target)
        .unwrap()
        .apply_tar(&layer2[..], true)
        .unwrap();
    assert!(!target.join("bin/su2").exists());
    assert!(!target.join("etc/x").exists());
    assert_eq!(std::fs::read(target.join("etc/y")).unwrap(), b"y");
    assert_eq!(
        std::fs::symlink_metadata(target.join("bin/su"))
            .unwrap()
            .nlink(),
        1
    );
}
