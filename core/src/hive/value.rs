//! Values (`vk`), their data cells and big data (`db`), and typed decoding of value data.
//!
//! `vk` layout: `0 "vk"  2 name length  4 data size (bit 31: data stored inline in the offset
//! field, at most 4 bytes)  8 data offset  12 type  16 flags (0x1: Latin-1 name)  18 spare
//! 20 name`. Data larger than 16,344 bytes in a hive of format 1.4 or later is stored as big
//! data: a `db` record (`0 "db"  2 segment count  4 offset of the segment list`) whose segments
//! hold 16,344 bytes each, the last one the rest (libyal REGF §4.6; Windows' CM_KEY_VALUE_BIG).

use std::fmt;

use super::cell::{Bins, NIL};
use super::error::{HiveError, Result};
use super::name;

/// Largest data stored in one cell; anything larger is big data (format 1.4+).
pub const BIG_DATA_SEGMENT: usize = 16_344;
/// `vk` flag: the name is stored in Latin-1.
pub(crate) const VALUE_COMP_NAME: u16 = 0x0001;
/// Fixed part of a `vk` record, before the name.
pub(crate) const VK_FIXED: usize = 20;

/// A registry value type. The raw number is kept: types outside the documented range (BCD and
/// the device property store use `0xFFFF0000 | DEVPROPTYPE`) round-trip unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ValueType(pub u32);

impl ValueType {
    /// REG_NONE
    pub const NONE: ValueType = ValueType(0);
    /// REG_SZ: a NUL-terminated UTF-16LE string.
    pub const SZ: ValueType = ValueType(1);
    /// REG_EXPAND_SZ: a string with `%VARIABLES%`.
    pub const EXPAND_SZ: ValueType = ValueType(2);
    /// REG_BINARY
    pub const BINARY: ValueType = ValueType(3);
    /// REG_DWORD (little-endian u32)
    pub const DWORD: ValueType = ValueType(4);
    /// REG_DWORD_BIG_ENDIAN
    pub const DWORD_BIG_ENDIAN: ValueType = ValueType(5);
    /// REG_LINK: a symbolic link target, UTF-16LE without terminator.
    pub const LINK: ValueType = ValueType(6);
    /// REG_MULTI_SZ: NUL-separated strings ending with an empty one.
    pub const MULTI_SZ: ValueType = ValueType(7);
    /// REG_RESOURCE_LIST
    pub const RESOURCE_LIST: ValueType = ValueType(8);
    /// REG_FULL_RESOURCE_DESCRIPTOR
    pub const FULL_RESOURCE_DESCRIPTOR: ValueType = ValueType(9);
    /// REG_RESOURCE_REQUIREMENTS_LIST
    pub const RESOURCE_REQUIREMENTS_LIST: ValueType = ValueType(10);
    /// REG_QWORD (little-endian u64)
    pub const QWORD: ValueType = ValueType(11);

    /// The Windows name of the type, or `None` outside the documented range.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "REG_NONE",
            1 => "REG_SZ",
            2 => "REG_EXPAND_SZ",
            3 => "REG_BINARY",
            4 => "REG_DWORD",
            5 => "REG_DWORD_BIG_ENDIAN",
            6 => "REG_LINK",
            7 => "REG_MULTI_SZ",
            8 => "REG_RESOURCE_LIST",
            9 => "REG_FULL_RESOURCE_DESCRIPTOR",
            10 => "REG_RESOURCE_REQUIREMENTS_LIST",
            11 => "REG_QWORD",
            _ => return None,
        })
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#010x}", self.0),
        }
    }
}

/// A value: its name (empty for the default value), type and raw data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The name; empty for the key's default value (`@` in `.reg` files).
    pub name: String,
    /// The type, raw number kept.
    pub kind: ValueType,
    /// The data exactly as stored.
    pub data: Vec<u8>,
}

/// The typed reading of a value's data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Decoded {
    /// REG_SZ, REG_EXPAND_SZ, REG_LINK.
    String(String),
    /// REG_MULTI_SZ.
    MultiString(Vec<String>),
    /// REG_DWORD, REG_DWORD_BIG_ENDIAN (4 bytes).
    Dword(u32),
    /// REG_QWORD (8 bytes).
    Qword(u64),
    /// Anything else, or data that does not fit its type.
    Binary(Vec<u8>),
}

impl Value {
    /// Build a REG_SZ value (UTF-16LE with its terminating NUL).
    pub fn string(name: &str, s: &str) -> Value {
        Value {
            name: name.into(),
            kind: ValueType::SZ,
            data: utf16z(s),
        }
    }

    /// Build a REG_DWORD value.
    pub fn dword(name: &str, v: u32) -> Value {
        Value {
            name: name.into(),
            kind: ValueType::DWORD,
            data: v.to_le_bytes().to_vec(),
        }
    }

