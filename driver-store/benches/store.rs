//! Store indexing and queries, each next to its limit measured in the same run.
//!
//! `cargo bench -p infuse-driver-store --bench store` times, best of several rounds:
//! - corpus (`INFUSE_CORPUS`, else `../shared/corpus/inf`; skipped with a note when absent):
//!   reading every INF (the limit), reading + parsing + modelling them + building the index in
//!   memory ("indexing"), and a full `Store::add` into a fresh store (objects, manifests,
//!   durability barriers, index file);
//! - a synthetic index of ≥ 1,000,000 IDs built in memory: build time, size, and the time of one
//!   `Index::open` + `lookup` against one `HashMap` lookup (the floor of any ID → node map).
//!
//! The cold-process query time is measured with hyperfine on the CLI (see BENCHMARKS.md).

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use infuse_driver_store::inf::model::{Arch, BootCritical, DriverVer};
use infuse_driver_store::store::package::{DirCache, Package};
use infuse_driver_store::store::{Index, NodeEntry, PackageEntry, PackageInfo, Store, index};

/// Same allocator as the `infuse` binary (`core/src/main.rs`): the bench stands in for the
/// product's use of the library, so it measures with the allocator the product ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 5;

fn best(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn infs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            infs(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("inf")) {
            out.push(p);
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn corpus() {
    let dir = std::env::var_os("INFUSE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/inf")
        });
    let mut files = Vec::new();
    infs(&dir, &mut files);
    if files.is_empty() {
        println!(
            "corpus: not present at {} — corpus benchmarks not run",
            dir.display()
        );
        return;
    }
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let read = best(ROUNDS, || {
        for f in &files {
            black_box(std::fs::read(f).ok());
        }
    });
    let mut nodes = 0;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let index_with = |threads: usize, nodes: &mut usize| {
        best(ROUNDS, || {
            // Read + parse + model on `threads` threads, as `Store::add` does, then one build.
            let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(threads)).collect();
            let entries: Vec<PackageEntry> = std::thread::scope(|scope| {
                let handles: Vec<_> = chunks
                    .iter()
                    .enumerate()
                    .map(|(c, chunk)| {
                        scope.spawn(move || {
                            let mut cache = DirCache::default();
                            chunk
                                .iter()
                                .enumerate()
                                .filter_map(|(i, f)| {
                                    let p = Package::load(f, &mut cache).ok()?;
                                    Some(p.entry(&format!("p{c}_{i}"), ""))
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            *nodes = entries.iter().map(|e| e.nodes.len()).sum();
            black_box(index::build(&entries, [0; 32]).ok());
        })
    };
    let index_one = index_with(1, &mut nodes);
    let index_in_memory = index_with(threads, &mut nodes);
    let add = best(3, || {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::create(tmp.path()).expect("store");
        black_box(
            store
                .add(std::slice::from_ref(&dir), &mut |_| {})
                .expect("add"),
        );
    });
    println!(
        "corpus: {} INF files, {:.1} MB, {nodes} driver nodes",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("  read all files (limit)                {:>10}", ms(read));
    println!(
        "  read + parse + model + build, 1 thread {:>9}   {:.1}× the read",
        ms(index_one),
        index_one.as_secs_f64() / read.as_secs_f64()
    );
    println!(
        "  same on {threads} threads                     {:>10}   {:.1}× the read",
        ms(index_in_memory),
        index_in_memory.as_secs_f64() / read.as_secs_f64()
    );
    println!(
        "  Store::add into a fresh store         {:>10}   {:.1}× the read",
        ms(add),
        add.as_secs_f64() / read.as_secs_f64()
    );
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

fn synthetic() {
    let (packages, per) = (2000usize, 300usize);
    let mut rng = Lcg(7);
    let mut sample = String::new();
    let entries: Vec<PackageEntry> = (0..packages)
        .map(|p| PackageEntry {
            info: PackageInfo {
                id: format!("synth{p}.inf_{p:016x}"),
                inf_name: format!("synth{p}.inf"),
                source: format!("/synthetic/pkg{p:05}/synth{p}.inf"),
                class: Some("Net".into()),
                class_guid: Some("{4d36e972-e325-11ce-bfc1-08002be10318}".into()),
                provider: Some(format!("Synthetic Devices {p}")),
                complete: true,
                unstamped: false,
            },
            lines: Vec::new(),
            nodes: (0..per)
                .map(|e| {
                    let (ven, dev, sub) = (rng.next() & 0xFFFF, rng.next() & 0xFFFF, rng.next());
                    let hw = format!("PCI\\VEN_{ven:04X}&DEV_{dev:04X}&SUBSYS_{sub:08X}&REV_01");
                    sample.clone_from(&hw);
                    NodeEntry {
                        description: "Synthetic device".into(),
                        manufacturer: format!("Synthetic Devices {p}"),
                        manufacturer_line: 12,
                        models_section: "Synth.NTamd64".into(),
                        decoration: Some("NTamd64".into()),
                        install_section: Some("Synth_Inst.NT".into()),
                        line: 20 + e as u32,
                        arch: Arch::Amd64,
                        hardware_id: hw,
                        compatible_ids: vec![format!("PCI\\VEN_{ven:04X}&DEV_{dev:04X}")],
                        feature_score: 0xFF,
                        driver_ver: DriverVer::parse("01/02/2024", Some("1.2.3.4")).ok(),
                        catalog_present: true,
                        boot_critical: BootCritical::default(),
                    }
                })
                .collect(),
        })
        .collect();
    let mut built = Vec::new();
    let build = best(3, || {
        built = index::build(&entries, [1; 32]).expect("build")
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join(index::INDEX_FILE), &built).expect("write index");
    let ids = Index::open(tmp.path()).expect("open").id_count();
    let mut map: HashMap<String, Vec<u32>> = HashMap::new();
    for (p, e) in entries.iter().enumerate() {
        for n in &e.nodes {
            map.entry(n.hardware_id.clone()).or_default().push(p as u32);
        }
    }
    let n = 10_000u32;
    let open_lookup = best(ROUNDS, || {
        for _ in 0..n {
            let idx = Index::open(tmp.path()).expect("open");
            black_box(idx.lookup(black_box(&sample)).expect("lookup"));
        }
    }) / n;
    let lookup_only = {
        let idx = Index::open(tmp.path()).expect("open");
        best(ROUNDS, || {
            for _ in 0..n {
                black_box(idx.lookup(black_box(&sample)).expect("lookup"));
            }
        }) / n
    };
    let hash = best(ROUNDS, || {
        for _ in 0..n {
            black_box(map.get(black_box(sample.as_str())));
        }
    }) / n;
    println!(
        "synthetic: {packages} packages, {} nodes, {ids} distinct IDs",
        packages * per
    );
    println!("  index build (in memory)               {:>10}", ms(build));
    println!(
        "  index size on disk                    {:>10.1} MB",
        built.len() as f64 / 1e6
    );
    println!(
        "  open + lookup (mmap, page cache warm) {:>10.2} µs",
        open_lookup.as_secs_f64() * 1e6
    );
    println!(
        "  lookup on an open index               {:>10.2} µs   {:.1}× a HashMap<String, _> get ({:.3} µs)",
        lookup_only.as_secs_f64() * 1e6,
        lookup_only.as_secs_f64() / hash.as_secs_f64().max(1e-12),
        hash.as_secs_f64() * 1e6
    );
}

fn main() {
    // `cargo bench --bench store -- corpus|synthetic` runs one part; no argument runs both.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |part: &str| only.is_empty() || only.iter().any(|a| a == part);
    if wants("corpus") {
        corpus();
    }
    if wants("synthetic") {
        synthetic();
    }
}
