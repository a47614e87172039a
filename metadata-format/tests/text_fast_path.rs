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
    striped.rare.read_ahead = Some(ReadAhead::Sectors(256));
    striped.rare.major = Some(253);
    striped.rare.minor = Some(7);
    striped.rare.allocation_policy = Some(AllocationPolicy::Contiguous);
    striped.rare.profile = Some("prof".into());
    striped.rare.lock_args = Some("la".into());
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

/// Byte offsets of the starts of the lines opening a section (`KEY {`): the LV boundaries a
/// second thread can start at, and the segment starts it must not take for one.
fn section_starts(text: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    for line in text.split(|&b| b == b'\n') {
        if line.ends_with(b"{") {
            let indent = line.iter().take_while(|b| b.is_ascii_whitespace()).count();
            starts.push(at + indent);
        }
        at += line.len() + 1;
    }
    starts
}

#[track_caller]
fn same_split(text: &[u8], at: Option<usize>) -> bool {
    same_splits(text, &[at]) > 0
}

/// `same_split` for each start in `ats`; how many times the second thread's LVs were used.
#[track_caller]
fn same_splits(text: &[u8], ats: &[Option<usize>]) -> usize {
    let slow = parse_metadata_without_fast_path(text);
    let mut used = 0;
    for &at in ats {
        let (split, was_used) = parse_metadata_split(text, at);
        used += usize::from(was_used);
        check_split(text, at, &split, &slow);
    }
    used
}

#[track_caller]
fn check_split(
    text: &[u8],
    at: Option<usize>,
    split: &Result<Metadata, TextError>,
    slow: &Result<Metadata, TextError>,
) {
    if split != slow {
        let shown = String::from_utf8_lossy(&text[..text.len().min(20_000)]);
        match (&split, &slow) {
            (Ok(a), Ok(b)) if a.vg.lvs.len() != b.vg.lvs.len() => panic!(
                "a second thread from {at:?}: {} LVs, not {}:\n{shown}",
                a.vg.lvs.len(),
                b.vg.lvs.len()
            ),
            (Ok(_), Ok(_)) => panic!("a second thread from {at:?} reads differently:\n{shown}"),
            _ => panic!(
                "a second thread from {at:?}: {:?}, not {:?}:\n{shown}",
                split.as_ref().err(),
                slow.as_ref().err()
            ),
        }
    }
}

/// A second thread reading the `logical_volumes` section ahead, started at every byte of the
/// text (an LV boundary or not, inside a string, in another section): the result is always
/// the full path's, and at LV boundaries its LVs are taken.
#[test]
fn a_second_thread_from_any_byte_reads_the_same() {
    let m = sample();
    for text in [emit_ondisk(&m), emit_backup(&m)] {
        let ats: Vec<Option<usize>> = (0..=text.len() + 1).map(Some).collect();
        let used = same_splits(&text, &ats);
        // Every LV the fast path reads can start the second thread's run (and the LVs after
        // them up to the next it cannot read).
        assert!(used >= 5, "second thread's LVs used {used} times");
        same_split(&text, None);
    }
}

fn check_at_section_starts(lines: &[&str]) {
    let text = lines.join("\n") + "\n";
    let mut ats = vec![None];
    ats.extend(section_starts(text.as_bytes()).into_iter().map(Some));
    same_splits(text.as_bytes(), &ats);
}

/// Damaged texts read with a second thread started at each section line and at the guessed
/// boundary give what the full path gives.
#[test]
fn damaged_texts_read_the_same_with_a_second_thread() {
    let text = String::from_utf8(emit_ondisk(&sample())).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    let mut variants = 0;
    for i in 0..lines.len() {
        let mut removed = lines.clone();
        removed.remove(i);
        for insert in ["# comment", "}", "x {"] {
            let mut v: Vec<&str> = lines.clone();
            v.insert(i, insert);
            variants += 1;
            check_at_section_starts(&v);
        }
        check_at_section_starts(&removed);
    }
    assert!(variants > 200, "{variants}");
}

/// A VG large enough for the real threshold: the guessed boundary is an LV's start and the
/// second thread's LVs are used; an LV the fast path cannot read in the second half (a
/// comment) is read by the first thread after the second thread's run.
#[test]
fn a_large_vg_is_read_on_two_threads() {
    let mut vg = VolumeGroup::new("vgbig", id(1), 2048);
    vg.pvs.push(PhysicalVolume::new(
        id(2),
        "/dev/sdz",
        1 << 40,
        2048,
        100_000,
    ));
    let pv = vg.pvs[0].id;
    // 4,500 LVs: the second thread's ~2,250 fill more than one of its pieces (2,048 LVs).
    for n in 0..4500u32 {
        let mut lv = LogicalVolume::new(&format!("pvc-{n:08}-data"), id(1000 + u64::from(n)));
        lv.creation_time = Some(1_795_929_501 + u64::from(n));
        lv.creation_host = Some("bench".to_string());
        lv.tags = vec!["owner=csi".to_string()];
        lv.segments.push(Segment::linear(0, 1, pv, n));
        vg.lvs.push(lv);
    }
    let header = Header::new("2.03.16(2) (2022-05-18)", "big", "host", "Linux host", 0, 0);
    let text = emit_ondisk(&Metadata::new(vg, header));
    assert!(text.len() > 640 * 1024, "{}", text.len());
    let parsed = parse_metadata(&text).expect("parses");
    assert_eq!(parsed.vg.lvs.len(), 4500);
    assert!(same_split(&text, None), "the guessed boundary was used");
    let s = String::from_utf8(text).expect("utf-8");
    let late = s.find("pvc-00002900-data {").expect("LV 2900");
    let commented = format!("{}# c\n{}", &s[..late], &s[late..]);
    assert!(same_split(commented.as_bytes(), None));
    let duplicate = s.replacen("pvc-00002950-data {", "pvc-00000001-data {", 1);
    same_split(duplicate.as_bytes(), None);
    same(duplicate.as_bytes());
    assert!(parse_metadata(duplicate.as_bytes()).is_err());
}

