use std::fmt::Write as _;

use dockopt_fix::{ConfigKey, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_syntax::{Instruction, InstructionKind, Stage};

use crate::image::{self, Family, ImageFacts, NewUser};
use crate::paths::{absolute, indent_of, under};
use crate::rules::keyword_like;
use crate::stage_state::stage_chain;
use crate::stage_state::{StageState, stage_states};
use crate::{CheckContext, FixAvailability, Knowledge, Rule, RuleMeta, declare_rule};

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
    /// on Debian, Ubuntu and UBI, BusyBox `addgroup`/`adduser` on Alpine. Files that COPY
    /// or ADD put in the WORKDIR (or under it) get `--chown` for that user; nothing outside
    /// the WORKDIR does, and without a WORKDIR (or with WORKDIR `/`) no COPY changes. Base
    /// images whose own config already runs as a non-root user (distroless `:nonroot`,
    /// .NET chiseled, nginx-unprivileged) need nothing.
    ///
    /// Reported without a fix, with the reason: an EXPOSE of a port below 1024; a base
    /// image whose entrypoint drops root by itself (postgres, redis, mysql, mariadb, mongo,
    /// rabbitmq, php's apache and fpm variants); a CMD or ENTRYPOINT that runs something
    /// needing root (`sudo`, `su`, `gosu`, `su-exec`, `chown`, `chmod` on system folders,
    /// package managers, `service`, `systemctl`, nginx, httpd, apache2, ...); a RUN, USER or
    /// `COPY --chown` after the CMD or ENTRYPOINT; a non-root USER in effect where the user
    /// would be created; a stage that already creates a user with `useradd`/`adduser`
    /// (switch to that one); a base image dockopt does not know, one set by a variable, one
    /// without a shell or without user tools (scratch, ubi-minimal) and no user of its own;
    /// a stage whose SHELL is not a POSIX shell. Windows images are skipped.
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
    /// CMD ["node", "server.js"]
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// FROM node:22-slim
    /// WORKDIR /app
    /// COPY --chown=node:node package.json package-lock.json ./
    /// RUN npm ci --omit=dev
    /// COPY --chown=node:node . .
    /// USER node
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// On an image without such a user (`python:3.12`) the fix adds `RUN groupadd --system
    /// --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /home/app
    /// --create-home --shell /usr/sbin/nologin app` and `USER app`, and the COPYs get
    /// `--chown=app:app`.
    ///
    /// `USER` goes right before the first CMD, ENTRYPOINT or HEALTHCHECK after the last RUN
    /// (and the last USER) of the stage. The RUN that creates the user goes before the
    /// first COPY that gets `--chown` (the names in `--chown` are looked up in the image
    /// when the COPY runs), else right before `USER`; a `COPY --link` gets the numeric ids
    /// instead of names. Generated lines follow the file's keyword case, line ending and
    /// indentation.
    ///
    /// ## Fix safety
    /// Unsafe: the image's user changes. The application can no longer write outside its
    /// home and the files it owns, change system files, or bind ports below 1024 on
    /// runtimes that do not allow it. Files copied into the WORKDIR belong to the user and
    /// can be changed by it; the WORKDIR folder itself, made by `WORKDIR` as root, stays
    /// root's, so the application cannot create new files directly in it. Files that a RUN
    /// creates in the WORKDIR (`npm ci`, `pip install --target .`, `go build -o ./app`)
    /// stay root's and are read-only to the user: reading them works, and the fix adds no
    /// `chown -R`, which would copy all of them into one more layer. An application that
    /// writes there needs a folder of its own (a volume, or a `RUN mkdir` + `chown` of just
    /// that folder). Volumes written by an earlier root image keep their owner.
    ///
    /// The declared effect is the `User` config and the files under the WORKDIR (their
    /// owner); for a created user also /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow,
    /// their `-` backups (/etc/passwd- ..., which shadow's tools rewrite), and /home/app
    /// (made from /etc/skel). `useradd --system` writes nothing else (not lastlog, faillog or
    /// /etc/subuid), and warns, harmlessly, that uid 10001 is above SYS_UID_MAX.
    ///
    /// ## References
    /// hadolint DL3002 (last USER should not be root). Dockerfile reference: `USER`;
    /// Docker docs "Building best practices" (USER). CIS Docker Benchmark 4.1 (Ensure that
    /// a user for the container has been created).
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

    /// The `--chown` value for a COPY: names, or the ids for `COPY --link`, which copies
    /// without the image's /etc/passwd at hand.
    fn owner(&self, link: bool) -> String {
        match self {
            Self::Image(_, Some(uid)) if link => format!("{uid}:{uid}"),
            Self::Image(user, _) => format!("{user}:{user}"),
            Self::Created(_) if link => format!("{}:{}", NEW_USER.uid, NEW_USER.gid),
            Self::Created(_) => format!("{}:{}", NEW_USER.user, NEW_USER.group),
        }
    }
}

fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// The first program of `words` (a command line) that needs root, past wrappers such as
/// `exec` or `tini --`.
fn needs_root_in(knowledge: &Knowledge, words: &[String]) -> Option<String> {
    let facts = &knowledge.images.needs_root;
    let has = |list: &[String], name: &str| list.iter().any(|p| p == name);
    let mut rest = words;
    loop {
        let (first, tail) = rest.split_first()?;
        let program = base_name(first);
        if !has(&facts.wrappers, program) {
            break;
        }
        let skip = tail
            .iter()
            .take_while(|w| w.starts_with('-') || (w.contains('=') && !w.starts_with('/')))
            .count();
        rest = &tail[skip..];
    }
    let (first, args) = rest.split_first()?;
    let program = base_name(first);
    if has(&facts.programs, program) || has(&facts.owner_programs, program) {
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

/// What CMD/ENTRYPOINT `instruction` runs that needs root, if anything.
fn needs_root(knowledge: &Knowledge, instruction: Instruction<'_>) -> Option<String> {
    let lines = match instruction.json_array() {
        Some(elements) => {
            let words: Vec<String> = elements.iter().map(|e| e.value.to_string()).collect();
            let shell = words
                .first()
                .is_some_and(|w| matches!(base_name(w), "sh" | "bash" | "dash" | "ash" | "zsh"));
            match words.iter().position(|w| w == "-c") {
                Some(c) if shell && c + 1 < words.len() => {
                    script_lines(&dockopt_shell::parse_text(&words[c + 1]))
                }
                _ => vec![words],
            }
        }
        None => script_lines(&dockopt_shell::parse_instruction(instruction)?),
    };
    lines
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
                    .and_then(|w| absolute(workdir.as_deref(), w.value));
            }
        }
    }
    out
}

/// The destination of a COPY or ADD, as written.
fn destination(instruction: Instruction<'_>) -> Option<String> {
    match instruction.json_array() {
        Some(elements) => elements.last().map(|e| e.value.to_string()),
        None => instruction.words().last().map(|w| w.value.to_string()),
    }
}

