//! `infuse inject`: put the drivers a machine needs (or named packages) into an offline image.
//!
//! Lock the image, finish or roll back an interrupted run, plan, then either print the plan
//! (`--plan`, nothing written) or commit it through the journal (`stage::commit`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::hwid::{self, Source};
use crate::image::Image;
use crate::image::existing::ImageDrivers;
use crate::rank::store::{ExtraNodes, StoreMatcher};
use crate::rank::{SignatureRules, Verdict};
use crate::stage::commit::{self, CommitReport, ImageLock, Recovery, Step};
use crate::stage::inject::{self, InjectOptions, InjectPlan, PackageSource};
use crate::stage::plan::{FileOp, Plan};
use infuse_driver_store::store::repo::Store;

#[derive(Debug, clap::Args)]
pub(crate) struct InjectArgs {
    /// The offline image: the folder that holds `Windows/`.
    #[arg(long, value_name = "DIR")]
    image: PathBuf,
    /// The store to take drivers from (made by `infuse store add`).
    #[arg(long, value_name = "STORE")]
    store: Option<PathBuf>,
    /// Devices from a Linux sysfs root (`/sys`, or a recorded tree).
    #[arg(long, value_name = "DIR", group = "devices")]
    sysfs: Option<PathBuf>,
    /// Devices from `lspci -nnvmm` or `lspci -vvnn` output.
    #[arg(long, value_name = "FILE", group = "devices")]
    lspci: Option<PathBuf>,
    /// Devices from a Windows export (pnputil, devcon, Get-PnpDevice JSON).
    #[arg(long, value_name = "FILE", group = "devices")]
    inventory: Option<PathBuf>,
    /// Devices from a hardware profile (TOML, or JSON by extension).
    #[arg(long, value_name = "FILE", group = "devices")]
    profile: Option<PathBuf>,
    /// Inject this package without matching: a store package id, or an .inf file or a folder
    /// of .inf files read directly. Repeatable.
    #[arg(long, value_name = "ID|PATH")]
    package: Vec<String>,
    /// Print the plan and write nothing.
    #[arg(long)]
    plan: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Inject matched drivers even when a driver already in the image ranks as well or better.
    #[arg(long)]
    force: bool,
    /// Also leave a first-boot step (SetupComplete.cmd) that runs `pnputil /add-driver
    /// /install` on the staged packages.
    #[arg(long)]
    firstboot: bool,
}

impl InjectArgs {
    fn device_source(&self) -> Option<Source> {
        if let Some(p) = &self.sysfs {
            Some(Source::Sysfs(p.clone()))
        } else if let Some(p) = &self.lspci {
            Some(Source::Lspci(p.clone()))
        } else if let Some(p) = &self.inventory {
            Some(Source::Inventory(p.clone()))
        } else {
            self.profile.as_ref().map(|p| Source::Profile(p.clone()))
        }
    }
}

/// A matched device's winner that is not injected, and why.
#[derive(Debug, Serialize)]
struct Skipped {
    device: String,
    package: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    recovery: Recovery,
    plan: &'a Plan,
    decisions: &'a [inject::Decision],
    skipped: &'a [Skipped],
    /// `None` with `--plan`.
    committed: Option<CommitReport>,
}

