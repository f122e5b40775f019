//! Progress on stderr: a live line with a timer on a terminal (builds take minutes), plain
//! log lines otherwise (CI logs, pipes).

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct Progress {
    terminal: bool,
    step: usize,
    total: usize,
    label: String,
    started: Instant,
    last_draw: Instant,
    width: usize,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .filter(|&w: &usize| w >= 40)
            .unwrap_or(100);
        Self {
            terminal: std::io::stderr().is_terminal(),
            step: 0,
            total,
            label: String::new(),
            started: Instant::now(),
            last_draw: Instant::now(),
            width,
        }
    }

    /// Plans `n` more steps (a step whose need showed only on the way).
    pub fn add_steps(&mut self, n: usize) {
        self.total += n;
    }

    fn prefix(&self) -> String {
        format!(
            "[{}/{}] {}",
            self.step,
            self.total.max(self.step),
            self.label
        )
    }

    /// Starts the next step.
    pub fn begin(&mut self, label: impl Into<String>) {
        self.step += 1;
        self.label = label.into();
        self.started = Instant::now();
        self.last_draw = Instant::now()
            .checked_sub(REDRAW_EVERY)
            .unwrap_or_else(Instant::now);
        if self.terminal {
            self.tick("");
        } else {
            eprintln!("dockopt verify: {} ...", self.prefix());
        }
    }

    /// Redraws the live line with the time so far and `detail` (e.g. the build's last log
    /// line); does nothing off a terminal.
    pub fn tick(&mut self, detail: &str) {
        if !self.terminal || self.last_draw.elapsed() < REDRAW_EVERY {
            return;
        }
        self.last_draw = Instant::now();
        let mut line = format!(
            "{} {:.0}s",
            self.prefix(),
            self.started.elapsed().as_secs_f64()
        );
        // A build's output may carry escapes or carriage returns of its own.
        let detail: String = detail.trim().chars().filter(|c| !c.is_control()).collect();
        if !detail.is_empty() {
            line.push_str("  ");
            line.push_str(&detail);
        }
        let line: String = line.chars().take(self.width.saturating_sub(1)).collect();
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
    }

    /// Ends the current step with a result (`ok`, `failed`), and its duration.
    pub fn end(&mut self, result: &str) {
        let seconds = self.started.elapsed().as_secs_f64();
        let line = format!("{}: {result} ({seconds:.1} s)", self.prefix());
        if self.terminal {
            let _ = writeln!(std::io::stderr(), "\r\x1b[2K{line}");
        } else {
            eprintln!("dockopt verify: {line}");
        }
    }
}
