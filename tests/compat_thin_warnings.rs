//! Compat tier: the thin over-provisioning warning. The guest fixture's vgdemo (a 128 MiB pool
//! holding two 256 MiB thin LVs) is restored twice, once for each tool; the same lvcreate steps
//! run on each (linear LVs: LVM2 cannot make thin LVs without device-mapper, and every lvcreate
//! checks all pools). The warning lines must be LVM2's, step by step: over the pools' size when
//! pools are not set to grow, nothing when they are and the VG has room, over the VG's free space
//! as it shrinks, and "no free space" at the end.

mod common;
use common::*;

const NO_GROW: &str = "activation/thin_pool_autoextend_threshold=100";
const GROW: &str =
    "activation/thin_pool_autoextend_threshold=80 activation/thin_pool_autoextend_percent=20";

/// The thin warning lines of one command, stderr then stdout.
fn thin_lines(out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{out:?}");
    let mut lines = Vec::new();
    for stream in [&out.stderr, &out.stdout] {
        for l in String::from_utf8_lossy(stream).lines() {
            if l.contains("thin pool") || l.contains("thin_pool_autoextend") {
                lines.push(l.trim().to_string());
            }
        }
    }
    lines
}

/// Runs the steps with one tool; returns each step's warning lines.
fn steps(tool: &str) -> Vec<Vec<String>> {
    let (sb, devs) = sandbox_with(&format!("thin-warn-{tool}"), &[1024, 1024, 1024]);
    restore_guest(&sb, &devs);
    let run = |args: &[&str]| {
        if tool == "lvm" {
            sb.lvm(args)
        } else {
            sb.oxlvm(args)
        }
    };
    let free = || -> u64 {
        let out = ok(run(&[
            "vgs",
            "--noheadings",
            "-o",
            "vg_free_count",
            "vgdemo",
        ]));
        out.trim().parse().expect("vg_free_count")
    };
    let mut seen = Vec::new();
    let mut step = |config: &str, extents: String, name: &str| {
        seen.push(thin_lines(&run(&[
            "lvcreate", "--config", config, "-an", "-Zn", "-l", &extents, "-n", name, "vgdemo",
        ])));
    };
    // 512 MiB of thin LVs over a 128 MiB pool, pools not growing: over the pool.
    step(NO_GROW, "1".into(), "a");
    // Pools growing, far more free space than thin LVs: nothing to say.
    step(GROW, "1".into(), "b");
    // Free space below the thin LVs' 128 extents: over the VG's free space.
    let leave = 40;
    step(GROW, (free() - leave).to_string(), "c");
    // The last extents: no free space.
    step(GROW, leave.to_string(), "d");
    assert_eq!(free(), 0);
    seen
}

#[test]
fn lvcreate_warns_of_thin_over_provisioning_as_lvm2() {
    let lvm2 = steps("lvm");
    // The scenario means something: LVM2 warned where the steps say it must.
    assert!(
        lvm2[0].iter().any(|l| l.contains("Sum of all thin")),
        "{lvm2:?}"
    );
    assert!(lvm2[1].is_empty(), "{lvm2:?}");
    assert!(lvm2[2].iter().any(|l| l.contains("free space")), "{lvm2:?}");
    assert!(
        lvm2[3].iter().any(|l| l.contains("no free space")),
        "{lvm2:?}"
    );
    let ours = steps("oxlvm");
    for (i, (a, b)) in lvm2.iter().zip(&ours).enumerate() {
        assert_eq!(b, a, "step {i}: oxlvm's lines, then LVM2's");
    }
}
