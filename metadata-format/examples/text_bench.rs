//! Parse and emit throughput of the text metadata on a generated VG with many LVs (the
//! issue's 30,000-LV, ~10 MB case by default), and peak memory against the text size.
//! `cargo run --release -p metadata-format --example text_bench [LVS] [ROUNDS]`
//! `text_bench --write LVS FILE` writes the generated on-disk text (for profiling the parse:
//! `valgrind --tool=callgrind text_bench --parse-only FILE`).

use metadata_format::text::{
    emit_backup, emit_ondisk, parse_metadata, Area, Header, Id, LogicalVolume, Metadata,
    PhysicalVolume, Segment, SegmentKind, Striped, VolumeGroup,
};
use std::time::Instant;

fn id(n: u64) -> Id {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = [b'0'; 32];
    let mut v = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in bytes.iter_mut() {
        *b = ALPHABET[(v % 62) as usize];
        v = v / 62 + n;
    }
    Id::from_bytes(bytes).expect("alphabet characters")
}

/// A VG like a CSI driver's: `lvs` linear LVs of 1 extent, round-robin over 4 PVs.
fn generate(lvs: u32) -> Metadata {
    let mut vg = VolumeGroup::new("vgbench", id(1), 2048);
    let per_pv = lvs / 4 + 1;
    for p in 0..4u64 {
        vg.pvs.push(PhysicalVolume::new(
            id(100 + p),
            &format!("/dev/loop{p}"),
            u64::from(per_pv) * 2048 + 4096,
            2048,
            per_pv,
        ));
    }
    for n in 0..lvs {
        let mut lv = LogicalVolume::new(&format!("pvc-{n:08}-data"), id(1000 + u64::from(n)));
        lv.creation_time = Some(1_795_929_501 + u64::from(n));
        lv.creation_host = Some("bench".to_string());
        lv.tags = vec!["owner=csi".to_string()];
        let pv = vg.pvs[(n % 4) as usize].id;
        lv.segments.push(Segment::new(
            0,
            1,
            SegmentKind::Striped(Striped {
                stripe_size: None,
                stripes: vec![Area::Pv { pv, start: n / 4 }],
            }),
        ));
        vg.lvs.push(lv);
    }
    Metadata::new(
        vg,
        Header::new("bench", "bench", "bench", "Linux bench", 1_795_929_501, 0),
    )
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn best_of<T>(rounds: u32, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..rounds {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(v);
    }
    (best, last.expect("at least one round"))
}

/// Child mode: parse one file and print the peak-memory growth in bytes. A fresh process
/// keeps the high-water mark free of the generator's and emitter's memory.
fn parse_only(path: &str) {
    let text = std::fs::read(path).expect("read the text");
    let before = peak_rss_kib();
    let parsed = parse_metadata(&text).expect("parses");
    let after = peak_rss_kib();
    assert!(!parsed.vg.lvs.is_empty() || text.len() < 1000);
    println!("{}", after.saturating_sub(before) * 1024);
}

fn main() {
    if let Some(path) = std::env::args()
        .nth(2)
        .filter(|_| std::env::args().nth(1).as_deref() == Some("--parse-only"))
    {
        return parse_only(&path);
    }
    if std::env::args().nth(1).as_deref() == Some("--write") {
        let lvs: u32 = std::env::args()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .expect("--write LVS FILE");
        let path = std::env::args().nth(3).expect("--write LVS FILE");
        std::fs::write(&path, emit_ondisk(&generate(lvs))).expect("write the text");
        return;
    }
    let mut args = std::env::args().skip(1);
    let lvs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30_000);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let model = generate(lvs);
    let text = emit_ondisk(&model);
    let mb = text.len() as f64 / 1e6;
    let (emit_s, _) = best_of(rounds, || emit_ondisk(&model));
    let (backup_s, _) = best_of(rounds, || emit_backup(&model));
    let expected_vg = model.vg.clone();
    drop(model);
    let (parse_s, parsed) = best_of(rounds, || parse_metadata(&text).expect("own text parses"));
    assert_eq!(parsed.vg, expected_vg, "round trip");
    drop(parsed);
    let file = std::env::temp_dir().join(format!("oxlvm-text-bench-{}.txt", std::process::id()));
    std::fs::write(&file, &text).expect("write the text");
    let child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("--parse-only")
        .arg(&file)
        .output()
        .expect("run the parse-only child");
    let _ = std::fs::remove_file(&file);
    let growth: f64 = String::from_utf8_lossy(&child.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN);
    println!("lvs {lvs}  text {mb:.2} MB");
    println!(
        "parse   {:8.2} ms  {:7.1} MB/s",
        parse_s * 1e3,
        mb / parse_s
    );
    println!(
        "emit    {:8.2} ms  {:7.1} MB/s  (on-disk form)",
        emit_s * 1e3,
        mb / emit_s
    );
    println!(
        "backup  {:8.2} ms  {:7.1} MB/s  (vgcfgbackup form)",
        backup_s * 1e3,
        mb / backup_s
    );
    println!(
        "parse peak memory {:.1} MB = {:.2}x the text",
        growth / 1e6,
        growth / text.len() as f64
    );
}
