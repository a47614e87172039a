//! The mda_header at the start of each metadata area: where the committed (slot 0) and
//! precommitted (slot 1) texts sit in the ring. Also the pure slot updates of LVM2's
//! write -> precommit -> commit protocol, so the store only has to write the 512 bytes.

use super::bytes::LeReader;
use super::label::Decoded;
use super::{HeaderError, MDA_HEADER_SIZE, MDA_MAGIC, MDA_VERSION, RAW_LOCN_IGNORED};
use crate::crc::lvm_crc;

const HEADER_LEN: usize = MDA_HEADER_SIZE as usize;
/// Offset of raw_locn[0] in the mda_header; each raw_locn is 24 bytes.
pub(crate) const RAW_LOCN_AT: usize = 40;
pub(crate) const RAW_LOCN_SIZE: usize = 24;
/// Bytes after the two slots (their zero terminator and padding) up to the end of the header.
pub const MDA_TRAILING_LEN: usize = HEADER_LEN - TRAILING_AT;
const TRAILING_AT: usize = RAW_LOCN_AT + 2 * RAW_LOCN_SIZE;

/// Location of one metadata text inside the area (offset relative to the area start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawLocn {
    /// Bytes from the area start; 0 = no text.
    pub offset: u64,
    /// Text length including its trailing NUL.
    pub size: u64,
    /// LVM CRC of those `size` bytes (chained across the wrap).
    pub checksum: u32,
    /// Bit 0 = `RAW_LOCN_IGNORED`.
    pub flags: u32,
}

impl RawLocn {
    pub fn is_ignored(&self) -> bool {
        self.flags & RAW_LOCN_IGNORED != 0
    }

    /// No text recorded. LVM2's readers treat offset 0 as "none" whatever the size says.
    pub fn is_empty(&self) -> bool {
        self.offset == 0
    }

    /// True when the text runs past the end of an area of `area_size` bytes and continues at
    /// offset 512.
    pub fn wraps(&self, area_size: u64) -> bool {
        u128::from(self.offset) + u128::from(self.size) > u128::from(area_size)
    }

    fn set_ignored(&mut self, ignored: bool) {
        if ignored {
            self.flags |= RAW_LOCN_IGNORED;
        } else {
            self.flags &= !RAW_LOCN_IGNORED;
        }
    }

    fn clear_location(&mut self) {
        self.offset = 0;
        self.size = 0;
        self.checksum = 0;
    }
}

/// The 512-byte header of a metadata area.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MdaHeader {
    /// Stored CRC of bytes +4..+511; recomputed on serialisation.
    pub checksum: u32,
    pub magic: [u8; 16],
    pub version: u32,
    /// Absolute byte offset of this header on the device.
    pub start: u64,
    /// Size of the whole area, header included.
    pub size: u64,
    /// [0] = committed text, [1] = precommitted text (empty outside a command).
    pub raw_locns: [RawLocn; 2],
    /// Whatever follows the slots when it is not all zero. LVM2 never writes anything there
    /// but carries it through its read-modify-write of the header (the CRC covers it), so
    /// it is kept to stay byte-identical.
    pub trailing: Option<Box<[u8; MDA_TRAILING_LEN]>>,
}

impl MdaHeader {
    /// The header pvcreate writes for a new area: no text; slot 0 flagged if the area is
    /// created ignored. Like every header this module builds, its `checksum` is current.
    pub fn new(start: u64, size: u64, ignored: bool) -> Self {
        let mut h = Self {
            checksum: 0,
            magic: *MDA_MAGIC,
            version: MDA_VERSION,
            start,
            size,
            raw_locns: [RawLocn::default(); 2],
            trailing: None,
        };
        h.raw_locns[0].set_ignored(ignored);
        h.sealed()
    }

    /// A copy whose `checksum` field is the CRC its bytes will have, for comparisons with a
    /// parsed header after changing fields by hand.
    pub fn sealed(&self) -> MdaHeader {
        let bytes = self.to_bytes();
        let mut h = self.clone();
        h.checksum = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        h
    }

    pub fn committed(&self) -> &RawLocn {
        &self.raw_locns[0]
    }

    pub fn precommitted(&self) -> &RawLocn {
        &self.raw_locns[1]
    }

    /// Whether this area is kept but unused (`pvchange --metadataignore y`); LVM2 reads the
    /// flag from slot 0 only.
    pub fn is_ignored(&self) -> bool {
        self.raw_locns[0].is_ignored()
    }

    /// Lays out the first 512 bytes without judging them (see `problems`).
    pub fn decode(bytes: &[u8]) -> Result<Decoded<MdaHeader>, HeaderError> {
        let hdr = bytes.get(..HEADER_LEN).ok_or(HeaderError::Truncated {
            what: "mda_header",
            needed: HEADER_LEN,
            got: bytes.len(),
        })?;
        let r = LeReader::new(hdr, "mda_header");
        let slot = |i: usize| -> Result<RawLocn, HeaderError> {
            let at = RAW_LOCN_AT + i * RAW_LOCN_SIZE;
            Ok(RawLocn {
                offset: r.u64(at)?,
                size: r.u64(at + 8)?,
                checksum: r.u32(at + 16)?,
                flags: r.u32(at + 20)?,
            })
        };
        let value = MdaHeader {
            checksum: r.u32(0)?,
            magic: r.bytes::<16>(4)?,
            version: r.u32(20)?,
            start: r.u64(24)?,
            size: r.u64(32)?,
            raw_locns: [slot(0)?, slot(1)?],
            trailing: Some(Box::new(r.bytes::<MDA_TRAILING_LEN>(TRAILING_AT)?))
                .filter(|t| t.iter().any(|&b| b != 0)),
        };
        Ok(Decoded {
            value,
            computed_crc: lvm_crc(&hdr[4..]),
        })
    }

