//! Placement of metadata texts in the ring after the mda_header. The rules are LVM2's, so a
//! ring written by either tool stays readable and placeable by the other:
//!
//! * only the committed slot (raw_locn[0]) counts: an ignored or empty slot 0 puts the next
//!   text at 512, otherwise it goes right after the committed text's last byte, rounded up
//!   to 512 (the precommitted slot is never consulted: a text that was precommitted but not
//!   committed is simply overwritten next time);
//! * if that leaves less than 512 bytes before the end of the area, the text goes to 512;
//! * a text running past the end is split and continues at 512;
//! * at most `(size - 512) / 2 - 512` bytes per text, so the new and committed copies never
//!   collide; LVM2 still double-checks, and so does `place_next_text`.

use thiserror::Error;

use super::mda::{MdaHeader, RawLocn};
use super::MDA_HEADER_SIZE;
use crate::crc::lvm_crc_chained;

/// LVM2 aligns the start of every text to this many bytes (`MDA_ORIGINAL_ALIGNMENT`).
const TEXT_ALIGNMENT: u64 = 512;

/// Why a text cannot be placed in, or read from, a metadata ring.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RingError {
    #[error("metadata area of {size} bytes is too small to hold any metadata text")]
    AreaTooSmall { size: u64 },
    #[error("metadata text is empty")]
    EmptyText,
    #[error("metadata text needs {needs} bytes, area holds {holds}: recreate the PVs with a larger --metadatasize or reduce the VG")]
    TextTooLarge { needs: u64, holds: u64 },
    #[error("metadata text of {needs} bytes would overwrite the committed text ({used} bytes) in the {ring}-byte ring")]
    RingFull { needs: u64, used: u64, ring: u64 },
    #[error("metadata text at offset {offset} size {size} does not fit the {area_size}-byte metadata area")]
    TextOutOfArea {
        offset: u64,
        size: u64,
        area_size: u64,
    },
    #[error("metadata area buffer has {got} bytes, the text needs {needed}")]
    AreaTruncated { needed: u64, got: u64 },
    #[error("metadata text checksum is 0x{computed:x}, mda_header records 0x{stored:x}: damaged or uncommitted text")]
    TextChecksum { stored: u32, computed: u32 },
}

/// The largest text (including its NUL) an area of `area_size` bytes accepts: two copies
/// plus alignment slack must fit after the header.
pub fn max_text_size(area_size: u64) -> Result<u64, RingError> {
    area_size
        .checked_sub(MDA_HEADER_SIZE)
        .map(|ring| ring / 2)
        .and_then(|half| half.checked_sub(TEXT_ALIGNMENT))
        .filter(|&max| max > 0)
        .ok_or(RingError::AreaTooSmall { size: area_size })
}

/// One contiguous write of text bytes into the area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingPiece {
    /// Where the bytes go, relative to the area start.
    pub area_offset: u64,
    /// Which bytes of the text: `text_start .. text_start + len`.
    pub text_start: u64,
    pub len: u64,
}

/// Where LVM2 would put the next text in an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPlacement {
    /// The new raw_locn offset (area-relative).
    pub offset: u64,
    /// The new raw_locn size (text bytes including the NUL).
    pub size: u64,
    /// The text up to the end of the area (or all of it).
    pub first: RingPiece,
    /// The rest, at offset 512, when the text wraps.
    pub wrapped: Option<RingPiece>,
    /// Zero bytes LVM2 writes right after the last piece so the write ends on a 512-byte
    /// boundary of the device; keeps the space before the next text clean.
    pub zero_fill: u64,
}

impl TextPlacement {
    /// The one or two writes, in order.
    pub fn pieces(&self) -> impl Iterator<Item = RingPiece> {
        std::iter::once(self.first).chain(self.wrapped)
    }

    /// The raw_locn to precommit and commit for this text.
    pub fn raw_locn(&self, checksum: u32) -> RawLocn {
        RawLocn {
            offset: self.offset,
            size: self.size,
            checksum,
            flags: 0,
        }
    }
}

