//! Man pages and shell completions generated from the commands' own clap definitions, so the
//! documented options are exactly the parsed ones. `scripts/gen-man` writes them to `man/`
//! (`man/*.8`, `man/completions/`); `tests/cli_docs.rs` fails when the committed copies are
//! stale. The roff and completion scripts are written here (a page layout like LVM2's: NAME,
//! SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, ENVIRONMENT, SEE ALSO).

use super::{describe, CommandSpec, COMMANDS};
use clap::{Arg, ArgAction, Command};

/// Names that run the whole suite rather than one command.
const SUITE: [&str; 2] = ["oxlvm", "lvm"];

/// Every built command with its clap definition, in table order (the suite names excluded).
pub fn commands() -> Vec<(&'static CommandSpec, Command)> {
    COMMANDS
        .iter()
        .filter(|s| !SUITE.contains(&s.name))
        .filter_map(|s| describe(s).map(|c| (s, c)))
        .collect()
}

/// One generated file: its path under `man/` and its bytes.
pub struct GeneratedFile {
    pub path: String,
    pub text: String,
}

/// Every file `scripts/gen-man` writes: one page per command, `oxlvm.8`, and the bash and zsh
/// completions.
pub fn generate() -> Vec<GeneratedFile> {
    let cmds = commands();
    let mut out: Vec<GeneratedFile> = cmds
        .iter()
        .map(|(spec, cmd)| GeneratedFile {
            path: format!("{}.8", spec.name),
            text: man_page(spec, cmd),
        })
        .collect();
    out.push(GeneratedFile {
        path: "oxlvm.8".to_string(),
        text: suite_page(&cmds),
    });
    out.push(GeneratedFile {
        path: "completions/oxlvm.bash".to_string(),
        text: bash_completion(&cmds),
    });
    out.push(GeneratedFile {
        path: "completions/_oxlvm".to_string(),
        text: zsh_completion(&cmds),
    });
    out
}

// ---------------------------------------------------------------------------------------------
// roff

/// Text safe inside roff: backslashes, leading dots/quotes and hyphens escaped.
fn roff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        if !out.is_empty() {
            out.push('\n');
        }
        if line.starts_with('.') || line.starts_with('\'') {
            out.push_str("\\&");
        }
        for c in line.chars() {
            match c {
                '\\' => out.push_str("\\e"),
                '-' => out.push_str("\\-"),
                _ => out.push(c),
            }
        }
    }
    out
}

fn visible_args(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_id() != "help")
}

fn takes_value(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
}

fn value_name(a: &Arg) -> String {
    a.get_value_names()
        .and_then(|v| v.first())
        .map(|s| s.to_string())
        .unwrap_or_else(|| a.get_id().to_string().to_uppercase())
}

fn help_of(a: &Arg) -> String {
    let mut h = a
        .get_long_help()
        .or_else(|| a.get_help())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let values: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() && takes_value(a) {
        if !h.is_empty() && !h.ends_with('.') {
            h.push('.');
        }
        h.push_str(&format!(" Values: {}.", values.join(", ")));
    }
    h.trim().to_string()
}

/// `\fB-o\fR|\fB--options\fR \fIFIELDS\fR`
fn option_label(a: &Arg) -> String {
    let mut names = Vec::new();
    if let Some(s) = a.get_short() {
        names.push(format!("\\fB\\-{}\\fR", roff(&s.to_string())));
    }
    if let Some(l) = a.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", roff(l)));
    }
    let mut label = names.join("|");
    if takes_value(a) {
        label.push_str(&format!(" \\fI{}\\fR", roff(&value_name(a))));
    }
    label
}

fn synopsis(name: &str, cmd: &Command) -> String {
    let mut s = format!(".B {}\n", roff(name));
    let has_options = visible_args(cmd).any(|a| !a.is_positional());
    let mut words = Vec::new();
    if has_options {
        words.push("[ \\fIoption_args\\fR ]".to_string());
    }
    for a in visible_args(cmd).filter(|a| a.is_positional()) {
        let v = roff(&value_name(a));
        let many = matches!(a.get_action(), ArgAction::Append)
            || a.get_num_args().is_some_and(|n| n.max_values() > 1);
        let word = if many {
            format!("\\fI{v}\\fR ...")
        } else {
            format!("\\fI{v}\\fR")
        };
        words.push(if a.is_required_set() {
            word
        } else {
            format!("[ {word} ]")
        });
    }
    s.push_str(&words.join("\n"));
    s.push('\n');
    s
}

