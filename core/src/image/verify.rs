//! `infuse image verify`: the DriverDatabase, `DriverStore/FileRepository` and `Windows/INF`
//! agree (windows-driver-internals.md §1.3, §1.5, §1.6).
//!
//! Checked, for every DriverDatabase the image has (the DRIVERS hive's and
//! `SYSTEM\DriverDatabase`):
//! - every `DriverInfFiles\<inf>` has `Windows/INF/<inf>`, an `Active` package that
//!   `DriverPackages` holds and that its `(default)` list names;
//! - every `DriverPackages\<pkg>` has the values of a complete record (`(default)` = its
//!   published INF, `InfName`, `Provider`, `SignerScore`, the 48-byte `Version`), and
//!   `FileRepository/<pkg>/` holds its INF;
//! - every `DeviceIds` value names an INF `DriverInfFiles` knows, with the 4-byte shape;
//! - `OemInfMap`'s bits are exactly the published `oem<N>.inf` numbers;
//! - the associated services of published packages exist in SYSTEM with their `ImagePath`
//!   file present in the image;
//! - orphans both ways: `Windows/INF/oem<N>.inf` without a record, `FileRepository` folders
//!   without a package, packages no INF refers to;
//! - on Windows 10+, what `SYSTEM\DriverDatabase` names must be in the DRIVERS hive too:
//!   virt-v2v's partial `guestor` records (§1.5, MTV-2256) live only in SYSTEM and lack the
//!   package values and files, which is what breaks `pnputil /enum-drivers`.
//!
//! - for published (`oem<N>.inf`) packages: every `Descriptors\<id>` of the Active package has
//!   its `DeviceIds\<id>` value and every `DeviceIds` value has a descriptor (§1.5: one key per
//!   hardware and compatible ID of the Models lines, both ways); `DeviceIds\{class guid}` names
//!   the package under the class GUID of its `Version` blob; a `DeviceIds` value of a published
//!   INF whose Active package is not in `DriverPackages`;
//! - `SOFTWARE\…\Setup\PnpLockdownFiles` entries (§1.7) naming files the image lacks, or owned
//!   by an `oem<N>.inf` the database does not hold;
//! - Windows 7 and older (no DriverDatabase, §1.4): each published package with a boot-start
//!   associated service has its `CriticalDeviceDatabase` entries (§1.6) naming that service, and
//!   every CDDB entry's service key exists;
//! - a pending `.infuse-txn/journal`: an interrupted infuse commit.
//!
//! A finding that both the DRIVERS hive and the `SYSTEM\DriverDatabase` mirror of a boot-critical
//! package show is reported once, naming both places.
//!
//! A clean image has no findings; `infuse image verify` exits 0 only then.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::ddb::{self, DdbError, DriverDb};
use super::{DriverDbLayout, Image, Reg};
use crate::stage::plan::HiveFile;

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable kebab-case name (`inf-missing`, `orphan-repository`, …).
    pub kind: &'static str,
    /// Which database or file it is about (`DRIVERS`, `SYSTEM`, `FileRepository`, `INF`).
    pub place: String,
    /// The published INF, package or file concerned.
    pub subject: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub image: std::path::PathBuf,
    pub layout: DriverDbLayout,
    /// (database, published INFs, packages, DeviceIds values) checked.
    pub checked: Vec<Checked>,
    pub findings: Vec<Finding>,
}

