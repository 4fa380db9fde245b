//! Driver nodes held in memory, straight from parsed INF files: for golden tests and for matching
//! a handful of INFs without building a store. Same ranking as the store path.

use std::collections::HashMap;

use infuse_driver_store::inf::model::{Arch, Model};

use super::decoration::{LineView, select_models};
use super::score::SignatureRules;
use super::select::{DeviceMatch, InfPos, Node, gather, rank_device};
use super::target::Target;
use crate::hwid::{Device, id_key};

/// The Manufacturer lines of a model, by their 1-based line number.
pub fn line_views(model: &Model) -> HashMap<u32, LineView> {
    model
        .manufacturers
        .iter()
        .map(|m| {
            let view = LineView {
                models_base: m.models_base.clone(),
                decorations: m.decorations.clone(),
                sections: m
                    .models
                    .iter()
                    .map(|s| (s.section.clone(), s.entries.is_empty()))
                    .collect(),
            };
            (m.line, view)
        })
        .collect()
}

/// An in-memory set of packages.
#[derive(Debug, Default)]
pub struct MemoryStore {
    nodes: Vec<Node>,
    ids: HashMap<String, Vec<(usize, InfPos)>>,
    lines: HashMap<(u32, u32), LineView>,
    packages: u32,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Parse an INF and add its driver nodes; `catalog_present` says, per architecture, whether
    /// the package's catalog for it is present.
    pub fn add_inf(
        &mut self,
        inf_name: &str,
        bytes: &[u8],
        catalog_present: impl Fn(Arch) -> bool,
    ) {
        let inf = infuse_driver_store::inf::parse(bytes);
        let model = Model::new(&inf);
        self.add_model(inf_name, &model, catalog_present);
    }

    /// Add the driver nodes of a model as one package.
    pub fn add_model(
        &mut self,
        inf_name: &str,
        model: &Model,
        catalog_present: impl Fn(Arch) -> bool,
    ) {
        let order = self.packages;
        self.packages += 1;
        for (line, view) in line_views(model) {
            self.lines.insert((order, line), view);
        }
        for n in model.nodes() {
            let idx = self.nodes.len();
            self.nodes.push(Node {
                package: format!("{}#{order}", inf_name.to_lowercase()),
                package_order: order,
                inf: inf_name.to_owned(),
                provider: model.version.provider.clone(),
                complete: true,
                manufacturer: n.manufacturer.name.clone(),
                manufacturer_line: n.manufacturer.line,
                models_section: n.models.section.clone(),
                decoration: n.models.decoration.clone(),
                arch: n.models.arch,
                description: n.entry.description.clone(),
                install_section: n.install.and_then(|i| i.section.clone()),
                line: n.entry.line,
                feature_score: n.feature_score(),
                driver_ver: n
                    .install
                    .and_then(|i| i.driver_ver)
                    .or(model.version.driver_ver),
                catalog_present: catalog_present(n.models.arch),
                boot_critical: model.boot_critical(n.install).any(),
                in_image: false,
            });
            if !n.entry.hardware_id.is_empty() {
                self.ids
                    .entry(id_key(&n.entry.hardware_id))
                    .or_default()
                    .push((idx, InfPos::Hardware));
            }
            for (k, c) in n.entry.compatible_ids.iter().enumerate() {
                self.ids
                    .entry(id_key(c))
                    .or_default()
                    .push((idx, InfPos::Compatible(k as u16)));
            }
        }
    }

    /// Every node, in the order added (package, then INF order).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Rank the device's candidates on `target`.
    pub fn match_device(
        &self,
        device: &Device,
        target: &Target,
        rules: SignatureRules,
    ) -> DeviceMatch {
        let hits = gather(device, |id| -> Result<_, std::convert::Infallible> {
            Ok(self
                .ids
                .get(&id_key(id))
                .map(|v| {
                    v.iter()
                        .map(|(i, p)| (self.nodes[*i].clone(), *p))
                        .collect()
                })
                .unwrap_or_default())
        });
        let hits = match hits {
            Ok(h) => h,
            Err(never) => match never {},
        };
        rank_device(
            device,
            hits,
            |node| match self
                .lines
                .get(&(node.package_order, node.manufacturer_line))
            {
                Some(view) => select_models(view, target),
                None => super::decoration::ModelsChoice::None,
            },
            target,
            rules,
        )
    }
}
