//! The on-disk index: hardware/compatible ID → driver nodes, in one file opened by memory map.
//!
//! Layout of `index.bin` (little-endian, every region 8-byte aligned):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `INFUSEIX` |
//! | 8 | 4 | schema version ([`SCHEMA_VERSION`]) |
//! | 12 | 4 | header length (192) |
//! | 16 | 16 | fst region: offset u64, length u64 — normalized ID → `postings_start << 24 \| count` |
//! | 32 | 16 | postings region: offset, length — 8-byte postings `record u32, match u16, 0u16` |
//! | 48 | 16 | records region: offset, count — 48-byte driver-node records |
//! | 64 | 16 | packages region: offset, count — 32-byte package records |
//! | 80 | 16 | strings region: offset, length — `len u32` + bytes, referenced by offset |
//! | 96 | 32 | sha256 of everything after the header (checked by `verify`, not by `open`) |
//! | 128 | 32 | state: hash of the package manifests the index was built from |
//! | 160 | 8 | number of distinct IDs |
//! | 168 | 8 | reserved (0) |
//! | 176 | 8 | first 8 bytes of sha256(header[0..176]) (checked by `open`) |
//! | 184 | 8 | reserved (0) |
//!
//! A package record is eight u32 words: id, INF name, source, class, class GUID, provider (string
//! offsets, `u32::MAX` for none), flags (bit 0 complete, bit 1 unstamped), and the offset of its
//! Manufacturer-line blob in the strings region (`u32::MAX` when the INF has none). The blob is
//! u32 words: a line count, then per line `line, models base, n decorations, n sections`,
//! the decorations (string offsets, as written, in order) and the sections (`name, empty`).
//! Ranking reads a package's blob only when one of its nodes is a candidate (§3.3 needs every
//! decoration of the node's line and which Models sections are empty).
//!
//! A query reads the header, walks the fst for one key, then reads only that key's postings,
//! their records and the strings they name: a cold process touches a handful of pages.
//! **Invariant:** every offset read from the file goes through `Index::bytes`, the one checked
//! accessor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::inf::model::{Arch, BootCritical, Decoration, DriverVer};

/// Bumped on any change to the layout above.
pub const SCHEMA_VERSION: u32 = 2;
/// Name of the index file inside a store directory.
pub const INDEX_FILE: &str = "index.bin";

const MAGIC: &[u8; 8] = b"INFUSEIX";
const HEADER_LEN: usize = 192;
const RECORD_LEN: usize = 48;
const PACKAGE_LEN: usize = 32;
const POSTING_LEN: usize = 8;
const NONE: u32 = u32::MAX;
const MAX_POSTINGS_PER_ID: usize = (1 << 24) - 1;

/// Errors opening or reading an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(
        "{path}: cannot read the index: {source}\nhint: `infuse store add STORE` (no sources needed) rebuilds it"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: not an infuse index (bad magic)\nhint: is this a store directory made by `infuse store add`?"
    )]
    Magic { path: PathBuf },
    #[error(
        "{path}: index schema {found}, this infuse reads schema {SCHEMA_VERSION}\nhint: rebuild it with `infuse store add STORE` (no sources needed)"
    )]
    Schema { path: PathBuf, found: u32 },
    #[error(
        "{path}: index header checksum mismatch (the file is damaged)\nhint: rebuild it with `infuse store add STORE`"
    )]
    HeaderChecksum { path: PathBuf },
    #[error(
        "{path}: index body checksum mismatch (the file is damaged)\nhint: rebuild it with `infuse store add STORE`"
    )]
    BodyChecksum { path: PathBuf },
    #[error(
        "{path}: index {what} at offset {offset} length {len} runs past the end ({size} bytes)"
    )]
    OutOfBounds {
        path: PathBuf,
        what: &'static str,
        offset: u64,
        len: u64,
        size: u64,
    },
    #[error("{path}: index {what}: {detail}")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
}

/// How an ID matched a Models entry: its hardware ID, or its k-th compatible ID (0-based, the k
/// of the identifier score `0x3000 + j + 0x100*k`, windows-driver-internals.md §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum MatchKind {
    HardwareId,
    CompatibleId(u16),
}

impl MatchKind {
    fn code(self) -> u16 {
        match self {
            MatchKind::HardwareId => 0,
            MatchKind::CompatibleId(k) => k.saturating_add(1),
        }
    }
    fn from_code(c: u16) -> MatchKind {
        match c {
            0 => MatchKind::HardwareId,
            k => MatchKind::CompatibleId(k - 1),
        }
    }
}

