//! Images: `image init/import/load/ls/rm/inspect/history/tag/save/export`. A layer is a
//! read-only thin LV holding its parent layer's tree plus its own diff (made as a thin
//! snapshot of the parent, with the layer tar applied on it); an image is a read-only thin
//! snapshot of its top layer carrying the image config. Layers are shared by chain id.

use super::extract::Tree;
use super::fs::{self as cfs, in_chroot};
use super::record::*;
use super::store::*;
use crate::commands::thin_txn::ThinOp;
use crate::error::{CmdError, CmdResult};
use metadata_format::text::VolumeGroup;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MIB: u64 = 1 << 20;

/// Filesystem size for layers holding `tar_bytes` of content.
pub fn fs_bytes_for(tar_bytes: u64) -> u64 {
    (tar_bytes.saturating_mul(2) + 32 * MIB).max(64 * MIB)
}

pub fn chain_id(parent: Option<&str>, diff_id: &str) -> String {
    match parent {
        None => diff_id.to_string(),
        Some(p) => {
            let text = format!("sha256:{p} sha256:{diff_id}");
            cfs::sha256_hex(text.as_bytes())
        }
    }
}

// ---- time ----

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn rfc3339(epoch: u64) -> String {
    let secs = epoch as i64;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600
                + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    let t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    u64::try_from(t).ok()
}

// ---- Docker config JSON ----

fn string_list(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| {
        a.iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    })
}

