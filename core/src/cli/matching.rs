//! `infuse matching` (placeholder until its owner lands it).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct MatchArgs {}

pub(crate) fn run(_a: MatchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
