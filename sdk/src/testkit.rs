//! Run a [`Plugin`] natively, in-process, against fixtures: the vendor's unit tests.
//!
//! The plugin code is the same that goes into the component; only the [`Host`] differs: package
//! files come from a directory on disk, log lines are recorded, and the configuration comes from
//! a `plugin.toml` or a TOML/JSON text. What the test kit does not do is what only the real host
//! does (fuel, deadline, memory cap, validating edits against the package): run
//! `infuse plugin check DIR` on the built plugin for that.
//!
//! ```no_run
//! use infuse_sdk::testkit::TestKit;
//! use infuse_sdk::{Device, Target};
//! # struct MyPlugin;
//! # impl infuse_sdk::Plugin for MyPlugin {
//! #     const NAME: &'static str = "p"; const VERSION: &'static str = "1.0.0";
//! #     const HOOKS: &'static [infuse_sdk::Hook] = &[infuse_sdk::Hook::Select];
//! # }
//! let kit = TestKit::from_manifest("plugin.toml").unwrap();
//! kit.check_manifest::<MyPlugin>().unwrap();
//! let device = Device::with_ids(&[r"PCI\VEN_8086&DEV_15B8"], &[]);
//! let decisions = kit.select::<MyPlugin>(&device, &Target::windows_11("amd64"), &[]).unwrap();
//! ```

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::manifest::Manifest;
use crate::{
    Candidate, Context, Decision, Device, Error, Host, LogLevel, PackageFile, PackageView, Plugin,
    ReasonedEdit, Result, Target, inf,
};

/// A native stand-in for the host.
#[derive(Debug, Default)]
pub struct TestKit {
    config: String,
    manifest: Option<Manifest>,
    log: RefCell<Vec<(LogLevel, String)>>,
}

impl TestKit {
    /// No configuration (`{}`).
    pub fn new() -> Self {
        TestKit {
            config: "{}".to_owned(),
            ..TestKit::default()
        }
    }

    /// The configuration of a `plugin.toml` (its `[config]` table), which
    /// [`TestKit::check_manifest`] also checks against the plugin.
    pub fn from_manifest(path: impl AsRef<Path>) -> Result<Self> {
        let manifest = Manifest::load(path.as_ref()).map_err(Error::msg)?;
        Ok(TestKit {
            config: manifest.config_json(),
            manifest: Some(manifest),
            ..TestKit::default()
        })
    }

    /// A configuration written as the body of a `[config]` table.
    pub fn with_config_toml(toml_text: &str) -> Result<Self> {
        let table: toml::Table =
            toml::from_str(toml_text).map_err(|e| Error::msg(format!("[config]: {e}")))?;
        Ok(TestKit {
            config: serde_json::to_string(&table)?,
            ..TestKit::new()
        })
    }

    /// A configuration as the JSON text the host passes.
    pub fn with_config_json(json: &str) -> Self {
        TestKit {
            config: json.to_owned(),
            ..TestKit::new()
        }
    }

    /// The JSON configuration passed to calls.
    pub fn config_json(&self) -> &str {
        &self.config
    }

    /// Whether `P::describe()` agrees with the manifest this kit was made from.
    pub fn check_manifest<P: Plugin>(&self) -> Result<()> {
        let manifest = self
            .manifest
            .as_ref()
            .ok_or_else(|| Error::msg("this TestKit was not made from a plugin.toml"))?;
        manifest.check_describe(&P::describe()).map_err(Error::msg)
    }

    /// Call `P::select` as the host would.
    pub fn select<P: Plugin>(
        &self,
        device: &Device,
        target: &Target,
        candidates: &[Candidate],
    ) -> Result<Vec<Decision>> {
        let host = KitHost {
            log: &self.log,
            package: None,
        };
        P::select(
            &Context::new(&self.config, &host),
            device,
            target,
            candidates,
        )
    }

    /// Call `P::transform` on the package in `dir` (see [`package_view`]), its files readable
    /// through the context as the host would serve them.
    pub fn transform<P: Plugin>(
        &self,
        dir: impl AsRef<Path>,
        target: &Target,
    ) -> Result<Vec<ReasonedEdit>> {
        let dir = dir.as_ref();
        let view = package_view(dir)?;
        let host = KitHost {
            log: &self.log,
            package: Some(dir.to_path_buf()),
        };
        P::transform(&Context::new(&self.config, &host), &view, target)
    }

    /// The lines logged so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.log.borrow().clone()
    }
}

struct KitHost<'a> {
    log: &'a RefCell<Vec<(LogLevel, String)>>,
    package: Option<PathBuf>,
}

