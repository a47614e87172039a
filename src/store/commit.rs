//! The commit protocol, as LVM2 runs it and a little stricter: (1) the new text goes into free
//! ring space of every metadata area, (2) every header gets it as precommitted, (3) the kernel
//! step may run, (4) every header points its committed slot at it. A flush follows the
//! precommit (text and precommitted headers together: no reader uses the precommitted slot) and
//! the commit, so the committed slot moves only when its text is on the disk, and a command
//! reports success only when its commit is: after a crash at any write every area holds the
//! old or the new copy - readers use the committed slot only - and the highest seqno wins.

use metadata_format::crc::lvm_crc;
use metadata_format::header::{place_next_text, MdaHeader, PvLabel, RawLocn, RingError};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::device::{BlockDevice, DiskDevice};

/// Where writes go. The real implementation opens devices for direct I/O; tests use one that
/// stops after the k-th write to check crash consistency.
pub trait DeviceWriter {
    fn write_at(&mut self, path: &Path, offset: u64, data: &[u8]) -> io::Result<()>;
    fn flush(&mut self, path: &Path) -> io::Result<()>;

    /// One write of `data` followed by `zeros` zero bytes. Here a padded copy goes to
    /// `write_at`; the real writer streams both through one chunk-sized buffer, so a large
    /// text is never copied whole.
    fn write_padded(
        &mut self,
        path: &Path,
        offset: u64,
        data: &[u8],
        zeros: usize,
    ) -> io::Result<()> {
        match zeros {
            0 => self.write_at(path, offset, data),
            _ => self.write_at(path, offset, &super::device::padded(data, zeros)),
        }
    }

    /// Flushes each of `paths` (distinct devices) and returns once all are flushed, or with
    /// the first failure and its device. One after the other here; the real writer flushes
    /// them at the same time (the phase ends when the last is done either way).
    fn flush_each(&mut self, paths: &[&Path]) -> Result<(), (PathBuf, io::Error)> {
        flush_in_turn(self, paths)
    }
}

/// Flushes `paths` one after the other; the first failure ends it, with its device.
fn flush_in_turn<W: DeviceWriter + ?Sized>(
    w: &mut W,
    paths: &[&Path],
) -> Result<(), (PathBuf, io::Error)> {
    for p in paths {
        w.flush(p).map_err(|e| (p.to_path_buf(), e))?;
    }
    Ok(())
}

/// Opens each device once, read-write, on first use.
#[derive(Default)]
pub struct DiskWriter {
    open: HashMap<PathBuf, DiskDevice>,
}

impl DiskWriter {
    fn device(&mut self, path: &Path) -> io::Result<&DiskDevice> {
        if !self.open.contains_key(path) {
            let dev = DiskDevice::open_write(path)?;
            self.open.insert(path.to_path_buf(), dev);
        }
        self.open
            .get(path)
            .ok_or_else(|| io::Error::other("device vanished from the open set"))
    }
}

impl DeviceWriter for DiskWriter {
    fn write_at(&mut self, path: &Path, offset: u64, data: &[u8]) -> io::Result<()> {
        self.device(path)?.write_at(offset, data)
    }

    fn flush(&mut self, path: &Path) -> io::Result<()> {
        self.device(path)?.flush()
    }

    fn write_padded(
        &mut self,
        path: &Path,
        offset: u64,
        data: &[u8],
        zeros: usize,
    ) -> io::Result<()> {
        self.device(path)?.write_padded(offset, data, zeros)
    }

