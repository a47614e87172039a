//! Every class of bad input gets its own typed error with the line it is on, and no input at
//! all makes the parser panic.

use std::fs;
use std::path::Path;

use metadata_format::text::{
    emit_backup, emit_ondisk, parse_config, parse_metadata, TextError, MAX_DEPTH,
};

fn vgdemo_ondisk() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/lvm2-2.03.16/guest/vgdemo_ondisk_metadata.bin");
    let mut bytes = fs::read(path).unwrap();
    assert_eq!(bytes.pop(), Some(0));
    String::from_utf8(bytes).unwrap()
}

/// vgdemo's on-disk text with the first `from` replaced by `to`.
fn vgdemo_with(from: &str, to: &str) -> String {
    let text = vgdemo_ondisk();
    assert!(text.contains(from), "{from:?}");
    text.replacen(from, to, 1)
}

fn config_error(text: &str) -> TextError {
    parse_config(text.as_bytes()).expect_err(text)
}

fn metadata_error(text: &str) -> TextError {
    parse_metadata(text.as_bytes()).expect_err("should be refused")
}

#[test]
fn truncated_texts() {
    let text = vgdemo_ondisk();
    let half = &text[..text.len() / 2];
    assert!(matches!(
        metadata_error(half),
        TextError::UnexpectedEnd { .. }
    ));
    assert_eq!(
        config_error("a {\n b = 1\n"),
        TextError::UnexpectedEnd {
            line: 3,
            context: "a section (missing '}')"
        }
    );
    assert_eq!(
        config_error("a = \"abc"),
        TextError::UnexpectedEnd {
            line: 1,
            context: "a quoted string"
        }
    );
    assert_eq!(
        config_error("a = [1,\n2"),
        TextError::UnexpectedEnd {
            line: 1,
            context: "an array"
        }
    );
    assert!(matches!(
        config_error("a =\n"),
        TextError::UnexpectedEnd { line: 2, .. }
    ));
    assert!(matches!(
        config_error("key"),
        TextError::UnexpectedEnd { line: 1, .. }
    ));
}

#[test]
fn wrong_nesting() {
    assert_eq!(
        config_error("a = 1\n}\n"),
        TextError::Unexpected {
            line: 2,
            expected: "a key or the end of the text",
            found: '}'
        }
    );
    assert_eq!(
        config_error("a = {\n}"),
        TextError::Unexpected {
            line: 1,
            expected: "a value",
            found: '{'
        }
    );
    assert_eq!(
        config_error("a = [\n[1]]"),
        TextError::Unexpected {
            line: 2,
            expected: "an array element or ']'",
            found: '['
        }
    );
    assert!(matches!(
        metadata_error(&vgdemo_with("\n}\n# Generated", "\n}\n}\n# Generated")),
        TextError::Unexpected { found: '}', .. }
    ));
    let deep = "a {".repeat(MAX_DEPTH + 1);
    assert_eq!(
        config_error(&deep),
        TextError::TooDeep {
            line: 1,
            limit: MAX_DEPTH
        }
    );
}

#[test]
fn duplicate_keys() {
    assert_eq!(
        config_error("a = 1\nb = 2\na = 3\n"),
        TextError::DuplicateKey {
            line: 3,
            key: "a".into()
        }
    );
    assert_eq!(
        config_error("s {\n}\ns {\n}\n"),
        TextError::DuplicateKey {
            line: 3,
            key: "s".into()
        }
    );
    // Large sections (many LVs) use a different check; it must catch duplicates too.
    let mut many = String::from("lvs {\n");
    for n in 0..40 {
        many.push_str(&format!("lv{n} {{\n}}\n"));
    }
    many.push_str("lv7 {\n}\n}\n");
    assert_eq!(
        config_error(&many),
        TextError::DuplicateKey {
            line: 82,
            key: "lv7".into()
        }
    );
    // LV names are checked while the LVs are converted one by one.
    assert_eq!(
        metadata_error(&vgdemo_with("\nstriped {\n", "\nlinear {\n")),
        TextError::DuplicateKey {
            line: 71,
            key: "linear".into()
        }
    );
    let text = vgdemo_with("seqno = 14\n", "seqno = 14\nseqno = 15\n");
    assert_eq!(
        metadata_error(&text),
        TextError::DuplicateKey {
            line: 4,
            key: "seqno".into()
        }
    );
}

