//! Running a container: its LV mounted under /run/oxlvm, a cgroup v2 group with its limits,
//! and the entrypoint as PID 1 in new mount, PID, UTS, IPC, network (loopback only) and cgroup
//! namespaces, pivot_root'ed into the LV's tree, with a minimal /dev, read-only /sys, masked
//! /proc paths, Docker's default capabilities, no_new_privs and a seccomp filter. The monitor
//! (the attached `run` itself, or a detached copy of oxlvm) relays output to the log and the
//! terminal, forwards signals, records the exit in the VG and takes everything down.

use super::fs::secure_join;
use super::record::{ContainerRecord, ExitState, Kind, MountSpec};
use super::store::{self, failed, Mounted, Store, RUN_DIR};
use crate::error::CmdResult;
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const LOG_FILE: &str = "oxlvm-log.json";
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Docker's default capability set.
const DEFAULT_CAPS: &[u32] = &[
    0,  // CHOWN
    1,  // DAC_OVERRIDE
    3,  // FOWNER
    4,  // FSETID
    5,  // KILL
    6,  // SETGID
    7,  // SETUID
    8,  // SETPCAP
    10, // NET_BIND_SERVICE
    13, // NET_RAW
    18, // SYS_CHROOT
    27, // MKNOD
    29, // AUDIT_WRITE
    31, // SETFCAP
];

/// What /run/oxlvm/containers/ID/state.json says about a running container.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunState {
    pub pid: i32,
    pub monitor: i32,
    pub started_at: u64,
    pub lv: String,
}

pub fn state_dir(id: &str) -> PathBuf {
    PathBuf::from(RUN_DIR).join("containers").join(id)
}

fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

/// The state of a running container, if it runs.
pub fn running(id: &str) -> Option<RunState> {
    let text = fs::read_to_string(state_dir(id).join("state.json")).ok()?;
    let st: RunState = serde_json::from_str(&text).ok()?;
    alive(st.monitor).then_some(st)
}

/// Removes a container's runtime directory without ever descending into a mount: stale
/// mounts (a monitor that died) are detached first, and only empty directories are removed.
pub fn clear_state_dir(id: &str) {
    let dir = state_dir(id);
    let Ok(list) = fs::read_dir(&dir) else { return };
    for entry in list.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if store::is_mounted(&path) {
                let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
            }
            let _ = fs::remove_dir(&path);
        } else {
            let _ = fs::remove_file(&path);
        }
    }
    let _ = fs::remove_dir(&dir);
}

/// Where the container's LV is mounted while it runs.
pub fn mount_dir(id: &str) -> PathBuf {
    state_dir(id).join("mnt")
}

pub fn signal_number(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = name.to_ascii_uppercase();
    let up = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match up {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "CHLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        "WINCH" => 28,
        _ => return None,
    };
    Some(n)
}

// ---- small syscall wrappers ----

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

