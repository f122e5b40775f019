//! Base-image facts from `knowledge/images.toml`: an image reference's distro family,
//! shell, non-root user and runtime twin, and how to create a user in each family.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Knowledge;

/// The distribution an image is built on, as far as creating users goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Debian,
    Ubuntu,
    Alpine,
    Distroless,
    Scratch,
    Ubi,
    Unknown,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Self::Debian => "debian",
            Self::Ubuntu => "ubuntu",
            Self::Alpine => "alpine",
            Self::Distroless => "distroless",
            Self::Scratch => "scratch",
            Self::Ubi => "ubi",
            Self::Unknown => "unknown",
        }
    }
}

fn yes() -> bool {
    true
}

fn any_tag() -> Vec<String> {
    vec!["*".into()]
}

/// One `[[images]]` entry (see the header of knowledge/images.toml for the fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageEntry {
    pub repository: String,
    #[serde(default = "any_tag")]
    pub tags: Vec<String>,
    pub family: Family,
    pub shell: bool,
    pub nonroot_user: Option<String>,
    pub nonroot_uid: Option<u32>,
    #[serde(default)]
    pub default_user_nonroot: bool,
    #[serde(default)]
    pub drops_privileges: bool,
    #[serde(default = "yes")]
    pub user_tools: bool,
    pub runtime_twin: Option<String>,
    #[serde(default)]
    pub build_image: bool,
    /// ENV the image's config sets (`CARGO_HOME` in the rust images).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub note: Option<String>,
}

/// `[families.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyFacts {
    /// One shell command creating a system group and user; placeholders {user} {group}
    /// {uid} {gid} {home}.
    pub create_user: String,
}

/// Programs a CMD or ENTRYPOINT cannot run as a non-root user (`[needs_root]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeedsRoot {
    pub programs: Vec<String>,
    pub owner_programs: Vec<String>,
    pub mode_programs: Vec<String>,
    pub system_paths: Vec<String>,
    pub wrappers: Vec<String>,
    /// Programs that run a command as another user, with the options that make them do so
    /// (any one; none listed: always).
    #[serde(default)]
    pub switch_user: BTreeMap<String, Vec<String>>,
}

impl NeedsRoot {
    /// Whether `program` (a base name) run with `args` switches to another user. A short
    /// option also counts inside a bundle (`su -lc`).
    pub fn switches_user(&self, program: &str, args: &[&str]) -> bool {
        let given = |arg: &str, option: &str| {
            if arg == option || arg.strip_prefix(option).is_some_and(|r| r.starts_with('=')) {
                return true;
            }
            match (option.strip_prefix('-'), arg.strip_prefix('-')) {
                (Some(short), Some(bundle)) if short.len() == 1 && !bundle.starts_with('-') => {
                    bundle.chars().all(|c| c.is_ascii_alphanumeric()) && bundle.contains(short)
                }
                _ => false,
            }
        };
        self.switch_user.get(program).is_some_and(|options| {
            options.is_empty() || args.iter().any(|a| options.iter().any(|o| given(a, o)))
        })
    }
}

/// `[packages.MANAGER]`: data for the multi-stage rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageFacts {
    pub build_only: Vec<String>,
    #[serde(default)]
    pub dev_runtime: BTreeMap<String, String>,
    /// Packages every runtime twin already has (CA certificates, time zones).
    #[serde(default)]
    pub runtime_base: Vec<String>,
}

/// `[crates]`: Rust `-sys` crates and whether a binary that uses them runs on a distroless
/// twin, which has glibc, libgcc and libstdc++ and no other system library.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrateFacts {
    /// `-sys` crates that link no system library on Linux (pure Rust, another OS's API).
    #[serde(default)]
    pub no_system_library: Vec<String>,
    /// `-sys` crates that always build their C library in, statically.
    #[serde(default)]
    pub static_build: Vec<String>,
    /// A crate that links a system library unless it builds it in, and the crate that is
    /// in Cargo.lock when it does (`openssl-sys` -> `openssl-src`, its `vendored` feature).
    #[serde(default)]
    pub vendored_by: BTreeMap<String, String>,
    /// A crate that links a system library unless a feature builds it in, and that
    /// feature's name as Cargo.toml would enable it (`libsqlite3-sys` -> `bundled`).
    #[serde(default)]
    pub bundled_feature: BTreeMap<String, String>,
}

