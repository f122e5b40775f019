//! `example.toml` (what an example folder declares for verify) and touching files for the
//! rebuild timings, with a guard that puts them back byte for byte.
//!
//! ```toml
//! smoke = ["python", "-c", "import app; print(app.ok())"]  # argv after the image; [] = its CMD
//! smoke_expect = "ok"                 # a substring of stdout+stderr
//! source_file = "app.py"              # touched to time a rebuild after a code change
//! manifest_file = "requirements.txt"  # touched to time a rebuild after a dependency change
//! comment = "#"                       # the comment prefix of the source file
//! ```
//!
//! The manifest's comment syntax comes from its name (`Cargo.toml` takes `#`, `go.mod`
//! `//`, `pom.xml` `<!-- -->`); JSON files (`package.json`) get a blank line appended.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

pub const EXAMPLE_TOML: &str = "example.toml";

/// The keys verify reads; other keys are left to whoever else reads the file.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ExampleToml {
    pub smoke: Option<Vec<String>>,
    pub smoke_expect: Option<String>,
    pub source_file: Option<PathBuf>,
    pub manifest_file: Option<PathBuf>,
    pub comment: Option<String>,
}

impl ExampleToml {
    /// Reads `folder/example.toml`; `Ok(None)` when there is none.
    pub fn read(folder: &Path) -> Result<Option<Self>, String> {
        let path = folder.join(EXAMPLE_TOML);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {}", path.display(), crate::input::describe_io(&e)))?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {}", path.display(), e.message()))
    }
}

/// The comment prefix for a file verify touches: `#` unless the name says otherwise.
pub fn comment_for(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "json" => "",
        "go" | "mod" | "rs" | "js" | "mjs" | "cjs" | "ts" | "tsx" | "jsx" | "java" | "kt" | "c"
        | "h" | "cc" | "cpp" | "hpp" | "cs" | "swift" | "scala" | "gradle" | "php" => "//",
        "sql" | "lua" | "hs" => "--",
        "xml" | "html" | "csproj" | "fsproj" => "<!--",
        _ if name == "go.mod" || name == "go.sum" => "//",
        _ => "#",
    }
}

/// The text appended to a touched file. `nonce` differs from run to run and from touch to
/// touch, so a rebuild never finds the touched file's layer in the build cache of an
/// earlier run. JSON takes no comments: there the nonce is written as trailing
/// whitespace (spaces and tabs), which keeps the file valid.
pub fn touch_text(comment: &str, path: &Path, nonce: u32) -> String {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if comment.is_empty() || is_json {
        let bits: String = (0..32)
            .map(|i| if nonce >> i & 1 == 1 { '\t' } else { ' ' })
            .collect();
        format!("\n{bits}\n")
    } else if comment == "<!--" {
        format!("\n<!-- touched by dockopt verify {nonce:08x} -->\n")
    } else {
        format!("\n{comment} touched by dockopt verify {nonce:08x}\n")
    }
}

/// A number that differs between calls (and runs): time, process id and a counter.
pub fn nonce() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() ^ (d.as_secs() as u32));
    nanos
        ^ std::process::id().rotate_left(16)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9)
}

/// A file changed for one rebuild; dropping the guard restores its bytes and its
/// modification time, also when the build fails or the run is interrupted.
#[derive(Debug)]
pub struct Touched {
    path: PathBuf,
    original: Vec<u8>,
    modified: Option<SystemTime>,
}

impl Touched {
    pub fn touch(path: &Path, comment: &str, nonce: u32) -> Result<Self, String> {
        let error =
            |e: &std::io::Error| format!("{}: {}", path.display(), crate::input::describe_io(e));
        let original = std::fs::read(path).map_err(|e| error(&e))?;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let guard = Self {
            path: path.to_path_buf(),
            original,
            modified,
        };
        let mut changed = guard.original.clone();
        changed.extend_from_slice(touch_text(comment, path, nonce).as_bytes());
        std::fs::write(path, &changed).map_err(|e| error(&e))?;
        Ok(guard)
    }

