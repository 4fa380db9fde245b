//! The Windows a driver is chosen for: version, build, architecture, product type, suite mask.

use std::fmt;

use infuse_driver_store::inf::model::Arch;
use serde::Serialize;

/// VER_NT_WORKSTATION, VER_NT_DOMAIN_CONTROLLER, VER_NT_SERVER (windows-driver-internals.md §3.3).
pub const PRODUCT_WORKSTATION: u32 = 1;
pub const PRODUCT_DOMAIN_CONTROLLER: u32 = 2;
pub const PRODUCT_SERVER: u32 = 3;
/// VER_SUITE_SINGLEUSERTS: what Windows 10/11 client editions report in `wSuiteMask`.
pub const SUITE_SINGLEUSERTS: u32 = 0x100;

/// The target OS of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Target {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    pub arch: Arch,
    pub product_type: u32,
    pub suite_mask: u32,
}

/// A target that cannot be read from the command line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error(
        "OS version `{0}` is not major.minor.build\nhint: e.g. `--os 10.0.22631` (Windows 11 23H2) or `--os 10.0.19045` (Windows 10 22H2)"
    )]
    Version(String),
    #[error(
        "architecture `{0}` is unknown\nhint: one of x86, amd64, arm64, arm, ia64 (x64 and aarch64 are accepted too)"
    )]
    Arch(String),
    #[error(
        "product type `{0}` is unknown\nhint: workstation, server, domain-controller, or 1, 2, 3"
    )]
    ProductType(String),
    #[error("suite mask `{0}` is not a number\nhint: e.g. `--suite-mask 0x100`")]
    SuiteMask(String),
}

impl Target {
    /// A Windows client target (workstation, suite mask 0x100).
    pub fn new(major: u32, minor: u32, build: u32, arch: Arch) -> Target {
        Target {
            major,
            minor,
            build,
            arch,
            product_type: PRODUCT_WORKSTATION,
            suite_mask: SUITE_SINGLEUSERTS,
        }
    }

    /// Parse `--os`, `--arch`, `--product-type`, `--suite-mask` values.
    pub fn parse(
        os: &str,
        arch: &str,
        product_type: Option<&str>,
        suite_mask: Option<&str>,
    ) -> Result<Target, TargetError> {
        let parts: Vec<&str> = os.trim().split('.').collect();
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| TargetError::Version(os.to_owned()))
        };
        let (major, minor, build) = match parts.as_slice() {
            [a, b, c] => (num(a)?, num(b)?, num(c)?),
            [a, b, c, _revision] => (num(a)?, num(b)?, num(c)?),
            _ => return Err(TargetError::Version(os.to_owned())),
        };
        let arch = parse_arch(arch).ok_or_else(|| TargetError::Arch(arch.to_owned()))?;
        let mut t = Target::new(major, minor, build, arch);
        if let Some(p) = product_type {
            t.product_type = match p.trim().to_ascii_lowercase().as_str() {
                "1" | "workstation" | "client" => PRODUCT_WORKSTATION,
                "2" | "domain-controller" | "dc" => PRODUCT_DOMAIN_CONTROLLER,
                "3" | "server" => PRODUCT_SERVER,
                _ => return Err(TargetError::ProductType(p.to_owned())),
            };
        }
        if let Some(s) = suite_mask {
            t.suite_mask = infuse_driver_store::inf::model::parse_number(s)
                .ok_or_else(|| TargetError::SuiteMask(s.to_owned()))?;
        }
        Ok(t)
    }
}

/// Architecture names as INF platform extensions spell them, plus the usual aliases.
pub fn parse_arch(s: &str) -> Option<Arch> {
    match s.trim().to_ascii_lowercase().as_str() {
        "x64" | "x86_64" | "x86-64" => Some(Arch::Amd64),
        "aarch64" => Some(Arch::Arm64),
        "i386" | "i686" => Some(Arch::X86),
        other => Arch::parse(other),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Windows {}.{}.{} {} (product type {}, suite mask 0x{:X})",
            self.major, self.minor, self.build, self.arch, self.product_type, self.suite_mask
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_command_line_values() {
        let t = Target::parse("10.0.22631", "amd64", None, None).expect("parses");
        assert_eq!(t, Target::new(10, 0, 22631, Arch::Amd64));
        let t =
            Target::parse("10.0.20348.2113", "x64", Some("server"), Some("0x110")).expect("parses");
        assert_eq!(
            (t.build, t.arch, t.product_type, t.suite_mask),
            (20348, Arch::Amd64, 3, 0x110)
        );
        assert_eq!(
            Target::parse("10.0.26100", "aarch64", None, None).map(|t| t.arch),
            Ok(Arch::Arm64)
        );
    }

    #[test]
    fn bad_values_are_errors_with_hints() {
        assert!(
            Target::parse("10", "amd64", None, None)
                .is_err_and(|e| e.to_string().contains("hint: e.g. `--os 10.0.22631`"))
        );
        assert!(Target::parse("10.0.x", "amd64", None, None).is_err());
        assert_eq!(
            Target::parse("10.0.1", "mips", None, None),
            Err(TargetError::Arch("mips".into()))
        );
        assert_eq!(
            Target::parse("10.0.1", "x86", Some("kiosk"), None),
            Err(TargetError::ProductType("kiosk".into()))
        );
        assert_eq!(
            Target::parse("10.0.1", "x86", None, Some("zz")),
            Err(TargetError::SuiteMask("zz".into()))
        );
    }
}
