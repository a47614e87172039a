//! A fast hash for the tables the crate and its users build over one VG's names and ids.

use std::hash::{BuildHasher, Hasher};

/// A multiply-rotate hash (the one rustc uses for its own tables) for sets of one VG's LV
/// names and ids, where SipHash cost several times more per key. A text crafted to make its
/// names collide costs time, never a wrong answer.
#[derive(Clone, Copy, Default, Debug)]
pub struct QuickHash;

pub struct QuickHasher(u64);

impl BuildHasher for QuickHash {
    type Hasher = QuickHasher;
    fn build_hasher(&self) -> QuickHasher {
        QuickHasher(0)
    }
}

impl QuickHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for QuickHasher {
    fn write(&mut self, bytes: &[u8]) {
        // The length first: a short last word is padded with zeros, which alone would make
        // "a" and "a\0" one key.
        self.add(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn equal_keys_hash_equal_and_sets_work() {
        let h = |s: &str| QuickHash.hash_one(s);
        assert_eq!(h("pvc-00000001-data"), h("pvc-00000001-data"));
        assert_ne!(h("pvc-00000001-data"), h("pvc-00000002-data"));
        assert_ne!(h("a"), h("a\0"));
        let mut set = HashSet::with_hasher(QuickHash);
        for n in 0..10_000 {
            assert!(set.insert(format!("lv{n}")));
        }
        assert!(!set.insert("lv77".to_string()));
        assert_eq!(set.len(), 10_000);
    }
}
