//! Host tier for mirrored and RAID LVs and lvconvert (metadata side, no device-mapper):
//! what oxlvm writes is read back with its own vgcfgbackup and checked against the layouts
//! real LVM2 2.03.16 chose for the same commands on the same VG (a VM guest with
//! device-mapper: four 64 MiB PVs, 4 MiB or 1 MiB extents, the commands in the order below);
//! and a table of bad input, each refused with exit 3 or 5, one line on stderr and every
//! device byte-identical afterwards.

mod common;
use common::*;
use metadata_format::text::{parse_metadata, Area, SegmentKind, VolumeGroup};
use std::process::Output;

/// The VG as oxlvm's vgcfgbackup writes it, parsed.
fn model(sb: &Sandbox, vg: &str) -> VolumeGroup {
    let file = sb.dir.join(format!("{vg}.backup"));
    let _ = std::fs::remove_file(&file);
    ok(sb.oxlvm(&["vgcfgbackup", "-f", file.to_str().unwrap(), vg]));
    let text = std::fs::read(&file).unwrap();
    parse_metadata(&text).unwrap().vg
}

/// (PV index, first PE, extents) of each segment of a linear LV.
fn runs(vg: &VolumeGroup, name: &str) -> Vec<(usize, u32, u32)> {
    vg.lv(name)
        .unwrap_or_else(|| panic!("no LV {name}"))
        .segments
        .iter()
        .map(|s| match &s.areas()[0] {
            Area::Pv { pv, start } => (vg.pv_index(pv).unwrap(), *start, s.extent_count),
            Area::Lv { name, .. } => panic!("{name} is not a PV area"),
        })
        .collect()
}

fn status(vg: &VolumeGroup, name: &str) -> Vec<String> {
    vg.lv(name)
        .unwrap()
        .status
        .iter()
        .map(|w| w.to_string())
        .collect()
}

fn four_pvs(test: &str, extent: &str) -> (Sandbox, Vec<LoopDev>) {
    let (sb, devs) = sandbox_with(test, &[64, 64, 64, 64]);
    let mut create = vec!["vgcreate", "-s", extent, "vg"];
    create.extend(devs.iter().map(LoopDev::path_str));
    ok(sb.oxlvm(&create));
    (sb, devs)
}

#[test]
fn raid_and_mirror_lvs_are_laid_out_as_lvm2_lays_them() {
    let (sb, _devs) = four_pvs("raid-layouts", "4m");
    for cmd in [
        "lvcreate -y -an --type raid1 -m1 -L 8M -n r1 vg",
        "lvcreate -y -an --type mirror -m1 -L 8M -n m1 vg",
        "lvcreate -y -an --type mirror -m1 --mirrorlog core -L 8M -n m2 vg",
        "lvcreate -y -an --type raid5 -i2 -L 8M -n r5 vg",
        "lvcreate -y -an --type raid10 -m1 -i2 -L 8M -n r10 vg",
        "lvcreate -y -an --type raid0 -i2 -L 8M -n r0 vg",
        "lvcreate -y -an --type raid1 -m2 -L 12M -R 1M --nosync -n r1b vg",
    ] {
        ok(sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>()));
    }
    let vg = model(&sb, "vg");
    // LVM2's placements (lvs -a -o devices in the guest).
    assert_eq!(runs(&vg, "r1_rmeta_0"), vec![(0, 0, 1)]);
    assert_eq!(runs(&vg, "r1_rimage_0"), vec![(0, 1, 2)]);
    assert_eq!(runs(&vg, "r1_rmeta_1"), vec![(1, 0, 1)]);
    assert_eq!(runs(&vg, "r1_rimage_1"), vec![(1, 1, 2)]);
    assert_eq!(runs(&vg, "m1_mimage_0"), vec![(0, 3, 2)]);
    assert_eq!(runs(&vg, "m1_mimage_1"), vec![(1, 3, 2)]);
    assert_eq!(runs(&vg, "m1_mlog"), vec![(3, 0, 1)]);
    assert_eq!(runs(&vg, "m2_mimage_0"), vec![(0, 5, 2)]);
    assert!(vg.lv("m2_mlog").is_none());
    assert_eq!(runs(&vg, "r5_rimage_2"), vec![(2, 1, 1)]);
    assert_eq!(runs(&vg, "r10_rimage_3"), vec![(3, 2, 1)]);
    assert_eq!(runs(&vg, "r0_rimage_1"), vec![(1, 11, 1)]);
    // Three legs where two PVs have three extents left: each image is split in two.
    assert_eq!(runs(&vg, "r1b_rimage_0"), vec![(2, 5, 2), (1, 12, 1)]);
    assert_eq!(runs(&vg, "r1b_rimage_1"), vec![(3, 4, 2), (2, 7, 1)]);
    assert_eq!(runs(&vg, "r1b_rimage_2"), vec![(0, 13, 2), (3, 6, 1)]);
    // The segment keys LVM2 wrote.
    let seg = |n: &str| vg.lv(n).unwrap().segments[0].kind.clone();
    let SegmentKind::Raid(r) = seg("r1b") else {
        panic!()
    };
    assert_eq!(
        (r.region_size, r.stripe_size, r.data_copies, r.images.len()),
        (Some(2048), None, None, 3)
    );
    assert_eq!(
        status(&vg, "r1b"),
        vec!["READ", "WRITE", "VISIBLE", "NOTSYNCED"]
    );
    let SegmentKind::Raid(r) = seg("r10") else {
        panic!()
    };
    assert_eq!(
        (r.region_size, r.stripe_size, r.data_copies),
        (Some(4096), Some(128), Some(2))
    );
    let SegmentKind::Raid(r) = seg("r0") else {
        panic!()
    };
    assert_eq!((r.region_size, r.stripe_size), (None, Some(128)));
    assert!(r.images.iter().all(|i| i.meta.is_none()));
    let SegmentKind::Mirror(m) = seg("m1") else {
        panic!()
    };
    assert_eq!(
        (m.mirror_log.as_deref(), m.region_size, m.mirrors.len()),
        (Some("m1_mlog"), Some(4096), 2)
    );
    let SegmentKind::Mirror(m) = seg("m2") else {
        panic!()
    };
    assert_eq!(m.mirror_log, None);
    // Sub-LVs are hidden; LVM2 lists each image before its metadata.
    assert_eq!(status(&vg, "r1_rmeta_0"), vec!["READ", "WRITE"]);
    // (The backup lists the visible LVs first, then the hidden ones in the VG's order.)
    let names: Vec<&str> = vg
        .lvs
        .iter()
        .map(|l| l.name.as_str())
        .filter(|n| n.starts_with("r1_"))
        .collect();
    assert_eq!(
        names,
        vec!["r1_rimage_0", "r1_rmeta_0", "r1_rimage_1", "r1_rmeta_1"]
    );
}

