//! `infuse scan`: list a machine's devices with their ordered hardware and compatible IDs.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::hwid::{self, Inventory, LadderTarget, Source};

/// Where the devices come from (shared by `scan` and `match`). Without any, `/sys`.
#[derive(Debug, Clone, clap::Args)]
#[group(multiple = false)]
pub(crate) struct SourceArgs {
    /// A Linux sysfs root (`/sys`, or a recorded tree).
    #[arg(long, value_name = "DIR")]
    sysfs: Option<PathBuf>,
    /// `lspci -nnvmm` or `lspci -vvnn` output.
    #[arg(long, value_name = "FILE")]
    lspci: Option<PathBuf>,
    /// A Windows export: `pnputil /enum-devices /ids`, `devcon hwids *`, or
    /// `Get-PnpDevice | Select-Object InstanceId,HardwareID,CompatibleID | ConvertTo-Json`.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// A hardware profile (TOML, or JSON by extension); schema in ARCHITECTURE.md (core/src/hwid).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
}

impl SourceArgs {
    pub(crate) fn source(&self) -> Source {
        if let Some(p) = &self.lspci {
            Source::Lspci(p.clone())
        } else if let Some(p) = &self.inventory {
            Source::Inventory(p.clone())
        } else if let Some(p) = &self.profile {
            Source::Profile(p.clone())
        } else {
            Source::Sysfs(self.sysfs.clone().unwrap_or_else(|| PathBuf::from("/sys")))
        }
    }

    /// Read the devices with the ID ladders `target` reports, logging the reader's warnings.
    pub(crate) fn load(&self, target: LadderTarget) -> anyhow::Result<Inventory> {
        let inv = hwid::load_for(&self.source(), target).context("cannot read the devices")?;
        for w in &inv.warnings {
            tracing::warn!("{w}");
        }
        Ok(inv)
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The Windows the IDs are built for, major.minor.build (10.0.26100): some IDs depend on
    /// the build (USB `COMPAT_VID_` from 22621). Without it, the IDs of builds before those.
    #[arg(long, value_name = "VERSION", value_parser = parse_ladder_os)]
    os: Option<LadderTarget>,
    /// Print JSON (the device list with ordered IDs) instead of text.
    #[arg(long)]
    json: bool,
    /// Do not look up vendor/device names in pci.ids / usb.ids.
    #[arg(long)]
    no_names: bool,
}

pub(crate) fn run(a: ScanArgs) -> anyhow::Result<ExitCode> {
    let mut inv = a.source.load(a.os.unwrap_or_default())?;
    if !a.no_names {
        hwid::names::annotate(&mut inv.devices);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if a.json {
        serde_json::to_writer_pretty(&mut out, &inv)?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &inv)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn parse_ladder_os(s: &str) -> Result<LadderTarget, String> {
    LadderTarget::parse_os(s)
        .ok_or_else(|| format!("`{s}` is not major.minor.build (e.g. 10.0.26100)"))
}

fn write_text(out: &mut impl Write, inv: &Inventory) -> std::io::Result<()> {
    writeln!(out, "# {} — {} devices", inv.source, inv.devices.len())?;
    for d in &inv.devices {
        writeln!(out)?;
        let boot = if d.boot_critical {
            "  [boot-critical]"
        } else {
            ""
        };
        writeln!(out, "{}{boot}", d.instance_id)?;
        if let Some(desc) = &d.description {
            writeln!(out, "  {desc}")?;
        }
        if let Some(loc) = &d.location {
            writeln!(out, "  bus {} at {loc}", d.bus.as_str())?;
        }
        for (label, ids) in [
            ("hardware IDs", &d.hardware_ids),
            ("compatible IDs", &d.compatible_ids),
        ] {
            if ids.is_empty() {
                continue;
            }
            writeln!(out, "  {label}:")?;
            for (i, id) in ids.iter().enumerate() {
                writeln!(out, "    #{i:<2} {id}")?;
            }
        }
    }
    Ok(())
}
