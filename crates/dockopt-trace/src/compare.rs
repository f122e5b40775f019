//! Comparing the traces of an original and a fixed stage.
//!
//! * [`exact`]: the same calls (argv, cwd, umask, env) and output in the same order, the
//!   same kind of outcome (ok / fails / timeout) and the same files written by the shell
//!   (path, type, mode, size, content); RUN boundaries do not count, so merged RUNs compare
//!   equal to the RUNs they merged.
//! * [`additive`]: the original's calls embed in order in the fixed calls (a fix may add
//!   calls, and add words to a call: `apt-get install curl` embeds in `apt-get install -y
//!   --no-install-recommends curl`), each matched call has the same cwd, umask and env, the
//!   output is the same, the outcome kind is the same, and so are the files the shell wrote.
//!   No Safe fix writes a file with a redirection, so the fixed side may not have extra
//!   files; only paths under a cache mount of the fixed stage are let go (they never reach
//!   the image), as the cleanups of such paths are.
//! * [`classify`]: no verdict, a count of the kinds of differences, for fixes that are
//!   allowed to change what runs.
//!
//! When both sides were cut (timeout or size cap), only the calls and output both reached
//! are compared, and no files (where the cut fell decides what was written).

use std::collections::BTreeMap;
use std::fmt;

use crate::trace::{Call, Event, FileState, StageTrace, shell_words};

/// What differs, for people: a sentence and the two sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub what: String,
    pub original: String,
    pub fixed: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n    original: {}\n    fixed:    {}",
            self.what, self.original, self.fixed
        )
    }
}

fn describe(event: Option<&Event>) -> String {
    match event {
        None => "(nothing more)".into(),
        Some(Event::Call(c)) => format!("call {c}"),
        Some(Event::Output(o)) => format!("output {:?}", clip(o, 160)),
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// The variables that differ between two environments, for people.
pub fn env_diff(a: &[(String, String)], b: &[(String, String)]) -> String {
    let a: BTreeMap<_, _> = a.iter().cloned().collect();
    let b: BTreeMap<_, _> = b.iter().cloned().collect();
    let mut parts = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            None => parts.push(format!("-{k}={}", clip(v, 60))),
            Some(w) if w != v => parts.push(format!("{k}: {} -> {}", clip(v, 60), clip(w, 60))),
            Some(_) => {}
        }
    }
    for (k, v) in &b {
        if !a.contains_key(k) {
            parts.push(format!("+{k}={}", clip(v, 60)));
        }
    }
    let more = parts.len().saturating_sub(6);
    parts.truncate(6);
    if more > 0 {
        parts.push(format!("and {more} more"));
    }
    parts.join(", ")
}

/// How two calls at the same place differ.
fn call_difference(a: &Call, b: &Call) -> String {
    if a.argv != b.argv {
        "a different call".into()
    } else if a.cwd != b.cwd {
        format!("the same call in another folder ({} vs {})", a.cwd, b.cwd)
    } else if a.umask != b.umask {
        format!(
            "the same call with another umask ({} vs {})",
            a.umask, b.umask
        )
    } else {
        format!(
            "the same call with another environment ({})",
            env_diff(&a.env, &b.env)
        )
    }
}

/// The first line where two outputs differ.
fn output_difference(a: &str, b: &str) -> Mismatch {
    let mut la = a.split_inclusive('\n');
    let mut lb = b.split_inclusive('\n');
    let mut line = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                return Mismatch {
                    what: format!("standard output differs at line {line}"),
                    original: format!("{:?}", clip(x.unwrap_or("(end)"), 160)),
                    fixed: format!("{:?}", clip(y.unwrap_or("(end)"), 160)),
                };
            }
        }
    }
}

fn outcome_mismatch(o: &StageTrace, f: &StageTrace) -> Option<Mismatch> {
    (o.outcome.kind() != f.outcome.kind()).then(|| Mismatch {
        what: "the build ends differently".into(),
        original: o.outcome.to_string(),
        fixed: f.outcome.to_string(),
    })
}

