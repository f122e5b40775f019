//! The `.dockerignore` file with the semantics BuildKit gives it, so that rules about the
//! context agree with what `docker build` really sends.
//!
//! Reading follows Docker's reader: a UTF-8 BOM is dropped, a line whose first character is
//! `#` is a comment (before trimming: ` # x` is a pattern), lines are trimmed, a leading `!`
//! makes an exception, and each pattern is cleaned like Go's `filepath.Clean` with a leading
//! `/` removed. Matching follows BuildKit's pattern matcher: a pattern is turned into a plain
//! comparison (exact, prefix `foo/**`, suffix `**/foo`) or a glob over the whole path where `*`
//! and `?` stop at `/`, `**/` is "any number of folders", a trailing `**` is "anything", and
//! `[...]` is a character class (`^` negates). A pattern excludes a path when it matches the
//! path or one of its parent folders, and the last pattern that matches decides; the parent
//! results are carried down folder by folder exactly as BuildKit's walk carries them.
//! Patterns Docker would reject (an unterminated `[`, a trailing `\`) match nothing here.

use std::path::PathBuf;

/// The ignore file that applies to a build.
#[derive(Clone, Debug)]
pub struct IgnoreFile {
    pub path: PathBuf,
    pub text: String,
    pub patterns: IgnorePatterns,
}

/// The patterns of an ignore file, in order.
#[derive(Clone, Debug, Default)]
pub struct IgnorePatterns {
    patterns: Vec<Pattern>,
    /// Some pattern is a `!` exception.
    has_exceptions: bool,
    /// Every exception is a plain path (after a trailing `/*` or `/**`), so an excluded folder
    /// can only be re-entered for an exception written below it (BuildKit's walk shortcut).
    prefix_exceptions_only: bool,
}

#[derive(Clone, Debug)]
struct Pattern {
    /// The cleaned pattern without its `!`.
    text: String,
    exception: bool,
    matcher: Matcher,
}

/// How one pattern compares a path, as BuildKit decides from its text.
#[derive(Clone, Debug)]
enum Matcher {
    Exact(String),
    /// `foo/**`, `foo**`: the text before the `**` starts the path.
    Prefix(String),
    /// `**/foo`, `**foo`: the text after the `**` ends the path (`**/foo` also matches `foo`).
    Suffix(String),
    Glob(Vec<Token>),
    /// A pattern Docker rejects.
    Never,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`: any run of characters but `/`.
    AnyRun,
    /// `?`: one character but `/`.
    AnyOne,
    /// `[...]`: one character in (or, negated, not in) the ranges; `/` included.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**/` (or `**` followed by more pattern): nothing, or anything ending with `/`.
    AnyFolders,
    /// A trailing `**`: anything.
    AnyAll,
    /// `^` outside a class is a start-of-path anchor in BuildKit's regular expression.
    Anchor,
}

