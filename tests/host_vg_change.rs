//! Host tier: vgextend, vgreduce, vgrename, vgchange, pvchange and pvresize on loop devices, no
//! device-mapper. Effects are read back from the PVs (metadata text, labels, area headers);
//! expected output lines are LVM2 2.03.16's, as it prints them on the same requests. LVs are
//! made with LVM2's lvcreate (oxlvm's is not built yet). Every refusal is checked for its exit
//! code, a single stderr line, and untouched devices.

mod common;
use common::*;
use metadata_format::header::{find_pv_label, MdaHeader, PvLabel};
use metadata_format::text::{parse_metadata, AllocationPolicy, Area, VolumeGroup};

/// The VG as the committed text in `dev`'s first metadata area says.
fn vg_on(sb: &Sandbox, dev: &LoopDev) -> VolumeGroup {
    let text = ok(sb.oxlvm(&["pvck", "--dump", "metadata", dev.path_str()]));
    parse_metadata(text.as_bytes()).expect("metadata parses").vg
}

fn label(dev: &LoopDev) -> PvLabel {
    find_pv_label(&dev.read(0, 2048)).expect("a PV label")
}

fn mda_header(dev: &LoopDev, start: u64) -> MdaHeader {
    MdaHeader::parse(&dev.read(start, 512)).expect("a good mda header")
}

/// The dashed PV UUID of the label, as VG metadata writes it.
fn pv_id(dev: &LoopDev) -> String {
    label(dev).pv_header.pv_uuid.dashed()
}

fn lvcreate(sb: &Sandbox, vg: &str, name: &str, size: &str, dev: &LoopDev) {
    let out = sb.lvm(&[
        "lvcreate",
        "-an",
        "-Zn",
        "-L",
        size,
        "-n",
        name,
        vg,
        dev.path_str(),
    ]);
    assert!(out.status.success(), "LVM2 lvcreate: {out:?}");
}

#[test]
fn vgextend_initializes_plain_devices_and_writes_every_pv() {
    let (sb, devs) = sandbox_with("vgextend", &[16, 16, 16]);
    let [a, b, c] = [&devs[0], &devs[1], &devs[2]];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str()]));
    ok(sb.oxlvm(&["pvcreate", b.path_str()]));
    let out = ok(sb.oxlvm(&["vgextend", "vg", b.path_str(), c.path_str()]));
    // b is a PV already; only c is initialized (LVM2 prints the same two lines).
    assert_eq!(
        out,
        format!(
            "  Physical volume \"{}\" successfully created.\n  Volume group \"vg\" successfully extended\n",
            c.path_str()
        )
    );
    for d in [a, b, c] {
        let vg = vg_on(&sb, d);
        assert_eq!(vg.seqno, 2);
        let ids: Vec<String> = vg.pvs.iter().map(|p| p.id.to_string()).collect();
        assert_eq!(ids, [pv_id(a), pv_id(b), pv_id(c)]);
        // 16 MiB less the 1 MiB before pe_start holds three 4 MiB extents.
        assert!(vg.pvs.iter().all(|p| p.pe_count == 3 && p.pe_start == 2048));
        assert_eq!(vg.pvs[2].dev_size, Some(32768));
        assert!(label(d).pv_header.in_vg(), "in-VG flag on {}", d.path_str());
    }
    // The archive holds the VG before the change, the backup the VG after it.
    let backup = std::fs::read_to_string(sb.dir.join("etc/backup/vg")).unwrap();
    assert!(backup.contains("seqno = 2"), "{backup}");
    let archived = std::fs::read_dir(sb.dir.join("etc/archive"))
        .unwrap()
        .count();
    assert_eq!(archived, 1);
}

