//! What each stage of a Dockerfile runs, in order: the RUN steps with the shell, text,
//! environment and working directory BuildKit would give them.
//!
//! Only what changes what a RUN does is kept: FROM (stage boundaries, `FROM <stage>`
//! inheritance, Windows bases), ARG and ENV (the environment), WORKDIR, SHELL and RUN.
//! COPY, ADD, USER and the rest change files or metadata the stubbed replay cannot see.
//! The RUN text is the *clean* text `/bin/sh -c` receives, built from the syntax layer's
//! shell pieces; nothing here uses dockopt's shell model or rules, so the oracle stays
//! independent of the code it checks.

use std::collections::BTreeMap;

use dockopt_syntax::{Dockerfile, Instruction, InstructionKind};

use crate::expand::{expand_word, join_path};

/// The environment every stage starts from (the image's own ENV is unknown).
pub const BASE_ENV: [(&str, &str); 2] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
];

/// Texts larger than this are not replayed.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// How a RUN runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Shell form: `argv` is the SHELL (`["/bin/sh", "-c"]` by default), `text` the clean
    /// script; `posix` when the shell is sh-like (replayed by bash in POSIX mode).
    Shell {
        argv: Vec<String>,
        posix: bool,
        text: String,
    },
    /// Exec form (or a heredoc script with its own `#!`): recorded as one program call.
    Exec { argv: Vec<String> },
}

/// One RUN as it will be replayed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    pub action: Action,
    /// The exported environment, sorted by name.
    pub env: Vec<(String, String)>,
    /// The working directory (absolute, clean).
    pub workdir: String,
    /// Targets of the RUN's `--mount=type=cache` flags (absolute, clean): what is written
    /// there never reaches the image.
    pub cache_mounts: Vec<String>,
}

/// One build stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagePlan {
    pub index: usize,
    /// The name after AS, lower-cased.
    pub name: Option<String>,
    /// The base image or stage after FROM, expanded with the global ARGs.
    pub base: String,
    /// 1-based line of the FROM.
    pub line: usize,
    pub steps: Vec<Step>,
    /// 1-based line of each step's RUN.
    pub step_lines: Vec<usize>,
    /// Why the stage cannot be replayed (Windows base, non-POSIX SHELL, a substitution
    /// the oracle does not understand, ...).
    pub skip: Option<String>,
    /// The stage runs cmd, PowerShell or another non-POSIX shell (a Windows base, or a
    /// SHELL that is not sh or bash, also through `FROM <stage>`): no RUN of it is sh.
    pub non_posix: bool,
    /// The text of the stage's instructions after FROM: tells whether a stage that cannot
    /// be replayed changed at all.
    pub source: String,
}

impl StagePlan {
    /// Whether two stages run the same thing (names, bases and line numbers aside: they do
    /// not change what the stubbed replay does). Stages that cannot be replayed are the
    /// same only when their instructions are.
    pub fn same_replay(&self, other: &Self) -> bool {
        if self.skip.is_some() || other.skip.is_some() {
            return self.skip.is_some() == other.skip.is_some() && self.source == other.source;
        }
        self.steps == other.steps
    }
}

/// Every stage of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlan {
    pub stages: Vec<StagePlan>,
    /// Why the whole file cannot be replayed: BuildKit's parser rejects it, it holds NUL
    /// bytes, it is too large.
    pub rejected: Option<String>,
}

/// The state that flows from one instruction to the next (and into `FROM <stage>`).
#[derive(Clone, Debug)]
struct State {
    env: BTreeMap<String, String>,
    args: BTreeMap<String, String>,
    workdir: String,
    shell: Vec<String>,
    skip: Option<String>,
    non_posix: bool,
}

