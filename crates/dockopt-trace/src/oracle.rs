//! Comparing an original and a fixed Dockerfile: plan both, replay the stages that differ
//! (nominally, then with one program at a time made to fail, or one call of it), compare
//! in a [`Mode`].

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::compare::{Mismatch, Report, additive_counting, classify, exact};
use crate::plan::{FilePlan, StagePlan, plan};
use crate::sandbox::Replay;
use crate::sandbox::{Limits, Sandbox, SandboxError, Setup};
use crate::script::Fail;
use crate::trace::{Outcome, StageTrace};

/// How to compare (see [`crate::compare`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Same calls, output and outcome in every scenario (merge-runs alone).
    Exact,
    /// The original's calls embed in the fixed calls, same output and outcome (all Safe fixes).
    Additive,
    /// No verdict: the differences counted by kind (Unsafe fixes), nominal scenario only.
    Report,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Additive => "additive",
            Self::Report => "report",
        }
    }

    /// `exact`, `additive`, `report` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Exact, Self::Additive, Self::Report]
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }
}

/// Which programs fail in a replay.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Every stub succeeds.
    Nominal,
    /// This program (by name, whatever its path) fails on every call.
    Fails(String),
    /// One call of this program fails: its `original`th call (from 1, in the stage) on
    /// the original side and its counterpart, the `fixed`th, on the fixed side (Additive
    /// mode, when the fix changed how often the program is called).
    FailsCall {
        program: String,
        original: usize,
        fixed: usize,
    },
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nominal => f.write_str("nominal"),
            Self::Fails(p) => write!(f, "`{p}` fails"),
            Self::FailsCall {
                program,
                original,
                fixed,
            } => write!(
                f,
                "only call #{original} of `{program}` fails (its counterpart, call #{fixed}, in the fixed file)"
            ),
        }
    }
}

/// A difference found in Exact or Additive mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// 0-based stage index.
    pub stage: usize,
    /// Line of the stage's FROM in the original and in the fixed file.
    pub lines: (usize, usize),
    pub scenario: Scenario,
    pub mismatch: Mismatch,
}

/// The answer for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// Nothing differs in any scenario (or nothing that runs changed).
    Identical,
    Different(Difference),
    /// Report mode's classification.
    Report(Report),
    /// The original cannot be replayed (rejected, binary, too large, nothing replayable).
    Skipped(String),
    /// The sandbox failed: not a result about the file.
    Failed(String),
}

/// Counters for one comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Stage pairs replayed.
    pub stages_traced: usize,
    /// Stage pairs whose replay is identical by construction (nothing in them changed).
    pub stages_unchanged: usize,
    /// Stages that could not be replayed, with why.
    pub stages_skipped: Vec<String>,
    /// Failure scenarios compared (besides the nominal one), those that fail one call only
    /// included.
    pub scenarios_run: usize,
    /// Of `scenarios_run`: scenarios that fail one call of a program only (Additive mode,
    /// where a fix changed how often it is called).
    pub scenarios_nth: usize,
    /// Failure scenarios not run because of a cap (programs past `max_scenarios`, calls
    /// past `max_nth_calls`).
    pub scenarios_capped: usize,
    /// Programs past the `max_scenarios` cap.
    pub programs_capped: usize,
    /// Stages of a failure scenario not compared: background jobs wrote at the same time.
    pub scenarios_racy: usize,
    /// Additive mode: calls of the original with no counterpart in the fixed trace (a
    /// cleanup a cache mount made pointless), never made to fail alone.
    pub calls_unmatched: usize,
    /// Additive mode: calls only the fixed file makes (no call of the original embeds in
    /// them), in stages where the program's count changed, never made to fail: a fix may
    /// add calls, and whether such a call can fail is the fix's own business.
    pub calls_added_not_failed: usize,
    /// Stage pairs (nominal replays) where a shell wrote, changed or removed a file on at
    /// least one side: the file comparison had something to compare.
    pub stages_with_files: usize,
    /// Changed stages on a Windows base or with a non-POSIX SHELL (they run cmd or
    /// PowerShell; the oracle cannot replay them).
    pub non_posix_changed: Vec<String>,
    /// Additive mode: cleanups and cache flags of the original accepted as dropped because a
    /// cache mount holds what they empty (nominal scenario).
    pub cache_cleanups_allowed: usize,
    /// Sandbox runs, and replays answered from the cache.
    pub replays: usize,
    pub cache_hits: usize,
    /// Discovery rounds of the nominal scenario beyond the first.
    pub extra_rounds: usize,
    pub elapsed: Duration,
}

