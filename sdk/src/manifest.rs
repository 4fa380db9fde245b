//! `plugin.toml`: what a plugin directory declares about its component (format in
//! `sdk/README.md`, "plugin.toml").
//!
//! The host reads the same file before it loads the component; this reader is the test kit's,
//! so a vendor's `cargo test` catches a manifest that disagrees with the code
//! ([`Manifest::check_describe`]) before `infuse plugin check` does.

use std::path::Path;

use serde::Deserialize;

use crate::{Hook, PluginInfo};

/// Default fuel per call (about a billion wasm instructions).
pub const DEFAULT_FUEL: u64 = 1_000_000_000;
/// Default linear-memory cap per call: 64 MiB.
pub const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;
/// Default wall-clock deadline per call.
pub const DEFAULT_DEADLINE_MS: u64 = 1_000;
/// The largest values a manifest may ask for.
pub const MAX_FUEL: u64 = 100_000_000_000;
pub const MAX_MEMORY_BYTES: u64 = 1 << 30;
pub const MAX_DEADLINE_MS: u64 = 60_000;

/// A parsed `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub api_version: String,
    /// File name of the component, next to `plugin.toml`.
    pub component: String,
    /// Lower-case hex sha256 of the component file.
    #[serde(default)]
    pub sha256: String,
    pub hooks: Vec<String>,
    #[serde(default)]
    pub vendors: ManifestVendors,
    #[serde(default)]
    pub limits: Limits,
    /// Passed to every call as JSON.
    #[serde(default)]
    pub config: toml::Table,
}

/// `[vendors]`: IDs as 4 hex digits, providers as resolved `[Version] Provider` names.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestVendors {
    #[serde(default)]
    pub pci: Vec<String>,
    #[serde(default)]
    pub usb: Vec<String>,
    #[serde(default)]
    pub providers: Vec<String>,
}

/// `[limits]`, per call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Limits {
    pub fuel: u64,
    pub memory_bytes: u64,
    pub deadline_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: DEFAULT_FUEL,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            deadline_ms: DEFAULT_DEADLINE_MS,
        }
    }
}

