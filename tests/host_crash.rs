//! Host tier, crash consistency: every metadata-writing command is stopped at its k-th device
//! write, for every k, whole and - where the write spans more than one sector - torn in half.
//! After each stop:
//! - real LVM2 and oxlvm list the same PVs and VGs, without an error or a damaged text;
//! - every VG (by UUID) is as it was before the command or as the command leaves it: same name
//!   and seqno, or absent when that is what the command does - never lost, never a third state;
//! - every committed slot on every device points at a text whose checksum verifies;
//! - one more write (oxlvm's `vgck --updatemetadata`, LVM2's for torn runs) leaves LVM2's and
//!   oxlvm's vgck clean.
//!
//! Each scenario is built once; its devices are saved and restored between runs, so a run costs
//! the stopped command and the checks. vgsplit/vgmerge have their own file
//! (`host_crash_vg_split.rs`), pvmove steps theirs.

mod common;
use common::*;
use metadata_format::header::{find_pv_label, MdaHeader};
use metadata_format::text::parse_metadata;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CRASH_EXIT: i32 = 99;

/// A VG as a reader sees it: name and seqno, keyed by VG UUID.
type VgStates = BTreeMap<String, (String, u32)>;

/// What one tool lists: every PV (UUID -> device, VG UUID or "" for orphans) and every VG,
/// with the tool's warnings.
#[derive(Debug, Clone)]
struct View {
    pvs: BTreeMap<String, (String, String)>,
    vgs: VgStates,
    warnings: String,
}

impl PartialEq for View {
    fn eq(&self, other: &View) -> bool {
        self.pvs == other.pvs && self.vgs == other.vgs
    }
}

struct Rig {
    name: String,
    sb: Sandbox,
    devs: Vec<LoopDev>,
    saved: Vec<Vec<u8>>,
}

impl Rig {
    fn new(name: &str, sizes_mib: &[u64]) -> Rig {
        let sb = Sandbox::new(&format!("crash-{name}"));
        let devs: Vec<LoopDev> = sizes_mib
            .iter()
            .enumerate()
            .map(|(i, m)| LoopDev::new(&sb.dir, &format!("d{i}"), m << 20))
            .collect();
        sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
        Rig {
            name: name.to_string(),
            sb,
            devs,
            saved: Vec::new(),
        }
    }

    /// `{N}` becomes device N's path, `{dir}` the sandbox directory.
    fn expand(&self, args: &[&str]) -> Vec<String> {
        args.iter()
            .map(|a| {
                let mut s = a.replace("{dir}", &self.sb.dir.display().to_string());
                for (i, d) in self.devs.iter().enumerate() {
                    s = s.replace(&format!("{{{i}}}"), d.path_str());
                }
                s
            })
            .collect()
    }

    /// Runs a setup step: `lvm ...` through LVM2, anything else through oxlvm.
    fn step(&self, args: &[&str]) {
        let args = self.expand(args);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = if argv[0] == "lvm" {
            self.sb.lvm(&argv[1..])
        } else {
            self.sb.oxlvm(&argv)
        };
        assert!(
            out.status.success(),
            "{}: setup step {argv:?} failed: {}",
            self.name,
            stderr(&out)
        );
    }

    fn save(&mut self) {
        self.saved = self.devs.iter().map(read_all).collect();
    }

