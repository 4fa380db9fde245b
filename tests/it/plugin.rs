//! End-to-end tests of the plugin host through the real binary: `infuse plugin check`, and
//! `infuse match --plugins` with the example and hostile plugins of `plugins/` (built once per
//! run by `infuse_tests::plugins`).
//!
//! The store holds two copies of the fixture package `cnet` (Contoso's network driver for
//! PCI\VEN_8086&DEV_15B8&SUBSYS_86721043): the original (DDInstall DriverVer 02/20/2023,1.1.0.0)
//! and `cnet10`, the same INF with DriverVer 03/01/2023,1.0.0.0. Both rank 0x00FF0000-ish
//! equally (same signature, feature score and identifier position), so Windows picks the newer
//! DriverVer date, `cnet10` (windows-driver-internals.md §3.2: lowest rank, then newest date).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use infuse_tests::plugins::built_plugin;
use infuse_tests::run::copy_dir;
use infuse_tests::{infuse, repo_root};
use serde_json::Value;

const HWID: &str = r"PCI\VEN_8086&DEV_15B8&SUBSYS_86721043";

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    store: PathBuf,
    profile: PathBuf,
    cache: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_path_buf();
    let cnet = repo_root().join("driver-store/fixtures/packages/cnet");
    let src = root.join("src");
    copy_dir(&cnet, &src.join("cnet"));
    copy_dir(&cnet, &src.join("cnet10"));
    let inf = src.join("cnet10/cnet.inf");
    let text = std::fs::read_to_string(&inf).expect("read cnet.inf");
    assert!(
        text.contains("02/20/2023,1.1.0.0"),
        "fixture cnet.inf changed"
    );
    std::fs::write(
        &inf,
        text.replace("02/20/2023,1.1.0.0", "03/01/2023,1.0.0.0"),
    )
    .expect("write cnet10");
    let store = root.join("store");
    let out = infuse()
        .args(["store", "add"])
        .arg(&store)
        .arg(&src)
        .output()
        .expect("run store add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile = root.join("machine.toml");
    std::fs::write(
        &profile,
        format!("[[device]]\nhardware_ids = ['{HWID}', 'PCI\\VEN_8086&DEV_15B8']\n"),
    )
    .expect("write profile");
    Fixture {
        cache: root.join("plugin-cache"),
        _tmp: tmp,
        root,
        store,
        profile,
    }
}

impl Fixture {
    fn run_match(&self, plugins: Option<&Path>, extra: &[&str]) -> Output {
        let mut cmd = infuse();
        cmd.env("INFUSE_CACHE_DIR", self.root.join("user-cache"))
            .arg("match")
            .arg("--store")
            .arg(&self.store)
            .arg("--profile")
            .arg(&self.profile)
            .args(["--os", "10.0.22631", "--arch", "amd64"])
            .args(extra);
        if let Some(p) = plugins {
            cmd.arg("--plugins")
                .arg(p)
                .arg("--plugin-cache")
                .arg(&self.cache);
        }
        cmd.output().expect("run infuse match")
    }

    fn match_json(&self, plugins: Option<&Path>) -> Value {
        let out = self.run_match(plugins, &["--json"]);
        assert!(
            out.status.success(),
            "match failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("match --json prints JSON")
    }

    /// Every file under the fixture root except the plugin compile cache, with its bytes.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, skip: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p == skip {
                    continue;
                }
                if p.is_dir() {
                    walk(&p, skip, out);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root, &self.cache, &mut out);
        out
    }
}

