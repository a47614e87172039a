//! `oxlvm pvck --dump headers|metadata` on images of PVs written by real LVM2: the output must
//! equal what LVM2's own pvck printed (`*.headers.txt`) and the committed text sliced out of
//! the image (`*_ondisk_metadata.bin`), byte for byte.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lvm2-2.03.16");

fn oxlvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(args)
        .output()
        .expect("run oxlvm")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oxlvm-cli-pvck-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Rebuilds a sparse full-size PV from its first (and, where there is one, last) MiB, with the
/// device size LVM2's own dump states.
fn rebuild_pv(stem: &Path, expected_dump: &str, dir: &Path) -> PathBuf {
    use std::os::unix::fs::FileExt;
    let size: u64 = expected_dump
        .lines()
        .find_map(|l| l.trim().strip_prefix("pv_header.device_size "))
        .expect("dump states the device size")
        .parse()
        .unwrap();
    let out = dir.join(stem.file_name().unwrap());
    let f = std::fs::File::create(&out).unwrap();
    f.set_len(size).unwrap();
    let first = std::fs::read(stem.with_extension("img")).unwrap();
    f.write_all_at(&first, 0).unwrap();
    let last_path = PathBuf::from(format!("{}.last1MiB.img", stem.display()));
    if let Ok(last) = std::fs::read(last_path) {
        f.write_all_at(&last, size - last.len() as u64).unwrap();
    }
    out
}

fn header_fixtures() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for sub in ["guest", "host"] {
        for entry in std::fs::read_dir(Path::new(FIXTURES).join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let stem = name
                .strip_suffix(".pvck_headers.txt")
                .or_else(|| name.strip_suffix(".headers.txt"));
            if let Some(stem) = stem {
                out.push((path.clone(), path.with_file_name(stem)));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn dump_headers_equals_lvm2_pvck_on_every_fixture() {
    let fixtures = header_fixtures();
    assert!(
        fixtures.len() >= 11,
        "found {} header dumps",
        fixtures.len()
    );
    let dir = scratch("headers");
    for (txt, stem) in fixtures {
        let expected = std::fs::read_to_string(&txt).unwrap();
        let image = rebuild_pv(&stem, &expected, &dir);
        let sector = expected
            .lines()
            .find_map(|l| l.trim().strip_prefix("label_header.sector "))
            .unwrap()
            .to_string();
        let out = oxlvm(&[
            "pvck",
            "--dump",
            "headers",
            "--labelsector",
            &sector,
            image.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}: {:?}", txt.display(), out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{}",
            txt.display()
        );
        // Without --labelsector the label is found in whichever of sectors 0-3 holds it.
        let found = oxlvm(&["pvck", "--dump", "headers", image.to_str().unwrap()]);
        assert_eq!(String::from_utf8_lossy(&found.stdout), expected);
        std::fs::remove_file(&image).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dump_metadata_reproduces_the_committed_text() {
    for (img, bin) in [
        (
            "guest/vgdemo_pv0_final.img",
            "guest/vgdemo_ondisk_metadata.bin",
        ),
        (
            "guest/vgmda2_pv0_final.img",
            "guest/vgmda2_ondisk_metadata.bin",
        ),
    ] {
        let image = Path::new(FIXTURES).join(img);
        let out = oxlvm(&["pvck", "--dump", "metadata", image.to_str().unwrap()]);
        assert!(out.status.success(), "{img}: {out:?}");
        let stored = std::fs::read(Path::new(FIXTURES).join(bin)).unwrap();
        assert_eq!(stored.last(), Some(&0u8));
        assert_eq!(out.stdout, stored[..stored.len() - 1], "{img}");
    }
}

#[test]
fn dump_metadata_reads_a_wrapped_text() {
    let image = Path::new(FIXTURES).join("host/vgwrap_pv0_wrapped.img");
    let out = oxlvm(&["pvck", "--dump", "metadata", image.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    // The fixture's committed copy is seqno 18 with 17 LVs, 5676 bytes including its NUL.
    assert_eq!(text.len(), 5675);
    assert!(text.starts_with("vgwrap {\n"));
    assert!(text.contains("seqno = 18\n"));
    assert_eq!(text.matches("\nlv_wrap_test_").count(), 17);
    // And it is the same text LVM2 backed up (same VG sections, modulo the backup form).
    let backup =
        std::fs::read_to_string(Path::new(FIXTURES).join("host/vgwrap_wrapped.vg")).unwrap();
    assert!(backup.contains("lv_wrap_test_17"));
}

#[test]
fn dump_metadata_to_file() {
    let dir = scratch("file");
    let dest = dir.join("meta.txt");
    let image = Path::new(FIXTURES).join("guest/vgmda2_pv0_final.img");
    let out = oxlvm(&[
        "pvck",
        "--dump",
        "metadata",
        "-f",
        dest.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    let stored =
        std::fs::read(Path::new(FIXTURES).join("guest/vgmda2_ondisk_metadata.bin")).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), stored[..stored.len() - 1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn assert_one_line_error(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let dir = scratch("bad");
    let zero = dir.join("zero.img");
    std::fs::write(&zero, vec![0u8; 1 << 20]).unwrap();
    let missing = dir.join("missing.img");
    let orphan = Path::new(FIXTURES).join("guest/pv_after_pvcreate.img");
    let copy = dir.join("orphan.img");
    std::fs::copy(&orphan, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();

    assert_one_line_error(
        &oxlvm(&["pvck", "--dump", "headers", zero.to_str().unwrap()]),
        5,
    );
    assert_one_line_error(
        &oxlvm(&["pvck", "--dump", "metadata", missing.to_str().unwrap()]),
        5,
    );
    // An orphan PV has a label but no committed text.
    assert_one_line_error(
        &oxlvm(&["pvck", "--dump", "metadata", copy.to_str().unwrap()]),
        5,
    );
    assert_one_line_error(
        &oxlvm(&["pvck", "--dump", "bogus", copy.to_str().unwrap()]),
        3,
    );
    assert_one_line_error(&oxlvm(&["pvck", "--dump", "headers"]), 3);
    assert_one_line_error(
        &oxlvm(&[
            "pvck",
            "--dump",
            "headers",
            "--labelsector",
            "7",
            copy.to_str().unwrap(),
        ]),
        3,
    );
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}
