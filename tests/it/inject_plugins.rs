//! End-to-end tests of `infuse inject --plugins` through the real binary, on images built by
//! infuse's ImageBuilder, with the plugins of `plugins/` built for wasm32-wasip2
//! (`infuse_tests::plugins`), read back with hivexget.
//!
//! The store holds the fixture package `cnet` (Contoso's network driver, provider "Contoso,
//! Ltd.", models `PCI\VEN_8086&DEV_15B8&SUBSYS_86721043`, compatible `PCI\VEN_8086&DEV_15B8`,
//! catalog `cnet.cat`, a utility `common/contoso_util.dll`) and, where a test needs one, a
//! package of another vendor (`fab`, PCI\VEN_1234&DEV_0001, provider Fabrikam) that no example
//! plugin is routed to.

use std::path::{Path, PathBuf};
use std::process::Output;

use infuse::image::build::{ImageBuilder, Release};
use infuse_tests::plugins::built_plugin;
use infuse_tests::run::{copy_dir, hivexget, json, ok, raw, s};
use infuse_tests::{infuse, repo_root};
use serde_json::Value;

const CNET_HWID: &str = r"PCI\VEN_8086&DEV_15B8&SUBSYS_86721043";
/// The new SKU hwid-alias's plugin.toml adds (`[[config.alias]]`).
const NEW_HWID: &str = r"PCI\VEN_8086&DEV_15B8&SUBSYS_87001043";
const FAB_HWID: &str = r"PCI\VEN_1234&DEV_0001";

const FAB_INF: &str = "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=System\r\n\
ClassGuid={4d36e97d-e325-11ce-bfc1-08002be10318}\r\nProvider=%Fab%\r\nCatalogFile=fab.cat\r\n\
DriverVer=01/01/2024,1.0.0.0\r\n\r\n[Manufacturer]\r\n%Fab%=Fab,NTamd64\r\n\r\n[Fab.NTamd64]\r\n\
%Dev%=fab_inst, PCI\\VEN_1234&DEV_0001\r\n\r\n[fab_inst.NT]\r\nCopyFiles=fab_files\r\n\r\n\
[fab_files]\r\nfab.sys\r\n\r\n[fab_inst.NT.Services]\r\nAddService=fab,2,fab_svc\r\n\r\n[fab_svc]\r\n\
ServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%13%\\fab.sys\r\n\r\n\
[DestinationDirs]\r\nDefaultDestDir=13\r\n\r\n[SourceDisksNames]\r\n1=%Disk%\r\n\r\n\
[SourceDisksFiles]\r\nfab.sys=1\r\n\r\n[Strings]\r\nFab=\"Fabrikam\"\r\nDev=\"Fabrikam device\"\r\n\
Disk=\"Fabrikam disk\"\r\n";

struct Fixture {
    tmp: tempfile::TempDir,
    store: PathBuf,
    image: PathBuf,
    cache: PathBuf,
}

/// A store of `cnet` (and `fab` when asked, and `cnet10`, cnet with DriverVer 1.0.0.0 of a
/// later date, when asked), and a Windows 10 image built by infuse (with its sample inbox
/// packages when `inbox`).
fn fixture(fab: bool, cnet10: bool, inbox: bool) -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let cnet = repo_root().join("driver-store/fixtures/packages/cnet");
    copy_dir(&cnet, &src.join("cnet"));
    if cnet10 {
        copy_dir(&cnet, &src.join("cnet10"));
        let inf = src.join("cnet10/cnet.inf");
        let text = std::fs::read_to_string(&inf).unwrap();
        assert!(
            text.contains("02/20/2023,1.1.0.0"),
            "fixture cnet.inf changed"
        );
        std::fs::write(
            &inf,
            text.replace("02/20/2023,1.1.0.0", "03/01/2023,1.0.0.0"),
        )
        .unwrap();
    }
    if fab {
        let d = src.join("fab");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("fab.inf"), FAB_INF).unwrap();
        std::fs::write(d.join("fab.sys"), "fab driver\n".repeat(50)).unwrap();
        std::fs::write(d.join("fab.cat"), "fab catalog\n").unwrap();
    }
    let store = tmp.path().join("store");
    ok(&infuse()
        .args(["store", "add", s(&store), s(&src)])
        .output()
        .unwrap());
    let image = tmp.path().join("image");
    let mut b = ImageBuilder::new(Release::Win10);
    if inbox {
        b = b.sample_inbox();
    }
    b.build(&image).expect("build the test image");
    Fixture {
        cache: tmp.path().join("plugin-cache"),
        store,
        image,
        tmp,
    }
}

