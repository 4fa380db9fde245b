//! Pack files: the manifests and node lists of the packages one `store add` wrote, in one file
//! (`packs/<seq>.pack`), instead of two files per package.
//!
//! ```text
//! "infuse-pack\n"  u32 LE schema (2)
//! per package:     u32 LE manifest length, manifest (JSON, as `Manifest`),
//!                  u64 LE node list length, node list (postcard, `Vec<NodeEntry>`)
//! "end!"           u32 LE package count, sha256 of every byte before it (32 bytes)
//! ```
//!
//! A pack is written whole to `tmp/`, made durable and then renamed into `packs/`, so a reader
//! never sees part of one; the trailer still lets a damaged or truncated file be told apart (and
//! `store verify` checks the checksum). Packs are read by memory map: listing the packages only
//! touches the manifests, a node list is read when asked for. A package in a later pack (higher
//! `seq`) replaces the same package in an earlier one; a pack none of whose packages is current
//! any more is deleted by the next `add`.
//!
//! Pack schema 1 (store schema 2) held the node lists as JSON, about 95 % of its bytes; schema 2
//! holds them as postcard (varints, length-prefixed strings), about a third of the size and
//! several times faster to write and read. A schema 1 pack is still opened (its `schema` says
//! so) so that `store add` can convert it; the read-only commands refuse such a store.

use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 12] = b"infuse-pack\n";
/// The pack layout written now: 2 = postcard node lists.
pub(crate) const SCHEMA: u32 = 2;
/// The older layout still opened (for conversion): JSON node lists.
pub(crate) const SCHEMA_JSON_NODES: u32 = 1;
const END: &[u8; 4] = b"end!";
const TRAILER_LEN: usize = END.len() + 4 + 32;

/// Why a pack file cannot be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}: damaged pack file at byte {offset}: {what}\nhint: packs are only ever renamed into place whole; re-create the store (`infuse store add NEW SOURCE...`) if `infuse store verify` confirms it"
)]
pub struct PackError {
    pub path: PathBuf,
    pub offset: usize,
    pub what: String,
}

/// Writes one pack through a temp file.
pub(crate) struct PackWriter {
    out: BufWriter<tempfile::NamedTempFile>,
    hasher: Sha256,
    count: u32,
}

impl PackWriter {
    pub(crate) fn new(tmp: tempfile::NamedTempFile) -> std::io::Result<PackWriter> {
        let mut w = PackWriter {
            out: BufWriter::with_capacity(1 << 20, tmp),
            hasher: Sha256::new(),
            count: 0,
        };
        w.write(MAGIC)?;
        w.write(&SCHEMA.to_le_bytes())?;
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)
    }

    /// Appends one package: its manifest and node list, both serialized.
    pub(crate) fn push(&mut self, manifest: &[u8], nodes: &[u8]) -> std::io::Result<()> {
        let too_big = |what| std::io::Error::other(format!("{what} too large for a pack"));
        let mlen = u32::try_from(manifest.len()).map_err(|_| too_big("manifest"))?;
        self.write(&mlen.to_le_bytes())?;
        self.write(manifest)?;
        self.write(&(nodes.len() as u64).to_le_bytes())?;
        self.write(nodes)?;
        self.count = self
            .count
            .checked_add(1)
            .ok_or_else(|| too_big("package count"))?;
        Ok(())
    }

    /// How many packages were pushed.
    pub(crate) fn len(&self) -> u32 {
        self.count
    }

    /// Writes the trailer and returns the temp file (not yet durable, not yet renamed).
    pub(crate) fn finish(mut self) -> std::io::Result<tempfile::NamedTempFile> {
        self.write(END)?;
        let count = self.count.to_le_bytes();
        self.write(&count)?;
        let digest = self.hasher.clone().finalize();
        self.out.write_all(&digest)?;
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// One package's place in a pack.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) manifest: Range<usize>,
    pub(crate) nodes: Range<usize>,
}