#[test]
fn extension_keeps_legs_and_rename_follows_sub_lvs() {
    // The guest's sequence with 1 MiB extents: each LV extended right after its creation.
    let (sb, _devs) = four_pvs("raid-extend", "1m");
    for cmd in [
        "lvcreate -y -an --type raid1 -m1 -L 8M -n r1 vg",
        "lvextend -L +5M vg/r1",
        "lvcreate -y -an --type mirror -m1 -L 8M -n m1 vg",
        "lvextend -L +5M vg/m1",
        "lvcreate -y -an --type raid5 -i2 -L 8M -n r5 vg",
        "lvextend -L +6M vg/r5",
        "lvcreate -y -an --type raid10 -i2 -L 8M -n r10 vg",
        "lvextend -L +4M vg/r10",
    ] {
        ok(sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>()));
    }
    let vg = model(&sb, "vg");
    assert_eq!(runs(&vg, "r1_rimage_0"), vec![(0, 1, 13)]);
    assert_eq!(runs(&vg, "r1_rimage_1"), vec![(1, 1, 13)]);
    assert_eq!(runs(&vg, "m1_mimage_0"), vec![(0, 14, 13)]);
    assert_eq!(runs(&vg, "m1_mlog"), vec![(3, 0, 1)]);
    assert_eq!(runs(&vg, "r5_rimage_0"), vec![(0, 28, 7)]);
    assert_eq!(runs(&vg, "r10_rimage_2"), vec![(2, 9, 6)]);
    assert_eq!(vg.lv("r5").unwrap().extent_count(), 14);
    // lvreduce of a raid1 cuts every leg; lvrename renames the sub-LVs.
    ok(sb.oxlvm(&["lvreduce", "-y", "-L", "-3M", "vg/r1"]));
    ok(sb.oxlvm(&["lvrename", "vg", "m1", "mm"]));
    let vg = model(&sb, "vg");
    assert_eq!(runs(&vg, "r1_rimage_1"), vec![(1, 1, 10)]);
    assert_eq!(vg.lv("r1").unwrap().extent_count(), 10);
    assert!(vg.lv("mm_mimage_0").is_some() && vg.lv("mm_mlog").is_some());
    let SegmentKind::Mirror(m) = &vg.lv("mm").unwrap().segments[0].kind else {
        panic!()
    };
    assert_eq!(m.mirror_log.as_deref(), Some("mm_mlog"));
    assert!(vg.dangling_references().is_empty());
    // lvremove takes the sub-LVs along.
    ok(sb.oxlvm(&["lvremove", "-y", "vg/r5", "vg/mm"]));
    let vg = model(&sb, "vg");
    assert!(vg
        .lvs
        .iter()
        .all(|l| !l.name.starts_with("r5") && !l.name.starts_with("mm")));
}

