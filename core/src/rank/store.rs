//! Ranking against an infuse store: candidates from `store::Index::lookup`, Manufacturer-line
//! decorations from the package's INF.
//!
//! The index gives each driver node its own Models section and decoration, but not the other
//! decorations its Manufacturer line lists nor which Models sections are empty — both needed to
//! choose the line's section (§3.3 rules a–g). Those are read from the package's INF (its stored
//! object, found through `packages/<id>.json`), once per package per process and only for packages
//! that have a candidate.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use infuse_driver_store::inf::model::Model;
use infuse_driver_store::store::{DriverNode, FileRole, Index, IndexError, Manifest, MatchKind};

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
}

impl StoreMatcher {
    /// Open the store's index (`STORE/index.bin`).
    pub fn open(store: &Path) -> Result<StoreMatcher, MatchError> {
        Ok(StoreMatcher {
            index: Index::open(store)?,
            root: store.to_path_buf(),
            lines: RefCell::new(HashMap::new()),
        })
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
            Ok(self.index.lookup(id)?.iter().map(node_from).collect())
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
        let views = self.read_lines(package_id)?;
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
fn node_from(d: &DriverNode) -> (Node, InfPos) {
    let pos = match d.match_kind {
        MatchKind::HardwareId => InfPos::Hardware,
        MatchKind::CompatibleId(k) => InfPos::Compatible(k),
    };
    let node = Node {
        package: d.package.id.clone(),
        package_order: d.package_index,
        inf: d.package.inf_name.clone(),
        provider: d.package.provider.clone(),
        complete: d.package.complete,
        manufacturer: d.manufacturer.clone(),
        manufacturer_line: d.manufacturer_line,
        models_section: d.models_section.clone(),
        decoration: d.decoration.clone(),
        arch: d.arch,
        description: d.description.clone(),
        install_section: d.install_section.clone(),
        line: d.line,
        feature_score: d.feature_score,
        driver_ver: d.driver_ver,
        catalog_present: d.catalog_present,
        boot_critical: d.boot_critical.any(),
    };
    (node, pos)
}
