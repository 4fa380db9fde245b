//! Reading an image's records back: the package already published for an INF (an update), the
//! `OemInfMap`, and the ops that remove everything an injection wrote.

use std::collections::BTreeSet;

use super::ddb::set_oem_bit;
use super::prune::prune;
use super::reflect::{PNP_LOCKDOWN_FILES, control_set_key};
use super::{DRIVER_DATABASE, Ops, PackageRecords, RecordError, join_key, oem_number};
use crate::hive::{Decoded, Hive, HiveError, Key, ValueType, filetime_now};
use crate::stage::plan::{FileOp, HiveFile, RegOp};

/// A package the image's database already publishes under an `oemN.inf` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPackage {
    pub published: String,
    /// `DriverInfFiles\<published>` (default): every package id imported under that name.
    pub packages: Vec<String>,
    /// `DriverInfFiles\<published>\Active`.
    pub active: Option<String>,
}

impl ExistingPackage {
    /// The package id is already imported (injecting it again changes nothing).
    pub fn contains(&self, package: &str) -> bool {
        self.packages
            .iter()
            .any(|p| p.eq_ignore_ascii_case(package))
    }
}

/// The third-party package with this original INF name and provider, if the database has one
/// (Windows gives a newer version of the same package the same published name, §1.5
/// `DriverInfFiles` (default) = "all <pkg> ids ever imported for this published name").
pub fn find_package(
    db: &Hive,
    inf_name: &str,
    provider: Option<&str>,
) -> Result<Option<ExistingPackage>, RecordError> {
    let err = hive_err("driver database");
    let Some(packages) =
        opt_key(db, &join_key(&[DRIVER_DATABASE, "DriverPackages"])).map_err(&err)?
    else {
        return Ok(None);
    };
    let want_provider = provider.unwrap_or_default().trim();
    for pkg in packages.subkeys().map_err(&err)? {
        let name = string_value(&pkg, "InfName").map_err(&err)?;
        if !name.is_some_and(|n| n.eq_ignore_ascii_case(inf_name)) {
            continue;
        }
        let prov = string_value(&pkg, "Provider")
            .map_err(&err)?
            .unwrap_or_default();
        if prov.trim() != want_provider {
            continue;
        }
        let Some(published) = string_value(&pkg, "").map_err(&err)? else {
            continue;
        };
        if oem_number(&published).is_none() {
            continue;
        }
        let inf_key = join_key(&[DRIVER_DATABASE, "DriverInfFiles", &published]);
        let (packages, active) = match opt_key(db, &inf_key).map_err(&err)? {
            Some(k) => (
                multi_value(&k, "").map_err(&err)?,
                string_value(&k, "Active").map_err(&err)?,
            ),
            None => (vec![pkg.name().to_string()], None),
        };
        return Ok(Some(ExistingPackage {
            published,
            packages,
            active,
        }));
    }
    Ok(None)
}

/// The database's `OemInfMap` (empty when absent).
pub fn oem_inf_map(db: &Hive) -> Result<Vec<u8>, RecordError> {
    let err = hive_err("driver database");
    Ok(match opt_key(db, DRIVER_DATABASE).map_err(&err)? {
        Some(k) => k
            .value("OemInfMap")
            .map_err(&err)?
            .map(|v| v.data)
            .unwrap_or_default(),
        None => Vec::new(),
    })
}

