//! Package locations an install reads (manifests.toml `location_flags`, `location_env`,
//! `location_keys`): an index or find-links URL, or a local path. A path into the copied
//! source that the manifests COPY leaves out (`uv sync --find-links wheels`) would be
//! missing when the install of the dependencies runs before the source COPY.

use std::collections::BTreeMap;

use dockopt_shell::Command;

use crate::BuildContext;
use crate::knowledge::Ecosystem;
use crate::manifest::{Reads, exists};
use crate::manifest_pyproject::values_at;
use crate::paths::{absolute, under};

/// Where a setting of a place comes from.
enum Origin<'a> {
    Flag(&'a str),
    Env(&'a str),
    Key(&'a str, &'a str),
}

impl Origin<'_> {
    /// The setting with `value`, as people write it.
    fn show(&self, value: &str) -> String {
        match self {
            Origin::Flag(flag) => format!("`{flag} {value}`"),
            Origin::Env(name) => format!("`{name}={value}`"),
            Origin::Key(key, file) => format!("`{value}` in {file}, {key}"),
        }
    }
}

/// `Err` with the reason when `install` (named `name` for people: `uv sync`), run in `dest`
/// with the stage variables `env`, reads packages or settings from a path of the copied
/// source that is not among `copied` (the context paths the manifests COPY copies).
pub fn check(
    context: &BuildContext,
    eco: &Ecosystem,
    command: &Command,
    name: &str,
    env: &BTreeMap<String, Option<String>>,
    dest: &str,
    copied: &[String],
) -> Result<(), Reads> {
    let Some(files) = context.files() else {
        return Err(Reads::Missing("the build context cannot be read".into()));
    };
    let mut settings: Vec<(Origin<'_>, Option<&str>)> = flag_values(command, &eco.location_flags)
        .into_iter()
        .map(|(flag, value)| (Origin::Flag(flag), value))
        .collect();
    for var in &eco.location_env {
        // A prefix assignment wins over the stage's value.
        let value = match command.assignments.iter().find(|a| a.name == *var) {
            Some(assignment) => Some(assignment.value.as_ref().map_or(Some(""), |w| w.value())),
            None => env.get(var).map(Option::as_deref),
        };
        if let Some(value) = value {
            settings.push((Origin::Env(var), value));
        }
    }
    let mut documents = Vec::new();
    for file in eco.location_keys.keys().filter(|f| files.contains(f)) {
        let doc: toml::Value = context
            .read_text(file)
            .and_then(|text| text.parse::<toml::Table>().ok())
            .map(toml::Value::Table)
            .ok_or_else(|| Reads::Missing(format!("{file} cannot be read as TOML")))?;
        documents.push((file.as_str(), doc));
    }
    for (file, doc) in &documents {
        for key in &eco.location_keys[*file] {
            for value in values_at(doc, key) {
                let listed: Vec<&str> = match value {
                    toml::Value::String(s) => vec![s.as_str()],
                    toml::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
                    _ => Vec::new(),
                };
                settings.extend(
                    listed
                        .into_iter()
                        .map(|v| (Origin::Key(key, file), Some(v))),
                );
            }
        }
    }
    for (origin, value) in settings {
        let Some(value) = value else {
            return Err(Reads::Missing(format!(
                "`{name}` takes {} from a variable dockopt cannot read, which may name a \
                 folder of the source; with a literal URL it would split",
                origin.show("...")
            )));
        };
        for place in value
            .split([' ', '\t', '\n', ','])
            .filter(|p| !p.is_empty())
        {
            let Some(path) = local_path(place) else {
                continue;
            };
            let Some(abs) = absolute(Some(dest), path) else {
                return Err(Reads::Missing(format!(
                    "`{name}` reads {}, a path dockopt cannot resolve, which may be in the \
                     source",
                    origin.show(place)
                )));
            };
            // A place outside the copied source, or not in it, is there (or not) before
            // the source COPY just as after it.
            if !under(dest, &abs) {
                continue;
            }
            let relative = abs[dest.len()..].trim_start_matches('/');
            if !relative.is_empty()
                && (!exists(files, relative) || copied.iter().any(|c| under(c, relative)))
            {
                continue;
            }
            let shown = if relative.is_empty() {
                "the whole source".to_string()
            } else if files.contains(relative) {
                relative.to_string()
            } else {
                format!("{relative}/")
            };
            return Err(Reads::Source(format!(
                "`{name}` reads {shown} ({}), which the install of the dependencies would \
                 run without before the source COPY; to split it, copy {shown} with the \
                 manifests, or take the packages from a URL",
                origin.show(place)
            )));
        }
    }
    Ok(())
}

/// The path a place names when it is local: `wheels`, `/srv/pypi`, `file:///srv/pypi`
/// (`name=` before it names an index); `None` for a URL (`https://...`).
fn local_path(place: &str) -> Option<&str> {
    let place = match place.split_once('=') {
        Some((name, rest))
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
        {
            rest
        }
        _ => place,
    };
    if let Some(path) = place.strip_prefix("file:") {
        // `file:///srv` and `file://localhost/srv` name /srv; `file:wheels` is relative.
        return Some(match path.strip_prefix("//") {
            Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => path,
        });
    }
    (!place.contains("://")).then_some(place)
}

/// The values of `flags` in `command`, in order (`--find-links wheels`,
/// `--find-links=wheels`, `-f wheels`, `-fwheels`), each with the flag as written in the
/// list; `None` for a value that is not literal.
fn flag_values<'c, 'f>(
    command: &'c Command,
    flags: &'f [String],
) -> Vec<(&'f str, Option<&'c str>)> {
    let mut out = Vec::new();
    let mut words = command.args.iter();
    while let Some(word) = words.next() {
        let Some(text) = word.value() else {
            // `--find-links="$DIR"`: the flag is still seen in the raw text.
            if let Some(flag) = flags.iter().find(|f| {
                word.raw
                    .strip_prefix(f.as_str())
                    .is_some_and(|r| r.starts_with('='))
            }) {
                out.push((flag.as_str(), None));
            }
            continue;
        };
        if text == "--" {
            break;
        }
        for flag in flags {
            let Some(rest) = text.strip_prefix(flag.as_str()) else {
                continue;
            };
            let short = !flag.starts_with("--");
            if rest.is_empty() {
                out.push((flag.as_str(), words.next().and_then(|w| w.value())));
            } else if let Some(value) = rest.strip_prefix('=') {
                out.push((flag.as_str(), Some(value)));
            } else if short {
                out.push((flag.as_str(), Some(rest)));
            } else {
                continue;
            }
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_urls() {
        assert_eq!(local_path("wheels"), Some("wheels"));
        assert_eq!(local_path("./wheels"), Some("./wheels"));
        assert_eq!(local_path("file:///srv/pypi"), Some("/srv/pypi"));
        assert_eq!(local_path("file://localhost/srv"), Some("/srv"));
        assert_eq!(local_path("private=/srv/pypi"), Some("/srv/pypi"));
        assert_eq!(local_path("https://pypi.example/simple"), None);
        assert_eq!(local_path("corp=https://pypi.example/simple"), None);
    }

    #[test]
    fn flag_value_forms() {
        let flags: Vec<String> = ["--find-links", "-f", "--index"].map(String::from).to_vec();
        let script = dockopt_shell::parse_text(
            "uv sync --find-links a --find-links=b -f c -fd --index x=e --frozen -- --index f",
        );
        let command = script.main_shell_commands()[0];
        let values: Vec<Option<&str>> = flag_values(command, &flags)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            values,
            [Some("a"), Some("b"), Some("c"), Some("d"), Some("x=e")]
        );
        let script = dockopt_shell::parse_text("uv sync --find-links \"$W\" --frozen");
        let command = script.main_shell_commands()[0];
        assert_eq!(flag_values(command, &flags)[0].1, None);
    }
}
