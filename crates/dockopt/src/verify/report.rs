//! The verify report: one structure, printed as text for people or as one JSON object
//! (`--json`; schema in `dockopt verify --help` and the README).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// How many expected differences per rule the JSON lists as examples.
pub const EXAMPLES_PER_RULE: usize = 5;

/// One image: the original or the fixed one.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Side {
    /// The tag it was built as (removed at the end unless `--keep-images`).
    pub tag: String,
    pub build_ok: bool,
    /// Wall time of the first build in this run, with `--no-cache`.
    pub build_s: Option<f64>,
    /// The end of the build log, when the build failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_log_tail: Option<String>,
    /// `docker image inspect` `.Size`.
    pub size_bytes: Option<u64>,
    /// `.RootFS.Layers` count.
    pub layers: Option<usize>,
    /// `.Config.User`: the user the image runs as (empty means root).
    pub user: Option<String>,
    pub rebuild_after_source_change_s: Option<f64>,
    pub rebuild_after_manifest_change_s: Option<f64>,
    /// None when no smoke check is declared (or it did not run).
    pub smoke_ok: Option<bool>,
    /// The end of the smoke run's output, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke_output: Option<String>,
}

/// An applied fix.
#[derive(Clone, Debug, Serialize)]
pub struct AppliedJson {
    pub rule: String,
    pub title: String,
    /// `safe` or `unsafe`.
    pub applicability: String,
    pub round: usize,
    /// The fix's declared effect, in one line (may be empty).
    pub summary: String,
}

/// One difference between the images: a path, a config field (an Env variable or a label
/// by its key), the user, an installed package or a shared library an ELF file lacks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiffItem {
    /// `path`, `config`, `user`, `package` or `library`.
    pub kind: String,
    /// The path (kind `path`), or the ELF file that lacks a library (kind `library`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The config field (kinds `config` and `user`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// The Env variable or label of a `config` difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The package (kind `package`): `psycopg2`, `express`, `python`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The library the ELF file lacks (kind `library`): `libpq.so.5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// The value in the original image (a config value, a package version, where a
    /// library was found); JSON null when absent there. Left out when not applicable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<serde_json::Value>,
    /// The value in the fixed image; JSON null when absent there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<serde_json::Value>,
    /// `added`, `removed` or `changed`.
    pub change: String,
    pub what: String,
    /// The rule (or `cache mount target`) that explains it; expected differences only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A value for [`DiffItem::original`] and [`DiffItem::fixed`]: the text, or null.
pub fn value(v: Option<&str>) -> serde_json::Value {
    v.map_or(serde_json::Value::Null, serde_json::Value::from)
}

impl DiffItem {
    /// A file-system difference.
    pub fn path(path: &str, change: &str, what: &str) -> Self {
        Self {
            kind: "path".into(),
            path: Some(path.into()),
            change: change.into(),
            what: what.into(),
            ..Self::default()
        }
    }

    /// A config difference (`kind` is `config` or `user`).
    pub fn config(field: &str, change: &str, what: &str) -> Self {
        Self {
            kind: if field == "User" { "user" } else { "config" }.into(),
            config: Some(field.into()),
            change: change.into(),
            what: what.into(),
            ..Self::default()
        }
    }

    /// Marks it expected.
    #[must_use]
    pub fn covered(mut self, by: impl Into<String>, reason: impl Into<String>) -> Self {
        self.covered_by = Some(by.into());
        self.reason = Some(reason.into());
        self
    }

