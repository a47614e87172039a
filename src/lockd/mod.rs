//! oxlvm as an lvmlockd client, as LVM2's `lib/locking/lvmlockd.c` is one: the same requests,
//! fields and result codes over the same socket, so oxlvm and LVM2 hosts share one VG through
//! one lock manager (sanlock leases on the VG's hidden `lvmlock` LV). `protocol` encodes and
//! decodes messages, `client` owns the socket, `Lockd` here sends LVM2's requests; what a
//! command does with the answers (retries, messages, refusals) is `commands::shared`.
//! The metadata side of a shared VG - WRITE_LOCKED, which LVs own a lock, where a thin LV's
//! lock lives - is pure and here too.

pub mod client;
pub mod protocol;

use metadata_format::text::{Id, LogicalVolume, SegmentKind, VolumeGroup, Word, Words};
use protocol::{Reply, Request, ResultFlags};
use std::io;

/// The hidden LV holding a sanlock VG's leases.
pub const LVMLOCK_LV: &str = "lvmlock";
/// The compatible flag LVM2 writes in place of WRITE when a VG has a lock type or system ID.
pub const WRITE_LOCKED: &str = "WRITE_LOCKED";
/// What LVM2 puts in `lock_args` of a new LV until lvmlockd allocated its lease.
pub const PENDING: &str = "pending";

/// A lock mode on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sh,
    Ex,
    Un,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sh => "sh",
            Mode::Ex => "ex",
            Mode::Un => "un",
        }
    }
}

/// What lvmlockd answered to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 0, or a negative errno or lvmlockd code (`protocol::code`).
    pub result: i32,
    pub flags: ResultFlags,
    pub reply: Reply,
}

/// sanlock, dlm and idm are the lock types that need lvmlockd.
pub fn is_lockd_type(lock_type: Option<&str>) -> bool {
    matches!(lock_type, Some("sanlock" | "dlm" | "idm"))
}

/// LVM2's `vg_is_shared`.
pub fn vg_is_shared(vg: &VolumeGroup) -> bool {
    is_lockd_type(vg.lock_type.as_deref())
}

/// One session with lvmlockd for one command.
#[derive(Debug)]
pub struct Lockd {
    client: client::Client,
    /// The command name sent along for lvmlockd's logs (`cmd`).
    cmd: String,
    pid: i64,
}

impl Lockd {
    pub fn connect(cmd: &str) -> io::Result<Lockd> {
        let client = client::Client::connect(&client::socket_path())?;
        Ok(Lockd {
            client,
            cmd: if cmd.is_empty() {
                "none".into()
            } else {
                cmd.into()
            },
            pid: i64::from(std::process::id()),
        })
    }

    /// Sends `request`; None when no result came back (LVM2's "failed no result").
    pub fn send(&mut self, request: Request) -> Option<Outcome> {
        let reply = self.client.call(&request).ok()?;
        let result = reply.op_result()?;
        Some(Outcome {
            result,
            flags: reply.flags(),
            reply,
        })
    }

    fn base(&self, name: &str, mode: &str, opts: Option<&str>) -> Request {
        Request::new(name)
            .str("cmd", &self.cmd)
            .int("pid", self.pid)
            .str("mode", mode)
            .str_or_none("opts", opts)
    }

    /// `lock_gl`; `vg_lock_type` is given by vgcreate (the type of the VG it creates).
    pub fn lock_gl(&mut self, mode: Mode, vg_lock_type: Option<&str>) -> Option<Outcome> {
        let r = self
            .base("lock_gl", mode.as_str(), None)
            .str_or_none("vg_lock_type", vg_lock_type);
        self.send(r)
    }

    pub fn lock_vg(&mut self, vg_name: &str, mode: Mode) -> Option<Outcome> {
        let r = self
            .base("lock_vg", mode.as_str(), None)
            .str("vg_name", vg_name)
            .str("vg_lock_type", "none")
            .str("vg_lock_args", "none");
        self.send(r)
    }

