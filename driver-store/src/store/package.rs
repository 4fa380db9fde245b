//! A driver package on disk: an INF plus the files it references, found case-insensitively in
//! the INF's folder (Windows compares file names case-insensitively).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::{NodeEntry, PackageEntry, PackageInfo};
use crate::inf::model::{Arch, Model, paths};
use crate::inf::{ParseOptions, parse_with};

/// What a file is to its package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    Inf,
    Catalog,
    Payload,
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFile {
    /// Path inside the package, `/`-separated, as the INF spells it.
    pub path: String,
    pub role: FileRole,
    /// Where it was found (case-insensitively); `None` when missing.
    #[serde(skip)]
    pub found: Option<PathBuf>,
}

/// A package read from a folder: model, files, diagnostics.
#[derive(Debug)]
pub struct Package {
    pub inf_path: PathBuf,
    pub inf_name: String,
    pub inf_bytes: Vec<u8>,
    pub model: Model,
    pub files: Vec<PackageFile>,
    /// `inf:line: message` (parser and model diagnostics, then missing files).
    pub diagnostics: Vec<String>,
    /// Every referenced file was found and no path was refused.
    pub complete: bool,
    /// Catalogs present per architecture.
    catalogs: HashMap<Arch, bool>,
}

/// Directory listings by lower-cased name, cached across the packages of one add.
#[derive(Debug, Default)]
pub struct DirCache {
    dirs: HashMap<PathBuf, HashMap<String, PathBuf>>,
}

impl DirCache {
    /// Finds `components` below `dir`, each compared case-insensitively.
    pub fn find(&mut self, dir: &Path, components: &[String]) -> Option<PathBuf> {
        let mut cur = dir.to_path_buf();
        for comp in components {
            let listing = self.dirs.entry(cur.clone()).or_insert_with(|| list(&cur));
            cur = listing.get(&comp.to_lowercase())?.clone();
        }
        Some(cur)
    }
}

fn list(dir: &Path) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    if let Ok(rd) = fs_err::read_dir(dir) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_lowercase();
            out.entry(name).or_insert_with(|| entry.path());
        }
    }
    out
}

/// Parse options the store uses: DIRIDs stay as written (`%12%\x.sys`), strings in US English.
pub fn parse_options() -> ParseOptions {
    ParseOptions {
        expand_dirids: false,
        ..ParseOptions::default()
    }
}

impl Package {
    /// Reads the INF at `inf_path` and finds its files next to it.
    pub fn load(inf_path: &Path, cache: &mut DirCache) -> std::io::Result<Package> {
        let inf_bytes = fs_err::read(inf_path)?;
        Ok(Package::from_bytes(inf_path, inf_bytes, cache))
    }

    /// Like [`Package::load`] with the INF's bytes already read.
    pub fn from_bytes(inf_path: &Path, inf_bytes: Vec<u8>, cache: &mut DirCache) -> Package {
        let inf_name = inf_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = inf_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let inf = parse_with(&inf_bytes, &parse_options());
        let model = Model::new(&inf);
        let mut diagnostics: Vec<String> = inf
            .diagnostics
            .iter()
            .chain(&model.diagnostics)
            .map(|d| format!("{inf_name}:{}: {}", d.line, d.message))
            .collect();
        let mut complete = model.refused_paths() == 0;
        let mut files = vec![PackageFile {
            path: inf_name.clone(),
            role: FileRole::Inf,
            found: Some(inf_path.to_path_buf()),
        }];
        for copy in model.files() {
            let mut comps = copy.source_dir.clone();
            comps.push(copy.source_name.clone());
            let found = cache.find(&dir, &comps);
            if found.is_none() {
                complete = false;
                diagnostics.push(format!(
                    "{inf_name}:{}: `{}` (copied by [{}]) is missing from the package",
                    copy.line,
                    copy.source_path(),
                    copy.section
                ));
            }
            files.push(PackageFile {
                path: copy.source_path(),
                role: FileRole::Payload,
                found,
            });
        }
        let mut catalogs = HashMap::new();
        let archs: Vec<Arch> = {
            let mut a: Vec<Arch> = model.nodes().map(|n| n.models.arch).collect();
            a.sort();
            a.dedup();
            a
        };
        for arch in archs {
            let Some(cat) = model.version.catalog_for(arch) else {
                catalogs.insert(arch, false);
                continue;
            };
            let found = match paths::file_name(&cat.name) {
                Ok(name) => cache.find(&dir, &[name]),
                Err(e) => {
                    diagnostics.push(format!("{inf_name}:{}: catalog refused: {e}", cat.line));
                    complete = false;
                    None
                }
            };
            catalogs.insert(arch, found.is_some());
            if files.iter().any(|f| f.path.eq_ignore_ascii_case(&cat.name)) {
                continue;
            }
            if found.is_none() {
                diagnostics.push(format!(
                    "{inf_name}:{}: catalog `{}` for {arch} is missing (its nodes count as unsigned)",
                    cat.line, cat.name
                ));
            } else {
                files.push(PackageFile {
                    path: cat.name.clone(),
                    role: FileRole::Catalog,
                    found,
                });
            }
        }
        Package {
            inf_path: inf_path.to_path_buf(),
            inf_name,
            inf_bytes,
            model,
            files,
            diagnostics,
            complete,
            catalogs,
        }
    }

    /// The index entry of this package under the store-wide `id`.
    pub fn entry(&self, id: &str, source: &str) -> PackageEntry {
        let v = &self.model.version;
        let info = PackageInfo {
            id: id.to_string(),
            inf_name: self.inf_name.clone(),
            source: source.to_string(),
            class: v.class.clone(),
            class_guid: v.class_guid.clone(),
            provider: v.provider.clone(),
            complete: self.complete,
            unstamped: self.model.unstamped,
        };
        let nodes = self
            .model
            .nodes()
            .map(|n| NodeEntry {
                description: n.entry.description.clone(),
                manufacturer: n.manufacturer.name.clone(),
                manufacturer_line: n.manufacturer.line,
                models_section: n.models.section.clone(),
                decoration: n.models.decoration.as_ref().map(|d| d.raw.clone()),
                install_section: n.install.and_then(|i| i.section.clone()),
                line: n.entry.line,
                arch: n.models.arch,
                hardware_id: n.entry.hardware_id.clone(),
                compatible_ids: n.entry.compatible_ids.clone(),
                feature_score: n.feature_score(),
                driver_ver: n.install.and_then(|i| i.driver_ver).or(v.driver_ver),
                catalog_present: self.catalogs.get(&n.models.arch).copied().unwrap_or(false),
                boot_critical: self.model.boot_critical(n.install),
            })
            .collect();
        PackageEntry { info, nodes }
    }
}