    /// The culprit, for people: the path, `config Env PATH`, `package psycopg2`, `library
    /// libpq.so.5 of /app/x.so`.
    pub fn subject(&self) -> String {
        match self.kind.as_str() {
            "package" => format!("package {}", self.package.as_deref().unwrap_or("?")),
            "library" => format!(
                "{}{}",
                self.path.as_deref().unwrap_or("?"),
                self.library
                    .as_deref()
                    .map(|l| format!(" (lacks {l})"))
                    .unwrap_or_default()
            ),
            _ => match (&self.path, &self.config) {
                (Some(p), _) => p.clone(),
                (None, Some(c)) => match &self.key {
                    Some(k) => format!("config {c} {k}"),
                    None => format!("config {c}"),
                },
                (None, None) => "?".into(),
            },
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Expected {
    pub count: usize,
    /// Covering rule -> number of differences.
    pub by_rule: BTreeMap<String, usize>,
    /// Covering rule -> its first few differences.
    pub examples: BTreeMap<String, Vec<DiffItem>>,
}

impl Expected {
    pub fn add(&mut self, item: DiffItem) {
        let rule = item.covered_by.clone().unwrap_or_default();
        self.count += 1;
        *self.by_rule.entry(rule.clone()).or_default() += 1;
        let examples = self.examples.entry(rule).or_default();
        if examples.len() < EXAMPLES_PER_RULE {
            examples.push(item);
        }
    }
}

/// The smoke check that ran, as declared in example.toml.
#[derive(Clone, Debug, Serialize)]
pub struct SmokeSpec {
    pub argv: Vec<String>,
    pub expect: Option<String>,
}

/// What the app-equivalence check looked at (when the base image changes).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AppCheck {
    /// Why it ran: `multi-stage changes the base image`, `--against`.
    pub because: String,
    /// The original's WORKDIR when its Dockerfile sets one: its tree is the application's.
    pub workdir: Option<String>,
    /// The program the command runs (after wrappers and `sh -c`), as named.
    pub program: Option<String>,
    /// Where it resolves (real path) in the original and in the fixed image.
    pub program_original: Option<String>,
    pub program_fixed: Option<String>,
    /// Files the command names (real paths in the original): scripts, jars, the program
    /// when it is no interpreter.
    pub named_files: Vec<String>,
    /// The compiled program the WORKDIR is the build folder of, when there is one: files
    /// missing there are build inputs (or not named by the program).
    pub compiled_program: Option<String>,
    /// Dependency folders compared as packages by the probes, not file by file.
    pub dependency_folders: Vec<String>,
    /// What the check could not follow, and allowed differences worth knowing.
    pub notes: Vec<String>,
    /// What the app checks add to the run's wall time: the probes' view of the files is
    /// collected in the same pass over each image's export as the listing, then the probes
    /// run the images' interpreters while the files are compared; this is the time left
    /// after that, plus reading the program and the rules.
    pub seconds: Option<f64>,
    /// The dependency and library probes' own wall time (running the interpreters,
    /// resolving libraries), partly in parallel with comparing the files.
    pub probe_seconds: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub dockerfile: String,
    /// `--against FILE`: the rewrite verified instead of dockopt's own fixes.
    pub against: Option<String>,
    pub context: String,
    pub unsafe_fixes: bool,
    /// The engine's server version.
    pub engine: Option<String>,
    /// False when no fix applies (nothing is built then).
    pub changed: bool,
    pub applied_fixes: Vec<AppliedJson>,
    pub original: Option<Side>,
    pub fixed: Option<Side>,
    /// (fixed - original) / original * 100, by `.Size`.
    pub size_change_percent: Option<f64>,
    /// fixed layers - original layers.
    pub layers_change: Option<i64>,
    /// The files touched for the rebuild timings (restored afterwards).
    pub touched: BTreeMap<String, String>,
    pub smoke: Option<SmokeSpec>,
    /// True once the two images were compared (false when a build failed or the run
    /// stopped early; the difference lists are empty then).
    pub compared: bool,
    pub expected_differences: Expected,
    pub unexpected_differences: Vec<DiffItem>,
    /// The app-equivalence check, when the base image changes (null otherwise).
    pub app_check: Option<AppCheck>,
    /// With `--baseline`: how many paths differed between two builds of the original.
    pub baseline_noisy_paths: Option<usize>,
    pub images_kept: bool,
    /// `ok`, `no-changes`, `unexpected-differences`, `fixed-build-failed`,
    /// `fixed-smoke-failed`, `original-build-failed`, `original-smoke-failed`,
    /// `interrupted`, `no-engine` or `error`.
    pub verdict: String,
    /// Why the verdict is what it is, for people.
    pub messages: Vec<String>,
    pub exit_code: u8,
}

pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()));
    text.push('\n');
    text
}