impl IgnorePatterns {
    /// Parses an ignore file's text as Docker reads it.
    pub fn parse(text: &str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for line in text.split('\n') {
            if line.starts_with('#') {
                continue;
            }
            if let Some(pattern) = read_line(line) {
                patterns.push(pattern);
            }
        }
        let exceptions = patterns.iter().filter(|p| p.exception);
        let prefix_exceptions_only = exceptions
            .clone()
            .all(|p| !without_trailing_glob(&p.text).contains(['*', '[', ']', '?', '^', '\\']));
        let has_exceptions = exceptions.count() > 0;
        Self {
            patterns,
            has_exceptions,
            prefix_exceptions_only,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Docker's answer: is `path` (relative, `/`-separated; `./x` and `/x` accepted) excluded
    /// from the context?
    pub fn excludes(&self, path: &str) -> bool {
        let Some(path) = normalize_path(path) else {
            return false;
        };
        if self.patterns.is_empty() {
            return false;
        }
        // Each parent folder in turn, as a walk meets them, then the path itself.
        let mut parent: Option<Vec<bool>> = None;
        for (at, _) in path.match_indices('/') {
            parent = Some(self.step(&path[..at], parent.as_deref()).1);
        }
        self.step(&path, parent.as_deref()).0
    }

    /// Whether a `!` exception could re-include something under folder `dir` (relative,
    /// `/`-separated), so that a walk must enter the folder even though it is excluded. This is
    /// BuildKit's rule: any exception with a wildcard (before a trailing `/*` or `/**`) enters
    /// every folder; otherwise only folders that an exception is written under.
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        if !self.has_exceptions {
            return false;
        }
        if !self.prefix_exceptions_only {
            return true;
        }
        let Some(dir) = normalize_path(dir) else {
            return true;
        };
        let dir_slash = format!("{dir}/");
        self.patterns.iter().filter(|p| p.exception).any(|p| {
            let mut text = without_trailing_glob(&p.text).to_string();
            text.push('/');
            text.starts_with(&dir_slash)
        })
    }

    /// One step of the walk: whether `path` is excluded, and which patterns matched it (or a
    /// parent), given the same for its parent folder (`None` at the top or when unknown).
    /// Mirrors BuildKit, including its shortcut of not evaluating patterns that cannot change
    /// the answer (which then do not count as matched for the children either).
    pub(super) fn step(&self, path: &str, parent: Option<&[bool]>) -> (bool, Vec<bool>) {
        let parent = parent.filter(|p| p.len() == self.patterns.len() && !p.is_empty());
        let mut excluded = false;
        let mut info = vec![false; self.patterns.len()];
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut matched = parent.is_some_and(|p| p[i]);
            if !matched {
                if pattern.exception != excluded {
                    continue;
                }
                matched = pattern.matcher.matches(path);
                if !matched && parent.is_none() {
                    matched = path
                        .match_indices('/')
                        .any(|(at, _)| pattern.matcher.matches(&path[..at]));
                }
            }
            info[i] = matched;
            if matched {
                excluded = !pattern.exception;
            }
        }
        (excluded, info)
    }
}

/// A line of the ignore file (not a comment) as a pattern, or `None` when it has none.
fn read_line(line: &str) -> Option<Pattern> {
    // Docker's reader: trim, take off `!`, trim again, clean, drop a leading `/`.
    let mut pattern = line.trim();
    if pattern.is_empty() {
        return None;
    }
    let exception = pattern.starts_with('!');
    if exception {
        pattern = pattern[1..].trim();
    }
    let mut read = if pattern.is_empty() {
        String::new()
    } else {
        let cleaned = clean(pattern);
        match cleaned.strip_prefix('/') {
            Some(rest) if !rest.is_empty() => rest.to_string(),
            _ => cleaned,
        }
    };
    if exception {
        read.insert(0, '!');
    }
    // The matcher's constructor: trim and clean again, then take off `!`; a bare `!` is an
    // error in Docker and means nothing here.
    let read = read.trim();
    if read.is_empty() {
        return None;
    }
    let cleaned = clean(read);
    let (exception, text) = match cleaned.strip_prefix('!') {
        Some("") => return None,
        Some(rest) => (true, rest.to_string()),
        None => (false, cleaned),
    };
    let matcher = Matcher::compile(&text).unwrap_or(Matcher::Never);
    Some(Pattern {
        text,
        exception,
        matcher,
    })
}

/// Go's `path.Clean`: one `/` between components, no `.`, `..` resolved lexically, no trailing
/// `/`; `.` for an empty result.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// A path as asked by a rule, relative and clean, or `None` for the root itself or a path
/// that leaves the context.
pub(super) fn normalize_path(path: &str) -> Option<String> {
    let cleaned = clean(path);
    let cleaned = cleaned.trim_start_matches('/');
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." || cleaned.starts_with("../") {
        None
    } else {
        Some(cleaned.to_string())
    }
}

/// A pattern's text without a trailing `/**` or `/*`, as BuildKit's walk compares exceptions.
fn without_trailing_glob(text: &str) -> &str {
    let text = text.strip_suffix("/**").unwrap_or(text);
    text.strip_suffix("/*").unwrap_or(text)
}

