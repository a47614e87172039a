//! Host tier, pvmove of inactive LVs: the extents' data is copied (checksums of every moved
//! LV's PE ranges, read with direct I/O, equal before and after), the maps end where real
//! LVM2 2.03.16 put them for the same commands (a VM guest with device-mapper), progress is
//! printed as LVM2 prints it, LVM2 resumes-state written by oxlvm and oxlvm resumes LVM2's,
//! and a move stopped at every one of its device writes (whole or torn) ends, by `pvmove`
//! (resume) or `pvmove --abort`, with every LV's data intact and LVM2's vgck clean.

mod common;
use common::*;
use metadata_format::text::{parse_metadata, Area, VolumeGroup};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::process::{Command, Output};

const MIB: u64 = 1 << 20;
const CRASH_EXIT: i32 = 99;

/// Reads with O_DIRECT: oxlvm writes around the page cache, so a buffered read could see
/// stale bytes.
fn direct_read(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .expect("open for direct I/O");
    let mut storage = vec![0u8; len + 4096];
    let start = storage.as_ptr().align_offset(4096);
    f.read_exact_at(&mut storage[start..start + len], offset)
        .expect("direct read");
    storage[start..start + len].to_vec()
}

/// Writes with O_DIRECT (whole, aligned MiB blocks).
fn direct_write(path: &Path, offset: u64, data: &[u8]) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .expect("open for direct I/O");
    let mut storage = vec![0u8; data.len() + 4096];
    let start = storage.as_ptr().align_offset(4096);
    storage[start..start + data.len()].copy_from_slice(data);
    f.write_all_at(&storage[start..start + data.len()], offset)
        .expect("direct write");
    f.sync_all().expect("sync");
}

/// Fills PEs `0..count` of a PV (1 MiB extents from 1 MiB) with a pattern naming the device
/// and the extent, so a misplaced extent shows.
fn fill_pattern(dev: &LoopDev, tag: u8, count: u64) {
    for pe in 0..count {
        let mut block = vec![tag ^ (pe as u8).wrapping_mul(37); MIB as usize];
        block[..16].copy_from_slice(&[
            tag, pe as u8, 0xC0, 0xDE, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ]);
        direct_write(&dev.path, MIB + pe * MIB, &block);
    }
}

/// The VG as oxlvm's vgcfgbackup writes it.
fn model(sb: &Sandbox, vg: &str) -> VolumeGroup {
    let file = sb.dir.join(format!("{vg}.model"));
    let _ = std::fs::remove_file(&file);
    ok(sb.oxlvm(&["vgcfgbackup", "-f", file.to_str().unwrap(), vg]));
    parse_metadata(&std::fs::read(&file).unwrap()).unwrap().vg
}

/// For each visible LV: a checksum of the bytes of its PE ranges, segment by segment and area
/// by area (its data as a sequence of extents, whatever PVs they sit on).
fn fingerprints(sb: &Sandbox, devs: &[LoopDev], vg_name: &str) -> BTreeMap<String, String> {
    let vg = model(sb, vg_name);
    let path_of = |id| {
        let n = vg.pv_index(id).unwrap();
        let dev = vg.pvs[n].device.clone().unwrap();
        devs.iter()
            .find(|d| d.path_str() == dev)
            .map(|d| d.path.clone())
            .unwrap()
    };
    let es = u64::from(vg.extent_size) * 512;
    let mut out = BTreeMap::new();
    for lv in vg.lvs.iter().filter(|l| vg.is_lv_visible(l)) {
        let mut h = Sha256::new();
        for seg in &lv.segments {
            let len = u64::from(metadata_format_area_len(seg));
            for a in seg.areas() {
                let Area::Pv { pv, start } = a else {
                    panic!("{} still maps onto {a:?}", lv.name)
                };
                let p = vg.pv(pv).unwrap();
                let at = p.pe_start * 512 + u64::from(*start) * es;
                h.update(direct_read(&path_of(pv), at, (len * es) as usize));
            }
        }
        out.insert(lv.name.clone(), format!("{:x}", h.finalize()));
    }
    out
}

/// Extents one area of a segment covers.
fn metadata_format_area_len(seg: &metadata_format::text::Segment) -> u32 {
    let n = seg.areas().len().max(1) as u32;
    match &seg.kind {
        metadata_format::text::SegmentKind::Striped(_) => seg.extent_count / n,
        _ => seg.extent_count,
    }
}

