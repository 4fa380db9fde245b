//! `[Version]`: signature, class, provider, DriverVer, catalogs, PnpLockdown.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Sections;
use super::decoration::Arch;
use crate::inf::Diagnostic;

/// What `[Version]` says about the package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub signature: Option<String>,
    pub class: Option<String>,
    pub class_guid: Option<String>,
    pub provider: Option<String>,
    pub driver_ver: Option<DriverVer>,
    /// `CatalogFile` and its platform variants (`CatalogFile.NTamd64`), in file order.
    pub catalogs: Vec<CatalogFile>,
    pub pnp_lockdown: bool,
}

/// One `CatalogFile[.decoration]=name.cat` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFile {
    /// `None` for plain `CatalogFile`, `Some("NTamd64")` for `CatalogFile.NTamd64`.
    pub decoration: Option<String>,
    pub name: String,
    pub line: u32,
}

impl VersionInfo {
    /// The catalog Windows uses on `arch`: `CatalogFile.NT<arch>`, then `CatalogFile.NT`, then
    /// `CatalogFile` (the same platform-extension order as DDInstall sections,
    /// windows-driver-internals.md §3.3).
    pub fn catalog_for(&self, arch: Arch) -> Option<&CatalogFile> {
        let nt_arch = format!("NT{}", arch.as_str());
        let find = |want: Option<&str>| {
            self.catalogs.iter().find(|c| match (&c.decoration, want) {
                (Some(d), Some(w)) => d.eq_ignore_ascii_case(w),
                (None, None) => true,
                _ => false,
            })
        };
        find(Some(&nt_arch))
            .or_else(|| find(Some("NT")))
            .or_else(|| find(None))
    }
}

/// `DriverVer=mm/dd/yyyy[,w.x.y.z]` (windows-driver-internals.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DriverVer {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    /// `w.x.y.z`; missing parts are 0.
    pub version: [u16; 4],
}

impl DriverVer {
    /// Parses the two DriverVer fields; `-` is accepted as date separator and every number must
    /// be below 65535 (windows-driver-internals.md §3.2).
    pub fn parse(date: &str, version: Option<&str>) -> Result<DriverVer, String> {
        let parts: Vec<&str> = date.trim().split(['/', '-']).collect();
        let [m, d, y] = parts.as_slice() else {
            return Err(format!("DriverVer date `{date}` is not mm/dd/yyyy"));
        };
        let num = |s: &str, max: u32| -> Result<u32, String> {
            match s.trim().parse::<u32>() {
                Ok(n) if n <= max => Ok(n),
                _ => Err(format!("DriverVer date `{date}` has a bad number `{s}`")),
            }
        };
        let (month, day, year) = (num(m, 12)?, num(d, 31)?, num(y, 9999)?);
        if month == 0 || day == 0 {
            return Err(format!("DriverVer date `{date}` has a zero month or day"));
        }
        let mut v = [0u16; 4];
        if let Some(text) = version.map(str::trim).filter(|t| !t.is_empty()) {
            let pieces: Vec<&str> = text.split('.').collect();
            if pieces.len() > 4 {
                return Err(format!(
                    "DriverVer version `{text}` has more than four parts"
                ));
            }
            for (slot, piece) in v.iter_mut().zip(&pieces) {
                match piece.trim().parse::<u16>() {
                    Ok(n) if n < u16::MAX => *slot = n,
                    _ => {
                        return Err(format!(
                            "DriverVer version `{text}` has a bad part `{piece}`"
                        ));
                    }
                }
            }
        }
        Ok(DriverVer {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            version: v,
        })
    }

    /// `yyyy << 16 | mm << 8 | dd`: orders like the date.
    pub fn date_code(&self) -> u32 {
        (u32::from(self.year) << 16) | (u32::from(self.month) << 8) | u32::from(self.day)
    }

    /// The four version parts packed big-end first: orders like the version.
    pub fn version_code(&self) -> u64 {
        self.version
            .iter()
            .fold(0u64, |acc, &p| (acc << 16) | u64::from(p))
    }

    /// Inverse of [`DriverVer::date_code`] + [`DriverVer::version_code`].
    pub fn from_codes(date: u32, version: u64) -> DriverVer {
        DriverVer {
            year: (date >> 16) as u16,
            month: (date >> 8) as u8,
            day: date as u8,
            version: [
                (version >> 48) as u16,
                (version >> 32) as u16,
                (version >> 16) as u16,
                version as u16,
            ],
        }
    }
}

