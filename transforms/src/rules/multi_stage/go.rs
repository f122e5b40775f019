//! Go: the binary of `go build -o OUT`, built with cgo off, on distroless/static.

use dockopt_syntax::Instruction;

use super::args::{Opt, option_value};
use super::command::{program_artifact, with_copies};
use super::ecosystem::{Call, Ecosystem};
use super::scan::{Scan, unknown_run};
use super::{Analysis, Plan};
use crate::paths::absolute;

/// A `go build -o OUT`: where the binary goes, and whether cgo is off.
#[derive(Clone, Debug)]
struct GoBuild {
    line: usize,
    out: String,
    cgo_off: bool,
}

#[derive(Default)]
pub(super) struct Go {
    builds: Vec<GoBuild>,
}

impl Ecosystem for Go {
    // TODO(issue 13): move to knowledge (images.toml: the ecosystem of each toolchain image and
    // its package managers).
    fn repositories(&self) -> &'static [&'static str] {
        &["golang"]
    }

    fn managers(&self) -> &'static [&'static str] {
        &["go"]
    }

    // TODO(issue 13): move to knowledge (the go subcommands that only read or test).
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
                let cgo_off = exported.iter().any(|w| w == "CGO_ENABLED=0")
                    || command.assignments.iter().any(|x| {
                        x.name == "CGO_ENABLED" && x.value.as_ref().is_some_and(|v| v.is("0"))
                    })
                    || state.var("CGO_ENABLED") == Some("0");
                self.builds.push(GoBuild {
                    line,
                    out: out_abs,
                    cgo_off,
                });
                Ok(())
            }
            "install" => Err(format!(
                "`go install` at line {line} puts the binary in $GOPATH/bin; dockopt follows \
                 `go build -o PATH`"
            )),
            "mod" | "test" | "vet" | "generate" | "version" | "env" | "list" | "fmt" | "get"
            | "work" | "clean" | "doc" | "tool" => Ok(()),
            _ => Err(unknown_run(line, &format!("go {sub}"))),
        }
    }

    fn artifacts(
        &self,
        a: &Analysis<'_>,
        runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<Vec<String>> {
        if self.builds.is_empty() {
            return Err("no `go build -o PATH` in the stage builds the program".into());
        }
        if let Some(b) = self.builds.iter().find(|b| !b.cgo_off) {
            return Err(format!(
                "the `go build` at line {} does not set CGO_ENABLED=0: the binary may link \
                 libc dynamically, and {} has none; set CGO_ENABLED=0",
                b.line, a.twin
            ));
        }
        let candidates = with_copies(a, self.builds.iter().map(|b| b.out.clone()).collect());
        program_artifact(a, runtime, &candidates)
    }
}