    /// Puts every device back as saved, writing only the 64 KiB blocks that differ.
    fn restore(&self) {
        const BLOCK: usize = 64 << 10;
        for (dev, saved) in self.devs.iter().zip(&self.saved) {
            let now = read_all(dev);
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&dev.path)
                .expect("open loop device for writing");
            for (i, (a, b)) in saved.chunks(BLOCK).zip(now.chunks(BLOCK)).enumerate() {
                if a != b {
                    f.write_all_at(a, (i * BLOCK) as u64)
                        .expect("restore device block");
                }
            }
            f.sync_all().expect("sync restored device");
        }
    }

    /// Runs the command with fault injection: stop at write `k` (0: never), log every write.
    fn run_crashing(&self, args: &[String], k: u64, tear: bool, log: Option<&Path>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxlvm"));
        cmd.args(args)
            .env("LVM_SYSTEM_DIR", self.sb.system_dir())
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .env("OXLVM_TEST_CRASH_AT_WRITE", k.to_string())
            .env("OXLVM_TEST_CRASH_TEAR", if tear { "1" } else { "0" });
        if let Some(log) = log {
            cmd.env("OXLVM_TEST_WRITE_LOG", log);
        }
        cmd.output().expect("run oxlvm")
    }

    fn lvm2_view(&self, when: &str) -> View {
        let out = self.sb.lvm(&[
            "pvs",
            "--noheadings",
            "--separator",
            ",",
            "-o",
            "pv_uuid,pv_name,vg_uuid,vg_name,vg_seqno",
        ]);
        let err = stderr(&out);
        assert_no_damage(&format!("{} {when}: LVM2 pvs", self.name), &err);
        assert!(
            out.status.success(),
            "{} {when}: LVM2 pvs failed: {err}",
            self.name
        );
        parse_view(&stdout(&out), err)
    }

    fn oxlvm_view(&self, when: &str) -> View {
        let out = self.sb.oxlvm(&[
            "pvs",
            "--noheadings",
            "--separator",
            ",",
            "-o",
            "pv_uuid,pv_name,vg_uuid,vg_name,vg_seqno",
        ]);
        let err = stderr(&out);
        assert_no_damage(&format!("{} {when}: oxlvm pvs", self.name), &err);
        assert!(
            out.status.success(),
            "{} {when}: oxlvm pvs failed: {err}",
            self.name
        );
        parse_view(&stdout(&out), err)
    }

    /// Every committed copy on every device, as (VG UUID, VG name, seqno); panics on a committed slot
    /// that points at a damaged text or an unreadable header behind a valid label.
    fn committed_copies(&self, when: &str) -> BTreeSet<(String, String, u32)> {
        let mut out = BTreeSet::new();
        for dev in &self.devs {
            let img = read_all(dev);
            let Ok(label) = find_pv_label(&img[..4096]) else {
                continue;
            };
            for area in &label.pv_header.metadata_areas {
                let (start, size) = (area.offset as usize, area.size as usize);
                let bytes = &img[start..start + size];
                let header = MdaHeader::parse(bytes).unwrap_or_else(|e| {
                    panic!(
                        "{} {when}: {} has a label but its metadata area at {start} is damaged: {e}",
                        self.name,
                        dev.path_str()
                    )
                });
                let text = header.committed_text(bytes).unwrap_or_else(|e| {
                    panic!(
                        "{} {when}: {} area {start}: the committed slot points at a bad text: {e}",
                        self.name,
                        dev.path_str()
                    )
                });
                if let Some(text) = text {
                    let md = parse_metadata(text.text()).unwrap_or_else(|e| {
                        panic!(
                            "{} {when}: {} area {start}: committed text does not parse: {e}",
                            self.name,
                            dev.path_str()
                        )
                    });
                    out.insert((md.vg.id.to_string(), md.vg.name.clone(), md.vg.seqno));
                }
            }
        }
        out
    }
}

fn read_all(dev: &LoopDev) -> Vec<u8> {
    std::fs::read(&dev.path).expect("read loop device")
}

fn assert_no_damage(what: &str, err: &str) {
    let lower = err.to_lowercase();
    for bad in [
        "checksum",
        "parse error",
        "internal error",
        "failed to read",
        "cannot parse",
    ] {
        assert!(!lower.contains(bad), "{what} meets damage ({bad}): {err}");
    }
}

fn parse_view(out: &str, warnings: String) -> View {
    let mut view = View {
        pvs: BTreeMap::new(),
        vgs: BTreeMap::new(),
        warnings,
    };
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.trim().split(',').collect();
        assert_eq!(f.len(), 5, "bad pvs line {line:?}");
        view.pvs
            .insert(f[0].to_string(), (f[1].to_string(), f[2].to_string()));
        if !f[2].is_empty() {
            let seqno = f[4].parse().unwrap_or_else(|_| panic!("seqno in {line:?}"));
            view.vgs.insert(f[2].to_string(), (f[3].to_string(), seqno));
        }
    }
    view
}

