//! The kernel's status lines (`dmsetup status`) of the targets LVM2 reports on, parsed as
//! libdm's `dm_get_status_*` parse them: thin-pool, thin, snapshot (and snapshot-merge),
//! raid and mirror. Pure: the lines come from `ioctl::Control::status`.

/// A thin-pool status: `<transaction id> <used meta>/<total meta> <used data>/<total data>
/// <held root> ro|rw|out_of_data_space [no_]discard_passdown error|queue_if_no_space
/// needs_check|- <metadata low water mark>`, or `Fail`, or `Error`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThinPoolStatus {
    pub transaction_id: u64,
    pub used_metadata_blocks: u64,
    pub total_metadata_blocks: u64,
    pub used_data_blocks: u64,
    pub total_data_blocks: u64,
    pub fail: bool,
    pub error: bool,
    pub read_only: bool,
    pub out_of_data_space: bool,
    pub needs_check: bool,
    /// The discards the kernel applies: `passdown`, `nopassdown` or `ignore` (LVM2's
    /// kernel_discards).
    pub discards: String,
}

fn fraction(word: &str) -> Option<(u64, u64)> {
    let (a, b) = word.split_once('/')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

pub fn parse_thin_pool(params: &str) -> Option<ThinPoolStatus> {
    let p = params.trim();
    if p.starts_with("Fail") {
        return Some(ThinPoolStatus {
            fail: true,
            ..ThinPoolStatus::default()
        });
    }
    if p.starts_with("Error") {
        return Some(ThinPoolStatus {
            error: true,
            ..ThinPoolStatus::default()
        });
    }
    let words: Vec<&str> = p.split_whitespace().collect();
    let (used_meta, total_meta) = fraction(words.get(1)?)?;
    let (used_data, total_data) = fraction(words.get(2)?)?;
    let mode = words.get(4).copied().unwrap_or("");
    Some(ThinPoolStatus {
        transaction_id: words.first()?.parse().ok()?,
        used_metadata_blocks: used_meta,
        total_metadata_blocks: total_meta,
        used_data_blocks: used_data,
        total_data_blocks: total_data,
        fail: false,
        error: false,
        read_only: mode == "ro",
        out_of_data_space: mode == "out_of_data_space",
        needs_check: words.iter().skip(5).any(|w| *w == "needs_check"),
        discards: match words.get(5).copied() {
            Some("ignore_discard") => "ignore",
            Some("no_discard_passdown") => "nopassdown",
            _ => "passdown",
        }
        .to_string(),
    })
}

/// A thin volume's status: `<mapped sectors> <highest mapped sector>`, `Fail`, or `-` parts
/// when nothing is mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThinStatus {
    pub mapped_sectors: u64,
    pub fail: bool,
}

pub fn parse_thin(params: &str) -> Option<ThinStatus> {
    let p = params.trim();
    if p.starts_with("Fail") {
        return Some(ThinStatus {
            mapped_sectors: 0,
            fail: true,
        });
    }
    if p.contains('-') {
        return Some(ThinStatus::default());
    }
    Some(ThinStatus {
        mapped_sectors: p.split_whitespace().next()?.parse().ok()?,
        fail: false,
    })
}

/// A snapshot (or snapshot-merge) status: `<used>/<total> <metadata sectors>`, `Invalid`,
/// `Merge failed` or `Overflow`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotStatus {
    pub used_sectors: u64,
    pub total_sectors: u64,
    pub metadata_sectors: u64,
    pub has_metadata_sectors: bool,
    pub invalid: bool,
    pub merge_failed: bool,
    pub overflow: bool,
}

pub fn parse_snapshot(params: &str) -> Option<SnapshotStatus> {
    let p = params.trim();
    if p.starts_with("Invalid") {
        return Some(SnapshotStatus {
            invalid: true,
            ..SnapshotStatus::default()
        });
    }
    if p.starts_with("Merge failed") {
        return Some(SnapshotStatus {
            merge_failed: true,
            ..SnapshotStatus::default()
        });
    }
    if p.starts_with("Overflow") {
        return Some(SnapshotStatus {
            invalid: true,
            overflow: true,
            ..SnapshotStatus::default()
        });
    }
    let mut words = p.split_whitespace();
    let (used, total) = fraction(words.next()?)?;
    let metadata = words.next().and_then(|w| w.parse().ok());
    Some(SnapshotStatus {
        used_sectors: used,
        total_sectors: total,
        metadata_sectors: metadata.unwrap_or(0),
        has_metadata_sectors: metadata.is_some(),
        ..SnapshotStatus::default()
    })
}

impl SnapshotStatus {
    /// A merge has copied everything back: only the exception store's header is left.
    pub fn merge_done(&self) -> bool {
        !self.invalid && !self.merge_failed && self.used_sectors == self.metadata_sectors
    }
}

/// A dm-raid status: `<level> <#devices> <health chars> <in sync>/<total> <sync action>
/// <mismatch count> [<data offset> <journal char>]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaidStatus {
    pub raid_type: String,
    pub dev_health: String,
    pub insync_regions: u64,
    pub total_regions: u64,
    pub sync_action: String,
    pub mismatch_count: u64,
}

