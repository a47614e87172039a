//! Questions to the user, as LVM2's `yes_no_prompt`, with one rule LVM2 lacks: a question is
//! only asked on a terminal. Without one (scripts, CI, pipes) a command that would ask refuses
//! with a one-line message naming `-y`, instead of reading an answer nobody typed.
//! `-y` answers yes, `-qq` answers no (LVM2's silent mode), without reading anything.

use crate::error::{CmdError, CmdResult};
use std::io::{BufRead, IsTerminal, Write};

/// Who answers a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answerer {
    /// `-y`/`--yes` (or a command's own override such as `-f`).
    Yes,
    /// `-qq`: LVM2 answers no without asking.
    Silent,
    /// A person at the terminal on stdin.
    Terminal,
    /// Nobody: stdin is not a terminal.
    Nobody,
}

impl Answerer {
    /// Decides from the command's `-y` (or equivalent), its `-q` count and stdin.
    pub fn current(yes: bool, quiet: u8) -> Answerer {
        if yes {
            Answerer::Yes
        } else if quiet >= 2 {
            Answerer::Silent
        } else if std::io::stdin().is_terminal() {
            Answerer::Terminal
        } else {
            Answerer::Nobody
        }
    }
}

/// Asks `question` (LVM2's wording, e.g. `Do you really want to remove ...?`) and returns the
/// answer. Without a terminal the command fails with `refusal`, which must name `-y`.
pub fn confirm(yes: bool, quiet: u8, question: &str, refusal: &str) -> CmdResult<bool> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut err = std::io::stderr();
    ask(
        Answerer::current(yes, quiet),
        question,
        refusal,
        &mut input,
        &mut err,
    )
}

/// [`confirm`] with the answerer, input and output given (tests drive it with buffers).
pub fn ask(
    who: Answerer,
    question: &str,
    refusal: &str,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> CmdResult<bool> {
    match who {
        Answerer::Yes => Ok(true),
        Answerer::Nobody => Err(CmdError::failed(refusal.to_string())),
        Answerer::Silent => {
            let _ = writeln!(out, "{question} [y/n]: [n]");
            Ok(false)
        }
        Answerer::Terminal => loop {
            let _ = write!(out, "{question} [y/n]: ");
            let _ = out.flush();
            let mut line = String::new();
            match input.read_line(&mut line) {
                // End of input before an answer: no, as LVM2.
                Ok(0) | Err(_) => {
                    let _ = writeln!(out, "[n]");
                    return Ok(false);
                }
                Ok(_) => {}
            }
            match parse_answer(&line) {
                Some(a) => return Ok(a),
                None => {
                    let shown: String = line.trim_end_matches('\n').chars().take(8).collect();
                    let _ = writeln!(out, "  WARNING: Invalid input '{shown}'.");
                }
            }
        },
    }
}

/// LVM2 accepts `yes`/`no` or any start of them, in any case, after optional blanks.
fn parse_answer(line: &str) -> Option<bool> {
    let word = line.trim().to_ascii_lowercase();
    if word.is_empty() {
        return None;
    }
    if "yes".starts_with(&word) {
        Some(true)
    } else if "no".starts_with(&word) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(who: Answerer, typed: &str) -> (CmdResult<bool>, String) {
        let mut input = std::io::Cursor::new(typed.as_bytes().to_vec());
        let mut out = Vec::new();
        let r = ask(
            who,
            "Do you really want to remove volume group \"vg0\" containing 2 logical volumes?",
            "Not removing vg0 without confirmation: no terminal to ask on; add -y.",
            &mut input,
            &mut out,
        );
        (r, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn answers() {
        assert_eq!(run(Answerer::Yes, "").0, Ok(true));
        let (r, out) = run(Answerer::Terminal, "y\n");
        assert_eq!(r, Ok(true));
        assert!(out.ends_with("containing 2 logical volumes? [y/n]: "));
        assert_eq!(run(Answerer::Terminal, "  YES\n").0, Ok(true));
        assert_eq!(run(Answerer::Terminal, "no\n").0, Ok(false));
        assert_eq!(run(Answerer::Terminal, "").0, Ok(false));
        let (r, out) = run(Answerer::Terminal, "maybe\ny\n");
        assert_eq!(r, Ok(true));
        assert!(out.contains("WARNING: Invalid input 'maybe'."));
        let (r, out) = run(Answerer::Silent, "y\n");
        assert_eq!(r, Ok(false));
        assert!(out.ends_with("[y/n]: [n]\n"));
    }

    #[test]
    fn nobody_to_ask_refuses_naming_y() {
        let (r, out) = run(Answerer::Nobody, "y\n");
        let e = r.unwrap_err();
        assert!(e.message().contains("-y"));
        assert_eq!(e.exit_code(), crate::error::EXIT_FAILED);
        assert!(out.is_empty(), "nothing is asked");
    }
}