#[test]
fn lvconvert_changes_copies_as_lvm2() {
    let (sb, devs) = four_pvs("raid-convert", "1m");
    ok(sb.oxlvm(&[
        "lvcreate", "-y", "--type", "raid1", "-m1", "-L", "8M", "-n", "r1", "vg",
    ]));
    ok(sb.oxlvm(&["lvconvert", "-y", "-m2", "vg/r1"]));
    let vg = model(&sb, "vg");
    // The new pair on the PV no image used, flagged REBUILD (LVM2's state for the kernel).
    assert_eq!(runs(&vg, "r1_rmeta_2"), vec![(2, 0, 1)]);
    assert_eq!(runs(&vg, "r1_rimage_2"), vec![(2, 1, 8)]);
    assert_eq!(status(&vg, "r1_rimage_2"), vec!["READ", "WRITE", "REBUILD"]);
    assert_eq!(status(&vg, "r1_rmeta_2"), vec!["READ", "WRITE", "REBUILD"]);
    // Its metadata starts zeroed on disk: the first 4 KiB at PE 0 of the third PV.
    assert_eq!(devs[2].read(1 << 20, 4096), vec![0u8; 4096]);
    // Removing the leg on the first PV renumbers the rest.
    ok(sb.oxlvm(&["lvconvert", "-y", "-m1", "vg/r1", devs[0].path_str()]));
    let vg = model(&sb, "vg");
    assert_eq!(runs(&vg, "r1_rimage_0"), vec![(1, 1, 8)]);
    assert_eq!(runs(&vg, "r1_rimage_1"), vec![(2, 1, 8)]);
    assert!(vg.lv("r1_rimage_2").is_none());
    ok(sb.oxlvm(&["lvconvert", "-y", "-m0", "vg/r1"]));
    let vg = model(&sb, "vg");
    assert_eq!(runs(&vg, "r1"), vec![(1, 1, 8)]);
    assert!(vg.lvs.iter().all(|l| !l.name.starts_with("r1_")));
    // Linear to mirror and back.
    ok(sb.oxlvm(&["lvcreate", "-y", "-L", "4M", "-n", "lin", "vg"]));
    ok(sb.oxlvm(&["lvconvert", "-y", "--type", "mirror", "-m1", "vg/lin"]));
    let vg = model(&sb, "vg");
    let SegmentKind::Mirror(m) = &vg.lv("lin").unwrap().segments[0].kind else {
        panic!()
    };
    assert_eq!(m.mirrors.len(), 2);
    assert_eq!(m.mirror_log.as_deref(), Some("lin_mlog"));
    ok(sb.oxlvm(&["lvconvert", "-y", "-m+1", "vg/lin"]));
    assert!(model(&sb, "vg").lv("lin_mimage_2").is_some());
    ok(sb.oxlvm(&["lvconvert", "-y", "-m0", "vg/lin"]));
    let vg = model(&sb, "vg");
    assert!(vg.lvs.iter().all(|l| !l.name.starts_with("lin_")));
    // A mirror leg removed by PV: the others keep their names (LVM2 in the guest left
    // m3_mimage_1 and m3_mimage_2 after `lvconvert -m1 vg/m3 /dev/vda`).
    ok(sb.oxlvm(&[
        "lvcreate", "-y", "--type", "mirror", "-m2", "-L", "4M", "-n", "m3", "vg",
    ]));
    let on_first = runs(&model(&sb, "vg"), "m3_mimage_0")[0].0;
    ok(sb.oxlvm(&["lvconvert", "-y", "-m1", "vg/m3", devs[on_first].path_str()]));
    let vg = model(&sb, "vg");
    let SegmentKind::Mirror(m) = &vg.lv("m3").unwrap().segments[0].kind else {
        panic!()
    };
    let legs: Vec<String> = m
        .mirrors
        .iter()
        .map(|a| match a {
            Area::Lv { name, .. } => name.clone(),
            Area::Pv { .. } => panic!(),
        })
        .collect();
    assert_eq!(legs, vec!["m3_mimage_1", "m3_mimage_2"]);
    assert!(vg.lv("m3_mimage_0").is_none() && vg.lv("m3_mlog").is_some());
    assert!(matches!(
        vg.lv("lin").unwrap().segments[0].kind,
        SegmentKind::Striped(_)
    ));
}

#[test]
fn lvconvert_snapshot_and_pool_conversions() {
    let (sb, devs) = four_pvs("raid-convert-snap", "1m");
    for cmd in [
        "lvcreate -y -L 4M -n o vg",
        "lvcreate -y -s -L 2M -n sn vg/o",
        "lvconvert -y --merge vg/sn",
        "lvcreate -y -s -L 2M -n sn2 vg/o",
    ] {
        ok(sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>()));
    }
    let vg = model(&sb, "vg");
    // LVM2: the internal snapshot LV loses VISIBLE and records merging_store.
    let merging = vg
        .lvs
        .iter()
        .find(|l| {
            matches!(&l.segments[0].kind, SegmentKind::Snapshot(s) if s.cow == "sn" && s.merging)
        })
        .expect("a merging snapshot");
    assert_eq!(merging.status, vec!["READ", "WRITE"]);
    // --splitsnapshot: the COW is a visible LV again.
    ok(sb.oxlvm(&["lvconvert", "--splitsnapshot", "vg/sn2"]));
    let vg = model(&sb, "vg");
    assert_eq!(status(&vg, "sn2"), vec!["READ", "WRITE", "VISIBLE"]);
    assert!(vg
        .lvs
        .iter()
        .all(|l| !matches!(&l.segments[0].kind, SegmentKind::Snapshot(s) if s.cow == "sn2")));
    // -s ORIGIN COW: the COW header is zeroed on disk.
    ok(sb.oxlvm(&["lvcreate", "-y", "-L", "2M", "-n", "cow", "vg"]));
    let (pv, pe, _) = runs(&model(&sb, "vg"), "cow")[0];
    let at = (1u64 << 20) + u64::from(pe) * (1 << 20);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&devs[pv].path)
        .and_then(|f| std::os::unix::fs::FileExt::write_all_at(&f, &[0xAB; 4096], at))
        .unwrap();
    ok(sb.oxlvm(&["lvconvert", "-y", "-s", "vg/o", "vg/cow"]));
    assert_eq!(devs[pv].read(at, 4096), vec![0u8; 4096]);
    let vg = model(&sb, "vg");
    assert!(vg.lvs.iter().any(|l| matches!(&l.segments[0].kind, SegmentKind::Snapshot(s) if s.cow == "cow" && s.origin == "o" && s.chunk_size == 8)));
    assert_eq!(status(&vg, "cow"), vec!["READ", "WRITE"]);
    // A thin pool from two LVs: data keeps its place as DATA_tdata, the pool is new.
    ok(sb.oxlvm(&["lvcreate", "-y", "-L", "8M", "-n", "data", "vg"]));
    ok(sb.oxlvm(&["lvcreate", "-y", "-L", "2M", "-n", "meta", "vg"]));
    let before = model(&sb, "vg");
    let data_id = before.lv("data").unwrap().id;
    ok(sb.oxlvm(&[
        "lvconvert",
        "-y",
        "--type",
        "thin-pool",
        "--poolmetadata",
        "vg/meta",
        "vg/data",
    ]));
    let vg = model(&sb, "vg");
    assert_eq!(vg.lv("data_tdata").unwrap().id, data_id);
    let SegmentKind::ThinPool(p) = &vg.lv("data").unwrap().segments[0].kind else {
        panic!()
    };
    assert_eq!(
        (
            p.metadata.as_str(),
            p.pool.as_str(),
            p.transaction_id,
            p.chunk_size
        ),
        ("data_tmeta", "data_tdata", 0, 128)
    );
    assert_eq!(vg.lv("lvol0_pmspare").unwrap().extent_count(), 2);
    // The pool is a new LV after the others, the spare after it (visible LVs come first).
    let names: Vec<&str> = vg.lvs.iter().map(|l| l.name.as_str()).collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("data") > pos("sn2"));
    assert_eq!(names.last(), Some(&"lvol0_pmspare"));
    // A thin snapshot merged into its inactive origin takes the origin's place at once.
    ok(sb.oxlvm(&["lvcreate", "-y", "-V", "4M", "-T", "vg/data", "-n", "th"]));
    ok(sb.oxlvm(&["lvcreate", "-y", "-s", "vg/th", "-n", "ths"]));
    let th_id = model(&sb, "vg").lv("th").unwrap().id;
    ok(sb.oxlvm(&["lvmerge", "vg/ths"]));
    let vg = model(&sb, "vg");
    assert!(vg.lv("ths").is_none());
    let th = vg.lv("th").unwrap();
    assert_eq!(th.id, th_id);
    let SegmentKind::Thin(t) = &th.segments[0].kind else {
        panic!()
    };
    assert_eq!((t.device_id, t.origin.as_deref()), (2, None));
    let SegmentKind::ThinPool(p) = &vg.lv("data").unwrap().segments[0].kind else {
        panic!()
    };
    assert_eq!(p.transaction_id, 3);
}