/// `-12.3%` style change, one decimal.
pub fn percent(before: u64, after: u64) -> Option<f64> {
    (before > 0).then(|| ((after as f64 - before as f64) / before as f64 * 1000.0).round() / 10.0)
}

/// Seconds rounded to centiseconds, for the JSON.
pub fn seconds(s: f64) -> f64 {
    (s * 100.0).round() / 100.0
}

fn size(bytes: Option<u64>) -> String {
    match bytes {
        None => "-".into(),
        Some(b) if b >= 1_000_000_000 => format!("{:.2} GB", b as f64 / 1e9),
        Some(b) => format!("{:.1} MB", b as f64 / 1e6),
    }
}

fn secs(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), |s| format!("{s:.1} s"))
}

fn smoke(ok: Option<bool>) -> String {
    match ok {
        None => "-".into(),
        Some(true) => "pass".into(),
        Some(false) => "FAIL".into(),
    }
}

fn change_secs(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 => format!("{:+.1} s ({:+.0}%)", b - a, (b - a) / a * 100.0),
        _ => String::new(),
    }
}

/// The report for people.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "dockopt verify {}{} (context {}){}",
        report.dockerfile,
        report
            .against
            .as_deref()
            .map(|f| format!(" against {f}"))
            .unwrap_or_default(),
        report.context,
        report
            .engine
            .as_deref()
            .map(|v| format!(", engine {v}"))
            .unwrap_or_default()
    );
    if !report.changed {
        let _ = writeln!(
            out,
            "{}",
            if report.against.is_some() {
                "The rewrite is the same text as the original; nothing to verify."
            } else if report.verdict == "no-changes" {
                "No fix applies; nothing to verify."
            } else {
                ""
            }
        );
        for m in &report.messages {
            let _ = writeln!(out, "{m}");
        }
        return out;
    }
    if let Some(file) = &report.against {
        let _ = writeln!(
            out,
            "\nVerifying the rewrite {file} against the original (no fixes applied)."
        );
    } else {
        applied_text(&mut out, report);
    }
    sides_text(&mut out, report);
    if let Some(app) = &report.app_check {
        app_text(&mut out, app);
    }
    differences_text(&mut out, report);
    let _ = writeln!(out);
    for m in &report.messages {
        let _ = writeln!(out, "{m}");
    }
    out
}

fn applied_text(out: &mut String, report: &Report) {
    let safe_only = report
        .applied_fixes
        .iter()
        .all(|f| f.applicability == "safe");
    let _ = writeln!(
        out,
        "\nApplied {} fix{} ({}):",
        report.applied_fixes.len(),
        if report.applied_fixes.len() == 1 {
            ""
        } else {
            "es"
        },
        if safe_only {
            "Safe only"
        } else {
            "Safe and Unsafe"
        }
    );
    let width = report
        .applied_fixes
        .iter()
        .map(|f| f.rule.len())
        .max()
        .unwrap_or(0);
    for f in &report.applied_fixes {
        let _ = writeln!(
            out,
            "  {:width$}  {:6}  {}",
            f.rule, f.applicability, f.title
        );
    }
}

