//! What is in effect at each instruction of a stage: USER, HOME, ENV and ARG values, SHELL.
//! Rules that place caches or merge RUNs read it instead of walking the stage themselves.

use std::collections::BTreeMap;

use dockopt_syntax::{Dockerfile, InstructionKind, Stage};

use crate::Knowledge;
use crate::image::{is_windows_reference, lookup};

/// The state an instruction runs in (set by the instructions before it in its stage).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageState {
    /// The stage this instruction belongs to (`None` before the first FROM).
    pub stage: Option<usize>,
    /// The base image or stage reference after FROM.
    pub base: Option<String>,
    /// USER as written (user part only, group dropped); `None` means root, the default.
    pub user: Option<String>,
    /// Variables set by ENV and ARG in the stage, over the base image's ENV that the
    /// knowledge lists: `Some(value)` when the value is literal, `None` when it refers to
    /// other variables (unknown here).
    pub env: BTreeMap<String, Option<String>>,
    /// The SHELL instruction's command line, if the stage set one.
    pub shell: Option<Vec<String>>,
    /// The stage's base image, followed through `FROM <stage>`, is a Windows image: RUN
    /// goes through cmd or PowerShell unless a SHELL says otherwise.
    pub windows: bool,
    /// The image at the root of the stage's `FROM <stage>` chain (global ARGs substituted).
    pub root_image: Option<String>,
}

impl StageState {
    /// Whether the user is root (no USER, or USER root / 0).
    pub fn is_root(&self) -> bool {
        self.user.as_deref().is_none_or(|u| u == "root" || u == "0")
    }

    /// A literal variable value.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).and_then(|v| v.as_deref())
    }

    /// Whether the variable is set at all (literal or not).
    pub fn is_set(&self, name: &str) -> bool {
        self.env.contains_key(name)
    }

    /// The HOME in effect: ENV HOME, else `/root` for root, `/home/NAME` for a named user
    /// (useradd -m's default); `None` when it cannot be known (a numeric uid, a variable).
    pub fn home(&self) -> Option<String> {
        if self.is_set("HOME") {
            return self.var("HOME").map(str::to_string);
        }
        match self.user.as_deref() {
            None | Some("root" | "0") => Some("/root".into()),
            Some(user) if user.contains('$') || user.chars().all(|c| c.is_ascii_digit()) => None,
            Some(user) => Some(format!("/home/{user}")),
        }
    }

    /// Whether RUN goes through a POSIX shell: no SHELL on a Linux image, or a SHELL of
    /// sh/bash/dash/ash/zsh/ksh.
    pub fn posix_shell(&self) -> bool {
        let Some(argv) = &self.shell else {
            return !self.windows;
        };
        argv.first().is_some_and(|program| {
            let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
            matches!(name, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh")
        })
    }
}

/// What a stage passes on to stages built `FROM` it: ENV (not ARG, which is scoped to its
/// stage), USER and SHELL, as Docker carries them in the image config.
#[derive(Clone, Debug, Default)]
struct Inherited {
    user: Option<String>,
    env: BTreeMap<String, Option<String>>,
    shell: Option<Vec<String>>,
    windows: bool,
    root_image: Option<String>,
}

