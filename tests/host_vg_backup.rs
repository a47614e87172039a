//! Host tier: vgcfgbackup, vgcfgrestore, pvcreate --restorefile and vgck on loop devices, no
//! device-mapper. Effects are read back from the PVs and from the backup and archive files;
//! expected lines, file forms and seqnos are LVM2 2.03.16's for the same requests (LVs are
//! made with LVM2's lvcreate: oxlvm's is not built yet). Every refusal is checked for its exit
//! code, a single stderr line, and untouched devices.

mod common;
use common::*;
use metadata_format::header::{find_pv_label, MdaHeader};
use metadata_format::text::{parse_metadata, Metadata, VolumeGroup};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Asserts success with nothing at all on stderr.
#[track_caller]
fn quiet_ok(out: Output) -> String {
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stderr(&out), "", "{out:?}");
    stdout(&out)
}

/// The VG as the committed text in `dev`'s first metadata area says.
fn vg_on(sb: &Sandbox, dev: &LoopDev) -> VolumeGroup {
    let text = ok(sb.oxlvm(&["pvck", "--dump", "metadata", dev.path_str()]));
    parse_metadata(text.as_bytes()).expect("metadata parses").vg
}

fn read_file(path: &Path) -> Metadata {
    parse_metadata(&std::fs::read(path).expect("read backup file")).expect("backup parses")
}

fn pv_id(dev: &LoopDev) -> String {
    find_pv_label(&dev.read(0, 2048))
        .expect("a PV label")
        .pv_header
        .pv_uuid
        .dashed()
}

fn in_vg_flag(dev: &LoopDev) -> bool {
    find_pv_label(&dev.read(0, 2048))
        .expect("a PV label")
        .pv_header
        .in_vg()
}

fn lvcreate(sb: &Sandbox, vg: &str, name: &str, size: &str, devs: &[&LoopDev]) {
    let mut args = vec!["lvcreate", "-an", "-Zn", "-L", size, "-n", name, vg];
    args.extend(devs.iter().map(|d| d.path_str()));
    let out = sb.lvm(&args);
    assert!(out.status.success(), "LVM2 lvcreate: {out:?}");
}

/// Writes `bytes` at `offset` of the device, bypassing the tools (damage for vgck).
fn poke(dev: &LoopDev, offset: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&dev.path)
        .expect("open loop device");
    f.write_all_at(bytes, offset).expect("write loop device");
    f.sync_all().expect("sync loop device");
}

/// Absolute offset of the committed text in the first metadata area (at 4096).
fn committed_text_offset(dev: &LoopDev) -> u64 {
    let h = MdaHeader::parse(&dev.read(4096, 512)).expect("a good mda header");
    4096 + h.committed().offset
}