#[test]
fn integers_out_of_range() {
    assert_eq!(
        config_error("a = 9223372036854775808"),
        TextError::IntegerOutOfRange {
            line: 1,
            text: "9223372036854775808".into()
        }
    );
    assert!(matches!(
        config_error("a = [1, -9223372036854775809]"),
        TextError::IntegerOutOfRange { .. }
    ));
    // In range for the language, out of range for the field.
    let error = metadata_error(&vgdemo_with("seqno = 14", "seqno = 4294967296"));
    assert!(
        matches!(&error, TextError::InvalidValue { line: 3, key, .. } if key == "seqno"),
        "{error:?}"
    );
    let error = metadata_error(&vgdemo_with("pe_count = 255", "pe_count = -1"));
    assert!(
        matches!(&error, TextError::InvalidValue { line: 22, key, .. } if key == "pe_count"),
        "{error:?}"
    );
}

#[test]
fn malformed_numbers() {
    for text in ["a = 1x", "a = 09", "a = 1.2.3", "a = -", "a = ."] {
        assert!(
            matches!(config_error(text), TextError::InvalidNumber { line: 1, .. }),
            "{text}"
        );
    }
}

#[test]
fn non_utf8_text() {
    assert_eq!(
        parse_config(b"a = 1\nb = \"\xff\xfe\"\n").unwrap_err(),
        TextError::NotUtf8 { line: 2 }
    );
    let mut text = vgdemo_ondisk().into_bytes();
    text[40] = 0xc3;
    assert!(matches!(
        parse_metadata(&text).unwrap_err(),
        TextError::NotUtf8 { line: 2 }
    ));
}

#[test]
fn missing_equals_and_empty_keys() {
    assert_eq!(
        config_error("a = 1\nb 2\n"),
        TextError::MissingEquals {
            line: 2,
            key: "b".into()
        }
    );
    assert_eq!(
        metadata_error(&vgdemo_with("seqno = 14", "seqno 14")),
        TextError::MissingEquals {
            line: 3,
            key: "seqno".into()
        }
    );
    assert_eq!(config_error("= 1"), TextError::EmptyKey { line: 1 });
    assert_eq!(config_error("\"\" = 1"), TextError::EmptyKey { line: 1 });
}

#[test]
fn metadata_shape_errors() {
    assert_eq!(
        metadata_error(&vgdemo_with("extent_size = 8192\n", "")),
        TextError::MissingKey {
            line: 1,
            section: "volume group vgdemo".into(),
            key: "extent_size"
        }
    );
    assert!(matches!(
        metadata_error(&vgdemo_with("seqno = 14", "seqno = \"14\"")),
        TextError::WrongType {
            line: 3,
            expected: "an integer",
            ..
        }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with(
            "status = [\"ALLOCATABLE\"]",
            "status = \"ALLOCATABLE\""
        )),
        TextError::WrongType { line: 18, .. }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with(
            "id = \"W1IaKT-Kimt-zfvm-sZE1-fRNY-ObeX-Dy8az6\"",
            "id = \"W1IaKT-Kimt\""
        )),
        TextError::InvalidValue { line: 15, .. }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with("segment_count = 1", "segment_count = 2")),
        TextError::InvalidValue { line: 56, .. }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with("stripe_count = 2", "stripe_count = 3")),
        TextError::InvalidValue { .. }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with("\"pv0\", 16,", "\"pv0\", \"16\",")),
        TextError::WrongType { .. }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with("device_count = 2", "device_count = 3")),
        TextError::InvalidValue { .. }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with("cow_store = \"snap\"", "")),
        TextError::MissingKey {
            key: "merging_store",
            ..
        }
    ));
    assert_eq!(
        metadata_error("contents = \"Text Format Volume Group\"\nversion = 1\n"),
        TextError::NoVolumeGroup { line: 3 }
    );
    assert!(matches!(
        metadata_error(&vgdemo_with("version = 1", "version = 2")),
        TextError::InvalidValue { .. }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with(
            "contents = \"Text Format Volume Group\"\n",
            ""
        )),
        TextError::MissingKey {
            key: "contents",
            ..
        }
    ));
    assert!(matches!(
        metadata_error(&vgdemo_with(
            "physical_volumes {\n\npv0 {",
            "physical_volumes {\nx = 1\npv0 {"
        )),
        TextError::WrongType { line: 13, .. }
    ));
}

