//! The command benchmark's helper (`scripts/bench commands` drives it; see docs/PERFORMANCE.md).
//!
//! - `gen EMPTY.vg LVS OUT.vg`: adds `LVS` linear one-extent LVs (a CSI driver's shape: one
//!   tag, creation time and host) to the vgcfgbackup of an empty one-PV VG, for vgcfgrestore.
//!   Prints the size in bytes of the on-disk text of the result.
//! - `time NAME RUNS OX LVM [OX_PREP LVM_PREP OX_UNDO LVM_UNDO]`: runs both tools' command
//!   alternately RUNS times (after one untimed warm-up each), each timed run between its tool's
//!   untimed preparation and undo (so a VG-changing command meets the same VG every time).
//!   Commands are whitespace-separated words, several separated by ` ; `; `-` means none.
//!   Prints one tab-separated line: name, oxlvm and LVM2 median wall ms, their peak RSS KiB,
//!   their median CPU (user + system) ms.
//! - `flush DEV RUNS`: the median time in ms of one flush (`fdatasync`) of DEV after rewriting
//!   its first 4 KiB with the bytes already there (direct I/O): what each flush of a commit
//!   costs on this storage. LVM2 flushes nothing; oxlvm flushes twice per commit.
//! - `report SIZES.tsv RESULTS.tsv`: the table (LVM2/oxlvm ratio per row) and, per command,
//!   the least-squares line of oxlvm's time against the metadata size.

use metadata_format::text::{emit_backup, emit_ondisk, parse_metadata};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

#[path = "../tests/common/vg_gen.rs"]
mod vg_gen;

fn die(msg: impl AsRef<str>) -> ! {
    eprintln!("bench_commands: {}", msg.as_ref());
    std::process::exit(1)
}

fn gen(empty: &str, lvs: u32, out: &str) {
    let text = std::fs::read(empty).unwrap_or_else(|e| die(format!("read {empty}: {e}")));
    let mut m = parse_metadata(&text).unwrap_or_else(|e| die(format!("parse {empty}: {e}")));
    vg_gen::fill(&mut m, lvs).unwrap_or_else(|e| die(e));
    std::fs::write(out, emit_backup(&m)).unwrap_or_else(|e| die(format!("write {out}: {e}")));
    println!("{}", emit_ondisk(&m).len());
}

/// Commands separated by ` ; `, each a list of whitespace-separated words; `-` is none.
fn commands(cmd: &str) -> Vec<Vec<String>> {
    if cmd == "-" {
        return Vec::new();
    }
    cmd.split(" ; ")
        .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|c| !c.is_empty())
        .collect()
}

/// One finished run: wall and CPU (user + system) seconds, peak RSS in KiB.
struct Sample {
    wall: f64,
    cpu: f64,
    rss: u64,
}

/// Runs `argv` to completion, measured through wait4's rusage (so only this child counts). A
/// failing command stops the benchmark with its stderr.
fn run(argv: &[String]) -> Sample {
    let start = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| die(format!("cannot run {}: {e}", argv[0])));
    let mut err = String::new();
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet reaped (std's Child is never waited on here); status
    // and usage point at live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = start.elapsed().as_secs_f64();
    if r != pid {
        die(format!(
            "wait4 for {}: {}",
            argv[0],
            std::io::Error::last_os_error()
        ));
    }
    let st = ExitStatus::from_raw(status);
    if !st.success() {
        die(format!("`{}` failed ({st}):\n{err}", argv.join(" ")));
    }
    std::mem::forget(child); // already reaped
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Sample {
        wall: secs,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        rss: usage.ru_maxrss as u64,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Tool {
    cmd: Vec<String>,
    prep: Vec<Vec<String>>,
    undo: Vec<Vec<String>>,
    times: Vec<f64>,
    cpu: Vec<f64>,
    rss: u64,
}

impl Tool {
    fn once(&mut self, record: bool) {
        for p in &self.prep {
            run(p);
        }
        let s = run(&self.cmd);
        for u in &self.undo {
            run(u);
        }
        if record {
            self.times.push(s.wall);
            self.cpu.push(s.cpu);
            self.rss = self.rss.max(s.rss);
        }
    }
}

fn time(args: &[String]) {
    if args.len() != 4 && args.len() != 8 {
        die("time NAME RUNS OX LVM [OX_PREP LVM_PREP OX_UNDO LVM_UNDO]");
    }
    let name = &args[0];
    let runs: usize = args[1].parse().unwrap_or_else(|_| die("RUNS is a number"));
    let opt = |i: usize| args.get(i).map_or_else(Vec::new, |c| commands(c));
    let one = |i: usize, what: &str| {
        commands(&args[i])
            .into_iter()
            .next()
            .unwrap_or_else(|| die(format!("no {what} command")))
    };
    let mut tools = [
        Tool {
            cmd: one(2, "oxlvm"),
            prep: opt(4),
            undo: opt(6),
            times: Vec::new(),
            cpu: Vec::new(),
            rss: 0,
        },
        Tool {
            cmd: one(3, "LVM2"),
            prep: opt(5),
            undo: opt(7),
            times: Vec::new(),
            cpu: Vec::new(),
            rss: 0,
        },
    ];
    for t in tools.iter_mut() {
        t.once(false);
    }
    for i in 0..runs {
        // Alternate which tool goes first, so neither always runs right after the other.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            tools[k].once(true);
        }
    }
    let [ox, lvm] = tools;
    println!(
        "{name}\t{:.3}\t{:.3}\t{}\t{}\t{:.3}\t{:.3}",
        median(ox.times) * 1e3,
        median(lvm.times) * 1e3,
        ox.rss,
        lvm.rss,
        median(ox.cpu) * 1e3,
        median(lvm.cpu) * 1e3,
    );
}

/// Least squares y = a + b x; returns (a, b, r²).
fn fit(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let r2 = if sxx > 0.0 && syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        1.0
    };
    (my - b * mx, b, r2)
}

