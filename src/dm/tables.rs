//! The device-mapper tree LVM2 builds for an LV, computed purely from the VG model: which dm
//! devices (names, UUIDs, read-only), their tables, which device uses which, and the order in
//! which LVM2's libdm creates, loads and resumes them. No kernel, no devices: references to PVs
//! and to other dm devices stay symbolic until [`DmTree::render`] is given their numbers.

use crate::names::dm_name;
use metadata_format::text::{
    Area, Id, LogicalVolume, Mirror, Raid, RaidLevel, Segment, SegmentKind, Striped, Thin,
    ThinMessage, ThinPool, VolumeGroup,
};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// A block device number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNo {
    pub major: u32,
    pub minor: u32,
}

impl DevNo {
    pub fn new(major: u32, minor: u32) -> DevNo {
        DevNo { major, minor }
    }

    /// From the kernel's encoded `dev_t` (as in `st_rdev` or a dm ioctl's `dev`).
    pub fn from_dev_t(dev: u64) -> DevNo {
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        DevNo::new(major as u32, minor as u32)
    }

    pub fn to_dev_t(self) -> u64 {
        let (major, minor) = (u64::from(self.major), u64::from(self.minor));
        ((major & 0xfffff000) << 32)
            | ((major & 0xfff) << 8)
            | ((minor & 0xffffff00) << 12)
            | (minor & 0xff)
    }
}

impl fmt::Display for DevNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// Why no tree could be built or rendered. Each message names the LV and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("Logical volume {0} not found in the VG metadata.")]
    NoSuchLv(String),
    #[error("LV {lv}: {what} is not supported by oxlvm activation yet; use LVM2's lvchange -ay for it meanwhile.")]
    Unsupported { lv: String, what: String },
    #[error("LV {lv}: {problem} (the VG metadata is inconsistent; check it with vgck).")]
    Inconsistent { lv: String, problem: String },
    #[error("Aborting.  LV {lv} is now incomplete and '--activationmode partial' was not specified (PV {pv} is missing).")]
    MissingPv { lv: String, pv: Id },
    #[error("Internal error: dm device {0} is referenced before it exists.")]
    UnknownDevice(String),
}

/// A device a table refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevRef {
    /// A PV of the VG, by id.
    Pv(Id),
    /// Another dm device of the tree, by dm UUID.
    Dm(String),
}

/// One piece of a table's parameter string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Dev(DevRef),
}

/// One table line: `start length target_type params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// In sectors.
    pub start: u64,
    /// In sectors.
    pub length: u64,
    pub target_type: &'static str,
    pub params: Vec<Param>,
}

/// A thin pool message, as sent with DM_TARGET_MSG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolMessage {
    CreateThin { device_id: u32 },
    CreateSnap { device_id: u32, origin_id: u32 },
    Delete { device_id: u32 },
    SetTransactionId { old: u64, new: u64 },
}

impl fmt::Display for PoolMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolMessage::CreateThin { device_id } => write!(f, "create_thin {device_id}"),
            PoolMessage::CreateSnap {
                device_id,
                origin_id,
            } => write!(f, "create_snap {device_id} {origin_id}"),
            PoolMessage::Delete { device_id } => write!(f, "delete {device_id}"),
            PoolMessage::SetTransactionId { old, new } => {
                write!(f, "set_transaction_id {old} {new}")
            }
        }
    }
}

/// What a thin-pool node checks and sends once it is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCheck {
    /// The VG's transaction id for this pool; 0 = a new pool, nothing to check.
    pub transaction_id: u64,
    /// Pending messages (only when the activation asks for them), ending in
    /// set_transaction_id.
    pub messages: Vec<PoolMessage>,
}

/// One dm device of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub uuid: String,
    pub read_only: bool,
    pub targets: Vec<Target>,
    /// Devices of the tree this one uses, in the order LVM2 links them (which is the order
    /// libdm creates them in).
    pub children: Vec<usize>,
    /// The LV this device belongs to and its layer (`real`, `cow`, `tpool`), if any.
    pub lv: String,
    pub layer: Option<&'static str>,
    /// `/dev/<vg>/<lv>` is made for this device.
    pub symlink: bool,
    /// libdm does not resume a new device of this kind while preloading its parent.
    pub delay_resume_if_new: bool,
    /// libdm resumes top-level devices by priority: snapshots (1) after origins (0).
    pub priority: u8,
    pub pool: Option<PoolCheck>,
}

/// The devices for one LV activation. `top` lists the devices nothing in the tree uses, in
/// LVM2's order; children come before parents in every operation that builds the tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DmTree {
    pub nodes: Vec<Node>,
    pub top: Vec<usize>,
}

/// Settings that change the tables as they change LVM2's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// dmeventd monitoring not switched off (`--monitor n`): mirrors get `handle_errors`.
    pub monitoring: bool,
    /// `activation/thin_pool_autoextend_threshold` (percent): sets the pool's low water mark.
    pub thin_pool_autoextend_threshold: u32,
    /// Activate read-only (`--readonly`, `read_only_volume_list`).
    pub read_only: bool,
    /// Add the VG's pending thin pool messages (as LVM2 does when it commits a thin change).
    pub send_messages: bool,
    /// A merging snapshot is activated as a plain snapshot, its origin as `snapshot-origin`
    /// (LVM2's `no_merging`: the merge waits while the origin or the snapshot is open).
    pub no_merging: bool,
    /// PVs of the VG without a device whose areas are mapped to `error` devices of their own
    /// (`<lv>-missing_<segment>_<area>`, LVM2's `missing_stripe_filler = "error"`): set only
    /// when the activation mode allows it (partial, or degraded for RAID) and when
    /// deactivating, so those devices go too. An area on a missing PV not listed here cannot
    /// be rendered.
    pub missing_pvs: Vec<Id>,
    /// LVM2's mirror_in_sync (set by a command that dropped an in-sync mirror's disk log):
    /// mirror tables other than pvmove's say `nosync`.
    pub mirror_in_sync: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            monitoring: true,
            thin_pool_autoextend_threshold: 100,
            read_only: false,
            send_messages: false,
            no_merging: false,
            missing_pvs: Vec::new(),
            mirror_in_sync: false,
        }
    }
}

/// The dm UUID LVM2 gives an LV (and a layer of it): `LVM-<vg id><lv id>[-layer]`.
pub fn dm_uuid(vg_id: &Id, lv_id: &Id, layer: Option<&str>) -> String {
    let mut uuid = String::with_capacity(4 + 64 + 7);
    uuid.push_str("LVM-");
    uuid.push_str(&String::from_utf8_lossy(vg_id.as_bytes()));
    uuid.push_str(&String::from_utf8_lossy(lv_id.as_bytes()));
    if let Some(layer) = layer {
        uuid.push('-');
        uuid.push_str(layer);
    }
    uuid
}

/// The dm name LVM2 gives an LV (and a layer of it): `<vg>-<lv>[-layer]`, `-` doubled in names.
pub fn dm_layer_name(vg: &str, lv: &str, layer: Option<&str>) -> String {
    let mut name = dm_name(vg, lv);
    if let Some(layer) = layer {
        name.push('-');
        name.push_str(layer);
    }
    name
}

/// What an LV is to the rest of the VG, as LVM2's `lv_is_*` tests see it.
struct Roles<'a> {
    vg: &'a VolumeGroup,
    /// Hash lookups instead of scans, when the caller built them once for many trees.
    index: Option<&'a VgIndex<'a>>,
}

/// Who uses whom in a VG, in hash maps: built once by a command that builds the trees of many
/// LVs (vgchange of 1,000 LVs), so that each question is a lookup instead of a scan of every
/// LV (which made activating a whole VG quadratic in its LV count).
pub struct VgIndex<'a> {
    by_name: HashMap<&'a str, &'a LogicalVolume>,
    /// Snapshot segments by origin, in VG order.
    snapshots: HashMap<&'a str, Vec<&'a metadata_format::text::Snapshot>>,
    /// The first snapshot segment (and its LV) naming each COW.
    by_cow: HashMap<&'a str, (&'a LogicalVolume, &'a metadata_format::text::Snapshot)>,
    pool_data: HashSet<&'a str>,
    pool_meta: HashSet<&'a str>,
    raid_sub: HashSet<&'a str>,
}

