//! Which block devices may be PVs: the kernel's list in /sys/class/block, narrowed by lvm.conf's
//! `devices/global_filter` and `devices/filter` and by `--devices`, before any byte is read.

use regex::Regex;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// Lists block devices that could hold a PV: non-empty, not an LV's own dm device, not a disk
/// whose partitions are listed instead.
pub fn list_block_devices(sys_class_block: &Path, dev_dir: &Path) -> Vec<Candidate> {
    let Ok(entries) = std::fs::read_dir(sys_class_block) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in &names {
        let sys = sys_class_block.join(name);
        let sectors: u64 = std::fs::read_to_string(sys.join("size"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if sectors == 0 {
            continue;
        }
        if name.starts_with("dm-") {
            let uuid = std::fs::read_to_string(sys.join("dm/uuid")).unwrap_or_default();
            if uuid.starts_with("LVM-") {
                continue; // LVs are not scanned for PVs, as LVM2's default scan_lvs = 0
            }
        }
        // A disk's partitions are subdirectories of its own sysfs directory: one listing of
        // it instead of a look-up per other device (64 loop devices made that 4,000 stats).
        let has_partitions = std::fs::read_dir(&sys).is_ok_and(|entries| {
            entries.filter_map(|e| e.ok()).any(|e| {
                let other = e.file_name();
                let other = other.to_string_lossy();
                other != name.as_str()
                    && names.binary_search_by(|n| n.as_str().cmp(&other)).is_ok()
                    && e.path().join("partition").exists()
            })
        });
        if has_partitions {
            continue;
        }
        let dm_name = if name.starts_with("dm-") {
            std::fs::read_to_string(sys.join("dm/name")).ok()
        } else {
            None
        };
        let path = match dm_name {
            Some(dm) => dev_dir.join("mapper").join(dm.trim()),
            None => dev_dir.join(name),
        };
        out.push(Candidate {
            name: name.clone(),
            path,
            size_bytes: sectors * 512,
        });
    }
    out
}

/// One lvm.conf filter entry: `a|regex|` accepts, `r|regex|` rejects; any delimiter works.
#[derive(Debug, Clone)]
pub struct FilterRule {
    accept: bool,
    pattern: Regex,
}

impl FilterRule {
    pub fn parse(entry: &str) -> Result<FilterRule, String> {
        let mut chars = entry.chars();
        let accept = match chars.next() {
            Some('a') => true,
            Some('r') => false,
            _ => {
                return Err(format!(
                    "Invalid filter entry \"{entry}\": it must start with a (accept) or r (reject)."
                ))
            }
        };
        let rest = chars.as_str();
        let delim = rest
            .chars()
            .next()
            .ok_or_else(|| format!("Invalid filter entry \"{entry}\": no pattern."))?;
        let body = &rest[delim.len_utf8()..];
        let end = body.rfind(delim).ok_or_else(|| {
            format!("Invalid filter entry \"{entry}\": the pattern is not closed by '{delim}'.")
        })?;
        let pattern = Regex::new(&body[..end])
            .map_err(|e| format!("Invalid filter entry \"{entry}\": bad pattern: {e}"))?;
        Ok(FilterRule { accept, pattern })
    }
}

/// A filter list: the first rule whose pattern matches decides; no match accepts.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    rules: Vec<FilterRule>,
}

impl Filter {
    pub fn parse(entries: &[String]) -> Result<Filter, String> {
        Ok(Filter {
            rules: entries
                .iter()
                .map(|e| FilterRule::parse(e))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn accepts(&self, path: &Path) -> bool {
        let p = path.to_string_lossy();
        self.rules
            .iter()
            .find(|r| r.pattern.is_match(&p))
            .map(|r| r.accept)
            .unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(entries: &[&str]) -> Filter {
        Filter::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn first_match_decides() {
        let filter = f(&["a|^/dev/loop[0-9]+$|", "r|.*|"]);
        assert!(filter.accepts(Path::new("/dev/loop3")));
        assert!(!filter.accepts(Path::new("/dev/loop3p1")));
        assert!(!filter.accepts(Path::new("/dev/sda")));
        assert!(f(&[]).accepts(Path::new("/dev/sda")));
        assert!(f(&["r/sda/"]).accepts(Path::new("/dev/vdb")));
        assert!(!f(&["r/sda/"]).accepts(Path::new("/dev/sda1")));
    }

    #[test]
    fn bad_entries_are_named() {
        assert!(FilterRule::parse("x|a|").unwrap_err().contains("x|a|"));
        assert!(FilterRule::parse("a|abc").is_err());
        assert!(FilterRule::parse("a").is_err());
        assert!(FilterRule::parse("a|(|").is_err());
    }

    #[test]
    fn sysfs_listing_skips_empty_lv_and_partitioned() {
        let root = std::env::temp_dir().join(format!("oxlvm-sysfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mk = |name: &str, size: &str| {
            let d = root.join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("size"), size).unwrap();
            d
        };
        mk("loop0", "2048\n");
        mk("loop1", "0\n");
        let sda = mk("sda", "4096\n");
        let p = sda.join("sda1");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("partition"), "1").unwrap();
        mk("sda1", "2000\n");
        let dm = mk("dm-0", "100\n");
        std::fs::create_dir_all(dm.join("dm")).unwrap();
        std::fs::write(dm.join("dm/uuid"), "LVM-abc").unwrap();
        std::fs::write(dm.join("dm/name"), "vg-lv").unwrap();
        let dm1 = mk("dm-1", "100\n");
        std::fs::create_dir_all(dm1.join("dm")).unwrap();
        std::fs::write(dm1.join("dm/uuid"), "CRYPT-x").unwrap();
        std::fs::write(dm1.join("dm/name"), "cr").unwrap();
        let got = list_block_devices(&root, Path::new("/dev"));
        let paths: Vec<_> = got
            .iter()
            .map(|c| c.path.to_string_lossy().into_owned())
            .collect();
        assert_eq!(paths, ["/dev/mapper/cr", "/dev/loop0", "/dev/sda1"]);
        assert_eq!(got[1].size_bytes, 2048 * 512);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
