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
    /// Suspends: `flush` waits for queued I/O, `lockfs` freezes a file system first.
    fn suspend(&mut self, name: &str, flush: bool, lockfs: bool) -> io::Result<()>;
    fn rename(&mut self, name: &str, new_name: &str) -> io::Result<()>;
    /// Drops a loaded inactive table.
    fn clear(&mut self, name: &str) -> io::Result<()>;
    /// [`Kernel::resume`] with the device's udev flags (`udev::DISABLE_*`, for udev's rules).
    fn resume_udev(&mut self, name: &str, _udev_flags: u16) -> io::Result<()> {
        self.resume(name)
    }
    /// [`Kernel::remove`] with the device's udev flags.
    fn remove_udev(&mut self, name: &str, _udev_flags: u16) -> io::Result<()> {
        self.remove(name)
    }
    /// [`Kernel::rename`] with the device's udev flags.
    fn rename_udev(&mut self, name: &str, new_name: &str, _udev_flags: u16) -> io::Result<()> {
        self.rename(name, new_name)
    }
}

/// The udev flags of a device, as LVM2 gives them: a device that is not an LV's visible
/// top-level device gets no /dev/<vg>/<lv> link and no /dev/disk entries from udev's rules
/// (only its /dev/mapper entry); a snapshot's COW yields to its origin.
pub fn udev_flags(node: &Node) -> u16 {
    use super::udev::{
        DISABLE_DISK_RULES, DISABLE_OTHER_RULES, DISABLE_SUBSYSTEM_RULES, LOW_PRIORITY,
    };
    let mut flags = 0;
    if !node.symlink {
        flags |= DISABLE_SUBSYSTEM_RULES | DISABLE_DISK_RULES | DISABLE_OTHER_RULES;
    }
    if node.layer == Some("cow") {
        flags |= LOW_PRIORITY;
    }
    flags
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
    fn suspend(&mut self, name: &str, flush: bool, lockfs: bool) -> io::Result<()> {
        Control::suspend_with(self, DevId::Name(name), flush, lockfs).map(|_| ())
    }
    fn rename(&mut self, name: &str, new_name: &str) -> io::Result<()> {
        Control::rename(self, DevId::Name(name), new_name)
    }
    fn clear(&mut self, name: &str) -> io::Result<()> {
        Control::clear(self, DevId::Name(name))
    }
    fn resume_udev(&mut self, name: &str, udev_flags: u16) -> io::Result<()> {
        Control::resume_udev(self, DevId::Name(name), udev_flags).map(|_| ())
    }
    fn remove_udev(&mut self, name: &str, udev_flags: u16) -> io::Result<()> {
        Control::remove_udev(self, DevId::Name(name), udev_flags)
    }
    fn rename_udev(&mut self, name: &str, new_name: &str, udev_flags: u16) -> io::Result<()> {
        Control::rename_udev(self, DevId::Name(name), new_name, udev_flags)
    }
}

/// Which dm devices exist, by UUID: what one DM_LIST_DEVICES saw, kept up to date with what
/// this command creates, renames and removes through [`KnownKernel`]. An activation of many
/// LVs asks the kernel about a device (DM_DEV_STATUS) only when it is in this set; a device
/// that is not cannot be looked up by its UUID anyway.
#[derive(Debug, Default)]
pub struct KnownDevices {
    /// UUID -> name, and name -> UUID.
    by_uuid: std::sync::Mutex<(HashMap<String, String>, HashMap<String, String>)>,
}

impl KnownDevices {
    /// The set from a device list: (name, UUID) of each device that has a UUID.
    pub fn new(devices: impl IntoIterator<Item = (String, String)>) -> KnownDevices {
        let mut by_uuid = HashMap::new();
        let mut by_name = HashMap::new();
        for (name, uuid) in devices {
            by_name.insert(name.clone(), uuid.clone());
            by_uuid.insert(uuid, name);
        }
        KnownDevices {
            by_uuid: std::sync::Mutex::new((by_uuid, by_name)),
        }
    }

