//! The pv_header that follows the label: which bytes of the device hold extents, metadata
//! areas and a bootloader area. Its lists end at the first entry whose offset is 0 (LVM2 reads
//! them that way), and the extension is absent on PVs written before LVM2 2.02.x, where its
//! version field reads 0.

use super::bytes::{LeReader, LeWriter};
use super::uuid::{PvUuid, UUID_LEN};
use super::{HeaderError, PV_EXT_USED, SECTOR_SIZE};

/// Size of one list entry (`disk_locn`).
pub(crate) const DISK_LOCN_SIZE: usize = 16;
/// UUID + device_size before the first list.
pub(crate) const PV_HEADER_FIXED: usize = UUID_LEN + 8;
/// version + flags before the bootloader-area list.
pub(crate) const EXTENSION_FIXED: usize = 8;

/// One `{offset, size}` entry of a pv_header list, in bytes from the start of the device.
/// A data area of size 0 runs to the end of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DiskLocn {
    pub offset: u64,
    pub size: u64,
}

impl DiskLocn {
    pub const fn new(offset: u64, size: u64) -> Self {
        Self { offset, size }
    }

    /// Exclusive end, widened so corrupt values cannot overflow.
    pub(crate) fn end(&self) -> u128 {
        u128::from(self.offset) + u128::from(self.size)
    }
}

/// The pv_header_extension: present on every PV LVM2 2.02.116+ writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PvHeaderExtension {
    /// 1 = bootloader areas, 2 = also the flags word; LVM2 2.03 writes 2.
    pub version: u32,
    /// Bit 0 (`PV_EXT_USED`) = the PV belongs to a VG.
    pub flags: u32,
    pub bootloader_areas: Vec<DiskLocn>,
}

impl PvHeaderExtension {
    /// The extension LVM2 2.03 writes for an orphan (`in_vg` false) or a VG member.
    pub fn current(in_vg: bool, bootloader_areas: Vec<DiskLocn>) -> Self {
        Self {
            version: super::PV_EXT_VERSION,
            flags: if in_vg { PV_EXT_USED } else { 0 },
            bootloader_areas,
        }
    }

    pub fn in_vg(&self) -> bool {
        self.flags & PV_EXT_USED != 0
    }
}

/// The pv_header in the label sector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PvHeader {
    pub pv_uuid: PvUuid,
    /// Device size in bytes when the header was written (overridden by the VG's `dev_size`).
    pub device_size: u64,
    /// Where extents live; LVM2 writes exactly one `{pe_start, 0}`.
    pub data_areas: Vec<DiskLocn>,
    /// Metadata areas on this device (0, 1 or 2 in practice).
    pub metadata_areas: Vec<DiskLocn>,
    /// `None` for PVs from before the extension existed (its version reads 0).
    pub extension: Option<PvHeaderExtension>,
}

fn read_list(
    r: &LeReader<'_>,
    mut at: usize,
    limit: usize,
    list: &'static str,
    out: &mut Vec<DiskLocn>,
) -> Result<usize, HeaderError> {
    loop {
        if at.saturating_add(DISK_LOCN_SIZE) > limit {
            return Err(HeaderError::AreaListOverrun { list });
        }
        let offset = r.u64(at)?;
        let size = r.u64(at + 8)?;
        at += DISK_LOCN_SIZE;
        if offset == 0 {
            return Ok(at);
        }
        out.push(DiskLocn { offset, size });
    }
}

fn write_list(
    w: &mut LeWriter<'_>,
    mut at: usize,
    limit: usize,
    list: &'static str,
    entries: &[DiskLocn],
) -> Result<usize, HeaderError> {
    for (index, e) in entries.iter().enumerate() {
        if e.offset == 0 {
            return Err(HeaderError::ZeroOffsetArea { list, index });
        }
        if at.saturating_add(DISK_LOCN_SIZE) > limit {
            return Err(HeaderError::AreaListOverrun { list });
        }
        w.u64(at, e.offset)?;
        w.u64(at + 8, e.size)?;
        at += DISK_LOCN_SIZE;
    }
    if at.saturating_add(DISK_LOCN_SIZE) > limit {
        return Err(HeaderError::AreaListOverrun { list });
    }
    // The terminator: the buffer is zeroed by the caller, so only the bounds matter.
    Ok(at + DISK_LOCN_SIZE)
}

impl PvHeader {
    /// Decodes the pv_header starting at `base` inside `sector` (the label sector). Only the
    /// layout is checked; `validate` says whether the values can be trusted.
    pub(crate) fn decode_at(sector: &[u8], base: usize) -> Result<PvHeader, HeaderError> {
        let r = LeReader::new(sector, "label sector");
        let limit = sector.len();
        let pv_uuid = PvUuid::from_raw(r.bytes::<UUID_LEN>(base)?);
        let device_size = r.u64(base + UUID_LEN)?;
        let mut data_areas = Vec::new();
        let mut metadata_areas = Vec::new();
        let at = base + PV_HEADER_FIXED;
        let at = read_list(&r, at, limit, "data area", &mut data_areas)?;
        let at = read_list(&r, at, limit, "metadata area", &mut metadata_areas)?;
        if at.saturating_add(EXTENSION_FIXED) > limit {
            return Err(HeaderError::AreaListOverrun {
                list: "pv_header_extension",
            });
        }
        let version = r.u32(at)?;
        let extension = if version == 0 {
            None
        } else {
            let flags = r.u32(at + 4)?;
            let mut bootloader_areas = Vec::new();
            read_list(
                &r,
                at + EXTENSION_FIXED,
                limit,
                "bootloader area",
                &mut bootloader_areas,
            )?;
            Some(PvHeaderExtension {
                version,
                flags,
                bootloader_areas,
            })
        };
        Ok(PvHeader {
            pv_uuid,
            device_size,
            data_areas,
            metadata_areas,
            extension,
        })
    }

