//! Damaged and hostile bytes get typed errors, never a panic; generated headers survive a
//! serialise/parse round trip; ring placement keeps every written text readable.

use std::path::PathBuf;

use metadata_format::crc::lvm_crc;
use metadata_format::header::{
    compute_pv_layout, dump_headers, find_pv_label, place_next_text, read_text_unverified,
    DiskLocn, HeaderError, MdaDumpInput, MdaHeader, PvHeader, PvHeaderExtension, PvLabel,
    PvLayoutOptions, PvUuid, RawLocn, UuidError,
};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/lvm2-2.03.16")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn uuid() -> PvUuid {
    PvUuid::parse("W1IaKT-Kimt-zfvm-sZE1-fRNY-ObeX-Dy8az6").unwrap()
}

fn header(mdas: Vec<DiskLocn>) -> PvHeader {
    PvHeader {
        pv_uuid: uuid(),
        device_size: 1 << 30,
        data_areas: vec![DiskLocn::new(1 << 20, 0)],
        metadata_areas: mdas,
        extension: Some(PvHeaderExtension::current(false, vec![])),
    }
}

/// Serialises `h` as a label in sector 1 and parses it back strictly.
fn reparse(h: PvHeader) -> Result<PvLabel, HeaderError> {
    let bytes = PvLabel::new(1, h).to_bytes()?;
    PvLabel::parse(&bytes, 1)
}

/// The label sector of `guest/pv_after_pvcreate.img` with `f` applied and the CRC redone.
fn resealed_label(f: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut s = fixture("guest/pv_after_pvcreate.img")[512..1024].to_vec();
    f(&mut s);
    let crc = lvm_crc(&s[20..]);
    s[16..20].copy_from_slice(&crc.to_le_bytes());
    s
}

#[test]
fn truncated_buffers() {
    assert!(matches!(
        PvLabel::decode(&[0u8; 100]),
        Err(HeaderError::Truncated {
            needed: 512,
            got: 100,
            ..
        })
    ));
    assert!(matches!(
        MdaHeader::decode(&[0u8; 511]),
        Err(HeaderError::Truncated {
            needed: 512,
            got: 511,
            ..
        })
    ));
    assert_eq!(find_pv_label(&[]), Err(HeaderError::NoLabel));
    // A label in sector 1 cut short is not found at all.
    let img = fixture("guest/pv_after_pvcreate.img");
    assert_eq!(find_pv_label(&img[..900]), Err(HeaderError::NoLabel));
}

#[test]
fn bad_label_checksum_is_rejected_with_both_values() {
    let mut img = fixture("guest/pv_after_pvcreate.img")[..2048].to_vec();
    img[512 + 100] ^= 1;
    assert!(matches!(
        find_pv_label(&img),
        Err(HeaderError::LabelChecksum {
            sector: 1,
            stored: 0x49c0_1766,
            ..
        })
    ));
}

#[test]
fn label_copied_to_another_sector_is_ignored() {
    let mut img = fixture("guest/pv_after_pvcreate.img")[..2048].to_vec();
    let label = img[512..1024].to_vec();
    img[1024..1536].copy_from_slice(&label);
    img[512..1024].fill(0);
    assert_eq!(
        find_pv_label(&img),
        Err(HeaderError::LabelSectorMismatch {
            recorded: 1,
            actual: 2
        })
    );
    // With the real one back in place the stale copy does not matter.
    img[512..1024].copy_from_slice(&label);
    assert_eq!(find_pv_label(&img).unwrap().label.sector, 1);
}

#[test]
fn wrong_type_offset_and_uuid() {
    let s = resealed_label(|s| s[24..32].copy_from_slice(b"LVM1 001"));
    assert!(matches!(
        PvLabel::parse(&s, 1),
        Err(HeaderError::UnknownLabelType { .. })
    ));
    let s = resealed_label(|s| s[20..24].copy_from_slice(&40u32.to_le_bytes()));
    assert_eq!(
        PvLabel::parse(&s, 1),
        Err(HeaderError::UnexpectedPvHeaderOffset { offset: 40 })
    );
    let s = resealed_label(|s| s[32 + 5] = b'_');
    assert!(matches!(
        PvLabel::parse(&s, 1),
        Err(HeaderError::InvalidPvUuid(UuidError::InvalidChar {
            ch: '_',
            position: 5
        }))
    ));
    // The lenient decode still shows it, with every problem listed.
    let d = PvLabel::decode(&s).unwrap();
    assert_eq!(d.problems(1).len(), 1);
    assert_eq!(d.problems(2).len(), 2);
    assert!(!d.value.pv_header.pv_uuid.is_valid());
}

