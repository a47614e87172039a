//! Every metadata text real LVM2 wrote into the fixtures goes through the parser and comes
//! back out of the emitters byte for byte: the backup files, the on-disk slices, all 14
//! versions in vgdemo's ring dump, and every complete text found in the PV images (the
//! committed ones located through `pvck --dump headers` and checked against its checksums).

use std::fs;
use std::path::{Path, PathBuf};

use metadata_format::crc::lvm_crc;
use metadata_format::text::{emit_backup, emit_ondisk, parse_metadata, Metadata};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/lvm2-2.03.16")
}

fn read(path: &str) -> Vec<u8> {
    fs::read(fixtures().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str, text: &[u8]) -> Metadata {
    parse_metadata(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first differing line, for readable failures.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let expected = String::from_utf8_lossy(expected);
    let actual = String::from_utf8_lossy(actual);
    let mut a = actual.split('\n');
    for (n, line) in expected.split('\n').enumerate() {
        let other = a.next();
        if other != Some(line) {
            return format!("line {}: expected {line:?}, got {other:?}", n + 1);
        }
    }
    format!("output has extra lines: {:?}", a.collect::<Vec<_>>())
}

fn assert_same(name: &str, expected: &[u8], actual: &[u8]) {
    assert!(
        expected == actual,
        "{name}: {}",
        first_difference(expected, actual)
    );
}

const BACKUPS: [&str; 6] = [
    "guest/vgdemo.vg",
    "guest/vgmda2.vg",
    "host/vgvar.vg",
    "host/vgvar_pvmove_in_progress.vg",
    "host/vgwrap_wrapped.vg",
    "host/vgdemo_restored_nodm.vg",
];

#[test]
fn every_backup_file_is_reproduced_byte_for_byte() {
    for path in BACKUPS {
        let text = read(path);
        let metadata = parse(path, &text);
        assert_same(path, &text, &emit_backup(&metadata));
    }
}

#[test]
fn ondisk_slices_are_reproduced_byte_for_byte() {
    for path in [
        "guest/vgdemo_ondisk_metadata.bin",
        "guest/vgmda2_ondisk_metadata.bin",
    ] {
        let raw = read(path);
        let text = raw.strip_suffix(b"\0").expect("the slice ends in a NUL");
        let metadata = parse(path, text);
        assert_same(path, text, &emit_ondisk(&metadata));
        // The NUL is accepted too, as the ring stores it.
        assert_eq!(parse(path, &raw), metadata);
    }
}

/// `pvck --dump metadata_search` lines: (length incl. NUL, checksum, seqno).
fn search_listing() -> Vec<(usize, u32, u32)> {
    let listing = String::from_utf8(read("guest/vgdemo_pv0_metadata_search.txt")).unwrap();
    listing
        .lines()
        .filter(|line| line.trim_start().starts_with("metadata at"))
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let field = |name: &str| {
                let at = words.iter().position(|w| *w == name).unwrap();
                words[at + 1]
            };
            (
                field("length").parse().unwrap(),
                u32::from_str_radix(field("crc"), 16).unwrap(),
                field("seqno").parse().unwrap(),
            )
        })
        .collect()
}

/// The ring dump separates the texts (each without its NUL) by a line `--`.
fn ring_versions() -> Vec<Vec<u8>> {
    let dump = read("guest/vgdemo_pv0_metadata_all.txt");
    let text = String::from_utf8(dump).unwrap();
    text.split("\n--\n")
        .map(|t| t.as_bytes().to_vec())
        .collect()
}

#[test]
fn all_fourteen_ring_versions_are_reproduced() {
    let versions = ring_versions();
    let listing = search_listing();
    assert_eq!(versions.len(), 14);
    assert_eq!(listing.len(), 14);
    for (text, (length, crc, seqno)) in versions.iter().zip(listing) {
        // The extraction is exact: length and checksum match what pvck found on disk.
        let mut with_nul = text.clone();
        with_nul.push(0);
        assert_eq!(with_nul.len(), length, "seqno {seqno}");
        assert_eq!(lvm_crc(&with_nul), crc, "seqno {seqno}");
        let name = format!("ring version seqno {seqno}");
        let metadata = parse(&name, text);
        assert_eq!(metadata.vg.seqno, seqno);
        assert_same(&name, text, &emit_ondisk(&metadata));
    }
}

