//! Scanning: which candidate devices are PVs, what their metadata areas hold, and which copy of
//! each VG's metadata is the one to trust (the highest seqno whose checksum verifies). Reads only
//! label sectors, mda headers and the committed texts - never a data area.

use super::device::{BlockDevice, DiskDevice};
use super::devices::Candidate;
use metadata_format::crc::lvm_crc_chained;
use metadata_format::header::{
    find_pv_label, MdaHeader, PvLabel, RawLocn, LABEL_SCAN_SIZE, MDA_HEADER_SIZE,
};
use metadata_format::text::{parse_metadata, Id, Metadata};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes read from each device's start in one request: the label sectors and, for the usual
/// layout, the first mda header right after them (4096..4608); a text that starts within it
/// is taken from it too. The committed text is read on its own, exactly: a ring's text moves
/// on with every commit, so it is rarely near the start. (LVM2 reads 128 KiB first; copying
/// 120 KiB more per device through a loop device cost a scan of 64 PVs ~1 ms.)
const HEAD_READ: u64 = 8 * 1024;

/// A committed metadata text as found in one area.
#[derive(Debug, Clone)]
pub struct CommittedText {
    pub vg_name: String,
    pub vg_id: Option<Id>,
    pub seqno: u32,
    pub checksum: u32,
    /// The text without its trailing NUL, shared by every area holding the same copy.
    pub text: Arc<Vec<u8>>,
}

/// One metadata area of a scanned PV.
#[derive(Debug, Clone)]
pub struct MdaCopy {
    pub start: u64,
    pub size: u64,
    /// The header, when it could be read and its checksum and magic are good.
    pub header: Option<MdaHeader>,
    /// The committed text, when there is one and it verifies.
    pub text: Option<CommittedText>,
    /// What is wrong with this area, if anything (bad header, bad text checksum...).
    pub problem: Option<String>,
}

impl MdaCopy {
    pub fn is_ignored(&self) -> bool {
        self.header.as_ref().is_some_and(|h| h.is_ignored())
    }
}

#[derive(Debug, Clone)]
pub struct ScannedPv {
    pub path: PathBuf,
    pub dev_size: u64,
    pub label: PvLabel,
    pub mdas: Vec<MdaCopy>,
}

impl ScannedPv {
    pub fn id(&self) -> Id {
        Id::from_bytes(*self.label.pv_header.pv_uuid.as_bytes())
            .unwrap_or_else(|| Id::from_bytes([b'0'; 32]).expect("zeros are a valid id"))
    }

    pub fn in_vg_flag(&self) -> bool {
        self.label.pv_header.in_vg()
    }
}

/// Everything a scan found.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    pub pvs: Vec<ScannedPv>,
    /// Devices that were looked at and are not PVs (for pvcreate and `pvs -a`).
    pub others: Vec<Candidate>,
    /// Problems worth a warning (bad headers, checksum errors, duplicate PVs).
    pub warnings: Vec<String>,
    /// Devices left out because an earlier device has the same PV UUID: (the PV's index in
    /// `pvs`, the other device). Writes to such a PV's VG are refused, as LVM2 refuses them.
    pub duplicates: Vec<(usize, PathBuf)>,
}

/// A VG assembled from the best copy of its metadata.
#[derive(Debug, Clone)]
pub struct FoundVg {
    pub metadata: Metadata,
    pub checksum: u32,
    /// For each PV of the metadata (same order): its index in `Scan::pvs`, or None if missing.
    pub pv_devices: Vec<Option<usize>>,
    /// Areas whose committed copy is not the chosen one (older, damaged): (pv index, mda index).
    pub stale: Vec<(usize, usize)>,
}

impl FoundVg {
    pub fn missing_pvs(&self) -> impl Iterator<Item = &metadata_format::text::PhysicalVolume> {
        self.metadata
            .vg
            .pvs
            .iter()
            .zip(&self.pv_devices)
            .filter(|(_, d)| d.is_none())
            .map(|(pv, _)| pv)
    }

    pub fn is_partial(&self) -> bool {
        self.pv_devices.iter().any(Option::is_none)
    }
}

/// One distinct copy of a VG's text and the (pv, mda) places that hold it.
type CopyGroup = (Arc<Vec<u8>>, Option<Id>, Vec<(usize, usize)>);