fn mount_raw(
    src: &Path,
    target: &Path,
    fstype: &str,
    flags: libc::c_ulong,
    data: &str,
) -> Result<(), String> {
    let s = cpath(src);
    let t = cpath(target);
    let f = CString::new(fstype).unwrap_or_default();
    let d = CString::new(data).unwrap_or_default();
    // SAFETY: mount(2) reads the NUL-terminated strings only during the call.
    let rc = unsafe {
        libc::mount(
            s.as_ptr(),
            t.as_ptr(),
            if fstype.is_empty() {
                std::ptr::null()
            } else {
                f.as_ptr()
            },
            flags,
            if data.is_empty() {
                std::ptr::null()
            } else {
                d.as_ptr().cast()
            },
        )
    };
    if rc != 0 {
        return Err(format!(
            "mount {} on {}: {}",
            src.display(),
            target.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Capability sets through capset(2) (version 3: two 32-bit words each).
fn set_caps(caps: &[u32]) -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut words = [0u32; 2];
    for &c in caps {
        words[(c / 32) as usize] |= 1 << (c % 32);
    }
    let header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [
        Data {
            effective: words[0],
            permitted: words[0],
            inheritable: words[0],
        },
        Data {
            effective: words[1],
            permitted: words[1],
            inheritable: words[1],
        },
    ];
    // SAFETY: capset reads one header and two data structs of the v3 layout, both live here.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    if rc != 0 {
        return Err(format!("capset: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn drop_bounding_set(keep: &[u32]) {
    for cap in 0..64u32 {
        if !keep.contains(&cap) {
            // SAFETY: prctl with integer arguments only; an unknown cap number fails with EINVAL.
            unsafe {
                libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0);
            }
        }
    }
}

/// Docker's default seccomp profile in spirit: the syscalls that reach beyond a container
/// (kernel modules, kexec, reboot, swap, clock, keyrings, bpf, perf, mount-namespace and
/// ptrace escapes, the x32 ABI) fail with EPERM; a foreign architecture is killed.
fn install_seccomp() -> Result<(), String> {
    const BLOCKED: &[i64] = &[
        libc::SYS_acct,
        libc::SYS_add_key,
        libc::SYS_bpf,
        libc::SYS_clock_adjtime,
        libc::SYS_clock_settime,
        174, // create_module
        libc::SYS_delete_module,
        libc::SYS_finit_module,
        177, // get_kernel_syms
        libc::SYS_get_mempolicy,
        libc::SYS_init_module,
        libc::SYS_ioperm,
        libc::SYS_iopl,
        libc::SYS_kcmp,
        libc::SYS_kexec_file_load,
        libc::SYS_kexec_load,
        libc::SYS_keyctl,
        libc::SYS_lookup_dcookie,
        libc::SYS_mbind,
        libc::SYS_mount,
        libc::SYS_move_pages,
        libc::SYS_name_to_handle_at,
        libc::SYS_nfsservctl,
        libc::SYS_open_by_handle_at,
        libc::SYS_perf_event_open,
        libc::SYS_personality,
        libc::SYS_pivot_root,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_ptrace,
        178, // query_module
        libc::SYS_quotactl,
        libc::SYS_reboot,
        libc::SYS_request_key,
        libc::SYS_set_mempolicy,
        libc::SYS_setns,
        libc::SYS_settimeofday,
        libc::SYS_swapoff,
        libc::SYS_swapon,
        libc::SYS_sysfs,
        libc::SYS__sysctl,
        libc::SYS_umount2,
        libc::SYS_unshare,
        libc::SYS_uselib,
        libc::SYS_userfaultfd,
        libc::SYS_ustat,
        libc::SYS_vhangup,
    ];
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    const RET_KILL_PROCESS: u32 = 0x8000_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    let stmt = |code: u16, k: u32| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
    let mut prog = vec![
        stmt(LD_W_ABS, 4), // arch
        jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET_K, RET_KILL_PROCESS),
        stmt(LD_W_ABS, 0),              // nr
        jump(JGE_K, 0x4000_0000, 0, 1), // x32 ABI
        stmt(RET_K, RET_ERRNO | libc::EPERM as u32),
    ];
    for &nr in BLOCKED {
        prog.push(jump(JEQ_K, nr as u32, 0, 1));
        prog.push(stmt(RET_K, RET_ERRNO | libc::EPERM as u32));
    }
    prog.push(stmt(RET_K, RET_ALLOW));
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: the kernel copies the filter program during the call; `prog` outlives it.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc != 0 {
        return Err(format!("seccomp: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Brings the new network namespace's loopback up.
fn loopback_up() -> Result<(), String> {
    // SAFETY: socket(2) with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh descriptor owned here.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in b"lo".iter().enumerate() {
        req.ifr_name[i] = *b as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq passed by pointer.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) != 0 {
            return Err(format!("SIOCGIFFLAGS: {}", std::io::Error::last_os_error()));
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) != 0 {
            return Err(format!("SIOCSIFFLAGS: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// `-u` resolved inside the container: (uid, gid, supplementary groups, home).
fn resolve_user(user: &str) -> Result<(u32, u32, Vec<u32>, String), String> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = fs::read_to_string("/etc/group").unwrap_or_default();
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && (f[0] == u || (u.parse::<u32>().is_ok() && f[2] == u)));
    let uid: u32 = match u.parse() {
        Ok(n) => n,
        Err(_) => entry
            .as_ref()
            .and_then(|f| f[2].parse().ok())
            .ok_or_else(|| {
                format!("unable to find user {u}: no matching entries in passwd file")
            })?,
    };
    let mut gid: u32 = entry.as_ref().and_then(|f| f[3].parse().ok()).unwrap_or(0);
    let home = entry
        .as_ref()
        .map(|f| f[5].to_string())
        .unwrap_or_else(|| "/".to_string());
    if let Some(g) = g {
        gid = match g.parse() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 3 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| {
                    format!("unable to find group {g}: no matching entries in group file")
                })?,
        };
    }
    let name = entry.as_ref().map(|f| f[0].to_string()).unwrap_or_default();
    let mut groups = vec![gid];
    if !name.is_empty() && g.is_none() {
        for f in group.lines().map(|l| l.split(':').collect::<Vec<_>>()) {
            if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                if let Ok(n) = f[2].parse() {
                    if !groups.contains(&n) {
                        groups.push(n);
                    }
                }
            }
        }
    }
    Ok((uid, gid, groups, home))
}

/// Everything the container process needs, prepared before the clone.
pub struct Launch {
    pub rootfs: PathBuf,
    pub hostname: String,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    pub tty: bool,
    /// `--init`: PID 1 is a small init (this code) that reaps zombies and forwards signals.
    pub init: bool,
    /// (host source, target in the container, read-only)
    pub binds: Vec<(PathBuf, String, bool)>,
}

struct ChildFds {
    sync_read: RawFd,
    ready_write: RawFd,
    err_write: RawFd,
    stdin: Option<RawFd>,
    stdout: Option<RawFd>,
    stderr: Option<RawFd>,
}

/// The container's PID 1 before exec. Returns only on failure (the message goes to the
/// parent through the error pipe).
fn child_main(l: &Launch, fds: &ChildFds) -> Result<(), (i32, String)> {
    let fail = |e: String| (125, e);
    let mut byte = [0u8; 1];
    // SAFETY: read(2) into a one-byte buffer owned here.
    unsafe { libc::read(fds.sync_read, byte.as_mut_ptr().cast(), 1) };
    // Our own cgroup namespace, rooted at the container's group.
    let _ = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP);
    let root = &l.rootfs;
    let none = Path::new("none");
    mount_raw(
        none,
        Path::new("/"),
        "",
        libc::MS_REC | libc::MS_PRIVATE,
        "",
    )
    .map_err(fail)?;
    mount_raw(root, root, "", libc::MS_BIND | libc::MS_REC, "").map_err(fail)?;
    // Every mount the container can write is nodev: a device node in the image, or one made
    // with CAP_MKNOD, opens nothing (Docker's device cgroup allow-list, by mount flags; the
    // allowed nodes in /dev are bind mounts of their own).
    mount_raw(
        root,
        root,
        "",
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NODEV,
        "",
    )
    .map_err(fail)?;
    for (src, target, ro) in &l.binds {
        let at = secure_join(root, Path::new(target));
        if src.is_dir() {
            let _ = fs::create_dir_all(&at);
        } else if fs::symlink_metadata(&at).is_err() {
            if let Some(p) = at.parent() {
                let _ = fs::create_dir_all(p);
            }
            let _ = File::create(&at);
        }
        mount_raw(src, &at, "", libc::MS_BIND | libc::MS_REC, "").map_err(fail)?;
        let ro_flag = if *ro { libc::MS_RDONLY } else { 0 };
        mount_raw(
            src,
            &at,
            "",
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NODEV | ro_flag,
            "",
        )
        .map_err(fail)?;
    }
    let sub = |p: &str| secure_join(root, Path::new(p));
    for d in ["proc", "sys", "dev"] {
        let _ = fs::create_dir_all(sub(d));
    }
    let nse = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mount_raw(Path::new("proc"), &sub("proc"), "proc", nse, "").map_err(fail)?;
    mount_raw(
        Path::new("sysfs"),
        &sub("sys"),
        "sysfs",
        nse | libc::MS_RDONLY,
        "",
    )
    .map_err(fail)?;
    let _ = mount_raw(
        Path::new("cgroup2"),
        &sub("sys/fs/cgroup"),
        "cgroup2",
        nse | libc::MS_RDONLY,
        "",
    );
    let dev = sub("dev");
    mount_raw(
        Path::new("tmpfs"),
        &dev,
        "tmpfs",
        libc::MS_NOSUID | libc::MS_STRICTATIME,
        "mode=755,size=65536k",
    )
    .map_err(fail)?;
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let p = dev.join(name);
        nix::sys::stat::mknod(
            &p,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(major, minor),
        )
        .map_err(|e| fail(format!("mknod /dev/{name}: {e}")))?;
        let _ = fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o666));
        // A mount of its own keeps the node usable once /dev itself is nodev.
        mount_raw(&p, &p, "", libc::MS_BIND, "").map_err(fail)?;
    }
    mount_raw(
        &dev,
        &dev,
        "",
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_STRICTATIME,
        "",
    )
    .map_err(fail)?;
    let _ = fs::create_dir(dev.join("pts"));
    mount_raw(
        Path::new("devpts"),
        &dev.join("pts"),
        "devpts",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620,gid=5",
    )
    .map_err(fail)?;
    let _ = std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx"));
    let _ = fs::create_dir(dev.join("shm"));
    mount_raw(
        Path::new("shm"),
        &dev.join("shm"),
        "tmpfs",
        nse,
        "mode=1777,size=65536k",
    )
    .map_err(fail)?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let _ = std::os::unix::fs::symlink(target, dev.join(name));
    }
    // Masked and read-only /proc paths, as Docker's defaults.
    for p in [
        "proc/kcore",
        "proc/keys",
        "proc/timer_list",
        "proc/sched_debug",
    ] {
        let at = sub(p);
        if at.exists() {
            let _ = mount_raw(&dev.join("null"), &at, "", libc::MS_BIND, "");
        }
    }
    for p in ["proc/scsi", "sys/firmware"] {
        let at = sub(p);
        if at.is_dir() {
            let _ = mount_raw(Path::new("tmpfs"), &at, "tmpfs", libc::MS_RDONLY, "");
        }
    }
    for p in [
        "proc/bus",
        "proc/fs",
        "proc/irq",
        "proc/sys",
        "proc/sysrq-trigger",
    ] {
        let at = sub(p);
        if at.exists() && mount_raw(&at, &at, "", libc::MS_BIND | libc::MS_REC, "").is_ok() {
            let _ = mount_raw(
                &at,
                &at,
                "",
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | nse,
                "",
            );
        }
    }
    // pivot_root into the tree; the old root is detached at once.
    nix::unistd::chdir(root.as_path()).map_err(|e| fail(format!("chdir: {e}")))?;
    match nix::unistd::pivot_root(".", ".") {
        Ok(()) => {
            nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH)
                .map_err(|e| fail(format!("umount old root: {e}")))?;
        }
        // The host's root is an initramfs (rootfs), which pivot_root refuses: move the tree
        // over / instead and chroot into it, as runc does for ramdisk roots. The tree then
        // sits on the root of the namespace's first mount, so `..` from its top (even after
        // a chroot elsewhere, with CAP_SYS_CHROOT) stays in it: the kernel climbs to a
        // mount's mountpoint only where that is not the parent mount's own root.
        Err(nix::errno::Errno::EINVAL) => {
            mount_raw(Path::new("."), Path::new("/"), "", libc::MS_MOVE, "").map_err(fail)?;
            nix::unistd::chroot(".").map_err(|e| fail(format!("chroot: {e}")))?;
        }
        Err(e) => return Err(fail(format!("pivot_root: {e}"))),
    }
    nix::unistd::chdir("/").map_err(|e| fail(format!("chdir: {e}")))?;
    nix::unistd::sethostname(&l.hostname).map_err(|e| fail(format!("sethostname: {e}")))?;
    loopback_up().map_err(fail)?;
    // stdio: a terminal the parent opened in our devpts, or the pipes.
    if l.tty {
        // SAFETY: write(2) of one byte from a local buffer.
        unsafe { libc::write(fds.ready_write, b"R".as_ptr().cast(), 1) };
        let mut num = [0u8; 4];
        // SAFETY: read(2) into a local 4-byte buffer.
        let n = unsafe { libc::read(fds.sync_read, num.as_mut_ptr().cast(), 4) };
        if n != 4 {
            return Err(fail("no terminal from the monitor".into()));
        }
        let pts = format!("/dev/pts/{}", u32::from_le_bytes(num));
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&pts)
            .map_err(|e| fail(format!("{pts}: {e}")))?;
        let _ = nix::unistd::setsid();
        // SAFETY: TIOCSCTTY takes an int argument; the descriptor is open.
        unsafe { libc::ioctl(f.as_raw_fd(), libc::TIOCSCTTY, 0) };
        for target in 0..3 {
            // SAFETY: dup2 onto the standard descriptors.
            unsafe { libc::dup2(f.as_raw_fd(), target) };
        }
    } else {
        let null = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| fail(format!("/dev/null: {e}")))?;
        let pick = |fd: Option<RawFd>| fd.unwrap_or(null.as_raw_fd());
        for (src, target) in [
            (pick(fds.stdin), 0),
            (pick(fds.stdout), 1),
            (pick(fds.stderr), 2),
        ] {
            // SAFETY: dup2 onto the standard descriptors.
            unsafe { libc::dup2(src, target) };
        }
        let _ = nix::unistd::setsid();
    }
    let (uid, gid, groups, home) = resolve_user(&l.user).map_err(fail)?;
    let workdir = if l.workdir.is_empty() {
        "/".to_string()
    } else {
        l.workdir.clone()
    };
    if fs::metadata(&workdir).is_err() {
        let _ = fs::create_dir_all(&workdir);
        let _ = nix::unistd::chown(
            workdir.as_str(),
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        );
    }
    drop_bounding_set(DEFAULT_CAPS);
    let gids: Vec<nix::unistd::Gid> = groups
        .iter()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&gids).map_err(|e| fail(format!("setgroups: {e}")))?;
    nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))
        .map_err(|e| fail(format!("setgid: {e}")))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
        .map_err(|e| fail(format!("setuid: {e}")))?;
    if uid == 0 {
        set_caps(DEFAULT_CAPS).map_err(fail)?;
    }
    nix::unistd::chdir(workdir.as_str()).map_err(|e| fail(format!("chdir to {workdir}: {e}")))?;
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(fail("no_new_privs failed".into()));
    }
    let mut env = l.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let prog = l.argv.first().cloned().unwrap_or_default();
    let candidates: Vec<String> = if prog.contains('/') {
        vec![prog.clone()]
    } else {
        path_var
            .split(':')
            .map(|d| format!("{}/{prog}", if d.is_empty() { "." } else { d }))
            .collect()
    };
    let exe = candidates
        .iter()
        .find(|c| fs::metadata(c).is_ok_and(|m| m.is_file()));
    let Some(exe) = exe else {
        return Err((
            127,
            format!("exec: \"{prog}\": executable file not found in $PATH"),
        ));
    };
    let cexe = CString::new(exe.as_str()).map_err(|_| fail("bad program name".into()))?;
    let cargs: Vec<CString> = l
        .argv
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap_or_default())
        .collect();
    let cenv: Vec<CString> = env
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap_or_default())
        .collect();
    // Signals back to normal: nothing blocked, SIGPIPE not ignored (Rust ignores it).
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
    // SAFETY: restoring a default disposition installs no handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    install_seccomp().map_err(fail)?;
    if l.init {
        // Returns in the command's process (PID 2); PID 1 stays here as its init.
        run_as_init(fds.err_write)?;
    }
    let e = nix::unistd::execve(&cexe, &cargs, &cenv).err();
    let code = if e == Some(nix::errno::Errno::EACCES) {
        126
    } else {
        127
    };
    Err((
        code,
        format!(
            "exec {exe}: {}",
            e.map(|e| e.to_string()).unwrap_or_default()
        ),
    ))
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// `--init`: forks the command as PID 2 and stays PID 1, reaping every zombie and forwarding
/// the signals the monitor forwards; exits with the command's status (128+N if killed).
fn run_as_init(err_write: RawFd) -> Result<(), (i32, String)> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let forward = [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ];
    let mut set = SigSet::empty();
    for s in forward {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    // A namespace's init only receives signals it handles: a handler, then the signals blocked
    // and read from a signalfd.
    let act = SigAction::new(
        SigHandler::Handler(ignore_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for s in forward {
        // SAFETY: the handler does nothing, so it is async-signal-safe.
        let _ = unsafe { sigaction(s, &act) };
    }
    let _ = set.thread_block();
    // SAFETY: this process is single-threaded (a fresh clone of the monitor).
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = set.thread_unblock();
            Ok(())
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            // PID 1 is a copy of the monitor that never execs: it lets go of every descriptor
            // (the starter's answer pipe, the output pipes, the error pipe) so their ends see
            // EOF when they should.
            let _ = err_write;
            // SAFETY: close_range(2) closes this process's descriptors only; none is used
            // again (the signalfd is made afterwards).
            unsafe { libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) };
            let sfd = nix::sys::signalfd::SignalFd::new(&set)
                .map_err(|e| (125, format!("signalfd: {e}")))?;
            loop {
                let Ok(Some(info)) = sfd.read_signal() else {
                    continue;
                };
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD {
                    // SAFETY: kill(2) with a pid and signal number.
                    unsafe { libc::kill(child.as_raw(), sig) };
                    continue;
                }
                while let Ok(status) =
                    nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
                {
                    let code = match status {
                        nix::sys::wait::WaitStatus::Exited(p, c) if p == child => c,
                        nix::sys::wait::WaitStatus::Signaled(p, s, _) if p == child => {
                            128 + s as i32
                        }
                        nix::sys::wait::WaitStatus::StillAlive => break,
                        _ => continue,
                    };
                    // SAFETY: leaving PID 1 ends the namespace; nothing to unwind.
                    unsafe { libc::_exit(code) }
                }
            }
        }
        Err(e) => Err((125, format!("fork: {e}"))),
    }
}

