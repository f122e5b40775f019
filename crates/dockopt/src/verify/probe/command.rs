//! Which runtime an image's command starts: Entrypoint + Cmd, seen through shells
//! (`/bin/sh -c "..."`, parsed with dockopt-shell), wrappers (`exec`, `env`, `tini`, `gosu`,
//! the node image's `docker-entrypoint.sh`, ...) and `#!` lines, with programs looked up in
//! the image's PATH from its WorkingDir.

use super::fs::{ImageFs, Node, absolute};

/// Shell `-c` strings and `#!` lines followed at most, nested.
const MAX_DEPTH: usize = 6;

/// Docker's PATH when the image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `interpreter` is the path as the command reaches it (a venv's `bin/python` stays,
    /// since it decides `sys.prefix`), or the bare name when the image has no such program.
    Python {
        interpreter: String,
    },
    /// `script` is the absolute path of the script node runs, when it runs one.
    Node {
        node: Option<String>,
        script: Option<String>,
    },
    Ruby {
        program: String,
        bundler: bool,
    },
    Java {
        java: String,
        jar: Option<String>,
    },
}

impl Runtime {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Python { .. } => "python",
            Self::Node { .. } => "node",
            Self::Ruby { .. } => "ruby",
            Self::Java { .. } => "java",
        }
    }
}

/// What the command needs, as far as it can be told from the image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandInfo {
    pub runtimes: Vec<Runtime>,
    /// Files the command names or runs (programs found in PATH, script arguments), absolute.
    pub files: Vec<String>,
    pub notes: Vec<String>,
}

pub struct Resolver<'a> {
    pub fs: &'a ImageFs,
    pub path: Vec<String>,
    pub workdir: String,
}

fn base(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, b)| b)
}

fn is_python(base: &str) -> bool {
    let rest = base
        .strip_prefix("python")
        .or_else(|| base.strip_prefix("pypy"));
    rest.is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
    })
}

