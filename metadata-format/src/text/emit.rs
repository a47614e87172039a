//! Writes the model back as LVM2 writes it: the same key order, the same conditional keys,
//! the same blank lines, and in the backup form the same indentation and aligned comments.
//! `pvN` names are derived from the VG's PV order at write time. Unknown keys go back after
//! the known key they followed when read.

use std::collections::HashMap;

use super::format::{push_timestamp_comment, Out};
use super::import::{MESSAGES_ANCHOR, SEGMENTS_ANCHOR, VG_ANCHOR};
use super::model::*;
use super::tree::{Array, Item, Node, Scalar, Section, Value};

/// The on-disk form written into a metadata area: VG section first, no indentation, no
/// comments except the header's own, ending in a newline (the ring writer adds the NUL).
pub fn emit_ondisk(metadata: &Metadata) -> Vec<u8> {
    emit(metadata, false)
}

/// The `vgcfgbackup` form: header first, tab-indented, with LVM2's `# comments`.
pub fn emit_backup(metadata: &Metadata) -> Vec<u8> {
    emit(metadata, true)
}

/// [`emit_backup`] with `header` and `utc_offset` in place of the metadata's own: a backup or
/// archive written now, without a copy of the VG to put the new header on.
pub fn emit_backup_with(metadata: &Metadata, header: &Header, utc_offset: i32) -> Vec<u8> {
    emit_parts(&metadata.vg, header, utc_offset, &metadata.extra, true)
}

/// A configuration tree in the backup style (tab-indented `key = value`), e.g. an lvm.conf.
pub fn emit_config(section: &Section<'_>) -> Vec<u8> {
    let mut out = Out::new(true, 4096);
    for item in &section.items {
        emit_item(&mut out, item);
    }
    out.buf
}

fn emit(metadata: &Metadata, backup: bool) -> Vec<u8> {
    emit_parts(
        &metadata.vg,
        &metadata.header,
        metadata.utc_offset,
        &metadata.extra,
        backup,
    )
}

fn emit_parts(
    vg: &VolumeGroup,
    header: &Header,
    utc_offset: i32,
    extra: &[Extra],
    backup: bool,
) -> Vec<u8> {
    let parallel_from = if vg.lvs.len() >= PARALLEL_EMIT_LVS && crate::more_than_one_cpu() {
        PARALLEL_EMIT_LVS
    } else {
        usize::MAX
    };
    emit_split(vg, header, utc_offset, extra, backup, parallel_from)
}

fn emit_split(
    vg: &VolumeGroup,
    header: &Header,
    utc_offset: i32,
    extra: &[Extra],
    backup: bool,
    parallel_from: usize,
) -> Vec<u8> {
    let capacity = 1024 + vg.pvs.len() * 320 + vg.lvs.len() * if backup { 560 } else { 420 };
    let mut emitter = Emitter {
        out: Out::new(backup, capacity),
        vg,
        pv_index: vg
            .pvs
            .iter()
            .enumerate()
            .map(|(n, pv)| (pv.id, n))
            .collect(),
        utc_offset,
        scratch: Vec::with_capacity(64),
        parallel_from,
    };
    let mut top = Anchors::new(extra);
    if backup {
        // The first top-level section is the VG, so unknown top-level sections must wait
        // until after it.
        top.values_only = true;
        top.at(&mut emitter.out, None);
        emitter.header(header, &mut top);
        top.values_only = false;
        emitter.volume_group();
        top.at(&mut emitter.out, Some(VG_ANCHOR));
    } else {
        top.at(&mut emitter.out, None);
        emitter.volume_group();
        top.at(&mut emitter.out, Some(VG_ANCHOR));
        emitter.header(header, &mut top);
    }
    top.rest(&mut emitter.out);
    emitter.out.buf
}

/// Unknown keys of one section, written out at their anchors.
struct Anchors<'x> {
    extras: &'x [Extra],
    written: Vec<bool>,
    /// Hold back subsections (they are written by `rest`).
    values_only: bool,
}

impl<'x> Anchors<'x> {
    fn new(extras: &'x [Extra]) -> Self {
        Anchors {
            extras,
            written: vec![false; extras.len()],
            values_only: false,
        }
    }

    #[inline]
    fn at(&mut self, out: &mut Out, after: Option<&str>) {
        if self.extras.is_empty() {
            return;
        }
        for (n, extra) in self.extras.iter().enumerate() {
            let held = self.values_only && matches!(extra.item.node, Node::Section(_));
            if !self.written[n] && !held && extra.after == after {
                self.written[n] = true;
                emit_item(out, &extra.item);
            }
        }
    }

    #[inline]
    fn key(&mut self, out: &mut Out, key: &str) {
        self.at(out, Some(key));
    }