    /// `lock_lv` on the lock of `target` (see [`lock_target`]); activation locks are
    /// persistent (they outlive the command), as LVM2's.
    pub fn lock_lv(
        &mut self,
        vg: &VolumeGroup,
        target: &LockTarget,
        mode: Mode,
        persistent: bool,
    ) -> Option<Outcome> {
        let r = self
            .base("lock_lv", mode.as_str(), persistent.then_some("persistent"))
            .str("vg_name", &vg.name)
            .str("lv_name", &target.lv_name)
            .str("lv_uuid", &target.lv_id.to_string())
            .str_or_none("vg_lock_type", vg.lock_type.as_deref())
            .str_or_none("vg_lock_args", vg.lock_args.as_deref())
            .str_or_none("lv_lock_args", target.lock_args.as_deref());
        self.send(r)
    }

    /// Which lock manager runs: `result` is LVM2's lock type number (3 sanlock), -ENOLCK for
    /// none, -EXFULL for several.
    pub fn running_lm(&mut self) -> Option<Outcome> {
        let r = Request::new("running_lm").int("pid", self.pid);
        self.send(r)
    }

    /// `init_vg` for sanlock: lvmlockd formats the leases on `/dev/mapper/<vg>-<lock_lv>`
    /// and answers `vg_lock_args`.
    pub fn init_vg_sanlock(&mut self, vg_name: &str, lock_lv: &str) -> Option<Outcome> {
        let r = Request::new("init_vg")
            .int("pid", self.pid)
            .str("vg_name", vg_name)
            .str("vg_lock_type", "sanlock")
            .str("vg_lock_args", lock_lv)
            .str("opts", "none");
        self.send(r)
    }

    /// `init_lv`: a lease for a new LV; answers `lv_lock_args`.
    pub fn init_lv(&mut self, vg: &VolumeGroup, lv_name: &str, lv_id: &Id) -> Option<Outcome> {
        let r = Request::new("init_lv")
            .int("pid", self.pid)
            .str("vg_name", &vg.name)
            .str("lv_name", lv_name)
            .str("lv_uuid", &lv_id.to_string())
            .str("vg_lock_type", "sanlock")
            .str_or_none("vg_lock_args", vg.lock_args.as_deref());
        self.send(r)
    }

    /// `free_lv`: the lease of a removed LV goes back to the free ones.
    pub fn free_lv(
        &mut self,
        vg: &VolumeGroup,
        lv_name: &str,
        lv_id: &Id,
        lock_args: Option<&str>,
    ) -> Option<Outcome> {
        let r = Request::new("free_lv")
            .int("pid", self.pid)
            .str("vg_name", &vg.name)
            .str("lv_name", lv_name)
            .str("lv_uuid", &lv_id.to_string())
            .str_or_none("vg_lock_type", vg.lock_type.as_deref())
            .str_or_none("vg_lock_args", vg.lock_args.as_deref())
            .str_or_none("lv_lock_args", lock_args);
        self.send(r)
    }

    /// `free_vg` (vgremove, lock type none): fails with -EBUSY while other hosts are in the
    /// lockspace.
    pub fn free_vg(&mut self, vg: &VolumeGroup) -> Option<Outcome> {
        let r = Request::new("free_vg")
            .int("pid", self.pid)
            .str("vg_name", &vg.name)
            .str_or_none("vg_lock_type", vg.lock_type.as_deref())
            .str_or_none("vg_lock_args", vg.lock_args.as_deref());
        self.send(r)
    }

    /// `find_free_lock`: -EMSGSIZE when the lvmlock LV has no room for another lease.
    pub fn find_free_lock(&mut self, vg_name: &str) -> Option<Outcome> {
        let r = Request::new("find_free_lock")
            .int("pid", self.pid)
            .str("vg_name", vg_name);
        self.send(r)
    }

    /// `start_vg`: join the VG's lockspace (the lvmlock LV must be active for sanlock).
    pub fn start_vg(
        &mut self,
        vg: &VolumeGroup,
        host_id: i64,
        start_init: bool,
    ) -> Option<Outcome> {
        let r = Request::new("start_vg")
            .int("pid", self.pid)
            .str("vg_name", &vg.name)
            .str_or_none("vg_lock_type", vg.lock_type.as_deref())
            .str_or_none("vg_lock_args", vg.lock_args.as_deref())
            .str("vg_uuid", &vg.id.to_string())
            .int("version", i64::from(vg.seqno))
            .int("host_id", host_id)
            .str("opts", if start_init { "start_init" } else { "none" });
        self.send(r)
    }

