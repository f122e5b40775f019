//! Facts the rules read, from `knowledge/*.toml` (embedded at build time).

use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archives {
    pub archive_suffixes: Vec<String>,
    pub plain_extensions: Vec<String>,
    pub remote_prefixes: Vec<String>,
    pub add_only_flags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    pub name_words: Vec<String>,
    pub name_suffixes: Vec<String>,
    pub name_exact: Vec<String>,
    pub harmless_suffixes: Vec<String>,
}

/// Everything in `knowledge/`.
#[derive(Debug)]
pub struct Knowledge {
    pub archives: Archives,
    pub secrets: Secrets,
}

fn load<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> T {
    // The files are part of the build; a broken one is a bug the tests catch at once.
    toml::from_str(text).unwrap_or_else(|e| panic!("transforms/knowledge/{name}: {e}"))
}

impl Knowledge {
    /// The embedded knowledge, parsed once.
    pub fn get() -> &'static Self {
        static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
        KNOWLEDGE.get_or_init(|| Self {
            archives: load("archives.toml", include_str!("../knowledge/archives.toml")),
            secrets: load("secrets.toml", include_str!("../knowledge/secrets.toml")),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn knowledge_files_parse() {
        let k = super::Knowledge::get();
        assert!(k.archives.archive_suffixes.iter().any(|s| s == ".tar.gz"));
        assert!(k.secrets.name_words.iter().any(|s| s == "password"));
    }
}
