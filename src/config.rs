//! lvm.conf as oxlvm reads it: `$LVM_SYSTEM_DIR/lvm.conf` (default /etc/lvm) overlaid by
//! `--config` strings, with typed getters for the settings harnesses set (compat.md) and LVM2's
//! defaults where a setting is absent.

use metadata_format::text::{parse_config, Scalar, Section, Value};
use std::path::PathBuf;

pub const DEFAULT_SYSTEM_DIR: &str = "/etc/lvm";

/// The layers of configuration, highest priority first (`--config` before lvm.conf).
#[derive(Debug, Default)]
pub struct Config {
    layers: Vec<Section<'static>>,
    pub system_dir: PathBuf,
}

impl Config {
    /// Reads lvm.conf from `LVM_SYSTEM_DIR` and applies `overrides` (`--config` strings).
    pub fn load(overrides: &[String]) -> Result<Config, String> {
        let system_dir = std::env::var_os("LVM_SYSTEM_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SYSTEM_DIR));
        let mut layers = Vec::new();
        for text in overrides.iter().rev() {
            let section = parse_config(text.as_bytes())
                .map_err(|e| format!("Invalid --config string \"{text}\": {e}"))?;
            layers.push(expand_paths(section.into_owned()));
        }
        layers.reverse();
        // lvmlocal.conf (host-specific settings: local/host_id, local/system_id) overrides
        // lvm.conf, as LVM2 merges them.
        for file in ["lvmlocal.conf", "lvm.conf"] {
            let path = system_dir.join(file);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let section = parse_config(&bytes).map_err(|e| {
                        format!("Cannot read {}: {e}; fix the file.", path.display())
                    })?;
                    layers.push(expand_paths(section.into_owned()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("Cannot read {}: {e}", path.display())),
            }
        }
        Ok(Config { layers, system_dir })
    }

    /// `global/use_lvmlockd`: shared VGs through lvmlockd.
    pub fn use_lvmlockd(&self) -> bool {
        self.get_bool("global/use_lvmlockd", false)
    }

    /// A configuration with no settings at all (every getter gives LVM2's default).
    pub fn empty(system_dir: PathBuf) -> Config {
        Config {
            layers: Vec::new(),
            system_dir,
        }
    }

    fn value(&self, path: &str) -> Option<&Value<'static>> {
        self.layers.iter().find_map(|l| l.lookup(path))
    }

