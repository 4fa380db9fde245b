//! The reader's public face: [`Hive`] (a whole hive in memory) and [`Key`] (a key node in it).

use std::path::{Path, PathBuf};

use super::base::{BASE_BLOCK, BaseBlock};
use super::cell::{Bins, NIL};
use super::edit::Edit;
use super::error::{HiveError, Result};
use super::key::{self, Nk};
use super::log;
use super::security::Sk;
use super::value::{self, Value, Vk};

/// Windows refuses keys nested deeper than this (CmpMaxKeyDepth); the walkers stop there too.
pub const MAX_DEPTH: usize = 512;

/// A registry hive loaded into memory. Reading never changes the file; edits go through
/// [`Hive::edit`] and reach the disk only on [`Edit::commit`].
#[derive(Debug, Clone)]
pub struct Hive {
    pub(crate) file: Vec<u8>,
    pub(crate) base: BaseBlock,
    pub(crate) path: Option<PathBuf>,
    /// Set when the hive was dirty and its logs were replayed.
    pub(crate) replayed: Vec<PathBuf>,
    /// Set when the hive is dirty and could not be recovered; writes are refused with this reason.
    pub(crate) dirty: Option<String>,
}

impl Hive {
    /// Read a hive file. A dirty hive (Windows 8.1+ leaves recent changes in `.LOG1`/`.LOG2`)
    /// has its new-format logs replayed in memory when they sit next to it; without them it can
    /// be read but not edited.
    pub fn open(path: impl AsRef<Path>) -> Result<Hive> {
        let path = path.as_ref();
        let bytes = fs_err::read(path)?;
        let mut hive = Hive::parse(bytes)?;
        hive.path = Some(path.to_path_buf());
        if hive.base.is_dirty() {
            log::recover(&mut hive, path)?;
        }
        Ok(hive)
    }

    /// Read a hive from bytes (no log replay: a dirty hive can be read but not edited).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Hive> {
        let mut hive = Hive::parse(bytes)?;
        if hive.base.is_dirty() {
            hive.dirty = Some("its transaction logs were not given".into());
        }
        Ok(hive)
    }

    pub(crate) fn parse(mut file: Vec<u8>) -> Result<Hive> {
        let base = BaseBlock::parse(&file)?;
        let end = BASE_BLOCK
            .checked_add(base.bins_size as usize)
            .filter(|&e| e <= file.len())
            .ok_or_else(|| HiveError::NotAHive {
                msg: format!(
                    "the base block says the hive bins take {} bytes but the file has only {}",
                    base.bins_size,
                    file.len().saturating_sub(BASE_BLOCK)
                ),
            })?;
        file.truncate(end);
        let hive = Hive {
            file,
            base,
            path: None,
            replayed: Vec::new(),
            dirty: None,
        };
        // The root must be a key node; everything else is checked when it is reached.
        Nk::read(&hive.bins(), base.root)?;
        Ok(hive)
    }

    /// A new hive holding only a root key named `root_name` (Windows never leaves it empty, and
    /// libregf refuses an empty one: `reference/ecosystem.md` §1, oracles table).
    pub fn new_empty(root_name: &str) -> Result<Hive> {
        super::edit::new_empty(root_name)
    }

    pub(crate) fn bins(&self) -> Bins<'_> {
        Bins::new(self.file.get(BASE_BLOCK..).unwrap_or(&[]))
    }

    /// The base block as read (after any log replay).
    pub fn base_block(&self) -> &BaseBlock {
        &self.base
    }

    /// The whole hive file as it would be written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.file
    }

    /// The logs replayed when the hive was opened (empty for a clean hive).
    pub fn replayed_logs(&self) -> &[PathBuf] {
        &self.replayed
    }

    /// Why this hive cannot be edited, if it cannot (dirty without usable logs).
    pub fn dirty_reason(&self) -> Option<&str> {
        self.dirty.as_deref()
    }

    /// The root key.
    pub fn root(&self) -> Result<Key<'_>> {
        Key::at(self, self.base.root)
    }

    /// The key at a `\`-separated path relative to the root (case-insensitive; empty = root).
    pub fn key(&self, path: &str) -> Result<Key<'_>> {
        let mut k = self.root()?;
        for part in split_path(path) {
            k = k.subkey(part)?.ok_or_else(|| HiveError::KeyNotFound {
                path: path.to_string(),
            })?;
        }
        Ok(k)
    }

    /// Start an edit session. Refused for a dirty hive whose logs were not replayed.
    pub fn edit(&self) -> Result<Edit<'_>> {
        if let Some(why) = &self.dirty {
            let path = self
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from("<memory>"));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(HiveError::Dirty {
                path,
                name,
                primary: self.base.primary_seq,
                secondary: self.base.secondary_seq,
                why: format!("cannot be written: {why}"),
            });
        }
        Ok(Edit::new(self))
    }

    /// Visit every key depth-first (parents before children, subkeys in stored order) with its
    /// path relative to the root. Stops with an error on a cycle or beyond [`MAX_DEPTH`].
    pub fn walk(&self, mut visit: impl FnMut(&str, &Key<'_>) -> Result<()>) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        let root = self.root()?;
        self.walk_at(&root, String::new(), 0, &mut seen, &mut visit)
    }

    fn walk_at(
        &self,
        k: &Key<'_>,
        path: String,
        depth: usize,
        seen: &mut std::collections::HashSet<u32>,
        visit: &mut impl FnMut(&str, &Key<'_>) -> Result<()>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(HiveError::corrupt(
                k.offset(),
                format!("keys nested deeper than {MAX_DEPTH}"),
            ));
        }
        if !seen.insert(k.offset()) {
            return Err(HiveError::corrupt(
                k.offset(),
                "key reached twice (a cycle in the key tree)",
            ));
        }
        visit(&path, k)?;
        for c in k.subkeys()? {
            let p = if path.is_empty() {
                c.name().to_string()
            } else {
                format!("{path}\\{}", c.name())
            };
            self.walk_at(&c, p, depth + 1, seen, visit)?;
        }
        Ok(())
    }
}

