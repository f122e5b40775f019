//! `dockopt check`: report what the rules find, in the format a person, a script or CI reads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use dockopt_fix::{Applicability, Diagnostic};
use dockopt_syntax::{Dockerfile, Severity, parse};
use dockopt_transforms::{check_file_in, find_rule};

use crate::color::{ColorChoice, Palette, Style};
use crate::config::{Config, ConfigFinder, Overrides, Settings};

use crate::discover::find_dockerfiles;
use crate::input::{InputError, read_dockerfile};
use crate::{Outcome, print_stdout};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `file:line:col: rule: message`, with a code frame.
    #[default]
    Text,
    /// One JSON document (schema in the README).
    Json,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// Rule selection flags, shared by `check` and `fix`.
#[derive(Clone, Debug, Default, Args)]
pub struct SelectionArgs {
    /// Run only these rules (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Option<Vec<String>>,
    /// Also run these rules.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub extend_select: Vec<String>,
    /// Do not run these rules.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// The build context folder (default: each Dockerfile's folder). Rules look at it
    /// read-only, e.g. to tell whether an ADD source is an archive.
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
}

impl SelectionArgs {
    /// The command line's rule choices, checked against the registry.
    pub fn overrides(&self, unsafe_fixes: bool) -> Result<Overrides, String> {
        let all = self
            .select
            .iter()
            .flatten()
            .chain(&self.extend_select)
            .chain(&self.ignore);
        let unknown: Vec<&str> = all
            .map(String::as_str)
            .filter(|n| find_rule(n).is_none())
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "unknown rule{} {} (`dockopt rules` lists them)",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", ")
            ));
        }
        if let Some(dir) = &self.context
            && !dir.is_dir()
        {
            return Err(format!("--context {}: not a folder", dir.display()));
        }
        Ok(Overrides {
            context: self.context.clone(),
            select: self.select.clone(),
            extend_select: self.extend_select.clone(),
            ignore: self.ignore.clone(),
            unsafe_fixes,
        })
    }
}

/// The settings for one Dockerfile: its nearest config plus the command line.
pub fn settings_for(
    path: &Path,
    finder: &ConfigFinder,
    overrides: &Overrides,
) -> Result<Settings, InputError> {
    let config = finder.for_file(path).map_err(|message| InputError {
        path: PathBuf::new(),
        message,
    })?;
    Ok(Config::settings(config.as_deref(), path, overrides))
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files and folders to check (default: the current folder).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
    /// Print diagnostics only, no code frames or summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour the text output (`auto`: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

/// One checked file.
pub struct Checked {
    pub path: PathBuf,
    pub file: Dockerfile,
    pub diagnostics: Vec<Diagnostic>,
}

/// BuildKit's parse errors and warnings as diagnostics, so they show like any rule's.
fn syntax_diagnostics(file: &Dockerfile) -> impl Iterator<Item = Diagnostic> + '_ {
    file.errors().iter().map(|e| {
        let rule = match e.severity {
            Severity::Error => "syntax-error",
            Severity::Warning => "syntax-warning",
        };
        Diagnostic::new(rule, e.range, e.message.clone())
    })
}

pub fn check_one(
    path: &Path,
    finder: &ConfigFinder,
    overrides: &Overrides,
) -> Result<Checked, InputError> {
    let settings = settings_for(path, finder, overrides)?;
    let text = read_dockerfile(path)?;
    let file = parse(&text);
    let mut diagnostics: Vec<Diagnostic> = syntax_diagnostics(&file).collect();
    let context = settings.build_context(path);
    let mut found = check_file_in(&file, &settings.selection, Some(&context));
    settings.adjust(&mut found);
    diagnostics.extend(found);
    diagnostics.sort_by_key(|d| (d.range.start, d.range.end));
    Ok(Checked {
        path: path.to_path_buf(),
        file,
        diagnostics,
    })
}

pub fn run(args: &CheckArgs) -> Outcome {
    let overrides = match args.selection.overrides(false) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Error;
        }
    };
    let finder = ConfigFinder::default();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (files, mut errors) = find_dockerfiles(&paths);
    let results =
        crate::parallel::parallel_map(&files, "checking", |p| check_one(p, &finder, &overrides));
    let mut checked = Vec::new();
    for result in results {
        match result {
            Ok(c) => checked.push(c),
            Err(e) => errors.push(e),
        }
    }
    crate::input::report_errors(&errors);
    let out = match args.output_format {
        OutputFormat::Text => text_report(&checked, args.quiet, Palette::new(args.color)),
        OutputFormat::Json => json_report(&checked),
        OutputFormat::Github => github_report(&checked),
        OutputFormat::Sarif => sarif_report(&checked),
    };
    print_stdout(&out);
    if !errors.is_empty() {
        Outcome::Error
    } else if checked.iter().any(|c| !c.diagnostics.is_empty()) {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

fn fix_marker(d: &Diagnostic) -> &'static str {
    match d.fix.as_ref().map(|f| f.applicability) {
        Some(Applicability::Safe) => " [*]",
        Some(Applicability::Unsafe) => " [unsafe fix]",
        _ => "",
    }
}

