use dockopt_fix::{DeclaredEffect, Diagnostic, FileChange, Fix};
use dockopt_syntax::{Instruction, InstructionKind};

use crate::knowledge::Ecosystem;
use crate::manifest::matches_pattern;
use crate::{
    BuildContext, CheckContext, ContextFiles, FixAvailability, IgnorePatterns, Rule, RuleMeta,
    declare_rule,
};

declare_rule! {
    /// ## What it does
    /// Writes or extends the build context's `.dockerignore`, for a Dockerfile that copies the
    /// whole context (`COPY . .`), when it lacks what the project
    /// needs kept out of the build: `.git`, local `.env` files, and per detected ecosystem
    /// its installed dependencies, virtualenvs, caches and build output (`node_modules`,
    /// `__pycache__`, `.venv`, `target`, `coverage`, ...).
    ///
    /// ## Why is this bad?
    /// Without it, `docker build` sends everything to the builder (a `node_modules` or
    /// `.git` of hundreds of megabytes, on every build), `COPY . .` copies it into the image
    /// (a host `node_modules` built for another platform, secrets in `.env`), and any change
    /// to those files invalidates the build cache.
    ///
    /// ## Example
    /// A Node project with no `.dockerignore`; the fix creates:
    /// ```text
    /// # Kept out of the build context by dockopt (dockerignore rule).
    /// .git
    /// .env
    /// node_modules
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe: the excluded files no longer reach the image, and an application that reads
    /// one of them at run time (a `.env` loaded by dotenv) changes. The fix never excludes a
    /// path that a COPY or ADD names, keeps `.git` when a RUN calls `git` or the Python build
    /// takes its version from git (setuptools-scm, hatch-vcs, ...), leaves alone what an
    /// existing `!` exception re-includes and any folder with an exception inside it (Rails
    /// keeps `!/log/.keep`, which an appended `log` would override), and only appends to an
    /// existing file. The change
    /// applies to every Dockerfile built from the same context. With `--dry-run` a new file
    /// shows as `--- /dev/null`, and `--patch` creates it with `git apply`.
    ///
    /// ## References
    /// Docker docs, ".dockerignore files"; hadolint has no equivalent.
    pub struct Dockerignore {
        name: "dockerignore",
        default_enabled: true,
        fix: FixAvailability::Always,
    }
}

/// The comment heading what dockopt adds.
const HEADER: &str = "# Kept out of the build context by dockopt (dockerignore rule).";

/// A path the pattern `entry` would exclude, to test coverage: `**/x` -> `a/x`, `*.pyc`
/// -> `x.pyc`.
fn probes(entry: &str) -> Vec<String> {
    let body = entry.strip_prefix("**/").unwrap_or(entry);
    let probe = body.replace('*', "x");
    if entry.starts_with("**/") {
        vec![probe.clone(), format!("x/{probe}")]
    } else {
        vec![probe]
    }
}

/// Whether an `!` exception of the ignore file `text` re-includes a path inside one of the
/// folders `probes` (an exception with a pattern counts from its literal part on).
fn reincludes_inside(text: &str, probes: &[String]) -> bool {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix('!'))
        .map(|pattern| {
            let pattern = pattern.trim().trim_start_matches('/');
            let literal = pattern
                .find(['*', '?', '['])
                .map_or(pattern, |at| &pattern[..at]);
            literal.trim_end_matches('/')
        })
        .any(|path| {
            probes.iter().any(|probe| {
                path.strip_prefix(probe.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
                    || path.contains(&format!("/{probe}/"))
            })
        })
}

