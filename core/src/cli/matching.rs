//! `infuse match`: the driver Windows would pick for every device, from an infuse store.
//!
//! Exit codes: 0 done (and coverage complete when `--require-*` asked for it), 1 error,
//! 2 coverage short of what `--require-all` / `--require-boot` demand.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::scan::SourceArgs;
use crate::rank::store::StoreMatcher;
use crate::rank::{Candidate, DeviceMatch, MatchReport, SignatureRules, Target, Verdict};

#[derive(Debug, clap::Args)]
pub(crate) struct MatchArgs {
    /// The store to pick drivers from (made by `infuse store add`).
    #[arg(long, value_name = "STORE")]
    store: PathBuf,
    #[command(flatten)]
    source: SourceArgs,
    /// Target Windows version, major.minor.build (10.0.22631 = Windows 11 23H2).
    #[arg(long, value_name = "VERSION")]
    os: String,
    /// Target architecture: amd64, arm64, x86 (x64, aarch64 accepted).
    #[arg(long)]
    arch: String,
    /// Product type: workstation (default), server, domain-controller.
    #[arg(long, value_name = "TYPE")]
    product_type: Option<String>,
    /// Suite mask (VER_SUITE_* bits), default 0x100 as Windows client editions report.
    #[arg(long, value_name = "MASK")]
    suite_mask: Option<String>,
    /// How the signature score is decided.
    #[arg(long, value_enum, default_value_t = SignatureRules::CatalogPresent)]
    signature_rules: SignatureRules,
    /// Show every candidate of every device and why it lost or was excluded.
    #[arg(long)]
    explain: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Exit with status 2 unless every device has a driver.
    #[arg(long)]
    require_all: bool,
    /// Exit with status 2 unless every boot-critical device has a driver.
    #[arg(long)]
    require_boot: bool,
    #[command(flatten)]
    plugins: super::plugin::PluginArgs,
}

/// Exit status when coverage is short of a `--require-*` flag.
const EXIT_SHORT: u8 = 2;

pub(crate) fn run(a: MatchArgs) -> anyhow::Result<ExitCode> {
    let target = Target::parse(
        &a.os,
        &a.arch,
        a.product_type.as_deref(),
        a.suite_mask.as_deref(),
    )?;
    let inv = a.source.load()?;
    let matcher = StoreMatcher::open(&a.store)
        .with_context(|| format!("cannot open the store {}", a.store.display()))?;
    let mut report = MatchReport::build(
        &matcher,
        &inv,
        target,
        a.signature_rules,
        a.store.display().to_string(),
    )?;
    let plugins = super::plugin::apply_to_match(&a.plugins, &mut report)?;
    let summary = report.summary;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if a.json {
        super::plugin::write_match_json(&mut out, &report, plugins.as_ref())?;
        writeln!(out)?;
    } else {
        if let Some(p) = &plugins {
            super::plugin::write_match_header(&mut out, p)?;
        }
        write_text(&mut out, &report, a.explain)?;
    }
    out.flush()?;
    super::plugin::check_strict(&a.plugins, plugins.as_ref())?;
    let short = (a.require_all && summary.uncovered > 0)
        || (a.require_boot && summary.boot_critical_uncovered > 0);
    Ok(if short {
        ExitCode::from(EXIT_SHORT)
    } else {
        ExitCode::SUCCESS
    })
}

fn node_line(c: &Candidate) -> String {
    let n = &c.node;
    let install = if c.install().is_empty() {
        String::new()
    } else {
        format!(" [{}]", c.install())
    };
    let ver = n
        .driver_ver
        .map(|d| format!(", DriverVer {d}"))
        .unwrap_or_default();
    format!(
        "{}{install} \"{}\" — {} (package {}, [{}] line {}{ver})",
        n.inf, n.description, c.explanation, n.package, n.models_section, n.line
    )
}

fn write_device(out: &mut impl Write, m: &DeviceMatch, explain: bool) -> std::io::Result<()> {
    let boot = if m.boot_critical() {
        "  [boot-critical]"
    } else {
        ""
    };
    writeln!(out, "{}{boot}", m.device.instance_id)?;
    if let Some(desc) = &m.device.description {
        writeln!(out, "  {desc}")?;
    }
    match m.winner() {
        Some(w) => {
            writeln!(out, "  → {}", node_line(w))?;
            super::plugin::write_notes(out, w, "    ")?;
            if w.rank.id_match.is_compatible_only() {
                writeln!(
                    out,
                    "    only a compatible-ID match: a generic driver, none names this device"
                )?;
            }
        }
        None => writeln!(out, "  → no driver")?,
    }
    super::plugin::write_failures(out, m)?;
    if explain {
        for c in m
            .candidates
            .iter()
            .filter(|c| c.verdict != Verdict::Selected)
        {
            writeln!(out, "    {}: {}", c.verdict_text(), node_line(c))?;
            super::plugin::write_notes(out, c, "      ")?;
        }
    } else if m.winner().is_none() {
        for c in m.candidates.iter().take(3) {
            writeln!(out, "    near miss, {}: {}", c.verdict_text(), node_line(c))?;
        }
        if m.candidates.len() > 3 {
            writeln!(out, "    … {} more (--explain)", m.candidates.len() - 3)?;
        }
    }
    Ok(())
}

pub(crate) fn write_text(
    out: &mut impl Write,
    r: &MatchReport,
    explain: bool,
) -> std::io::Result<()> {
    writeln!(out, "# target: {}", r.target)?;
    writeln!(out, "# signature rules: {}", r.signature_rules)?;
    writeln!(out, "# devices: {}; store: {}", r.source, r.store)?;
    for m in &r.devices {
        writeln!(out)?;
        write_device(out, m, explain)?;
    }
    let s = &r.summary;
    writeln!(out)?;
    writeln!(
        out,
        "summary: {} devices, {} covered ({} by a compatible ID only), {} uncovered, {} boot-critical uncovered",
        s.devices,
        s.covered,
        s.covered_by_compatible_id_only,
        s.uncovered,
        s.boot_critical_uncovered
    )?;
    Ok(())
}
