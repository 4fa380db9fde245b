//! The registry records (and reflected files) of one driver package injection, and of its
//! removal, as plan data.
//!
//! [`install_records`] turns what the image knows about a package ([`PackageInstall`]: the parsed
//! INF and model, names, the image's database layout) into [`HiveOp`]s and [`FileOp`]s that write
//! exactly the records of windows-driver-internals.md §1.5 (DriverDatabase), and for boot-critical
//! packages (§1.2) reflect them: the service key from AddService and its AddReg (§1.6), event-log
//! keys, the legacy CriticalDeviceDatabase (§1.6), the `SYSTEM\DriverDatabase` mirror (§1.4),
//! PnpLockdownFiles (§1.7) and the DIRID 10/11/12 file copies (§1.3). [`removal_records`] reads an
//! image's records back and produces the ops that undo everything an injection wrote.
//!
//! Nothing here does IO: the journaled committer applies the ops. One file per concern:
//! `ddb` (the DriverDatabase record and its binary formats), `reflect` (service key, event log,
//! CDDB, PnpLockdownFiles, file copies), `removal` (reading records back).

use std::collections::HashSet;
use std::path::PathBuf;

use infuse_driver_store::inf::Inf;
use infuse_driver_store::inf::model::{Arch, DdInstall, Model, ModelEntry, paths};

use super::plan::{FileOp, HiveFile, HiveOp, RegOp};
use crate::hive::{HiveError, ValueType, multi_sz, utf16z};
use crate::rank::Target;
use crate::rank::decoration::{ModelsChoice, select_models};
use crate::rank::memory::line_views;

mod claims;
mod ddb;
mod prune;
mod reflect;
mod removal;

pub use claims::{ImageState, PlannedOwners, claim_existing};
pub use ddb::{
    CONFIG_SCOPE, STATUS_FLAGS, filetime_of_date, guid_bytes, processor_architecture, version_blob,
};
pub use reflect::{DIRID13_MIN_BUILD, LOCKDOWN_CLASS, PNP_LOCKDOWN_FILES, control_set_key};
pub use removal::{ExistingPackage, find_package, oem_inf_map, removal_records};

/// Where the image keeps its driver database (windows-driver-internals.md §1.4).
pub use crate::image::DriverDbLayout as DbLayout;

/// One file of the package, relative to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// `/`-separated path inside the package, as [`package_files`] names it.
    pub path: String,
    pub size: u64,
    /// Where its bytes are on the host (a store object or the package folder).
    pub source: PathBuf,
}

/// What the image knows about one package to inject; the committer fills it.
#[derive(Debug, Clone)]
pub struct PackageInstall<'a> {
    /// Parse with `ParseOptions { expand_dirids: false, .. }` so `ServiceBinary` keeps its
    /// DIRID (`%12%\x.sys`); expanded `C:\Windows\...` paths are understood too.
    pub inf: &'a Inf,
    pub model: &'a Model,
    /// The original INF file name (`vioscsi.inf`).
    pub inf_name: String,
    /// The published name (`oem3.inf`); for a newer version of a package already in the image,
    /// the published name it has ([`find_package`]).
    pub published: String,
    /// The FileRepository folder name, from [`repository_name`].
    pub repository: String,
    /// The image's OS version and architecture (selects the Models sections, §3.3).
    pub target: Target,
    pub layout: DbLayout,
    /// `SYSTEM\Select\Current`.
    pub control_set: u32,
    /// `SYSTEM\DriverDatabase` exists (boot-critical packages are mirrored there, §1.4).
    pub system_has_driver_database: bool,
    /// `OemPath`: the folder the package was imported from.
    pub oem_path: String,
    pub signer_name: String,
    pub signer_score: u32,
    /// FILETIME of the import (`ImportDate`, `UpdateDate`).
    pub import_date: u64,
    /// Every file of the package ([`package_files`] names), with sizes and host paths.
    pub files: Vec<PackageFile>,
    /// The database's current `OemInfMap` ([`oem_inf_map`]); empty when absent.
    pub oem_inf_map: Vec<u8>,
    /// Package ids already listed under `DriverInfFiles\<published>` (a newer version of the same
    /// package: [`ExistingPackage::packages`]); empty for a new published name.
    pub previous_packages: Vec<String>,
}