#[test]
fn area_lists_running_off_the_sector() {
    // Data-area entries with non-zero offsets all the way to the end: no terminator.
    let s = resealed_label(|s| {
        for at in (72..512).step_by(16) {
            s[at..at + 8].copy_from_slice(&4096u64.to_le_bytes());
        }
    });
    assert_eq!(
        PvLabel::decode(&s).map(|_| ()),
        Err(HeaderError::AreaListOverrun { list: "data area" })
    );
    // Too many areas to serialise into 512 bytes.
    let many = (1..40).map(|i| DiskLocn::new(i << 20, 4096)).collect();
    assert!(matches!(
        PvLabel::new(1, header(many)).to_bytes(),
        Err(HeaderError::AreaListOverrun { .. })
    ));
    // An entry at offset 0 would end the list early.
    assert_eq!(
        PvLabel::new(1, header(vec![DiskLocn::new(0, 4096)])).to_bytes(),
        Err(HeaderError::ZeroOffsetArea {
            list: "metadata area",
            index: 0
        })
    );
}

#[test]
fn metadata_areas_that_cannot_be_trusted() {
    assert!(matches!(
        reparse(header(vec![DiskLocn::new(4096, 0)])),
        Err(HeaderError::ZeroSizeArea { offset: 4096, .. })
    ));
    // An area past the recorded device size is what LVM2's pvresize writes for a VG member
    // with a second area (the recorded size is less pe_start and that area): accepted.
    assert!(reparse(header(vec![DiskLocn::new((1 << 30) - 4096, 8192)])).is_ok());
    assert!(matches!(
        reparse(header(vec![DiskLocn::new(u64::MAX - 10, 100)])),
        Err(HeaderError::AreaPastDevice { .. })
    ));
    assert!(matches!(
        reparse(header(vec![
            DiskLocn::new(4096, 1 << 20),
            DiskLocn::new(8192, 4096)
        ])),
        Err(HeaderError::AreasOverlap { .. })
    ));
    assert!(matches!(
        reparse(header(vec![DiskLocn::new(512, 4096)])),
        Err(HeaderError::AreaOverlapsLabel {
            label_sector: 1,
            ..
        })
    ));
    // The data area may not start inside a metadata area.
    let mut h = header(vec![DiskLocn::new(4096, 1 << 20)]);
    h.data_areas = vec![DiskLocn::new(8192, 0)];
    assert!(matches!(reparse(h), Err(HeaderError::AreasOverlap { .. })));
    // But a second area at the end of a to-the-end data area is normal.
    assert!(reparse(header(vec![
        DiskLocn::new(4096, 1_044_480),
        DiskLocn::new((1 << 30) - (1 << 20), 1 << 20)
    ]))
    .is_ok());
}

#[test]
fn pv_without_extension_round_trips() {
    let mut h = header(vec![DiskLocn::new(4096, 1_044_480)]);
    h.extension = None;
    let l = reparse(h.clone()).unwrap();
    assert_eq!(l.pv_header, h);
    assert!(!l.pv_header.in_vg());
    // Version 1 (bootloader areas, no flags word in use) is kept as written.
    h.extension = Some(PvHeaderExtension {
        version: 1,
        flags: 0,
        bootloader_areas: vec![DiskLocn::new(1 << 20, 1 << 20)],
    });
    h.data_areas = vec![DiskLocn::new(2 << 20, 0)];
    assert_eq!(reparse(h.clone()).unwrap().pv_header, h);
}