#[test]
fn bad_raid_mirror_convert_and_pvmove_input_is_refused_untouched() {
    let (sb, devs) = four_pvs("raid-bad-input", "1m");
    let d: Vec<String> = devs.iter().map(|x| x.path_str().to_string()).collect();
    for cmd in [
        "lvcreate -y --type raid1 -m1 -L 8M -n r1 vg",
        "lvcreate -y --type raid1 -m1 --nosync -L 4M -n ns vg",
        "lvcreate -y --type raid5 -i2 -L 4M -n r5 vg",
        "lvcreate -y -L 4M -n lin vg",
        "lvcreate -y -L 1M -n small vg",
        "lvcreate -y -T -L 8M vg/pool",
        "lvcreate -y --type mirror -m1 -L 4M -n mt vg",
    ] {
        ok(sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>()));
    }
    // Fill the last PV so a move onto it has no room.
    ok(sb.oxlvm(&["lvcreate", "-y", "-l", "100%PVS", "-n", "fill", "vg", &d[3]]));
    let sub = |s: &str| -> Vec<String> {
        s.replace("{0}", &d[0])
            .replace("{1}", &d[1])
            .replace("{3}", &d[3])
            .split(' ')
            .map(str::to_string)
            .collect()
    };
    // (command, exit code, a piece of the one-line message)
    let cases: &[(&str, i32, &str)] = &[
        // More legs than PVs (LVM2: "Insufficient suitable allocatable extents").
        (
            "lvcreate -y --type raid1 -m4 -L 4M -n x vg",
            5,
            "needs 5 PVs",
        ),
        (
            "lvcreate -y --type mirror -m2 -L 4M -n x vg {0} {1}",
            5,
            "needs 3 PVs",
        ),
        // More stripes than PVs; raid5 on fewer than three PVs.
        (
            "lvcreate -y --type raid0 -i5 -L 20M -n x vg",
            5,
            "must not exceed number of physical volumes (4)",
        ),
        (
            "lvcreate -y --type raid5 -i4 -L 8M -n x vg",
            5,
            "needs 5 PVs",
        ),
        (
            "lvcreate -y --type raid5 -i2 -L 4M -n x vg {0} {1}",
            5,
            "needs 3 PVs",
        ),
        (
            "lvcreate -y --type raid5 -i1 -L 4M -n x vg",
            3,
            "Minimum of 2 stripes",
        ),
        (
            "lvcreate -y --type raid6 -i2 -L 4M -n x vg",
            3,
            "Minimum of 3 stripes",
        ),
        (
            "lvcreate -y --type raid1 -m1 -i2 -L 4M -n x vg",
            3,
            "Stripes argument cannot be used",
        ),
        (
            "lvcreate -y --type raid1 -m1 -I 64k -L 4M -n x vg",
            3,
            "Stripe size argument cannot be used",
        ),
        (
            "lvcreate -y --type raid5 -m1 -L 4M -n x vg",
            3,
            "Mirror argument cannot be used",
        ),
        (
            "lvcreate -y --type raid10 -m2 -L 4M -n x vg",
            3,
            "only 2-way mirroring",
        ),
        (
            "lvcreate -y --type raid1 -m0 -L 4M -n x vg",
            3,
            "must be at least 1",
        ),
        ("lvcreate -y -m -1 -L 4M -n x vg", 3, "may not be negative"),
        (
            "lvcreate -y --type mirror -m8 -L 4M -n x vg",
            3,
            "Only up to 8 mirrors",
        ),
        (
            "lvcreate -y --type mirror --mirrorlog mirrored -L 4M -n x vg",
            3,
            "DEPRECATED",
        ),
        (
            "lvcreate -y --type mirror --mirrorlog bogus -L 4M -n x vg",
            3,
            "use disk or core",
        ),
        (
            "lvcreate -y --type mirror --corelog --mirrorlog disk -L 4M -n x vg",
            3,
            "only one of",
        ),
        (
            "lvcreate -y --type raid1 --mirrorlog disk -L 4M -n x vg",
            3,
            "are for --type mirror",
        ),
        (
            "lvcreate -y --type raid1 -R 3M -L 4M -n x vg",
            3,
            "power of 2",
        ),
        (
            "lvcreate -y --type raid1 -R 0 -L 4M -n x vg",
            3,
            "may not be zero",
        ),
        (
            "lvcreate -y --type raid6 --nosync -L 4M -n x vg",
            3,
            "prohibited on RAID6",
        ),
        ("lvcreate -y --type raid7 -L 4M -n x vg", 3, "not supported"),
        (
            "lvcreate -y -R 1M -L 4M -n x vg",
            3,
            "are for mirror and RAID LVs",
        ),
        (
            "lvcreate -y --type raid1 -m1 -L 400M -n x vg",
            5,
            "insufficient free space",
        ),
        (
            "lvcreate -y --type raid1 -m1 -L 4M -n r1_rimage_7 vg",
            3,
            "reserved",
        ),
        // Resizing RAID LVs.
        (
            "lvextend -i 3 -L +4M vg/r5",
            3,
            "different number of stripes",
        ),
        // Rounded up to whole stripes (2 extents), 3 extents are the size it has.
        ("lvreduce -y -l 3 vg/r5", 5, "matches existing size"),
        // LVM2's vg_validate refuses a mirror smaller than its region (2 MiB).
        ("lvreduce -y -l 1 vg/mt", 5, "below its region size"),
        (
            "lvextend -l +4294967295 vg/lin",
            5,
            "insufficient free space",
        ),
        (
            "lvcreate -y --type raid1 -m1 -l 4294967295 -n x vg",
            5,
            "more than LVM2 can count",
        ),
        // lvconvert: unsupported combinations and conversions that cannot be made.
        ("lvconvert vg/lin", 3, "Need an operation"),
        (
            "lvconvert --type raid5 vg/lin",
            5,
            "RAID takeover or reshape",
        ),
        (
            "lvconvert --merge --splitsnapshot vg/lin",
            3,
            "one operation at a time",
        ),
        ("lvconvert -y -m1 vg/r5", 5, "raid5"),
        ("lvconvert -y -m1 vg/pool", 5, "thin-pool"),
        ("lvconvert -y -m1 vg/r1", 5, "already has image count of 2"),
        ("lvconvert -y -m-3 vg/r1", 3, "cannot lose 3"),
        (
            "lvconvert -y -m x vg/r1",
            3,
            "give the number of extra copies",
        ),
        ("lvconvert -y -m70 vg/r1", 3, "Only up to 64 images"),
        (
            "lvconvert -y --type mirror -m2 vg/r1",
            5,
            "not supported by oxlvm yet",
        ),
        ("lvconvert -y -m2 vg/ns", 5, "out-of-sync RAID LV"),
        ("lvconvert -m2 vg/r1", 5, "add -y"),
        ("lvconvert -y -m3 vg/r1 {3}", 5, "insufficient free space"),
        ("lvconvert -y -m1 vg/r1_rimage_0", 5, "internal LV"),
        ("lvconvert -y --merge vg/lin", 5, "is not a snapshot"),
        (
            "lvconvert -y --merge vg/nosuch",
            5,
            "Failed to find logical volume",
        ),
        (
            "lvconvert --splitsnapshot vg/lin",
            5,
            "is not a COW snapshot",
        ),
        ("lvconvert -y -s vg/lin vg/lin", 3, "must be two LVs"),
        ("lvconvert -y -s vg/lin", 3, "lvconvert -s VG/ORIGIN VG/COW"),
        ("lvconvert -s vg/lin vg/small", 5, "add -y"),
        (
            "lvconvert -y -s vg/lin vg/r1",
            5,
            "cannot become a COW store",
        ),
        ("lvconvert -y -s -c 3k vg/lin vg/small", 3, "Chunk size"),
        ("lvconvert -y --type thin-pool vg/lin", 3, "--poolmetadata"),
        (
            "lvconvert -y --type thin-pool --poolmetadata vg/small vg/lin",
            5,
            "too small",
        ),
        (
            "lvconvert -y --type thin-pool --poolmetadata vg/lin vg/lin",
            3,
            "two LVs",
        ),
        (
            "lvconvert -y --type thin-pool --poolmetadata vg/small vg/r1",
            5,
            "cannot become part of a thin pool",
        ),
        ("lvmerge vg/lin", 5, "is not a snapshot"),
        // pvmove: no room, nothing to move, bad names and ranges.
        ("pvmove -i 0 {0} {3}", 5, "No extents available"),
        (
            "pvmove -i 0 -n nosuch {0}",
            5,
            "Logical volume nosuch not found",
        ),
        ("pvmove -i 0 -n fill {0}", 5, "No data to move for vg"),
        ("pvmove -i 0 /dev/nonexistent-oxlvm", 5, "No device found"),
        ("pvmove --atomic {0}", 3, "--atomic is not supported"),
        ("pvmove -i x {0}", 3, "whole seconds"),
        ("pvmove -i 0 {0}:9-3", 3, "PE range error"),
        (
            "pvmove -i 0 {0} /dev/nonexistent-oxlvm",
            5,
            "not found in Volume Group",
        ),
        ("pvmove -n lin", 3, "needs the source PV"),
        // lvconvert --repair: without device-mapper nothing is active (LVM2 replaces images
        // of active RAID LVs only); other LV types; a lone --usepolicies.
        (
            "lvconvert --repair -y vg/r1",
            5,
            "Logical volume vg/r1 must be active to perform this operation.",
        ),
        (
            "lvconvert --repair -y vg/lin",
            5,
            "Unsupported volume type for repair of volume vg/lin.",
        ),
        (
            "lvconvert --repair -y vg/r1_rimage_0",
            5,
            "Unsupported volume type for repair",
        ),
        (
            "lvconvert --repair -y vg/nosuch",
            5,
            "Failed to find logical volume",
        ),
        ("lvconvert --repair", 3, "Give the LV to repair"),
        (
            "lvconvert --usepolicies vg/r1",
            3,
            "--usepolicies goes with --repair",
        ),
        ("lvconvert --repair -m1 vg/r1", 3, "one operation at a time"),
    ];
    for (cmd, code, piece) in cases {
        let before = hashes(&devs);
        let args = sub(cmd);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = assert_refused(sb.oxlvm(&argv), *code, &devs, &before);
        assert!(err.contains(piece), "{cmd}: {err:?} lacks {piece:?}");
    }
}