impl Host for KitHost<'_> {
    fn log(&self, level: LogLevel, message: &str) {
        self.log.borrow_mut().push((level, message.to_owned()));
    }

    fn read_package_file(&self, path: &str) -> std::result::Result<Vec<u8>, String> {
        let Some(root) = &self.package else {
            return Err("no package: files can only be read during transform".to_owned());
        };
        let plain = !path.is_empty()
            && !path.starts_with('/')
            && !path.contains(['\\', ':'])
            && path
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..");
        if !plain {
            return Err(format!(
                "`{path}` is not a `/`-separated path inside the package"
            ));
        }
        std::fs::read(root.join(path)).map_err(|e| e.to_string())
    }
}

/// The [`PackageView`] the host would hand `transform` for the driver package in `dir`: every
/// file (`/`-separated, sorted), the one `.inf` at its root, and `[Version]`'s provider, class and
/// `DriverVer` (date as `yyyy-mm-dd`) read with infuse's parser. The id is the folder's name.
pub fn package_view(dir: &Path) -> Result<PackageView> {
    let mut files = Vec::new();
    list_files(dir, "", &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let infs: Vec<&PackageFile> = files
        .iter()
        .filter(|f| !f.path.contains('/') && f.path.to_ascii_lowercase().ends_with(".inf"))
        .collect();
    let [inf_file] = infs.as_slice() else {
        return Err(Error::msg(format!(
            "{}: expected exactly one .inf at the package root, found {}",
            dir.display(),
            infs.len()
        )));
    };
    let inf_path = inf_file.path.clone();
    let bytes = std::fs::read(dir.join(&inf_path))
        .map_err(|e| Error::msg(format!("{}: {e}", dir.join(&inf_path).display())))?;
    let parsed = inf::parse(&bytes);
    let value = |key: &str| parsed.value("Version", key).unwrap_or_default().to_owned();
    let (driver_date, driver_version) =
        driver_ver(parsed.section("Version").and_then(|s| s.find("DriverVer")));
    Ok(PackageView {
        id: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        inf_path,
        provider: value("Provider"),
        class: value("Class"),
        driver_date,
        driver_version,
        files,
    })
}

/// `DriverVer = mm/dd/yyyy[,w.x.y.z]` → (`yyyy-mm-dd`, version).
fn driver_ver(line: Option<&inf::Line>) -> (String, String) {
    let Some(line) = line else {
        return (String::new(), String::new());
    };
    let date = line.field(1).unwrap_or_default();
    let version = line.field(2).unwrap_or_default().to_owned();
    let parts: Vec<&str> = date.split(['/', '-']).collect();
    let date = match parts.as_slice() {
        [m, d, y] => format!("{y:0>4}-{m:0>2}-{d:0>2}"),
        _ => date.to_owned(),
    };
    (date, version)
}

fn list_files(root: &Path, prefix: &str, out: &mut Vec<PackageFile>) -> Result<()> {
    let dir = root.join(prefix);
    let entries =
        std::fs::read_dir(&dir).map_err(|e| Error::msg(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::msg(format!("{}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = entry
            .metadata()
            .map_err(|e| Error::msg(format!("{}: {e}", entry.path().display())))?;
        if meta.is_dir() {
            list_files(root, &rel, out)?;
        } else {
            out.push(PackageFile {
                path: rel,
                size: meta.len(),
            });
        }
    }
    Ok(())
}

/// A candidate for select tests: `id`, the INF file name and the driver version; the other
/// fields are plausible defaults (a signed hardware-ID match, rank 0x00FF0000, provider
/// `Contoso, Ltd.`) to overwrite as the test needs.
pub fn candidate(id: u32, inf_name: &str, driver_version: &str) -> Candidate {
    Candidate {
        id,
        package: format!("{inf_name}_{id:016x}"),
        inf_name: inf_name.to_owned(),
        provider: "Contoso, Ltd.".to_owned(),
        description: format!("{inf_name} device"),
        matched_id: String::new(),
        rank: 0x00FF_0000,
        driver_date: "2024-01-01".to_owned(),
        driver_version: driver_version.to_owned(),
        install_section: "Install.NT".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hook;

    struct Echo;

    impl Plugin for Echo {
        const NAME: &'static str = "echo";
        const VERSION: &'static str = "0.1.0";
        const HOOKS: &'static [Hook] = &[Hook::Select, Hook::Transform];
        const PROVIDERS: &'static [&'static str] = &["Contoso, Ltd."];

        fn select(
            cx: &Context,
            _: &Device,
            _: &Target,
            candidates: &[Candidate],
        ) -> Result<Vec<Decision>> {
            #[derive(serde::Deserialize)]
            struct Config {
                block: String,
            }
            let config: Config = cx.config()?;
            cx.info(&format!("blocking {}", config.block));
            Ok(candidates
                .iter()
                .filter(|c| c.driver_version == config.block)
                .map(|c| Decision::reject(c, "blocked"))
                .collect())
        }

        fn transform(cx: &Context, package: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
            let inf = cx.read_inf(package)?;
            let mut edits: Vec<ReasonedEdit> = inf
                .sections
                .iter()
                .filter(|s| s.name().eq_ignore_ascii_case("util_files"))
                .map(|s| ReasonedEdit::drop_section(s.name(), "no utilities"))
                .collect();
            // A path outside the package is refused by the kit as the host refuses it.
            let err = cx.read_package_file("../escape").unwrap_err();
            edits.push(ReasonedEdit::drop_file("x", err.into_message()));
            Ok(edits)
        }
    }

    const INF: &str = "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nProvider=%C%\r\nDriverVer=2/3/2024,2.1.0.0\r\n[util_files]\r\nutil.dll\r\n[Strings]\r\nC=\"Contoso, Ltd.\"\r\n";

    #[test]
    fn select_sees_the_configuration_and_logs_are_recorded() {
        let kit = TestKit::with_config_toml("block = \"1.0.0.0\"").unwrap();
        let cands = [
            candidate(0, "a.inf", "1.0.0.0"),
            candidate(1, "b.inf", "2.0.0.0"),
        ];
        let device = Device::with_ids(&[r"PCI\VEN_8086&DEV_1234"], &[]);
        let out = kit
            .select::<Echo>(&device, &Target::windows_11("amd64"), &cands)
            .unwrap();
        assert_eq!(out, vec![Decision::reject(&cands[0], "blocked")]);
        assert_eq!(
            kit.logs(),
            vec![(LogLevel::Info, "blocking 1.0.0.0".to_owned())]
        );
        // A configuration missing the key is the plugin's error, naming plugin.toml.
        let err = TestKit::new()
            .select::<Echo>(&device, &Target::windows_11("amd64"), &cands)
            .unwrap_err();
        assert!(
            err.message()
                .starts_with("plugin.toml [config]: missing field `block`"),
            "{err:?}"
        );
    }

    #[test]
    fn transform_reads_the_package_directory() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("cnet");
        std::fs::create_dir_all(pkg.join("x64")).unwrap();
        std::fs::write(pkg.join("cnet.inf"), INF).unwrap();
        std::fs::write(pkg.join("x64/util.dll"), b"MZ").unwrap();
        let view = package_view(&pkg).unwrap();
        assert_eq!(view.id, "cnet");
        assert_eq!(view.inf_path, "cnet.inf");
        assert_eq!(view.provider, "Contoso, Ltd.");
        assert_eq!(view.class, "Net");
        assert_eq!(
            (view.driver_date.as_str(), view.driver_version.as_str()),
            ("2024-02-03", "2.1.0.0")
        );
        let paths: Vec<&str> = view.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["cnet.inf", "x64/util.dll"]);
        assert_eq!(view.file("X64/UTIL.DLL").map(|f| f.size), Some(2));

        let edits = TestKit::new()
            .transform::<Echo>(&pkg, &Target::windows_11("amd64"))
            .unwrap();
        assert_eq!(
            edits[0],
            ReasonedEdit::drop_section("util_files", "no utilities")
        );
        assert!(
            edits[1]
                .reason
                .contains("not a `/`-separated path inside the package")
        );
    }

    #[test]
    fn manifest_agreement_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.toml");
        let manifest = "name = \"echo\"\nversion = \"0.1.0\"\napi-version = \"0.1.0\"\ncomponent = \"echo.wasm\"\nhooks = [\"select\", \"transform\"]\n[vendors]\nproviders = [\"contoso, ltd.\"]\n[config]\nblock = \"9\"\n";
        std::fs::write(&path, manifest).unwrap();
        let kit = TestKit::from_manifest(&path).unwrap();
        assert_eq!(kit.check_manifest::<Echo>(), Ok(()));
        assert_eq!(kit.config_json(), r#"{"block":"9"}"#);
        std::fs::write(&path, manifest.replace("\"select\", ", "")).unwrap();
        let err = TestKit::from_manifest(&path)
            .unwrap()
            .check_manifest::<Echo>()
            .unwrap_err();
        assert!(
            err.message()
                .starts_with("hooks: plugin.toml says [\"transform\"]"),
            "{err:?}"
        );
    }
}
