//! The store directory: adding sources (folders, `.inf`, `.cab`), content-addressed objects,
//! per-package manifests and node lists in one pack file per add ([`super::pack`]), the atomic
//! index rebuild, listing, showing and verifying.
//!
//! Crash safety: every file but the objects is written to `tmp/` and renamed into place (objects
//! are written in place: named by their content, a torn one is shorter than its size and is
//! rewritten), objects and the pack that names them made durable before the pack is renamed
//! into `packs/`, and the pack's name
//! durable before the index built from it is published, with a durability barrier (`syncfs` on
//! Linux, fsync per file elsewhere) between each step. A kill at any point leaves the previous
//! index (which only names objects that exist) or the new one; the next `add` notices a stale
//! index (its recorded state differs from the manifests) and rebuilds it.
//!
//! Store schema 3 (this one): `packs/` of pack schema 2 (postcard node lists). Schema 2 had packs
//! of pack schema 1 (JSON node lists); schema 1 had `packages/<id>.json` and
//! `packages/<id>.nodes` per package. `add` converts either (the same packages, their node lists
//! re-encoded, one pack); the read-only commands refuse them with a hint to run `add`.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cab::{self, CabError};
use super::index::{
    self, INDEX_FILE, Index, IndexError, ManufacturerLine, NodeEntry, PackageEntry, PackageInfo,
};
use super::pack::{self, OpenPackError, Pack, PackError, PackWriter};
use super::package::{DirCache, FileRole, Package, manufacturer_lines, parse_options};

const MANIFEST_SCHEMA: u32 = 1;
const LOCK_FILE: &str = "store.lock";
/// The store layout: 1 = a manifest and a node list file per package (`packages/`), 2 = packs
/// (`packs/`) with JSON node lists, 3 = packs with postcard node lists.
pub const STORE_SCHEMA: u32 = 3;
const PACKS: &str = "packs";
/// Where schema 1 kept its manifests and node lists.
const OLD_PACKAGES: &str = "packages";

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
        "{path}: not an infuse store (no packs/ folder)\nhint: create one with `infuse store add {path} SOURCE...`"
    )]
    NotAStore { path: PathBuf },
    #[error(
        "{path}: store written by an older infuse (store schema {schema}: {layout}; this infuse reads schema 3, packs/ with binary node lists)\nhint: run `infuse store add {path}` once to convert it"
    )]
    OldSchema {
        path: PathBuf,
        /// The store schema found (1 or 2).
        schema: u32,
        layout: &'static str,
    },
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Postcard {
        path: PathBuf,
        #[source]
        source: postcard::Error,
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
    pub info: PackageInfo,
    pub driver_ver: Option<crate::inf::model::DriverVer>,
    pub files: Vec<StoredFile>,
    pub diagnostics: Vec<String>,
    /// Stat stamps of what the package was read from: all equal → the source is unchanged.
    pub stamps: Vec<Stamp>,
    /// The driver nodes live next to the manifest in its pack (read only to rebuild the index
    /// or show the package); their count and hash are here.
    pub node_count: usize,
    pub nodes_sha256: String,
    /// The `[Manufacturer]` lines, copied into the index for ranking. Manifests written before
    /// they were recorded have none: the index rebuild then reads them from the stored INF.
    #[serde(default)]
    pub manufacturer_lines: Vec<ManufacturerLine>,
}

/// One INF to add, and where it came from.
struct Work {
    inf: PathBuf,
    key: String,
    display: String,
    /// For packages from a cabinet: the cabinet's stamp.
    cab: Option<Stamp>,
}

/// A package whose objects are written: its manifest, its node list (serialized for the pack,
/// and as it is for the index), and what storing it counted.
struct Stored {
    manifest: Manifest,
    nodes_bytes: Vec<u8>,
    nodes: Vec<NodeEntry>,
    report: AddReport,
}

enum Loaded {
    Unchanged,
    /// The package's files are in `objects/` (not yet durable); its manifest and serialized
    /// node list, and what storing it counted.
    Stored(Box<Stored>),
}

/// Packages per chunk (bounds memory: a chunk's node lists are held until they go into the pack).
const CHUNK: usize = 64;

