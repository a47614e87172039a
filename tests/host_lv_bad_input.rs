//! Host tier: LV commands refuse bad input with exit 3 (command line) or 5 (failed), one line
//! on stderr, and every device byte-identical afterwards.

mod common;
use common::*;

#[test]
fn lv_commands_refuse_bad_input_and_leave_devices_untouched() {
    // Two 64 MiB PVs with 1 MiB extents: 63 extents each, 126 in all.
    let (sb, devs) = sandbox_with("lv-bad-input", &[64, 64]);
    let d0 = devs[0].path_str().to_string();
    let d1 = devs[1].path_str().to_string();
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", "vgx", &d0, &d1]));
    ok(sb.oxlvm(&["lvcreate", "-l", "10", "-n", "a", "vgx"]));
    ok(sb.oxlvm(&["lvcreate", "-s", "-l", "4", "-n", "snap", "vgx/a"]));
    ok(sb.oxlvm(&["lvcreate", "-l", "4", "-n", "b", "vgx"]));
    ok(sb.oxlvm(&["lvcreate", "-T", "-l", "8", "vgx/pool"]));
    ok(sb.oxlvm(&["lvcreate", "-V", "16m", "-T", "vgx/pool", "-n", "thin"]));
    let range = |r: &str| format!("{d0}:{r}");
    // (arguments, exit code, a piece of the message)
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec!["lvreduce", "-y", "-l", "-1", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "origin",
        ),
        (
            vec!["lvcreate", "-l", "2", "-n", "b@d", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "not allowed",
        ),
        (
            vec!["lvcreate", "-l", "500", "-n", "big", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "needs 500 extents, VG has",
        ),
        (
            vec!["lvcreate", "-L", "1g", "-n", "big", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "needs 1024 extents, VG has",
        ),
        (
            vec!["lvcreate", "-i", "3", "-l", "6", "-n", "s", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "must not exceed number of physical volumes (2)",
        ),
        (
            vec!["lvcreate", "-L", "0", "-n", "z", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "larger than 0",
        ),
        (
            vec!["lvcreate", "-l", "0", "-n", "z", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "larger than 0",
        ),
        (
            vec!["lvcreate", "-L", "-4m", "-n", "z", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "no sign",
        ),
        (
            vec!["lvextend", "-L", "-4m", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "lvreduce",
        ),
        (
            vec!["lvreduce", "-y", "-l", "-10", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "below 1 extent",
        ),
        (
            vec!["lvreduce", "-y", "-l", "-50", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "below 1 extent",
        ),
        (
            vec!["lvresize", "-L", "0", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "0 not permitted",
        ),
        (
            vec!["lvcreate", "-s", "-l", "2", "-n", "s2", "vgx/snap"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "Snapshots of snapshots",
        ),
        (
            vec!["lvcreate", "-V", "10m", "-n", "t", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "pool",
        ),
        (
            vec!["lvcreate", "-V", "10m", "-T", "vgx/nopool", "-n", "t"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "nopool not found",
        ),
        (
            vec!["lvcreate", "-V", "10m", "-T", "vgx/a", "-n", "t"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "not a thin pool",
        ),
        (
            vec!["lvcreate", "-l", "2", "-n", "a", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "already exists",
        ),
        (
            vec!["lvcreate", "-l", "2", "-n", "snapshot7", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "reserved",
        ),
        (
            vec!["lvcreate", "-l", "2", "-n", "x_tmeta", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "reserved",
        ),
        (
            vec!["lvcreate", "-l", "2", "-n", "lvol0_pmspare", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "reserved",
        ),
        (
            vec!["lvcreate", "-l", "2", "-n", "bad/name", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "Inconsistent",
        ),
        (
            vec!["lvrename", "vgx/a", "thin"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "already exists",
        ),
        (
            vec!["lvrename", "vgx/a", "y_rimage_0"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "reserved",
        ),
        (
            vec!["lvcreate", "-l", "150%FREE", "-n", "p", "vgx"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "more than 100%",
        ),
        (
            vec!["lvextend", "-l", "+101%VG", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "more than 100%",
        ),
        (
            vec![
                "lvcreate".to_string(),
                "-l".into(),
                "2".into(),
                "-n".into(),
                "r".into(),
                "vgx".into(),
                range("50-10"),
            ],
            3,
            "PE range error",
        ),
        (
            vec![
                "lvcreate".to_string(),
                "-l".into(),
                "2".into(),
                "-n".into(),
                "r".into(),
                "vgx".into(),
                range("0-9999"),
            ],
            3,
            "PE range error",
        ),
        (
            vec![
                "lvcreate".to_string(),
                "-l".into(),
                "2".into(),
                "-n".into(),
                "r".into(),
                "vgx".into(),
                range("abc"),
            ],
            3,
            "parsing error",
        ),
        (
            vec![
                "lvcreate".to_string(),
                "-l".into(),
                "2".into(),
                "-n".into(),
                "r".into(),
                "vgx".into(),
                range("0-9:5-7"),
            ],
            3,
            "Overlapping",
        ),
        (
            vec![
                "lvcreate".to_string(),
                "-l".into(),
                "20".into(),
                "-n".into(),
                "r".into(),
                "vgx".into(),
                range("40-45"),
            ],
            5,
            "needs 20 extents",
        ),
        // A pool with thin LVs is asked about (inactive LVs are not, as in LVM2).
        (
            vec!["lvremove", "vgx/pool"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "add -y",
        ),
        (
            vec!["lvremove", "vgx/b", "vgx/pool"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "add -y",
        ),
        (
            vec!["lvremove", "-y", "vgx/nothere"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "nothere",
        ),
        (
            vec!["lvextend", "-l", "+1", "vgx/pool_tdata"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "internal",
        ),
        (
            vec!["lvextend", "-l", "+1", "novg/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "not found",
        ),
        (
            vec!["lvchange", "-p", "x", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "r or rw",
        ),
        (
            vec!["lvchange", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            3,
            "Need one or more",
        ),
        (
            vec!["lvextend", "-r", "-L", "+1m", "vgx/a"]
                .into_iter()
                .map(String::from)
                .collect(),
            5,
            "must be activated before resizing filesystem",
        ),
    ];
    for (args, code, needle) in cases {
        let before = hashes(&devs);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sb.oxlvm(&refs);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one stderr line expected: {err:?}"
        );
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} should mention {needle:?}"
        );
        assert_eq!(before, hashes(&devs), "{args:?} changed a device: {err}");
    }
}
