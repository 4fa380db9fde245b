//! Loops forever in every hook, with a small fuel budget in plugin.toml: the host's fuel limit must stop it.

use infuse_sdk::{
    Candidate, Context, Decision, Device, Hook, PackageView, Plugin, ReasonedEdit, Result, Target,
};

pub struct BurnFuel;

impl Plugin for BurnFuel {
    const NAME: &'static str = "hostile-burn-fuel";
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
        spin()
    }

    fn transform(cx: &Context, package: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        let _ = (cx, package);
        spin()
    }
}

infuse_sdk::export_plugin!(BurnFuel);

/// Never returns; `black_box` keeps the loop from being optimized into a trap.
fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
