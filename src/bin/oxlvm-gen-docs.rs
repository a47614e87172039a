//! Writes the man pages and shell completions generated from the command definitions into a
//! directory (`scripts/gen-man` passes `man`). Not installed; a build-time tool.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "man".to_string()));
    for file in oxlvm::cli::docs::generate() {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                eprintln!("  Cannot create {}: {e}", parent.display());
                std::process::exit(5);
            }
        }
        if let Err(e) = std::fs::write(&path, file.text) {
            eprintln!("  Cannot write {}: {e}", path.display());
            std::process::exit(5);
        }
    }
}