/// Everything an injection (or removal) writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageRecords {
    pub hives: Vec<HiveOp>,
    /// Reflected boot-critical files (and their removal); the package itself is staged into
    /// FileRepository and `Windows/INF/oemN.inf` by the committer.
    pub files: Vec<FileOp>,
    /// What was chosen or left out, for `--plan`.
    pub notes: Vec<String>,
    /// The package was reflected (§1.2).
    pub boot_critical: bool,
}

/// Why records cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The INF asks for something an injection must refuse (a path out of the package or out of
    /// the image).
    #[error("{inf}:{line}: {message}")]
    Refused {
        inf: String,
        line: u32,
        message: String,
    },
    /// The records would take over a service, lockdown entry or file the image already has and
    /// that no third-party package owns ([`claims`]).
    #[error("{inf}: {message}")]
    TakesOver { inf: String, message: String },
    /// `[Version]` lacks what a driver database record needs.
    #[error(
        "{inf}: [Version] has no valid {field}: windows does not stage such a package\nhint: {hint}"
    )]
    MissingVersion {
        inf: String,
        field: &'static str,
        hint: &'static str,
    },
    /// No Models section applies to the image.
    #[error("{inf}: no Models section of this INF applies to {target}")]
    NoNodes { inf: String, target: String },
    /// Not an `oemN.inf` name.
    #[error(
        "published name `{0}` is not oemN.inf\nhint: third-party packages are published as oem0.inf, oem1.inf, ..."
    )]
    PublishedName(String),
    /// The image has no record of the package.
    #[error("{hive}: no driver package published as `{published}`")]
    NotInstalled { hive: String, published: String },
    /// An image record does not have the documented shape.
    #[error("{hive}: {key}: {msg}")]
    BadRecord {
        hive: String,
        key: String,
        msg: String,
    },
    #[error("{hive}: {source}")]
    Hive {
        hive: String,
        #[source]
        source: HiveError,
    },
}

/// The DriverDatabase key, relative to the root of the DRIVERS or SYSTEM hive.
pub const DRIVER_DATABASE: &str = "DriverDatabase";

/// The FileRepository folder name: `<inf lower>_<arch>_<16 hex>` (§1.3). Windows' hash is not
/// documented; this is §1.3's recommendation: a stable 64-bit hash (FNV-1a) of the INF bytes and
/// the catalog bytes, length-prefixed so the two parts cannot trade bytes.
pub fn repository_name(inf_name: &str, arch: Arch, inf_bytes: &[u8], catalog: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(&(inf_bytes.len() as u64).to_le_bytes());
    feed(inf_bytes);
    feed(&(catalog.len() as u64).to_le_bytes());
    feed(catalog);
    format!("{}_{}_{h:016x}", inf_name.to_lowercase(), arch.as_str())
}

/// The package's files relative to its root, `/`-separated, each once (case-insensitively): the
/// INF, the catalog for the target's architecture, and every file the applicable install
/// sections copy. The committer stages exactly these into FileRepository.
pub fn package_files(inf_name: &str, model: &Model, target: &Target) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut push = |p: String| {
        if seen.insert(p.to_lowercase()) {
            out.push(p);
        }
    };
    push(inf_name.to_string());
    if let Some(cat) = model.version.catalog_for(target.arch) {
        push(cat.name.clone());
    }
    for install in selected(model, target).installs {
        for f in &install.files {
            push(f.source_path());
        }
    }
    out
}

/// The driver nodes that apply to the target: one Models section per Manufacturer line (§3.3).
pub(crate) struct Selected<'m> {
    pub(crate) entries: Vec<(&'m ModelEntry, Option<&'m DdInstall>)>,
    /// The distinct install sections those entries use, in first-use order.
    pub(crate) installs: Vec<&'m DdInstall>,
}

pub(crate) fn selected<'m>(model: &'m Model, target: &Target) -> Selected<'m> {
    let views = line_views(model);
    let mut out = Selected {
        entries: Vec::new(),
        installs: Vec::new(),
    };
    for m in &model.manufacturers {
        let Some(view) = views.get(&m.line) else {
            continue;
        };
        let ModelsChoice::Section { section } = select_models(view, target) else {
            continue;
        };
        let Some(models) = m.models.iter().find(|s| s.section == section) else {
            continue;
        };
        for entry in &models.entries {
            let install = entry.install.and_then(|i| model.installs.get(i));
            if let Some(i) = install
                && !out.installs.iter().any(|x| std::ptr::eq(*x, i))
            {
                out.installs.push(i);
            }
            out.entries.push((entry, install));
        }
    }
    out
}

