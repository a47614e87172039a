//! LVM2's metadata checksum: reflected CRC-32 (zlib polynomial) with a non-standard
//! initial register and no final XOR.

/// `crc32fast` inverts the register at both ends; seeding it with the inverse of LVM2's
/// initial value and inverting its result gives LVM2's raw-register CRC.
const CRC32FAST_SEED: u32 = !0xF597_A6CF;

/// LVM2's checksum of `data`.
pub fn lvm_crc(data: &[u8]) -> u32 {
    lvm_crc_chained(&[data])
}

/// LVM2's checksum over several pieces as if they were one buffer (a ring text split at the wrap).
pub fn lvm_crc_chained(parts: &[&[u8]]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(CRC32FAST_SEED);
    for part in parts {
        hasher.update(part);
    }
    !hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values_match_lvm2() {
        assert_eq!(lvm_crc(b"123456789"), 0x4991_CF02);
        assert_eq!(lvm_crc(b""), 0xF597_A6CF);
    }

    #[test]
    fn chained_equals_whole() {
        let data = b"metadata text split across the ring end";
        assert_eq!(lvm_crc_chained(&[&data[..10], &data[10..]]), lvm_crc(data));
    }
}
