//! `--select`: LVM2's selection language. Arbitrary text for each report kind must parse to a
//! selection or to LVM2's error message (one line), never panic; a parsed selection is
//! evaluated on rows of every value kind without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxlvm::report::{FieldValue, Selection, SelectionParse as Parsed};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for prefix in ["pv_", "vg_", "lv_", "seg_", "pvseg_"] {
        match Selection::parse(text, prefix) {
            Ok(Parsed::Select(mut s)) => {
                let fields = s.fields();
                let mut n = 0;
                s.bind(&mut |_| {
                    n += 1;
                    n - 1
                });
                assert_eq!(n, fields.len());
                // Any value in any column: a mismatch of types is "no match", not a panic.
                for v in [
                    FieldValue::Num(0),
                    FieldValue::Int(-1),
                    FieldValue::Size(u64::MAX),
                    FieldValue::Str(text.to_string().into()),
                ] {
                    let row = vec![v; n];
                    let _ = s.matches(&row);
                }
            }
            Ok(_) => {}
            Err(e) => assert!(!e.contains('\n'), "two-line error: {e:?}"),
        }
    }
});
