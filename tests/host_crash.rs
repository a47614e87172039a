//! Host tier, crash consistency: each metadata-writing command is stopped at its k-th device
//! write (optionally tearing that write in half, sector-wise), for every k. Afterwards oxlvm and
//! real LVM2 must both read the VG at the old or the new seqno - never an error, never a lost VG
//! that was committed before - and one more write must leave LVM2's vgck clean.

mod common;
use common::*;
use std::process::{Command, Output};

const CRASH_EXIT: i32 = 99;

fn oxlvm_crashing(sb: &Sandbox, args: &[&str], k: u64, tear: bool) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(args)
        .env("LVM_SYSTEM_DIR", sb.system_dir())
        .env("OXLVM_TEST_CRASH_AT_WRITE", k.to_string())
        .env("OXLVM_TEST_CRASH_TEAR", if tear { "1" } else { "0" })
        .output()
        .expect("run oxlvm")
}

/// The seqno of `vg` as LVM2 reports it, None when LVM2 finds no such VG. Panics on any LVM2
/// error other than "not found", and on checksum complaints.
fn lvm2_seqno(sb: &Sandbox, vg: &str) -> Option<u32> {
    let out = sb.lvm(&["vgs", "--noheadings", "-o", "vg_seqno", vg]);
    let err = stderr(&out);
    assert!(
        !err.to_lowercase().contains("checksum") && !err.contains("parse error"),
        "LVM2 reads damaged metadata: {err}"
    );
    match out.status.code() {
        Some(0) => Some(stdout(&out).trim().parse().expect("a seqno")),
        Some(5) if err.contains("not found") => None,
        other => panic!("LVM2 vgs failed with {other:?}: {err}"),
    }
}

/// The seqno oxlvm reads from each device's committed copy (None: no committed text).
fn oxlvm_seqnos(sb: &Sandbox, devs: &[LoopDev]) -> Vec<Option<u32>> {
    devs.iter()
        .map(|d| {
            let out = sb.oxlvm(&["pvck", "--dump", "metadata", d.path_str()]);
            if !out.status.success() {
                return None;
            }
            stdout(&out)
                .lines()
                .find_map(|l| l.strip_prefix("seqno = "))
                .and_then(|s| s.parse().ok())
        })
        .collect()
}

struct Scenario {
    name: &'static str,
    sizes_mib: &'static [u64],
    /// Commands (oxlvm) that build the state before the crashing command.
    setup: &'static [&'static [&'static str]],
    /// The crashing command; `{N}` is replaced by device N's path.
    command: &'static [&'static str],
    vg: &'static str,
    old_seqno: Option<u32>,
    new_seqno: Option<u32>,
    /// Fewer writes than this means the crash points were not all visited.
    min_writes: u64,
}

fn expand(args: &[&str], devs: &[LoopDev]) -> Vec<String> {
    args.iter()
        .map(|a| {
            let mut s = a.to_string();
            for (i, d) in devs.iter().enumerate() {
                s = s.replace(&format!("{{{i}}}"), d.path_str());
            }
            s
        })
        .collect()
}

fn run_scenario(sc: &Scenario) {
    let mut completed = false;
    for tear in [false, true] {
        for k in 1..200u64 {
            let sb = Sandbox::new(&format!("crash-{}-{k}-{tear}", sc.name));
            let devs: Vec<LoopDev> = sc
                .sizes_mib
                .iter()
                .enumerate()
                .map(|(i, m)| LoopDev::new(&sb.dir, &format!("d{i}"), m << 20))
                .collect();
            sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
            for step in sc.setup {
                let args = expand(step, &devs);
                ok(sb.oxlvm(&args.iter().map(String::as_str).collect::<Vec<_>>()));
            }
            let args = expand(sc.command, &devs);
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = oxlvm_crashing(&sb, &argv, k, tear);
            if out.status.success() {
                completed = true;
                // Every phase of the protocol is a separate write on every PV.
                assert!(k > sc.min_writes, "{}: only {} writes", sc.name, k - 1);
                break;
            }
            assert_eq!(
                out.status.code(),
                Some(CRASH_EXIT),
                "{}: k={k}: {out:?}",
                sc.name
            );
            let allowed = [sc.old_seqno, sc.new_seqno];
            let seen = lvm2_seqno(&sb, sc.vg);
            assert!(
                allowed.contains(&seen),
                "{} k={k} tear={tear}: LVM2 sees seqno {seen:?}, allowed {allowed:?}",
                sc.name
            );
            for s in oxlvm_seqnos(&sb, &devs).into_iter().flatten() {
                assert!(
                    allowed.contains(&Some(s)),
                    "{} k={k} tear={tear}: a committed copy has seqno {s}",
                    sc.name
                );
            }
            // One more write by LVM2 repairs whatever is left, and vgck is then clean.
            if seen.is_some() {
                let out = sb.lvm(&["vgck", "--updatemetadata", sc.vg]);
                assert!(out.status.success(), "{out:?}");
                let out = sb.lvm(&["vgck", sc.vg]);
                let complaints: Vec<String> = stderr(&out)
                    .lines()
                    .filter(|l| !l.contains("Activation disabled") && !l.trim().is_empty())
                    .map(str::to_string)
                    .collect();
                assert!(
                    out.status.success() && complaints.is_empty(),
                    "{} k={k} tear={tear}: vgck after repair: {complaints:?}",
                    sc.name
                );
            }
        }
    }
    assert!(completed, "{}: the command never completed", sc.name);
}

#[test]
fn vgcreate_survives_a_crash_at_every_write() {
    run_scenario(&Scenario {
        name: "vgcreate",
        sizes_mib: &[8, 8],
        setup: &[&["pvcreate", "{0}"]],
        command: &["vgcreate", "vgc", "{0}", "{1}"],
        vg: "vgc",
        old_seqno: None,
        new_seqno: Some(1),
        // d1's PV init (4), text + precommit + commit on 2 PVs (6), 2 labels.
        min_writes: 12,
    });
}

#[test]
fn vgremove_survives_a_crash_at_every_write() {
    run_scenario(&Scenario {
        name: "vgremove",
        sizes_mib: &[8, 8],
        setup: &[&["vgcreate", "vgr", "{0}", "{1}"]],
        command: &["vgremove", "vgr"],
        vg: "vgr",
        old_seqno: Some(1),
        new_seqno: None,
        // 2 areas cleared, 2 labels.
        min_writes: 4,
    });
}
