//! infuse-driver-store: INF text → model, driver packages, and the on-disk, indexed driver store.
//!
//! Layers, bottom up:
//! - [`inf`]: the SetupAPI-exact lexer/parser (bytes in any INF encoding → sections of lines of
//!   fields, plus diagnostics) and the semantic model on top of it (`[Version]`, `[Manufacturer]`
//!   with decorations, models, DDInstall resolution, services, files). Pure, no IO: it also builds
//!   for `wasm32-wasip2` so plugins can parse INF text.
//! - `store` (feature `store`): packages, content-addressed payloads and the memory-mapped index.

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod inf;
#[cfg(feature = "store")]
pub mod store;
