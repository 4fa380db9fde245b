//! The plan: every change a stage will make to an offline image, as data.
//!
//! Producers (the DriverDatabase record builder, removal, plugins' registry edits) emit
//! [`HiveOp`]s and [`FileOp`]s; the committer applies a whole [`Plan`] atomically (journaled:
//! a kill leaves the image as before or as after). `--plan` prints it; `--json` serializes it.

use serde::{Deserialize, Serialize};

/// The hives a plan edits, at their fixed places under the image root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HiveFile {
    System,
    Software,
    Drivers,
}

impl HiveFile {
    /// Path relative to the image root, `/`-separated, as Windows names it (resolve
    /// case-insensitively against the real tree).
    pub fn image_path(self) -> &'static str {
        match self {
            HiveFile::System => "Windows/System32/config/SYSTEM",
            HiveFile::Software => "Windows/System32/config/SOFTWARE",
            HiveFile::Drivers => "Windows/System32/config/DRIVERS",
        }
    }
}

/// One registry change. Key paths are `\`-separated, relative to the hive's root key, and
/// compared case-insensitively (the hive engine's convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum RegOp {
    /// Create the key (and missing parents) if absent.
    CreateKey {
        key: String,
    },
    /// Set a value; `kind` is the registry type (`REG_SZ` = 1, ...), `data` the raw bytes as
    /// stored in the hive (strings UTF-16LE with their terminator).
    SetValue {
        key: String,
        name: String,
        kind: u32,
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    DeleteValue {
        key: String,
        name: String,
    },
    /// Delete the key and its whole subtree (absent is not an error).
    DeleteKey {
        key: String,
    },
}

/// A registry change in a given hive, with the reason shown by `--plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiveOp {
    pub hive: HiveFile,
    #[serde(flatten)]
    pub op: RegOp,
}

/// Where a written file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum FileSource {
    /// A file on the host (a store object or a package file), copied as is.
    Path { path: std::path::PathBuf },
    /// Bytes produced by the plan itself (an edited INF, a first-boot script).
    Bytes {
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
}

/// One file change under the image root. `dest` is `/`-separated and relative to the image
/// root; it is resolved case-insensitively against existing directories and never contains
/// `..`, a drive, a stream or a device name (checked by the committer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum FileOp {
    /// Create or replace `dest` with `size` bytes from `source` (sha256 hex when known, checked
    /// after the copy).
    Put {
        dest: String,
        source: FileSource,
        size: u64,
        sha256: Option<String>,
    },
    /// Remove `dest` (absent is not an error); empty parent directories under
    /// `DriverStore/FileRepository` are removed too.
    Remove { dest: String },
}

/// Every change of one stage run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub files: Vec<FileOp>,
    pub hives: Vec<HiveOp>,
    /// Human-readable lines: what each part of the plan is for, what was skipped and why.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.hives.is_empty()
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}