/// The ops that remove the package published as `published` and every record its injection
/// wrote: the DriverDatabase records in `db` (the DRIVERS hive, or SYSTEM on Windows 8/8.1;
/// `db_file` says which), their SYSTEM mirror, the service keys it owns (`Owners`), their
/// event-log sources and CriticalDeviceDatabase entries, its PnpLockdownFiles entries and the
/// reflected files they name. Keys the injection created and left empty are removed too, so the
/// hives' logical content returns to what it was (except `UpdateDate`, which records the change;
/// `records/prune.rs` says how the created keys are found).
/// The FileRepository folder and `Windows/INF/oemN.inf` are the committer's.
pub fn removal_records(
    db: Option<&Hive>,
    db_file: HiveFile,
    system: &Hive,
    software: Option<&Hive>,
    published: &str,
) -> Result<PackageRecords, RecordError> {
    let n = oem_number(published).ok_or_else(|| RecordError::PublishedName(published.into()))?;
    let mut out = PackageRecords::default();
    let mut found = false;
    if let Some(db) = db {
        found |= remove_db(db, db_file, published, Some(n), &mut out)?;
    }
    if db_file != HiveFile::System {
        found |= remove_db(system, HiveFile::System, published, None, &mut out)?;
    }
    found |= remove_services(system, software, published, &mut out)?;
    if !found {
        return Err(RecordError::NotInstalled {
            hive: db_file.image_path().into(),
            published: published.into(),
        });
    }
    // Keys the injection created on the way to its records, now empty.
    let mut hives: Vec<(&Hive, HiveFile)> = vec![(system, HiveFile::System)];
    if let Some(db) = db
        && db_file != HiveFile::System
    {
        hives.push((db, db_file));
    }
    if let Some(sw) = software {
        hives.push((sw, HiveFile::Software));
    }
    for (hive, file) in hives {
        prune(hive, file, &mut out.hives).map_err(hive_err(file.image_path()))?;
    }
    Ok(out)
}

/// DriverDatabase records in one hive; `oem` set for the database of record (it owns
/// `OemInfMap` and `UpdateDate`).
fn remove_db(
    hive: &Hive,
    file: HiveFile,
    published: &str,
    oem: Option<u32>,
    out: &mut PackageRecords,
) -> Result<bool, RecordError> {
    let err = hive_err(file.image_path());
    let inf_key = join_key(&[DRIVER_DATABASE, "DriverInfFiles", published]);
    let Some(inf) = opt_key(hive, &inf_key).map_err(&err)? else {
        return Ok(false);
    };
    let mut packages = multi_value(&inf, "").map_err(&err)?;
    if let Some(a) = string_value(&inf, "Active").map_err(&err)?
        && !packages.iter().any(|p| p.eq_ignore_ascii_case(&a))
    {
        packages.push(a);
    }
    let mut ids: Vec<String> = Vec::new();
    let mut ops = Ops {
        hive: file,
        out: &mut out.hives,
    };
    for pkg in &packages {
        let pkg_key = join_key(&[DRIVER_DATABASE, "DriverPackages", pkg]);
        let Some(k) = opt_key(hive, &pkg_key).map_err(&err)? else {
            continue;
        };
        // Only a record published under this name is ours to remove.
        let owner = string_value(&k, "").map_err(&err)?.unwrap_or_default();
        if !owner.eq_ignore_ascii_case(published) {
            continue;
        }
        if let Some(d) = k.subkey("Descriptors").map_err(&err)? {
            collect_ids(&d, String::new(), 0, &mut ids).map_err(&err)?;
        }
        if let Some(v) = k.value("Version").map_err(&err)?
            && v.data.len() == 48
        {
            let mut g = [0u8; 16];
            g.copy_from_slice(&v.data[8..24]);
            ids.push(guid_text(&g));
        }
        ops.push(RegOp::DeleteKey { key: pkg_key });
    }
    ops.push(RegOp::DeleteKey { key: inf_key });
    let base = join_key(&[DRIVER_DATABASE, "DeviceIds"]);
    remove_values(hive, &base, &ids, published, &mut ops).map_err(&err)?;
    if let (Some(n), Some(db)) = (oem, opt_key(hive, DRIVER_DATABASE).map_err(&err)?) {
        if let Some(map) = db.value("OemInfMap").map_err(&err)? {
            let cleared = set_oem_bit(&map.data, n, false);
            ops.value(DRIVER_DATABASE, "OemInfMap", ValueType::BINARY, cleared);
        }
        // The one value the removal does not restore. §1.5: `UpdateDate` is the "FILETIME of
        // last change" of the database, and the removal is a change of it. The value before the
        // injection is not in the image (the injection overwrote it, or created it), and writing
        // an older time, or deleting it, would tell a reader that compares the stamp with the one
        // it saw last (what a last-change stamp is for) that nothing changed since — while the
        // package it may have seen in between is gone. So it becomes the time of the removal.
        if db.value("UpdateDate").map_err(&err)?.is_some() {
            let now = filetime_now().to_le_bytes().to_vec();
            ops.value(DRIVER_DATABASE, "UpdateDate", ValueType::BINARY, now);
        }
    }
    Ok(true)
}

