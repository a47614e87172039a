//! Memory (issue 8): reading a VG costs memory in proportion to its metadata text, not to the
//! number of PVs holding a copy of it. A VG over 64 PVs, each with a copy of the text of a few
//! thousand LVs: the peak RSS of reports and writes is measured with all 64 copies, then with
//! 63 of the areas ignored (`pvchange --metadataignore y`, one copy left); the 63 extra copies
//! may cost at most twice the size of one text - room for the reader threads' buffers and the
//! write's 64 flush threads (before the scan shared its texts they cost 63 texts). The
//! growth over the same commands on the VG with no LV is printed beside it. The 4x-the-text
//! target itself, at 30,000 LVs with the release build, is measured by the benchmark
//! (docs/PERFORMANCE.md): at this size the debug build's fixed buffers weigh too much.
mod common;
#[path = "common/vg_gen.rs"]
mod vg_gen;

use common::{LoopDev, Sandbox};
use metadata_format::text::{emit_backup, emit_ondisk, parse_metadata};
use std::process::{Command, Stdio};

/// LVs in the VG: a ~1 MB text, 64 copies of it.
const LVS: u32 = 3000;

/// Runs oxlvm and returns its peak RSS in bytes (wait4's rusage: this child only).
#[allow(clippy::zombie_processes)] // the child is reaped by wait4 below, not by Child::wait
fn peak_rss(sb: &Sandbox, args: &[&str]) -> u64 {
    let child = Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(args)
        .env("LVM_SYSTEM_DIR", sb.system_dir())
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run oxlvm");
    let mut status = 0;
    // SAFETY: wait4 writes only into the two locals passed; the pid is our own child, which
    // nothing else waits for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(r, child.id() as libc::pid_t, "wait4 for oxlvm {args:?}");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "oxlvm {args:?} failed: status {status}"
    );
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn memory_grows_with_the_text_not_with_its_copies() {
    let sb = Sandbox::new("memory");
    let mut devs = vec![LoopDev::new(&sb.dir, "pv0.img", 4 << 30)];
    for i in 1..64 {
        devs.push(LoopDev::new(&sb.dir, &format!("pv{i}.img"), 16 << 20));
    }
    let refs: Vec<&LoopDev> = devs.iter().collect();
    sb.write_lvm_conf(&refs);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut args = vec!["pvcreate", "-q", "--metadatasize", "4m"];
    args.extend(&paths);
    common::ok(sb.oxlvm(&args));
    let mut args = vec!["vgcreate", "-q", "-s", "1m", "vgmem"];
    args.extend(&paths);
    common::ok(sb.oxlvm(&args));
    let empty = sb.dir.join("empty.vg");
    let empty_s = empty.to_str().expect("UTF-8 path");
    common::ok(sb.oxlvm(&["vgcfgbackup", "-q", "-f", empty_s, "vgmem"]));

    let commands: [&[&str]; 5] = [
        &["pvs"],
        &["vgs"],
        &["lvs"],
        &["lvcreate", "-q", "-n", "extra", "-l", "1", "vgmem"],
        &["lvremove", "-q", "-f", "vgmem/extra"],
    ];
    let base: Vec<u64> = commands.iter().map(|c| peak_rss(&sb, c)).collect();

    let mut m =
        parse_metadata(&std::fs::read(&empty).expect("read the backup")).expect("parse the backup");
    vg_gen::fill(&mut m, LVS).expect("room for the LVs");
    let text = emit_ondisk(&m).len() as u64;
    let full = sb.dir.join("full.vg");
    std::fs::write(&full, emit_backup(&m)).expect("write the VG");
    common::ok(sb.oxlvm(&[
        "vgcfgrestore",
        "-q",
        "-f",
        full.to_str().expect("UTF-8 path"),
        "vgmem",
    ]));
    let vgs = common::ok(sb.oxlvm(&["vgs", "--noheadings", "-o", "pv_count,lv_count", "vgmem"]));
    assert_eq!(
        vgs.split_whitespace().collect::<Vec<_>>(),
        ["64", &LVS.to_string()],
        "{vgs}"
    );

    let all: Vec<u64> = commands.iter().map(|c| peak_rss(&sb, c)).collect();
    let mut args = vec!["pvchange", "-q", "--metadataignore", "y"];
    args.extend(&paths[1..]);
    common::ok(sb.oxlvm(&args));
    let one: Vec<u64> = commands.iter().map(|c| peak_rss(&sb, c)).collect();
    for (i, c) in commands.iter().enumerate() {
        let c = c.join(" ");
        eprintln!(
            "oxlvm {c}: peak RSS {} KiB with {LVS} LVs and 64 copies of the {text}-byte text, {} KiB with one copy ({:+.2}x the text), {} KiB with no LV ({:+.2}x the text)",
            all[i] / 1024,
            one[i] / 1024,
            (all[i] as f64 - one[i] as f64) / text as f64,
            base[i] / 1024,
            (all[i] as f64 - base[i] as f64) / text as f64,
        );
        assert!(
            all[i] <= one[i] + 2 * text,
            "oxlvm {c}: 63 more copies of a {text}-byte text cost {} bytes of RSS",
            all[i] - one[i]
        );
    }
}