/// The files the shells wrote, side by side by path: `(original, fixed)`, either absent.
fn file_pairs<'a>(
    original: &'a [FileState],
    fixed: &'a [FileState],
) -> Vec<(Option<&'a FileState>, Option<&'a FileState>)> {
    let mut out = Vec::new();
    let (mut left, mut right) = (original.iter().peekable(), fixed.iter().peekable());
    loop {
        let pair = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(x), Some(y)) if x.path == y.path => (left.next(), right.next()),
            (Some(x), Some(y)) if x.path < y.path => (left.next(), None),
            (Some(_), None) => (left.next(), None),
            (_, Some(_)) => (None, right.next()),
        };
        out.push(pair);
    }
    out
}

fn describe_file(file: Option<&FileState>) -> String {
    file.map_or_else(|| "(not written)".into(), ToString::to_string)
}

/// The first path the two sides' shells left in a different state (`skip`: paths not
/// compared).
fn files_mismatch(
    original: &[FileState],
    fixed: &[FileState],
    skip: &dyn Fn(&str) -> bool,
) -> Option<Mismatch> {
    let (before, after) = file_pairs(original, fixed)
        .into_iter()
        .filter(|(x, y)| x != y)
        .find(|(x, y)| !skip(x.or(*y).map_or("", |file| file.path.as_str())))?;
    let path = &before.or(after)?.path;
    let how = match (before, after) {
        (Some(_), None) => "only the original writes it",
        (None, Some(_)) => "only the fixed file writes it",
        (Some(x), Some(y)) if x.kind != y.kind => "another type",
        (Some(x), Some(y)) if x.mode != y.mode => "another mode (a leaked umask?)",
        _ => "other content",
    };
    Some(Mismatch {
        what: format!("a file the shell wrote differs: {path} ({how})"),
        original: describe_file(before),
        fixed: describe_file(after),
    })
}

/// Both sides were cut: compare what both reached, the last event of the shorter aside
/// (it may be partial).
fn both_cut(o: &StageTrace, f: &StageTrace) -> bool {
    o.outcome.is_cut() && f.outcome.is_cut()
}

/// Exact comparison (see the module documentation).
pub fn exact(o: &StageTrace, f: &StageTrace) -> Option<Mismatch> {
    let cut = both_cut(o, f);
    if !cut && (o.outcome.is_cut() || f.outcome.is_cut()) {
        return outcome_mismatch(o, f);
    }
    let common = o.events.len().min(f.events.len());
    let limit = if cut {
        common.saturating_sub(1)
    } else {
        common
    };
    for (index, (left, right)) in o.events.iter().zip(&f.events).take(limit).enumerate() {
        if left == right {
            continue;
        }
        if let (Event::Output(x), Event::Output(y)) = (left, right) {
            return Some(output_difference(x, y));
        }
        let what = match (left, right) {
            (Event::Call(x), Event::Call(y)) => call_difference(x, y),
            _ => "a call where the other side printed output".into(),
        };
        return Some(Mismatch {
            what: format!("event #{}: {what}", index + 1),
            original: describe(Some(left)),
            fixed: describe(Some(right)),
        });
    }
    if !cut && o.events.len() != f.events.len() {
        let (side, extra) = if o.events.len() > f.events.len() {
            ("the original", o.events.len() - common)
        } else {
            ("the fixed file", f.events.len() - common)
        };
        return Some(Mismatch {
            what: format!(
                "event #{}: {side} has {extra} more event(s) (then {} vs {})",
                common + 1,
                o.outcome,
                f.outcome
            ),
            original: describe(o.events.get(common)),
            fixed: describe(f.events.get(common)),
        });
    }
    if cut {
        None
    } else {
        outcome_mismatch(o, f).or_else(|| files_mismatch(&o.files, &f.files, &|_| false))
    }
}

/// Whether the words of `a` are an in-order subsequence of those of `b`, with the same
/// program.
pub fn argv_embeds(a: &[String], b: &[String]) -> bool {
    let (Some(pa), Some(pb)) = (a.first(), b.first()) else {
        return a.is_empty() && b.is_empty();
    };
    if crate::trace::program_of(pa) != crate::trace::program_of(pb) {
        return false;
    }
    let mut rest = b[1..].iter();
    a[1..].iter().all(|w| rest.any(|x| x == w))
}

