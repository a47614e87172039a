//! Kernel tier, two hosts: shared VGs across two guests booted together on the same disks, each
//! running real sanlock and lvmlockd (`scripts/vm-run --hosts 2 --lockd`). One host runs oxlvm
//! and the other LVM2 on one VG, the reverse on another; every step is ordered across hosts by
//! marker files in the directory both guests share. The test binary runs in both guests at
//! once; `OXLVM_VM_HOST` says which host this is.
//!
//! Runs INSIDE the VMs (`scripts/vm-test --test vm_shared`, which reads the options below);
//! declared `test = false`.
//! vm-run: --hosts 2 --lockd --lockd-io-timeout 2 --disks 2 --disk-size 320M --mem 384
//!
//! sanlock's I/O timeout is 2 s (not vm-run's 1): it kills a lockspace whose host lease went
//! unrenewed for 8 x io_timeout, which a guest starved of CPU at load 15-17 reached with 1.
//!
//! The two scenarios run in parallel in each guest, on their own disk and VG. The first sanlock
//! VG holds the global lock, so the LVM2-made VG is created once the oxlvm-made one exists
//! (it takes the global lock from it), and the oxlvm-made one is removed only after that.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn require_vm() {
    assert_eq!(
        std::env::var("OXLVM_IN_VM").as_deref(),
        Ok("1"),
        "vm_shared tests need two guests with sanlock and lvmlockd: run them with \
         `scripts/vm-test --test vm_shared` (it boots two VMs), not on the host"
    );
    assert!(
        std::env::var("OXLVM_VM_SYNC").is_ok(),
        "vm_shared needs `scripts/vm-run --hosts 2 --lockd` (scripts/vm-test reads that from the file)"
    );
}

/// 1 or 2.
fn host() -> u32 {
    std::env::var("OXLVM_VM_HOST")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(1)
}

/// Which tool a host uses in a scenario.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Oxlvm,
    Lvm2,
}

fn oxlvm_binary() -> &'static str {
    static COPY: OnceLock<String> = OnceLock::new();
    COPY.get_or_init(|| {
        let to = "/run/oxlvm-vm-shared";
        match fs::copy(env!("CARGO_BIN_EXE_oxlvm"), to) {
            Ok(_) => to.to_string(),
            Err(_) => env!("CARGO_BIN_EXE_oxlvm").to_string(),
        }
    })
}

/// Markers across hosts for one scenario; a failing test leaves `failed` so its peer stops
/// waiting at once.
struct Steps {
    dir: PathBuf,
    name: &'static str,
    tool: Tool,
    start: Instant,
}

impl Steps {
    fn new(name: &'static str, tool: Tool) -> Steps {
        let dir = PathBuf::from(std::env::var("OXLVM_VM_SYNC").unwrap_or_default()).join(name);
        fs::create_dir_all(&dir).expect("create the marker directory");
        Steps {
            dir,
            name,
            tool,
            start: Instant::now(),
        }
    }

    fn mark(&self, what: &str) {
        fs::write(self.dir.join(what), b"").expect("write a marker");
    }

    fn wait(&self, what: &str) {
        wait_marker(&self.dir, what, self.name);
    }

    fn log(&self, line: &str) {
        eprintln!(
            "[{:6.2} s] host{} {} ({:?}): {line}",
            self.start.elapsed().as_secs_f64(),
            host(),
            self.name,
            self.tool
        );
    }

