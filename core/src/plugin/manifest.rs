//! `plugin.toml`, as the host reads it (format in `sdk/README.md`, "plugin.toml").
//!
//! The file is read and checked by the SDK's reader (`infuse_sdk::manifest`, the one the test
//! kit uses), so the host and a vendor's `cargo test` accept the same files with the same
//! messages. What is the host's: the component's path resolved next to `plugin.toml`, `sha256`
//! normalised (and required at load, in `runtime`: it ties the manifest a vendor signed off to
//! the component that runs), vendor IDs and hooks in the host's types, and errors naming the file.

use std::path::{Path, PathBuf};

use infuse_sdk::manifest as file;

use super::{Hook, PluginError, PluginInfo, Vendors};

pub use file::{
    DEFAULT_DEADLINE_MS, DEFAULT_FUEL, DEFAULT_MEMORY_BYTES, Limits, MAX_DEADLINE_MS, MAX_FUEL,
    MAX_MEMORY_BYTES,
};

/// The manifest's file name in a plugin directory.
pub const FILE_NAME: &str = "plugin.toml";

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
    /// The file as the SDK's reader returned it, for comparing with `describe()`.
    read: file::Manifest,
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
        let read = file::Manifest::parse(text)?;
        let mut hooks: Vec<Hook> = read
            .hooks
            .iter()
            .map(|h| match h.as_str() {
                "select" => Hook::Select,
                // The reader refuses any other name.
                _ => Hook::Transform,
            })
            .collect();
        hooks.sort();
        hooks.dedup();
        let vendors = Vendors {
            pci: read.pci_vendors(),
            usb: read.usb_vendors(),
            providers: read.vendors.providers.clone(),
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        Ok(Manifest {
            path: path.to_path_buf(),
            name: read.name.clone(),
            version: read.version.clone(),
            api_version: read.api_version.clone(),
            component: dir.join(&read.component),
            sha256: read.sha256.to_ascii_lowercase(),
            hooks,
            vendors,
            limits: read.limits,
            config_json: read.config_json(),
            read,
        })
    }

    /// Whether `describe()` agrees with this manifest (name, version, API major.minor, vendors,
    /// hooks): every disagreement, separated by `; `.
    pub fn check_describe(&self, info: &PluginInfo) -> Result<(), String> {
        let hooks: Vec<&str> = info.hooks.iter().map(|h| hook_name(*h)).collect();
        let problems = self.read.disagreements(&file::Identity {
            name: &info.name,
            version: &info.version,
            api_version: &info.api_version,
            pci: &info.vendors.pci,
            usb: &info.vendors.usb,
            providers: &info.vendors.providers,
            hooks: &hooks,
        });
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// A hook's name as `plugin.toml` writes it.
fn hook_name(hook: Hook) -> &'static str {
    match hook {
        Hook::Select => "select",
        Hook::Transform => "transform",
    }
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
