//! Extent allocation as LVM2 2.03 does it, so both tools pick the same PEs from the same VG.
//! Pure: the VG model in, runs of PEs out. The structure follows LVM2's allocator (per-PV free
//! area lists kept largest first, policies tried in order contiguous -> cling -> normal ->
//! anywhere, positional "preferred" slots when continuing an LV, maximise_cling), because the
//! PEs chosen depend on those details; cost grows with free-extent runs, not with extents.

use metadata_format::text::{
    Area, Id, LogicalVolume, RaidLevel, Segment, SegmentKind, VolumeGroup,
};
use std::fmt;
use std::sync::RwLock;

/// lvm.conf's `allocation/` settings that decide where extents go, with LVM2's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `allocation/cling_tag_list`: the tags (without `@`; `*` matches any tag) whose sharing
    /// makes PVs count as one for cling and parallel placement. None when the setting is
    /// absent; an empty list when every entry was ignored (LVM2 still runs the cling_by_tags
    /// pass then, matching nothing).
    pub cling_tags: Option<Vec<String>>,
    /// `allocation/maximise_cling` (default 1).
    pub maximise_cling: bool,
    /// `allocation/mirror_logs_require_separate_pvs` (default 0): logs (and RAID metadata)
    /// never share a PV with data areas.
    pub mirror_logs_separate: bool,
    /// `allocation/thin_pool_metadata_require_separate_pvs` (default 0): what a thin pool's
    /// metadata uses instead of the mirror setting.
    pub thin_pool_metadata_separate: bool,
    /// `allocation/raid_stripe_all_devices` (default 0): RAID LVs created without `-i` stripe
    /// over every PV given (or every PV of the VG).
    pub raid_stripe_all_devices: bool,
}

impl Settings {
    pub const DEFAULT: Settings = Settings {
        cling_tags: None,
        maximise_cling: true,
        mirror_logs_separate: false,
        thin_pool_metadata_separate: false,
        raid_stripe_all_devices: false,
    };

    /// Reads the settings from lvm.conf values: `tag_list` is `allocation/cling_tag_list`
    /// as found (strings; None for a non-string entry), `flag` looks a boolean up by name.
    /// Returns the settings and a warning per ignored list entry, worded as LVM2's.
    pub fn from_values(
        tag_list: Option<Vec<Option<String>>>,
        flag: impl Fn(&str, bool) -> bool,
    ) -> (Settings, Vec<String>) {
        let mut warnings = Vec::new();
        let cling_tags = tag_list.map(|entries| {
            let mut tags = Vec::new();
            for entry in entries {
                let what = "in config file entry allocation/cling_tag_list";
                match entry.as_deref() {
                    None => warnings.push(format!("WARNING: Ignoring invalid string {what}")),
                    Some("") => warnings.push(format!("WARNING: Ignoring empty string {what}")),
                    Some("@") => warnings.push(format!("WARNING: Ignoring empty tag {what}")),
                    Some(t) => match t.strip_prefix('@') {
                        Some(tag) => tags.push(tag.to_string()),
                        None => warnings.push(format!(
                            "WARNING: Ignoring string not starting with @ {what}: {t}"
                        )),
                    },
                }
            }
            tags
        });
        (
            Settings {
                cling_tags,
                maximise_cling: flag("maximise_cling", true),
                mirror_logs_separate: flag("mirror_logs_require_separate_pvs", false),
                thin_pool_metadata_separate: flag("thin_pool_metadata_require_separate_pvs", false),
                raid_stripe_all_devices: flag("raid_stripe_all_devices", false),
            },
            warnings,
        )
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::DEFAULT
    }
}

/// The settings of this process's command (set once the configuration is read, as LVM2 reads
/// them per allocation from its config tree); every [`Request::new`] starts from them.
static SETTINGS: RwLock<Settings> = RwLock::new(Settings::DEFAULT);

/// Installs the allocation settings of the running command.
pub fn configure(settings: Settings) {
    match SETTINGS.write() {
        Ok(mut s) => *s = settings,
        Err(poisoned) => *poisoned.into_inner() = settings,
    }
}

/// The allocation settings in force.
pub fn settings() -> Settings {
    match SETTINGS.read() {
        Ok(s) => s.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Whether `pv1_tags` has a tag of `list` that `to_match` also has (`*`: any tag in common),
/// as LVM2's cling-tag comparison.
fn tags_match(list: &[String], pv1_tags: &[String], to_match: &[String]) -> bool {
    list.iter().any(|entry| {
        if entry == "*" {
            pv1_tags.iter().any(|t| to_match.contains(t))
        } else {
            pv1_tags.contains(entry) && to_match.contains(entry)
        }
    })
}

/// LVM2's allocation policies, in the order the allocator tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    Contiguous,
    Cling,
    ClingByTags,
    Normal,
    Anywhere,
}

impl Policy {
    pub fn from_name(name: &str) -> Option<Policy> {
        Some(match name {
            "contiguous" => Policy::Contiguous,
            "cling" => Policy::Cling,
            "cling_by_tags" => Policy::ClingByTags,
            "normal" => Policy::Normal,
            "anywhere" => Policy::Anywhere,
            _ => return None,
        })
    }

    fn next(self) -> Option<Policy> {
        Some(match self {
            Policy::Contiguous => Policy::Cling,
            Policy::Cling => Policy::ClingByTags,
            Policy::ClingByTags => Policy::Normal,
            Policy::Normal => Policy::Anywhere,
            Policy::Anywhere => return None,
        })
    }
}

/// Where allocation may take extents from: a PV of the VG (index into `vg.pvs`) and optional
/// inclusive PE ranges on it (none = the whole PV). Order matters: LVM2 visits PVs in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvSource {
    pub pv: usize,
    pub ranges: Vec<(u32, u32)>,
}

/// Every allocatable PV of the VG, in VG order (what LVM2 uses without a PV list).
pub fn all_pvs(vg: &VolumeGroup) -> Vec<PvSource> {
    vg.pvs
        .iter()
        .enumerate()
        .filter(|(_, pv)| pv.status.iter().any(|s| s == "ALLOCATABLE"))
        .filter(|(_, pv)| !pv.flags.iter().any(|f| f == "MISSING"))
        .map(|(i, _)| PvSource {
            pv: i,
            ranges: Vec::new(),
        })
        .collect()
}

/// A range of logical extents of the LV being built and the PVs its new areas must avoid there
/// (LVM2's parallel areas: the PVs other legs or stripes use for those extents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParallelArea {
    pub le: u32,
    pub len: u32,
    /// Indexes into `vg.pvs`.
    pub pvs: Vec<usize>,
}

/// What to allocate.
#[derive(Debug, Clone)]
pub struct Request {
    /// Parallel data areas (stripes, mirror legs, RAID data devices); 0 for a log alone.
    pub stripes: u32,
    /// RAID parity devices, allocated beside the data areas.
    pub parity: u32,
    /// Logical extents per extent of one area (LVM2's area_multiple): the stripe count for
    /// striped LVs, the data stripes for RAID 0/4/5/6/10, 1 for mirrors and raid1.
    pub area_multiple: u32,
    /// Logical extents to add (for `split_meta`, including the metadata share).
    pub extents: u32,
    /// Separate single areas allocated with the first chunk, as LVM2 does for a thin pool's
    /// metadata or a mirror log (`log_len` extents each).
    pub log_count: u32,
    pub log_len: u32,
    /// RAID: each device's first area also holds its metadata LV (`log_len` extents at its
    /// front, returned in `Allocation::logs`, one per device), as LVM2's alloc_and_split_meta.
    pub split_meta: bool,
    /// PVs to avoid per logical extent range (mirror logs, pvmove destinations, new legs).
    pub parallel: Vec<ParallelArea>,
    pub policy: Policy,
    /// Take what there is, up to `extents` (LVM2's approx_alloc for percentage sizes).
    pub approx: bool,
    /// allocation/maximise_cling (LVM2 default 1).
    pub maximise_cling: bool,
    /// Thin pool metadata or mirror logs must avoid the data PVs (LVM2 default 0).
    pub logs_separate: bool,
    /// allocation/cling_tag_list (see [`Settings::cling_tags`]).
    pub cling_tags: Option<Vec<String>>,
}