/// Reads one candidate device; `Ok(None)` when it carries no PV label.
pub fn scan_device(path: &Path) -> std::io::Result<Option<ScannedPv>> {
    scan_device_with(path, Some(&TextCache::default()))
}

/// [`scan_device`] sharing the texts already read in this scan (`cache`); with no cache the
/// areas' headers are read but not their texts (see [`scan_labels`]).
fn scan_device_with(path: &Path, cache: Option<&TextCache>) -> std::io::Result<Option<ScannedPv>> {
    let dev = DiskDevice::open_read(path)?;
    // The head is lent from a per-thread buffer: only the label and the area headers found
    // in it are copied out; the texts are read after it is given back.
    let found = dev.with_read(0, HEAD_READ.min(dev.size()) as usize, |head| {
        if head.len() < LABEL_SCAN_SIZE as usize {
            return None;
        }
        let label = find_pv_label(head).ok()?;
        let headers: Vec<Option<Vec<u8>>> = label
            .pv_header
            .metadata_areas
            .iter()
            .map(|area| {
                let end = area.offset.checked_add(MDA_HEADER_SIZE)?;
                (end <= head.len() as u64)
                    .then(|| head[area.offset as usize..end as usize].to_vec())
            })
            .collect();
        Some((label, headers))
    })?;
    let Some((label, headers)) = found else {
        return Ok(None);
    };
    let mdas = label
        .pv_header
        .metadata_areas
        .iter()
        .zip(headers)
        .map(|(area, header)| read_mda(&dev, header, area.offset, area.size, cache))
        .collect();
    Ok(Some(ScannedPv {
        path: path.to_path_buf(),
        dev_size: dev.size(),
        label,
        mdas,
    }))
}

fn read_mda(
    dev: &DiskDevice,
    in_head: Option<Vec<u8>>,
    start: u64,
    size: u64,
    cache: Option<&TextCache>,
) -> MdaCopy {
    let mut copy = MdaCopy {
        start,
        size,
        header: None,
        text: None,
        problem: None,
    };
    let bytes = match in_head {
        Some(b) => Ok(b),
        None => dev.read_at(start, MDA_HEADER_SIZE as usize),
    };
    let header = match bytes.map(|b| MdaHeader::parse(&b)) {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            copy.problem = Some(format!("metadata area at {start}: {e}"));
            return copy;
        }
        Err(e) => {
            copy.problem = Some(format!("cannot read metadata area at {start}: {e}"));
            return copy;
        }
    };
    if header.start != start || header.size != size {
        copy.problem = Some(format!(
            "metadata area at {start}: header says start {} size {}, label says size {size}",
            header.start, header.size
        ));
        return copy;
    }
    let locn = *header.committed();
    let has_text = !header.is_ignored() && !locn.is_empty();
    copy.header = Some(header);
    let Some(cache) = cache else {
        return copy;
    };
    if has_text {
        match read_committed(dev, start, size, &locn, cache) {
            Ok(text) => copy.text = Some(text),
            Err(problem) => copy.problem = Some(format!("metadata area at {start}: {problem}")),
        }
    }
    copy
}

/// A text read whole and verified in this scan, for the copies that follow.
struct CachedText {
    text: CommittedText,
    /// The bytes after the text up to the committed size (its NUL, and any padding).
    tail: Vec<u8>,
}

enum Slot {
    /// A thread is reading this text whole; the others wait for it.
    Reading,
    Done(Arc<CachedText>),
    /// The copy read did not verify (or its reader stopped): the next reader tries its own.
    Failed,
}

/// The texts a scan has read, by (checksum, size) from the area headers: a VG whose text is
/// on many PVs (one copy per PV, each as large as the VG's metadata) is read whole once, and
/// every other copy is compared with it a chunk at a time as it is read - every copy is still
/// read and checked, but memory holds one, not one per PV (64 PVs of a 30,000-LV VG: 604 MB
/// of texts before).
#[derive(Default)]
struct TextCache {
    slots: std::sync::Mutex<Vec<((u32, u64), Slot)>>,
    changed: std::sync::Condvar,
}

/// What a reader does with one committed text.
enum Claim<'a> {
    /// Compare the copy with this verified text.
    Compare(Arc<CachedText>),
    /// Read it whole; `fill` it for the others (dropped unfilled, it marks the slot failed and
    /// the next reader of the text claims it).
    Read(Filling<'a>),
}

