//! The owned model of a parsed script: nodes, commands, words, redirects, operators.

use std::ops::Range;

use crate::word::Literal;

/// A stretch of shell text: its range in the clean text and the file range it came from.
///
/// The file range runs from the first to the last byte (covering continuation gaps and
/// dropped comment lines in between).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte range in the clean shell text ([`crate::ShellSource::text`]).
    pub clean: Range<usize>,
    /// Byte range in the Dockerfile.
    pub file: Range<usize>,
}

impl Span {
    /// The smallest span covering both `self` and `other` (by clean offsets).
    #[must_use]
    pub fn cover(&self, other: &Span) -> Span {
        let (start, end) = (
            if other.clean.start < self.clean.start {
                other
            } else {
                self
            },
            if other.clean.end > self.clean.end {
                other
            } else {
                self
            },
        );
        Span {
            clean: start.clean.start..end.clean.end,
            file: start.file.start..end.file.end.max(start.file.start),
        }
    }

    /// Whether the clean range is empty.
    pub fn is_empty(&self) -> bool {
        self.clean.is_empty()
    }
}

/// One shell word (command name, argument, assignment value, redirect target, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// Where the word is.
    pub span: Span,
    /// The text as written in the clean shell string (quotes and escapes included).
    pub raw: String,
    pub(crate) literal: Literal,
    pub(crate) pattern: bool,
    pub(crate) tilde: bool,
    pub(crate) quoted: bool,
    /// Command and process substitutions inside the word (`$(..)`, `` `..` ``, `<(..)`),
    /// outermost first. Their commands run before the word's command.
    pub substitutions: Vec<Substitution>,
}

impl Word {
    /// The text as written.
    pub fn text(&self) -> &str {
        &self.raw
    }

    /// The literal value after quote removal, or `None` when the word contains an expansion
    /// (`$x`, `${x}`, `$(..)`, backticks, `$((..))`, `$'..'`) or an unterminated quote.
    ///
    /// Glob characters and a leading `~` are left as written; see [`Word::has_pattern`] and
    /// [`Word::has_tilde`].
    pub fn value(&self) -> Option<&str> {
        match &self.literal {
            Literal::Same => Some(&self.raw),
            Literal::Unquoted(s) => Some(s),
            Literal::Dynamic => None,
        }
    }

    /// Whether the word has a literal value (see [`Word::value`]).
    pub fn is_literal(&self) -> bool {
        self.literal != Literal::Dynamic
    }

    /// Whether the word's literal value is exactly `literal` (`"install"`, `'install'` and
    /// `install` all are `install`).
    pub fn is(&self, literal: &str) -> bool {
        self.value() == Some(literal)
    }

    /// Whether the word contains unquoted glob characters (`*`, `?`, `[`) or a bash brace
    /// pattern (`{a,b}`, `{1..3}`), so the shell may turn it into other words.
    pub fn has_pattern(&self) -> bool {
        self.pattern
    }

    /// Whether the word starts with an unquoted `~`, which the shell expands.
    pub fn has_tilde(&self) -> bool {
        self.tilde
    }

    /// Whether some part of the word is quoted or backslash-escaped.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// Whether the word is a literal option: starts with `-`, is not `-` or `--`.
    pub fn is_flag(&self) -> bool {
        self.value()
            .is_some_and(|v| v.len() > 1 && v.starts_with('-') && v != "--")
    }

    /// Whether the word is the long option `name` (given with its dashes, e.g.
    /// `"--no-cache-dir"`), alone or as `name=value`.
    pub fn is_long_flag(&self, name: &str) -> bool {
        self.value().is_some_and(|v| {
            v.strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
        })
    }

    /// Whether the word is a cluster of short options (`-y`, `-qq`, `-qy`) containing `c`.
    pub fn has_short_flag(&self, c: char) -> bool {
        self.value().is_some_and(|v| {
            v.strip_prefix('-')
                .is_some_and(|rest| !rest.starts_with('-') && rest.contains(c))
        })
    }

