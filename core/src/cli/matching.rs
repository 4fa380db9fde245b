//! `infuse match`: the driver Windows would pick for every device, from an infuse store.
//!
//! Exit codes: 0 done (and coverage complete when `--require-*` asked for it), 1 error,
//! 2 coverage short of what `--require-all` / `--require-boot` demand.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::scan::SourceArgs;
use crate::image::Image;
use crate::image::existing::ImageDrivers;
use crate::rank::store::{ExtraNodes, StoreMatcher};
use crate::rank::{Candidate, DeviceMatch, MatchReport, SignatureRules, Target, Verdict};

#[derive(Debug, clap::Args)]
pub(crate) struct MatchArgs {
    /// The store to pick drivers from (made by `infuse store add`).
    #[arg(long, value_name = "STORE")]
    store: PathBuf,
    #[command(flatten)]
    source: SourceArgs,
    /// Target Windows version, major.minor.build (10.0.22631 = Windows 11 23H2); read from
    /// the image with --image.
    #[arg(long, value_name = "VERSION", required_unless_present = "image")]
    os: Option<String>,
    /// Target architecture: amd64, arm64, x86 (x64, aarch64 accepted); read from the image
    /// with --image.
    #[arg(long, required_unless_present = "image")]
    arch: Option<String>,
    /// An offline image (the folder holding `Windows/`): the target comes from it (the flags
    /// above still override), and the drivers already in its DriverDatabase are ranked with
    /// the store's.
    #[arg(long, value_name = "DIR")]
    image: Option<PathBuf>,
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
    let image = a
        .image
        .as_deref()
        .map(|dir| {
            Image::open(dir)
                .with_context(|| format!("cannot read the offline image {}", dir.display()))
        })
        .transpose()?;
    let from_image = image.as_ref().map(Image::target);
    // Each flag overrides what the image says; without an image clap requires --os and --arch.
    let os =
        a.os.clone()
            .or_else(|| from_image.map(|t| format!("{}.{}.{}", t.major, t.minor, t.build)));
    let arch = a
        .arch
        .clone()
        .or_else(|| from_image.map(|t| t.arch.as_str().to_owned()));
    let (Some(os), Some(arch)) = (os, arch) else {
        anyhow::bail!("--os and --arch are required unless --image is given");
    };
    let product_type = a
        .product_type
        .clone()
        .or_else(|| from_image.map(|t| t.product_type.to_string()));
    let suite_mask = a
        .suite_mask
        .clone()
        .or_else(|| from_image.map(|t| format!("{:#x}", t.suite_mask)));
    let target = Target::parse(&os, &arch, product_type.as_deref(), suite_mask.as_deref())?;
    let inv = a
        .source
        .load(crate::hwid::LadderTarget::for_build(target.build))?;
    let matcher = StoreMatcher::open(&a.store)
        .with_context(|| format!("cannot open the store {}", a.store.display()))?;
    let existing = image.as_ref().map(ImageDrivers::new).transpose()?;
    let mut report = MatchReport::build_with(
        &matcher,
        &inv,
        target,
        a.signature_rules,
        a.store.display().to_string(),
        existing.as_ref().map(|x| x as &dyn ExtraNodes),
    )?;
    let plugins = super::plugin::apply_to_match(
        &a.plugins,
        &mut report,
        a.signature_rules,
        &a.store,
        &matcher,
    )?;
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
    if n.in_image {
        return format!(
            "{}{install} (already in the image, package {}{ver}) — {}",
            n.inf, n.package, c.explanation
        );
    }
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
            // A store driver that loses to (or ties with) the image's own is not worth
            // injecting: say which and why, even without --explain.
            if w.node.in_image
                && !explain
                && let Some(best) = m
                    .candidates
                    .iter()
                    .find(|c| !c.node.in_image && matches!(c.verdict, Verdict::Lost { .. }))
            {
                writeln!(
                    out,
                    "    store driver {} {}: {}",
                    best.node.inf,
                    best.verdict_text(),
                    best.explanation
                )?;
            }
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
    if let Some(image) = &r.image {
        writeln!(out, "# ranked with the drivers already in the {image}")?;
    }
    for m in &r.devices {
        writeln!(out)?;
        write_device(out, m, explain)?;
    }
    let s = &r.summary;
    writeln!(out)?;
    writeln!(
        out,
        "summary: {} devices, {} covered ({} by a compatible ID only{}), {} uncovered, {} boot-critical uncovered",
        s.devices,
        s.covered,
        s.covered_by_compatible_id_only,
        if r.image.is_some() {
            format!(", {} by a driver already in the image", s.covered_by_image)
        } else {
            String::new()
        },
        s.uncovered,
        s.boot_critical_uncovered
    )?;
    Ok(())
}
