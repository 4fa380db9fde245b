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
    Ok(ExitCode::SUCCESS)
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
    writeln!(
        out,
        "2. machine: {} ({} devices) — target Windows {} {}",
        r.profile.display(),
        s.devices,
        demo::OS,
        demo::ARCH
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "3. match: the driver Windows would pick for each device"
    )?;
    super::matching::write_text(out, &r.matching, false)?;
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
        "  infuse match --store {} --profile {} --os {} --arch {} --explain",
        r.store.display(),
        r.profile.display(),
        demo::OS,
        demo::ARCH
    )?;
    Ok(())
}
