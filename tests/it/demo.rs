//! `infuse demo`, the README's first command: it must run with nothing but the binary, pick the
//! drivers the bundled packages say (with the image's own drivers and the vendor plugins'
//! select), inject them through the plugins' transform into the demo image, leave an image that
//! `infuse image verify` and hivex accept, and be incremental on a second run.

use infuse_tests::infuse;
use serde_json::Value;

fn demo(dir: &std::path::Path) -> Value {
    let out = infuse()
        .args(["demo", "--json", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "infuse demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn winner<'a>(report: &'a Value, instance_prefix: &str) -> Option<&'a Value> {
    let dev = report["match"]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["device"]["instance_id"]
                .as_str()
                .unwrap()
                .starts_with(instance_prefix)
        })
        .unwrap_or_else(|| panic!("no device {instance_prefix} in the demo report"));
    dev["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "selected")
}

#[test]
fn demo_builds_the_store_and_picks_the_expected_drivers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let first = demo(&dir);

    let add = &first["add"];
    assert_eq!(add["packages"], 4);
    assert_eq!(add["added"].as_array().unwrap().len(), 4);
    // contoso_util.dll ships in both vstor and cnet with the same bytes: stored once.
    assert_eq!(add["files_deduplicated"], 1);
    assert_eq!(add["incomplete"].as_array().unwrap().len(), 1);

    // The boot disk controller: the INF's first hardware ID equals the device's first → rank
    // 0x00FF0000 (signed, feature score FF by default, HW ID #0).
    let vstor = winner(&first, "PCI\\VEN_1AF4&DEV_1004").expect("virtio SCSI has a driver");
    assert_eq!(vstor["node"]["inf"], "vstor.inf");
    assert_eq!(vstor["rank"]["hex"], "0x00FF0000");
    // The NIC: the build-decorated section of Windows 10 2004+ applies to 22631, FeatureScore F0,
    // the device's second hardware ID (VEN&DEV&SUBSYS) matches.
    let cnet = winner(&first, "PCI\\VEN_8086&DEV_15B8").expect("the NIC has a driver");
    assert_eq!(
        cnet["node"]["models_section"],
        "Contoso.NTamd64.10.0...19041"
    );
    assert_eq!(cnet["rank"]["hex"], "0x00F00001");
    // The audio codec's only store package lacks its payload: never chosen; the image's own
    // inbox hdaudio.inf serves it through a compatible ID (ranked with the store's, §3.2a).
    let codec = winner(&first, "HDAUDIO\\FUNC_01&VEN_10EC&DEV_0269").expect("in-image driver");
    assert_eq!(codec["node"]["inf"], "hdaudio.inf");
    assert_eq!(codec["node"]["in_image"], true);
    // The webcam has no driver in the store.
    assert!(winner(&first, "USB\\VID_5986&PID_0535").is_none());
    let summary = &first["match"]["summary"];
    // vstor, cnet, cchip from the store; the codec by the image's own hdaudio.inf (§3.2a).
    assert_eq!(summary["covered"], 4);

    // The embedded example plugins ran: vendor-policy's select preferred the 1.1 branch of cnet,
    // trim's transform dropped contoso_util.dll from vstor and cnet.
    assert_eq!(
        first["plugins"],
        serde_json::json!(["trim 0.1.0", "vendor-policy 0.1.0"])
    );
    let notes = cnet["plugin_notes"]
        .as_array()
        .expect("plugin notes on cnet");
    assert!(
        notes.iter().any(|n| n["plugin"] == "vendor-policy"),
        "{notes:?}"
    );
    let transformed = first["transform"]["transformed"].as_array().unwrap();
    assert_eq!(transformed.len(), 2, "{transformed:?}");
    assert!(transformed.iter().all(|t| t["needs_resigning"] == true));
    assert!(
        first["transform"]["failures"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Injected: three packages as oem0..2.inf, vstor reflected; the image verifies clean.
    let inject = first["inject"].as_array().unwrap();
    let published: Vec<&str> = inject
        .iter()
        .map(|d| d["published"].as_str().unwrap())
        .collect();
    assert_eq!(published, ["oem0.inf", "oem1.inf", "oem2.inf"]);
    assert_eq!(inject[0]["inf"], "vstor.inf");
    assert_eq!(inject[0]["boot_critical"], true);
    assert!(first["verify"]["findings"].as_array().unwrap().is_empty());
    let image = dir.join("image");
    for d in inject {
        let repo = image
            .join("Windows/System32/DriverStore/FileRepository")
            .join(d["repository"].as_str().unwrap());
        assert!(repo.is_dir(), "{}", repo.display());
    }
    // trim removed the utility from the staged vstor package.
    let vstor_repo = image
        .join("Windows/System32/DriverStore/FileRepository")
        .join(inject[0]["repository"].as_str().unwrap());
    assert!(vstor_repo.join("amd64/vstor.sys").is_file());
    assert!(!vstor_repo.join("amd64/contoso_util.dll").exists());
    // An independent reader sees the records: hivexget on the DeviceIds value of vstor's first
    // hardware ID (windows-driver-internals.md §1.5: flag 1, feature score FF, k 0).
    let out = infuse_tests::oracle("hivexget")
        .arg(image.join("Windows/System32/config/DRIVERS"))
        .arg(r"DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r#""oem0.inf"=hex(3):01,ff,00,00"#),
        "hivexget: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary["boot_critical_uncovered"], 0);

    // A second run finds every package unchanged and stores nothing.
    let second = demo(&dir);
    assert_eq!(second["add"]["unchanged"], 4);
    assert_eq!(second["add"]["files_stored"], 0);
    assert_eq!(second["match"]["summary"], first["match"]["summary"]);
}
