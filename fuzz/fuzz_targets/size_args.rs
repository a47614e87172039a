//! The command-line size and extent arguments (`-L 10G`, `-l 50%FREE`, `--units h`, PE
//! ranges `/dev/x:0-9:20-`) and LVM2's name rules: arbitrary text must give a value or an
//! error, never a panic or an overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxlvm::alloc::{parse_pe_ranges, parse_pv_arg};
use oxlvm::names::{check_new_lv_name, check_vg_name, dm_name};
use oxlvm::report::Units;
use oxlvm::units::parse_size;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for default_unit in [1u64, 2, 2048] {
        let _ = parse_size(text, default_unit);
    }
    let _ = Units::parse(text);
    let (dev, ranges) = parse_pv_arg(text);
    assert!(text.starts_with(dev));
    if let Some(r) = ranges {
        for pe_count in [0u32, 1, 100, u32::MAX] {
            if let Ok(parsed) = parse_pe_ranges(r, pe_count, &[]) {
                for (a, b) in parsed {
                    assert!(a <= b && b < pe_count.max(1), "{a}-{b} of {pe_count}");
                }
            }
        }
    }
    let vg_ok = check_vg_name(text).is_ok();
    let lv_ok = check_new_lv_name(text).is_ok();
    if vg_ok && lv_ok {
        let _ = dm_name(text, text);
    }
});
