//! LVM2's text metadata language and the typed VG model built from it.
//!
//! Every LVM2 metadata copy, backup file and lvm.conf is written in one small configuration
//! language, so there is one parser (`parse_config`) producing a generic ordered tree, and
//! the VG model (`parse_metadata`) is read from that tree. Writing goes the other way
//! (`emit_ondisk`, `emit_backup`) and reproduces LVM2's bytes, so that texts written here
//! are indistinguishable from LVM2's and survive comparison, checksums and diffing.
//!
//! ```
//! use metadata_format::text::*;
//!
//! let pv: Id = "W1IaKT-Kimt-zfvm-sZE1-fRNY-ObeX-Dy8az6".parse().unwrap();
//! let mut vg = VolumeGroup::new("vg0", "mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnDE".parse().unwrap(), 8192);
//! vg.pvs.push(PhysicalVolume::new(pv, "/dev/vda", 2097152, 2048, 255));
//! let mut lv = LogicalVolume::new("lv0", "ZITCGW-Gps8-7AzH-kX0o-F9jl-nYx5-tPG38W".parse().unwrap());
//! lv.segments.push(Segment::linear(0, 16, pv, 0));
//! vg.lvs.push(lv);
//! let header = Header::new("2.03.16(2) (2022-05-18)", "example", "host", "Linux host", 0, 0);
//! let text = emit_ondisk(&Metadata::new(vg, header));
//! assert!(String::from_utf8_lossy(&text).contains("stripes = [\n\"pv0\", 0\n]\n"));
//! assert_eq!(parse_metadata(&text).unwrap().vg.lv("lv0").unwrap().segments[0].areas(),
//!            [Area::Pv { pv, start: 0 }]);
//! ```

mod emit;
mod error;
mod format;
mod import;
mod model;
mod parse;
mod tree;
mod word;

pub use emit::{emit_backup, emit_backup_with, emit_config, emit_ondisk};
pub use error::TextError;
pub use format::ctime_text;
pub use import::{parse_metadata, parse_metadata_split, parse_metadata_without_fast_path};
pub use model::{
    AllocationPolicy, Area, Cache, CachePool, CacheSettings, Extra, Header,
    HistoricalLogicalVolume, Id, InvalidId, LogicalVolume, LvRare, Metadata, Mirror, OtherSegment,
    PhysicalVolume, Raid, RaidImage, RaidLevel, Rare, ReadAhead, Segment, SegmentKind, Snapshot,
    Striped, Thin, ThinMessage, ThinPool, VolumeGroup, CONTENTS,
};
pub use parse::{parse_config, MAX_DEPTH};
pub use tree::{line_at, Array, Comments, Item, Node, Scalar, Section, Value};
pub use word::{Word, Words};