/// Whether call `a` of the original is kept by call `b` of the fixed file: same folder and
/// environment, and its words embed in `b`'s, or do once the cache-only flags that `b`'s
/// cache mounts make pointless are taken out (`pip install --no-cache-dir x` under a cache
/// mount of pip's cache becomes `pip install x`).
fn embeds(a: &Call, b: &Call, b_mounts: &[String], allowed: &mut usize) -> bool {
    if a.cwd != b.cwd || a.umask != b.umask || a.env != b.env {
        return false;
    }
    if argv_embeds(&a.argv, &b.argv) {
        return true;
    }
    let kept = cache::without_cache_flags(a, b_mounts);
    if kept.len() < a.argv.len() && argv_embeds(&kept, &b.argv) {
        *allowed += 1;
        return true;
    }
    false
}

/// What a cache mount makes pointless: the oracle's own short list, from the tools' manuals
/// (independent of dockopt's knowledge files). A cleanup of a folder that a cache mount
/// holds empties the mount, never the image, so dropping it changes no file of the image.
pub mod cache {
    use crate::expand::{clean_path, join_path};
    use crate::trace::Call;

    /// Whether `path` lies in one of `mounts`.
    pub fn covered(path: &str, mounts: &[String]) -> bool {
        let path = clean_path(path);
        mounts
            .iter()
            .any(|m| path == *m || path.starts_with(&format!("{}/", m.trim_end_matches('/'))))
    }

    fn home(call: &Call) -> &str {
        call.env
            .iter()
            .find(|(k, _)| k == "HOME")
            .map_or("/root", |(_, v)| v.as_str())
    }

    fn is_pip(call: &Call) -> bool {
        let p = call.program();
        p.starts_with("pip")
            || (p.starts_with("python")
                && call.argv.windows(2).any(|w| w[0] == "-m" && w[1] == "pip"))
    }

    /// `call`'s words without the flags that only keep a cache empty, when `mounts` hold
    /// that cache.
    pub fn without_cache_flags(call: &Call, mounts: &[String]) -> Vec<String> {
        let pip_cache = format!("{}/.cache/pip", home(call));
        let drop = |w: &str| match w {
            "--no-cache-dir" => is_pip(call) && covered(&pip_cache, mounts),
            "--no-cache" => call.program() == "apk" && covered("/var/cache/apk", mounts),
            _ => false,
        };
        call.argv
            .iter()
            .enumerate()
            .filter(|(i, w)| *i == 0 || !drop(w))
            .map(|(_, w)| w.clone())
            .collect()
    }

    /// Whether `call` only empties folders that `mounts` hold.
    pub fn only_empties_mounts(call: &Call, mounts: &[String]) -> bool {
        if mounts.is_empty() {
            return false;
        }
        let args: Vec<&str> = call.argv.iter().skip(1).map(String::as_str).collect();
        let home = home(call);
        match (call.program(), args.as_slice()) {
            ("rm", _) => {
                let operands: Vec<&str> = args
                    .iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect();
                !operands.is_empty()
                    && args.iter().filter(|a| a.starts_with('-')).all(|a| {
                        a.trim_start_matches('-')
                            .chars()
                            .all(|c| "rfRv".contains(c))
                            || *a == "--recursive"
                            || *a == "--force"
                    })
                    && operands.iter().all(|op| {
                        // A glob that matched nothing stays as written: `/var/lib/apt/lists/*`.
                        let path =
                            join_path(&call.cwd, op.trim_end_matches("/*").trim_end_matches('*'));
                        path != "/" && covered(&path, mounts)
                    })
            }
            ("apt-get" | "apt", ["clean"]) => covered("/var/cache/apt", mounts),
            ("apk", ["cache", "clean" | "purge"]) => covered("/var/cache/apk", mounts),
            ("yum", ["clean", "all"]) => covered("/var/cache/yum", mounts),
            ("dnf", ["clean", "all"]) => covered("/var/cache/dnf", mounts),
            ("npm", ["cache", "clean", ..]) => covered(&format!("{home}/.npm"), mounts),
            ("yarn", ["cache", "clean", ..]) => {
                covered("/usr/local/share/.cache/yarn", mounts)
                    || covered(&format!("{home}/.cache/yarn"), mounts)
            }
            ("pip" | "pip3", ["cache", "purge"]) => covered(&format!("{home}/.cache/pip"), mounts),
            _ => false,
        }
    }
}

