//! The shell text of Dockerfile `RUN` instructions as a typed, owned model with byte ranges
//! back into the Dockerfile.
//!
//! # Why pieces
//!
//! The shell text of a `RUN` is not one contiguous stretch of the Dockerfile. Docker joins
//! continuation lines by removing the escape character (`\`, or `` ` `` under
//! `# escape=``) and the newline, and it drops comment lines and empty lines inside the
//! continuation; a heredoc body is joined to its command line with a newline. The Dockerfile
//! parser knows which byte ranges survive and hands them over as a list of [`Piece`]s.
//! [`ShellSource::from_pieces`] concatenates them into the *clean* text — exactly what
//! `/bin/sh -c` receives — and keeps a map from clean offsets back to file offsets, so
//! everything found in the clean text can be located (and rewritten) in the file.
//!
//! # The model
//!
//! [`parse`] runs tree-sitter-bash over the clean text and converts the tree into owned
//! structs ([`Script`], [`List`], [`Node`], [`Command`], [`Word`], ...); no tree-sitter types
//! leak out. Every item carries a [`Span`]: its clean range and its file range.
//!
//! * A [`List`] is a flat sequence of [`ListItem`]s, each followed by an optional
//!   [`Operator`] (`&&`, `||`, `;`, `&` or a newline). `&&`/`||` bind tighter than
//!   `;`/`&`/newline and all are left-associative, so the flat form is unambiguous; use
//!   [`List::and_or_lists`] to group it.
//! * Items are [`Node`]s: simple commands, pipelines (`|`, `|&`, leading `!`), subshells,
//!   groups, `if`/`for`/`while`/`case`, function definitions, compound commands with
//!   redirections, and [`Other`] for anything else (always with its span).
//! * A [`Command`] has its name, arguments, prefix assignments and redirects (heredoc bodies
//!   included, as [`Heredoc`]), and a [`Context`] telling whether it runs in the main shell
//!   (so `cd`/`export` would leak into later commands) or in a subshell, substitution,
//!   pipeline or background job.
//! * A [`Word`] keeps its raw text and, when it contains no expansion, its literal value
//!   after quote removal ([`Word::value`]); command substitutions inside it are parsed too.
//! * [`Script::commands`] lists every simple command, however deeply nested.
//!
//! A script is [opaque](Script::is_opaque) when tree-sitter reported an error, when the
//! model cannot represent it faithfully, or when it could not be parsed at all; rewriting
//! passes should leave such `RUN`s alone. Parsing never fails and never panics.
//!
//! Line and column numbers are not computed here; callers map file offsets with their own
//! line index.

mod build;
mod dockerfile;
mod model;
mod source;
mod word;

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;
use std::time::{Duration, Instant};

use tree_sitter::{ParseOptions, ParseState, Parser, Tree};

pub use dockerfile::{instruction_source, parse_instruction};
pub use model::{
    Assignment, Case, CaseItem, Command, CommandKind, Compound, Context, For, Function, Heredoc,
    If, IfBranch, List, ListItem, Node, OpKind, Operator, Other, Pipeline, Redirect, RedirectOp,
    Redirected, Span, Substitution, SubstitutionKind, While, Word,
};
pub use source::{Piece, ShellSource};

/// Clean texts longer than this are not parsed (the script is opaque).
const MAX_PARSE_BYTES: usize = 4 << 20;

/// Parsing that takes longer than this is abandoned (the script is opaque). Only
/// pathological inputs come near it.
const PARSE_TIME_LIMIT: Duration = Duration::from_secs(5);

/// A parsed `RUN` script.
#[derive(Clone, Debug)]
pub struct Script {
    source: ShellSource,
    root: List,
    opaque: bool,
    errors: Vec<Range<usize>>,
    comments: Vec<Span>,
}

impl Script {
    /// The clean text and offset map.
    pub fn source(&self) -> &ShellSource {
        &self.source
    }

    /// The clean shell text.
    pub fn text(&self) -> &str {
        self.source.text()
    }

    /// The clean text of `span`.
    pub fn slice(&self, span: &Span) -> &str {
        self.text().get(span.clean.clone()).unwrap_or("")
    }

    /// A span for a clean range (with its file range).
    pub fn span(&self, clean: Range<usize>) -> Span {
        Span {
            file: self.source.file_range(clean.clone()),
            clean,
        }
    }

    /// The top-level list of the script.
    pub fn root(&self) -> &List {
        &self.root
    }

