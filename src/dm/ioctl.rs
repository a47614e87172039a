//! The kernel's device-mapper ioctl interface (`/dev/mapper/control`, linux/dm-ioctl.h, version
//! 4): one request buffer per call, laid out byte by byte, so no C bindings or build-time
//! header generation are needed. Every call that can overflow its buffer retries with a larger
//! one, as libdm does.

use super::tables::DevNo;
use super::udev;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// `/dev/mapper/control`.
pub const CONTROL_PATH: &str = "/dev/mapper/control";

const DM_IOCTL_TYPE: u8 = 0xfd;
/// `sizeof(struct dm_ioctl)`; also where our data area starts.
const HEADER: usize = 312;
const TARGET_SPEC: usize = 40;
const NAME_LEN: usize = 128;
const UUID_LEN: usize = 129;
const MAX_TYPE_NAME: usize = 16;

// Commands (enum in dm-ioctl.h).
const CMD_VERSION: u8 = 0;
const CMD_LIST_DEVICES: u8 = 2;
const CMD_DEV_CREATE: u8 = 3;
const CMD_DEV_REMOVE: u8 = 4;
const CMD_DEV_RENAME: u8 = 5;
const CMD_DEV_SUSPEND: u8 = 6;
const CMD_DEV_STATUS: u8 = 7;
const CMD_TABLE_LOAD: u8 = 9;
const CMD_TABLE_CLEAR: u8 = 10;
const CMD_TABLE_DEPS: u8 = 11;
const CMD_TABLE_STATUS: u8 = 12;
const CMD_LIST_VERSIONS: u8 = 13;
const CMD_TARGET_MSG: u8 = 14;

// Flags.
pub const READONLY_FLAG: u32 = 1 << 0;
pub const SUSPEND_FLAG: u32 = 1 << 1;
const STATUS_TABLE_FLAG: u32 = 1 << 4;
const ACTIVE_PRESENT_FLAG: u32 = 1 << 5;
const INACTIVE_PRESENT_FLAG: u32 = 1 << 6;
const BUFFER_FULL_FLAG: u32 = 1 << 8;
const SKIP_LOCKFS_FLAG: u32 = 1 << 10;
const NOFLUSH_FLAG: u32 = 1 << 11;
/// DM_LIST_DEVICES: each record carries the device's UUID too (drivers 4.45 and later).
const UUID_FLAG: u32 = 1 << 14;
// The flags word after each name of a DM_LIST_DEVICES reply (drivers 4.38 and later).
const NAME_LIST_HAS_UUID: u32 = 1;
const NAME_LIST_HAS_NO_UUID: u32 = 2;

/// What DM_DEV_STATUS says about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmInfo {
    pub name: String,
    pub uuid: String,
    pub dev: DevNo,
    pub open_count: i32,
    pub target_count: u32,
    pub event_nr: u32,
    pub suspended: bool,
    pub read_only: bool,
    pub live_table: bool,
    pub inactive_table: bool,
}

/// One device of a DM_LIST_DEVICES reply with UUIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDevice {
    pub name: String,
    pub uuid: Option<String>,
    pub dev: DevNo,
}

/// The records of a DM_LIST_DEVICES reply asked with [`UUID_FLAG`]: per device its number, the
/// offset of the next record (from this one), the name, then - at the next 8-byte boundary -
/// the event number, a flags word and the UUID when the flags say it has one. None when a
/// record's flags say neither (a driver that ignored the request).
fn parse_name_list(data: &[u8]) -> Option<Vec<ListedDevice>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 12 <= data.len() {
        let dev = get_u64(data, at);
        let next = get_u32(data, at + 8) as usize;
        let name_at = at + 12;
        let name_len = data[name_at..].iter().position(|&b| b == 0)?;
        if dev == 0 && name_len == 0 {
            break; // no devices at all
        }
        let name = String::from_utf8_lossy(&data[name_at..name_at + name_len]).into_owned();
        let extra = (name_at + name_len + 1).next_multiple_of(8);
        if extra + 8 > data.len() {
            return None;
        }
        let flags = get_u32(data, extra + 4);
        let uuid = if flags & NAME_LIST_HAS_UUID != 0 {
            Some(get_str(&data[extra + 8..]))
        } else if flags & NAME_LIST_HAS_NO_UUID != 0 {
            None
        } else {
            return None;
        };
        out.push(ListedDevice {
            name,
            uuid,
            dev: DevNo::from_dev_t(dev),
        });
        if next == 0 {
            break;
        }
        at += next;
    }
    Some(out)
}

