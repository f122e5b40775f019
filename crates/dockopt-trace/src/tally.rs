//! Figures over many verdicts of one mode, for the corpus suites and the before/after tool.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::compare::{Change, Report};
use crate::oracle::{Judgement, Mode, Verdict};

/// Counts over the verdicts of one mode.
#[derive(Clone, Debug)]
pub struct Tally {
    pub mode: Mode,
    pub traced: usize,
    pub identical: usize,
    pub different: Vec<Verdict>,
    pub failed: Vec<Verdict>,
    /// Skipped files by reason (the reason's first words).
    pub skipped: BTreeMap<String, usize>,
    /// Report mode: files with at least one difference, and the merged counts.
    pub reported: usize,
    pub report: Report,
    pub scenarios_run: usize,
    pub scenarios_capped: usize,
    pub scenarios_skipped: usize,
    pub cache_cleanups_allowed: usize,
    pub stages_traced: usize,
    pub stages_unchanged: usize,
    /// Stages not replayed, by reason.
    pub stages_skipped: BTreeMap<String, usize>,
    pub replays: usize,
    pub cache_hits: usize,
    /// Sum of the comparisons' times (across threads).
    pub busy: Duration,
}

/// The reason's kind, without the details that make every reason unique.
fn reason_kind(why: &str) -> String {
    let mut why = why.trim_start_matches("original: ");
    for prefix in ["stage ", "line "] {
        if let Some(rest) = why.strip_prefix(prefix) {
            why = rest.split_once(": ").map_or(rest, |(_, r)| r);
        }
    }
    let kinds = [
        ("Windows base image", "Windows base image"),
        ("is not a POSIX shell", "non-POSIX SHELL"),
        ("BuildKit rejects", "rejected by BuildKit's parser"),
        (
            "substitution",
            "an ARG, ENV or WORKDIR value the oracle cannot expand",
        ),
        (
            "is required",
            "an ARG, ENV or WORKDIR value the oracle cannot expand",
        ),
        (
            "unterminated",
            "an ARG, ENV or WORKDIR value the oracle cannot expand",
        ),
        (
            "missing '",
            "an ARG, ENV or WORKDIR value the oracle cannot expand",
        ),
        ("NUL", "binary"),
        ("background jobs", "background jobs wrote at the same time"),
    ];
    for (needle, kind) in kinds {
        if why.contains(needle) {
            return kind.into();
        }
    }
    why.chars().take(60).collect()
}

impl Tally {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            traced: 0,
            identical: 0,
            different: Vec::new(),
            failed: Vec::new(),
            skipped: BTreeMap::new(),
            reported: 0,
            report: Report::default(),
            scenarios_run: 0,
            scenarios_capped: 0,
            scenarios_skipped: 0,
            cache_cleanups_allowed: 0,
            stages_traced: 0,
            stages_unchanged: 0,
            stages_skipped: BTreeMap::new(),
            replays: 0,
            cache_hits: 0,
            busy: Duration::ZERO,
        }
    }

    pub fn add(&mut self, verdict: &Verdict) {
        self.traced += 1;
        match &verdict.judgement {
            Judgement::Identical => self.identical += 1,
            Judgement::Different(_) => self.different.push(verdict.clone()),
            Judgement::Failed(_) => self.failed.push(verdict.clone()),
            Judgement::Skipped(why) => {
                *self.skipped.entry(reason_kind(why)).or_insert(0) += 1;
            }
            Judgement::Report(r) => {
                if !r.is_empty() {
                    self.reported += 1;
                }
                self.report.merge(r);
            }
        }
        let s = &verdict.stats;
        self.scenarios_run += s.scenarios_run;
        self.scenarios_capped += s.scenarios_capped;
        self.scenarios_skipped += s.scenarios_skipped;
        self.cache_cleanups_allowed += s.cache_cleanups_allowed;
        self.stages_traced += s.stages_traced;
        self.stages_unchanged += s.stages_unchanged;
        for why in &s.stages_skipped {
            *self.stages_skipped.entry(reason_kind(why)).or_insert(0) += 1;
        }
        self.replays += s.replays;
        self.cache_hits += s.cache_hits;
        self.busy += s.elapsed;
    }

    /// Several lines of figures.
    pub fn summary(&self) -> String {
        let mut out = format!("{}: {} files traced: ", self.mode.name(), self.traced);
        if self.mode == Mode::Report {
            let _ = write!(
                out,
                "{} with differences, {} without",
                self.reported,
                self.traced
                    .saturating_sub(self.reported)
                    .saturating_sub(self.skipped.values().sum::<usize>())
                    .saturating_sub(self.failed.len())
            );
        } else {
            let _ = write!(
                out,
                "{} identical, {} differences",
                self.identical,
                self.different.len()
            );
        }
        let skipped: usize = self.skipped.values().sum();
        let _ = write!(
            out,
            ", {skipped} skipped, {} oracle failures",
            self.failed.len()
        );
        for (why, n) in &self.skipped {
            let _ = write!(out, "\n    skipped {n}: {why}");
        }
        if self.mode == Mode::Report {
            let _ = write!(out, "\n    differences: {}", self.report);
            for (change, example) in &self.report.examples {
                let _ = write!(out, "\n      e.g. {}: {example}", change.name());
            }
            for change in [
                Change::Dropped,
                Change::Added,
                Change::ArgsChanged,
                Change::Moved,
            ] {
                let top = self.report.top_programs(change, 8);
                if !top.is_empty() {
                    let list: Vec<String> = top.iter().map(|(p, n)| format!("{p} {n}")).collect();
                    let _ = write!(
                        out,
                        "\n      {} by program: {}",
                        change.name(),
                        list.join(", ")
                    );
                }
            }
        }
        let _ = write!(
            out,
            "\n    stage pairs: {} replayed, {} unchanged (not replayed)",
            self.stages_traced, self.stages_unchanged
        );
        for (why, n) in &self.stages_skipped {
            let _ = write!(out, "\n    changed stages not replayed {n}: {why}");
        }
        let _ = write!(
            out,
            "\n    failure scenarios: {} run, {} over the cap, {} not compared (call counts differ)",
            self.scenarios_run, self.scenarios_capped, self.scenarios_skipped
        );
        if self.cache_cleanups_allowed > 0 {
            let _ = write!(
                out,
                "\n    cleanups or cache flags dropped under a cache mount (accepted): {}",
                self.cache_cleanups_allowed
            );
        }
        let _ = write!(
            out,
            "\n    sandbox runs: {} (+{} from the cache); busy {:.1} s",
            self.replays,
            self.cache_hits,
            self.busy.as_secs_f64()
        );
        out
    }
}