    /// Whether the script must not be rewritten: tree-sitter found an ERROR or MISSING node,
    /// the model could not represent something faithfully, or the text could not be parsed.
    pub fn is_opaque(&self) -> bool {
        self.opaque
    }

    /// Clean ranges of tree-sitter's ERROR and MISSING nodes (the whole text when it could
    /// not be parsed at all).
    pub fn errors(&self) -> &[Range<usize>] {
        &self.errors
    }

    /// The shell comments (`# ...` up to the end of the line) in the clean text.
    pub fn comments(&self) -> &[Span] {
        &self.comments
    }

    /// Whether the script runs nothing (empty, whitespace or comments only).
    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// Every simple command in source order, including those in subshells, groups,
    /// pipelines, compound commands, function bodies, command substitutions and heredoc
    /// bodies. See [`Command::context`] for where each runs.
    pub fn commands(&self) -> Vec<&Command> {
        self.root.commands()
    }

    /// The commands that run in the main shell process (see
    /// [`Context::runs_in_main_shell`]): their `cd`, `export`, `set`, `source`, ... leak
    /// into the rest of the script.
    pub fn main_shell_commands(&self) -> Vec<&Command> {
        let mut cmds = self.commands();
        cmds.retain(|c| c.context.runs_in_main_shell());
        cmds
    }

    /// The operators between the top-level items, in order.
    pub fn top_level_operators(&self) -> impl Iterator<Item = &Operator> {
        self.root.operators()
    }

    /// Whether the whole script is a plain `&&` chain of simple commands (see
    /// [`List::is_and_chain`]).
    pub fn is_and_chain(&self) -> bool {
        self.root.is_and_chain()
    }

    /// Whether the script ends with a background job (`... &`).
    pub fn ends_in_background(&self) -> bool {
        self.root.ends_in_background()
    }

    /// Whether an operator of kind `kind` joins top-level items.
    pub fn uses_top_level(&self, kind: OpKind) -> bool {
        self.root.uses(kind)
    }

    /// Calls `f` on every node, in pre-order, including nodes inside substitutions.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        self.root.walk(f);
    }
}

/// Parses shell text into a [`Script`]. Never panics and never fails: anything that cannot
/// be parsed makes the script [opaque](Script::is_opaque).
pub fn parse(source: ShellSource) -> Script {
    let len = source.len();
    let tree = if len > MAX_PARSE_BYTES {
        None
    } else {
        parse_tree(source.text())
    };
    let Some(tree) = tree else {
        return unparsed(source);
    };
    let root_node = tree.root_node();
    let mut builder = build::Builder::new(&source);
    let mut root = if root_node.kind() == "program" {
        let mut cursor = root_node.walk();
        let kids = root_node.children(&mut cursor).collect();
        builder.body(kids, 0)
    } else {
        builder.problem = true;
        builder.body(vec![root_node], 0)
    };
    model::assign_context(&mut root, Context::default());
    let Scan {
        errors,
        comments,
        lost_text,
    } = scan(&tree, &builder, source.text());
    let opaque = builder.problem || lost_text || root_node.has_error() || !errors.is_empty();
    Script {
        source,
        root,
        opaque,
        errors,
        comments,
    }
}

/// Parses `text` as it stands (the text is its own file).
pub fn parse_text(text: &str) -> Script {
    parse(ShellSource::from_text(text))
}

/// A script that could not be parsed: opaque, with one [`Other`] covering all the text.
fn unparsed(source: ShellSource) -> Script {
    let len = source.len();
    let span = Span {
        file: source.file_range(0..len),
        clean: 0..len,
    };
    let items = if source.text().trim().is_empty() {
        Vec::new()
    } else {
        vec![ListItem {
            node: Node::Other(Other {
                span: span.clone(),
                kind: "unparsed".to_owned(),
                substitutions: Vec::new(),
            }),
            terminator: None,
        }]
    };
    Script {
        source,
        root: List { span, items },
        opaque: true,
        errors: std::iter::once(0..len).collect(),
        comments: Vec::new(),
    }
}

/// What one pass over the tree found besides the model.
struct Scan {
    /// Clean ranges of ERROR and MISSING nodes.
    errors: Vec<Range<usize>>,
    /// Comment nodes.
    comments: Vec<Span>,
    /// Some text other than whitespace and line continuations is covered by no node.
    lost_text: bool,
}

