//! The label sector: the 32-byte label_header that marks a device as a PV, followed by the
//! pv_header. LVM2 accepts a label in any of sectors 0..3 only if it records its own sector
//! and its CRC (bytes +20..+511) matches; a copied or stale label is skipped, not trusted.

use super::bytes::{LeReader, LeWriter};
use super::pv_header::PvHeader;
use super::{
    HeaderError, LABEL_ID, LABEL_SCAN_SECTORS, LVM2_LABEL_TYPE, PV_HEADER_OFFSET, SECTOR_SIZE,
};
use crate::crc::lvm_crc;

/// Size of a label sector as written (`LABEL_SIZE`).
pub const LABEL_SIZE: usize = 512;
/// The CRC covers the label sector from this byte (the `offset` field) to its end.
const CRC_FROM: usize = 20;

/// A decoded structure together with the CRC its bytes actually have, so a diagnostic can
/// show both the stored and the expected checksum of a damaged header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<T> {
    pub value: T,
    pub computed_crc: u32,
}

/// The label_header at the start of the label sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label {
    /// `LABELONE` on a real label.
    pub id: [u8; 8],
    /// The sector this label claims to sit in.
    pub sector: u64,
    /// Stored CRC of bytes +20..+511; recomputed on serialisation.
    pub crc: u32,
    /// Offset of the pv_header from the label start (32).
    pub offset: u32,
    /// `LVM2 001`.
    pub label_type: [u8; 8],
}

impl Label {
    /// A label for `sector` as LVM2 writes it (CRC filled in on serialisation).
    pub fn new(sector: u64) -> Self {
        Self {
            id: *LABEL_ID,
            sector,
            crc: 0,
            offset: PV_HEADER_OFFSET,
            label_type: *LVM2_LABEL_TYPE,
        }
    }
}

/// A whole label sector: label_header plus pv_header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PvLabel {
    pub label: Label,
    pub pv_header: PvHeader,
}

impl PvLabel {
    /// A fresh label for `sector` carrying `pv_header`, its `crc` field already current.
    pub fn new(sector: u64, pv_header: PvHeader) -> Self {
        Self {
            label: Label::new(sector),
            pv_header,
        }
        .sealed()
    }

    /// A copy whose `crc` field is the CRC its bytes will have (unchanged if the pv_header
    /// cannot be serialised), for comparisons with a parsed label after changing fields.
    pub fn sealed(&self) -> PvLabel {
        let mut l = self.clone();
        if let Ok(bytes) = self.to_bytes() {
            l.label.crc = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        }
        l
    }

    /// Lays out the first 512 bytes of `sector_bytes` without judging them: any id, type,
    /// sector or CRC is kept as found (see `problems`). Fails only when the buffer is short or
    /// a pv_header list runs off the sector. Like `pvck`, the pv_header is read at +32
    /// whatever the offset field says.
    pub fn decode(sector_bytes: &[u8]) -> Result<Decoded<PvLabel>, HeaderError> {
        let sector = sector_bytes
            .get(..LABEL_SIZE)
            .ok_or(HeaderError::Truncated {
                what: "label sector",
                needed: LABEL_SIZE,
                got: sector_bytes.len(),
            })?;
        let r = LeReader::new(sector, "label sector");
        let label = Label {
            id: r.bytes::<8>(0)?,
            sector: r.u64(8)?,
            crc: r.u32(16)?,
            offset: r.u32(20)?,
            label_type: r.bytes::<8>(24)?,
        };
        let pv_header = PvHeader::decode_at(sector, PV_HEADER_OFFSET as usize)?;
        Ok(Decoded {
            value: PvLabel { label, pv_header },
            computed_crc: lvm_crc(&sector[CRC_FROM..]),
        })
    }

    /// Decodes and trusts the label sector that sits in sector `sector` of the device: every
    /// check LVM2 or `pvck` makes must pass, and the pv_header's areas must be sane.
    pub fn parse(sector_bytes: &[u8], sector: u64) -> Result<PvLabel, HeaderError> {
        let decoded = Self::decode(sector_bytes)?;
        if let Some(problem) = decoded.problems(sector).into_iter().next() {
            return Err(problem);
        }
        decoded.value.pv_header.validate(sector)?;
        Ok(decoded.value)
    }