/// Additive comparison (see the module documentation).
pub fn additive(o: &StageTrace, f: &StageTrace) -> Option<Mismatch> {
    additive_counting(o, f, &mut 0)
}

/// How the original's calls embed in the fixed calls: for each call of `o` (in order), the
/// index in `f`'s calls of the call that keeps it, `None` when none does. Greedy earliest
/// matching, which finds an embedding whenever one exists. `allowed` counts the matches
/// that needed cache-only flags taken out (see [`cache`]).
pub fn embedding(o: &StageTrace, f: &StageTrace, allowed: &mut usize) -> Vec<Option<usize>> {
    let fc: Vec<(usize, &Call)> = f.calls_with_steps().collect();
    let mounts_of =
        |step: usize| -> &[String] { f.cache_mounts.get(step).map_or(&[], Vec::as_slice) };
    let mut next = 0;
    o.calls()
        .map(|call| {
            let at = fc[next..]
                .iter()
                .position(|(s, kept)| embeds(call, kept, mounts_of(*s), allowed))?;
            next += at + 1;
            Some(next - 1)
        })
        .collect()
}

/// [`additive`], counting in `allowed` the cleanups and cache flags it let go because a
/// cache mount holds what they empty (see [`cache`]).
pub fn additive_counting(o: &StageTrace, f: &StageTrace, allowed: &mut usize) -> Option<Mismatch> {
    let cut = both_cut(o, f);
    if !cut && (o.outcome.is_cut() || f.outcome.is_cut()) {
        return outcome_mismatch(o, f);
    }
    let mounts_of = |trace: &StageTrace, step: usize| -> Vec<String> {
        trace.cache_mounts.get(step).cloned().unwrap_or_default()
    };
    let oc: Vec<(usize, &Call)> = o.calls_with_steps().collect();
    let fc: Vec<(usize, &Call)> = f.calls_with_steps().collect();
    // Every cache mount of the fixed stage: a dropped cleanup has no RUN of its own there.
    let mut stage_mounts: Vec<String> = f.cache_mounts.iter().flatten().cloned().collect();
    stage_mounts.sort();
    stage_mounts.dedup();
    let mut flags = 0;
    let matched = embedding(o, f, &mut flags);
    let mut next = 0;
    for (number, ((step, call), kept)) in oc.iter().zip(&matched).enumerate() {
        if let Some(at) = kept {
            next = at + 1;
            continue;
        }
        if cut {
            break;
        }
        let mut mounts = stage_mounts.clone();
        mounts.extend(mounts_of(o, *step));
        if cache::only_empties_mounts(call, &mounts) {
            *allowed += 1;
            continue;
        }
        let near = fc[next..]
            .iter()
            .map(|(_, other)| *other)
            .find(|other| argv_embeds(&call.argv, &other.argv));
        let (what, fixed) = match near {
            Some(other) => (
                format!(
                    "call #{} of the original: {}",
                    number + 1,
                    call_difference(call, other).replace("the same call", "its counterpart runs")
                ),
                format!("call {other}"),
            ),
            None => (
                format!(
                    "call #{} of the original is missing from the fixed trace (from its call #{} on; then {} vs {})",
                    number + 1,
                    next + 1,
                    o.outcome,
                    f.outcome
                ),
                fc.get(next).map_or("(nothing more)".into(), |(_, other)| {
                    format!("call {other}")
                }),
            ),
        };
        return Some(Mismatch {
            what,
            original: format!("call {call}"),
            fixed,
        });
    }
    *allowed += flags;
    if cut {
        return None;
    }
    let (out_o, out_f) = (o.stdout(), f.stdout());
    if out_o != out_f {
        return Some(output_difference(&out_o, &out_f));
    }
    if let Some(mut m) = outcome_mismatch(o, f) {
        // Say what the side that went on ran next.
        if let Some((_, went_on)) = fc.get(next) {
            m.what = format!("{}; the fixed file goes on with {went_on}", m.what);
        }
        return Some(m);
    }
    files_mismatch(&o.files, &f.files, &|_| false)?;
    // What is written under a cache mount of the fixed stage never reaches its image.
    let kept = files_mismatch(&o.files, &f.files, &|p| cache::covered(p, &stage_mounts));
    if kept.is_none() {
        *allowed += 1;
    }
    kept
}

