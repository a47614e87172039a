//! The seam where kernel activation plugs in. Which LVs a `-a` request covers is decided here,
//! purely, the way LVM2's vgchange picks them; `Activator::apply` hands them to
//! `lv_activate::Activation`, which programs device-mapper (or, without it, warns once, as
//! LVM2 run with `--driverloaded n` does, and changes nothing).

use super::context::Context;
use super::lv_activate::{ActivateOptions, Activation, ActivationMode};
use crate::dm::tables::VgIndex;
use crate::error::{CmdError, CmdResult};
use crate::store::scan::{FoundVg, Scan};
use metadata_format::text::{LogicalVolume, SegmentKind, VolumeGroup};
use std::cell::OnceCell;

/// An `-a/--activate` value, as LVM2 reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationChange {
    /// `y`
    Activate,
    /// `ey`: exclusively (a no-op difference without a cluster or lvmlockd).
    Exclusive,
    /// `sy`: shared (lvmlockd).
    Shared,
    /// `ly`: on this host only.
    Local,
    /// `ay`: autoactivation (honours `auto_activation_volume_list` and NOAUTOACTIVATE).
    Auto,
    /// `n`, `en`
    Deactivate,
    /// `ln`
    DeactivateLocal,
}

impl ActivationChange {
    /// LVM2's spellings, letters in either order (`ey` = `ye`).
    pub fn parse(text: &str) -> Option<ActivationChange> {
        Some(match text {
            "y" => ActivationChange::Activate,
            "e" | "ey" | "ye" => ActivationChange::Exclusive,
            "s" | "sy" | "ys" => ActivationChange::Shared,
            "ly" | "yl" => ActivationChange::Local,
            "a" | "ay" | "ya" => ActivationChange::Auto,
            "n" | "en" | "ne" => ActivationChange::Deactivate,
            "ln" | "nl" => ActivationChange::DeactivateLocal,
            _ => return None,
        })
    }

    pub fn is_activating(self) -> bool {
        !matches!(
            self,
            ActivationChange::Deactivate | ActivationChange::DeactivateLocal
        )
    }
}

/// The LVs a `vgchange -a` request asks the kernel about, as LVM2's `_activate_lvs_in_vg`
/// picks them: visible top-level LVs only (a snapshot comes up with its origin, mirror legs with
/// their mirror), and when activating, none flagged ACTIVATION_SKIP unless
/// `--ignoreactivationskip` (`-K`), none flagged NOAUTOACTIVATE for `-aay`.
pub fn lvs_to_change(
    vg: &VolumeGroup,
    change: ActivationChange,
    ignore_skip: bool,
) -> Vec<&LogicalVolume> {
    let flagged = |lv: &LogicalVolume, flag: &str| {
        lv.flags.iter().any(|f| f == flag) || lv.status.iter().any(|f| f == flag)
    };
    let cows: std::collections::HashSet<&str> = vg
        .lvs
        .iter()
        .flat_map(|lv| lv.segments.iter())
        .filter_map(|s| match &s.kind {
            SegmentKind::Snapshot(snap) => Some(snap.cow.as_str()),
            _ => None,
        })
        .collect();
    let index = VgIndex::new(vg);
    vg.lvs
        .iter()
        .filter(|lv| index.is_lv_visible(lv) && !cows.contains(lv.name.as_str()))
        .filter(|lv| !change.is_activating() || ignore_skip || !flagged(lv, "ACTIVATION_SKIP"))
        .filter(|lv| change != ActivationChange::Auto || !flagged(lv, "NOAUTOACTIVATE"))
        .collect()
}

/// Applies activation requests for one command. Kernel activation is not built yet, so every
/// request reports the LVs it would touch (with `-v`) and leaves the kernel alone.
pub struct Activator {
    /// Opened on first use: it needs the command's context.
    kernel: OnceCell<Activation>,
}

pub use super::lv_activate::ACTIVATION_DISABLED;

impl Activator {
    pub fn new() -> Activator {
        Activator {
            kernel: OnceCell::new(),
        }
    }