/// oxlvm and LVM2 agree on the VGs and on every PV both list. LVM2 hides a PV that holds an
/// older copy of a VG that no longer lists it ("outdated PV", until vgck --updatemetadata
/// clears it); oxlvm lists it as the orphan it is about to become.
fn assert_same_view(what: &str, ox: &View, lvm2: &View) {
    assert_eq!(
        ox.vgs, lvm2.vgs,
        "{what}: oxlvm and LVM2 list different VGs"
    );
    let keys: BTreeSet<&String> = ox.pvs.keys().chain(lvm2.pvs.keys()).collect();
    for pv in keys {
        match (ox.pvs.get(pv), lvm2.pvs.get(pv)) {
            (Some(a), Some(b)) => assert_eq!(a, b, "{what}: PV {pv} differs"),
            (Some((dev, vg)), None)
                if vg.is_empty() && lvm2.warnings.contains(&format!("outdated PV {dev} ")) => {}
            (a, b) => panic!(
                "{what}: PV {pv} is {a:?} for oxlvm, {b:?} for LVM2\nLVM2: {}\noxlvm: {}",
                lvm2.warnings, ox.warnings
            ),
        }
    }
}

/// A VG the command creates gets a fresh UUID on every run: such VGs are keyed `new NAME`.
fn new_vgs_by_name(view: View, before: &View) -> View {
    let vgs = view
        .vgs
        .into_iter()
        .map(|(uuid, (name, seqno))| {
            if before.vgs.contains_key(&uuid) {
                (uuid, (name, seqno))
            } else {
                (format!("new {name}"), (name, seqno))
            }
        })
        .collect();
    View { vgs, ..view }
}

struct Scenario {
    name: &'static str,
    sizes_mib: &'static [u64],
    /// Steps that build the state before the command (`lvm ...` runs LVM2).
    setup: &'static [&'static [&'static str]],
    /// The command stopped at each write; `{N}` is device N, `{dir}` the sandbox.
    command: &'static [&'static str],
    /// The command changes a PV UUID (see `recover_label_window`).
    label_window: bool,
}

/// One write the command made: whether a tear can split it (more than one sector).
struct WriteLog {
    tearable: Vec<bool>,
}

fn read_write_log(path: &Path) -> WriteLog {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    WriteLog {
        tearable: text
            .lines()
            .map(|l| {
                let len: usize = l
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                len > 512
            })
            .collect(),
    }
}

/// Runs one scenario: a reference run for the state after and the write count, then a stop at
/// every write. Returns the number of stopped runs checked.
fn run_scenario(sc: &Scenario) -> usize {
    let mut rig = Rig::new(sc.name, sc.sizes_mib);
    for step in sc.setup {
        rig.step(step);
    }
    rig.save();
    let before = rig.lvm2_view("before");
    assert_eq!(
        rig.oxlvm_view("before"),
        before,
        "{}: views differ",
        sc.name
    );

    let args = rig.expand(sc.command);
    let log: PathBuf = rig.sb.dir.join("writes.log");
    let out = rig.run_crashing(&args, 0, false, Some(&log));
    assert!(
        out.status.success(),
        "{}: reference run of {args:?} failed: {}",
        sc.name,
        stderr(&out)
    );
    let writes = read_write_log(&log);
    assert!(
        !writes.tearable.is_empty(),
        "{}: the command wrote nothing",
        sc.name
    );
    let after = new_vgs_by_name(rig.lvm2_view("after"), &before);
    assert_same_view(
        &format!("{} after", sc.name),
        &new_vgs_by_name(rig.oxlvm_view("after"), &before),
        &after,
    );
    assert_ne!(before, after, "{}: the command changed nothing", sc.name);

    let mut runs = 0;
    let mut label_windows = 0;
    for (i, &tearable) in writes.tearable.iter().enumerate() {
        let k = i as u64 + 1;
        for tear in [false, true] {
            if tear && !tearable {
                continue;
            }
            rig.restore();
            let when = format!("stopped at write {k}{}", if tear { " (torn)" } else { "" });
            let out = rig.run_crashing(&args, k, tear, None);
            assert_eq!(
                out.status.code(),
                Some(CRASH_EXIT),
                "{} {when}: {args:?} did not stop there: {}",
                sc.name,
                stderr(&out)
            );
            if sc.label_window
                && rig
                    .lvm2_view(&when)
                    .warnings
                    .contains("Couldn't find device with uuid")
            {
                label_windows += 1;
            }
            check_stopped(&rig, sc, &before, &after, &when, tear);
            runs += 1;
        }
    }
    // A PV's UUID is in its label and in every text: one write cannot change both, so one
    // stop (label written, no commit yet) leaves the VG missing that PV. Exactly one.
    if sc.label_window {
        assert_eq!(label_windows, 1, "{}: label windows", sc.name);
    }
    runs
}