/// A kind of difference [`classify`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// A call of the original that the fixed file does not make.
    Dropped,
    /// A call made in the same stage, at another place in the order.
    Reordered,
    /// A call made in another stage.
    Moved,
    /// A call only the fixed file makes.
    Added,
    /// The same program at the same place with other words.
    ArgsChanged,
    CwdChanged,
    EnvChanged,
    OutputChanged,
    OutcomeChanged,
    /// A path only the fixed file's shells write.
    FileAdded,
    /// A path only the original's shells write.
    FileMissing,
    /// A path both write, with another type, mode or content.
    FileChanged,
    StagesAdded,
    StagesRemoved,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Self::Dropped => "dropped",
            Self::Reordered => "reordered",
            Self::Moved => "moved",
            Self::Added => "added",
            Self::ArgsChanged => "args changed",
            Self::CwdChanged => "cwd changed",
            Self::EnvChanged => "env changed",
            Self::OutputChanged => "output changed",
            Self::OutcomeChanged => "outcome changed",
            Self::FileAdded => "file added",
            Self::FileMissing => "file missing",
            Self::FileChanged => "file changed",
            Self::StagesAdded => "stages added",
            Self::StagesRemoved => "stages removed",
        }
    }
}

/// The differences between two builds, counted by kind, with the first example of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub counts: BTreeMap<Change, usize>,
    pub examples: BTreeMap<Change, String>,
    /// Changes to calls, counted by the program called (`rm`, `apt-get`): what the
    /// Unsafe fixes drop, add or rewrite, at a glance.
    pub by_program: BTreeMap<(Change, String), usize>,
}

impl Report {
    fn add(&mut self, change: Change, example: impl FnOnce() -> String) {
        *self.counts.entry(change).or_insert(0) += 1;
        self.examples.entry(change).or_insert_with(example);
    }

    /// [`Report::add`] for a change to a call of `argv`.
    fn add_call(&mut self, change: Change, argv: &[String], example: impl FnOnce() -> String) {
        self.add(change, example);
        let program = argv
            .first()
            .map_or("", |p| p.rsplit('/').next().unwrap_or(p));
        *self
            .by_program
            .entry((change, program.to_string()))
            .or_insert(0) += 1;
    }

    /// The programs most often concerned by `change`, most first, at most `n`.
    pub fn top_programs(&self, change: Change, n: usize) -> Vec<(&str, usize)> {
        let mut programs: Vec<(&str, usize)> = self
            .by_program
            .iter()
            .filter(|((c, _), _)| *c == change)
            .map(|((_, p), &count)| (p.as_str(), count))
            .collect();
        programs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        programs.truncate(n);
        programs
    }