impl Request {
    /// A request under the running command's [`settings`].
    pub fn new(stripes: u32, extents: u32, policy: Policy) -> Request {
        let settings = settings();
        Request {
            stripes: stripes.max(1),
            parity: 0,
            area_multiple: stripes.max(1),
            extents,
            log_count: 0,
            log_len: 0,
            split_meta: false,
            parallel: Vec::new(),
            policy,
            approx: false,
            maximise_cling: settings.maximise_cling,
            logs_separate: settings.mirror_logs_separate,
            cling_tags: settings.cling_tags,
        }
    }

    /// A log area alone (a mirror log): `len` extents on one PV, no data areas.
    pub fn log_only(len: u32, policy: Policy) -> Request {
        let mut req = Request::new(1, 0, policy);
        req.stripes = 0;
        req.area_multiple = 1;
        req.log_count = 1;
        req.log_len = len;
        req
    }
}

/// One run of PEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub pv: usize,
    pub pe: u32,
    pub len: u32,
}

/// The result: one chunk per parallel allocation (each with one run per stripe, all of the
/// same length), plus the log areas.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allocation {
    pub chunks: Vec<Vec<Run>>,
    pub logs: Vec<Run>,
    /// `split_meta`: each device's metadata area, in device order.
    pub meta: Vec<Run>,
    /// Logical extents the chunks cover.
    pub extents: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocError {
    /// Not enough free extents at all: (needed, free).
    Insufficient {
        needed: u64,
        free: u64,
    },
    /// Free space exists but the policy cannot use it: extents still missing.
    Unsuitable {
        more: u64,
        contiguous: bool,
    },
    NotDivisible {
        extents: u32,
        stripes: u32,
    },
    TooFewPvs,
    LogSpace,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocError::Insufficient { needed, free } => write!(
                f,
                "Insufficient free space: needs {needed} extents, VG has {free} free; add a PV (vgextend) or ask for less."
            ),
            AllocError::Unsuitable { more, contiguous } => write!(
                f,
                "Insufficient suitable {}allocatable extents: {more} more required; try --alloc anywhere, fewer stripes or other PVs.",
                if *contiguous { "contiguous " } else { "" }
            ),
            AllocError::NotDivisible { extents, stripes } => write!(
                f,
                "Number of extents requested ({extents}) needs to be divisible by {stripes}."
            ),
            AllocError::TooFewPvs => write!(
                f,
                "Not enough PVs with free space available for parallel allocation.\n  Consider --alloc anywhere if desperate."
            ),
            AllocError::LogSpace => write!(
                f,
                "Insufficient free space for the pool metadata; add a PV or use a smaller --poolmetadatasize."
            ),
        }
    }
}

/// Extents one area of a segment covers.
pub fn area_len(seg: &Segment) -> u32 {
    match &seg.kind {
        SegmentKind::Striped(s) if s.stripes.len() > 1 => {
            seg.extent_count / u32::try_from(s.stripes.len()).unwrap_or(u32::MAX)
        }
        _ => seg.extent_count,
    }
}

/// Free runs of each PV of the VG: (first PE, length), ascending. O(segments log segments).
pub fn free_runs(vg: &VolumeGroup) -> Vec<Vec<(u32, u32)>> {
    let mut used: Vec<Vec<(u32, u32)>> = vec![Vec::new(); vg.pvs.len()];
    for lv in &vg.lvs {
        for seg in &lv.segments {
            let len = area_len(seg);
            for area in seg.areas() {
                if let Area::Pv { pv, start } = area {
                    if let Some(i) = vg.pv_index(pv) {
                        used[i].push((*start, len));
                    }
                }
            }
        }
    }
    vg.pvs
        .iter()
        .zip(used)
        .map(|(pv, mut runs)| {
            runs.sort_unstable();
            let mut free = Vec::new();
            let mut at: u64 = 0;
            for (start, len) in runs {
                let s = u64::from(start);
                if s > at {
                    free.push((at as u32, (s.min(u64::from(pv.pe_count)) - at) as u32));
                }
                at = at.max(s + u64::from(len));
            }
            if at < u64::from(pv.pe_count) {
                free.push((at as u32, (u64::from(pv.pe_count) - at) as u32));
            }
            free.retain(|(_, l)| *l > 0);
            free
        })
        .collect()
}

/// Free extents of the VG.
pub fn vg_free_extents(vg: &VolumeGroup) -> u64 {
    free_runs(vg)
        .iter()
        .flatten()
        .map(|(_, l)| u64::from(*l))
        .sum()
}

// ---- the allocator proper ----

#[derive(Debug, Clone)]
struct FreeArea {
    map: usize,
    start: u32,
    count: u32,
    unreserved: u32,
}

/// A PV's free areas, largest first (ties keep insertion order, as LVM2's list does).
#[derive(Debug, Clone)]
struct PvMap {
    pv: usize,
    order: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    area: usize,
    used: u32,
}

const CONTIGUOUS_TO_LVSEG: u32 = 0x01;
const CLING_TO_LVSEG: u32 = 0x02;
const CLING_TO_ALLOCED: u32 = 0x04;
const CLING_BY_TAGS: u32 = 0x08;
const CAN_SPLIT: u32 = 0x10;
const AREA_COUNT_MATCHES: u32 = 0x20;
const POSITIONAL_FILL: u32 = 0x40;
/// A first allocation under the contiguous pass with a cling tag list: at most one area per
/// tag (LVM2's A_PARTITION_BY_TAGS).
const PARTITION_BY_TAGS: u32 = 0x80;

enum Verdict {
    Preferred,
    NextPv,
    NextArea,
    UseArea,
}

/// The previous segment an extension continues from: where each of its areas ends.
#[derive(Debug, Clone)]
struct PrevSeg {
    /// (vg pv index, PE just past the PV segment) per area of the LV's last segment at its
    /// last extent; areas on sub-LVs (RAID images, mirror legs) are followed down to the PV.
    areas: Vec<Option<(usize, u32)>>,
    /// PV areas of the LV's first segment (what maximise_cling clings to).
    first_areas: Vec<Option<usize>>,
}

struct Allocator<'a> {
    vg: &'a VolumeGroup,
    req: &'a Request,
    areas: Vec<FreeArea>,
    maps: Vec<PvMap>,
    prev: Option<PrevSeg>,
    /// Runs allocated per parallel area (data areas first, then logs).
    alloced: Vec<Vec<Run>>,
    /// Chunks in allocation order.
    chunks: Vec<Vec<Run>>,
    logs: Vec<Run>,
    slots: Vec<Option<Slot>>,
    num_positional: usize,
    /// Extents the LV has before this allocation.
    existing: u32,
    allocated: u32,
    log_still_needed: u32,
    /// `split_meta`: the metadata areas were taken (with the first chunk).
    split_done: bool,
    meta_runs: Vec<Run>,
    /// The logical end of the previous segment an extension continues (LVM2 counts parallel
    /// areas from there).
    prev_end: u32,
}

