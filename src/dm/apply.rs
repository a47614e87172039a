//! Puts a [`DmTree`] into the kernel, or takes it out, in libdm's order. Activation: every
//! device after the devices it uses (create, load; sub-devices resumed at once unless libdm
//! delays them), then top-level devices resumed by priority (snapshots after origins), thin
//! pools checked against the kernel's transaction id. Deactivation: each top-level device, then
//! what it used, skipping whatever something else still holds open. A failed activation removes
//! what it created, so nothing is left half built.

use super::ioctl::{Control, DevId, DmInfo, TableLine};
use super::tables::{kernel_table_text, DevNo, DevResolver, DmTree, Node, PoolMessage};
use metadata_format::text::Id;
use std::collections::HashMap;
use std::io;

/// The kernel calls activation needs; `Control` is the real one, tests use a fake.
pub trait Kernel {
    fn info(&mut self, uuid: &str) -> io::Result<Option<DmInfo>>;
    fn create(&mut self, name: &str, uuid: &str) -> io::Result<DmInfo>;
    fn load(&mut self, name: &str, table: &[TableLine], read_only: bool) -> io::Result<()>;
    fn resume(&mut self, name: &str) -> io::Result<()>;
    fn remove(&mut self, name: &str) -> io::Result<()>;
    fn table(&mut self, name: &str) -> io::Result<Vec<TableLine>>;
    fn status(&mut self, name: &str) -> io::Result<Vec<TableLine>>;
    fn message(&mut self, name: &str, message: &str) -> io::Result<()>;
}

impl Kernel for Control {
    fn info(&mut self, uuid: &str) -> io::Result<Option<DmInfo>> {
        Control::info(self, DevId::Uuid(uuid))
    }
    fn create(&mut self, name: &str, uuid: &str) -> io::Result<DmInfo> {
        Control::create(self, name, uuid)
    }
    fn load(&mut self, name: &str, table: &[TableLine], read_only: bool) -> io::Result<()> {
        Control::load(self, DevId::Name(name), table, read_only).map(|_| ())
    }
    fn resume(&mut self, name: &str) -> io::Result<()> {
        Control::resume(self, DevId::Name(name)).map(|_| ())
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        Control::remove(self, DevId::Name(name))
    }
    fn table(&mut self, name: &str) -> io::Result<Vec<TableLine>> {
        Control::table(self, DevId::Name(name))
    }
    fn status(&mut self, name: &str) -> io::Result<Vec<TableLine>> {
        Control::status(self, DevId::Name(name))
    }
    fn message(&mut self, name: &str, message: &str) -> io::Result<()> {
        Control::message(self, DevId::Name(name), 0, message)
    }
}

/// A failed kernel step, with the device it was about.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Table(#[from] super::tables::TableError),
    #[error("Failed to {step} {name}: {source}")]
    Kernel {
        step: &'static str,
        name: String,
        source: io::Error,
    },
    #[error("Thin pool {name} transaction_id is {kernel}, while expected {expected}.")]
    Transaction {
        name: String,
        kernel: u64,
        expected: u64,
    },
    #[error("Cannot send messages to thin pool {name}: {why}.")]
    PoolState { name: String, why: String },
    #[error("Logical volume {lv} in use (device {name} is open {count} times); close it first (umount, or stop what uses it).")]
    InUse {
        lv: String,
        name: String,
        count: i32,
    },
}

fn kernel_err<'a>(step: &'static str, name: &'a str) -> impl FnOnce(io::Error) -> ApplyError + 'a {
    move |source| ApplyError::Kernel {
        step,
        name: name.to_string(),
        source,
    }
}

/// What an activation or deactivation changed, for /dev and for reports.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Every device of the tree that exists afterwards: (dm name, number).
    pub present: Vec<(String, DevNo)>,
    /// Devices created by this call, in creation order.
    pub created: Vec<String>,
    /// Devices removed by this call, in removal order.
    pub removed: Vec<String>,
}

