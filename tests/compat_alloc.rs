//! Compat tier: extent allocation. LVM2 and oxlvm each run the same scripted scenario on their
//! own, identically built VGs (same PV sizes, order and extent size); after every step the full
//! segment maps (LV -> segments with PV index and PE start) must be equal.

mod common;
use common::*;
use std::collections::BTreeMap;

/// Two sandboxes with identical loop devices: one for LVM2, one for oxlvm.
struct Pair {
    lvm: (Sandbox, Vec<LoopDev>),
    ox: (Sandbox, Vec<LoopDev>),
}

fn pair(test: &str, sizes_mib: &[u64]) -> Pair {
    pair_with(test, sizes_mib, "")
}

/// [`pair`] with `extra` appended to both sides' lvm.conf (an `allocation { ... }` section).
fn pair_with(test: &str, sizes_mib: &[u64], extra: &str) -> Pair {
    let make = |side: &str| {
        let sb = Sandbox::new(&format!("{test}-{side}"));
        let devs: Vec<LoopDev> = sizes_mib
            .iter()
            .enumerate()
            .map(|(i, mib)| LoopDev::new(&sb.dir, &format!("d{i}"), mib << 20))
            .collect();
        sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
        if !extra.is_empty() {
            let path = sb.system_dir().join("lvm.conf");
            let mut conf = std::fs::read_to_string(&path).unwrap();
            conf.push_str(extra);
            std::fs::write(&path, conf).unwrap();
        }
        (sb, devs)
    };
    Pair {
        lvm: make("lvm"),
        ox: make("ox"),
    }
}

/// `%N` in an argument stands for device N of the side's sandbox.
fn expand(args: &[&str], devs: &[LoopDev]) -> Vec<String> {
    args.iter()
        .map(|a| {
            let mut s = a.to_string();
            for (i, d) in devs.iter().enumerate().rev() {
                s = s.replace(&format!("%{i}"), d.path_str());
            }
            s
        })
        .collect()
}

type SegMap = BTreeMap<String, Vec<(String, String, Vec<(String, u64)>)>>;

