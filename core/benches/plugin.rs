//! The plugin host's costs, with the example plugin `vendor-policy` (plugins/vendor-policy):
//!
//! - `first_load`: `PluginHost::load` with no compile cache (Cranelift compiles the component),
//!   including the `describe()` call every load makes;
//! - `cached_load`: the same with the component deserialized from the host's cache;
//! - `select_10k`: one `select` call over a device with 10,000 candidates (fresh store and
//!   instance, arguments lowered, decisions lifted and validated), target < 50 µs;
//! - `native_10k`: the same policy (block 1.0.0.0, prefer the 1.1. branch) in Rust over the same
//!   candidates, in the same run, for comparison;
//! - `select_5`: the realistic shape, one device with a handful of candidates per call: 10,000
//!   calls (100 samples of 100) of 5 candidates each, walking through the 2,000 distinct 5-slices
//!   of the 10,000 candidates; the time shown is per call, target < 50 µs;
//! - `native_5`: the Rust policy over the same 5-slices, per call.
//!
//! `cargo bench -p infuse --bench plugin` builds `plugins/` for wasm32-wasip2 into
//! `<target>/plugins` first (as the end-to-end tests do), so the wasm target must be installed.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use infuse::hwid::{Bus, Device};
use infuse::plugin::cache::CacheDir;
use infuse::plugin::{Plugin, PluginHost};
use infuse::rank::memory::MemoryStore;
use infuse::rank::{Candidate, DeviceMatch, SignatureRules, Target};
use infuse_driver_store::inf::model::Arch;
use sha2::{Digest, Sha256};

const HWID: &str = r"PCI\VEN_8086&DEV_15B8&SUBSYS_86721043";
const PACKAGES: usize = 100;
const LINES: usize = 100;

fn main() {
    divan::main();
}

/// `<target dir>`: the bench executable lives in `<target>/release/deps`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

/// A plugin directory for vendor-policy with its sha256 filled in (built once).
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = target_dir().join("plugins");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-q",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "vendor-policy",
            ])
            .current_dir(repo.join("plugins"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo build in plugins/");
        assert!(
            status.success(),
            "building plugins/vendor-policy failed\nhint: rustup target add wasm32-wasip2"
        );
        let wasm = std::fs::read(target.join("wasm32-wasip2/release/vendor_policy.wasm"))
            .expect("built component");
        let dir = target.join("bench/vendor-policy");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("vendor_policy.wasm"), &wasm).expect("write component");
        let manifest = std::fs::read_to_string(repo.join("plugins/vendor-policy/plugin.toml"))
            .expect("plugin.toml");
        let sha = hex::encode(Sha256::digest(&wasm));
        let manifest = manifest.replace("sha256 = \"\"", &format!("sha256 = \"{sha}\""));
        std::fs::write(dir.join("plugin.toml"), manifest).expect("write plugin.toml");
        dir
    })
}

fn cache_dir() -> PathBuf {
    target_dir().join("plugins/bench/cache")
}

fn cached_host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| {
        let host = PluginHost::new(CacheDir::At(cache_dir())).expect("host");
        host.load(plugin_dir()).expect("warm the cache");
        host
    })
}

fn loaded() -> &'static Plugin {
    static P: OnceLock<Plugin> = OnceLock::new();
    P.get_or_init(|| cached_host().load(plugin_dir()).expect("load"))
}

fn target() -> Target {
    Target::new(10, 0, 22631, Arch::Amd64)
}

fn device() -> Device {
    Device {
        instance_id: format!("{HWID}\\0"),
        bus: Bus::Pci,
        hardware_ids: vec![HWID.to_owned()],
        compatible_ids: vec![],
        class_code: None,
        description: None,
        location: None,
        boot_critical: false,
    }
}