#[test]
fn vgreduce_named_all_and_removemissing() {
    let (sb, devs) = sandbox_with("vgreduce", &[16, 16, 16]);
    let [a, b, c] = [&devs[0], &devs[1], &devs[2]];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str(), b.path_str(), c.path_str()]));
    lvcreate(&sb, "vg", "lva", "4m", a);
    let out = ok(sb.oxlvm(&["vgreduce", "vg", b.path_str()]));
    assert_eq!(
        out,
        format!("  Removed \"{}\" from volume group \"vg\"\n", b.path_str())
    );
    let vg = vg_on(&sb, a);
    assert_eq!(vg.pvs.len(), 2);
    assert!(vg.pv(&pv_id(b).parse().unwrap()).is_none());
    // b is an orphan again: label flag dropped, both slots of its area cleared.
    assert!(!label(b).pv_header.in_vg());
    let h = mda_header(b, 4096);
    assert!(h.committed().is_empty() && h.precommitted().is_empty());

    // -a: the empty PV goes, the used one is reported (LVM2 exits 5 for it).
    let out = sb.oxlvm(&["vgreduce", "-a", "vg"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        stdout(&out),
        format!("  Removed \"{}\" from volume group \"vg\"\n", c.path_str())
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "Physical volume \"{}\" still in use",
            a.path_str()
        )) && err.contains("lva"),
        "{err}"
    );
    assert_eq!(vg_on(&sb, a).pvs.len(), 1);

    // --removemissing: vg2 on b and c, an LV on c, then c hidden with --devices.
    ok(sb.oxlvm(&["vgcreate", "vg2", b.path_str(), c.path_str()]));
    lvcreate(&sb, "vg2", "lvc", "4m", c);
    lvcreate(&sb, "vg2", "lvb", "4m", b);
    let only_b = format!("--devices={}", b.path_str());
    let before = hashes(&devs);
    let err = assert_refused(
        sb.oxlvm(&["vgreduce", "--removemissing", "vg2", &only_b]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("partial LVs") && err.contains("lvc"), "{err}");
    let out = sb.oxlvm(&["vgreduce", "--removemissing", "--force", "vg2", &only_b]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        "  Logical volume \"lvc\" successfully removed.\n  Wrote out consistent volume group vg2.\n"
    );
    assert!(
        stderr(&out).contains("WARNING: Removing partial LV vg2/lvc."),
        "{out:?}"
    );
    let vg2 = vg_on(&sb, b);
    assert_eq!(vg2.pvs.len(), 1);
    let names: Vec<&str> = vg2.lvs.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["lvb"]);
    let out = ok(sb.oxlvm(&["vgreduce", "--removemissing", "vg2", &only_b]));
    assert_eq!(out, "  Volume group \"vg2\" is already consistent.\n");
}

#[test]
fn missing_pvs_are_written_flagged_and_restored() {
    let (sb, devs) = sandbox_with("restoremissing", &[16, 16]);
    let [a, b] = [&devs[0], &devs[1]];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str(), b.path_str()]));
    lvcreate(&sb, "vg", "lvb", "4m", b);
    let only_a = format!("--devices={}", a.path_str());
    // Tags may change while b is missing (LVM2 allows it); b is then written as LVM2 does.
    ok(sb.oxlvm(&["vgchange", "--addtag", "t1", "vg", &only_a]));
    let vg = vg_on(&sb, a);
    let pvb = &vg.pvs[1];
    assert_eq!(pvb.device.as_deref(), Some("[unknown]"));
    assert_eq!(pvb.flags, ["MISSING"]);
    // Other changes are refused while it is missing.
    let before = hashes(&devs);
    let err = assert_refused(
        sb.oxlvm(&["vgchange", "-x", "n", "vg", &only_a]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("while PVs are missing"), "{err}");
    // b is back but still flagged (it holds extents): restoremissing clears the flag.
    let before = hashes(&devs);
    let err = assert_refused(
        sb.oxlvm(&["vgextend", "--restoremissing", "vg", a.path_str()]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("No PV has been restored"), "{err}");
    let out = ok(sb.oxlvm(&["vgextend", "--restoremissing", "vg", b.path_str()]));
    assert_eq!(out, "  Volume group \"vg\" successfully extended\n");
    for d in [a, b] {
        let vg = vg_on(&sb, d);
        assert!(vg.pvs[1].flags.is_empty(), "{:?}", vg.pvs[1].flags);
        assert_eq!(vg.pvs[1].device.as_deref(), Some(b.path_str()));
        assert_eq!(vg.tags, ["t1"]);
    }
}

#[test]
fn vgrename_by_name_and_by_uuid() {
    let (sb, devs) = sandbox_with("vgrename", &[16]);
    let a = &devs[0];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str()]));
    let out = ok(sb.oxlvm(&["vgrename", "/dev/vg", "vg1"]));
    assert_eq!(
        out,
        "  Volume group \"vg\" successfully renamed to \"vg1\"\n"
    );
    let vg = vg_on(&sb, a);
    assert_eq!(vg.name, "vg1");
    assert_eq!(vg.seqno, 2);
    // The backup follows the name.
    assert!(sb.dir.join("etc/backup/vg1").exists());
    assert!(!sb.dir.join("etc/backup/vg").exists());
    let uuid = vg.id.to_string();
    let out = ok(sb.oxlvm(&["vgrename", &uuid, "vg2"]));
    assert_eq!(
        out,
        format!("  Volume group \"{uuid}\" successfully renamed to \"vg2\"\n")
    );
    assert_eq!(vg_on(&sb, a).name, "vg2");
    assert_eq!(vg_on(&sb, a).id, vg.id);
}