/// The oracle's answer for one file in one mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub file: String,
    pub mode: Mode,
    pub judgement: Judgement,
    pub stats: Stats,
}

impl Verdict {
    pub fn is_difference(&self) -> bool {
        matches!(self.judgement, Judgement::Different(_))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = self.mode.name();
        match &self.judgement {
            Judgement::Identical => write!(f, "{}: {mode}: identical", self.file),
            Judgement::Skipped(why) => write!(f, "{}: {mode}: skipped: {why}", self.file),
            Judgement::Failed(why) => write!(f, "{}: {mode}: ORACLE FAILED: {why}", self.file),
            Judgement::Report(r) => write!(f, "{}: {mode}: {r}", self.file),
            Judgement::Different(d) => write!(
                f,
                "{}: {mode}: stage {} (FROM at line {} / fixed line {}), scenario {}: {}",
                self.file, d.stage, d.lines.0, d.lines.1, d.scenario, d.mismatch
            ),
        }
    }
}

/// Settings of an [`Oracle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub limits: Limits,
    /// Programs made to fail per file at most.
    pub max_scenarios: usize,
    /// Additive mode: calls of one program in one stage made to fail one by one, at most.
    pub max_nth_calls: usize,
    /// Discovery rounds at most (each replays both sides again with what they missed).
    pub max_rounds: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            max_scenarios: 40,
            max_nth_calls: 8,
            max_rounds: 6,
        }
    }
}

/// The shell-trace oracle. Shareable across threads; replays are cached by what they run.
#[derive(Debug)]
pub struct Oracle {
    sandbox: Sandbox,
    config: Config,
    cache: Mutex<HashMap<u64, Arc<Replay>>>,
    /// The last setup used with each original text, so that the next mode starts there and
    /// finds the original's replays in the cache.
    seeds: Mutex<HashMap<u64, Setup>>,
}

