//! Containers: each one a writable thin snapshot of its image LV (grown to `--size` with
//! resize2fs), with its configuration and last exit in the LV's tags. create, start, stop,
//! kill, rm, commit (a new layer and image from the container's state), diff, export, cp, logs.

use super::extract::Tree;
use super::fs::{self as cfs, in_chroot};
use super::image::{self, commit_image, docker_config, tree_of};
use super::record::*;
use super::runtime::{self, RunState};
use super::store::*;
use crate::commands::thin_txn::ThinOp;
use crate::error::CmdResult;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `create`/`run` ask for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Option<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub hostname: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub auto_remove: bool,
    pub init: bool,
    pub volumes: Vec<MountSpec>,
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    pub size: Option<u64>,
    /// `-p`: kept in the record and shown by inspect; not published.
    pub publish: Vec<PortBinding>,
    /// `--expose PORT/PROTO`.
    pub expose: Vec<String>,
}

/// Parses `-v SRC:DST[:ro|rw]`.
pub fn parse_volume(text: &str) -> Result<MountSpec, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [s, t] => (*s, *t, "rw"),
        [s, t, m] => (*s, *t, *m),
        _ => {
            return Err(format!(
            "-v {text}: give VOLUME:/path, /host/path:/path, with :ro or :rw at the end if wanted."
        ))
        }
    };
    if !target.starts_with('/') {
        return Err(format!("-v {text}: the container path must be absolute."));
    }
    if !source.starts_with('/') {
        check_volume_name(source)?;
    }
    let read_only = match mode {
        "ro" => true,
        "rw" => false,
        m => return Err(format!("-v {text}: unknown mode {m}; use ro or rw.")),
    };
    Ok(MountSpec {
        source: source.to_string(),
        target: target.to_string(),
        read_only,
    })
}

pub fn create(
    store: &Store,
    image_ref: &str,
    opts: &CreateOptions,
) -> CmdResult<(String, ContainerRecord)> {
    let mut made = create_many(store, image_ref, opts, 1, true)?;
    made.pop()
        .ok_or_else(|| failed("no container was created".to_string()))
}

/// Creates `count` containers with the same options in one pool transaction (`create
/// --count`); with `--name NAME` they are NAME-1 ... NAME-count. With `activate_first` the
/// first container's LV is left active (`run` mounts it next); otherwise none is activated
/// (`create`: `start` activates).
pub fn create_many(
    store: &Store,
    image_ref: &str,
    opts: &CreateOptions,
    count: usize,
    activate_first: bool,
) -> CmdResult<Vec<(String, ContainerRecord)>> {
    let vg = store.read_vg()?;
    let catalog = Catalog::read(&vg);
    let (image_lv, img) = catalog.find_image(image_ref).map_err(failed)?;
    let mut taken: Vec<String> = catalog
        .containers
        .iter()
        .map(|(_, c)| c.name.clone())
        .collect();
    let mut records = Vec::with_capacity(count);
    for i in 0..count {
        let wanted = opts.name.as_ref().map(|n| {
            if count == 1 {
                n.clone()
            } else {
                format!("{n}-{}", i + 1)
            }
        });
        let rec = container_record(img, image_ref, opts, wanted.as_deref(), &taken)?;
        taken.push(rec.name.clone());
        records.push(rec);
    }
    let image_extents = vg
        .lv(image_lv)
        .map(|l| l.extent_count() as u32)
        .ok_or_else(|| failed(format!("image LV {image_lv} is missing")))?;
    let extents = match opts.size {
        Some(bytes) => extents_for(bytes, &vg).max(image_extents),
        None => image_extents,
    };
    let lvs: Vec<String> = records
        .iter()
        .map(|r| Kind::Container.lv_name(&r.id))
        .collect();
    let mut ops: Vec<ThinOp> = records
        .iter()
        .zip(&lvs)
        .map(|(record, lv)| ThinOp::Create {
            name: lv.clone(),
            origin: Some(image_lv.clone()),
            extents,
            tags: record_tags(Kind::Container, record),
            read_only: false,
        })
        .collect();
    // Named volumes used for the first time are made in the same transaction.
    let mut new_volumes = Vec::new();
    for m in &opts.volumes {
        if m.is_bind() || catalog.volumes.iter().any(|(_, v)| v.name == m.source) {
            continue;
        }
        let vlv = Kind::Volume.lv_name(&m.source);
        if new_volumes.contains(&vlv) {
            continue;
        }
        let vrec = VolumeRecord {
            name: m.source.clone(),
            created: now(),
        };
        ops.push(ThinOp::Create {
            name: vlv.clone(),
            origin: None,
            extents: extents_for(256 << 20, &vg),
            tags: record_tags(Kind::Volume, &vrec),
            read_only: false,
        });
        new_volumes.push(vlv);
    }
    // The first is made active at once: `run` mounts it next (one lock and scan for both).
    let first = usize::from(activate_first).min(lvs.len());
    store.transact_and_activate(&ops, &mut |_| Ok(()), &lvs[..first])?;
    let prepared = (|| -> CmdResult {
        for v in &new_volumes {
            store.activate(v)?;
            let made = mkfs(&store.dev_path(v), "oxlvm-volume");
            store.deactivate_quietly(v);
            made?;
        }
        if extents > image_extents {
            for (i, lv) in lvs.iter().enumerate() {
                store.activate(lv)?;
                let grown = grow_fs(&store.dev_path(lv));
                if i > 0 {
                    store.deactivate_quietly(lv);
                }
                grown?;
            }
        }
        Ok(())
    })();
    if let Err(e) = prepared {
        for lv in &lvs {
            store.deactivate_quietly(lv);
        }
        let mut undo: Vec<ThinOp> = lvs
            .iter()
            .map(|lv| ThinOp::Delete { name: lv.clone() })
            .collect();
        undo.extend(
            new_volumes
                .iter()
                .map(|v| ThinOp::Delete { name: v.clone() }),
        );
        let _ = store.transact(&undo, &mut |_| Ok(()));
        return Err(e);
    }
    Ok(lvs.into_iter().zip(records).collect())
}