/// The one stop where a new PV UUID is in the label and no text has it yet: the VG is at its old
/// seqno with that PV missing. LVM2's documented recovery brings it back whole: the old UUID
/// put back from the backup (pvcreate --uuid --restorefile), then vgcfgrestore.
fn recover_label_window(rig: &Rig, before: &View, ox: &View, when: &str) {
    let name = &rig.name;
    assert_eq!(ox.vgs, before.vgs, "{name} {when}: VG not at its old seqno");
    let (missing, _) = before
        .pvs
        .iter()
        .find(|(uuid, _)| !ox.pvs.contains_key(*uuid) || ox.pvs[*uuid].0.contains("unknown"))
        .unwrap_or_else(|| panic!("{name} {when}: no PV is missing: {ox:?}"));
    let (dev, _) = ox
        .pvs
        .iter()
        .find(|(uuid, _)| !before.pvs.contains_key(*uuid))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{name} {when}: no relabelled device: {ox:?}"));
    let (vg, _) = before.vgs.values().next().expect("a VG");
    let backup = rig.sb.system_dir().join("backup").join(vg);
    let backup = backup.to_str().expect("UTF-8 path");
    for args in [
        vec![
            "pvcreate",
            "-ff",
            "-y",
            "--uuid",
            missing,
            "--restorefile",
            backup,
            dev,
        ],
        vec!["vgcfgrestore", vg],
    ] {
        let out = rig.sb.oxlvm(&args);
        assert!(
            out.status.success(),
            "{name} {when}: recovery step {args:?}: {}",
            stderr(&out)
        );
    }
    let now = rig.lvm2_view(when);
    assert_eq!(now.pvs, before.pvs, "{name} {when}: PVs after recovery");
    lvm_clean(&rig.sb, &["vgck", vg]);
}

