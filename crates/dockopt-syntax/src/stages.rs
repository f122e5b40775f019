//! The stage graph: which stage reads which, and which external images the build uses.

use crate::{Dockerfile, Flag, InstructionKind};

/// What a stage reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageRef {
    /// Another stage of this file, by index.
    Stage(usize),
    /// An image (or, for `COPY --from`, a named build context), by name.
    External(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// `FROM <ref>`: the stage starts from it.
    Base,
    /// `COPY --from=<ref>` (or ADD).
    CopyFrom,
    /// `RUN --mount=...,from=<ref>`.
    MountFrom,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageEdge {
    /// The stage that reads.
    pub stage: usize,
    pub target: StageRef,
    pub kind: EdgeKind,
    /// The instruction (its index in the file) that makes the edge.
    pub instruction: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageGraph {
    /// Stage names (lower-cased, as BuildKit compares them), `None` for unnamed stages.
    pub names: Vec<Option<String>>,
    pub edges: Vec<StageEdge>,
}

impl StageGraph {
    /// The stages `stage` reads directly.
    pub fn dependencies(&self, stage: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges.iter().filter_map(move |e| match e.target {
            StageRef::Stage(s) if e.stage == stage => Some(s),
            _ => None,
        })
    }

    /// Stages nothing reads from and that are not the last (the default target).
    pub fn unused_stages(&self) -> Vec<usize> {
        let last = self.names.len().saturating_sub(1);
        let mut used = vec![false; self.names.len()];
        let mut stack = vec![last];
        while let Some(s) = stack.pop() {
            if s < used.len() && !used[s] {
                used[s] = true;
                stack.extend(self.dependencies(s));
            }
        }
        (0..self.names.len()).filter(|&s| !used[s]).collect()
    }
}

pub(crate) fn build(file: &Dockerfile) -> StageGraph {
    let stages = file.stages();
    let names: Vec<Option<String>> = stages
        .iter()
        .map(|s| s.name().map(str::to_lowercase))
        .collect();
    // A reference names a stage (before `current` for FROM) or a numeric stage index.
    let resolve = |reference: &str, current: usize, earlier_only: bool| -> StageRef {
        let lower = reference.to_lowercase();
        let limit = if earlier_only { current } else { names.len() };
        if let Some(i) = names[..limit]
            .iter()
            .position(|n| n.as_deref() == Some(lower.as_str()))
            .filter(|&i| i != current)
        {
            return StageRef::Stage(i);
        }
        if let Ok(i) = reference.parse::<usize>()
            && i < current
        {
            return StageRef::Stage(i);
        }
        StageRef::External(reference.to_string())
    };
    let mut edges = Vec::new();
    for stage in &stages {
        if let Some(base) = stage.base() {
            edges.push(StageEdge {
                stage: stage.index,
                target: resolve(base, stage.index, true),
                kind: EdgeKind::Base,
                instruction: stage.from.index(),
            });
        }
        for instruction in &stage.instructions {
            // ONBUILD triggers run in images built from this one, not here: no edge.
            let kind = instruction.kind();
            if matches!(kind, InstructionKind::Copy | InstructionKind::Add)
                && let Some(from) = instruction.flag("from").and_then(Flag::value)
            {
                edges.push(StageEdge {
                    stage: stage.index,
                    target: resolve(from, stage.index, false),
                    kind: EdgeKind::CopyFrom,
                    instruction: instruction.index(),
                });
            }
            if kind == InstructionKind::Run {
                for mount in instruction.flags().filter(|f| f.name() == "mount") {
                    if let Some(from) = mount.field("from") {
                        edges.push(StageEdge {
                            stage: stage.index,
                            target: resolve(&from, stage.index, false),
                            kind: EdgeKind::MountFrom,
                            instruction: instruction.index(),
                        });
                    }
                }
            }
        }
    }
    StageGraph { names, edges }
}
