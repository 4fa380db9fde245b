//! The record formats and builders against the facts of windows-driver-internals.md §1.3-§1.7.
//! Oracle checks (hivex, reglookup) of the same records applied to hives are in
//! `core/tests/records.rs`.

use std::path::PathBuf;

use infuse_driver_store::inf::model::{Arch, Model};
use infuse_driver_store::inf::{Inf, ParseOptions, parse_with};

use super::*;
use crate::rank::Target;
use crate::stage::plan::{FileOp, HiveFile, RegOp};

fn target(arch: Arch, build: u32) -> Target {
    Target {
        major: 10,
        minor: 0,
        build,
        arch,
        product_type: 1,
        suite_mask: 0x100,
    }
}

fn parse(text: &str) -> (Inf, Model) {
    let opts = ParseOptions {
        expand_dirids: false,
        ..ParseOptions::default()
    };
    let inf = parse_with(text.as_bytes(), &opts);
    let model = Model::new(&inf);
    (inf, model)
}

fn input<'a>(inf: &'a Inf, model: &'a Model, name: &str, files: &[&str]) -> PackageInstall<'a> {
    let t = target(Arch::Amd64, 22631);
    PackageInstall {
        inf,
        model,
        inf_name: name.into(),
        published: "oem3.inf".into(),
        repository: repository_name(name, Arch::Amd64, b"inf", b"cat"),
        target: t,
        layout: DbLayout::DriversHive,
        control_set: 1,
        system_has_driver_database: true,
        oem_path: r"D:\drivers".into(),
        signer_name: "Contoso Test Signer".into(),
        signer_score: 0x0D00_0005,
        import_date: 0x01DA_0000_0000_0000,
        files: files
            .iter()
            .map(|p| PackageFile {
                path: p.to_string(),
                size: 100,
                source: PathBuf::from("/pkg").join(p),
            })
            .collect(),
        oem_inf_map: vec![0xE0],
        previous_packages: Vec::new(),
    }
}

fn value<'a>(ops: &'a [HiveOp], hive: HiveFile, key: &str, name: &str) -> Option<(u32, &'a [u8])> {
    ops.iter().rev().find_map(|o| match &o.op {
        RegOp::SetValue {
            key: k,
            name: n,
            kind,
            data,
        } if o.hive == hive && k.eq_ignore_ascii_case(key) && n.eq_ignore_ascii_case(name) => {
            Some((*kind, data.as_slice()))
        }
        _ => None,
    })
}

fn sz(s: &str) -> Vec<u8> {
    crate::hive::utf16z(s)
}

/// §1.5: the real capture `00 ff 09 00 00 00 00 00 | 7b e9 36 4d 25 e3 ce 11 bf c1 08 00 2b e1
/// 03 18 | 00 c0 97 8c 0f e7 d7 01 | fc 53 68 00 5a 00 64 00 | 00×8` = amd64, SCSIAdapter,
/// 2021-12-02, 100.90.104.21500.
#[test]
fn version_blob_matches_the_capture() {
    let guid = guid_bytes("{4D36E97B-E325-11CE-BFC1-08002BE10318}").expect("guid");
    let date = filetime_of_date(2021, 12, 2);
    assert_eq!(date, 0x01D7_E70F_8C97_C000);
    let version = (100u64 << 48) | (90 << 32) | (104 << 16) | 21500;
    let blob = version_blob(Arch::Amd64, &guid, date, version);
    let want = hex::decode(
        "00ff090000000000\
         7be9364d25e3ce11bfc108002be10318\
         00c0978c0fe7d701\
         fc5368005a006400\
         0000000000000000",
    )
    .expect("hex");
    assert_eq!(blob.to_vec(), want);
}

#[test]
fn formats_refuse_what_they_cannot_encode() {
    assert_eq!(guid_bytes("4D36E97B-E325-11CE-BFC1-08002BE10318"), None);
    assert_eq!(guid_bytes("{4D36E97B-E325-11CE-BFC1-08002BE1031}"), None);
    assert_eq!(guid_bytes("{4D36E97B-E325-11CE-BFC1-08002BE1031G}"), None);
    assert_eq!(processor_architecture(Arch::X86), 0);
    assert_eq!(processor_architecture(Arch::Arm64), 12);
    assert_eq!(filetime_of_date(1601, 1, 1), 0);
    assert_eq!(oem_number("OEM12.INF"), Some(12));
    assert_eq!(oem_number("oem.inf"), None);
    assert_eq!(oem_number("machine.inf"), None);
}

