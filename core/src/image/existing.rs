//! The drivers already in an image as ranking candidates (windows-driver-internals.md §3.2a,
//! INFERRED procedure): for each of a device's IDs, `DriverDatabase\DeviceIds\<ID>` lists the
//! INFs naming it with 4-byte values — flags (1 = the Models entry's hardware ID, 2 = a
//! compatible ID), the feature score, and the compatible-ID position k; the INF's
//! `DriverInfFiles\<inf>\Active` package gives `SignerScore` and the `Version` blob (date and
//! version for the tie-breakers).
//!
//! The candidates are [`rank::Node`](crate::rank::Node)s with `in_image` set, ranked with the
//! store's by the same rules ([`crate::rank::store::StoreMatcher::match_device_with`]). Windows
//! registered them for this OS already, so no decoration excludes them; their signature comes
//! from `SignerScore` (any trusted signer score ranks as a present catalog would, §3.1
//! AllSignersEqual).

use std::cell::RefCell;
use std::collections::HashMap;

use infuse_driver_store::inf::model::Decoration;

use super::Image;
use super::ddb::{self, DdbError, DriverDb};
use crate::rank::select::{InfPos, Node};
use crate::rank::store::{ExtraNodes, MatchError};

/// Where image candidates sit in the stable order: after every store package.
const ORDER_BASE: u32 = 0x8000_0000;

/// The image's DriverDatabase, answering ID lookups with ranking nodes.
pub struct ImageDrivers<'i> {
    image: &'i Image,
    db: Option<DriverDb<'i>>,
    /// Published INF name (lower-case) → its position among `DriverInfFiles`.
    order: HashMap<String, u32>,
    /// Published INF name (lower-case) → what its Active package says (None: unreadable).
    packages: RefCell<HashMap<String, Option<PackageFacts>>>,
}

#[derive(Debug, Clone)]
struct PackageFacts {
    package: String,
    provider: Option<String>,
    driver_ver: Option<infuse_driver_store::inf::model::DriverVer>,
    signed: bool,
    boot_critical: bool,
    install_section: Option<String>,
    original: Option<String>,
}

/// SIGNERSCORE_SIGNED_MASK (§3.1): a score with none of these bits set is a trusted signer.
const SIGNED_MASK: u32 = 0xF000_0000;