pub(crate) fn run(a: InjectArgs) -> anyhow::Result<ExitCode> {
    let mut fault = commit::env_fault_hook();
    let lock = ImageLock::acquire(&a.image)?;
    let recovery = if a.plan {
        if a.image.join(commit::TXN_DIR).exists() {
            anyhow::bail!(
                "{}: an interrupted infuse run left a transaction behind\nhint: run without --plan to finish or roll it back first",
                a.image.display()
            );
        }
        Recovery::Clean
    } else {
        commit::recover(&lock, &mut fault)?
    };
    match recovery {
        Recovery::Finished => tracing::warn!("finished an interrupted run on this image"),
        Recovery::RolledBack => tracing::warn!("rolled back an interrupted run on this image"),
        Recovery::Clean => {}
    }
    let image = Image::open(&a.image)
        .with_context(|| format!("cannot open the image {}", a.image.display()))?;
    let mut skipped = Vec::new();
    let packages = gather(&a, &image, &mut skipped)?;
    let InjectPlan { plan, decisions } = inject::plan_injection(
        &image,
        &packages,
        &InjectOptions {
            firstboot: a.firstboot,
            import_date: None,
        },
    )?;
    drop(image);
    let committed = if a.plan {
        None
    } else {
        Some(commit_with_progress(&lock, &plan, &mut fault)?)
    };
    drop(lock);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if a.json {
        serde_json::to_writer_pretty(
            &mut out,
            &Output {
                recovery,
                plan: &plan,
                decisions: &decisions,
                skipped: &skipped,
                committed: committed.clone(),
            },
        )?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &plan, &skipped, committed.as_ref())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The packages to inject: `--package` ones, then each matched device's winner.
fn gather(
    a: &InjectArgs,
    image: &Image,
    skipped: &mut Vec<Skipped>,
) -> anyhow::Result<Vec<PackageSource>> {
    let store = match &a.store {
        Some(s) => {
            Some(Store::open(s).with_context(|| format!("cannot open the store {}", s.display()))?)
        }
        None => None,
    };
    let mut out: Vec<PackageSource> = Vec::new();
    for p in &a.package {
        let path = PathBuf::from(p);
        if path.exists() {
            out.extend(PackageSource::from_path(&path)?);
        } else if let Some(store) = &store {
            out.push(PackageSource::from_store(store, p)?);
        } else {
            anyhow::bail!(
                "--package {p}: no such file or folder, and no --store to look the id up in"
            );
        }
    }
    let source = match a.device_source() {
        Some(s) => Some(s),
        None if a.package.is_empty() => Some(Source::Sysfs(PathBuf::from("/sys"))),
        None => None,
    };
    if let Some(source) = source {
        let (Some(store), Some(store_dir)) = (&store, &a.store) else {
            anyhow::bail!("matching devices needs --store\nhint: or name packages with --package");
        };
        let inv = hwid::load(&source).context("cannot read the devices")?;
        for w in &inv.warnings {
            tracing::warn!("{w}");
        }
        let matcher = StoreMatcher::open(store_dir)
            .with_context(|| format!("cannot open the store {}", store_dir.display()))?;
        // The drivers already in the image rank with the store's (§3.2a): a store driver that
        // loses or ties to one of them is reported, not injected, unless --force.
        let in_image = ImageDrivers::new(image)
            .with_context(|| format!("cannot read the driver database of {}", a.image.display()))?;
        let extra: Option<&dyn ExtraNodes> = in_image.has_database().then_some(&in_image as _);
        let target = image.target();
        let mut ids: Vec<String> = Vec::new();
        for d in inv
            .devices
            .iter()
            .filter(|d| !d.hardware_ids.is_empty() || !d.compatible_ids.is_empty())
        {
            let m = matcher.match_device_with(d, &target, SignatureRules::CatalogPresent, extra)?;
            let Some(w) = m.winner() else { continue };
            let pick = if !w.node.in_image {
                Some(w)
            } else {
                let best_store = m
                    .candidates
                    .iter()
                    .find(|c| !c.node.in_image && !matches!(c.verdict, Verdict::Excluded { .. }));
                if let Some(c) = best_store {
                    skipped.push(Skipped {
                        device: d.instance_id.clone(),
                        package: c.node.package.clone(),
                        reason: format!(
                            "{} already in the image ranks as well or better ({}){}",
                            w.node.inf,
                            w.explanation,
                            if a.force {
                                "; injected anyway (--force)"
                            } else {
                                ""
                            }
                        ),
                    });
                }
                if a.force { best_store } else { None }
            };
            let Some(c) = pick else { continue };
            if !c.node.complete {
                skipped.push(Skipped {
                    device: d.instance_id.clone(),
                    package: c.node.package.clone(),
                    reason: "the package is incomplete (files missing from it)".into(),
                });
                continue;
            }
            if !ids.iter().any(|i| i == &c.node.package) {
                ids.push(c.node.package.clone());
            }
        }
        for id in ids {
            out.push(PackageSource::from_store(store, &id)?);
        }
    }
    Ok(out)
}

fn commit_with_progress(
    lock: &ImageLock,
    plan: &Plan,
    fault: &mut dyn FnMut(&Step) -> std::io::Result<()>,
) -> anyhow::Result<CommitReport> {
    let sizes: Vec<u64> = plan
        .files
        .iter()
        .filter_map(|f| match f {
            FileOp::Put { size, .. } => Some(*size),
            FileOp::Remove { .. } => None,
        })
        .collect();
    let bar = indicatif::ProgressBar::hidden();
    if std::io::stderr().is_terminal() && sizes.iter().sum::<u64>() > 64 << 20 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_length(sizes.iter().sum());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }
    let mut hook = |s: &Step| {
        fault(s)?;
        match s {
            Step::Stage { n, dest } => {
                if let Some(prev) = n.checked_sub(1).and_then(|p| sizes.get(p)) {
                    bar.inc(*prev);
                }
                bar.set_message(dest.clone());
            }
            other => bar.set_message(other.to_string()),
        }
        Ok(())
    };
    let report = commit::commit(lock, plan, &mut hook)?;
    bar.finish_and_clear();
    Ok(report)
}

fn write_text(
    out: &mut impl Write,
    plan: &Plan,
    skipped: &[Skipped],
    committed: Option<&CommitReport>,
) -> std::io::Result<()> {
    for n in &plan.notes {
        writeln!(out, "{n}")?;
    }
    for s in skipped {
        writeln!(
            out,
            "not injected: {} for {}: {}",
            s.package, s.device, s.reason
        )?;
    }
    if plan.is_empty() {
        writeln!(out, "nothing to do: the image already has these packages")?;
        return Ok(());
    }
    match committed {
        None => {
            writeln!(out, "plan (nothing written):")?;
            for f in &plan.files {
                match f {
                    FileOp::Put { dest, size, .. } => {
                        writeln!(out, "  put    {dest} ({size} bytes)")?
                    }
                    FileOp::Remove { dest } => writeln!(out, "  remove {dest}")?,
                }
            }
            for h in &plan.hives {
                writeln!(out, "  {} {}", h.hive.image_path(), reg_op_text(&h.op))?;
            }
        }
        Some(r) => writeln!(
            out,
            "done: {} files written ({} bytes), {} removed, hives rewritten: {}",
            r.files_written,
            r.bytes_written,
            r.files_removed,
            if r.hives.is_empty() {
                "none".to_string()
            } else {
                r.hives.join(", ")
            }
        )?,
    }
    Ok(())
}

pub(crate) fn reg_op_text(op: &crate::stage::plan::RegOp) -> String {
    use crate::stage::plan::RegOp;
    match op {
        RegOp::CreateKey { key } => format!("create key {key}"),
        RegOp::SetValue {
            key,
            name,
            kind,
            data,
        } => format!(
            "set {key} [{}] = {} ({} bytes)",
            if name.is_empty() { "(default)" } else { name },
            crate::hive::ValueType(*kind),
            data.len()
        ),
        RegOp::DeleteValue { key, name } => format!("delete value {key} [{name}]"),
        RegOp::DeleteKey { key } => format!("delete key {key}"),
    }
}
