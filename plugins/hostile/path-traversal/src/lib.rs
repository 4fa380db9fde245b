//! Returns edits that reach outside the package and outside the device's registry key: the host
//! must refuse the output (paths from data are never trusted) and write nothing.

use infuse_sdk::{Context, Hook, PackageView, Plugin, ReasonedEdit, RegistryData, Result, Target};

pub struct PathTraversal;

impl Plugin for PathTraversal {
    const NAME: &'static str = "hostile-path-traversal";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: &'static [Hook] = &[Hook::Transform];
    const PCI_VENDORS: &'static [u16] = &[0x8086, 0x1AF4];
    const PROVIDERS: &'static [&'static str] = &["Contoso, Ltd."];

    fn transform(_: &Context, _: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        Ok(vec![
            ReasonedEdit::drop_file(
                "../../Windows/System32/config/SYSTEM",
                "climb out of the package",
            ),
            ReasonedEdit::drop_file("C:/Windows/System32/drivers/disk.sys", "an absolute path"),
            ReasonedEdit::add_registry(
                r"..\..\..\..\Microsoft\Windows\CurrentVersion\Run",
                "hostile",
                RegistryData::String(r"C:\evil.exe".to_owned()),
                "climb out of the device's key",
            ),
            ReasonedEdit::add_registry(
                r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\hostile",
                "ImagePath",
                RegistryData::ExpandString(r"%SystemRoot%\evil.sys".to_owned()),
                "an absolute registry path",
            ),
        ])
    }
}

infuse_sdk::export_plugin!(PathTraversal);

#[cfg(test)]
mod tests {
    use super::*;
    use infuse_sdk::testkit::TestKit;

    #[test]
    fn manifest_agrees() {
        let kit =
            TestKit::from_manifest(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
        kit.check_manifest::<PathTraversal>().unwrap();
    }
}
