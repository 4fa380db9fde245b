//! `infuse inf` (placeholder until its owner lands it).

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum InfCommand {}

pub(crate) fn run(c: InfCommand) -> anyhow::Result<ExitCode> {
    match c {}
}
