//! The data a rule reports: diagnostics, fixes, edits, file changes, applicability,
//! declared effects.

use std::path::PathBuf;

use dockopt_syntax::TextRange;

/// Replace `range` of the original text with `replacement` (an insertion when the range is
/// empty, a deletion when the replacement is).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edit {
    pub range: TextRange,
    pub replacement: String,
}

impl Edit {
    pub fn replace(range: TextRange, replacement: impl Into<String>) -> Self {
        Self {
            range,
            replacement: replacement.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self::replace(TextRange::empty(at), text)
    }

    pub fn delete(range: TextRange) -> Self {
        Self::replace(range, String::new())
    }

    /// True when the two edits cannot be applied in one splice: they overlap, or one
    /// touches the other (two insertions at one offset have no defined order).
    pub fn conflicts_with(&self, other: &Self) -> bool {
        self.range.start <= other.range.end && other.range.start <= self.range.end
    }
}

/// A change to a file other than the Dockerfile, e.g. the build context's `.dockerignore`:
/// its whole new text, and the text the rule read, so that the change is written only if
/// the file still holds that text (or, for a new file, still does not exist).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileChange {
    /// The file, as the rule built it: the build context's root joined with the file name.
    pub path: PathBuf,
    /// The text the rule read; `None` when the file does not exist and is created.
    pub original: Option<String>,
    /// The full new text.
    pub text: String,
}

impl FileChange {
    /// Creates `path`, which does not exist, with `text`.
    pub fn create(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            original: None,
            text: text.into(),
        }
    }

    /// Replaces the text of `path`, which holds `original`, with `text`.
    pub fn update(
        path: impl Into<PathBuf>,
        original: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            original: Some(original.into()),
            text: text.into(),
        }
    }

    /// True when the file does not exist and the change creates it.
    pub fn is_create(&self) -> bool {
        self.original.is_none()
    }

    /// True when the change leaves an existing file as it is.
    pub fn is_noop(&self) -> bool {
        self.original.as_deref() == Some(self.text.as_str())
    }
}

/// How sure a fix is, ordered: `DisplayOnly < Unsafe < Safe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Applicability {
    /// Shown to the user, never applied.
    DisplayOnly,
    /// Changes what the image contains or runs (see the rule's `## Fix safety`); applied
    /// only with `--unsafe-fixes`.
    Unsafe,
    /// Keeps the image's config and files, except files the fix declares disposable.
    Safe,
}

impl Applicability {
    pub fn name(self) -> &'static str {
        match self {
            Self::DisplayOnly => "display-only",
            Self::Unsafe => "unsafe",
            Self::Safe => "safe",
        }
    }
}

/// Image config fields a fix may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKey {
    User,
    Cmd,
    Entrypoint,
    Env,
    WorkingDir,
    ExposedPorts,
    Labels,
    Healthcheck,
    Volumes,
    StopSignal,
    Shell,
}

/// What a fix may change in the built image. A Safe fix changes only `disposable` paths
/// (package-manager caches and indexes); anything in `config` or `paths` makes it Unsafe.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeclaredEffect {
    /// Paths (globs) whose files may appear, vanish or change because they are disposable
    /// caches, e.g. `/var/lib/apt/lists/**`, `/root/.cache/pip/**`.
    pub disposable: Vec<String>,
    /// Config fields that may change.
    pub config: Vec<ConfigKey>,
    /// Other paths (globs) whose files may change.
    pub paths: Vec<String>,
    /// ENV variables, by name, that the image may lose or hold another value of: narrower
    /// than `config` holding `Env`, so it also counts for a fix that changes the base image
    /// (multi-stage leaves build-only variables such as `CGO_ENABLED` out of the runtime).
    pub env: Vec<String>,
    /// Programs (paths) the fix builds another way (`CGO_ENABLED=0`, a static binary): their
    /// bytes may differ; the smoke check must still pass and their libraries resolve.
    pub rebuilt: Vec<String>,
    /// The base image may change (a tag, a slim variant).
    pub base_image: bool,
    /// One line for people: what changes and why it is acceptable.
    pub summary: String,
}

impl DeclaredEffect {
    /// Only layer boundaries, size or build speed change.
    pub fn none() -> Self {
        Self::default()
    }
}

/// Whether a fix may be applied in the same round as other fixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Isolation {
    /// Any non-conflicting fixes may go together.
    #[default]
    Shared,
    /// Applied alone in its round (fixes that restructure the whole file).
    Alone,
}

