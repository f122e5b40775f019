//! `dockopt fix` end to end over many real files (the corpus when `DOCKOPT_CORPUS` is set,
//! and always the byte-exact parser fixtures): the dry-run diff applies with `git apply`
//! and gives exactly what `fix` writes, `--patch` holds the same diff, fixing again changes
//! nothing, files without fixes keep their bytes and mtime.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dockopt(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run dockopt")
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("run git")
}

fn sources() -> Vec<PathBuf> {
    let fixtures = dockopt_testing::workspace_root().join("crates/dockopt-syntax/tests/fixtures");
    let mut files = dockopt_testing::dockerfiles(&fixtures);
    match dockopt_testing::corpus() {
        Some(corpus) => files.extend(dockopt_testing::dockerfiles(&corpus)),
        None => {
            eprintln!("DOCKOPT_CORPUS not set: fix guarantees checked on the parser fixtures only");
        }
    }
    files.sort();
    files
}

/// A fresh folder holding a copy of every source, with flat unique names.
fn copy_all(name: &str, files: &[PathBuf]) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("dockopt-guarantees-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, dir.join(format!("{i:04}.Dockerfile"))).unwrap();
    }
    dir
}

fn read_all(dir: &Path, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| std::fs::read(dir.join(format!("{i:04}.Dockerfile"))).unwrap())
        .collect()
}