/// One command's page, section 8.
pub fn man_page(spec: &CommandSpec, cmd: &Command) -> String {
    let name = spec.name;
    let mut p = String::new();
    p.push_str(&format!(
        ".TH {} 8 \"\" \"oxlvm\" \"System Manager's Manual\"\n",
        roff(&name.to_uppercase())
    ));
    p.push_str(&format!(
        ".SH NAME\n{} \\- {}\n",
        roff(name),
        roff(spec.summary)
    ));
    p.push_str(".SH SYNOPSIS\n");
    p.push_str(&synopsis(name, cmd));
    p.push_str(".SH DESCRIPTION\n");
    let about = cmd
        .get_long_about()
        .or_else(|| cmd.get_about())
        .map(|s| s.to_string())
        .unwrap_or_else(|| spec.summary.to_string());
    p.push_str(&format!(
        "{}.\n.P\n\\fB{}\\fR accepts the options of LVM2's {}; both tools work on the \
         same volume groups, so scripts can call either. It may also be run as \
         \\fBoxlvm {}\\fR or \\fBlvm {}\\fR.\n",
        roff(about.trim_end_matches('.')),
        roff(name),
        roff(name),
        roff(name),
        roff(name)
    ));
    let positional: Vec<&Arg> = visible_args(cmd).filter(|a| a.is_positional()).collect();
    let options: Vec<&Arg> = visible_args(cmd).filter(|a| !a.is_positional()).collect();
    if !options.is_empty() {
        p.push_str(".SH OPTIONS\n");
        let mut sorted = options.clone();
        sorted.sort_by_key(|a| {
            a.get_long()
                .map(str::to_string)
                .or_else(|| a.get_short().map(|c| c.to_string()))
                .unwrap_or_default()
        });
        for a in sorted {
            p.push_str(&format!(
                ".TP\n{}\n{}\n",
                option_label(a),
                roff(&help_of(a))
            ));
        }
        p.push_str(".TP\n\\fB\\-h\\fR|\\fB\\-\\-help\\fR\nShow the options of this command.\n");
    }
    if !positional.is_empty() {
        p.push_str(".SH ARGUMENTS\n");
        for a in positional {
            p.push_str(&format!(
                ".TP\n\\fI{}\\fR\n{}\n",
                roff(&value_name(a)),
                roff(&help_of(a))
            ));
        }
    }
    p.push_str(COMMON_SECTIONS);
    p
}

/// The sections every page shares: exit codes, environment, related pages.
const COMMON_SECTIONS: &str = ".SH EXIT STATUS\n\
.TP\n0\nThe command succeeded.\n\
.TP\n3\nThe command line is invalid (unknown option, bad value, missing argument).\n\
.TP\n5\nThe command failed, including when a named PV, VG or LV is not found.\n\
.SH ENVIRONMENT\n\
.TP\n\\fBLVM_SYSTEM_DIR\\fR\nThe directory holding lvm.conf (default /etc/lvm).\n\
.TP\n\\fBLVM_VG_NAME\\fR\nThe VG of an LV named without one.\n\
.TP\n\\fBLVM_SUPPRESS_FD_WARNINGS\\fR\nAccepted for LVM2 compatibility. oxlvm never warns \
about file descriptors inherited from its caller, so the variable changes nothing.\n\
.SH PROMPTS\n\
Questions (\\fB[y/n]\\fR) are asked only when standard input is a terminal. Without one, a \
command that would ask fails and names \\fB\\-y\\fR; \\fB\\-y\\fR answers yes, \\fB\\-qq\\fR \
answers no.\n\
.SH SEE ALSO\n\
.BR oxlvm (8),\n\
.BR lvm (8),\n\
.BR lvm.conf (5)\n";

