//! Rust: the binary of `cargo build --release` (`target/release/NAME`, NAME from `--bin`
//! or Cargo.toml) or of `cargo install --path .`, on distroless/cc, when Cargo.lock links
//! no system library the twin lacks.

use dockopt_syntax::Instruction;

use super::args::{Opt, option_value};
use super::command::{program_artifact, with_copies};
use super::ecosystem::{Call, Ecosystem};
use super::scan::{Scan, unknown_run};
use super::{Analysis, Plan};
use crate::paths::absolute;
use crate::stage_state::StageState;

/// A `cargo build --release` in `dir`.
#[derive(Clone, Debug)]
struct CargoBuild {
    dir: String,
    bin: Option<String>,
    triple: Option<String>,
    target_dir: Option<String>,
}

/// A `cargo install --path .` in `dir`, into `root`.
#[derive(Clone, Debug)]
struct CargoInstall {
    dir: String,
    root: String,
    bin: Option<String>,
}

#[derive(Default)]
pub(super) struct Rust {
    builds: Vec<CargoBuild>,
    installs: Vec<CargoInstall>,
}

impl Ecosystem for Rust {
    fn name(&self) -> &'static str {
        "rust"
    }

    /// `cargo build --release`, `cargo install --path .` and harmless cargo commands.
    fn scan(&mut self, _scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            cwd,
            state,
            line,
            ..
        } = *call;
        let sub = call.subcommand();
        let value = |names: &[&str]| -> Plan<Option<String>> {
            match option_value(&command.args, names) {
                Opt::Absent => Ok(None),
                Opt::Value(v) => Ok(Some(v.to_string())),
                Opt::Unreadable => Err(format!(
                    "the `cargo {sub}` at line {line} gives {} with a variable",
                    names[0]
                )),
            }
        };
        let Some(dir) = cwd.map(String::from) else {
            return Err(format!(
                "the `cargo {sub}` at line {line} runs in a folder dockopt cannot tell"
            ));
        };
        for flag in &call.knowledge.multi_stage.rust.pick_flags {
            if matches!(sub, "build" | "b" | "install")
                && command
                    .args
                    .iter()
                    .any(|w| w.is(flag) || w.is_long_flag(flag))
            {
                return Err(format!(
                    "`cargo {sub} {flag}` at line {line}: dockopt cannot tell which binary it builds"
                ));
            }
        }
        match sub {
            "build" | "b" => {
                let profile = value(&["--profile"])?;
                let release = command.has_flag("--release")
                    || command.args.iter().any(|w| w.is("-r"))
                    || profile.as_deref() == Some("release");
                if !release {
                    return Err(format!(
                        "the `cargo build` at line {line} is not a release build; dockopt follows \
                         `cargo build --release`"
                    ));
                }
                let target_dir = match value(&["--target-dir"])? {
                    Some(d) => Some(absolute(Some(&dir), &d).ok_or_else(|| {
                        format!("the `cargo build --target-dir` at line {line} cannot be resolved")
                    })?),
                    None => target_dir_from_env(state, &dir, line)?,
                };
                self.builds.push(CargoBuild {
                    dir,
                    bin: value(&["--bin"])?,
                    triple: value(&["--target"])?,
                    target_dir,
                });
                Ok(())
            }
            "install" => {
                let Some(path) = value(&["--path"])? else {
                    // A tool from crates.io: it stays in the build stage.
                    return Ok(());
                };
                if absolute(Some(&dir), &path).as_deref() != Some(dir.as_str()) {
                    return Err(format!(
                        "`cargo install --path {path}` at line {line}: dockopt follows `--path .` only"
                    ));
                }
                let root = match value(&["--root"])? {
                    Some(r) => absolute(Some(&dir), &r),
                    None => ["CARGO_INSTALL_ROOT", "CARGO_HOME"]
                        .iter()
                        .find(|v| state.is_set(v))
                        .map_or(Some("/usr/local/cargo".to_string()), |v| {
                            state.var(v).map(String::from)
                        }),
                }
                .ok_or_else(|| {
                    format!("the install root of `cargo install` at line {line} cannot be resolved")
                })?;
                self.installs.push(CargoInstall {
                    dir,
                    root,
                    bin: value(&["--bin"])?,
                });
                Ok(())
            }
            _ if call.harmless_subcommand(self.name()) => Ok(()),
            _ => Err(unknown_run(line, &format!("cargo {sub}"))),
        }
    }

    fn artifacts(
        &self,
        a: &Analysis<'_>,
        runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<Vec<String>> {
        let candidates = with_copies(a, self.binaries(a)?);
        program_artifact(a, runtime, &candidates)
    }
}

impl Rust {
    /// The binaries of `cargo build --release` and `cargo install --path .`.
    fn binaries(&self, a: &Analysis<'_>) -> Plan<Vec<String>> {
        if self.builds.is_empty() && self.installs.is_empty() {
            return Err(
                "no `cargo build --release` or `cargo install --path .` in the stage builds the \
                 program"
                    .into(),
            );
        }
        let dirs: Vec<&String> = self
            .builds
            .iter()
            .map(|b| &b.dir)
            .chain(self.installs.iter().map(|i| &i.dir))
            .collect();
        let dir = dirs[0].clone();
        if dirs.iter().any(|d| **d != dir) {
            return Err("cargo runs in more than one folder".into());
        }
        let manifest = cargo_manifest(a, &dir)?;
        let name_for = |bin: &Option<String>| -> Plan<String> {
            match bin {
                Some(b) => Ok(b.clone()),
                None => manifest.clone(),
            }
        };
        let mut out = Vec::new();
        for build in &self.builds {
            let name = name_for(&build.bin)?;
            let target = build
                .target_dir
                .clone()
                .unwrap_or_else(|| format!("{}/target", dir.trim_end_matches('/')));
            let path = match &build.triple {
                Some(triple) => format!("{target}/{triple}/release/{name}"),
                None => format!("{target}/release/{name}"),
            };
            if !out.contains(&path) {
                out.push(path);
            }
        }
        for install in &self.installs {
            let name = name_for(&install.bin)?;
            let path = format!("{}/bin/{name}", install.root.trim_end_matches('/'));
            if !out.contains(&path) {
                out.push(path);
            }
        }
        check_crates(a)?;
        Ok(out)
    }
}

