//! Vendor plugins' `transform` at injection: each package routed to a plugin (by provider or
//! the vendors of its models' hardware IDs) is handed to it, the edits are validated and applied
//! by [`crate::plugin::transform::transform_package`], and the edited package replaces the
//! original in the injection as a new package (its own id and FileRepository folder), marked as
//! needing re-signing.
//!
//! A plugin that fails (or whose edits are refused) fails its package: nothing it returned is
//! applied, the package is not injected, and the failure is reported with its typed error.
//! `add-registry` edits become INF text (an AddReg section referenced from the DDInstall `.HW`
//! sections, [`crate::plugin::transform`]), so the record builder writes them where Windows
//! would.

use std::path::Path;

use serde::Serialize;

use infuse_driver_store::inf::{self, model::Model};
use infuse_driver_store::store::package::parse_options;

use infuse_driver_store::store::{Index, IndexError};

use crate::plugin::route::package_routed;
use crate::plugin::transform::{TransformedPackage, transform_package};
use crate::plugin::validate::{FileSource, InputFile, PackageInput};
use crate::plugin::{Hook, Plugin, PluginError};
use crate::rank::Target;

use super::{PackageSource, SourceFile};

/// What the plugins did to the packages of an injection.
#[derive(Debug, Default, Serialize)]
pub struct TransformRun {
    /// Packages the plugins edited (each now a new package in the plan).
    pub transformed: Vec<TransformedPackage>,
    /// Plugin failures, each naming the plugin and the package it left unedited.
    pub failures: Vec<TransformFailure>,
}

#[derive(Debug, Serialize)]
pub struct TransformFailure {
    pub package: String,
    pub plugin: String,
    /// `PluginError::kind()`.
    pub kind: &'static str,
    pub message: String,
}

/// What the plugins made of one package.
#[derive(Debug)]
pub enum Outcome {
    /// No plugin with a `transform` hook is routed to it, or they returned no edits.
    Unchanged(PackageSource),
    /// Edited: a new package (its own id and FileRepository folder), needing re-signing.
    Transformed {
        source: PackageSource,
        package: Box<TransformedPackage>,
    },
    /// A plugin failed or returned edits that were refused: the package is not injected.
    Failed(TransformFailure),
}

