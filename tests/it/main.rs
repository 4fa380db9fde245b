//! End-to-end tests through the real `infuse` binary and independent oracles, one binary with a
//! module per area.

mod demo;
mod image;
mod inf;
mod inf_oracle;
mod inject;
mod inject_plugins;
mod matching;
mod plugin;
mod plugin_sdk;
mod reg;
mod scan;
mod smoke;
mod store;