    fn rest(&mut self, out: &mut Out) {
        for (n, extra) in self.extras.iter().enumerate() {
            if !self.written[n] {
                self.written[n] = true;
                emit_item(out, &extra.item);
            }
        }
    }
}

/// From this many LVs the LV sections are written on two threads (below, a thread costs
/// more than it saves).
const PARALLEL_EMIT_LVS: usize = 2000;

/// The size of the pieces in which the second thread of a parallel emit hands back its text
/// (above the binary's fixed `mmap` threshold, so each piece goes back to the system when it
/// is freed).
const EMIT_PIECE: usize = 512 * 1024;

struct Emitter<'m> {
    out: Out,
    vg: &'m VolumeGroup,
    pv_index: HashMap<Id, usize>,
    utc_offset: i32,
    scratch: Vec<u8>,
    /// From this many LVs their sections are written on two threads.
    parallel_from: usize,
}

impl Emitter<'_> {
    fn kv_id(&mut self, key: &str, id: &Id) {
        let start = self.out.begin();
        self.out.raw(key.as_bytes());
        self.out.raw(b" = \"");
        id.write_to(&mut self.out.buf);
        self.out.raw(b"\"");
        self.out.end(start, None);
    }

    fn opt_str(&mut self, key: &str, value: &Option<String>) {
        if let Some(value) = value {
            self.out.kv_str(key, value);
        }
    }

    fn opt_uint(&mut self, key: &str, value: Option<impl Into<u64>>) {
        if let Some(value) = value {
            self.out.kv_uint(key, value.into());
        }
    }

    fn tags(&mut self, tags: &[String]) {
        if !tags.is_empty() {
            self.out.kv_list("tags", tags);
        }
    }

    /// `key = N` with a `# <date>` comment in the metadata's zone.
    fn kv_timestamp(&mut self, key: &str, time: u64) {
        let start = self.out.begin();
        self.out.raw(key.as_bytes());
        self.out.raw(b" = ");
        self.out.uint(time);
        if self.out.backup {
            self.scratch.clear();
            push_timestamp_comment(&mut self.scratch, time, self.utc_offset);
            self.out.end(start, Some(&self.scratch));
        } else {
            self.out.end(start, None);
        }
    }

    fn header(&mut self, header: &Header, anchors: &mut Anchors<'_>) {
        let out = &mut self.out;
        if let Some(generated_by) = &header.generated_by {
            out.raw(b"# ");
            out.raw(generated_by.as_bytes());
            // ctime's own newline, then the line's.
            out.raw(b"\n\n");
        }
        out.raw(b"contents = ");
        out.quoted(&header.contents);
        out.nl();
        anchors.key(out, "contents");
        out.raw(b"version = ");
        out.int(header.version);
        out.nl();
        anchors.key(out, "version");
        out.nl();
        if let Some(description) = &header.description {
            out.raw(b"description = ");
            out.quoted(description);
            out.nl();
        }
        anchors.key(out, "description");
        out.nl();
        if let Some(host) = &header.creation_host {
            out.raw(b"creation_host = ");
            out.quoted(host);
            if let Some(uname) = &header.creation_host_uname {
                out.raw(b"\t# ");
                out.raw(uname.as_bytes());
            }
            out.nl();
        }
        anchors.key(out, "creation_host");
        if let Some(system_id) = &header.creation_host_system_id {
            out.raw(b"creation_host_system_id = ");
            out.quoted(system_id);
            out.nl();
        }
        anchors.key(out, "creation_host_system_id");
        if let Some(time) = header.creation_time {
            out.raw(b"creation_time = ");
            out.uint(time);
            if let Some(date) = &header.creation_time_date {
                out.raw(b"\t# ");
                out.raw(date.as_bytes());
            }
            out.nl();
        }
        anchors.key(out, "creation_time");
        // ctime's newline after the date.
        out.nl();
    }

    fn volume_group(&mut self) {
        let vg = self.vg;
        let mut a = Anchors::new(&vg.extra);
        self.out.open(&vg.name);
        a.at(&mut self.out, None);
        self.kv_id("id", &vg.id);
        a.key(&mut self.out, "id");
        self.out.kv_uint("seqno", vg.seqno.into());
        a.key(&mut self.out, "seqno");
        if let Some(format) = &vg.format {
            let start = self.out.begin();
            self.out.raw(b"format = ");
            self.out.quoted(format);
            self.out.end(start, Some(b"# informational"));
        }
        a.key(&mut self.out, "format");
        self.out.kv_list("status", &vg.status);
        a.key(&mut self.out, "status");
        self.out.kv_list("flags", &vg.flags);
        a.key(&mut self.out, "flags");
        self.tags(&vg.tags);
        a.key(&mut self.out, "tags");
        self.opt_str("system_id", &vg.system_id);
        a.key(&mut self.out, "system_id");
        self.opt_str("lock_type", &vg.lock_type);
        a.key(&mut self.out, "lock_type");
        self.opt_str("lock_args", &vg.lock_args);
        a.key(&mut self.out, "lock_args");
        let extent_size = u64::from(vg.extent_size);
        self.out.kv_size("extent_size", extent_size, extent_size);
        a.key(&mut self.out, "extent_size");
        self.out.kv_uint("max_lv", vg.max_lv.into());
        a.key(&mut self.out, "max_lv");
        self.out.kv_uint("max_pv", vg.max_pv.into());
        a.key(&mut self.out, "max_pv");
        if let Some(policy) = &vg.allocation_policy {
            self.out.nl();
            self.out.kv_str("allocation_policy", policy.as_str());
        }
        a.key(&mut self.out, "allocation_policy");
        self.opt_str("profile", &vg.profile);
        a.key(&mut self.out, "profile");
        self.opt_uint("metadata_copies", vg.metadata_copies);
        a.key(&mut self.out, "metadata_copies");

        self.out.nl();
        self.out.open("physical_volumes");
        for (n, pv) in vg.pvs.iter().enumerate() {
            self.physical_volume(n, pv);
        }
        self.out.close();
        a.key(&mut self.out, "physical_volumes");

        self.out.nl();
        if !vg.lvs.is_empty() {
            self.out.open("logical_volumes");
            let visible = visibility(&vg.lvs);
            // Visible LVs first, then the hidden ones, each in the VG's order (LVM2's order).
            let order: Vec<&LogicalVolume> = vg
                .lvs
                .iter()
                .zip(&visible)
                .filter(|(_, &v)| v)
                .chain(vg.lvs.iter().zip(&visible).filter(|(_, &v)| !v))
                .map(|(lv, _)| lv)
                .collect();
            self.logical_volumes(&order);
            self.out.close();
        }
        a.key(&mut self.out, "logical_volumes");

        self.out.nl();
        if !vg.historical_lvs.is_empty() {
            self.out.open("historical_logical_volumes");
            for lv in &vg.historical_lvs {
                self.historical_lv(lv);
            }
            self.out.close();
        }
        a.key(&mut self.out, "historical_logical_volumes");
        a.rest(&mut self.out);
        self.out.close();
    }

    fn physical_volume(&mut self, n: usize, pv: &PhysicalVolume) {
        let mut a = Anchors::new(&pv.extra);
        self.out.nl();
        let start = self.out.begin();
        self.out.raw(b"pv");
        self.out.uint(n as u64);
        self.out.raw(b" {");
        self.out.end(start, None);
        self.out.inc();
        a.at(&mut self.out, None);
        self.kv_id("id", &pv.id);
        a.key(&mut self.out, "id");
        if let Some(device) = &pv.device {
            let start = self.out.begin();
            self.out.raw(b"device = ");
            self.out.quoted(device);
            self.out.end(start, Some(b"# Hint only"));
        }
        a.key(&mut self.out, "device");
        self.out.nl();
        self.opt_str("device_id_type", &pv.device_id_type);
        a.key(&mut self.out, "device_id_type");
        self.opt_str("device_id", &pv.device_id);
        a.key(&mut self.out, "device_id");
        self.out.kv_list("status", &pv.status);
        a.key(&mut self.out, "status");
        self.out.kv_list("flags", &pv.flags);
        a.key(&mut self.out, "flags");
        self.tags(&pv.tags);
        a.key(&mut self.out, "tags");
        if let Some(size) = pv.dev_size {
            self.out.kv_size("dev_size", size, size);
        }
        a.key(&mut self.out, "dev_size");
        self.out.kv_uint("pe_start", pv.pe_start);
        a.key(&mut self.out, "pe_start");
        let pe_bytes = u64::from(self.vg.extent_size).wrapping_mul(u64::from(pv.pe_count));
        self.out.kv_size("pe_count", pv.pe_count.into(), pe_bytes);
        a.key(&mut self.out, "pe_count");
        self.opt_uint("ba_start", pv.ba_start);
        a.key(&mut self.out, "ba_start");
        if let Some(size) = pv.ba_size {
            self.out.kv_size("ba_size", size, size);
        }
        a.key(&mut self.out, "ba_size");
        a.rest(&mut self.out);
        self.out.close();
    }

    /// The LV sections in `order`. A large VG's second half is written on another thread
    /// into its own buffer (each LV section depends only on the LV and the VG's PV order),
    /// then appended: the bytes are the same as one thread's.
    fn logical_volumes(&mut self, order: &[&LogicalVolume]) {
        if order.len() < self.parallel_from {
            for lv in order {
                self.logical_volume(lv);
            }
            return;
        }
        let (first, second) = order.split_at(order.len() / 2);
        let mut other = Emitter {
            out: Out::nested_like(&self.out, EMIT_PIECE + EMIT_PIECE / 4),
            vg: self.vg,
            pv_index: self.pv_index.clone(),
            utc_offset: self.utc_offset,
            scratch: Vec::with_capacity(64),
            parallel_from: usize::MAX,
        };
        // The second half comes back in pieces of about EMIT_PIECE bytes, each freed as soon
        // as it is appended: a single buffer for it would be alive next to its copy in the
        // text (half the text's size on top of the peak of every write).
        let tail = std::thread::scope(|s| {
            let worker = std::thread::Builder::new().spawn_scoped(s, move || {
                let mut pieces = Vec::new();
                for lv in second {
                    other.logical_volume(lv);
                    if other.out.buf.len() >= EMIT_PIECE {
                        let next = Vec::with_capacity(EMIT_PIECE + EMIT_PIECE / 4);
                        pieces.push(std::mem::replace(&mut other.out.buf, next));
                    }
                }
                pieces.push(other.out.buf);
                pieces
            });
            for lv in first {
                self.logical_volume(lv);
            }
            worker.ok().and_then(|w| w.join().ok())
        });
        match tail {
            Some(pieces) => {
                self.out.buf.reserve(pieces.iter().map(Vec::len).sum());
                for piece in pieces {
                    self.out.buf.extend_from_slice(&piece);
                }
            }
            // No second thread could be started: this one writes the rest.
            None => {
                for lv in second {
                    self.logical_volume(lv);
                }
            }
        }
    }

    fn logical_volume(&mut self, lv: &LogicalVolume) {
        let mut a = Anchors::new(&lv.rare.extra);
        self.out.nl();
        self.out.open(&lv.name);
        a.at(&mut self.out, None);
        self.kv_id("id", &lv.id);
        a.key(&mut self.out, "id");
        self.out.kv_list("status", &lv.status);
        a.key(&mut self.out, "status");
        self.out.kv_list("flags", &lv.flags);
        a.key(&mut self.out, "flags");
        self.tags(&lv.tags);
        a.key(&mut self.out, "tags");
        if let Some(time) = lv.creation_time {
            self.kv_timestamp("creation_time", time);
        }
        a.key(&mut self.out, "creation_time");
        self.opt_str("creation_host", &lv.creation_host);
        a.key(&mut self.out, "creation_host");
        self.opt_str("lock_args", &lv.rare.lock_args);
        a.key(&mut self.out, "lock_args");
        if let Some(policy) = &lv.rare.allocation_policy {
            self.out.kv_str("allocation_policy", policy.as_str());
        }
        a.key(&mut self.out, "allocation_policy");
        self.opt_str("profile", &lv.rare.profile);
        a.key(&mut self.out, "profile");
        match lv.rare.read_ahead {
            Some(ReadAhead::Disabled) => {
                let start = self.out.begin();
                self.out.raw(b"read_ahead = -1");
                self.out.end(start, Some(b"# None"));
            }
            Some(ReadAhead::Sectors(sectors)) => self.out.kv_uint("read_ahead", sectors.into()),
            None => {}
        }
        a.key(&mut self.out, "read_ahead");
        if let Some(major) = lv.rare.major {
            self.kv_int("major", major.into());
        }
        a.key(&mut self.out, "major");
        if let Some(minor) = lv.rare.minor {
            self.kv_int("minor", minor.into());
        }
        a.key(&mut self.out, "minor");
        self.out.kv_uint("segment_count", lv.segments.len() as u64);
        a.key(&mut self.out, "segment_count");
        self.out.nl();
        for (n, segment) in lv.segments.iter().enumerate() {
            self.segment(n + 1, segment);
        }
        a.key(&mut self.out, SEGMENTS_ANCHOR);
        a.rest(&mut self.out);
        self.out.close();
    }

    fn kv_int(&mut self, key: &str, value: i64) {
        let start = self.out.begin();
        self.out.raw(key.as_bytes());
        self.out.raw(b" = ");
        self.out.int(value);
        self.out.end(start, None);
    }

    fn extents_size(&self, extents: u32) -> u64 {
        u64::from(extents).wrapping_mul(u64::from(self.vg.extent_size))
    }

    fn segment(&mut self, n: usize, segment: &Segment) {
        let mut a = Anchors::new(&segment.extra);
        let start = self.out.begin();
        self.out.raw(b"segment");
        self.out.uint(n as u64);
        self.out.raw(b" {");
        self.out.end(start, None);
        self.out.inc();
        a.at(&mut self.out, None);
        self.out
            .kv_uint("start_extent", segment.start_extent.into());
        a.key(&mut self.out, "start_extent");
        let size = self.extents_size(segment.extent_count);
        self.out
            .kv_size("extent_count", segment.extent_count.into(), size);
        a.key(&mut self.out, "extent_count");
        self.out.nl();
        if let Some(reshape) = segment.reshape_count {
            let size = self.extents_size(reshape);
            self.out.kv_size("reshape_count", reshape.into(), size);
        }
        a.key(&mut self.out, "reshape_count");
        let start = self.out.begin();
        self.out.raw(b"type = \"");
        super::format::push_escaped(&mut self.out.buf, segment.kind.type_name());
        for flag in &segment.type_flags {
            self.out.raw(b"+");
            super::format::push_escaped(&mut self.out.buf, flag);
        }
        self.out.raw(b"\"");
        self.out.end(start, None);
        a.key(&mut self.out, "type");
        self.tags(&segment.tags);
        a.key(&mut self.out, "tags");
        match &segment.kind {
            SegmentKind::Striped(striped) => self.striped(striped, &mut a),
            SegmentKind::Mirror(mirror) => self.mirror(mirror, &mut a),
            SegmentKind::Raid(raid) => self.raid(raid, &mut a),
            SegmentKind::Snapshot(snapshot) => {
                self.out.kv_uint("chunk_size", snapshot.chunk_size.into());
                a.key(&mut self.out, "chunk_size");
                self.out.kv_str("origin", &snapshot.origin);
                a.key(&mut self.out, "origin");
                let key = if snapshot.merging {
                    "merging_store"
                } else {
                    "cow_store"
                };
                self.out.kv_str(key, &snapshot.cow);
                a.key(&mut self.out, key);
            }
            SegmentKind::ThinPool(pool) => self.thin_pool(pool, &mut a),
            SegmentKind::Thin(thin) => {
                self.out.kv_str("thin_pool", &thin.thin_pool);
                a.key(&mut self.out, "thin_pool");
                self.out.kv_uint("transaction_id", thin.transaction_id);
                a.key(&mut self.out, "transaction_id");
                self.out.kv_uint("device_id", thin.device_id.into());
                a.key(&mut self.out, "device_id");
                self.opt_str("external_origin", &thin.external_origin);
                a.key(&mut self.out, "external_origin");
                self.opt_str("origin", &thin.origin);
                a.key(&mut self.out, "origin");
                self.opt_str("merge", &thin.merge);
                a.key(&mut self.out, "merge");
            }
            SegmentKind::CachePool(pool) => {
                self.out.kv_str("data", &pool.data);
                a.key(&mut self.out, "data");
                self.out.kv_str("metadata", &pool.metadata);
                a.key(&mut self.out, "metadata");
                self.opt_uint("metadata_format", pool.metadata_format);
                a.key(&mut self.out, "metadata_format");
                self.cache_settings(&pool.settings, &mut a);
            }
            SegmentKind::Cache(cache) => self.cache(cache, &mut a),
            SegmentKind::Other(other) => {
                for item in &other.items {
                    emit_item(&mut self.out, item);
                }
            }
        }
        a.rest(&mut self.out);
        self.out.close();
    }

    fn striped(&mut self, striped: &Striped, a: &mut Anchors<'_>) {
        let count = striped.stripes.len();
        let start = self.out.begin();
        self.out.raw(b"stripe_count = ");
        self.out.uint(count as u64);
        self.out
            .end(start, (count == 1).then_some(b"# linear".as_slice()));
        a.key(&mut self.out, "stripe_count");
        if let Some(size) = striped.stripe_size {
            self.out.kv_size("stripe_size", size.into(), size.into());
        }
        a.key(&mut self.out, "stripe_size");
        self.areas("stripes", &striped.stripes);
        a.key(&mut self.out, "stripes");
    }

    fn mirror(&mut self, mirror: &Mirror, a: &mut Anchors<'_>) {
        self.out
            .kv_uint("mirror_count", mirror.mirrors.len() as u64);
        a.key(&mut self.out, "mirror_count");
        if let Some(moved) = mirror.extents_moved {
            let size = self.extents_size(moved);
            self.out.kv_size("extents_moved", moved.into(), size);
        }
        a.key(&mut self.out, "extents_moved");
        self.opt_str("mirror_log", &mirror.mirror_log);
        a.key(&mut self.out, "mirror_log");
        self.opt_uint("region_size", mirror.region_size);
        a.key(&mut self.out, "region_size");
        self.areas("mirrors", &mirror.mirrors);
        a.key(&mut self.out, "mirrors");
    }

    fn areas(&mut self, key: &str, areas: &[Area]) {
        self.out.nl();
        let start = self.out.begin();
        self.out.raw(key.as_bytes());
        self.out.raw(b" = [");
        self.out.end(start, None);
        self.out.inc();
        for (n, area) in areas.iter().enumerate() {
            let start = self.out.begin();
            match area {
                Area::Pv { pv, start } => {
                    self.out.raw(b"\"");
                    match self.pv_index.get(pv) {
                        Some(&index) => {
                            self.out.raw(b"pv");
                            self.out.uint(index as u64);
                        }
                        // A PV missing from the VG: written as its id, which LVM2 rejects
                        // rather than mapping the area onto a wrong PV.
                        None => pv.write_to(&mut self.out.buf),
                    }
                    self.out.raw(b"\", ");
                    self.out.uint((*start).into());
                }
                Area::Lv { name, start } => {
                    self.out.quoted(name);
                    self.out.raw(b", ");
                    self.out.uint((*start).into());
                }
            }
            if n + 1 < areas.len() {
                self.out.raw(b",");
            }
            self.out.end(start, None);
        }
        self.out.dec();
        let start = self.out.begin();
        self.out.raw(b"]");
        self.out.end(start, None);
    }

    fn raid(&mut self, raid: &Raid, a: &mut Anchors<'_>) {
        let count = raid.images.len() as u64;
        let list_key = if raid.level.is_raid0() {
            self.out.kv_uint("stripe_count", count);
            a.key(&mut self.out, "stripe_count");
            self.opt_uint("stripe_size", raid.stripe_size);
            a.key(&mut self.out, "stripe_size");
            if raid.level == RaidLevel::Raid0 {
                "raid0_lvs"
            } else {
                "raids"
            }
        } else {
            self.out.kv_uint("device_count", count);
            a.key(&mut self.out, "device_count");
            for (key, value) in [
                ("data_copies", raid.data_copies),
                ("region_size", raid.region_size),
                ("stripe_size", raid.stripe_size),
                ("writebehind", raid.writebehind),
                ("min_recovery_rate", raid.min_recovery_rate),
                ("max_recovery_rate", raid.max_recovery_rate),
                ("data_offset", raid.data_offset),
            ] {
                self.opt_uint(key, value);
                a.key(&mut self.out, key);
            }
            "raids"
        };
        self.out.nl();
        let start = self.out.begin();
        self.out.raw(list_key.as_bytes());
        self.out.raw(b" = [");
        self.out.end(start, None);
        self.out.inc();
        for (n, image) in raid.images.iter().enumerate() {
            let start = self.out.begin();
            if let Some(meta) = &image.meta {
                self.out.quoted(meta);
                self.out.raw(b", ");
            }
            self.out.quoted(&image.data);
            if n + 1 < raid.images.len() {
                self.out.raw(b",");
            }
            self.out.end(start, None);
        }
        self.out.dec();
        let start = self.out.begin();
        self.out.raw(b"]");
        self.out.end(start, None);
        a.key(&mut self.out, list_key);
    }

    fn thin_pool(&mut self, pool: &ThinPool, a: &mut Anchors<'_>) {
        self.out.kv_str("metadata", &pool.metadata);
        a.key(&mut self.out, "metadata");
        self.out.kv_str("pool", &pool.pool);
        a.key(&mut self.out, "pool");
        self.out.kv_uint("transaction_id", pool.transaction_id);
        a.key(&mut self.out, "transaction_id");
        let chunk = u64::from(pool.chunk_size);
        self.out.kv_size("chunk_size", chunk, chunk);
        a.key(&mut self.out, "chunk_size");
        self.opt_str("discards", &pool.discards);
        a.key(&mut self.out, "discards");
        if pool.zero_new_blocks {
            self.out.kv_uint("zero_new_blocks", 1);
        }
        a.key(&mut self.out, "zero_new_blocks");
        if let Some(crop) = pool.crop_metadata {
            self.out.kv_uint("crop_metadata", u64::from(crop));
        }
        a.key(&mut self.out, "crop_metadata");
        for (n, message) in pool.messages.iter().enumerate() {
            if n == 0 {
                self.out.nl();
            }
            let start = self.out.begin();
            self.out.raw(b"message");
            self.out.uint(n as u64 + 1);
            self.out.raw(b" {");
            self.out.end(start, None);
            self.out.inc();
            match message {
                ThinMessage::Create(name) => self.out.kv_str("create", name),
                ThinMessage::Delete(id) => self.out.kv_uint("delete", (*id).into()),
            }
            self.out.close();
        }
        a.key(&mut self.out, MESSAGES_ANCHOR);
    }

    fn cache_settings(&mut self, settings: &CacheSettings, a: &mut Anchors<'_>) {
        self.opt_uint("chunk_size", settings.chunk_size);
        a.key(&mut self.out, "chunk_size");
        self.opt_str("cache_mode", &settings.cache_mode);
        a.key(&mut self.out, "cache_mode");
        self.opt_str("policy", &settings.policy);
        a.key(&mut self.out, "policy");
        if let Some(policy_settings) = &settings.policy_settings {
            config_node(&mut self.out, "policy_settings", policy_settings, 0);
        }
        a.key(&mut self.out, "policy_settings");
    }

    fn cache(&mut self, cache: &Cache, a: &mut Anchors<'_>) {
        self.out.kv_str("cache_pool", &cache.cache_pool);
        a.key(&mut self.out, "cache_pool");
        self.out.kv_str("origin", &cache.origin);
        a.key(&mut self.out, "origin");
        if cache.cleaner {
            self.out.kv_uint("cleaner", 1);
        }
        a.key(&mut self.out, "cleaner");
        self.opt_uint("metadata_format", cache.metadata_format);
        a.key(&mut self.out, "metadata_format");
        self.cache_settings(&cache.settings, a);
        for (key, value) in [
            ("metadata_start", cache.metadata_start),
            ("metadata_len", cache.metadata_len),
            ("data_start", cache.data_start),
            ("data_len", cache.data_len),
        ] {
            self.opt_uint(key, value);
            a.key(&mut self.out, key);
        }
        for (key, id) in [
            ("metadata_id", &cache.metadata_id),
            ("data_id", &cache.data_id),
        ] {
            if let Some(id) = id {
                self.kv_id(key, id);
            }
            a.key(&mut self.out, key);
        }
    }

    fn historical_lv(&mut self, lv: &HistoricalLogicalVolume) {
        let mut a = Anchors::new(&lv.extra);
        self.out.nl();
        self.out.open(&lv.name);
        a.at(&mut self.out, None);
        self.kv_id("id", &lv.id);
        a.key(&mut self.out, "id");
        if let Some(time) = lv.creation_time {
            self.kv_timestamp("creation_time", time);
        }
        a.key(&mut self.out, "creation_time");
        if let Some(time) = lv.removal_time {
            self.kv_timestamp("removal_time", time);
        }
        a.key(&mut self.out, "removal_time");
        self.opt_str("origin", &lv.origin);
        a.key(&mut self.out, "origin");
        if !lv.descendants.is_empty() {
            self.out.kv_list("descendants", &lv.descendants);
        }
        a.key(&mut self.out, "descendants");
        a.rest(&mut self.out);
        self.out.close();
    }
}

