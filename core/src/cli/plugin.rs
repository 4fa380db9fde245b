//! `infuse plugin check|new`: validate a vendor plugin without running a job, or write a new
//! plugin's skeleton from `sdk/template/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::plugin::cache::CacheDir;
use crate::plugin::{Plugin, PluginHost};
use crate::rank::{Candidate, DeviceMatch, MatchReport};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum PluginCommand {
    /// Validate a plugin directory: manifest, component hash, imports, describe().
    Check(CheckArgs),
    /// Write a working plugin skeleton (Cargo project, src/lib.rs, plugin.toml) to start from.
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The plugin directory (with plugin.toml), or a directory of plugin directories.
    dir: PathBuf,
    /// Where compiled plugins are cached (default: $XDG_CACHE_HOME/infuse/plugins).
    #[arg(long, value_name = "DIR")]
    plugin_cache: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The plugin's name: lower-case letters, digits and `-`, starting with a letter.
    name: String,
    /// Where to create the plugin's directory (default: the current directory).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// infuse's `sdk/` folder, which the skeleton depends on (default: the one this infuse was
    /// built from).
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

pub(crate) fn run(c: PluginCommand) -> anyhow::Result<ExitCode> {
    match c {
        PluginCommand::Check(a) => check(a),
        PluginCommand::New(a) => new(a),
    }
}

/// One plugin's outcome, as `--json` prints it.
#[derive(Debug, Serialize)]
pub(crate) struct PluginStatus {
    pub(crate) dir: String,
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) info: Option<crate::plugin::PluginInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limits: Option<crate::plugin::Limits>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) imports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compiled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl PluginStatus {
    pub(crate) fn of(dir: &Path, r: &Result<Plugin, crate::plugin::PluginError>) -> PluginStatus {
        let dir = dir.display().to_string();
        match r {
            Ok(p) => PluginStatus {
                dir,
                ok: true,
                name: Some(p.name().to_owned()),
                version: Some(p.info.version.clone()),
                info: Some(p.info.clone()),
                limits: Some(p.manifest.limits),
                imports: p.imports.clone(),
                compiled: Some(p.compiled),
                error_kind: None,
                error: None,
            },
            Err(e) => PluginStatus {
                dir,
                ok: false,
                name: None,
                version: None,
                info: None,
                limits: None,
                imports: Vec::new(),
                compiled: None,
                error_kind: Some(e.kind()),
                error: Some(e.to_string()),
            },
        }
    }
}

/// `--plugins DIR [--strict] [--plugin-cache DIR]`, shared by `match` and `inject`.
#[derive(Debug, clap::Args)]
pub(crate) struct PluginArgs {
    /// Vendor plugins to apply: a plugin directory, or a directory of them.
    #[arg(long, value_name = "DIR")]
    pub(crate) plugins: Option<PathBuf>,
    /// Exit non-zero when a plugin fails to load or fails on a device or package (by default the
    /// failure is reported and Windows' choice kept).
    #[arg(long, requires = "plugins")]
    pub(crate) strict: bool,
    /// Where compiled plugins are cached (default: $XDG_CACHE_HOME/infuse/plugins).
    #[arg(long, value_name = "DIR", requires = "plugins")]
    pub(crate) plugin_cache: Option<PathBuf>,
}

/// What `--plugins` did in a run: each plugin's load status and how many failures there were.
#[derive(Debug)]
pub(crate) struct PluginRun {
    pub(crate) statuses: Vec<PluginStatus>,
    pub(crate) failures: usize,
    /// The store packages the plugins edited (each replaces its original in the ranking).
    pub(crate) transformed: Vec<crate::plugin::transform::TransformedPackage>,
    /// Packages a plugin's `transform` failed on (their devices keep the other candidates).
    pub(crate) transform_failures: Vec<crate::stage::inject::plugins::TransformFailure>,
}

