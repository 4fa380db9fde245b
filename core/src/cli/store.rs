//! `infuse store` (placeholder until its owner lands it).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum StoreCommand {}

pub(crate) fn run(c: StoreCommand) -> anyhow::Result<ExitCode> {
    match c {}
}
