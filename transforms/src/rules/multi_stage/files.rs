//! The files a compiled program opens at run time by a path relative to its working folder
//! (Go templates, Rust `ServeDir::new("static")`, a Java config read by path): string
//! literals of its sources that name a file or folder the build stage has from the build
//! context, are not embedded, and are no source or manifest. The runtime stage copies them
//! from the build stage to the same path and keeps the WORKDIR, so relative paths resolve.
//! A reading call whose path is built at run time, with context files it could mean that
//! nothing copies, makes the rule report.

use super::facts::EcosystemFacts;
use super::scan::ContextCopy;
use super::sources::{Lang, Lexicon, SourceFacts, read};
use super::{Analysis, Plan, base_name, parent};
use crate::paths::{absolute, under};
use crate::rules::and_list;
use crate::{BuildContext, ContextFiles};

/// Source files read at most, and their bytes at most in all; a larger context is not read
/// (the rule reports: it cannot tell).
const MAX_SOURCES: usize = 5_000;
const MAX_TOTAL_BYTES: u64 = 32 << 20;
/// A larger source file (generated code, embedded assets) is not read for literals.
pub(super) const MAX_SOURCE_BYTES: u64 = 512 << 10;
/// Literals longer than this are no path dockopt follows.
const MAX_LITERAL: usize = 256;

/// One source file as read.
pub(super) struct SourceRead {
    pub(super) path: String,
    pub(super) facts: SourceFacts,
}

/// The sources that `keep` accepts, read with `lexicon`, and the paths of those that could
/// not be (larger than [`MAX_SOURCE_BYTES`], not UTF-8). `Err` when there are too many.
pub(super) fn read_sources(
    context: &BuildContext,
    files: &ContextFiles,
    lexicon: &Lexicon<'_>,
    keep: &dyn Fn(&str) -> bool,
) -> Result<(Vec<SourceRead>, Vec<String>), String> {
    let mut read_ok = Vec::new();
    let mut unread = Vec::new();
    let mut total = 0u64;
    let mut count = 0usize;
    for file in files.iter() {
        let Some(lang) = Lang::of(&file.path) else {
            continue;
        };
        if !keep(&file.path) {
            continue;
        }
        count += 1;
        if file.size > MAX_SOURCE_BYTES {
            unread.push(file.path.clone());
            continue;
        }
        total += file.size;
        if count > MAX_SOURCES || total > MAX_TOTAL_BYTES {
            return Err(format!(
                "the build context has more than {MAX_SOURCES} source files or {} MiB of them, \
                 more than dockopt reads",
                MAX_TOTAL_BYTES >> 20
            ));
        }
        match context.read_text(&file.path) {
            Some(text) => read_ok.push(SourceRead {
                path: file.path.clone(),
                facts: read(&text, lang, lexicon),
            }),
            None => unread.push(file.path.clone()),
        }
    }
    Ok((read_ok, unread))
}

/// How a COPY source lands in the build stage.
enum Source {
    /// The whole context (`.`).
    Root,
    Folder(String),
    File(String),
    Glob(String),
}

/// Where the context's files are in the build stage, from the stage's COPYs.
pub(super) struct Placement<'a> {
    copies: Vec<(Vec<Source>, &'a ContextCopy)>,
    files: &'a ContextFiles,
}

impl<'a> Placement<'a> {
    pub(super) fn new(copies: &'a [ContextCopy], files: &'a ContextFiles) -> Self {
        let copies = copies
            .iter()
            .map(|copy| {
                let sources = copy
                    .sources
                    .iter()
                    .filter_map(|s| {
                        let s = s.trim_start_matches("./").trim_matches('/');
                        if s.is_empty() || s == "." {
                            Some(Source::Root)
                        } else if s.contains(['*', '?', '[']) {
                            Some(Source::Glob(s.to_string()))
                        } else if files.contains(s) {
                            Some(Source::File(s.to_string()))
                        } else if files.under(s).next().is_some() {
                            Some(Source::Folder(s.to_string()))
                        } else {
                            None
                        }
                    })
                    .collect();
                (sources, copy)
            })
            .collect();
        Self { copies, files }
    }

