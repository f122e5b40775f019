//! Helpers the package-manager rules share (`apt-get-yes`, `apt-no-install-recommends`,
//! `apt-lists-cleanup`, `pip-no-cache`, `apk-no-cache`, `npm-cache-clean`): which RUNs they
//! read, how a command's subcommand word is found, cache mounts, `rm` of a cache folder,
//! where an `&& ...` can be appended, and apt's command-line options.

use dockopt_shell::{Command, Node, Script, Word};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, StageRef, TextRange};

use crate::package::{cache_path, recognize};
use crate::stage_state::StageState;
use crate::{CacheDir, Knowledge, PackageManager};

pub(super) fn piped_commands(script: &Script) -> Vec<usize> {
    let mut out = Vec::new();
    script.walk(&mut |node| {
        if let Node::Pipeline(pipeline) = node {
            for stage in pipeline.stages.iter().skip(1) {
                stage.walk(&mut |inner| {
                    if let Node::Command(command) = inner {
                        out.push(command.span.clean.start);
                    }
                });
            }
        }
    });
    out
}

// ---------------------------------------------------------------------------------------
// Shared by the package-manager rules.
// ---------------------------------------------------------------------------------------

/// A shell-form RUN that the package-manager rules read and may rewrite.
#[derive(Debug)]
pub(super) struct PackageRun<'a> {
    /// The RUN (ONBUILD's inner RUN for `ONBUILD RUN`).
    pub instruction: Instruction<'a>,
    pub script: Script,
    /// What is in effect before it.
    pub state: &'a StageState,
}

/// The RUNs a package-manager rule may rewrite: shell form, no heredoc, under a POSIX shell,
/// and a script that parsed cleanly. ONBUILD RUNs too when `with_onbuild` (for rules whose
/// verdict does not depend on the stage the trigger will run in).
pub(super) fn package_runs<'a>(
    file: &'a Dockerfile,
    states: &'a [StageState],
    with_onbuild: bool,
) -> Vec<PackageRun<'a>> {
    let mut out = Vec::new();
    for outer in file.instructions() {
        let instruction = match outer.onbuild_child() {
            Some(child) if with_onbuild => child,
            Some(_) => continue,
            None => outer,
        };
        if instruction.kind() != InstructionKind::Run
            || instruction.is_exec_form()
            || instruction.heredocs().next().is_some()
        {
            continue;
        }
        let Some(state) = states.get(outer.index()) else {
            continue;
        };
        if !state.posix_shell() {
            continue;
        }
        let Some(script) = dockopt_shell::parse_instruction(instruction) else {
            continue;
        };
        if script.is_opaque() {
            continue;
        }
        out.push(PackageRun {
            instruction,
            script,
            state,
        });
    }
    out
}

/// The subcommand word of `command` when it is `manager`'s and the subcommand is one of
/// `actions` (the `install` of `apt-get -q install curl`, of `python3 -m pip install x`).
pub(super) fn package_action<'c>(
    knowledge: &Knowledge,
    command: &'c Command,
    manager: &str,
    actions: &[&str],
) -> Option<&'c Word> {
    let found = recognize(knowledge, command)?;
    if found.manager.name != manager {
        return None;
    }
    let action = found.action.filter(|a| actions.contains(a))?;
    command.positionals().find(|w| w.is(action))
}

/// The manager `name` in the knowledge files.
pub(super) fn manager<'k>(knowledge: &'k Knowledge, name: &str) -> Option<&'k PackageManager> {
    knowledge
        .package_managers
        .managers
        .iter()
        .find(|m| m.name == name)
}

/// From the command's name (after any `VAR=value` prefix) to its subcommand word: what a
/// diagnostic points at.
pub(super) fn command_range(command: &Command, action: &Word) -> TextRange {
    let start = command
        .name
        .as_ref()
        .map_or(command.span.file.start, |n| n.span.file.start);
    TextRange::new(start, action.span.file.end.max(start))
}

/// The targets of the RUN's `--mount` flags (`target`, `dst` or `destination`).
pub(super) fn mount_targets(instruction: Instruction<'_>) -> Vec<String> {
    instruction
        .flags()
        .filter(|f| f.name() == "mount")
        .filter_map(|f| {
            f.field("target")
                .or_else(|| f.field("dst"))
                .or_else(|| f.field("destination"))
        })
        .collect()
}