#[test]
fn vgchange_metadata_options_and_activation_seam() {
    let (sb, devs) = sandbox_with("vgchange", &[16, 16]);
    let [a, b] = [&devs[0], &devs[1]];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str(), b.path_str()]));
    let changed = "  Volume group \"vg\" successfully changed\n";
    let run = |args: &[&str]| {
        let mut full = vec!["vgchange"];
        full.extend_from_slice(args);
        full.push("vg");
        assert_eq!(ok(sb.oxlvm(&full)), changed, "{args:?}");
        vg_on(&sb, a)
    };
    assert_eq!(
        run(&["--addtag", "t1", "--addtag", "t2"]).tags,
        ["t1", "t2"]
    );
    // An existing tag is not doubled; a tag that is not there is no error (as LVM2).
    assert_eq!(run(&["--addtag", "t1", "--deltag", "t2"]).tags, ["t1"]);
    assert_eq!(run(&["--deltag", "nope"]).tags, ["t1"]);
    assert_eq!(run(&["-x", "n"]).status, ["READ", "WRITE"]);
    assert_eq!(run(&["-x", "y"]).status, ["RESIZEABLE", "READ", "WRITE"]);
    assert_eq!(run(&["-l", "7"]).max_lv, 7);
    assert_eq!(run(&["-p", "9"]).max_pv, 9);
    assert_eq!(
        run(&["--alloc", "cling"]).allocation_policy,
        Some(AllocationPolicy::Cling)
    );
    // Normal is LVM2's default and is not written.
    assert_eq!(run(&["--alloc", "normal"]).allocation_policy, None);
    assert_eq!(run(&["--setautoactivation", "n"]).flags, ["NOAUTOACTIVATE"]);
    let old_id = vg_on(&sb, a).id;
    assert_ne!(run(&["-u"]).id, old_id);
    // vgmetadatacopies 1 with two PVs: one area stays in use, the other is flagged ignored.
    assert_eq!(run(&["--vgmetadatacopies", "1"]).metadata_copies, Some(1));
    let flags = [
        mda_header(a, 4096).is_ignored(),
        mda_header(b, 4096).is_ignored(),
    ];
    assert_eq!(flags, [false, true]);
    // all: every area in use again, unmanaged.
    assert_eq!(run(&["--vgmetadatacopies", "all"]).metadata_copies, Some(0));
    assert!(!mda_header(b, 4096).is_ignored());
    assert_eq!(vg_on(&sb, b).seqno, vg_on(&sb, a).seqno);

    // -a: no device-mapper, so LVM2's warning once and nothing written.
    let before = hashes(&devs);
    let out = sb.oxlvm(&["vgchange", "-ay", "--ignoreactivationskip", "vg"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        "  0 logical volume(s) in volume group \"vg\" now active\n"
    );
    assert_eq!(
        stderr(&out),
        "  WARNING: Activation disabled. No device-mapper interaction will be attempted.\n"
    );
    let out = ok(sb.oxlvm(&["vgchange", "-an"]));
    assert_eq!(
        out,
        "  0 logical volume(s) in volume group \"vg\" now active\n"
    );
    assert_eq!(before, hashes(&devs));
}

