//! The DriverDatabase record of one package (windows-driver-internals.md §1.5) and its binary
//! formats: the 4-byte `DeviceIds` values, the 48-byte `Version` blob, `OemInfMap`.

use std::collections::HashMap;

use infuse_driver_store::inf::model::{
    Arch, InstallRegistry, RegAction, RegEntry, RegRoot, install_registry,
};

use super::{DRIVER_DATABASE, Ops, PackageInstall, RecordError, Selected, join_key, oem_number};
use crate::hive::ValueType;
use crate::stage::plan::{HiveFile, HiveOp};

/// `StatusFlags` as captured from real Windows ([DB]: 0x12; meaning UNCONFIRMED, §1.5). A search
/// of public code (find_string "StatusFlags", "L\"StatusFlags\"") found no reader or writer of
/// the DriverPackages value, only device-node status flags: no independent evidence; unchanged.
pub const STATUS_FLAGS: u32 = 0x12;
/// `ConfigScope` as captured from real Windows ([DB]: 7, §1.5). Independent evidence for the type
/// only: decompiled ntoskrnl `DrvDbGetConfigurationSubKeyCallback` (public repositories, found
/// with find_string "L\"ConfigScope\"") reads `ConfigScope` (or `ConfigFlags`) of each
/// `Configurations\<name>` with `PnpCtxRegQueryValue` and accepts it only as 4 bytes of type 4
/// (REG_DWORD), formatting `<name>:%X`. Nothing found confirms the value 7; unchanged.
pub const CONFIG_SCOPE: u32 = 7;

/// PROCESSOR_ARCHITECTURE_* of an INF architecture (Version blob bytes 2-3, §1.5: 9 = AMD64,
/// 0 x86, 5 ARM, 6 IA64, 12 ARM64).
pub fn processor_architecture(arch: Arch) -> u16 {
    match arch {
        Arch::X86 => 0,
        Arch::Arm => 5,
        Arch::Ia64 => 6,
        Arch::Amd64 => 9,
        Arch::Arm64 => 12,
    }
}