struct Filling<'a> {
    cache: &'a TextCache,
    key: (u32, u64),
    done: bool,
}

impl Filling<'_> {
    fn fill(mut self, entry: Arc<CachedText>) {
        self.set(Slot::Done(entry));
        self.done = true;
    }

    fn set(&self, slot: Slot) {
        let mut slots = self
            .cache
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = slots.iter_mut().find(|(k, _)| *k == self.key) {
            s.1 = slot;
        }
        self.cache.changed.notify_all();
    }
}

impl Drop for Filling<'_> {
    fn drop(&mut self) {
        // A reader that stopped early (an error, a panic) must not leave others waiting.
        if !self.done {
            self.set(Slot::Failed);
        }
    }
}

impl TextCache {
    fn claim(&self, key: (u32, u64)) -> Claim<'_> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let at = slots.iter().position(|(k, _)| *k == key);
            match at.map(|i| &slots[i].1) {
                Some(Slot::Done(t)) => return Claim::Compare(Arc::clone(t)),
                // Nobody has it, or the last reader's copy was damaged: this reader reads
                // its own whole and, if it verifies, holds it for the others.
                None | Some(Slot::Failed) => {
                    match at {
                        Some(i) => slots[i].1 = Slot::Reading,
                        None => slots.push((key, Slot::Reading)),
                    }
                    return Claim::Read(Filling {
                        cache: self,
                        key,
                        done: false,
                    });
                }
                Some(Slot::Reading) => {
                    slots = self
                        .changed
                        .wait(slots)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            }
        }
    }
}

/// Bytes compared per read when a copy is checked against a text already read.
const COMPARE_CHUNK: u64 = 64 * 1024;

/// Whether the committed bytes at `pieces` (area offsets and lengths, in order) are exactly
/// `cached`'s text followed by its tail.
fn same_as_cached(
    dev: &DiskDevice,
    area_start: u64,
    pieces: &[(u64, u64)],
    cached: &CachedText,
) -> bool {
    let text = cached.text.text.as_slice();
    let want = |pos: usize, len: usize| -> (&[u8], &[u8]) {
        let a = &text[pos.min(text.len())..(pos + len).min(text.len())];
        let from = pos.saturating_sub(text.len());
        let to = (pos + len)
            .saturating_sub(text.len())
            .min(cached.tail.len());
        (a, cached.tail.get(from..to).unwrap_or(&[]))
    };
    let mut pos = 0usize;
    for &(off, len) in pieces {
        let mut done = 0;
        while done < len {
            let n = (len - done).min(COMPARE_CHUNK);
            let same = dev.with_read(area_start + off + done, n as usize, |got| {
                let (a, b) = want(pos, n as usize);
                a.len() + b.len() == got.len() && got[..a.len()] == *a && got[a.len()..] == *b
            });
            if !matches!(same, Ok(true)) {
                return false;
            }
            done += n;
            pos += n as usize;
        }
    }
    true
}

/// Reads the text `locn` points at, joining a wrapped text, and checks its checksum; a copy
/// of a text this scan already read is compared with it instead of being kept again.
fn read_committed(
    dev: &DiskDevice,
    area_start: u64,
    area_size: u64,
    locn: &RawLocn,
    cache: &TextCache,
) -> Result<CommittedText, String> {
    let ring = area_size.saturating_sub(MDA_HEADER_SIZE);
    if locn.offset < MDA_HEADER_SIZE || locn.offset >= area_size || locn.size > ring {
        return Err(format!(
            "committed text {{offset {}, size {}}} lies outside the {area_size}-byte area",
            locn.offset, locn.size
        ));
    }
    let first_len = locn.size.min(area_size - locn.offset);
    let wrapped = locn.size - first_len;
    let pieces = [(locn.offset, first_len), (MDA_HEADER_SIZE, wrapped)];
    let pieces = &pieces[..if wrapped > 0 { 2 } else { 1 }];
    let filling = match cache.claim((locn.checksum, locn.size)) {
        Claim::Compare(cached) => {
            if same_as_cached(dev, area_start, pieces, &cached) {
                return Ok(cached.text.clone());
            }
            // Different bytes under the same checksum and size: a damaged copy (or another
            // text); read and check it on its own.
            None
        }
        Claim::Read(f) => Some(f),
    };
    let read = |off: u64, len: u64| {
        dev.read_owned(area_start + off, len as usize)
            .map_err(|e| format!("cannot read the text: {e}"))
    };
    let mut bytes = read(locn.offset, first_len)?;
    if wrapped > 0 {
        bytes.extend(read(MDA_HEADER_SIZE, wrapped)?);
    }
    let crc = lvm_crc_chained(&[&bytes]);
    if crc != locn.checksum {
        return Err(format!(
            "checksum error in the committed text (stored 0x{:08x}, computed 0x{crc:08x})",
            locn.checksum
        ));
    }
    // The text ends at its first NUL (a byte-at-a-time search over a 10 MB text cost as
    // much as checking its CRC).
    let end = memchr::memchr(0, &bytes).unwrap_or(bytes.len());
    let tail = bytes[end..].to_vec();
    bytes.truncate(end);
    let (vg_name, vg_id, seqno) = sniff(&bytes).ok_or("the committed text has no VG header")?;
    let text = CommittedText {
        vg_name,
        vg_id,
        seqno,
        checksum: locn.checksum,
        text: Arc::new(bytes),
    };
    if let Some(f) = filling {
        f.fill(Arc::new(CachedText {
            text: text.clone(),
            tail,
        }));
    }
    Ok(text)
}

