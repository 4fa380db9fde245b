//! Hive bins and cells: the one checked accessor every offset read from a hive goes through.
//!
//! A cell starts with an `i32` size (negative = allocated, positive = free), aligned to 8 bytes,
//! and its offset is relative to the start of the hive bins data (file offset minus 4096).

use super::error::{HiveError, Result};

/// Size of a hive bin header.
pub(crate) const HBIN_HEADER: usize = 32;
/// Hive bins are multiples of this size.
pub(crate) const HBIN_ALIGN: usize = 4096;
/// The "no cell" offset.
pub(crate) const NIL: u32 = 0xFFFF_FFFF;

/// The hive bins data of a hive (everything after the base block), with checked cell access.
#[derive(Clone, Copy)]
pub(crate) struct Bins<'a> {
    data: &'a [u8],
}

impl<'a> Bins<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bins { data }
    }

    /// The data of the allocated cell at `off` (without its size field). This is the only place
    /// that turns an offset read from the file into bytes.
    pub(crate) fn cell(&self, off: u32) -> Result<Rec<'a>> {
        let o = off as usize;
        if off == NIL || o < HBIN_HEADER || !o.is_multiple_of(8) {
            return Err(HiveError::corrupt(
                off,
                "cell offset is not a valid cell position",
            ));
        }
        let head = self.data.get(o..o + 4).ok_or_else(|| {
            HiveError::corrupt(off, "cell offset is past the end of the hive bins")
        })?;
        let size = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if size >= 0 {
            return Err(HiveError::corrupt(off, "cell is not allocated"));
        }
        let len = size.unsigned_abs() as usize;
        if len < 8 {
            return Err(HiveError::corrupt(
                off,
                format!("cell size {len} is too small"),
            ));
        }
        let b = self.data.get(o + 4..o + len).ok_or_else(|| {
            HiveError::corrupt(
                off,
                format!("cell of {len} bytes runs past the end of the hive bins"),
            )
        })?;
        Ok(Rec { off, b })
    }
}

/// The data of one allocated cell, with bounds-checked field reads whose errors carry the offset.
#[derive(Clone, Copy)]
pub(crate) struct Rec<'a> {
    /// Offset of the cell (its size field).
    pub(crate) off: u32,
    /// The cell data after the size field (including any padding).
    pub(crate) b: &'a [u8],
}

impl<'a> Rec<'a> {
    fn err(&self, pos: usize, what: &str) -> HiveError {
        HiveError::corrupt(
            self.off.saturating_add(4).saturating_add(pos as u32),
            format!("{what} runs past the end of its {}-byte cell", self.b.len()),
        )
    }

    pub(crate) fn bytes(&self, pos: usize, len: usize, what: &str) -> Result<&'a [u8]> {
        pos.checked_add(len)
            .and_then(|end| self.b.get(pos..end))
            .ok_or_else(|| self.err(pos, what))
    }

    pub(crate) fn u16(&self, pos: usize, what: &str) -> Result<u16> {
        let s = self.bytes(pos, 2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }

    pub(crate) fn u32(&self, pos: usize, what: &str) -> Result<u32> {
        let s = self.bytes(pos, 4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub(crate) fn u64(&self, pos: usize, what: &str) -> Result<u64> {
        let s = self.bytes(pos, 8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    pub(crate) fn sig(&self) -> [u8; 2] {
        [
            self.b.first().copied().unwrap_or(0),
            self.b.get(1).copied().unwrap_or(0),
        ]
    }

    pub(crate) fn expect_sig(&self, sig: &[u8; 2], what: &str) -> Result<()> {
        if &self.sig() == sig {
            Ok(())
        } else {
            Err(HiveError::corrupt(
                self.off,
                format!(
                    "expected {what} ({:?}), found signature {:?}",
                    String::from_utf8_lossy(sig),
                    String::from_utf8_lossy(&self.sig())
                ),
            ))
        }
    }
}

/// Walk the hive bin headers; returns `(offset, size)` of each bin or an error at the first bad one.
pub(crate) fn hbins(data: &[u8]) -> Result<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + HBIN_HEADER <= data.len() {
        let h = &data[pos..pos + HBIN_HEADER];
        if &h[0..4] != b"hbin" {
            return Err(HiveError::corrupt(pos as u32, "expected an hbin header"));
        }
        let size = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        if size < HBIN_ALIGN || !size.is_multiple_of(HBIN_ALIGN) || pos + size > data.len() {
            return Err(HiveError::corrupt(
                pos as u32,
                format!("bad hbin size {size}"),
            ));
        }
        out.push((pos as u32, size as u32));
        pos += size;
    }
    Ok(out)
}
