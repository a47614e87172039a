//! Block I/O at the edge: one trait every store operation goes through, so tests can swap in a
//! device that "crashes" after the k-th write, and a real implementation that bypasses the page
//! cache (O_DIRECT) the way LVM2 does, so two tools on one disk never see stale bytes.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Alignment that satisfies O_DIRECT on every logical block size we meet (512 or 4096): the
/// buffers' addresses always, and the I/O of files, whose file system decides.
const DIRECT_ALIGN: usize = 4096;

/// `data` followed by `zeros` zero bytes, in one new buffer.
pub(crate) fn padded(data: &[u8], zeros: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + zeros);
    out.extend_from_slice(data);
    out.resize(data.len() + zeros, 0);
    out
}

/// Aligned writes larger than this go out in pieces of this size through one buffer (a
/// multiple of every logical block size, so each piece stays aligned).
const WRITE_CHUNK: usize = 1 << 20;

pub trait BlockDevice {
    fn path(&self) -> &Path;
    /// Size in bytes.
    fn size(&self) -> u64;
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes every completed write durable (the commit protocol calls it after each phase).
    fn flush(&self) -> io::Result<()>;
}

/// A block device or a regular file (an image), opened for direct I/O when the file system
/// allows it.
pub struct DiskDevice {
    path: PathBuf,
    file: File,
    size: u64,
    direct: bool,
    writable: bool,
    /// The unit direct I/O is done in: a block device's logical block size (512 on most), so
    /// a sector-sized write (a label, an area header, a text padded to its sector) goes out
    /// as it is instead of as a read-modify-write of a 4 KiB window; DIRECT_ALIGN for files.
    align: u64,
}

impl DiskDevice {
    pub fn open_read(path: &Path) -> io::Result<Self> {
        Self::open(path, false)
    }

    pub fn open_write(path: &Path) -> io::Result<Self> {
        Self::open(path, true)
    }

    fn open(path: &Path, writable: bool) -> io::Result<Self> {
        let try_open = |direct: bool| {
            let mut opts = OpenOptions::new();
            opts.read(true).write(writable);
            if direct {
                opts.custom_flags(libc::O_DIRECT);
            }
            opts.open(path)
        };
        // Some file systems (tmpfs) refuse O_DIRECT: images there are read through the cache.
        let (mut file, direct) = match try_open(true) {
            Ok(f) => (f, true),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (try_open(false)?, false),
            Err(e) => return Err(e),
        };
        let size = file.seek(SeekFrom::End(0))?;
        let align = if direct {
            logical_block_size(&file).unwrap_or(DIRECT_ALIGN as u64)
        } else {
            1
        };
        Ok(DiskDevice {
            path: path.to_path_buf(),
            file,
            size,
            direct,
            writable,
            align,
        })
    }
}

/// A block device's logical block size (BLKSSZGET), when it is a block device and the size is
/// one direct I/O can use (a power of two from 512 to DIRECT_ALIGN).
fn logical_block_size(file: &File) -> Option<u64> {
    use std::os::unix::fs::FileTypeExt;
    use std::os::unix::io::AsRawFd;
    if !file.metadata().ok()?.file_type().is_block_device() {
        return None;
    }
    let mut size: libc::c_int = 0;
    // SAFETY: BLKSSZGET writes one int through the pointer, which points at `size`, valid and
    // writable for the call; the descriptor is open for as long as `file` lives.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::BLKSSZGET, &mut size) };
    let size = u64::try_from(size).ok()?;
    (rc == 0 && size.is_power_of_two() && (512..=DIRECT_ALIGN as u64).contains(&size))
        .then_some(size)
}

