//! The store directory: adding sources (folders, `.inf`, `.cab`), content-addressed objects,
//! per-package manifests, the atomic index rebuild, listing, showing and verifying.
//!
//! Crash safety: every file is written to `tmp/`, fsynced and renamed into place, objects before
//! the manifest that names them and manifests before the index built from them. A kill at any
//! point leaves the previous index (which only names objects that exist) or the new one; the next
//! `add` notices a stale index (its recorded state differs from the manifests) and rebuilds it.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cab::{self, CabError};
use super::index::{self, INDEX_FILE, Index, IndexError, PackageEntry};
use super::package::{DirCache, FileRole, Package};

const MANIFEST_SCHEMA: u32 = 1;
const LOCK_FILE: &str = "store.lock";

/// Errors from store operations.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(
        "{path}: another `infuse store add` holds the lock\nhint: wait for it to finish; if none is running, the lock is released automatically"
    )]
    Locked { path: PathBuf },
    #[error(
        "{path}: not an infuse store (no packages/ folder)\nhint: create one with `infuse store add {path} SOURCE...`"
    )]
    NotAStore { path: PathBuf },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("building the index: {0}")]
    Build(#[from] fst::Error),
    #[error(transparent)]
    Cab(#[from] CabError),
    #[error(
        "{path}: the cabinet reader failed on this file (a bug in the cab crate)\nhint: unpack it with `cabextract` and add the folder"
    )]
    CabPanic { path: PathBuf },
    #[error("{path}: not a folder, an .inf or a .cab file")]
    Source { path: PathBuf },
    #[error(
        "no package `{name}` in the store\nhint: `infuse store list STORE` shows the package names"
    )]
    NoPackage { name: String },
    #[error("`{name}` matches several packages: {candidates}\nhint: use the full package name")]
    Ambiguous { name: String, candidates: String },
}

/// The per-package manifest (`packages/<id>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: u32,
    /// Identifies where the package came from; the same key always gives the same id, so a
    /// changed package replaces its previous version.
    pub source_key: String,
    pub entry: PackageEntry,
    pub driver_ver: Option<crate::inf::model::DriverVer>,
    pub files: Vec<StoredFile>,
    pub diagnostics: Vec<String>,
    /// Stat stamps of what the package was read from: all equal → the source is unchanged.
    pub stamps: Vec<Stamp>,
}

/// A package file and the object holding its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub path: String,
    pub role: FileRole,
    /// sha256 (hex) of the bytes; `None` when the file is missing from the package.
    pub sha256: Option<String>,
    pub size: u64,
}

/// `(size, mtime ns, ctime ns, inode, device)` of a path, or `None` when it does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub path: PathBuf,
    pub stat: Option<[u64; 5]>,
}

/// What one `add` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AddReport {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub unchanged: usize,
    pub incomplete: Vec<String>,
    pub unstamped: Vec<String>,
    /// Objects written by this add and their bytes.
    pub files_stored: usize,
    pub bytes_stored: u64,
    /// Files whose bytes were already in the store (identical payloads are stored once).
    pub files_deduplicated: usize,
    pub bytes_saved: u64,
    pub index_rebuilt: bool,
    pub packages: usize,
    pub ids: u64,
    pub nodes: u64,
    pub diagnostics: Vec<String>,
}

/// Progress of an add, for a progress bar.
#[derive(Debug, Clone)]
pub enum AddEvent {
    /// Sources were walked: this many INF files and cabinets to look at.
    Found(usize),
    /// One more source item handled.
    Done(String),
    /// The index is being rebuilt.
    Indexing,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub packages: usize,
    pub objects_checked: usize,
    pub problems: Vec<String>,
}

/// An open store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// Held while writing; the OS releases the lock when the process ends, even on a kill.
struct Lock {
    _file: std::fs::File,
}

