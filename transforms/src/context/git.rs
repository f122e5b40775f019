//! How often git history touched each path of the context, so that rules can order COPY
//! layers from the files that change least to those that change most.
//!
//! One `git log` per repository and process (bounded to the newest `MAX_COMMITS`), shared by
//! every context inside that repository; each context keeps the part under its own folder.
//! Git missing, a folder outside a work tree or a repository without commits all mean "no
//! figures", never an error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use super::ignore::normalize_path;

/// The newest commits read; older history is left out.
const MAX_COMMITS: usize = 5_000;

/// Commit counts for the paths of one build context.
#[derive(Debug)]
pub struct ChangeCounts {
    /// Paths relative to the context root, sorted.
    paths: Vec<String>,
    /// Per commit that touched the context: the indices into `paths` it touched, sorted.
    commits: Vec<Vec<u32>>,
    truncated: bool,
    answers: Mutex<HashMap<String, usize>>,
}

/// A repository's history as read once: per commit, the paths it touched.
#[derive(Debug)]
struct RepoHistory {
    /// Paths relative to the top of the work tree, in the order first seen.
    paths: Vec<String>,
    commits: Vec<Vec<u32>>,
    truncated: bool,
}

type HistoryCell = Arc<OnceLock<Option<Arc<RepoHistory>>>>;

/// Histories by work tree top, read at most once per process each (failures are not kept).
static HISTORIES: LazyLock<Mutex<HashMap<PathBuf, HistoryCell>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

impl ChangeCounts {
    /// Commits read that touched anything in the context.
    pub fn commits(&self) -> usize {
        self.commits.len()
    }

    /// Distinct commits that touched `path` or anything under it (relative to the context
    /// root; "" or "." = the whole context).
    pub fn touching(&self, path: &str) -> usize {
        let Some(path) = normalize_path(path) else {
            let whole = path.trim_matches('/');
            return if whole.is_empty() || whole == "." {
                self.commits.len()
            } else {
                0
            };
        };
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&count) = answers.get(&path) {
            return count;
        }
        let exact = self.paths.binary_search(&path).ok().map(|i| i as u32);
        let below = format!("{path}/");
        let start = self.paths.partition_point(|p| p.as_str() < below.as_str());
        let end = start + self.paths[start..].partition_point(|p| p.starts_with(&below));
        let (start, end) = (start as u32, end as u32);
        let count = self
            .commits
            .iter()
            .filter(|ids| {
                ids.iter()
                    .any(|&id| Some(id) == exact || (start..end).contains(&id))
            })
            .count();
        answers.insert(path, count);
        count
    }

    /// True when history was longer than the bound and only the newest commits were read.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The part of `history` under `prefix` (`sub/dir/` or ""), re-rooted there.
    fn from_history(history: &RepoHistory, prefix: &str) -> Self {
        let mut kept: Vec<(usize, &str)> = history
            .paths
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p.strip_prefix(prefix)?)))
            .filter(|(_, p)| !p.is_empty())
            .collect();
        kept.sort_unstable_by(|a, b| a.1.cmp(b.1));
        let mut renumber = vec![None; history.paths.len()];
        for (new, &(old, _)) in kept.iter().enumerate() {
            renumber[old] = Some(new as u32);
        }
        let commits = history
            .commits
            .iter()
            .filter_map(|ids| {
                let mut ids: Vec<u32> =
                    ids.iter().filter_map(|&id| renumber[id as usize]).collect();
                ids.sort_unstable();
                ids.dedup();
                (!ids.is_empty()).then_some(ids)
            })
            .collect();
        Self {
            paths: kept.into_iter().map(|(_, p)| p.to_string()).collect(),
            commits,
            truncated: history.truncated,
            answers: Mutex::new(HashMap::new()),
        }
    }
}

