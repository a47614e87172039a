//! LVM2's naming rules for VGs and LVs, as pure checks that return the one-line message a user
//! gets (naming the problem and the fix).

/// Longest VG or LV name LVM2 accepts.
pub const MAX_NAME_LEN: usize = 127;

/// Substrings LVM2 keeps for the hidden sub-LVs it creates.
const RESERVED_LV_SUBSTRINGS: &[&str] = &[
    "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_wcorig", "_mimage", "_mlog", "_rimage",
    "_rmeta", "_tdata", "_tmeta", "_vdata", "_imeta", "_iorig", "_pmspare", "_vorigin",
];
/// Prefixes LVM2 keeps for the internal LVs of pvmove and COW snapshots.
const RESERVED_LV_PREFIXES: &[&str] = &["pvmove", "snapshot"];

/// The rules shared by VG and LV names. `what` is "volume group" or "logical volume".
fn check_name(name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("A {what} name cannot be empty; give a name."));
    }
    if name.starts_with('-') {
        return Err(format!(
            "{what} name \"{name}\" is invalid: a name may not start with '-'; choose another name."
        ));
    }
    if name == "." || name == ".." {
        return Err(format!(
            "{what} name \"{name}\" is invalid: \".\" and \"..\" are reserved; choose another name."
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
    {
        return Err(format!(
            "{what} name \"{}\" is invalid: character {:?} is not allowed (use a-z A-Z 0-9 + _ . -).",
            name.escape_debug(),
            bad
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "{what} name is too long ({} characters, at most {MAX_NAME_LEN}); choose a shorter name.",
            name.len()
        ));
    }
    Ok(())
}

pub fn check_vg_name(name: &str) -> Result<(), String> {
    check_name(name, "Volume group")
}

/// A name for a new, visible LV: the general rules plus LVM2's reserved prefixes/substrings.
pub fn check_new_lv_name(name: &str) -> Result<(), String> {
    check_name(name, "Logical volume")?;
    if let Some(p) = RESERVED_LV_PREFIXES.iter().find(|p| name.starts_with(**p)) {
        return Err(format!(
            "Names starting \"{p}\" are reserved. Please choose a different LV name."
        ));
    }
    if let Some(s) = RESERVED_LV_SUBSTRINGS.iter().find(|s| name.contains(**s)) {
        return Err(format!(
            "Names including \"{s}\" are reserved. Please choose a different LV name."
        ));
    }
    Ok(())
}

/// The device-mapper name LVM2 gives `vg/lv`: `-` inside either part doubled, joined by `-`.
pub fn dm_name(vg: &str, lv: &str) -> String {
    format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lvm2_charset() {
        for ok in ["vg0", "my-vg", "a.b_c+d", "A", &"x".repeat(127)] {
            assert!(check_vg_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_vg_names() {
        for bad in ["", "-vg", ".", "..", "vg/0", "vg 0", "vé", &"x".repeat(128)] {
            let err = check_vg_name(bad).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
        }
        // ".x" and "..x" are ordinary names.
        assert!(check_vg_name(".x").is_ok());
        assert!(check_vg_name("...").is_ok());
    }

    #[test]
    fn reserved_lv_names() {
        assert!(check_new_lv_name("snapshot1")
            .unwrap_err()
            .contains("snapshot"));
        assert!(check_new_lv_name("pvmove0").is_err());
        assert!(check_new_lv_name("data_tmeta")
            .unwrap_err()
            .contains("_tmeta"));
        assert!(check_new_lv_name("x_rimage_0").is_err());
        assert!(check_new_lv_name("lvol0_pmspare").is_err());
        assert!(check_new_lv_name("mysnapshot").is_ok());
        assert!(check_new_lv_name("thin_pool").is_ok());
    }

    #[test]
    fn dm_names_double_hyphens() {
        assert_eq!(dm_name("vgdemo", "linear"), "vgdemo-linear");
        assert_eq!(dm_name("my-vg", "my-lv"), "my--vg-my--lv");
    }
}
