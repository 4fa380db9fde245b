//! End-to-end tests of `infuse match`: a store built with `infuse store add`, devices from every
//! kind of source, ranks, explanations, coverage and exit codes.

use std::path::{Path, PathBuf};
use std::process::Output;

use infuse_driver_store::store::{DirCache, Package};
use infuse_tests::{corpus_dir, infuse, repo_root};
use serde_json::Value;

/// Copy INF files into `dir` and create every file they reference (placeholder bytes), so the
/// packages are complete and carry their catalogs, as a vendor's driver folder would.
fn complete_package_dir(dir: &Path, infs: &[(&str, Vec<u8>)]) {
    for (name, bytes) in infs {
        let pkg = dir.join(name.trim_end_matches(".inf"));
        std::fs::create_dir_all(&pkg).expect("mkdir");
        let inf = pkg.join(name);
        std::fs::write(&inf, bytes).expect("write inf");
        let p = Package::load(&inf, &mut DirCache::default()).expect("load package");
        let catalogs = p.model.version.catalogs.iter().map(|c| c.name.clone());
        for rel in p.files.iter().map(|f| f.path.clone()).chain(catalogs) {
            let path = pkg.join(&rel);
            if !path.exists() {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, format!("placeholder for {rel}")).expect("write payload");
            }
        }
    }
}

fn store_add(store: &Path, source: &Path) {
    let out = infuse()
        .args(["store", "add"])
        .arg(store)
        .arg(source)
        .output()
        .expect("run infuse store add");
    assert!(
        out.status.success(),
        "store add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `infuse` with `INFUSE_CACHE_DIR` pointing inside the store's temp dir: were anything cached
/// per user, it would land there (no host state), and a test checks that nothing does.
fn infuse_isolated(store: &Path) -> std::process::Command {
    let mut cmd = infuse();
    cmd.env("INFUSE_CACHE_DIR", store.with_extension("cache"));
    cmd
}

fn run_match(store: &Path, source: &[&str], extra: &[&str]) -> Output {
    infuse_isolated(store)
        .arg("match")
        .arg("--store")
        .arg(store)
        .args(source)
        .args(["--os", "10.0.22631", "--arch", "amd64"])
        .args(extra)
        .output()
        .expect("run infuse match")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 2),
        "infuse match failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("match --json prints JSON")
}

fn device<'a>(report: &'a Value, hw0: &str) -> &'a Value {
    report["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| {
            d["device"]["hardware_ids"][0]
                .as_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(hw0))
        })
        .unwrap_or_else(|| panic!("no device {hw0}"))
}

/// `(inf, rank hex)` of the winner, or None.
fn winner(d: &Value) -> Option<(String, String)> {
    let c = &d["candidates"][0];
    (c["status"] == "selected").then(|| {
        (
            c["node"]["inf"].as_str().unwrap_or_default().to_owned(),
            c["rank"]["hex"].as_str().unwrap_or_default().to_owned(),
        )
    })
}

fn corpus_inf(dir: &Path, needle: &str) -> (String, Vec<u8>) {
    let entry = std::fs::read_dir(dir)
        .expect("corpus folder")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the corpus"));
    let short = entry
        .file_name()
        .to_string_lossy()
        .rsplit("__")
        .next()
        .unwrap_or("x.inf")
        .to_owned();
    (short, std::fs::read(entry.path()).expect("read inf"))
}

