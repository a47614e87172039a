//! Kernel tier, faults under a PV: a device-mapper device stacked below a PV (as LVM2's own test
//! suite does with `aux error_dev`) starts failing while a command runs. dm-flakey with
//! `error_writes` lets the scan read the PV and fails every write to it: the command must fail
//! cleanly (exit 5, one line on stderr), the other PV must hold the old text (the commit never
//! reached its last phase), and once the device heals both tools read the VG at its old seqno
//! and one write leaves LVM2's vgck clean.
//!
//! Runs INSIDE the VM (`scripts/vm-test --test vm_faults`); declared `test = false`.

use std::process::{Command, Output};

const VG: &str = "vgfault";
const DM: &str = "oxfaulty";

fn require_vm() {
    assert_eq!(
        std::env::var("OXLVM_IN_VM").as_deref(),
        Ok("1"),
        "vm_faults tests need a real device-mapper kernel: run them with \
         `scripts/vm-test --test vm_faults` (it boots a VM), not on the host"
    );
}

/// A private LVM_SYSTEM_DIR that sees only the faulty device and /dev/vdb.
fn system_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("oxlvm-vm-faults");
    std::fs::create_dir_all(&dir).expect("create system dir");
    let conf = format!(
        "devices {{\n  filter = [ \"a|^/dev/mapper/{DM}$|\", \"a|^/dev/vdb$|\", \"r|.*|\" ]\n  \
         obtain_device_list_from_udev = 0\n  use_devicesfile = 0\n  hints = \"none\"\n  \
         sysfs_scan = 1\n}}\nactivation {{\n  udev_sync = 0\n  udev_rules = 0\n  \
         verify_udev_operations = 1\n  monitoring = 0\n}}\nbackup {{\n  backup = 0\n  archive = 0\n}}\n\
         global {{\n  use_lvmpolld = 0\n  event_activation = 0\n  locking_dir = \"{}/lock\"\n}}\n",
        dir.display()
    );
    std::fs::write(dir.join("lvm.conf"), conf).expect("write lvm.conf");
    dir
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("LVM_SYSTEM_DIR", system_dir())
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn oxlvm(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_oxlvm"), args)
}

fn sectors(dev: &str) -> u64 {
    ok("blockdev", &["--getsz", dev])
        .trim()
        .parse()
        .expect("size")
}

/// Switches the faulty device's table: the plain disk, or the disk with writes failing.
fn set_table(failing: bool) {
    let n = sectors("/dev/vda");
    let table = if failing {
        format!("0 {n} flakey /dev/vda 0 0 1 1 error_writes")
    } else {
        format!("0 {n} linear /dev/vda 0")
    };
    ok("dmsetup", &["suspend", DM]);
    ok("dmsetup", &["load", DM, "--table", &table]);
    ok("dmsetup", &["resume", DM]);
}

fn seqno(program: &str) -> u32 {
    let args = ["vgs", "--noheadings", "-o", "vg_seqno", VG];
    let out = if program == "lvm" {
        ok("lvm", &args)
    } else {
        String::from_utf8_lossy(&oxlvm(&args).stdout).into_owned()
    };
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{program} vgs: {out:?}"))
}

struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = run("vgremove", &["-ff", "-y", VG]);
        let _ = Command::new("dmsetup").args(["remove", "-f", DM]).status();
        let _ = run("wipefs", &["-a", "/dev/vda", "/dev/vdb"]);
    }
}

#[test]
fn vm_a_pv_failing_writes_mid_command_fails_cleanly_and_loses_nothing() {
    require_vm();
    let _cleanup = Cleanup;
    let n = sectors("/dev/vda");
    ok(
        "dmsetup",
        &["create", DM, "--table", &format!("0 {n} linear /dev/vda 0")],
    );
    let faulty = format!("/dev/mapper/{DM}");
    let o = oxlvm(&["vgcreate", "-s", "1m", VG, &faulty, "/dev/vdb"]);
    assert!(o.status.success(), "{o:?}");
    let o = oxlvm(&["lvcreate", "-an", "-L", "4m", "-n", "a", VG]);
    assert!(o.status.success(), "{o:?}");
    let before = seqno("lvm");

    for (what, args) in [
        (
            "lvcreate",
            vec!["lvcreate", "-an", "-L", "4m", "-n", "b", VG],
        ),
        (
            "lvextend",
            vec!["lvextend", "-L", "+4m", &format!("{VG}/a")],
        ),
        ("vgchange", vec!["vgchange", "--addtag", "t1", VG]),
    ] {
        set_table(true);
        let out = oxlvm(&args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains("WARNING"))
            .collect();
        assert_eq!(out.status.code(), Some(5), "{what}: {err}");
        assert_eq!(lines.len(), 1, "{what}: one line expected: {err}");
        assert!(
            lines[0].contains(&faulty) || lines[0].contains("write"),
            "{what}: the message names the failing device: {err}"
        );
        // The device heals: nothing was committed anywhere.
        set_table(false);
        assert_eq!(seqno("lvm"), before, "{what}: LVM2 sees another seqno");
        assert_eq!(seqno("oxlvm"), before, "{what}: oxlvm sees another seqno");
    }
    // One write repairs what the failed commands left in the rings; vgck is then clean.
    let o = oxlvm(&["vgck", "--updatemetadata", VG]);
    assert!(o.status.success(), "{o:?}");
    let out = run("lvm", &["vgck", VG]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "vgck after repair: {err}"
    );
    let lvs = ok(
        "lvm",
        &[
            "lvs",
            "--noheadings",
            "-o",
            "lv_name,lv_size",
            "--units",
            "m",
            VG,
        ],
    );
    assert_eq!(
        lvs.split_whitespace().collect::<Vec<_>>(),
        ["a", "4.00m"],
        "{lvs}"
    );
}