#[test]
fn dry_run_patch_and_fix_agree_and_fixing_again_changes_nothing() {
    let files = sources();
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let readable: Vec<bool> = originals
        .iter()
        .map(|b| std::str::from_utf8(b).is_ok())
        .collect();

    // 1. The dry-run diff, applied by git.
    let applied = copy_all("applied", &files);
    let out = dockopt(&applied, &["fix", "--dry-run", "--unsafe-fixes", "."]);
    assert!(
        out.status.code() == Some(1) || out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = out.stdout;
    assert!(!diff.is_empty(), "the fixtures have fixable problems");
    let patch_path = applied.join("../dockopt-guarantees.patch");
    assert!(git(&applied, &["init", "-q", "."]).status.success());
    let before_mtimes: Vec<_> = (0..files.len())
        .map(|i| {
            std::fs::metadata(applied.join(format!("{i:04}.Dockerfile")))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();

    // 2. --patch writes the same diff, and touches no Dockerfile.
    let out = dockopt(
        &applied,
        &[
            "fix",
            "--unsafe-fixes",
            "--patch",
            patch_path.to_str().unwrap(),
            ".",
        ],
    );
    assert!(
        out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&patch_path).unwrap(),
        diff,
        "--patch differs from --dry-run"
    );
    assert_eq!(
        read_all(&applied, files.len()),
        originals,
        "--patch or --dry-run wrote a Dockerfile"
    );

    let check = git(
        &applied,
        &["apply", "--check", patch_path.to_str().unwrap()],
    );
    assert!(
        check.status.success(),
        "git apply --check: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        git(&applied, &["apply", patch_path.to_str().unwrap()])
            .status
            .success()
    );

    // 3. fix in place gives the same bytes.
    let written = copy_all("written", &files);
    let out = dockopt(&written, &["fix", "--unsafe-fixes", "."]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fixed = read_all(&written, files.len());
    assert_eq!(
        read_all(&applied, files.len()),
        fixed,
        "git apply of the dry run differs from fix"
    );

    // 3b. A fixed file BuildKit's parser accepts whenever it accepted the original.
    for (i, original) in originals.iter().enumerate() {
        let (Ok(before), Ok(after)) = (
            std::str::from_utf8(original),
            std::str::from_utf8(&fixed[i]),
        ) else {
            continue;
        };
        if !dockopt_syntax::parse(before).is_rejected() {
            let after = dockopt_syntax::parse(after);
            assert!(
                !after.is_rejected(),
                "{}: the fixed file is rejected: {:?}",
                files[i].display(),
                after.errors()
            );
        }
    }

    // 4. Fixing again changes nothing.
    let out = dockopt(&written, &["fix", "--dry-run", "--unsafe-fixes", "."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "second dry run would change:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // 5. Files without fixes keep bytes and mtime; BOM and CRLF survive in fixed files.
    let changed = std::process::Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args(["fix", "--unsafe-fixes", "."])
        .current_dir(&applied)
        .output()
        .unwrap();
    assert_ne!(changed.status.code(), Some(2));
    for (i, original) in originals.iter().enumerate() {
        let path = applied.join(format!("{i:04}.Dockerfile"));
        let now = std::fs::read(&path).unwrap();
        if now == *original && readable[i] {
            assert_eq!(
                std::fs::metadata(&path).unwrap().modified().unwrap(),
                before_mtimes[i],
                "{} rewritten without change",
                files[i].display()
            );
        }
        if original.starts_with(b"\xef\xbb\xbf") {
            assert!(
                now.starts_with(b"\xef\xbb\xbf"),
                "{}: BOM lost",
                files[i].display()
            );
        }
        let crlf = |b: &[u8]| b.windows(2).filter(|w| w == b"\r\n").count();
        let lf = |b: &[u8]| b.split(|&c| c == b'\n').count() - 1;
        if crlf(original) == lf(original) && lf(original) > 0 {
            assert_eq!(
                crlf(&now),
                lf(&now),
                "{}: line endings mixed",
                files[i].display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&applied);
    let _ = std::fs::remove_dir_all(&written);
    let _ = std::fs::remove_file(&patch_path);
}

/// Copies `from` (a folder, recursively) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, relative path and bytes, sorted.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// `fix` then `fix --unsafe-fixes` must give what one `fix --unsafe-fixes` gives: the result
/// cannot depend on the order the user ran them (node-web once kept an orphan `npm cache
/// clean` when the Safe fixes came first). Checked on the examples with their build contexts,
/// the project fixtures, and every flat source.
#[test]
fn safe_fixes_first_give_the_same_result_as_all_at_once() {
    let root = dockopt_testing::workspace_root();
    let base = std::env::temp_dir().join(format!("dockopt-order-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut projects: Vec<PathBuf> = Vec::new();
    for parent in [
        root.join("examples"),
        root.join("transforms/fixtures/cache-mounts"),
    ] {
        for entry in std::fs::read_dir(&parent).unwrap() {
            let path = entry.unwrap().path();
            if path.join("Dockerfile").is_file() {
                projects.push(path);
            }
        }
    }
    projects.sort();
    assert!(
        projects.len() >= 6,
        "examples not found under {}",
        root.display()
    );
    let flat = copy_all("order-flat", &sources());
    projects.push(flat.clone());

    let mut differ = Vec::new();
    for (i, project) in projects.iter().enumerate() {
        let stepwise = base.join(format!("{i}-stepwise"));
        let at_once = base.join(format!("{i}-at-once"));
        copy_tree(project, &stepwise);
        copy_tree(project, &at_once);
        for (dir, runs) in [
            (
                &stepwise,
                &[&["fix", "."][..], &["fix", "--unsafe-fixes", "."][..]][..],
            ),
            (&at_once, &[&["fix", "--unsafe-fixes", "."][..]][..]),
        ] {
            for args in runs {
                let out = dockopt(dir, args);
                assert!(
                    matches!(out.status.code(), Some(0 | 1)),
                    "{} {args:?}: {}",
                    project.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let (a, b) = (tree(&stepwise), tree(&at_once));
        for ((path, x), (_, y)) in a.iter().zip(&b).filter(|((_, x), (_, y))| x != y) {
            differ.push(format!(
                "{}/{}:\n--- fix, then fix --unsafe-fixes\n{}\n--- fix --unsafe-fixes\n{}",
                project.display(),
                path.display(),
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            ));
        }
        assert_eq!(a.len(), b.len(), "{}: different files", project.display());
    }
    let _ = std::fs::remove_dir_all(&base);
    let _ = std::fs::remove_dir_all(&flat);
    assert!(
        differ.is_empty(),
        "{} files depend on the order of the runs:\n{}",
        differ.len(),
        differ.join("\n\n")
    );
}
