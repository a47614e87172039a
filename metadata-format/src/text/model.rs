//! The typed volume-group model that commands work on. Fields are plain and public; optional
//! keys are `Option`s so that what was read is exactly what gets written, and anything the
//! model does not know is carried in `extra` and written back where it was found.
//! Segments refer to PVs by id, not by `pvN`, because LVM2 renumbers `pvN` on every write.

use std::fmt;
use std::str::FromStr;

use super::format::ctime_text;
use super::tree::{Item, Section};
use super::word::{Word, Words};

/// A 32-character LVM2 identifier (VG, PV or LV UUID), stored without dashes and written
/// in LVM2's 6-4-4-4-4-4-6 grouping.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 32]);

/// Characters LVM2 accepts in an identifier.
fn is_id_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'!' || byte == b'#'
}

/// [`is_id_char`] as a table, for the 32 checks of every parsed id.
const ID_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut n = 0;
    while n < 256 {
        let b = n as u8;
        table[n] = b.is_ascii_alphanumeric() || b == b'!' || b == b'#';
        n += 1;
    }
    table
};

impl Id {
    /// An id from its 32 characters (no dashes), e.g. as stored in a pv_header.
    pub fn from_bytes(bytes: [u8; 32]) -> Option<Id> {
        bytes.iter().all(|&b| is_id_char(b)).then_some(Id(bytes))
    }

    /// Parses the text form; dashes anywhere are ignored, as LVM2 does.
    pub fn parse(text: &str) -> Option<Id> {
        // LVM2's own form (6-4-4-4-4-4-6 with dashes): fixed copies, one table check.
        let src = text.as_bytes();
        if src.len() == 38 && [6, 11, 16, 21, 26, 31].iter().all(|&at| src[at] == b'-') {
            let mut bytes = [0u8; 32];
            bytes[0..6].copy_from_slice(&src[0..6]);
            bytes[6..10].copy_from_slice(&src[7..11]);
            bytes[10..14].copy_from_slice(&src[12..16]);
            bytes[14..18].copy_from_slice(&src[17..21]);
            bytes[18..22].copy_from_slice(&src[22..26]);
            bytes[22..26].copy_from_slice(&src[27..31]);
            bytes[26..32].copy_from_slice(&src[32..38]);
            return bytes
                .iter()
                .all(|&b| ID_CHARS[b as usize])
                .then_some(Id(bytes));
        }
        let mut bytes = [0u8; 32];
        let mut len = 0;
        for byte in text.bytes().filter(|&b| b != b'-') {
            if len == 32 || !is_id_char(byte) {
                return None;
            }
            bytes[len] = byte;
            len += 1;
        }
        (len == 32).then_some(Id(bytes))
    }

    /// The 32 characters without dashes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Appends the dashed text form to `buf`.
    pub(crate) fn write_to(&self, buf: &mut Vec<u8>) {
        // Ids starting with '#' are internal names that LVM2 writes as they are.
        if self.0[0] == b'#' {
            buf.extend_from_slice(&self.0);
            return;
        }
        let mut at = 0;
        for (n, group) in [6, 4, 4, 4, 4, 4, 6].into_iter().enumerate() {
            if n > 0 {
                buf.push(b'-');
            }
            buf.extend_from_slice(&self.0[at..at + group]);
            at += group;
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(38);
        self.write_to(&mut buf);
        f.write_str(&String::from_utf8_lossy(&buf))
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

impl FromStr for Id {
    type Err = InvalidId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Id::parse(text).ok_or(InvalidId)
    }
}

/// The text is not 32 characters of `[0-9A-Za-z!#]` (dashes aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an LVM2 identifier: it needs 32 characters 0-9, A-Z, a-z (dashes are ignored)")]
pub struct InvalidId;

/// A key the model does not know, kept with the known key it followed so it is written back
/// in the same place. `after: None` means it came before every known key of its section.
#[derive(Debug, Clone, PartialEq)]
pub struct Extra {
    pub after: Option<&'static str>,
    pub item: Item<'static>,
}

/// LVM2's allocation policies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllocationPolicy {
    Contiguous,
    Cling,
    ClingByTags,
    Normal,
    Anywhere,
    Inherit,
    /// A name this model does not know, kept as written.
    Other(String),
}

impl AllocationPolicy {
    pub fn as_str(&self) -> &str {
        match self {
            AllocationPolicy::Contiguous => "contiguous",
            AllocationPolicy::Cling => "cling",
            AllocationPolicy::ClingByTags => "cling_by_tags",
            AllocationPolicy::Normal => "normal",
            AllocationPolicy::Anywhere => "anywhere",
            AllocationPolicy::Inherit => "inherit",
            AllocationPolicy::Other(name) => name,
        }
    }

