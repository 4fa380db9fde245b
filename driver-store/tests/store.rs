//! The store: content addressing and dedupe, idempotent re-adds, replacement, interrupted adds,
//! the writer lock, cabinets, and a damaged index.

use std::path::{Path, PathBuf};
use std::process::Command;

use infuse_driver_store::store::{Index, IndexError, MatchKind, Store, StoreError, normalize_id};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/packages")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy fixture");
        }
    }
}

/// A private copy of the fixture packages and an empty store next to it.
fn setup() -> (tempfile::TempDir, PathBuf, Store) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    copy_dir(&fixtures(), &src);
    let store = Store::create(&tmp.path().join("store")).expect("create store");
    (tmp, src, store)
}

fn add(store: &Store, sources: &[PathBuf]) -> infuse_driver_store::store::AddReport {
    store.add(sources, &mut |_| {}).expect("add")
}

fn objects(store: &Store) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(store.root().join("objects"))
        .expect("objects")
        .flatten()
    {
        for f in std::fs::read_dir(d.path()).expect("objects/xx").flatten() {
            out.push(f.path());
        }
    }
    out
}

#[test]
fn identical_payloads_are_stored_once() {
    let (_tmp, src, store) = setup();
    let r = add(&store, std::slice::from_ref(&src));
    assert_eq!(r.added.len(), 4);
    // vstor/amd64/contoso_util.dll and cnet/common/contoso_util.dll have the same bytes.
    let shared = std::fs::metadata(src.join("cnet/common/contoso_util.dll"))
        .expect("stat")
        .len();
    assert_eq!((r.files_deduplicated, r.bytes_saved), (1, shared));
    assert_eq!(objects(&store).len(), r.files_stored);
    // Every object is named by the sha256 of its bytes.
    for o in objects(&store) {
        let bytes = std::fs::read(&o).expect("object");
        let name = format!(
            "{}{}",
            o.parent()
                .and_then(|p| p.file_name())
                .expect("dir")
                .to_string_lossy(),
            o.file_name().expect("name").to_string_lossy()
        );
        use sha2::Digest;
        assert_eq!(name, hex::encode(sha2::Sha256::digest(&bytes)));
    }
    let v = store.verify().expect("verify");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}

/// An object file that exists with none of its data (what a power loss can leave after the
/// rename of an object whose bytes never reached the disk) is written again, not trusted.
#[test]
fn an_empty_object_left_by_a_power_loss_is_rewritten() {
    let (tmp, src, first) = setup();
    add(&first, std::slice::from_ref(&src));
    let names: Vec<PathBuf> = objects(&first)
        .iter()
        .map(|o| {
            o.strip_prefix(first.root())
                .expect("under the store")
                .to_path_buf()
        })
        .collect();
    let victim = names.first().expect("an object").clone();

    let second = Store::create(&tmp.path().join("second")).expect("create store");
    std::fs::write(second.root().join(&victim), b"").expect("plant an empty object");
    add(&second, &[src]);
    let want = std::fs::metadata(first.root().join(&victim))
        .expect("object")
        .len();
    let got = std::fs::metadata(second.root().join(&victim))
        .expect("object")
        .len();
    assert!(want > 0);
    assert_eq!(got, want, "{} was trusted while empty", victim.display());
    let report = second.verify().expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn adding_the_same_source_again_does_no_work() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let index = store.root().join("index.bin");
    let before = std::fs::metadata(&index)
        .expect("index")
        .modified()
        .expect("mtime");
    let r = add(&store, std::slice::from_ref(&src));
    assert_eq!(r.unchanged, 4);
    assert!(r.added.is_empty() && r.replaced.is_empty());
    assert_eq!(
        (r.files_stored, r.files_deduplicated),
        (0, 0),
        "nothing hashed"
    );
    assert!(!r.index_rebuilt);
    let after = std::fs::metadata(&index)
        .expect("index")
        .modified()
        .expect("mtime");
    assert_eq!(before, after);
}

