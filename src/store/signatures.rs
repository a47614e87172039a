//! Recognises what else may live on a device (file systems, swap, LUKS, partition tables, md,
//! an LVM2 label) from the magic numbers at the device start, so pvcreate can refuse to
//! overwrite it and say what it found.

/// Bytes from the device start that cover every signature checked here.
pub const SIGNATURE_SCAN_BYTES: usize = 72 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub kind: &'static str,
    pub offset: u64,
}

struct Magic {
    kind: &'static str,
    offset: usize,
    bytes: &'static [u8],
}

const MAGICS: &[Magic] = &[
    Magic {
        kind: "ext4",
        offset: 1080,
        bytes: &[0x53, 0xEF],
    },
    Magic {
        kind: "xfs",
        offset: 0,
        bytes: b"XFSB",
    },
    Magic {
        kind: "btrfs",
        offset: 0x10040,
        bytes: b"_BHRfS_M",
    },
    Magic {
        kind: "swap",
        offset: 4086,
        bytes: b"SWAPSPACE2",
    },
    Magic {
        kind: "swap",
        offset: 4086,
        bytes: b"SWAP-SPACE",
    },
    Magic {
        kind: "crypto_LUKS",
        offset: 0,
        bytes: b"LUKS\xba\xbe",
    },
    Magic {
        kind: "crypto_LUKS",
        offset: 0,
        bytes: b"SKUL\xba\xbe",
    },
    Magic {
        kind: "gpt",
        offset: 512,
        bytes: b"EFI PART",
    },
    Magic {
        kind: "linux_raid_member",
        offset: 4096,
        bytes: &[0xFC, 0x4E, 0x2B, 0xA9],
    },
    Magic {
        kind: "squashfs",
        offset: 0,
        bytes: b"hsqs",
    },
    Magic {
        kind: "iso9660",
        offset: 32769,
        bytes: b"CD001",
    },
];

/// Every signature found in `head` (the first bytes of a device).
pub fn detect_signatures(head: &[u8]) -> Vec<Signature> {
    let at = |offset: usize, bytes: &[u8]| head.get(offset..offset + bytes.len()) == Some(bytes);
    let mut found: Vec<Signature> = MAGICS
        .iter()
        .filter(|m| at(m.offset, m.bytes))
        .map(|m| Signature {
            kind: m.kind,
            offset: m.offset as u64,
        })
        .collect();
    // A boot-sector signature means an MBR partition table or a FAT file system; a protective
    // MBR in front of a GPT is reported as the GPT alone.
    if at(510, &[0x55, 0xAA]) && !found.iter().any(|s| s.kind == "gpt") {
        let fat = at(54, b"FAT") || at(82, b"FAT32");
        found.push(Signature {
            kind: if fat { "vfat" } else { "dos" },
            offset: 510,
        });
    }
    for sector in 0..4usize {
        if at(sector * 512, b"LABELONE") {
            found.push(Signature {
                kind: "LVM2_member",
                offset: (sector * 512) as u64,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_with(offset: usize, bytes: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; SIGNATURE_SCAN_BYTES];
        h[offset..offset + bytes.len()].copy_from_slice(bytes);
        h
    }

    #[test]
    fn finds_each_magic() {
        assert_eq!(
            detect_signatures(&head_with(1080, &[0x53, 0xEF]))[0].kind,
            "ext4"
        );
        assert_eq!(
            detect_signatures(&head_with(4086, b"SWAPSPACE2"))[0].kind,
            "swap"
        );
        assert_eq!(
            detect_signatures(&head_with(0, b"LUKS\xba\xbe"))[0].kind,
            "crypto_LUKS"
        );
        assert_eq!(
            detect_signatures(&head_with(0x10040, b"_BHRfS_M"))[0].kind,
            "btrfs"
        );
        assert_eq!(
            detect_signatures(&head_with(510, &[0x55, 0xAA]))[0].kind,
            "dos"
        );
        let lvm = detect_signatures(&head_with(1536, b"LABELONE"));
        assert_eq!(
            lvm,
            [Signature {
                kind: "LVM2_member",
                offset: 1536
            }]
        );
        assert!(detect_signatures(&vec![0u8; SIGNATURE_SCAN_BYTES]).is_empty());
        assert!(detect_signatures(&[0u8; 10]).is_empty());
    }

    #[test]
    fn protective_mbr_is_reported_as_gpt() {
        let mut h = head_with(510, &[0x55, 0xAA]);
        h[512..520].copy_from_slice(b"EFI PART");
        let kinds: Vec<_> = detect_signatures(&h).iter().map(|s| s.kind).collect();
        assert_eq!(kinds, ["gpt"]);
    }

    #[test]
    fn real_ext4_is_detected() {
        // A real file system made by e2fsprogs, when it is installed.
        let dir = std::env::temp_dir().join(format!("oxlvm-sig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("fs.img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(8 << 20)
            .unwrap();
        let made = std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(&img)
            .status();
        if let Ok(status) = made {
            assert!(status.success());
            let head = std::fs::read(&img).unwrap();
            let kinds: Vec<_> = detect_signatures(&head[..SIGNATURE_SCAN_BYTES])
                .iter()
                .map(|s| s.kind)
                .collect();
            assert_eq!(kinds, ["ext4"]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
