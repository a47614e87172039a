//! The metadata area: its header (strict and lenient), the committed text it points at (ring
//! wrap, checksum) and where the next text goes. None of it may panic; an accepted header
//! serialises back to the very same bytes, and a placement stays inside the area.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metadata_format::header::{place_next_text, read_text_unverified, MdaHeader, RawLocn};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = MdaHeader::parse(data) {
        assert_eq!(&h.to_bytes()[..], &data[..512]);
        let _ = h.committed_text(data);
        for size in [1u64, 512, data.len() as u64 + 1, h.size / 2, h.size] {
            if let Ok(p) = place_next_text(&h, size) {
                for piece in p.pieces() {
                    assert!(
                        piece.area_offset + piece.len <= h.size,
                        "{piece:?} past the area"
                    );
                }
            }
        }
        // The header after each protocol step still parses to itself.
        let locn = *h.committed();
        for next in [
            h.with_precommitted(&locn, false),
            h.with_committed(&locn, true),
            h.with_reverted(false),
            h.with_removed(false),
        ] {
            assert_eq!(MdaHeader::parse(&next.to_bytes()).expect("re-parses"), next);
        }
    }
    if let Ok(d) = MdaHeader::decode(data) {
        let _ = d.problems();
        let _ = place_next_text(&d.value, 1 + data.len() as u64 % 8192);
    }
    if data.len() >= 24 {
        let word = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap_or([0; 8]));
        let locn = RawLocn {
            offset: word(0),
            size: word(8),
            checksum: 0,
            flags: 0,
        };
        let _ = read_text_unverified(&data[24..], word(16), &locn);
    }
});