/// Which LVs LVM2 writes in the first, visible group (see `VolumeGroup::is_lv_visible`).
fn visibility(lvs: &[LogicalVolume]) -> Vec<bool> {
    let mut cows: HashMap<&str, bool> = HashMap::new();
    for lv in lvs {
        if let Some(Segment {
            kind: SegmentKind::Snapshot(snapshot),
            ..
        }) = lv.segments.first()
        {
            cows.entry(snapshot.cow.as_str())
                .or_insert(snapshot.merging);
        }
    }
    lvs.iter()
        .map(|lv| {
            if lv
                .segments
                .iter()
                .any(|s| matches!(s.kind, SegmentKind::Snapshot(_)))
            {
                false
            } else if let Some(&merging) = cows.get(lv.name.as_str()) {
                !merging
            } else {
                lv.has_status("VISIBLE")
            }
        })
        .collect()
}

fn push_scalar(out: &mut Out, scalar: &Scalar<'_>) {
    match scalar {
        Scalar::Int(value) => out.int(*value),
        Scalar::Float(text) => out.raw(text.as_bytes()),
        Scalar::String(text) => out.quoted(text),
    }
}

fn push_comment(out: &mut Out, start: usize, comment: Option<&str>) {
    match comment {
        Some(comment) if out.backup => {
            let mut text = Vec::with_capacity(comment.len() + 1);
            text.push(b'#');
            text.extend_from_slice(comment.as_bytes());
            out.end(start, Some(&text));
        }
        _ => out.end(start, None),
    }
}

