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
