//! Compat tier: 100 operations picked at random (seeded, so a failure replays) alternate
//! between oxlvm and real LVM2 on one VG. After every operation both tools must report the
//! same pvs/vgs/lvs state, and LVM2's vgck must stay silent.

mod common;
use common::*;

/// A small deterministic generator (xorshift), so the sequence is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PV_FIELDS: &str = "pv_name,vg_name,pv_uuid,pv_size,pv_free,pv_attr,pv_tags,pv_pe_count,pv_pe_alloc_count,pv_mda_count,pe_start";
const VG_FIELDS: &str = "vg_name,vg_uuid,vg_attr,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,pv_count,lv_count,vg_tags,vg_seqno,max_lv,max_pv";
const LV_FIELDS: &str = "lv_name,lv_uuid,lv_size,lv_tags,seg_count,devices,lv_attr";

fn state(sb: &Sandbox, oxlvm: bool, vg: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (cmd, fields) in [("pvs", PV_FIELDS), ("vgs", VG_FIELDS), ("lvs", LV_FIELDS)] {
        let mut args = vec![
            cmd,
            "--reportformat",
            "json",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            fields,
        ];
        if cmd != "pvs" {
            args.push(vg);
        }
        let o = if oxlvm {
            sb.oxlvm(&args)
        } else {
            sb.lvm(&args)
        };
        assert!(
            o.status.success(),
            "{} {args:?}: {o:?}",
            if oxlvm { "oxlvm" } else { "lvm" }
        );
        // lv_attr's kernel positions differ only by how "no device-mapper" is shown.
        out.push(stdout(&o));
    }
    out
}

#[test]
fn hundred_random_operations_alternating_between_the_tools() {
    let (sb, devs) = sandbox_with("random-ops", &[24, 24, 24, 16]);
    let pvs: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let vg = "vgrand";
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", vg, pvs[0], pvs[1], pvs[2]]));
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut lvs: Vec<String> = Vec::new();
    let mut next_lv = 0;
    let mut spare_in_vg = false;
    let mut done = 0;
    let mut attempts = 0;
    while done < 100 {
        attempts += 1;
        assert!(attempts < 1000, "too many skipped operations");
        let use_oxlvm = done % 2 == 0;
        let op = rng.below(10);
        let mut args: Vec<String>;
        match op {
            0 | 1 => {
                let name = format!("lv{next_lv}");
                next_lv += 1;
                let size = 1 + rng.below(6);
                args = [
                    "lvcreate",
                    "-an",
                    "-Zn",
                    "-l",
                    &size.to_string(),
                    "-n",
                    &name,
                    vg,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                if rng.below(3) == 0 {
                    args.push(pvs[rng.below(3) as usize].to_string());
                }
                lvs.push(name);
            }
            2 if !lvs.is_empty() => {
                let lv = &lvs[rng.below(lvs.len() as u64) as usize];
                let grow = 1 + rng.below(4);
                args = vec![
                    "lvextend".into(),
                    "-l".into(),
                    format!("+{grow}"),
                    format!("{vg}/{lv}"),
                ];
            }
            3 if !lvs.is_empty() => {
                let i = rng.below(lvs.len() as u64) as usize;
                let lv = lvs.remove(i);
                args = vec!["lvremove".into(), "-y".into(), format!("{vg}/{lv}")];
            }
            4 if !lvs.is_empty() => {
                let i = rng.below(lvs.len() as u64) as usize;
                let new = format!("lv{next_lv}");
                next_lv += 1;
                args = vec!["lvrename".into(), vg.into(), lvs[i].clone(), new.clone()];
                lvs[i] = new;
            }
            5 => {
                let tag = format!("t{}", rng.below(4));
                let what = if rng.below(2) == 0 {
                    "--addtag"
                } else {
                    "--deltag"
                };
                args = vec!["vgchange".into(), what.into(), tag, vg.into()];
            }
            6 if !lvs.is_empty() => {
                let lv = &lvs[rng.below(lvs.len() as u64) as usize];
                let tag = format!("lt{}", rng.below(3));
                args = vec![
                    "lvchange".into(),
                    "--addtag".into(),
                    tag,
                    format!("{vg}/{lv}"),
                ];
            }
            7 => {
                let yn = if rng.below(2) == 0 { "y" } else { "n" };
                let pv = pvs[rng.below(3) as usize];
                args = vec!["pvchange".into(), "-x".into(), yn.into(), pv.into()];
            }
            8 => {
                if spare_in_vg {
                    args = vec!["vgreduce".into(), vg.into(), pvs[3].into()];
                } else {
                    args = vec!["vgextend".into(), vg.into(), pvs[3].into()];
                }
            }
            9 if !lvs.is_empty() => {
                let lv = &lvs[rng.below(lvs.len() as u64) as usize];
                args = vec![
                    "lvreduce".into(),
                    "-y".into(),
                    "-l".into(),
                    "-1".into(),
                    format!("{vg}/{lv}"),
                ];
            }
            _ => continue,
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = if use_oxlvm {
            sb.oxlvm(&argv)
        } else {
            sb.lvm(&argv)
        };
        let succeeded = out.status.success();
        if !succeeded {
            // Legitimate refusals (no space, PV in use, LV of one extent...) change nothing;
            // undo our own bookkeeping of names.
            assert_eq!(
                out.status.code(),
                Some(5),
                "{argv:?} by {}: {out:?}",
                if use_oxlvm { "oxlvm" } else { "lvm" }
            );
            match op {
                0 | 1 => {
                    lvs.pop();
                }
                3 => {
                    // Not removed: put it back.
                    if let Some(name) = args.last().and_then(|a| a.split('/').nth(1)) {
                        lvs.push(name.to_string());
                    }
                }
                4 => {
                    let old = args[2].clone();
                    if let Some(slot) = lvs.iter_mut().find(|n| **n == args[3]) {
                        *slot = old;
                    }
                }
                _ => {}
            }
        } else if op == 8 {
            spare_in_vg = !spare_in_vg;
        }
        let theirs = state(&sb, false, vg);
        let ours = state(&sb, true, vg);
        assert_eq!(
            ours,
            theirs,
            "after operation {done} ({argv:?} by {}), the tools disagree",
            if use_oxlvm { "oxlvm" } else { "lvm" }
        );
        if done % 10 == 9 {
            lvm_clean(&sb, &["vgck", vg]);
        }
        done += 1;
    }
    lvm_clean(&sb, &["vgck", vg]);
    assert!(next_lv > 10, "the sequence created LVs");
}
