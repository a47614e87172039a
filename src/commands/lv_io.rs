//! Plain block I/O on the data of LVs without device-mapper: where an LV's extents sit on its
//! PVs, and clearing the start of a new metadata LV (RAID metadata, mirror log, thin pool
//! metadata, COW store) as LVM2's wipe_lv does through the kernel, so the kernel reads a fresh
//! header on the first activation instead of stale bytes. Writes go through the command's
//! device writer (direct I/O, fault injection in tests).

use super::context::Context;
use crate::error::{CmdError, CmdResult};
use crate::store::scan::Scan;
use metadata_format::text::{Area, SegmentKind, VolumeGroup};
use std::path::PathBuf;

/// Bytes LVM2's wipe_lv zeroes by default (4 KiB).
pub const WIPE_BYTES: u64 = 4096;

/// The device and byte offset holding logical extent 0 of `lv`, following sub-LVs, and how
/// many bytes from there stay on that device.
pub fn lv_start(scan: &Scan, vg: &VolumeGroup, lv: &str) -> CmdResult<(PathBuf, u64, u64)> {
    let mut name = lv.to_string();
    let mut le = 0u32;
    for _ in 0..8 {
        let l = vg
            .lv(&name)
            .ok_or_else(|| CmdError::failed(format!("Logical volume {name} not found")))?;
        let seg = l
            .segments
            .iter()
            .find(|s| s.start_extent <= le && u64::from(le) < s.end_extent())
            .ok_or_else(|| CmdError::failed(format!("{}/{name} has no extent {le}", vg.name)))?;
        let area = match &seg.kind {
            SegmentKind::Striped(s) if s.stripes.len() == 1 => s.stripes[0].clone(),
            SegmentKind::Mirror(m) => m
                .mirrors
                .first()
                .cloned()
                .ok_or_else(|| CmdError::failed(format!("{}/{name} has no legs", vg.name)))?,
            _ => {
                return Err(CmdError::failed(format!(
                    "{}/{name} is not linear: its start cannot be written without device-mapper",
                    vg.name
                )))
            }
        };
        let offset = le - seg.start_extent;
        match area {
            Area::Pv { pv, start } => {
                let p = vg
                    .pv(&pv)
                    .ok_or_else(|| CmdError::failed(format!("PV {pv} not in VG {}", vg.name)))?;
                let path = scan
                    .pv_index_by_id(&pv)
                    .map(|i| scan.pvs[i].path.clone())
                    .ok_or_else(|| CmdError::failed(format!("PV {pv} has no device")))?;
                let es = u64::from(vg.extent_size) * 512;
                let at = p.pe_start * 512 + u64::from(start + offset) * es;
                let room = u64::from(seg.extent_count - offset) * es;
                return Ok((path, at, room));
            }
            Area::Lv { name: sub, start } => {
                name = sub;
                le = start + offset;
            }
        }
    }
    Err(CmdError::failed(format!(
        "{}/{lv}: LV stack too deep",
        vg.name
    )))
}

/// Zeroes the first `bytes` of `lv` (at most its first PV segment), durably.
pub fn zero_lv_start(
    ctx: &Context,
    scan: &Scan,
    vg: &VolumeGroup,
    lv: &str,
    bytes: u64,
) -> CmdResult {
    if ctx.test_mode {
        return Ok(());
    }
    let (path, at, room) = lv_start(scan, vg, lv)?;
    let len = usize::try_from(bytes.min(room)).unwrap_or(0);
    let zeros = vec![0u8; len];
    ctx.with_writer(|w| w.write_at(&path, at, &zeros).and_then(|_| w.flush(&path)))
        .map_err(|e| {
            CmdError::failed(format!(
                "Cannot clear the start of {}/{lv} on {}: {e}",
                vg.name,
                path.display()
            ))
        })
}