    pub fn stop_vg(&mut self, vg_name: &str) -> Option<Outcome> {
        let r = Request::new("stop_vg")
            .int("pid", self.pid)
            .str("vg_name", vg_name);
        self.send(r)
    }

    /// Waits until the lockspaces this client started are joined.
    pub fn start_wait(&mut self) -> Option<Outcome> {
        let r = Request::new("start_wait").int("pid", self.pid);
        self.send(r)
    }

    /// `refresh_lv`: other hosts reload the LV at `path` (lvmlockd does it through dlm).
    pub fn refresh_lv(&mut self, lv_uuid: &str, path: &str) -> Option<Outcome> {
        let r = Request::new("refresh_lv")
            .int("pid", self.pid)
            .str("opts", "none")
            .str("lv_uuid", lv_uuid)
            .str("path", path);
        self.send(r)
    }

    /// `vg_update`: the VG's new seqno, kept in the VG lock's value block for other hosts.
    pub fn vg_update(&mut self, vg_name: &str, seqno: u32) -> Option<Outcome> {
        let r = Request::new("vg_update")
            .int("pid", self.pid)
            .str("vg_name", vg_name)
            .int("version", i64::from(seqno));
        self.send(r)
    }
}

/// The lock an LV's activation takes: its own, or its thin pool's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockTarget {
    pub lv_name: String,
    pub lv_id: Id,
    pub lock_args: Option<String>,
    /// Shared mode is refused (thin, mirror, raid, cache: one host at a time).
    pub no_sh: bool,
}

fn is_thin_volume(lv: &LogicalVolume) -> bool {
    lv.segments
        .iter()
        .any(|s| matches!(s.kind, SegmentKind::Thin(_)))
}

fn is_thin_pool(lv: &LogicalVolume) -> bool {
    lv.segments
        .iter()
        .any(|s| matches!(s.kind, SegmentKind::ThinPool(_)))
}

/// A COW LV: the `cow` of some snapshot segment.
fn is_cow(vg: &VolumeGroup, lv: &LogicalVolume) -> bool {
    vg.lvs
        .iter()
        .flat_map(|l| &l.segments)
        .any(|s| matches!(&s.kind, SegmentKind::Snapshot(snap) if snap.cow == lv.name))
}

/// LVM2's `lockd_lv_uses_lock`: which LVs own a lease. Thin volumes use their pool's, COW
/// LVs their origin's, sub-LVs and hidden LVs (the lvmlock LV, pool metadata spare,
/// mirror/raid images) none.
pub fn uses_lock(vg: &VolumeGroup, lv: &LogicalVolume) -> bool {
    if !vg.is_lv_visible(lv) || lv.name == LVMLOCK_LV {
        return false;
    }
    if is_thin_volume(lv) || is_cow(vg, lv) {
        return false;
    }
    !lv.segments
        .iter()
        .any(|s| matches!(s.kind, SegmentKind::Snapshot(_) | SegmentKind::CachePool(_)))
}

/// Where LVM2 directs an LV's lock (`lockd_lv`): a thin LV, pool data or metadata to the
/// pool; an LV without lock_args has none (None).
pub fn lock_target(vg: &VolumeGroup, lv_name: &str) -> Option<LockTarget> {
    let lv = vg.lv(lv_name)?;
    let pool = if is_thin_pool(lv) {
        Some(lv)
    } else if let Some(thin) = lv.segments.iter().find_map(|s| match &s.kind {
        SegmentKind::Thin(t) => Some(t.thin_pool.clone()),
        _ => None,
    }) {
        vg.lv(&thin)
    } else {
        // Pool data / metadata sub-LVs lock through the pool that uses them.
        vg.lvs.iter().find(|p| {
            p.segments.iter().any(|s| match &s.kind {
                SegmentKind::ThinPool(tp) => tp.pool == lv_name || tp.metadata == lv_name,
                _ => false,
            })
        })
    };
    if let Some(pool) = pool {
        return Some(LockTarget {
            lv_name: pool.name.clone(),
            lv_id: pool.id,
            lock_args: pool.rare.lock_args.clone(),
            no_sh: true,
        });
    }
    let lock_args = lv.rare.lock_args.clone()?;
    let no_sh = lv.segments.iter().any(|s| {
        matches!(
            s.kind,
            SegmentKind::Mirror(_) | SegmentKind::Raid(_) | SegmentKind::Cache(_)
        )
    });
    Some(LockTarget {
        lv_name: lv.name.clone(),
        lv_id: lv.id,
        lock_args: Some(lock_args),
        no_sh,
    })
}