/// Counts for one database.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub database: String,
    pub inf_files: usize,
    pub packages: usize,
    pub device_id_values: usize,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// A verify that could not run (a hive key unreadable).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Ddb(#[from] DdbError),
    #[error("{path}: {key}: {msg}")]
    Hive {
        path: std::path::PathBuf,
        key: String,
        msg: String,
    },
    #[error("cannot list {dir}")]
    Io {
        dir: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

const REPO: &str = "Windows/System32/DriverStore/FileRepository";
const GUESTOR_HINT: &str = "this is virt-v2v's partial `guestor` record (MTV-2256): it breaks `pnputil /enum-drivers` and in-place upgrades; delete the keys as virt-v2v's contrib/remove-guestor.reg does";

/// Check the image's DriverDatabase(s) against its files.
pub fn verify(image: &Image) -> Result<VerifyReport, VerifyError> {
    let mut v = Verifier {
        image,
        findings: Vec::new(),
        checked: Vec::new(),
        known_packages: BTreeSet::new(),
    };
    let main = image.driver_database();
    let system = image.system_driver_database();
    let mut dbs: Vec<DriverDb<'_>> = Vec::new();
    dbs.extend(main);
    if let Some(s) = system
        && main.is_none_or(|m| m.which() != HiveFile::System)
    {
        dbs.push(s);
    }
    let mut published: BTreeSet<u32> = BTreeSet::new();
    for db in &dbs {
        let names = v.database(db)?;
        if Some(db.which()) == main.map(|m| m.which()) {
            published.extend(names.iter().filter_map(|n| ddb::oem_number(n)));
        }
    }
    // The SYSTEM mirror may only name what the full database (DRIVERS) holds.
    if let (Some(m), Some(s)) = (main, system)
        && m.which() != HiveFile::System
    {
        for name in s.inf_names()? {
            if m.inf_file(&name)?.is_none() {
                v.find(
                    "not-in-driver-database",
                    "SYSTEM",
                    &name,
                    format!(
                        "SYSTEM\\DriverDatabase\\DriverInfFiles\\{name} has no counterpart in the DRIVERS hive {}",
                        m.path().display()
                    ),
                    guestor_hint(&name, ""),
                );
            }
        }
    }
    v.orphans(&published)?;
    v.lockdown(&published)?;
    if image.info().driver_database == DriverDbLayout::Legacy {
        v.critical_device_database()?;
    }
    v.pending_journal();
    v.merge_mirrored();
    Ok(VerifyReport {
        image: image.root().to_path_buf(),
        layout: image.info().driver_database,
        checked: v.checked,
        findings: v.findings,
    })
}

/// A published INF's Active package, as its `DeviceIds` values must reflect it.
struct Published {
    name: String,
    active: String,
    /// `DriverPackages\<active>` exists.
    present: bool,
    /// Upper-cased `Descriptors` IDs of the Active package.
    descriptors: BTreeSet<String>,
    /// … and of every package imported under the name.
    any_descriptors: BTreeSet<String>,
    /// Lower-cased `{guid}` of its `Version` blob.
    class_guid: Option<String>,
    /// Upper-cased IDs whose `DeviceIds` value names it.
    seen: BTreeSet<String>,
    class_seen: bool,
    package_missing_reported: bool,
}

struct Verifier<'i> {
    image: &'i Image,
    findings: Vec<Finding>,
    checked: Vec<Checked>,
    /// Lower-cased package ids some database holds.
    known_packages: BTreeSet<String>,
}

fn place(db: &DriverDb<'_>) -> String {
    match db.which() {
        HiveFile::Drivers => "DRIVERS".to_owned(),
        HiveFile::System => "SYSTEM".to_owned(),
        HiveFile::Software => "SOFTWARE".to_owned(),
    }
}

fn guestor_hint(name: &str, pkg: &str) -> Option<String> {
    let n = name.to_ascii_lowercase();
    (n == "guestor.inf" || pkg.to_ascii_lowercase().starts_with("guestor.inf_"))
        .then(|| GUESTOR_HINT.to_owned())
}