/// Images of a RAID LV (its `_rimage_N` sub-LVs).
fn image_count(vg: &VolumeGroup, name: &str) -> usize {
    vg.lvs
        .iter()
        .filter(|l| l.name.starts_with(&format!("{name}_rimage_")))
        .count()
}

/// lvm.conf's allocation settings that LVM2 applies only with device-mapper (so no live
/// comparison): raid_stripe_all_devices counts stripes as LVM2's _check_raid_parameters does,
/// mirror_logs_require_separate_pvs and thin_pool_metadata_require_separate_pvs keep logs and
/// pool metadata off the data PVs or refuse (exit 5, devices unchanged).
#[test]
fn allocation_settings_for_raid_logs_and_pool_metadata() {
    let (sb, devs) = sandbox_with("alloc-settings-host", &[24, 24, 24, 24, 24]);
    let p: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut create = vec!["vgcreate", "-s", "1m", "vg"];
    create.extend(&p);
    ok(sb.oxlvm(&create));
    let all = "allocation/raid_stripe_all_devices=1";
    let run = |args: &[&str]| {
        let mut v = vec!["lvcreate", "-y", "-an"];
        v.extend_from_slice(args);
        sb.oxlvm(&v)
    };
    // Five PVs: raid5 stripes 5-1 = 4 (five images), raid6 5-2 = 3 (five), raid0 over the
    // three PVs named, raid10 over four: two stripes of two; raid1 keeps two legs; -i wins.
    ok(run(&[
        "--config", all, "--type", "raid5", "-l", "8", "-n", "r5", "vg",
    ]));
    ok(run(&[
        "--config", all, "--type", "raid6", "-l", "6", "-n", "r6", "vg",
    ]));
    ok(run(&[
        "--config", all, "--type", "raid0", "-l", "6", "-n", "r0", "vg", p[1], p[2], p[3],
    ]));
    ok(run(&[
        "--config", all, "--type", "raid10", "-l", "4", "-n", "r10", "vg", p[0], p[1], p[2], p[3],
    ]));
    ok(run(&[
        "--config", all, "--type", "raid1", "-l", "2", "-n", "r1", "vg",
    ]));
    ok(run(&[
        "--config", all, "--type", "raid5", "-i", "2", "-l", "4", "-n", "given", "vg",
    ]));
    ok(run(&["--type", "raid5", "-l", "4", "-n", "plain", "vg"]));
    let vg = model(&sb, "vg");
    for (lv, images) in [
        ("r5", 5),
        ("r6", 5),
        ("r0", 3),
        ("r10", 4),
        ("r1", 2),
        ("given", 3),
        ("plain", 3),
    ] {
        assert_eq!(image_count(&vg, lv), images, "{lv}");
    }
    // One PV given: raid0 needs two stripes; raid5 over two PVs has one data stripe.
    for (args, msg) in [
        (
            vec![
                "--config", all, "--type", "raid0", "-l", "2", "-n", "x", "vg", p[4],
            ],
            "requires 2 or more stripes",
        ),
        (
            vec![
                "--config", all, "--type", "raid10", "-l", "2", "-n", "x", "vg", p[4], p[3], p[2],
            ],
            "insufficient number of devices",
        ),
    ] {
        let before = hashes(&devs);
        let err = assert_refused(run(&args), 5, &devs, &before);
        assert!(err.contains(msg), "{err}");
    }

    // Mirror logs: by default the log may share a leg's PV; with the setting a two-PV
    // mirror is refused, a three-PV one gets its log on the third PV.
    let (sb, devs) = sandbox_with("alloc-settings-logs", &[16, 16, 16]);
    let p: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut create = vec!["vgcreate", "-s", "1m", "vg"];
    create.extend(&p);
    ok(sb.oxlvm(&create));
    let sep = "allocation/mirror_logs_require_separate_pvs=1";
    let lvc = |args: &[&str]| {
        let mut v = vec!["lvcreate", "-y", "-an"];
        v.extend_from_slice(args);
        sb.oxlvm(&v)
    };
    ok(lvc(&[
        "--type", "mirror", "-m1", "-l", "2", "-n", "m0", "vg", p[0], p[1],
    ]));
    let before = hashes(&devs);
    let out = lvc(&[
        "--config", sep, "--type", "mirror", "-m1", "-l", "2", "-n", "m1", "vg", p[0], p[1],
    ]);
    // LVM2's two lines (its lvconvert --mirrorlog disk prints them for the same refusal).
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        stderr(&out),
        "  Insufficient free space for log allocation for logical volume .\n  Unable to allocate extents for mirror log.\n"
    );
    assert_eq!(before, hashes(&devs));
    ok(lvc(&[
        "--config", sep, "--type", "mirror", "-m1", "-l", "2", "-n", "m2", "vg",
    ]));
    let vg = model(&sb, "vg");
    let log_pv = runs(&vg, "m0_mlog")[0].0;
    assert!(
        log_pv == 0 || log_pv == 1,
        "default log on a leg PV: {log_pv}"
    );
    let legs: Vec<usize> = (0..2)
        .map(|i| runs(&vg, &format!("m2_mimage_{i}"))[0].0)
        .collect();
    assert!(!legs.contains(&runs(&vg, "m2_mlog")[0].0), "{legs:?}");

    // Thin pool metadata: with the setting it never shares the data's PV.
    let (sb, devs) = sandbox_with("alloc-settings-pool", &[32, 32]);
    let p: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", "vg", p[0], p[1]]));
    let tsep = "allocation/thin_pool_metadata_require_separate_pvs=1";
    let before = hashes(&devs);
    let out = sb.oxlvm(&[
        "lvcreate", "-y", "-an", "--config", tsep, "-T", "-l", "8", "vg/pool0", p[0],
    ]);
    // LVM2's two lines for an allocation with fewer PVs than areas.
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        stderr(&out),
        "  Not enough PVs with free space available for parallel allocation.\n  Consider --alloc anywhere if desperate.\n"
    );
    assert_eq!(before, hashes(&devs));
    ok(sb.oxlvm(&[
        "lvcreate",
        "-y",
        "-an",
        "-T",
        "-l",
        "8",
        "--poolmetadataspare",
        "n",
        "vg/pool1",
        p[0],
    ]));
    ok(sb.oxlvm(&[
        "lvcreate",
        "-y",
        "-an",
        "--config",
        tsep,
        "-T",
        "-l",
        "8",
        "--poolmetadataspare",
        "n",
        "vg/pool2",
    ]));
    let vg = model(&sb, "vg");
    assert_eq!(runs(&vg, "pool1_tmeta")[0].0, runs(&vg, "pool1_tdata")[0].0);
    assert_ne!(runs(&vg, "pool2_tmeta")[0].0, runs(&vg, "pool2_tdata")[0].0);
}

