//! Registry directives: `AddReg` sections read into typed entries, and the registry side of a
//! DDInstall (its own AddReg, its `.HW` section's, each service-install and event-log-install
//! section's) as the driver database and the service key need them.
//!
//! An add-registry-section line is `reg-root,[subkey],[value-entry-name],[flags],[value...]`
//! (learn.microsoft.com, "INF AddReg directive"): field numbers below are SetupAPI's (1 = the
//! root). The value's registry type comes from the `FLG_ADDREG_TYPE_*` part of the flags, or from
//! the high word when `FLG_ADDREG_BINVALUETYPE` is set with another type; string types take field
//! 5 (MULTI_SZ: fields 5..), binary types take fields 5.. as hex bytes, and a DWORD given as one
//! field is a number (`0x..`, decimal or leading-0 octal, C `strtoul` base 0, as SetupAPI reads
//! it; Wine `dlls/setupapi/install.c` `do_reg_operation` follows the same split).

use serde::{Deserialize, Serialize};

use super::decoration::parse_number;
use super::install::{DdInstall, Service};
use crate::inf::{Diagnostic, Inf, Line};

/// `FLG_ADDREG_BINVALUETYPE`: the value is raw (hex byte) data; with a type in the high word.
pub const FLG_ADDREG_BINVALUETYPE: u32 = 0x0000_0001;
/// Do not replace an existing value.
pub const FLG_ADDREG_NOCLOBBER: u32 = 0x0000_0002;
/// Delete the named value.
pub const FLG_ADDREG_DELVAL: u32 = 0x0000_0004;
/// Append the strings to an existing REG_MULTI_SZ value (each once).
pub const FLG_ADDREG_APPEND: u32 = 0x0000_0008;
/// Create the key only; any value fields are ignored.
pub const FLG_ADDREG_KEYONLY: u32 = 0x0000_0010;
/// Replace a value only when it already exists.
pub const FLG_ADDREG_OVERWRITEONLY: u32 = 0x0000_0020;
/// Write to the 64-bit registry view.
pub const FLG_ADDREG_64BITKEY: u32 = 0x0000_1000;
/// Create the key only (same as KEYONLY, also valid for DelReg).
pub const FLG_ADDREG_KEYONLY_COMMON: u32 = 0x0000_2000;
/// Write to the 32-bit registry view.
pub const FLG_ADDREG_32BITKEY: u32 = 0x0000_4000;
/// The bits that select the value type.
pub const FLG_ADDREG_TYPE_MASK: u32 = 0xFFFF_0001;
pub const FLG_ADDREG_TYPE_SZ: u32 = 0x0000_0000;
pub const FLG_ADDREG_TYPE_MULTI_SZ: u32 = 0x0001_0000;
pub const FLG_ADDREG_TYPE_EXPAND_SZ: u32 = 0x0002_0000;
pub const FLG_ADDREG_TYPE_BINARY: u32 = 0x0000_0001;
pub const FLG_ADDREG_TYPE_DWORD: u32 = 0x0001_0001;
pub const FLG_ADDREG_TYPE_NONE: u32 = 0x0002_0001;

/// Registry value types (winnt.h).
pub const REG_NONE: u32 = 0;
pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_MULTI_SZ: u32 = 7;

/// The `reg-root` of an AddReg line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegRoot {
    /// The key the directive's context gives (device, driver, service or event-log key).
    Hkr,
    Hklm,
    Hkcu,
    Hkcr,
    Hku,
}

impl RegRoot {
    /// Parses the abbreviations the AddReg docs list (and the long `HKEY_` forms).
    pub fn parse(s: &str) -> Option<RegRoot> {
        let s = s.trim();
        let is = |a: &str| s.eq_ignore_ascii_case(a);
        Some(if is("HKR") {
            RegRoot::Hkr
        } else if is("HKLM") || is("HKEY_LOCAL_MACHINE") {
            RegRoot::Hklm
        } else if is("HKCU") || is("HKEY_CURRENT_USER") {
            RegRoot::Hkcu
        } else if is("HKCR") || is("HKEY_CLASSES_ROOT") {
            RegRoot::Hkcr
        } else if is("HKU") || is("HKEY_USERS") {
            RegRoot::Hku
        } else {
            return None;
        })
    }
}

/// Typed value data of an AddReg line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegData {
    /// REG_SZ, REG_EXPAND_SZ or another type written from string data (`kind`).
    String {
        kind: u32,
        text: String,
    },
    MultiString(Vec<String>),
    Dword(u32),
    /// Hex-byte data of any type (`FLG_ADDREG_BINVALUETYPE`).
    Binary {
        kind: u32,
        bytes: Vec<u8>,
    },
}

impl RegData {
    /// The registry type number.
    pub fn kind(&self) -> u32 {
        match self {
            RegData::String { kind, .. } | RegData::Binary { kind, .. } => *kind,
            RegData::MultiString(_) => REG_MULTI_SZ,
            RegData::Dword(_) => REG_DWORD,
        }
    }