/// The lines of `range` with a caret line under the first, numbered as in the file.
fn code_frame(file: &Dockerfile, d: &Diagnostic, palette: Palette) -> String {
    let start = file.line_col(d.range.start);
    let index = file.line_index();
    let line_start = index.line_start(start.line - 1).unwrap_or(0);
    let line_end = index.line_start(start.line).unwrap_or(file.text().len());
    let line = file.text()[line_start..line_end].trim_end_matches(['\n', '\r']);
    let width = start.line.to_string().len();
    let caret_start = start.column - 1;
    let first_line_end = (d.range.end.min(line_start + line.len())).max(d.range.start);
    let caret_len = file.text()[d.range.start..first_line_end]
        .chars()
        .count()
        .max(1);
    let pad: String = line
        .chars()
        .take(caret_start)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "{:width$} |\n{} | {}\n{:width$} | {}{}\n",
        "",
        start.line,
        line,
        "",
        pad,
        palette.paint(Style::Red, &"^".repeat(caret_len))
    )
}

fn text_report(checked: &[Checked], quiet: bool, palette: Palette) -> String {
    let mut out = String::new();
    let (mut total, mut safe, mut unsafe_fixes, mut files_with) = (0, 0, 0, 0);
    for c in checked {
        if !c.diagnostics.is_empty() {
            files_with += 1;
        }
        for d in &c.diagnostics {
            total += 1;
            match d.fix.as_ref().map(|f| f.applicability) {
                Some(Applicability::Safe) => safe += 1,
                Some(Applicability::Unsafe) => unsafe_fixes += 1,
                _ => {}
            }
            let at = c.file.line_col(d.range.start);
            let rule_style = if d.rule == "syntax-error" {
                Style::Red
            } else {
                Style::Yellow
            };
            let _ = writeln!(
                out,
                "{}: {}: {}{}",
                palette.paint(Style::Bold, &format!("{}:{at}", c.path.display())),
                palette.paint(rule_style, d.rule),
                d.message,
                palette.paint(Style::Cyan, fix_marker(d))
            );
            if !quiet {
                out.push_str(&code_frame(&c.file, d, palette));
            }
        }
    }
    if quiet {
        return out;
    }
    if total == 0 {
        let _ = writeln!(
            out,
            "All checks passed ({} file{}).",
            checked.len(),
            if checked.len() == 1 { "" } else { "s" }
        );
    } else {
        let _ = write!(
            out,
            "Found {total} problem{} in {files_with} of {} file{}",
            if total == 1 { "" } else { "s" },
            checked.len(),
            if checked.len() == 1 { "" } else { "s" }
        );
        match (safe, unsafe_fixes) {
            (0, 0) => {}
            (0, u) => {
                let _ = write!(out, " ({u} fixable with `dockopt fix --unsafe-fixes`)");
            }
            (s, 0) => {
                let _ = write!(out, " ([*] {s} fixable with `dockopt fix`)");
            }
            (s, u) => {
                let _ = write!(
                    out,
                    " ([*] {s} fixable with `dockopt fix`, {u} more with `dockopt fix --unsafe-fixes`)"
                );
            }
        }
        out.push_str(".\n");
    }
    out
}