#[test]
fn pvchange_allocatable_tags_metadataignore_and_uuid() {
    let (sb, devs) = sandbox_with("pvchange", &[16, 16, 16]);
    let [a, b, c] = [&devs[0], &devs[1], &devs[2]];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str(), b.path_str()]));
    lvcreate(&sb, "vg", "lvb", "4m", b);
    let one = |dev: &LoopDev| {
        format!(
            "  Physical volume \"{}\" changed\n  1 physical volume changed / 0 physical volumes not changed\n",
            dev.path_str()
        )
    };
    assert_eq!(ok(sb.oxlvm(&["pvchange", "-x", "n", a.path_str()])), one(a));
    assert_eq!(vg_on(&sb, a).pvs[0].status, Vec::<String>::new());
    // Already so: LVM2's notice, nothing written, exit 0.
    let out = sb.oxlvm(&["pvchange", "-x", "n", a.path_str()]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!(
            "  Physical volume {} not changed\n  0 physical volumes changed / 1 physical volume not changed\n",
            a.path_str()
        )
    );
    assert_eq!(
        stderr(&out),
        format!(
            "  Physical volume \"{}\" is already unallocatable.\n",
            a.path_str()
        )
    );
    ok(sb.oxlvm(&["pvchange", "-x", "y", "--addtag", "p1", a.path_str()]));
    let vg = vg_on(&sb, a);
    assert_eq!(vg.pvs[0].status, ["ALLOCATABLE"]);
    assert_eq!(vg.pvs[0].tags, ["p1"]);

    // --metadataignore y: a's area keeps this write's text, flagged ignored; b carries on.
    assert_eq!(
        ok(sb.oxlvm(&["pvchange", "--metadataignore", "y", a.path_str()])),
        one(a)
    );
    let ha = mda_header(a, 4096);
    let hb = mda_header(b, 4096);
    assert!(ha.is_ignored() && !hb.is_ignored());
    assert_eq!(ha.committed().checksum, hb.committed().checksum);
    ok(sb.oxlvm(&["vgchange", "--addtag", "later", "vg"]));
    // Later writes leave the ignored area alone.
    assert_eq!(mda_header(a, 4096), ha);
    ok(sb.oxlvm(&["pvchange", "--metadataignore", "n", a.path_str()]));
    assert!(!mda_header(a, 4096).is_ignored());
    assert_eq!(vg_on(&sb, a).tags, ["later"]);

    // -u: a new UUID in b's label and in the metadata, segments included.
    let old = pv_id(b);
    assert_eq!(ok(sb.oxlvm(&["pvchange", "-u", b.path_str()])), one(b));
    let new = pv_id(b);
    assert_ne!(old, new);
    assert!(label(b).pv_header.in_vg());
    for d in [a, b] {
        let vg = vg_on(&sb, d);
        assert_eq!(vg.pvs[1].id.to_string(), new);
        let Area::Pv { pv, .. } = &vg.lvs[0].segments[0].areas()[0] else {
            panic!("linear LV on a PV expected");
        };
        assert_eq!(pv.to_string(), new);
    }

    // Orphans: -u and --metadataignore rewrite the label and header; -a reaches all three.
    ok(sb.oxlvm(&["pvcreate", c.path_str()]));
    let before = pv_id(c);
    ok(sb.oxlvm(&["pvchange", "-u", "--metadataignore", "y", c.path_str()]));
    assert_ne!(pv_id(c), before);
    assert!(!label(c).pv_header.in_vg());
    assert!(mda_header(c, 4096).is_ignored());
    let out = sb.oxlvm(&["pvchange", "-a", "--addtag", "all"]);
    assert_eq!(out.status.code(), Some(5), "the orphan cannot take a tag");
    assert_eq!(
        stdout(&out).lines().last(),
        Some("  2 physical volumes changed / 1 physical volume not changed")
    );
    assert!(vg_on(&sb, a)
        .pvs
        .iter()
        .all(|p| p.tags.contains(&"all".to_string())));
}