/// The parsed start of a thin-pool status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStatus {
    pub transaction_id: u64,
    pub failed: bool,
    pub read_only: bool,
    pub needs_check: bool,
}

/// Reads `<transaction id> <meta used>/<total> <data used>/<total> <held root> ro|rw|... ...`.
pub fn parse_pool_status(line: &str) -> Option<PoolStatus> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first().is_some_and(|w| *w == "Fail" || *w == "Error") {
        return Some(PoolStatus {
            transaction_id: 0,
            failed: true,
            read_only: false,
            needs_check: false,
        });
    }
    Some(PoolStatus {
        transaction_id: words.first()?.parse().ok()?,
        failed: false,
        read_only: words.get(4).is_some_and(|w| *w == "ro"),
        needs_check: words.contains(&"needs_check"),
    })
}

struct Run<'a> {
    tree: &'a DmTree,
    pvs: &'a HashMap<Id, DevNo>,
    kernel: &'a mut dyn Kernel,
    info: Vec<Option<DmInfo>>,
    created: Vec<usize>,
    /// Nodes whose table this run loaded and that still wait for a resume.
    pending: Vec<bool>,
    /// Nodes whose new table is larger than the live one (libdm's size_changed > 0).
    grown: Vec<bool>,
}

impl DevResolver for Run<'_> {
    fn pv(&self, id: &Id) -> Option<DevNo> {
        self.pvs.get(id).copied()
    }
    fn dm(&self, uuid: &str) -> Option<DevNo> {
        let i = self.tree.nodes.iter().position(|n| n.uuid == uuid)?;
        self.info[i].as_ref().map(|d| d.dev)
    }
}

