//! The importer reads plain LV sections through a fast path (no generic tree) and falls back
//! to the full grammar for anything else. Both must give the same result - the same model or
//! the same error - for every text: LVM2's own texts, texts of every LV kind, and texts damaged
//! line by line (removed, doubled, swapped, commented, retyped, renumbered lines).

use metadata_format::text::*;

fn id(n: u64) -> Id {
    let mut bytes = [b'x'; 32];
    let mut n = n;
    for at in (0..32).rev() {
        bytes[at] =
            b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[(n % 62) as usize];
        n /= 62;
    }
    Id::from_bytes(bytes).expect("valid id")
}

#[track_caller]
fn same(text: &[u8]) {
    let fast = parse_metadata(text);
    let slow = parse_metadata_without_fast_path(text);
    assert_eq!(
        fast,
        slow,
        "fast and full paths differ on:\n{}",
        String::from_utf8_lossy(text)
    );
}

/// A VG with an LV of every kind the fast path reads (linear, striped, thin, with flags and
/// optional keys) and some it leaves to the full path (thin pool, mirror, snapshot).
fn sample() -> Metadata {
    let mut vg = VolumeGroup::new("vgfast", id(1), 8192);
    for n in 0..2 {
        vg.pvs.push(PhysicalVolume::new(
            id(10 + n),
            &format!("/dev/sd{n}"),
            1 << 30,
            2048,
            100,
        ));
    }
    let (pv0, pv1) = (vg.pvs[0].id, vg.pvs[1].id);
    let mut linear = LogicalVolume::new("linear", id(20));
    linear.creation_time = Some(1_700_000_000);
    linear.creation_host = Some("host".into());
    linear.tags = vec!["a".into(), "b=c".into()];
    linear.segments.push(Segment::linear(0, 4, pv0, 0));
    linear.segments.push(Segment::linear(4, 2, pv1, 7));
    vg.lvs.push(linear);
    let mut striped = LogicalVolume::new("striped", id(21));
    striped.read_ahead = Some(ReadAhead::Sectors(256));
    striped.major = Some(253);
    striped.minor = Some(7);
    striped.allocation_policy = Some(AllocationPolicy::Contiguous);
    striped.profile = Some("prof".into());
    striped.lock_args = Some("la".into());
    striped.flags = vec!["LOCKED".into()];
    let mut seg = Segment::striped(
        0,
        8,
        128,
        vec![
            Area::Pv { pv: pv0, start: 10 },
            Area::Pv { pv: pv1, start: 10 },
        ],
    );
    seg.tags = vec!["segtag".into()];
    seg.type_flags = vec!["FLAG".into()];
    seg.reshape_count = Some(3);
    striped.segments.push(seg);
    vg.lvs.push(striped);
    let mut pool = LogicalVolume::new("pool", id(22));
    pool.segments.push(Segment::new(
        0,
        4,
        SegmentKind::ThinPool(Box::new(ThinPool {
            metadata: "pool_tmeta".into(),
            pool: "pool_tdata".into(),
            transaction_id: 2,
            chunk_size: 128,
            discards: Some("passdown".into()),
            zero_new_blocks: true,
            crop_metadata: None,
            messages: Vec::new(),
        })),
    ));
    vg.lvs.push(pool);
    for (name, n, pv) in [("pool_tmeta", 23, pv0), ("pool_tdata", 24, pv1)] {
        let mut lv = LogicalVolume::new(name, id(n));
        lv.status.retain(|s| s != "VISIBLE");
        lv.segments.push(Segment::linear(0, 4, pv, 30));
        vg.lvs.push(lv);
    }
    let mut thin = LogicalVolume::new("thin", id(25));
    thin.segments.push(Segment::new(
        0,
        16,
        SegmentKind::Thin(Box::new(Thin {
            thin_pool: "pool".into(),
            transaction_id: 1,
            device_id: 1,
            external_origin: None,
            origin: None,
            merge: None,
        })),
    ));
    vg.lvs.push(thin);
    let mut snap = LogicalVolume::new("thinsnap", id(26));
    snap.segments.push(Segment::new(
        0,
        16,
        SegmentKind::Thin(Box::new(Thin {
            thin_pool: "pool".into(),
            transaction_id: 2,
            device_id: 2,
            external_origin: Some("ext".into()),
            origin: Some("thin".into()),
            merge: Some("m".into()),
        })),
    ));
    vg.lvs.push(snap);
    let mut ext = LogicalVolume::new("ext", id(27));
    ext.segments.push(Segment::linear(0, 16, pv0, 40));
    vg.lvs.push(ext);
    let mut mirror = LogicalVolume::new("mirror", id(28));
    mirror.segments.push(Segment::new(
        0,
        2,
        SegmentKind::Mirror(Mirror {
            extents_moved: None,
            mirror_log: None,
            region_size: Some(1024),
            mirrors: vec![
                Area::Lv {
                    name: "linear".into(),
                    start: 0,
                },
                Area::Lv {
                    name: "ext".into(),
                    start: 0,
                },
            ],
        }),
    ));
    vg.lvs.push(mirror);
    let mut over_lv = LogicalVolume::new("over_lv", id(29));
    over_lv.segments.push(Segment::striped(
        0,
        2,
        0,
        vec![Area::Lv {
            name: "ext".into(),
            start: 3,
        }],
    ));
    vg.lvs.push(over_lv);
    Metadata::new(
        vg,
        Header::new(
            "2.03.16(2) (2022-05-18)",
            "fast path",
            "host",
            "Linux host",
            1_700_000_000,
            0,
        ),
    )
}