fn archives(sb: &Sandbox, vg: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(sb.dir.join("etc/archive"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("{vg}_")) && n.ends_with(".vg"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn vgcfgbackup_writes_the_backup_dir_and_template_files() {
    let (sb, devs) = sandbox_with("vgcfgbackup", &[16, 16, 16]);
    ok(sb.oxlvm(&["vgcreate", "vg1", devs[0].path_str(), devs[1].path_str()]));
    ok(sb.oxlvm(&["vgcreate", "vg2", devs[2].path_str()]));
    std::fs::remove_dir_all(sb.dir.join("etc/backup")).expect("vgcreate wrote backups");
    let before = hashes(&devs);

    // No VG named: every VG, one line each, into <backup_dir>/<vg>, "*after*" as LVM2.
    let out = quiet_ok(sb.oxlvm(&["vgcfgbackup"]));
    assert_eq!(
        out,
        "  Volume group \"vg1\" successfully backed up.\n  Volume group \"vg2\" successfully backed up.\n"
    );
    let b1 = read_file(&sb.dir.join("etc/backup/vg1"));
    assert_eq!(
        b1.header.description.as_deref(),
        Some("Created *after* executing 'vgcfgbackup'")
    );
    assert_eq!(b1.vg, vg_on(&sb, &devs[0]), "the backup is the VG on disk");
    assert_eq!(read_file(&sb.dir.join("etc/backup/vg2")).vg.name, "vg2");

    // -f with %s: one file per VG; the description is the command line, as LVM2 writes it.
    let template = format!("{}/out-%s.vg", sb.dir.display());
    quiet_ok(sb.oxlvm(&["vgcfgbackup", "-f", &template, "vg2", "/dev/vg1"]));
    let f1 = read_file(&sb.dir.join("out-vg1.vg"));
    assert_eq!(
        f1.header.description.as_deref(),
        Some(format!("vgcfgbackup -f {template} vg2 /dev/vg1").as_str())
    );
    assert_eq!(f1.vg, b1.vg);
    // Its body is the backup form: tab-indented, with LVM2's comments.
    let text = std::fs::read_to_string(sb.dir.join("out-vg1.vg")).unwrap();
    assert!(
        text.contains("\textent_size = 8192\t\t# 4 Megabytes\n"),
        "{text}"
    );
    assert!(text.contains("\t\t\tdevice = \""), "{text}");

    // A fixed name for two VGs: the first is written, the second refused (exit 5).
    let fixed = sb.dir.join("fixed.vg");
    let out = sb.oxlvm(&["vgcfgbackup", "-f", fixed.to_str().unwrap(), "vg1", "vg2"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        stderr(&out),
        "  VGs must be backed up into different files. Use %s in filename for VG name.\n"
    );
    assert_eq!(read_file(&fixed).vg.name, "vg1");
    assert_eq!(hashes(&devs), before, "vgcfgbackup wrote to a device");

    // -t writes no file.
    std::fs::remove_dir_all(sb.dir.join("etc/backup")).unwrap();
    ok(sb.oxlvm(&["vgcfgbackup", "-t", "vg1"]));
    assert!(!sb.dir.join("etc/backup/vg1").exists());
}

#[test]
fn vgcfgrestore_rolls_back_archiving_first() {
    let (sb, devs) = sandbox_with("vgcfgrestore", &[16, 16]);
    let (a, b) = (&devs[0], &devs[1]);
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", "vg1", a.path_str(), b.path_str()]));
    let v1 = sb.dir.join("v1.vg");
    ok(sb.oxlvm(&["vgcfgbackup", "-f", v1.to_str().unwrap(), "vg1"]));
    lvcreate(&sb, "vg1", "lv1", "3m", &[a]);
    lvcreate(&sb, "vg1", "lv2", "2m", &[b]);
    let with_lvs = vg_on(&sb, a);
    assert_eq!(with_lvs.seqno, 3);
    let archived_before = archives(&sb, "vg1").len();

    let args = ["vgcfgrestore", "-f", v1.to_str().unwrap(), "vg1"];
    let out = quiet_ok(sb.oxlvm(&args));
    assert_eq!(out, "  Restored volume group vg1.\n");
    // LVM2 writes the file's seqno + 1 (host/vgdemo_restored_nodm.vg: 14 -> 15), here above
    // the copies on disk too.
    for d in [a, b] {
        let vg = vg_on(&sb, d);
        assert_eq!(vg.seqno, 4);
        assert!(vg.lvs.is_empty());
        assert_eq!(vg.pvs.len(), 2);
        assert!(in_vg_flag(d));
    }
    // The VG as it was is archived before the write, in LVM2's form and words.
    let all = archives(&sb, "vg1");
    assert_eq!(all.len(), archived_before + 1, "{all:?}");
    let last = read_file(all.last().unwrap());
    assert_eq!(
        last.header.description.as_deref(),
        Some(format!("Created *before* executing '{}'", args.join(" ")).as_str())
    );
    assert_eq!(last.vg, with_lvs);
    // And the backup is the restored VG.
    assert_eq!(read_file(&sb.dir.join("etc/backup/vg1")).vg, vg_on(&sb, a));

    // Restoring that archive brings the LVs back; no -f means <backup_dir>/<vg>.
    ok(sb.oxlvm(&[
        "vgcfgrestore",
        "-f",
        all.last().unwrap().to_str().unwrap(),
        "vg1",
    ]));
    let vg = vg_on(&sb, b);
    assert_eq!(vg.seqno, 5);
    assert_eq!(vg.lvs, with_lvs.lvs);
    std::fs::copy(&v1, sb.dir.join("etc/backup/vg1")).unwrap();
    ok(sb.oxlvm(&["vgcfgrestore", "vg1"]));
    assert!(vg_on(&sb, a).lvs.is_empty());

    // Onto PVs no VG claims any more, the restored seqno is the file's + 1, as LVM2's
    // (host/vgdemo_restored_nodm.vg: a seqno-14 backup comes back as 15).
    ok(sb.oxlvm(&["vgremove", "-f", "vg1"]));
    assert!(!in_vg_flag(a) && !in_vg_flag(b));
    quiet_ok(sb.oxlvm(&[
        "vgcfgrestore",
        "-f",
        all.last().unwrap().to_str().unwrap(),
        "vg1",
    ]));
    assert_eq!(vg_on(&sb, a).seqno, with_lvs.seqno + 1);
    assert!(in_vg_flag(a) && in_vg_flag(b));
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));

    // -t: everything checked, nothing written.
    let before = hashes(&devs);
    let n = archives(&sb, "vg1").len();
    ok(sb.oxlvm(&[
        "vgcfgrestore",
        "-t",
        "-f",
        all.last().unwrap().to_str().unwrap(),
        "vg1",
    ]));
    assert_eq!(hashes(&devs), before);
    assert_eq!(archives(&sb, "vg1").len(), n);
}

#[test]
fn vgcfgrestore_lists_archives_and_backup_as_lvm2() {
    let (sb, devs) = sandbox_with("vgcfgrestore-list", &[16]);
    ok(sb.oxlvm(&["vgcreate", "vg1", devs[0].path_str()]));
    let archive_dir = sb.dir.join("etc/archive");
    let backup = sb.dir.join("etc/backup/vg1");
    // No archive directory yet (vgcreate archives nothing): LVM2 fails after listing the
    // backup.
    let out = sb.oxlvm(&["vgcfgrestore", "--list", "vg1"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        stderr(&out),
        format!(
            "  Couldn't scan the archive directory ({}).\n",
            archive_dir.display()
        )
    );
    assert!(stdout(&out).starts_with(&format!("   \n  File:\t\t{}\n", backup.display())));
    std::fs::create_dir_all(&archive_dir).unwrap();
    let out = quiet_ok(sb.oxlvm(&["vgcfgrestore", "--list", "vg1"]));
    // LVM2: a first line for the empty archive list, then the backup's entry.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("  No archives found in {}.", archive_dir.display())
    );
    assert_eq!(lines[1], "   ");
    assert_eq!(lines[2], format!("  File:\t\t{}", backup.display()));
    assert_eq!(lines[3], "  VG name:    \tvg1");
    assert!(lines[4].starts_with("  Description:\tCreated *after* executing 'vgcreate vg1 "));
    assert!(lines[5].starts_with("  Backup Time:\t"), "{out}");
    assert_eq!(lines[6], "");
    assert_eq!(lines.len(), 7, "{out}");

    lvcreate(&sb, "vg1", "lv1", "4m", &[&devs[0]]);
    lvcreate(&sb, "vg1", "lv2", "4m", &[&devs[0]]);
    let out = quiet_ok(sb.oxlvm(&["vgcfgrestore", "-l", "vg1"]));
    let files: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("  File:\t\t"))
        .collect();
    let names: Vec<String> = archives(&sb, "vg1")
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(files.len(), 3, "{out}");
    assert_eq!(
        files[..2],
        [names[0].as_str(), names[1].as_str()],
        "oldest first"
    );
    assert_eq!(files[2], backup.display().to_string());
    assert!(out.contains("  Description:\tCreated *before* executing 'lvcreate"));

    // --list -f FILE: that file alone; a file that is not there fails.
    let out = quiet_ok(sb.oxlvm(&["vgcfgrestore", "--list", "-f", &names[0]]));
    assert!(out.starts_with(&format!(
        "   \n  File:\t\t{}\n  VG name:    \tvg1\n",
        names[0]
    )));
    let out = sb.oxlvm(&["vgcfgrestore", "--list", "-f", "/nonexistent.vg"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stderr(&out), "  Archive file /nonexistent.vg not found.\n");
}

#[test]
fn restore_of_an_older_archive_releases_pvs_it_does_not_list() {
    // LVM2 writes the archive's seqno + 1 here, which loses to the newer copy still on the PV
    // that joined later (its vgs then warns "ignoring metadata seqno"). oxlvm goes above
    // every copy and releases that PV.
    let (sb, devs) = sandbox_with("restore-older", &[16, 16]);
    let (a, b) = (&devs[0], &devs[1]);
    ok(sb.oxlvm(&["vgcreate", "vg1", a.path_str()]));
    let f1 = sb.dir.join("f1.vg");
    ok(sb.oxlvm(&["vgcfgbackup", "-f", f1.to_str().unwrap(), "vg1"]));
    ok(sb.oxlvm(&["vgextend", "vg1", b.path_str()]));
    ok(sb.oxlvm(&["vgchange", "--addtag", "t1", "vg1"]));
    assert_eq!(vg_on(&sb, b).seqno, 3);
    quiet_ok(sb.oxlvm(&["vgcfgrestore", "-f", f1.to_str().unwrap(), "vg1"]));
    let vg = vg_on(&sb, a);
    assert_eq!(vg.seqno, 4);
    assert_eq!(vg.pvs.len(), 1);
    assert!(vg.tags.is_empty());
    assert!(
        !in_vg_flag(b),
        "the PV the archive does not list is an orphan again"
    );
    assert!(!sb
        .oxlvm(&["pvck", "--dump", "metadata", b.path_str()])
        .status
        .success());
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));
}

