//! Compat tier: vgextend, vgreduce, vgrename, vgchange, pvchange and pvresize beside real LVM2
//! (Debian's lvm2 2.03.16, `--driverloaded n`). What oxlvm writes, LVM2's vgck accepts without
//! a word and LVM2's reports show as expected; on VGs LVM2 made, oxlvm's changes leave LVM2
//! able to go on; and where both tools make the same change, the texts are the same.

mod common;
use common::*;
use serde_json::Value;

/// LVM2's lvcreate of an inactive, unzeroed LV (no device-mapper here): its one expected
/// warning is that the LV was not zeroed.
#[track_caller]
fn lvcreate(sb: &Sandbox, args: &[&str]) {
    let mut full = vec!["lvcreate", "-an", "-Zn"];
    full.extend_from_slice(args);
    let out = sb.lvm(&full);
    assert!(out.status.success(), "lvm {full:?} failed: {out:?}");
    let complaints: Vec<String> = lvm_complaints(&out)
        .into_iter()
        .filter(|l| !l.contains("not zeroed"))
        .collect();
    assert!(
        complaints.is_empty(),
        "lvm {full:?} complained: {complaints:?}"
    );
}

/// vgck exits 0 even on checksum errors: what matters is that it says nothing.
#[track_caller]
fn vgck_clean(sb: &Sandbox, vg: &str) {
    lvm_clean(sb, &["vgck", vg]);
}

/// The rows of an LVM2 JSON report (`pv`, `vg` or `lv`), each as field -> value.
#[track_caller]
fn report(sb: &Sandbox, cmd: &str, fields: &str, args: &[&str]) -> Vec<Vec<(String, String)>> {
    let mut full = vec![cmd, "--reportformat", "json", "-o", fields];
    full.extend_from_slice(args);
    let text = lvm_clean(sb, &full);
    let json: Value = serde_json::from_str(&text).expect("LVM2 JSON");
    let kind = &cmd[..2];
    json["report"][0][kind]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            fields
                .split(',')
                .map(|f| (f.to_string(), row[f].as_str().unwrap_or("?").to_string()))
                .collect()
        })
        .collect()
}

/// One row's values in field order.
fn values(row: &[(String, String)]) -> Vec<&str> {
    row.iter().map(|(_, v)| v.as_str()).collect()
}

/// The values of the row whose first field is `key` (LVM2 sorts by name, and loop device
/// numbers do not sort as the test made them).
#[track_caller]
fn row_of<'a>(rows: &'a [Vec<(String, String)>], key: &str) -> Vec<&'a str> {
    let row = rows
        .iter()
        .find(|r| r.first().is_some_and(|(_, v)| v == key))
        .unwrap_or_else(|| panic!("no row for {key} in {rows:?}"));
    values(row)
}

