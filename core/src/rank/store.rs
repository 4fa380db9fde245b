//! Ranking against an infuse store: candidates from `store::Index::lookup`, Manufacturer-line
//! decorations from the package's INF.
//!
//! The index gives each driver node its own Models section and decoration, but not the other
//! decorations its Manufacturer line lists nor which Models sections are empty — both needed to
//! choose the line's section (§3.3 rules a–g). Those are read from the package's INF (its stored
//! object, found through `packages/<id>.json`), only for packages that have a candidate, and kept
//! in a per-user cache file named after the index state (`<cache>/infuse/rank-lines-<state>.json`,
//! `INFUSE_CACHE_DIR` overrides the folder): the same packages always give the same lines, so a
//! later process reads a few hundred bytes per package instead of parsing its INF.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use infuse_driver_store::inf::model::{Decoration, Model};
use infuse_driver_store::store::{DriverNode, FileRole, Index, IndexError, Manifest, MatchKind};
use serde::{Deserialize, Serialize};

use super::decoration::{LineView, ModelsChoice, select_models};
use super::memory::line_views;
use super::score::SignatureRules;
use super::select::{DeviceMatch, InfPos, Node, gather, rank_device};
use super::target::Target;
use crate::hwid::Device;

/// Errors matching against a store.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("{path}: cannot read the package manifest")]
    Manifest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: the package manifest is not valid: {msg}\nhint: rebuild the store with `infuse store add STORE`"
    )]
    BadManifest { path: PathBuf, msg: String },
    #[error("{path}: cannot read the package's INF object")]
    InfObject {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An open store, ready to rank devices.
pub struct StoreMatcher {
    index: Index,
    root: PathBuf,
    /// package index → Manufacturer line → view; filled on first use.
    lines: RefCell<HashMap<u32, HashMap<u32, LineView>>>,
    cache: RefCell<LineCache>,
}

/// One Manufacturer line as cached: the [`LineView`] with decorations as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedLine {
    line: u32,
    models_base: String,
    decorations: Vec<String>,
    sections: Vec<(String, bool)>,
}

/// The Manufacturer lines of packages already read, per index state.
#[derive(Debug, Default)]
struct LineCache {
    path: Option<PathBuf>,
    packages: HashMap<String, Vec<CachedLine>>,
    dirty: bool,
}

impl LineCache {
    fn open(state: [u8; 32], enabled: bool) -> LineCache {
        let dir = enabled.then(cache_dir).flatten();
        let path = dir.map(|d| {
            let hex: String = state[..12].iter().map(|b| format!("{b:02x}")).collect();
            d.join(format!("rank-lines-{hex}.json"))
        });
        let packages = path
            .as_deref()
            .and_then(|p| fs_err::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        LineCache {
            path,
            packages,
            dirty: false,
        }
    }

    fn save(&mut self) {
        let Some(path) = self.path.as_deref().filter(|_| self.dirty) else {
            return;
        };
        let write = || -> std::io::Result<()> {
            let dir = path.parent().unwrap_or(Path::new("."));
            fs_err::create_dir_all(dir)?;
            let tmp = dir.join(format!(".rank-lines-{}.tmp", std::process::id()));
            fs_err::write(
                &tmp,
                serde_json::to_vec(&self.packages).map_err(std::io::Error::other)?,
            )?;
            fs_err::rename(&tmp, path)
        };
        match write() {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::debug!("line cache not written: {e}"),
        }
    }
}

/// `INFUSE_CACHE_DIR`, else the platform's per-user cache folder + `infuse`.
fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("INFUSE_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("infuse"))
}

fn to_views(lines: &[CachedLine]) -> HashMap<u32, LineView> {
    lines
        .iter()
        .map(|l| {
            let view = LineView {
                models_base: l.models_base.clone(),
                decorations: l
                    .decorations
                    .iter()
                    .filter_map(|d| Decoration::parse(d).ok())
                    .collect(),
                sections: l.sections.clone(),
            };
            (l.line, view)
        })
        .collect()
}

fn to_cached(views: &HashMap<u32, LineView>) -> Vec<CachedLine> {
    let mut out: Vec<CachedLine> = views
        .iter()
        .map(|(line, v)| CachedLine {
            line: *line,
            models_base: v.models_base.clone(),
            decorations: v.decorations.iter().map(|d| d.raw.clone()).collect(),
            sections: v.sections.clone(),
        })
        .collect();
    out.sort_by_key(|l| l.line);
    out
}

impl StoreMatcher {
    /// Open the store's index (`STORE/index.bin`), with the per-user line cache.
    pub fn open(store: &Path) -> Result<StoreMatcher, MatchError> {
        StoreMatcher::open_with(store, true)
    }

