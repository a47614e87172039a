//! Host tier: vgsplit, vgmerge, vgexport and vgimport on loop devices, no device-mapper.
//! Effects are read back from the PVs' metadata texts and labels and from the archive files;
//! output lines, status words and seqnos are LVM2 2.03.16's for the same requests (LVs are made
//! with LVM2's lvcreate, as in the other host tests). Every refusal is checked for its exit
//! code, a single stderr line, and untouched devices.

mod common;
use common::*;
use metadata_format::header::find_pv_label;
use metadata_format::text::{parse_metadata, VolumeGroup};
use std::path::PathBuf;
use std::process::Output;

#[track_caller]
fn quiet_ok(out: Output) -> String {
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stderr(&out), "", "{out:?}");
    stdout(&out)
}

fn vg_on(sb: &Sandbox, dev: &LoopDev) -> VolumeGroup {
    let text = ok(sb.oxlvm(&["pvck", "--dump", "metadata", dev.path_str()]));
    parse_metadata(text.as_bytes()).expect("metadata parses").vg
}

fn in_vg_flag(dev: &LoopDev) -> bool {
    find_pv_label(&dev.read(0, 2048))
        .expect("a PV label")
        .pv_header
        .in_vg()
}

fn lvcreate(sb: &Sandbox, vg: &str, args: &[&str], devs: &[&LoopDev]) {
    let mut all = vec!["lvcreate", "-an", "-Zn"];
    all.extend_from_slice(args);
    all.push(vg);
    all.extend(devs.iter().map(|d| d.path_str()));
    let out = sb.lvm(&all);
    assert!(out.status.success(), "LVM2 lvcreate: {out:?}");
}

fn lv_names(vg: &VolumeGroup) -> Vec<&str> {
    let mut names: Vec<&str> = vg.lvs.iter().map(|lv| lv.name.as_str()).collect();
    names.sort_unstable();
    names
}

fn archive_descriptions(sb: &Sandbox, vg: &str) -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(sb.dir.join("etc/archive"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{vg}_")))
    });
    paths.sort();
    paths
        .iter()
        .map(|p| {
            parse_metadata(&std::fs::read(p).unwrap())
                .unwrap()
                .header
                .description
                .unwrap_or_default()
        })
        .collect()
}

/// vg1 on a, b, c: lv1 on a, lv2 striped over a and b, lv3 on c.
fn three_pv_vg(test: &str) -> (Sandbox, Vec<LoopDev>) {
    let (sb, devs) = sandbox_with(test, &[16, 16, 16, 16]);
    let (a, b, c) = (&devs[0], &devs[1], &devs[2]);
    ok(sb.oxlvm(&["vgcreate", "vg1", a.path_str(), b.path_str(), c.path_str()]));
    lvcreate(&sb, "vg1", &["-L", "4m", "-n", "lv1"], &[a]);
    lvcreate(&sb, "vg1", &["-i2", "-L", "8m", "-n", "lv2"], &[a, b]);
    lvcreate(&sb, "vg1", &["-L", "4m", "-n", "lv3"], &[c]);
    (sb, devs)
}

#[test]
fn vgsplit_moves_a_pv_and_its_lvs_into_a_new_vg() {
    let (sb, devs) = three_pv_vg("vgsplit-new");
    let (a, b, c) = (&devs[0], &devs[1], &devs[2]);
    let src = vg_on(&sb, a);
    assert_eq!(src.seqno, 4);
    let args = ["vgsplit", "vg1", "vg2", c.path_str()];
    let out = quiet_ok(sb.oxlvm(&args));
    assert_eq!(
        out,
        "  New volume group \"vg2\" successfully split from \"vg1\"\n"
    );
    // LVM2: the source once more (4 -> 5), the new VG twice (exported 1, then 2).
    let vg1 = vg_on(&sb, a);
    assert_eq!(vg1.seqno, 5);
    assert_eq!(vg_on(&sb, b), vg1);
    assert_eq!(lv_names(&vg1), ["lv1", "lv2"]);
    assert_eq!(vg1.pvs.len(), 2);
    let vg2 = vg_on(&sb, c);
    assert_eq!(vg2.seqno, 2);
    assert_eq!(vg2.status, ["RESIZEABLE", "READ", "WRITE"]);
    assert_eq!(lv_names(&vg2), ["lv3"]);
    assert_eq!(vg2.lv("lv3"), src.lv("lv3"), "the LV moves unchanged");
    assert_eq!(vg2.pvs[0].id, src.pvs[2].id);
    assert_eq!(vg2.extent_size, src.extent_size);
    assert_eq!(vg2.metadata_copies, src.metadata_copies);
    assert_ne!(vg2.id, src.id);
    assert!(in_vg_flag(c));
    // The source was archived before it changed, in LVM2's words.
    assert_eq!(
        archive_descriptions(&sb, "vg1").last().map(String::as_str),
        Some(format!("Created *before* executing '{}'", args.join(" ")).as_str())
    );
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));
    quiet_ok(sb.oxlvm(&["vgck", "vg2"]));
}

