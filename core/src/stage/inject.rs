//! Planning an injection: which packages go into the image, under which published name and
//! FileRepository folder, with which files and records. Pure planning: reads the image and the
//! packages, returns a [`Plan`] that [`super::commit`] applies.
//!
//! Per package, in order (windows-driver-internals.md §1.3, §1.5):
//! 1. **Refuse hostile packages** before anything else: a path the INF model refused (`..`,
//!    absolute, drive, stream, device name, in SourceDisksNames/SourceDisksFiles/CopyFiles), a
//!    file the INF names that the package does not have, a `ServiceBinary` that leaves the image
//!    (absolute, UNC, `..`, or under a DIRID infuse does not install to). Errors name the INF and
//!    the line.
//! 2. **FileRepository folder** `<inf>_<arch>_<16 hex>` from [`records::repository_name`] (a
//!    stable hash of INF + catalog bytes).
//! 3. **Already there?** The database publishes a package with the same original INF name and
//!    provider ([`records::find_package`]): if it lists this folder, the package is already
//!    present and nothing is planned; otherwise this is a new version, which keeps the published
//!    name and becomes `Active` (Windows keeps every package ever imported under a published
//!    name in `DriverInfFiles\<inf>` (default), §1.5; the older folder stays in the store).
//! 4. **Published name** as `SetupCopyOEMInf` allocates it (§1.3): reuse a byte-identical
//!    `Windows/INF/oem*.inf`; else the lowest N that is neither an existing `oemN.inf` nor set in
//!    `OemInfMap` nor taken earlier in this plan.
//! 5. **Files**: every file of the package ([`records::package_files`]) is staged to
//!    `Windows/System32/DriverStore/FileRepository/<folder>/<path>`, and the INF published as
//!    `Windows/INF/oemN.inf`.
//! 6. **Records**: [`records::install_records`] (DriverDatabase; for boot-critical packages the
//!    reflected service, files and mirrors).
//!
//! `--firstboot` adds one step the offline records cannot replace: `pnputil /add-driver
//! <staged INF> /install` for every staged package, appended to
//! `Windows/Setup/Scripts/SetupComplete.cmd` — the documented hook Windows Setup runs as
//! LocalSystem after setup completes, before the first logon ("Add a custom script to Windows
//! Setup", learn.microsoft.com/windows-hardware/manufacture/desktop/add-a-custom-script-to-windows-setup).
//! It runs when the image is deployed (Setup/OOBE), not on an image that already went through
//! Setup.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use infuse_driver_store::inf::model::{Model, paths};
use infuse_driver_store::inf::{Inf, parse_with};
use infuse_driver_store::store::package::{DirCache, Package, parse_options};
use infuse_driver_store::store::repo::Store;
use serde::Serialize;

use super::plan::{FileOp, FileSource, HiveFile, Plan};
use super::records::{self, DbLayout, PackageInstall, RecordError};
use crate::hive::Hive;
use crate::image::path::{fold, names_equal};
use crate::image::{DriverDbLayout, Image};

pub mod plugins;
pub mod remove;

/// Where staged packages live, relative to the image root.
pub const FILE_REPOSITORY: &str = "Windows/System32/DriverStore/FileRepository";
/// Where published INFs live, relative to the image root.
pub const INF_DIR: &str = "Windows/INF";
/// The first-boot script (`--firstboot`).
pub const SETUP_COMPLETE: &str = "Windows/Setup/Scripts/SetupComplete.cmd";
/// `SIGNERSCORE_AUTHENTICODE` (windows-driver-internals.md §3.1): a package with a catalog; its
/// signature is not verified offline (the ranking's `catalog-present` rule treats it the same).
pub const SIGNER_CATALOG: u32 = 0x0F00_0000;
/// `SIGNERSCORE_UNSIGNED`: no catalog.
pub const SIGNER_UNSIGNED: u32 = 0x8000_0000;

/// Why an injection cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("{inf}:{line}: {message}\nhint: the package is refused; nothing was written")]
    Refused {
        inf: String,
        line: u32,
        message: String,
    },
    #[error(
        "{inf}: `{file}` is missing from the package\nhint: the package is refused; nothing was written"
    )]
    Missing { inf: String, file: String },
    #[error("{inf}: {source}")]
    Records {
        inf: String,
        #[source]
        source: Box<RecordError>,
    },
    #[error("{path}: {msg}")]
    Io { path: PathBuf, msg: String },
    #[error("{0}")]
    Store(Box<infuse_driver_store::store::repo::StoreError>),
    #[error("{path}: no .inf file in this folder")]
    NoInf { path: PathBuf },
    #[error("{path}: {source}")]
    Hive {
        path: PathBuf,
        #[source]
        source: crate::hive::HiveError,
    },
}

