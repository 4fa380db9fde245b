//! End-to-end tests of `infuse store`.

use std::path::PathBuf;
use std::process::Output;

use infuse_tests::run::{json, s};
use infuse_tests::{corpus_dir, infuse, repo_root};

fn fixtures() -> PathBuf {
    repo_root().join("driver-store/fixtures/packages")
}

fn run(args: &[&str]) -> Output {
    infuse().args(args).output().expect("run infuse")
}

#[test]
fn add_query_list_show_verify_on_the_fixture_packages() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let fx = fixtures();
    let out = run(&["store", "add", s(&store), s(&fx), "--json"]);
    // stderr is not a terminal here: no progress bar, and no warnings at the default level.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["added"].as_array().map(Vec::len), Some(4));
    assert_eq!(report["files_deduplicated"], 1);
    assert_eq!(report["incomplete"].as_array().map(Vec::len), Some(1));
    // Again: nothing to do.
    let again = json(&run(&["store", "add", s(&store), s(&fx), "--json"]));
    assert_eq!(again["unchanged"], 4);
    assert_eq!(again["index_rebuilt"], false);

    // IDs compare case-insensitively (windows-driver-internals.md §4).
    let q = json(&run(&[
        "store",
        "query",
        s(&store),
        "pci\\ven_1af4&dev_1004",
        "PCI\\VEN_8086&DEV_15B8&SUBSYS_86721043",
        "--json",
    ]));
    let queries = q["queries"].as_array().expect("queries");
    let stor = &queries[0]["nodes"][0];
    assert_eq!(stor["package"]["inf_name"], "vstor.inf");
    assert_eq!(stor["match"]["kind"], "compatible_id");
    assert_eq!(stor["match"]["index"], 0);
    assert_eq!(stor["boot_critical"]["boot_start_service"], true);
    assert_eq!(stor["install_section"], "vstor_inst.NTamd64");
    let net = queries[1]["nodes"].as_array().expect("nodes");
    assert_eq!(net.len(), 3);
    assert!(net.iter().all(|n| n["match"]["kind"] == "hardware_id"));
    assert!(
        net.iter()
            .any(|n| n["decoration"]["build"] == 22000 && n["arch"] == "arm64")
    );

    // Human output and grep-like exit codes.
    let out = run(&["store", "query", s(&store), "PCI\\VEN_8086&DEV_A323"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cchip.inf_") && text.contains("install=Needs_NO_DRV"),
        "{text}"
    );
    let miss = run(&["store", "query", s(&store), "PCI\\VEN_FFFF&DEV_FFFF"]);
    assert_eq!(miss.status.code(), Some(1));

    let list = json(&run(&["store", "list", s(&store), "--json"]));
    let pkgs = list["packages"].as_array().expect("packages");
    assert_eq!(pkgs.len(), 4);
    assert!(
        pkgs.iter()
            .any(|p| p["package"]["complete"] == false && p["package"]["inf_name"] == "caudio.inf")
    );

    let show = json(&run(&["store", "show", s(&store), "cnet.inf", "--json"]));
    assert_eq!(show["info"]["class"], "Net");
    let files: Vec<&str> = show["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(
        files,
        [
            "cnet.inf",
            "x64/cnet.sys",
            "common/contoso_util.dll",
            "arm64/cnet.sys",
            "cnet.cat"
        ]
    );
    let nope = run(&["store", "show", s(&store), "nothing.inf"]);
    assert!(!nope.status.success());
    assert!(String::from_utf8_lossy(&nope.stderr).contains("hint: `infuse store list STORE`"));

    let v = json(&run(&["store", "verify", s(&store), "--json"]));
    assert_eq!(v["problems"].as_array().map(Vec::len), Some(0));
    // Damage one stored file: verify fails and says which.
    let objects = store.join("objects");
    let obj = std::fs::read_dir(&objects)
        .expect("objects")
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).expect("fan-out dir").flatten())
        .next()
        .expect("an object");
    std::fs::write(obj.path(), b"damaged").expect("damage");
    let bad = run(&["store", "verify", s(&store)]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("problem: "));
}

#[test]
fn a_missing_source_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("no-such-folder");
    let out = run(&["store", "add", s(&tmp.path().join("store")), s(&missing)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-folder"));
}

#[test]
fn not_a_store_is_an_error_with_a_hint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(&["store", "query", s(tmp.path()), "X"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not an infuse store") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn corpus_store_finds_virtio_packages() {
    let Some(corpus) = corpus_dir() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let report = json(&run(&["store", "add", s(&store), s(&corpus), "--json"]));
    assert!(
        report["packages"].as_u64() > Some(1000),
        "{}",
        report["packages"]
    );
    let q = json(&run(&[
        "store",
        "query",
        s(&store),
        "PCI\\VEN_1AF4&DEV_1004",
        "PCI\\VEN_1AF4&DEV_1000",
        "--json",
    ]));
    for (i, inf) in [(0, "vioscsi.inf"), (1, "netkvm.inf")] {
        let nodes = q["queries"][i]["nodes"].as_array().expect("nodes");
        // The corpus ships INFs without payloads: the packages are incomplete but indexed.
        assert!(
            nodes.iter().any(|n| n["package"]["inf_name"]
                .as_str()
                .is_some_and(|name| name.to_lowercase().ends_with(inf))
                && n["package"]["complete"] == false),
            "{inf}: {nodes:?}"
        );
    }
}

#[test]
fn a_killed_add_leaves_a_store_that_the_next_add_repairs() {
    // Many packages so the kill lands mid-add; whatever the moment, the store must stay usable.
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    for i in 0..150 {
        let dir = src.join(format!("p{i:03}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let inf = std::fs::read_to_string(fixtures().join("vstor/vstor.inf")).expect("fixture");
        let inf = inf.replace("DEV_1048", &format!("DEV_{:04X}", 0x2000 + i));
        std::fs::write(dir.join("vstor.inf"), inf).expect("inf");
        std::fs::create_dir_all(dir.join("amd64")).expect("mkdir");
        std::fs::write(dir.join("amd64/vstor.sys"), vec![i as u8; 200_000]).expect("payload");
        std::fs::write(dir.join("amd64/contoso_util.dll"), b"shared").expect("payload");
    }
    let store = tmp.path().join("store");
    for delay_ms in [30, 120, 400] {
        let mut child = infuse()
            .args(["store", "add", s(&store), s(&src)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Readers see a whole index or none; never a torn one.
        if store.join("index.bin").exists() {
            let out = run(&[
                "store",
                "query",
                s(&store),
                "PCI\\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00",
            ]);
            assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
        }
    }
    let report = json(&run(&["store", "add", s(&store), s(&src), "--json"]));
    assert_eq!(report["packages"], 150);
    let v = json(&run(&["store", "verify", s(&store), "--json"]));
    assert_eq!(v["problems"].as_array().map(Vec::len), Some(0), "{v}");
    let q = json(&run(&[
        "store",
        "query",
        s(&store),
        "PCI\\VEN_1AF4&DEV_2095",
        "--json",
    ]));
    assert_eq!(q["queries"][0]["nodes"].as_array().map(Vec::len), Some(1));
}