/// RAID takeover (`lvconvert --type` to another level or to striped) and reshape
/// (`--stripes`, `--stripesize`) are not built: each is refused in one line naming the LV,
/// its layout and the request, exit 5, every device unchanged. `--type linear` is `-m 0`.
#[test]
fn raid_takeover_and_reshape_are_refused_untouched() {
    let (sb, devs) = four_pvs("raid-takeover", "1m");
    for cmd in [
        "lvcreate -y -an --type raid5 -i2 -l 8 -n r5 vg",
        "lvcreate -y -an --type raid1 -m1 -l 4 -n r1 vg",
        "lvcreate -y -an -i2 -l 4 -n st vg",
        "lvcreate -y -an -l 4 -n lin vg",
    ] {
        ok(sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>()));
    }
    let before = hashes(&devs);
    for (cmd, says) in [
        ("lvconvert -y --type raid6 vg/r5", "raid5 with 2 stripe(s)"),
        (
            "lvconvert -y --type raid5 vg/r1",
            "(raid1) with --type raid5",
        ),
        ("lvconvert -y --type raid10 vg/r1", "--type raid10"),
        (
            "lvconvert -y --type raid0 vg/st",
            "(striped) with --type raid0",
        ),
        ("lvconvert -y --type striped vg/r5", "--type striped"),
        ("lvconvert -y --type raid5_n vg/r5", "--type raid5_n"),
        ("lvconvert -y --type raid4 vg/lin", "(linear)"),
        ("lvconvert -y --stripes 3 vg/r5", "--stripes 3"),
        ("lvconvert -y -I 128k vg/r5", "--stripesize 128k"),
        (
            "lvconvert -y --type raid5 --stripes 3 vg/r5",
            "--type raid5 --stripes 3",
        ),
    ] {
        let err = assert_refused(
            sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>()),
            5,
            &devs,
            &before,
        );
        assert!(err.contains("RAID takeover or reshape"), "{cmd}: {err}");
        assert!(err.contains(says), "{cmd}: {err}");
    }
    let err = assert_refused(
        sb.oxlvm(&["lvconvert", "-y", "--type", "raid5", "vg/nosuch"]),
        5,
        &devs,
        &before,
    );
    assert!(err.contains("Failed to find logical volume"), "{err}");
    let err = assert_refused(
        sb.oxlvm(&["lvconvert", "-y", "--type", "linear", "-m", "1", "vg/r1"]),
        3,
        &devs,
        &before,
    );
    assert!(err.contains("--type linear"), "{err}");
    // --type linear on raid1: two images down to one, as -m 0.
    ok(sb.oxlvm(&["lvconvert", "-y", "--type", "linear", "vg/r1"]));
    let vg = model(&sb, "vg");
    assert!(vg.lv("r1_rimage_1").is_none());
    assert!(matches!(
        vg.lv("r1").unwrap().segments[0].kind,
        SegmentKind::Striped(_)
    ));
}

