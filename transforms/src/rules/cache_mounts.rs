use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_shell::{Command, ListItem, Node, OpKind, Script, Word};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, Stage, TextRange};

use crate::knowledge::{CacheDir, PackageManager};
use crate::package::{cache_path, cache_variable_under, recognize};
use crate::rules::and_list;
use crate::stage_state::{StageState, stage_chain, stage_states};
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds RUN instructions whose package managers download into a cache folder (apt,
    /// apk, dnf, pip, uv, npm, yarn, go, cargo, maven, ...) and adds a BuildKit cache mount
    /// for each such folder, removing the flags and cleanup commands the mount makes
    /// redundant.
    ///
    /// It also finds RUNs that already have such a mount and still keep those flags or
    /// cleanup commands (`RUN --mount=type=cache,target=/root/.cache/pip pip install
    /// --no-cache-dir x`), and removes them: they only empty the mount, or keep it empty.
    /// This is a separate diagnostic, one per RUN, reported when a `type=cache` mount of the
    /// RUN covers every cache folder of a manager that downloads in it; it also cleans up
    /// after `apt-lists-cleanup` or `pip-no-cache` when their fix and the mount were applied
    /// in the same round.
    ///
    /// Which commands download, where each manager keeps its cache (following USER, HOME
    /// and variables such as `PIP_CACHE_DIR`, `CARGO_HOME` or `GOPATH`, set by the
    /// Dockerfile, by a stage it is built FROM, or by the base image as
    /// `knowledge/images.toml` lists: the rust images' `CARGO_HOME=/usr/local/cargo`), which
    /// flags and cleanup commands only fight the cache, and what must run first all come
    /// from `knowledge/package-managers.toml`. A folder already under a `--mount` of the RUN gets
    /// no second mount (`target=/root/.cache` covers `/root/.cache/pip`).
    ///
    /// ## Why is this bad?
    /// When a layer is rebuilt (a changed requirements file, a bumped version), the package
    /// manager downloads everything again. A cache mount keeps its downloads between builds
    /// without putting them in the image, so the `--no-cache-dir` / `rm -rf
    /// /var/lib/apt/lists/*` dance that keeps images small is no longer needed, and rebuilds
    /// only fetch what changed.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
    /// RUN pip install --no-cache-dir -r requirements.txt
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update && apt-get install -y curl
    /// RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
    /// ```
    ///
    /// The mount flags go right after `RUN`, on its line, before any flag already there.
    /// `sharing=locked` is added where the knowledge says concurrent builds must not share
    /// the folder at once (apt, apk, dnf, zypper, conda). No `id=` is written: BuildKit's
    /// default id is the target path, so every stage that caches the same folder shares one
    /// cache; when another RUN of the file already names an `id=` for that target, the same
    /// id is used. For a non-root USER the mount gets `uid=` (and `gid=` when known), taken
    /// from a numeric USER, from an earlier `useradd`/`adduser`/`groupadd`/`addgroup` of the
    /// stage (or of the stages it is built FROM), or from a well-known image user (`node` in
    /// the node images: 1000:1000).
    ///
    /// Cleanup commands (`apt-get clean`, `npm cache clean --force`, `pip cache purge`, `go
    /// clean -modcache`, ...) are matched word for word against the knowledge (a `*` entry
    /// matches any one word; short-option clusters match in any order, `-rf` == `-fr`). An
    /// `rm` (options among `-r -R -f -v`) needs no entry: its literal operands are checked
    /// against the mounts (as written, so a quoted `'/var/lib/apt/lists/*'` is not a glob).
    /// A cleanup goes when what it deletes is under a cache mount after the fix (a new mount
    /// point itself only when all of it is cache: `rm -rf /root/.npm` goes, `rm -rf
    /// /var/lib/apt` does not) and it runs at the top level of the RUN, joined by `&&`; the
    /// removal takes one adjacent `&&` with it, so `a && rm -rf x && b` becomes `a && b`. An
    /// `rm` with other operands loses only those under a mount (`rm -rf
    /// /var/lib/apt/lists/* /tmp/*` keeps `rm -rf /tmp/*`). A cleanup of a mounted cache that
    /// cannot go (after `;`, inside `if` or a subshell) would empty the mount on every build,
    /// so the RUN gets no mount and the diagnostic says which command is in the way. Beside a
    /// mount that is already there, only a cleanup that deletes what is inside the mount
    /// goes: `rm -rf /root/.npm` on a `/root/.npm` mount deletes the mount point itself
    /// (rm fails on it, so the build already fails) and is left as it is.
    ///
    /// No diagnostic for exec-form or heredoc RUNs, scripts dockopt cannot parse, stages
    /// whose SHELL is not a POSIX shell, Windows base images, or RUNs whose `--mount` targets
    /// use variables. Reported without a fix: a cache folder that cannot be known (HOME or
    /// the manager's variable comes from another variable), a non-root USER whose uid cannot
    /// be found (the mount would be owned by root and the install would fail with permission
    /// denied), a RUN that `rm`s a folder above the one that would become the mount point,
    /// and a folder with a part dockopt cannot know (bundler's `$BUNDLE_PATH/ruby/<ABI
    /// version>/cache`).
    ///
    /// A manager whose cache is turned off gets no mount, since the mount would keep nothing:
    /// `PIP_NO_CACHE_DIR` (any value: pip turns the cache off for `0` and `off` too),
    /// `UV_NO_CACHE` (unless `0`, `false`, ...), set by ENV, ARG or on the command. It is
    /// reported without a fix (`PIP_NO_CACHE_DIR=1 at line 4 turns pip's cache off, so a
    /// cache mount would keep nothing; remove it to use a cache mount for pip`), and the
    /// ENV is not removed: it is part of the image's config, also read by later RUNs and at
    /// run time, and `pip-no-cache` stays quiet under it too, so `fix` followed by `fix
    /// --unsafe-fixes` ends where one `fix --unsafe-fixes` does. A `--no-cache-dir` flag on
    /// the command, by contrast, only keeps the image small, which the mount does too: it
    /// is removed when the mount is added (and `pip-no-cache`, which adds it when BuildKit is
    /// not known, is thus undone by the Unsafe fix in the same way in both orders).
    ///
    /// ## Fix safety
    /// Adding mounts needs BuildKit: Docker's legacy builder rejects `RUN --mount`. That
    /// fix is therefore Unsafe unless the config says every build uses BuildKit
    /// (`[target] buildkit = true`); then it is Safe: the cache folders are mounted only
    /// while the RUN runs, so the image no longer contains what the package manager
    /// downloaded there (declared disposable), and the removed cleanup only deleted those
    /// folders. The mount points themselves are left in the image as empty folders.
    ///
    /// Fixes for a manager that needs a `prepare` step (apt) stay Unsafe even with BuildKit:
    /// the fix runs `rm -f /etc/apt/apt.conf.d/docker-clean` first in the RUN (unless this
    /// RUN or an earlier one of the stage already does), because that file of the
    /// Debian/Ubuntu images deletes downloaded packages after each install and would empty
    /// the cache. Removing it changes a file of the image, and later RUNs without the mount
    /// then keep downloaded packages in their layers. apt's `/var/lib/apt` also holds
    /// `extended_states` (which packages were installed automatically), which then lives in
    /// the cache rather than the image. The `# syntax` line is never added.
    ///
    /// Removing flags and cleanups beside a cache mount the RUN already has is always Safe,
    /// whatever `[target] buildkit` says: the mount is already there (the RUN already needs
    /// BuildKit), and the removed flag or cleanup only affected files inside the mount,
    /// which never reach the image. The image stays the same; the cache keeps more between
    /// builds.
    ///
    /// ## References
    /// No hadolint or BuildKit check covers this. Docker docs: "Optimize cache usage in
    /// builds" (Use cache mounts); Dockerfile reference: `RUN --mount=type=cache`, "Example:
    /// cache apt packages".
    pub struct CacheMounts {
        name: "cache-mounts",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// Users that official images create, whose uid and gid a Dockerfile does not show:
/// (image name, user, uid, gid).
const WELL_KNOWN_USERS: &[(&str, &str, &str, &str)] = &[("node", "node", "1000", "1000")];

/// A `--mount` flag of a RUN.
struct Mount {
    cache: bool,
    /// The normalised absolute target; `None` when relative (WORKDIR-dependent).
    target: Option<String>,
    id: Option<String>,
}

/// A cache folder a downloading command uses.
struct Need<'k> {
    manager: &'k PackageManager,
    cache: &'k CacheDir,
    /// The normalised absolute folder, or why it cannot be known.
    target: Result<String, String>,
    /// The folder for messages: the known path, else as far as it is known
    /// (`/usr/local/bundle/ruby/*/cache`), else the knowledge's default.
    shown: String,
}

impl Need<'_> {
    fn shown(&self) -> &str {
        &self.shown
    }
}