/// A zeroed buffer of `len` bytes whose start is aligned for O_DIRECT, without unsafe code:
/// over-allocate and slice at the first aligned address.
struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> Self {
        let storage = vec![0u8; len + DIRECT_ALIGN];
        let start = storage
            .as_ptr()
            .align_offset(DIRECT_ALIGN)
            .min(DIRECT_ALIGN);
        AlignedBuf {
            storage,
            start,
            len,
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

impl DiskDevice {
    /// `data` then `zeros` zero bytes at `offset`, as one write would put them. A large
    /// aligned range goes out through one chunk-sized aligned buffer instead of an aligned
    /// copy of the whole text (9.6 MB more peak memory at 30,000 LVs); one large write is split
    /// by the block layer anyway (no write is atomic beyond a sector, and the commit protocol
    /// assumes none is).
    pub fn write_padded(&self, offset: u64, data: &[u8], zeros: usize) -> io::Result<()> {
        let total = data.len() + zeros;
        let end = offset.saturating_add(total as u64);
        let aligned = self.direct && self.align_down(offset) == offset && self.align_up(end) == end;
        if !(aligned && total > WRITE_CHUNK && end <= self.size && self.writable) {
            return match zeros {
                0 => self.write_at(offset, data),
                _ => self.write_at(offset, &padded(data, zeros)),
            };
        }
        self.write_chunked(offset, data, zeros)
    }

    /// An aligned, in-bounds write of `data` and `zeros` zero bytes in WRITE_CHUNK pieces.
    fn write_chunked(&self, offset: u64, data: &[u8], zeros: usize) -> io::Result<()> {
        let total = data.len() + zeros;
        let mut bounce = AlignedBuf::new(WRITE_CHUNK.min(total));
        let mut pos = 0;
        while pos < total {
            let n = (total - pos).min(WRITE_CHUNK);
            let buf = &mut bounce.as_mut_slice()[..n];
            let from_data = data.len().saturating_sub(pos).min(n);
            buf[..from_data].copy_from_slice(&data[pos..pos + from_data]);
            buf[from_data..].fill(0);
            self.file.write_all_at(buf, offset + pos as u64)?;
            pos += n;
        }
        Ok(())
    }

    fn align_down(&self, v: u64) -> u64 {
        v - v % self.align
    }

    fn align_up(&self, v: u64) -> u64 {
        v.div_ceil(self.align) * self.align
    }

    /// Reads the aligned window covering [offset, offset+len), clipped to the device end.
    fn read_window(&self, start: u64, end: u64) -> io::Result<AlignedBuf> {
        let end = end.min(self.align_up(self.size));
        let mut buf = AlignedBuf::new((end - start) as usize);
        let mut done = 0usize;
        let want = buf.len;
        while done < want {
            let n = self
                .file
                .read_at(&mut buf.as_mut_slice()[done..], start + done as u64)?;
            if n == 0 {
                break; // end of device: the rest stays zero
            }
            done += n;
        }
        Ok(buf)
    }
}

impl DiskDevice {
    /// Reads `len` bytes at `offset` into this thread's scratch buffer and lends them to `f`:
    /// no allocation, zeroing or copy per call once the buffer has grown (a scan reads the
    /// first 128 KiB of every candidate device and keeps only a few sectors of it). `f` must
    /// not call `with_read` itself.
    pub fn with_read<R>(
        &self,
        offset: u64,
        len: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> io::Result<R> {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        if !self.direct {
            return self.read_at(offset, len).map(|b| f(&b));
        }
        let need = self.window_len(offset, len)? + DIRECT_ALIGN;
        SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() < need {
                *buf = vec![0u8; need];
            }
            let skip = self.read_window_into(&mut buf, offset, len)?;
            Ok(f(&buf[skip..skip + len]))
        })
    }

    /// The length of the aligned window a direct read of `len` bytes at `offset` covers.
    fn window_len(&self, offset: u64, len: usize) -> io::Result<usize> {
        let end = self.checked_end(offset, len)?;
        let stop = self.align_up(end).min(self.align_up(self.size));
        Ok((stop - self.align_down(offset)) as usize)
    }

    /// Reads the aligned window around `offset..offset + len` into `buf` (at least
    /// `window_len + DIRECT_ALIGN` bytes) at its first aligned address, zero past the device's
    /// end; returns where the wanted bytes start in `buf`.
    fn read_window_into(&self, buf: &mut [u8], offset: u64, len: usize) -> io::Result<usize> {
        let start = self.align_down(offset);
        let window = self.window_len(offset, len)?;
        let lead = buf.as_ptr().align_offset(DIRECT_ALIGN).min(DIRECT_ALIGN);
        let mut done = 0usize;
        while done < window {
            let n = self
                .file
                .read_at(&mut buf[lead + done..lead + window], start + done as u64)?;
            if n == 0 {
                // End of device: what the window still holds is not this device's.
                buf[lead + done..lead + window].fill(0);
                break;
            }
            done += n;
        }
        Ok(lead + (offset - start) as usize)
    }

    fn checked_end(&self, offset: u64, len: usize) -> io::Result<u64> {
        offset
            .checked_add(len as u64)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {len} bytes at {offset} is past the end of {} ({} bytes)",
                        self.path.display(),
                        self.size
                    ),
                )
            })
    }

    /// `read_at` into one buffer that is returned as it is: large reads (a whole metadata text)
    /// are not copied out of an aligned window, so they cost one allocation of their size.
    pub fn read_owned(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if !self.direct {
            return self.read_at(offset, len);
        }
        // Over-allocate so an aligned window fits, read into it, then move the wanted bytes
        // to the front of the same buffer.
        let mut buf = vec![0u8; self.window_len(offset, len)? + DIRECT_ALIGN];
        let skip = self.read_window_into(&mut buf, offset, len)?;
        buf.copy_within(skip..skip + len, 0);
        buf.truncate(len);
        Ok(buf)
    }
}