fn pipe_cloexec() -> CmdResult<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| failed(format!("pipe: {e}")))
}

/// The cgroup of a container, with its limits.
pub struct Cgroup {
    pub path: PathBuf,
}

impl Cgroup {
    pub fn create(
        id: &str,
        memory: Option<u64>,
        cpus: Option<f64>,
        pids: Option<i64>,
    ) -> CmdResult<Cgroup> {
        let root = Path::new(CGROUP_ROOT);
        if !root.join("cgroup.controllers").exists() {
            return Err(failed(
                "cgroup v2 is not mounted on /sys/fs/cgroup; mount it (mount -t cgroup2 none /sys/fs/cgroup).",
            ));
        }
        let parent = root.join("oxlvm");
        let _ = fs::create_dir_all(&parent);
        let want = "+memory +pids +cpu";
        for dir in [root, parent.as_path()] {
            for c in want.split(' ') {
                let _ = fs::write(dir.join("cgroup.subtree_control"), c);
            }
        }
        let path = parent.join(id);
        let _ = fs::create_dir_all(&path);
        let set = |file: &str, value: String| -> CmdResult {
            fs::write(path.join(file), &value).map_err(|e| {
                failed(format!(
                    "Cannot set {file} = {value} for the container: {e}"
                ))
            })
        };
        if let Some(m) = memory {
            set("memory.max", m.to_string())?;
            if path.join("memory.swap.max").exists() {
                set("memory.swap.max", "0".into())?;
            }
        }
        if let Some(c) = cpus {
            let period = 100_000u64;
            set(
                "cpu.max",
                format!("{} {period}", (c * period as f64) as u64),
            )?;
        }
        if let Some(p) = pids {
            set(
                "pids.max",
                if p <= 0 { "max".into() } else { p.to_string() },
            )?;
        }
        Ok(Cgroup { path })
    }

