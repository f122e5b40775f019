//! Conversion of a tree-sitter-bash tree into the owned model.
//!
//! tree-sitter-bash's tree differs from the POSIX grammar in a few ways this module undoes:
//!
//! * `&&`/`||` lists are binary and left-nested (`list(list(a && b) && c)`), and a trailing
//!   redirect may be attached to a whole list or pipeline
//!   (`a && b 2>/dev/null` is `redirected_statement(list(a && b), 2>/dev/null)`).
//! * What follows a heredoc operator on its line (`cat <<EOF | grep x && y`) is nested
//!   inside the `heredoc_redirect` node, with the wrong precedence.
//! * Newline separators are not in the tree at all.
//!
//! So every statement sequence is first flattened into a stream of items and operators,
//! then reassembled with the shell's own precedence (`|` over `&&`/`||` over `;`/`&`/newline).

use std::ops::Range;

use tree_sitter::Node as TsNode;

use crate::model::{
    Assignment, Case, CaseItem, Command, CommandKind, Compound, Context, For, Function, Heredoc,
    If, IfBranch, List, ListItem, Node, OpKind, Operator, Other, Pipeline, Redirect, RedirectOp,
    Redirected, Span, Substitution, SubstitutionKind, While, Word,
};
use crate::source::ShellSource;
use crate::word::analyse;

/// Maximum nesting of statements (subshells, groups, loops, substitutions, ...). Deeper
/// scripts become opaque; this bounds recursion here and in the model's own traversals
/// (real scripts nest a handful of levels; 32 levels need well under 1 MiB of stack even
/// in debug builds).
const MAX_DEPTH: usize = 32;

/// Node kinds that are one shell word each inside `[ .. ]`/`[[ .. ]]`.
const WORD_KINDS: &[&str] = &[
    "word",
    "string",
    "raw_string",
    "ansi_c_string",
    "translated_string",
    "number",
    "simple_expansion",
    "expansion",
    "command_substitution",
    "process_substitution",
    "arithmetic_expansion",
    "brace_expression",
    "concatenation",
    "regex",
    "extglob_pattern",
    "test_operator",
    "variable_name",
];

/// An item or operator of a flattened statement sequence.
enum Tok {
    Item(Node),
    Op(Operator),
}

/// Work left to do while flattening.
enum Pending<'t> {
    /// A tree-sitter node to flatten.
    Ts(TsNode<'t>),
    /// An already built token.
    Tok(Tok),
    /// Redirects (and stray arguments) that belong to the last item produced so far.
    Attach {
        redirects: Vec<Redirect>,
        args: Vec<Word>,
    },
}

/// Builds model nodes from tree-sitter nodes over the clean text of `src`.
pub(crate) struct Builder<'s> {
    src: &'s ShellSource,
    depth: usize,
    /// Set when the tree contains something the model cannot represent faithfully (a shell
    /// syntax error tree-sitter accepted, a construct nested too deep, ...).
    pub problem: bool,
}

