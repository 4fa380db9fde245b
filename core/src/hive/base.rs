//! The base block: the first 4096 bytes of a hive file (signature, sequence numbers, root, size,
//! checksum).
//!
//! Layout (libyal "REGF" §2, msuhanov "Windows registry file format specification", Base block):
//! ```text
//!   0  4 "regf"               4  4 primary sequence     8  4 secondary sequence
//!  12  8 last written FILETIME                          20  4 major version (1)
//!  24  4 minor version (3..6) 28  4 file type (0 primary, 1/2 old log, 6 new log)
//!  32  4 file format (1)      36  4 root cell offset   40  4 hive bins data size
//!  44  4 clustering factor    48 64 file name (UTF-16LE)
//! 508  4 checksum: XOR of the 127 little-endian u32 before it (0 → 1, 0xFFFFFFFF → 0xFFFFFFFE)
//! ```

use super::error::{HiveError, Result};

/// Size of the base block.
pub(crate) const BASE_BLOCK: usize = 4096;

/// The fields of a base block infuse reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseBlock {
    /// Incremented at the start of a write.
    pub primary_seq: u32,
    /// Incremented at the end of a write; equal to `primary_seq` in a clean hive.
    pub secondary_seq: u32,
    /// FILETIME of the last write.
    pub timestamp: u64,
    /// Major format version (1).
    pub major: u32,
    /// Minor format version (3 to 6).
    pub minor: u32,
    /// 0 for a primary file, 6 for a new-format log.
    pub file_type: u32,
    /// Offset of the root key cell, relative to the hive bins data.
    pub root: u32,
    /// Size of the hive bins data in bytes.
    pub bins_size: u32,
    /// Whether the stored checksum matches the computed one.
    pub checksum_ok: bool,
}

fn rd(b: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]])
}

/// The XOR-32 checksum of the first 508 bytes, with Windows' two fix-ups (HvpHeaderCheckSum).
pub(crate) fn checksum(b: &[u8]) -> u32 {
    let mut c = 0u32;
    for i in 0..127 {
        c ^= rd(b, i * 4);
    }
    match c {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        c => c,
    }
}

impl BaseBlock {
    /// Parse the base block at the start of `file` (at least 512 bytes are needed).
    pub fn parse(file: &[u8]) -> Result<BaseBlock> {
        if file.len() < 512 {
            return Err(HiveError::NotAHive {
                msg: format!("file is {} bytes, shorter than a base block", file.len()),
            });
        }
        if &file[0..4] != b"regf" {
            return Err(HiveError::NotAHive {
                msg: "missing the \"regf\" signature".into(),
            });
        }
        let b = BaseBlock {
            primary_seq: rd(file, 4),
            secondary_seq: rd(file, 8),
            timestamp: u64::from(rd(file, 12)) | (u64::from(rd(file, 16)) << 32),
            major: rd(file, 20),
            minor: rd(file, 24),
            file_type: rd(file, 28),
            root: rd(file, 36),
            bins_size: rd(file, 40),
            checksum_ok: checksum(file) == rd(file, 508),
        };
        if b.major != 1 {
            return Err(HiveError::NotAHive {
                msg: format!("unsupported major version {}", b.major),
            });
        }
        Ok(b)
    }

    /// Whether Windows would consider the hive dirty (needs log recovery).
    pub fn is_dirty(&self) -> bool {
        self.primary_seq != self.secondary_seq || !self.checksum_ok
    }
}

/// Set the sequence numbers, timestamp and bins size of a base block and re-checksum it.
pub(crate) fn stamp(file: &mut [u8], seq: u32, timestamp: u64, bins_size: u32) {
    file[4..8].copy_from_slice(&seq.to_le_bytes());
    file[8..12].copy_from_slice(&seq.to_le_bytes());
    file[12..20].copy_from_slice(&timestamp.to_le_bytes());
    file[40..44].copy_from_slice(&bins_size.to_le_bytes());
    let c = checksum(file);
    file[508..512].copy_from_slice(&c.to_le_bytes());
}

/// A fresh base block for a new, empty hive (format 1.5, as Windows XP and later write).
pub(crate) fn fresh(root: u32, bins_size: u32, timestamp: u64, file_name: &str) -> Vec<u8> {
    let mut b = vec![0u8; BASE_BLOCK];
    b[0..4].copy_from_slice(b"regf");
    b[20..24].copy_from_slice(&1u32.to_le_bytes());
    b[24..28].copy_from_slice(&5u32.to_le_bytes());
    b[28..32].copy_from_slice(&0u32.to_le_bytes());
    b[32..36].copy_from_slice(&1u32.to_le_bytes());
    b[36..40].copy_from_slice(&root.to_le_bytes());
    b[44..48].copy_from_slice(&1u32.to_le_bytes());
    for (i, u) in file_name.encode_utf16().take(31).enumerate() {
        b[48 + 2 * i..50 + 2 * i].copy_from_slice(&u.to_le_bytes());
    }
    stamp(&mut b, 1, timestamp, bins_size);
    b
}

/// The current time as a Windows FILETIME (100 ns ticks since 1601-01-01 UTC).
pub fn filetime_now() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    116_444_736_000_000_000u64 + d.as_secs() * 10_000_000 + u64::from(d.subsec_nanos() / 100)
}
