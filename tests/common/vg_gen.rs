//! A VG of many LVs as a CSI driver leaves it (linear one-extent LVs with a tag, creation time
//! and host), made from a backup of an empty VG: shared by the command benchmark
//! (examples/bench_commands.rs), the host memory test and the VM benchmark's LV ids
//! (tests/vm_activate.rs).

use metadata_format::text::{Area, Id, LogicalVolume, Metadata, Segment, SegmentKind, Striped};

/// A distinct, random-looking LVM2 id for each `n` (splitmix64 per character).
pub fn id(n: u64) -> Id {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = [b'0'; 32];
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in bytes.iter_mut() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        *b = ALPHABET[((z ^ (z >> 31)) % 62) as usize];
    }
    Id::from_bytes(bytes).expect("alphabet characters")
}

/// Replaces the VG's LVs with `lvs` linear one-extent LVs on its first PV (extent n for LV n)
/// and bumps its seqno.
pub fn fill(m: &mut Metadata, lvs: u32) -> Result<(), String> {
    let first = m.vg.pvs.first().ok_or("the VG has no PV")?;
    let pv = first.id;
    if first.pe_count < lvs + 64 {
        return Err(format!(
            "the PV has {} extents, too few for {lvs} LVs",
            first.pe_count
        ));
    }
    m.vg.lvs.clear();
    for n in 0..lvs {
        let mut lv = LogicalVolume::new(&format!("pvc-{n:08}-data"), id(1000 + u64::from(n)));
        lv.creation_time = Some(1_795_929_501 + u64::from(n));
        lv.creation_host = Some("bench".to_string());
        lv.tags = vec!["owner=csi".to_string()];
        lv.segments.push(Segment::new(
            0,
            1,
            SegmentKind::Striped(Striped {
                stripe_size: None,
                stripes: vec![Area::Pv { pv, start: n }],
            }),
        ));
        m.vg.lvs.push(lv);
    }
    m.vg.seqno += 1;
    Ok(())
}