const VIRTIO_PROFILE: &str = r#"
name = "QEMU q35 with virtio (transitional and modern devices)"
[[device]]
description = "virtio SCSI (transitional)"
pci = { vendor = 0x1af4, device = 0x1004, subsys_vendor = 0x1af4, subsys_device = 0x0008, class = 0x010000, revision = 0 }
[[device]]
description = "virtio net (transitional)"
pci = { vendor = 0x1af4, device = 0x1000, subsys_vendor = 0x1af4, subsys_device = 0x0001, class = 0x020000, revision = 0 }
[[device]]
description = "virtio balloon (transitional)"
pci = { vendor = 0x1af4, device = 0x1002, subsys_vendor = 0x1af4, subsys_device = 0x0005, class = 0x00ff00, revision = 0 }
[[device]]
description = "virtio SCSI (modern, QEMU subsystem 1100)"
pci = { vendor = 0x1af4, device = 0x1048, subsys_vendor = 0x1af4, subsys_device = 0x1100, class = 0x010000, revision = 1 }
[[device]]
description = "QEMU standard VGA: no INF in the store covers it"
pci = { vendor = 0x1234, device = 0x1111, subsys_vendor = 0x1af4, subsys_device = 0x1100, class = 0x030000, revision = 2 }
[[device]]
description = "virtio block: a storage controller the store does not cover"
pci = { vendor = 0x1af4, device = 0x1001, subsys_vendor = 0x1af4, subsys_device = 0x0002, class = 0x010000, revision = 0 }
"#;

