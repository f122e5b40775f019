//! Go: the binary of `go build -o OUT` on distroless/static when it is built with cgo off
//! (a `go build` that leaves CGO_ENABLED unset gets `CGO_ENABLED=0` when no Go file of the
//! build context imports "C"), else on the glibc runtime knowledge/multi-stage.toml gives.

use dockopt_syntax::Instruction;

use super::args::{Opt, option_value};
use super::command::{program_artifact, with_copies};
use super::ecosystem::{Call, Ecosystem, Runtime};
use super::files::read_sources;
use super::scan::{Scan, unknown_run};
use super::sources::Lexicon;
use super::{Analysis, Plan, base_name, parent};
use crate::paths::absolute;
use crate::rules::and_list;

/// What CGO_ENABLED is where a `go build` runs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cgo {
    Off,
    On,
    /// Not set: on by default where a C compiler is (the Debian golang images).
    Unset,
    /// Set to something else, or from a variable: the value as written.
    Unknown(String),
}

/// A `go build -o OUT`: where the binary goes, and cgo.
#[derive(Clone, Debug)]
struct GoBuild {
    line: usize,
    out: String,
    cgo: Cgo,
    /// Where the command starts in the file (a prefix assignment goes there).
    at: usize,
}

#[derive(Default)]
pub(super) struct Go {
    builds: Vec<GoBuild>,
}

impl Ecosystem for Go {
    fn name(&self) -> &'static str {
        "go"
    }

    fn scan(&mut self, _scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            cwd,
            state,
            exported,
            line,
            ..
        } = *call;
        let sub = call.subcommand();
        match sub {
            "build" => {
                if option_value(&command.args, &["-C", "--C"]) != Opt::Absent {
                    return Err(format!(
                        "`go build -C` at line {line}: dockopt does not follow -C"
                    ));
                }
                let out = match option_value(&command.args, &["-o", "--o"]) {
                    Opt::Absent => {
                        return Err(format!(
                            "the `go build` at line {line} has no `-o`; dockopt needs to know \
                             where the binary goes"
                        ));
                    }
                    Opt::Unreadable => {
                        return Err(format!(
                            "the `go build -o` at line {line} names its output with a variable"
                        ));
                    }
                    Opt::Value(out) => out,
                };
                if out.ends_with('/') {
                    return Err(format!(
                        "the `go build -o {out}` at line {line} writes into a folder; dockopt \
                         needs the binary's path"
                    ));
                }
                let Some(out_abs) = absolute(cwd, out) else {
                    return Err(format!(
                        "the `go build -o {out}` at line {line} runs in a folder dockopt cannot \
                         tell"
                    ));
                };
                // The command's own assignment wins over an `export`, which wins over ENV.
                let assigned = command
                    .assignments
                    .iter()
                    .rev()
                    .find(|x| x.name == "CGO_ENABLED")
                    .map(|x| match &x.value {
                        Some(v) => v.value().unwrap_or(v.raw.as_str()).to_string(),
                        None => String::new(),
                    });
                let exported = exported
                    .iter()
                    .rev()
                    .find_map(|w| w.strip_prefix("CGO_ENABLED=").map(String::from));
                let value = assigned.or(exported).or_else(|| {
                    state
                        .is_set("CGO_ENABLED")
                        .then(|| state.var("CGO_ENABLED").unwrap_or("$…").to_string())
                });
                let cgo = match value.as_deref() {
                    None => Cgo::Unset,
                    Some("0") => Cgo::Off,
                    Some("1") => Cgo::On,
                    Some(other) => Cgo::Unknown(other.to_string()),
                };
                self.builds.push(GoBuild {
                    line,
                    out: out_abs,
                    cgo,
                    at: command.span.file.start,
                });
                Ok(())
            }
            "install" => Err(format!(
                "`go install` at line {line} puts the binary in $GOPATH/bin; dockopt follows \
                 `go build -o PATH`"
            )),
            _ if call.harmless_subcommand(self.name()) => Ok(()),
            _ => Err(unknown_run(line, &format!("go {sub}"))),
        }
    }

    fn runtime(&self, a: &Analysis<'_>) -> Plan<Runtime> {
        let mut runtime = Runtime::default();
        if let Some((b, value)) = self.builds.iter().find_map(|b| match &b.cgo {
            Cgo::Unknown(v) => Some((b, v)),
            _ => None,
        }) {
            return Err(format!(
                "the `go build` at line {} runs with CGO_ENABLED={value}; dockopt needs 0 or 1 \
                 to tell whether the binary links the C library",
                b.line
            ));
        }
        let mut cgo = self
            .builds
            .iter()
            .find(|b| b.cgo == Cgo::On)
            .map(|b| format!("the `go build` at line {} sets CGO_ENABLED=1", b.line));
        let unset: Vec<&GoBuild> = self.builds.iter().filter(|b| b.cgo == Cgo::Unset).collect();
        if !unset.is_empty() {
            let lines: Vec<String> = unset.iter().map(|b| b.line.to_string()).collect();
            let lines = and_list(&lines);
            match cgo_use(a) {
                Err(why) => {
                    return Err(format!(
                        "the `go build` at line {lines} leaves CGO_ENABLED unset (cgo on where \
                         a C compiler is), and {why}; set CGO_ENABLED=0 on it if the module \
                         does not use cgo"
                    ));
                }
                Ok(None) => {
                    for b in &unset {
                        runtime.inserts.push((b.at, "CGO_ENABLED=0 ".into()));
                    }
                    runtime.changes_build = Some(format!(
                        "the `go build` at line {lines} runs with CGO_ENABLED=0 (a statically \
                         linked binary)"
                    ));
                    runtime.notes.push(format!(
                        "the `go build` at line {lines} gets CGO_ENABLED=0 for a static binary: \
                         no Go file of the build context imports \"C\" and go.mod requires no \
                         module known to need cgo"
                    ));
                }
                Ok(Some(why)) => {
                    cgo.get_or_insert(why);
                }
            }
        }
        if let Some(why) = cgo {
            let base = &a.base;
            let image = a
                .knowledge()
                .multi_stage
                .go
                .cgo_runtime(base.family, &base.tag)
                .ok_or_else(|| {
                    format!(
                        "{why}, so the binary links the C library dynamically, and dockopt \
                         knows no runtime image with the C library of {}:{}; build with \
                         CGO_ENABLED=0 if the module allows",
                        base.repository, base.tag
                    )
                })?;
            runtime.notes.push(format!(
                "{why}, so the binary links the C library dynamically and runs FROM {image}, \
                 which has it"
            ));
            runtime.image = Some(image.to_string());
        }
        Ok(runtime)
    }

    fn artifacts(
        &self,
        a: &Analysis<'_>,
        runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<Vec<String>> {
        if self.builds.is_empty() {
            return Err("no `go build -o PATH` in the stage builds the program".into());
        }
        let candidates = with_copies(a, self.builds.iter().map(|b| b.out.clone()).collect());
        program_artifact(a, runtime, &candidates)
    }
}