#[test]
fn pvresize_grows_and_shrinks_as_lvm2_records_it() {
    let (sb, devs) = sandbox_with("pvresize", &[16, 16, 16]);
    let [a, b, c] = [&devs[0], &devs[1], &devs[2]];
    ok(sb.oxlvm(&["pvcreate", "--metadatacopies", "2", b.path_str()]));
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str(), b.path_str()]));
    lvcreate(&sb, "vg", "lva", "8m", a);
    let resized = |dev: &LoopDev| {
        format!(
            "  Physical volume \"{}\" changed\n  1 physical volume(s) resized or updated / 0 physical volume(s) not resized\n",
            dev.path_str()
        )
    };
    // No size: the device's; LVM2 records dev_size less pe_start.
    assert_eq!(ok(sb.oxlvm(&["pvresize", a.path_str()])), resized(a));
    let vg = vg_on(&sb, a);
    assert_eq!((vg.pvs[0].dev_size, vg.pvs[0].pe_count), (Some(30720), 3));
    // Shrink to 9 MiB: two extents, both in use by lva - allowed.
    let out = sb.oxlvm(&[
        "pvresize",
        "-y",
        "--setphysicalvolumesize",
        "9m",
        a.path_str(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), resized(a));
    assert_eq!(
        stderr(&out),
        format!(
            "  WARNING: {}: Pretending size is 18432 not 32768 sectors.\n",
            a.path_str()
        )
    );
    let vg = vg_on(&sb, a);
    assert_eq!((vg.pvs[0].dev_size, vg.pvs[0].pe_count), (Some(16384), 2));
    // A PV with one area keeps its label's size.
    assert_eq!(label(a).pv_header.device_size, 16 << 20);
    // Grow past the device with -y: LVM2 warns twice and does it.
    let out = sb.oxlvm(&[
        "pvresize",
        "-y",
        "--setphysicalvolumesize",
        "40m",
        a.path_str(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stderr(&out).contains("Overriding real size 16.00 MiB"),
        "{out:?}"
    );
    assert_eq!(vg_on(&sb, a).pvs[0].pe_count, 9);

    // b has a second area at its end: it moves to the new end and the label is rewritten
    // with the size LVM2 records there (less pe_start and that area).
    ok(sb.oxlvm(&[
        "pvresize",
        "-y",
        "--setphysicalvolumesize",
        "10m",
        b.path_str(),
    ]));
    let l = label(b);
    assert_eq!(l.pv_header.metadata_areas[1].offset, (10 << 20) - (1 << 20));
    assert_eq!(l.pv_header.device_size, (10 - 2) << 20);
    let moved = mda_header(b, (10 << 20) - (1 << 20));
    assert!(!moved.committed().is_empty());
    let vg = vg_on(&sb, b);
    assert_eq!((vg.pvs[1].dev_size, vg.pvs[1].pe_count), (Some(16384), 2));

    // An orphan: only the label changes.
    ok(sb.oxlvm(&["pvcreate", c.path_str()]));
    ok(sb.oxlvm(&[
        "pvresize",
        "-y",
        "--setphysicalvolumesize",
        "8m",
        c.path_str(),
    ]));
    assert_eq!(label(c).pv_header.device_size, 8 << 20);
}

#[test]
fn test_mode_writes_nothing_but_reports_success() {
    let (sb, devs) = sandbox_with("testmode", &[16, 16, 16]);
    let [a, b, c] = [&devs[0], &devs[1], &devs[2]];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str(), b.path_str()]));
    let before = hashes(&devs);
    for args in [
        vec!["vgextend", "-t", "vg", c.path_str()],
        vec!["vgreduce", "-t", "vg", b.path_str()],
        vec!["vgrename", "-t", "vg", "vgnew"],
        vec!["vgchange", "-t", "--addtag", "x", "vg"],
        vec!["pvchange", "-t", "-x", "n", a.path_str()],
        vec!["pvchange", "-t", "-u", a.path_str()],
        vec!["pvresize", "-t", a.path_str()],
    ] {
        let out = sb.oxlvm(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(stderr(&out).contains("TEST MODE"), "{args:?}");
        assert!(!stdout(&out).is_empty(), "{args:?}");
        assert_eq!(before, hashes(&devs), "{args:?} wrote in test mode");
    }
}