#[test]
fn oxlvm_changes_pass_vgck_and_lvm2_reports_them() {
    let (sb, devs) = sandbox_with("compat-vgchange", &[16, 16, 16, 16]);
    let [a, b, c, d] = [&devs[0], &devs[1], &devs[2], &devs[3]];
    let (a, b, c, d) = (a.path_str(), b.path_str(), c.path_str(), d.path_str());

    ok(sb.oxlvm(&["vgcreate", "vg", a]));
    ok(sb.oxlvm(&["vgextend", "vg", b, c]));
    vgck_clean(&sb, "vg");
    let vgs = report(
        &sb,
        "vgs",
        "vg_name,pv_count,vg_extent_count,vg_seqno",
        &["vg"],
    );
    assert_eq!(values(&vgs[0]), ["vg", "3", "9", "2"]);

    lvcreate(&sb, &["-L", "8m", "-n", "lv1", "vg", a]);
    ok(sb.oxlvm(&["vgreduce", "vg", c]));
    vgck_clean(&sb, "vg");
    let pvs = report(&sb, "pvs", "pv_name,vg_name", &[a, b, c]);
    assert_eq!(row_of(&pvs, a), [a, "vg"]);
    assert_eq!(row_of(&pvs, b), [b, "vg"]);
    assert_eq!(row_of(&pvs, c), [c, ""]);

    ok(sb.oxlvm(&["vgrename", "vg", "vgr"]));
    vgck_clean(&sb, "vgr");
    let out = sb.lvm(&["vgs", "vg"]);
    assert_eq!(out.status.code(), Some(5), "the old name is gone: {out:?}");

    // -l and -p need a resizeable VG and run before -x n, as in LVM2.
    ok(sb.oxlvm(&[
        "vgchange", "--addtag", "t1", "-l", "5", "-p", "6", "--alloc", "cling", "-x", "n", "vgr",
    ]));
    vgck_clean(&sb, "vgr");
    let vgs = report(
        &sb,
        "vgs",
        "vg_tags,vg_attr,max_lv,max_pv,vg_allocation_policy",
        &["vgr"],
    );
    // vg_attr: writeable, not resizeable, not exported, not partial, cling (l), not shared.
    assert_eq!(values(&vgs[0]), ["t1", "w---l-", "5", "6", "cling"]);

    let old_uuid = report(&sb, "vgs", "vg_uuid", &["vgr"])[0][0].1.clone();
    ok(sb.oxlvm(&[
        "vgchange",
        "-u",
        "-x",
        "y",
        "--vgmetadatacopies",
        "1",
        "vgr",
    ]));
    vgck_clean(&sb, "vgr");
    let vgs = report(
        &sb,
        "vgs",
        "vg_uuid,vg_attr,vg_mda_count,vg_mda_used_count,vg_mda_copies",
        &["vgr"],
    );
    assert_ne!(vgs[0][0].1, old_uuid);
    assert_eq!(values(&vgs[0])[1..], ["wz--l-", "2", "1", "1"]);
    ok(sb.oxlvm(&["vgchange", "--vgmetadatacopies", "all", "vgr"]));
    let vgs = report(&sb, "vgs", "vg_mda_used_count,vg_mda_copies", &["vgr"]);
    assert_eq!(values(&vgs[0]), ["2", "unmanaged"]);

    // pvchange: allocatable, tags, UUID (the LV follows it), metadata areas, orphans.
    let old_b = report(&sb, "pvs", "pv_uuid", &[b])[0][0].1.clone();
    ok(sb.oxlvm(&["pvchange", "-x", "n", "--addtag", "p1", a]));
    ok(sb.oxlvm(&["pvchange", "-u", "--metadataignore", "y", b]));
    ok(sb.oxlvm(&["pvchange", "-u", c]));
    vgck_clean(&sb, "vgr");
    let pvs = report(
        &sb,
        "pvs",
        "pv_name,pv_attr,pv_tags,pv_mda_used_count,pv_uuid",
        &[a, b],
    );
    assert_eq!(row_of(&pvs, a)[..4], [a, "u--", "p1", "1"]);
    assert_eq!(row_of(&pvs, b)[..4], [b, "a--", "", "0"]);
    assert_ne!(row_of(&pvs, b)[4], old_b);
    let lvs = report(&sb, "lvs", "lv_name,devices", &["vgr"]);
    assert_eq!(values(&lvs[0]), ["lv1", &format!("{a}(0)")]);
    let orphan = report(&sb, "pvs", "pv_name,vg_name,pv_uuid", &[c]);
    assert_eq!(values(&orphan[0])[..2], [c, ""]);

    // pvresize: LVM2 shows the new extent count and size; the orphan's size follows its label.
    ok(sb.oxlvm(&["pvresize", "-y", "--setphysicalvolumesize", "12m", a]));
    ok(sb.oxlvm(&["pvresize", "-y", "--setphysicalvolumesize", "10m", c]));
    vgck_clean(&sb, "vgr");
    let pvs = report(&sb, "pvs", "pv_name,pv_pe_count,pv_size", &[a, c]);
    assert_eq!(row_of(&pvs, a), [a, "2", "8.00m"]);
    assert_eq!(row_of(&pvs, c), [c, "0", "10.00m"]);

    // -a: nothing to check on disk but LVM2's reading is unchanged.
    ok(sb.oxlvm(&["vgchange", "-ay", "vgr"]));
    ok(sb.oxlvm(&["vgextend", "vgr", d]));
    vgck_clean(&sb, "vgr");
    assert_eq!(values(&report(&sb, "vgs", "pv_count", &["vgr"])[0]), ["3"]);
}