    /// Whether the word matches `flag`: `"--name"` is checked with [`Word::is_long_flag`],
    /// `"-x"` with [`Word::has_short_flag`], anything else for equality.
    pub fn matches_flag(&self, flag: &str) -> bool {
        if flag.starts_with("--") {
            self.is_long_flag(flag)
        } else if let Some(c) = single_short_flag(flag) {
            self.has_short_flag(c)
        } else {
            self.is(flag)
        }
    }
}

/// `Some(c)` when `flag` is `-c` for a single character `c`.
fn single_short_flag(flag: &str) -> Option<char> {
    let mut chars = flag.strip_prefix('-')?.chars();
    let c = chars.next()?;
    (chars.next().is_none() && c != '-').then_some(c)
}

/// A command substitution `$(..)` / `` `..` `` or a process substitution `<(..)` / `>(..)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Substitution {
    /// The whole substitution, delimiters included.
    pub span: Span,
    /// Which form it has.
    pub kind: SubstitutionKind,
    /// The script inside.
    pub body: List,
}

/// The form of a [`Substitution`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubstitutionKind {
    /// `$( .. )`
    Dollar,
    /// `` ` .. ` ``
    Backtick,
    /// `<( .. )` (bash)
    ProcessInput,
    /// `>( .. )` (bash)
    ProcessOutput,
}

/// A variable assignment, `NAME=value` or `NAME+=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The whole assignment.
    pub span: Span,
    /// The variable name as written (may include a bash subscript, `a[1]`).
    pub name: String,
    /// `+=` rather than `=`.
    pub append: bool,
    /// The value word; `None` for `NAME=` (empty value).
    pub value: Option<Word>,
}

/// The operator of a [`Redirect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RedirectOp {
    /// `<`
    Read,
    /// `>`
    Write,
    /// `>>`
    Append,
    /// `>|`
    Clobber,
    /// `&>` (bash: stdout and stderr)
    WriteAll,
    /// `&>>` (bash)
    AppendAll,
    /// `<&`
    DupRead,
    /// `>&`
    DupWrite,
    /// `<&-`
    CloseRead,
    /// `>&-`
    CloseWrite,
    /// `<<` (heredoc)
    Heredoc,
    /// `<<-` (heredoc, leading tabs stripped)
    HeredocStripTabs,
    /// `<<<` (bash herestring)
    HereString,
}

impl RedirectOp {
    /// The operator as written (without file descriptor).
    pub fn as_str(self) -> &'static str {
        match self {
            RedirectOp::Read => "<",
            RedirectOp::Write => ">",
            RedirectOp::Append => ">>",
            RedirectOp::Clobber => ">|",
            RedirectOp::WriteAll => "&>",
            RedirectOp::AppendAll => "&>>",
            RedirectOp::DupRead => "<&",
            RedirectOp::DupWrite => ">&",
            RedirectOp::CloseRead => "<&-",
            RedirectOp::CloseWrite => ">&-",
            RedirectOp::Heredoc => "<<",
            RedirectOp::HeredocStripTabs => "<<-",
            RedirectOp::HereString => "<<<",
        }
    }

    pub(crate) fn from_token(token: &str) -> Option<Self> {
        Some(match token {
            "<" => RedirectOp::Read,
            ">" => RedirectOp::Write,
            ">>" => RedirectOp::Append,
            ">|" => RedirectOp::Clobber,
            "&>" => RedirectOp::WriteAll,
            "&>>" => RedirectOp::AppendAll,
            "<&" => RedirectOp::DupRead,
            ">&" => RedirectOp::DupWrite,
            "<&-" => RedirectOp::CloseRead,
            ">&-" => RedirectOp::CloseWrite,
            "<<" => RedirectOp::Heredoc,
            "<<-" => RedirectOp::HeredocStripTabs,
            "<<<" => RedirectOp::HereString,
            _ => return None,
        })
    }
}

