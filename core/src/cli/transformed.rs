//! Vendor plugins' `transform` applied to the store before ranking, shared by `infuse match`
//! and `infuse inject`: an edited package replaces its original among a device's candidates and
//! ranks on its own score (its catalog no longer covers it: unsigned,
//! windows-driver-internals.md §3.1), so both commands show and pick what injection would write.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::plugin::Plugin;
use crate::plugin::transform::TransformedPackage;
use crate::rank::memory::MemoryStore;
use crate::rank::select::{PluginAction, PluginNote};
use crate::rank::store::StoreMatcher;
use crate::rank::{DeviceMatch, SignatureRules, Target};
use crate::stage::inject::PackageSource;
use crate::stage::inject::plugins::{
    Outcome, TransformFailure, routed_store_packages, transform_one,
};
use infuse_driver_store::store::repo::Store;

/// The store packages the plugins transform, ranked in place of the originals: the edited
/// packages' driver nodes (catalog no longer present: unsigned under the catalog-present rule
/// set, windows-driver-internals.md §3.1) and what became of each routed package.
#[derive(Default)]
pub(crate) struct TransformedStore {
    nodes: MemoryStore,
    /// Per MemoryStore package order: the edited package's id.
    ids: Vec<String>,
    /// Store id → the edited package (its id, source and plugins).
    pub(crate) by_source: std::collections::BTreeMap<String, (String, PackageSource)>,
    /// Store id → the failure that fails it.
    pub(crate) failed: std::collections::BTreeMap<String, TransformFailure>,
}

impl TransformedStore {
    /// Transforms every store package routed to a plugin with a `transform` hook; the edited
    /// packages (each with its edits, plugin and reason) come back for the report.
    pub(crate) fn build(
        plugins: &[Plugin],
        scratch: &Path,
        store: &Store,
        matcher: &StoreMatcher,
        target: &Target,
    ) -> anyhow::Result<(TransformedStore, Vec<TransformedPackage>)> {
        let mut t = TransformedStore::default();
        let mut transformed = Vec::new();
        let ids = routed_store_packages(plugins, matcher.index())
            .context("cannot list the store's packages for the plugins")?;
        for id in ids {
            let src = PackageSource::from_store(store, &id)?;
            match transform_one(plugins, src, target, scratch)? {
                Outcome::Unchanged(_) => {}
                Outcome::Transformed { source, package } => {
                    let inf = infuse_driver_store::inf::parse_with(
                        &source.inf_bytes,
                        &infuse_driver_store::store::package::parse_options(),
                    );
                    let model = infuse_driver_store::inf::model::Model::new(&inf);
                    // The catalog no longer covers the edited INF: never "present".
                    t.nodes.add_model(&source.inf_name, &model, |_| false);
                    t.ids.push(package.id.clone());
                    t.by_source.insert(id, (package.id.clone(), source));
                    transformed.push(*package);
                }
                Outcome::Failed(f) => {
                    t.failed.insert(id, f);
                }
            }
        }
        Ok((t, transformed))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Ranks the device's edited candidates with the others: each routed original is rejected
    /// in favour of its edited package, which ranks on its own (unsigned) score.
    pub(crate) fn merge(&self, m: &mut DeviceMatch, target: &Target, rules: SignatureRules) {
        if self.is_empty() {
            return;
        }
        let notes: Vec<(usize, PluginNote)> = m
            .candidates
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let (id, src) = self.by_source.get(&c.node.package)?;
                Some((
                    i,
                    PluginNote {
                        plugin: src.transformed_by.join("+"),
                        action: PluginAction::Reject,
                        reason: format!("transformed into {id}, which replaces it"),
                    },
                ))
            })
            .collect();
        let edited = self.nodes.match_device(&m.device, target, rules);
        for mut c in edited.candidates {
            if let Some(id) = self.ids.get(c.node.package_order as usize) {
                c.node.package = id.clone();
            }
            m.candidates.push(c);
        }
        m.apply_plugin_notes(notes);
    }

    pub(crate) fn source(&self, package: &str) -> Option<&PackageSource> {
        self.by_source
            .values()
            .find(|(id, _)| id == package)
            .map(|(_, s)| s)
    }
}

/// The packages the plugins edited, with every edit, its plugin, reason and effect.
pub(crate) fn write_transformed(
    out: &mut impl Write,
    transformed: &[TransformedPackage],
) -> std::io::Result<()> {
    for t in transformed {
        let mut by: Vec<&str> = t.applied.iter().map(|e| e.plugin.as_str()).collect();
        by.dedup();
        writeln!(
            out,
            "transformed: {} -> {} by plugin(s) {}{}",
            t.source_id,
            t.id,
            by.join(", "),
            if t.needs_resigning {
                "; needs re-signing (its catalog no longer covers it: ranks and is recorded as unsigned)"
            } else {
                ""
            }
        )?;
        for e in &t.applied {
            writeln!(
                out,
                "  {}: {}: {} ({})",
                e.plugin,
                edit_label(&e.edit.edit),
                e.edit.reason,
                e.effect
            )?;
        }
    }
    Ok(())
}

fn edit_label(e: &crate::plugin::Edit) -> String {
    use crate::plugin::Edit;
    match e {
        Edit::AddHardwareIds { like, ids } => {
            format!("add-hardware-ids {} like {like}", ids.join(", "))
        }
        Edit::InsertLines { section, lines } => {
            format!("insert-lines [{section}] ({} line(s))", lines.len())
        }
        Edit::RemoveLines { section, keys } => {
            format!("remove-lines [{section}] {}", keys.join(", "))
        }
        Edit::DropFile { path } => format!("drop-file {path}"),
        Edit::DropSection { section } => format!("drop-section [{section}]"),
        Edit::AddRegistry { value } => format!(
            "add-registry HKR\\{}{}[{}]",
            value.subkey,
            if value.subkey.is_empty() { "" } else { "\\" },
            value.name
        ),
    }
}
