//! Dependency installs and the context files they read (knowledge/manifests.toml), for
//! split-copy and dockerignore. The data says which files an ecosystem reads; this module
//! does the reading the data cannot: requirement includes, workspace members, lifecycle
//! scripts and local path dependencies.

use std::collections::BTreeMap;

use dockopt_shell::Command;

use crate::knowledge::Ecosystem;
use crate::package::recognize;
use crate::{BuildContext, ContextFiles, Knowledge};

/// The `analysis` names manifests.toml may use.
pub const ANALYSES: &[&str] = &[
    "node",
    "pip",
    "go",
    "pyproject",
    "text-markers",
    "maven",
    "stub-target",
    "none",
];

/// Include depth for requirement files and Maven modules (a loop guard).
const MAX_INCLUDE_DEPTH: usize = 8;

/// A command recognised as an ecosystem's dependency install.
#[derive(Clone, Copy, Debug)]
pub struct Install<'k, 'c> {
    pub ecosystem: &'k Ecosystem,
    pub command: &'c Command,
}

/// What an install reads from the context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reads {
    /// These context paths (files or folders), relative to the install's working folder.
    Paths(Vec<String>),
    /// These context paths for the dependencies; the install also installs the project
    /// from its source, so it runs first with the ecosystem's `deps_only_flag` (dependencies
    /// only) before the source COPY and again as written after it.
    ThenProject(Vec<String>),
    /// The command installs packages by name and reads no manifest (`pip install flask`).
    NoManifest,
    /// It reads the project's source too; the reason, for people.
    Source(String),
    /// A file it needs is not in the context (missing or excluded by .dockerignore).
    Missing(String),
}

/// The install `command` runs, if it is one: `npm ci`, `pip install -r requirements.txt`,
/// `go mod download`.
pub fn recognize_install<'k, 'c>(
    knowledge: &'k Knowledge,
    command: &'c Command,
) -> Option<Install<'k, 'c>> {
    let package = recognize(knowledge, command)?;
    let ecosystem = knowledge.manifests.ecosystems.iter().find(|e| {
        if e.manager != package.manager.name {
            return false;
        }
        let positionals = install_words(command, &e.value_flags);
        // `python -m pip install`: the module name is not part of the install words.
        let positionals: &[&str] = match positionals.split_first() {
            Some((first, rest)) if package.manager.modules.iter().any(|m| m == first) => rest,
            _ => &positionals,
        };
        e.installs.iter().any(|words| {
            positionals.len() >= words.len()
                && positionals.iter().zip(words).all(|(p, w)| p == w)
                && (e.extra_args || positionals.len() == words.len())
        })
    })?;
    Some(Install { ecosystem, command })
}

/// The positional words of `command`, without the values of `value_flags` given as the
/// next word (`--only main`); a word that is not literal reads as NUL.
fn install_words<'c>(command: &'c Command, value_flags: &[String]) -> Vec<&'c str> {
    let mut out = Vec::new();
    let mut args = command.args.iter();
    while let Some(word) = args.next() {
        if word.is("--") {
            out.extend(args.map(|w| w.value().unwrap_or("\u{0}")));
            break;
        }
        if word.is_flag() {
            if value_flags.iter().any(|f| word.is(f)) {
                args.next();
            }
            continue;
        }
        out.push(word.value().unwrap_or("\u{0}"));
    }
    out
}