/// What the index knows about a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInfo {
    /// Store-wide package name: `<inf name lower-case>_<16 hex>`.
    pub id: String,
    pub inf_name: String,
    /// Where the package was added from.
    pub source: String,
    pub class: Option<String>,
    pub class_guid: Option<String>,
    pub provider: Option<String>,
    /// Every referenced file was found; an incomplete package is indexed but never injected.
    pub complete: bool,
    /// The INF still has `$ARCH$` placeholders.
    pub unstamped: bool,
}

/// One driver node answering a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverNode {
    /// The ID as the index stores it (normalized, [`normalize_id`]).
    pub id: String,
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    /// Position of the package in [`Index::packages`].
    pub package_index: u32,
    pub package: PackageInfo,
    pub description: String,
    pub manufacturer: String,
    /// 1-based line of the `[Manufacturer]` entry.
    pub manufacturer_line: u32,
    pub models_section: String,
    /// `None` for an undecorated Models section.
    pub decoration: Option<Decoration>,
    /// The DDInstall section resolved for [`DriverNode::arch`]; `None` when the Models line
    /// gives none or no candidate exists.
    pub install_section: Option<String>,
    /// 1-based line of the Models entry.
    pub line: u32,
    pub arch: Arch,
    /// 0x00–0xFF, 0xFF when the DDInstall section gives no FeatureScore (§3.1).
    pub feature_score: u8,
    /// Effective DriverVer (DDInstall-level override, else `[Version]`).
    pub driver_ver: Option<DriverVer>,
    /// The catalog named for this architecture exists in the package.
    pub catalog_present: bool,
    pub boot_critical: BootCritical,
}

/// Builder input: one package, its nodes and its Manufacturer lines (also what the store keeps
/// per package).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageEntry {
    pub info: PackageInfo,
    pub nodes: Vec<NodeEntry>,
    pub lines: Vec<ManufacturerLine>,
}

/// One `[Manufacturer]` line as ranking needs it to choose the line's Models section
/// (windows-driver-internals.md §3.3): every decoration it lists and which sections are empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManufacturerLine {
    /// 1-based line of the entry (the [`DriverNode::manufacturer_line`] of its nodes).
    pub line: u32,
    /// The Models base name (`VirtioScsi`).
    pub models_base: String,
    /// The TargetOSVersion decorations listed on the line, as written, in order (the parser
    /// already dropped the ones it could not read, rule d).
    pub decorations: Vec<String>,
    /// The Models sections the INF has for the line: name as written, and whether it has no
    /// entries (an empty section excludes the OS it applies to, rule g).
    pub sections: Vec<ModelsSection>,
}

/// A Models section of a Manufacturer line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelsSection {
    pub name: String,
    pub empty: bool,
}

/// Builder input: one driver node before its IDs are split into postings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    pub description: String,
    pub manufacturer: String,
    pub manufacturer_line: u32,
    pub models_section: String,
    pub decoration: Option<String>,
    pub install_section: Option<String>,
    pub line: u32,
    pub arch: Arch,
    pub hardware_id: String,
    pub compatible_ids: Vec<String>,
    pub feature_score: u8,
    pub driver_ver: Option<DriverVer>,
    pub catalog_present: bool,
    pub boot_critical: BootCritical,
}

/// IDs compare case-insensitively ("treat as case-insensitive", windows-driver-internals.md §4):
/// the index stores and looks up IDs trimmed and upper-cased (ASCII).
pub fn normalize_id(id: &str) -> String {
    id.trim().to_ascii_uppercase()
}