impl From<infuse_driver_store::store::repo::StoreError> for InjectError {
    fn from(e: infuse_driver_store::store::repo::StoreError) -> Self {
        InjectError::Store(Box::new(e))
    }
}

impl InjectError {
    pub(crate) fn records(inf: &str, source: RecordError) -> InjectError {
        match source {
            RecordError::Refused { inf, line, message } => {
                InjectError::Refused { inf, line, message }
            }
            source => InjectError::Records {
                inf: inf.to_string(),
                source: Box::new(source),
            },
        }
    }
}

/// One file of a package to stage.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// `/`-separated path inside the package.
    pub path: String,
    pub host: PathBuf,
    pub size: u64,
}

/// A package read for injection, from a store or straight from a folder.
#[derive(Debug, Clone)]
pub struct PackageSource {
    /// The store id, or the INF's path.
    pub label: String,
    pub inf_name: String,
    pub inf_bytes: Vec<u8>,
    /// Where it was imported from (`OemPath`).
    pub oem_path: String,
    /// Every file the package has (the INF included).
    pub files: Vec<SourceFile>,
    /// The vendor plugins whose `transform` edited the package (empty: as shipped). An edited
    /// package is no longer covered by its catalog: it is recorded as unsigned
    /// (`SignerScore` [`SIGNER_UNSIGNED`], windows-driver-internals.md §3.1) and needs
    /// re-signing.
    pub transformed_by: Vec<String>,
}

impl PackageSource {
    /// Package `id` of the store (an id, an unambiguous id prefix, or an INF name).
    pub fn from_store(store: &Store, id: &str) -> Result<PackageSource, InjectError> {
        let m = store.show(id)?;
        let mut files = Vec::new();
        for f in &m.files {
            let Some(hash) = f
                .sha256
                .as_deref()
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            else {
                // A file missing from the package: `package_files` names it and the plan
                // refuses the package with its name.
                continue;
            };
            let host = store
                .root()
                .join("objects")
                .join(&hash[..2])
                .join(&hash[2..]);
            files.push(SourceFile {
                path: f.path.clone(),
                host,
                size: f.size,
            });
        }
        let inf_bytes = store.inf_bytes(&m.info.id)?;
        let oem_path = Path::new(&m.info.source)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        Ok(PackageSource {
            label: m.info.id.clone(),
            inf_name: m.info.inf_name.clone(),
            inf_bytes,
            oem_path,
            files,
            transformed_by: Vec::new(),
        })
    }

    /// The package(s) at `path`: an `.inf` file, or every `.inf` directly in a folder.
    pub fn from_path(path: &Path) -> Result<Vec<PackageSource>, InjectError> {
        let io = |e: std::io::Error| InjectError::Io {
            path: path.to_path_buf(),
            msg: e.to_string(),
        };
        let infs: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = fs_err::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("inf"))
                })
                .collect();
            v.sort();
            if v.is_empty() {
                return Err(InjectError::NoInf {
                    path: path.to_path_buf(),
                });
            }
            v
        } else {
            vec![path.to_path_buf()]
        };
        let mut cache = DirCache::default();
        let mut out = Vec::new();
        for inf in infs {
            let pkg = Package::load(&inf, &mut cache).map_err(|e| InjectError::Io {
                path: inf.clone(),
                msg: e.to_string(),
            })?;
            let mut files = Vec::new();
            for f in &pkg.files {
                let Some(host) = &f.found else { continue };
                let size = fs_err::metadata(host)
                    .map_err(|e| InjectError::Io {
                        path: host.clone(),
                        msg: e.to_string(),
                    })?
                    .len();
                files.push(SourceFile {
                    path: f.path.clone(),
                    host: host.clone(),
                    size,
                });
            }
            let abs = std::path::absolute(&inf).unwrap_or(inf.clone());
            out.push(PackageSource {
                label: inf.display().to_string(),
                inf_name: pkg.inf_name.clone(),
                inf_bytes: pkg.inf_bytes,
                oem_path: abs
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                files,
                transformed_by: Vec::new(),
            });
        }
        Ok(out)
    }

    fn file(&self, path: &str) -> Option<&SourceFile> {
        self.files
            .iter()
            .find(|f| f.path.eq_ignore_ascii_case(path))
    }
}