/// A new container's record: its id, name (`wanted` or a generated one) and configuration.
fn container_record(
    img: &ImageRecord,
    image_ref: &str,
    opts: &CreateOptions,
    wanted: Option<&str>,
    taken: &[String],
) -> CmdResult<ContainerRecord> {
    let id = random_id();
    let name = match wanted {
        Some(n) => {
            check_container_name(n).map_err(crate::error::CmdError::usage)?;
            if taken.iter().any(|t| t == n) {
                return Err(failed(format!(
                    "Conflict: the container name \"{n}\" is already in use; remove that container or pick another name."
                )));
            }
            n.to_string()
        }
        None => generate_name(id.as_bytes().get(..2).unwrap_or(b"00"), taken),
    };
    let entrypoint = match &opts.entrypoint {
        Some(e) if e.is_empty() => None,
        Some(e) => Some(vec![e.clone()]),
        None => img.config.entrypoint.clone(),
    };
    let cmd = if !opts.cmd.is_empty() {
        Some(opts.cmd.clone())
    } else if opts.entrypoint.is_some() {
        None
    } else {
        img.config.cmd.clone()
    };
    let mut argv: Vec<String> = entrypoint.clone().unwrap_or_default();
    argv.extend(cmd.clone().unwrap_or_default());
    if argv.is_empty() {
        return Err(failed(format!(
            "No command specified: image {image_ref} has no CMD or ENTRYPOINT; give one after the image name."
        )));
    }
    let mut env = img.config.env.clone();
    for e in &opts.env {
        let kv = if e.contains('=') {
            e.clone()
        } else {
            match std::env::var(e) {
                Ok(v) => format!("{e}={v}"),
                Err(_) => continue,
            }
        };
        let key = kv.split('=').next().unwrap_or("").to_string();
        env.retain(|x| x.split('=').next() != Some(key.as_str()));
        env.push(kv);
    }
    let record = ContainerRecord {
        id: id.clone(),
        name: name.clone(),
        image: img.id.clone(),
        image_ref: image_ref.to_string(),
        created: now(),
        config: ContainerConfig {
            argv,
            entrypoint,
            cmd,
            env,
            user: opts.user.clone().unwrap_or_else(|| img.config.user.clone()),
            working_dir: opts
                .workdir
                .clone()
                .unwrap_or_else(|| img.config.working_dir.clone()),
            hostname: opts
                .hostname
                .clone()
                .unwrap_or_else(|| short_id(&id).to_string()),
            tty: opts.tty,
            interactive: opts.interactive,
            auto_remove: opts.auto_remove,
            init: opts.init,
            mounts: opts.volumes.clone(),
            memory: opts.memory,
            cpus: opts.cpus,
            pids_limit: opts.pids_limit,
            stop_signal: img.config.stop_signal.clone(),
            exposed_ports: {
                let mut ports = img.config.exposed_ports.clone();
                let more = opts
                    .expose
                    .iter()
                    .chain(opts.publish.iter().map(|p| &p.container_port));
                for p in more {
                    if !ports.contains(p) {
                        ports.push(p.clone());
                    }
                }
                ports
            },
            port_bindings: opts.publish.clone(),
        },
        state: None,
    };
    Ok(record)
}