/// `oxlvm.8`: the suite and its commands.
fn suite_page(cmds: &[(&CommandSpec, Command)]) -> String {
    let mut p = String::from(".TH OXLVM 8 \"\" \"oxlvm\" \"System Manager's Manual\"\n");
    p.push_str(".SH NAME\noxlvm \\- volume manager compatible with LVM2\n");
    p.push_str(".SH SYNOPSIS\n.B oxlvm\n\\fICOMMAND\\fR [ \\fIargs\\fR ]\n.br\n.B lvm\n\\fICOMMAND\\fR [ \\fIargs\\fR ]\n.br\n\\fICOMMAND\\fR [ \\fIargs\\fR ]\n");
    p.push_str(
        ".SH DESCRIPTION\noxlvm is one binary that acts as each LVM2 command: run as \
         \\fBoxlvm COMMAND\\fR, \\fBlvm COMMAND\\fR, or through a link named after the \
         command (\\fBpvs\\fR, \\fBlvcreate\\fR, ...). Volume groups it writes are read by \
         LVM2 and the reverse. \\fBoxlvm help COMMAND\\fR shows a command's options.\n",
    );
    p.push_str(".SH COMMANDS\n");
    for (spec, _) in cmds {
        p.push_str(&format!(
            ".TP\n.BR {} (8)\n{}\n",
            roff(spec.name),
            roff(spec.summary)
        ));
    }
    let planned: Vec<&str> = COMMANDS
        .iter()
        .filter(|s| !s.built)
        .map(|s| s.name)
        .collect();
    if !planned.is_empty() {
        p.push_str(&format!(
            ".P\nThese LVM2 command names are recognised but not built yet (they exit with \
             status 3 saying so): {}.\n",
            roff(&planned.join(", "))
        ));
    }
    p.push_str(COMMON_SECTIONS);
    p
}

// ---------------------------------------------------------------------------------------------
// Completions

fn option_words(cmd: &Command) -> Vec<String> {
    let mut words = Vec::new();
    for a in visible_args(cmd).filter(|a| !a.is_positional()) {
        if let Some(l) = a.get_long() {
            words.push(format!("--{l}"));
        }
        if let Some(s) = a.get_short() {
            words.push(format!("-{s}"));
        }
    }
    words.push("--help".to_string());
    words
}

/// Options whose values are a fixed list: (`-a|--activate`, `y n ...`).
fn value_choices(cmd: &Command) -> Vec<(Vec<String>, Vec<String>)> {
    visible_args(cmd)
        .filter(|a| !a.is_positional() && takes_value(a))
        .filter_map(|a| {
            let values: Vec<String> = a
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            if values.is_empty() {
                return None;
            }
            let mut names = Vec::new();
            if let Some(l) = a.get_long() {
                names.push(format!("--{l}"));
            }
            if let Some(s) = a.get_short() {
                names.push(format!("-{s}"));
            }
            Some((names, values))
        })
        .collect()
}