    fn maps(
        &self,
    ) -> std::sync::MutexGuard<'_, (HashMap<String, String>, HashMap<String, String>)> {
        self.by_uuid.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a device with this UUID may exist (it was listed or created since).
    pub fn may_exist(&self, uuid: &str) -> bool {
        self.maps().0.contains_key(uuid)
    }

    fn created(&self, name: &str, uuid: &str) {
        let mut maps = self.maps();
        maps.0.insert(uuid.to_string(), name.to_string());
        maps.1.insert(name.to_string(), uuid.to_string());
    }

    fn removed(&self, name: &str) {
        let mut maps = self.maps();
        if let Some(uuid) = maps.1.remove(name) {
            maps.0.remove(&uuid);
        }
    }

    fn renamed(&self, old: &str, new: &str) {
        let mut maps = self.maps();
        if let Some(uuid) = maps.1.remove(old) {
            maps.0.insert(uuid.clone(), new.to_string());
            maps.1.insert(new.to_string(), uuid);
        }
    }
}

/// A [`Kernel`] that skips the look-up of devices [`KnownDevices`] says do not exist, and
/// keeps that set up to date with what it creates, renames and removes.
pub struct KnownKernel<'a, K: Kernel> {
    pub inner: K,
    pub known: &'a KnownDevices,
}