#[test]
fn vgsplit_by_lv_into_an_existing_vg_and_vgmerge_back() {
    let (sb, devs) = three_pv_vg("vgsplit-existing");
    let (a, b, c, d) = (&devs[0], &devs[1], &devs[2], &devs[3]);
    ok(sb.oxlvm(&["vgcreate", "vg2", d.path_str()]));
    lvcreate(&sb, "vg2", &["-L", "4m", "-n", "other"], &[d]);
    // -n lv2: the PVs of lv2 (a and b) move, and lv1 with them.
    let out = quiet_ok(sb.oxlvm(&["vgsplit", "-n", "lv2", "vg1", "vg2"]));
    assert_eq!(
        out,
        "  Existing volume group \"vg2\" successfully split from \"vg1\"\n"
    );
    let vg2 = vg_on(&sb, d);
    assert_eq!(
        vg2.seqno, 4,
        "vg2 was at 2: written exported, then imported"
    );
    assert_eq!(lv_names(&vg2), ["lv1", "lv2", "other"]);
    assert_eq!(vg2.pvs.len(), 3);
    assert_eq!(vg_on(&sb, a), vg2);
    let vg1 = vg_on(&sb, c);
    assert_eq!(lv_names(&vg1), ["lv3"]);
    assert_eq!(vg1.pvs.len(), 1);
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));
    quiet_ok(sb.oxlvm(&["vgck", "vg2"]));

    let args = ["vgmerge", "vg2", "vg1"];
    let out = quiet_ok(sb.oxlvm(&args));
    assert_eq!(
        out,
        "  Volume group \"vg1\" successfully merged into \"vg2\"\n"
    );
    let merged = vg_on(&sb, c);
    assert_eq!(merged.name, "vg2");
    assert_eq!(merged.seqno, vg2.seqno + 1);
    assert_eq!(lv_names(&merged), ["lv1", "lv2", "lv3", "other"]);
    assert_eq!(merged.pvs.len(), 4);
    for dev in [a, b, d] {
        assert_eq!(vg_on(&sb, dev), merged);
    }
    // LVM2 archives both VGs before the merge.
    let want = format!("Created *before* executing '{}'", args.join(" "));
    for vg in ["vg1", "vg2"] {
        assert_eq!(archive_descriptions(&sb, vg).last(), Some(&want), "{vg}");
    }
    let out = sb.oxlvm(&["vgck", "vg1"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stderr(&out), "  Volume group \"vg1\" not found\n");
    quiet_ok(sb.oxlvm(&["vgck", "vg2"]));

    // Moving every PV out makes the source disappear, as with LVM2 (it is not written).
    let all: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut args = vec!["vgsplit", "vg2", "vg3"];
    args.extend(&all);
    quiet_ok(sb.oxlvm(&args));
    let vg3 = vg_on(&sb, a);
    assert_eq!(vg3.name, "vg3");
    assert_eq!(vg3.pvs.len(), 4);
    assert_eq!(lv_names(&vg3), ["lv1", "lv2", "lv3", "other"]);
    let out = sb.oxlvm(&["vgck", "vg2"]);
    assert_eq!(stderr(&out), "  Volume group \"vg2\" not found\n");
    quiet_ok(sb.oxlvm(&["vgck", "vg3"]));
}

