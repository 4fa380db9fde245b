//! `infuse store`: build, query, list, show and verify an indexed driver store.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use infuse_driver_store::store::{
    AddEvent, AddReport, DriverNode, FileRole, Manifest, MatchKind, NodeEntry, Store, VerifyReport,
};
use serde::Serialize;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum StoreCommand {
    /// Add driver packages from folders (recursive), .inf files and .cab cabinets.
    Add(AddArgs),
    /// Print the driver nodes that match hardware or compatible IDs.
    Query(QueryArgs),
    /// List the packages in a store.
    List(StoreArgs),
    /// Show one package: files, nodes, diagnostics.
    Show(ShowArgs),
    /// Re-hash every stored file and check the index; exits non-zero on problems.
    Verify(StoreArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// The store directory (created if missing).
    store: PathBuf,
    /// Folders, .inf files or .cab cabinets. None: only bring the index up to date.
    sources: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    store: PathBuf,
    /// Hardware or compatible IDs (compared case-insensitively).
    #[arg(required = true)]
    ids: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    store: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    store: PathBuf,
    /// Package name (as `list` prints it), a unique prefix of it, or the INF file name.
    package: String,
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(c: StoreCommand) -> anyhow::Result<ExitCode> {
    match c {
        StoreCommand::Add(a) => add(&a),
        StoreCommand::Query(a) => query(&a),
        StoreCommand::List(a) => list(&a),
        StoreCommand::Show(a) => show(&a),
        StoreCommand::Verify(a) => verify(&a),
    }
}

fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

fn write_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut out = stdout();
    serde_json::to_writer_pretty(&mut out, value).context("writing json")?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

fn add(a: &AddArgs) -> anyhow::Result<ExitCode> {
    let store = Store::create(&a.store)?;
    let bar = indicatif::ProgressBar::hidden();
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }
    let report = store.add(&a.sources, &mut |e| match e {
        AddEvent::Found(n) => bar.set_length(n as u64),
        AddEvent::Done(what) => {
            bar.inc(1);
            bar.set_message(what);
        }
        AddEvent::Indexing => bar.set_message("indexing"),
    })?;
    bar.finish_and_clear();
    for d in &report.diagnostics {
        tracing::info!("{d}");
    }
    if a.json {
        write_json(&report)?;
    } else {
        print_add(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_add(r: &AddReport) -> anyhow::Result<()> {
    let mut out = stdout();
    writeln!(
        out,
        "{} added, {} replaced, {} unchanged; store holds {} packages, {} driver nodes, {} IDs",
        r.added.len(),
        r.replaced.len(),
        r.unchanged,
        r.packages,
        r.nodes,
        r.ids
    )?;
    writeln!(
        out,
        "{} files stored ({} bytes), {} identical files stored once ({} bytes saved){}",
        r.files_stored,
        r.bytes_stored,
        r.files_deduplicated,
        r.bytes_saved,
        if r.index_rebuilt {
            ", index rebuilt"
        } else {
            ""
        }
    )?;
    if !r.incomplete.is_empty() {
        writeln!(
            out,
            "{} incomplete packages (indexed, never injected): {}",
            r.incomplete.len(),
            summary(&r.incomplete)
        )?;
    }
    if !r.unstamped.is_empty() {
        writeln!(
            out,
            "{} unstamped packages ($ARCH$ placeholders): {}",
            r.unstamped.len(),
            summary(&r.unstamped)
        )?;
    }
    if !r.diagnostics.is_empty() {
        writeln!(
            out,
            "{} diagnostics (-v prints them, `infuse store show` per package)",
            r.diagnostics.len()
        )?;
    }
    out.flush()?;
    Ok(())
}

fn summary(ids: &[String]) -> String {
    let mut s = ids.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > 5 {
        s.push_str(&format!(", … ({} more)", ids.len() - 5));
    }
    s
}

#[derive(Serialize)]
struct QueryResult {
    id: String,
    nodes: Vec<DriverNode>,
}

fn query(a: &QueryArgs) -> anyhow::Result<ExitCode> {
    let index = Store::open(&a.store)?.index()?;
    let mut results = Vec::with_capacity(a.ids.len());
    for id in &a.ids {
        results.push(QueryResult {
            id: id.clone(),
            nodes: index.lookup(id)?,
        });
    }
    let found = results.iter().any(|r| !r.nodes.is_empty());
    if a.json {
        write_json(&serde_json::json!({ "queries": results }))?;
    } else {
        let mut out = stdout();
        for r in &results {
            writeln!(out, "{}: {} driver nodes", r.id, r.nodes.len())?;
            for n in &r.nodes {
                writeln!(out, "  {}", node_line(n))?;
            }
        }
        out.flush()?;
    }
    // Like grep: 1 when no ID matched anything.
    Ok(if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn node_line(n: &DriverNode) -> String {
    let how = match n.match_kind {
        MatchKind::HardwareId => "hardware-id".to_string(),
        MatchKind::CompatibleId(k) => format!("compatible-id#{k}"),
    };
    let ver = n
        .driver_ver
        .map_or_else(|| "no-driverver".to_string(), |v| v.to_string());
    let mut flags = Vec::new();
    if n.boot_critical.any() {
        flags.push("boot-critical");
    }
    if !n.catalog_present {
        flags.push("no-catalog");
    }
    if !n.package.complete {
        flags.push("incomplete");
    }
    format!(
        "{pkg} {how} [{models}] install={inst} {arch} {ver} feature=0x{fs:02x} line {line} {flags} \"{desc}\"",
        pkg = n.package.id,
        models = n.models_section,
        inst = n.install_section.as_deref().unwrap_or("-"),
        arch = n.arch,
        fs = n.feature_score,
        line = n.line,
        flags = flags.join(","),
        desc = n.description,
    )
}

fn list(a: &StoreArgs) -> anyhow::Result<ExitCode> {
    let manifests = Store::open(&a.store)?.list()?;
    if a.json {
        let rows: Vec<_> = manifests.iter().map(list_row).collect();
        write_json(&serde_json::json!({ "packages": rows }))?;
    } else {
        let mut out = stdout();
        for m in &manifests {
            let i = &m.info;
            writeln!(
                out,
                "{}\t{}\t{}\t{} nodes\t{}\t{}",
                i.id,
                i.class.as_deref().unwrap_or("-"),
                i.provider.as_deref().unwrap_or("-"),
                m.node_count,
                if i.complete { "complete" } else { "incomplete" },
                i.source
            )?;
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list_row(m: &Manifest) -> serde_json::Value {
    serde_json::json!({
        "package": m.info,
        "driver_ver": m.driver_ver,
        "nodes": m.node_count,
        "files": m.files.len(),
        "diagnostics": m.diagnostics.len(),
    })
}

#[derive(Serialize)]
struct ShowJson<'a> {
    #[serde(flatten)]
    manifest: &'a Manifest,
    nodes: &'a [NodeEntry],
}

fn show(a: &ShowArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open(&a.store)?;
    let m = store.show(&a.package)?;
    let nodes = store.nodes(&m.info.id)?;
    if a.json {
        write_json(&ShowJson {
            manifest: &m,
            nodes: &nodes,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = stdout();
    let i = &m.info;
    writeln!(out, "package   {}", i.id)?;
    writeln!(out, "inf       {}", i.inf_name)?;
    writeln!(out, "source    {}", i.source)?;
    writeln!(
        out,
        "class     {} {}",
        i.class.as_deref().unwrap_or("-"),
        i.class_guid.as_deref().unwrap_or("")
    )?;
    writeln!(out, "provider  {}", i.provider.as_deref().unwrap_or("-"))?;
    writeln!(
        out,
        "driverver {}",
        m.driver_ver.map_or_else(|| "-".into(), |v| v.to_string())
    )?;
    writeln!(
        out,
        "complete  {}{}",
        i.complete,
        if i.unstamped {
            " (unstamped: $ARCH$ placeholders)"
        } else {
            ""
        }
    )?;
    writeln!(out, "files:")?;
    for f in &m.files {
        let hash = f
            .sha256
            .as_deref()
            .map_or("MISSING", |h| &h[..16.min(h.len())]);
        let role = match f.role {
            FileRole::Inf => "inf",
            FileRole::Catalog => "catalog",
            FileRole::Payload => "payload",
        };
        writeln!(out, "  {role:<8} {hash} {:>10} {}", f.size, f.path)?;
    }
    writeln!(out, "driver nodes:")?;
    for n in &nodes {
        let mut ids = vec![n.hardware_id.clone()];
        ids.extend(n.compatible_ids.iter().cloned());
        writeln!(
            out,
            "  line {} [{}] {} → {} ({}) {}",
            n.line,
            n.models_section,
            n.description,
            n.install_section.as_deref().unwrap_or("-"),
            n.arch,
            ids.join(", ")
        )?;
    }
    if !m.diagnostics.is_empty() {
        writeln!(out, "diagnostics:")?;
        for d in &m.diagnostics {
            writeln!(out, "  {d}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn verify(a: &StoreArgs) -> anyhow::Result<ExitCode> {
    let report: VerifyReport = Store::open(&a.store)?.verify()?;
    if a.json {
        write_json(&report)?;
    } else {
        let mut out = stdout();
        writeln!(
            out,
            "{} packages, {} stored files re-hashed, {} problems",
            report.packages,
            report.objects_checked,
            report.problems.len()
        )?;
        for p in &report.problems {
            writeln!(out, "problem: {p}")?;
        }
        out.flush()?;
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