#[test]
fn mda_header_damage() {
    let img = fixture("guest/vgdemo_pv0_final.img");
    let good = &img[4096..4608];

    let mut b = good.to_vec();
    b[50] ^= 1;
    assert!(matches!(
        MdaHeader::parse(&b),
        Err(HeaderError::MdaChecksum {
            stored: 0xf233_eef7,
            ..
        })
    ));

    let reseal = |b: &mut Vec<u8>| {
        let crc = lvm_crc(&b[4..]);
        b[..4].copy_from_slice(&crc.to_le_bytes());
    };
    let mut b = good.to_vec();
    b[4] = b'X';
    reseal(&mut b);
    assert_eq!(MdaHeader::parse(&b), Err(HeaderError::MdaMagic));

    let mut b = good.to_vec();
    b[20] = 2;
    reseal(&mut b);
    assert_eq!(
        MdaHeader::parse(&b),
        Err(HeaderError::MdaVersion { found: 2 })
    );

    let h = MdaHeader::parse(good).unwrap();
    assert_eq!(
        h.check_location(8192, h.size),
        Err(HeaderError::MdaStartMismatch {
            recorded: 4096,
            expected: 8192
        })
    );
    assert!(matches!(
        h.check_location(4096, 1 << 20),
        Err(HeaderError::MdaSizeMismatch { .. })
    ));

    for (offset, size) in [(2_000_000, 10), (100, 10), (512, 1_044_000)] {
        let mut bad = h.clone();
        bad.raw_locns[0].offset = offset;
        bad.raw_locns[0].size = size;
        assert!(
            matches!(
                MdaHeader::parse(&bad.to_bytes()),
                Err(HeaderError::RawLocnOutOfArea { slot: 0, .. })
            ),
            "{offset} {size}"
        );
    }
    let mut tiny = h.clone();
    tiny.size = 512;
    assert_eq!(
        MdaHeader::parse(&tiny.to_bytes()),
        Err(HeaderError::MdaTooSmall { size: 512 })
    );
}

#[test]
fn mda_header_keeps_bytes_after_the_slots_through_updates() {
    let img = fixture("guest/vgdemo_pv0_final.img");
    let mut b = img[4096..4608].to_vec();
    b[300] = 0x5a;
    let crc = lvm_crc(&b[4..]);
    b[..4].copy_from_slice(&crc.to_le_bytes());
    let h = MdaHeader::parse(&b).unwrap();
    assert_eq!(&h.to_bytes()[..], &b[..]);
    let committed = h.with_committed(&RawLocn::default(), false);
    assert_eq!(committed.to_bytes()[300], 0x5a);
    assert_eq!(MdaHeader::parse(&img[4096..]).unwrap().trailing, None);
}

#[test]
fn header_updates_follow_lvm2_slot_rules() {
    let h = MdaHeader::new(4096, 1_044_480, false);
    let a = RawLocn {
        offset: 512,
        size: 1085,
        checksum: 7,
        flags: 0,
    };
    let committed = h.with_committed(&a, false);
    assert_eq!(committed.committed(), &a);
    let b = RawLocn { offset: 2048, ..a };
    let reverted = committed.with_precommitted(&b, false).with_reverted(false);
    assert_eq!(reverted, committed);
    let ignored = committed.with_committed(&b, true);
    assert!(ignored.is_ignored());
    assert_eq!(ignored.committed().offset, 2048);
    // Once ignored, the next update starts from empty slots.
    let pre = ignored.with_precommitted(&a, false);
    assert_eq!(pre.committed(), &RawLocn::default());
    let removed = committed.with_removed(false);
    assert_eq!(removed.raw_locns, [RawLocn::default(); 2]);
    for x in [committed, reverted, pre, removed] {
        assert_eq!(MdaHeader::parse(&x.to_bytes()).unwrap(), x);
    }
}

fn alphabet_uuid() -> impl Strategy<Value = PvUuid> {
    proptest::array::uniform32(any::<u8>()).prop_map(PvUuid::from_random_bytes)
}

fn locns(max: usize) -> impl Strategy<Value = Vec<DiskLocn>> {
    proptest::collection::vec(
        (1..u64::MAX, any::<u64>()).prop_map(|(o, s)| DiskLocn::new(o, s)),
        0..=max,
    )
}