/// The VG name, id and seqno from the first lines of a text, without parsing all of it.
fn sniff(text: &[u8]) -> Option<(String, Option<Id>, u32)> {
    let head = &text[..text.len().min(4096)];
    let head = std::str::from_utf8(head)
        .unwrap_or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default());
    let mut lines = head.lines();
    let name = lines.next()?.strip_suffix(" {")?.trim().to_string();
    let mut id = None;
    let mut seqno = None;
    for line in lines.take(8) {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("id = \"") {
            id = v.strip_suffix('"').and_then(Id::parse);
        } else if let Some(v) = line.strip_prefix("seqno = ") {
            seqno = v.parse().ok();
        }
    }
    Some((name, id, seqno?))
}

/// Devices read at once by a scan: enough to hide each device's latency behind the others'
/// (LVM2 submits all its scan reads together through async I/O for the same reason), few
/// enough that starting them stays cheap (16 threads cost a 64-PV scan ~1.5 ms of CPU more
/// than 4 on the benchmark's loop devices; 8 is between).
const SCAN_THREADS: usize = 8;

/// Reads every candidate, several at a time when the process has more than one CPU;
/// results in candidate order.
fn read_all(candidates: &[Candidate], texts: bool) -> Vec<std::io::Result<Option<ScannedPv>>> {
    let threads = if candidates.len() > 1 && metadata_format::more_than_one_cpu() {
        candidates.len().min(SCAN_THREADS)
    } else {
        1
    };
    if threads <= 1 {
        let cache = TextCache::default();
        let cache = texts.then_some(&cache);
        return candidates
            .iter()
            .map(|c| scan_device_with(&c.path, cache))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let cache = TextCache::default();
    let cache = texts.then_some(&cache);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(cand) = candidates.get(i) else {
                break;
            };
            done.push((i, scan_device_with(&cand.path, cache)));
        }
        done
    };
    // The calling thread is one of the readers: one thread fewer to start and join.
    let mut parts: Vec<Vec<(usize, std::io::Result<Option<ScannedPv>>)>> =
        std::thread::scope(|s| {
            let workers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
            let mut parts = vec![work()];
            parts.extend(workers.into_iter().map(|w| {
                w.join().unwrap_or_else(|_| {
                    vec![(
                        usize::MAX,
                        Err(std::io::Error::other("a scan thread panicked")),
                    )]
                })
            }));
            parts
        });
    let mut results: Vec<Option<std::io::Result<Option<ScannedPv>>>> =
        (0..candidates.len()).map(|_| None).collect();
    for (i, r) in parts.drain(..).flatten() {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(std::io::Error::other("device not scanned"))))
        .collect()
}

