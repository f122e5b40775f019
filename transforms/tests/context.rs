//! The build context view on real folders and a real git repository: which ignore file
//! applies, the files Docker would send, and commit counts.

use std::process::Command;

use dockopt_transforms::{BuildContext, EntryKind};

mod common;
use common::{TempDir, git};

fn paths(ctx: &BuildContext) -> Vec<String> {
    ctx.files()
        .unwrap()
        .iter()
        .map(|f| f.path.clone())
        .collect()
}

#[test]
fn ignore_files_and_the_file_list() {
    let dir = TempDir::new("files");
    dir.write(
        ".dockerignore",
        b"# build output\n*.log\nbuild\n!build/keep.txt\n",
    );
    dir.write("Dockerfile", b"FROM scratch\n");
    dir.write("app/Dockerfile.prod", b"FROM scratch\n");
    dir.write("app/Dockerfile.prod.dockerignore", b"docs\n");
    dir.write("src/main.rs", b"fn main(){}");
    dir.write("src/lib/a.rs", b"12345");
    dir.write("src.txt", b"1");
    dir.write("src-x/f", b"12");
    dir.write("docs/guide.md", b"1234567");
    dir.write("x.log", b"abc");
    dir.write("build/out.bin", &[0; 100]);
    dir.write("build/keep.txt", b"keep");
    #[cfg(unix)]
    std::os::unix::fs::symlink("src/main.rs", dir.0.join("link")).unwrap();

    let ctx = BuildContext::new(&dir.0);
    let ignore = ctx.ignore_file().unwrap();
    assert_eq!(ignore.path, dir.0.join(".dockerignore"));
    assert!(ignore.text.starts_with("# build output"));
    assert!(!ignore.patterns.is_empty());
    assert_eq!(ctx.ignore_file_path(), dir.0.join(".dockerignore"));
    assert!(ctx.is_excluded("x.log"));
    assert!(ctx.is_excluded("./build/out.bin"));
    assert!(!ctx.is_excluded("/build/keep.txt"));
    assert!(!ctx.is_excluded("docs/guide.md"));

    let mut want = vec![
        ".dockerignore",
        "Dockerfile",
        "app/Dockerfile.prod",
        "app/Dockerfile.prod.dockerignore",
        "build/keep.txt",
        "docs/guide.md",
        "src-x/f",
        "src.txt",
        "src/lib/a.rs",
        "src/main.rs",
    ];
    if cfg!(unix) {
        want.insert(6, "link");
    }
    assert_eq!(paths(&ctx), want);
    let files = ctx.files().unwrap();
    assert_eq!(files.len(), want.len());
    assert!(!files.is_empty());
    assert!(!files.is_truncated());
    assert!(files.contains("src/main.rs"));
    assert!(files.contains("./src/main.rs"));
    assert!(!files.contains("src"));
    assert!(!files.contains("x.log"));
    assert_eq!(files.get("src/lib/a.rs").map(|f| f.size), Some(5));
    if cfg!(unix) {
        assert_eq!(files.get("link").map(|f| f.size), Some(0));
    }
    let under: Vec<&str> = files.under("src").map(|f| f.path.as_str()).collect();
    assert_eq!(under, ["src/lib/a.rs", "src/main.rs"]);
    assert_eq!(files.under("src/").count(), 2);
    assert_eq!(files.under("src/main.rs").count(), 1);
    assert_eq!(files.under("nothing").count(), 0);
    assert_eq!(files.under("").count(), want.len());
    assert_eq!(files.under(".").count(), want.len());
    assert_eq!(files.size_under("src"), 16);
    assert_eq!(files.size_under("build"), 4);
    let top = files.top_level();
    let names: Vec<&str> = top.iter().map(|(name, _, _)| name.as_str()).collect();
    let mut want_top = vec![
        ".dockerignore",
        "Dockerfile",
        "app",
        "build",
        "docs",
        "src",
        "src-x",
        "src.txt",
    ];
    if cfg!(unix) {
        want_top.insert(5, "link");
    }
    assert_eq!(names, want_top);
    assert!(top.contains(&("src".to_string(), EntryKind::Folder, 16)));
    assert!(top.contains(&("src.txt".to_string(), EntryKind::File, 1)));

    // Clones share what was computed.
    let clone = ctx.clone();
    assert!(std::ptr::eq(clone.files().unwrap(), files));

    // The Dockerfile's own ignore file wins over the root one.
    let prod = BuildContext::for_dockerfile(&dir.0, &dir.0.join("app/Dockerfile.prod"));
    let special = dir.0.join("app/Dockerfile.prod.dockerignore");
    assert_eq!(prod.ignore_file().unwrap().path, special);
    assert_eq!(prod.ignore_file_path(), special);
    assert!(prod.is_excluded("docs/guide.md"));
    assert!(!prod.is_excluded("x.log"));
    let prod_files = prod.files().unwrap();
    assert!(prod_files.contains("x.log"));
    assert!(prod_files.contains("build/out.bin"));
    assert!(!prod_files.contains("docs/guide.md"));

    // Without one, the root's applies.
    let plain = BuildContext::for_dockerfile(&dir.0, &dir.0.join("Dockerfile"));
    assert_eq!(plain.ignore_file_path(), dir.0.join(".dockerignore"));
    assert!(plain.is_excluded("x.log"));
}

