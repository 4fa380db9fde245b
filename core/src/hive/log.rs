//! Transaction logs (`.LOG1`/`.LOG2`, the new format of Windows 8.1 and later): detect a dirty
//! hive and replay its log entries in memory.
//!
//! A new-format log (msuhanov "Windows registry file format specification", New format) is a
//! 512-byte copy of the base block (file type 6) followed, from offset 512, by `HvLE` entries at
//! 512-byte-aligned offsets:
//! ```text
//!  0 "HvLE"  4 size  8 flags  12 sequence number  16 hive bins data size  20 dirty page count
//! 24 hash-1: Marvin32 of bytes 40..size    32 hash-2: Marvin32 of bytes 0..32
//! 40 (offset, size) per dirty page, relative to the hive bins; then the pages, back to back
//! ```
//! Replay rules from the same section: entries with a sequence number at or above the primary
//! file's primary sequence number are applied in order, `.LOG1` then `.LOG2`; a bad hash or
//! hive-bins size stops the replay; each entry's sequence number becomes the base block's.
//! A primary whose checksum is wrong takes its base block from the log.

use std::path::{Path, PathBuf};

use super::base::{self, BASE_BLOCK, BaseBlock};
use super::error::{HiveError, Result};
use super::reader::Hive;

/// The seed of the log entry hashes (14219357686671994754, little-endian).
pub const MARVIN_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

/// Marvin32 as Windows computes it (64-bit result `hi << 32 | lo`).
pub fn marvin32(data: &[u8], seed: u64) -> u64 {
    fn block(p0: &mut u32, p1: &mut u32) {
        *p1 ^= *p0;
        *p0 = p0.rotate_left(20);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(9);
        *p1 ^= *p0;
        *p0 = p0.rotate_left(27);
        *p0 = p0.wrapping_add(*p1);
        *p1 = p1.rotate_left(19);
    }
    let (mut p0, mut p1) = (seed as u32, (seed >> 32) as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        p0 = p0.wrapping_add(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        block(&mut p0, &mut p1);
    }
    let r = chunks.remainder();
    let fin = match r.len() {
        0 => 0x80,
        1 => 0x8000 | u32::from(r[0]),
        2 => 0x80_0000 | u32::from(u16::from_le_bytes([r[0], r[1]])),
        _ => 0x8000_0000 | (u32::from(r[2]) << 16) | u32::from(u16::from_le_bytes([r[0], r[1]])),
    };
    p0 = p0.wrapping_add(fin);
    block(&mut p0, &mut p1);
    block(&mut p0, &mut p1);
    (u64::from(p1) << 32) | u64::from(p0)
}

/// One log entry, validated.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) seq: u32,
    pub(crate) bins_size: u32,
    pub(crate) pages: Vec<(u32, Vec<u8>)>,
}

/// A parsed new-format log file.
#[derive(Debug, Clone)]
pub(crate) struct LogFile {
    pub(crate) base: Option<Vec<u8>>,
    pub(crate) entries: Vec<Entry>,
}

/// Parse a log file; entries are read until the first invalid one.
pub(crate) fn parse(bytes: &[u8]) -> LogFile {
    let base = BaseBlock::parse(bytes)
        .ok()
        .filter(|b| b.checksum_ok && b.file_type == 6 && b.primary_seq == b.secondary_seq)
        .map(|_| bytes[..512].to_vec());
    let mut entries = Vec::new();
    let mut pos = 512usize;
    while let Some(e) = bytes.get(pos..).and_then(parse_entry) {
        pos += e.1;
        entries.push(e.0);
    }
    LogFile { base, entries }
}

