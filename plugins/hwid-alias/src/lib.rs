//! hwid-alias: a new hardware line works with last year's driver under a new hardware ID.
//!
//! For every configured alias whose `like` hardware ID appears in the package's models, the plugin
//! asks the host to add the same models lines for the new IDs (`add-hardware-ids`), so the driver
//! installs on the new SKU. IDs the INF already lists are not added again; an alias whose `like`
//! the INF does not list is skipped (logged), so one configuration serves every package of the
//! vendor.
//!
//! An alias may also set registry values the new line needs (`add-registry`: written by infuse
//! as an AddReg line of the package's DDInstall `.HW` sections, so under the device's key):
//!
//! ```toml
//! [[config.alias]]
//! like = 'PCI\VEN_8086&DEV_15B8&SUBSYS_86721043'
//! ids = ['PCI\VEN_8086&DEV_15B8&SUBSYS_87001043']
//! registry = [{ subkey = 'Parameters', name = 'SkuFlags', dword = 8 }]
//! ```

use infuse_sdk::inf::model::Model;
use infuse_sdk::{Context, Hook, PackageView, Plugin, ReasonedEdit, RegistryData, Result, Target};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    alias: Vec<Alias>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Alias {
    like: String,
    ids: Vec<String>,
    #[serde(default)]
    registry: Vec<Value>,
}

/// A registry value under the device's key: `dword` or `string`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Value {
    #[serde(default)]
    subkey: String,
    name: String,
    dword: Option<u32>,
    string: Option<String>,
}

pub struct HwidAlias;

impl Plugin for HwidAlias {
    const NAME: &'static str = "hwid-alias";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: &'static [Hook] = &[Hook::Transform];
    const PCI_VENDORS: &'static [u16] = &[0x8086];
    const PROVIDERS: &'static [&'static str] = &["Contoso, Ltd."];

    fn transform(cx: &Context, package: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        let config: Config = cx.config()?;
        let inf = cx.read_inf(package)?;
        let model = Model::new(&inf);
        let listed: Vec<&str> = model
            .manufacturers
            .iter()
            .flat_map(|m| &m.models)
            .flat_map(|m| &m.entries)
            .map(|e| e.hardware_id.as_str())
            .collect();
        let has = |id: &str| listed.iter().any(|l| l.eq_ignore_ascii_case(id));
        let mut edits = Vec::new();
        for alias in &config.alias {
            if !has(&alias.like) {
                cx.debug(&format!(
                    "{}: no models line for {}",
                    package.inf_path, alias.like
                ));
                continue;
            }
            let new: Vec<&String> = alias.ids.iter().filter(|id| !has(id)).collect();
            if new.is_empty() {
                continue;
            }
            edits.push(ReasonedEdit::add_hardware_ids(
                alias.like.clone(),
                new.iter().map(|s| s.as_str()),
                format!("new hardware line: same driver as {}", alias.like),
            ));
            for v in &alias.registry {
                let data = match (&v.dword, &v.string) {
                    (Some(n), None) => RegistryData::Dword(*n),
                    (None, Some(s)) => RegistryData::String(s.clone()),
                    _ => {
                        return Err(infuse_sdk::Error::msg(format!(
                            "plugin.toml [config.alias] registry `{}`: give exactly one of dword, string",
                            v.name
                        )));
                    }
                };
                edits.push(ReasonedEdit::add_registry(
                    v.subkey.clone(),
                    v.name.clone(),
                    data,
                    format!("the new hardware line {} needs it", alias.ids.join(", ")),
                ));
            }
        }
        Ok(edits)
    }
}

infuse_sdk::export_plugin!(HwidAlias);

#[cfg(test)]
mod tests {
    use super::*;
    use infuse_sdk::testkit::TestKit;

    fn cnet() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../driver-store/fixtures/packages/cnet")
    }

    #[test]
    fn manifest_agrees_and_its_alias_applies_to_cnet() {
        let kit =
            TestKit::from_manifest(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
        kit.check_manifest::<HwidAlias>().unwrap();
        let edits = kit
            .transform::<HwidAlias>(cnet(), &Target::windows_11("amd64"))
            .unwrap();
        assert_eq!(
            edits,
            vec![ReasonedEdit::add_hardware_ids(
                r"PCI\VEN_8086&DEV_15B8&SUBSYS_86721043",
                [r"PCI\VEN_8086&DEV_15B8&SUBSYS_87001043"],
                r"new hardware line: same driver as PCI\VEN_8086&DEV_15B8&SUBSYS_86721043",
            )]
        );
    }

    #[test]
    fn ids_already_listed_and_unknown_models_add_nothing() {
        // cnet.inf lists DEV_15BC already as a models line's hardware ID, so nothing is added for
        // it; DEV_15B8 without SUBSYS is only a compatible ID there and DEV_9999 is absent: an
        // alias applies to a models line's hardware ID only (plugin.wit, hardware-id-alias).
        let kit = TestKit::with_config_toml(
            r#"
            [[alias]]
            like = 'pci\ven_8086&dev_15b8&subsys_86721043'
            ids = ['PCI\VEN_8086&DEV_15BC']
            [[alias]]
            like = 'PCI\VEN_8086&DEV_15B8'
            ids = ['PCI\VEN_8086&DEV_15F3']
            [[alias]]
            like = 'PCI\VEN_8086&DEV_9999'
            ids = ['PCI\VEN_8086&DEV_AAAA']
            "#,
        )
        .unwrap();
        let edits = kit
            .transform::<HwidAlias>(cnet(), &Target::windows_11("amd64"))
            .unwrap();
        assert_eq!(edits, vec![]);
        let logged: Vec<String> = kit.logs().into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            logged,
            [
                r"cnet.inf: no models line for PCI\VEN_8086&DEV_15B8",
                r"cnet.inf: no models line for PCI\VEN_8086&DEV_9999",
            ]
        );
    }
}
