//! Errors of the hive engine: every variant names the file or the offset it is about.

use std::path::PathBuf;

/// An error reading, editing or writing a registry hive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HiveError {
    /// The file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The base block (the first 4096 bytes) is not a regf header.
    #[error("not a registry hive: {msg}")]
    NotAHive {
        /// What was wrong.
        msg: String,
    },
    /// A structure in the hive bins is inconsistent.
    #[error("corrupt hive at offset {offset:#x}: {msg}")]
    Corrupt {
        /// Offset relative to the start of the hive bins data (file offset minus 4096).
        offset: u32,
        /// What was wrong.
        msg: String,
    },
    /// The hive has changes in transaction logs that were not found or not usable.
    #[error(
        "hive {path} is dirty (primary sequence number {primary}, secondary {secondary}) and {why}\nhint: the newest changes are in its transaction logs; put `{name}.LOG1` and `{name}.LOG2` next to it, or boot the image once (or `reg load`/`reg unload` it on Windows) so Windows writes them into the hive"
    )]
    Dirty {
        /// The hive file.
        path: PathBuf,
        /// File name, for the hint.
        name: String,
        /// Primary sequence number of the base block.
        primary: u32,
        /// Secondary sequence number of the base block.
        secondary: u32,
        /// Why it cannot be written.
        why: String,
    },
    /// A key path names a key that does not exist.
    #[error("key not found: {path}")]
    KeyNotFound {
        /// The path as given.
        path: String,
    },
    /// A value does not exist.
    #[error("value {name:?} not found under key {path}")]
    ValueNotFound {
        /// The key path.
        path: String,
        /// The value name (empty for the default value).
        name: String,
    },
    /// An edit is not valid (bad name, root deletion, size limits).
    #[error("invalid edit of {path}: {msg}")]
    InvalidEdit {
        /// The key path.
        path: String,
        /// What was wrong.
        msg: String,
    },
    /// A `.reg` file could not be parsed.
    #[error("{path}:{line}: {msg}")]
    RegSyntax {
        /// The `.reg` file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        msg: String,
    },
}

impl HiveError {
    pub(crate) fn corrupt(offset: u32, msg: impl Into<String>) -> Self {
        HiveError::Corrupt {
            offset,
            msg: msg.into(),
        }
    }
}

/// Result type of the hive engine.
pub type Result<T, E = HiveError> = std::result::Result<T, E>;