    pub fn from_name(name: &str) -> Self {
        match name {
            "contiguous" => AllocationPolicy::Contiguous,
            "cling" => AllocationPolicy::Cling,
            "cling_by_tags" => AllocationPolicy::ClingByTags,
            "normal" => AllocationPolicy::Normal,
            "anywhere" => AllocationPolicy::Anywhere,
            "inherit" => AllocationPolicy::Inherit,
            other => AllocationPolicy::Other(other.to_string()),
        }
    }
}

/// `read_ahead` of an LV; an absent key means "auto".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAhead {
    /// `read_ahead = -1`: read-ahead switched off.
    Disabled,
    /// A fixed read-ahead in sectors.
    Sectors(u32),
}

/// A parsed metadata text: the VG plus the header LVM2 writes around it (before the VG in a
/// backup file, after it on disk).
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub vg: VolumeGroup,
    pub header: Header,
    /// UTC offset (seconds) used for the `# date` comments of LV timestamps in the backup
    /// form. Read from the first such comment of a backup file (LV or historical LV
    /// timestamps); 0 otherwise.
    pub utc_offset: i32,
    /// Unknown top-level keys.
    pub extra: Vec<Extra>,
}

/// The top-level keys around the VG section.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The first comment line, without `# `: `Generated by LVM2 version ...: <date>`.
    pub generated_by: Option<String>,
    pub contents: String,
    pub version: i64,
    pub description: Option<String>,
    pub creation_host: Option<String>,
    /// The comment after `creation_host`, without `# `: the writer's `uname` fields.
    pub creation_host_uname: Option<String>,
    pub creation_host_system_id: Option<String>,
    pub creation_time: Option<u64>,
    /// The comment after `creation_time`, without `# `: its date as `ctime` prints it.
    pub creation_time_date: Option<String>,
}

/// The value of `contents` in every LVM2 metadata text.
pub const CONTENTS: &str = "Text Format Volume Group";

impl Header {
    /// A header as LVM2 writes it: `lvm_version` like `2.03.16(2) (2022-05-18)`, `uname` the
    /// five `uname` fields joined by spaces, `utc_offset` the writer's zone in seconds.
    pub fn new(
        lvm_version: &str,
        description: &str,
        host: &str,
        uname: &str,
        time: u64,
        utc_offset: i32,
    ) -> Self {
        let date = ctime_text(i64::try_from(time).unwrap_or(i64::MAX), utc_offset);
        Header {
            generated_by: Some(format!("Generated by LVM2 version {lvm_version}: {date}")),
            contents: CONTENTS.to_string(),
            version: 1,
            description: Some(description.to_string()),
            creation_host: Some(host.to_string()),
            creation_host_uname: Some(uname.to_string()),
            creation_host_system_id: None,
            creation_time: Some(time),
            creation_time_date: Some(date),
        }
    }
}

impl Metadata {
    pub fn new(vg: VolumeGroup, header: Header) -> Self {
        Metadata {
            vg,
            header,
            utc_offset: 0,
            extra: Vec::new(),
        }
    }
}