impl<K: Kernel> Kernel for KnownKernel<'_, K> {
    fn info(&mut self, uuid: &str) -> io::Result<Option<DmInfo>> {
        if !self.known.may_exist(uuid) {
            return Ok(None);
        }
        self.inner.info(uuid)
    }
    fn create(&mut self, name: &str, uuid: &str) -> io::Result<DmInfo> {
        let info = self.inner.create(name, uuid)?;
        self.known.created(name, uuid);
        Ok(info)
    }
    fn load(&mut self, name: &str, table: &[TableLine], read_only: bool) -> io::Result<()> {
        self.inner.load(name, table, read_only)
    }
    fn resume(&mut self, name: &str) -> io::Result<()> {
        self.inner.resume(name)
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.inner.remove(name)?;
        self.known.removed(name);
        Ok(())
    }
    fn table(&mut self, name: &str) -> io::Result<Vec<TableLine>> {
        self.inner.table(name)
    }
    fn status(&mut self, name: &str) -> io::Result<Vec<TableLine>> {
        self.inner.status(name)
    }
    fn message(&mut self, name: &str, message: &str) -> io::Result<()> {
        self.inner.message(name, message)
    }
    fn suspend(&mut self, name: &str, flush: bool, lockfs: bool) -> io::Result<()> {
        self.inner.suspend(name, flush, lockfs)
    }
    fn rename(&mut self, name: &str, new_name: &str) -> io::Result<()> {
        self.inner.rename(name, new_name)?;
        self.known.renamed(name, new_name);
        Ok(())
    }
    fn clear(&mut self, name: &str) -> io::Result<()> {
        self.inner.clear(name)
    }
    fn resume_udev(&mut self, name: &str, udev_flags: u16) -> io::Result<()> {
        self.inner.resume_udev(name, udev_flags)
    }
    fn remove_udev(&mut self, name: &str, udev_flags: u16) -> io::Result<()> {
        self.inner.remove_udev(name, udev_flags)?;
        self.known.removed(name);
        Ok(())
    }
    fn rename_udev(&mut self, name: &str, new_name: &str, udev_flags: u16) -> io::Result<()> {
        self.inner.rename_udev(name, new_name, udev_flags)?;
        self.known.renamed(name, new_name);
        Ok(())
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
    #[error("The step between suspend and resume failed; the old tables are back.")]
    Aborted,
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
    /// Devices renamed by this call: (old name, new name).
    pub renamed: Vec<(String, String)>,
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
    /// Each node's name in the kernel now (an existing device may still carry an old name).
    names: Vec<String>,
    /// Nodes this run suspended.
    suspended: Vec<usize>,
    renamed: Vec<(String, String)>,
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
            let mut new = false;
            if self.info[i].is_none() {
                let name = self.node(i).name.clone();
                let uuid = self.node(i).uuid.clone();
                let info = self
                    .kernel
                    .create(&name, &uuid)
                    .map_err(kernel_err("create", &name))?;
                self.info[i] = Some(info);
                self.created.push(i);
                new = true;
            }
            let name = self.names[i].clone();
            if !self.pending[i] {
                let lines = self.table_lines(i)?;
                let live = self.info[i].as_ref().is_some_and(|d| d.live_table);
                let read_only_now = self.info[i].as_ref().is_some_and(|d| d.read_only);
                // An identical live table is left alone (libdm suppresses identical reloads);
                // a change of read-only mode is a reload of the same table.
                let same = live
                    && read_only_now == self.node(i).read_only
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
        let name = self.names[i].clone();
        let flags = udev_flags(self.node(i));
        self.kernel
            .resume_udev(&name, flags)
            .map_err(kernel_err("resume", &name))?;
        self.pending[i] = false;
        self.suspended.retain(|&n| n != i);
        if let Some(info) = self.info[i].as_mut() {
            info.suspended = false;
            info.live_table = true;
            info.read_only = self.tree.nodes[i].read_only;
        }
        Ok(())
    }

    /// A device that exists under another name takes the tree's name (libdm renames in its
    /// activation pass, just before the resume).
    fn rename_if_needed(&mut self, i: usize) -> Result<(), ApplyError> {
        let want = self.node(i).name.clone();
        if self.info[i].is_none() || self.names[i] == want {
            return Ok(());
        }
        let old = self.names[i].clone();
        let flags = udev_flags(self.node(i));
        self.kernel
            .rename_udev(&old, &want, flags)
            .map_err(kernel_err("rename", &old))?;
        self.renamed.push((old, want.clone()));
        self.names[i] = want;
        Ok(())
    }

    /// LVM2's suspend before a reload: every existing device of the tree whose table changes,
    /// and every device above it, parents before children (dm_tree_suspend_children).
    fn suspend_changed(&mut self, flush: bool, lockfs: bool) -> Result<(), ApplyError> {
        let n = self.tree.nodes.len();
        let mut wanted = vec![false; n];
        for (i, want) in wanted.iter_mut().enumerate() {
            *want = self.pending[i] && !self.created.contains(&i);
        }
        // Parents of a changing device are suspended too.
        loop {
            let mut more = false;
            for i in 0..n {
                if !wanted[i] && self.tree.nodes[i].children.iter().any(|&c| wanted[c]) {
                    wanted[i] = true;
                    more = true;
                }
            }
            if !more {
                break;
            }
        }
        let mut order = self.tree.creation_order();
        order.reverse();
        for i in order {
            let live = self.info[i]
                .as_ref()
                .is_some_and(|d| d.live_table && !d.suspended);
            if !wanted[i] || !live || self.created.contains(&i) {
                continue;
            }
            let name = self.names[i].clone();
            self.kernel
                .suspend(&name, flush, lockfs)
                .map_err(kernel_err("suspend", &name))?;
            if let Some(info) = self.info[i].as_mut() {
                info.suspended = true;
            }
            self.suspended.push(i);
        }
        Ok(())
    }

    /// After a failure: new devices removed, loaded tables dropped, suspended devices resumed
    /// with the table they had.
    fn roll_back(&mut self) {
        for &i in self.created.clone().iter().rev() {
            let _ = self
                .kernel
                .remove_udev(&self.names[i], udev_flags(&self.tree.nodes[i]));
        }
        for i in 0..self.tree.nodes.len() {
            if self.pending[i] && !self.created.contains(&i) {
                let _ = self.kernel.clear(&self.names[i]);
            }
        }
        for &i in self.suspended.clone().iter().rev() {
            let _ = self
                .kernel
                .resume_udev(&self.names[i], udev_flags(&self.tree.nodes[i]));
        }
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
                self.rename_if_needed(i)?;
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
        let name = self.names[i].clone();
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
    run_tree(tree, pvs, kernel, None)
}

/// How a reload suspends (LVM2: flush unless a mirror or thin device; lockfs around snapshot
/// changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuspendMode {
    pub flush: bool,
    pub lockfs: bool,
}