/// Whether a `--mount` of the RUN sits on `path` or a folder above it, so what is written
/// there never reaches the layer. A target with a variable counts (it may be that folder);
/// with `path` unknown (`None`), any mount counts.
pub(super) fn mount_covers(instruction: Instruction<'_>, path: Option<&str>) -> bool {
    mount_targets(instruction)
        .iter()
        .any(|target| target.contains('$') || path.is_none_or(|p| path_covers(target, p)))
}

/// Whether folder `parent` is `path` or one of its ancestors.
pub(super) fn path_covers(parent: &str, path: &str) -> bool {
    let parent = parent.trim_end_matches('/');
    let path = path.trim_end_matches('/');
    parent.is_empty()
        || path == parent
        || path
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `text` with a leading `~`, `$HOME` or `${HOME}` replaced by `home` (kept as `~` when
/// the home is unknown); `None` when another variable is left in it.
fn expand_home(text: &str, home: Option<&str>) -> Option<String> {
    for prefix in ["~", "${HOME}", "$HOME"] {
        if let Some(rest) = text.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return Some(format!("{}{rest}", home.unwrap_or("~")));
        }
    }
    (!text.contains('$')).then(|| text.to_string())
}

/// A word as a path: its literal value, or for `$HOME/x` / `"$HOME"/x` the text without
/// quotes, with the home expanded (see [`expand_home`]).
fn word_path(word: &Word, home: Option<&str>) -> Option<String> {
    match word.value() {
        Some(v) => expand_home(v, home),
        None => expand_home(&word.raw.replace('"', ""), home),
    }
}

/// The value of a long option on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum OptionValue {
    /// The option is not given.
    Absent,
    /// Given, with a value that is not literal (or missing).
    Unknown,
    Literal(String),
}

/// The value of the long option `name` (`--cache-dir=/x` or `--cache-dir /x`) before `--`.
fn long_flag_value(command: &Command, name: &str) -> OptionValue {
    let mut words = command.args.iter().take_while(|w| !w.is("--"));
    while let Some(word) = words.next() {
        match word.value() {
            Some(v) if v == name => {
                return words
                    .next()
                    .and_then(Word::value)
                    .map_or(OptionValue::Unknown, |v| {
                        OptionValue::Literal(v.to_string())
                    });
            }
            Some(v) => {
                if let Some(value) = v.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                    return OptionValue::Literal(value.to_string());
                }
            }
            None if word
                .raw
                .strip_prefix(name)
                .is_some_and(|r| r.starts_with('=')) =>
            {
                return OptionValue::Unknown;
            }
            None => {}
        }
    }
    OptionValue::Absent
}

/// Where `cache` is for `command`: its option `flag` (`--cache-dir`, `--cache`) or a prefix
/// assignment of one of the cache's variables wins over the stage's state. The path is
/// `None` when it cannot be known; the flag says whether the command moved the cache
/// itself.
pub(super) fn command_cache_path(
    command: &Command,
    cache: &CacheDir,
    flag: &str,
    state: &StageState,
) -> (Option<String>, bool) {
    let home = state.home();
    match long_flag_value(command, flag) {
        OptionValue::Absent => {}
        OptionValue::Unknown => return (None, true),
        OptionValue::Literal(v) => return (expand_home(&v, home.as_deref()), true),
    }
    if let Some(assignment) = command
        .assignments
        .iter()
        .find(|a| cache.env.contains(&a.name))
    {
        let value = assignment.value.as_ref().and_then(Word::value);
        return (value.and_then(|v| expand_home(v, home.as_deref())), true);
    }
    (cache_path(cache, state), false)
}

/// Whether `command` is an `rm` of `path` or of a folder above it (`rm -rf
/// /var/lib/apt/lists/*`, `rm -rf /root/.cache`). `path` may start with `~` when the home
/// is unknown.
pub(super) fn removes(command: &Command, path: &str, home: Option<&str>) -> bool {
    command.program() == Some("rm")
        && command.positionals().any(|word| {
            let Some(target) = word_path(word, home) else {
                return false;
            };
            let target = target
                .strip_suffix("/*")
                .or_else(|| target.strip_suffix("/.*"))
                .unwrap_or(&target);
            !target.contains(['*', '?', '[']) && path_covers(target, path)
        })
}

