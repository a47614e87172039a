//! Host tier, crash consistency of the commands that write two VGs: vgsplit (destination
//! EXPORTED, source, destination again) and vgmerge. Each is stopped at its k-th device write
//! (whole or torn), for every k. Afterwards neither oxlvm nor LVM2 may meet a damaged text, and
//! no LV may be lost: every LV is still in some VG that LVM2 lists.

mod common;
use common::*;
use metadata_format::text::parse_metadata;
use std::collections::BTreeSet;
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

/// (VG, LV) pairs of every VG LVM2 reads, exported ones included (its vgcfgbackup reads those,
/// its lvs does not); panics if LVM2 meets a damaged text.
fn lvm2_lvs(sb: &Sandbox) -> BTreeSet<(String, String)> {
    let dir = sb.dir.join("lvm2-view");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create view dir");
    let template = dir.join("%s.vg");
    let out = sb.lvm(&["vgcfgbackup", "-f", template.to_str().expect("UTF-8 path")]);
    let err = stderr(&out);
    assert!(
        !err.to_lowercase().contains("checksum") && !err.contains("parse error"),
        "LVM2 reads damaged metadata: {err}"
    );
    let mut pairs = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("read view dir").flatten() {
        let text = std::fs::read(entry.path()).expect("read backup");
        let vg = parse_metadata(&text).expect("LVM2's backup parses").vg;
        for lv in &vg.lvs {
            pairs.insert((vg.name.clone(), lv.name.clone()));
        }
    }
    pairs
}

fn lv_names(pairs: &BTreeSet<(String, String)>) -> BTreeSet<String> {
    pairs.iter().map(|(_, lv)| lv.clone()).collect()
}

/// oxlvm reads every VG without a damaged copy being the chosen one.
fn oxlvm_reads(sb: &Sandbox) {
    let out = sb.oxlvm(&["vgck"]);
    let err = stderr(&out);
    assert!(!err.contains("Cannot parse"), "oxlvm: {err}");
}

fn setup(test: &str) -> (Sandbox, Vec<LoopDev>) {
    let sb = Sandbox::new(test);
    let devs: Vec<LoopDev> = (0..3)
        .map(|i| LoopDev::new(&sb.dir, &format!("d{i}"), 16 << 20))
        .collect();
    sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    ok(sb.oxlvm(&["vgcreate", "vg1", paths[0], paths[1], paths[2]]));
    for (name, dev) in [("lv1", paths[0]), ("lv2", paths[1]), ("lv3", paths[2])] {
        let out = sb.lvm(&["lvcreate", "-an", "-Zn", "-L", "4m", "-n", name, "vg1", dev]);
        assert!(out.status.success(), "{out:?}");
    }
    (sb, devs)
}

type Prepare<'a> = &'a dyn Fn(&Sandbox, &[LoopDev]);

fn crash_at_every_write(test: &str, prepare: Prepare, command: &dyn Fn(&[LoopDev]) -> Vec<String>) {
    let mut k = 1;
    loop {
        let mut finished = false;
        for tear in [false, true] {
            let (sb, devs) = setup(&format!("{test}-{k}-{tear}"));
            prepare(&sb, &devs);
            let before = lv_names(&lvm2_lvs(&sb));
            let args = command(&devs);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = oxlvm_crashing(&sb, &args, k, tear);
            match out.status.code() {
                Some(CRASH_EXIT) => {}
                Some(0) => finished = true,
                other => panic!("{args:?} at write {k}: exit {other:?}: {out:?}"),
            }
            oxlvm_reads(&sb);
            let after = lvm2_lvs(&sb);
            assert_eq!(
                lv_names(&after),
                before,
                "{args:?} stopped at write {k} (torn: {tear}) lost an LV: {after:?}"
            );
        }
        if finished {
            assert!(k > 3, "{test}: only {k} writes");
            return;
        }
        k += 1;
    }
}

#[test]
fn vgsplit_loses_no_lv_at_any_write() {
    crash_at_every_write("crash-vgsplit", &|_, _| {}, &|devs| {
        vec![
            "vgsplit".into(),
            "vg1".into(),
            "vg2".into(),
            devs[2].path_str().into(),
        ]
    });
}

#[test]
fn vgmerge_loses_no_lv_at_any_write() {
    crash_at_every_write(
        "crash-vgmerge",
        &|sb, devs| {
            ok(sb.oxlvm(&["vgsplit", "vg1", "vg2", devs[2].path_str()]));
        },
        &|_| vec!["vgmerge".into(), "vg1".into(), "vg2".into()],
    );
}