#[test]
fn virtio_vm_against_the_corpus_store() {
    let Some(corpus) = corpus_dir() else { return };
    let osd = corpus.join("OSDeploy__WinPEDriverPack");
    let tmp = tempfile::tempdir().expect("tempdir");
    let infs: Vec<(String, Vec<u8>)> = ["__netkvm.inf", "__vioscsi.inf", "__balloon.inf"]
        .iter()
        .map(|n| corpus_inf(&osd, n))
        .collect();
    let borrowed: Vec<(&str, Vec<u8>)> =
        infs.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let drivers = tmp.path().join("drivers");
    complete_package_dir(&drivers, &borrowed);
    let store = tmp.path().join("store");
    store_add(&store, &drivers);
    let profile = tmp.path().join("vm.toml");
    std::fs::write(&profile, VIRTIO_PROFILE).expect("write profile");

    let out = run_match(
        &store,
        &["--profile", profile.to_str().expect("utf-8")],
        &["--json"],
    );
    let r = json_of(&out);
    // windows-driver-internals.md §3.2a: the virtio device's hardware ID #0 is the Models
    // hardware ID, default feature score, signed package → 0x00FF0000 (DeviceIds data 01 ff 00 00).
    let expect = |hw0: &str, inf: &str, rank: &str| {
        assert_eq!(
            winner(device(&r, hw0)),
            Some((inf.to_owned(), rank.to_owned())),
            "{hw0}"
        );
    };
    expect(
        r"PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00",
        "vioscsi.inf",
        "0x00FF0000",
    );
    expect(
        r"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00",
        "netkvm.inf",
        "0x00FF0000",
    );
    expect(
        r"PCI\VEN_1AF4&DEV_1002&SUBSYS_00051AF4&REV_00",
        "balloon.inf",
        "0x00FF0000",
    );
    expect(
        r"PCI\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01",
        "vioscsi.inf",
        "0x00FF0000",
    );
    let scsi = device(&r, r"PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00");
    assert_eq!(
        scsi["candidates"][0]["explanation"],
        "0x00FF0000 = signed | feature FF | HW ID #0 = INF HW ID"
    );
    assert_eq!(
        scsi["candidates"][0]["node"]["models_section"],
        "VirtioScsi.NTamd64.10.0"
    );
    // Uncovered devices are reported, with the boot-critical one counted.
    let vga = device(&r, r"PCI\VEN_1234&DEV_1111&SUBSYS_11001AF4&REV_02");
    assert_eq!(winner(vga), None);
    assert_eq!(r["summary"]["devices"], 6);
    assert_eq!(r["summary"]["covered"], 4);
    assert_eq!(r["summary"]["uncovered"], 2);
    assert_eq!(r["summary"]["boot_critical_uncovered"], 1);
    assert_eq!(out.status.code(), Some(0), "no --require-* flag: success");
    assert!(
        r["signature_rules"]
            .as_str()
            .is_some_and(|s| s.starts_with("catalog-present"))
    );

    // This machine's modern virtio devices (subsystem = device, not QEMU's 1100): the INF's
    // second ID `PCI\VEN_1AF4&DEV_1041` is a Models *compatible* ID (k=0) and equals the device's
    // compatible ID #1 → 0x3000 + 1 + 0x100*0 (windows-driver-internals.md §3.1).
    let vm = repo_root().join("core/fixtures/sysfs/this-vm");
    let r = json_of(&run_match(
        &store,
        &["--sysfs", vm.to_str().expect("utf-8")],
        &["--json"],
    ));
    assert_eq!(
        winner(device(&r, r"PCI\VEN_1AF4&DEV_1041&SUBSYS_10411AF4&REV_01")),
        Some(("netkvm.inf".into(), "0x00FF3001".into()))
    );
    assert_eq!(
        winner(device(&r, r"PCI\VEN_1AF4&DEV_1045&SUBSYS_10451AF4&REV_01")),
        Some(("balloon.inf".into(), "0x00FF3001".into()))
    );

    // --require-all fails (2 uncovered); --require-boot fails (virtio-blk is a storage controller).
    let p = profile.to_str().expect("utf-8");
    assert_eq!(
        run_match(&store, &["--profile", p], &["--require-all"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run_match(&store, &["--profile", p], &["--require-boot"])
            .status
            .code(),
        Some(2)
    );
    // Text output names the winner and says "no driver" for the rest.
    let out = run_match(&store, &["--profile", p], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("→ vioscsi.inf [scsi_inst] \"Red Hat VirtIO SCSI pass-through controller\" — 0x00FF0000 = signed"), "{text}");
    assert!(text.contains("→ no driver"), "{text}");
    assert!(text.contains("summary: 6 devices, 4 covered (0 by a compatible ID only), 2 uncovered, 1 boot-critical uncovered"), "{text}");
}

/// Small INFs written for these tests (no shared data needed).
fn own_infs() -> Vec<(&'static str, Vec<u8>)> {
    let nic_new = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Net\r\nClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}\r\nProvider=%V%\r\nCatalogFile=nicnew.cat\r\nDriverVer=03/01/2024,2.0.0.0\r\n[SourceDisksNames]\r\n1=%D%\r\n[SourceDisksFiles]\r\nnicnew.sys=1\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n[Manufacturer]\r\n%V%=Nic,NTamd64.10.0,NTarm64.10.0\r\n[Nic.NTamd64.10.0]\r\n%D%=Inst,PCI\\VEN_8086&DEV_1563&SUBSYS_35D48086\r\n[Nic.NTarm64.10.0]\r\n%D%=Inst,PCI\\VEN_8086&DEV_1563&SUBSYS_35D48086\r\n[Inst.NTamd64]\r\nCopyFiles=F\r\n[Inst.NTarm64]\r\nCopyFiles=F\r\n[F]\r\nnicnew.sys\r\n[Strings]\r\nV=\"Vendor\"\r\nD=\"X550 (new)\"\r\n";
    let nic_generic = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Net\r\nClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}\r\nProvider=%V%\r\nCatalogFile=nicgen.cat\r\nDriverVer=01/01/2025,9.0.0.0\r\n[Manufacturer]\r\n%V%=Gen,NTamd64\r\n[Gen.NTamd64]\r\n%D%=Inst,PCI\\VEN_8086&CC_0200\r\n[Inst.NTamd64]\r\n[Strings]\r\nV=\"Vendor\"\r\nD=\"Generic Intel NIC\"\r\n";
    let arm_only = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Display\r\nClassGuid={4d36e968-e325-11ce-bfc1-08002be10318}\r\nProvider=%V%\r\nCatalogFile=gpu.cat\r\nDriverVer=01/01/2024,1.0.0.0\r\n[Manufacturer]\r\n%V%=Gpu,NTarm64.10.0\r\n[Gpu.NTarm64.10.0]\r\n%D%=Inst,PCI\\VEN_8086&DEV_0106\r\n[Inst.NTarm64]\r\n[Strings]\r\nV=\"Vendor\"\r\nD=\"ARM-only GPU driver\"\r\n";
    vec![
        ("nicnew.inf", nic_new.into()),
        ("nicgen.inf", nic_generic.into()),
        ("gpuarm.inf", arm_only.into()),
    ]
}