fn sides_text(out: &mut String, report: &Report) {
    let empty = Side::default();
    let o = report.original.as_ref().unwrap_or(&empty);
    let x = report.fixed.as_ref().unwrap_or(&empty);
    let build = |s: &Side| {
        if s.build_ok {
            "ok".to_string()
        } else if s.build_s.is_some() {
            "FAILED".to_string()
        } else {
            "-".to_string()
        }
    };
    let rows: Vec<(&str, String, String, String)> = vec![
        ("build", build(o), build(x), String::new()),
        (
            "size",
            size(o.size_bytes),
            size(x.size_bytes),
            report
                .size_change_percent
                .map(|p| format!("{p:+.1}%"))
                .unwrap_or_default(),
        ),
        (
            "layers",
            o.layers.map_or("-".into(), |l| l.to_string()),
            x.layers.map_or("-".into(), |l| l.to_string()),
            match (report.layers_change, o.layers) {
                (Some(c), Some(l)) if l > 0 => {
                    format!("{c:+} ({:+.0}%)", c as f64 / l as f64 * 100.0)
                }
                _ => String::new(),
            },
        ),
        (
            "cold build (--no-cache)",
            secs(o.build_s),
            secs(x.build_s),
            change_secs(o.build_s, x.build_s),
        ),
        (
            "rebuild, source changed",
            secs(o.rebuild_after_source_change_s),
            secs(x.rebuild_after_source_change_s),
            change_secs(
                o.rebuild_after_source_change_s,
                x.rebuild_after_source_change_s,
            ),
        ),
        (
            "rebuild, manifest changed",
            secs(o.rebuild_after_manifest_change_s),
            secs(x.rebuild_after_manifest_change_s),
            change_secs(
                o.rebuild_after_manifest_change_s,
                x.rebuild_after_manifest_change_s,
            ),
        ),
        (
            "smoke check",
            smoke(o.smoke_ok),
            smoke(x.smoke_ok),
            String::new(),
        ),
    ];
    let _ = writeln!(
        out,
        "\n  {:26} {:>12} {:>12}  change",
        "", "original", "fixed"
    );
    for (label, a, b, c) in rows {
        let _ = writeln!(out, "  {label:26} {a:>12} {b:>12}  {c}");
    }
    for (label, side) in [("original", o), ("fixed", x)] {
        if let Some(log) = &side.build_log_tail {
            let _ = writeln!(out, "\nThe {label} build failed; the end of its log:");
            for line in log.lines() {
                let _ = writeln!(out, "  | {line}");
            }
        }
        if side.smoke_ok == Some(false)
            && let Some(output) = &side.smoke_output
        {
            let _ = writeln!(out, "\nThe {label} image's smoke check failed; its output:");
            for line in output.lines() {
                let _ = writeln!(out, "  | {line}");
            }
        }
    }
    if let Some(spec) = &report.smoke {
        let _ = writeln!(
            out,
            "\nSmoke check: docker run IMAGE {}{}",
            if spec.argv.is_empty() {
                "(its own CMD)".to_string()
            } else {
                spec.argv.join(" ")
            },
            spec.expect
                .as_deref()
                .map(|e| format!(" (expects {e:?} in the output)"))
                .unwrap_or_default()
        );
    }
}

fn app_text(out: &mut String, app: &AppCheck) {
    let _ = writeln!(out, "\nApp check ({}):", app.because);
    if let Some(w) = &app.workdir {
        let _ = writeln!(out, "  application folder (WORKDIR) {w}");
    }
    if let Some(p) = &app.program {
        let _ = writeln!(
            out,
            "  program `{p}`: {} in the original, {} in the fixed image",
            app.program_original.as_deref().unwrap_or("not found"),
            app.program_fixed.as_deref().unwrap_or("not found")
        );
    }
    if !app.named_files.is_empty() {
        let _ = writeln!(
            out,
            "  files the command names: {}",
            app.named_files.join(", ")
        );
    }
    if let Some(c) = &app.compiled_program {
        let _ = writeln!(
            out,
            "  the WORKDIR is the build folder of the compiled program {c}"
        );
    }
    if !app.dependency_folders.is_empty() {
        let _ = writeln!(
            out,
            "  compared as packages, not file by file: {}",
            app.dependency_folders.join(", ")
        );
    }
    for n in &app.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    if let Some(s) = app.seconds {
        let _ = writeln!(
            out,
            "  app checks: {s:.1} s added{}",
            app.probe_seconds
                .map(|p| format!(
                    " (the probes took {p:.1} s, partly while the files were compared)"
                ))
                .unwrap_or_default()
        );
    }
}