#[test]
fn lvm2_texts_read_the_same() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/lvm2-2.03.16"
    );
    let mut checked = 0;
    for sub in ["guest", "host"] {
        let Ok(entries) = std::fs::read_dir(format!("{dir}/{sub}")) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.to_string_lossy().into_owned();
            if name.ends_with(".vg") || name.ends_with("_metadata.bin") {
                let text = std::fs::read(&path).expect("read fixture");
                same(&text);
                let parsed = parse_metadata(&text).expect("LVM2's text parses");
                same(&emit_ondisk(&parsed));
                same(&emit_backup(&parsed));
                checked += 1;
            }
        }
    }
    assert!(checked >= 4, "fixtures found: {checked}");
}

#[test]
fn every_lv_kind_reads_the_same_in_both_forms() {
    let m = sample();
    for text in [emit_ondisk(&m), emit_backup(&m)] {
        same(&text);
        let back = parse_metadata(&text).expect("parses");
        // Emitting puts hidden LVs last; everything else comes back as it was.
        assert_eq!(back.vg.lvs.len(), m.vg.lvs.len());
        for lv in &m.vg.lvs {
            assert_eq!(back.vg.lv(&lv.name), Some(lv));
        }
    }
}

/// Every line of the on-disk text removed, doubled, swapped with the next, preceded by a
/// comment or an unknown key, and each of its numbers and strings rewritten in other forms.
#[test]
fn damaged_texts_read_the_same() {
    let text = String::from_utf8(emit_ondisk(&sample())).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    let join = |lines: &[String]| {
        let mut out = lines.join("\n");
        out.push('\n');
        out
    };
    let mut variants = 0;
    for i in 0..lines.len() {
        let mut edits: Vec<Vec<String>> = Vec::new();
        let base: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let mut removed = base.clone();
        removed.remove(i);
        edits.push(removed);
        let mut doubled = base.clone();
        doubled.insert(i, lines[i].to_string());
        edits.push(doubled);
        if i + 1 < lines.len() {
            let mut swapped = base.clone();
            swapped.swap(i, i + 1);
            edits.push(swapped);
        }
        for insert in [
            "# comment",
            "unknown = 1",
            "segment9 = 1",
            "x { }",
            "\"quoted\" = 1",
            "",
            "}",
        ] {
            let mut v = base.clone();
            v.insert(i, insert.to_string());
            edits.push(v);
        }
        let line = lines[i];
        let mut rewritten = Vec::new();
        if let Some((key, value)) = line.split_once(" = ") {
            for new in [
                "0",
                "010",
                "08",
                "-1",
                "1.5",
                "4294967296",
                "9223372036854775808",
                "\"7\"",
                "[]",
                "[\"a\"]",
                "[1]",
                "bare",
                "'single'",
                "\"esc\\\"aped\"",
                "\"\"",
            ] {
                rewritten.push(format!("{key} = {new}"));
            }
            if let Some(unquoted) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                rewritten.push(format!("{key} = {unquoted}"));
                rewritten.push(format!("{key} = '{unquoted}'"));
            }
            rewritten.push(format!("{key} = {value} # trailing"));
            rewritten.push(format!("{key}={value}"));
            rewritten.push(format!("\t{key}   =\t{value}  "));
            rewritten.push(format!("\"{key}\" = {value}"));
            rewritten.push(format!("{key} = [{value},]"));
            rewritten.push(format!("{key} = {value}, 5"));
        }
        if let Some(head) = line.strip_suffix(" {") {
            rewritten.push(format!("{head} {{ # c"));
            rewritten.push(format!("{head}{{"));
            rewritten.push(format!("{head}2 {{"));
            rewritten.push(format!("\"{head}\" {{"));
        }
        if line.starts_with('"') {
            rewritten.push(line.replace(", ", " "));
            rewritten.push(line.replace(", ", ",, "));
            rewritten.push(line.replace('"', ""));
        }
        for new in rewritten {
            let mut v = base.clone();
            v[i] = new;
            edits.push(v);
        }
        for edit in edits {
            same(join(&edit).as_bytes());
            variants += 1;
        }
    }
    assert!(variants > 1000, "{variants}");
}