/// (device index, first PE, extents) of each area of each segment of an LV.
fn placement(sb: &Sandbox, devs: &[LoopDev], vg_name: &str, lv: &str) -> Vec<(usize, u32, u32)> {
    let vg = model(sb, vg_name);
    let l = vg.lv(lv).unwrap();
    let mut out = Vec::new();
    for seg in &l.segments {
        for a in seg.areas() {
            let Area::Pv { pv, start } = a else {
                panic!("{lv} maps onto {a:?}")
            };
            let dev = vg.pv(pv).unwrap().device.clone().unwrap();
            let d = devs.iter().position(|x| x.path_str() == dev).unwrap();
            out.push((d, *start, metadata_format_area_len(seg)));
        }
    }
    out
}

/// vgck by LVM2 is clean (it exits 0 even on checksum errors: its messages count).
#[track_caller]
fn assert_vgck_clean(sb: &Sandbox, vg: &str) {
    let out = sb.lvm(&["vgck", vg]);
    let complaints = lvm_complaints(&out);
    assert!(
        out.status.success() && complaints.is_empty(),
        "vgck {vg}: {complaints:?}"
    );
}

/// The guest's sequence: a (3 extents, then 2 more after b), b (2), s (striped over the first
/// two PVs), all on the first PV; 1 MiB extents.
fn setup(sb: &Sandbox, devs: &[LoopDev]) {
    let d: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut vgc = vec!["vgcreate", "-s", "1m", "vg"];
    vgc.extend(&d);
    ok(sb.oxlvm(&vgc));
    ok(sb.oxlvm(&["lvcreate", "-y", "-an", "-L", "3M", "-n", "a", "vg", d[0]]));
    ok(sb.oxlvm(&["lvcreate", "-y", "-an", "-L", "2M", "-n", "b", "vg", d[0]]));
    ok(sb.oxlvm(&["lvextend", "-L", "+2M", "vg/a", d[0]]));
    ok(sb.oxlvm(&[
        "lvcreate", "-y", "-an", "-i2", "-L", "4M", "-n", "s", "vg", d[0], d[1],
    ]));
    fill_pattern(&devs[0], 0xA0, 9);
    fill_pattern(&devs[1], 0xB0, 2);
}

#[test]
fn pvmove_moves_data_where_lvm2_moves_it() {
    let (sb, devs) = sandbox_with("pvmove-maps", &[64, 64, 64, 64]);
    setup(&sb, &devs);
    let before = fingerprints(&sb, &devs, "vg");
    let d: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    // pvmove -i 1 SRC DST: progress lines end at 100%; everything lands on the third PV as in
    // the guest (a contiguous, b after it, s's first stripe after b).
    let out = ok(sb.oxlvm(&["pvmove", "-i", "1", d[0], d[2]]));
    assert_eq!(
        out.lines().last(),
        Some(format!("  {}: Moved: 100.00%", d[0]).as_str()),
        "{out}"
    );
    assert_eq!(placement(&sb, &devs, "vg", "a"), vec![(2, 0, 5)]);
    assert_eq!(placement(&sb, &devs, "vg", "b"), vec![(2, 5, 2)]);
    assert_eq!(placement(&sb, &devs, "vg", "s"), vec![(2, 7, 2), (1, 0, 2)]);
    assert_eq!(fingerprints(&sb, &devs, "vg"), before);
    assert_vgck_clean(&sb, "vg");
    // -n: only b moves; -i 0 prints nothing.
    let out = ok(sb.oxlvm(&["pvmove", "-i", "0", "-n", "b", d[2], d[3]]));
    assert!(!out.contains("Moved"), "{out}");
    assert_eq!(placement(&sb, &devs, "vg", "b"), vec![(3, 0, 2)]);
    assert_eq!(placement(&sb, &devs, "vg", "a"), vec![(2, 0, 5)]);
    // A PE range: only a's first two extents go back to the first PV.
    ok(sb.oxlvm(&["pvmove", "-i", "0", &format!("{}:0-1", d[2]), d[0]]));
    assert_eq!(placement(&sb, &devs, "vg", "a"), vec![(0, 0, 2), (2, 2, 3)]);
    assert_eq!(fingerprints(&sb, &devs, "vg"), before);
    assert_vgck_clean(&sb, "vg");
    // LVM2 reads the moved LVs where oxlvm put them.
    let lvs = lvm_clean(&sb, &["lvs", "--noheadings", "-o", "lv_name,devices", "vg"]);
    let b_line = lvs
        .lines()
        .find(|l| l.trim_start().starts_with("b "))
        .unwrap();
    assert!(b_line.contains(&format!("{}(0)", d[3])), "{lvs}");
}