    pub fn add(&self, pid: i32) -> CmdResult {
        fs::write(self.path.join("cgroup.procs"), pid.to_string())
            .map_err(|e| failed(format!("Cannot move the container into its cgroup: {e}")))
    }

    pub fn oom_killed(&self) -> bool {
        fs::read_to_string(self.path.join("memory.events"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse::<u64>().ok())
            })
            .is_some_and(|n| n > 0)
    }

    /// Kills what is left and removes the group.
    pub fn destroy(&self) {
        let _ = fs::write(self.path.join("cgroup.kill"), "1");
        for _ in 0..200 {
            if fs::remove_dir(&self.path).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// How the monitor talks to whoever started it.
pub enum Attach {
    /// `run` without -d: output to our stdout/stderr too, stdin relayed with -i, signals
    /// forwarded; returns the exit code.
    Foreground { stdin: bool },
    /// A detached monitor: output to the log only; `notify` gets "ok" or the error.
    Detached { notify: Option<File> },
}

fn json_line(stream: &str, data: &[u8]) -> String {
    let v = serde_json::json!({
        "log": String::from_utf8_lossy(data),
        "stream": stream,
        "time": super::image::rfc3339(store::now()),
    });
    format!("{v}\n")
}

/// Runs the container to its end. Returns its exit code.
pub fn monitor(store: &Store, lv: &str, rec: &ContainerRecord, attach: Attach) -> CmdResult<i32> {
    let sdir = state_dir(&rec.id);
    if running(&rec.id).is_some() {
        return Err(failed(format!(
            "Container {} is already running.",
            rec.name
        )));
    }
    clear_state_dir(&rec.id);
    fs::create_dir_all(&sdir)
        .map_err(|e| failed(format!("Cannot create {}: {e}", sdir.display())))?;
    let foreground = matches!(attach, Attach::Foreground { .. });
    let with_stdin = matches!(attach, Attach::Foreground { stdin: true });
    // The starter waits for EOF on this pipe: it is closed as soon as the answer is written.
    let mut notify = match attach {
        Attach::Detached { notify } => notify,
        Attach::Foreground { .. } => None,
    };
    let started = store::now();
    let mut volumes_active: Vec<String> = Vec::new();
    let mut mounts: Vec<Mounted> = Vec::new();
    let setup = (|| -> CmdResult<(Launch, Cgroup)> {
        store.activate(lv)?;
        let m = Mounted::mount(&store.dev_path(lv), &mount_dir(&rec.id), false)?;
        let rootfs = m.rootfs();
        mounts.push(m);
        let mut binds = Vec::new();
        for (
            i,
            MountSpec {
                source,
                target,
                read_only,
            },
        ) in rec.config.mounts.iter().enumerate()
        {
            if source.starts_with('/') {
                if fs::metadata(source).is_err() {
                    return Err(failed(format!(
                        "Bind source {source} does not exist on this host."
                    )));
                }
                binds.push((PathBuf::from(source), target.clone(), *read_only));
            } else {
                let vlv = Kind::Volume.lv_name(source);
                store.activate(&vlv)?;
                volumes_active.push(vlv.clone());
                let vm =
                    Mounted::mount(&store.dev_path(&vlv), &sdir.join(format!("vol{i}")), false)?;
                binds.push((vm.dir.clone(), target.clone(), *read_only));
                mounts.push(vm);
            }
        }
        let cg = Cgroup::create(
            &rec.id,
            rec.config.memory,
            rec.config.cpus,
            rec.config.pids_limit,
        )?;
        let mut env = vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            format!("HOSTNAME={}", rec.config.hostname),
        ];
        if rec.config.tty {
            env.push("TERM=xterm".into());
        }
        for e in &rec.config.env {
            let key = e.split('=').next().unwrap_or("");
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        Ok((
            Launch {
                rootfs,
                hostname: rec.config.hostname.clone(),
                argv: rec.config.argv.clone(),
                env,
                user: rec.config.user.clone(),
                workdir: rec.config.working_dir.clone(),
                tty: rec.config.tty,
                init: rec.config.init,
                binds,
            },
            cg,
        ))
    })();
    let teardown = |mounts: Vec<Mounted>, vols: &[String]| {
        for m in mounts.into_iter().rev() {
            let _ = m.unmount();
        }
        // An --rm container's LV goes down with its removal (one transaction).
        let mut down: Vec<String> = vols.to_vec();
        if !rec.config.auto_remove {
            down.insert(0, lv.to_string());
        }
        store.deactivate_all_quietly(&down);
        clear_state_dir(&rec.id);
    };
    let (launch, cgroup) = match setup {
        Ok(x) => x,
        Err(e) => {
            teardown(mounts, &volumes_active);
            // Not started: the container stays (as Docker's), its LV goes down.
            store.deactivate_quietly(lv);
            if let Some(n) = notify.as_mut() {
                let _ = writeln!(n, "err {}", e.message());
            }
            return Err(e);
        }
    };
    let outcome = spawn_and_wait(
        &launch,
        &cgroup,
        rec,
        &sdir,
        lv,
        foreground,
        with_stdin,
        &mut notify,
        started,
    );
    let oom = cgroup.oom_killed();
    cgroup.destroy();
    // The log is in the LV: it must be closed before the unmount (spawn_and_wait did).
    teardown(mounts, &volumes_active);
    let (code, error) = match &outcome {
        Ok(c) => (*c, String::new()),
        Err((c, e)) => (*c, e.clone()),
    };
    if let Some(n) = notify.as_mut() {
        if !error.is_empty() {
            let _ = writeln!(n, "err {error}");
        }
    }
    // The exit goes into the VG (or the container goes, with --rm).
    let state = ExitState {
        exit_code: code,
        started_at: started,
        finished_at: store::now(),
        oom_killed: oom,
        error: error.clone(),
    };
    let record_result = if rec.config.auto_remove {
        super::container::remove_lv(store, lv)
    } else {
        let mut r = rec.clone();
        r.state = Some(state);
        let lvname = lv.to_string();
        store.transact(&[], &mut |vg| {
            if let Some(l) = vg.lv_mut(&lvname) {
                super::record::set_record(l, Kind::Container, &r);
            }
            Ok(())
        })
    };
    record_result?;
    if let Err((_, e)) = outcome {
        if foreground {
            // Docker's codes: 125 the runtime failed, 126 not executable, 127 not found.
            eprintln!("  {e}");
        }
    }
    Ok(code)
}

#[allow(clippy::too_many_arguments)]
fn spawn_and_wait(
    launch: &Launch,
    cgroup: &Cgroup,
    rec: &ContainerRecord,
    sdir: &Path,
    lv: &str,
    foreground: bool,
    with_stdin: bool,
    notify: &mut Option<File>,
    started: u64,
) -> Result<i32, (i32, String)> {
    let err125 = |e: crate::error::CmdError| (125, e.message().to_string());
    let (sync_r, sync_w) = pipe_cloexec().map_err(err125)?;
    let (ready_r, ready_w) = pipe_cloexec().map_err(err125)?;
    let (err_r, err_w) = pipe_cloexec().map_err(err125)?;
    let (out_r, out_w) = pipe_cloexec().map_err(err125)?;
    let (errs_r, errs_w) = pipe_cloexec().map_err(err125)?;
    let stdin_pipe = if with_stdin && !launch.tty {
        Some(pipe_cloexec().map_err(err125)?)
    } else {
        None
    };
    let fds = ChildFds {
        sync_read: sync_r.as_raw_fd(),
        ready_write: ready_w.as_raw_fd(),
        err_write: err_w.as_raw_fd(),
        stdin: stdin_pipe.as_ref().map(|(r, _)| r.as_raw_fd()),
        stdout: (!launch.tty).then_some(out_w.as_raw_fd()),
        stderr: (!launch.tty).then_some(errs_w.as_raw_fd()),
    };
    // Signals we forward or wait for arrive through a signalfd, so block them first.
    let mut mask = nix::sys::signal::SigSet::empty();
    for s in [
        nix::sys::signal::Signal::SIGCHLD,
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
        nix::sys::signal::Signal::SIGQUIT,
        nix::sys::signal::Signal::SIGUSR1,
        nix::sys::signal::Signal::SIGUSR2,
        nix::sys::signal::Signal::SIGWINCH,
    ] {
        mask.add(s);
    }
    let _ = mask.thread_block();
    let mut stack = vec![0u8; 1 << 20];
    let errw = err_w.as_raw_fd();
    let cb = Box::new(|| -> isize {
        match child_main(launch, &fds) {
            Ok(()) => 0,
            Err((code, msg)) => {
                // SAFETY: write(2) of a local buffer to the error pipe.
                unsafe { libc::write(errw, msg.as_ptr().cast(), msg.len()) };
                code as isize
            }
        }
    });
    let flags = nix::sched::CloneFlags::CLONE_NEWNS
        | nix::sched::CloneFlags::CLONE_NEWPID
        | nix::sched::CloneFlags::CLONE_NEWUTS
        | nix::sched::CloneFlags::CLONE_NEWIPC
        | nix::sched::CloneFlags::CLONE_NEWNET;
    // SAFETY: the monitor is single-threaded here; the child gets its own copy of memory
    // (no CLONE_VM) and runs child_main on the fresh stack until exec or exit.
    let pid =
        unsafe { nix::sched::clone(cb, &mut stack, flags, Some(libc::SIGCHLD)) }.map_err(|e| {
            (
                125,
                format!("Cannot create the container's namespaces: {e}"),
            )
        })?;
    drop(out_w);
    drop(errs_w);
    drop(err_w);
    drop(ready_w);
    drop(sync_r);
    let stdin_w = stdin_pipe.map(|(r, w)| {
        drop(r);
        w
    });
    let kill_child = || {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    };
    if let Err(e) = cgroup.add(pid.as_raw()) {
        kill_child();
        return Err(err125(e));
    }
    let mut sync_file = File::from(sync_w);
    let _ = sync_file.write_all(b"G");
    let mut pty_master: Option<File> = None;
    if launch.tty {
        let mut b = [0u8; 1];
        let mut ready = File::from(ready_r);
        if ready.read(&mut b).unwrap_or(0) != 1 {
            let mut msg = String::new();
            let _ = File::from(err_r).read_to_string(&mut msg);
            let _ = nix::sys::wait::waitpid(pid, None);
            return Err((125, msg));
        }
        let ptmx = format!("/proc/{}/root/dev/pts/ptmx", pid.as_raw());
        let master = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags_cloexec()
            .open(&ptmx)
            .map_err(|e| (125, format!("{ptmx}: {e}")));
        let master = match master {
            Ok(m) => m,
            Err(e) => {
                kill_child();
                return Err(e);
            }
        };
        let mut num: libc::c_uint = 0;
        let unlock: libc::c_int = 0;
        // SAFETY: TIOCSPTLCK reads an int, TIOCGPTN writes an unsigned int; both live here.
        unsafe {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock);
            libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut num);
        }
        let _ = sync_file.write_all(&num.to_le_bytes());
        pty_master = Some(master);
    } else {
        drop(ready_r);
    }
    // EOF on the error pipe: exec happened. Text: it failed.
    let mut msg = String::new();
    let _ = File::from(err_r).read_to_string(&mut msg);
    if !msg.is_empty() {
        let status = nix::sys::wait::waitpid(pid, None);
        let code = match status {
            Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
            _ => 125,
        };
        return Err((code, msg));
    }
    let state = RunState {
        pid: pid.as_raw(),
        monitor: std::process::id() as i32,
        started_at: started,
        lv: lv.to_string(),
    };
    let _ = fs::write(
        sdir.join("state.json"),
        serde_json::to_vec(&state).unwrap_or_default(),
    );
    if let Some(n) = notify.as_mut() {
        let _ = writeln!(n, "ok {}", pid.as_raw());
    }
    *notify = None;
    let log_path = mount_dir(&rec.id).join(LOG_FILE);
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .ok();
    let code = relay(
        pid, &mask, out_r, errs_r, pty_master, stdin_w, foreground, with_stdin, &mut log,
    );
    drop(log);
    let _ = mask.thread_unblock();
    Ok(code)
}