impl State {
    fn fresh() -> Self {
        Self {
            env: BASE_ENV
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            args: BTreeMap::new(),
            workdir: "/".into(),
            shell: vec!["/bin/sh".into(), "-c".into()],
            skip: None,
            non_posix: false,
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.env.get(name).or_else(|| self.args.get(name)).cloned()
    }

    fn run_env(&self) -> Vec<(String, String)> {
        let mut all = self.args.clone();
        all.extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.into_iter().collect()
    }

    fn expand(&self, word: &str, escape: char) -> Result<String, String> {
        expand_word(word, escape, &|n| self.lookup(n)).map_err(|e| e.to_string())
    }
}

/// Whether a base image runs Windows containers (cmd or PowerShell, never sh).
fn is_windows_image(base: &str) -> bool {
    let b = base.to_ascii_lowercase();
    ["windows", "nanoserver", "servercore", "dotnet/framework"]
        .iter()
        .any(|w| b.contains(w))
}

/// The dialect of a SHELL: `Some(true)` for sh-like shells, `Some(false)` for bash, `None`
/// for shells the oracle cannot replay.
fn shell_dialect(argv0: &str) -> Option<bool> {
    match argv0.rsplit(['/', '\\']).next().unwrap_or(argv0) {
        "sh" | "ash" | "dash" => Some(true),
        "bash" => Some(false),
        _ => None,
    }
}

/// Plans every stage of `text`.
pub fn plan(text: &str) -> FilePlan {
    if text.contains('\0') {
        return rejected("the file holds NUL bytes");
    }
    if text.len() > MAX_TEXT_BYTES {
        return rejected("the file is larger than 1 MiB");
    }
    let file = dockopt_syntax::parse(text);
    if let Some(e) = file
        .errors()
        .iter()
        .find(|e| e.severity == dockopt_syntax::Severity::Error)
    {
        let at = file.line_col(e.range.start);
        return rejected(&format!("BuildKit rejects it: {at}: {}", e.message));
    }
    let escape = file.escape_char();
    let mut globals = State::fresh();
    for instruction in file.global_instructions() {
        if instruction.kind() == InstructionKind::Arg
            && let Err(e) = declare_args(&mut globals, instruction, None, escape)
        {
            globals.skip = Some(e);
        }
    }
    let mut finals: Vec<(Option<String>, State)> = Vec::new();
    let mut stages = Vec::new();
    for stage in file.stages() {
        let line = file.line_col(stage.from.range().start).line;
        let raw_base = stage.base().unwrap_or_default();
        let name = stage.name().map(str::to_ascii_lowercase);
        let mut base = raw_base.to_owned();
        let mut state = State::fresh();
        match globals.expand(raw_base, escape) {
            Ok(b) => base = b,
            Err(e) => state.skip = Some(format!("FROM {raw_base}: {e}")),
        }
        if let Some(e) = &globals.skip {
            state.skip = Some(format!("global ARG: {e}"));
        }
        let parent = finals
            .iter()
            .rev()
            .find(|(n, _)| n.as_deref() == Some(base.to_ascii_lowercase().as_str()));
        if let Some((_, parent)) = parent {
            let skip = state.skip.take();
            state = parent.clone();
            state.args.clear();
            state.skip = skip.or(state.skip);
        } else if is_windows_image(&base) {
            state.skip = Some(format!("Windows base image {base}"));
            state.non_posix = true;
        }
        let source = stage
            .instructions
            .iter()
            .map(|i| i.text())
            .collect::<Vec<_>>()
            .join("\n");
        let mut plan = StagePlan {
            index: stage.index,
            name: name.clone(),
            base,
            line,
            steps: Vec::new(),
            step_lines: Vec::new(),
            skip: None,
            non_posix: false,
            source,
        };
        for instruction in &stage.instructions {
            if state.skip.is_some() {
                break;
            }
            if let Err(e) = apply(&mut state, &mut plan, *instruction, &file, &globals, escape) {
                let at = file.line_col(instruction.range().start).line;
                state.skip = Some(format!("line {at}: {e}"));
            }
        }
        plan.skip.clone_from(&state.skip);
        plan.non_posix = state.non_posix;
        if plan.skip.is_some() {
            plan.steps.clear();
            plan.step_lines.clear();
        }
        finals.push((name, state));
        stages.push(plan);
    }
    FilePlan {
        stages,
        rejected: None,
    }
}

fn rejected(why: &str) -> FilePlan {
    FilePlan {
        stages: Vec::new(),
        rejected: Some(why.to_owned()),
    }
}

/// `ARG a=1 b`: a value, or the global default for a bare name inside a stage.
fn declare_args(
    state: &mut State,
    instruction: Instruction<'_>,
    globals: Option<&State>,
    escape: char,
) -> Result<(), String> {
    for word in instruction.words() {
        if let Some((name, value)) = word.value.split_once('=') {
            let value = state.expand(value, escape)?;
            state.args.insert(name.to_owned(), value);
        } else if let Some(default) = globals.and_then(|g| g.args.get(word.value)) {
            state.args.insert(word.value.to_owned(), default.clone());
        }
    }
    Ok(())
}

fn apply(
    state: &mut State,
    plan: &mut StagePlan,
    instruction: Instruction<'_>,
    file: &Dockerfile,
    globals: &State,
    escape: char,
) -> Result<(), String> {
    match instruction.kind() {
        InstructionKind::Arg => declare_args(state, instruction, Some(globals), escape)?,
        InstructionKind::Env => {
            // Every value of one ENV sees the environment from before that ENV.
            let mut set = Vec::new();
            for kv in instruction.key_values() {
                let key = state.expand(kv.key.value, escape)?;
                let value = state.expand(kv.value.value, escape)?;
                set.push((key, value));
            }
            state.env.extend(set);
        }
        InstructionKind::Workdir => {
            let raw = instruction
                .words()
                .first()
                .map(|w| w.value)
                .unwrap_or_default();
            let dir = state.expand(raw, escape)?;
            state.workdir = join_path(&state.workdir, &dir);
        }
        InstructionKind::Shell => {
            let argv: Vec<String> = instruction
                .json_array()
                .ok_or("SHELL is not a JSON array")?
                .iter()
                .map(|e| e.value.to_owned())
                .collect();
            let first = argv.first().ok_or("empty SHELL")?;
            if shell_dialect(first).is_none() {
                state.non_posix = true;
                return Err(format!("SHELL {first} is not a POSIX shell"));
            }
            state.shell = argv;
        }
        InstructionKind::Run => {
            let action = run_action(state, instruction)?;
            let cache_mounts = instruction
                .flags()
                .filter(|f| f.name() == "mount")
                .filter(|f| f.field("type").as_deref() == Some("cache"))
                .filter_map(|f| {
                    f.field("target")
                        .or_else(|| f.field("dst"))
                        .or_else(|| f.field("destination"))
                })
                .map(|t| join_path(&state.workdir, &t))
                .collect();
            plan.steps.push(Step {
                action,
                env: state.run_env(),
                workdir: state.workdir.clone(),
                cache_mounts,
            });
            plan.step_lines
                .push(file.line_col(instruction.range().start).line);
        }
        _ => {}
    }
    Ok(())
}

fn run_action(state: &State, instruction: Instruction<'_>) -> Result<Action, String> {
    if instruction.is_exec_form() {
        let argv = instruction
            .json_array()
            .unwrap_or_default()
            .iter()
            .map(|e| e.value.to_owned())
            .collect();
        return Ok(Action::Exec { argv });
    }
    if let Some(source) = dockopt_shell::instruction_source(instruction) {
        let text = source.text().to_owned();
        let posix = shell_dialect(&state.shell[0]).ok_or("not a POSIX shell")?;
        return Ok(Action::Shell {
            argv: state.shell.clone(),
            posix,
            text,
        });
    }
    // A lone heredoc that starts with `#!`: BuildKit runs it as its own program.
    let heredoc = instruction
        .heredocs()
        .next()
        .ok_or("RUN without a command")?;
    let body = heredoc.body();
    let shebang = body.lines().next().unwrap_or_default();
    let mut argv: Vec<String> = shebang
        .trim_start_matches('\t')
        .trim_start_matches("#!")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    argv.push(body.to_owned());
    Ok(Action::Exec { argv })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(step: &Step, name: &str) -> Option<String> {
        step.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn text_of(step: &Step) -> &str {
        match &step.action {
            Action::Shell { text, .. } => text,
            Action::Exec { .. } => panic!("exec"),
        }
    }

    #[test]
    fn env_args_workdir_shell_flow_into_runs() {
        let plan = plan(
            "ARG V=1\nARG BASE=debian\nFROM $BASE:12 AS Build\nARG V\nARG W=$V.0\n\
             ENV PATH=/opt/bin:$PATH A=$W B='$W'\nENV W=x C=$W\nWORKDIR /app\nWORKDIR src\n\
             SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN echo $A \\\n  # note\n  && true\n\
             FROM build\nRUN [\"/bin/true\", \"x\"]\n",
        );
        assert_eq!(plan.rejected, None);
        let [build, next] = &plan.stages[..] else {
            panic!("{plan:?}")
        };
        assert_eq!(build.base, "debian:12");
        assert_eq!(build.name.as_deref(), Some("build"));
        let step = &build.steps[0];
        assert_eq!(text_of(step), "echo $A   && true");
        assert_eq!(step.workdir, "/app/src");
        assert_eq!(
            env_of(step, "PATH").unwrap(),
            format!("/opt/bin:{}", BASE_ENV[0].1)
        );
        assert_eq!(env_of(step, "A").as_deref(), Some("1.0"));
        assert_eq!(env_of(step, "B").as_deref(), Some("$W"));
        // ENV W=x C=$W: C sees the W from before this ENV (the ARG); ENV wins over ARG.
        assert_eq!(env_of(step, "C").as_deref(), Some("1.0"));
        assert_eq!(env_of(step, "W").as_deref(), Some("x"));
        assert_eq!(env_of(step, "V").as_deref(), Some("1"));
        let Action::Shell { argv, posix, .. } = &step.action else {
            panic!()
        };
        assert!(!posix);
        assert_eq!(argv[0], "/bin/bash");
        assert_eq!(build.step_lines, [11]);
        let mounted = super::plan(
            "FROM debian\nWORKDIR /w\nRUN --mount=type=cache,target=/root/.cache/pip \\\n    --mount=type=bind,target=/x --mount=type=cache,dst=cache pip install x\n",
        );
        assert_eq!(
            mounted.stages[0].steps[0].cache_mounts,
            ["/root/.cache/pip", "/w/cache"]
        );
        // FROM build inherits ENV, WORKDIR and SHELL, not ARG.
        let step = &next.steps[0];
        assert_eq!(step.workdir, "/app/src");
        assert_eq!(env_of(step, "A").as_deref(), Some("1.0"));
        assert_eq!(env_of(step, "V"), None);
        assert_eq!(
            step.action,
            Action::Exec {
                argv: vec!["/bin/true".into(), "x".into()]
            }
        );
    }

    #[test]
    fn heredocs_and_escape_directive() {
        let plan = plan(
            "# escape=`\nFROM alpine\nRUN echo a `\n  b\nRUN <<EOF\necho one\necho two\nEOF\n\
             RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n",
        );
        let steps = &plan.stages[0].steps;
        assert_eq!(text_of(&steps[0]), "echo a   b");
        assert_eq!(text_of(&steps[1]), "echo one\necho two\n");
        let Action::Exec { argv } = &steps[2].action else {
            panic!()
        };
        assert_eq!(argv[..2], ["/usr/bin/env".to_owned(), "python3".to_owned()]);
    }

    #[test]
    fn what_cannot_be_replayed_is_skipped() {
        let p = plan("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir\n");
        assert!(p.stages[0].skip.as_deref().unwrap().contains("Windows"));
        // A stage that cannot be replayed is unchanged only when its text is.
        let q = plan("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir /w\n");
        assert!(!p.stages[0].same_replay(&q.stages[0]));
        assert!(q.stages[0].same_replay(&q.clone().stages[0]));
        assert!(p.stages[0].non_posix);
        let p = plan(
            "FROM debian AS a\nSHELL [\"pwsh\", \"-c\"]\nRUN x\nFROM debian\nRUN y\nFROM a\nRUN z\n",
        );
        assert!(p.stages[0].skip.as_deref().unwrap().contains("pwsh"));
        assert!(p.stages[0].non_posix && !p.stages[1].non_posix && p.stages[2].non_posix);
        assert!(p.stages[0].steps.is_empty());
        assert_eq!(p.stages[1].skip, None);
        let p = plan("FROM debian\nENV A=${B/x/y}\nRUN x\n");
        assert!(p.stages[0].skip.is_some() && !p.stages[0].non_posix);
        assert!(plan("FROM a\nRUN x\0\n").rejected.is_some());
        assert!(plan("FROM a\nRUN <<EOF\nunterminated\n").rejected.is_some());
    }
}