/// Makes areas holding byte-identical copies of a text share one buffer, so a VG with a copy
/// on each of many PVs keeps one text in memory. Every copy was read and its checksum checked.
fn share_identical_texts(pvs: &mut [ScannedPv]) {
    let mut seen: Vec<(u32, Arc<Vec<u8>>)> = Vec::new();
    for m in pvs.iter_mut().flat_map(|p| p.mdas.iter_mut()) {
        let Some(t) = m.text.as_mut() else {
            continue;
        };
        // Copies the scan already shares are one buffer: no byte compare for them.
        let same = seen.iter().find(|(crc, s)| {
            Arc::ptr_eq(s, &t.text)
                || (*crc == t.checksum && s.len() == t.text.len() && **s == *t.text)
        });
        match same {
            Some((_, same)) => t.text = Arc::clone(same),
            None => seen.push((t.checksum, Arc::clone(&t.text))),
        }
    }
}

/// Scans the candidates (reading several at once); results in candidate order.
pub fn scan(candidates: &[Candidate]) -> Scan {
    scan_reading(candidates, true)
}

/// [`scan`] without the metadata texts: every PV's label and its areas' headers, no text
/// (each area's `text` is `None`, and no VG can be found in the result). For a command that
/// needs the texts only when one of its devices turns out to be a PV already (pvcreate on new
/// devices): the texts of a large VG elsewhere cost most of such a scan (9.56 MB at 30,000
/// LVs, ~20 ms through a loop device).
pub fn scan_labels(candidates: &[Candidate]) -> Scan {
    scan_reading(candidates, false)
}

fn scan_reading(candidates: &[Candidate], texts: bool) -> Scan {
    let mut out = Scan::default();
    // PV UUID -> index in out.pvs (by the label's bytes, as pv_index_by_id compares them).
    let mut by_uuid: std::collections::HashMap<[u8; 32], usize> = Default::default();
    for (cand, read) in candidates.iter().zip(read_all(candidates, texts)) {
        match read {
            Ok(Some(pv)) => {
                for m in &pv.mdas {
                    if let Some(p) = &m.problem {
                        out.warnings
                            .push(format!("WARNING: {}: {p}", pv.path.display()));
                    }
                }
                let uuid = *pv.label.pv_header.pv_uuid.as_bytes();
                if let Some(&first) = by_uuid.get(&uuid) {
                    out.warnings.push(format!(
                        "WARNING: Not using device {} for PV {}: {} has the same PV UUID.",
                        pv.path.display(),
                        pv.id(),
                        out.pvs[first].path.display()
                    ));
                    out.duplicates.push((first, pv.path.clone()));
                    continue;
                }
                by_uuid.insert(uuid, out.pvs.len());
                out.pvs.push(pv);
            }
            Ok(None) => out.others.push(cand.clone()),
            // Unreadable devices (no medium, permission) are simply not PVs for this command.
            Err(_) => out.others.push(cand.clone()),
        }
    }
    share_identical_texts(&mut out.pvs);
    out
}

impl Scan {
    /// Drops the bytes of every text read (their names, seqnos and checksums stay): for a
    /// command that has parsed the VG it works on and reads no text again, so the text (as
    /// large as the VG's metadata) is not held beside the model and the text it writes.
    pub fn drop_texts(&mut self) {
        for pv in &mut self.pvs {
            for text in pv.mdas.iter_mut().filter_map(|m| m.text.as_mut()) {
                text.text = Default::default();
            }
        }
    }