/// Why the build needs cgo (a file that imports "C", a module known to need it), `None`
/// when nothing in the build context does; `Err` when dockopt cannot tell.
fn cgo_use(a: &Analysis<'_>) -> Result<Option<String>, String> {
    let context = a.ctx.build_context.ok_or(
        "without the build context dockopt cannot tell whether the module uses cgo (a Go \
         file that imports \"C\")",
    )?;
    let files = context
        .files()
        .ok_or("the build context cannot be listed to look for Go files that import \"C\"")?;
    if files.is_truncated() {
        return Err("the build context is too large for dockopt to read all its Go files".into());
    }
    let knowledge = a.knowledge();
    let go = &knowledge.multi_stage.go;
    let facts = knowledge.multi_stage.ecosystem("go");
    let lexicon = Lexicon {
        facts,
        cgo_import: &go.cgo_import,
        embed_directive: &go.embed_directive,
    };
    // Vendored packages count: their cgo is the binary's. Tests and testdata are not built.
    let built = |path: &str| {
        facts.is_source(path)
            && !path.ends_with("_test.go")
            && !path.split('/').any(|part| part == "testdata")
    };
    let (sources, unread) = read_sources(context, files, &lexicon, &built)?;
    if let Some((path, line)) = sources
        .iter()
        .find_map(|s| Some((&s.path, s.facts.cgo_line?)))
    {
        return Ok(Some(format!(
            "{path}:{line} imports \"{}\" (cgo)",
            go.cgo_import
        )));
    }
    let marker = format!("\"{}\"", go.cgo_import);
    for path in &unread {
        if context.read_text(path).is_none_or(|t| t.contains(&marker)) {
            return Ok(Some(format!(
                "dockopt could not read {path} to rule out cgo"
            )));
        }
    }
    // Modules outside the context: judged by the knowledge's list, unless vendored (then
    // their files were read above).
    for manifest in files.iter().filter(|f| base_name(&f.path) == "go.mod") {
        let folder = parent(&manifest.path);
        let vendor = if folder.is_empty() {
            "vendor/modules.txt".to_string()
        } else {
            format!("{folder}/vendor/modules.txt")
        };
        if manifest
            .path
            .split('/')
            .any(|p| p == "vendor" || p == "testdata")
            || files.contains(&vendor)
        {
            continue;
        }
        let Some(text) = context.read_text(&manifest.path) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim().trim_start_matches("require").trim_start();
            let module = line.split_whitespace().next().unwrap_or("");
            if let Some(known) = go.cgo_modules.iter().find(|m| {
                module == m.as_str()
                    || module
                        .strip_prefix(m.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }) {
                return Ok(Some(format!(
                    "{} requires {module}, which needs cgo ({known})",
                    manifest.path
                )));
            }
        }
    }
    Ok(None)
}