/// Committed text of an image's first metadata area, located by its `pvck` header dump and
/// joined across the ring's end when it wraps; returns the text without its NUL.
fn committed_text(image: &str, headers: &str) -> Vec<u8> {
    let dump = String::from_utf8(read(headers)).unwrap();
    let field = |name: &str| -> u64 {
        let line = dump
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{headers}: no {name}"));
        let value = line.split_whitespace().nth(1).unwrap();
        match value.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => value.parse().unwrap(),
        }
    };
    let start = field("mda_header_1.start") as usize;
    let area = field("mda_header_1.size") as usize;
    let offset = field("mda_header_1.raw_locn[0].offset") as usize;
    let size = field("mda_header_1.raw_locn[0].size") as usize;
    let checksum = field("mda_header_1.raw_locn[0].checksum") as u32;
    let bytes = read(image);
    let mut text = Vec::with_capacity(size);
    let first = size.min(area - offset);
    text.extend_from_slice(&bytes[start + offset..start + offset + first]);
    text.extend_from_slice(&bytes[start + 512..start + 512 + (size - first)]);
    assert_eq!(lvm_crc(&text), checksum, "{image}: committed text checksum");
    assert_eq!(text.pop(), Some(0), "{image}: text ends in a NUL");
    text
}

const COMMITTED: [(&str, &str); 9] = [
    (
        "guest/vgdemo_pv0_after_vgcreate.img",
        "guest/vgdemo_pv0_after_vgcreate.headers.txt",
    ),
    (
        "guest/vgdemo_pv0_after_lvcreate_linear.img",
        "guest/vgdemo_pv0_after_lvcreate_linear.headers.txt",
    ),
    (
        "guest/vgdemo_pv0_final.img",
        "guest/vgdemo_pv0_final.headers.txt",
    ),
    (
        "guest/vgdemo_pv1_final.img",
        "guest/vgdemo_pv1_final.headers.txt",
    ),
    (
        "guest/vgdemo_pv2_final.img",
        "guest/vgdemo_pv2_final.headers.txt",
    ),
    (
        "guest/vgmda2_pv0_final.img",
        "guest/vgmda2_pv0_final.headers.txt",
    ),
    (
        "host/vgvar_pv0_ba.img",
        "host/vgvar_pv0_ba.pvck_headers.txt",
    ),
    (
        "host/vgvar_pv2_label3_ignored.img",
        "host/vgvar_pv2_label3_ignored.pvck_headers.txt",
    ),
    (
        "host/vgwrap_pv0_wrapped.img",
        "host/vgwrap_pv0_wrapped.pvck_headers.txt",
    ),
];

#[test]
fn committed_texts_in_images_are_reproduced() {
    for (image, headers) in COMMITTED {
        let text = committed_text(image, headers);
        let metadata = parse(image, &text);
        assert_same(image, &text, &emit_ondisk(&metadata));
    }
}

/// Complete texts lying in an image's ring: each starts on a 512-byte boundary with
/// `<name> {` and ends at the NUL that follows the trailer's final blank line.
fn ring_texts(bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut texts = Vec::new();
    let mut at = 0;
    while at + 64 <= bytes.len() {
        let head = &bytes[at..at + 64];
        let name_len = head
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b"_.+-".contains(&b)))
            .unwrap_or(0);
        if name_len > 0 && head[name_len..].starts_with(b" {\nid = ") {
            let end = at + bytes[at..].iter().position(|&b| b == 0).unwrap();
            let text = &bytes[at..end];
            if text.ends_with(b"\n\n") {
                texts.push((at, text.to_vec()));
                at = end.next_multiple_of(512);
                continue;
            }
        }
        at += 512;
    }
    texts
}