    /// The 512 bytes LVM2 would write for this label: zero padding after the lists and a CRC
    /// computed over +20..+511 (the stored `crc` field is ignored).
    pub fn to_bytes(&self) -> Result<[u8; LABEL_SIZE], HeaderError> {
        if self.label.offset != PV_HEADER_OFFSET {
            return Err(HeaderError::UnexpectedPvHeaderOffset {
                offset: self.label.offset,
            });
        }
        let mut buf = [0u8; LABEL_SIZE];
        {
            let mut w = LeWriter::new(&mut buf, "label sector");
            w.put(0, &self.label.id)?;
            w.u64(8, self.label.sector)?;
            w.u32(20, self.label.offset)?;
            w.put(24, &self.label.label_type)?;
        }
        self.pv_header
            .encode_at(&mut buf, PV_HEADER_OFFSET as usize)?;
        let crc = lvm_crc(&buf[CRC_FROM..]);
        buf[16..20].copy_from_slice(&crc.to_le_bytes());
        Ok(buf)
    }
}

impl Decoded<PvLabel> {
    /// Everything wrong with a decoded label read from sector `expected_sector`, in the order
    /// `pvck` reports it: id, sector, CRC, pv_header offset, type, PV UUID.
    pub fn problems(&self, expected_sector: u64) -> Vec<HeaderError> {
        let decoded = self;
        let label = &decoded.value.label;
        let mut problems = Vec::new();
        if &label.id != LABEL_ID {
            problems.push(HeaderError::BadLabelId {
                sector: expected_sector,
            });
        }
        if label.sector != expected_sector {
            problems.push(HeaderError::LabelSectorMismatch {
                recorded: label.sector,
                actual: expected_sector,
            });
        }
        if label.crc != decoded.computed_crc {
            problems.push(HeaderError::LabelChecksum {
                sector: expected_sector,
                stored: label.crc,
                computed: decoded.computed_crc,
            });
        }
        if label.offset != PV_HEADER_OFFSET {
            problems.push(HeaderError::UnexpectedPvHeaderOffset {
                offset: label.offset,
            });
        }
        if &label.label_type != LVM2_LABEL_TYPE {
            problems.push(HeaderError::UnknownLabelType {
                found: label
                    .label_type
                    .iter()
                    .map(|&b| super::uuid::printable(b))
                    .collect(),
            });
        }
        if let Err(e) = decoded.value.pv_header.pv_uuid.validate() {
            problems.push(HeaderError::InvalidPvUuid(e));
        }
        problems
    }
}

/// Finds the PV label in the first sectors of `buf` (normally the first 2048 bytes of the
/// device) the way LVM2's scan does: the first sector among 0..3 that starts with LABELONE,
/// records its own sector number, has a good CRC and the `LVM2 001` type wins; mismatching
/// copies are skipped. The winner must then pass every `PvLabel::parse` check.
pub fn find_pv_label(buf: &[u8]) -> Result<PvLabel, HeaderError> {
    let mut first_rejection: Option<HeaderError> = None;
    for sector in 0..LABEL_SCAN_SECTORS {
        let start = (sector * SECTOR_SIZE) as usize;
        let Some(bytes) = buf.get(start..start + LABEL_SIZE) else {
            break;
        };
        if &bytes[..8] != LABEL_ID {
            continue;
        }
        let decoded = match PvLabel::decode(bytes) {
            Ok(d) => d,
            Err(e) => {
                first_rejection.get_or_insert(e);
                continue;
            }
        };
        let label = &decoded.value.label;
        let rejection = if label.sector != sector {
            Some(HeaderError::LabelSectorMismatch {
                recorded: label.sector,
                actual: sector,
            })
        } else if label.crc != decoded.computed_crc {
            Some(HeaderError::LabelChecksum {
                sector,
                stored: label.crc,
                computed: decoded.computed_crc,
            })
        } else if &label.label_type != LVM2_LABEL_TYPE {
            Some(HeaderError::UnknownLabelType {
                found: label
                    .label_type
                    .iter()
                    .map(|&b| super::uuid::printable(b))
                    .collect(),
            })
        } else {
            None
        };
        match rejection {
            Some(e) => {
                first_rejection.get_or_insert(e);
            }
            None => return PvLabel::parse(bytes, sector),
        }
    }
    Err(first_rejection.unwrap_or(HeaderError::NoLabel))
}
