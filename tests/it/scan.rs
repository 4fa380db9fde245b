//! End-to-end tests of `infuse scan`: every source through the real binary.

use std::path::PathBuf;

use infuse_tests::{infuse, repo_root};
use serde_json::Value;

fn sysfs_fixture(name: &str) -> PathBuf {
    repo_root().join("core/fixtures/sysfs").join(name)
}

fn scan_json(args: &[&str]) -> Value {
    let out = infuse()
        .arg("scan")
        .args(args)
        .arg("--json")
        .arg("--no-names")
        .output()
        .expect("run infuse");
    assert!(
        out.status.success(),
        "infuse scan {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scan --json prints JSON")
}

fn ids(dev: &Value, key: &str) -> Vec<String> {
    dev[key]
        .as_array()
        .expect("id list")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

fn device<'a>(inv: &'a Value, hw0: &str) -> &'a Value {
    inv["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| {
            d["hardware_ids"][0]
                .as_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(hw0))
        })
        .unwrap_or_else(|| panic!("no device {hw0}"))
}

#[test]
fn sysfs_tree_gives_windows_ladders() {
    // core/fixtures/sysfs/laptop-thinkpad-t450: built from the linuxhw lspci/lsusb dumps of a
    // ThinkPad T450, machine type 20BU (provenance and expected ladders in that README and in
    // hwid/sysfs.rs).
    let root = sysfs_fixture("laptop-thinkpad-t450");
    let inv = scan_json(&["--sysfs", root.to_str().expect("utf-8 path")]);
    // The webcam's IAD makes interfaces 0-1 one usbccgp child, MI_00, with the IAD's class
    // ([WDD] usbcon/enumeration-of-interface-collections-on-devices-that-have-iads.md).
    let cam = device(&inv, r"USB\VID_04CA&PID_703C&REV_0017&MI_00");
    assert_eq!(
        ids(cam, "compatible_ids"),
        [
            r"USB\Class_0e&SubClass_03&Prot_00",
            r"USB\Class_0e&SubClass_03",
            r"USB\Class_0e"
        ]
    );
    assert_eq!(cam["bus"], "usb");
    let sata = device(&inv, r"PCI\VEN_8086&DEV_9C83&SUBSYS_503417AA&REV_03");
    assert_eq!(sata["boot_critical"], true);
    assert_eq!(sata["location"], "0000:00:1f.2");
}

#[test]
fn text_output_numbers_the_ids() {
    let root = sysfs_fixture("this-vm");
    let out = infuse()
        .args(["scan", "--no-names", "--sysfs"])
        .arg(&root)
        .output()
        .expect("run infuse");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r"#0  PCI\VEN_1AF4&DEV_1041&SUBSYS_10411AF4&REV_01"),
        "{text}"
    );
    assert!(text.contains(r"#6  PCI\CC_0200"), "{text}");
}

#[test]
fn lspci_windows_exports_and_profiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lspci = dir.path().join("lspci.txt");
    std::fs::write(
        &lspci,
        "00:02.0 VGA compatible controller [0300]: Intel Corporation 2nd Generation Core Processor Family Integrated Graphics Controller [8086:0106] (rev 09) (prog-if 00 [VGA controller])\n\tSubsystem: ASUSTeK Computer Inc. Device [1043:844d]\n",
    )
    .expect("write");
    let inv = scan_json(&["--lspci", lspci.to_str().expect("utf-8")]);
    // peers-and-corpora.md §4: this probe line converts to PCI\VEN_8086&DEV_0106&SUBSYS_844D1043&REV_09 ….
    let gpu = device(&inv, r"PCI\VEN_8086&DEV_0106&SUBSYS_844D1043&REV_09");
    assert_eq!(
        ids(gpu, "compatible_ids").last().map(String::as_str),
        Some(r"PCI\CC_0300")
    );

    let devcon = dir.path().join("hwids.txt");
    std::fs::write(
        &devcon,
        "ACPI_HAL\\PNP0C08\\0\r\n    Name: Microsoft ACPI-Compliant System\r\n    Hardware IDs:\r\n        ACPI_HAL\\PNP0C08\r\n        *PNP0C08\r\nHTREE\\ROOT\\0\r\n    No hardware/compatible IDs found for this device.\r\n2 matching device(s) found.\r\n",
    )
    .expect("write");
    let inv = scan_json(&["--inventory", devcon.to_str().expect("utf-8")]);
    assert_eq!(inv["devices"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        ids(&inv["devices"][0], "hardware_ids"),
        ["ACPI_HAL\\PNP0C08", "*PNP0C08"]
    );

    let profile = dir.path().join("vm.toml");
    std::fs::write(
        &profile,
        "[[device]]\ndescription = \"virtio block\"\npci = { vendor = 0x1af4, device = 0x1001, subsys_vendor = 0x1af4, subsys_device = 0x0002, class = 0x010000 }\n",
    )
    .expect("write");
    let inv = scan_json(&["--profile", profile.to_str().expect("utf-8")]);
    // windows-driver-internals.md §3.2a: QEMU virtio-blk reports PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00 first.
    let blk = device(&inv, r"PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00");
    assert_eq!(blk["description"], "virtio block");
    assert_eq!(blk["boot_critical"], true);
}