impl Matcher {
    /// The matcher for a cleaned pattern, `None` when Docker would reject it.
    fn compile(text: &str) -> Option<Self> {
        #[derive(PartialEq)]
        enum Kind {
            Exact,
            Prefix,
            Suffix,
            Glob,
        }
        let mut kind = Kind::Exact;
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        let mut first = true;
        while let Some(ch) = chars.next() {
            match ch {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    if chars.peek() == Some(&'/') {
                        chars.next();
                    }
                    if chars.peek().is_none() {
                        if kind == Kind::Exact {
                            kind = Kind::Prefix;
                        } else {
                            tokens.push(Token::AnyAll);
                            kind = Kind::Glob;
                        }
                    } else {
                        tokens.push(Token::AnyFolders);
                        kind = Kind::Glob;
                    }
                    if first {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    tokens.push(Token::AnyRun);
                    kind = Kind::Glob;
                }
                '?' => {
                    tokens.push(Token::AnyOne);
                    kind = Kind::Glob;
                }
                '\\' => {
                    // Go's filepath.Match rejects a trailing backslash.
                    tokens.push(Token::Literal(chars.next()?));
                    kind = Kind::Glob;
                }
                '[' => {
                    tokens.push(parse_class(&mut chars)?);
                    kind = Kind::Glob;
                }
                ']' => {
                    tokens.push(Token::Literal(']'));
                    kind = Kind::Glob;
                }
                '^' => tokens.push(Token::Anchor),
                _ => tokens.push(Token::Literal(ch)),
            }
            first = false;
        }
        Some(match kind {
            Kind::Exact => Self::Exact(text.to_string()),
            Kind::Prefix => Self::Prefix(text[..text.len() - 2].to_string()),
            Kind::Suffix => Self::Suffix(text[2..].to_string()),
            Kind::Glob => Self::Glob(tokens),
        })
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(text) => path == text,
            Self::Prefix(text) => path.starts_with(text.as_str()),
            Self::Suffix(text) => {
                path.ends_with(text.as_str())
                    || text.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Self::Glob(tokens) => glob_matches(tokens, path),
            Self::Never => false,
        }
    }
}

/// A character class after its `[`, as Go's filepath.Match accepts it: optional `^`, one or
/// more characters or ranges (`-` and `]` must be escaped with `\`), then `]`.
fn parse_class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Token> {
    fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
        match chars.next()? {
            '-' | ']' => None,
            '\\' => chars.next(),
            ch => Some(ch),
        }
    }
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
            return Some(Token::Class { negated, ranges });
        }
        let low = class_char(chars)?;
        let high = if chars.next_if_eq(&'-').is_some() {
            class_char(chars)?
        } else {
            low
        };
        // A reversed range is an error in BuildKit's regular expression.
        if high < low {
            return None;
        }
        ranges.push((low, high));
    }
}

/// Whether `tokens` match the whole of `path`: a simulation of the automaton, linear in the
/// path's length times the pattern's.
fn glob_matches(tokens: &[Token], path: &str) -> bool {
    let n = tokens.len();
    // `active[i]`: token i is next; `inside[i]`: within the `(.*/)` of an `AnyFolders` token i.
    let mut active = vec![false; n + 1];
    let mut inside = vec![false; n];
    active[0] = true;
    close(tokens, &mut active, &mut inside, true);
    for ch in path.chars() {
        let mut next_active = vec![false; n + 1];
        let mut next_inside = vec![false; n];
        for i in 0..n {
            if inside[i] && ch != '\n' {
                next_inside[i] = true;
                if ch == '/' {
                    next_active[i + 1] = true;
                }
            }
            if !active[i] {
                continue;
            }
            match &tokens[i] {
                Token::Literal(lit) => next_active[i + 1] |= *lit == ch,
                Token::AnyOne => next_active[i + 1] |= ch != '/',
                Token::Class { negated, ranges } => {
                    let within = ranges.iter().any(|&(lo, hi)| lo <= ch && ch <= hi);
                    next_active[i + 1] |= within != *negated;
                }
                Token::AnyRun => next_active[i] |= ch != '/',
                Token::AnyAll => next_active[i] |= ch != '\n',
                Token::AnyFolders | Token::Anchor => {}
            }
        }
        active = next_active;
        inside = next_inside;
        close(tokens, &mut active, &mut inside, false);
        if !active.iter().any(|a| *a) && !inside.iter().any(|a| *a) {
            return false;
        }
    }
    active[n]
}