pub fn parse_raid(params: &str) -> Option<RaidStatus> {
    let words: Vec<&str> = params.split_whitespace().collect();
    let count: usize = words.get(1)?.parse().ok()?;
    let health = words.get(2)?.to_string();
    if health.len() != count {
        return None;
    }
    let (insync, total) = fraction(words.get(3)?)?;
    Some(RaidStatus {
        raid_type: words.first()?.to_string(),
        dev_health: health,
        insync_regions: insync,
        total_regions: total,
        sync_action: words.get(4).map_or(String::new(), |s| s.to_string()),
        mismatch_count: words.get(5).and_then(|w| w.parse().ok()).unwrap_or(0),
    })
}

/// A dm-mirror status: `<#legs> <dev>... <in sync>/<total> <#health> <health chars>
/// <#log args> <log type> [<log dev> <log health>]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorStatus {
    pub insync_regions: u64,
    pub total_regions: u64,
    pub dev_health: String,
    /// The disk log's own letter (`A` alive, `D` device failed, `F` flush failed); None for a
    /// core log (or a status without one).
    pub log_health: Option<char>,
}

pub fn parse_mirror(params: &str) -> Option<MirrorStatus> {
    let words: Vec<&str> = params.split_whitespace().collect();
    let legs: usize = words.first()?.parse().ok()?;
    let (insync, total) = fraction(words.get(1 + legs)?)?;
    let health = words.get(3 + legs).map_or(String::new(), |s| s.to_string());
    // `<#log args> disk <log dev> <letter>` or `1 core`.
    let log_health = match words.get(5 + legs) {
        Some(&"disk") => words.get(7 + legs).and_then(|w| w.chars().next()),
        _ => None,
    };
    Some(MirrorStatus {
        insync_regions: insync,
        total_regions: total,
        dev_health: health,
        log_health,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thin_pool_lines() {
        let s = parse_thin_pool("1 11/1024 3/64 - rw discard_passdown queue_if_no_space - 1024 ")
            .unwrap();
        assert_eq!(
            (s.transaction_id, s.used_metadata_blocks, s.used_data_blocks),
            (1, 11, 3)
        );
        assert_eq!((s.total_metadata_blocks, s.total_data_blocks), (1024, 64));
        assert!(!s.read_only && !s.needs_check && !s.out_of_data_space);
        let full = parse_thin_pool(
            "1 11/1024 64/64 - out_of_data_space discard_passdown queue_if_no_space - 1024",
        )
        .unwrap();
        assert!(full.out_of_data_space);
        assert!(parse_thin_pool("Fail").unwrap().fail);
        assert!(parse_thin_pool("nonsense").is_none());
    }

    #[test]
    fn thin_snapshot_raid_mirror_lines() {
        assert_eq!(parse_thin("2048 2047").unwrap().mapped_sectors, 2048);
        assert_eq!(parse_thin("0 -").unwrap().mapped_sectors, 0);
        assert!(parse_thin("Fail").unwrap().fail);
        let s = parse_snapshot("32/8192 16").unwrap();
        assert_eq!(
            (s.used_sectors, s.total_sectors, s.metadata_sectors),
            (32, 8192, 16)
        );
        assert!(!s.merge_done());
        assert!(parse_snapshot("16/8192 16").unwrap().merge_done());
        assert!(parse_snapshot("Invalid").unwrap().invalid);
        assert!(parse_snapshot("Merge failed").unwrap().merge_failed);
        let r = parse_raid("raid1 2 AA 8192/8192 idle 0 0 -").unwrap();
        assert_eq!(r.dev_health, "AA");
        assert_eq!((r.insync_regions, r.total_regions), (8192, 8192));
        assert_eq!(r.sync_action, "idle");
        assert!(parse_raid("raid1 3 AA 1/2 idle 0").is_none());
        let m = parse_mirror("2 253:1 253:2 16/32 1 AA 3 disk 253:0 A").unwrap();
        assert_eq!((m.insync_regions, m.total_regions), (16, 32));
        assert_eq!(m.dev_health, "AA");
        let core = parse_mirror("2 253:0 253:1 16/16 1 AA 1 core").unwrap();
        assert_eq!(core.total_regions, 16);
    }

    #[test]
    fn mirror_leg_and_log_health() {
        // Lines as dm-mirror prints them: legs alive or dead, the disk log alive, its device
        // failed, its flush failed; a core log has no letter.
        let cases = [
            ("2 253:3 253:4 8/8 1 AA 3 disk 253:2 A", "AA", Some('A')),
            ("2 253:3 253:4 8/8 1 DA 3 disk 253:2 A", "DA", Some('A')),
            ("2 253:3 253:4 7/8 1 AD 3 disk 253:2 D", "AD", Some('D')),
            ("2 253:3 253:4 8/8 1 AA 3 disk 253:2 F", "AA", Some('F')),
            (
                "3 253:3 253:4 253:5 8/8 1 AAA 3 disk 253:2 F",
                "AAA",
                Some('F'),
            ),
            ("2 253:3 253:4 8/8 1 AA 1 core", "AA", None),
            ("2 253:3 253:4 4/8 1 AD 1 core", "AD", None),
        ];
        for (line, legs, log) in cases {
            let m = parse_mirror(line).unwrap();
            assert_eq!((m.dev_health.as_str(), m.log_health), (legs, log), "{line}");
        }
    }
}
