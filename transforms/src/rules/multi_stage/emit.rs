//! The fix's edits: `AS build` on the FROM, what the ecosystem adds to the build stage,
//! the runtime-only instructions moved out of it, and the runtime stage written after it.

use std::fmt::Write as _;

use dockopt_fix::{ConfigKey, DeclaredEffect, Edit, Fix, Isolation};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, ItemKind, TextRange};

use super::Analysis;
use super::command::plain_words;
use super::ecosystem::Added;
use crate::paths::indent_of;
use crate::rules::{and_list, json_string, keyword_like};

/// The start of each instruction's lines with the comment lines directly above it, by
/// instruction index.
fn attached_starts(file: &Dockerfile) -> Vec<usize> {
    let mut starts: Vec<usize> = file.instructions().map(|i| i.line_range().start).collect();
    let mut block: Option<usize> = None;
    for item in file.items() {
        match item.kind {
            ItemKind::Comment => {
                block.get_or_insert(item.range.start);
            }
            ItemKind::Instruction(i) => {
                if let (Some(start), Some(slot)) = (block, starts.get_mut(i)) {
                    *slot = start;
                }
                block = None;
            }
            ItemKind::Blank | ItemKind::Directive(_) => block = None,
        }
    }
    starts
}

/// The line of `offset` is blank.
fn blank_line_at(text: &str, offset: usize) -> bool {
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    offset < text.len() && text[offset..end].trim().is_empty()
}

/// The line before the one starting at `offset` is blank (or there is none).
fn blank_line_before(text: &str, offset: usize) -> bool {
    if offset == 0 {
        return false;
    }
    let before = &text[..offset - 1];
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    text[start..offset].trim().is_empty()
}

/// An ENV of the stage as the runtime stage repeats it.
pub(super) struct RuntimeEnv<'a> {
    pub(super) env: Instruction<'a>,
    /// Which of its variables stay, in order; `None`: all of them (the text as written).
    pub(super) keep: Option<Vec<bool>>,
}

impl RuntimeEnv<'_> {
    fn text(&self) -> String {
        let Some(keep) = &self.keep else {
            return self.env.text().to_string();
        };
        let pairs: Vec<String> = self
            .env
            .key_values()
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(kv, _)| format!("{}={}", kv.key.value, kv.value.value))
            .collect();
        format!("{} {}", self.env.keyword(), pairs.join(" "))
    }
}

