//! LVM2's on-disk format as typed values: bytes in, bytes out, no device access.
//! Everything here is pure so it can be unit-tested on fixtures and fuzzed.

pub mod crc;
pub mod hash;
pub mod header;
pub mod text;

pub use hash::QuickHash;
