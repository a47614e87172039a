//! Where pvcreate puts things on a new PV: metadata areas, bootloader area and the first
//! extent (pe_start). The arithmetic is LVM2's (`pv_create`, `_text_pv_initialise`,
//! `_text_pv_add_metadata_area`, `set_pe_align`), kept pure so a PV made by oxlvm has the
//! same header bytes LVM2 would write for the same device and options.
//!
//! Sizes in the options are in 512-byte sectors, as LVM2 holds them internally; the result
//! is in bytes, as the pv_header records it.

use thiserror::Error;

use super::label::PvLabel;
use super::mda::MdaHeader;
use super::pv_header::{DiskLocn, PvHeader, PvHeaderExtension};
use super::uuid::PvUuid;
use super::{LABEL_SCAN_SECTORS, LABEL_SCAN_SIZE, SECTOR_SIZE};

/// LVM2's default first-extent alignment: 1 MiB.
const ONE_MIB_IN_SECTORS: u64 = 2048;
/// Bytes pvcreate zeroes at the start of each new metadata area.
const MDA_WIPE_SIZE: u64 = 8 * SECTOR_SIZE;
/// The most metadata areas the text format keeps on one PV.
const MAX_MDAS_PER_PV: u32 = 2;

/// Alignment facts the kernel reports for a device (sysfs queue limits), in sectors;
/// 0 = not reported. LVM2 adjusts the default data alignment to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoHints {
    /// md RAID stripe width (`devices/md_chunk_alignment`).
    pub md_stripe_width: u64,
    /// `queue/minimum_io_size` (`devices/data_alignment_detection`).
    pub minimum_io_size: u64,
    /// `queue/optimal_io_size`.
    pub optimal_io_size: u64,
    /// `alignment_offset` (`devices/data_alignment_offset_detection`).
    pub alignment_offset: u64,
}

/// pvcreate's options that shape the layout (LVM2 names in the comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvLayoutOptions {
    /// `--labelsector`: 0..3.
    pub label_sector: u64,
    /// `--metadatacopies` / `--pvmetadatacopies`: 0, 1 or 2.
    pub metadata_copies: u32,
    /// `--metadatasize` in sectors; `None` = LVM2's default for the page size (so that
    /// pe_start lands on 1 MiB).
    pub metadata_size_sectors: Option<u64>,
    /// `--metadataignore y`.
    pub metadata_ignore: bool,
    /// `--dataalignment` in sectors (or `devices/data_alignment`); `None` = default.
    pub data_alignment_sectors: Option<u64>,
    /// `--dataalignmentoffset` in sectors; `None` = use the device's reported offset.
    pub data_alignment_offset_sectors: Option<u64>,
    /// `devices/default_data_alignment` in MiB (0 behaves as 1).
    pub default_data_alignment_mib: u64,
    /// `--bootloaderareasize` in sectors; 0 = none.
    pub bootloader_area_sectors: u64,
    /// System page size in bytes: aligns the first metadata area and sets the minimum
    /// metadata area size (8 pages).
    pub page_size: u64,
    /// `devices/pv_min_size` in sectors (LVM2 default 2 MiB).
    pub pv_min_size_sectors: u64,
    pub io_hints: IoHints,
    /// A pe_start that must be kept (pvcreate --restorefile), in sectors.
    pub pe_start_sectors: Option<u64>,
    /// Bootloader area start kept from a backup, in sectors.
    pub bootloader_area_start_sectors: Option<u64>,
    /// Extent size and count kept from a backup (limit the second metadata area).
    pub extent_size_sectors: u64,
    pub extent_count: u64,
}

impl Default for PvLayoutOptions {
    fn default() -> Self {
        Self {
            label_sector: 1,
            metadata_copies: 1,
            metadata_size_sectors: None,
            metadata_ignore: false,
            data_alignment_sectors: None,
            data_alignment_offset_sectors: None,
            default_data_alignment_mib: 1,
            bootloader_area_sectors: 0,
            page_size: 4096,
            pv_min_size_sectors: 4096,
            io_hints: IoHints::default(),
            pe_start_sectors: None,
            bootloader_area_start_sectors: None,
            extent_size_sectors: 0,
            extent_count: 0,
        }
    }
}