/// Split a key path on `\`, ignoring empty parts (so `\A\B`, `A\B\` and `A\B` are the same).
pub(crate) fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('\\').filter(|p| !p.is_empty())
}

/// A key of a [`Hive`].
#[derive(Debug, Clone)]
pub struct Key<'h> {
    hive: &'h Hive,
    nk: Nk,
}

impl<'h> Key<'h> {
    pub(crate) fn at(hive: &'h Hive, off: u32) -> Result<Key<'h>> {
        Ok(Key {
            hive,
            nk: Nk::read(&hive.bins(), off)?,
        })
    }

    /// The key's name as stored (its case is kept).
    pub fn name(&self) -> &str {
        &self.nk.name
    }

    /// The `nk` flags (0x4 root, 0x8 no-delete, 0x10 symbolic link, 0x20 Latin-1 name).
    pub fn flags(&self) -> u16 {
        self.nk.flags
    }

    /// Offset of the key node in the hive bins data.
    pub fn offset(&self) -> u32 {
        self.nk.off
    }

    /// Last-written time (FILETIME).
    pub fn timestamp(&self) -> u64 {
        self.nk.timestamp
    }

    /// The class name, if the key has one.
    pub fn class_name(&self) -> Result<Option<String>> {
        self.nk.class_name(&self.hive.bins())
    }

    /// The subkeys, in stored order (sorted as Windows sorts them, in a well-formed hive).
    pub fn subkeys(&self) -> Result<Vec<Key<'h>>> {
        if self.nk.subkey_count == 0 || self.nk.subkeys == NIL {
            return Ok(Vec::new());
        }
        let mut entries = Vec::new();
        key::read_list(&self.hive.bins(), self.nk.subkeys, &mut entries)?;
        entries
            .into_iter()
            .map(|e| Key::at(self.hive, e.off))
            .collect()
    }

    /// The subkey with this name, compared case-insensitively as Windows does.
    pub fn subkey(&self, name: &str) -> Result<Option<Key<'h>>> {
        key::find(&self.hive.bins(), &self.nk, name)?
            .map(|off| Key::at(self.hive, off))
            .transpose()
    }

    /// The values, in stored order.
    pub fn values(&self) -> Result<Vec<Value>> {
        let bins = self.hive.bins();
        value::read_value_list(&bins, self.nk.values, self.nk.value_count)?
            .into_iter()
            .map(|off| {
                let vk = Vk::read(&bins, off)?;
                let data = vk.data(&bins, self.hive.base.minor, off)?;
                Ok(Value {
                    name: vk.name,
                    kind: value::ValueType(vk.kind),
                    data,
                })
            })
            .collect()
    }

    /// The value with this name (case-insensitive; empty = the default value).
    pub fn value(&self, name: &str) -> Result<Option<Value>> {
        let want = super::name::upcase_key(name);
        Ok(self
            .values()?
            .into_iter()
            .find(|v| super::name::upcase_key(&v.name) == want))
    }

    /// The key's security descriptor (self-relative) and the reference count of its `sk` record.
    pub fn security(&self) -> Result<(Vec<u8>, u32)> {
        let sk = Sk::read(&self.hive.bins(), self.nk.security)?;
        Ok((sk.descriptor, sk.refs))
    }

    /// Offset of the key's `sk` record.
    pub fn security_offset(&self) -> u32 {
        self.nk.security
    }
}
