//! The driver packages of an image, as `dism /image:X /get-drivers` lists them: published name,
//! original INF, provider, class, date, version, boot-critical — from the DriverDatabase
//! (windows-driver-internals.md §1.5). Third-party packages are the published `oem<N>.inf`
//! ones; `--all` adds the inbox ones.

use serde::Serialize;

use super::ddb::{self, DdbError, DriverDb, PackageRecord};
use super::{DriverDbLayout, Image, Reg};
use crate::stage::plan::HiveFile;

/// One row of `infuse image drivers`.
#[derive(Debug, Clone, Serialize)]
pub struct DriverEntry {
    pub published_name: String,
    pub original_name: Option<String>,
    pub inbox: bool,
    pub package: Option<String>,
    pub provider: Option<String>,
    pub class_guid: Option<String>,
    /// The class name from `SYSTEM\ControlSetNNN\Control\Class\{guid}\Class`, when present.
    pub class_name: Option<String>,
    /// `mm/dd/yyyy`.
    pub date: Option<String>,
    pub version: Option<String>,
    pub signer_score: Option<u32>,
    /// The associated service starts at boot (`Start` = 0).
    pub boot_critical: bool,
    /// The associated services (from `Configurations\<section>\Service`).
    pub services: Vec<String>,
    /// What could not be read for this entry.
    pub problems: Vec<String>,
}

/// What `infuse image drivers` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DriverList {
    pub image: std::path::PathBuf,
    pub layout: DriverDbLayout,
    /// The hive the list was read from.
    pub database: Option<std::path::PathBuf>,
    pub all: bool,
    pub drivers: Vec<DriverEntry>,
    pub notes: Vec<String>,
}

/// List the image's driver packages (third-party only unless `all`).
pub fn list(image: &Image, all: bool) -> Result<DriverList, DdbError> {
    let mut notes = Vec::new();
    let Some(db) = image.driver_database() else {
        // Windows 7 and older keep no DriverDatabase (§1.4): the published packages are the
        // `Windows/INF/oem<N>.inf` files themselves.
        if all {
            notes.push(
                "the image has no DriverDatabase (Windows 7 or older): inbox packages are not indexed offline; the published oem*.inf are listed"
                    .to_owned(),
            );
        }
        return Ok(DriverList {
            image: image.root().to_path_buf(),
            layout: image.info().driver_database,
            database: None,
            all,
            drivers: legacy_packages(image)
                .into_iter()
                .map(|p| p.entry)
                .collect(),
            notes,
        });
    };
    let mut drivers = Vec::new();
    for name in db.inf_names()? {
        let inbox = ddb::oem_number(&name).is_none();
        if inbox && !all {
            continue;
        }
        drivers.push(entry(image, &db, &name, inbox)?);
    }
    // dism lists oem numbers in order; inbox ones by name after them.
    drivers.sort_by(|a, b| {
        (
            a.inbox,
            ddb::oem_number(&a.published_name),
            a.published_name.to_ascii_lowercase(),
        )
            .cmp(&(
                b.inbox,
                ddb::oem_number(&b.published_name),
                b.published_name.to_ascii_lowercase(),
            ))
    });
    Ok(DriverList {
        image: image.root().to_path_buf(),
        layout: image.info().driver_database,
        database: Some(db.path().to_path_buf()),
        all,
        drivers,
        notes,
    })
}

fn entry(
    image: &Image,
    db: &DriverDb<'_>,
    name: &str,
    inbox: bool,
) -> Result<DriverEntry, DdbError> {
    let mut problems = Vec::new();
    let inf = db.inf_file(name)?;
    let active = inf.as_ref().and_then(|i| i.active.clone());
    let pkg: Option<PackageRecord> = match &active {
        Some(id) => {
            let p = db.package(id)?;
            if p.is_none() {
                problems.push(format!(
                    "its Active package `{id}` has no DriverPackages key"
                ));
            }
            p
        }
        None => {
            problems.push("DriverInfFiles has no `Active` package".to_owned());
            None
        }
    };
    let version = pkg.as_ref().and_then(|p| p.version);
    if let Some(e) = pkg.as_ref().and_then(|p| p.version_error.clone()) {
        problems.push(e);
    }
    let class_guid = version.map(|v| ddb::guid_string(&v.class_guid));
    let class_name = match &class_guid {
        Some(g) => class_name(image, g),
        None => None,
    };
    let services: Vec<String> = pkg
        .as_ref()
        .map(|p| p.services.iter().map(|(_, s)| s.clone()).collect())
        .unwrap_or_default();
    let boot_critical = services.iter().any(|s| service_start(image, s) == Some(0));
    Ok(DriverEntry {
        published_name: name.to_owned(),
        original_name: pkg.as_ref().and_then(|p| p.inf_name.clone()),
        inbox,
        package: active,
        provider: pkg.as_ref().and_then(|p| p.provider.clone()),
        class_guid,
        class_name,
        date: version.map(|v| v.date_text()),
        version: version.map(|v| v.version_text()),
        signer_score: pkg.as_ref().and_then(|p| p.signer_score),
        boot_critical,
        services,
        problems,
    })
}