#[test]
fn pvcreate_restorefile_then_vgcfgrestore_rebuilds_a_replaced_pv() {
    let (sb, devs) = sandbox_with("restorefile", &[16, 24]);
    let (a, b) = (&devs[0], &devs[1]);
    ok(sb.oxlvm(&["pvcreate", "--bootloaderareasize", "1m", b.path_str()]));
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", "vg1", a.path_str(), b.path_str()]));
    lvcreate(&sb, "vg1", "lv1", "5m", &[b]);
    let f = sb.dir.join("vg1.vg");
    ok(sb.oxlvm(&["vgcfgbackup", "-f", f.to_str().unwrap(), "vg1"]));
    let label_before = b.read(512, 512);
    let id = pv_id(b);

    // The disk is replaced: nothing of the PV is left.
    poke(b, 0, &vec![0u8; 4 << 20]);
    let out = sb.oxlvm(&["vgck", "vg1"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert!(stderr(&out).ends_with("  The volume group is missing 1 physical volumes.\n"));
    let before = hashes(&devs);
    let err = assert_refused(
        sb.oxlvm(&["vgcfgrestore", "-f", f.to_str().unwrap(), "vg1"]),
        5,
        &devs,
        &before,
    );
    assert!(
        err.starts_with("  Cannot restore Volume Group vg1 with 1 PVs marked as missing")
            && err.contains(&id),
        "{err}"
    );

    let out = quiet_ok(sb.oxlvm(&[
        "pvcreate",
        "--uuid",
        &id,
        "--restorefile",
        f.to_str().unwrap(),
        b.path_str(),
    ]));
    assert_eq!(
        out,
        format!(
            "  Physical volume \"{}\" successfully created.\n",
            b.path_str()
        )
    );
    quiet_ok(sb.oxlvm(&["vgcfgrestore", "-f", f.to_str().unwrap(), "vg1"]));
    // The label is the one the PV had: same UUID, size, data start after the bootloader
    // area, metadata area, bootloader area, and the in-VG flag.
    assert_eq!(b.read(512, 512), label_before);
    let vg = vg_on(&sb, b);
    assert_eq!(vg.lv("lv1").map(|lv| lv.extent_count()), Some(5));
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));
}