    /// Activates or deactivates the LVs of the VG `found` (read by `scan`, which also gives the
    /// PVs' devices) and returns how many of its LVs are active afterwards. Without kernel
    /// support: one warning per command, nothing done, none active.
    pub fn apply(
        &self,
        ctx: &Context,
        scan: &Scan,
        found: &FoundVg,
        change: ActivationChange,
        ignore_skip: bool,
        mode: ActivationMode,
    ) -> CmdResult<usize> {
        let vg = &found.metadata.vg;
        let lvs = lvs_to_change(vg, change, ignore_skip);
        let kernel = self.kernel.get_or_init(|| Activation::new(ctx));
        if !kernel.available() {
            if ctx.verbose > 0 && !lvs.is_empty() {
                let names: Vec<&str> = lvs.iter().map(|lv| lv.name.as_str()).collect();
                ctx.warn(format!(
                    "Skipping {}activation of {} in volume group {}: no device-mapper support.",
                    if change.is_activating() { "" } else { "de" },
                    names.join(", "),
                    vg.name
                ));
            }
            kernel.warn_if_disabled(ctx);
            // Without device-mapper LVM2 still takes and drops the LV locks of a shared VG.
            let mut failed = false;
            for lv in &lvs {
                let result = if change.is_activating() {
                    super::shared::lock_for_activation(ctx, vg, &lv.name, change)
                } else {
                    super::shared::unlock_after_deactivation(ctx, kernel, vg, &lv.name);
                    Ok(())
                };
                if let Err(e) = result {
                    ctx.warn(e.message());
                    failed = true;
                }
            }
            return if failed {
                Err(CmdError::failed(""))
            } else {
                Ok(0)
            };
        }
        let mut failed = false;
        // One index, PV list and missing-PV check for all the LVs, not one per LV.
        let prep = kernel.prepare_many(scan, found);
        if !change.is_activating() {
            // All at once: the kernel removals overlap (see deactivate_many).
            let names: Vec<&str> = lvs.iter().map(|lv| lv.name.as_str()).collect();
            let results = kernel.deactivate_many(ctx, found, &prep, &names);
            for (name, result) in names.iter().zip(results) {
                match result {
                    Ok(()) => super::shared::unlock_after_deactivation(ctx, kernel, vg, name),
                    Err(e) => {
                        ctx.warn(e.message());
                        failed = true;
                    }
                }
            }
        }
        for lv in lvs.iter().filter(|_| change.is_activating()) {
            // In a shared VG each LV's lock comes first and goes last (lvmlockd; a no-op
            // for local VGs): "LV locked by other host" stops this LV only.
            let result =
                super::shared::lock_for_activation(ctx, vg, &lv.name, change).and_then(|_| {
                    kernel.activate_lv_prepared(
                        ctx,
                        found,
                        &prep,
                        &lv.name,
                        ActivateOptions {
                            mode,
                            ..ActivateOptions::default()
                        },
                    )
                });
            if let Err(e) = result {
                ctx.warn(e.message());
                failed = true;
            }
        }
        let active = kernel.active_lv_count_indexed(vg, prep.index());
        if failed {
            ctx.say(format!(
                "{active} logical volume(s) in volume group \"{}\" now active",
                vg.name
            ));
            return Err(CmdError::failed(""));
        }
        Ok(active)
    }
}

impl Default for Activator {
    fn default() -> Self {
        Activator::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::{Id, Segment, Snapshot};

    fn id(c: char) -> Id {
        Id::parse(&c.to_string().repeat(32)).unwrap()
    }

    #[test]
    fn parses_lvm2_spellings() {
        assert_eq!(
            ActivationChange::parse("ye"),
            Some(ActivationChange::Exclusive)
        );
        assert_eq!(
            ActivationChange::parse("n"),
            Some(ActivationChange::Deactivate)
        );
        assert_eq!(ActivationChange::parse("ay"), Some(ActivationChange::Auto));
        assert_eq!(ActivationChange::parse("x"), None);
        assert!(!ActivationChange::Deactivate.is_activating());
    }

    #[test]
    fn picks_visible_lvs_and_honours_activation_skip() {
        let mut vg = VolumeGroup::new("vg", id('v'), 8192);
        let plain = LogicalVolume::new("plain", id('a'));
        let mut skipped = LogicalVolume::new("skipped", id('b'));
        skipped.flags.push("ACTIVATION_SKIP".into());
        let mut hidden = LogicalVolume::new("hidden", id('c'));
        hidden.status.retain(|s| s != "VISIBLE");
        let cow = LogicalVolume::new("cow", id('d'));
        let mut snap = LogicalVolume::new("snapshot0", id('e'));
        snap.status.retain(|s| s != "VISIBLE");
        snap.segments.push(Segment::new(
            0,
            1,
            SegmentKind::Snapshot(Snapshot {
                chunk_size: 8,
                origin: "plain".into(),
                cow: "cow".into(),
                merging: false,
            }),
        ));
        vg.lvs = vec![plain, skipped, hidden, cow, snap];
        let names = |lvs: Vec<&LogicalVolume>| -> Vec<String> {
            lvs.iter().map(|l| l.name.clone()).collect()
        };
        assert_eq!(
            names(lvs_to_change(&vg, ActivationChange::Activate, false)),
            ["plain"]
        );
        assert_eq!(
            names(lvs_to_change(&vg, ActivationChange::Activate, true)),
            ["plain", "skipped"]
        );
        assert_eq!(
            names(lvs_to_change(&vg, ActivationChange::Deactivate, false)),
            ["plain", "skipped"]
        );
    }
}