/// §1.3: OemInfMap observed `80` with one OEM INF, `e0` with three (MSB-first, INFERRED).
#[test]
fn oem_inf_map_is_msb_first() {
    assert_eq!(ddb::set_oem_bit(&[], 0, true), [0x80]);
    let three = [0, 1, 2]
        .iter()
        .fold(Vec::new(), |m, &n| ddb::set_oem_bit(&m, n, true));
    assert_eq!(three, [0xE0]);
    assert_eq!(ddb::set_oem_bit(&[0xE0], 9, true), [0xE0, 0x40]);
    assert_eq!(ddb::set_oem_bit(&[0xE0, 0x40], 9, false), [0xE0]);
    assert_eq!(ddb::set_oem_bit(&[0xE0], 1, false), [0xA0]);
}

/// §1.3: `<inf lower>_<arch>_<16 hex>`, stable for the same bytes, different for another catalog.
#[test]
fn repository_names_are_stable_hashes() {
    let a = repository_name("VStor.inf", Arch::Amd64, b"inf bytes", b"cat bytes");
    assert_eq!(
        a,
        repository_name("vstor.inf", Arch::Amd64, b"inf bytes", b"cat bytes")
    );
    assert!(a.starts_with("vstor.inf_amd64_"), "{a}");
    assert_eq!(a.len(), "vstor.inf_amd64_".len() + 16);
    assert_ne!(
        a,
        repository_name("vstor.inf", Arch::Amd64, b"inf bytes", b"cat bytez")
    );
    assert_ne!(
        a,
        repository_name("vstor.inf", Arch::Amd64, b"inf bytescat", b" bytes")
    );
}

/// A boot-start storage driver written for these tests: DIRID 12 binary, event log, `.HW`
/// AddReg, service AddReg, PnpLockdown.
pub(crate) const VBLK: &str = r#"[Version]
Signature="$Windows NT$"
Class=SCSIAdapter
ClassGuid={4D36E97B-E325-11CE-BFC1-08002BE10318}
Provider=%Mfg%
DriverVer=03/15/2024,3.1.4.15
CatalogFile=vblk.cat
PnpLockdown=1
[SourceDisksNames]
1=%Disk%,,,
[SourceDisksFiles]
vblk.sys=1
[DestinationDirs]
DefaultDestDir=12
[Manufacturer]
%Mfg%=Mfg,NTamd64.10.0
[Mfg.NTamd64.10.0]
%Blk.Desc%=blk_inst,PCI\VEN_1D0F&DEV_8061&SUBSYS_00000000&REV_00,PCI\VEN_1D0F&DEV_8061,PCI\CC_010802
[blk_inst]
CopyFiles=blk_files
FeatureScore=0xFC
[blk_files]
vblk.sys
[blk_inst.HW]
AddReg=blk_hw
[blk_hw]
HKR,"Interrupt Management\MessageSignaledInterruptProperties",MSISupported,0x00010001,1
[blk_inst.Services]
AddService=vblk,0x00000002,blk_svc,blk_evt
[blk_svc]
DisplayName=%Blk.Svc%
ServiceType=1
StartType=0
ErrorControl=3
ServiceBinary=%12%\vblk.sys
LoadOrderGroup=SCSI miniport
AddReg=blk_params
[blk_params]
HKR,Parameters,BusType,0x00010001,17
[blk_evt]
AddReg=blk_evt_reg
[blk_evt_reg]
HKR,,EventMessageFile,0x00020000,"%%SystemRoot%%\System32\IoLogMsg.dll"
HKR,,TypesSupported,0x00010001,7
[Strings]
Mfg="Contoso"
Disk="Contoso disk"
Blk.Desc="Contoso Block Controller"
Blk.Svc="Contoso Block Service"
"#;

