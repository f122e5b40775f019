//! The bash texts that run inside the sandbox: the stub library, the prelude every RUN
//! shell reads through `BASH_ENV`, the stub files placed at absolute paths, and the driver
//! that runs a stage's RUNs one after the other.
//!
//! # How a program becomes a stub
//!
//! * A bare name (`apt-get`) is looked up in PATH, whose folders hold no executables, so
//!   bash calls `command_not_found_handle` (in a forked child, as it would run a program).
//!   Each name seen once is defined as a shell *function* in later runs (`apt-get() {
//!   __oracle_stub apt-get "$@"; }`): the record is the same, but no fork is needed, which
//!   makes stub calls about ten times cheaper. Bash 5 in POSIX mode does not keep prefix
//!   assignments after a function returns, so `A=1 apt-get` behaves as with a program.
//!   `command apt-get` skips functions and still reaches the handler.
//! * A path (`/usr/bin/apt-get`, `./configure`) is executed directly and fails with 127
//!   without calling the handler. The host reads bash's "No such file or directory"
//!   messages and places a stub *file* there for the next run (see `sandbox`). The file has
//!   no `#!`, so bash runs it as a script in a fresh child; it records the call and exits.
//!   Sourced (`. /etc/os-release`), it does nothing and returns 0.
//!
//! A stub reads its standard input to the end when it is a pipe before it records: the
//! writer of a pipeline then always records first, so records of `curl | tar` come in a
//! fixed order, and no writer dies of SIGPIPE because its reader left early.

use std::fmt::Write as _;

use crate::plan::{Action, Step};
use crate::trace::{END, START};

/// The log of records and standard output.
pub const TRACE_PATH: &str = "/oracle/out/trace";
/// The `cd`/`pushd` probe log: `PWD\0TARGET\0` for each folder a `cd` or `pushd` enters.
pub const PROBE_PATH: &str = "/oracle/out/probe";
/// The call counter of the program a replay makes fail on one call only.
pub const COUNT_PATH: &str = "/oracle/out/count";
/// The per-invocation scripts.
pub const RUN_DIR: &str = "/oracle/run";
/// bash itself.
pub const BASH_PATH: &str = "/oracle/bin/bash";
/// bash's shared libraries and the dynamic loader.
pub const LIB_DIR: &str = "/oracle/lib";

/// Quotes `s` for bash (single quotes).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `$'...'` for the record framing, so the raw bytes never appear in a script's text (a
/// RUN that prints `declare -f` must not forge a record).
fn ansi_c(s: &str) -> String {
    let mut out = String::from("$'");
    for c in s.chars() {
        if c.is_ascii_graphic() && c != '\'' && c != '\\' {
            out.push(c);
        } else {
            let _ = write!(out, "\\{:03o}", c as u32);
        }
    }
    out.push('\'');
    out
}