impl Fixture {
    fn profile(&self, devices: &[&[&str]]) -> PathBuf {
        let p = self.tmp.path().join("machine.toml");
        let mut text = String::new();
        for (i, ids) in devices.iter().enumerate() {
            text.push_str(&format!(
                "[[device]]\ninstance_id = '{}\\{i}'\nhardware_ids = [{}]\n",
                ids[0],
                ids.iter()
                    .map(|i| format!("'{i}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    fn inject(&self, profile: &Path, plugins: Option<&Path>, extra: &[&str]) -> Output {
        let mut cmd = infuse();
        cmd.args([
            "inject",
            "--image",
            s(&self.image),
            "--store",
            s(&self.store),
        ]);
        cmd.args(["--profile", s(profile)]);
        if let Some(p) = plugins {
            cmd.args(["--plugins", s(p), "--plugin-cache", s(&self.cache)]);
        }
        cmd.args(extra);
        cmd.output().expect("run infuse inject")
    }

    fn drivers(&self) -> PathBuf {
        self.image.join("Windows/System32/config/DRIVERS")
    }

    fn repo(&self, repository: &str) -> PathBuf {
        self.image
            .join("Windows/System32/DriverStore/FileRepository")
            .join(repository)
    }
}

/// A copy of a built plugin with `edit` applied to its plugin.toml (the sha256 covers the
/// component only).
fn configured(tmp: &Path, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let to = tmp.join("configured").join(name);
    copy_dir(&built_plugin(name), &to);
    let toml = to.join("plugin.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, edit(text)).unwrap();
    to
}

fn decisions(v: &Value) -> &Vec<Value> {
    v["decisions"].as_array().expect("decisions")
}

fn put_dests(v: &Value) -> Vec<String> {
    v["plan"]["files"]
        .as_array()
        .expect("plan files")
        .iter()
        .filter(|f| f["op"] == "put")
        .map(|f| f["dest"].as_str().unwrap().to_owned())
        .collect()
}

/// hivexget prints a DWORD as a (possibly signed) decimal number.
fn dword(text: &str) -> u32 {
    text.trim().parse::<i64>().expect("a number") as u32
}

/// hwid-alias adds the new SKU's ID to cnet's models: a device with only that ID gets cnet, the
/// injected INF lists the ID, and the DriverDatabase has `DeviceIds\<new ID>`
/// (windows-driver-internals.md §1.5: one key per ID with a value per published INF). The
/// edited package is not what cnet.cat signs: recorded unsigned (§3.1, SignerScore 0x80000000).
#[test]
fn hwid_alias_makes_a_new_sku_get_the_driver() {
    let f = fixture(false, false, false);
    let profile = f.profile(&[&[NEW_HWID]]);
    let plain = json(&f.inject(&profile, None, &["--plan", "--json"]));
    assert!(
        decisions(&plain).is_empty(),
        "no driver without the plugin: {plain:#}"
    );

    let alias = built_plugin("hwid-alias");
    let v = json(&f.inject(&profile, Some(&alias), &["--plan", "--json"]));
    let d = &decisions(&v)[0];
    assert_eq!(d["inf"], "cnet.inf", "{v:#}");
    assert_eq!(d["transformed_by"][0], "hwid-alias", "{v:#}");
    assert_eq!(d["needs_resigning"], true, "{v:#}");
    let t = &v["plugins"]["transformed"][0];
    assert_eq!(t["applied"][0]["edit"], "add_hardware_ids", "{v:#}");
    assert!(
        t["applied"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("new hardware line")
    );
    let repository = d["repository"].as_str().unwrap().to_owned();
    let text = String::from_utf8(
        ok(&f.inject(&profile, Some(&alias), &["--plan"]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(text.contains("transformed: "), "{text}");
    assert!(text.contains("needs re-signing"), "{text}");

    ok(&f.inject(&profile, Some(&alias), &[]));
    let inf = std::fs::read_to_string(f.repo(&repository).join("cnet.inf")).unwrap();
    assert!(inf.contains(NEW_HWID), "{inf}");
    let published = d["published"].as_str().unwrap();
    let key = format!(r"\DriverDatabase\DeviceIds\{NEW_HWID}");
    // The value named by the published INF exists (hivexget fails otherwise).
    hivexget(&f.drivers(), &key, published);
    let score = hivexget(
        &f.drivers(),
        &format!(r"\DriverDatabase\DriverPackages\{repository}"),
        "SignerScore",
    );
    assert_eq!(dword(&score), 0x8000_0000, "transformed = unsigned");
}

/// trim drops `*_util.dll`: the plan stages fewer files, the FileRepository folder lacks the
/// utility, and the INF no longer copies it.
#[test]
fn trim_drops_the_utility() {
    let f = fixture(false, false, false);
    let profile = f.profile(&[&[CNET_HWID]]);
    let plain = json(&f.inject(&profile, None, &["--plan", "--json"]));
    let trim = built_plugin("trim");
    let v = json(&f.inject(&profile, Some(&trim), &["--plan", "--json"]));
    let (before, after) = (&decisions(&plain)[0], &decisions(&v)[0]);
    assert!(
        after["files"].as_u64() < before["files"].as_u64(),
        "{before:#} vs {after:#}"
    );
    assert!(
        put_dests(&plain)
            .iter()
            .any(|d| d.ends_with("contoso_util.dll"))
    );
    assert!(
        !put_dests(&v)
            .iter()
            .any(|d| d.ends_with("contoso_util.dll")),
        "{v:#}"
    );
    assert_eq!(after["transformed_by"][0], "trim", "{v:#}");
    ok(&f.inject(&profile, Some(&trim), &[]));
    let repo = f.repo(after["repository"].as_str().unwrap());
    let files: Vec<String> = raw(&repo).into_keys().collect();
    assert!(files.iter().any(|p| p.ends_with("cnet.sys")), "{files:?}");
    assert!(
        !files.iter().any(|p| p.contains("contoso_util")),
        "{files:?}"
    );
    let inf = std::fs::read_to_string(repo.join("cnet.inf")).unwrap();
    assert!(!inf.contains("contoso_util.dll"), "{inf}");
}

/// On an image whose inbox e1d68x64.inf serves PCI\VEN_8086&DEV_15B8, the trimmed cnet ranks as
/// unsigned (0x80.., §3.1) and loses to the signed inbox driver (0x00..): the plan says so.
#[test]
fn a_transformed_package_that_loses_to_the_image_is_reported() {
    let f = fixture(false, false, true);
    let profile = f.profile(&[&[CNET_HWID, r"PCI\VEN_8086&DEV_15B8"]]);
    let plain = json(&f.inject(&profile, None, &["--plan", "--json"]));
    assert_eq!(
        decisions(&plain)[0]["inf"],
        "cnet.inf",
        "signed cnet wins: {plain:#}"
    );
    let v = json(&f.inject(&profile, Some(&built_plugin("trim")), &["--plan", "--json"]));
    assert!(decisions(&v).is_empty(), "{v:#}");
    let reason = v["skipped"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("e1d68x64.inf"), "{v:#}");
    assert!(reason.contains("ranks as unsigned"), "{v:#}");
}

/// vendor-policy blocks cnet 1.0.0.0 (which Windows would pick: same rank, newer date, §3.2):
/// inject picks the 1.1 branch instead.
#[test]
fn vendor_policy_changes_the_injected_package() {
    let f = fixture(false, true, false);
    let profile = f.profile(&[&[CNET_HWID]]);
    // Windows' ranking of the two, from `infuse match` on the same image: cnet10 (1.0.0.0) wins.
    let m = json(
        &infuse()
            .args(["match", "--store", s(&f.store), "--image", s(&f.image)])
            .args(["--profile", s(&profile), "--json"])
            .output()
            .unwrap(),
    );
    let cands = m["devices"][0]["candidates"]
        .as_array()
        .expect("candidates");
    let by_version = |ver: &str| -> String {
        cands
            .iter()
            .find(|c| {
                c["node"]["driver_ver"]
                    .as_str()
                    .is_some_and(|d| d.contains(ver))
            })
            .and_then(|c| c["node"]["package"].as_str())
            .unwrap_or_else(|| panic!("no candidate {ver}: {m:#}"))
            .to_owned()
    };
    let (v10, v11) = (by_version("1.0.0.0"), by_version("1.1.0.0"));
    let plain = json(&f.inject(&profile, None, &["--plan", "--json"]));
    assert_eq!(decisions(&plain)[0]["package"], v10.as_str(), "{plain:#}");
    let policy = built_plugin("vendor-policy");
    let v = json(&f.inject(&profile, Some(&policy), &["--plan", "--json"]));
    assert_eq!(decisions(&v)[0]["package"], v11.as_str(), "{v:#}");
    let notes = v["plugins"]["notes"].to_string();
    assert!(notes.contains("CA-2024-07"), "{v:#}");
}

/// The path-traversal plugin's edits are refused with a typed error naming the plugin and the
/// edit; its package (cnet) fails, the other vendor's package is still injected, and nothing
/// else changes. With --strict the run exits non-zero and the image is byte-identical.
#[test]
fn a_hostile_transform_fails_its_package_only() {
    let f = fixture(true, false, false);
    let profile = f.profile(&[&[CNET_HWID], &[FAB_HWID]]);
    let hostile = built_plugin("hostile-path-traversal");
    let before = raw(&f.image);
    let strict = f.inject(&profile, Some(&hostile), &["--json", "--strict"]);
    assert!(!strict.status.success(), "--strict must fail");
    assert!(raw(&f.image) == before, "--strict wrote to the image");

    let v = json(&f.inject(&profile, Some(&hostile), &["--json"]));
    let failure = &v["plugins"]["failures"][0];
    assert_eq!(failure["kind"], "invalid_output", "{v:#}");
    assert_eq!(failure["plugin"], "hostile-path-traversal", "{v:#}");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("edit 0 (drop-file)"), "{v:#}");
    let injected: Vec<&str> = decisions(&v)
        .iter()
        .map(|d| d["inf"].as_str().unwrap())
        .collect();
    assert_eq!(injected, ["fab.inf"], "{v:#}");
    let after = raw(&f.image);
    let changed: Vec<&String> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    let repo = decisions(&v)[0]["repository"].as_str().unwrap();
    for k in &changed {
        assert!(
            k.contains(repo)
                || k.ends_with(decisions(&v)[0]["published"].as_str().unwrap())
                || k.starts_with("Windows/System32/config/"),
            "unexpected change {k}"
        );
    }
    assert!(
        !after.keys().any(|k| k.contains("cnet")),
        "cnet was injected"
    );
}

/// An `add-registry` value (hwid-alias configured with `registry`) becomes an AddReg line of the
/// `.HW` section, so the DriverDatabase holds it under the package's configuration
/// `Configurations\<DDInstall>\Device` (§1.5: the `.HW` AddReg's HKR content), read back by
/// hivexget.
#[test]
fn add_registry_lands_in_the_device_configuration() {
    let f = fixture(false, false, false);
    let profile = f.profile(&[&[NEW_HWID]]);
    let plugin = configured(f.tmp.path(), "hwid-alias", |t| {
        t.replace(
            r"ids = ['PCI\VEN_8086&DEV_15B8&SUBSYS_87001043']",
            "ids = ['PCI\\VEN_8086&DEV_15B8&SUBSYS_87001043']\n\
             registry = [{ subkey = 'Parameters', name = 'SkuFlags', dword = 8 }]",
        )
    });
    let v = json(&f.inject(&profile, Some(&plugin), &["--json"]));
    let d = &decisions(&v)[0];
    let repository = d["repository"].as_str().unwrap();
    let edits = v["plugins"]["transformed"][0]["applied"].to_string();
    assert!(edits.contains("add_registry"), "{v:#}");
    let inf = std::fs::read_to_string(f.repo(repository).join("cnet.inf")).unwrap();
    assert!(
        inf.contains("HKR,\"Parameters\",\"SkuFlags\",0x00010001,0x00000008"),
        "{inf}"
    );
    let pkg = format!(r"\DriverDatabase\DriverPackages\{repository}");
    let configs = hivexget(
        &f.drivers(),
        &format!(
            r"\DriverDatabase\DriverInfFiles\{}",
            d["published"].as_str().unwrap()
        ),
        "Configurations",
    );
    let config = configs.lines().next().expect("a configuration").trim();
    let got = hivexget(
        &f.drivers(),
        &format!(r"{pkg}\Configurations\{config}\Device\Parameters"),
        "SkuFlags",
    );
    assert_eq!(dword(&got), 8);
}

impl Fixture {
    fn run_match(&self, profile: &Path, plugins: Option<&Path>, extra: &[&str]) -> Output {
        let mut cmd = infuse();
        cmd.args([
            "match",
            "--store",
            s(&self.store),
            "--image",
            s(&self.image),
        ]);
        cmd.args(["--profile", s(profile)]);
        if let Some(p) = plugins {
            cmd.args(["--plugins", s(p), "--plugin-cache", s(&self.cache)]);
        }
        cmd.args(extra);
        cmd.output().expect("run infuse match")
    }
}

/// `infuse match --plugins` shows what `inject --plugins` would write: hwid-alias's edited cnet
/// is the new SKU's driver (no driver without the plugin), ranked as unsigned (0x80.., §3.1: the
/// catalog no longer covers the edited INF) on its added hardware ID (#0: identifier score 0); trim's edited cnet replaces the original, which `--explain` shows rejected with the
/// reason, and the edits are listed with their reasons. (cnet's FeatureScore is 0xF0.)
#[test]
fn hwid_alias_and_trim_change_match_explain() {
    let f = fixture(false, false, false);
    let profile = f.profile(&[&[NEW_HWID]]);
    let plain = String::from_utf8(
        ok(&f.run_match(&profile, None, &["--explain"]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(plain.contains("→ no driver"), "{plain}");

    let alias = built_plugin("hwid-alias");
    let text = String::from_utf8(
        ok(&f.run_match(&profile, Some(&alias), &["--explain"]))
            .stdout
            .clone(),
    )
    .unwrap();
    let winner = text
        .lines()
        .find(|l| l.trim_start().starts_with("→ "))
        .unwrap_or_default();
    assert!(winner.contains("cnet.inf"), "{text}");
    assert!(winner.contains("0x80F00000"), "{text}");
    assert!(text.contains("transformed: "), "{text}");
    assert!(text.contains("new hardware line"), "{text}");
    let v = json(&f.run_match(&profile, Some(&alias), &["--json"]));
    assert_eq!(
        v["transformed"][0]["applied"][0]["plugin"], "hwid-alias",
        "{v:#}"
    );

    let profile = f.profile(&[&[CNET_HWID]]);
    let trim = built_plugin("trim");
    let plain = String::from_utf8(
        ok(&f.run_match(&profile, None, &["--explain"]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(!plain.contains("trim"), "{plain}");
    let text = String::from_utf8(
        ok(&f.run_match(&profile, Some(&trim), &["--explain"]))
            .stdout
            .clone(),
    )
    .unwrap();
    assert!(text.contains("which replaces it"), "{text}");
    assert!(text.contains("contoso_util.dll"), "{text}");
    let winner = text
        .lines()
        .find(|l| l.trim_start().starts_with("→ "))
        .unwrap_or_default();
    assert!(winner.contains("0x80F00000"), "{text}");
}
