//! Compat tier: the list of LVM2's long options per command that oxlvm uses to tell "not built
//! yet" from a typo (src/cli/lvm2_options.rs) is the installed LVM2's own: each command's
//! `--longhelp` lists exactly these options.

use oxlvm::cli::lvm2_options::LVM2_OPTIONS;
use std::collections::BTreeSet;

#[test]
fn lvm2_option_list_matches_the_installed_lvm2() {
    for (cmd, listed) in LVM2_OPTIONS {
        let out = std::process::Command::new("lvm")
            .args([cmd, "--longhelp"])
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .output()
            .expect("run lvm");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut found = BTreeSet::new();
        for (i, _) in text.match_indices("--") {
            let before = text[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_') {
                continue;
            }
            let name: String = text[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                .collect();
            if name.starts_with(|c: char| c.is_ascii_lowercase()) && name.len() > 1 {
                found.insert(name);
            }
        }
        let listed: BTreeSet<String> = listed.iter().map(|s| s.to_string()).collect();
        assert_eq!(listed, found, "{cmd}: oxlvm's list, then LVM2's --longhelp");
    }
}