    /// Runs the host's tool: `oxlvm CMD ...` or `lvm CMD ...`.
    fn tool(&self, args: &[&str]) -> Output {
        let t = Instant::now();
        let out = match self.tool {
            Tool::Oxlvm => Command::new(oxlvm_binary()).args(args).output(),
            Tool::Lvm2 => Command::new("lvm").args(args).output(),
        }
        .expect("run the tool");
        self.log(&format!(
            "{:.2} s  exit {:?}  {}",
            t.elapsed().as_secs_f64(),
            out.status.code(),
            args.join(" ")
        ));
        out
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.tool(args);
        assert!(
            out.status.success(),
            "{:?} {} failed ({:?}):\nstdout: {}\nstderr: {}",
            self.tool,
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Exit 5 and `words` on stderr.
    #[track_caller]
    fn refused(&self, args: &[&str], words: &str) {
        let out = self.tool(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(5),
            "{:?} {} should fail with exit 5: {out:?}",
            self.tool,
            args.join(" ")
        );
        assert!(
            err.contains(words),
            "{:?} {}: stderr lacks {words:?}:\n{err}",
            self.tool,
            args.join(" ")
        );
    }

    /// `vgchange --lockstart`: LVM2 without udev may fail the first start (its lvmlock node
    /// appears too late for sanlock, shared-vg.md); a retry succeeds. oxlvm makes the node
    /// itself and must succeed at once.
    fn lockstart(&self, vg: &str) {
        let out = self.tool(&["vgchange", "--lockstart", vg]);
        if !out.status.success() {
            assert_eq!(self.tool, Tool::Lvm2, "oxlvm --lockstart failed: {out:?}");
            self.ok(&["vgchange", "--lockstart", vg]);
        }
    }

    /// One field of one LV (`lvs -a --noheadings -o FIELD vg/lv`), trimmed.
    fn lv_field(&self, lv: &str, field: &str) -> String {
        self.ok(&["lvs", "-a", "--noheadings", "--units", "m", "-o", field, lv])
            .trim()
            .to_string()
    }

    /// `lvs -a` of the VG with `fields` (comma-separated): one row of trimmed fields per LV.
    fn lvs_rows(&self, vg: &str, fields: &str) -> Vec<Vec<String>> {
        let out = self.ok(&[
            "lvs",
            "-a",
            "--noheadings",
            "--units",
            "m",
            "--separator",
            "|",
            "-o",
            fields,
            vg,
        ]);
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split('|').map(|f| f.trim().to_string()).collect())
            .collect()
    }

    /// Writes `what` with `text` in it (for the other host to read with [`Steps::read`]).
    fn mark_with(&self, what: &str, text: &str) {
        let tmp = self.dir.join(format!(".{what}"));
        fs::write(&tmp, text).expect("write a marker");
        fs::rename(&tmp, self.dir.join(what)).expect("publish a marker");
    }

    fn read(&self, what: &str) -> String {
        self.wait(what);
        fs::read_to_string(self.dir.join(what)).expect("read a marker")
    }

    /// lvmlockd's view of the VG on this host: its part of `lvmlockctl -i` (from `VG <vg> `
    /// to the next blank line), None when the VG's lockspace is not started here.
    fn lockd_info(&self, vg: &str) -> Option<String> {
        let out = Command::new("lvmlockctl")
            .arg("-i")
            .output()
            .expect("run lvmlockctl -i");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let head = format!("VG {vg} ");
        let start = text.lines().position(|l| l.starts_with(&head))?;
        let lines: Vec<&str> = text
            .lines()
            .skip(start)
            .take_while(|l| !l.trim().is_empty())
            .collect();
        Some(lines.join("\n"))
    }

    /// Waits (up to 5 s: lvmlockd drops a gone client's locks in its own time) until the
    /// VG's part of `lvmlockctl -i` satisfies `test`; fails with the last one seen.
    #[track_caller]
    fn lockd_until(&self, vg: &str, what: &str, test: impl Fn(Option<&str>) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let info = self.lockd_info(vg);
            if test(info.as_deref()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: lvmlockctl -i on host {}: {what}; VG {vg} shows:\n{}",
                self.name,
                host(),
                info.as_deref().unwrap_or("(no lockspace)")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// This host's lvmlockd holds the lock of the LV with `uuid` (or not): `LK LV ex|sh UUID`.
    #[track_caller]
    fn lv_lock_held(&self, vg: &str, uuid: &str, held: bool) {
        let has = |i: Option<&str>| {
            i.is_some_and(|i| {
                i.lines().any(|l| {
                    (l.starts_with("LK LV ex ") || l.starts_with("LK LV sh ")) && l.ends_with(uuid)
                })
            })
        };
        self.lockd_until(
            vg,
            if held {
                "the LV lock should be held"
            } else {
                "the LV lock should be released"
            },
            |i| has(i) == held,
        );
    }

    /// No command's lock is left in the VG's lockspace here (a transient VG lock names the
    /// pid holding it; a command that exited must not hold one), and none waits.
    #[track_caller]
    fn no_command_locks(&self, vg: &str) {
        self.lockd_until(vg, "a command's VG lock is left", |i| {
            i.is_some_and(|i| {
                !i.lines().any(|l| {
                    (l.starts_with("LK VG") && l.contains(" pid ")) || l.starts_with("LW ")
                })
            })
        });
    }

    /// The VG's metadata sequence number (`vgs -o vg_seqno`).
    fn seqno(&self, vg: &str) -> u32 {
        let out = self.ok(&["vgs", "--noheadings", "-o", "vg_seqno", vg]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{}: vg_seqno {out:?}", self.name))
    }

    /// The names of the VG's LVs (`lvs`), sorted.
    fn lv_names(&self, vg: &str) -> Vec<String> {
        let out = self.ok(&["lvs", "--noheadings", "-o", "lv_name", vg]);
        let mut v: Vec<String> = out.split_whitespace().map(str::to_string).collect();
        v.sort();
        v
    }
}

/// Makes the VG's lvmlock LV (active here) look full to lvmlockd without 189 lvcreates: the
/// lease leader of `model` (a used lease's byte offset) is copied over every 1 MiB slot from
/// 67 MiB on that is not in `used`, so `find_free_lock` finds no "#unused" one. Only the
/// leader sector is written; the leases in use stay as they are.
fn fill_lvmlock(vg: &str, model: u64, used: &[u64]) -> usize {
    use std::io::{Seek, SeekFrom};
    let path = format!("/dev/mapper/{}-lvmlock", vg.replace('-', "--"));
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let size = f.seek(SeekFrom::End(0)).expect("lvmlock size");
    let mut buf = aligned(4096, 0);
    f.read_exact_at(&mut buf.as_mut_slice()[..512], model)
        .expect("read the model lease");
    let mut filled = 0;
    let mut off = 67 * MIB;
    while off + MIB <= size {
        if !used.contains(&off) {
            f.write_all_at(&buf.as_slice()[..512], off)
                .expect("write a lease leader");
            filled += 1;
        }
        off += MIB;
    }
    f.sync_all().expect("sync lvmlock");
    filled
}

/// The byte offsets in `lv_lock_args` ("1.0.0:N") of the VG's LVs.
fn lease_offsets(lock_args: &str) -> Vec<u64> {
    lock_args
        .split_whitespace()
        .filter_map(|a| a.strip_prefix("1.0.0:"))
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn wait_marker(dir: &std::path::Path, what: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(240);
    while !dir.join(what).exists() {
        assert!(
            !dir.join("failed").exists(),
            "{name}: the other host failed while this one waited for {what}"
        );
        assert!(
            Instant::now() < deadline,
            "{name}: timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Leaves `failed` for the peer when the test panics.
struct FailFlag(PathBuf);

impl Drop for FailFlag {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = fs::write(self.0.join("failed"), b"");
        }
    }
}

const MIB: u64 = 1 << 20;

/// Writes `fill` over the first MiB of the LV, with O_DIRECT (no page cache between hosts).
fn write_pattern(path: &str, fill: u8) {
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let buf = aligned(MIB as usize, fill);
    f.write_all_at(buf.as_slice(), 0)
        .expect("write the pattern");
    f.sync_all().expect("sync");
}

/// Whether the first MiB of the LV is all `fill`, read with O_DIRECT.
fn has_pattern(path: &str, fill: u8) -> bool {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut buf = aligned(MIB as usize, 0);
    f.read_exact_at(buf.as_mut_slice(), 0)
        .expect("read the pattern");
    buf.as_slice().iter().all(|b| *b == fill)
}

/// A 4096-aligned buffer for O_DIRECT.
struct Aligned {
    ptr: *mut u8,
    len: usize,
}

impl Aligned {
    fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr is a live allocation of len bytes made in `aligned`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        let layout = std::alloc::Layout::from_size_align(self.len, 4096).expect("layout");
        // SAFETY: allocated in `aligned` with this same layout.
        unsafe { std::alloc::dealloc(self.ptr, layout) }
    }
}

fn aligned(len: usize, fill: u8) -> Aligned {
    let layout = std::alloc::Layout::from_size_align(len, 4096).expect("layout");
    // SAFETY: len is non-zero; the pointer is checked and freed in Drop.
    let ptr = unsafe { std::alloc::alloc(layout) };
    assert!(!ptr.is_null(), "out of memory");
    // SAFETY: ptr points to len writable bytes.
    unsafe { std::ptr::write_bytes(ptr, fill, len) };
    Aligned { ptr, len }
}

/// The scenario on one VG: host 1 creates it with `creator`, host 2 uses `other`.
fn scenario(name: &'static str, vg: &str, disk: &str, creator: Tool, other: Tool, lvm2_made: bool) {
    require_vm();
    let me = host();
    let steps = Steps::new(name, if me == 1 { creator } else { other });
    let _flag = FailFlag(steps.dir.clone());
    let lv = format!("{vg}/lv1");
    let lvx = format!("{vg}/lvx");
    let dev = format!("/dev/{vg}/lv1");
    let other_tool_name = if me == 1 { other } else { creator };
    let _ = other_tool_name;
    // The first sanlock VG holds the global lock: the oxlvm-made VG is made first (oxlvm
    // bootstraps the global lock), the LVM2-made one after it on host 1.
    let first = PathBuf::from(std::env::var("OXLVM_VM_SYNC").unwrap_or_default())
        .join("vm_shared_vg_made_by_oxlvm");
    if me == 1 {
        if lvm2_made {
            wait_marker(&first, "created", name);
        }
        steps.ok(&["vgcreate", "--shared", vg, disk]);
        steps.ok(&["lvcreate", "-an", "-L", "8M", "-n", "lv1", vg]);
        steps.ok(&["lvcreate", "-an", "-L", "4M", "-n", "lvx", vg]);
        // LVM2's lvcreate activates in a shared VG unless -an; both leave it inactive here.
        steps.mark("created");

        // Exclusive here; data written here is read there after the handover.
        steps.wait("started");
        let uuid = steps.lv_field(&lv, "lv_uuid");
        steps.ok(&["lvchange", "-aey", &lv, &lvx]);
        // The activation's lock outlives the command; the command's own VG lock does not.
        steps.lv_lock_held(vg, &uuid, true);
        steps.no_command_locks(vg);
        write_pattern(&dev, 0xa1);
        steps.mark("ex_here");
        steps.wait("refused_there");
        // The other host changed no LV: lv1 is as it was (its tag was a VG change).
        assert_eq!(steps.lv_field(&lv, "lv_size"), "8.00m");
        steps.ok(&["lvchange", "-an", &lv, &lvx]);
        steps.lv_lock_held(vg, &uuid, false);
        steps.no_command_locks(vg);
        steps.mark("released");

        // Back here after the other host wrote; then shared on both.
        steps.wait("ex_there_done");
        steps.ok(&["lvchange", "-asy", &lv]);
        assert!(
            has_pattern(&dev, 0xb2),
            "{name}: host 2's data not seen on host 1"
        );
        steps.mark("sh_here");
        steps.wait("sh_there");
        // Shared on both: exclusive is refused here too, and so is an extend (it needs the
        // lock ex; this host holds it sh).
        steps.refused(&["lvchange", "-aey", &lv], "locked by other host");
        let seq = steps.seqno(vg);
        steps.refused(
            &["lvextend", "-L", "+4M", &lv],
            &format!("LV is already locked with incompatible mode: {lv}"),
        );
        assert_eq!(steps.seqno(vg), seq, "{name}: a refused lvextend wrote");
        // --lockopt shupdate: the extend goes on under the shared lock with LVM2's warning,
        // and lvmlockd is asked to refresh the other hosts (through dlm; with sanlock
        // lvmlockd 2.03.16 answers success).
        let out = steps.tool(&["lvextend", "--lockopt", "shupdate", "-L", "+4M", &lv]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success()
                && err.contains(
                    "WARNING: extending LV with a shared lock, other hosts may require LV refresh."
                )
                && err.contains(&format!("Refreshing LV /dev//{lv} on other hosts...")),
            "{name}: lvextend --lockopt shupdate: {out:?}"
        );
        assert_eq!(steps.lv_field(&lv, "lv_size"), "16.00m");
        steps.mark("sh_checked");
        steps.wait("sh_there_done");
        steps.ok(&["lvchange", "-an", &lv]);
    } else {
        steps.wait("created");
        steps.lockstart(vg);
        // Metadata made on host 1 is seen here.
        assert_eq!(steps.lv_names(vg), ["lv1", "lvx"]);
        steps.mark("started");

        steps.wait("ex_here");
        steps.refused(&["lvchange", "-aey", &lv], "LV locked by other host");
        steps.refused(&["lvchange", "-asy", &lv], "LV locked by other host");
        // Every change of an LV active on the other host is refused (LVM2's LV lock, ex):
        // exit 5, LVM2's words, the metadata untouched.
        let seq = steps.seqno(vg);
        let held = format!("LV locked by other host: {lv}");
        steps.refused(&["lvextend", "-L", "+4M", &lv], &held);
        steps.refused(&["lvrename", vg, "lv1", "lv1r"], &held);
        steps.refused(
            &["lvremove", "-y", &lvx],
            &format!("LV locked by other host: {lvx}"),
        );
        steps.refused(&["lvcreate", "-s", "-L", "4M", "-n", "snap1", &lv], &held);
        assert_eq!(steps.seqno(vg), seq, "{name}: a refused change wrote");
        // lvchange of a property is a VG change only: LVM2 takes no LV lock for it.
        steps.ok(&["lvchange", "--addtag", "seen_h2", &lv]);
        assert_eq!(steps.seqno(vg), seq + 1);
        steps.mark("refused_there");
        steps.wait("released");
        steps.ok(&["lvchange", "-aey", &lv]);
        assert!(
            has_pattern(&dev, 0xa1),
            "{name}: host 1's data not seen on host 2"
        );
        write_pattern(&dev, 0xb2);
        steps.ok(&["lvchange", "-an", &lv]);
        // Inactive everywhere: the same changes go through (the lock is free).
        steps.ok(&["lvextend", "-L", "+4M", &lv]);
        steps.ok(&["lvrename", vg, "lv1", "lv1r"]);
        steps.ok(&["lvrename", vg, "lv1r", "lv1"]);
        steps.ok(&["lvremove", "-y", &lvx]);
        assert_eq!(steps.lv_field(&lv, "lv_size"), "12.00m");
        steps.mark("ex_there_done");

        steps.wait("sh_here");
        steps.ok(&["lvchange", "-asy", &lv]);
        assert!(has_pattern(&dev, 0xb2));
        steps.mark("sh_there");
        steps.wait("sh_checked");
        steps.ok(&["lvchange", "-an", &lv]);
        steps.mark("sh_there_done");

        // A host without lvmlockd cannot use the VG (LVM2's words, exit 5).
        let off = "global/use_lvmlockd=0";
        steps.refused(
            &[
                "lvcreate", "--config", off, "-an", "-L", "4M", "-n", "nolockd", vg,
            ],
            &format!("Cannot access VG {vg} with lock type sanlock that requires lvmlockd."),
        );
    }

    // Both hosts create an LV at the same moment: both succeed, neither LV is lost.
    steps.mark(&format!("ready{me}"));
    steps.wait("ready1");
    steps.wait("ready2");
    let mine = format!("lv_h{me}");
    steps.ok(&["lvcreate", "-an", "-L", "4M", "-n", &mine, vg]);
    steps.mark(&format!("made{me}"));
    steps.wait("made1");
    steps.wait("made2");
    assert_eq!(
        steps.lv_names(vg),
        ["lv1", "lv_h1", "lv_h2"],
        "{name}: a lost update"
    );
    steps.mark(&format!("listed{me}"));
    steps.wait("listed1");
    steps.wait("listed2");

    // Thin LVs lock their pool: a thin LV active on host 1 keeps host 2 from activating any
    // thin LV of the pool and from making one in it; after host 1 deactivates, host 2 can.
    let pool = format!("{vg}/pool");
    let thin1 = format!("{vg}/thin1");
    let thin_dev = format!("/dev/{vg}/thin1");
    if me == 1 {
        steps.ok(&["lvcreate", "-an", "-T", "-L", "8M", &pool]);
        steps.ok(&["lvcreate", "-an", "-V", "8M", "-T", &pool, "-n", "thin1"]);
        let pool_uuid = steps.lv_field(&pool, "lv_uuid");
        steps.ok(&["lvchange", "-aey", &thin1]);
        steps.lv_lock_held(vg, &pool_uuid, true);
        write_pattern(&thin_dev, 0xc3);
        steps.mark_with("thin_here", &pool_uuid);
        steps.wait("thin_refused");
        steps.ok(&["lvchange", "-an", &thin1]);
        // The pool's lock goes with the pool's last active thin LV.
        steps.lv_lock_held(vg, &pool_uuid, false);
        steps.no_command_locks(vg);
        steps.mark("thin_released");
        steps.wait("thin_done");
    } else {
        let pool_uuid = steps.read("thin_here");
        steps.refused(&["lvchange", "-aey", &thin1], "locked by other host");
        steps.refused(
            &["lvcreate", "-an", "-V", "8M", "-T", &pool, "-n", "thin2"],
            "locked by other host",
        );
        steps.mark("thin_refused");
        steps.wait("thin_released");
        steps.ok(&["lvchange", "-aey", &thin1]);
        assert!(
            has_pattern(&thin_dev, 0xc3),
            "{name}: host 1's thin data not seen on host 2"
        );
        steps.ok(&["lvcreate", "-an", "-V", "8M", "-T", &pool, "-n", "thin2"]);
        steps.ok(&["lvchange", "-an", &thin1]);
        // After LVM2 2.03.16's thin lvcreate and thin -an the pool's lock is still held here
        // (the pool LV itself left active); after oxlvm's it is not. vgchange -an clears it.
        steps.ok(&["vgchange", "-an", vg]);
        steps.lv_lock_held(vg, &pool_uuid, false);
        steps.no_command_locks(vg);
        steps.mark("thin_done");
    }

    // A full lvmlock LV grows: host 1 makes every free lease slot look used, its lvcreate
    // grows lvmlock by sanlock_lv_extend (8 MiB) and the new LV's lease lands in the new
    // space; host 2, whose lvmlock device is still the old size, activates that LV (its lock
    // request fails past the end until it reloads lvmlock).
    let grow = format!("{vg}/lv_grow");
    if me == 1 {
        // One lvs: the leases in use, lv1's as the model, and host 2's thin LV seen here.
        let rows = steps.lvs_rows(vg, "lv_name,lv_lock_args,pool_lv");
        let field = |lv: &str, i: usize| {
            rows.iter()
                .find(|r| r[0] == lv)
                .map(|r| r[i].clone())
                .unwrap_or_else(|| panic!("{name}: no {lv} in {rows:?}"))
        };
        assert_eq!(
            field("thin2", 2),
            "pool",
            "{name}: host 2's thin LV not seen on host 1"
        );
        let used: Vec<u64> = rows.iter().flat_map(|r| lease_offsets(&r[1])).collect();
        let lv1_lease = lease_offsets(&field("lv1", 1))[0];
        let filled = fill_lvmlock(vg, lv1_lease, &used);
        assert!(
            filled > 150,
            "{name}: only {filled} free lease slots filled"
        );
        steps.ok(&[
            "lvcreate",
            "--config",
            "global/sanlock_lv_extend=8",
            "-an",
            "-L",
            "4M",
            "-n",
            "lv_grow",
            vg,
        ]);
        let rows = steps.lvs_rows(vg, "lv_name,lv_size,lv_lock_args");
        let row = |lv: &str| rows.iter().find(|r| r[0] == lv).cloned();
        assert_eq!(
            row("[lvmlock]").map(|r| r[1].clone()).as_deref(),
            Some("264.00m"),
            "{name}: the lvmlock LV did not grow by 8 MiB: {rows:?}"
        );
        assert_eq!(
            row("lv_grow").map(|r| r[2].clone()),
            Some(format!("1.0.0:{}", 256 * MIB)),
            "{name}: the new lease is not in the new space"
        );
        steps.mark("grown");
        steps.wait("grow_done");
    } else {
        // The lease of lv_grow lies past the end of this host's lvmlock device.
        steps.wait("grown");
        steps.ok(&["lvchange", "-aey", &grow]);
        steps.ok(&["lvchange", "-an", &grow]);
        steps.mark("grow_done");
    }

    // The end: host 2 leaves the lockspace; host 1 removes the oxlvm-made VG (the LVM2-made
    // one keeps the global lock until the VM goes). On host 2 the oxlvm-stopped VG (vglv)
    // stops first, while vgox is still started there: --lockstop VG leaves that VG's
    // lockspace only.
    if me == 2 {
        let sync = PathBuf::from(std::env::var("OXLVM_VM_SYNC").unwrap_or_default());
        if !lvm2_made {
            wait_marker(&sync.join("vm_shared_vg_made_by_lvm2"), "stopped", name);
        }
        let out = steps.tool(&["vgchange", "--lockstop", vg]);
        if !out.status.success() {
            let dm = Command::new("dmsetup").args(["ls"]).output();
            panic!(
                "{name}: vgchange --lockstop {vg} failed: {}\nlvmlockctl -i:\n{}\ndmsetup ls: {:?}",
                String::from_utf8_lossy(&out.stderr),
                steps.lockd_info(vg).unwrap_or_default(),
                dm.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            );
        }
        steps.lockd_until(vg, "the lockspace should be gone", |i| i.is_none());
        if lvm2_made {
            steps.lockd_until("vgox", "vgox's lockspace should stay", |i| i.is_some());
        }
        steps.mark("stopped");
    } else {
        steps.wait("stopped");
        if !lvm2_made {
            let second = PathBuf::from(std::env::var("OXLVM_VM_SYNC").unwrap_or_default())
                .join("vm_shared_vg_made_by_lvm2");
            wait_marker(&second, "created", name);
            // The other host has left the lockspace, but sanlock here sees its host lease as
            // live until its next renewal read; both tools then say "not stopped on other
            // hosts" (LVM2's lockd_free_vg_before). Try again for a while, as a user would.
            let until = Instant::now() + Duration::from_secs(30);
            loop {
                let out = steps.tool(&["vgremove", "-y", vg]);
                let err = String::from_utf8_lossy(&out.stderr).into_owned();
                if out.status.success() {
                    break;
                }
                assert!(
                    err.contains("not stopped on other hosts") && Instant::now() < until,
                    "{name}: vgremove -y {vg} failed ({:?}): {err}",
                    out.status.code()
                );
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    steps.log("done");
}

/// Both scenarios at once, one thread each (the guest has one vCPU, so libtest would run two
/// tests one after the other, and each scenario waits on the other once): on vgox host 1
/// runs oxlvm and host 2 LVM2, on vglv the reverse.
#[test]
fn vm_shared_vgs_across_two_hosts_oxlvm_and_lvm2() {
    require_vm();
    std::thread::scope(|s| {
        let a = s.spawn(|| {
            scenario(
                "vm_shared_vg_made_by_oxlvm",
                "vgox",
                "/dev/vda",
                Tool::Oxlvm,
                Tool::Lvm2,
                false,
            )
        });
        let b = s.spawn(|| {
            scenario(
                "vm_shared_vg_made_by_lvm2",
                "vglv",
                "/dev/vdb",
                Tool::Lvm2,
                Tool::Oxlvm,
                true,
            )
        });
        let (ra, rb) = (a.join(), b.join());
        assert!(ra.is_ok() && rb.is_ok(), "a scenario failed (see above)");
    });
}

/// Host failure, one VG: host 2 (`holder`) activates lv1 exclusively, then dies (its sanlock
/// daemon is killed with the lease held: no more renewals, and with `-w 0` no watchdog reset).
/// Host 1 (`survivor`) is refused at once and keeps being refused until sanlock declares host
/// 2 dead - 8 x io_timeout + 60 s (76 s) after its last renewal - then activates lv1. `created` of the
/// first scenario orders the VG creation as in the main test (the first VG holds the global
/// lock).
fn host_failure(name: &'static str, vg: &str, disk: &str, survivor: Tool, holder: Tool) {
    require_vm();
    let me = host();
    let steps = Steps::new(name, if me == 1 { survivor } else { holder });
    let _flag = FailFlag(steps.dir.clone());
    let sync = PathBuf::from(std::env::var("OXLVM_VM_SYNC").unwrap_or_default());
    let lv = format!("{vg}/lv1");
    if me == 1 {
        if survivor == Tool::Lvm2 {
            wait_marker(
                &sync.join("vm_shared_failure_oxlvm_survives"),
                "created",
                name,
            );
        }
        steps.ok(&["vgcreate", "--shared", vg, disk]);
        steps.ok(&["lvcreate", "-an", "-L", "4M", "-n", "lv1", vg]);
        steps.mark("created");
        steps.wait("held");
        steps.refused(&["lvchange", "-aey", &lv], "LV locked by other host");
        steps.mark("refused");
        // Both scenarios' holders die together: host 2's sanlock goes once.
        wait_marker(&sync, "host2_dead", name);
        let killed = Instant::now();
        let mut refusals = 0;
        loop {
            let out = steps.tool(&["lvchange", "-aey", &lv]);
            if out.status.success() {
                break;
            }
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                out.status.code() == Some(5) && err.contains("LV locked by other host"),
                "{name}: while host 2's lease is live: {out:?}"
            );
            refusals += 1;
            assert!(
                killed.elapsed() < Duration::from_secs(240),
                "{name}: host 2's lease never expired"
            );
            std::thread::sleep(Duration::from_secs(5));
        }
        let after = killed.elapsed();
        steps.log(&format!(
            "lv1 taken over {:.1} s after host 2 died ({refusals} refusals)",
            after.as_secs_f64()
        ));
        // Never before the lease can have expired: 8 x io_timeout (2 s) + 60 s after host
        // 2's last renewal, which came at most a renewal period (2 x io_timeout) or two
        // before it died; 60 s leaves room for a late marker.
        assert!(
            refusals > 0 && after >= Duration::from_secs(60),
            "{name}: lv1 taken {after:?} after host 2 died: its lease was still live"
        );
        steps.ok(&["lvchange", "-an", &lv]);
    } else {
        steps.wait("created");
        steps.lockstart(vg);
        steps.ok(&["lvchange", "-aey", &lv]);
        steps.mark("held");
        steps.wait("refused");
    }
    steps.log("done");
}

/// Host failure for both tools at once (about 3 minutes under emulation: the lease takes 76 s
/// to expire, so this is left out of the CI run). Run it alone:
/// `scripts/vm-test --test vm_shared -- --ignored --nocapture`.
#[test]
#[ignore = "host failure takes ~76 s of lease expiry; run with -- --ignored (see docs/VM.md)"]
fn vm_shared_host_failure_lease_expires_then_the_other_host_takes_over() {
    require_vm();
    std::thread::scope(|s| {
        let a = s.spawn(|| {
            host_failure(
                "vm_shared_failure_oxlvm_survives",
                "vgfox",
                "/dev/vda",
                Tool::Oxlvm,
                Tool::Lvm2,
            )
        });
        let b = s.spawn(|| {
            host_failure(
                "vm_shared_failure_lvm2_survives",
                "vgflv",
                "/dev/vdb",
                Tool::Lvm2,
                Tool::Oxlvm,
            )
        });
        if host() == 2 {
            // Once both holders hold and host 1 was refused on both: host 2 dies.
            let sync = PathBuf::from(std::env::var("OXLVM_VM_SYNC").unwrap_or_default());
            for n in [
                "vm_shared_failure_oxlvm_survives",
                "vm_shared_failure_lvm2_survives",
            ] {
                wait_marker(&sync.join(n), "refused", n);
            }
            let pid = fs::read_to_string("/run/sanlock/sanlock.pid")
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
                .expect("sanlock's pid in /run/sanlock/sanlock.pid");
            // SAFETY: kill(2) with a pid read from sanlock's own pid file and SIGKILL.
            let r = unsafe { libc::kill(pid, libc::SIGKILL) };
            assert_eq!(r, 0, "kill sanlock ({pid})");
            fs::write(sync.join("host2_dead"), b"").expect("write a marker");
        }
        let (ra, rb) = (a.join(), b.join());
        assert!(ra.is_ok() && rb.is_ok(), "a scenario failed (see above)");
    });
}