/// A redirection such as `> /dev/null`, `2>&1`, `<<EOF` or `<<< "$x"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// From the file descriptor (or operator) to the end of the target. For a heredoc this is
    /// `<<EOF` only; the body is in [`Heredoc::body`].
    pub span: Span,
    /// The explicit file descriptor (`2` in `2>&1`), if any and numeric.
    pub fd: Option<u32>,
    /// The operator.
    pub op: RedirectOp,
    /// The target word (file name, descriptor number, heredoc delimiter, herestring).
    /// `None` for `<&-`/`>&-` without a target.
    pub target: Option<Word>,
    /// The body of a heredoc (`<<`/`<<-`).
    pub heredoc: Option<Heredoc>,
}

impl Redirect {
    /// The redirect as written, e.g. `2>&1` or `> /dev/null` (for a heredoc, `<<EOF`).
    pub fn text<'t>(&self, script_text: &'t str) -> &'t str {
        script_text.get(self.span.clean.clone()).unwrap_or("")
    }

    /// Whether this sends a descriptor to `/dev/null` (`>/dev/null`, `2>/dev/null`,
    /// `&>/dev/null`, `>>/dev/null`).
    pub fn is_to_dev_null(&self) -> bool {
        matches!(
            self.op,
            RedirectOp::Write
                | RedirectOp::Append
                | RedirectOp::Clobber
                | RedirectOp::WriteAll
                | RedirectOp::AppendAll
        ) && self.target.as_ref().is_some_and(|t| t.is("/dev/null"))
    }

    /// Whether this is `2>&1`.
    pub fn is_stderr_to_stdout(&self) -> bool {
        self.fd == Some(2)
            && self.op == RedirectOp::DupWrite
            && self.target.as_ref().is_some_and(|t| t.is("1"))
    }
}

/// The body of a shell heredoc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    /// The body lines, up to (not including) the terminator line. May be empty.
    pub body: Span,
    /// The terminator line (`EOF`), when present.
    pub terminator: Option<Span>,
    /// The delimiter was quoted (`<<'EOF'`, `<<"EOF"`, `<<\EOF`): no expansion in the body.
    pub quoted: bool,
    /// `<<-`: leading tabs are stripped from body lines.
    pub strip_tabs: bool,
    /// Command substitutions in an unquoted body; they run when the heredoc is read.
    pub substitutions: Vec<Substitution>,
}

/// What kind of shell construct a [`Command`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// An ordinary simple command (or only assignments/redirects).
    Simple,
    /// `export`, `local`, `declare`, `readonly`, `typeset`: the arguments (e.g. `A=1`) are in
    /// [`Command::args`] as words.
    Declaration,
    /// `unset` / `unsetenv`.
    Unset,
    /// `[ .. ]` or `[[ .. ]]`: the name is `[`/`[[` and the arguments are the tokens inside,
    /// ending with `]`/`]]`.
    Test,
}

/// Where a command sits, as far as shell state is concerned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Context {
    /// Inside `( .. )`.
    pub subshell: bool,
    /// Inside `$( .. )`, backticks or `<( .. )`/`>( .. )`.
    pub substitution: bool,
    /// A stage of a pipeline with two or more commands.
    pub pipeline: bool,
    /// Part of an and-or list run in the background (`a && b &`).
    pub background: bool,
    /// Inside a function body.
    pub function: bool,
    /// Inside `if`/`for`/`while`/`until`/`case`/`{ }` (condition or body).
    pub compound: bool,
}

impl Context {
    /// Whether the command runs in the shell process itself, so `cd`, `export`, `set`,
    /// `source`, `umask`, ... change the state seen by later commands of the RUN.
    ///
    /// False inside subshells, substitutions, pipelines (every stage is a subshell in `sh`)
    /// and background jobs. Function bodies count as main-shell (they run in the caller).
    pub fn runs_in_main_shell(&self) -> bool {
        !(self.subshell || self.substitution || self.pipeline || self.background)
    }
}

/// A simple command: `[assignments] [name [args]] [redirects]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The command from its first to its last token (prefix assignments and trailing
    /// redirects included; a heredoc body is not, see [`Command::span_with_heredocs`]).
    pub span: Span,
    /// What construct the command came from.
    pub kind: CommandKind,
    /// The command name; `None` for a bare assignment (`FOO=1`) or redirect (`> f`).
    pub name: Option<Word>,
    /// The arguments, in order.
    pub args: Vec<Word>,
    /// Assignments before the name (`A=b cmd`), or all of them for a bare assignment.
    pub assignments: Vec<Assignment>,
    /// Redirections, in source order.
    pub redirects: Vec<Redirect>,
    /// Where the command runs; see [`Context::runs_in_main_shell`].
    pub context: Context,
}