/// The children of `n`, each with its field name.
fn children_with_fields(n: TsNode<'_>) -> Vec<(TsNode<'_>, Option<&'static str>)> {
    let mut out = Vec::with_capacity(n.child_count());
    let mut cursor = n.walk();
    if cursor.goto_first_child() {
        loop {
            out.push((cursor.node(), cursor.field_name()));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    out
}

/// The children of `n`.
fn children(n: TsNode<'_>) -> Vec<TsNode<'_>> {
    let mut cursor = n.walk();
    n.children(&mut cursor).collect()
}

/// The children of `n` without a leading `open` and a trailing `close` token.
fn inner<'t>(n: TsNode<'t>, open: &str, close: &str) -> Vec<TsNode<'t>> {
    let mut kids = children(n);
    if kids.last().is_some_and(|k| k.kind() == close) {
        kids.pop();
    }
    if kids.first().is_some_and(|k| k.kind() == open) {
        kids.remove(0);
    }
    kids
}

/// Where an empty body of `n` would sit: after its first token.
fn anchor_after_first(n: TsNode<'_>) -> usize {
    n.child(0).map_or(n.start_byte(), |c| c.end_byte())
}

impl<'s> Builder<'s> {
    pub(crate) fn new(src: &'s ShellSource) -> Self {
        Self {
            src,
            depth: 0,
            problem: false,
        }
    }

    fn text(&self) -> &'s str {
        self.src.text()
    }

    pub(crate) fn span(&self, clean: Range<usize>) -> Span {
        Span {
            file: self.src.file_range(clean.clone()),
            clean,
        }
    }

    fn node_span(&self, n: TsNode<'_>) -> Span {
        self.span(n.byte_range())
    }

    fn slice(&self, range: Range<usize>) -> &'s str {
        self.text().get(range).unwrap_or("")
    }

    /// Builds the list of statements among `nodes` (statements, operator tokens, comments).
    pub(crate) fn body(&mut self, nodes: Vec<TsNode<'_>>, anchor: usize) -> List {
        let toks = self.flatten(nodes);
        self.assemble(toks, anchor)
    }

    /// Flattens statements into items and operators, undoing tree-sitter-bash's nesting of
    /// lists, pipelines and heredoc tails. Iterative, so long `&&` chains cannot overflow the
    /// stack.
    fn flatten(&mut self, nodes: Vec<TsNode<'_>>) -> Vec<Tok> {
        let mut stack: Vec<Pending<'_>> = nodes.into_iter().rev().map(Pending::Ts).collect();
        let mut out = Vec::new();
        while let Some(pending) = stack.pop() {
            match pending {
                Pending::Tok(tok) => out.push(tok),
                Pending::Attach { redirects, args } => {
                    self.attach_to_last(&mut out, redirects, args);
                }
                Pending::Ts(n) => {
                    if n.kind() == "comment" {
                        continue;
                    }
                    if !n.is_named() {
                        if n.is_missing() {
                            continue;
                        }
                        match OpKind::from_token(n.kind()) {
                            Some(kind) => out.push(Tok::Op(Operator {
                                kind,
                                span: self.node_span(n),
                            })),
                            None => self.problem = true,
                        }
                        continue;
                    }
                    match n.kind() {
                        "list" | "pipeline" => {
                            stack.extend(children(n).into_iter().rev().map(Pending::Ts));
                        }
                        "redirected_statement" => self.flatten_redirected(n, &mut stack, &mut out),
                        _ => out.push(Tok::Item(self.statement(n))),
                    }
                }
            }
        }
        out
    }

    /// Splits a `redirected_statement` into its body (still to flatten), the redirects to
    /// attach to the body's last command, and the heredoc tail (`| cmd`, `&& cmd`).
    fn flatten_redirected<'t>(
        &mut self,
        n: TsNode<'t>,
        stack: &mut Vec<Pending<'t>>,
        out: &mut Vec<Tok>,
    ) {
        let mut body = None;
        let mut redirects = Vec::new();
        let mut args = Vec::new();
        let mut tail = Vec::new();
        for (child, field) in children_with_fields(n) {
            if field == Some("body") {
                body = Some(child);
                continue;
            }
            match child.kind() {
                "file_redirect" | "herestring_redirect" => {
                    let (r, extra) = self.redirect(child);
                    redirects.push(r);
                    args.extend(extra);
                }
                "heredoc_redirect" => self.heredoc(child, &mut redirects, &mut args, &mut tail),
                "comment" => {}
                _ => self.problem = true,
            }
        }
        stack.extend(tail.into_iter().rev());
        if let Some(body) = body {
            stack.push(Pending::Attach { redirects, args });
            stack.push(Pending::Ts(body));
        } else {
            // `> f`, `<<EOF cat`: a command whose name (if any) comes after the redirect.
            let mut args = args.into_iter();
            let mut cmd = self.empty_command(n.start_byte(), CommandKind::Simple);
            cmd.name = args.next();
            cmd.args = args.collect();
            cmd.redirects = redirects;
            recompute_command_span(&mut cmd);
            out.push(Tok::Item(Node::Command(cmd)));
        }
    }

    /// Attaches redirects to the last item of `out` (its last pipeline stage).
    fn attach_to_last(&mut self, out: &mut [Tok], redirects: Vec<Redirect>, args: Vec<Word>) {
        match out.last_mut() {
            Some(Tok::Item(node)) => self.attach(node, redirects, args),
            _ => self.problem = true,
        }
    }

    fn attach(&mut self, node: &mut Node, redirects: Vec<Redirect>, args: Vec<Word>) {
        if redirects.is_empty() && args.is_empty() {
            return;
        }
        match node {
            Node::Command(cmd) => {
                cmd.args.extend(args);
                cmd.redirects.extend(redirects);
                recompute_command_span(cmd);
            }
            Node::Pipeline(p) => {
                if let Some(last) = p.stages.last_mut() {
                    self.attach(last, redirects, args);
                    p.span = p.span.cover(last.span());
                } else {
                    self.problem = true;
                }
            }
            Node::Redirected(r) => {
                self.problem |= !args.is_empty();
                for red in &redirects {
                    r.span = r.span.cover(&red.span);
                }
                r.redirects.extend(redirects);
            }
            _ => {
                self.problem |= !args.is_empty();
                let span = redirects
                    .iter()
                    .fold(node.span().clone(), |acc, r| acc.cover(&r.span));
                let body = std::mem::replace(
                    node,
                    Node::Other(Other {
                        span: span.clone(),
                        kind: String::new(),
                        substitutions: Vec::new(),
                    }),
                );
                *node = Node::Redirected(Redirected {
                    span,
                    body: Box::new(body),
                    redirects,
                });
            }
        }
    }

    /// Reassembles a flattened sequence with shell precedence.
    fn assemble(&mut self, toks: Vec<Tok>, anchor: usize) -> List {
        let mut items: Vec<ListItem> = Vec::new();
        let mut stages: Vec<Node> = Vec::new();
        let mut pipes: Vec<Operator> = Vec::new();
        for tok in toks {
            match tok {
                Tok::Item(node) => {
                    if let Some(prev) = stages.last() {
                        if pipes.len() == stages.len() {
                            // `a |` followed by the next stage: fine.
                        } else {
                            // Two items with nothing between: a newline separates them.
                            let sep = self
                                .newline_between(prev.span().clean.end, node.span().clean.start);
                            self.finish_item(&mut items, &mut stages, &mut pipes, Some(sep));
                        }
                    } else if !pipes.is_empty() {
                        self.problem = true;
                        pipes.clear();
                    }
                    stages.push(node);
                }
                Tok::Op(op) if matches!(op.kind, OpKind::Pipe | OpKind::PipeAll) => {
                    if stages.is_empty() || pipes.len() == stages.len() {
                        self.problem = true;
                    } else {
                        pipes.push(op);
                    }
                }
                Tok::Op(op) => {
                    if stages.is_empty() {
                        // A separator with no command before it (`; a`, `a;;` outside case).
                        self.problem = true;
                        if let Some(last) = items.last_mut()
                            && last.terminator.is_none()
                        {
                            last.terminator = Some(op);
                        }
                    } else {
                        if matches!(
                            op.kind,
                            OpKind::CaseBreak | OpKind::CaseFallThrough | OpKind::CaseContinue
                        ) {
                            // tree-sitter-bash accepts `a;; b` outside `case`; sh does not.
                            self.problem = true;
                        }
                        self.finish_item(&mut items, &mut stages, &mut pipes, Some(op));
                    }
                }
            }
        }
        if !stages.is_empty() {
            self.finish_item(&mut items, &mut stages, &mut pipes, None);
        }
        let span = match (items.first(), items.last()) {
            (Some(first), Some(last)) => {
                let end = last
                    .terminator
                    .as_ref()
                    .map_or(last.node.span(), |t| &t.span);
                first.node.span().cover(end)
            }
            _ => self.span(anchor..anchor),
        };
        List { span, items }
    }

    /// Turns the pending pipeline stages into a list item.
    fn finish_item(
        &mut self,
        items: &mut Vec<ListItem>,
        stages: &mut Vec<Node>,
        pipes: &mut Vec<Operator>,
        terminator: Option<Operator>,
    ) {
        if pipes.len() + 1 != stages.len() {
            // A dangling `|`.
            self.problem = true;
            pipes.truncate(stages.len().saturating_sub(1));
        }
        let mut stages = std::mem::take(stages);
        let operators = std::mem::take(pipes);
        let node = if stages.len() == 1 {
            stages.pop().expect("one stage")
        } else {
            let mut bang = None;
            if let Some(Node::Pipeline(first)) = stages.first_mut()
                && first.bang.is_some()
                && first.stages.len() == 1
            {
                // `! a | b`: tree-sitter negates `a`; sh negates the whole pipeline.
                bang = first.bang.take();
                let inner = first.stages.pop().expect("one stage");
                stages[0] = inner;
            }
            let first = bang.as_ref().unwrap_or_else(|| stages[0].span());
            let span = first.cover(stages[stages.len() - 1].span());
            Node::Pipeline(Pipeline {
                span,
                bang,
                stages,
                operators,
            })
        };
        items.push(ListItem { node, terminator });
    }

    /// The newline separating two statements, found in the clean text between them
    /// (skipping `\`-newline continuations and comments).
    fn newline_between(&mut self, from: usize, to: usize) -> Operator {
        let gap = self.slice(from..to.max(from));
        let bytes = gap.as_bytes();
        let mut i = 0;
        let mut in_comment = false;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    let at = from + i;
                    return Operator {
                        kind: OpKind::Newline,
                        span: self.span(at..at + 1),
                    };
                }
                b'#' => in_comment = true,
                b'\\' if !in_comment && bytes.get(i + 1) == Some(&b'\n') => i += 1,
                _ => {}
            }
            i += 1;
        }
        self.problem = true;
        Operator {
            kind: OpKind::Newline,
            span: self.span(from..from),
        }
    }

    /// Builds one statement (anything but lists, pipelines and redirected statements, which
    /// [`Builder::flatten`] takes apart).
    fn statement(&mut self, n: TsNode<'_>) -> Node {
        self.depth += 1;
        let node = if self.depth > MAX_DEPTH {
            self.problem = true;
            Node::Other(Other {
                span: self.node_span(n),
                kind: "too-deep".to_owned(),
                substitutions: Vec::new(),
            })
        } else {
            self.statement_inner(n)
        };
        self.depth -= 1;
        node
    }

    fn statement_inner(&mut self, n: TsNode<'_>) -> Node {
        let span = self.node_span(n);
        match n.kind() {
            "command" => Node::Command(self.simple_command(n)),
            "declaration_command" => Node::Command(self.declaration(n, CommandKind::Declaration)),
            "unset_command" => Node::Command(self.declaration(n, CommandKind::Unset)),
            "test_command" => Node::Command(self.test_command(n)),
            "variable_assignment" => {
                let mut cmd = self.empty_command(n.start_byte(), CommandKind::Simple);
                cmd.assignments.push(self.assignment(n));
                recompute_command_span(&mut cmd);
                Node::Command(cmd)
            }
            "variable_assignments" => {
                let mut cmd = self.empty_command(n.start_byte(), CommandKind::Simple);
                for child in children(n) {
                    match child.kind() {
                        "variable_assignment" => cmd.assignments.push(self.assignment(child)),
                        "comment" => {}
                        _ => self.problem = true,
                    }
                }
                recompute_command_span(&mut cmd);
                Node::Command(cmd)
            }
            "file_redirect" | "herestring_redirect" => {
                // `$(< file)`.
                let (r, args) = self.redirect(n);
                let mut cmd = self.empty_command(n.start_byte(), CommandKind::Simple);
                cmd.redirects.push(r);
                self.problem |= !args.is_empty();
                recompute_command_span(&mut cmd);
                Node::Command(cmd)
            }
            "subshell" => Node::Subshell(Compound {
                span,
                body: self.body(inner(n, "(", ")"), anchor_after_first(n)),
            }),
            "compound_statement" => {
                if n.child(0).is_some_and(|c| c.kind() == "((") {
                    self.other(n, "arithmetic")
                } else {
                    Node::Group(Compound {
                        span,
                        body: self.body(inner(n, "{", "}"), anchor_after_first(n)),
                    })
                }
            }
            "if_statement" => Node::If(self.if_statement(n)),
            "for_statement" | "c_style_for_statement" => Node::For(self.for_statement(n)),
            "while_statement" => Node::While(self.while_statement(n)),
            "case_statement" => Node::Case(self.case_statement(n)),
            "function_definition" => self.function(n),
            "negated_command" => {
                let mut bang = None;
                let mut stages = Vec::new();
                for child in children(n) {
                    match child.kind() {
                        "!" => bang = Some(self.node_span(child)),
                        "comment" => {}
                        _ => stages.push(self.statement(child)),
                    }
                }
                if stages.len() != 1 {
                    self.problem = true;
                }
                Node::Pipeline(Pipeline {
                    span,
                    bang,
                    stages,
                    operators: Vec::new(),
                })
            }
            "list" | "pipeline" | "redirected_statement" => {
                let mut list = self.body(vec![n], n.start_byte());
                if list.items.len() == 1 && list.items[0].terminator.is_none() {
                    list.items.pop().expect("one item").node
                } else {
                    self.problem = true;
                    self.other(n, n.kind())
                }
            }
            kind => {
                // ERROR nodes, stray words from error recovery, ...
                self.problem = true;
                self.other(n, kind)
            }
        }
    }

    fn other(&mut self, n: TsNode<'_>, kind: &str) -> Node {
        Node::Other(Other {
            span: self.node_span(n),
            kind: kind.to_owned(),
            substitutions: self.substitutions_in(n),
        })
    }

    fn empty_command(&self, at: usize, kind: CommandKind) -> Command {
        Command {
            span: self.span(at..at),
            kind,
            name: None,
            args: Vec::new(),
            assignments: Vec::new(),
            redirects: Vec::new(),
            context: Context::default(),
        }
    }

    fn simple_command(&mut self, n: TsNode<'_>) -> Command {
        let mut cmd = self.empty_command(n.start_byte(), CommandKind::Simple);
        cmd.span = self.node_span(n);
        for (child, field) in children_with_fields(n) {
            if child.kind() == "comment" {
                continue;
            }
            match field {
                Some("name") => cmd.name = Some(self.word(child)),
                Some("redirect") => {
                    let (r, extra) = self.redirect(child);
                    cmd.redirects.push(r);
                    cmd.args.extend(extra);
                }
                Some("argument") => cmd.args.push(self.word(child)),
                _ => match child.kind() {
                    "variable_assignment" => cmd.assignments.push(self.assignment(child)),
                    _ if child.is_named() => {
                        // `cmd (x)` and error recovery: keep the text as a word.
                        self.problem = true;
                        cmd.args.push(self.word(child));
                    }
                    _ => {}
                },
            }
        }
        cmd
    }

    /// `export A=1 B`, `local x`, `unset A B`: the keyword is the name, the rest are words.
    fn declaration(&mut self, n: TsNode<'_>, kind: CommandKind) -> Command {
        let mut cmd = self.empty_command(n.start_byte(), kind);
        cmd.span = self.node_span(n);
        for child in children(n) {
            if child.kind() == "comment" || child.is_missing() {
                continue;
            }
            if cmd.name.is_none() && !child.is_named() {
                cmd.name = Some(self.word(child));
            } else {
                cmd.args.push(self.word(child));
            }
        }
        cmd
    }

    /// `[ .. ]` / `[[ .. ]]` as a command named `[`/`[[` whose arguments are the tokens inside.
    fn test_command(&mut self, n: TsNode<'_>) -> Command {
        let mut cmd = self.empty_command(n.start_byte(), CommandKind::Test);
        cmd.span = self.node_span(n);
        let mut kids = children(n).into_iter();
        cmd.name = kids.next().map(|k| self.word(k));
        let mut stack: Vec<TsNode<'_>> = kids.rev().collect();
        while let Some(k) = stack.pop() {
            if k.kind() == "comment" || k.is_missing() {
                continue;
            }
            if WORD_KINDS.contains(&k.kind()) || k.child_count() == 0 {
                cmd.args.push(self.word(k));
            } else {
                stack.extend(children(k).into_iter().rev());
            }
        }
        cmd
    }

    fn assignment(&mut self, n: TsNode<'_>) -> Assignment {
        let mut name = String::new();
        let mut append = false;
        let mut value = None;
        for (child, field) in children_with_fields(n) {
            match (field, child.kind()) {
                (Some("name"), _) => self.slice(child.byte_range()).clone_into(&mut name),
                (Some("value"), _) => value = Some(self.word(child)),
                (_, "+=") => append = true,
                _ => {}
            }
        }
        Assignment {
            span: self.node_span(n),
            name,
            append,
            value,
        }
    }

    pub(crate) fn word(&mut self, n: TsNode<'_>) -> Word {
        let raw = self.slice(n.byte_range()).to_owned();
        let a = analyse(&raw);
        Word {
            span: self.node_span(n),
            raw,
            literal: a.literal,
            pattern: a.pattern,
            tilde: a.tilde,
            quoted: a.quoted,
            substitutions: self.substitutions_in(n),
        }
    }

    /// The command and process substitutions in `n` (itself included), outermost only.
    fn substitutions_in(&mut self, n: TsNode<'_>) -> Vec<Substitution> {
        let mut out = Vec::new();
        let mut stack = vec![n];
        while let Some(k) = stack.pop() {
            let kind = match k.kind() {
                "command_substitution" => match k.child(0).map(|c| c.kind()) {
                    Some("$(") => SubstitutionKind::Dollar,
                    _ => SubstitutionKind::Backtick,
                },
                "process_substitution" => match k.child(0).map(|c| c.kind()) {
                    Some(">(") => SubstitutionKind::ProcessOutput,
                    _ => SubstitutionKind::ProcessInput,
                },
                _ => {
                    stack.extend(children(k).into_iter().rev());
                    continue;
                }
            };
            let mut kids = children(k);
            if kids.last().is_some_and(|c| matches!(c.kind(), ")" | "`")) {
                kids.pop();
            }
            if !kids.is_empty() {
                kids.remove(0);
            }
            self.depth += 1;
            let body = if self.depth > MAX_DEPTH {
                self.problem = true;
                self.body(Vec::new(), k.start_byte())
            } else {
                self.body(kids, anchor_after_first(k))
            };
            self.depth -= 1;
            out.push(Substitution {
                span: self.node_span(k),
                kind,
                body,
            });
        }
        out
    }

    /// A `file_redirect` or `herestring_redirect`, plus any extra words tree-sitter put in the
    /// destination (`echo > f x` has destination `f x`; `x` is an argument of `echo`).
    fn redirect(&mut self, n: TsNode<'_>) -> (Redirect, Vec<Word>) {
        let mut fd = None;
        let mut op = None;
        let mut target = None;
        let mut extra = Vec::new();
        for (child, field) in children_with_fields(n) {
            if child.kind() == "comment" {
                continue;
            }
            match field {
                Some("descriptor") => fd = self.slice(child.byte_range()).parse().ok(),
                _ if !child.is_named() => {
                    if let Some(o) = RedirectOp::from_token(child.kind()) {
                        op = Some(o);
                    }
                }
                _ => {
                    let w = self.word(child);
                    if target.is_none() {
                        target = Some(w);
                    } else {
                        extra.push(w);
                    }
                }
            }
        }
        let op = op.unwrap_or_else(|| {
            self.problem = true;
            RedirectOp::Write
        });
        let end = target.as_ref().map_or(n.end_byte(), |t| t.span.clean.end);
        let span = self.span(n.start_byte()..end.max(n.start_byte()));
        (
            Redirect {
                span,
                fd,
                op,
                target,
                heredoc: None,
            },
            extra,
        )
    }

    /// A `heredoc_redirect`: the redirect itself goes to `redirects`, words after the
    /// delimiter to `args`, and what follows on the line (`| cmd`, `&& cmd`) to `tail`.
    fn heredoc<'t>(
        &mut self,
        n: TsNode<'t>,
        redirects: &mut Vec<Redirect>,
        args: &mut Vec<Word>,
        tail: &mut Vec<Pending<'t>>,
    ) {
        let mut fd = None;
        let mut op = RedirectOp::Heredoc;
        let mut delimiter: Option<Word> = None;
        let mut later = Vec::new();
        let mut body = None;
        let mut terminator = None;
        let mut substitutions = Vec::new();
        for (child, field) in children_with_fields(n) {
            match (field, child.kind()) {
                (_, "comment") => {}
                (Some("descriptor"), _) => fd = self.slice(child.byte_range()).parse().ok(),
                (_, "<<-") if !child.is_named() => op = RedirectOp::HeredocStripTabs,
                (_, "<<") if !child.is_named() => op = RedirectOp::Heredoc,
                (_, "heredoc_start") => delimiter = Some(self.word(child)),
                (_, "pipeline") => {
                    // The aliased `| statement` tail.
                    for k in children(child) {
                        match OpKind::from_token(k.kind()) {
                            Some(kind) if !k.is_named() => {
                                tail.push(Pending::Tok(Tok::Op(Operator {
                                    kind,
                                    span: self.node_span(k),
                                })));
                            }
                            _ => tail.push(Pending::Ts(k)),
                        }
                    }
                }
                (Some("operator"), kind) => match OpKind::from_token(kind) {
                    Some(kind) => tail.push(Pending::Tok(Tok::Op(Operator {
                        kind,
                        span: self.node_span(child),
                    }))),
                    None => self.problem = true,
                },
                (Some("right"), _) => tail.push(Pending::Ts(child)),
                (Some("redirect"), _) => {
                    let (r, extra) = self.redirect(child);
                    later.push(r);
                    args.extend(extra);
                }
                (Some("argument"), _) => args.push(self.word(child)),
                (_, "heredoc_body") => {
                    body = Some(self.node_span(child));
                    substitutions = self.substitutions_in(child);
                }
                (_, "heredoc_end") => terminator = Some(self.node_span(child)),
                _ => self.problem = true,
            }
        }
        let start = n.start_byte();
        let end = delimiter.as_ref().map_or(start, |d| d.span.clean.end);
        // tree-sitter-bash leaves the leading tabs of `<<-` lines out of the body and the
        // terminator; widen both to whole lines.
        let terminator = terminator.map(|t| self.span(self.line_start(t.clean.start)..t.clean.end));
        let body = match (body, &terminator) {
            (Some(b), Some(t)) => {
                let from = self.line_start(b.clean.start);
                self.span(from..b.clean.end.min(t.clean.start).max(from))
            }
            (Some(b), None) => self.span(self.line_start(b.clean.start)..b.clean.end),
            (None, Some(t)) => self.span(t.clean.start..t.clean.start),
            (None, None) => self.span(n.end_byte()..n.end_byte()),
        };
        let quoted = delimiter
            .as_ref()
            .is_some_and(|d| d.raw.contains(['\'', '"', '\\']));
        redirects.push(Redirect {
            span: self.span(start..end.max(start)),
            fd,
            op,
            target: delimiter,
            heredoc: Some(Heredoc {
                body,
                terminator,
                quoted,
                strip_tabs: op == RedirectOp::HeredocStripTabs,
                substitutions,
            }),
        });
        redirects.extend(later);
    }

    /// `pos` moved back over the tabs that precede it on its line, if only tabs do.
    fn line_start(&self, pos: usize) -> usize {
        let before = self.slice(0..pos);
        let tabs = before.len() - before.trim_end_matches('\t').len();
        let start = pos - tabs;
        if start == 0 || before.as_bytes().get(start - 1) == Some(&b'\n') {
            start
        } else {
            pos
        }
    }

    fn if_statement(&mut self, n: TsNode<'_>) -> If {
        let mut branches = Vec::new();
        let mut else_body = None;
        self.if_branches(n, &mut branches);
        for child in children(n) {
            match child.kind() {
                "elif_clause" => self.if_branches(child, &mut branches),
                "else_clause" => {
                    else_body =
                        Some(self.body(inner(child, "else", ""), anchor_after_first(child)));
                }
                _ => {}
            }
        }
        If {
            span: self.node_span(n),
            branches,
            else_body,
        }
    }

    /// The `if`/`elif` condition and `then` body directly among `n`'s children.
    fn if_branches(&mut self, n: TsNode<'_>, branches: &mut Vec<IfBranch>) {
        let mut segment = Vec::new();
        let mut condition = None;
        let mut anchor = n.start_byte();
        for child in children(n) {
            match child.kind() {
                "if" | "elif" => anchor = child.end_byte(),
                "then" if !child.is_named() => {
                    condition = Some(self.body(std::mem::take(&mut segment), anchor));
                    anchor = child.end_byte();
                }
                "elif_clause" | "else_clause" | "fi" => break,
                _ => segment.push(child),
            }
        }
        match condition {
            Some(condition) => branches.push(IfBranch {
                condition,
                body: self.body(segment, anchor),
            }),
            None => self.problem = true,
        }
    }

    fn for_statement(&mut self, n: TsNode<'_>) -> For {
        let mut variable = None;
        let mut items: Option<Vec<Word>> = None;
        let mut body = None;
        let arithmetic = n.kind() == "c_style_for_statement";
        for (child, field) in children_with_fields(n) {
            match (field, child.kind()) {
                (Some("variable"), _) => variable = Some(self.word(child)),
                (_, "in") if !child.is_named() => items = Some(Vec::new()),
                (Some("value"), _) => items.get_or_insert_default().push(self.word(child)),
                (Some("body"), _) => body = Some(self.block(child)),
                _ => {}
            }
        }
        let body = body.unwrap_or_else(|| {
            self.problem = true;
            self.body(Vec::new(), n.end_byte())
        });
        For {
            span: self.node_span(n),
            variable,
            items,
            arithmetic,
            body,
        }
    }

    /// The statements of a `do .. done` or `{ .. }` block.
    fn block(&mut self, n: TsNode<'_>) -> List {
        match n.kind() {
            "do_group" => self.body(inner(n, "do", "done"), anchor_after_first(n)),
            "compound_statement" => self.body(inner(n, "{", "}"), anchor_after_first(n)),
            _ => {
                self.problem = true;
                self.body(vec![n], n.start_byte())
            }
        }
    }

    fn while_statement(&mut self, n: TsNode<'_>) -> While {
        let mut until = false;
        let mut condition = Vec::new();
        let mut body = None;
        let mut anchor = n.start_byte();
        for (child, field) in children_with_fields(n) {
            match (field, child.kind()) {
                (None, "while") => anchor = child.end_byte(),
                (None, "until") => {
                    until = true;
                    anchor = child.end_byte();
                }
                (Some("body"), _) => body = Some(self.block(child)),
                _ => condition.push(child),
            }
        }
        let condition = self.body(condition, anchor);
        let body = body.unwrap_or_else(|| {
            self.problem = true;
            self.body(Vec::new(), n.end_byte())
        });
        While {
            span: self.node_span(n),
            until,
            condition,
            body,
        }
    }

    fn case_statement(&mut self, n: TsNode<'_>) -> Case {
        let mut subject = None;
        let mut items = Vec::new();
        for (child, field) in children_with_fields(n) {
            match (field, child.kind()) {
                (Some("value"), _) if subject.is_none() => subject = Some(self.word(child)),
                (_, "case_item") => items.push(self.case_item(child)),
                _ => {}
            }
        }
        let subject = subject.unwrap_or_else(|| {
            self.problem = true;
            let at = n.start_byte();
            self.word_at(at)
        });
        Case {
            span: self.node_span(n),
            subject,
            items,
        }
    }

    /// An empty word at `at` (for error recovery).
    fn word_at(&self, at: usize) -> Word {
        Word {
            span: self.span(at..at),
            raw: String::new(),
            literal: crate::word::Literal::Same,
            pattern: false,
            tilde: false,
            quoted: false,
            substitutions: Vec::new(),
        }
    }

    fn case_item(&mut self, n: TsNode<'_>) -> CaseItem {
        let mut patterns = Vec::new();
        let mut statements = Vec::new();
        let mut terminator = None;
        let mut in_body = false;
        let mut anchor = n.start_byte();
        let kids = children_with_fields(n);
        let last = kids.len().saturating_sub(1);
        for (i, (child, field)) in kids.into_iter().enumerate() {
            if in_body {
                match OpKind::from_token(child.kind()) {
                    Some(
                        kind @ (OpKind::CaseBreak | OpKind::CaseFallThrough | OpKind::CaseContinue),
                    ) if i == last && !child.is_named() => {
                        terminator = Some(Operator {
                            kind,
                            span: self.node_span(child),
                        });
                    }
                    _ => statements.push(child),
                }
            } else if field == Some("value") {
                patterns.push(self.word(child));
            } else if child.kind() == ")" && !child.is_named() {
                in_body = true;
                anchor = child.end_byte();
            }
        }
        CaseItem {
            span: self.node_span(n),
            patterns,
            body: self.body(statements, anchor),
            terminator,
        }
    }

    fn function(&mut self, n: TsNode<'_>) -> Node {
        let mut name = None;
        let mut body = None;
        let mut redirects = Vec::new();
        for (child, field) in children_with_fields(n) {
            match field {
                Some("name") => name = Some(self.word(child)),
                Some("body") => body = Some(self.statement(child)),
                Some("redirect") => {
                    let (r, extra) = self.redirect(child);
                    self.problem |= !extra.is_empty();
                    redirects.push(r);
                }
                _ => {}
            }
        }
        let (Some(name), Some(mut body)) = (name, body) else {
            self.problem = true;
            return self.other(n, "function_definition");
        };
        self.attach(&mut body, redirects, Vec::new());
        Node::Function(Function {
            span: self.node_span(n),
            name,
            body: Box::new(body),
        })
    }
}

/// Recomputes a command's span from its parts (used after adding redirects or when built
/// from parts rather than one tree-sitter node).
fn recompute_command_span(cmd: &mut Command) {
    let mut spans = cmd
        .assignments
        .iter()
        .map(|a| &a.span)
        .chain(cmd.words().map(|w| &w.span))
        .chain(cmd.redirects.iter().map(|r| &r.span));
    let Some(first) = spans.next() else {
        return;
    };
    let mut span = first.clone();
    for s in spans {
        span = span.cover(s);
    }
    if cmd.span.is_empty() {
        cmd.span = span;
    } else {
        cmd.span = cmd.span.cover(&span);
    }
}