impl<'a> VgIndex<'a> {
    pub fn new(vg: &'a VolumeGroup) -> VgIndex<'a> {
        let mut ix = VgIndex {
            by_name: HashMap::with_capacity(vg.lvs.len()),
            snapshots: HashMap::new(),
            by_cow: HashMap::new(),
            pool_data: HashSet::new(),
            pool_meta: HashSet::new(),
            raid_sub: HashSet::new(),
        };
        for lv in &vg.lvs {
            ix.by_name.entry(lv.name.as_str()).or_insert(lv);
            for seg in &lv.segments {
                match &seg.kind {
                    SegmentKind::Snapshot(snap) => {
                        ix.snapshots
                            .entry(snap.origin.as_str())
                            .or_default()
                            .push(snap);
                        ix.by_cow.entry(snap.cow.as_str()).or_insert((lv, snap));
                    }
                    SegmentKind::ThinPool(p) => {
                        ix.pool_data.insert(p.pool.as_str());
                        ix.pool_meta.insert(p.metadata.as_str());
                    }
                    SegmentKind::Raid(r) => {
                        for image in &r.images {
                            ix.raid_sub.insert(image.data.as_str());
                            if let Some(meta) = image.meta.as_deref() {
                                ix.raid_sub.insert(meta);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        ix
    }

    pub fn lv(&self, name: &str) -> Option<&'a LogicalVolume> {
        self.by_name.get(name).copied()
    }

    /// `VolumeGroup::is_lv_visible`, without its scan.
    pub fn is_lv_visible(&self, lv: &LogicalVolume) -> bool {
        if lv
            .segments
            .iter()
            .any(|s| matches!(s.kind, SegmentKind::Snapshot(_)))
        {
            return false;
        }
        match self.by_cow.get(lv.name.as_str()) {
            Some((_, snap)) => !snap.merging,
            None => lv.has_status("VISIBLE"),
        }
    }

    /// Whether `lv` is the data LV of a thin pool.
    pub fn is_thin_pool_data(&self, lv: &str) -> bool {
        self.pool_data.contains(lv)
    }

    /// Whether `lv` is the metadata LV of a thin pool.
    pub fn is_thin_pool_metadata(&self, lv: &str) -> bool {
        self.pool_meta.contains(lv)
    }
}

impl<'a> Roles<'a> {
    fn segments(&self) -> impl Iterator<Item = (&'a LogicalVolume, &'a Segment)> {
        self.vg
            .lvs
            .iter()
            .flat_map(|lv| lv.segments.iter().map(move |s| (lv, s)))
    }

    fn lv(&self, name: &str) -> Option<&'a LogicalVolume> {
        match self.index {
            Some(ix) => ix.lv(name),
            None => self.vg.lv(name),
        }
    }

    fn is_lv_visible(&self, lv: &LogicalVolume) -> bool {
        match self.index {
            Some(ix) => ix.is_lv_visible(lv),
            None => self.vg.is_lv_visible(lv),
        }
    }

    /// The internal snapshot segments whose origin is `lv`, in VG order.
    fn snapshots_of(&self, lv: &str) -> Vec<&'a metadata_format::text::Snapshot> {
        if let Some(ix) = self.index {
            return ix.snapshots.get(lv).cloned().unwrap_or_default();
        }
        self.segments()
            .filter_map(|(_, s)| match &s.kind {
                SegmentKind::Snapshot(snap) if snap.origin == lv => Some(snap),
                _ => None,
            })
            .collect()
    }

    /// The snapshot segment (and its internal LV) whose COW is `lv`.
    fn snapshot_with_cow(
        &self,
        lv: &str,
    ) -> Option<(&'a LogicalVolume, &'a metadata_format::text::Snapshot)> {
        if let Some(ix) = self.index {
            return ix.by_cow.get(lv).copied();
        }
        self.segments().find_map(|(owner, s)| match &s.kind {
            SegmentKind::Snapshot(snap) if snap.cow == lv => Some((owner, snap)),
            _ => None,
        })
    }

    fn pool_segment(lv: &LogicalVolume) -> Option<&ThinPool> {
        lv.segments.first().and_then(|s| match &s.kind {
            SegmentKind::ThinPool(p) => Some(p.as_ref()),
            _ => None,
        })
    }

    fn is_thin_pool_data(&self, lv: &str) -> bool {
        if let Some(ix) = self.index {
            return ix.is_thin_pool_data(lv);
        }
        self.segments()
            .any(|(_, s)| matches!(&s.kind, SegmentKind::ThinPool(p) if p.pool == lv))
    }

    fn is_thin_pool_metadata(&self, lv: &str) -> bool {
        if let Some(ix) = self.index {
            return ix.is_thin_pool_metadata(lv);
        }
        self.segments()
            .any(|(_, s)| matches!(&s.kind, SegmentKind::ThinPool(p) if p.metadata == lv))
    }

    fn is_raid_sub_lv(&self, lv: &str) -> bool {
        if let Some(ix) = self.index {
            return ix.raid_sub.contains(lv);
        }
        self.segments().any(|(_, s)| match &s.kind {
            SegmentKind::Raid(r) => r
                .images
                .iter()
                .any(|i| i.data == lv || i.meta.as_deref() == Some(lv)),
            _ => false,
        })
    }

    /// The UUID suffix LVM2 gives an LV's own device (`build_dm_uuid` with no layer).
    fn default_suffix(&self, lv: &LogicalVolume) -> Option<&'static str> {
        if Roles::pool_segment(lv).is_some() {
            Some("pool")
        } else if self.is_thin_pool_data(&lv.name) {
            Some("tdata")
        } else if self.is_thin_pool_metadata(&lv.name) {
            Some("tmeta")
        } else {
            None
        }
    }
}

/// A thin pool whose transaction id is still 0 ("new": no thin LV was ever made in it) is
/// activated as one device; a used pool gets the `-tpool` layer under a read-only wrapper.
fn is_new_thin_pool(lv: &LogicalVolume) -> bool {
    Roles::pool_segment(lv).is_some_and(|p| p.transaction_id == 0)
}

/// Builds [`DmTree`]s the way LVM2's `_add_new_lv_to_dtree` walks an LV.
struct Builder<'a> {
    vg: &'a VolumeGroup,
    roles: Roles<'a>,
    opts: &'a TableOptions,
    tree: DmTree,
    /// A pvmove LV's segment is already mapped as the running mirror (LVM2 runs one at a
    /// time: the first one not yet copied).
    pvmove_running: bool,
}

/// LVM2's default mirror region size (2 MiB, in sectors), cut for a pvmove segment to the
/// largest power of two not above the segment's size (adjusted_mirror_region_size).
const PVMOVE_DEFAULT_REGION: u64 = 4096;

fn pvmove_region_size(extent_size: u32, extents: u32) -> u64 {
    let max = u64::from(extent_size) * u64::from(extents);
    if max < u64::from(u32::MAX) && PVMOVE_DEFAULT_REGION > max {
        1u64 << (63 - max.max(1).leading_zeros())
    } else {
        PVMOVE_DEFAULT_REGION
    }
}

impl<'a> Builder<'a> {
    fn lv(&self, name: &str, user: &str) -> Result<&'a LogicalVolume, TableError> {
        self.roles.lv(name).ok_or_else(|| TableError::Inconsistent {
            lv: user.to_string(),
            problem: format!("it refers to LV {name}, which does not exist"),
        })
    }

    fn uuid(&self, lv: &LogicalVolume, layer: Option<&'static str>) -> String {
        dm_uuid(
            &self.vg.id,
            &lv.id,
            layer.or_else(|| self.roles.default_suffix(lv)),
        )
    }

    fn find(&self, uuid: &str) -> Option<usize> {
        self.tree.nodes.iter().position(|n| n.uuid == uuid)
    }

    /// Makes `child` a device `parent` uses: it leaves the top level, as with libdm.
    fn link(&mut self, parent: usize, child: usize) {
        self.tree.top.retain(|&n| n != child);
        let children = &mut self.tree.nodes[parent].children;
        if !children.contains(&child) {
            children.push(child);
        }
    }

    /// Appends `dev offset` pairs, space-separated, to a linear/striped/mirror table line,
    /// linking each area's node under `index`.
    fn push_areas(
        &mut self,
        index: usize,
        params: &mut Vec<Param>,
        areas: Vec<(DevRef, u64, Option<usize>)>,
    ) {
        for (n, (dev, offset, node)) in areas.into_iter().enumerate() {
            if n > 0 {
                params.push(Param::Text(" ".into()));
            }
            params.push(Param::Dev(dev));
            params.push(Param::Text(format!(" {offset}")));
            if let Some(node) = node {
                self.link(index, node);
            }
        }
    }

    fn read_only(&self, lv: &LogicalVolume, layer: Option<&str>) -> bool {
        if layer.is_some() && self.roles.snapshot_with_cow(&lv.name).is_some() {
            return false; // a snapshot's COW device stays writable
        }
        if self.roles.is_raid_sub_lv(&lv.name) {
            return false;
        }
        if layer.is_none() && Roles::pool_segment(lv).is_some() {
            return true;
        }
        self.opts.read_only || !lv.has_status("WRITE")
    }

    fn size(&self, lv: &LogicalVolume) -> u64 {
        lv.extent_count() * u64::from(self.vg.extent_size)
    }

    /// Adds the device for `lv` (or its `layer`) and everything below it; returns its index.
    fn add_lv(
        &mut self,
        lv: &'a LogicalVolume,
        layer: Option<&'static str>,
    ) -> Result<usize, TableError> {
        let name = dm_layer_name(&self.vg.name, &lv.name, layer);
        let uuid_layer = if layer.is_none() && is_new_thin_pool(lv) {
            Some("tpool")
        } else {
            layer
        };
        let uuid = self.uuid(lv, uuid_layer);
        if let Some(existing) = self.find(&uuid) {
            return Ok(existing);
        }
        let symlink = layer.is_none()
            && self.roles.is_lv_visible(lv)
            && (Roles::pool_segment(lv).is_none() || is_new_thin_pool(lv));
        let index = self.tree.nodes.len();
        self.tree.nodes.push(Node {
            name,
            uuid,
            read_only: self.read_only(lv, uuid_layer),
            targets: Vec::new(),
            children: Vec::new(),
            lv: lv.name.clone(),
            layer,
            symlink,
            delay_resume_if_new: false,
            priority: 0,
            pool: None,
        });
        self.tree.top.push(index);

        let snapshots = self.roles.snapshots_of(&lv.name);
        if layer.is_none() && !snapshots.is_empty() {
            let real = self.add_lv(lv, Some("real"))?;
            let real_uuid = self.tree.nodes[real].uuid.clone();
            let length = self.size(lv);
            let merging = snapshots
                .iter()
                .find(|s| s.merging)
                .filter(|_| !self.opts.no_merging);
            match merging {
                // LVM2's _add_snapshot_merge_target_to_dtree: the origin reads through the
                // merging snapshot's exception store while the kernel copies it back.
                Some(snap) => {
                    let cow_lv = self.lv(&snap.cow, &lv.name)?;
                    let cow = self.add_lv(cow_lv, Some("cow"))?;
                    let cow_uuid = self.tree.nodes[cow].uuid.clone();
                    self.tree.nodes[index].targets.push(Target {
                        start: 0,
                        length,
                        target_type: "snapshot-merge",
                        params: vec![
                            Param::Dev(DevRef::Dm(real_uuid)),
                            Param::Text(" ".into()),
                            Param::Dev(DevRef::Dm(cow_uuid)),
                            Param::Text(format!(" P {}", snap.chunk_size)),
                        ],
                    });
                    self.link(index, real);
                    self.link(index, cow);
                    self.tree.nodes[index].priority = 1;
                }
                None => {
                    self.tree.nodes[index].targets.push(Target {
                        start: 0,
                        length,
                        target_type: "snapshot-origin",
                        params: vec![Param::Dev(DevRef::Dm(real_uuid))],
                    });
                    self.link(index, real);
                }
            }
            // libdm does not resume a new origin's -real while preloading.
            self.tree.nodes[real].delay_resume_if_new = true;
            for snap in snapshots {
                let cow = self.lv(&snap.cow, &lv.name)?;
                self.add_lv(cow, None)?;
            }
        } else if let (None, Some((internal, snap))) =
            (layer, self.roles.snapshot_with_cow(&lv.name))
        {
            let origin = self.lv(&snap.origin, &lv.name)?;
            let real_uuid = self.uuid(origin, Some("real"));
            let real = match self.find(&real_uuid) {
                Some(real) => real,
                // The snapshot alone: LVM2 brings up the origin (and so this snapshot) instead.
                None => {
                    self.tree.nodes.pop();
                    self.tree.top.retain(|&n| n != index);
                    self.add_lv(origin, None)?;
                    let cow_uuid = self.uuid(lv, None);
                    return self
                        .find(&cow_uuid)
                        .ok_or(TableError::UnknownDevice(cow_uuid));
                }
            };
            let length = internal.extent_count() * u64::from(self.vg.extent_size);
            if snap.merging && !self.opts.no_merging {
                // The merging snapshot itself maps nothing any more (LVM2 loads `error`); it
                // resumes after the origin's snapshot-merge.
                self.tree.nodes[index].targets.push(Target {
                    start: 0,
                    length,
                    target_type: "error",
                    params: Vec::new(),
                });
                self.tree.nodes[index].priority = 2;
                return Ok(index);
            }
            let cow = self.add_lv(lv, Some("cow"))?;
            let cow_uuid = self.tree.nodes[cow].uuid.clone();
            self.tree.nodes[index].targets.push(Target {
                start: 0,
                length,
                target_type: "snapshot",
                params: vec![
                    Param::Dev(DevRef::Dm(real_uuid)),
                    Param::Text(" ".into()),
                    Param::Dev(DevRef::Dm(cow_uuid)),
                    Param::Text(format!(" P {}", snap.chunk_size)),
                ],
            });
            self.link(index, real);
            self.link(index, cow);
            self.tree.nodes[index].priority = 1;
        } else if layer.is_none() && Roles::pool_segment(lv).is_some() && !is_new_thin_pool(lv) {
            let tpool = self.add_lv(lv, Some("tpool"))?;
            let tpool_uuid = self.tree.nodes[tpool].uuid.clone();
            let length = self.size(lv);
            self.tree.nodes[index].targets.push(Target {
                start: 0,
                length,
                target_type: "linear",
                params: vec![Param::Dev(DevRef::Dm(tpool_uuid)), Param::Text(" 0".into())],
            });
            self.link(index, tpool);
        } else {
            let outer = std::mem::replace(&mut self.pvmove_running, false);
            for (segno, seg) in lv.segments.iter().enumerate() {
                self.add_segment(index, lv, segno, seg)?;
            }
            self.pvmove_running = outer;
        }
        Ok(index)
    }

    fn add_segment(
        &mut self,
        index: usize,
        lv: &'a LogicalVolume,
        segno: usize,
        seg: &'a Segment,
    ) -> Result<(), TableError> {
        let extent = u64::from(self.vg.extent_size);
        let start = u64::from(seg.start_extent) * extent;
        let length = u64::from(seg.extent_count) * extent;
        let target = match &seg.kind {
            SegmentKind::Striped(striped) => {
                self.striped(index, lv, (segno, length), striped, start)?
            }
            SegmentKind::Mirror(mirror) => {
                self.mirror(index, lv, (segno, length), mirror, start)?
            }
            SegmentKind::Raid(raid) => self.raid(index, lv, raid, start, length)?,
            SegmentKind::ThinPool(pool) => self.thin_pool(index, lv, pool, start, length)?,
            SegmentKind::Thin(thin) => self.thin(index, lv, thin, start, length)?,
            SegmentKind::Snapshot(_) => {
                return Err(TableError::Inconsistent {
                    lv: lv.name.clone(),
                    problem: "an internal snapshot LV is activated through its COW LV".into(),
                })
            }
            // Virtual segments: what vgreduce --removemissing --force leaves of a lost RAID
            // image (LVM2's replace_lv_with_error_segment), or `zero`.
            SegmentKind::Other(o) if o.type_name == "error" || o.type_name == "zero" => Target {
                start,
                length,
                target_type: if o.type_name == "error" {
                    "error"
                } else {
                    "zero"
                },
                params: Vec::new(),
            },
            other => {
                return Err(TableError::Unsupported {
                    lv: lv.name.clone(),
                    what: format!("segment type {}", other.type_name()),
                })
            }
        };
        self.tree.nodes[index].targets.push(target);
        Ok(())
    }

    /// The device and sector an area starts at; LV areas bring their LV into the tree.
    /// `seg` is the segment's number in the LV and its length in sectors, `s` the area's
    /// number in it: they name the error device that stands in for an area on a missing PV.
    fn area(
        &mut self,
        lv: &'a LogicalVolume,
        seg: (usize, u64),
        s: usize,
        area: &Area,
    ) -> Result<(DevRef, u64, Option<usize>), TableError> {
        let extent = u64::from(self.vg.extent_size);
        match area {
            Area::Pv { pv, .. } if self.opts.missing_pvs.contains(pv) => {
                let node = self.missing_area(lv, seg, s);
                Ok((
                    DevRef::Dm(self.tree.nodes[node].uuid.clone()),
                    0,
                    Some(node),
                ))
            }
            Area::Pv { pv, start } => {
                let pe_start = self
                    .vg
                    .pv(pv)
                    .ok_or_else(|| TableError::Inconsistent {
                        lv: lv.name.clone(),
                        problem: format!("PV {pv} is not in the VG"),
                    })?
                    .pe_start;
                Ok((DevRef::Pv(*pv), pe_start + u64::from(*start) * extent, None))
            }
            Area::Lv { name, start } => {
                let sub = self.lv(name, &lv.name)?;
                let node = self.add_lv(sub, None)?;
                Ok((
                    DevRef::Dm(self.tree.nodes[node].uuid.clone()),
                    u64::from(*start) * extent,
                    Some(node),
                ))
            }
        }
    }

    /// LVM2's `_add_error_or_zero_device`: an `error` device as long as the whole segment,
    /// named and identified after the LV with the layer `missing_<segment>_<area>`.
    fn missing_area(
        &mut self,
        lv: &LogicalVolume,
        (segno, length): (usize, u64),
        s: usize,
    ) -> usize {
        let layer = format!("missing_{segno}_{s}");
        let uuid = dm_uuid(&self.vg.id, &lv.id, Some(&layer));
        if let Some(existing) = self.find(&uuid) {
            return existing;
        }
        let index = self.tree.nodes.len();
        self.tree.nodes.push(Node {
            name: dm_layer_name(&self.vg.name, &lv.name, Some(&layer)),
            uuid,
            read_only: false,
            targets: vec![Target {
                start: 0,
                length,
                target_type: "error",
                params: Vec::new(),
            }],
            children: Vec::new(),
            lv: lv.name.clone(),
            layer: Some("missing"),
            symlink: false,
            delay_resume_if_new: false,
            priority: 0,
            pool: None,
        });
        self.tree.top.push(index);
        index
    }

    fn striped(
        &mut self,
        index: usize,
        lv: &'a LogicalVolume,
        seg: (usize, u64),
        striped: &Striped,
        start: u64,
    ) -> Result<Target, TableError> {
        let length = seg.1;
        if striped.stripes.is_empty() {
            return Err(TableError::Inconsistent {
                lv: lv.name.clone(),
                problem: "a striped segment has no areas".into(),
            });
        }
        let mut areas = Vec::new();
        for (s, area) in striped.stripes.iter().enumerate() {
            areas.push(self.area(lv, seg, s, area)?);
        }
        let mut params = Vec::new();
        if areas.len() > 1 {
            params.push(Param::Text(format!(
                "{} {} ",
                areas.len(),
                striped.stripe_size.unwrap_or(0)
            )));
        }
        self.push_areas(index, &mut params, areas);
        Ok(Target {
            start,
            length,
            target_type: if striped.stripes.len() > 1 {
                "striped"
            } else {
                "linear"
            },
            params,
        })
    }

    fn mirror(
        &mut self,
        index: usize,
        lv: &'a LogicalVolume,
        seg: (usize, u64),
        mirror: &Mirror,
        start: u64,
    ) -> Result<Target, TableError> {
        let length = seg.1;
        if lv.has_status("PVMOVE") {
            return self.pvmove_segment(index, lv, seg, mirror, start);
        }
        if mirror.mirrors.len() < 2 {
            return Err(TableError::Unsupported {
                lv: lv.name.clone(),
                what: "a mirror segment under conversion (one image)".into(),
            });
        }
        let region_size = mirror.region_size.ok_or_else(|| TableError::Inconsistent {
            lv: lv.name.clone(),
            problem: "Missing region size for mirror segment".into(),
        })?;
        let log = match &mirror.mirror_log {
            Some(name) => {
                let log_lv = self.lv(name, &lv.name)?;
                let node = self.add_lv(log_lv, None)?;
                Some(node)
            }
            None => None,
        };
        let mut areas = Vec::new();
        for (s, area) in mirror.mirrors.iter().enumerate() {
            areas.push(self.area(lv, seg, s, area)?);
        }
        // dm-mirror's log arguments: region size, plus the log device for a disk log;
        // "handle_errors" (when dmeventd monitors the mirror) is a feature argument.
        let mut params = Vec::new();
        let nosync = if self.opts.mirror_in_sync {
            " nosync"
        } else {
            ""
        };
        let log_args = 1 + usize::from(!nosync.is_empty());
        match log {
            Some(node) => {
                params.push(Param::Text(format!("disk {} ", log_args + 1)));
                params.push(Param::Dev(DevRef::Dm(self.tree.nodes[node].uuid.clone())));
                params.push(Param::Text(format!(" {region_size}{nosync}")));
                self.tree.nodes[node].delay_resume_if_new = false;
                self.link(index, node);
            }
            None => {
                params.push(Param::Text(format!(
                    "core {log_args} {region_size}{nosync}"
                )));
                self.tree.nodes[index].delay_resume_if_new = true;
            }
        }
        params.push(Param::Text(format!(" {} ", areas.len())));
        self.push_areas(index, &mut params, areas);
        if self.opts.monitoring {
            params.push(Param::Text(" 1 handle_errors".into()));
        }
        Ok(Target {
            start,
            length,
            target_type: "mirror",
            params,
        })
    }

    /// A segment of a pvmove LV, as LVM2's mirror target line for one: a segment already
    /// copied maps its destination (the second area), the first one not yet copied is a
    /// `mirror` with a core log copying the source to the destination (no `handle_errors`,
    /// region size LVM2's default cut to the segment), and the ones after it map their source.
    fn pvmove_segment(
        &mut self,
        index: usize,
        lv: &'a LogicalVolume,
        seg: (usize, u64),
        mirror: &Mirror,
        start: u64,
    ) -> Result<Target, TableError> {
        let length = seg.1;
        let extents = u32::try_from(length / u64::from(self.vg.extent_size.max(1))).unwrap_or(0);
        let copied = mirror.extents_moved.unwrap_or(0) >= extents;
        let running = !copied && mirror.mirrors.len() > 1 && !self.pvmove_running;
        let areas: Vec<usize> = if copied && mirror.mirrors.len() > 1 {
            vec![1]
        } else if running {
            self.pvmove_running = true;
            (0..mirror.mirrors.len()).collect()
        } else {
            vec![0]
        };
        let mut resolved = Vec::new();
        for &s in &areas {
            let area = mirror
                .mirrors
                .get(s)
                .ok_or_else(|| TableError::Inconsistent {
                    lv: lv.name.clone(),
                    problem: "a pvmove segment has no areas".into(),
                })?;
            resolved.push(self.area(lv, seg, s, area)?);
        }
        let mut params = Vec::new();
        if running {
            let region = pvmove_region_size(self.vg.extent_size, extents);
            params.push(Param::Text(format!("core 1 {region} {} ", resolved.len())));
            self.tree.nodes[index].delay_resume_if_new = true;
        }
        self.push_areas(index, &mut params, resolved);
        Ok(Target {
            start,
            length,
            target_type: if running { "mirror" } else { "linear" },
            params,
        })
    }

    fn raid(
        &mut self,
        index: usize,
        lv: &'a LogicalVolume,
        raid: &Raid,
        start: u64,
        length: u64,
    ) -> Result<Target, TableError> {
        if raid.images.is_empty() {
            return Err(TableError::Inconsistent {
                lv: lv.name.clone(),
                problem: "a raid segment has no images".into(),
            });
        }
        let raid0 = raid.level.is_raid0();
        // Each image's data LV, then its metadata LV, join the tree (LVM2's order); the table
        // then lists metadata/data pairs.
        let mut pairs: Vec<(Option<usize>, usize, &'a LogicalVolume)> = Vec::new();
        for image in &raid.images {
            let data_lv = self.lv(&image.data, &lv.name)?;
            let data = self.add_lv(data_lv, None)?;
            let meta = match &image.meta {
                Some(meta) => {
                    let meta_lv = self.lv(meta, &lv.name)?;
                    Some(self.add_lv(meta_lv, None)?)
                }
                None => None,
            };
            pairs.push((meta, data, data_lv));
        }
        let target_name = match raid.level {
            RaidLevel::Raid0 | RaidLevel::Raid0Meta => "raid0",
            RaidLevel::Raid1 => "raid1",
            RaidLevel::Raid10 | RaidLevel::Raid10Near => "raid10",
            RaidLevel::Raid4 => "raid4",
            RaidLevel::Raid5 | RaidLevel::Raid5Ls => "raid5_ls",
            RaidLevel::Raid5N => "raid5_n",
            RaidLevel::Raid5La => "raid5_la",
            RaidLevel::Raid5Ra => "raid5_ra",
            RaidLevel::Raid5Rs => "raid5_rs",
            RaidLevel::Raid6 | RaidLevel::Raid6Zr => "raid6_zr",
            RaidLevel::Raid6N6 => "raid6_n_6",
            RaidLevel::Raid6Nc => "raid6_nc",
            RaidLevel::Raid6Nr => "raid6_nr",
            RaidLevel::Raid6Ls6 => "raid6_ls_6",
            RaidLevel::Raid6Rs6 => "raid6_rs_6",
            RaidLevel::Raid6La6 => "raid6_la_6",
            RaidLevel::Raid6Ra6 => "raid6_ra_6",
        };
        let is_raid10 = matches!(raid.level, RaidLevel::Raid10 | RaidLevel::Raid10Near);
        let is_raid1 = raid.level == RaidLevel::Raid1;
        let mut rebuild = Vec::new();
        let mut write_mostly = Vec::new();
        let mut delta_disks: i64 = 0;
        let (mut region_size, mut data_offset, mut min_rate, mut max_rate, mut behind) =
            (0, 0, 0, 0, 0);
        let mut data_copies = 0;
        if !raid0 {
            region_size = raid.region_size.unwrap_or(0);
            if region_size == 0 {
                return Err(TableError::Inconsistent {
                    lv: lv.name.clone(),
                    problem: "Missing region size for raid segment".into(),
                });
            }
            for (n, (_, _, data_lv)) in pairs.iter().enumerate() {
                let has = |flag: &str| {
                    data_lv.has_status(flag) || data_lv.flags.iter().any(|f| f == flag)
                };
                if has("REBUILD") {
                    rebuild.push(n);
                }
                if has("RESHAPE_DELTA_DISKS_PLUS") {
                    delta_disks += 1;
                } else if has("RESHAPE_DELTA_DISKS_MINUS") {
                    delta_disks -= 1;
                }
                if is_raid1 && has("WRITEMOSTLY") {
                    write_mostly.push(n);
                }
            }
            // LVM2 reads `data_offset = 0` as "offset zero, set explicitly" (1 internally).
            data_offset = match raid.data_offset {
                Some(0) => 1,
                Some(v) => v,
                None => 0,
            };
            min_rate = raid.min_recovery_rate.unwrap_or(0);
            max_rate = raid.max_recovery_rate.unwrap_or(0);
            if is_raid1 {
                behind = raid.writebehind.unwrap_or(0);
            }
            if is_raid10 {
                data_copies = match raid.data_copies {
                    Some(c) if c >= 2 => c,
                    _ => 2,
                };
            }
        }
        let two_if = |v: bool| if v { 2 } else { 0 };
        let param_count = 1
            + two_if(data_offset != 0)
            + two_if(delta_disks != 0)
            + two_if(region_size != 0)
            + two_if(behind != 0)
            + two_if(min_rate != 0)
            + two_if(max_rate != 0)
            + two_if(data_copies > 1)
            + 2 * rebuild.len()
            + 2 * write_mostly.len();
        // The dm-raid >= 1.11 argument order (every kernel LVM2 2.03 activates on).
        let mut text = format!(
            "{target_name} {param_count} {}",
            raid.stripe_size.unwrap_or(0)
        );
        for n in &rebuild {
            text.push_str(&format!(" rebuild {n}"));
        }
        if min_rate != 0 {
            text.push_str(&format!(" min_recovery_rate {min_rate}"));
        }
        if max_rate != 0 {
            text.push_str(&format!(" max_recovery_rate {max_rate}"));
        }
        for n in &write_mostly {
            text.push_str(&format!(" write_mostly {n}"));
        }
        if behind != 0 {
            text.push_str(&format!(" max_write_behind {behind}"));
        }
        if region_size != 0 {
            text.push_str(&format!(" region_size {region_size}"));
        }
        if data_copies > 1 {
            text.push_str(&format!(" raid10_copies {data_copies}"));
        }
        if delta_disks != 0 {
            text.push_str(&format!(" delta_disks {delta_disks}"));
        }
        if data_offset != 0 {
            text.push_str(&format!(
                " data_offset {}",
                if data_offset == 1 { 0 } else { data_offset }
            ));
        }
        text.push_str(&format!(" {}", pairs.len()));
        let mut params = vec![Param::Text(text)];
        for (meta, data, data_lv) in pairs {
            // An image split off with --trackchanges (visible, not writable) is "- -".
            if self.roles.is_lv_visible(data_lv) && !data_lv.has_status("WRITE") {
                params.push(Param::Text(" - -".into()));
                continue;
            }
            match meta {
                Some(meta) => {
                    params.push(Param::Text(" ".into()));
                    params.push(Param::Dev(DevRef::Dm(self.tree.nodes[meta].uuid.clone())));
                    self.link(index, meta);
                }
                None => params.push(Param::Text(" -".into())),
            }
            params.push(Param::Text(" ".into()));
            params.push(Param::Dev(DevRef::Dm(self.tree.nodes[data].uuid.clone())));
            self.link(index, data);
        }
        Ok(Target {
            start,
            length,
            target_type: "raid",
            params,
        })
    }

    fn thin_pool(
        &mut self,
        index: usize,
        lv: &'a LogicalVolume,
        pool: &ThinPool,
        start: u64,
        length: u64,
    ) -> Result<Target, TableError> {
        let meta_lv = self.lv(&pool.metadata, &lv.name)?;
        let meta = self.add_lv(meta_lv, None)?;
        let data_lv = self.lv(&pool.pool, &lv.name)?;
        let data = self.add_lv(data_lv, None)?;
        if pool.chunk_size == 0 {
            return Err(TableError::Inconsistent {
                lv: lv.name.clone(),
                problem: "the thin pool has chunk_size 0".into(),
            });
        }
        let threshold = self.opts.thin_pool_autoextend_threshold.max(50);
        let low_water_mark = if threshold < 100 {
            length / u64::from(pool.chunk_size) * u64::from(100 - threshold) / 100
        } else {
            0
        };
        let mut features: Vec<&str> = Vec::new();
        if !pool.zero_new_blocks {
            features.push("skip_block_zeroing");
        }
        match pool.discards.as_deref() {
            Some("ignore") => features.push("ignore_discard"),
            Some("nopassdown") => features.push("no_discard_passdown"),
            _ => {}
        }
        if lv.has_status("ERROR_WHEN_FULL") || lv.flags.iter().any(|f| f == "ERROR_WHEN_FULL") {
            features.push("error_if_no_space");
        }
        let mut tail = format!(" {} {low_water_mark} {}", pool.chunk_size, features.len());
        for f in &features {
            tail.push(' ');
            tail.push_str(f);
        }
        let params = vec![
            Param::Dev(DevRef::Dm(self.tree.nodes[meta].uuid.clone())),
            Param::Text(" ".into()),
            Param::Dev(DevRef::Dm(self.tree.nodes[data].uuid.clone())),
            Param::Text(tail),
        ];
        self.link(index, meta);
        self.link(index, data);
        self.tree.nodes[meta].delay_resume_if_new = false;
        self.tree.nodes[data].delay_resume_if_new = false;
        let mut messages = Vec::new();
        if self.opts.send_messages && !pool.messages.is_empty() {
            for message in &pool.messages {
                messages.push(match message {
                    ThinMessage::Delete(id) => PoolMessage::Delete { device_id: *id },
                    ThinMessage::Create(name) => {
                        let thin_lv = self.lv(name, &lv.name)?;
                        let thin =
                            thin_segment(thin_lv).ok_or_else(|| TableError::Inconsistent {
                                lv: lv.name.clone(),
                                problem: format!("message creates {name}, which is not a thin LV"),
                            })?;
                        match &thin.origin {
                            None => PoolMessage::CreateThin {
                                device_id: thin.device_id,
                            },
                            Some(origin) => {
                                let origin_lv = self.lv(origin, &lv.name)?;
                                let origin_thin = thin_segment(origin_lv).ok_or_else(|| {
                                    TableError::Inconsistent {
                                        lv: lv.name.clone(),
                                        problem: format!("origin {origin} is not a thin LV"),
                                    }
                                })?;
                                PoolMessage::CreateSnap {
                                    device_id: thin.device_id,
                                    origin_id: origin_thin.device_id,
                                }
                            }
                        }
                    }
                });
            }
            messages.push(PoolMessage::SetTransactionId {
                old: pool.transaction_id.saturating_sub(1),
                new: pool.transaction_id,
            });
        }
        self.tree.nodes[index].pool = Some(PoolCheck {
            transaction_id: pool.transaction_id,
            messages,
        });
        Ok(Target {
            start,
            length,
            target_type: "thin-pool",
            params,
        })
    }

    fn thin(
        &mut self,
        index: usize,
        lv: &'a LogicalVolume,
        thin: &Thin,
        start: u64,
        length: u64,
    ) -> Result<Target, TableError> {
        if thin.external_origin.is_some() {
            return Err(TableError::Unsupported {
                lv: lv.name.clone(),
                what: "a thin LV with an external origin".into(),
            });
        }
        if thin.merge.is_some() {
            return Err(TableError::Unsupported {
                lv: lv.name.clone(),
                what: "a merging thin snapshot".into(),
            });
        }
        let pool_lv = self.lv(&thin.thin_pool, &lv.name)?;
        if Roles::pool_segment(pool_lv).is_none() {
            return Err(TableError::Inconsistent {
                lv: lv.name.clone(),
                problem: format!("its pool {} is not a thin pool", thin.thin_pool),
            });
        }
        let tpool = self.add_lv(pool_lv, Some("tpool"))?;
        let params = vec![
            Param::Dev(DevRef::Dm(self.tree.nodes[tpool].uuid.clone())),
            Param::Text(format!(" {}", thin.device_id)),
        ];
        self.link(index, tpool);
        Ok(Target {
            start,
            length,
            target_type: "thin",
            params,
        })
    }
}

fn thin_segment(lv: &LogicalVolume) -> Option<&Thin> {
    lv.segments.first().and_then(|s| match &s.kind {
        SegmentKind::Thin(t) => Some(t.as_ref()),
        _ => None,
    })
}

/// The device tree LVM2 builds to activate `lv_name` of `vg`.
pub fn lv_tree(vg: &VolumeGroup, lv_name: &str, opts: &TableOptions) -> Result<DmTree, TableError> {
    build_tree(vg, None, lv_name, opts)
}

/// [`lv_tree`] with the VG's roles looked up in `index` (built once for many trees).
pub fn lv_tree_indexed(
    vg: &VolumeGroup,
    index: &VgIndex<'_>,
    lv_name: &str,
    opts: &TableOptions,
) -> Result<DmTree, TableError> {
    build_tree(vg, Some(index), lv_name, opts)
}

fn build_tree(
    vg: &VolumeGroup,
    index: Option<&VgIndex<'_>>,
    lv_name: &str,
    opts: &TableOptions,
) -> Result<DmTree, TableError> {
    let roles = Roles { vg, index };
    let lv = roles
        .lv(lv_name)
        .ok_or_else(|| TableError::NoSuchLv(format!("{}/{lv_name}", vg.name)))?;
    let mut builder = Builder {
        vg,
        roles,
        opts,
        tree: DmTree::default(),
        pvmove_running: false,
    };
    builder.add_lv(lv, None)?;
    Ok(builder.tree)
}

/// One tree for several LVs of `vg` (each with what it needs), in the order given: what LVM2
/// builds for a pvmove LV and the LVs mapped through it, which change together.
pub fn lvs_tree(
    vg: &VolumeGroup,
    names: &[String],
    opts: &TableOptions,
) -> Result<DmTree, TableError> {
    let mut builder = Builder {
        vg,
        roles: Roles { vg, index: None },
        opts,
        tree: DmTree::default(),
        pvmove_running: false,
    };
    for name in names {
        let lv = vg
            .lv(name)
            .ok_or_else(|| TableError::NoSuchLv(format!("{}/{name}", vg.name)))?;
        builder.add_lv(lv, None)?;
    }
    Ok(builder.tree)
}

/// Looks up device numbers while rendering tables.
pub trait DevResolver {
    /// The device of a PV of the VG; None when it is missing.
    fn pv(&self, id: &Id) -> Option<DevNo>;
    /// A dm device by UUID; None when it does not exist (yet).
    fn dm(&self, uuid: &str) -> Option<DevNo>;
}

impl DmTree {
    pub fn node_by_uuid(&self, uuid: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.uuid == uuid)
    }

    /// Every node in the order libdm creates them: each top-level device after what it uses,
    /// depth first, children in link order.
    pub fn creation_order(&self) -> Vec<usize> {
        let mut order = Vec::new();
        for &top in &self.top {
            self.visit(top, &mut order);
        }
        order
    }

    fn visit(&self, index: usize, order: &mut Vec<usize>) {
        if order.contains(&index) {
            return;
        }
        for &child in &self.nodes[index].children {
            self.visit(child, order);
        }
        order.push(index);
    }

    /// The parameter string of one target, as LVM2 hands it to the kernel.
    pub fn render(
        &self,
        node: &Node,
        target: &Target,
        devs: &dyn DevResolver,
    ) -> Result<String, TableError> {
        let mut out = String::new();
        for param in &target.params {
            match param {
                Param::Text(t) => out.push_str(t),
                Param::Dev(DevRef::Pv(id)) => {
                    let dev = devs.pv(id).ok_or_else(|| TableError::MissingPv {
                        lv: node.lv.clone(),
                        pv: *id,
                    })?;
                    out.push_str(&dev.to_string());
                }
                Param::Dev(DevRef::Dm(uuid)) => {
                    let dev = devs
                        .dm(uuid)
                        .ok_or_else(|| TableError::UnknownDevice(uuid.clone()))?;
                    out.push_str(&dev.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Every table line of a node: `(start, length, type, params)`.
    pub fn table(
        &self,
        node: &Node,
        devs: &dyn DevResolver,
    ) -> Result<Vec<(u64, u64, &'static str, String)>, TableError> {
        node.targets
            .iter()
            .map(|t| {
                Ok((
                    t.start,
                    t.length,
                    t.target_type,
                    self.render(node, t, devs)?,
                ))
            })
            .collect()
    }
}

/// How the kernel prints a table LVM2 loaded (`dmsetup table`): the same text, except that
/// dm-thin-pool ends its feature list with a space.
pub fn kernel_table_text(target_type: &str, params: &str) -> String {
    if target_type == "thin-pool" {
        format!("{params} ")
    } else {
        params.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::parse_metadata;
    use std::collections::HashMap;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lvm2-2.03.16/guest"
    );

    struct Golden {
        pvs: HashMap<Id, DevNo>,
        dms: HashMap<String, DevNo>,
    }

    impl DevResolver for Golden {
        fn pv(&self, id: &Id) -> Option<DevNo> {
            self.pvs.get(id).copied()
        }
        fn dm(&self, uuid: &str) -> Option<DevNo> {
            self.dms.get(uuid).copied()
        }
    }

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture present")
    }

    /// `dmsetup info -c` rows: name -> (uuid, devno).
    fn golden_info() -> HashMap<String, (String, DevNo)> {
        read("dmsetup_info.txt")
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let dev = DevNo::new(f[1].parse().unwrap(), f[2].parse().unwrap());
                (f[0].to_string(), (f[7].to_string(), dev))
            })
            .collect()
    }

    fn vgdemo() -> VolumeGroup {
        let text = read("vgdemo.vg");
        parse_metadata(text.as_bytes()).expect("fixture parses").vg
    }

    /// What LVM2's activation of the whole VG (visible LVs, activation skip honoured) loads.
    fn render_vg(vg: &VolumeGroup, golden: &Golden) -> HashMap<String, (String, Vec<String>)> {
        let mut out = HashMap::new();
        for lv in ["linear", "striped", "pool", "thin1", "r1"] {
            let tree = lv_tree(vg, lv, &TableOptions::default()).unwrap();
            for node in &tree.nodes {
                let lines = tree
                    .table(node, golden)
                    .unwrap()
                    .into_iter()
                    .map(|(s, l, t, p)| format!("{s} {l} {t} {}", kernel_table_text(t, &p)))
                    .collect();
                out.insert(node.name.clone(), (node.uuid.clone(), lines));
            }
        }
        out
    }

    fn golden() -> Golden {
        let vg = vgdemo();
        // vda, vdb, vdc in the guest that made the fixture
        let pvs = vg
            .pvs
            .iter()
            .zip([DevNo::new(254, 0), DevNo::new(254, 16), DevNo::new(254, 32)])
            .map(|(pv, dev)| (pv.id, dev))
            .collect();
        let dms = golden_info().into_values().collect();
        Golden { pvs, dms }
    }

    #[test]
    fn vgdemo_tables_equal_lvm2s_line_for_line() {
        let vg = vgdemo();
        let rendered = render_vg(&vg, &golden());
        let table = read("dmsetup_table.txt");
        let mut seen = 0;
        for line in table.lines() {
            let (name, rest) = line.split_once(": ").unwrap();
            let (_, lines) = rendered
                .get(name)
                .unwrap_or_else(|| panic!("oxlvm builds no device {name}"));
            assert_eq!(lines, &vec![rest.to_string()], "table of {name}");
            seen += 1;
        }
        assert_eq!(seen, rendered.len(), "oxlvm builds exactly LVM2's devices");
    }

    #[test]
    fn vgdemo_names_and_uuids_equal_lvm2s() {
        let vg = vgdemo();
        let rendered = render_vg(&vg, &golden());
        let info = golden_info();
        assert_eq!(rendered.len(), info.len());
        for (name, (uuid, _)) in info {
            assert_eq!(rendered.get(&name).map(|r| &r.0), Some(&uuid), "{name}");
        }
    }

    #[test]
    fn creation_order_is_libdms() {
        let vg = vgdemo();
        let names = |lv: &str| -> Vec<String> {
            let tree = lv_tree(&vg, lv, &TableOptions::default()).unwrap();
            tree.creation_order()
                .into_iter()
                .map(|i| tree.nodes[i].name.clone())
                .collect()
        };
        // The golden minors: children are created before the devices that use them.
        assert_eq!(
            names("pool"),
            [
                "vgdemo-pool_tmeta",
                "vgdemo-pool_tdata",
                "vgdemo-pool-tpool",
                "vgdemo-pool"
            ]
        );
        assert_eq!(
            names("r1"),
            [
                "vgdemo-r1_rmeta_0",
                "vgdemo-r1_rimage_0",
                "vgdemo-r1_rmeta_1",
                "vgdemo-r1_rimage_1",
                "vgdemo-r1"
            ]
        );
        assert_eq!(
            names("linear"),
            [
                "vgdemo-linear-real",
                "vgdemo-linear",
                "vgdemo-snap-cow",
                "vgdemo-snap"
            ]
        );
        assert_eq!(
            names("thin1"),
            [
                "vgdemo-pool_tmeta",
                "vgdemo-pool_tdata",
                "vgdemo-pool-tpool",
                "vgdemo-thin1"
            ]
        );
    }

    #[test]
    fn symlinks_and_read_only_as_lvm2() {
        let vg = vgdemo();
        let tree = lv_tree(&vg, "pool", &TableOptions::default()).unwrap();
        let pool = tree.nodes.iter().find(|n| n.name == "vgdemo-pool").unwrap();
        assert!(
            pool.read_only && !pool.symlink,
            "a used pool's wrapper: read-only, no link"
        );
        let tpool = tree
            .node_by_uuid(&format!("{}-tpool", &pool.uuid[..68]))
            .unwrap();
        assert!(!tpool.read_only);
        assert_eq!(tpool.pool.as_ref().map(|p| p.transaction_id), Some(2));
        let tree = lv_tree(&vg, "linear", &TableOptions::default()).unwrap();
        let linked: Vec<&str> = tree
            .nodes
            .iter()
            .filter(|n| n.symlink)
            .map(|n| n.lv.as_str())
            .collect();
        assert_eq!(linked, ["linear", "snap"]);
        let snap = tree.nodes.iter().find(|n| n.name == "vgdemo-snap").unwrap();
        assert_eq!(snap.priority, 1);
    }

    #[test]
    fn activating_a_snapshot_brings_up_its_origin() {
        let vg = vgdemo();
        let by_snap = lv_tree(&vg, "snap", &TableOptions::default()).unwrap();
        let by_origin = lv_tree(&vg, "linear", &TableOptions::default()).unwrap();
        assert_eq!(by_snap.nodes, by_origin.nodes);
    }

    fn lv_with(name: &str, c: char, seg: Segment) -> LogicalVolume {
        let mut lv = LogicalVolume::new(name, Id::parse(&c.to_string().repeat(32)).unwrap());
        lv.segments.push(seg);
        lv
    }

    fn hidden(mut lv: LogicalVolume) -> LogicalVolume {
        lv.status.retain(|s| s != "VISIBLE");
        lv
    }

    struct Seq(HashMap<String, DevNo>, DevNo);

    impl DevResolver for Seq {
        fn pv(&self, _: &Id) -> Option<DevNo> {
            Some(self.1)
        }
        fn dm(&self, uuid: &str) -> Option<DevNo> {
            self.0.get(uuid).copied()
        }
    }

    /// Gives the tree's devices minors 0.. in creation order, as a fresh kernel would.
    fn tables(vg: &VolumeGroup, lv: &str, opts: &TableOptions) -> Vec<String> {
        let tree = lv_tree(vg, lv, opts).unwrap();
        let order = tree.creation_order();
        let devs = Seq(
            order
                .iter()
                .enumerate()
                .map(|(m, &i)| (tree.nodes[i].uuid.clone(), DevNo::new(253, m as u32)))
                .collect(),
            DevNo::new(8, 16),
        );
        order
            .iter()
            .map(|&i| {
                let node = &tree.nodes[i];
                let lines: Vec<String> = tree
                    .table(node, &devs)
                    .unwrap()
                    .into_iter()
                    .map(|(s, l, t, p)| format!("{s} {l} {t} {p}"))
                    .collect();
                format!("{}: {}", node.name, lines.join(" | "))
            })
            .collect()
    }

    fn test_vg() -> VolumeGroup {
        let mut vg = VolumeGroup::new("vg-x", Id::parse(&"v".repeat(32)).unwrap(), 8192);
        let pv = Id::parse(&"p".repeat(32)).unwrap();
        vg.pvs.push(metadata_format::text::PhysicalVolume::new(
            pv,
            "/dev/sdb",
            1 << 21,
            2048,
            255,
        ));
        vg
    }

    #[test]
    fn mirror_tables_core_and_disk_log() {
        let mut vg = test_vg();
        let pv = vg.pvs[0].id;
        let mirror = |log: Option<&str>| {
            Segment::new(
                0,
                2,
                SegmentKind::Mirror(Mirror {
                    extents_moved: None,
                    mirror_log: log.map(str::to_string),
                    region_size: Some(1024),
                    mirrors: vec![
                        Area::Lv {
                            name: "m_mimage_0".into(),
                            start: 0,
                        },
                        Area::Lv {
                            name: "m_mimage_1".into(),
                            start: 0,
                        },
                    ],
                }),
            )
        };
        vg.lvs.push(lv_with("m", 'a', mirror(Some("m_mlog"))));
        vg.lvs
            .push(hidden(lv_with("m_mlog", 'b', Segment::linear(0, 1, pv, 0))));
        vg.lvs.push(hidden(lv_with(
            "m_mimage_0",
            'c',
            Segment::linear(0, 2, pv, 1),
        )));
        vg.lvs.push(hidden(lv_with(
            "m_mimage_1",
            'd',
            Segment::linear(0, 2, pv, 3),
        )));
        let opts = TableOptions {
            monitoring: false,
            ..TableOptions::default()
        };
        assert_eq!(
            tables(&vg, "m", &opts),
            [
                "vg--x-m_mlog: 0 8192 linear 8:16 2048",
                "vg--x-m_mimage_0: 0 16384 linear 8:16 10240",
                "vg--x-m_mimage_1: 0 16384 linear 8:16 26624",
                "vg--x-m: 0 16384 mirror disk 2 253:0 1024 2 253:1 0 253:2 0",
            ]
        );
        vg.lvs[0].segments[0] = mirror(None);
        vg.lvs.remove(1);
        let monitored = tables(&vg, "m", &TableOptions::default());
        assert_eq!(
            monitored.last().unwrap(),
            "vg--x-m: 0 16384 mirror core 1 1024 2 253:0 0 253:1 0 1 handle_errors"
        );
        let tree = lv_tree(&vg, "m", &opts).unwrap();
        assert!(
            tree.nodes[0].delay_resume_if_new,
            "a core-log mirror resumes last"
        );
    }

    fn raid_vg(level: RaidLevel, images: usize, stripe: Option<u32>) -> VolumeGroup {
        let mut vg = test_vg();
        let pv = vg.pvs[0].id;
        let mut lvs = Vec::new();
        let mut list = Vec::new();
        for n in 0..images {
            let (meta, data) = (format!("r_rmeta_{n}"), format!("r_rimage_{n}"));
            let at = 1 + 3 * n as u32;
            lvs.push(hidden(lv_with(
                &meta,
                (b'a' + 2 * n as u8) as char,
                Segment::linear(0, 1, pv, at),
            )));
            lvs.push(hidden(lv_with(
                &data,
                (b'b' + 2 * n as u8) as char,
                Segment::linear(0, 2, pv, at + 1),
            )));
            list.push(metadata_format::text::RaidImage {
                meta: Some(meta),
                data,
            });
        }
        let raid = Raid {
            level,
            data_copies: None,
            region_size: Some(4096),
            stripe_size: stripe,
            writebehind: None,
            min_recovery_rate: None,
            max_recovery_rate: None,
            data_offset: None,
            images: list,
        };
        vg.lvs.push(lv_with(
            "r",
            'z',
            Segment::new(0, 4, SegmentKind::Raid(Box::new(raid))),
        ));
        vg.lvs.extend(lvs);
        vg
    }

    #[test]
    fn raid5_and_raid10_tables() {
        let vg = raid_vg(RaidLevel::Raid5, 3, Some(128));
        assert_eq!(
            tables(&vg, "r", &TableOptions::default()).last().unwrap(),
            "vg--x-r: 0 32768 raid raid5_ls 3 128 region_size 4096 3 253:0 253:1 253:2 253:3 253:4 253:5"
        );
        let vg = raid_vg(RaidLevel::Raid10, 4, Some(128));
        assert_eq!(
            tables(&vg, "r", &TableOptions::default()).last().unwrap(),
            "vg--x-r: 0 32768 raid raid10 5 128 region_size 4096 raid10_copies 2 4 253:0 253:1 253:2 253:3 253:4 253:5 253:6 253:7"
        );
    }

    #[test]
    fn new_thin_pool_is_one_device_with_the_tpool_uuid() {
        let mut vg = vgdemo();
        if let Some(SegmentKind::ThinPool(p)) = vg.lv_mut("pool").map(|l| &mut l.segments[0].kind) {
            p.transaction_id = 0;
            p.zero_new_blocks = false;
            p.discards = Some("nopassdown".into());
        }
        let opts = TableOptions {
            thin_pool_autoextend_threshold: 70,
            ..TableOptions::default()
        };
        let tree = lv_tree(&vg, "pool", &opts).unwrap();
        let top = &tree.nodes[tree.top[0]];
        assert_eq!(top.name, "vgdemo-pool");
        assert!(top.uuid.ends_with("-tpool"));
        assert!(top.symlink && !top.read_only);
        let t = tables(&vg, "pool", &opts);
        // 262144 sectors / 128-sector chunks * 30%
        assert_eq!(
            t.last().unwrap(),
            "vgdemo-pool: 0 262144 thin-pool 253:0 253:1 128 614 2 skip_block_zeroing no_discard_passdown"
        );
    }

    #[test]
    fn pending_thin_messages_end_in_set_transaction_id() {
        let mut vg = vgdemo();
        if let Some(SegmentKind::ThinPool(p)) = vg.lv_mut("pool").map(|l| &mut l.segments[0].kind) {
            p.transaction_id = 3;
            p.messages = vec![
                ThinMessage::Create("thinsnap".into()),
                ThinMessage::Delete(7),
            ];
        }
        let opts = TableOptions {
            send_messages: true,
            ..TableOptions::default()
        };
        let tree = lv_tree(&vg, "thin1", &opts).unwrap();
        let pool = tree.nodes.iter().find_map(|n| n.pool.as_ref()).unwrap();
        let texts: Vec<String> = pool.messages.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            texts,
            ["create_snap 2 1", "delete 7", "set_transaction_id 2 3"]
        );
        let quiet = lv_tree(&vg, "thin1", &TableOptions::default()).unwrap();
        assert!(quiet
            .nodes
            .iter()
            .find_map(|n| n.pool.as_ref())
            .unwrap()
            .messages
            .is_empty());
    }

    #[test]
    fn dev_t_round_trips() {
        for dev in [
            DevNo::new(253, 14),
            DevNo::new(254, 32),
            DevNo::new(259, 1 << 19),
        ] {
            assert_eq!(DevNo::from_dev_t(dev.to_dev_t()), dev);
        }
        assert_eq!(DevNo::from_dev_t(0xfd0e), DevNo::new(253, 14));
    }

    #[test]
    fn unsupported_types_say_so() {
        let mut vg = test_vg();
        let mut lv = LogicalVolume::new("c", Id::parse(&"c".repeat(32)).unwrap());
        lv.segments
            .push(Segment::new(0, 1, SegmentKind::Cache(Box::default())));
        vg.lvs.push(lv);
        let err = lv_tree(&vg, "c", &TableOptions::default()).unwrap_err();
        assert!(matches!(err, TableError::Unsupported { .. }), "{err}");
        assert!(lv_tree(&vg, "nope", &TableOptions::default()).is_err());
    }
}