impl<'a> Allocator<'a> {
    fn insert(&mut self, id: usize, reduced: bool) {
        let count = if reduced {
            self.areas[id].unreserved
        } else {
            self.areas[id].count
        };
        let map = self.areas[id].map;
        let pos = self.maps[map]
            .order
            .iter()
            .position(|&o| count > self.areas[o].count)
            .unwrap_or(self.maps[map].order.len());
        self.maps[map].order.insert(pos, id);
    }

    fn remove(&mut self, id: usize) {
        let map = self.areas[id].map;
        self.maps[map].order.retain(|&o| o != id);
    }

    fn reinsert_changed(&mut self, id: usize) {
        self.remove(id);
        self.insert(id, true);
    }

    fn consume(&mut self, id: usize, to_go: u32) {
        self.remove(id);
        let a = &mut self.areas[id];
        if to_go < a.count {
            a.start += to_go;
            a.count -= to_go;
            a.unreserved = a.count;
            self.insert(id, false);
        }
    }

    fn pos_of(&self, map: usize, id: usize) -> Option<usize> {
        self.maps[map].order.iter().position(|&o| o == id)
    }

    fn maps_size(&self) -> u64 {
        self.maps
            .iter()
            .flat_map(|m| m.order.iter())
            .map(|&id| u64::from(self.areas[id].count))
            .sum()
    }

    fn reset_unreserved(&mut self) {
        for m in 0..self.maps.len() {
            let mut pos = 0;
            while pos < self.maps[m].order.len() {
                let id = self.maps[m].order[pos];
                if self.areas[id].unreserved != self.areas[id].count {
                    self.areas[id].unreserved = self.areas[id].count;
                    self.reinsert_changed(id);
                    // It may have moved: go on after wherever it is now.
                    pos = self.pos_of(m, id).map_or(pos + 1, |p| p + 1);
                } else {
                    // Unchanged areas stay where they are (looking each one up again made
                    // every allocation step quadratic in the free runs).
                    pos += 1;
                }
            }
        }
    }

    fn reserve(&mut self, area: usize, used: u32, ix: usize) {
        while ix >= self.slots.len() {
            let n = self.slots.len().max(1);
            self.slots.extend(std::iter::repeat_n(None, n));
        }
        self.slots[ix] = Some(Slot { area, used });
    }

    /// Data plus parity areas.
    fn devices_needed(&self) -> usize {
        (self.req.stripes + self.req.parity) as usize
    }

    /// Data areas only (LVM2's area_count).
    fn area_count(&self) -> usize {
        self.req.stripes as usize
    }

    /// Whether `area` continues area `s` of the previous segment (same PV, next PE), and if
    /// so (positional) reserves it for slot `s`.
    fn check_contiguous(&mut self, id: usize, flags: u32) -> bool {
        let Some(prev) = self.prev.clone() else {
            return false;
        };
        let positional = flags & POSITIONAL_FILL != 0;
        let pv = self.maps[self.areas[id].map].pv;
        for (s, area) in prev.areas.iter().enumerate() {
            if positional && self.slots.get(s).copied().flatten().is_some() {
                continue;
            }
            let Some((apv, end)) = area else { continue };
            if *apv != pv || *end != self.areas[id].start {
                continue;
            }
            if positional && s >= self.num_positional {
                return false;
            }
            if positional {
                let count = self.areas[id].count;
                self.reserve(id, count, s);
            }
            return true;
        }
        false
    }

    /// Whether two PVs (indexes into `vg.pvs`) share a tag of the cling tag list.
    fn pvs_share_tag(&self, a: usize, b: usize) -> bool {
        let Some(list) = &self.req.cling_tags else {
            return false;
        };
        match (self.vg.pvs.get(a), self.vg.pvs.get(b)) {
            (Some(x), Some(y)) => tags_match(list, &x.tags, &y.tags),
            _ => false,
        }
    }

    /// Whether `area` is on a PV the LV's first segment uses (maximise_cling) or that its last
    /// extent uses; with `tags`, on a PV sharing a cling tag with one of those.
    fn check_cling(&mut self, id: usize, flags: u32, tags: bool) -> bool {
        let Some(prev) = self.prev.clone() else {
            return false;
        };
        let positional = flags & POSITIONAL_FILL != 0;
        let pv = self.maps[self.areas[id].map].pv;
        let targets: Vec<Option<usize>> = if self.req.maximise_cling {
            prev.first_areas.clone()
        } else {
            prev.areas.iter().map(|a| a.map(|(p, _)| p)).collect()
        };
        for (s, apv) in targets.iter().enumerate() {
            if positional && self.slots.get(s).copied().flatten().is_some() {
                continue;
            }
            let Some(apv) = *apv else { continue };
            if if tags {
                !self.pvs_share_tag(apv, pv)
            } else {
                apv != pv
            } {
                continue;
            }
            if positional && s >= self.num_positional {
                return false;
            }
            if positional {
                let count = self.areas[id].count;
                self.reserve(id, count, s);
            }
            return true;
        }
        false
    }

    fn check_cling_to_alloced(&mut self, id: usize, flags: u32, tags: bool) -> bool {
        if self.log_still_needed > 0 {
            return false;
        }
        let positional = flags & POSITIONAL_FILL != 0;
        let pv = self.maps[self.areas[id].map].pv;
        for s in 0..self.area_count() {
            if positional && self.slots.get(s).copied().flatten().is_some() {
                continue;
            }
            let clings = if tags {
                self.alloced[s].iter().any(|r| self.pvs_share_tag(pv, r.pv))
            } else {
                self.alloced[s].iter().any(|r| r.pv == pv)
            };
            if clings {
                if positional {
                    let count = self.areas[id].count;
                    self.reserve(id, count, s);
                }
                return true;
            }
        }
        false
    }

    #[allow(clippy::too_many_arguments)]
    fn check_pva(
        &mut self,
        id: usize,
        still_needed: u32,
        policy: Policy,
        flags: u32,
        already_found_one: bool,
        iteration_count: u32,
        log_iteration_count: u32,
    ) -> Verdict {
        if self.areas[id].unreserved == 0 {
            return Verdict::NextArea;
        }
        if iteration_count > 0 && self.slots.iter().flatten().any(|s| s.area == id) {
            return Verdict::NextArea;
        }
        let found = if iteration_count == 0
            && log_iteration_count == 0
            && flags & (CONTIGUOUS_TO_LVSEG | CLING_TO_LVSEG | CLING_TO_ALLOCED) != 0
        {
            let maxc = self.req.maximise_cling && flags & AREA_COUNT_MATCHES != 0;
            // Contiguous to the previous segment, else (when only contiguity counts) the next
            // area; then cling to the LV's PVs or to what this allocation already used.
            let contiguous =
                (flags & CONTIGUOUS_TO_LVSEG != 0 || maxc) && self.check_contiguous(id, flags);
            if !contiguous && flags & CONTIGUOUS_TO_LVSEG != 0 {
                return Verdict::NextArea;
            }
            let clings = contiguous
                || ((flags & CLING_TO_LVSEG != 0 || maxc) && self.check_cling(id, flags, false))
                || (flags & CLING_TO_ALLOCED != 0 && self.check_cling_to_alloced(id, flags, false));
            if clings {
                true
            } else if flags & CLING_BY_TAGS == 0 || self.req.cling_tags.is_none() {
                return Verdict::NextPv;
            } else {
                // Cling by tags: to the LV's PVs when the area counts match, else to what
                // this allocation used; every area of this PV answers the same.
                let by_tags = if flags & AREA_COUNT_MATCHES != 0 {
                    self.check_cling(id, flags, true)
                } else {
                    self.check_cling_to_alloced(id, flags, true)
                };
                if !by_tags {
                    return Verdict::NextPv;
                }
                true
            }
        } else {
            false
        };
        if !found {
            let a = &self.areas[id];
            let big_enough = u64::from(a.unreserved) * u64::from(self.req.area_multiple)
                >= u64::from(still_needed);
            if !big_enough
                && ((flags & CAN_SPLIT == 0 && self.req.log_count == 0)
                    || (already_found_one && policy != Policy::Anywhere))
            {
                return Verdict::NextPv;
            }
        }
        if flags & POSITIONAL_FILL != 0 {
            Verdict::Preferred
        } else {
            Verdict::UseArea
        }
    }