/// `path` with `.`, `..`, repeated and trailing slashes resolved; `None` when relative.
fn normalize(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether the normalised folder `outer` is `inner` or one of its parents.
fn covers(outer: &str, inner: &str) -> bool {
    outer == "/"
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The RUN's `--mount` flags; `None` when a target uses a variable (what it covers is
/// unknown here).
fn mounts(instruction: Instruction<'_>) -> Option<Vec<Mount>> {
    let mut out = Vec::new();
    for flag in instruction.flags().filter(|f| f.name() == "mount") {
        let fields = flag.fields();
        let field = |keys: &[&str]| {
            fields
                .iter()
                .find(|(k, _)| keys.iter().any(|key| k.eq_ignore_ascii_case(key)))
                .and_then(|(_, v)| v.clone())
        };
        let target = field(&["target", "dst", "destination"]);
        if target.as_deref().is_some_and(|t| t.contains('$')) {
            return None;
        }
        out.push(Mount {
            cache: field(&["type"]).is_some_and(|t| t.eq_ignore_ascii_case("cache")),
            target: target.as_deref().and_then(normalize),
            id: field(&["id"]),
        });
    }
    Some(out)
}

/// Where `cache` is in `state`, or why that cannot be known.
fn locate(cache: &CacheDir, state: &StageState) -> Result<String, String> {
    if !state.is_root()
        && !cache.nonroot_needs_env.is_empty()
        && !cache.nonroot_needs_env.iter().any(|v| state.is_set(v))
    {
        let names: Vec<String> = cache
            .nonroot_needs_env
            .iter()
            .map(|v| format!("`{v}`"))
            .collect();
        return Err(format!(
            "as USER {} a mount there would leave its parent folders owned by root, where \
             the tool also writes; set {} to use a cache mount",
            state.user.as_deref().unwrap_or("root"),
            crate::rules::or_list(&names)
        ));
    }
    if let Some(path) = cache_path(cache, state) {
        if path.contains('*') {
            return Err(format!("{path} depends on the installed version (the `*`)"));
        }
        return normalize(&path).ok_or_else(|| format!("{path} is not an absolute path"));
    }
    let from_variable = |var: &str| format!("{var} is set from another variable");
    if let Some(var) = cache.env.iter().find(|v| state.is_set(v)) {
        return Err(from_variable(var));
    }
    if let Some((var, _)) = cache_variable_under(cache, state) {
        return Err(from_variable(var));
    }
    if state.is_set("HOME") {
        return Err(from_variable("HOME"));
    }
    Err(format!(
        "the HOME of USER {} is unknown",
        state.user.as_deref().unwrap_or("root")
    ))
}

/// The image name without registry, namespace, tag or digest (`docker.io/library/node:22`
/// gives `node`).
fn image_name(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.split(':').next().unwrap_or(last)
}

/// The scripts of the shell-form RUNs before instruction `before` in the chain, oldest
/// first.
fn earlier_runs(chain: &[&Stage<'_>], before: usize) -> Vec<Script> {
    let mut out = Vec::new();
    for stage in chain.iter().rev() {
        for &instruction in &stage.instructions {
            if instruction.index() >= before {
                break;
            }
            if instruction.kind() != InstructionKind::Run || instruction.is_exec_form() {
                continue;
            }
            if let Some(script) = dockopt_shell::parse_instruction(instruction)
                && !script.is_opaque()
            {
                out.push(script);
            }
        }
    }
    out
}

/// Options and positionals of a command, getopt-style. `short_values` are the short
/// options that take a value, `long_values` the long ones (without dashes). Options come
/// back as (`-u` or `--uid`, value); non-literal words as `None`.
type Parsed = (Vec<Option<String>>, Vec<(String, Option<String>)>);

fn parse_options(args: &[Word], short_values: &str, long_values: &[&str]) -> Parsed {
    let mut positionals = Vec::new();
    let mut options = Vec::new();
    let mut words = args.iter();
    let mut after_dashes = false;
    while let Some(word) = words.next() {
        let Some(value) = word.value() else {
            positionals.push(None);
            continue;
        };
        if after_dashes || value == "-" || !value.starts_with('-') {
            positionals.push(Some(value.to_string()));
        } else if value == "--" {
            after_dashes = true;
        } else if let Some(long) = value.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, v)) => options.push((format!("--{name}"), Some(v.to_string()))),
                None if long_values.contains(&long) => options.push((
                    value.to_string(),
                    words.next().and_then(|w| w.value()).map(str::to_string),
                )),
                None => options.push((value.to_string(), None)),
            }
        } else {
            let cluster = &value[1..];
            for (i, c) in cluster.char_indices() {
                if short_values.contains(c) {
                    let rest = &cluster[i + c.len_utf8()..];
                    let v = if rest.is_empty() {
                        words.next().and_then(|w| w.value()).map(str::to_string)
                    } else {
                        Some(rest.to_string())
                    };
                    options.push((format!("-{c}"), v));
                    break;
                }
                options.push((format!("-{c}"), None));
            }
        }
    }
    (positionals, options)
}

fn option(options: &[(String, Option<String>)], names: &[&str]) -> Option<String> {
    options
        .iter()
        .rev()
        .find(|(name, _)| names.contains(&name.as_str()))
        .and_then(|(_, v)| v.clone())
}

fn numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Accounts that earlier RUNs created: user -> (uid, group), group -> gid.
#[derive(Default)]
struct Accounts {
    users: HashMap<String, (Option<String>, Option<String>)>,
    groups: HashMap<String, String>,
}

impl Accounts {
    fn learn(&mut self, command: &Command) {
        let single = |positionals: Vec<Option<String>>| match positionals.as_slice() {
            [Some(name)] => Some(name.clone()),
            _ => None,
        };
        match command.program() {
            Some("useradd") => {
                let (positionals, options) = parse_options(
                    &command.args,
                    "bcdefgGkKpsuRPZ",
                    &[
                        "base-dir",
                        "comment",
                        "home-dir",
                        "expiredate",
                        "inactive",
                        "gid",
                        "groups",
                        "skel",
                        "key",
                        "password",
                        "shell",
                        "uid",
                        "root",
                        "prefix",
                        "selinux-user",
                        "selinux-range",
                    ],
                );
                if let Some(name) = single(positionals) {
                    let uid = option(&options, &["-u", "--uid"]);
                    let group = option(&options, &["-g", "--gid"]);
                    self.users.insert(name, (uid, group));
                }
            }
            // Debian's adduser and BusyBox's (where `-g` is the GECOS field, `-G` the group).
            Some("adduser") => {
                let (positionals, options) = parse_options(
                    &command.args,
                    "hgsGuk",
                    &[
                        "home", "shell", "uid", "gid", "ingroup", "gecos", "comment", "firstuid",
                        "lastuid", "firstgid", "lastgid", "conf",
                    ],
                );
                if let Some(name) = single(positionals) {
                    let uid = option(&options, &["-u", "--uid"]);
                    let group = option(&options, &["--gid", "--ingroup", "-G"]);
                    self.users.insert(name, (uid, group));
                }
            }
            Some("groupadd" | "addgroup") => {
                let (positionals, options) = parse_options(
                    &command.args,
                    "gKpRP",
                    &[
                        "gid", "key", "password", "root", "prefix", "users", "conf", "firstgid",
                        "lastgid",
                    ],
                );
                if let (Some(name), Some(gid)) =
                    (single(positionals), option(&options, &["-g", "--gid"]))
                {
                    self.groups.insert(name, gid);
                }
            }
            _ => {}
        }
    }

    fn gid(&self, group: &str) -> Option<String> {
        if numeric(group) {
            Some(group.to_string())
        } else {
            self.groups.get(group).filter(|g| numeric(g)).cloned()
        }
    }
}

/// The uid (and gid, when known) a cache mount needs so that USER `user_text` can write
/// it; `None` when the uid cannot be known.
fn owner(
    user_text: &str,
    earlier: &[Script],
    base_image: Option<&str>,
) -> Option<(String, Option<String>)> {
    let (user, group) = match user_text.split_once(':') {
        Some((u, g)) => (u.trim(), Some(g.trim()).filter(|g| !g.is_empty())),
        None => (user_text.trim(), None),
    };
    if user.contains('$') || group.is_some_and(|g| g.contains('$')) {
        return None;
    }
    let mut accounts = Accounts::default();
    for script in earlier {
        for command in script.commands() {
            accounts.learn(command);
        }
    }
    let (uid, default_gid) = if numeric(user) {
        (user.to_string(), None)
    } else if let Some((Some(uid), group)) = accounts.users.get(user) {
        if !numeric(uid) {
            return None;
        }
        (uid.clone(), group.as_deref().and_then(|g| accounts.gid(g)))
    } else {
        let image = base_image.map(image_name)?;
        let &(_, _, uid, gid) = WELL_KNOWN_USERS
            .iter()
            .find(|(i, u, _, _)| *i == image && *u == user)?;
        (uid.to_string(), Some(gid.to_string()))
    };
    let gid = match group {
        Some(g) => accounts.gid(g),
        None => default_gid,
    };
    Some((uid, gid))
}

/// Whether `word` (as written) matches the knowledge's `entry` word: equal, `*`, or the
/// same short-option cluster in another order (`-fr` for `-rf`).
fn word_matches(entry: &str, word: &str) -> bool {
    if entry == "*" || entry == word {
        return true;
    }
    let cluster = |s: &str| {
        let body = s.strip_prefix('-').filter(|b| !b.starts_with('-'))?;
        (!body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric())).then(|| {
            let mut chars: Vec<char> = body.chars().collect();
            chars.sort_unstable();
            chars.dedup();
            chars
        })
    };
    matches!((cluster(entry), cluster(word)), (Some(a), Some(b)) if a == b)
}

/// Whether `command` is the cleanup `entry` (program by base name, then words as written).
fn is_cleanup(entry: &[String], command: &Command) -> bool {
    let Some((program, rest)) = entry.split_first() else {
        return false;
    };
    command.program() == Some(program.as_str())
        && command.args.len() == rest.len()
        && rest
            .iter()
            .zip(&command.args)
            .all(|(e, w)| word_matches(e, &w.raw))
}

/// A path argument as the folder it names (`~` expanded, glob tail dropped): (folder,
/// whether only what is inside it goes).
fn path_argument(raw: &str, home: Option<&str>) -> Option<(String, bool)> {
    let expanded = match raw.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", home?),
        Some(_) => return None,
        None => raw.to_string(),
    };
    match expanded.find(['*', '?', '[']) {
        Some(at) => {
            let dir = &expanded[..at];
            let dir = &dir[..dir.rfind('/')?];
            Some((normalize(if dir.is_empty() { "/" } else { dir })?, true))
        }
        None => Some((normalize(&expanded)?, false)),
    }
}

/// Characters a target may have to be written in a `--mount` flag without quoting.
fn plain_path(path: &str) -> bool {
    path.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+@:~".contains(c))
}

/// Groups needs by manager, in order: (manager, folders).
fn by_manager<'n>(needs: &[&'n Need<'_>]) -> Vec<(&'n str, Vec<String>)> {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for need in needs {
        let name = need.manager.name.as_str();
        let shown = need.shown().to_string();
        match groups.iter_mut().find(|(m, _)| *m == name) {
            Some((_, targets)) => targets.push(shown),
            None => groups.push((name, vec![shown])),
        }
    }
    groups
}

