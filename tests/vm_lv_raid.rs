//! Kernel tier: mirrored and RAID LVs and pvmove beside real LVM2 in one guest with
//! device-mapper. The same lvcreate commands (raid1, mirror with disk and core log, raid5,
//! raid10, raid0, raid1 with three legs and --nosync) on the same disks must write the same
//! text as LVM2 apart from ids, times, hosts and device hints; the same pvmove commands on
//! inactive LVs must end with the same maps; and LVs oxlvm made or converted must activate
//! (oxlvm's activation and LVM2's), keep the data written through them, and resynchronise a
//! leg oxlvm added.
//!
//! Runs INSIDE the VM (`scripts/vm-test --test vm_lv_raid`); declared `test = false`. The
//! tests share the guest's four disks and take turns (one lock).

use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

const DISKS: [&str; 4] = ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdd"];
const MIB: u64 = 1 << 20;

static DISKS_LOCK: Mutex<()> = Mutex::new(());

fn require_vm() {
    assert_eq!(
        std::env::var("OXLVM_IN_VM").as_deref(),
        Ok("1"),
        "vm_lv_raid tests need a real device-mapper kernel: run them with \
         `scripts/vm-test --test vm_lv_raid` (it boots a VM), not on the host"
    );
}

fn output(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn run(program: &str, args: &[&str]) -> String {
    let out = output(program, args);
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The oxlvm binary, copied to the guest's tmpfs once (paging it in over 9p is slow).
fn oxlvm_binary() -> &'static str {
    static COPY: OnceLock<String> = OnceLock::new();
    COPY.get_or_init(|| {
        let to = "/run/oxlvm-vm-lv-raid";
        match std::fs::copy(env!("CARGO_BIN_EXE_oxlvm"), to) {
            Ok(_) => to.to_string(),
            Err(_) => env!("CARGO_BIN_EXE_oxlvm").to_string(),
        }
    })
}

fn oxlvm(cmd: &str) -> String {
    run(oxlvm_binary(), &cmd.split(' ').collect::<Vec<_>>())
}

fn lvm(cmd: &str) -> String {
    run("lvm", &cmd.split(' ').collect::<Vec<_>>())
}

/// Removes every VG and PV label from the disks so the next tool starts from blank disks.
fn wipe_disks() {
    let _ = output("lvm", &["vgchange", "-an"]);
    for vg in ["vgr", "vgm"] {
        let _ = output("lvm", &["vgremove", "-ff", "-y", vg]);
    }
    for d in DISKS {
        let _ = output("lvm", &["pvremove", "-ff", "-y", d]);
        let f = std::fs::OpenOptions::new().write(true).open(d).unwrap();
        f.write_all_at(&vec![0u8; 2 * MIB as usize], 0).unwrap();
        f.sync_all().unwrap();
    }
}

/// The VG's text as LVM2's vgcfgbackup writes it, without what differs between two runs:
/// comments, ids, device hints, times, hosts, seqno and description.
fn text(vg: &str) -> String {
    let file = format!("/run/{vg}.backup");
    let _ = std::fs::remove_file(&file);
    run("lvm", &["vgcfgbackup", "-f", &file, vg]);
    let body = std::fs::read_to_string(&file).unwrap();
    body.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim_end())
        .filter(|l| {
            let key = l.trim_start().split(" = ").next().unwrap_or("");
            !matches!(
                key,
                "id" | "device" | "creation_time" | "creation_host" | "seqno" | "description"
            ) && !l.trim().is_empty()
        })
        .map(str::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Both tools run `cmds` (`{vg}` is the VG) after pvcreate and vgcreate on blank disks;
/// returns, per tool, each command's exit status and then the VG's text.
fn side_by_side(vgcreate_opts: &str, cmds: &[&str]) -> [(Vec<Option<i32>>, String); 2] {
    let mut out = Vec::new();
    for tool in ["lvm", "oxlvm"] {
        wipe_disks();
        let program = if tool == "lvm" { "lvm" } else { oxlvm_binary() };
        let go = |c: &str| {
            let c = c.replace("{vg}", "vgr");
            output(program, &c.split(' ').collect::<Vec<_>>())
        };
        for c in [
            format!("pvcreate -y {}", DISKS.join(" ")),
            format!("vgcreate {vgcreate_opts} {{vg}} {}", DISKS.join(" ")),
        ] {
            let o = go(&c);
            assert!(o.status.success(), "{tool} {c}: {o:?}");
        }
        // Every command's outcome counts: the same ones must fail (e.g. no room left).
        let codes = cmds.iter().map(|c| go(c).status.code()).collect();
        out.push((codes, text("vgr")));
        let _ = output("lvm", &["vgchange", "-an", "vgr"]);
    }
    let ours = out.pop().unwrap();
    let theirs = out.pop().unwrap();
    [theirs, ours]
}

#[test]
fn vm_raid_and_mirror_lvcreate_text_equals_lvm2s() {
    require_vm();
    let _g = DISKS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let [theirs, ours] = side_by_side(
        "-s 4m",
        &[
            "lvcreate -y -an --type raid1 -m1 -L 8M --addtag t1 -n r1 {vg}",
            "lvcreate -y -an --type mirror -m1 -L 8M -n m1 {vg}",
            "lvcreate -y -an --type mirror -m1 --mirrorlog core -L 8M -n m2 {vg}",
            "lvcreate -y -an --type raid5 -i2 -L 8M -n r5 {vg}",
            "lvcreate -y -an --type raid10 -m1 -i2 -L 8M -n r10 {vg}",
            "lvcreate -y -an --type raid0 -i2 -L 8M -n r0 {vg}",
            "lvcreate -y -an --type raid1 -m2 -L 12M -R 1M --nosync -n r1b {vg}",
            "lvextend -L +4M {vg}/r1",
            "lvextend -L +4M {vg}/m1",
            "lvextend -L +8M {vg}/r5",
        ],
    );
    assert_eq!(ours, theirs);
    wipe_disks();
}

#[test]
fn vm_pvmove_of_inactive_lvs_ends_with_lvm2s_maps() {
    require_vm();
    let _g = DISKS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let d = DISKS;
    let cmds = [
        format!("lvcreate -y -an -L 3M -n a {{vg}} {}", d[0]),
        format!("lvcreate -y -an -L 2M -n b {{vg}} {}", d[0]),
        format!("lvextend -L +2M {{vg}}/a {}", d[0]),
        format!("lvcreate -y -an -i2 -L 4M -n s {{vg}} {} {}", d[0], d[1]),
        format!(
            "lvcreate -y -an --type raid1 -m1 -L 4M -n r {{vg}} {} {}",
            d[0], d[1]
        ),
        format!("pvmove -i 0 {} {}", d[0], d[2]),
        format!("pvmove -i 0 -n b {} {}", d[2], d[3]),
        format!("pvmove -i 0 {}:0-1 {}", d[2], d[0]),
    ];
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    let [theirs, ours] = side_by_side("-s 1m", &cmds);
    assert!(
        theirs.0.iter().all(|c| *c == Some(0)),
        "LVM2: {:?}",
        theirs.0
    );
    assert_eq!(ours, theirs);
    wipe_disks();
}

/// Writes `len` bytes of a pattern through a device with O_DIRECT and reads them back the same
/// way; returns the pattern.
fn write_pattern(dev: &str, seed: u8, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len)
        .map(|i| seed.wrapping_add((i / 512) as u8).wrapping_mul(31))
        .collect();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(dev)
        .unwrap_or_else(|e| panic!("open {dev}: {e}"));
    let mut buf = vec![0u8; len + 4096];
    let at = buf.as_ptr().align_offset(4096);
    buf[at..at + len].copy_from_slice(&data);
    f.write_all_at(&buf[at..at + len], 0).unwrap();
    f.sync_all().unwrap();
    data
}

fn read_direct(dev: &str, offset: u64, len: usize) -> Vec<u8> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(dev)
        .unwrap_or_else(|e| panic!("open {dev}: {e}"));
    let mut buf = vec![0u8; len + 4096];
    let at = buf.as_ptr().align_offset(4096);
    f.read_exact_at(&mut buf[at..at + len], offset).unwrap();
    buf[at..at + len].to_vec()
}