/// The state before each instruction, by instruction index.
pub fn stage_states(file: &Dockerfile) -> Vec<StageState> {
    let escape = file.escape_char();
    let names: Vec<Option<String>> = file
        .stages()
        .iter()
        .map(|s| s.name().map(str::to_lowercase))
        .collect();
    let mut states = Vec::with_capacity(file.instructions().len());
    let mut current = StageState::default();
    let mut passed_on = Inherited::default();
    let mut finished: Vec<Inherited> = Vec::new();
    let mut stage = None::<usize>;
    // ARGs declared before the first FROM, with their defaults.
    let mut global_args: BTreeMap<String, Option<String>> = BTreeMap::new();
    for instruction in file.instructions() {
        if stage.is_none() && instruction.kind() == InstructionKind::Arg {
            for word in instruction.words() {
                let (name, value) = match word.value.split_once('=') {
                    Some((n, v)) => (n, Some(v.trim_matches(['"', '\'']).to_string())),
                    None => (word.value, None),
                };
                global_args.insert(name.to_string(), value);
            }
        }
        if instruction.kind() == InstructionKind::From {
            if stage.is_some() {
                finished.push(std::mem::take(&mut passed_on));
            }
            let index = stage.map_or(0, |s| s + 1);
            stage = Some(index);
            // `FROM ${VARIANT}` takes the global ARG's default, as BuildKit does.
            let base = instruction
                .from()
                .map(|f| substitute_args(f.image.value, &global_args));
            // `FROM <earlier stage>` (by name or number) starts from that stage's config.
            let parent = base.as_deref().and_then(|b| {
                let lower = b.to_lowercase();
                names[..index.min(names.len())]
                    .iter()
                    .position(|n| n.as_deref() == Some(lower.as_str()))
                    .or_else(|| b.parse::<usize>().ok().filter(|&i| i < index))
            });
            passed_on = match parent {
                Some(p) => finished.get(p).cloned().unwrap_or_default(),
                // An image's own ENV (CARGO_HOME in the rust images) holds until the
                // Dockerfile sets it.
                None => Inherited {
                    windows: base.as_deref().is_some_and(is_windows_reference),
                    env: base
                        .as_deref()
                        .and_then(|b| lookup(Knowledge::get(), b))
                        .map(|facts| {
                            facts
                                .env
                                .into_iter()
                                .map(|(name, value)| (name, Some(value)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    root_image: base.clone(),
                    ..Inherited::default()
                },
            };
            current = StageState {
                stage,
                base,
                user: passed_on.user.clone(),
                env: passed_on.env.clone(),
                shell: passed_on.shell.clone(),
                windows: passed_on.windows,
                root_image: passed_on.root_image.clone(),
            };
        }
        states.push(current.clone());
        match instruction.kind() {
            InstructionKind::User => {
                let user = instruction.args_text();
                let name = user.split(':').next().unwrap_or(user).trim();
                current.user = (!name.is_empty()).then(|| name.to_string());
                passed_on.user.clone_from(&current.user);
            }
            InstructionKind::Env => {
                for pair in instruction.key_values() {
                    let value = pair.unquoted_value(escape);
                    let literal = (!value.contains('$')).then_some(value);
                    current
                        .env
                        .insert(pair.key.value.to_string(), literal.clone());
                    passed_on.env.insert(pair.key.value.to_string(), literal);
                }
            }
            InstructionKind::Arg => {
                for word in instruction.words() {
                    let (name, value) = word.value.split_once('=').unwrap_or((word.value, ""));
                    // An ARG without a default may be set by --build-arg: unknown.
                    let literal = word
                        .value
                        .contains('=')
                        .then(|| value.trim_matches(['"', '\'']).to_string())
                        .filter(|v| !v.contains('$'));
                    current.env.entry(name.to_string()).or_insert(literal);
                }
            }
            // A drive-letter WORKDIR (`C:\\app`) only makes sense on Windows.
            InstructionKind::Workdir if is_drive_path(instruction.args_text()) => {
                current.windows = true;
                passed_on.windows = true;
            }
            InstructionKind::Shell => {
                current.shell = instruction
                    .json_array()
                    .map(|a| a.iter().map(|e| e.value.to_string()).collect());
                passed_on.shell.clone_from(&current.shell);
            }
            _ => {}
        }
    }
    states
}

/// `reference` with `$NAME`, `${NAME}` and `${NAME:-default}` replaced by the global ARGs'
/// defaults; a variable without a value stays as written (the reference is then unknown).
fn substitute_args(reference: &str, args: &BTreeMap<String, Option<String>>) -> String {
    let mut out = String::with_capacity(reference.len());
    let mut rest = reference;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, default, len) = if let Some(inner) = after.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                break;
            };
            let body = &inner[..end];
            let (name, default) = match body.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (body, None),
            };
            (name, default, end + 2)
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..len], None, len)
        };
        match args.get(name).cloned().flatten().filter(|v| !v.is_empty()) {
            Some(value) => out.push_str(&value),
            None => match default {
                Some(d) => out.push_str(d),
                None => out.push_str(&rest[at..=at + len]),
            },
        }
        rest = &rest[at + 1 + len..];
    }
    out.push_str(rest);
    out
}

/// Whether a path starts with a drive letter (`C:\\app`, `c:/tools`).
fn is_drive_path(path: &str) -> bool {
    let bytes = path.trim().as_bytes();
    bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'\\' | b'/')
}