    fn calc_required(&mut self, id: usize, ix: usize, max_to_allocate: u32, policy: Policy) -> u32 {
        let mut required = max_to_allocate / self.req.area_multiple;
        if policy == Policy::Anywhere {
            if ix >= self.devices_needed() {
                required = self.req.log_len;
            }
        } else if required < self.req.log_len {
            required = self.req.log_len;
        }
        let a = &mut self.areas[id];
        if required >= a.unreserved {
            required = a.unreserved;
            a.unreserved = 0;
        } else {
            a.unreserved -= required;
            self.reinsert_changed(id);
        }
        required
    }

    /// One pass over the PVs looking for a set of parallel areas; allocates it when found.
    /// `parallel` lists PVs this allocation must not use (other legs of the same extents).
    fn find_some_parallel_space(
        &mut self,
        policy: Policy,
        flags: u32,
        max_to_allocate: u32,
        parallel: Option<&[usize]>,
    ) {
        for s in self.slots.iter_mut() {
            *s = None;
        }
        self.num_positional = 0;
        self.reset_unreserved();
        if flags & POSITIONAL_FILL == 0 {
            self.num_positional = 0;
        } else if flags & (CONTIGUOUS_TO_LVSEG | CLING_TO_LVSEG) != 0 {
            self.num_positional = self.prev.as_ref().map_or(0, |p| p.areas.len());
        } else if flags & CLING_TO_ALLOCED != 0 {
            self.num_positional = self.area_count();
        }
        let devices_needed = self.devices_needed();
        let log_still = self.log_still_needed as usize;
        let mut ix: usize = 0;
        let mut preferred_count: usize = 0;
        let mut iteration_count: u32 = 0;
        let mut log_iteration_count: u32 = 0;
        loop {
            let last_ix = ix;
            'maps: for m in 0..self.maps.len() {
                if self.maps[m].order.is_empty() {
                    continue;
                }
                let pv = self.maps[m].pv;
                let slot_on_pv = |this: &Self, s: usize| {
                    this.slots
                        .get(s)
                        .copied()
                        .flatten()
                        .is_some_and(|sl| this.maps[this.areas[sl.area].map].pv == pv)
                };
                let mut skip = false;
                if policy != Policy::Anywhere {
                    if log_iteration_count == 0
                        && parallel.is_some_and(|p| {
                            p.iter().any(|&q| q == pv || self.pvs_share_tag(q, pv))
                        })
                    {
                        skip = true;
                    } else if log_iteration_count > 0 {
                        skip =
                            (devices_needed..ix + self.num_positional).any(|s| slot_on_pv(self, s));
                    } else if iteration_count > 0 {
                        skip = (0..devices_needed).any(|s| slot_on_pv(self, s));
                    }
                }
                if !skip {
                    let mut already_found_one = false;
                    let mut pos = 0;
                    while pos < self.maps[m].order.len() {
                        let id = self.maps[m].order[pos];
                        match self.check_pva(
                            id,
                            max_to_allocate,
                            policy,
                            flags,
                            already_found_one,
                            iteration_count,
                            log_iteration_count,
                        ) {
                            Verdict::Preferred => {
                                preferred_count += 1;
                                break;
                            }
                            Verdict::NextPv => break,
                            Verdict::NextArea => {}
                            Verdict::UseArea => {
                                if !already_found_one || policy == Policy::Anywhere {
                                    ix += 1;
                                    already_found_one = true;
                                }
                                let at = ix + self.num_positional - 1;
                                let required = self.calc_required(id, at, max_to_allocate, policy);
                                self.reserve(id, required, at);
                            }
                        }
                        pos = self.pos_of(m, id).map_or(pos + 1, |p| p + 1);
                    }
                }
                if (policy == Policy::Anywhere
                    && ix + self.num_positional >= devices_needed + log_still)
                    || (preferred_count == self.num_positional
                        && self.num_positional == devices_needed + log_still)
                {
                    break 'maps;
                }
            }
            let again =
                (policy == Policy::Anywhere && last_ix != ix && ix < devices_needed + log_still)
                    || (policy == Policy::Normal
                        && preferred_count > 0
                        && (preferred_count < self.num_positional || log_still > 0)
                        && flags & CLING_TO_ALLOCED != 0
                        && {
                            let first = iteration_count == 0;
                            iteration_count += 1;
                            first
                        })
                    || (policy == Policy::Normal
                        && preferred_count == self.num_positional
                        && !self.req.logs_separate
                        && ix + preferred_count >= devices_needed
                        && ix + preferred_count < devices_needed + log_still
                        && {
                            let first = log_iteration_count == 0;
                            log_iteration_count += 1;
                            first
                        });
            if !again {
                break;
            }
        }

