//! `infuse image`: read an offline Windows image — `info`, `drivers`, `verify`. One enum
//! variant and one function per subcommand.
//!
//! Exit codes: 0 done (for `verify`: the image is consistent), 1 error, 2 `verify` found
//! disagreements.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::image::{ArchSource, Image, drivers, verify};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ImageCommand {
    /// What Windows the image holds: version, build, edition, architecture, control set, and
    /// where its driver database lives.
    Info(InfoArgs),
    /// The driver packages registered in the image (third-party; --all adds inbox ones), like
    /// `dism /get-drivers`.
    Drivers(DriversArgs),
    /// Check that DriverDatabase, DriverStore\FileRepository and Windows\INF agree (exit 2 when
    /// they do not).
    Verify(VerifyArgs),
    /// Remove a third-party package (oemN.inf) and every record its injection wrote.
    RemoveDriver(super::image_remove::RemoveDriverArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct InfoArgs {
    /// The image root (the folder that holds `Windows/`).
    dir: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DriversArgs {
    /// The image root (the folder that holds `Windows/`).
    dir: PathBuf,
    /// Also list inbox packages (published under their own INF name).
    #[arg(long)]
    all: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The image root (the folder that holds `Windows/`).
    dir: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Exit status of `verify` when the image is inconsistent.
const EXIT_FINDINGS: u8 = 2;

pub(crate) fn run(c: ImageCommand) -> anyhow::Result<ExitCode> {
    match c {
        ImageCommand::Info(a) => info(a),
        ImageCommand::Drivers(a) => drivers(a),
        ImageCommand::Verify(a) => verify(a),
        ImageCommand::RemoveDriver(a) => super::image_remove::run(a),
    }
}

fn open(dir: &std::path::Path) -> anyhow::Result<Image> {
    Image::open(dir).with_context(|| format!("cannot read the offline image {}", dir.display()))
}

fn info(a: InfoArgs) -> anyhow::Result<ExitCode> {
    let img = open(&a.dir)?;
    let i = img.info();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if a.json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            info: &'a crate::image::ImageInfo,
            target: crate::rank::Target,
        }
        serde_json::to_writer_pretty(
            &mut out,
            &Json {
                info: i,
                target: img.target(),
            },
        )?;
        writeln!(out)?;
    } else {
        let v = i.version;
        let build = v
            .build
            .map_or_else(|| "unknown".to_owned(), |b| b.to_string());
        let ubr = v.ubr.map(|u| format!(".{u}")).unwrap_or_default();
        writeln!(out, "image:            {}", i.root.display())?;
        writeln!(
            out,
            "windows:          {} ({})",
            i.product_name.as_deref().unwrap_or("(no ProductName)"),
            i.windows_dir.display()
        )?;
        writeln!(
            out,
            "version:          {}.{} build {build}{ubr}",
            v.major, v.minor
        )?;
        writeln!(
            out,
            "edition:          {} ({})",
            i.edition_id.as_deref().unwrap_or("-"),
            i.installation_type.as_deref().unwrap_or("-")
        )?;
        writeln!(
            out,
            "product type:     {} ({})",
            i.product_type.number, i.product_type.source
        )?;
        let from = match &i.arch_source {
            ArchSource::Kernel { path, machine } => {
                format!("PE machine {machine:#06x} of {}", path.display())
            }
            ArchSource::Hive { value } => format!("PROCESSOR_ARCHITECTURE={value}"),
        };
        writeln!(out, "architecture:     {} ({from})", i.arch)?;
        writeln!(out, "control set:      {}", i.current_control_set)?;
        writeln!(out, "driver database:  {}", i.driver_database.describe())?;
        writeln!(out, "SYSTEM hive:      {}", i.system_hive.display())?;
        writeln!(out, "SOFTWARE hive:    {}", i.software_hive.display())?;
        if let Some(d) = &i.drivers_hive {
            writeln!(out, "DRIVERS hive:     {}", d.display())?;
        }
        writeln!(out, "ranking target:   {}", img.target())?;
        for n in &i.notes {
            writeln!(out, "note: {n}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn drivers(a: DriversArgs) -> anyhow::Result<ExitCode> {
    let img = open(&a.dir)?;
    let list = drivers::list(&img, a.all)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if a.json {
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
    } else {
        for n in &list.notes {
            writeln!(out, "note: {n}")?;
        }
        for d in &list.drivers {
            let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".to_owned());
            writeln!(out, "Published Name : {}", d.published_name)?;
            writeln!(out, "Original File Name : {}", dash(&d.original_name))?;
            writeln!(out, "Inbox : {}", if d.inbox { "Yes" } else { "No" })?;
            writeln!(out, "Class Name : {}", dash(&d.class_name))?;
            writeln!(out, "Class GUID : {}", dash(&d.class_guid))?;
            writeln!(out, "Provider Name : {}", dash(&d.provider))?;
            writeln!(out, "Date : {}", dash(&d.date))?;
            writeln!(out, "Version : {}", dash(&d.version))?;
            writeln!(
                out,
                "Boot Critical : {}",
                if d.boot_critical { "Yes" } else { "No" }
            )?;
            writeln!(out, "Package : {}", dash(&d.package))?;
            for p in &d.problems {
                writeln!(out, "Problem : {p}")?;
            }
            writeln!(out)?;
        }
        writeln!(
            out,
            "{} {}package(s) in {}",
            list.drivers.len(),
            if list.all { "" } else { "third-party " },
            list.database.as_ref().map_or_else(
                || "no DriverDatabase".to_owned(),
                |p| p.display().to_string()
            )
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let img = open(&a.dir)?;
    let report = verify::verify(&img)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if a.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for c in &report.checked {
            writeln!(
                out,
                "checked {}: {} published INFs, {} packages, {} DeviceIds values",
                c.database, c.inf_files, c.packages, c.device_id_values
            )?;
        }
        for f in &report.findings {
            writeln!(out, "{} [{}] {}: {}", f.kind, f.place, f.subject, f.message)?;
            if let Some(h) = &f.hint {
                writeln!(out, "  hint: {h}")?;
            }
        }
        if report.is_clean() {
            writeln!(
                out,
                "ok: DriverDatabase, FileRepository and Windows/INF agree"
            )?;
        } else {
            writeln!(out, "{} finding(s)", report.findings.len())?;
        }
    }
    out.flush()?;
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FINDINGS)
    })
}