/// The stub library: `__oracle_stub ARGV...` records one call and returns 0, or 1 when the
/// call is one that `fail` makes fail: every call of the program, or only its `nth` (counted
/// from 1 over the whole replay, every RUN of the stage, in [`COUNT_PATH`]).
///
/// The environment goes into the record as the text of `export -p` (one field; bash quotes
/// every value on one line), which the host parses: enumerating variables in bash
/// (`${!A*}` for each first letter) costs more than the rest of the stub ten times over.
pub fn stub_library(fail: Option<&Fail>) -> String {
    let (program, nth) = fail.map_or(("", 0), |f| (f.program.as_str(), f.nth.unwrap_or(0)));
    format!(
        r#"# dockopt-trace: the stub every external program becomes.
__oracle_fail={program}
__oracle_fail_nth={nth}
__oracle_stub() {{
    local - __oracle_x __oracle_n=0 IFS=$' \t\n'
    set +euxvfC +o pipefail
    if [[ -p /dev/stdin ]]; then
        while IFS= read -r -d '' __oracle_x; do :; done
    fi
    {{
        printf '%s\0' {start} call "$#" "$@" "${{PWD-}}"
        builtin umask
        printf '\0'
        export -p
        printf '\0%s\0' {end}
    }} >>{trace}
    if [[ -n $__oracle_fail && ${{1##*/}} == "$__oracle_fail" ]]; then
        if [[ $__oracle_fail_nth == 0 ]]; then
            return 1
        fi
        if [[ -r {count} ]]; then
            read -r __oracle_n <{count}
        fi
        __oracle_n=$((__oracle_n + 1))
        printf '%s\n' "$__oracle_n" >|{count}
        if [[ $__oracle_n == "$__oracle_fail_nth" ]]; then
            return 1
        fi
    fi
    return 0
}}
"#,
        program = quote(program),
        start = ansi_c(START),
        end = ansi_c(END),
        trace = TRACE_PATH,
        count = COUNT_PATH,
    )
}

/// Which calls of a replay fail.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fail {
    /// The program, by name (`npm` matches `/usr/bin/npm` too).
    pub program: String,
    /// Only its nth call (from 1, counted over the replay); `None`: every call.
    pub nth: Option<usize>,
}

impl Fail {
    /// Every call of `program` fails.
    pub fn every(program: &str) -> Self {
        Self {
            program: program.to_owned(),
            nth: None,
        }
    }

    /// Only the `nth` call (from 1) of `program` fails.
    pub fn nth(program: &str, nth: usize) -> Self {
        Self {
            program: program.to_owned(),
            nth: Some(nth),
        }
    }
}

/// bash's keywords and builtins: a stub function with such a name would replace them.
const RESERVED: &[&str] = &[
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "do",
    "done",
    "case",
    "esac",
    "while",
    "until",
    "for",
    "in",
    "function",
    "select",
    "time",
    "coproc",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "echo",
    "enable",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "getopts",
    "hash",
    "help",
    "history",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
];

/// Whether `name` can be a stub function: bash accepts it, and it is no keyword or builtin.
pub fn is_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['-', '+', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c))
        && !RESERVED.contains(&name)
        && !name.starts_with("__oracle")
}

/// The prelude each RUN shell reads through `BASH_ENV`: the stub library, the handler, one
/// function per known program, the `cd`/`pushd` probes, and POSIX mode for sh-like shells.
pub fn prelude(functions: &[String], posix: bool) -> String {
    let mut out = format!(
        r#". {RUN_DIR}/stub.bash
command_not_found_handle() {{ __oracle_stub "$@"; }}
__oracle_probe() {{
    local - __oracle_a __oracle_d=
    set +euxvf
    for __oracle_a in "$@"; do
        case $__oracle_a in -*|+*) ;; *) __oracle_d=$__oracle_a ;; esac
    done
    if [[ $# -eq 0 || ( $# -eq 1 && $1 == -* ) ]]; then __oracle_d=${{HOME-}}; fi
    if [[ -n $__oracle_d && $__oracle_d != - ]]; then
        printf '%s\0' "${{PWD-}}" "$__oracle_d" >>{PROBE_PATH}
    fi
    return 0
}}
cd() {{ __oracle_probe "$@"; builtin cd "$@"; }}
pushd() {{ __oracle_probe "$@"; builtin pushd "$@"; }}
"#,
    );
    for name in functions {
        if is_function_name(name) {
            let _ = writeln!(out, "{name}() {{ __oracle_stub {name} \"$@\"; }}");
        }
    }
    if posix {
        out.push_str("set -o posix\n");
    }
    out
}

/// The content of a stub file placed at an absolute path.
pub fn stub_file() -> String {
    format!(
        r#"if [[ ${{BASH_SOURCE[0]-}} != "$0" ]]; then return 0 2>/dev/null || exit 0; fi
. {RUN_DIR}/stub.bash
__oracle_stub "$0" "$@"
"#
    )
}

/// The driver: runs each step in a fresh shell, in its folder, with its environment and
/// the umask BuildKit gives every RUN (022, whatever the host's is); stops at the first
/// that fails. `trace_kib` caps every file the replay writes.
pub fn driver(steps: &[Step], loader: &str, trace_kib: u64) -> String {
    // Each RUN runs as its own process group (`set -m`), and the driver waits until no
    // process of the group is left before it writes the end mark: a background job of a
    // RUN (`daemon &`) finishes its record inside its RUN, never across the next mark.
    // `read -t` on a pipe nobody writes is the driver's sleep.
    let mut out = format!(
        r#"exec </dev/null 2>/oracle/out/driver.err
ulimit -f {trace_kib}
umask {umask}
set -m
exec 8<> <(:)
__oracle_mark() {{ printf '%s\0' {start} mark "$@" {end} >>{trace}; }}
__oracle_settle() {{
    while kill -0 -- "-$1" 2>/dev/null; do read -r -t 0.002 -u 8 __oracle_x; done
}}
"#,
        start = ansi_c(START),
        end = ansi_c(END),
        trace = TRACE_PATH,
        umask = crate::trace::DEFAULT_UMASK,
    );
    let bash = format!("{loader} --library-path {LIB_DIR} {BASH_PATH}");
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "__oracle_mark begin {i}");
        let _ = write!(
            out,
            "( builtin cd -- {} || exit 126\n  export ",
            quote(&step.workdir)
        );
        let posix = match &step.action {
            Action::Shell { posix, .. } => *posix,
            Action::Exec { .. } => false,
        };
        let prelude = if posix { "prelude-sh" } else { "prelude-bash" };
        let _ = write!(out, "BASH_ENV={RUN_DIR}/{prelude}.bash");
        for (k, v) in &step.env {
            let _ = write!(out, " {}", quote(&format!("{k}={v}")));
        }
        out.push_str(" 2>/dev/null\n  exec ");
        out.push_str(&bash);
        match &step.action {
            Action::Shell { argv, text, .. } => {
                for a in argv.iter().skip(1) {
                    let _ = write!(out, " {}", quote(a));
                }
                let _ = write!(out, " {} {}", quote(text), quote(&argv[0]));
            }
            Action::Exec { argv } if argv.is_empty() => out.push_str(" -c 'exit 127'"),
            Action::Exec { argv } => {
                out.push_str(" -c '__oracle_stub \"$0\" \"$@\"'");
                for a in argv {
                    let _ = write!(out, " {}", quote(a));
                }
            }
        }
        let _ = writeln!(
            out,
            "\n) >>{TRACE_PATH} 2>/oracle/out/err.{i} &\n__oracle_pid=$!\n\
             wait \"$__oracle_pid\"\n__oracle_status=$?\n__oracle_settle \"$__oracle_pid\"\n\
             __oracle_mark end {i} \"$__oracle_status\"\n\
             if [[ $__oracle_status -ne 0 ]]; then exit 0; fi"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(ansi_c(START), r"$'\036ORC\037'");
    }

    #[test]
    fn function_names() {
        for ok in [
            "apt-get",
            "python3.11",
            "g++",
            "docker-php-ext-install",
            "7z",
        ] {
            assert!(is_function_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "-x",
            "if",
            "$x",
            "a/b",
            "__oracle_stub",
            "x=1",
            "[[",
            "echo",
            "cd",
            "test",
        ] {
            assert!(!is_function_name(bad), "{bad}");
        }
    }

    #[test]
    fn scripts_hold_no_raw_framing_bytes() {
        for text in [
            stub_library(Some(&Fail::nth("curl", 2))),
            prelude(&["a".into()], true),
        ] {
            assert!(!text.contains('\u{1e}') && !text.contains('\u{1f}'));
        }
    }
}
