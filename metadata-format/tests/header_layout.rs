//! pvcreate's layout arithmetic against PVs LVM2 2.03.16 created: with the fixture's UUID,
//! the computed label sector and mda_headers must equal the bytes on disk.

use std::path::PathBuf;

use metadata_format::header::{
    compute_pv_layout, find_pv_label, DiskLocn, LayoutError, MdaHeader, PvLayoutOptions,
    PV_EXT_USED,
};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/lvm2-2.03.16")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Computes the layout for `device_size` and checks it reproduces the label sector and
/// mda_headers of `stem` (whose UUID it borrows). `in_vg` marks images taken after vgcreate,
/// whose extension flag LVM2 set then; header checks apply only to orphans (a VG write
/// changes the mda_header's slots).
fn check(stem: &str, device_size: u64, opts: &PvLayoutOptions, in_vg: bool) -> Vec<DiskLocn> {
    let first = fixture(&format!("{stem}.img"));
    let on_disk = find_pv_label(&first).unwrap();
    let layout = compute_pv_layout(device_size, opts).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let mut label = layout.pv_label(on_disk.pv_header.pv_uuid);
    if in_vg {
        label.pv_header.extension.as_mut().unwrap().flags |= PV_EXT_USED;
    }
    let sector = opts.label_sector as usize;
    assert_eq!(
        &label.to_bytes().unwrap()[..],
        &first[sector * 512..sector * 512 + 512],
        "{stem}: label sector"
    );
    assert_eq!(layout.device_size, device_size / 512 * 512);
    if !in_vg {
        let last = layout
            .metadata_areas
            .get(1)
            .map(|_| fixture(&format!("{stem}.last1MiB.img")));
        for (area, header) in layout.metadata_areas.iter().zip(layout.mda_headers()) {
            let bytes = if area.offset < MIB {
                &first[area.offset as usize..]
            } else {
                let last = last.as_ref().unwrap();
                &last[(area.offset - (device_size - MIB)) as usize..]
            };
            assert_eq!(&header.to_bytes()[..], &bytes[..512], "{stem}: mda_header");
        }
    }
    layout.metadata_areas
}

#[test]
fn default_pvcreate_on_1gib() {
    let mdas = check(
        "guest/pv_after_pvcreate",
        GIB,
        &PvLayoutOptions::default(),
        false,
    );
    assert_eq!(mdas, vec![DiskLocn::new(4096, 1_044_480)]);
    let layout = compute_pv_layout(GIB, &PvLayoutOptions::default()).unwrap();
    assert_eq!(layout.pe_start, MIB);
}

#[test]
fn two_metadata_copies_put_the_second_at_the_end_aligned_down_to_1mib() {
    let opts = PvLayoutOptions {
        metadata_copies: 2,
        ..Default::default()
    };
    let mdas = check("guest/pvmda2_after_pvcreate", GIB, &opts, false);
    assert_eq!(mdas[1], DiskLocn::new(1_072_693_248, 1_048_576));
}

#[test]
fn bootloader_area_moves_pe_start_to_2mib() {
    let opts = PvLayoutOptions {
        bootloader_area_sectors: 2048, // --bootloaderareasize 1m
        ..Default::default()
    };
    check("host/pv_bootloaderarea1m_orphan", 256 * MIB, &opts, false);
    let layout = compute_pv_layout(256 * MIB, &opts).unwrap();
    assert_eq!(layout.bootloader_area, Some(DiskLocn::new(MIB, MIB)));
    assert_eq!(layout.pe_start, 2 * MIB);
}

#[test]
fn no_metadata_copies_on_an_odd_sized_device() {
    let opts = PvLayoutOptions {
        metadata_copies: 0,
        ..Default::default()
    };
    let mdas = check(
        "host/pv_nomda_oddsize_orphan",
        100 * MIB + 3 * 1024,
        &opts,
        false,
    );
    assert!(mdas.is_empty());
}

#[test]
fn label_in_sector_3_with_two_copies() {
    let opts = PvLayoutOptions {
        label_sector: 3,
        metadata_copies: 2,
        ..Default::default()
    };
    let mdas = check("host/pv_labelsector3_2mdas_orphan", 256 * MIB, &opts, false);
    assert_eq!(mdas[1], DiskLocn::new(267_386_880, MIB));
}

#[test]
fn small_metadata_size_with_64k_alignment() {
    let opts = PvLayoutOptions {
        metadata_size_sectors: Some(32),   // --metadatasize 16k
        data_alignment_sectors: Some(128), // --dataalignment 64k
        ..Default::default()
    };
    let mdas = check("host/vgwrap_pv0_wrapped", GIB, &opts, true);
    assert_eq!(mdas, vec![DiskLocn::new(4096, 61440)]);
    assert_eq!(compute_pv_layout(GIB, &opts).unwrap().pe_start, 65536);
}