/// One bash file for `oxlvm`, `lvm` and every command name (as LVM2's names, so `pvs <TAB>`
/// completes too).
pub fn bash_completion(cmds: &[(&CommandSpec, Command)]) -> String {
    let names: Vec<&str> = cmds.iter().map(|(s, _)| s.name).collect();
    let mut s = String::from(
        "# bash completion for oxlvm and the LVM2 command names it answers to.\n\
         # Generated by scripts/gen-man from the command definitions; do not edit.\n\n\
         _oxlvm_options() {\n    case \"$1\" in\n",
    );
    for (spec, cmd) in cmds {
        s.push_str(&format!(
            "    {}) echo \"{}\" ;;\n",
            spec.name,
            option_words(cmd).join(" ")
        ));
    }
    s.push_str("    esac\n}\n\n_oxlvm_values() {\n    case \"$1 $2\" in\n");
    for (spec, cmd) in cmds {
        for (opts, values) in value_choices(cmd) {
            let pats: Vec<String> = opts
                .iter()
                .map(|o| format!("\"{} {o}\"", spec.name))
                .collect();
            s.push_str(&format!(
                "    {}) echo \"{}\" ;;\n",
                pats.join("|"),
                values.join(" ")
            ));
        }
    }
    s.push_str(&format!(
        "    *) return 1 ;;\n    esac\n}}\n\n_oxlvm() {{\n    \
         local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}\n    \
         local cmd=${{COMP_WORDS[0]##*/}}\n    \
         if [[ $cmd == oxlvm || $cmd == lvm ]]; then\n        \
         if (( COMP_CWORD == 1 )); then\n            \
         COMPREPLY=($(compgen -W \"{} help\" -- \"$cur\"))\n            \
         return\n        fi\n        cmd=${{COMP_WORDS[1]}}\n    fi\n    \
         local values\n    \
         if values=$(_oxlvm_values \"$cmd\" \"$prev\"); then\n        \
         COMPREPLY=($(compgen -W \"$values\" -- \"$cur\"))\n        return\n    fi\n    \
         if [[ $cur == -* ]]; then\n        \
         COMPREPLY=($(compgen -W \"$(_oxlvm_options \"$cmd\")\" -- \"$cur\"))\n        \
         return\n    fi\n    \
         COMPREPLY=($(compgen -f -- \"$cur\"))\n}}\n\n",
        names.join(" ")
    ));
    s.push_str(&format!(
        "complete -F _oxlvm -o filenames oxlvm lvm {}\n",
        names.join(" ")
    ));
    s
}

/// zsh: `_arguments` text safe inside single quotes.
fn zsh_text(t: &str) -> String {
    t.replace('\'', "'\\''")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace(':', "\\:")
        .replace('\n', " ")
}

/// One zsh function file (`#compdef` for every name).
pub fn zsh_completion(cmds: &[(&CommandSpec, Command)]) -> String {
    let names: Vec<&str> = cmds.iter().map(|(s, _)| s.name).collect();
    let mut s = format!(
        "#compdef oxlvm lvm {}\n# zsh completion for oxlvm and the LVM2 command names it answers to.\n\
         # Generated by scripts/gen-man from the command definitions; do not edit.\n\n\
         _oxlvm_command() {{\n    case $1 in\n",
        names.join(" ")
    );
    for (spec, cmd) in cmds {
        s.push_str(&format!("    {})\n        _arguments -s \\\n", spec.name));
        for a in visible_args(cmd).filter(|a| !a.is_positional()) {
            let help = zsh_text(help_of(a).lines().next().unwrap_or(""));
            let mut value = String::new();
            if takes_value(a) {
                let choices: Vec<String> = a
                    .get_possible_values()
                    .iter()
                    .filter(|v| !v.is_hide_set())
                    .map(|v| v.get_name().to_string())
                    .collect();
                let vn = zsh_text(&value_name(a));
                value = if choices.is_empty() {
                    format!(":{vn}: ")
                } else {
                    format!(":{vn}:({})", choices.join(" "))
                };
            }
            if let Some(l) = a.get_long() {
                let eq = if takes_value(a) { "=" } else { "" };
                s.push_str(&format!("            '*--{l}{eq}[{help}]{value}' \\\n"));
            }
            if let Some(c) = a.get_short() {
                let plus = if takes_value(a) { "+" } else { "" };
                s.push_str(&format!("            '*-{c}{plus}[{help}]{value}' \\\n"));
            }
        }
        s.push_str("            '*:argument:_files'\n        ;;\n");
    }
    s.push_str("    esac\n}\n\n_oxlvm() {\n    local -a cmds\n    cmds=(\n");
    for (spec, _) in cmds {
        s.push_str(&format!(
            "        '{}:{}'\n",
            spec.name,
            zsh_text(spec.summary)
        ));
    }
    s.push_str(
        "    )\n    if [[ $service == oxlvm || $service == lvm ]]; then\n        \
         if (( CURRENT == 2 )); then\n            _describe 'command' cmds\n            return\n        \
         fi\n        shift words\n        (( CURRENT-- ))\n        _oxlvm_command ${words[1]}\n    \
         else\n        _oxlvm_command $service\n    fi\n}\n\n_oxlvm \"$@\"\n",
    );
    s
}