/// LVM2's `vg_flag_write_locked`: a VG with a system ID or a lock type is written without
/// WRITE and with WRITE_LOCKED, so LVM2 versions that know neither treat it as read-only.
pub fn flag_write_locked(vg: &VolumeGroup) -> bool {
    vg.system_id.as_deref().is_some_and(|s| !s.is_empty())
        || vg
            .lock_type
            .as_deref()
            .is_some_and(|t| !t.is_empty() && t != "none")
}

/// Where WRITE goes back in a status list: after READ (LVM2's flag table order).
fn insert_write(status: &mut Vec<Word>, before_read: &[&str]) {
    if status.iter().any(|s| s == "WRITE") {
        return;
    }
    let at = match status.iter().position(|s| s == "READ") {
        Some(p) => p + 1,
        None => status
            .iter()
            .rposition(|s| before_read.contains(&s.as_str()))
            .map_or(0, |p| p + 1),
    };
    status.insert(at, "WRITE".into());
}

/// As LVM2 reads metadata: WRITE_LOCKED in `flags` means WRITE, for the VG and each LV.
pub fn import_write_locked(vg: &mut VolumeGroup) {
    if take_flag(&mut vg.flags, WRITE_LOCKED) {
        insert_write(&mut vg.status, &["EXPORTED", "RESIZEABLE", "PVMOVE"]);
    }
    for lv in &mut vg.lvs {
        if take_flag(&mut lv.flags, WRITE_LOCKED) {
            insert_write(lv.status.to_mut(), &[]);
        }
    }
}

/// As LVM2 writes metadata: in a VG with a lock type or system ID, WRITE becomes
/// WRITE_LOCKED (the first compatible flag) for the VG and each writable LV.
pub fn export_write_locked(vg: &mut VolumeGroup) {
    if !flag_write_locked(vg) {
        return;
    }
    if take_flag(&mut vg.status, "WRITE") && !vg.flags.iter().any(|f| f == WRITE_LOCKED) {
        vg.flags.insert(0, WRITE_LOCKED.into());
    }
    for lv in &mut vg.lvs {
        if take_status(&mut lv.status, "WRITE") && !lv.flags.iter().any(|f| f == WRITE_LOCKED) {
            lv.flags.insert(0, WRITE_LOCKED.into());
        }
    }
}

fn take_flag(list: &mut Vec<Word>, flag: &str) -> bool {
    let before = list.len();
    list.retain(|f| f != flag);
    list.len() != before
}

/// [`take_flag`] for an LV's status list (shared while it has no such word).
fn take_status(list: &mut Words, flag: &str) -> bool {
    let before = list.len();
    list.retain(|f| f != flag);
    list.len() != before
}

