//! End-to-end tests of `infuse image info|drivers|verify` and `infuse match --image`, on images
//! built two ways: by infuse's own hive engine (`image::build::ImageBuilder`) and by hivex from
//! the shared virt-v2v fixtures (`infuse_tests::image::shared_image`). What infuse writes is read
//! back with hivex (hivexget, python3-hivex); what hivex writes is read by infuse.

use std::path::{Path, PathBuf};
use std::process::Output;

use infuse::image::build::{
    CLASS_SCSI_ADAPTER, ImageBuilder, ModelLine, PackageSpec, Release, SIGNER_WHQL, ServiceSpec,
};
use infuse_driver_store::inf::model::Arch;
use infuse_tests::image::{Flavour, merge, shared_image};
use infuse_tests::{infuse, oracle, repo_root, shared_hives_dir};
use serde_json::Value;

fn run(args: &[&str], dir: &Path) -> Output {
    infuse().args(args).arg(dir).output().expect("run infuse")
}

fn json(args: &[&str], dir: &Path) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = run(&a, dir);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A third-party boot-start storage package (viostor-like: §1.5's captured record).
fn oem_storage(published: &str) -> PackageSpec {
    PackageSpec {
        published: published.into(),
        inf_name: "vstor.inf".into(),
        provider: "Contoso".into(),
        class: CLASS_SCSI_ADAPTER.0.into(),
        class_guid: CLASS_SCSI_ADAPTER.1.into(),
        date: (2021, 12, 2),
        version: [100, 90, 104, 21500],
        signer_score: SIGNER_WHQL,
        install_section: "scsi_inst".into(),
        feature_score: 0xFF,
        models: vec![ModelLine {
            description: "Contoso virtual SCSI".into(),
            hardware_id: r"PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00".into(),
            compatible_ids: vec![r"PCI\VEN_1AF4&DEV_1004".into()],
        }],
        service: Some(ServiceSpec {
            name: "vstor".into(),
            start: 0,
            group: Some("SCSI miniport".into()),
        }),
    }
}

fn built(release: Release, f: impl FnOnce(ImageBuilder) -> ImageBuilder) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    f(ImageBuilder::new(release))
        .build(dir.path())
        .expect("build image");
    dir
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex digits"))
        .collect()
}

fn hivex_value(hive: &Path, key: &str, value: &str) -> Vec<u8> {
    // hivexget prints binary data in a lossy form; python3-hivex returns the exact bytes.
    let script = "import hivex,sys\nh=hivex.Hivex(sys.argv[1])\nn=h.root()\nfor p in sys.argv[2].split('\\\\'):\n    n=h.node_get_child(n,p)\n    assert n, p\nv=h.node_get_value(n,sys.argv[3])\nsys.stdout.write(h.value_value(v)[1].hex())\n";
    let o = oracle("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(hive)
        .arg(key)
        .arg(value)
        .output()
        .expect("python3-hivex");
    assert!(
        o.status.success(),
        "hivex: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    unhex(String::from_utf8_lossy(&o.stdout).trim())
}

#[test]
fn info_of_images_built_by_infuse() {
    let dir = built(Release::Win11, |b| b.sample_inbox());
    let v = json(&["image", "info"], dir.path());
    assert_eq!(v["version"]["major"], 10);
    assert_eq!(v["version"]["build"], 22631);
    assert_eq!(v["arch"], "amd64");
    assert_eq!(v["arch_source"]["from"], "kernel");
    assert_eq!(v["arch_source"]["machine"], 0x8664);
    assert_eq!(v["current_control_set"], "ControlSet001");
    assert_eq!(v["driver_database"], "drivers-hive");
    assert_eq!(v["target"]["build"], 22631);
    // The values infuse wrote read back the same through hivex (independent reader).
    let sw = dir.path().join("Windows/System32/config/SOFTWARE");
    let o = oracle("hivexget")
        .arg(&sw)
        .arg(r"\Microsoft\Windows NT\CurrentVersion")
        .arg("CurrentBuildNumber")
        .output()
        .expect("hivexget");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "22631");
    let text = run(&["image", "info"], dir.path());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("version:          10.0 build 22631.1"),
        "{text}"
    );
    assert!(
        text.contains("architecture:     amd64 (PE machine 0x8664"),
        "{text}"
    );

    // §1.4: Windows 8.1 keeps the database in SYSTEM; Windows 7 has none.
    let dir = built(Release::Win81, |b| b.kernel(false));
    let v = json(&["image", "info"], dir.path());
    assert_eq!(v["driver_database"], "system-hive");
    assert_eq!(v["arch_source"]["value"], "AMD64");
    let dir = built(Release::Win7, |b| b.arch(Arch::X86));
    let v = json(&["image", "info"], dir.path());
    assert_eq!(v["driver_database"], "legacy");
    assert_eq!(v["arch"], "x86");
}