    /// The bytes as a hive stores them (strings UTF-16LE with their terminator; MULTI_SZ with
    /// the extra final terminator; DWORD little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            RegData::String { text, .. } => utf16z(text),
            RegData::MultiString(items) => {
                let mut out = Vec::new();
                for s in items {
                    out.extend(utf16z(s));
                }
                out.extend([0, 0]);
                out
            }
            RegData::Dword(v) => v.to_le_bytes().to_vec(),
            RegData::Binary { bytes, .. } => bytes.clone(),
        }
    }
}

/// What an AddReg line does to its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegAction {
    /// Create the key only (`FLG_ADDREG_KEYONLY`, or a line with neither value name nor value).
    KeyOnly,
    /// Delete the value (`FLG_ADDREG_DELVAL`).
    DeleteValue,
    /// Set the value.
    Set(RegData),
}

/// One AddReg line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegEntry {
    pub root: RegRoot,
    /// `\`-separated, relative to the root; empty for the root itself.
    pub subkey: String,
    /// Empty for the key's default value.
    pub value_name: String,
    pub flags: u32,
    pub action: RegAction,
    /// The add-registry section and the line in it.
    pub section: String,
    pub line: u32,
}

/// Reads the add-registry sections `names` (in order) into entries. Missing sections and lines
/// that cannot be used are diagnostics with their line.
pub fn read_add_reg(inf: &Inf, names: &[String], diags: &mut Vec<Diagnostic>) -> Vec<RegEntry> {
    let mut out = Vec::new();
    for name in names {
        let Some(section) = inf.section(name) else {
            diags.push(Diagnostic {
                line: 0,
                message: format!("AddReg names missing section [{name}]"),
            });
            continue;
        };
        for line in section.lines() {
            match read_line(line) {
                Ok(entry) => out.push(RegEntry {
                    section: section.name().to_string(),
                    ..entry
                }),
                Err(msg) => diags.push(Diagnostic {
                    line: line.number(),
                    message: format!("[{}] AddReg line refused: {msg}", section.name()),
                }),
            }
        }
    }
    out
}

fn read_line(line: &Line) -> Result<RegEntry, String> {
    let field = |n: usize| line.field(n).map(str::trim);
    // An add-registry line has no `=`; a key (text left of `=`) means it is something else.
    if line.key().is_some() {
        return Err("an add-registry line has no `=`".into());
    }
    let root_text = field(1).unwrap_or_default();
    let root =
        RegRoot::parse(root_text).ok_or_else(|| format!("unknown registry root `{root_text}`"))?;
    let subkey = field(2).unwrap_or_default().trim_matches('\\').to_string();
    let value_name = field(3).unwrap_or_default().to_string();
    let flags = match field(4).filter(|f| !f.is_empty()) {
        None => 0,
        Some(f) => parse_number(f).ok_or_else(|| format!("flags `{f}` are not a number"))?,
    };
    let value_fields = line.fields().len().saturating_sub(4);
    let entry = |action| RegEntry {
        root,
        subkey: subkey.clone(),
        value_name: value_name.clone(),
        flags,
        action,
        section: String::new(),
        line: line.number(),
    };
    if flags & FLG_ADDREG_DELVAL != 0 {
        return Ok(entry(RegAction::DeleteValue));
    }
    if flags & (FLG_ADDREG_KEYONLY | FLG_ADDREG_KEYONLY_COMMON) != 0 {
        return Ok(entry(RegAction::KeyOnly));
    }
    let kind = match flags & FLG_ADDREG_TYPE_MASK {
        FLG_ADDREG_TYPE_SZ => REG_SZ,
        FLG_ADDREG_TYPE_MULTI_SZ => REG_MULTI_SZ,
        FLG_ADDREG_TYPE_EXPAND_SZ => REG_EXPAND_SZ,
        FLG_ADDREG_TYPE_BINARY => REG_BINARY,
        FLG_ADDREG_TYPE_DWORD => REG_DWORD,
        FLG_ADDREG_TYPE_NONE => REG_NONE,
        other => other >> 16,
    };
    // `reg-root,subkey` alone (no value name, no flags, no value): the key is created.
    if value_name.is_empty() && field(4).is_none_or(str::is_empty) && value_fields == 0 {
        return Ok(entry(RegAction::KeyOnly));
    }
    let data = if flags & FLG_ADDREG_BINVALUETYPE == 0 || (kind == REG_DWORD && value_fields == 1) {
        // String data (SetupAPI reads field 5 as text; a DWORD given as one field is a number).
        if kind == REG_MULTI_SZ {
            RegData::MultiString(
                line.fields()
                    .skip(4)
                    .map(str::to_string)
                    .filter(|s| !s.is_empty())
                    .collect(),
            )
        } else if kind == REG_DWORD {
            let text = field(5).unwrap_or_default();
            RegData::Dword(
                strtoul(text).ok_or_else(|| format!("DWORD value `{text}` is not a number"))?,
            )
        } else {
            RegData::String {
                kind,
                text: line.field(5).unwrap_or_default().to_string(),
            }
        }
    } else {
        let bytes = if value_fields == 0 {
            Vec::new()
        } else {
            line.binary_field(5)
                .ok_or_else(|| "binary value fields must be hex bytes (00 to ff)".to_string())?
        };
        RegData::Binary { kind, bytes }
    };
    Ok(entry(RegAction::Set(data)))
}

