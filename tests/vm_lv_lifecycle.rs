//! Kernel tier: the LV commands with device-mapper, beside LVM2 in one guest.
//!
//! - Every LV type oxlvm creates is first made by LVM2, removed by oxlvm, then made again by
//!   oxlvm with the same command: the kernel must then hold what it held after LVM2's
//!   (`dmsetup table`, names, minors, UUIDs up to the LV's own id, /dev entries), and the new
//!   LV's first 4 KiB must be zeroed as LVM2's lvcreate zeroes them.
//! - `lvs` (default columns and the kernel fields, text and JSON) is byte-equal between the two
//!   tools on the same active LVs, percentages included.
//! - Online changes keep data: writes land at the PV offsets the metadata says, a COW snapshot
//!   keeps old data, a thin snapshot shares its origin's blocks, extend/reduce/rename/-p r of
//!   active LVs leave the tables LVM2's own activation of the new metadata loads.
//! - A snapshot merge deferred by LVM2 (origin open) runs when oxlvm activates the origin.
//! - Either tool removes what the other made; open LVs are refused.
//!
//! Runs INSIDE the VM (`scripts/vm-test --test vm_lv_lifecycle`); declared `test = false`. The
//! tests share the guest's four disks, one VG at a time (one lock).

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

const VG: &str = "vglc";
const DISKS: [&str; 4] = ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdd"];
const MIB: u64 = 1 << 20;

static DISK_LOCK: Mutex<()> = Mutex::new(());

fn require_vm() {
    assert_eq!(
        std::env::var("OXLVM_IN_VM").as_deref(),
        Ok("1"),
        "vm_lv_lifecycle tests need a real device-mapper kernel: run them with \
         `scripts/vm-test --test vm_lv_lifecycle` (it boots a VM), not on the host"
    );
}

fn output(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command, asserts it succeeded, returns its stdout; prints its time (`--nocapture`).
fn run(program: &str, label: &str, args: &[&str]) -> String {
    let start = std::time::Instant::now();
    let out = output(program, args);
    eprintln!(
        "{:>7.2} s  {label} {}",
        start.elapsed().as_secs_f64(),
        args.join(" ")
    );
    assert!(
        out.status.success(),
        "`{label} {}` failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The oxlvm binary copied to the guest's tmpfs (paging a debug binary in over 9p on every
/// start costs about half a second under emulation).
fn oxlvm_binary() -> &'static str {
    static COPY: OnceLock<String> = OnceLock::new();
    COPY.get_or_init(|| {
        let to = "/run/oxlvm-vm-lv-lifecycle";
        match fs::copy(env!("CARGO_BIN_EXE_oxlvm"), to) {
            Ok(_) => to.to_string(),
            Err(_) => env!("CARGO_BIN_EXE_oxlvm").to_string(),
        }
    })
}

fn ox(args: &[&str]) -> String {
    run(oxlvm_binary(), "oxlvm", args)
}

fn lvm(args: &[&str]) -> String {
    run("lvm", "lvm", args)
}

fn dmsetup(args: &[&str]) -> String {
    text(&output("dmsetup", args).stdout)
}

fn lv(name: &str) -> String {
    format!("{VG}/{name}")
}

fn dev(name: &str) -> String {
    format!("/dev/{VG}/{name}")
}

/// What the kernel holds for the VG, as sorted lines: tables, `name major minor uuid` (the
/// LV's own id masked: each tool makes its own), /dev/mapper nodes and /dev/VG links.
#[derive(Debug, PartialEq, Eq, Clone)]
struct KernelState {
    tables: Vec<String>,
    names: Vec<String>,
    nodes: Vec<String>,
    links: Vec<String>,
}

fn ours(l: &str) -> bool {
    l.starts_with(VG)
}

fn sorted(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| ours(l))
        .map(|l| l.trim_end().to_string())
        .collect();
    v.sort();
    v
}

fn kernel_state() -> KernelState {
    let tables = sorted(&dmsetup(&["table"]));
    let names = sorted(&dmsetup(&[
        "info",
        "-c",
        "--noheadings",
        "--separator",
        " ",
        "-o",
        "name,major,minor,uuid",
    ]))
    .into_iter()
    .map(|l| {
        let mut w: Vec<String> = l.split(' ').map(str::to_string).collect();
        if let Some(uuid) = w.get_mut(3) {
            // LVM- + VG id (32) + LV id (32) [+ -layer]
            if uuid.len() >= 68 {
                uuid.replace_range(36..68, "<lv id>");
            }
        }
        w.join(" ")
    })
    .collect();
    let mut nodes = Vec::new();
    for entry in fs::read_dir("/dev/mapper").expect("/dev/mapper").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if ours(&name) {
            let meta = entry.metadata().expect("node");
            assert!(meta.file_type().is_block_device(), "/dev/mapper/{name}");
            nodes.push(name);
        }
    }
    nodes.sort();
    let mut links = Vec::new();
    if let Ok(dir) = fs::read_dir(format!("/dev/{VG}")) {
        for entry in dir.flatten() {
            let target = fs::read_link(entry.path()).expect("a symlink");
            links.push(format!(
                "{} -> {}",
                entry.file_name().to_string_lossy(),
                target.display()
            ));
        }
    }
    links.sort();
    KernelState {
        tables,
        names,
        nodes,
        links,
    }
}

fn assert_nothing_left() {
    let s = kernel_state();
    assert!(
        s.tables.is_empty() && s.nodes.is_empty() && s.links.is_empty(),
        "devices of {VG} left: {s:#?}"
    );
    assert!(!Path::new(&format!("/dev/{VG}")).exists());
}

/// A fresh VG on the four disks, made by LVM2 (1 MiB extents).
fn fresh_vg() -> std::sync::MutexGuard<'static, ()> {
    let guard = DISK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // Whatever a failed test before left behind.
    for _ in 0..4 {
        for name in sorted(&dmsetup(&["info", "-c", "--noheadings", "-o", "name"])) {
            let _ = output("dmsetup", &["remove", "--force", name.trim()]);
        }
    }
    let _ = fs::remove_dir_all(format!("/dev/{VG}"));
    for entry in fs::read_dir("/dev/mapper").expect("/dev/mapper").flatten() {
        if ours(&entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let mut pv = vec!["pvcreate", "-y", "-ff"];
    pv.extend(DISKS);
    lvm(&pv);
    let mut vg = vec!["vgcreate", "-s", "1m", VG];
    vg.extend(DISKS);
    lvm(&vg);
    guard
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(31).wrapping_add(u32::from(seed)) % 251) as u8 + 1)
        .collect()
}

fn aligned(len: usize) -> (Vec<u8>, usize) {
    let buf = vec![0u8; len + 4096];
    let start = buf.as_ptr().align_offset(4096);
    (buf, start)
}

fn try_write(path: &str, offset: u64, data: &[u8]) -> std::io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_SYNC)
        .open(path)?;
    let (mut buf, start) = aligned(data.len());
    buf[start..start + data.len()].copy_from_slice(data);
    file.write_all_at(&buf[start..start + data.len()], offset)
}

