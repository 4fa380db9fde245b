//! Hostile packages (`tests/hostile/store-*.inf`, README.md there): each is added from a folder
//! with a decoy file next to it; no path may reach the decoy, every refusal names `inf:line`.

use std::path::Path;

use infuse_driver_store::store::Store;

const DECOY: &[u8] = b"decoy outside the package: must never be stored\n";

fn add_hostile(
    name: &str,
) -> (
    tempfile::TempDir,
    Store,
    infuse_driver_store::store::Manifest,
) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pkg = tmp.path().join("a/b/pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hostile")
        .join(name);
    std::fs::copy(&src, pkg.join(name)).expect("copy hostile inf");
    for f in ["ok.sys", "a.sys", "b.sys"] {
        std::fs::write(pkg.join(f), format!("payload {f}\n")).expect("payload");
    }
    for decoy in [
        "a/b/outside.sys",
        "a/b/secret.txt",
        "a/secret.txt",
        "outside.sys",
        "a/b/up.sys",
        "a/up.sys",
    ] {
        std::fs::write(tmp.path().join(decoy), DECOY).expect("decoy");
    }
    let store = Store::create(&tmp.path().join("store")).expect("store");
    store.add(&[pkg.join(name)], &mut |_| {}).expect("add");
    let m = store.show(name).expect("show");
    // The decoy bytes never reached the store.
    for d in std::fs::read_dir(store.root().join("objects"))
        .expect("objects")
        .flatten()
    {
        for o in std::fs::read_dir(d.path()).expect("objects/xx").flatten() {
            assert_ne!(
                std::fs::read(o.path()).expect("object"),
                DECOY,
                "{name}: decoy stored"
            );
        }
    }
    (tmp, store, m)
}

fn has(m: &infuse_driver_store::store::Manifest, inf: &str, line: u32, needle: &str) -> bool {
    let prefix = format!("{inf}:{line}: ");
    m.diagnostics
        .iter()
        .any(|d| d.starts_with(&prefix) && d.contains(needle))
}

#[test]
fn path_traversal_is_refused_line_by_line() {
    let inf = "store-path-traversal.inf";
    let (_tmp, _store, m) = add_hostile(inf);
    assert!(!m.info.complete);
    for (line, needle) in [
        (15, "`..\\..\\secret.txt` climbs"),
        (22, "device `NUL`"),
        (23, "alternate data stream"),
        (24, "`..\\outside.sys` climbs"),
        (28, "subdirectory refused"),
        (32, "absolute or UNC"),
        (33, "names a drive"),
        (37, "`..\\..` climbs"),
    ] {
        assert!(
            has(&m, inf, line, needle),
            "line {line} `{needle}`:\n{:#?}",
            m.diagnostics
        );
    }
    // Only ok.sys (and the INF) made it into the package.
    let stored: Vec<&str> = m
        .files
        .iter()
        .filter(|f| f.sha256.is_some())
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(stored, [inf, "ok.sys"]);
}

#[test]
fn needs_cycles_and_self_include_terminate() {
    let inf = "store-needs-cycle.inf";
    let (_tmp, store, m) = add_hostile(inf);
    assert!(m.info.complete, "{:#?}", m.diagnostics);
    assert_eq!(
        m.diagnostics
            .iter()
            .filter(|d| d.contains("Needs cycle"))
            .count(),
        2
    );
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, [inf, "a.sys", "b.sys"]);
    assert_eq!(
        store
            .index()
            .expect("index")
            .lookup("ROOT\\MALLORY_LOOP")
            .expect("lookup")
            .len(),
        1
    );
}

#[test]
fn a_file_outside_the_package_is_refused() {
    let inf = "store-outside-file.inf";
    let (_tmp, _store, m) = add_hostile(inf);
    assert!(!m.info.complete);
    assert!(has(&m, inf, 24, "`\\..` climbs"), "{:#?}", m.diagnostics);
}