/// Everything in knowledge/images.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    pub images: Vec<ImageEntry>,
    pub families: BTreeMap<Family, FamilyFacts>,
    pub needs_root: NeedsRoot,
    pub packages: BTreeMap<String, PackageFacts>,
    #[serde(default)]
    pub crates: CrateFacts,
}

/// A parsed image reference `[registry/]repository[:tag][@digest]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository as compared with the knowledge: Docker Hub's without `docker.io/`
    /// and `library/`, any other registry's with the registry (`gcr.io/distroless/cc`).
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Parses `reference`; `None` when it uses a variable or is empty.
pub fn parse_reference(reference: &str) -> Option<ImageRef> {
    let reference = reference.trim();
    if reference.is_empty() || reference.contains('$') {
        return None;
    }
    let (name_tag, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (reference, None),
    };
    // The tag follows the last `:` after the last `/` (a registry port is not a tag).
    let slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[slash..].rfind(':') {
        Some(i) => (
            &name_tag[..slash + i],
            Some(name_tag[slash + i + 1..].to_string()),
        ),
        None => (name_tag, None),
    };
    if name.is_empty() || tag.as_deref() == Some("") {
        return None;
    }
    let mut name = name.to_ascii_lowercase();
    if let Some((first, rest)) = name.split_once('/')
        && matches!(
            first,
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        )
    {
        name = rest.to_string();
    }
    if let Some(rest) = name.strip_prefix("library/") {
        name = rest.to_string();
    }
    Some(ImageRef { name, tag, digest })
}

/// What the knowledge says about one image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFacts {
    /// The repository as matched (see [`ImageRef::name`]).
    pub repository: String,
    /// The tag as matched (`latest` when the reference has none).
    pub tag: String,
    pub family: Family,
    pub shell: bool,
    pub nonroot_user: Option<String>,
    pub nonroot_uid: Option<u32>,
    pub default_user_nonroot: bool,
    pub drops_privileges: bool,
    pub user_tools: bool,
    /// The runtime twin with its placeholders filled in.
    pub runtime_twin: Option<String>,
    pub build_image: bool,
    /// ENV the image's config sets.
    pub env: BTreeMap<String, String>,
    pub note: Option<String>,
}

fn is_windows(image: &ImageRef) -> bool {
    let windows = |s: &str| {
        let s = s.to_ascii_lowercase();
        // .NET Framework images exist for Windows only.
        [
            "windows",
            "nanoserver",
            "servercore",
            "ltsc",
            "dotnet/framework",
        ]
        .iter()
        .any(|w| s.contains(w))
    };
    windows(&image.name) || image.tag.as_deref().is_some_and(windows)
}

/// Whether `reference` names a Windows image (`mcr.microsoft.com/windows/servercore`,
/// `python:3.12-windowsservercore`, `...-nanoserver-ltsc2022`), whose RUNs go through cmd
/// or PowerShell rather than a POSIX shell. A reference with variables is not known to be.
pub fn is_windows_reference(reference: &str) -> bool {
    parse_reference(reference).is_some_and(|image| is_windows(&image))
}