/// The records an injection of `input` writes (§1.5–§1.7).
pub fn install_records(input: &PackageInstall<'_>) -> Result<PackageRecords, RecordError> {
    let inf = input.inf_name.as_str();
    check_package(input)?;
    let sel = selected(input.model, &input.target);
    if sel.entries.is_empty() {
        return Err(RecordError::NoNodes {
            inf: inf.to_string(),
            target: format!(
                "Windows {}.{}.{} {}",
                input.target.major, input.target.minor, input.target.build, input.target.arch
            ),
        });
    }
    let boot_critical = sel
        .installs
        .iter()
        .any(|i| input.model.boot_critical(Some(i)).any());
    let mut out = PackageRecords {
        boot_critical,
        ..PackageRecords::default()
    };
    let record = ddb::Record::build(input, &sel, &mut out.notes)?;
    match input.layout {
        DbLayout::DriversHive => {
            record.write(HiveFile::Drivers, true, &mut out.hives);
            if boot_critical && input.system_has_driver_database {
                out.notes.push(
                    "boot-critical: the record is mirrored in SYSTEM\\DriverDatabase (§1.4)".into(),
                );
                record.write(HiveFile::System, false, &mut out.hives);
            }
        }
        DbLayout::SystemHive => record.write(HiveFile::System, true, &mut out.hives),
        DbLayout::Legacy => out.notes.push(
            "no DriverDatabase in this image (Windows 7 or older): the package is staged; \
             PnP installs it at first start"
                .into(),
        ),
    }
    if boot_critical {
        reflect::reflect(input, &sel, &mut out)?;
    } else {
        out.notes.push(format!(
            "{inf}: not boot-critical: staged only; PnP installs it when it finds the device"
        ));
    }
    Ok(out)
}

/// Refuses packages whose INF points outside the package or the image (DESIGN.md: paths from
/// data are never trusted).
fn check_package(input: &PackageInstall<'_>) -> Result<(), RecordError> {
    let inf = &input.inf_name;
    if let Some(d) = input
        .model
        .diagnostics
        .iter()
        .find(|d| d.message.contains(paths::REFUSED))
    {
        return Err(RecordError::Refused {
            inf: inf.clone(),
            line: d.line,
            message: d.message.clone(),
        });
    }
    let have: HashSet<String> = input.files.iter().map(|f| f.path.to_lowercase()).collect();
    for install in selected(input.model, &input.target).installs {
        for f in &install.files {
            let path = f.source_path();
            if !have.contains(&path.to_lowercase()) {
                return Err(RecordError::Refused {
                    inf: inf.clone(),
                    line: f.line,
                    message: format!(
                        "[{}] names `{path}`, which is not a file of the package",
                        f.section
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Builds the ops of one hive.
pub(crate) struct Ops<'a> {
    pub(crate) hive: HiveFile,
    pub(crate) out: &'a mut Vec<HiveOp>,
}

impl Ops<'_> {
    pub(crate) fn key(&mut self, key: &str) {
        self.push(RegOp::CreateKey { key: key.into() });
    }

    pub(crate) fn value(&mut self, key: &str, name: &str, kind: ValueType, data: Vec<u8>) {
        self.push(RegOp::SetValue {
            key: key.into(),
            name: name.into(),
            kind: kind.0,
            data,
        });
    }

    pub(crate) fn sz(&mut self, key: &str, name: &str, s: &str) {
        self.value(key, name, ValueType::SZ, utf16z(s));
    }

    pub(crate) fn expand_sz(&mut self, key: &str, name: &str, s: &str) {
        self.value(key, name, ValueType::EXPAND_SZ, utf16z(s));
    }

    pub(crate) fn multi<S: AsRef<str>>(&mut self, key: &str, name: &str, items: &[S]) {
        self.value(key, name, ValueType::MULTI_SZ, multi_sz(items));
    }

    pub(crate) fn dword(&mut self, key: &str, name: &str, v: u32) {
        self.value(key, name, ValueType::DWORD, v.to_le_bytes().to_vec());
    }

    pub(crate) fn push(&mut self, op: RegOp) {
        self.out.push(HiveOp {
            hive: self.hive,
            op,
        });
    }
}

/// `a\b` joined, skipping empty parts (a key path never has empty components).
pub(crate) fn join_key(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split('\\'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\\")
}

/// The number N of `oemN.inf` (case-insensitive).
pub fn oem_number(published: &str) -> Option<u32> {
    let lower = published.to_ascii_lowercase();
    let digits = lower.strip_prefix("oem")?.strip_suffix(".inf")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests;
