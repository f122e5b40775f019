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
    pub scenarios_nth: usize,
    pub scenarios_capped: usize,
    pub programs_capped: usize,
    pub scenarios_racy: usize,
    pub calls_unmatched: usize,
    pub calls_added_not_failed: usize,
    /// Changed stages that run a non-POSIX shell (Windows base, SHELL), one line each.
    pub non_posix_changed: Vec<String>,
    pub cache_cleanups_allowed: usize,
    pub stages_traced: usize,
    /// Stage pairs where a shell wrote files (so files were compared).
    pub stages_with_files: usize,
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
            scenarios_nth: 0,
            scenarios_capped: 0,
            programs_capped: 0,
            scenarios_racy: 0,
            calls_unmatched: 0,
            calls_added_not_failed: 0,
            non_posix_changed: Vec::new(),
            cache_cleanups_allowed: 0,
            stages_traced: 0,
            stages_with_files: 0,
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
        self.scenarios_nth += s.scenarios_nth;
        self.scenarios_capped += s.scenarios_capped;
        self.programs_capped += s.programs_capped;
        self.scenarios_racy += s.scenarios_racy;
        self.calls_unmatched += s.calls_unmatched;
        self.calls_added_not_failed += s.calls_added_not_failed;
        self.non_posix_changed.extend(
            s.non_posix_changed
                .iter()
                .map(|why| format!("{}: {why}", verdict.file)),
        );
        self.cache_cleanups_allowed += s.cache_cleanups_allowed;
        self.stages_traced += s.stages_traced;
        self.stages_with_files += s.stages_with_files;
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
            "\n    stage pairs: {} replayed ({} where a shell wrote files), {} unchanged (not replayed)",
            self.stages_traced, self.stages_with_files, self.stages_unchanged
        );
        for (why, n) in &self.stages_skipped {
            let _ = write!(out, "\n    changed stages not replayed {n}: {why}");
        }
        let _ = write!(
            out,
            "\n    failure scenarios: {} run ({} of them fail a single call), {} over the cap \
             ({} programs past it), {} stage replays not compared (background jobs)",
            self.scenarios_run,
            self.scenarios_nth,
            self.scenarios_capped,
            self.programs_capped,
            self.scenarios_racy
        );
        if self.calls_unmatched + self.calls_added_not_failed > 0 {
            let _ = write!(
                out,
                "\n    never made to fail alone: {} calls of the original without a counterpart \
                 (cleanups under a cache mount), {} calls only the fixed file makes",
                self.calls_unmatched, self.calls_added_not_failed
            );
        }
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