fn own_store(tmp: &Path) -> PathBuf {
    let drivers = tmp.join("drivers");
    complete_package_dir(&drivers, &own_infs());
    let store = tmp.join("store");
    store_add(&store, &drivers);
    store
}

#[test]
fn winners_losers_and_near_misses_are_explained() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = own_store(tmp.path());
    // A Windows export of the machine (devcon layout, inf-behaviour.md §J).
    let hwids = tmp.path().join("hwids.txt");
    std::fs::write(
        &hwids,
        "PCI\\VEN_8086&DEV_1563&SUBSYS_35D48086&REV_01\\4&1\r\n    Name: Intel(R) Ethernet Controller X550\r\n    Hardware IDs:\r\n        PCI\\VEN_8086&DEV_1563&SUBSYS_35D48086&REV_01\r\n        PCI\\VEN_8086&DEV_1563&SUBSYS_35D48086\r\n        PCI\\VEN_8086&DEV_1563&CC_020000\r\n        PCI\\VEN_8086&DEV_1563&CC_0200\r\n    Compatible IDs:\r\n        PCI\\VEN_8086&DEV_1563&REV_01\r\n        PCI\\VEN_8086&DEV_1563\r\n        PCI\\VEN_8086&CC_020000\r\n        PCI\\VEN_8086&CC_0200\r\n        PCI\\VEN_8086\r\n        PCI\\CC_020000\r\n        PCI\\CC_0200\r\nPCI\\VEN_8086&DEV_0106&SUBSYS_844D1043&REV_09\\3&2\r\n    Name: Video Controller (VGA Compatible)\r\n    Hardware IDs:\r\n        PCI\\VEN_8086&DEV_0106&SUBSYS_844D1043&REV_09\r\n        PCI\\VEN_8086&DEV_0106&SUBSYS_844D1043\r\n        PCI\\VEN_8086&DEV_0106&CC_030000\r\n        PCI\\VEN_8086&DEV_0106&CC_0300\r\n    Compatible IDs:\r\n        PCI\\VEN_8086&DEV_0106&REV_09\r\n        PCI\\VEN_8086&DEV_0106\r\n        PCI\\VEN_8086&CC_030000\r\n        PCI\\VEN_8086&CC_0300\r\n        PCI\\VEN_8086\r\n        PCI\\CC_030000\r\n        PCI\\CC_0300\r\nHTREE\\ROOT\\0\r\n    No hardware/compatible IDs found for this device.\r\n3 matching device(s) found.\r\n",
    )
    .expect("write");
    let src = ["--inventory", hwids.to_str().expect("utf-8")];
    let r = json_of(&run_match(&store, &src, &["--json"]));
    // The X550: the specific driver (HW ID #1) beats the generic one (VEN&CC, compatible ID #3)
    // although the generic one is newer (§3.2).
    let nic = device(&r, r"PCI\VEN_8086&DEV_1563&SUBSYS_35D48086&REV_01");
    assert_eq!(
        winner(nic),
        Some(("nicnew.inf".into(), "0x00FF0001".into()))
    );
    assert_eq!(nic["candidates"][1]["node"]["inf"], "nicgen.inf");
    assert_eq!(nic["candidates"][1]["rank"]["hex"], "0x00FF2003");
    assert_eq!(
        nic["candidates"][1]["why"],
        "higher rank (0x00FF2003 > 0x00FF0001)"
    );
    // The arm64 section of nicnew.inf is kept as an excluded candidate.
    assert!(
        nic["candidates"]
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c["status"] == "excluded"
                && c["exclusion"]["reason"] == "wrong_arch"
                && c["node"]["models_section"] == "Nic.NTarm64.10.0")
    );
    // The GPU: only an arm64 driver → no driver on amd64, near miss "wrong architecture".
    let gpu = device(&r, r"PCI\VEN_8086&DEV_0106&SUBSYS_844D1043&REV_09");
    assert_eq!(winner(gpu), None);
    assert_eq!(gpu["candidates"][0]["exclusion"]["reason"], "wrong_arch");
    // The ID-less HTREE node is not a device to cover.
    assert_eq!(r["summary"]["devices"], 2);
    assert_eq!(r["summary"]["uncovered"], 1);

    // --explain prints every loser and why; without it only near-misses of uncovered devices.
    let out = run_match(&store, &src, &["--explain"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("lost: higher rank (0x00FF2003 > 0x00FF0001): nicgen.inf [Inst.NTamd64]"),
        "{text}"
    );
    assert!(
        text.contains("wrong architecture: [Nic.NTarm64.10.0] is for arm64"),
        "{text}"
    );
    let out = run_match(&store, &src, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("lost:"), "{text}");
    assert!(
        !text.contains("only a compatible-ID match"),
        "the X550 has a specific driver: {text}"
    );
    assert!(
        text.contains("near miss, wrong architecture: [Gpu.NTarm64.10.0] is for arm64"),
        "{text}"
    );

    // On arm64 the GPU is covered, and the NIC uses the arm64 section.
    let out = infuse_isolated(&store)
        .arg("match")
        .arg("--store")
        .arg(&store)
        .args(src)
        .args([
            "--os",
            "10.0.26100",
            "--arch",
            "arm64",
            "--json",
            "--require-all",
        ])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);
    assert_eq!(
        device(&r, r"PCI\VEN_8086&DEV_1563&SUBSYS_35D48086&REV_01")["candidates"][0]["node"]["models_section"],
        "Nic.NTarm64.10.0"
    );
}

