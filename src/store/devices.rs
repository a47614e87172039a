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
/// whose partitions are listed instead, and accepted by `accept` (the lvm.conf filters), which
/// is asked first, from the name alone, so a rejected device costs no sysfs read (a host with
/// many loop devices made the per-device reads most of a small command's time).
pub fn list_block_devices(
    sys_class_block: &Path,
    dev_dir: &Path,
    accept: impl Fn(&Path) -> bool,
) -> Vec<Candidate> {
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
        let is_dm = name.starts_with("dm-");
        let path = match is_dm.then(|| read_attr(&sys.join("dm/name"))).flatten() {
            Some(dm) => dev_dir.join("mapper").join(dm.trim()),
            None => dev_dir.join(name),
        };
        if !accept(&path) {
            continue;
        }
        let sectors: u64 = read_attr(&sys.join("size"))
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if sectors == 0 {
            continue;
        }
        if is_dm {
            let uuid = read_attr(&sys.join("dm/uuid")).unwrap_or_default();
            if uuid.starts_with("LVM-") {
                continue; // LVs are not scanned for PVs, as LVM2's default scan_lvs = 0
            }
        }
        if has_partitions(sys_class_block, &names, name) {
            continue;
        }
        out.push(Candidate {
            name: name.clone(),
            path,
            size_bytes: sectors * 512,
        });
    }
    out
}

/// Whether disk `name` has partitions among `names` (sorted). The kernel names a partition
/// after its disk: the disk's name, a `p` when that name ends in a digit, the number
/// (`sda1`, `loop0p1`, `nvme0n1p2`); each such name is confirmed by its `partition` file
/// under the disk's sysfs directory, so a disk without any costs no file-system call.
fn has_partitions(sys_class_block: &Path, names: &[String], name: &str) -> bool {
    let needs_p = name.ends_with(|c: char| c.is_ascii_digit());
    let first = names.partition_point(|n| n.as_str() <= name);
    names[first..]
        .iter()
        .take_while(|n| n.starts_with(name))
        .filter(|n| {
            let rest = &n[name.len()..];
            let digits = if needs_p {
                rest.strip_prefix('p').unwrap_or("")
            } else {
                rest
            };
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .any(|n| {
            sys_class_block
                .join(name)
                .join(n)
                .join("partition")
                .exists()
        })
}

/// A small sysfs attribute in one read (sysfs hands the whole value to the first read).
fn read_attr(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// One lvm.conf filter entry: `a|regex|` accepts, `r|regex|` rejects; any delimiter works.
#[derive(Debug, Clone)]
pub struct FilterRule {
    accept: bool,
    pattern: Pattern,
}

/// A filter pattern. Most entries are anchored paths or `.*` (`a|^/dev/sdb$|`, `r|.*|`): those
/// are compared as strings, since compiling a regex costs more than a small command's own
/// work (64 devices named one by one in a filter took 20M instructions to compile and run).
#[derive(Debug, Clone)]
enum Pattern {
    /// Matches every path (`.*`).
    Any,
    /// A pattern without regex syntax: `lit` is found with `^` (at the start), `$` (at the end),
    /// both (the whole path) or anywhere.
    Literal {
        text: String,
        start: bool,
        end: bool,
    },
    Regex(Regex),
}

impl Pattern {
    fn new(source: &str) -> Result<Pattern, regex::Error> {
        let (start, rest) = match source.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, source),
        };
        // A trailing `$` anchors unless escaped (`\$` is a literal dollar).
        let (end, body) = match rest.strip_suffix('$') {
            Some(b) if !b.ends_with('\\') => (true, b),
            _ => (false, rest),
        };
        const META: &[char] = &[
            '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
        ];
        if body == ".*" {
            return Ok(Pattern::Any);
        }
        if !body.contains(META) {
            return Ok(Pattern::Literal {
                text: body.to_string(),
                start,
                end,
            });
        }
        Regex::new(source).map(Pattern::Regex)
    }

    fn is_match(&self, path: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Literal { text, start, end } => match (start, end) {
                (true, true) => path == text,
                (true, false) => path.starts_with(text.as_str()),
                (false, true) => path.ends_with(text.as_str()),
                (false, false) => path.contains(text.as_str()),
            },
            Pattern::Regex(r) => r.is_match(path),
        }
    }
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
        let pattern = Pattern::new(&body[..end])
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
    fn plain_patterns_match_as_their_regex_would() {
        let patterns = [
            "^/dev/loop3$",
            "^/dev/loop3",
            "loop3$",
            "loop3",
            ".*",
            "^.*$",
            "^$",
            "",
            "^/dev/sd[a-z]$",
            "/dev/loop3\\$",
            "^/dev/mapper/vg-lv$",
        ];
        let paths = [
            "/dev/loop3",
            "/dev/loop30",
            "/dev/loop3p1",
            "/dev/xloop3",
            "/dev/sda",
            "/dev/loop3$",
            "/dev/mapper/vg-lv",
            "",
        ];
        for pat in patterns {
            let ours = Pattern::new(pat).unwrap();
            let re = Regex::new(pat).unwrap();
            for path in paths {
                assert_eq!(ours.is_match(path), re.is_match(path), "{pat} on {path}");
            }
        }
        assert!(matches!(
            Pattern::new("^/dev/loop3$").unwrap(),
            Pattern::Literal { .. }
        ));
        assert!(matches!(Pattern::new(".*").unwrap(), Pattern::Any));
        assert!(matches!(
            Pattern::new("^/dev/sd.$").unwrap(),
            Pattern::Regex(_)
        ));
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
        // loop2's partition is loop2p1; loop20 is another disk, not a partition of loop2.
        let loop2 = mk("loop2", "2048\n");
        std::fs::create_dir_all(loop2.join("loop2p1")).unwrap();
        std::fs::write(loop2.join("loop2p1/partition"), "1").unwrap();
        mk("loop2p1", "1000\n");
        mk("loop20", "2048\n");
        mk("loop3", "2048\n");
        let dm = mk("dm-0", "100\n");
        std::fs::create_dir_all(dm.join("dm")).unwrap();
        std::fs::write(dm.join("dm/uuid"), "LVM-abc").unwrap();
        std::fs::write(dm.join("dm/name"), "vg-lv").unwrap();
        let dm1 = mk("dm-1", "100\n");
        std::fs::create_dir_all(dm1.join("dm")).unwrap();
        std::fs::write(dm1.join("dm/uuid"), "CRYPT-x").unwrap();
        std::fs::write(dm1.join("dm/name"), "cr").unwrap();
        let got = list_block_devices(&root, Path::new("/dev"), |_| true);
        let paths: Vec<_> = got
            .iter()
            .map(|c| c.path.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            [
                "/dev/mapper/cr",
                "/dev/loop0",
                "/dev/loop20",
                "/dev/loop2p1",
                "/dev/loop3",
                "/dev/sda1"
            ]
        );
        assert_eq!(got[1].size_bytes, 2048 * 512);
        // The filter is asked with the device's path (a dm device's by its mapper name).
        let got = list_block_devices(&root, Path::new("/dev"), |p| {
            p != Path::new("/dev/mapper/cr") && p != Path::new("/dev/loop3")
        });
        assert_eq!(got.len(), 4);
        assert!(got.iter().all(|c| c.name != "dm-1" && c.name != "loop3"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