/// One item in LVM2's export style (`key = value`, `key {`), with its blank lines and, in
/// the backup form, its comments.
pub(crate) fn emit_item(out: &mut Out, item: &Item<'_>) {
    for _ in 0..item.blank_lines_before {
        out.nl();
    }
    if out.backup {
        for comment in item.leading_comments() {
            let start = out.begin();
            out.raw(b"#");
            out.raw(comment.as_bytes());
            out.end(start, None);
        }
    }
    let start = out.begin();
    out.key(&item.key);
    match &item.node {
        Node::Section(section) => {
            out.raw(b" {");
            push_comment(out, start, item.comment());
            out.inc();
            for child in &section.items {
                emit_item(out, child);
            }
            out.close();
        }
        Node::Value(value) => {
            out.raw(b" = ");
            match value {
                Value::Int(value) => out.int(*value),
                Value::Float(text) => out.raw(text.as_bytes()),
                Value::String(text) => out.quoted(text),
                Value::Array(array) if array.per_line > 0 => {
                    multiline_array(out, start, array, item.comment());
                    return;
                }
                Value::Array(array) => {
                    out.raw(b"[");
                    for (n, element) in array.elements.iter().enumerate() {
                        if n > 0 {
                            out.raw(b", ");
                        }
                        push_scalar(out, element);
                    }
                    out.raw(b"]");
                }
            }
            push_comment(out, start, item.comment());
        }
    }
}