#[test]
fn device_ids_carry_flags_feature_score_and_position() {
    let (inf, model) = parse(VBLK);
    let rec = install_records(&input(
        &inf,
        &model,
        "vblk.inf",
        &["vblk.inf", "vblk.cat", "vblk.sys"],
    ))
    .expect("records");
    let d = HiveFile::Drivers;
    // §1.5: byte 0 flags (1 hw-id, 2 compatible), byte 1 FeatureScore, bytes 2-3 k (u16 LE).
    let ids = [
        (
            r"PCI\VEN_1D0F&DEV_8061&SUBSYS_00000000&REV_00",
            [1u8, 0xFC, 0, 0],
        ),
        (r"PCI\VEN_1D0F&DEV_8061", [2, 0xFC, 0, 0]),
        (r"PCI\CC_010802", [2, 0xFC, 1, 0]),
    ];
    for (id, want) in ids {
        let key = format!(r"DriverDatabase\DeviceIds\{id}");
        assert_eq!(
            value(&rec.hives, d, &key, "oem3.inf"),
            Some((3, &want[..])),
            "{id}"
        );
    }
    let class = r"DriverDatabase\DeviceIds\{4d36e97b-e325-11ce-bfc1-08002be10318}";
    assert_eq!(value(&rec.hives, d, class, "oem3.inf"), Some((0, &[][..])));
    // DriverInfFiles: (default) MULTI_SZ of package ids, Active, Configurations.
    let pkg = repository_name("vblk.inf", Arch::Amd64, b"inf", b"cat");
    let inf_key = r"DriverDatabase\DriverInfFiles\oem3.inf";
    assert_eq!(
        value(&rec.hives, d, inf_key, ""),
        Some((7, &crate::hive::multi_sz(&[&pkg])[..]))
    );
    assert_eq!(
        value(&rec.hives, d, inf_key, "Active"),
        Some((1, &sz(&pkg)[..]))
    );
    assert_eq!(
        value(&rec.hives, d, inf_key, "Configurations"),
        Some((7, &crate::hive::multi_sz(&["blk_inst"])[..]))
    );
    // OemInfMap: oem3 joins oem0-2.
    assert_eq!(
        value(&rec.hives, d, "DriverDatabase", "OemInfMap"),
        Some((3, &[0xF0][..]))
    );
    // Descriptors and Strings: tokens, lower-case.
    let desc = format!(r"DriverDatabase\DriverPackages\{pkg}\Descriptors\PCI\CC_010802");
    assert_eq!(
        value(&rec.hives, d, &desc, "Description"),
        Some((1, &sz("%blk.desc%")[..]))
    );
    assert_eq!(
        value(&rec.hives, d, &desc, "Manufacturer"),
        Some((1, &sz("%mfg%")[..]))
    );
    assert_eq!(
        value(&rec.hives, d, &desc, "Configuration"),
        Some((1, &sz("blk_inst")[..]))
    );
    let strings = format!(r"DriverDatabase\DriverPackages\{pkg}\Strings");
    assert_eq!(
        value(&rec.hives, d, &strings, "blk.desc"),
        Some((1, &sz("Contoso Block Controller")[..]))
    );
    // Configurations: the .HW AddReg under Device, the service AddReg under Services\<svc>.
    let cfg = format!(r"DriverDatabase\DriverPackages\{pkg}\Configurations\blk_inst");
    assert_eq!(
        value(&rec.hives, d, &cfg, "Service"),
        Some((1, &sz("vblk")[..]))
    );
    assert_eq!(
        value(&rec.hives, d, &cfg, "ConfigScope"),
        Some((4, &7u32.to_le_bytes()[..]))
    );
    let msi = format!(r"{cfg}\Device\Interrupt Management\MessageSignaledInterruptProperties");
    assert_eq!(
        value(&rec.hives, d, &msi, "MSISupported"),
        Some((4, &1u32.to_le_bytes()[..]))
    );
    let bus = format!(r"{cfg}\Services\vblk\Parameters");
    assert_eq!(
        value(&rec.hives, d, &bus, "BusType"),
        Some((4, &17u32.to_le_bytes()[..]))
    );
    // The boot-critical mirror in SYSTEM\DriverDatabase (§1.4), without OemInfMap.
    assert!(rec.boot_critical);
    let s = HiveFile::System;
    assert!(value(&rec.hives, s, inf_key, "Active").is_some());
    assert!(value(&rec.hives, s, "DriverDatabase", "OemInfMap").is_none());
}