fn hash_of(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Every stage of a file with its nominal replay (`None`: not replayed), as
/// [`Oracle::replay_file`] returns it.
pub type FileReplay = Vec<(StagePlan, Option<Arc<Replay>>)>;

/// The traces of the stages of both sides for one scenario, by stage index.
type Traces = BTreeMap<usize, (Arc<Replay>, Arc<Replay>)>;

impl Oracle {
    /// Starts an oracle; fails when bubblewrap or bash is missing or the sandbox does not
    /// start here.
    pub fn new(config: Config) -> Result<Self, SandboxError> {
        Ok(Self {
            sandbox: Sandbox::new(config.limits)?,
            config,
            cache: Mutex::new(HashMap::new()),
            seeds: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> Config {
        self.config
    }

    /// Replays `stage` (cached).
    fn replay(
        &self,
        stage: &StagePlan,
        setup: &Setup,
        fail: Option<&Fail>,
        stats: &mut Stats,
    ) -> Arc<Replay> {
        let key = hash_of(&(&stage.steps, setup, fail));
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            stats.cache_hits += 1;
            return hit;
        }
        stats.replays += 1;
        let replay = Arc::new(self.sandbox.run(stage, setup, fail));
        if !matches!(replay.trace.outcome, Outcome::Error(_))
            && let Ok(mut cache) = self.cache.lock()
        {
            cache.insert(key, replay.clone());
        }
        replay
    }

    /// Replays the stage pairs `stages` in one scenario, growing `setup` with what either
    /// side missed and replaying again until nothing is missing (or the round cap), so both
    /// sides always run on the same setup. `fail_for(side, stage)` says which calls fail on
    /// that side (`None`: none, and the nominal replay is reused).
    fn settle(
        &self,
        pairs: &[(usize, &StagePlan, &StagePlan)],
        setup: &mut Setup,
        fail_for: &dyn Fn(bool, usize) -> Option<Fail>,
        stats: &mut Stats,
    ) -> (Traces, usize) {
        let mut rounds = 0;
        loop {
            let mut traces = Traces::new();
            let mut missing = Setup::default();
            for &(i, o, f) in pairs {
                let ro = self.replay(o, setup, fail_for(false, i).as_ref(), stats);
                let rf = self.replay(f, setup, fail_for(true, i).as_ref(), stats);
                missing.absorb(&ro.missing);
                missing.absorb(&rf.missing);
                traces.insert(i, (ro, rf));
            }
            if setup.covers(&missing) || rounds + 1 >= self.config.max_rounds {
                return (traces, rounds);
            }
            setup.absorb(&missing);
            rounds += 1;
        }
    }

    /// Replays every stage of one text nominally (with discovery), for people who want to
    /// see what the oracle sees: each stage's plan and its replay (`None` when skipped).
    pub fn replay_file(&self, text: &str) -> Result<FileReplay, String> {
        let p = plan(text);
        if let Some(why) = p.rejected {
            return Err(why);
        }
        let mut stats = Stats::default();
        let pairs: Vec<(usize, &StagePlan, &StagePlan)> = p
            .stages
            .iter()
            .filter(|s| s.skip.is_none())
            .map(|s| (s.index, s, s))
            .collect();
        let mut setup = Setup::default();
        for stage in &p.stages {
            seed_functions(stage, &mut setup);
        }
        let (traces, _) = self.settle(&pairs, &mut setup, &|_, _| None, &mut stats);
        Ok(p.stages
            .iter()
            .map(|s| (s.clone(), traces.get(&s.index).map(|(a, _)| a.clone())))
            .collect())
    }

    /// Compares `original` and `fixed` (the texts of one Dockerfile before and after a fix)
    /// in `mode`. `file` names it in the verdict.
    pub fn compare(&self, file: &str, original: &str, fixed: &str, mode: Mode) -> Verdict {
        let started = Instant::now();
        let mut stats = Stats::default();
        let judgement = self.judge(original, fixed, mode, &mut stats);
        stats.elapsed = started.elapsed();
        Verdict {
            file: file.to_owned(),
            mode,
            judgement,
            stats,
        }
    }

    fn judge(&self, original: &str, fixed: &str, mode: Mode, stats: &mut Stats) -> Judgement {
        let po = plan(original);
        let pf = plan(fixed);
        if let Some(why) = &po.rejected {
            return Judgement::Skipped(format!("original: {why}"));
        }
        if let Some(why) = &pf.rejected {
            let what = format!("the fixed file cannot be built: {why}");
            return match mode {
                Mode::Report => {
                    let mut r = Report::default();
                    r.counts.insert(crate::compare::Change::OutcomeChanged, 1);
                    r.examples
                        .insert(crate::compare::Change::OutcomeChanged, what);
                    Judgement::Report(r)
                }
                _ => Judgement::Different(Difference {
                    stage: 0,
                    lines: (1, 1),
                    scenario: Scenario::Nominal,
                    mismatch: Mismatch {
                        what,
                        original: "builds".into(),
                        fixed: why.clone(),
                    },
                }),
            };
        }
        if mode != Mode::Report && po.stages.len() != pf.stages.len() {
            return Judgement::Different(Difference {
                stage: po.stages.len().min(pf.stages.len()),
                lines: (1, 1),
                scenario: Scenario::Nominal,
                mismatch: Mismatch {
                    what: "a different number of stages".into(),
                    original: format!("{} stage(s)", po.stages.len()),
                    fixed: format!("{} stage(s)", pf.stages.len()),
                },
            });
        }
        let pairs = traced_pairs(&po, &pf, stats);
        stats.stages_traced = pairs.len();
        let extra: Vec<(usize, &StagePlan, bool)> = if mode == Mode::Report {
            let n = po.stages.len().min(pf.stages.len());
            let more_o = po.stages[n..].iter().map(|s| (s.index, s, false));
            let more_f = pf.stages[n..].iter().map(|s| (s.index, s, true));
            more_o
                .chain(more_f)
                .filter(|(_, s, _)| s.skip.is_none())
                .collect()
        } else {
            Vec::new()
        };
        if pairs.is_empty() && extra.is_empty() {
            if mode == Mode::Report {
                let mut r = Report::default();
                if po.stages.len() != pf.stages.len() {
                    let change = if pf.stages.len() > po.stages.len() {
                        crate::compare::Change::StagesAdded
                    } else {
                        crate::compare::Change::StagesRemoved
                    };
                    r.counts
                        .insert(change, po.stages.len().abs_diff(pf.stages.len()));
                }
                return Judgement::Report(r);
            }
            // Nothing that runs changed, or what changed cannot be replayed.
            return match stats.stages_skipped.first() {
                Some(why) => {
                    Judgement::Skipped(format!("the changed stages cannot be replayed: {why}"))
                }
                None => Judgement::Identical,
            };
        }
        let seed_key = hash_of(&original);
        let mut setup = self
            .seeds
            .lock()
            .ok()
            .and_then(|s| s.get(&seed_key).cloned())
            .unwrap_or_default();
        for (_, o, f) in &pairs {
            seed_functions(o, &mut setup);
            seed_functions(f, &mut setup);
        }
        for (_, s, _) in &extra {
            seed_functions(s, &mut setup);
        }
        let (nominal, rounds) = self.settle(&pairs, &mut setup, &|_, _| None, stats);
        stats.extra_rounds = rounds;
        // Stages only one side has (Report mode) run on the same setup, nominally.
        let extra: Vec<(usize, Arc<Replay>, bool)> = extra
            .into_iter()
            .map(|(i, s, fixed)| (i, self.replay(s, &setup, None, stats), fixed))
            .collect();
        if let Ok(mut seeds) = self.seeds.lock() {
            seeds.insert(seed_key, setup.clone());
        }
        let failed = nominal
            .values()
            .flat_map(|(a, b)| [a, b])
            .chain(extra.iter().map(|(_, r, _)| r))
            .find_map(|r| match &r.trace.outcome {
                Outcome::Error(e) => Some(e.clone()),
                _ => None,
            });
        if let Some(e) = failed {
            return Judgement::Failed(e);
        }
        // Background jobs that wrote at the same time make the order of records a race:
        // such a stage is not compared.
        let nominal: Traces = nominal
            .into_iter()
            .filter(|(i, (a, b))| {
                let racy = a.trace.interleaved || b.trace.interleaved;
                if racy {
                    stats
                        .stages_skipped
                        .push(format!("stage {i}: background jobs wrote at the same time"));
                }
                !racy
            })
            .collect();
        let pairs: Vec<(usize, &StagePlan, &StagePlan)> = pairs
            .into_iter()
            .filter(|(i, _, _)| nominal.contains_key(i))
            .collect();
        stats.stages_with_files = nominal
            .values()
            .filter(|(a, b)| !a.trace.files.is_empty() || !b.trace.files.is_empty())
            .count();
        if mode == Mode::Report {
            let n = po.stages.len().max(pf.stages.len());
            let mut sides: Vec<(Option<&StageTrace>, Option<&StageTrace>)> = vec![(None, None); n];
            for (i, (a, b)) in &nominal {
                sides[*i] = (Some(&a.trace), Some(&b.trace));
            }
            for (i, r, fixed) in &extra {
                if *fixed {
                    sides[*i].1 = Some(&r.trace);
                } else {
                    sides[*i].0 = Some(&r.trace);
                }
            }
            let mut report = classify(&sides);
            // Stages that are not replayed still count as added or removed.
            for i in po.stages.len().min(pf.stages.len())..n {
                let one_sided = extra.iter().any(|(j, _, _)| *j == i);
                if !one_sided {
                    let change = if i < pf.stages.len() {
                        crate::compare::Change::StagesAdded
                    } else {
                        crate::compare::Change::StagesRemoved
                    };
                    *report.counts.entry(change).or_insert(0) += 1;
                }
            }
            return Judgement::Report(report);
        }
        let allowed = std::cell::Cell::new(0);
        let check = |o: &StageTrace, f: &StageTrace| {
            if mode == Mode::Exact {
                exact(o, f)
            } else {
                let mut n = 0;
                let r = additive_counting(o, f, &mut n);
                allowed.set(allowed.get() + n);
                r
            }
        };
        let lines = |i: usize| (po.stages[i].line, pf.stages[i].line);
        for (i, (a, b)) in &nominal {
            if let Some(mismatch) = check(&a.trace, &b.trace) {
                return Judgement::Different(Difference {
                    stage: *i,
                    lines: lines(*i),
                    scenario: Scenario::Nominal,
                    mismatch,
                });
            }
        }
        stats.cache_cleanups_allowed = allowed.get();
        let planned = self.plan_scenarios(mode, &nominal, stats);
        for scenario in planned {
            let (pairs_here, fail_for): (Vec<(usize, &StagePlan, &StagePlan)>, FailFor) =
                match &scenario {
                    Planned::Every { program, stages } => {
                        let program = program.clone();
                        let called = stages.clone();
                        (
                            pairs
                                .iter()
                                .copied()
                                .filter(|(i, _, _)| stages.iter().any(|(j, _)| j == i))
                                .collect(),
                            Box::new(move |side, i| {
                                called
                                    .iter()
                                    .find(|(j, _)| *j == i)
                                    .filter(|(_, sides)| sides[usize::from(side)])
                                    .map(|_| Fail::every(&program))
                            }),
                        )
                    }
                    Planned::Nth {
                        program,
                        stage,
                        original,
                        fixed,
                    } => {
                        let (program, k, j) = (program.clone(), *original, *fixed);
                        (
                            pairs
                                .iter()
                                .copied()
                                .filter(|(i, _, _)| i == stage)
                                .collect(),
                            Box::new(move |side, _| {
                                Some(Fail::nth(&program, if side { j } else { k }))
                            }),
                        )
                    }
                };
            let mut local = setup.clone();
            let (traces, _) = self.settle(&pairs_here, &mut local, &*fail_for, stats);
            stats.scenarios_run += 1;
            if matches!(scenario, Planned::Nth { .. }) {
                stats.scenarios_nth += 1;
            }
            for (i, (a, b)) in &traces {
                if a.trace.interleaved || b.trace.interleaved {
                    stats.scenarios_racy += 1;
                    continue;
                }
                if let Outcome::Error(e) = &a.trace.outcome {
                    return Judgement::Failed(e.clone());
                }
                if let Outcome::Error(e) = &b.trace.outcome {
                    return Judgement::Failed(e.clone());
                }
                if let Some(mismatch) = check(&a.trace, &b.trace) {
                    return Judgement::Different(Difference {
                        stage: *i,
                        lines: lines(*i),
                        scenario: scenario.scenario(),
                        mismatch,
                    });
                }
            }
        }
        Judgement::Identical
    }
}

/// Which calls a failure scenario makes fail on each side, by stage.
type FailFor = Box<dyn Fn(bool, usize) -> Option<Fail>>;

/// A failure scenario to run.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Planned {
    /// Every call of `program` fails, in `stages` (index, and whether each side calls it).
    Every {
        program: String,
        stages: Vec<(usize, [bool; 2])>,
    },
    /// Only the `original`th call of `program` in `stage` fails on the original side, and
    /// its counterpart, the `fixed`th, on the fixed side.
    Nth {
        program: String,
        stage: usize,
        original: usize,
        fixed: usize,
    },
}

impl Planned {
    fn program(&self) -> &str {
        match self {
            Self::Every { program, .. } | Self::Nth { program, .. } => program,
        }
    }

    fn scenario(&self) -> Scenario {
        match self {
            Self::Every { program, .. } => Scenario::Fails(program.clone()),
            Self::Nth {
                program,
                original,
                fixed,
                ..
            } => Scenario::FailsCall {
                program: program.clone(),
                original: *original,
                fixed: *fixed,
            },
        }
    }
}

impl Oracle {
    /// The failure scenarios of a comparison whose nominal traces agree: for each program
    /// the traces call (in order of first call, at most `max_scenarios` programs), every
    /// call fails in the stages where both sides call it equally often. In Additive mode,
    /// in a stage where the counts differ (a fix added calls of it), each call of the
    /// original fails alone instead (at most `max_nth_calls`), and on the fixed side the
    /// call it embeds in. What is not run is counted in `stats`.
    fn plan_scenarios(&self, mode: Mode, nominal: &Traces, stats: &mut Stats) -> Vec<Planned> {
        let mut programs: Vec<String> = Vec::new();
        for (a, b) in nominal.values() {
            for call in a.trace.calls().chain(b.trace.calls()) {
                if !programs.iter().any(|p| p == call.program()) {
                    programs.push(call.program().to_owned());
                }
            }
        }
        let mut planned = Vec::new();
        for program in &programs {
            let mut every: Vec<(usize, [bool; 2])> = Vec::new();
            for (i, (a, b)) in nominal {
                let count = |t: &StageTrace| t.calls().filter(|c| c.program() == program).count();
                let (n_o, n_f) = (count(&a.trace), count(&b.trace));
                if n_o == 0 && n_f == 0 {
                    continue;
                }
                if mode != Mode::Additive || n_o == n_f {
                    every.push((*i, [n_o > 0, n_f > 0]));
                    continue;
                }
                // Additive, and the fix added (or let go) calls of the program: fail each
                // call of the original alone, and its counterpart on the fixed side.
                let matched = crate::compare::embedding(&a.trace, &b.trace, &mut 0);
                let of: Vec<(usize, &crate::trace::Call)> = a.trace.calls().enumerate().collect();
                let fixed_calls: Vec<&crate::trace::Call> = b.trace.calls().collect();
                let mut kept = 0;
                for (k, (at, _)) in of
                    .iter()
                    .filter(|(_, c)| c.program() == program)
                    .enumerate()
                {
                    let Some(to) = matched[*at] else {
                        stats.calls_unmatched += 1;
                        continue;
                    };
                    kept += 1;
                    if k >= self.config.max_nth_calls {
                        stats.scenarios_capped += 1;
                        continue;
                    }
                    let fixed = fixed_calls[..=to]
                        .iter()
                        .filter(|c| c.program() == program)
                        .count();
                    planned.push(Planned::Nth {
                        program: program.clone(),
                        stage: *i,
                        original: k + 1,
                        fixed,
                    });
                }
                stats.calls_added_not_failed += n_f.saturating_sub(kept);
            }
            if !every.is_empty() {
                planned.push(Planned::Every {
                    program: program.clone(),
                    stages: every,
                });
            }
        }
        // The cap counts programs, in order of first call.
        let allowed: Vec<&String> = programs.iter().take(self.config.max_scenarios).collect();
        let before = planned.len();
        planned.retain(|p| allowed.iter().any(|a| *a == p.program()));
        stats.scenarios_capped += before - planned.len();
        stats.programs_capped = programs.len().saturating_sub(self.config.max_scenarios);
        planned
    }
}

/// Seeds the stub functions with every word of the stage's scripts that could name a
/// program. Calls through `command_not_found_handle` cost a fork each; a function costs a
/// tenth of that, and a function that is never called costs nothing. Both sides get the
/// union of both texts' words, so they still run on the same setup.
fn seed_functions(stage: &StagePlan, setup: &mut Setup) {
    for step in &stage.steps {
        if let crate::plan::Action::Shell { text, .. } = &step.action {
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || "_.+-".contains(c))) {
                if crate::script::is_function_name(word)
                    && !word.starts_with(|c: char| c.is_ascii_digit())
                {
                    setup.functions.insert(word.to_owned());
                }
            }
        }
    }
}

/// The stage pairs (same index on both sides) that must be replayed: both replayable and
/// not identical by construction.
fn traced_pairs<'a>(
    po: &'a FilePlan,
    pf: &'a FilePlan,
    stats: &mut Stats,
) -> Vec<(usize, &'a StagePlan, &'a StagePlan)> {
    let mut pairs = Vec::new();
    for (o, f) in po.stages.iter().zip(&pf.stages) {
        if o.same_replay(f) {
            stats.stages_unchanged += 1;
            continue;
        }
        if let Some(why) = o.skip.as_ref().or(f.skip.as_ref()) {
            stats
                .stages_skipped
                .push(format!("stage {}: {why}", o.index));
            if o.non_posix || f.non_posix {
                stats.non_posix_changed.push(format!(
                    "stage {} (FROM at line {}): {why}",
                    o.index, o.line
                ));
            }
            continue;
        }
        pairs.push((o.index, o, f));
    }
    pairs
}

/// Runs `f` over `items` on `threads` threads, keeping the order of the results.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
