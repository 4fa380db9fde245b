//! Reading an image's `DriverDatabase` (windows-driver-internals.md §1.5): published INFs
//! (`DriverInfFiles`), packages (`DriverPackages`, with the 48-byte `Version` blob), the
//! `DeviceIds` index and `OemInfMap`.
//!
//! The same layout sits in the DRIVERS hive (Windows 10+) and in `SYSTEM\DriverDatabase`
//! (Windows 8/8.1, and the boot-critical mirror on 10+); [`DriverDb`] reads either.

use std::path::Path;

use serde::Serialize;

use crate::hive::{Decoded, Hive, HiveError, Key, Value, ValueType};
use crate::stage::plan::HiveFile;

/// The key that holds the database, relative to the hive root (both hives).
pub const ROOT: &str = "DriverDatabase";

/// A DriverDatabase read failure, naming the hive file and key.
#[derive(Debug, thiserror::Error)]
#[error("{path}: key `{key}`: {msg}")]
pub struct DdbError {
    pub path: std::path::PathBuf,
    pub key: String,
    pub msg: String,
}

/// One hive's `DriverDatabase`.
#[derive(Debug, Clone, Copy)]
pub struct DriverDb<'h> {
    hive: &'h Hive,
    which: HiveFile,
    path: &'h Path,
}

/// `DriverInfFiles\<inf>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfFileRecord {
    /// The published name (`oem3.inf`) or an inbox INF's own name.
    pub name: String,
    /// `(default)`: every package imported under this name.
    pub packages: Vec<String>,
    /// `Active`: the current package.
    pub active: Option<String>,
    pub configurations: Vec<String>,
}

/// `DriverPackages\<pkg>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRecord {
    pub id: String,
    /// `(default)`: the published INF name.
    pub published: Option<String>,
    pub inf_name: Option<String>,
    pub provider: Option<String>,
    pub catalog: Option<String>,
    pub signer_name: Option<String>,
    pub signer_score: Option<u32>,
    pub version: Option<VersionBlob>,
    /// `Version` present but not 48 bytes of the documented layout.
    pub version_error: Option<String>,
    /// `Configurations\<section>\Service` for each configuration that names one.
    pub services: Vec<(String, String)>,
    pub configurations: Vec<String>,
    /// `Descriptors\...`: the IDs the package's Models lines name.
    pub descriptors: Vec<String>,
}

/// One value of a `DeviceIds\<id>` key: an INF that names the ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceIdEntry {
    pub id: String,
    pub inf: String,
    /// 1 = the Models entry's hardware ID, 2 = one of its compatible IDs (OR-able).
    pub flags: u8,
    pub feature_score: u8,
    /// Position among the Models entry's compatible IDs (k), when flag 2.
    pub position: u16,
}

/// The decoded 48-byte `DriverPackages\<pkg>\Version` value (§1.5 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VersionBlob {
    /// Byte 1 (0xFF in every capture).
    pub flags: [u8; 2],
    /// PROCESSOR_ARCHITECTURE_* (9 = AMD64, 0 = x86, 5 = ARM, 6 = IA64, 12 = ARM64).
    pub arch: u16,
    /// Braced, upper-case.
    #[serde(serialize_with = "ser_guid")]
    pub class_guid: [u8; 16],
    /// FILETIME of the DriverVer date at 00:00 UTC.
    pub date_filetime: u64,
    /// `(w<<48)|(x<<32)|(y<<16)|z`.
    pub version: u64,
}

fn ser_guid<S: serde::Serializer>(g: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&guid_string(g))
}

/// Ticks (100 ns) per day and days from 1601-01-01 to 1970-01-01.
const TICKS_PER_DAY: u64 = 864_000_000_000;
const DAYS_1601_TO_1970: i64 = 134_774;

impl VersionBlob {
    pub const LEN: usize = 48;