#[test]
fn unreadable_sources_fail_with_the_path() {
    let out = infuse()
        .args(["scan", "--profile", "/nonexistent/profile.toml"])
        .output()
        .expect("run infuse");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/profile.toml"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[device]]\npci = { vendor = 1 }\n").expect("write");
    let out = infuse()
        .args(["scan", "--profile"])
        .arg(&bad)
        .output()
        .expect("run infuse");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2"), "{err}");
}

#[test]
fn record_script_keeps_what_the_reader_needs() {
    // core/fixtures/sysfs/record.sh copies only the attributes the reader uses; re-recording a
    // fixture tree must give the same devices.
    let src = sysfs_fixture("laptop-thinkpad-t450");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("recorded");
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("core/fixtures/sysfs/record.sh"))
        .arg(&src)
        .arg(&out)
        .status()
        .expect("run record.sh");
    assert!(status.success());
    let a = scan_json(&["--sysfs", src.to_str().expect("utf-8")]);
    let b = scan_json(&["--sysfs", out.to_str().expect("utf-8")]);
    assert_eq!(a["devices"], b["devices"]);
    assert!(a["devices"].as_array().is_some_and(|d| d.len() > 20));
}

#[test]
fn os_flag_builds_the_ladders_of_that_windows() {
    // usbhub3 on 22621 and later adds `USB\COMPAT_VID_…` ahead of the class IDs (decompiled
    // HUBID_BuildClassCompatibleID, nohuto/decompiled-pseudocode 11-21H2 vs 11-23H2/USBHUB3);
    // the SanDisk flash drive 0781:5580 of the desktop tree (interface 08/06/50).
    let root = sysfs_fixture("desktop-asus-p8b75-m");
    let root = root.to_str().expect("utf-8 path");
    let flash = r"USB\VID_0781&PID_5580&REV_0010";
    let inv = scan_json(&["--sysfs", root]);
    assert_eq!(
        ids(device(&inv, flash), "compatible_ids")[0],
        r"USB\Class_08&SubClass_06&Prot_50"
    );
    assert!(
        inv["source"]
            .as_str()
            .is_some_and(|s| s.contains("no --os given"))
    );
    let inv = scan_json(&["--sysfs", root, "--os", "10.0.26100"]);
    assert_eq!(
        ids(device(&inv, flash), "compatible_ids")[..4],
        [
            r"USB\COMPAT_VID_0781&Class_08&SubClass_06&Prot_50",
            r"USB\COMPAT_VID_0781&Class_08&SubClass_06",
            r"USB\COMPAT_VID_0781&Class_08",
            r"USB\Class_08&SubClass_06&Prot_50",
        ]
    );
    let out = infuse()
        .args(["scan", "--sysfs", root, "--os", "11"])
        .output()
        .expect("run infuse");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not major.minor.build"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ehci_devices_get_the_usb2_stacks_lists() {
    // The desktop tree's buses 1-2 hang off its two EHCIs (root hubs 1d6b:0002 with
    // bDeviceProtocol 0), bus 4 off the xHCI. Windows enumerates EHCI devices with the USB 2.0
    // stack ([WDD] usbcon/usb-3-0-driver-stack-architecture.md): usbhub.sys gives a hub its class
    // triple, after the COMPAT_VID three on 22621+ (decompiled UsbhBuildClassCompatibleID /
    // UsbhBuildVendorSpecificCompatibleIDs, nohuto/decompiled-pseudocode 11-24H2/usbhub), while
    // usbhub3 gives the xHCI's SuperSpeed hub the one ID USB\USB30_HUB
    // (HUBID_BuildHubCompatibleID).
    let root = sysfs_fixture("desktop-asus-p8b75-m");
    let inv = scan_json(&[
        "--sysfs",
        root.to_str().expect("utf-8 path"),
        "--os",
        "10.0.26100",
    ]);
    assert_eq!(
        ids(
            device(&inv, r"USB\VID_05E3&PID_0608&REV_7764"),
            "compatible_ids"
        ),
        [
            r"USB\COMPAT_VID_05E3&Class_09&SubClass_00&Prot_01",
            r"USB\COMPAT_VID_05E3&Class_09&SubClass_00",
            r"USB\COMPAT_VID_05E3&Class_09",
            r"USB\Class_09&SubClass_00&Prot_01",
            r"USB\Class_09&SubClass_00",
            r"USB\Class_09",
        ]
    );
    assert_eq!(
        ids(
            device(&inv, r"USB\VID_2109&PID_0812&REV_9091"),
            "compatible_ids"
        ),
        [r"USB\USB30_HUB"]
    );
}