/// `path` as a context path: `./a//b/` -> `a/b`; `None` when it leaves the folder.
pub fn normalize_relative(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Whether `name` matches a one-component glob (`*` any run, `?` one character).
pub fn glob_component(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((b'?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Whether `path` (a context path) matches a manifest pattern: a plain path, a glob in its
/// components, or `**/GLOB` for a name at any depth.
pub fn matches_pattern(pattern: &str, path: &str) -> bool {
    if let Some(name) = pattern.strip_prefix("**/") {
        return path
            .rsplit('/')
            .next()
            .is_some_and(|last| glob_component(name, last));
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let parts: Vec<&str> = path.split('/').collect();
    pattern.len() == parts.len()
        && pattern
            .iter()
            .zip(&parts)
            .all(|(p, n)| glob_component(p, n))
}

/// Whether the context has `path` as a file or as a folder with files.
pub fn exists(files: &ContextFiles, path: &str) -> bool {
    files.contains(path) || files.under(path).next().is_some()
}

/// The context paths a manifest pattern names: itself when it exists, or every file a
/// glob pattern matches (folders named by `**/NAME` are not expanded).
fn resolve_pattern(files: &ContextFiles, pattern: &str) -> Vec<String> {
    if pattern.contains('*') || pattern.contains('?') {
        files
            .iter()
            .filter(|f| matches_pattern(pattern, &f.path))
            .map(|f| f.path.clone())
            .collect()
    } else if exists(files, pattern) {
        vec![pattern.to_string()]
    } else {
        Vec::new()
    }
}

/// Whether the context holds something the install writes (`node_modules`, `**/obj`).
pub fn written_present(files: &ContextFiles, ecosystem: &Ecosystem) -> Option<String> {
    ecosystem.writes.iter().find_map(|w| {
        let hit = if let Some(name) = w.strip_prefix("**/") {
            files
                .iter()
                .any(|f| f.path.split('/').rev().skip(1).any(|c| c == name))
        } else {
            exists(files, w)
        };
        hit.then(|| w.trim_start_matches("**/").to_string())
    })
}

/// What `install` reads from the context; it runs in `dest`, the absolute folder the
/// context is copied to (absolute paths in its arguments are read against it), with the
/// stage's variables `env` (ENV and ARG; `None` for a value that is not literal).
pub fn reads(
    context: &BuildContext,
    install: &Install<'_, '_>,
    dest: &str,
    env: &BTreeMap<String, Option<String>>,
) -> Reads {
    let Some(files) = context.files() else {
        return Reads::Missing("the build context cannot be read".into());
    };
    if files.is_truncated() {
        return Reads::Missing("the build context has too many files to list".into());
    }
    let eco = install.ecosystem;
    let command = install.command;
    let name = || {
        eco.installs[0].iter().fold(
            command.name_value().unwrap_or_default().to_string(),
            |acc, w| format!("{acc} {w}"),
        )
    };
    if let Some(flag) = command.first_flag(&eco.source_flags) {
        return Reads::Source(format!("`{} {flag}` reads more than the manifests", name()));
    }
    let project_too =
        !eco.needs_flags.is_empty() && !eco.needs_flags.iter().any(|f| command.has_flag(f));
    if project_too {
        if eco.deps_only_flag.is_none() {
            return Reads::Source(format!(
                "`{}` without {} also installs the project itself, which needs its source",
                name(),
                eco.needs_flags.join(" or ")
            ));
        }
        if let Some(lock) = &eco.deps_only_lock
            && !files.contains(lock)
        {
            return Reads::Missing(format!(
                "{lock} is not in the build context{}: `{}` also installs the project, and a \
                 first run for the dependencies alone would resolve them anew from the \
                 manifests; with {lock} in the context it installs what the lock says",
                excluded_note(context, lock),
                name()
            ));
        }
    }
    for required in &eco.required {
        if !files.contains(required) {
            return Reads::Missing(format!(
                "{required} is not in the build context{}",
                excluded_note(context, required)
            ));
        }
    }
    // In the order manifests.toml lists them (people write `package.json package-lock.json`).
    let mut paths: Vec<String> = Vec::new();
    for path in eco.manifests.iter().flat_map(|m| resolve_pattern(files, m)) {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    let extra = match eco.analysis.as_str() {
        "node" => node(context, files, command, &paths),
        "pip" => pip(context, files, command, dest),
        "go" => go(context, files),
        "text-markers" => text_markers(context, eco, &paths),
        "pyproject" => crate::manifest_pyproject::check(context, eco, command).map(|()| Vec::new()),
        "maven" => maven(context, files),
        "stub-target" => Err(Reads::Source(format!(
            "{} cannot read its manifest without the source's targets (src/main.rs, src/lib.rs); \
             a stub target would be needed",
            eco.name
        ))),
        _ => Ok(Vec::new()),
    };
    match extra {
        Ok(extra) => {
            let no_manifest = eco.analysis == "pip" && extra.is_empty();
            for path in extra {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
            if no_manifest {
                return Reads::NoManifest;
            }
            if let Err(reads) =
                crate::manifest_location::check(context, eco, command, &name(), env, dest, &paths)
            {
                reads
            } else if project_too {
                Reads::ThenProject(paths)
            } else {
                Reads::Paths(paths)
            }
        }
        Err(reads) => reads,
    }
}

fn excluded_note(context: &BuildContext, path: &str) -> &'static str {
    if context.is_excluded(path) {
        " (.dockerignore excludes it)"
    } else {
        ""
    }
}

/// npm, Yarn, pnpm and Bun: workspace members' package.json, and the reasons an install
/// needs the source: lifecycle scripts and dependencies by local path.
fn node(
    context: &BuildContext,
    files: &ContextFiles,
    command: &Command,
    manifests: &[String],
) -> Result<Vec<String>, Reads> {
    let root = read_json(context, "package.json")?;
    let ignore_scripts = command.has_flag("--ignore-scripts");
    let mut members = Vec::new();
    let mut patterns: Vec<String> = Vec::new();
    match root.get("workspaces") {
        Some(serde_json::Value::Array(a)) => {
            patterns.extend(a.iter().filter_map(|v| v.as_str().map(String::from)));
        }
        Some(serde_json::Value::Object(o)) => {
            if let Some(serde_json::Value::Array(a)) = o.get("packages") {
                patterns.extend(a.iter().filter_map(|v| v.as_str().map(String::from)));
            }
        }
        _ => {}
    }
    if manifests.iter().any(|m| m == "pnpm-workspace.yaml") {
        let text = context.read_text("pnpm-workspace.yaml").unwrap_or_default();
        patterns.extend(pnpm_workspace_patterns(&text));
    }
    let (negated, positive): (Vec<String>, Vec<String>) =
        patterns.into_iter().partition(|p| p.starts_with('!'));
    for file in files.iter() {
        let Some(folder) = file.path.strip_suffix("/package.json") else {
            continue;
        };
        if folder.split('/').any(|c| c == "node_modules") {
            continue;
        }
        let hit = |p: &String| workspace_match(p.trim_start_matches("./"), folder);
        if positive.iter().any(hit)
            && !negated
                .iter()
                .any(|n| workspace_match(n[1..].trim_start_matches("./"), folder))
        {
            members.push(file.path.clone());
        }
    }
    let mut packages = vec![("package.json".to_string(), root)];
    for member in &members {
        packages.push((member.clone(), read_json(context, member)?));
    }
    for (path, package) in &packages {
        if !ignore_scripts && let Some(scripts) = package.get("scripts").and_then(|s| s.as_object())
        {
            for hook in [
                "preinstall",
                "install",
                "postinstall",
                "preprepare",
                "prepare",
                "postprepare",
            ] {
                if scripts.contains_key(hook) {
                    return Err(Reads::Source(format!(
                        "{path} has a `{hook}` script, which the install runs and which may read the source"
                    )));
                }
            }
        }
        for field in [
            "dependencies",
            "devDependencies",
            "optionalDependencies",
            "peerDependencies",
        ] {
            let Some(deps) = package.get(field).and_then(|d| d.as_object()) else {
                continue;
            };
            for (name, spec) in deps {
                let spec = spec.as_str().unwrap_or_default();
                let local = ["file:", "link:", "portal:", "./", "../", "/"]
                    .iter()
                    .any(|p| spec.starts_with(p));
                if local {
                    return Err(Reads::Source(format!(
                        "{path} depends on `{name}` by local path (`{spec}`)"
                    )));
                }
            }
        }
    }
    Ok(members)
}

/// Whether a workspace pattern (`packages/*`, `apps/**`, `tools/cli`) matches `folder`.
fn workspace_match(pattern: &str, folder: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    if let Some(prefix) = pattern.strip_suffix("/**") {
        return folder.starts_with(&format!("{prefix}/"));
    }
    matches_pattern(pattern, folder)
}

/// The `packages:` entries of a pnpm-workspace.yaml (a list of strings; enough YAML for it).
fn pnpm_workspace_patterns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if !line.starts_with([' ', '\t', '-']) {
            inside = trimmed.starts_with("packages:");
            continue;
        }
        if inside && let Some(item) = trimmed.strip_prefix('-') {
            out.push(item.trim().trim_matches(['"', '\'']).to_string());
        }
    }
    out
}

/// The build context's package.json, when it is there and valid JSON.
pub fn package_json(context: &BuildContext) -> Option<serde_json::Value> {
    package_json_in(context, "")
}

/// The package.json of the build context's `folder` (`""`: the root), when it is there and
/// valid JSON.
pub fn package_json_in(context: &BuildContext, folder: &str) -> Option<serde_json::Value> {
    let path = if folder.is_empty() {
        "package.json".to_string()
    } else {
        format!("{}/package.json", folder.trim_end_matches('/'))
    };
    read_json(context, &path).ok()
}

fn read_json(context: &BuildContext, path: &str) -> Result<serde_json::Value, Reads> {
    let text = context
        .read_text(path)
        .ok_or_else(|| Reads::Missing(format!("{path} cannot be read")))?;
    serde_json::from_str(&text)
        .map_err(|e| Reads::Missing(format!("{path} is not valid JSON ({e})")))
}

/// pip flags that take a value as the next word.
const PIP_VALUE_FLAGS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--src",
    "--upgrade-strategy",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--trusted-host",
    "--cert",
    "--client-cert",
    "--cache-dir",
    "--log",
    "--timeout",
    "--retries",
    "--progress-bar",
    "-C",
    "--config-settings",
    "--global-option",
    "--no-binary",
    "--only-binary",
    "--exists-action",
    "--proxy",
    "--report",
    "--python",
];

/// pip (and `uv pip install`): the `-r`/`-c` files and what they include; local paths
/// (`.`, `-e .`, `./pkg`, `--find-links ./wheels`) mean the install needs the source.
fn pip(
    context: &BuildContext,
    files: &ContextFiles,
    command: &Command,
    dest: &str,
) -> Result<Vec<String>, Reads> {
    let words: Vec<Option<&str>> = command.args.iter().map(|w| w.value()).collect();
    let mut requirement_files = Vec::new();
    let mut seen_install = false;
    let mut i = 0;
    while i < words.len() {
        let Some(word) = words[i] else {
            return Err(Reads::Missing(
                "an argument uses a variable dockopt cannot resolve".into(),
            ));
        };
        i += 1;
        let mut value_of = |names: &[&str]| -> Option<Option<String>> {
            for name in names {
                if word == *name {
                    let v = words.get(i).copied().flatten().map(String::from);
                    i += 1;
                    return Some(v);
                }
                if let Some(v) = word.strip_prefix(&format!("{name}=")) {
                    return Some(Some(v.to_string()));
                }
                if name.len() == 2
                    && let Some(v) = word.strip_prefix(name)
                    && !v.is_empty()
                {
                    return Some(Some(v.to_string()));
                }
            }
            None
        };
        if let Some(file) = value_of(&["-r", "--requirement", "-c", "--constraint"]) {
            let file = file
                .ok_or_else(|| Reads::Missing("a requirements file name uses a variable".into()))?;
            requirement_files.push(file);
        } else if value_of(&["-e", "--editable"]).is_some() {
            return Err(Reads::Source(
                "`pip install -e` installs the project from its source".into(),
            ));
        } else if let Some(links) = value_of(&["-f", "--find-links"]) {
            if links.as_deref().is_none_or(|l| !l.contains("://")) {
                return Err(Reads::Source(
                    "`--find-links` reads packages from a local folder".into(),
                ));
            }
        } else if value_of(PIP_VALUE_FLAGS).is_some() || word.starts_with('-') {
        } else if !seen_install && (word == "install" || word == "pip") {
            seen_install = word == "install";
        } else if looks_local(word, files) {
            return Err(Reads::Source(format!(
                "`{word}` is a local path: the install builds it from the source"
            )));
        }
    }
    let mut out = Vec::new();
    for file in requirement_files {
        let Some(path) = context_path(&file, dest) else {
            return Err(Reads::Missing(format!(
                "{file} is outside the folder the source is copied to"
            )));
        };
        include_requirements(context, files, &path, 0, &mut out)?;
    }
    Ok(out)
}

/// A requirement argument that names a file or folder rather than a package.
fn looks_local(word: &str, files: &ContextFiles) -> bool {
    if word.contains("://") {
        return false;
    }
    word.starts_with('.')
        || word.starts_with('/')
        || word.contains('/')
        || [".whl", ".tar.gz", ".zip", ".tar.bz2"]
            .iter()
            .any(|s| word.ends_with(s))
        || files.under(word).next().is_some()
}

/// A path as the install sees it (relative to its working folder `dest`, or absolute under
/// it) as a context path.
fn context_path(path: &str, dest: &str) -> Option<String> {
    if let Some(abs) = path.strip_prefix('/') {
        let dest = dest.trim_matches('/');
        let rest = if dest.is_empty() {
            abs
        } else {
            abs.strip_prefix(dest)?.strip_prefix('/')?
        };
        return normalize_relative(rest);
    }
    normalize_relative(path)
}

fn include_requirements(
    context: &BuildContext,
    files: &ContextFiles,
    path: &str,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<(), Reads> {
    if out.iter().any(|p| p == path) {
        return Ok(());
    }
    if depth > MAX_INCLUDE_DEPTH {
        return Err(Reads::Missing(format!("{path}: includes nest too deep")));
    }
    if !files.contains(path) {
        return Err(Reads::Missing(format!(
            "{path} is not in the build context{}",
            excluded_note(context, path)
        )));
    }
    out.push(path.to_string());
    let text = context
        .read_text(path)
        .ok_or_else(|| Reads::Missing(format!("{path} cannot be read")))?;
    let folder = path.rsplit_once('/').map_or("", |(f, _)| f);
    for line in logical_requirement_lines(&text) {
        let mut parts = line.split_whitespace();
        let Some(first) = parts.next() else { continue };
        let (flag, value) = match first.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
            _ => (first, parts.next().map(String::from)),
        };
        match flag {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                let value = value.unwrap_or_default();
                let joined = if folder.is_empty() {
                    value
                } else {
                    format!("{folder}/{value}")
                };
                let Some(included) = normalize_relative(&joined) else {
                    return Err(Reads::Missing(format!(
                        "{path} includes {joined}, outside the context"
                    )));
                };
                include_requirements(context, files, &included, depth + 1, out)?;
            }
            "-e" | "--editable" => {
                return Err(Reads::Source(format!(
                    "{path} installs `{}` in editable mode from the source",
                    value.unwrap_or_default()
                )));
            }
            "-f" | "--find-links" if value.as_deref().is_none_or(|v| !v.contains("://")) => {
                return Err(Reads::Source(format!(
                    "{path} reads packages from a local folder (`{flag}`)"
                )));
            }
            _ if first.starts_with('.')
                || first.starts_with('/')
                || first.starts_with("file:")
                || line.contains("@ file:") =>
            {
                return Err(Reads::Source(format!(
                    "{path} installs `{first}`, a local path"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Requirement lines with comments removed and `\` continuations joined.
fn logical_requirement_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = match line.find(" #") {
            Some(i) => &line[..i],
            None if line.trim_start().starts_with('#') => "",
            None => line,
        };
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let done = std::mem::take(&mut current);
        if !done.trim().is_empty() {
            out.push(done.trim().to_string());
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Go: a `replace` to a local folder or a go.work workspace needs more than go.mod.
fn go(context: &BuildContext, files: &ContextFiles) -> Result<Vec<String>, Reads> {
    if files.contains("go.work") {
        return Err(Reads::Source(
            "go.work makes it a workspace whose modules live in the source".into(),
        ));
    }
    let text = context.read_text("go.mod").unwrap_or_default();
    let mut in_replace = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        if line.starts_with("replace (") {
            in_replace = true;
            continue;
        }
        if in_replace && line == ")" {
            in_replace = false;
            continue;
        }
        if (in_replace || line.starts_with("replace "))
            && let Some((_, target)) = line.split_once("=>")
        {
            let target = target.trim();
            if target.starts_with('.') || target.starts_with('/') {
                return Err(Reads::Source(format!(
                    "go.mod replaces a module with the local folder {}",
                    target.split_whitespace().next().unwrap_or(target)
                )));
            }
        }
    }
    Ok(Vec::new())
}

/// A manifest that contains one of the ecosystem's `source_markers` reads the source.
fn text_markers(
    context: &BuildContext,
    eco: &Ecosystem,
    manifests: &[String],
) -> Result<Vec<String>, Reads> {
    for path in manifests {
        let Some(text) = context.read_text(path) else {
            continue;
        };
        for marker in &eco.source_markers {
            if text.contains(marker.as_str()) {
                return Err(Reads::Source(format!(
                    "{path} contains `{}`, so the install may read the source",
                    marker.trim()
                )));
            }
        }
    }
    Ok(Vec::new())
}

/// Maven: the pom.xml of every module, recursively.
fn maven(context: &BuildContext, files: &ContextFiles) -> Result<Vec<String>, Reads> {
    let mut out: Vec<String> = Vec::new();
    let mut queue = vec![(String::new(), 0usize)];
    while let Some((folder, depth)) = queue.pop() {
        if depth > MAX_INCLUDE_DEPTH {
            break;
        }
        let pom = if folder.is_empty() {
            "pom.xml".to_string()
        } else {
            format!("{folder}/pom.xml")
        };
        let text = context.read_text(&pom).unwrap_or_default();
        for chunk in text.split("<module>").skip(1) {
            let Some(name) = chunk.split("</module>").next() else {
                continue;
            };
            let joined = if folder.is_empty() {
                name.trim().to_string()
            } else {
                format!("{folder}/{}", name.trim())
            };
            let Some(module) = normalize_relative(&joined) else {
                continue;
            };
            let module_pom = format!("{module}/pom.xml");
            if !files.contains(&module_pom) {
                return Err(Reads::Missing(format!(
                    "{module_pom} (a module of {pom}) is not in the build context"
                )));
            }
            if !out.contains(&module_pom) {
                out.push(module_pom);
                queue.push((module, depth + 1));
            }
        }
    }
    Ok(out)
}

/// How many package.json scripts [`with_scripts_named`] reads at most: a build that
/// names more is left alone.
const MAX_SCRIPTS: usize = 64;

/// `text` and the text of every package.json script it names, and of every script those
/// name in turn, each with its hooks (`prebuild`, `postbuild`). A word names a script when
/// it is the script's name, ends with `:` and the name (`npm:generate` in concurrently's
/// form), or is a glob that matches it (`build:*` for npm-run-all). Over-reading only
/// leaves more stages alone.
fn with_scripts_named(
    context: Option<&BuildContext>,
    ecosystem: &Ecosystem,
    text: &str,
) -> Result<Vec<String>, String> {
    let package = context
        .and_then(package_json)
        .ok_or("package.json cannot be read")?;
    let scripts = package
        .get("scripts")
        .and_then(|s| s.as_object())
        .map(|s| {
            s.iter()
                .filter_map(|(name, v)| Some((name.as_str(), v.as_str()?)))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut texts = vec![text.to_string()];
    let mut reached: Vec<&str> = Vec::new();
    let mut next = 0;
    while next < texts.len() {
        let current = texts[next].clone();
        next += 1;
        for word in current.split(|c: char| c.is_whitespace() || "'\"`;&|()<>=$,".contains(c)) {
            for &(name, _) in &scripts {
                let named = word == name
                    || word.strip_suffix(name).is_some_and(|p| p.ends_with(':'))
                    || (word.contains('*') && glob_component(word, name));
                if !named || reached.contains(&name) {
                    continue;
                }
                for hook in
                    std::iter::once("").chain(ecosystem.script_hooks.iter().map(String::as_str))
                {
                    let key = format!("{hook}{name}");
                    if let Some(&(_, body)) = scripts.iter().find(|(n, _)| *n == key) {
                        texts.push(body.to_string());
                    }
                }
                reached.push(name);
                if reached.len() > MAX_SCRIPTS {
                    return Err(format!(
                        "the build runs more than {MAX_SCRIPTS} package.json scripts"
                    ));
                }
            }
        }
    }
    Ok(texts)
}

/// The first of `ecosystem`'s `build_writes_installed` words in `text` or in a package.json
/// script it reaches ([`with_scripts_named`]): the build may write into the installed folder.
pub fn installed_writer<'k>(
    context: Option<&BuildContext>,
    ecosystem: &'k Ecosystem,
    text: &str,
) -> Result<Option<&'k str>, String> {
    let texts = with_scripts_named(context, ecosystem, text)?;
    Ok(ecosystem
        .build_writes_installed
        .iter()
        .find(|w| {
            let w = w.to_ascii_lowercase();
            texts.iter().any(|t| t.to_ascii_lowercase().contains(&w))
        })
        .map(String::as_str))
}

/// Why the Node project in `context` is a workspace (its members get `node_modules` of
/// their own), if it is: a `workspaces` field in package.json or a pnpm-workspace.yaml.
pub fn node_workspace(context: &BuildContext) -> Option<&'static str> {
    if context.kind("pnpm-workspace.yaml").is_some() {
        return Some("the context has a pnpm-workspace.yaml");
    }
    package_json(context)?
        .get("workspaces")
        .is_some()
        .then_some("package.json declares workspaces")
}

/// Why the context's project is Yarn berry (2 and later), if it is: a `.yarnrc.yml`, a
/// `packageManager` of yarn 2+, or a lock file in berry's format.
pub fn yarn_berry(context: &BuildContext) -> Option<String> {
    if context.read_text(".yarnrc.yml").is_some() {
        return Some(".yarnrc.yml".into());
    }
    let manager =
        package_json(context).and_then(|p| p.get("packageManager")?.as_str().map(String::from));
    if let Some(m) = manager
        && let Some(version) = m.strip_prefix("yarn@")
        && !version.starts_with("1.")
    {
        return Some(format!("packageManager {m}"));
    }
    match context.read_text("yarn.lock") {
        Some(lock) if lock.contains("__metadata:") => Some("a yarn.lock in berry's format".into()),
        Some(_) => None,
        None => Some("no yarn.lock in the build context".into()),
    }
}

/// The Yarn berry releases the context's project may run, each with where it is named:
/// the settings file's release path (`yarnPath: .yarn/releases/yarn-4.5.0.cjs`), and
/// package.json's `packageManager: yarn@X` when `corepack` runs Yarn. The major version is
/// `None` when dockopt cannot read it.
pub fn yarn_berry_releases(
    context: &BuildContext,
    berry: &crate::knowledge::YarnBerry,
    corepack: bool,
) -> Vec<(Option<u64>, String)> {
    let rc = context.read_text(&berry.config).unwrap_or_default();
    let mut releases = Vec::new();
    if let Some(path) = yaml_top_level(&rc, &berry.release_key) {
        let name = path.rsplit('/').next().unwrap_or(&path);
        let major = name
            .strip_prefix(berry.release_prefix.as_str())
            .and_then(|v| v.split('.').next()?.parse().ok());
        releases.push((major, format!("{} {path}", berry.release_key)));
    }
    let declared = package_json(context)
        .and_then(|p| p.get("packageManager")?.as_str().map(String::from))
        .and_then(|m| m.strip_prefix("yarn@").map(String::from));
    if corepack && let Some(version) = declared {
        let major = version.split('.').next().and_then(|m| m.parse().ok());
        releases.push((major, format!("packageManager yarn@{version}")));
    }
    releases
}

/// Whether the context's Yarn berry project keeps its cache in the global folder: every
/// release it names is at least `global_cache_since`, and neither the settings file nor
/// `setting` (the variable's value in the stage, if set) turns it off.
pub fn yarn_berry_global_cache(
    context: &BuildContext,
    berry: &crate::knowledge::YarnBerry,
    setting: Option<&str>,
) -> bool {
    let rc = context.read_text(&berry.config).unwrap_or_default();
    let releases = yarn_berry_releases(context, berry, true);
    let off = |v: &str| matches!(v.trim(), "false" | "0");
    !releases.is_empty()
        && releases
            .iter()
            .all(|(m, _)| m.is_some_and(|m| m >= berry.global_cache_since))
        && !yaml_top_level(&rc, &berry.global_cache_key).is_some_and(|v| off(&v))
        && !setting.is_some_and(off)
}

/// The value of a top-level `key: value` line of a YAML settings file (`.yarnrc.yml`),
/// without quotes or a trailing comment; `None` when no such line sets it to a scalar.
pub fn yaml_top_level(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.trim_start().strip_prefix(':')?;
        let value = value.split(" #").next().unwrap_or(value).trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!unquoted.is_empty()).then(|| unquoted.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_top_level_reads_scalars_of_the_first_level_only() {
        let rc = "nodeLinker: \"node-modules\" # keep\nyarnPath: .yarn/releases/yarn-3.6.4.cjs\nplugins:\n  - path: x\n  nodeLinker: pnp\n";
        assert_eq!(
            yaml_top_level(rc, "nodeLinker").as_deref(),
            Some("node-modules")
        );
        assert_eq!(
            yaml_top_level(rc, "yarnPath").as_deref(),
            Some(".yarn/releases/yarn-3.6.4.cjs")
        );
        assert_eq!(yaml_top_level(rc, "plugins"), None);
        assert_eq!(yaml_top_level("nodeLinkerX: pnp\n", "nodeLinker"), None);
    }

    #[test]
    fn patterns_and_paths() {
        assert!(matches_pattern("**/*.csproj", "src/App/App.csproj"));
        assert!(matches_pattern("**/*.csproj", "App.csproj"));
        assert!(!matches_pattern("*.sln", "src/x.sln"));
        assert!(matches_pattern("packages/*", "packages/a"));
        assert!(!matches_pattern("packages/*", "packages/a/b"));
        assert!(workspace_match("apps/**", "apps/web/ui"));
        assert_eq!(normalize_relative("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_relative("../x"), None);
        assert_eq!(
            context_path("/app/req/base.txt", "/app").as_deref(),
            Some("req/base.txt")
        );
        assert_eq!(context_path("/other/x.txt", "/app"), None);
        assert_eq!(context_path("/x.txt", "/").as_deref(), Some("x.txt"));
    }

    #[test]
    fn requirement_lines_drop_comments_and_join_continuations() {
        let lines =
            logical_requirement_lines("# c\nflask==3 # web\n-r base.txt\nrequests \\\n  ==2.0\n\n");
        assert_eq!(lines, ["flask==3", "-r base.txt", "requests    ==2.0"]);
    }

    #[test]
    fn pnpm_workspace_packages() {
        let text = "packages:\n  - 'packages/*'\n  - \"apps/web\"\ncatalog:\n  - x\n";
        assert_eq!(pnpm_workspace_patterns(text), ["packages/*", "apps/web"]);
    }
}