#[test]
fn matching_writes_nothing_outside_the_store() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = own_store(tmp.path());
    let profile = tmp.path().join("p.toml");
    std::fs::write(
        &profile,
        "[[device]]\npci = { vendor = 0x8086, device = 0x1563, subsys_vendor = 0x8086, subsys_device = 0x35d4, class = 0x020000, revision = 1 }\n[[device]]\npci = { vendor = 0x8086, device = 0x0106, subsys_vendor = 0x1043, subsys_device = 0x844d, class = 0x030000, revision = 9 }\n",
    )
    .expect("write");
    let src = ["--profile", profile.to_str().expect("utf-8")];
    let fresh = run_match(&store, &src, &["--json"]);
    // The Manufacturer lines come from the store's index: no per-user cache is written.
    assert!(
        !store.with_extension("cache").exists(),
        "match wrote a cache folder"
    );
    let again = run_match(&store, &src, &["--json"]);
    assert_eq!(json_of(&fresh), json_of(&again));
    // The GPU has no amd64 driver; a NIC no specific INF names gets the generic one, flagged.
    let other = tmp.path().join("other.toml");
    std::fs::write(
        &other,
        "[[device]]\npci = { vendor = 0x8086, device = 0x10d3, subsys_vendor = 0x8086, subsys_device = 0xa01f, class = 0x020000 }\n",
    )
    .expect("write");
    let o = ["--profile", other.to_str().expect("utf-8")];
    let r = json_of(&run_match(&store, &o, &["--json"]));
    assert_eq!(r["summary"]["covered_by_compatible_id_only"], 1);
    let text = String::from_utf8_lossy(&run_match(&store, &o, &[]).stdout).into_owned();
    assert!(
        text.contains("0x00FF2003 = signed | feature FF | compatible ID #3 = INF HW ID"),
        "{text}"
    );
    assert!(
        text.contains("only a compatible-ID match: a generic driver, none names this device"),
        "{text}"
    );
}