/// 100 packages of 100 Models lines each for the one device: 10,000 candidates, a third of
/// them on the blocked 1.0.0.0, a third on the preferred 1.1 branch.
fn matched() -> &'static DeviceMatch {
    static M: OnceLock<DeviceMatch> = OnceLock::new();
    M.get_or_init(|| {
        let mut store = MemoryStore::new();
        for p in 0..PACKAGES {
            let mut inf = format!(
                "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nProvider=Contoso\r\nDriverVer=01/{:02}/2024,1.{}.0.0\r\n[Manufacturer]\r\nContoso=M,NTamd64\r\n[M.NTamd64]\r\n",
                p % 28 + 1,
                p % 3
            );
            for l in 0..LINES {
                inf.push_str(&format!("\"Net {p}.{l}\"=Inst, {HWID}\r\n"));
            }
            inf.push_str("[Inst.NTamd64]\r\n");
            store.add_inf(&format!("c{p}.inf"), inf.as_bytes(), |_| true);
        }
        let m = store.match_device(&device(), &target(), SignatureRules::CatalogPresent);
        assert_eq!(m.candidates.len(), PACKAGES * LINES);
        m
    })
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn first_load(b: divan::Bencher) {
    let host = PluginHost::new(CacheDir::Off).expect("host");
    b.bench_local(|| black_box(host.load(plugin_dir()).expect("load")));
}

#[divan::bench(sample_count = 50, sample_size = 1)]
fn cached_load(b: divan::Bencher) {
    let host = cached_host();
    b.bench_local(|| {
        let p = host.load(plugin_dir()).expect("load");
        assert!(!p.compiled);
        black_box(p)
    });
}

#[divan::bench(sample_count = 30, sample_size = 1)]
fn select_10k(b: divan::Bencher) {
    let (p, m, t) = (loaded(), matched(), target());
    b.bench_local(|| {
        let d = p.select(&m.device, &t, &m.candidates).expect("select");
        black_box(d)
    });
}

/// vendor-policy's rule in Rust: reject 1.0.0.0, prefer 1.1.x, over the same candidates.
fn native_policy(candidates: &[Candidate]) -> Vec<(usize, bool, String)> {
    let mut out = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let Some(ver) = c.node.driver_ver.map(|d| {
            let [a, b, c, d] = d.version;
            format!("{a}.{b}.{c}.{d}")
        }) else {
            continue;
        };
        if ver == "1.0.0.0" {
            out.push((i, false, format!("version {ver} is blocked")));
        } else if ver.starts_with("1.1.") {
            out.push((i, true, format!("preferred branch 1.1.x ({ver})")));
        }
    }
    out
}

/// Candidates per call in the realistic case (a device usually matches a handful of drivers).
const SMALL: usize = 5;

/// 10,000 calls of one device and [`SMALL`] candidates: per-call cost, the issue's target.
#[divan::bench(sample_count = 100, sample_size = 100)]
fn select_5(b: divan::Bencher) {
    let (p, m, t) = (loaded(), matched(), target());
    let chunks: Vec<&[Candidate]> = m.candidates.chunks_exact(SMALL).collect();
    let mut next = 0usize;
    b.bench_local(|| {
        let cands = chunks[next % chunks.len()];
        next += 1;
        let d = p.select(&m.device, &t, cands).expect("select");
        black_box(d)
    });
}

/// The Rust policy over the same 5-candidate slices, per call.
#[divan::bench(sample_count = 100, sample_size = 100)]
fn native_5(b: divan::Bencher) {
    let m = matched();
    let chunks: Vec<&[Candidate]> = m.candidates.chunks_exact(SMALL).collect();
    let mut next = 0usize;
    b.bench_local(|| {
        let cands = chunks[next % chunks.len()];
        next += 1;
        black_box(native_policy(cands))
    });
}

#[divan::bench(sample_count = 30, sample_size = 1)]
fn native_10k(b: divan::Bencher) {
    let m = matched();
    b.bench_local(|| black_box(native_policy(&m.candidates)));
}