/// The size LVM2 gives a new lvmlock LV: 256 MiB (1 GiB on 4K-sector PVs), plus one lease
/// (1 MiB, 8 MiB) per LV that needs a lock when an existing VG becomes shared.
pub fn lvmlock_size_mib(sector_4k: bool, lv_lock_count: u64) -> u64 {
    if sector_4k {
        1024 + 8 * lv_lock_count
    } else {
        256 + lv_lock_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::{emit_ondisk, parse_metadata};

    /// LVM2 2.03.16's text of a sanlock VG (vgcreate --shared + lvcreate in the two-host
    /// guest), cut to the VG section.
    const SHARED: &str = include_str!("../../tests/fixtures/lvm2-2.03.16/shared/vg1.vg");

    fn shared() -> VolumeGroup {
        parse_metadata(SHARED.as_bytes()).unwrap().vg
    }

    #[test]
    fn write_locked_reads_as_write_and_writes_back_as_lvm2() {
        let mut md = parse_metadata(SHARED.as_bytes()).unwrap();
        let original = md.clone();
        import_write_locked(&mut md.vg);
        assert_eq!(md.vg.status, ["RESIZEABLE", "READ", "WRITE"]);
        assert!(md.vg.flags.is_empty());
        let lv1 = md.vg.lv("lv1").unwrap();
        assert_eq!(lv1.status, ["READ", "WRITE", "VISIBLE"]);
        assert!(lv1.flags.is_empty());
        assert_eq!(md.vg.lv(LVMLOCK_LV).unwrap().status, ["READ", "WRITE"]);
        export_write_locked(&mut md.vg);
        assert_eq!(md, original);
        // The on-disk text LVM2 committed, byte for byte (header lines aside, which carry the
        // writer's time and description).
        let ondisk =
            include_bytes!("../../tests/fixtures/lvm2-2.03.16/shared/vg1_ondisk_metadata.bin");
        let parsed = parse_metadata(ondisk).unwrap();
        let mut roundtrip = parsed.clone();
        import_write_locked(&mut roundtrip.vg);
        export_write_locked(&mut roundtrip.vg);
        let mut text = emit_ondisk(&roundtrip);
        text.push(0);
        assert_eq!(text, ondisk.to_vec());
    }

    #[test]
    fn local_vgs_keep_write_and_system_ids_lock_it() {
        let mut vg = shared();
        import_write_locked(&mut vg);
        vg.lock_type = None;
        vg.lock_args = None;
        let before = vg.clone();
        export_write_locked(&mut vg);
        assert_eq!(vg, before);
        vg.system_id = Some("hostA".into());
        export_write_locked(&mut vg);
        assert_eq!(vg.status, ["RESIZEABLE", "READ"]);
        assert_eq!(vg.flags, [WRITE_LOCKED]);
        // A read-only LV stays read-only and gets no flag.
        let mut vg = shared();
        import_write_locked(&mut vg);
        vg.lvs[0].status.retain(|s| s != "WRITE");
        export_write_locked(&mut vg);
        assert!(vg.lvs[0].flags.is_empty());
        // NOAUTOACTIVATE keeps its place after WRITE_LOCKED.
        let mut vg = shared();
        import_write_locked(&mut vg);
        vg.flags.push("NOAUTOACTIVATE".into());
        export_write_locked(&mut vg);
        assert_eq!(vg.flags, [WRITE_LOCKED, "NOAUTOACTIVATE"]);
    }

    #[test]
    fn which_lvs_own_a_lease_and_where_locks_go() {
        let vg = shared();
        assert!(vg_is_shared(&vg));
        assert!(uses_lock(&vg, vg.lv("lv1").unwrap()));
        assert!(!uses_lock(&vg, vg.lv(LVMLOCK_LV).unwrap()));
        let t = lock_target(&vg, "lv1").unwrap();
        assert_eq!(t.lock_args.as_deref(), Some("1.0.0:70254592"));
        assert!(!t.no_sh);
        assert_eq!(
            t.lv_id.to_string(),
            "AiCDof-Z0TV-2wxF-CqJK-RIFc-3DrB-pffNVz"
        );
        assert_eq!(lock_target(&vg, LVMLOCK_LV), None);
        assert!(!is_lockd_type(Some("none")) && !is_lockd_type(None));
        assert_eq!(lvmlock_size_mib(false, 0), 256);
        assert_eq!(lvmlock_size_mib(false, 3), 259);
        assert_eq!(lvmlock_size_mib(true, 1), 1032);
    }

    #[test]
    fn thin_lvs_lock_through_their_pool() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        let mut vg = parse_metadata(text.as_bytes()).unwrap().vg;
        vg.lock_type = Some("sanlock".into());
        vg.lock_args = Some("1.0.0:lvmlock".into());
        if let Some(p) = vg.lvs.iter_mut().find(|l| l.name == "pool") {
            p.rare.lock_args = Some("1.0.0:72351744".into());
        }
        let thin = vg
            .lvs
            .iter()
            .find(|l| is_thin_volume(l))
            .map(|l| l.name.clone())
            .unwrap();
        assert!(!uses_lock(&vg, vg.lv(&thin).unwrap()));
        assert!(uses_lock(&vg, vg.lv("pool").unwrap()));
        for name in [thin.as_str(), "pool", "pool_tdata", "pool_tmeta"] {
            let t = lock_target(&vg, name).unwrap();
            assert_eq!(t.lv_name, "pool", "{name}");
            assert!(t.no_sh);
            assert_eq!(t.lock_args.as_deref(), Some("1.0.0:72351744"));
        }
    }
}
