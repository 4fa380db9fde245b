//! Key nodes (`nk`) and subkey lists (`lf`, `lh`, `li`, `ri`).
//!
//! `nk` layout (offsets in the cell data, after the size field):
//! ```text
//!  0 "nk"  2 flags  4 last written FILETIME  12 access bits  16 parent  20 subkey count
//! 24 volatile subkey count  28 subkey list  32 volatile subkey list  36 value count
//! 40 value list  44 security (sk)  48 class name  52 largest subkey name (bytes, low 16 bits)
//! 56 largest subkey class  60 largest value name  64 largest value data  68 work var
//! 72 name length  74 class length  76 name (Latin-1 if flag 0x20, else UTF-16LE)
//! ```
//! Subkey lists: `lf`/`lh` = sig, u16 count, then (nk offset, hint or hash) pairs; `li` = sig,
//! count, nk offsets; `ri` = sig, count, offsets of `lf`/`lh`/`li` lists (never another `ri`).

use super::cell::{Bins, NIL, Rec};
use super::error::{HiveError, Result};
use super::name;

/// `nk` flag: the name is stored in Latin-1.
pub(crate) const KEY_COMP_NAME: u16 = 0x0020;
/// `nk` flag: the root key of the hive.
pub(crate) const KEY_HIVE_ENTRY: u16 = 0x0004;
/// `nk` flag: cannot be deleted (Windows sets it on the root).
pub(crate) const KEY_NO_DELETE: u16 = 0x0008;
/// Fixed part of an `nk` record, before the name.
pub(crate) const NK_FIXED: usize = 76;

/// The parsed fields of a key node.
#[derive(Debug, Clone)]
pub(crate) struct Nk {
    pub(crate) off: u32,
    pub(crate) flags: u16,
    pub(crate) timestamp: u64,
    pub(crate) subkey_count: u32,
    pub(crate) subkeys: u32,
    pub(crate) value_count: u32,
    pub(crate) values: u32,
    pub(crate) security: u32,
    pub(crate) class: u32,
    pub(crate) class_len: u16,
    pub(crate) name: String,
}

impl Nk {
    pub(crate) fn read(bins: &Bins<'_>, off: u32) -> Result<Nk> {
        let r = bins.cell(off)?;
        r.expect_sig(b"nk", "a key node")?;
        let flags = r.u16(2, "nk flags")?;
        let name_len = r.u16(72, "nk name length")? as usize;
        let raw = r.bytes(NK_FIXED, name_len, "nk name")?;
        Ok(Nk {
            off,
            flags,
            timestamp: r.u64(4, "nk timestamp")?,
            subkey_count: r.u32(20, "nk subkey count")?,
            subkeys: r.u32(28, "nk subkey list")?,
            value_count: r.u32(36, "nk value count")?,
            values: r.u32(40, "nk value list")?,
            security: r.u32(44, "nk security")?,
            class: r.u32(48, "nk class name")?,
            class_len: r.u16(74, "nk class name length")?,
            name: name::decode(raw, flags & KEY_COMP_NAME != 0),
        })
    }

    /// Just the name of the key at `off` (for list scans).
    pub(crate) fn read_name(bins: &Bins<'_>, off: u32) -> Result<String> {
        let r = bins.cell(off)?;
        r.expect_sig(b"nk", "a key node")?;
        let flags = r.u16(2, "nk flags")?;
        let name_len = r.u16(72, "nk name length")? as usize;
        Ok(name::decode(
            r.bytes(NK_FIXED, name_len, "nk name")?,
            flags & KEY_COMP_NAME != 0,
        ))
    }

    pub(crate) fn class_name(&self, bins: &Bins<'_>) -> Result<Option<String>> {
        if self.class == NIL || self.class_len == 0 {
            return Ok(None);
        }
        let r = bins.cell(self.class)?;
        Ok(Some(name::decode(
            r.bytes(0, self.class_len as usize, "class name")?,
            false,
        )))
    }
}

/// One entry of a subkey list: the key node offset and, for `lh` lists, the stored hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) off: u32,
    pub(crate) hash: Option<u32>,
}

/// Read a subkey list (following one level of `ri`) into `out`.
pub(crate) fn read_list(bins: &Bins<'_>, off: u32, out: &mut Vec<Entry>) -> Result<()> {
    read_list_at(bins, off, out, false)
}

fn read_list_at(bins: &Bins<'_>, off: u32, out: &mut Vec<Entry>, in_ri: bool) -> Result<()> {
    let r = bins.cell(off)?;
    let count = r.u16(2, "subkey list count")? as usize;
    match &r.sig() {
        b"lh" | b"lf" => {
            let lh = r.sig() == *b"lh";
            let body = r.bytes(4, count * 8, "subkey list")?;
            out.extend(body.chunks_exact(8).map(|c| Entry {
                off: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                hash: lh.then(|| u32::from_le_bytes([c[4], c[5], c[6], c[7]])),
            }));
        }
        b"li" => {
            let body = r.bytes(4, count * 4, "subkey list")?;
            out.extend(body.chunks_exact(4).map(|c| Entry {
                off: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                hash: None,
            }));
        }
        b"ri" if !in_ri => {
            let body = r.bytes(4, count * 4, "index root")?;
            for c in body.chunks_exact(4) {
                read_list_at(
                    bins,
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    out,
                    true,
                )?;
            }
        }
        b"ri" => {
            return Err(HiveError::corrupt(
                off,
                "an index root points to another index root",
            ));
        }
        s => {
            return Err(HiveError::corrupt(
                off,
                format!(
                    "expected a subkey list, found signature {:?}",
                    String::from_utf8_lossy(s)
                ),
            ));
        }
    }
    Ok(())
}

/// The cells a subkey list occupies (the list and, for `ri`, its leaves).
pub(crate) fn list_cells(bins: &Bins<'_>, off: u32) -> Result<Vec<u32>> {
    let r: Rec<'_> = bins.cell(off)?;
    let mut cells = vec![off];
    if r.sig() == *b"ri" {
        let count = r.u16(2, "index root count")? as usize;
        let body = r.bytes(4, count * 4, "index root")?;
        cells.extend(
            body.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }
    Ok(cells)
}

/// Find a subkey by name (case-insensitive, as Windows compares).
pub(crate) fn find(bins: &Bins<'_>, nk: &Nk, want: &str) -> Result<Option<u32>> {
    if nk.subkey_count == 0 || nk.subkeys == NIL {
        return Ok(None);
    }
    let mut entries = Vec::new();
    read_list(bins, nk.subkeys, &mut entries)?;
    let key = name::upcase_key(want);
    let hash = name::lh_hash(want);
    for e in entries {
        if e.hash.is_some_and(|h| h != hash) {
            continue;
        }
        if name::upcase_key(&Nk::read_name(bins, e.off)?) == key {
            return Ok(Some(e.off));
        }
    }
    Ok(None)
}
