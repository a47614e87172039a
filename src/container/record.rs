//! The container store's bookkeeping, kept in the VG itself: each layer, image, container and
//! volume LV carries a kind tag (`oxlvm_image`, ...) and its record as JSON, base64-encoded in
//! numbered tags (`oxlvm.0:...`), since LVM2 tags allow only `A-Za-z0-9_+.-/=!:&#`. Pure code:
//! records to tags and back, names, references and lookups.

use metadata_format::text::{LogicalVolume, VolumeGroup};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Marks the thin pool that holds images and containers.
pub const POOL_TAG: &str = "oxlvm_pool";
const CHUNK_PREFIX: &str = "oxlvm.";
/// LVM2 tags hold at most 1024 characters.
const CHUNK_LEN: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Layer,
    Image,
    Container,
    Volume,
}

impl Kind {
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Layer => "oxlvm_layer",
            Kind::Image => "oxlvm_image",
            Kind::Container => "oxlvm_container",
            Kind::Volume => "oxlvm_volume",
        }
    }

    /// LV name prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Layer => "oxl_",
            Kind::Image => "oxi_",
            Kind::Container => "oxc_",
            Kind::Volume => "oxv_",
        }
    }

    pub fn lv_name(self, id: &str) -> String {
        let short = if self == Kind::Volume {
            id
        } else {
            short_id(id)
        };
        format!("{}{short}", self.prefix())
    }
}

pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The run configuration an image carries (Docker's `config` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// One `-p [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_ip: String,
    /// Empty: any free port (Docker's `-p 80`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_port: String,
    /// `PORT/PROTO`.
    pub container_port: String,
}

/// Parses `-p [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp]` as Docker.
pub fn parse_publish(text: &str) -> Result<PortBinding, String> {
    let bad =
        || format!("-p {text}: give [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp], e.g. 8080:80.");
    let (spec, proto) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p),
        None => (text, "tcp"),
    };
    if !["tcp", "udp", "sctp"].contains(&proto) {
        return Err(bad());
    }
    let parts: Vec<&str> = match spec.rfind(':') {
        None => vec![spec],
        Some(_) => {
            // An IPv6 address is bracketed: [::1]:8080:80.
            let (ip, rest) = match spec.strip_prefix('[') {
                Some(r) => {
                    let (ip, rest) = r.split_once("]:").ok_or_else(bad)?;
                    (Some(ip), rest)
                }
                None => (None, spec),
            };
            let mut v: Vec<&str> = rest.split(':').collect();
            if let Some(ip) = ip {
                v.insert(0, ip);
            }
            v
        }
    };
    let port = |p: &str| -> Result<String, String> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n.to_string()),
            _ => Err(bad()),
        }
    };
    let (host_ip, host_port, container) = match parts.as_slice() {
        [c] => (String::new(), String::new(), port(c)?),
        [h, c] => (String::new(), port(h)?, port(c)?),
        [ip, h, c] => {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(bad());
            }
            let h = if h.is_empty() {
                String::new()
            } else {
                port(h)?
            };
            (ip.to_string(), h, port(c)?)
        }
        _ => return Err(bad()),
    };
    Ok(PortBinding {
        host_ip,
        host_port,
        container_port: format!("{container}/{proto}"),
    })
}

/// Parses `--expose PORT[/PROTO]` into `PORT/PROTO`.
pub fn parse_expose(text: &str) -> Result<String, String> {
    let (p, proto) = text.split_once('/').unwrap_or((text, "tcp"));
    match (p.parse::<u16>(), proto) {
        (Ok(n), "tcp" | "udp" | "sctp") if n > 0 => Ok(format!("{n}/{proto}")),
        _ => Err(format!(
            "--expose {text}: give PORT[/tcp|udp|sctp], e.g. 80 or 53/udp."
        )),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub created: u64,
    #[serde(default)]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default)]
    pub empty_layer: bool,
}

/// One filesystem layer: a read-only thin LV holding its parent's tree plus this layer's diff.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// Docker's chain id: sha256 over the parent's chain id and this diff id.
    pub chain_id: String,
    /// sha256 of the uncompressed layer tar.
    pub diff_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub created: u64,
    /// Bytes of the layer tar.
    pub size: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// sha256 of the image's config (hex).
    pub id: String,
    /// `repo:tag` names pointing at this image.
    #[serde(default)]
    pub repo_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Chain ids of its layers, bottom first.
    pub layers: Vec<String>,
    #[serde(default)]
    pub diff_ids: Vec<String>,
    pub config: ImageConfig,
    pub created: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    #[serde(default = "default_arch")]
    pub architecture: String,
}

