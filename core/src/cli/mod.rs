//! The command line: parse arguments, call the library, print. Data goes to stdout, logs and
//! progress to stderr; `--json` on every command that reports.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod image;
mod image_remove;
mod inf;
mod inject;
mod matching;
mod plugin;
mod reg;
mod scan;
mod store;
mod transformed;

#[derive(Debug, Parser)]
#[command(
    name = "infuse",
    version,
    about = "Put the right Windows drivers into offline Windows images"
)]
struct Cli {
    /// More logging on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded demo: build a store from the bundled packages and match a demo machine.
    Demo(demo::DemoArgs),
    /// Read INF files the way Windows' SetupAPI does.
    #[command(subcommand)]
    Inf(inf::InfCommand),
    /// Build and query an indexed driver store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// List a machine's devices with their hardware and compatible IDs.
    Scan(scan::ScanArgs),
    /// Find the driver Windows would pick for every device.
    Match(matching::MatchArgs),
    /// Check a vendor plugin, or start a new one.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Read and edit offline registry hives (a debugging aid, like hivexsh).
    #[command(subcommand)]
    Reg(reg::RegCommand),
    /// Read an offline Windows image: info, drivers, verify.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Put drivers into an offline image: the winners for a machine's devices, or named packages.
    Inject(inject::InjectArgs),
}

/// Entry point of the `infuse` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Inf(c) => inf::run(c),
        Command::Store(c) => store::run(c),
        Command::Scan(a) => scan::run(a),
        Command::Match(a) => matching::run(a),
        Command::Reg(c) => reg::run(c),
        Command::Image(c) => image::run(c),
        Command::Inject(a) => inject::run(a),
        Command::Plugin(c) => plugin::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("INFUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}

#[allow(
    clippy::print_stderr,
    reason = "the binary edge reports errors on stderr"
)]
fn report_error(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