/// A `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` GUID in Windows byte order (first three groups
/// little-endian, the last eight bytes as written): `{4D36E97B-…}` → `7b e9 36 4d 25 e3 ce 11 …`.
pub fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    let t = text.trim();
    let t = t.strip_prefix('{').and_then(|t| t.strip_suffix('}'))?;
    let groups: Vec<&str> = t.split('-').collect();
    let [a, b, c, d, e] = groups.as_slice() else {
        return None;
    };
    if [a.len(), b.len(), c.len(), d.len(), e.len()] != [8, 4, 4, 4, 12]
        || !t.bytes().all(|x| x == b'-' || x.is_ascii_hexdigit())
    {
        return None;
    }
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&u32::from_str_radix(a, 16).ok()?.to_le_bytes());
    out[4..6].copy_from_slice(&u16::from_str_radix(b, 16).ok()?.to_le_bytes());
    out[6..8].copy_from_slice(&u16::from_str_radix(c, 16).ok()?.to_le_bytes());
    let tail = format!("{d}{e}");
    for (i, slot) in out[8..].iter_mut().enumerate() {
        *slot = u8::from_str_radix(tail.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// FILETIME (100 ns ticks since 1601-01-01 UTC) of a date at 00:00 UTC.
pub fn filetime_of_date(year: u16, month: u8, day: u8) -> u64 {
    // Days from 1970-01-01 (H. Hinnant's days_from_civil), then from 1601-01-01.
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days_1970 = era * 146_097 + doe - 719_468;
    let days_1601 = days_1970 + 134_774;
    (days_1601.max(0) as u64) * 864_000_000_000
}

/// The 48-byte `DriverPackages\<pkg>\Version` value (§1.5 table): `00 ff`, u16 architecture, 4
/// zero bytes, the class GUID, FILETIME of the DriverVer date, the packed version, 8 zero bytes.
pub fn version_blob(
    arch: Arch,
    class_guid: &[u8; 16],
    date_filetime: u64,
    version: u64,
) -> [u8; 48] {
    let mut b = [0u8; 48];
    b[1] = 0xFF;
    b[2..4].copy_from_slice(&processor_architecture(arch).to_le_bytes());
    b[8..24].copy_from_slice(class_guid);
    b[24..32].copy_from_slice(&date_filetime.to_le_bytes());
    b[32..40].copy_from_slice(&version.to_le_bytes());
    b
}

/// Sets oemN's bit in an `OemInfMap` (MSB-first: bit 7 of byte 0 is oem0, §1.3 INFERRED).
pub(crate) fn set_oem_bit(map: &[u8], n: u32, on: bool) -> Vec<u8> {
    let mut out = map.to_vec();
    let byte = (n / 8) as usize;
    if out.len() <= byte {
        if !on {
            return out;
        }
        out.resize(byte + 1, 0);
    }
    let mask = 0x80u8 >> (n % 8);
    if on {
        out[byte] |= mask;
    } else {
        out[byte] &= !mask;
        // A cleared tail is dropped again (the map grows only as far as the highest oemN).
        while out.len() > 1 && out.last() == Some(&0) {
            out.pop();
        }
    }
    out
}

/// One DriverDatabase `Configurations\<name>`.
struct Config {
    name: String,
    service: Option<String>,
    registry: InstallRegistry,
}

/// The DriverDatabase record of one package, ready to write into a hive.
pub(super) struct Record {
    published: String,
    pkg: String,
    /// (ID, value bytes) for `DeviceIds\<id>`.
    device_ids: Vec<(String, [u8; 4])>,
    class_guid_key: String,
    inf_files_default: Vec<String>,
    configs: Vec<Config>,
    /// (ID, configuration, description, manufacturer).
    descriptors: Vec<(String, String, String, String)>,
    strings: Vec<(String, String)>,
    package_values: Vec<(String, ValueType, Vec<u8>)>,
    oem_inf_map: Vec<u8>,
    update_date: u64,
}

impl Record {
    pub(super) fn build(
        input: &PackageInstall<'_>,
        sel: &Selected<'_>,
        notes: &mut Vec<String>,
    ) -> Result<Record, RecordError> {
        let inf = &input.inf_name;
        let v = &input.model.version;
        let missing = |field, hint| RecordError::MissingVersion {
            inf: inf.clone(),
            field,
            hint,
        };
        let guid_text = v.class_guid.as_deref().unwrap_or_default();
        let guid = guid_bytes(guid_text).ok_or_else(|| {
            missing(
                "ClassGuid",
                "a PnP driver package names its setup class as ClassGuid={...}",
            )
        })?;
        let driver_ver = v
            .driver_ver
            .ok_or_else(|| missing("DriverVer", "add DriverVer=mm/dd/yyyy,w.x.y.z"))?;
        let oem = oem_number(&input.published)
            .ok_or_else(|| RecordError::PublishedName(input.published.clone()))?;
        let tokens = StringTokens::new(input.inf);

        // DeviceIds and Descriptors: every hardware and compatible ID of the applicable entries.
        let mut ids: Vec<(String, [u8; 4])> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut descriptors = Vec::new();
        let mut strings: Vec<(String, String)> = Vec::new();
        let mut configs: Vec<Config> = Vec::new();
        for (entry, install) in &sel.entries {
            let feature = install.and_then(|i| i.feature_score).unwrap_or(0xFF);
            let config = install
                .and_then(|i| i.section.clone())
                .or_else(|| entry.install_section.clone())
                .unwrap_or_default();
            let mut ids_of_entry: Vec<(&str, u8, u16)> = Vec::new();
            if !entry.hardware_id.is_empty() {
                ids_of_entry.push((&entry.hardware_id, 1, 0));
            }
            for (k, c) in entry.compatible_ids.iter().enumerate() {
                ids_of_entry.push((c, 2, u16::try_from(k).unwrap_or(u16::MAX)));
            }
            let manufacturer = sel_manufacturer(input, entry.line);
            for (id, flag, k) in ids_of_entry {
                let key = id.to_ascii_uppercase();
                match index.get(&key) {
                    Some(&i) => {
                        let v = &mut ids[i].1;
                        // Flags OR together; the position is the lowest k seen as compatible ID.
                        if flag == 2 && (v[0] & 2 == 0 || k < u16::from_le_bytes([v[2], v[3]])) {
                            v[2..4].copy_from_slice(&k.to_le_bytes());
                        }
                        v[0] |= flag;
                    }
                    None => {
                        index.insert(key, ids.len());
                        let pos = if flag == 2 { k } else { 0 };
                        let [lo, hi] = pos.to_le_bytes();
                        ids.push((id.to_string(), [flag, feature, lo, hi]));
                        let desc = tokens.reference(&entry.description, &mut strings);
                        let mfg = tokens.reference(&manufacturer, &mut strings);
                        descriptors.push((id.to_string(), config.clone(), desc, mfg));
                    }
                }
            }
            if let Some(install) = install
                && !config.is_empty()
                && !configs.iter().any(|c| c.name.eq_ignore_ascii_case(&config))
            {
                let mut diags = Vec::new();
                let registry = install_registry(input.inf, install, &mut diags);
                for d in diags {
                    notes.push(format!("{inf}:{}: {}", d.line, d.message));
                }
                let services = registry.services.iter().flat_map(|s| &s.add_reg);
                for e in registry.hw.iter().chain(&registry.driver).chain(services) {
                    if e.root != RegRoot::Hkr {
                        notes.push(format!(
                            "{inf}:{}: [{}] {:?} entry left to PnP at first start (not part of \
                             the driver database record)",
                            e.line, e.section, e.root
                        ));
                    }
                }
                configs.push(Config {
                    name: config.clone(),
                    service: install
                        .services
                        .iter()
                        .find(|s| s.flags & 0x2 != 0 && !s.name.is_empty())
                        .map(|s| s.name.clone()),
                    registry,
                });
            }
        }

        let mut inf_files_default = input.previous_packages.clone();
        if !inf_files_default
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&input.repository))
        {
            inf_files_default.push(input.repository.clone());
        }
        let total: u64 = input.files.iter().map(|f| f.size).sum();
        let date = filetime_of_date(driver_ver.year, driver_ver.month, driver_ver.day);
        let blob = version_blob(input.target.arch, &guid, date, driver_ver.version_code());
        let mut package_values = vec![("".to_string(), ValueType::SZ, utf16(&input.published))];
        if let Some(cat) = v.catalog_for(input.target.arch) {
            package_values.push(("Catalog".into(), ValueType::SZ, utf16(&cat.name)));
        }
        // FileSize: REG_QWORD, meaning UNCONFIRMED (§1.5); we write the package's total size.
        // No public code reading it was found (find_string "FileSize" with DriverPackages).
        // SignerScore: decompiled ntoskrnl `DrvDbGetDriverPackageMappedPropertyKeys` (public
        // repositories, find_string "DrvDbGetDriverPackage") reads the package's score through
        // `DrvDbGetDriverPackageSignerScore` and compares it with 218103811 = 0x0D000003
        // (SIGNERSCORE_INBOX, §3.1): independent evidence that the value is the §3.1 signer score
        // as a DWORD. The 0x0F000000 / 0x80000000 choice for unverified packages stays unconfirmed.
        package_values.extend([
            (
                "FileSize".into(),
                ValueType::QWORD,
                total.to_le_bytes().to_vec(),
            ),
            (
                "ImportDate".into(),
                ValueType::BINARY,
                input.import_date.to_le_bytes().to_vec(),
            ),
            ("InfName".into(), ValueType::SZ, utf16(&input.inf_name)),
            ("OemPath".into(), ValueType::SZ, utf16(&input.oem_path)),
        ]);
        if let Some(p) = &v.provider {
            package_values.push(("Provider".into(), ValueType::SZ, utf16(p)));
        }
        package_values.extend([
            (
                "SignerName".into(),
                ValueType::SZ,
                utf16(&input.signer_name),
            ),
            (
                "SignerScore".into(),
                ValueType::DWORD,
                input.signer_score.to_le_bytes().to_vec(),
            ),
            (
                "StatusFlags".into(),
                ValueType::DWORD,
                STATUS_FLAGS.to_le_bytes().to_vec(),
            ),
            ("Version".into(), ValueType::BINARY, blob.to_vec()),
        ]);
        Ok(Record {
            published: input.published.clone(),
            pkg: input.repository.clone(),
            device_ids: ids,
            class_guid_key: guid_text.trim().to_ascii_lowercase(),
            inf_files_default,
            configs,
            descriptors,
            strings,
            package_values,
            oem_inf_map: set_oem_bit(&input.oem_inf_map, oem, true),
            update_date: input.import_date,
        })
    }

    /// Writes the record into `hive`; `globals` adds `OemInfMap` and `UpdateDate` (the database
    /// of record; the SYSTEM mirror of a boot-critical package gets the package records only).
    pub(super) fn write(&self, hive: HiveFile, globals: bool, out: &mut Vec<HiveOp>) {
        let mut ops = Ops { hive, out };
        let db = DRIVER_DATABASE;
        for (id, data) in &self.device_ids {
            let key = join_key(&[db, "DeviceIds", id]);
            ops.value(&key, &self.published, ValueType::BINARY, data.to_vec());
        }
        let class_key = join_key(&[db, "DeviceIds", &self.class_guid_key]);
        ops.value(&class_key, &self.published, ValueType::NONE, Vec::new());

        let inf_key = join_key(&[db, "DriverInfFiles", &self.published]);
        ops.multi(&inf_key, "", &self.inf_files_default);
        ops.sz(&inf_key, "Active", &self.pkg);
        let config_names: Vec<&str> = self.configs.iter().map(|c| c.name.as_str()).collect();
        ops.multi(&inf_key, "Configurations", &config_names);

        let pkg_key = join_key(&[db, "DriverPackages", &self.pkg]);
        ops.key(&pkg_key);
        for (name, kind, data) in &self.package_values {
            ops.value(&pkg_key, name, *kind, data.clone());
        }
        for c in &self.configs {
            let ckey = join_key(&[&pkg_key, "Configurations", &c.name]);
            ops.dword(&ckey, "ConfigFlags", 0);
            ops.dword(&ckey, "ConfigScope", CONFIG_SCOPE);
            if let Some(s) = &c.service {
                ops.sz(&ckey, "Service", s);
            }
            // Device = the .HW AddReg, Services\<svc> = the service-install AddReg (§1.5, [DB]);
            // Driver = the DDInstall AddReg (§1.5 per LiberNT, UNCONFIRMED).
            let _ = write_hkr(&mut ops, &join_key(&[&ckey, "Device"]), &c.registry.hw);
            let _ = write_hkr(&mut ops, &join_key(&[&ckey, "Driver"]), &c.registry.driver);
            for s in &c.registry.services {
                if s.name.is_empty() {
                    continue;
                }
                let key = join_key(&[&ckey, "Services", &s.name]);
                let _ = write_hkr(&mut ops, &key, &s.add_reg);
            }
        }
        for (id, config, desc, mfg) in &self.descriptors {
            let dkey = join_key(&[&pkg_key, "Descriptors", id]);
            ops.sz(&dkey, "Configuration", config);
            ops.sz(&dkey, "Description", desc);
            ops.sz(&dkey, "Manufacturer", mfg);
        }
        if !self.strings.is_empty() {
            let skey = join_key(&[&pkg_key, "Strings"]);
            for (token, value) in &self.strings {
                ops.sz(&skey, token, value);
            }
        }
        if globals {
            ops.value(db, "OemInfMap", ValueType::BINARY, self.oem_inf_map.clone());
            ops.value(
                db,
                "UpdateDate",
                ValueType::BINARY,
                self.update_date.to_le_bytes().to_vec(),
            );
        }
    }
}