impl Manifest {
    /// Read and check `path`; errors name the file.
    pub fn load(path: &Path) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Manifest::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parse and check the text of a `plugin.toml`.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        m.check()?;
        Ok(m)
    }

    /// The `[config]` table as the JSON object passed to `select` and `transform`.
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.config).unwrap_or_else(|_| "{}".to_owned())
    }

    /// `vendors.pci` as numbers.
    pub fn pci_vendors(&self) -> Vec<u16> {
        self.vendors.pci.iter().filter_map(|s| hex_id(s)).collect()
    }

    /// `vendors.usb` as numbers.
    pub fn usb_vendors(&self) -> Vec<u16> {
        self.vendors.usb.iter().filter_map(|s| hex_id(s)).collect()
    }

    fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(format!(
                "name `{}`: expected 1 to 64 lower-case letters, digits and `-`",
                self.name
            ));
        }
        if !self.api_version.starts_with("0.1.") {
            return Err(format!(
                "api-version `{}`: this SDK implements 0.1.x",
                self.api_version
            ));
        }
        let plain = !self.component.is_empty()
            && !self.component.contains(['/', '\\', ':'])
            && self.component != ".."
            && self.component.ends_with(".wasm");
        if !plain {
            return Err(format!(
                "component `{}`: expected a `.wasm` file name next to plugin.toml",
                self.component
            ));
        }
        let sha_ok = self.sha256.is_empty()
            || (self.sha256.len() == 64 && self.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
        if !sha_ok {
            return Err(format!("sha256 `{}`: expected 64 hex digits", self.sha256));
        }
        if self.hooks.is_empty() {
            return Err("hooks: expected at least one of \"select\", \"transform\"".to_owned());
        }
        for h in &self.hooks {
            if h != "select" && h != "transform" {
                return Err(format!(
                    "hooks: unknown hook `{h}` (expected \"select\" or \"transform\")"
                ));
            }
        }
        for (key, ids) in [("pci", &self.vendors.pci), ("usb", &self.vendors.usb)] {
            if let Some(bad) = ids.iter().find(|s| hex_id(s).is_none()) {
                return Err(format!(
                    "vendors.{key}: `{bad}` is not a vendor ID (expected 4 hex digits, e.g. \"8086\")"
                ));
            }
        }
        let v = &self.vendors;
        if v.pci.is_empty() && v.usb.is_empty() && v.providers.is_empty() {
            return Err("vendors: expected at least one pci, usb or providers entry".to_owned());
        }
        let l = &self.limits;
        for (key, value, max) in [
            ("fuel", l.fuel, MAX_FUEL),
            ("memory-bytes", l.memory_bytes, MAX_MEMORY_BYTES),
            ("deadline-ms", l.deadline_ms, MAX_DEADLINE_MS),
        ] {
            if value == 0 || value > max {
                return Err(format!("limits.{key} = {value}: expected 1 to {max}"));
            }
        }
        Ok(())
    }

    /// Whether the component's `describe()` agrees with this manifest (name, version, API
    /// major.minor, vendors, hooks), as the host requires.
    pub fn check_describe(&self, info: &PluginInfo) -> Result<(), String> {
        let mut problems = Vec::new();
        if info.name != self.name {
            problems.push(format!(
                "name: plugin.toml says `{}`, describe() says `{}`",
                self.name, info.name
            ));
        }
        if info.version != self.version {
            problems.push(format!(
                "version: plugin.toml says `{}`, describe() says `{}`",
                self.version, info.version
            ));
        }
        if major_minor(&info.api_version) != major_minor(&self.api_version) {
            problems.push(format!(
                "api-version: plugin.toml says `{}`, describe() says `{}`",
                self.api_version, info.api_version
            ));
        }
        if sorted(self.pci_vendors()) != sorted(info.vendors.pci.clone()) {
            problems.push(format!(
                "vendors.pci: plugin.toml says {:?}, describe() says {:04x?}",
                self.vendors.pci, info.vendors.pci
            ));
        }
        if sorted(self.usb_vendors()) != sorted(info.vendors.usb.clone()) {
            problems.push(format!(
                "vendors.usb: plugin.toml says {:?}, describe() says {:04x?}",
                self.vendors.usb, info.vendors.usb
            ));
        }
        let folded = |v: &[String]| sorted(v.iter().map(|p| p.to_lowercase()).collect());
        if folded(&self.vendors.providers) != folded(&info.vendors.providers) {
            problems.push(format!(
                "vendors.providers: plugin.toml says {:?}, describe() says {:?}",
                self.vendors.providers, info.vendors.providers
            ));
        }
        let hooks: Vec<String> = info
            .hooks
            .iter()
            .map(|h| Hook::name(*h).to_owned())
            .collect();
        if sorted(hooks.clone()) != sorted(self.hooks.clone()) {
            problems.push(format!(
                "hooks: plugin.toml says {:?}, describe() says {:?}",
                self.hooks, hooks
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// A vendor ID written as exactly 4 hex digits.
fn hex_id(s: &str) -> Option<u16> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u16::from_str_radix(s, 16).ok())
        .flatten()
}

fn major_minor(v: &str) -> Option<(&str, &str)> {
    let mut parts = v.split('.');
    Some((parts.next()?, parts.next()?))
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Vendors;

    const MINIMAL: &str = r#"
name = "contoso-policy"
version = "1.0.0"
api-version = "0.1.0"
component = "contoso_policy.wasm"
hooks = ["select"]
[vendors]
pci = ["8086"]
"#;

    #[test]
    fn defaults_fill_limits_and_config() {
        let m = Manifest::parse(MINIMAL).unwrap();
        assert_eq!(m.limits, Limits::default());
        assert_eq!(m.limits.memory_bytes, 64 * 1024 * 1024);
        assert_eq!(m.config_json(), "{}");
        assert_eq!(m.pci_vendors(), vec![0x8086]);
    }

    #[test]
    fn config_table_becomes_a_json_object() {
        let text = format!(
            "{MINIMAL}\n[config]\nblocked = [\"1.0.0.0\"]\nprefer = {{ prefix = \"2.\" }}\n"
        );
        let m = Manifest::parse(&text).unwrap();
        let json: serde_json::Value = serde_json::from_str(&m.config_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"blocked": ["1.0.0.0"], "prefer": {"prefix": "2."}})
        );
    }

    #[test]
    fn refusals_name_the_key() {
        let cases = [
            (MINIMAL.replace("\"8086\"", "\"0x8086\""), "vendors.pci"),
            (MINIMAL.replace("contoso-policy", "Contoso Policy"), "name"),
            (
                MINIMAL.replace("contoso_policy.wasm", "../x.wasm"),
                "component",
            ),
            (MINIMAL.replace("[\"select\"]", "[\"probe\"]"), "hooks"),
            (MINIMAL.replace("0.1.0", "0.2.0"), "api-version"),
            (format!("{MINIMAL}[limits]\nfuel = 0\n"), "limits.fuel"),
            (
                format!("{MINIMAL}[limits]\nmemory-bytes = 4294967296\n"),
                "limits.memory-bytes",
            ),
            (format!("{MINIMAL}colour = \"red\"\n"), "colour"),
        ];
        for (text, key) in cases {
            let err = Manifest::parse(&text).unwrap_err();
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn describe_must_agree() {
        let m = Manifest::parse(MINIMAL).unwrap();
        let mut info = PluginInfo {
            name: "contoso-policy".into(),
            version: "1.0.0".into(),
            api_version: "0.1.3".into(),
            vendors: Vendors {
                pci: vec![0x8086],
                usb: vec![],
                providers: vec![],
            },
            hooks: vec![Hook::Select],
        };
        assert_eq!(m.check_describe(&info), Ok(()));
        info.hooks.push(Hook::Transform);
        info.vendors.pci = vec![0x10ec];
        let err = m.check_describe(&info).unwrap_err();
        assert!(
            err.contains("hooks") && err.contains("vendors.pci"),
            "{err}"
        );
    }
}
