//! `infuse demo`: the embedded default job (see `crate::demo`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::demo::{self, DemoReport};

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Where to lay out the demo's packages, machine profile and store.
    #[arg(long, default_value = "infuse-demo")]
    dir: PathBuf,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    let report = demo::run(&a.dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.verify.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn write_text(out: &mut impl Write, r: &DemoReport) -> std::io::Result<()> {
    let add = &r.add;
    let s = &r.matching.summary;
    writeln!(out, "infuse demo — everything is under {}", r.dir.display())?;
    writeln!(out)?;
    writeln!(
        out,
        "1. store: {} packages from {} → {}",
        add.packages,
        r.packages_dir.display(),
        r.store.display()
    )?;
    writeln!(
        out,
        "   {} added, {} replaced, {} unchanged; {} IDs, {} driver nodes indexed",
        add.added.len(),
        add.replaced.len(),
        add.unchanged,
        add.ids,
        add.nodes
    )?;
    writeln!(
        out,
        "   {} files stored ({} bytes); {} identical payloads stored once ({} bytes saved)",
        add.files_stored, add.bytes_stored, add.files_deduplicated, add.bytes_saved
    )?;
    if !add.incomplete.is_empty() {
        writeln!(
            out,
            "   incomplete (indexed, never injected): {}",
            add.incomplete.join(", ")
        )?;
    }
    writeln!(out)?;
    let info = &r.image;
    writeln!(
        out,
        "2. image: {} — {} (build {}), {}, driver database: {}",
        info.root.display(),
        info.product_name.as_deref().unwrap_or("Windows"),
        info.version
            .build
            .map_or_else(|| "unknown".to_string(), |b| b.to_string()),
        info.arch.as_str(),
        info.driver_database.describe()
    )?;
    writeln!(
        out,
        "   machine: {} ({} devices); plugins from {}: {}",
        r.profile.display(),
        s.devices,
        r.plugins_dir.display(),
        r.plugins.join(", ")
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "3. match: the driver Windows would pick for each device (store + image, after the vendors' select)"
    )?;
    super::matching::write_text(out, &r.matching, false)?;
    if r.select_failures > 0 {
        writeln!(out, "   {} plugin select failure(s)", r.select_failures)?;
    }
    writeln!(out)?;
    writeln!(out, "4. inject: {}", r.image.root.display())?;
    for t in &r.transform.transformed {
        writeln!(
            out,
            "   transformed {} → {}{}",
            t.source_id,
            t.id,
            if t.needs_resigning {
                " (needs re-signing: its catalog no longer covers it)"
            } else {
                ""
            }
        )?;
        for e in &t.applied {
            writeln!(out, "     {}: {} — {}", e.plugin, e.effect, e.edit.reason)?;
        }
    }
    for f in &r.transform.failures {
        writeln!(
            out,
            "   plugin {} left {} unedited ({}): {}",
            f.plugin, f.package, f.kind, f.message
        )?;
    }
    for d in &r.inject {
        writeln!(
            out,
            "   {} {} as {} in FileRepository/{} ({} files, {} bytes{})",
            match d.action {
                crate::stage::inject::Action::Inject => "injected",
                crate::stage::inject::Action::Update => "updated",
                crate::stage::inject::Action::AlreadyPresent => "already present:",
            },
            d.inf,
            d.published,
            d.repository,
            d.files,
            d.bytes,
            if d.boot_critical {
                ", boot-critical: reflected"
            } else {
                ""
            }
        )?;
    }
    for n in &r.not_injected {
        writeln!(out, "   not injected: {n}")?;
    }
    let c = &r.committed;
    writeln!(
        out,
        "   committed: {} files ({} bytes) written, hives {}",
        c.files_written,
        c.bytes_written,
        c.hives.join(", ")
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "5. verify: {}",
        if r.verify.is_clean() {
            "DriverDatabase, FileRepository and Windows/INF agree".to_string()
        } else {
            format!("{} finding(s)", r.verify.findings.len())
        }
    )?;
    for f in &r.verify.findings {
        writeln!(out, "   {}: {} {}", f.kind, f.subject, f.message)?;
    }
    writeln!(out)?;
    writeln!(out, "Re-run the steps by hand:")?;
    writeln!(
        out,
        "  infuse store add {} {}",
        r.store.display(),
        r.packages_dir.display()
    )?;
    writeln!(out, "  infuse scan --profile {}", r.profile.display())?;
    writeln!(
        out,
        "  infuse match --store {} --profile {} --image {} --plugins {} --explain",
        r.store.display(),
        r.profile.display(),
        r.image.root.display(),
        r.plugins_dir.display()
    )?;
    writeln!(out, "  infuse image drivers {}", r.image.root.display())?;
    writeln!(out, "  infuse image verify {}", r.image.root.display())?;
    Ok(())
}