fn multiline_array(out: &mut Out, start: usize, array: &Array<'_>, comment: Option<&str>) {
    out.raw(b"[");
    push_comment(out, start, comment);
    out.inc();
    let per_line = array.per_line.max(1) as usize;
    let lines = array.elements.chunks(per_line).count();
    for (n, line) in array.elements.chunks(per_line).enumerate() {
        let start = out.begin();
        for (k, element) in line.iter().enumerate() {
            if k > 0 {
                out.raw(b", ");
            }
            push_scalar(out, element);
        }
        if n + 1 < lines {
            out.raw(b",");
        }
        out.end(start, None);
    }
    out.dec();
    let start = out.begin();
    out.raw(b"]");
    out.end(start, None);
}

/// A subsection as LVM2's generic config writer prints it inside metadata (used for cache
/// `policy_settings`): the writer's own tab per level on top of the current indentation,
/// `key=value` without spaces.
fn config_node(out: &mut Out, key: &str, section: &Section<'_>, level: usize) {
    let start = out.begin();
    config_indent(out, level);
    config_key(out, key);
    out.raw(b" {");
    out.end(start, None);
    for item in &section.items {
        match &item.node {
            Node::Section(child) => config_node(out, &item.key, child, level + 1),
            Node::Value(value) => {
                let start = out.begin();
                config_indent(out, level + 1);
                config_key(out, &item.key);
                out.raw(b"=");
                match value {
                    Value::Int(value) => out.int(*value),
                    Value::Float(text) => out.raw(text.as_bytes()),
                    Value::String(text) => out.quoted(text),
                    Value::Array(array) => {
                        out.raw(b"[");
                        for (n, element) in array.elements.iter().enumerate() {
                            if n > 0 {
                                out.raw(b",");
                            }
                            push_scalar(out, element);
                        }
                        out.raw(b"]");
                    }
                }
                out.end(start, None);
            }
        }
    }
    let start = out.begin();
    config_indent(out, level);
    out.raw(b"}");
    out.end(start, None);
}

