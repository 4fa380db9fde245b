//! Panics in every hook: the call traps and the host shows the panic message from the plugin's stderr.

use infuse_sdk::{
    Candidate, Context, Decision, Device, Hook, PackageView, Plugin, ReasonedEdit, Result, Target,
};

pub struct Panic;

impl Plugin for Panic {
    const NAME: &'static str = "hostile-panic";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: &'static [Hook] = &[Hook::Select, Hook::Transform];
    const PCI_VENDORS: &'static [u16] = &[0x8086, 0x1AF4];
    const PROVIDERS: &'static [&'static str] = &["Contoso, Ltd."];

    fn select(
        cx: &Context,
        _: &Device,
        _: &Target,
        candidates: &[Candidate],
    ) -> Result<Vec<Decision>> {
        let _ = (cx, candidates);
        panic!(
            "hostile-panic: select panicked on purpose ({} candidates)",
            candidates.len()
        )
    }

    fn transform(cx: &Context, package: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        let _ = (cx, package);
        panic!(
            "hostile-panic: transform panicked on purpose ({})",
            package.id
        )
    }
}

infuse_sdk::export_plugin!(Panic);
