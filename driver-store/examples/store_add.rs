//! `cargo run --release -p infuse-driver-store --example store_add -- STORE SOURCE...`: what
//! `infuse store add STORE SOURCE...` does (create the store, add, publish the index), without
//! the CLI's progress bar and report, so that `store add` can be timed with hyperfine next to
//! `cat` and `cp -r` of the same files without building the whole `infuse` binary (BENCHMARKS.md,
//! "Store indexing and queries").

use std::path::PathBuf;

/// Same allocator as the `infuse` binary (`core/src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let store = args.next().ok_or("usage: store_add STORE SOURCE...")?;
    let sources: Vec<PathBuf> = args.collect();
    let store = infuse_driver_store::store::Store::create(&store)?;
    let report = store.add(&sources, &mut |_| {})?;
    eprintln!(
        "{} added, {} replaced, {} unchanged; {} objects stored ({} bytes), {} deduplicated; index: {} packages, {} IDs, {} nodes",
        report.added.len(),
        report.replaced.len(),
        report.unchanged,
        report.files_stored,
        report.bytes_stored,
        report.files_deduplicated,
        report.packages,
        report.ids,
        report.nodes
    );
    Ok(())
}