        if preferred_count < self.num_positional && flags & CLING_TO_ALLOCED == 0 && ix == 0 {
            return;
        }
        if ix + preferred_count < devices_needed + log_still {
            return;
        }
        // Biggest first; a stable sort, as glibc's qsort (a merge sort) is.
        let by_used = |a: &Option<Slot>, b: &Option<Slot>| {
            let ua = a.map_or(0, |s| s.used);
            let ub = b.map_or(0, |s| s.used);
            ub.cmp(&ua)
        };
        if log_iteration_count > 0 {
            if ix > devices_needed + 1 {
                let end = ix.min(self.slots.len());
                self.slots[devices_needed..end].sort_by(by_used);
            }
        } else if ix > 1 {
            let start = self.num_positional;
            let end = (start + ix).min(self.slots.len());
            self.slots[start..end].sort_by(by_used);
        }
        if preferred_count > 0 && preferred_count != self.num_positional {
            for s in 0..devices_needed {
                if self.slots.get(s).copied().flatten().is_none() {
                    let np = self.num_positional;
                    let from = self.slots.get(np).copied().flatten();
                    if let Some(f) = from {
                        self.reserve(f.area, f.used, s);
                    }
                    if let Some(x) = self.slots.get_mut(np) {
                        *x = None;
                    }
                    self.num_positional += 1;
                }
            }
        }
        let mut ix_log_offset = 0;
        if log_still > 0 {
            let total = self.num_positional + ix;
            let mut too_small = 0;
            while too_small < total
                && self
                    .slots
                    .get(total - 1 - too_small)
                    .copied()
                    .flatten()
                    .map_or(0, |s| s.used)
                    < self.req.log_len
            {
                too_small += 1;
            }
            if self.req.logs_separate && too_small > 0 && too_small >= devices_needed {
                return;
            }
            if total < too_small + self.req.log_count as usize {
                return;
            }
            ix_log_offset = total - (too_small + self.req.log_count as usize);
        }
        if ix + self.num_positional < devices_needed {
            return;
        }
        if flags & PARTITION_BY_TAGS != 0 && self.num_positional == 0 {
            self.limit_to_one_area_per_tag(ix_log_offset, &mut ix);
            let mut too_small = 0;
            if log_still > 0 {
                // The log's place again, some areas having gone.
                while too_small < ix
                    && self
                        .slots
                        .get(ix - 1 - too_small)
                        .copied()
                        .flatten()
                        .is_some_and(|s| s.used < self.req.log_len)
                {
                    too_small += 1;
                }
                if ix < too_small + self.req.log_count as usize {
                    return;
                }
                ix_log_offset = ix - too_small - self.req.log_count as usize;
            }
            let logs = if log_still > 0 {
                log_still + too_small
            } else {
                0
            };
            if ix < devices_needed + logs {
                return;
            }
        }
        self.alloc_parallel_area(max_to_allocate, ix_log_offset);
        self.log_still_needed = 0;
    }

    /// Drops the found areas whose PV shares a cling tag with an area kept before it (the tag
    /// set starts again where the log areas begin), as LVM2's _limit_to_one_area_per_tag.
    fn limit_to_one_area_per_tag(&mut self, ix_log_offset: usize, ix: &mut usize) {
        let Some(list) = self.req.cling_tags.clone() else {
            return;
        };
        let mut seen: Vec<String> = Vec::new();
        let mut u = 0;
        let mut s = 0;
        while let Some(slot) = self.slots.get(s).copied().flatten() {
            if u == ix_log_offset {
                seen.clear();
            }
            let pv = &self.vg.pvs[self.maps[self.areas[slot.area].map].pv];
            if tags_match(&list, &pv.tags, &seen) {
                *ix = ix.saturating_sub(1);
            } else {
                seen.extend(pv.tags.iter().cloned());
                self.slots[u] = Some(slot);
                u += 1;
            }
            s += 1;
        }
        if let Some(x) = self.slots.get_mut(u) {
            *x = None;
        }
    }

    fn alloc_parallel_area(&mut self, max_to_allocate: u32, ix_log_offset: usize) {
        let devices = self.devices_needed();
        let total = devices + self.log_still_needed as usize;
        let split = self.req.split_meta && !self.split_done;
        let mut area_len = max_to_allocate / self.req.area_multiple;
        for s in 0..devices {
            if let Some(slot) = self.slots.get(s).copied().flatten() {
                area_len = area_len.min(slot.used);
            }
        }
        let mut chunk = Vec::new();
        let mut skip = 0;
        let mut len = area_len;
        for s in 0..total {
            if s == devices {
                skip = ix_log_offset.saturating_sub(self.area_count());
                len = self.req.log_len;
            }
            let Some(slot) = self.slots.get(s + skip).copied().flatten() else {
                continue;
            };
            let pv = self.maps[self.areas[slot.area].map].pv;
            if split {
                // The metadata area goes at the front of the device's space, as LVM2 puts it.
                let meta = self.req.log_len.min(self.areas[slot.area].count);
                let run = Run {
                    pv,
                    pe: self.areas[slot.area].start,
                    len: meta,
                };
                self.consume(slot.area, meta);
                self.meta_runs.push(run);
            }
            let this_len = if split {
                len.saturating_sub(self.req.log_len)
            } else {
                len
            };
            if this_len == 0 {
                continue;
            }
            let run = Run {
                pv,
                pe: self.areas[slot.area].start,
                len: this_len,
            };
            self.consume(slot.area, this_len);
            self.alloced[s].push(run);
            if s < devices {
                chunk.push(run);
            } else {
                self.logs.push(run);
            }
        }
        if self.req.split_meta {
            self.split_done = true;
        }
        if !chunk.is_empty() && chunk.len() == devices {
            self.chunks.push(chunk);
        }
        self.allocated += area_len * self.req.area_multiple;
    }

    fn find_max_parallel_space_for_one_policy(&mut self, policy: Policy, mut flags: u32) {
        let needed = self.needed_total();
        let am = self.req.area_multiple;
        loop {
            let mut max_to_allocate = needed - self.allocated;
            // Extents whose other legs sit on known PVs: stop at the end of the first such
            // range still to fill and avoid its PVs, as LVM2 does with parallel areas.
            let mut parallel: Option<Vec<usize>> = None;
            if !self.req.parallel.is_empty() {
                let meta = if self.req.split_meta && !self.split_done {
                    self.req.log_len
                } else {
                    0
                };
                let next_le = self.prev_end + self.allocated / am;
                if let Some(area) = self
                    .req
                    .parallel
                    .iter()
                    .find(|a| next_le < a.le.saturating_add(a.len))
                {
                    let end = (area.le + area.len).saturating_mul(am);
                    if max_to_allocate + self.allocated - meta > end {
                        max_to_allocate = end - self.allocated + meta;
                    }
                    parallel = Some(area.pvs.clone());
                }
            }
            let old = self.allocated;
            self.find_some_parallel_space(policy, flags, max_to_allocate, parallel.as_deref());
            if old == self.allocated {
                if self.req.maximise_cling
                    && matches!(policy, Policy::Cling | Policy::ClingByTags)
                    && flags & CLING_TO_LVSEG != 0
                    && flags & POSITIONAL_FILL != 0
                {
                    flags &= !POSITIONAL_FILL;
                } else if policy == Policy::Normal && flags & CLING_TO_ALLOCED != 0 {
                    flags &= !CLING_TO_ALLOCED;
                } else {
                    break;
                }
            } else if self.req.maximise_cling
                && policy == Policy::Normal
                && flags & CLING_TO_ALLOCED == 0
            {
                flags |= CLING_TO_ALLOCED;
            }
            if !(policy != Policy::Contiguous
                && self.allocated != needed
                && flags & CAN_SPLIT != 0
                && (!self.req.approx || self.maps_size() > 0))
            {
                break;
            }
        }
    }

    fn needed_total(&self) -> u32 {
        self.existing.saturating_add(self.req.extents)
    }

    fn init_flags(&self, policy: Policy, can_split: bool) -> u32 {
        let mut flags = 0;
        let matches = self
            .prev
            .as_ref()
            .is_some_and(|p| p.areas.len() == self.devices_needed());
        if matches {
            flags |= AREA_COUNT_MATCHES;
            if policy == Policy::Contiguous {
                flags |= CONTIGUOUS_TO_LVSEG | POSITIONAL_FILL;
            } else if matches!(policy, Policy::Cling | Policy::ClingByTags) {
                flags |= CLING_TO_LVSEG | POSITIONAL_FILL;
            }
        } else if matches!(policy, Policy::Cling | Policy::ClingByTags) {
            flags |= CLING_TO_ALLOCED | POSITIONAL_FILL;
        }
        if policy == Policy::ClingByTags {
            flags |= CLING_BY_TAGS;
        }
        if policy == Policy::Contiguous && self.req.cling_tags.is_some() {
            flags |= PARTITION_BY_TAGS;
        }
        if self.req.maximise_cling
            && policy == Policy::Normal
            && self.allocated != self.needed_total()
        {
            flags |= CLING_TO_ALLOCED;
        }
        if can_split {
            flags |= CAN_SPLIT;
        }
        flags
    }
}

