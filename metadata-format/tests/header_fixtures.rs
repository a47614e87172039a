//! Every binary header in the LVM2 2.03.16 fixture images: parsed, checked against the
//! values LVM2's own `pvck --dump headers` printed, and written back byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;

use metadata_format::crc::lvm_crc;
use metadata_format::header::{
    dump_headers, find_pv_label, Decoded, MdaDumpInput, MdaHeader, PvLabel, PvUuid, LABEL_SIZE,
    MDA_MAGIC, PV_EXT_USED,
};

const MIB: u64 = 1 << 20;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/lvm2-2.03.16")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("fixture text is UTF-8")
}

/// A PV image: first MiB, and the last MiB when the PV has an area at its end.
struct Pv {
    first: Vec<u8>,
    last: Option<Vec<u8>>,
}

impl Pv {
    fn load(stem: &str) -> Pv {
        let last_name = format!("{stem}.last1MiB.img");
        Pv {
            first: fixture(&format!("{stem}.img")),
            last: fixture_path(&last_name)
                .exists()
                .then(|| fixture(&last_name)),
        }
    }

    /// Bytes of the device from `offset` to the end of whichever image holds them.
    fn at(&self, offset: u64, device_size: u64) -> Option<&[u8]> {
        if offset < MIB {
            return self.first.get(offset as usize..);
        }
        let last = self.last.as_ref()?;
        let last_start = device_size - MIB;
        last.get(usize::try_from(offset.checked_sub(last_start)?).ok()?..)
    }
}

/// Every image stem, and whether LVM2 recorded its `pvck --dump headers` output.
const IMAGES: &[(&str, Option<&str>)] = &[
    (
        "guest/pv_after_pvcreate",
        Some("guest/pv_after_pvcreate.headers.txt"),
    ),
    (
        "guest/pvmda2_after_pvcreate",
        Some("guest/pvmda2_after_pvcreate.headers.txt"),
    ),
    (
        "guest/vgdemo_pv0_after_vgcreate",
        Some("guest/vgdemo_pv0_after_vgcreate.headers.txt"),
    ),
    (
        "guest/vgdemo_pv0_after_lvcreate_linear",
        Some("guest/vgdemo_pv0_after_lvcreate_linear.headers.txt"),
    ),
    (
        "guest/vgdemo_pv0_final",
        Some("guest/vgdemo_pv0_final.headers.txt"),
    ),
    (
        "guest/vgdemo_pv1_final",
        Some("guest/vgdemo_pv1_final.headers.txt"),
    ),
    (
        "guest/vgdemo_pv2_final",
        Some("guest/vgdemo_pv2_final.headers.txt"),
    ),
    (
        "guest/vgmda2_pv0_final",
        Some("guest/vgmda2_pv0_final.headers.txt"),
    ),
    ("host/pv_bootloaderarea1m_orphan", None),
    ("host/pv_nomda_oddsize_orphan", None),
    ("host/pv_labelsector3_2mdas_orphan", None),
    ("host/vgdemo_restored_nodm_pv0", None),
    (
        "host/vgvar_pv0_ba",
        Some("host/vgvar_pv0_ba.pvck_headers.txt"),
    ),
    ("host/vgvar_pv1_nomda", None),
    (
        "host/vgvar_pv2_label3_ignored",
        Some("host/vgvar_pv2_label3_ignored.pvck_headers.txt"),
    ),
    (
        "host/vgwrap_pv0_wrapped",
        Some("host/vgwrap_pv0_wrapped.pvck_headers.txt"),
    ),
];

/// `pvck` lines as `field -> value`, comments dropped.
fn pvck_fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.split(" # ").next().unwrap_or(l);
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

fn num(fields: &BTreeMap<String, String>, key: &str) -> u64 {
    let v = fields
        .get(key)
        .unwrap_or_else(|| panic!("pvck output has no {key}"));
    let v = v.strip_prefix("at ").unwrap_or(v);
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => v.parse().unwrap_or_else(|_| panic!("{key} = {v}")),
    }
}

#[test]
fn every_label_sector_parses_verifies_and_reserialises_identically() {
    for (stem, _) in IMAGES {
        let pv = Pv::load(stem);
        let label = find_pv_label(&pv.first[..2048]).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let sector = label.label.sector as usize;
        let on_disk = &pv.first[sector * 512..sector * 512 + LABEL_SIZE];
        // The CRC LVM2 stored is the CRC of the bytes after it.
        let stored = u32::from_le_bytes(on_disk[16..20].try_into().unwrap());
        assert_eq!(stored, lvm_crc(&on_disk[20..]), "{stem}");
        assert_eq!(label.label.crc, stored, "{stem}");
        let again = label.to_bytes().unwrap();
        assert_eq!(&again[..], on_disk, "{stem}: label sector differs");
        // Sectors other than the label's do not hold a label.
        for other in (0..4).filter(|&s| s != sector) {
            assert_ne!(&pv.first[other * 512..other * 512 + 8], b"LABELONE");
        }
    }
}

