//! Ring placement and text reads against the texts LVM2 2.03.16 left in the fixture rings:
//! every recorded write location must follow from the one before it.

use std::path::PathBuf;

use metadata_format::crc::lvm_crc;
use metadata_format::header::{
    find_pv_label, max_text_size, place_next_text, read_text, MdaHeader, RawLocn, RingError,
    RingPiece,
};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/lvm2-2.03.16")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The committed header of an area with one text at `offset`/`size`.
fn header_with(start: u64, area: u64, offset: u64, size: u64) -> MdaHeader {
    let mut h = MdaHeader::new(start, area, false);
    h.raw_locns[0] = RawLocn {
        offset,
        size,
        checksum: 0,
        flags: 0,
    };
    h
}

/// `(absolute offset, size incl. NUL)` of every vgdemo text, seqno 1..14, from LVM2's
/// `pvck --dump metadata_search` of pv0.
fn vgdemo_history() -> Vec<(u64, u64)> {
    let text = String::from_utf8(fixture("guest/vgdemo_pv0_metadata_search.txt")).unwrap();
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("metadata at ")?;
            let mut words = rest.split_whitespace();
            let offset = words.next()?.parse().ok()?;
            let _ = words.next()?; // "length"
            let length = words.next()?.parse().ok()?;
            Some((offset, length))
        })
        .collect()
}

#[test]
fn placement_reproduces_all_fourteen_vgdemo_writes() {
    let history = vgdemo_history();
    assert_eq!(history.len(), 14);
    let (start, size) = (4096, 1_044_480);
    let first = place_next_text(&MdaHeader::new(start, size, false), history[0].1).unwrap();
    assert_eq!(start + first.offset, history[0].0);
    for pair in history.windows(2) {
        let (prev_abs, prev_len) = pair[0];
        let (next_abs, next_len) = pair[1];
        let h = header_with(start, size, prev_abs - start, prev_len);
        let p = place_next_text(&h, next_len).unwrap();
        assert_eq!(start + p.offset, next_abs, "after text at {prev_abs}");
        assert!(p.wrapped.is_none());
    }
}

#[test]
fn first_and_second_vgdemo_texts_land_where_the_brief_says() {
    let h = MdaHeader::new(4096, 1_044_480, false);
    assert_eq!(place_next_text(&h, 1085).unwrap().offset, 512);
    let h = header_with(4096, 1_044_480, 512, 1085);
    assert_eq!(place_next_text(&h, 1386).unwrap().offset, 2048);
}

/// `(area offset, size incl. NUL)` of every text still whole in the vgwrap ring, found by
/// the VG name at sector starts.
fn vgwrap_history(area: &[u8]) -> Vec<(u64, u64, u32)> {
    let mut out = Vec::new();
    for off in (512..area.len()).step_by(512) {
        if !area[off..].starts_with(b"vgwrap {\n") {
            continue;
        }
        let Some(nul) = area[off..].iter().position(|&b| b == 0) else {
            continue; // the wrapped text: no NUL before the end of the area
        };
        let text = std::str::from_utf8(&area[off..off + nul]).unwrap();
        let seqno: u32 = text
            .lines()
            .find_map(|l| l.strip_prefix("seqno = "))
            .unwrap()
            .parse()
            .unwrap();
        out.push((off as u64, nul as u64 + 1, seqno));
    }
    out
}

