//! Round trips of every LVM2-written text in the fixtures through the parser and emitters.

use std::fs;
use std::path::{Path, PathBuf};

use metadata_format::text::{emit_backup, emit_ondisk, parse_metadata};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/lvm2-2.03.16")
}

fn show_diff(expected: &[u8], actual: &[u8]) -> String {
    let e = String::from_utf8_lossy(expected);
    let a = String::from_utf8_lossy(actual);
    for (n, (el, al)) in e.lines().zip(a.lines()).enumerate() {
        if el != al {
            return format!(
                "first difference at line {}:\nexpected: {el:?}\nactual:   {al:?}",
                n + 1
            );
        }
    }
    format!(
        "lengths differ: expected {} lines, got {}",
        e.lines().count(),
        a.lines().count()
    )
}

#[test]
fn backups_round_trip() {
    for path in [
        "guest/vgdemo.vg",
        "guest/vgmda2.vg",
        "host/vgvar.vg",
        "host/vgvar_pvmove_in_progress.vg",
        "host/vgwrap_wrapped.vg",
        "host/vgdemo_restored_nodm.vg",
    ] {
        let text = fs::read(fixtures().join(path)).unwrap();
        let metadata = parse_metadata(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let out = emit_backup(&metadata);
        assert!(out == text, "{path}: {}", show_diff(&text, &out));
    }
}

#[test]
fn ondisk_round_trip() {
    for path in [
        "guest/vgdemo_ondisk_metadata.bin",
        "guest/vgmda2_ondisk_metadata.bin",
    ] {
        let raw = fs::read(fixtures().join(path)).unwrap();
        let text = raw.strip_suffix(b"\0").unwrap();
        let metadata = parse_metadata(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let out = emit_ondisk(&metadata);
        assert!(out == text, "{path}: {}", show_diff(text, &out));
    }
}
