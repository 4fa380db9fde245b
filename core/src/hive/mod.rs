//! The registry hive (regf) engine: checked reader and transactional, append-only writer.
//!
//! Offline Windows servicing is hive editing: drivers go into `SYSTEM` and `DRIVERS`, the boot
//! configuration is a `BCD` hive. No Rust crate can safely edit a real `SYSTEM` hive
//! (`reference/ecosystem.md` §1), so infuse has its own engine, shaped after hivex's discipline
//! and tested against hivex, reglookup, libregf and chntpw.
//!
//! # Using it
//! ```no_run
//! use infuse::hive::{Hive, ValueType, Value};
//! # fn main() -> Result<(), infuse::hive::HiveError> {
//! let hive = Hive::open("SYSTEM")?;                       // replays .LOG1/.LOG2 if dirty
//! let start = hive.key(r"ControlSet001\Services\Tcpip")?.value("Start")?;
//! let mut edit = hive.edit()?;                            // refused if dirty without logs
//! edit.create_key(r"ControlSet001\Services\viostor\Parameters")?;
//! edit.set_dword(r"ControlSet001\Services\viostor", "Start", 0)?;
//! edit.set_expand_string(r"ControlSet001\Services\viostor", "ImagePath", r"System32\drivers\viostor.sys")?;
//! edit.set_multi_string(r"ControlSet001\Services\viostor", "Owners", &["oem7.inf"])?;
//! edit.set_value(r"DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1001", "oem7.inf",
//!                ValueType::BINARY, [1u8, 0xff, 0, 0])?;            // any type, raw bytes
//! edit.delete_key(r"ControlSet001\Services\Obsolete")?;   // whole subtree
//! let written: Hive = edit.commit("SYSTEM")?;             // atomic: temp + fsync + rename
//! let bcd = Hive::new_empty("BCD00000000")?;             // a hive from nothing
//! # let _ = (start, written, bcd, Value::dword("x", 1)); Ok(()) }
//! ```
//! Paths are `\`-separated, relative to the root key, and compared case-insensitively the way
//! Windows compares them (upper-cased UTF-16 code units). `set_value` creates missing keys.
//!
//! # Shape
//! One file per on-disk concern: [`base`] (base block, sequence numbers, checksum), `cell`
//! (hive bins and the one checked accessor every offset goes through), `key` (`nk` and the
//! `lf`/`lh`/`li`/`ri` subkey lists), `value` (`vk`, data, big data `db`), `security` (`sk`),
//! `log` (new-format `.LOG1`/`.LOG2` replay), `alloc` + `edit` (the writer), `file` (atomic
//! replacement), [`regfile`] (`.reg` import and export).
//!
//! **Invariant:** every offset or length read from a hive goes through `cell::Bins::cell` and
//! `cell::Rec`'s checked field reads; a corrupt hive gives [`HiveError::Corrupt`] with the
//! offset, never a panic (fuzzed: `core/fuzz`).
//!
//! **Invariant:** an [`Edit`] records changes as a tree of pending keys; nothing is applied
//! until [`Edit::apply`]/[`Edit::commit`], which rewrite a copy of the hive: new cells are
//! appended (see `alloc` for why space is not reused), subkey lists are rebuilt sorted with
//! their `lh` hashes, new keys share their parent's `sk` (reference count incremented; deleting
//! keys decrements it and frees the record at zero), values over 16,344 bytes become big data,
//! and both sequence numbers, the timestamp and the checksum are updated.

mod alloc;
pub mod base;
mod cell;
mod edit;
mod error;
mod file;
mod key;
pub(crate) mod log;
mod name;
mod reader;
pub mod regfile;
mod security;
mod value;

pub use base::{BaseBlock, filetime_now};
pub use edit::{Edit, MAX_KEY_NAME, MAX_VALUE_NAME};
pub use error::{HiveError, Result};
pub use file::Step as CommitStep;
pub use reader::{Hive, Key, MAX_DEPTH};
pub use value::{BIG_DATA_SEGMENT, Decoded, Value, ValueType, multi_sz, utf16z};

/// Building blocks for tests of log replay (constructing a new-format log as Windows writes
/// one). Not part of the stable API.
#[doc(hidden)]
pub mod testing {
    pub use super::log::{MARVIN_SEED, marvin32};

    /// One log entry to build: sequence number, hive bins size, dirty pages (offset, bytes).
    pub type LogEntry = (u32, u32, Vec<(u32, Vec<u8>)>);

    /// A new-format log (`.LOG1`) holding one `HvLE` entry per `(sequence, hive bins size,
    /// dirty pages)` item; `base` is the primary's base block the log copies.
    pub fn build_log(base: &[u8], entries: &[LogEntry]) -> Vec<u8> {
        let mut out = base[..512].to_vec();
        out[28..32].copy_from_slice(&6u32.to_le_bytes());
        let c = super::base::checksum(&out);
        out[508..512].copy_from_slice(&c.to_le_bytes());
        for (seq, bins_size, pages) in entries {
            let mut e = vec![0u8; 40];
            e[0..4].copy_from_slice(b"HvLE");
            e[8..12].copy_from_slice(&0u32.to_le_bytes());
            e[12..16].copy_from_slice(&seq.to_le_bytes());
            e[16..20].copy_from_slice(&bins_size.to_le_bytes());
            e[20..24].copy_from_slice(&(pages.len() as u32).to_le_bytes());
            for (off, p) in pages {
                e.extend_from_slice(&off.to_le_bytes());
                e.extend_from_slice(&(p.len() as u32).to_le_bytes());
            }
            for (_, p) in pages {
                e.extend_from_slice(p);
            }
            e.resize(e.len().div_ceil(512) * 512, 0);
            let size = e.len() as u32;
            e[4..8].copy_from_slice(&size.to_le_bytes());
            let h1 = marvin32(&e[40..], MARVIN_SEED);
            e[24..32].copy_from_slice(&h1.to_le_bytes());
            let h2 = marvin32(&e[..32], MARVIN_SEED);
            e[32..40].copy_from_slice(&h2.to_le_bytes());
            out.extend_from_slice(&e);
        }
        out
    }
}