/// Every `Descriptors\<id>` leaf (a key with a `Configuration` value), as `\`-joined IDs.
fn collect_ids(
    k: &Key<'_>,
    path: String,
    depth: usize,
    out: &mut Vec<String>,
) -> crate::hive::Result<()> {
    if depth > 32 {
        return Ok(());
    }
    if !path.is_empty() && k.value("Configuration")?.is_some() {
        out.push(path.clone());
    }
    for c in k.subkeys()? {
        let p = join_key(&[&path, c.name()]);
        collect_ids(&c, p, depth + 1, out)?;
    }
    Ok(())
}

/// Deletes the value `name` under `base\<id>` for each ID that has it; the keys this leaves
/// empty are [`prune`]d with the rest.
fn remove_values(
    hive: &Hive,
    base: &str,
    ids: &[String],
    name: &str,
    ops: &mut Ops<'_>,
) -> crate::hive::Result<()> {
    let mut seen = BTreeSet::new();
    for id in ids {
        let path = join_key(&[base, id]);
        if !seen.insert(path.to_uppercase()) {
            continue;
        }
        let Some(k) = opt_key(hive, &path)? else {
            continue;
        };
        if k.value(name)?.is_none() {
            continue;
        }
        ops.push(RegOp::DeleteValue {
            key: path,
            name: name.into(),
        });
    }
    Ok(())
}

/// Service keys whose `Owners` name the package, their event-log sources, CDDB entries,
/// PnpLockdownFiles entries and reflected files.
fn remove_services(
    system: &Hive,
    software: Option<&Hive>,
    published: &str,
    out: &mut PackageRecords,
) -> Result<bool, RecordError> {
    let err = hive_err(HiveFile::System.image_path());
    let current = opt_key(system, "Select")
        .map_err(&err)?
        .map(|k| k.value("Current"))
        .transpose()
        .map_err(&err)?
        .flatten()
        .and_then(|v| match v.decode() {
            Decoded::Dword(n) => Some(n),
            _ => None,
        })
        .ok_or_else(|| RecordError::BadRecord {
            hive: HiveFile::System.image_path().into(),
            key: r"Select\Current".into(),
            msg: "missing or not a REG_DWORD: the current control set is unknown".into(),
        })?;
    let cs = control_set_key(current);
    let mut found = false;
    let mut removed: Vec<String> = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut ops = Ops {
        hive: HiveFile::System,
        out: &mut out.hives,
    };
    let services_key = join_key(&[&cs, "Services"]);
    if let Some(services) = opt_key(system, &services_key).map_err(&err)? {
        for svc in services.subkeys().map_err(&err)? {
            let owners = multi_value(&svc, "Owners").map_err(&err)?;
            if !owners.iter().any(|o| o.eq_ignore_ascii_case(published)) {
                continue;
            }
            found = true;
            let key = join_key(&[&services_key, svc.name()]);
            let rest: Vec<&String> = owners
                .iter()
                .filter(|o| !o.eq_ignore_ascii_case(published))
                .collect();
            if !rest.is_empty() {
                ops.multi(&key, "Owners", &rest);
                continue;
            }
            ops.push(RegOp::DeleteKey { key });
            removed.push(svc.name().to_string());
            if let Some(path) = string_value(&svc, "ImagePath").map_err(&err)?
                && let Some(f) = reflected_file(&path)
            {
                files.insert(f);
            }
        }
        if let Some(logs) = services.subkey("EventLog").map_err(&err)? {
            for log in logs.subkeys().map_err(&err)? {
                for name in &removed {
                    if log.subkey(name).map_err(&err)?.is_some() {
                        let key = join_key(&[&services_key, "EventLog", log.name(), name]);
                        ops.push(RegOp::DeleteKey { key });
                    }
                }
            }
        }
    }
    let cddb_key = join_key(&[&cs, "Control", "CriticalDeviceDatabase"]);
    if !removed.is_empty()
        && let Some(cddb) = opt_key(system, &cddb_key).map_err(&err)?
    {
        for entry in cddb.subkeys().map_err(&err)? {
            let svc = string_value(&entry, "Service")
                .map_err(&err)?
                .unwrap_or_default();
            if removed.iter().any(|r| r.eq_ignore_ascii_case(&svc)) {
                let key = join_key(&[&cddb_key, entry.name()]);
                ops.push(RegOp::DeleteKey { key });
            }
        }
    }
    if let Some(software) = software {
        let err = hive_err(HiveFile::Software.image_path());
        let mut sw = Ops {
            hive: HiveFile::Software,
            out: &mut out.hives,
        };
        if let Some(lock) = opt_key(software, PNP_LOCKDOWN_FILES).map_err(&err)? {
            for entry in lock.subkeys().map_err(&err)? {
                let owners = multi_value(&entry, "Owners").map_err(&err)?;
                if !owners.iter().any(|o| o.eq_ignore_ascii_case(published)) {
                    continue;
                }
                found = true;
                let key = join_key(&[PNP_LOCKDOWN_FILES, entry.name()]);
                let rest: Vec<&String> = owners
                    .iter()
                    .filter(|o| !o.eq_ignore_ascii_case(published))
                    .collect();
                if rest.is_empty() {
                    sw.push(RegOp::DeleteKey { key });
                    if let Some(f) = reflected_file(entry.name()) {
                        files.insert(f);
                    }
                } else {
                    sw.multi(&key, "Owners", &rest);
                }
            }
        }
    }
    out.files
        .extend(files.into_iter().map(|dest| FileOp::Remove { dest }));
    Ok(found)
}

