//! `infuse inject`: put the drivers a machine needs (or named packages) into an offline image.
//!
//! Lock the image, finish or roll back an interrupted run, plan, then either print the plan
//! (`--plan`, nothing written) or commit it through the journal (`stage::commit`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::transformed::TransformedStore;
use crate::hwid::{self, Source};
use crate::image::Image;
use crate::image::existing::ImageDrivers;
use crate::plugin::Plugin;
use crate::plugin::transform::TransformedPackage;
use crate::rank::select::PluginAction;
use crate::rank::store::{ExtraNodes, StoreMatcher};
use crate::rank::{DeviceMatch, Target};
use crate::rank::{SignatureRules, Verdict};
use crate::stage::commit::{self, CommitReport, ImageLock, Recovery, Step};
use crate::stage::inject::plugins::{Outcome, TransformFailure, transform_one};
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
    #[command(flatten)]
    plugins: super::plugin::PluginArgs,
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

/// What `--plugins` did in this run.
#[derive(Debug, Default, Serialize)]
struct PluginsOutput {
    /// Each plugin directory's load status.
    loaded: Vec<super::plugin::PluginStatus>,
    /// The packages the plugins edited (each a new package: own id and FileRepository folder,
    /// needing re-signing), with every edit, its plugin, reason and effect.
    transformed: Vec<TransformedPackage>,
    /// Plugins that failed, each failing its package or device (the rest of the plan proceeds).
    failures: Vec<PluginFailureOut>,
    /// What the plugins changed in the choice of drivers (a transformed package that lost,
    /// a select decision), one line each.
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct PluginFailureOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<String>,
    plugin: String,
    /// `PluginError::kind()`: `invalid_output`, `trap`, `out_of_fuel`, …
    kind: String,
    message: String,
}