fn check_stopped(rig: &Rig, sc: &Scenario, before: &View, after: &View, when: &str, tear: bool) {
    let name = &rig.name;
    let seen = new_vgs_by_name(rig.lvm2_view(when), before);
    let ox = new_vgs_by_name(rig.oxlvm_view(when), before);
    if seen.warnings.contains("Couldn't find device with uuid") && sc.label_window {
        recover_label_window(rig, before, &ox, when);
        return;
    }
    assert_same_view(&format!("{name} {when}"), &ox, &seen);
    // Every VG that was, or will be, is in one of its two states.
    let uuids: BTreeSet<&String> = before
        .vgs
        .keys()
        .chain(after.vgs.keys())
        .chain(seen.vgs.keys())
        .collect();
    for uuid in uuids {
        let now = seen.vgs.get(uuid);
        assert!(
            now == before.vgs.get(uuid) || now == after.vgs.get(uuid),
            "{name} {when}: VG {uuid} is {now:?}; before {:?}, after {:?}",
            before.vgs.get(uuid),
            after.vgs.get(uuid)
        );
    }
    // No PV that existed before and after is lost (LVM2 hides outdated PVs: ask oxlvm).
    for pv in before.pvs.keys().filter(|p| after.pvs.contains_key(*p)) {
        assert!(
            ox.pvs.contains_key(pv),
            "{name} {when}: PV {pv} is gone: {seen:?}"
        );
    }
    // Committed copies on disk are the old or the new text of their VG.
    for (uuid, name, seqno) in rig.committed_copies(when) {
        let uuid = if before.vgs.contains_key(&uuid) {
            uuid
        } else {
            format!("new {name}")
        };
        let allowed = [before.vgs.get(&uuid), after.vgs.get(&uuid)];
        assert!(
            allowed.iter().flatten().any(|(_, s)| *s == seqno),
            "{name} {when}: a committed copy of VG {uuid} has seqno {seqno}; allowed {allowed:?}"
        );
    }
    // The next write repairs whatever is left, and both vgck are then clean.
    let names: BTreeSet<&String> = seen.vgs.values().map(|(n, _)| n).collect();
    for vg in names {
        let exported = {
            let out = rig
                .sb
                .lvm(&["vgs", "--noheadings", "-o", "vg_exported", vg]);
            stdout(&out).contains("exported")
        };
        if exported {
            continue;
        }
        let repair = if tear {
            rig.sb.lvm(&["vgck", "--updatemetadata", vg])
        } else {
            rig.sb.oxlvm(&["vgck", "--updatemetadata", vg])
        };
        assert!(
            repair.status.success(),
            "{name} {when}: repair of {vg} failed: {}",
            stderr(&repair)
        );
        let out = rig.sb.lvm(&["vgck", vg]);
        let complaints: Vec<String> = stderr(&out)
            .lines()
            .filter(|l| !l.contains("Activation disabled") && !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        assert!(
            out.status.success() && complaints.is_empty(),
            "{name} {when}: LVM2 vgck {vg} after the repair: {complaints:?}"
        );
        let out = rig.sb.oxlvm(&["vgck", vg]);
        assert!(
            out.status.success() && stderr(&out).trim().is_empty(),
            "{name} {when}: oxlvm vgck {vg} after the repair: {}",
            stderr(&out)
        );
    }
}

/// Builds a 2-PV VG `vg` with 1 MiB extents.
const VG2: &[&str] = &["vgcreate", "-s", "1m", "vg", "{0}", "{1}"];
/// ... and a linear LV `lv` of 2 MiB.
const LV: &[&str] = &["lvcreate", "-an", "-L", "2m", "-n", "lv", "vg"];
const POOL: &[&str] = &["lvcreate", "-an", "-T", "-L", "4m", "vg/pool"];
const THIN: &[&str] = &["lvcreate", "-an", "-V", "8m", "-T", "vg/pool", "-n", "thin"];

fn check(sc: Scenario) {
    let runs = run_scenario(&sc);
    eprintln!("{}: {runs} stopped runs checked", sc.name);
}

#[test]
fn crash_pvcreate() {
    check(Scenario {
        name: "pvcreate",
        sizes_mib: &[8],
        setup: &[],
        command: &["pvcreate", "{0}"],
        label_window: false,
    });
}

#[test]
fn crash_pvcreate_two_metadata_copies() {
    check(Scenario {
        name: "pvcreate-2mda",
        sizes_mib: &[8],
        setup: &[],
        command: &["pvcreate", "--metadatacopies", "2", "{0}"],
        label_window: false,
    });
}

#[test]
fn crash_pvremove() {
    check(Scenario {
        name: "pvremove",
        sizes_mib: &[8],
        setup: &[&["pvcreate", "{0}"]],
        command: &["pvremove", "{0}"],
        label_window: false,
    });
}

#[test]
fn crash_vgcreate() {
    check(Scenario {
        name: "vgcreate",
        sizes_mib: &[8, 8],
        setup: &[&["pvcreate", "{0}"]],
        command: &["vgcreate", "vgc", "{0}", "{1}"],
        label_window: false,
    });
}

#[test]
fn crash_vgremove() {
    check(Scenario {
        name: "vgremove",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["vgremove", "-f", "vg"],
        label_window: false,
    });
}

#[test]
fn crash_vgextend() {
    check(Scenario {
        name: "vgextend",
        sizes_mib: &[8, 8, 8],
        setup: &[VG2, LV],
        command: &["vgextend", "vg", "{2}"],
        label_window: false,
    });
}

#[test]
fn crash_vgreduce() {
    check(Scenario {
        name: "vgreduce",
        sizes_mib: &[8, 8, 8],
        setup: &[&["vgcreate", "-s", "1m", "vg", "{0}", "{1}", "{2}"], LV],
        command: &["vgreduce", "vg", "{2}"],
        label_window: false,
    });
}

#[test]
fn crash_vgrename() {
    check(Scenario {
        name: "vgrename",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["vgrename", "vg", "vgnew"],
        label_window: false,
    });
}

#[test]
fn crash_vgchange_addtag() {
    check(Scenario {
        name: "vgchange-addtag",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &["vgchange", "--addtag", "t1", "vg"],
        label_window: false,
    });
}

#[test]
fn crash_vgexport() {
    check(Scenario {
        name: "vgexport",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &["vgexport", "vg"],
        label_window: false,
    });
}

#[test]
fn crash_vgimport() {
    check(Scenario {
        name: "vgimport",
        sizes_mib: &[8, 8],
        setup: &[VG2, &["vgexport", "vg"]],
        command: &["vgimport", "vg"],
        label_window: false,
    });
}

#[test]
fn crash_vgcfgrestore() {
    check(Scenario {
        name: "vgcfgrestore",
        sizes_mib: &[8, 8],
        setup: &[VG2, &["vgcfgbackup", "-f", "{dir}/vg.conf", "vg"], LV],
        command: &["vgcfgrestore", "-f", "{dir}/vg.conf", "vg"],
        label_window: false,
    });
}

#[test]
fn crash_pvchange_addtag() {
    check(Scenario {
        name: "pvchange-addtag",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &["pvchange", "--addtag", "t1", "{1}"],
        label_window: false,
    });
}

#[test]
fn crash_pvchange_uuid() {
    check(Scenario {
        name: "pvchange-uuid",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &["pvchange", "-u", "{1}"],
        label_window: true,
    });
}

#[test]
fn crash_pvchange_metadataignore() {
    check(Scenario {
        name: "pvchange-metadataignore",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &["pvchange", "--metadataignore", "y", "{1}"],
        label_window: false,
    });
}

#[test]
fn crash_pvresize() {
    check(Scenario {
        name: "pvresize",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &["pvresize", "-y", "--setphysicalvolumesize", "6m", "{1}"],
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_linear() {
    check(Scenario {
        name: "lvcreate-linear",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: LV,
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_striped() {
    check(Scenario {
        name: "lvcreate-striped",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &["lvcreate", "-an", "-i", "2", "-L", "2m", "-n", "st", "vg"],
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_snapshot() {
    check(Scenario {
        name: "lvcreate-snapshot",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["lvcreate", "-an", "-s", "-L", "1m", "-n", "snap", "vg/lv"],
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_thin_pool() {
    check(Scenario {
        name: "lvcreate-thin-pool",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: POOL,
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_thin() {
    check(Scenario {
        name: "lvcreate-thin",
        sizes_mib: &[8, 8],
        setup: &[VG2, POOL],
        command: THIN,
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_thin_snapshot() {
    check(Scenario {
        name: "lvcreate-thin-snapshot",
        sizes_mib: &[8, 8],
        setup: &[VG2, POOL, THIN],
        command: &["lvcreate", "-an", "-s", "-n", "tsnap", "vg/thin"],
        label_window: false,
    });
}

#[test]
fn crash_lvextend() {
    check(Scenario {
        name: "lvextend",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["lvextend", "-L", "+2m", "vg/lv"],
        label_window: false,
    });
}

#[test]
fn crash_lvreduce() {
    check(Scenario {
        name: "lvreduce",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["lvreduce", "-y", "-L", "-1m", "vg/lv"],
        label_window: false,
    });
}

#[test]
fn crash_lvremove() {
    check(Scenario {
        name: "lvremove",
        sizes_mib: &[8, 8],
        setup: &[VG2, POOL, THIN, LV],
        command: &["lvremove", "-y", "vg/pool"],
        label_window: false,
    });
}

#[test]
fn crash_lvrename() {
    check(Scenario {
        name: "lvrename",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["lvrename", "vg", "lv", "lv2"],
        label_window: false,
    });
}

#[test]
fn crash_lvchange_addtag() {
    check(Scenario {
        name: "lvchange-addtag",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["lvchange", "--addtag", "t1", "vg/lv"],
        label_window: false,
    });
}

/// An LV that LVM2 made, changed by oxlvm: the crash states must still read in both tools.
#[test]
fn crash_lvextend_of_an_lvm2_lv() {
    check(Scenario {
        name: "lvextend-lvm2-lv",
        sizes_mib: &[8, 8],
        setup: &[
            &["lvm", "vgcreate", "-s", "1m", "vg", "{0}", "{1}"],
            &[
                "lvm", "lvcreate", "-an", "-Zn", "-L", "2m", "-n", "lv", "vg",
            ],
        ],
        command: &["lvextend", "-L", "+2m", "vg/lv"],
        label_window: false,
    });
}

/// A 3-PV VG `vg` with 1 MiB extents (room for a mirror's disk log or a third leg).
const VG3: &[&str] = &["vgcreate", "-s", "1m", "vg", "{0}", "{1}", "{2}"];
const R1: &[&str] = &[
    "lvcreate", "-an", "-y", "--type", "raid1", "-m1", "-L", "2m", "-n", "r1", "vg",
];
const MIRROR: &[&str] = &[
    "lvcreate", "-an", "-y", "--type", "mirror", "-m1", "-L", "2m", "-n", "mi", "vg",
];

#[test]
fn crash_lvcreate_raid1() {
    check(Scenario {
        name: "lvcreate-raid1",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: R1,
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_raid5() {
    check(Scenario {
        name: "lvcreate-raid5",
        sizes_mib: &[8, 8, 8],
        setup: &[VG3],
        command: &[
            "lvcreate", "-an", "-y", "--type", "raid5", "-i", "2", "-L", "2m", "-n", "r5", "vg",
        ],
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_raid10() {
    check(Scenario {
        name: "lvcreate-raid10",
        sizes_mib: &[8, 8, 8, 8],
        setup: &[&["vgcreate", "-s", "1m", "vg", "{0}", "{1}", "{2}", "{3}"]],
        command: &[
            "lvcreate", "-an", "-y", "--type", "raid10", "-m1", "-i", "2", "-L", "2m", "-n", "r10",
            "vg",
        ],
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_mirror_disk_log() {
    check(Scenario {
        name: "lvcreate-mirror",
        sizes_mib: &[8, 8, 8],
        setup: &[VG3],
        command: MIRROR,
        label_window: false,
    });
}

#[test]
fn crash_lvcreate_mirror_core_log() {
    check(Scenario {
        name: "lvcreate-mirror-core",
        sizes_mib: &[8, 8],
        setup: &[VG2],
        command: &[
            "lvcreate",
            "-an",
            "-y",
            "--type",
            "mirror",
            "--mirrorlog",
            "core",
            "-m1",
            "-L",
            "2m",
            "-n",
            "mc",
            "vg",
        ],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_raid1_add_leg() {
    check(Scenario {
        name: "lvconvert-raid1-add-leg",
        sizes_mib: &[8, 8, 8],
        setup: &[VG3, R1],
        command: &["lvconvert", "-y", "-m2", "vg/r1"],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_raid1_remove_legs() {
    check(Scenario {
        name: "lvconvert-raid1-to-linear",
        sizes_mib: &[8, 8],
        setup: &[VG2, R1],
        command: &["lvconvert", "-y", "-m0", "vg/r1"],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_linear_to_raid1() {
    check(Scenario {
        name: "lvconvert-linear-to-raid1",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV],
        command: &["lvconvert", "-y", "--type", "raid1", "-m1", "vg/lv"],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_linear_to_mirror() {
    check(Scenario {
        name: "lvconvert-linear-to-mirror",
        sizes_mib: &[8, 8, 8],
        setup: &[VG3, LV],
        command: &["lvconvert", "-y", "--type", "mirror", "-m1", "vg/lv"],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_mirror_remove_leg() {
    check(Scenario {
        name: "lvconvert-mirror-to-linear",
        sizes_mib: &[8, 8, 8],
        setup: &[VG3, MIRROR],
        command: &["lvconvert", "-y", "-m0", "vg/mi"],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_to_thin_pool() {
    check(Scenario {
        name: "lvconvert-thin-pool",
        sizes_mib: &[8, 8],
        setup: &[
            VG2,
            &["lvcreate", "-an", "-L", "4m", "-n", "data", "vg"],
            &["lvcreate", "-an", "-L", "2m", "-n", "meta", "vg"],
        ],
        command: &[
            "lvconvert",
            "-y",
            "--type",
            "thin-pool",
            "--poolmetadata",
            "vg/meta",
            "vg/data",
        ],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_splitsnapshot() {
    check(Scenario {
        name: "lvconvert-splitsnapshot",
        sizes_mib: &[8, 8],
        setup: &[
            VG2,
            LV,
            &["lvcreate", "-an", "-s", "-L", "1m", "-n", "snap", "vg/lv"],
        ],
        command: &["lvconvert", "--splitsnapshot", "vg/snap"],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_make_snapshot() {
    check(Scenario {
        name: "lvconvert-snapshot",
        sizes_mib: &[8, 8],
        setup: &[VG2, LV, &["lvcreate", "-an", "-L", "1m", "-n", "cow", "vg"]],
        command: &["lvconvert", "-y", "-Zn", "-s", "vg/lv", "vg/cow"],
        label_window: false,
    });
}

#[test]
fn crash_lvconvert_merge_thin_snapshot() {
    check(Scenario {
        name: "lvconvert-merge-thin",
        sizes_mib: &[8, 8],
        setup: &[
            VG2,
            POOL,
            THIN,
            &["lvcreate", "-an", "-s", "-n", "tsnap", "vg/thin"],
        ],
        command: &["lvconvert", "--merge", "vg/tsnap"],
        label_window: false,
    });
}
