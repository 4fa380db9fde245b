//! `infuse demo`: the embedded default job, runnable on a fresh clone with nothing else.
//!
//! It lays out a small store source (the license-clean fixture packages of
//! `driver-store/fixtures/packages`, embedded in the binary), a hardware profile of a demo
//! machine (`core/demo/machine.toml`), a demo offline image (a Windows 11 23H2 amd64 tree whose
//! SYSTEM, SOFTWARE and DRIVERS hives infuse builds, with three inbox packages registered) and
//! two example vendor plugins (`plugins/vendor-policy` and `plugins/trim`, built for
//! `wasm32-wasip2` by `core/build.rs` and embedded). Then it runs the whole path the way the
//! commands do: `store add` → `match --image --plugins` (vendor-policy's `select` vetoes and
//! prefers) → `inject` (trim's `transform` edits the packages it handles; the plan is committed
//! through the journal) → `image verify`. Everything lands in one folder the report names, so
//! each step can be re-run by hand with the printed commands.

use std::path::{Path, PathBuf};

use infuse_driver_store::store::{AddReport, Store, StoreError};
use serde::Serialize;

use crate::hwid::{HwidError, profile};
use crate::image::build::{BuildError, ImageBuilder, Release};
use crate::image::existing::ImageDrivers;
use crate::image::verify::{VerifyError, VerifyReport, verify};
use crate::image::{Image, ImageError, ImageInfo};
use crate::plugin::cache::CacheDir;
use crate::plugin::{Plugin, PluginError, PluginHost};
use crate::rank::store::{ExtraNodes, MatchError, StoreMatcher};
use crate::rank::{MatchReport, SignatureRules};
use crate::stage::commit::{self, CommitError, CommitReport, ImageLock};
use crate::stage::inject::plugins::{TransformRun, transform_sources};
use crate::stage::inject::{Decision, InjectError, InjectOptions, PackageSource, plan_injection};

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

/// The demo image: Windows 11 23H2 (10.0.22631), amd64, workstation.
pub const RELEASE: Release = Release::Win11;

