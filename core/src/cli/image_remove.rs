//! `infuse image remove-driver DIR oemN.inf`: remove a package and every record its injection
//! wrote, committed through the same journal as `infuse inject`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::image::Image;
use crate::stage::commit::{self, CommitReport, ImageLock, Recovery};
use crate::stage::inject::remove::plan_removal;
use crate::stage::plan::{FileOp, Plan};

#[derive(Debug, clap::Args)]
pub(crate) struct RemoveDriverArgs {
    /// The offline image: the folder that holds `Windows/`.
    #[arg(value_name = "DIR")]
    image: PathBuf,
    /// The published name of the package (`oem3.inf`, as `infuse image drivers` lists it).
    #[arg(value_name = "PUBLISHED")]
    published: String,
    /// Print the plan and write nothing.
    #[arg(long)]
    plan: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    recovery: Recovery,
    plan: &'a Plan,
    committed: Option<CommitReport>,
}

pub(crate) fn run(a: RemoveDriverArgs) -> anyhow::Result<ExitCode> {
    let mut fault = commit::env_fault_hook();
    let (lock, recovery) = lock_image(&a.image, a.plan, &mut fault)?;
    let image = Image::open(&a.image)
        .with_context(|| format!("cannot open the image {}", a.image.display()))?;
    let plan = plan_removal(&image, &a.published)?;
    drop(image);
    let committed = if a.plan {
        None
    } else {
        Some(commit::commit(&lock, &plan, &mut fault)?)
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
                committed: committed.clone(),
            },
        )?;
        writeln!(out)?;
    } else {
        for n in &plan.notes {
            writeln!(out, "{n}")?;
        }
        match &committed {
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
                    writeln!(
                        out,
                        "  {} {}",
                        h.hive.image_path(),
                        super::inject::reg_op_text(&h.op)
                    )?;
                }
            }
            Some(r) => writeln!(
                out,
                "removed {}: {} files removed, {} written, hives rewritten: {}",
                a.published,
                r.files_removed,
                r.files_written,
                r.hives.join(", ")
            )?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Takes the image's lock and finishes or rolls back an interrupted run (shared by `inject` and
/// `image remove-driver`). With `--plan` nothing may be written, so a transaction left behind is
/// an error with the way out instead.
pub(crate) fn lock_image(
    image: &Path,
    plan: bool,
    fault: commit::Hook<'_>,
) -> anyhow::Result<(ImageLock, Recovery)> {
    let lock = ImageLock::acquire(image)?;
    let recovery = if plan {
        if image.join(commit::TXN_DIR).exists() {
            anyhow::bail!(
                "{}: an interrupted infuse run left a transaction behind\nhint: run without --plan to finish or roll it back first",
                image.display()
            );
        }
        Recovery::Clean
    } else {
        commit::recover(&lock, fault)?
    };
    Ok((lock, recovery))
}