/// Whether `command` is one of the manager's cleanup commands other than `rm` (`npm cache
/// clean --force`, `pip cache purge`): its words in order, flags anywhere.
pub(super) fn is_cleanup_command(manager: &PackageManager, command: &Command) -> bool {
    manager.cleanup.iter().any(|entry| {
        let Some((program, rest)) = entry.split_first() else {
            return false;
        };
        if program == "rm" || command.program() != Some(program.as_str()) {
            return false;
        }
        let (flags, words): (Vec<&String>, Vec<&String>) =
            rest.iter().partition(|w| w.starts_with('-'));
        let positionals: Vec<&Word> = command.positionals().collect();
        words.len() <= positionals.len()
            && words
                .iter()
                .zip(&positionals)
                .all(|(w, p)| *w == "*" || p.is(w))
            && flags.iter().all(|f| command.has_flag(f))
    })
}

/// Where ` && more` can be appended so that it runs last: after the last command, when
/// the whole script is one `&&` chain of simple commands in the main shell.
pub(super) fn chain_end(script: &Script) -> Option<usize> {
    if !script.is_and_chain() {
        return None;
    }
    let last = script.root().items.last()?.node.as_command()?;
    last.context
        .runs_in_main_shell()
        .then_some(last.span.file.end)
}

/// Whether `instruction`'s stage up to and including it, or any stage it is built from
/// (`FROM <stage>`), mentions `needle` (case-insensitive): an apt.conf line written by a
/// RUN, an ENV, a pip config command.
pub(super) fn stage_mentions(
    file: &Dockerfile,
    states: &[StageState],
    instruction: Instruction<'_>,
    needle: &str,
) -> bool {
    let needle = needle.to_ascii_lowercase();
    let mentions = |i: Instruction<'_>| i.text().to_ascii_lowercase().contains(&needle);
    let Some(stage) = states.get(instruction.index()).and_then(|s| s.stage) else {
        return file
            .instructions()
            .take_while(|i| i.index() <= instruction.index())
            .any(mentions);
    };
    let stages = file.stages();
    let graph = file.stage_graph();
    let mut seen = vec![false; stages.len()];
    let mut todo = vec![(stage, Some(instruction.index()))];
    while let Some((s, upto)) = todo.pop() {
        if s >= stages.len() || std::mem::replace(&mut seen[s], true) {
            continue;
        }
        if stages[s]
            .instructions
            .iter()
            .filter(|i| upto.is_none_or(|u| i.index() <= u))
            .any(|&i| mentions(i))
        {
            return true;
        }
        todo.extend(graph.edges.iter().filter_map(|e| match e.target {
            StageRef::Stage(base) if e.stage == s && e.kind == dockopt_syntax::EdgeKind::Base => {
                Some((base, None))
            }
            _ => None,
        }));
    }
    false
}

/// One option of an apt command line, by its long name: `-y` is `assume-yes`, `-qq` is
/// `quiet` twice, `-q=2` is `quiet` with value 2, `-o A=B` is `option` with value `A=B`.
/// A word with an expansion before the packages is `?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AptOption {
    pub name: String,
    pub value: Option<String>,
}

/// apt's short options and their long names; those in [`APT_SHORT_WITH_VALUE`] take a value.
const APT_SHORT: &[(char, &str)] = &[
    ('y', "assume-yes"),
    ('q', "quiet"),
    ('s', "simulate"),
    ('d', "download-only"),
    ('f', "fix-broken"),
    ('m', "ignore-missing"),
    ('b', "compile"),
    ('u', "show-upgraded"),
    ('V', "verbose-versions"),
    ('h', "help"),
    ('v', "version"),
    ('o', "option"),
    ('c', "config-file"),
    ('t', "target-release"),
    ('a', "host-architecture"),
];
const APT_SHORT_WITH_VALUE: &[char] = &['o', 'c', 't', 'a'];
const APT_LONG_WITH_VALUE: &[&str] = &[
    "option",
    "config-file",
    "target-release",
    "default-release",
    "host-architecture",
];

/// The next word as an option's value (`?` when it has an expansion).
fn next_value<'w>(words: &mut impl Iterator<Item = &'w Word>) -> Option<String> {
    words
        .next()
        .map(|w| w.value().map_or_else(|| "?".to_string(), str::to_string))
}