/// A volume group: the section named after the VG.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeGroup {
    pub name: String,
    pub id: Id,
    pub seqno: u32,
    /// `"lvm2"`; LVM2 marks it `# informational`.
    pub format: Option<String>,
    pub status: Vec<Word>,
    pub flags: Vec<Word>,
    pub tags: Vec<String>,
    pub system_id: Option<String>,
    pub lock_type: Option<String>,
    pub lock_args: Option<String>,
    /// Extent size in sectors.
    pub extent_size: u32,
    pub max_lv: u32,
    pub max_pv: u32,
    /// `None` is LVM2's default (normal); LVM2 writes neither normal nor inherit here.
    pub allocation_policy: Option<AllocationPolicy>,
    pub profile: Option<String>,
    pub metadata_copies: Option<u32>,
    /// In the VG's order; this order defines the `pvN` names.
    pub pvs: Vec<PhysicalVolume>,
    /// In the VG's order. On output visible LVs come first, as LVM2 writes them.
    pub lvs: Vec<LogicalVolume>,
    pub historical_lvs: Vec<HistoricalLogicalVolume>,
    pub extra: Vec<Extra>,
}

/// One entry of `physical_volumes`.
#[derive(Debug, Clone, PartialEq)]
pub struct PhysicalVolume {
    pub id: Id,
    /// The device path when last written; only a hint.
    pub device: Option<String>,
    pub device_id_type: Option<String>,
    pub device_id: Option<String>,
    pub status: Vec<Word>,
    pub flags: Vec<Word>,
    pub tags: Vec<String>,
    /// Device size in sectors.
    pub dev_size: Option<u64>,
    /// First extent, in sectors from the device start.
    pub pe_start: u64,
    pub pe_count: u32,
    /// Bootloader area start and size, in sectors.
    pub ba_start: Option<u64>,
    pub ba_size: Option<u64>,
    pub extra: Vec<Extra>,
}

/// One entry of `logical_volumes`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogicalVolume {
    pub name: String,
    pub id: Id,
    /// The common lists are shared ([`Words`]); `lv.status.to_mut()` gives a `Vec`.
    pub status: Words,
    pub flags: Vec<Word>,
    pub tags: Vec<String>,
    /// Seconds since the epoch.
    pub creation_time: Option<u64>,
    pub creation_host: Option<String>,
    /// In order; `segment_count` and the `segmentN` names are derived from this list.
    pub segments: Vec<Segment>,
    /// The fields few LVs have (`lv.rare.lock_args`, ...), boxed only when one is set.
    pub rare: Rare,
}

/// The keys of an LV section that few LVs have. A VG of many plain LVs keeps one pointer per
/// LV for all of them instead of ~100 bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LvRare {
    pub lock_args: Option<String>,
    /// `None` inherits the VG's policy; LVM2 never writes `inherit` here.
    pub allocation_policy: Option<AllocationPolicy>,
    pub profile: Option<String>,
    pub read_ahead: Option<ReadAhead>,
    pub major: Option<i32>,
    pub minor: Option<i32>,
    pub extra: Vec<Extra>,
}

const NO_RARE: LvRare = LvRare {
    lock_args: None,
    allocation_policy: None,
    profile: None,
    read_ahead: None,
    major: None,
    minor: None,
    extra: Vec::new(),
};

/// An `LvRare` held in a box only once a field is written: it reads as `LvRare` (every
/// field unset when there is no box) and a write through it allocates the box. Compares
/// by its fields, box or not.
#[derive(Clone, Default)]
pub struct Rare(Option<Box<LvRare>>);

impl Rare {
    pub fn new(fields: LvRare) -> Self {
        if fields == NO_RARE {
            Rare(None)
        } else {
            Rare(Some(Box::new(fields)))
        }
    }
}

impl std::ops::Deref for Rare {
    type Target = LvRare;
    fn deref(&self) -> &LvRare {
        static NONE: LvRare = NO_RARE;
        self.0.as_deref().unwrap_or(&NONE)
    }
}