#[test]
fn pvmove_b_leaves_the_copy_to_a_detached_process() {
    let (sb, devs) = sandbox_with("pvmove-bg", &[64, 64, 64]);
    setup(&sb, &devs);
    let before = fingerprints(&sb, &devs, "vg");
    let d: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    // In the foreground `-i 1` ends with the 100% line (test above); with -b the command
    // returns once the move is recorded and prints no progress, as LVM2's -b.
    let out = ok(sb.oxlvm(&["pvmove", "-b", "-i", "1", d[0], d[2]]));
    assert!(!out.contains("Moved"), "{out}");
    // The detached process finishes it: the pvmove LV goes, the maps end on the third PV.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let vg = model(&sb, "vg");
        let moving: Vec<&str> = vg
            .lvs
            .iter()
            .filter(|l| l.name.starts_with("pvmove"))
            .map(|l| l.name.as_str())
            .collect();
        if moving.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the background move never finished: {moving:?} still in the VG"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(placement(&sb, &devs, "vg", "a"), vec![(2, 0, 5)]);
    assert_eq!(placement(&sb, &devs, "vg", "b"), vec![(2, 5, 2)]);
    assert_eq!(placement(&sb, &devs, "vg", "s"), vec![(2, 7, 2), (1, 0, 2)]);
    assert_eq!(fingerprints(&sb, &devs, "vg"), before);
    assert_vgck_clean(&sb, "vg");
}

#[test]
fn oxlvm_resumes_lvm2s_pvmove_and_lvm2_reads_oxlvms() {
    // LVM2 without device-mapper writes the pvmove LV and stops there (as the host fixture
    // vgvar_pvmove_in_progress shows); oxlvm finishes the copy.
    let (sb, devs) = sandbox_with("pvmove-lvm2", &[64, 64, 64]);
    let d: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    lvm_clean_ok(&sb, &["pvcreate", "-y", d[0], d[1], d[2]]);
    lvm_clean_ok(&sb, &["vgcreate", "-s", "1m", "vg", d[0], d[1], d[2]]);
    lvm_clean_ok(
        &sb,
        &[
            "lvcreate", "-an", "-Zn", "-y", "-L", "5M", "-n", "a", "vg", d[0],
        ],
    );
    lvm_clean_ok(
        &sb,
        &[
            "lvcreate", "-an", "-Zn", "-y", "-L", "3M", "-n", "b", "vg", d[0],
        ],
    );
    fill_pattern(&devs[0], 0x50, 8);
    let before = fingerprints(&sb, &devs, "vg");
    let _ = sb.lvm(&["pvmove", d[0], d[2]]);
    let vg = model(&sb, "vg");
    assert!(vg.lv("pvmove0").is_some(), "LVM2 left no pvmove0");
    let out = ok(sb.oxlvm(&["pvmove", "-i", "0", d[0]]));
    assert!(
        out.contains(&format!("Detected pvmove in progress for {}.", d[0])),
        "{out}"
    );
    assert!(model(&sb, "vg").lv("pvmove0").is_none());
    assert_eq!(placement(&sb, &devs, "vg", "a"), vec![(2, 0, 5)]);
    assert_eq!(placement(&sb, &devs, "vg", "b"), vec![(2, 5, 3)]);
    assert_eq!(fingerprints(&sb, &devs, "vg"), before);
    assert_vgck_clean(&sb, "vg");
    // oxlvm's first write is LVM2's: LVM2 reads the move in progress oxlvm leaves.
    let crash = oxlvm_crashing(&sb, &["pvmove", "-i", "0", d[2], d[1]], 12, false);
    assert_eq!(crash.status.code(), Some(CRASH_EXIT), "{crash:?}");
    let lvs = lvm_clean(
        &sb,
        &["lvs", "-a", "--noheadings", "-o", "lv_name,lv_attr", "vg"],
    );
    assert!(lvs.contains("[pvmove0]"), "{lvs}");
    ok(sb.oxlvm(&["pvmove", "-i", "0"]));
    assert_eq!(fingerprints(&sb, &devs, "vg"), before);
}