fn device(report: &Value) -> &Value {
    report["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["device"]["hardware_ids"][0] == HWID)
        .expect("the cnet device is in the report")
}

/// The selected candidate's package source folder (`cnet` or `cnet10`), via its DriverVer.
fn winner_version(d: &Value) -> String {
    let w = &d["candidates"][0];
    assert_eq!(w["status"], "selected", "{d:#}");
    w["node"]["driver_ver"]
        .as_str()
        .expect("winner has a DriverVer")
        .to_owned()
}

#[test]
fn windows_picks_the_newer_date_without_plugins() {
    let f = fixture();
    let d = device(&f.match_json(None)).clone();
    // §3.2: equal rank, so the newer DriverVer date (03/01/2023, version 1.0.0.0) wins.
    assert_eq!(winner_version(&d), "03/01/2023,1.0.0.0");
    assert!(d.get("plugin_failures").is_none());
}

#[test]
fn vendor_policy_blocks_a_version_and_explain_says_why() {
    let f = fixture();
    let plugin = built_plugin("vendor-policy");
    let report = f.match_json(Some(&plugin));
    let d = device(&report);
    // plugins/vendor-policy/plugin.toml: block 1.0.0.0, prefer the 1.1. branch.
    assert_eq!(winner_version(d), "02/20/2023,1.1.0.0");
    // Every node of the blocked package that was eligible is now excluded by the plugin (its
    // nodes of superseded decorations stay excluded for their own reason).
    let blocked: Vec<&Value> = d["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter(|c| c["node"]["driver_ver"] == "03/01/2023,1.0.0.0")
        .collect();
    assert!(blocked.iter().all(|c| c["status"] == "excluded"), "{d:#}");
    let rejected = blocked
        .iter()
        .find(|c| c["exclusion"]["reason"] == "plugin")
        .expect("a candidate rejected by the plugin");
    assert_eq!(rejected["exclusion"]["plugin"], "vendor-policy");
    assert!(
        rejected["exclusion"]["why"]
            .as_str()
            .is_some_and(|w| w.contains("1.0.0.0 is blocked") && w.contains("CA-2024-07")),
        "{rejected:#}"
    );
    assert_eq!(d["candidates"][0]["plugin_notes"][0]["action"], "prefer");
    assert_eq!(report["plugins"][0]["ok"], true);
    assert_eq!(report["plugins"][0]["name"], "vendor-policy");

    let out = f.run_match(Some(&plugin), &["--explain"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("# plugin: vendor-policy 0.1.0"), "{text}");
    assert!(
        text.contains("rejected by plugin vendor-policy: version 1.0.0.0 is blocked"),
        "{text}"
    );
    assert!(
        text.contains("plugin vendor-policy prefers: preferred branch 1.1.x"),
        "{text}"
    );
}

/// (plugin, the typed error `match --json` reports for the device), from plugins/hostile/README.md.
/// (plugin, the typed errors `match --json` may report for the device), from
/// plugins/hostile/README.md. `huge-output` builds 100 MB of reasons against a 1 s wall-clock
/// deadline: on a loaded machine the deadline can stop it before its output is refused, and
/// both are containment.
const HOSTILE_SELECT: &[(&str, &[&str])] = &[
    ("hostile-loop-forever", &["deadline"]),
    ("hostile-burn-fuel", &["out_of_fuel"]),
    ("hostile-memory-bomb", &["memory"]),
    ("hostile-deep-recursion", &["trap"]),
    ("hostile-huge-output", &["invalid_output", "deadline"]),
    ("hostile-panic", &["trap"]),
];

#[test]
fn hostile_plugins_are_contained_per_device() {
    let f = fixture();
    let before = f.snapshot();
    for (name, kinds) in HOSTILE_SELECT {
        let report = f.match_json(Some(&built_plugin(name)));
        let d = device(&report);
        // The device keeps Windows' choice, marked with the plugin's failure.
        assert_eq!(winner_version(d), "03/01/2023,1.0.0.0", "{name}");
        let failure = &d["plugin_failures"][0];
        assert!(
            kinds.iter().any(|k| failure["kind"] == *k),
            "{name}: expected {kinds:?}, got {failure:#}"
        );
        assert_eq!(failure["plugin"], *name);
        assert_eq!(report["summary"]["covered"], 1, "{name}: the run completes");
        // --strict turns the failure into a failed run.
        let strict = f.run_match(Some(&built_plugin(name)), &["--strict"]);
        assert_eq!(strict.status.code(), Some(1), "{name} with --strict");
        assert!(String::from_utf8_lossy(&strict.stderr).contains("--strict"));
    }
    // The trap carries the tail of the plugin's stderr (the panic message), and the text
    // report names the failure under the device, with Windows' choice still shown.
    let out = f.run_match(Some(&built_plugin("hostile-panic")), &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("plugin hostile-panic failed (trap), Windows' choice kept"),
        "{text}"
    );
    assert!(text.contains("  → cnet.inf"), "{text}");
    let report = f.match_json(Some(&built_plugin("hostile-panic")));
    let message = device(&report)["plugin_failures"][0]["message"].clone();
    assert!(
        message.as_str().is_some_and(|m| m.contains("panicked")),
        "{message:#}"
    );
    assert_eq!(before, f.snapshot(), "a hostile plugin changed a file");
}

#[test]
fn an_undeclared_import_is_refused_before_instantiation() {
    let f = fixture();
    let plugin = built_plugin("hostile-undeclared-import");
    let report = f.match_json(Some(&plugin));
    let status = &report["plugins"][0];
    assert_eq!(status["ok"], false);
    assert_eq!(status["error_kind"], "refused_import");
    let err = status["error"].as_str().expect("error text");
    assert!(
        err.contains("wasi:filesystem") || err.contains("wasi:sockets"),
        "{err}"
    );
    // Not loaded, so not run: the device has Windows' choice and no plugin failure.
    let d = device(&report);
    assert_eq!(winner_version(d), "03/01/2023,1.0.0.0");
    assert!(d.get("plugin_failures").is_none());

    let out = infuse()
        .args(["plugin", "check", "--json", "--plugin-cache"])
        .arg(&f.cache)
        .arg(&plugin)
        .output()
        .expect("run plugin check");
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["error_kind"], "refused_import");
}

#[test]
fn plugin_check_validates_hash_and_caches_the_compiled_component() {
    let f = fixture();
    let plugin = built_plugin("vendor-policy");
    let check = |dir: &Path| {
        let out = infuse()
            .args(["plugin", "check", "--json", "--plugin-cache"])
            .arg(&f.cache)
            .arg(dir)
            .output()
            .expect("run plugin check");
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        (out.status.code(), v[0].clone())
    };
    let (code, first) = check(&plugin);
    assert_eq!(code, Some(0), "{first:#}");
    assert_eq!(first["info"]["hooks"][0], "select");
    assert_eq!(first["compiled"], true);
    // Imports are all on the allowlist: no filesystem, sockets or http.
    for i in first["imports"].as_array().expect("imports") {
        let i = i.as_str().expect("import name");
        assert!(
            i.starts_with("infuse:plugin/")
                || i.starts_with("wasi:io/")
                || i.starts_with("wasi:cli/")
                || i.starts_with("wasi:clocks/")
                || i.starts_with("wasi:random/"),
            "{i}"
        );
    }
    let (_, second) = check(&plugin);
    assert_eq!(
        second["compiled"], false,
        "second load comes from the cache"
    );

    // A component that is not the one plugin.toml names by hash is refused.
    let tampered = f.root.join("tampered");
    copy_dir(&plugin, &tampered);
    let wasm = tampered.join("vendor_policy.wasm");
    let mut bytes = std::fs::read(&wasm).expect("read component");
    bytes.push(0);
    std::fs::write(&wasm, bytes).expect("write component");
    let (code, v) = check(&tampered);
    assert_eq!(code, Some(1));
    assert_eq!(v["error_kind"], "manifest");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("sha256")),
        "{v:#}"
    );
}