/// Everything the check needs about one RUN.
struct Run<'a, 'k> {
    instruction: Instruction<'a>,
    /// The state the RUN runs in, with what `FROM <stage>` inherits.
    state: StageState,
    /// The USER instruction in effect (of this stage or one it is built FROM).
    user: Option<Instruction<'a>>,
    script: Script,
    mounts: Vec<Mount>,
    needs: Vec<Need<'k>>,
    /// Downloading commands, by index into `script.commands()`, with their manager.
    downloads: Vec<(usize, &'k PackageManager)>,
    /// Managers that download here with their cache turned off, and what turns it off
    /// (`PIP_NO_CACHE_DIR=1 at line 4`): a mount would keep nothing, so they get none.
    cache_off: Vec<(&'k PackageManager, String)>,
}

impl Rule for CacheMounts {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let file = ctx.file;
        let states = stage_states(file);
        let stages = file.stages();
        let ids = known_ids(file);
        let mut out = Vec::new();
        for (stage_index, stage) in stages.iter().enumerate() {
            let chain = stage_chain(&stages, stage_index);
            let root_base = chain.last().and_then(|s| s.base());
            if root_base.is_some_and(|b| {
                let b = b.to_ascii_lowercase();
                b.contains("windows") || b.contains("nanoserver") || b.contains("servercore")
            }) {
                continue;
            }
            for &instruction in &stage.instructions {
                let Some(run) = inspect(ctx, instruction, &states, &chain) else {
                    continue;
                };
                let has_cache_mount = run.mounts.iter().any(|m| m.cache);
                let covered = |t: &str| {
                    run.mounts
                        .iter()
                        .filter_map(|m| m.target.as_deref())
                        .any(|m| covers(m, t))
                };
                // A cache mount the RUN already has inside a folder (`registry/cache` of
                // `registry`) is the user's choice of what to keep: no parent mount over it.
                let chosen_inside = |t: &str| {
                    run.mounts
                        .iter()
                        .filter(|m| m.cache)
                        .filter_map(|m| m.target.as_deref())
                        .any(|m| m != t && covers(t, m))
                };
                // Missing folders, each once; an unknown folder only when the RUN has no
                // cache mount at all (it may be the one already there).
                let mut missing: Vec<&Need<'_>> = Vec::new();
                for need in &run.needs {
                    let wanted = match &need.target {
                        Ok(t) => {
                            !covered(t)
                                && !chosen_inside(t)
                                && !missing.iter().any(|m| m.target.as_ref() == Ok(t))
                        }
                        Err(_) => !has_cache_mount,
                    };
                    if wanted {
                        missing.push(need);
                    }
                }
                let all = missing.clone();
                missing.retain(|n| match &n.target {
                    Ok(t) => !all.iter().any(|o| {
                        o.target
                            .as_deref()
                            .is_ok_and(|outer| outer != t && covers(outer, t))
                    }),
                    Err(_) => true,
                });
                for (manager, setting) in &run.cache_off {
                    out.push(Diagnostic::new(
                        Self::META.name,
                        instruction.keyword_range().cover(instruction.args_range()),
                        format!(
                            "{setting} turns {name}'s cache off, so a cache mount would keep nothing; remove it to use a cache mount for {name}",
                            name = manager.name
                        ),
                    ));
                }
                if !missing.is_empty() {
                    let mut message = describe(&missing);
                    let mut diagnostic = Diagnostic::new(
                        Self::META.name,
                        instruction.keyword_range().cover(instruction.args_range()),
                        String::new(),
                    );
                    match plan(ctx, &run, &missing, &chain, &ids) {
                        Ok(fix) => diagnostic = diagnostic.with_fix(fix),
                        Err(why) => {
                            let _ = write!(message, " (no automatic fix: {why})");
                        }
                    }
                    diagnostic.message = message;
                    out.push(diagnostic);
                }
                // Flags and cleanups that only fight a cache mount already there: a separate
                // diagnostic, Safe whatever the target (a mount added above is not there yet).
                out.extend(useless_cleanups(ctx, &run));
            }
        }
        out
    }
}

/// The RUN as this rule sees it; `None` when the rule does not look at it.
fn inspect<'a, 'k>(
    ctx: &CheckContext<'k>,
    instruction: Instruction<'a>,
    states: &[StageState],
    chain: &[&Stage<'a>],
) -> Option<Run<'a, 'k>> {
    if instruction.kind() != InstructionKind::Run
        || instruction.is_exec_form()
        || instruction.heredocs().len() > 0
    {
        return None;
    }
    let (state, user) = effective_state(ctx.file, chain, states, instruction.index())?;
    if state.stage.is_none() || !state.posix_shell() {
        return None;
    }
    let script = dockopt_shell::parse_instruction(instruction)?;
    if script.is_opaque() {
        return None;
    }
    let mounts = mounts(instruction)?;
    let mut needs: Vec<Need<'k>> = Vec::new();
    let mut downloads = Vec::new();
    let mut cache_off: Vec<(&'k PackageManager, String)> = Vec::new();
    for (i, command) in script.commands().into_iter().enumerate() {
        let Some(package) = recognize(ctx.knowledge, command) else {
            continue;
        };
        if !package.downloads() {
            continue;
        }
        downloads.push((i, package.manager));
        if cache_off
            .iter()
            .any(|(m, _)| std::ptr::eq(*m, package.manager))
        {
            continue;
        }
        let off = cache_turned_off(
            ctx.file,
            chain,
            instruction.index(),
            &state,
            package.manager,
            command,
        );
        if let Some(setting) = off {
            needs.retain(|n| !std::ptr::eq(n.manager, package.manager));
            cache_off.push((package.manager, setting));
            continue;
        }
        for cache in caches_for(ctx, package.manager, &state) {
            if !needs.iter().any(|n| std::ptr::eq(n.cache, cache)) {
                needs.push(Need {
                    manager: package.manager,
                    cache,
                    target: locate(cache, &state),
                    shown: cache_path(cache, &state).unwrap_or_else(|| cache.target.clone()),
                });
            }
        }
    }
    if needs.is_empty() && cache_off.is_empty() {
        return None;
    }
    Some(Run {
        instruction,
        state,
        user,
        script,
        mounts,
        needs,
        downloads,
        cache_off,
    })
}

/// The manager's cache folders for this build: Yarn berry's when the build context's
/// project is berry (none when that cache is the project's own .yarn/cache), else the
/// manager's.
fn caches_for<'k>(
    ctx: &CheckContext<'k>,
    manager: &'k PackageManager,
    state: &StageState,
) -> &'k [CacheDir] {
    let Some(berry) = &manager.berry else {
        return &manager.caches;
    };
    let berry_project = |c: &&crate::BuildContext| {
        c.kind("yarn.lock").is_some() && crate::manifest::yarn_berry(c).is_some()
    };
    let Some(context) = ctx.build_context.filter(berry_project) else {
        return &manager.caches;
    };
    let setting = state.var(&berry.global_cache_env);
    if crate::manifest::yarn_berry_global_cache(context, berry, setting) {
        &berry.caches
    } else {
        &[]
    }
}

/// Where the ENV or ARG `instruction` sets `var` (the file offset of its name), if it does.
fn variable_offset(instruction: Instruction<'_>, var: &str) -> Option<usize> {
    match instruction.kind() {
        InstructionKind::Env => instruction
            .key_values()
            .iter()
            .rfind(|pair| pair.key.value == var)
            .map(|pair| pair.key.range.start),
        InstructionKind::Arg => instruction
            .words()
            .iter()
            .rfind(|w| w.value.split('=').next() == Some(var))
            .map(|w| w.range.start),
        _ => None,
    }
}

/// What turns `manager`'s cache off for `command`, for a message (`PIP_NO_CACHE_DIR=1 at
/// line 4`): a prefix assignment, else an ENV or ARG of the stage (or of the stages it is
/// built FROM) or of the base image; `None` when the cache is on. A value set from another
/// variable counts as off: the mount might keep nothing.
fn cache_turned_off(
    file: &Dockerfile,
    chain: &[&Stage<'_>],
    before: usize,
    state: &StageState,
    manager: &PackageManager,
    command: &Command,
) -> Option<String> {
    let off = |value: Option<&str>| {
        value.is_none_or(|v| {
            !manager
                .redundant_env_off_values
                .iter()
                .any(|o| o.eq_ignore_ascii_case(v.trim()))
        })
    };
    for var in &manager.redundant_env {
        if let Some(assignment) = command.assignments.iter().find(|a| &a.name == var) {
            let value = assignment.value.as_ref().and_then(Word::value);
            if off(value) {
                return Some(format!("`{var}={}` on the command", value.unwrap_or("...")));
            }
            continue;
        }
        if !state.is_set(var) || !off(state.var(var)) {
            continue;
        }
        let value = state.var(var).unwrap_or("...");
        // The last ENV or ARG that set it, for its line.
        let origin = chain
            .iter()
            .flat_map(|stage| stage.instructions.iter().rev())
            .filter(|i| i.index() < before)
            .find_map(|i| variable_offset(*i, var));
        return Some(match origin {
            Some(offset) => format!("{var}={value} at line {}", file.line_col(offset).line),
            None => format!("{var}={value} from the base image"),
        });
    }
    None
}

/// The state before instruction `index` with what the stages it is built FROM pass on
/// (their ENV, last USER and SHELL: Docker keeps an image's config across `FROM <stage>`),
/// and the USER instruction in effect.
fn effective_state<'a>(
    file: &Dockerfile,
    chain: &[&Stage<'a>],
    states: &[StageState],
    index: usize,
) -> Option<(StageState, Option<Instruction<'a>>)> {
    let own = states.get(index)?;
    let mut state = own.clone();
    let mut env = BTreeMap::new();
    let mut user = None;
    let mut shell = None;
    for (k, stage) in chain.iter().enumerate().rev() {
        for &instruction in &stage.instructions {
            if k == 0 && instruction.index() >= index {
                break;
            }
            match instruction.kind() {
                InstructionKind::Env if k > 0 => {
                    for pair in instruction.key_values() {
                        let value = pair.unquoted_value(file.escape_char());
                        let literal = (!value.contains('$')).then_some(value);
                        env.insert(pair.key.value.to_string(), literal);
                    }
                }
                InstructionKind::User => user = Some(instruction),
                InstructionKind::Shell if k > 0 => {
                    shell = instruction
                        .json_array()
                        .map(|a| a.iter().map(|e| e.value.to_string()).collect());
                }
                _ => {}
            }
        }
    }
    env.extend(own.env.clone());
    state.env = env;
    if state.shell.is_none() {
        state.shell = shell;
    }
    if state.user.is_none()
        && let Some(instruction) = user
    {
        let text = instruction.args_text();
        let name = text.split(':').next().unwrap_or(text).trim();
        state.user = (!name.is_empty()).then(|| name.to_string());
    }
    Some((state, user))
}

/// Explicit `id=`s of cache mounts anywhere in the file, by normalised target.
fn known_ids(file: &Dockerfile) -> HashMap<String, String> {
    let mut ids = HashMap::new();
    for instruction in file.instructions() {
        if instruction.kind() != InstructionKind::Run {
            continue;
        }
        for mount in mounts(instruction).unwrap_or_default() {
            if let (true, Some(target), Some(id)) = (mount.cache, mount.target, mount.id) {
                ids.entry(target).or_insert(id);
            }
        }
    }
    ids
}

fn managers_of<'k>(needs: &[&Need<'k>]) -> Vec<&'k PackageManager> {
    let mut out: Vec<&PackageManager> = Vec::new();
    for need in needs {
        if !out.iter().any(|m| std::ptr::eq(*m, need.manager)) {
            out.push(need.manager);
        }
    }
    out
}