fn default_arch() -> String {
    "amd64".to_string()
}

/// A mount the container gets: a named volume LV or a host directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    /// Volume name, or an absolute host path for a bind mount.
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

impl MountSpec {
    pub fn is_bind(&self) -> bool {
        self.source.starts_with('/')
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// The argv the container runs (entrypoint + command, resolved at create time).
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    pub hostname: String,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub interactive: bool,
    #[serde(default)]
    pub auto_remove: bool,
    #[serde(default)]
    pub init: bool,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `PORT/PROTO` the container exposes (the image's EXPOSE, `--expose`, `-p`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    /// `-p` requests, kept and shown; not published (the network is loopback only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_bindings: Vec<PortBinding>,
}

/// How the container's last run ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExitState {
    pub exit_code: i32,
    pub started_at: u64,
    pub finished_at: u64,
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// The image id it was made from, and the name it was asked for by.
    pub image: String,
    pub image_ref: String,
    pub created: u64,
    pub config: ContainerConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExitState>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub name: String,
    pub created: u64,
}

// ---- tags <-> records ----

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let bytes: Vec<u8> = text.bytes().filter(|&b| b != b'=').collect();
    for chunk in bytes.chunks(4) {
        let mut n: u32 = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = B64.iter().position(|&x| x == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let produced = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        for i in 0..produced {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// The tags that store `record` on an LV of `kind`.
pub fn record_tags<T: Serialize>(kind: Kind, record: &T) -> Vec<String> {
    let json = serde_json::to_vec(record).unwrap_or_default();
    let encoded = base64_encode(&json);
    let mut tags = vec![kind.tag().to_string()];
    let bytes = encoded.as_bytes();
    for (i, chunk) in bytes.chunks(CHUNK_LEN).enumerate() {
        tags.push(format!(
            "{CHUNK_PREFIX}{i}:{}",
            String::from_utf8_lossy(chunk)
        ));
    }
    tags
}

/// Replaces the record tags of `lv` (other tags stay).
pub fn set_record<T: Serialize>(lv: &mut LogicalVolume, kind: Kind, record: &T) {
    lv.tags
        .retain(|t| !t.starts_with(CHUNK_PREFIX) && !t.starts_with("oxlvm_") || t == POOL_TAG);
    lv.tags.extend(record_tags(kind, record));
}

pub fn kind_of(lv: &LogicalVolume) -> Option<Kind> {
    [Kind::Layer, Kind::Image, Kind::Container, Kind::Volume]
        .into_iter()
        .find(|k| lv.tags.iter().any(|t| t == k.tag()))
}

/// The record stored on `lv`, if it has one that parses.
pub fn record_of<T: for<'de> Deserialize<'de>>(lv: &LogicalVolume) -> Option<T> {
    let mut chunks: Vec<(usize, &str)> = lv
        .tags
        .iter()
        .filter_map(|t| {
            let rest = t.strip_prefix(CHUNK_PREFIX)?;
            let (n, data) = rest.split_once(':')?;
            Some((n.parse().ok()?, data))
        })
        .collect();
    chunks.sort_by_key(|(n, _)| *n);
    let text: String = chunks.iter().map(|(_, d)| *d).collect();
    let json = base64_decode(&text)?;
    serde_json::from_slice(&json).ok()
}

/// Every store object of a VG, read from its LVs' tags alone.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub pool: Option<String>,
    /// (LV name, record)
    pub layers: Vec<(String, LayerRecord)>,
    pub images: Vec<(String, ImageRecord)>,
    pub containers: Vec<(String, ContainerRecord)>,
    pub volumes: Vec<(String, VolumeRecord)>,
}

impl Catalog {
    pub fn read(vg: &VolumeGroup) -> Catalog {
        let mut c = Catalog::default();
        for lv in &vg.lvs {
            if lv.tags.iter().any(|t| t == POOL_TAG) && c.pool.is_none() {
                c.pool = Some(lv.name.clone());
            }
            match kind_of(lv) {
                Some(Kind::Layer) => {
                    if let Some(r) = record_of(lv) {
                        c.layers.push((lv.name.clone(), r));
                    }
                }
                Some(Kind::Image) => {
                    if let Some(r) = record_of(lv) {
                        c.images.push((lv.name.clone(), r));
                    }
                }
                Some(Kind::Container) => {
                    if let Some(r) = record_of(lv) {
                        c.containers.push((lv.name.clone(), r));
                    }
                }
                Some(Kind::Volume) => {
                    if let Some(r) = record_of(lv) {
                        c.volumes.push((lv.name.clone(), r));
                    }
                }
                None => {}
            }
        }
        c.images.sort_by_key(|i| std::cmp::Reverse(i.1.created));
        c.containers.sort_by_key(|c| std::cmp::Reverse(c.1.created));
        c
    }

    pub fn layer(&self, chain_id: &str) -> Option<&(String, LayerRecord)> {
        self.layers.iter().find(|(_, l)| l.chain_id == chain_id)
    }

    /// An image by `repo[:tag]`, `sha256:ID`, or a unique id prefix.
    pub fn find_image(&self, wanted: &str) -> Result<&(String, ImageRecord), String> {
        if let Ok(r) = parse_reference(wanted) {
            if let Some(i) = self.images.iter().find(|(_, i)| i.repo_tags.contains(&r)) {
                return Ok(i);
            }
        }
        let hex = wanted.strip_prefix("sha256:").unwrap_or(wanted);
        if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hits: Vec<&(String, ImageRecord)> = self
                .images
                .iter()
                .filter(|(_, i)| i.id.starts_with(&hex.to_ascii_lowercase()))
                .collect();
            match hits.len() {
                1 => return Ok(hits[0]),
                n if n > 1 => {
                    return Err(format!(
                        "Image id prefix {wanted} is ambiguous ({n} images); give more of it."
                    ))
                }
                _ => {}
            }
        }
        Err(format!(
            "No such image: {wanted}; list them with 'oxlvm image ls'."
        ))
    }

    /// A container by name or unique id prefix.
    pub fn find_container(&self, wanted: &str) -> Result<&(String, ContainerRecord), String> {
        let wanted = wanted.strip_prefix('/').unwrap_or(wanted);
        if let Some(c) = self.containers.iter().find(|(_, c)| c.name == wanted) {
            return Ok(c);
        }
        if !wanted.is_empty() && wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hits: Vec<&(String, ContainerRecord)> = self
                .containers
                .iter()
                .filter(|(_, c)| c.id.starts_with(wanted))
                .collect();
            match hits.len() {
                1 => return Ok(hits[0]),
                n if n > 1 => {
                    return Err(format!(
                    "Container id prefix {wanted} is ambiguous ({n} containers); give more of it."
                ))
                }
                _ => {}
            }
        }
        Err(format!(
            "No such container: {wanted}; list them with 'oxlvm container ls -a'."
        ))
    }

    /// Containers made from the image, and images whose parent it is.
    pub fn image_users(&self, id: &str) -> (Vec<String>, Vec<String>) {
        let containers = self
            .containers
            .iter()
            .filter(|(_, c)| c.image == id)
            .map(|(_, c)| c.name.clone())
            .collect();
        let children = self
            .images
            .iter()
            .filter(|(_, i)| i.parent.as_deref() == Some(id))
            .map(|(_, i)| short_id(&i.id).to_string())
            .collect();
        (containers, children)
    }

    /// Layer LVs no image uses (directly or as an ancestor of one it uses).
    pub fn unused_layers(&self) -> Vec<String> {
        let mut used: Vec<&str> = Vec::new();
        for (_, i) in &self.images {
            for l in &i.layers {
                used.push(l);
            }
        }
        self.layers
            .iter()
            .filter(|(_, l)| !used.contains(&l.chain_id.as_str()))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// `NAME[:TAG]` normalised to `name:tag` (tag `latest` when absent), as Docker's reference
/// grammar allows it: lowercase path components of `[a-z0-9._-]` joined by `/`, an optional
/// registry host (`host[:port]/`), a tag of `[A-Za-z0-9_.-]` up to 128 characters.
pub fn parse_reference(text: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "invalid reference format \"{text}\": {why}; use e.g. busybox or library/alpine:3.19."
        )
    };
    if text.is_empty() || text.len() > 255 {
        return Err(bad("give 1 to 255 characters"));
    }
    let (name, tag) = match text.rfind(':') {
        Some(i) if !text[i + 1..].contains('/') => (&text[..i], Some(&text[i + 1..])),
        _ => (text, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && !t.starts_with(['.', '-'])
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Err(bad(
                "the tag must be 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -)",
            ));
        }
    }
    let comps: Vec<&str> = name.split('/').collect();
    for (i, c) in comps.iter().enumerate() {
        let host = i == 0 && comps.len() > 1 && (c.contains('.') || c.contains(':'));
        let ok = !c.is_empty()
            && if host {
                c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ".-:".contains(ch))
            } else {
                c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
                    && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                    && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
            };
        if !ok {
            return Err(bad(
                "names are lowercase letters, digits and . _ - separated by /",
            ));
        }
    }
    Ok(format!("{name}:{}", tag.unwrap_or("latest")))
}