/// What the plan does with one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new published name.
    Inject,
    /// A new version of a package already published under this name.
    Update,
    /// This exact package is already in the image.
    AlreadyPresent,
}

/// The decision about one package, for `--plan` and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub package: String,
    pub inf: String,
    pub action: Action,
    pub published: String,
    pub repository: String,
    pub boot_critical: bool,
    pub files: usize,
    pub bytes: u64,
    pub notes: Vec<String>,
    /// The plugins that transformed the package (absent when none did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transformed_by: Vec<String>,
    /// Edited by a plugin: its catalog no longer covers it, so it must be re-signed (recorded
    /// as unsigned until then).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_resigning: bool,
}

/// Options of an injection.
#[derive(Debug, Clone, Default)]
pub struct InjectOptions {
    /// Add the `pnputil /add-driver` first-boot step.
    pub firstboot: bool,
    /// FILETIME of the import; `None` = now.
    pub import_date: Option<u64>,
}

/// A plan and the decisions behind it.
#[derive(Debug, Clone, Serialize)]
pub struct InjectPlan {
    pub plan: Plan,
    pub decisions: Vec<Decision>,
}

/// Plans the injection of `packages` into `image`.
pub fn plan_injection(
    image: &Image,
    packages: &[PackageSource],
    opts: &InjectOptions,
) -> Result<InjectPlan, InjectError> {
    let target = image.target();
    let info = image.info();
    let layout = match info.driver_database {
        DriverDbLayout::DriversHive => DbLayout::DriversHive,
        DriverDbLayout::SystemHive => DbLayout::SystemHive,
        DriverDbLayout::Legacy => DbLayout::Legacy,
    };
    let db_file = match layout {
        DbLayout::DriversHive => Some(HiveFile::Drivers),
        DbLayout::SystemHive => Some(HiveFile::System),
        DbLayout::Legacy => None,
    };
    let db_hive: Option<&Hive> = db_file.and_then(|f| image.hive(f));
    let control_set = info
        .current_control_set
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse::<u32>()
        .unwrap_or(1);
    let mut oem_map = match db_hive {
        Some(h) => records::oem_inf_map(h).map_err(|source| {
            InjectError::records(
                db_file.map(HiveFile::image_path).unwrap_or_default(),
                source,
            )
        })?,
        None => Vec::new(),
    };
    let existing_infs = list_oem_infs(image)?;
    let mut taken: BTreeSet<u32> = existing_infs.iter().map(|(n, _, _)| *n).collect();
    let existing_repos = list_repositories(image)?;
    taken.extend(crate::image::ddb::oem_inf_map_numbers(&oem_map));
    let import_date = opts.import_date.unwrap_or_else(crate::hive::filetime_now);

    let mut plan = Plan::default();
    let mut decisions = Vec::new();
    let mut firstboot = Vec::new();
    let mut repos_in_plan = BTreeSet::new();
    let mut planned_owners = records::PlannedOwners::new();
    for src in packages {
        let inf = parse_with(&src.inf_bytes, &parse_options());
        let model = Model::new(&inf);
        check_hostile(src, &inf, &model)?;
        let names = records::package_files(&src.inf_name, &model, &target);
        let mut files = Vec::with_capacity(names.len());
        for name in &names {
            let f = src.file(name).ok_or_else(|| InjectError::Missing {
                inf: src.inf_name.clone(),
                file: name.clone(),
            })?;
            files.push(records::PackageFile {
                path: name.clone(),
                size: f.size,
                source: f.host.clone(),
            });
        }
        let catalog = match model.version.catalog_for(target.arch) {
            Some(cat) => match src.file(&cat.name) {
                Some(f) => fs_err::read(&f.host).map_err(|e| InjectError::Io {
                    path: f.host.clone(),
                    msg: e.to_string(),
                })?,
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        // A package a plugin edited is not what its catalog signs (§3.1): unsigned.
        let needs_resigning = !src.transformed_by.is_empty();
        let has_catalog = !catalog.is_empty() && !needs_resigning;
        let repository =
            records::repository_name(&src.inf_name, target.arch, &src.inf_bytes, &catalog);
        let repo_dir = format!("{FILE_REPOSITORY}/{repository}");
        let mut notes = Vec::new();
        let existing = match db_hive {
            Some(h) => records::find_package(h, &src.inf_name, model.version.provider.as_deref())
                .map_err(|source| InjectError::records(&src.inf_name, source))?,
            None => None,
        };
        let identical = existing_infs
            .iter()
            .find(|(_, p, len)| holds(p, *len, &src.inf_bytes))
            .map(|(n, _, _)| *n);
        let repo_exists = existing_repos.contains(&fold(&repository));
        let already = match &existing {
            Some(e) => e.contains(&repository) && repo_exists,
            // No database (Windows 7 and older): the staged folder and an identical INF.
            None => layout == DbLayout::Legacy && repo_exists && identical.is_some(),
        } || repos_in_plan.contains(&repository);
        if already {
            decisions.push(Decision {
                package: src.label.clone(),
                inf: src.inf_name.clone(),
                action: Action::AlreadyPresent,
                published: existing
                    .as_ref()
                    .map(|e| e.published.clone())
                    .or_else(|| identical.map(|n| format!("oem{n}.inf")))
                    .unwrap_or_default(),
                repository,
                boot_critical: false,
                files: 0,
                bytes: 0,
                notes: vec!["already present: nothing to do".into()],
                transformed_by: src.transformed_by.clone(),
                needs_resigning,
            });
            continue;
        }
        let (action, published, previous) = match &existing {
            Some(e) => {
                notes.push(format!(
                    "a new version of {} (published as {}): it becomes Active; the packages imported before stay in the store: {}",
                    src.inf_name,
                    e.published,
                    e.packages.join(", ")
                ));
                (Action::Update, e.published.clone(), e.packages.clone())
            }
            None => {
                let n = match identical {
                    Some(n) => {
                        notes.push(format!(
                            "Windows/INF/oem{n}.inf is byte-identical: reused (SetupCopyOEMInf, §1.3)"
                        ));
                        n
                    }
                    None => (0..).find(|n| !taken.contains(n)).unwrap_or(0),
                };
                (Action::Inject, format!("oem{n}.inf"), Vec::new())
            }
        };
        let n = records::oem_number(&published).unwrap_or(0);
        let previous_published = taken.contains(&n);
        taken.insert(n);
        let input = PackageInstall {
            inf: &inf,
            model: &model,
            inf_name: src.inf_name.clone(),
            published: published.clone(),
            repository: repository.clone(),
            target,
            layout,
            control_set,
            system_has_driver_database: info.system_has_driver_database,
            oem_path: src.oem_path.clone(),
            signer_name: String::new(),
            signer_score: if has_catalog {
                SIGNER_CATALOG
            } else {
                SIGNER_UNSIGNED
            },
            import_date,
            files: files.clone(),
            oem_inf_map: oem_map.clone(),
            previous_packages: previous,
        };
        let mut recs = records::install_records(&input)
            .map_err(|source| InjectError::records(&src.inf_name, source))?;
        // Services, lockdown entries and files the image already has: shared with other
        // third-party packages, refused when inbox (a removal could not give them back).
        if let Some(system) = image.hive(HiveFile::System) {
            let own_files: BTreeSet<String> = if previous_published {
                records::removal_records(
                    db_hive,
                    db_file.unwrap_or(HiveFile::System),
                    system,
                    image.hive(HiveFile::Software),
                    &published,
                )
                .map(|r| {
                    r.files
                        .into_iter()
                        .filter_map(|f| match f {
                            FileOp::Remove { dest } => Some(dest),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default()
            } else {
                BTreeSet::new()
            };
            let exists = |dest: &str| image.resolve(dest).is_ok_and(|p| p.exists());
            let state = records::ImageState {
                system,
                software: image.hive(HiveFile::Software),
                exists: &exists,
                own_files: &own_files,
            };
            records::claim_existing(
                &mut recs,
                &src.inf_name,
                &published,
                &state,
                &mut planned_owners,
            )
            .map_err(|source| InjectError::records(&src.inf_name, source))?;
        }
        // Later packages of this plan see this one's number taken.
        oem_map = set_bit(oem_map, n);
        let mut bytes = 0;
        for f in &files {
            bytes += f.size;
            plan.files.push(FileOp::Put {
                dest: format!("{repo_dir}/{}", f.path),
                source: FileSource::Path {
                    path: f.source.clone(),
                },
                size: f.size,
                sha256: None,
            });
        }
        let published_dest = format!("{INF_DIR}/{published}");
        let published_same = existing_infs
            .iter()
            .find(|(_, p, _)| {
                p.file_name()
                    .is_some_and(|f| names_equal(&f.to_string_lossy(), &published))
            })
            .is_some_and(|(_, p, len)| holds(p, *len, &src.inf_bytes));
        if !published_same {
            plan.files.push(FileOp::Put {
                dest: published_dest,
                source: FileSource::Bytes {
                    bytes: src.inf_bytes.clone(),
                },
                size: src.inf_bytes.len() as u64,
                sha256: None,
            });
        }
        plan.files.extend(recs.files.iter().cloned());
        plan.hives.extend(recs.hives.iter().cloned());
        notes.extend(recs.notes.iter().cloned());
        if needs_resigning {
            notes.push(format!(
                "{}: transformed by plugin(s) {}: its catalog no longer covers it, so it needs re-signing and is recorded as unsigned (SignerScore {SIGNER_UNSIGNED:#010x})",
                src.inf_name,
                src.transformed_by.join(", ")
            ));
        } else if !has_catalog {
            notes.push(format!(
                "{}: no catalog for {}: recorded as unsigned (SignerScore {SIGNER_UNSIGNED:#010x})",
                src.inf_name, target.arch
            ));
        }
        firstboot.push(format!(
            "%SystemRoot%\\System32\\DriverStore\\FileRepository\\{repository}\\{}",
            src.inf_name
        ));
        repos_in_plan.insert(repository.clone());
        decisions.push(Decision {
            package: src.label.clone(),
            inf: src.inf_name.clone(),
            action,
            published,
            repository,
            boot_critical: recs.boot_critical,
            files: files.len(),
            bytes,
            notes,
            transformed_by: src.transformed_by.clone(),
            needs_resigning,
        });
    }
    if opts.firstboot && !firstboot.is_empty() {
        add_firstboot(image, &firstboot, &mut plan)?;
    }
    for d in &decisions {
        plan.notes.push(format!(
            "{} ({}): {} as {} in {}",
            d.inf,
            d.package,
            match d.action {
                Action::Inject => "inject",
                Action::Update => "update",
                Action::AlreadyPresent => "already present",
            },
            d.published,
            d.repository
        ));
        plan.notes.extend(d.notes.iter().map(|n| format!("  {n}")));
    }
    Ok(InjectPlan { plan, decisions })
}

fn set_bit(mut map: Vec<u8>, n: u32) -> Vec<u8> {
    let byte = (n / 8) as usize;
    if map.len() <= byte {
        map.resize(byte + 1, 0);
    }
    map[byte] |= 0x80 >> (n % 8);
    map
}

/// The entries of the image folder `rel` (resolved case-insensitively); none when it does not
/// exist.
fn image_dir(image: &Image, rel: &str) -> Result<Vec<std::fs::DirEntry>, InjectError> {
    // A missing folder resolves (to its spelling as written) and lists as empty; an error here
    // is real (an ambiguous name, a link out of the image) and must not read as "no entries",
    // or the plan would hand out a published name or folder that is taken.
    let dir = image.resolve(rel).map_err(|e| InjectError::Io {
        path: image.root().join(rel),
        msg: e.to_string(),
    })?;
    let io = |e: std::io::Error| InjectError::Io {
        path: dir.clone(),
        msg: e.to_string(),
    };
    match std::fs::read_dir(&dir) {
        Ok(rd) => rd.map(|e| e.map_err(io)).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(e)),
    }
}

/// The folders of the image's `FileRepository` (not links), by their NTFS-folded names
/// ([`fold`]: Windows compares names case-insensitively), listed once per plan rather than
/// looked up once per package.
fn list_repositories(image: &Image) -> Result<BTreeSet<String>, InjectError> {
    Ok(image_dir(image, FILE_REPOSITORY)?
        .into_iter()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| fold(&e.file_name().to_string_lossy()))
        .collect())
}

/// Whether the file at `path`, `len` bytes long, holds exactly `bytes` (read only when the
/// sizes agree).
fn holds(path: &Path, len: u64, bytes: &[u8]) -> bool {
    len == bytes.len() as u64 && fs_err::read(path).is_ok_and(|b| b == bytes)
}

/// Every `Windows/INF/oem<N>.inf` of the image, with its path and size.
fn list_oem_infs(image: &Image) -> Result<Vec<(u32, PathBuf, u64)>, InjectError> {
    let mut out = Vec::new();
    for e in image_dir(image, INF_DIR)? {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = records::oem_number(&name)
            && let Ok(meta) = std::fs::metadata(e.path())
            && meta.is_file()
        {
            out.push((n, e.path(), meta.len()));
        }
    }
    out.sort();
    Ok(out)
}

/// Refuses what must never reach an image: refused paths, and service binaries outside it.
fn check_hostile(src: &PackageSource, inf: &Inf, model: &Model) -> Result<(), InjectError> {
    let name = &src.inf_name;
    if let Some(d) = inf
        .diagnostics
        .iter()
        .chain(&model.diagnostics)
        .find(|d| d.message.contains(paths::REFUSED))
    {
        return Err(InjectError::Refused {
            inf: name.clone(),
            line: d.line,
            message: d.message.clone(),
        });
    }
    for install in &model.installs {
        for svc in &install.services {
            if let Some(bin) = &svc.binary {
                // The ServiceBinary line itself, else the AddService line.
                let line = svc
                    .install_section
                    .as_deref()
                    .and_then(|s| inf.section(s))
                    .and_then(|s| s.find("ServiceBinary"))
                    .map_or(svc.line, |l| l.number());
                service_binary(bin).map_err(|message| InjectError::Refused {
                    inf: name.clone(),
                    line,
                    message: format!("service `{}`: ServiceBinary `{bin}` {message}", svc.name),
                })?;
            }
        }
    }
    Ok(())
}

/// A `ServiceBinary` must stay inside the image: `%10%`, `%11%`, `%12%` or `%13%` followed by a
/// relative path without `..` (the store parses with DIRIDs unexpanded), or the expanded form
/// `C:\Windows\...` of the same folders.
fn service_binary(bin: &str) -> Result<(), String> {
    let text = bin.trim();
    let rest = if let Some(r) = text.strip_prefix('%') {
        let (dirid, rest) = r
            .split_once('%')
            .ok_or_else(|| "has an unterminated DIRID".to_string())?;
        if !matches!(dirid.trim(), "10" | "11" | "12" | "13") {
            return Err(format!(
                "is under DIRID {dirid}, outside the folders an offline injection installs to (10, 11, 12, 13)"
            ));
        }
        rest
    } else if let Some(r) = text
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case(r"C:\Windows\"))
        .map(|_| &text[10..])
    {
        r
    } else {
        return Err("is outside the image (an absolute path or no DIRID)".into());
    };
    let parts = paths::relative_dir(rest).map_err(|e| format!("leaves the image: {e}"))?;
    if parts.is_empty() {
        return Err("names no file".into());
    }
    Ok(())
}

/// Appends the `pnputil` lines to `SetupComplete.cmd` (creating it when absent).
fn add_firstboot(image: &Image, infs: &[String], plan: &mut Plan) -> Result<(), InjectError> {
    let existing = match image.resolve(SETUP_COMPLETE) {
        Ok(p) if p.is_file() => fs_err::read(&p).map_err(|e| InjectError::Io {
            path: p.clone(),
            msg: e.to_string(),
        })?,
        _ => Vec::new(),
    };
    let mut script = existing.clone();
    if !script.is_empty() && !script.ends_with(b"\n") {
        script.extend_from_slice(b"\r\n");
    }
    if script.is_empty() {
        script.extend_from_slice(b"@echo off\r\n");
    }
    let mut added = 0;
    for inf in infs {
        let line = format!("pnputil /add-driver \"{inf}\" /install\r\n");
        // Idempotent: a line already in the script is not added twice.
        if !contains(&existing, line.as_bytes()) {
            script.extend_from_slice(line.as_bytes());
            added += 1;
        }
    }
    if added > 0 {
        plan.notes.push(format!(
            "first boot: {SETUP_COMPLETE} runs `pnputil /add-driver <staged INF> /install` for {added} package(s) when Windows Setup completes"
        ));
        plan.files.push(FileOp::Put {
            dest: SETUP_COMPLETE.into(),
            size: script.len() as u64,
            source: FileSource::Bytes { bytes: script },
            sha256: None,
        });
    }
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