    pub fn get_str(&self, path: &str) -> Option<&str> {
        match self.value(path)? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn get_int(&self, path: &str) -> Option<i64> {
        match self.value(path)? {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn get_bool(&self, path: &str, default: bool) -> bool {
        self.get_int(path).map(|v| v != 0).unwrap_or(default)
    }

    /// A list of strings; a single string counts as a one-element list, as LVM2 allows.
    pub fn get_str_list(&self, path: &str) -> Option<Vec<String>> {
        match self.value(path)? {
            Value::String(s) => Some(vec![s.to_string()]),
            Value::Array(a) => Some(
                a.elements
                    .iter()
                    .filter_map(|e| match e {
                        Scalar::String(s) => Some(s.to_string()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The `allocation/` settings the allocator follows, with a warning per ignored entry of
    /// `cling_tag_list` (LVM2's wording).
    pub fn allocation_settings(&self) -> (crate::alloc::Settings, Vec<String>) {
        let tag_list = self.value("allocation/cling_tag_list").map(|v| match v {
            Value::String(s) => vec![Some(s.to_string())],
            Value::Array(a) => a
                .elements
                .iter()
                .map(|e| match e {
                    Scalar::String(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect(),
            _ => vec![None],
        });
        crate::alloc::Settings::from_values(tag_list, |name, default| {
            self.get_bool(&format!("allocation/{name}"), default)
        })
    }

    pub fn locking_dir(&self) -> PathBuf {
        self.get_str("global/locking_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(crate::store::lock::DEFAULT_LOCKING_DIR))
    }

    pub fn backup_enabled(&self) -> bool {
        self.get_bool("backup/backup", true)
    }

    pub fn archive_enabled(&self) -> bool {
        self.get_bool("backup/archive", true)
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.get_str("backup/backup_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.system_dir.join("backup"))
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.get_str("backup/archive_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.system_dir.join("archive"))
    }

    /// `backup/retain_min` (LVM2 default 10).
    pub fn retain_min(&self) -> u64 {
        self.get_int("backup/retain_min")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(10)
    }

    /// `backup/retain_days` (LVM2 default 30).
    pub fn retain_days(&self) -> u64 {
        self.get_int("backup/retain_days")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(30)
    }
}

/// `--config 'devices/filter=[...]'` names a setting by path at the top level; store it as the
/// nested sections lvm.conf would have, so one lookup serves both spellings.
fn expand_paths(section: Section<'static>) -> Section<'static> {
    use metadata_format::text::{Item, Node};
    let mut out = Section::new();
    for item in section.items {
        if !item.key.contains('/') {
            out.items.push(item);
            continue;
        }
        let parts: Vec<String> = item
            .key
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        let Some((last, dirs)) = parts.split_last() else {
            continue;
        };
        let mut node = item.node;
        let mut key = last.clone();
        for dir in dirs.iter().rev() {
            let mut wrapper = Section::new();
            wrapper.items.push(Item::new(key, node));
            node = Node::Section(wrapper);
            key = dir.clone();
        }
        out.items.push(Item::new(key, node));
    }
    // Several path items for one section become several same-named sections; lookups take
    // the first, so merge them.
    merge_duplicate_sections(out)
}

fn merge_duplicate_sections(section: Section<'static>) -> Section<'static> {
    use metadata_format::text::Node;
    let mut out = Section::new();
    for item in section.items {
        let existing = out.items.iter_mut().find(|i| i.key == item.key);
        match (existing, item.node) {
            (Some(prev), Node::Section(new)) => {
                if let Node::Section(old) = &mut prev.node {
                    old.items.extend(new.items);
                    let merged = merge_duplicate_sections(std::mem::take(old));
                    *old = merged;
                }
            }
            (_, node) => out
                .items
                .push(metadata_format::text::Item::new(item.key, node)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(conf: &str, overrides: &[&str]) -> Config {
        let dir = std::env::temp_dir().join(format!(
            "oxlvm-conf-{}-{}",
            std::process::id(),
            conf.len() + overrides.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lvm.conf"), conf).unwrap();
        let mut layers = Vec::new();
        for o in overrides {
            layers.push(expand_paths(
                parse_config(o.as_bytes()).unwrap().into_owned(),
            ));
        }
        layers.push(expand_paths(
            parse_config(conf.as_bytes()).unwrap().into_owned(),
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        Config {
            layers,
            system_dir: PathBuf::from("/sys/dir"),
        }
    }

    #[test]
    fn overrides_win_and_defaults_fill_in() {
        let c = with(
            "devices {\n filter = [ \"a|loop|\", \"r|.*|\" ]\n}\nbackup {\n backup = 0\n}\n",
            &["backup/backup_dir=\"/b\"", "devices { filter = \"r|.*|\" }"],
        );
        assert_eq!(c.get_str_list("devices/filter").unwrap(), ["r|.*|"]);
        assert!(!c.backup_enabled());
        assert!(c.archive_enabled());
        assert_eq!(c.backup_dir(), PathBuf::from("/b"));
        assert_eq!(c.archive_dir(), PathBuf::from("/sys/dir/archive"));
        assert_eq!(c.retain_min(), 10);
        assert_eq!(
            c.locking_dir(),
            PathBuf::from(crate::store::lock::DEFAULT_LOCKING_DIR)
        );
    }

    #[test]
    fn allocation_settings_and_ignored_tags() {
        let c = with("", &[]);
        assert_eq!(
            c.allocation_settings(),
            (crate::alloc::Settings::DEFAULT, vec![])
        );
        let c = with(
            "allocation {\n cling_tag_list = [ \"@site1\", \"x\", \"\", \"@\", 3, \"@*\" ]\n maximise_cling = 0\n mirror_logs_require_separate_pvs = 1\n}\n",
            &["allocation/thin_pool_metadata_require_separate_pvs=1 allocation/raid_stripe_all_devices=1"],
        );
        let (s, warnings) = c.allocation_settings();
        assert_eq!(
            s.cling_tags,
            Some(vec!["site1".to_string(), "*".to_string()])
        );
        assert!(!s.maximise_cling);
        assert!(s.mirror_logs_separate);
        assert!(s.thin_pool_metadata_separate);
        assert!(s.raid_stripe_all_devices);
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].contains("not starting with @"));
        assert!(warnings[3].contains("invalid string"));
    }

    #[test]
    fn path_keys_merge_into_one_section() {
        let c = with("", &["global/locking_dir=\"/l\" global/x=1"]);
        assert_eq!(c.locking_dir(), PathBuf::from("/l"));
        assert_eq!(c.get_int("global/x"), Some(1));
    }
}