/// "pip downloads into /root/.cache/pip on every build; a cache mount keeps it between
/// builds".
fn describe(missing: &[&Need<'_>]) -> String {
    let groups = by_manager(missing);
    let mut text = String::new();
    for (i, (manager, targets)) in groups.iter().enumerate() {
        if i == 0 {
            let _ = write!(text, "{manager} downloads into {}", and_list(targets));
        } else {
            let _ = write!(text, ", {manager} into {}", and_list(targets));
        }
    }
    if missing.len() == 1 {
        text.push_str(" on every build; a cache mount keeps it between builds");
    } else {
        text.push_str(" on every build; cache mounts keep them between builds");
    }
    text
}

/// The fix for one RUN, or why there is none.
fn plan(
    ctx: &CheckContext<'_>,
    run: &Run<'_, '_>,
    missing: &[&Need<'_>],
    chain: &[&Stage<'_>],
    ids: &HashMap<String, String>,
) -> Result<Fix, String> {
    if let Some(Err(why)) = missing.iter().map(|n| &n.target).find(|t| t.is_err()) {
        return Err(format!("{why}, so the cache folder is unknown"));
    }
    let new_targets: Vec<&str> = missing
        .iter()
        .filter_map(|n| n.target.as_deref().ok())
        .collect();
    if let Some(bad) = new_targets.iter().find(|t| !plain_path(t)) {
        return Err(format!("the folder {bad} would need quoting in --mount"));
    }
    let instruction = run.instruction;
    let earlier = earlier_runs(chain, instruction.index());
    let owner = if run.state.is_root() {
        None
    } else {
        let user_text = run.user.map_or_else(
            || run.state.user.clone().unwrap_or_default(),
            |i| i.args_text().to_string(),
        );
        let base = chain.last().and_then(|s| s.base());
        Some(owner(&user_text, &earlier, base).ok_or_else(|| {
            format!(
                "the uid of USER {} is unknown here; the cache would be owned by root and the install would fail with permission denied",
                run.state.user.as_deref().unwrap_or_default()
            )
        })?)
    };

    let mut edits = Vec::new();
    let mut mount_text = String::new();
    for need in missing {
        let target = need.target.as_deref().unwrap_or_default();
        let _ = write!(mount_text, " --mount=type=cache,target={target}");
        if let Some(sharing) = &need.cache.sharing {
            let _ = write!(mount_text, ",sharing={sharing}");
        }
        if let Some(id) = ids.get(target).filter(|id| *id != target && plain_path(id)) {
            let _ = write!(mount_text, ",id={id}");
        }
        if let Some((uid, gid)) = &owner {
            let _ = write!(mount_text, ",uid={uid}");
            if let Some(gid) = gid {
                let _ = write!(mount_text, ",gid={gid}");
            }
        }
    }
    edits.push(Edit::insert(instruction.keyword_range().end, mount_text));

    // What is mounted once the fix is in.
    let mounted: Vec<&str> = run
        .mounts
        .iter()
        .filter_map(|m| m.target.as_deref())
        .chain(new_targets.iter().copied())
        .collect();
    let is_mounted = |t: &str| mounted.iter().any(|m| covers(m, t));
    // Managers that get a mount here and have every folder mounted afterwards.
    let managers: Vec<&PackageManager> = managers_of(missing)
        .into_iter()
        .filter(|m| {
            run.needs
                .iter()
                .filter(|n| std::ptr::eq(n.manager, *m))
                .all(|n| n.target.as_deref().is_ok_and(is_mounted))
        })
        .collect();
    let commands = run.script.commands();
    // A cleanup goes when what it deletes is mounted; a new mount point itself only when
    // all of it is cache (`rm -rf /var/lib/apt` also deletes apt's state).
    let whole_cache = |folder: &str| {
        missing
            .iter()
            .any(|n| n.target.as_deref() == Ok(folder) && n.cache.disposable.is_empty())
    };
    let cleanable = |folder: &str, inside: bool| {
        mounted
            .iter()
            .any(|m| covers(m, folder) && (inside || folder != *m || whole_cache(folder)))
    };
    let Removal {
        edits: removal_edits,
        items: removed,
        paths: removed_paths,
        left,
        ..
    } = removal(ctx.file, run, &managers, &cleanable);
    // A cleanup that stays would empty the new mount on every build: no mount then.
    if !left.is_empty() {
        return Err(format!(
            "{} would empty the cache mount on every build, and only a command joined by `&&` at the top level of the RUN can be removed",
            and_list(&left)
        ));
    }
    // The removed flags and cleanups are meant to go: the fix loop's guard must not take
    // them for lost commands.
    let removes: Vec<TextRange> = removal_edits.iter().map(|e| e.range).collect();
    edits.extend(removal_edits);
    let items = &run.script.root().items;
    let home = run.state.home();

    // An `rm` left in the RUN must not delete a new mount point: rm fails on it.
    for command in &commands {
        if command.program() != Some("rm")
            || items.iter().zip(&removed).any(|(item, &gone)| {
                gone && item.node.span().clean.start <= command.span.clean.start
                    && command.span.clean.end <= item.node.span().clean.end
            })
        {
            continue;
        }
        for word in command.positionals() {
            let Some((folder, inside)) =
                word.value().and_then(|v| path_argument(v, home.as_deref()))
            else {
                continue;
            };
            let hit = new_targets
                .iter()
                .find(|t| covers(&folder, t) && !(inside && folder == **t));
            if let Some(target) = hit {
                return Err(format!(
                    "`{}` would delete the mount point {target}, and rm fails on a mount point",
                    run.script.slice(&command.span),
                ));
            }
        }
    }

    // Commands to run first (apt's docker-clean), once, before the manager's first
    // download, at the start of its and-or list.
    let mut prepared = Vec::new();
    let mut insertions: Vec<(usize, String)> = Vec::new();
    for manager in &managers {
        let Some(prepare) = &manager.prepare else {
            continue;
        };
        let already = earlier
            .iter()
            .chain(std::iter::once(&run.script))
            .any(|s| s.commands().iter().any(|c| runs_prepare(prepare, c)));
        prepared.push(*manager);
        if already {
            continue;
        }
        let Some(&(first, _)) = run
            .downloads
            .iter()
            .find(|(_, m)| std::ptr::eq(*m, *manager))
        else {
            continue;
        };
        let at = and_or_start(&run.script, commands[first])
            .ok_or("the first download is not at the top level")?;
        match insertions.iter_mut().find(|(offset, _)| *offset == at) {
            Some((_, text)) => {
                let _ = write!(text, "{prepare} && ");
            }
            None => insertions.push((at, format!("{prepare} && "))),
        }
    }
    let adds_prepare = !insertions.is_empty();
    edits.extend(
        insertions
            .into_iter()
            .map(|(at, text)| Edit::insert(at, text)),
    );

    let applicability = if ctx.target.buildkit && prepared.is_empty() {
        Applicability::Safe
    } else {
        Applicability::Unsafe
    };
    // A mount keeps everything the RUN writes below it out of the image: disposable where the
    // knowledge says it is cache, a declared path change for the rest (apt's extended_states).
    let mut disposable: Vec<String> = Vec::new();
    let mut kept_out: Vec<String> = Vec::new();
    for need in missing {
        let Ok(target) = &need.target else { continue };
        if need.cache.disposable.is_empty() {
            disposable.push(format!("{target}/**"));
        } else {
            disposable.extend(
                need.cache
                    .disposable
                    .iter()
                    .map(|sub| format!("{target}/{sub}/**")),
            );
            kept_out.push(format!("{target}/**"));
        }
    }
    for path in removed_paths {
        let folder = path.trim_end_matches("/**");
        if !new_targets.iter().any(|t| covers(t, folder)) && !disposable.contains(&path) {
            disposable.push(path);
        }
    }
    let mut paths: Vec<String> = if adds_prepare {
        prepared
            .iter()
            .filter_map(|m| m.prepare.as_deref())
            .flat_map(str::split_whitespace)
            .filter(|w| w.starts_with('/'))
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    paths.extend(kept_out);
    let groups = by_manager(missing);
    let title = format!(
        "Add {} for {}",
        if missing.len() == 1 {
            "a cache mount"
        } else {
            "cache mounts"
        },
        and_list(
            &groups
                .iter()
                .map(|(m, targets)| format!("{m} ({})", targets.join(", ")))
                .collect::<Vec<_>>()
        )
    );
    let mut summary = String::from(
        "package-manager caches are mounted while the RUN runs and stay out of the image; needs BuildKit",
    );
    if removed.iter().any(|&r| r) {
        summary.push_str("; cleanup of those caches is removed");
    }
    if !paths.is_empty() {
        let _ = write!(
            summary,
            "; {} removed so downloaded packages stay in the cache",
            paths.join(", ")
        );
    }
    Ok(Fix::new(
        title,
        applicability,
        edits,
        DeclaredEffect {
            disposable,
            paths,
            summary,
            ..DeclaredEffect::default()
        },
    )
    .with_removals(removes))
}

/// What removing the flags and cleanups a cache mount makes redundant takes.
struct Removal {
    edits: Vec<Edit>,
    /// The flags and cleanup commands removed, as written and quoted, each once.
    labels: Vec<String>,
    /// Which top-level items of the script go (by index into its root items).
    items: Vec<bool>,
    /// What the removed cleanups deleted (`/var/lib/apt/lists/**`).
    paths: Vec<String>,
    /// Cleanups of a mounted cache that stay (not at the top level, not joined by `&&`):
    /// they would empty the mount on every build.
    left: Vec<String>,
}

/// The removal of `managers`' flags that only turn the cache off (on the RUN's downloading
/// commands of those managers) and of their cleanup commands that run at the top level,
/// joined by `&&`, when `mounted(folder, only_its_content)` accepts every folder such a
/// cleanup deletes.
fn removal(
    file: &Dockerfile,
    run: &Run<'_, '_>,
    managers: &[&PackageManager],
    mounted: &dyn Fn(&str, bool) -> bool,
) -> Removal {
    let mut edits = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut label = |text: &str| {
        let text = format!("`{text}`");
        if !labels.contains(&text) {
            labels.push(text);
        }
    };
    let commands = run.script.commands();

    // Flags that only turn the cache off.
    for &(i, manager) in &run.downloads {
        if !managers.iter().any(|m| std::ptr::eq(*m, manager)) {
            continue;
        }
        let command = commands[i];
        let words: Vec<&Word> = command.words().collect();
        for (at, word) in words.iter().enumerate().skip(1) {
            if word.is("--") {
                break;
            }
            if manager.redundant_flags.iter().any(|f| word.is(f)) {
                edits.push(Edit::delete(word_removal(file, &words, at)));
                label(&word.raw);
            }
        }
    }

    // Cleanup commands at the top level, joined by `&&`: the knowledge's, and any `rm`
    // whose every operand is under a mount.
    let home = run.state.home();
    let cleaned = |command: &Command| -> Option<Vec<String>> {
        if let Some(operands) = rm_operands(command, home.as_deref()) {
            let mut paths = Vec::new();
            for (_, path) in operands {
                let (folder, inside) = path?;
                if !mounted(&folder, inside) {
                    return None;
                }
                paths.push(deleted_paths(&folder, inside));
            }
            return Some(paths);
        }
        managers.iter().find_map(|m| {
            let entry = m.cleanup.iter().find(|e| is_cleanup(e, command))?;
            let mut paths = Vec::new();
            for word in &entry[1..] {
                if word.starts_with('/') || word.starts_with('~') {
                    let (folder, inside) = path_argument(word, home.as_deref())?;
                    if !mounted(&folder, inside) {
                        return None;
                    }
                    paths.push(deleted_paths(&folder, inside));
                }
            }
            Some(paths)
        })
    };
    let items = &run.script.root().items;
    let mut removable: Vec<Option<Vec<String>>> = items
        .iter()
        .map(|item| match &item.node {
            Node::Command(c) => cleaned(c),
            _ => None,
        })
        .collect();
    let mut paths = Vec::new();
    let mut removed = vec![false; items.len()];
    for (range, span) in cleanup_removals(items, &removable) {
        edits.push(Edit::delete(range));
        for i in span {
            removed[i] = true;
            paths.extend(removable[i].take().unwrap_or_default());
            label(run.script.slice(items[i].node.span()));
        }
    }

    // What stays and still empties a mount: an `rm` loses its operands under a mount
    // when others remain; any other cleanup left is reported by the caller.
    let in_removed_item = |command: &Command| {
        items.iter().zip(&removed).any(|(item, &gone)| {
            let span = &item.node.span().clean;
            gone && span.start <= command.span.clean.start && command.span.clean.end <= span.end
        })
    };
    let mut left = Vec::new();
    for command in commands.iter().filter(|c| !in_removed_item(c)) {
        let text = || format!("`{}`", run.script.slice(&command.span));
        if let Some(operands) = rm_operands(command, home.as_deref()) {
            let words: Vec<&Word> = command.words().collect();
            let under_mount: Vec<(usize, String)> = operands
                .iter()
                .filter_map(|(at, path)| {
                    let (folder, inside) = path.as_ref()?;
                    mounted(folder, *inside).then(|| (*at, deleted_paths(folder, *inside)))
                })
                .collect();
            if under_mount.is_empty() {
                continue;
            }
            if under_mount.len() == operands.len() {
                left.push(text());
                continue;
            }
            for (at, path) in under_mount {
                edits.push(Edit::delete(word_removal(file, &words, at)));
                label(&words[at].raw);
                paths.push(path);
            }
        } else if managers
            .iter()
            .any(|m| m.cleanup.iter().any(|e| is_cleanup(e, command)))
        {
            left.push(text());
        }
    }
    Removal {
        edits,
        labels,
        items: removed,
        paths,
        left,
    }
}

/// A deleted folder as a declared path: the folder, or `folder/**` when only its content
/// goes.
fn deleted_paths(folder: &str, inside: bool) -> String {
    if inside {
        format!("{}/**", folder.trim_end_matches('/'))
    } else {
        folder.to_string()
    }
}

/// An operand of `rm`: its index into the command's words, and the folder it names.
type RmOperand = (usize, Option<(String, bool)>);

/// The operands of a plain `rm` (options only among `-r -R -f -v` and their long forms),
/// by index into `command.words()`, each as the folder it names (see [`path_argument`]),
/// `None` for one that is not a literal absolute path; `None` for another command.
fn rm_operands(command: &Command, home: Option<&str>) -> Option<Vec<RmOperand>> {
    if command.program() != Some("rm") {
        return None;
    }
    let mut operands = Vec::new();
    for (at, word) in command.words().enumerate().skip(1) {
        let raw = word.raw.as_str();
        if let Some(long) = raw.strip_prefix("--") {
            if !matches!(long, "recursive" | "force" | "verbose") {
                return None;
            }
        } else if let Some(short) = raw.strip_prefix('-') {
            if short.is_empty() || !short.chars().all(|c| "rRfv".contains(c)) {
                return None;
            }
        } else {
            operands.push((at, path_argument(raw, home)));
        }
    }
    (!operands.is_empty()).then_some(operands)
}

/// The diagnostic for flags and cleanups that only fight a cache mount the RUN already
/// has, with a Safe fix removing them; `None` when there are none (or none can go).
fn useless_cleanups(ctx: &CheckContext<'_>, run: &Run<'_, '_>) -> Option<Diagnostic> {
    let cache_targets: Vec<&str> = run
        .mounts
        .iter()
        .filter(|m| m.cache)
        .filter_map(|m| m.target.as_deref())
        .collect();
    if cache_targets.is_empty() {
        return None;
    }
    let cached = |t: &str| cache_targets.iter().any(|m| covers(m, t));
    // Managers with a downloading command here and every cache folder known and under a
    // cache mount of the RUN.
    let needs: Vec<&Need<'_>> = run.needs.iter().collect();
    let managers: Vec<&PackageManager> = managers_of(&needs)
        .into_iter()
        .filter(|m| {
            run.needs
                .iter()
                .filter(|n| std::ptr::eq(n.manager, *m))
                .all(|n| n.target.as_deref().is_ok_and(cached))
        })
        .collect();
    if managers.is_empty() {
        return None;
    }
    // Only what is inside a mount: rm fails on the mount point itself (the RUN already
    // fails then, and that is not this fix's business).
    let inside_mount = |folder: &str, only_content: bool| {
        cache_targets
            .iter()
            .any(|m| covers(m, folder) && (only_content || folder != *m))
    };
    let Removal { edits, labels, .. } = removal(ctx.file, run, &managers, &inside_mount);
    if edits.is_empty() {
        return None;
    }
    // Removing them is the point: declared for the fix loop's guard.
    let removes: Vec<TextRange> = edits.iter().map(|e| e.range).collect();
    let mounts = if cache_targets.len() == 1 {
        "the cache mount"
    } else {
        "the cache mounts"
    };
    let message = if labels.len() == 1 {
        format!("{} only empties {mounts}; remove it", labels[0])
    } else {
        format!("{} only empty {mounts}; remove them", and_list(&labels))
    };
    let instruction = run.instruction;
    Some(
        Diagnostic::new(
            CacheMounts::META.name,
            instruction.keyword_range().cover(instruction.args_range()),
            message,
        )
        .with_fix(Fix::new(
            "Remove cache cleanups that a cache mount makes useless",
            Applicability::Safe,
            edits,
            DeclaredEffect {
                summary: "the removed flags and cleanup commands only touched files inside cache mounts, which never reach the image".to_string(),
                ..DeclaredEffect::default()
            },
        )
        .with_removals(removes)),
    )
}

/// The file range to delete for the redundant word `words[at]`: with the blank before it
/// when that is on the same line, else with the blank after it (so a continuation line
/// keeps its shape).
fn word_removal(file: &Dockerfile, words: &[&Word], at: usize) -> TextRange {
    let word = &words[at].span.file;
    let before = words[at - 1].span.file.end;
    let same_line = !file.text()[before..word.start].contains('\n');
    match words.get(at + 1) {
        Some(next) if !same_line => TextRange::new(word.start, next.span.file.start),
        _ => TextRange::new(before, word.end),
    }
}

/// Deletions for runs of removable top-level items joined by `&&`, with one adjacent
/// `&&`: (range, items removed).
fn cleanup_removals(
    items: &[ListItem],
    removable: &[Option<Vec<String>>],
) -> Vec<(TextRange, std::ops::RangeInclusive<usize>)> {
    let op = |i: usize| items[i].terminator.as_ref().map(|t| t.kind);
    let span = |i: usize| &items[i].node.span().file;
    let mut out = Vec::new();
    let mut i = 0;
    while i < items.len() {
        if removable[i].is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while end + 1 < items.len() && removable[end + 1].is_some() && op(end) == Some(OpKind::And)
        {
            end += 1;
        }
        i = end + 1;
        let after_ok = matches!(
            op(end),
            None | Some(OpKind::And | OpKind::Semi | OpKind::Newline)
        );
        if start > 0 && op(start - 1) == Some(OpKind::And) && after_ok {
            out.push((
                TextRange::new(span(start - 1).end, span(end).end),
                start..=end,
            ));
        } else if (start == 0 || matches!(op(start - 1), Some(OpKind::Semi | OpKind::Newline)))
            && op(end) == Some(OpKind::And)
            && end + 1 < items.len()
        {
            out.push((
                TextRange::new(span(start).start, span(end + 1).start),
                start..=end,
            ));
        }
    }
    out
}

/// Whether `command` already does what `prepare` does: same program, and every operand of
/// `prepare` among its arguments (`rm -rf X` does `rm -f X`).
fn runs_prepare(prepare: &str, command: &Command) -> bool {
    let mut words = prepare.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    command.program() == Some(program)
        && words
            .filter(|w| !w.starts_with('-'))
            .all(|w| command.has_arg(w))
}

/// The file offset of the top-level and-or list holding `command`.
fn and_or_start(script: &Script, command: &Command) -> Option<usize> {
    let at = command.span.clean.start;
    script
        .root()
        .and_or_lists()
        .into_iter()
        .find(|(items, _)| {
            items.iter().any(|item| {
                let span = &item.node.span().clean;
                span.start <= at && at < span.end.max(span.start + 1)
            })
        })
        .and_then(|(items, _)| items.first())
        .map(|item| item.node.span().file.start)
}

#[cfg(test)]
mod tests {
    use dockopt_fix::{Applicability, FixOptions, assert_idempotent, fix_loop};

    use super::CacheMounts;
    use crate::rules::test_support::{check, fixed};
    use crate::{CheckContext, Knowledge, Rule, TargetFacts};

    const APT: &str = "--mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked";

    fn fix(text: &str) -> String {
        fixed(&CacheMounts, text).unwrap_or_else(|| panic!("no fix for {text}"))
    }

    fn check_with(text: &str, target: &TargetFacts) -> Vec<dockopt_fix::Diagnostic> {
        let file = dockopt_syntax::parse(text);
        CacheMounts.check(&CheckContext {
            file: &file,
            knowledge: Knowledge::get(),
            build_context: None,
            options: &crate::RuleOptions::default(),
            target,
        })
    }

    /// The diagnostics for `text` with a build context holding `files`.
    fn check_in_context(text: &str, files: &[(&str, &str)]) -> Vec<dockopt_fix::Diagnostic> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dockopt-cache-mounts-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (path, text) in files {
            std::fs::write(dir.join(path), text).unwrap();
        }
        let context = crate::BuildContext::new(&dir);
        let file = dockopt_syntax::parse(text);
        let d = CacheMounts.check(&CheckContext {
            file: &file,
            knowledge: Knowledge::get(),
            build_context: Some(&context),
            options: &crate::RuleOptions::default(),
            target: &TargetFacts::default(),
        });
        let _ = std::fs::remove_dir_all(&dir);
        d
    }

    #[test]
    fn yarn_berry_mounts_its_global_cache_or_nothing() {
        let text = "FROM node:22\nRUN corepack enable\nWORKDIR /app\nCOPY . .\nRUN yarn install --immutable\n";
        let lock = "__metadata:\n  version: 10\n";
        let yarn4 = r#"{"packageManager":"yarn@4.18.1"}"#;
        let mount = |files: &[(&str, &str)]| {
            let d = check_in_context(text, files);
            d.first()
                .and_then(|d| d.fix.as_ref())
                .map(|f| f.edits[0].replacement.clone())
        };
        // Yarn 4: the global cache under root's HOME, not Yarn classic's folder.
        assert_eq!(
            mount(&[("package.json", yarn4), ("yarn.lock", lock)]).as_deref(),
            Some(" --mount=type=cache,target=/root/.yarn/berry/cache")
        );
        // The cache is the project's own .yarn/cache: turned off, or Yarn 3 (no mount then).
        for files in [
            vec![
                ("package.json", yarn4),
                ("yarn.lock", lock),
                (".yarnrc.yml", "enableGlobalCache: false\n"),
            ],
            vec![
                ("package.json", r#"{"packageManager":"yarn@3.8.7"}"#),
                ("yarn.lock", lock),
            ],
        ] {
            assert!(check_in_context(text, &files).is_empty(), "{files:?}");
        }
        // A Yarn classic project keeps classic's folder.
        let classic = "# yarn lockfile v1\n";
        assert_eq!(
            mount(&[("package.json", "{}"), ("yarn.lock", classic)]).as_deref(),
            Some(" --mount=type=cache,target=/usr/local/share/.cache/yarn")
        );
    }

    #[test]
    fn apt_gets_locked_mounts_docker_clean_removed_and_no_cleanup() {
        let text = "FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(
            fix(text),
            format!(
                "FROM debian:12\nRUN {APT} rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update && apt-get install -y curl\n"
            )
        );
        let d = check(&CacheMounts, text);
        assert_eq!(
            d[0].message,
            "apt downloads into /var/cache/apt and /var/lib/apt on every build; cache mounts keep them between builds"
        );
        let f = d[0].fix.as_ref().unwrap();
        assert_eq!(
            f.title,
            "Add cache mounts for apt (/var/cache/apt, /var/lib/apt)"
        );
        // The package lists are cache; the rest of /var/lib/apt (extended_states) is apt's
        // state, which the mount keeps out of the image too: declared, not disposable.
        assert_eq!(
            f.effect.paths,
            ["/etc/apt/apt.conf.d/docker-clean", "/var/lib/apt/**"]
        );
        assert_eq!(
            f.effect.disposable,
            ["/var/cache/apt/**", "/var/lib/apt/lists/**"]
        );
    }

    #[test]
    fn continuation_lines_and_several_cleanups() {
        let text = "FROM ubuntu:24.04\nRUN apt-get update \\\n    && apt-get install -y --no-install-recommends curl \\\n    && apt-get clean \\\n    && rm -fr /var/lib/apt/lists/*\n";
        assert_eq!(
            fix(text),
            format!(
                "FROM ubuntu:24.04\nRUN {APT} rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update \\\n    && apt-get install -y --no-install-recommends curl\n"
            )
        );
        // A cleanup first in the chain goes with the `&&` after it.
        let text = "FROM debian\nRUN apt-get clean && apt-get update && apt-get install -y x\n";
        assert_eq!(
            fix(text),
            format!(
                "FROM debian\nRUN {APT} rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update && apt-get install -y x\n"
            )
        );
        // In the middle: `a && rm && b` -> `a && b`.
        let text = "FROM debian\nRUN apt-get update && rm -rf /var/lib/apt/lists/* && echo done\n";
        assert_eq!(
            fix(text),
            format!(
                "FROM debian\nRUN {APT} rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update && echo done\n"
            )
        );
    }

    #[test]
    fn crlf_text_keeps_its_line_endings() {
        let text = "FROM debian\r\nRUN apt-get update \\\r\n && apt-get install -y curl \\\r\n && rm -rf /var/lib/apt/lists/*\r\nRUN pip install \\\r\n    --no-cache-dir \\\r\n    flask\r\n";
        let file = dockopt_syntax::parse(text);
        let d = check(&CacheMounts, text);
        assert_eq!(d.len(), 2);
        let mut out = text.to_string();
        let mut edits: Vec<_> = d
            .iter()
            .flat_map(|d| d.fix.as_ref().unwrap().edits.clone())
            .collect();
        edits.sort();
        for edit in edits.iter().rev() {
            out.replace_range(edit.range.range(), &edit.replacement);
        }
        assert_eq!(
            out,
            format!(
                "FROM debian\r\nRUN {APT} rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update \\\r\n && apt-get install -y curl\r\nRUN --mount=type=cache,target=/root/.cache/pip pip install \\\r\n    flask\r\n"
            )
        );
        assert!(!file.text().is_empty());
        assert!(check(&CacheMounts, &out).is_empty());
    }

    #[test]
    fn pip_for_root_and_for_a_user_with_a_known_uid() {
        assert_eq!(
            fix("FROM python:3.12\nRUN pip install --no-cache-dir -r requirements.txt\n"),
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
        );
        let text = "FROM python:3.12\nRUN useradd -u 10001 -m app\nUSER app\nRUN pip install --user --no-cache-dir flask && pip cache purge\n";
        assert_eq!(
            fix(text),
            "FROM python:3.12\nRUN useradd -u 10001 -m app\nUSER app\nRUN --mount=type=cache,target=/home/app/.cache/pip,uid=10001 pip install --user flask\n"
        );
        // BusyBox adduser and a group with a known gid.
        let text = "FROM python:3.12-alpine\nRUN addgroup -g 2000 web && adduser -D -u 1000 -G web app\nUSER app:web\nRUN python3 -m pip install flask\n";
        assert_eq!(
            fix(text),
            "FROM python:3.12-alpine\nRUN addgroup -g 2000 web && adduser -D -u 1000 -G web app\nUSER app:web\nRUN --mount=type=cache,target=/home/app/.cache/pip,uid=1000,gid=2000 python3 -m pip install flask\n"
        );
        // A numeric USER with a HOME.
        let text = "FROM python:3.12\nENV HOME=/app\nUSER 1000:1000\nRUN pip install flask\n";
        assert_eq!(
            fix(text),
            "FROM python:3.12\nENV HOME=/app\nUSER 1000:1000\nRUN --mount=type=cache,target=/app/.cache/pip,uid=1000,gid=1000 pip install flask\n"
        );
        // The useradd may be in the stage this one is built FROM.
        let text = "FROM python:3.12 AS base\nRUN useradd --uid=4242 app\nFROM base\nUSER app\nRUN pip install flask\n";
        assert!(fix(text).contains("target=/home/app/.cache/pip,uid=4242 pip"));
    }

    #[test]
    fn node_user_of_the_node_images() {
        assert_eq!(
            fix("FROM node:22\nUSER node\nRUN npm ci\n"),
            "FROM node:22\nUSER node\nRUN --mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000 npm ci\n"
        );
        let d = check(&CacheMounts, "FROM debian\nUSER node\nRUN npm ci\n");
        assert!(d[0].fix.is_none(), "node is not known outside node images");
    }

    #[test]
    fn user_env_and_shell_carry_over_from_stage_to_stage() {
        assert_eq!(
            fix("FROM node:22 AS base\nUSER node\nFROM base\nRUN npm ci\n"),
            "FROM node:22 AS base\nUSER node\nFROM base\nRUN --mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000 npm ci\n"
        );
        assert_eq!(
            fix("FROM python:3.12 AS a\nENV PIP_CACHE_DIR=/cache/pip\nFROM a\nRUN pip install x\n"),
            "FROM python:3.12 AS a\nENV PIP_CACHE_DIR=/cache/pip\nFROM a\nRUN --mount=type=cache,target=/cache/pip pip install x\n"
        );
        // The stage's own USER wins over the one it inherits.
        assert_eq!(
            fix("FROM node:22 AS base\nUSER node\nFROM base\nUSER root\nRUN npm ci\n"),
            "FROM node:22 AS base\nUSER node\nFROM base\nUSER root\nRUN --mount=type=cache,target=/root/.npm npm ci\n"
        );
        assert!(
            check(
                &CacheMounts,
                "FROM python:3.12 AS a\nSHELL [\"pwsh\", \"-c\"]\nFROM a\nRUN pip install x\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn go_caches_follow_gopath() {
        let go =
            "--mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build";
        assert_eq!(
            fix("FROM golang:1.22\nRUN go mod download\n"),
            format!("FROM golang:1.22\nRUN {go} go mod download\n")
        );
        assert_eq!(
            fix("FROM golang:1.22\nRUN go build -o /app .\n"),
            format!("FROM golang:1.22\nRUN {go} go build -o /app .\n")
        );
        assert_eq!(
            fix("FROM golang:1.22\nENV GOPATH=/gopath\nRUN go build .\n"),
            "FROM golang:1.22\nENV GOPATH=/gopath\nRUN --mount=type=cache,target=/gopath/pkg/mod --mount=type=cache,target=/root/.cache/go-build go build .\n"
        );
    }

    #[test]
    fn npm_cache_clean_and_apk_no_cache_go() {
        assert_eq!(
            fix("FROM node:22\nRUN npm ci && npm cache clean --force\n"),
            "FROM node:22\nRUN --mount=type=cache,target=/root/.npm npm ci\n"
        );
        assert_eq!(
            fix("FROM alpine:3.20\nRUN apk add --no-cache curl\n"),
            "FROM alpine:3.20\nRUN --mount=type=cache,target=/etc/apk/cache,sharing=locked apk add curl\n"
        );
        // A quoted glob is not the cleanup: the shell would not expand it.
        let out = fix("FROM debian\nRUN apt-get update && rm -rf '/var/lib/apt/lists/*'\n");
        assert!(out.ends_with("&& rm -rf '/var/lib/apt/lists/*'\n"), "{out}");
    }

    #[test]
    fn existing_mounts_are_kept_and_not_duplicated() {
        let text = "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=bind,source=x,target=/x apt-get update\n";
        assert_eq!(
            fix(text),
            "FROM debian\nRUN --mount=type=cache,target=/var/lib/apt,sharing=locked --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=bind,source=x,target=/x rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update\n"
        );
        // A cache mount inside a folder is the user's choice: no parent mount over it.
        let text = "FROM rust:1.82\nRUN --mount=type=cache,target=/usr/local/cargo/registry/cache cargo build --release\n";
        assert_eq!(
            fix(text),
            "FROM rust:1.82\nRUN --mount=type=cache,target=/usr/local/cargo/git --mount=type=cache,target=/usr/local/cargo/registry/cache cargo build --release\n"
        );
        // Composer: COMPOSER_HOME of the composer image, else ~/.composer on php images.
        assert_eq!(
            fix("FROM composer:2\nRUN composer install --no-dev\n"),
            "FROM composer:2\nRUN --mount=type=cache,target=/tmp/cache composer install --no-dev\n"
        );
        assert_eq!(
            fix("FROM php:8.3-cli\nRUN composer install --no-dev\n"),
            "FROM php:8.3-cli\nRUN --mount=type=cache,target=/root/.composer/cache composer install --no-dev\n"
        );
        // Yarn classic run as root caches under /usr/local/share, not root's HOME.
        assert_eq!(
            fix("FROM node:22\nRUN yarn install --frozen-lockfile\n"),
            "FROM node:22\nRUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile\n"
        );
        assert!(
            fix("FROM node:22\nUSER node\nRUN yarn install --frozen-lockfile\n")
                .contains("target=/home/node/.cache/yarn,uid=1000,gid=1000 "),
        );
        // Poetry: its downloads only, never the folder that holds the virtualenvs.
        assert_eq!(
            fix("FROM python:3.12\nRUN poetry install --no-root\n"),
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pypoetry/artifacts --mount=type=cache,target=/root/.cache/pypoetry/cache poetry install --no-root\n"
        );
        // pnpm: PNPM_HOME moves the store.
        assert_eq!(
            fix("FROM node:22\nENV PNPM_HOME=/pnpm\nRUN pnpm install --frozen-lockfile\n"),
            "FROM node:22\nENV PNPM_HOME=/pnpm\nRUN --mount=type=cache,target=/pnpm/store pnpm install --frozen-lockfile\n"
        );
        // With the store or the virtualenvs elsewhere, a non-root user gets the mounts.
        assert!(
            fix("FROM node:22\nUSER node\nENV npm_config_store_dir=/home/node/.pnpm-store\nRUN pnpm install\n")
                .contains("--mount=type=cache,target=/home/node/.pnpm-store,uid=1000,gid=1000 pnpm install"),
        );
        // A stage that already names an id for the folder lends it to the others.
        let text = "FROM python:3.12 AS a\nRUN --mount=type=cache,id=pip,target=/root/.cache/pip pip install x\nFROM python:3.12 AS b\nRUN pip install y\n";
        assert!(
            fix(text)
                .contains("RUN --mount=type=cache,target=/root/.cache/pip,id=pip pip install y")
        );
        // Two stages caching the same folder get the same target (BuildKit's default id).
        let text =
            "FROM python:3.12 AS a\nRUN pip install x\nFROM python:3.12 AS b\nRUN pip install y\n";
        let d = check(&CacheMounts, text);
        assert_eq!(d.len(), 2);
        for d in &d {
            assert_eq!(
                d.fix.as_ref().unwrap().edits[0].replacement,
                " --mount=type=cache,target=/root/.cache/pip"
            );
        }
    }

    #[test]
    fn does_not_fire() {
        for text in [
            "FROM python:3.12\nRUN [\"pip\", \"install\", \"flask\"]\n",
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install x\n",
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache pip install x\n",
            "FROM python:3.12\nRUN --mount=type=cache,target=$HOME/.cache/pip pip install x\n",
            "FROM debian\nRUN apt-get clean\n",
            "FROM python:3.12\nRUN echo pip install\n",
            "FROM python:3.12\nSHELL [\"pwsh\", \"-c\"]\nRUN pip install flask\n",
            "FROM python:3.12\nRUN pip install 'flask\n",
            "FROM python:3.12\nRUN <<EOF\npip install flask\nEOF\n",
            "FROM python:3.12\nONBUILD RUN pip install flask\n",
            "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN pip install flask\n",
            "FROM node:22\nRUN npm run build\n",
        ] {
            assert!(check(&CacheMounts, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn reports_without_fix_when_unsure() {
        for (text, why) in [
            (
                "FROM python:3.12\nUSER app\nRUN pip install flask\n",
                "the uid of USER app is unknown here",
            ),
            (
                "FROM python:3.12\nARG H\nENV HOME=$H\nRUN pip install flask\n",
                "HOME is set from another variable",
            ),
            (
                "FROM python:3.12\nUSER 1000\nRUN pip install flask\n",
                "the HOME of USER 1000 is unknown",
            ),
            (
                "FROM python:3.12\nRUN useradd app\nUSER app\nRUN pip install flask\n",
                "the uid of USER app is unknown here",
            ),
            (
                "FROM node:22\nRUN npm ci; rm -rf /root/.npm\n",
                "`rm -rf /root/.npm` would empty the cache mount on every build",
            ),
            (
                "FROM node:22\nRUN npm ci && rm -rf /root\n",
                "`rm -rf /root` would delete the mount point /root/.npm",
            ),
            (
                "FROM python:3.12\nRUN pip install x && rm -rf /root/.cache/*\n",
                "would delete the mount point /root/.cache/pip",
            ),
            // As a non-root user the mount's parents would be root's: poetry could not make
            // its virtualenv there, pnpm would fall back to a store beside the project.
            (
                "FROM node:22\nUSER node\nRUN pnpm install --frozen-lockfile\n",
                "as USER node a mount there would leave its parent folders owned by root, where the tool also writes; set `npm_config_store_dir` or `NPM_CONFIG_STORE_DIR`",
            ),
            (
                "FROM node:22\nUSER node\nRUN poetry install\n",
                "set `POETRY_VIRTUALENVS_IN_PROJECT` or `POETRY_VIRTUALENVS_PATH`",
            ),
        ] {
            let d = check(&CacheMounts, text);
            assert_eq!(d.len(), 1, "{text}");
            assert!(d[0].fix.is_none(), "{text}");
            assert!(d[0].message.contains(why), "{text}: {}", d[0].message);
        }
    }

    #[test]
    fn cache_folders_follow_the_base_image_env() {
        for (text, mounts) in [
            (
                "FROM rust:1.79\nRUN cargo build --release\n",
                "--mount=type=cache,target=/usr/local/cargo/registry --mount=type=cache,target=/usr/local/cargo/git",
            ),
            // The Dockerfile's ENV wins over the image's, also through `FROM <stage>`.
            (
                "FROM rust:1.79 AS base\nENV CARGO_HOME=/opt/cargo\nFROM base\nRUN cargo fetch\n",
                "--mount=type=cache,target=/opt/cargo/registry --mount=type=cache,target=/opt/cargo/git",
            ),
            (
                "FROM ruby:3.3\nRUN bundle install\n",
                "--mount=type=cache,target=/usr/local/bundle/cache",
            ),
            (
                "FROM composer:2\nRUN composer install\n",
                "--mount=type=cache,target=/tmp/cache",
            ),
            (
                "FROM golang:1.22\nRUN go mod download\n",
                "--mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build",
            ),
            // GOPATH's default is ~/go where no image sets it.
            (
                "FROM debian\nRUN go mod download\n",
                "--mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build",
            ),
        ] {
            let out = fix(text);
            assert!(out.contains(&format!("RUN {mounts} ")), "{text}: {out}");
        }
        // Under BUNDLE_PATH bundler adds ruby/<ABI version>/: unknown, so no mount.
        let d = check(
            &CacheMounts,
            "FROM ruby:3.3\nENV BUNDLE_PATH=/usr/local/bundle\nRUN bundle install\n",
        );
        assert!(d[0].fix.is_none());
        assert_eq!(
            d[0].message,
            "bundler downloads into /usr/local/bundle/ruby/*/cache on every build; a cache mount keeps it between builds (no automatic fix: /usr/local/bundle/ruby/*/cache depends on the installed version (the `*`), so the cache folder is unknown)"
        );
    }

    #[test]
    fn cleanups_of_a_mounted_cache_go_in_the_same_fix() {
        for (text, after) in [
            (
                "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists /var/cache/apt/archives\n",
                "apt-get install -y curl\n",
            ),
            (
                "FROM debian\nRUN apt-get update && apt-get install -y curl && apt-get clean && rm -rf /var/lib/apt/lists/*\n",
                "apt-get install -y curl\n",
            ),
            // Only the operands under a mount: the rest of the rm stays.
            (
                "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/* /tmp/*\n",
                "apt-get install -y curl && rm -rf /tmp/*\n",
            ),
            (
                "FROM maven:3.9\nRUN mvn -B package && rm -rf /root/.m2/repository\n",
                "mvn -B package\n",
            ),
            (
                "FROM python:3.12\nRUN pip install flask && rm -rf ~/.cache/pip\n",
                "pip install flask\n",
            ),
            (
                "FROM node:22\nRUN npm ci && npm cache clean --force\n",
                "npm ci\n",
            ),
            (
                "FROM golang:1.22\nRUN go mod download && go clean -modcache\n",
                "go mod download\n",
            ),
        ] {
            let out = fix(text);
            assert!(out.ends_with(after), "{text}: {out}");
        }
        // A cleanup that cannot go (inside `if`) would empty the mount: no fix, and why.
        let d = check(
            &CacheMounts,
            "FROM golang:1.22\nRUN go mod download && if true; then go clean -modcache; fi\n",
        );
        assert!(d[0].fix.is_none());
        assert!(
            d[0].message.contains(
                "(no automatic fix: `go clean -modcache` would empty the cache mount on every build"
            ),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn env_that_turns_the_cache_off_gets_no_mount() {
        for (text, setting) in [
            (
                "FROM python:3.12-slim\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
                "PIP_NO_CACHE_DIR=1 at line 2",
            ),
            // pip turns its cache off for any value, `off` and `0` included.
            (
                "FROM python:3.12\nENV PIP_NO_CACHE_DIR=off\nRUN pip install flask\n",
                "PIP_NO_CACHE_DIR=off at line 2",
            ),
            (
                "FROM python:3.12 AS base\nARG PIP_NO_CACHE_DIR=0\nENV PIP_NO_CACHE_DIR=0\nFROM base\nRUN pip install flask\n",
                "PIP_NO_CACHE_DIR=0 at line 3",
            ),
            (
                "FROM python:3.12\nRUN PIP_NO_CACHE_DIR=1 pip install flask\n",
                "`PIP_NO_CACHE_DIR=1` on the command",
            ),
            (
                "FROM python:3.12\nENV UV_NO_CACHE=1\nRUN uv pip install --system flask\n",
                "UV_NO_CACHE=1 at line 2",
            ),
        ] {
            let d = check(&CacheMounts, text);
            assert_eq!(d.len(), 1, "{text}: {d:?}");
            let manager = if setting.contains("UV") { "uv" } else { "pip" };
            assert_eq!(
                d[0].message,
                format!(
                    "{setting} turns {manager}'s cache off, so a cache mount would keep nothing; remove it to use a cache mount for {manager}"
                ),
                "{text}"
            );
            assert!(d[0].fix.is_none(), "{text}");
        }
        // uv reads UV_NO_CACHE as a boolean: `0` leaves the cache on.
        let out = fix("FROM python:3.12\nENV UV_NO_CACHE=0\nRUN uv pip install --system flask\n");
        assert!(
            out.contains("--mount=type=cache,target=/root/.cache/uv"),
            "{out}"
        );
        // Only the manager whose cache is off loses its mount: apt still gets one.
        let text = "FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN apt-get update && apt-get install -y gcc && pip install flask\n";
        let d = check(&CacheMounts, text);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].fix.is_none() && d[1].fix.is_some());
        assert!(!fix(text).contains(".cache/pip"));
    }

    #[test]
    fn cleanup_joined_otherwise_blocks_the_mount() {
        for (text, kept) in [
            (
                "FROM debian\nRUN apt-get update; rm -rf /var/lib/apt/lists/*\n",
                "rm -rf /var/lib/apt/lists/*",
            ),
            (
                "FROM debian\nRUN apt-get update && rm -rf /var/lib/apt/lists/* || true\n",
                "rm -rf /var/lib/apt/lists/*",
            ),
            (
                "FROM debian\nRUN apt-get update && (rm -rf /var/lib/apt/lists/*)\n",
                "rm -rf /var/lib/apt/lists/*",
            ),
        ] {
            let d = check(&CacheMounts, text);
            assert!(d[0].fix.is_none(), "{text}");
            assert!(
                d[0].message.contains(&format!(
                    "(no automatic fix: `{kept}` would empty the cache mount on every build"
                )),
                "{text}: {}",
                d[0].message
            );
        }
        // Not the manager's own cache: apk's index folder is not under /etc/apk/cache.
        let out = fix("FROM alpine\nRUN apk add curl && rm -rf /var/cache/apk/*\n");
        assert!(
            out.ends_with("apk add curl && rm -rf /var/cache/apk/*\n"),
            "{out}"
        );
    }

    #[test]
    fn safe_only_with_buildkit_and_without_prepare() {
        let pip = "FROM python:3.12\nRUN pip install flask\n";
        let apt = "FROM debian\nRUN apt-get update\n";
        let applicability = |text: &str, buildkit: bool| {
            check_with(text, &TargetFacts { buildkit })[0]
                .fix
                .as_ref()
                .unwrap()
                .applicability
        };
        assert_eq!(applicability(pip, false), Applicability::Unsafe);
        assert_eq!(applicability(pip, true), Applicability::Safe);
        assert_eq!(applicability(apt, true), Applicability::Unsafe);
        // docker-clean already gone in an earlier RUN: not added again.
        let text = "FROM debian\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\nRUN apt-get update\n";
        assert_eq!(
            fix(text),
            format!(
                "FROM debian\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\nRUN {APT} apt-get update\n"
            )
        );
    }

    const USELESS: &str = "Remove cache cleanups that a cache mount makes useless";

    #[test]
    fn existing_mount_drops_no_cache_dir_safely() {
        let text = "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir -r requirements.txt\n";
        let d = check(&CacheMounts, text);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].message,
            "`--no-cache-dir` only empties the cache mount; remove it"
        );
        let f = d[0].fix.as_ref().unwrap();
        assert_eq!(f.title, USELESS);
        assert_eq!(f.applicability, Applicability::Safe);
        assert!(f.effect.disposable.is_empty() && f.effect.paths.is_empty());
        assert_eq!(
            fix(text),
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
        );
        // Safe whatever the target says, and a parent folder mounted covers it too.
        let text = "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache python3 -m pip install \\\n    --no-cache-dir flask\n";
        for buildkit in [false, true] {
            let d = check_with(text, &TargetFacts { buildkit });
            assert_eq!(d.len(), 1);
            let f = d[0].fix.as_ref().unwrap();
            assert_eq!(f.applicability, Applicability::Safe);
        }
        assert_eq!(
            fix(text),
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache python3 -m pip install \\\n    flask\n"
        );
        // apk's `--no-cache` beside its mount, and uv's.
        assert_eq!(
            fix(
                "FROM alpine\nRUN --mount=type=cache,target=/etc/apk/cache apk add --no-cache curl\n"
            ),
            "FROM alpine\nRUN --mount=type=cache,target=/etc/apk/cache apk add curl\n"
        );
        assert_eq!(
            fix(
                "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/uv uv pip install --no-cache --system x\n"
            ),
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/uv uv pip install --system x\n"
        );
    }

    #[test]
    fn existing_apt_mounts_drop_the_lists_cleanup_with_its_and() {
        let text = format!(
            "FROM debian\nRUN {APT} apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
        );
        let d = check(&CacheMounts, &text);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].message,
            "`rm -rf /var/lib/apt/lists/*` only empties the cache mounts; remove it"
        );
        assert_eq!(
            d[0].fix.as_ref().unwrap().applicability,
            Applicability::Safe
        );
        assert_eq!(
            fix(&text),
            format!("FROM debian\nRUN {APT} apt-get update && apt-get install -y curl\n")
        );
        // Several at once, one diagnostic; continuation lines keep their shape.
        let text = format!(
            "FROM debian\nRUN {APT} apt-get update \\\n    && apt-get install -y curl \\\n    && apt-get clean \\\n    && rm -fr /var/lib/apt/lists/*\nRUN --mount=type=cache,target=/root/.npm npm ci && npm cache clean --force\n"
        );
        let d = check(&CacheMounts, &text);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].message,
            "`apt-get clean` and `rm -fr /var/lib/apt/lists/*` only empty the cache mounts; remove them"
        );
        assert_eq!(
            d[1].message,
            "`npm cache clean --force` only empties the cache mount; remove it"
        );
        assert_eq!(
            converges(&text),
            format!(
                "FROM debian\nRUN {APT} apt-get update \\\n    && apt-get install -y curl\nRUN --mount=type=cache,target=/root/.npm npm ci\n"
            )
        );
    }

    #[test]
    fn cleanups_outside_the_mount_or_of_the_mount_point_stay() {
        for text in [
            // apk's index folder is not under /etc/apk/cache.
            "FROM alpine\nRUN --mount=type=cache,target=/etc/apk/cache apk add curl && rm -rf /var/cache/apk/*\n",
            // rm of the mount point itself: the build fails already; not this fix's business.
            "FROM node:22\nRUN --mount=type=cache,target=/root/.npm npm ci && rm -rf /root/.npm\n",
            // Not joined by `&&`, or not at the top level.
            "FROM node:22\nRUN --mount=type=cache,target=/root/.npm npm ci; npm cache clean --force\n",
            "FROM node:22\nRUN --mount=type=cache,target=/root/.npm npm ci && (npm cache clean --force)\n",
            // Only one of apt's folders is cache-mounted (a tmpfs is not a cache mount).
            "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt --mount=type=tmpfs,target=/var/lib/apt apt-get update && apt-get clean\n",
            // No command of the manager downloads here.
            "FROM node:22\nRUN --mount=type=cache,target=/root/.npm npm run build && npm cache clean --force\n",
            // The cache folder is unknown (USER without HOME).
            "FROM python:3.12\nUSER 1000\nRUN --mount=type=cache,target=/cache,uid=1000 pip install --no-cache-dir x\n",
        ] {
            assert!(check(&CacheMounts, text).is_empty(), "{text}");
        }
        // The mount-point rm is kept while the other cleanups go.
        let text = "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir x && rm -rf /root/.cache/pip\n";
        assert_eq!(
            fix(text),
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install x && rm -rf /root/.cache/pip\n"
        );
        // A mount of the parent folder: the rm deletes only what is inside it.
        let text = "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache pip install x && rm -rf /root/.cache/pip\n";
        assert_eq!(
            fix(text),
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache pip install x\n"
        );
    }

    #[test]
    fn new_and_existing_mounts_in_one_run_get_separate_fixes() {
        let text = "FROM node:22\nRUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir x && npm ci && npm cache clean --force\n";
        let d = check(&CacheMounts, text);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].fix.as_ref().unwrap().applicability,
            Applicability::Unsafe
        );
        assert!(d[0].message.starts_with("npm downloads into /root/.npm"));
        let f = d[1].fix.as_ref().unwrap();
        assert_eq!(
            (f.title.as_str(), f.applicability),
            (USELESS, Applicability::Safe)
        );
        assert_eq!(
            d[1].message,
            "`--no-cache-dir` only empties the cache mount; remove it"
        );
        assert_eq!(
            converges(text),
            "FROM node:22\nRUN --mount=type=cache,target=/root/.npm --mount=type=cache,target=/root/.cache/pip pip install x && npm ci\n"
        );
    }

    /// The default rules through the real fix loop: round 1 adds the mounts while
    /// apt-lists-cleanup / pip-no-cache add their cleanup; round 2 removes it.
    #[test]
    fn fix_loop_with_the_hygiene_rules_ends_without_the_cleanup() {
        let options = FixOptions::new(true);
        let selection = crate::Selection::defaults();
        let check = |f: &dockopt_syntax::Dockerfile| crate::check_file(f, &selection);
        for (text, expected) in [
            (
                "FROM debian\nRUN apt-get update && apt-get -y upgrade\n".to_string(),
                format!(
                    "FROM debian\nRUN {APT} rm -f /etc/apt/apt.conf.d/docker-clean && apt-get update && apt-get -y upgrade\n"
                ),
            ),
            (
                "FROM python:3.12\nRUN pip install flask\n".to_string(),
                "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n"
                    .to_string(),
            ),
        ] {
            let outcome = fix_loop(&text, &options, &check);
            assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
            assert_eq!(outcome.text, expected);
            assert!(
                outcome
                    .applied
                    .iter()
                    .any(|a| a.rule == "cache-mounts" && a.title == USELESS && a.round == 2),
                "{:?}",
                outcome.applied
            );
            assert_idempotent(&outcome.text, &options, &check);
        }
    }

    #[test]
    fn clean_runs_with_a_mount_stay_quiet() {
        for text in [
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install x && echo done\n".to_string(),
            format!("FROM debian\nRUN {APT} apt-get update && apt-get install -y curl\n"),
            "FROM alpine\nRUN --mount=type=cache,target=/etc/apk/cache,sharing=locked apk add curl\n".to_string(),
            "FROM node:22\nUSER node\nRUN --mount=type=cache,target=/home/node/.npm,uid=1000 npm ci\n".to_string(),
        ] {
            assert!(check(&CacheMounts, &text).is_empty(), "{text}");
            assert_eq!(converges(&text), text);
        }
    }

    fn converges(text: &str) -> String {
        let options = FixOptions::new(true);
        let check = |f: &dockopt_syntax::Dockerfile| {
            CacheMounts.check(&CheckContext {
                file: f,
                knowledge: Knowledge::get(),
                build_context: None,
                options: &crate::RuleOptions::default(),
                target: &TargetFacts::default(),
            })
        };
        let outcome = fix_loop(text, &options, &check);
        assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
        assert_idempotent(&outcome.text, &options, &check);
        outcome.text
    }

    #[test]
    fn fixtures_fire_converge_and_stay_fixed() {
        let fires = include_str!("../../fixtures/cache-mounts/fires.Dockerfile");
        let quiet = include_str!("../../fixtures/cache-mounts/does-not-fire.Dockerfile");
        assert!(!check(&CacheMounts, fires).is_empty());
        assert!(
            check(&CacheMounts, quiet).is_empty(),
            "{:?}",
            check(&CacheMounts, quiet)
        );
        let out = converges(fires);
        assert_ne!(out, fires);
        assert!(
            check(&CacheMounts, &out).iter().all(|d| d.fix.is_none()),
            "{out}"
        );
        assert_eq!(converges(quiet), quiet);
    }
}