fn rd(b: &[u8], pos: usize) -> Option<u32> {
    b.get(pos..pos + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn parse_entry(b: &[u8]) -> Option<(Entry, usize)> {
    if b.get(0..4)? != b"HvLE" {
        return None;
    }
    let size = rd(b, 4)? as usize;
    if size < 40 || !size.is_multiple_of(512) || size > b.len() {
        return None;
    }
    let e = &b[..size];
    let hash1 = u64::from(rd(e, 24)?) | (u64::from(rd(e, 28)?) << 32);
    let hash2 = u64::from(rd(e, 32)?) | (u64::from(rd(e, 36)?) << 32);
    if marvin32(&e[40..], MARVIN_SEED) != hash1 || marvin32(&e[..32], MARVIN_SEED) != hash2 {
        return None;
    }
    let (seq, bins_size, count) = (rd(e, 12)?, rd(e, 16)?, rd(e, 20)? as usize);
    if !(bins_size as usize).is_multiple_of(4096) {
        return None;
    }
    let mut refs = Vec::with_capacity(count.min(4096));
    for i in 0..count {
        refs.push((rd(e, 40 + 8 * i)?, rd(e, 44 + 8 * i)? as usize));
    }
    let mut pos = 40usize.checked_add(count.checked_mul(8)?)?;
    let mut pages = Vec::with_capacity(refs.len());
    for (off, len) in refs {
        let end = pos.checked_add(len)?;
        if (off as usize).checked_add(len)? > bins_size as usize {
            return None;
        }
        pages.push((off, e.get(pos..end)?.to_vec()));
        pos = end;
    }
    Some((
        Entry {
            seq,
            bins_size,
            pages,
        },
        size,
    ))
}

/// Find `<hive>.LOG1` and `<hive>.LOG2` next to the hive (names compared case-insensitively,
/// as on the NTFS volume they come from).
pub(crate) fn find_logs(path: &Path) -> Vec<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_uppercase()) else {
        return Vec::new();
    };
    let Ok(rd) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u8, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_uppercase();
            [(1u8, ".LOG1"), (2, ".LOG2")]
                .into_iter()
                .find(|(_, ext)| n == format!("{name}{ext}"))
                .map(|(i, _)| (i, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Recover a dirty hive from its logs, in memory. Without usable logs the hive stays readable
/// and is marked unwritable.
pub(crate) fn recover(hive: &mut Hive, path: &Path) -> Result<()> {
    let logs = find_logs(path);
    if logs.is_empty() {
        hive.dirty = Some(format!(
            "no {}.LOG1 or .LOG2 was found next to it",
            file_name(path)
        ));
        tracing::warn!(
            "{}: dirty hive and no transaction logs: read-only",
            path.display()
        );
        return Ok(());
    }
    let parsed: Vec<(PathBuf, LogFile)> = logs
        .iter()
        .map(|p| Ok((p.clone(), parse(&fs_err::read(p)?))))
        .collect::<Result<_>>()?;
    let mut file = hive.file.clone();
    if !hive.base.checksum_ok {
        let Some(b) = parsed.iter().find_map(|(_, l)| l.base.clone()) else {
            hive.dirty =
                Some("its base block checksum is wrong and no log holds a valid copy".into());
            return Ok(());
        };
        file[..512].copy_from_slice(&b);
        file[28..32].copy_from_slice(&0u32.to_le_bytes());
    }
    let start = u32::from_le_bytes([file[4], file[5], file[6], file[7]]);
    let mut entries: Vec<&Entry> = parsed
        .iter()
        .flat_map(|(_, l)| l.entries.iter())
        .filter(|e| e.seq >= start)
        .collect();
    entries.sort_by_key(|e| e.seq);
    let mut used = Vec::new();
    let mut expect = start;
    let mut last = None;
    for e in entries {
        if e.seq < expect {
            continue; // the same entry in both logs
        }
        if e.seq != expect {
            break; // a gap: later entries cannot be applied
        }
        let end = BASE_BLOCK + e.bins_size as usize;
        file.resize(end, 0);
        for (off, page) in &e.pages {
            let p = BASE_BLOCK + *off as usize;
            file[p..p + page.len()].copy_from_slice(page);
        }
        file[40..44].copy_from_slice(&e.bins_size.to_le_bytes());
        last = Some(e.seq);
        expect = e.seq.wrapping_add(1);
    }
    for (p, l) in &parsed {
        if l.entries.iter().any(|e| e.seq >= start) {
            used.push(p.clone());
        }
    }
    let Some(seq) = last else {
        hive.dirty = Some(format!(
            "its logs hold no entry from sequence number {start} on (found: {})",
            logs.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Ok(());
    };
    let ts = u64::from_le_bytes(file[12..20].try_into().unwrap_or([0; 8]));
    let bins_size = u32::from_le_bytes([file[40], file[41], file[42], file[43]]);
    base::stamp(&mut file, seq, ts, bins_size);
    let mut recovered = Hive::parse(file).map_err(|e| match e {
        HiveError::Corrupt { offset, msg } => HiveError::Corrupt {
            offset,
            msg: format!("{msg} (after replaying the transaction logs)"),
        },
        e => e,
    })?;
    recovered.path = Some(path.to_path_buf());
    recovered.replayed = used;
    tracing::info!(
        "{}: replayed transaction logs up to sequence number {seq}",
        path.display()
    );
    *hive = recovered;
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