    /// Open the store's index; `cache` false neither reads nor writes the line cache.
    pub fn open_with(store: &Path, cache: bool) -> Result<StoreMatcher, MatchError> {
        let index = Index::open(store)?;
        let cache = LineCache::open(index.state(), cache);
        Ok(StoreMatcher {
            index,
            root: store.to_path_buf(),
            lines: RefCell::new(HashMap::new()),
            cache: RefCell::new(cache),
        })
    }

    /// Write the Manufacturer lines read by this process to the cache (best effort).
    pub fn save_cache(&self) {
        self.cache.borrow_mut().save();
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Rank one device's candidates.
    pub fn match_device(
        &self,
        device: &Device,
        target: &Target,
        rules: SignatureRules,
    ) -> Result<DeviceMatch, MatchError> {
        let hits = gather(device, |id| -> Result<Vec<(Node, InfPos)>, MatchError> {
            Ok(self.index.lookup(id)?.into_iter().map(node_from).collect())
        })?;
        // Load the Manufacturer lines of every package with a candidate first (IO, fallible).
        for (node, _) in &hits {
            self.ensure_lines(node.package_order, &node.package)?;
        }
        let lines = self.lines.borrow();
        Ok(rank_device(
            device,
            hits,
            |node| {
                lines
                    .get(&node.package_order)
                    .and_then(|l| l.get(&node.manufacturer_line))
                    .map_or(ModelsChoice::None, |view| select_models(view, target))
            },
            target,
            rules,
        ))
    }

    fn ensure_lines(&self, package_index: u32, package_id: &str) -> Result<(), MatchError> {
        if self.lines.borrow().contains_key(&package_index) {
            return Ok(());
        }
        let cached = self
            .cache
            .borrow()
            .packages
            .get(package_id)
            .map(|l| to_views(l));
        let views = match cached {
            Some(v) => v,
            None => {
                let v = self.read_lines(package_id)?;
                let mut cache = self.cache.borrow_mut();
                cache.packages.insert(package_id.to_owned(), to_cached(&v));
                cache.dirty = true;
                v
            }
        };
        self.lines.borrow_mut().insert(package_index, views);
        Ok(())
    }

    fn read_lines(&self, package_id: &str) -> Result<HashMap<u32, LineView>, MatchError> {
        let path = self
            .root
            .join("packages")
            .join(format!("{package_id}.json"));
        let bytes = fs_err::read(&path).map_err(|source| MatchError::Manifest {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| MatchError::BadManifest {
                path: path.clone(),
                msg: e.to_string(),
            })?;
        let Some(hash) = manifest
            .files
            .iter()
            .find(|f| f.role == FileRole::Inf)
            .and_then(|f| f.sha256.as_deref())
        else {
            return Err(MatchError::BadManifest {
                path,
                msg: "no INF file listed".into(),
            });
        };
        if hash.len() < 3 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MatchError::BadManifest {
                path,
                msg: format!("INF hash {hash:?} is not a sha256"),
            });
        }
        // Object layout of the store (driver-store/src/store/mod.rs): objects/ab/cdef….
        let object = self.root.join("objects").join(&hash[..2]).join(&hash[2..]);
        let inf_bytes = fs_err::read(&object).map_err(|source| MatchError::InfObject {
            path: object,
            source,
        })?;
        let model = Model::new(&infuse_driver_store::inf::parse(&inf_bytes));
        Ok(line_views(&model))
    }
}

/// A ranking node from an index answer.
fn node_from(d: DriverNode) -> (Node, InfPos) {
    let pos = match d.match_kind {
        MatchKind::HardwareId => InfPos::Hardware,
        MatchKind::CompatibleId(k) => InfPos::Compatible(k),
    };
    let boot_critical = d.boot_critical.any();
    let node = Node {
        package: d.package.id,
        package_order: d.package_index,
        inf: d.package.inf_name,
        provider: d.package.provider,
        complete: d.package.complete,
        manufacturer: d.manufacturer,
        manufacturer_line: d.manufacturer_line,
        models_section: d.models_section,
        decoration: d.decoration,
        arch: d.arch,
        description: d.description,
        install_section: d.install_section,
        line: d.line,
        feature_score: d.feature_score,
        driver_ver: d.driver_ver,
        catalog_present: d.catalog_present,
        boot_critical,
    };
    (node, pos)
}