    /// Decode the value's data (exactly 48 bytes, §1.5).
    pub fn decode(data: &[u8]) -> Result<VersionBlob, String> {
        if data.len() != Self::LEN {
            return Err(format!(
                "`Version` is {} bytes, the documented layout has 48",
                data.len()
            ));
        }
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&data[o..o + 8]);
            u64::from_le_bytes(a)
        };
        let mut class_guid = [0u8; 16];
        class_guid.copy_from_slice(&data[8..24]);
        Ok(VersionBlob {
            flags: [data[0], data[1]],
            arch: u16::from_le_bytes([data[2], data[3]]),
            class_guid,
            date_filetime: u64_at(24),
            version: u64_at(32),
        })
    }

    /// The 48 bytes as Windows stores them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; Self::LEN];
        out[0..2].copy_from_slice(&self.flags);
        out[2..4].copy_from_slice(&self.arch.to_le_bytes());
        out[8..24].copy_from_slice(&self.class_guid);
        out[24..32].copy_from_slice(&self.date_filetime.to_le_bytes());
        out[32..40].copy_from_slice(&self.version.to_le_bytes());
        out
    }

    /// (year, month, day) of the date.
    pub fn date(&self) -> (i32, u32, u32) {
        let days = (self.date_filetime / TICKS_PER_DAY) as i64 - DAYS_1601_TO_1970;
        civil_from_days(days)
    }

    /// `mm/dd/yyyy` as DriverVer writes it.
    pub fn date_text(&self) -> String {
        let (y, m, d) = self.date();
        format!("{m:02}/{d:02}/{y:04}")
    }

    /// `w.x.y.z`.
    pub fn version_text(&self) -> String {
        let v = self.version;
        format!(
            "{}.{}.{}.{}",
            v >> 48,
            (v >> 32) & 0xFFFF,
            (v >> 16) & 0xFFFF,
            v & 0xFFFF
        )
    }

    /// The DriverVer this blob records, in the ranking's codes.
    pub fn driver_ver(&self) -> infuse_driver_store::inf::model::DriverVer {
        let (y, m, d) = self.date();
        let date_code = ((y.clamp(0, 0xFFFF) as u32) << 16) | (m << 8) | d;
        infuse_driver_store::inf::model::DriverVer::from_codes(date_code, self.version)
    }

    /// FILETIME at 00:00 UTC of a civil date.
    pub fn filetime_of(year: i32, month: u32, day: u32) -> u64 {
        let days = days_from_civil(year, month, day) + DAYS_1601_TO_1970;
        (days.max(0) as u64) * TICKS_PER_DAY
    }
}

/// `{4D36E97B-E325-11CE-BFC1-08002BE10318}` from Windows' GUID byte order.
pub fn guid_string(g: &[u8; 16]) -> String {
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    )
}

/// Windows' GUID byte order from `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (braces optional).
pub fn guid_bytes(s: &str) -> Option<[u8; 16]> {
    let s = s.trim().trim_start_matches('{').trim_end_matches('}');
    let parts: Vec<&str> = s.split('-').collect();
    let [a, b, c, d, e] = parts.as_slice() else {
        return None;
    };
    if a.len() != 8 || b.len() != 4 || c.len() != 4 || d.len() != 4 || e.len() != 12 {
        return None;
    }
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&u32::from_str_radix(a, 16).ok()?.to_le_bytes());
    out[4..6].copy_from_slice(&u16::from_str_radix(b, 16).ok()?.to_le_bytes());
    out[6..8].copy_from_slice(&u16::from_str_radix(c, 16).ok()?.to_le_bytes());
    let tail = format!("{d}{e}");
    for (i, o) in out[8..].iter_mut().enumerate() {
        *o = u8::from_str_radix(tail.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Howard Hinnant's civil-from-days (days since 1970-01-01).
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether a name is a published third-party INF (`oem<N>.inf`), and its N.
pub fn oem_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let digits = lower.strip_prefix("oem")?.strip_suffix(".inf")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

/// `OemInfMap` bytes for a set of oem numbers (§1.3, INFERRED: MSB-first, bit 7 of byte 0 =
/// oem0; captures: `80` with one OEM INF, `e0` with three).
pub fn oem_inf_map(numbers: impl IntoIterator<Item = u32>) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for n in numbers {
        let byte = (n / 8) as usize;
        if out.len() <= byte {
            out.resize(byte + 1, 0);
        }
        out[byte] |= 0x80 >> (n % 8);
    }
    out
}

/// The oem numbers an `OemInfMap` marks as used.
pub fn oem_inf_map_numbers(map: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, b) in map.iter().enumerate() {
        for bit in 0..8 {
            if b & (0x80 >> bit) != 0 {
                out.push(i as u32 * 8 + bit);
            }
        }
    }
    out
}