/// The options of an apt command line (before `--`). A word with an expansion before the
/// first positional word (`apt-get $APT_OPTS install`) may hold options: it is `?`; later
/// ones are taken for package names.
pub(super) fn apt_options(command: &Command) -> Vec<AptOption> {
    let mut out = Vec::new();
    let mut words = command.args.iter().take_while(|w| !w.is("--"));
    let mut seen_positional = false;
    while let Some(word) = words.next() {
        let Some(text) = word.value() else {
            if !seen_positional {
                out.push(AptOption {
                    name: "?".into(),
                    value: None,
                });
            }
            continue;
        };
        if let Some(long) = text.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None if APT_LONG_WITH_VALUE.contains(&long) => (long, next_value(&mut words)),
                None => (long, None),
            };
            out.push(AptOption {
                name: name.to_string(),
                value,
            });
        } else if let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) {
            for (i, c) in cluster.char_indices() {
                let name = APT_SHORT
                    .iter()
                    .find(|(s, _)| *s == c)
                    .map_or_else(|| c.to_string(), |(_, n)| (*n).to_string());
                let rest = &cluster[i + c.len_utf8()..];
                if APT_SHORT_WITH_VALUE.contains(&c) {
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    let value = if rest.is_empty() {
                        next_value(&mut words)
                    } else {
                        Some(rest.to_string())
                    };
                    out.push(AptOption { name, value });
                    break;
                }
                if let Some(value) = rest.strip_prefix('=') {
                    out.push(AptOption {
                        name,
                        value: Some(value.to_string()),
                    });
                    break;
                }
                out.push(AptOption { name, value: None });
            }
        } else {
            seen_positional = true;
        }
    }
    out
}

/// apt's reading of a boolean (`StringToBool`): yes, true, with, on, enable, 1.
pub(super) fn is_true(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "yes" | "true" | "with" | "on" | "enable" | "1"
    )
}

/// apt's false: no, false, without, off, disable, 0.
pub(super) fn is_false(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "no" | "false" | "without" | "off" | "disable" | "0"
    )
}

#[cfg(test)]
pub(super) mod support {
    //! Test helpers for the package-manager rules.

    use dockopt_fix::{Diagnostic, FixOptions, assert_idempotent, fix_loop};

    use crate::{CheckContext, Knowledge, Rule, RuleOptions, TargetFacts};

    /// The rule's diagnostics on `text` for a project that builds (or not) with BuildKit.
    pub fn check_target(rule: &dyn Rule, text: &str, buildkit: bool) -> Vec<Diagnostic> {
        let file = dockopt_syntax::parse(text);
        rule.check(&CheckContext {
            file: &file,
            knowledge: Knowledge::get(),
            build_context: None,
            options: &RuleOptions::default(),
            target: &TargetFacts { buildkit },
        })
    }

    /// What the registry's fixture harness checks, for a rule that may not be registered
    /// yet: `fires` fires, `quiet` does not, the fix loop (Unsafe fixes included) converges
    /// without refusing, and fixing again changes nothing. Returns `fires` fixed.
    pub fn assert_fixtures(rule: &'static dyn Rule, fires: &str, quiet: &str) -> String {
        let check = |f: &dockopt_syntax::Dockerfile| {
            rule.check(&CheckContext {
                file: f,
                knowledge: Knowledge::get(),
                build_context: None,
                options: &RuleOptions::default(),
                target: &TargetFacts::default(),
            })
        };
        let name = rule.meta().name;
        assert!(
            !check(&dockopt_syntax::parse(fires)).is_empty(),
            "{name}: fires.Dockerfile does not fire"
        );
        let silent = check(&dockopt_syntax::parse(quiet));
        assert!(
            silent.is_empty(),
            "{name}: does-not-fire.Dockerfile fires: {silent:#?}"
        );
        let options = FixOptions::new(true);
        let mut fixed = String::new();
        for text in [fires, quiet] {
            let outcome = fix_loop(text, &options, &check);
            assert!(outcome.refused.is_none(), "{name}: {:?}", outcome.refused);
            assert_idempotent(&outcome.text, &options, &check);
            if fixed.is_empty() {
                fixed = outcome.text;
            }
        }
        fixed
    }
}