/// The edits.
#[allow(clippy::too_many_lines, clippy::too_many_arguments)]
pub(super) fn build_fix(
    a: &Analysis<'_>,
    envs: &[RuntimeEnv<'_>],
    last_workdir: Option<Instruction<'_>>,
    runtime: &[(Instruction<'_>, bool)],
    artifacts: &[String],
    packages: &[String],
    inserts: &[(usize, String)],
    changes_build: Option<&str>,
    dropped_env: &[String],
    rebuilt: &[String],
) -> Fix {
    let file = a.file;
    let text = file.text();
    let nl = file.line_ending();
    let from = a.stage.from;
    let from_view = from.from().expect("a FROM instruction");
    let kw = |upper: &str| keyword_like(from.keyword(), upper);
    let instruction_text = |added: &Added| format!("{} {}", kw(added.keyword), added.args);
    let starts = attached_starts(file);
    let additions = a.eco.additions();
    let mut edits = Vec::new();

    // FROM <base> AS build.
    let name = if let Some(name) = from_view.stage_name {
        name.value.to_string()
    } else {
        edits.push(Edit::insert(
            from_view.image.range.end,
            format!(" {} build", kw("AS")),
        ));
        "build".to_string()
    };

    // What the build commands need for the runtime (`CGO_ENABLED=0 ` before `go build`).
    for (at, text) in inserts {
        edits.push(Edit::insert(*at, text.clone()));
    }

    // What the ecosystem sets up before a build command (Python: the virtual environment
    // before the first pip install), above the COPYs right before it, so that a later
    // split of such a COPY is not blocked.
    if let Some((anchor, added)) = &additions.before {
        let mut at = *anchor;
        while at > 0
            && matches!(
                a.stage.instructions[at - 1].kind(),
                InstructionKind::Copy | InstructionKind::Add
            )
        {
            at -= 1;
        }
        let target = a.stage.instructions[at];
        let indent = indent_of(text, target.range().start);
        let mut lines = String::new();
        for instruction in added {
            let _ = write!(lines, "{indent}{}{nl}", instruction_text(instruction));
        }
        edits.push(Edit::insert(starts[target.index()], lines));
    }

    // The end of what stays in the build stage.
    let moved: Vec<Instruction<'_>> = runtime
        .iter()
        .filter(|(_, delete)| *delete)
        .map(|(i, _)| *i)
        .collect();
    let kept_end = std::iter::once(from)
        .chain(
            a.stage
                .instructions
                .iter()
                .copied()
                .filter(|i| !moved.iter().any(|m| m.index() == i.index())),
        )
        .map(|i| i.line_range().end)
        .max()
        .unwrap_or(text.len());
    for instruction in &moved {
        let start = starts[instruction.index()];
        if start >= kept_end {
            continue;
        }
        let mut end = instruction.line_range().end;
        if blank_line_before(text, start) && blank_line_at(text, end) {
            end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        }
        edits.push(Edit::delete(TextRange::new(start, end)));
    }

    // Comments after the last kept instruction that no moved instruction owns stay.
    let mut tail = String::new();
    if !text[..kept_end].ends_with('\n') && kept_end > 0 {
        tail.push_str(nl);
    }
    for instruction in &additions.build_end {
        let _ = write!(tail, "{}{nl}", instruction_text(instruction));
    }
    for item in file.items() {
        if item.kind != ItemKind::Comment || item.range.start < kept_end {
            continue;
        }
        let owned = moved.iter().any(|m| {
            starts[m.index()] <= item.range.start && item.range.start < m.line_range().end
        });
        if !owned {
            tail.push_str(&text[item.range.range()]);
            if !tail.ends_with('\n') {
                tail.push_str(nl);
            }
        }
    }

    // The runtime stage.
    let mut stage = String::new();
    stage.push_str(nl);
    let platform = from_view
        .platform
        .map(|p| format!(" {}", &text[p.range.range()]))
        .unwrap_or_default();
    let _ = write!(stage, "{}{platform} {}{nl}", kw("FROM"), a.twin);
    for env in envs {
        let _ = write!(stage, "{}{nl}", env.text());
    }
    if let (Some(workdir), Some(dir)) = (last_workdir, &a.final_wd) {
        let _ = write!(stage, "{} {dir}{nl}", workdir.keyword());
    }
    if !packages.is_empty() {
        let _ = write!(
            stage,
            "{} apt-get update && apt-get install -y --no-install-recommends {} && rm -rf \
             /var/lib/apt/lists/*{nl}",
            kw("RUN"),
            packages.join(" ")
        );
    }
    let copy = kw("COPY");
    let mut shown = Vec::new();
    for artifact in artifacts {
        let dest = additions
            .destinations
            .iter()
            .find(|(from, _)| from == artifact)
            .map_or(artifact.as_str(), |(_, to)| to.as_str());
        let _ = write!(stage, "{copy} --from={name} {artifact} {dest}{nl}");
        for (_, added) in additions
            .after_copy
            .iter()
            .filter(|(path, _)| path == artifact)
        {
            for instruction in added {
                let _ = write!(stage, "{}{nl}", instruction_text(instruction));
            }
        }
        shown.push(if dest == artifact {
            artifact.clone()
        } else {
            format!("{artifact} (as {dest})")
        });
    }
    let no_shell = !a.twin_facts.shell;
    for &(instruction, delete) in runtime {
        let line_range = instruction.line_range();
        let start = if delete {
            starts[instruction.index()]
        } else {
            instruction.range().start
        };
        let lead = if delete {
            &text[start..instruction.range().start]
        } else {
            ""
        };
        let convert = no_shell
            && matches!(
                instruction.kind(),
                InstructionKind::Cmd | InstructionKind::Entrypoint
            )
            && !instruction.is_exec_form();
        let body = if convert {
            let words = plain_words(instruction).unwrap_or_default();
            let json: Vec<String> = words.iter().map(|w| json_string(w)).collect();
            format!("{} [{}]", instruction.keyword(), json.join(", "))
        } else {
            instruction.text().to_string()
        };
        let after = &text[instruction.range().end..line_range.end];
        let _ = write!(stage, "{lead}{body}{after}");
        if !stage.ends_with('\n') {
            stage.push_str(nl);
        }
    }
    if !text.ends_with('\n') {
        while stage.ends_with('\n') {
            stage.pop();
            if stage.ends_with('\r') {
                stage.pop();
            }
        }
    }
    tail.push_str(&stage);
    edits.push(Edit::replace(TextRange::new(kept_end, text.len()), tail));

    let mut config = Vec::new();
    // An ENV that follows an artifact (the venv's PATH) is new in the runtime config.
    let sets_env = additions.after_copy.iter().any(|(artifact, added)| {
        artifacts.contains(artifact) && added.iter().any(|i| i.keyword == "ENV")
    });
    if sets_env || !dropped_env.is_empty() {
        config.push(ConfigKey::Env);
    }
    // A `:nonroot` twin runs as its own user where the original, with no USER, ran as root.
    let sets_user = runtime
        .iter()
        .any(|(i, _)| i.kind() == InstructionKind::User);
    if a.twin_facts.default_user_nonroot && !sets_user {
        config.push(ConfigKey::User);
    }
    let mut fix = Fix::unsafe_edit(
        format!(
            "Build in a `{name}` stage and run FROM {} with only {}",
            a.twin,
            and_list(&shown)
        ),
        edits,
        DeclaredEffect {
            config,
            env: dropped_env.to_vec(),
            rebuilt: rebuilt.to_vec(),
            paths: vec!["/**".into()],
            base_image: true,
            summary: format!(
                "runtime stage FROM {} with {} from the build stage{}",
                a.twin,
                and_list(&shown),
                changes_build.map(|c| format!("; {c}")).unwrap_or_default()
            ),
            ..DeclaredEffect::default()
        },
    );
    fix.isolation = Isolation::Alone;
    fix
}
