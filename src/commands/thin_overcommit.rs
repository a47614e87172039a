//! The thin over-provisioning warning: after an LV is created, or a thin LV or pool is
//! extended, the virtual sizes of the thin LVs are compared with their pools, and with the VG's
//! free space when pools are set to grow automatically. Pure: the caller prints the lines.
//!
//! The rules (LVM2 2.03's behaviour): if the LV is thin or a pool, its own pool is checked first
//! and nothing is said when its thin LVs fit in it. Otherwise every pool of the VG is summed.
//! When the sum of thin sizes exceeds the sum of pool sizes, the warning names what it exceeds:
//! the whole VG, the VG's free space (or "no free space"), or - when the VG has room but the
//! pools are not set to grow (`activation/thin_pool_autoextend_threshold` 100 or
//! `thin_pool_autoextend_percent` 0) - the pools' own size. When pools would grow into enough
//! free space, nothing is said.

use metadata_format::text::{LogicalVolume, VolumeGroup};

use super::lv_plan::{display_size, thin_pool_seg, thin_seg};

/// What to print: the warning for stderr and the advice lines for stdout.
#[derive(Debug, PartialEq, Eq)]
pub struct Overcommit {
    pub warning: String,
    pub advice: Vec<String>,
}

/// Sum of the virtual sizes (extents) of the thin LVs in `pool`.
fn thin_extents_in(vg: &VolumeGroup, pool: &str) -> u64 {
    vg.lvs
        .iter()
        .filter(|l| thin_seg(l).is_some_and(|t| t.thin_pool == pool))
        .map(LogicalVolume::extent_count)
        .sum()
}

/// The warning for `lv` (just created or extended) in `vg` as it will be written, given the
/// autoextend threshold and percent from the configuration; `None` when there is nothing to say.
pub fn check(vg: &VolumeGroup, lv: &str, threshold: i64, percent: i64) -> Option<Overcommit> {
    let own_pool = vg.lv(lv).and_then(|l| {
        if thin_pool_seg(l).is_some() {
            Some(l.name.clone())
        } else {
            thin_seg(l).map(|t| t.thin_pool.clone())
        }
    });
    let (mut pool_sum, mut thin_sum) = (0u64, 0u64);
    if let Some(p) = &own_pool {
        pool_sum = vg.lv(p).map_or(0, LogicalVolume::extent_count);
        thin_sum = thin_extents_in(vg, p);
        if thin_sum <= pool_sum {
            return None;
        }
    }
    let mut more_pools = false;
    for pool in vg.lvs.iter().filter(|l| thin_pool_seg(l).is_some()) {
        if own_pool.as_deref() == Some(pool.name.as_str()) {
            continue;
        }
        more_pools = true;
        pool_sum += pool.extent_count();
        thin_sum += thin_extents_in(vg, &pool.name);
    }
    if thin_sum <= pool_sum {
        return None;
    }
    let vg_size: u64 = vg.pvs.iter().map(|p| u64::from(p.pe_count)).sum();
    let vg_free = crate::alloc::vg_free_extents(vg);
    let not_growing = threshold > 99 || percent == 0;
    let (what, size) = if vg_size < thin_sum {
        (" and the size of whole volume group", vg_size)
    } else if vg_free < thin_sum {
        (
            if vg_free == 0 {
                ""
            } else {
                " and the amount of free space in volume group"
            },
            vg_free,
        )
    } else if not_growing {
        ("", pool_sum)
    } else {
        return None;
    };
    let es = u64::from(vg.extent_size);
    let pools = if more_pools {
        "s".to_string()
    } else {
        format!(" {}/{}", vg.name, own_pool.as_deref().unwrap_or(""))
    };
    let limit = if size > 0 {
        display_size(size * es)
    } else {
        "no free space in volume group".to_string()
    };
    let warning = format!(
        "WARNING: Sum of all thin volume sizes ({}) exceeds the size of thin pool{pools}{what} ({limit}).",
        display_size(thin_sum * es)
    );
    let mut advice = Vec::new();
    if not_growing {
        advice.push(
            "WARNING: You have not turned on protection against thin pools running out of space."
                .to_string(),
        );
    }
    if threshold > 99 {
        advice.push("WARNING: Set activation/thin_pool_autoextend_threshold below 100 to trigger automatic extension of thin pools before they get full.".to_string());
    }
    if percent == 0 {
        advice.push("WARNING: Set activation/thin_pool_autoextend_percent above 0 to specify by how much to extend thin pools reaching the threshold.".to_string());
    }
    Some(Overcommit { warning, advice })
}

/// Prints the warning for `lv` in `vg` (to be written) with the context's configuration.
pub fn warn(ctx: &super::context::Context, vg: &VolumeGroup, lv: &str) {
    let threshold = ctx
        .config
        .get_int("activation/thin_pool_autoextend_threshold")
        .unwrap_or(100);
    let percent = ctx
        .config
        .get_int("activation/thin_pool_autoextend_percent")
        .unwrap_or(20);
    if let Some(o) = check(vg, lv, threshold, percent) {
        ctx.warn(o.warning);
        for line in o.advice {
            ctx.say(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guest fixture: a 128 MiB pool with two 256 MiB thin LVs, 765 extents of 4 MiB.
    fn vgdemo() -> VolumeGroup {
        let text = include_bytes!("../../tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg");
        metadata_format::text::parse_metadata(text)
            .expect("fixture parses")
            .vg
    }

    #[test]
    fn a_thin_lv_is_measured_against_its_own_pool_first() {
        let vg = vgdemo();
        let o = check(&vg, "thin1", 100, 20).expect("over-provisioned");
        assert_eq!(
            o.warning,
            "WARNING: Sum of all thin volume sizes (512.00 MiB) exceeds the size of thin pool vgdemo/pool (128.00 MiB)."
        );
        assert_eq!(o.advice.len(), 2);
        // Pools that grow into enough free space: nothing to say.
        assert_eq!(check(&vg, "thin1", 80, 20), None);
        // Growth by 0 %: the percent advice, not the threshold one.
        let o = check(&vg, "pool", 80, 0).expect("not growing");
        assert_eq!(o.advice.len(), 2);
        assert!(o.advice[1].contains("thin_pool_autoextend_percent above 0"));
    }

    #[test]
    fn thin_lvs_that_fit_their_pool_say_nothing() {
        let mut vg = vgdemo();
        for name in ["thin1", "thinsnap"] {
            if let Some(lv) = vg.lv_mut(name) {
                lv.segments[0].extent_count = 16;
            }
        }
        assert_eq!(check(&vg, "thin1", 100, 20), None);
        // Other LVs sum every pool: 32 extents of thin LVs in a 32-extent pool still fit.
        assert_eq!(check(&vg, "linear", 100, 20), None);
    }

    #[test]
    fn thin_lvs_larger_than_the_vg_name_the_whole_vg() {
        let mut vg = vgdemo();
        if let Some(lv) = vg.lv_mut("thin1") {
            lv.segments[0].extent_count = 10_000;
        }
        let o = check(&vg, "linear", 80, 20).expect("over the VG");
        assert!(
            o.warning.ends_with(
                "exceeds the size of thin pools and the size of whole volume group (<2.99 GiB)."
            ),
            "{}",
            o.warning
        );
        assert!(o.advice.is_empty());
    }
}
