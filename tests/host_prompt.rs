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