/// Waits until LVM2 reports the LV fully synchronised.
fn wait_synced(lv: &str) {
    for _ in 0..600 {
        let pct = lvm(&format!("lvs --noheadings -o copy_percent {lv}"));
        if pct.trim() == "100.00" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{lv} never reached 100% sync");
}

#[test]
fn vm_oxlvm_raid1_and_mirror_activate_keep_data_and_rebuild_added_legs() {
    require_vm();
    let _g = DISKS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    wipe_disks();
    oxlvm(&format!("pvcreate -y {}", DISKS.join(" ")));
    oxlvm(&format!("vgcreate -s 1m vgm {}", DISKS.join(" ")));
    oxlvm("lvcreate -y --type raid1 -m1 -L 8M -n r1 vgm");
    oxlvm("lvcreate -y --type mirror -m1 -L 8M -n m1 vgm");
    let r1 = write_pattern("/dev/vgm/r1", 7, 8 * MIB as usize);
    let m1 = write_pattern("/dev/vgm/m1", 9, 8 * MIB as usize);
    wait_synced("vgm/r1");
    wait_synced("vgm/m1");
    // Down with oxlvm, up with LVM2: the data is still there.
    oxlvm("vgchange -an vgm");
    lvm("vgchange -ay vgm");
    assert!(
        read_direct("/dev/vgm/r1", 0, r1.len()) == r1,
        "raid1 data lost"
    );
    assert!(
        read_direct("/dev/vgm/m1", 0, m1.len()) == m1,
        "mirror data lost"
    );
    lvm("vgchange -an vgm");
    // A leg added by oxlvm (inactive) is rebuilt on the next activation and then holds the
    // data: read it straight from its PV once in sync.
    oxlvm("lvconvert -y -m2 vgm/r1");
    oxlvm("lvconvert -y -m2 vgm/m1");
    assert!(
        text("vgm").contains("REBUILD"),
        "no REBUILD flag for the kernel"
    );
    oxlvm("lvchange -ay vgm/r1");
    lvm("lvchange -ay vgm/m1");
    wait_synced("vgm/r1");
    wait_synced("vgm/m1");
    // The activation handed the rebuild to the kernel and cleared the flags, as LVM2 does
    // after its reload: the next activation does not rebuild the leg again.
    assert!(
        !text("vgm").contains("REBUILD"),
        "REBUILD left after activation"
    );
    oxlvm("lvchange -an vgm/r1");
    oxlvm("lvchange -ay vgm/r1");
    let table = run("dmsetup", &["table", "vgm-r1"]);
    assert!(!table.contains("rebuild"), "{table}");
    for (lv, data) in [("r1_rimage_2", &r1), ("m1_mimage_2", &m1)] {
        let line = lvm(&format!(
            "lvs -a --noheadings --units b --nosuffix -o seg_pe_ranges vgm/{lv}"
        ));
        let range = line.split_whitespace().next().unwrap();
        let (dev, pes) = range.split_once(':').unwrap();
        let first: u64 = pes.split('-').next().unwrap().parse().unwrap();
        let got = read_direct(dev, MIB + first * MIB, data.len());
        assert!(
            got == *data,
            "{lv} does not hold the LV's data after the rebuild"
        );
    }
    assert!(read_direct("/dev/vgm/r1", 0, r1.len()) == r1);
    lvm("vgchange -an vgm");
    // lvconvert --merge of a COW snapshot into an active origin: the origin holds the
    // snapshot's data afterwards and the snapshot is gone.
    oxlvm("lvcreate -y -L 4M -n o vgm");
    let _old = write_pattern("/dev/vgm/o", 1, 4 * MIB as usize);
    oxlvm("lvcreate -y -s -L 4M -n osnap vgm/o");
    let new = write_pattern("/dev/vgm/osnap", 2, MIB as usize);
    oxlvm("lvconvert -y --merge vgm/osnap");
    let lvs = lvm("lvs --noheadings -o lv_name vgm");
    assert!(!lvs.contains("osnap"), "{lvs}");
    assert!(
        read_direct("/dev/vgm/o", 0, new.len()) == new,
        "merge lost the snapshot's data"
    );
    lvm("vgchange -an vgm");
    // pvmove of an active LV (through the kernel's mirror) and of an inactive one (copied by
    // oxlvm itself) keep its data.
    oxlvm("lvcreate -y -L 4M -n lin vgm /dev/vda");
    let lin = write_pattern("/dev/vgm/lin", 3, 4 * MIB as usize);
    oxlvm("pvmove -i 0 -n lin /dev/vda /dev/vdd");
    let lvs = lvm("lvs --noheadings -o devices vgm/lin");
    assert!(lvs.contains("/dev/vdd("), "{lvs}");
    assert!(
        read_direct("/dev/vgm/lin", 0, lin.len()) == lin,
        "pvmove of the active LV lost data"
    );
    oxlvm("lvchange -an vgm/lin");
    oxlvm("pvmove -i 0 -n lin /dev/vdd /dev/vda");
    oxlvm("lvchange -ay vgm/lin");
    let lvs = lvm("lvs --noheadings -o devices vgm/lin");
    assert!(lvs.contains("/dev/vda("), "{lvs}");
    assert!(
        read_direct("/dev/vgm/lin", 0, lin.len()) == lin,
        "pvmove of the inactive LV lost data"
    );
    lvm("vgchange -an vgm");
    wipe_disks();
}