impl std::ops::DerefMut for Rare {
    fn deref_mut(&mut self) -> &mut LvRare {
        self.0.get_or_insert_with(|| Box::new(NO_RARE))
    }
}

impl PartialEq for Rare {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Rare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// One entry of `historical_logical_volumes` (a removed thin LV kept for lineage).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalLogicalVolume {
    pub name: String,
    pub id: Id,
    pub creation_time: Option<u64>,
    pub removal_time: Option<u64>,
    /// Name of the origin; historical ones carry LVM2's `-` prefix.
    pub origin: Option<String>,
    pub descendants: Vec<String>,
    pub extra: Vec<Extra>,
}

/// A run of logical extents mapped one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_extent: u32,
    pub extent_count: u32,
    pub reshape_count: Option<u32>,
    /// Flags appended to the type name with `+`, e.g. `METADATA_FORMAT`.
    pub type_flags: Vec<String>,
    pub tags: Vec<String>,
    pub kind: SegmentKind,
    pub extra: Vec<Extra>,
}

/// Where one area of a segment lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Area {
    /// `"pvN", pe`: physical extents of a PV.
    Pv { pv: Id, start: u32 },
    /// `"lvname", le`: logical extents of another LV (mirror images, pvmove).
    Lv { name: String, start: u32 },
}

/// The segment type and what only that type has. The larger variants are boxed: every
/// segment of a linear or striped LV (most of a large VG) is as large as the largest variant,
/// and a cache segment's settings would triple it.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentKind {
    /// `striped`; one area is a linear mapping.
    Striped(Striped),
    /// `mirror`, including the temporary `pvmove` mirror.
    Mirror(Mirror),
    /// `raid0`, `raid1`, `raid4`, `raid5*`, `raid6*`, `raid10`.
    Raid(Box<Raid>),
    /// `snapshot` (the internal `snapshotN` LV of a COW snapshot).
    Snapshot(Snapshot),
    ThinPool(Box<ThinPool>),
    Thin(Box<Thin>),
    CachePool(Box<CachePool>),
    Cache(Box<Cache>),
    /// A type the model does not know, kept verbatim.
    Other(OtherSegment),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Striped {
    /// Stripe size in sectors; LVM2 writes it only with more than one stripe.
    pub stripe_size: Option<u32>,
    /// One area per stripe; `stripe_count` is their number.
    pub stripes: Vec<Area>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mirror {
    /// Progress of a pvmove, in extents.
    pub extents_moved: Option<u32>,
    pub mirror_log: Option<String>,
    /// Region size in sectors.
    pub region_size: Option<u32>,
    /// One area per mirror image; `mirror_count` is their number.
    pub mirrors: Vec<Area>,
}

/// The RAID levels (segment type names) LVM2 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RaidLevel {
    Raid0,
    Raid0Meta,
    Raid1,
    Raid10,
    Raid10Near,
    Raid4,
    Raid5,
    Raid5N,
    Raid5La,
    Raid5Ls,
    Raid5Ra,
    Raid5Rs,
    Raid6,
    Raid6N6,
    Raid6Nc,
    Raid6Nr,
    Raid6Zr,
    Raid6Ls6,
    Raid6Rs6,
    Raid6La6,
    Raid6Ra6,
}

