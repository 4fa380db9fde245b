//! A driver package on disk: an INF plus the files it references, found case-insensitively in
//! the INF's folder (Windows compares file names case-insensitively).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::index::{ManufacturerLine, ModelsSection, NodeEntry, PackageEntry, PackageInfo};
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
        PackageEntry {
            info,
            nodes,
            lines: manufacturer_lines(&self.model),
        }
    }
}

/// The `[Manufacturer]` lines of a model as the index keeps them (decorations as written).
pub fn manufacturer_lines(model: &Model) -> Vec<ManufacturerLine> {
    model
        .manufacturers
        .iter()
        .map(|m| ManufacturerLine {
            line: m.line,
            models_base: m.models_base.clone(),
            decorations: m.decorations.iter().map(|d| d.raw.clone()).collect(),
            sections: m
                .models
                .iter()
                .map(|s| ModelsSection {
                    name: s.section.clone(),
                    empty: s.entries.is_empty(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::index::{INDEX_FILE, Index, IndexError};
    use super::super::repo::Store;
    use super::*;

    /// Two Manufacturer lines; `[M.NTamd64.10.0]` is empty, which excludes Windows 10 amd64 from
    /// the line (windows-driver-internals.md §3.3 rule g), so the index must keep that flag.
    const INF: &str = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Net\r\nClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}\r\nProvider=Contoso\r\nDriverVer=01/01/2024,1.0.0.0\r\n\r\n[Manufacturer]\r\nContoso=M,NTamd64,NTamd64.10.0\r\nFabrikam=F\r\n\r\n[M.NTamd64]\r\n%D%=Inst,PCI\\VEN_1234&DEV_0001\r\n\r\n[M.NTamd64.10.0]\r\n\r\n[F]\r\n%D%=Inst,PCI\\VEN_1234&DEV_0002\r\n\r\n[Inst.NTamd64]\r\n\r\n[Inst]\r\n\r\n[Strings]\r\nD=\"Device\"\r\n";

    fn expected() -> Vec<ManufacturerLine> {
        let s = |name: &str, empty| ModelsSection {
            name: name.into(),
            empty,
        };
        vec![
            ManufacturerLine {
                line: 9,
                models_base: "M".into(),
                decorations: vec!["NTamd64".into(), "NTamd64.10.0".into()],
                sections: vec![s("M.NTamd64", false), s("M.NTamd64.10.0", true)],
            },
            ManufacturerLine {
                line: 10,
                models_base: "F".into(),
                decorations: Vec::new(),
                sections: vec![s("F", false)],
            },
        ]
    }

    #[test]
    fn entry_records_every_manufacturer_line() {
        let pkg = Package::from_bytes(
            Path::new("/nowhere/c.inf"),
            INF.as_bytes().to_vec(),
            &mut DirCache::default(),
        );
        assert_eq!(pkg.entry("c.inf_0", "/nowhere").lines, expected());
    }

    #[test]
    fn a_store_from_before_the_lines_is_rebuilt_from_its_infs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let src = tmp.path().join("src");
        std::fs::create_dir_all(&src).expect("mkdir");
        std::fs::write(src.join("c.inf"), INF).expect("write inf");
        let root = tmp.path().join("store");
        let store = Store::create(&root).expect("create");
        store.add(&[src], &mut |_| {}).expect("add");
        let fresh = Index::open(&root).expect("open");
        assert_eq!(fresh.manufacturer_lines(0).expect("lines"), expected());
        drop(fresh);

        // What an older infuse left: a store of schema 1 (packages/<id>.json and .nodes)
        // whose manifests have no lines, an index of schema 1.
        let packages: Vec<_> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|m| {
                let nodes = store.nodes(&m.info.id).expect("nodes");
                (m, nodes)
            })
            .collect();
        let old = root.join("packages");
        std::fs::create_dir(&old).expect("mkdir packages/");
        for (m, nodes) in packages {
            let mut json = serde_json::to_value(&m).expect("json");
            json.as_object_mut()
                .expect("object")
                .remove("manufacturer_lines")
                .expect("lines recorded");
            let write = |ext: &str, bytes: Vec<u8>| {
                std::fs::write(old.join(format!("{}.{ext}", m.info.id)), bytes).expect("write")
            };
            write("json", serde_json::to_vec(&json).expect("json"));
            write("nodes", serde_json::to_vec(&nodes).expect("json"));
        }
        std::fs::remove_dir_all(root.join("packs")).expect("rm packs/");
        let index = root.join(INDEX_FILE);
        let mut bytes = std::fs::read(&index).expect("read index");
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        std::fs::write(&index, &bytes).expect("write index");
        assert!(matches!(
            Index::open(&root),
            Err(IndexError::Schema { found: 1, .. })
        ));

        let report = store.add(&[], &mut |_| {}).expect("add with no sources");
        assert!(report.index_rebuilt);
        let rebuilt = Index::open(&root).expect("open rebuilt");
        assert_eq!(rebuilt.manufacturer_lines(0).expect("lines"), expected());
    }
}