/// The stage at `index` followed by the stages it is built FROM, nearest first.
pub fn stage_chain<'s, 'a>(stages: &'s [Stage<'a>], index: usize) -> Vec<&'s Stage<'a>> {
    let mut chain = vec![&stages[index]];
    let mut current = index;
    while let Some(base) = stages[current].base() {
        let parent = stages[..current]
            .iter()
            .rposition(|s| s.name().is_some_and(|n| n.eq_ignore_ascii_case(base)));
        match parent {
            Some(p) => {
                chain.push(&stages[p]);
                current = p;
            }
            None => break,
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::stage_states;

    #[test]
    fn user_home_env_and_shell_follow_the_stage() {
        let text = "FROM python:3.12 AS a\nENV PIP_CACHE_DIR=/cache/pip HOME_X=$HOME\nUSER app:app\nRUN x\nSHELL [\"pwsh\", \"-c\"]\nRUN y\nFROM node:22\nUSER 1000\nRUN z\nARG NPM_TOKEN\n";
        let file = dockopt_syntax::parse(text);
        let states = stage_states(&file);
        let run_x = &states[3];
        assert_eq!(run_x.user.as_deref(), Some("app"));
        assert_eq!(run_x.home().as_deref(), Some("/home/app"));
        assert_eq!(run_x.var("PIP_CACHE_DIR"), Some("/cache/pip"));
        assert!(run_x.is_set("HOME_X") && run_x.var("HOME_X").is_none());
        assert!(run_x.posix_shell());
        assert!(!states[5].posix_shell());
        let run_z = &states[8];
        assert_eq!(
            (run_z.stage, run_z.base.as_deref()),
            (Some(1), Some("node:22"))
        );
        assert!(run_z.env.is_empty() && run_z.shell.is_none());
        assert_eq!(run_z.home(), None, "numeric uid: HOME unknown");
        assert!(states[1].is_root() && states[1].home().as_deref() == Some("/root"));
    }

    #[test]
    fn from_a_stage_inherits_env_user_and_shell_but_not_arg() {
        let text = "FROM debian AS base\nARG VERSION=1\nENV PIP_CACHE_DIR=/cache\nUSER app\nSHELL [\"pwsh\", \"-c\"]\nFROM base AS child\nRUN x\nFROM 0\nRUN y\nFROM debian\nRUN z\n";
        let file = dockopt_syntax::parse(text);
        let states = stage_states(&file);
        for run in [6, 8] {
            let s = &states[run];
            assert_eq!(s.var("PIP_CACHE_DIR"), Some("/cache"), "instruction {run}");
            assert_eq!(s.user.as_deref(), Some("app"));
            assert!(!s.posix_shell());
            assert!(!s.is_set("VERSION"), "ARG does not cross stages");
        }
        let fresh = &states[10];
        assert!(fresh.env.is_empty() && fresh.user.is_none() && fresh.posix_shell());
    }

    #[test]
    fn from_takes_global_arg_defaults() {
        let text = "ARG VARIANT=base\nARG REG\nFROM debian AS base\nSHELL [\"/bin/bash\", \"-e\", \"-c\"]\nFROM ${VARIANT}\nRUN a\nFROM $REG/x:${TAG:-1}\nRUN b\n";
        let file = dockopt_syntax::parse(text);
        let states = stage_states(&file);
        assert_eq!(states[5].base.as_deref(), Some("base"));
        assert!(states[5].shell.is_some(), "inherited through the ARG");
        assert_eq!(states[7].base.as_deref(), Some("$REG/x:1"));
        let text = "# escape=`\nARG BASE=mcr.microsoft.com/windows/servercore:ltsc2022\nFROM ${BASE}\nRUN a\nFROM example.com/sdk:4.8\nWORKDIR C:\\src\nRUN b\n";
        let states = stage_states(&dockopt_syntax::parse(text));
        assert!(states[2].windows && states[5].windows);
    }

    #[test]
    fn windows_images_run_no_posix_shell_unless_a_shell_says_so() {
        let text = "FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS win
RUN a
FROM win
RUN b
SHELL [\"bash\", \"-c\"]
RUN c
FROM debian
RUN d
";
        let file = dockopt_syntax::parse(text);
        let states = stage_states(&file);
        let posix: Vec<bool> = [1, 3, 5, 7]
            .iter()
            .map(|&i| states[i].posix_shell())
            .collect();
        assert_eq!(posix, [false, false, true, true]);
    }
}
