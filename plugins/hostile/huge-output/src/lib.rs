//! Returns about `config.bytes` bytes (default 100 MB) of decisions or edits: the host must refuse
//! the output as too large instead of carrying it into `--explain` or a plan.

use infuse_sdk::{
    Candidate, Context, Decision, Device, Hook, PackageView, Plugin, ReasonedEdit, Result, Target,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Config {
    #[serde(default = "hundred_mb")]
    bytes: usize,
}

fn hundred_mb() -> usize {
    100_000_000
}

/// One reason is 1 MB; the output is `bytes / 1 MB` of them (at least one).
const REASON: usize = 1_000_000;

pub struct HugeOutput;

impl Plugin for HugeOutput {
    const NAME: &'static str = "hostile-huge-output";
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
        let config: Config = cx.config()?;
        let Some(first) = candidates.first() else {
            return Ok(Vec::new());
        };
        let reason = "x".repeat(REASON);
        Ok((0..count(&config))
            .map(|_| Decision::prefer(first, reason.clone()))
            .collect())
    }

    fn transform(cx: &Context, _: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        let config: Config = cx.config()?;
        let reason = "x".repeat(REASON);
        Ok((0..count(&config))
            .map(|i| ReasonedEdit::insert_lines("Version", [format!("; {i}")], reason.clone()))
            .collect())
    }
}

fn count(config: &Config) -> usize {
    (config.bytes / REASON).max(1)
}

infuse_sdk::export_plugin!(HugeOutput);