fn write(path: &str, offset: u64, data: &[u8]) {
    try_write(path, offset, data).unwrap_or_else(|e| panic!("write {path} at {offset}: {e}"));
}

fn read(path: &str, offset: u64, len: usize) -> Vec<u8> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let (mut buf, start) = aligned(len);
    file.read_exact_at(&mut buf[start..start + len], offset)
        .unwrap_or_else(|e| panic!("read {path} at {offset}: {e}"));
    buf[start..start + len].to_vec()
}

fn size_of(path: &str) -> u64 {
    run("blockdev", "blockdev", &["--getsize64", path])
        .trim()
        .parse()
        .expect("a size")
}

/// Waits until every raid and mirror of the VG is in sync (the percentages both tools report
/// must not move between their runs).
fn wait_for_sync() {
    for _ in 0..300 {
        let status = dmsetup(&["status"]);
        let syncing = status.lines().filter(|l| ours(l)).any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let frac = match w.get(3).copied() {
                Some("raid") => w.get(7),
                Some("mirror") => w
                    .get(4)
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| w.get(5 + n)),
                _ => None,
            };
            frac.and_then(|f| f.split_once('/'))
                .is_some_and(|(a, b)| a != b)
        });
        if !syncing {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("raid/mirror sync did not finish");
}

const KERNEL_FIELDS: &str = "lv_name,lv_attr,lv_size,data_percent,metadata_percent,snap_percent,\
copy_percent,sync_percent,lv_kernel_major,lv_kernel_minor,lv_active,lv_active_locally,\
lv_active_exclusively,lv_active_remotely,lv_health_status,lv_permissions,lv_device_open,\
lv_suspended,lv_live_table,lv_inactive_table,lv_check_needed,lv_snapshot_invalid,\
lv_merge_failed,lv_image_synced,kernel_discards,raid_sync_action,raid_mismatch_count,\
lv_kernel_read_ahead";

/// `lvs` by both tools on the same state: default columns, the kernel fields (and those as
/// JSON with `json`).
fn assert_lvs_equal(when: &str, json: bool) {
    wait_for_sync();
    let mut runs: Vec<&[&str]> = vec![&["lvs", "-a", VG], &["lvs", "-a", "-o", KERNEL_FIELDS, VG]];
    let as_json: &[&str] = &[
        "lvs",
        "-a",
        "-o",
        KERNEL_FIELDS,
        "--reportformat",
        "json",
        VG,
    ];
    if json {
        runs.push(as_json);
    }
    for args in runs {
        let theirs = lvm(args);
        let mine = ox(args);
        assert_eq!(mine, theirs, "{when}: `lvs {}`", args[1..].join(" "));
    }
}

/// `args` run by both tools print the same. A thin pool commits its metadata about once a
/// second, so its usage may move between the two runs: a difference must persist over three
/// tries.
fn assert_same_output(args: &[&str], when: &str) {
    let mut last = (String::new(), String::new());
    for _ in 0..3 {
        let theirs = lvm(args);
        let mine = ox(args);
        if mine == theirs {
            return;
        }
        last = (mine, theirs);
        std::thread::sleep(std::time::Duration::from_millis(1500));
    }
    let (mine, theirs) = (
        last.0.lines().collect::<Vec<_>>(),
        last.1.lines().collect::<Vec<_>>(),
    );
    let at = (0..mine.len().max(theirs.len()))
        .find(|&n| mine.get(n) != theirs.get(n))
        .unwrap_or(0);
    let from = at.saturating_sub(12);
    panic!(
        "{when}: `{}` differs at line {at}\noxlvm:\n{}\nLVM2:\n{}",
        args.join(" "),
        mine[from.min(mine.len())..(at + 4).min(mine.len())].join("\n"),
        theirs[from.min(theirs.len())..(at + 4).min(theirs.len())].join("\n")
    );
}

/// `lvdisplay` (full, `-a`, `-c`), `lvscan` (`-a`) and `vgdisplay` (full, `-c`, `-A`: only VGs
/// with active LVs, and the open LV count) by both tools on the same state.
fn assert_displays_equal(when: &str) {
    wait_for_sync();
    for args in [
        &["lvdisplay", VG][..],
        &["lvdisplay", "-a", VG],
        &["lvdisplay", "-c", "-a", VG],
        &["lvscan", "-a"],
        &["vgdisplay", VG],
        &["vgdisplay", "-c", VG],
        &["vgdisplay", "-A"],
        &["vgdisplay", "-A", "-s"],
    ] {
        assert_same_output(args, when);
    }
    let shown = lvm(&["lvscan", "-a"]);
    for line in [
        format!("  ACTIVE            '{}' ", dev("r5")),
        format!("  ACTIVE   Original '{}' ", dev("lin")),
        format!("  ACTIVE   Snapshot '{}' ", dev("snap")),
        format!("  inactive          '{}' ", dev("tsnap")),
    ] {
        assert!(shown.contains(&line), "{line} in {shown}");
    }
}

/// The LVs each step creates: (lvcreate arguments after `lvcreate -y`, LV name).
fn creations() -> Vec<(Vec<String>, &'static str)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        (s(&["-L", "4m", "-n", "lin", VG]), "lin"),
        (
            s(&["-L", "4m", "-i", "2", "-I", "64k", "-n", "str", VG]),
            "str",
        ),
        (
            s(&["--type", "raid1", "-m", "1", "-L", "4m", "-n", "r1", VG]),
            "r1",
        ),
        (
            s(&["--type", "raid5", "-i", "2", "-L", "4m", "-n", "r5", VG]),
            "r5",
        ),
        (
            s(&[
                "--type", "raid10", "-i", "2", "-m", "1", "-L", "4m", "-n", "r10", VG,
            ]),
            "r10",
        ),
        (
            s(&[
                "--type",
                "mirror",
                "-m",
                "1",
                "--mirrorlog",
                "core",
                "-L",
                "4m",
                "-n",
                "mc",
                VG,
            ]),
            "mc",
        ),
        (
            s(&["--type", "mirror", "-m", "1", "-L", "4m", "-n", "md", VG]),
            "md",
        ),
        (s(&["-L", "8m", "-T", &lv("pool")]), "pool"),
        (s(&["-V", "8m", "-T", &lv("pool"), "-n", "thin"]), "thin"),
        (s(&["-s", "-L", "2m", "-n", "snap", &lv("lin")]), "snap"),
        (s(&["-s", "-n", "tsnap", &lv("thin")]), "tsnap"),
    ]
}

