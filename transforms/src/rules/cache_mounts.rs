use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_shell::{Command, ListItem, Node, OpKind, Script, Word};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, Stage, TextRange};

use crate::knowledge::{CacheDir, PackageManager};
use crate::package::{cache_path, recognize};
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
    /// and variables such as `PIP_CACHE_DIR` or `GOPATH`), which flags and cleanup commands
    /// only fight the cache, and what must run first all come from
    /// `knowledge/package-managers.toml`. A folder already under a `--mount` of the RUN gets
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
    /// Cleanup commands (`rm -rf /var/lib/apt/lists/*`, `apt-get clean`, `npm cache clean
    /// --force`, `pip cache purge`, ...) are matched word for word against the knowledge
    /// (as written, so a quoted `'/var/lib/apt/lists/*'` is not a glob and does not match; a
    /// `*` entry matches any one word; short-option clusters match in any order, `-rf` ==
    /// `-fr`). They are removed only when they run at the top level of the RUN, joined by
    /// `&&`, and when what they delete is under a cache mount after the fix; the removal
    /// takes one adjacent `&&` with it, so `a && rm -rf x && b` becomes `a && b`. Beside a
    /// mount that is already there, only a cleanup that deletes what is inside the mount
    /// goes: `rm -rf /root/.npm` on a `/root/.npm` mount deletes the mount point itself
    /// (rm fails on it, so the build already fails) and is left as it is.
    ///
    /// No diagnostic for exec-form or heredoc RUNs, scripts dockopt cannot parse, stages
    /// whose SHELL is not a POSIX shell, Windows base images, or RUNs whose `--mount` targets
    /// use variables. Reported without a fix: a cache folder that cannot be known (HOME or
    /// the manager's variable comes from another variable), a non-root USER whose uid cannot
    /// be found (the mount would be owned by root and the install would fail with permission
    /// denied), and a RUN that `rm`s the folder that would become the mount point. An ENV
    /// that turns the cache off (`PIP_NO_CACHE_DIR`) is named in the message; it lives in
    /// another instruction and is not removed.
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
}

impl Need<'_> {
    /// The folder for messages: the known path, else the knowledge's default.
    fn shown(&self) -> &str {
        self.target.as_deref().unwrap_or(&self.cache.target)
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
    if let Some(path) = cache_path(cache, state) {
        return normalize(&path).ok_or_else(|| format!("{path} is not an absolute path"));
    }
    let from_variable = |var: &str| format!("{var} is set from another variable");
    if let Some(var) = cache.env.iter().find(|v| state.is_set(v)) {
        return Err(from_variable(var));
    }
    if cache.gopath.is_some() && state.is_set("GOPATH") {
        return Err(from_variable("GOPATH"));
    }
    if cache.xdg.is_some() && state.is_set("XDG_CACHE_HOME") {
        return Err(from_variable("XDG_CACHE_HOME"));
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
                // Missing folders, each once; an unknown folder only when the RUN has no
                // cache mount at all (it may be the one already there).
                let mut missing: Vec<&Need<'_>> = Vec::new();
                for need in &run.needs {
                    let wanted = match &need.target {
                        Ok(t) => !covered(t) && !missing.iter().any(|m| m.target.as_ref() == Ok(t)),
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
                if !missing.is_empty() {
                    let mut message = describe(&missing);
                    for manager in managers_of(&missing) {
                        for var in manager.redundant_env.iter().filter(|v| run.state.is_set(v)) {
                            let _ = write!(
                                message,
                                "; ENV {var} turns {}'s cache off: remove it for the mount to help",
                                manager.name
                            );
                        }
                    }
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
    for (i, command) in script.commands().into_iter().enumerate() {
        let Some(package) = recognize(ctx.knowledge, command) else {
            continue;
        };
        if !package.downloads() {
            continue;
        }
        downloads.push((i, package.manager));
        for cache in &package.manager.caches {
            if !needs.iter().any(|n| std::ptr::eq(n.cache, cache)) {
                needs.push(Need {
                    manager: package.manager,
                    cache,
                    target: locate(cache, &state),
                });
            }
        }
    }
    if needs.is_empty() {
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
    })
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
    let Removal {
        edits: removal_edits,
        items: removed,
        paths: removed_paths,
        ..
    } = removal(ctx.file, run, &managers, &|folder, _| is_mounted(folder));
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

    // Cleanup commands at the top level, joined by `&&`.
    let home = run.state.home();
    let cleaned = |command: &Command| -> Option<Vec<String>> {
        managers.iter().find_map(|m| {
            let entry = m.cleanup.iter().find(|e| is_cleanup(e, command))?;
            let mut paths = Vec::new();
            for word in &entry[1..] {
                if word.starts_with('/') || word.starts_with('~') {
                    let (folder, inside) = path_argument(word, home.as_deref())?;
                    if !mounted(&folder, inside) {
                        return None;
                    }
                    paths.push(if inside {
                        format!("{}/**", folder.trim_end_matches('/'))
                    } else {
                        folder
                    });
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
    Removal {
        edits,
        labels,
        items: removed,
        paths,
    }
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
                "`rm -rf /root/.npm` would delete the mount point /root/.npm",
            ),
            (
                "FROM python:3.12\nRUN pip install x && rm -rf /root/.cache/*\n",
                "would delete the mount point /root/.cache/pip",
            ),
        ] {
            let d = check(&CacheMounts, text);
            assert_eq!(d.len(), 1, "{text}");
            assert!(d[0].fix.is_none(), "{text}");
            assert!(d[0].message.contains(why), "{text}: {}", d[0].message);
        }
    }

    #[test]
    fn env_that_turns_the_cache_off_is_named() {
        let d = check(
            &CacheMounts,
            "FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
        );
        assert!(
            d[0].message.contains("ENV PIP_NO_CACHE_DIR"),
            "{}",
            d[0].message
        );
        assert!(d[0].fix.is_some());
    }

    #[test]
    fn cleanup_joined_otherwise_is_kept() {
        for (text, kept) in [
            (
                "FROM debian\nRUN apt-get update; rm -rf /var/lib/apt/lists/*\n",
                "; rm -rf /var/lib/apt/lists/*",
            ),
            (
                "FROM debian\nRUN apt-get update && rm -rf /var/lib/apt/lists/* || true\n",
                "&& rm -rf /var/lib/apt/lists/* || true",
            ),
            (
                "FROM debian\nRUN apt-get update && (rm -rf /var/lib/apt/lists/*)\n",
                "(rm -rf /var/lib/apt/lists/*)",
            ),
        ] {
            let out = fix(text);
            assert!(out.contains(kept), "{out}");
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
