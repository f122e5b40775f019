//! Reading Dockerfiles: UTF-8 only, bounded in size, with errors a user can act on.

use std::fmt;
use std::path::{Path, PathBuf};

/// Larger files are refused rather than read into memory (real Dockerfiles are kilobytes).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug)]
pub struct InputError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.as_os_str().is_empty() {
            return f.write_str(&self.message);
        }
        // Messages that start with `line:col:` attach to the path like a compiler's do.
        let sep = if self.message.starts_with(|c: char| c.is_ascii_digit()) {
            ":"
        } else {
            ": "
        };
        write!(f, "{}{sep}{}", self.path.display(), self.message)
    }
}

/// Reads a Dockerfile as text.
pub fn read_dockerfile(path: &Path) -> Result<String, InputError> {
    let error = |message: String| InputError {
        path: path.to_path_buf(),
        message,
    };
    let metadata = std::fs::metadata(path).map_err(|e| error(describe_io(&e)))?;
    if metadata.is_dir() {
        return Err(error("is a folder, not a file".into()));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(error(format!(
            "file is {} bytes; dockopt reads Dockerfiles up to {MAX_FILE_BYTES} bytes",
            metadata.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| error(describe_io(&e)))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.split(|&b| b == b'\n').count();
        let column = valid.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        error(format!(
            "{line}:{column}: not valid UTF-8 (byte offset {}); dockopt reads UTF-8 text only{}",
            valid.len(),
            if e.as_bytes().contains(&0) {
                " (this looks like a binary file)"
            } else {
                ""
            }
        ))
    })
}

/// Prints each error once: a broken config is met by every file under it.
pub fn report_errors(errors: &[InputError]) {
    let mut messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    messages.sort();
    messages.dedup();
    for m in &messages {
        eprintln!("error: {m}");
    }
}

pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