/// `match --plugins`: loads the plugins, lets their `transform` edit the store packages routed to
/// them (an edited package replaces its original among the candidates and ranks as unsigned, as
/// `inject --plugins` would write it: cli/transformed.rs), then applies `select` to every device
/// routed to them.
pub(crate) fn apply_to_match(
    args: &PluginArgs,
    report: &mut MatchReport,
    rules: crate::rank::SignatureRules,
    store: &Path,
    matcher: &crate::rank::store::StoreMatcher,
) -> anyhow::Result<Option<PluginRun>> {
    let Some(dir) = &args.plugins else {
        return Ok(None);
    };
    let (plugins, statuses) = load(dir, args.plugin_cache.as_deref())?;
    let mut failures = statuses.iter().filter(|s| !s.ok).count();
    let target = report.target;
    let scratch = tempfile::Builder::new()
        .prefix("infuse-transform")
        .tempdir()
        .context("cannot create a scratch folder for the plugins' edited INFs")?;
    let store = infuse_driver_store::store::repo::Store::open(store)
        .with_context(|| format!("cannot open the store {}", store.display()))?;
    let (edited, transformed) = super::transformed::TransformedStore::build(
        &plugins,
        scratch.path(),
        &store,
        matcher,
        &target,
    )?;
    failures += edited.failed.len();
    for m in &mut report.devices {
        edited.merge(m, &target, rules);
        failures += crate::plugin::route::apply_select(&plugins, m, &target).len();
    }
    report.summary = crate::rank::Summary::of(&report.devices);
    let transform_failures = edited.failed.into_values().collect();
    Ok(Some(PluginRun {
        statuses,
        failures,
        transformed,
        transform_failures,
    }))
}

/// `--strict`: any plugin failure fails the run (after the report is printed).
pub(crate) fn check_strict(args: &PluginArgs, run: Option<&PluginRun>) -> anyhow::Result<()> {
    let failures = run.map_or(0, |r| r.failures);
    anyhow::ensure!(
        !(args.strict && failures > 0),
        "{failures} plugin failure(s) with --strict (see the report)"
    );
    Ok(())
}

/// `match --json`: the report, plus `plugins` (each plugin's load status) with `--plugins`.
pub(crate) fn write_match_json(
    out: &mut impl Write,
    report: &MatchReport,
    run: Option<&PluginRun>,
) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct WithPlugins<'a> {
        #[serde(flatten)]
        report: &'a MatchReport,
        plugins: &'a [PluginStatus],
        transformed: &'a [crate::plugin::transform::TransformedPackage],
        transform_failures: &'a [crate::stage::inject::plugins::TransformFailure],
    }
    match run {
        Some(r) => serde_json::to_writer_pretty(
            out,
            &WithPlugins {
                report,
                plugins: &r.statuses,
                transformed: &r.transformed,
                transform_failures: &r.transform_failures,
            },
        )?,
        None => serde_json::to_writer_pretty(out, report)?,
    }
    Ok(())
}

/// One `# plugin` line per plugin directory, before the text report.
pub(crate) fn write_match_header(out: &mut impl Write, run: &PluginRun) -> std::io::Result<()> {
    for s in &run.statuses {
        match (&s.name, &s.error) {
            (Some(name), _) => writeln!(
                out,
                "# plugin: {name} {} ({})",
                s.version.as_deref().unwrap_or(""),
                s.dir
            )?,
            (None, Some(e)) => writeln!(
                out,
                "# plugin not loaded ({}): {}",
                s.error_kind.unwrap_or("error"),
                e.lines().next().unwrap_or("")
            )?,
            (None, None) => {}
        }
    }
    super::transformed::write_transformed(out, &run.transformed)?;
    for f in &run.transform_failures {
        writeln!(
            out,
            "# plugin failure ({}): {} on package {}: {}",
            f.kind,
            f.plugin,
            f.package,
            f.message.lines().next().unwrap_or("")
        )?;
    }
    Ok(())
}

/// What plugins said about a candidate, one line each.
pub(crate) fn write_notes(
    out: &mut impl Write,
    c: &Candidate,
    indent: &str,
) -> std::io::Result<()> {
    for n in &c.plugin_notes {
        writeln!(out, "{indent}{n}")?;
    }
    Ok(())
}

/// Plugins that failed on a device: the device keeps Windows' choice.
pub(crate) fn write_failures(out: &mut impl Write, m: &DeviceMatch) -> std::io::Result<()> {
    for f in &m.plugin_failures {
        writeln!(
            out,
            "    plugin {} failed ({}), Windows' choice kept: {}",
            f.plugin,
            f.kind,
            f.message.lines().next().unwrap_or("")
        )?;
    }
    Ok(())
}

/// Loads the plugins of `--plugins DIR` (shared by `match` and `inject`): the loaded ones, and
/// a status for every directory.
pub(crate) fn load(
    dir: &Path,
    cache: Option<&Path>,
) -> anyhow::Result<(Vec<Plugin>, Vec<PluginStatus>)> {
    let host = PluginHost::new(CacheDir::resolve(cache))?;
    let mut plugins = Vec::new();
    let mut statuses = Vec::new();
    for (d, r) in crate::plugin::load_dir(&host, dir)? {
        statuses.push(PluginStatus::of(&d, &r));
        if let Ok(p) = r {
            plugins.push(p);
        }
    }
    Ok((plugins, statuses))
}