/// The free areas LVM2 would consider: each source PV's free runs, cut to its PE ranges,
/// in source order (a PV named twice is one map with both ranges).
fn build_maps(vg: &VolumeGroup, sources: &[PvSource]) -> (Vec<FreeArea>, Vec<PvMap>) {
    let free = free_runs(vg);
    let mut areas: Vec<FreeArea> = Vec::new();
    let mut maps: Vec<PvMap> = Vec::new();
    for src in sources {
        let Some(pv) = vg.pvs.get(src.pv) else {
            continue;
        };
        if !pv.status.iter().any(|s| s == "ALLOCATABLE") || pv.flags.iter().any(|f| f == "MISSING")
        {
            continue;
        }
        let m = match maps.iter().position(|m| m.pv == src.pv) {
            Some(m) => m,
            None => {
                maps.push(PvMap {
                    pv: src.pv,
                    order: Vec::new(),
                });
                maps.len() - 1
            }
        };
        let whole = [(0u32, pv.pe_count.saturating_sub(1))];
        let ranges: &[(u32, u32)] = if src.ranges.is_empty() {
            &whole
        } else {
            &src.ranges
        };
        if pv.pe_count == 0 {
            continue;
        }
        for &(first, last) in ranges {
            let last = last.min(pv.pe_count - 1);
            for &(start, len) in &free[src.pv] {
                let end = start + len - 1;
                if end < first || start > last {
                    continue;
                }
                let s = start.max(first);
                let e = end.min(last);
                let id = areas.len();
                areas.push(FreeArea {
                    map: m,
                    start: s,
                    count: e - s + 1,
                    unreserved: e - s + 1,
                });
                // Largest first, after equal ones.
                let pos = maps[m]
                    .order
                    .iter()
                    .position(|&o| e - s + 1 > areas[o].count)
                    .unwrap_or(maps[m].order.len());
                maps[m].order.insert(pos, id);
            }
        }
    }
    (areas, maps)
}

fn prev_segment(vg: &VolumeGroup, lv: &LogicalVolume) -> Option<PrevSeg> {
    let last = lv.segments.last()?;
    let first = lv.segments.first()?;
    if !matches!(
        last.kind,
        SegmentKind::Striped(_) | SegmentKind::Raid(_) | SegmentKind::Mirror(_)
    ) {
        return None;
    }
    let last_le = last.start_extent + last.extent_count.saturating_sub(1);
    Some(PrevSeg {
        areas: pv_ends_at(vg, last, last_le, 0),
        first_areas: pv_ends_at(vg, first, first.start_extent, 0)
            .into_iter()
            .map(|a| a.map(|(p, _)| p))
            .collect(),
    })
}

/// Logical extents per extent of one area of `seg` (LVM2's _calc_area_multiple without a
/// stripe count): what maps an LE of the segment to an LE of its sub-LVs.
fn seg_area_multiple(seg: &Segment) -> u32 {
    let n = u32::try_from(seg.areas().len().max(1)).unwrap_or(1);
    match &seg.kind {
        SegmentKind::Striped(_) => n,
        SegmentKind::Raid(r) => {
            let count = u32::try_from(r.images.len().max(1)).unwrap_or(1);
            raid_area_multiple(r.level, count)
        }
        _ => 1,
    }
}

/// LVM2's area multiple of a RAID level with `count` devices.
pub fn raid_area_multiple(level: RaidLevel, count: u32) -> u32 {
    let parity = raid_parity(level);
    if level.is_raid0() {
        count
    } else if parity > 0 {
        if count <= parity {
            1
        } else {
            count - parity
        }
    } else if matches!(level, RaidLevel::Raid10 | RaidLevel::Raid10Near) {
        (count / 2).max(1)
    } else {
        1
    }
}

/// Parity devices of a RAID level.
pub fn raid_parity(level: RaidLevel) -> u32 {
    use RaidLevel::*;
    match level {
        Raid4 | Raid5 | Raid5N | Raid5La | Raid5Ls | Raid5Ra | Raid5Rs => 1,
        Raid6 | Raid6N6 | Raid6Nc | Raid6Nr | Raid6Zr | Raid6Ls6 | Raid6Rs6 | Raid6La6
        | Raid6Ra6 => 2,
        _ => 0,
    }
}

/// For each data area of `seg`, the PV and the end of its PV segment at logical extent `le`
/// (of the LV owning `seg`), following areas on sub-LVs down to their PVs as LVM2's
/// _for_each_pv does (a sub-LV that is itself striped contributes one entry per stripe).
fn pv_ends_at(vg: &VolumeGroup, seg: &Segment, le: u32, depth: u32) -> Vec<Option<(usize, u32)>> {
    let offset = le.saturating_sub(seg.start_extent) / seg_area_multiple(seg);
    let len = match &seg.kind {
        SegmentKind::Striped(_) => area_len(seg),
        _ => seg.extent_count,
    };
    let down = |name: &str, start: u32| -> Vec<Option<(usize, u32)>> {
        if depth > 8 {
            return vec![None];
        }
        let sub_le = start + offset;
        let sub = vg.lv(name).and_then(|l| {
            l.segments
                .iter()
                .find(|s| s.start_extent <= sub_le && u64::from(sub_le) < s.end_extent())
        });
        match sub {
            Some(s) => pv_ends_at(vg, s, sub_le, depth + 1),
            None => vec![None],
        }
    };
    let mut out = Vec::new();
    match &seg.kind {
        SegmentKind::Striped(_) | SegmentKind::Mirror(_) => {
            for area in seg.areas() {
                match area {
                    Area::Pv { pv, start } => {
                        out.push(vg.pv_index(pv).map(|i| (i, start + len)));
                    }
                    Area::Lv { name, start } => out.extend(down(name, *start)),
                }
            }
        }
        SegmentKind::Raid(r) => {
            for image in &r.images {
                out.extend(down(&image.data, 0));
            }
        }
        _ => {}
    }
    out
}