/// The image path (`Windows/...`) of a reflected file named by an `ImagePath` or a
/// PnpLockdownFiles key: relative to SystemRoot, `%SystemRoot%\…` or `\SystemRoot\…`; files inside
/// the driver store are the committer's.
fn reflected_file(path: &str) -> Option<String> {
    let p = path.trim().replace('/', "\\");
    let p = p.split([' ', '\t']).next().unwrap_or_default();
    let lower = p.to_ascii_lowercase();
    let rel = ["%systemroot%\\", "\\systemroot\\"]
        .iter()
        .find_map(|pre| lower.starts_with(pre).then(|| &p[pre.len()..]))
        .unwrap_or(p);
    let rel_lower = rel.to_ascii_lowercase();
    if rel.is_empty()
        || rel.contains(':')
        || rel.starts_with('\\')
        || rel_lower.starts_with("system32\\driverstore\\")
        || rel.split('\\').any(|c| c == "..")
    {
        return None;
    }
    Some(format!("Windows/{}", rel.replace('\\', "/")))
}

fn guid_text(g: &[u8; 16]) -> String {
    let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
    let d2 = u16::from_le_bytes([g[4], g[5]]);
    let d3 = u16::from_le_bytes([g[6], g[7]]);
    let tail: String = g[8..].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{{{d1:08x}-{d2:04x}-{d3:04x}-{}-{}}}",
        &tail[..4],
        &tail[4..]
    )
}

pub(super) fn opt_key<'h>(hive: &'h Hive, path: &str) -> crate::hive::Result<Option<Key<'h>>> {
    match hive.key(path) {
        Ok(k) => Ok(Some(k)),
        Err(HiveError::KeyNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn string_value(k: &Key<'_>, name: &str) -> crate::hive::Result<Option<String>> {
    Ok(k.value(name)?.and_then(|v| match v.decode() {
        Decoded::String(s) => Some(s),
        _ => None,
    }))
}

pub(super) fn multi_value(k: &Key<'_>, name: &str) -> crate::hive::Result<Vec<String>> {
    Ok(match k.value(name)?.map(|v| v.decode()) {
        Some(Decoded::MultiString(v)) => v,
        Some(Decoded::String(s)) => vec![s],
        _ => Vec::new(),
    })
}

fn hive_err(hive: &str) -> impl Fn(HiveError) -> RecordError + '_ {
    move |source| RecordError::Hive {
        hive: hive.to_string(),
        source,
    }
}
