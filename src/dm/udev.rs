//! udev synchronisation of device-mapper changes, compatible with libdevmapper's: when udev runs
//! (with the device-mapper rules LVM2 and dmsetup install), the ioctls that make the kernel send
//! a uevent (resume, remove, rename) carry a "cookie" in their `event_nr`: a System V semaphore
//! key with the udev flags in its upper 16 bits. Each such ioctl raises the semaphore by one;
//! udev's `95-dm-notify.rules` runs `dmsetup udevcomplete <cookie>`, which lowers it, once its
//! rules for the event are done (nodes and links made or removed). The command waits for the
//! semaphore to reach zero and then removes it, so that `dmsetup udevcookies` shows nothing left.
//!
//! Without udev the cookie is not used and the command makes the nodes itself (`nodes.rs`).

use std::io;

/// The upper half of every cookie value (libdm's DM_COOKIE_MAGIC).
pub const COOKIE_MAGIC: u32 = 0x0D4D;
const FLAGS_SHIFT: u32 = 16;

/// Flags udev's device-mapper rules read from the cookie (libdevmapper.h's DM_UDEV_* values).
pub const DISABLE_DM_RULES: u16 = 0x0001;
pub const DISABLE_SUBSYSTEM_RULES: u16 = 0x0002;
pub const DISABLE_DISK_RULES: u16 = 0x0004;
pub const DISABLE_OTHER_RULES: u16 = 0x0008;
pub const LOW_PRIORITY: u16 = 0x0010;
pub const DISABLE_LIBRARY_FALLBACK: u16 = 0x0020;
pub const PRIMARY_SOURCE: u16 = 0x0040;

/// Set by the kernel in the reply's flags when the ioctl sent a uevent (dm-ioctl.h).
pub const UEVENT_GENERATED_FLAG: u32 = 1 << 13;

/// Where udev's control socket lives while udevd runs (what libudev checks).
pub const UDEV_CONTROL: &str = "/run/udev/control";

/// How long a command waits for udev before giving up on it (libdm waits forever; a stuck or
/// stopped udevd would hang every command).
const WAIT_SECS: i64 = 120;

/// Whether udev manages /dev here: its control socket exists and `DM_DISABLE_UDEV` is not set
/// (libdm's rule: with that variable set, the library makes the nodes even when udev runs).
pub fn udev_running() -> bool {
    if std::env::var_os("DM_DISABLE_UDEV").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    std::path::Path::new(UDEV_CONTROL).exists()
}

/// The event_nr value of an ioctl: the flags in the upper half, the cookie's low half below.
pub fn event_nr(cookie: u32, flags: u16) -> u32 {
    (u32::from(flags) << FLAGS_SHIFT) | (cookie & 0xffff)
}

/// One command's cookie: a semaphore created on first use, raised once per ioctl that
/// carries it, and waited for (then removed) by [`Cookie::wait`].
#[derive(Debug, Clone, Copy)]
pub struct Cookie {
    pub value: u32,
    semid: i32,
}

fn os_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("udev cookie {what}: {e}"))
}

// semctl commands and flags (linux/sem.h, linux/ipc.h).
const GETVAL: i32 = 12;
const SETVAL: i32 = 16;