#[test]
fn info_of_images_hivex_built_from_the_phony_guests() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // win10-software.reg: 10.0 build 17763 (rs5), "Windows 10 Enterprise Evaluation".
    let Some(root) = shared_image(&tmp.path().join("w10"), Flavour::Win10) else {
        return;
    };
    let v = json(&["image", "info"], &root);
    assert_eq!(v["version"]["build"], 17763);
    assert_eq!(v["version"]["ubr"], 0xf28);
    assert_eq!(v["product_name"], "Windows 10 Enterprise Evaluation");
    assert_eq!(v["edition_id"], "EnterpriseEval");
    assert_eq!(v["installation_type"], "Client");
    assert_eq!(v["product_type"]["number"], 1);
    // windows-system.reg: Select\Current = 1.
    assert_eq!(v["current_control_set"], "ControlSet001");
    assert_eq!(v["arch_source"]["value"], "AMD64");
    assert_eq!(v["driver_database"], "drivers-hive");

    // win2k22-software.reg: 20348, ServerStandard; ProductType ServerNT → 3 (§1.6).
    let root = shared_image(&tmp.path().join("s22"), Flavour::Server2022).expect("shared");
    let v = json(&["image", "info"], &root);
    assert_eq!(v["version"]["build"], 20348);
    assert_eq!(v["edition_id"], "ServerStandard");
    assert_eq!(v["target"]["product_type"], 3);

    // win7-32-software.reg: only CurrentVersion "6.1" — no build, no DriverDatabase.
    let root = shared_image(&tmp.path().join("w7"), Flavour::Win7x86).expect("shared");
    let v = json(&["image", "info"], &root);
    assert_eq!(v["version"]["major"], 6);
    assert_eq!(v["version"]["minor"], 1);
    assert_eq!(v["version"]["build"], Value::Null);
    assert_eq!(v["arch"], "x86");
    assert_eq!(v["driver_database"], "legacy");
    assert!(
        v["notes"][0]
            .as_str()
            .expect("note")
            .contains("no CurrentBuildNumber")
    );
}

#[test]
fn drivers_lists_packages_like_dism() {
    let dir = built(Release::Win10, |b| {
        b.sample_inbox().package(oem_storage("oem0.inf"))
    });
    let v = json(&["image", "drivers"], dir.path());
    let d = v["drivers"].as_array().expect("drivers");
    assert_eq!(d.len(), 1, "third-party only: {v}");
    let oem = &d[0];
    assert_eq!(oem["published_name"], "oem0.inf");
    assert_eq!(oem["original_name"], "vstor.inf");
    assert_eq!(oem["provider"], "Contoso");
    assert_eq!(oem["class_name"], "SCSIAdapter");
    assert_eq!(oem["class_guid"], "{4D36E97B-E325-11CE-BFC1-08002BE10318}");
    // §1.5: the Version blob holds the DriverVer date and version.
    assert_eq!(oem["date"], "12/02/2021");
    assert_eq!(oem["version"], "100.90.104.21500");
    assert_eq!(oem["boot_critical"], true);
    let v = json(&["image", "drivers", "--all"], dir.path());
    let names: Vec<&str> = v["drivers"]
        .as_array()
        .expect("drivers")
        .iter()
        .map(|d| d["published_name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["oem0.inf", "e1d68x64.inf", "hdaudio.inf", "stornvme.inf"]
    );
    assert_eq!(v["drivers"][3]["boot_critical"], true);
    assert_eq!(v["drivers"][2]["boot_critical"], false);
    let text = String::from_utf8_lossy(&run(&["image", "drivers"], dir.path()).stdout).into_owned();
    assert!(text.contains("Published Name : oem0.inf\nOriginal File Name : vstor.inf\nInbox : No\nClass Name : SCSIAdapter"), "{text}");

    // The record infuse wrote, read by hivex: §1.5 DeviceIds values and the Version blob.
    let drivers = dir.path().join("Windows/System32/config/DRIVERS");
    assert_eq!(
        hivex_value(
            &drivers,
            r"DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00",
            "oem0.inf"
        ),
        [1, 0xff, 0, 0]
    );
    assert_eq!(
        hivex_value(
            &drivers,
            r"DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1004",
            "oem0.inf"
        ),
        [2, 0xff, 0, 0]
    );
    let pkg = oem_storage("oem0.inf").package_id(Arch::Amd64);
    assert_eq!(
        to_hex(&hivex_value(
            &drivers,
            &format!(r"DriverDatabase\DriverPackages\{pkg}"),
            "Version"
        )),
        "00ff0900000000007be9364d25e3ce11bfc108002be1031800c0978c0fe7d701fc5368005a0064000000000000000000"
    );
    // §1.3: OemInfMap with oem0 only = 80.
    assert_eq!(hivex_value(&drivers, "DriverDatabase", "OemInfMap"), [0x80]);

    // A hivex-written DRIVERS hive reads the same way.
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(root) = shared_image(tmp.path(), Flavour::Win11) else {
        return;
    };
    let v = json(&["image", "drivers", "--all"], &root);
    let d = &v["drivers"][0];
    assert_eq!(d["published_name"], "hdaudio.inf");
    assert_eq!(d["inbox"], true);
    assert_eq!(d["class_name"], "MEDIA");
    assert_eq!(d["date"], "06/21/2006");
    assert_eq!(d["version"], "10.0.22621.1");
    assert_eq!(d["provider"], "Microsoft");
    assert_eq!(
        json(&["image", "drivers"], &root)["drivers"],
        serde_json::json!([])
    );
}

fn findings(v: &Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().expect("kind").to_owned(),
                f["subject"].as_str().expect("subject").to_owned(),
            )
        })
        .collect()
}

