//! Cabinet (`.cab`) sources: every entry is unpacked into a private temporary folder after its
//! name has been checked like any other path from data (no `..`, no absolute paths, drive
//! letters, streams or device names), then the folder is read as a package source.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::inf::model::paths;

/// Why a cabinet could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CabError {
    #[error("{path}: not a readable cabinet: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: entry `{entry}` refused: {reason}")]
    Entry {
        path: PathBuf,
        entry: String,
        reason: paths::PathError,
    },
    #[error("{path}: entry `{entry}`: {source}")]
    Read {
        path: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: entry `{entry}` appears twice")]
    Duplicate { path: PathBuf, entry: String },
    #[error("{path}: unpacking into {dir}: {source}")]
    Write {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Unpacks `cab` into a new temporary folder inside `tmp_parent`.
pub(super) fn unpack(cab_path: &Path, tmp_parent: &Path) -> Result<tempfile::TempDir, CabError> {
    let open = |source| CabError::Open {
        path: cab_path.to_path_buf(),
        source,
    };
    let file = fs_err::File::open(cab_path).map_err(open)?;
    let mut cabinet = cab::Cabinet::new(std::io::BufReader::new(file)).map_err(open)?;
    let mut names = Vec::new();
    for folder in cabinet.folder_entries() {
        for entry in folder.file_entries() {
            names.push(entry.name().to_string());
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("cab-")
        .tempdir_in(tmp_parent)
        .map_err(|source| CabError::Write {
            path: cab_path.to_path_buf(),
            dir: tmp_parent.to_path_buf(),
            source,
        })?;
    let mut seen = std::collections::HashSet::new();
    for name in names {
        let refuse = |reason| CabError::Entry {
            path: cab_path.to_path_buf(),
            entry: name.clone(),
            reason,
        };
        // Entry names use `\`; the last component is a file name, the rest a relative folder.
        let (folder, file) = match name.rfind(['\\', '/']) {
            Some(i) => (&name[..i], &name[i + 1..]),
            None => ("", name.as_str()),
        };
        if folder.starts_with(['\\', '/']) {
            return Err(refuse(paths::PathError::Absolute(name.clone())));
        }
        let mut comps = paths::relative_dir(folder).map_err(refuse)?;
        comps.push(paths::file_name(file).map_err(refuse)?);
        if !seen.insert(comps.join("/").to_lowercase()) {
            return Err(CabError::Duplicate {
                path: cab_path.to_path_buf(),
                entry: name,
            });
        }
        let mut target = dir.path().to_path_buf();
        target.extend(&comps);
        let write_err = |source| CabError::Write {
            path: cab_path.to_path_buf(),
            dir: dir.path().to_path_buf(),
            source,
        };
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent).map_err(write_err)?;
        }
        let mut data = Vec::new();
        cabinet
            .read_file(&name)
            .and_then(|mut r| r.read_to_end(&mut data))
            .map_err(|source| CabError::Read {
                path: cab_path.to_path_buf(),
                entry: name.clone(),
                source,
            })?;
        fs_err::write(&target, &data).map_err(write_err)?;
    }
    Ok(dir)
}