#[test]
fn errors_read_as_sentences() {
    let error = metadata_error(&vgdemo_with("extent_size = 8192\n", ""));
    assert_eq!(
        error.to_string(),
        "line 1: volume group vgdemo has no 'extent_size'"
    );
    assert_eq!(error.line(), 1);
}

/// A small deterministic generator, so the damage is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// What holds for any text the parser accepts: both written forms read back, and writing
/// what was read back is stable.
fn check_accepted(input: &[u8]) {
    let Ok(metadata) = parse_metadata(input) else {
        return;
    };
    for emit in [emit_ondisk, emit_backup] {
        let first = emit(&metadata);
        let read = parse_metadata(&first).unwrap_or_else(|e| {
            panic!(
                "own output refused: {e}\n--- input\n{}\n--- output\n{}",
                String::from_utf8_lossy(input),
                String::from_utf8_lossy(&first)
            )
        });
        assert_eq!(read.vg.name, metadata.vg.name);
        assert_eq!(read.vg.lvs.len(), metadata.vg.lvs.len());
        let second = emit(&read);
        let third = emit(&parse_metadata(&second).expect("stable output reads back"));
        assert!(
            second == third,
            "unstable output\n--- second\n{}\n--- third\n{}",
            String::from_utf8_lossy(&second),
            String::from_utf8_lossy(&third)
        );
    }
}

#[test]
fn no_input_makes_the_parser_panic() {
    let text = vgdemo_ondisk().into_bytes();
    // Every truncation.
    for end in 0..text.len() {
        let _ = parse_metadata(&text[..end]);
    }
    // Damaged bytes and inserted fragments: structural characters, quotes, digits, high
    // bytes, NULs, unknown keys and sections, names that clash with generated ones.
    let mut rng = Lcg(7);
    let noise = b"{}[]=,\"'#\n\\0-9. a\xff\x00";
    let fragments: [&[u8]; 8] = [
        b"x = 1\n",
        b"y {\nz = [1, \"a\"]\n}\n",
        b"segment3 = 1\n",
        b"message1 = 2\n",
        b"\"odd name\" {\n}\n",
        b"# comment\n",
        b"\n\n",
        b"tags = [\"t\"]\n",
    ];
    for round in 0..2500 {
        let mut damaged = text.clone();
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() as usize) % damaged.len();
            if round % 2 == 0 {
                damaged[at] = noise[(rng.next() as usize) % noise.len()];
            } else {
                // Insert at a line start so most results still parse and exercise the model.
                let line_start = damaged[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |n| n + 1);
                let fragment = fragments[(rng.next() as usize) % fragments.len()];
                damaged.splice(line_start..line_start, fragment.iter().copied());
            }
        }
        let _ = parse_config(&damaged);
        check_accepted(&damaged);
    }
    check_accepted(&text);
    check_accepted(
        &fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"),
        )
        .unwrap(),
    );
}