/// Where the next text of `text_size` bytes (NUL included) goes in the area described by
/// `header`, following LVM2's `_vg_write_raw` exactly, including its refusal when the new
/// copy would overlap the committed one.
pub fn place_next_text(header: &MdaHeader, text_size: u64) -> Result<TextPlacement, RingError> {
    let area = header.size;
    let max = max_text_size(area)?;
    if text_size == 0 {
        return Err(RingError::EmptyText);
    }
    if text_size > max {
        return Err(RingError::TextTooLarge {
            needs: text_size,
            holds: max,
        });
    }

    let committed = header.committed();
    let no_old = committed.is_ignored() || (committed.offset == 0 && committed.size == 0);
    let old = (!no_old).then_some(*committed);
    // Inclusive last byte of the committed text and how much of it wrapped; `u128` keeps
    // corrupt slot values from overflowing.
    let (old_start, old_last, old_wrap) = match old {
        None => (0u128, 0u128, 0u128),
        Some(l) => {
            let end = u128::from(l.offset) + u128::from(l.size);
            if end > u128::from(area) {
                let wrap = end - u128::from(area);
                (
                    u128::from(l.offset),
                    wrap + u128::from(MDA_HEADER_SIZE) - 1,
                    wrap,
                )
            } else {
                (u128::from(l.offset), end.saturating_sub(1), 0)
            }
        }
    };

    let new_start: u64 = match old {
        None => MDA_HEADER_SIZE,
        Some(_) => next_start_after(old_last, area),
    };
    let new_end = u128::from(new_start) + u128::from(text_size);
    let (new_last, new_wrap) = if new_end > u128::from(area) {
        let wrap = new_end - u128::from(area);
        (wrap + u128::from(MDA_HEADER_SIZE) - 1, wrap)
    } else {
        (new_end - 1, 0)
    };

    let new_start_w = u128::from(new_start);
    let fits = if new_wrap != 0 && old_wrap != 0 {
        false
    } else if new_wrap == 0 && old_wrap == 0 {
        (new_start_w > old_last && new_last > new_start_w)
            || (new_start_w < old_start && new_last < old_start)
    } else if old_wrap != 0 {
        old_last < new_start_w && new_start_w < new_last && new_last < old_start
    } else {
        new_last < old_start && old_start < old_last && old_last < new_start_w
    };
    if !fits {
        return Err(RingError::RingFull {
            needs: text_size,
            used: old.map_or(0, |l| l.size),
            ring: area - MDA_HEADER_SIZE,
        });
    }

    // Both are below `text_size` (a u64) here.
    let wrap = u64::try_from(new_wrap).unwrap_or(0);
    let first_len = text_size - wrap;
    let first = RingPiece {
        area_offset: new_start,
        text_start: 0,
        len: first_len,
    };
    let (wrapped, last_end) = if wrap == 0 {
        (None, new_start + text_size)
    } else {
        let piece = RingPiece {
            area_offset: MDA_HEADER_SIZE,
            text_start: first_len,
            len: wrap,
        };
        (Some(piece), MDA_HEADER_SIZE + wrap)
    };
    let over = header.start.wrapping_add(last_end) % TEXT_ALIGNMENT;
    let zero_fill = if over == 0 { 0 } else { TEXT_ALIGNMENT - over };
    Ok(TextPlacement {
        offset: new_start,
        size: text_size,
        first,
        wrapped,
        zero_fill,
    })
}

/// LVM2's `_next_rlocn_offset` for an existing committed text ending at `old_last`.
fn next_start_after(old_last: u128, area: u64) -> u64 {
    let area = u128::from(area);
    let align = u128::from(TEXT_ALIGNMENT);
    if area.saturating_sub(old_last) < align {
        return MDA_HEADER_SIZE;
    }
    let next = old_last + 1;
    let start = next.div_ceil(align) * align;
    if start > area - align {
        return MDA_HEADER_SIZE;
    }
    // `start <= area - 512`, and `area` came from a u64.
    u64::try_from(start).unwrap_or(MDA_HEADER_SIZE)
}

/// A metadata text as stored in the ring: exactly `raw_locn.size` bytes, trailing NUL
/// included, with the CRC those bytes really have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataText {
    bytes: Vec<u8>,
    computed_crc: u32,
}

impl MetadataText {
    /// The stored bytes, NUL included (what the CRC covers).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The text for the parser: the stored bytes up to the first NUL.
    pub fn text(&self) -> &[u8] {
        let end = self
            .bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.bytes.len());
        &self.bytes[..end]
    }

    pub fn computed_crc(&self) -> u32 {
        self.computed_crc
    }
}

/// Reads the text `locn` points at from `area` (the area's bytes from its start, header
/// included; at least up to the text's end), joining the two halves of a wrapped text.
/// The CRC is computed, not checked: see `read_text`.
pub fn read_text_unverified(
    area: &[u8],
    area_size: u64,
    locn: &RawLocn,
) -> Result<MetadataText, RingError> {
    let out_of_area = RingError::TextOutOfArea {
        offset: locn.offset,
        size: locn.size,
        area_size,
    };
    let ring = area_size
        .checked_sub(MDA_HEADER_SIZE)
        .ok_or(RingError::AreaTooSmall { size: area_size })?;
    if locn.offset < MDA_HEADER_SIZE || locn.offset >= area_size || locn.size > ring {
        return Err(out_of_area);
    }
    let (first_len, wrap) = if locn.wraps(area_size) {
        let first = area_size - locn.offset;
        (first, locn.size - first)
    } else {
        (locn.size, 0)
    };
    let slice = |from: u64, len: u64| -> Result<&[u8], RingError> {
        let end = from + len;
        usize::try_from(from)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(f, e)| area.get(f..e))
            .ok_or(RingError::AreaTruncated {
                needed: end,
                got: area.len() as u64,
            })
    };
    let a = slice(locn.offset, first_len)?;
    let b = slice(MDA_HEADER_SIZE, wrap)?;
    let mut bytes = Vec::with_capacity(a.len() + b.len());
    bytes.extend_from_slice(a);
    bytes.extend_from_slice(b);
    Ok(MetadataText {
        computed_crc: lvm_crc_chained(&[a, b]),
        bytes,
    })
}

/// Reads the text `locn` points at and checks it against the slot's checksum.
pub fn read_text(area: &[u8], area_size: u64, locn: &RawLocn) -> Result<MetadataText, RingError> {
    let text = read_text_unverified(area, area_size, locn)?;
    if text.computed_crc != locn.checksum {
        return Err(RingError::TextChecksum {
            stored: locn.checksum,
            computed: text.computed_crc,
        });
    }
    Ok(text)
}

impl MdaHeader {
    /// The committed text of this area, checked, or `None` when the area is ignored or holds
    /// no text. `area` is the area's bytes from its start.
    pub fn committed_text(&self, area: &[u8]) -> Result<Option<MetadataText>, RingError> {
        let locn = self.committed();
        if locn.is_ignored() || locn.is_empty() {
            return Ok(None);
        }
        read_text(area, self.size, locn).map(Some)
    }
}
