//! Host tier, concurrency: 8 workers - oxlvm and real LVM2 side by side - run random lvcreate,
//! lvextend and lvremove on one VG while two more move a spare PV in and out of it (vgextend /
//! vgreduce take the global and orphan locks too) and a reader lists it. Each worker owns its
//! LV names, so the final metadata must be exactly what the commands that reported success
//! did; every command runs under a deadline, so a deadlock fails the test instead of hanging
//! it. Both tools serialise on LVM2's flock files (P_global, V_<vg>, V_#orphans) and read the
//! VG after taking them.

mod common;
use common::*;
use metadata_format::text::parse_metadata;
use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 8;
const OPS_PER_WORKER: usize = 10;
/// No single command may take longer than this: a lock cycle would hold it forever.
const DEADLINE: Duration = Duration::from_secs(60);

/// A small deterministic generator (xorshift), seeded per worker: a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs `program args` with the sandbox's configuration; panics when it outlives DEADLINE.
fn run(sb: &Sandbox, lvm2: bool, args: &[String]) -> Output {
    let mut cmd = if lvm2 {
        let mut c = Command::new("lvm");
        c.arg(&args[0])
            .arg("--driverloaded")
            .arg("n")
            .args(&args[1..]);
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_oxlvm"));
        c.args(args);
        c
    };
    let mut child = cmd
        .env("LVM_SYSTEM_DIR", sb.system_dir())
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!(
                "deadlock? {} {args:?} still running after {DEADLINE:?}",
                if lvm2 { "lvm" } else { "oxlvm" }
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What one worker did that succeeded: its LVs and their sizes in extents.
type Owned = BTreeMap<String, u64>;

/// A command line and what it does to the worker's LVs when it succeeds.
type Op = (Vec<String>, Box<dyn Fn(&mut Owned)>);

fn worker(sb: Arc<Sandbox>, id: usize, lvm2: bool) -> (Owned, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((id as u64 + 1) * 0x1000_0001));
    let mut owned = Owned::new();
    let mut serial = 0;
    let mut failures = 0;
    for _ in 0..OPS_PER_WORKER {
        let choice = rng.next() % 3;
        let pick = |rng: &mut Rng, owned: &Owned| {
            let names: Vec<&String> = owned.keys().collect();
            (!names.is_empty()).then(|| names[rng.next() as usize % names.len()].clone())
        };
        let (args, apply): Op = match (choice, pick(&mut rng, &owned)) {
            (1, Some(lv)) => {
                let grow = 1 + rng.next() % 2;
                let args = vec![
                    "lvextend".into(),
                    "-l".into(),
                    format!("+{grow}"),
                    format!("vg/{lv}"),
                ];
                (
                    args,
                    Box::new(move |o: &mut Owned| *o.get_mut(&lv).expect("own LV") += grow),
                )
            }
            (2, Some(lv)) => {
                let args = vec!["lvremove".into(), "-y".into(), format!("vg/{lv}")];
                (
                    args,
                    Box::new(move |o: &mut Owned| {
                        o.remove(&lv);
                    }),
                )
            }
            _ => {
                serial += 1;
                let name = format!("w{id}_{serial}");
                let size = 1 + rng.next() % 2;
                let mut args: Vec<String> = vec!["lvcreate".into(), "-an".into()];
                if lvm2 {
                    args.push("-Zn".into());
                }
                args.extend([
                    "-l".into(),
                    size.to_string(),
                    "-n".into(),
                    name.clone(),
                    "vg".into(),
                ]);
                (
                    args,
                    Box::new(move |o: &mut Owned| {
                        o.insert(name.clone(), size);
                    }),
                )
            }
        };
        let out = run(&sb, lvm2, &args);
        if out.status.success() {
            apply(&mut owned);
        } else {
            // A failure must say why; the final metadata shows it changed nothing.
            failures += 1;
            eprintln!(
                "worker {id} ({}) {args:?} failed: {}",
                if lvm2 { "LVM2" } else { "oxlvm" },
                stderr(&out)
            );
        }
    }
    (owned, failures)
}

#[test]
fn eight_writers_of_both_tools_leave_exactly_what_succeeded() {
    let (sb, devs) = sandbox_with("concurrency", &[64, 64, 16]);
    let p: Vec<String> = devs.iter().map(|d| d.path_str().to_string()).collect();
    ok(sb.oxlvm(&["vgcreate", "-s", "1m", "vg", &p[0], &p[1]]));
    ok(sb.oxlvm(&["pvcreate", &p[2]]));
    let sb = Arc::new(sb);
    let start = Instant::now();
    let mut handles = Vec::new();
    for id in 0..WORKERS {
        let sb = Arc::clone(&sb);
        // Workers 0, 2, 4, 6 run oxlvm; 1, 3, 5, 7 run LVM2.
        handles.push(std::thread::spawn(move || worker(sb, id, id % 2 == 1)));
    }
    // The spare PV goes in and out of the VG (global + VG + orphan locks), by both tools.
    let mover = {
        let sb = Arc::clone(&sb);
        let spare = p[2].clone();
        std::thread::spawn(move || {
            for round in 0..6 {
                let lvm2 = round % 2 == 1;
                for cmd in ["vgextend", "vgreduce"] {
                    let out = run(&sb, lvm2, &[cmd.into(), "vg".into(), spare.clone()]);
                    assert!(
                        out.status.success(),
                        "{cmd} (LVM2: {lvm2}) failed: {}",
                        stderr(&out)
                    );
                }
            }
        })
    };
    // A reader: the VG is always readable, by both tools, at some seqno.
    let reader = {
        let sb = Arc::clone(&sb);
        std::thread::spawn(move || {
            for round in 0..10 {
                let lvm2 = round % 2 == 1;
                let out = run(
                    &sb,
                    lvm2,
                    &["vgs".into(), "--noheadings".into(), "vg".into()],
                );
                assert!(
                    out.status.success(),
                    "vgs (LVM2: {lvm2}) failed: {}",
                    stderr(&out)
                );
            }
        })
    };
    let mut expected = Owned::new();
    let mut failures = 0;
    for h in handles {
        let (owned, failed) = h.join().expect("worker");
        failures += failed;
        expected.extend(owned);
    }
    mover.join().expect("mover");
    reader.join().expect("reader");
    let elapsed = start.elapsed();

    // The final metadata, as LVM2 reads it.
    let file = sb.dir.join("final.vg");
    let out = sb.lvm(&["vgcfgbackup", "-f", file.to_str().expect("UTF-8"), "vg"]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read(&file).expect("read backup");
    let vg = parse_metadata(&text).expect("LVM2's backup parses").vg;
    let actual: Owned = vg
        .lvs
        .iter()
        .map(|lv| (lv.name.clone(), lv.extent_count()))
        .collect();
    assert_eq!(
        actual, expected,
        "the VG is not what the successful commands made"
    );
    assert_eq!(failures, 0, "commands failed (see stderr above)");
    assert_eq!(vg.pvs.len(), 2, "the spare PV ended outside the VG");
    lvm_clean(&sb, &["vgck", "vg"]);
    let out = sb.oxlvm(&["vgck", "vg"]);
    assert!(
        out.status.success() && stderr(&out).trim().is_empty(),
        "{out:?}"
    );
    eprintln!(
        "{} LVs, seqno {}, {} commands in {elapsed:?}",
        actual.len(),
        vg.seqno,
        WORKERS * OPS_PER_WORKER + 12 + 10
    );
}