#[test]
fn bad_requests_are_refused_with_one_line_and_no_writes() {
    let (sb, devs) = sandbox_with("refusals", &[16, 16, 16, 16]);
    let [a, b, c, d] = [&devs[0], &devs[1], &devs[2], &devs[3]];
    ok(sb.oxlvm(&["vgcreate", "vg", a.path_str(), b.path_str()]));
    ok(sb.oxlvm(&["vgcreate", "other", c.path_str()]));
    lvcreate(&sb, "vg", "lv1", "8m", a);
    lvcreate(&sb, "vg", "lv2", "4m", a);
    let (a, b, c, d) = (a.path_str(), b.path_str(), c.path_str(), d.path_str());
    let missing = "/dev/oxlvm-no-such-device";
    let table: Vec<(Vec<&str>, i32, &str)> = vec![
        // vgextend
        (
            vec!["vgextend", "vg", c],
            5,
            "already in volume group 'other'",
        ),
        (vec!["vgextend", "vg", b], 5, "already in volume group 'vg'"),
        (
            vec!["vgextend", "nosuch", d],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (vec!["vgextend", "vg", missing], 5, missing),
        (vec!["vgextend", "vg", d, d], 3, "given twice"),
        (vec!["vgextend", "vg"], 3, "PV"),
        (
            vec!["vgextend", "vg", "--pvmetadatacopies", "3", d],
            3,
            "0, 1 or 2",
        ),
        // vgreduce
        (
            vec!["vgreduce", "vg", a],
            5,
            "still in use by LV(s) lv1, lv2",
        ),
        (
            vec!["vgreduce", "vg", c],
            5,
            "Failed to find physical volume",
        ),
        (vec!["vgreduce", "vg", missing], 5, missing),
        (vec!["vgreduce", "a$b", b], 5, "invalid"),
        (vec!["vgextend", "a/b", d], 5, "invalid"),
        (vec!["vgchange", "--addtag", "t", "a/b"], 3, "invalid"),
        (vec!["vgrename", "a/b", "x"], 5, "invalid"),
        (
            vec!["vgreduce", "other", c],
            5,
            "Can't remove final physical volume",
        ),
        (
            vec!["vgreduce", "vg"],
            3,
            "physical volume paths or option -a",
        ),
        (vec!["vgreduce", "-a", "vg", b], 3, "mutually exclusive"),
        (
            vec!["vgreduce", "--removemissing", "vg", b],
            3,
            "only specify the volume group",
        ),
        (
            vec!["vgreduce", "--mirrorsonly", "vg", b],
            3,
            "--removemissing",
        ),
        (
            vec!["vgreduce", "nosuch", b],
            5,
            "Volume group \"nosuch\" not found",
        ),
        // vgrename
        (
            vec!["vgrename", "vg", "other"],
            5,
            "New VG name \"other\" already exists",
        ),
        (vec!["vgrename", "vg", "bad/name"], 5, "invalid"),
        (vec!["vgrename", "vg", "vg"], 5, "must differ"),
        (
            vec!["vgrename", "nosuch", "x"],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (vec!["vgrename", "vg"], 3, "VG_NEW"),
        // vgchange
        (
            vec!["vgchange", "vg"],
            3,
            "Need one or more command options",
        ),
        (vec!["vgchange", "-x", "y", "vg"], 5, "already resizeable"),
        (vec!["vgchange", "-a", "x", "vg"], 3, "--activate"),
        (
            vec!["vgchange", "-ay", "--addtag", "t", "vg"],
            3,
            "attribute changes",
        ),
        (vec!["vgchange", "--addtag", "bad tag", "vg"], 3, "Tag"),
        (
            vec!["vgchange", "-l", "1", "vg"],
            5,
            "MaxLogicalVolume is less than the current number 2",
        ),
        (
            vec!["vgchange", "-p", "1", "vg"],
            5,
            "MaxPhysicalVolumes is less than the current number 2",
        ),
        (vec!["vgchange", "-p", "-1", "vg"], 3, "-1"),
        (
            vec!["vgchange", "--alloc", "inherit", "vg"],
            5,
            "cannot inherit",
        ),
        (
            vec!["vgchange", "--alloc", "normal", "vg"],
            5,
            "already normal",
        ),
        (vec!["vgchange", "--alloc", "bogus", "vg"], 3, "--alloc"),
        (
            vec!["vgchange", "--vgmetadatacopies", "x", "vg"],
            3,
            "--vgmetadatacopies",
        ),
        (
            vec!["vgchange", "--addtag", "t", "nosuch"],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (vec!["vgchange", "-s", "8m", "vg"], 3, "not built"),
        // pvchange
        (
            vec!["pvchange", "-x", "n", d],
            5,
            "Failed to find physical volume",
        ),
        (vec!["pvchange", "-x", "n", missing], 5, missing),
        (vec!["pvchange", a], 3, "Please give one or more of"),
        (vec!["pvchange", "-x", "n"], 3, "--all"),
        (vec!["pvchange", "-a", "-x", "n", a], 3, "exclusive"),
        (
            vec!["pvchange", "--metadataignore", "y", c],
            5,
            "Cannot disable all metadata areas",
        ),
        (
            vec!["pvchange", "--metadataignore", "n", a],
            5,
            "already marked as in-use",
        ),
        (vec!["pvchange", "--addtag", "bad tag", a], 3, "Tag"),
        // pvresize
        (
            vec!["pvresize", "-y", "--setphysicalvolumesize", "6m", a],
            5,
            "cannot resize to 1 extents as 3 are allocated",
        ),
        (
            vec!["pvresize", "-y", "--setphysicalvolumesize", "1m", a],
            5,
            "Size must exceed minimum of 4096 sectors",
        ),
        (
            vec!["pvresize", "--setphysicalvolumesize", "8m", b],
            5,
            "add -y",
        ),
        (
            vec!["pvresize", "--setphysicalvolumesize", "-8m", b],
            3,
            "may not be negative",
        ),
        (vec!["pvresize", d], 5, "Failed to find physical volume"),
        (vec!["pvresize"], 3, "PV"),
    ];
    let before = hashes(&devs);
    for (args, code, needle) in table {
        let err = assert_refused(sb.oxlvm(&args), code, &devs, &before);
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    }
    // pvchange of an orphan's allocatability or tags.
    ok(sb.oxlvm(&["pvcreate", d]));
    let before = hashes(&devs);
    for (args, needle) in [
        (vec!["pvchange", "-x", "y", d], "orphan"),
        (vec!["pvchange", "--addtag", "t", d], "not in volume group"),
    ] {
        let err = assert_refused(sb.oxlvm(&args), 5, &devs, &before);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // A VG missing a PV that holds extents: everything but the allowed changes is refused.
    let only_b = format!("--devices={b},{c},{d}");
    for args in [
        vec!["vgchange", "-x", "n", "vg"],
        vec!["vgrename", "vg", "vg9"],
        vec!["vgreduce", "vg", b],
        vec!["pvchange", "-x", "n", b],
        vec!["pvresize", b],
    ] {
        let mut full = args.clone();
        full.push(&only_b);
        let err = assert_refused(sb.oxlvm(&full), 5, &devs, &before);
        assert!(err.contains("while PVs are missing"), "{args:?}: {err}");
    }
}