/// Docker's container name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn check_container_name(name: &str) -> Result<(), String> {
    let ok = name.len() >= 2
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Invalid container name \"{name}\": use [a-zA-Z0-9][a-zA-Z0-9_.-]+ (2 to 100 characters)."
        ))
    }
}

/// Volume names follow the container rule (and become LV names `oxv_<name>`).
pub fn check_volume_name(name: &str) -> Result<(), String> {
    check_container_name(name).map_err(|_| {
        format!("Invalid volume name \"{name}\": use [a-zA-Z0-9][a-zA-Z0-9_.-]+ (2 to 100 characters), or an absolute host path for a bind mount.")
    })
}

/// A Docker-style generated name: adjective_surname, unique among `taken`.
pub fn generate_name(seed: &[u8], taken: &[String]) -> String {
    const LEFT: &[&str] = &[
        "brave", "calm", "eager", "fervent", "gallant", "happy", "jolly", "keen", "lucid", "merry",
        "nifty", "quirky", "serene", "tender", "vibrant", "zealous",
    ];
    const RIGHT: &[&str] = &[
        "babbage", "curie", "dijkstra", "euler", "fermat", "gauss", "hopper", "knuth", "lamport",
        "lovelace", "noether", "pike", "ritchie", "shannon", "thompson", "turing",
    ];
    let a = seed.first().copied().unwrap_or(0) as usize;
    let b = seed.get(1).copied().unwrap_or(0) as usize;
    let base = format!("{}_{}", LEFT[a % LEFT.len()], RIGHT[b % RIGHT.len()]);
    if !taken.contains(&base) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}{n}"))
        .find(|n| !taken.contains(n))
        .unwrap_or(base)
}