/// The facts of the first `[[images]]` entry that matches `reference`; `None` for an image
/// the knowledge does not list, a reference with variables, one pinned by digest alone,
/// or a Windows image.
pub fn lookup(knowledge: &Knowledge, reference: &str) -> Option<ImageFacts> {
    let image = parse_reference(reference)?;
    if is_windows(&image) {
        return None;
    }
    let tag = match (&image.tag, &image.digest) {
        (Some(tag), _) => tag.as_str(),
        (None, Some(_)) => return None,
        (None, None) => "latest",
    };
    for entry in &knowledge.images.images {
        if glob_captures(&entry.repository, &image.name).is_none() {
            continue;
        }
        for pattern in &entry.tags {
            if let Some(captures) = glob_captures(pattern, tag) {
                return Some(ImageFacts {
                    repository: image.name.clone(),
                    tag: tag.to_string(),
                    family: entry.family,
                    shell: entry.shell,
                    nonroot_user: entry.nonroot_user.clone(),
                    nonroot_uid: entry.nonroot_uid,
                    default_user_nonroot: entry.default_user_nonroot,
                    drops_privileges: entry.drops_privileges,
                    user_tools: entry.user_tools,
                    runtime_twin: entry
                        .runtime_twin
                        .as_deref()
                        .map(|t| fill_twin(t, tag, &captures)),
                    build_image: entry.build_image,
                    env: entry.env.clone(),
                    note: entry.note.clone(),
                });
            }
        }
    }
    None
}

/// A user to create: names, ids and home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser<'a> {
    pub user: &'a str,
    pub group: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub home: &'a str,
}

/// The family's command that creates `account`, or `None` when the family has none.
pub fn create_user_command(
    knowledge: &Knowledge,
    family: Family,
    account: &NewUser<'_>,
) -> Option<String> {
    let template = &knowledge.images.families.get(&family)?.create_user;
    Some(fill(template, &|key| match key {
        "user" => Some(account.user.to_string()),
        "group" => Some(account.group.to_string()),
        "uid" => Some(account.uid.to_string()),
        "gid" => Some(account.gid.to_string()),
        "home" => Some(account.home.to_string()),
        _ => None,
    }))
}

