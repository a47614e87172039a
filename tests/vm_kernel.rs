//! Kernel tier: proves the VM harness gives the project a real device-mapper kernel and a working
//! LVM2. These tests run INSIDE the guest that `scripts/vm-test` boots (one boot for the whole
//! binary); on the host they fail at once, saying so, rather than skip.
//!
//! The target is declared `test = false` in Cargo.toml, so a plain `cargo test` neither builds nor
//! runs it; `scripts/vm-test [FILTER...]` builds it with `--test vm_kernel` and runs it in the VM.
//! The guest has four blank 64 MiB virtio disks /dev/vda..vdd; each test uses its own disks and dm
//! names because libtest runs tests in parallel.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::process::Command;

const SECTOR: u64 = 512;

/// Every test starts here: outside the VM there is no device-mapper to test against.
fn require_vm() {
    assert_eq!(
        std::env::var("OXLVM_IN_VM").as_deref(),
        Ok("1"),
        "vm_kernel tests need a real device-mapper kernel: run them with `scripts/vm-test` \
         (it boots a VM), not directly on the host"
    );
}

/// Runs a command, asserts it succeeded, returns its stdout.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("command output is UTF-8")
}

/// Runs a command for cleanup, ignoring failure.
fn run_quietly(program: &str, args: &[&str]) {
    let _ = Command::new(program).args(args).output();
}

fn major_minor(disk: &str) -> String {
    fs::read_to_string(format!("/sys/block/{disk}/dev"))
        .unwrap_or_else(|e| panic!("no /sys/block/{disk}: {e} (does the VM have enough disks?)"))
        .trim()
        .to_string()
}

/// A distinct, non-zero byte pattern (a blank disk reads as zeros).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(31).wrapping_add(seed as u32) % 251) as u8 + 1)
        .collect()
}

/// O_DIRECT I/O so what we read back comes from the device, not from a page cache: the dm device
/// and the disk under it each have their own.
fn direct_io_buffer(len: usize) -> (Vec<u8>, usize) {
    let buf = vec![0u8; len + 4096];
    let start = buf.as_ptr().align_offset(4096);
    (buf, start)
}

fn write_direct(path: &str, offset: u64, data: &[u8]) {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_SYNC)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path} for writing: {e}"));
    let (mut buf, start) = direct_io_buffer(data.len());
    buf[start..start + data.len()].copy_from_slice(data);
    file.write_all_at(&buf[start..start + data.len()], offset)
        .unwrap_or_else(|e| panic!("write {} bytes to {path} at {offset}: {e}", data.len()));
}

fn read_direct(path: &str, offset: u64, len: usize) -> Vec<u8> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path} for reading: {e}"));
    let (mut buf, start) = direct_io_buffer(len);
    file.read_exact_at(&mut buf[start..start + len], offset)
        .unwrap_or_else(|e| panic!("read {len} bytes from {path} at {offset}: {e}"));
    buf[start..start + len].to_vec()
}

fn assert_block_device(path: &str) {
    let meta = fs::metadata(path).unwrap_or_else(|e| panic!("{path} missing: {e}"));
    assert!(
        meta.file_type().is_block_device(),
        "{path} is not a block device"
    );
}