impl Command {
    /// The literal value of the name, if it has one.
    pub fn name_value(&self) -> Option<&str> {
        self.name.as_ref().and_then(Word::value)
    }

    /// Whether the command name is literally `name`.
    pub fn is(&self, name: &str) -> bool {
        self.name.as_ref().is_some_and(|w| w.is(name))
    }

    /// The program's base name: the literal name after the last `/` (`/usr/bin/apt-get` gives
    /// `apt-get`).
    pub fn program(&self) -> Option<&str> {
        self.name_value()
            .map(|n| n.rsplit_once('/').map_or(n, |(_, base)| base))
    }

    /// The program the command runs, seen through the `command` and `builtin` builtins:
    /// `command cd /etc` and `builtin cd /home` run `cd`, which changes the shell's state
    /// just as a bare `cd` does. The base name, as [`Command::program`] gives it. `None`
    /// when a name is not literal, and for `command -v`/`-V`, which only look a name up.
    pub fn invoked_program(&self) -> Option<&str> {
        let mut words = self.words();
        let mut word = words.next()?;
        loop {
            let name = word.value()?;
            let base = name.rsplit_once('/').map_or(name, |(_, base)| base);
            if base != "command" && base != "builtin" {
                return Some(base);
            }
            word = words.next()?;
            // `command [-p] [--] name`, `builtin [--] name`.
            while let Some(option) = word.value().filter(|v| v.starts_with('-') && v.len() > 1) {
                if option != "--" && base == "command" && option.contains(['v', 'V']) {
                    return None;
                }
                word = words.next()?;
                if option == "--" {
                    break;
                }
            }
        }
    }

    /// The name (if any) followed by the arguments.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.name.iter().chain(&self.args)
    }

    /// Whether some argument is literally `literal`.
    pub fn has_arg(&self, literal: &str) -> bool {
        self.args.iter().any(|a| a.is(literal))
    }

    /// Whether some argument before a literal `--` matches `flag` (see
    /// [`Word::matches_flag`]): `has_flag("-y")` is true for `-y` and `-qy`,
    /// `has_flag("--no-cache-dir")` for `--no-cache-dir`.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.args
            .iter()
            .take_while(|a| !a.is("--"))
            .any(|a| a.matches_flag(flag))
    }

    /// The first of `flags` the command has ([`Command::has_flag`]), as given.
    pub fn first_flag<'f, S: AsRef<str>>(&self, flags: &'f [S]) -> Option<&'f str> {
        flags.iter().map(AsRef::as_ref).find(|f| self.has_flag(f))
    }

    /// Whether every one of `words` is a flag ([`Command::has_flag`]) or a positional
    /// argument of the command: `["prune", "--omit=dev"]` for `npm prune --omit=dev`.
    pub fn has_all<S: AsRef<str>>(&self, words: &[S]) -> bool {
        words.iter().all(|w| {
            let w = w.as_ref();
            self.has_flag(w) || self.positionals().any(|p| p.value() == Some(w))
        })
    }

    /// The arguments that are not flags (everything after a literal `--` counts as
    /// positional). Option values given as separate words (`-o value`) are not told apart.
    pub fn positionals(&self) -> impl Iterator<Item = &Word> {
        let mut after_dashes = false;
        self.args.iter().filter(move |a| {
            if after_dashes {
                return true;
            }
            if a.is("--") {
                after_dashes = true;
                return false;
            }
            !a.is_flag()
        })
    }

    /// [`Command::span`] extended to the end of the last heredoc terminator, if any.
    pub fn span_with_heredocs(&self) -> Span {
        self.redirects
            .iter()
            .filter_map(|r| r.heredoc.as_ref())
            .fold(self.span.clone(), |acc, h| {
                acc.cover(h.terminator.as_ref().unwrap_or(&h.body))
            })
    }
}

