//! `infuse reg` (placeholder until its owner lands it).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RegCommand {}

pub(crate) fn run(c: RegCommand) -> anyhow::Result<ExitCode> {
    match c {}
}