    /// The names of every VG with at least one readable metadata copy, sorted.
    pub fn vg_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .pvs
            .iter()
            .flat_map(|p| p.mdas.iter())
            .filter_map(|m| m.text.as_ref().map(|t| t.vg_name.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn pv_index_by_id(&self, id: &Id) -> Option<usize> {
        // The label's bytes as they are: checking them as an id per PV made a VG of N PVs cost
        // N^2 checks. A label whose UUID is not a valid id matches no id.
        self.pvs
            .iter()
            .position(|p| p.label.pv_header.pv_uuid.as_bytes() == id.as_bytes())
    }

    pub fn pv_index_by_path(&self, path: &Path) -> Option<usize> {
        self.pvs.iter().position(|p| p.path == path)
    }

    /// Assembles VG `name` from its best metadata copy. `Err` when copies disagree in a way
    /// that needs the user (two different VGs of one name, or no copy parses).
    pub fn find_vg(&self, name: &str) -> Result<Option<FoundVg>, String> {
        // All copies of this VG by (seqno, checksum), with where they are.
        let mut copies: BTreeMap<(u32, u32), CopyGroup> = BTreeMap::new();
        let mut ids: Vec<Id> = Vec::new();
        for (pi, pv) in self.pvs.iter().enumerate() {
            for (mi, m) in pv.mdas.iter().enumerate() {
                let Some(t) = m.text.as_ref().filter(|t| t.vg_name == name) else {
                    continue;
                };
                if let Some(id) = t.vg_id {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                copies
                    .entry((t.seqno, t.checksum))
                    .or_insert_with(|| (t.text.clone(), t.vg_id, Vec::new()))
                    .2
                    .push((pi, mi));
            }
        }
        if copies.is_empty() {
            return Ok(None);
        }
        if ids.len() > 1 {
            return Err(format!(
                "Multiple VGs found with the same name {name}: {}; rename one with vgrename UUID NEWNAME.",
                ids.iter().map(Id::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        let mut last_error = None;
        for ((_, checksum), (text, _, places)) in copies.iter().rev() {
            match parse_metadata(text) {
                // A zero extent size makes every extent count a division by zero: such a
                // copy is as unusable as one that does not parse.
                Ok(metadata) if metadata.vg.extent_size == 0 => {
                    last_error = Some("extent_size is 0".to_string());
                }
                Ok(mut metadata) => {
                    // WRITE_LOCKED reads as WRITE, as LVM2 reads it (shared or owned VGs).
                    crate::lockd::import_write_locked(&mut metadata.vg);
                    let pv_devices = metadata
                        .vg
                        .pvs
                        .iter()
                        .map(|pv| self.pv_index_by_id(&pv.id))
                        .collect();
                    let stale = self.stale_areas(&metadata, places);
                    return Ok(Some(FoundVg {
                        metadata,
                        checksum: *checksum,
                        pv_devices,
                        stale,
                    }));
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        Err(format!(
            "Cannot parse any copy of the metadata of VG {name}: {}; restore it with vgcfgrestore.",
            last_error.unwrap_or_default()
        ))
    }

    /// Areas on the VG's PVs that do not hold the chosen copy.
    fn stale_areas(&self, metadata: &Metadata, good: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let mut stale = Vec::new();
        for pv in &metadata.vg.pvs {
            let Some(pi) = self.pv_index_by_id(&pv.id) else {
                continue;
            };
            for (mi, m) in self.pvs[pi].mdas.iter().enumerate() {
                if !m.is_ignored() && !good.contains(&(pi, mi)) {
                    stale.push((pi, mi));
                }
            }
        }
        stale
    }

    /// PVs that belong to no VG found by this scan (orphans), in scan order.
    pub fn orphans(&self) -> Vec<usize> {
        let mut used = vec![false; self.pvs.len()];
        for name in self.vg_names() {
            if let Ok(Some(vg)) = self.find_vg(&name) {
                for i in vg.pv_devices.into_iter().flatten() {
                    used[i] = true;
                }
            }
        }
        (0..self.pvs.len()).filter(|&i| !used[i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_reads_name_id_seqno() {
        let text = b"vgdemo {\nid = \"mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnDE\"\nseqno = 14\nformat = \"lvm2\"\n";
        let (name, id, seqno) = sniff(text).unwrap();
        assert_eq!(name, "vgdemo");
        assert_eq!(
            id.unwrap().to_string(),
            "mT8IXf-FfBg-RXup-WFHz-wYNw-QgHC-AaEnDE"
        );
        assert_eq!(seqno, 14);
        assert!(sniff(b"garbage").is_none());
        assert!(sniff(b"vg {\nid = \"x\"\n").is_none());
    }

    #[test]
    fn scans_lvm2_images() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest"
        );
        let pv = scan_device(&Path::new(dir).join("vgdemo_pv0_final.img"))
            .unwrap()
            .unwrap();
        assert_eq!(pv.mdas.len(), 1);
        let t = pv.mdas[0].text.as_ref().unwrap();
        assert_eq!((t.vg_name.as_str(), t.seqno), ("vgdemo", 14));
        let orphan = scan_device(&Path::new(dir).join("pv_after_pvcreate.img"))
            .unwrap()
            .unwrap();
        assert!(orphan.mdas[0].text.is_none());
        assert!(!orphan.in_vg_flag());
        let cands: Vec<Candidate> = [
            "vgdemo_pv0_final.img",
            "vgdemo_pv1_final.img",
            "vgdemo_pv2_final.img",
            "pv_after_pvcreate.img",
        ]
        .iter()
        .map(|n| Candidate {
            name: n.to_string(),
            path: Path::new(dir).join(n),
            size_bytes: 0,
        })
        .collect();
        let mut cands = cands;
        cands.push(Candidate {
            name: "orphan".into(),
            path: Path::new(dir).join("../host/pv_nomda_oddsize_orphan.img"),
            size_bytes: 0,
        });
        let s = scan(&cands);
        // pv_after_pvcreate.img is vgdemo's pv0 before vgcreate: the same PV UUID twice.
        assert_eq!(s.pvs.len(), 4);
        assert!(
            s.warnings.iter().any(|w| w.contains("same PV UUID")),
            "{:?}",
            s.warnings
        );
        assert_eq!(s.duplicates.len(), 1);
        assert_eq!(s.duplicates[0].0, 0);
        assert_eq!(s.vg_names(), ["vgdemo"]);
        let vg = s.find_vg("vgdemo").unwrap().unwrap();
        assert_eq!(vg.metadata.vg.seqno, 14);
        assert_eq!(vg.pv_devices, [Some(0), Some(1), Some(2)]);
        assert!(vg.stale.is_empty());
        assert_eq!(s.orphans(), [3]);
        assert!(s.pvs[3].label.pv_header.metadata_areas.is_empty());
        // With pv1 missing the VG is partial.
        let s2 = scan(&[cands[0].clone(), cands[2].clone()]);
        let vg2 = s2.find_vg("vgdemo").unwrap().unwrap();
        assert!(vg2.is_partial());
        assert_eq!(vg2.missing_pvs().count(), 1);
    }

    /// Copies of one text on several PVs are read and checked once each, held once; a copy
    /// whose bytes differ under the same header checksum is still found damaged, whether it
    /// is read first or after a good one, and the good copies still share one buffer.
    #[test]
    fn copies_of_a_text_are_held_once_and_each_is_checked() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest"
        );
        let tmp = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for n in 0..3 {
            let name = format!("vgdemo_pv{n}_final.img");
            let to = tmp.path().join(&name);
            std::fs::copy(Path::new(dir).join(&name), &to).unwrap();
            paths.push(to);
        }
        let cand = |p: &PathBuf| Candidate {
            name: p.display().to_string(),
            path: p.clone(),
            size_bytes: 0,
        };
        let read = |order: &[usize]| {
            let cands: Vec<Candidate> = order.iter().map(|&i| cand(&paths[i])).collect();
            read_all(&cands, true)
                .into_iter()
                .map(|r| r.unwrap().unwrap())
                .collect::<Vec<ScannedPv>>()
        };
        // Before sharing (share_identical_texts), straight from the readers.
        let pvs = read(&[0, 1, 2]);
        let texts: Vec<&CommittedText> = pvs
            .iter()
            .map(|p| p.mdas[0].text.as_ref().unwrap())
            .collect();
        assert!(Arc::ptr_eq(&texts[0].text, &texts[1].text));
        assert!(Arc::ptr_eq(&texts[0].text, &texts[2].text));
        // One byte of pv1's committed text changed, its header left as it was.
        let header = pvs[1].mdas[0].header.clone().unwrap();
        let at = header.start + header.committed().offset + 100;
        let mut img = std::fs::read(&paths[1]).unwrap();
        img[at as usize] ^= 0x20;
        std::fs::write(&paths[1], &img).unwrap();
        for order in [[0, 1, 2], [1, 0, 2]] {
            let pvs = read(&order);
            for (pv, &i) in pvs.iter().zip(&order) {
                let m = &pv.mdas[0];
                if i == 1 {
                    assert!(m.text.is_none(), "{order:?}");
                    let problem = m.problem.as_deref().unwrap_or_default();
                    assert!(problem.contains("checksum error"), "{order:?}: {problem}");
                } else {
                    let t = m.text.as_ref().unwrap();
                    assert_eq!((t.vg_name.as_str(), t.seqno), ("vgdemo", 14));
                    assert!(m.problem.is_none(), "{order:?}");
                }
            }
            // The good copies share one buffer, also after a damaged copy was read first.
            let good: Vec<&Arc<Vec<u8>>> = pvs
                .iter()
                .filter_map(|p| p.mdas[0].text.as_ref().map(|t| &t.text))
                .collect();
            assert_eq!(good.len(), 2, "{order:?}");
            assert!(Arc::ptr_eq(good[0], good[1]), "{order:?}");
        }
    }
}
