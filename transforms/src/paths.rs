//! Image paths as rules reason about them: resolved against WORKDIR, compared by folder, and
//! the indentation of the line new text goes on.

/// `path` resolved against `cwd` (the WORKDIR in effect) with `.` and `..` folded; `None`
/// when it is empty, uses a variable, or is relative to an unknown folder.
pub fn absolute(cwd: Option<&str>, path: &str) -> Option<String> {
    if path.contains('$') || path.is_empty() {
        return None;
    }
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", cwd?)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether `inner` is `outer` or under it (both from [`absolute`]).
pub fn under(outer: &str, inner: &str) -> bool {
    outer == "/"
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The leading blanks of the line `at` is on (empty when text precedes `at` there).
pub fn indent_of(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..at];
    if line.chars().all(|c| c == ' ' || c == '\t') {
        line
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::{absolute, indent_of, under};

    #[test]
    fn resolution_and_containment() {
        assert_eq!(
            absolute(Some("/app"), "./src/..//x/").as_deref(),
            Some("/app/x")
        );
        assert_eq!(absolute(None, "/srv").as_deref(), Some("/srv"));
        assert_eq!(absolute(None, "rel"), None);
        assert_eq!(absolute(Some("/"), "$HOME/x"), None);
        assert_eq!(absolute(Some("/"), ""), None);
        assert!(under("/app", "/app/x") && under("/app", "/app") && under("/", "/etc"));
        assert!(!under("/app", "/application"));
        assert_eq!(indent_of("a\n    COPY", 6), "    ");
        assert_eq!(indent_of("RUN x && COPY", 9), "");
    }
}