impl From<&TransformFailure> for PluginFailureOut {
    fn from(f: &TransformFailure) -> Self {
        PluginFailureOut {
            device: None,
            package: Some(f.package.clone()),
            plugin: f.plugin.clone(),
            kind: f.kind.to_owned(),
            message: f.message.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    recovery: Recovery,
    plan: &'a Plan,
    decisions: &'a [inject::Decision],
    skipped: &'a [Skipped],
    /// With `--plugins`.
    #[serde(skip_serializing_if = "Option::is_none")]
    plugins: Option<&'a PluginsOutput>,
    /// `None` with `--plan`.
    committed: Option<CommitReport>,
}

pub(crate) fn run(a: InjectArgs) -> anyhow::Result<ExitCode> {
    let mut fault = commit::env_fault_hook();
    let (lock, recovery) = super::image_remove::lock_image(&a.image, a.plan, &mut fault)?;
    match recovery {
        Recovery::Finished => tracing::warn!("finished an interrupted run on this image"),
        Recovery::RolledBack => tracing::warn!("rolled back an interrupted run on this image"),
        Recovery::Clean => {}
    }
    let image = Image::open(&a.image)
        .with_context(|| format!("cannot open the image {}", a.image.display()))?;
    let mut skipped = Vec::new();
    let mut plugins = Plugins::load(&a.plugins)?;
    let packages = gather(&a, &image, &mut skipped, &mut plugins)?;
    let InjectPlan { plan, decisions } = inject::plan_injection(
        &image,
        &packages,
        &InjectOptions {
            firstboot: a.firstboot,
            import_date: None,
        },
    )?;
    drop(image);
    let report = plugins.report.take();
    // --strict: a plugin failure fails the run before anything is written.
    let strict_failure =
        a.plugins.strict && report.as_ref().is_some_and(|r| !r.failures.is_empty());
    let committed = if a.plan || strict_failure {
        None
    } else {
        Some(commit_with_progress(&lock, &plan, &mut fault)?)
    };
    drop(lock);
    // The edited INFs were read into the plan or copied by the commit: the scratch can go.
    drop(plugins);
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
                plugins: report.as_ref(),
                committed: committed.clone(),
            },
        )?;
        writeln!(out)?;
    } else {
        if let Some(r) = &report {
            write_plugins_text(&mut out, r)?;
        }
        write_text(&mut out, &plan, &skipped, committed.as_ref())?;
    }
    out.flush()?;
    if strict_failure {
        let n = report.as_ref().map_or(0, |r| r.failures.len());
        anyhow::bail!("{n} plugin failure(s) with --strict: nothing was written (see the report)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The plugins of `--plugins`, the scratch folder their edited INFs are written to, and the
/// report of what they did.
struct Plugins {
    loaded: Vec<Plugin>,
    scratch: Option<tempfile::TempDir>,
    report: Option<PluginsOutput>,
}

impl Plugins {
    fn load(args: &super::plugin::PluginArgs) -> anyhow::Result<Plugins> {
        let Some(dir) = &args.plugins else {
            return Ok(Plugins {
                loaded: Vec::new(),
                scratch: None,
                report: None,
            });
        };
        let (loaded, statuses) = super::plugin::load(dir, args.plugin_cache.as_deref())?;
        let mut report = PluginsOutput::default();
        for st in &statuses {
            if let (false, Some(e)) = (st.ok, &st.error) {
                report.failures.push(PluginFailureOut {
                    device: None,
                    package: None,
                    plugin: st.dir.clone(),
                    kind: st.error_kind.unwrap_or("error").to_owned(),
                    message: e.clone(),
                });
            }
        }
        report.loaded = statuses;
        Ok(Plugins {
            loaded,
            scratch: Some(
                tempfile::Builder::new()
                    .prefix("infuse-transform")
                    .tempdir()
                    .context("cannot create a scratch folder for the plugins' edited INFs")?,
            ),
            report: Some(report),
        })
    }

    fn report(&mut self) -> &mut PluginsOutput {
        self.report.get_or_insert_with(PluginsOutput::default)
    }

    /// Transforms one package; `None` when a plugin failed on it (reported).
    fn transform(
        &mut self,
        src: PackageSource,
        target: &Target,
    ) -> anyhow::Result<Option<PackageSource>> {
        let Some(scratch) = &self.scratch else {
            return Ok(Some(src));
        };
        let scratch = scratch.path().to_path_buf();
        Ok(match transform_one(&self.loaded, src, target, &scratch)? {
            Outcome::Unchanged(s) => Some(s),
            Outcome::Transformed { source, package } => {
                self.report().transformed.push(*package);
                Some(source)
            }
            Outcome::Failed(f) => {
                tracing::warn!("{}: plugin {}: {}", f.package, f.plugin, f.message);
                self.report().failures.push((&f).into());
                None
            }
        })
    }
}

/// The packages to inject: `--package` ones, then each matched device's winner. With
/// `--plugins`, the vendor plugins' `transform` edits the packages routed to them (an edited
/// package replaces its original, ranks as unsigned and needs re-signing) and their `select`
/// decides among each device's candidates, as `infuse match --plugins` does.
fn gather(
    a: &InjectArgs,
    image: &Image,
    skipped: &mut Vec<Skipped>,
    plugins: &mut Plugins,
) -> anyhow::Result<Vec<PackageSource>> {
    let store = match &a.store {
        Some(s) => {
            Some(Store::open(s).with_context(|| format!("cannot open the store {}", s.display()))?)
        }
        None => None,
    };
    let target = image.target();
    let mut out: Vec<PackageSource> = Vec::new();
    for p in &a.package {
        let path = PathBuf::from(p);
        let sources = if path.exists() {
            PackageSource::from_path(&path)?
        } else if let Some(store) = &store {
            vec![PackageSource::from_store(store, p)?]
        } else {
            anyhow::bail!(
                "--package {p}: no such file or folder, and no --store to look the id up in"
            );
        };
        for src in sources {
            out.extend(plugins.transform(src, &target)?);
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
        // The ID ladders of the image's build (USB COMPAT_VID_ from 22621, hwid::ladder).
        let inv = hwid::load_for(&source, hwid::LadderTarget::for_build(target.build))
            .context("cannot read the devices")?;
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
        let rules = SignatureRules::CatalogPresent;
        let edited = match plugins.scratch.as_ref().map(|d| d.path().to_path_buf()) {
            Some(scratch) => {
                let (edited, transformed) =
                    TransformedStore::build(&plugins.loaded, &scratch, store, &matcher, &target)?;
                plugins.report().transformed.extend(transformed);
                edited
            }
            None => TransformedStore::default(),
        };
        let mut picked: Vec<String> = Vec::new();
        for d in inv
            .devices
            .iter()
            .filter(|d| !d.hardware_ids.is_empty() || !d.compatible_ids.is_empty())
        {
            let mut m = matcher.match_device_with(d, &target, rules, extra)?;
            edited.merge(&mut m, &target, rules);
            if !plugins.loaded.is_empty() {
                for e in crate::plugin::route::apply_select(&plugins.loaded, &mut m, &target) {
                    plugins.report().failures.push(PluginFailureOut {
                        device: Some(d.instance_id.clone()),
                        package: None,
                        plugin: plugin_of(&e),
                        kind: e.kind().to_owned(),
                        message: e.to_string(),
                    });
                }
                plugin_notes(&m, &edited, plugins.report());
            }
            let Some(w) = m.winner() else { continue };
            let pick = if !w.node.in_image {
                Some(w)
            } else {
                let best_store = m
                    .candidates
                    .iter()
                    .find(|c| !c.node.in_image && !matches!(c.verdict, Verdict::Excluded { .. }));
                if let Some(c) = best_store {
                    let edited_note = edited
                        .source(&c.node.package)
                        .map(|s| {
                            format!(
                                "; {} was transformed by plugin(s) {}: its catalog no longer covers it, so it ranks as unsigned until re-signed",
                                c.node.package,
                                s.transformed_by.join(", ")
                            )
                        })
                        .unwrap_or_default();
                    skipped.push(Skipped {
                        device: d.instance_id.clone(),
                        package: c.node.package.clone(),
                        reason: format!(
                            "{} already in the image ranks as well or better ({}){edited_note}{}",
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
            if let Some(f) = edited.failed.get(&c.node.package) {
                // The vendor's plugin failed on the package this device would get: the device
                // fails (nothing injected for it); the rest of the plan proceeds.
                skipped.push(Skipped {
                    device: d.instance_id.clone(),
                    package: c.node.package.clone(),
                    reason: format!(
                        "plugin {} failed on the package ({}): {}",
                        f.plugin,
                        f.kind,
                        f.message.lines().next().unwrap_or("")
                    ),
                });
                let r = plugins.report();
                if !r
                    .failures
                    .iter()
                    .any(|x| x.package.as_deref() == Some(&f.package))
                {
                    r.failures.push(f.into());
                }
                if let Some(x) = r
                    .failures
                    .iter_mut()
                    .find(|x| x.package.as_deref() == Some(&f.package) && x.device.is_none())
                {
                    x.device = Some(d.instance_id.clone());
                }
                continue;
            }
            if !picked.iter().any(|i| i == &c.node.package) {
                picked.push(c.node.package.clone());
            }
        }
        for id in picked {
            match edited.source(&id) {
                Some(src) => out.push(src.clone()),
                None => out.push(PackageSource::from_store(store, &id)?),
            }
        }
    }
    Ok(out)
}

/// The plugin a select error names.
fn plugin_of(e: &crate::plugin::PluginError) -> String {
    use crate::plugin::PluginError as E;
    match e {
        E::RefusedImport { plugin, .. }
        | E::Contract { plugin, .. }
        | E::OutOfFuel { plugin, .. }
        | E::Deadline { plugin, .. }
        | E::Memory { plugin, .. }
        | E::Trap { plugin, .. }
        | E::InvalidOutput { plugin, .. }
        | E::Failed { plugin, .. }
        | E::Engine { plugin, .. } => plugin.clone(),
        E::Manifest { path, .. } | E::Io { path, .. } => path.display().to_string(),
    }
}

/// What the plugins changed for one device, for the report: their select decisions, and an
/// edited package that did not win (it ranks as unsigned: windows-driver-internals.md §3.1).
fn plugin_notes(m: &DeviceMatch, edited: &TransformedStore, report: &mut PluginsOutput) {
    let dev = &m.device.instance_id;
    for c in &m.candidates {
        for n in c.plugin_notes.iter().filter(|n| {
            !(n.action == PluginAction::Reject && edited.by_source.contains_key(&c.node.package))
        }) {
            report
                .notes
                .push(format!("{dev}: {} ({}): {n}", c.node.package, c.node.inf));
        }
        if let (Some(src), Verdict::Lost { why }) = (edited.source(&c.node.package), &c.verdict) {
            let winner = m.winner().map_or("?", |w| w.node.package.as_str());
            report.notes.push(format!(
                "{dev}: {} (transformed by {}; needs re-signing, ranks as unsigned: {}) lost to {winner}: {why}",
                c.node.package,
                src.transformed_by.join(", "),
                c.rank
            ));
        }
    }
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

fn write_plugins_text(out: &mut impl Write, r: &PluginsOutput) -> std::io::Result<()> {
    for st in &r.loaded {
        if let (Some(name), true) = (&st.name, st.ok) {
            writeln!(
                out,
                "# plugin: {name} {} ({})",
                st.version.as_deref().unwrap_or(""),
                st.dir
            )?;
        }
    }
    super::transformed::write_transformed(out, &r.transformed)?;
    for f in &r.failures {
        let what = match (&f.device, &f.package) {
            (Some(d), Some(p)) => format!("device {d}, package {p}"),
            (Some(d), None) => format!("device {d}"),
            (None, Some(p)) => format!("package {p}"),
            (None, None) => "loading".to_owned(),
        };
        writeln!(
            out,
            "plugin failure ({}): {} on {what}: {}",
            f.kind,
            f.plugin,
            f.message.lines().next().unwrap_or("")
        )?;
    }
    for n in &r.notes {
        writeln!(out, "plugin: {n}")?;
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
