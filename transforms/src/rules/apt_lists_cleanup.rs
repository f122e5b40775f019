use std::fmt::Write as _;

use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_shell::Command;
use dockopt_syntax::{Dockerfile, EdgeKind, Instruction, InstructionKind, StageRef};

use super::package_runs::{
    chain_end, command_range, mount_covers, package_action, package_runs, removes,
};
use crate::package::recognize;
use crate::stage_state::stage_states;
use crate::{CheckContext, FixAvailability, Knowledge, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds RUNs that run `apt-get update` (or `apt update`) and install packages, but leave
    /// the package lists in /var/lib/apt/lists, and appends `&& rm -rf /var/lib/apt/lists/*`.
    ///
    /// ## Why is this bad?
    /// `apt-get update` downloads the index of every package in the configured
    /// repositories: tens of megabytes that the built image never uses. Files deleted by a
    /// later RUN still take their space in this RUN's layer, so the lists must go in the
    /// RUN that fetched them.
    ///
    /// Not reported when the RUN removes the lists after its last apt command (`rm -rf
    /// /var/lib/apt/lists/*`, `rm -rf /var/lib/apt/lists`, `apt-get distclean`) or the RUN
    /// right after it does (`merge-runs` joins that cleanup to this RUN), when a
    /// `--mount` of the RUN covers /var/lib/apt/lists (a BuildKit cache mount keeps them out
    /// of the layer and is better still), or when the project builds with BuildKit
    /// (`[target] buildkit = true`): then `cache-mounts` adds a cache mount for
    /// /var/lib/apt and removes this cleanup, and the two rules must not undo each other.
    /// RUNs that install without updating are not reported: their lists come from an
    /// earlier layer, removing them here saves nothing (`merge-runs` joins such RUNs).
    /// Exec-form RUNs, RUN heredocs, scripts that do not parse, RUNs under a non-POSIX SHELL
    /// and ONBUILD RUNs are left alone.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl \
    ///     && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix safety
    /// Safe: only apt's package lists (/var/lib/apt/lists) leave the image; they are an
    /// index that `apt-get update` rebuilds. The fix is offered only when the RUN is one
    /// `&&` chain of simple commands (so the removal runs last, in the same shell), and not
    /// when a later RUN of the stage, or of a stage built from it (`FROM <stage>`, a `FROM
    /// ${ARG}` that may be it, `ONBUILD RUN`), runs apt without `apt-get update` first, also
    /// through a wrapper (`sudo`, `env`, `xargs`, `sh -c "..."`, `aptitude`, `rosdep`): that
    /// RUN reads these lists. A later script (`./install.sh`, `bash deps.sh`) may do the
    /// same: then the fix is Unsafe, and the message says which line to check.
    ///
    /// ## References
    /// hadolint DL3009; Docker best practices, "apt-get".
    pub struct AptListsCleanup {
        name: "apt-lists-cleanup",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

const LISTS: &str = "/var/lib/apt/lists";

/// apt subcommands that install or fetch packages: what makes `update` worth cleaning up.
const INSTALLS: &[&str] = &[
    "install",
    "reinstall",
    "upgrade",
    "dist-upgrade",
    "full-upgrade",
    "build-dep",
    "source",
    "download",
    "satisfy",
];

/// apt subcommands that do not read the package lists.
const LIST_FREE: &[&str] = &[
    "update",
    "clean",
    "autoclean",
    "auto-clean",
    "distclean",
    "dist-clean",
    "remove",
    "purge",
    "autoremove",
    "auto-remove",
    "autopurge",
    "mark",
];

fn is_apt(command: &Command) -> bool {
    matches!(command.program(), Some("apt-get" | "apt"))
}

/// apt subcommands that read the lists but install nothing.
const QUERIES: &[&str] = &[
    "check",
    "changelog",
    "policy",
    "show",
    "showsrc",
    "search",
    "list",
    "depends",
    "rdepends",
    "madison",
    "indextargets",
];

/// The apt subcommand of `command`: the first positional word that names one (`-o A=B` and
/// `-t release` put other words before it), else the first positional word.
fn apt_subcommand(command: &Command) -> Option<&str> {
    let positionals: Vec<&str> = command.positionals().filter_map(|w| w.value()).collect();
    positionals
        .iter()
        .copied()
        .find(|p| INSTALLS.contains(p) || LIST_FREE.contains(p) || QUERIES.contains(p))
        .or_else(|| positionals.first().copied())
}

/// Programs that read /var/lib/apt/lists. `aptitude` and `rosdep` (which runs apt-get)
/// install from them like apt-get.
const LIST_READERS: &[&str] = &["apt-get", "apt", "apt-cache", "aptitude", "rosdep"];

/// The apt program a command runs and the words after it, seen through any wrapper before
/// it (`sudo`, `env DEBIAN_FRONTEND=noninteractive`, `xargs -a pkgs`, `timeout 600`).
fn apt_invocation(command: &Command) -> Option<(&str, Vec<&str>)> {
    let words: Vec<Option<&str>> = command.words().map(dockopt_shell::Word::value).collect();
    let at = words.iter().position(|w| {
        w.is_some_and(|v| LIST_READERS.contains(&v.rsplit('/').next().unwrap_or(v)))
    })?;
    let program = words[at]?;
    let rest = words[at + 1..].iter().map(|w| w.unwrap_or("")).collect();
    Some((program.rsplit('/').next().unwrap_or(program), rest))
}

/// Whether the command reads /var/lib/apt/lists (`apt-get install`, `sudo apt install`,
/// `apt-cache policy`, `rosdep install`), or may: a shell's command string that runs apt
/// (`sh -c "apt-get install -y jq"`).
fn reads_lists(command: &Command) -> bool {
    if command.program().is_some_and(|p| LIST_READERS.contains(&p)) {
        return match command.program() {
            Some("apt-get" | "apt" | "aptitude") => {
                apt_subcommand(command).is_some_and(|action| !LIST_FREE.contains(&action))
            }
            _ => true,
        };
    }
    if let Some((program, rest)) = apt_invocation(command) {
        let action = rest
            .iter()
            .copied()
            .filter(|w| !w.starts_with('-'))
            .find(|p| INSTALLS.contains(p) || LIST_FREE.contains(p) || QUERIES.contains(p));
        return !matches!(program, "apt-get" | "apt" | "aptitude")
            || action.is_none_or(|a| !LIST_FREE.contains(&a));
    }
    // A command string run by a shell (`sh -c "apt-get install -y jq"`, `su -c '...'`):
    // any apt program among its words may read the lists.
    let runs_string = matches!(
        command.program(),
        Some("sh" | "bash" | "dash" | "ash" | "zsh" | "su" | "runuser")
    ) && command.has_flag("-c");
    runs_string
        && command.args.iter().any(|w| {
            w.text()
                .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
                .any(|token| LIST_READERS.contains(&token.rsplit('/').next().unwrap_or(token)))
        })
}

/// Whether the command runs a script whose commands dockopt cannot see (`./install.sh`,
/// `/tmp/setup`, `bash scripts/deps.sh`): it may run apt.
fn runs_script(knowledge: &Knowledge, command: &Command) -> bool {
    let Some(name) = command.name_value() else {
        return command.name.is_some();
    };
    // A program named by its path is a script unless it is a known package manager's
    // (`/venv/bin/pip`, `./mvnw`).
    let system = ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"];
    let known = recognize(knowledge, command).is_some();
    if !known
        && (name.contains('/') && !system.iter().any(|d| name.starts_with(d))
            || std::path::Path::new(name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("sh")))
    {
        return true;
    }
    // `sh FILE`, not `sh -c '...'` (whose string `reads_lists` has looked at).
    matches!(
        command.program(),
        Some("sh" | "bash" | "dash" | "ash" | "zsh")
    ) && !command.has_flag("-c")
        && command.positionals().next().is_some()
}

/// Whether the command refreshes the lists.
fn updates(knowledge: &Knowledge, command: &Command) -> bool {
    package_action(knowledge, command, "apt", &["update"]).is_some()
}

/// Whether the command deletes the lists.
fn removes_lists(command: &Command) -> bool {
    removes(command, LISTS, None)
        || (is_apt(command) && matches!(apt_subcommand(command), Some("distclean" | "dist-clean")))
}

/// Whether the instruction right after `run` is a cleanup RUN (only `rm` and `apt-get
/// clean`) that deletes the lists: merge-runs joins such a cleanup to this RUN, and a
/// second removal here would only repeat it.
fn next_run_removes_lists(file: &Dockerfile, run: Instruction<'_>) -> bool {
    file.instruction(run.index() + 1)
        .filter(|next| next.kind() == InstructionKind::Run)
        .and_then(dockopt_shell::parse_instruction)
        .is_some_and(|script| {
            let commands = script.commands();
            commands.iter().any(|c| removes_lists(c))
                && commands.iter().all(|c| {
                    c.program() == Some("rm") || is_apt(c) && apt_subcommand(c) == Some("clean")
                })
        })
}

/// What a later RUN does with the lists.
enum ListsUse {
    /// Reads them before any update: at this file offset.
    Reads(usize),
    /// Runs a script before any update, which may read them: at this file offset.
    MayRead(usize),
    /// Updates them before reading them.
    Refreshes,
    /// Nothing.
    Untouched,
}

fn lists_use(knowledge: &Knowledge, instruction: Instruction<'_>) -> ListsUse {
    // `ONBUILD RUN` runs in the builds of images made FROM this one, on these lists.
    let instruction = match instruction.kind() {
        InstructionKind::Onbuild => match instruction.onbuild_child() {
            Some(child) => child,
            None => return ListsUse::Untouched,
        },
        _ => instruction,
    };
    if instruction.kind() != InstructionKind::Run || mount_covers(instruction, Some(LISTS)) {
        return ListsUse::Untouched;
    }
    let at = instruction.range().start;
    if let Some(words) = instruction.json_array() {
        let program = words
            .first()
            .map(|w| w.value.rsplit('/').next().unwrap_or(w.value));
        let action = words.iter().skip(1).find(|w| !w.value.starts_with('-'));
        return match (program, action.map(|w| w.value)) {
            (Some("apt-get" | "apt"), Some("update")) => ListsUse::Refreshes,
            (Some("apt-get" | "apt"), Some(a)) if !LIST_FREE.contains(&a) => ListsUse::Reads(at),
            (Some("apt-cache"), _) => ListsUse::Reads(at),
            _ => ListsUse::Untouched,
        };
    }
    let Some(script) = dockopt_shell::parse_instruction(instruction) else {
        return ListsUse::Untouched;
    };
    if script.is_opaque() {
        // Cannot tell: any mention of apt may read the lists.
        let text = script.text();
        return if text.contains("apt-get") || text.contains("apt ") || text.contains("apt-cache") {
            ListsUse::Reads(at)
        } else {
            ListsUse::Untouched
        };
    }
    for command in script.commands() {
        if updates(knowledge, command) {
            return ListsUse::Refreshes;
        }
        if reads_lists(command) {
            return ListsUse::Reads(command.span.file.start);
        }
        if runs_script(knowledge, command) {
            return ListsUse::MayRead(command.span.file.start);
        }
    }
    ListsUse::Untouched
}

/// A later command that uses the lists a RUN leaves.
enum Reader {
    /// Reads them, at this file offset.
    Reads(usize),
    /// Runs a script that may, at this file offset.
    Script(usize),
}

/// The first later command that reads the lists this RUN leaves, or runs a script that
/// may, in its stage or in stages built from it (`FROM <stage>`, `FROM ${ARG}`, `ONBUILD
/// RUN`), before anything refreshes them.
fn later_reader(
    knowledge: &Knowledge,
    file: &Dockerfile,
    stage: usize,
    after: usize,
) -> Option<Reader> {
    let stages = file.stages();
    let graph = file.stage_graph();
    let mut todo = vec![(stage, Some(after))];
    let mut seen = vec![false; stages.len()];
    'stages: while let Some((s, after)) = todo.pop() {
        if s >= stages.len() || std::mem::replace(&mut seen[s], true) {
            continue;
        }
        for &instruction in &stages[s].instructions {
            if after.is_some_and(|a| instruction.index() <= a) {
                continue;
            }
            match lists_use(knowledge, instruction) {
                ListsUse::Reads(at) => return Some(Reader::Reads(at)),
                ListsUse::MayRead(at) => return Some(Reader::Script(at)),
                ListsUse::Refreshes => continue 'stages,
                ListsUse::Untouched => {}
            }
        }
        todo.extend(graph.edges.iter().filter_map(|e| match e.target {
            StageRef::Stage(base) if base == s && e.kind == EdgeKind::Base => Some((e.stage, None)),
            _ => None,
        }));
        // A later stage `FROM ${VARIANT}` may be built from this one.
        todo.extend(
            (s + 1..stages.len())
                .filter(|&later| stages[later].base().is_some_and(|b| b.contains('$')))
                .map(|later| (later, None)),
        );
    }
    None
}

impl Rule for AptListsCleanup {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        // With BuildKit, cache-mounts mounts /var/lib/apt and removes this cleanup.
        if ctx.target.buildkit {
            return Vec::new();
        }
        let states = stage_states(ctx.file);
        let mut out = Vec::new();
        for run in package_runs(ctx.file, &states, false) {
            if mount_covers(run.instruction, Some(LISTS)) {
                continue;
            }
            let commands = run.script.commands();
            let Some((update_at, action)) = commands.iter().enumerate().find_map(|(i, c)| {
                package_action(ctx.knowledge, c, "apt", &["update"]).map(|a| (i, a))
            }) else {
                continue;
            };
            let update = commands[update_at];
            if !commands[update_at..]
                .iter()
                .any(|c| package_action(ctx.knowledge, c, "apt", INSTALLS).is_some())
            {
                continue;
            }
            let last_reader = commands
                .iter()
                .rposition(|c| reads_lists(c) || updates(ctx.knowledge, c))
                .unwrap_or(update_at);
            if commands[last_reader..].iter().any(|c| removes_lists(c))
                || next_run_removes_lists(ctx.file, run.instruction)
            {
                continue;
            }
            let program = update.program().unwrap_or("apt-get");
            let mut diagnostic = Diagnostic::new(
                Self::META.name,
                command_range(update, action),
                format!(
                    "`{program} update` leaves the package lists in {LISTS} in this RUN's layer"
                ),
            );
            let reader = run.state.stage.and_then(|stage| {
                later_reader(ctx.knowledge, ctx.file, stage, run.instruction.index())
            });
            match (reader, chain_end(&run.script)) {
                (Some(Reader::Reads(at)), _) => {
                    let _ = write!(
                        diagnostic.message,
                        " (no automatic fix: line {} runs apt without `{program} update` and reads them)",
                        ctx.file.line_col(at).line
                    );
                }
                (Some(Reader::Script(_)) | None, None) => diagnostic
                    .message
                    .push_str(" (no automatic fix: the RUN is not one `&&` chain)"),
                (reader, Some(end)) => {
                    // A later script may run apt on these lists: dockopt cannot be sure,
                    // so the same fix is Unsafe and says why.
                    let (applicability, title) = match reader {
                        Some(Reader::Script(at)) => {
                            let line = ctx.file.line_col(at).line;
                            let _ = write!(
                                diagnostic.message,
                                " (the fix is unsafe: line {line} runs a script that may run apt without `{program} update`)"
                            );
                            (
                                Applicability::Unsafe,
                                format!(
                                    "Append `&& rm -rf {LISTS}/*` (line {line} must not need the lists)"
                                ),
                            )
                        }
                        _ => (Applicability::Safe, format!("Append `&& rm -rf {LISTS}/*`")),
                    };
                    diagnostic = diagnostic.with_fix(Fix::new(
                        title,
                        applicability,
                        vec![Edit::insert(end, format!(" && rm -rf {LISTS}/*"))],
                        DeclaredEffect {
                            disposable: vec![format!("{LISTS}/**")],
                            summary: "apt's package lists leave the image; `apt-get update` fetches them again".into(),
                            ..DeclaredEffect::default()
                        },
                    ));
                }
            }
            out.push(diagnostic);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::package_runs::support::{assert_fixtures, check_target};
    use super::AptListsCleanup;
    use crate::rules::test_support::{check, fixed};
    use dockopt_fix::Applicability;

    #[test]
    fn appends_the_cleanup_to_the_chain() {
        assert_eq!(
            fixed(
                &AptListsCleanup,
                "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
            )
            .unwrap(),
            "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
        );
        assert_eq!(
            fixed(
                &AptListsCleanup,
                "FROM debian\nRUN apt update && apt install -y curl > /dev/null && apt-get clean;\n"
            )
            .unwrap(),
            "FROM debian\nRUN apt update && apt install -y curl > /dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*;\n"
        );
    }

    #[test]
    fn continuation_lines_and_comments_stay() {
        let text = "FROM debian\nRUN apt-get update \\\n    # tools\n    && apt-get install -y \\\n        curl \\\n        git # vcs\nCMD [\"bash\"]\n";
        assert_eq!(
            fixed(&AptListsCleanup, text).unwrap(),
            "FROM debian\nRUN apt-get update \\\n    # tools\n    && apt-get install -y \\\n        curl \\\n        git && rm -rf /var/lib/apt/lists/* # vcs\nCMD [\"bash\"]\n"
        );
    }

    #[test]
    fn crlf_text_keeps_the_cleanup_on_its_line() {
        let text = "FROM debian\r\nRUN apt-get update \\\r\n && apt-get install -y curl\r\nCMD [\"bash\"]\r\n";
        assert_eq!(
            fixed(&AptListsCleanup, text).unwrap(),
            "FROM debian\r\nRUN apt-get update \\\r\n && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\r\nCMD [\"bash\"]\r\n"
        );
    }

    #[test]
    fn other_shapes_are_reported_without_fix() {
        for run in [
            "apt-get update && apt-get install -y curl || true",
            "apt-get update; apt-get install -y curl",
            "if true; then apt-get update && apt-get install -y curl; fi",
            "(apt-get update && apt-get install -y curl)",
        ] {
            let d = check(&AptListsCleanup, &format!("FROM debian\nRUN {run}\n"));
            assert_eq!(d.len(), 1, "{run}");
            assert!(d[0].fix.is_none(), "{run}");
        }
    }

    #[test]
    fn a_later_run_that_reads_the_lists_blocks_the_fix() {
        let text = "FROM debian AS base\nRUN apt-get update && apt-get install -y curl\nFROM base\nRUN apt-get install -y git\n";
        let d = check(&AptListsCleanup, text);
        assert_eq!(d.len(), 1);
        assert!(d[0].fix.is_none());
        assert!(d[0].message.contains("line 4"), "{}", d[0].message);
        // An update in between refreshes them; an exec-form apt-cache reads them.
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n";
        assert!(check(&AptListsCleanup, text)[0].fix.is_some());
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN [\"apt-cache\", \"policy\", \"git\"]\n";
        assert!(check(&AptListsCleanup, text)[0].fix.is_none());
        // Removing packages needs no lists, whatever options come first.
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get -o Dpkg::Options::=--force-all remove -y curl\n";
        assert!(check(&AptListsCleanup, text)[0].fix.is_some());
        // A cleanup RUN right after is merge-runs' to join, not a second removal.
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get clean && rm -rf /var/lib/apt/lists/*\n";
        assert!(check(&AptListsCleanup, text).is_empty());
        // A later RUN with its own mount on the lists does not read the layer's.
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN --mount=type=cache,target=/var/lib/apt apt-get install -y git\n";
        assert!(check(&AptListsCleanup, text)[0].fix.is_some());
    }

    #[test]
    fn readers_behind_wrappers_scripts_onbuild_and_arg_stages_block_the_fix() {
        for later in [
            "RUN sudo apt-get install -y jq",
            "RUN env DEBIAN_FRONTEND=noninteractive apt-get install -y jq",
            "RUN xargs -a /tmp/pkgs apt-get install -y",
            "RUN sh -c \"apt-get install -y jq\"",
            "RUN aptitude install -y jq",
            "RUN rosdep install --from-paths src -y",
            "ONBUILD RUN apt-get install -y jq",
        ] {
            let text =
                format!("FROM debian\nRUN apt-get update && apt-get install -y curl\n{later}\n");
            let d = check(&AptListsCleanup, &text);
            assert!(d.len() == 1 && d[0].fix.is_none(), "{later}: {d:?}");
        }
        // A later script may run apt: the fix is Unsafe.
        for later in [
            "RUN /tmp/install-extras.sh",
            "RUN bash scripts/deps.sh",
            "RUN ./configure && make",
        ] {
            let text =
                format!("FROM debian\nRUN apt-get update && apt-get install -y curl\n{later}\n");
            let d = check(&AptListsCleanup, &text);
            let fix = d[0].fix.as_ref().unwrap_or_else(|| panic!("{later}"));
            assert_eq!(fix.applicability, Applicability::Unsafe, "{later}");
            assert!(d[0].message.contains("line 3"), "{}", d[0].message);
        }
        for later in [
            "RUN /venv/bin/pip install -r r.txt",
            "RUN ./mvnw -B package",
        ] {
            let text =
                format!("FROM debian\nRUN apt-get update && apt-get install -y curl\n{later}\n");
            let fix = check(&AptListsCleanup, &text)[0].fix.clone().unwrap();
            assert_eq!(fix.applicability, Applicability::Safe, "{later}");
        }
        let text = "ARG VARIANT=base\nFROM debian AS base\nRUN apt-get update && apt-get install -y curl\nFROM ${VARIANT}\nRUN apt-get install -y jq\n";
        assert!(check(&AptListsCleanup, text)[0].fix.is_none());
        // Wrapped commands that do not read the lists leave the fix alone.
        for later in [
            "RUN sudo apt-get clean",
            "RUN env X=1 make",
            "RUN sh -c \"make\"",
        ] {
            let text =
                format!("FROM debian\nRUN apt-get update && apt-get install -y curl\n{later}\n");
            assert!(check(&AptListsCleanup, &text)[0].fix.is_some(), "{later}");
        }
    }

    #[test]
    fn cleaned_mounted_or_update_free_runs_are_not_reported() {
        for run in [
            "apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
            "apt-get update && apt-get install -y curl && rm -fr /var/lib/apt/lists",
            "apt-get update && apt-get install -y curl && apt-get clean && rm -rf /var/lib/apt/lists/* /tmp/*",
            "apt-get update && apt-get install -y curl; rm -rf /var/lib/apt/lists/*",
            "apt-get update && apt-get install -y curl && apt-get distclean",
            "--mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y curl",
            "--mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y curl",
            "apt-get install -y curl",
            "apt-get update",
            "echo apt-get update && apt-get install -y curl",
            "[\"apt-get\", \"update\"]",
        ] {
            let text = format!("FROM debian\nRUN {run}\n");
            assert!(check(&AptListsCleanup, &text).is_empty(), "{run}");
        }
        for text in [
            "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n",
            "FROM debian\nSHELL [\"pwsh\", \"-c\"]\nRUN apt-get update && apt-get install -y curl\n",
            "FROM debian\nONBUILD RUN apt-get update && apt-get install -y curl\n",
        ] {
            assert!(check(&AptListsCleanup, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn buildkit_targets_leave_it_to_cache_mounts() {
        let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\n";
        assert_eq!(check_target(&AptListsCleanup, text, false).len(), 1);
        assert!(check_target(&AptListsCleanup, text, true).is_empty());
    }

    #[test]
    fn fixtures() {
        let fixed = assert_fixtures(
            &AptListsCleanup,
            include_str!("../../fixtures/apt-lists-cleanup/fires.Dockerfile"),
            include_str!("../../fixtures/apt-lists-cleanup/does-not-fire.Dockerfile"),
        );
        assert!(fixed.contains("&& rm -rf /var/lib/apt/lists/*"), "{fixed}");
    }
}