impl Store {
    /// Opens an existing store.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        if !root.join("packages").is_dir() {
            return Err(StoreError::NotAStore {
                path: root.to_path_buf(),
            });
        }
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    /// Opens a store, creating its folders if needed.
    pub fn create(root: &Path) -> Result<Store, StoreError> {
        for d in ["packages", "objects", "tmp"] {
            fs_err::create_dir_all(root.join(d))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the store's index.
    pub fn index(&self) -> Result<Index, StoreError> {
        Ok(Index::open(&self.root)?)
    }

    fn lock(&self) -> Result<Lock, StoreError> {
        let path = self.root.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => Err(std::io::Error::new(
                e.kind(),
                format!("{}: cannot lock: {e}", path.display()),
            )
            .into()),
        }
    }

    /// Adds every package found in `sources`; with no sources, only brings the index up to date.
    pub fn add(
        &self,
        sources: &[PathBuf],
        progress: &mut dyn FnMut(AddEvent),
    ) -> Result<AddReport, StoreError> {
        let _lock = self.lock()?;
        let tmp = self.root.join("tmp");
        // Leftovers of an interrupted add: never referenced by anything, safe to drop.
        if let Ok(rd) = fs_err::read_dir(&tmp) {
            for e in rd.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    fs_err::remove_dir_all(&p)
                } else {
                    fs_err::remove_file(&p)
                };
            }
        }
        let mut manifests = self.read_manifests()?;
        let mut items = Vec::new();
        for s in sources {
            discover(s, &mut items)?;
        }
        progress(AddEvent::Found(items.len()));
        let mut report = AddReport::default();
        let mut cache = DirCache::default();
        let mut written = HashSet::new();
        for item in items {
            match item {
                Item::Inf(path) => {
                    let abs = absolute(&path);
                    let key = format!("inf:{}", abs.display());
                    self.add_inf(
                        &abs,
                        &key,
                        &abs.display().to_string(),
                        None,
                        &mut manifests,
                        &mut cache,
                        &mut report,
                        &mut written,
                    )?;
                    progress(AddEvent::Done(path.display().to_string()));
                }
                Item::Cab(path) => {
                    let abs = absolute(&path);
                    self.add_cab(&abs, &mut manifests, &mut report, &mut written)?;
                    progress(AddEvent::Done(path.display().to_string()));
                }
            }
        }
        progress(AddEvent::Indexing);
        let state = state_of(&manifests);
        let current = Index::open(&self.root).ok().map(|i| i.state());
        if current != Some(state) {
            let entries: Vec<PackageEntry> =
                manifests.values().map(|(m, _)| m.entry.clone()).collect();
            let bytes = index::build(&entries, state)?;
            self.write_atomic(&self.root.join(INDEX_FILE), &bytes)?;
            sync_dir(&self.root);
            report.index_rebuilt = true;
        }
        let idx = self.index()?;
        report.packages = idx.package_count() as usize;
        report.ids = idx.id_count();
        report.nodes = idx.node_count();
        Ok(report)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "private step of add, state passed explicitly"
    )]
    fn add_inf(
        &self,
        inf_path: &Path,
        source_key: &str,
        display: &str,
        cab_stamp: Option<&Stamp>,
        manifests: &mut BTreeMap<String, (Manifest, [u8; 32])>,
        cache: &mut DirCache,
        report: &mut AddReport,
        written: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let inf_name = inf_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = package_id(&inf_name, source_key);
        if cab_stamp.is_none()
            && let Some((old, _)) = manifests.get(&id)
            && old.source_key == source_key
            && old.stamps.iter().all(|s| stamp(&s.path) == s.stat)
        {
            report.unchanged += 1;
            return Ok(());
        }
        let pkg = Package::load(inf_path, cache)?;
        let mut files = Vec::with_capacity(pkg.files.len());
        for f in &pkg.files {
            let stored = match &f.found {
                Some(p) if f.role == FileRole::Inf => Some(
                    self.put_bytes(&pkg.inf_bytes, report, written)
                        .map(|h| (h, pkg.inf_bytes.len() as u64))?,
                ),
                Some(p) => Some(self.put_file(p, report, written)?),
                None => None,
            };
            files.push(StoredFile {
                path: f.path.clone(),
                role: f.role,
                sha256: stored.as_ref().map(|(h, _)| h.clone()),
                size: stored.map_or(0, |(_, s)| s),
            });
        }
        let stamps = match cab_stamp {
            Some(s) => vec![s.clone()],
            None => {
                let mut paths: Vec<PathBuf> = vec![inf_path.to_path_buf()];
                paths.extend(pkg.files.iter().filter_map(|f| f.found.clone()));
                if pkg.files.iter().any(|f| f.found.is_none()) {
                    // A missing file may appear later: watch the package folder's listing.
                    if let Some(dir) = inf_path.parent() {
                        paths.push(dir.to_path_buf());
                    }
                }
                paths
                    .into_iter()
                    .map(|p| Stamp {
                        stat: stamp(&p),
                        path: p,
                    })
                    .collect()
            }
        };
        let entry = pkg.entry(&id, display);
        if !entry.info.complete {
            report.incomplete.push(id.clone());
        }
        if entry.info.unstamped {
            report.unstamped.push(id.clone());
        }
        report.diagnostics.extend(pkg.diagnostics.iter().cloned());
        let manifest = Manifest {
            schema: MANIFEST_SCHEMA,
            source_key: source_key.to_string(),
            entry,
            driver_ver: pkg.model.version.driver_ver,
            files,
            diagnostics: pkg.diagnostics.clone(),
            stamps,
        };
        let bytes = serde_json::to_vec(&manifest).map_err(|source| StoreError::Json {
            path: self.manifest_path(&id),
            source,
        })?;
        self.write_atomic(&self.manifest_path(&id), &bytes)?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        match manifests.insert(id.clone(), (manifest, digest)) {
            Some(_) => report.replaced.push(id),
            None => report.added.push(id),
        }
        Ok(())
    }

    fn add_cab(
        &self,
        cab_path: &Path,
        manifests: &mut BTreeMap<String, (Manifest, [u8; 32])>,
        report: &mut AddReport,
        written: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let cab_stamp = Stamp {
            path: cab_path.to_path_buf(),
            stat: stamp(cab_path),
        };
        let prefix = format!("cab:{}!", cab_path.display());
        let mine: Vec<&Manifest> = manifests
            .values()
            .map(|(m, _)| m)
            .filter(|m| m.source_key.starts_with(&prefix))
            .collect();
        if !mine.is_empty() && mine.iter().all(|m| m.stamps == [cab_stamp.clone()]) {
            report.unchanged += mine.len();
            return Ok(());
        }
        let tmp = self.root.join("tmp");
        let dir =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cab::unpack(cab_path, &tmp)))
                .map_err(|_| StoreError::CabPanic {
                    path: cab_path.to_path_buf(),
                })??;
        let mut infs = Vec::new();
        walk(dir.path(), &mut infs)?;
        let mut cache = DirCache::default();
        for item in infs {
            let Item::Inf(inf) = item else { continue };
            let rel = inf
                .strip_prefix(dir.path())
                .unwrap_or(&inf)
                .to_string_lossy()
                .replace('\\', "/");
            let key = format!("{prefix}{rel}");
            let display = format!("{}!{rel}", cab_path.display());
            self.add_inf(
                &inf,
                &key,
                &display,
                Some(&cab_stamp),
                manifests,
                &mut cache,
                report,
                written,
            )?;
        }
        Ok(())
    }

    fn manifest_path(&self, id: &str) -> PathBuf {
        self.root.join("packages").join(format!("{id}.json"))
    }

    fn object_path(&self, hash: &str) -> PathBuf {
        let (a, b) = hash.split_at(2);
        self.root.join("objects").join(a).join(b)
    }

    /// Reads every manifest, with the sha256 of its bytes.
    pub fn read_manifests(&self) -> Result<BTreeMap<String, (Manifest, [u8; 32])>, StoreError> {
        let mut out = BTreeMap::new();
        let dir = self.root.join("packages");
        for e in fs_err::read_dir(&dir)? {
            let path = e?.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let bytes = fs_err::read(&path)?;
            let m: Manifest =
                serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
                    path: path.clone(),
                    source,
                })?;
            let id = m.entry.info.id.clone();
            out.insert(id, (m, Sha256::digest(&bytes).into()));
        }
        Ok(out)
    }

    fn put_bytes(
        &self,
        bytes: &[u8],
        report: &mut AddReport,
        written: &mut HashSet<String>,
    ) -> Result<String, StoreError> {
        let hash = hex::encode(Sha256::digest(bytes));
        let target = self.object_path(&hash);
        if target.exists() {
            report.files_deduplicated += 1;
            report.bytes_saved += bytes.len() as u64;
        } else {
            self.write_atomic(&target, bytes)?;
            report.files_stored += 1;
            report.bytes_stored += bytes.len() as u64;
            written.insert(hash.clone());
        }
        Ok(hash)
    }

    fn put_file(
        &self,
        path: &Path,
        report: &mut AddReport,
        written: &mut HashSet<String>,
    ) -> Result<(String, u64), StoreError> {
        // One read: hash while copying into a temp file, keep it only if the object is new.
        let mut src = fs_err::File::open(path)?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = src.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
            size += n as u64;
        }
        let hash = hex::encode(hasher.finalize());
        let target = self.object_path(&hash);
        if target.exists() {
            report.files_deduplicated += 1;
            report.bytes_saved += size;
        } else {
            tmp.as_file().sync_all()?;
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent)?;
            }
            tmp.persist(&target).map_err(|e| e.error)?;
            report.files_stored += 1;
            report.bytes_stored += size;
            written.insert(hash.clone());
        }
        Ok((hash, size))
    }

    /// temp in `tmp/` + fsync + rename.
    fn write_atomic(&self, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        tmp.persist(target).map_err(|e| {
            std::io::Error::new(e.error.kind(), format!("{}: {}", target.display(), e.error))
        })?;
        Ok(())
    }

    /// Every package manifest, sorted by id.
    pub fn list(&self) -> Result<Vec<Manifest>, StoreError> {
        Ok(self
            .read_manifests()?
            .into_values()
            .map(|(m, _)| m)
            .collect())
    }

    /// One package by full id, id prefix, or INF name (case-insensitive) when unambiguous.
    pub fn show(&self, name: &str) -> Result<Manifest, StoreError> {
        let all = self.list()?;
        if let Some(m) = all
            .iter()
            .find(|m| m.entry.info.id.eq_ignore_ascii_case(name))
        {
            return Ok(m.clone());
        }
        let lower = name.to_lowercase();
        let hits: Vec<&Manifest> = all
            .iter()
            .filter(|m| {
                m.entry.info.id.starts_with(&lower) || m.entry.info.inf_name.to_lowercase() == lower
            })
            .collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(StoreError::NoPackage {
                name: name.to_string(),
            }),
            many => Err(StoreError::Ambiguous {
                name: name.to_string(),
                candidates: many
                    .iter()
                    .map(|m| m.entry.info.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Re-hashes every object and checks the index against the manifests.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let _lock = self.lock()?;
        let manifests = self.read_manifests()?;
        let mut report = VerifyReport {
            packages: manifests.len(),
            ..VerifyReport::default()
        };
        let mut checked = HashSet::new();
        for (id, (m, _)) in &manifests {
            if m.schema != MANIFEST_SCHEMA {
                report.problems.push(format!(
                    "{id}: manifest schema {} (expected {MANIFEST_SCHEMA})",
                    m.schema
                ));
            }
            for f in &m.files {
                let Some(hash) = &f.sha256 else { continue };
                if !checked.insert(hash.clone()) {
                    continue;
                }
                let path = self.object_path(hash);
                match hash_file(&path) {
                    Ok((h, size)) if &h == hash && size == f.size => {}
                    Ok((h, size)) => report.problems.push(format!(
                        "{id}: {} object {} holds {size} bytes hashing to {h} (expected {} bytes)",
                        f.path,
                        path.display(),
                        f.size
                    )),
                    Err(e) => report.problems.push(format!("{id}: {}: {e}", f.path)),
                }
            }
        }
        report.objects_checked = checked.len();
        match Index::open(&self.root) {
            Err(e) => report.problems.push(e.to_string()),
            Ok(idx) => {
                if let Err(e) = idx.verify() {
                    report.problems.push(e.to_string());
                }
                if idx.state() != state_of(&manifests) {
                    report.problems.push(
                        "index is stale: it was not built from the current manifests (an add was interrupted)\nhint: run `infuse store add STORE` to rebuild it"
                            .to_string(),
                    );
                } else {
                    let nodes: usize = manifests.values().map(|(m, _)| m.entry.nodes.len()).sum();
                    if idx.node_count() != nodes as u64
                        || idx.package_count() != manifests.len() as u64
                    {
                        report.problems.push(format!(
                            "index holds {} packages / {} nodes, manifests {} / {nodes}",
                            idx.package_count(),
                            idx.node_count(),
                            manifests.len()
                        ));
                    }
                    match idx.packages() {
                        Ok(pkgs) => {
                            for (p, id) in pkgs.iter().zip(manifests.keys()) {
                                if &p.id != id {
                                    report.problems.push(format!(
                                        "index package {} where manifests have {id}",
                                        p.id
                                    ));
                                    break;
                                }
                            }
                        }
                        Err(e) => report.problems.push(e.to_string()),
                    }
                }
            }
        }
        Ok(report)
    }
}

enum Item {
    Inf(PathBuf),
    Cab(PathBuf),
}

fn discover(source: &Path, out: &mut Vec<Item>) -> Result<(), StoreError> {
    let meta = fs_err::metadata(source)?;
    if meta.is_dir() {
        walk(source, out)
    } else if has_ext(source, "inf") {
        out.push(Item::Inf(source.to_path_buf()));
        Ok(())
    } else if has_ext(source, "cab") {
        out.push(Item::Cab(source.to_path_buf()));
        Ok(())
    } else {
        Err(StoreError::Source {
            path: source.to_path_buf(),
        })
    }
}

/// Every `.inf` below `dir`, sorted; symbolic links to folders are not followed (no loops).
fn walk(dir: &Path, out: &mut Vec<Item>) -> Result<(), StoreError> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let ft = e.file_type()?;
        let path = e.path();
        if ft.is_dir() {
            walk(&path, out)?;
        } else if has_ext(&path, "inf") && (ft.is_file() || path.is_file()) {
            out.push(Item::Inf(path));
        }
    }
    Ok(())
}

fn has_ext(p: &Path, ext: &str) -> bool {
    p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `<inf name lower-case>_<16 hex>`, like the DriverStore's folder names
/// (windows-driver-internals.md §1.3), hashed from where the package came from.
pub fn package_id(inf_name: &str, source_key: &str) -> String {
    let h = Sha256::digest(source_key.as_bytes());
    format!("{}_{}", inf_name.to_lowercase(), hex::encode(&h[..8]))
}

fn state_of(manifests: &BTreeMap<String, (Manifest, [u8; 32])>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(index::SCHEMA_VERSION.to_le_bytes());
    for (id, (_, digest)) in manifests {
        h.update(id.as_bytes());
        h.update([0]);
        h.update(digest);
    }
    h.finalize().into()
}

fn stamp(path: &Path) -> Option<[u64; 5]> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| {
            (s as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add(n as u64)
        };
        Some([
            m.size(),
            ns(m.mtime(), m.mtime_nsec()),
            ns(m.ctime(), m.ctime_nsec()),
            m.ino(),
            m.dev(),
        ])
    }
    #[cfg(not(unix))]
    {
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        Some([m.len(), mtime, 0, 0, 0])
    }
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
