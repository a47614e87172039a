//! The multicall binary: argv[0] names, `oxlvm CMD`, `oxlvm lvm CMD`, help, version, and the
//! exit codes scripts rely on (3 for a bad command line, including commands not built yet).

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_oxlvm");

fn run(program: &std::path::Path, args: &[&str]) -> Output {
    Command::new(program).args(args).output().expect("run")
}

fn oxlvm(args: &[&str]) -> Output {
    run(std::path::Path::new(BIN), args)
}

/// A directory of links named like LVM2's commands, pointing at the binary.
fn link(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oxlvm-links-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    std::os::unix::fs::symlink(BIN, &path).unwrap();
    path
}

fn stderr_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err:?}"
    );
    err
}

#[test]
fn version_names_the_lvm2_release_it_follows() {
    let out = oxlvm(&["version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("  LVM version:     2.03.16(2)"), "{text}");
    assert_eq!(oxlvm(&["--version"]).stdout, out.stdout);
    assert_eq!(oxlvm(&["lvm", "version"]).stdout, out.stdout);
    assert_eq!(run(&link("version"), &[]).stdout, out.stdout);
}

#[test]
fn dispatch_by_link_name_and_by_argument_agree() {
    let image = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lvm2-2.03.16/guest/vgmda2_pv0_final.img"
    );
    let by_arg = oxlvm(&["pvck", "--dump", "metadata", image]);
    let by_lvm = oxlvm(&["lvm", "pvck", "--dump", "metadata", image]);
    let by_link = run(&link("pvck"), &["--dump", "metadata", image]);
    assert!(by_arg.status.success());
    assert!(!by_arg.stdout.is_empty());
    assert_eq!(by_arg.stdout, by_lvm.stdout);
    assert_eq!(by_arg.stdout, by_link.stdout);
    // Long options may be abbreviated, as with LVM2.
    let abbreviated = oxlvm(&["pvck", "--du", "metadata", image]);
    assert_eq!(abbreviated.stdout, by_arg.stdout);
}

#[test]
fn commands_not_built_say_so_with_exit_3() {
    let help = String::from_utf8_lossy(&oxlvm(&["help"]).stdout).into_owned();
    let planned: Vec<&str> = help
        .lines()
        .filter(|l| l.ends_with("(not built yet)"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for name in planned {
        let out = oxlvm(&[name, "whatever"]);
        assert_eq!(out.status.code(), Some(3), "{name}");
        let err = stderr_line(&out);
        assert!(err.contains("not built yet"), "{err}");
        assert!(err.contains(name), "{err}");
        assert!(out.stdout.is_empty());
        let by_link = run(&link(name), &[]);
        assert_eq!(by_link.status.code(), Some(3));
    }
}

#[test]
fn lvm2_options_not_built_say_so_with_exit_3() {
    // Options LVM2's command has (src/cli/lvm2_options.rs, checked against LVM2 by
    // tests/compat_cli_options.rs) that oxlvm's has not: named as not built, not as typos.
    for (cmd, opt) in [
        ("lvconvert", "--splitmirrors"),
        ("lvconvert", "--uncache"),
        ("vgchange", "--refresh"),
        ("lvcreate", "--vdo"),
        ("lvchange", "--refresh"),
    ] {
        let out = oxlvm(&[cmd, opt, "vg/lv"]);
        assert_eq!(out.status.code(), Some(3), "{cmd} {opt}");
        let err = stderr_line(&out);
        assert!(
            err.contains(&format!("{cmd} {opt} is not built yet")),
            "{cmd} {opt}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    // An option neither tool has stays a plain usage error.
    let out = oxlvm(&["lvconvert", "--frobnicate", "vg/lv"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_line(&out);
    assert!(
        err.contains("--frobnicate") && !err.contains("not built"),
        "{err}"
    );
}

#[test]
fn unknown_commands_and_options_exit_3() {
    let out = oxlvm(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_line(&out).contains("frobnicate"));
    let out = oxlvm(&[]);
    assert_eq!(out.status.code(), Some(3));
    stderr_line(&out);
    let out = oxlvm(&["version", "--no-such-option"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_line(&out);
    assert!(
        err.contains("--no-such-option") && err.contains("--help"),
        "{err}"
    );
}

#[test]
fn help_lists_every_command_and_each_built_one_has_help() {
    let out = oxlvm(&["help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for name in [
        "pvcreate",
        "lvcreate",
        "vgcfgrestore",
        "lvsnapshot",
        "lvmerge",
        "pvck",
    ] {
        assert!(
            text.contains(&format!("  {name} ")),
            "{name} missing from help"
        );
    }
    let built: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("  ")
                && !l.contains("not built yet")
                && !l.contains("commands:")
                && !l.contains("lvm help")
        })
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| !n.ends_with(':'))
        .collect();
    assert!(
        built.contains(&"pvck") && built.contains(&"version"),
        "{built:?}"
    );
    for name in built {
        let out = oxlvm(&[name, "--help"]);
        assert!(out.status.success(), "{name} --help: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{name}"
        );
        let out = oxlvm(&["help", name]);
        assert!(out.status.success(), "help {name}");
    }
}