/// LVM2 succeeded and said nothing but its no-device-mapper line.
fn lvm_clean_ok(sb: &Sandbox, args: &[&str]) {
    let out = sb.lvm(args);
    assert!(out.status.success(), "lvm {args:?}: {out:?}");
}

fn oxlvm_crashing(sb: &Sandbox, args: &[&str], k: u64, tear: bool) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(args)
        .env("LVM_SYSTEM_DIR", sb.system_dir())
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .env("OXLVM_TEST_CRASH_AT_WRITE", k.to_string())
        .env("OXLVM_TEST_CRASH_TEAR", if tear { "1" } else { "0" })
        .output()
        .expect("run oxlvm")
}

/// The seqno of the VG as LVM2 reads it; panics on checksum or parse complaints.
fn lvm2_reads(sb: &Sandbox, vg: &str) -> u32 {
    let out = sb.lvm(&["vgs", "--noheadings", "-o", "vg_seqno", vg]);
    let err = stderr(&out);
    assert!(
        !err.to_lowercase().contains("checksum") && !err.contains("parse error"),
        "LVM2 reads damaged metadata: {err}"
    );
    assert!(out.status.success(), "{out:?}");
    stdout(&out).trim().parse().expect("a seqno")
}

#[test]
fn pvmove_stopped_at_any_write_resumes_or_aborts_with_the_data_intact() {
    let (sb, devs) = sandbox_with("pvmove-crash", &[64, 64, 64]);
    setup(&sb, &devs);
    let before = fingerprints(&sb, &devs, "vg");
    // The state to return to before each run: the first 12 MiB of each PV hold everything
    // that changes (labels, metadata areas, the extents used).
    let golden: Vec<Vec<u8>> = devs
        .iter()
        .map(|d| direct_read(&d.path, 0, (12 * MIB) as usize))
        .collect();
    let restore = || {
        for (d, g) in devs.iter().zip(&golden) {
            direct_write(&d.path, 0, g);
        }
    };
    let src = devs[0].path_str().to_string();
    let dst = devs[2].path_str().to_string();
    let mut completed = false;
    let mut crashes = 0;
    for k in 1..400u64 {
        // (resume or abort, torn write)
        for (resume, tear) in [(true, false), (false, false), (true, true)] {
            restore();
            let out = oxlvm_crashing(&sb, &["pvmove", "-i", "0", &src, &dst], k, tear);
            if out.status.success() {
                completed = true;
                break;
            }
            assert_eq!(out.status.code(), Some(CRASH_EXIT), "k={k}: {out:?}");
            crashes += 1;
            let seqno = lvm2_reads(&sb, "vg");
            assert!(seqno >= 5, "k={k}: LVM2 sees seqno {seqno}");
            let finish = if resume {
                sb.oxlvm(&["pvmove", "-i", "0"])
            } else {
                sb.oxlvm(&["pvmove", "--abort"])
            };
            assert!(finish.status.success(), "k={k} tear={tear}: {finish:?}");
            // One more write repairs copies a crash left older, then vgck is clean.
            let upd = sb.lvm(&["vgck", "--updatemetadata", "vg"]);
            assert!(upd.status.success(), "{upd:?}");
            assert_vgck_clean(&sb, "vg");
            let vg = model(&sb, "vg");
            assert!(
                vg.lvs.iter().all(|l| !l.name.starts_with("pvmove")),
                "k={k} tear={tear} resume={resume}: a pvmove LV is left"
            );
            assert!(vg.lvs.iter().all(|l| !l.has_status("LOCKED")));
            assert_eq!(
                fingerprints(&sb, &devs, "vg"),
                before,
                "k={k} tear={tear} resume={resume}: data changed"
            );
            if resume && seqno > 5 {
                // Resumed after the first write: every LV left the source.
                for lv in ["a", "b"] {
                    assert!(
                        placement(&sb, &devs, "vg", lv).iter().all(|p| p.0 != 0),
                        "k={k}: {lv} still on the source after resuming"
                    );
                }
            }
        }
        if completed {
            break;
        }
    }
    assert!(completed, "the move never completed");
    // A first write, four segment copies (data, then a commit each but the last) and the
    // final write: dozens of stops were visited.
    assert!(crashes > 60, "only {crashes} crash points");
}