#[test]
fn a_changed_package_replaces_the_old_one() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let inf = src.join("cnet/cnet.inf");
    let text = std::fs::read_to_string(&inf).expect("inf");
    let text = text.replace("PCI\\VEN_8086&DEV_15BC", "PCI\\VEN_8086&DEV_15FF");
    std::fs::write(&inf, text).expect("rewrite inf");
    let r = add(&store, std::slice::from_ref(&src));
    assert_eq!(r.replaced.len(), 1, "{r:?}");
    assert!(r.replaced[0].starts_with("cnet.inf_"));
    assert_eq!(r.unchanged, 3);
    assert!(r.index_rebuilt);
    let index = store.index().expect("index");
    assert_eq!(index.package_count(), 4);
    assert!(
        index
            .lookup("PCI\\VEN_8086&DEV_15BC")
            .expect("lookup")
            .is_empty()
    );
    assert_eq!(
        index
            .lookup("pci\\ven_8086&dev_15ff")
            .expect("lookup")
            .len(),
        1
    );
}

/// The pack files of a store, by name.
fn packs(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.root().join("packs"))
        .expect("packs/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Appends a comment to an INF: a changed file, the same packages and IDs.
fn touch_inf(inf: &Path) {
    let mut text = std::fs::read_to_string(inf).expect("inf");
    text.push_str("\r\n; changed\r\n");
    std::fs::write(inf, text).expect("rewrite inf");
}

#[test]
fn one_pack_per_add_and_fully_replaced_packs_are_deleted() {
    let (_tmp, src, store) = setup();
    // Two packages, one file for their manifests and node lists (issue 2: fewer files per add).
    let r = add(&store, &[src.join("vstor"), src.join("cnet")]);
    assert_eq!(r.added.len(), 2);
    assert_eq!(packs(&store), ["0000000001.pack"]);
    // Nothing changed: no pack written.
    assert_eq!(
        add(&store, &[src.join("vstor"), src.join("cnet")]).unchanged,
        2
    );
    assert_eq!(packs(&store), ["0000000001.pack"]);
    // vstor changes: a second pack with its new version; the first still holds cnet's.
    touch_inf(&src.join("vstor/vstor.inf"));
    let r = add(&store, &[src.join("vstor"), src.join("cnet")]);
    assert_eq!((r.replaced.len(), r.unchanged), (1, 1), "{r:?}");
    assert_eq!(packs(&store), ["0000000001.pack", "0000000002.pack"]);
    // cnet changes too: nothing current is left in the first pack, which goes.
    touch_inf(&src.join("cnet/cnet.inf"));
    let r = add(&store, &[src.join("vstor"), src.join("cnet")]);
    assert_eq!((r.replaced.len(), r.unchanged), (1, 1), "{r:?}");
    assert_eq!(packs(&store), ["0000000002.pack", "0000000003.pack"]);
    // Every package still reads back whole, from the pack that holds its current version.
    let listed = store.list().expect("list");
    assert_eq!(listed.len(), 2);
    for m in &listed {
        assert_eq!(store.nodes(&m.info.id).expect("nodes").len(), m.node_count);
    }
    let v = store.verify().expect("verify");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(
        store
            .index()
            .expect("index")
            .lookup("PCI\\VEN_1AF4&DEV_1004")
            .expect("lookup")
            .len(),
        1
    );
}

#[test]
fn a_store_of_schema_1_is_refused_and_converted_by_add() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let before = store.list().expect("list");
    let index_before = std::fs::read(store.root().join("index.bin")).expect("index");
    // Rewrite it as schema 1 wrote it: packages/<id>.json and packages/<id>.nodes, no packs/.
    let nodes: Vec<_> = before
        .iter()
        .map(|m| store.nodes(&m.info.id).expect("nodes"))
        .collect();
    let old = store.root().join("packages");
    std::fs::create_dir(&old).expect("packages/");
    for (m, nodes) in before.iter().zip(&nodes) {
        std::fs::write(
            old.join(format!("{}.json", m.info.id)),
            serde_json::to_vec(m).expect("manifest json"),
        )
        .expect("write manifest");
        std::fs::write(
            old.join(format!("{}.nodes", m.info.id)),
            serde_json::to_vec(nodes).expect("nodes json"),
        )
        .expect("write nodes");
    }
    std::fs::remove_dir_all(store.root().join("packs")).expect("drop packs/");
    // Read-only use is refused with what to do.
    let err = Store::open(store.root()).expect_err("schema 1 refused");
    assert!(matches!(err, StoreError::OldSchema { .. }), "{err:?}");
    assert!(err.to_string().contains("infuse store add"), "{err}");
    assert!(matches!(store.list(), Err(StoreError::OldSchema { .. })));
    // `add` (no sources) converts it: the same manifests, one pack, packages/ gone.
    let reopened = Store::create(store.root()).expect("create on an old store");
    let r = add(&reopened, &[]);
    assert!(!r.index_rebuilt, "same manifests, same index state");
    assert!(!old.exists());
    assert_eq!(packs(&reopened), ["0000000001.pack"]);
    let after = Store::open(store.root())
        .expect("open")
        .list()
        .expect("list");
    assert_eq!(
        serde_json::to_value(&after).expect("json"),
        serde_json::to_value(&before).expect("json")
    );
    assert_eq!(
        std::fs::read(store.root().join("index.bin")).expect("index"),
        index_before
    );
    let v = reopened.verify().expect("verify");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}