#[test]
fn verify_is_clean_on_consistent_images_and_names_each_disagreement() {
    let dir = built(Release::Win11, |b| {
        b.sample_inbox().package(oem_storage("oem0.inf"))
    });
    let root = dir.path();
    let out = run(&["image", "verify"], root);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("ok: DriverDatabase, FileRepository and Windows/INF agree")
    );

    let pkg = oem_storage("oem0.inf").package_id(Arch::Amd64);
    std::fs::remove_file(root.join("Windows/INF/oem0.inf")).expect("rm");
    std::fs::remove_file(root.join("Windows/System32/drivers/vstor.sys")).expect("rm");
    std::fs::create_dir_all(
        root.join("Windows/System32/DriverStore/FileRepository/stray.inf_amd64_0123456789abcdef"),
    )
    .expect("mkdir");
    std::fs::write(root.join("Windows/INF/oem7.inf"), "[Version]\r\n").expect("write");
    std::fs::remove_file(root.join(format!(
        "Windows/System32/DriverStore/FileRepository/{pkg}/vstor.inf"
    )))
    .expect("rm");
    let out = run(&["image", "verify", "--json"], root);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = findings(&v);
    for want in [
        ("inf-missing", "oem0.inf"),
        ("service-binary-missing", "oem0.inf"),
        ("orphan-repository", "stray.inf_amd64_0123456789abcdef"),
        ("orphan-inf", "oem7.inf"),
        ("repository-inf-missing", pkg.as_str()),
        // §1.7: the boot-critical package's file outside the store is in PnpLockdownFiles.
        (
            "lockdown-file-missing",
            "%SystemRoot%/System32/drivers/vstor.sys",
        ),
    ] {
        assert!(
            f.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} not in {f:?}"
        );
    }
    assert_eq!(f.len(), 6, "{f:?}");
    // The DRIVERS record and its SYSTEM mirror (§1.4) both lack the INF: one finding.
    assert_eq!(
        finding(&v, "inf-missing")["place"],
        "DRIVERS, SYSTEM",
        "{v}"
    );

    // OemInfMap out of step with DriverInfFiles (§1.3), and a DeviceIds value naming an INF
    // the database does not hold.
    let dir = built(Release::Win10, |b| b.package(oem_storage("oem0.inf")));
    let drivers = dir.path().join("Windows/System32/config/DRIVERS");
    let reg = dir.path().join("edit.reg");
    std::fs::write(
        &reg,
        "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase]\n\"OemInfMap\"=hex(3):c0\n\n[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DeviceIds\\PCI\\VEN_1234]\n\"oem5.inf\"=hex(3):01,ff,00,00\n",
    )
    .expect("write");
    merge(&drivers, r"HKEY_LOCAL_MACHINE\DRIVERS", &reg);
    let v = json(&["image", "verify"], dir.path());
    assert_eq!(
        findings(&v),
        [
            ("device-id-unknown-inf".to_owned(), "oem5.inf".to_owned()),
            ("oem-inf-map".to_owned(), "OemInfMap".to_owned())
        ]
    );
    assert!(
        v["findings"][1]["message"]
            .as_str()
            .expect("msg")
            .contains("marks [oem0, oem1] but DriverInfFiles holds [oem0]")
    );

    // An image hivex built is consistent too.
    let tmp = tempfile::tempdir().expect("tempdir");
    if let Some(root) = shared_image(tmp.path(), Flavour::Win10) {
        let out = run(&["image", "verify"], &root);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The §1.5 guestor records virt-v2v writes into `SYSTEM\DriverDatabase`, at the key paths
/// `remove-guestor.reg` deletes (its inverse), in hivexregedit's notation.
fn guestor_reg(remove: &str) -> String {
    let mut keys: Vec<String> = remove
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("[-")
                .and_then(|k| k.strip_suffix(']'))
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(keys.len(), 4, "remove-guestor.reg lists 4 keys: {keys:?}");
    let pkg_key = keys
        .iter()
        .position(|k| k.contains(r"\DriverPackages\"))
        .expect("package key");
    let pkg_key = keys.remove(pkg_key);
    let pkg = pkg_key.rsplit('\\').next().expect("name").to_owned();
    let mut s = String::new();
    for k in &keys {
        if k.contains(r"\DriverInfFiles\") {
            let multi: Vec<String> = format!("{pkg}\0\0")
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .map(|b| format!("{b:02x}"))
                .collect();
            s.push_str(&format!(
                "[{k}]\n@=hex(7):{}\n\"Active\"=str(1):\"{pkg}\"\n\"Configurations\"=hex(7):{}\n\n",
                multi.join(","),
                "67,00,75,00,65,00,73,00,74,00,6f,00,72,00,5f,00,63,00,6f,00,6e,00,66,00,00,00,00,00"
            ));
        } else {
            // DeviceIds\PCI\<id> {guestor.inf = 01 ff 00 00}
            s.push_str(&format!("[{k}]\n\"guestor.inf\"=hex(3):01,ff,00,00\n\n"));
        }
    }
    s.push_str(&format!(
        "[{pkg_key}]\n\"Version\"=hex(3):00,ff,09,00,00,00,00,00,7b,e9,36,4d,25,e3,ce,11,bf,c1,08,00,2b,e1,03,18,00,c0,97,8c,0f,e7,d7,01,fc,53,68,00,5a,00,64,00,00,00,00,00,00,00,00,00\n\n[{pkg_key}\\Configurations\\guestor_conf]\n\"ConfigFlags\"=dword:00000000\n\"Service\"=str(1):\"viostor\"\n\n[{pkg_key}\\Descriptors\\PCI\\VEN_1AF4&DEV_1001&REV_00]\n\"Configuration\"=str(1):\"guestor_conf\"\n\n"
    ));
    s
}

#[test]
fn verify_detects_virt_v2v_guestor_records_and_accepts_their_removal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(root) = shared_image(&tmp.path().join("img"), Flavour::Win10) else {
        return;
    };
    let hives = shared_hives_dir().expect("shared");
    let remove = hives.join("remove-guestor.reg");
    let text = std::fs::read_to_string(&remove).expect("read remove-guestor.reg");
    let add = tmp.path().join("guestor.reg");
    std::fs::write(&add, guestor_reg(&text)).expect("write");
    let system = root.join("Windows/System32/config/SYSTEM");
    merge(&system, r"HKEY_LOCAL_MACHINE\SYSTEM", &add);
    let out = run(&["image", "verify", "--json"], &root);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = findings(&v);
    for kind in [
        "not-in-driver-database",
        "inf-missing",
        "package-incomplete",
        "repository-missing",
    ] {
        assert!(f.iter().any(|(k, _)| k == kind), "{kind} not in {f:?}");
    }
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["place"] == "SYSTEM"
                && f["hint"].as_str().is_some_and(|h| h.contains("MTV-2256"))),
        "{v}"
    );
    // virt-v2v's own fix, applied by hivex, leaves a consistent image.
    merge(&system, r"HKEY_LOCAL_MACHINE\SYSTEM", &remove);
    let out = run(&["image", "verify"], &root);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A store of the repository's fixture packages (cnet: Intel NIC, caudio: HD Audio codec …).
fn fixture_store(tmp: &Path) -> PathBuf {
    let store = tmp.join("store");
    let out = infuse()
        .args(["store", "add"])
        .arg(&store)
        .arg(repo_root().join("driver-store/fixtures/packages"))
        .output()
        .expect("store add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    store
}

fn device<'a>(v: &'a Value, hw_prefix: &str) -> &'a Value {
    v["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| {
            d["device"]["hardware_ids"][0]
                .as_str()
                .is_some_and(|h| h.starts_with(hw_prefix))
        })
        .unwrap_or_else(|| panic!("no device {hw_prefix}"))
}