/// Why pvcreate would refuse the device or the options.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    #[error("labelsector {sector} is out of range: it must be less than 4")]
    LabelSectorOutOfRange { sector: u64 },
    #[error("metadatacopies {copies} is not supported: use 0, 1 or 2")]
    TooManyMetadataCopies { copies: u32 },
    #[error("metadataignore only applies to metadatacopies > 0")]
    IgnoreWithoutMetadata,
    #[error("device of {sectors} sectors is below the PV minimum of {min} sectors (devices/pv_min_size)")]
    DeviceTooSmall { sectors: u64, min: u64 },
    #[error("data alignment of {alignment} sectors must not exceed the device size of {sectors} sectors")]
    AlignmentExceedsDevice { alignment: u64, sectors: u64 },
    #[error("data alignment {alignment} sectors must not be less than the alignment offset {offset} sectors")]
    AlignmentOffsetTooLarge { alignment: u64, offset: u64 },
    #[error("bootloader area with data-aligned start must not exceed the device size: use a smaller --bootloaderareasize")]
    BootloaderAreaExceedsDevice,
    #[error("bootloader area would overlap the data area")]
    BootloaderOverlapsData,
    #[error("physical extents end beyond the end of the device")]
    ExtentsPastDevice,
    #[error("not enough space for metadata area {index}: use a smaller --metadatasize or a bigger device")]
    NoSpaceForMetadataArea { index: u32 },
    #[error("metadata area size {size} bytes is too small: it must be at least {min} bytes")]
    MetadataAreaTooSmall { size: u64, min: u64 },
    #[error("page size {page_size} is not a positive multiple of 512")]
    BadPageSize { page_size: u64 },
}

/// Where pvcreate puts everything on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvLayout {
    pub label_sector: u64,
    /// Device size in bytes, rounded down to whole sectors.
    pub device_size: u64,
    /// Start of the first extent, in bytes.
    pub pe_start: u64,
    /// Data alignment used, in bytes (extents of a later VG start on it).
    pub pe_align: u64,
    pub bootloader_area: Option<DiskLocn>,
    pub metadata_areas: Vec<DiskLocn>,
    pub metadata_ignored: bool,
}

impl PvLayout {
    /// The pv_header of an orphan PV with this layout.
    pub fn pv_header(&self, pv_uuid: PvUuid) -> PvHeader {
        PvHeader {
            pv_uuid,
            device_size: self.device_size,
            data_areas: vec![DiskLocn::new(self.pe_start, 0)],
            metadata_areas: self.metadata_areas.clone(),
            extension: Some(PvHeaderExtension::current(
                false,
                self.bootloader_area.into_iter().collect(),
            )),
        }
    }

    /// The label sector to write at `label_sector`.
    pub fn pv_label(&self, pv_uuid: PvUuid) -> PvLabel {
        PvLabel::new(self.label_sector, self.pv_header(pv_uuid))
    }

    /// The empty mda_headers of the new areas, in pv_header order.
    pub fn mda_headers(&self) -> Vec<MdaHeader> {
        self.metadata_areas
            .iter()
            .map(|a| MdaHeader::new(a.offset, a.size, self.metadata_ignored))
            .collect()
    }

    /// Byte ranges pvcreate zeroes before writing headers: the label-scan sectors (unless
    /// `-Zn`, `--uuid` or `--restorefile`) and the first 4 KiB of each metadata area.
    pub fn wipe_ranges(&self, wipe_label_area: bool) -> Vec<DiskLocn> {
        let head = wipe_label_area.then_some(DiskLocn::new(0, LABEL_SCAN_SIZE));
        head.into_iter()
            .chain(
                self.metadata_areas
                    .iter()
                    .map(|a| DiskLocn::new(a.offset, a.size.min(MDA_WIPE_SIZE))),
            )
            .collect()
    }
}

/// LVM2's default `--metadatasize` for a page size: whatever puts pe_start at 1 MiB.
pub fn default_metadata_size_sectors(page_size: u64) -> u64 {
    match page_size {
        4096 => 2040,
        8192 => 2032,
        _ => 1920,
    }
}

/// Working state in sectors, like LVM2's `struct physical_volume`.
struct PvState {
    size: u64,
    pe_align: u64,
    pe_align_offset: u64,
    pe_start: u64,
    ba_start: u64,
    ba_size: u64,
    pe_size: u64,
    pe_count: u64,
    mdas: Vec<DiskLocn>,
}