    /// The data decoded according to the type; data that does not fit falls back to `Binary`.
    pub fn decode(&self) -> Decoded {
        match self.kind {
            ValueType::SZ | ValueType::EXPAND_SZ | ValueType::LINK => match utf16_units(&self.data)
            {
                Some(u) => {
                    let end = u.iter().position(|&c| c == 0).unwrap_or(u.len());
                    Decoded::String(String::from_utf16_lossy(&u[..end]))
                }
                None => Decoded::Binary(self.data.clone()),
            },
            ValueType::MULTI_SZ => match utf16_units(&self.data) {
                Some(u) => {
                    let mut parts: Vec<String> =
                        u.split(|&c| c == 0).map(String::from_utf16_lossy).collect();
                    while parts.last().is_some_and(String::is_empty) {
                        parts.pop();
                    }
                    Decoded::MultiString(parts)
                }
                None => Decoded::Binary(self.data.clone()),
            },
            ValueType::DWORD if self.data.len() == 4 => Decoded::Dword(u32::from_le_bytes([
                self.data[0],
                self.data[1],
                self.data[2],
                self.data[3],
            ])),
            ValueType::DWORD_BIG_ENDIAN if self.data.len() == 4 => {
                Decoded::Dword(u32::from_be_bytes([
                    self.data[0],
                    self.data[1],
                    self.data[2],
                    self.data[3],
                ]))
            }
            ValueType::QWORD if self.data.len() == 8 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&self.data);
                Decoded::Qword(u64::from_le_bytes(a))
            }
            _ => Decoded::Binary(self.data.clone()),
        }
    }
}

fn utf16_units(b: &[u8]) -> Option<Vec<u16>> {
    b.len().is_multiple_of(2).then(|| {
        b.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()
    })
}

/// UTF-16LE bytes of `s` followed by a NUL (REG_SZ data).
pub fn utf16z(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.extend_from_slice(&[0, 0]);
    v
}

/// REG_MULTI_SZ data: each string NUL-terminated, then one more NUL.
pub fn multi_sz<S: AsRef<str>>(items: &[S]) -> Vec<u8> {
    let mut v = Vec::new();
    for s in items {
        v.extend(utf16z(s.as_ref()));
    }
    v.extend_from_slice(&[0, 0]);
    v
}

/// The parsed fields of a `vk` record.
#[derive(Debug, Clone)]
pub(crate) struct Vk {
    pub(crate) name: String,
    pub(crate) size: u32,
    pub(crate) data_off: u32,
    pub(crate) kind: u32,
}

impl Vk {
    pub(crate) fn read(bins: &Bins<'_>, off: u32) -> Result<Vk> {
        let r = bins.cell(off)?;
        r.expect_sig(b"vk", "a value record")?;
        let name_len = r.u16(2, "vk name length")? as usize;
        let flags = r.u16(16, "vk flags")?;
        Ok(Vk {
            name: name::decode(
                r.bytes(VK_FIXED, name_len, "vk name")?,
                flags & VALUE_COMP_NAME != 0,
            ),
            size: r.u32(4, "vk data size")?,
            data_off: r.u32(8, "vk data offset")?,
            kind: r.u32(12, "vk type")?,
        })
    }

    pub(crate) fn is_inline(&self) -> bool {
        self.size & 0x8000_0000 != 0
    }

    pub(crate) fn len(&self) -> usize {
        (self.size & 0x7FFF_FFFF) as usize
    }

    /// Whether the data is stored as big data in a hive of this minor version.
    pub(crate) fn is_big(&self, bins: &Bins<'_>, minor: u32) -> bool {
        !self.is_inline()
            && self.len() > BIG_DATA_SEGMENT
            && minor >= 4
            && bins.cell(self.data_off).is_ok_and(|r| r.sig() == *b"db")
    }

    pub(crate) fn data(&self, bins: &Bins<'_>, minor: u32, vk_off: u32) -> Result<Vec<u8>> {
        let len = self.len();
        if self.is_inline() {
            if len > 4 {
                return Err(HiveError::corrupt(
                    vk_off,
                    format!("inline value data of {len} bytes (at most 4 fit)"),
                ));
            }
            return Ok(self.data_off.to_le_bytes()[..len].to_vec());
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        if self.is_big(bins, minor) {
            return read_big(bins, self.data_off, len);
        }
        let r = bins.cell(self.data_off)?;
        Ok(r.bytes(0, len, "value data")?.to_vec())
    }

    /// The cells this value occupies besides the `vk` itself.
    pub(crate) fn data_cells(&self, bins: &Bins<'_>, minor: u32) -> Result<Vec<u32>> {
        if self.is_inline() || self.len() == 0 || self.data_off == NIL {
            return Ok(Vec::new());
        }
        let mut cells = vec![self.data_off];
        if self.is_big(bins, minor) {
            let r = bins.cell(self.data_off)?;
            let count = r.u16(2, "db segment count")? as usize;
            let list = r.u32(4, "db segment list")?;
            let l = bins.cell(list)?;
            cells.push(list);
            for c in l.bytes(0, count * 4, "db segment list")?.chunks_exact(4) {
                cells.push(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            }
        }
        Ok(cells)
    }
}

fn read_big(bins: &Bins<'_>, off: u32, len: usize) -> Result<Vec<u8>> {
    let r = bins.cell(off)?;
    let count = r.u16(2, "db segment count")? as usize;
    let list = bins.cell(r.u32(4, "db segment list")?)?;
    let segs = list.bytes(0, count * 4, "db segment list")?;
    let mut out = Vec::with_capacity(len);
    for c in segs.chunks_exact(4) {
        if out.len() >= len {
            break;
        }
        let seg = bins.cell(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))?;
        let want = (len - out.len()).min(BIG_DATA_SEGMENT);
        out.extend_from_slice(seg.bytes(0, want, "big data segment")?);
    }
    if out.len() != len {
        return Err(HiveError::corrupt(
            off,
            format!("big data has {} of {len} bytes", out.len()),
        ));
    }
    Ok(out)
}

/// Read a value list of `count` entries.
pub(crate) fn read_value_list(bins: &Bins<'_>, off: u32, count: u32) -> Result<Vec<u32>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let r = bins.cell(off)?;
    Ok(r.bytes(0, count as usize * 4, "value list")?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