/// Writes the HKR entries of an AddReg list under `base` (creating `base` when there are any).
/// Other roots are not part of a driver database record.
pub(super) fn write_hkr(ops: &mut Ops<'_>, base: &str, entries: &[RegEntry]) -> Vec<String> {
    let mut skipped = Vec::new();
    let mut created = false;
    for e in entries {
        if e.root != RegRoot::Hkr {
            skipped.push(format!(
                "[{}] line {}: {:?} entries are applied by PnP at first start, not offline",
                e.section, e.line, e.root
            ));
            continue;
        }
        let key = join_key(&[base, &e.subkey]);
        match &e.action {
            RegAction::KeyOnly => ops.key(&key),
            RegAction::Set(data) => {
                if e.flags & infuse_driver_store::inf::model::addreg::FLG_ADDREG_OVERWRITEONLY != 0
                {
                    // Only replaces an existing value: the key is new, so nothing to write.
                    continue;
                }
                ops.value(&key, &e.value_name, ValueType(data.kind()), data.to_bytes());
            }
            // DELVAL on a key this record creates: nothing to delete.
            RegAction::DeleteValue => continue,
        }
        created = true;
    }
    if !created && !entries.is_empty() {
        ops.key(base);
    }
    skipped
}

fn utf16(s: &str) -> Vec<u8> {
    crate::hive::utf16z(s)
}

