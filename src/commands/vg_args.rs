//! VG arguments as LVM2's per-VG commands take them (vgcfgbackup, vgck, vgexport, vgimport...):
//! a name may carry the `/dev/` prefix, no name means every VG, and one VG failing does not
//! stop the others - the command exits with the worst outcome, each failure said once.

use super::context::Context;
use super::lv_activate::Activation;
use crate::error::{CmdError, CmdResult};
use crate::store::scan::{FoundVg, Scan};
use metadata_format::text::VolumeGroup;

/// A VG name as given on the command line, without LVM2's optional `/dev/` prefix.
pub fn vg_arg(arg: &str) -> &str {
    arg.strip_prefix("/dev/")
        .unwrap_or(arg)
        .trim_end_matches('/')
}

/// The VGs a command works on: those named (prefix stripped), or every VG the scan found.
pub fn vg_names_or_all(args: &[String], scan: &Scan) -> Vec<String> {
    if args.is_empty() {
        scan.vg_names()
    } else {
        args.iter().map(|a| vg_arg(a).to_string()).collect()
    }
}

/// Runs `each` for every name. A failure is printed at once (one line) and the next VG is
/// still processed; the result is the worst outcome, already reported (an empty message).
pub fn for_each_vg(names: &[String], mut each: impl FnMut(&str) -> CmdResult) -> CmdResult {
    let mut worst: Option<CmdError> = None;
    for name in names {
        if let Err(e) = each(name) {
            if !e.message().is_empty() {
                eprintln!("  {}", e.message());
            }
            let replace = match (&worst, &e) {
                (None, _) => true,
                (Some(w), e) => e.exit_code() > w.exit_code(),
            };
            if replace {
                worst = Some(match e {
                    CmdError::Usage(_) => CmdError::usage(""),
                    CmdError::Failed(_) => CmdError::failed(""),
                });
            }
        }
    }
    worst.map_or(Ok(()), Err)
}

/// LVM2 refuses to change an exported VG (vgimport it first).
pub fn refuse_exported(found: &FoundVg) -> CmdResult {
    if is_exported(found) {
        return Err(CmdError::failed(format!(
            "Volume group {} is exported; run vgimport {} first.",
            found.metadata.vg.name, found.metadata.vg.name
        )));
    }
    Ok(())
}

pub fn is_exported(found: &FoundVg) -> bool {
    found.metadata.vg.status.iter().any(|s| s == EXPORTED)
}

/// The status word of an exported VG (and of its PVs).
pub const EXPORTED: &str = "EXPORTED";

/// LVM2 refuses to change a VG while one of its PVs is missing.
pub fn refuse_partial(found: &FoundVg) -> CmdResult {
    let missing: Vec<String> = found.missing_pvs().map(|p| p.id.to_string()).collect();
    if !missing.is_empty() {
        return Err(CmdError::failed(format!(
            "Cannot change VG {} while PV {} is missing; reconnect it, or run vgreduce --removemissing {}.",
            found.metadata.vg.name,
            missing.join(", "),
            found.metadata.vg.name
        )));
    }
    Ok(())
}

/// The LVs of `vg` whose device is live in the kernel, by name (none without device-mapper).
/// Commands that move or hand over a VG's LVs refuse these, as LVM2 does.
pub fn active_lvs(ctx: &Context, vg: &VolumeGroup) -> Vec<String> {
    let kernel = Activation::new(ctx);
    if !kernel.available() {
        return Vec::new();
    }
    vg.lvs
        .iter()
        .filter(|lv| kernel.is_active(vg, lv))
        .map(|lv| lv.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_prefix_is_optional() {
        assert_eq!(vg_arg("/dev/vg0"), "vg0");
        assert_eq!(vg_arg("vg0"), "vg0");
        assert_eq!(vg_arg("/dev/vg0/"), "vg0");
    }

    #[test]
    fn worst_outcome_wins_and_all_run() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut seen = Vec::new();
        let r = for_each_vg(&names, |n| {
            seen.push(n.to_string());
            match n {
                "a" => Err(CmdError::usage("")),
                "b" => Err(CmdError::failed("")),
                _ => Ok(()),
            }
        });
        assert_eq!(seen, ["a", "b", "c"]);
        assert_eq!(r.unwrap_err().exit_code(), 5);
    }
}