#[test]
fn restore_keeps_pe_start_and_shrinks_the_area_to_fit() {
    // pvcreate --uuid --restorefile vgdemo.vg: pe_start 2048, extent_size 8192, pe_count 255
    // from the backup, and --metadatasize defaults to pe_start.
    let opts = PvLayoutOptions {
        metadata_size_sectors: Some(2048),
        pe_start_sectors: Some(2048),
        extent_size_sectors: 8192,
        extent_count: 255,
        ..Default::default()
    };
    let mdas = check("host/vgdemo_restored_nodm_pv0", GIB, &opts, true);
    assert_eq!(mdas, vec![DiskLocn::new(4096, 1_044_480)]);
}

#[test]
fn ignored_metadata_area_is_flagged_in_slot_0() {
    let opts = PvLayoutOptions {
        metadata_ignore: true,
        ..Default::default()
    };
    let layout = compute_pv_layout(GIB, &opts).unwrap();
    let headers = layout.mda_headers();
    assert!(headers[0].is_ignored());
    assert_eq!(
        MdaHeader::parse(&headers[0].to_bytes()).unwrap(),
        headers[0]
    );
}

#[test]
fn wipe_ranges_cover_label_area_and_area_heads() {
    let layout = compute_pv_layout(
        GIB,
        &PvLayoutOptions {
            metadata_copies: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        layout.wipe_ranges(true),
        vec![
            DiskLocn::new(0, 2048),
            DiskLocn::new(4096, 4096),
            DiskLocn::new(1_072_693_248, 4096)
        ]
    );
    assert_eq!(layout.wipe_ranges(false).len(), 2);
}

#[test]
fn refused_options_and_devices() {
    let d = PvLayoutOptions::default;
    assert_eq!(
        compute_pv_layout(
            GIB,
            &PvLayoutOptions {
                label_sector: 4,
                ..d()
            }
        ),
        Err(LayoutError::LabelSectorOutOfRange { sector: 4 })
    );
    assert_eq!(
        compute_pv_layout(
            GIB,
            &PvLayoutOptions {
                metadata_copies: 3,
                ..d()
            }
        ),
        Err(LayoutError::TooManyMetadataCopies { copies: 3 })
    );
    assert_eq!(
        compute_pv_layout(
            GIB,
            &PvLayoutOptions {
                metadata_copies: 0,
                metadata_ignore: true,
                ..d()
            }
        ),
        Err(LayoutError::IgnoreWithoutMetadata)
    );
    assert!(matches!(
        compute_pv_layout(MIB, &d()),
        Err(LayoutError::DeviceTooSmall {
            sectors: 2048,
            min: 4096
        })
    ));
    assert!(matches!(
        compute_pv_layout(
            4 * MIB,
            &PvLayoutOptions {
                data_alignment_sectors: Some(16384),
                ..d()
            }
        ),
        Err(LayoutError::AlignmentExceedsDevice { .. })
    ));
    assert_eq!(
        compute_pv_layout(
            4 * MIB,
            &PvLayoutOptions {
                bootloader_area_sectors: 8192,
                ..d()
            }
        ),
        Err(LayoutError::BootloaderAreaExceedsDevice)
    );
    assert!(matches!(
        compute_pv_layout(
            GIB,
            &PvLayoutOptions {
                metadata_size_sectors: Some(8),
                data_alignment_sectors: Some(8),
                ..d()
            }
        ),
        Err(LayoutError::MetadataAreaTooSmall { .. })
    ));
    assert_eq!(
        compute_pv_layout(
            GIB,
            &PvLayoutOptions {
                pe_start_sectors: Some(2048),
                extent_size_sectors: 8192,
                extent_count: 1000,
                ..d()
            }
        ),
        Err(LayoutError::ExtentsPastDevice)
    );
}

#[test]
fn oversized_metadata_request_is_cut_to_leave_room_for_data() {
    // 8 MiB device, 16 MiB of metadata asked: LVM2 takes what fits minus two alignments.
    let layout = compute_pv_layout(
        8 * MIB,
        &PvLayoutOptions {
            metadata_size_sectors: Some(32768),
            ..Default::default()
        },
    )
    .unwrap();
    let mda = layout.metadata_areas[0];
    assert_eq!(mda.offset, 4096);
    assert_eq!(mda.offset + mda.size, 6 * MIB);
    assert_eq!(layout.pe_start, 6 * MIB);
}