/// Every LV's segments as LVM2 reports them: (start, size in extents, [(%pv index or
/// sub-LV, first extent)]).
fn segment_map(sb: &Sandbox, devs: &[LoopDev], vg: &str) -> SegMap {
    let out = sb.lvm(&[
        "lvs",
        "-a",
        "--segments",
        "--reportformat",
        "json",
        "-o",
        "lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges",
        vg,
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut map = SegMap::new();
    for row in v["report"][0]["seg"].as_array().unwrap() {
        let s = |k: &str| row[k].as_str().unwrap().to_string();
        let ranges: Vec<(String, u64)> = s("seg_pe_ranges")
            .split(' ')
            .filter(|r| !r.is_empty())
            .map(|r| {
                // /dev/loopN:START-END
                let (dev, pes) = r.rsplit_once(':').unwrap();
                // A PV by its index, a sub-LV by its name.
                let at = match devs.iter().position(|d| d.path_str() == dev) {
                    Some(i) => format!("%{i}"),
                    None => dev.to_string(),
                };
                (at, pes.split('-').next().unwrap().parse().unwrap())
            })
            .collect();
        map.entry(s("lv_name"))
            .or_default()
            .push((s("seg_start_pe"), s("seg_size_pe"), ranges));
    }
    map
}

/// Runs `steps` with both tools; both must succeed (or both fail) and leave equal maps.
/// `["@ox", ...]` runs a step with oxlvm alone (what LVM2 cannot do without device-mapper,
/// such as creating RAID LVs) and `["@sync"]` then restores oxlvm's VG text on LVM2's side
/// (the PVs must carry the same UUIDs on both sides: `pvcreate --uuid`).
fn run_scenario(p: &Pair, steps: &[&[&str]]) {
    for step in steps {
        if step[0] == "@sync" {
            let file = p.ox.0.dir.join("sync.vg");
            let file = file.to_str().unwrap();
            ok(p.ox.0.oxlvm(&["vgcfgbackup", "-f", file, "vgx"]));
            ok(p.lvm.0.lvm(&["vgcfgrestore", "--force", "-f", file, "vgx"]));
        } else if step[0] == "@ox" {
            let ox_args = expand(&step[1..], &p.ox.1);
            let ox_refs: Vec<&str> = ox_args.iter().map(String::as_str).collect();
            ok(p.ox.0.oxlvm(&ox_refs));
            continue;
        } else {
            let lvm_args = expand(step, &p.lvm.1);
            let ox_args = expand(step, &p.ox.1);
            let mut lvm_args: Vec<&str> = lvm_args.iter().map(String::as_str).collect();
            // LVM2 without device-mapper creates LVs inactive and unzeroed only when told.
            if step[0] == "lvcreate" {
                lvm_args.extend(["-an", "-Zn"]);
            }
            let theirs = p.lvm.0.lvm(&lvm_args);
            let ox_refs: Vec<&str> = ox_args.iter().map(String::as_str).collect();
            let ours = p.ox.0.oxlvm(&ox_refs);
            assert_eq!(
                theirs.status.success(),
                ours.status.success(),
                "{step:?}: LVM2 {theirs:?}\noxlvm {ours:?}"
            );
            if matches!(step[0], "vgcreate" | "pvchange" | "pvcreate") {
                continue;
            }
        }
        let a = segment_map(&p.lvm.0, &p.lvm.1, "vgx");
        let b = segment_map(&p.ox.0, &p.ox.1, "vgx");
        assert_eq!(a, b, "segment maps differ after {step:?}");
    }
}

#[test]
fn linear_holes_striped_free_extension_and_pv_lists_match_lvm2() {
    let p = pair("alloc-scenario", &[64, 40, 64, 32]);
    run_scenario(
        &p,
        &[
            &["vgcreate", "-s", "1m", "vgx", "%0", "%1", "%2", "%3"],
            // Linear on a fresh VG.
            &["lvcreate", "-L", "8m", "-n", "a", "vgx"],
            &["lvcreate", "-L", "3m", "-n", "b", "vgx"],
            &["lvcreate", "-L", "8m", "-n", "c", "vgx"],
            &["lvcreate", "-L", "5m", "-n", "d", "vgx"],
            &["lvcreate", "-L", "8m", "-n", "e", "vgx"],
            &["lvcreate", "-L", "2m", "-n", "f", "vgx"],
            &["lvcreate", "-L", "8m", "-n", "g", "vgx"],
            // Holes left by removals.
            &["lvremove", "-y", "vgx/b", "vgx/d", "vgx/f"],
            &["lvcreate", "-L", "2m", "-n", "h", "vgx"],
            &["lvcreate", "-L", "4m", "-n", "i", "vgx"],
            // Extension of a linear LV that cannot continue in place.
            &["lvextend", "-l", "+20", "vgx/a"],
            // Striped, and its extension.
            &["lvcreate", "-l", "30", "-i", "3", "-n", "s", "vgx"],
            &["lvextend", "-l", "+30", "vgx/s"],
            // Spilling over PVs, contiguous, cling.
            &["lvcreate", "-l", "70", "-n", "big", "vgx"],
            &["lvcreate", "-l", "10", "-C", "y", "-n", "con", "vgx"],
            &["lvcreate", "-l", "5", "--alloc", "cling", "-n", "cl", "vgx"],
            &["lvextend", "-l", "+10", "--alloc", "cling", "vgx/cl"],
            &["lvextend", "-l", "+3", "vgx/e"],
            // A PV list with PE ranges.
            &[
                "lvcreate",
                "-l",
                "12",
                "-n",
                "r",
                "vgx",
                "%1:0-5:30-39",
                "%3",
            ],
            // Percentages and 100%FREE.
            &["lvcreate", "-l", "50%FREE", "-n", "half", "vgx"],
            &["lvextend", "-l", "+100%FREE", "vgx/h"],
        ],
    );
}

#[test]
fn fragmented_pv_best_area_choice_matches_lvm2() {
    // Holes of 40 and 50 extents: LVM2 puts 30 extents into the 50-hole (its area list is
    // re-sorted while walked), then spills, reduces and fills with 100%FREE.
    let p = pair("alloc-holes", &[304, 30]);
    run_scenario(
        &p,
        &[
            &["vgcreate", "-s", "1m", "vgx", "%0", "%1"],
            &["lvcreate", "-l", "40", "-n", "f1", "vgx", "%0"],
            &["lvcreate", "-l", "10", "-n", "u1", "vgx", "%0"],
            &["lvcreate", "-l", "50", "-n", "f2", "vgx", "%0"],
            &["lvcreate", "-l", "10", "-n", "u2", "vgx", "%0"],
            &["lvcreate", "-l", "5", "-n", "k", "vgx", "%1"],
            &["lvremove", "-y", "vgx/f1", "vgx/f2"],
            &["lvcreate", "-l", "30", "-n", "pick", "vgx"],
            &["lvcreate", "-l", "45", "-n", "spill", "vgx"],
            &["lvcreate", "-l", "3", "-i", "2", "-n", "st", "vgx"],
            &["lvextend", "-l", "50%VG", "vgx/st"],
            &[
                "lvcreate", "--alloc", "anywhere", "-l", "8", "-i", "2", "-n", "any", "vgx",
            ],
            &["lvreduce", "-y", "-l", "-3", "vgx/spill"],
            &["lvreduce", "-y", "-l", "6", "vgx/st"],
            &["lvextend", "-l", "+100%FREE", "vgx/pick"],
        ],
    );
}

/// PV UUIDs both sides give their devices, so `@sync` can restore one side's text on the other.
const UUIDS: [&str; 5] = [
    "Aaaaaa-0000-0000-0000-0000-0000-000000",
    "Bbbbbb-1111-1111-1111-1111-1111-111111",
    "Cccccc-2222-2222-2222-2222-2222-222222",
    "Dddddd-3333-3333-3333-3333-3333-333333",
    "Eeeeee-4444-4444-4444-4444-4444-444444",
];

/// allocation/cling_tag_list with two sites: cling_by_tags extends onto a PV of the same site,
/// new stripes go to distinct sites, extensions of RAID and mirror legs avoid PVs that share a
/// site with another leg (RAID and mirror LVs are created by oxlvm and restored on LVM2's side:
/// LVM2 creates them only with device-mapper).
#[test]
fn cling_tag_list_matches_lvm2() {
    let p = pair_with(
        "alloc-tags",
        &[24, 40, 40, 40, 40],
        "allocation {\n\tcling_tag_list = [ \"@site1\", \"@site2\" ]\n}\n",
    );
    let pvcreate: Vec<[&str; 5]> = (0..5)
        .map(|i| {
            [
                "pvcreate",
                "--uuid",
                UUIDS[i],
                "--norestorefile",
                ["%0", "%1", "%2", "%3", "%4"][i],
            ]
        })
        .collect();
    let mut steps: Vec<&[&str]> = pvcreate.iter().map(|s| &s[..]).collect();
    steps.extend_from_slice(&[
        &["vgcreate", "-s", "1m", "vgx", "%0", "%1", "%2", "%3", "%4"],
        &["pvchange", "--addtag", "site1", "%0", "%2"],
        &["pvchange", "--addtag", "site2", "%1", "%3"],
        &["pvchange", "--addtag", "other", "%4"],
        // Fills most of d0 (site1); the extension clings by tag to d2, not d1.
        &["lvcreate", "-l", "18", "-n", "a", "vgx", "%0"],
        &["lvextend", "-l", "+12", "--alloc", "cling_by_tags", "vgx/a"],
        &["lvextend", "-l", "+4", "--alloc", "cling", "vgx/a"],
        // Normal extension: LVM2 passes through cling_by_tags first.
        &["lvextend", "-l", "+10", "vgx/a"],
        // Two stripes: one area per site in the first pass.
        &["lvcreate", "-l", "10", "-i", "2", "-n", "s", "vgx"],
        &["lvextend", "-l", "+6", "vgx/s"],
        &["lvextend", "-l", "+4", "--alloc", "cling_by_tags", "vgx/s"],
        // An LV on the PV whose tag is not in the list: cling_by_tags cannot move it.
        &["lvcreate", "-l", "2", "-n", "o", "vgx", "%4"],
        &["lvextend", "-l", "+2", "--alloc", "cling_by_tags", "vgx/o"],
        // RAID1 and mirror legs: extensions avoid the other leg's site.
        &[
            "@ox", "lvcreate", "--type", "raid1", "-m", "1", "-l", "3", "-n", "r", "vgx", "%1",
            "%2",
        ],
        &[
            "@ox",
            "lvcreate",
            "--type",
            "mirror",
            "-m",
            "1",
            "--mirrorlog",
            "core",
            "-l",
            "2",
            "-n",
            "m",
            "vgx",
            "%2",
            "%3",
        ],
        &["@sync"],
        &["lvextend", "-l", "+3", "vgx/r"],
        &["lvextend", "-l", "+2", "vgx/m"],
        // Too much for the LV's site: both refuse.
        &["lvextend", "-l", "+60", "--alloc", "cling_by_tags", "vgx/a"],
    ]);
    run_scenario(&p, &steps);
}

/// `@*`: any tag in common counts.
#[test]
fn cling_tag_list_wildcard_matches_lvm2() {
    let p = pair_with(
        "alloc-tags-any",
        &[20, 30, 30, 30],
        "allocation {\n\tcling_tag_list = [ \"@*\" ]\n}\n",
    );
    run_scenario(
        &p,
        &[
            &["vgcreate", "-s", "1m", "vgx", "%0", "%1", "%2", "%3"],
            &["pvchange", "--addtag", "rackA", "%0", "%3"],
            &["pvchange", "--addtag", "rackB", "%1"],
            &["lvcreate", "-l", "15", "-n", "a", "vgx", "%0"],
            &["lvextend", "-l", "+10", "--alloc", "cling", "vgx/a"],
            // PVs without a size: everything free on them (+100%PVS).
            &["lvextend", "vgx/a", "%2"],
            &["lvreduce", "-y", "vgx/a", "%2"],
            &["lvcreate", "-l", "8", "-i", "2", "-n", "s", "vgx"],
            &["lvextend", "-l", "+40", "vgx/a"],
        ],
    );
}

/// maximise_cling = 0 clings to the LV's last segment only; mirror_logs_require_separate_pvs
/// refuses parallel allocations with fewer PVs than areas before trying.
#[test]
fn maximise_cling_off_and_separate_logs_match_lvm2() {
    let p = pair_with(
        "alloc-settings",
        &[20, 20, 40, 40],
        "allocation {\n\tmaximise_cling = 0\n\tmirror_logs_require_separate_pvs = 1\n}\n",
    );
    run_scenario(
        &p,
        &[
            &["vgcreate", "-s", "1m", "vgx", "%0", "%1", "%2", "%3"],
            &["lvcreate", "-l", "15", "-n", "a", "vgx", "%0"],
            &["lvextend", "-l", "+10", "vgx/a", "%1"],
            &["lvcreate", "-l", "3", "-n", "f", "vgx", "%0"],
            &["lvextend", "-l", "+8", "--alloc", "cling", "vgx/a"],
            &["lvextend", "-l", "+6", "vgx/a"],
            &[
                "lvcreate", "-l", "30", "-i", "3", "-n", "s", "vgx", "%0", "%2", "%3",
            ],
            &[
                "lvcreate", "-l", "4", "-i", "3", "-n", "s3", "vgx", "%2", "%3",
            ],
            &["lvcreate", "-l", "6", "-i", "3", "-n", "s4", "vgx"],
        ],
    );
}
