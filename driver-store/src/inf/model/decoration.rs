//! `[Manufacturer]` TargetOSVersion decorations (`NTamd64.10.0...22000`) and platform extensions.
//!
//! Syntax, per windows-driver-internals.md §3.3:
//! `NT[Architecture][.[OSMajorVersion][.[OSMinorVersion][.[ProductType][.[SuiteMask][.[BuildNumber]]]]]]`.
//! Every field is optional; an empty field between dots means "any".

use std::fmt;

use serde::{Deserialize, Serialize};

/// A processor architecture as INF platform extensions name it (§3.3: `x86, ia64, amd64, arm, arm64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86,
    Amd64,
    Ia64,
    Arm,
    Arm64,
}

impl Arch {
    /// All architectures, in the order the model resolves them.
    pub const ALL: [Arch; 5] = [Arch::X86, Arch::Amd64, Arch::Ia64, Arch::Arm, Arch::Arm64];

    /// The platform-extension token, lower-case (`amd64`).
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::Amd64 => "amd64",
            Arch::Ia64 => "ia64",
            Arch::Arm => "arm",
            Arch::Arm64 => "arm64",
        }
    }

    /// Parses a platform-extension token case-insensitively (`AMD64`, `arm64`).
    pub fn parse(s: &str) -> Option<Arch> {
        Arch::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// A stable small number for on-disk records.
    pub fn code(self) -> u8 {
        match self {
            Arch::X86 => 1,
            Arch::Amd64 => 2,
            Arch::Ia64 => 3,
            Arch::Arm => 4,
            Arch::Arm64 => 5,
        }
    }

    /// Inverse of [`Arch::code`].
    pub fn from_code(c: u8) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.code() == c)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed TargetOSVersion decoration. Fields are `None` when absent or empty ("any").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decoration {
    /// The decoration as written (`NTamd64.10.0...22000`).
    pub raw: String,
    pub arch: Option<Arch>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// 1 workstation, 2 domain controller, 3 server (§3.3).
    pub product_type: Option<u32>,
    /// OR of VER_SUITE_* flags; matches only if the OS has all of them (§3.3).
    pub suite_mask: Option<u32>,
    /// Evaluated only when major.minor equals the target's exactly (§3.3 rule c).
    pub build: Option<u32>,
}

/// Why a decoration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecorationError {
    #[error("decoration `{0}` does not start with `NT`")]
    NotNt(String),
    #[error("decoration `{raw}` names unknown architecture `{arch}`")]
    UnknownArch { raw: String, arch: String },
    #[error("decoration `{raw}` has a non-numeric {field} `{value}`")]
    BadNumber {
        raw: String,
        field: &'static str,
        value: String,
    },
    #[error("decoration `{0}` has more than six fields")]
    TooManyFields(String),
    #[error("decoration `{0}` still contains the `$ARCH$` placeholder (the INF was not stamped)")]
    Unstamped(String),
}

impl Decoration {
    /// Parses `NT[arch][.major[.minor[.product[.suite[.build]]]]]`, case-insensitively.
    pub fn parse(raw: &str) -> Result<Decoration, DecorationError> {
        let text = raw.trim();
        if text.to_ascii_uppercase().contains("$ARCH$") {
            return Err(DecorationError::Unstamped(text.to_string()));
        }
        let mut parts = text.split('.');
        let head = parts.next().unwrap_or_default();
        let (Some(prefix), Some(arch_text)) = (head.get(..2), head.get(2..)) else {
            return Err(DecorationError::NotNt(text.to_string()));
        };
        if !prefix.eq_ignore_ascii_case("NT") {
            return Err(DecorationError::NotNt(text.to_string()));
        }
        let arch = if arch_text.is_empty() {
            None
        } else {
            Some(
                Arch::parse(arch_text).ok_or_else(|| DecorationError::UnknownArch {
                    raw: text.to_string(),
                    arch: arch_text.to_string(),
                })?,
            )
        };
        let names = ["major", "minor", "product type", "suite mask", "build"];
        let mut values = [None; 5];
        for (i, part) in parts.enumerate() {
            let Some(field) = names.get(i) else {
                return Err(DecorationError::TooManyFields(text.to_string()));
            };
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            values[i] = Some(
                parse_number(part).ok_or_else(|| DecorationError::BadNumber {
                    raw: text.to_string(),
                    field,
                    value: part.to_string(),
                })?,
            );
        }
        Ok(Decoration {
            raw: text.to_string(),
            arch,
            major: values[0],
            minor: values[1],
            product_type: values[2],
            suite_mask: values[3],
            build: values[4],
        })
    }

    /// The architecture this decoration installs on: its own, or x86 when it names none
    /// (since Windows Server 2003 SP1 undecorated and plain `NT` Models sections are x86-only,
    /// windows-driver-internals.md §3.3 rule h).
    pub fn effective_arch(&self) -> Arch {
        self.arch.unwrap_or(Arch::X86)
    }
}