/// A set of edits of the Dockerfile applied together, all or none; or a set of changes to
/// other files ([`Fix::files`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, imperative: "Merge with the RUN above".
    pub title: String,
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
    pub isolation: Isolation,
    pub effect: DeclaredEffect,
    /// Changes to other files than the Dockerfile (empty for most fixes). A fix is either
    /// Dockerfile edits or file changes, never both: a fix with both is never applied. The
    /// fix loop never applies file changes in its rounds; it collects them once the
    /// Dockerfile converged ([`crate::FixOutcome::file_changes`]), and its caller writes
    /// them.
    pub files: Vec<FileChange>,
    /// Ranges of the original text whose shell commands or words the fix removes on
    /// purpose (a cleanup a cache mount makes useless, a `--no-cache-dir` that only empties
    /// the mount). The fix loop checks after each round that every command of the RUNs a
    /// round rewrote still runs, in order, with all its words; a command or word inside one
    /// of these ranges may go missing instead. Anything else a fix drops makes the loop
    /// refuse ([`crate::Refusal::ChangesMeaning`]), so a removal a rule means must be
    /// declared here.
    pub removes: Vec<TextRange>,
}

impl Fix {
    pub fn new(
        title: impl Into<String>,
        applicability: Applicability,
        edits: Vec<Edit>,
        effect: DeclaredEffect,
    ) -> Self {
        let mut edits = edits;
        edits.sort();
        Self {
            title: title.into(),
            edits,
            applicability,
            isolation: Isolation::Shared,
            effect,
            files: Vec::new(),
            removes: Vec::new(),
        }
    }

    /// Declares that the fix removes the shell commands or words inside `range` (of the
    /// original text) on purpose; see [`Fix::removes`].
    #[must_use]
    pub fn with_removal(mut self, range: TextRange) -> Self {
        self.removes.push(range);
        self
    }

    /// [`Fix::with_removal`] for each range.
    #[must_use]
    pub fn with_removals(mut self, ranges: impl IntoIterator<Item = TextRange>) -> Self {
        self.removes.extend(ranges);
        self
    }

    /// Adds a change to a file other than the Dockerfile. Such a fix must have no edits
    /// (see [`Fix::files`]).
    #[must_use]
    pub fn with_file_change(mut self, change: FileChange) -> Self {
        self.files.push(change);
        self
    }

    /// True when the fix changes other files and not the Dockerfile: the kind of fix the
    /// loop collects at the end ([`Fix::files`]).
    pub fn is_file_change(&self) -> bool {
        !self.files.is_empty() && self.edits.is_empty()
    }

    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self::new(title, Applicability::Safe, edits, DeclaredEffect::none())
    }

    pub fn unsafe_edit(title: impl Into<String>, edits: Vec<Edit>, effect: DeclaredEffect) -> Self {
        Self::new(title, Applicability::Unsafe, edits, effect)
    }

    /// The smallest range covering every edit.
    pub fn range(&self) -> Option<TextRange> {
        let first = self.edits.first()?.range;
        Some(self.edits.iter().fold(first, |r, e| r.cover(e.range)))
    }

    /// True when the fix's own edits conflict with each other (such a fix is never applied).
    pub fn is_self_conflicting(&self) -> bool {
        self.edits.windows(2).any(|w| {
            w[0].range.end > w[1].range.start || (w[0].range.is_empty() && w[0].range == w[1].range)
        })
    }
}

/// A problem a rule found, with the fix it offers, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule's kebab-case name.
    pub rule: &'static str,
    pub message: String,
    pub range: TextRange,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(rule: &'static str, range: TextRange, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            range,
            fix: None,
        }
    }

    #[must_use]
    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applicability_orders_display_unsafe_safe() {
        assert!(Applicability::DisplayOnly < Applicability::Unsafe);
        assert!(Applicability::Unsafe < Applicability::Safe);
    }

    #[test]
    fn conflicts_include_touching_ranges() {
        let a = Edit::replace(TextRange::new(2, 5), "x");
        assert!(a.conflicts_with(&Edit::replace(TextRange::new(4, 8), "y")));
        assert!(a.conflicts_with(&Edit::insert(5, "y")));
        assert!(!a.conflicts_with(&Edit::insert(6, "y")));
        let fix = Fix::safe("t", vec![Edit::insert(3, "a"), Edit::insert(3, "b")]);
        assert!(fix.is_self_conflicting());
        assert!(
            !Fix::safe("t", vec![Edit::insert(3, "a"), Edit::insert(4, "b")]).is_self_conflicting()
        );
    }
}
