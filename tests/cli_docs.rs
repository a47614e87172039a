//! Man pages and completions: generated from every built command's clap definition, committed
//! in man/ and kept current (this fails when a command's options change without
//! `scripts/gen-man`), and `oxlvm help CMD` shows the command's own options.

use std::path::Path;
use std::process::Command;

#[test]
fn every_built_command_has_a_definition_and_a_page() {
    let described: Vec<&str> = oxlvm::cli::docs::commands()
        .iter()
        .map(|(s, _)| s.name)
        .collect();
    for spec in oxlvm::cli::COMMANDS
        .iter()
        .filter(|s| s.built && !["oxlvm", "lvm"].contains(&s.name))
    {
        assert!(
            described.contains(&spec.name),
            "{}: its run function must call parse_args first",
            spec.name
        );
        let page = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("man")
            .join(format!("{}.8", spec.name));
        assert!(
            page.exists(),
            "no man page {}; run scripts/gen-man",
            page.display()
        );
    }
}

#[test]
fn committed_pages_and_completions_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut stale = Vec::new();
    for file in oxlvm::cli::docs::generate() {
        let on_disk = std::fs::read_to_string(root.join(&file.path)).unwrap_or_default();
        if on_disk != file.text {
            stale.push(file.path);
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing in man/ (run scripts/gen-man and commit): {stale:?}"
    );
}

#[test]
fn pages_carry_the_options_and_lvm2_names_complete() {
    let files = oxlvm::cli::docs::generate();
    let get = |p: &str| {
        files
            .iter()
            .find(|f| f.path == p)
            .map(|f| f.text.clone())
            .unwrap_or_default()
    };
    let lvs = get("lvs.8");
    assert!(lvs.starts_with(".TH LVS 8"));
    assert!(lvs.contains("\\fB\\-S\\fR|\\fB\\-\\-select\\fR \\fISTRING\\fR"));
    assert!(lvs.contains(".SH EXIT STATUS"));
    let bash = get("completions/oxlvm.bash");
    assert!(bash.contains("complete -F _oxlvm -o filenames oxlvm lvm "));
    for name in [
        "pvs", "vgs", "lvs", "lvcreate", "vgcreate", "pvcreate", "lvremove",
    ] {
        assert!(bash.contains(&format!(" {name}")), "bash lacks {name}");
        assert!(get("completions/_oxlvm")
            .lines()
            .next()
            .unwrap_or("")
            .contains(name));
    }
    assert!(bash.contains("\"lvs --reportformat\"") || bash.contains("lvs) echo"));
}

#[test]
fn bash_completion_script_parses() {
    let Ok(status) = Command::new("bash")
        .arg("-n")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/completions/oxlvm.bash"))
        .status()
    else {
        return; // no bash on this machine
    };
    assert!(status.success());
}

#[test]
fn help_cmd_shows_the_command_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(["help", "lvs"])
        .output()
        .expect("run oxlvm");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--select"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(["lvs", "--help"])
        .output()
        .expect("run oxlvm");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--select"));
}
