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

    // TODO(issue 13): move to knowledge (images.toml: the ecosystem of each toolchain image and
    // its package managers).
    fn repositories(&self) -> &'static [&'static str] {
        &["maven", "gradle", "eclipse-temurin"]
    }

    fn managers(&self) -> &'static [&'static str] {
        &["maven", "gradle"]
    }

    fn tools(&self) -> &'static [&'static str] {
        &["java", "javac", "jar"]
    }

    // TODO(issue 13): move to knowledge (the Maven and Gradle goals that build a jar).
    fn scan(&mut self, _scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let manager = call.manager;
        let (operands, _) = parse_args(&call.command.args, &[]);
        let goals: &[&str] = if manager == "maven" {
            &["package", "install", "verify", "deploy"]
        } else {
            &[
                "build",
                "bootJar",
                "assemble",
                "installDist",
                "jar",
                "shadowJar",
                "bootWar",
                "war",
            ]
        };
        if operands
            .iter()
            .filter_map(|w| w.value())
            .any(|g| goals.contains(&g.rsplit(':').next().unwrap_or(g)))
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