const RAID_LEVELS: [(RaidLevel, &str); 21] = [
    (RaidLevel::Raid0, "raid0"),
    (RaidLevel::Raid0Meta, "raid0_meta"),
    (RaidLevel::Raid1, "raid1"),
    (RaidLevel::Raid10, "raid10"),
    (RaidLevel::Raid10Near, "raid10_near"),
    (RaidLevel::Raid4, "raid4"),
    (RaidLevel::Raid5, "raid5"),
    (RaidLevel::Raid5N, "raid5_n"),
    (RaidLevel::Raid5La, "raid5_la"),
    (RaidLevel::Raid5Ls, "raid5_ls"),
    (RaidLevel::Raid5Ra, "raid5_ra"),
    (RaidLevel::Raid5Rs, "raid5_rs"),
    (RaidLevel::Raid6, "raid6"),
    (RaidLevel::Raid6N6, "raid6_n_6"),
    (RaidLevel::Raid6Nc, "raid6_nc"),
    (RaidLevel::Raid6Nr, "raid6_nr"),
    (RaidLevel::Raid6Zr, "raid6_zr"),
    (RaidLevel::Raid6Ls6, "raid6_ls_6"),
    (RaidLevel::Raid6Rs6, "raid6_rs_6"),
    (RaidLevel::Raid6La6, "raid6_la_6"),
    (RaidLevel::Raid6Ra6, "raid6_ra_6"),
];

