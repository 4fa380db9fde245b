//! Atomic replacement of a hive file: write a temporary file in the same directory, flush it,
//! rename it over the hive, flush the directory. A crash at any point leaves the old file or
//! the new one, never a mix.

use std::io::Write;
use std::path::Path;

use super::error::Result;

/// The steps of an atomic write, in order (a commit hook sees each before it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Create the temporary file next to the hive.
    CreateTemp,
    /// Write the new hive into it.
    Write,
    /// Flush it to the disk (fsync).
    Sync,
    /// Rename it over the hive.
    Rename,
    /// Flush the directory so the rename is durable.
    SyncDir,
}

/// Replace `path` with `bytes` atomically, calling `hook` before each step.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    hook: &mut dyn FnMut(Step) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hive".into());
    hook(Step::CreateTemp)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.infuse-"))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("create a temporary file in {}: {e}", dir.display()),
            )
        })?;
    if let Ok(meta) = fs_err::metadata(path) {
        // Keep the hive's permissions (the temporary file is created private).
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    hook(Step::Write)?;
    tmp.write_all(bytes).map_err(|e| {
        std::io::Error::new(e.kind(), format!("write {}: {e}", tmp.path().display()))
    })?;
    hook(Step::Sync)?;
    tmp.as_file().sync_all()?;
    hook(Step::Rename)?;
    tmp.persist(path).map_err(|e| {
        std::io::Error::new(
            e.error.kind(),
            format!("rename over {}: {}", path.display(), e.error),
        )
    })?;
    hook(Step::SyncDir)?;
    #[cfg(unix)]
    fs_err::File::open(&dir)?.sync_all()?;
    Ok(())
}