/// A pack as pack schema 1 (store schema 2) wrote it: node lists as JSON, each manifest's
/// `nodes_sha256` the hash of that JSON.
fn json_nodes_pack(store: &Store) -> Vec<u8> {
    use sha2::Digest;
    let mut out = b"infuse-pack\n".to_vec();
    out.extend(1u32.to_le_bytes());
    let manifests = store.list().expect("list");
    for m in &manifests {
        let nodes = serde_json::to_vec(&store.nodes(&m.info.id).expect("nodes")).expect("json");
        let mut m = m.clone();
        m.nodes_sha256 = hex_of(&sha2::Sha256::digest(&nodes));
        let manifest = serde_json::to_vec(&m).expect("manifest json");
        out.extend((manifest.len() as u32).to_le_bytes());
        out.extend(&manifest);
        out.extend((nodes.len() as u64).to_le_bytes());
        out.extend(&nodes);
    }
    out.extend(b"end!");
    out.extend((manifests.len() as u32).to_le_bytes());
    let digest = sha2::Sha256::digest(&out);
    out.extend(digest);
    out
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_store_of_schema_2_is_refused_and_converted_by_add() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let before = store.list().expect("list");
    let pack = store.root().join("packs/0000000001.pack");
    let binary_len = std::fs::metadata(&pack).expect("pack").len();
    let old = json_nodes_pack(&store);
    assert!(old.len() as u64 > binary_len, "JSON node lists are larger");
    std::fs::write(&pack, &old).expect("write a schema 1 pack");
    // Read-only use is refused with what to do, naming the schema found.
    let err = Store::open(store.root()).expect_err("schema 2 refused");
    assert!(
        matches!(err, StoreError::OldSchema { schema: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("infuse store add"), "{err}");
    assert!(matches!(store.list(), Err(StoreError::OldSchema { .. })));
    assert!(matches!(store.verify(), Err(StoreError::OldSchema { .. })));
    // `add` (no sources) converts it: the same packages and nodes, one binary pack, the old
    // pack gone; the manifests are again those the index was built from (node list hashes of
    // the binary encoding), so the index stands.
    let index_before = std::fs::read(store.root().join("index.bin")).expect("index");
    let r = add(&store, &[]);
    assert!(!r.index_rebuilt);
    assert_eq!(
        std::fs::read(store.root().join("index.bin")).expect("index"),
        index_before
    );
    assert_eq!(packs(&store), ["0000000002.pack"]);
    let after = Store::open(store.root())
        .expect("open")
        .list()
        .expect("list");
    assert_eq!(
        serde_json::to_value(&after).expect("json"),
        serde_json::to_value(&before).expect("json"),
        "same manifests, node list hashes of the binary encoding again"
    );
    for m in &after {
        assert_eq!(store.nodes(&m.info.id).expect("nodes").len(), m.node_count);
    }
    let v = store.verify().expect("verify");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    // A second add has nothing to convert.
    let r = add(&store, &[]);
    assert!(!r.index_rebuilt);
    assert_eq!(packs(&store), ["0000000002.pack"]);
}

#[test]
fn a_damaged_node_list_is_an_error_naming_the_pack() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let m = store.list().expect("list").remove(0);
    let pack = store.root().join("packs/0000000001.pack");
    let mut bytes = std::fs::read(&pack).expect("pack");
    // The first record's node list starts after its manifest and the two length fields; its
    // first byte is the node count (a varint): make it claim far more nodes than there are.
    let mlen = u32::from_le_bytes(bytes[16..20].try_into().expect("4")) as usize;
    let nodes_at = 20 + mlen + 8;
    bytes[nodes_at] = 0x7f;
    std::fs::write(&pack, &bytes).expect("damage");
    let err = store.nodes(&m.info.id).expect_err("damaged node list");
    let msg = err.to_string();
    assert!(
        msg.contains("0000000001.pack") && msg.contains("node list"),
        "{msg}"
    );
    let v = store.verify().expect("verify");
    assert!(
        v.problems.iter().any(|p| p.contains("checksum")),
        "{:?}",
        v.problems
    );
}

#[test]
fn a_damaged_pack_is_an_error_naming_the_file() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let pack = store.root().join("packs/0000000001.pack");
    let bytes = std::fs::read(&pack).expect("pack");
    // Truncated (a pack is renamed into place whole, so only outside damage does this).
    std::fs::write(&pack, &bytes[..bytes.len() - 7]).expect("truncate");
    let err = store.list().expect_err("damaged pack");
    assert!(matches!(err, StoreError::Pack(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("0000000001.pack") && msg.contains("damaged"),
        "{msg}"
    );
    // One flipped bit in the checksum: the manifests still read, verify finds it.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    std::fs::write(&pack, &flipped).expect("flip");
    let v = store.verify().expect("verify");
    assert!(
        v.problems.iter().any(|p| p.contains("pack checksum")),
        "{:?}",
        v.problems
    );
}

#[test]
fn a_missing_file_that_appears_completes_the_package() {
    let (_tmp, src, store) = setup();
    let r = add(&store, std::slice::from_ref(&src));
    assert_eq!(r.incomplete.len(), 1);
    assert!(r.incomplete[0].starts_with("caudio.inf_"));
    let index = store.index().expect("index");
    let nodes = index
        .lookup("HDAUDIO\\FUNC_01&VEN_10EC&DEV_0269")
        .expect("lookup");
    assert_eq!(nodes.len(), 1, "incomplete packages are still indexed");
    assert!(!nodes[0].package.complete);
    let m = store.show("caudio.inf").expect("show");
    assert!(
        m.diagnostics
            .iter()
            .any(|d| d.starts_with("caudio.inf:") && d.contains("caudio.sys"))
    );
    std::fs::write(src.join("caudio/CAUDIO.SYS"), b"now here\n").expect("write payload");
    let r = add(&store, std::slice::from_ref(&src));
    assert_eq!(r.replaced.len(), 1);
    assert!(r.incomplete.is_empty());
    let index = store.index().expect("index");
    // Found case-insensitively, as Windows compares file names.
    assert!(
        index.lookup("HDAUDIO\\FUNC_01&VEN_10EC").expect("lookup")[0]
            .package
            .complete
    );
}

#[test]
fn an_interrupted_add_leaves_a_usable_store() {
    let (tmp, src, store) = setup();
    add(&store, &[src.join("vstor")]);
    let old_index = std::fs::read(store.root().join("index.bin")).expect("index");
    // Simulate a kill after the new manifests were renamed into place but before the new index
    // was: run an add, then put the previous index back, and leave a half-written temp file.
    add(&store, &[src.join("cnet")]);
    std::fs::write(store.root().join("index.bin"), &old_index).expect("restore old index");
    std::fs::write(store.root().join("tmp/.tmpHALF"), b"partial obj").expect("leftover");
    // Readers still get a whole, consistent index (the old one).
    let index = Index::open(store.root()).expect("old index opens");
    assert_eq!(index.package_count(), 1);
    assert_eq!(
        index
            .lookup("PCI\\VEN_1AF4&DEV_1004")
            .expect("lookup")
            .len(),
        1
    );
    assert!(
        index
            .lookup("PCI\\VEN_8086&DEV_15B8")
            .expect("lookup")
            .is_empty()
    );
    let v = store.verify().expect("verify");
    assert!(
        v.problems.iter().any(|p| p.contains("index is stale")),
        "{:?}",
        v.problems
    );
    // The next add, even with no sources, notices and rebuilds; leftovers are cleared.
    let r = add(&store, &[]);
    assert!(r.index_rebuilt);
    assert_eq!(r.packages, 2);
    assert!(!store.root().join("tmp/.tmpHALF").exists());
    let v = store.verify().expect("verify");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    drop(tmp);
}

#[test]
fn a_second_writer_is_refused_while_the_lock_is_held() {
    let (_tmp, src, store) = setup();
    add(&store, &[src.join("cchip")]);
    let holder = std::fs::OpenOptions::new()
        .write(true)
        .open(store.root().join("store.lock"))
        .expect("lock file");
    holder.lock().expect("take lock");
    match store.add(&[src.join("vstor")], &mut |_| {}) {
        Err(StoreError::Locked { path }) => assert!(path.ends_with("store.lock")),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(matches!(store.verify(), Err(StoreError::Locked { .. })));
    // Readers do not need the lock.
    assert_eq!(store.index().expect("index").package_count(), 1);
    holder.unlock().expect("unlock");
    assert_eq!(add(&store, &[src.join("vstor")]).added.len(), 1);
}

#[test]
fn cabinets_made_by_gcab_are_packages() {
    let (tmp, src, store) = setup();
    let cab = tmp.path().join("vstor.cab");
    let status = Command::new("gcab")
        .current_dir(src.join("vstor"))
        .args(["-c", "-z"])
        .arg(&cab)
        .args([
            "vstor.inf",
            "vstor.cat",
            "amd64/vstor.sys",
            "amd64/contoso_util.dll",
        ])
        .status()
        .expect("gcab is installed (.ci/setup)");
    assert!(status.success());
    // The independent reader agrees the cabinet is sound.
    let out = Command::new("cabextract")
        .arg("-t")
        .arg(&cab)
        .output()
        .expect("cabextract");
    assert!(String::from_utf8_lossy(&out.stdout).contains("All done, no errors"));
    let r = add(&store, std::slice::from_ref(&cab));
    assert_eq!(r.added.len(), 1);
    assert!(r.incomplete.is_empty(), "{:?}", r.diagnostics);
    let m = store.show("vstor.inf").expect("show");
    assert!(m.info.source.ends_with("vstor.cab!vstor.inf"));
    assert_eq!(m.files.iter().filter(|f| f.sha256.is_some()).count(), 4);
    // Same bytes as the folder copy: adding the folder stores nothing new.
    let r2 = add(&store, &[src.join("vstor")]);
    assert_eq!((r2.files_stored, r2.files_deduplicated), (0, 4));
    assert_eq!(add(&store, &[cab]).unchanged, 1);
}

fn hostile_cab(path: &Path, name: &str) {
    let mut b = cab::CabinetBuilder::new();
    b.add_folder(cab::CompressionType::None).add_file(name);
    let file = std::fs::File::create(path).expect("create cab");
    let mut w = b.build(file).expect("build cab");
    while let Some(mut f) = w.next_file().expect("next") {
        use std::io::Write;
        f.write_all(b"[Version]\r\nSignature=$Windows NT$\r\n")
            .expect("write");
    }
    w.finish().expect("finish");
}

#[test]
fn hostile_cabinet_entry_names_are_refused() {
    let (tmp, _src, store) = setup();
    for (name, expect) in [
        ("..\\evil.inf", "`..`"),
        ("sub\\..\\..\\evil.inf", "`..`"),
        ("\\abs\\evil.inf", "absolute"),
        ("C:\\evil.inf", "drive"),
        ("x.inf:ads", "stream"),
        ("sub\\NUL\\x.inf", "device"),
    ] {
        let cab = tmp.path().join("hostile.cab");
        hostile_cab(&cab, name);
        match store.add(std::slice::from_ref(&cab), &mut |_| {}) {
            Err(e @ StoreError::Cab(_)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(expect) && msg.contains("hostile.cab"),
                    "{name}: {msg}"
                );
            }
            other => panic!("{name}: expected a refused entry, got {other:?}"),
        }
    }
    assert!(!tmp.path().join("evil.inf").exists());
}

#[test]
fn a_damaged_index_is_detected() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let path = store.root().join("index.bin");
    let good = std::fs::read(&path).expect("index");
    // Header: checked on open.
    let mut bad = good.clone();
    bad[20] ^= 0x40;
    std::fs::write(&path, &bad).expect("write");
    assert!(matches!(
        Index::open(store.root()),
        Err(IndexError::HeaderChecksum { .. })
    ));
    // Schema and magic.
    let mut bad = good.clone();
    bad[8] = 99;
    std::fs::write(&path, &bad).expect("write");
    assert!(matches!(
        Index::open(store.root()),
        Err(IndexError::Schema { found: 99, .. })
    ));
    std::fs::write(&path, b"not an index at all").expect("write");
    assert!(matches!(
        Index::open(store.root()),
        Err(IndexError::Magic { .. })
    ));
    // Body: found by verify.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    std::fs::write(&path, &bad).expect("write");
    let v = store.verify().expect("verify");
    assert!(
        v.problems.iter().any(|p| p.contains("body checksum")),
        "{:?}",
        v.problems
    );
    std::fs::write(&path, &good).expect("write");
    // A tampered object is found by re-hashing.
    let obj = objects(&store).into_iter().next().expect("an object");
    std::fs::write(&obj, b"tampered").expect("tamper");
    let v = store.verify().expect("verify");
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
}

#[test]
fn a_torn_object_is_rewritten_by_the_next_add_that_needs_it() {
    // Objects are written in place; one cut short (a kill mid-write) must not count as stored.
    let (tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let obj = objects(&store)
        .into_iter()
        .max_by_key(|o| std::fs::metadata(o).expect("object").len())
        .expect("an object");
    let whole = std::fs::read(&obj).expect("object");
    std::fs::write(&obj, &whole[..whole.len() / 2]).expect("tear");
    // The same packages from another folder: new package ids, the same payloads.
    let again = tmp.path().join("again");
    copy_dir(&src, &again);
    let r = add(&store, &[again]);
    assert!(
        r.files_stored >= 1,
        "the torn object is written again: {r:?}"
    );
    assert_eq!(std::fs::read(&obj).expect("object"), whole);
    let v = store.verify().expect("verify");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}

#[test]
fn nodes_carry_what_ranking_needs() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let index = store.index().expect("index");
    let nodes = index
        .lookup("PCI\\VEN_8086&DEV_15B8&SUBSYS_86721043")
        .expect("lookup");
    assert_eq!(nodes.len(), 3);
    let arm = nodes
        .iter()
        .find(|n| n.models_section.ends_with("22000"))
        .expect("arm64 node");
    assert_eq!(arm.match_kind, MatchKind::HardwareId);
    let d = arm.decoration.as_ref().expect("decorated");
    assert_eq!(
        (d.major, d.minor, d.build),
        (Some(10), Some(0), Some(22000))
    );
    assert_eq!(arm.install_section.as_deref(), Some("cnet_inst.NT"));
    assert_eq!(arm.feature_score, 0xF0);
    // DDInstall-level DriverVer overrides [Version] (windows-driver-internals.md §3.2).
    assert_eq!(
        arm.driver_ver.map(|v| (v.year, v.month, v.version)),
        Some((2023, 2, [1, 1, 0, 0]))
    );
    assert!(!arm.catalog_present, "cnet_arm64.cat is absent");
    let amd = nodes
        .iter()
        .find(|n| n.models_section == "Contoso.NTamd64")
        .expect("amd64 node");
    assert!(amd.catalog_present);
    assert_eq!(amd.package.class.as_deref(), Some("Net"));
    assert_eq!(amd.package.provider.as_deref(), Some("Contoso, Ltd."));
    let stor = index.lookup("pci\\ven_1af4&dev_1004").expect("lookup");
    assert_eq!(stor[0].match_kind, MatchKind::CompatibleId(0));
    assert!(stor[0].boot_critical.boot_start_service && stor[0].boot_critical.storage_class);
    let inf = store.inf_bytes(&stor[0].package.id).expect("stored inf");
    assert_eq!(
        inf,
        std::fs::read(src.join("vstor/vstor.inf")).expect("fixture inf")
    );
    let lpc = index.lookup("PCI\\VEN_8086&CC_0601").expect("lookup");
    assert_eq!(lpc[0].install_section.as_deref(), Some("Needs_NO_DRV"));
    assert_eq!(lpc[0].id, normalize_id("pci\\ven_8086&cc_0601"));
}

#[test]
fn flipped_bytes_in_the_index_body_never_panic_a_query() {
    let (_tmp, src, store) = setup();
    add(&store, std::slice::from_ref(&src));
    let path = store.root().join("index.bin");
    let good = std::fs::read(&path).expect("index");
    let ids = [
        "PCI\\VEN_1AF4&DEV_1004",
        "PCI\\VEN_8086&DEV_15B8&SUBSYS_86721043",
        "HDAUDIO\\FUNC_01&VEN_10EC",
        "PCI\\VEN_8086&CC_0601",
        "NOT\\THERE",
    ];
    // Every body byte (the header is checksummed at open), each flipped once: the index opens
    // and answers, or says it is damaged; nothing panics or reads out of bounds.
    let mut errors = 0;
    for at in 192..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0xA5;
        std::fs::write(&path, &bad).expect("write");
        // fst checks its own header and footer when the index opens.
        let Ok(index) = Index::open(store.root()) else {
            errors += 1;
            continue;
        };
        for id in ids {
            errors += usize::from(index.lookup(id).is_err());
        }
    }
    assert!(errors > 0, "some flips must be detected");
    std::fs::write(&path, &good).expect("restore");
}