/// Serializes packages into the bytes of an `index.bin`.
pub fn build(packages: &[PackageEntry], state: [u8; 32]) -> Result<Vec<u8>, fst::Error> {
    let mut strings = StringTable::default();
    let mut package_bytes = Vec::with_capacity(packages.len() * PACKAGE_LEN);
    let mut record_bytes = Vec::new();
    let mut postings: Vec<(String, u32, u16)> = Vec::new();
    let mut record_no: u32 = 0;
    for (pkg_no, pkg) in packages.iter().enumerate() {
        let i = &pkg.info;
        for s in [
            strings.put(&i.id),
            strings.put(&i.inf_name),
            strings.put(&i.source),
            strings.opt(i.class.as_deref()),
            strings.opt(i.class_guid.as_deref()),
            strings.opt(i.provider.as_deref()),
            u32::from(i.complete) | (u32::from(i.unstamped) << 1),
            lines_blob(&mut strings, &pkg.lines),
        ] {
            package_bytes.extend_from_slice(&s.to_le_bytes());
        }
        for node in &pkg.nodes {
            let mut rec = [0u8; RECORD_LEN];
            let words = [
                pkg_no as u32,
                strings.put(&node.description),
                strings.put(&node.manufacturer),
                node.manufacturer_line,
                strings.put(&node.models_section),
                strings.opt(node.decoration.as_deref()),
                strings.opt(node.install_section.as_deref()),
                node.line,
                node.driver_ver.map_or(0, |d| d.date_code()),
            ];
            for (slot, w) in rec.chunks_exact_mut(4).zip(words) {
                slot.copy_from_slice(&w.to_le_bytes());
            }
            rec[36] = node.feature_score;
            rec[37] = node.arch.code();
            rec[38] = u8::from(node.catalog_present)
                | (u8::from(node.boot_critical.boot_start_service) << 1)
                | (u8::from(node.boot_critical.storage_class) << 2)
                | (u8::from(node.driver_ver.is_some()) << 3);
            let version = node.driver_ver.map_or(0, |d| d.version_code());
            rec[40..48].copy_from_slice(&version.to_le_bytes());
            record_bytes.extend_from_slice(&rec);
            if !node.hardware_id.trim().is_empty() {
                postings.push((normalize_id(&node.hardware_id), record_no, 0));
            }
            for (k, cid) in node.compatible_ids.iter().enumerate() {
                let kind = MatchKind::CompatibleId(u16::try_from(k).unwrap_or(u16::MAX - 1));
                postings.push((normalize_id(cid), record_no, kind.code()));
            }
            record_no += 1;
        }
    }
    postings.sort_unstable();
    postings.dedup();
    let mut fst_builder = fst::MapBuilder::memory();
    let mut posting_bytes = Vec::with_capacity(postings.len() * POSTING_LEN);
    let mut ids: u64 = 0;
    let mut start = 0;
    while start < postings.len() {
        let key = &postings[start].0;
        let mut end = start;
        while end < postings.len() && &postings[end].0 == key {
            end += 1;
        }
        let count = (end - start).min(MAX_POSTINGS_PER_ID);
        if count < end - start {
            tracing::warn!(
                "ID `{key}` has {} driver nodes; the index keeps the first {count}",
                end - start
            );
        }
        let first = (posting_bytes.len() / POSTING_LEN) as u64;
        for (_, rec, kind) in &postings[start..start + count] {
            posting_bytes.extend_from_slice(&rec.to_le_bytes());
            posting_bytes.extend_from_slice(&kind.to_le_bytes());
            posting_bytes.extend_from_slice(&0u16.to_le_bytes());
        }
        fst_builder.insert(key.as_bytes(), (first << 24) | count as u64)?;
        ids += 1;
        start = end;
    }
    let fst_bytes = fst_builder.into_inner()?;

    let mut out = vec![0u8; HEADER_LEN];
    let mut regions = Vec::new();
    for (bytes, count) in [
        (&fst_bytes, fst_bytes.len() as u64),
        (&posting_bytes, posting_bytes.len() as u64),
        (&record_bytes, u64::from(record_no)),
        (&package_bytes, packages.len() as u64),
        (&strings.bytes, strings.bytes.len() as u64),
    ] {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        regions.push((out.len() as u64, count));
        out.extend_from_slice(bytes);
    }
    out[0..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&SCHEMA_VERSION.to_le_bytes());
    out[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    for (i, (off, len)) in regions.iter().enumerate() {
        let at = 16 + i * 16;
        out[at..at + 8].copy_from_slice(&off.to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
    }
    let body = Sha256::digest(&out[HEADER_LEN..]);
    out[96..128].copy_from_slice(&body);
    out[128..160].copy_from_slice(&state);
    out[160..168].copy_from_slice(&ids.to_le_bytes());
    let head = Sha256::digest(&out[..176]);
    out[176..184].copy_from_slice(&head[..8]);
    Ok(out)
}

/// The Manufacturer-line blob of a package (layout in the module docs), `NONE` when it has none.
fn lines_blob(strings: &mut StringTable, lines: &[ManufacturerLine]) -> u32 {
    if lines.is_empty() {
        return NONE;
    }
    let mut words = vec![lines.len() as u32];
    for l in lines {
        words.extend([
            l.line,
            strings.put(&l.models_base),
            l.decorations.len() as u32,
            l.sections.len() as u32,
        ]);
        words.extend(l.decorations.iter().map(|d| strings.put(d)));
        for s in &l.sections {
            words.extend([strings.put(&s.name), u32::from(s.empty)]);
        }
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    strings.put_bytes(&bytes)
}

#[derive(Default)]
struct StringTable {
    bytes: Vec<u8>,
    seen: HashMap<String, u32>,
}

impl StringTable {
    fn put(&mut self, s: &str) -> u32 {
        if let Some(&off) = self.seen.get(s) {
            return off;
        }
        let off = self.bytes.len() as u32;
        self.bytes
            .extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(s.as_bytes());
        self.seen.insert(s.to_string(), off);
        off
    }
    fn opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.put(s))
    }
    /// Appends bytes that are not a string (never shared).
    fn put_bytes(&mut self, b: &[u8]) -> u32 {
        let off = self.bytes.len() as u32;
        self.bytes
            .extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(b);
        off
    }
}

/// The fst's bytes inside the shared mapping (lets `fst::Map` own a view of the mmap).
#[derive(Clone)]
struct Region {
    map: Arc<Mmap>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Region {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }
}

/// State carried from one [`Index::lookup_with`] to the next: the fst path of the previous ID
/// and the packages already decoded. Belongs to one index (start a new one for another).
#[derive(Debug, Default)]
pub struct LookupCursor {
    /// The bytes of the previous key that the fst path covers.
    key: Vec<u8>,
    /// `(node address, output so far)` after 0, 1, … bytes of `key`.
    path: Vec<(usize, u64)>,
    /// The normalized ID being looked up (reused buffer).
    scratch: Vec<u8>,
    packages: HashMap<u32, PackageInfo>,
}

/// An open, memory-mapped index.
pub struct Index {
    path: PathBuf,
    map: Arc<Mmap>,
    fst: fst::Map<Region>,
    postings: (u64, u64),
    records: (u64, u64),
    packages: (u64, u64),
    strings: (u64, u64),
    ids: u64,
    state: [u8; 32],
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.path)
            .field("ids", &self.ids)
            .field("nodes", &self.records.1)
            .field("packages", &self.packages.1)
            .finish()
    }
}

