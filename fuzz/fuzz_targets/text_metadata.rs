//! Feeds arbitrary bytes to the text parser, as a metadata text and as a config file. None of
//! it may panic; a metadata text that is accepted must be written in both forms into text
//! that reads back with the same VG and LVs, and writing what was read back is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metadata_format::text::{emit_backup, emit_config, emit_ondisk, parse_config, parse_metadata};

fuzz_target!(|data: &[u8]| {
    if let Ok(tree) = parse_config(data) {
        let written = emit_config(&tree);
        let again = parse_config(&written).expect("a written config tree reads back");
        assert_eq!(again, tree);
    }

    let Ok(metadata) = parse_metadata(data) else {
        return;
    };
    for emit in [emit_ondisk, emit_backup] {
        let first = emit(&metadata);
        let read = parse_metadata(&first).expect("written metadata reads back");
        assert_eq!(read.vg.name, metadata.vg.name);
        assert_eq!(read.vg.id, metadata.vg.id);
        let ids = |vg: &metadata_format::text::VolumeGroup| -> Vec<_> {
            vg.pvs.iter().map(|pv| pv.id).collect()
        };
        assert_eq!(ids(&read.vg), ids(&metadata.vg));
        assert_eq!(read.vg.lvs.len(), metadata.vg.lvs.len());
        for lv in &metadata.vg.lvs {
            let other = read.vg.lv(&lv.name).expect("every LV is written");
            assert_eq!(other.segments.len(), lv.segments.len());
        }
        let second = emit(&read);
        let third = emit(&parse_metadata(&second).expect("stable output reads back"));
        assert_eq!(second, third);
    }
});