/// LVM2's suspend/reload/resume of an active LV after a metadata change: new devices are
/// created and every changed table loaded first (devices that grow are resumed at once, so
/// what sits above them may use the new size), then the devices whose tables change are
/// suspended, parents first, and everything resumes children first, renamed where the tree's
/// names changed. Devices the tree no longer uses are left for [`remove_detached`]. On failure
/// new devices are removed, loaded tables dropped and suspended devices resumed.
///
/// `between` runs while the devices are suspended (LVM2 commits the metadata there); when it
/// fails everything is rolled back and [`ApplyError::Aborted`] returned.
pub fn reload(
    tree: &DmTree,
    pvs: &HashMap<Id, DevNo>,
    kernel: &mut dyn Kernel,
    mode: SuspendMode,
    between: &mut dyn FnMut() -> bool,
) -> Result<Changes, ApplyError> {
    run_tree(tree, pvs, kernel, Some((mode, between)))
}

fn run_tree(
    tree: &DmTree,
    pvs: &HashMap<Id, DevNo>,
    kernel: &mut dyn Kernel,
    suspend: Option<(SuspendMode, &mut dyn FnMut() -> bool)>,
) -> Result<Changes, ApplyError> {
    let mut info = Vec::with_capacity(tree.nodes.len());
    for node in &tree.nodes {
        info.push(
            kernel
                .info(&node.uuid)
                .map_err(kernel_err("look up", &node.name))?,
        );
    }
    let names = tree
        .nodes
        .iter()
        .zip(&info)
        .map(|(n, i)| {
            i.as_ref()
                .map_or_else(|| n.name.clone(), |i| i.name.clone())
        })
        .collect();
    let mut run = Run {
        tree,
        pvs,
        kernel,
        pending: vec![false; tree.nodes.len()],
        grown: vec![false; tree.nodes.len()],
        info,
        created: Vec::new(),
        names,
        suspended: Vec::new(),
        renamed: Vec::new(),
    };
    let result = run.preload(&tree.top, true).and_then(|_| match suspend {
        Some((mode, between)) => {
            run.suspend_changed(mode.flush, mode.lockfs)?;
            if between() {
                Ok(())
            } else {
                Err(ApplyError::Aborted)
            }
        }
        None => Ok(()),
    });
    let result = result.and_then(|_| run.activate(&tree.top));
    if let Err(e) = result {
        run.roll_back();
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
        renamed: run.renamed,
    })
}

/// After a reload: the devices of `old` that `new` no longer has (by UUID) and nothing holds
/// open, removed from the top down (a removed snapshot, the `-real` and `-cow` layers of an
/// origin without snapshots, a merged snapshot).
pub fn remove_detached(
    old: &DmTree,
    new: &DmTree,
    kernel: &mut dyn Kernel,
) -> Result<Vec<String>, ApplyError> {
    let mut removed = Vec::new();
    let mut order = old.creation_order();
    order.reverse();
    for i in order {
        let node = &old.nodes[i];
        if new.node_by_uuid(&node.uuid).is_some() {
            continue;
        }
        let Some(info) = kernel
            .info(&node.uuid)
            .map_err(kernel_err("look up", &node.name))?
        else {
            continue;
        };
        if info.open_count > 0 {
            continue;
        }
        kernel
            .remove_udev(&info.name, udev_flags(node))
            .map_err(kernel_err("remove", &info.name))?;
        removed.push(info.name);
    }
    Ok(removed)
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
    // What the kernel says of each top-level device, asked once: checked here, used again
    // when the device is removed (nothing in between can open it through this tree).
    let mut tops = HashMap::new();
    for &top in &tree.top {
        let node = &tree.nodes[top];
        let info = kernel
            .info(&node.uuid)
            .map_err(kernel_err("look up", &node.name))?;
        if let Some(info) = &info {
            if info.open_count > 0 {
                return Err(ApplyError::InUse {
                    lv: node.lv.clone(),
                    name: node.name.clone(),
                    count: info.open_count,
                });
            }
        }
        tops.insert(top, info);
    }
    let mut changes = Changes::default();
    remove_level(tree, &tree.top, 0, kernel, &mut changes, &mut tops)?;
    // The kernel's devices may hang together differently from the tree (a merge waiting to
    // start: the snapshot still holds -real and -cow while the tree has it hold nothing), so
    // what was still held during the first pass is tried again once its holders are gone.
    loop {
        let mut progress = false;
        let mut order = tree.creation_order();
        order.reverse();
        for i in order {
            let node = &tree.nodes[i];
            if changes.removed.contains(&node.name) {
                continue;
            }
            let Some(info) = kernel
                .info(&node.uuid)
                .map_err(kernel_err("look up", &node.name))?
            else {
                continue;
            };
            if info.open_count > 0 {
                continue;
            }
            kernel
                .remove_udev(&info.name, udev_flags(node))
                .map_err(kernel_err("remove", &info.name))?;
            changes.removed.push(info.name);
            progress = true;
        }
        if !progress {
            break;
        }
    }
    Ok(changes)
}