#[test]
fn vgck_reports_damage_and_updatemetadata_repairs_it() {
    let (sb, devs) = sandbox_with("vgck", &[16, 16, 16]);
    let (a, b, c) = (&devs[0], &devs[1], &devs[2]);
    ok(sb.oxlvm(&["vgcreate", "vg1", a.path_str(), b.path_str(), c.path_str()]));
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));
    quiet_ok(sb.oxlvm(&["vgck"]));

    // A checksum error in b's committed text: a warning naming b, exit 0 as LVM2.
    // (The byte is flipped, not set: the text there is the random VG id, which may already
    // hold any letter - a fixed 'X' left it unchanged once in CI.)
    let at = committed_text_offset(b) + 20;
    let byte = b.read(at, 1)[0];
    poke(b, at, &[byte ^ 0x01]);
    let out = sb.oxlvm(&["vgck", "vg1"]);
    assert!(out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(b.path_str()) && err.contains("checksum error"),
        "{err}"
    );
    // A damaged mda header on c (its checksum no longer matches).
    poke(c, 4096 + 300, b"Z");
    let err = stderr(&sb.oxlvm(&["vgck", "vg1"]));
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains(c.path_str()) && l.contains("bad metadata area header")),
        "{err}"
    );

    // --updatemetadata rewrites every copy; nothing is left to report.
    let seqno = vg_on(&sb, a).seqno;
    ok(sb.oxlvm(&["vgck", "--updatemetadata", "vg1"]));
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));
    for d in [a, b, c] {
        assert_eq!(vg_on(&sb, d).seqno, seqno + 1);
    }

    // A stale copy: c's first MiB put back from before a change.
    let saved = c.read(0, 1 << 20);
    ok(sb.oxlvm(&["vgck", "--updatemetadata", "vg1"]));
    poke(c, 0, &saved);
    let err = stderr(&sb.oxlvm(&["vgck", "vg1"]));
    assert!(
        err.contains(c.path_str())
            && err.contains(&format!(
                "seqno {}, older than the current {}",
                seqno + 1,
                seqno + 2
            )),
        "{err}"
    );
    ok(sb.oxlvm(&["vgck", "--updatemetadata", "vg1"]));
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));

    // A missing PV fails (exit 5) after naming it; a damaged label where it was is named too.
    poke(c, 512 + 100, b"!");
    let out = sb.oxlvm(&["vgck", "vg1"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let err = stderr(&out);
    assert!(err.contains("WARNING: VG vg1 is missing PV"), "{err}");
    assert!(
        err.contains(&format!("{}, where PV", c.path_str())) && err.contains("damaged LVM label"),
        "{err}"
    );
    assert!(err.ends_with("  The volume group is missing 1 physical volumes.\n"));
}

#[test]
fn vgck_updatemetadata_releases_a_pv_left_holding_the_vg() {
    let (sb, devs) = sandbox_with("vgck-outdated", &[16, 16]);
    let (a, b) = (&devs[0], &devs[1]);
    ok(sb.oxlvm(&["vgcreate", "vg1", a.path_str(), b.path_str()]));
    let saved = b.read(0, 1 << 20);
    ok(sb.oxlvm(&["vgreduce", "vg1", b.path_str()]));
    // b comes back holding the VG it was reduced from.
    poke(b, 0, &saved);
    let out = sb.oxlvm(&["vgck", "vg1"]);
    assert!(out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains(b.path_str()) && err.contains("no longer lists it"),
        "{err}"
    );
    ok(sb.oxlvm(&["vgck", "--updatemetadata", "vg1"]));
    quiet_ok(sb.oxlvm(&["vgck", "vg1"]));
    assert!(!in_vg_flag(b));
    assert_eq!(vg_on(&sb, a).pvs.len(), 1);
}

#[test]
fn bad_input_is_refused_with_one_line_and_untouched_devices() {
    let (sb, devs) = sandbox_with("backup-bad-input", &[16, 16, 16, 16]);
    let (a, b, c, d) = (&devs[0], &devs[1], &devs[2], &devs[3]);
    ok(sb.oxlvm(&["vgcreate", "vg1", a.path_str(), b.path_str()]));
    ok(sb.oxlvm(&["vgcreate", "vg2", c.path_str()]));
    ok(sb.oxlvm(&["pvcreate", "--dataalignment", "4m", d.path_str()]));
    let f1 = sb.dir.join("vg1.vg");
    let f2 = sb.dir.join("vg2.vg");
    ok(sb.oxlvm(&["vgcfgbackup", "-f", f1.to_str().unwrap(), "vg1"]));
    ok(sb.oxlvm(&["vgcfgbackup", "-f", f2.to_str().unwrap(), "vg2"]));
    let text = std::fs::read_to_string(&f1).unwrap();
    let truncated = sb.dir.join("truncated.vg");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let syntax = sb.dir.join("syntax.vg");
    std::fs::write(&syntax, text.replacen("seqno = ", "seqno == ", 1)).unwrap();
    // vg1's file with c (a PV of vg2) in place of b.
    let stolen = sb.dir.join("stolen.vg");
    std::fs::write(&stolen, text.replace(&pv_id(b), &pv_id(c))).unwrap();
    // vg1's file with d, whose first extent is at 4 MiB, in place of b.
    let moved = sb.dir.join("moved.vg");
    std::fs::write(&moved, text.replace(&pv_id(b), &pv_id(d))).unwrap();
    // Two LVs on the same extents.
    let mut m = read_file(&f1);
    let mut lv = metadata_format::text::LogicalVolume::new(
        "x",
        metadata_format::text::Id::parse("abcdef0123456789abcdef0123456789").unwrap(),
    );
    lv.segments.push(metadata_format::text::Segment::linear(
        0,
        2,
        m.vg.pvs[0].id,
        0,
    ));
    let mut y = lv.clone();
    y.name = "y".into();
    y.id = metadata_format::text::Id::parse("bbcdef0123456789abcdef0123456789").unwrap();
    m.vg.lvs = vec![lv, y];
    let overlap = sb.dir.join("overlap.vg");
    std::fs::write(&overlap, metadata_format::text::emit_backup(&m)).unwrap();
    let thin = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
    );
    let fs = |p: &PathBuf| p.to_str().unwrap().to_string();
    let before = hashes(&devs);

    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec!["vgcfgrestore".into()], 3, "single"),
        (
            vec!["vgcfgrestore".into(), "vg1".into(), "vg2".into()],
            3,
            "single",
        ),
        (
            vec![
                "vgcfgrestore".into(),
                "-f".into(),
                fs(&f1),
                "bad name".into(),
            ],
            3,
            "bad name",
        ),
        (
            vec!["vgcfgrestore".into(), "--bogus".into(), "vg1".into()],
            3,
            "bogus",
        ),
        (
            vec!["vgcfgrestore".into(), "-f".into(), fs(&f2), "vg1".into()],
            5,
            "does not contain volume group 'vg1'",
        ),
        (
            vec![
                "vgcfgrestore".into(),
                "-f".into(),
                fs(&truncated),
                "vg1".into(),
            ],
            5,
            "truncated.vg",
        ),
        (
            vec![
                "vgcfgrestore".into(),
                "-f".into(),
                fs(&syntax),
                "vg1".into(),
            ],
            5,
            "syntax.vg",
        ),
        (
            vec![
                "vgcfgrestore".into(),
                "-f".into(),
                "/nonexistent.vg".into(),
                "vg1".into(),
            ],
            5,
            "/nonexistent.vg",
        ),
        (vec!["vgcfgrestore".into(), "nosuch".into()], 5, "nosuch"),
        (
            vec![
                "vgcfgrestore".into(),
                "-f".into(),
                fs(&stolen),
                "vg1".into(),
            ],
            5,
            "belongs to volume group vg2",
        ),
        (
            vec!["vgcfgrestore".into(), "-f".into(), fs(&moved), "vg1".into()],
            5,
            "first extent at sector 8192",
        ),
        (
            vec![
                "vgcfgrestore".into(),
                "-f".into(),
                fs(&overlap),
                "vg1".into(),
            ],
            5,
            "used by both x and y",
        ),
        (
            vec![
                "vgcfgrestore".into(),
                "-f".into(),
                thin.into(),
                "vgdemo".into(),
            ],
            5,
            "Consider using option --force to restore Volume Group vgdemo with thin volumes.",
        ),
        (
            vec!["vgcfgbackup".into(), "nosuch".into()],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (vec!["vgcfgbackup".into(), "--bogus".into()], 3, "bogus"),
        (
            vec![
                "pvcreate".into(),
                "--restorefile".into(),
                fs(&f1),
                d.path_str().into(),
            ],
            3,
            "--uuid is required with --restorefile",
        ),
        (
            vec![
                "pvcreate".into(),
                "--uuid".into(),
                pv_id(b),
                "--restorefile".into(),
                "/nonexistent.vg".into(),
                d.path_str().into(),
            ],
            3,
            "/nonexistent.vg",
        ),
        (
            vec![
                "pvcreate".into(),
                "--uuid".into(),
                pv_id(c),
                "--restorefile".into(),
                fs(&f1),
                d.path_str().into(),
            ],
            3,
            "Can't find uuid",
        ),
        (
            vec![
                "pvcreate".into(),
                "-ff".into(),
                "-y".into(),
                "--uuid".into(),
                pv_id(b),
                "--restorefile".into(),
                fs(&f1),
                d.path_str().into(),
            ],
            5,
            "already in use on",
        ),
        (
            vec!["vgck".into(), "nosuch".into()],
            5,
            "Volume group \"nosuch\" not found",
        ),
        (
            vec!["vgck".into(), "--updatemetadata".into()],
            3,
            "--updatemetadata",
        ),
    ];
    for (args, code, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = assert_refused(sb.oxlvm(&args), code, &devs, &before);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // The thin refusal comes before the missing PVs, as in LVM2; with --force LVM2's warning
    // is printed and the missing PVs stop it.
    let out = sb.oxlvm(&["vgcfgrestore", "--force", "-f", thin, "vgdemo"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "  WARNING: Forced restore of Volume Group vgdemo with thin volumes."
    );
    assert!(lines[1].contains("with 3 PVs marked as missing"), "{err}");
    assert_eq!(lines.len(), 2);
    assert_eq!(hashes(&devs), before);

    // vgcfgbackup without -f refuses a VG with a missing PV; with -f it writes it as LVM2
    // does ("[unknown]", flagged MISSING).
    let only_a = format!("--devices={}", a.path_str());
    let out = sb.oxlvm(&["vgcfgbackup", &only_a, "vg1"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out)
        .ends_with("  No backup taken: specify filename with -f to backup with missing PVs.\n"));
    let partial = sb.dir.join("partial.vg");
    ok(sb.oxlvm(&[
        "vgcfgbackup",
        &only_a,
        "-f",
        partial.to_str().unwrap(),
        "vg1",
    ]));
    let m = read_file(&partial);
    let pv =
        m.vg.pvs
            .iter()
            .find(|p| p.id.to_string() == pv_id(b))
            .unwrap();
    assert_eq!(pv.device.as_deref(), Some("[unknown]"));
    assert_eq!(pv.flags, ["MISSING"]);
    assert_eq!(hashes(&devs), before);
}