#[test]
fn lvm2_goes_on_after_oxlvm_changes_its_vg() {
    let (sb, devs) = sandbox_with("compat-turns", &[16, 16, 16]);
    let (a, b, c) = (devs[0].path_str(), devs[1].path_str(), devs[2].path_str());
    lvm_clean(&sb, &["vgcreate", "vgl", a, b]);
    lvcreate(&sb, &["-L", "4m", "-n", "lin", "vgl", a]);
    lvcreate(&sb, &["-i2", "-I64k", "-L", "8m", "-n", "st", "vgl"]);
    lvm_clean(&sb, &["vgextend", "vgl", c]);
    // oxlvm: drop the empty PV, renumber a's UUID under two LVs, tag, shrink b to 2 extents.
    ok(sb.oxlvm(&["vgreduce", "vgl", c]));
    ok(sb.oxlvm(&["pvchange", "-u", a]));
    ok(sb.oxlvm(&["vgchange", "--addtag", "ox", "vgl"]));
    ok(sb.oxlvm(&["pvresize", "-y", "--setphysicalvolumesize", "12m", b]));
    vgck_clean(&sb, "vgl");
    let lvs = report(&sb, "lvs", "lv_name,devices", &["vgl"]);
    let rows: Vec<Vec<&str>> = lvs.iter().map(|r| values(r)).collect();
    assert_eq!(
        rows,
        [
            vec!["lin", format!("{a}(0)").as_str()],
            vec!["st", format!("{a}(1),{b}(0)").as_str()]
        ]
    );
    // LVM2 carries on: it extends an LV into b's last extent, adds c back and removes it.
    lvm_clean(&sb, &["lvextend", "-L", "+4m", "vgl/lin", b]);
    let full = sb.lvm(&["lvextend", "-L", "+4m", "vgl/lin", b]);
    assert_eq!(
        full.status.code(),
        Some(5),
        "b has no extent left: {full:?}"
    );
    lvm_clean(&sb, &["vgextend", "vgl", c]);
    lvm_clean(&sb, &["vgreduce", "vgl", c]);
    vgck_clean(&sb, "vgl");
    let vgs = report(&sb, "vgs", "vg_tags,pv_count,lv_count", &["vgl"]);
    assert_eq!(values(&vgs[0]), ["ox", "2", "2"]);

    // b goes missing: lin and st lose extents, so only --force removes them (and b).
    lvm_clean(&sb, &["vgextend", "vgl", c]);
    lvcreate(&sb, &["-L", "4m", "-n", "onc", "vgl", c]);
    let only_ac = format!("--devices={a},{c}");
    let out = sb.oxlvm(&["vgreduce", "--removemissing", "vgl", &only_ac]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    ok(sb.oxlvm(&["vgreduce", "--removemissing", "--force", "vgl", &only_ac]));
    lvm_clean(&sb, &["vgck", &only_ac, "vgl"]);
    let lvs = report(&sb, "lvs", "lv_name", &[&only_ac, "vgl"]);
    assert_eq!(
        lvs.iter().map(|r| r[0].1.as_str()).collect::<Vec<_>>(),
        ["onc"]
    );
    let vgs = report(&sb, "vgs", "pv_count,vg_attr", &[&only_ac, "vgl"]);
    assert_eq!(values(&vgs[0]), ["2", "wz--n-"]);
}

/// The VG text with what legitimately differs between two VGs blanked: the name, ids, device
/// hints, creation times and hosts, and the trailer.
fn normalized(text: &str, vg: &str) -> String {
    let body = text.split("\n# Generated by").next().unwrap_or(text);
    body.lines()
        .map(|l| {
            let key = l.split(" = ").next().unwrap_or("");
            match key {
                "id" | "device" | "creation_time" | "creation_host" => format!("{key} = *"),
                _ if l == format!("{vg} {{") => "VG {".to_string(),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_change_writes_the_text_lvm2_writes() {
    let (sb, devs) = sandbox_with("compat-sametext", &[16, 16, 16, 16, 16, 16]);
    let p: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    // Two VGs of the same shape, both made by LVM2: LVM2 changes one, oxlvm the other.
    lvm_clean(&sb, &["vgcreate", "vgl", p[0], p[1]]);
    lvm_clean(&sb, &["vgcreate", "vgo", p[3], p[4]]);
    for vg in ["vgl", "vgo"] {
        lvcreate(&sb, &["-L", "4m", "-n", "lv1", vg]);
    }
    let text = |dev: &str| ok(sb.oxlvm(&["pvck", "--dump", "metadata", dev]));
    let changes: Vec<(&str, Vec<&str>)> = vec![
        ("vgchange", vec!["--addtag", "t1", "--addtag", "t2"]),
        ("vgchange", vec!["--deltag", "t1"]),
        ("vgchange", vec!["-l", "3", "-p", "5"]),
        ("vgchange", vec!["-x", "n"]),
        ("vgchange", vec!["-x", "y"]),
        ("vgchange", vec!["--alloc", "contiguous"]),
        ("vgchange", vec!["--alloc", "normal"]),
        ("vgchange", vec!["--setautoactivation", "n"]),
        ("vgchange", vec!["--vgmetadatacopies", "2"]),
        ("vgchange", vec!["--vgmetadatacopies", "unmanaged"]),
        ("pvchange", vec!["-x", "n", "--addtag", "pt", "PV1"]),
        (
            "pvresize",
            vec!["-y", "--setphysicalvolumesize", "12m", "PV1"],
        ),
        ("pvresize", vec!["PV0"]),
        ("vgextend", vec!["PV2"]),
        ("vgreduce", vec!["PV1"]),
    ];
    for (cmd, args) in changes {
        let mut texts = Vec::new();
        for (vg, first) in [("vgl", 0), ("vgo", 3)] {
            let mut full = vec![cmd];
            for a in &args {
                full.push(match *a {
                    "PV0" => p[first],
                    "PV1" => p[first + 1],
                    "PV2" => p[first + 2],
                    other => other,
                });
            }
            // VG-level commands take the VG name (last for vgchange, first otherwise).
            match cmd {
                "vgchange" => full.push(vg),
                "vgextend" | "vgreduce" => full.insert(1, vg),
                _ => {}
            }
            let out = if vg == "vgl" {
                sb.lvm(&full)
            } else {
                sb.oxlvm(&full)
            };
            assert!(out.status.success(), "{vg}: {full:?}: {out:?}");
            texts.push(normalized(&text(p[first]), vg));
        }
        assert_eq!(texts[0], texts[1], "{cmd} {args:?}: texts differ");
        vgck_clean(&sb, "vgo");
    }
}