fn check(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let (_, statuses) = load(&a.dir, a.plugin_cache.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if a.json {
        serde_json::to_writer_pretty(&mut out, &statuses)?;
        writeln!(out)?;
    } else {
        for s in &statuses {
            write_status(&mut out, s)?;
        }
    }
    out.flush()?;
    Ok(if statuses.iter().all(|s| s.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub(crate) fn write_status(out: &mut impl Write, s: &PluginStatus) -> std::io::Result<()> {
    match (&s.info, &s.error) {
        (Some(info), _) => {
            let hooks: Vec<&str> = info
                .hooks
                .iter()
                .map(|h| match h {
                    crate::plugin::Hook::Select => "select",
                    crate::plugin::Hook::Transform => "transform",
                })
                .collect();
            let v = &info.vendors;
            writeln!(
                out,
                "ok: {} {} (api {}) in {}",
                info.name, info.version, info.api_version, s.dir
            )?;
            writeln!(out, "  hooks: {}", hooks.join(", "))?;
            writeln!(
                out,
                "  vendors: pci [{}], usb [{}], providers {:?}",
                v.pci
                    .iter()
                    .map(|x| format!("{x:04X}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                v.usb
                    .iter()
                    .map(|x| format!("{x:04X}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                v.providers
            )?;
            if let Some(l) = &s.limits {
                writeln!(
                    out,
                    "  limits: fuel {}, memory {} bytes, deadline {} ms",
                    l.fuel, l.memory_bytes, l.deadline_ms
                )?;
            }
            writeln!(out, "  imports: {}", s.imports.join(", "))?;
            if s.compiled == Some(true) {
                writeln!(out, "  compiled (now cached)")?;
            } else {
                writeln!(out, "  loaded from the compile cache")?;
            }
        }
        (None, Some(e)) => {
            writeln!(
                out,
                "failed ({}): {}",
                s.error_kind.unwrap_or("error"),
                s.dir
            )?;
            for l in e.lines() {
                writeln!(out, "  {l}")?;
            }
        }
        (None, None) => {}
    }
    Ok(())
}

/// The skeleton, from `sdk/template/` (see its README for the placeholders).
const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../sdk/template/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../sdk/template/lib.rs.tmpl"),
    ),
    (
        "plugin.toml",
        include_str!("../../../sdk/template/plugin.toml.tmpl"),
    ),
];

fn new(a: NewArgs) -> anyhow::Result<ExitCode> {
    let name = &a.name;
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    anyhow::ensure!(
        valid,
        "plugin name `{name}`: expected 1 to 64 lower-case letters, digits and `-`, starting with a letter"
    );
    let sdk = match a.sdk {
        Some(s) => s,
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk")),
    };
    let sdk = sdk.canonicalize().map_err(|e| {
        anyhow::anyhow!(
            "the SDK folder {} cannot be used: {e}\nhint: pass --sdk with the path of infuse's sdk/ folder",
            sdk.display()
        )
    })?;
    anyhow::ensure!(
        sdk.join("Cargo.toml").is_file(),
        "{} is not infuse's sdk/ folder (no Cargo.toml)\nhint: pass --sdk DIR",
        sdk.display()
    );
    let dir = a.dir.unwrap_or_else(|| PathBuf::from(".")).join(name);
    anyhow::ensure!(
        !dir.exists(),
        "{} already exists\nhint: choose another name or --dir",
        dir.display()
    );
    let crate_name = name.replace('-', "_");
    let type_name: String = name
        .split('-')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let sdk_path = sdk.to_string_lossy().replace('\\', "/");
    for (rel, text) in TEMPLATE {
        let text = text
            .replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{type_name}}", &type_name)
            .replace("{{sdk_path}}", &sdk_path);
        let path = dir.join(rel);
        if let Some(p) = path.parent() {
            fs_err::create_dir_all(p)?;
        }
        fs_err::write(&path, text)?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "created {}", dir.display())?;
    writeln!(
        out,
        "next: cd {} && cargo build --release --target wasm32-wasip2, copy target/wasm32-wasip2/release/{crate_name}.wasm next to plugin.toml, then `infuse plugin check .` (it prints the sha256 to put in plugin.toml)",
        dir.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