    /// Writes the pv_header at `base` into a zeroed label sector, as LVM2 does: lists, their
    /// zero terminators, and the extension (omitted entirely when `extension` is `None`).
    pub(crate) fn encode_at(&self, sector: &mut [u8], base: usize) -> Result<(), HeaderError> {
        let limit = sector.len();
        let mut w = LeWriter::new(sector, "label sector");
        w.put(base, self.pv_uuid.as_bytes())?;
        w.u64(base + UUID_LEN, self.device_size)?;
        let at = base + PV_HEADER_FIXED;
        let at = write_list(&mut w, at, limit, "data area", &self.data_areas)?;
        let at = write_list(&mut w, at, limit, "metadata area", &self.metadata_areas)?;
        if let Some(ext) = &self.extension {
            if at.saturating_add(EXTENSION_FIXED) > limit {
                return Err(HeaderError::AreaListOverrun {
                    list: "pv_header_extension",
                });
            }
            w.u32(at, ext.version)?;
            w.u32(at + 4, ext.flags)?;
            write_list(
                &mut w,
                at + EXTENSION_FIXED,
                limit,
                "bootloader area",
                &ext.bootloader_areas,
            )?;
        }
        Ok(())
    }

    /// The first data area's start: where extent 0 begins (`pe_start`, in bytes).
    pub fn pe_start(&self) -> Option<u64> {
        self.data_areas.first().map(|d| d.offset)
    }

    /// True when the extension says the PV belongs to a VG.
    pub fn in_vg(&self) -> bool {
        self.extension.as_ref().is_some_and(|e| e.in_vg())
    }

    pub fn bootloader_areas(&self) -> &[DiskLocn] {
        self.extension
            .as_ref()
            .map_or(&[][..], |e| e.bootloader_areas.as_slice())
    }

    /// Checks what a reader relies on: a valid UUID, and metadata and bootloader areas that
    /// are non-empty, end within 2^64 bytes, miss the label sector and each other, and do not
    /// contain the start of a data area. The recorded device size is not a bound: LVM2's
    /// pvresize of a VG member with a second metadata area records the size less pe_start and
    /// that area, so the area lies past it (and LVM2's reader does not check either).
    pub fn validate(&self, label_sector: u64) -> Result<(), HeaderError> {
        self.pv_uuid.validate()?;
        let label = DiskLocn::new(label_sector.saturating_mul(SECTOR_SIZE), SECTOR_SIZE);
        let reserved: Vec<(&'static str, DiskLocn)> = self
            .metadata_areas
            .iter()
            .map(|&a| ("metadata area", a))
            .chain(
                self.bootloader_areas()
                    .iter()
                    .map(|&a| ("bootloader area", a)),
            )
            .collect();
        for &(list, area) in &reserved {
            if area.size == 0 {
                return Err(HeaderError::ZeroSizeArea {
                    list,
                    offset: area.offset,
                });
            }
            self.check_inside_device(list, area)?;
            if overlaps(area, label) {
                return Err(HeaderError::AreaOverlapsLabel {
                    list,
                    area,
                    label_sector,
                });
            }
        }
        for (i, &(_, a)) in reserved.iter().enumerate() {
            for &(_, b) in &reserved[i + 1..] {
                if overlaps(a, b) {
                    return Err(HeaderError::AreasOverlap {
                        first: a,
                        second: b,
                    });
                }
            }
        }
        for &da in &self.data_areas {
            self.check_inside_device("data area", da)?;
            for &(_, area) in &reserved {
                let start_inside = da.offset >= area.offset && u128::from(da.offset) < area.end();
                // A PV with no room for extents: LVM2 starts the (empty, size 0) data area
                // where the second metadata area starts.
                let empty_at_start = da.size == 0 && da.offset == area.offset;
                if (start_inside && !empty_at_start) || (da.size != 0 && overlaps(da, area)) {
                    return Err(HeaderError::AreasOverlap {
                        first: area,
                        second: da,
                    });
                }
            }
        }
        Ok(())
    }

    fn check_inside_device(&self, list: &'static str, area: DiskLocn) -> Result<(), HeaderError> {
        if area.end() > u128::from(u64::MAX) {
            return Err(HeaderError::AreaPastDevice {
                list,
                area,
                device_size: self.device_size,
            });
        }
        Ok(())
    }
}

fn overlaps(a: DiskLocn, b: DiskLocn) -> bool {
    u128::from(a.offset) < b.end() && u128::from(b.offset) < a.end()
}