fn differences_text(out: &mut String, report: &Report) {
    let e = &report.expected_differences;
    if report.compared {
        let _ = writeln!(out, "\nExpected differences: {}", e.count);
        if let Some(n) = report.baseline_noisy_paths {
            let _ = writeln!(
                out,
                "  ({n} path{} differed between two builds of the original: noise)",
                if n == 1 { "" } else { "s" }
            );
        }
        let width = e.by_rule.keys().map(String::len).max().unwrap_or(0);
        for (rule, n) in &e.by_rule {
            let example = e
                .examples
                .get(rule)
                .and_then(|v| v.first())
                .map(|d| format!("  e.g. {}: {}", d.subject(), d.what))
                .unwrap_or_default();
            let _ = writeln!(out, "  {rule:width$} {n:>6}{example}");
        }
        let _ = writeln!(
            out,
            "\nUnexpected differences: {}",
            report.unexpected_differences.len()
        );
        for d in &report.unexpected_differences {
            let _ = writeln!(out, "  {}: {}", d.subject(), d.what);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: &str, rule: Option<&str>) -> DiffItem {
        DiffItem {
            covered_by: rule.map(String::from),
            ..DiffItem::path(path, "removed", "removed file (1 bytes, mode 0644)")
        }
    }

    #[test]
    fn expected_differences_are_counted_by_rule_with_a_few_examples() {
        let mut e = Expected::default();
        for i in 0..8 {
            e.add(item(
                &format!("/var/lib/apt/lists/{i}"),
                Some("apt-lists-cleanup"),
            ));
        }
        e.add(item("/root/.cache/pip", Some("cache mount target")));
        assert_eq!(e.count, 9);
        assert_eq!(e.by_rule["apt-lists-cleanup"], 8);
        assert_eq!(e.examples["apt-lists-cleanup"].len(), EXAMPLES_PER_RULE);
        assert_eq!(e.by_rule["cache mount target"], 1);
    }

    #[test]
    fn json_has_the_documented_keys() {
        let mut report = Report {
            changed: true,
            original: Some(Side {
                build_ok: true,
                size_bytes: Some(200),
                layers: Some(5),
                ..Side::default()
            }),
            fixed: Some(Side::default()),
            verdict: "ok".into(),
            ..Report::default()
        };
        report
            .unexpected_differences
            .push(DiffItem::config("Cmd", "changed", "a -> b"));
        let v: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        for key in [
            "original",
            "fixed",
            "applied_fixes",
            "expected_differences",
            "unexpected_differences",
            "exit_code",
            "verdict",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        for key in [
            "build_ok",
            "size_bytes",
            "layers",
            "build_s",
            "rebuild_after_source_change_s",
            "rebuild_after_manifest_change_s",
            "smoke_ok",
        ] {
            assert!(v["original"].get(key).is_some(), "{key}");
        }
        assert_eq!(v["unexpected_differences"][0]["config"], "Cmd");
        assert!(v["unexpected_differences"][0].get("path").is_none());
        assert_eq!(v["expected_differences"]["count"], 0);
    }

    #[test]
    fn text_lists_every_unexpected_difference() {
        let report = Report {
            changed: true,
            compared: true,
            fixed: Some(Side {
                build_ok: true,
                ..Side::default()
            }),
            unexpected_differences: (0..30).map(|i| item(&format!("/x/{i}"), None)).collect(),
            ..Report::default()
        };
        let t = text(&report);
        assert!(t.contains("Unexpected differences: 30"));
        assert!(
            t.contains("/x/0: removed") && t.contains("/x/29: removed"),
            "{t}"
        );
    }

    #[test]
    fn percent_and_rounding() {
        assert_eq!(percent(200, 150), Some(-25.0));
        assert_eq!(percent(3, 4), Some(33.3));
        assert_eq!(percent(0, 4), None);
        assert!((seconds(1.23456) - 1.23).abs() < f64::EPSILON);
    }
}