    /// The context path (file or folder) at `path` in the build stage, by the last COPY
    /// that put something there.
    fn to_context(&self, path: &str) -> Option<String> {
        for (sources, copy) in self.copies.iter().rev() {
            let dest = copy.dest.as_str();
            for source in sources {
                let found = match source {
                    Source::Root => rel(dest, path),
                    Source::Folder(s) => rel(dest, path).map(|r| join(s, &r)),
                    Source::File(s) => {
                        let at = if copy.dest_is_dir {
                            join(dest, base_name(s))
                        } else {
                            dest.to_string()
                        };
                        (at == path).then(|| s.clone())
                    }
                    Source::Glob(g) if copy.dest_is_dir && parent(path) == dest => self
                        .files
                        .iter()
                        .find(|f| base_name(&f.path) == base_name(path) && glob(g, &f.path))
                        .map(|f| f.path.clone()),
                    Source::Glob(_) => None,
                };
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    /// Where the context file `file` is in the build stage.
    fn to_build(&self, file: &str) -> Option<String> {
        for (sources, copy) in self.copies.iter().rev() {
            let dest = copy.dest.as_str();
            for source in sources {
                let found = match source {
                    Source::Root => Some(join(dest, file)),
                    Source::Folder(s) => {
                        rel(&format!("/{s}"), &format!("/{file}")).map(|r| join(dest, &r))
                    }
                    Source::File(s) if s == file => Some(if copy.dest_is_dir {
                        join(dest, base_name(s))
                    } else {
                        dest.to_string()
                    }),
                    Source::Glob(g) if copy.dest_is_dir && glob(g, file) => {
                        Some(join(dest, base_name(file)))
                    }
                    _ => None,
                };
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }
}

/// `path` relative to `dir` ("" for `dir` itself), when under it.
fn rel(dir: &str, path: &str) -> Option<String> {
    if !under(dir, path) {
        return None;
    }
    Some(
        path.strip_prefix(dir)
            .unwrap_or("")
            .trim_start_matches('/')
            .to_string(),
    )
}

fn join(dir: &str, rest: &str) -> String {
    match (dir.trim_end_matches('/'), rest) {
        (d, "") => d.to_string(),
        ("", r) => r.to_string(),
        (d, r) => format!("{d}/{r}"),
    }
}

/// Whether `path` matches the glob `pattern`, part by part: `**` any number of parts, `*`
/// any characters of one part, `?` and `[...]` one character.
pub(super) fn glob(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    glob_parts(&pattern, &path)
}

fn glob_parts(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|k| glob_parts(rest, &path[k..])),
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(p, more)| glob_part(first, p) && glob_parts(rest, more)),
    }
}

fn glob_part(pattern: &str, name: &str) -> bool {
    // Brackets count as one character of any kind.
    let mut simple = String::with_capacity(pattern.len());
    let mut in_bracket = false;
    for c in pattern.chars() {
        match c {
            '[' if !in_bracket => {
                in_bracket = true;
                simple.push('?');
            }
            ']' if in_bracket => in_bracket = false,
            _ if in_bracket => {}
            c => simple.push(c),
        }
    }
    let p: Vec<char> = simple.chars().collect();
    let s: Vec<char> = name.chars().collect();
    // Iterative wildcard match with one backtrack point.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < s.len() {
        if i < p.len() && (p[i] == '?' || p[i] == s[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(at) = star {
            i = at + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

/// What a literal names in the build stage.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    /// The path in the build stage (and in the runtime stage).
    path: String,
    /// The context path it comes from.
    context: String,
}

/// Everything the scan of one ecosystem's sources needs.
struct Reader<'a> {
    facts: &'a EcosystemFacts,
    files: &'a ContextFiles,
    placement: Placement<'a>,
    /// The program's working folder.
    wd: String,
    /// Context paths (globs) embedded in the binary.
    embedded: Vec<String>,
}

impl Reader<'_> {
    /// Context files the runtime may need: no source, manifest or skipped path.
    fn is_data(&self, path: &str) -> bool {
        !self.facts.is_source(path) && !self.facts.is_manifest(path) && !self.facts.is_skipped(path)
    }

    fn is_embedded(&self, context: &str) -> bool {
        self.embedded
            .iter()
            .any(|e| glob(e, context) || under_rel(e, context) || under_rel(context, e))
    }

    /// The targets a literal names, or `None` when it names nothing the build stage has
    /// from the context.
    fn targets(&self, literal: &str) -> Vec<Target> {
        let Some(literal) = path_like(literal, self.facts) else {
            return Vec::new();
        };
        let special = literal.find(['*', '?', '[', '{', '%', '$']);
        let mut out = Vec::new();
        match special {
            None => {
                let path = literal.trim_end_matches('/');
                if matches!(path, "" | "." | "/") {
                    return out;
                }
                self.named(path, &mut out);
            }
            Some(at) => {
                let fixed = &literal[..at];
                let dir = fixed.rfind('/').map_or("", |k| &fixed[..k]);
                let globbing = !literal.contains(['{', '%', '$']);
                if !dir.is_empty() && !matches!(dir, "." | "/") {
                    self.named(dir, &mut out);
                } else if globbing && dir != "/" {
                    // `*.html` in the working folder: the files it matches there.
                    let Some(abs) = absolute(Some(&self.wd), literal.trim_start_matches("./"))
                    else {
                        return out;
                    };
                    let pattern = abs.trim_start_matches('/');
                    for file in self.files.iter() {
                        if let Some(path) = self.placement.to_build(&file.path)
                            && parent(&path) == self.wd
                            && glob(pattern, path.trim_start_matches('/'))
                        {
                            out.push(Target {
                                path,
                                context: file.path.clone(),
                            });
                        }
                    }
                }
            }
        }
        out.retain(|t| self.keeps(t));
        out
    }

    /// The file or folder at `path` (from the working folder), or the files `path.*` there
    /// (a config name without its extension).
    fn named(&self, path: &str, out: &mut Vec<Target>) {
        let Some(abs) = absolute(Some(&self.wd), path) else {
            return;
        };
        let Some(context) = self.placement.to_context(&abs).filter(|c| !c.is_empty()) else {
            return;
        };
        if self.files.contains(&context) || self.files.under(&context).next().is_some() {
            out.push(Target { path: abs, context });
            return;
        }
        let name = base_name(&context);
        if name.contains('.') || name.is_empty() {
            return;
        }
        let folder = parent(&context);
        let prefix = format!("{name}.");
        for file in self.files.under(folder) {
            if parent(&file.path) == folder && base_name(&file.path).starts_with(&prefix) {
                out.push(Target {
                    path: format!("{}/{}", parent(&abs), base_name(&file.path)),
                    context: file.path.clone(),
                });
            }
        }
    }

    /// A target worth copying: data (not only sources and manifests), not embedded.
    fn keeps(&self, target: &Target) -> bool {
        if self.is_embedded(&target.context) {
            return false;
        }
        if self.files.contains(&target.context) {
            return self.is_data(&target.context);
        }
        self.files
            .under(&target.context)
            .any(|f| self.is_data(&f.path))
    }

    /// For a call whose path is built at run time: a data file of the working folder that
    /// one of its literals could mean and that `copied` does not cover.
    fn uncovered_match(&self, literals: &[&str], copied: &[String]) -> Option<String> {
        for literal in literals {
            let Some(literal) = path_like(literal, self.facts) else {
                continue;
            };
            // The part after the last piece built at run time.
            let tail = literal
                .rsplit('/')
                .take_while(|part| !part.contains(['{', '}', '%', '$']))
                .collect::<Vec<_>>();
            let tail: Vec<&str> = tail.into_iter().rev().filter(|p| !p.is_empty()).collect();
            if tail.is_empty() || tail.iter().all(|p| *p == "." || *p == "..") {
                continue;
            }
            let pattern = format!("**/{}", tail.join("/"));
            for file in self.files.iter() {
                if !self.is_data(&file.path) || self.is_embedded(&file.path) {
                    continue;
                }
                let Some(path) = self.placement.to_build(&file.path) else {
                    continue;
                };
                if !under(&self.wd, &path) || !glob(&pattern, &file.path) {
                    continue;
                }
                if !copied.iter().any(|c| under(c, &path)) {
                    return Some(file.path.clone());
                }
            }
        }
        None
    }
}

/// `inner` is `outer` or under it (context paths, relative).
fn under_rel(outer: &str, inner: &str) -> bool {
    let outer = outer.trim_matches('/');
    let inner = inner.trim_matches('/');
    !outer.is_empty()
        && (inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|r| r.starts_with('/')))
}

/// The literal as a path (`file:` and `./` prefixes dropped), unless it cannot be one: a
/// URL, a flag, a class-path resource, text with blanks, quotes or a colon.
fn path_like<'l>(literal: &'l str, facts: &EcosystemFacts) -> Option<&'l str> {
    if literal.is_empty()
        || literal.len() > MAX_LITERAL
        || literal.starts_with('-')
        || facts
            .not_paths
            .iter()
            .any(|p| literal.starts_with(p.as_str()))
    {
        return None;
    }
    let literal = literal.strip_prefix("file:").unwrap_or(literal);
    if literal.chars().any(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, ':' | '"' | '\'' | '<' | '>' | '|' | '\\')
    }) {
        return None;
    }
    Some(literal)
}

