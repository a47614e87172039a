//! `pvck --dump headers` output, line for line as LVM2 2.03 prints it, from decoded (not
//! necessarily valid) structures: the point is to show a damaged PV, so every field is
//! printed as found and each problem gets LVM2's `CHECK:` line at the place LVM2 puts it.

use std::fmt::Write as _;

use super::label::{Decoded, PvLabel};
use super::mda::{MdaHeader, RawLocn, RAW_LOCN_AT, RAW_LOCN_SIZE};
use super::pv_header::{DiskLocn, DISK_LOCN_SIZE, EXTENSION_FIXED, PV_HEADER_FIXED};
use super::uuid::{printable, UUID_LEN};
use super::{
    LABEL_ID, LVM2_LABEL_TYPE, MDA_HEADER_SIZE, MDA_MAGIC, MDA_VERSION, PV_HEADER_OFFSET,
    RAW_LOCN_IGNORED, SECTOR_SIZE,
};
use crate::crc::lvm_crc_chained;

/// First-mda offsets LVM2 creates (page size of the machine that ran pvcreate).
const EXPECTED_FIRST_MDA_OFFSETS: [u64; 3] = [4096, 8192, 65536];

/// One metadata area as read by the caller.
#[derive(Debug, Clone)]
pub struct MdaDumpInput<'a> {
    /// Absolute offset it was read from (the pv_header's `disk_locn` offset).
    pub start: u64,
    /// The decoded header, or `None` when it could not be read.
    pub header: Option<Decoded<MdaHeader>>,
    /// The area's bytes from its start (header included), used to read the committed text;
    /// `None` or too short and the text line becomes LVM2's read-failure `CHECK:`.
    pub area: Option<&'a [u8]>,
}

/// The dump and whether LVM2 would end it with "Found bad header or metadata values."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderDump {
    pub text: String,
    pub bad: bool,
}

struct Out {
    text: String,
    bad: bool,
}

impl Out {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, "  {args}");
    }
}

macro_rules! say {
    ($out:expr, $($arg:tt)*) => { $out.line(format_args!($($arg)*)) };
}

fn chars(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| printable(b)).collect()
}

/// LVM2 prints the magic byte by byte with `%x`: no zero padding.
fn hex_unpadded(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:x}");
        s
    })
}

