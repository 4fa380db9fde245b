//! `plugin.toml`, as the host reads it (format in `sdk/README.md`, "plugin.toml"; the SDK's test
//! kit reads the same file with the same rules).
//!
//! The host is stricter than the test kit on one point: `sha256` is required, because it is what
//! ties the manifest a vendor signed off to the component that runs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Hook, PluginError, PluginInfo, Vendors};

/// The manifest's file name in a plugin directory.
pub const FILE_NAME: &str = "plugin.toml";

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

/// A checked `plugin.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The `plugin.toml` it was read from.
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub api_version: String,
    /// The component file, next to `plugin.toml`.
    pub component: PathBuf,
    /// Lower-case hex sha256 of the component (empty when the manifest gives none: refused at load).
    pub sha256: String,
    pub hooks: Vec<Hook>,
    pub vendors: Vendors,
    pub limits: Limits,
    /// The `[config]` table as the JSON object passed to every call.
    pub config_json: String,
}

/// Per-call limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    name: String,
    version: String,
    api_version: String,
    component: String,
    #[serde(default)]
    sha256: String,
    hooks: Vec<String>,
    #[serde(default)]
    vendors: RawVendors,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    config: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVendors {
    #[serde(default)]
    pci: Vec<String>,
    #[serde(default)]
    usb: Vec<String>,
    #[serde(default)]
    providers: Vec<String>,
}

impl Manifest {
    /// Reads `DIR/plugin.toml`; every error names the file and the key.
    pub fn load(dir: &Path) -> Result<Manifest, PluginError> {
        let path = dir.join(FILE_NAME);
        let text = fs_err::read_to_string(&path).map_err(|source| PluginError::Io {
            path: path.clone(),
            source,
        })?;
        Manifest::parse(&text, &path).map_err(|why| PluginError::Manifest { path, why })
    }

    /// Parses and checks the text of the `plugin.toml` at `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| e.to_string())?;
        let name_ok = !raw.name.is_empty()
            && raw.name.len() <= 64
            && raw
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(format!(
                "name `{}`: expected 1 to 64 lower-case letters, digits and `-`",
                raw.name
            ));
        }
        if major_minor(&raw.api_version) != major_minor(super::API_VERSION) {
            return Err(format!(
                "api-version `{}`: this host implements {} (0.1.x)",
                raw.api_version,
                super::API_VERSION
            ));
        }
        let plain = !raw.component.is_empty()
            && !raw.component.contains(['/', '\\', ':'])
            && raw.component.ends_with(".wasm");
        if !plain {
            return Err(format!(
                "component `{}`: expected a `.wasm` file name next to plugin.toml",
                raw.component
            ));
        }
        // An empty sha256 parses (a fresh skeleton has one) but never loads: the host compares
        // it with the component and reports the component's hash.
        let hex64 = raw.sha256.len() == 64 && raw.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !raw.sha256.is_empty() && !hex64 {
            return Err(format!("sha256 `{}`: expected 64 hex digits", raw.sha256));
        }
        if raw.hooks.is_empty() {
            return Err("hooks: expected at least one of \"select\", \"transform\"".to_owned());
        }
        let mut hooks = Vec::new();
        for h in &raw.hooks {
            hooks.push(match h.as_str() {
                "select" => Hook::Select,
                "transform" => Hook::Transform,
                _ => {
                    return Err(format!(
                        "hooks: unknown hook `{h}` (expected \"select\" or \"transform\")"
                    ));
                }
            });
        }
        hooks.sort();
        hooks.dedup();
        let mut vendors = Vendors {
            providers: raw.vendors.providers.clone(),
            ..Vendors::default()
        };
        for (key, ids, out) in [
            ("pci", &raw.vendors.pci, &mut vendors.pci),
            ("usb", &raw.vendors.usb, &mut vendors.usb),
        ] {
            for s in ids {
                out.push(hex_id(s).ok_or_else(|| {
                    format!(
                        "vendors.{key}: `{s}` is not a vendor ID (expected 4 hex digits, e.g. \"8086\")"
                    )
                })?);
            }
        }
        if vendors.pci.is_empty() && vendors.usb.is_empty() && vendors.providers.is_empty() {
            return Err("vendors: expected at least one pci, usb or providers entry".to_owned());
        }
        let l = raw.limits;
        for (key, value, max) in [
            ("fuel", l.fuel, MAX_FUEL),
            ("memory-bytes", l.memory_bytes, MAX_MEMORY_BYTES),
            ("deadline-ms", l.deadline_ms, MAX_DEADLINE_MS),
        ] {
            if value == 0 || value > max {
                return Err(format!("limits.{key} = {value}: expected 1 to {max}"));
            }
        }
        let config_json = serde_json::to_string(&raw.config).map_err(|e| format!("config: {e}"))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Ok(Manifest {
            path: path.to_path_buf(),
            name: raw.name,
            version: raw.version,
            api_version: raw.api_version,
            component: dir.join(&raw.component),
            sha256: raw.sha256.to_ascii_lowercase(),
            hooks,
            vendors,
            limits: l,
            config_json,
        })
    }

    /// Whether `describe()` agrees with this manifest (name, version, API major.minor, vendors,
    /// hooks): every disagreement, one per line.
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
        if sorted(self.vendors.pci.clone()) != sorted(info.vendors.pci.clone()) {
            problems.push(format!(
                "vendors.pci: plugin.toml says {:04x?}, describe() says {:04x?}",
                self.vendors.pci, info.vendors.pci
            ));
        }
        if sorted(self.vendors.usb.clone()) != sorted(info.vendors.usb.clone()) {
            problems.push(format!(
                "vendors.usb: plugin.toml says {:04x?}, describe() says {:04x?}",
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
        if sorted(info.hooks.clone()) != self.hooks {
            problems.push(format!(
                "hooks: plugin.toml says {:?}, describe() says {:?}",
                self.hooks, info.hooks
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
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

    const MINIMAL: &str = r#"
name = "contoso-policy"
version = "1.0.0"
api-version = "0.1.0"
component = "contoso_policy.wasm"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
hooks = ["select"]
[vendors]
pci = ["8086"]
"#;

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, Path::new("/p/plugin.toml"))
    }

    #[test]
    fn defaults_and_config() {
        let m = parse(&format!("{MINIMAL}[config]\nblock = [\"1.0\"]\n")).unwrap();
        assert_eq!(m.limits, Limits::default());
        assert_eq!(m.vendors.pci, vec![0x8086]);
        assert_eq!(m.component, Path::new("/p/contoso_policy.wasm"));
        assert_eq!(m.config_json, r#"{"block":["1.0"]}"#);
        assert_eq!(parse(MINIMAL).unwrap().config_json, "{}");
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
            (
                MINIMAL.replace("sha256 = \"0000", "sha256 = \"zz00"),
                "sha256",
            ),
            (format!("{MINIMAL}[limits]\nfuel = 0\n"), "limits.fuel"),
            (
                format!("{MINIMAL}[limits]\nmemory-bytes = 4294967296\n"),
                "limits.memory-bytes",
            ),
            (format!("{MINIMAL}colour = \"red\"\n"), "colour"),
        ];
        for (text, key) in cases {
            let err = parse(&text).unwrap_err();
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn describe_must_agree() {
        let m = parse(MINIMAL).unwrap();
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