/// Collects ERROR/MISSING ranges and comments, and checks that tree-sitter did not skip
/// text, in one iterative pass over the tree.
///
/// tree-sitter-bash sometimes drops a token without reporting an error (`python3 - <<EOF`
/// loses the `-`; `echo \ x` reads the escaped space as whitespace), so every gap between
/// sibling nodes must be blank, and two words must not be separated by a bare `\`-newline.
fn scan(tree: &Tree, builder: &build::Builder<'_>, text: &str) -> Scan {
    let mut out = Scan {
        errors: Vec::new(),
        comments: Vec::new(),
        lost_text: false,
    };
    let root = tree.root_node();
    out.lost_text |= !is_blank(text.get(..root.start_byte()).unwrap_or(""))
        || !is_blank(text.get(root.end_byte()..).unwrap_or(""));
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            out.errors.push(node.byte_range());
        } else if node.kind() == "comment" {
            out.comments.push(builder.span(node.byte_range()));
        }
        // Heredoc bodies are text with a few expansions inside; error nodes are reported.
        let check_gaps =
            !node.is_error() && !matches!(node.kind(), "heredoc_body" | "simple_heredoc_body");
        if !node.is_error() && cursor.goto_first_child() {
            if check_gaps {
                let mut pos = node.start_byte();
                let mut prev_named = false;
                loop {
                    let child = cursor.node();
                    let gap = text.get(pos..child.start_byte()).unwrap_or("");
                    out.lost_text |= !is_blank(gap);
                    // tree-sitter-bash reads `\`-newline as whitespace, but in sh `a\<newline>b`
                    // is the one word `ab`.
                    let named = child.is_named() && child.kind() != "comment";
                    out.lost_text |= prev_named && named && matches!(gap, "\\\n" | "\\\r\n");
                    prev_named = named;
                    pos = pos.max(child.end_byte());
                    if !cursor.goto_next_sibling() {
                        break;
                    }
                }
                out.lost_text |= !is_blank(text.get(pos..node.end_byte()).unwrap_or(""));
                cursor.goto_parent();
                cursor.goto_first_child();
            }
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

/// Whether `gap` holds only whitespace and `\`-newline continuations.
fn is_blank(gap: &str) -> bool {
    let mut rest = gap;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
        if rest.is_empty() {
            return true;
        }
        match rest
            .strip_prefix("\\\n")
            .or_else(|| rest.strip_prefix("\\\r\n"))
        {
            Some(r) => rest = r,
            None => return false,
        }
    }
}

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

fn new_parser() -> Option<Parser> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .ok()?;
    Some(parser)
}

/// Works around a crash in tree-sitter-bash 0.25.1's external scanner: after `{` (and after
/// `{1..`) it passes the next character to C's `isdigit`, which reads out of bounds for
/// code points above 255 and can crash the process (tree-sitter-bash issue #337). Such
/// characters are replaced by as many `x` bytes as they take, which keeps every byte offset
/// and the shape of the tree (both are word characters); the model reads the real text.
fn mask_for_scanner(text: &str) -> Cow<'_, str> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Other,
        /// After `{` and digits.
        Digits,
        /// After `{` digits `.`.
        Dot,
    }
    let mut state = State::Other;
    let mut masked: Option<String> = None;
    for (i, c) in text.char_indices() {
        state = match (state, c) {
            (_, '{') | (State::Digits, '0'..='9') | (State::Dot, '.') => State::Digits,
            (State::Digits, '.') => State::Dot,
            (State::Digits, c) if !c.is_ascii() => {
                let out = masked.get_or_insert_with(|| text.to_owned());
                out.replace_range(i..i + c.len_utf8(), &"x".repeat(c.len_utf8()));
                State::Other
            }
            _ => State::Other,
        };
    }
    masked.map_or(Cow::Borrowed(text), Cow::Owned)
}

/// Parses `text` with this thread's parser (created on first use).
fn parse_tree(text: &str) -> Option<Tree> {
    let masked = mask_for_scanner(text);
    let run = |parser: &mut Parser| {
        let started = Instant::now();
        let mut cancel = |_: &ParseState| started.elapsed() > PARSE_TIME_LIMIT;
        let bytes = masked.as_bytes();
        let tree = parser.parse_with_options(
            &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
            None,
            Some(ParseOptions::new().progress_callback(&mut cancel)),
        );
        if tree.is_none() {
            // A cancelled parse would otherwise resume on the next call.
            parser.reset();
        }
        tree
    };
    let fresh = || new_parser().and_then(|mut p| run(&mut p));
    PARSER
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => {
                if slot.is_none() {
                    *slot = new_parser();
                }
                slot.as_mut().and_then(run)
            }
            Err(_) => fresh(),
        })
        .unwrap_or_else(|_| fresh())
}

#[cfg(test)]
mod tests;
