//! Host tier: pvcreate, pvremove, vgcreate and vgremove on loop devices, no device-mapper.
//! Every refusal is checked for its exit code, a single stderr line, and untouched devices.

mod common;
use common::*;

fn metadata_of(sb: &Sandbox, dev: &LoopDev) -> String {
    ok(sb.oxlvm(&["pvck", "--dump", "metadata", dev.path_str()]))
}

#[test]
fn pvcreate_writes_lvm2_default_layout() {
    let (sb, devs) = sandbox_with("pvcreate-layout", &[16]);
    let out = ok(sb.oxlvm(&["pvcreate", devs[0].path_str()]));
    assert_eq!(
        out,
        format!(
            "  Physical volume \"{}\" successfully created.\n",
            devs[0].path_str()
        )
    );
    let head = devs[0].read(0, 8192);
    // Label in sector 1, as lvm2-format.md measures: LABELONE, sector 1, offset 32, type.
    assert_eq!(&head[512..520], b"LABELONE");
    assert_eq!(u64::from_le_bytes(head[520..528].try_into().unwrap()), 1);
    assert_eq!(&head[536..544], b"LVM2 001");
    // device size, data area {1 MiB, 0}, metadata area {4096, 1044480}
    let u64_at = |o: usize| u64::from_le_bytes(head[o..o + 8].try_into().unwrap());
    assert_eq!(u64_at(576), 16 << 20);
    assert_eq!((u64_at(584), u64_at(592)), (1 << 20, 0));
    assert_eq!((u64_at(616), u64_at(624)), (4096, 1044480));
    // The mda_header magic at 4096 + 4.
    assert_eq!(&head[4100..4116], b" LVM2 x[5A%r0N*>");
    // Sector 0 is zeroed.
    assert!(head[..512].iter().all(|&b| b == 0));
}