impl Resolver<'_> {
    pub fn new<'a>(fs: &'a ImageFs, path_var: Option<&str>, workdir: &str) -> Resolver<'a> {
        Resolver {
            fs,
            path: path_var
                .unwrap_or(DEFAULT_PATH)
                .split(':')
                .filter(|d| !d.is_empty())
                .map(|d| absolute(workdir, d))
                .collect(),
            workdir: if workdir.is_empty() {
                "/".into()
            } else {
                workdir.into()
            },
        }
    }

    /// The program `name` runs: a path as given, or the first executable file in PATH.
    pub fn lookup(&self, name: &str) -> Option<String> {
        let executable = |p: &String| {
            matches!(
                self.fs.node(p),
                Some((
                    Node::File {
                        executable: true,
                        ..
                    },
                    _
                ))
            )
        };
        if name.contains('/') {
            return Some(absolute(&self.workdir, name)).filter(executable);
        }
        self.path.iter().map(|d| absolute(d, name)).find(executable)
    }

    /// Resolves an argv (Entrypoint followed by Cmd).
    pub fn resolve(&self, argv: &[String]) -> CommandInfo {
        let mut out = CommandInfo::default();
        if argv.is_empty() {
            out.notes
                .push("the image has no command (no Entrypoint or Cmd)".into());
        }
        self.walk(argv, 0, &mut out);
        out.files.sort();
        out.files.dedup();
        out.runtimes.dedup();
        out
    }

    fn add_file(&self, path: &str, out: &mut CommandInfo) {
        if self.fs.is_file(path) {
            out.files.push(path.to_string());
        }
    }

    fn walk(&self, argv: &[String], depth: usize, out: &mut CommandInfo) {
        let skip = argv.iter().take_while(|w| is_assignment(w)).count();
        let argv = &argv[skip..];
        let Some(name) = argv.first() else { return };
        if depth > MAX_DEPTH {
            out.notes.push(format!("{name}: nested too deep to follow"));
            return;
        }
        let rest = &argv[1..];
        let b = base(name);
        match b {
            "exec" | "nohup" | "command" => return self.walk(rest, depth, out),
            "env" => {
                let n = rest
                    .iter()
                    .take_while(|w| w.starts_with('-') || is_assignment(w))
                    .count();
                return self.walk(&rest[n..], depth, out);
            }
            "tini" | "dumb-init" | "catatonit" | "sudo" | "timeout" | "nice" => {
                self.lookup(name).inspect(|p| out.files.push(p.clone()));
                let mut i = 0;
                while i < rest.len() && rest[i].starts_with('-') {
                    // Options with a value.
                    if matches!(rest[i].as_str(), "-n" | "-u" | "-s" | "-k" | "-e" | "-g") {
                        i += 1;
                    }
                    let end = rest[i] == "--";
                    i += 1;
                    if end {
                        break;
                    }
                }
                if b == "timeout" && i < rest.len() {
                    i += 1;
                }
                return self.walk(&rest[i.min(rest.len())..], depth, out);
            }
            "gosu" | "su-exec" => {
                self.lookup(name).inspect(|p| out.files.push(p.clone()));
                return self.walk(rest.get(1..).unwrap_or_default(), depth, out);
            }
            "sh" | "bash" | "dash" | "ash" | "zsh" => return self.shell(name, rest, depth, out),
            "docker-entrypoint.sh" => {
                // The node image's: arguments that are not a command go to node.
                self.lookup(name).inspect(|p| out.files.push(p.clone()));
                let Some(first) = rest.first() else { return };
                if first.starts_with('-') || self.lookup(first).is_none() {
                    let mut with_node = vec!["node".to_string()];
                    with_node.extend(rest.iter().cloned());
                    return self.walk(&with_node, depth, out);
                }
                return self.walk(rest, depth, out);
            }
            _ => {}
        }
        let program = self.lookup(name);
        if let Some(p) = &program {
            out.files.push(p.clone());
        }
        let real_base = program
            .as_deref()
            .and_then(|p| self.fs.resolve(p))
            .map(|p| base(&p).to_string());
        let known = |f: fn(&str) -> bool| f(b) || real_base.as_deref().is_some_and(f);
        let invoked = program.clone().unwrap_or_else(|| name.clone());
        if known(is_python) {
            out.runtimes.push(Runtime::Python {
                interpreter: invoked,
            });
            self.script_args(rest, &["-c", "-m", "-W", "-X", "-Q"], &["-c", "-m"], out);
            return;
        }
        if known(|b| b == "node" || b == "nodejs") {
            let script = self.script_args(
                rest,
                &[
                    "-r",
                    "--require",
                    "--import",
                    "--loader",
                    "--experimental-loader",
                    "-e",
                    "--eval",
                    "-p",
                    "--print",
                    "--inspect-port",
                    "--title",
                ],
                &["-e", "--eval", "-p", "--print"],
                out,
            );
            out.runtimes.push(Runtime::Node {
                node: program,
                script: script.map(|s| absolute(&self.workdir, &s)),
            });
            return;
        }
        // Package managers and bun run the app with the node_modules of its folder.
        if matches!(
            b,
            "npm" | "npx" | "yarn" | "yarnpkg" | "pnpm" | "bun" | "bunx"
        ) {
            out.runtimes.push(Runtime::Node {
                node: self.lookup("node"),
                script: None,
            });
            return;
        }
        if matches!(
            b,
            "ruby"
                | "bundle"
                | "bundler"
                | "rails"
                | "rackup"
                | "puma"
                | "unicorn"
                | "sidekiq"
                | "rake"
        ) {
            let bundler = matches!(b, "bundle" | "bundler");
            out.runtimes.push(Runtime::Ruby {
                program: invoked,
                bundler,
            });
            if bundler && rest.first().is_some_and(|w| w == "exec") {
                return self.walk(&rest[1..], depth + 1, out);
            }
            self.script_args(rest, &["-e", "-r", "-I", "-C"], &["-e"], out);
            return;
        }
        if known(|b| b == "java") {
            let jar = rest
                .iter()
                .position(|w| w == "-jar")
                .and_then(|i| rest.get(i + 1))
                .map(|j| absolute(&self.workdir, j));
            if let Some(j) = &jar {
                self.add_file(j, out);
            }
            out.runtimes.push(Runtime::Java { java: invoked, jar });
            return;
        }
        // A script with a #! line: its interpreter runs it.
        if let Some(p) = &program
            && let Some(real) = self.fs.resolve(p)
            && let Some(line) = self.fs.shebangs.get(&real)
        {
            let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            if words.is_empty() {
                return;
            }
            words.push(p.clone());
            words.extend(rest.iter().cloned());
            return self.walk(&words, depth + 1, out);
        }
        if program.is_none() {
            out.notes
                .push(format!("{name}: not found in the image's PATH"));
        }
        for arg in rest.iter().filter(|a| !a.starts_with('-')) {
            self.add_file(&absolute(&self.workdir, arg), out);
        }
    }

    /// Skips an interpreter's options; the first other word is the script (added to
    /// `files`), unless an option in `no_script` came first. `with_value` options take the
    /// next word.
    fn script_args(
        &self,
        rest: &[String],
        with_value: &[&str],
        no_script: &[&str],
        out: &mut CommandInfo,
    ) -> Option<String> {
        let mut i = 0;
        while i < rest.len() {
            let w = rest[i].as_str();
            if no_script.contains(&w) {
                return None;
            }
            if w == "--" {
                i += 1;
                break;
            }
            if !w.starts_with('-') || w == "-" {
                break;
            }
            if with_value.contains(&w) {
                i += 1;
            }
            i += 1;
        }
        let script = rest.get(i)?;
        if script == "-" {
            return None;
        }
        self.add_file(&absolute(&self.workdir, script), out);
        Some(script.clone())
    }

    fn shell(&self, name: &str, rest: &[String], depth: usize, out: &mut CommandInfo) {
        self.lookup(name).inspect(|p| out.files.push(p.clone()));
        let mut i = 0;
        let mut has_c = false;
        while i < rest.len() && rest[i].starts_with('-') && rest[i] != "-" && rest[i] != "--" {
            if rest[i].starts_with("--") {
                i += 1;
                continue;
            }
            has_c |= rest[i].contains('c');
            if rest[i] == "-o" {
                i += 1;
            }
            i += 1;
        }
        if rest.get(i).is_some_and(|w| w == "--") {
            i += 1;
        }
        let Some(first) = rest.get(i) else { return };
        if !has_c {
            let script = absolute(&self.workdir, first);
            self.add_file(&script, out);
            let args = &rest[i + 1..];
            if args.is_empty() {
                out.notes.push(format!(
                    "the command runs the shell script {script}: the programs it starts are not followed"
                ));
            } else {
                // The usual entrypoint script ends in `exec "$@"`.
                out.notes.push(format!(
                    "the command runs the shell script {script}: its arguments are followed as the command it runs (as `exec \"$@\"` would), the script's own programs are not"
                ));
                self.walk(args, depth + 1, out);
            }
            return;
        }
        let parsed = dockopt_shell::parse_text(first);
        if parsed.is_opaque() {
            out.notes.push(format!(
                "the shell command {first:?} did not parse; programs read as far as it did"
            ));
        }
        for cmd in parsed.commands() {
            let words: Vec<String> = cmd
                .words()
                .map(|w| {
                    w.value()
                        .map_or_else(|| w.text().to_string(), str::to_string)
                })
                .collect();
            if cmd.name.is_some() {
                self.walk(&words, depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fs::tests::image;
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_string()).collect()
    }

    fn fs() -> ImageFs {
        image(&[
            ("usr/bin/python3.11", b"elf"),
            ("usr/bin/python3", b"->python3.11"),
            ("usr/bin/python", b"->python3"),
            ("opt/venv/bin/python", b"->/usr/bin/python3.11"),
            (
                "opt/venv/bin/gunicorn",
                b"#!/opt/venv/bin/python\nimport x\n",
            ),
            ("usr/local/bin/uvicorn", b"#!/usr/bin/env python3\n"),
            ("usr/bin/node", b"elf"),
            ("usr/bin/npm", b"->../share/nodejs/npm/bin/npm-cli.js"),
            (
                "usr/share/nodejs/npm/bin/npm-cli.js",
                b"#!/usr/bin/env node\n",
            ),
            ("usr/local/bin/docker-entrypoint.sh", b"#!/bin/sh\n"),
            ("usr/local/bin/bun", b"elf"),
            ("bin/sh", b"elf"),
            ("usr/bin/tini", b"elf"),
            ("usr/bin/java", b"elf"),
            ("usr/local/bin/go-api", b"elf"),
            ("app/app.py", b"print()"),
            ("app/dist/server.js", b""),
            ("app/entry.sh", b"#!/bin/sh\n"),
        ])
    }

    fn resolve(words: &[&str], path: &str) -> CommandInfo {
        let fs = fs();
        Resolver::new(&fs, Some(path), "/app").resolve(&argv(words))
    }

    const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

    #[test]
    fn python_through_a_shell_and_a_venv() {
        let c = resolve(&["/bin/sh", "-c", "python app.py"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Python {
                interpreter: "/usr/bin/python".into()
            }]
        );
        assert_eq!(c.files, ["/app/app.py", "/bin/sh", "/usr/bin/python"]);
        let c = resolve(&["python", "app.py"], &format!("/opt/venv/bin:{PATH}"));
        assert_eq!(
            c.runtimes,
            [Runtime::Python {
                interpreter: "/opt/venv/bin/python".into()
            }]
        );
        let c = resolve(
            &[
                "/bin/sh",
                "-c",
                "cd /app && exec FOO=1 gunicorn -b :8000 app:app",
            ],
            "/opt/venv/bin:/usr/bin",
        );
        assert_eq!(
            c.runtimes,
            [Runtime::Python {
                interpreter: "/opt/venv/bin/python".into()
            }]
        );
        let c = resolve(&["uvicorn", "app:app"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Python {
                interpreter: "/usr/bin/python3".into()
            }]
        );
        let c = resolve(&["python3", "-m", "http.server"], PATH);
        assert_eq!(c.files, ["/usr/bin/python3"]);
    }

    #[test]
    fn node_through_the_entrypoint_script_and_npm() {
        let c = resolve(&["docker-entrypoint.sh", "node", "dist/server.js"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Node {
                node: Some("/usr/bin/node".into()),
                script: Some("/app/dist/server.js".into())
            }]
        );
        let c = resolve(&["docker-entrypoint.sh", "dist/server.js"], PATH);
        assert_eq!(c.runtimes.len(), 1, "{c:?}");
        let c = resolve(
            &["/bin/sh", "-c", "node --require ./x.js dist/server.js"],
            PATH,
        );
        assert_eq!(
            c.runtimes,
            [Runtime::Node {
                node: Some("/usr/bin/node".into()),
                script: Some("/app/dist/server.js".into())
            }]
        );
        let c = resolve(&["npm", "start"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Node {
                node: Some("/usr/bin/node".into()),
                script: None
            }]
        );
        // bun runs the project's node_modules like node does: its packages are compared.
        let c = resolve(&["bun", "run", "index.ts"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Node {
                node: Some("/usr/bin/node".into()),
                script: None
            }]
        );
        let c = resolve(&["tini", "--", "node", "-e", "1"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Node {
                node: Some("/usr/bin/node".into()),
                script: None
            }]
        );
    }

    #[test]
    fn native_java_ruby_and_scripts() {
        let c = resolve(&["/bin/sh", "-c", "go-api"], PATH);
        assert!(c.runtimes.is_empty());
        assert_eq!(c.files, ["/bin/sh", "/usr/local/bin/go-api"]);
        let c = resolve(&["java", "-Xmx1g", "-jar", "app.jar"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Java {
                java: "/usr/bin/java".into(),
                jar: Some("/app/app.jar".into())
            }]
        );
        let c = resolve(&["bundle", "exec", "puma"], PATH);
        assert_eq!(
            c.runtimes[0],
            Runtime::Ruby {
                program: "bundle".into(),
                bundler: true
            }
        );
        let c = resolve(&["sh", "entry.sh"], PATH);
        assert!(c.notes[0].contains("/app/entry.sh"), "{c:?}");
        let c = resolve(&["/app/entry.sh", "python", "app.py"], PATH);
        assert_eq!(
            c.runtimes,
            [Runtime::Python {
                interpreter: "/usr/bin/python".into()
            }]
        );
        assert!(c.notes[0].contains("exec"), "{c:?}");
        let c = resolve(&["nothing-here"], PATH);
        assert!(c.notes[0].contains("not found"), "{c:?}");
        let c = resolve(&[], PATH);
        assert!(c.notes[0].contains("no command"));
    }
}