#[test]
fn match_ranks_the_image_drivers_with_the_stores() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = fixture_store(tmp.path());
    // The demo machine's NIC reports `PCI\VEN_8086&DEV_15B8&SUBSYS_86721043&REV_10` as HW ID 0;
    // cnet.inf (store) names HW ID 1 (`…&SUBSYS_86721043`) with FeatureScore F0: 0x00F00001. An
    // in-image package naming HW ID 0 with the same feature score ranks 0x00F00000 and wins
    // (§3.1; §3.2a: the feature score is byte 1 of its DeviceIds value).
    let better_nic = PackageSpec {
        published: "oem0.inf".into(),
        inf_name: "oemnic.inf".into(),
        provider: "OEM".into(),
        class: "Net".into(),
        class_guid: "{4D36E972-E325-11CE-BFC1-08002BE10318}".into(),
        date: (2020, 1, 1),
        version: [1, 0, 0, 0],
        signer_score: SIGNER_WHQL,
        install_section: "nic_inst".into(),
        feature_score: 0xF0,
        models: vec![ModelLine {
            description: "OEM NIC".into(),
            hardware_id: r"PCI\VEN_8086&DEV_15B8&SUBSYS_86721043&REV_10".into(),
            compatible_ids: vec![],
        }],
        service: None,
    };
    let img = built(Release::Win11, |b| b.sample_inbox().package(better_nic));
    let profile = repo_root().join("core/demo/machine.toml");
    let m = |extra: &[&str]| {
        infuse()
            .arg("match")
            .arg("--store")
            .arg(&store)
            .arg("--profile")
            .arg(&profile)
            .arg("--image")
            .arg(img.path())
            .args(extra)
            .output()
            .expect("match")
    };
    let out = m(&["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    // The target comes from the image: Windows 11 23H2, amd64, workstation.
    assert_eq!(v["target"]["build"], 22631);
    assert_eq!(v["target"]["arch"], "amd64");
    let nic = device(&v, r"PCI\VEN_8086&DEV_15B8");
    let c = &nic["candidates"];
    assert_eq!(c[0]["node"]["inf"], "oem0.inf");
    assert_eq!(c[0]["node"]["in_image"], true);
    assert_eq!(c[0]["rank"]["hex"], "0x00F00000");
    let cnet = c
        .as_array()
        .expect("c")
        .iter()
        .find(|x| x["node"]["inf"] == "cnet.inf")
        .expect("cnet");
    assert_eq!(cnet["status"], "lost");
    assert!(
        cnet["why"]
            .as_str()
            .expect("why")
            .starts_with("higher rank (0x00F00001 > 0x00F00000)")
    );
    // The inbox e1d68x64.inf names `PCI\VEN_8086&DEV_15B8`, the device's compatible ID #1:
    // 0x00FF2001 — it loses too.
    let inbox = c
        .as_array()
        .expect("c")
        .iter()
        .find(|x| x["node"]["inf"] == "e1d68x64.inf")
        .expect("inbox");
    assert_eq!(inbox["rank"]["hex"], "0x00FF2001");
    // HD Audio: the fixture caudio.inf is incomplete (its payload is not shipped), so the image's
    // generic hdaudio.inf keeps the codec through its compatible ID `HDAUDIO\FUNC_01` (k = 0) =
    // the device's compatible ID #12: 0x00FF300C, the rank of the real setupapi log in §3.1.
    let audio = device(&v, r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0269");
    let generic = &audio["candidates"][0];
    assert_eq!(generic["node"]["inf"], "hdaudio.inf");
    assert_eq!(generic["status"], "selected");
    assert_eq!(generic["rank"]["hex"], "0x00FF300C");
    assert_eq!(generic["rank"]["id_match"]["kind"], "compat_to_compat");
    assert_eq!(generic["rank"]["id_match"]["k"], 0);
    assert_eq!(v["summary"]["covered_by_image"], 2);

    let out = m(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("→ oem0.inf [nic_inst] (already in the image, package oemnic.inf_amd64_"),
        "{text}"
    );
    assert!(
        text.contains("store driver cnet.inf lost: higher rank (0x00F00001 > 0x00F00000)"),
        "{text}"
    );
    assert!(
        text.contains("2 by a driver already in the image"),
        "{text}"
    );

    // Flags still override what the image says.
    let out = m(&["--os", "10.0.19045", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["target"]["build"], 19045);
}

#[test]
fn a_store_driver_that_ties_with_the_image_is_not_preferred() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = fixture_store(tmp.path());
    // Same rank as cnet.inf (FeatureScore F0, HW ID #1: 0x00F00001), same DriverVer (cnet_inst.NT:
    // 02/20/2023, 1.1.0.0):
    // Windows "can select any" (§3.2); the driver already there stays.
    let twin = PackageSpec {
        published: "oem3.inf".into(),
        inf_name: "cnet.inf".into(),
        provider: "Contoso".into(),
        class: "Net".into(),
        class_guid: "{4D36E972-E325-11CE-BFC1-08002BE10318}".into(),
        date: (2023, 2, 20),
        version: [1, 1, 0, 0],
        signer_score: SIGNER_WHQL,
        install_section: "cnet_inst.NT".into(),
        feature_score: 0xF0,
        models: vec![ModelLine {
            description: "Contoso NIC".into(),
            hardware_id: r"PCI\VEN_8086&DEV_15B8&SUBSYS_86721043".into(),
            compatible_ids: vec![r"PCI\VEN_8086&DEV_15B8".into()],
        }],
        service: None,
    };
    let img = built(Release::Win11, |b| b.package(twin));
    let out = infuse()
        .arg("match")
        .arg("--store")
        .arg(&store)
        .arg("--profile")
        .arg(repo_root().join("core/demo/machine.toml"))
        .arg("--image")
        .arg(img.path())
        .arg("--json")
        .output()
        .expect("match");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let c = &device(&v, r"PCI\VEN_8086&DEV_15B8")["candidates"];
    assert_eq!(c[0]["node"]["inf"], "oem3.inf");
    assert_eq!(c[1]["node"]["inf"], "cnet.inf");
    assert_eq!(
        c[1]["why"],
        "same rank, date and version as the driver already in the image"
    );
}

#[test]
fn errors_name_what_is_missing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(&["image", "info"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds no `Windows` folder") && err.contains("hint:"),
        "{err}"
    );
    let dir = built(Release::Win10, |b| b.kernel(false).env_arch(false));
    let out = run(&["image", "info"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot tell the image's architecture"),
        "{err}"
    );
    let out = infuse()
        .args(["match", "--store", "x", "--profile", "y"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--os"));
}

/// A boot-critical storage package of our own for injection (boot-start associated service:
/// reflected, §1.2), with its payload.
const RSTOR_INF: &str = r#"[Version]
Signature="$WINDOWS NT$"
Class=SCSIAdapter
ClassGuid={4D36E97B-E325-11CE-BFC1-08002BE10318}
Provider=%Vendor%
DriverVer=03/01/2025,1.2.3.4
CatalogFile=rstor.cat
PnpLockdown=1

[SourceDisksNames]
1 = %Disk%,,,""

[SourceDisksFiles]
rstor.sys = 1,,

[DestinationDirs]
DefaultDestDir = 12

[Manufacturer]
%Vendor% = Models,NTamd64

[Models.NTamd64]
%Dev.Desc% = rstor_inst, PCI\VEN_1234&DEV_5678&SUBSYS_00011234, PCI\VEN_1234&DEV_5678

[rstor_inst]
CopyFiles = rstor_files

[rstor_files]
rstor.sys,,,2

[rstor_inst.Services]
AddService = rstor, 0x00000002, rstor_svc

[rstor_svc]
ServiceType = 1
StartType = 0
ErrorControl = 1
ServiceBinary = %12%\rstor.sys
LoadOrderGroup = SCSI miniport

[Strings]
Vendor = "Infuse Verify"
Disk = "Infuse verify disk"
Dev.Desc = "Infuse verify controller"
"#;

fn rstor(dir: &Path) -> PathBuf {
    let pkg = dir.join("rstor");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(pkg.join("rstor.inf"), RSTOR_INF).expect("write");
    std::fs::write(pkg.join("rstor.sys"), b"rstor payload").expect("write");
    std::fs::write(pkg.join("rstor.cat"), b"rstor catalog").expect("write");
    pkg
}

fn inject_pkg(img: &Path, pkg: &Path, fault: Option<u32>) -> Output {
    let mut cmd = infuse();
    if let Some(k) = fault {
        cmd.env("INFUSE_FAULT_AT", k.to_string());
    }
    cmd.args(["inject", "--image"])
        .arg(img)
        .arg("--package")
        .arg(pkg)
        .output()
        .expect("run infuse inject")
}

fn finding<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {v}"))
}

/// windows-driver-internals.md §1.5: a package's `Descriptors` hold one key per hardware and
/// compatible ID of its Models lines and `DeviceIds` one value per ID, both ways;
/// `DeviceIds\{class guid}` associates it with the setup class of its `Version` blob. §1.7:
/// PnpLockdownFiles entries name files the package installed outside the store. §1.4: the
/// SYSTEM mirror of a boot-critical package repeats the DRIVERS record, so what both show is one
/// finding naming both places.
#[test]
fn verify_names_each_broken_record_once_with_its_key_path() {
    let dir = built(Release::Win11, |b| {
        b.sample_inbox().package(oem_storage("oem0.inf"))
    });
    let root = dir.path();
    // The builder's image is consistent, mirror and PnpLockdownFiles included.
    let v = json(&["image", "verify"], root);
    assert_eq!(v["findings"], serde_json::json!([]), "{v}");
    let config = root.join("Windows/System32/config");
    let sys = config.join("SYSTEM");
    assert!(
        oracle("hivexget")
            .arg(&sys)
            .arg(r"\DriverDatabase\DriverInfFiles\oem0.inf")
            .arg("Active")
            .output()
            .expect("hivexget")
            .status
            .success(),
        "the boot-critical oem0.inf is mirrored in SYSTEM"
    );
    let db = r"HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase";
    let reg = root.join("break.reg");
    std::fs::write(
        &reg,
        format!(
            "Windows Registry Editor Version 5.00\n\n\
             [-{db}\\DeviceIds\\PCI\\VEN_1AF4&DEV_1004]\n\n\
             [{db}\\DeviceIds\\PCI\\VEN_9999&DEV_0001]\n\"oem0.inf\"=hex(3):01,ff,00,00\n\n\
             [-{db}\\DeviceIds\\{{4d36e97b-e325-11ce-bfc1-08002be10318}}]\n\n\
             [{db}\\DeviceIds\\{{4d36e972-e325-11ce-bfc1-08002be10318}}]\n\"oem0.inf\"=hex(0):\n"
        ),
    )
    .expect("write");
    merge(&config.join("DRIVERS"), r"HKEY_LOCAL_MACHINE\DRIVERS", &reg);
    let lock =
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles";
    std::fs::write(
        &reg,
        format!(
            "Windows Registry Editor Version 5.00\n\n\
             [{lock}\\%SystemRoot%/System32/drivers/gone.sys]\n\"Class\"=dword:00000004\n\"Owners\"=hex(7):{}\n",
            infuse_tests::image::hex_list(&infuse_tests::image::multi_sz(&["oem9.inf"]))
        ),
    )
    .expect("write");
    merge(
        &config.join("SOFTWARE"),
        r"HKEY_LOCAL_MACHINE\SOFTWARE",
        &reg,
    );
    std::fs::remove_file(root.join("Windows/System32/drivers/vstor.sys")).expect("rm");

    let out = run(&["image", "verify", "--json"], root);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut f = findings(&v);
    f.sort();
    let gone = "%SystemRoot%/System32/drivers/gone.sys";
    let vstor = "%SystemRoot%/System32/drivers/vstor.sys";
    let mut want: Vec<(String, String)> = [
        ("class-guid-mismatch", "oem0.inf"),
        ("class-guid-missing", "oem0.inf"),
        ("descriptor-without-device-id", "oem0.inf"),
        ("device-id-without-descriptor", "oem0.inf"),
        ("lockdown-file-missing", gone),
        ("lockdown-file-missing", vstor),
        ("lockdown-owner-unknown", gone),
        ("service-binary-missing", "oem0.inf"),
    ]
    .iter()
    .map(|(k, s)| ((*k).to_owned(), (*s).to_owned()))
    .collect();
    want.sort();
    assert_eq!(f, want, "{v}");
    let pkg = oem_storage("oem0.inf").package_id(Arch::Amd64);
    let msg = |kind: &str| {
        finding(&v, kind)["message"]
            .as_str()
            .expect("msg")
            .to_owned()
    };
    assert_eq!(
        msg("descriptor-without-device-id"),
        format!(
            r"DriverDatabase\DriverPackages\{pkg}\Descriptors\PCI\VEN_1AF4&DEV_1004 has no DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1004\oem0.inf value"
        )
    );
    assert!(
        msg("device-id-without-descriptor")
            .starts_with(r"DriverDatabase\DeviceIds\PCI\VEN_9999&DEV_0001\oem0.inf has no"),
        "{v}"
    );
    assert!(
        msg("class-guid-mismatch").contains("{4d36e972-e325-11ce-bfc1-08002be10318}")
            && msg("class-guid-mismatch").contains("{4d36e97b-e325-11ce-bfc1-08002be10318}"),
        "{v}"
    );
    assert!(msg("lockdown-owner-unknown").contains("oem9.inf"), "{v}");
    // These are DRIVERS-only breaks; the missing binary shows in DRIVERS and in the SYSTEM mirror:
    // one finding naming both.
    assert_eq!(
        finding(&v, "descriptor-without-device-id")["place"],
        "DRIVERS"
    );
    let svc = finding(&v, "service-binary-missing");
    assert_eq!(svc["place"], "DRIVERS, SYSTEM", "{v}");
    assert!(
        svc["message"]
            .as_str()
            .expect("msg")
            .contains("SYSTEM\\DriverDatabase mirror"),
        "{v}"
    );

    // A DeviceIds value of a published INF whose Active package DriverPackages lacks.
    std::fs::write(
        &reg,
        format!("Windows Registry Editor Version 5.00\n\n[-{db}\\DriverPackages\\{pkg}]\n"),
    )
    .expect("write");
    merge(&config.join("DRIVERS"), r"HKEY_LOCAL_MACHINE\DRIVERS", &reg);
    let v = json(&["image", "verify"], root);
    let m = finding(&v, "device-id-package-missing")["message"]
        .as_str()
        .expect("msg")
        .to_owned();
    assert!(
        m.starts_with(r"DriverDatabase\DeviceIds\") && m.contains(&pkg),
        "{m}"
    );
}

/// An interrupted commit (the real binary aborted after its journal, the commit point, was
/// published) is a finding with the way out; the next command that takes the lock finishes it.
#[test]
fn verify_reports_a_pending_journal() {
    let dir = built(Release::Win10, ImageBuilder::sample_inbox);
    let root = dir.path();
    let tmp = tempfile::tempdir().expect("tempdir");
    let pkg = rstor(tmp.path());
    let journal = root.join(".infuse-txn/journal");
    let mut k = 1;
    while !journal.exists() {
        assert!(k < 200, "no step leaves a journal");
        let out = inject_pkg(root, &pkg, Some(k));
        assert!(!out.status.success(), "the commit finished before step {k}");
        k += 1;
    }
    let out = run(&["image", "verify", "--json"], root);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = finding(&v, "pending-journal");
    assert_eq!(f["subject"], ".infuse-txn/journal");
    assert!(
        f["hint"]
            .as_str()
            .expect("hint")
            .contains("takes the image lock"),
        "{v}"
    );
    // `infuse inject` takes the lock, finishes the commit; verify is clean again.
    let out = inject_pkg(root, &pkg, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["image", "verify"], root);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Windows 7 has no DriverDatabase (§1.4): `image drivers` lists the published oem*.inf from the
/// INFs and their FileRepository folders, and verify checks the CriticalDeviceDatabase entries of
/// a boot-critical package against its service (§1.6: `<id with # for \>` {Service, ClassGUID}).
#[test]
fn win7_drivers_lists_oem_infs_and_verify_checks_the_cddb() {
    let dir = built(Release::Win7, |b| b);
    let root = dir.path();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = inject_pkg(root, &rstor(tmp.path()), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&["image", "drivers"], root);
    let d = &v["drivers"][0];
    assert_eq!(d["published_name"], "oem0.inf", "{v}");
    assert_eq!(d["original_name"], "rstor.inf");
    assert_eq!(d["provider"], "Infuse Verify");
    assert_eq!(d["class_name"], "SCSIAdapter");
    assert_eq!(d["class_guid"], "{4D36E97B-E325-11CE-BFC1-08002BE10318}");
    assert_eq!(d["version"], "1.2.3.4");
    assert_eq!(d["date"], "03/01/2025");
    assert_eq!(d["boot_critical"], true);
    assert!(
        d["package"]
            .as_str()
            .is_some_and(|p| p.starts_with("rstor.inf_amd64_")),
        "{v}"
    );
    let out = run(&["image", "verify"], root);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let cddb = r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\CriticalDeviceDatabase";
    let reg = tmp.path().join("break.reg");
    std::fs::write(
        &reg,
        format!(
            "Windows Registry Editor Version 5.00\n\n\
             [-{cddb}\\PCI#VEN_1234&DEV_5678]\n\n\
             [{cddb}\\PCI#VEN_4321&DEV_0001]\n\"Service\"=str(1):\"nosuchsvc\"\n"
        ),
    )
    .expect("write");
    let sys = root.join("Windows/System32/config/SYSTEM");
    merge(&sys, r"HKEY_LOCAL_MACHINE\SYSTEM", &reg);
    let v = json(&["image", "verify"], root);
    let mut f = findings(&v);
    f.sort();
    assert_eq!(
        f,
        [
            ("cddb-missing".to_owned(), "oem0.inf".to_owned()),
            (
                "cddb-service-missing".to_owned(),
                "PCI#VEN_4321&DEV_0001".to_owned()
            )
        ],
        "{v}"
    );
    assert!(
        finding(&v, "cddb-missing")["message"]
            .as_str()
            .expect("msg")
            .contains(r"Control\CriticalDeviceDatabase\PCI#VEN_1234&DEV_5678"),
        "{v}"
    );
}