impl<'h> DriverDb<'h> {
    pub fn new(hive: &'h Hive, which: HiveFile, path: &'h Path) -> DriverDb<'h> {
        DriverDb { hive, which, path }
    }

    pub fn which(&self) -> HiveFile {
        self.which
    }

    pub fn path(&self) -> &Path {
        self.path
    }

    pub fn hive(&self) -> &'h Hive {
        self.hive
    }

    fn err(&self, key: &str, msg: impl Into<String>) -> DdbError {
        DdbError {
            path: self.path.to_path_buf(),
            key: key.to_owned(),
            msg: msg.into(),
        }
    }

    /// The key at `DriverDatabase\<rel>`, or `None`.
    fn key(&self, rel: &str) -> Result<Option<Key<'h>>, DdbError> {
        let full = if rel.is_empty() {
            ROOT.to_owned()
        } else {
            format!("{ROOT}\\{rel}")
        };
        match self.hive.key(&full) {
            Ok(k) => Ok(Some(k)),
            Err(HiveError::KeyNotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(&full, e.to_string())),
        }
    }

    fn subkey_names(&self, rel: &str) -> Result<Vec<String>, DdbError> {
        let Some(k) = self.key(rel)? else {
            return Ok(Vec::new());
        };
        Ok(k.subkeys()
            .map_err(|e| self.err(rel, e.to_string()))?
            .iter()
            .map(|s| s.name().to_owned())
            .collect())
    }

    fn values(&self, rel: &str) -> Result<Vec<Value>, DdbError> {
        match self.key(rel)? {
            Some(k) => k
                .values()
                .map_err(|e| self.err(&format!("{ROOT}\\{rel}"), e.to_string())),
            None => Ok(Vec::new()),
        }
    }

    /// `OemInfMap`, if present.
    pub fn oem_inf_map(&self) -> Result<Option<Vec<u8>>, DdbError> {
        Ok(self
            .values("")?
            .into_iter()
            .find(|v| v.name.eq_ignore_ascii_case("OemInfMap"))
            .map(|v| v.data))
    }

    /// Every `DriverInfFiles\<inf>` key's name.
    pub fn inf_names(&self) -> Result<Vec<String>, DdbError> {
        self.subkey_names("DriverInfFiles")
    }

    /// `DriverInfFiles\<inf>`, or `None`.
    pub fn inf_file(&self, name: &str) -> Result<Option<InfFileRecord>, DdbError> {
        let rel = format!("DriverInfFiles\\{name}");
        let Some(k) = self.key(&rel)? else {
            return Ok(None);
        };
        let values = self.values(&rel)?;
        let get = |n: &str| values.iter().find(|v| v.name.eq_ignore_ascii_case(n));
        Ok(Some(InfFileRecord {
            name: k.name().to_owned(),
            packages: get("").map(multi).unwrap_or_default(),
            active: get("Active").and_then(string),
            configurations: get("Configurations").map(multi).unwrap_or_default(),
        }))
    }

    /// Every `DriverPackages\<pkg>` key's name.
    pub fn package_ids(&self) -> Result<Vec<String>, DdbError> {
        self.subkey_names("DriverPackages")
    }

    /// `DriverPackages\<pkg>`, or `None`.
    pub fn package(&self, id: &str) -> Result<Option<PackageRecord>, DdbError> {
        let rel = format!("DriverPackages\\{id}");
        let Some(k) = self.key(&rel)? else {
            return Ok(None);
        };
        let values = self.values(&rel)?;
        let get = |n: &str| values.iter().find(|v| v.name.eq_ignore_ascii_case(n));
        let (version, version_error) = match get("Version") {
            Some(v) => match VersionBlob::decode(&v.data) {
                Ok(b) => (Some(b), None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let configurations = self.subkey_names(&format!("{rel}\\Configurations"))?;
        let mut services = Vec::new();
        for c in &configurations {
            let vals = self.values(&format!("{rel}\\Configurations\\{c}"))?;
            if let Some(s) = vals
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case("Service"))
                .and_then(string)
                .filter(|s| !s.is_empty())
            {
                services.push((c.clone(), s));
            }
        }
        let mut descriptors = Vec::new();
        if let Some(d) = self.key(&format!("{rel}\\Descriptors"))? {
            collect_leaf_paths(&d, String::new(), 0, &mut descriptors)
                .map_err(|e| self.err(&format!("{ROOT}\\{rel}\\Descriptors"), e.to_string()))?;
        }
        Ok(Some(PackageRecord {
            id: k.name().to_owned(),
            published: get("").and_then(string),
            inf_name: get("InfName").and_then(string),
            provider: get("Provider").and_then(string),
            catalog: get("Catalog").and_then(string),
            signer_name: get("SignerName").and_then(string),
            signer_score: get("SignerScore").and_then(|v| match v.decode() {
                Decoded::Dword(n) => Some(n),
                _ => None,
            }),
            version,
            version_error,
            services,
            configurations,
            descriptors,
        }))
    }

    /// The INFs `DeviceIds\<id>` lists (the ID split on `\`, compared case-insensitively).
    /// Values that are not 4 bytes of REG_BINARY are skipped (the class-GUID keys hold
    /// REG_NONE package associations).
    pub fn device_id(&self, id: &str) -> Result<Vec<DeviceIdEntry>, DdbError> {
        let rel = format!("DeviceIds\\{id}");
        Ok(self
            .values(&rel)?
            .iter()
            .filter_map(|v| device_id_entry(id, v))
            .collect())
    }

    /// Every `DeviceIds` key with values, as (ID, values) — for `verify`.
    pub fn all_device_ids(&self) -> Result<Vec<(String, Vec<Value>)>, DdbError> {
        let Some(root) = self.key("DeviceIds")? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        walk_values(&root, String::new(), 0, &mut out)
            .map_err(|e| self.err(&format!("{ROOT}\\DeviceIds"), e.to_string()))?;
        Ok(out)
    }
}

/// A `DeviceIds` value as an entry, when it has the 4-byte shape.
pub fn device_id_entry(id: &str, v: &Value) -> Option<DeviceIdEntry> {
    if v.kind != ValueType::BINARY || v.data.len() != 4 {
        return None;
    }
    Some(DeviceIdEntry {
        id: id.to_owned(),
        inf: v.name.clone(),
        flags: v.data[0],
        feature_score: v.data[1],
        position: u16::from_le_bytes([v.data[2], v.data[3]]),
    })
}

fn string(v: &Value) -> Option<String> {
    match v.decode() {
        Decoded::String(s) => Some(s),
        _ => None,
    }
}

fn multi(v: &Value) -> Vec<String> {
    match v.decode() {
        Decoded::MultiString(m) => m.into_iter().filter(|s| !s.is_empty()).collect(),
        Decoded::String(s) if !s.is_empty() => vec![s],
        _ => Vec::new(),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}\\{name}")
    }
}