impl fmt::Display for DriverVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.version;
        write!(
            f,
            "{:02}/{:02}/{:04},{a}.{b}.{c}.{d}",
            self.month, self.day, self.year
        )
    }
}

pub(super) fn read_version(sections: &Sections<'_>, diags: &mut Vec<Diagnostic>) -> VersionInfo {
    let mut info = VersionInfo::default();
    let Some(version) = sections.get("Version") else {
        diags.push(Diagnostic {
            line: 0,
            message: "no [Version] section".into(),
        });
        return info;
    };
    for line in version.lines() {
        let Some(key) = line.key() else {
            continue;
        };
        let first = line.fields().first().map(|f| f.trim().to_string());
        let lower = key.trim().to_ascii_lowercase();
        match lower.as_str() {
            "signature" => info.signature = first,
            "class" => info.class = first.filter(|s| !s.is_empty()),
            "classguid" => info.class_guid = first.filter(|s| !s.is_empty()),
            "provider" => info.provider = first.filter(|s| !s.is_empty()),
            "pnplockdown" => info.pnp_lockdown = first.as_deref() == Some("1"),
            "driverver" => info.driver_ver = read_driver_ver(line, diags),
            _ => {
                if let Some(deco) = lower.strip_prefix("catalogfile") {
                    let decoration = match deco.strip_prefix('.') {
                        Some(_) => key.trim().get("catalogfile.".len()..).map(str::to_string),
                        None if deco.is_empty() => None,
                        None => continue,
                    };
                    if let Some(name) = first.filter(|s| !s.is_empty()) {
                        info.catalogs.push(CatalogFile {
                            decoration,
                            name,
                            line: line.number(),
                        });
                    }
                }
            }
        }
    }
    match info
        .signature
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        // inf-behaviour.md §H: `$Chicago$`, `$Windows NT$`, `$Windows 95$`, case-insensitive.
        Some("$chicago$" | "$windows nt$" | "$windows 95$") => {}
        Some(other) => diags.push(Diagnostic {
            line: 0,
            message: format!("[Version] has unknown signature `{other}`"),
        }),
        None => diags.push(Diagnostic {
            line: 0,
            message: "[Version] has no Signature".into(),
        }),
    }
    info
}

/// Reads a `DriverVer=` line; bad values become a diagnostic and `None` (Windows treats a
/// missing or invalid date as 00/00/0000, §3.2).
pub(super) fn read_driver_ver(
    line: &crate::inf::Line,
    diags: &mut Vec<Diagnostic>,
) -> Option<DriverVer> {
    let date = line.fields().first()?;
    match DriverVer::parse(date, line.fields().get(1)) {
        Ok(v) => Some(v),
        Err(message) => {
            diags.push(Diagnostic {
                line: line.number(),
                message,
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(date field, version field, (year, month, day), version)`.
    type Row = (&'static str, Option<&'static str>, (u16, u8, u8), [u16; 4]);

    #[test]
    fn driver_ver_parses_like_windows() {
        let ok: &[Row] = &[
            (
                "01/22/2024",
                Some("100.94.104.24700"),
                (2024, 1, 22),
                [100, 94, 104, 24700],
            ),
            (
                "7/18/1968",
                Some("10.1.36.7"),
                (1968, 7, 18),
                [10, 1, 36, 7],
            ),
            // `-` is a valid separator (§3.2).
            ("07-18-1968", Some("1.2"), (1968, 7, 18), [1, 2, 0, 0]),
            ("12/31/2020", None, (2020, 12, 31), [0, 0, 0, 0]),
        ];
        for &(date, version, (y, m, d), v) in ok {
            let dv = DriverVer::parse(date, version).expect(date);
            assert_eq!((dv.year, dv.month, dv.day, dv.version), (y, m, d, v));
            assert_eq!(DriverVer::from_codes(dv.date_code(), dv.version_code()), dv);
        }
        for bad in ["2024/01", "13/01/2024", "00/10/2020", "aa/bb/cccc"] {
            assert!(DriverVer::parse(bad, None).is_err(), "{bad}");
        }
        // each version field < 65535 (§3.2).
        assert!(DriverVer::parse("01/01/2020", Some("65535.0.0.0")).is_err());
        assert!(DriverVer::parse("01/01/2020", Some("1.2.3.4.5")).is_err());
    }

    #[test]
    fn codes_order_like_dates_and_versions() {
        let a = DriverVer::parse("12/31/2019", Some("9.9.9.9")).expect("a");
        let b = DriverVer::parse("01/01/2020", Some("1.0.0.0")).expect("b");
        assert!(a.date_code() < b.date_code());
        assert!(b.version_code() < a.version_code());
    }
}