#[test]
fn plugin_new_writes_a_skeleton_that_builds_and_passes_check() {
    let f = fixture();
    let out = infuse()
        .args(["plugin", "new", "contoso-policy", "--dir"])
        .arg(&f.root)
        .output()
        .expect("run plugin new");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = f.root.join("contoso-policy");
    // Built like the plugins of plugins/, sharing their target dir (and compiled dependencies).
    infuse_tests::plugins::require_wasm_target();
    let target = infuse_tests::plugins::test_target_dir().join("plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "-q", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "the skeleton does not build");
    let wasm = target.join("wasm32-wasip2/release/contoso_policy.wasm");
    std::fs::copy(&wasm, dir.join("contoso_policy.wasm")).expect("copy component");
    let check = || {
        infuse()
            .args(["plugin", "check", "--plugin-cache"])
            .arg(&f.cache)
            .arg(&dir)
            .output()
            .expect("run plugin check")
    };
    // The skeleton's sha256 is empty: check refuses it and names the hash to put there.
    let out = check();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let sha = text
        .split("hashes to ")
        .nth(1)
        .and_then(|t| t.get(..64))
        .unwrap_or_else(|| panic!("no hash in: {text}"))
        .to_owned();
    let manifest = dir.join("plugin.toml");
    let m = std::fs::read_to_string(&manifest).expect("read plugin.toml");
    std::fs::write(
        &manifest,
        m.replace("sha256 = \"\"", &format!("sha256 = \"{sha}\"")),
    )
    .expect("write plugin.toml");
    let out = check();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: contoso-policy 0.1.0"));
}