/// Runs the `transform` hook of every routed plugin on `src` (in the order given). The edited
/// INF is written under `scratch` (files the plugins did not touch are still read from where
/// they were).
pub fn transform_one(
    plugins: &[Plugin],
    src: PackageSource,
    target: &Target,
    scratch: &Path,
) -> std::io::Result<Outcome> {
    let parsed = inf::parse_with(&src.inf_bytes, &parse_options());
    let model = Model::new(&parsed);
    let provider = model.version.provider.clone().unwrap_or_default();
    let ids: Vec<String> = model
        .nodes()
        .flat_map(|n| {
            std::iter::once(n.entry.hardware_id.clone())
                .chain(n.entry.compatible_ids.iter().cloned())
        })
        .collect();
    let routed: Vec<&Plugin> = plugins
        .iter()
        .filter(|p| p.has(Hook::Transform))
        .filter(|p| {
            package_routed(
                &p.manifest.vendors,
                &provider,
                ids.iter().map(String::as_str),
            )
        })
        .collect();
    if routed.is_empty() {
        return Ok(Outcome::Unchanged(src));
    }
    let input = package_input(&src, &model);
    let mut edits = Vec::new();
    for p in routed {
        match p.transform(&input, target) {
            Ok(list) => edits.push((p.name().to_owned(), list)),
            Err(e) => return Ok(Outcome::Failed(failure(&src.label, p.name(), &e))),
        }
    }
    match transform_package(&input, &src.inf_bytes, &edits) {
        Ok(None) => Ok(Outcome::Unchanged(src)),
        Ok(Some(t)) => Ok(Outcome::Transformed {
            source: edited_source(&src, &t, scratch)?,
            package: Box::new(t),
        }),
        Err(e) => {
            let plugin = match &e {
                PluginError::InvalidOutput { plugin, .. } => plugin.clone(),
                _ => edits
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            Ok(Outcome::Failed(failure(&src.label, &plugin, &e)))
        }
    }
}

/// [`transform_one`] over every package: the packages to inject (edited ones replaced, failed
/// ones left out) with what happened.
pub fn transform_sources(
    plugins: &[Plugin],
    sources: Vec<PackageSource>,
    target: &Target,
    scratch: &Path,
) -> std::io::Result<(Vec<PackageSource>, TransformRun)> {
    let mut run = TransformRun::default();
    let mut out = Vec::with_capacity(sources.len());
    for src in sources {
        match transform_one(plugins, src, target, scratch)? {
            Outcome::Unchanged(s) => out.push(s),
            Outcome::Transformed { source, package } => {
                out.push(source);
                run.transformed.push(*package);
            }
            Outcome::Failed(f) => run.failures.push(f),
        }
    }
    Ok((out, run))
}

/// The ids of the complete store packages routed to a plugin with a `transform` hook (by
/// provider, or the vendor of a hardware or compatible ID of their models), in store order.
pub fn routed_store_packages(plugins: &[Plugin], index: &Index) -> Result<Vec<String>, IndexError> {
    let vendors: Vec<&crate::plugin::Vendors> = plugins
        .iter()
        .filter(|p| p.has(Hook::Transform))
        .map(|p| &p.manifest.vendors)
        .collect();
    if vendors.is_empty() {
        return Ok(Vec::new());
    }
    let packages = index.packages()?;
    let mut ids: Vec<Vec<String>> = vec![Vec::new(); packages.len()];
    for (id, node) in index.entries()? {
        if let Some(v) = ids.get_mut(node.package_index as usize) {
            v.push(id);
        }
    }
    Ok(packages
        .into_iter()
        .zip(ids)
        // An incomplete package is never injected (its original candidate says why); editing it
        // would hide that.
        .filter(|(info, _)| info.complete)
        .filter(|(info, ids)| {
            let provider = info.provider.as_deref().unwrap_or_default();
            vendors
                .iter()
                .any(|v| package_routed(v, provider, ids.iter().map(String::as_str)))
        })
        .map(|(info, _)| info.id)
        .collect())
}

fn failure(package: &str, plugin: &str, e: &PluginError) -> TransformFailure {
    TransformFailure {
        package: package.to_owned(),
        plugin: plugin.to_owned(),
        kind: e.kind(),
        message: e.to_string(),
    }
}

fn package_input(src: &PackageSource, model: &Model) -> PackageInput {
    let dv = model.version.driver_ver.as_ref();
    PackageInput {
        id: src.label.clone(),
        inf_path: src.inf_name.clone(),
        provider: model.version.provider.clone().unwrap_or_default(),
        class: model.version.class.clone().unwrap_or_default(),
        driver_date: dv
            .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
            .unwrap_or_default(),
        driver_version: dv
            .map(|d| {
                let [a, b, c, e] = d.version;
                format!("{a}.{b}.{c}.{e}")
            })
            .unwrap_or_default(),
        files: src
            .files
            .iter()
            .map(|f| InputFile {
                path: f.path.clone(),
                size: f.size,
                source: FileSource::Path(f.host.clone()),
            })
            .collect(),
    }
}

/// The edited package as a source for the injection: the new INF bytes written under
/// `scratch/<new id>/`, the remaining files where they were.
fn edited_source(
    src: &PackageSource,
    t: &TransformedPackage,
    scratch: &Path,
) -> std::io::Result<PackageSource> {
    let dir = scratch.join(t.id.replace(['/', '\\', ':', '+'], "_"));
    let mut files = Vec::with_capacity(t.files.len());
    for f in &t.files {
        let host = match &f.source {
            FileSource::Path(p) => p.clone(),
            FileSource::Bytes(b) => {
                let mut p = dir.clone();
                for part in f.path.split('/') {
                    p.push(part);
                }
                if let Some(parent) = p.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                fs_err::write(&p, b)?;
                p
            }
        };
        files.push(SourceFile {
            path: f.path.clone(),
            host,
            size: f.size,
        });
    }
    Ok(PackageSource {
        label: t.id.clone(),
        inf_name: src.inf_name.clone(),
        inf_bytes: t.inf_bytes.clone(),
        oem_path: src.oem_path.clone(),
        files,
        transformed_by: {
            let mut by: Vec<String> = t.applied.iter().map(|a| a.plugin.clone()).collect();
            by.dedup();
            by
        },
    })
}