trait CloexecOpen {
    fn custom_flags_cloexec(&mut self) -> &mut Self;
}

impl CloexecOpen for OpenOptions {
    fn custom_flags_cloexec(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
    }
}

/// Moves output to the log (and our terminal), input to the container, signals to its PID 1,
/// until it exits. Returns its exit code (128+signal when killed).
#[allow(clippy::too_many_arguments)]
fn relay(
    pid: nix::unistd::Pid,
    mask: &nix::sys::signal::SigSet,
    out_r: OwnedFd,
    errs_r: OwnedFd,
    pty: Option<File>,
    stdin_w: Option<OwnedFd>,
    foreground: bool,
    with_stdin: bool,
    log: &mut Option<File>,
) -> i32 {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let sigfd =
        nix::sys::signalfd::SignalFd::with_flags(mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .ok();
    let mut out = Some(File::from(out_r));
    let mut errs = Some(File::from(errs_r));
    let mut pty = pty;
    let mut stdin_w = stdin_w.map(File::from);
    let mut stdin_open = with_stdin;
    let mut exit: Option<i32> = None;
    let mut exited_at: Option<Instant> = None;
    let mut buf = vec![0u8; 65536];
    let raw_mode = raw_stdin(foreground && pty.is_some());
    loop {
        if let Some(at) = exited_at {
            let drained = out.is_none() && errs.is_none() && pty.is_none();
            if drained || at.elapsed() > Duration::from_secs(2) {
                break;
            }
        }
        // Which fd is which in the poll list.
        let mut kinds: Vec<u8> = Vec::new();
        let mut raws: Vec<RawFd> = Vec::new();
        if let Some(f) = &out {
            kinds.push(b'o');
            raws.push(f.as_raw_fd());
        }
        if let Some(f) = &errs {
            kinds.push(b'e');
            raws.push(f.as_raw_fd());
        }
        if let Some(f) = &pty {
            kinds.push(b'p');
            raws.push(f.as_raw_fd());
        }
        if let Some(s) = &sigfd {
            kinds.push(b's');
            raws.push(s.as_raw_fd());
        }
        if stdin_open && (stdin_w.is_some() || pty.is_some()) {
            kinds.push(b'i');
            raws.push(0);
        }
        // SAFETY: every raw fd listed is open for the duration of this poll.
        let borrowed: Vec<std::os::fd::BorrowedFd<'_>> = raws
            .iter()
            .map(|&fd| unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
            .collect();
        let mut pfds: Vec<PollFd<'_>> = borrowed
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        let timeout = if exit.is_some() { 100u16 } else { 1000u16 };
        if poll(&mut pfds, PollTimeout::from(timeout)).is_err() {
            continue;
        }
        let ready: Vec<bool> = pfds
            .iter()
            .map(|p| {
                p.revents().is_some_and(|r| {
                    r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
                })
            })
            .collect();
        drop(pfds);
        for (i, kind) in kinds.iter().enumerate() {
            if !ready[i] {
                continue;
            }
            match kind {
                b'o' | b'e' | b'p' => {
                    let f = match kind {
                        b'o' => out.as_mut(),
                        b'e' => errs.as_mut(),
                        _ => pty.as_mut(),
                    };
                    let Some(f) = f else { continue };
                    let n = f.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        match kind {
                            b'o' => out = None,
                            b'e' => errs = None,
                            _ => pty = None,
                        }
                        continue;
                    }
                    let stream = if *kind == b'e' { "stderr" } else { "stdout" };
                    if let Some(l) = log.as_mut() {
                        let _ = l.write_all(json_line(stream, &buf[..n]).as_bytes());
                    }
                    if foreground {
                        if *kind == b'e' {
                            let _ = std::io::stderr().write_all(&buf[..n]);
                        } else {
                            let mut so = std::io::stdout();
                            let _ = so.write_all(&buf[..n]);
                            let _ = so.flush();
                        }
                    }
                }
                b'i' => {
                    let n = std::io::stdin().read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        stdin_open = false;
                        stdin_w = None; // EOF for the container
                        if let Some(p) = pty.as_mut() {
                            let _ = p.write_all(&[4]); // ^D
                        }
                        continue;
                    }
                    if let Some(w) = stdin_w.as_mut() {
                        if w.write_all(&buf[..n]).is_err() {
                            stdin_w = None;
                            stdin_open = false;
                        }
                    } else if let Some(p) = pty.as_mut() {
                        let _ = p.write_all(&buf[..n]);
                    }
                }
                b's' => {
                    let Some(sfd) = &sigfd else { continue };
                    if let Ok(Some(info)) = sfd.read_signal() {
                        let sig = info.ssi_signo as i32;
                        if sig == libc::SIGCHLD {
                            loop {
                                match nix::sys::wait::waitpid(
                                    None,
                                    Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                                ) {
                                    Ok(nix::sys::wait::WaitStatus::Exited(p, c)) if p == pid => {
                                        exit = Some(c);
                                    }
                                    Ok(nix::sys::wait::WaitStatus::Signaled(p, s, _))
                                        if p == pid =>
                                    {
                                        exit = Some(128 + s as i32);
                                    }
                                    Ok(nix::sys::wait::WaitStatus::StillAlive) | Err(_) => break,
                                    Ok(_) => {}
                                }
                            }
                            if exit.is_some() && exited_at.is_none() {
                                exited_at = Some(Instant::now());
                            }
                        } else if exit.is_none() {
                            // SAFETY: kill(2) with a pid and signal number.
                            unsafe { libc::kill(pid.as_raw(), sig) };
                        }
                    }
                }
                _ => {}
            }
        }
        if exit.is_none() {
            // A SIGCHLD may have been merged with another; look once more.
            match nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => exit = Some(c),
                Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => exit = Some(128 + s as i32),
                _ => {}
            }
            if exit.is_some() {
                exited_at = Some(Instant::now());
            }
        }
    }
    restore_stdin(raw_mode);
    exit.unwrap_or(137)
}

