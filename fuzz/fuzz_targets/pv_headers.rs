//! Feeds arbitrary device heads to the binary-header code: label search, lenient and strict
//! decoding, the pvck dump, ring reads and placement. None of it may panic; a label the
//! strict parser accepts must serialise to bytes that parse to the same label (LVM2 itself
//! drops junk after the lists when it rewrites a label), and an accepted mda_header must
//! serialise back to the very same bytes (LVM2 carries its whole sector through updates).
#![no_main]

use libfuzzer_sys::fuzz_target;
use metadata_format::header::{
    dump_headers, find_pv_label, place_next_text, read_text_unverified, MdaDumpInput, MdaHeader,
    PvLabel, RawLocn,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(label) = find_pv_label(data) {
        let bytes = label.to_bytes().expect("a parsed label serialises");
        let again = PvLabel::parse(&bytes, label.label.sector).expect("re-parses");
        assert_eq!(again, label);
    }

    for sector in 0..4u64 {
        let Some(sector_bytes) = data.get(sector as usize * 512..) else {
            break;
        };
        let Ok(decoded) = PvLabel::decode(sector_bytes) else {
            continue;
        };
        let _ = decoded.problems(sector);
        let _ = decoded.value.pv_header.validate(sector);
        let inputs: Vec<MdaDumpInput<'_>> = decoded
            .value
            .pv_header
            .metadata_areas
            .iter()
            .map(|a| {
                let area = usize::try_from(a.offset).ok().and_then(|o| data.get(o..));
                MdaDumpInput {
                    start: a.offset,
                    header: area.and_then(|b| MdaHeader::decode(b).ok()),
                    area,
                }
            })
            .collect();
        let _ = dump_headers(sector, &decoded, &inputs);
    }

    // Any 512-byte window may be an mda_header.
    for start in (0..data.len()).step_by(512) {
        let area = &data[start..];
        if let Ok(h) = MdaHeader::parse(area) {
            assert_eq!(&h.to_bytes()[..], &area[..512]);
            let _ = h.committed_text(area);
            let _ = place_next_text(&h, (data.len() as u64).max(1));
        }
        if let Ok(d) = MdaHeader::decode(area) {
            let _ = place_next_text(&d.value, 1 + data.len() as u64 % 4096);
        }
    }

    if data.len() >= 24 {
        let word = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap_or([0; 8]));
        let locn = RawLocn {
            offset: word(0),
            size: word(8),
            checksum: 0,
            flags: 0,
        };
        let _ = read_text_unverified(data, word(16), &locn);
    }
});