fn remove_level(
    tree: &DmTree,
    list: &[usize],
    level: usize,
    kernel: &mut dyn Kernel,
    changes: &mut Changes,
    tops: &mut HashMap<usize, Option<DmInfo>>,
) -> Result<(), ApplyError> {
    for &i in list {
        let node = &tree.nodes[i];
        if changes.removed.contains(&node.name) {
            continue;
        }
        let info = match tops.remove(&i).filter(|_| level == 0) {
            Some(info) => info,
            None => kernel
                .info(&node.uuid)
                .map_err(kernel_err("look up", &node.name))?,
        };
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
                .remove_udev(&node.name, udev_flags(node))
                .map_err(kernel_err("remove", &node.name))?;
            changes.removed.push(node.name.clone());
        }
        remove_level(tree, &node.children, level + 1, kernel, changes, tops)?;
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
        /// How many look-ups (DM_DEV_STATUS) were made.
        lookups: usize,
    }

    #[derive(Clone)]
    struct FakeDev {
        name: String,
        uuid: String,
        minor: u32,
        live: Option<Vec<TableLine>>,
        inactive: Option<Vec<TableLine>>,
        users: Vec<DevNo>,
        susp: bool,
        ro: bool,
        inactive_ro: bool,
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
                suspended: d.live.is_none() || d.susp,
                read_only: d.ro,
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
            self.lookups += 1;
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
                susp: false,
                ro: false,
                inactive_ro: false,
            };
            self.devs.push(d.clone());
            Ok(self.info_of(&d))
        }
        fn load(&mut self, name: &str, table: &[TableLine], ro: bool) -> io::Result<()> {
            self.log.push(format!("load {name}"));
            if self.fail_load_of.as_deref() == Some(name) {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            let d = self.dev(name)?;
            d.inactive = Some(table.to_vec());
            d.inactive_ro = ro;
            Ok(())
        }
        fn resume(&mut self, name: &str) -> io::Result<()> {
            self.log.push(format!("resume {name}"));
            let d = self.dev(name)?;
            if let Some(t) = d.inactive.take() {
                d.users = t.iter().flat_map(|l| devs_in(&l.params)).collect();
                d.live = Some(t);
                d.ro = d.inactive_ro;
            }
            d.susp = false;
            Ok(())
        }
        fn suspend(&mut self, name: &str, _: bool, _: bool) -> io::Result<()> {
            self.log.push(format!("suspend {name}"));
            self.dev(name)?.susp = true;
            Ok(())
        }
        fn rename(&mut self, name: &str, new_name: &str) -> io::Result<()> {
            self.log.push(format!("rename {name} {new_name}"));
            self.dev(name)?.name = new_name.to_string();
            Ok(())
        }
        fn clear(&mut self, name: &str) -> io::Result<()> {
            self.log.push(format!("clear {name}"));
            self.dev(name)?.inactive = None;
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
    fn known_devices_spare_the_look_ups_of_devices_that_do_not_exist() {
        let vg = vgdemo();
        let lvs = ["linear", "striped", "pool", "thin1", "r1"];
        // The same VG activated as usual and through an empty device list.
        let mut plain = FakeKernel {
            pool_tid: 2,
            ..FakeKernel::default()
        };
        activate_all(&vg, &mut plain);
        let known = KnownDevices::new([]);
        let mut k = KnownKernel {
            inner: FakeKernel {
                pool_tid: 2,
                ..FakeKernel::default()
            },
            known: &known,
        };
        for lv in lvs {
            let tree = lv_tree(&vg, lv, &TableOptions::default()).unwrap();
            activate(&tree, &pvs(&vg), &mut k).unwrap();
        }
        assert_eq!(k.inner.log, plain.log, "the same steps");
        assert_eq!(k.inner.tables(), plain.tables());
        // Only devices made earlier in the run were asked about (the pool's, shared by
        // thin1), not the 15 new ones once each.
        assert!(
            k.inner.lookups < plain.lookups,
            "{} look-ups, {} without the list",
            k.inner.lookups,
            plain.lookups
        );
        // What it created is known: activating again changes nothing.
        k.inner.log.clear();
        for lv in lvs {
            let tree = lv_tree(&vg, lv, &TableOptions::default()).unwrap();
            activate(&tree, &pvs(&vg), &mut k).unwrap();
        }
        assert!(k.inner.log.is_empty(), "{:?}", k.inner.log);
        // And what it removed is forgotten.
        for lv in lvs {
            let tree = lv_tree(&vg, lv, &TableOptions::default()).unwrap();
            deactivate(&tree, &mut k).unwrap();
        }
        assert!(k.inner.devs.is_empty());
        let tree = lv_tree(&vg, "linear", &TableOptions::default()).unwrap();
        assert!(tree.nodes.iter().all(|n| !known.may_exist(&n.uuid)));
        // A device listed at the start is asked about (and left alone when it is right).
        let mut listed = FakeKernel::default();
        activate(&tree, &pvs(&vg), &mut listed).unwrap();
        let known = KnownDevices::new(listed.devs.iter().map(|d| (d.name.clone(), d.uuid.clone())));
        listed.log.clear();
        let mut k = KnownKernel {
            inner: listed,
            known: &known,
        };
        activate(&tree, &pvs(&vg), &mut k).unwrap();
        assert!(k.inner.log.is_empty(), "{:?}", k.inner.log);
    }

    #[test]
    fn deactivation_asks_once_per_device() {
        let vg = vgdemo();
        let mut k = FakeKernel::default();
        let tree = lv_tree(&vg, "striped", &TableOptions::default()).unwrap();
        activate(&tree, &pvs(&vg), &mut k).unwrap();
        k.lookups = 0;
        let gone = deactivate(&tree, &mut k).unwrap();
        assert_eq!(gone.removed, ["vgdemo-striped"]);
        assert_eq!(k.lookups, 1);
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
            susp: false,
            ro: false,
            inactive_ro: false,
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

    fn no_step() -> impl FnMut() -> bool {
        || true
    }

    const PLAIN: SuspendMode = SuspendMode {
        flush: true,
        lockfs: false,
    };

    #[test]
    fn online_extend_suspends_reloads_resumes_and_keeps_the_minor() {
        let mut vg = vgdemo();
        let mut k = FakeKernel::default();
        let tree = lv_tree(&vg, "striped", &TableOptions::default()).unwrap();
        activate(&tree, &pvs(&vg), &mut k).unwrap();
        let before = k.tables();
        if let Some(lv) = vg.lv_mut("striped") {
            lv.segments[0].extent_count += 2;
        }
        k.log.clear();
        let tree = lv_tree(&vg, "striped", &TableOptions::default()).unwrap();
        let mut step = no_step();
        let changes = reload(&tree, &pvs(&vg), &mut k, PLAIN, &mut step).unwrap();
        assert_eq!(
            k.log,
            [
                "load vgdemo-striped",
                "suspend vgdemo-striped",
                "resume vgdemo-striped"
            ]
        );
        assert!(changes.created.is_empty() && changes.renamed.is_empty());
        assert_ne!(k.tables(), before);
        assert!(k.tables()[0].starts_with("vgdemo-striped 253:0 0 "));
        // Same again: nothing to do.
        k.log.clear();
        reload(&tree, &pvs(&vg), &mut k, PLAIN, &mut step).unwrap();
        assert!(k.log.is_empty(), "{:?}", k.log);
    }

    #[test]
    fn a_failed_step_between_suspend_and_resume_puts_the_old_table_back() {
        let mut vg = vgdemo();
        let mut k = FakeKernel::default();
        let tree = lv_tree(&vg, "striped", &TableOptions::default()).unwrap();
        activate(&tree, &pvs(&vg), &mut k).unwrap();
        let before = k.tables();
        if let Some(lv) = vg.lv_mut("striped") {
            lv.segments[0].extent_count += 2;
        }
        let tree = lv_tree(&vg, "striped", &TableOptions::default()).unwrap();
        let mut failing = || false;
        let err = reload(&tree, &pvs(&vg), &mut k, PLAIN, &mut failing).unwrap_err();
        assert!(matches!(err, ApplyError::Aborted));
        assert_eq!(k.tables(), before);
        assert!(k.devs.iter().all(|d| !d.susp && d.inactive.is_none()));
    }

    #[test]
    fn renames_read_only_reloads_and_detached_devices() {
        let mut vg = vgdemo();
        let mut k = FakeKernel {
            pool_tid: 2,
            ..FakeKernel::default()
        };
        let old = vg.clone();
        let tree = lv_tree(&old, "linear", &TableOptions::default()).unwrap();
        activate(&tree, &pvs(&old), &mut k).unwrap();
        // Rename the origin: its device and -real follow, the snapshot keeps its name.
        crate::commands::lv_plan::rename_lv(&mut vg, "linear", "lin2");
        let new = lv_tree(&vg, "lin2", &TableOptions::default()).unwrap();
        k.log.clear();
        let mut step = no_step();
        let changes = reload(&new, &pvs(&vg), &mut k, PLAIN, &mut step).unwrap();
        let mut renamed = changes.renamed.clone();
        renamed.sort();
        assert_eq!(
            renamed,
            [
                ("vgdemo-linear".to_string(), "vgdemo-lin2".to_string()),
                (
                    "vgdemo-linear-real".to_string(),
                    "vgdemo-lin2-real".to_string()
                )
            ]
        );
        assert!(!k.log.iter().any(|l| l.starts_with("load")), "{:?}", k.log);
        // Read-only: the same table loaded again with the flag.
        if let Some(lv) = vg.lv_mut("lin2") {
            lv.status.retain(|s| s != "WRITE");
        }
        k.log.clear();
        let ro = lv_tree(&vg, "lin2", &TableOptions::default()).unwrap();
        reload(&ro, &pvs(&vg), &mut k, PLAIN, &mut step).unwrap();
        // -real is read-only with its origin (LVM2's _read_only_lv), so the snapshot above it
        // is suspended too: parents first, children resumed first.
        assert_eq!(
            k.log,
            [
                "load vgdemo-lin2-real",
                "load vgdemo-lin2",
                "suspend vgdemo-snap",
                "suspend vgdemo-lin2",
                "suspend vgdemo-lin2-real",
                "resume vgdemo-lin2-real",
                "resume vgdemo-lin2",
                "resume vgdemo-snap"
            ]
        );
        assert!(k.devs.iter().any(|d| d.name == "vgdemo-lin2" && d.ro));
        // The snapshot goes: the origin is plain again, -real, the snapshot and -cow leave.
        let before = vg.clone();
        crate::commands::lv_plan::remove_lv(&mut vg, "snap");
        let plain = lv_tree(&vg, "lin2", &TableOptions::default()).unwrap();
        reload(&plain, &pvs(&vg), &mut k, PLAIN, &mut step).unwrap();
        let old_tree = lv_tree(&before, "lin2", &TableOptions::default()).unwrap();
        let mut gone = remove_detached(&old_tree, &plain, &mut k).unwrap();
        gone.sort();
        assert_eq!(gone, ["vgdemo-lin2-real", "vgdemo-snap", "vgdemo-snap-cow"]);
        assert_eq!(k.devs.len(), 1);
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