/// Allocates `req` from `sources` in `vg`, continuing `lv` when given (an extension), as
/// LVM2's allocate_extents does.
pub fn allocate(
    vg: &VolumeGroup,
    lv: Option<&LogicalVolume>,
    sources: &[PvSource],
    req: &Request,
) -> Result<Allocation, AllocError> {
    let existing = lv.map_or(0, |l| u32::try_from(l.extent_count()).unwrap_or(u32::MAX));
    if existing.checked_add(req.extents).is_none() {
        // More logical extents than LVM2 can count: no VG has room for them.
        return Err(AllocError::Insufficient {
            needed: u64::from(req.extents),
            free: vg_free_extents(vg),
        });
    }
    let am = req.area_multiple.max(1);
    if am > 1 && !req.extents.is_multiple_of(am) {
        return Err(AllocError::NotDivisible {
            extents: req.extents,
            stripes: am,
        });
    }
    let (areas, maps) = build_maps(vg, sources);
    let devices = (req.stripes + req.parity) as usize;
    let log_count = req.log_count as usize;
    let mut slots_size = maps.len();
    if slots_size > 0 && slots_size < devices + log_count {
        if req.policy != Policy::Anywhere && req.logs_separate {
            return Err(AllocError::TooFewPvs);
        }
        slots_size = devices + log_count;
    }
    let prev = lv.and_then(|l| prev_segment(vg, l));
    if let Some(p) = &prev {
        slots_size += p.areas.len();
    }
    let prev_end = lv
        .and_then(|l| l.segments.last())
        .map_or(0, |s| s.start_extent.saturating_add(s.extent_count));
    let mut req = req.clone();
    req.area_multiple = am;
    let mut a = Allocator {
        vg,
        req: &req,
        areas,
        maps,
        prev,
        alloced: vec![Vec::new(); devices + log_count],
        chunks: Vec::new(),
        logs: Vec::new(),
        slots: vec![None; slots_size.max(1)],
        num_positional: 0,
        existing,
        allocated: existing,
        log_still_needed: req.log_count,
        split_done: false,
        meta_runs: Vec::new(),
        prev_end,
    };
    let needed = a.needed_total();
    let can_split = req.policy != Policy::Contiguous;
    let mut top = if req.policy == Policy::Cling {
        Policy::ClingByTags
    } else {
        req.policy
    };
    let mut policy = Some(Policy::Contiguous);
    while let Some(p) = policy.filter(|p| *p <= top) {
        policy = p.next();
        // Without allocation/cling_tag_list cling_by_tags is skipped, as LVM2 skips it.
        if p == Policy::ClingByTags && req.cling_tags.is_none() {
            continue;
        }
        let old = a.allocated;
        if !req.approx {
            // LVM2's _sufficient_pes_free: data and parity areas, plus one log's length.
            let still = u64::from(needed - a.allocated);
            let need = still * (devices as u64) / u64::from(am)
                + if a.log_still_needed > 0 {
                    u64::from(req.log_len)
                } else {
                    0
                };
            let free = a.maps_size();
            if need > free {
                return Err(AllocError::Insufficient { needed: need, free });
            }
        }
        let flags = a.init_flags(p, can_split);
        a.find_max_parallel_space_for_one_policy(p, flags);
        if a.allocated == needed && a.log_still_needed > 0 && top < Policy::Normal {
            top = Policy::Normal;
            continue;
        }
        if (a.allocated == needed && a.log_still_needed == 0) || (!can_split && a.allocated != old)
        {
            break;
        }
    }
    if a.allocated != needed && (!req.approx || a.allocated == existing) {
        return Err(AllocError::Unsuitable {
            more: u64::from(needed - a.allocated),
            contiguous: !can_split,
        });
    }
    if a.log_still_needed > 0 {
        return Err(AllocError::LogSpace);
    }
    let meta = std::mem::take(&mut a.meta_runs);
    Ok(Allocation {
        extents: a.allocated - existing,
        chunks: a.chunks,
        logs: a.logs,
        meta,
    })
}

/// The VG's PV ids in order: what `Run::pv` indexes.
pub fn pv_ids(vg: &VolumeGroup) -> Vec<Id> {
    vg.pvs.iter().map(|p| p.id).collect()
}

/// Appends the chunks of `alloc` to `lv` as striped segments and merges neighbours that
/// continue each other, as LVM2's lv_merge_segments does.
pub fn append_chunks(pv_ids: &[Id], lv: &mut LogicalVolume, alloc: &Allocation, stripe_size: u32) {
    let mut le = u32::try_from(lv.extent_count()).unwrap_or(u32::MAX);
    for chunk in &alloc.chunks {
        let areas: Vec<Area> = chunk
            .iter()
            .map(|r| Area::Pv {
                pv: pv_ids[r.pv],
                start: r.pe,
            })
            .collect();
        let n = u32::try_from(chunk.len()).unwrap_or(1);
        let len = chunk.first().map_or(0, |r| r.len) * n;
        lv.segments
            .push(Segment::striped(le, len, stripe_size, areas));
        le += len;
    }
    merge_segments(lv);
}

/// Merges neighbouring striped segments whose every area continues the previous one.
pub fn merge_segments(lv: &mut LogicalVolume) {
    let mut out: Vec<Segment> = Vec::with_capacity(lv.segments.len());
    for seg in lv.segments.drain(..) {
        if let Some(prev) = out.last_mut() {
            if mergeable(prev, &seg) {
                prev.extent_count += seg.extent_count;
                continue;
            }
        }
        out.push(seg);
    }
    lv.segments = out;
}

fn mergeable(a: &Segment, b: &Segment) -> bool {
    let (SegmentKind::Striped(sa), SegmentKind::Striped(sb)) = (&a.kind, &b.kind) else {
        return false;
    };
    if sa.stripes.len() != sb.stripes.len()
        || sa.stripe_size != sb.stripe_size
        || a.tags != b.tags
        || !a.type_flags.is_empty()
        || !b.type_flags.is_empty()
    {
        return false;
    }
    let width = area_len(a);
    sa.stripes
        .iter()
        .zip(&sb.stripes)
        .all(|(x, y)| match (x, y) {
            (Area::Pv { pv: p1, start: s1 }, Area::Pv { pv: p2, start: s2 }) => {
                p1 == p2 && s1 + width == *s2
            }
            _ => false,
        })
}

/// Parses a PV argument with optional PE ranges (`/dev/sdb`, `/dev/sdb:0-99:200-299`,
/// `/dev/sdb:10+5`, `/dev/sdb:7`) against a PV of `pe_count` extents. Returns the device
/// part and inclusive ranges (empty = whole PV).
pub fn parse_pv_arg(arg: &str) -> (&str, Option<&str>) {
    match arg.find(':') {
        Some(i) => (&arg[..i], Some(&arg[i..])),
        None => (arg, None),
    }
}