/// One table line as the kernel takes or returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLine {
    pub start: u64,
    pub length: u64,
    pub target_type: String,
    pub params: String,
}

/// Which device a request is about.
#[derive(Debug, Clone, Copy)]
pub enum DevId<'a> {
    Name(&'a str),
    Uuid(&'a str),
}

/// An open `/dev/mapper/control`.
pub struct Control {
    file: File,
    /// The driver's interface version, once asked.
    version: std::sync::OnceLock<(u32, u32, u32)>,
    /// Set when udev runs: the cookie of this control's events, and whether udev's rules make
    /// the /dev entries (`activation/udev_rules`).
    udev: Option<UdevSync>,
}

struct UdevSync {
    rules: bool,
    /// Created on the first event, waited for (and removed) by `udev_wait` or on drop.
    cookie: std::sync::Mutex<Option<udev::Cookie>>,
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_ne_bytes(b)
}

fn get_u64(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_ne_bytes(b)
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

/// A NUL-terminated string in a fixed field (or up to the end of `buf`).
fn get_str(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// A request: the dm_ioctl header plus its data area, in u64 words so it is 8-byte aligned
/// as the kernel's structures need.
struct Request {
    words: Vec<u64>,
}

impl Request {
    fn new(size: usize, id: Option<DevId<'_>>, flags: u32) -> io::Result<Request> {
        let size = size.max(HEADER + 8).next_multiple_of(8);
        let mut req = Request {
            words: vec![0u64; size / 8],
        };
        let buf = req.bytes_mut();
        put_u32(buf, 0, 4); // interface version 4.0.0: any 4.x kernel takes it
        put_u32(buf, 12, size as u32);
        put_u32(buf, 16, HEADER as u32);
        put_u32(buf, 28, flags);
        match id {
            Some(DevId::Name(name)) => {
                if name.is_empty() || name.len() >= NAME_LEN {
                    return Err(invalid(format!(
                        "dm name \"{name}\" must have 1 to {} bytes",
                        NAME_LEN - 1
                    )));
                }
                buf[48..48 + name.len()].copy_from_slice(name.as_bytes());
            }
            Some(DevId::Uuid(uuid)) => {
                if uuid.is_empty() || uuid.len() >= UUID_LEN {
                    return Err(invalid(format!(
                        "dm uuid \"{uuid}\" must have 1 to {} bytes",
                        UUID_LEN - 1
                    )));
                }
                buf[176..176 + uuid.len()].copy_from_slice(uuid.as_bytes());
            }
            None => {}
        }
        Ok(req)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: a u64 slice viewed as bytes: same allocation, 8x the length, u8 has no
        // alignment or validity requirements.
        unsafe {
            std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.words.len() * 8)
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; the exclusive borrow of `self` makes this the only view.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.words.as_mut_ptr().cast::<u8>(),
                self.words.len() * 8,
            )
        }
    }

    fn flags(&self) -> u32 {
        get_u32(self.bytes(), 28)
    }

    fn info(&self) -> DmInfo {
        let b = self.bytes();
        let flags = get_u32(b, 28);
        DmInfo {
            name: get_str(&b[48..48 + NAME_LEN]),
            uuid: get_str(&b[176..176 + UUID_LEN]),
            dev: DevNo::from_dev_t(get_u64(b, 40)),
            open_count: get_u32(b, 24) as i32,
            target_count: get_u32(b, 20),
            event_nr: get_u32(b, 32),
            suspended: flags & SUSPEND_FLAG != 0,
            read_only: flags & READONLY_FLAG != 0,
            live_table: flags & ACTIVE_PRESENT_FLAG != 0,
            inactive_table: flags & INACTIVE_PRESENT_FLAG != 0,
        }
    }

    /// The data the kernel wrote back: from data_start to data_size.
    fn data(&self) -> &[u8] {
        let b = self.bytes();
        let start = (get_u32(b, 16) as usize).min(b.len());
        let end = (get_u32(b, 12) as usize).clamp(start, b.len());
        &b[start..end]
    }
}

impl Control {
    pub fn open() -> io::Result<Control> {
        Control::open_at(Path::new(CONTROL_PATH))
    }

    pub fn open_at(path: &Path) -> io::Result<Control> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Control {
            file,
            version: std::sync::OnceLock::new(),
            udev: None,
        })
    }

    /// Synchronises with udev from now on (libdm's udev_sync): resume, remove and rename
    /// carry this control's cookie and [`Control::udev_wait`] waits until udev has handled
    /// them. `rules`: udev's rules make the /dev entries (else the caller does, as without
    /// udev, and the rules are told to keep away).
    pub fn sync_with_udev(&mut self, rules: bool) {
        self.udev = Some(UdevSync {
            rules,
            cookie: std::sync::Mutex::new(None),
        });
    }

    /// Whether udev makes /dev/mapper and /dev/<vg>/<lv> for this control's devices.
    pub fn udev_makes_nodes(&self) -> bool {
        self.udev.as_ref().is_some_and(|u| u.rules)
    }

    /// Waits until udev has handled every event sent with the cookie so far, then removes the
    /// cookie (the next event makes a new one). Nothing to do without udev sync.
    pub fn udev_wait(&self) -> io::Result<()> {
        let Some(sync) = &self.udev else {
            return Ok(());
        };
        let cookie = sync.cookie.lock().unwrap_or_else(|e| e.into_inner()).take();
        match cookie {
            Some(cookie) => cookie.wait(),
            None => Ok(()),
        }
    }

    /// Runs a request that makes the kernel send a uevent (resume, remove, rename) with the
    /// udev flags in its event_nr, as libdm does: always PRIMARY_SOURCE; with udev sync the
    /// cookie (raised first, lowered here when the ioctl fails or sends no uevent); without,
    /// the rules told that the caller makes the nodes.
    fn event_ioctl(&self, cmd: u8, req: &mut Request, flags: u16) -> io::Result<()> {
        let mut flags = flags | udev::PRIMARY_SOURCE;
        let Some(sync) = &self.udev else {
            flags |= udev::DISABLE_DM_RULES | udev::DISABLE_SUBSYSTEM_RULES;
            put_u32(req.bytes_mut(), 32, udev::event_nr(0, flags));
            return self.ioctl(cmd, req);
        };
        if sync.rules {
            flags |= udev::DISABLE_LIBRARY_FALLBACK;
        } else {
            flags |= udev::DISABLE_DM_RULES | udev::DISABLE_SUBSYSTEM_RULES;
        }
        let cookie = {
            let mut slot = sync.cookie.lock().unwrap_or_else(|e| e.into_inner());
            match *slot {
                Some(cookie) => cookie,
                None => *slot.insert(udev::Cookie::create()?),
            }
        };
        cookie.raise()?;
        put_u32(req.bytes_mut(), 32, udev::event_nr(cookie.value, flags));
        let result = self.ioctl(cmd, req);
        if result.is_err() || req.flags() & udev::UEVENT_GENERATED_FLAG == 0 {
            // Nobody else will confirm this event.
            let _ = cookie.complete();
        }
        result
    }

    fn ioctl(&self, cmd: u8, req: &mut Request) -> io::Result<()> {
        let code = nix::request_code_readwrite!(DM_IOCTL_TYPE, cmd, HEADER);
        let ptr = req.words.as_mut_ptr();
        // SAFETY: every dm ioctl takes a pointer to a struct dm_ioctl followed by its data; the
        // buffer is 8-byte aligned, its data_size field says how long it is (the kernel reads
        // and writes no further), and it lives until the call returns.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), code as _, ptr) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Runs a request whose reply may not fit: doubles the buffer until it does.
    fn run_growing(&self, cmd: u8, id: Option<DevId<'_>>, flags: u32) -> io::Result<Request> {
        let mut size = 16 * 1024;
        loop {
            let mut req = Request::new(size, id, flags)?;
            self.ioctl(cmd, &mut req)?;
            if req.flags() & BUFFER_FULL_FLAG == 0 {
                return Ok(req);
            }
            if size >= 64 << 20 {
                return Err(io::Error::other("device-mapper reply larger than 64 MiB"));
            }
            size *= 2;
        }
    }

    /// The driver's interface version, e.g. (4, 47, 0).
    pub fn version(&self) -> io::Result<(u32, u32, u32)> {
        if let Some(v) = self.version.get() {
            return Ok(*v);
        }
        let mut req = Request::new(HEADER, None, 0)?;
        self.ioctl(CMD_VERSION, &mut req)?;
        let b = req.bytes();
        let v = (get_u32(b, 0), get_u32(b, 4), get_u32(b, 8));
        Ok(*self.version.get_or_init(|| v))
    }

    /// Every dm device with its UUID (None for a device made without one), from one
    /// DM_LIST_DEVICES; None when the driver cannot list UUIDs (before 4.45), so the caller
    /// asks device by device instead.
    pub fn list_with_uuids(&self) -> io::Result<Option<Vec<ListedDevice>>> {
        let (major, minor, _) = self.version()?;
        if major != 4 || minor < 45 {
            return Ok(None);
        }
        let req = self.run_growing(CMD_LIST_DEVICES, None, UUID_FLAG)?;
        Ok(parse_name_list(req.data()))
    }

    /// Every dm device: name and number.
    pub fn list(&self) -> io::Result<Vec<(String, DevNo)>> {
        let req = self.run_growing(CMD_LIST_DEVICES, None, 0)?;
        let data = req.data();
        let mut out = Vec::new();
        let mut at = 0usize;
        while at + 12 <= data.len() {
            let dev = get_u64(data, at);
            let next = get_u32(data, at + 8) as usize;
            let name = get_str(&data[at + 12..]);
            if dev == 0 && name.is_empty() {
                break;
            }
            out.push((name, DevNo::from_dev_t(dev)));
            if next == 0 {
                break;
            }
            at += next;
        }
        Ok(out)
    }

    /// Every loaded target type with its version.
    pub fn target_versions(&self) -> io::Result<Vec<(String, [u32; 3])>> {
        let req = self.run_growing(CMD_LIST_VERSIONS, None, 0)?;
        let data = req.data();
        let mut out = Vec::new();
        let mut at = 0usize;
        while at + 16 <= data.len() {
            let next = get_u32(data, at) as usize;
            let v = [
                get_u32(data, at + 4),
                get_u32(data, at + 8),
                get_u32(data, at + 12),
            ];
            out.push((get_str(&data[at + 16..]), v));
            if next == 0 {
                break;
            }
            at += next;
        }
        Ok(out)
    }

    /// The device, or None when there is no such device.
    pub fn info(&self, id: DevId<'_>) -> io::Result<Option<DmInfo>> {
        let mut req = Request::new(HEADER, Some(id), 0)?;
        match self.ioctl(CMD_DEV_STATUS, &mut req) {
            Ok(()) => Ok(Some(req.info())),
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a device with no table (it is suspended until a table is loaded and resumed).
    pub fn create(&self, name: &str, uuid: &str) -> io::Result<DmInfo> {
        let mut req = Request::new(HEADER, Some(DevId::Name(name)), 0)?;
        if uuid.len() >= UUID_LEN {
            return Err(invalid(format!("dm uuid \"{uuid}\" is too long")));
        }
        req.bytes_mut()[176..176 + uuid.len()].copy_from_slice(uuid.as_bytes());
        self.ioctl(CMD_DEV_CREATE, &mut req)?;
        Ok(req.info())
    }

    /// Loads `table` as the device's inactive table.
    pub fn load(&self, id: DevId<'_>, table: &[TableLine], read_only: bool) -> io::Result<DmInfo> {
        let mut size = HEADER;
        for line in table {
            if line.target_type.is_empty() || line.target_type.len() >= MAX_TYPE_NAME {
                return Err(invalid(format!("bad target type \"{}\"", line.target_type)));
            }
            size += (TARGET_SPEC + line.params.len() + 1).next_multiple_of(8);
        }
        let mut req = Request::new(size, Some(id), if read_only { READONLY_FLAG } else { 0 })?;
        let buf = req.bytes_mut();
        put_u32(buf, 20, table.len() as u32);
        let mut at = HEADER;
        for line in table {
            let len = (TARGET_SPEC + line.params.len() + 1).next_multiple_of(8);
            put_u64(buf, at, line.start);
            put_u64(buf, at + 8, line.length);
            put_u32(buf, at + 20, len as u32); // next: from this spec to the next one
            buf[at + 24..at + 24 + line.target_type.len()]
                .copy_from_slice(line.target_type.as_bytes());
            let p = at + TARGET_SPEC;
            buf[p..p + line.params.len()].copy_from_slice(line.params.as_bytes());
            at += len;
        }
        self.ioctl(CMD_TABLE_LOAD, &mut req)?;
        Ok(req.info())
    }

    /// Drops a loaded inactive table.
    pub fn clear(&self, id: DevId<'_>) -> io::Result<()> {
        let mut req = Request::new(HEADER, Some(id), 0)?;
        self.ioctl(CMD_TABLE_CLEAR, &mut req)
    }

    /// Resumes the device, swapping in an inactive table if one is loaded.
    pub fn resume(&self, id: DevId<'_>) -> io::Result<DmInfo> {
        self.resume_udev(id, 0)
    }

    /// [`Control::resume`] with the device's udev flags (`udev::DISABLE_*`).
    pub fn resume_udev(&self, id: DevId<'_>, udev_flags: u16) -> io::Result<DmInfo> {
        let mut req = Request::new(HEADER, Some(id), 0)?;
        self.event_ioctl(CMD_DEV_SUSPEND, &mut req, udev_flags)?;
        Ok(req.info())
    }

    /// Suspends the device; `flush` false suspends without flushing queued I/O (noflush) and
    /// without freezing a file system on it, as LVM2 does for internal devices.
    pub fn suspend(&self, id: DevId<'_>, flush: bool) -> io::Result<DmInfo> {
        self.suspend_with(id, flush, flush)
    }

    /// Suspends the device: `flush` waits for queued I/O (else noflush), `lockfs` freezes a
    /// file system on it first (LVM2 does that only around snapshot changes).
    pub fn suspend_with(&self, id: DevId<'_>, flush: bool, lockfs: bool) -> io::Result<DmInfo> {
        let mut flags = SUSPEND_FLAG;
        if !flush {
            flags |= NOFLUSH_FLAG;
        }
        if !lockfs {
            flags |= SKIP_LOCKFS_FLAG;
        }
        let mut req = Request::new(HEADER, Some(id), flags)?;
        self.ioctl(CMD_DEV_SUSPEND, &mut req)?;
        Ok(req.info())
    }

    /// Renames the device (DM_DEV_RENAME): the new name follows the header.
    pub fn rename(&self, id: DevId<'_>, new_name: &str) -> io::Result<()> {
        self.rename_udev(id, new_name, 0)
    }

    /// [`Control::rename`] with the device's udev flags.
    pub fn rename_udev(&self, id: DevId<'_>, new_name: &str, udev_flags: u16) -> io::Result<()> {
        if new_name.is_empty() || new_name.len() >= NAME_LEN {
            return Err(invalid(format!(
                "dm name \"{new_name}\" must have 1 to {} bytes",
                NAME_LEN - 1
            )));
        }
        let mut req = Request::new(HEADER + new_name.len() + 1, Some(id), 0)?;
        req.bytes_mut()[HEADER..HEADER + new_name.len()].copy_from_slice(new_name.as_bytes());
        self.event_ioctl(CMD_DEV_RENAME, &mut req, udev_flags)
    }

    pub fn remove(&self, id: DevId<'_>) -> io::Result<()> {
        self.remove_udev(id, 0)
    }

    /// [`Control::remove`] with the device's udev flags.
    pub fn remove_udev(&self, id: DevId<'_>, udev_flags: u16) -> io::Result<()> {
        let mut req = Request::new(HEADER, Some(id), 0)?;
        self.event_ioctl(CMD_DEV_REMOVE, &mut req, udev_flags)
    }

    fn table_status(&self, id: DevId<'_>, flags: u32) -> io::Result<Vec<TableLine>> {
        let req = self.run_growing(CMD_TABLE_STATUS, Some(id), flags)?;
        let count = get_u32(req.bytes(), 20) as usize;
        let data = req.data();
        let mut out = Vec::new();
        let mut at = 0usize;
        for _ in 0..count {
            if at + TARGET_SPEC > data.len() {
                break;
            }
            let start = get_u64(data, at);
            let length = get_u64(data, at + 8);
            let next = get_u32(data, at + 20) as usize;
            let target_type = get_str(&data[at + 24..at + 24 + MAX_TYPE_NAME]);
            let params = get_str(&data[at + TARGET_SPEC..]);
            out.push(TableLine {
                start,
                length,
                target_type,
                params,
            });
            // On output, `next` counts from the start of the data area.
            if next <= at {
                break;
            }
            at = next;
        }
        Ok(out)
    }

    /// The live table, as `dmsetup table` prints it.
    pub fn table(&self, id: DevId<'_>) -> io::Result<Vec<TableLine>> {
        self.table_status(id, STATUS_TABLE_FLAG)
    }

    /// The targets' status lines, as `dmsetup status` prints them.
    pub fn status(&self, id: DevId<'_>) -> io::Result<Vec<TableLine>> {
        self.table_status(id, 0)
    }

    /// The devices the live table uses.
    pub fn deps(&self, id: DevId<'_>) -> io::Result<Vec<DevNo>> {
        let req = self.run_growing(CMD_TABLE_DEPS, Some(id), 0)?;
        let data = req.data();
        if data.len() < 8 {
            return Ok(Vec::new());
        }
        let count = get_u32(data, 0) as usize;
        Ok((0..count)
            .take_while(|i| 8 + i * 8 + 8 <= data.len())
            .map(|i| DevNo::from_dev_t(get_u64(data, 8 + i * 8)))
            .collect())
    }

    /// Sends a message to the target at `sector` (thin pools take theirs at sector 0).
    pub fn message(&self, id: DevId<'_>, sector: u64, message: &str) -> io::Result<()> {
        let mut req = Request::new(HEADER + 8 + message.len() + 1, Some(id), 0)?;
        let buf = req.bytes_mut();
        put_u64(buf, HEADER, sector);
        buf[HEADER + 8..HEADER + 8 + message.len()].copy_from_slice(message.as_bytes());
        self.ioctl(CMD_TARGET_MSG, &mut req)
    }
}

impl Drop for Control {
    /// Nothing is left for udev to confirm, and no cookie semaphore stays behind.
    fn drop(&mut self) {
        if let Err(e) = self.udev_wait() {
            eprintln!("  WARNING: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_sit_where_the_kernel_reads_them() {
        let req = Request::new(HEADER, Some(DevId::Name("vg-lv")), READONLY_FLAG).unwrap();
        let b = req.bytes();
        assert_eq!(get_u32(b, 0), 4);
        assert_eq!(get_u32(b, 12) as usize, b.len());
        assert_eq!(get_u32(b, 16) as usize, HEADER);
        assert_eq!(get_u32(b, 28), READONLY_FLAG);
        assert_eq!(get_str(&b[48..]), "vg-lv");
        assert_eq!(b.as_ptr() as usize % 8, 0);
        let req = Request::new(HEADER, Some(DevId::Uuid("LVM-x")), 0).unwrap();
        assert_eq!(get_str(&req.bytes()[176..]), "LVM-x");
        assert!(Request::new(HEADER, Some(DevId::Name(&"x".repeat(128))), 0).is_err());
        assert!(Request::new(HEADER, Some(DevId::Name("")), 0).is_err());
    }

    /// A DM_LIST_DEVICES reply as the kernel lays it out: one record per device, its event
    /// number and flags at the 8-byte boundary after the name, then the UUID.
    fn name_record(dev: u64, name: &str, flags: u32, uuid: &str, last: bool) -> Vec<u8> {
        let mut rec = Vec::new();
        rec.extend_from_slice(&dev.to_ne_bytes());
        rec.extend_from_slice(&0u32.to_ne_bytes()); // next, set below
        rec.extend_from_slice(name.as_bytes());
        rec.push(0);
        rec.resize(rec.len().next_multiple_of(8), 0);
        rec.extend_from_slice(&7u32.to_ne_bytes()); // event_nr
        rec.extend_from_slice(&flags.to_ne_bytes());
        rec.extend_from_slice(uuid.as_bytes());
        rec.push(0);
        rec.resize(rec.len().next_multiple_of(8), 0);
        if !last {
            let len = rec.len() as u32;
            rec[8..12].copy_from_slice(&len.to_ne_bytes());
        }
        rec
    }

    #[test]
    fn device_list_with_uuids() {
        let dev = DevNo::new(253, 4).to_dev_t();
        let mut data = name_record(dev, "vg-lv", NAME_LIST_HAS_UUID, "LVM-abc", false);
        data.extend(name_record(
            dev + 1,
            "plain",
            NAME_LIST_HAS_NO_UUID,
            "",
            true,
        ));
        let list = parse_name_list(&data).unwrap();
        assert_eq!(
            list,
            [
                ListedDevice {
                    name: "vg-lv".into(),
                    uuid: Some("LVM-abc".into()),
                    dev: DevNo::new(253, 4)
                },
                ListedDevice {
                    name: "plain".into(),
                    uuid: None,
                    dev: DevNo::new(253, 5)
                }
            ]
        );
        // No devices: one empty record.
        assert_eq!(parse_name_list(&[0u8; 16]).unwrap(), []);
        // A driver that ignored the UUID request (neither flag): the caller asks per device.
        let old = name_record(dev, "vg-lv", 0, "", true);
        assert!(parse_name_list(&old).is_none());
        // A name running off the end.
        assert!(parse_name_list(&data[..14]).is_none());
    }

    #[test]
    fn ioctl_numbers_match_linux() {
        // DM_VERSION = _IOWR(0xfd, 0, struct dm_ioctl) = 0xc138fd00 on x86-64.
        assert_eq!(
            nix::request_code_readwrite!(DM_IOCTL_TYPE, CMD_VERSION, HEADER),
            0xc138fd00
        );
        assert_eq!(
            nix::request_code_readwrite!(DM_IOCTL_TYPE, CMD_TABLE_LOAD, HEADER),
            0xc138fd09
        );
    }
}