#[test]
fn vgwrap_ring_history_and_the_wrap_follow_from_placement() {
    let img = fixture("host/vgwrap_pv0_wrapped.img");
    let label = find_pv_label(&img).unwrap();
    let mda = label.pv_header.metadata_areas[0];
    assert_eq!((mda.offset, mda.size), (4096, 61440));
    let area = &img[4096..4096 + 61440];
    let header = MdaHeader::parse(area).unwrap();

    let history = vgwrap_history(area);
    assert!(history.len() >= 10, "{history:?}");
    for pair in history.windows(2) {
        assert_eq!(pair[0].2 + 1, pair[1].2, "consecutive seqnos");
        let h = header_with(4096, 61440, pair[0].0, pair[0].1);
        assert_eq!(place_next_text(&h, pair[1].1).unwrap().offset, pair[1].0);
    }

    // seqno 18 followed the last whole text and wrapped: 4608 bytes at the end of the area,
    // 1068 at offset 512 (README facts), at the location the committed slot records.
    let (last_off, last_len, last_seqno) = *history.last().unwrap();
    assert_eq!(last_seqno, 17);
    let p = place_next_text(&header_with(4096, 61440, last_off, last_len), 5676).unwrap();
    assert_eq!((p.offset, p.size), (56832, 5676));
    assert_eq!(
        p.first,
        RingPiece {
            area_offset: 56832,
            text_start: 0,
            len: 4608
        }
    );
    assert_eq!(
        p.wrapped,
        Some(RingPiece {
            area_offset: 512,
            text_start: 4608,
            len: 1068
        })
    );
    assert_eq!(p.pieces().count(), 2);
    assert_eq!(
        (header.committed().offset, header.committed().size),
        (56832, 5676)
    );
    assert!(header.committed().wraps(61440));
    // LVM2 zero-fills the wrapped half up to the next sector.
    assert_eq!(p.zero_fill, 512 - 1068 % 512);
    assert!(area[512 + 1068..2048].iter().all(|&b| b == 0));
}

#[test]
fn wrapped_text_reads_whole_and_its_chained_crc_verifies() {
    let img = fixture("host/vgwrap_pv0_wrapped.img");
    let area = &img[4096..4096 + 61440];
    let header = MdaHeader::parse(area).unwrap();
    let text = header
        .committed_text(area)
        .unwrap()
        .expect("a committed text");
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 5676);
    assert_eq!(text.computed_crc(), 0x704c_0b79); // from pvck's dump of this image
    assert_eq!(lvm_crc(bytes), 0x704c_0b79);
    assert!(bytes.starts_with(b"vgwrap {\n"));
    assert!(bytes.ends_with(b"\n\0"));
    assert_eq!(text.text().len(), 5675);
    let s = std::str::from_utf8(text.text()).unwrap();
    assert!(s.contains("\nseqno = 18\n"));
    // The halves are where the ring put them.
    assert_eq!(&bytes[..4608], &area[56832..]);
    assert_eq!(&bytes[4608..], &area[512..1580]);
}

#[test]
fn committed_texts_equal_lvm2_on_disk_copies() {
    let img = fixture("guest/vgdemo_pv0_final.img");
    let area = &img[4096..];
    let header = MdaHeader::parse(area).unwrap();
    let text = header.committed_text(area).unwrap().unwrap();
    assert_eq!(
        text.as_bytes(),
        &fixture("guest/vgdemo_ondisk_metadata.bin")[..]
    );

    let expected = fixture("guest/vgmda2_ondisk_metadata.bin");
    let first = fixture("guest/vgmda2_pv0_final.img");
    let last = fixture("guest/vgmda2_pv0_final.last1MiB.img");
    let label = find_pv_label(&first).unwrap();
    let areas = &label.pv_header.metadata_areas;
    let second_in_last = (areas[1].offset - (label.pv_header.device_size - (1 << 20))) as usize;
    for area in [&first[4096..], &last[second_in_last..]] {
        let header = MdaHeader::parse(area).unwrap();
        let text = header.committed_text(area).unwrap().unwrap();
        assert_eq!(text.as_bytes(), &expected[..]);
    }
}

#[test]
fn ignored_and_empty_areas_hold_no_committed_text() {
    let img = fixture("host/vgvar_pv2_label3_ignored.img");
    let area = &img[4096..];
    let header = MdaHeader::parse(area).unwrap();
    assert!(header.is_ignored());
    assert_eq!(header.committed_text(area).unwrap(), None);
    // An ignored slot does not anchor the next text: it goes to the ring start.
    assert_eq!(place_next_text(&header, 1000).unwrap().offset, 512);

    let img = fixture("guest/pv_after_pvcreate.img");
    let header = MdaHeader::parse(&img[4096..]).unwrap();
    assert_eq!(header.committed_text(&img[4096..]).unwrap(), None);
}

