use std::fmt::Write as _;

use dockopt_fix::{ConfigKey, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_syntax::{EdgeKind, Instruction, InstructionKind, ItemKind, Stage, StageRef};

use crate::image::{self, Family, ImageFacts, NewUser};
use crate::manifest::{glob_component, matches_pattern};
use crate::paths::{absolute, indent_of, under};
use crate::rules::keyword_like;
use crate::stage_state::stage_chain;
use crate::stage_state::{StageState, stage_states};
use crate::{
    BuildContext, CheckContext, EntryKind, FixAvailability, Knowledge, Rule, RuleMeta, declare_rule,
};

declare_rule! {
    /// ## What it does
    /// Finds Dockerfiles whose final stage runs its CMD or ENTRYPOINT as root (no `USER`
    /// in the stage or in the stages it is built FROM, or a last `USER root` / `USER 0`)
    /// and makes it run as a non-root user. Only the final stage counts: it is the image
    /// that runs; build stages may stay root.
    ///
    /// When the base image ships a non-root user (`node` in the node images, `nonroot` in
    /// distroless, `app` in .NET 8 and later), the fix switches to it. Otherwise it creates
    /// a system user and group `app` (uid and gid 10001, home /home/app) with the command
    /// `knowledge/images.toml` gives for the image's family: shadow's `groupadd`/`useradd`
    /// on Debian, Ubuntu and UBI, BusyBox `addgroup`/`adduser` on Alpine. Base images whose
    /// own config already runs as a non-root user (distroless `:nonroot`, .NET chiseled,
    /// nginx-unprivileged) need nothing.
    ///
    /// The code stays root's: no COPY or ADD gets `--chown`, so the application can read
    /// the program it runs but not rewrite it. The user gets only the folders it must write
    /// in, made with `mkdir -p` and given to it with `chown -R`:
    /// - every folder a `VOLUME` of the final stage declares, but /tmp and /var/tmp, which
    ///   anyone may write in;
    /// - folders of the build context, where a COPY puts them under the WORKDIR (straight
    ///   from the context, or through a stage that copied it), whose names
    ///   `knowledge/writable.toml` lists as run-time writes: `tmp`, `log`, `logs`,
    ///   `storage`, `media`, `uploads`, `data`, `cache`, ...;
    /// - a framework's own run-time folders, made even when the context lacks them (a
    ///   `.dockerignore` may leave them out): Rails' `log`, `storage` and `tmp`, and `db`
    ///   when config/database.yml keeps SQLite files there; Next.js' `.next/cache`.
    ///
    /// Its HOME already is its own (useradd makes it; an image's user has one). Folders
    /// the Dockerfile already gives that user (`chown`, `COPY --chown`) are left as they are.
    ///
    /// Reported without a fix, with the reason: an EXPOSE of a port below 1024; a base
    /// image whose entrypoint drops root by itself (postgres, redis, mysql, mariadb, mongo,
    /// rabbitmq, php's apache and fpm variants); an ENTRYPOINT or CMD script from the build
    /// context that drops root by itself (`gosu`, `su-exec`, `setpriv --reuid`, `runuser`,
    /// `chroot --userspec`, `s6-setuidgid`, `su -c`: `[needs_root.switch_user]` in
    /// `knowledge/images.toml`), which fails under a USER; a CMD or ENTRYPOINT that runs
    /// something needing root (`sudo`, `su`, `gosu`, `chown`, `chmod` on system folders,
    /// package managers, `service`, `systemctl`, nginx, httpd, apache2, ...); a RUN, USER
    /// or `COPY --chown` after the CMD or ENTRYPOINT; a non-root USER in effect where the
    /// user would be created or a folder given to it; a stage that already creates a user
    /// with `useradd`/`adduser`, or gives files to another user with `chown` or
    /// `COPY --chown` (switch to that one); a VOLUME set by a variable, not absolute,
    /// declared in an earlier stage, or written by a COPY after it; an application that
    /// writes beside its code (Django's default SQLite database in the project folder); a
    /// base image dockopt does not know, one set by a variable, one without a shell or
    /// without user tools (scratch, ubi-minimal) and no user of its own, or without a
    /// shell when a folder must be given to the user; a stage whose SHELL is not a POSIX
    /// shell. Windows images are skipped.
    ///
    /// ## Why is this bad?
    /// A process that runs as root in a container is root on the container's files and,
    /// once it escapes (a kernel or runtime bug, a mounted Docker socket, a privileged
    /// container), can be root on the host. A non-root user limits what a compromised
    /// application can do, and platforms such as Kubernetes with `runAsNonRoot` or
    /// OpenShift refuse images that run as root.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:22-slim
    /// WORKDIR /app
    /// COPY package.json package-lock.json ./
    /// RUN npm ci --omit=dev
    /// COPY . .
    /// ENV DB_PATH=/data/app.db
    /// VOLUME /data
    /// CMD ["node", "server.js"]
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// FROM node:22-slim
    /// WORKDIR /app
    /// COPY package.json package-lock.json ./
    /// RUN npm ci --omit=dev
    /// COPY . .
    /// ENV DB_PATH=/data/app.db
    /// RUN mkdir -p /data && chown -R node:node /data
    /// VOLUME /data
    /// USER node
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// On an image without such a user (`python:3.12`) the fix adds `RUN groupadd --system
    /// --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /home/app
    /// --create-home --shell /usr/sbin/nologin app` and `USER app`; the folders are given
    /// to `app:app` in the same RUN.
    ///
    /// `USER` goes right before the first CMD, ENTRYPOINT or HEALTHCHECK after the last RUN
    /// (and the last USER) of the stage. The RUN that gives folders to the user goes right
    /// before `USER`, after every RUN and COPY, so what they wrote in those folders is the
    /// user's too; volumes are given in a RUN before the first VOLUME (a builder may drop
    /// what a later step changes in a declared volume). A created user is made at the top
    /// of the stage when the stage copies files (before its first COPY or ADD, where a
    /// source edit does not make it again, and where other fixes moving a COPY do not
    /// change its place), else in the first of those RUNs, else right before `USER`. Inserted lines go above the comment
    /// lines of the instruction they precede, and follow the file's keyword case, escape
    /// character, line ending and indentation.
    ///
    /// ## Fix safety
    /// Unsafe: the image's user changes. The application can no longer write outside its
    /// HOME and the folders it was given, change system files, or bind ports below 1024 on
    /// runtimes that do not allow it. Its code, and what RUNs made (`npm ci`, `pip
    /// install`, a build's output), stay root's and read-only to it, and so does the
    /// WORKDIR folder itself: the application cannot create files directly in it. An
    /// application that writes anywhere else under the WORKDIR (a file next to the code, a
    /// folder dockopt does not know of) fails there at run time; give it a folder of its
    /// own (a VOLUME, or a `RUN mkdir` + `chown` of just that folder). Python cannot write
    /// `__pycache__` beside the sources: it compiles them in memory on each start instead,
    /// silently (installed packages were compiled at install time). `chown -R` copies the
    /// files already in the given folders into one more layer. Volumes written by an
    /// earlier root image keep their owner.
    ///
    /// The declared effect is the `User` config and the given folders (`/data/**`, their
    /// owner and their new existence); for a created user also /etc/passwd, /etc/group,
    /// /etc/shadow, /etc/gshadow, their `-` backups (/etc/passwd- ..., which shadow's tools
    /// rewrite), and /home/app (made from /etc/skel). `useradd --system` writes nothing else
    /// (not lastlog, faillog or /etc/subuid), and warns, harmlessly, that uid 10001 is above
    /// SYS_UID_MAX.
    ///
    /// ## References
    /// hadolint DL3002 (last USER should not be root). Dockerfile reference: `USER`,
    /// `VOLUME` ("Changing the volume from within the Dockerfile"); Docker docs "Building
    /// best practices" (USER). CIS Docker Benchmark 4.1 (Ensure that a user for the
    /// container has been created).
    pub struct NonRootUser {
        name: "non-root-user",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// The user the fix creates when the image has none.
const NEW_USER: NewUser<'static> = NewUser {
    user: "app",
    group: "app",
    uid: 10001,
    gid: 10001,
    home: "/home/app",
};

const MESSAGE: &str =
    "the final stage runs as root; its CMD/ENTRYPOINT should run as a non-root user";

/// `PATH` of the Debian-based official images, where a bare program name is looked up when
/// the stage does not set `PATH` itself.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How deep `COPY --from` is followed back to the build context.
const MAX_COPY_DEPTH: usize = 4;

/// The user the fix switches to.
enum Account {
    /// The image's own user (its group has the same name and id) and its uid.
    Image(String, Option<u32>),
    /// `NEW_USER`, created with this command.
    Created(String),
}

impl Account {
    fn user(&self) -> &str {
        match self {
            Self::Image(user, _) => user,
            Self::Created(_) => NEW_USER.user,
        }
    }

    fn uid(&self) -> Option<u32> {
        match self {
            Self::Image(_, uid) => *uid,
            Self::Created(_) => Some(NEW_USER.uid),
        }
    }

    /// The `user:group` that `chown` gives folders to.
    fn owner(&self) -> String {
        match self {
            Self::Image(user, _) => format!("{user}:{user}"),
            Self::Created(_) => format!("{}:{}", NEW_USER.user, NEW_USER.group),
        }
    }

    /// Whether `user` (a name or a uid, as `chown` takes it) is this account.
    fn is(&self, user: &str) -> bool {
        user == self.user() || self.uid().is_some_and(|uid| user == uid.to_string())
    }
}

fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// `words` (a command line) past wrappers such as `exec` or `tini --` and their options.
fn past_wrappers<'w>(knowledge: &Knowledge, words: &'w [String]) -> &'w [String] {
    let wrappers = &knowledge.images.needs_root.wrappers;
    let mut rest = words;
    while let Some((first, tail)) = rest.split_first() {
        if !wrappers.iter().any(|w| w == base_name(first)) {
            break;
        }
        let skip = tail
            .iter()
            .take_while(|w| w.starts_with('-') || (w.contains('=') && !w.starts_with('/')))
            .count();
        rest = &tail[skip..];
    }
    rest
}