impl Index {
    /// Opens `<store>/index.bin`.
    pub fn open(store: &Path) -> Result<Index, IndexError> {
        Index::open_file(&store.join(INDEX_FILE))
    }

    /// Opens an index file: checks magic, schema, header checksum and region bounds, then maps it.
    pub fn open_file(path: &Path) -> Result<Index, IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the bytes are produced by `build` and published by rename: the store never
        // writes into an existing index file, so the mapping does not change under us (another
        // program truncating it could still fault the process; the store's lock documents this).
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let map = Arc::new(map);
        let p = path.to_path_buf();
        if map.len() < HEADER_LEN || &map[0..8] != MAGIC {
            return Err(IndexError::Magic { path: p });
        }
        let u32_at =
            |at: usize| u32::from_le_bytes([map[at], map[at + 1], map[at + 2], map[at + 3]]);
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&map[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let schema = u32_at(8);
        if schema != SCHEMA_VERSION {
            return Err(IndexError::Schema {
                path: p,
                found: schema,
            });
        }
        if Sha256::digest(&map[..176])[..8] != map[176..184] {
            return Err(IndexError::HeaderChecksum { path: p });
        }
        let region = |i: usize| (u64_at(16 + i * 16), u64_at(24 + i * 16));
        let (fst_r, postings, records, packages, strings) =
            (region(0), region(1), region(2), region(3), region(4));
        let mut state = [0u8; 32];
        state.copy_from_slice(&map[128..160]);
        let ids = u64_at(160);
        let size = map.len() as u64;
        let check = |what, off: u64, len: Option<u64>| match len {
            Some(len)
                if off.checked_add(len).is_some_and(|end| end <= size)
                    && off >= HEADER_LEN as u64 =>
            {
                Ok(())
            }
            _ => Err(IndexError::OutOfBounds {
                path: path.to_path_buf(),
                what,
                offset: off,
                len: len.unwrap_or(u64::MAX),
                size,
            }),
        };
        check("fst", fst_r.0, Some(fst_r.1))?;
        check("postings", postings.0, Some(postings.1))?;
        check(
            "records",
            records.0,
            records.1.checked_mul(RECORD_LEN as u64),
        )?;
        check(
            "packages",
            packages.0,
            packages.1.checked_mul(PACKAGE_LEN as u64),
        )?;
        check("strings", strings.0, Some(strings.1))?;
        let fst_region = Region {
            map: Arc::clone(&map),
            start: fst_r.0 as usize,
            end: (fst_r.0 + fst_r.1) as usize,
        };
        let fst = fst::Map::new(fst_region).map_err(|e| IndexError::Corrupt {
            path: path.to_path_buf(),
            what: "fst",
            detail: e.to_string(),
        })?;
        Ok(Index {
            path: path.to_path_buf(),
            map,
            fst,
            postings,
            records,
            packages,
            strings,
            ids,
            state,
        })
    }