#[test]
fn vm_lvcreate_makes_the_devices_lvm2_makes_and_lvs_reports_them_alike() {
    require_vm();
    let _vg = fresh_vg();
    for (args, name) in creations() {
        let mut cmd = vec!["lvcreate", "-y"];
        cmd.extend(args.iter().map(String::as_str));
        lvm(&cmd);
        let lvm2 = kernel_state();
        // Old data where the new LV will be: LVM2 zeroes the first 4 KiB of a new LV.
        let plain = ["lin", "str", "r1", "r5", "r10", "mc", "md"].contains(&name);
        if plain {
            write(&dev(name), 0, &pattern(8192, 5));
        }
        ox(&["lvremove", "-y", &lv(name)]);
        assert!(
            !kernel_state()
                .names
                .iter()
                .any(|n| n.starts_with(&format!("{VG}-{name} "))),
            "oxlvm removed LVM2's {name} and its devices"
        );
        let said = ox(&cmd);
        assert!(
            said.contains(&format!("Logical volume \"{name}\" created.")),
            "{said}"
        );
        assert_eq!(kernel_state(), lvm2, "after oxlvm {}", cmd.join(" "));
        if plain {
            let start = read(&dev(name), 0, 8192);
            assert_eq!(start[..4096], [0u8; 4096], "{name}: first 4 KiB zeroed");
            if !name.starts_with('m') {
                // Past 4 KiB the old data is still there (LVM2 zeroes no more).
                assert_eq!(start[4096..], pattern(8192, 5)[4096..], "{name}");
            }
        }
    }
    // Data for the percentages: the COW, the pool and the thin LV have used space.
    write(&dev("lin"), 0, &pattern(256 * 1024, 1));
    write(&dev("thin"), 0, &pattern(128 * 1024, 2));
    assert_lvs_equal("every type active", true);

    // lvdisplay and lvscan of active LVs: an open one (r5), a suspended one (str), an
    // inactive thin snapshot (tsnap), the pool's read-only wrapper, COW usage and the
    // kernel's read-ahead are LVM2's lines.
    let holder = fs::File::open(dev("r5")).expect("open r5");
    assert_displays_equal("every type active, r5 open");
    let r5 = ox(&["lvdisplay", &lv("r5")]);
    assert!(
        ox(&["vgdisplay", "-A"]).contains("  Open LV               1\n"),
        "vgdisplay -A lists the VG with r5 open"
    );
    for line in [
        "  LV Status              available\n",
        "  # open                 1\n",
        "  - currently set to     ",
        "  Block device           253:",
    ] {
        assert!(r5.contains(line), "{line:?} in {r5}");
    }
    run("dmsetup", "dmsetup", &["suspend", &format!("{VG}-str")]);
    for args in [&["lvdisplay", &lv("str")][..], &["lvscan"]] {
        assert_same_output(args, "str suspended");
    }
    assert!(ox(&["lvdisplay", &lv("str")]).contains("  LV Status              suspended\n"));
    run("dmsetup", "dmsetup", &["resume", &format!("{VG}-str")]);

    // LVM2 removes what oxlvm made (open LVs are refused by oxlvm first).
    let out = output(oxlvm_binary(), &["lvremove", "-y", &lv("r5")]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("Logical volume {VG}/r5 in use.")),
        "{}",
        text(&out.stderr)
    );
    drop(holder);
    lvm(&[
        "lvremove",
        "-y",
        &lv("r5"),
        &lv("mc"),
        &lv("tsnap"),
        &lv("snap"),
    ]);
    let left = kernel_state();
    for gone in ["r5", "mc", "snap", "lin-real"] {
        assert!(
            !left
                .names
                .iter()
                .any(|n| n.starts_with(&format!("{VG}-{gone} "))),
            "{gone} left: {left:#?}"
        );
    }
    // oxlvm's vgremove takes down and removes the rest, LVM2-made and its own.
    ox(&["vgremove", "-f", VG]);
    assert_nothing_left();
    assert!(!lvm(&["vgs", "--noheadings", "-o", "vg_name"]).contains(VG));
}

/// (PV path, byte offset) of each PV area of an LV's first segment, from LVM2's report.
fn first_extents(name: &str) -> Vec<(String, u64)> {
    let pe_start: std::collections::HashMap<String, u64> = lvm(&[
        "pvs",
        "--noheadings",
        "--units",
        "s",
        "--nosuffix",
        "-o",
        "pv_name,pe_start",
    ])
    .lines()
    .filter_map(|l| {
        let mut w = l.split_whitespace();
        Some((w.next()?.to_string(), w.next()?.parse().ok()?))
    })
    .collect();
    let devices = lvm(&["lvs", "--noheadings", "-o", "devices", &lv(name)]);
    devices
        .split_whitespace()
        .next()
        .unwrap_or("")
        .split(',')
        .filter_map(|d| {
            let (path, pe) = d.trim_end_matches(')').split_once('(')?;
            let pe: u64 = pe.parse().ok()?;
            Some((path.to_string(), pe_start.get(path)? * 512 + pe * MIB))
        })
        .collect()
}