/// `template` with each `{key}` replaced by `value(key)`; unknown keys stay as written.
fn fill(template: &str, value: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if let Some((close, replacement)) = after
            .find('}')
            .and_then(|close| Some((close, value(&after[..close])?)))
        {
            out.push_str(&replacement);
            rest = &after[close + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A runtime twin template filled for `tag`: {tag}, {version}, {suffix}, {1}...
fn fill_twin(template: &str, tag: &str, captures: &[&str]) -> String {
    let (version, suffix) = match tag.find('-') {
        Some(i) => (&tag[..i], &tag[i..]),
        None => (tag, ""),
    };
    fill(template, &|key| match key {
        "tag" => Some(tag.to_string()),
        "version" => Some(version.to_string()),
        "suffix" => Some(suffix.to_string()),
        n => n
            .parse::<usize>()
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| captures.get(i))
            .map(|s| (*s).to_string()),
    })
}

/// Matches `text` against `pattern`, where `*` matches any run of characters (each as
/// short as the rest allows, left to right); the texts the stars matched, in order.
pub fn glob_captures<'t>(pattern: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, literals) = parts.split_first()?;
    if literals.is_empty() {
        return (pattern == text).then(Vec::new);
    }
    let rest = text.strip_prefix(first)?;
    let mut captures = Vec::with_capacity(literals.len());
    match_stars(literals, rest, &mut captures).then_some(captures)
}

/// `literals[i]` follows the i-th star; the last one must end `text`.
fn match_stars<'t>(literals: &[&str], text: &'t str, captures: &mut Vec<&'t str>) -> bool {
    let Some((literal, more)) = literals.split_first() else {
        return text.is_empty();
    };
    if more.is_empty() {
        return match text.strip_suffix(literal) {
            Some(star) => {
                captures.push(star);
                true
            }
            None => false,
        };
    }
    for (at, _) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if text[at..].starts_with(literal) {
            captures.push(&text[..at]);
            if match_stars(more, &text[at + literal.len()..], captures) {
                return true;
            }
            captures.pop();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{Family, NewUser, create_user_command, glob_captures, lookup, parse_reference};
    use crate::Knowledge;

    fn facts(reference: &str) -> super::ImageFacts {
        lookup(Knowledge::get(), reference).unwrap_or_else(|| panic!("{reference}: unknown"))
    }

    fn twin(reference: &str) -> Option<String> {
        facts(reference).runtime_twin
    }

    #[test]
    fn references_parse_like_docker() {
        let r = parse_reference("docker.io/library/node:20").unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_deref()), ("node", Some("20")));
        let r = parse_reference("localhost:5000/app").unwrap();
        assert_eq!((r.name.as_str(), r.tag), ("localhost:5000/app", None));
        let r = parse_reference("gcr.io/distroless/static-debian12:nonroot@sha256:abc").unwrap();
        assert_eq!(r.name, "gcr.io/distroless/static-debian12");
        assert_eq!(r.tag.as_deref(), Some("nonroot"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(parse_reference("library/python").unwrap().name, "python");
        assert!(parse_reference("python:${PY}").is_none());
        assert!(parse_reference("").is_none());
    }

    #[test]
    fn globs_capture_shortest_first() {
        assert_eq!(
            glob_captures("*-jdk*", "21-jdk-noble"),
            Some(vec!["21", "-noble"])
        );
        assert_eq!(glob_captures("*-jdk*", "21-jdk"), Some(vec!["21", ""]));
        assert_eq!(
            glob_captures("*-eclipse-temurin-*-*", "3.9.9-eclipse-temurin-21-noble"),
            Some(vec!["3.9.9", "21", "noble"])
        );
        assert_eq!(glob_captures("latest", "latest"), Some(vec![]));
        assert_eq!(glob_captures("latest", "lates"), None);
        assert_eq!(
            glob_captures("*alpine*", "3.12-alpine3.20"),
            Some(vec!["3.12-", "3.20"])
        );
        assert_eq!(glob_captures("nonroot-*", "nonroot"), None);
    }

    #[test]
    fn runtime_twins_fill_their_placeholders() {
        assert_eq!(twin("python:3.12").as_deref(), Some("python:3.12-slim"));
        assert_eq!(
            twin("python:3.12-bookworm").as_deref(),
            Some("python:3.12-slim-bookworm")
        );
        assert_eq!(twin("python").as_deref(), Some("python:slim"));
        assert_eq!(
            twin("python:bookworm").as_deref(),
            Some("python:slim-bookworm")
        );
        assert_eq!(twin("python:3.12-slim"), None);
        assert_eq!(twin("node:22").as_deref(), Some("node:22-slim"));
        assert_eq!(
            twin("node:22-bookworm").as_deref(),
            Some("node:22-bookworm-slim")
        );
        assert_eq!(
            twin("golang:1.22").as_deref(),
            Some("gcr.io/distroless/static-debian12:nonroot")
        );
        assert_eq!(
            twin("rust:1-bookworm").as_deref(),
            Some("gcr.io/distroless/cc-debian12:nonroot")
        );
        assert_eq!(
            twin("mcr.microsoft.com/dotnet/sdk:8.0").as_deref(),
            Some("mcr.microsoft.com/dotnet/aspnet:8.0")
        );
        for (jdk, jre) in [
            ("eclipse-temurin:21-jdk", "eclipse-temurin:21-jre"),
            (
                "eclipse-temurin:21-jdk-noble",
                "eclipse-temurin:21-jre-noble",
            ),
            ("eclipse-temurin:21", "eclipse-temurin:21-jre"),
            ("eclipse-temurin:21-jammy", "eclipse-temurin:21-jre-jammy"),
            (
                "eclipse-temurin:21-jdk-alpine",
                "eclipse-temurin:21-jre-alpine",
            ),
            (
                "eclipse-temurin:21-jdk-ubi9-minimal",
                "eclipse-temurin:21-jre-ubi9-minimal",
            ),
            ("maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre"),
            (
                "maven:3.9.9-eclipse-temurin-17-alpine",
                "eclipse-temurin:17-jre-alpine",
            ),
            ("gradle:8.10-jdk21", "eclipse-temurin:21-jre"),
            ("gradle:8.10.2-jdk21-jammy", "eclipse-temurin:21-jre-jammy"),
            ("gradle:jdk17-alpine", "eclipse-temurin:17-jre-alpine"),
        ] {
            assert_eq!(twin(jdk).as_deref(), Some(jre), "{jdk}");
        }
        assert_eq!(twin("eclipse-temurin:21-jre"), None);
        assert_eq!(twin("maven:3.9-amazoncorretto-21"), None);
    }

    #[test]
    fn families_users_and_flags() {
        assert_eq!(facts("golang:1.22-alpine").family, Family::Alpine);
        assert_eq!(facts("golang:1.22").family, Family::Debian);
        let node = facts("docker.io/library/node:20");
        assert_eq!(node.repository, "node");
        assert_eq!(
            (node.nonroot_user.as_deref(), node.nonroot_uid),
            (Some("node"), Some(1000))
        );
        assert!(!node.default_user_nonroot && node.build_image);
        let slim = facts("node:22-bookworm-slim");
        assert_eq!(slim.nonroot_user.as_deref(), Some("node"));
        assert!(!slim.build_image);
        assert_eq!(facts("node:22-alpine").family, Family::Alpine);
        let nonroot = facts("gcr.io/distroless/static-debian12:nonroot");
        assert!(nonroot.default_user_nonroot && !nonroot.shell);
        assert_eq!(nonroot.nonroot_uid, Some(65532));
        let latest = facts("gcr.io/distroless/base-debian12");
        assert!(!latest.default_user_nonroot);
        assert_eq!(latest.nonroot_user.as_deref(), Some("nonroot"));
        assert!(facts("gcr.io/distroless/cc-debian12:debug-nonroot").default_user_nonroot);
        let scratch = facts("scratch");
        assert_eq!(scratch.family, Family::Scratch);
        assert!(!scratch.shell && scratch.nonroot_user.is_none());
        assert_eq!(facts("openjdk:11-jre-slim").family, Family::Debian);
        assert_eq!(facts("openjdk:21").family, Family::Unknown);
        assert!(facts("postgres:16").drops_privileges);
        assert!(facts("redis:7-alpine").drops_privileges);
        assert!(facts("nginx:1.27").nonroot_user.is_none());
        let minimal = facts("registry.access.redhat.com/ubi9/ubi-minimal:9.4");
        assert_eq!(minimal.family, Family::Ubi);
        assert!(!minimal.user_tools);
        assert!(facts("registry.access.redhat.com/ubi9/ubi").user_tools);
        assert!(facts("registry.access.redhat.com/ubi8").user_tools);
        let chiseled = facts("mcr.microsoft.com/dotnet/aspnet:8.0-noble-chiseled");
        assert!(chiseled.default_user_nonroot && !chiseled.shell);
        assert_eq!(
            facts("mcr.microsoft.com/dotnet/aspnet:8.0")
                .nonroot_user
                .as_deref(),
            Some("app")
        );
        assert_eq!(
            facts("mcr.microsoft.com/dotnet/aspnet:6.0").nonroot_user,
            None
        );
    }

    #[test]
    fn other_registries_digests_variables_and_windows_are_unknown() {
        let k = Knowledge::get();
        for reference in [
            "registry.example.com:5000/node:22",
            "ghcr.io/example/python:3.12",
            "node@sha256:abc",
            "python:${PY}",
            "python:3.12-windowsservercore-ltsc2022",
            "mcr.microsoft.com/windows/servercore:ltsc2022",
            "example/app:1.0",
        ] {
            assert!(lookup(k, reference).is_none(), "{reference}");
        }
    }

    #[test]
    fn create_user_commands_per_family() {
        let k = Knowledge::get();
        let app = NewUser {
            user: "app",
            group: "app",
            uid: 10001,
            gid: 10001,
            home: "/home/app",
        };
        assert_eq!(
            create_user_command(k, Family::Debian, &app).unwrap(),
            "groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app"
        );
        assert_eq!(
            create_user_command(k, Family::Alpine, &app).unwrap(),
            "addgroup -S -g 10001 app && adduser -S -D -u 10001 -G app -h /home/app -s /sbin/nologin app"
        );
        assert!(create_user_command(k, Family::Ubi, &app).is_some());
        assert!(create_user_command(k, Family::Ubuntu, &app).is_some());
        for family in [Family::Distroless, Family::Scratch, Family::Unknown] {
            assert!(create_user_command(k, family, &app).is_none());
        }
    }
}
