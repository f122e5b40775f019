//! Ruby: the gems the app loads, read by running the image's ruby: the bundle's specs
//! (`Bundler.load.specs`, which fails when a locked gem is missing) when there is a
//! Gemfile, else every installed gem specification.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Finding, FindingKind};

pub const SCRIPT: &str = r#"
require "json"
specs = nil
mode = "gems"
err = nil
if ENV["BUNDLE_GEMFILE"] || File.exist?("Gemfile")
  begin
    require "bundler"
    specs = Bundler.load.specs.map { |s| [s.name, s.version.to_s, s.full_gem_path] }
    mode = "bundle"
  rescue Exception => e
    err = e.message
  end
end
specs ||= Gem::Specification.map { |s| [s.name, s.version.to_s, s.full_gem_path] }
puts "DOCKOPT-PROBE:" + JSON.generate({"version" => RUBY_VERSION, "mode" => mode, "error" => err, "gems" => specs})
"#;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RubyEnv {
    pub version: String,
    /// "bundle" or "gems".
    pub mode: String,
    /// Why the bundle could not be loaded, when it could not.
    pub error: Option<String>,
    /// name -> versions.
    pub gems: BTreeMap<String, BTreeSet<String>>,
    /// The folders holding the gems.
    pub dirs: BTreeSet<String>,
}

pub fn parse_output(stdout: &str) -> Result<RubyEnv, String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(super::python::MARKER))
        .ok_or("the probe script printed nothing")?;
    let v: Value = serde_json::from_str(line).map_err(|e| format!("bad probe output: {e}"))?;
    let mut env = RubyEnv {
        version: v["version"].as_str().unwrap_or_default().into(),
        mode: v["mode"].as_str().unwrap_or_default().into(),
        error: v["error"].as_str().map(str::to_string),
        ..RubyEnv::default()
    };
    for g in v["gems"].as_array().into_iter().flatten() {
        let (Some(name), Some(version)) = (g[0].as_str(), g[1].as_str()) else {
            continue;
        };
        env.gems
            .entry(name.to_string())
            .or_default()
            .insert(version.to_string());
        if let Some(path) = g[2].as_str()
            && let Some((dir, _)) = path.rsplit_once('/')
            && dir.ends_with("/gems")
        {
            env.dirs.insert(dir.to_string());
        }
    }
    Ok(env)
}

pub fn compare(original: &RubyEnv, fixed: &RubyEnv) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    if original.version != fixed.version {
        findings.push(Finding {
            kind: FindingKind::Package,
            subject: "ruby".into(),
            original: Some(original.version.clone()),
            fixed: Some(fixed.version.clone()),
            detail: format!(
                "the command runs Ruby {} in the original and {} in the new image",
                original.version, fixed.version
            ),
        });
    }
    if original.error.is_none()
        && let Some(e) = &fixed.error
    {
        notes.push(format!("ruby: the new image's bundle does not load: {e}"));
    }
    for (name, versions) in &original.gems {
        let now = fixed.gems.get(name);
        for version in versions {
            if now.is_some_and(|n| n.contains(version)) {
                continue;
            }
            let other = now.map(|n| n.iter().cloned().collect::<Vec<_>>().join(", "));
            findings.push(Finding {
                kind: FindingKind::Package,
                subject: name.clone(),
                original: Some(version.clone()),
                fixed: other.clone(),
                detail: match other {
                    None => format!(
                        "gem {name} {version} ({}) is not in the new image",
                        original.mode
                    ),
                    Some(o) => {
                        format!("gem {name} is {version} in the original and {o} in the new image")
                    }
                },
            });
        }
    }
    (findings, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gems_missing_or_at_another_version() {
        let a = parse_output(r#"DOCKOPT-PROBE:{"version":"3.1.2","mode":"bundle","error":null,"gems":[["rack","3.0.8","/usr/local/bundle/gems/rack-3.0.8"],["puma","6.4.0","/usr/local/bundle/gems/puma-6.4.0"]]}"#).unwrap();
        let b = parse_output(r#"DOCKOPT-PROBE:{"version":"3.1.2","mode":"gems","error":"Could not find puma-6.4.0","gems":[["rack","3.0.9","/var/lib/gems/3.1.0/gems/rack-3.0.9"]]}"#).unwrap();
        assert_eq!(
            a.dirs.iter().collect::<Vec<_>>(),
            ["/usr/local/bundle/gems"]
        );
        let (f, notes) = compare(&a, &b);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.subject.as_str(), f.fixed.as_deref()))
            .collect();
        assert_eq!(got, [("puma", None), ("rack", Some("3.0.9"))]);
        assert!(notes[0].contains("Could not find puma"));
        assert!(compare(&a, &a).0.is_empty());
    }
}