/// The example plugins the demo runs, built by `core/build.rs`: (folder name, component file,
/// component bytes, plugin.toml as in `plugins/<name>/`).
#[cfg(demo_plugins)]
const PLUGINS: &[(&str, &str, &[u8], &str)] = &[
    (
        "vendor-policy",
        "vendor_policy.wasm",
        include_bytes!(concat!(env!("OUT_DIR"), "/vendor_policy.wasm")),
        include_str!(concat!(env!("OUT_DIR"), "/vendor_policy.plugin.toml")),
    ),
    (
        "trim",
        "trim.wasm",
        include_bytes!(concat!(env!("OUT_DIR"), "/trim.wasm")),
        include_str!(concat!(env!("OUT_DIR"), "/trim.plugin.toml")),
    ),
];

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
    /// The demo image, as `infuse image info` reads it.
    pub image: ImageInfo,
    /// The plugin folders (`--plugins DIR`) and the plugins loaded from them.
    pub plugins_dir: PathBuf,
    pub plugins: Vec<String>,
    /// `infuse match --image --plugins` of the machine against the store and the image.
    #[serde(rename = "match")]
    pub matching: MatchReport,
    /// Plugin `select` failures (the devices keep Windows' choice).
    pub select_failures: usize,
    /// Devices whose winner is not injected, and why.
    pub not_injected: Vec<String>,
    /// `infuse inject`: what the plugins' `transform` did, the decisions, what was committed.
    pub transform: TransformRun,
    pub inject: Vec<Decision>,
    pub plan_notes: Vec<String>,
    pub committed: CommitReport,
    /// `infuse image verify` after the injection.
    pub verify: VerifyReport,
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
    #[error("matching the demo machine failed")]
    Match(#[from] MatchError),
    #[error("building the demo image failed")]
    Build(#[from] BuildError),
    #[error("opening the demo image failed")]
    Image(#[from] ImageError),
    #[error("reading the demo image's driver database failed: {0}")]
    Database(String),
    #[error(
        "the demo's plugins cannot run: {0}\nhint: `rustup target add wasm32-wasip2` (bash .ci/setup does it), then rebuild infuse"
    )]
    PluginsMissing(String),
    #[error("loading the demo's plugins failed")]
    Plugin(#[from] PluginError),
    #[error("planning the injection failed")]
    Inject(#[from] InjectError),
    #[error("committing the injection failed")]
    Commit(#[from] CommitError),
    #[error("verifying the demo image failed")]
    Verify(#[from] VerifyError),
}

/// Runs the demo in `dir` (created if missing; an earlier demo there is reused for the store,
/// so a second run shows the store's incremental add doing no work; the image is made anew).
pub fn run(dir: &Path) -> Result<DemoReport, DemoError> {
    let plugins_dir = dir.join("plugins");
    write_plugins(&plugins_dir)?;
    let packages_dir = dir.join("packages");
    for (rel, bytes) in PACKAGES {
        write(&packages_dir.join(rel), bytes)?;
    }
    let profile_path = dir.join("machine.toml");
    write(&profile_path, MACHINE.as_bytes())?;

    // 1. The store.
    let store_dir = dir.join("store");
    let store = Store::create(&store_dir)?;
    let add = store.add(std::slice::from_ref(&packages_dir), &mut |_| {})?;

    // 2. The offline image, made anew.
    let image_dir = dir.join("image");
    if image_dir.exists() {
        fs_err::remove_dir_all(&image_dir).map_err(|source| DemoError::Write {
            path: image_dir.clone(),
            source,
        })?;
    }
    ImageBuilder::new(RELEASE)
        .sample_inbox()
        .build(&image_dir)?;
    let image = Image::open(&image_dir)?;
    let target = image.target();

    // 3. The plugins.
    let host = PluginHost::new(CacheDir::resolve(Some(&dir.join("plugin-cache"))))?;
    let mut plugins: Vec<Plugin> = Vec::new();
    for (_, loaded) in crate::plugin::load_dir(&host, &plugins_dir)? {
        plugins.push(loaded?);
    }

    // 4. Match against the store and the drivers already in the image; vendors' `select`.
    let inventory = profile::read(&profile_path)?;
    let matcher = StoreMatcher::open(&store_dir)?;
    let in_image = ImageDrivers::new(&image).map_err(|e| DemoError::Database(e.to_string()))?;
    let mut matching = MatchReport::build_with(
        &matcher,
        &inventory,
        target,
        SignatureRules::CatalogPresent,
        store_dir.display().to_string(),
        Some(&in_image as &dyn ExtraNodes),
    )?;
    let mut select_failures = 0;
    for m in &mut matching.devices {
        select_failures += crate::plugin::route::apply_select(&plugins, m, &target).len();
    }
    matching.summary = crate::rank::Summary::of(&matching.devices);

    // 5. The winners to inject: store drivers only (an in-image winner needs nothing).
    let mut ids: Vec<String> = Vec::new();
    let mut not_injected = Vec::new();
    for m in &matching.devices {
        let Some(w) = m.winner() else { continue };
        if w.node.in_image {
            not_injected.push(format!(
                "{}: {} already in the image wins ({})",
                m.device.instance_id, w.node.inf, w.explanation
            ));
        } else if !w.node.complete {
            not_injected.push(format!(
                "{}: {} is incomplete in the store (files missing), never injected",
                m.device.instance_id, w.node.package
            ));
        } else if !ids.contains(&w.node.package) {
            ids.push(w.node.package.clone());
        }
    }
    let mut sources = Vec::with_capacity(ids.len());
    for id in &ids {
        sources.push(PackageSource::from_store(&store, id)?);
    }
    let scratch = dir.join("transformed");
    let (sources, transform) =
        transform_sources(&plugins, sources, &target, &scratch).map_err(|source| {
            DemoError::Write {
                path: scratch.clone(),
                source,
            }
        })?;

    // 6. Plan, then commit through the journal.
    let lock = ImageLock::acquire(&image_dir)?;
    commit::recover(&lock, &mut |_| Ok(()))?;
    let planned = plan_injection(&image, &sources, &InjectOptions::default())?;
    drop(in_image);
    drop(image);
    let committed = commit::commit(&lock, &planned.plan, &mut |_| Ok(()))?;
    drop(lock);

    // 7. Verify.
    let image = Image::open(&image_dir)?;
    let verify = verify(&image)?;
    Ok(DemoReport {
        dir: dir.to_path_buf(),
        packages_dir,
        profile: profile_path,
        store: store_dir,
        add,
        image: image.info().clone(),
        plugins_dir,
        plugins: plugins
            .iter()
            .map(|p| format!("{} {}", p.name(), p.info.version))
            .collect(),
        matching,
        select_failures,
        not_injected,
        transform,
        inject: planned.decisions,
        plan_notes: planned.plan.notes,
        committed,
        verify,
    })
}

/// Lays out the embedded plugins as `--plugins DIR` reads them (the sha256 of each component
/// filled into its manifest).
#[cfg(demo_plugins)]
fn write_plugins(dir: &Path) -> Result<(), DemoError> {
    use sha2::{Digest, Sha256};
    for (name, file, wasm, manifest) in PLUGINS {
        let hash = hex::encode(Sha256::digest(wasm));
        let manifest = manifest.replace("sha256 = \"\"", &format!("sha256 = \"{hash}\""));
        if !manifest.contains(&hash) {
            return Err(DemoError::PluginsMissing(format!(
                "plugins/{name}/plugin.toml has no empty `sha256 = \"\"` line to fill in"
            )));
        }
        write(&dir.join(name).join(file), wasm)?;
        write(&dir.join(name).join("plugin.toml"), manifest.as_bytes())?;
    }
    Ok(())
}

#[cfg(not(demo_plugins))]
fn write_plugins(_dir: &Path) -> Result<(), DemoError> {
    Err(DemoError::PluginsMissing(
        include_str!(concat!(env!("OUT_DIR"), "/demo-plugins-missing.txt")).to_owned(),
    ))
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
