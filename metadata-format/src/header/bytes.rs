//! Bounds-checked little-endian access, so no header field read from a device can index
//! past its buffer and panic.

use super::HeaderError;

/// Reads little-endian integers from a fixed structure, failing with `Truncated` instead of
/// panicking when a field would run past the end.
pub(crate) struct LeReader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> LeReader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    pub(crate) fn bytes<const N: usize>(&self, at: usize) -> Result<[u8; N], HeaderError> {
        at.checked_add(N)
            .and_then(|end| self.buf.get(at..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(HeaderError::Truncated {
                what: self.what,
                needed: at.saturating_add(N),
                got: self.buf.len(),
            })
    }

    pub(crate) fn u32(&self, at: usize) -> Result<u32, HeaderError> {
        self.bytes::<4>(at).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&self, at: usize) -> Result<u64, HeaderError> {
        self.bytes::<8>(at).map(u64::from_le_bytes)
    }
}

/// Writes into a fixed-size buffer that the caller sized beforehand; every write position is
/// checked against that size first, so writers report overflow instead of panicking.
pub(crate) struct LeWriter<'a> {
    buf: &'a mut [u8],
    what: &'static str,
}

impl<'a> LeWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    pub(crate) fn put(&mut self, at: usize, data: &[u8]) -> Result<(), HeaderError> {
        let len = self.buf.len();
        let slot = at
            .checked_add(data.len())
            .and_then(|end| self.buf.get_mut(at..end))
            .ok_or(HeaderError::Truncated {
                what: self.what,
                needed: at.saturating_add(data.len()),
                got: len,
            })?;
        slot.copy_from_slice(data);
        Ok(())
    }

    pub(crate) fn u32(&mut self, at: usize, v: u32) -> Result<(), HeaderError> {
        self.put(at, &v.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, at: usize, v: u64) -> Result<(), HeaderError> {
        self.put(at, &v.to_le_bytes())
    }
}