/// LVM2's PE range grammar after the device name: `:A-B`, `:A+N`, `:A`, `:-B`, `:A-` ...
pub fn parse_pe_ranges(
    text: &str,
    pe_count: u32,
    existing: &[(u32, u32)],
) -> Result<Vec<(u32, u32)>, String> {
    let mut out: Vec<(u32, u32)> = existing.to_vec();
    let bad = |at: &str| {
        format!("Physical extent parsing error at {at}; use e.g. /dev/sdb:0-99:200-299.")
    };
    if pe_count == 0 {
        return Err("The PV has no extents.".to_string());
    }
    let mut rest = text;
    while !rest.is_empty() {
        let Some(r) = rest.strip_prefix(':') else {
            return Err(bad(rest));
        };
        if r.is_empty() || r.starts_with(':') {
            return Err(bad(rest));
        }
        let mut c = r;
        let mut start: u32 = 0;
        let mut end: u32 = pe_count - 1;
        let num = |s: &str| -> Option<(u32, usize)> {
            let n = s.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            s[..n].parse::<u32>().ok().map(|v| (v, n))
        };
        if c.starts_with(|ch: char| ch.is_ascii_digit()) {
            let (v, n) = num(c).ok_or_else(|| bad(c))?;
            start = v;
            c = &c[n..];
            if c.is_empty() || c.starts_with(':') {
                end = start;
            }
        }
        if let Some(after) = c.strip_prefix('-') {
            c = after;
            if c.starts_with(|ch: char| ch.is_ascii_digit()) {
                let (v, n) = num(c).ok_or_else(|| bad(c))?;
                end = v;
                c = &c[n..];
            }
        } else if let Some(after) = c.strip_prefix('+') {
            c = after;
            if c.starts_with(|ch: char| ch.is_ascii_digit()) {
                let (v, n) = num(c).ok_or_else(|| bad(c))?;
                end = start.saturating_add(v.saturating_sub(1));
                c = &c[n..];
            }
        }
        if !c.is_empty() && !c.starts_with(':') {
            return Err(bad(c));
        }
        if start > end || end > pe_count - 1 {
            return Err(format!(
                "PE range error: start extent {start} to end extent {end}; the PV has extents 0-{}.",
                pe_count - 1
            ));
        }
        if let Some(&(s, e)) = out.iter().find(|(s, e)| !(end < *s || start > *e)) {
            return Err(format!(
                "Overlapping PE ranges specified ({start}-{end}, {s}-{e}); give each extent once."
            ));
        }
        out.push((start, end));
        rest = c;
    }
    if text.is_empty() {
        if let Some(&(s, e)) = out.first() {
            return Err(format!(
                "Overlapping PE ranges specified (0-{}, {s}-{e}); give each extent once.",
                pe_count - 1
            ));
        }
        out.push((0, pe_count - 1));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Expected PEs come from real LVM2 2.03.16: the guest fixture's vgdemo (tests/fixtures)
    //! and runs of `lvm lvcreate --driverloaded n` on identical VGs.
    use super::*;
    use metadata_format::text::PhysicalVolume;

    fn id(n: usize) -> Id {
        Id::parse(&format!("{n:0>32}")).unwrap()
    }

    fn vg(pe_counts: &[u32]) -> VolumeGroup {
        let mut vg = VolumeGroup::new("vg", id(99), 8192);
        for (i, &c) in pe_counts.iter().enumerate() {
            vg.pvs
                .push(PhysicalVolume::new(id(i), "/dev/x", 0, 2048, c));
        }
        vg
    }

    /// Allocates like lvcreate and adds the LV; returns its runs as (pv, pe) per segment.
    fn create(
        vg: &mut VolumeGroup,
        name: &str,
        extents: u32,
        stripes: u32,
    ) -> Vec<Vec<(usize, u32)>> {
        let req = Request::new(stripes, extents, Policy::Normal);
        let got = allocate(vg, None, &all_pvs(vg), &req).unwrap();
        let mut lv = LogicalVolume::new(name, id(50 + vg.lvs.len()));
        append_chunks(&pv_ids(vg), &mut lv, &got, 128);
        vg.lvs.push(lv);
        runs(vg, name)
    }

    fn runs(vg: &VolumeGroup, name: &str) -> Vec<Vec<(usize, u32)>> {
        vg.lv(name)
            .unwrap()
            .segments
            .iter()
            .map(|s| {
                s.areas()
                    .iter()
                    .map(|a| match a {
                        Area::Pv { pv, start } => (vg.pv_index(pv).unwrap(), *start),
                        Area::Lv { .. } => unreachable!(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_guest_fixture_sequence() {
        // vgdemo: three PVs of 255 extents; linear, striped, COW, pmspare, then a thin pool.
        let mut g = vg(&[255, 255, 255]);
        assert_eq!(create(&mut g, "linear", 16, 1), vec![vec![(0, 0)]]);
        assert_eq!(
            create(&mut g, "striped", 16, 2),
            vec![vec![(0, 16), (1, 0)]]
        );
        assert_eq!(create(&mut g, "snap", 8, 1), vec![vec![(0, 24)]]);
        assert_eq!(create(&mut g, "lvol0_pmspare", 1, 1), vec![vec![(0, 32)]]);
        let mut req = Request::new(1, 32, Policy::Normal);
        req.log_count = 1;
        req.log_len = 1;
        let got = allocate(&g, None, &all_pvs(&g), &req).unwrap();
        assert_eq!(
            got.chunks,
            vec![vec![Run {
                pv: 0,
                pe: 33,
                len: 32
            }]]
        );
        assert_eq!(
            got.logs,
            vec![Run {
                pv: 2,
                pe: 0,
                len: 1
            }]
        );
    }

    #[test]
    fn a_hole_is_chosen_as_lvm2_chooses_it() {
        // Free: 0-39 (40), 50-99 (50), 110-303 (194). LVM2 takes the 50-hole for 30 extents,
        // not the best fit: its area list is re-sorted while being walked.
        let mut g = vg(&[304]);
        create(&mut g, "f1", 40, 1);
        create(&mut g, "u1", 10, 1);
        create(&mut g, "f2", 50, 1);
        create(&mut g, "u2", 10, 1);
        g.lvs.retain(|l| l.name != "f1" && l.name != "f2");
        assert_eq!(create(&mut g, "pick", 30, 1), vec![vec![(0, 50)]]);
        assert_eq!(create(&mut g, "spill", 45, 1), vec![vec![(0, 110)]]);
    }

    #[test]
    fn extension_continues_and_merges() {
        let mut g = vg(&[100, 100]);
        create(&mut g, "a", 10, 1);
        let req = Request::new(1, 5, Policy::Normal);
        let lv = g.lv("a").unwrap().clone();
        let got = allocate(&g, Some(&lv), &all_pvs(&g), &req).unwrap();
        let mut lv = lv;
        append_chunks(&pv_ids(&g), &mut lv, &got, 0);
        assert_eq!(lv.segments.len(), 1);
        assert_eq!(lv.segments[0].extent_count, 15);
    }

    #[test]
    fn refusals() {
        let g = vg(&[10, 10]);
        let err =
            allocate(&g, None, &all_pvs(&g), &Request::new(1, 30, Policy::Normal)).unwrap_err();
        assert_eq!(
            err,
            AllocError::Insufficient {
                needed: 30,
                free: 20
            }
        );
        let err = allocate(
            &g,
            None,
            &all_pvs(&g),
            &Request::new(1, 15, Policy::Contiguous),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            AllocError::Unsuitable {
                contiguous: true,
                ..
            }
        ));
        let err =
            allocate(&g, None, &all_pvs(&g), &Request::new(2, 3, Policy::Normal)).unwrap_err();
        assert!(matches!(err, AllocError::NotDivisible { .. }));
    }

    #[test]
    fn approx_takes_what_there_is() {
        let g = vg(&[10, 10]);
        let mut req = Request::new(1, 30, Policy::Normal);
        req.approx = true;
        let got = allocate(&g, None, &all_pvs(&g), &req).unwrap();
        assert_eq!(got.extents, 20);
    }

    #[test]
    fn free_runs_are_the_complement() {
        let mut g = vg(&[20]);
        create(&mut g, "a", 5, 1);
        create(&mut g, "b", 5, 1);
        g.lvs.retain(|l| l.name != "a");
        assert_eq!(free_runs(&g), vec![vec![(0, 5), (10, 10)]]);
        assert_eq!(vg_free_extents(&g), 15);
    }

    #[test]
    fn pe_ranges_as_lvm2_reads_them() {
        assert_eq!(
            parse_pe_ranges(":0-99:200-299", 300, &[]).unwrap(),
            vec![(0, 99), (200, 299)]
        );
        assert_eq!(parse_pe_ranges(":10+5", 300, &[]).unwrap(), vec![(10, 14)]);
        assert_eq!(parse_pe_ranges(":7", 300, &[]).unwrap(), vec![(7, 7)]);
        assert_eq!(parse_pe_ranges(":-9", 300, &[]).unwrap(), vec![(0, 9)]);
        assert_eq!(
            parse_pe_ranges(":290-", 300, &[]).unwrap(),
            vec![(290, 299)]
        );
        assert_eq!(parse_pe_ranges("", 300, &[]).unwrap(), vec![(0, 299)]);
        for bad in [":", "::", ":5-3", ":0-300", ":x", ":1-2x", "0-3"] {
            assert!(parse_pe_ranges(bad, 300, &[]).is_err(), "{bad}");
        }
        assert!(parse_pe_ranges(":0-9:5-20", 300, &[])
            .unwrap_err()
            .contains("Overlapping"));
        assert!(parse_pe_ranges("", 300, &[(0, 3)]).is_err());
    }
}
