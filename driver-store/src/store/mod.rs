//! Packages, the content-addressed store and its memory-mapped index.
//!
//! A store is a directory:
//!
//! ```text
//! STORE/
//!   store.lock                 exclusive lock held by a writer (`infuse store add`)
//!   objects/ab/cdef…           every payload file once, named by its sha256
//!   packs/<seq>.pack           one per `add` that changed something (see [`pack`]): per package
//!                              its manifest (files → hashes, diagnostics, and the source
//!                              fingerprint (stat stamps) that makes re-adds free) and its
//!                              driver nodes (postcard, read only to rebuild the index); a later
//!                              pack's package replaces an earlier one's
//!   index.bin                  ID → driver nodes (see [`index`]), rebuilt from the manifests
//!   tmp/                       staging for atomic writes (temp + rename, durability barriers)
//! ```
//!
//! # Query API (used by `core/src/rank`)
//!
//! ```no_run
//! use infuse_driver_store::store::{Index, MatchKind};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let index = Index::open(std::path::Path::new("my-store"))?;
//! for node in index.lookup("pci\\ven_1af4&dev_1004")? {
//!     // node.package.{id, inf_name, provider, class, class_guid, complete}
//!     // node.{models_section, decoration (parsed), install_section, arch, line}
//!     // node.{feature_score, driver_ver, catalog_present, boot_critical}
//!     let k = match node.match_kind {
//!         MatchKind::HardwareId => None,
//!         MatchKind::CompatibleId(k) => Some(k),
//!     };
//!     println!("{} {:?} {k:?}", node.package.id, node.decoration);
//! }
//! # Ok(()) }
//! ```
//!
//! To re-read a package's INF (for its model, e.g. to explain a choice), use
//! [`Store::inf_bytes`] with `node.package.id`.
//!
//! [`Index::lookup`] normalizes the ID ([`normalize_id`]) and reads only that ID's postings,
//! records and strings. Every node carries its [`PackageInfo`]; incomplete packages
//! (`complete == false`) are indexed so that `match` can explain them, but must never be injected.
//!
//! **Invariant:** the index is never edited in place; it is rebuilt from the manifests and
//! published by rename, so a reader always sees a whole index.

mod cab;
pub mod index;
pub mod pack;
pub mod package;
pub mod repo;

pub use cab::CabError;
pub use index::{
    DriverNode, INDEX_FILE, Index, IndexError, ManufacturerLine, MatchKind, ModelsSection,
    NodeEntry, PackageEntry, PackageInfo, SCHEMA_VERSION, normalize_id,
};
pub use pack::PackError;
pub use package::{DirCache, FileRole, Package, PackageFile, manufacturer_lines};
pub use repo::{
    AddEvent, AddReport, Manifest, STORE_SCHEMA, Stamp, Store, StoreError, StoredFile, VerifyReport,
};