fn system(image: &Image) -> Option<Reg<'_>> {
    Some(Reg {
        hive: image.hive(HiveFile::System)?,
        path: image.hive_path(HiveFile::System)?,
    })
}

/// `SYSTEM\ControlSetNNN\Control\Class\{guid}\Class`.
pub fn class_name(image: &Image, guid: &str) -> Option<String> {
    let reg = system(image)?;
    // Windows writes class keys upper-case braced; key lookups ignore case anyway.
    reg.string(
        &image.control_set_key(&format!(r"Control\Class\{guid}")),
        "Class",
    )
    .ok()
    .flatten()
}

/// `SYSTEM\ControlSetNNN\Services\<svc>\Start`.
pub fn service_start(image: &Image, service: &str) -> Option<u32> {
    let reg = system(image)?;
    reg.dword(
        &image.control_set_key(&format!(r"Services\{service}")),
        "Start",
    )
    .ok()
    .flatten()
}

/// A published package of an image without a DriverDatabase (Windows 7 and older, §1.4).
#[derive(Debug, Clone)]
pub struct LegacyPackage {
    pub entry: DriverEntry,
    /// (hardware or compatible ID, boot-start associated service) of every Models entry whose
    /// install section is boot-critical (§1.2): what `CriticalDeviceDatabase` must bind (§1.6).
    pub critical_ids: Vec<(String, String)>,
}

/// The `Windows/INF/oem<N>.inf` packages of the image, in oem order, read from the INFs: provider,
/// class, DriverVer; the original name and package from the `FileRepository` folder holding a
/// byte-identical INF (§1.3: the folder keeps the original name).
pub fn legacy_packages(image: &Image) -> Vec<LegacyPackage> {
    let list = |rel: &str| -> Vec<(String, std::path::PathBuf)> {
        image.resolve(rel).map(|d| list_dir(&d)).unwrap_or_default()
    };
    let mut repository: Vec<(String, String, Vec<u8>)> = Vec::new();
    for (folder, path) in list("Windows/System32/DriverStore/FileRepository") {
        for (name, file) in list_dir(&path) {
            if name.to_ascii_lowercase().ends_with(".inf")
                && let Ok(bytes) = std::fs::read(&file)
            {
                repository.push((folder.clone(), name, bytes));
            }
        }
    }
    let target = image.target();
    let mut out: Vec<LegacyPackage> = Vec::new();
    let mut infs: Vec<(u32, String, std::path::PathBuf)> = list("Windows/INF")
        .into_iter()
        .filter_map(|(n, p)| Some((ddb::oem_number(&n)?, n, p)))
        .collect();
    infs.sort();
    for (_, name, path) in infs {
        let mut problems = Vec::new();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                Vec::new()
            }
        };
        let parsed = infuse_driver_store::inf::parse_with(
            &bytes,
            &infuse_driver_store::store::package::parse_options(),
        );
        let model = infuse_driver_store::inf::model::Model::new(&parsed);
        let v = &model.version;
        let origin = repository.iter().find(|(_, _, b)| *b == bytes);
        if origin.is_none() {
            problems.push("no FileRepository folder holds this INF".to_owned());
        }
        let sel = crate::stage::records::selected(&model, &target);
        let mut critical_ids = Vec::new();
        let mut services: Vec<String> = Vec::new();
        for (entry, install) in &sel.entries {
            let Some(install) = install else { continue };
            for s in install.services.iter().filter(|s| s.flags & 0x2 != 0) {
                if !services.iter().any(|x| x.eq_ignore_ascii_case(&s.name)) {
                    services.push(s.name.clone());
                }
            }
            if !model.boot_critical(Some(install)).any() {
                continue;
            }
            let Some(svc) = install
                .services
                .iter()
                .find(|s| s.flags & 0x2 != 0 && !s.name.is_empty())
            else {
                continue;
            };
            for id in std::iter::once(&entry.hardware_id).chain(&entry.compatible_ids) {
                if !id.is_empty()
                    && !critical_ids
                        .iter()
                        .any(|(i, _): &(String, String)| i.eq_ignore_ascii_case(id))
                {
                    critical_ids.push((id.clone(), svc.name.clone()));
                }
            }
        }
        let class_guid = v
            .class_guid
            .as_deref()
            .map(|g| g.trim().to_ascii_uppercase());
        let class_name = v
            .class
            .clone()
            .or_else(|| class_guid.as_deref().and_then(|g| class_name(image, g)));
        out.push(LegacyPackage {
            entry: DriverEntry {
                published_name: name,
                original_name: origin.map(|(_, n, _)| n.clone()),
                inbox: false,
                package: origin.map(|(f, _, _)| f.clone()),
                provider: v.provider.clone(),
                class_guid,
                class_name,
                date: v
                    .driver_ver
                    .map(|d| format!("{:02}/{:02}/{:04}", d.month, d.day, d.year)),
                version: v.driver_ver.map(|d| {
                    d.version
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(".")
                }),
                signer_score: None,
                boot_critical: !critical_ids.is_empty(),
                services,
                problems,
            },
            critical_ids,
        });
    }
    out
}

fn list_dir(dir: &std::path::Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.to_owned(), e.path())))
        .collect();
    out.sort();
    out
}
