//! `infuse scan` (placeholder until its owner lands it).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {}

pub(crate) fn run(_a: ScanArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