/// Docker's `5 seconds ago` style.
pub fn human_ago(then: u64, now: u64) -> String {
    let d = now.saturating_sub(then);
    match d {
        0 => "Less than a second ago".to_string(),
        1..=59 => format!("{d} seconds ago"),
        60..=119 => "About a minute ago".to_string(),
        120..=3599 => format!("{} minutes ago", d / 60),
        3600..=7199 => "About an hour ago".to_string(),
        7200..=172_799 => format!("{} hours ago", d / 3600),
        _ => format!("{} days ago", d / 86400),
    }
}

/// Docker's `1.23MB` size style (decimal units).
pub fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1000.0 {
        format!("{bytes}B")
    } else if b < 1e6 {
        format!("{:.3}kB", b / 1e3)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + ""
    } else if b < 1e9 {
        format!("{:.3}", b / 1e6)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + "MB"
    } else {
        format!("{:.3}", b / 1e9)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + "GB"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::Id;

    #[test]
    fn base64_round_trips() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"abcd",
            &[0u8, 255, 7, 9, 200],
        ] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
    }

    #[test]
    fn records_live_in_valid_lvm2_tags() {
        let rec = ContainerRecord {
            id: "ab".repeat(32),
            name: "web".into(),
            config: ContainerConfig {
                argv: vec!["sh".into(), "-c".into(), "echo \"hi there\" {}".into()],
                env: vec!["A=b c".into(); 200],
                ..Default::default()
            },
            ..Default::default()
        };
        let tags = record_tags(Kind::Container, &rec);
        assert!(tags.len() > 3);
        let ok = |c: char| c.is_ascii_alphanumeric() || "_+.-/=!:&#".contains(c);
        for t in &tags {
            assert!(t.len() <= 1024 && t.chars().all(ok), "{t}");
        }
        let mut lv = LogicalVolume::new("oxc_x", Id::parse(&"a".repeat(32)).unwrap());
        lv.tags.push("other".into());
        set_record(&mut lv, Kind::Container, &rec);
        lv.tags.reverse(); // order does not matter
        assert_eq!(kind_of(&lv), Some(Kind::Container));
        assert_eq!(record_of::<ContainerRecord>(&lv).unwrap(), rec);
        set_record(&mut lv, Kind::Container, &rec);
        assert_eq!(lv.tags.iter().filter(|t| *t == "other").count(), 1);
    }

    #[test]
    fn references() {
        assert_eq!(parse_reference("busybox").unwrap(), "busybox:latest");
        assert_eq!(parse_reference("a/b:1.0").unwrap(), "a/b:1.0");
        assert_eq!(
            parse_reference("reg.io:5000/x/y:t").unwrap(),
            "reg.io:5000/x/y:t"
        );
        assert!(parse_reference("Busybox").is_err());
        assert!(parse_reference("a:").is_err());
        assert!(parse_reference("a b").is_err());
        assert!(parse_reference("").is_err());
        assert!(check_container_name("web-1").is_ok());
        assert!(check_container_name("-x").is_err());
        assert!(check_container_name("a/b").is_err());
    }

    #[test]
    fn lookups() {
        let mut c = Catalog::default();
        let img = |id: &str, tag: &str| ImageRecord {
            id: id.into(),
            repo_tags: vec![tag.into()],
            ..Default::default()
        };
        c.images.push(("oxi_1".into(), img("abc1", "x:latest")));
        c.images.push(("oxi_2".into(), img("abd2", "y:1")));
        assert_eq!(c.find_image("x").unwrap().0, "oxi_1");
        assert_eq!(c.find_image("abd").unwrap().0, "oxi_2");
        assert!(c.find_image("ab").is_err());
        assert!(c.find_image("z").is_err());
    }

    #[test]
    fn sizes_and_ages() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1_500_000), "1.5MB");
        assert_eq!(human_ago(100, 105), "5 seconds ago");
    }

    #[test]
    fn publish_specs_parse_as_docker() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!(
            (
                p.host_ip.as_str(),
                p.host_port.as_str(),
                p.container_port.as_str()
            ),
            ("", "8080", "80/tcp")
        );
        let p = parse_publish("127.0.0.1:53:53/udp").unwrap();
        assert_eq!(
            (
                p.host_ip.as_str(),
                p.host_port.as_str(),
                p.container_port.as_str()
            ),
            ("127.0.0.1", "53", "53/udp")
        );
        let p = parse_publish("80").unwrap();
        assert_eq!(
            (p.host_port.as_str(), p.container_port.as_str()),
            ("", "80/tcp")
        );
        let p = parse_publish("[::1]:8080:80").unwrap();
        assert_eq!(p.host_ip, "::1");
        let p = parse_publish("10.0.0.1::80").unwrap();
        assert_eq!((p.host_ip.as_str(), p.host_port.as_str()), ("10.0.0.1", ""));
        for bad in [
            "",
            "x",
            "0",
            "70000",
            "1:2:3:4",
            "80/icmp",
            "nothost:1:2",
            "8080:",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_expose("53/udp").unwrap(), "53/udp");
        assert_eq!(parse_expose("80").unwrap(), "80/tcp");
        assert!(parse_expose("http").is_err());
    }
}
