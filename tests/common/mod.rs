//! Shared helpers for the host and compat tiers: loop devices over sparse files, device hashes
//! (bad input must leave every byte as it was), and running the oxlvm binary and real LVM2
//! with private configuration so tests never touch the machine's own VGs.
#![allow(dead_code)]

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A loop device over a sparse file; detached and deleted on drop.
pub struct LoopDev {
    pub path: PathBuf,
    backing: PathBuf,
}

impl LoopDev {
    pub fn new(dir: &Path, name: &str, size_bytes: u64) -> LoopDev {
        let backing = dir.join(name);
        let f = std::fs::File::create(&backing).expect("create backing file");
        f.set_len(size_bytes).expect("size backing file");
        drop(f);
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&backing)
            .output()
            .expect("run losetup");
        assert!(
            out.status.success(),
            "losetup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        LoopDev { path, backing }
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("loop paths are UTF-8")
    }

    /// SHA-256 of every byte of the device.
    pub fn hash(&self) -> String {
        let data = std::fs::read(&self.path).expect("read loop device");
        format!("{:x}", Sha256::digest(&data))
    }

    pub fn read(&self, offset: u64, len: usize) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(&self.path).expect("open loop device");
        let mut buf = vec![0u8; len];
        f.read_exact_at(&mut buf, offset).expect("read loop device");
        buf
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.path).status();
        let _ = std::fs::remove_file(&self.backing);
    }
}

/// A private scratch directory: the test's sparse files, lvm.conf, lock, backup and archive dirs.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new(test: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("oxlvm-test-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).expect("create sandbox");
        Sandbox { dir }
    }

    /// Writes an lvm.conf that accepts only `devices` and keeps every LVM2 side effect
    /// (hints, backups, archives, lock files) inside the sandbox.
    pub fn write_lvm_conf(&self, devices: &[&LoopDev]) {
        let accept: Vec<String> = devices
            .iter()
            .map(|d| format!("\"a|^{}$|\"", d.path_str()))
            .collect();
        let conf = format!(
            "devices {{\n\tfilter = [ {}, \"r|.*|\" ]\n\thints = \"none\"\n\tuse_devicesfile = 0\n\tobtain_device_list_from_udev = 0\n}}\n\
             backup {{\n\tbackup = 1\n\tbackup_dir = \"{d}/etc/backup\"\n\tarchive = 1\n\tarchive_dir = \"{d}/etc/archive\"\n}}\n\
             global {{\n\tlocking_dir = \"{d}/lock\"\n}}\n\
             activation {{\n\tudev_sync = 0\n\tudev_rules = 0\n\tmonitoring = 0\n}}\n",
            accept.join(", "),
            d = self.dir.display()
        );
        std::fs::write(self.dir.join("etc/lvm.conf"), conf).expect("write lvm.conf");
    }

    pub fn system_dir(&self) -> PathBuf {
        self.dir.join("etc")
    }

    /// Runs oxlvm with this sandbox's configuration.
    pub fn oxlvm(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_oxlvm"))
            .args(args)
            .env("LVM_SYSTEM_DIR", self.system_dir())
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .output()
            .expect("run oxlvm")
    }

    /// Runs real LVM2 (`lvm CMD ...`) with this sandbox's configuration and no device-mapper.
    pub fn lvm(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("lvm");
        cmd.arg(args[0]);
        if args[0] != "version" {
            cmd.arg("--driverloaded").arg("n");
        }
        cmd.args(&args[1..])
            .env("LVM_SYSTEM_DIR", self.system_dir())
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .output()
            .expect("run lvm (is Debian's lvm2 installed? scripts/setup-system installs it)")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "command failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// A sandbox with loop devices of the given sizes (MiB) whose lvm.conf accepts only them.
pub fn sandbox_with(test: &str, sizes_mib: &[u64]) -> (Sandbox, Vec<LoopDev>) {
    let sb = Sandbox::new(test);
    let devs: Vec<LoopDev> = sizes_mib
        .iter()
        .enumerate()
        .map(|(i, mib)| LoopDev::new(&sb.dir, &format!("d{i}"), mib << 20))
        .collect();
    sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
    (sb, devs)
}

/// The SHA-256 of every device, in order.
pub fn hashes(devs: &[LoopDev]) -> Vec<String> {
    devs.iter().map(LoopDev::hash).collect()
}

/// Asserts a refusal: the exit code, exactly one line on stderr, and every device unchanged.
/// Returns the message.
#[track_caller]
pub fn assert_refused(out: Output, code: i32, devs: &[LoopDev], before: &[String]) -> String {
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    let err = stderr(&out);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err:?}"
    );
    assert_eq!(
        before,
        hashes(devs),
        "a refused command changed a device: {err}"
    );
    err
}