/// Removes a container's LV (it must not run).
pub fn remove_lv(store: &Store, lv: &str) -> CmdResult {
    store.transact(
        &[ThinOp::Delete {
            name: lv.to_string(),
        }],
        &mut |_| Ok(()),
    )
}

/// Starts a container in the background: a detached copy of oxlvm becomes its monitor.
/// Returns once the container's command has been exec'd (or failed to be).
pub fn start_detached(store: &Store, rec: &ContainerRecord) -> CmdResult {
    if runtime::running(&rec.id).is_some() {
        return Ok(());
    }
    let (r, w) = nix::unistd::pipe().map_err(|e| failed(format!("pipe: {e}")))?;
    let exe =
        std::env::current_exe().map_err(|e| failed(format!("Cannot find oxlvm itself: {e}")))?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&w);
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["container", "__monitor", "--vg", &store.vg, &rec.id])
        .env("OXLVM_NOTIFY_FD", fd.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe; it detaches the monitor from our session.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| failed(format!("Cannot start the monitor: {e}")))?;
    drop(w);
    let mut answer = String::new();
    let _ = File::from(r).read_to_string(&mut answer);
    let _ = child.id();
    let first = answer.lines().next().unwrap_or("");
    if first.starts_with("ok") {
        return Ok(());
    }
    let msg = first.strip_prefix("err ").unwrap_or(first);
    Err(failed(if msg.is_empty() {
        format!("Container {} did not start.", rec.name)
    } else {
        format!("Container {} did not start: {msg}", rec.name)
    }))
}