/// What the runtime stage copies for the files the program opens; `notes` gets a line when
/// there are some. `Err` when a reading call builds its path at run time and could mean a
/// file nothing copies, or the sources cannot be read.
pub(super) fn runtime_files(
    a: &Analysis<'_>,
    artifacts: &[String],
    notes: &mut Vec<String>,
) -> Plan<Vec<String>> {
    let knowledge = a.knowledge();
    let facts = knowledge.multi_stage.ecosystem(a.eco.name());
    if facts.sources.is_empty() {
        return Ok(Vec::new());
    }
    let Some((context, files)) = a.ctx.build_context.and_then(|c| Some((c, c.files()?))) else {
        notes.push(
            "without the build context dockopt cannot tell whether the program opens files \
             at run time"
                .into(),
        );
        return Ok(Vec::new());
    };
    let wd = a.final_wd.clone().unwrap_or_else(|| "/".into());
    let lexicon = Lexicon {
        facts,
        cgo_import: &knowledge.multi_stage.go.cgo_import,
        embed_directive: &knowledge.multi_stage.go.embed_directive,
    };
    let keep =
        |path: &str| facts.is_source(path) && !facts.is_skipped(path) && !facts.is_manifest(path);
    let (sources, _too_large) = read_sources(context, files, &lexicon, &keep)?;
    let mut reader = Reader {
        facts,
        files,
        placement: Placement::new(&a.scan.context_copies, files),
        wd,
        embedded: Vec::new(),
    };
    for source in &sources {
        let folder = parent(&source.path);
        for pattern in &source.facts.embeds {
            let pattern = pattern.strip_prefix("all:").unwrap_or(pattern);
            let pattern = pattern.trim_start_matches("./");
            // A glob's folder counts whole: what the program reads there comes embedded.
            let pattern = match pattern.find(['*', '?', '[']) {
                Some(at) => match pattern[..at].rfind('/') {
                    Some(slash) => &pattern[..slash],
                    None => pattern,
                },
                None => pattern,
            };
            reader.embedded.push(if folder.is_empty() {
                pattern.to_string()
            } else {
                format!("{folder}/{pattern}")
            });
        }
    }

    let mut targets: Vec<Target> = Vec::new();
    for source in &sources {
        for literal in source.facts.literals.iter().filter(|l| !l.not_runtime) {
            for target in reader.targets(&literal.value) {
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
    }
    // Outermost first, each once; what an artifact already brings is left out.
    targets.sort_by(|x, y| x.path.cmp(&y.path));
    let mut copied: Vec<String> = Vec::new();
    for target in &targets {
        if !copied
            .iter()
            .chain(artifacts)
            .any(|c| under(c, &target.path))
        {
            copied.push(target.path.clone());
        }
    }

    for source in &sources {
        for call in &source.facts.reads {
            let literals: Vec<&str> = call
                .literals
                .iter()
                .filter_map(|&i| source.facts.literals.get(i))
                .filter(|l| !l.not_runtime)
                .map(|l| l.value.as_str())
                .collect();
            let whole = literals
                .iter()
                .any(|l| matches!(l.trim_end_matches('/'), "." | ""));
            if call.plain && whole && !literals.is_empty() {
                return Err(format!(
                    "{}:{} opens the whole working folder (`{}({})`), which the runtime \
                     stage does not copy",
                    source.path, call.line, call.callee, call.args
                ));
            }
            if call.plain || literals.iter().any(|l| !reader.targets(l).is_empty()) {
                continue;
            }
            if let Some(file) = reader.uncovered_match(&literals, &copied) {
                return Err(format!(
                    "{}:{} opens a path built at run time (`{}({})`); dockopt cannot tell \
                     whether it means {file} of the build context, which the runtime stage \
                     would not have; name the folder in a string literal or copy it with \
                     COPY --from",
                    source.path, call.line, call.callee, call.args
                ));
            }
        }
    }
    if !copied.is_empty() {
        notes.push(format!(
            "the program opens {} at run time (named in its sources), so the runtime stage \
             copies {} too",
            and_list(&targets_contexts(&targets, &copied)),
            if copied.len() == 1 { "it" } else { "them" }
        ));
    }
    Ok(copied)
}

/// The context paths of the copied targets.
fn targets_contexts(targets: &[Target], copied: &[String]) -> Vec<String> {
    copied
        .iter()
        .filter_map(|c| targets.iter().find(|t| t.path == *c))
        .map(|t| t.context.clone())
        .collect()
}