/// The JSON schema (version 1): `{"version":1,"files":N,"diagnostics":[{file, rule, message,
/// start:{line,column,offset}, end:{...}, fix: null | {title, applicability, edits:[{start,
/// end, replacement}], files:[{path, create, text}]}}]}`. Offsets are bytes; lines and
/// columns are 1-based characters. `files` (added in version 1; empty for most fixes) are
/// changes to other files than the Dockerfile, e.g. the context's `.dockerignore`: `path`
/// as the rule built it, `create` true when the file does not exist yet, `text` its whole
/// new text. A fix has edits or files, not both.
pub fn json_report(checked: &[Checked]) -> String {
    let position = |file: &Dockerfile, offset: usize| {
        let at = file.line_col(offset);
        serde_json::json!({"line": at.line, "column": at.column, "offset": offset})
    };
    let mut diagnostics = Vec::new();
    for c in checked {
        for d in &c.diagnostics {
            let fix = d.fix.as_ref().map(|f| {
                serde_json::json!({
                    "title": f.title,
                    "applicability": f.applicability.name(),
                    "edits": f.edits.iter().map(|e| serde_json::json!({
                        "start": position(&c.file, e.range.start),
                        "end": position(&c.file, e.range.end),
                        "replacement": e.replacement,
                    })).collect::<Vec<_>>(),
                    "files": f.files.iter().map(|c| serde_json::json!({
                        "path": c.path.display().to_string(),
                        "create": c.is_create(),
                        "text": c.text,
                    })).collect::<Vec<_>>(),
                })
            });
            diagnostics.push(serde_json::json!({
                "file": c.path.display().to_string(),
                "rule": d.rule,
                "message": d.message,
                "start": position(&c.file, d.range.start),
                "end": position(&c.file, d.range.end),
                "fix": fix,
            }));
        }
    }
    let doc = serde_json::json!({"version": 1, "files": checked.len(), "diagnostics": diagnostics});
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// GitHub Actions annotations: `::error file=...,line=...,col=...,title=rule::message`.
fn github_report(checked: &[Checked]) -> String {
    let escape_data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let escape_property = |s: &str| escape_data(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for c in checked {
        for d in &c.diagnostics {
            let start = c.file.line_col(d.range.start);
            let end = c.file.line_col(d.range.end);
            let level = if d.rule == "syntax-error" {
                "error"
            } else {
                "warning"
            };
            let _ = writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&c.path.display().to_string()),
                start.line,
                start.column,
                end.line,
                end.column,
                escape_property(&format!("dockopt {}", d.rule)),
                escape_data(&format!("{}{}", d.message, fix_marker(d)))
            );
        }
    }
    out
}

/// SARIF 2.1.0: one run, the rules that fired as `tool.driver.rules`, one result each.
fn sarif_report(checked: &[Checked]) -> String {
    use std::collections::BTreeSet;
    let fired: BTreeSet<&str> = checked
        .iter()
        .flat_map(|c| c.diagnostics.iter().map(|d| d.rule))
        .collect();
    let rules: Vec<serde_json::Value> = fired
        .iter()
        .map(|name| match find_rule(name) {
            Some(rule) => serde_json::json!({
                "id": name,
                "shortDescription": {"text": rule.meta().summary()},
                "fullDescription": {"text": rule.meta().summary()},
                "help": {"text": rule.meta().documentation(), "markdown": rule.meta().documentation()},
            }),
            None => serde_json::json!({
                "id": name,
                "shortDescription": {"text": "BuildKit's parser reports this"},
            }),
        })
        .collect();
    let region = |file: &Dockerfile, start: usize, end: usize| {
        let s = file.line_col(start);
        let e = file.line_col(end);
        serde_json::json!({"startLine": s.line, "startColumn": s.column, "endLine": e.line, "endColumn": e.column})
    };
    let mut results = Vec::new();
    for c in checked {
        let uri = c.path.to_string_lossy().replace('\\', "/");
        let uri = uri.trim_start_matches("./").to_string();
        for d in &c.diagnostics {
            let mut result = serde_json::json!({
                "ruleId": d.rule,
                "level": if d.rule == "syntax-error" { "error" } else { "warning" },
                "message": {"text": d.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": region(&c.file, d.range.start, d.range.end),
                }}],
            });
            if let Some(fix) = &d.fix {
                let mut changes = Vec::new();
                if !fix.edits.is_empty() {
                    changes.push(serde_json::json!({
                        "artifactLocation": {"uri": uri},
                        "replacements": fix.edits.iter().map(|e| serde_json::json!({
                            "deletedRegion": region(&c.file, e.range.start, e.range.end),
                            "insertedContent": {"text": e.replacement},
                        })).collect::<Vec<_>>(),
                    }));
                }
                // Another file: its whole text replaced (nothing deleted when created).
                changes.extend(fix.files.iter().map(|f| {
                    let old_chars = f.original.as_deref().map_or(0, |o| o.chars().count());
                    serde_json::json!({
                        "artifactLocation": {"uri": f.path.to_string_lossy().replace('\\', "/")},
                        "replacements": [{
                            "deletedRegion": {"charOffset": 0, "charLength": old_chars},
                            "insertedContent": {"text": f.text},
                        }],
                    })
                }));
                result["fixes"] = serde_json::json!([{
                    "description": {"text": format!("{} ({})", fix.title, fix.applicability.name())},
                    "artifactChanges": changes,
                }]);
            }
            results.push(result);
        }
    }
    let doc = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dockopt",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