impl fmt::Display for Decoration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// An INF integer: decimal, or hexadecimal with `0x` (inf-behaviour.md §D: `Key=0x4` reads as 4).
pub fn parse_number(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else {
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(input, arch, major, minor, product, suite, build)`; `None` arch column means "no arch".
    type Row = (
        &'static str,
        Option<Arch>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
    );

    #[test]
    fn decorations_parse_into_fields() {
        // Syntax and examples: windows-driver-internals.md §3.3; forms seen in the corpus:
        // peers-and-corpora.md §1b ("NTamd64.10.0.1..<build>", "NTx86.5.1", "NT....0x80").
        let table: &[Row] = &[
            ("NT", None, None, None, None, None, None),
            ("NTamd64", Some(Arch::Amd64), None, None, None, None, None),
            ("ntAMD64", Some(Arch::Amd64), None, None, None, None, None),
            ("NTarm64", Some(Arch::Arm64), None, None, None, None, None),
            ("NTx86", Some(Arch::X86), None, None, None, None, None),
            ("NTia64", Some(Arch::Ia64), None, None, None, None, None),
            ("NTarm", Some(Arch::Arm), None, None, None, None, None),
            (
                "NTx86.5.1",
                Some(Arch::X86),
                Some(5),
                Some(1),
                None,
                None,
                None,
            ),
            (
                "NTamd64.6.0",
                Some(Arch::Amd64),
                Some(6),
                Some(0),
                None,
                None,
                None,
            ),
            (
                "NTamd64.10.0",
                Some(Arch::Amd64),
                Some(10),
                Some(0),
                None,
                None,
                None,
            ),
            (
                "NTamd64.10.0...22000",
                Some(Arch::Amd64),
                Some(10),
                Some(0),
                None,
                None,
                Some(22000),
            ),
            (
                "NTarm64.10.0...16299",
                Some(Arch::Arm64),
                Some(10),
                Some(0),
                None,
                None,
                Some(16299),
            ),
            (
                "NTamd64.10.0.1",
                Some(Arch::Amd64),
                Some(10),
                Some(0),
                Some(1),
                None,
                None,
            ),
            (
                "NTamd64.10.0.1..17763",
                Some(Arch::Amd64),
                Some(10),
                Some(0),
                Some(1),
                None,
                Some(17763),
            ),
            (
                "NTamd64.10.0.3",
                Some(Arch::Amd64),
                Some(10),
                Some(0),
                Some(3),
                None,
                None,
            ),
            ("NT....0x80", None, None, None, None, Some(0x80), None),
            ("NT.5", None, Some(5), None, None, None, None),
            ("NT.5.5", None, Some(5), Some(5), None, None, None),
            (
                "NTx86.6.0.1.0x10",
                Some(Arch::X86),
                Some(6),
                Some(0),
                Some(1),
                Some(0x10),
                None,
            ),
            (
                "NTamd64...",
                Some(Arch::Amd64),
                None,
                None,
                None,
                None,
                None,
            ),
            (
                " NTamd64.10.0 ",
                Some(Arch::Amd64),
                Some(10),
                Some(0),
                None,
                None,
                None,
            ),
        ];
        for &(input, arch, major, minor, product, suite, build) in table {
            let d = Decoration::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(
                (
                    d.arch,
                    d.major,
                    d.minor,
                    d.product_type,
                    d.suite_mask,
                    d.build
                ),
                (arch, major, minor, product, suite, build),
                "{input}"
            );
            assert_eq!(d.raw, input.trim());
        }
    }

    #[test]
    fn bad_decorations_are_errors() {
        let table: &[(&str, &str)] = &[
            ("amd64", "does not start with `NT`"),
            ("", "does not start with `NT`"),
            ("NTmips", "unknown architecture `mips`"),
            ("NTamd64.ten", "non-numeric major `ten`"),
            ("NTamd64.10.0.1.2.3.4", "more than six fields"),
            ("Ñt", "does not start with `NT`"),
            ("NT$ARCH$", "not stamped"),
            ("NT$ARCH$.10.0...16299", "not stamped"),
        ];
        for &(input, expect) in table {
            let err = Decoration::parse(input).expect_err(input).to_string();
            assert!(err.contains(expect), "{input}: {err}");
        }
    }

    #[test]
    fn undecorated_and_plain_nt_mean_x86() {
        // windows-driver-internals.md §3.3 rule h.
        assert_eq!(
            Decoration::parse("NT").map(|d| d.effective_arch()),
            Ok(Arch::X86)
        );
        assert_eq!(
            Decoration::parse("NT.6.1").map(|d| d.effective_arch()),
            Ok(Arch::X86)
        );
        assert_eq!(
            Decoration::parse("NTarm64.10.0").map(|d| d.effective_arch()),
            Ok(Arch::Arm64)
        );
    }

    #[test]
    fn numbers_are_decimal_or_hex() {
        assert_eq!(parse_number("48"), Some(48));
        assert_eq!(parse_number("0x4"), Some(4));
        assert_eq!(parse_number("0X0Ff"), Some(255));
        assert_eq!(parse_number(" 2 "), Some(2));
        assert_eq!(parse_number("Field1"), None);
        assert_eq!(parse_number(""), None);
    }
}