/// A shell operator with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// Which operator.
    pub kind: OpKind,
    /// Where it is (for [`OpKind::Newline`], the newline character).
    pub span: Span,
}

/// The kinds of operators joining commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `;`
    Semi,
    /// `&` (run in background)
    Background,
    /// A newline separating commands.
    Newline,
    /// `|`
    Pipe,
    /// `|&` (bash)
    PipeAll,
    /// `;;` ending a case item.
    CaseBreak,
    /// `;&` ending a case item (bash fall-through).
    CaseFallThrough,
    /// `;;&` ending a case item (bash: test the next patterns).
    CaseContinue,
}

impl OpKind {
    /// The operator as written (`"\n"` for a newline).
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::And => "&&",
            OpKind::Or => "||",
            OpKind::Semi => ";",
            OpKind::Background => "&",
            OpKind::Newline => "\n",
            OpKind::Pipe => "|",
            OpKind::PipeAll => "|&",
            OpKind::CaseBreak => ";;",
            OpKind::CaseFallThrough => ";&",
            OpKind::CaseContinue => ";;&",
        }
    }

    /// `&&` or `||`.
    pub fn is_and_or(self) -> bool {
        matches!(self, OpKind::And | OpKind::Or)
    }

    pub(crate) fn from_token(token: &str) -> Option<Self> {
        Some(match token {
            "&&" => OpKind::And,
            "||" => OpKind::Or,
            ";" => OpKind::Semi,
            "&" => OpKind::Background,
            "|" => OpKind::Pipe,
            "|&" => OpKind::PipeAll,
            ";;" => OpKind::CaseBreak,
            ";&" => OpKind::CaseFallThrough,
            ";;&" => OpKind::CaseContinue,
            _ => return None,
        })
    }
}

/// A sequence of and-or lists: items joined by `&&`, `||`, `;`, `&` and newlines.
///
/// `&&`/`||` bind tighter than `;`/`&`/newline, and all are left-associative, so the flat
/// sequence is unambiguous: `a && b & c` runs `a && b` in the background, then `c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List {
    /// From the first item to the last terminator (empty when there are no items).
    pub span: Span,
    /// The items in order.
    pub items: Vec<ListItem>,
}

impl List {
    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The operators after each item, in order (the last item's may be absent).
    pub fn operators(&self) -> impl Iterator<Item = &Operator> {
        self.items.iter().filter_map(|i| i.terminator.as_ref())
    }

    /// Whether the list is a chain of simple commands joined only by `&&` (a trailing `;` or
    /// newline is allowed, a trailing `&` is not). A single command counts; an empty list
    /// does not.
    pub fn is_and_chain(&self) -> bool {
        let Some((last, init)) = self.items.split_last() else {
            return false;
        };
        init.iter().all(|i| {
            matches!(i.node, Node::Command(_))
                && i.terminator.as_ref().is_some_and(|t| t.kind == OpKind::And)
        }) && matches!(last.node, Node::Command(_))
            && last
                .terminator
                .as_ref()
                .is_none_or(|t| matches!(t.kind, OpKind::Semi | OpKind::Newline))
    }

    /// Whether the last and-or list runs in the background (`... &` at the end).
    pub fn ends_in_background(&self) -> bool {
        self.items
            .last()
            .and_then(|i| i.terminator.as_ref())
            .is_some_and(|t| t.kind == OpKind::Background)
    }

    /// Whether some item is followed by an operator of kind `kind`.
    pub fn uses(&self, kind: OpKind) -> bool {
        self.operators().any(|o| o.kind == kind)
    }

    /// The items split into and-or lists (maximal runs joined by `&&`/`||`), each with the
    /// separator that ends it (`;`, `&`, newline, or none).
    pub fn and_or_lists(&self) -> Vec<(&[ListItem], Option<&Operator>)> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, item) in self.items.iter().enumerate() {
            match &item.terminator {
                Some(op) if op.kind.is_and_or() => {}
                sep => {
                    out.push((&self.items[start..=i], sep.as_ref()));
                    start = i + 1;
                }
            }
        }
        if start < self.items.len() {
            out.push((&self.items[start..], None));
        }
        out
    }
}