impl<'i> ImageDrivers<'i> {
    pub fn new(image: &'i Image) -> Result<ImageDrivers<'i>, DdbError> {
        let db = image.driver_database();
        let mut order = HashMap::new();
        if let Some(db) = &db {
            let mut names = db.inf_names()?;
            names.sort_by_key(|n| n.to_ascii_lowercase());
            for (i, n) in names.into_iter().enumerate() {
                order.insert(n.to_ascii_lowercase(), ORDER_BASE + i as u32);
            }
        }
        Ok(ImageDrivers {
            image,
            db,
            order,
            packages: RefCell::new(HashMap::new()),
        })
    }

    /// The image has a DriverDatabase to rank against (Windows 8 and later).
    pub fn has_database(&self) -> bool {
        self.db.is_some()
    }

    fn facts(&self, db: &DriverDb<'_>, inf: &str) -> Result<Option<PackageFacts>, DdbError> {
        let key = inf.to_ascii_lowercase();
        if let Some(f) = self.packages.borrow().get(&key) {
            return Ok(f.clone());
        }
        let facts = match db
            .inf_file(inf)?
            .and_then(|r| r.active.map(|a| (a, r.configurations)))
        {
            Some((active, configurations)) => db.package(&active)?.map(|p| {
                let services: Vec<&String> = p.services.iter().map(|(_, s)| s).collect();
                PackageFacts {
                    package: p.id.clone(),
                    provider: p.provider.clone(),
                    driver_ver: p.version.map(|v| v.driver_ver()),
                    signed: p.signer_score.is_some_and(|s| s & SIGNED_MASK == 0),
                    boot_critical: services
                        .iter()
                        .any(|s| super::drivers::service_start(self.image, s) == Some(0)),
                    install_section: configurations.into_iter().next(),
                    original: p.inf_name.clone(),
                }
            }),
            None => None,
        };
        self.packages.borrow_mut().insert(key, facts.clone());
        Ok(facts)
    }

    /// The in-image nodes naming `id`, with where the ID sits on their Models entry.
    pub fn nodes(&self, id: &str) -> Result<Vec<(Node, InfPos)>, DdbError> {
        let Some(db) = &self.db else {
            return Ok(Vec::new());
        };
        let arch = self.image.info().arch;
        let mut out = Vec::new();
        for e in db.device_id(id.trim())? {
            // An INF without a readable package record cannot be chosen by PnP either.
            let Some(f) = self.facts(db, &e.inf)? else {
                continue;
            };
            let order = self
                .order
                .get(&e.inf.to_ascii_lowercase())
                .copied()
                .unwrap_or(u32::MAX);
            let node = Node {
                package: f.package.clone(),
                package_order: order,
                inf: e.inf.clone(),
                provider: f.provider.clone(),
                complete: true,
                manufacturer: String::new(),
                manufacturer_line: 0,
                models_section: "DriverDatabase".to_owned(),
                decoration: Decoration::parse(&format!("NT{}", arch.as_str())).ok(),
                arch,
                description: match &f.original {
                    Some(o) if !o.eq_ignore_ascii_case(&e.inf) => {
                        format!("in the image ({o})")
                    }
                    _ => "in the image".to_owned(),
                },
                install_section: f.install_section.clone(),
                line: 0,
                feature_score: e.feature_score,
                driver_ver: f.driver_ver,
                catalog_present: f.signed,
                boot_critical: f.boot_critical,
                in_image: true,
            };
            if e.flags & 1 != 0 {
                out.push((node.clone(), InfPos::Hardware));
            }
            if e.flags & 2 != 0 {
                out.push((node, InfPos::Compatible(e.position)));
            }
        }
        Ok(out)
    }
}

impl ExtraNodes for ImageDrivers<'_> {
    fn lookup(&self, id: &str) -> Result<Vec<(Node, InfPos)>, MatchError> {
        self.nodes(id).map_err(|e| MatchError::Extra(Box::new(e)))
    }

    fn label(&self) -> String {
        format!("image {}", self.image.root().display())
    }
}

/// Whether a published name is a third-party package.
pub fn is_third_party(published: &str) -> bool {
    ddb::oem_number(published).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::build::{ImageBuilder, PackageSpec, Release};
    use crate::rank::select::InfPos;

    #[test]
    fn device_ids_values_become_nodes_with_their_positions() {
        let dir = tempfile::tempdir().expect("tempdir");
        ImageBuilder::new(Release::Win11)
            .sample_inbox()
            .build(dir.path())
            .expect("build");
        let img = Image::open(dir.path()).expect("open");
        let drivers = ImageDrivers::new(&img).expect("drivers");
        // §3.2a: `DeviceIds\PCI\CC_010802` = stornvme.inf, flag 2 (compatible ID k = 0).
        let nodes = drivers.nodes(r"pci\cc_010802").expect("lookup");
        assert_eq!(nodes.len(), 1, "{nodes:?}");
        let (n, pos) = &nodes[0];
        assert_eq!(*pos, InfPos::Compatible(0));
        assert_eq!(n.inf, "stornvme.inf");
        assert!(n.in_image && n.boot_critical && n.catalog_present);
        assert_eq!(n.feature_score, 0xFF);
        let dv = n.driver_ver.expect("DriverVer from the Version blob");
        assert_eq!((dv.year, dv.month, dv.day), (2006, 6, 21));
        let nodes = drivers.nodes(r"PCI\VEN_8086&DEV_15B8").expect("lookup");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].1, InfPos::Hardware);
        assert!(drivers.nodes(r"PCI\VEN_FFFF").expect("lookup").is_empty());
        let _ = PackageSpec::sample_inbox();
    }
}
