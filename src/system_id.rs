//! lvmsystemid(7), the simple case: a host's system ID comes from `global/system_id_source`
//! (none, lvmlocal, uname, machineid, file); a VG whose `system_id` is another host's is
//! foreign - visible, but refused for changes and activation. Pure except for reading the
//! machine-id or system ID file.

use crate::config::Config;

/// LVM2's NAME_LEN: longer IDs are cut.
const MAX_LEN: usize = 127;

/// This host's system ID as LVM2 works it out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalSystemId {
    pub id: Option<String>,
    /// The source was set but gave nothing: VGs with a system ID are then inaccessible.
    pub unknown: bool,
    /// What LVM2 warns about while working it out.
    pub warnings: Vec<String>,
}

/// LVM2's `system_id_from_string`: leading non-alphanumerics dropped, only `[A-Za-z0-9._+-]`
/// kept, at most 127 characters, and never starting with "localhost".
pub fn from_string(text: &str, warnings: &mut Vec<String>) -> Option<String> {
    if text.is_empty() {
        warnings.push("WARNING: Empty system ID supplied.".into());
        return Some(String::new());
    }
    let id: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        .take(MAX_LEN)
        .collect();
    if id.is_empty() {
        warnings.push(format!("WARNING: Invalid system ID format: {text}"));
        return None;
    }
    if id.starts_with("localhost") {
        warnings
            .push("WARNING: system ID may not begin with the string \"localhost\".".to_string());
        return None;
    }
    Some(id)
}

/// The first line of `path` that is not blank or a comment, comments cut.
fn from_file(path: &str, warnings: &mut Vec<String>) -> Option<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!("WARNING: {path}: fopen failed: {e}"));
            return None;
        }
    };
    let line = text
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let line = line.split('#').next().unwrap_or("");
    from_string(line.trim_end_matches('\n'), warnings)
}

/// This host's system ID from `config` (`hostname` for the uname source).
pub fn local(config: &Config, hostname: &str) -> LocalSystemId {
    let mut out = LocalSystemId::default();
    let local_set = config
        .get_str("local/system_id")
        .is_some_and(|s| !s.is_empty());
    let source = config
        .get_str("global/system_id_source")
        .unwrap_or("none")
        .to_string();
    if local_set && source != "lvmlocal" {
        out.warnings.push(format!(
            "WARNING: local/system_id is set, so should global/system_id_source be \"lvmlocal\" not \"{source}\"?"
        ));
    }
    if source == "none" {
        return out;
    }
    let id = match source.to_ascii_lowercase().as_str() {
        "uname" => from_string(hostname, &mut out.warnings),
        "lvmlocal" => config
            .get_str("local/system_id")
            .and_then(|s| from_string(s, &mut out.warnings)),
        "machineid" | "machine-id" => {
            let etc = config.get_str("global/etc").unwrap_or("/etc");
            from_file(&format!("{etc}/machine-id"), &mut out.warnings)
        }
        "file" => match config.get_str("global/system_id_file") {
            Some(f) if !f.is_empty() => from_file(f, &mut out.warnings),
            _ => None,
        },
        _ => {
            out.warnings.push(format!(
                "WARNING: Unrecognised system_id_source \"{source}\"."
            ));
            None
        }
    };
    match id.filter(|i| !i.is_empty()) {
        Some(id) => out.id = Some(id),
        None => {
            out.warnings.push(format!(
                "WARNING: No system ID found from system_id_source {source}."
            ));
            out.unknown = true;
        }
    }
    out
}

/// LVM2's `is_system_id_allowed`: no system ID, this host's, or one of `local/extra_system_ids`.
pub fn is_allowed(config: &Config, local: &LocalSystemId, vg_system_id: Option<&str>) -> bool {
    let Some(vg_id) = vg_system_id.filter(|s| !s.is_empty()) else {
        return true;
    };
    let Some(mine) = &local.id else {
        return false;
    };
    mine == vg_id
        || config
            .get_str_list("local/extra_system_ids")
            .unwrap_or_default()
            .iter()
            .any(|e| !e.is_empty() && e == vg_id)
}

/// LVM2's refusal for a foreign VG (`_access_vg_systemid`).
pub fn access_error(vg_name: &str, vg_system_id: &str, local: &LocalSystemId) -> String {
    match (&local.id, local.unknown) {
        (Some(mine), false) => format!(
            "Cannot access VG {vg_name} with system ID {vg_system_id} with local system ID {mine}."
        ),
        _ => format!(
            "Cannot access VG {vg_name} with system ID {vg_system_id} with unknown local system ID."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_format::text::parse_config;

    /// A configuration from `--config` strings (they override whatever lvm.conf says).
    fn config(text: &str) -> Config {
        assert!(parse_config(text.as_bytes()).is_ok());
        Config::load(&[text.to_string()]).unwrap()
    }

    #[test]
    fn ids_are_cleaned_as_lvm2_cleans_them() {
        let mut w = Vec::new();
        assert_eq!(
            from_string("--host A.b_c+d-e!", &mut w).as_deref(),
            Some("hostA.b_c+d-e")
        );
        assert_eq!(from_string("localhost.x", &mut w), None);
        assert_eq!(from_string("!!!", &mut w), None);
        assert_eq!(from_string(&"x".repeat(200), &mut w).unwrap().len(), 127);
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn sources_and_access() {
        let none =
            config("global {\n system_id_source = \"none\"\n}\nlocal {\n system_id = \"\"\n}\n");
        let l = local(&none, "node1");
        assert_eq!(l, LocalSystemId::default());
        assert!(is_allowed(&none, &l, None));
        assert!(!is_allowed(&none, &l, Some("node1")));
        let uname = config("global {\n system_id_source = \"uname\"\n}\n");
        let l = local(&uname, "node1");
        assert_eq!(l.id.as_deref(), Some("node1"));
        assert!(is_allowed(&uname, &l, Some("node1")));
        assert!(!is_allowed(&uname, &l, Some("node2")));
        assert_eq!(
            access_error("vg", "node2", &l),
            "Cannot access VG vg with system ID node2 with local system ID node1."
        );
        let ll = config(
            "global {\n system_id_source = \"lvmlocal\"\n}\nlocal {\n system_id = \"hostA\"\n extra_system_ids = [ \"hostB\" ]\n}\n",
        );
        let l = local(&ll, "ignored");
        assert_eq!(l.id.as_deref(), Some("hostA"));
        assert!(is_allowed(&ll, &l, Some("hostB")));
        assert!(!is_allowed(&ll, &l, Some("hostC")));
        let bad = config(
            "global {\n system_id_source = \"file\"\n system_id_file = \"/nonexistent/x\"\n}\n",
        );
        let l = local(&bad, "n");
        assert!(l.unknown && l.id.is_none());
        assert_eq!(
            access_error("vg", "h", &l),
            "Cannot access VG vg with system ID h with unknown local system ID."
        );
    }
}