/// Computes the layout pvcreate would give a device of `device_size` bytes.
pub fn compute_pv_layout(
    device_size: u64,
    opts: &PvLayoutOptions,
) -> Result<PvLayout, LayoutError> {
    if opts.label_sector >= LABEL_SCAN_SECTORS {
        return Err(LayoutError::LabelSectorOutOfRange {
            sector: opts.label_sector,
        });
    }
    if opts.metadata_copies > MAX_MDAS_PER_PV {
        return Err(LayoutError::TooManyMetadataCopies {
            copies: opts.metadata_copies,
        });
    }
    if opts.metadata_ignore && opts.metadata_copies == 0 {
        return Err(LayoutError::IgnoreWithoutMetadata);
    }
    if opts.page_size == 0 || !opts.page_size.is_multiple_of(SECTOR_SIZE) {
        return Err(LayoutError::BadPageSize {
            page_size: opts.page_size,
        });
    }
    let sectors = device_size / SECTOR_SIZE;
    if sectors < opts.pv_min_size_sectors {
        return Err(LayoutError::DeviceTooSmall {
            sectors,
            min: opts.pv_min_size_sectors,
        });
    }
    let requested_align = opts.data_alignment_sectors.unwrap_or(0);
    let requested_offset = opts.data_alignment_offset_sectors.unwrap_or(0);
    if sectors < requested_align.saturating_add(requested_offset) {
        return Err(LayoutError::AlignmentExceedsDevice {
            alignment: requested_align.saturating_add(requested_offset),
            sectors,
        });
    }

    let mut pv = PvState {
        size: sectors,
        pe_align: pe_align(requested_align, opts),
        pe_align_offset: if requested_offset != 0 {
            requested_offset
        } else {
            opts.io_hints.alignment_offset
        },
        pe_start: 0,
        ba_start: 0,
        ba_size: 0,
        pe_size: opts.extent_size_sectors,
        pe_count: opts.extent_count,
        mdas: Vec::new(),
    };
    initialise(&mut pv, opts)?;

    let metadata_size = opts
        .metadata_size_sectors
        .filter(|&s| s != 0)
        .unwrap_or_else(|| default_metadata_size_sectors(opts.page_size));
    let locked = opts.pe_start_sectors.is_some();
    for index in 0..opts.metadata_copies {
        add_metadata_area(&mut pv, opts, locked, index, metadata_size)?;
    }

    Ok(PvLayout {
        label_sector: opts.label_sector,
        device_size: sectors * SECTOR_SIZE,
        pe_start: pv.pe_start * SECTOR_SIZE,
        pe_align: pv.pe_align * SECTOR_SIZE,
        bootloader_area: (pv.ba_size != 0).then_some(DiskLocn::new(
            pv.ba_start * SECTOR_SIZE,
            pv.ba_size * SECTOR_SIZE,
        )),
        metadata_areas: pv.mdas,
        metadata_ignored: opts.metadata_ignore,
    })
}

/// LVM2's `set_pe_align`: an explicit alignment wins; otherwise 1 MiB (or the configured
/// multiple, at least a page), adjusted to md stripe width and I/O sizes it does not divide.
fn pe_align(requested: u64, opts: &PvLayoutOptions) -> u64 {
    if requested != 0 {
        return requested;
    }
    let mut align = opts.default_data_alignment_mib.max(1) * ONE_MIB_IN_SECTORS;
    align = align.max(opts.page_size / SECTOR_SIZE);
    let hints = &opts.io_hints;
    for hint in [
        hints.md_stripe_width,
        hints.minimum_io_size,
        hints.optimal_io_size,
    ] {
        if hint != 0 && !align.is_multiple_of(hint) {
            align = hint;
        }
    }
    align
}

/// LVM2's `_text_pv_initialise`: pe_start and the bootloader area before metadata areas.
fn initialise(pv: &mut PvState, opts: &PvLayoutOptions) -> Result<(), LayoutError> {
    if pv.pe_align < pv.pe_align_offset {
        return Err(LayoutError::AlignmentOffsetTooLarge {
            alignment: pv.pe_align,
            offset: pv.pe_align_offset,
        });
    }
    let final_alignment = pv.pe_align + pv.pe_align_offset;
    if pv.size < final_alignment {
        return Err(LayoutError::AlignmentExceedsDevice {
            alignment: final_alignment,
            sectors: pv.size,
        });
    }
    let ba_size = opts.bootloader_area_sectors;
    if pv.size < final_alignment.saturating_add(ba_size) {
        return Err(LayoutError::BootloaderAreaExceedsDevice);
    }
    match opts.pe_start_sectors {
        None => {
            if ba_size != 0 {
                pv.ba_start = final_alignment;
                pv.ba_size = ba_size;
                let rem = ba_size % pv.pe_align;
                if rem != 0 {
                    pv.ba_size += pv.pe_align - rem;
                }
                pv.ba_size = pv.ba_size.min(pv.size - pv.ba_start);
                pv.pe_start = pv.ba_start + pv.ba_size;
            } else {
                pv.pe_start = final_alignment;
            }
        }
        Some(pe_start) => {
            pv.pe_start = pe_start;
            if ba_size != 0 {
                let kept_start = opts.bootloader_area_start_sectors.filter(|&s| s != 0);
                let ba_past_pe = kept_start.is_some_and(|s| s.saturating_add(ba_size) > pe_start);
                if ba_past_pe || pe_start <= final_alignment || pe_start - final_alignment < ba_size
                {
                    return Err(LayoutError::BootloaderOverlapsData);
                }
                pv.ba_start = kept_start.unwrap_or(final_alignment);
                pv.ba_size = ba_size;
            }
        }
    }
    let extents = pv.pe_count.saturating_mul(pv.pe_size);
    if pv.pe_start.saturating_add(extents).saturating_sub(1) > pv.size {
        return Err(LayoutError::ExtentsPastDevice);
    }
    Ok(())
}