fn pv_header() -> impl Strategy<Value = PvHeader> {
    (
        alphabet_uuid(),
        any::<u64>(),
        locns(4),
        locns(3),
        proptest::option::of((1..=u32::MAX, any::<u32>(), locns(3))),
    )
        .prop_map(|(pv_uuid, device_size, data, mdas, ext)| PvHeader {
            pv_uuid,
            device_size,
            data_areas: data,
            metadata_areas: mdas,
            extension: ext.map(|(version, flags, bas)| PvHeaderExtension {
                version,
                flags,
                bootloader_areas: bas,
            }),
        })
}

fn raw_locn() -> impl Strategy<Value = RawLocn> {
    (any::<u64>(), any::<u64>(), any::<u32>(), any::<u32>()).prop_map(
        |(offset, size, checksum, flags)| RawLocn {
            offset,
            size,
            checksum,
            flags,
        },
    )
}

proptest! {
    #[test]
    fn label_sector_round_trips(h in pv_header(), sector in 0u64..4) {
        let label = PvLabel::new(sector, h);
        let bytes = label.to_bytes().unwrap();
        let decoded = PvLabel::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded.value, &label);
        prop_assert!(decoded.problems(sector).is_empty());
        prop_assert_eq!(decoded.value.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn mda_header_round_trips(start in any::<u64>(), size in any::<u64>(),
                              r0 in raw_locn(), r1 in raw_locn()) {
        let mut h = MdaHeader::new(start, size, false);
        h.raw_locns = [r0, r1];
        let h = h.sealed();
        let bytes = h.to_bytes();
        let decoded = MdaHeader::decode(&bytes).unwrap();
        prop_assert!(decoded.problems().is_empty());
        prop_assert_eq!(&decoded.value, &h);
        prop_assert_eq!(decoded.value.to_bytes(), bytes);
    }

    #[test]
    fn computed_layouts_parse_strictly(
        size_mib in 4u64..4096, extra in 0u64..2048, copies in 0u32..=2,
        label_sector in 0u64..4, mda in proptest::option::of(64u64..8192),
        align in proptest::option::of(prop_oneof![Just(8u64), Just(128), Just(2048), Just(8192)]),
        ba in prop_oneof![Just(0u64), Just(2048), Just(100)],
        seed in proptest::array::uniform32(any::<u8>()),
    ) {
        let opts = PvLayoutOptions {
            label_sector,
            metadata_copies: copies,
            metadata_size_sectors: mda,
            data_alignment_sectors: align,
            bootloader_area_sectors: ba,
            ..Default::default()
        };
        let Ok(layout) = compute_pv_layout((size_mib << 20) + extra * 512, &opts) else {
            return Ok(());
        };
        let label = layout.pv_label(PvUuid::from_random_bytes(seed));
        let bytes = label.to_bytes().unwrap();
        let mut dev = vec![0u8; 2048];
        dev[label_sector as usize * 512..][..512].copy_from_slice(&bytes);
        let found = find_pv_label(&dev).unwrap();
        prop_assert_eq!(&found, &label);
        prop_assert!(layout.pe_start >= layout.metadata_areas.first().map_or(0, |m| m.offset + m.size));
        for h in layout.mda_headers() {
            prop_assert_eq!(MdaHeader::parse(&h.to_bytes()).unwrap(), h);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2600),
                                   size in any::<u64>(), locn in raw_locn()) {
        let _ = find_pv_label(&bytes);
        if let Ok(d) = PvLabel::decode(&bytes) {
            let _ = d.problems(1);
            let _ = d.value.pv_header.validate(1);
            let mda = MdaHeader::decode(bytes.get(512..).unwrap_or(&[])).ok();
            let input = d.value.pv_header.metadata_areas.iter().map(|a| MdaDumpInput {
                start: a.offset,
                header: mda.clone(),
                area: Some(&bytes[..]),
            }).collect::<Vec<_>>();
            let _ = dump_headers(1, &d, &input);
        }
        if let Ok(d) = MdaHeader::decode(&bytes) {
            let _ = MdaHeader::parse(&bytes);
            let _ = place_next_text(&d.value, size);
            let _ = d.value.committed_text(&bytes);
        }
        let _ = read_text_unverified(&bytes, size, &locn);
        let mut h = MdaHeader::new(0, size, false);
        h.raw_locns[0] = locn;
        let _ = place_next_text(&h, size / 3);
    }

    /// Writing a series of texts where placement says, committing each, always reads back the
    /// last text intact and never touches the committed one while writing the next.
    #[test]
    fn ring_writes_stay_readable(area_sectors in 64u64..600,
                                 sizes in proptest::collection::vec(1u64..100_000, 1..40)) {
        let size = area_sectors * 512;
        let mut area = vec![0u8; size as usize];
        let mut h = MdaHeader::new(4096, size, false);
        let max = metadata_format::header::max_text_size(size).unwrap();
        for (i, s) in sizes.iter().enumerate() {
            let len = 2 + s % (max - 1);
            let text: Vec<u8> = (0..len).map(|j| (i as u64 * 31 + j) as u8 | 1).collect();
            let before = h.committed_text(&area).unwrap();
            let p = place_next_text(&h, len).unwrap();
            prop_assert_eq!(p.offset % 512, 0);
            prop_assert_eq!(p.pieces().map(|x| x.len).sum::<u64>(), len);
            for piece in p.pieces() {
                prop_assert!(piece.area_offset >= 512 && piece.area_offset + piece.len <= size);
                let at = piece.area_offset as usize;
                let from = piece.text_start as usize;
                area[at..at + piece.len as usize]
                    .copy_from_slice(&text[from..from + piece.len as usize]);
            }
            if let Some(before) = before {
                // The old copy survives the write of the new one.
                prop_assert_eq!(h.committed_text(&area).unwrap(), Some(before));
            }
            h = h.with_committed(&p.raw_locn(lvm_crc(&text)), false);
            let read = h.committed_text(&area).unwrap().unwrap();
            prop_assert_eq!(read.as_bytes(), &text[..]);
        }
    }
}

/// Positions worth damaging in a real PV: the label sector, the mda_header and the text.
fn damage() -> impl Strategy<Value = Vec<(usize, u8)>> {
    let pos = prop_oneof![
        512usize..1024,
        4096usize..4200,
        47600usize..53300,
        0usize..65536
    ];
    proptest::collection::vec((pos, any::<u8>()), 1..8)
}

proptest! {
    #[test]
    fn damaged_real_pv_never_panics(changes in damage()) {
        let mut img = fixture("guest/vgdemo_pv0_final.img");
        img.truncate(65536);
        for (at, v) in changes {
            img[at] = v;
        }
        let _ = find_pv_label(&img);
        let d = PvLabel::decode(&img[512..]).unwrap();
        let _ = d.value.pv_header.validate(1);
        let inputs: Vec<MdaDumpInput<'_>> = d.value.pv_header.metadata_areas.iter().map(|a| {
            let bytes = usize::try_from(a.offset).ok().and_then(|o| img.get(o..));
            MdaDumpInput {
                start: a.offset,
                header: bytes.and_then(|b| MdaHeader::decode(b).ok()),
                area: bytes,
            }
        }).collect();
        let dump = dump_headers(1, &d, &inputs);
        prop_assert!(dump.text.starts_with("  label_header at 512\n"));
        if let Ok(h) = MdaHeader::parse(&img[4096..]) {
            let _ = h.committed_text(&img[4096..]);
            let _ = place_next_text(&h, 6000);
        }
    }
}

/// A device with room for the two metadata areas but no extent (as `pvcreate --dataalignment 4m
/// --pvmetadatacopies 2 --metadatasize 2m` on a 5.5 MiB device makes it, with LVM2 too): the
/// empty data area starts where the second metadata area does, and the label still parses.
#[test]
fn a_pv_without_room_for_extents_parses() {
    let opts = PvLayoutOptions {
        label_sector: 1,
        metadata_copies: 2,
        metadata_size_sectors: Some(4096),
        data_alignment_sectors: Some(8192),
        ..Default::default()
    };
    let layout = compute_pv_layout(5_766_656, &opts).expect("layout");
    assert_eq!(layout.pe_start, 4 << 20);
    assert_eq!(
        layout.metadata_areas.last().map(|m| m.offset),
        Some(4 << 20)
    );
    let label = layout.pv_label(PvUuid::from_random_bytes([7; 32]));
    let bytes = label.to_bytes().unwrap();
    let mut dev = vec![0u8; 2048];
    dev[512..1024].copy_from_slice(&bytes);
    assert_eq!(find_pv_label(&dev).unwrap(), label);
}