/// Removes a dm device when the test ends, also when it fails half way.
struct DmDevice(&'static str);
impl Drop for DmDevice {
    fn drop(&mut self) {
        run_quietly("dmsetup", &["remove", "--retry", self.0]);
    }
}

/// Removes a VG and its PVs' labels when the test ends.
struct VolumeGroup {
    name: &'static str,
    pvs: Vec<&'static str>,
}
impl Drop for VolumeGroup {
    fn drop(&mut self) {
        run_quietly("vgremove", &["-ff", "-y", self.name]);
        for pv in &self.pvs {
            run_quietly("pvremove", &["-ff", "-y", pv]);
        }
    }
}

#[test]
fn vm_dmsetup_lists_every_target_the_project_uses() {
    require_vm();
    // Load what the kernel would otherwise auto-load on first use; raid0/1/10 are md personalities
    // dm-raid needs but does not depend on. The init loads these already: this keeps the test
    // honest if it ever stops doing so.
    for module in [
        "dm-mod",
        "dm-zero",
        "dm-snapshot",
        "dm-thin-pool",
        "dm-mirror",
        "dm-flakey",
        "dm-delay",
        "raid0",
        "raid1",
        "raid10",
        "raid456",
        "dm-raid",
    ] {
        run("modprobe", &[module]);
    }
    let targets = run("dmsetup", &["targets"]);
    let names: Vec<&str> = targets
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for wanted in [
        "linear",
        "striped",
        "mirror",
        "raid",
        "snapshot",
        "snapshot-origin",
        "snapshot-merge",
        "thin-pool",
        "thin",
        "error",
        "zero",
        "flakey",
        "delay",
    ] {
        assert!(
            names.contains(&wanted),
            "dm target `{wanted}` missing from `dmsetup targets`:\n{targets}"
        );
    }
    let version = run("dmsetup", &["version"]);
    assert!(
        version.contains("Driver version"),
        "no kernel driver version in `dmsetup version`:\n{version}"
    );
}

#[test]
fn vm_linear_target_maps_writes_to_the_right_disk_offset() {
    require_vm();
    const NAME: &str = "vmk_linear";
    let disk = "/dev/vda";
    let start_sectors: u64 = 2048; // the mapping begins 1 MiB into the disk
    let len_sectors: u64 = 8192; // 4 MiB
    let table = format!("0 {len_sectors} linear {disk} {start_sectors}");
    run("dmsetup", &["create", NAME, "--table", &table]);
    let _device = DmDevice(NAME);

    // No udev in the guest: libdevmapper made the node itself because DM_DISABLE_UDEV=1.
    let mapper = format!("/dev/mapper/{NAME}");
    assert_block_device(&mapper);

    let loaded = run("dmsetup", &["table", NAME]);
    assert_eq!(
        loaded.trim(),
        format!(
            "0 {len_sectors} linear {} {start_sectors}",
            major_minor("vda")
        ),
        "the kernel's table differs from the one loaded"
    );
    assert_eq!(
        run("blockdev", &["--getsz", &mapper]).trim(),
        len_sectors.to_string(),
        "{mapper} has the wrong size"
    );

    let offset_in_device: u64 = 123 * 4096;
    let data = pattern(3 * 4096, 7);
    write_direct(&mapper, offset_in_device, &data);

    let on_disk = read_direct(disk, start_sectors * SECTOR + offset_in_device, data.len());
    assert!(
        on_disk == data,
        "data written at {offset_in_device} in {mapper} is not at {} in {disk}",
        start_sectors * SECTOR + offset_in_device
    );
    let unshifted = read_direct(disk, offset_in_device, data.len());
    assert!(
        unshifted != data,
        "the pattern also sits at the unshifted offset {offset_in_device} of {disk}: the mapping ignored its start"
    );
    assert_eq!(read_direct(&mapper, offset_in_device, data.len()), data);

    run("dmsetup", &["remove", NAME]);
    assert!(
        !Path::new(&mapper).exists(),
        "{mapper} left behind after dmsetup remove"
    );
}

#[test]
fn vm_real_lvm2_creates_and_activates_a_linear_lv() {
    require_vm();
    const VG: &str = "vmk_vg";
    const LV: &str = "lv0";
    let pvs = ["/dev/vdb", "/dev/vdc"];

    run("pvcreate", &["-ff", "-y", pvs[0], pvs[1]]);
    let _vg = VolumeGroup {
        name: VG,
        pvs: pvs.to_vec(),
    };
    run("vgcreate", &[VG, pvs[0], pvs[1]]);
    run("lvcreate", &["-y", "-L", "8M", "-n", LV, VG]);

    // LVM2 sees it active, 8 MiB, linear.
    let lvs = run(
        "lvs",
        &[
            "--noheadings",
            "--units",
            "m",
            "--nosuffix",
            "-o",
            "lv_attr,lv_size,segtype",
            &format!("{VG}/{LV}"),
        ],
    );
    let fields: Vec<&str> = lvs.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "unexpected lvs output: {lvs:?}");
    assert_eq!(
        fields[0].chars().nth(4),
        Some('a'),
        "LV not active (attr {})",
        fields[0]
    );
    assert_eq!(fields[1], "8.00");
    assert_eq!(fields[2], "linear");

    // The kernel has the matching table: one linear segment of 8 MiB on the first PV, after its
    // metadata area (pe_start).
    let dm_name = format!("{VG}-{LV}");
    let table = run("dmsetup", &["table", &dm_name]);
    let parts: Vec<&str> = table.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "unexpected table: {table:?}");
    assert_eq!(&parts[..4], ["0", "16384", "linear", &major_minor("vdb")]);
    let pe_start: u64 = run(
        "pvs",
        &[
            "--noheadings",
            "--units",
            "s",
            "--nosuffix",
            "-o",
            "pe_start",
            pvs[0],
        ],
    )
    .trim()
    .parse()
    .expect("pe_start is a number of sectors");
    assert_eq!(
        parts[4],
        pe_start.to_string(),
        "table offset is not the PV's pe_start"
    );
    let uuid = run(
        "dmsetup",
        &["info", "-c", "--noheadings", "-o", "uuid", &dm_name],
    );
    assert!(
        uuid.trim().starts_with("LVM-"),
        "dm uuid {uuid:?} is not LVM2's"
    );

    // Both device paths exist without udev, and data lands on the PV where LVM2 says.
    let lv_path = format!("/dev/{VG}/{LV}");
    assert_block_device(&lv_path);
    assert_block_device(&format!("/dev/mapper/{dm_name}"));
    let data = pattern(4096, 42);
    write_direct(&lv_path, 8192, &data);
    assert!(
        read_direct(pvs[0], pe_start * SECTOR + 8192, data.len()) == data,
        "data written through {lv_path} is not on {} at pe_start + 8192",
        pvs[0]
    );

    run("vgremove", &["-ff", "-y", VG]);
    assert!(
        !Path::new(&format!("/dev/mapper/{dm_name}")).exists(),
        "LV node left behind after vgremove"
    );
    assert!(
        !Path::new(&format!("/dev/{VG}")).exists(),
        "/dev/{VG} left behind after vgremove"
    );
    let remaining = run("dmsetup", &["ls"]);
    assert!(
        !remaining.contains(&dm_name),
        "dm device still there: {remaining}"
    );
}

#[test]
fn vm_project_binary_runs_in_the_guest() {
    require_vm();
    // The repository (and so target/) is shared at the same path in the guest.
    let out = run(env!("CARGO_BIN_EXE_oxlvm"), &["version"]);
    assert!(out.contains("oxlvm"), "unexpected `oxlvm version`: {out}");
}