#[test]
fn boot_critical_services_take_the_inf_values() {
    let (inf, model) = parse(VBLK);
    let rec = install_records(&input(
        &inf,
        &model,
        "vblk.inf",
        &["vblk.inf", "vblk.cat", "vblk.sys"],
    ))
    .expect("records");
    let s = HiveFile::System;
    let key = r"ControlSet001\Services\vblk";
    let dw = |v: u32| v.to_le_bytes().to_vec();
    assert_eq!(value(&rec.hives, s, key, "Type"), Some((4, &dw(1)[..])));
    assert_eq!(value(&rec.hives, s, key, "Start"), Some((4, &dw(0)[..])));
    assert_eq!(
        value(&rec.hives, s, key, "ErrorControl"),
        Some((4, &dw(3)[..]))
    );
    // §1.6: DIRID 12 → `System32\drivers\x.sys` (REG_EXPAND_SZ), as real Windows writes it.
    assert_eq!(
        value(&rec.hives, s, key, "ImagePath"),
        Some((2, &sz(r"System32\drivers\vblk.sys")[..]))
    );
    assert_eq!(
        value(&rec.hives, s, key, "Group"),
        Some((1, &sz("SCSI miniport")[..]))
    );
    assert_eq!(
        value(&rec.hives, s, key, "Owners"),
        Some((7, &crate::hive::multi_sz(&["oem3.inf"])[..]))
    );
    assert_eq!(
        value(&rec.hives, s, &format!(r"{key}\Parameters"), "BusType"),
        Some((4, &dw(17)[..]))
    );
    let evt = r"ControlSet001\Services\EventLog\System\vblk";
    assert_eq!(
        value(&rec.hives, s, evt, "TypesSupported"),
        Some((4, &dw(7)[..]))
    );
    assert_eq!(
        value(&rec.hives, s, evt, "EventMessageFile"),
        Some((2, &sz(r"%SystemRoot%\System32\IoLogMsg.dll")[..]))
    );
    // §1.3: the .sys is copied to System32\drivers; §1.7: PnpLockdownFiles names it.
    assert_eq!(
        rec.files,
        [FileOp::Put {
            dest: "Windows/System32/drivers/vblk.sys".into(),
            source: crate::stage::plan::FileSource::Path {
                path: PathBuf::from("/pkg/vblk.sys")
            },
            size: 100,
            sha256: None,
        }]
    );
    let lock = format!(
        r"{}\%SystemRoot%/System32/drivers/vblk.sys",
        reflect::PNP_LOCKDOWN_FILES
    );
    assert_eq!(
        value(&rec.hives, HiveFile::Software, &lock, "Class"),
        Some((4, &dw(4)[..]))
    );
    let pkg = repository_name("vblk.inf", Arch::Amd64, b"inf", b"cat");
    let src = format!(r"%SystemRoot%\System32\DriverStore\FileRepository\{pkg}\vblk.sys");
    assert_eq!(
        value(&rec.hives, HiveFile::Software, &lock, "Source"),
        Some((2, &sz(&src)[..]))
    );
}

#[test]
fn legacy_images_get_critical_device_database_entries() {
    let (inf, model) = parse(VBLK);
    let mut i = input(
        &inf,
        &model,
        "vblk.inf",
        &["vblk.inf", "vblk.cat", "vblk.sys"],
    );
    i.layout = DbLayout::Legacy;
    i.target.build = 7601;
    i.target.minor = 1;
    i.target.major = 6;
    // Models is decorated NTamd64.10.0: nothing applies to Windows 7.
    assert!(matches!(
        install_records(&i),
        Err(RecordError::NoNodes { .. })
    ));
    let text = VBLK.replace("NTamd64.10.0", "NTamd64");
    let (inf, model) = parse(&text);
    let mut i = input(
        &inf,
        &model,
        "vblk.inf",
        &["vblk.inf", "vblk.cat", "vblk.sys"],
    );
    i.layout = DbLayout::Legacy;
    (i.target.major, i.target.minor, i.target.build) = (6, 1, 7601);
    let rec = install_records(&i).expect("records");
    assert!(
        rec.hives.iter().all(|o| o.hive == HiveFile::System),
        "no DriverDatabase on Windows 7"
    );
    // §1.6: `\` of the ID replaced by `#`, Service and ClassGUID.
    let key = r"ControlSet001\Control\CriticalDeviceDatabase\PCI#VEN_1D0F&DEV_8061";
    assert_eq!(
        value(&rec.hives, HiveFile::System, key, "Service"),
        Some((1, &sz("vblk")[..]))
    );
    assert_eq!(
        value(&rec.hives, HiveFile::System, key, "ClassGUID"),
        Some((1, &sz("{4D36E97B-E325-11CE-BFC1-08002BE10318}")[..]))
    );
}