/// Sends `sig` to the container's PID 1.
pub fn signal(id: &str, sig: i32) -> CmdResult {
    let st = running(id).ok_or_else(|| {
        failed(format!(
            "Container {} is not running.",
            super::record::short_id(id)
        ))
    })?;
    // SAFETY: kill(2) with a pid and signal number.
    if unsafe { libc::kill(st.pid, sig) } != 0 {
        return Err(failed(format!(
            "Cannot signal the container: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

fn cgroup_dir(id: &str) -> PathBuf {
    PathBuf::from(CGROUP_ROOT).join("oxlvm").join(id)
}

/// Whether a running container's cgroup is frozen (`pause`).
pub fn paused(id: &str) -> bool {
    fs::read_to_string(cgroup_dir(id).join("cgroup.freeze")).is_ok_and(|v| v.trim() == "1")
}

/// `pause` / `unpause`: the cgroup v2 freezer of the container's group (every process in
/// it, PID 1 and exec'd ones). Waits until the kernel reports the group frozen or thawed.
pub fn set_paused(id: &str, pause: bool) -> CmdResult {
    let short = super::record::short_id(id);
    if running(id).is_none() {
        return Err(failed(format!("Container {short} is not running.")));
    }
    let now_paused = paused(id);
    if pause && now_paused {
        return Err(failed(format!("Container {short} is already paused.")));
    }
    if !pause && !now_paused {
        return Err(failed(format!("Container {short} is not paused.")));
    }
    let dir = cgroup_dir(id);
    fs::write(dir.join("cgroup.freeze"), if pause { "1" } else { "0" })
        .map_err(|e| failed(format!("Cannot write {}/cgroup.freeze: {e}", dir.display())))?;
    let want = if pause { "frozen 1" } else { "frozen 0" };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let events = fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
        if events.lines().any(|l| l.trim() == want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(failed(format!(
        "Container {short} did not {} within 10 s.",
        if pause { "freeze" } else { "thaw" }
    )))
}

/// Waits until the monitor of `id` has finished (its state is gone), up to `limit`.
pub fn wait_finished(id: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if running(id).is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `stop`: the stop signal, then SIGKILL after `timeout`; returns when the container is gone.
pub fn stop(id: &str, timeout: Duration, stop_signal: i32) -> CmdResult {
    let Some(st) = running(id) else {
        return Ok(());
    };
    // SAFETY: kill(2) with a pid and signal number.
    unsafe { libc::kill(st.pid, stop_signal) };
    // A paused container is thawed so that it can act on the signal.
    if paused(id) {
        let _ = fs::write(cgroup_dir(id).join("cgroup.freeze"), "0");
    }
    let start = Instant::now();
    while start.elapsed() < timeout && alive(st.pid) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if alive(st.pid) {
        // SAFETY: as above.
        unsafe { libc::kill(st.pid, libc::SIGKILL) };
    }
    if !wait_finished(id, Duration::from_secs(60)) {
        return Err(failed(format!(
            "Container {} did not finish; its monitor (pid {}) is stuck.",
            super::record::short_id(id),
            st.monitor
        )));
    }
    Ok(())
}

/// How `exec` connects the command: `tty` gives it a terminal of the container's own devpts
/// (relayed to ours), `stdin` passes our input on (without either, its stdin is /dev/null).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecIo {
    pub tty: bool,
    pub stdin: bool,
}

/// Joins the namespaces and cgroup of a running container and runs `argv` there (exec).
pub fn exec_in(
    st: &RunState,
    id: &str,
    argv: &[String],
    env: &[String],
    user: &str,
    workdir: &str,
    io: ExecIo,
) -> CmdResult<i32> {
    let pid = st.pid;
    // -t: a pty from the container's devpts, opened here; the command gets its slave.
    let pty: Option<(File, u32)> = if io.tty {
        let ptmx = format!("/proc/{pid}/root/dev/pts/ptmx");
        let master = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags_cloexec()
            .open(&ptmx)
            .map_err(|e| {
                failed(format!(
                    "Cannot open a terminal in the container ({ptmx}): {e}"
                ))
            })?;
        let mut num: libc::c_uint = 0;
        let unlock: libc::c_int = 0;
        // SAFETY: TIOCSPTLCK reads an int, TIOCGPTN writes an unsigned int; both live here.
        unsafe {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock);
            libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut num);
        }
        // Our terminal's size, if we have one.
        // SAFETY: TIOCGWINSZ writes a winsize, TIOCSWINSZ reads one; both live here.
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
                libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
            }
        }
        Some((master, num))
    } else {
        None
    };
    let pty_num = pty.as_ref().map(|(_, n)| *n);
    let mut nsfds = Vec::new();
    for ns in ["ipc", "uts", "net", "pid", "mnt"] {
        let p = format!("/proc/{pid}/ns/{ns}");
        let f = File::open(&p).map_err(|e| failed(format!("Cannot open {p}: {e}")))?;
        nsfds.push(f);
    }
    let cg = PathBuf::from(CGROUP_ROOT)
        .join("oxlvm")
        .join(id)
        .join("cgroup.procs");
    // SAFETY: this command process is single-threaded; the child runs setns/exec or _exit.
    let fork = unsafe { nix::unistd::fork() }.map_err(|e| failed(format!("fork: {e}")))?;
    match fork {
        nix::unistd::ForkResult::Child => {
            let _ = fs::write(&cg, "0");
            for f in &nsfds {
                let _ = nix::sched::setns(f, nix::sched::CloneFlags::empty());
            }
            // The pid namespace applies to children: one more fork.
            // SAFETY: still single-threaded.
            match unsafe { nix::unistd::fork() } {
                Ok(nix::unistd::ForkResult::Child) => {
                    if let Err(m) = exec_stdio(pty_num, io.stdin) {
                        eprintln!("  {m}");
                        // SAFETY: leave without unwinding into the parent's state.
                        unsafe { libc::_exit(125) }
                    }
                    let l = Launch {
                        rootfs: PathBuf::from("/"),
                        hostname: String::new(),
                        argv: argv.to_vec(),
                        env: env.to_vec(),
                        user: user.to_string(),
                        workdir: workdir.to_string(),
                        tty: false,
                        init: false,
                        binds: Vec::new(),
                    };
                    let code = match exec_child(&l) {
                        Ok(()) => 0,
                        Err((c, m)) => {
                            eprintln!("  {m}");
                            c
                        }
                    };
                    // SAFETY: leave without unwinding into the parent's state.
                    unsafe { libc::_exit(code) }
                }
                Ok(nix::unistd::ForkResult::Parent { child }) => {
                    let code = match nix::sys::wait::waitpid(child, None) {
                        Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
                        Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
                        _ => 125,
                    };
                    // SAFETY: as above.
                    unsafe { libc::_exit(code) }
                }
                // SAFETY: as above.
                Err(_) => unsafe { libc::_exit(125) },
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            if let Some((master, _)) = pty {
                return Ok(exec_relay(master, child, io.stdin));
            }
            let code = match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
                Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
                _ => 125,
            };
            Ok(code)
        }
    }
}

/// The exec'd command's stdio, inside the container: the pty slave `/dev/pts/N` as its
/// controlling terminal, or our stdin (`-i`) or /dev/null, with our stdout and stderr.
fn exec_stdio(pty: Option<u32>, stdin: bool) -> Result<(), String> {
    let _ = nix::unistd::setsid();
    if let Some(n) = pty {
        let path = format!("/dev/pts/{n}");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("{path}: {e}"))?;
        // SAFETY: TIOCSCTTY takes an int argument; the descriptor is open.
        unsafe { libc::ioctl(f.as_raw_fd(), libc::TIOCSCTTY, 0) };
        for target in 0..3 {
            // SAFETY: dup2 onto the standard descriptors.
            unsafe { libc::dup2(f.as_raw_fd(), target) };
        }
    } else if !stdin {
        let null = File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
        // SAFETY: dup2 onto the standard input.
        unsafe { libc::dup2(null.as_raw_fd(), 0) };
    }
    Ok(())
}

/// With `on`, puts our stdin (when it is a terminal) in raw mode and returns its settings
/// before, for [`restore_stdin`].
fn raw_stdin(on: bool) -> Option<nix::sys::termios::Termios> {
    if !on {
        return None;
    }
    let orig = nix::sys::termios::tcgetattr(std::io::stdin()).ok()?;
    let mut raw = orig.clone();
    nix::sys::termios::cfmakeraw(&mut raw);
    let _ =
        nix::sys::termios::tcsetattr(std::io::stdin(), nix::sys::termios::SetArg::TCSANOW, &raw);
    Some(orig)
}

/// Gives our stdin back the settings [`raw_stdin`] saved.
fn restore_stdin(orig: Option<nix::sys::termios::Termios>) {
    if let Some(orig) = orig {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin(),
            nix::sys::termios::SetArg::TCSANOW,
            &orig,
        );
    }
}