/// The VG's tables with every dm device number replaced by the device's name (a fresh
/// activation hands out other minors than a device kept across reloads), and its links.
fn tables_by_name() -> (Vec<String>, Vec<String>) {
    let names: std::collections::HashMap<String, String> = dmsetup(&[
        "info",
        "-c",
        "--noheadings",
        "--separator",
        " ",
        "-o",
        "name,major,minor",
    ])
    .lines()
    .filter_map(|l| {
        let w: Vec<&str> = l.split(' ').collect();
        Some((
            format!("{}:{}", w.get(1)?, w.get(2)?),
            w.first()?.to_string(),
        ))
    })
    .collect();
    let tables = kernel_state()
        .tables
        .iter()
        .map(|l| {
            l.split(' ')
                .map(|w| names.get(w).cloned().unwrap_or_else(|| w.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (tables, kernel_state().links)
}

/// The tables oxlvm left after an online change must be the ones LVM2 loads for the same
/// metadata: oxlvm deactivates, LVM2 activates the LV, the state must match.
fn assert_lvm2_activates_the_same(name: &str) {
    let live = tables_by_name();
    ox(&["lvchange", "-an", &lv(name)]);
    lvm(&["lvchange", "-ay", &lv(name)]);
    assert_eq!(tables_by_name(), live, "LVM2's activation of {name}");
}

#[test]
fn vm_online_changes_keep_data_and_match_lvm2s_tables() {
    require_vm();
    let _vg = fresh_vg();
    ox(&["lvcreate", "-y", "-L", "8m", "-n", "lin", VG]);
    ox(&["lvcreate", "-y", "-L", "4m", "-i", "2", "-n", "str", VG]);
    ox(&["lvcreate", "-y", "-L", "8m", "-T", &lv("pool")]);
    ox(&[
        "lvcreate",
        "-y",
        "-V",
        "16m",
        "-T",
        &lv("pool"),
        "-n",
        "thin",
    ]);

    // Data lands where the metadata says (linear, and 64 KiB stripes across two PVs).
    let data = pattern(64 * 1024, 7);
    write(&dev("lin"), 128 * 1024, &data);
    let (pv, at) = first_extents("lin")[0].clone();
    assert_eq!(read(&pv, at + 128 * 1024, data.len()), data, "lin on {pv}");
    let stripes = first_extents("str");
    assert_eq!(stripes.len(), 2);
    let data = pattern(192 * 1024, 11);
    write(&dev("str"), 0, &data);
    let chunk = 64 * 1024;
    assert_eq!(read(&stripes[0].0, stripes[0].1, chunk), data[..chunk]);
    assert_eq!(
        read(&stripes[1].0, stripes[1].1, chunk),
        data[chunk..2 * chunk]
    );
    assert_eq!(
        read(&stripes[0].0, stripes[0].1 + chunk as u64, chunk),
        data[2 * chunk..]
    );

    // A COW snapshot of the active origin keeps the old data.
    let old = pattern(64 * 1024, 21);
    write(&dev("lin"), 0, &old);
    ox(&["lvcreate", "-y", "-s", "-L", "4m", "-n", "snap", &lv("lin")]);
    write(&dev("lin"), 0, &pattern(64 * 1024, 22));
    assert_eq!(read(&dev("snap"), 0, old.len()), old);
    assert_eq!(read(&dev("lin"), 0, old.len()), pattern(64 * 1024, 22));
    // LVM2 refuses to resize an active origin; so does oxlvm.
    let out = output(oxlvm_binary(), &["lvextend", "-L", "+4m", &lv("lin")]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out.stderr).contains("Snapshot origin volumes can be resized only while inactive"),
        "{}",
        text(&out.stderr)
    );
    // The snapshot's exception store grows online.
    ox(&["lvextend", "-L", "+2m", &lv("snap")]);
    assert_eq!(read(&dev("snap"), 0, old.len()), old);
    assert_lvm2_activates_the_same("lin");

    // A thin snapshot shares its origin's blocks until the origin is written.
    let shared = pattern(128 * 1024, 31);
    write(&dev("thin"), 0, &shared);
    // Used data blocks of the pool, from its status line.
    let used = || {
        dmsetup(&["status", &format!("{VG}-pool-tpool")])
            .split_whitespace()
            .nth(5)
            .unwrap_or("")
            .to_string()
    };
    let before = used();
    ox(&["lvcreate", "-y", "-s", "-n", "tsnap", &lv("thin")]);
    ox(&["lvchange", "-ay", "-K", &lv("tsnap")]);
    assert_eq!(read(&dev("tsnap"), 0, shared.len()), shared);
    assert_eq!(used(), before, "a snapshot allocates nothing");
    write(&dev("thin"), 0, &pattern(128 * 1024, 32));
    assert_eq!(read(&dev("tsnap"), 0, shared.len()), shared);
    assert_ne!(used(), before, "the origin's write got new blocks");

    // Online extend and reduce: data kept, the new size visible at once.
    ox(&["lvextend", "-L", "+4m", &lv("str")]);
    assert_eq!(size_of(&dev("str")), 8 * MIB);
    assert_eq!(read(&dev("str"), 0, data.len()), data);
    ox(&["lvextend", "-L", "+8m", &lv("thin")]);
    assert_eq!(size_of(&dev("thin")), 24 * MIB);
    ox(&["lvreduce", "-y", "-L", "-2m", &lv("str")]);
    assert_eq!(size_of(&dev("str")), 6 * MIB);
    assert_eq!(read(&dev("str"), 0, data.len()), data);
    assert_lvm2_activates_the_same("str");
    assert_lvm2_activates_the_same("thin");
    // The thin pool grows online through its data LV (LVM2's messages name it).
    let total = || {
        dmsetup(&["status", &format!("{VG}-pool-tpool")])
            .split_whitespace()
            .nth(5)
            .and_then(|f| f.split_once('/'))
            .map(|(_, t)| t.to_string())
            .unwrap_or_default()
    };
    assert_eq!(total(), "128", "8 MiB of 64 KiB chunks");
    let said = ox(&["lvextend", "-L", "+4m", &lv("pool")]);
    assert!(
        said.contains(&format!(
            "Size of logical volume {VG}/pool_tdata changed from 8.00 MiB (8 extents) to 12.00 MiB (12 extents)."
        )) && said.contains(&format!("Logical volume {VG}/pool successfully resized.")),
        "{said}"
    );
    assert_eq!(total(), "192");
    assert_eq!(read(&dev("tsnap"), 0, shared.len()), shared);
    assert_lvm2_activates_the_same("pool");

    // Rename of an active LV: device and link follow, data too.
    ox(&["lvrename", VG, "str", "str2"]);
    assert!(Path::new(&dev("str2")).exists() && !Path::new(&dev("str")).exists());
    assert!(dmsetup(&["info", "-c", "--noheadings", "-o", "name"])
        .lines()
        .any(|l| l.trim() == format!("{VG}-str2")));
    assert_eq!(read(&dev("str2"), 0, data.len()), data);
    assert_lvm2_activates_the_same("str2");

    // Read-only and back: the kernel refuses writes, then takes them again.
    ox(&["lvchange", "-p", "r", &lv("str2")]);
    assert!(try_write(&dev("str2"), 0, &pattern(4096, 1)).is_err());
    ox(&["lvchange", "-p", "rw", &lv("str2")]);
    write(&dev("str2"), 0, &pattern(4096, 1));
    assert_lvs_equal("after online changes", false);

    // LVM2 removes what oxlvm made.
    lvm(&["vgremove", "-f", VG]);
    assert_nothing_left();
}

#[test]
fn vm_a_merge_lvm2_deferred_runs_when_oxlvm_activates_the_origin() {
    require_vm();
    let _vg = fresh_vg();
    ox(&["lvcreate", "-y", "-L", "8m", "-n", "lin", VG]);
    // oxlvm's own merge of an active, closed origin runs at once (when lvconvert is built).
    let before = pattern(128 * 1024, 43);
    write(&dev("lin"), 0, &before);
    ox(&["lvcreate", "-y", "-s", "-L", "4m", "-n", "snap", &lv("lin")]);
    write(&dev("lin"), 0, &pattern(128 * 1024, 44));
    let out = output(oxlvm_binary(), &["lvconvert", "--merge", &lv("snap")]);
    if out.status.code() == Some(3) {
        eprintln!(
            "oxlvm lvconvert not built here: {}",
            text(&out.stderr).trim()
        );
        ox(&["lvremove", "-y", &lv("snap")]);
    } else {
        let said = text(&out.stdout);
        assert!(out.status.success(), "{said}{}", text(&out.stderr));
        for line in [
            format!("Merging of volume {VG}/snap started."),
            format!("{VG}/lin: Merged: 100.00%"),
            format!("Merge of snapshot into logical volume {VG}/lin has finished."),
            "Logical volume \"snap\" successfully removed.".to_string(),
        ] {
            assert!(said.contains(&line), "{said}");
        }
        assert_eq!(read(&dev("lin"), 0, before.len()), before, "merged back");
        assert_eq!(
            kernel_state().tables,
            [format!("{VG}-lin: 0 16384 linear 254:0 2048")]
        );
    }
    let old = pattern(256 * 1024, 41);
    write(&dev("lin"), 0, &old);
    ox(&["lvcreate", "-y", "-s", "-L", "4m", "-n", "snap", &lv("lin")]);
    write(&dev("lin"), 0, &pattern(256 * 1024, 42));
    // The origin is open: LVM2 flags the merge for the next activation.
    let holder = fs::File::open(dev("lin")).expect("open origin");
    let said = lvm(&["lvconvert", "--merge", &lv("snap")]);
    assert!(
        said.contains("Delaying merge since origin is open."),
        "{said}"
    );
    drop(holder);
    assert_lvs_equal("merge pending", false);
    ox(&["lvchange", "-an", &lv("lin")]);
    assert_nothing_left();
    // oxlvm's activation starts the merge (snapshot-merge) and finishes it.
    ox(&["lvchange", "-ay", &lv("lin")]);
    assert_eq!(read(&dev("lin"), 0, old.len()), old, "merged back");
    let lvs = lvm(&["lvs", "--noheadings", "-o", "lv_name", VG]);
    assert_eq!(lvs.trim(), "lin", "the merged snapshot is gone");
    assert_eq!(
        kernel_state().tables,
        [format!("{VG}-lin: 0 16384 linear 254:0 2048")]
    );
    lvm(&["vgck", VG]);
    ox(&["vgremove", "-f", VG]);
    assert_nothing_left();
}

/// A command that must fail with exit 5 and say `says`.
fn ox_fails(args: &[&str], says: &str) {
    let out = output(oxlvm_binary(), args);
    assert_eq!(
        out.status.code(),
        Some(5),
        "oxlvm {}: {}",
        args.join(" "),
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains(says),
        "oxlvm {}: {:?} not in {}",
        args.join(" "),
        says,
        text(&out.stderr)
    );
}

/// (block size, block count) of the file system on `dev`, as its own tools read it.
fn fs_geometry(dev: &str, xfs: bool) -> (u64, u64) {
    let field = |text: &str, key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_start_matches('=').trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} in {text}"))
    };
    if xfs {
        let t = run(
            "xfs_db",
            "xfs_db",
            &[
                "-r",
                "-c",
                "sb 0",
                "-c",
                "p blocksize",
                "-c",
                "p dblocks",
                dev,
            ],
        );
        (field(&t, "blocksize"), field(&t, "dblocks"))
    } else {
        let t = run("dumpe2fs", "dumpe2fs", &["-h", dev]);
        (field(&t, "Block size:"), field(&t, "Block count:"))
    }
}

const MNT: &str = "/tmp/vm-lv-lifecycle-fs";

fn mount(dev: &str, fstype: &str) {
    fs::create_dir_all(MNT).expect("mount point");
    run("mount", "mount", &["-t", fstype, dev, MNT]);
}

fn umount() {
    run("umount", "umount", &[MNT]);
}

/// The file written into each file system, read back after every resize.
fn assert_file_kept(seed: u8) {
    let got = fs::read(format!("{MNT}/data")).expect("read data back");
    assert!(got == pattern(1 << 20, seed), "data changed");
}

fn lv_mib(name: &str) -> u64 {
    size_of(&dev(name)) / MIB
}

#[test]
fn vm_resizefs_grows_and_shrinks_ext4_and_grows_xfs_keeping_data() {
    require_vm();
    let _vg = fresh_vg();
    // ext4: grown unmounted (checked, then resize2fs), grown mounted (online), shrunk
    // unmounted (e2fsck, resize2fs before the LV); shrinking it mounted is refused.
    ox(&["lvcreate", "-y", "-L", "16m", "-n", "fse", VG]);
    let e = dev("fse");
    run("mkfs.ext4", "mkfs.ext4", &["-q", "-F", &e]);
    mount(&e, "ext4");
    fs::write(format!("{MNT}/data"), pattern(1 << 20, 7)).expect("write");
    umount();
    ox(&["lvextend", "-r", "-L", "24m", &lv("fse")]);
    let (bs, blocks) = fs_geometry(&e, false);
    assert_eq!((lv_mib("fse"), bs * blocks), (24, 24 * MIB));
    mount(&e, "ext4");
    assert_file_kept(7);
    ox(&["lvextend", "-r", "-L", "+8m", &lv("fse")]);
    assert_eq!(lv_mib("fse"), 32);
    let st = nix::sys::statvfs::statvfs(MNT).expect("statvfs");
    assert!(
        st.blocks() * st.fragment_size() > 28 * MIB,
        "online growth seen by the mounted file system"
    );
    ox_fails(
        &["lvreduce", "-r", "-L", "12m", &lv("fse")],
        "is mounted on /tmp/vm-lv-lifecycle-fs; unmount it first",
    );
    assert_eq!(lv_mib("fse"), 32, "nothing changed");
    assert_file_kept(7);
    umount();
    assert_eq!(
        fs_geometry(&e, false).0 * fs_geometry(&e, false).1,
        32 * MIB
    );
    ox(&["lvreduce", "-r", "-L", "12m", &lv("fse")]);
    let (bs, blocks) = fs_geometry(&e, false);
    assert_eq!((lv_mib("fse"), bs * blocks), (12, 12 * MIB));
    run("e2fsck", "e2fsck", &["-f", "-n", &e]);
    mount(&e, "ext4");
    assert_file_kept(7);
    umount();

    // xfs: grown unmounted (mounted on a temporary directory), grown mounted; shrinking is
    // refused before anything changes. (Small xfs file systems need mkfs's test overrides.)
    ox(&["lvcreate", "-y", "-L", "16m", "-n", "fsx", VG]);
    let x = dev("fsx");
    let mkfs = Command::new("mkfs.xfs")
        .args(["-q", "-f", &x])
        .envs([("TEST_DIR", "1"), ("TEST_DEV", "1"), ("QA_CHECK_FS", "1")])
        .output()
        .expect("mkfs.xfs");
    assert!(mkfs.status.success(), "{}", text(&mkfs.stderr));
    mount(&x, "xfs");
    fs::write(format!("{MNT}/data"), pattern(1 << 20, 9)).expect("write");
    umount();
    ox(&["lvextend", "-r", "-L", "24m", &lv("fsx")]);
    let (bs, blocks) = fs_geometry(&x, true);
    assert_eq!((lv_mib("fsx"), bs * blocks), (24, 24 * MIB));
    mount(&x, "xfs");
    assert_file_kept(9);
    ox(&["lvextend", "-r", "-L", "+8m", &lv("fsx")]);
    assert_file_kept(9);
    umount();
    let (bs, blocks) = fs_geometry(&x, true);
    assert_eq!((lv_mib("fsx"), bs * blocks), (32, 32 * MIB));
    // xfs shrink, no file system, an inactive LV: refused, nothing written.
    ox(&["lvcreate", "-y", "-L", "4m", "-n", "nofs", VG]);
    ox(&["lvchange", "-an", &lv("fse")]);
    let seqno = lvm(&["vgs", "--noheadings", "-o", "vg_seqno", VG]);
    ox_fails(
        &["lvreduce", "-r", "-L", "16m", &lv("fsx")],
        "xfs file systems cannot shrink",
    );
    ox_fails(
        &["lvextend", "-r", "-L", "8m", &lv("nofs")],
        "No ext2/3/4 or xfs file system found",
    );
    ox_fails(
        &["lvextend", "-r", "-L", "+4m", &lv("fse")],
        "must be activated before resizing filesystem",
    );
    assert_eq!(lvm(&["vgs", "--noheadings", "-o", "vg_seqno", VG]), seqno);
    assert_eq!((lv_mib("fsx"), lv_mib("nofs")), (32, 4));
    ox(&["vgremove", "-f", VG]);
    assert_nothing_left();
}

/// blkid's low-level probe of `dev`: its TYPE, or None when it finds no signature.
fn probed_type(dev: &str) -> Option<String> {
    let out = output("blkid", &["-p", "-o", "value", "-s", "TYPE", dev]);
    let t = text(&out.stdout).trim().to_string();
    (!t.is_empty()).then_some(t)
}

#[test]
fn vm_lvcreate_wipes_old_signatures_unless_told_not_to() {
    require_vm();
    let _vg = fresh_vg();
    let place = "/dev/vdd:50-53";
    let sig = dev("sig");
    let make = |extra: &[&str]| {
        let mut args = vec!["lvcreate", "-L", "4m", "-n", "sig"];
        args.extend(extra);
        args.extend([VG, place]);
        output(oxlvm_binary(), &args)
    };
    // ext4 left where a new LV goes: found, wiped with LVM2's line (-y answers the question).
    let out = make(&["-y"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    run("mkfs.ext4", "mkfs.ext4", &["-q", "-F", &sig]);
    assert_eq!(probed_type(&sig).as_deref(), Some("ext4"));
    ox(&["lvremove", "-y", &lv("sig")]);
    // Without -y and without a terminal: refused, nothing created, the signature kept.
    let seqno = lvm(&["vgs", "--noheadings", "-o", "vg_seqno", VG]);
    let out = make(&[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("add -y to wipe it"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(lvm(&["vgs", "--noheadings", "-o", "vg_seqno", VG]), seqno);
    let out = make(&["-y"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("Wiping ext4 signature on {sig}.")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(probed_type(&sig), None, "ext4 wiped");
    // -Wn -Zn keeps whatever was there.
    run("mkswap", "mkswap", &[&sig]);
    assert_eq!(probed_type(&sig).as_deref(), Some("swap"));
    ox(&["lvremove", "-y", &lv("sig")]);
    let out = make(&["-y", "-Wn", "-Zn"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("Wiping"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        probed_type(&sig).as_deref(),
        Some("swap"),
        "-Wn -Zn keeps it"
    );
    // -Wy -Zn wipes it without zeroing.
    ox(&["lvremove", "-y", &lv("sig")]);
    let out = make(&["-y", "-Wy", "-Zn"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("Wiping swap signature on {sig}.")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(probed_type(&sig), None, "swap wiped");
    ox(&["lvremove", "-y", &lv("sig")]);
    // Mirror and RAID LVs are probed through the kernel once active (LVM2's wipe_lv on the new
    // LV): swap left at the start of both legs' data (a raid1 image starts after its 1-extent
    // metadata LV), found and wiped; refused without -y, the new LV is removed again.
    for (kind, first) in [("mirror", 20), ("raid1", 30)] {
        let data = |d: &str| format!("/dev/{d}:{}-{}", first, first + 3);
        for d in ["vdc", "vdd"] {
            ox(&[
                "lvcreate",
                "-y",
                "-Zn",
                "-L",
                "4m",
                "-n",
                "old",
                VG,
                &data(d),
            ]);
            run("mkswap", "mkswap", &[&dev("old")]);
            ox(&["lvremove", "-y", &lv("old")]);
        }
        let start = if kind == "raid1" { first - 1 } else { first };
        let places = [
            format!("/dev/vdd:{start}-{}", first + 3),
            format!("/dev/vdc:{start}-{}", first + 3),
        ];
        let mut args = vec![
            "lvcreate", "-Wy", "-Zn", "-L", "4m", "-n", "sig", "--type", kind, "-m1",
        ];
        if kind == "mirror" {
            args.extend(["--mirrorlog", "core"]);
        }
        args.push(VG);
        args.extend(places.iter().map(String::as_str));
        let out = output(oxlvm_binary(), &args);
        assert_eq!(out.status.code(), Some(5), "{kind}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("add -y to wipe it"),
            "{kind}: {}",
            text(&out.stderr)
        );
        assert!(
            !lvm(&["lvs", "-a", "--noheadings", "-o", "lv_name", VG]).contains("sig"),
            "{kind}: the refused LV is gone"
        );
        args.insert(1, "-y");
        let out = output(oxlvm_binary(), &args);
        assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(&format!("Wiping swap signature on {sig}.")),
            "{kind}: {}",
            text(&out.stdout)
        );
        assert_eq!(probed_type(&sig), None, "{kind}: swap wiped");
        ox(&["lvremove", "-y", &lv("sig")]);
    }
    ox(&["vgremove", "-f", VG]);
    assert_nothing_left();
}

// ---- pvmove of active LVs through the kernel's mirror -------------------------------------
//
// The destination (or, moving back, the source) PV is a dm device over /dev/vdb whose data
// area can be made to hold every I/O (dm-delay with a delay longer than the test): the copy
// then waits at its first region (flushes pass: the tools sync their metadata writes), so
// the move can be looked at, and the process killed, in
// a known state; switching the delay off lets the kernel finish (suspending dm-delay sends
// what it held on). A private LVM_SYSTEM_DIR makes both tools see only that device, /dev/vdc
// and /dev/vdd.

const SLOW: &str = "pvmvslow";
const SLOW_PV: &str = "/dev/mapper/pvmvslow";
/// Sectors of the slow device's data area (PEs 0-31 at 1 MiB extents).
const SLOW_AREA: u64 = 32 * 2048;

fn pvmove_system_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("oxlvm-vm-pvmove");
    fs::create_dir_all(&dir).expect("create system dir");
    let conf = format!(
        "devices {{\n  filter = [ \"a|^{SLOW_PV}$|\", \"a|^/dev/vd[cd]$|\", \"r|.*|\" ]\n  \
         obtain_device_list_from_udev = 0\n  use_devicesfile = 0\n  hints = \"none\"\n  \
         sysfs_scan = 1\n  md_component_detection = 0\n  multipath_component_detection = 0\n}}\n\
         activation {{\n  udev_sync = 0\n  udev_rules = 0\n  verify_udev_operations = 1\n  \
         monitoring = 0\n}}\nbackup {{\n  backup = 0\n  archive = 0\n}}\n\
         global {{\n  use_lvmpolld = 0\n  event_activation = 0\n  locking_dir = \"{}/lock\"\n}}\n",
        dir.display()
    );
    fs::write(dir.join("lvm.conf"), conf).expect("write lvm.conf");
    dir
}

fn mv_command(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .env("LVM_SYSTEM_DIR", pvmove_system_dir())
        .env("LVM_SUPPRESS_FD_WARNINGS", "1");
    c
}

fn mv_run(program: &str, label: &str, args: &[&str]) -> String {
    let start = std::time::Instant::now();
    // Bounded: a command stuck on the held device fails the test instead of hanging it.
    let mut all = vec!["120", program];
    all.extend(args);
    let out = mv_command("timeout", &all)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    eprintln!(
        "{:>7.2} s  {label} {}",
        start.elapsed().as_secs_f64(),
        args.join(" ")
    );
    assert!(
        out.status.success(),
        "`{label} {}` failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn mv_ox(args: &[&str]) -> String {
    mv_run(oxlvm_binary(), "oxlvm", args)
}

fn mv_lvm(args: &[&str]) -> String {
    mv_run("lvm", "lvm", args)
}

/// The slow device's table: its data area holding every I/O (`hold`) or passing it on.
fn slow_table(hold: bool) -> String {
    let n = size_of("/dev/vdb") / 512;
    let area = if hold {
        format!(
            "2048 {SLOW_AREA} delay /dev/vdb 2048 3600000 /dev/vdb 2048 3600000 /dev/vdb 2048 0"
        )
    } else {
        format!("2048 {SLOW_AREA} linear /dev/vdb 2048")
    };
    let end = 2048 + SLOW_AREA;
    format!(
        "0 2048 linear /dev/vdb 0\n{area}\n{end} {} linear /dev/vdb {end}",
        n - end
    )
}

fn set_slow(hold: bool) {
    run("dmsetup", "dmsetup", &["suspend", SLOW]);
    run(
        "dmsetup",
        "dmsetup",
        &["load", SLOW, "--table", &slow_table(hold)],
    );
    run("dmsetup", "dmsetup", &["resume", SLOW]);
}

struct SlowPv;

impl Drop for SlowPv {
    fn drop(&mut self) {
        let _ = mv_command("dmsetup", &["resume", SLOW]).status();
        let _ = mv_command("lvm", &["vgremove", "-ff", "-y", VG]).output();
        for name in sorted(&dmsetup(&["info", "-c", "--noheadings", "-o", "name"])) {
            let _ = output("dmsetup", &["remove", "--force", name.trim()]);
        }
        let _ = fs::remove_dir_all(format!("/dev/{VG}"));
        let _ = output("dmsetup", &["remove", "--force", SLOW]);
        let _ = output("wipefs", &["-a", "/dev/vdb", "/dev/vdc", "/dev/vdd"]);
    }
}

/// Starts `program pvmove ARGS` and waits until the kernel runs the move (the pvmove LV is
/// a mirror); the process is left running.
fn start_move(program: &str, args: &[&str]) -> std::process::Child {
    let mut all = vec!["pvmove"];
    all.extend(args);
    let mut child = mv_command(program, &all)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if move_is_up() {
            // The metadata went in before the devices resumed; let the command reach its
            // polling before anyone kills it.
            std::thread::sleep(std::time::Duration::from_millis(1000));
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let out = child.wait_with_output().expect("output");
            panic!(
                "{program} pvmove {} ended before the mirror was up ({status}): {}{}",
                args.join(" "),
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        if std::time::Instant::now() > until {
            panic!(
                "no pvmove0 mirror after 60 s:\n{}{}{}",
                dmsetup(&["info", "-c"]),
                dmsetup(&["table"]),
                blocked_tasks()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The kernel stacks of tasks in uninterruptible sleep (what a stuck move waits on).
fn blocked_tasks() -> String {
    let mut out = String::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let p = entry.path();
        let stat = fs::read_to_string(p.join("stat")).unwrap_or_default();
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if after.trim_start().starts_with('D') {
            out.push_str(&format!(
                "{} {}:\n{}\n",
                p.display(),
                fs::read_to_string(p.join("cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " "),
                fs::read_to_string(p.join("stack")).unwrap_or_default()
            ));
        }
    }
    out
}

/// The pvmove LV runs as a mirror, an LV maps through it and no device of the VG is
/// suspended.
fn move_is_up() -> bool {
    let info = dmsetup(&[
        "info",
        "-c",
        "--noheadings",
        "--separator",
        " ",
        "-o",
        "name,major,minor,attr",
    ]);
    let mut pvmove = None;
    for line in info.lines() {
        let w: Vec<&str> = line.split(' ').collect();
        if w.len() < 4 || !w[0].starts_with(VG) {
            continue;
        }
        if w[3].contains('s') {
            return false;
        }
        if w[0] == format!("{VG}-pvmove0") {
            pvmove = Some(format!("{}:{}", w[1], w[2]));
        }
    }
    let Some(pvmove) = pvmove else {
        return false;
    };
    dmsetup(&["table", &format!("{VG}-pvmove0")]).contains(" mirror ")
        && dmsetup(&["table", &format!("{VG}-lin")]).contains(&pvmove)
}

fn finished(child: std::process::Child, what: &str) -> String {
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Where each LV's first extents are, read from LVM2's report: (PV, byte offset).
fn mv_devices(name: &str) -> Vec<(String, u64)> {
    let pe_start: std::collections::HashMap<String, u64> = mv_lvm(&[
        "pvs",
        "--noheadings",
        "--units",
        "s",
        "--nosuffix",
        "-o",
        "pv_name,pe_start",
    ])
    .lines()
    .filter_map(|l| {
        let mut w = l.split_whitespace();
        Some((w.next()?.to_string(), w.next()?.parse().ok()?))
    })
    .collect();
    mv_lvm(&["lvs", "--noheadings", "-o", "devices", &lv(name)])
        .split_whitespace()
        .flat_map(|s| s.split(','))
        .filter_map(|d| {
            let (path, pe) = d.trim_end_matches(')').split_once('(')?;
            let pe: u64 = pe.parse().ok()?;
            Some((path.to_string(), pe_start.get(path)? * 512 + pe * MIB))
        })
        .collect()
}

fn lvs_all() -> (String, String) {
    let args = ["lvs", "-a", "--noheadings", "-o", "lv_name", VG];
    let squash = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    (squash(mv_lvm(&args)), squash(mv_ox(&args)))
}

#[test]
fn vm_pvmove_of_active_lvs_runs_through_the_kernel_as_lvm2s() {
    require_vm();
    let _disks = DISK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _ = output("wipefs", &["-a", "/dev/vdb", "/dev/vdc", "/dev/vdd"]);
    run(
        "dmsetup",
        "dmsetup",
        &["create", SLOW, "--table", &slow_table(false)],
    );
    let _slow = SlowPv;
    let pvs = ["/dev/vdc", "/dev/vdd", SLOW_PV];
    let create = |tool: fn(&[&str]) -> String| {
        let mut vg = vec!["vgcreate", "-y", "-s", "1m", VG];
        vg.extend(pvs);
        tool(&vg);
        tool(&["lvcreate", "-y", "-L", "4m", "-n", "lin", VG, "/dev/vdc"]);
        tool(&[
            "lvcreate", "-y", "-i", "2", "-I", "64k", "-L", "4m", "-n", "str", VG, "/dev/vdc",
            "/dev/vdd",
        ]);
    };

    // LVM2 moves its active LVs: the tables while the copy runs are the reference.
    create(mv_lvm);
    set_slow(true);
    let child = start_move("lvm", &["-i", "1", "/dev/vdc", SLOW_PV]);
    let lvm2_tables = tables_by_name().0;
    eprintln!("LVM2's tables while it moves: {lvm2_tables:#?}");
    set_slow(false);
    let said = finished(child, "LVM2's pvmove");
    assert!(said.contains("/dev/vdc: Moved: 100.00%"), "{said}");
    mv_lvm(&["vgremove", "-ff", "-y", VG]);

    // oxlvm, the same: same tables while the copy runs, killed in the middle of it.
    create(mv_ox);
    let p1 = pattern(4 << 20, 71);
    write(&dev("lin"), 0, &p1);
    write(&dev("str"), 0, &p1);
    set_slow(true);
    let child = start_move(oxlvm_binary(), &["-i", "1", "/dev/vdc", SLOW_PV]);
    let mut ox_tables = tables_by_name().0;
    assert_eq!(ox_tables, lvm2_tables, "the tables while the copy runs");
    assert!(
        lvm2_tables
            .iter()
            .any(|t| t.starts_with(&format!("{VG}-pvmove0: 0 8192 mirror core 1 4096 2 "))),
        "{lvm2_tables:#?}"
    );
    let mut child = child;
    child.kill().expect("kill pvmove");
    let _ = child.wait();
    let (theirs, ours) = lvs_all();
    assert!(theirs.contains("[pvmove0]"), "{theirs}");
    assert_eq!(theirs, ours, "lvs -a mid-move");
    let full = ["lvs", "-a", VG];
    assert_eq!(
        mv_ox(&full),
        mv_lvm(&full),
        "lvs -a mid-move (Cpy%Sync of pvmove0)"
    );
    // A writer while the kernel copies: its data goes to both legs.
    let p2 = pattern(4 << 20, 72);
    let writer = {
        let p2 = p2.clone();
        std::thread::spawn(move || write(&dev("str"), 0, &p2))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    set_slow(false);
    writer.join().expect("writer");
    // A reboot: the next activation brings the move back up in the kernel, as LVM2's.
    mv_ox(&["vgchange", "-an", VG]);
    assert!(tables_by_name().0.is_empty(), "deactivated");
    mv_ox(&["vgchange", "-ay", VG]);
    assert_eq!(tables_by_name().0, lvm2_tables, "the move back up");
    // `pvmove` with no argument finds the move and finishes it.
    let said = mv_ox(&["pvmove", "-i", "1"]);
    assert!(said.contains("/dev/vdc: Moved: 100.00%"), "{said}");
    let (theirs, ours) = lvs_all();
    assert_eq!((theirs.as_str(), ours.as_str()), ("lin str", "lin str"));
    assert_eq!(read(&dev("lin"), 0, p1.len()), p1, "lin after the move");
    assert_eq!(read(&dev("str"), 0, p2.len()), p2, "str after the move");
    let lin_at = mv_devices("lin");
    assert_eq!(lin_at.len(), 1, "{lin_at:?}");
    assert_eq!(lin_at[0].0, SLOW_PV);
    assert_eq!(
        read(SLOW_PV, lin_at[0].1, p1.len()),
        p1,
        "lin on the new PV"
    );
    assert_eq!(mv_devices("str")[0].0, SLOW_PV);
    mv_lvm(&["vgck", VG]);
    ox_tables = tables_by_name().0;
    assert!(
        ox_tables.iter().all(|t| !t.contains("pvmove0")),
        "{ox_tables:#?}"
    );
    mv_ox(&["vgchange", "-an", VG]);
    mv_lvm(&["vgchange", "-ay", VG]);
    assert_eq!(
        tables_by_name().0,
        ox_tables,
        "LVM2 activates the moved LVs alike"
    );

    // LVM2's --abort of oxlvm's move: lin stays on the old PV with its data.
    set_slow(true);
    let mut child = start_move(
        oxlvm_binary(),
        &["-i", "1", "-n", "lin", SLOW_PV, "/dev/vdc"],
    );
    child.kill().expect("kill pvmove");
    let _ = child.wait();
    set_slow(false);
    mv_lvm(&["pvmove", "--abort"]);
    let (theirs, ours) = lvs_all();
    assert_eq!((theirs.as_str(), ours.as_str()), ("lin str", "lin str"));
    assert_eq!(
        mv_devices("lin")[0].0,
        SLOW_PV,
        "aborted: still on the old PV"
    );
    assert_eq!(read(&dev("lin"), 0, p1.len()), p1, "lin after the abort");
    mv_lvm(&["vgck", VG]);

    // oxlvm's --abort of its own move (the kernel still copying).
    set_slow(true);
    let mut child = start_move(
        oxlvm_binary(),
        &["-i", "1", "-n", "lin", SLOW_PV, "/dev/vdc"],
    );
    child.kill().expect("kill pvmove");
    let _ = child.wait();
    set_slow(false);
    mv_ox(&["pvmove", "--abort", SLOW_PV]);
    assert_eq!(lvs_all().1, "lin str");
    assert_eq!(mv_devices("lin")[0].0, SLOW_PV);
    assert_eq!(
        read(&dev("lin"), 0, p1.len()),
        p1,
        "lin after oxlvm's abort"
    );

    // LVM2's move, interrupted, finished by oxlvm.
    set_slow(true);
    let mut child = start_move("lvm", &["-i", "1", "-n", "lin", SLOW_PV, "/dev/vdc"]);
    child.kill().expect("kill LVM2's pvmove");
    let _ = child.wait();
    set_slow(false);
    let said = mv_ox(&["pvmove", "-i", "1", SLOW_PV]);
    assert!(said.contains("Detected pvmove in progress for"), "{said}");
    let (theirs, ours) = lvs_all();
    assert_eq!((theirs.as_str(), ours.as_str()), ("lin str", "lin str"));
    let lin_at = mv_devices("lin");
    assert_eq!(lin_at[0].0, "/dev/vdc", "moved back by oxlvm");
    assert_eq!(
        read("/dev/vdc", lin_at[0].1, p1.len()),
        p1,
        "lin on /dev/vdc"
    );
    assert_eq!(read(&dev("lin"), 0, p1.len()), p1);
    mv_lvm(&["vgck", VG]);
    mv_ox(&["vgremove", "-f", VG]);
    assert_nothing_left();
}
