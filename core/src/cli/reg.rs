//! `infuse reg`: read and edit offline registry hives (a debugging aid, like hivexsh).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::hive::{self, Decoded, Hive, Value, regfile};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RegCommand {
    /// Export a key and its subtree as a `.reg` file (Windows Registry Editor 5.00) on stdout.
    Export {
        /// The hive file.
        hive: PathBuf,
        /// Key path inside the hive (default: the root).
        key: Option<String>,
        /// Key path prefix naming the hive (default `HKEY_LOCAL_MACHINE\<FILE NAME>`; `\` for none).
        #[arg(long)]
        prefix: Option<String>,
        /// Write UTF-16LE with a BOM, as regedit writes and expects non-ASCII files (default UTF-8).
        #[arg(long)]
        utf16: bool,
    },
    /// Merge a `.reg` file into a hive (atomically: the hive changes only if all of it applies).
    Import {
        /// The hive file.
        hive: PathBuf,
        /// The `.reg` file (UTF-8 or UTF-16LE with BOM).
        file: PathBuf,
        /// Key path prefix that names the hive in the `.reg` file (detected from the first key
        /// when absent).
        #[arg(long)]
        prefix: Option<String>,
        /// Print a machine-readable summary.
        #[arg(long)]
        json: bool,
    },
    /// Print a key (its values and subkeys) or one value.
    Get {
        /// The hive file.
        hive: PathBuf,
        /// Key path inside the hive (`\` for the root).
        key: String,
        /// Value name (`@` or empty for the default value).
        value: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a new, empty hive.
    New {
        /// The hive file to create (refused if it exists).
        hive: PathBuf,
        /// Name of the root key (for example `BCD00000000`, `ROOT`).
        #[arg(long, default_value = "ROOT")]
        root: String,
    },
}

pub(crate) fn run(c: RegCommand) -> anyhow::Result<ExitCode> {
    match c {
        RegCommand::Export {
            hive,
            key,
            prefix,
            utf16,
        } => export(&hive, key.as_deref().unwrap_or(""), prefix, utf16),
        RegCommand::Import {
            hive,
            file,
            prefix,
            json,
        } => import(&hive, &file, prefix.as_deref(), json),
        RegCommand::Get {
            hive,
            key,
            value,
            json,
        } => get(&hive, &key, value.as_deref(), json),
        RegCommand::New { hive, root } => new(&hive, &root),
    }
}

fn open(path: &Path) -> anyhow::Result<Hive> {
    Hive::open(path).with_context(|| format!("cannot read hive {}", path.display()))
}

fn default_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_uppercase())
        .unwrap_or_default();
    format!("HKEY_LOCAL_MACHINE\\{name}")
}

#[allow(clippy::print_stdout, reason = "the command prints its data on stdout")]
fn export(path: &Path, key: &str, prefix: Option<String>, utf16: bool) -> anyhow::Result<ExitCode> {
    let h = open(path)?;
    let prefix = match prefix.as_deref() {
        Some("\\") | Some("") => String::new(),
        Some(p) => p.trim_end_matches('\\').to_string(),
        None => default_prefix(path),
    };
    let text = regfile::export(&h, key, &prefix)?;
    let bytes = if utf16 {
        let mut b = vec![0xFF, 0xFE];
        b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        b
    } else {
        text.into_bytes()
    };
    std::io::stdout().lock().write_all(&bytes)?;
    Ok(ExitCode::SUCCESS)
}

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "summary on stdout (json) or stderr"
)]
fn import(path: &Path, file: &Path, prefix: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let h = open(path)?;
    let ops = regfile::read(file, prefix)?;
    let mut edit = h.edit()?;
    regfile::apply(&mut edit, &ops)?;
    let written = edit
        .commit(path)
        .with_context(|| format!("cannot write hive {}", path.display()))?;
    let count = |f: fn(&regfile::RegOp) -> bool| ops.iter().filter(|o| f(o)).count();
    let keys = count(|o| matches!(o, regfile::RegOp::CreateKey { .. }));
    let deleted_keys = count(|o| matches!(o, regfile::RegOp::DeleteKey { .. }));
    let values = count(|o| matches!(o, regfile::RegOp::SetValue { .. }));
    let deleted_values = count(|o| matches!(o, regfile::RegOp::DeleteValue { .. }));
    if json {
        let v = serde_json::json!({
            "hive": path, "file": file, "keys": keys, "deleted_keys": deleted_keys,
            "values": values, "deleted_values": deleted_values,
            "size": written.as_bytes().len(), "sequence": written.base_block().primary_seq,
            "replayed_logs": written.replayed_logs(),
        });
        println!("{v}");
    } else {
        eprintln!(
            "{}: merged {} ({keys} keys, {values} values set, {deleted_keys} keys and {deleted_values} values deleted)",
            path.display(),
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn value_json(v: &Value) -> serde_json::Value {
    serde_json::json!({
        "name": v.name,
        "type": v.kind.0,
        "type_name": v.kind.name(),
        "decoded": v.decode(),
        "hex": v.data.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    })
}

fn value_text(v: &Value) -> String {
    match v.decode() {
        Decoded::String(s) => s,
        Decoded::MultiString(items) => items.join("\n"),
        Decoded::Dword(d) => format!("{d:#010x} ({d})"),
        Decoded::Qword(q) => format!("{q:#018x} ({q})"),
        Decoded::Binary(b) => b
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[allow(clippy::print_stdout, reason = "the command prints its data on stdout")]
fn get(path: &Path, key: &str, value: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let h = open(path)?;
    let k = h.key(key)?;
    if let Some(name) = value {
        let name = if name == "@" { "" } else { name };
        let v = k
            .value(name)?
            .ok_or_else(|| hive::HiveError::ValueNotFound {
                path: key.to_string(),
                name: name.to_string(),
            })?;
        if json {
            println!("{}", value_json(&v));
        } else {
            println!("{}", value_text(&v));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let values = k.values()?;
    let subkeys: Vec<String> = k.subkeys()?.iter().map(|s| s.name().to_string()).collect();
    if json {
        let v = serde_json::json!({
            "key": key, "name": k.name(), "class": k.class_name()?, "timestamp": k.timestamp(),
            "subkeys": subkeys, "values": values.iter().map(value_json).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        for s in &subkeys {
            println!("{s}\\");
        }
        for v in &values {
            let n = if v.name.is_empty() { "@" } else { &v.name };
            println!("{n} {} {}", v.kind, value_text(v).replace('\n', "\\0"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stderr, reason = "a log line on stderr")]
fn new(path: &Path, root: &str) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !path.exists(),
        "{} already exists\nhint: remove it first or pick another name",
        path.display()
    );
    let h = Hive::new_empty(root)?;
    let edit = h.edit()?;
    edit.commit(path)?;
    eprintln!("{}: new hive with root key {root:?}", path.display());
    Ok(ExitCode::SUCCESS)
}