/// DESIGN.md: paths from data are never trusted; each refusal names the INF line.
#[test]
fn hostile_packages_are_refused_with_their_line() {
    let files = ["vblk.inf", "vblk.cat", "vblk.sys"];
    // The line each refusal must name, found in the text (1-based).
    let line_of = |text: &str, needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .map_or(0, |i| i as u32 + 1)
    };
    let traversal = VBLK.replace("vblk.sys=1\n", "vblk.sys=1,..\\..\\evil\n");
    let outside = VBLK.replace(
        r"ServiceBinary=%12%\vblk.sys",
        r"ServiceBinary=C:\Tools\vblk.sys",
    );
    let climbing = VBLK.replace(
        r"ServiceBinary=%12%\vblk.sys",
        r"ServiceBinary=%12%\..\..\vblk.sys",
    );
    let cases: Vec<(&str, &[&str], u32, &str)> = vec![
        // traversal in SourceDisksFiles
        (
            &traversal,
            &files,
            line_of(&traversal, "vblk.sys=1,"),
            "refused",
        ),
        // a file the package does not have (its CopyFiles list line)
        (
            VBLK,
            &["vblk.inf", "vblk.cat"],
            line_of(VBLK, "[blk_files]") + 1,
            "not a file of the package",
        ),
        // a service binary outside the image (the AddService line)
        (
            &outside,
            &files,
            line_of(&outside, "AddService="),
            "outside the image",
        ),
        (
            &climbing,
            &files,
            line_of(&climbing, "AddService="),
            "refused",
        ),
    ];
    for (text, files, line, what) in cases {
        let (inf, model) = parse(text);
        match install_records(&input(&inf, &model, "vblk.inf", files)) {
            Err(e @ RecordError::Refused { line: l, .. }) => {
                let msg = e.to_string();
                assert_eq!(l, line, "{msg}");
                assert!(msg.starts_with(&format!("vblk.inf:{line}: ")), "{msg}");
                assert!(msg.contains(what), "{msg}");
            }
            other => panic!("expected a refusal at line {line}: {other:?}"),
        }
    }
}

/// The in-repo vstor fixture: DIRID 13 (run from the driver store, §1.3): no file copies, the
/// ImagePath inside the package's FileRepository folder, at the subdir the INF stages it in
/// (`DefaultDestDir = 13,amd64` = SourceDisksNames' `\amd64`, as run-from-driver-store requires).
#[test]
fn run_from_driver_store_packages_point_into_the_repository() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../driver-store/fixtures/packages/vstor");
    let bytes = std::fs::read(dir.join("vstor.inf")).expect("vstor fixture");
    let opts = ParseOptions {
        expand_dirids: false,
        ..ParseOptions::default()
    };
    let inf = parse_with(&bytes, &opts);
    let model = Model::new(&inf);
    let t = target(Arch::Amd64, 22631);
    let files = package_files("vstor.inf", &model, &t);
    assert_eq!(
        files,
        [
            "vstor.inf",
            "vstor.cat",
            "amd64/vstor.sys",
            "amd64/contoso_util.dll"
        ]
    );
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let i = input(&inf, &model, "vstor.inf", &refs);
    let rec = install_records(&i).expect("records");
    assert!(rec.files.is_empty(), "{:?}", rec.files);
    let path = format!(
        r"System32\DriverStore\FileRepository\{}\amd64\vstor.sys",
        i.repository
    );
    assert_eq!(
        value(
            &rec.hives,
            HiveFile::System,
            r"ControlSet001\Services\vstor",
            "ImagePath"
        ),
        Some((2, &sz(&path)[..]))
    );
    // Before Windows 10 1709 DIRID 13 does not exist.
    let mut old = input(&inf, &model, "vstor.inf", &refs);
    old.target.build = 15063;
    let err = install_records(&old).expect_err("DIRID 13 on 1703");
    assert!(err.to_string().contains("1709"), "{err}");
}

#[test]
fn updates_keep_every_package_id_and_activate_the_new_one() {
    let (inf, model) = parse(VBLK);
    let mut i = input(
        &inf,
        &model,
        "vblk.inf",
        &["vblk.inf", "vblk.cat", "vblk.sys"],
    );
    i.previous_packages = vec!["vblk.inf_amd64_0123456789abcdef".into()];
    let rec = install_records(&i).expect("records");
    let key = r"DriverDatabase\DriverInfFiles\oem3.inf";
    let both = crate::hive::multi_sz(&["vblk.inf_amd64_0123456789abcdef", &i.repository]);
    assert_eq!(
        value(&rec.hives, HiveFile::Drivers, key, ""),
        Some((7, &both[..]))
    );
    assert_eq!(
        value(&rec.hives, HiveFile::Drivers, key, "Active"),
        Some((1, &sz(&i.repository)[..]))
    );
}
