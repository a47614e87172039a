//! The kernel's state of a VG's LVs for the reports, read the way LVM2's
//! lv_info_with_seg_status reads it: which device an LV's state comes from (a thin pool's
//! `-tpool`, an origin's own device with its `-real` status, a COW LV's snapshot device, a
//! merging snapshot's origin), the status of the target that maps its first segment, and the
//! RAID and mirror health that lv_attr and the sync percentages need.

use super::lv_activate::{lv_uuid, Activation};
use crate::dm::ioctl::{Control, DevId, DmInfo, TableLine};
use crate::dm::status::{parse_mirror, parse_raid, parse_snapshot, parse_thin, parse_thin_pool};
use crate::dm::tables::dm_uuid;
use crate::report::make_percent;
use crate::report::values::{KernelInfo, KernelView, LvKernel, SegStatus};
use metadata_format::text::{Area, LogicalVolume, Segment, SegmentKind, VolumeGroup};
use std::collections::HashMap;

impl Activation {
    /// The kernel's state of every LV of `vg`; None without device-mapper (reports then show
    /// LVM2's `--driverloaded n` values).
    pub fn kernel_view(&self, vg: &VolumeGroup) -> Option<KernelView> {
        let control = self.quiet_control()?;
        let mut reader = Reader {
            control,
            vg,
            infos: HashMap::new(),
            statuses: HashMap::new(),
        };
        Some(KernelView {
            lvs: (0..vg.lvs.len()).map(|i| reader.lv(i)).collect(),
        })
    }
}

struct Reader<'a> {
    control: &'a Control,
    vg: &'a VolumeGroup,
    infos: HashMap<String, Option<DmInfo>>,
    statuses: HashMap<String, Vec<TableLine>>,
}

fn read_ahead(info: &DmInfo) -> Option<u64> {
    let base = format!("/sys/dev/block/{}", info.dev);
    ["bdi/read_ahead_kb", "queue/read_ahead_kb"]
        .iter()
        .find_map(|f| std::fs::read_to_string(format!("{base}/{f}")).ok())
        .and_then(|t| t.trim().parse::<u64>().ok())
        .map(|kb| kb * 2)
}

fn kernel_info(info: &DmInfo) -> KernelInfo {
    KernelInfo {
        major: info.dev.major,
        minor: info.dev.minor,
        open_count: info.open_count,
        suspended: info.suspended,
        read_only: info.read_only,
        live_table: info.live_table,
        inactive_table: info.inactive_table,
        read_ahead: read_ahead(info),
    }
}

