//! Allocates and touches 1 MiB blocks until memory runs out: the host's memory cap must stop it.

use infuse_sdk::{
    Candidate, Context, Decision, Device, Hook, PackageView, Plugin, ReasonedEdit, Result, Target,
};

pub struct MemoryBomb;

impl Plugin for MemoryBomb {
    const NAME: &'static str = "hostile-memory-bomb";
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
        bomb()
    }

    fn transform(cx: &Context, package: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        let _ = (cx, package);
        bomb()
    }
}

infuse_sdk::export_plugin!(MemoryBomb);

/// Never returns: each block is written so the pages are really used, and kept alive.
fn bomb() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        block[blocks.len() % (1 << 20)] = 1;
        blocks.push(std::hint::black_box(block));
    }
}