    /// Decodes and trusts an mda_header: CRC, magic and version as LVM2 checks them, plus a
    /// size that leaves room for text and slots that stay inside the area (so ring reads
    /// cannot go astray). The caller compares `start` with where it read the header from
    /// (`check_location`).
    pub fn parse(bytes: &[u8]) -> Result<MdaHeader, HeaderError> {
        let decoded = Self::decode(bytes)?;
        if let Some(problem) = decoded.problems().into_iter().next() {
            return Err(problem);
        }
        let h = decoded.value;
        if h.size <= MDA_HEADER_SIZE {
            return Err(HeaderError::MdaTooSmall { size: h.size });
        }
        for (slot, locn) in h.raw_locns.iter().enumerate() {
            let bad = !locn.is_empty()
                && (locn.offset < MDA_HEADER_SIZE
                    || locn.offset >= h.size
                    || locn.size > h.size - MDA_HEADER_SIZE);
            if bad {
                return Err(HeaderError::RawLocnOutOfArea {
                    slot,
                    offset: locn.offset,
                    size: locn.size,
                    area_size: h.size,
                });
            }
        }
        Ok(h)
    }

    /// Checks the header against the pv_header's `{offset, size}` for this area. LVM2 refuses
    /// a header whose start differs; a different size is only reported by `pvck`.
    pub fn check_location(&self, start: u64, size: u64) -> Result<(), HeaderError> {
        if self.start != start {
            return Err(HeaderError::MdaStartMismatch {
                recorded: self.start,
                expected: start,
            });
        }
        if self.size != size {
            return Err(HeaderError::MdaSizeMismatch {
                recorded: self.size,
                expected: size,
            });
        }
        Ok(())
    }

    /// The 512 bytes LVM2 writes: fields, two slots, zeros after them, CRC over +4..+511.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut buf = [0u8; HEADER_LEN];
        let mut put = |at: usize, data: &[u8]| buf[at..at + data.len()].copy_from_slice(data);
        // Fixed positions inside 512 bytes: nothing here depends on the values written.
        put(4, &self.magic);
        put(20, &self.version.to_le_bytes());
        put(24, &self.start.to_le_bytes());
        put(32, &self.size.to_le_bytes());
        for (i, l) in self.raw_locns.iter().enumerate() {
            let at = RAW_LOCN_AT + i * RAW_LOCN_SIZE;
            put(at, &l.offset.to_le_bytes());
            put(at + 8, &l.size.to_le_bytes());
            put(at + 16, &l.checksum.to_le_bytes());
            put(at + 20, &l.flags.to_le_bytes());
        }
        if let Some(trailing) = &self.trailing {
            put(TRAILING_AT, &trailing[..]);
        }
        let crc = lvm_crc(&buf[4..]);
        buf[..4].copy_from_slice(&crc.to_le_bytes());
        buf
    }

    /// LVM2's slot update for every header write of a command: when slot 0 is ignored or
    /// empty both slots lose their locations first, then `apply` fills them, then slot 0's
    /// ignored flag is set to `ignored`.
    fn updated(&self, ignored: bool, apply: impl FnOnce(&mut [RawLocn; 2])) -> MdaHeader {
        let mut h = self.clone();
        let [slot0, slot1] = &mut h.raw_locns;
        if slot0.is_ignored() || (slot0.offset == 0 && slot0.size == 0) {
            slot0.clear_location();
            slot1.clear_location();
        }
        apply(&mut h.raw_locns);
        h.raw_locns[0].set_ignored(ignored);
        h.sealed()
    }

    /// The header after precommitting `new` (its offset, size and checksum go to slot 1;
    /// slot 0 keeps the old text until commit).
    pub fn with_precommitted(&self, new: &RawLocn, ignored: bool) -> MdaHeader {
        self.updated(ignored, |s| {
            s[1].offset = new.offset;
            s[1].size = new.size;
            s[1].checksum = new.checksum;
        })
    }

    /// The header after committing `new`: slot 0 points at it, slot 1 is cleared.
    pub fn with_committed(&self, new: &RawLocn, ignored: bool) -> MdaHeader {
        self.updated(ignored, |s| {
            s[0].offset = new.offset;
            s[0].size = new.size;
            s[0].checksum = new.checksum;
            s[1].clear_location();
        })
    }

    /// The header after a revert: the precommitted slot is cleared, slot 0 is kept.
    pub fn with_reverted(&self, ignored: bool) -> MdaHeader {
        self.updated(ignored, |s| s[1].clear_location())
    }

    /// The header vgremove leaves: both slots cleared (the ring keeps the old texts).
    pub fn with_removed(&self, ignored: bool) -> MdaHeader {
        let mut h = self.clone();
        h.raw_locns[0].clear_location();
        h.raw_locns[1].clear_location();
        h.raw_locns[0].set_ignored(ignored);
        h.sealed()
    }
}

impl Decoded<MdaHeader> {
    /// What LVM2 refuses in a header, in `pvck`'s order: CRC, magic, version.
    pub fn problems(&self) -> Vec<HeaderError> {
        let h = &self.value;
        let mut problems = Vec::new();
        if h.checksum != self.computed_crc {
            problems.push(HeaderError::MdaChecksum {
                stored: h.checksum,
                computed: self.computed_crc,
            });
        }
        if &h.magic != MDA_MAGIC {
            problems.push(HeaderError::MdaMagic);
        }
        if h.version != MDA_VERSION {
            problems.push(HeaderError::MdaVersion { found: h.version });
        }
        problems
    }
}