/// The change counts for the context at `root`, or `None` outside a git work tree.
pub(super) fn change_counts(root: &Path) -> Option<ChangeCounts> {
    let (top, prefix) = locate(root)?;
    let cell = {
        let mut histories = HISTORIES.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(histories.entry(top.clone()).or_default())
    };
    let Some(history) = cell.get_or_init(|| read_history(&top).map(Arc::new)) else {
        // Not kept: the repository may get its first commit while the process runs.
        let mut histories = HISTORIES.lock().unwrap_or_else(PoisonError::into_inner);
        if histories.get(&top).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            histories.remove(&top);
        }
        return None;
    };
    Some(ChangeCounts::from_history(history, &prefix))
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// The top of the work tree holding `root` and `root`'s place in it (`sub/dir/` or "").
fn locate(root: &Path) -> Option<(PathBuf, String)> {
    let output = git(root)
        .args(["rev-parse", "--show-toplevel", "--show-prefix"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    let top = lines.next().filter(|t| !t.is_empty())?;
    let prefix = lines.next().unwrap_or("");
    Some((PathBuf::from(top), prefix.to_string()))
}

fn read_history(top: &Path) -> Option<RepoHistory> {
    // One more than kept, to tell a history of exactly MAX_COMMITS from a longer one.
    let limit = (MAX_COMMITS + 1).to_string();
    let output = git(top)
        .args([
            "-c",
            "core.quotePath=false",
            "-c",
            "log.showSignature=false",
            "log",
            "--no-renames",
            "--no-color",
            "--name-only",
            "-z",
            "--format=%x01%H",
            "-n",
            &limit,
            "HEAD",
            "--",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_log(&output.stdout))
}

/// Parses `git log --name-only -z --format=%x01%H`: each commit is `\x01<hash>\0`, then, when
/// it touched files, `\n` and the names, each ending with `\0`.
fn parse_log(out: &[u8]) -> RepoHistory {
    let mut paths = Vec::new();
    let mut ids: HashMap<&[u8], u32> = HashMap::new();
    let mut commits: Vec<Vec<u32>> = Vec::new();
    let mut after_header = false;
    for mut token in out.split(|b| *b == 0) {
        if after_header {
            token = token.strip_prefix(b"\n").unwrap_or(token);
            after_header = false;
        }
        if token.first() == Some(&1) {
            commits.push(Vec::new());
            after_header = true;
            continue;
        }
        let Some(current) = commits.last_mut() else {
            continue;
        };
        if token.is_empty() {
            continue;
        }
        let id = *ids.entry(token).or_insert_with(|| {
            paths.push(String::from_utf8_lossy(token).into_owned());
            (paths.len() - 1) as u32
        });
        current.push(id);
    }
    let truncated = commits.len() > MAX_COMMITS;
    commits.truncate(MAX_COMMITS);
    RepoHistory {
        paths,
        commits,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::{ChangeCounts, RepoHistory, parse_log};

    #[test]
    fn parses_log_records() {
        let out = b"\x01aaa\0\x01bbb\0\na/x\0a/y\0\x01ccc\0\na/x\0sp ace\0\x01ddd\0";
        let history = parse_log(out);
        assert_eq!(history.paths, ["a/x", "a/y", "sp ace"]);
        assert_eq!(history.commits, [vec![], vec![0, 1], vec![0, 2], vec![]]);
        assert!(!history.truncated);
        assert!(parse_log(b"").commits.is_empty());
    }

    #[test]
    fn re_roots_and_counts() {
        let history = RepoHistory {
            paths: [
                "app/src/a.rs",
                "app/Cargo.toml",
                "docs/x.md",
                "app/src-gen/b",
                "app",
            ]
            .map(String::from)
            .to_vec(),
            commits: vec![vec![0, 1], vec![2], vec![0], vec![3], vec![4]],
            truncated: false,
        };
        let counts = ChangeCounts::from_history(&history, "app/");
        assert_eq!(counts.commits(), 3);
        assert_eq!(counts.touching(""), 3);
        assert_eq!(counts.touching("."), 3);
        assert_eq!(counts.touching("src"), 2);
        assert_eq!(counts.touching("./src/"), 2);
        assert_eq!(counts.touching("src/a.rs"), 2);
        assert_eq!(counts.touching("src-gen"), 1);
        assert_eq!(counts.touching("Cargo.toml"), 1);
        assert_eq!(counts.touching("missing"), 0);
        assert_eq!(counts.touching("../docs"), 0);
        let whole = ChangeCounts::from_history(&history, "");
        assert_eq!(whole.commits(), 5);
        assert_eq!(whole.touching("app"), 4);
    }
}