#[test]
fn no_ignore_file_and_no_root() {
    let dir = TempDir::new("bare");
    dir.write("a/b.txt", b"xy");
    let ctx = BuildContext::new(&dir.0);
    assert!(ctx.ignore_file().is_none());
    assert_eq!(ctx.ignore_file_path(), dir.0.join(".dockerignore"));
    assert!(!ctx.is_excluded("a/b.txt"));
    assert_eq!(paths(&ctx), ["a/b.txt"]);

    let missing = BuildContext::new(dir.0.join("missing"));
    assert!(missing.files().is_none());
    assert!(missing.ignore_file().is_none());
    assert!(missing.change_counts().is_none());

    // An ignore file that is not UTF-8 counts as none.
    dir.write(".dockerignore", &[0xff, 0xfe, b'\n']);
    assert!(BuildContext::new(&dir.0).ignore_file().is_none());
}

#[test]
fn git_change_counts() {
    if !Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("git is not available: skipping");
        return;
    }
    let repo = TempDir::new("git");
    assert!(git(&repo.0, &["init", "-q"]));
    // A repository without commits has no history.
    assert!(BuildContext::new(&repo.0).change_counts().is_none());

    let commit = |message: &str| {
        assert!(git(&repo.0, &["add", "-A"]));
        assert!(git(&repo.0, &["commit", "-q", "-m", message]));
    };
    repo.write("README", b"1");
    repo.write("ctx/a.txt", b"1");
    repo.write("ctx/src/m.rs", b"1");
    commit("one");
    repo.write("ctx/src/m.rs", b"2");
    commit("two");
    repo.write("README", b"3");
    commit("three: outside the context");
    assert!(git(&repo.0, &["mv", "ctx/a.txt", "ctx/b.txt"]));
    commit("four: a rename");
    repo.write("ctx/src/m.rs", b"5");
    repo.write("ctx/b.txt", b"5");
    commit("five");
    assert!(git(
        &repo.0,
        &["commit", "-q", "--allow-empty", "-m", "six: empty"]
    ));

    let ctx = BuildContext::new(repo.0.join("ctx"));
    let counts = ctx.change_counts().unwrap();
    assert_eq!(counts.commits(), 4);
    assert_eq!(counts.touching(""), 4);
    assert_eq!(counts.touching("src"), 3);
    assert_eq!(counts.touching("src/m.rs"), 3);
    assert_eq!(counts.touching("./src/"), 3);
    assert_eq!(counts.touching("a.txt"), 2);
    assert_eq!(counts.touching("b.txt"), 2);
    assert_eq!(counts.touching("README"), 0);
    assert_eq!(counts.touching("missing"), 0);
    assert!(!counts.is_truncated());
    // Asking again gives the same (cached) answer.
    assert_eq!(counts.touching("src"), 3);

    let whole = BuildContext::new(&repo.0);
    let counts = whole.change_counts().unwrap();
    assert_eq!(counts.commits(), 5);
    assert_eq!(counts.touching("ctx"), 4);
    assert_eq!(counts.touching("README"), 2);
    assert_eq!(counts.touching("ctx/src/m.rs"), 3);
}