/// The fast path matches the keys LVM2 writes at the current byte (`key = `, `segmentN {`)
/// and reads each value as the kind its key takes; anything written another way (spacing,
/// escapes, octal or padded numbers, other key spellings) must still read as the full
/// grammar reads it, whether the fast path reads it or hands the LV over.
#[test]
fn keys_and_values_written_another_way_read_the_same() {
    let mut model = sample();
    model.vg.lvs[0].creation_host = Some("a-host-name-longer-than-thirty-two-bytes".into());
    model.vg.lvs[0].tags.push("t".repeat(40));
    let text = String::from_utf8(emit_ondisk(&model)).expect("text");
    let edits: &[(&str, &str)] = &[
        (" = ", "="),
        (" = ", "  =  "),
        (" = ", " =\t"),
        (" = ", " = \n"),
        (" = ", " = # c\n"),
        ("segment1 {", "segment1{"),
        ("segment1 {", "segment01 {"),
        ("segment1 {", "segment1  {"),
        ("segment1 {", "segment1x {"),
        ("segment1 {", "segment1 = 1\nsegment1 {"),
        ("segment1 {", "segment99999999999999999999999 {"),
        ("segment_count = ", "segment_count="),
        ("segment_count = ", "segments_count = "),
        ("segment_count = 1", "segment_count = 01"),
        ("id = \"", "id = \"-"),
        ("id = \"", "id = \"\\"),
        ("id = \"", "idx = \""),
        ("\"READ\"", "\"RE\\AD\""),
        ("\"READ\"", "READ"),
        ("\"READ\", ", "\"READ\",, "),
        ("\"READ\", ", "\"READ\" "),
        ("status = [", "status = [ "),
        ("\"VISIBLE\"]", "\"VISIBLE\",]"),
        ("\"VISIBLE\"]", "\"VISIBLE\"]]"),
        ("\"WRITE\"]", "\"WRITE\" ]"),
        ("\"WRITE\"", "\"WRITE\", \"VISIBLE\", \"VISIBLE\""),
        ("flags = []", "flags = []]"),
        ("flags = []", "flags = [],"),
        ("\"striped\"", "\"striped\"\""),
        ("\"striped\"", "\"stripedx\""),
        ("flags = []", "flags = [ ]"),
        ("flags = []", "flags = [\"A\", \"B\"]"),
        ("tags = [\"", "tags = [\"\\\""),
        ("\"striped\"", "\"stri\\ped\""),
        ("\"striped\"", "\"striped+A+B\""),
        ("\"striped\"", "\"striped+\""),
        ("\"thin\"", "\"thin+X\""),
        ("\"pv0\"", "\"p\\v0\""),
        ("\"pv0\", ", "\"pv0\" "),
        ("\"pv0\", 0", "\"pv0\", 00"),
        ("\"pv0\", 0", "\"pv0\", 0x"),
        ("\"pv0\", 0", "\"pv0\", -1"),
        ("\"pv0\", 0", "\"pv0\", 4294967296"),
        ("\"pv0\", 0", "\"pv0\", 0]"),
        ("start_extent = 0", "start_extent = 010"),
        ("start_extent = 0", "start_extent = 0.0"),
        ("start_extent = 0", "start_extent = 0"),
        ("extent_count = ", "extent_count = -"),
        ("extent_count = 4", "extent_count = 4294967296"),
        ("extent_count = 4", "extent_count = 99999999999999999999"),
        ("creation_time = ", "creation_time = 0"),
        ("creation_time = ", "creation_time = -"),
        ("creation_host = \"", "creation_host = \"\\n"),
        ("creation_host = \"", "creation_host = "),
        ("stripe_count = ", "stripe_count = \"1\"\nx = "),
        ("type = ", "type = 1\ntype = "),
        ("transaction_id = ", "transaction_id = 0"),
        ("device_id = ", "device_id = -"),
        ("\n}\n", " }\n"),
        ("\n}\n", "\n}}\n"),
    ];
    let mut changed = 0;
    for &(from, to) in edits {
        // Each occurrence alone, then all of them.
        for (at, _) in text.match_indices(from) {
            let edited = format!("{}{}{}", &text[..at], to, &text[at + from.len()..]);
            same(edited.as_bytes());
            changed += 1;
        }
        same(text.replace(from, to).as_bytes());
    }
    assert!(changed > 300, "edits applied: {changed}");
}
