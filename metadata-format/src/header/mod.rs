//! Binary structures at the start of a PV: label, pv_header (+ extension), mda_header,
//! raw_locn and placement of texts in the metadata ring.
//!
//! Everything here turns byte slices into typed values and back, byte for byte as LVM2
//! 2.03 writes them, so the store can do raw I/O and nothing else. Each structure has a
//! lenient `decode` (only fails when the bytes cannot even be laid out, so `pvck` can still
//! show a damaged header) and a strict `parse` (what a reader may trust).

mod bytes;
pub mod dump;
mod error;
pub mod label;
pub mod layout;
pub mod mda;
pub mod pv_header;
pub mod ring;
pub mod uuid;

pub use dump::{dump_headers, HeaderDump, MdaDumpInput};
pub use error::HeaderError;
pub use label::{find_pv_label, Decoded, Label, PvLabel, LABEL_SIZE};
pub use layout::{
    compute_pv_layout, default_metadata_size_sectors, IoHints, LayoutError, PvLayout,
    PvLayoutOptions,
};
pub use mda::{MdaHeader, RawLocn, MDA_TRAILING_LEN};
pub use pv_header::{DiskLocn, PvHeader, PvHeaderExtension};
pub use ring::{
    max_text_size, place_next_text, read_text, read_text_unverified, MetadataText, RingError,
    RingPiece, TextPlacement,
};
pub use uuid::{PvUuid, UuidError};

/// Bytes in a sector: every on-disk unit LVM2 uses is counted in these.
pub const SECTOR_SIZE: u64 = 512;
/// LVM2 looks for a label in this many sectors from the start of a device.
pub const LABEL_SCAN_SECTORS: u64 = 4;
/// Bytes LVM2 scans for a label (sectors 0..3); the first metadata area starts at or after it.
pub const LABEL_SCAN_SIZE: u64 = LABEL_SCAN_SECTORS * SECTOR_SIZE;
/// First eight bytes of a label sector.
pub const LABEL_ID: &[u8; 8] = b"LABELONE";
/// Label type of the text format (the only one LVM2 2.03 knows).
pub const LVM2_LABEL_TYPE: &[u8; 8] = b"LVM2 001";
/// Offset of the pv_header from the start of the label; LVM2 always writes 32.
pub const PV_HEADER_OFFSET: u32 = 32;
/// Size of the mda_header; the text ring starts right after it.
pub const MDA_HEADER_SIZE: u64 = 512;
/// Magic at +4 of every mda_header.
pub const MDA_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// The only mda_header version LVM2 writes or accepts.
pub const MDA_VERSION: u32 = 1;
/// pv_header_extension version LVM2 2.03 writes (1 = bootloader areas, 2 = + flags).
pub const PV_EXT_VERSION: u32 = 2;
/// pv_header_extension flag: the PV belongs to a VG (clear on orphans).
pub const PV_EXT_USED: u32 = 0x1;
/// raw_locn flag: the metadata area is kept but not used (`--metadataignore y`).
pub const RAW_LOCN_IGNORED: u32 = 0x1;
