//! `infuse demo`, the README's first command: it must run with nothing but the binary, pick the
//! drivers the bundled packages say, and be incremental on a second run.

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
    // The audio codec's only package lacks its payload: never chosen.
    assert!(winner(&first, "HDAUDIO\\FUNC_01&VEN_10EC&DEV_0269").is_none());
    // The webcam has no driver in the store.
    assert!(winner(&first, "USB\\VID_5986&PID_0535").is_none());
    let summary = &first["match"]["summary"];
    assert_eq!(summary["covered"], 3);
    assert_eq!(summary["boot_critical_uncovered"], 0);

    // A second run finds every package unchanged and stores nothing.
    let second = demo(&dir);
    assert_eq!(second["add"]["unchanged"], 4);
    assert_eq!(second["add"]["files_stored"], 0);
    assert_eq!(second["match"]["summary"], first["match"]["summary"]);
}