impl Reader<'_> {
    fn info(&mut self, uuid: &str) -> Option<DmInfo> {
        if let Some(i) = self.infos.get(uuid) {
            return i.clone();
        }
        let i = self.control.info(DevId::Uuid(uuid)).ok().flatten();
        self.infos.insert(uuid.to_string(), i.clone());
        i
    }

    fn status_lines(&mut self, uuid: &str) -> Vec<TableLine> {
        if let Some(s) = self.statuses.get(uuid) {
            return s.clone();
        }
        let s = self.control.status(DevId::Uuid(uuid)).unwrap_or_default();
        self.statuses.insert(uuid.to_string(), s.clone());
        s
    }

    fn lv_by_name(&self, name: &str) -> Option<(usize, &LogicalVolume)> {
        self.vg.lvs.iter().enumerate().find(|(_, l)| l.name == name)
    }

    fn uuid(&self, lv: &LogicalVolume, layer: Option<&str>) -> String {
        match layer {
            Some(l) => dm_uuid(&self.vg.id, &lv.id, Some(l)),
            None => lv_uuid(self.vg, lv),
        }
    }

    /// The status of the target of device `uuid` that maps `seg` (LVM2's _info_run match on
    /// start and length), parsed as a `kind` target.
    fn seg_status(&mut self, uuid: &str, seg: &Segment, kind: &SegmentKind) -> SegStatus {
        let extent = u64::from(self.vg.extent_size);
        let start = u64::from(seg.start_extent) * extent;
        let length = u64::from(seg.extent_count) * extent;
        let lines = self.status_lines(uuid);
        let Some(line) = lines
            .iter()
            .find(|l| l.start == start && l.length == length)
        else {
            return SegStatus::Unknown;
        };
        let parsed = match kind {
            SegmentKind::ThinPool(_) if line.target_type == "thin-pool" => {
                parse_thin_pool(&line.params).map(SegStatus::ThinPool)
            }
            SegmentKind::Thin(_) if line.target_type == "thin" => {
                parse_thin(&line.params).map(SegStatus::Thin)
            }
            SegmentKind::Snapshot(_)
                if line.target_type == "snapshot" || line.target_type == "snapshot-merge" =>
            {
                parse_snapshot(&line.params).map(SegStatus::Snapshot)
            }
            SegmentKind::Raid(_) if line.target_type == "raid" => {
                parse_raid(&line.params).map(SegStatus::Raid)
            }
            SegmentKind::Striped(_)
                if matches!(line.target_type.as_str(), "linear" | "striped") =>
            {
                Some(SegStatus::None)
            }
            SegmentKind::Mirror(_) if line.target_type == "mirror" => Some(SegStatus::None),
            SegmentKind::Other(o) if o.type_name == line.target_type => Some(SegStatus::None),
            _ => None,
        };
        parsed.unwrap_or(SegStatus::Unknown)
    }

    /// The snapshot segment (of the internal snapshotN LV) whose exception store is `cow`.
    fn snapshot_seg(&self, cow: &str) -> Option<(&Segment, &metadata_format::text::Snapshot)> {
        self.vg
            .lvs
            .iter()
            .flat_map(|l| &l.segments)
            .find_map(|s| match &s.kind {
                SegmentKind::Snapshot(sn) if sn.cow == cow => Some((s, sn)),
                _ => None,
            })
    }

    fn snapshots_of(&self, origin: &str) -> Vec<&metadata_format::text::Snapshot> {
        self.vg
            .lvs
            .iter()
            .flat_map(|l| &l.segments)
            .filter_map(|s| match &s.kind {
                SegmentKind::Snapshot(sn) if sn.origin == origin => Some(sn),
                _ => None,
            })
            .collect()
    }

    /// The segment (and owner) that uses `name` as an area or sub-LV.
    fn parent_seg(&self, name: &str) -> Option<(&LogicalVolume, &Segment, usize)> {
        for lv in &self.vg.lvs {
            for seg in &lv.segments {
                match &seg.kind {
                    SegmentKind::Raid(r) => {
                        if let Some(n) = r
                            .images
                            .iter()
                            .position(|im| im.data == name || im.meta.as_deref() == Some(name))
                        {
                            return Some((lv, seg, n));
                        }
                    }
                    SegmentKind::Mirror(m) => {
                        if let Some(n) = m
                            .mirrors
                            .iter()
                            .position(|a| matches!(a, Area::Lv { name: x, .. } if x == name))
                        {
                            return Some((lv, seg, n));
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// A RAID LV's status when it is active.
    fn raid_status(&mut self, lv: &LogicalVolume) -> Option<crate::dm::status::RaidStatus> {
        let seg = lv.segments.first()?;
        let uuid = self.uuid(lv, None);
        self.info(&uuid)?;
        match self.seg_status(&uuid, seg, &seg.kind) {
            SegStatus::Raid(r) => Some(r),
            _ => None,
        }
    }

    /// LVM2's lv_mirror_percent + copy_percent for an active mirror LV.
    fn mirror_copy(&mut self, lv: &LogicalVolume) -> Option<i32> {
        let uuid = self.uuid(lv, None);
        self.info(&uuid)?;
        let lines = self.status_lines(&uuid);
        let extent = u64::from(self.vg.extent_size);
        let (mut copied, mut total) = (0u64, 0u64);
        for seg in &lv.segments {
            let area_len = u64::from(seg.extent_count);
            total += area_len;
            match &seg.kind {
                SegmentKind::Mirror(m) if m.mirrors.len() > 1 => {
                    let start = u64::from(seg.start_extent) * extent;
                    let line = lines
                        .iter()
                        .find(|l| l.start == start && l.target_type == "mirror");
                    // A pvmove LV runs one segment as a mirror; the others map one area
                    // and count what the metadata says they have copied.
                    if line.is_none() && lv.has_status("PVMOVE") {
                        copied += u64::from(m.extents_moved.unwrap_or(0)).min(area_len);
                        continue;
                    }
                    let status = line.and_then(|l| parse_mirror(&l.params))?;
                    if status.total_regions == 0 {
                        return None;
                    }
                    copied += area_len * status.insync_regions / status.total_regions;
                }
                _ => copied += area_len,
            }
        }
        Some(if total == 0 {
            crate::report::PERCENT_100
        } else {
            make_percent(copied, total)
        })
    }

    fn lv(&mut self, i: usize) -> LvKernel {
        let vg = self.vg;
        let lv = &vg.lvs[i];
        let own_uuid = self.uuid(lv, None);
        let own = self.info(&own_uuid).map(|i| kernel_info(&i));
        let mut out = LvKernel {
            raid_healthy: true,
            active: own.is_some(),
            own,
            ..LvKernel::default()
        };
        let Some(seg) = lv.segments.first() else {
            return out;
        };
        let is_pool = matches!(seg.kind, SegmentKind::ThinPool(_));
        let snapshots = self.snapshots_of(&lv.name);
        if is_pool {
            // Always the -tpool's status; the pool counts as active only with its wrapper.
            let tpool = self.uuid(lv, Some("tpool"));
            if let Some(info) = self.info(&tpool) {
                // LVM2 asks the -tpool for no read-ahead: it shows 0.
                out.info = Some(KernelInfo {
                    read_ahead: None,
                    ..kernel_info(&info)
                });
                out.status = self.seg_status(&tpool, seg, &seg.kind);
                if let SegStatus::ThinPool(p) = &out.status {
                    if !out.active && !p.needs_check {
                        out.info = None;
                    }
                }
            }
            return out;
        }
        if !snapshots.is_empty() {
            let merging = snapshots.iter().any(|s| s.merging);
            let own = self.uuid(lv, None);
            if let Some(info) = self.info(&own) {
                out.info = Some(kernel_info(&info));
                if merging {
                    let lines = self.status_lines(&own);
                    out.status = match lines.first() {
                        Some(l) if l.target_type == "snapshot-merge" => parse_snapshot(&l.params)
                            .map_or(SegStatus::Unknown, SegStatus::Snapshot),
                        Some(_) => SegStatus::None,
                        None => SegStatus::Unknown,
                    };
                } else {
                    let real = self.uuid(lv, Some("real"));
                    if self.info(&real).is_some() {
                        out.status = self.seg_status(&real, seg, &seg.kind);
                    }
                }
            }
            return out;
        }
        if let Some((snap_seg, snap)) = self.snapshot_seg(&lv.name) {
            let snap_seg = snap_seg.clone();
            let snap = snap.clone();
            if snap.merging {
                if let Some((_, origin)) = self.lv_by_name(&snap.origin) {
                    let origin_uuid = self.uuid(origin, None);
                    if let Some(info) = self.info(&origin_uuid) {
                        let lines = self.status_lines(&origin_uuid);
                        if let Some(l) = lines.first().filter(|l| l.target_type == "snapshot-merge")
                        {
                            out.info = Some(kernel_info(&info));
                            out.status = parse_snapshot(&l.params)
                                .map_or(SegStatus::Unknown, SegStatus::Snapshot);
                            return out;
                        }
                    }
                }
            }
            let own = self.uuid(lv, None);
            if let Some(info) = self.info(&own) {
                out.info = Some(kernel_info(&info));
                out.status = self.seg_status(&own, &snap_seg, &snap_seg.kind);
            }
            return out;
        }
        let own = self.uuid(lv, None);
        if let Some(info) = self.info(&own) {
            out.info = Some(kernel_info(&info));
            out.status = self.seg_status(&own, seg, &seg.kind);
        }
        match &seg.kind {
            SegmentKind::Raid(_) => {
                if let Some(st) = self.raid_status(lv) {
                    out.raid_healthy = !st.dev_health.contains('D');
                    out.raid_mismatches = Some(st.mismatch_count);
                    out.raid_sync_action = Some(st.sync_action.clone());
                }
            }
            SegmentKind::Mirror(_) => out.mirror_copy = self.mirror_copy(lv),
            _ => {}
        }
        // Images and metadata of RAID and mirror LVs.
        if let Some((parent, _, n)) = self.parent_seg(&lv.name) {
            let parent = parent.clone();
            let is_raid = parent
                .segments
                .first()
                .is_some_and(|s| matches!(s.kind, SegmentKind::Raid(_)));
            if is_raid {
                if out.active {
                    if let Some(st) = self.raid_status(&parent) {
                        let c = st.dev_health.chars().nth(n);
                        out.raid_healthy = c != Some('D');
                        let is_data = matches!(
                            &parent.segments[0].kind,
                            SegmentKind::Raid(r) if r.images.get(n).is_some_and(|im| im.data == lv.name)
                        );
                        out.image_in_sync = is_data && c == Some('A');
                    }
                }
            } else {
                out.image_in_sync = self.mirror_copy(&parent) == Some(crate::report::PERCENT_100);
            }
        }
        if out.status == SegStatus::Unknown && out.info.is_none() {
            out.status = SegStatus::None;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::dm::status::{parse_raid, parse_snapshot, parse_thin, parse_thin_pool};
    use crate::report::values::{
        DeviceFacts, KernelInfo, KernelView, LvKernel, RowRef, SegStatus, VgFacts,
    };
    use crate::report::{FieldId, FieldValue};
    use metadata_format::text::{parse_metadata, VolumeGroup};

    fn vgdemo() -> VolumeGroup {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        parse_metadata(text.as_bytes()).unwrap().vg
    }

    fn open(minor: u32, open_count: i32) -> Option<KernelInfo> {
        Some(KernelInfo {
            major: 253,
            minor,
            open_count,
            live_table: true,
            ..KernelInfo::default()
        })
    }

    /// What LVM2 2.03.16 showed for these states in the guest (vm_lv_lifecycle compares the
    /// whole report against it).
    #[test]
    fn kernel_fields_follow_the_kernel_as_lvm2s() {
        let vg = vgdemo();
        let idx = |n: &str| vg.lvs.iter().position(|l| l.name == n).unwrap();
        let mut view = KernelView {
            lvs: vec![
                LvKernel {
                    raid_healthy: true,
                    ..LvKernel::default()
                };
                vg.lvs.len()
            ],
        };
        view.lvs[idx("pool")] = LvKernel {
            info: open(7, 2),
            active: true,
            raid_healthy: true,
            status: SegStatus::ThinPool(
                parse_thin_pool("1 30/1024 8/128 - rw discard_passdown queue_if_no_space - 256")
                    .unwrap(),
            ),
            ..LvKernel::default()
        };
        view.lvs[idx("thin1")] = LvKernel {
            info: open(9, 0),
            active: true,
            raid_healthy: true,
            status: SegStatus::Thin(parse_thin("1024 1023").unwrap()),
            ..LvKernel::default()
        };
        view.lvs[idx("snap")] = LvKernel {
            info: open(4, 0),
            active: true,
            raid_healthy: true,
            status: SegStatus::Snapshot(parse_snapshot("Invalid").unwrap()),
            ..LvKernel::default()
        };
        view.lvs[idx("r1")] = LvKernel {
            info: open(14, 0),
            active: true,
            raid_healthy: true,
            status: SegStatus::Raid(parse_raid("raid1 2 AA 512/1024 resync 0 0 -").unwrap()),
            raid_mismatches: Some(3),
            raid_sync_action: Some("resync".into()),
            ..LvKernel::default()
        };
        let devices: Vec<DeviceFacts> = vg
            .pvs
            .iter()
            .map(|pv| DeviceFacts {
                name: "/dev/vdx".into(),
                major: 254,
                minor: 0,
                dev_size: pv.dev_size.unwrap_or(0),
                pv_id: pv.id,
                label_size: pv.dev_size.unwrap_or(0),
                pe_start: pv.pe_start,
                ext_version: 2,
                ext_used: true,
                mdas: Vec::new(),
                ba: None,
            })
            .collect();
        let facts = VgFacts::new(&vg, devices.iter().map(Some).collect()).with_kernel(Some(&view));
        let text = |lv: &str, f: FieldId| match facts.value(RowRef::Lv(idx(lv)), f) {
            FieldValue::Str(s) => s.to_string(),
            FieldValue::Percent(p) => {
                let mut out = String::new();
                crate::report::write_percent(&mut out, p);
                out
            }
            FieldValue::Int(n) => n.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(text("pool", FieldId::LV_ATTR), "twi-aotz--");
        assert_eq!(text("pool", FieldId::DATA_PERCENT), "6.25");
        assert_eq!(text("pool", FieldId::METADATA_PERCENT), "2.93");
        assert_eq!(text("thin1", FieldId::LV_ATTR), "Vwi-a-tz--");
        assert_eq!(text("thin1", FieldId::LV_KERNEL_MINOR), "9");
        assert_eq!(text("snap", FieldId::LV_ATTR), "swi-I-s---");
        assert_eq!(text("snap", FieldId::SNAP_PERCENT), "100.00");
        assert_eq!(text("r1", FieldId::LV_ATTR), "rwi-a-r-m-");
        assert_eq!(text("r1", FieldId::COPY_PERCENT), "50.00");
        assert_eq!(text("r1", FieldId::LV_HEALTH_STATUS), "mismatches exist");
        assert_eq!(text("linear", FieldId::LV_ATTR), "owi---s---");
        assert_eq!(text("linear", FieldId::LV_ACTIVE), "");
        assert_eq!(text("linear", FieldId::LV_KERNEL_MAJOR), "-1");
        // Without device-mapper: LVM2's --driverloaded n values.
        let none = VgFacts::new(&vg, devices.iter().map(Some).collect());
        assert!(matches!(
            none.value(RowRef::Lv(idx("linear")), FieldId::LV_ATTR),
            FieldValue::Str(s) if s == "owi-XXs---"
        ));
    }
}