#[test]
fn fixture_packages_index_the_same_in_every_encoding() {
    // STYLE.md: every INF fixture also runs as CRLF, LF, UTF-16LE with BOM and UTF-8 with BOM.
    let mut first: std::collections::HashMap<&str, Vec<infuse_driver_store::store::NodeEntry>> =
        std::collections::HashMap::new();
    for variant in ["lf", "crlf", "utf-16le-bom", "utf-8-bom"] {
        let (_tmp, src, store) = setup();
        for pkg in ["vstor", "cnet", "cchip"] {
            let inf = src.join(pkg).join(format!("{pkg}.inf"));
            let lf = std::fs::read_to_string(&inf)
                .expect("inf")
                .replace("\r\n", "\n");
            let crlf = lf.replace('\n', "\r\n");
            let bytes: Vec<u8> = match variant {
                "lf" => lf.into_bytes(),
                "crlf" => crlf.into_bytes(),
                "utf-16le-bom" => [0xFF, 0xFE]
                    .into_iter()
                    .chain(crlf.encode_utf16().flat_map(u16::to_le_bytes))
                    .collect(),
                _ => [0xEF, 0xBB, 0xBF]
                    .into_iter()
                    .chain(crlf.into_bytes())
                    .collect(),
            };
            std::fs::write(&inf, bytes).expect("rewrite inf");
            let r = add(&store, &[src.join(pkg)]);
            assert!(
                r.incomplete.is_empty(),
                "{variant} {pkg}: {:?}",
                r.diagnostics
            );
            let nodes = store.nodes(&r.added[0]).expect("nodes");
            assert!(!nodes.is_empty(), "{variant} {pkg}");
            let want = first.entry(pkg).or_insert_with(|| nodes.clone());
            assert_eq!(want, &nodes, "{variant} {pkg}");
        }
    }
}