impl Cookie {
    /// A new semaphore with a random, unused key `0x0D4Dxxxx`, set to 1 (libdm's starting
    /// value: the waiter's own decrement brings it to zero once every event is confirmed).
    pub fn create() -> io::Result<Cookie> {
        let mut tries = 0;
        loop {
            let mut low = [0u8; 2];
            getrandom(&mut low)?;
            let low = u16::from_ne_bytes(low);
            if low == 0 {
                continue;
            }
            let value = (COOKIE_MAGIC << FLAGS_SHIFT) | u32::from(low);
            // SAFETY: semget takes plain integers; no memory is passed.
            let semid = unsafe {
                libc::semget(
                    value as libc::key_t,
                    1,
                    0o600 | libc::IPC_CREAT | libc::IPC_EXCL,
                )
            };
            if semid < 0 {
                let e = io::Error::last_os_error();
                tries += 1;
                if e.raw_os_error() == Some(libc::EEXIST) && tries < 1000 {
                    continue;
                }
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "cannot create a udev cookie semaphore: {e} (limits: /proc/sys/kernel/sem)"
                    ),
                ));
            }
            let cookie = Cookie { value, semid };
            // SAFETY: SETVAL takes an int as its fourth argument (the `val` of union semun).
            if unsafe { libc::semctl(semid, 0, SETVAL, 1 as libc::c_int) } < 0 {
                let e = os_err("set");
                cookie.destroy();
                return Err(e);
            }
            return Ok(cookie);
        }
    }

    fn sem_add(&self, delta: i16) -> io::Result<()> {
        let mut op = libc::sembuf {
            sem_num: 0,
            sem_op: delta,
            sem_flg: 0,
        };
        loop {
            // SAFETY: one sembuf, valid for the call.
            if unsafe { libc::semop(self.semid, &mut op, 1) } == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(os_err(if delta > 0 { "increment" } else { "decrement" }));
            }
        }
    }

    /// Before an ioctl that carries the cookie: one more event to wait for.
    pub fn raise(&self) -> io::Result<()> {
        self.sem_add(1)
    }

    /// After an ioctl that failed or sent no uevent: nobody else will confirm it.
    pub fn complete(&self) -> io::Result<()> {
        self.sem_add(-1)
    }

    /// The semaphore's value now.
    pub fn value_now(&self) -> io::Result<i32> {
        // SAFETY: GETVAL takes no fourth argument.
        let v = unsafe { libc::semctl(self.semid, 0, GETVAL) };
        if v < 0 {
            Err(os_err("read"))
        } else {
            Ok(v)
        }
    }

    /// Waits until udev confirmed every event (the semaphore reaches zero after the waiter's
    /// own decrement), then removes the semaphore. Gives up after two minutes; the semaphore is
    /// removed either way.
    pub fn wait(self) -> io::Result<()> {
        let result = self.sem_add(-1).and_then(|_| {
            let mut op = libc::sembuf {
                sem_num: 0,
                sem_op: 0,
                sem_flg: 0,
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(WAIT_SECS as u64);
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "udev did not confirm the device changes of cookie {:#x} within {WAIT_SECS} s (is udevd running with the device-mapper rules?)",
                            self.value
                        ),
                    ));
                }
                let ts = libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
                };
                // SAFETY: semtimedop(semid, one sembuf, 1, timeout): both pointers are valid
                // for the call.
                let rc = unsafe {
                    libc::syscall(
                        libc::SYS_semtimedop,
                        self.semid,
                        &mut op as *mut libc::sembuf,
                        1usize,
                        &ts as *const libc::timespec,
                    )
                };
                if rc == 0 {
                    return Ok(());
                }
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
                    // Removed by someone else (`dmsetup udevcomplete_all`): nothing to wait for.
                    Some(libc::EIDRM) | Some(libc::EINVAL) => return Ok(()),
                    _ => return Err(os_err("wait")),
                }
            }
        });
        self.destroy();
        result
    }

    fn destroy(&self) {
        // SAFETY: IPC_RMID takes no fourth argument.
        unsafe { libc::semctl(self.semid, 0, libc::IPC_RMID) };
    }
}

fn getrandom(buf: &mut [u8]) -> io::Result<()> {
    crate::host::fill_random(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_nr_carries_flags_above_the_cookie() {
        assert_eq!(
            event_nr(0x0D4D_1234, PRIMARY_SOURCE | DISABLE_LIBRARY_FALLBACK),
            0x0060_1234
        );
        assert_eq!(event_nr(0, PRIMARY_SOURCE), 0x0040_0000);
    }

    #[test]
    fn a_cookie_counts_events_and_is_gone_after_the_wait() {
        let Ok(cookie) = Cookie::create() else {
            return; // no System V IPC here (a restricted sandbox)
        };
        assert_eq!(cookie.value >> 16, COOKIE_MAGIC);
        assert_eq!(cookie.value_now().unwrap(), 1);
        cookie.raise().unwrap();
        cookie.raise().unwrap();
        assert_eq!(cookie.value_now().unwrap(), 3);
        cookie.complete().unwrap();
        cookie.complete().unwrap();
        let semid = cookie.semid;
        cookie.wait().unwrap();
        // SAFETY: GETVAL on a removed id just fails.
        assert!(
            unsafe { libc::semctl(semid, 0, GETVAL) } < 0,
            "semaphore removed"
        );
    }
}