/// Follows the moves that read nothing (tokens that may match the empty string).
fn close(tokens: &[Token], active: &mut [bool], inside: &mut [bool], at_start: bool) {
    for i in 0..tokens.len() {
        if !active[i] {
            continue;
        }
        match tokens[i] {
            Token::AnyRun | Token::AnyAll => active[i + 1] = true,
            Token::AnyFolders => {
                inside[i] = true;
                active[i + 1] = true;
            }
            Token::Anchor if at_start => active[i + 1] = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{IgnorePatterns, clean};

    fn excluded(ignore: &str, path: &str) -> bool {
        IgnorePatterns::parse(ignore).excludes(path)
    }

    #[test]
    fn cleans_like_go() {
        for (path, want) in [
            ("", "."),
            (".", "."),
            ("a//b/", "a/b"),
            ("./a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/../..", ".."),
            ("../../a", "../../a"),
            ("/../a", "/a"),
            ("/", "/"),
            ("//x//", "/x"),
        ] {
            assert_eq!(clean(path), want, "{path:?}");
        }
    }

    #[test]
    fn reads_lines_as_docker() {
        let p = IgnorePatterns::parse(
            "\u{feff}# comment\n\n  target  \r\n ! /dist/keep \n !\n/abs/path\n  # not a comment\n./x/../y/\n.\n",
        );
        let read: Vec<(bool, &str)> = p
            .patterns
            .iter()
            .map(|p| (p.exception, p.text.as_str()))
            .collect();
        assert_eq!(
            read,
            [
                (false, "target"),
                (true, "dist/keep"),
                (false, "abs/path"),
                (false, "# not a comment"),
                (false, "y"),
                (false, "."),
            ]
        );
        assert!(!p.is_empty());
        assert!(IgnorePatterns::parse("# only\n\n   \n").is_empty());
        // `.` excludes nothing, the root cannot be excluded.
        assert!(!excluded(".", "a"));
        assert!(!excluded("*", "."));
        assert!(!excluded("*", ""));
    }

    #[test]
    fn table_of_docker_cases() {
        let cases: &[(&str, &str, bool)] = &[
            // A plain name is rooted at the context: no implicit recursion.
            ("foo", "foo", true),
            ("foo", "foo/bar/baz", true),
            ("foo", "a/foo", false),
            ("foo", "foobar", false),
            ("*.log", "x.log", true),
            ("*.log", "dir/x.log", false),
            ("*.log", "x.log/inner", true),
            ("a/b", "a/b/c", true),
            ("a/b", "a/bc", false),
            ("a/*", "a/b/c", true),
            ("a/*", "a", false),
            ("*/temp*", "sub/temporary", true),
            ("*/temp*", "sub/x/temp", false),
            ("*/*/temp*", "a/b/temp.txt", true),
            ("temp?", "temp1", true),
            ("temp?", "temp", false),
            ("temp?", "temp12", false),
            ("?", "/", false),
            // `**`.
            ("**/*.log", "x.log", true),
            ("**/*.log", "a/b/x.log", true),
            ("**/x", "x", true),
            ("**/x", "a/b/x", true),
            ("**/x", "a/bx", false),
            ("**/x", "x/y", true),
            ("**/node_modules", "web/app/node_modules/pkg/index.js", true),
            ("a/**", "a/b", true),
            ("a/**", "a/b/c", true),
            ("a/**", "a", false),
            ("a/**", "ab", false),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "a/xb", false),
            ("a/**/*.go", "a/m/n/main.go", true),
            ("**", "anything/at/all", true),
            ("**", "x", true),
            ("**/**", "x/y", true),
            ("*/**", "a/b", true),
            ("*/**", "a", false),
            ("foo**", "foobar/x", true),
            // Leading `/`, `./`, trailing `/`, `..`.
            ("/foo", "foo/x", true),
            ("./foo", "foo", true),
            ("foo/", "foo/x", true),
            ("foo//bar/", "foo/bar", true),
            ("x/../foo", "foo", true),
            ("../foo", "foo", false),
            // Character classes (Go syntax: `^` negates, `!` does not), escapes.
            ("file[0-9].txt", "file7.txt", true),
            ("file[0-9].txt", "filex.txt", false),
            ("file[^0-9].txt", "filex.txt", true),
            ("file[^0-9].txt", "file7.txt", false),
            ("file[!0-9].txt", "file!.txt", true),
            ("file[!0-9].txt", "filex.txt", false),
            ("[abc]", "b", true),
            ("[a-cx-z]", "y", true),
            ("[a-cx-z]", "d", false),
            ("[\\]]", "]", true),
            ("x[\\-]y", "x-y", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("a\\?b", "a?b", true),
            ("a\\?b", "axb", false),
            ("a.b", "axb", false),
            ("a+b(c)", "a+b(c)", true),
            ("{a,b}", "{a,b}", true),
            ("{a,b}", "a", false),
            ("é*", "été", true),
            ("?", "é", true),
            // Invalid patterns match nothing and never panic.
            ("[", "[", false),
            ("a[", "a[", false),
            ("a[b", "ab", false),
            ("[]", "]", false),
            ("[]a]", "a", false),
            ("[a-]", "a", false),
            ("[z-a]", "m", false),
            ("[^]", "x", false),
            ("foo\\", "foo\\", false),
            ("!", "x", false),
            ("", "x", false),
        ];
        for &(pattern, path, want) in cases {
            assert_eq!(
                excluded(pattern, path),
                want,
                "pattern {pattern:?}, path {path:?}"
            );
        }
    }

    #[test]
    fn last_match_decides() {
        let md = "*.md\n!README.md\n";
        assert!(excluded(md, "CHANGES.md"));
        assert!(!excluded(md, "README.md"));
        assert!(!excluded(md, "docs/x.md"));
        let md_any = "**/*.md\n!README.md\n";
        assert!(excluded(md_any, "docs/README.md"));
        assert!(!excluded(md_any, "README.md"));
        // Order matters: an exception before the exclusion is undone by it.
        assert!(excluded("!README.md\n*.md\n", "README.md"));
        let nested = "*.md\n!README*.md\nREADME-secret.md\n";
        assert!(excluded(nested, "a.md"));
        assert!(!excluded(nested, "README-public.md"));
        assert!(excluded(nested, "README-secret.md"));
        // Exceptions inside an excluded folder.
        let keep = "dist\n!dist/keep\n";
        assert!(excluded(keep, "dist/other"));
        assert!(!excluded(keep, "dist/keep"));
        assert!(!excluded(keep, "dist/keep/inner.txt"));
        assert!(excluded(keep, "dist"));
        let all = "*\n!src\n!Cargo.toml\n";
        assert!(excluded(all, "target/debug/x"));
        assert!(!excluded(all, "src/main.rs"));
        assert!(!excluded(all, "Cargo.toml"));
        // Paths as rules may write them.
        assert!(excluded(all, "./target"));
        assert!(excluded(all, "/target/"));
        assert!(!excluded(all, "../target"));
        assert!(!IgnorePatterns::parse("").excludes("x"));
    }

    #[test]
    fn parents_carry_results_down_as_buildkit_walks() {
        // `!a` is not evaluated at `a` (nothing was excluded yet), so it does not re-include
        // `a/b` once `a/b` matched: BuildKit's walk answer.
        assert!(excluded("a/b\n!a\n", "a/b/c"));
        assert!(!excluded("a/b\n!a\n", "a/x"));
    }

    #[test]
    fn reinclusion_under_folders() {
        let p = IgnorePatterns::parse("dist\n!dist/keep/*\n");
        assert!(p.may_reinclude_under("dist"));
        assert!(p.may_reinclude_under("dist/keep"));
        assert!(!p.may_reinclude_under("dist/other"));
        assert!(!p.may_reinclude_under("build"));
        let wild = IgnorePatterns::parse("node_modules\n!**/*.go\n");
        assert!(wild.may_reinclude_under("node_modules"));
        let none = IgnorePatterns::parse("node_modules\n");
        assert!(!none.may_reinclude_under("node_modules"));
    }
}