impl RaidLevel {
    pub fn as_str(self) -> &'static str {
        RAID_LEVELS
            .iter()
            .find(|(level, _)| *level == self)
            .map_or("raid", |(_, name)| name)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        RAID_LEVELS
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(level, _)| *level)
    }

    /// Striped RAID0 variants are written with `stripe_count` instead of `device_count`.
    pub fn is_raid0(self) -> bool {
        matches!(self, RaidLevel::Raid0 | RaidLevel::Raid0Meta)
    }

    pub fn all() -> impl Iterator<Item = RaidLevel> {
        RAID_LEVELS.iter().map(|(level, _)| *level)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Raid {
    pub level: RaidLevel,
    pub data_copies: Option<u32>,
    /// Region size in sectors.
    pub region_size: Option<u32>,
    /// Stripe size in sectors.
    pub stripe_size: Option<u32>,
    pub writebehind: Option<u32>,
    pub min_recovery_rate: Option<u32>,
    pub max_recovery_rate: Option<u32>,
    pub data_offset: Option<u32>,
    /// One entry per device; `device_count` (or `stripe_count`) is their number.
    pub images: Vec<RaidImage>,
}

/// A RAID device: its data sub-LV and, unless the level has none, its metadata sub-LV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaidImage {
    pub meta: Option<String>,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Chunk size in sectors.
    pub chunk_size: u32,
    pub origin: String,
    /// The COW LV (`cow_store`, or `merging_store` while merging).
    pub cow: String,
    pub merging: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThinPool {
    /// The `_tmeta` sub-LV.
    pub metadata: String,
    /// The `_tdata` sub-LV.
    pub pool: String,
    pub transaction_id: u64,
    /// Chunk size in sectors.
    pub chunk_size: u32,
    pub discards: Option<String>,
    pub zero_new_blocks: bool,
    pub crop_metadata: Option<bool>,
    /// Messages not yet sent to the kernel pool, in order (`message1`, `message2`, ...).
    pub messages: Vec<ThinMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThinMessage {
    /// Create the named thin volume (or snapshot).
    Create(String),
    /// Delete the thin device with this id.
    Delete(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Thin {
    pub thin_pool: String,
    pub transaction_id: u64,
    pub device_id: u32,
    pub external_origin: Option<String>,
    pub origin: Option<String>,
    pub merge: Option<String>,
}

/// Settings shared by cache pools and cache volumes using a cachevol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CacheSettings {
    /// Chunk size in sectors.
    pub chunk_size: Option<u32>,
    pub cache_mode: Option<String>,
    pub policy: Option<String>,
    /// The `policy_settings { ... }` subsection, as written.
    pub policy_settings: Option<Section<'static>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CachePool {
    pub data: String,
    pub metadata: String,
    pub metadata_format: Option<u32>,
    pub settings: CacheSettings,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cache {
    pub cache_pool: String,
    pub origin: String,
    pub cleaner: bool,
    pub metadata_format: Option<u32>,
    pub settings: CacheSettings,
    pub metadata_start: Option<u64>,
    pub metadata_len: Option<u64>,
    pub data_start: Option<u64>,
    pub data_len: Option<u64>,
    pub metadata_id: Option<Id>,
    pub data_id: Option<Id>,
}

/// A segment of a type the model does not know: its items after `type` (and `tags`),
/// written back as they were.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherSegment {
    pub type_name: String,
    pub items: Vec<Item<'static>>,
}

impl SegmentKind {
    /// The segment type name written in `type = "..."` (before any `+FLAG`).
    pub fn type_name(&self) -> &str {
        match self {
            SegmentKind::Striped(_) => "striped",
            SegmentKind::Mirror(_) => "mirror",
            SegmentKind::Raid(raid) => raid.level.as_str(),
            SegmentKind::Snapshot(_) => "snapshot",
            SegmentKind::ThinPool(_) => "thin-pool",
            SegmentKind::Thin(_) => "thin",
            SegmentKind::CachePool(_) => "cache-pool",
            SegmentKind::Cache(_) => "cache",
            SegmentKind::Other(other) => &other.type_name,
        }
    }
}

impl Segment {
    /// A segment with no tags, flags or extra keys.
    pub fn new(start_extent: u32, extent_count: u32, kind: SegmentKind) -> Self {
        Segment {
            start_extent,
            extent_count,
            reshape_count: None,
            type_flags: Vec::new(),
            tags: Vec::new(),
            kind,
            extra: Vec::new(),
        }
    }

    /// A linear mapping of `extent_count` extents onto `pv` from physical extent `pe`.
    pub fn linear(start_extent: u32, extent_count: u32, pv: Id, pe: u32) -> Self {
        Segment::new(
            start_extent,
            extent_count,
            SegmentKind::Striped(Striped {
                stripe_size: None,
                stripes: vec![Area::Pv { pv, start: pe }],
            }),
        )
    }

    /// A striped mapping; `stripe_size` in sectors.
    pub fn striped(
        start_extent: u32,
        extent_count: u32,
        stripe_size: u32,
        stripes: Vec<Area>,
    ) -> Self {
        Segment::new(
            start_extent,
            extent_count,
            SegmentKind::Striped(Striped {
                stripe_size: (stripes.len() > 1).then_some(stripe_size),
                stripes,
            }),
        )
    }

    /// The type as written: name plus `+FLAG`s.
    pub fn type_string(&self) -> String {
        let mut text = self.kind.type_name().to_string();
        for flag in &self.type_flags {
            text.push('+');
            text.push_str(flag);
        }
        text
    }

    /// The PV or LV areas this segment maps onto directly.
    pub fn areas(&self) -> &[Area] {
        match &self.kind {
            SegmentKind::Striped(striped) => &striped.stripes,
            SegmentKind::Mirror(mirror) => &mirror.mirrors,
            _ => &[],
        }
    }

    pub fn end_extent(&self) -> u64 {
        u64::from(self.start_extent) + u64::from(self.extent_count)
    }
}

impl PhysicalVolume {
    /// A PV as `vgcreate` writes it: allocatable, no tags.
    pub fn new(id: Id, device: &str, dev_size: u64, pe_start: u64, pe_count: u32) -> Self {
        PhysicalVolume {
            id,
            device: Some(device.to_string()),
            device_id_type: None,
            device_id: None,
            status: vec!["ALLOCATABLE".into()],
            flags: Vec::new(),
            tags: Vec::new(),
            dev_size: Some(dev_size),
            pe_start,
            pe_count,
            ba_start: None,
            ba_size: None,
            extra: Vec::new(),
        }
    }
}

impl LogicalVolume {
    /// A visible, writable LV with no segments yet.
    pub fn new(name: &str, id: Id) -> Self {
        LogicalVolume {
            name: name.to_string(),
            id,
            status: Words::read_write_visible(),
            flags: Vec::new(),
            tags: Vec::new(),
            creation_time: None,
            creation_host: None,
            segments: Vec::new(),
            rare: Rare::default(),
        }
    }

    pub fn has_status(&self, flag: &str) -> bool {
        self.status.iter().any(|s| s == flag)
    }

    /// Total length in extents.
    pub fn extent_count(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| u64::from(s.extent_count))
            .sum()
    }
}

impl VolumeGroup {
    /// A new, empty VG as `vgcreate` writes it (seqno 1, resizeable, read-write).
    pub fn new(name: &str, id: Id, extent_size: u32) -> Self {
        VolumeGroup {
            name: name.to_string(),
            id,
            seqno: 1,
            format: Some("lvm2".to_string()),
            status: vec!["RESIZEABLE".into(), "READ".into(), "WRITE".into()],
            flags: Vec::new(),
            tags: Vec::new(),
            system_id: None,
            lock_type: None,
            lock_args: None,
            extent_size,
            max_lv: 0,
            max_pv: 0,
            allocation_policy: None,
            profile: None,
            metadata_copies: Some(0),
            pvs: Vec::new(),
            lvs: Vec::new(),
            historical_lvs: Vec::new(),
            extra: Vec::new(),
        }
    }

    pub fn lv(&self, name: &str) -> Option<&LogicalVolume> {
        self.lvs.iter().find(|lv| lv.name == name)
    }

    pub fn lv_mut(&mut self, name: &str) -> Option<&mut LogicalVolume> {
        self.lvs.iter_mut().find(|lv| lv.name == name)
    }

    pub fn lv_by_id(&self, id: &Id) -> Option<&LogicalVolume> {
        self.lvs.iter().find(|lv| lv.id == *id)
    }

    pub fn pv(&self, id: &Id) -> Option<&PhysicalVolume> {
        self.pvs.iter().find(|pv| pv.id == *id)
    }

    pub fn pv_mut(&mut self, id: &Id) -> Option<&mut PhysicalVolume> {
        self.pvs.iter_mut().find(|pv| pv.id == *id)
    }

    /// Position of a PV in the VG's list, which is also N in its `pvN` name.
    pub fn pv_index(&self, id: &Id) -> Option<usize> {
        self.pvs.iter().position(|pv| pv.id == *id)
    }

    /// The `pvN` name the next write will give this PV.
    pub fn pv_key(&self, id: &Id) -> Option<String> {
        self.pv_index(id).map(|n| format!("pv{n}"))
    }

    /// Whether LVM2 counts the LV as visible, which decides whether it is written in the
    /// first (visible) group: an internal snapshot LV never is; a COW LV is unless it is
    /// merging; others follow their `VISIBLE` status flag.
    pub fn is_lv_visible(&self, lv: &LogicalVolume) -> bool {
        lv_visibility(&self.lvs, lv)
    }

    /// Everything that points at something missing: PV areas whose PV is not in the VG, LV
    /// references to LVs that do not exist. Emitting such a VG writes text LVM2 rejects.
    pub fn dangling_references(&self) -> Vec<String> {
        let mut problems = Vec::new();
        // One set of names, not a scan of every LV per reference: 30,000 thin LVs each name
        // their pool.
        let mut names = std::collections::HashSet::with_capacity_and_hasher(
            self.lvs.len(),
            crate::hash::QuickHash,
        );
        names.extend(self.lvs.iter().map(|lv| lv.name.as_str()));
        let lv_exists = |name: &str| names.contains(name);
        for lv in &self.lvs {
            for (n, segment) in lv.segments.iter().enumerate() {
                let mut names: Vec<&str> = Vec::new();
                for area in segment.areas() {
                    match area {
                        Area::Pv { pv, .. } if self.pv(pv).is_none() => problems.push(format!(
                            "LV {} segment {}: PV {pv} is not in the VG",
                            lv.name,
                            n + 1
                        )),
                        Area::Lv { name, .. } => names.push(name),
                        Area::Pv { .. } => {}
                    }
                }
                match &segment.kind {
                    SegmentKind::Mirror(mirror) => names.extend(mirror.mirror_log.as_deref()),
                    SegmentKind::Raid(raid) => {
                        for image in &raid.images {
                            names.push(&image.data);
                            names.extend(image.meta.as_deref());
                        }
                    }
                    SegmentKind::Snapshot(snapshot) => {
                        names.push(&snapshot.origin);
                        names.push(&snapshot.cow);
                    }
                    SegmentKind::ThinPool(pool) => {
                        names.push(&pool.metadata);
                        names.push(&pool.pool);
                    }
                    SegmentKind::Thin(thin) => {
                        names.push(&thin.thin_pool);
                        names.extend(thin.origin.as_deref());
                        names.extend(thin.external_origin.as_deref());
                        names.extend(thin.merge.as_deref());
                    }
                    SegmentKind::CachePool(pool) => {
                        names.push(&pool.data);
                        names.push(&pool.metadata);
                    }
                    SegmentKind::Cache(cache) => {
                        names.push(&cache.cache_pool);
                        names.push(&cache.origin);
                    }
                    _ => {}
                }
                for name in names {
                    if !lv_exists(name) {
                        problems.push(format!(
                            "LV {} segment {}: LV {name} does not exist",
                            lv.name,
                            n + 1
                        ));
                    }
                }
            }
        }
        problems
    }
}

/// See [`VolumeGroup::is_lv_visible`].
pub(crate) fn lv_visibility(lvs: &[LogicalVolume], lv: &LogicalVolume) -> bool {
    if lv
        .segments
        .iter()
        .any(|s| matches!(s.kind, SegmentKind::Snapshot(_)))
    {
        return false;
    }
    for other in lvs {
        if let Some(Segment {
            kind: SegmentKind::Snapshot(snapshot),
            ..
        }) = other.segments.first()
        {
            if snapshot.cow == lv.name {
                return !snapshot.merging;
            }
        }
    }
    lv.has_status("VISIBLE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id: Id = "mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnDE".parse().unwrap();
        assert_eq!(id.to_string(), "mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnDE");
        assert_eq!(
            Id::parse("mT8IXfFfBgRXupWFHzwYNwQgHCAaEnDE"),
            Some(id),
            "dashes are optional"
        );
        assert_eq!(Id::parse("mT8IXf-FfBg"), None);
        assert_eq!(
            Id::parse("mT8IX-fFfBg-RXup-WFHz-wYNw-QgHC-AaEnDE"),
            Some(id),
            "dashes elsewhere too"
        );
        assert_eq!(Id::parse("mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnD?"), None);
        assert_eq!(Id::parse("mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnDEx"), None);
    }

    #[test]
    fn segments_stay_small() {
        // Every LV of a large VG has a segment; the rare types are boxed so that a linear
        // one is not as large as a cache segment (360 bytes before they were).
        assert!(
            std::mem::size_of::<Segment>() <= 176,
            "{}",
            std::mem::size_of::<Segment>()
        );
        assert!(std::mem::size_of::<SegmentKind>() <= 72);
    }

    #[test]
    fn lvs_stay_small_and_rare_fields_compare_by_value() {
        // 312 bytes with the rare fields inline.
        assert!(
            std::mem::size_of::<LogicalVolume>() <= 200,
            "{}",
            std::mem::size_of::<LogicalVolume>()
        );
        let plain = LogicalVolume::new("lv", Id::from_bytes([b'a'; 32]).unwrap());
        let mut touched = plain.clone();
        touched.rare.major = Some(253);
        assert_ne!(plain, touched);
        touched.rare.major = None;
        assert_eq!(plain, touched, "an emptied box equals no box");
        assert_eq!(Rare::new(LvRare::default()).0, None);
        assert!(Rare::new(LvRare {
            minor: Some(1),
            ..LvRare::default()
        })
        .0
        .is_some());
    }

    #[test]
    fn raid_levels_have_unique_names() {
        for level in RaidLevel::all() {
            assert_eq!(RaidLevel::from_name(level.as_str()), Some(level));
        }
    }
}
