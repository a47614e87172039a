//! Compat tier for LV segment types: what oxlvm's lvcreate writes for linear, striped, COW
//! snapshot, thin pool, thin and thin snapshot LVs equals what real LVM2 wrote for the same
//! commands (the guest fixture: LVM2 2.03.16 with device-mapper, every on-disk version kept),
//! LVM2's vgck is clean on it and LVM2's lvs reports it as the fixture's lvs did; and oxlvm
//! extends and removes LVs that LVM2 created.

mod common;
use common::*;
use std::collections::BTreeMap;

const GUEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/lvm2-2.03.16/guest"
);

const LVS_FIELDS: &str =
    "lv_name,lv_size,seg_type,devices,stripes,stripe_size,origin,pool_lv,lv_attr";

/// LVM2's `lvs -a` JSON rows, device paths replaced by `pvN` (index of the device in `devs`),
/// keyed by LV name.
fn lvm2_lvs(sb: &Sandbox, vg: &str, devs: &[&str]) -> BTreeMap<String, BTreeMap<String, String>> {
    let out = sb.lvm(&[
        "lvs",
        "-a",
        "--reportformat",
        "json",
        "--units",
        "b",
        "--nosuffix",
        "-o",
        LVS_FIELDS,
        vg,
    ]);
    assert!(out.status.success(), "{out:?}");
    rows(&stdout(&out), devs)
}

fn rows(json: &str, devs: &[&str]) -> BTreeMap<String, BTreeMap<String, String>> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out = BTreeMap::new();
    for row in v["report"][0]["lv"].as_array().unwrap() {
        let mut m = BTreeMap::new();
        for (k, val) in row.as_object().unwrap() {
            let mut s = val.as_str().unwrap().to_string();
            for (i, d) in devs.iter().enumerate() {
                s = s.replace(&format!("{d}("), &format!("pv{i}("));
            }
            m.insert(k.clone(), s);
        }
        out.insert(m["lv_name"].clone(), m);
    }
    out
}

/// The fixture's lvs view (LVM2 with dm, LVs active) as it reads without dm: activation state
/// and open columns of lv_attr are '-', and only the fields asked here.
fn guest_lvs_expected(keep: &[&str]) -> BTreeMap<String, BTreeMap<String, String>> {
    let json = std::fs::read_to_string(format!("{GUEST}/vgdemo_lvs.json")).unwrap();
    let all = rows(&json, &["/dev/vda", "/dev/vdb", "/dev/vdc"]);
    // JSON keys of the fields asked for (LVM2 names seg_type "segtype" there).
    let wanted = [
        "lv_name",
        "lv_size",
        "segtype",
        "devices",
        "stripes",
        "stripe_size",
        "origin",
        "pool_lv",
        "lv_attr",
    ];
    let kept = all
        .into_iter()
        .filter(|(name, _)| keep.contains(&name.trim_matches(['[', ']'])))
        .map(|(name, row)| {
            let row = row
                .into_iter()
                .filter(|(k, _)| wanted.contains(&k.as_str()))
                .collect();
            (name, row)
        })
        .collect();
    without_activation(kept)
}

/// LVM2 without dm shows 'X' (unknown) for the activation columns; compare them as '-'.
fn without_activation(
    mut rows: BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    for row in rows.values_mut() {
        if let Some(attr) = row.get_mut("lv_attr") {
            let mut c: Vec<char> = attr.chars().collect();
            c[4] = '-';
            c[5] = '-';
            *attr = c.into_iter().collect();
        }
    }
    rows
}