    fn restore(&self) -> std::io::Result<()> {
        std::fs::write(&self.path, &self.original)?;
        if let Some(time) = self.modified {
            let file = std::fs::File::options().write(true).open(&self.path)?;
            file.set_modified(time)?;
        }
        Ok(())
    }
}

impl Drop for Touched {
    fn drop(&mut self) {
        if let Err(e) = self.restore() {
            eprintln!(
                "error: could not restore {} after touching it: {e}; remove the last line (`... touched by dockopt verify ...`) by hand",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `name` in a folder of its own (one per test, removed by the test).
    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dockopt-verify-unit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn remove_folder_of(path: &Path) {
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn touching_appends_and_the_guard_restores_bytes_and_mtime() {
        let path = temp("app.py");
        let original = b"print('hi')\r\nno final newline".to_vec();
        std::fs::write(&path, &original).unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        {
            let _guard = Touched::touch(&path, "#", 0xabc).unwrap();
            let now = std::fs::read_to_string(&path).unwrap();
            assert!(
                now.ends_with("no final newline\n# touched by dockopt verify 00000abc\n"),
                "{now:?}"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), original);
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), old);
        remove_folder_of(&path);
    }

    #[test]
    fn the_guard_restores_when_a_panic_unwinds() {
        let path = temp("go.mod");
        std::fs::write(&path, "module x\n").unwrap();
        let p = path.clone();
        let result = std::panic::catch_unwind(move || {
            let _guard = Touched::touch(&p, comment_for(&p), nonce()).unwrap();
            assert!(std::fs::read_to_string(&p).unwrap().contains("// touched"));
            panic!("build failed");
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "module x\n");
        remove_folder_of(&path);
    }

    #[test]
    fn comment_prefixes_by_file_name() {
        assert_eq!(comment_for(Path::new("requirements.txt")), "#");
        assert_eq!(comment_for(Path::new("Cargo.toml")), "#");
        assert_eq!(comment_for(Path::new("main.go")), "//");
        assert_eq!(comment_for(Path::new("go.mod")), "//");
        assert_eq!(comment_for(Path::new("src/index.js")), "//");
        assert_eq!(comment_for(Path::new("package.json")), "");
        assert_eq!(
            touch_text(comment_for(Path::new("pom.xml")), Path::new("pom.xml"), 1),
            "\n<!-- touched by dockopt verify 00000001 -->\n"
        );
        let json = touch_text("//", Path::new("package.json"), 5);
        assert_eq!(json, format!("\n\t \t{}\n", " ".repeat(29)));
        assert!(json.trim().is_empty(), "whitespace only");
        assert_eq!(
            touch_text("//", Path::new("main.rs"), 0xdead_beef),
            "\n// touched by dockopt verify deadbeef\n"
        );
        assert_ne!(nonce(), nonce());
    }

    #[test]
    fn example_toml_reads_the_documented_keys_and_tolerates_others() {
        let dir = temp("example").with_extension("d");
        std::fs::create_dir_all(&dir).unwrap();
        let cleanup = dir.clone();
        assert!(ExampleToml::read(&dir).unwrap().is_none());
        std::fs::write(
            dir.join(EXAMPLE_TOML),
            "smoke = [\"python\", \"-c\", \"print(1)\"]\nsmoke_expect = \"1\"\nsource_file = \"app.py\"\nmanifest_file = \"requirements.txt\"\ncomment = \"#\"\ndescription = \"other tools' key\"\n",
        )
        .unwrap();
        let e = ExampleToml::read(&dir).unwrap().unwrap();
        assert_eq!(e.smoke.unwrap(), ["python", "-c", "print(1)"]);
        assert_eq!(e.smoke_expect.as_deref(), Some("1"));
        assert_eq!(e.source_file.unwrap(), Path::new("app.py"));
        std::fs::write(dir.join(EXAMPLE_TOML), "smoke = \"python app.py\"\n").unwrap();
        let err = ExampleToml::read(&dir).unwrap_err();
        assert!(err.contains("example.toml"), "{err}");
        remove_folder_of(&cleanup);
    }
}