/// The Manufacturer name (resolved) of the Models line at `line`.
fn sel_manufacturer(input: &PackageInstall<'_>, line: u32) -> String {
    input
        .model
        .manufacturers
        .iter()
        .find(|m| {
            m.models
                .iter()
                .any(|s| s.entries.iter().any(|e| e.line == line))
        })
        .map(|m| m.name.clone())
        .unwrap_or_default()
}

/// The INF's string table read backwards: resolved text → its `%token%` (the parsed INF holds
/// substituted text; `Descriptors` store the token and `Strings` its value, §1.5).
struct StringTokens {
    by_value: HashMap<String, String>,
}

impl StringTokens {
    fn new(inf: &infuse_driver_store::inf::Inf) -> StringTokens {
        let mut by_value = HashMap::new();
        // The parser's language order: [Strings.0409], [Strings.0009], [Strings].
        for name in ["Strings.0409", "Strings.0009", "Strings"] {
            if let Some(s) = inf.section(name) {
                for l in s.lines() {
                    if let (Some(k), Some(v)) = (l.key(), l.field(1)) {
                        by_value
                            .entry(v.to_string())
                            .or_insert_with(|| k.trim().to_ascii_lowercase());
                    }
                }
            }
        }
        StringTokens { by_value }
    }

    /// `%token%` for `text` (recording the token's value in `strings`), or `text` itself when no
    /// string defines it.
    fn reference(&self, text: &str, strings: &mut Vec<(String, String)>) -> String {
        match self.by_value.get(text) {
            Some(token) => {
                if !strings.iter().any(|(t, _)| t == token) {
                    strings.push((token.clone(), text.to_string()));
                }
                format!("%{token}%")
            }
            None => text.to_string(),
        }
    }
}
