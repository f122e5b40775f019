//! What `docker image inspect` says about an image: size, layer count, and the config
//! fields a fix may change, compared field by field.

use std::collections::BTreeMap;

use dockopt_fix::ConfigKey;
use serde_json::Value;

/// The config fields compared, with the [`ConfigKey`] a fix declares to change them.
/// `OnBuild` has no key: only a fix that changes the base image may change it.
pub const CONFIG_FIELDS: [(&str, Option<ConfigKey>); 12] = [
    ("User", Some(ConfigKey::User)),
    ("Cmd", Some(ConfigKey::Cmd)),
    ("Entrypoint", Some(ConfigKey::Entrypoint)),
    ("Env", Some(ConfigKey::Env)),
    ("WorkingDir", Some(ConfigKey::WorkingDir)),
    ("ExposedPorts", Some(ConfigKey::ExposedPorts)),
    ("Labels", Some(ConfigKey::Labels)),
    ("Healthcheck", Some(ConfigKey::Healthcheck)),
    ("Volumes", Some(ConfigKey::Volumes)),
    ("StopSignal", Some(ConfigKey::StopSignal)),
    ("Shell", Some(ConfigKey::Shell)),
    ("OnBuild", None),
];

/// One image, as far as verify compares it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageFacts {
    pub id: String,
    pub size_bytes: u64,
    pub layers: usize,
    /// The compared config fields, unset ones as `null`.
    pub config: BTreeMap<&'static str, Value>,
}

impl ImageFacts {
    /// A config field that is a list of strings (`Cmd`, `Env`); empty when unset.
    pub fn config_strings(&self, key: &str) -> Vec<String> {
        self.config.get(key).map(string_array).unwrap_or_default()
    }

    /// A config field that is an object (`Labels`), its values as text; empty when unset.
    pub fn config_map(&self, key: &str) -> BTreeMap<String, String> {
        self.config.get(key).map(object_map).unwrap_or_default()
    }
}

/// The strings of a JSON array (other items skipped); empty for anything else.
pub fn string_array(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Reads the output of `docker image inspect IMAGE` (a one-element array).
pub fn image_facts(inspect_json: &str) -> Result<ImageFacts, String> {
    let value: Value = serde_json::from_str(inspect_json)
        .map_err(|e| format!("docker image inspect printed no JSON: {e}"))?;
    let image = match &value {
        Value::Array(items) => items.first(),
        other @ Value::Object(_) => Some(other),
        _ => None,
    }
    .ok_or("docker image inspect printed no image")?;
    let config = image.get("Config").unwrap_or(&Value::Null);
    Ok(ImageFacts {
        id: image
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        size_bytes: image.get("Size").and_then(Value::as_u64).unwrap_or(0),
        layers: image
            .pointer("/RootFS/Layers")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        config: CONFIG_FIELDS
            .iter()
            .map(|(name, _)| (*name, normalize(config.get(*name))))
            .collect(),
    })
}

/// `null`, `""`, `[]` and `{}` all mean "unset" to the engine.
fn normalize(value: Option<&Value>) -> Value {
    match value {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(Value::Object(o)) if o.is_empty() => Value::Null,
        Some(v) => v.clone(),
    }
}

/// One config field that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigDifference {
    /// The field's name in the image config: `Cmd`, `Env`, ...
    pub field: &'static str,
    pub key: Option<ConfigKey>,
    /// For people: `["sh","-c","python -m app"] -> ["python","-m","app"]`, or per variable
    /// for Env and per label for Labels.
    pub what: String,
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "(unset)".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `KEY=value` list (Env) as a map; a later duplicate wins, as in the engine.
fn env_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn object_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect()
}

/// Differences between two string maps, per key: `+K=v`, `-K=v`, `K: a -> b`.
fn map_changes(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, va) in a {
        match b.get(k) {
            None => out.push(format!("-{k}={va}")),
            Some(vb) if vb != va => out.push(format!("{k}: {va:?} -> {vb:?}")),
            Some(_) => {}
        }
    }
    for (k, vb) in b {
        if !a.contains_key(k) {
            out.push(format!("+{k}={vb}"));
        }
    }
    out
}

/// Every compared config field that differs from `before` to `after`.
pub fn config_differences(before: &ImageFacts, after: &ImageFacts) -> Vec<ConfigDifference> {
    let mut out = Vec::new();
    for (field, key) in CONFIG_FIELDS {
        let null = Value::Null;
        let a = before.config.get(field).unwrap_or(&null);
        let b = after.config.get(field).unwrap_or(&null);
        if a == b {
            continue;
        }
        let what = match field {
            // Order of variables or labels means nothing to the process.
            "Env" => map_changes(&env_map(a), &env_map(b)).join("; "),
            "Labels" => map_changes(&object_map(a), &object_map(b)).join("; "),
            _ => format!("{} -> {}", show(a), show(b)),
        };
        if what.is_empty() {
            continue;
        }
        out.push(ConfigDifference { field, key, what });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(config: &str) -> ImageFacts {
        let json = format!(
            r#"[{{"Id":"sha256:abc","Size":1234,"RootFS":{{"Type":"layers","Layers":["sha256:1","sha256:2"]}},"Config":{config}}}]"#
        );
        image_facts(&json).unwrap()
    }

    #[test]
    fn reads_size_layers_and_config() {
        let f = facts(r#"{"User":"app","Cmd":["python"],"Entrypoint":null,"Env":[]}"#);
        assert_eq!(f.size_bytes, 1234);
        assert_eq!(f.layers, 2);
        assert_eq!(f.id, "sha256:abc");
        assert_eq!(f.config["User"], Value::from("app"));
        assert_eq!(f.config["Entrypoint"], Value::Null);
        assert_eq!(f.config["Env"], Value::Null, "an empty list is unset");
        assert_eq!(f.config["OnBuild"], Value::Null);
    }

    #[test]
    fn unset_empty_and_null_are_the_same() {
        let a = facts(r#"{"Cmd":null,"Labels":{},"User":""}"#);
        let b = facts(r#"{"Cmd":[],"Labels":null}"#);
        assert_eq!(config_differences(&a, &b), []);
    }

    #[test]
    fn cmd_env_and_labels_differences() {
        let a = facts(
            r#"{"Cmd":["/bin/sh","-c","python -m app"],"Env":["PATH=/usr/bin","A=1"],"Labels":{"x":"1"},"OnBuild":null}"#,
        );
        let b = facts(
            r#"{"Cmd":["python","-m","app"],"Env":["A=1","PATH=/usr/bin","B=2"],"Labels":{"x":"2"},"OnBuild":["RUN true"]}"#,
        );
        let d = config_differences(&a, &b);
        let fields: Vec<&str> = d.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["Cmd", "Env", "Labels", "OnBuild"]);
        assert_eq!(
            d[0].what,
            r#"["/bin/sh","-c","python -m app"] -> ["python","-m","app"]"#
        );
        assert_eq!(d[0].key, Some(ConfigKey::Cmd));
        assert_eq!(d[1].what, "+B=2");
        assert_eq!(d[2].what, r#"x: "1" -> "2""#);
        assert_eq!(d[3].key, None);
    }

    #[test]
    fn env_order_alone_is_no_difference() {
        let a = facts(r#"{"Env":["A=1","B=2"]}"#);
        let b = facts(r#"{"Env":["B=2","A=1"]}"#);
        assert_eq!(config_differences(&a, &b), []);
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(image_facts("not json").is_err());
        assert!(image_facts("[]").is_err());
    }
}
