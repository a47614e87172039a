//! Questions only on a terminal: without one, every command that would ask refuses with one
//! line naming `-y` and leaves the devices as they were; with `-y` it goes ahead; `-qq`
//! answers no, as LVM2's silent mode. (Test processes have no terminal on stdin.)

mod common;

use common::{stderr, stdout, LoopDev, Sandbox};

const MIB: u64 = 1 << 20;

fn vg_with_lv(test: &str) -> (Sandbox, LoopDev, LoopDev) {
    let sb = Sandbox::new(test);
    let a = LoopDev::new(&sb.dir, "a.img", 40 * MIB);
    let b = LoopDev::new(&sb.dir, "b.img", 40 * MIB);
    sb.write_lvm_conf(&[&a, &b]);
    for args in [
        vec!["pvcreate", a.path_str(), b.path_str()],
        vec!["vgcreate", "vg0", a.path_str()],
        vec!["lvcreate", "-an", "-Zn", "-L", "8m", "-n", "lv0", "vg0"],
    ] {
        let o = sb.oxlvm(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    (sb, a, b)
}

/// The command fails with exit 5, one line on stderr naming -y, nothing written.
#[track_caller]
fn assert_refused_naming_y(sb: &Sandbox, devs: &[&LoopDev], args: &[&str]) {
    let before: Vec<String> = devs.iter().map(|d| d.hash()).collect();
    let o = sb.oxlvm(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains("-y"), "{args:?}: {err}");
    let after: Vec<String> = devs.iter().map(|d| d.hash()).collect();
    assert_eq!(before, after, "{args:?} wrote to a device");
}

#[test]
fn host_prompt_without_terminal_refuses_naming_y() {
    let (sb, a, b) = vg_with_lv("prompt-refuse");
    let devs = [&a, &b];
    assert_refused_naming_y(&sb, &devs, &["vgremove", "vg0"]);
    // lvremove asks (as LVM2) before a pool with thin LVs goes, and before the pool spare.
    for args in [
        vec!["lvcreate", "-an", "-T", "-L", "4m", "vg0/pool"],
        vec![
            "lvcreate", "-an", "-V", "8m", "-T", "vg0/pool", "-n", "thin",
        ],
    ] {
        let o = sb.oxlvm(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    assert_refused_naming_y(&sb, &devs, &["lvremove", "vg0/pool"]);
    assert_refused_naming_y(&sb, &devs, &["lvremove", "vg0/lv0", "vg0/pool"]);
    assert_refused_naming_y(&sb, &devs, &["lvremove", "vg0/lvol0_pmspare"]);
    assert_refused_naming_y(&sb, &devs, &["pvremove", "-ff", a.path_str()]);
    assert_refused_naming_y(&sb, &devs, &["pvcreate", "-ff", a.path_str()]);
}

#[test]
fn host_prompt_yes_proceeds_and_qq_answers_no() {
    let (sb, a, b) = vg_with_lv("prompt-yes");
    // -qq: the question is answered no without reading anything.
    let before = a.hash();
    let o = sb.oxlvm(&["vgremove", "-qq", "vg0"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("Volume group \"vg0\" not removed"));
    assert_eq!(before, a.hash());

    // Inactive LVs: no question, as LVM2 (nothing active holds a file system).
    let o = sb.oxlvm(&["lvreduce", "-L", "4m", "vg0/lv0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("THIS MAY DESTROY"), "{}", stderr(&o));
    for args in [
        vec!["lvcreate", "-an", "-T", "-L", "4m", "vg0/pool"],
        vec![
            "lvcreate", "-an", "-V", "8m", "-T", "vg0/pool", "-n", "thin",
        ],
        vec!["lvcreate", "-an", "-Zn", "-L", "4m", "-n", "lv1", "vg0"],
    ] {
        let o = sb.oxlvm(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let o = sb.oxlvm(&["lvremove", "vg0/lv1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "  Logical volume \"lv1\" successfully removed.\n"
    );
    // -qq answers LVM2's question no.
    let before = a.hash();
    let o = sb.oxlvm(&["lvremove", "-qq", "vg0/pool"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "Removing pool vg0/pool will remove 1 dependent volume(s). Proceed? [y/n]: [n]"
        ),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("Logical volume vg0/pool not removed."));
    assert_eq!(before, a.hash());
    // -y (and -f) answer yes.
    let o = sb.oxlvm(&["lvremove", "-y", "vg0/pool"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "  Logical volume \"thin\" successfully removed.\n  Logical volume \"pool\" successfully removed.\n"
    );
    let o = sb.oxlvm(&["vgremove", "-y", "vg0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sb.oxlvm(&["vgcreate", "vg1", a.path_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sb.oxlvm(&["pvremove", "-ff", "-y", a.path_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sb.oxlvm(&["pvs", "--noheadings", "-o", "pv_name", b.path_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Runs oxlvm with a terminal on stdin (a pty) that has `answers` typed ahead.
fn oxlvm_on_terminal(sb: &Sandbox, args: &[&str], answers: &str) -> std::process::Output {
    use std::io::Write as _;
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut master = std::fs::File::from(pty.master);
    master
        .write_all(answers.as_bytes())
        .expect("type the answers");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(args)
        .env("LVM_SYSTEM_DIR", sb.system_dir())
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .stdin(std::process::Stdio::from(pty.slave))
        .output()
        .expect("run oxlvm");
    drop(master);
    out
}

/// stderr without the warning a machine without device-mapper adds.
fn questions(o: &std::process::Output) -> String {
    stderr(o).replace(
        "  WARNING: Activation disabled. No device-mapper interaction will be attempted.\n",
        "",
    )
}

/// A recognisable pattern over the PV's data area (after the first MiB), read back later to
/// see which extents were discarded.
fn fill_data_area(dev: &LoopDev) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&dev.path)
        .unwrap();
    let chunk = vec![0xa5u8; MIB as usize];
    for mib in 1..39 {
        f.write_all_at(&chunk, mib * MIB).unwrap();
    }
    f.sync_all().unwrap();
}

/// Which of the 4 MiB extents after pe_start (1 MiB) read as zeros.
fn zero_extents(dev: &LoopDev, count: u64) -> Vec<bool> {
    (0..count)
        .map(|e| {
            dev.read(MIB + e * 4 * MIB, (4 * MIB) as usize)
                .iter()
                .all(|&b| b == 0)
        })
        .collect()
}

#[test]
fn host_prompt_discards_are_asked_and_done_as_lvm2() {
    let (sb, a, b) = vg_with_lv("prompt-discard");
    let devs = [&a, &b];
    let conf = "devices/issue_discards=1";
    // The LV is inactive: without issue_discards nothing is asked; with it LVM2 asks to
    // "remove and DISCARD" - refused without a terminal, answered no by -qq.
    assert_refused_naming_y(&sb, &devs, &["lvremove", "--config", conf, "vg0/lv0"]);
    let before = a.hash();
    let o = sb.oxlvm(&["lvremove", "-qq", "--config", conf, "vg0/lv0"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "Do you really want to remove and DISCARD logical volume vg0/lv0? [y/n]: [n]\n  Logical volume vg0/lv0 not removed.\n"
    );
    assert_eq!(before, a.hash());
    // Answered yes on a terminal: removed, and its two extents (only) read back as zeros.
    fill_data_area(&a);
    let o = oxlvm_on_terminal(&sb, &["lvremove", "--config", conf, "vg0/lv0"], "y\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        questions(&o),
        "Do you really want to remove and DISCARD logical volume vg0/lv0? [y/n]: "
    );
    assert_eq!(zero_extents(&a, 4), [true, true, false, false]);

    // vgremove: the VG's question, then lvremove's for each LV; a no to one removes nothing.
    for args in [
        vec!["lvcreate", "-an", "-Zn", "-L", "4m", "-n", "x", "vg0"],
        vec!["lvcreate", "-an", "-Zn", "-L", "4m", "-n", "y", "vg0"],
    ] {
        let o = sb.oxlvm(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    fill_data_area(&a);
    let before = a.hash();
    let o = oxlvm_on_terminal(&sb, &["vgremove", "--config", conf, "vg0"], "y\ny\nn\n");
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        questions(&o),
        "Do you really want to remove volume group \"vg0\" containing 2 logical volumes? [y/n]: \
         Do you really want to remove and DISCARD logical volume vg0/x? [y/n]: \
         Do you really want to remove and DISCARD logical volume vg0/y? [y/n]:   \
         Logical volume vg0/y not removed.\n"
    );
    assert_eq!(before, a.hash());
    let o = oxlvm_on_terminal(&sb, &["vgremove", "--config", conf, "vg0"], "y\ny\ny\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "  Logical volume \"x\" successfully removed.\n  Logical volume \"y\" successfully removed.\n  Volume group \"vg0\" successfully removed\n"
    );
    assert_eq!(zero_extents(&a, 4), [true, true, false, false]);
    // Without issue_discards, -y: nothing is discarded.
    let o = sb.oxlvm(&["vgcreate", "vg1", a.path_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sb.oxlvm(&["lvcreate", "-an", "-Zn", "-L", "4m", "-n", "z", "vg1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    fill_data_area(&a);
    let o = sb.oxlvm(&["vgremove", "-y", "vg1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(zero_extents(&a, 2), [false, false]);
}
