//! infuse: put the right Windows drivers into offline Windows images.
//!
//! One folder per concern: `hwid` (devices and their sources), `rank` (Windows-exact driver
//! ranking), `hive` (the registry hive engine), and `cli` (argument parsing and printing only;
//! every command calls a library function that returns data).

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod demo;
pub mod hive;
pub mod hwid;
pub mod image;
pub mod plugin;
pub mod rank;
pub mod stage;