#[test]
fn pvcreate_refusals_leave_devices_untouched() {
    let (sb, devs) = sandbox_with("pvcreate-refuse", &[16, 16, 4]);
    let [a, b, _small] = [&devs[0], &devs[1], &devs[2]];
    // b carries a real ext4 file system.
    let mkfs = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", b.path_str()])
        .status()
        .expect("mkfs.ext4 (e2fsprogs) is installed by scripts/setup-system");
    assert!(mkfs.success());
    ok(sb.oxlvm(&["vgcreate", "vg1", a.path_str()]));
    let before = hashes(&devs);

    let err = assert_refused(sb.oxlvm(&["pvcreate", a.path_str()]), 5, &devs, &before);
    assert!(err.contains("vg1") && err.contains("-ff"), "{err}");
    let err = assert_refused(sb.oxlvm(&["pvcreate", b.path_str()]), 5, &devs, &before);
    assert!(err.contains("ext4") && err.contains("1080"), "{err}");
    // One bad device among good ones: nothing is written at all.
    let err = assert_refused(
        sb.oxlvm(&["pvcreate", devs[2].path_str(), b.path_str()]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("ext4"), "{err}");
    let err = assert_refused(
        sb.oxlvm(&["pvcreate", "/dev/no-such-device"]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("/dev/no-such-device"), "{err}");
    assert_refused(
        sb.oxlvm(&["pvcreate", "--metadatacopies", "3", devs[2].path_str()]),
        5,
        &devs,
        &before,
    );
    assert_refused(
        sb.oxlvm(&["pvcreate", "--metadatasize", "1x", devs[2].path_str()]),
        3,
        &devs,
        &before,
    );
    assert_refused(
        sb.oxlvm(&["pvcreate", "--bogus", devs[2].path_str()]),
        3,
        &devs,
        &before,
    );
    assert_refused(
        sb.oxlvm(&["pvcreate", "--uuid", "abc", devs[2].path_str()]),
        3,
        &devs,
        &before,
    );
    // Test mode writes nothing.
    let out = sb.oxlvm(&["pvcreate", "-t", devs[2].path_str()]);
    assert!(out.status.success());
    assert_eq!(before, hashes(&devs));
    // -y overwrites the file system signature.
    ok(sb.oxlvm(&["pvcreate", "-y", b.path_str()]));
    assert_eq!(&b.read(512, 8), b"LABELONE");
    assert_ne!(b.read(1080, 2), [0x53, 0xEF]);
}

#[test]
fn pvcreate_options_shape_the_layout() {
    let (sb, devs) = sandbox_with("pvcreate-options", &[32]);
    let d = &devs[0];
    ok(sb.oxlvm(&[
        "pvcreate",
        "--labelsector",
        "3",
        "--metadatacopies",
        "2",
        d.path_str(),
    ]));
    let dump = ok(sb.oxlvm(&["pvck", "--dump", "headers", d.path_str()]));
    assert!(dump.contains("  label_header at 1536\n"), "{dump}");
    // Second area: align_down(32 MiB - 1044480, 1 MiB) = 31 MiB, to the end of the device.
    assert!(
        dump.contains("pv_header.disk_locn[3].offset 32505856\n"),
        "{dump}"
    );
    assert!(
        dump.contains("pv_header.disk_locn[3].size 1048576\n"),
        "{dump}"
    );
    assert!(dump.contains("mda_header_2 at 32505856"), "{dump}");
}

#[test]
fn vgcreate_writes_metadata_on_every_pv_and_a_backup() {
    let (sb, devs) = sandbox_with("vgcreate", &[16, 24]);
    // A plain device is made a PV first, as LVM2 does.
    ok(sb.oxlvm(&["pvcreate", devs[0].path_str()]));
    let out = ok(sb.oxlvm(&[
        "vgcreate",
        "-s",
        "1m",
        "--addtag",
        "web",
        "vgt",
        devs[0].path_str(),
        devs[1].path_str(),
    ]));
    assert_eq!(
        out,
        format!(
            "  Physical volume \"{}\" successfully created.\n  Volume group \"vgt\" successfully created\n",
            devs[1].path_str()
        )
    );
    let t0 = metadata_of(&sb, &devs[0]);
    let t1 = metadata_of(&sb, &devs[1]);
    assert_eq!(t0, t1, "both PVs hold the same text");
    assert!(t0.starts_with("vgt {\n"));
    assert!(t0.contains("\nseqno = 1\n"));
    assert!(t0.contains("\nextent_size = 2048\n"));
    assert!(t0.contains("\ntags = [\"web\"]\n"), "{t0}");
    // 16 MiB - 1 MiB pe_start = 15 extents of 1 MiB; 24 MiB -> 23.
    assert!(
        t0.contains("\npe_count = 15\n") && t0.contains("\npe_count = 23\n"),
        "{t0}"
    );
    assert!(t0.contains(&format!("device = \"{}\"", devs[0].path_str())));
    assert!(
        t0.contains("description = \"Write from vgcreate -s 1m --addtag web vgt "),
        "{t0}"
    );
    // The in-VG flag of the pv_header extension is set on both labels.
    for d in &devs {
        let dump = ok(sb.oxlvm(&["pvck", "--dump", "headers", d.path_str()]));
        assert!(dump.contains("pv_header_extension.flags 1\n"), "{dump}");
    }
    let backup = std::fs::read_to_string(sb.dir.join("etc/backup/vgt")).unwrap();
    assert!(backup.contains("description = \"Created *after* executing 'vgcreate -s 1m"));
    assert!(backup.contains("\tseqno = 1\n"));
}

#[test]
fn vgcreate_refusals_leave_devices_untouched() {
    let (sb, devs) = sandbox_with("vgcreate-refuse", &[16, 16, 2]);
    ok(sb.oxlvm(&["vgcreate", "vga", devs[0].path_str()]));
    let before = hashes(&devs);
    let d1 = devs[1].path_str();
    let err = assert_refused(sb.oxlvm(&["vgcreate", "vga", d1]), 5, &devs, &before);
    assert!(err.contains("already exists"), "{err}");
    let err = assert_refused(
        sb.oxlvm(&["vgcreate", "vgb", devs[0].path_str()]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("vga"), "{err}");
    for bad in ["-vg", "vg/x", "", ".."] {
        assert_refused(sb.oxlvm(&["vgcreate", bad, d1]), 3, &devs, &before);
    }
    let err = assert_refused(
        sb.oxlvm(&["vgcreate", "-s", "3m", "vgb", d1]),
        3,
        &devs,
        &before,
    );
    assert!(err.contains("power of 2"), "{err}");
    assert_refused(
        sb.oxlvm(&["vgcreate", "-s", "99999999999999t", "vgb", d1]),
        3,
        &devs,
        &before,
    );
    assert_refused(sb.oxlvm(&["vgcreate", "vgb", d1, d1]), 3, &devs, &before);
    assert_refused(sb.oxlvm(&["vgcreate", "vgb"]), 3, &devs, &before);
    assert_refused(
        sb.oxlvm(&["vgcreate", "--addtag", "-bad", "vgb", d1]),
        3,
        &devs,
        &before,
    );
    // A 2 MiB device holds no 4 MiB extent; the refusal also covers the good device given first.
    let err = assert_refused(
        sb.oxlvm(&["vgcreate", "vgb", d1, devs[2].path_str()]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains(devs[2].path_str()), "{err}");
    let err = assert_refused(sb.oxlvm(&["vgremove", "nosuchvg"]), 5, &devs, &before);
    assert!(err.contains("Volume group \"nosuchvg\" not found"), "{err}");
}

#[test]
fn vgremove_and_pvremove_return_devices_to_orphans() {
    let (sb, devs) = sandbox_with("vgremove", &[16]);
    let d = devs[0].path_str();
    ok(sb.oxlvm(&["vgcreate", "vgr", d]));
    let out = ok(sb.oxlvm(&["vgremove", "vgr"]));
    assert_eq!(out, "  Volume group \"vgr\" successfully removed\n");
    let dump = ok(sb.oxlvm(&["pvck", "--dump", "headers", d]));
    assert!(dump.contains("pv_header_extension.flags 0\n"), "{dump}");
    assert!(
        dump.contains("mda_header_1.raw_locn[0].offset 0\n"),
        "{dump}"
    );
    // The old text stays in the ring (as LVM2 leaves it) but nothing points at it.
    let fail = sb.oxlvm(&["pvck", "--dump", "metadata", d]);
    assert_eq!(fail.status.code(), Some(5));
    // The VG name is free again.
    ok(sb.oxlvm(&["vgcreate", "vgr", d]));
    ok(sb.oxlvm(&["vgremove", "vgr"]));
    let out = ok(sb.oxlvm(&["pvremove", d]));
    assert_eq!(
        out,
        format!("  Labels on physical volume \"{d}\" successfully wiped.\n")
    );
    assert!(devs[0].read(512, 512).iter().all(|&b| b == 0));
    let before = hashes(&devs);
    assert_refused(sb.oxlvm(&["pvremove", d]), 5, &devs, &before);
}

/// vgcreate's writes (`OXLVM_TEST_WRITE_LOG`: one `n path offset len` line per write), in order.
fn vgcreate_writes(sb: &Sandbox, args: &[&str]) -> Vec<(String, u64, u64)> {
    let log = sb.dir.join(format!("writes-{}.log", args[0]));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .arg("vgcreate")
        .args(args)
        .env("LVM_SYSTEM_DIR", sb.system_dir())
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .env("OXLVM_TEST_WRITE_LOG", &log)
        .output()
        .expect("run oxlvm");
    assert!(out.status.success(), "{out:?}");
    std::fs::read_to_string(&log)
        .expect("the write log")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// A VG of one new device gets that device's label once, as the last write, after the
/// commit (until then nothing claims the device, so a crash leaves no VG); with several new
/// devices every label lands before any commit, so a crash never shows the VG without a
/// member's label.
#[test]
fn vgcreate_on_new_devices_writes_labels_in_a_crash_safe_order() {
    let (sb, devs) = sandbox_with("vgcreate-order", &[16, 16, 16]);
    let is_label = |w: &(String, u64, u64)| w.1 == 512 && w.2 == 512;
    let is_header = |w: &(String, u64, u64)| w.1 == 4096 && w.2 == 512;

    let one = vgcreate_writes(&sb, &["vgone", devs[0].path_str()]);
    let labels: Vec<usize> = (0..one.len()).filter(|&i| is_label(&one[i])).collect();
    assert_eq!(labels, [one.len() - 1], "{one:?}");
    assert!(one[..one.len() - 1].iter().any(is_header), "{one:?}");

    let two = vgcreate_writes(&sb, &["vgtwo", devs[1].path_str(), devs[2].path_str()]);
    let last_header = (0..two.len()).rev().find(|&i| is_header(&two[i])).unwrap();
    let first_commit = last_header + 1 - 2; // one commit header per device, the last two
    for d in &devs[1..] {
        let first_label = (0..two.len())
            .find(|&i| is_label(&two[i]) && two[i].0 == d.path_str())
            .unwrap_or_else(|| panic!("no label written on {}: {two:?}", d.path_str()));
        assert!(first_label < first_commit, "{two:?}");
    }
    let vgs = ok(sb.oxlvm(&["vgs", "--noheadings", "-o", "vg_name,pv_count"]));
    assert_eq!(
        vgs.split_whitespace().collect::<Vec<_>>(),
        ["vgone", "1", "vgtwo", "2"]
    );
    assert_vgck_clean(&sb, "vgone");
    assert_vgck_clean(&sb, "vgtwo");
}