/// The dump for the label read from sector `label_sector` and the metadata areas its
/// pv_header lists (looked up in `mdas` by start offset).
///
/// Like `pvck --dump headers [--labelsector N]`, the caller decodes whatever is in sector N
/// (default 1) rather than searching, and passes each listed area it could read; an area at
/// the end of the device comes from wherever the caller read it.
pub fn dump_headers(
    label_sector: u64,
    label: &Decoded<PvLabel>,
    mdas: &[MdaDumpInput<'_>],
) -> HeaderDump {
    let mut out = Out {
        text: String::new(),
        bad: false,
    };
    let lh_offset = label_sector.saturating_mul(SECTOR_SIZE);
    dump_label(&mut out, label_sector, lh_offset, label);

    let pvh = &label.value.pv_header;
    let Some(first) = pvh.metadata_areas.first() else {
        // LVM2 returns success here even when the label had problems.
        say!(out, "zero metadata copies");
        return HeaderDump {
            text: out.text,
            bad: false,
        };
    };
    // pvck keeps the first area and the last of the others.
    let second = pvh.metadata_areas.get(1..).and_then(|rest| rest.last());
    let c1 = dump_mda(&mut out, *first, mdas);
    if let Some(second) = second {
        let c2 = dump_mda(&mut out, *second, mdas);
        if c1 != 0 && c2 != 0 && c1 != c2 {
            say!(
                out,
                "CHECK: mdas have different raw_locn[0].checksum values"
            );
        }
    }
    HeaderDump {
        text: out.text,
        bad: out.bad,
    }
}

fn dump_label(out: &mut Out, label_sector: u64, lh_offset: u64, decoded: &Decoded<PvLabel>) {
    let l = &decoded.value.label;
    say!(out, "label_header at {lh_offset}");
    say!(out, "label_header.id {}", chars(&l.id));
    say!(out, "label_header.sector {}", l.sector);
    say!(out, "label_header.crc 0x{:x}", l.crc);
    say!(out, "label_header.offset {}", l.offset);
    say!(out, "label_header.type {}", chars(&l.label_type));
    let mut bad = false;
    if &l.id != LABEL_ID {
        say!(out, "CHECK: label_header.id expected LABELONE");
        bad = true;
    }
    if l.sector != label_sector {
        // LVM2 prints the expected sector through an int cast.
        say!(
            out,
            "CHECK: label_header.sector expected {}",
            label_sector as i32
        );
        bad = true;
    }
    if l.crc != decoded.computed_crc {
        say!(
            out,
            "CHECK: label_header.crc expected 0x{:x}",
            decoded.computed_crc
        );
        bad = true;
    }
    if l.offset != PV_HEADER_OFFSET {
        say!(out, "CHECK: label_header.offset expected 32");
        bad = true;
    }
    if &l.label_type != LVM2_LABEL_TYPE {
        say!(out, "CHECK: label_header.type expected LVM2 001");
        bad = true;
    }

    let pvh = &decoded.value.pv_header;
    let pvh_offset = lh_offset + u64::from(PV_HEADER_OFFSET);
    say!(out, "pv_header at {pvh_offset}");
    say!(out, "pv_header.pv_uuid {}", chars(pvh.pv_uuid.as_bytes()));
    say!(out, "pv_header.device_size {}", pvh.device_size);
    if !uuid_readable_as_c_string(decoded) {
        say!(out, "CHECK: pv_header.pv_uuid invalid format");
        bad = true;
    }

    let step = DISK_LOCN_SIZE as u64;
    let mut at = pvh_offset + PV_HEADER_FIXED as u64;
    let mut di = 0usize;
    for da in &pvh.data_areas {
        locn_lines(out, "pv_header", di, at, "location of data area", *da);
        di += 1;
        at += step;
    }
    locn_lines(
        out,
        "pv_header",
        di,
        at,
        "location list end",
        DiskLocn::default(),
    );
    di += 1;
    at += step;
    for (i, mda) in pvh.metadata_areas.iter().enumerate() {
        locn_lines(out, "pv_header", di, at, "location of metadata area", *mda);
        if i == 0 && !EXPECTED_FIRST_MDA_OFFSETS.contains(&mda.offset) {
            say!(
                out,
                "WARNING: pv_header.disk_locn[{di}].offset {} is unexpected # for first mda",
                mda.offset
            );
        }
        di += 1;
        at += step;
    }
    locn_lines(
        out,
        "pv_header",
        di,
        at,
        "location list end",
        DiskLocn::default(),
    );
    at += step;

    let (version, flags, bootloader) = match &pvh.extension {
        Some(e) => (e.version, e.flags, e.bootloader_areas.as_slice()),
        None => (0, 0, &[][..]),
    };
    say!(out, "pv_header_extension at {at}");
    say!(out, "pv_header_extension.version {version}");
    say!(out, "pv_header_extension.flags {flags}");
    at += EXTENSION_FIXED as u64;
    let mut bi = 0usize;
    for ba in bootloader {
        locn_lines(out, "pv_header_extension", bi, at, "bootloader area", *ba);
        bi += 1;
        at += step;
    }
    locn_lines(
        out,
        "pv_header_extension",
        bi,
        at,
        "location list end",
        DiskLocn::default(),
    );
    out.bad |= bad;
}

fn locn_lines(out: &mut Out, what: &str, i: usize, at: u64, comment: &str, l: DiskLocn) {
    say!(out, "{what}.disk_locn[{i}] at {at} # {comment}");
    say!(out, "{what}.disk_locn[{i}].offset {}", l.offset);
    say!(out, "{what}.disk_locn[{i}].size {}", l.size);
}

/// LVM2 checks the UUID by reading the field as a C string: dashes dropped, exactly 32
/// alphabet characters before the first NUL, which may lie past the 32 bytes (in the
/// device_size and the lists that follow) when they hold no zero byte.
fn uuid_readable_as_c_string(decoded: &Decoded<PvLabel>) -> bool {
    let pvh = &decoded.value.pv_header;
    let mut bytes: Vec<u8> = pvh.pv_uuid.as_bytes().to_vec();
    bytes.extend_from_slice(&pvh.device_size.to_le_bytes());
    for da in &pvh.data_areas {
        bytes.extend_from_slice(&da.offset.to_le_bytes());
        bytes.extend_from_slice(&da.size.to_le_bytes());
    }
    bytes.push(0);
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .take_while(|&b| b != 0)
        .filter(|&b| b != b'-')
        .collect();
    text.len() == UUID_LEN && super::uuid::PvUuid::from_bytes(&text).is_ok()
}

/// Dumps one metadata area; returns raw_locn[0]'s checksum as pvck tracks it (0 when
/// ignored or unreadable).
fn dump_mda(out: &mut Out, area: DiskLocn, mdas: &[MdaDumpInput<'_>]) -> u32 {
    let mda_offset = area.offset;
    let mda_size = area.size;
    let n = if mda_offset == 4096 { 1 } else { 2 };
    let input = mdas.iter().find(|m| m.start == mda_offset);
    let Some(decoded) = input.and_then(|m| m.header.as_ref()) else {
        say!(out, "CHECK: failed to read mda_header at {mda_offset}");
        out.bad = true;
        return 0;
    };
    let h = &decoded.value;
    say!(out, "mda_header_{n} at {mda_offset} # metadata area");
    say!(out, "mda_header_{n}.checksum 0x{:x}", h.checksum);
    say!(out, "mda_header_{n}.magic 0x{}", hex_unpadded(&h.magic));
    say!(out, "mda_header_{n}.version {}", h.version);
    say!(out, "mda_header_{n}.start {}", h.start);
    say!(out, "mda_header_{n}.size {}", h.size);
    let mut bad = false;
    if h.checksum != decoded.computed_crc {
        say!(
            out,
            "CHECK: mda_header_{n}.checksum expected 0x{:x}",
            decoded.computed_crc
        );
        bad = true;
    }
    if &h.magic != MDA_MAGIC {
        say!(
            out,
            "CHECK: mda_header_{n}.magic expected 0x{}",
            hex_unpadded(MDA_MAGIC)
        );
        bad = true;
    }
    if h.version != MDA_VERSION {
        say!(out, "CHECK: mda_header_{n}.version expected {MDA_VERSION}");
        bad = true;
    }
    if h.start != mda_offset {
        say!(
            out,
            "CHECK: mda_header_{n}.start does not match pv_header.disk_locn.offset {mda_offset}"
        );
        bad = true;
    }
    if h.size != mda_size {
        say!(
            out,
            "CHECK: mda_header_{n}.size does not match pv_header.disk_locn.size {mda_size}"
        );
        bad = true;
    }
    out.bad |= bad;

    let rlocn_at = |ri: usize| mda_offset.saturating_add((RAW_LOCN_AT + ri * RAW_LOCN_SIZE) as u64);
    let committed = raw_locn_lines(out, n, 0, rlocn_at(0), &h.raw_locns[0], mda_size);
    raw_locn_lines(out, n, 1, rlocn_at(1), &h.raw_locns[1], mda_size);

    let Some((meta_offset, meta_size, meta_checksum)) = committed else {
        return 0;
    };
    if meta_offset != 0 {
        let area_bytes = input.and_then(|m| m.area);
        dump_text(
            out,
            n,
            mda_offset,
            mda_size,
            meta_offset,
            meta_size,
            meta_checksum,
            area_bytes,
        );
    }
    meta_checksum
}

/// Prints one raw_locn; for a used slot returns `(offset, size clamped to the ring, checksum)`.
fn raw_locn_lines(
    out: &mut Out,
    n: u32,
    ri: usize,
    at: u64,
    l: &RawLocn,
    mda_size: u64,
) -> Option<(u64, u64, u32)> {
    let wrapped = l.wraps(mda_size);
    let slot = if ri == 0 { "commit" } else { "precommit" };
    say!(
        out,
        "mda_header_{n}.raw_locn[{ri}] at {at} # {slot}{}",
        if wrapped { " wrapped" } else { "" }
    );
    say!(out, "mda_header_{n}.raw_locn[{ri}].offset {}", l.offset);
    say!(out, "mda_header_{n}.raw_locn[{ri}].size {}", l.size);
    say!(
        out,
        "mda_header_{n}.raw_locn[{ri}].checksum 0x{:x}",
        l.checksum
    );
    if l.flags & RAW_LOCN_IGNORED != 0 {
        say!(
            out,
            "mda_header_{n}.raw_locn[{ri}].flags 0x{:x} # RAW_LOCN_IGNORED",
            l.flags
        );
    } else {
        say!(out, "mda_header_{n}.raw_locn[{ri}].flags 0x{:x}", l.flags);
    }
    if ri == 1 && l.offset != 0 {
        say!(
            out,
            "CHECK: mda_header_{n}.raw_locn[{ri}] for precommit not empty"
        );
    }
    if l.is_ignored() {
        return None;
    }
    let mut size = l.size;
    if let Some(ring) = mda_size.checked_sub(MDA_HEADER_SIZE) {
        if size > ring {
            say!(
                out,
                "CHECK: mda_header_{n}.raw_locn[{ri}].size larger than metadata area size"
            );
            size = ring;
        }
    }
    Some((l.offset, size, l.checksum))
}

#[allow(clippy::too_many_arguments)]
fn dump_text(
    out: &mut Out,
    n: u32,
    mda_offset: u64,
    mda_size: u64,
    meta_offset: u64,
    meta_size: u64,
    meta_checksum: u32,
    area: Option<&[u8]>,
) {
    let abs = mda_offset.saturating_add(meta_offset);
    let get = |from: u64, len: u64| -> Option<&[u8]> {
        let from = usize::try_from(from).ok()?;
        let end = from.checked_add(usize::try_from(len).ok()?)?;
        area?.get(from..end)
    };
    let end = u128::from(meta_offset) + u128::from(meta_size);
    let pieces = if end > u128::from(mda_size) {
        let wrap = u64::try_from(end - u128::from(mda_size)).unwrap_or(u64::MAX);
        let size_a = meta_size.saturating_sub(wrap);
        let part_a = (meta_offset <= mda_size)
            .then(|| get(meta_offset, size_a))
            .flatten();
        let Some(a) = part_a else {
            say!(out, "CHECK: failed to read metadata text at mda_header_{n}.raw_locn[0].offset {meta_offset} size {meta_size} part_a {abs} {size_a}");
            out.bad = true;
            return;
        };
        let Some(b) = get(MDA_HEADER_SIZE, wrap) else {
            let abs_b = mda_offset.saturating_add(MDA_HEADER_SIZE);
            say!(out, "CHECK: failed to read metadata text at mda_header_{n}.raw_locn[0].offset {meta_offset} size {meta_size} part_b {abs_b} {wrap}");
            out.bad = true;
            return;
        };
        [a, b]
    } else {
        let Some(a) = get(meta_offset, meta_size) else {
            say!(out, "CHECK: failed to read metadata text at mda_header_{n}.raw_locn[0].offset {meta_offset} size {meta_size}");
            out.bad = true;
            return;
        };
        [a, &[][..]]
    };
    let crc = lvm_crc_chained(&pieces);
    if crc != meta_checksum {
        say!(
            out,
            "CHECK: metadata text at {abs} crc does not match mda_header_{n}.raw_locn[0].checksum"
        );
        out.bad = true;
    }
    let text: Vec<u8> = pieces.concat();
    let summary = text_summary(&text);
    if summary.is_none() {
        say!(
            out,
            "CHECK: failed to parse metadata text at {abs} size {meta_size}"
        );
        out.bad = true;
    }
    let (name, seqno) = summary.unwrap_or_else(|| ("?".to_string(), 0));
    say!(
        out,
        "metadata text at {abs} crc 0x{crc:x} # vgname {name} seqno {seqno}"
    );
}

/// The VG name (first key of the text, opening a section) and the VG section's `seqno`,
/// found by a scan rather than a full parse: enough for a one-line summary of a text that
/// may be damaged. `None` when the text does not open with `NAME {`.
pub(crate) fn text_summary(text: &[u8]) -> Option<(String, u32)> {
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &text[start..];
    let name_len = rest
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'{' || b == b'=')
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let name = String::from_utf8_lossy(&rest[..name_len]).into_owned();
    let after = &rest[name_len..];
    let brace = after.iter().position(|b| !b.is_ascii_whitespace())?;
    if after[brace] != b'{' {
        return None;
    }
    Some((name, vg_seqno(&after[brace + 1..]).unwrap_or(0)))
}

/// `seqno = N` at the top level of the VG section whose body starts at `body`; strings and
/// comments are skipped so braces inside them do not confuse the depth.
fn vg_seqno(body: &[u8]) -> Option<u32> {
    let mut depth = 1u32;
    let mut i = 0usize;
    let mut line_start = true;
    while i < body.len() && depth > 0 {
        let b = body[i];
        match b {
            b'"' => {
                i += 1;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => {
                while i < body.len() && body[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b'\n' => {
                line_start = true;
                i += 1;
                continue;
            }
            _ if line_start && !b.is_ascii_whitespace() => {
                line_start = false;
                if depth == 1 {
                    if let Some(v) = seqno_assignment(&body[i..]) {
                        return Some(v);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn seqno_assignment(line: &[u8]) -> Option<u32> {
    let rest = line.strip_prefix(b"seqno")?;
    let rest = trim_start(rest);
    let rest = trim_start(rest.strip_prefix(b"=")?);
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_name_and_top_level_seqno() {
        let t =
            b"vg0 {\nid = \"x{\"\nseqno = 7\nlogical_volumes {\nlv {\nseqno = 99\n}\n}\n}\n# x\n\0";
        assert_eq!(text_summary(t), Some(("vg0".to_string(), 7)));
        assert_eq!(text_summary(b"garbage"), None);
        assert_eq!(text_summary(b"vg {\n}\n"), Some(("vg".to_string(), 0)));
    }

    #[test]
    fn magic_hex_has_no_padding() {
        assert_eq!(hex_unpadded(&[0x20, 0x05, 0xab]), "205ab");
    }
}