    /// Adds another report's counts (keeping the first examples).
    pub fn merge(&mut self, other: &Report) {
        for (k, v) in &other.counts {
            *self.counts.entry(*k).or_insert(0) += v;
        }
        for (k, v) in &other.examples {
            self.examples.entry(*k).or_insert_with(|| v.clone());
        }
        for (k, v) in &other.by_program {
            *self.by_program.entry(k.clone()).or_insert(0) += v;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.counts.is_empty() {
            return f.write_str("no differences");
        }
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, v)| format!("{} {v}", k.name()))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Classifies the differences between the stages of two builds, paired by index (`None`:
/// the stage exists on one side only, or was not traced because nothing in it changed).
pub fn classify(stages: &[(Option<&StageTrace>, Option<&StageTrace>)]) -> Report {
    let mut report = Report::default();
    // Unmatched calls: (stage, call).
    let mut lost: Vec<(usize, &Call)> = Vec::new();
    let mut new: Vec<(usize, &Call)> = Vec::new();
    for (i, (o, f)) in stages.iter().enumerate() {
        match (o, f) {
            (None, Some(f)) => {
                report.add(Change::StagesAdded, || format!("stage {i}"));
                new.extend(f.calls().map(|c| (i, c)));
            }
            (Some(o), None) => {
                report.add(Change::StagesRemoved, || format!("stage {i}"));
                lost.extend(o.calls().map(|c| (i, c)));
            }
            (Some(o), Some(f)) => {
                let oc: Vec<&Call> = o.calls().collect();
                let fc: Vec<&Call> = f.calls().collect();
                let ok: Vec<&Vec<String>> = oc.iter().map(|c| &c.argv).collect();
                let fk: Vec<&Vec<String>> = fc.iter().map(|c| &c.argv).collect();
                let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &ok, &fk);
                for op in ops {
                    let (_, old, new_range) = op.as_tag_tuple();
                    if op.tag() == similar::DiffTag::Equal {
                        for (a, b) in old.zip(new_range) {
                            let (x, y) = (oc[a], fc[b]);
                            if x.cwd != y.cwd {
                                report.add(Change::CwdChanged, || {
                                    format!("stage {i}: {} ({} -> {})", x, x.cwd, y.cwd)
                                });
                            }
                            if x.env != y.env {
                                report.add(Change::EnvChanged, || {
                                    format!("stage {i}: {}: {}", x, env_diff(&x.env, &y.env))
                                });
                            }
                        }
                    } else {
                        lost.extend(old.map(|a| (i, oc[a])));
                        new.extend(new_range.map(|b| (i, fc[b])));
                    }
                }
                if o.stdout() != f.stdout() {
                    report.add(Change::OutputChanged, || {
                        let m = output_difference(&o.stdout(), &f.stdout());
                        format!("stage {i}: {} vs {}", m.original, m.fixed)
                    });
                }
                if o.outcome.kind() != f.outcome.kind() {
                    report.add(Change::OutcomeChanged, || {
                        format!("stage {i}: {} -> {}", o.outcome, f.outcome)
                    });
                }
                if !o.outcome.is_cut() && !f.outcome.is_cut() {
                    for (a, b) in file_pairs(&o.files, &f.files) {
                        let change = match (a, b) {
                            (Some(x), Some(y)) if x == y => continue,
                            (Some(_), Some(_)) => Change::FileChanged,
                            (Some(_), None) => Change::FileMissing,
                            _ => Change::FileAdded,
                        };
                        report.add(change, || {
                            format!("stage {i}: {} -> {}", describe_file(a), describe_file(b))
                        });
                    }
                }
            }
            (None, None) => {}
        }
    }
    let mut taken = vec![false; new.len()];
    let mut take = |pred: &dyn Fn(usize, &Call) -> bool| -> Option<usize> {
        let k = (0..new.len()).find(|&k| !taken[k] && pred(new[k].0, new[k].1))?;
        taken[k] = true;
        Some(k)
    };
    for (stage, call) in &lost {
        let words = || shell_words(&call.argv);
        if take(&|s, c| s == *stage && c.argv == call.argv).is_some() {
            report.add_call(Change::Reordered, &call.argv, || {
                format!("stage {stage}: {}", words())
            });
        } else if let Some(k) = take(&|s, c| s != *stage && c.argv == call.argv) {
            let to = new[k].0;
            report.add_call(Change::Moved, &call.argv, || {
                format!("{} from stage {stage} to stage {to}", words())
            });
        } else if let Some(k) = take(&|s, c| {
            s == *stage && (argv_embeds(&call.argv, &c.argv) || argv_embeds(&c.argv, &call.argv))
        }) {
            let other = shell_words(&new[k].1.argv);
            report.add_call(Change::ArgsChanged, &call.argv, || {
                format!("stage {stage}: {} -> {other}", words())
            });
        } else {
            report.add_call(Change::Dropped, &call.argv, || {
                format!("stage {stage}: {}", words())
            });
        }
    }
    for (k, (stage, call)) in new.iter().enumerate() {
        if !taken[k] {
            report.add_call(Change::Added, &call.argv, || {
                format!("stage {stage}: {}", shell_words(&call.argv))
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Outcome;

    fn call(words: &str, cwd: &str) -> Event {
        Event::Call(Call {
            argv: words.split(' ').map(str::to_owned).collect(),
            cwd: cwd.into(),
            umask: crate::trace::DEFAULT_UMASK.into(),
            env: vec![("PATH".into(), "/bin".into())],
        })
    }

    fn trace(events: Vec<Event>, outcome: Outcome) -> StageTrace {
        let steps = vec![0; events.len()];
        StageTrace {
            events,
            outcome,
            steps,
            cache_mounts: vec![Vec::new()],
            interleaved: false,
            files: Vec::new(),
        }
    }

    fn ok(events: Vec<Event>) -> StageTrace {
        trace(events, Outcome::Ok)
    }

    #[test]
    fn exact_accepts_equal_and_names_the_first_difference() {
        let base = ok(vec![
            call("a", "/"),
            Event::Output("x\n".into()),
            call("b", "/"),
        ]);
        assert_eq!(exact(&base, &base.clone()), None);
        let moved = ok(vec![
            call("a", "/"),
            Event::Output("x\n".into()),
            call("b", "/etc"),
        ]);
        let found = exact(&base, &moved).unwrap();
        assert!(
            found.what.contains("event #3") && found.what.contains("another folder"),
            "{found}"
        );
        let shorter = ok(vec![call("a", "/"), Event::Output("x\n".into())]);
        let found = exact(&base, &shorter).unwrap();
        assert!(found.what.contains("original has 1 more"), "{found}");
        let printed = ok(vec![
            call("a", "/"),
            Event::Output("y\n".into()),
            call("b", "/"),
        ]);
        assert!(
            exact(&base, &printed)
                .unwrap()
                .what
                .contains("standard output")
        );
        let mut failing = base.clone();
        failing.outcome = Outcome::Fails { step: 2, status: 1 };
        assert!(
            exact(&base, &failing)
                .unwrap()
                .what
                .contains("ends differently")
        );
        // Where it fails (which RUN) does not matter, that it fails does.
        let mut elsewhere = failing.clone();
        elsewhere.outcome = Outcome::Fails { step: 0, status: 2 };
        assert_eq!(exact(&failing, &elsewhere), None);
    }

    #[test]
    fn exact_compares_cut_traces_on_what_both_reached() {
        let long = trace(
            vec![call("a", "/"), call("b", "/"), call("c", "/")],
            Outcome::Timeout { step: Some(0) },
        );
        let short = trace(
            vec![call("a", "/"), call("b", "/")],
            Outcome::Overflow { step: Some(0) },
        );
        assert_eq!(exact(&long, &short), None);
        let other = trace(
            vec![call("z", "/"), call("b", "/")],
            Outcome::Timeout { step: None },
        );
        assert!(exact(&long, &other).is_some());
        assert!(exact(&long, &ok(vec![call("a", "/")])).is_some());
    }

    #[test]
    fn additive_allows_added_calls_and_words() {
        let base = ok(vec![
            call("apt-get update", "/"),
            call("apt-get install curl", "/"),
        ]);
        let more = ok(vec![
            call("apt-get update", "/"),
            call("apt-get install -y --no-install-recommends curl", "/"),
            call("rm -rf /var/lib/apt/lists/*", "/"),
        ]);
        assert_eq!(additive(&base, &more), None);
        // Dropped words, dropped calls, reordered calls and another cwd are not additive.
        let found = additive(&more, &base).unwrap();
        assert!(found.what.contains("missing"), "{found}");
        let swapped = ok(vec![
            call("apt-get install curl", "/"),
            call("apt-get update", "/"),
        ]);
        assert!(additive(&base, &swapped).is_some());
        let moved = ok(vec![
            call("apt-get update", "/"),
            call("apt-get install curl", "/x"),
        ]);
        let found = additive(&base, &moved).unwrap();
        assert!(found.what.contains("another folder"), "{found}");
        let mut failing = more.clone();
        failing.outcome = Outcome::Fails { step: 0, status: 1 };
        assert!(
            additive(&base, &failing)
                .unwrap()
                .what
                .contains("ends differently")
        );
        let printed = ok(vec![
            Event::Output("hi".into()),
            call("apt-get update", "/"),
            call("apt-get install curl", "/"),
        ]);
        assert!(additive(&base, &printed).unwrap().what.contains("output"));
    }

    #[test]
    fn additive_lets_cleanups_of_cache_mounts_go() {
        let mut o = ok(vec![
            call("pip install --no-cache-dir flask", "/"),
            call("apt-get update", "/"),
            call("apt-get install -y curl", "/"),
            call("apt-get clean", "/"),
            call("rm -rf /var/lib/apt/lists/*", "/"),
        ]);
        o.steps = vec![0, 1, 1, 1, 1];
        o.cache_mounts = vec![Vec::new(), Vec::new()];
        let mut f = ok(vec![
            call("pip install flask", "/"),
            call("apt-get update", "/"),
            call("apt-get install -y curl", "/"),
        ]);
        f.steps = vec![0, 1, 1];
        // Without mounts, nothing of it is additive.
        f.cache_mounts = vec![Vec::new(), Vec::new()];
        assert!(additive(&o, &f).is_some());
        f.cache_mounts = vec![
            vec!["/root/.cache/pip".into()],
            vec!["/var/cache/apt".into(), "/var/lib/apt".into()],
        ];
        let mut allowed = 0;
        assert_eq!(additive_counting(&o, &f, &mut allowed), None);
        assert_eq!(allowed, 3);
        // A cleanup of something else still counts.
        let mut o2 = o.clone();
        o2.events.push(call("rm -rf /usr/share/doc", "/"));
        o2.steps.push(1);
        assert!(additive(&o2, &f).unwrap().what.contains("missing"));
    }

    #[test]
    fn embedding_is_by_program_and_word_order() {
        let w = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert!(argv_embeds(
            &w("/usr/bin/apt-get install x"),
            &w("apt-get install -y x")
        ));
        assert!(!argv_embeds(
            &w("apt-get install x y"),
            &w("apt-get install y x")
        ));
        assert!(!argv_embeds(&w("apk add x"), &w("apt-get add x")));
    }

    #[test]
    fn classify_counts_kinds() {
        let o = ok(vec![
            call("a", "/"),
            call("b", "/"),
            call("c", "/"),
            call("d", "/"),
            call("pip install x", "/"),
        ]);
        let f = ok(vec![
            call("b", "/"),
            call("a", "/"),
            call("c", "/etc"),
            call("pip install --no-cache-dir x", "/"),
            call("e", "/"),
        ]);
        let other = ok(vec![call("d", "/")]);
        let r = classify(&[(Some(&o), Some(&f)), (None, Some(&other))]);
        let n = |c| r.counts.get(&c).copied().unwrap_or(0);
        assert_eq!(n(Change::Reordered), 1, "{r:?}");
        assert_eq!(n(Change::CwdChanged), 1, "{r:?}");
        assert_eq!(n(Change::Moved), 1, "{r:?}");
        assert_eq!(n(Change::ArgsChanged), 1, "{r:?}");
        assert_eq!(n(Change::Added), 1, "{r:?}");
        assert_eq!(n(Change::StagesAdded), 1, "{r:?}");
        assert_eq!(n(Change::Dropped), 0, "{r:?}");
        assert!(classify(&[(Some(&o), Some(&o))]).is_empty());
    }
}