impl Verifier<'_> {
    fn find(
        &mut self,
        kind: &'static str,
        place: &str,
        subject: &str,
        message: String,
        hint: Option<String>,
    ) {
        self.findings.push(Finding {
            kind,
            place: place.to_owned(),
            subject: subject.to_owned(),
            message,
            hint,
        });
    }

    fn exists(&self, rel: &str) -> bool {
        self.image.resolve(rel).is_ok_and(|p| p.exists())
    }

    /// Check one database; returns its published INF names.
    fn database(&mut self, db: &DriverDb<'_>) -> Result<Vec<String>, VerifyError> {
        let at = place(db);
        let names = db.inf_names()?;
        let ids = db.package_ids()?;
        let mut referenced: HashMap<String, String> = HashMap::new();
        // Published INFs (lower-cased) → what their DeviceIds values must agree with.
        let mut published: HashMap<String, Published> = HashMap::new();
        for name in &names {
            let Some(rec) = db.inf_file(name)? else {
                continue;
            };
            let active = rec.active.clone().unwrap_or_default();
            let hint = guestor_hint(name, &active);
            if !self.exists(&format!("Windows/INF/{name}")) {
                self.find(
                    "inf-missing",
                    &at,
                    name,
                    format!("DriverInfFiles\\{name} has no Windows/INF/{name}"),
                    hint.clone(),
                );
            }
            for p in &rec.packages {
                referenced.insert(p.to_ascii_lowercase(), name.clone());
            }
            match &rec.active {
                None => self.find(
                    "active-missing",
                    &at,
                    name,
                    format!("DriverInfFiles\\{name} has no `Active` package"),
                    hint.clone(),
                ),
                Some(a) => {
                    referenced.insert(a.to_ascii_lowercase(), name.clone());
                    if !rec.packages.iter().any(|p| p.eq_ignore_ascii_case(a)) {
                        self.find(
                            "active-not-listed",
                            &at,
                            name,
                            format!(
                                "DriverInfFiles\\{name}: Active `{a}` is not in its (default) package list"
                            ),
                            hint.clone(),
                        );
                    }
                    let pkg = db.package(a)?;
                    if ddb::oem_number(name).is_some() {
                        let mut any: BTreeSet<String> = BTreeSet::new();
                        for other in &rec.packages {
                            if let Some(o) = db.package(other)? {
                                any.extend(o.descriptors.iter().map(|d| d.to_uppercase()));
                            }
                        }
                        published.insert(
                            name.to_ascii_lowercase(),
                            Published {
                                name: name.clone(),
                                active: a.clone(),
                                present: pkg.is_some(),
                                descriptors: pkg
                                    .as_ref()
                                    .map(|p| {
                                        p.descriptors.iter().map(|d| d.to_uppercase()).collect()
                                    })
                                    .unwrap_or_default(),
                                any_descriptors: any,
                                class_guid: pkg
                                    .as_ref()
                                    .and_then(|p| p.version)
                                    .map(|v| ddb::guid_string(&v.class_guid).to_ascii_lowercase()),
                                seen: BTreeSet::new(),
                                class_seen: false,
                                package_missing_reported: false,
                            },
                        );
                    }
                    match pkg {
                        None => self.find(
                            "active-package-missing",
                            &at,
                            name,
                            format!(
                                "DriverInfFiles\\{name}: Active `{a}` has no DriverPackages key"
                            ),
                            hint.clone(),
                        ),
                        Some(p) => {
                            if let Some(pub_name) = &p.published
                                && !pub_name.eq_ignore_ascii_case(name)
                            {
                                self.find(
                                    "package-published-mismatch",
                                    &at,
                                    a,
                                    format!(
                                        "DriverPackages\\{a} says it is published as `{pub_name}`, but DriverInfFiles\\{name} names it"
                                    ),
                                    None,
                                );
                            }
                            if ddb::oem_number(name).is_some() {
                                self.services(&at, name, &p.services);
                            }
                        }
                    }
                }
            }
        }
        for id in &ids {
            self.known_packages.insert(id.to_ascii_lowercase());
            let Some(p) = db.package(id)? else { continue };
            let owner = referenced.get(&id.to_ascii_lowercase()).cloned();
            let hint = guestor_hint(owner.as_deref().unwrap_or(""), id);
            let mut missing: Vec<&str> = Vec::new();
            if p.published.is_none() {
                missing.push("(default)");
            }
            if p.inf_name.is_none() {
                missing.push("InfName");
            }
            if p.provider.is_none() {
                missing.push("Provider");
            }
            if p.signer_score.is_none() {
                missing.push("SignerScore");
            }
            if p.version.is_none() && p.version_error.is_none() {
                missing.push("Version");
            }
            if !missing.is_empty() {
                self.find(
                    "package-incomplete",
                    &at,
                    id,
                    format!("DriverPackages\\{id} lacks {}", missing.join(", ")),
                    hint.clone(),
                );
            }
            if let Some(e) = &p.version_error {
                self.find(
                    "version-malformed",
                    &at,
                    id,
                    format!("DriverPackages\\{id}: {e}"),
                    hint.clone(),
                );
            }
            let folder = format!("{REPO}/{id}");
            if id.contains('/') || super::path::check(id).is_err() {
                self.find(
                    "package-name-invalid",
                    &at,
                    id,
                    format!("DriverPackages\\{id} is not a valid folder name"),
                    hint.clone(),
                );
            } else if !self.exists(&folder) {
                self.find(
                    "repository-missing",
                    &at,
                    id,
                    format!("DriverPackages\\{id} has no {folder}/"),
                    hint.clone(),
                );
            } else if let Some(inf) = &p.inf_name
                && !self.exists(&format!("{folder}/{inf}"))
            {
                self.find(
                    "repository-inf-missing",
                    &at,
                    id,
                    format!("{folder}/ has no {inf}"),
                    None,
                );
            }
            if owner.is_none() {
                self.find(
                    "orphan-package",
                    &at,
                    id,
                    format!("DriverPackages\\{id} is named by no DriverInfFiles entry"),
                    hint,
                );
            }
        }
        let known: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let mut values = 0;
        for (id, vals) in db.all_device_ids()? {
            let class_key = id.starts_with('{');
            for val in vals {
                values += 1;
                if val.name.is_empty() {
                    continue;
                }
                if !known.contains(&val.name.to_ascii_lowercase()) {
                    self.find(
                        "device-id-unknown-inf",
                        &at,
                        &val.name,
                        format!(
                            "DeviceIds\\{id} names `{}`, which DriverInfFiles does not hold",
                            val.name
                        ),
                        guestor_hint(&val.name, ""),
                    );
                } else if let Some(p) = published.get_mut(&val.name.to_ascii_lowercase()) {
                    let key = format!("DriverDatabase\\DeviceIds\\{id}");
                    if !p.present {
                        if !p.package_missing_reported {
                            p.package_missing_reported = true;
                            self.find(
                                "device-id-package-missing",
                                &at,
                                &p.name,
                                format!(
                                    "{key} names `{}`, whose Active package `{}` is not in DriverDatabase\\DriverPackages",
                                    p.name, p.active
                                ),
                                None,
                            );
                        }
                    } else if class_key {
                        let guid = id.to_ascii_lowercase();
                        if p.class_guid.as_ref().is_none_or(|g| *g == guid) {
                            p.class_seen = true;
                        } else {
                            self.find(
                                "class-guid-mismatch",
                                &at,
                                &p.name,
                                format!(
                                    "{key} lists `{}`, but DriverPackages\\{}\\Version says class {}",
                                    p.name,
                                    p.active,
                                    p.class_guid.clone().unwrap_or_default()
                                ),
                                None,
                            );
                        }
                    } else if !p.any_descriptors.contains(&id.to_uppercase()) {
                        self.find(
                            "device-id-without-descriptor",
                            &at,
                            &p.name,
                            format!(
                                "{key}\\{} has no DriverPackages\\{}\\Descriptors\\{id}",
                                p.name, p.active
                            ),
                            None,
                        );
                    } else {
                        p.seen.insert(id.to_uppercase());
                    }
                    if !class_key && ddb::device_id_entry(&id, &val).is_none() {
                        self.find(
                            "device-id-malformed",
                            &at,
                            &val.name,
                            format!(
                                "DeviceIds\\{id}\\{} is {} of {} bytes, not 4 bytes of REG_BINARY",
                                val.name,
                                val.kind,
                                val.data.len()
                            ),
                            None,
                        );
                    }
                } else if !class_key && ddb::device_id_entry(&id, &val).is_none() {
                    self.find(
                        "device-id-malformed",
                        &at,
                        &val.name,
                        format!(
                            "DeviceIds\\{id}\\{} is {} of {} bytes, not 4 bytes of REG_BINARY",
                            val.name,
                            val.kind,
                            val.data.len()
                        ),
                        None,
                    );
                }
            }
        }
        let mut published: Vec<Published> = published.into_values().collect();
        published.sort_by(|a, b| a.name.cmp(&b.name));
        for p in published.iter().filter(|p| p.present) {
            for d in p.descriptors.difference(&p.seen) {
                self.find(
                    "descriptor-without-device-id",
                    &at,
                    &p.name,
                    format!(
                        "DriverDatabase\\DriverPackages\\{}\\Descriptors\\{d} has no DriverDatabase\\DeviceIds\\{d}\\{} value",
                        p.active, p.name
                    ),
                    None,
                );
            }
            if let Some(g) = &p.class_guid
                && !p.class_seen
            {
                self.find(
                    "class-guid-missing",
                    &at,
                    &p.name,
                    format!(
                        "DriverDatabase\\DeviceIds\\{g} has no `{}` value (the package's setup class, §1.5)",
                        p.name
                    ),
                    None,
                );
            }
        }
        self.oem_inf_map(db, &at, &names)?;
        self.checked.push(Checked {
            database: format!("{at} {}", db.path().display()),
            inf_files: names.len(),
            packages: ids.len(),
            device_id_values: values,
        });
        Ok(names)
    }

    fn oem_inf_map(
        &mut self,
        db: &DriverDb<'_>,
        at: &str,
        names: &[String],
    ) -> Result<(), VerifyError> {
        // On Windows 10+ SYSTEM\DriverDatabase mirrors only boot-critical packages (§1.4): the
        // allocation bitmap that counts is the DRIVERS hive's.
        if db.which() == HiveFile::System
            && self.image.info().driver_database == DriverDbLayout::DriversHive
        {
            return Ok(());
        }
        let want: BTreeSet<u32> = names.iter().filter_map(|n| ddb::oem_number(n)).collect();
        let have: BTreeSet<u32> = match db.oem_inf_map()? {
            Some(m) => ddb::oem_inf_map_numbers(&m).into_iter().collect(),
            None if want.is_empty() => {
                return Ok(());
            }
            None => BTreeSet::new(),
        };
        if want != have {
            let fmt = |s: &BTreeSet<u32>| {
                s.iter()
                    .map(|n| format!("oem{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.find(
                "oem-inf-map",
                at,
                "OemInfMap",
                format!(
                    "OemInfMap marks [{}] but DriverInfFiles holds [{}]",
                    fmt(&have),
                    fmt(&want)
                ),
                None,
            );
        }
        Ok(())
    }

    /// Whether the published INF `inf` installs `svc` as a boot-start associated service (§1.2),
    /// i.e. the package is reflected and its service key must exist offline. An unreadable INF
    /// counts as boot-start, so the service check still runs (the INF's absence is its own finding).
    fn boot_start_service(&self, inf: &str, svc: &str) -> bool {
        let Ok(path) = self.image.resolve(&format!("Windows/INF/{inf}")) else {
            return true;
        };
        let Ok(bytes) = std::fs::read(&path) else {
            return true;
        };
        let parsed = infuse_driver_store::inf::parse_with(
            &bytes,
            &infuse_driver_store::store::package::parse_options(),
        );
        let model = infuse_driver_store::inf::model::Model::new(&parsed);
        model.installs.iter().any(|i| {
            i.services
                .iter()
                .any(|s| s.name.eq_ignore_ascii_case(svc) && s.is_boot_start())
        })
    }

    fn services(&mut self, at: &str, inf: &str, services: &[(String, String)]) {
        let Some(sys) = self.image.hive(HiveFile::System) else {
            return;
        };
        let Some(path) = self.image.hive_path(HiveFile::System) else {
            return;
        };
        let reg = Reg { hive: sys, path };
        for (_, svc) in services {
            let key = self.image.control_set_key(&format!(r"Services\{svc}"));
            if sys.key(&key).is_err() {
                // A staged package has no service key until PnP installs it at first boot
                // (windows-driver-internals.md §1.1: only boot-critical packages are reflected);
                // only a reflected one (a boot-start associated service) must have it.
                if !self.boot_start_service(inf, svc) {
                    continue;
                }
                self.find(
                    "service-missing",
                    at,
                    inf,
                    format!("{inf}'s associated service `{svc}` has no SYSTEM\\{key}"),
                    None,
                );
                continue;
            }
            let image_path = reg.string(&key, "ImagePath").ok().flatten();
            match image_path.as_deref().map(image_path_rel) {
                None => self.find(
                    "service-image-path-missing",
                    at,
                    inf,
                    format!("SYSTEM\\{key} has no ImagePath"),
                    None,
                ),
                Some(None) => self.find(
                    "service-binary-outside",
                    at,
                    inf,
                    format!(
                        "SYSTEM\\{key}\\ImagePath `{}` is not a path inside the image",
                        image_path.unwrap_or_default()
                    ),
                    None,
                ),
                Some(Some(rel)) if !self.exists(&rel) => self.find(
                    "service-binary-missing",
                    at,
                    inf,
                    format!("SYSTEM\\{key}\\ImagePath names {rel}, which is not in the image"),
                    None,
                ),
                Some(Some(_)) => {}
            }
        }
    }

    /// `.infuse-txn/journal` exists: a commit passed its commit point and was interrupted
    /// before it finished (stage/commit.rs). verify only reads; the next command that takes
    /// the image lock redoes it from the journal.
    fn pending_journal(&mut self) {
        let rel = format!("{}/journal", crate::stage::commit::TXN_DIR);
        let path = self.image.root().join(&rel);
        if path.is_file() {
            self.find(
                "pending-journal",
                "image",
                &rel,
                format!(
                    "{}: an infuse commit was interrupted after its commit point: some of its file renames and removals may not be done, so what this check read may be half-changed",
                    path.display()
                ),
                Some(
                    "run `infuse image remove-driver` or `infuse inject` (without --plan) on the image: any infuse command that takes the image lock finishes the commit from the journal first; then verify again"
                        .to_owned(),
                ),
            );
        }
    }

    /// One finding for what both the DRIVERS hive and the `SYSTEM\DriverDatabase` mirror of a
    /// boot-critical package show (the same kind, subject and message).
    fn merge_mirrored(&mut self) {
        let mut out: Vec<Finding> = Vec::with_capacity(self.findings.len());
        for f in std::mem::take(&mut self.findings) {
            let twin = out.iter_mut().find(|o| {
                o.kind == f.kind
                    && o.subject == f.subject
                    && o.message == f.message
                    && o.place == "DRIVERS"
                    && f.place == "SYSTEM"
            });
            match twin {
                Some(o) => {
                    o.place = "DRIVERS, SYSTEM".to_owned();
                    o.message = format!(
                        "{} (in the DRIVERS hive and in its SYSTEM\\DriverDatabase mirror)",
                        o.message
                    );
                }
                None => out.push(f),
            }
        }
        self.findings = out;
    }

    /// `PnpLockdownFiles` (§1.7): each entry's file exists; an `oem<N>.inf` owner is published.
    fn lockdown(&mut self, published: &BTreeSet<u32>) -> Result<(), VerifyError> {
        let Some(sw) = self.image.hive(HiveFile::Software) else {
            return Ok(());
        };
        let path = self
            .image
            .hive_path(HiveFile::Software)
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let base = crate::stage::records::PNP_LOCKDOWN_FILES;
        let err = |key: &str, e: crate::hive::HiveError| VerifyError::Hive {
            path: path.clone(),
            key: key.to_owned(),
            msg: e.to_string(),
        };
        let lock = match sw.key(base) {
            Ok(k) => k,
            Err(crate::hive::HiveError::KeyNotFound { .. }) => return Ok(()),
            Err(e) => return Err(err(base, e)),
        };
        let legacy = self.image.info().driver_database == DriverDbLayout::Legacy;
        for entry in lock.subkeys().map_err(|e| err(base, e))? {
            let name = entry.name().to_owned();
            let key = format!("SOFTWARE\\{base}\\{name}");
            match image_path_rel(&name.replace('/', "\\")) {
                Some(rel) if !self.exists(&rel) => self.find(
                    "lockdown-file-missing",
                    "SOFTWARE",
                    &name,
                    format!("{key} names {rel}, which is not in the image"),
                    None,
                ),
                Some(_) => {}
                None => self.find(
                    "lockdown-file-outside",
                    "SOFTWARE",
                    &name,
                    format!("{key} is not a path inside the image"),
                    None,
                ),
            }
            let owners = match entry
                .value("Owners")
                .map_err(|e| err(&key, e))?
                .map(|v| v.decode())
            {
                Some(crate::hive::Decoded::MultiString(v)) => v,
                Some(crate::hive::Decoded::String(s)) => vec![s],
                _ => Vec::new(),
            };
            for o in owners {
                if let Some(n) = ddb::oem_number(&o)
                    && !legacy
                    && !published.contains(&n)
                {
                    self.find(
                        "lockdown-owner-unknown",
                        "SOFTWARE",
                        &name,
                        format!("{key}\\Owners names `{o}`, which DriverInfFiles does not hold"),
                        None,
                    );
                }
            }
        }
        Ok(())
    }

    /// Windows 7 and older (§1.6): a published package whose associated service starts at boot
    /// is bound to its devices by `CriticalDeviceDatabase\<id with # for \>` {Service,
    /// ClassGUID}; every CDDB entry's service must exist (a missing one is a 0x7B at boot).
    fn critical_device_database(&mut self) -> Result<(), VerifyError> {
        let Some(sys) = self.image.hive(HiveFile::System) else {
            return Ok(());
        };
        let Some(path) = self.image.hive_path(HiveFile::System) else {
            return Ok(());
        };
        let reg = Reg { hive: sys, path };
        let cddb = self
            .image
            .control_set_key(r"Control\CriticalDeviceDatabase");
        let services = self.image.control_set_key("Services");
        let entries: Vec<String> = match sys.key(&cddb) {
            Ok(k) => k
                .subkeys()
                .map_err(|e| VerifyError::Hive {
                    path: path.to_path_buf(),
                    key: cddb.clone(),
                    msg: e.to_string(),
                })?
                .iter()
                .map(|c| c.name().to_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        for e in &entries {
            let key = format!("{cddb}\\{e}");
            if let Some(svc) = reg.string(&key, "Service").ok().flatten()
                && !svc.is_empty()
                && sys.key(&format!("{services}\\{svc}")).is_err()
            {
                self.find(
                    "cddb-service-missing",
                    "SYSTEM",
                    e,
                    format!("SYSTEM\\{key} names service `{svc}`, which has no SYSTEM\\{services}\\{svc}"),
                    None,
                );
            }
        }
        for pkg in super::drivers::legacy_packages(self.image) {
            let mut checked: BTreeSet<String> = BTreeSet::new();
            for (id, svc) in &pkg.critical_ids {
                let entry = id.replace('\\', "#");
                let key = format!("{cddb}\\{entry}");
                let have = reg.string(&key, "Service").ok().flatten();
                if !have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(svc)) {
                    self.find(
                        "cddb-missing",
                        "SYSTEM",
                        &pkg.entry.published_name,
                        match have {
                            None => format!(
                                "{}: boot-start service `{svc}` for {id} has no SYSTEM\\{key}",
                                pkg.entry.published_name
                            ),
                            Some(h) => format!(
                                "{}: SYSTEM\\{key}\\Service is `{h}`, not its boot-start service `{svc}`",
                                pkg.entry.published_name
                            ),
                        },
                        None,
                    );
                }
                if checked.insert(svc.to_ascii_lowercase())
                    && sys.key(&format!("{services}\\{svc}")).is_err()
                {
                    self.find(
                        "service-missing",
                        "SYSTEM",
                        &pkg.entry.published_name,
                        format!(
                            "{}'s boot-start service `{svc}` has no SYSTEM\\{services}\\{svc}",
                            pkg.entry.published_name
                        ),
                        None,
                    );
                }
            }
        }
        Ok(())
    }

    fn orphans(&mut self, published: &BTreeSet<u32>) -> Result<(), VerifyError> {
        let list = |rel: &str| -> Result<Vec<String>, VerifyError> {
            let dir = self.image.resolve(rel).map_err(|e| VerifyError::Io {
                dir: self.image.root().join(rel),
                source: std::io::Error::other(e.to_string()),
            })?;
            if !dir.is_dir() {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            for e in std::fs::read_dir(&dir).map_err(|source| VerifyError::Io {
                dir: dir.clone(),
                source,
            })? {
                let e = e.map_err(|source| VerifyError::Io {
                    dir: dir.clone(),
                    source,
                })?;
                if let Some(n) = e.file_name().to_str() {
                    out.push(n.to_owned());
                }
            }
            out.sort();
            Ok(out)
        };
        if self.image.info().driver_database != DriverDbLayout::Legacy {
            for name in list("Windows/INF")? {
                if let Some(n) = ddb::oem_number(&name)
                    && !published.contains(&n)
                {
                    self.find(
                        "orphan-inf",
                        "INF",
                        &name,
                        format!("Windows/INF/{name} has no DriverInfFiles record"),
                        None,
                    );
                }
            }
            for dir in list(REPO)? {
                if !self.known_packages.contains(&dir.to_ascii_lowercase()) {
                    self.find(
                        "orphan-repository",
                        "FileRepository",
                        &dir,
                        format!("{REPO}/{dir}/ has no DriverPackages record"),
                        None,
                    );
                }
            }
        }
        Ok(())
    }
}

/// An image-relative path for a service `ImagePath` (§1.6: `System32\drivers\x.sys` relative
/// to the Windows folder, `\SystemRoot\…`, `%SystemRoot%\…`, `\??\C:\…`), or `None` when it
/// points elsewhere (another drive, a UNC path).
pub fn image_path_rel(image_path: &str) -> Option<String> {
    let p = image_path.trim().trim_matches('"');
    let lower = p.to_ascii_lowercase();
    let windows_rel = ["\\systemroot\\", "%systemroot%\\", "%windir%\\"]
        .iter()
        .find_map(|pre| lower.starts_with(pre).then(|| &p[pre.len()..]));
    let rel = if let Some(r) = windows_rel {
        format!("Windows/{r}")
    } else if let Some(r) = ["\\??\\c:\\", "c:\\"]
        .iter()
        .find_map(|pre| lower.starts_with(pre).then(|| &p[pre.len()..]))
    {
        r.to_owned()
    } else if p.starts_with('\\') || p.contains(':') || p.starts_with('%') {
        return None;
    } else {
        // A relative ImagePath is relative to SystemRoot.
        format!("Windows/{p}")
    };
    let rel = rel.replace('\\', "/");
    super::path::check(&rel).ok()?;
    Some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_map_into_the_image() {
        // §1.6: virt-v2v writes `system32\drivers\<drv>.sys`; Windows also writes
        // `\SystemRoot\System32\drivers\x.sys` and `%SystemRoot%\...`.
        assert_eq!(
            image_path_rel(r"system32\drivers\viostor.sys").as_deref(),
            Some("Windows/system32/drivers/viostor.sys")
        );
        assert_eq!(
            image_path_rel(r"\SystemRoot\System32\drivers\x.sys").as_deref(),
            Some("Windows/System32/drivers/x.sys")
        );
        assert_eq!(
            image_path_rel(r"%SystemRoot%\System32\DriverStore\FileRepository\a_amd64_0\x.sys")
                .as_deref(),
            Some("Windows/System32/DriverStore/FileRepository/a_amd64_0/x.sys")
        );
        assert_eq!(
            image_path_rel(r"\??\C:\Program Files\x\x.sys").as_deref(),
            Some("Program Files/x/x.sys")
        );
        assert_eq!(image_path_rel(r"\??\D:\x.sys"), None);
        assert_eq!(image_path_rel(r"\\server\share\x.sys"), None);
        assert_eq!(image_path_rel(r"system32\..\..\etc\x.sys"), None);
    }
}
