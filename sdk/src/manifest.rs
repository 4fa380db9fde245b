//! `plugin.toml`: what a plugin directory declares about its component (format in
//! `sdk/README.md`, "plugin.toml").
//!
//! This is the one reader of the format (feature `manifest`): the host (infuse's core, which
//! builds the SDK without its guest bindings) and the test kit both use it, so the two cannot
//! accept different files or word a refusal differently. The host adds only what is its own on
//! top: resolving the component's path, requiring and checking `sha256`, and its error types. A
//! vendor's `cargo test` thus catches a manifest that disagrees with the code
//! (`Manifest::check_describe`, feature `testkit`) before `infuse plugin check` does.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[cfg(feature = "guest")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
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
        if major_minor(&self.api_version) != major_minor(crate::API_VERSION) {
            return Err(format!(
                "api-version `{}`: this host and SDK implement {} (0.1.x)",
                self.api_version,
                crate::API_VERSION
            ));
        }
        let plain = !self.component.is_empty()
            && !self.component.contains(['/', '\\', ':'])
            && self.component.ends_with(".wasm");
        if !plain {
            return Err(format!(
                "component `{}`: expected a `.wasm` file name next to plugin.toml",
                self.component
            ));
        }
        // An empty sha256 parses (a fresh skeleton has one); the host refuses to load it and
        // reports the component's hash instead.
        let hex64 = self.sha256.len() == 64 && self.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !self.sha256.is_empty() && !hex64 {
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
    /// major.minor, vendors, hooks), as the host requires: every disagreement, one per line.
    #[cfg(feature = "guest")]
    pub fn check_describe(&self, info: &PluginInfo) -> Result<(), String> {
        let hooks: Vec<&str> = info.hooks.iter().map(|h| Hook::name(*h)).collect();
        let described = Identity {
            name: &info.name,
            version: &info.version,
            api_version: &info.api_version,
            pci: &info.vendors.pci,
            usb: &info.vendors.usb,
            providers: &info.vendors.providers,
            hooks: &hooks,
        };
        let problems = self.disagreements(&described);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// How `described` (what a component's `describe()` returned, in whichever bindings' types)
    /// disagrees with this manifest: name, version, API major.minor, vendors (providers compared
    /// case-insensitively) and hooks (as sets). One message per key, naming it.
    pub fn disagreements(&self, described: &Identity<'_>) -> Vec<String> {
        let mut problems = Vec::new();
        if described.name != self.name {
            problems.push(format!(
                "name: plugin.toml says `{}`, describe() says `{}`",
                self.name, described.name
            ));
        }
        if described.version != self.version {
            problems.push(format!(
                "version: plugin.toml says `{}`, describe() says `{}`",
                self.version, described.version
            ));
        }
        if major_minor(described.api_version) != major_minor(&self.api_version) {
            problems.push(format!(
                "api-version: plugin.toml says `{}`, describe() says `{}`",
                self.api_version, described.api_version
            ));
        }
        for (key, declared, said) in [
            ("pci", &self.vendors.pci, described.pci),
            ("usb", &self.vendors.usb, described.usb),
        ] {
            let ids: Vec<u16> = declared.iter().filter_map(|s| hex_id(s)).collect();
            if sorted(ids) != sorted(said.to_vec()) {
                problems.push(format!(
                    "vendors.{key}: plugin.toml says {declared:?}, describe() says {said:04x?}"
                ));
            }
        }
        let folded = |v: &[String]| sorted(v.iter().map(|p| p.to_lowercase()).collect());
        if folded(&self.vendors.providers) != folded(described.providers) {
            problems.push(format!(
                "vendors.providers: plugin.toml says {:?}, describe() says {:?}",
                self.vendors.providers, described.providers
            ));
        }
        let declared: Vec<&str> = self.hooks.iter().map(String::as_str).collect();
        if sorted(declared) != sorted(described.hooks.to_vec()) {
            problems.push(format!(
                "hooks: plugin.toml says {:?}, describe() says {:?}",
                self.hooks, described.hooks
            ));
        }
        problems
    }
}

/// Who a component says it is (its `describe()`), as plain data: the guest's bindings and the
/// host's each have their own `PluginInfo` type, and both are compared with a manifest through
/// this one ([`Manifest::disagreements`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub api_version: &'a str,
    pub pci: &'a [u16],
    pub usb: &'a [u16],
    pub providers: &'a [String],
    /// Hook names as `plugin.toml` writes them: `select`, `transform`.
    pub hooks: &'a [&'a str],
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
    fn api_version_compares_major_minor_with_the_contract() {
        // The contract is infuse:plugin@0.1.0: any 0.1.x manifest is accepted, 0.2 and 1.1 not.
        for ok in ["0.1.0", "0.1.7"] {
            let text = MINIMAL.replace(
                "api-version = \"0.1.0\"",
                &format!("api-version = \"{ok}\""),
            );
            assert_eq!(Manifest::parse(&text).unwrap().api_version, ok);
        }
        for bad in ["0.2.0", "1.1.0", "0.10.0", ""] {
            let text = MINIMAL.replace(
                "api-version = \"0.1.0\"",
                &format!("api-version = \"{bad}\""),
            );
            let err = Manifest::parse(&text).unwrap_err();
            assert!(err.starts_with(&format!("api-version `{bad}`")), "{err}");
        }
    }

    #[test]
    fn disagreements_name_every_key() {
        let m = Manifest::parse(MINIMAL).unwrap();
        let providers = ["Contoso".to_owned()];
        let described = Identity {
            name: "contoso-policy",
            version: "1.0.0",
            api_version: "0.1.3",
            pci: &[0x8086],
            usb: &[],
            providers: &[],
            hooks: &["select", "select"],
        };
        assert_eq!(m.disagreements(&described), Vec::<String>::new());
        let wrong = Identity {
            name: "other",
            version: "2.0.0",
            api_version: "0.2.0",
            pci: &[0x10ec],
            usb: &[0x046d],
            providers: &providers,
            hooks: &["transform"],
        };
        let keys: Vec<String> = m
            .disagreements(&wrong)
            .iter()
            .map(|p| p.split(':').next().unwrap().to_owned())
            .collect();
        assert_eq!(
            keys,
            [
                "name",
                "version",
                "api-version",
                "vendors.pci",
                "vendors.usb",
                "vendors.providers",
                "hooks"
            ]
        );
    }

    #[cfg(feature = "guest")]
    #[test]
    fn describe_must_agree() {
        use crate::{Hook, PluginInfo, Vendors};

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
