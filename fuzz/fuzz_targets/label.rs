//! The label sector and the pv_header it carries: the label search over the first four
//! sectors, lenient decoding (pvck) and strict parsing. None of it may panic; a label the
//! strict parser accepts serialises to bytes that parse to the same label.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metadata_format::header::{find_pv_label, PvLabel};

fuzz_target!(|data: &[u8]| {
    if let Ok(label) = find_pv_label(data) {
        let bytes = label.to_bytes().expect("a parsed label serialises");
        let again = PvLabel::parse(&bytes, label.label.sector).expect("re-parses");
        assert_eq!(again, label);
        let _ = label.pv_header.validate(label.label.sector);
        let _ = label.pv_header.pe_start();
    }
    // The sector as given, at each position LVM2 may find it.
    for sector in 0..4u64 {
        if let Ok(label) = PvLabel::parse(data, sector) {
            let bytes = label.to_bytes().expect("a parsed label serialises");
            assert_eq!(PvLabel::parse(&bytes, sector).expect("re-parses"), label);
        }
        if let Ok(decoded) = PvLabel::decode(data) {
            let _ = decoded.problems(sector);
            let _ = decoded.value.pv_header.validate(sector);
            let _ = decoded.value.sealed().to_bytes();
        }
    }
});
