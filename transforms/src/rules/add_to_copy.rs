use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_syntax::InstructionKind;

use crate::rules::keyword_like;
use crate::{CheckContext, EntryKind, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds `ADD` instructions whose sources are local files or folders, and replaces
    /// `ADD` with `COPY`.
    ///
    /// ## Why is this bad?
    /// `ADD` also downloads URLs and unpacks local tar archives. Used for plain files it
    /// hides that magic from readers and invites surprises: a file that happens to be an
    /// archive is unpacked instead of copied. `COPY` says exactly what happens.
    ///
    /// ## Example
    /// ```dockerfile
    /// ADD requirements.txt /app/
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// COPY requirements.txt /app/
    /// ```
    ///
    /// ## Fix safety
    /// Safe when every source is a folder or a file that is not an archive: `ADD` and `COPY`
    /// then put the same files in the image. dockopt looks in the build context (`--context`,
    /// default the Dockerfile's folder) and reads a file's first bytes, as BuildKit decides by
    /// content; without the context it trusts names only when they say "not an archive"
    /// (`.py`, `.json`, `.txt`, ...). Unsafe otherwise (globs, variables, files it cannot
    /// see): if a source is a tar archive, `ADD` unpacks it and `COPY` does not. No fix for
    /// URLs, git sources, archives, or `ADD`-only flags (`--checksum`, `--keep-git-dir`,
    /// `--unpack`).
    ///
    /// ## References
    /// hadolint DL3020; Docker best practices, "ADD or COPY".
    pub struct AddToCopy {
        name: "add-to-copy",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// What ADD would do with one source.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// A folder or a file that is clearly not an archive.
    Plain,
    /// Could be an archive (glob, no telling extension, a variable).
    Unknown,
    /// A URL, a git source or an archive name: ADD is doing its real job.
    NeedsAdd,
}

impl Rule for AddToCopy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let knowledge = &ctx.knowledge.archives;
        let classify = |source: &str| -> Source {
            let lower = source.to_ascii_lowercase();
            if knowledge
                .remote_prefixes
                .iter()
                .any(|p| lower.starts_with(p.as_str()))
            {
                return Source::NeedsAdd;
            }
            if knowledge
                .archive_suffixes
                .iter()
                .any(|s| lower.ends_with(s.as_str()))
            {
                return Source::NeedsAdd;
            }
            if source.contains(['*', '?', '[', '$']) {
                return Source::Unknown;
            }
            // With the build context at hand, look: BuildKit decides by content, not name.
            if let Some(context) = ctx.build_context {
                match (context.kind(source), context.is_archive(source)) {
                    (Some(EntryKind::Folder), _) | (Some(EntryKind::File), Some(false)) => {
                        return Source::Plain;
                    }
                    (Some(EntryKind::File), Some(true)) => return Source::NeedsAdd,
                    _ => {}
                }
            }
            if source == "." || source.ends_with('/') {
                return Source::Plain;
            }
            let name = lower.rsplit('/').next().unwrap_or(&lower);
            match name.rsplit_once('.') {
                Some((stem, ext))
                    if !stem.is_empty() && knowledge.plain_extensions.iter().any(|e| e == ext) =>
                {
                    Source::Plain
                }
                _ => Source::Unknown,
            }
        };
        let mut out = Vec::new();
        for instruction in ctx.file.instructions() {
            let instruction = instruction.onbuild_child().unwrap_or(instruction);
            if instruction.kind() != InstructionKind::Add {
                continue;
            }
            if instruction
                .flags()
                .any(|f| knowledge.add_only_flags.iter().any(|a| a == f.name()))
            {
                continue;
            }
            // A heredoc source is inline content: ADD and COPY write it the same way.
            let markers: Vec<_> = instruction
                .heredocs()
                .map(dockopt_syntax::Heredoc::marker_range)
                .collect();
            let words = instruction.words();
            let Some((_, sources)) = words.split_last() else {
                continue;
            };
            let worst = sources
                .iter()
                .map(|w| {
                    if markers.contains(&w.range) {
                        Source::Plain
                    } else {
                        classify(w.value)
                    }
                })
                .max()
                .unwrap_or(Source::Plain);
            if worst == Source::NeedsAdd {
                continue;
            }
            let keyword = instruction.keyword_range();
            let edit = Edit::replace(keyword, keyword_like(instruction.keyword(), "COPY"));
            let fix = if worst == Source::Plain {
                Fix::new(
                    "Replace ADD with COPY",
                    Applicability::Safe,
                    vec![edit],
                    DeclaredEffect::none(),
                )
            } else {
                Fix::new(
                    "Replace ADD with COPY",
                    Applicability::Unsafe,
                    vec![edit],
                    DeclaredEffect {
                        paths: vec![words.last().map_or(String::new(), |w| w.value.to_string())],
                        summary: "a source that is a tar archive would be copied, not unpacked"
                            .into(),
                        ..DeclaredEffect::default()
                    },
                )
            };
            out.push(
                Diagnostic::new(
                    Self::META.name,
                    keyword,
                    "ADD of local files: COPY says what happens",
                )
                .with_fix(fix),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::AddToCopy;
    use crate::rules::test_support::{check, fixed};
    use dockopt_fix::Applicability;

    #[test]
    fn plain_local_files_become_copy_safely() {
        let text = "FROM a\nADD app.py requirements.txt /app/\nadd --chown=1:1 src/ /src/\n";
        let diagnostics = check(&AddToCopy, text);
        assert_eq!(diagnostics.len(), 2);
        assert!(
            diagnostics
                .iter()
                .all(|d| d.fix.as_ref().unwrap().applicability == Applicability::Safe)
        );
        assert_eq!(
            fixed(&AddToCopy, text).unwrap(),
            "FROM a\nCOPY app.py requirements.txt /app/\nadd --chown=1:1 src/ /src/\n"
        );
    }

    #[test]
    fn archives_urls_and_add_only_flags_are_left_alone() {
        for text in [
            "FROM a\nADD https://example.com/x.txt /x\n",
            "FROM a\nADD rootfs.tar.gz /\n",
            "FROM a\nADD --checksum=sha256:0 app.py /\n",
            "FROM a\nADD git@github.com:a/b.git /src\n",
            "FROM a\nCOPY app.py /\n",
        ] {
            assert!(check(&AddToCopy, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn the_build_context_decides_by_content() {
        use crate::{BuildContext, CheckContext, Knowledge, Rule};
        let dir = std::env::temp_dir().join(format!("dockopt-add-ctx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::write(dir.join("data"), "plain").unwrap();
        std::fs::write(dir.join("bundle"), [0x1f, 0x8b, 8, 0]).unwrap();
        let context = BuildContext::new(&dir);
        let text = "FROM a\nADD data conf /x/\nADD bundle /y/\nADD missing /z/\n";
        let file = dockopt_syntax::parse(text);
        let d = AddToCopy.check(&CheckContext {
            file: &file,
            knowledge: Knowledge::get(),
            build_context: Some(&context),
            options: &crate::RuleOptions::default(),
            target: &crate::TargetFacts::default(),
        });
        let lines: Vec<_> = d
            .iter()
            .map(|d| {
                (
                    file.line_col(d.range.start).line,
                    d.fix.as_ref().unwrap().applicability,
                )
            })
            .collect();
        // `bundle` is gzip: ADD unpacks it, so that one stays; `missing` cannot be seen.
        assert_eq!(
            lines,
            [(2, Applicability::Safe), (4, Applicability::Unsafe)]
        );
    }

    #[test]
    fn unknown_sources_are_unsafe() {
        for text in [
            "FROM a\nADD data /data\n",
            "FROM a\nADD *.bin /x/\n",
            "FROM a\nADD $SRC /x\n",
        ] {
            let d = check(&AddToCopy, text);
            assert_eq!(
                d[0].fix.as_ref().unwrap().applicability,
                Applicability::Unsafe,
                "{text}"
            );
        }
    }
}
