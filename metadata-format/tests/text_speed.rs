//! Throughput on a large VG (30,000 LVs, about 10 MB of on-disk text, mixed linear, striped
//! and thin LVs), because every command reads and rewrites the whole text. Printed, never
//! asserted (timings depend on the machine; targets: emit >= 300 MB/s, parse >= 150 MB/s):
//! `cargo test --release -p metadata-format --test text_speed -- --ignored --nocapture`.
//! A small version of the same VG also runs in the normal test pass to check correctness.

use std::time::{Duration, Instant};

use metadata_format::text::*;

fn id(n: u64, kind: u8) -> Id {
    let mut bytes = [b'A'; 32];
    bytes[0] = kind;
    let mut n = n;
    for at in (1..32).rev() {
        bytes[at] =
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[(n % 62) as usize];
        n /= 62;
    }
    Id::from_bytes(bytes).expect("valid id")
}

/// A VG shaped like a busy real one: mostly linear LVs, some striped, some thin.
fn big_metadata(lv_count: u64) -> Metadata {
    let mut vg = VolumeGroup::new("vgbig", id(0, b'v'), 8192);
    for n in 0..8 {
        vg.pvs.push(PhysicalVolume::new(
            id(n, b'p'),
            &format!("/dev/sd{}", (b'a' + n as u8) as char),
            4_294_967_296,
            2048,
            524_287,
        ));
    }
    let mut pool = LogicalVolume::new("pool", id(1, b'l'));
    pool.segments.push(Segment::new(
        0,
        1024,
        SegmentKind::ThinPool(Box::new(ThinPool {
            metadata: "pool_tmeta".into(),
            pool: "pool_tdata".into(),
            transaction_id: lv_count,
            chunk_size: 128,
            discards: Some("passdown".into()),
            zero_new_blocks: true,
            crop_metadata: None,
            messages: Vec::new(),
        })),
    ));
    vg.lvs.push(pool);
    for n in 0..lv_count {
        let mut lv = LogicalVolume::new(&format!("lv_{n:06}"), id(n + 2, b'l'));
        lv.creation_time = Some(1_795_929_501 + n);
        lv.creation_host = Some("buildhost".into());
        let pv = id(n % 8, b'p');
        let segment = match n % 10 {
            0 => Segment::striped(
                0,
                32,
                128,
                vec![
                    Area::Pv {
                        pv,
                        start: (n * 16 % 500_000) as u32,
                    },
                    Area::Pv {
                        pv: id((n + 1) % 8, b'p'),
                        start: (n * 16 % 500_000) as u32,
                    },
                ],
            ),
            1 | 2 => Segment::new(
                0,
                256,
                SegmentKind::Thin(Box::new(Thin {
                    thin_pool: "pool".into(),
                    transaction_id: n,
                    device_id: n as u32 + 1,
                    external_origin: None,
                    origin: None,
                    merge: None,
                })),
            ),
            _ => Segment::linear(0, 16, pv, (n * 16 % 500_000) as u32),
        };
        lv.segments.push(segment);
        if n % 3 == 0 {
            lv.tags.push("owner=app".into());
        }
        vg.lvs.push(lv);
    }
    Metadata::new(
        vg,
        Header::new(
            "2.03.16(2) (2022-05-18)",
            "Write from lvcreate.",
            "buildhost",
            "Linux buildhost 6.1.0 #1 SMP x86_64",
            1_795_929_501,
            0,
        ),
    )
}

/// Best of several runs, in MB/s of text; dropping the result is not timed.
fn throughput<T>(bytes: usize, runs: usize, mut work: impl FnMut() -> T) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        let result = std::hint::black_box(work());
        best = best.min(start.elapsed());
        drop(result);
    }
    bytes as f64 / 1e6 / best.as_secs_f64()
}

#[test]
fn big_vg_round_trips() {
    let metadata = big_metadata(300);
    for text in [emit_ondisk(&metadata), emit_backup(&metadata)] {
        let read = parse_metadata(&text).expect("reads back");
        assert_eq!(read.vg, metadata.vg);
    }
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn parse_and_emit_throughput() {
    let metadata = big_metadata(30_000);
    let ondisk = emit_ondisk(&metadata);
    let backup = emit_backup(&metadata);
    println!(
        "on-disk text {:.1} MB, backup text {:.1} MB, {} LVs",
        ondisk.len() as f64 / 1e6,
        backup.len() as f64 / 1e6,
        metadata.vg.lvs.len()
    );
    let emit_ondisk_speed = throughput(ondisk.len(), 10, || emit_ondisk(&metadata));
    let emit_backup_speed = throughput(backup.len(), 10, || emit_backup(&metadata));
    let parse_ondisk_speed = throughput(ondisk.len(), 10, || {
        parse_metadata(&ondisk).expect("parses")
    });
    let parse_backup_speed = throughput(backup.len(), 10, || {
        parse_metadata(&backup).expect("parses")
    });
    let tree_speed = throughput(ondisk.len(), 10, || parse_config(&ondisk).expect("parses"));
    println!("emit on-disk  {emit_ondisk_speed:8.0} MB/s");
    println!("emit backup   {emit_backup_speed:8.0} MB/s");
    println!("parse on-disk {parse_ondisk_speed:8.0} MB/s (tree only: {tree_speed:.0} MB/s)");
    println!("parse backup  {parse_backup_speed:8.0} MB/s");
}
