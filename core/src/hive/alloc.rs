//! Cell allocation for the writer: new cells are appended at the end of the hive (in the free
//! tail of the last hive bin, then in new 4 KiB-multiple bins); freed cells are marked free.
//!
//! Why append instead of reusing free cells: a commit writes a whole new file anyway, so appending
//! costs nothing in safety, never moves or overlaps a cell some structure we did not understand
//! still points to (hivex's reason, `man 3 hivex` "WRITING TO HIVE FILES"), and keeps every
//! edit's cells contiguous. Freed cells are marked free (positive size), so Windows reuses them
//! once it loads the hive. The cost is growth by the size of what a session writes.

use super::base::BASE_BLOCK;
use super::cell::{Bins, HBIN_ALIGN, HBIN_HEADER, hbins};
use super::error::{HiveError, Result};

/// The hive file being rewritten, with an append allocator.
pub(crate) struct Writer {
    pub(crate) file: Vec<u8>,
    /// File offsets of the free space at the end of the last hive bin.
    tail: usize,
    tail_end: usize,
    timestamp: u64,
}

impl Writer {
    pub(crate) fn new(file: Vec<u8>, timestamp: u64) -> Writer {
        let mut w = Writer {
            tail: 0,
            tail_end: 0,
            file,
            timestamp,
        };
        w.find_tail();
        w
    }

    /// Reuse the free cell that ends the last hive bin, if there is one.
    fn find_tail(&mut self) {
        let Some(data) = self.file.get(BASE_BLOCK..) else {
            return;
        };
        let Ok(bins) = hbins(data) else { return };
        let Some(&(off, size)) = bins.last() else {
            return;
        };
        let (start, end) = (off as usize + HBIN_HEADER, off as usize + size as usize);
        let mut pos = start;
        while pos + 4 <= end {
            let s = i32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]);
            let len = s.unsigned_abs() as usize;
            if len < 8 || !len.is_multiple_of(8) || pos + len > end {
                return;
            }
            if s > 0 && pos + len == end {
                self.tail = BASE_BLOCK + pos;
                self.tail_end = BASE_BLOCK + end;
                return;
            }
            pos += len;
        }
    }

    pub(crate) fn bins(&self) -> Bins<'_> {
        Bins::new(self.file.get(BASE_BLOCK..).unwrap_or(&[]))
    }

    /// Allocate a cell for `len` bytes of data and return its offset (relative to the bins).
    pub(crate) fn alloc(&mut self, len: usize) -> Result<u32> {
        let size = (len + 4).div_ceil(8) * 8;
        if size > i32::MAX as usize / 2 {
            return Err(HiveError::corrupt(
                0,
                format!("cell of {len} bytes is too large"),
            ));
        }
        if self.tail_end - self.tail < size {
            self.new_bin(size);
        }
        let pos = self.tail;
        self.file[pos..pos + 4].copy_from_slice(&(-(size as i32)).to_le_bytes());
        self.file[pos + 4..pos + size].fill(0);
        self.tail += size;
        if self.tail < self.tail_end {
            let rest = (self.tail_end - self.tail) as i32;
            self.file[self.tail..self.tail + 4].copy_from_slice(&rest.to_le_bytes());
        }
        Ok((pos - BASE_BLOCK) as u32)
    }

    /// Allocate a cell and copy `data` into it.
    pub(crate) fn put(&mut self, data: &[u8]) -> Result<u32> {
        let off = self.alloc(data.len())?;
        let p = BASE_BLOCK + off as usize + 4;
        self.file[p..p + data.len()].copy_from_slice(data);
        Ok(off)
    }

    /// Allocate a cell for `data` plus `slack` spare (zeroed) bytes and copy `data` into it.
    pub(crate) fn put_with_slack(&mut self, data: &[u8], slack: usize) -> Result<u32> {
        let off = self.alloc(data.len() + slack)?;
        let p = BASE_BLOCK + off as usize + 4;
        self.file[p..p + data.len()].copy_from_slice(data);
        Ok(off)
    }

    fn new_bin(&mut self, cell: usize) {
        let size = (cell + HBIN_HEADER).div_ceil(HBIN_ALIGN) * HBIN_ALIGN;
        let start = self.file.len();
        let rel = (start - BASE_BLOCK) as u32;
        self.file.resize(start + size, 0);
        let h = &mut self.file[start..start + HBIN_HEADER];
        h[0..4].copy_from_slice(b"hbin");
        h[4..8].copy_from_slice(&rel.to_le_bytes());
        h[8..12].copy_from_slice(&(size as u32).to_le_bytes());
        h[20..28].copy_from_slice(&self.timestamp.to_le_bytes());
        self.tail = start + HBIN_HEADER;
        self.tail_end = start + size;
        let rest = (self.tail_end - self.tail) as i32;
        self.file[self.tail..self.tail + 4].copy_from_slice(&rest.to_le_bytes());
    }

    /// Mark an allocated cell free (its contents are zeroed: deleted data does not linger).
    pub(crate) fn free(&mut self, off: u32) -> Result<()> {
        // Checked read first: a bad offset is an error, never a stray write.
        let len = self.bins().cell(off)?.b.len() + 4;
        let p = BASE_BLOCK + off as usize;
        self.file[p..p + 4].copy_from_slice(&(len as i32).to_le_bytes());
        self.file[p + 4..p + len].fill(0);
        Ok(())
    }

    /// Write a little-endian u32 at `pos` within the data of the cell at `off`.
    pub(crate) fn set_u32(&mut self, off: u32, pos: usize, v: u32) -> Result<()> {
        self.bins().cell(off)?.bytes(pos, 4, "field")?;
        let p = BASE_BLOCK + off as usize + 4 + pos;
        self.file[p..p + 4].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }

    /// Write a little-endian u64 at `pos` within the data of the cell at `off`.
    pub(crate) fn set_u64(&mut self, off: u32, pos: usize, v: u64) -> Result<()> {
        self.bins().cell(off)?.bytes(pos, 8, "field")?;
        let p = BASE_BLOCK + off as usize + 4 + pos;
        self.file[p..p + 8].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
}
