//! What a plugin call can reach besides its arguments: its configuration, the host's log and the
//! files of the package being transformed.

use serde::de::DeserializeOwned;

use crate::{Error, LogLevel, PackageView, Result, inf};

/// The services a plugin call reaches. Inside the component these are the host imports; the
/// test kit provides a directory on disk and a log it records.
pub trait Host {
    /// Write a line to infuse's log.
    fn log(&self, level: LogLevel, message: &str);
    /// Read a file of the package being transformed (`/`-separated, relative to the package
    /// root). Only `transform` calls have a package.
    fn read_package_file(&self, path: &str) -> std::result::Result<Vec<u8>, String>;
}

/// The context of one plugin call.
pub struct Context<'a> {
    config: &'a str,
    host: &'a dyn Host,
}

impl<'a> Context<'a> {
    /// A context over `config` (the `[config]` table of `plugin.toml` as JSON) and `host`.
    pub fn new(config: &'a str, host: &'a dyn Host) -> Self {
        Context { config, host }
    }

    /// The `[config]` table of `plugin.toml` as the JSON text the host passed (`{}` when the
    /// table is absent).
    pub fn config_json(&self) -> &str {
        self.config
    }

    /// The `[config]` table of `plugin.toml`, deserialized. Use `#[serde(default)]` for
    /// optional keys; an empty configuration is `{}` (or an empty text, read as `{}`).
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        let text = if self.config.trim().is_empty() {
            "{}"
        } else {
            self.config
        };
        serde_json::from_str(text).map_err(|e| Error::msg(format!("plugin.toml [config]: {e}")))
    }

    /// Write a line to infuse's log, tagged with the plugin's name by the host.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, message);
    }

    pub fn debug(&self, message: &str) {
        self.log(LogLevel::Debug, message);
    }

    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message);
    }

    /// Read a file of the package being transformed (`/`-separated, relative to the package
    /// root, as in [`PackageView::files`]).
    pub fn read_package_file(&self, path: &str) -> Result<Vec<u8>> {
        self.host
            .read_package_file(path)
            .map_err(|e| Error::msg(format!("reading {path}: {e}")))
    }

    /// Read and parse the package's INF (`package.inf_path`) with infuse's parser, exactly as
    /// infuse and SetupAPI read it (any encoding, `%strkey%` substituted).
    pub fn read_inf(&self, package: &PackageView) -> Result<inf::Inf> {
        let bytes = self.read_package_file(&package.inf_path)?;
        Ok(inf::parse(&bytes))
    }
}