/// Paths of keys without subkeys below `k` (a Descriptors tree holds one leaf per ID).
fn collect_leaf_paths(
    k: &Key<'_>,
    prefix: String,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<(), HiveError> {
    if depth > crate::hive::MAX_DEPTH {
        return Ok(());
    }
    let subs = k.subkeys()?;
    if subs.is_empty() && !prefix.is_empty() {
        out.push(prefix);
        return Ok(());
    }
    // An ID that continues another one (`X\Y` and `X\Y\Z`): the shorter is a key with values.
    if !prefix.is_empty() && !k.values()?.is_empty() {
        out.push(prefix.clone());
    }
    for s in subs {
        collect_leaf_paths(&s, join(&prefix, s.name()), depth + 1, out)?;
    }
    Ok(())
}

fn walk_values(
    k: &Key<'_>,
    prefix: String,
    depth: usize,
    out: &mut Vec<(String, Vec<Value>)>,
) -> Result<(), HiveError> {
    if depth > crate::hive::MAX_DEPTH {
        return Ok(());
    }
    let values = k.values()?;
    if !values.is_empty() {
        out.push((prefix.clone(), values));
    }
    for s in k.subkeys()? {
        walk_values(&s, join(&prefix, s.name()), depth + 1, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_captured_viostor_version_blob() {
        // §1.5: the real capture ([DB] commit 17c684e) — AMD64, SCSIAdapter class GUID,
        // 2021-12-02, 100.90.104.21500.
        let data = hex::decode(
            "00ff090000000000\
             7be9364d25e3ce11bfc108002be10318\
             00c0978c0fe7d701\
             fc5368005a006400\
             0000000000000000",
        )
        .expect("hex");
        let b = VersionBlob::decode(&data).expect("decodes");
        assert_eq!(b.arch, 9);
        assert_eq!(
            guid_string(&b.class_guid),
            "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
        );
        assert_eq!(b.date(), (2021, 12, 2));
        assert_eq!(b.date_text(), "12/02/2021");
        assert_eq!(b.version_text(), "100.90.104.21500");
        assert_eq!(b.encode(), data);
        assert_eq!(VersionBlob::filetime_of(2021, 12, 2), 0x01D7_E70F_8C97_C000);
        let dv = b.driver_ver();
        assert_eq!((dv.year, dv.month, dv.day), (2021, 12, 2));
        assert_eq!(
            guid_bytes("{4d36e97b-e325-11ce-bfc1-08002be10318}"),
            Some(b.class_guid)
        );
        assert!(VersionBlob::decode(&data[..40]).is_err());
    }

    #[test]
    fn oem_inf_map_is_msb_first() {
        // §1.3: `80` with one OEM INF (oem0), `e0` with three (oem0..oem2).
        assert_eq!(oem_inf_map([0]), vec![0x80]);
        assert_eq!(oem_inf_map([0, 1, 2]), vec![0xe0]);
        assert_eq!(oem_inf_map([9]), vec![0x00, 0x40]);
        assert_eq!(oem_inf_map_numbers(&[0xe0, 0x40]), vec![0, 1, 2, 9]);
        assert_eq!(oem_number("OEM12.INF"), Some(12));
        assert_eq!(oem_number("oem.inf"), None);
        assert_eq!(oem_number("oem1x.inf"), None);
        assert_eq!(oem_number("hdaudio.inf"), None);
    }

    #[test]
    fn civil_dates_round_trip() {
        for (y, m, d) in [
            (1601, 1, 1),
            (1970, 1, 1),
            (2000, 2, 29),
            (2006, 6, 21),
            (2038, 1, 19),
        ] {
            let ft = VersionBlob::filetime_of(y, m, d);
            let b = VersionBlob {
                flags: [0, 0xff],
                arch: 9,
                class_guid: [0; 16],
                date_filetime: ft,
                version: 0,
            };
            assert_eq!(b.date(), (y, m, d));
        }
    }
}