/// The target folder that CARGO_TARGET_DIR or CARGO_BUILD_TARGET_DIR set.
fn target_dir_from_env(state: &StageState, dir: &str, line: usize) -> Plan<Option<String>> {
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        if state.is_set(var) {
            return state
                .var(var)
                .and_then(|v| absolute(Some(dir), v))
                .map(Some)
                .ok_or_else(|| {
                    format!("{var} is not a literal path where `cargo build` runs (line {line})")
                });
        }
    }
    Ok(None)
}

/// The binary name from Cargo.toml (the context's, copied to `dir`): `Err` when it cannot
/// be read or there is more than one binary. The outer `Ok` is the name, or why a `--bin`
/// is needed.
fn cargo_manifest(a: &Analysis<'_>, dir: &str) -> Plan<Plan<String>> {
    let context = a
        .ctx
        .build_context
        .ok_or("dockopt needs the build context to read Cargo.toml")?;
    let copied = a.scan.context_copies.iter().any(|c| {
        c.sources.iter().any(|s| {
            let s = s.trim_start_matches("./");
            (s.is_empty() || s == ".") && c.dest == dir
                || s == "Cargo.toml"
                    && ((c.dest_is_dir && c.dest == dir) || c.dest == format!("{dir}/Cargo.toml"))
        })
    });
    if !copied {
        return Err(format!(
            "dockopt cannot tell which Cargo.toml the build in {dir} reads (no COPY of the \
             context's Cargo.toml there)"
        ));
    }
    for config in [".cargo/config.toml", ".cargo/config"] {
        if context
            .read_text(config)
            .is_some_and(|t| t.contains("target"))
        {
            return Err(format!(
                "{config} sets build targets or folders dockopt does not follow"
            ));
        }
    }
    let text = context
        .read_text("Cargo.toml")
        .ok_or("the build context has no readable Cargo.toml")?;
    let manifest: toml::Value =
        toml::from_str(&text).map_err(|e| format!("Cargo.toml does not parse ({e})"))?;
    let package = manifest.get("package");
    if package.and_then(|p| p.get("workspace")).is_some() {
        return Err("Cargo.toml belongs to a workspace elsewhere".into());
    }
    let Some(name) = package
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
    else {
        return Ok(Err(
            "Cargo.toml has no [package] name; add `--bin NAME` to `cargo build`".into(),
        ));
    };
    let bins: Vec<&str> = manifest
        .get("bin")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|b| b.get("name").and_then(toml::Value::as_str).unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    let more_bins = context
        .files()
        .is_some_and(|f| f.under("src/bin").next().is_some());
    if bins.len() > 1 || bins.iter().any(|b| *b != name) || more_bins {
        return Ok(Err(
            "Cargo.toml has several binaries (or one with another name); add `--bin NAME` to \
             `cargo build`"
                .into(),
        ));
    }
    Ok(Ok(name.to_string()))
}

/// Cargo.lock must show no crate that links a system library the twin lacks.
fn check_crates(a: &Analysis<'_>) -> Plan<()> {
    let Some(context) = a.ctx.build_context else {
        return Err("dockopt needs the build context to read Cargo.lock".into());
    };
    let lock = context.read_text("Cargo.lock").ok_or(
        "the build context has no Cargo.lock, so dockopt cannot tell which system libraries the \
         binary links",
    )?;
    let lock: toml::Value =
        toml::from_str(&lock).map_err(|e| format!("Cargo.lock does not parse ({e})"))?;
    let names: Vec<&str> = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .map(|p| {
            p.iter()
                .filter_map(|c| c.get("name").and_then(toml::Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let manifest = context.read_text("Cargo.toml").unwrap_or_default();
    let crates = &a.knowledge().images.crates;
    for name in &names {
        if let Some(vendor) = crates.vendored_by.get(*name) {
            if names.contains(&vendor.as_str()) {
                continue;
            }
            return Err(format!(
                "Cargo.lock has {name}, which links a system library dynamically unless it is \
                 vendored ({vendor} is not in Cargo.lock); {} does not have that library",
                a.twin
            ));
        }
        if let Some(feature) = crates.bundled_feature.get(*name) {
            if manifest.contains(&format!("\"{feature}\"")) {
                continue;
            }
            return Err(format!(
                "Cargo.lock has {name}, which links a system library dynamically unless its \
                 `{feature}` feature is on (Cargo.toml does not show it); {} does not have that \
                 library",
                a.twin
            ));
        }
        let known = crates
            .no_system_library
            .iter()
            .chain(&crates.static_build)
            .any(|c| c == name);
        if name.ends_with("-sys") && !known {
            return Err(format!(
                "Cargo.lock has {name}, which may link a system library that {} does not have",
                a.twin
            ));
        }
    }
    Ok(())
}