/// C `strtoul(s, NULL, 0)` over the whole field: `0x` hex, leading-`0` octal or decimal; empty
/// is 0; values past 32 bits are refused rather than wrapped.
fn strtoul(s: &str) -> Option<u32> {
    let t = s.trim();
    if t.is_empty() {
        return Some(0);
    }
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    u32::from_str_radix(digits, radix).ok()
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// The registry side of one resolved DDInstall.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRegistry {
    /// The DDInstall section's own AddReg (and of the sections it Needs in this INF): HKR is
    /// the driver (software) key.
    pub driver: Vec<RegEntry>,
    /// `[<DDInstall>.HW]` AddReg: HKR is the device (hardware) key.
    pub hw: Vec<RegEntry>,
    /// One per AddService line of the DDInstall's `.Services` sections, in order.
    pub services: Vec<ServiceRegistry>,
}

/// What an AddService line and its sections write besides the four required values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRegistry {
    pub name: String,
    /// The service-install section's AddReg: HKR is the service key.
    pub add_reg: Vec<RegEntry>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// `Dependencies=`: service names, and load-order groups written with a leading `+`.
    pub dependencies: Vec<String>,
    pub event_log: Option<EventLogInstall>,
    /// The AddService line.
    pub line: u32,
}

/// `AddService=name,flags,service-install,event-log-install[,EventLogType[,EventName]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLogInstall {
    pub section: String,
    /// The log (`System` when the line gives none).
    pub log_type: String,
    /// The event source (the service name when the line gives none).
    pub source: String,
    /// The section's AddReg: HKR is `Services\EventLog\<log>\<source>`.
    pub add_reg: Vec<RegEntry>,
}

/// Reads the registry side of `install` from the INF it was resolved from.
pub fn install_registry(
    inf: &Inf,
    install: &DdInstall,
    diags: &mut Vec<Diagnostic>,
) -> InstallRegistry {
    let mut out = InstallRegistry::default();
    let Some(section_name) = install.section.as_deref() else {
        return out;
    };
    let mut own = Vec::new();
    for name in std::iter::once(section_name).chain(install.needs.iter().map(String::as_str)) {
        if let Some(s) = inf.section(name) {
            own.extend(add_reg_names(s.find_all("AddReg")));
        }
    }
    out.driver = read_add_reg(inf, &own, diags);
    if let Some(hw) = inf.section(&format!("{section_name}.HW")) {
        let names = add_reg_names(hw.find_all("AddReg"));
        out.hw = read_add_reg(inf, &names, diags);
    }
    for svc in &install.services {
        out.services.push(service_registry(inf, svc, diags));
    }
    out
}

fn service_registry(inf: &Inf, svc: &Service, diags: &mut Vec<Diagnostic>) -> ServiceRegistry {
    let mut out = ServiceRegistry {
        name: svc.name.clone(),
        add_reg: read_add_reg(inf, &svc.add_reg, diags),
        display_name: None,
        description: None,
        dependencies: Vec::new(),
        event_log: None,
        line: svc.line,
    };
    if let Some(section) = svc.install_section.as_deref().and_then(|n| inf.section(n)) {
        let value = |key: &str| {
            section
                .find(key)
                .and_then(|l| l.field(1))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        out.display_name = value("DisplayName");
        out.description = value("Description");
        out.dependencies = section
            .find_all("Dependencies")
            .flat_map(|l| l.fields().map(|f| f.trim().to_string()).collect::<Vec<_>>())
            .filter(|f| !f.is_empty())
            .collect();
    }
    // The AddService line itself, found by its line number (the model keeps fields 1-3 only).
    let add_service = inf.sections.iter().flat_map(|s| s.lines()).find(|l| {
        l.number() == svc.line
            && l.key()
                .is_some_and(|k| k.trim().eq_ignore_ascii_case("AddService"))
    });
    if let Some(line) = add_service {
        let field = |n: usize| {
            line.field(n)
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_string)
        };
        if let Some(section) = field(4) {
            let names: Vec<String> = match inf.section(&section) {
                Some(s) => add_reg_names(s.find_all("AddReg")),
                None => {
                    diags.push(Diagnostic {
                        line: line.number(),
                        message: format!(
                            "service `{}`: event-log install section [{section}] not found",
                            svc.name
                        ),
                    });
                    Vec::new()
                }
            };
            out.event_log = Some(EventLogInstall {
                section,
                log_type: field(5).unwrap_or_else(|| "System".into()),
                source: field(6).unwrap_or_else(|| svc.name.clone()),
                add_reg: read_add_reg(inf, &names, diags),
            });
        }
    }
    out
}

fn add_reg_names<'a>(lines: impl Iterator<Item = &'a Line>) -> Vec<String> {
    lines
        .flat_map(|l| l.fields().map(|f| f.trim().to_string()).collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