/// Reads, parses, hashes and stores the objects of `work` on `threads` threads; results in
/// `work` order. Creating the object files mostly waits on the file system, so doing it in the
/// loaders overlaps it with the parsing of other packages.
fn load_parallel(
    store: &Store,
    work: &[Work],
    manifests: &BTreeMap<String, (Manifest, [u8; 32])>,
    claimed: &std::sync::Mutex<HashSet<String>>,
    threads: usize,
) -> Vec<Result<Loaded, StoreError>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Loaded, StoreError>>> = Vec::new();
    results.resize_with(work.len(), || None);
    let results = std::sync::Mutex::new(results);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut cache = DirCache::default();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(w) = work.get(i) else { break };
                    let r = load_one(store, w, manifests, claimed, &mut cache);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(std::io::Error::other("a package loader thread panicked").into())
            })
        })
        .collect()
}

fn load_one(
    store: &Store,
    w: &Work,
    manifests: &BTreeMap<String, (Manifest, [u8; 32])>,
    claimed: &std::sync::Mutex<HashSet<String>>,
    cache: &mut DirCache,
) -> Result<Loaded, StoreError> {
    let inf_name = w
        .inf
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = package_id(&inf_name, &w.key);
    if w.cab.is_none()
        && let Some((old, _)) = manifests.get(&id)
        && old.source_key == w.key
        && old.stamps.iter().all(|s| stamp(&s.path) == s.stat)
    {
        return Ok(Loaded::Unchanged);
    }
    let pkg = Package::load(&w.inf, cache)?;
    let mut hashes = Vec::with_capacity(pkg.files.len());
    for f in &pkg.files {
        hashes.push(match &f.found {
            Some(_) if f.role == FileRole::Inf => Some((
                hex::encode(Sha256::digest(&pkg.inf_bytes)),
                pkg.inf_bytes.len() as u64,
            )),
            Some(p) => Some(hash_file(p)?),
            None => None,
        });
    }
    let mut report = AddReport::default();
    let (manifest, nodes_bytes, nodes) =
        store.store_objects(w, pkg, hashes, claimed, &mut report)?;
    Ok(Loaded::Stored(Box::new(Stored {
        manifest,
        nodes_bytes,
        nodes,
        report,
    })))
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
    /// Opens an existing store (refusing one of an older schema: [`StoreError::OldSchema`]).
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let store = Store {
            root: root.to_path_buf(),
        };
        if !root.join(OLD_PACKAGES).is_dir() && !root.join(PACKS).is_dir() {
            return Err(StoreError::NotAStore {
                path: root.to_path_buf(),
            });
        }
        store.check_schema()?;
        Ok(store)
    }

    /// Opens a store, creating its folders if needed. A store of the older schema is converted
    /// by the next [`Store::add`].
    pub fn create(root: &Path) -> Result<Store, StoreError> {
        for d in [PACKS, "objects", "tmp"] {
            fs_err::create_dir_all(root.join(d))?;
        }
        // The 256 fan-out folders of objects/, made once so writes need no mkdir.
        if !root.join("objects/ff").is_dir() {
            for i in 0..=255u8 {
                fs_err::create_dir_all(root.join("objects").join(format!("{i:02x}")))?;
            }
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
    ///
    /// Packages are read, parsed and hashed on every core; objects and manifests are written in
    /// chunks, with a durability barrier between a chunk's objects and its manifests and before
    /// the index is published.
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
        if self.root.join(OLD_PACKAGES).is_dir() {
            self.convert_schema_1()?;
        }
        let mut catalog = self.catalog()?;
        if catalog.packs.iter().any(|p| p.schema != pack::SCHEMA) {
            self.convert_json_nodes(&catalog)?;
            catalog = self.catalog()?;
        }
        let mut manifests = catalog.manifests();
        let next_seq = catalog.packs.last().map_or(1, |p| p.seq + 1);
        let mut items = Vec::new();
        for s in sources {
            discover(s, &mut items)?;
        }
        progress(AddEvent::Found(items.len()));
        let mut report = AddReport::default();
        // Expand cabinets (unchanged ones are skipped whole) into package work.
        let mut work = Vec::new();
        let mut unpacked = Vec::new();
        for item in items {
            match item {
                Item::Inf(path) => {
                    let abs = absolute(&path);
                    work.push(Work {
                        key: format!("inf:{}", abs.display()),
                        display: abs.display().to_string(),
                        inf: abs,
                        cab: None,
                    });
                }
                Item::Cab(path) => {
                    let abs = absolute(&path);
                    let cab_stamp = Stamp {
                        path: abs.clone(),
                        stat: stamp(&abs),
                    };
                    let prefix = format!("cab:{}!", abs.display());
                    let mine: Vec<&Manifest> = manifests
                        .values()
                        .map(|(m, _)| m)
                        .filter(|m| m.source_key.starts_with(&prefix))
                        .collect();
                    if !mine.is_empty() && mine.iter().all(|m| m.stamps == [cab_stamp.clone()]) {
                        report.unchanged += mine.len();
                        progress(AddEvent::Done(path.display().to_string()));
                        continue;
                    }
                    let dir = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        cab::unpack(&abs, &tmp)
                    }))
                    .map_err(|_| StoreError::CabPanic { path: abs.clone() })??;
                    let mut infs = Vec::new();
                    walk(dir.path(), &mut infs)?;
                    for inf in infs {
                        let Item::Inf(inf) = inf else { continue };
                        let rel = inf
                            .strip_prefix(dir.path())
                            .unwrap_or(&inf)
                            .to_string_lossy()
                            .replace('\\', "/");
                        work.push(Work {
                            key: format!("{prefix}{rel}"),
                            display: format!("{}!{rel}", abs.display()),
                            inf,
                            cab: Some(cab_stamp.clone()),
                        });
                    }
                    unpacked.push(dir);
                }
            }
        }
        // At least four loaders even on two cores: they also create the object files, which
        // mostly waits on the file system while the others parse.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(4, 8);
        // The manifests and node lists of this add, in one pack (opened at the first package).
        let mut writer: Option<PackWriter> = None;
        // Objects this add has stored or found, so that a payload shared by packages loaded at
        // the same time is written once.
        let claimed = std::sync::Mutex::new(HashSet::new());
        // The node lists this add wrote into its pack, kept for the index (not parsed back).
        let mut fresh: std::collections::HashMap<String, Vec<NodeEntry>> =
            std::collections::HashMap::new();
        for chunk in work.chunks(CHUNK) {
            let loaded = load_parallel(self, chunk, &manifests, &claimed, threads);
            let mut pending = Vec::new();
            for (w, result) in chunk.iter().zip(loaded) {
                match result? {
                    Loaded::Unchanged => report.unchanged += 1,
                    Loaded::Stored(stored) => {
                        let Stored {
                            manifest,
                            nodes_bytes,
                            nodes,
                            report: counted,
                        } = *stored;
                        report.files_stored += counted.files_stored;
                        report.bytes_stored += counted.bytes_stored;
                        report.files_deduplicated += counted.files_deduplicated;
                        report.bytes_saved += counted.bytes_saved;
                        report.incomplete.extend(counted.incomplete);
                        report.unstamped.extend(counted.unstamped);
                        report.diagnostics.extend(counted.diagnostics);
                        fresh.insert(manifest.info.id.clone(), nodes);
                        pending.push((manifest, nodes_bytes));
                    }
                }
                progress(AddEvent::Done(w.display.clone()));
            }
            for (manifest, nodes) in pending {
                let id = manifest.info.id.clone();
                let bytes = serde_json::to_vec(&manifest).map_err(|source| StoreError::Json {
                    path: self.root.join(PACKS).join(&id),
                    source,
                })?;
                let w = match &mut writer {
                    Some(w) => w,
                    None => writer.insert(PackWriter::new(self.temp()?)?),
                };
                w.push(&bytes, &nodes)?;
                let digest: [u8; 32] = Sha256::digest(&bytes).into();
                match manifests.insert(id.clone(), (manifest, digest)) {
                    Some(_) => report.replaced.push(id),
                    None => report.added.push(id),
                }
            }
        }
        drop(unpacked);
        let wrote_pack = match writer {
            Some(w) if w.len() > 0 => {
                let tmp = w.finish()?;
                // Objects and the pack's bytes are durable before the pack is renamed into
                // place, and its name is before an index built from it is published.
                self.barrier()?;
                self.publish(tmp, &self.root.join(PACKS).join(pack::name_of(next_seq)))?;
                self.barrier()?;
                true
            }
            _ => false,
        };
        progress(AddEvent::Indexing);
        let catalog = if wrote_pack { self.catalog()? } else { catalog };
        let manifests = catalog.manifests();
        let state = state_of(&manifests);
        let current = Index::open(&self.root).ok().map(|i| i.state());
        if current != Some(state) {
            if !wrote_pack {
                // A pack an interrupted add renamed into place is durable before an index
                // built from it is published.
                self.barrier()?;
            }
            let mut entries = Vec::with_capacity(manifests.len());
            for (id, (m, _)) in &manifests {
                let nodes = match fresh.remove(id) {
                    Some(nodes) => nodes,
                    None => catalog.nodes(id)?,
                };
                let lines = if m.manufacturer_lines.is_empty() && !nodes.is_empty() {
                    self.lines_from_inf(m)?
                } else {
                    m.manufacturer_lines.clone()
                };
                entries.push(PackageEntry {
                    info: m.info.clone(),
                    nodes,
                    lines,
                });
            }
            let bytes = index::build(&entries, state)?;
            self.write_file(&self.root.join(INDEX_FILE), &bytes)?;
            self.barrier()?;
            report.index_rebuilt = true;
        }
        // Packs whose packages were all replaced by later ones hold nothing current (if a
        // removal is lost to a power loss, the pack is still replaced and goes next time).
        for p in catalog.packs.iter().filter(|p| !catalog.is_current(p.seq)) {
            fs_err::remove_file(&p.path)?;
        }
        let idx = self.index()?;
        report.packages = idx.package_count() as usize;
        report.ids = idx.id_count();
        report.nodes = idx.node_count();
        Ok(report)
    }

    /// Copies a loaded package's files into `objects/` (each once) and returns its manifest and
    /// the serialized node list, ready to be written after the next barrier.
    fn store_objects(
        &self,
        w: &Work,
        pkg: Package,
        hashes: Vec<Option<(String, u64)>>,
        claimed: &std::sync::Mutex<HashSet<String>>,
        report: &mut AddReport,
    ) -> Result<(Manifest, Vec<u8>, Vec<NodeEntry>), StoreError> {
        let id = package_id(&pkg.inf_name, &w.key);
        let mut files = Vec::with_capacity(pkg.files.len());
        for (f, hash) in pkg.files.iter().zip(hashes) {
            if let (Some(path), Some((hash, size))) = (&f.found, &hash) {
                let target = self.object_path(hash);
                // An object counts as present only with its full size: after a power loss a
                // renamed object can exist with none of its data (objects are made durable by
                // the chunk's barrier, not one fsync each), and it must not be trusted forever.
                let first = claimed.lock().is_ok_and(|mut c| c.insert(hash.clone()));
                if !first || fs_err::metadata(&target).is_ok_and(|m| m.len() == *size) {
                    report.files_deduplicated += 1;
                    report.bytes_saved += size;
                } else {
                    if f.role == FileRole::Inf {
                        self.write_object(&target, |out| out.write_all(&pkg.inf_bytes))?;
                    } else {
                        let mut source = fs_err::File::open(path)?;
                        self.write_object(&target, |out| {
                            std::io::copy(source.file_mut(), out).map(drop)
                        })?;
                    }
                    report.files_stored += 1;
                    report.bytes_stored += size;
                }
            }
            files.push(StoredFile {
                path: f.path.clone(),
                role: f.role,
                size: hash.as_ref().map_or(0, |(_, s)| *s),
                sha256: hash.map(|(h, _)| h),
            });
        }
        let stamps = match &w.cab {
            Some(s) => vec![s.clone()],
            None => {
                let mut paths: Vec<PathBuf> = vec![w.inf.clone()];
                paths.extend(pkg.files.iter().filter_map(|f| f.found.clone()));
                if pkg.files.iter().any(|f| f.found.is_none()) {
                    // A missing file may appear later: watch the package folder's listing.
                    if let Some(dir) = w.inf.parent() {
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
        let entry = pkg.entry(&id, &w.display);
        if !entry.info.complete {
            report.incomplete.push(id.clone());
        }
        if entry.info.unstamped {
            report.unstamped.push(id.clone());
        }
        report.diagnostics.extend(pkg.diagnostics.iter().cloned());
        let nodes = encode_nodes(&entry.nodes, &self.root.join(PACKS).join(&id))?;
        let manifest = Manifest {
            schema: MANIFEST_SCHEMA,
            source_key: w.key.clone(),
            info: entry.info,
            driver_ver: pkg.model.version.driver_ver,
            files,
            diagnostics: pkg.diagnostics,
            stamps,
            node_count: entry.nodes.len(),
            nodes_sha256: hex::encode(Sha256::digest(&nodes)),
            manufacturer_lines: entry.lines,
        };
        Ok((manifest, nodes, entry.nodes))
    }

    /// The Manufacturer lines of a package whose manifest predates them, from its stored INF.
    fn lines_from_inf(&self, m: &Manifest) -> Result<Vec<ManufacturerLine>, StoreError> {
        let hash = m
            .files
            .iter()
            .find(|f| f.role == FileRole::Inf)
            .and_then(|f| f.sha256.as_deref())
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| StoreError::NoPackage {
                name: format!("{} (its manifest names no stored INF)", m.info.id),
            })?;
        let bytes = fs_err::read(self.object_path(hash))?;
        let inf = crate::inf::parse_with(&bytes, &parse_options());
        Ok(manufacturer_lines(&crate::inf::model::Model::new(&inf)))
    }

    /// The stored bytes of package `id`'s INF (to re-read its model, e.g. for `--explain`).
    pub fn inf_bytes(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        let m = self.show(id)?;
        let hash = m
            .files
            .iter()
            .find(|f| f.role == FileRole::Inf)
            .and_then(|f| f.sha256.clone())
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| StoreError::NoPackage {
                name: format!("{id} (its manifest names no stored INF)"),
            })?;
        Ok(fs_err::read(self.object_path(&hash))?)
    }

    /// The driver nodes of package `id` (from its pack).
    pub fn nodes(&self, id: &str) -> Result<Vec<NodeEntry>, StoreError> {
        self.check_schema()?;
        self.catalog()?.nodes(id)
    }

    fn object_path(&self, hash: &str) -> PathBuf {
        let (a, b) = hash.split_at(2);
        self.root.join("objects").join(a).join(b)
    }

    /// Reads every current manifest, with the sha256 of its bytes.
    pub fn read_manifests(&self) -> Result<BTreeMap<String, (Manifest, [u8; 32])>, StoreError> {
        self.check_schema()?;
        Ok(self.catalog()?.manifests())
    }

    /// [`StoreError::OldSchema`] for a store of schema 1 or 2 (not yet converted by an `add`).
    /// Reads only the packs' headers.
    fn check_schema(&self) -> Result<(), StoreError> {
        if self.root.join(OLD_PACKAGES).is_dir() {
            return Err(StoreError::OldSchema {
                path: self.root.clone(),
                schema: 1,
                layout: "a manifest and a node list file per package under packages/",
            });
        }
        if let Ok(rd) = std::fs::read_dir(self.root.join(PACKS)) {
            for e in rd.flatten() {
                let is_pack = e.file_name().to_str().and_then(pack::seq_of).is_some();
                if is_pack && pack::schema_of(&e.path()) == Some(pack::SCHEMA_JSON_NODES) {
                    return Err(StoreError::OldSchema {
                        path: self.root.clone(),
                        schema: 2,
                        layout: "packs/ with JSON node lists",
                    });
                }
            }
        }
        Ok(())
    }

    /// Every pack in `packs/`, in sequence order, and the current manifests in them. A pack that
    /// disappears while being listed (a concurrent `add` deleted it as fully replaced) makes
    /// the listing start over, so that it sees the pack that replaced it.
    fn catalog(&self) -> Result<Catalog, StoreError> {
        let dir = self.root.join(PACKS);
        let mut attempts = 0;
        'again: loop {
            attempts += 1;
            let mut seqs: Vec<(u64, PathBuf)> = Vec::new();
            for e in fs_err::read_dir(&dir)? {
                let e = e?;
                if let Some(seq) = e.file_name().to_str().and_then(pack::seq_of) {
                    seqs.push((seq, e.path()));
                }
            }
            seqs.sort();
            let mut catalog = Catalog::default();
            for (seq, path) in seqs {
                let pack = match Pack::open(&path, seq) {
                    Ok(p) => p,
                    Err(OpenPackError::Io(e))
                        if e.kind() == std::io::ErrorKind::NotFound && attempts < 5 =>
                    {
                        continue 'again;
                    }
                    Err(OpenPackError::Io(e)) => return Err(annotate(e, &path).into()),
                    Err(OpenPackError::Damaged(e)) => return Err(e.into()),
                };
                catalog.add(pack)?;
            }
            return Ok(catalog);
        }
    }

    /// Converts a schema 1 store (`packages/<id>.json` + `.nodes`): the same manifest and node
    /// list bytes go into one pack, made durable and renamed into `packs/` before `packages/`
    /// is removed, so a kill at any point leaves a store the next `add` converts or reads.
    /// (Called under the writer's lock.)
    fn convert_schema_1(&self) -> Result<(), StoreError> {
        let old = self.root.join(OLD_PACKAGES);
        let mut paths: Vec<PathBuf> = Vec::new();
        for e in fs_err::read_dir(&old)? {
            let path = e?.path();
            if path.extension().is_some_and(|x| x == "json") {
                paths.push(path);
            }
        }
        paths.sort();
        fs_err::create_dir_all(self.root.join(PACKS))?;
        let next_seq = self.catalog()?.packs.last().map_or(1, |p| p.seq + 1);
        let mut writer = PackWriter::new(self.temp()?)?;
        for path in paths {
            let bytes = fs_err::read(&path)?;
            // Checked to be a manifest, and its node list taken by its id.
            let m: Manifest =
                serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
                    path: path.clone(),
                    source,
                })?;
            let nodes_path = old.join(format!("{}.nodes", m.info.id));
            let json = fs_err::read(&nodes_path)?;
            let nodes: Vec<NodeEntry> =
                serde_json::from_slice(&json).map_err(|source| StoreError::Json {
                    path: nodes_path.clone(),
                    source,
                })?;
            let (bytes, nodes) = reencoded(m, &nodes, &path)?;
            writer.push(&bytes, &nodes)?;
        }
        let tmp = writer.finish()?;
        self.barrier()?;
        self.publish(tmp, &self.root.join(PACKS).join(pack::name_of(next_seq)))?;
        self.barrier()?;
        fs_err::remove_dir_all(&old)?;
        Ok(())
    }

    /// Converts a schema 2 store (packs with JSON node lists): every current package, its node
    /// list re-encoded and its manifest's `nodes_sha256` updated, into one new pack, made durable
    /// and renamed into place before the old packs are removed. A kill before the removal leaves
    /// old packs whose packages the new pack replaces; the next `add` converts again (only the
    /// current packages) and removes them. (Called under the writer's lock.)
    fn convert_json_nodes(&self, catalog: &Catalog) -> Result<(), StoreError> {
        let next_seq = catalog.packs.last().map_or(1, |p| p.seq + 1);
        let mut writer = PackWriter::new(self.temp()?)?;
        for (id, c) in &catalog.current {
            let nodes = catalog.nodes(id)?;
            let path = catalog
                .packs
                .get(c.pack)
                .map(|p| p.path.clone())
                .unwrap_or_default();
            let (bytes, nodes) = reencoded(c.manifest.clone(), &nodes, &path)?;
            writer.push(&bytes, &nodes)?;
        }
        let tmp = writer.finish()?;
        self.barrier()?;
        self.publish(tmp, &self.root.join(PACKS).join(pack::name_of(next_seq)))?;
        self.barrier()?;
        for p in &catalog.packs {
            fs_err::remove_file(&p.path)?;
        }
        Ok(())
    }

    /// Writes `bytes` to `target` through a temp file in `tmp/` and a rename (durability comes
    /// from the next [`Store::barrier`]).
    fn write_file(&self, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let mut tmp = self.temp()?;
        tmp.write_all(bytes)?;
        self.publish(tmp, target)
    }

    /// Writes an object in place (no temp file and rename: one file created, in its own fan-out
    /// folder rather than all in `tmp/`). An object is named by its content, so a torn one (a
    /// kill mid-write) is only ever shorter than its size, which is how `add` tells it is not
    /// there (and truncates and rewrites it); no pack names it before the barrier that follows
    /// its write. `File` to `File` copies go through `copy_file_range` (reflinks where the file
    /// system can).
    fn write_object(
        &self,
        target: &Path,
        fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        let open = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(target)
        };
        let mut out = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                open()
            }
            r => r,
        }
        .map_err(|e| annotate(e, target))?;
        fill(&mut out).map_err(|e| annotate(e, target))?;
        #[cfg(not(target_os = "linux"))]
        out.sync_all().map_err(|e| annotate(e, target))?;
        Ok(())
    }

    fn temp(&self) -> Result<tempfile::NamedTempFile, StoreError> {
        #[cfg_attr(
            not(unix),
            allow(unused_mut, reason = "permissions are set on unix only")
        )]
        let mut b = tempfile::Builder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o644));
        }
        Ok(b.tempfile_in(self.root.join("tmp"))?)
    }

    fn publish(&self, tmp: tempfile::NamedTempFile, target: &Path) -> Result<(), StoreError> {
        #[cfg(not(target_os = "linux"))]
        tmp.as_file().sync_all()?;
        let tmp = match tmp.persist(target) {
            Ok(_) => return Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                e.file
            }
            Err(e) => return Err(annotate(e.error, target).into()),
        };
        tmp.persist(target).map_err(|e| {
            std::io::Error::new(e.error.kind(), format!("{}: {}", target.display(), e.error))
        })?;
        Ok(())
    }

    /// Makes everything written so far durable, renames included: one `syncfs` of the store's
    /// file system on Linux (instead of an fsync per file); elsewhere files were synced before
    /// their rename and the store folders are synced here.
    fn barrier(&self) -> Result<(), StoreError> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let dir = fs_err::File::open(&self.root)?;
            // SAFETY: `dir` is an open descriptor for the duration of the call.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                let e = std::io::Error::last_os_error();
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("{}: syncfs: {e}", self.root.display()),
                )
                .into());
            }
        }
        #[cfg(not(target_os = "linux"))]
        for d in [self.root.clone(), self.root.join("packages")] {
            sync_dir(&d);
        }
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
        if let Some(m) = all.iter().find(|m| m.info.id.eq_ignore_ascii_case(name)) {
            return Ok(m.clone());
        }
        let lower = name.to_lowercase();
        let hits: Vec<&Manifest> = all
            .iter()
            .filter(|m| m.info.id.starts_with(&lower) || m.info.inf_name.to_lowercase() == lower)
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
                    .map(|m| m.info.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Re-hashes every object and checks the index against the manifests.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let _lock = self.lock()?;
        self.check_schema()?;
        let catalog = self.catalog()?;
        let manifests = catalog.manifests();
        let mut report = VerifyReport {
            packages: manifests.len(),
            ..VerifyReport::default()
        };
        let mut checked = HashSet::new();
        for p in &catalog.packs {
            if !p.checksum_ok() {
                report.problems.push(format!(
                    "{}: pack checksum does not match its bytes",
                    p.path.display()
                ));
            }
        }
        for (id, (m, _)) in &manifests {
            if m.schema != MANIFEST_SCHEMA {
                report.problems.push(format!(
                    "{id}: manifest schema {} (expected {MANIFEST_SCHEMA})",
                    m.schema
                ));
            }
            match catalog.nodes_bytes(id) {
                Some(bytes) if hex::encode(Sha256::digest(bytes)) == m.nodes_sha256 => {}
                Some(_) => report
                    .problems
                    .push(format!("{id}: node list does not match its manifest")),
                None => report.problems.push(format!("{id}: no node list")),
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
                    let nodes: usize = manifests.values().map(|(m, _)| m.node_count).sum();
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

/// The packs of a store and, for each package id, its current version (the one in the latest
/// pack that has it).
#[derive(Default)]
struct Catalog {
    packs: Vec<Pack>,
    current: BTreeMap<String, Current>,
}

struct Current {
    manifest: Manifest,
    /// sha256 of the manifest's bytes (the index records the state they make up).
    digest: [u8; 32],
    /// Index into `packs` and the package's record there.
    pack: usize,
    record: usize,
}

impl Catalog {
    /// Reads `pack`'s manifests; its packages replace those of the packs added before it.
    fn add(&mut self, pack: Pack) -> Result<(), StoreError> {
        let at = self.packs.len();
        for (i, r) in pack.records.iter().enumerate() {
            let bytes = pack.bytes(&r.manifest);
            let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| PackError {
                path: pack.path.clone(),
                offset: r.manifest.start,
                what: format!("manifest: {e}"),
            })?;
            let id = manifest.info.id.clone();
            self.current.insert(
                id,
                Current {
                    manifest,
                    digest: Sha256::digest(bytes).into(),
                    pack: at,
                    record: i,
                },
            );
        }
        self.packs.push(pack);
        Ok(())
    }

    fn manifests(&self) -> BTreeMap<String, (Manifest, [u8; 32])> {
        self.current
            .iter()
            .map(|(id, c)| (id.clone(), (c.manifest.clone(), c.digest)))
            .collect()
    }

    fn nodes_bytes(&self, id: &str) -> Option<&[u8]> {
        let c = self.current.get(id)?;
        let pack = self.packs.get(c.pack)?;
        Some(pack.bytes(&pack.records.get(c.record)?.nodes))
    }

    fn nodes(&self, id: &str) -> Result<Vec<NodeEntry>, StoreError> {
        let c = self
            .current
            .get(id)
            .ok_or_else(|| StoreError::NoPackage { name: id.into() })?;
        let bytes = self.nodes_bytes(id).unwrap_or_default();
        let decoded = match self.packs.get(c.pack).map(|p| p.schema) {
            Some(pack::SCHEMA_JSON_NODES) => {
                serde_json::from_slice(bytes).map_err(|e| e.to_string())
            }
            _ => decode_nodes(bytes),
        };
        decoded.map_err(|e| {
            let pack = self.packs.get(c.pack);
            PackError {
                path: pack.map(|p| p.path.clone()).unwrap_or_default(),
                offset: pack
                    .and_then(|p| p.records.get(c.record))
                    .map_or(0, |r| r.nodes.start),
                what: format!("node list of {id}: {e}"),
            }
            .into()
        })
    }

    /// Whether pack `seq` holds the current version of some package.
    fn is_current(&self, seq: u64) -> bool {
        self.current
            .values()
            .any(|c| self.packs.get(c.pack).is_some_and(|p| p.seq == seq))
    }
}

enum Item {
    Inf(PathBuf),
    Cab(PathBuf),
}

/// A node list as packs hold it (pack schema 2: postcard).
fn encode_nodes(nodes: &[NodeEntry], path: &Path) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(nodes).map_err(|source| StoreError::Postcard {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a node list of pack schema 2; trailing bytes are damage, not slack.
fn decode_nodes(bytes: &[u8]) -> Result<Vec<NodeEntry>, String> {
    match postcard::take_from_bytes::<Vec<NodeEntry>>(bytes) {
        Ok((nodes, [])) => Ok(nodes),
        Ok((_, rest)) => Err(format!("{} bytes after the node list", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// A converted package: `m` with `nodes_sha256` of `nodes` encoded as now, serialized, and the
/// encoded node list.
fn reencoded(
    mut m: Manifest,
    nodes: &[NodeEntry],
    path: &Path,
) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let encoded = encode_nodes(nodes, path)?;
    m.nodes_sha256 = hex::encode(Sha256::digest(&encoded));
    let bytes = serde_json::to_vec(&m).map_err(|source| StoreError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((bytes, encoded))
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

fn annotate(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
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

#[cfg(not(target_os = "linux"))]
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
