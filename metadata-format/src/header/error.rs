//! Why a label, pv_header or mda_header cannot be trusted or written; each message names the
//! structure and the offending value so a one-line report is enough to act on.

use thiserror::Error;

use super::uuid::UuidError;
use super::DiskLocn;

/// A label sector or mda_header that cannot be decoded, trusted or serialised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    #[error("{what} needs {needed} bytes but only {got} were given")]
    Truncated {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("no LVM2 label (LABELONE) in sectors 0-3: not a PV, or run pvcreate / pvck --repair")]
    NoLabel,
    #[error("sector {sector} does not start with LABELONE")]
    BadLabelId { sector: u64 },
    #[error("label in sector {actual} records sector {recorded}: stale or copied label, ignored as LVM2 does")]
    LabelSectorMismatch { recorded: u64, actual: u64 },
    #[error("label checksum in sector {sector} is 0x{stored:x}, contents give 0x{computed:x}: damaged label (pvck --repair)")]
    LabelChecksum {
        sector: u64,
        stored: u32,
        computed: u32,
    },
    #[error("label type {found:?} is not \"LVM2 001\": not an LVM2 text-format PV")]
    UnknownLabelType { found: String },
    #[error("label puts the pv_header at offset {offset}, LVM2 always uses 32")]
    UnexpectedPvHeaderOffset { offset: u32 },
    #[error("pv_header PV UUID: {0}")]
    InvalidPvUuid(#[from] UuidError),
    #[error("pv_header {list} list runs past the end of the 512-byte label sector")]
    AreaListOverrun { list: &'static str },
    #[error("pv_header {list} list entry {index} has offset 0, which would end the list early")]
    ZeroOffsetArea { list: &'static str, index: usize },
    #[error("pv_header {list} list entry at {offset} has size 0")]
    ZeroSizeArea { list: &'static str, offset: u64 },
    #[error("pv_header {list} area at {} size {} ends past the device size {device_size}", .area.offset, .area.size)]
    AreaPastDevice {
        list: &'static str,
        area: DiskLocn,
        device_size: u64,
    },
    #[error("pv_header areas overlap: {} size {} and {} size {}", .first.offset, .first.size, .second.offset, .second.size)]
    AreasOverlap { first: DiskLocn, second: DiskLocn },
    #[error("pv_header {list} area at {} size {} covers the label sector {label_sector}", .area.offset, .area.size)]
    AreaOverlapsLabel {
        list: &'static str,
        area: DiskLocn,
        label_sector: u64,
    },
    #[error("mda_header checksum is 0x{stored:x}, contents give 0x{computed:x}: damaged metadata area header")]
    MdaChecksum { stored: u32, computed: u32 },
    #[error("mda_header has the wrong magic: not a metadata area")]
    MdaMagic,
    #[error("mda_header version {found}, LVM2 writes only version 1")]
    MdaVersion { found: u32 },
    #[error("mda_header records start {recorded}, the pv_header puts the area at {expected}")]
    MdaStartMismatch { recorded: u64, expected: u64 },
    #[error("mda_header records size {recorded}, the pv_header gives the area {expected} bytes")]
    MdaSizeMismatch { recorded: u64, expected: u64 },
    #[error("mda_header size {size} leaves no room for metadata text after the 512-byte header")]
    MdaTooSmall { size: u64 },
    #[error("mda_header raw_locn[{slot}] offset {offset} size {size} does not fit the {area_size}-byte metadata area")]
    RawLocnOutOfArea {
        slot: usize,
        offset: u64,
        size: u64,
        area_size: u64,
    },
}