/// With a PV missing: refusals of `lvconvert --repair` of mirrors and of `vgreduce
/// --removemissing` exit 5 with one line of their own (besides the missing-PV warnings) and
/// leave every device byte-identical; then `lvconvert --repair -f` drops a mirror's lost leg
/// and `vgreduce --removemissing --force` turns a raid1's lost image into `error` sub-LVs and
/// removes the linear LV, in metadata LVM2 reads cleanly.
#[test]
fn mirror_repair_and_removemissing_with_a_missing_pv() {
    let (sb, devs) = four_pvs("repair-missing", "1m");
    let d: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    for cmd in [
        format!(
            "lvcreate -y --type mirror -m1 -L 2M -n mt vg {} {} {}",
            d[0], d[1], d[2]
        ),
        format!(
            "lvcreate -y --type mirror -m2 -L 2M -n m3 vg {} {} {} {}",
            d[0], d[1], d[2], d[3]
        ),
        format!(
            "lvcreate -y --type raid1 -m1 -L 2M -n r1 vg {} {}",
            d[0], d[1]
        ),
        format!("lvcreate -y -L 1M -n lin vg {}", d[0]),
    ] {
        ok(sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>()));
    }
    // d0 goes missing: the filter no longer accepts it.
    sb.write_lvm_conf(&devs[1..].iter().collect::<Vec<_>>());
    let own = |out: &Output| -> Vec<String> {
        stderr(out)
            .lines()
            .map(str::trim)
            .filter(|l| {
                let missing_pv = l.starts_with("WARNING: Couldn't find device")
                    || (l.starts_with("WARNING: VG ") && l.contains("is missing PV"));
                let noise = l.is_empty() || missing_pv || l.contains("Activation disabled");
                !noise
            })
            .map(str::to_string)
            .collect()
    };
    let cases: &[(&str, &str)] = &[
        // Nobody to ask whether to replace the failed leg.
        ("lvconvert --repair vg/mt", "add -y"),
        // Partial LVs need --force.
        ("vgreduce --removemissing vg", "--removemissing --force"),
        // --mirrorsonly cannot remove the linear LV (or the raid1).
        (
            "vgreduce --removemissing --mirrorsonly --force vg",
            "--mirrorsonly",
        ),
    ];
    for (cmd, piece) in cases {
        let before = hashes(&devs);
        let out = sb.oxlvm(&cmd.split(' ').collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(5), "{cmd}: {out:?}");
        let lines = own(&out);
        assert_eq!(lines.len(), 1, "{cmd}: one line: {lines:?}");
        assert!(lines[0].contains(piece), "{cmd}: {lines:?} lacks {piece:?}");
        assert_eq!(hashes(&devs), before, "{cmd} changed a device");
    }
    // -f: the lost leg (and the log, the mirror being linear now) go; nothing is added.
    let out = sb.oxlvm(&["lvconvert", "--repair", "-f", "vg/mt"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(own(&out), Vec::<String>::new(), "{out:?}");
    assert_eq!(stdout(&out).trim(), "Mirror status: 1 of 2 images failed.");
    let vg = model(&sb, "vg");
    let mt = vg.lv("mt").expect("mt");
    assert_eq!(mt.segments.len(), 1);
    assert!(
        matches!(mt.segments[0].kind, SegmentKind::Striped(_)),
        "{:?}",
        mt.segments[0].kind
    );
    assert!(vg.lv("mt_mimage_0").is_none() && vg.lv("mt_mlog").is_none());
    // --force: the raid1 keeps its image on d1, the lost one becomes `error` sub-LVs; the
    // 3-leg mirror keeps two; the linear LV goes with d0.
    let out = sb.oxlvm(&["vgreduce", "--removemissing", "--force", "vg"]);
    assert!(out.status.success(), "{out:?}");
    let vg = model(&sb, "vg");
    assert_eq!(vg.pvs.len(), 3);
    assert!(vg.lv("lin").is_none());
    for sub in ["r1_rimage_0", "r1_rmeta_0"] {
        let lv = vg.lv(sub).expect(sub);
        assert!(
            matches!(&lv.segments[0].kind, SegmentKind::Other(o) if o.type_name == "error"),
            "{sub}: {:?}",
            lv.segments
        );
    }
    assert_eq!(image_count(&vg, "r1"), 2);
    let m3 = vg.lv("m3").expect("m3");
    match &m3.segments[0].kind {
        SegmentKind::Mirror(m) => assert_eq!(m.mirrors.len(), 2),
        other => panic!("m3: {other:?}"),
    }
    sb.write_lvm_conf(&devs[1..].iter().collect::<Vec<_>>());
    assert_vgck_clean(&sb, "vg");
    let lvs = |out: Output| ok(out);
    assert_eq!(
        lvs(sb.oxlvm(&[
            "lvs",
            "-a",
            "--noheadings",
            "-o",
            "lv_name,lv_attr,segtype,devices",
            "vg"
        ])),
        lvs(sb.lvm(&[
            "lvs",
            "-a",
            "--noheadings",
            "-o",
            "lv_name,lv_attr,segtype,devices",
            "vg"
        ]))
    );
}
