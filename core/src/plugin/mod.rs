//! The vendor plugin host: WebAssembly components that see only what infuse hands them and
//! return only data infuse checks before applying.
//!
//! A plugin is a directory with a `plugin.toml` ([`manifest`]) and the component it names,
//! built for `wasm32-wasip2` against `sdk/wit/plugin.wit` (`infuse:plugin@0.1.0`, world
//! `vendor-plugin`). Loading one ([`PluginHost::load`]):
//! 1. parses and checks the manifest (API version, limits within the host's maximums) and the
//!    component's sha256 against it;
//! 2. compiles the component, or deserializes it from the host-owned cache ([`cache`]), keyed by
//!    that sha256 and the engine's compatibility hash;
//! 3. lists the component's imports and refuses any that is not on the allowlist (the `host`
//!    interface and the WASI p2 basics a Rust guest links: no filesystem, sockets or http)
//!    **before** anything is instantiated;
//! 4. calls `describe` and refuses a plugin whose answer disagrees with its manifest.
//!
//! Every call ([`Plugin::select`], [`Plugin::transform`]) runs in a fresh `Store` made from the
//! plugin's cached `InstancePre`, with a fuel budget, an epoch deadline (one ticker thread per
//! host), a memory cap, and stdout/stderr captured into a bounded pipe so a trap reports the
//! plugin's last words. Outputs are validated ([`validate`]) before the caller sees them.
//!
//! [`route`] decides which plugins see which devices and packages and applies `select`
//! decisions to a device's ranked candidates; [`transform`] applies edits to a package.
//!
//! **Invariant:** this module is the only code that names wasmtime; the rest of infuse sees the
//! plain types below.

use std::path::PathBuf;

use serde::Serialize;

pub mod cache;
pub mod manifest;
pub mod route;
mod runtime;
pub mod transform;
pub mod validate;

pub use manifest::{Limits, Manifest};
pub use runtime::{Plugin, PluginHost};

/// The contract version this host implements (`infuse:plugin@0.1.0`).
pub const API_VERSION: &str = "0.1.0";

/// Which devices and packages a plugin is routed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Vendors {
    pub pci: Vec<u16>,
    pub usb: Vec<u16>,
    pub providers: Vec<String>,
}

/// The hooks a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    Select,
    Transform,
}

/// What `describe` returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub vendors: Vendors,
    pub hooks: Vec<Hook>,
}

/// A plugin's decision about one candidate of `select`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    Reject { reason: String },
    Prefer { reason: String },
    Adjust { delta: i32, reason: String },
}

/// One decision: the candidate's id (its position in the list handed to the plugin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub candidate: u32,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// A registry value to set at injection under the package's device key (`HKR` of `.HW`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryValue {
    pub subkey: String,
    pub name: String,
    pub data: RegistryData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum RegistryData {
    Dword(u32),
    Qword(u64),
    String(String),
    ExpandString(String),
    MultiString(Vec<String>),
    Binary(Vec<u8>),
}

/// A change to a package (see `sdk/wit/plugin.wit` for the semantics of each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    AddHardwareIds { like: String, ids: Vec<String> },
    InsertLines { section: String, lines: Vec<String> },
    RemoveLines { section: String, keys: Vec<String> },
    DropFile { path: String },
    DropSection { section: String },
    AddRegistry { value: RegistryValue },
}

/// An edit with the plugin's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonedEdit {
    #[serde(flatten)]
    pub edit: Edit,
    pub reason: String,
}

/// Why a plugin could not be loaded or a call failed. Each names the plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("{}: {why}", path.display())]
    Manifest { path: PathBuf, why: String },
    #[error(
        "plugin `{plugin}` imports `{name}`, which is not on the allowlist\nhint: a plugin may import only infuse:plugin/host and the WASI p2 io, cli, clocks and random interfaces (no filesystem, sockets or http)"
    )]
    RefusedImport { plugin: String, name: String },
    #[error("plugin `{plugin}` does not implement the contract: {why}")]
    Contract { plugin: String, why: String },
    #[error("plugin `{plugin}`: {call} ran out of fuel (budget {budget} units)")]
    OutOfFuel {
        plugin: String,
        call: &'static str,
        budget: u64,
    },
    #[error("plugin `{plugin}`: {call} passed its deadline of {timeout_ms} ms")]
    Deadline {
        plugin: String,
        call: &'static str,
        timeout_ms: u64,
    },
    #[error("plugin `{plugin}`: {call} went over its memory cap of {limit_bytes} bytes")]
    Memory {
        plugin: String,
        call: &'static str,
        limit_bytes: u64,
    },
    #[error(
        "plugin `{plugin}`: {call} trapped: {message}{}",
        tail_text(stderr_tail)
    )]
    Trap {
        plugin: String,
        call: &'static str,
        message: String,
        stderr_tail: String,
    },
    #[error("plugin `{plugin}`: {call} returned invalid output: {why}")]
    InvalidOutput {
        plugin: String,
        call: &'static str,
        why: String,
    },
    #[error("plugin `{plugin}`: {call} failed: {message}")]
    Failed {
        plugin: String,
        call: &'static str,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plugin `{plugin}`: {why}")]
    Engine { plugin: String, why: String },
}

fn tail_text(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nplugin stderr (tail):\n{}", tail.trim_end())
    }
}

impl PluginError {
    /// A stable name for reports and `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Manifest { .. } => "manifest",
            PluginError::RefusedImport { .. } => "refused_import",
            PluginError::Contract { .. } => "contract",
            PluginError::OutOfFuel { .. } => "out_of_fuel",
            PluginError::Deadline { .. } => "deadline",
            PluginError::Memory { .. } => "memory",
            PluginError::Trap { .. } => "trap",
            PluginError::InvalidOutput { .. } => "invalid_output",
            PluginError::Failed { .. } => "plugin_error",
            PluginError::Io { .. } => "io",
            PluginError::Engine { .. } => "engine",
        }
    }
}

/// A plugin directory and what loading it gave.
pub type Loaded = (PathBuf, Result<Plugin, PluginError>);

/// Loads every plugin directory under `dir` (each subdirectory with a `plugin.toml`, or `dir`
/// itself when it has one), sorted by path, each with its own outcome: a plugin that cannot be
/// loaded is reported and left out, it does not stop the others.
pub fn load_dir(host: &PluginHost, dir: &std::path::Path) -> Result<Vec<Loaded>, PluginError> {
    if dir.join(manifest::FILE_NAME).is_file() {
        return Ok(vec![(dir.to_path_buf(), host.load(dir))]);
    }
    let rd = fs_err::read_dir(dir).map_err(|source| PluginError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(manifest::FILE_NAME).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(PluginError::Manifest {
            path: dir.to_path_buf(),
            why: format!(
                "no {} here or in its subdirectories\nhint: `infuse plugin new NAME` writes a plugin skeleton",
                manifest::FILE_NAME
            ),
        });
    }
    Ok(dirs
        .into_iter()
        .map(|d| {
            let loaded = host.load(&d);
            (d, loaded)
        })
        .collect())
}