/// The monitor entry of a detached start.
pub fn monitor_main(store: &Store, id: &str) -> CmdResult<i32> {
    let catalog = store.catalog()?;
    let (lv, rec) = catalog.find_container(id).map_err(failed)?;
    let notify = std::env::var("OXLVM_NOTIFY_FD")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        // SAFETY: the starter passed us this descriptor (the write end of its pipe) to own.
        .map(|fd| unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    if let Some(f) = &notify {
        // The container must not inherit it (the starter waits for its EOF).
        let _ = nix::fcntl::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(f),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    runtime::monitor(store, lv, rec, runtime::Attach::Detached { notify })
}

/// Status text as `docker ps` shows it.
pub fn status_text(rec: &ContainerRecord, now: u64) -> String {
    if let Some(st) = runtime::running(&rec.id) {
        return format!(
            "Up {}{}",
            human_ago(st.started_at, now).trim_end_matches(" ago"),
            if runtime::paused(&rec.id) {
                " (Paused)"
            } else {
                ""
            }
        );
    }
    match &rec.state {
        None => "Created".to_string(),
        Some(s) => format!("Exited ({}) {}", s.exit_code, human_ago(s.finished_at, now)),
    }
}

/// Stops a running container; `None` timeout = 10 s as Docker.
pub fn stop(rec: &ContainerRecord, timeout: u64) -> CmdResult {
    let sig = rec
        .config
        .stop_signal
        .as_deref()
        .and_then(runtime::signal_number)
        .unwrap_or(libc::SIGTERM);
    runtime::stop(&rec.id, Duration::from_secs(timeout), sig)
}

/// `rm` of several containers: each is checked (and with `force` stopped) on its own, then
/// the LVs of all that may go are deleted in ONE pool transaction. Returns each container's
/// outcome in order.
pub fn remove_many(
    store: &Store,
    items: &[(&str, &ContainerRecord)],
    force: bool,
) -> Vec<CmdResult> {
    let mut outcome: Vec<Option<CmdResult>> = Vec::with_capacity(items.len());
    let mut doomed: Vec<usize> = Vec::new();
    for (i, (lv, rec)) in items.iter().enumerate() {
        let ready = (|| -> CmdResult<bool> {
            if runtime::running(&rec.id).is_some() {
                if !force {
                    return Err(failed(format!(
                        "You cannot remove a running container {}. Stop the container before attempting removal or force remove (-f).",
                        short_id(&rec.id)
                    )));
                }
                runtime::stop(&rec.id, Duration::from_secs(0), libc::SIGKILL)?;
                // An --rm container removed itself.
                if !store.read_vg()?.lvs.iter().any(|l| l.name == *lv) {
                    return Ok(false);
                }
            }
            Ok(true)
        })();
        match ready {
            Ok(true) => {
                doomed.push(i);
                outcome.push(None);
            }
            Ok(false) => outcome.push(Some(Ok(()))),
            Err(e) => outcome.push(Some(Err(e))),
        }
    }
    if !doomed.is_empty() {
        let ops: Vec<ThinOp> = doomed
            .iter()
            .map(|&i| ThinOp::Delete {
                name: items[i].0.to_string(),
            })
            .collect();
        let done = store.transact(&ops, &mut |_| Ok(()));
        for &i in &doomed {
            outcome[i] = Some(match &done {
                Ok(()) => Ok(()),
                Err(e) => Err(failed(e.message().to_string())),
            });
        }
    }
    outcome.into_iter().map(|o| o.unwrap_or(Ok(()))).collect()
}

/// Runs `job` on the container's tree: the live mount while it runs, else a mount of its LV.
pub fn with_tree<T>(
    store: &Store,
    lv: &str,
    rec: &ContainerRecord,
    read_only: bool,
    job: impl FnOnce(&Path) -> CmdResult<T>,
) -> CmdResult<T> {
    if runtime::running(&rec.id).is_some() {
        let dir = runtime::mount_dir(&rec.id);
        return job(&dir);
    }
    with_mounted(store, lv, read_only, |m| job(&m.dir))
}

/// Output lines of the container's log: (stream, text).
/// One record of a container's log.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub stream: String,
    pub text: String,
    /// RFC 3339, as written.
    pub time: String,
    /// Seconds since the epoch (0 if the time does not parse).
    pub epoch: u64,
}

pub fn logs(store: &Store, lv: &str, rec: &ContainerRecord) -> CmdResult<Vec<LogLine>> {
    let text = with_tree(store, lv, rec, true, |dir| {
        Ok(fs::read_to_string(dir.join(runtime::LOG_FILE)).unwrap_or_default())
    })?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let time = v["time"].as_str().unwrap_or("").to_string();
            LogLine {
                stream: v["stream"].as_str().unwrap_or("stdout").to_string(),
                text: v["log"].as_str().unwrap_or("").to_string(),
                epoch: image::parse_rfc3339(&time).unwrap_or(0),
                time,
            }
        })
        .collect())
}

/// `logs --since`/`--until`: an RFC 3339 time, Unix seconds, or a duration back from `now`
/// (`90s`, `10m`, `1h30m`), as Docker.
pub fn parse_since(text: &str, now: u64) -> Result<u64, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs >= 0.0 {
            return Ok(secs as u64);
        }
    }
    if let Some(e) = image::parse_rfc3339(t) {
        return Ok(e);
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = t.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => f64::NAN,
        };
        let n: f64 = num.parse().unwrap_or(f64::NAN);
        if unit.is_nan() || n.is_nan() {
            any = false;
            break;
        }
        total += n * unit;
        num.clear();
        any = true;
    }
    if !any || !num.is_empty() {
        return Err(format!(
            "--since {text}: give a time (2026-01-02T15:04:05Z), Unix seconds or a duration (10m, 1h30m)."
        ));
    }
    Ok(now.saturating_sub(total as u64))
}

