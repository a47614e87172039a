//! Progress of long work (pvmove, mirror/raid sync waits, image imports), shown as LVM2's
//! pvmove shows it: `  <what>: <percent>%`. On a terminal one line is rewritten in place (`\r`)
//! at most a few times a second; otherwise (logs, pipes) a plain line is printed every
//! interval (`-i`, LVM2's default 15 seconds), so logs stay short and readable.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// LVM2's default `-i/--interval` for pvmove and lvconvert progress.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

/// How often a terminal line is redrawn at most.
const TERMINAL_REDRAW: Duration = Duration::from_millis(200);

pub struct Progress {
    label: String,
    interval: Duration,
    terminal: bool,
    quiet: bool,
    last: Option<Instant>,
    last_text: String,
    out: Box<dyn Write>,
}

impl Progress {
    /// Progress on stdout for `label` (e.g. `/dev/sdb: Moved`). `interval` is `-i` in seconds
    /// (None: LVM2's default); `quiet` (`-q`) prints nothing.
    pub fn new(label: impl Into<String>, interval_secs: Option<u64>, quiet: bool) -> Progress {
        let terminal = std::io::stdout().is_terminal();
        Progress::with_output(
            label,
            interval_secs.map_or(DEFAULT_INTERVAL, Duration::from_secs),
            terminal,
            quiet,
            Box::new(std::io::stdout()),
        )
    }

    /// A reporter writing to `out`, as on a terminal or not (tests use buffers).
    pub fn with_output(
        label: impl Into<String>,
        interval: Duration,
        terminal: bool,
        quiet: bool,
        out: Box<dyn Write>,
    ) -> Progress {
        Progress {
            label: label.into(),
            interval,
            terminal,
            quiet,
            last: None,
            last_text: String::new(),
            out,
        }
    }

    /// Reports `done` of `total` units now.
    pub fn update(&mut self, done: u64, total: u64) {
        self.update_at(Instant::now(), done, total);
    }

    /// [`Progress::update`] at a given instant.
    pub fn update_at(&mut self, now: Instant, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        let every = if self.terminal {
            TERMINAL_REDRAW
        } else {
            self.interval
        };
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < every)
        {
            return;
        }
        self.last = Some(now);
        let text = self.text(done, total);
        if self.terminal {
            let _ = write!(self.out, "\r{text}");
        } else {
            let _ = writeln!(self.out, "{text}");
        }
        let _ = self.out.flush();
        self.last_text = text;
    }

    /// The last report, always printed (100% when the work is complete); ends the line on a
    /// terminal.
    pub fn finish(&mut self, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        let text = self.text(done, total);
        if self.terminal {
            let _ = writeln!(self.out, "\r{text}");
        } else if text != self.last_text {
            let _ = writeln!(self.out, "{text}");
        }
        let _ = self.out.flush();
        self.last_text = text;
    }

    fn text(&self, done: u64, total: u64) -> String {
        let pct = if total == 0 {
            100.0
        } else {
            (done.min(total) as f64) * 100.0 / total as f64
        };
        format!("  {}: {pct:.2}%", self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A shared buffer the test can read after handing a writer to the reporter.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().map(|v| v.clone()).unwrap_or_default())
                .into_owned()
        }
    }

    #[test]
    fn plain_lines_every_interval() {
        let buf = Buf::default();
        let mut p = Progress::with_output(
            "/dev/loop1: Moved",
            Duration::from_secs(15),
            false,
            false,
            Box::new(buf.clone()),
        );
        let t0 = Instant::now();
        p.update_at(t0, 0, 200);
        p.update_at(t0 + Duration::from_secs(5), 50, 200);
        p.update_at(t0 + Duration::from_secs(15), 100, 200);
        p.finish(200, 200);
        assert_eq!(
            buf.text(),
            "  /dev/loop1: Moved: 0.00%\n  /dev/loop1: Moved: 50.00%\n  /dev/loop1: Moved: 100.00%\n"
        );
    }

    #[test]
    fn terminal_redraws_one_line() {
        let buf = Buf::default();
        let mut p = Progress::with_output(
            "Importing",
            Duration::from_secs(15),
            true,
            false,
            Box::new(buf.clone()),
        );
        let t0 = Instant::now();
        p.update_at(t0, 1, 4);
        p.update_at(t0 + Duration::from_millis(10), 2, 4);
        p.update_at(t0 + Duration::from_secs(1), 3, 4);
        p.finish(4, 4);
        assert_eq!(
            buf.text(),
            "\r  Importing: 25.00%\r  Importing: 75.00%\r  Importing: 100.00%\n"
        );
    }

    #[test]
    fn quiet_prints_nothing() {
        let buf = Buf::default();
        let mut p = Progress::with_output("x", Duration::ZERO, false, true, Box::new(buf.clone()));
        p.update(1, 2);
        p.finish(2, 2);
        assert!(buf.text().is_empty());
    }
}