/// `exec -t`: moves the pty's output to our stdout and (with `-i`) our input to it, in raw
/// mode when our stdin is a terminal, until the command has exited and the output is read.
/// Returns the command's exit status.
fn exec_relay(master: File, child: nix::unistd::Pid, with_stdin: bool) -> i32 {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut master = master;
    let mut buf = vec![0u8; 65536];
    let mut stdin_open = with_stdin;
    let mut exit: Option<i32> = None;
    let raw_mode = raw_stdin(with_stdin);
    let mut stdout = std::io::stdout();
    loop {
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let stdin = std::io::stdin();
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let timeout = if exit.is_some() { 200u16 } else { 500u16 };
        let n = poll(&mut fds, PollTimeout::from(timeout)).unwrap_or(0);
        let ready = |i: usize| {
            fds.get(i).and_then(|p| p.revents()).is_some_and(|r| {
                r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            })
        };
        let (pty_ready, stdin_ready) = (ready(0), ready(1));
        drop(fds);
        if pty_ready {
            match master.read(&mut buf) {
                Ok(k) if k > 0 => {
                    let _ = stdout.write_all(&buf[..k]);
                    let _ = stdout.flush();
                }
                // EIO: every holder of the slave has gone.
                _ => break,
            }
        }
        if stdin_ready {
            let k = std::io::stdin().read(&mut buf).unwrap_or(0);
            if k == 0 {
                stdin_open = false;
                let _ = master.write_all(&[4]); // ^D
            } else {
                let _ = master.write_all(&buf[..k]);
            }
        }
        if exit.is_none() {
            match nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => exit = Some(c),
                Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => exit = Some(128 + s as i32),
                _ => {}
            }
        } else if n == 0 {
            // Exited, and nothing more came within the poll's wait.
            break;
        }
    }
    restore_stdin(raw_mode);
    exit.unwrap_or_else(|| match nix::sys::wait::waitpid(child, None) {
        Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
        Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
        _ => 125,
    })
}

