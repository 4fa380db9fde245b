//! `infuse demo`: the embedded default job, runnable on a fresh clone with nothing else.
//!
//! It lays out a small store source (the license-clean fixture packages of
//! `driver-store/fixtures/packages`, embedded in the binary), a hardware profile of a demo
//! machine (`core/demo/machine.toml`), builds an indexed store from the packages and ranks every
//! device of the machine against it for a Windows 11 amd64 target, exactly as `infuse store add`
//! and `infuse match` do. Everything lands in one folder the report names, so each step can be
//! re-run by hand with the printed commands.

use std::path::{Path, PathBuf};

use infuse_driver_store::store::{AddReport, Store, StoreError};
use serde::Serialize;

use crate::hwid::{HwidError, profile};
use crate::rank::store::{MatchError, StoreMatcher};
use crate::rank::target::TargetError;
use crate::rank::{MatchReport, SignatureRules, Target};

macro_rules! embed {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!("../../driver-store/fixtures/packages/", $path)),
        )
    };
}

/// The demo's packages, embedded: (path under `packages/`, bytes).
pub const PACKAGES: &[(&str, &[u8])] = &[
    embed!("caudio/caudio.inf"),
    embed!("cchip/cchip.cat"),
    embed!("cchip/cchip.inf"),
    embed!("cnet/arm64/cnet.sys"),
    embed!("cnet/cnet.cat"),
    embed!("cnet/cnet.inf"),
    embed!("cnet/common/contoso_util.dll"),
    embed!("cnet/x64/cnet.sys"),
    embed!("vstor/amd64/contoso_util.dll"),
    embed!("vstor/amd64/vstor.sys"),
    embed!("vstor/vstor.cat"),
    embed!("vstor/vstor.inf"),
];

/// The demo machine's hardware profile.
pub const MACHINE: &str = include_str!("../demo/machine.toml");

/// The demo's target: Windows 11 23H2, amd64, workstation.
pub const OS: &str = "10.0.22631";
pub const ARCH: &str = "amd64";

/// What the demo did.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    /// The folder holding everything below.
    pub dir: PathBuf,
    pub packages_dir: PathBuf,
    pub profile: PathBuf,
    pub store: PathBuf,
    /// `infuse store add` of the packages.
    pub add: AddReport,
    /// `infuse match` of the machine against the store.
    #[serde(rename = "match")]
    pub matching: MatchReport,
}

/// Errors of the demo, each naming the step.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot write the demo files under {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("building the demo store failed")]
    Store(#[from] StoreError),
    #[error("reading the demo machine's profile failed")]
    Profile(#[from] HwidError),
    #[error("the demo target is invalid")]
    Target(#[from] TargetError),
    #[error("matching the demo machine failed")]
    Match(#[from] MatchError),
}

/// Runs the demo in `dir` (created if missing; an earlier demo there is reused, so a second
/// run shows the store's incremental add doing no work).
pub fn run(dir: &Path) -> Result<DemoReport, DemoError> {
    let packages_dir = dir.join("packages");
    for (rel, bytes) in PACKAGES {
        write(&packages_dir.join(rel), bytes)?;
    }
    let profile_path = dir.join("machine.toml");
    write(&profile_path, MACHINE.as_bytes())?;

    let store_dir = dir.join("store");
    let store = Store::create(&store_dir)?;
    let add = store.add(std::slice::from_ref(&packages_dir), &mut |_| {})?;

    let inventory = profile::read(&profile_path)?;
    let target = Target::parse(OS, ARCH, None, None)?;
    let matcher = StoreMatcher::open(&store_dir)?;
    let matching = MatchReport::build(
        &matcher,
        &inventory,
        target,
        SignatureRules::CatalogPresent,
        store_dir.display().to_string(),
    )?;
    Ok(DemoReport {
        dir: dir.to_path_buf(),
        packages_dir,
        profile: profile_path,
        store: store_dir,
        add,
        matching,
    })
}

/// Writes `bytes` to `path` unless it already holds exactly them (keeps mtimes, so the
/// store's unchanged-source check sees a re-run as unchanged).
fn write(path: &Path, bytes: &[u8]) -> Result<(), DemoError> {
    let err = |source| DemoError::Write {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(err)?;
    }
    fs_err::write(path, bytes).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded list is the fixture folder, file for file: a package added to the fixtures
    /// without being embedded (or removed from them) fails here.
    #[test]
    fn embedded_packages_are_the_fixture_folder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../driver-store/fixtures/packages");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let embedded: Vec<String> = PACKAGES.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(embedded, on_disk);
    }

    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.file_name().is_some_and(|n| n != "README.md") {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
}
