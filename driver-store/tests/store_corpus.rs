//! The store over the shared corpus (when present): every INF with non-empty models yields driver
//! nodes, and the virtio IDs find their packages.

use std::path::PathBuf;

use infuse_driver_store::inf::model::Model;
use infuse_driver_store::inf::parse_with;
use infuse_driver_store::store::package::parse_options;
use infuse_driver_store::store::{MatchKind, Store};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("INFUSE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/inf")
        });
    if dir.is_dir() {
        eprintln!("using the shared INF corpus at {}", dir.display());
        Some(dir)
    } else {
        eprintln!(
            "shared INF corpus not present at {}: corpus checks not run",
            dir.display()
        );
        None
    }
}

fn infs(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read corpus dir")
        .flatten()
        .collect();
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

#[test]
fn every_corpus_file_with_models_yields_driver_nodes() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    infs(&dir, &mut files);
    assert!(files.len() > 1000, "corpus has {} INF files", files.len());
    let mut with_models = 0;
    let mut failures = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).expect("read corpus file");
        let inf = parse_with(&bytes, &parse_options());
        // A [Manufacturer] line whose own Models sections (base, or base.<decoration> for a
        // decoration the line lists) have at least one entry.
        let Some(mfg) = inf.section("Manufacturer") else {
            continue;
        };
        let mut unstamped = false;
        let non_empty = mfg.lines().iter().any(|l| {
            let mut fields = l.fields().map(|s| s.trim());
            let base = fields.next().unwrap_or_default();
            let names: Vec<String> = std::iter::once(base.to_string())
                .chain(
                    fields
                        .filter(|d| !d.is_empty())
                        .map(|d| format!("{base}.{d}")),
                )
                .collect();
            names.iter().any(|n| {
                let has = !base.is_empty()
                    && inf
                        .section(n)
                        .is_some_and(|s| s.lines().iter().any(|l| l.key().is_some()));
                unstamped |= has && n.to_ascii_uppercase().contains("$ARCH$");
                has
            })
        });
        if !non_empty {
            continue;
        }
        with_models += 1;
        let model = Model::new(&inf);
        if unstamped {
            // `$ARCH$` Models sections are reported, not indexed: no architecture can match them
            // until stampinf replaces the placeholder.
            assert!(
                model.unstamped,
                "{}: unstamped but not reported",
                f.display()
            );
            continue;
        }
        if model.nodes().next().is_none() {
            failures.push(format!(
                "{}: {:?}",
                f.display(),
                model.diagnostics.iter().take(3).collect::<Vec<_>>()
            ));
        }
    }
    eprintln!("{with_models} corpus files have non-empty models");
    assert!(with_models > 900, "only {with_models} files with models");
    assert!(
        failures.is_empty(),
        "{} files without nodes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_store_answers_virtio_ids() {
    let Some(dir) = corpus() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::create(tmp.path()).expect("create store");
    let report = store.add(&[dir], &mut |_| {}).expect("add corpus");
    assert!(report.packages > 1000, "{} packages", report.packages);
    let index = store.index().expect("index");
    for (id, inf) in [
        ("PCI\\VEN_1AF4&DEV_1004", "vioscsi.inf"),
        ("pci\\ven_1af4&dev_1000", "netkvm.inf"),
    ] {
        let nodes = index.lookup(id).expect("lookup");
        assert!(
            nodes
                .iter()
                .any(|n| n.package.inf_name.to_lowercase().ends_with(inf)),
            "{id} → {:?}",
            nodes
                .iter()
                .map(|n| &n.package.inf_name)
                .collect::<Vec<_>>()
        );
        // The corpus has no payload files: those packages are incomplete but indexed.
        assert!(nodes.iter().all(|n| !n.package.complete));
        // The short IDs are the entries' first compatible ID (their hardware IDs carry SUBSYS).
        assert!(
            nodes
                .iter()
                .any(|n| n.match_kind == MatchKind::CompatibleId(0)),
            "{id}"
        );
    }
    let again = store.add(&[], &mut |_| {}).expect("no-op add");
    assert!(!again.index_rebuilt);
}