/// LVM2's `_text_pv_add_metadata_area`, in bytes like the original. Index 0 goes after the
/// label-scan area (page aligned) and pushes pe_start to its aligned end; index 1 goes at
/// the end of the device, its start aligned down to the data alignment.
fn add_metadata_area(
    pv: &mut PvState,
    opts: &PvLayoutOptions,
    pe_start_locked: bool,
    index: u32,
    size_sectors: u64,
) -> Result<(), LayoutError> {
    let no_space = LayoutError::NoSpaceForMetadataArea { index };
    let pe_start = pv.pe_start * SECTOR_SIZE;
    let ba_size = pv.ba_size * SECTOR_SIZE;
    let alignment = pv.pe_align * SECTOR_SIZE;
    let alignment_offset = pv.pe_align_offset * SECTOR_SIZE;
    let disk_size = pv.size * SECTOR_SIZE;
    let mut mda_size = size_sectors.saturating_mul(SECTOR_SIZE);
    let page = opts.page_size;
    let min_size = 8 * page;

    let mda_start;
    if index == 0 {
        let mut limit = if pe_start_locked {
            pe_start
        } else if let Some(mda1) = pv.mdas.get(1) {
            mda1.offset
        } else {
            disk_size
        };
        if ba_size != 0 {
            limit = limit.checked_sub(ba_size).ok_or(no_space.clone())?;
        }
        if limit > disk_size || limit < LABEL_SCAN_SIZE {
            return Err(no_space);
        }
        let mut start = LABEL_SCAN_SIZE;
        if limit - start >= min_size {
            start = start.div_ceil(page) * page;
        }
        let fits = |size: u64| start.checked_add(size).is_some_and(|end| end <= limit);
        if alignment != 0 {
            let rem = start.saturating_add(mda_size) % alignment;
            if rem != 0 {
                let grown = mda_size.saturating_add(alignment - rem);
                if fits(grown) {
                    mda_size = grown;
                }
            }
        }
        if alignment != 0
            && alignment_offset != 0
            && start.saturating_add(mda_size).is_multiple_of(alignment)
        {
            let grown = mda_size.saturating_add(alignment_offset);
            if fits(grown) {
                mda_size = grown;
            }
        }
        if !fits(mda_size) {
            let room = limit.checked_sub(start).ok_or(no_space.clone())?;
            if !pe_start_locked && alignment != 0 && room > alignment.saturating_mul(2) {
                mda_size = room - alignment * 2;
                let rem = (start + mda_size) % alignment;
                if rem != 0 {
                    mda_size += alignment - rem;
                }
                if !fits(mda_size) {
                    return Err(no_space);
                }
            } else {
                mda_size = room;
            }
        }
        mda_start = start;
        if !pe_start_locked {
            let end_sectors = (mda_start + mda_size) / SECTOR_SIZE;
            if ba_size != 0 {
                pv.ba_start = end_sectors;
                pv.pe_start = pv.ba_start + pv.ba_size;
            } else {
                pv.pe_start = end_sectors;
            }
        }
    } else {
        let first_unallocated = if pv.pe_count != 0 {
            pv.pe_start
                .saturating_add(pv.pe_count.saturating_mul(pv.pe_size))
                .saturating_mul(SECTOR_SIZE)
        } else {
            0
        };
        let limit = if pe_start != 0 || pe_start_locked {
            if first_unallocated != 0 {
                first_unallocated
            } else {
                pe_start
            }
        } else {
            let mda0_end = pv
                .mdas
                .first()
                .map_or(LABEL_SCAN_SIZE, |m| m.offset + m.size);
            mda0_end + ba_size
        };
        if limit >= disk_size {
            return Err(no_space);
        }
        if mda_size > disk_size {
            mda_size = disk_size - limit;
        }
        let mut start = disk_size - mda_size;
        if start < limit {
            mda_size = disk_size - limit;
            start = disk_size - mda_size;
        } else if alignment != 0 && !start.is_multiple_of(alignment) {
            let grown = mda_size + start % alignment;
            if grown < disk_size && disk_size - grown >= limit {
                mda_size = grown;
                start = disk_size - grown;
            }
        }
        mda_start = start;
    }

    if mda_size != 0 {
        if mda_size < min_size {
            return Err(LayoutError::MetadataAreaTooSmall {
                size: mda_size,
                min: min_size,
            });
        }
        pv.mdas.push(DiskLocn::new(mda_start, mda_size));
    }
    Ok(())
}
