//! Recurses without end in every hook: the wasm call stack runs out and the call traps.

use infuse_sdk::{
    Candidate, Context, Decision, Device, Hook, PackageView, Plugin, ReasonedEdit, Result, Target,
};

pub struct DeepRecursion;

impl Plugin for DeepRecursion {
    const NAME: &'static str = "hostile-deep-recursion";
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
        Err(format!("depth {}", deep(0)).into())
    }

    fn transform(cx: &Context, package: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        let _ = (cx, package);
        Err(format!("depth {}", deep(0)).into())
    }
}

infuse_sdk::export_plugin!(DeepRecursion);

/// Not a tail call (the result is used after the call), so it cannot become a loop.
fn deep(n: u64) -> u64 {
    if n == u64::MAX {
        return 0;
    }
    let next = std::hint::black_box(n + 1);
    deep(next).wrapping_mul(3).wrapping_add(n)
}
