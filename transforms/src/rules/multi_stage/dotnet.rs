//! .NET: the `dotnet publish -o OUT` folder holding the DLL that `dotnet X.dll` runs, on
//! `aspnet`.

use dockopt_syntax::Instruction;

use super::args::{Opt, option_value};
use super::command::command_line;
use super::ecosystem::{Call, Ecosystem};
use super::scan::{Scan, unknown_run};
use super::{Analysis, Plan, base_name};
use crate::paths::{absolute, under};
use crate::rules::and_list;

#[derive(Default)]
pub(super) struct Dotnet {
    /// The output folders of `dotnet publish -o OUT`.
    outs: Vec<String>,
}

impl Ecosystem for Dotnet {
    fn name(&self) -> &'static str {
        "dotnet"
    }

    fn scan(&mut self, _scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command, cwd, line, ..
        } = *call;
        let sub = call.subcommand();
        let has = |flag: &str| command.has_flag(flag);
        match sub {
            "publish" => {
                let out = match option_value(&command.args, &["-o", "--output"]) {
                    Opt::Absent => {
                        return Err(format!(
                            "the `dotnet publish` at line {line} has no `-o`; dockopt needs to \
                             know where the application goes"
                        ));
                    }
                    Opt::Unreadable => None,
                    Opt::Value(out) => absolute(cwd, out),
                }
                .ok_or_else(|| {
                    format!(
                        "the `dotnet publish -o` at line {line} has an output dockopt cannot \
                         resolve"
                    )
                })?;
                self.outs.push(out);
                Ok(())
            }
            "tool" if has("-g") || has("--global") || has("--tool-path") => Err(format!(
                "`dotnet tool` at line {line} installs outside WORKDIR"
            )),
            _ if call.harmless_subcommand(self.name()) => Ok(()),
            _ => Err(unknown_run(line, &format!("dotnet {sub}"))),
        }
    }

    fn artifacts(
        &self,
        a: &Analysis<'_>,
        runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<Vec<String>> {
        if self.outs.is_empty() {
            return Err("no `dotnet publish -o OUT` in the stage".into());
        }
        let words = command_line(a, runtime)?;
        let dll = match words.as_slice() {
            [dotnet, dll, ..]
                if base_name(dotnet) == "dotnet" && dll.to_ascii_lowercase().ends_with(".dll") =>
            {
                dll
            }
            _ => return Err("the CMD/ENTRYPOINT does not run `dotnet X.dll`".into()),
        };
        let path = absolute(a.final_wd.as_deref().or(Some("/")), dll)
            .ok_or_else(|| format!("`{dll}` cannot be resolved"))?;
        self.outs
            .iter()
            .find(|out| under(out, &path) && **out != "/")
            .map(|out| vec![out.clone()])
            .ok_or_else(|| {
                format!(
                    "it runs {path}, which is not in the `dotnet publish` output ({})",
                    and_list(&self.outs)
                )
            })
    }
}