#[test]
fn commit_protocol_reproduces_lvm2_header_bytes() {
    // vgcreate on vda: its orphan header, plus the first text, committed.
    let orphan = fixture("guest/pv_after_pvcreate.img");
    let after_vgcreate = fixture("guest/vgdemo_pv0_after_vgcreate.img");
    let after_lvcreate = fixture("guest/vgdemo_pv0_after_lvcreate_linear.img");
    let h0 = MdaHeader::parse(&orphan[4096..]).unwrap();
    let mut steps = vec![h0];
    for img in [&after_vgcreate, &after_lvcreate] {
        let area = &img[4096..];
        let committed = MdaHeader::parse(area).unwrap();
        let text = committed.committed_text(area).unwrap().unwrap();
        let before = steps.last().unwrap().clone();
        let p = place_next_text(&before, text.as_bytes().len() as u64).unwrap();
        let locn = p.raw_locn(lvm_crc(text.as_bytes()));
        let pre = before.with_precommitted(&locn, false);
        assert_eq!(pre.precommitted(), &locn);
        assert_eq!(pre.committed(), before.committed());
        let done = pre.with_committed(&locn, false);
        assert_eq!(&done.to_bytes()[..], &area[..512]);
        steps.push(done);
    }
}

#[test]
fn zero_fill_after_the_first_text_matches_the_ring() {
    let img = fixture("guest/vgdemo_pv0_final.img");
    let p = place_next_text(&MdaHeader::new(4096, 1_044_480, false), 1085).unwrap();
    assert_eq!(p.zero_fill, 6144 - (4096 + 512 + 1085));
    assert!(img[4096 + 512 + 1085..6144].iter().all(|&b| b == 0));
}

#[test]
fn max_text_size_and_too_large_error() {
    // docs: (area - 512) / 2 - 512, 521472 by default.
    assert_eq!(max_text_size(1_044_480).unwrap(), 521_472);
    assert_eq!(max_text_size(61440).unwrap(), 29952);
    let h = MdaHeader::new(4096, 1_044_480, false);
    assert!(place_next_text(&h, 521_472).is_ok());
    let err = place_next_text(&h, 521_473).unwrap_err();
    assert_eq!(
        err,
        RingError::TextTooLarge {
            needs: 521_473,
            holds: 521_472
        }
    );
    assert!(err
        .to_string()
        .contains("needs 521473 bytes, area holds 521472"));
    assert!(matches!(
        max_text_size(1024),
        Err(RingError::AreaTooSmall { size: 1024 })
    ));
    assert_eq!(place_next_text(&h, 0), Err(RingError::EmptyText));
}

#[test]
fn new_text_that_would_overwrite_the_committed_one_is_refused() {
    // A committed text larger than today's limit (older writers had none): the next copy
    // would wrap onto it.
    let h = header_with(4096, 61440, 512, 40000);
    assert!(matches!(
        place_next_text(&h, 29000),
        Err(RingError::RingFull { needs: 29000, .. })
    ));
    // Both wrapping is always a collision.
    let h = header_with(4096, 61440, 56832, 5676);
    assert!(place_next_text(&h, 29952).is_ok());
}

#[test]
fn restart_at_ring_start_when_less_than_a_sector_remains() {
    // Ends exactly 512 bytes before the area end: the next text still starts there.
    let h = header_with(0, 61440, 60000, 928);
    assert_eq!(place_next_text(&h, 100).unwrap().offset, 60928);
    // One byte more and fewer than 512 remain: back to 512.
    let h = header_with(0, 61440, 60000, 929);
    assert_eq!(place_next_text(&h, 100).unwrap().offset, 512);
}

#[test]
fn read_errors_are_typed() {
    let img = fixture("guest/vgdemo_pv0_final.img");
    let area = &img[4096..];
    let header = MdaHeader::parse(area).unwrap();
    let mut bad = *header.committed();
    bad.checksum ^= 1;
    assert!(matches!(
        read_text(area, header.size, &bad),
        Err(RingError::TextChecksum { .. })
    ));
    let short = &area[..43520 + 100];
    assert!(matches!(
        header.committed_text(short),
        Err(RingError::AreaTruncated { .. })
    ));
    let past = RawLocn {
        offset: 2_000_000,
        size: 10,
        checksum: 0,
        flags: 0,
    };
    assert!(matches!(
        read_text(area, header.size, &past),
        Err(RingError::TextOutOfArea { .. })
    ));
    let too_big = RawLocn {
        offset: 512,
        size: header.size,
        ..past
    };
    assert!(matches!(
        read_text(area, header.size, &too_big),
        Err(RingError::TextOutOfArea { .. })
    ));
}