impl Run<'_> {
    fn node(&self, i: usize) -> &Node {
        &self.tree.nodes[i]
    }

    fn table_lines(&self, i: usize) -> Result<Vec<TableLine>, ApplyError> {
        let node = self.node(i);
        Ok(self
            .tree
            .table(node, self)?
            .into_iter()
            .map(|(start, length, target_type, params)| TableLine {
                start,
                length,
                target_type: target_type.to_string(),
                params,
            })
            .collect())
    }

    /// libdm's dm_tree_preload_children for the devices in `list`.
    fn preload(&mut self, list: &[usize], top_level: bool) -> Result<(), ApplyError> {
        for &i in list {
            let children = self.node(i).children.clone();
            if !children.is_empty() {
                self.preload(&children, false)?;
            }
            let name = self.node(i).name.clone();
            let mut new = false;
            if self.info[i].is_none() {
                let uuid = self.node(i).uuid.clone();
                let info = self
                    .kernel
                    .create(&name, &uuid)
                    .map_err(kernel_err("create", &name))?;
                self.info[i] = Some(info);
                self.created.push(i);
                new = true;
            }
            if !self.pending[i] {
                let lines = self.table_lines(i)?;
                let live = self.info[i].as_ref().is_some_and(|d| d.live_table);
                // An identical live table is left alone (libdm suppresses identical reloads).
                let same = live
                    && self
                        .kernel
                        .table(&name)
                        .map(|t| {
                            t.len() == lines.len()
                                && t.iter().zip(&lines).all(|(k, l)| {
                                    k.start == l.start
                                        && k.length == l.length
                                        && k.target_type == l.target_type
                                        && k.params.trim_end()
                                            == kernel_table_text(&l.target_type, &l.params)
                                                .trim_end()
                                })
                        })
                        .unwrap_or(false);
                if !same {
                    let old_size: u64 = if live {
                        self.kernel
                            .table(&name)
                            .map(|t| t.iter().map(|l| l.length).sum())
                            .unwrap_or(0)
                    } else {
                        0
                    };
                    let new_size: u64 = lines.iter().map(|l| l.length).sum();
                    self.grown[i] =
                        new_size > old_size && !(old_size == 0 && self.node(i).delay_resume_if_new);
                    let read_only = self.node(i).read_only;
                    self.kernel
                        .load(&name, &lines, read_only)
                        .map_err(kernel_err("load table into", &name))?;
                    self.pending[i] = true;
                }
            }
            // Only a device that grew (a new one, unless libdm delays it) is resumed while
            // its parents are still being built; the rest wait for the activation pass.
            if top_level || !self.grown[i] {
                continue;
            }
            let suspended = self.info[i].as_ref().is_some_and(|d| d.suspended);
            if self.pending[i] || suspended {
                self.resume(i)?;
                if new {
                    self.check_pool(i)?;
                }
            }
        }
        Ok(())
    }

    fn resume(&mut self, i: usize) -> Result<(), ApplyError> {
        let name = self.node(i).name.clone();
        self.kernel
            .resume(&name)
            .map_err(kernel_err("resume", &name))?;
        self.pending[i] = false;
        if let Some(info) = self.info[i].as_mut() {
            info.suspended = false;
            info.live_table = true;
        }
        Ok(())
    }

    /// libdm's dm_tree_activate_children: children first, then this level by priority.
    fn activate(&mut self, list: &[usize]) -> Result<(), ApplyError> {
        for &i in list {
            let children = self.node(i).children.clone();
            if !children.is_empty() {
                self.activate(&children)?;
            }
        }
        for priority in 0..3 {
            for &i in list {
                if self.node(i).priority != priority {
                    continue;
                }
                let suspended = self.info[i].as_ref().is_some_and(|d| d.suspended);
                if self.pending[i] || suspended {
                    let new = self.created.contains(&i);
                    self.resume(i)?;
                    if new {
                        self.check_pool(i)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A thin pool that just came up: its transaction id must be the VG's (or one less, with
    /// the messages that bring it there, which are sent now).
    fn check_pool(&mut self, i: usize) -> Result<(), ApplyError> {
        let Some(pool) = self.node(i).pool.clone() else {
            return Ok(());
        };
        if pool.transaction_id == 0 {
            return Ok(());
        }
        let name = self.node(i).name.clone();
        let status = pool_status(self.kernel, &name)?;
        if status.transaction_id == pool.transaction_id {
            return Ok(());
        }
        if status.transaction_id + 1 != pool.transaction_id {
            return Err(ApplyError::Transaction {
                name,
                kernel: status.transaction_id,
                expected: pool.transaction_id - u64::from(!pool.messages.is_empty()),
            });
        }
        send_pool_messages(self.kernel, &name, &status, &pool.messages)
    }
}

fn pool_status(kernel: &mut dyn Kernel, name: &str) -> Result<PoolStatus, ApplyError> {
    let lines = kernel
        .status(name)
        .map_err(kernel_err("read the status of", name))?;
    lines
        .first()
        .filter(|l| l.target_type == "thin-pool")
        .and_then(|l| parse_pool_status(&l.params))
        .ok_or_else(|| ApplyError::PoolState {
            name: name.to_string(),
            why: "its status is not a thin-pool status".into(),
        })
}

/// Sends pending thin pool messages; the last, set_transaction_id, is checked against the
/// kernel's transaction id afterwards.
fn send_pool_messages(
    kernel: &mut dyn Kernel,
    name: &str,
    status: &PoolStatus,
    messages: &[PoolMessage],
) -> Result<(), ApplyError> {
    if messages.is_empty() {
        return Ok(());
    }
    let why = if status.failed {
        Some("it is in failed state")
    } else if status.read_only {
        Some("its metadata is read only")
    } else if status.needs_check {
        Some("it needs a check first (thin_check)")
    } else {
        None
    };
    if let Some(why) = why {
        return Err(ApplyError::PoolState {
            name: name.to_string(),
            why: why.to_string(),
        });
    }
    for message in messages {
        kernel
            .message(name, &message.to_string())
            .map_err(kernel_err("send a message to", name))?;
        if let PoolMessage::SetTransactionId { new, .. } = message {
            let now = pool_status(kernel, name)?;
            if now.transaction_id != *new {
                return Err(ApplyError::Transaction {
                    name: name.to_string(),
                    kernel: now.transaction_id,
                    expected: *new,
                });
            }
        }
    }
    Ok(())
}

/// Activates `tree`: devices that exist with the same table are left as they are.
/// `pvs` maps the VG's PVs to their device numbers. On failure, devices this call created are
/// removed again (newest first) before the error is returned.
pub fn activate(
    tree: &DmTree,
    pvs: &HashMap<Id, DevNo>,
    kernel: &mut dyn Kernel,
) -> Result<Changes, ApplyError> {
    let mut info = Vec::with_capacity(tree.nodes.len());
    for node in &tree.nodes {
        info.push(
            kernel
                .info(&node.uuid)
                .map_err(kernel_err("look up", &node.name))?,
        );
    }
    let mut run = Run {
        tree,
        pvs,
        kernel,
        pending: vec![false; tree.nodes.len()],
        grown: vec![false; tree.nodes.len()],
        info,
        created: Vec::new(),
    };
    let result = run
        .preload(&tree.top, true)
        .and_then(|_| run.activate(&tree.top));
    if let Err(e) = result {
        for &i in run.created.iter().rev() {
            let _ = run.kernel.remove(&tree.nodes[i].name);
        }
        return Err(e);
    }
    let order = tree.creation_order();
    Ok(Changes {
        present: order
            .iter()
            .filter_map(|&i| {
                run.info[i]
                    .as_ref()
                    .map(|d| (tree.nodes[i].name.clone(), d.dev))
            })
            .collect(),
        created: run
            .created
            .iter()
            .map(|&i| tree.nodes[i].name.clone())
            .collect(),
        removed: Vec::new(),
    })
}

/// Sends the pool's pending messages now (for commands that change thin LVs of an active
/// pool): nothing when the kernel already has the VG's transaction id.
pub fn commit_pool_messages(tree: &DmTree, kernel: &mut dyn Kernel) -> Result<(), ApplyError> {
    for node in &tree.nodes {
        let Some(pool) = &node.pool else { continue };
        if pool.messages.is_empty() || kernel.info(&node.uuid).ok().flatten().is_none() {
            continue;
        }
        let status = pool_status(kernel, &node.name)?;
        if status.transaction_id == pool.transaction_id {
            continue;
        }
        if status.transaction_id + 1 != pool.transaction_id {
            return Err(ApplyError::Transaction {
                name: node.name.clone(),
                kernel: status.transaction_id,
                expected: pool.transaction_id - 1,
            });
        }
        send_pool_messages(kernel, &node.name, &status, &pool.messages)?;
    }
    Ok(())
}

/// Deactivates `tree`: every top-level device (refused while open), then the devices below it
/// that nothing holds open any more.
pub fn deactivate(tree: &DmTree, kernel: &mut dyn Kernel) -> Result<Changes, ApplyError> {
    for &top in &tree.top {
        let node = &tree.nodes[top];
        if let Some(info) = kernel
            .info(&node.uuid)
            .map_err(kernel_err("look up", &node.name))?
        {
            if info.open_count > 0 {
                return Err(ApplyError::InUse {
                    lv: node.lv.clone(),
                    name: node.name.clone(),
                    count: info.open_count,
                });
            }
        }
    }
    let mut changes = Changes::default();
    remove_level(tree, &tree.top, 0, kernel, &mut changes)?;
    Ok(changes)
}

fn remove_level(
    tree: &DmTree,
    list: &[usize],
    level: usize,
    kernel: &mut dyn Kernel,
    changes: &mut Changes,
) -> Result<(), ApplyError> {
    for &i in list {
        let node = &tree.nodes[i];
        if changes.removed.contains(&node.name) {
            continue;
        }
        let info = kernel
            .info(&node.uuid)
            .map_err(kernel_err("look up", &node.name))?;
        if let Some(info) = info {
            if info.open_count > 0 {
                if level == 0 {
                    return Err(ApplyError::InUse {
                        lv: node.lv.clone(),
                        name: node.name.clone(),
                        count: info.open_count,
                    });
                }
                continue; // still used by something outside this tree
            }
            kernel
                .remove(&node.name)
                .map_err(kernel_err("remove", &node.name))?;
            changes.removed.push(node.name.clone());
        }
        remove_level(tree, &node.children, level + 1, kernel, changes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dm::tables::{lv_tree, TableOptions};
    use metadata_format::text::{parse_metadata, VolumeGroup};

    /// A kernel in memory: devices by name, minors handed out lowest-free first as the
    /// kernel does, and a log of every call.
    #[derive(Default)]
    struct FakeKernel {
        devs: Vec<FakeDev>,
        log: Vec<String>,
        pool_tid: u64,
        fail_load_of: Option<String>,
    }

    #[derive(Clone)]
    struct FakeDev {
        name: String,
        uuid: String,
        minor: u32,
        live: Option<Vec<TableLine>>,
        inactive: Option<Vec<TableLine>>,
        users: Vec<DevNo>,
    }

    impl FakeKernel {
        fn dev(&mut self, name: &str) -> io::Result<&mut FakeDev> {
            self.devs
                .iter_mut()
                .find(|d| d.name == name)
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENXIO))
        }
        fn info_of(&self, d: &FakeDev) -> DmInfo {
            let me = DevNo::new(253, d.minor);
            DmInfo {
                name: d.name.clone(),
                uuid: d.uuid.clone(),
                dev: me,
                open_count: self.devs.iter().filter(|o| o.users.contains(&me)).count() as i32,
                target_count: 0,
                event_nr: 0,
                suspended: d.live.is_none(),
                read_only: false,
                live_table: d.live.is_some(),
                inactive_table: d.inactive.is_some(),
            }
        }
        fn tables(&self) -> Vec<String> {
            let mut v: Vec<String> = self
                .devs
                .iter()
                .map(|d| {
                    let t = d.live.as_ref().map(|t| {
                        t.iter()
                            .map(|l| {
                                format!("{} {} {} {}", l.start, l.length, l.target_type, l.params)
                            })
                            .collect::<Vec<_>>()
                            .join(" | ")
                    });
                    format!("{} 253:{} {}", d.name, d.minor, t.unwrap_or_default())
                })
                .collect();
            v.sort();
            v
        }
    }

    fn devs_in(params: &str) -> Vec<DevNo> {
        params
            .split_whitespace()
            .filter_map(|w| {
                let (a, b) = w.split_once(':')?;
                Some(DevNo::new(a.parse().ok()?, b.parse().ok()?))
            })
            .filter(|d| d.major == 253)
            .collect()
    }

    impl Kernel for FakeKernel {
        fn info(&mut self, uuid: &str) -> io::Result<Option<DmInfo>> {
            Ok(self
                .devs
                .iter()
                .find(|d| d.uuid == uuid)
                .map(|d| self.info_of(d)))
        }
        fn create(&mut self, name: &str, uuid: &str) -> io::Result<DmInfo> {
            self.log.push(format!("create {name}"));
            let mut minor = 0;
            while self.devs.iter().any(|d| d.minor == minor) {
                minor += 1;
            }
            let d = FakeDev {
                name: name.into(),
                uuid: uuid.into(),
                minor,
                live: None,
                inactive: None,
                users: Vec::new(),
            };
            self.devs.push(d.clone());
            Ok(self.info_of(&d))
        }
        fn load(&mut self, name: &str, table: &[TableLine], _: bool) -> io::Result<()> {
            self.log.push(format!("load {name}"));
            if self.fail_load_of.as_deref() == Some(name) {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            self.dev(name)?.inactive = Some(table.to_vec());
            Ok(())
        }
        fn resume(&mut self, name: &str) -> io::Result<()> {
            self.log.push(format!("resume {name}"));
            let d = self.dev(name)?;
            if let Some(t) = d.inactive.take() {
                d.users = t.iter().flat_map(|l| devs_in(&l.params)).collect();
                d.live = Some(t);
            }
            Ok(())
        }
        fn remove(&mut self, name: &str) -> io::Result<()> {
            self.log.push(format!("remove {name}"));
            self.dev(name)?;
            self.devs.retain(|d| d.name != name);
            Ok(())
        }
        fn table(&mut self, name: &str) -> io::Result<Vec<TableLine>> {
            Ok(self.dev(name)?.live.clone().unwrap_or_default())
        }
        fn status(&mut self, _: &str) -> io::Result<Vec<TableLine>> {
            Ok(vec![TableLine {
                start: 0,
                length: 1,
                target_type: "thin-pool".into(),
                params: format!(
                    "{} 10/100 0/200 - rw discard_passdown queue_if_no_space - 1024",
                    self.pool_tid
                ),
            }])
        }
        fn message(&mut self, name: &str, message: &str) -> io::Result<()> {
            self.log.push(format!("message {name} {message}"));
            if let Some(new) = message.strip_prefix("set_transaction_id ") {
                self.pool_tid = new
                    .split(' ')
                    .nth(1)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
            Ok(())
        }
    }

    fn vgdemo() -> VolumeGroup {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
        ))
        .unwrap();
        parse_metadata(text.as_bytes()).unwrap().vg
    }

    fn pvs(vg: &VolumeGroup) -> HashMap<Id, DevNo> {
        vg.pvs
            .iter()
            .zip([DevNo::new(254, 0), DevNo::new(254, 16), DevNo::new(254, 32)])
            .map(|(p, d)| (p.id, d))
            .collect()
    }

    fn activate_all(vg: &VolumeGroup, k: &mut FakeKernel) {
        for lv in ["linear", "striped", "pool", "thin1", "r1"] {
            let tree = lv_tree(vg, lv, &TableOptions::default()).unwrap();
            activate(&tree, &pvs(vg), k).unwrap();
        }
    }

    #[test]
    fn snapshot_loads_before_its_origin_and_real_resume() {
        let vg = vgdemo();
        let mut k = FakeKernel::default();
        let tree = lv_tree(&vg, "linear", &TableOptions::default()).unwrap();
        activate(&tree, &pvs(&vg), &mut k).unwrap();
        assert_eq!(
            k.log,
            [
                "create vgdemo-linear-real",
                "load vgdemo-linear-real",
                "create vgdemo-linear",
                "load vgdemo-linear",
                "create vgdemo-snap-cow",
                "load vgdemo-snap-cow",
                "resume vgdemo-snap-cow",
                "create vgdemo-snap",
                "load vgdemo-snap",
                "resume vgdemo-linear-real",
                "resume vgdemo-linear",
                "resume vgdemo-snap",
            ]
        );
    }

    #[test]
    fn whole_vg_then_again_is_a_no_op_then_deactivation_removes_all() {
        let vg = vgdemo();
        let mut k = FakeKernel {
            pool_tid: 2,
            ..FakeKernel::default()
        };
        activate_all(&vg, &mut k);
        let before = k.tables();
        assert_eq!(before.len(), 15);
        assert!(
            before.contains(&"vgdemo-thin1 253:9 0 524288 thin 253:7 1".to_string()),
            "{before:#?}"
        );
        k.log.clear();
        activate_all(&vg, &mut k);
        assert!(k.log.is_empty(), "{:?}", k.log);
        for lv in ["linear", "striped", "pool", "thin1", "r1"] {
            let tree = lv_tree(&vg, lv, &TableOptions::default()).unwrap();
            deactivate(&tree, &mut k).unwrap();
        }
        assert!(k.devs.is_empty(), "{:?}", k.tables());
    }

    #[test]
    fn open_devices_are_kept_or_refused() {
        let vg = vgdemo();
        let mut k = FakeKernel {
            pool_tid: 2,
            ..FakeKernel::default()
        };
        activate_all(&vg, &mut k);
        // The pool wrapper goes; the -tpool under it stays for thin1.
        let pool = lv_tree(&vg, "pool", &TableOptions::default()).unwrap();
        let gone = deactivate(&pool, &mut k).unwrap();
        assert_eq!(gone.removed, ["vgdemo-pool"]);
        // thin1 held open by a fake user: refused, nothing removed.
        k.devs.push(FakeDev {
            name: "user".into(),
            uuid: "x".into(),
            minor: 99,
            live: Some(vec![]),
            inactive: None,
            users: vec![DevNo::new(253, 9)],
        });
        let thin = lv_tree(&vg, "thin1", &TableOptions::default()).unwrap();
        let err = deactivate(&thin, &mut k).unwrap_err();
        assert!(err.to_string().contains("in use"), "{err}");
        k.devs.retain(|d| d.name != "user");
        let gone = deactivate(&thin, &mut k).unwrap();
        assert_eq!(
            gone.removed,
            [
                "vgdemo-thin1",
                "vgdemo-pool-tpool",
                "vgdemo-pool_tmeta",
                "vgdemo-pool_tdata"
            ]
        );
    }

    #[test]
    fn wrong_transaction_id_rolls_back() {
        let vg = vgdemo();
        let mut k = FakeKernel {
            pool_tid: 5,
            ..FakeKernel::default()
        };
        let tree = lv_tree(&vg, "thin1", &TableOptions::default()).unwrap();
        let err = activate(&tree, &pvs(&vg), &mut k).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Thin pool vgdemo-pool-tpool transaction_id is 5, while expected 2."
        );
        assert!(k.devs.is_empty(), "rolled back: {:?}", k.tables());
    }

    #[test]
    fn failed_load_rolls_back() {
        let vg = vgdemo();
        let mut k = FakeKernel {
            fail_load_of: Some("vgdemo-r1".into()),
            ..FakeKernel::default()
        };
        let tree = lv_tree(&vg, "r1", &TableOptions::default()).unwrap();
        assert!(activate(&tree, &pvs(&vg), &mut k).is_err());
        assert!(k.devs.is_empty());
    }

    #[test]
    fn pending_messages_are_sent_and_checked() {
        let mut vg = vgdemo();
        if let Some(metadata_format::text::SegmentKind::ThinPool(p)) =
            vg.lv_mut("pool").map(|l| &mut l.segments[0].kind)
        {
            p.transaction_id = 3;
            p.messages = vec![metadata_format::text::ThinMessage::Create(
                "thinsnap".into(),
            )];
        }
        let mut k = FakeKernel {
            pool_tid: 2,
            ..FakeKernel::default()
        };
        let opts = TableOptions {
            send_messages: true,
            ..TableOptions::default()
        };
        let tree = lv_tree(&vg, "pool", &opts).unwrap();
        activate(&tree, &pvs(&vg), &mut k).unwrap();
        let sent: Vec<&String> = k.log.iter().filter(|l| l.starts_with("message")).collect();
        assert_eq!(
            sent,
            [
                "message vgdemo-pool-tpool create_snap 2 1",
                "message vgdemo-pool-tpool set_transaction_id 2 3"
            ]
        );
        assert_eq!(k.pool_tid, 3);
        k.log.clear();
        commit_pool_messages(&tree, &mut k).unwrap();
        assert!(k.log.is_empty(), "already committed");
    }

    #[test]
    fn pool_status_lines() {
        let s =
            parse_pool_status("2 12/1024 0/2048 - rw discard_passdown queue_if_no_space - 1024")
                .unwrap();
        assert_eq!(s.transaction_id, 2);
        assert!(!s.read_only && !s.failed && !s.needs_check);
        assert!(parse_pool_status("Fail").unwrap().failed);
        assert!(parse_pool_status("").is_none());
    }
}
