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
        notes.push(
            "the image has no DriverDatabase (Windows 7 or older): packages are not indexed offline"
                .to_owned(),
        );
        return Ok(DriverList {
            image: image.root().to_path_buf(),
            layout: image.info().driver_database,
            database: None,
            all,
            drivers: Vec::new(),
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
