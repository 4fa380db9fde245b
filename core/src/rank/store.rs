//! Ranking against an infuse store: candidates from `store::Index::lookup`, Manufacturer-line
//! decorations from `store::Index::manufacturer_lines`.
//!
//! A driver node carries its own Models section and decoration, but choosing the line's section
//! (§3.3 rules a–g) needs every decoration its Manufacturer line lists and which Models sections
//! are empty. The index keeps those per package (recorded by `store add` from the INF model);
//! they are read only for packages that have a candidate, once per process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use infuse_driver_store::inf::model::Decoration;
use infuse_driver_store::store::index::LookupCursor;
use infuse_driver_store::store::{DriverNode, Index, IndexError, ManufacturerLine, MatchKind};

use super::decoration::{LineView, ModelsChoice, select_models};
use super::score::SignatureRules;
use super::select::{DeviceMatch, InfPos, Node, gather, rank_device};
use super::target::Target;
use crate::hwid::Device;

/// Errors matching against a store.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A source of extra candidates (the target image's DriverDatabase) could not be read.
    #[error(transparent)]
    Extra(Box<dyn std::error::Error + Send + Sync>),
}

/// Candidates from outside the store, ranked together with the store's: the drivers already in
/// the target image (`image::existing::ImageDrivers`). Their nodes have `in_image` set and are
/// never excluded by decoration (Windows registered them for this OS).
pub trait ExtraNodes {
    /// The nodes naming `id` (case-insensitively), with where the ID sits on their Models entry.
    fn lookup(&self, id: &str) -> Result<Vec<(Node, InfPos)>, MatchError>;
    /// Where they come from, for reports.
    fn label(&self) -> String;
}

/// An open store, ready to rank devices.
pub struct StoreMatcher {
    index: Index,
    /// package index → Manufacturer line → view; filled on first use.
    lines: RefCell<HashMap<u32, HashMap<u32, LineView>>>,
    /// The fst path of the previous ID and the packages already decoded (a device's IDs share
    /// long prefixes; many devices share packages).
    cursor: RefCell<LookupCursor>,
}

/// The selection's view of one indexed Manufacturer line.
fn to_view(l: ManufacturerLine) -> (u32, LineView) {
    let view = LineView {
        models_base: l.models_base,
        // Written by `store add` from decorations the parser read, so each parses again.
        decorations: l
            .decorations
            .iter()
            .filter_map(|d| Decoration::parse(d).ok())
            .collect(),
        sections: l.sections.into_iter().map(|s| (s.name, s.empty)).collect(),
    };
    (l.line, view)
}

impl StoreMatcher {
    /// Open the store's index (`STORE/index.bin`).
    pub fn open(store: &Path) -> Result<StoreMatcher, MatchError> {
        Ok(StoreMatcher {
            index: Index::open(store)?,
            lines: RefCell::new(HashMap::new()),
            cursor: RefCell::new(LookupCursor::default()),
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
        self.match_device_with(device, target, rules, None)
    }

    /// Rank one device's candidates from the store and from `extra`.
    pub fn match_device_with(
        &self,
        device: &Device,
        target: &Target,
        rules: SignatureRules,
        extra: Option<&dyn ExtraNodes>,
    ) -> Result<DeviceMatch, MatchError> {
        let mut cursor = self.cursor.borrow_mut();
        let hits = gather(device, |id| -> Result<Vec<(Node, InfPos)>, MatchError> {
            let mut nodes: Vec<(Node, InfPos)> = self
                .index
                .lookup_with(id, &mut cursor)?
                .into_iter()
                .map(node_from)
                .collect();
            if let Some(x) = extra {
                nodes.extend(x.lookup(id)?);
            }
            Ok(nodes)
        })?;
        drop(cursor);
        // Read the Manufacturer lines of every package with a candidate first (fallible).
        for (node, _) in hits.iter().filter(|(n, _)| !n.in_image) {
            self.ensure_lines(node.package_order)?;
        }
        let lines = self.lines.borrow();
        Ok(rank_device(
            device,
            hits,
            |node| {
                if node.in_image {
                    return ModelsChoice::Section {
                        section: node.models_section.clone(),
                    };
                }
                lines
                    .get(&node.package_order)
                    .and_then(|l| l.get(&node.manufacturer_line))
                    .map_or(ModelsChoice::None, |view| select_models(view, target))
            },
            target,
            rules,
        ))
    }

    fn ensure_lines(&self, package_index: u32) -> Result<(), MatchError> {
        if self.lines.borrow().contains_key(&package_index) {
            return Ok(());
        }
        let views = self
            .index
            .manufacturer_lines(package_index)?
            .into_iter()
            .map(to_view)
            .collect();
        self.lines.borrow_mut().insert(package_index, views);
        Ok(())
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
        in_image: false,
    };
    (node, pos)
}