/// The add that [`a_killed_add_leaves_a_store_that_the_next_add_repairs`] kills: run in a child
/// process (this test binary again), and a no-op when run without its environment.
#[test]
#[ignore = "run as a child process by a_killed_add_leaves_a_store_that_the_next_add_repairs"]
fn killed_add_child() {
    let (Some(store), Some(src)) = (
        std::env::var_os("INFUSE_KILLED_ADD_STORE"),
        std::env::var_os("INFUSE_KILLED_ADD_SOURCE"),
    ) else {
        return;
    };
    let store = Store::create(Path::new(&store)).expect("create store");
    store.add(&[PathBuf::from(src)], &mut |_| {}).expect("add");
}

#[test]
fn a_killed_add_leaves_a_store_that_the_next_add_repairs() {
    // Many packages with payloads so that kills land in every phase (objects, the pack, its
    // rename, the index); whatever the moment, the store must stay readable and be repaired.
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let fixture = std::fs::read_to_string(fixtures().join("vstor/vstor.inf")).expect("fixture");
    for i in 0..150 {
        let dir = src.join(format!("p{i:03}"));
        std::fs::create_dir_all(dir.join("amd64")).expect("mkdir");
        let inf = fixture.replace("DEV_1048", &format!("DEV_{:04X}", 0x2000 + i));
        std::fs::write(dir.join("vstor.inf"), inf).expect("inf");
        std::fs::write(dir.join("amd64/vstor.sys"), vec![i as u8; 200_000]).expect("payload");
        std::fs::write(dir.join("amd64/contoso_util.dll"), b"shared").expect("payload");
    }
    let store_dir = tmp.path().join("store");
    let exe = std::env::current_exe().expect("test binary");
    for delay_ms in [5, 20, 60, 150, 400, 900] {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "killed_add_child"])
            .env("INFUSE_KILLED_ADD_STORE", &store_dir)
            .env("INFUSE_KILLED_ADD_SOURCE", &src)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Readers see whole packs and a whole index, or none; never a torn one.
        if let Ok(store) = Store::open(&store_dir) {
            let listed = store.list().expect("packs readable after a kill");
            for m in &listed {
                store
                    .nodes(&m.info.id)
                    .expect("node list readable after a kill");
            }
        }
        if store_dir.join("index.bin").exists() {
            Index::open(&store_dir).expect("index whole after a kill");
        }
    }
    let store = Store::create(&store_dir).expect("store");
    let r = add(&store, std::slice::from_ref(&src));
    assert_eq!(r.packages, 150);
    let v = store.verify().expect("verify");
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    let found = store
        .index()
        .expect("index")
        .lookup("PCI\\VEN_1AF4&DEV_2095")
        .expect("lookup");
    assert_eq!(found.len(), 1);
}