impl BlockDevice for DiskDevice {
    fn path(&self) -> &Path {
        &self.path
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let end = offset
            .checked_add(len as u64)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {len} bytes at {offset} is past the end of {} ({} bytes)",
                        self.path.display(),
                        self.size
                    ),
                )
            })?;
        let (start, stop) = (self.align_down(offset), self.align_up(end));
        let window = self.read_window(start, stop)?;
        let skip = (offset - start) as usize;
        Ok(window.as_slice()[skip..skip + len].to_vec())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} was opened read-only", self.path.display()),
            ));
        }
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "write of {} bytes at {offset} is past the end of {}",
                        data.len(),
                        self.path.display()
                    ),
                )
            })?;
        if !self.direct {
            return self.file.write_all_at(data, offset);
        }
        let (start, stop) = (self.align_down(offset), self.align_up(end));
        if start == offset && stop == end && data.len() > WRITE_CHUNK {
            return self.write_chunked(offset, data, 0);
        }
        // Read-modify-write only when the caller's range is not already aligned.
        let mut window = if start == offset && stop == end {
            AlignedBuf::new(data.len())
        } else {
            self.read_window(start, stop)?
        };
        let skip = (offset - start) as usize;
        window.as_mut_slice()[skip..skip + data.len()].copy_from_slice(data);
        let stop = stop.min(self.size.max(end));
        let len = (stop - start) as usize;
        let slice = &window.as_slice()[..len.min(window.len)];
        self.file.write_all_at(slice, start)
    }

    fn flush(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffer_is_aligned() {
        for len in [1, 512, 4096, 10000] {
            let b = AlignedBuf::new(len);
            assert_eq!(b.as_slice().as_ptr() as usize % DIRECT_ALIGN, 0);
            assert_eq!(b.as_slice().len(), len);
        }
    }

    #[test]
    fn unaligned_write_keeps_neighbours() {
        let dir = std::env::temp_dir().join(format!("oxlvm-dev-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("img");
        std::fs::write(&path, vec![0xAAu8; 16384]).unwrap();
        let dev = DiskDevice::open_write(&path).unwrap();
        dev.write_at(4100, b"hello").unwrap();
        let back = dev.read_at(4090, 20).unwrap();
        assert_eq!(&back[..10], &[0xAA; 10]);
        assert_eq!(&back[10..15], b"hello");
        assert_eq!(&back[15..], &[0xAA; 5]);
        assert!(dev.read_at(16380, 8).is_err());
        for (offset, len) in [
            (4090, 20),
            (0, 16384),
            (4096, 4096),
            (100, 9000),
            (16383, 1),
        ] {
            assert_eq!(
                dev.read_owned(offset, len).unwrap(),
                dev.read_at(offset, len).unwrap()
            );
        }
        assert!(dev.read_owned(16380, 8).is_err());
        // The per-thread buffer lends the same bytes, whatever it held before (a large read
        // first, then smaller ones at other offsets).
        for (offset, len) in [
            (0, 16384),
            (4090, 20),
            (100, 9000),
            (16383, 1),
            (4096, 4096),
        ] {
            let lent = dev.with_read(offset, len, <[u8]>::to_vec).unwrap();
            assert_eq!(lent, dev.read_at(offset, len).unwrap(), "at {offset}+{len}");
        }
        assert!(dev.with_read(16380, 8, |_| ()).is_err());
        // A large aligned write goes out in chunks: every byte lands, the neighbours stay.
        let big_path = dir.join("big");
        std::fs::write(&big_path, vec![0x55u8; 3 * WRITE_CHUNK + 8192]).unwrap();
        let big = DiskDevice::open_write(&big_path).unwrap();
        let data: Vec<u8> = (0..2 * WRITE_CHUNK + 4096)
            .map(|i| (i % 251) as u8)
            .collect();
        big.write_at(4096, &data).unwrap();
        let back = big.read_at(0, 3 * WRITE_CHUNK + 8192).unwrap();
        assert_eq!(&back[..4096], &[0x55u8; 4096][..]);
        assert!(back[4096..4096 + data.len()] == data[..]);
        assert!(back[4096 + data.len()..].iter().all(|&b| b == 0x55));
        // Padded: the data, then zeros up to the aligned end, in chunks; nothing after.
        let odd: Vec<u8> = (0..WRITE_CHUNK + 1000).map(|i| (i % 253) as u8).collect();
        let pad = 4096 - (odd.len() % 4096);
        big.write_padded(8192, &odd, pad).unwrap();
        let back = big.read_at(0, 3 * WRITE_CHUNK + 8192).unwrap();
        assert!(back[8192..8192 + odd.len()] == odd[..]);
        assert!(back[8192 + odd.len()..8192 + odd.len() + pad]
            .iter()
            .all(|&b| b == 0));
        assert_eq!(
            back[8192 + odd.len() + pad],
            data[8192 + odd.len() + pad - 4096]
        );
        assert!(dev.write_at(16380, &[0u8; 8]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