pub fn config_from_docker(c: &Value) -> ImageConfig {
    ImageConfig {
        entrypoint: string_list(&c["Entrypoint"]),
        cmd: string_list(&c["Cmd"]),
        env: string_list(&c["Env"]).unwrap_or_default(),
        working_dir: c["WorkingDir"].as_str().unwrap_or("").to_string(),
        user: c["User"].as_str().unwrap_or("").to_string(),
        exposed_ports: c["ExposedPorts"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
        labels: c["Labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        stop_signal: c["StopSignal"].as_str().map(str::to_string),
    }
}

pub fn config_to_docker(c: &ImageConfig) -> Value {
    let mut m = serde_json::Map::new();
    if !c.env.is_empty() {
        m.insert("Env".into(), json!(c.env));
    }
    if let Some(e) = &c.entrypoint {
        m.insert("Entrypoint".into(), json!(e));
    }
    if let Some(cmd) = &c.cmd {
        m.insert("Cmd".into(), json!(cmd));
    }
    if !c.working_dir.is_empty() {
        m.insert("WorkingDir".into(), json!(c.working_dir));
    }
    if !c.user.is_empty() {
        m.insert("User".into(), json!(c.user));
    }
    if !c.exposed_ports.is_empty() {
        let ports: serde_json::Map<String, Value> = c
            .exposed_ports
            .iter()
            .map(|p| (p.clone(), json!({})))
            .collect();
        m.insert("ExposedPorts".into(), Value::Object(ports));
    }
    if !c.labels.is_empty() {
        m.insert("Labels".into(), json!(c.labels));
    }
    if let Some(s) = &c.stop_signal {
        m.insert("StopSignal".into(), json!(s));
    }
    Value::Object(m)
}

/// The Docker image config JSON of a record; its sha256 is the image id.
pub fn docker_config(r: &ImageRecord) -> Vec<u8> {
    let history: Vec<Value> = r
        .history
        .iter()
        .map(|h| {
            let mut v = json!({"created": rfc3339(h.created), "created_by": h.created_by});
            if !h.comment.is_empty() {
                v["comment"] = json!(h.comment);
            }
            if h.empty_layer {
                v["empty_layer"] = json!(true);
            }
            v
        })
        .collect();
    let mut v = json!({
        "architecture": r.architecture,
        "config": config_to_docker(&r.config),
        "created": rfc3339(r.created),
        "history": history,
        "os": "linux",
        "rootfs": {
            "type": "layers",
            "diff_ids": r.diff_ids.iter().map(|d| format!("sha256:{d}")).collect::<Vec<_>>()
        }
    });
    if !r.author.is_empty() {
        v["author"] = json!(r.author);
    }
    if let Some(p) = &r.parent {
        // Not part of Docker's config, but it makes an image id depend on its parent.
        v["parent"] = json!(format!("sha256:{p}"));
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// `-c` changes as `docker import --change` and `docker commit --change` take them.
pub fn apply_changes(config: &mut ImageConfig, changes: &[String]) -> CmdResult {
    for change in changes {
        let (word, rest) = change
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((change.trim(), ""));
        let rest = rest.trim();
        let argv = || -> Vec<String> {
            match serde_json::from_str::<Vec<String>>(rest) {
                Ok(v) => v,
                Err(_) => vec!["/bin/sh".into(), "-c".into(), rest.to_string()],
            }
        };
        match word.to_ascii_uppercase().as_str() {
            "CMD" => config.cmd = Some(argv()),
            "ENTRYPOINT" => config.entrypoint = Some(argv()),
            "ENV" => {
                let kv = match rest.split_once('=') {
                    Some(_) => rest.to_string(),
                    None => rest.replacen(char::is_whitespace, "=", 1),
                };
                let key = kv.split('=').next().unwrap_or("").to_string();
                config.env.retain(|e| e.split('=').next() != Some(key.as_str()));
                config.env.push(kv);
            }
            "WORKDIR" => config.working_dir = rest.to_string(),
            "USER" => config.user = rest.to_string(),
            "EXPOSE" => {
                for p in rest.split_whitespace() {
                    let p = if p.contains('/') {
                        p.to_string()
                    } else {
                        format!("{p}/tcp")
                    };
                    if !config.exposed_ports.contains(&p) {
                        config.exposed_ports.push(p);
                    }
                }
            }
            "LABEL" => {
                let (k, v) = rest.split_once('=').unwrap_or((rest, ""));
                config
                    .labels
                    .insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
            "STOPSIGNAL" => config.stop_signal = Some(rest.to_string()),
            _ => {
                return Err(CmdError::usage(format!(
                    "--change \"{change}\": use CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL or STOPSIGNAL."
                )))
            }
        }
    }
    Ok(())
}

// ---- building layers ----

/// Where a layer's tar comes from.
pub trait LayerSource {
    /// The uncompressed tar stream.
    fn open(&self) -> CmdResult<Box<dyn Read>>;
    fn size_hint(&self) -> u64;
}

/// Applies `src` to the tree at `root`, through descriptors (container::extract).
fn apply_in(root: &Path, src: &dyn LayerSource, whiteouts: bool) -> CmdResult<cfs::Applied> {
    let reader = src.open()?;
    Tree::open(root)
        .and_then(|t| t.apply_tar(reader, whiteouts))
        .map_err(failed)
}

/// Makes the layer LV for `chain` (parent layer `parent` or a fresh filesystem of
/// `fs_bytes`), applies the tar, and checks its digest when `expect` is given. Returns the
/// layer record; the LV is left writable (the next transaction makes it read-only).
pub fn build_layer(
    store: &Store,
    parent: Option<&(String, LayerRecord)>,
    src: &dyn LayerSource,
    expect_diff: &str,
    fs_bytes: u64,
) -> CmdResult<(String, LayerRecord)> {
    let vg = store.read_vg()?;
    let temp_id = random_id();
    let lv = Kind::Layer.lv_name(&chain_id(
        parent.map(|p| p.1.chain_id.as_str()),
        expect_diff,
    ));
    let extents = match parent {
        Some((plv, _)) => vg
            .lv(plv)
            .map(|l| l.extent_count() as u32)
            .ok_or_else(|| failed(format!("layer LV {plv} is missing")))?,
        None => extents_for(fs_bytes, &vg),
    };
    let provisional = LayerRecord {
        chain_id: format!("partial-{temp_id}"),
        diff_id: String::new(),
        parent: parent.map(|p| p.1.chain_id.clone()),
        created: now(),
        size: 0,
    };
    store.transact(
        &[ThinOp::Create {
            name: lv.clone(),
            origin: parent.map(|p| p.0.clone()),
            extents,
            tags: record_tags(Kind::Layer, &provisional),
            read_only: false,
        }],
        &mut |_| Ok(()),
    )?;
    let result = (|| -> CmdResult<cfs::Applied> {
        store.activate(&lv)?;
        let dev = store.dev_path(&lv);
        if parent.is_none() {
            mkfs(&dev, "oxlvm-layer")?;
        }
        let m = Mounted::mount(&dev, &scratch_dir(&lv), false)?;
        let root = m.rootfs();
        if parent.is_none() {
            std::fs::create_dir(&root)
                .map_err(|e| failed(format!("Cannot create {}: {e}", root.display())))?;
        }
        let applied = apply_in(&root, src, parent.is_some());
        m.unmount()?;
        let applied = applied?;
        if applied.digest != expect_diff {
            return Err(failed(format!(
                "Layer content does not match its digest: expected sha256:{expect_diff}, read sha256:{}; the archive is damaged.",
                applied.digest
            )));
        }
        Ok(applied)
    })();
    store.deactivate_quietly(&lv);
    let applied = match result {
        Ok(a) => a,
        Err(e) => {
            let _ = store.transact(&[ThinOp::Delete { name: lv }], &mut |_| Ok(()));
            return Err(e);
        }
    };
    let record = LayerRecord {
        chain_id: chain_id(parent.map(|p| p.1.chain_id.as_str()), &applied.digest),
        diff_id: applied.digest.clone(),
        parent: parent.map(|p| p.1.chain_id.clone()),
        created: now(),
        size: applied.bytes,
    };
    Ok((lv, record))
}

/// Creates the image LV (a snapshot of its top layer) with `record`, makes the new layers
/// read-only with their final records (and renames a provisional one if its chain id is
/// already known), and moves `record`'s tags away from other images.
pub fn commit_image(
    store: &Store,
    record: &ImageRecord,
    new_layers: &[(String, LayerRecord)],
    top_layer_lv: &str,
) -> CmdResult<String> {
    let vg = store.read_vg()?;
    let catalog = Catalog::read(&vg);
    if let Some((lv, existing)) = catalog.images.iter().find(|(_, i)| i.id == record.id) {
        // Same image again: only the names move; the layers just built are not needed.
        let mut merged = existing.clone();
        for t in &record.repo_tags {
            if !merged.repo_tags.contains(t) {
                merged.repo_tags.push(t.clone());
            }
        }
        let lv = lv.clone();
        let drop: Vec<ThinOp> = new_layers
            .iter()
            .map(|(n, _)| ThinOp::Delete { name: n.clone() })
            .collect();
        let tags = record.repo_tags.clone();
        store.transact(&drop, &mut |vg| {
            untag_others(vg, &tags, &merged.id);
            if let Some(l) = vg.lv_mut(&lv) {
                set_record(l, Kind::Image, &merged);
            }
            Ok(())
        })?;
        return Ok(lv);
    }
    let lv = Kind::Image.lv_name(&record.id);
    let extents = vg
        .lv(top_layer_lv)
        .map(|l| l.extent_count() as u32)
        .ok_or_else(|| failed(format!("layer LV {top_layer_lv} is missing")))?;
    let layers = new_layers.to_vec();
    let tags = record.repo_tags.clone();
    let id = record.id.clone();
    store.transact(
        &[ThinOp::Create {
            name: lv.clone(),
            origin: Some(top_layer_lv.to_string()),
            extents,
            tags: record_tags(Kind::Image, record),
            read_only: true,
        }],
        &mut |vg| {
            for (name, rec) in &layers {
                if let Some(l) = vg.lv_mut(name) {
                    l.status.retain(|s| s != "WRITE");
                    set_record(l, Kind::Layer, rec);
                }
            }
            untag_others(vg, &tags, &id);
            Ok(())
        },
    )?;
    Ok(lv)
}

/// Takes `tags` off every image but `keep`.
fn untag_others(vg: &mut VolumeGroup, tags: &[String], keep: &str) {
    for lv in &mut vg.lvs {
        if kind_of(lv) != Some(Kind::Image) {
            continue;
        }
        let Some(mut rec) = record_of::<ImageRecord>(lv) else {
            continue;
        };
        if rec.id == keep || !rec.repo_tags.iter().any(|t| tags.contains(t)) {
            continue;
        }
        rec.repo_tags.retain(|t| !tags.contains(t));
        set_record(lv, Kind::Image, &rec);
    }
}

// ---- import ----

struct FileSource {
    path: PathBuf,
    offset: u64,
    len: u64,
}

impl LayerSource for FileSource {
    fn open(&self) -> CmdResult<Box<dyn Read>> {
        let mut f = File::open(&self.path)
            .map_err(|e| failed(format!("Cannot open {}: {e}", self.path.display())))?;
        f.seek(SeekFrom::Start(self.offset))
            .map_err(|e| failed(format!("Cannot read {}: {e}", self.path.display())))?;
        let mut magic = [0u8; 2];
        let raw = f.take(self.len);
        let mut peek = raw;
        let n = peek.read(&mut magic).unwrap_or(0);
        let mut inner = peek.into_inner();
        inner
            .seek(SeekFrom::Start(self.offset))
            .map_err(|e| failed(format!("Cannot read {}: {e}", self.path.display())))?;
        let body = inner.take(self.len);
        if n == 2 && magic == [0x1f, 0x8b] {
            Ok(Box::new(flate2::read::GzDecoder::new(body)))
        } else if n == 2 && magic == [0x28, 0xb5] {
            Err(failed(format!(
                "{}: zstd-compressed layers are not supported; use gzip or plain tar.",
                self.path.display()
            )))
        } else {
            Ok(Box::new(body))
        }
    }
    fn size_hint(&self) -> u64 {
        self.len
    }
}

/// Checks that `path` is a readable tar (or gzip) before anything is changed.
fn check_tar_file(path: &Path) -> CmdResult<u64> {
    let mut f =
        File::open(path).map_err(|e| failed(format!("Cannot open {}: {e}", path.display())))?;
    let len = f
        .metadata()
        .map_err(|e| failed(format!("Cannot read {}: {e}", path.display())))?
        .len();
    let mut head = vec![0u8; 512];
    let n = f.read(&mut head).unwrap_or(0);
    let gz = n >= 2 && head[..2] == [0x1f, 0x8b];
    let ustar = n >= 512 && (&head[257..262] == b"ustar" || head.iter().all(|&b| b == 0));
    if !gz && !ustar {
        return Err(failed(format!(
            "{} is not a tar archive (nor a gzip-compressed one).",
            path.display()
        )));
    }
    Ok(len)
}

pub struct ImportOptions {
    pub changes: Vec<String>,
    pub message: String,
    pub size: Option<u64>,
}

pub fn import(
    store: &Store,
    file: &Path,
    reference: &str,
    opts: &ImportOptions,
) -> CmdResult<String> {
    let len = check_tar_file(file)?;
    let mut config = ImageConfig::default();
    apply_changes(&mut config, &opts.changes)?;
    let src = FileSource {
        path: file.to_path_buf(),
        offset: 0,
        len,
    };
    let fs_bytes = opts.size.unwrap_or_else(|| fs_bytes_for(len * 3));
    let digest = stream_sha256(src.open()?)?;
    let catalog = store.catalog()?;
    let (layer_lv, layer, fresh) = match catalog.layer(&digest) {
        Some((lv, rec)) => (lv.clone(), rec.clone(), false),
        None => {
            let (lv, rec) = build_layer(store, None, &src, &digest, fs_bytes)?;
            (lv, rec, true)
        }
    };
    let created = now();
    let mut record = ImageRecord {
        id: String::new(),
        repo_tags: vec![reference.to_string()],
        parent: None,
        layers: vec![layer.chain_id.clone()],
        diff_ids: vec![layer.diff_id.clone()],
        config,
        created,
        author: String::new(),
        comment: opts.message.clone(),
        history: vec![HistoryEntry {
            created,
            created_by: format!("oxlvm image import {}", file.display()),
            comment: opts.message.clone(),
            empty_layer: false,
        }],
        architecture: "amd64".into(),
    };
    record.id = cfs::sha256_hex(&docker_config(&record));
    let new_layers = if fresh {
        vec![(layer_lv.clone(), layer)]
    } else {
        Vec::new()
    };
    commit_image(store, &record, &new_layers, &layer_lv)?;
    Ok(record.id)
}

// ---- load (docker save archive or OCI layout) ----

/// A `docker save` tar or an OCI image layout (tar or directory), readable by member name.
enum Archive {
    Tar {
        path: PathBuf,
        /// member -> (offset, length); symlinks resolved.
        members: HashMap<String, (u64, u64)>,
    },
    Dir(PathBuf),
}

fn norm(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in name.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

impl Archive {
    fn open(path: &Path) -> CmdResult<Archive> {
        if path.is_dir() {
            return Ok(Archive::Dir(path.to_path_buf()));
        }
        let file =
            File::open(path).map_err(|e| failed(format!("Cannot open {}: {e}", path.display())))?;
        let mut head = [0u8; 2];
        let _ = (&file).read(&mut head);
        if head == [0x1f, 0x8b] {
            return Err(failed(format!(
                "{} is gzip-compressed; gunzip it first (image load reads a plain tar).",
                path.display()
            )));
        }
        let file =
            File::open(path).map_err(|e| failed(format!("Cannot open {}: {e}", path.display())))?;
        let mut ar = tar::Archive::new(file);
        let mut members = HashMap::new();
        let mut links: Vec<(String, String)> = Vec::new();
        let bad = |e: io::Error| {
            failed(format!(
                "{} is not a readable image archive: {e}",
                path.display()
            ))
        };
        for entry in ar.entries().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let name = norm(&entry.path().map_err(bad)?.to_string_lossy());
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    members.insert(name, (entry.raw_file_position(), entry.size()));
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Ok(Some(t)) = entry.link_name() {
                        let t = t.to_string_lossy().into_owned();
                        let target = if entry.header().entry_type() == tar::EntryType::Symlink {
                            let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                            norm(&format!("{dir}/{t}"))
                        } else {
                            norm(&t)
                        };
                        links.push((name, target));
                    }
                }
                _ => {}
            }
        }
        for (name, target) in links {
            if let Some(&m) = members.get(&target) {
                members.insert(name, m);
            }
        }
        Ok(Archive::Tar {
            path: path.to_path_buf(),
            members,
        })
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Archive::Tar { members, .. } => members.contains_key(&norm(name)),
            Archive::Dir(d) => d.join(norm(name)).is_file(),
        }
    }

    fn source(&self, name: &str) -> CmdResult<FileSource> {
        match self {
            Archive::Tar { path, members } => {
                let &(offset, len) = members.get(&norm(name)).ok_or_else(|| {
                    failed(format!("The archive has no {name}; it is incomplete."))
                })?;
                Ok(FileSource {
                    path: path.clone(),
                    offset,
                    len,
                })
            }
            Archive::Dir(d) => {
                let path = d.join(norm(name));
                let len = std::fs::metadata(&path)
                    .map_err(|e| failed(format!("Cannot read {}: {e}", path.display())))?
                    .len();
                Ok(FileSource {
                    path,
                    offset: 0,
                    len,
                })
            }
        }
    }

    fn read(&self, name: &str) -> CmdResult<Vec<u8>> {
        let s = self.source(name)?;
        if s.len > 64 * MIB {
            return Err(failed(format!("{name} is too big for an image manifest.")));
        }
        let mut f = File::open(&s.path)
            .map_err(|e| failed(format!("Cannot open {}: {e}", s.path.display())))?;
        f.seek(SeekFrom::Start(s.offset))
            .map_err(|e| failed(e.to_string()))?;
        let mut buf = vec![0u8; s.len as usize];
        f.read_exact(&mut buf)
            .map_err(|e| failed(format!("Cannot read {name}: {e}")))?;
        Ok(buf)
    }

    fn json(&self, name: &str) -> CmdResult<Value> {
        serde_json::from_slice(&self.read(name)?)
            .map_err(|e| failed(format!("{name} in the archive is not valid JSON: {e}")))
    }
}

/// One image an archive holds.
struct LoadItem {
    config: Vec<u8>,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

fn blob_path(digest: &str) -> CmdResult<String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| failed(format!("bad digest {digest} in the archive")))?;
    Ok(format!("blobs/{alg}/{hex}"))
}

fn items_of(ar: &Archive) -> CmdResult<Vec<LoadItem>> {
    if ar.has("manifest.json") {
        let m = ar.json("manifest.json")?;
        let list = m
            .as_array()
            .ok_or_else(|| failed("manifest.json is not a list of images."))?;
        let mut out = Vec::new();
        for item in list {
            let config = item["Config"]
                .as_str()
                .ok_or_else(|| failed("manifest.json: an image has no Config."))?;
            out.push(LoadItem {
                config: ar.read(config)?,
                repo_tags: string_list(&item["RepoTags"]).unwrap_or_default(),
                layers: string_list(&item["Layers"]).unwrap_or_default(),
            });
        }
        return Ok(out);
    }
    if ar.has("index.json") {
        let index = ar.json("index.json")?;
        let mut out = Vec::new();
        let mut todo: Vec<(Value, Option<String>)> = index["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m, None))
            .collect();
        while let Some((desc, name)) = todo.pop() {
            let digest = desc["digest"]
                .as_str()
                .ok_or_else(|| failed("index.json: a manifest has no digest."))?;
            let ann = &desc["annotations"];
            let name = name.or_else(|| {
                ann["io.containerd.image.name"]
                    .as_str()
                    .or(ann["org.opencontainers.image.ref.name"].as_str())
                    .map(str::to_string)
            });
            let body = ar.json(&blob_path(digest)?)?;
            if let Some(list) = body["manifests"].as_array() {
                // An image index: take the linux/amd64 entry (or the only one).
                let pick = list
                    .iter()
                    .find(|m| {
                        m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64"
                    })
                    .or(list.first());
                if let Some(p) = pick {
                    todo.push((p.clone(), name));
                }
                continue;
            }
            let config = body["config"]["digest"]
                .as_str()
                .ok_or_else(|| failed("an image manifest has no config."))?;
            let mut layers = Vec::new();
            for l in body["layers"].as_array().cloned().unwrap_or_default() {
                let d = l["digest"]
                    .as_str()
                    .ok_or_else(|| failed("a layer has no digest."))?;
                layers.push(blob_path(d)?);
            }
            out.push(LoadItem {
                config: ar.read(&blob_path(config)?)?,
                repo_tags: name
                    .and_then(|n| parse_reference(&n).ok())
                    .into_iter()
                    .collect(),
                layers,
            });
        }
        return Ok(out);
    }
    Err(failed(
        "The archive has neither manifest.json (docker save) nor index.json (OCI layout).",
    ))
}

/// Loads every image of a docker-save archive or OCI layout; returns the loaded names.
pub fn load(store: &Store, path: &Path) -> CmdResult<Vec<String>> {
    let ar = Archive::open(path)?;
    let items = items_of(&ar)?;
    if items.is_empty() {
        return Err(failed(format!("{} holds no image.", path.display())));
    }
    let mut loaded = Vec::new();
    for item in items {
        let cfg: Value = serde_json::from_slice(&item.config)
            .map_err(|e| failed(format!("An image config is not valid JSON: {e}")))?;
        let diff_ids: Vec<String> = string_list(&cfg["rootfs"]["diff_ids"])
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.trim_start_matches("sha256:").to_string())
            .collect();
        if diff_ids.len() != item.layers.len() || diff_ids.is_empty() {
            return Err(failed(format!(
                "The image config lists {} layers but the manifest {}; the archive is inconsistent.",
                diff_ids.len(),
                item.layers.len()
            )));
        }
        let mut tags = Vec::new();
        for t in &item.repo_tags {
            tags.push(parse_reference(t).map_err(failed)?);
        }
        let sources: Vec<FileSource> = item
            .layers
            .iter()
            .map(|l| ar.source(l))
            .collect::<CmdResult<_>>()?;
        let total: u64 = sources.iter().map(FileSource::size_hint).sum();
        let fs_bytes = fs_bytes_for(total * 3);
        // Chain ids, and the layers already present.
        let mut chain: Vec<String> = Vec::new();
        for (i, d) in diff_ids.iter().enumerate() {
            chain.push(chain_id(if i == 0 { None } else { Some(&chain[i - 1]) }, d));
        }
        let mut new_layers: Vec<(String, LayerRecord)> = Vec::new();
        let mut parent: Option<(String, LayerRecord)> = None;
        for (i, src) in sources.iter().enumerate() {
            let known = store.catalog()?.layer(&chain[i]).cloned();
            let known = known.or_else(|| {
                new_layers
                    .iter()
                    .find(|(_, l)| l.chain_id == chain[i])
                    .cloned()
            });
            let here = match known {
                Some(k) => k,
                None => {
                    let built = build_layer(store, parent.as_ref(), src, &diff_ids[i], fs_bytes);
                    let built = match built {
                        Ok(b) => b,
                        Err(e) => {
                            let drop: Vec<ThinOp> = new_layers
                                .iter()
                                .map(|(n, _)| ThinOp::Delete { name: n.clone() })
                                .collect();
                            let _ = store.transact(&drop, &mut |_| Ok(()));
                            return Err(e);
                        }
                    };
                    new_layers.push(built.clone());
                    built
                }
            };
            parent = Some(here);
        }
        let top = parent.ok_or_else(|| failed("no layer"))?;
        let history = cfg["history"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|h| HistoryEntry {
                created: h["created"].as_str().and_then(parse_rfc3339).unwrap_or(0),
                created_by: h["created_by"].as_str().unwrap_or("").to_string(),
                comment: h["comment"].as_str().unwrap_or("").to_string(),
                empty_layer: h["empty_layer"].as_bool().unwrap_or(false),
            })
            .collect();
        let record = ImageRecord {
            id: cfs::sha256_hex(&item.config),
            repo_tags: tags.clone(),
            parent: None,
            layers: chain.clone(),
            diff_ids: diff_ids.clone(),
            config: config_from_docker(&cfg["config"]),
            created: cfg["created"].as_str().and_then(parse_rfc3339).unwrap_or(0),
            author: cfg["author"].as_str().unwrap_or("").to_string(),
            comment: String::new(),
            history,
            architecture: cfg["architecture"].as_str().unwrap_or("amd64").to_string(),
        };
        commit_image(store, &record, &new_layers, &top.0)?;
        if tags.is_empty() {
            loaded.push(format!("Loaded image ID: sha256:{}", record.id));
        }
        for t in tags {
            loaded.push(format!("Loaded image: {t}"));
        }
    }
    Ok(loaded)
}

// ---- save / export ----

/// Writes `image`'s flattened tree as a tar to `out`.
pub fn export(store: &Store, lv: &str, out: &mut File) -> CmdResult {
    with_mounted(store, lv, true, |m| {
        let mut fd = cfs::dup_file(out).map_err(|e| failed(e.to_string()))?;
        in_chroot(&m.rootfs(), move || {
            cfs::write_tree_tar(&mut fd, &[])?;
            Ok(Vec::new())
        })
        .map_err(failed)
        .map(|_| ())
    })
}

/// The tree listing of a mounted root.
pub fn tree_of(root: &Path) -> CmdResult<std::collections::BTreeMap<Vec<u8>, cfs::Node>> {
    let bytes = in_chroot(root, cfs::walk_tree_bytes).map_err(failed)?;
    cfs::parse_tree(&bytes).map_err(failed)
}

/// `docker save`: manifest.json, the config, one `layer.tar` per layer (each the diff of its
/// layer LV against the parent layer LV, whiteouts for deletions), `repositories`.
pub fn save(store: &Store, wanted: &[String], out_path: &Path) -> CmdResult {
    let catalog = store.catalog()?;
    let mut images = Vec::new();
    for w in wanted {
        let (lv, rec) = catalog.find_image(w).map_err(failed)?;
        let tag = parse_reference(w)
            .ok()
            .filter(|t| rec.repo_tags.contains(t));
        images.push((lv.clone(), rec.clone(), tag));
    }
    let tmp = PathBuf::from(RUN_DIR).join(format!("save.{}", std::process::id()));
    std::fs::create_dir_all(&tmp)
        .map_err(|e| failed(format!("Cannot create {}: {e}", tmp.display())))?;
    let result = (|| -> CmdResult {
        let out = File::create(out_path)
            .map_err(|e| failed(format!("Cannot create {}: {e}", out_path.display())))?;
        let mut builder = tar::Builder::new(out);
        let mut manifest = Vec::new();
        let mut repositories = serde_json::Map::new();
        let mut written: HashMap<String, (String, String)> = HashMap::new(); // chain -> (dir, digest)
        for (_, rec, tag) in &images {
            let mut diff_ids = Vec::new();
            let mut layer_paths = Vec::new();
            let mut parent_tree: Option<std::collections::BTreeMap<Vec<u8>, cfs::Node>> = None;
            let mut parent_lv: Option<String> = None;
            for chain in &rec.layers {
                let (llv, _) = catalog
                    .layer(chain)
                    .ok_or_else(|| failed(format!("layer {chain} of the image is missing")))?;
                if let Some((dir, digest)) = written.get(chain) {
                    diff_ids.push(digest.clone());
                    layer_paths.push(format!("{dir}/layer.tar"));
                } else {
                    let file = tmp.join(format!("{}.tar", short_id(chain)));
                    let tar_out = File::create(&file)
                        .map_err(|e| failed(format!("Cannot create {}: {e}", file.display())))?;
                    let parent_listing = match (&parent_tree, &parent_lv) {
                        (Some(t), _) => Some(t),
                        (None, None) => None,
                        (None, Some(_)) => None,
                    };
                    let parent_listing = parent_listing.cloned().unwrap_or_default();
                    with_mounted(store, llv, true, |m| {
                        let mut fd = tar_out.try_clone().map_err(|e| failed(e.to_string()))?;
                        let listing = parent_listing.clone();
                        in_chroot(&m.rootfs(), move || {
                            cfs::write_layer_tar(&mut fd, &listing)?;
                            Ok(Vec::new())
                        })
                        .map_err(failed)
                        .map(|_| ())
                    })?;
                    let digest = file_sha256(&file)?;
                    let dir = digest.clone();
                    builder
                        .append_path_with_name(&file, format!("{dir}/layer.tar"))
                        .map_err(|e| failed(format!("Cannot write {}: {e}", out_path.display())))?;
                    let _ = std::fs::remove_file(&file);
                    written.insert(chain.clone(), (dir.clone(), digest.clone()));
                    diff_ids.push(digest);
                    layer_paths.push(format!("{dir}/layer.tar"));
                }
                // The next layer diffs against this one's tree.
                let tree = with_mounted(store, llv, true, |m| tree_of(&m.rootfs()))?;
                parent_tree = Some(tree);
                parent_lv = Some(llv.clone());
            }
            let mut out_rec = rec.clone();
            out_rec.diff_ids = diff_ids;
            out_rec.parent = None;
            let config = docker_config(&out_rec);
            let config_name = format!("{}.json", cfs::sha256_hex(&config));
            append_bytes(&mut builder, &config_name, &config)?;
            let tags: Vec<String> = match tag {
                Some(t) => vec![t.clone()],
                None => rec.repo_tags.clone(),
            };
            for t in &tags {
                if let Some((repo, tg)) = t.rsplit_once(':') {
                    let top = layer_paths
                        .last()
                        .and_then(|p| p.split('/').next())
                        .unwrap_or("")
                        .to_string();
                    let entry = repositories
                        .entry(repo.to_string())
                        .or_insert_with(|| json!({}));
                    entry[tg] = json!(top);
                }
            }
            manifest.push(json!({"Config": config_name, "RepoTags": tags, "Layers": layer_paths}));
        }
        append_bytes(
            &mut builder,
            "manifest.json",
            &serde_json::to_vec(&manifest).unwrap_or_default(),
        )?;
        append_bytes(
            &mut builder,
            "repositories",
            &serde_json::to_vec(&Value::Object(repositories)).unwrap_or_default(),
        )?;
        builder
            .into_inner()
            .and_then(|mut f| f.flush())
            .map_err(|e| failed(format!("Cannot write {}: {e}", out_path.display())))
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn append_bytes(builder: &mut tar::Builder<File>, name: &str, data: &[u8]) -> CmdResult {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(now());
    h.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut h, name, data)
        .map_err(|e| failed(format!("Cannot write the archive: {e}")))
}

fn file_sha256(path: &Path) -> CmdResult<String> {
    let f = File::open(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    stream_sha256(Box::new(f))
}

fn stream_sha256(mut f: Box<dyn Read>) -> CmdResult<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(cfs::hex(&h.finalize()))
}

// ---- rm ----

/// Removes an image (or only the name it was given by, when it has several); refused while
/// a container or a child image uses it. Returns Docker's `Untagged:`/`Deleted:` lines.
pub fn remove(store: &Store, wanted: &str) -> CmdResult<Vec<String>> {
    let catalog = store.catalog()?;
    let (lv, rec) = catalog.find_image(wanted).map_err(failed)?;
    let (lv, rec) = (lv.clone(), rec.clone());
    let by_name = parse_reference(wanted)
        .ok()
        .filter(|r| rec.repo_tags.contains(r));
    let mut lines = Vec::new();
    if let Some(name) = &by_name {
        if rec.repo_tags.len() > 1 {
            let mut r2 = rec.clone();
            r2.repo_tags.retain(|t| t != name);
            store.transact(&[], &mut |vg| {
                if let Some(l) = vg.lv_mut(&lv) {
                    set_record(l, Kind::Image, &r2);
                }
                Ok(())
            })?;
            return Ok(vec![format!("Untagged: {name}")]);
        }
    }
    let (containers, children) = catalog.image_users(&rec.id);
    if !containers.is_empty() {
        return Err(failed(format!(
            "conflict: unable to remove image {} ({wanted}): container {} uses it; remove the container first (oxlvm container rm).",
            short_id(&rec.id),
            containers.join(", ")
        )));
    }
    if !children.is_empty() {
        return Err(failed(format!(
            "conflict: unable to remove image {} ({wanted}): image {} is its child; remove that image first.",
            short_id(&rec.id),
            children.join(", ")
        )));
    }
    let mut after = catalog.clone();
    after.images.retain(|(n, _)| *n != lv);
    let mut ops = vec![ThinOp::Delete { name: lv.clone() }];
    for l in after.unused_layers() {
        ops.push(ThinOp::Delete { name: l.clone() });
    }
    store.transact(&ops, &mut |_| Ok(()))?;
    for t in &rec.repo_tags {
        lines.push(format!("Untagged: {t}"));
    }
    lines.push(format!("Deleted: sha256:{}", rec.id));
    Ok(lines)
}

/// `image tag SOURCE TARGET`.
pub fn tag(store: &Store, source: &str, target: &str) -> CmdResult {
    let target = parse_reference(target).map_err(CmdError::usage)?;
    let catalog = store.catalog()?;
    let (lv, rec) = catalog.find_image(source).map_err(failed)?;
    let (lv, mut rec) = (lv.clone(), rec.clone());
    if !rec.repo_tags.contains(&target) {
        rec.repo_tags.push(target.clone());
    }
    let tags = vec![target];
    store.transact(&[], &mut |vg| {
        untag_others(vg, &tags, &rec.id);
        if let Some(l) = vg.lv_mut(&lv) {
            set_record(l, Kind::Image, &rec);
        }
        Ok(())
    })
}

/// `image inspect` JSON for one image.
pub fn inspect_json(lv: &str, rec: &ImageRecord, vg: &VolumeGroup, catalog: &Catalog) -> Value {
    let size: u64 = rec
        .layers
        .iter()
        .filter_map(|c| catalog.layer(c))
        .map(|(_, l)| l.size)
        .sum();
    json!({
        "Id": format!("sha256:{}", rec.id),
        "RepoTags": rec.repo_tags,
        "Parent": rec.parent.as_ref().map(|p| format!("sha256:{p}")).unwrap_or_default(),
        "Comment": rec.comment,
        "Created": rfc3339(rec.created),
        "Author": rec.author,
        "Config": config_to_docker(&rec.config),
        "Architecture": rec.architecture,
        "Os": "linux",
        "Size": size,
        "RootFS": {"Type": "layers", "Layers": rec.diff_ids.iter().map(|d| format!("sha256:{d}")).collect::<Vec<_>>()},
        "GraphDriver": {"Name": "oxlvm-thin", "Data": {
            "VG": vg.name,
            "LV": lv,
            "Layers": rec.layers.iter().filter_map(|c| catalog.layer(c)).map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.123456+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("nonsense"), None);
    }

    #[test]
    fn chain_ids_as_docker() {
        assert_eq!(chain_id(None, "abc"), "abc");
        assert_eq!(
            chain_id(Some("a"), "b"),
            cfs::sha256_hex(b"sha256:a sha256:b")
        );
    }

    #[test]
    fn changes_parse() {
        let mut c = ImageConfig::default();
        apply_changes(
            &mut c,
            &[
                "CMD [\"echo\",\"hi\"]".into(),
                "ENV A=1".into(),
                "ENV A 2".into(),
                "WORKDIR /srv".into(),
                "EXPOSE 80".into(),
                "ENTRYPOINT sh -c x".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.cmd.unwrap(), ["echo", "hi"]);
        assert_eq!(c.env, ["A=2"]);
        assert_eq!(c.working_dir, "/srv");
        assert_eq!(c.exposed_ports, ["80/tcp"]);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh", "-c", "sh -c x"]);
        assert!(apply_changes(&mut ImageConfig::default(), &["FROM x".into()]).is_err());
    }
}