/// The part of child_main after the namespaces exist (exec into a running container).
fn exec_child(l: &Launch) -> Result<(), (i32, String)> {
    let fail = |e: String| (125, e);
    let _ = nix::unistd::chdir("/");
    let (uid, gid, groups, home) = resolve_user(&l.user).map_err(fail)?;
    drop_bounding_set(DEFAULT_CAPS);
    let gids: Vec<nix::unistd::Gid> = groups
        .iter()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&gids).map_err(|e| fail(format!("setgroups: {e}")))?;
    nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))
        .map_err(|e| fail(format!("setgid: {e}")))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
        .map_err(|e| fail(format!("setuid: {e}")))?;
    if uid == 0 {
        set_caps(DEFAULT_CAPS).map_err(fail)?;
    }
    let wd = if l.workdir.is_empty() {
        "/"
    } else {
        l.workdir.as_str()
    };
    nix::unistd::chdir(wd).map_err(|e| fail(format!("chdir to {wd}: {e}")))?;
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    let mut env = l.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let prog = l.argv.first().cloned().unwrap_or_default();
    let exe = if prog.contains('/') {
        Some(prog.clone())
    } else {
        path_var
            .split(':')
            .map(|d| format!("{d}/{prog}"))
            .find(|c| fs::metadata(c).is_ok_and(|m| m.is_file()))
    };
    let Some(exe) = exe else {
        return Err((
            127,
            format!("exec: \"{prog}\": executable file not found in $PATH"),
        ));
    };
    let cexe = CString::new(exe.as_str()).map_err(|_| fail("bad program".into()))?;
    let cargs: Vec<CString> = l
        .argv
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap_or_default())
        .collect();
    let cenv: Vec<CString> = env
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap_or_default())
        .collect();
    // SAFETY: restoring a default disposition installs no handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    install_seccomp().map_err(fail)?;
    let e = nix::unistd::execve(&cexe, &cargs, &cenv).err();
    Err((
        if e == Some(nix::errno::Errno::EACCES) {
            126
        } else {
            127
        },
        format!("exec {exe}: {e:?}"),
    ))
}