/// `diff`: A/C/D lines of the container's tree against its image's.
pub fn diff(store: &Store, lv: &str, rec: &ContainerRecord) -> CmdResult<Vec<String>> {
    let catalog = store.catalog()?;
    let image_lv = catalog
        .images
        .iter()
        .find(|(_, i)| i.id == rec.image)
        .map(|(n, _)| n.clone())
        .ok_or_else(|| failed("the container's image is missing"))?;
    let old = with_mounted(store, &image_lv, true, |m| tree_of(&m.rootfs()))?;
    let new = with_tree(store, lv, rec, true, |dir| tree_of(&dir.join("rootfs")))?;
    Ok(cfs::diff_trees(&old, &new)
        .into_iter()
        .map(|c| format!("{} {}", c.kind, String::from_utf8_lossy(&c.path)))
        .collect())
}

/// `export`: a tar of the container's tree to `out`.
pub fn export(store: &Store, lv: &str, rec: &ContainerRecord, out: &File) -> CmdResult {
    with_tree(store, lv, rec, true, |dir| {
        let mut fd = cfs::dup_file(out).map_err(|e| failed(e.to_string()))?;
        in_chroot(&dir.join("rootfs"), move || {
            cfs::write_tree_tar(&mut fd, &[])?;
            Ok(Vec::new())
        })
        .map_err(failed)
        .map(|_| ())
    })
}

pub struct CommitOptions {
    pub changes: Vec<String>,
    pub message: String,
    pub author: String,
}

/// `commit`: a thin snapshot of the container becomes a new layer (its logs dropped, its diff
/// against the image measured) and an image on it whose parent is the container's image.
pub fn commit(
    store: &Store,
    lv: &str,
    rec: &ContainerRecord,
    reference: Option<&str>,
    opts: &CommitOptions,
) -> CmdResult<String> {
    let catalog = store.catalog()?;
    let (image_lv, img) = catalog
        .images
        .iter()
        .find(|(_, i)| i.id == rec.image)
        .cloned()
        .ok_or_else(|| failed("the container's image is missing"))?;
    let top_chain = img
        .layers
        .last()
        .cloned()
        .ok_or_else(|| failed("the container's image has no layer"))?;
    let layer_lv = format!("oxl_{}", short_id(&random_id()));
    let vg = store.read_vg()?;
    let extents = vg
        .lv(lv)
        .map(|l| l.extent_count() as u32)
        .ok_or_else(|| failed(format!("container LV {lv} is missing")))?;
    let provisional = LayerRecord {
        chain_id: format!("partial-{layer_lv}"),
        ..Default::default()
    };
    let running = runtime::running(&rec.id).is_some();
    // A running container's filesystem is frozen (synced, journal flushed) while its
    // snapshot is taken, so the new layer is a clean filesystem.
    let frozen = running.then(|| runtime::mount_dir(&rec.id));
    if let Some(dir) = &frozen {
        freeze(dir, true)?;
    }
    let made = store.transact(
        &[ThinOp::Create {
            name: layer_lv.clone(),
            origin: Some(lv.to_string()),
            extents,
            tags: record_tags(Kind::Layer, &provisional),
            read_only: false,
        }],
        &mut |_| Ok(()),
    );
    if let Some(dir) = &frozen {
        freeze(dir, false)?;
    }
    made?;
    let measured = (|| -> CmdResult<(String, u64)> {
        let parent_tree = with_mounted(store, &image_lv, true, |m| tree_of(&m.rootfs()))?;
        with_mounted(store, &layer_lv, false, |m| {
            // Only the tree is the image; the container's log stays behind.
            let _ = fs::remove_file(m.dir.join(runtime::LOG_FILE));
            let tmp = PathBuf::from(RUN_DIR).join(format!("commit.{}.tar", std::process::id()));
            let out = File::create(&tmp).map_err(|e| failed(format!("{}: {e}", tmp.display())))?;
            let mut fd = cfs::dup_file(&out).map_err(|e| failed(e.to_string()))?;
            let listing = parent_tree.clone();
            let r = in_chroot(&m.rootfs(), move || {
                cfs::write_layer_tar(&mut fd, &listing)?;
                Ok(Vec::new())
            })
            .map_err(failed);
            let size = fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
            let digest = fs::read(&tmp).map(|b| cfs::sha256_hex(&b));
            let _ = fs::remove_file(&tmp);
            r?;
            Ok((digest.map_err(|e| failed(e.to_string()))?, size))
        })
    })();
    let (diff_id, size) = match measured {
        Ok(x) => x,
        Err(e) => {
            let _ = remove_lv(store, &layer_lv);
            return Err(e);
        }
    };
    let layer = LayerRecord {
        chain_id: image::chain_id(Some(&top_chain), &diff_id),
        diff_id: diff_id.clone(),
        parent: Some(top_chain),
        created: now(),
        size,
    };
    let mut config = img.config.clone();
    if rec.config.cmd.is_some() {
        config.cmd = rec.config.cmd.clone();
    }
    if rec.config.entrypoint != img.config.entrypoint {
        config.entrypoint = rec.config.entrypoint.clone();
    }
    config.env = rec.config.env.clone();
    if !rec.config.working_dir.is_empty() {
        config.working_dir = rec.config.working_dir.clone();
    }
    config.user = rec.config.user.clone();
    image::apply_changes(&mut config, &opts.changes)?;
    let created = now();
    let mut layers = img.layers.clone();
    layers.push(layer.chain_id.clone());
    let mut diff_ids = img.diff_ids.clone();
    diff_ids.push(diff_id);
    let mut history = img.history.clone();
    history.push(HistoryEntry {
        created,
        created_by: rec.config.argv.join(" "),
        comment: opts.message.clone(),
        empty_layer: false,
    });
    let mut record = ImageRecord {
        id: String::new(),
        repo_tags: reference.map(str::to_string).into_iter().collect(),
        parent: Some(img.id.clone()),
        layers,
        diff_ids,
        config,
        created,
        author: opts.author.clone(),
        comment: opts.message.clone(),
        history,
        architecture: img.architecture.clone(),
    };
    record.id = cfs::sha256_hex(&docker_config(&record));
    commit_image(store, &record, &[(layer_lv.clone(), layer)], &layer_lv)?;
    Ok(record.id)
}