fn config_indent(out: &mut Out, level: usize) {
    for _ in 0..level.min(5) {
        out.raw(b"\t");
    }
}

fn config_key(out: &mut Out, key: &str) {
    if key.contains(['#', '"', '!']) {
        out.quoted(key);
    } else {
        out.raw(key.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_metadata;

    /// LVM2's fixture VG with every LV kind it has (visible and hidden, with unknown keys
    /// kept as extras), its LVs repeated under new names until the VG is large.
    fn large_mixed_vg() -> Metadata {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        );
        let text = std::fs::read(path).expect("fixture vgdemo.vg");
        let mut md = parse_metadata(&text).expect("fixture parses");
        let lvs = md.vg.lvs.clone();
        assert!(lvs.len() > 3);
        for k in 0..(4001 / lvs.len() + 1) {
            for lv in &lvs {
                let mut copy = lv.clone();
                copy.name = format!("{}_k{k}", lv.name);
                md.vg.lvs.push(copy);
            }
        }
        md
    }

    #[test]
    fn lv_sections_written_on_two_threads_are_the_bytes_of_one() {
        let md = large_mixed_vg();
        let vg = &md.vg;
        assert!(vg.lvs.len() >= PARALLEL_EMIT_LVS);
        for backup in [false, true] {
            let one = emit_split(vg, &md.header, md.utc_offset, &md.extra, backup, usize::MAX);
            // The default threshold, and splits at every small size (odd and even counts, a
            // split right after the visible LVs of a small VG).
            for from in [PARALLEL_EMIT_LVS, 2, 3, 7] {
                let two = emit_split(vg, &md.header, md.utc_offset, &md.extra, backup, from);
                assert!(
                    one == two,
                    "backup {backup}, split from {from}: texts differ"
                );
            }
            let mut small = md.clone();
            small.vg.lvs.truncate(5);
            let one = emit_split(
                &small.vg,
                &md.header,
                md.utc_offset,
                &md.extra,
                backup,
                usize::MAX,
            );
            let two = emit_split(&small.vg, &md.header, md.utc_offset, &md.extra, backup, 2);
            assert!(one == two, "backup {backup}, 5 LVs: texts differ");
        }
    }
}