/// LVM2's stderr without the line every `--driverloaded n` command prints.
pub fn lvm_complaints(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| !l.contains("Activation disabled. No device-mapper interaction"))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs LVM2 and asserts it succeeded without any warning or error; returns stdout.
#[track_caller]
pub fn lvm_clean(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.lvm(args);
    assert!(out.status.success(), "lvm {args:?} failed: {out:?}");
    let complaints = lvm_complaints(&out);
    assert!(
        complaints.is_empty(),
        "lvm {args:?} complained: {complaints:?}"
    );
    stdout(&out)
}

/// The guest fixtures written by LVM2 with device-mapper.
pub const GUEST_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/lvm2-2.03.16/guest"
);

/// `vgck` exits 0 even on checksum errors: its stderr must be empty too.
#[track_caller]
pub fn assert_vgck_clean(sb: &Sandbox, vg: &str) {
    let out = sb.lvm(&["vgck", vg]);
    assert!(out.status.success(), "vgck {vg}: {out:?}");
    let complaints = lvm_complaints(&out);
    assert!(
        complaints.is_empty(),
        "vgck {vg} complained: {complaints:?}"
    );
}

/// The VG body of an on-disk text with what differs between two VGs blanked.
pub fn normalized_vg_body(text: &str) -> String {
    let body = text.split("\n# Generated by").next().unwrap_or(text);
    body.lines()
        .filter(|l| {
            let key = l.trim_start().split(" = ").next().unwrap_or("");
            !matches!(
                key,
                "id" | "device" | "creation_time" | "creation_host" | "seqno"
            )
        })
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end_matches(['\n', '\0'])
        .to_string()
}

/// The fixture's on-disk text with this seqno.
pub fn guest_text(seqno: u32) -> String {
    let all =
        std::fs::read_to_string(format!("{}/vgdemo_pv0_metadata_all.txt", GUEST_FIXTURES)).unwrap();
    all.split("vgdemo {\n")
        .filter(|c| {
            c.starts_with(&format!(
                "id = \"mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnDE\"\nseqno = {seqno}\n"
            ))
        })
        .map(|c| format!("vgdemo {{\n{c}"))
        .next()
        .unwrap_or_else(|| panic!("no seqno {seqno} in the fixture"))
}

/// The committed text as LVM2's pvck dumps it.
pub fn lvm2_dump(sb: &Sandbox, dev: &LoopDev) -> String {
    let file = sb.dir.join("dump.txt");
    // pvck will not overwrite a file.
    let _ = std::fs::remove_file(&file);
    let out = sb.lvm(&[
        "pvck",
        "--dump",
        "metadata",
        "-f",
        file.to_str().unwrap(),
        dev.path_str(),
    ]);
    assert!(out.status.success(), "{out:?}");
    std::fs::read_to_string(&file).unwrap()
}

/// The guest fixture's vgdemo (linear, striped, thin pool with thin LVs, raid1, snapshot)
/// restored by LVM2 onto three 1 GiB loop devices, as LVM2's `vgcfgrestore --force` writes it
/// without device-mapper.
pub fn restore_guest(sb: &Sandbox, devs: &[LoopDev]) {
    let fixture = format!("{GUEST_FIXTURES}/vgdemo.vg");
    let text = std::fs::read_to_string(&fixture).unwrap();
    let pv_ids: Vec<String> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("id = ") && l.starts_with("\t\t\t"))
        .take(3)
        .map(|l| l.split('"').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(pv_ids.len(), 3, "three PV ids in {fixture}");
    for (dev, id) in devs.iter().zip(&pv_ids) {
        let out = sb.lvm(&[
            "pvcreate",
            "-y",
            "--uuid",
            id,
            "--restorefile",
            &fixture,
            dev.path_str(),
        ]);
        assert!(out.status.success(), "{out:?}");
    }
    let out = sb.lvm(&["vgcfgrestore", "--force", "-f", &fixture, "vgdemo"]);
    assert!(out.status.success(), "{out:?}");
}