/// One item of a [`List`] and the operator after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListItem {
    /// A command, pipeline or compound command.
    pub node: Node,
    /// The operator after it, if any.
    pub terminator: Option<Operator>,
}

/// A pipeline of two or more stages, or a negated (`!`) command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// From `!` (or the first stage) to the end of the last stage.
    pub span: Span,
    /// The `!` in front, if any.
    pub bang: Option<Span>,
    /// The stages (one stage only when negated).
    pub stages: Vec<Node>,
    /// The `|`/`|&` operators, one between each two stages.
    pub operators: Vec<Operator>,
}

/// `( .. )` or `{ ..; }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compound {
    /// The whole construct, delimiters included.
    pub span: Span,
    /// What is inside.
    pub body: List,
}

/// `if .. then .. [elif .. then ..] [else ..] fi`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct If {
    /// From `if` to `fi`.
    pub span: Span,
    /// The `if` and `elif` branches, in order.
    pub branches: Vec<IfBranch>,
    /// The `else` part.
    pub else_body: Option<List>,
}

/// One `if`/`elif` condition and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfBranch {
    /// The condition commands.
    pub condition: List,
    /// The `then` part.
    pub body: List,
}

/// `for name [in words]; do ..; done`, or bash's `for ((..;..;..))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct For {
    /// From `for` to `done`.
    pub span: Span,
    /// The loop variable (`None` for the arithmetic form).
    pub variable: Option<Word>,
    /// The words after `in`; `None` when there is no `in` (loops over `"$@"`) or for the
    /// arithmetic form.
    pub items: Option<Vec<Word>>,
    /// The arithmetic form `for ((..))`.
    pub arithmetic: bool,
    /// The loop body.
    pub body: List,
}

/// `while`/`until` loops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct While {
    /// From `while`/`until` to `done`.
    pub span: Span,
    /// `until` rather than `while`.
    pub until: bool,
    /// The condition commands.
    pub condition: List,
    /// The loop body.
    pub body: List,
}

/// `case word in pattern) ..;; esac`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// From `case` to `esac`.
    pub span: Span,
    /// The word being matched.
    pub subject: Word,
    /// The items.
    pub items: Vec<CaseItem>,
}

/// One `pattern | pattern) body ;;` of a [`Case`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseItem {
    /// The whole item.
    pub span: Span,
    /// The patterns.
    pub patterns: Vec<Word>,
    /// The commands.
    pub body: List,
    /// `;;`, `;&` or `;;&` (absent for a last item without one).
    pub terminator: Option<Operator>,
}

/// `name() body` or `function name body`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// The whole definition.
    pub span: Span,
    /// The function name.
    pub name: Word,
    /// The body (usually a [`Node::Group`]).
    pub body: Box<Node>,
}

/// A compound command with redirections, e.g. `{ a; b; } > log` or `while ..; done < f`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirected {
    /// The body and its redirections.
    pub span: Span,
    /// The compound command.
    pub body: Box<Node>,
    /// The redirections.
    pub redirects: Vec<Redirect>,
}

/// A construct the model does not describe (`(( .. ))`, parse errors, ...), kept with its
/// span so no text is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Other {
    /// Where it is.
    pub span: Span,
    /// The tree-sitter-bash node kind, for diagnostics (e.g. `"ERROR"`, `"arithmetic"`).
    pub kind: String,
    /// Command substitutions found inside.
    pub substitutions: Vec<Substitution>,
}

/// A node of the script structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A simple command.
    Command(Command),
    /// A pipeline (two or more stages) or a negated command.
    Pipeline(Pipeline),
    /// `( .. )`
    Subshell(Compound),
    /// `{ ..; }`
    Group(Compound),
    /// `if`
    If(If),
    /// `for`
    For(For),
    /// `while` / `until`
    While(While),
    /// `case`
    Case(Case),
    /// A function definition.
    Function(Function),
    /// A compound command with redirections.
    Redirected(Redirected),
    /// Anything else.
    Other(Other),
}