#[test]
fn lvcreate_of_every_segment_type_writes_lvm2s_text() {
    // The guest fixture's sequence on an identical VG: three 1 GiB PVs, 4 MiB extents.
    let (sb, devs) = sandbox_with("lv-guest-replay", &[1024, 1024, 1024]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut create = vec!["vgcreate", "vgdemo"];
    create.extend(&paths);
    ok(sb.oxlvm(&create));
    assert_eq!(
        normalized_vg_body(&lvm2_dump(&sb, &devs[0])),
        normalized_vg_body(&guest_text(1))
    );
    // (command, the fixture's seqno after it, the LVs it reports, segment type made)
    let steps: &[(&[&str], u32, &[&str])] = &[
        (
            &["lvcreate", "-y", "-L", "64M", "-n", "linear", "vgdemo"],
            2,
            &["linear"],
        ),
        (
            &[
                "lvcreate", "-y", "-i2", "-I64k", "-L", "64M", "-n", "striped", "vgdemo",
            ],
            3,
            &["linear", "striped"],
        ),
        (
            &[
                "lvcreate",
                "-y",
                "-s",
                "-L",
                "32M",
                "-n",
                "snap",
                "vgdemo/linear",
            ],
            5,
            &["linear", "striped", "snap"],
        ),
        (
            &["lvcreate", "-y", "-T", "-L", "128M", "vgdemo/pool"],
            8,
            &[
                "linear",
                "striped",
                "snap",
                "pool",
                "pool_tdata",
                "pool_tmeta",
                "lvol0_pmspare",
            ],
        ),
        (
            &[
                "lvcreate",
                "-y",
                "-V",
                "256M",
                "-T",
                "vgdemo/pool",
                "-n",
                "thin1",
            ],
            10,
            &[
                "linear",
                "striped",
                "snap",
                "pool",
                "pool_tdata",
                "pool_tmeta",
                "lvol0_pmspare",
                "thin1",
            ],
        ),
        (
            &["lvcreate", "-y", "-s", "vgdemo/thin1", "-n", "thinsnap"],
            12,
            &[
                "linear",
                "striped",
                "snap",
                "pool",
                "pool_tdata",
                "pool_tmeta",
                "lvol0_pmspare",
                "thin1",
                "thinsnap",
            ],
        ),
    ];
    for (cmd, seqno, lvs) in steps {
        ok(sb.oxlvm(cmd));
        let ours = normalized_vg_body(&lvm2_dump(&sb, &devs[0]));
        let theirs = normalized_vg_body(&guest_text(*seqno));
        assert_eq!(ours, theirs, "after {cmd:?} (LVM2's seqno {seqno})");
        assert_vgck_clean(&sb, "vgdemo");
        // The fixture's lvs had the thin pool at transaction 2 and the pool's state then.
        let mut expected = guest_lvs_expected(lvs);
        let got = without_activation(lvm2_lvs(&sb, "vgdemo", &paths));
        // The origin flag and thin snapshot skip flag are the fixture's final state; they
        // hold from the step that makes them.
        if *seqno < 5 {
            if let Some(r) = expected.get_mut("linear") {
                r.insert("lv_attr".into(), "-wi-------".into());
            }
        }
        assert_eq!(got, expected, "lvs after {cmd:?}");
    }
}

#[test]
fn lvremove_of_thin_and_snapshot_lvs_keeps_lvm2_happy() {
    let (sb, devs) = sandbox_with("lv-remove-types", &[1024, 1024, 1024]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut create = vec!["vgcreate", "vgdemo"];
    create.extend(&paths);
    ok(sb.oxlvm(&create));
    for cmd in [
        &["lvcreate", "-y", "-L", "64M", "-n", "linear", "vgdemo"][..],
        &[
            "lvcreate",
            "-y",
            "-s",
            "-L",
            "32M",
            "-n",
            "snap",
            "vgdemo/linear",
        ],
        &["lvcreate", "-y", "-T", "-L", "128M", "vgdemo/pool"],
        &[
            "lvcreate",
            "-y",
            "-V",
            "256M",
            "-T",
            "vgdemo/pool",
            "-n",
            "thin1",
        ],
        &["lvcreate", "-y", "-s", "vgdemo/thin1", "-n", "thinsnap"],
    ] {
        ok(sb.oxlvm(cmd));
    }
    // Removing a thin LV moves the pool's transaction on, as LVM2's delete message does.
    ok(sb.oxlvm(&["lvremove", "-y", "vgdemo/thinsnap"]));
    assert_vgck_clean(&sb, "vgdemo");
    let lvs = without_activation(lvm2_lvs(&sb, "vgdemo", &paths));
    assert!(!lvs.contains_key("thinsnap"));
    let tx = sb.lvm(&["lvs", "--noheadings", "-o", "transaction_id", "vgdemo/pool"]);
    assert_eq!(stdout(&tx).trim(), "3");
    // An origin with snapshots needs -y; it then goes with its snapshot.
    ok(sb.oxlvm(&["lvremove", "-y", "vgdemo/linear"]));
    assert_vgck_clean(&sb, "vgdemo");
    let lvs = lvm2_lvs(&sb, "vgdemo", &paths);
    assert!(
        !lvs.contains_key("snap") && !lvs.contains_key("linear"),
        "{lvs:?}"
    );
    // The pool with its thin LV; the spare goes with the last pool.
    ok(sb.oxlvm(&["lvremove", "-y", "vgdemo/pool"]));
    assert_vgck_clean(&sb, "vgdemo");
    let out = lvm_complaints(&sb.lvm(&["lvs", "-a", "vgdemo"]));
    assert!(out.is_empty(), "{out:?}");
    let lvs = lvm2_lvs(&sb, "vgdemo", &paths);
    assert!(lvs.is_empty(), "{lvs:?}");
}

#[test]
fn oxlvm_extends_and_removes_lvs_of_the_guest_fixture() {
    let (sb, devs) = sandbox_with("lv-guest-restored", &[1024, 1024, 1024]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    restore_guest(&sb, &devs);
    let before = lvm2_lvs(&sb, "vgdemo", &paths);
    ok(sb.oxlvm(&["lvextend", "-L", "+8M", "vgdemo/linear"]));
    ok(sb.oxlvm(&["lvextend", "-l", "+4", "vgdemo/striped"]));
    ok(sb.oxlvm(&["lvextend", "-L", "+64M", "vgdemo/thin1"]));
    assert_vgck_clean(&sb, "vgdemo");
    let after = lvm2_lvs(&sb, "vgdemo", &paths);
    assert_eq!(after["linear"]["lv_size"], "75497472");
    assert_eq!(after["striped"]["lv_size"], "83886080");
    assert_eq!(after["striped"]["stripes"], "2");
    assert_eq!(after["thin1"]["lv_size"], "335544320");
    assert_eq!(after["snap"], before["snap"]);
    // Removing the raid1 LV (a type oxlvm does not create yet) and the thin snapshot.
    ok(sb.oxlvm(&["lvremove", "-y", "vgdemo/r1", "vgdemo/thinsnap"]));
    assert_vgck_clean(&sb, "vgdemo");
    let after = lvm2_lvs(&sb, "vgdemo", &paths);
    assert!(
        after.keys().all(|k| !k.contains("r1") && k != "thinsnap"),
        "{after:?}"
    );
    ok(sb.oxlvm(&[
        "lvremove",
        "-y",
        "vgdemo/pool",
        "vgdemo/linear",
        "vgdemo/striped",
    ]));
    assert_vgck_clean(&sb, "vgdemo");
    assert!(lvm2_lvs(&sb, "vgdemo", &paths).is_empty());
}

#[test]
fn oxlvm_extends_reduces_and_removes_lvs_lvm2_created() {
    let (sb, devs) = sandbox_with("lv-lvm2-made", &[64, 64]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut create = vec!["vgcreate", "-s", "1m", "vgx"];
    create.extend(&paths);
    assert!(sb.lvm(&create).status.success());
    for cmd in [
        &["lvcreate", "-an", "-Zn", "-l", "10", "-n", "lin", "vgx"][..],
        &[
            "lvcreate", "-an", "-Zn", "-l", "10", "-i", "2", "-n", "str", "vgx",
        ],
    ] {
        let out = sb.lvm(cmd);
        assert!(out.status.success(), "{out:?}");
    }
    ok(sb.oxlvm(&["lvextend", "-l", "+5", "vgx/lin"]));
    ok(sb.oxlvm(&["lvreduce", "-y", "-l", "-2", "vgx/str"]));
    ok(sb.oxlvm(&["lvrename", "vgx/lin", "renamed"]));
    ok(sb.oxlvm(&["lvchange", "-p", "r", "--addtag", "t1", "vgx/renamed"]));
    assert_vgck_clean(&sb, "vgx");
    let lvs = lvm2_lvs(&sb, "vgx", &paths);
    assert_eq!(lvs["renamed"]["lv_size"], (15u64 << 20).to_string());
    assert_eq!(&lvs["renamed"]["lv_attr"][..2], "-r");
    assert_eq!(lvs["str"]["lv_size"], (8u64 << 20).to_string());
    ok(sb.oxlvm(&["lvremove", "-y", "vgx/renamed", "vgx/str"]));
    assert_vgck_clean(&sb, "vgx");
    assert!(lvm2_lvs(&sb, "vgx", &paths).is_empty());
    // LVM2 carries on on what oxlvm left.
    let out = sb.lvm(&[
        "lvcreate", "-an", "-Zn", "-l", "100%FREE", "-n", "all", "vgx",
    ]);
    assert!(out.status.success(), "{out:?}");
}

/// Every device's bytes, to run two tools on the same starting point.
fn save(devs: &[LoopDev]) -> Vec<Vec<u8>> {
    devs.iter()
        .map(|d| std::fs::read(&d.path).unwrap())
        .collect()
}

fn restore(devs: &[LoopDev], saved: &[Vec<u8>]) {
    use std::io::Write;
    for (d, bytes) in devs.iter().zip(saved) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&d.path)
            .unwrap();
        f.write_all(bytes).unwrap();
        f.sync_all().unwrap();
    }
}

type Outcome = (Option<i32>, String, Vec<String>, Vec<String>);

/// One command's outcome in a comparable form: exit code, stdout, stderr without LVM2's
/// no-device-mapper line, and the VG text left on each of `pvs` (blank if none).
fn outcome(sb: &Sandbox, pvs: &[&LoopDev], out: std::process::Output) -> Outcome {
    let texts = pvs
        .iter()
        .map(|pv| {
            let dump = sb.lvm(&["pvs", "--noheadings", "-o", "vg_name", pv.path_str()]);
            if stdout(&dump).trim().is_empty() {
                String::new()
            } else {
                normalized_vg_body(&lvm2_dump(sb, pv))
            }
        })
        .collect();
    (out.status.code(), stdout(&out), lvm_complaints(&out), texts)
}

/// Linear, an origin with two COW snapshots, two thin pools with thin LVs and a thin
/// snapshot, raid1 in `vg`; created in an order that puts pools after other LVs.
fn build_every_kind(sb: &Sandbox, paths: &[&str]) {
    let mut create = vec!["vgcreate", "-s", "1m", "vg"];
    create.extend(paths);
    ok(sb.oxlvm(&create));
    for cmd in [
        "-Zn -L 4m -n lin vg",
        "-Zn -L 4m -n origin vg",
        "-s -L 2m -n snap vg/origin",
        "-T -L 4m vg/pool",
        "-V 8m -T vg/pool -n thin1",
        "-s vg/thin1 -n thinsnap",
        "-Zn --type raid1 -m 1 -L 2m -n r1 vg",
        "-T -L 4m vg/pool2",
        "-V 8m -T vg/pool2 -n thin2",
        "-Zn -L 2m -n lin2 vg",
        "-s -L 2m -n snap2 vg/origin",
        "-V 4m -T vg/pool -n thin3",
    ] {
        let mut args = vec!["lvcreate", "-y", "-an"];
        args.extend(cmd.split(' '));
        ok(sb.oxlvm(&args));
    }
}

#[test]
fn lvremove_and_vgremove_remove_in_lvm2s_order_with_lvm2s_messages() {
    let (sb, devs) = sandbox_with("lv-remove-order", &[24, 24, 24]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    build_every_kind(&sb, &paths);
    let start = save(&devs);
    for cmd in [
        &["lvremove", "-f", "vg"][..],
        &["lvremove", "-y", "vg"],
        &[
            "lvremove",
            "-f",
            "vg/r1",
            "vg/lin",
            "vg/pool2",
            "vg/origin",
            "vg/pool",
        ],
        &["lvremove", "-f", "vg/thin1", "vg/snap", "vg/pool"],
        // (A thin LV alone needs its pool active in LVM2: no case here without dm.)
        &["lvremove", "-f", "vg/snap2", "vg/lin2", "vg/snap"],
        &["vgremove", "-f", "vg"],
    ] {
        restore(&devs, &start);
        let lvm2 = outcome(&sb, &[&devs[0]], sb.lvm(cmd));
        restore(&devs, &start);
        let ours = outcome(&sb, &[&devs[0]], sb.oxlvm(cmd));
        assert_eq!(ours, lvm2, "{cmd:?}");
        assert_eq!(lvm2.0, Some(0), "{cmd:?}: {lvm2:?}");
    }
}

#[test]
fn select_on_lvremove_lvchange_vgchange_vgremove_picks_what_lvm2_picks() {
    let (sb, devs) = sandbox_with("lv-select-processing", &[24, 24, 8]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    build_every_kind(&sb, &paths[..2]);
    ok(sb.oxlvm(&["vgcreate", "--addtag", "second", "vg2", paths[2]]));
    ok(sb.oxlvm(&[
        "lvcreate", "-an", "-Zn", "-L", "4m", "-n", "other", "--addtag", "t1", "vg2",
    ]));
    let start = save(&devs);
    let pvs = [&devs[0], &devs[2]];
    for cmd in [
        &["lvremove", "-f", "-S", "lv_size>4m && segtype!=thin"][..],
        &["lvremove", "-f", "-S", "lv_name=~^lin || lv_name=~^snap"],
        &["lvremove", "-y", "-S", "vg_name=vg2 || lv_name=r1"],
        &[
            "lvremove",
            "-f",
            "-S",
            "lv_name=~^lin || lv_name=r1 || lv_name=pool2",
            "vg",
            "vg2",
        ],
        &["lvremove", "-f", "-S", "lv_tags=t1", "vg/lin", "vg2/other"],
        &["lvremove", "-f", "-S", "seg_size>2m && segtype!=thin", "vg"],
        &["lvremove", "-f", "-S", "lv_name=nothing"],
        &["lvchange", "--addtag", "t", "-S", "lv_size<=4m"],
        &["lvchange", "--addtag", "t", "-S", "lv_name=~^thin", "vg"],
        &[
            "lvchange",
            "--deltag",
            "t1",
            "--addtag",
            "x",
            "-S",
            "pool_lv=pool || lv_tags=t1",
            "vg/thin1",
            "vg/lin",
            "vg2/other",
        ],
        &["lvchange", "-p", "r", "-S", "segtype=linear && lv_size<4m"],
        &["vgchange", "--addtag", "v", "-S", "vg_name=vg2"],
        &["vgchange", "-x", "n", "-S", "lv_count>5"],
        &[
            "vgchange",
            "--deltag",
            "second",
            "-S",
            "vg_tags=second",
            "vg",
            "vg2",
        ],
        &["vgexport", "-S", "vg_tags=second"],
        &["vgexport", "-S", "lv_count>5"],
        &["vgremove", "-f", "-S", "vg_tags=second"],
        &["vgremove", "-f", "-S", "pv_count=2"],
        &["pvchange", "--addtag", "p", "-S", "vg_name=vg2"],
        &["pvchange", "-x", "n", "-S", "pv_free>1m && vg_name=vg"],
        &["pvchange", "--addtag", "p", "-S", "pv_name=nothing"],
        &[
            "pvchange",
            "--addtag",
            "q",
            "-S",
            "vg_tags=second",
            paths[0],
            paths[2],
        ],
        &["pvchange", "--deltag", "q", "-S", "pv_size>1g"],
        &["pvchange", "--addtag", "q", "-S", "lv_name=lin"],
    ] {
        restore(&devs, &start);
        let lvm2 = outcome(&sb, &pvs, sb.lvm(cmd));
        restore(&devs, &start);
        let ours = outcome(&sb, &pvs, sb.oxlvm(cmd));
        assert_eq!(ours, lvm2, "{cmd:?}");
        assert_eq!(lvm2.0, Some(0), "{cmd:?}: {lvm2:?}");
    }
    // A bad selection: one line, exit 5, every device as it was.
    restore(&devs, &start);
    let before = hashes(&devs);
    for cmd in [
        &["lvremove", "-f", "-S", "bogus=1"][..],
        &["lvchange", "--addtag", "t", "-S", "lv_size>"],
        &["vgchange", "--addtag", "t", "-S", "vg_name=~["],
        &["vgremove", "-f", "-S", "(vg_name=vg"],
        &["pvchange", "-x", "n", "-S", "pv_size>"],
    ] {
        let lvm2 = sb.lvm(cmd);
        assert_eq!(lvm2.status.code(), Some(5), "{cmd:?}: {lvm2:?}");
        let ours = sb.oxlvm(cmd);
        // pvchange, as LVM2, first says that nothing changed.
        assert_eq!(stdout(&ours), stdout(&lvm2), "{cmd:?}");
        let err = assert_refused(ours, 5, &devs, &before);
        assert!(err.contains("-S help"), "{cmd:?}: {err}");
    }
    // Neither names nor -S: LVM2's usage error.
    for cmd in [
        &["lvremove", "-f"][..],
        &["vgremove", "-f"],
        &["lvchange", "--addtag", "t"],
        &["pvchange", "--addtag", "t"],
        &["pvchange", "-a", "--addtag", "t", "-S", "pv_size>0"],
    ] {
        assert_eq!(sb.lvm(cmd).status.code(), Some(3), "{cmd:?}");
        assert_refused(sb.oxlvm(cmd), 3, &devs, &before);
    }
}

/// `lvextend --poolmetadatasize` on LVM2's thin pool (the guest fixture, restored): the
/// metadata LV grows in place and the pool metadata spare follows it, as LVM2's lv_resize and
/// handle_pool_metadata_spare do; LVM2 reads the result cleanly. Bad requests are refused in
/// one line with LVM2's exit codes and every device unchanged.
#[test]
fn poolmetadatasize_grows_lvm2s_pool_metadata_and_spare() {
    let (sb, devs) = sandbox_with("lv-guest-poolmeta", &[1024, 1024, 1024]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    restore_guest(&sb, &devs);
    let before = lvm2_lvs(&sb, "vgdemo", &paths);
    assert_eq!(before["[pool_tmeta]"]["lv_size"], "4194304");

    // 4 MiB -> 8 MiB given as an absolute size that is not a whole extent count: rounded up.
    let out = ok(sb.oxlvm(&["lvextend", "--poolmetadatasize", "6M", "vgdemo/pool"]));
    assert!(
        out.contains("Rounding size to boundary between physical extents: 8.00 MiB."),
        "{out}"
    );
    assert!(
        out.contains(
            "Size of logical volume vgdemo/pool_tmeta changed from 4.00 MiB (1 extents) to 8.00 MiB (2 extents)."
        ),
        "{out}"
    );
    assert!(
        out.contains("Logical volume vgdemo/pool_tmeta successfully resized."),
        "{out}"
    );
    assert_vgck_clean(&sb, "vgdemo");
    let after = lvm2_lvs(&sb, "vgdemo", &paths);
    assert_eq!(after["[pool_tmeta]"]["lv_size"], "8388608");
    assert_eq!(after["[pool_tmeta]"]["devices"], "pv2(0)");
    assert_eq!(after["[lvol0_pmspare]"]["lv_size"], "8388608");
    assert_eq!(after["pool"]["lv_size"], before["pool"]["lv_size"]);
    assert_eq!(after["[pool_tdata]"], before["[pool_tdata]"]);

    // Data and metadata together, on named PVs: the spare stays as it is (LVM2 keeps it only
    // when no PV list is given).
    let out = ok(sb.oxlvm(&[
        "lvextend",
        "-L",
        "+16M",
        "--poolmetadatasize",
        "+4M",
        "vgdemo/pool",
        paths[1],
    ]));
    assert!(
        out.contains(
            "vgdemo/pool_tmeta changed from 8.00 MiB (2 extents) to 12.00 MiB (3 extents)"
        ),
        "{out}"
    );
    assert!(
        out.contains("Logical volume vgdemo/pool successfully resized."),
        "{out}"
    );
    assert_vgck_clean(&sb, "vgdemo");
    let after = lvm2_lvs(&sb, "vgdemo", &paths);
    assert_eq!(after["[pool_tmeta]"]["lv_size"], "12582912");
    assert!(
        after["[pool_tmeta]"]["devices"].contains("pv1("),
        "{after:?}"
    );
    assert_eq!(after["[lvol0_pmspare]"]["lv_size"], "8388608");
    assert_eq!(after["pool"]["lv_size"], "150994944");
    // The metadata LV named directly grows the same way; then LVM2 removes the pool.
    ok(sb.oxlvm(&["lvextend", "--poolmetadatasize", "+4M", "vgdemo/pool_tmeta"]));
    assert_vgck_clean(&sb, "vgdemo");
    let after = lvm2_lvs(&sb, "vgdemo", &paths);
    assert_eq!(after["[pool_tmeta]"]["lv_size"], "16777216");
    assert_eq!(after["[lvol0_pmspare]"]["lv_size"], "16777216");
    ok(sb.lvm(&["lvremove", "-y", "vgdemo/pool"]));
    assert_vgck_clean(&sb, "vgdemo");
}

/// Bad `--poolmetadatasize` requests (on small devices, so every byte can be hashed): one
/// line, LVM2's exit codes, nothing written.
#[test]
fn bad_poolmetadatasize_requests_are_refused_untouched() {
    let (sb, devs) = sandbox_with("lv-poolmeta-bad", &[32, 32]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", "vg", paths[0], paths[1]]));
    ok(sb.oxlvm(&["lvcreate", "-y", "-an", "-T", "-L", "8M", "vg/pool"]));
    ok(sb.oxlvm(&["lvcreate", "-y", "-an", "-L", "4M", "-n", "linear", "vg"]));
    // Refusals first: nothing may change.
    let hashes_before = hashes(&devs);
    for (args, code, msg) in [
        (
            vec!["lvextend", "--poolmetadatasize", "-4M", "vg/pool"],
            3,
            "Can't reduce pool metadata size",
        ),
        (
            vec!["lvextend", "--poolmetadatasize", "0", "vg/pool"],
            3,
            "may not be zero",
        ),
        (
            vec!["lvextend", "--poolmetadatasize", "+4M", "vg/linear"],
            5,
            "only with thin pools",
        ),
        (
            vec![
                "lvextend",
                "-L",
                "+8M",
                "--poolmetadatasize",
                "+4M",
                "vg/linear",
            ],
            5,
            "only with thin pools",
        ),
        (
            vec!["lvreduce", "-y", "--poolmetadatasize", "+4M", "vg/pool"],
            3,
            "Positive sign not permitted",
        ),
        (
            vec!["lvextend", "--poolmetadatasize", "2M", "vg/pool"],
            5,
            "matches existing size",
        ),
        (
            vec!["lvreduce", "-y", "--poolmetadatasize", "4M", "vg/pool"],
            5,
            "not less than existing size",
        ),
    ] {
        let err = assert_refused(sb.oxlvm(&args), code, &devs, &hashes_before);
        assert!(err.contains(msg), "{args:?}: {err}");
    }

    let err = assert_refused(
        sb.oxlvm(&["lvresize", "--poolmetadatasize", "1M", "vg/pool"]),
        5,
        &devs,
        &hashes_before,
    );
    assert!(err.contains("cannot be reduced"), "{err}");
}

/// Extending a pool's data without --poolmetadatasize or a PV list grows the metadata to what
/// the new data size needs when that is more (LVM2's estimate: data / (chunk * 8)), and the
/// spare with it; LVM2 reads the result cleanly.
#[test]
fn pool_data_growth_grows_metadata_as_lvm2_estimates() {
    let (sb, devs) = sandbox_with("lv-poolmeta-auto", &[8192]);
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    ok(sb.oxlvm(&["vgcreate", "-s", "4m", "vg", paths[0]]));
    ok(sb.oxlvm(&[
        "lvcreate", "-y", "-an", "-T", "-L", "1G", "-c", "64k", "vg/pool",
    ]));
    let before = lvm2_lvs(&sb, "vg", &paths);
    assert_eq!(before["[pool_tmeta]"]["lv_size"], "4194304");
    // 3 GiB of 64 KiB chunks: 3 MiB of metadata, still under the 4 MiB there is.
    ok(sb.oxlvm(&["lvextend", "-L", "3G", "vg/pool"]));
    assert_eq!(
        lvm2_lvs(&sb, "vg", &paths)["[pool_tmeta]"]["lv_size"],
        "4194304"
    );
    // 6 GiB: 6 MiB.
    let out = ok(sb.oxlvm(&["lvextend", "-L", "6G", "vg/pool"]));
    assert!(
        out.contains("vg/pool_tmeta changed from 4.00 MiB (1 extents) to 8.00 MiB (2 extents)"),
        "{out}"
    );
    assert_vgck_clean(&sb, "vg");
    let after = lvm2_lvs(&sb, "vg", &paths);
    assert_eq!(after["[pool_tmeta]"]["lv_size"], "8388608");
    assert_eq!(after["[lvol0_pmspare]"]["lv_size"], "8388608");
    assert_eq!(after["pool"]["lv_size"], "6442450944");
}
