//! LVM2's text metadata language and the typed VG model built from it.
//!
//! Every LVM2 metadata copy, backup file and lvm.conf is written in one small configuration
//! language, so there is one parser (`parse_config`) producing a generic ordered tree, and
//! the VG model (`parse_metadata`) is read from that tree. Writing goes the other way
//! (`emit_ondisk`, `emit_backup`) and reproduces LVM2's bytes, so that texts written here
//! are indistinguishable from LVM2's and survive comparison, checksums and diffing.

mod emit;
mod error;
mod format;
mod import;
mod model;
mod parse;
mod tree;

pub use emit::{emit_backup, emit_config, emit_ondisk};
pub use error::TextError;
pub use format::ctime_text;
pub use import::parse_metadata;
pub use model::{
    AllocationPolicy, Area, Cache, CachePool, CacheSettings, Extra, Header,
    HistoricalLogicalVolume, Id, InvalidId, LogicalVolume, Metadata, Mirror, OtherSegment,
    PhysicalVolume, Raid, RaidImage, RaidLevel, ReadAhead, Segment, SegmentKind, Snapshot, Striped,
    Thin, ThinMessage, ThinPool, VolumeGroup, CONTENTS,
};
pub use parse::{parse_config, MAX_DEPTH};
pub use tree::{line_at, Array, Comments, Item, Node, Scalar, Section, Value};
