//! Loops forever in every hook: the host's wall-clock deadline (epoch interruption) must stop it.

use infuse_sdk::{
    Candidate, Context, Decision, Device, Hook, PackageView, Plugin, ReasonedEdit, Result, Target,
};

pub struct LoopForever;

impl Plugin for LoopForever {
    const NAME: &'static str = "hostile-loop-forever";
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

infuse_sdk::export_plugin!(LoopForever);

/// Never returns; `black_box` keeps the loop from being optimized into a trap.
fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