#[test]
fn every_mda_header_parses_verifies_and_reserialises_identically() {
    let mut headers_seen = 0;
    for (stem, _) in IMAGES {
        let pv = Pv::load(stem);
        let label = find_pv_label(&pv.first).unwrap();
        let pvh = &label.pv_header;
        for area in &pvh.metadata_areas {
            let bytes = pv
                .at(area.offset, pvh.device_size)
                .unwrap_or_else(|| panic!("{stem}: area at {} not in the images", area.offset));
            let on_disk = &bytes[..512];
            assert_eq!(&on_disk[4..20], MDA_MAGIC);
            let stored = u32::from_le_bytes(on_disk[..4].try_into().unwrap());
            assert_eq!(stored, lvm_crc(&on_disk[4..]), "{stem}");
            let h = MdaHeader::parse(on_disk).unwrap_or_else(|e| panic!("{stem}: {e}"));
            h.check_location(area.offset, area.size).unwrap();
            assert_eq!(h.checksum, stored);
            assert_eq!(&h.to_bytes()[..], on_disk, "{stem}: mda_header differs");
            headers_seen += 1;
        }
    }
    // 10 images with one area, 4 with two, 2 without (pv_nomda, vgvar_pv1_nomda).
    assert_eq!(headers_seen, 18);
}

#[test]
fn parsed_values_match_lvm2_pvck_output_field_by_field() {
    for (stem, txt) in IMAGES {
        let Some(txt) = txt else { continue };
        let f = pvck_fields(&fixture_text(txt));
        let pv = Pv::load(stem);
        let label = find_pv_label(&pv.first).unwrap();
        let l = &label.label;
        assert_eq!(num(&f, "label_header.sector"), l.sector, "{stem}");
        assert_eq!(num(&f, "label_header.crc"), u64::from(l.crc), "{stem}");
        assert_eq!(num(&f, "label_header.offset"), u64::from(l.offset));
        assert_eq!(f["label_header.id"], "LABELONE");
        assert_eq!(f["label_header.type"], "LVM2 001");
        assert_eq!(num(&f, "label_header"), l.sector * 512, "{stem}");

        let pvh = &label.pv_header;
        assert_eq!(f["pv_header.pv_uuid"], pvh.pv_uuid.undashed());
        assert_eq!(num(&f, "pv_header.device_size"), pvh.device_size);
        let mut di = 0;
        for da in &pvh.data_areas {
            assert_eq!(
                num(&f, &format!("pv_header.disk_locn[{di}].offset")),
                da.offset
            );
            assert_eq!(num(&f, &format!("pv_header.disk_locn[{di}].size")), da.size);
            di += 1;
        }
        di += 1;
        for mda in &pvh.metadata_areas {
            assert_eq!(
                num(&f, &format!("pv_header.disk_locn[{di}].offset")),
                mda.offset
            );
            assert_eq!(
                num(&f, &format!("pv_header.disk_locn[{di}].size")),
                mda.size
            );
            di += 1;
        }
        assert_eq!(num(&f, &format!("pv_header.disk_locn[{di}].offset")), 0);
        assert!(!f.contains_key(&format!("pv_header.disk_locn[{}].offset", di + 1)));

        let ext = pvh
            .extension
            .as_ref()
            .expect("LVM2 2.03 writes the extension");
        assert_eq!(
            num(&f, "pv_header_extension.version"),
            u64::from(ext.version)
        );
        assert_eq!(num(&f, "pv_header_extension.flags"), u64::from(ext.flags));
        for (i, ba) in ext.bootloader_areas.iter().enumerate() {
            assert_eq!(
                num(&f, &format!("pv_header_extension.disk_locn[{i}].offset")),
                ba.offset
            );
            assert_eq!(
                num(&f, &format!("pv_header_extension.disk_locn[{i}].size")),
                ba.size
            );
        }
        let end = ext.bootloader_areas.len();
        assert_eq!(
            num(&f, &format!("pv_header_extension.disk_locn[{end}].offset")),
            0
        );

        for (i, area) in pvh.metadata_areas.iter().enumerate() {
            let n = i + 1;
            let h = MdaHeader::parse(pv.at(area.offset, pvh.device_size).unwrap()).unwrap();
            let p = format!("mda_header_{n}");
            assert_eq!(num(&f, &p), area.offset);
            assert_eq!(
                num(&f, &format!("{p}.checksum")),
                u64::from(h.checksum),
                "{stem}"
            );
            assert_eq!(num(&f, &format!("{p}.version")), u64::from(h.version));
            assert_eq!(num(&f, &format!("{p}.start")), h.start);
            assert_eq!(num(&f, &format!("{p}.size")), h.size);
            for (ri, r) in h.raw_locns.iter().enumerate() {
                let q = format!("{p}.raw_locn[{ri}]");
                assert_eq!(num(&f, &format!("{q}.offset")), r.offset, "{stem} {q}");
                assert_eq!(num(&f, &format!("{q}.size")), r.size, "{stem} {q}");
                assert_eq!(num(&f, &format!("{q}.checksum")), u64::from(r.checksum));
                assert_eq!(num(&f, &format!("{q}.flags")), u64::from(r.flags), "{stem}");
            }
        }
    }
}