/// Context paths a COPY, ADD or bind mount names (sources from the context only).
fn named_sources(ctx: &CheckContext<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for instruction in ctx.file.instructions() {
        let instruction = instruction.onbuild_child().unwrap_or(instruction);
        match instruction.kind() {
            InstructionKind::Copy | InstructionKind::Add => {
                if instruction.flag("from").is_some() {
                    continue;
                }
                let words = instruction.words();
                let Some((_, sources)) = words.split_last() else {
                    continue;
                };
                for source in sources {
                    let value = source.value.trim_matches('"');
                    if value.contains("://") || value.starts_with("<<") {
                        continue;
                    }
                    out.push(value.to_string());
                }
            }
            InstructionKind::Run => {
                for flag in instruction.flags().filter(|f| f.name() == "mount") {
                    let fields = flag.fields();
                    let field = |k: &str| {
                        fields
                            .iter()
                            .find(|(key, _)| key == k)
                            .and_then(|(_, v)| v.clone())
                    };
                    let is_bind = field("type").is_none_or(|t| t == "bind");
                    if is_bind && field("from").is_none() {
                        out.push(
                            field("source")
                                .or_else(|| field("src"))
                                .unwrap_or_else(|| ".".into()),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    out.into_iter()
        .map(|s| {
            s.trim_start_matches("./")
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_string()
        })
        .filter(|s| !s.is_empty() && s != ".")
        .collect()
}

/// Whether the Dockerfile's build reads `.git`: a RUN that calls git, or a Python build
/// that takes its version from git tags.
fn needs_git(ctx: &CheckContext<'_>, context: &BuildContext, ecosystems: &[&Ecosystem]) -> bool {
    // A RUN that calls git (or one dockopt cannot parse that mentions it).
    let runs_git = ctx.file.instructions().any(|i| {
        i.kind() == InstructionKind::Run
            && i.text().contains("git")
            && dockopt_shell::parse_instruction(i).is_none_or(|s| {
                s.is_opaque() || s.commands().iter().any(|c| c.program() == Some("git"))
            })
    });
    let markers: Vec<&String> = ecosystems
        .iter()
        .flat_map(|e| &e.keep_git_markers)
        .collect();
    runs_git
        || (!markers.is_empty()
            && ["pyproject.toml", "setup.py", "setup.cfg"].iter().any(|f| {
                context
                    .read_text(f)
                    .is_some_and(|t| markers.iter().any(|m| t.contains(m.as_str())))
            }))
}

fn detected<'k>(ctx: &CheckContext<'k>, files: &ContextFiles) -> Vec<&'k Ecosystem> {
    ctx.knowledge
        .manifests
        .ecosystems
        .iter()
        .filter(|e| {
            e.detect.iter().any(|d| {
                if d.contains('*') {
                    files.iter().any(|f| matches_pattern(d, &f.path))
                } else {
                    files.contains(d)
                }
            })
        })
        .collect()
}

/// The first COPY or ADD of the whole context (`COPY . .`): what it copies is what the
/// ignore file decides. Dockerfiles that copy only named files or folders are left alone.
fn first_context_copy<'a>(ctx: &CheckContext<'a>) -> Option<Instruction<'a>> {
    ctx.file.instructions().find(|i| {
        matches!(i.kind(), InstructionKind::Copy | InstructionKind::Add)
            && i.flag("from").is_none()
            && i.heredocs().len() == 0
            && i.words()
                .split_last()
                .is_some_and(|(_, sources)| sources.iter().any(|s| matches!(s.value, "." | "./")))
    })
}

impl Rule for Dockerignore {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let Some(context) = ctx.build_context else {
            return Vec::new();
        };
        let Some(anchor) = first_context_copy(ctx) else {
            return Vec::new();
        };
        let Some(files) = context.files() else {
            return Vec::new();
        };
        let ecosystems = detected(ctx, files);
        let manifests = &ctx.knowledge.manifests;
        let existing = context.ignore_file();
        let existing_text = existing.map(|f| f.text.as_str()).unwrap_or_default();
        let sources = named_sources(ctx);

        let mut wanted: Vec<&str> = Vec::new();
        let candidates = manifests
            .common_ignore
            .entries
            .iter()
            .chain(ecosystems.iter().flat_map(|e| e.ignore.iter()));
        for entry in candidates {
            let entry = entry.as_str();
            if wanted.contains(&entry)
                || manifests.common_ignore.never.iter().any(|n| n == entry)
                || (entry == ".git" && needs_git(ctx, context, &ecosystems))
            {
                continue;
            }
            let probes = probes(entry);
            // Already excluded, or re-included on purpose by an existing `!` exception.
            let with_entry_first = IgnorePatterns::parse(&format!("{entry}\n{existing_text}"));
            // (`node_modules` in the file counts for `**/node_modules`: the root is what matters.)
            if context.is_excluded(&probes[0])
                || probes.iter().any(|p| !with_entry_first.excludes(p))
            {
                continue;
            }
            // An existing `!` exception for something inside the entry (Rails' `!/log/.keep`
            // under `/log/*`) would lose to the entry appended after it: the folder would
            // vanish from the context, and a RUN that needs it fail.
            if reincludes_inside(existing_text, &probes) {
                continue;
            }
            // Never exclude what a COPY or ADD names, or anything inside it.
            let alone = IgnorePatterns::parse(entry);
            if sources.iter().any(|s| {
                alone.excludes(s)
                    || probes
                        .iter()
                        .any(|p| p == s || p.starts_with(&format!("{s}/")))
            }) {
                continue;
            }
            wanted.push(entry);
        }
        if wanted.is_empty() {
            return Vec::new();
        }
        let path = context.ignore_file_path();
        let file_name = path.file_name().map_or_else(
            || ".dockerignore".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut text = existing_text.to_string();
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str(nl);
        }
        if !text.is_empty() {
            text.push_str(nl);
        }
        text.push_str(HEADER);
        text.push_str(nl);
        for entry in &wanted {
            text.push_str(entry);
            text.push_str(nl);
        }
        let listed = wanted.join(", ");
        let line = ctx.file.line_col(anchor.range().start).line;
        let message = match existing {
            None => format!(
                "the build context has no .dockerignore: {listed} would be sent to the builder and copied into the image by the COPY at line {line}"
            ),
            Some(_) => format!(
                "{file_name} does not exclude {listed}, which the COPY at line {line} would copy into the image"
            ),
        };
        let title = match existing {
            None => format!("Create {file_name} excluding {listed}"),
            Some(_) => format!("Add {listed} to {file_name}"),
        };
        let mut effect = DeclaredEffect {
            summary: format!("{listed} no longer reach the build context or the image"),
            ..DeclaredEffect::default()
        };
        for entry in &wanted {
            let body = entry.trim_start_matches("**/");
            effect.paths.push(format!("**/{body}"));
            effect.paths.push(format!("**/{body}/**"));
        }
        let change = FileChange {
            path,
            original: existing.map(|f| f.text.clone()),
            text,
        };
        vec![
            Diagnostic::new(Self::META.name, anchor.range(), message)
                .with_fix(Fix::unsafe_edit(title, Vec::new(), effect).with_file_change(change)),
        ]
    }
}