    /// Number of distinct IDs.
    pub fn id_count(&self) -> u64 {
        self.ids
    }
    /// Number of driver nodes.
    pub fn node_count(&self) -> u64 {
        self.records.1
    }
    /// Number of packages.
    pub fn package_count(&self) -> u64 {
        self.packages.1
    }
    /// Hash of the package manifests this index was built from.
    pub fn state(&self) -> [u8; 32] {
        self.state
    }
    /// Size of the index file in bytes.
    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }

    /// Every driver node whose hardware ID or a compatible ID equals `id` (case-insensitively),
    /// in the order they were added (package, then INF order).
    pub fn lookup(&self, id: &str) -> Result<Vec<DriverNode>, IndexError> {
        self.lookup_with(id, &mut LookupCursor::default())
    }

    /// [`Index::lookup`] for a run of IDs: `cursor` remembers the fst path of the previous ID
    /// (a device's ladder shares long prefixes, `PCI\VEN_8086&DEV_1234&…`), so the walk resumes
    /// at the common prefix, and it keeps the packages it decoded. Same answers as `lookup`.
    pub fn lookup_with(
        &self,
        id: &str,
        cursor: &mut LookupCursor,
    ) -> Result<Vec<DriverNode>, IndexError> {
        // normalize_id, into the cursor's buffer (no allocation once it has grown).
        let mut key = std::mem::take(&mut cursor.scratch);
        key.clear();
        key.extend(id.trim().bytes().map(|b| b.to_ascii_uppercase()));
        let found = self.find(&key, cursor);
        cursor.scratch = key;
        let Some(value) = found? else {
            return Ok(Vec::new());
        };
        let first = value >> 24;
        let count = value & 0xFF_FFFF;
        let bytes = self.bytes(
            "postings",
            self.postings,
            first.saturating_mul(POSTING_LEN as u64),
            count.saturating_mul(POSTING_LEN as u64),
        )?;
        let key = normalize_id(id);
        let mut out = Vec::with_capacity(count as usize);
        for p in bytes.chunks_exact(POSTING_LEN) {
            let rec = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
            let kind = MatchKind::from_code(u16::from_le_bytes([p[4], p[5]]));
            let mut node = self.node(rec, &mut cursor.packages)?;
            node.id = key.clone();
            node.match_kind = kind;
            out.push(node);
        }
        Ok(out)
    }

    /// The fst value of `key`, resuming from the cursor's path where the previous key agrees.
    fn find(&self, key: &[u8], cursor: &mut LookupCursor) -> Result<Option<u64>, IndexError> {
        // The fst's bytes are covered by the body checksum, which `open` does not read (that
        // would touch the whole file on every query). fst trusts its own bytes, so a damaged
        // region could panic inside it: contain that and report a damaged index instead.
        let fst = self.fst.as_fst();
        let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let LookupCursor {
                key: prev, path, ..
            } = cursor;
            // path[i] = (node address, output so far) after the first i bytes of `prev`.
            let common = prev
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
                .min(path.len().saturating_sub(1));
            prev.truncate(common);
            path.truncate(common + 1);
            if path.is_empty() {
                path.push((fst.root().addr(), 0));
            }
            for &b in &key[common..] {
                let (addr, out) = path[path.len() - 1];
                let node = fst.node(addr);
                let t = node.transition(node.find_input(b)?);
                prev.push(b);
                path.push((t.addr, out + t.out.value()));
            }
            let (addr, out) = path[path.len() - 1];
            let node = fst.node(addr);
            node.is_final().then(|| out + node.final_output().value())
        }));
        walked.map_err(|_| {
            *cursor = LookupCursor::default();
            IndexError::Corrupt {
                path: self.path.clone(),
                what: "fst",
                detail: "the ID map is damaged (run `infuse store verify`)".into(),
            }
        })
    }

    /// The package at `index` in the index's package table.
    pub fn package(&self, index: u32) -> Result<PackageInfo, IndexError> {
        let b = self.bytes(
            "package",
            (self.packages.0, self.packages.1 * PACKAGE_LEN as u64),
            u64::from(index) * PACKAGE_LEN as u64,
            PACKAGE_LEN as u64,
        )?;
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let (id, inf, source, class, guid, provider, flags) =
            (w(0), w(1), w(2), w(3), w(4), w(5), w(6));
        Ok(PackageInfo {
            id: self.string(id)?,
            inf_name: self.string(inf)?,
            source: self.string(source)?,
            class: self.opt_string(class)?,
            class_guid: self.opt_string(guid)?,
            provider: self.opt_string(provider)?,
            complete: flags & 1 != 0,
            unstamped: flags & 2 != 0,
        })
    }

    /// The Manufacturer lines of the package at `index`, in INF order (read only when asked:
    /// ranking needs them for packages with a candidate).
    pub fn manufacturer_lines(&self, index: u32) -> Result<Vec<ManufacturerLine>, IndexError> {
        let b = self.bytes(
            "package",
            (self.packages.0, self.packages.1 * PACKAGE_LEN as u64),
            u64::from(index) * PACKAGE_LEN as u64 + 28,
            4,
        )?;
        let off = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if off == NONE {
            return Ok(Vec::new());
        }
        let corrupt = |detail: String| IndexError::Corrupt {
            path: self.path.clone(),
            what: "manufacturer lines",
            detail: format!("package {index}: {detail}"),
        };
        let blob = self.blob(off)?;
        let mut words = blob
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        let mut next = || {
            words
                .next()
                .ok_or_else(|| corrupt("the blob ends early".into()))
        };
        let count = next()?;
        // Each line takes at least 4 words: a count above what the blob holds is damage.
        if u64::from(count) * 16 > blob.len() as u64 {
            return Err(corrupt(format!("{count} lines in {} bytes", blob.len())));
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let (line, base, decs, secs) = (next()?, next()?, next()?, next()?);
            let decorations = (0..decs)
                .map(|_| self.string(next()?))
                .collect::<Result<Vec<_>, _>>()?;
            let sections = (0..secs)
                .map(|_| {
                    let (name, empty) = (next()?, next()?);
                    Ok(ModelsSection {
                        name: self.string(name)?,
                        empty: empty != 0,
                    })
                })
                .collect::<Result<Vec<_>, IndexError>>()?;
            out.push(ManufacturerLine {
                line,
                models_base: self.string(base)?,
                decorations,
                sections,
            });
        }
        Ok(out)
    }

    /// Every package, in index order.
    pub fn packages(&self) -> Result<Vec<PackageInfo>, IndexError> {
        (0..self.packages.1 as u32)
            .map(|i| self.package(i))
            .collect()
    }

    /// Every (ID, node) pair, in ID order: for `verify` and tools; reads the whole index.
    pub fn entries(&self) -> Result<Vec<(String, DriverNode)>, IndexError> {
        use fst::Streamer;
        let mut out = Vec::new();
        let mut stream = self.fst.stream();
        let mut keys = Vec::new();
        while let Some((k, _)) = stream.next() {
            keys.push(String::from_utf8_lossy(k).into_owned());
        }
        for k in keys {
            for n in self.lookup(&k)? {
                out.push((k.clone(), n));
            }
        }
        Ok(out)
    }

    /// Full check: body checksum, fst structure, every posting, record and string reference.
    pub fn verify(&self) -> Result<(), IndexError> {
        let body = Sha256::digest(&self.map[HEADER_LEN..]);
        if body[..] != self.map[96..128] {
            return Err(IndexError::BodyChecksum {
                path: self.path.clone(),
            });
        }
        self.fst
            .as_fst()
            .verify()
            .map_err(|e| IndexError::Corrupt {
                path: self.path.clone(),
                what: "fst",
                detail: e.to_string(),
            })?;
        for pkg in 0..self.packages.1 as u32 {
            self.manufacturer_lines(pkg)?;
        }
        let mut packages = HashMap::new();
        for rec in 0..self.records.1 as u32 {
            self.node(rec, &mut packages)?;
        }
        let entries = self.entries()?;
        if entries.len() as u64 * POSTING_LEN as u64 != self.postings.1 {
            return Err(IndexError::Corrupt {
                path: self.path.clone(),
                what: "postings",
                detail: format!(
                    "{} postings reachable from the fst, region holds {}",
                    entries.len(),
                    self.postings.1 / POSTING_LEN as u64
                ),
            });
        }
        Ok(())
    }

    fn node(
        &self,
        rec: u32,
        packages: &mut HashMap<u32, PackageInfo>,
    ) -> Result<DriverNode, IndexError> {
        let b = self.bytes(
            "record",
            (self.records.0, self.records.1 * RECORD_LEN as u64),
            u64::from(rec) * RECORD_LEN as u64,
            RECORD_LEN as u64,
        )?;
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let pkg = w(0);
        let package = match packages.get(&pkg) {
            Some(p) => p.clone(),
            None => {
                let p = self.package(pkg)?;
                packages.insert(pkg, p.clone());
                p
            }
        };
        let flags = b[38];
        let mut version = [0u8; 8];
        version.copy_from_slice(&b[40..48]);
        let arch = Arch::from_code(b[37]).ok_or_else(|| IndexError::Corrupt {
            path: self.path.clone(),
            what: "record",
            detail: format!("record {rec} has unknown architecture code {}", b[37]),
        })?;
        let decoration = match self.opt_string(w(5))? {
            Some(raw) => Some(Decoration::parse(&raw).map_err(|e| IndexError::Corrupt {
                path: self.path.clone(),
                what: "record",
                detail: format!("record {rec}: {e}"),
            })?),
            None => None,
        };
        Ok(DriverNode {
            id: String::new(),
            match_kind: MatchKind::HardwareId,
            package_index: pkg,
            package,
            description: self.string(w(1))?,
            manufacturer: self.string(w(2))?,
            manufacturer_line: w(3),
            models_section: self.string(w(4))?,
            decoration,
            install_section: self.opt_string(w(6))?,
            line: w(7),
            arch,
            feature_score: b[36],
            driver_ver: (flags & 8 != 0)
                .then(|| DriverVer::from_codes(w(8), u64::from_le_bytes(version))),
            catalog_present: flags & 1 != 0,
            boot_critical: BootCritical {
                boot_start_service: flags & 2 != 0,
                storage_class: flags & 4 != 0,
            },
        })
    }

    fn opt_string(&self, off: u32) -> Result<Option<String>, IndexError> {
        if off == NONE {
            return Ok(None);
        }
        self.string(off).map(Some)
    }

    fn blob(&self, off: u32) -> Result<&[u8], IndexError> {
        let len = self.bytes("string", self.strings, u64::from(off), 4)?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
        self.bytes("string", self.strings, u64::from(off) + 4, u64::from(len))
    }

    fn string(&self, off: u32) -> Result<String, IndexError> {
        let s = self.blob(off)?;
        String::from_utf8(s.to_vec()).map_err(|_| IndexError::Corrupt {
            path: self.path.clone(),
            what: "string",
            detail: format!("string at {off} is not UTF-8"),
        })
    }

    /// The one checked accessor: `len` bytes at `offset` inside `region` (offset, length).
    fn bytes(
        &self,
        what: &'static str,
        region: (u64, u64),
        offset: u64,
        len: u64,
    ) -> Result<&[u8], IndexError> {
        let oob = || IndexError::OutOfBounds {
            path: self.path.clone(),
            what,
            offset: region.0.saturating_add(offset),
            len,
            size: self.map.len() as u64,
        };
        let end = offset.checked_add(len).ok_or_else(oob)?;
        if end > region.1 {
            return Err(oob());
        }
        let start = usize::try_from(region.0 + offset).map_err(|_| oob())?;
        let stop = usize::try_from(region.0 + end).map_err(|_| oob())?;
        self.map.get(start..stop).ok_or_else(oob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(line: u32, base: &str, decs: &[&str], sections: &[(&str, bool)]) -> ManufacturerLine {
        ManufacturerLine {
            line,
            models_base: base.into(),
            decorations: decs.iter().map(|d| (*d).into()).collect(),
            sections: sections
                .iter()
                .map(|(n, e)| ModelsSection {
                    name: (*n).into(),
                    empty: *e,
                })
                .collect(),
        }
    }

    fn package(id: &str, lines: Vec<ManufacturerLine>) -> PackageEntry {
        PackageEntry {
            info: PackageInfo {
                id: id.into(),
                inf_name: format!("{id}.inf"),
                source: "/src".into(),
                class: None,
                class_guid: None,
                provider: None,
                complete: true,
                unstamped: false,
            },
            nodes: Vec::new(),
            lines,
        }
    }

    fn open(bytes: &[u8]) -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(INDEX_FILE);
        std::fs::write(&path, bytes).expect("write index");
        let index = Index::open_file(&path).expect("open index");
        (dir, index)
    }

    #[test]
    fn manufacturer_lines_round_trip_per_package() {
        let a = vec![
            // Rule g of windows-driver-internals.md §3.3 needs the empty flag kept per section.
            line(
                12,
                "Nic",
                &["NTamd64", "NTamd64.10.0...19041", "NTarm64.10.0...22000"],
                &[("Nic.NTamd64", false), ("nic.ntamd64.10.0...19041", true)],
            ),
            line(13, "Nic", &[], &[("Nic", false)]),
        ];
        let c = vec![line(7, "Other", &["NTx86"], &[])];
        let packages = [
            package("a", a.clone()),
            package("b", Vec::new()),
            package("c", c.clone()),
        ];
        let bytes = build(&packages, [0; 32]).expect("build");
        let (_dir, index) = open(&bytes);
        assert_eq!(index.manufacturer_lines(0).expect("a"), a);
        assert_eq!(index.manufacturer_lines(1).expect("b"), Vec::new());
        assert_eq!(index.manufacturer_lines(2).expect("c"), c);
        assert!(matches!(
            index.manufacturer_lines(3),
            Err(IndexError::OutOfBounds { .. })
        ));
        index.verify().expect("verify");
    }

    fn node(hw: &str, compat: &[&str], line: u32) -> NodeEntry {
        NodeEntry {
            description: format!("node {line}"),
            manufacturer: "M".into(),
            manufacturer_line: 3,
            models_section: "M.NTamd64".into(),
            decoration: Some("NTamd64".into()),
            install_section: Some("Inst".into()),
            line,
            arch: Arch::Amd64,
            hardware_id: hw.into(),
            compatible_ids: compat.iter().map(|c| (*c).into()).collect(),
            feature_score: 0xFF,
            driver_ver: None,
            catalog_present: true,
            boot_critical: BootCritical::default(),
        }
    }

    #[test]
    fn a_cursor_gives_the_answers_of_plain_lookups() {
        let mut a = package("a", Vec::new());
        a.nodes = vec![
            node(
                "PCI\\VEN_8086&DEV_1234&SUBSYS_00011AF4",
                &["PCI\\VEN_8086&CC_0200"],
                10,
            ),
            node("pci\\ven_8086&dev_1234", &[], 11),
            node("PCI\\VEN_8086", &["PCI\\CC_0200"], 12),
        ];
        let mut b = package("b", Vec::new());
        b.nodes = vec![node(
            "PCI\\VEN_8086&DEV_1234",
            &["PCI\\VEN_8086&CC_0200"],
            5,
        )];
        let bytes = build(&[a, b], [0; 32]).expect("build");
        let (_dir, index) = open(&bytes);
        // A device ladder (longest first, shared prefixes), misses, a prefix of a key that is
        // not itself a key, case and surrounding blanks, and going back to shorter keys.
        let ids = [
            "PCI\\VEN_8086&DEV_1234&SUBSYS_00011AF4&REV_01",
            "PCI\\VEN_8086&DEV_1234&SUBSYS_00011AF4",
            "PCI\\VEN_8086&DEV_1234&REV_01",
            "pci\\ven_8086&dev_1234",
            "PCI\\VEN_8086&DEV_12",
            "PCI\\VEN_8086&CC_020000",
            " PCI\\VEN_8086&CC_0200 ",
            "PCI\\VEN_8086",
            "PCI\\CC_0200",
            "",
            "USB\\VID_1234",
            "PCI\\VEN_8086&DEV_1234&SUBSYS_00011AF4",
        ];
        let mut cursor = LookupCursor::default();
        let mut hits = 0;
        for id in ids {
            let plain = index.lookup(id).expect("lookup");
            hits += plain.len();
            assert_eq!(
                index.lookup_with(id, &mut cursor).expect("cursor"),
                plain,
                "{id}"
            );
        }
        assert_eq!(hits, 8);
    }

    #[test]
    fn damaged_line_blob_is_an_error() {
        let packages = [package(
            "a",
            vec![line(3, "M", &["NTamd64"], &[("M.NTamd64", false)])],
        )];
        let mut bytes = build(&packages, [0; 32]).expect("build");
        let u64_at =
            |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let pkg_region = u64_at(&bytes, 64) as usize;
        let strings = u64_at(&bytes, 80) as usize;
        let blob = u32::from_le_bytes(
            bytes[pkg_region + 28..pkg_region + 32]
                .try_into()
                .expect("4 bytes"),
        ) as usize;
        // The line count (first word after the blob's length) claims far more than the blob holds.
        let count = strings + blob + 4;
        bytes[count..count + 4].copy_from_slice(&1000u32.to_le_bytes());
        let (_dir, index) = open(&bytes);
        let err = index.manufacturer_lines(0).expect_err("damaged blob");
        assert!(
            err.to_string().contains("1000 lines in"),
            "unexpected error: {err}"
        );
    }

    #[test]
    fn an_older_schema_asks_for_a_rebuild() {
        let mut bytes = build(&[package("a", Vec::new())], [0; 32]).expect("build");
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(INDEX_FILE);
        std::fs::write(&path, &bytes).expect("write index");
        let err = Index::open_file(&path).expect_err("schema 1");
        assert!(matches!(err, IndexError::Schema { found: 1, .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("index schema 1, this infuse reads schema 2")
                && msg.contains("hint: rebuild it with `infuse store add STORE`"),
            "{msg}"
        );
    }
}
