//! `infuse inf`: show an INF file the way Windows' SetupAPI reads it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use infuse_driver_store::inf::{self, Inf, ParseOptions};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum InfCommand {
    /// Print the parsed view: sections, lines, keys and fields after substitution.
    Dump(DumpArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct DumpArgs {
    /// The INF file.
    file: PathBuf,
    /// Print `{"sections": [{"name", "lines": [{"key", "fields"}]}]}` instead of text.
    #[arg(long)]
    json: bool,
    /// Language whose `[Strings.LLLL]` section wins, as four hex digits (e.g. 0407).
    #[arg(long, value_name = "LLLL", value_parser = parse_lang, default_value = "0409")]
    lang: u16,
    /// Code page of 8-bit files without a byte-order mark, as the system's ANSI code page
    /// (an encoding label: windows-1252, windows-1251, shift_jis, utf-8, …).
    #[arg(long, value_name = "LABEL", value_parser = parse_ansi, default_value = "windows-1252")]
    ansi: &'static encoding_rs::Encoding,
}

pub(crate) fn run(c: InfCommand) -> anyhow::Result<ExitCode> {
    match c {
        InfCommand::Dump(args) => dump(&args),
    }
}

fn parse_lang(s: &str) -> Result<u16, String> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u16::from_str_radix(digits, 16).map_err(|_| {
        format!("`{s}` is not a language id\nhint: four hex digits, e.g. 0409 or 0407")
    })
}

fn parse_ansi(s: &str) -> Result<&'static encoding_rs::Encoding, String> {
    encoding_rs::Encoding::for_label(s.as_bytes()).ok_or_else(|| {
        format!("`{s}` is not an encoding label\nhint: e.g. windows-1252, windows-1250, shift_jis, gbk, utf-8")
    })
}

fn dump(args: &DumpArgs) -> anyhow::Result<ExitCode> {
    let bytes = fs_err::read(&args.file)?;
    let opts = ParseOptions {
        language: Some(args.lang),
        ansi: args.ansi,
        source_dir: args
            .file
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(|d| d.display().to_string())),
        ..ParseOptions::default()
    };
    let parsed = inf::parse_with(&bytes, &opts);
    report_diagnostics(&args.file, &parsed);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut out, &parsed).context("writing the json dump")?;
        writeln!(out)?;
    } else {
        write_human(&mut out, &parsed)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[allow(
    clippy::print_stderr,
    reason = "diagnostics are the command's report on stderr"
)]
fn report_diagnostics(path: &std::path::Path, parsed: &Inf) {
    for d in &parsed.diagnostics {
        let mut lines = d.message.lines();
        let first = lines.next().unwrap_or_default();
        if d.line == 0 {
            eprintln!("{}: {first}", path.display());
        } else {
            eprintln!("{}:{}: {first}", path.display(), d.line);
        }
        for more in lines {
            eprintln!("  {more}");
        }
    }
}

fn write_human(out: &mut impl Write, parsed: &Inf) -> std::io::Result<()> {
    writeln!(out, "; encoding: {:?}", parsed.encoding)?;
    if let Some(e) = &parsed.open_error {
        writeln!(out, "; {}", e.to_string().replace('\n', "\n; "))?;
    }
    for section in &parsed.sections {
        writeln!(out, "[{}]", section.name())?;
        for line in section.lines() {
            write!(out, "  {:>5}: ", line.number())?;
            if let Some(key) = line.key() {
                write!(out, "{key:?} = ")?;
            }
            for (i, field) in line.fields().enumerate() {
                if i > 0 {
                    write!(out, ", ")?;
                }
                write!(out, "{field:?}")?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}