#[test]
fn every_complete_text_in_every_ring_is_reproduced() {
    let mut found = 0;
    let mut images: Vec<PathBuf> = Vec::new();
    for dir in ["guest", "host"] {
        for entry in fs::read_dir(fixtures().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "img") {
                images.push(path);
            }
        }
    }
    images.sort();
    for path in images {
        let bytes = fs::read(&path).unwrap();
        for (offset, text) in ring_texts(&bytes) {
            let name = format!("{} at {offset}", path.display());
            let metadata = parse(&name, &text);
            assert_same(&name, &text, &emit_ondisk(&metadata));
            found += 1;
        }
    }
    // 14 versions on each final vgdemo PV, 1 and 2 in the earlier vgdemo snapshots, 2 in
    // each vgmda2 area, 3 in each vgvar area holding metadata, 1 in the restored vgdemo,
    // and in vgwrap's ring seqno 3 to 17 (1 and 2 were overwritten by the wrapped 18,
    // which itself is not contiguous).
    assert_eq!(found, 14 * 3 + 1 + 2 + 2 * 2 + 3 * 3 + 1 + 15);
}

#[test]
fn backups_and_their_ondisk_twins_hold_the_same_volume_group() {
    let without_nul = |mut bytes: Vec<u8>| {
        assert_eq!(bytes.pop(), Some(0));
        bytes
    };
    let ondisk_vgdemo = without_nul(read("guest/vgdemo_ondisk_metadata.bin"));
    let ondisk_vgmda2 = without_nul(read("guest/vgmda2_ondisk_metadata.bin"));
    let twins: [(&str, Vec<u8>); 5] = [
        ("guest/vgdemo.vg", ondisk_vgdemo),
        ("guest/vgmda2.vg", ondisk_vgmda2),
        (
            "host/vgvar.vg",
            committed_text(
                "host/vgvar_pv0_ba.img",
                "host/vgvar_pv0_ba.pvck_headers.txt",
            ),
        ),
        (
            "host/vgwrap_wrapped.vg",
            committed_text(
                "host/vgwrap_pv0_wrapped.img",
                "host/vgwrap_pv0_wrapped.pvck_headers.txt",
            ),
        ),
        (
            "host/vgdemo_restored_nodm.vg",
            ring_texts(&read("host/vgdemo_restored_nodm_pv0.img"))
                .pop()
                .unwrap()
                .1,
        ),
    ];
    for (backup, ondisk) in twins {
        let from_backup = parse(backup, &read(backup));
        let from_disk = parse(backup, &ondisk);
        assert_eq!(from_backup.vg, from_disk.vg, "{backup}");
        assert_eq!(from_backup.utc_offset, from_disk.utc_offset, "{backup}");
        // The headers are those of two different writes (vgcfgbackup vs. the last command).
        assert_eq!(from_backup.header.contents, from_disk.header.contents);
        assert_ne!(from_backup.header.description, from_disk.header.description);
        // Either form converts into the other exactly.
        assert_same(
            backup,
            &ondisk,
            &emit_ondisk(&Metadata {
                header: from_disk.header.clone(),
                ..from_backup.clone()
            }),
        );
        assert_same(
            backup,
            &read(backup),
            &emit_backup(&Metadata {
                header: from_backup.header.clone(),
                ..from_disk
            }),
        );
    }
}

#[test]
fn restored_vgdemo_differs_from_the_original_only_in_seqno_and_device_hints() {
    let original = parse("vgdemo.vg", &read("guest/vgdemo.vg")).vg;
    let restored = parse(
        "vgdemo_restored_nodm.vg",
        &read("host/vgdemo_restored_nodm.vg"),
    )
    .vg;
    assert_eq!(original.seqno + 1, restored.seqno);
    let hints: Vec<_> = restored.pvs.iter().map(|pv| pv.device.clone()).collect();
    assert_eq!(
        hints,
        ["/dev/loop0", "/dev/loop1", "/dev/loop2"].map(|d| Some(d.to_string()))
    );
    let mut normalized = restored.clone();
    normalized.seqno = original.seqno;
    for (pv, original_pv) in normalized.pvs.iter_mut().zip(&original.pvs) {
        pv.device = original_pv.device.clone();
    }
    assert_eq!(normalized, original);
}