#[test]
fn bad_arguments_are_errors_with_hints() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = own_store(tmp.path());
    let profile = tmp.path().join("p.toml");
    std::fs::write(&profile, "[[device]]\nhardware_ids = ['ROOT\\X']\n").expect("write");
    let p = profile.to_str().expect("utf-8");
    let out = infuse_isolated(&store)
        .arg("match")
        .arg("--store")
        .arg(&store)
        .args(["--profile", p, "--os", "10", "--arch", "amd64"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: e.g. `--os 10.0.22631`"));
    let out = infuse_isolated(&store)
        .arg("match")
        .arg("--store")
        .arg(&store)
        .args(["--profile", p, "--os", "10.0.1", "--arch", "sparc"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("architecture `sparc` is unknown"));
    let out = infuse()
        .args([
            "match",
            "--store",
            "/nonexistent/store",
            "--profile",
            p,
            "--os",
            "10.0.1",
            "--arch",
            "amd64",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/store"));
}

#[test]
fn usb_compatible_id_positions_follow_the_target_build() {
    // usbhub3 puts three `USB\COMPAT_VID_…` IDs ahead of the class IDs on 22621 and later
    // (decompiled HUBID_BuildClassCompatibleID, nohuto/decompiled-pseudocode 11-21H2 vs
    // 11-23H2/USBHUB3; Microsoft's pnputil listing in "How to test a driver package"), so a
    // class driver's compatible-ID position, and with it the rank (§3.1: 0x2000 + j), moves
    // from j = 0 to j = 3, and an INF naming the COMPAT_VID form matches only there.
    let tmp = tempfile::tempdir().expect("tempdir");
    let class_inf = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=USB\r\nClassGuid={36fc9e60-c465-11cf-8056-444553540000}\r\nProvider=%V%\r\nCatalogFile=bot.cat\r\nDriverVer=01/01/2024,1.0.0.0\r\n[Manufacturer]\r\n%V%=M,NTamd64\r\n[M.NTamd64]\r\n%D%=Inst,USB\\Class_08&SubClass_06&Prot_50\r\n[Inst.NTamd64]\r\n[Strings]\r\nV=\"Vendor\"\r\nD=\"Bulk-only class driver\"\r\n";
    let vid_inf = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=USB\r\nClassGuid={36fc9e60-c465-11cf-8056-444553540000}\r\nProvider=%V%\r\nCatalogFile=vid.cat\r\nDriverVer=01/01/2020,1.0.0.0\r\n[Manufacturer]\r\n%V%=M,NTamd64\r\n[M.NTamd64]\r\n%D%=Inst,USB\\COMPAT_VID_0781&Class_08\r\n[Inst.NTamd64]\r\n[Strings]\r\nV=\"Vendor\"\r\nD=\"SanDisk class driver\"\r\n";
    let drivers = tmp.path().join("drivers");
    complete_package_dir(
        &drivers,
        &[("bot.inf", class_inf.into()), ("vid.inf", vid_inf.into())],
    );
    let store = tmp.path().join("store");
    store_add(&store, &drivers);
    // The SanDisk flash drive of core/fixtures/sysfs/desktop-asus-p8b75-m (0781:5580, one
    // interface 08/06/50).
    let profile = tmp.path().join("usb.toml");
    std::fs::write(
        &profile,
        "[[device]]\nusb = { vendor = 0x0781, product = 0x5580, bcd_device = 0x0010, interfaces = [ { number = 0, class = 8, subclass = 6, protocol = 0x50 } ] }\n",
    )
    .expect("write");
    let rank_on = |os: &str| {
        let out = infuse_isolated(&store)
            .arg("match")
            .arg("--store")
            .arg(&store)
            .arg("--profile")
            .arg(&profile)
            .args(["--os", os, "--arch", "amd64", "--json"])
            .output()
            .expect("run infuse match");
        let r = json_of(&out);
        let d = device(&r, r"USB\VID_0781&PID_5580&REV_0010");
        (
            winner(d),
            d["device"]["compatible_ids"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    // Windows 11 21H2: the class ID is compatible ID #0; the COMPAT_VID INF matches nothing.
    let (w, first) = rank_on("10.0.22000");
    assert_eq!(w, Some(("bot.inf".into(), "0x00FF2000".into())));
    assert_eq!(first, r"USB\Class_08&SubClass_06&Prot_50");
    // Windows 11 23H2: `USB\COMPAT_VID_0781&Class_08` is #2 and beats the class ID, now #3.
    let (w, first) = rank_on("10.0.22631");
    assert_eq!(w, Some(("vid.inf".into(), "0x00FF2002".into())));
    assert_eq!(first, r"USB\COMPAT_VID_0781&Class_08&SubClass_06&Prot_50");
}
