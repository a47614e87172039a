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
    let make = |side: &str| {
        let sb = Sandbox::new(&format!("{test}-{side}"));
        let devs: Vec<LoopDev> = sizes_mib
            .iter()
            .enumerate()
            .map(|(i, mib)| LoopDev::new(&sb.dir, &format!("d{i}"), mib << 20))
            .collect();
        sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
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

type SegMap = BTreeMap<String, Vec<(String, String, Vec<(usize, u64)>)>>;

/// Every LV's segments as LVM2 reports them: (start, size in extents, [(pv index, pe)]).
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
        let ranges: Vec<(usize, u64)> = s("seg_pe_ranges")
            .split(' ')
            .filter(|r| !r.is_empty())
            .map(|r| {
                // /dev/loopN:START-END
                let (dev, pes) = r.rsplit_once(':').unwrap();
                let index = devs.iter().position(|d| d.path_str() == dev).unwrap();
                (index, pes.split('-').next().unwrap().parse().unwrap())
            })
            .collect();
        map.entry(s("lv_name"))
            .or_default()
            .push((s("seg_start_pe"), s("seg_size_pe"), ranges));
    }
    map
}

/// Runs `steps` with both tools; both must succeed (or both fail) and leave equal maps.
fn run_scenario(p: &Pair, steps: &[&[&str]]) {
    for step in steps {
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
        if step[0] == "vgcreate" {
            continue;
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