fn report(sizes_path: &str, results_path: &str) {
    let read =
        |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| die(format!("read {p}: {e}")));
    // sizes: LVS <tab> on-disk text bytes
    let sizes: Vec<(String, f64)> = read(sizes_path)
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once('\t')?;
            Some((a.to_string(), b.parse().ok()?))
        })
        .collect();
    // results: LVS, name, ox ms, lvm ms, ox rss, lvm rss, ox cpu ms, lvm cpu ms
    let rows: Vec<Vec<String>> = read(results_path)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .filter(|r: &Vec<String>| r.len() == 8)
        .collect();
    let mb = |lvs: &str| {
        sizes
            .iter()
            .find(|(n, _)| n == lvs)
            .map_or(0.0, |(_, b)| b / 1e6)
    };
    println!(
        "| LVs | text MB | command | oxlvm ms | LVM2 ms | LVM2/oxlvm | CPU ratio | oxlvm RSS MiB | LVM2 RSS MiB | oxlvm RSS / text |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut worst = f64::MAX;
    for r in &rows {
        let (ox, lvm): (f64, f64) = (r[2].parse().unwrap_or(0.0), r[3].parse().unwrap_or(0.0));
        let (orss, lrss): (f64, f64) = (r[4].parse().unwrap_or(0.0), r[5].parse().unwrap_or(0.0));
        let ratio = lvm / ox.max(1e-9);
        let (ocpu, lcpu): (f64, f64) = (r[6].parse().unwrap_or(0.0), r[7].parse().unwrap_or(0.0));
        let cpu_ratio = lcpu / ocpu.max(1e-3);
        worst = worst.min(ratio);
        let text = mb(&r[0]);
        let rss_ratio = if text > 0.0 {
            format!("{:.1}x", orss * 1024.0 / (text * 1e6))
        } else {
            "-".into()
        };
        println!(
            "| {} | {:.2} | {} | {:.1} | {:.1} | {:.1}x | {:.1}x | {:.1} | {:.1} | {} |",
            r[0],
            text,
            r[1],
            ox,
            lvm,
            ratio,
            cpu_ratio,
            orss / 1024.0,
            lrss / 1024.0,
            rss_ratio
        );
    }
    println!();
    println!("lowest LVM2/oxlvm ratio: {worst:.1}x");
    println!();
    println!("oxlvm time against metadata size (least squares over the sizes):");
    println!("| command | ms per MB of text | ms at 0 | r² | LVM2 ms per MB |");
    println!("|---|---:|---:|---:|---:|");
    let mut names: Vec<&str> = Vec::new();
    for r in &rows {
        if !names.contains(&r[1].as_str()) {
            names.push(&r[1]);
        }
    }
    for name in names {
        let pts = |col: usize| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r[1] == name && mb(&r[0]) > 0.0)
                .map(|r| (mb(&r[0]), r[col].parse().unwrap_or(0.0)))
                .collect()
        };
        let ox = pts(2);
        if ox.len() < 2 {
            continue;
        }
        let (a, b, r2) = fit(&ox);
        let (_, lb, _) = fit(&pts(3));
        println!("| {name} | {b:.2} | {a:.2} | {r2:.4} | {lb:.1} |");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") if args.len() == 4 => gen(
            &args[1],
            args[2].parse().unwrap_or_else(|_| die("LVS is a number")),
            &args[3],
        ),
        Some("time") => time(&args[1..]),
        Some("report") if args.len() == 3 => report(&args[1], &args[2]),
        Some("flush") if args.len() == 3 => flush(
            &args[1],
            args[2].parse().unwrap_or_else(|_| die("RUNS is a number")),
        ),
        _ => die(
            "usage: gen EMPTY.vg LVS OUT.vg | time NAME RUNS OX LVM [...] | flush DEV RUNS | report SIZES RESULTS",
        ),
    }
}

/// `flush DEV RUNS`: see the module comment.
fn flush(dev: &str, runs: usize) {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(dev)
        .unwrap_or_else(|e| die(format!("{dev}: {e}")));
    // Direct I/O wants an aligned buffer: 4 KiB inside an 8 KiB vector.
    let mut raw = vec![0u8; 8192];
    let skip = raw.as_ptr().align_offset(4096);
    let buf = &mut raw[skip..skip + 4096];
    file.read_exact_at(buf, 0)
        .unwrap_or_else(|e| die(format!("read {dev}: {e}")));
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        file.write_all_at(buf, 0)
            .unwrap_or_else(|e| die(format!("write {dev}: {e}")));
        let t = Instant::now();
        file.sync_data()
            .unwrap_or_else(|e| die(format!("flush {dev}: {e}")));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("{:.2}", median(times));
}