    /// Each device's flush waits for its own disk, so a phase on several PVs flushes them
    /// all at once: one device's wait instead of their sum. Nothing is written meanwhile.
    /// On a single CPU they are flushed one after the other (metadata_format::
    /// more_than_one_cpu: in the one-vCPU test guest the threads cost ~17 ms per command).
    fn flush_each(&mut self, paths: &[&Path]) -> Result<(), (PathBuf, io::Error)> {
        if paths.len() < 2 || !metadata_format::more_than_one_cpu() {
            return flush_in_turn(self, paths);
        }
        for p in paths {
            self.device(p).map_err(|e| (p.to_path_buf(), e))?;
        }
        let devices: Vec<(&Path, &DiskDevice)> = paths
            .iter()
            .filter_map(|p| self.open.get(*p).map(|d| (*p, d)))
            .collect();
        let results: Vec<(&Path, io::Result<()>)> = std::thread::scope(|s| {
            let others: Vec<_> = devices[1..]
                .iter()
                .map(|(p, d)| (*p, s.spawn(move || d.flush())))
                .collect();
            let mut out = vec![(devices[0].0, devices[0].1.flush())];
            for (p, h) in others {
                let r = h
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("a flush thread panicked")));
                out.push((p, r));
            }
            out
        });
        for (p, r) in results {
            r.map_err(|e| (p.to_path_buf(), e))?;
        }
        Ok(())
    }
}

/// Fault injection for the crash-consistency tests: the process "loses power" at the k-th
/// write - it exits at once, after writing nothing of that write or, when tearing, only its
/// first half (whole sectors), exactly as a power cut between sectors would leave the device.
/// Set by `OXLVM_TEST_CRASH_AT_WRITE=k` and `OXLVM_TEST_CRASH_TEAR=1`; never set in normal use.
/// `OXLVM_TEST_WRITE_LOG=FILE` appends one line per write (`<n> <path> <offset> <len>`), so a
/// test learns how many writes a command makes and which of them a tear can split.
pub struct CrashingWriter<W> {
    inner: W,
    crash_at: u64,
    tear: bool,
    writes: u64,
    log: Option<std::fs::File>,
}

/// Exit status of a process stopped by fault injection.
pub const CRASH_EXIT_CODE: i32 = 99;

impl<W: DeviceWriter> CrashingWriter<W> {
    pub fn new(inner: W, crash_at: u64, tear: bool) -> Self {
        CrashingWriter {
            inner,
            crash_at,
            tear,
            writes: 0,
            log: None,
        }
    }

    /// The writer the environment asks for: a crashing one under test, else plain.
    pub fn from_env(inner: W) -> Result<Box<dyn DeviceWriter>, W>
    where
        W: 'static,
    {
        let at = std::env::var("OXLVM_TEST_CRASH_AT_WRITE")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&k| k > 0);
        let log = std::env::var_os("OXLVM_TEST_WRITE_LOG").and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        if at.is_none() && log.is_none() {
            return Err(inner);
        }
        let tear = std::env::var("OXLVM_TEST_CRASH_TEAR").is_ok_and(|v| v == "1");
        let mut w = CrashingWriter::new(inner, at.unwrap_or(0), tear);
        w.log = log;
        Ok(Box::new(w))
    }
}

impl<W: DeviceWriter> DeviceWriter for CrashingWriter<W> {
    fn write_at(&mut self, path: &Path, offset: u64, data: &[u8]) -> io::Result<()> {
        self.writes += 1;
        if let Some(log) = self.log.as_mut() {
            use std::io::Write;
            let line = format!(
                "{} {} {offset} {}\n",
                self.writes,
                path.display(),
                data.len()
            );
            let _ = log.write_all(line.as_bytes());
        }
        if self.writes == self.crash_at {
            let sectors = data.len() / 512;
            if self.tear && sectors > 1 {
                let keep = (sectors / 2) * 512;
                let _ = self.inner.write_at(path, offset, &data[..keep]);
                let _ = self.inner.flush(path);
            }
            std::process::exit(CRASH_EXIT_CODE);
        }
        self.inner.write_at(path, offset, data)
    }

    fn flush(&mut self, path: &Path) -> io::Result<()> {
        self.inner.flush(path)
    }

    fn flush_each(&mut self, paths: &[&Path]) -> Result<(), (PathBuf, io::Error)> {
        self.inner.flush_each(paths)
    }
}