/// The first program of `words` (a command line) that needs root, past wrappers.
fn needs_root_in(knowledge: &Knowledge, words: &[String]) -> Option<String> {
    let facts = &knowledge.images.needs_root;
    let has = |list: &[String], name: &str| list.iter().any(|p| p == name);
    let (first, args) = past_wrappers(knowledge, words).split_first()?;
    let program = base_name(first);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    if has(&facts.programs, program)
        || has(&facts.owner_programs, program)
        || facts.switches_user(program, &arg_refs)
    {
        return Some(program.to_string());
    }
    if has(&facts.mode_programs, program) {
        let system = args.iter().filter(|a| !a.starts_with('-')).find(|a| {
            absolute(None, a).is_some_and(|p| facts.system_paths.iter().any(|s| under(s, &p)))
        });
        if let Some(path) = system {
            return Some(format!("{program} {path}"));
        }
    }
    None
}

/// The command lines of a shell script.
fn script_lines(script: &dockopt_shell::Script) -> Vec<Vec<String>> {
    script
        .commands()
        .into_iter()
        .map(|c| {
            c.words()
                .map(|w| w.value().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

fn is_shell(program: &str) -> bool {
    matches!(base_name(program), "sh" | "bash" | "dash" | "ash" | "zsh")
}

/// The command lines a CMD/ENTRYPOINT runs: its exec form, the script of `sh -c`, or its
/// shell form.
fn command_lines(instruction: Instruction<'_>) -> Vec<Vec<String>> {
    match instruction.json_array() {
        Some(elements) => {
            let words: Vec<String> = elements.iter().map(|e| e.value.to_string()).collect();
            let shell = words.first().is_some_and(|w| is_shell(w));
            match words.iter().position(|w| w == "-c") {
                Some(c) if shell && c + 1 < words.len() => {
                    script_lines(&dockopt_shell::parse_text(&words[c + 1]))
                }
                _ => vec![words],
            }
        }
        None => dockopt_shell::parse_instruction(instruction)
            .map(|s| script_lines(&s))
            .unwrap_or_default(),
    }
}

/// What CMD/ENTRYPOINT `instruction` runs that needs root, if anything.
fn needs_root(knowledge: &Knowledge, instruction: Instruction<'_>) -> Option<String> {
    command_lines(instruction)
        .iter()
        .find_map(|words| needs_root_in(knowledge, words))
}

/// The user a RUN of the chain creates with useradd or adduser, if any.
fn created_user(chain: &[&Stage<'_>]) -> Option<String> {
    for stage in chain.iter().rev() {
        for &instruction in &stage.instructions {
            if instruction.kind() != InstructionKind::Run || instruction.is_exec_form() {
                continue;
            }
            let Some(script) = dockopt_shell::parse_instruction(instruction) else {
                continue;
            };
            for command in script.commands() {
                if matches!(command.program(), Some("useradd" | "adduser")) {
                    let name = command
                        .positionals()
                        .filter_map(|w| w.value())
                        .filter(|v| !v.is_empty())
                        .last()
                        .unwrap_or("?");
                    return Some(name.to_string());
                }
            }
        }
    }
    None
}

/// The first EXPOSEd port below 1024 in the chain.
fn low_port(chain: &[&Stage<'_>]) -> Option<u32> {
    chain
        .iter()
        .flat_map(|s| s.instructions.iter())
        .filter(|i| i.kind() == InstructionKind::Expose)
        .flat_map(|i| i.words())
        .filter_map(|w| {
            let digits: String = w.value.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        })
        .find(|&p| p > 0 && p < 1024)
}

/// The WORKDIR in effect before each instruction of the chain (oldest stage first), by
/// instruction index.
fn workdirs(chain: &[&Stage<'_>]) -> Vec<(usize, Option<String>)> {
    let mut out = Vec::new();
    let mut workdir: Option<String> = None;
    for stage in chain.iter().rev() {
        for &instruction in &stage.instructions {
            out.push((instruction.index(), workdir.clone()));
            if instruction.kind() == InstructionKind::Workdir {
                workdir = instruction
                    .words()
                    .first()
                    .and_then(|w| absolute(Some(workdir.as_deref().unwrap_or("/")), w.value));
            }
        }
    }
    out
}

/// The WORKDIR in effect at the instruction with file index `index` (`None`: none set).
fn workdir_at(workdirs: &[(usize, Option<String>)], index: usize) -> Option<String> {
    workdirs
        .iter()
        .find(|(i, _)| *i == index)
        .and_then(|(_, w)| w.clone())
}

/// The sources and the destination of a COPY or ADD, as written; `None` for heredoc
/// sources.
fn copy_args(instruction: Instruction<'_>) -> Option<(Vec<String>, String)> {
    if instruction.heredocs().len() > 0 {
        return None;
    }
    let mut words: Vec<String> = instruction
        .words()
        .iter()
        .map(|w| w.value.to_string())
        .collect();
    let dest = words.pop()?;
    (!words.is_empty()).then_some((words, dest))
}

/// A COPY source as a context path: no `./` or leading `/`, `""` for the root; `None` for
/// URLs, git sources and variables.
fn context_path(source: &str) -> Option<String> {
    if source.contains("://") || source.starts_with("git@") || source.contains('$') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in source.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn join(folder: &str, rest: &str) -> String {
    match (folder.trim_end_matches('/'), rest.trim_start_matches('/')) {
        ("", r) => r.to_string(),
        (f, "") => f.to_string(),
        (f, r) => format!("{f}/{r}"),
    }
}

/// `rest` (relative) inside the image folder `folder`.
fn image_join(folder: &str, rest: &str) -> String {
    absolute(Some(folder), rest).unwrap_or_else(|| format!("{folder}/{rest}"))
}

/// `inner` relative to `outer` (both absolute, `inner` under `outer`).
fn relative<'p>(outer: &str, inner: &'p str) -> &'p str {
    if outer == "/" {
        inner.trim_start_matches('/')
    } else {
        inner[outer.len()..].trim_start_matches('/')
    }
}

fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// A context file matching `pattern` (a `*` matches one path part), from the files Docker
/// sends.
fn context_file(context: &BuildContext, pattern: &str) -> Option<String> {
    match context.files() {
        Some(files) if has_glob(pattern) => files
            .iter()
            .find(|f| matches_pattern(pattern, &f.path))
            .map(|f| f.path.clone()),
        Some(files) => files.contains(pattern).then(|| pattern.to_string()),
        None => None,
    }
}

/// Which context folder (`""` the root) each folder of the image of stage `index` comes
/// from: `(context folder, image folder)`, for COPYs straight from the context and through
/// `COPY --from` of another stage that copied it.
fn copied_folders(
    context: &BuildContext,
    file: &dockopt_syntax::Dockerfile,
    stages: &[Stage<'_>],
    index: usize,
    depth: usize,
) -> Vec<(String, String)> {
    let chain = stage_chain(stages, index);
    let workdirs = workdirs(&chain);
    let graph = file.stage_graph();
    let mut out = Vec::new();
    for stage in chain.iter().rev() {
        for &instruction in &stage.instructions {
            if !matches!(
                instruction.kind(),
                InstructionKind::Copy | InstructionKind::Add
            ) {
                continue;
            }
            let Some((sources, dest)) = copy_args(instruction) else {
                continue;
            };
            let cwd = workdir_at(&workdirs, instruction.index());
            let Some(dest) = absolute(Some(cwd.as_deref().unwrap_or("/")), &dest) else {
                continue;
            };
            if instruction.flag("from").is_none() {
                for source in &sources {
                    if let Some(path) = context_path(source).filter(|p| !has_glob(p))
                        && context.kind(&path) == Some(EntryKind::Folder)
                    {
                        out.push((path, dest.clone()));
                    }
                }
                continue;
            }
            // `COPY --from=<stage> SRC DEST`: what that stage copied from the context.
            let from = graph.edges.iter().find_map(|e| match e.target {
                StageRef::Stage(s) if e.kind == EdgeKind::CopyFrom => {
                    (e.instruction == instruction.index()).then_some(s)
                }
                _ => None,
            });
            let Some(from) = from.filter(|&s| s < stages.len() && depth < MAX_COPY_DEPTH) else {
                continue;
            };
            let inner = copied_folders(context, file, stages, from, depth + 1);
            for source in &sources {
                let Some(source) = absolute(Some("/"), source).filter(|s| !has_glob(s)) else {
                    continue;
                };
                for (folder, at) in &inner {
                    if under(at, &source) {
                        let path = join(folder, relative(at, &source));
                        if context.kind(&path) == Some(EntryKind::Folder) {
                            out.push((path, dest.clone()));
                        }
                    } else if under(&source, at) {
                        out.push((folder.clone(), image_join(&dest, relative(&source, at))));
                    }
                }
            }
        }
    }
    out
}

/// The context file that the program `word` of a CMD/ENTRYPOINT is, when a COPY of the
/// chain put it where the program is looked up.
fn context_script(
    context: &BuildContext,
    chain: &[&Stage<'_>],
    workdirs: &[(usize, Option<String>)],
    cwd: Option<&str>,
    path_var: Option<&str>,
    word: &str,
) -> Option<String> {
    if word.contains('$') || word.is_empty() {
        return None;
    }
    let candidates: Vec<String> = if word.contains('/') {
        absolute(Some(cwd.unwrap_or("/")), word)
            .into_iter()
            .collect()
    } else {
        path_var
            .unwrap_or(DEFAULT_PATH)
            .split(':')
            .filter(|dir| dir.starts_with('/'))
            .map(|dir| image_join(dir, word))
            .collect()
    };
    for path in &candidates {
        // The last COPY that put something at `path` wins.
        for stage in chain {
            for &instruction in stage.instructions.iter().rev() {
                if !matches!(
                    instruction.kind(),
                    InstructionKind::Copy | InstructionKind::Add
                ) || instruction.flag("from").is_some()
                {
                    continue;
                }
                let Some((sources, dest_raw)) = copy_args(instruction) else {
                    continue;
                };
                let copy_cwd = workdir_at(workdirs, instruction.index());
                let Some(dest) = absolute(Some(copy_cwd.as_deref().unwrap_or("/")), &dest_raw)
                else {
                    continue;
                };
                let into_folder = dest_raw.ends_with('/') || sources.len() > 1;
                let name = path.rsplit('/').next().unwrap_or_default();
                let parent = path.rsplit_once('/').map_or("/", |(p, _)| p);
                let parent = if parent.is_empty() { "/" } else { parent };
                for source in &sources {
                    let Some(source) = context_path(source) else {
                        continue;
                    };
                    let found = if has_glob(&source) {
                        let (dir, pattern) = source.rsplit_once('/').unwrap_or(("", &source));
                        (parent == dest && glob_component(pattern, name)).then(|| join(dir, name))
                    } else {
                        match context.kind(&source) {
                            Some(EntryKind::Folder) if under(&dest, path) && *path != dest => {
                                Some(join(&source, relative(&dest, path)))
                            }
                            // Into `dest/` when it is a folder, which the image may
                            // already have even without a trailing `/`.
                            Some(EntryKind::File) => ((!into_folder && dest == *path)
                                || image_join(&dest, base_name(&source)) == *path)
                                .then(|| source.clone()),
                            _ => None,
                        }
                    };
                    if let Some(found) = found.filter(|f| {
                        context.kind(f) == Some(EntryKind::File) && !context.is_excluded(f)
                    }) {
                        return Some(found);
                    }
                }
            }
        }
    }
    None
}

/// The program in `text` (a shell script) that runs a command as another user, if any.
fn switch_user_program(knowledge: &Knowledge, text: &str) -> Option<String> {
    let facts = &knowledge.images.needs_root;
    let in_line = |words: &[&str]| {
        words.iter().enumerate().find_map(|(i, w)| {
            let program = base_name(w);
            facts
                .switches_user(program, &words[i + 1..])
                .then(|| program.to_string())
        })
    };
    let script = dockopt_shell::parse_text(text);
    let lines = script_lines(&script);
    let found = lines.iter().find_map(|line| {
        let words: Vec<&str> = line.iter().map(String::as_str).collect();
        in_line(&words)
    });
    if found.is_some() || !script.is_opaque() {
        return found;
    }
    // A script the shell layer cannot read in full: its words, line by line.
    text.lines().find_map(|line| {
        let code = line.split(" #").next().unwrap_or(line);
        if code.trim_start().starts_with('#') {
            return None;
        }
        let words: Vec<&str> = code
            .split(|c: char| c.is_whitespace() || ";|&()`\"'".contains(c))
            .filter(|w| !w.is_empty())
            .collect();
        in_line(&words)
    })
}

/// What the rule found about the final stage, when it fires.
struct Finding<'a> {
    stages: &'a [Stage<'a>],
    stage: &'a Stage<'a>,
    chain: Vec<&'a Stage<'a>>,
    base: &'a str,
    facts: Option<ImageFacts>,
    /// Position in `stage.instructions` of the first CMD/ENTRYPOINT.
    first_cmd: usize,
    /// The state before each instruction of the file.
    states: Vec<StageState>,
    /// The WORKDIR before each instruction of the chain.
    workdirs: Vec<(usize, Option<String>)>,
}

impl Rule for NonRootUser {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let stages = ctx.file.stages();
        let Some(stage) = stages.last() else {
            return Vec::new();
        };
        let chain = stage_chain(&stages, stage.index);
        let Some(base) = chain.last().and_then(|s| s.base()) else {
            return Vec::new();
        };
        if crate::image::is_windows_reference(base) {
            return Vec::new();
        }
        let Some(first_cmd) = stage
            .instructions
            .iter()
            .position(|i| matches!(i.kind(), InstructionKind::Cmd | InstructionKind::Entrypoint))
        else {
            return Vec::new();
        };
        let facts = image::lookup(ctx.knowledge, base);
        let states = stage_states(ctx.file);
        let mut user = states.get(stage.from.index()).and_then(|s| s.user.clone());
        for &instruction in &stage.instructions {
            if instruction.kind() == InstructionKind::User {
                let text = instruction.args_text();
                let name = text.split(':').next().unwrap_or(text).trim();
                user = (!name.is_empty()).then(|| name.to_string());
            }
        }
        let root = match user.as_deref() {
            None => !facts.as_ref().is_some_and(|f| f.default_user_nonroot),
            Some(name) => name == "root" || name == "0",
        };
        if !root {
            return Vec::new();
        }
        let cmd = stage.instructions[first_cmd];
        let mut diagnostic = Diagnostic::new(
            Self::META.name,
            cmd.keyword_range().cover(cmd.args_range()),
            MESSAGE,
        );
        let workdirs = workdirs(&chain);
        let finding = Finding {
            stages: &stages,
            stage,
            chain,
            base,
            facts,
            first_cmd,
            states,
            workdirs,
        };
        match plan(ctx, &finding) {
            Ok(fix) => diagnostic = diagnostic.with_fix(fix),
            Err(why) => {
                let _ = write!(diagnostic.message, " (no automatic fix: {why})");
            }
        }
        vec![diagnostic]
    }
}

/// The ENTRYPOINT or CMD script from the build context that switches users by itself:
/// why a USER would break it.
fn self_dropping_script(ctx: &CheckContext<'_>, finding: &Finding<'_>) -> Option<String> {
    let context = ctx.build_context?;
    for stage in &finding.chain {
        for &instruction in stage.instructions.iter().rev() {
            let what = match instruction.kind() {
                InstructionKind::Entrypoint => "the entrypoint",
                InstructionKind::Cmd => "the CMD script",
                _ => continue,
            };
            let state = finding.states.get(instruction.index());
            let cwd = workdir_at(&finding.workdirs, instruction.index());
            for line in command_lines(instruction) {
                let words = past_wrappers(ctx.knowledge, &line);
                let Some(first) = words.first() else {
                    continue;
                };
                // `sh script.sh` runs the script; `sh -c` was split into lines already.
                let program = if is_shell(first) {
                    match words[1..].iter().find(|w| !w.starts_with('-')) {
                        Some(script) => script,
                        None => continue,
                    }
                } else {
                    first
                };
                let Some(script) = context_script(
                    context,
                    &finding.chain,
                    &finding.workdirs,
                    cwd.as_deref(),
                    state.and_then(|s| s.var("PATH")),
                    program,
                ) else {
                    continue;
                };
                let Some(text) = context.read_text(&script) else {
                    continue;
                };
                if let Some(tool) = switch_user_program(ctx.knowledge, &text) {
                    return Some(format!(
                        "{what} `{script}` drops privileges with `{tool}` itself; a USER would make it fail"
                    ));
                }
            }
        }
    }
    None
}

/// Why no fix can be offered, before the user is chosen.
fn blocker(ctx: &CheckContext<'_>, finding: &Finding<'_>) -> Option<String> {
    let instructions = &finding.stage.instructions;
    for &instruction in &instructions[finding.first_cmd + 1..] {
        let why = match instruction.kind() {
            InstructionKind::Run => "a RUN comes after the CMD/ENTRYPOINT; move it before them",
            InstructionKind::User => "a USER comes after the CMD/ENTRYPOINT",
            InstructionKind::Copy | InstructionKind::Add if instruction.flag("chown").is_some() => {
                "a COPY --chown comes after the CMD/ENTRYPOINT; move it before them"
            }
            _ => continue,
        };
        return Some(why.to_string());
    }
    for &instruction in instructions {
        if !matches!(
            instruction.kind(),
            InstructionKind::Cmd | InstructionKind::Entrypoint
        ) {
            continue;
        }
        if let Some(program) = needs_root(ctx.knowledge, instruction) {
            return Some(format!(
                "{} runs `{program}`, which needs root",
                instruction.kind().name()
            ));
        }
    }
    // Before the advice to switch to a user of the stage: such a script switches itself.
    if let Some(why) = self_dropping_script(ctx, finding) {
        return Some(why);
    }
    if let Some(port) = low_port(&finding.chain) {
        return Some(format!(
            "it EXPOSEs port {port}, and a non-root process cannot bind ports below 1024 on many runtimes; move the application to a higher port first"
        ));
    }
    let base = finding.base;
    if finding.facts.as_ref().is_some_and(|f| f.drops_privileges) {
        return Some(format!(
            "the entrypoint of `{base}` switches to its own user by itself"
        ));
    }
    if let Some(name) = created_user(&finding.chain) {
        return Some(format!(
            "the stage creates user `{name}`; switch to it with `USER {name}` before the CMD/ENTRYPOINT"
        ));
    }
    if finding.facts.is_none() {
        return Some(if base.contains('$') {
            format!("the base image `{base}` is set by a variable; add `USER` yourself")
        } else {
            format!("dockopt does not know how to create a user in `{base}`; add `USER` yourself")
        });
    }
    None
}

/// The account to switch to, or why there is none.
fn account(ctx: &CheckContext<'_>, base: &str, facts: &ImageFacts) -> Result<Account, String> {
    if let Some(user) = &facts.nonroot_user {
        return Ok(Account::Image(user.clone(), facts.nonroot_uid));
    }
    if !facts.shell || matches!(facts.family, Family::Scratch | Family::Distroless) {
        return Err(format!(
            "`{base}` has no shell to create a user; use a `:nonroot` image"
        ));
    }
    if !facts.user_tools {
        let note = facts
            .note
            .as_deref()
            .map_or_else(String::new, |n| format!(" ({n})"));
        return Err(format!(
            "`{base}` has no tools to create a user{note}; add `USER` yourself"
        ));
    }
    image::create_user_command(ctx.knowledge, facts.family, &NEW_USER)
        .map(Account::Created)
        .ok_or_else(|| {
            format!("dockopt does not know how to create a user in `{base}`; add `USER` yourself")
        })
}

/// Files the chain gives to a user: `(user as written, image paths)`, from `chown` in RUNs
/// and `COPY --chown`.
fn given_to(finding: &Finding<'_>) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let user_of = |owner: &str| owner.split(':').next().unwrap_or(owner).to_string();
    for stage in finding.chain.iter().rev() {
        for &instruction in &stage.instructions {
            let cwd = workdir_at(&finding.workdirs, instruction.index());
            let cwd = Some(cwd.as_deref().unwrap_or("/"));
            match instruction.kind() {
                InstructionKind::Copy | InstructionKind::Add => {
                    if let Some(owner) = instruction
                        .flag("chown")
                        .and_then(dockopt_syntax::Flag::value)
                        && let Some((_, dest)) = copy_args(instruction)
                    {
                        out.push((user_of(owner), absolute(cwd, &dest).into_iter().collect()));
                    }
                }
                InstructionKind::Run if !instruction.is_exec_form() => {
                    let Some(script) = dockopt_shell::parse_instruction(instruction) else {
                        continue;
                    };
                    for command in script.commands() {
                        if command.program() != Some("chown") {
                            continue;
                        }
                        let mut positionals = command.positionals().filter_map(|w| w.value());
                        let Some(owner) = positionals.next() else {
                            continue;
                        };
                        let paths = positionals.filter_map(|p| absolute(cwd, p)).collect();
                        out.push((user_of(owner), paths));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The absolute folders the VOLUMEs of the final stage declare, and the position of the
/// first VOLUME in `stage.instructions`; or why they cannot be given to the user.
fn volumes(finding: &Finding<'_>) -> Result<(Vec<String>, Option<usize>), String> {
    for stage in &finding.chain[1..] {
        if let Some(volume) = stage
            .instructions
            .iter()
            .find(|i| i.kind() == InstructionKind::Volume)
        {
            let name = stage.name().map_or_else(
                || format!("stage {}", stage.index),
                |n| format!("stage `{n}`"),
            );
            return Err(format!(
                "`VOLUME {}` is declared in {name}, which the final stage is built FROM; give it to the user there, before the VOLUME",
                volume.args_text()
            ));
        }
    }
    let mut paths = Vec::new();
    let mut first = None;
    for (k, &instruction) in finding.stage.instructions.iter().enumerate() {
        if instruction.kind() != InstructionKind::Volume {
            continue;
        }
        first.get_or_insert(k);
        let words: Vec<String> = instruction
            .words()
            .iter()
            .map(|w| w.value.to_string())
            .collect();
        for word in words {
            if word.contains('$') {
                return Err(format!(
                    "`VOLUME {word}` uses a variable, so dockopt cannot tell which folder the user must own"
                ));
            }
            if !word.starts_with('/') {
                return Err(format!("`VOLUME {word}` is not an absolute path"));
            }
            if let Some(path) = absolute(None, &word).filter(|p| p != "/") {
                paths.push(path);
            }
        }
    }
    Ok((paths, first))
}

/// The folders under `app_dir` the application writes in, as the build context and
/// knowledge/writable.toml show them; or why the code itself would have to be writable.
fn app_writes(
    ctx: &CheckContext<'_>,
    finding: &Finding<'_>,
    app_dir: &str,
) -> Result<Vec<String>, String> {
    let Some(context) = ctx.build_context else {
        return Ok(Vec::new());
    };
    let writable = &ctx.knowledge.writable;
    let mut out = Vec::new();
    let copied = copied_folders(context, ctx.file, finding.stages, finding.stage.index, 0);
    for (folder, at) in copied {
        if !under(app_dir, &at) {
            continue;
        }
        for name in &writable.conventional.names {
            if context.kind(&join(&folder, name)) == Some(EntryKind::Folder) {
                out.push(image_join(&at, name));
            }
        }
        for framework in &writable.frameworks {
            if !framework
                .markers
                .iter()
                .any(|m| context_file(context, &join(&folder, m)).is_some())
            {
                continue;
            }
            out.extend(framework.writable.iter().map(|w| image_join(&at, w)));
            for when in &framework.when {
                let says = context_file(context, &join(&folder, &when.file))
                    .and_then(|f| context.read_text(&f))
                    .is_some_and(|text| text.contains(&when.contains));
                if says {
                    out.extend(when.writable.iter().map(|w| image_join(&at, w)));
                }
            }
            for beside in &framework.beside_code {
                let file = context_file(context, &join(&folder, &beside.file));
                if let Some(file) = file.filter(|f| {
                    context
                        .read_text(f)
                        .is_some_and(|text| text.contains(&beside.contains))
                }) {
                    let what = beside.what.as_deref().unwrap_or("files");
                    return Err(format!(
                        "the application writes beside its code in {at}: {what}, set in {file}; move it to a folder of its own (a VOLUME) or add `USER` yourself"
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Where text goes to come before `instruction` and the comment lines right above it: a
/// comment (and a `# dockopt: ignore=` directive) belongs to the instruction after it.
/// After the indentation of the first of those lines, which the inserted text ends with.
fn before_comments(file: &dockopt_syntax::Dockerfile, instruction: Instruction<'_>) -> usize {
    let text = file.text();
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut start = line_start(instruction.range().start);
    if !text[start..instruction.range().start]
        .chars()
        .all(|c| c == ' ' || c == '\t')
    {
        return instruction.range().start;
    }
    while start > 0 {
        let above = line_start(start - 1);
        let is_comment = file.items().iter().any(|item| {
            item.kind == ItemKind::Comment && item.range.start >= above && item.range.start < start
        });
        if !is_comment || !text[above..start].trim_start().starts_with('#') {
            break;
        }
        start = above;
    }
    let indent = text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .count();
    start + indent
}

/// `path` as one shell word.
fn shell_word(path: &str) -> String {
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+@%:=,".contains(c))
    {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    }
}

/// `mkdir -p FOLDERS && chown -R OWNER FOLDERS`.
fn give_command(folders: &[String], owner: &str) -> String {
    let list: Vec<String> = folders.iter().map(|f| shell_word(f)).collect();
    let list = list.join(" ");
    format!("mkdir -p {list} && chown -R {owner} {list}")
}

/// The fix, or why there is none.
fn plan(ctx: &CheckContext<'_>, finding: &Finding<'_>) -> Result<Fix, String> {
    if let Some(why) = blocker(ctx, finding) {
        return Err(why);
    }
    let facts = finding.facts.as_ref().ok_or("unknown image")?;
    let account = account(ctx, finding.base, facts)?;
    let file = ctx.file;
    let text = file.text();
    let nl = file.line_ending();
    let instructions = &finding.stage.instructions;
    let states = &finding.states;

    // USER goes before the first CMD/ENTRYPOINT/HEALTHCHECK after the last RUN (and after
    // the last USER, which it replaces in effect).
    let last_run_or_user = instructions
        .iter()
        .rposition(|i| matches!(i.kind(), InstructionKind::Run | InstructionKind::User));
    let target = instructions
        .iter()
        .enumerate()
        .skip(last_run_or_user.map_or(0, |r| r + 1))
        .find(|(_, i)| {
            matches!(
                i.kind(),
                InstructionKind::Cmd | InstructionKind::Entrypoint | InstructionKind::Healthcheck
            )
        })
        .map(|(k, _)| k)
        .ok_or("no CMD/ENTRYPOINT after the last RUN")?;
    let target_instruction = instructions[target];

    // What the Dockerfile already gives to a user: ours is respected, another one should
    // run the image instead.
    let mut owned = Vec::new();
    for (user, paths) in given_to(finding) {
        if user.is_empty() || user == "root" || user == "0" {
            continue;
        }
        if !account.is(&user) {
            let shown = if paths.is_empty() {
                "files".to_string()
            } else {
                paths.join(", ")
            };
            return Err(format!(
                "the Dockerfile gives {shown} to `{user}`; switch to that user with `USER {user}` before the CMD/ENTRYPOINT"
            ));
        }
        owned.extend(paths);
    }

    let app_dir = workdir_at(&finding.workdirs, target_instruction.index()).filter(|w| w != "/");
    let (mut volumes, first_volume) = volumes(finding)?;
    let mut folders = match &app_dir {
        Some(dir) => app_writes(ctx, finding, dir)?,
        None => Vec::new(),
    };
    // Anyone may write in /tmp; a folder the Dockerfile gives the user stays as it is.
    let shared = &ctx.knowledge.writable.shared.folders;
    volumes.retain(|v| !shared.contains(v) && !owned.iter().any(|o| under(o, v)));
    volumes.sort();
    volumes.dedup();
    folders.retain(|f| !owned.iter().any(|o| under(o, f)) && !volumes.iter().any(|v| under(v, f)));
    folders.sort();
    folders.dedup();

    // Volumes are given before the first VOLUME (or USER, if that comes first); nothing
    // may copy into them after that.
    let volume_at = first_volume
        .filter(|_| !volumes.is_empty())
        .map(|v| v.min(target));
    if let Some(at) = volume_at {
        for &instruction in &instructions[at..] {
            if !matches!(
                instruction.kind(),
                InstructionKind::Copy | InstructionKind::Add
            ) {
                continue;
            }
            let cwd = workdir_at(&finding.workdirs, instruction.index());
            let dest = copy_args(instruction)
                .and_then(|(_, d)| absolute(Some(cwd.as_deref().unwrap_or("/")), &d));
            if let Some(volume) = dest.and_then(|d| volumes.iter().find(|v| under(v, &d))) {
                return Err(format!(
                    "a COPY writes into the volume {volume} after it is declared; move it before the VOLUME"
                ));
            }
        }
    }

    // The RUNs to add: (position in `instructions`, commands), in order. Folders are
    // given before the first VOLUME and right before USER; a created user is made before
    // the stage's first COPY/ADD, so that a source edit does not make it again, else in
    // the first of those RUNs.
    let owner = account.owner();
    let mut runs: Vec<(usize, Vec<String>)> = Vec::new();
    if let Some(at) = volume_at {
        runs.push((at, vec![give_command(&volumes, &owner)]));
    }
    if !folders.is_empty() {
        match runs.last_mut() {
            Some((at, commands)) if *at == target => {
                commands.push(give_command(&folders, &owner));
            }
            _ => runs.push((target, vec![give_command(&folders, &owner)])),
        }
    }
    if let Account::Created(command) = &account {
        let runs_as_root = |k: usize| {
            states
                .get(instructions[k].index())
                .is_none_or(|s| s.is_root() && s.posix_shell())
        };
        // At the top of the stage when the stage has a COPY or ADD before USER: not
        // before its first COPY, whose place split-copy may change (the result would then
        // depend on which fix came first).
        let first_copy = instructions[..target]
            .iter()
            .position(|i| matches!(i.kind(), InstructionKind::Copy | InstructionKind::Add))
            .filter(|&k| (0..=k).all(runs_as_root) && runs.first().is_none_or(|(at, _)| k < *at))
            .map(|_| 0);
        match (first_copy, runs.first_mut()) {
            (Some(k), _) => runs.insert(0, (k, vec![command.clone()])),
            (None, Some((_, commands))) => commands.insert(0, command.clone()),
            (None, None) => runs.push((target, vec![command.clone()])),
        }
    }
    let given: Vec<&String> = volumes.iter().chain(&folders).collect();
    if !runs.is_empty() && !facts.shell {
        let list: Vec<&str> = given.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "`{}` has no shell to give {} to `{}`; add `USER` yourself",
            finding.base,
            list.join(", "),
            account.user()
        ));
    }
    for (at, _) in &runs {
        let state = states.get(instructions[*at].index());
        if let Some(user) = state
            .filter(|s| !s.is_root())
            .and_then(|s| s.user.as_deref())
        {
            return Err(format!(
                "USER {user} is in effect where the user would be created or given its folders"
            ));
        }
        if !state.is_none_or(StageState::posix_shell) {
            return Err("the stage's SHELL is not a POSIX shell".into());
        }
    }

    let mut edits = Vec::new();
    let escape = file.escape_char();
    let run_keyword = keyword_like(target_instruction.keyword(), "RUN");
    let mut at_target = String::new();
    for (at, commands) in &runs {
        let instruction = instructions[*at];
        let position = before_comments(file, instruction);
        let indent = indent_of(text, position);
        let run = format!(
            "{run_keyword} {}{nl}{indent}",
            commands.join(&format!(" && {escape}{nl}{indent}    "))
        );
        if *at == target {
            at_target.push_str(&run);
        } else {
            edits.push(Edit::insert(position, run));
        }
    }
    let user_keyword = keyword_like(target_instruction.keyword(), "USER");
    let position = before_comments(file, target_instruction);
    let target_indent = indent_of(text, position);
    let _ = write!(
        at_target,
        "{user_keyword} {}{nl}{target_indent}",
        account.user()
    );
    edits.push(Edit::insert(position, at_target));

    let mut paths: Vec<String> = given.iter().map(|g| format!("{g}/**")).collect();
    let title = match &account {
        Account::Image(user, _) => format!("Run as `{user}` (the image's own non-root user)"),
        Account::Created(_) => {
            // The account files, and the `NAME-` backups shadow's tools leave beside them.
            for path in ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"] {
                paths.push(path.to_string());
                paths.push(format!("{path}-"));
            }
            paths.push(format!("{}/**", NEW_USER.home));
            format!(
                "Create system user `{}` (uid {}) and run as it",
                NEW_USER.user, NEW_USER.uid
            )
        }
    };
    let summary = if given.is_empty() {
        format!(
            "the image runs as {} instead of root; its files stay root's",
            account.user()
        )
    } else {
        let list: Vec<&str> = given.iter().map(|s| s.as_str()).collect();
        format!(
            "the image runs as {} instead of root; {} belong to it, the code stays root's",
            account.user(),
            list.join(", ")
        )
    };
    Ok(Fix::unsafe_edit(
        title,
        edits,
        DeclaredEffect {
            config: vec![ConfigKey::User],
            paths,
            summary,
            ..DeclaredEffect::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use dockopt_fix::{Applicability, ConfigKey, Diagnostic};

    use super::NonRootUser;
    use crate::rules::test_support::{check, fixed};
    use crate::{BuildContext, CheckContext, Knowledge, Rule};

    const DEBIAN_USER: &str = "RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app\n";

    fn fix(text: &str) -> String {
        fixed(&NonRootUser, text).unwrap_or_else(|| panic!("no fix for {text}"))
    }

    fn reported(text: &str, why: &str) {
        let d = check(&NonRootUser, text);
        assert_eq!(d.len(), 1, "{text}");
        assert!(d[0].fix.is_none(), "{text}: {:?}", d[0].fix);
        assert!(
            d[0].message.contains(why),
            "{text}: {} lacks {why}",
            d[0].message
        );
    }

    fn quiet(text: &str) {
        assert!(check(&NonRootUser, text).is_empty(), "{text}");
    }

    /// A build context in a temporary folder, removed on drop.
    struct Context(PathBuf, BuildContext);

    impl Context {
        fn new(name: &str, files: &[(&str, &str)]) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("dockopt-non-root-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for (path, text) in files {
                let full = dir.join(path);
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(full, text).unwrap();
            }
            let context = BuildContext::new(&dir);
            Self(dir, context)
        }

        fn check(&self, text: &str) -> Vec<Diagnostic> {
            let file = dockopt_syntax::parse(text);
            NonRootUser.check(&CheckContext {
                file: &file,
                knowledge: Knowledge::get(),
                build_context: Some(&self.1),
                options: &crate::RuleOptions::default(),
                target: &crate::TargetFacts::default(),
            })
        }

        fn fix(&self, text: &str) -> String {
            let d = self.check(text);
            let fix = d
                .iter()
                .find_map(|d| d.fix.as_ref())
                .unwrap_or_else(|| panic!("no fix for {text}: {d:?}"));
            let mut out = text.to_string();
            for edit in fix.edits.iter().rev() {
                out.replace_range(edit.range.range(), &edit.replacement);
            }
            // The fixed file is quiet.
            assert!(self.check(&out).is_empty(), "{out}");
            out
        }

        fn reported(&self, text: &str, why: &str) {
            let d = self.check(text);
            assert_eq!(d.len(), 1, "{text}");
            assert!(d[0].fix.is_none(), "{text}: {:?}", d[0].fix);
            assert!(
                d[0].message.contains(why),
                "{text}: {} lacks {why}",
                d[0].message
            );
        }
    }

    impl Drop for Context {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn node_image_runs_as_node_and_the_code_stays_roots() {
        let text = "FROM node:22-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY . .\nCOPY config.json /etc/app/\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n";
        let d = check(&NonRootUser, text);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].message,
            "the final stage runs as root; its CMD/ENTRYPOINT should run as a non-root user"
        );
        let f = d[0].fix.as_ref().unwrap();
        assert_eq!(f.title, "Run as `node` (the image's own non-root user)");
        assert_eq!(f.applicability, Applicability::Unsafe);
        assert_eq!(f.effect.config, vec![ConfigKey::User]);
        assert!(f.effect.paths.is_empty(), "{:?}", f.effect.paths);
        assert_eq!(
            f.effect.summary,
            "the image runs as node instead of root; its files stay root's"
        );
        // No --chown: the process cannot rewrite the program it runs.
        assert_eq!(
            fix(text),
            "FROM node:22-slim\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY . .\nCOPY config.json /etc/app/\nEXPOSE 3000\nUSER node\nCMD [\"node\", \"server.js\"]\n"
        );
    }

    #[test]
    fn python_gets_a_created_user_at_the_top_of_a_stage_that_copies() {
        let text = "FROM python:3.12\nWORKDIR /srv/app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY src/ src/\nCMD python -m app\n";
        let d = check(&NonRootUser, text);
        let f = d[0].fix.as_ref().unwrap();
        assert_eq!(
            f.title,
            "Create system user `app` (uid 10001) and run as it"
        );
        assert_eq!(
            f.effect.paths,
            [
                "/etc/passwd",
                "/etc/passwd-",
                "/etc/group",
                "/etc/group-",
                "/etc/shadow",
                "/etc/shadow-",
                "/etc/gshadow",
                "/etc/gshadow-",
                "/home/app/**"
            ]
        );
        assert_eq!(
            fix(text),
            format!(
                "FROM python:3.12\n{DEBIAN_USER}WORKDIR /srv/app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY src/ src/\nUSER app\nCMD python -m app\n"
            )
        );
        // No COPY before USER: the RUN goes right before it.
        assert_eq!(
            fix("FROM python:3.12-slim\nRUN pip install httpie\nCMD [\"http\"]\n"),
            format!(
                "FROM python:3.12-slim\nRUN pip install httpie\n{DEBIAN_USER}USER app\nCMD [\"http\"]\n"
            )
        );
    }

    #[test]
    fn alpine_uses_busybox_adduser() {
        assert_eq!(
            fix("FROM alpine:3.20\nCOPY run.sh /usr/local/bin/\nENTRYPOINT [\"run.sh\"]\n"),
            "FROM alpine:3.20\nRUN addgroup -S -g 10001 app && adduser -S -D -u 10001 -G app -h /home/app -s /sbin/nologin app\nCOPY run.sh /usr/local/bin/\nUSER app\nENTRYPOINT [\"run.sh\"]\n"
        );
    }

    #[test]
    fn keyword_case_line_endings_and_indentation_are_kept() {
        assert_eq!(
            fix("from node:22\r\nworkdir /app\r\ncopy . .\r\n  cmd [\"node\", \"x.js\"]\r\n"),
            "from node:22\r\nworkdir /app\r\ncopy . .\r\n  user node\r\n  cmd [\"node\", \"x.js\"]\r\n"
        );
    }

    #[test]
    fn user_goes_after_the_last_run_before_cmd_or_healthcheck() {
        assert_eq!(
            fix(
                "FROM node:22\nHEALTHCHECK CMD curl -f localhost:3000\nRUN npm ci\nEXPOSE 3000\nHEALTHCHECK CMD wget -q localhost:3000\nCMD [\"node\", \"x.js\"]\n"
            ),
            "FROM node:22\nHEALTHCHECK CMD curl -f localhost:3000\nRUN npm ci\nEXPOSE 3000\nUSER node\nHEALTHCHECK CMD wget -q localhost:3000\nCMD [\"node\", \"x.js\"]\n"
        );
    }

    #[test]
    fn inserted_lines_go_above_the_comments_of_the_instruction() {
        assert_eq!(
            fix(
                "FROM node:22\nRUN npm ci\n\n# the server\n# dockopt: ignore=exec-form\nCMD node x.js\n"
            ),
            "FROM node:22\nRUN npm ci\n\nUSER node\n# the server\n# dockopt: ignore=exec-form\nCMD node x.js\n"
        );
        assert_eq!(
            fix("FROM node:22\n  # data\n  VOLUME /data\nCMD [\"node\"]\n"),
            "FROM node:22\n  RUN mkdir -p /data && chown -R node:node /data\n  # data\n  VOLUME /data\nUSER node\nCMD [\"node\"]\n"
        );
    }

    #[test]
    fn user_goes_after_a_last_user_root() {
        assert_eq!(
            fix("FROM node:22\nRUN npm ci\nHEALTHCHECK CMD x\nUSER root\nCMD [\"node\"]\n"),
            "FROM node:22\nRUN npm ci\nHEALTHCHECK CMD x\nUSER root\nUSER node\nCMD [\"node\"]\n"
        );
        // The user is created after the last USER root.
        assert_eq!(
            fix("FROM python:3.12\nUSER 1000\nWORKDIR /app\nCOPY . .\nUSER root\nCMD python\n"),
            format!(
                "FROM python:3.12\nUSER 1000\nWORKDIR /app\nCOPY . .\nUSER root\n{DEBIAN_USER}USER app\nCMD python\n"
            )
        );
        // A volume is given to the user as root, not as an earlier USER.
        reported(
            "FROM python:3.12\nUSER 1000\nVOLUME /data\nUSER root\nCMD python\n",
            "USER 1000 is in effect where the user would be created or given its folders",
        );
    }

    #[test]
    fn copies_are_left_as_they_are() {
        assert_eq!(
            fix("FROM python:3.12\nWORKDIR /app\nCOPY --link . .\nADD app.tar.gz .\nCMD python\n"),
            format!(
                "FROM python:3.12\n{DEBIAN_USER}WORKDIR /app\nCOPY --link . .\nADD app.tar.gz .\nUSER app\nCMD python\n"
            )
        );
    }

    #[test]
    fn shell_and_exec_form_cmd_both_fire() {
        for cmd in [
            "CMD node server.js",
            "CMD [\"node\", \"server.js\"]",
            "ENTRYPOINT node server.js",
        ] {
            let text = format!("FROM node:22\n{cmd}\n");
            assert_eq!(fix(&text), format!("FROM node:22\nUSER node\n{cmd}\n"));
        }
    }

    #[test]
    fn root_at_the_end_fires_and_a_user_keeps_it_quiet() {
        assert_eq!(
            fix("FROM node:22\nUSER node\nRUN npm ci\nUSER root\nCMD [\"node\", \"x.js\"]\n"),
            "FROM node:22\nUSER node\nRUN npm ci\nUSER root\nUSER node\nCMD [\"node\", \"x.js\"]\n"
        );
        assert_eq!(
            check(&NonRootUser, "FROM python:3.12\nUSER 0:0\nCMD python\n").len(),
            1
        );
        quiet("FROM python:3.12\nRUN useradd app\nUSER app\nCMD python\n");
        quiet("FROM python:3.12\nUSER 1000:1000\nCMD python\n");
        quiet("FROM python:3.12\nUSER $APP_USER\nCMD python\n");
    }

    #[test]
    fn only_the_final_stage_counts_and_from_a_stage_inherits_user() {
        quiet("FROM python:3.12 AS base\nUSER nobody\nFROM base\nCMD python -m app\n");
        quiet(
            "FROM node:22 AS build\nRUN npm ci\nCMD [\"x\"]\nFROM node:22-slim\nUSER node\nCMD [\"node\", \"x.js\"]\n",
        );
        // A build stage with CMD and no USER does not matter; the final one does.
        let text = "FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /out/app ./app\nCMD [\"./app\"]\n";
        assert_eq!(
            fix(text),
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /out/app ./app\nUSER node\nCMD [\"./app\"]\n"
        );
        // FROM <stage>: the image and WORKDIR come from the parent.
        let text =
            "FROM python:3.12-slim AS base\nWORKDIR /app\nFROM base\nCOPY . .\nCMD python -m app\n";
        assert_eq!(
            fix(text),
            format!(
                "FROM python:3.12-slim AS base\nWORKDIR /app\nFROM base\n{DEBIAN_USER}COPY . .\nUSER app\nCMD python -m app\n"
            )
        );
        // No CMD/ENTRYPOINT in the final stage: nothing to say.
        quiet("FROM python:3.12\nCOPY . /app\n");
    }

    #[test]
    fn distroless_nonroot_is_quiet_and_latest_switches_to_nonroot() {
        quiet(
            "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
        );
        quiet(
            "FROM mcr.microsoft.com/dotnet/aspnet:8.0-noble-chiseled\nENTRYPOINT [\"dotnet\", \"x.dll\"]\n",
        );
        assert_eq!(
            fix(
                "FROM gcr.io/distroless/static-debian12\nWORKDIR /app\nCOPY app .\nENTRYPOINT [\"/app/app\"]\n"
            ),
            "FROM gcr.io/distroless/static-debian12\nWORKDIR /app\nCOPY app .\nUSER nonroot\nENTRYPOINT [\"/app/app\"]\n"
        );
        // USER root on a :nonroot image fires.
        assert_eq!(
            check(
                &NonRootUser,
                "FROM gcr.io/distroless/base-debian12:nonroot\nUSER root\nCMD [\"/x\"]\n"
            )
            .len(),
            1
        );
    }

    #[test]
    fn reports_without_fix() {
        for (text, why) in [
            (
                "FROM node:22\nEXPOSE 80\nCMD [\"node\", \"x.js\"]\n",
                "it EXPOSEs port 80",
            ),
            (
                "FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\nCMD [\"postgres\"]\n",
                "the entrypoint of `postgres:16` switches to its own user by itself",
            ),
            (
                "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
                "`scratch` has no shell to create a user; use a `:nonroot` image",
            ),
            (
                "FROM example/base:1.0\nCMD [\"x\"]\n",
                "dockopt does not know how to create a user in `example/base:1.0`; add `USER` yourself",
            ),
            (
                "FROM python:${PY}\nCMD [\"x\"]\n",
                "the base image `python:${PY}` is set by a variable",
            ),
            (
                "FROM python:3.12\nCMD [\"gosu\", \"app\", \"python\"]\n",
                "CMD runs `gosu`, which needs root",
            ),
            (
                "FROM python:3.12\nENTRYPOINT exec sudo -E python app.py\n",
                "ENTRYPOINT runs `sudo`, which needs root",
            ),
            (
                "FROM python:3.12\nCMD [\"sh\", \"-c\", \"chown -R app /data && python app.py\"]\n",
                "CMD runs `chown`, which needs root",
            ),
            (
                "FROM python:3.12\nCMD chmod 600 /etc/app.conf && python app.py\n",
                "CMD runs `chmod /etc/app.conf`, which needs root",
            ),
            (
                "FROM debian:bookworm\nCMD setsid cron; tmux -2\n",
                "CMD runs `cron`, which needs root",
            ),
            (
                "FROM debian:bookworm\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
                "CMD runs `nginx`, which needs root",
            ),
            (
                "FROM python:3.12\nCMD python app.py\nRUN echo late\n",
                "a RUN comes after the CMD/ENTRYPOINT",
            ),
            (
                "FROM python:3.12\nCMD python app.py\nCOPY --chown=1:1 . /app\n",
                "a COPY --chown comes after the CMD/ENTRYPOINT",
            ),
            (
                "FROM python:3.12\nCMD python app.py\nUSER root\n",
                "a USER comes after the CMD/ENTRYPOINT",
            ),
            (
                "FROM python:3.12\nRUN useradd --create-home web\nCMD python app.py\n",
                "the stage creates user `web`; switch to it with `USER web`",
            ),
            (
                "FROM registry.access.redhat.com/ubi9/ubi-minimal\nCMD [\"/x\"]\n",
                "has no tools to create a user (ubi-minimal has no shadow-utils",
            ),
            (
                "FROM python:3.12\nSHELL [\"pwsh\", \"-c\"]\nCMD [\"x\"]\n",
                "the stage's SHELL is not a POSIX shell",
            ),
        ] {
            reported(text, why);
        }
    }

    #[test]
    fn chmod_of_own_files_and_plain_commands_are_fine() {
        assert!(
            fixed(
                &NonRootUser,
                "FROM node:22\nCMD chmod +x ./run.sh && ./run.sh\n"
            )
            .is_some()
        );
        assert!(
            fixed(
                &NonRootUser,
                "FROM node:22\nENTRYPOINT [\"tini\", \"--\", \"node\", \"server.js\"]\n"
            )
            .is_some()
        );
    }

    #[test]
    fn windows_images_are_skipped() {
        quiet("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD [\"cmd\"]\n");
        quiet("FROM python:3.12-windowsservercore\nCMD [\"python\"]\n");
    }

    #[test]
    fn existing_chown_workdir_root_and_variables_are_left_alone() {
        assert_eq!(
            fix(
                "FROM node:22\nWORKDIR /app\nCOPY --chown=1000:1000 a ./\nCOPY b $DEST\nCMD [\"node\"]\n"
            ),
            "FROM node:22\nWORKDIR /app\nCOPY --chown=1000:1000 a ./\nCOPY b $DEST\nUSER node\nCMD [\"node\"]\n"
        );
        assert_eq!(
            fix("FROM node:22\nWORKDIR /\nCOPY a .\nCMD [\"node\"]\n"),
            "FROM node:22\nWORKDIR /\nCOPY a .\nUSER node\nCMD [\"node\"]\n"
        );
    }

    #[test]
    fn fixed_files_stay_quiet() {
        for text in [
            "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"x.js\"]\n",
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD python -m app\n",
            "FROM alpine\nCMD [\"sh\"]\n",
        ] {
            let once = fix(text);
            quiet(&once);
        }
    }

    #[test]
    fn volumes_are_given_to_the_user_before_they_are_declared() {
        let text = "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nENV DB_PATH=/data/app.db\nVOLUME /data\nEXPOSE 3000\nCMD [\"node\", \"server.js\"]\n";
        let d = check(&NonRootUser, text);
        let f = d[0].fix.as_ref().unwrap();
        assert_eq!(f.effect.paths, ["/data/**"]);
        assert_eq!(
            f.effect.summary,
            "the image runs as node instead of root; /data belong to it, the code stays root's"
        );
        assert_eq!(
            fix(text),
            "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nENV DB_PATH=/data/app.db\nRUN mkdir -p /data && chown -R node:node /data\nVOLUME /data\nEXPOSE 3000\nUSER node\nCMD [\"node\", \"server.js\"]\n"
        );
        // A created user is made in that RUN; JSON form, several paths, several VOLUMEs.
        assert_eq!(
            fix(
                "FROM python:3.12-slim\n  VOLUME [\"/var/lib/app\", \"/data/\"]\nVOLUME /cache\nCMD [\"python\", \"app.py\"]\n"
            ),
            "FROM python:3.12-slim\n  RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app && \\\n      mkdir -p /cache /data /var/lib/app && chown -R app:app /cache /data /var/lib/app\n  VOLUME [\"/var/lib/app\", \"/data/\"]\nVOLUME /cache\nUSER app\nCMD [\"python\", \"app.py\"]\n"
        );
        // A VOLUME after the CMD: given right before USER.
        assert_eq!(
            fix("FROM node:22\nCMD [\"node\"]\nVOLUME /data\n"),
            "FROM node:22\nRUN mkdir -p /data && chown -R node:node /data\nUSER node\nCMD [\"node\"]\nVOLUME /data\n"
        );
        // The file's escape character continues the line.
        assert_eq!(
            fix("# escape=`\nFROM python:3.12\nVOLUME /data\nCMD [\"python\"]\n"),
            "# escape=`\nFROM python:3.12\nRUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app && `\n    mkdir -p /data && chown -R app:app /data\nVOLUME /data\nUSER app\nCMD [\"python\"]\n"
        );
        // Paths a shell would split are quoted.
        assert_eq!(
            fix("FROM node:22\nVOLUME [\"/my data\"]\nCMD [\"node\"]\n"),
            "FROM node:22\nRUN mkdir -p '/my data' && chown -R node:node '/my data'\nVOLUME [\"/my data\"]\nUSER node\nCMD [\"node\"]\n"
        );
    }

    #[test]
    fn volumes_that_cannot_be_given_safely_are_reported() {
        for (text, why) in [
            (
                "FROM node:22\nARG DATA=/data\nVOLUME $DATA\nCMD [\"node\"]\n",
                "`VOLUME $DATA` uses a variable, so dockopt cannot tell which folder the user must own",
            ),
            (
                "FROM node:22\nVOLUME data\nCMD [\"node\"]\n",
                "`VOLUME data` is not an absolute path",
            ),
            (
                "FROM node:22 AS base\nVOLUME /data\nFROM base\nCMD [\"node\"]\n",
                "`VOLUME /data` is declared in stage `base`, which the final stage is built FROM",
            ),
            (
                "FROM node:22\nVOLUME /data\nCOPY seed.db /data/app.db\nCMD [\"node\"]\n",
                "a COPY writes into the volume /data after it is declared",
            ),
            (
                "FROM gcr.io/distroless/nodejs22-debian12\nVOLUME /data\nCMD [\"server.js\"]\n",
                "has no shell to give /data to `nonroot`",
            ),
        ] {
            reported(text, why);
        }
        // Spring Boot's `VOLUME /tmp` is writable by everyone already.
        assert_eq!(
            fix(
                "FROM eclipse-temurin:17-jre\nVOLUME /tmp\nCOPY app.jar /app.jar\nENTRYPOINT [\"java\", \"-jar\", \"/app.jar\"]\n"
            ),
            format!(
                "FROM eclipse-temurin:17-jre\n{DEBIAN_USER}VOLUME /tmp\nCOPY app.jar /app.jar\nUSER app\nENTRYPOINT [\"java\", \"-jar\", \"/app.jar\"]\n"
            )
        );
        // A volume the Dockerfile already gives to the user is left alone.
        assert_eq!(
            fix(
                "FROM node:22\nRUN mkdir /data && chown node:node /data\nVOLUME /data\nCMD [\"node\"]\n"
            ),
            "FROM node:22\nRUN mkdir /data && chown node:node /data\nVOLUME /data\nUSER node\nCMD [\"node\"]\n"
        );
    }

    #[test]
    fn rails_gets_its_run_time_folders_and_nothing_else() {
        let context = Context::new(
            "rails",
            &[
                (
                    "Gemfile",
                    "source \"https://rubygems.org\"\ngem \"rails\", \"~> 7.1.3\"\n",
                ),
                (
                    "config/application.rb",
                    "module Shop\n  class Application < Rails::Application\n  end\nend\n",
                ),
                (
                    "config/database.yml",
                    "production:\n  adapter: sqlite3\n  database: db/production.sqlite3\n",
                ),
                ("db/schema.rb", ""),
                ("app/models/order.rb", ""),
                ("storage/.keep", ""),
                ("log/.keep", ""),
                ("tmp/.keep", ""),
                (
                    ".dockerignore",
                    "/log/*\n/tmp/*\n!/log/.keep\n!/tmp/.keep\nlog\ntmp\n",
                ),
            ],
        );
        let text = "FROM ruby:3.3-slim\nWORKDIR /rails\nCOPY Gemfile Gemfile.lock ./\nRUN bundle install\nCOPY . .\nRUN bundle exec bootsnap precompile app/ lib/\nEXPOSE 3000\nCMD [\"./bin/rails\", \"server\"]\n";
        let fixed = context.fix(text);
        assert_eq!(
            fixed,
            format!(
                "FROM ruby:3.3-slim\n{DEBIAN_USER}WORKDIR /rails\nCOPY Gemfile Gemfile.lock ./\nRUN bundle install\nCOPY . .\nRUN bundle exec bootsnap precompile app/ lib/\nEXPOSE 3000\nRUN mkdir -p /rails/db /rails/log /rails/storage /rails/tmp && chown -R app:app /rails/db /rails/log /rails/storage /rails/tmp\nUSER app\nCMD [\"./bin/rails\", \"server\"]\n"
            )
        );
        let d = context.check(text);
        let paths = &d[0].fix.as_ref().unwrap().effect.paths;
        assert_eq!(
            paths[..4],
            [
                "/rails/db/**",
                "/rails/log/**",
                "/rails/storage/**",
                "/rails/tmp/**"
            ]
        );
        // PostgreSQL, or SQLite in storage/ (Rails 7.1): db/ stays root's.
        let postgres = Context::new(
            "rails-pg",
            &[
                ("config/application.rb", ""),
                (
                    "config/database.yml",
                    "default: &default\n  adapter: postgresql\n",
                ),
                ("db/schema.rb", ""),
            ],
        );
        assert!(
            postgres
                .fix(text)
                .contains("mkdir -p /rails/log /rails/storage /rails/tmp && chown -R app:app /rails/log /rails/storage /rails/tmp\n")
        );
    }

    #[test]
    fn conventional_folders_count_where_a_copy_puts_them_under_the_workdir() {
        let context = Context::new(
            "node-uploads",
            &[
                ("package.json", "{}"),
                ("server.js", ""),
                ("uploads/.gitkeep", ""),
                ("logs/.gitkeep", ""),
                ("src/data.js", ""),
                ("public/cache.txt", ""),
            ],
        );
        assert_eq!(
            context
                .fix("FROM node:22-slim\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"),
            "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN mkdir -p /app/logs /app/uploads && chown -R node:node /app/logs /app/uploads\nUSER node\nCMD [\"node\", \"server.js\"]\n"
        );
        // Outside the WORKDIR: nothing.
        assert_eq!(
            context.fix(
                "FROM node:22-slim\nWORKDIR /app\nCOPY . /opt/site\nCMD [\"node\", \"server.js\"]\n"
            ),
            "FROM node:22-slim\nWORKDIR /app\nCOPY . /opt/site\nUSER node\nCMD [\"node\", \"server.js\"]\n"
        );
        // Through a build stage that copied the context.
        assert_eq!(
            context.fix("FROM node:22 AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /src /app\nCMD [\"node\", \"server.js\"]\n"),
            "FROM node:22 AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /src /app\nRUN mkdir -p /app/logs /app/uploads && chown -R node:node /app/logs /app/uploads\nUSER node\nCMD [\"node\", \"server.js\"]\n"
        );
        // A folder the Dockerfile already gives to the user is respected.
        assert_eq!(
            context.fix("FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN chown -R node:node uploads\nCMD [\"node\", \"server.js\"]\n"),
            "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN chown -R node:node uploads\nRUN mkdir -p /app/logs && chown -R node:node /app/logs\nUSER node\nCMD [\"node\", \"server.js\"]\n"
        );
        // Files given to another user: that user should run the image.
        context.reported(
            "FROM node:22-slim\nWORKDIR /app\nCOPY --chown=www-data:www-data . .\nCMD [\"node\", \"server.js\"]\n",
            "the Dockerfile gives /app to `www-data`; switch to that user with `USER www-data`",
        );
    }

    #[test]
    fn next_js_gets_its_cache_and_django_sqlite_beside_the_code_is_reported() {
        let next = Context::new(
            "next",
            &[
                ("package.json", "{}"),
                ("next.config.mjs", "export default {}\n"),
            ],
        );
        assert!(
            next.fix("FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm run build\nCMD [\"npm\", \"start\"]\n")
                .contains("RUN mkdir -p /app/.next/cache && chown -R node:node /app/.next/cache\nUSER node\n")
        );
        let django = Context::new(
            "django",
            &[
                ("manage.py", ""),
                (
                    "shop/settings.py",
                    "DATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.sqlite3\", \"NAME\": BASE_DIR / \"db.sqlite3\"}}\n",
                ),
                ("media/.gitkeep", ""),
            ],
        );
        django.reported(
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"gunicorn\", \"shop.wsgi\"]\n",
            "the application writes beside its code in /app: Django's SQLite database (BASE_DIR / \"db.sqlite3\"), set in shop/settings.py",
        );
        let postgres = Context::new(
            "django-pg",
            &[
                ("manage.py", ""),
                (
                    "shop/settings.py",
                    "DATABASES = {\"default\": dj_database_url.config()}\nMEDIA_ROOT = BASE_DIR / \"media\"\n",
                ),
                ("media/.gitkeep", ""),
            ],
        );
        assert!(
            postgres
                .fix("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"gunicorn\", \"shop.wsgi\"]\n")
                .contains("mkdir -p /app/media && chown -R app:app /app/media\nUSER app\n")
        );
    }

    #[test]
    fn entrypoint_scripts_that_drop_privileges_are_reported_not_fixed() {
        let gosu = "#!/bin/sh\nset -e\nif [ \"$(id -u)\" = '0' ]; then\n  chown -R api:api /var/lib/api\n  exec gosu api \"$0\" \"$@\"\nfi\nexec \"$@\"\n";
        let context = Context::new(
            "entrypoints",
            &[
                ("docker-entrypoint.sh", gosu),
                (
                    "docker/start.sh",
                    "#!/bin/sh\nexec su-exec app:app \"$@\"\n",
                ),
                (
                    "bin/setpriv.sh",
                    "#!/bin/bash\nexec setpriv --reuid=app --regid=app --init-groups \"$@\"\n",
                ),
                (
                    "bin/su.sh",
                    "#!/bin/sh\nexec su app -s /bin/sh -lc 'exec \"$0\" \"$@\"' -- \"$@\"\n",
                ),
                (
                    "bin/chroot.sh",
                    "#!/bin/sh\nexec chroot --userspec=app:app / \"$@\"\n",
                ),
                ("bin/s6.sh", "#!/bin/sh\nexec s6-setuidgid app \"$@\"\n"),
                (
                    "bin/plain.sh",
                    "#!/bin/sh\nchroot /jail true || true\nsetpriv --no-new-privs true\nexec \"$@\"\n",
                ),
                (
                    "bin/broken.sh",
                    "#!/bin/bash\ncase \"$1\" in\n  (serve) exec runuser -u app -- \"$@\"\nesac }}}\n",
                ),
            ],
        );
        // The stage creates `api`; the advice to switch to it must not be given either.
        let text = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y gosu && useradd --system api\nCOPY docker-entrypoint.sh /usr/local/bin/\nENTRYPOINT [\"docker-entrypoint.sh\"]\nCMD [\"api\"]\n";
        let d = context.check(text);
        assert_eq!(
            d[0].message,
            "the final stage runs as root; its CMD/ENTRYPOINT should run as a non-root user (no automatic fix: the entrypoint `docker-entrypoint.sh` drops privileges with `gosu` itself; a USER would make it fail)"
        );
        for (text, why) in [
            (
                "FROM alpine:3.20\nWORKDIR /app\nCOPY . .\nENTRYPOINT [\"./docker/start.sh\"]\n",
                "the entrypoint `docker/start.sh` drops privileges with `su-exec` itself",
            ),
            (
                "FROM python:3.12\nCOPY bin/setpriv.sh /entrypoint.sh\nENTRYPOINT /entrypoint.sh\n",
                "`bin/setpriv.sh` drops privileges with `setpriv`",
            ),
            (
                "FROM python:3.12\nCOPY bin/ /opt/bin/\nCMD [\"sh\", \"/opt/bin/su.sh\", \"python\"]\n",
                "the CMD script `bin/su.sh` drops privileges with `su`",
            ),
            (
                "FROM python:3.12\nCOPY bin/*.sh /usr/local/bin/\nENTRYPOINT [\"tini\", \"--\", \"chroot.sh\"]\n",
                "`bin/chroot.sh` drops privileges with `chroot`",
            ),
            (
                "FROM python:3.12\nCOPY bin/s6.sh /usr/local/bin/run\nENTRYPOINT [\"run\"]\n",
                "`bin/s6.sh` drops privileges with `s6-setuidgid`",
            ),
            (
                "FROM python:3.12\nCOPY bin/broken.sh /usr/local/bin/\nENTRYPOINT [\"broken.sh\"]\n",
                "`bin/broken.sh` drops privileges with `runuser`",
            ),
        ] {
            context.reported(text, why);
        }
        // chroot without --userspec and setpriv without --reuid switch no user.
        context.fix(
            "FROM python:3.12\nCOPY bin/plain.sh /usr/local/bin/\nENTRYPOINT [\"plain.sh\"]\n",
        );
        // A script the image has from elsewhere is not read.
        context.fix("FROM python:3.12\nENTRYPOINT [\"docker-entrypoint.sh\"]\n");
    }

    #[test]
    fn the_doc_example_is_what_the_fix_gives() {
        let doc = NonRootUser::META.documentation();
        let blocks: Vec<&str> = doc
            .split("```dockerfile\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert_eq!(fix(blocks[0]), blocks[1]);
    }

    #[test]
    fn switch_user_options_are_matched_as_the_programs_parse_them() {
        let facts = &Knowledge::get().images.needs_root;
        assert!(facts.switches_user("gosu", &["app", "x"]));
        assert!(facts.switches_user("su", &["-lc", "x", "app"]));
        assert!(facts.switches_user("su", &["--command=x", "app"]));
        assert!(!facts.switches_user("su", &["--login", "app"]));
        assert!(facts.switches_user("chroot", &["--userspec", "a:a", "/"]));
        assert!(!facts.switches_user("chroot", &["/jail"]));
        assert!(facts.switches_user("setpriv", &["--reuid=1000", "x"]));
        assert!(!facts.switches_user("setpriv", &["--reuid-x"]));
        assert!(!facts.switches_user("python", &["-c", "x"]));
    }
}
