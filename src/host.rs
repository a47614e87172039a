//! Facts about this host that go into every metadata text LVM2-style: node name, the uname
//! line, the time and the local UTC offset for the `# date` comments.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// `creation_host`: the node name.
    pub node: String,
    /// The comment after `creation_host`: sysname, node, release, version, machine.
    pub uname: String,
    pub now: u64,
    /// Seconds east of UTC for `now` in the local time zone.
    pub utc_offset: i32,
}

impl HostInfo {
    pub fn current() -> HostInfo {
        let (node, uname) = match nix::sys::utsname::uname() {
            Ok(u) => {
                let s = |o: &std::ffi::OsStr| o.to_string_lossy().into_owned();
                let node = s(u.nodename());
                let line = format!(
                    "{} {} {} {} {}",
                    s(u.sysname()),
                    node,
                    s(u.release()),
                    s(u.version()),
                    s(u.machine())
                );
                (node, line)
            }
            Err(_) => ("localhost".to_string(), "Linux".to_string()),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        HostInfo {
            node,
            uname,
            now,
            utc_offset: local_utc_offset(now),
        }
    }
}

/// The local zone's offset from UTC at `epoch`, as the C library computes it from TZ and
/// /etc/localtime.
pub fn local_utc_offset(epoch: u64) -> i32 {
    let t: libc::time_t = i64::try_from(epoch).unwrap_or(0);
    let mut tm: libc::tm = libc::tm {
        tm_sec: 0,
        tm_min: 0,
        tm_hour: 0,
        tm_mday: 0,
        tm_mon: 0,
        tm_year: 0,
        tm_wday: 0,
        tm_yday: 0,
        tm_isdst: 0,
        tm_gmtoff: 0,
        tm_zone: std::ptr::null(),
    };
    // SAFETY: localtime_r is the re-entrant form: it reads `t` and writes only into `tm`,
    // both valid for the duration of the call; a null return (error) leaves `tm` zeroed.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok {
        i32::try_from(tm.tm_gmtoff).unwrap_or(0)
    } else {
        0
    }
}

/// 32 random bytes from the OS generator, for new PV, VG and LV ids.
pub fn random_bytes32() -> [u8; 32] {
    let mut out = [0u8; 32];
    if fill_random(&mut out).is_err() {
        out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out
}

/// Fills `buf` from the kernel's random source with getrandom(2): one system call. (The
/// uuid crate's source, in the statically linked binary, first polls /dev/random and then
/// reads /dev/urandom: five calls.)
pub fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: getrandom writes at most `rest.len()` bytes at `rest`'s start, a live,
        // exclusively borrowed buffer of that length.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n > 0 {
            done += n as usize;
        } else {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// A new LVM2 identifier (VG or LV id): 32 characters of LVM2's id alphabet.
pub fn new_id() -> metadata_format::text::Id {
    let pv = metadata_format::header::PvUuid::from_random_bytes(random_bytes32());
    metadata_format::text::Id::from_bytes(*pv.as_bytes()).unwrap_or_else(new_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_differ_and_fill_the_buffer() {
        let (a, b) = (random_bytes32(), random_bytes32());
        assert_ne!(a, b);
        let mut big = [0u8; 4096];
        fill_random(&mut big).unwrap();
        // 4,096 random bytes with no zero among them, or all zero, would be a broken fill.
        assert!(big.iter().any(|&x| x != 0));
        assert!(big.iter().filter(|&&x| x == 0).count() < 100);
    }

    #[test]
    fn host_facts_are_filled() {
        let h = HostInfo::current();
        assert!(!h.node.is_empty());
        assert!(h.uname.contains(&h.node));
        assert!(h.now > 1_700_000_000);
        assert!(h.utc_offset.abs() <= 14 * 3600);
    }
}