/// One metadata area that receives the new text.
#[derive(Debug, Clone)]
pub struct AreaTarget {
    pub path: PathBuf,
    /// Its header as it is on disk now.
    pub header: MdaHeader,
    /// Whether the area is flagged ignored after this write.
    pub ignored: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("{path}: {source}")]
    Ring { path: String, source: RingError },
    #[error("write to {path} failed: {source}")]
    Io { path: String, source: io::Error },
    #[error("no metadata area would hold the new metadata; give the VG a PV with a metadata area")]
    NoArea,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CommitError + '_ {
    move |source| CommitError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Flushes every device of a phase (each once, all at the same time with the real writer);
/// the next phase writes only after all are done.
fn flush_all(w: &mut dyn DeviceWriter, paths: &[&Path]) -> Result<(), CommitError> {
    let mut done: Vec<&Path> = Vec::new();
    for p in paths {
        if !done.contains(p) {
            done.push(p);
        }
    }
    w.flush_each(&done)
        .map_err(|(path, source)| CommitError::Io {
            path: path.display().to_string(),
            source,
        })
}

/// The placed text of one area, between phases.
struct Placed {
    locn: RawLocn,
}

/// Checks that `text` (NUL included) fits every area, without writing anything: commands call
/// this during planning so a too-large VG fails before any byte changes.
pub fn check_fits(targets: &[AreaTarget], text_len: u64) -> Result<(), CommitError> {
    for t in targets {
        place_next_text(&t.header, text_len).map_err(|source| CommitError::Ring {
            path: t.path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// One write of whole sectors at a byte offset of a device.
#[derive(Debug, Clone)]
pub struct RawWrite {
    pub path: PathBuf,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// Writes that go out with the first two phases, under their flushes: for a device that
/// becomes a PV in this write (vgcreate), its wipes and empty area headers before the text and
/// its label with the precommit. Until its label lands nothing claims the device, so a crash
/// leaves it as it was, or an orphan PV whose areas hold no committed text - the states of a
/// pvcreate followed by a separate commit, two flushes fewer.
#[derive(Debug, Default, Clone)]
pub struct RideAlong {
    /// Written before the texts, flushed with them.
    pub with_text: Vec<RawWrite>,
    /// Written before the precommitted headers, flushed with them.
    pub with_precommit: Vec<RawWrite>,
}

fn raw_writes(w: &mut dyn DeviceWriter, writes: &[RawWrite]) -> Result<(), CommitError> {
    for r in writes {
        w.write_at(&r.path, r.offset, &r.data)
            .map_err(io_err(&r.path))?;
    }
    Ok(())
}

/// Phases 1 and 2: writes `text` (which must end in NUL) into every area and precommits it.
/// Returns the precommitted headers, to be passed to `commit_text` after the kernel step.
pub fn precommit_text(
    w: &mut dyn DeviceWriter,
    targets: &[AreaTarget],
    text: &[u8],
) -> Result<Vec<(AreaTarget, MdaHeader)>, CommitError> {
    precommit_text_with(w, targets, text, &RideAlong::default())
}

/// [`precommit_text`] with `ride`'s writes in its two phases.
pub fn precommit_text_with(
    w: &mut dyn DeviceWriter,
    targets: &[AreaTarget],
    text: &[u8],
    ride: &RideAlong,
) -> Result<Vec<(AreaTarget, MdaHeader)>, CommitError> {
    if targets.is_empty() {
        return Err(CommitError::NoArea);
    }
    raw_writes(w, &ride.with_text)?;
    let checksum = lvm_crc(text);
    let mut placed = Vec::new();
    for t in targets {
        let placement =
            place_next_text(&t.header, text.len() as u64).map_err(|source| CommitError::Ring {
                path: t.path.display().to_string(),
                source,
            })?;
        for piece in placement.pieces() {
            let from = piece.text_start as usize;
            let bytes = &text[from..from + piece.len as usize];
            let at = t.header.start + piece.area_offset;
            // The last piece is padded with zeros to a sector boundary, as LVM2 leaves it.
            let last = piece.text_start + piece.len == text.len() as u64;
            let zeros = if last {
                placement.zero_fill as usize
            } else {
                0
            };
            w.write_padded(&t.path, at, bytes, zeros)
                .map_err(io_err(&t.path))?;
        }
        placed.push(Placed {
            locn: placement.raw_locn(checksum),
        });
    }
    let text_paths: Vec<&Path> = targets
        .iter()
        .map(|t| t.path.as_path())
        .chain(ride.with_text.iter().map(|r| r.path.as_path()))
        .collect();
    // No reader uses the precommitted slot (LVM2 reads the committed one only, and so does
    // oxlvm), so the text and the precommitted headers share one flush: what orders the
    // writes is the flush before the committed slot moves. A label that rides along must
    // not land before the wipes and area headers it claims, so it gets its own.
    if !ride.with_precommit.is_empty() {
        flush_all(w, &text_paths)?;
    }
    raw_writes(w, &ride.with_precommit)?;
    let paths: Vec<&Path> = text_paths
        .iter()
        .copied()
        .chain(ride.with_precommit.iter().map(|r| r.path.as_path()))
        .collect();
    let mut out = Vec::new();
    for (t, p) in targets.iter().zip(&placed) {
        let pre = t.header.with_precommitted(&p.locn, t.ignored);
        w.write_at(&t.path, t.header.start, &pre.to_bytes())
            .map_err(io_err(&t.path))?;
        out.push((t.clone(), pre));
    }
    flush_all(w, &paths)?;
    Ok(out)
}

/// Phase 4: points every committed slot at the precommitted text.
pub fn commit_text(
    w: &mut dyn DeviceWriter,
    precommitted: &[(AreaTarget, MdaHeader)],
) -> Result<Vec<MdaHeader>, CommitError> {
    let mut out = Vec::new();
    for (t, pre) in precommitted {
        let new = *pre.precommitted();
        let committed = pre.with_committed(&new, t.ignored);
        w.write_at(&t.path, t.header.start, &committed.to_bytes())
            .map_err(io_err(&t.path))?;
        out.push(committed);
    }
    let paths: Vec<&Path> = precommitted.iter().map(|(t, _)| t.path.as_path()).collect();
    flush_all(w, &paths)?;
    Ok(out)
}

/// Phase 4 for a text that renames the VG. Committing area by area would leave, after a crash,
/// some copies under the old name and some under the new one - one VG ID under two names,
/// which LVM2 refuses to read ("fix duplicate VGID"). So every area but the first in use first
/// withdraws its committed copy (its PV stays a member, found through the text on the others,
/// as a PV without metadata areas is), then the first area commits, then the others. At every
/// write, all committed copies carry one name.
pub fn commit_text_staged(
    w: &mut dyn DeviceWriter,
    precommitted: &[(AreaTarget, MdaHeader)],
) -> Result<Vec<MdaHeader>, CommitError> {
    let lead = precommitted
        .iter()
        .position(|(t, _)| !t.ignored)
        .unwrap_or(0);
    let mut staged: Vec<(AreaTarget, MdaHeader)> = precommitted.to_vec();
    for (i, (t, h)) in staged.iter_mut().enumerate() {
        if i == lead {
            continue;
        }
        let new = *h.precommitted();
        let withdrawn = h.with_removed(t.ignored).with_precommitted(&new, t.ignored);
        w.write_at(&t.path, t.header.start, &withdrawn.to_bytes())
            .map_err(io_err(&t.path))?;
        *h = withdrawn;
    }
    let paths: Vec<&Path> = staged.iter().map(|(t, _)| t.path.as_path()).collect();
    flush_all(w, &paths)?;
    let mut out = commit_text(w, &staged[lead..=lead])?;
    let rest: Vec<(AreaTarget, MdaHeader)> = staged
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != lead)
        .map(|(_, p)| p.clone())
        .collect();
    let mut others = commit_text(w, &rest)?.into_iter();
    let lead_header = out.remove(0);
    Ok((0..staged.len())
        .map(|i| {
            if i == lead {
                lead_header.clone()
            } else {
                others.next().unwrap_or_else(|| lead_header.clone())
            }
        })
        .collect())
}

/// Writes a whole metadata text: every phase with no kernel step in between.
pub fn write_text(
    w: &mut dyn DeviceWriter,
    targets: &[AreaTarget],
    text: &[u8],
) -> Result<Vec<MdaHeader>, CommitError> {
    let pre = precommit_text(w, targets, text)?;
    commit_text(w, &pre)
}

/// Rewrites a label sector (for the in-VG flag of the pv_header extension).
pub fn write_label(
    w: &mut dyn DeviceWriter,
    path: &Path,
    label: &PvLabel,
) -> Result<(), CommitError> {
    let bytes = label.to_bytes().map_err(|e| CommitError::Io {
        path: path.display().to_string(),
        source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
    })?;
    w.write_at(path, label.label.sector * 512, &bytes)
        .map_err(io_err(path))?;
    w.flush(path).map_err(io_err(path))
}

/// Clears both slots of an area (the VG leaves this PV): the texts stay in the ring, as LVM2
/// leaves them, but no reader will use them.
pub fn clear_area(
    w: &mut dyn DeviceWriter,
    path: &Path,
    header: &MdaHeader,
) -> Result<(), CommitError> {
    let cleared = header.with_removed(header.is_ignored());
    w.write_at(path, header.start, &cleared.to_bytes())
        .map_err(io_err(path))?;
    w.flush(path).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records writes in memory images keyed by path.
    #[derive(Default)]
    struct MemWriter {
        images: HashMap<PathBuf, Vec<u8>>,
        writes: usize,
        flushes: usize,
    }

    impl DeviceWriter for MemWriter {
        fn write_at(&mut self, path: &Path, offset: u64, data: &[u8]) -> io::Result<()> {
            let img = self
                .images
                .entry(path.to_path_buf())
                .or_insert_with(|| vec![0; 1 << 20]);
            img[offset as usize..offset as usize + data.len()].copy_from_slice(data);
            self.writes += 1;
            Ok(())
        }
        fn flush(&mut self, _: &Path) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    #[test]
    fn protocol_writes_text_then_precommit_then_commit() {
        let header = MdaHeader::new(4096, 1044480, false);
        let target = AreaTarget {
            path: PathBuf::from("/dev/x"),
            header: header.clone(),
            ignored: false,
        };
        let mut w = MemWriter::default();
        let text = b"vg {\nid = \"x\"\nseqno = 1\n}\n\0";
        let pre = precommit_text(&mut w, std::slice::from_ref(&target), text).unwrap();
        // After precommit: slot 1 holds the text, slot 0 is still empty.
        let img = &w.images[Path::new("/dev/x")];
        let h = MdaHeader::parse(&img[4096..4608]).unwrap();
        assert!(h.committed().is_empty());
        assert_eq!(h.precommitted().offset, 512);
        assert_eq!(h.precommitted().size, text.len() as u64);
        assert_eq!(&img[4608..4608 + text.len()], text);
        let done = commit_text(&mut w, &pre).unwrap();
        let img = &w.images[Path::new("/dev/x")];
        let h = MdaHeader::parse(&img[4096..4608]).unwrap();
        assert_eq!(h, done[0]);
        assert_eq!(h.committed().offset, 512);
        assert_eq!(h.committed().checksum, lvm_crc(text));
        assert!(h.precommitted().is_empty());
        // text and precommit, one flush; commit, one flush.
        assert_eq!((w.writes, w.flushes), (3, 2));
        // The next text goes after the first, rounded up to a sector.
        let next = AreaTarget {
            header: h,
            ..target
        };
        let again = write_text(&mut w, &[next], text).unwrap();
        assert_eq!(again[0].committed().offset, 1024);
    }

    #[test]
    fn ride_along_writes_go_out_in_their_phases() {
        /// Logs writes and flushes in order.
        #[derive(Default)]
        struct LogWriter(Vec<String>);
        impl DeviceWriter for LogWriter {
            fn write_at(&mut self, path: &Path, offset: u64, data: &[u8]) -> io::Result<()> {
                self.0
                    .push(format!("w {} {offset} {}", path.display(), data.len()));
                Ok(())
            }
            fn flush(&mut self, path: &Path) -> io::Result<()> {
                self.0.push(format!("f {}", path.display()));
                Ok(())
            }
        }
        let target = AreaTarget {
            path: PathBuf::from("/dev/x"),
            header: MdaHeader::new(4096, 1044480, false),
            ignored: false,
        };
        let raw = |offset: u64, len: usize| RawWrite {
            path: PathBuf::from("/dev/x"),
            offset,
            data: vec![0; len],
        };
        let ride = RideAlong {
            with_text: vec![raw(0, 2048), raw(4096, 512)],
            with_precommit: vec![raw(512, 512)],
        };
        let mut w = LogWriter::default();
        let text = b"vg {\nid = \"x\"\nseqno = 1\n}\n\0";
        let pre = precommit_text_with(&mut w, std::slice::from_ref(&target), text, &ride).unwrap();
        let done = commit_text(&mut w, &pre).unwrap();
        // Wipes and the fresh header, then the text, one flush; the label, then the
        // precommit, one flush; the commit, one flush.
        assert_eq!(
            w.0,
            [
                "w /dev/x 0 2048",
                "w /dev/x 4096 512",
                "w /dev/x 4608 512",
                "f /dev/x",
                "w /dev/x 512 512",
                "w /dev/x 4096 512",
                "f /dev/x",
                "w /dev/x 4096 512",
                "f /dev/x",
            ]
        );
        // Without a label riding along, the text and the precommit share one flush: the
        // committed slot still moves only after both are flushed.
        let target = AreaTarget {
            header: done[0].clone(),
            ..target
        };
        let ride = RideAlong {
            with_text: vec![raw(0, 2048)],
            with_precommit: Vec::new(),
        };
        let mut w = LogWriter::default();
        let pre = precommit_text_with(&mut w, &[target], text, &ride).unwrap();
        commit_text(&mut w, &pre).unwrap();
        assert_eq!(
            w.0,
            [
                "w /dev/x 0 2048",
                "w /dev/x 5120 512",
                "w /dev/x 4096 512",
                "f /dev/x",
                "w /dev/x 4096 512",
                "f /dev/x",
            ]
        );
    }

    #[test]
    fn staged_commit_withdraws_all_but_the_first_copy_before_committing() {
        let target = |p: &str| AreaTarget {
            path: PathBuf::from(p),
            header: MdaHeader::new(4096, 1044480, false),
            ignored: false,
        };
        let targets = [target("/dev/a"), target("/dev/b"), target("/dev/c")];
        let mut w = MemWriter::default();
        write_text(&mut w, &targets, b"old {\nseqno = 1\n}\n\0").unwrap();
        let read =
            |w: &MemWriter, p: &str| MdaHeader::parse(&w.images[Path::new(p)][4096..4608]).unwrap();
        let targets: Vec<AreaTarget> = ["/dev/a", "/dev/b", "/dev/c"]
            .iter()
            .map(|p| AreaTarget {
                header: read(&w, p),
                ..target(p)
            })
            .collect();
        let pre = precommit_text(&mut w, &targets, b"new {\nseqno = 2\n}\n\0").unwrap();
        let before = w.writes;
        let done = commit_text_staged(&mut w, &pre).unwrap();
        // Two withdrawals, then three commits.
        assert_eq!(w.writes - before, 5);
        for (p, h) in ["/dev/a", "/dev/b", "/dev/c"].iter().zip(&done) {
            assert_eq!(read(&w, p), *h);
            assert_eq!(h.committed().offset, 1024);
            assert!(h.precommitted().is_empty());
        }
    }

    #[test]
    fn too_large_text_is_refused_before_writing() {
        let header = MdaHeader::new(4096, 61440, false);
        let target = AreaTarget {
            path: PathBuf::from("/dev/x"),
            header,
            ignored: false,
        };
        let err = check_fits(&[target], 40000).unwrap_err().to_string();
        assert!(err.contains("40000"), "{err}");
    }
}