impl Node {
    /// The node's span.
    pub fn span(&self) -> &Span {
        match self {
            Node::Command(c) => &c.span,
            Node::Pipeline(p) => &p.span,
            Node::Subshell(c) | Node::Group(c) => &c.span,
            Node::If(i) => &i.span,
            Node::For(f) => &f.span,
            Node::While(w) => &w.span,
            Node::Case(c) => &c.span,
            Node::Function(f) => &f.span,
            Node::Redirected(r) => &r.span,
            Node::Other(o) => &o.span,
        }
    }

    /// The command, if this node is a simple command.
    pub fn as_command(&self) -> Option<&Command> {
        match self {
            Node::Command(c) => Some(c),
            _ => None,
        }
    }

    /// Calls `f` on this node and every node below it, in pre-order, including nodes inside
    /// substitutions and heredoc bodies.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        f(self);
        self.for_each_child(&mut |child| match child {
            Child::List(list) => list.walk(f),
            Child::Node(node) => node.walk(f),
        });
    }

    /// Calls `visit` for each list and node directly below this node (including substitution
    /// bodies in its words and heredocs).
    fn for_each_child<'a>(&'a self, visit: &mut dyn FnMut(Child<'a>)) {
        let subs = |subs: &'a [Substitution], visit: &mut dyn FnMut(Child<'a>)| {
            for s in subs {
                visit(Child::List(&s.body));
            }
        };
        match self {
            Node::Command(c) => {
                for s in command_substitutions(c) {
                    visit(Child::List(&s.body));
                }
            }
            Node::Pipeline(p) => {
                for stage in &p.stages {
                    visit(Child::Node(stage));
                }
            }
            Node::Subshell(c) | Node::Group(c) => visit(Child::List(&c.body)),
            Node::If(i) => {
                for b in &i.branches {
                    visit(Child::List(&b.condition));
                    visit(Child::List(&b.body));
                }
                if let Some(e) = &i.else_body {
                    visit(Child::List(e));
                }
            }
            Node::For(f) => {
                for w in f.variable.iter().chain(f.items.iter().flatten()) {
                    subs(&w.substitutions, visit);
                }
                visit(Child::List(&f.body));
            }
            Node::While(w) => {
                visit(Child::List(&w.condition));
                visit(Child::List(&w.body));
            }
            Node::Case(c) => {
                subs(&c.subject.substitutions, visit);
                for item in &c.items {
                    for p in &item.patterns {
                        subs(&p.substitutions, visit);
                    }
                    visit(Child::List(&item.body));
                }
            }
            Node::Function(f) => visit(Child::Node(&f.body)),
            Node::Redirected(r) => {
                visit(Child::Node(&r.body));
                for s in redirect_substitutions(&r.redirects) {
                    visit(Child::List(&s.body));
                }
            }
            Node::Other(o) => subs(&o.substitutions, visit),
        }
    }
}

/// A list or node directly below a node.
enum Child<'a> {
    List(&'a List),
    Node(&'a Node),
}

/// All substitutions in a command's words, assignments and redirects.
fn command_substitutions(c: &Command) -> impl Iterator<Item = &Substitution> {
    c.assignments
        .iter()
        .filter_map(|a| a.value.as_ref())
        .chain(c.name.iter())
        .chain(&c.args)
        .flat_map(|w| &w.substitutions)
        .chain(redirect_substitutions(&c.redirects))
}

/// All substitutions in redirect targets and heredoc bodies.
fn redirect_substitutions(redirects: &[Redirect]) -> impl Iterator<Item = &Substitution> {
    redirects.iter().flat_map(|r| {
        r.target
            .iter()
            .flat_map(|t| &t.substitutions)
            .chain(r.heredoc.iter().flat_map(|h| &h.substitutions))
    })
}

impl List {
    /// Calls `f` on every node in the list and below, in pre-order.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        for item in &self.items {
            item.node.walk(f);
        }
    }

    /// Every simple command in the list and below (including substitutions), sorted by
    /// position.
    pub fn commands(&self) -> Vec<&Command> {
        let mut out = Vec::new();
        self.walk(&mut |n| {
            if let Node::Command(c) = n {
                out.push(c);
            }
        });
        out.sort_by_key(|c| c.span.clean.start);
        out
    }
}