/// Builds the dump the way `oxlvm pvck --dump headers` does: the label where it was found,
/// each listed area from the image holding it.
fn dump_of(stem: &str) -> metadata_format::header::HeaderDump {
    let pv = Pv::load(stem);
    let found = find_pv_label(&pv.first).unwrap();
    let sector = found.label.sector;
    let decoded = PvLabel::decode(&pv.first[sector as usize * 512..]).unwrap();
    let device_size = decoded.value.pv_header.device_size;
    let inputs: Vec<MdaDumpInput<'_>> = decoded
        .value
        .pv_header
        .metadata_areas
        .iter()
        .map(|a| {
            let bytes = pv.at(a.offset, device_size);
            let area = bytes.map(|b| &b[..b.len().min(a.size as usize)]);
            MdaDumpInput {
                start: a.offset,
                header: bytes.and_then(|b| MdaHeader::decode(b).ok()),
                area,
            }
        })
        .collect();
    dump_headers(sector, &decoded, &inputs)
}

#[test]
fn dump_equals_lvm2_pvck_dump_headers_byte_for_byte() {
    for (stem, txt) in IMAGES {
        let Some(txt) = txt else { continue };
        let expected = fixture_text(txt);
        let dump = dump_of(stem);
        assert_eq!(dump.text, expected, "{stem}");
        assert!(!dump.bad, "{stem}");
    }
}

#[test]
fn dump_of_pv_without_metadata_area_says_zero_copies() {
    let dump = dump_of("host/vgvar_pv1_nomda");
    assert!(dump
        .text
        .ends_with("  pv_header_extension.disk_locn[0].size 0\n  zero metadata copies\n"));
    assert!(!dump.text.contains("mda_header"));
    assert!(!dump.bad);
}

#[test]
fn dump_reports_damage_with_lvm2_check_lines() {
    let expected = fixture_text("guest/vgdemo_pv0_final.headers.txt");
    let f = pvck_fields(&expected);
    let img = fixture("guest/vgdemo_pv0_final.img");

    // A wrong stored label CRC: LVM2 names the CRC it expected, the one recorded on disk.
    let mut sector = img[512..1024].to_vec();
    sector[16..20].copy_from_slice(&0xdead_beef_u32.to_le_bytes());
    let decoded = PvLabel::decode(&sector).unwrap();
    let mda: Decoded<MdaHeader> = MdaHeader::decode(&img[4096..]).unwrap();
    let input = [MdaDumpInput {
        start: 4096,
        header: Some(mda.clone()),
        area: Some(&img[4096..]),
    }];
    let dump = dump_headers(1, &decoded, &input);
    assert!(dump.bad);
    let want = format!(
        "  label_header.crc 0xdeadbeef\n  label_header.offset 32\n  label_header.type LVM2 001\n  CHECK: label_header.crc expected {}\n  pv_header at 544\n",
        f["label_header.crc"]
    );
    assert!(dump.text.contains(&want), "{}", dump.text);

    // A damaged committed text: the CRC line reports the mismatch before the text line.
    let mut area = img[4096..].to_vec();
    area[43520 + 100] ^= 0x20;
    let decoded = PvLabel::decode(&img[512..]).unwrap();
    let input = [MdaDumpInput {
        start: 4096,
        header: Some(mda),
        area: Some(&area),
    }];
    let dump = dump_headers(1, &decoded, &input);
    assert!(dump.bad);
    assert!(dump.text.contains(
        "  CHECK: metadata text at 47616 crc does not match mda_header_1.raw_locn[0].checksum\n  metadata text at 47616 crc 0x"
    ));

    // No readable mda_header.
    let input = [MdaDumpInput {
        start: 4096,
        header: None,
        area: None,
    }];
    let dump = dump_headers(1, &decoded, &input);
    assert!(dump.bad);
    assert!(dump
        .text
        .ends_with("  CHECK: failed to read mda_header at 4096\n"));
}

#[test]
fn uuid_text_form_matches_the_vg_backup() {
    // pv0 of vgdemo: the pv_header holds it undashed, vgdemo.vg shows it dashed.
    let label = find_pv_label(&fixture("guest/vgdemo_pv0_final.img")).unwrap();
    let backup = fixture_text("guest/vgdemo.vg");
    let dashed = label.pv_header.pv_uuid.dashed();
    assert!(backup.contains(&format!("id = \"{dashed}\"")), "{dashed}");
    assert_eq!(PvUuid::parse(&dashed).unwrap(), label.pv_header.pv_uuid);
}

#[test]
fn extension_flags_follow_vg_membership() {
    let orphan = find_pv_label(&fixture("guest/pv_after_pvcreate.img")).unwrap();
    let member = find_pv_label(&fixture("guest/vgdemo_pv0_after_vgcreate.img")).unwrap();
    assert!(!orphan.pv_header.in_vg());
    assert!(member.pv_header.in_vg());
    assert_eq!(
        member.pv_header.extension.as_ref().unwrap().flags,
        PV_EXT_USED
    );
    assert_eq!(orphan.pv_header.pv_uuid, member.pv_header.pv_uuid);
}