/// An open pack file.
pub(crate) struct Pack {
    pub(crate) path: PathBuf,
    /// From the file name; later packs replace earlier ones' packages.
    pub(crate) seq: u64,
    /// [`SCHEMA`], or [`SCHEMA_JSON_NODES`] for a pack `store add` must convert.
    pub(crate) schema: u32,
    map: Mmap,
    pub(crate) records: Vec<Record>,
}

impl Pack {
    /// Maps `path` and reads its structure (bounds-checked; nothing is trusted).
    pub(crate) fn open(path: &Path, seq: u64) -> Result<Pack, OpenPackError> {
        let file = std::fs::File::open(path).map_err(OpenPackError::Io)?;
        // SAFETY: packs are never modified after they are renamed into place (a new pack is
        // written instead), so the mapped bytes do not change under us; a pack deleted while
        // mapped stays readable on Unix.
        let map = unsafe { Mmap::map(&file) }.map_err(OpenPackError::Io)?;
        let damaged = |offset: usize, what: &str| {
            OpenPackError::Damaged(PackError {
                path: path.to_path_buf(),
                offset,
                what: what.to_string(),
            })
        };
        let bytes: &[u8] = &map;
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(damaged(0, "not an infuse pack (no magic)"));
        }
        let schema = read_u32(bytes, MAGIC.len()).ok_or_else(|| damaged(12, "truncated"))?;
        if schema != SCHEMA && schema != SCHEMA_JSON_NODES {
            return Err(damaged(
                MAGIC.len(),
                &format!("pack schema {schema}, this infuse reads {SCHEMA}"),
            ));
        }
        let Some(body_end) = bytes.len().checked_sub(TRAILER_LEN) else {
            return Err(damaged(bytes.len(), "truncated (no trailer)"));
        };
        if bytes.get(body_end..body_end + END.len()) != Some(END.as_slice()) {
            return Err(damaged(body_end, "truncated (no end marker)"));
        }
        let count = read_u32(bytes, body_end + END.len()).unwrap_or(u32::MAX);
        let mut records = Vec::new();
        let mut at = MAGIC.len() + 4;
        while at < body_end {
            let mlen = read_u32(bytes, at).ok_or_else(|| damaged(at, "truncated record"))?;
            let manifest = at + 4..(at + 4).saturating_add(mlen as usize);
            let nlen = read_u64(bytes, manifest.end)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| damaged(manifest.end, "truncated record"))?;
            let nodes = manifest.end + 8..(manifest.end + 8).saturating_add(nlen);
            if nodes.end > body_end {
                return Err(damaged(at, "record runs past the end marker"));
            }
            at = nodes.end;
            records.push(Record { manifest, nodes });
        }
        if records.len() != count as usize {
            return Err(damaged(
                body_end,
                &format!("{} packages where the trailer says {count}", records.len()),
            ));
        }
        Ok(Pack {
            path: path.to_path_buf(),
            seq,
            schema,
            map,
            records,
        })
    }

    pub(crate) fn bytes(&self, range: &Range<usize>) -> &[u8] {
        self.map.get(range.clone()).unwrap_or_default()
    }

    /// Whether the trailer's sha256 matches the bytes (reads the whole file).
    pub(crate) fn checksum_ok(&self) -> bool {
        let body_end = self.map.len().saturating_sub(32);
        let (body, digest) = self.map.split_at(body_end);
        Sha256::digest(body).as_slice() == digest
    }
}

/// Why [`Pack::open`] failed: the file went away or could not be read, or it is damaged.
#[derive(Debug)]
pub(crate) enum OpenPackError {
    Io(std::io::Error),
    Damaged(PackError),
}

/// The schema of the pack at `path`, from its header alone (no map): `None` if it cannot be
/// read or has no magic (a damaged pack is reported when it is opened).
pub(crate) fn schema_of(path: &Path) -> Option<u32> {
    use std::io::Read;
    let mut head = [0u8; MAGIC.len() + 4];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    if head.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return None;
    }
    read_u32(&head, MAGIC.len())
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The sequence number of a pack file name (`0000000042.pack` → 42).
pub(crate) fn seq_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".pack")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The file name of pack `seq`.
pub(crate) fn name_of(seq: u64) -> String {
    format!("{seq:010}.pack")
}