/// Sets the [`Context`] of every command in `list`, which runs in context `ctx`.
pub(crate) fn assign_context(list: &mut List, ctx: Context) {
    let n = list.items.len();
    let mut background = vec![false; n];
    let mut bg = false;
    for i in (0..n).rev() {
        bg = match list.items[i].terminator.as_ref().map(|t| t.kind) {
            Some(OpKind::Background) => true,
            Some(OpKind::And | OpKind::Or) => bg,
            _ => false,
        };
        background[i] = bg;
    }
    for (item, bg) in list.items.iter_mut().zip(background) {
        let mut c = ctx;
        c.background |= bg;
        assign_node(&mut item.node, c);
    }
}

fn assign_node(node: &mut Node, ctx: Context) {
    let compound = Context {
        compound: true,
        ..ctx
    };
    match node {
        Node::Command(c) => {
            c.context = ctx;
            let sub = Context {
                substitution: true,
                ..ctx
            };
            for s in command_substitutions_mut(c) {
                assign_context(&mut s.body, sub);
            }
        }
        Node::Pipeline(p) => {
            let mut c = ctx;
            c.pipeline |= p.stages.len() > 1;
            for s in &mut p.stages {
                assign_node(s, c);
            }
        }
        Node::Subshell(s) => assign_context(
            &mut s.body,
            Context {
                subshell: true,
                ..ctx
            },
        ),
        Node::Group(g) => assign_context(&mut g.body, compound),
        Node::If(i) => {
            for b in &mut i.branches {
                assign_context(&mut b.condition, compound);
                assign_context(&mut b.body, compound);
            }
            if let Some(e) = &mut i.else_body {
                assign_context(e, compound);
            }
        }
        Node::For(f) => {
            let sub = Context {
                substitution: true,
                ..ctx
            };
            for w in f.variable.iter_mut().chain(f.items.iter_mut().flatten()) {
                for s in &mut w.substitutions {
                    assign_context(&mut s.body, sub);
                }
            }
            assign_context(&mut f.body, compound);
        }
        Node::While(w) => {
            assign_context(&mut w.condition, compound);
            assign_context(&mut w.body, compound);
        }
        Node::Case(c) => {
            let sub = Context {
                substitution: true,
                ..ctx
            };
            for s in &mut c.subject.substitutions {
                assign_context(&mut s.body, sub);
            }
            for item in &mut c.items {
                for p in &mut item.patterns {
                    for s in &mut p.substitutions {
                        assign_context(&mut s.body, sub);
                    }
                }
                assign_context(&mut item.body, compound);
            }
        }
        Node::Function(f) => assign_node(
            &mut f.body,
            Context {
                function: true,
                ..ctx
            },
        ),
        Node::Redirected(r) => {
            assign_node(&mut r.body, ctx);
            let sub = Context {
                substitution: true,
                ..ctx
            };
            for s in redirect_substitutions_mut(&mut r.redirects) {
                assign_context(&mut s.body, sub);
            }
        }
        Node::Other(o) => {
            let sub = Context {
                substitution: true,
                ..ctx
            };
            for s in &mut o.substitutions {
                assign_context(&mut s.body, sub);
            }
        }
    }
}

fn command_substitutions_mut(c: &mut Command) -> impl Iterator<Item = &mut Substitution> {
    c.assignments
        .iter_mut()
        .filter_map(|a| a.value.as_mut())
        .chain(c.name.iter_mut())
        .chain(&mut c.args)
        .flat_map(|w| &mut w.substitutions)
        .chain(redirect_substitutions_mut(&mut c.redirects))
}

fn redirect_substitutions_mut(
    redirects: &mut [Redirect],
) -> impl Iterator<Item = &mut Substitution> {
    redirects.iter_mut().flat_map(|r| {
        r.target
            .iter_mut()
            .flat_map(|t| &mut t.substitutions)
            .chain(r.heredoc.iter_mut().flat_map(|h| &mut h.substitutions))
    })
}