/// FIFREEZE / FITHAW on the filesystem mounted at `dir`.
fn freeze(dir: &Path, on: bool) -> CmdResult {
    const FIFREEZE: libc::c_ulong = 0xC004_5877;
    const FITHAW: libc::c_ulong = 0xC004_5878;
    let f = File::open(dir).map_err(|e| failed(format!("{}: {e}", dir.display())))?;
    let arg: libc::c_int = 0;
    // SAFETY: FIFREEZE/FITHAW take an int argument; the descriptor is open.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&f),
            if on { FIFREEZE } else { FITHAW },
            &arg,
        )
    };
    if rc != 0 {
        return Err(failed(format!(
            "Cannot {} {}: {}",
            if on { "freeze" } else { "thaw" },
            dir.display(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// `cp CONTAINER:SRC DEST` (out) or `cp SRC CONTAINER:DEST` (in).
pub fn copy_out(
    store: &Store,
    lv: &str,
    rec: &ContainerRecord,
    src: &str,
    dest: &Path,
) -> CmdResult {
    let (dest_dir, name) = if dest.is_dir() {
        let base = Path::new(src)
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "root".into());
        (dest.to_path_buf(), base)
    } else {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        if !parent.is_dir() {
            return Err(failed(format!("{} is not a directory.", parent.display())));
        }
        (
            parent,
            dest.file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_else(|| "out".into()),
        )
    };
    let tmp = PathBuf::from(RUN_DIR).join(format!("cp.{}.tar", std::process::id()));
    let _ = fs::create_dir_all(RUN_DIR);
    let out = File::create(&tmp).map_err(|e| failed(format!("{}: {e}", tmp.display())))?;
    let src_path = PathBuf::from(src);
    let r = with_tree(store, lv, rec, true, |dir| {
        let mut fd = cfs::dup_file(&out).map_err(|e| failed(e.to_string()))?;
        in_chroot(&dir.join("rootfs"), move || {
            cfs::write_path_tar(&mut fd, &src_path)?;
            Ok(Vec::new())
        })
        .map_err(|e| failed(format!("Cannot copy {}:{src}: {e}", rec.name)))
        .map(|_| ())
    });
    drop(out);
    if let Err(e) = r {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Unpack on this host under DEST's directory, the first component renamed to `name`.
    let input = File::open(&tmp).map_err(|e| failed(e.to_string()))?;
    let renamed = rename_first(input, &name.to_string_lossy());
    let result = renamed.and_then(|data| {
        Tree::open(&dest_dir)
            .and_then(|t| t.apply_tar(&data[..], false))
            .map_err(failed)
    });
    let _ = fs::remove_file(&tmp);
    result.map(|_| ())
}

/// The tar with its top entry (and everything under it) renamed to `name`.
fn rename_first(input: File, name: &str) -> CmdResult<Vec<u8>> {
    let mut ar = tar::Archive::new(input);
    let mut out = tar::Builder::new(Vec::new());
    let mut top: Option<String> = None;
    for e in ar.entries().map_err(|e| failed(e.to_string()))? {
        let mut e = e.map_err(|e| failed(e.to_string()))?;
        let path = e
            .path()
            .map_err(|e| failed(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches('/').to_string();
        let first = path.split('/').next().unwrap_or("").to_string();
        let t = top.get_or_insert(first.clone());
        let rest = path.strip_prefix(t.as_str()).unwrap_or("");
        let new = format!("{name}{rest}");
        let mut h = e.header().clone();
        let link = e.link_name().ok().flatten().map(|l| l.into_owned());
        let mut data = Vec::new();
        e.read_to_end(&mut data)
            .map_err(|e| failed(e.to_string()))?;
        match link {
            Some(l) if h.entry_type() == tar::EntryType::Symlink => out
                .append_link(&mut h, &new, l)
                .map_err(|e| failed(e.to_string()))?,
            _ => out
                .append_data(&mut h, &new, &data[..])
                .map_err(|e| failed(e.to_string()))?,
        }
    }
    out.into_inner().map_err(|e| failed(e.to_string()))
}

pub fn copy_in(
    store: &Store,
    lv: &str,
    rec: &ContainerRecord,
    src: &Path,
    dest: &str,
) -> CmdResult {
    let meta = fs::symlink_metadata(src).map_err(|e| failed(format!("{}: {e}", src.display())))?;
    let _ = meta;
    let dest = dest.to_string();
    let src = src.to_path_buf();
    with_tree(store, lv, rec, false, |dir| {
        let root = Tree::open(&dir.join("rootfs")).map_err(failed)?;
        let dest_rel = Path::new(&dest)
            .strip_prefix("/")
            .unwrap_or(Path::new(&dest));
        let (into, name) = if root.open_dir(dest_rel).is_ok() {
            (
                dest.clone(),
                src.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "data".into()),
            )
        } else {
            let p = Path::new(&dest);
            (
                p.parent()
                    .map(|x| x.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "/".into()),
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "data".into()),
            )
        };
        // The tar of the host path is made here (host side), applied inside the container.
        let parent = src.parent().unwrap_or(Path::new("/")).to_path_buf();
        let base = src
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let mut raw = Vec::new();
        let base_path = PathBuf::from("/").join(&base);
        in_chroot(&parent, move || {
            let mut buf = Vec::new();
            cfs::write_path_tar(&mut buf, &base_path)?;
            Ok(buf)
        })
        .map(|b| raw = b)
        .map_err(failed)?;
        let tmp = PathBuf::from(RUN_DIR).join(format!("cpin.{}.tar", std::process::id()));
        fs::write(&tmp, &raw).map_err(|e| failed(e.to_string()))?;
        let data = rename_first(File::open(&tmp).map_err(|e| failed(e.to_string()))?, &name);
        let _ = fs::remove_file(&tmp);
        let data = data?;
        let into_rel = Path::new(&into)
            .strip_prefix("/")
            .unwrap_or(Path::new(&into));
        root.subtree(into_rel)
            .and_then(|at| at.apply_tar(&data[..], false))
            .map_err(|e| failed(format!("Cannot copy into {}:{dest}: {e}", rec.name)))
            .map(|_| ())
    })
}

/// Runs a command in a running container.
pub fn exec(
    rec: &ContainerRecord,
    argv: &[String],
    env: &[String],
    user: Option<&str>,
    workdir: Option<&str>,
    io: runtime::ExecIo,
) -> CmdResult<i32> {
    let st: RunState = runtime::running(&rec.id)
        .ok_or_else(|| failed(format!("Container {} is not running.", rec.name)))?;
    if runtime::paused(&rec.id) {
        return Err(failed(format!(
            "Container {} is paused, unpause the container before exec.",
            rec.name
        )));
    }
    let mut all_env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!("HOSTNAME={}", rec.config.hostname),
    ];
    for e in rec.config.env.iter().chain(env) {
        let key = e.split('=').next().unwrap_or("");
        all_env.retain(|x| x.split('=').next() != Some(key));
        all_env.push(e.clone());
    }
    let _ = std::io::stdout().flush();
    runtime::exec_in(
        &st,
        &rec.id,
        argv,
        &all_env,
        user.unwrap_or(&rec.config.user),
        workdir.unwrap_or(&rec.config.working_dir),
        io,
    )
}

/// `-p` requests as Docker's `HostConfig.PortBindings`.
fn port_bindings_json(rec: &ContainerRecord) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for b in &rec.config.port_bindings {
        let entry = map
            .entry(b.container_port.clone())
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(list) = entry {
            list.push(serde_json::json!({"HostIp": b.host_ip, "HostPort": b.host_port}));
        }
    }
    serde_json::Value::Object(map)
}

/// `ls`'s PORTS column: the exposed ports, none published.
pub fn ports_text(rec: &ContainerRecord) -> String {
    rec.config.exposed_ports.join(", ")
}

/// `container inspect` JSON.
pub fn inspect_json(lv: &str, rec: &ContainerRecord, vg_name: &str) -> serde_json::Value {
    let run = runtime::running(&rec.id);
    let paused = run.is_some() && runtime::paused(&rec.id);
    let st = rec.state.clone().unwrap_or_default();
    let status = if paused {
        "paused"
    } else if run.is_some() {
        "running"
    } else if rec.state.is_some() {
        "exited"
    } else {
        "created"
    };
    serde_json::json!({
        "Id": rec.id,
        "Created": image::rfc3339(rec.created),
        "Path": rec.config.argv.first().cloned().unwrap_or_default(),
        "Args": rec.config.argv.iter().skip(1).cloned().collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": run.is_some(),
            "Paused": paused,
            "Pid": run.as_ref().map_or(0, |r| r.pid),
            "ExitCode": st.exit_code,
            "OOMKilled": st.oom_killed,
            "Error": st.error,
            "StartedAt": image::rfc3339(run.as_ref().map_or(st.started_at, |r| r.started_at)),
            "FinishedAt": image::rfc3339(st.finished_at),
        },
        "Image": format!("sha256:{}", rec.image),
        "Name": format!("/{}", rec.name),
        "Config": {
            "Hostname": rec.config.hostname,
            "User": rec.config.user,
            "Env": rec.config.env,
            "Cmd": rec.config.cmd,
            "Entrypoint": rec.config.entrypoint,
            "WorkingDir": rec.config.working_dir,
            "Tty": rec.config.tty,
            "OpenStdin": rec.config.interactive,
            "Image": rec.image_ref,
            "ExposedPorts": rec.config.exposed_ports.iter().map(|p| (p.clone(), serde_json::json!({}))).collect::<serde_json::Map<_, _>>(),
        },
        "HostConfig": {
            "Memory": rec.config.memory.unwrap_or(0),
            "NanoCpus": rec.config.cpus.map_or(0, |c| (c * 1e9) as u64),
            "PidsLimit": rec.config.pids_limit,
            "AutoRemove": rec.config.auto_remove,
            "Binds": rec.config.mounts.iter().map(|m| format!("{}:{}{}", m.source, m.target, if m.read_only { ":ro" } else { "" })).collect::<Vec<_>>(),
            "PortBindings": port_bindings_json(rec),
        },
        // Nothing is published (loopback-only network): every exposed port maps to null.
        "NetworkSettings": {
            "Ports": rec.config.exposed_ports.iter().map(|p| (p.clone(), serde_json::Value::Null)).collect::<serde_json::Map<_, _>>(),
        },
        "GraphDriver": {"Name": "oxlvm-thin", "Data": {"VG": vg_name, "LV": lv}},
    })
}
