//! Java: the jar that CMD or ENTRYPOINT `java -jar PATH` runs, built by Maven or Gradle,
//! on the Temurin JRE.

use dockopt_syntax::Instruction;

use super::args::parse_args;
use super::command::command_line;
use super::ecosystem::{Call, Ecosystem};
use super::scan::Scan;
use super::{Analysis, Plan, base_name};
use crate::paths::absolute;

#[derive(Default)]
pub(super) struct Java {
    /// Whether a Maven or Gradle goal builds the application.
    built: bool,
}

impl Ecosystem for Java {
    fn name(&self) -> &'static str {
        "java"
    }

    fn scan(&mut self, _scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let manager = call.manager;
        let (operands, _) = parse_args(&call.command.args, &[]);
        let goals = call
            .knowledge
            .multi_stage
            .java
            .build_goals
            .get(manager)
            .map_or(&[][..], Vec::as_slice);
        if operands
            .iter()
            .filter_map(|w| w.value())
            .any(|g| goals.iter().any(|x| x == g.rsplit(':').next().unwrap_or(g)))
        {
            self.built = true;
        }
        Ok(())
    }

    fn artifacts(
        &self,
        a: &Analysis<'_>,
        runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<Vec<String>> {
        if !self.built {
            return Err(
                "no Maven or Gradle build (package, install, build, bootJar, \
                        assemble, installDist) in the stage"
                    .into(),
            );
        }
        let words = command_line(a, runtime)?;
        let java = words.first().is_some_and(|w| base_name(w) == "java");
        let jar = words
            .iter()
            .position(|w| w == "-jar")
            .and_then(|i| words.get(i + 1));
        let (true, Some(jar)) = (java, jar) else {
            return Err("the CMD/ENTRYPOINT does not run `java -jar PATH`".into());
        };
        if jar.contains(['*', '?', '[', '$']) {
            return Err(format!(
                "the jar `{jar}` is a glob or variable; dockopt needs its literal path"
            ));
        }
        let path = absolute(a.final_wd.as_deref().or(Some("/")), jar)
            .ok_or_else(|| format!("the jar `{jar}` cannot be resolved"))?;
        Ok(vec![path])
    }
}