#[test]
fn vgexport_and_vgimport_set_lvm2s_status_words() {
    let (sb, devs) = sandbox_with("vgexport", &[16, 16, 16]);
    let (a, b, c) = (&devs[0], &devs[1], &devs[2]);
    ok(sb.oxlvm(&["vgcreate", "vg1", a.path_str(), b.path_str()]));
    ok(sb.oxlvm(&["vgcreate", "vg2", c.path_str()]));
    let out = quiet_ok(sb.oxlvm(&["vgexport", "vg1"]));
    assert_eq!(out, "  Volume group \"vg1\" successfully exported\n");
    let vg = vg_on(&sb, b);
    assert_eq!(vg.seqno, 2);
    assert_eq!(vg.status, ["EXPORTED", "RESIZEABLE", "READ", "WRITE"]);
    for pv in &vg.pvs {
        assert_eq!(pv.status, ["ALLOCATABLE", "EXPORTED"]);
    }
    // An exported VG is not changed, split or merged (LVM2: "Volume group vg1 is exported").
    let before = hashes(&devs);
    for args in [
        vec!["vgexport", "vg1"],
        vec!["vgsplit", "vg1", "vg3", a.path_str()],
        vec!["vgmerge", "vg2", "vg1"],
        vec!["vgmerge", "vg1", "vg2"],
        vec!["vgck", "vg1"],
    ] {
        let err = assert_refused(sb.oxlvm(&args), 5, &devs, &before);
        assert!(
            err.starts_with("  Volume group vg1 is exported"),
            "{args:?}: {err}"
        );
    }
    // vgck over all VGs skips it quietly, as LVM2's.
    quiet_ok(sb.oxlvm(&["vgck"]));
    // vgcfgbackup still reads it.
    ok(sb.oxlvm(&["vgcfgbackup", "vg1"]));

    let out = quiet_ok(sb.oxlvm(&["vgimport", "vg1"]));
    assert_eq!(out, "  Volume group \"vg1\" successfully imported\n");
    let vg = vg_on(&sb, a);
    assert_eq!(vg.seqno, 3);
    assert_eq!(vg.status, ["RESIZEABLE", "READ", "WRITE"]);
    assert!(vg.pvs.iter().all(|pv| pv.status == ["ALLOCATABLE"]));

    // -a: vgexport skips exported VGs; vgimport tries every VG and fails on the others.
    let out = quiet_ok(sb.oxlvm(&["vgexport", "-a"]));
    assert_eq!(
        out,
        "  Volume group \"vg1\" successfully exported\n  Volume group \"vg2\" successfully exported\n"
    );
    quiet_ok(sb.oxlvm(&["vgimport", "vg2"]));
    let out = sb.oxlvm(&["vgimport", "-a"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        stdout(&out),
        "  Volume group \"vg1\" successfully imported\n"
    );
    assert_eq!(stderr(&out), "  Volume group \"vg2\" is not exported\n");
    quiet_ok(sb.oxlvm(&["vgck"]));
}

#[test]
fn test_mode_writes_nothing() {
    let (sb, devs) = three_pv_vg("vgsplit-test-mode");
    let d = &devs[3];
    ok(sb.oxlvm(&["vgcreate", "vg2", d.path_str()]));
    let before = hashes(&devs);
    for args in [
        vec!["vgsplit", "-t", "vg1", "vg3", devs[2].path_str()],
        vec!["vgmerge", "-t", "vg1", "vg2"],
        vec!["vgexport", "-t", "vg1"],
    ] {
        let out = sb.oxlvm(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(stderr(&out).contains("TEST MODE"), "{args:?}");
        assert_eq!(hashes(&devs), before, "{args:?} wrote");
    }
}

#[test]
fn bad_input_is_refused_with_one_line_and_untouched_devices() {
    let (sb, devs) = three_pv_vg("vgsplit-bad-input");
    let (a, b, c, d) = (&devs[0], &devs[1], &devs[2], &devs[3]);
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", "vgs1m", d.path_str()]));
    let before = hashes(&devs);
    let not_in = format!("Physical volume {} not in volume group vg1", d.path_str());
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // LVM2: "Can't split Logical Volume lv2 between two Volume Groups".
        (
            vec!["vgsplit", "vg1", "vg2", b.path_str()],
            5,
            "Can't split Logical Volume lv2 between two Volume Groups",
        ),
        (
            vec!["vgsplit", "-n", "lv2", "vg1", "vgs1m"],
            5,
            "Extent sizes differ: 2048 (vgs1m) and 8192 (vg1)",
        ),
        (
            vec!["vgsplit", "vg1", "vgs1m", c.path_str()],
            5,
            "Extent sizes differ",
        ),
        (
            vec!["vgsplit", "vg1", "vg1", c.path_str()],
            5,
            "Duplicate volume group name \"vg1\"",
        ),
        (vec!["vgsplit", "vg1", "vg2", d.path_str()], 5, &not_in),
        (
            vec!["vgsplit", "vg1", "vg2", "/dev/no-such-device"],
            5,
            "/dev/no-such-device",
        ),
        (
            vec!["vgsplit", "-n", "nolv", "vg1", "vg2"],
            5,
            "Logical volume nolv not in volume group vg1",
        ),
        (
            vec!["vgsplit", "nosuch", "vg2", c.path_str()],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (
            vec!["vgsplit", "vg1", "bad name", c.path_str()],
            5,
            "Invalid vg name bad name",
        ),
        (
            vec!["vgsplit", "-l", "5", "vg1", "vgs1m", c.path_str()],
            5,
            "Volume group \"vgs1m\" exists, but new VG option specified",
        ),
        (
            vec!["vgsplit", "vg1", "vg2"],
            3,
            "Existing VG, new VG and either physical volumes or logical volume required.",
        ),
        (
            vec!["vgsplit", "-n", "lv1", "vg1", "vg2", a.path_str()],
            3,
            "A logical volume name cannot be given with physical volumes.",
        ),
        (
            vec!["vgsplit", "vg1", "vg2", c.path_str(), c.path_str()],
            3,
            "given twice",
        ),
        (
            vec!["vgmerge", "vg1", "vgs1m"],
            5,
            "Extent sizes differ: 8192 (vg1) and 2048 (vgs1m)",
        ),
        (
            vec!["vgmerge", "vg1", "vg1"],
            5,
            "Duplicate volume group name \"vg1\"",
        ),
        (
            vec!["vgmerge", "vg1", "nosuch"],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (vec!["vgmerge", "vg1"], 3, "vgmerge --help"),
        (
            vec!["vgimport", "vg1"],
            5,
            "Volume group \"vg1\" is not exported",
        ),
        (
            vec!["vgimport", "nosuch"],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (
            vec!["vgexport", "nosuch"],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (
            vec!["vgexport"],
            3,
            "Please supply volume groups or use --select for selection or use -a for all.",
        ),
        (
            vec!["vgimport"],
            3,
            "Please supply volume groups or -S for selection or use -a for all.",
        ),
        (
            vec!["vgexport", "-a", "vg1"],
            3,
            "No arguments permitted when using -a for all.",
        ),
    ];
    for (args, code, needle) in &cases {
        let err = assert_refused(sb.oxlvm(args), *code, &devs, &before);
        assert!(err.contains(needle), "{args:?}: {err}");
    }

    // Clashing LV names: vg2 gets an lv1 of its own.
    ok(sb.oxlvm(&["vgsplit", "vg1", "vg2", c.path_str()]));
    ok(sb.oxlvm(&["lvrename", "vg2", "lv3", "lv1"]));
    let before = hashes(&devs);
    let err = assert_refused(sb.oxlvm(&["vgmerge", "vg1", "vg2"]), 5, &devs, &before);
    assert!(
        err.contains("Duplicate logical volume name \"lv1\" in \"vg1\" and \"vg2\""),
        "{err}"
    );
    // LVM2 compares every LV of the source, not only those that would move.
    let err = assert_refused(
        sb.oxlvm(&["vgsplit", "-n", "lv1", "vg2", "vg1"]),
        5,
        &devs,
        &before,
    );
    assert!(
        err.contains("Duplicate logical volume name \"lv1\""),
        "{err}"
    );
}