/// What the rule found about the final stage, when it fires.
struct Finding<'a> {
    stage: &'a Stage<'a>,
    chain: Vec<&'a Stage<'a>>,
    base: &'a str,
    facts: Option<ImageFacts>,
    /// Position in `stage.instructions` of the first CMD/ENTRYPOINT.
    first_cmd: usize,
    /// The state before each instruction of the file.
    states: Vec<StageState>,
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
        let finding = Finding {
            stage,
            chain,
            base,
            facts,
            first_cmd,
            states,
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
    let states = &finding.states;
    if matches!(account, Account::Created(_))
        && !states
            .get(target_instruction.index())
            .is_none_or(StageState::posix_shell)
    {
        return Err("the stage's SHELL is not a POSIX shell".into());
    }

    // COPY/ADD into the WORKDIR get --chown.
    let workdirs = workdirs(&finding.chain);
    let workdir_at = |index: usize| {
        workdirs
            .iter()
            .find(|(i, _)| *i == index)
            .and_then(|(_, w)| w.clone())
    };
    let app_dir = workdir_at(target_instruction.index()).filter(|w| w != "/");
    let mut edits = Vec::new();
    let mut chowned: Vec<usize> = Vec::new();
    if let Some(app_dir) = &app_dir {
        for (k, &instruction) in instructions.iter().enumerate() {
            if !matches!(
                instruction.kind(),
                InstructionKind::Copy | InstructionKind::Add
            ) || instruction.flag("chown").is_some()
            {
                continue;
            }
            let dest = destination(instruction)
                .and_then(|d| absolute(workdir_at(instruction.index()).as_deref(), &d));
            if dest.is_some_and(|d| under(app_dir, &d)) {
                let owner = account.owner(instruction.flag("link").is_some());
                edits.push(Edit::insert(
                    instruction.keyword_range().end,
                    format!(" --chown={owner}"),
                ));
                chowned.push(k);
            }
        }
    }

    let user_keyword = keyword_like(target_instruction.keyword(), "USER");
    let target_indent = indent_of(text, target_instruction.range().start);
    let mut at_target = format!("{user_keyword} {}{nl}{target_indent}", account.user());
    if let Account::Created(command) = &account {
        let run_keyword = keyword_like(target_instruction.keyword(), "RUN");
        let run_line = format!("{run_keyword} {command}");
        match chowned.first().filter(|&&k| k < target) {
            Some(&k) => {
                let copy = instructions[k];
                // The RUN runs as the USER in effect there: it must be root.
                if let Some(user) = states
                    .get(copy.index())
                    .filter(|s| !s.is_root())
                    .and_then(|s| s.user.as_deref())
                {
                    return Err(format!(
                        "USER {user} is in effect where the user would be created"
                    ));
                }
                let indent = indent_of(text, copy.range().start);
                edits.push(Edit::insert(
                    copy.range().start,
                    format!("{run_line}{nl}{indent}"),
                ));
            }
            None => at_target = format!("{run_line}{nl}{target_indent}{at_target}"),
        }
    }
    edits.push(Edit::insert(target_instruction.range().start, at_target));

    let mut paths = Vec::new();
    if !chowned.is_empty()
        && let Some(dir) = &app_dir
    {
        paths.push(format!("{dir}/**"));
    }
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
    let summary = match (&app_dir, chowned.is_empty()) {
        (Some(dir), false) => format!(
            "the image runs as {} instead of root; files under {dir} belong to it",
            account.user()
        ),
        _ => format!("the image runs as {} instead of root", account.user()),
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
    use dockopt_fix::{Applicability, ConfigKey};

    use super::NonRootUser;
    use crate::rules::test_support::{check, fixed};

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

    #[test]
    fn node_image_runs_as_node_and_owns_the_workdir_copies() {
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
        assert_eq!(f.effect.paths, vec!["/app/**".to_string()]);
        assert_eq!(
            fix(text),
            "FROM node:22-slim\nWORKDIR /app\nCOPY --chown=node:node package.json package-lock.json ./\nRUN npm ci --omit=dev\nCOPY --chown=node:node . .\nCOPY config.json /etc/app/\nEXPOSE 3000\nUSER node\nCMD [\"node\", \"server.js\"]\n"
        );
    }

    #[test]
    fn python_gets_a_created_user_before_its_first_chowned_copy() {
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
                "/srv/app/**",
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
                "FROM python:3.12\nWORKDIR /srv/app\n{DEBIAN_USER}COPY --chown=app:app requirements.txt .\nRUN pip install -r requirements.txt\nCOPY --chown=app:app src/ src/\nUSER app\nCMD python -m app\n"
            )
        );
        // No WORKDIR: no --chown, and the RUN goes right before USER.
        assert_eq!(
            fix("FROM python:3.12-slim\nCOPY app.py /app.py\nCMD [\"python\", \"/app.py\"]\n"),
            format!(
                "FROM python:3.12-slim\nCOPY app.py /app.py\n{DEBIAN_USER}USER app\nCMD [\"python\", \"/app.py\"]\n"
            )
        );
    }

    #[test]
    fn alpine_uses_busybox_adduser() {
        assert_eq!(
            fix("FROM alpine:3.20\nCOPY run.sh /usr/local/bin/\nENTRYPOINT [\"run.sh\"]\n"),
            "FROM alpine:3.20\nCOPY run.sh /usr/local/bin/\nRUN addgroup -S -g 10001 app && adduser -S -D -u 10001 -G app -h /home/app -s /sbin/nologin app\nUSER app\nENTRYPOINT [\"run.sh\"]\n"
        );
    }

    #[test]
    fn keyword_case_line_endings_and_indentation_are_kept() {
        assert_eq!(
            fix("from node:22\r\nworkdir /app\r\ncopy . .\r\n  cmd [\"node\", \"x.js\"]\r\n"),
            "from node:22\r\nworkdir /app\r\ncopy --chown=node:node . .\r\n  user node\r\n  cmd [\"node\", \"x.js\"]\r\n"
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
    fn user_goes_after_a_last_user_root() {
        assert_eq!(
            fix("FROM node:22\nRUN npm ci\nHEALTHCHECK CMD x\nUSER root\nCMD [\"node\"]\n"),
            "FROM node:22\nRUN npm ci\nHEALTHCHECK CMD x\nUSER root\nUSER node\nCMD [\"node\"]\n"
        );
        // The user is created as root, not as an earlier USER.
        reported(
            "FROM python:3.12\nUSER 1000\nWORKDIR /app\nCOPY . .\nUSER root\nCMD python\n",
            "USER 1000 is in effect where the user would be created",
        );
    }

    #[test]
    fn copy_link_gets_numeric_ids() {
        assert_eq!(
            fix("FROM python:3.12\nWORKDIR /app\nCOPY --link . .\nCMD python\n"),
            format!(
                "FROM python:3.12\nWORKDIR /app\n{DEBIAN_USER}COPY --chown=10001:10001 --link . .\nUSER app\nCMD python\n"
            )
        );
        assert_eq!(
            fix("FROM node:22\nWORKDIR /app\nCOPY --link . .\nCMD node\n"),
            "FROM node:22\nWORKDIR /app\nCOPY --chown=1000:1000 --link . .\nUSER node\nCMD node\n"
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
            "FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM node:22-slim\nWORKDIR /app\nCOPY --chown=node:node --from=build /out/app ./app\nUSER node\nCMD [\"./app\"]\n"
        );
        // FROM <stage>: the image and WORKDIR come from the parent.
        let text =
            "FROM python:3.12-slim AS base\nWORKDIR /app\nFROM base\nCOPY . .\nCMD python -m app\n";
        assert_eq!(
            fix(text),
            format!(
                "FROM python:3.12-slim AS base\nWORKDIR /app\nFROM base\n{DEBIAN_USER}COPY --chown=app:app . .\nUSER app\nCMD python -m app\n"
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
            "FROM gcr.io/distroless/static-debian12\nWORKDIR /app\nCOPY --chown=nonroot:nonroot app .\nUSER nonroot\nENTRYPOINT [\"/app/app\"]\n"
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
}
