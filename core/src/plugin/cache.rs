//! The host-owned cache of compiled components.
//!
//! Compiling a component takes tens of milliseconds; deserializing a precompiled one well under
//! one. Entries are named `<component sha256>-<engine hash>.cwasm`, the engine hash covering the
//! wasmtime version and every compilation setting, so a stale entry is simply never looked up.
//!
//! **Invariant:** only files this host wrote are ever deserialized. Deserializing is `unsafe`
//! in wasmtime (the bytes are trusted machine code), so the cache directory must be created by
//! us, owned by the current user and not writable by group or others; entries are written
//! through a temporary file and a rename, and an entry not owned by us is ignored. A vendor's
//! precompiled `.cwasm` is never loaded: a plugin directory only ever provides `.wasm`.

use std::path::{Path, PathBuf};

/// Where compiled components are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheDir {
    /// A directory (created on first use, mode 0700).
    At(PathBuf),
    /// No cache: compile on every load.
    Off,
}

impl CacheDir {
    /// `--plugin-cache DIR` if given, else `$INFUSE_CACHE_DIR/plugins`, else
    /// `$XDG_CACHE_HOME/infuse/plugins`, else `$HOME/.cache/infuse/plugins`; off when none is set.
    pub fn resolve(explicit: Option<&Path>) -> CacheDir {
        if let Some(p) = explicit {
            return CacheDir::At(p.to_path_buf());
        }
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(d) = env("INFUSE_CACHE_DIR") {
            return CacheDir::At(d.join("plugins"));
        }
        if let Some(d) = env("XDG_CACHE_HOME") {
            return CacheDir::At(d.join("infuse/plugins"));
        }
        match env("HOME") {
            Some(h) => CacheDir::At(h.join(".cache/infuse/plugins")),
            None => CacheDir::Off,
        }
    }

    /// The entry for a component hash and an engine hash, when the directory is usable.
    pub(crate) fn entry(&self, sha256: &str, engine_hash: &str) -> Option<PathBuf> {
        match self {
            CacheDir::At(dir) => Some(dir.join(format!("{sha256}-{engine_hash}.cwasm"))),
            CacheDir::Off => None,
        }
    }
}

/// Whether `dir` (and `file` in it) are ours: owned by this user, not writable by others.
#[cfg(unix)]
pub(crate) fn trusted(dir: &Path, file: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let ours = |p: &Path, must_be_dir: bool| {
        std::fs::symlink_metadata(p).is_ok_and(|m| {
            m.uid() == uid && m.mode() & 0o022 == 0 && m.is_dir() == must_be_dir && !m.is_symlink()
        })
    };
    ours(dir, true) && ours(file, false)
}

#[cfg(not(unix))]
pub(crate) fn trusted(dir: &Path, file: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && std::fs::symlink_metadata(file).is_ok_and(|m| m.is_file())
}

/// Creates the cache directory (mode 0700) if missing.
pub(crate) fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub(crate) fn write_entry(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_dir(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
