//! Golden tests: Windows' own rank examples and real `devcon drivernodes` ranks, Wine's
//! decorated-section and driver-list facts, tie-breakers — each through the real INF parser and
//! model, then the ranking.

use infuse_driver_store::inf::model::Arch;

use super::memory::MemoryStore;
use super::score::{IdMatch, Signature, SignatureRules};
use super::select::{DeviceMatch, Exclusion, Verdict};
use super::target::Target;
use crate::hwid::Device;
use crate::hwid::ladder::{PciFunction, pci_ids};

fn target(os: &str, arch: &str) -> Target {
    Target::parse(os, arch, None, None).expect("target")
}

fn device(hw: &[&str], compat: &[&str]) -> Device {
    Device::new(
        format!("{}\\0", hw.first().copied().unwrap_or("ROOT\\X")),
        hw.iter().map(|s| (*s).to_owned()).collect(),
        compat.iter().map(|s| (*s).to_owned()).collect(),
    )
}

fn signed(_: Arch) -> bool {
    true
}

fn unsigned(_: Arch) -> bool {
    false
}

/// `(description, rank value, verdict kind)` of every candidate, in report order.
fn summary(m: &DeviceMatch) -> Vec<(String, u32, &'static str)> {
    m.candidates
        .iter()
        .map(|c| {
            let v = match &c.verdict {
                Verdict::Selected => "selected",
                Verdict::Lost { .. } => "lost",
                Verdict::Excluded { .. } => "excluded",
            };
            (c.node.description.clone(), c.rank.value(), v)
        })
        .collect()
}

const MACHINE_INF: &str = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=System\r\nClassGuid={4d36e97d-e325-11ce-bfc1-08002be10318}\r\nProvider=%MSFT%\r\nDriverVer=06/21/2006,10.0.22000.1\r\n\r\n[Manufacturer]\r\n%StdMfg%=MsMachine,NTamd64\r\n\r\n[MsMachine.NTamd64]\r\n%FixedButton.DeviceDesc%=NO_DRV,ACPI\\FixedButton\r\n%PciRam.DeviceDesc%=NO_DRV,PCI\\CC_0500\r\n\r\n[NO_DRV]\r\n\r\n[Strings]\r\nMSFT=\"Microsoft\"\r\nStdMfg=\"(Standard system devices)\"\r\nFixedButton.DeviceDesc=\"ACPI Fixed Feature Button\"\r\nPciRam.DeviceDesc=\"PCI standard RAM Controller\"\r\n";

const OEM104_INF: &str = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=System\r\nClassGuid={4d36e97d-e325-11ce-bfc1-08002be10318}\r\nProvider=%INTEL%\r\nDriverVer=07/18/1968,10.1.36.7\r\n\r\n[Manufacturer]\r\n%INTEL%=INTEL,NTamd64.10.0...16299\r\n\r\n[INTEL.NTamd64.10.0...16299]\r\n%SramDesc%=Needs_NO_DRV,PCI\\VEN_8086&DEV_51EF\r\n\r\n[Needs_NO_DRV]\r\nInclude=machine.inf\r\nNeeds=NO_DRV\r\n\r\n[Strings]\r\nINTEL=\"INTEL\"\r\nSramDesc=\"Intel(R) Shared SRAM - 51EF\"\r\n";

#[test]
fn devcon_drivernodes_ranks_are_reproduced() {
    // inf-behaviour.md §J: `devcon drivernodes` on Windows 10.0.22000 (intel/mfd-devcon data).
    let mut store = MemoryStore::new();
    store.add_inf("machine.inf", MACHINE_INF.as_bytes(), signed);
    store.add_inf("oem104.inf", OEM104_INF.as_bytes(), signed);
    let t = target("10.0.22000", "amd64");

    // ACPI\FIXEDBUTTON\2&DABA3FF&0: machine.inf / NO_DRV, rank 16711680 = 0x00FF0000.
    let button = device(&[r"ACPI\FixedButton", "*FixedButton"], &[]);
    let m = store.match_device(&button, &t, SignatureRules::CatalogPresent);
    let w = m.winner().expect("machine.inf wins");
    assert_eq!(
        (w.node.inf.as_str(), w.install(), w.rank.value()),
        ("machine.inf", "NO_DRV", 16_711_680)
    );
    assert_eq!(
        w.explanation,
        "0x00FF0000 = signed | feature FF | HW ID #0 = INF HW ID"
    );

    // PCI\VEN_8086&DEV_51EF&SUBSYS_897F103C&REV_01: machine.inf 16719878 (0x00FF2006, compatible
    // ID #6 = PCI\CC_0500) loses to oem104.inf 16719873 (0x00FF2001, compatible ID #1 =
    // PCI\VEN_8086&DEV_51EF) although its DriverVer date is 1968: rank comes first (§3.2).
    let (hw, compat) = pci_ids(&PciFunction {
        vendor: 0x8086,
        device: 0x51EF,
        subsys_vendor: 0x103C,
        subsys_device: 0x897F,
        class: 0x050000,
        revision: 0x01,
    });
    let sram = Device::new(format!("{}\\3&11583659&0&A2", hw[0]), hw, compat);
    let m = store.match_device(&sram, &t, SignatureRules::CatalogPresent);
    assert_eq!(
        summary(&m),
        [
            (
                "Intel(R) Shared SRAM - 51EF".to_owned(),
                16_719_873,
                "selected"
            ),
            ("PCI standard RAM Controller".to_owned(), 16_719_878, "lost"),
        ]
    );
    assert_eq!(m.candidates[0].install(), "Needs_NO_DRV");
    assert_eq!(m.candidates[0].rank.id_match, IdMatch::CompatToHw { j: 1 });
    assert_eq!(m.candidates[1].rank.id_match, IdMatch::CompatToHw { j: 6 });
    assert_eq!(m.candidates[1].matched_id, r"PCI\CC_0500");
    assert_eq!(
        m.candidates[1].verdict,
        Verdict::Lost {
            why: "higher rank (0x00FF2006 > 0x00FF2001)".into()
        }
    );
}

const WINE_DRIVER_LIST_INF: &str = "[Version]\nSignature=\"$Chicago$\"\nClassGuid={6a55b5a4-3f65-11db-b704-0011955c2bdb}\n\n[Manufacturer]\nmfg1=mfg1_key,NTAMD64\nmfg2=mfg2_key,NTAMD64\nmfg1_wow=mfg1_key,NTx86\nmfg2_wow=mfg2_key,NTx86\nmfg3=mfg3_key,NTARM64\n\n[mfg1_key.ntAMD64]\ndesc0=,other_hardware_id,bogus_compat_id\ndesc1=install1,bogus_hardware_id\ndesc2=,bogus_hardware_id\ndesc3=,wrong_hardware_id\ndesc4=,wrong_hardware_id,bogus_compat_id\n\n[mfg1_key.ntx86]\ndesc0=,other_hardware_id,bogus_compat_id\ndesc1=install1,bogus_hardware_id\ndesc2=,bogus_hardware_id\ndesc3=,wrong_hardware_id\ndesc4=,wrong_hardware_id,bogus_compat_id\n\n[mfg2_key.ntAMD64]\ndesc5=,bogus_hardware_id\n\n[mfg2_key.ntx86]\ndesc5=,bogus_hardware_id\n\n[mfg3_key.ntARM64]\ndesc6=,bogus_hardware_id\n\n[install1.ntAMD64]\n";

#[test]
fn wine_driver_list_facts() {
    // inf-behaviour.md §F (Wine devinst.c test_driver_list), as seen by a native 64-bit process.
    let mut store = MemoryStore::new();
    store.add_inf("test.inf", WINE_DRIVER_LIST_INF.as_bytes(), unsigned);
    let dev = device(
        &["bogus_hardware_id", "other_hardware_id"],
        &["bogus_compat_id"],
    );
    let m = store.match_device(
        &dev,
        &target("10.0.19045", "amd64"),
        SignatureRules::CatalogPresent,
    );

    // The driver list: desc0, desc1, desc2, desc4 (mfg1) and desc5 (mfg2), in INF order; desc3
    // (only wrong_hardware_id) is not a candidate at all; desc6 (ARM64 models) and the WOW
    // (NTx86) copies are not in the list (here: excluded with the reason).
    let mut listed: Vec<(u32, String, String)> = m
        .candidates
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Excluded { .. }))
        .map(|c| {
            (
                c.node.line,
                c.node.description.clone(),
                c.node.manufacturer.clone(),
            )
        })
        .collect();
    listed.sort();
    let names: Vec<(&str, &str)> = listed
        .iter()
        .map(|(_, d, m)| (d.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("desc0", "mfg1"),
            ("desc1", "mfg1"),
            ("desc2", "mfg1"),
            ("desc4", "mfg1"),
            ("desc5", "mfg2")
        ]
    );
    assert!(m.candidates.iter().all(|c| c.node.description != "desc3"));
    for c in m
        .candidates
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Excluded { .. }))
    {
        assert!(
            matches!(
                &c.verdict,
                Verdict::Excluded {
                    exclusion: Exclusion::WrongArch {
                        arch: Arch::X86 | Arch::Arm64,
                        ..
                    }
                }
            ),
            "{c:?}"
        );
    }
    assert!(m.candidates.iter().any(|c| c.node.description == "desc6"
        && c.verdict
            == Verdict::Excluded {
                exclusion: Exclusion::WrongArch {
                    section: "mfg3_key.ntARM64".into(),
                    arch: Arch::Arm64
                }
            }));

    let find = |d: &str| {
        m.candidates
            .iter()
            .find(|c| c.node.description == d && !matches!(c.verdict, Verdict::Excluded { .. }))
            .expect(d)
    };
    // desc0: the INF hardware ID equals the device's 2nd hardware ID.
    assert_eq!(find("desc0").rank.id_match, IdMatch::HwToHw { i: 1 });
    // desc4: the INF compatible ID (2nd ID of the model line) equals the device compatible ID.
    assert_eq!(
        find("desc4").rank.id_match,
        IdMatch::CompatToCompat { j: 0, k: 0 }
    );
    // desc1's install section is install1, resolved to [install1.ntAMD64]; desc2 has none.
    assert_eq!(
        find("desc1")
            .node
            .install_section
            .as_deref()
            .map(str::to_ascii_lowercase),
        Some("install1.ntamd64".into())
    );
    assert_eq!(find("desc2").node.install_section, None);
    // No Provider in [Version].
    assert_eq!(find("desc1").node.provider, None);
    // SetupDiSelectBestCompatDrv selects desc1 (device HW ID #0 = INF HW ID). The INF is
    // unsigned: desc1's DDInstall has the `.NT` extension (signature score 80) while desc2 has no
    // install section (C0), so desc2 loses on rank (§F leaves open which tie-break Wine applied).
    let w = m.winner().expect("a winner");
    assert_eq!(
        (w.node.description.as_str(), w.rank.value()),
        ("desc1", 0x80FF_0000)
    );
    assert_eq!(
        find("desc2").verdict,
        Verdict::Lost {
            why: "higher rank (0xC0FF0000 > 0x80FF0000)".into()
        }
    );
    assert!(matches!(&find("desc0").verdict, Verdict::Lost { why } if why.contains("higher rank")));
    // With every package trusted, desc1, desc2 and desc5 tie at 0x00FF0000 and desc1 still wins,
    // first in the stable order.
    let trusted = store.match_device(
        &dev,
        &target("10.0.19045", "amd64"),
        SignatureRules::AllTrusted,
    );
    assert_eq!(
        trusted.winner().map(|w| w.node.description.as_str()),
        Some("desc1")
    );
    let lost = |d: &str| {
        trusted
            .candidates
            .iter()
            .find(|c| c.node.description == d && matches!(c.verdict, Verdict::Lost { .. }))
            .map(|c| c.verdict_text())
    };
    assert_eq!(lost("desc2"), Some("lost: same rank, date and version: later in the stable order (store package order, then INF line)".into()));
    assert!(lost("desc5").is_some_and(|v| v.contains("stable order")));

    // A WOW64 (32-bit) view — an x86 target — reports the NTx86 lines (mfg1_wow / mfg2_wow) instead.
    let m = store.match_device(
        &dev,
        &target("10.0.19045", "x86"),
        SignatureRules::CatalogPresent,
    );
    let w = m.winner().expect("a winner");
    assert_eq!(
        (w.node.description.as_str(), w.node.manufacturer.as_str()),
        ("desc1", "mfg1_wow")
    );
}

const WINE_SECTIONS_INF: &str = "[Version]\nSignature=\"$Chicago$\"\nClass=System\n\n[Manufacturer]\nm=models,NTamd64\n\n[models.NTamd64]\nd1=section1,id1\nd2=section2,id2\nd3=section3,id3\nd4=section4,id4\nd5=section5,id5\nd6=section6,id6\nd7=section7,id7\nd8=section8,id8\nd9=section9,id9\nd10=section10,id10\n\n[section1]\n[section2]\n[section2.nt]\n[section3]\n[section3.ntAMD64]\n[section4]\n[section4.nt]\n[section4.ntAMD64]\n[section5.nt]\n[section6.ntAMD64]\n[section7]\n[section7.ntARM64]\n[section8.ntARM64]\n[section9.ntAMD64]\n[section9.ntx86]\n[section10.ntx86]\n";

#[test]
fn wine_decorated_install_section_facts() {
    // inf-behaviour.md §E (Wine devinst.c test_get_actual_section) on AMD64: platform-specific
    // beats `.nt`, which beats undecorated; wrong-architecture sections are ignored. (Wine
    // returns the requested name for section8/section10 although no such section exists;
    // infuse reports "no install section".)
    let mut store = MemoryStore::new();
    store.add_inf("sections.inf", WINE_SECTIONS_INF.as_bytes(), signed);
    let t = target("10.0.22631", "amd64");
    let expected: [(&str, Option<&str>); 10] = [
        ("id1", Some("section1")),
        ("id2", Some("section2.NT")),
        ("id3", Some("section3.NTAMD64")),
        ("id4", Some("section4.NTAMD64")),
        ("id5", Some("section5.NT")),
        ("id6", Some("section6.NTAMD64")),
        ("id7", Some("section7")),
        ("id8", None),
        ("id9", Some("section9.NTAMD64")),
        ("id10", None),
    ];
    for (id, section) in expected {
        let m = store.match_device(&device(&[id], &[]), &t, SignatureRules::CatalogPresent);
        let w = m.winner().unwrap_or_else(|| panic!("{id} has a node"));
        // Returned names compare case-insensitively (§E).
        assert_eq!(
            w.node
                .install_section
                .as_deref()
                .map(str::to_ascii_lowercase),
            section.map(str::to_ascii_lowercase),
            "{id}"
        );
    }
}

#[test]
fn empty_models_section_excludes_the_os() {
    // windows-driver-internals.md §3.3 rule g: an empty Models section applicable to the OS
    // excludes that OS; older OS versions still get the driver.
    let inf = "[Version]\nSignature=\"$WINDOWS NT$\"\nClass=Net\nDriverVer=01/01/2020,1.0.0.0\n[Manufacturer]\n%V%=Dev,NTamd64,NTamd64.10.0\n[Dev.NTamd64]\n%D%=inst,PCI\\VEN_1234&DEV_5678\n[Dev.NTamd64.10.0]\n[inst.NTamd64]\n[Strings]\nV=\"Vendor\"\nD=\"Old NIC\"\n";
    let mut store = MemoryStore::new();
    store.add_inf("old.inf", inf.as_bytes(), signed);
    let dev = device(
        &[
            r"PCI\VEN_1234&DEV_5678&SUBSYS_00000000&REV_00",
            r"PCI\VEN_1234&DEV_5678",
        ],
        &[],
    );
    let m = store.match_device(
        &dev,
        &target("10.0.22631", "amd64"),
        SignatureRules::CatalogPresent,
    );
    assert!(m.winner().is_none());
    assert_eq!(
        m.candidates[0].verdict,
        Verdict::Excluded {
            exclusion: Exclusion::EmptyModelsSection {
                section: "Dev.NTamd64.10.0".into()
            }
        }
    );
    assert_eq!(
        m.candidates[0].verdict_text(),
        "excluded by decoration: the applicable Models section [Dev.NTamd64.10.0] is empty"
    );
    let m = store.match_device(
        &dev,
        &target("6.3.9600", "amd64"),
        SignatureRules::CatalogPresent,
    );
    assert_eq!(m.winner().map(|w| w.rank.value()), Some(0x00FF_0001));
    // On arm64 the amd64 section is the wrong architecture.
    let m = store.match_device(
        &dev,
        &target("10.0.22631", "arm64"),
        SignatureRules::CatalogPresent,
    );
    assert!(m.winner().is_none());
    assert!(matches!(
        m.candidates[0].verdict,
        Verdict::Excluded {
            exclusion: Exclusion::WrongArch { .. }
        }
    ));
}

fn package(
    name: &str,
    date: &str,
    version: &str,
    feature: Option<&str>,
    id: &str,
    compat: bool,
) -> String {
    let ids = if compat {
        format!("VENDOR\\UNUSED_{name},{id}")
    } else {
        id.to_owned()
    };
    let fs = feature
        .map(|f| format!("FeatureScore={f}\n"))
        .unwrap_or_default();
    format!(
        "[Version]\nSignature=\"$WINDOWS NT$\"\nClass=Net\nDriverVer={date},{version}\n[Manufacturer]\n%V%=M,NTamd64\n[M.NTamd64]\n%D%=inst,{ids}\n[inst.NTamd64]\n{fs}[Strings]\nV=\"V\"\nD=\"{name}\"\n"
    )
}

#[test]
fn tie_breakers_date_then_version_then_stable_order() {
    // windows-driver-internals.md §3.2: lowest rank; equal rank → newest date; equal date →
    // highest version; all equal → any (infuse: the stable order).
    let dev = device(
        &[
            r"PCI\VEN_8086&DEV_1563&SUBSYS_35D48086&REV_01",
            r"PCI\VEN_8086&DEV_1563&SUBSYS_35D48086",
        ],
        &[r"PCI\VEN_8086&DEV_1563"],
    );
    let t = target("10.0.22631", "amd64");
    let rank_of = |pkgs: &[String]| {
        let mut s = MemoryStore::new();
        for (n, p) in pkgs.iter().enumerate() {
            s.add_inf(&format!("p{n}.inf"), p.as_bytes(), signed);
        }
        summary(&s.match_device(&dev, &t, SignatureRules::CatalogPresent))
    };
    let id = r"PCI\VEN_8086&DEV_1563&SUBSYS_35D48086";
    // Newer date wins at equal rank.
    let r = rank_of(&[
        package("old", "01/01/2020", "9.0.0.0", None, id, false),
        package("new", "06/01/2021", "1.0.0.0", None, id, false),
    ]);
    assert_eq!(r[0].0, "new");
    // Same date: higher version wins.
    let r = rank_of(&[
        package("low", "01/01/2020", "1.2.0.0", None, id, false),
        package("high", "01/01/2020", "1.10.0.0", None, id, false),
    ]);
    assert_eq!(r[0].0, "high");
    // Everything equal: the first package in store order.
    let r = rank_of(&[
        package("first", "01/01/2020", "1.0.0.0", None, id, false),
        package("second", "01/01/2020", "1.0.0.0", None, id, false),
    ]);
    assert_eq!((r[0].0.as_str(), r[1].2), ("first", "lost"));
    // "An older driver can outrank a newer driver if the older driver has a better PnP ID match"
    // ([MFG] deployment overview, §3.2): HW ID #1 beats a compatible-ID match from 2024.
    let r = rank_of(&[
        package("older-better", "01/01/2015", "1.0.0.0", None, id, false),
        package(
            "newer-generic",
            "01/01/2024",
            "9.0.0.0",
            None,
            r"PCI\VEN_8086&DEV_1563",
            false,
        ),
    ]);
    assert_eq!((r[0].0.as_str(), r[0].1), ("older-better", 0x00FF_0001));
    assert_eq!(r[1].1, 0x00FF_2000);
    // FeatureScore lowers the rank (§3.1: FeatureScore × 0x10000).
    let r = rank_of(&[
        package("plain", "01/01/2024", "1.0.0.0", None, id, false),
        package("featured", "01/01/2020", "1.0.0.0", Some("0x80"), id, false),
    ]);
    assert_eq!((r[0].0.as_str(), r[0].1), ("featured", 0x0080_0001));
    // An INF compatible ID at position k: HW ID #1 = INF compatible ID #0 → 0x1001.
    let r = rank_of(&[package("compat", "01/01/2020", "1.0.0.0", None, id, true)]);
    assert_eq!(r[0].1, 0x00FF_1001);
}

#[test]
fn signature_score_under_each_rule_set() {
    // §3.1: trusted 00; no valid signature with a `.NT` DDInstall 80; without C0.
    let dev = device(&[r"PCI\VEN_1AF4&DEV_1000"], &[]);
    let t = target("10.0.22631", "amd64");
    let inf = package(
        "nic",
        "01/01/2020",
        "1.0.0.0",
        None,
        r"PCI\VEN_1AF4&DEV_1000",
        false,
    );
    let mut s = MemoryStore::new();
    s.add_inf("nic.inf", inf.as_bytes(), |a| a == Arch::Amd64);
    let m = s.match_device(&dev, &t, SignatureRules::CatalogPresent);
    assert_eq!(
        m.winner().map(|w| w.rank.signature),
        Some(Signature::Trusted)
    );
    let m = s.match_device(&dev, &t, SignatureRules::AllUnsigned);
    assert_eq!(
        m.winner().map(|w| w.rank.value()),
        Some(0x80FF_0000),
        "inst.NTamd64 has the .NT extension"
    );
    let plain = inf.replace("[inst.NTamd64]", "[inst]");
    let mut s = MemoryStore::new();
    s.add_inf("nic.inf", plain.as_bytes(), |_| false);
    let m = s.match_device(&dev, &t, SignatureRules::CatalogPresent);
    assert_eq!(
        m.winner().map(|w| w.explanation.as_str()),
        Some("0xC0FF0000 = unsigned | feature FF | HW ID #0 = INF HW ID")
    );
}

#[test]
fn duplicate_ids_keep_their_best_position() {
    // The same ID as hardware ID #0 and compatible ID #3: the hardware position counts.
    let inf = package("x", "01/01/2020", "1.0.0.0", None, r"ROOT\X", false);
    let mut s = MemoryStore::new();
    s.add_inf("x.inf", inf.as_bytes(), signed);
    let dev = device(&[r"ROOT\X"], &["a", "b", "c", r"root\x"]);
    let m = s.match_device(
        &dev,
        &target("10.0.22631", "amd64"),
        SignatureRules::CatalogPresent,
    );
    assert_eq!(
        m.winner().map(|w| w.rank.id_match),
        Some(IdMatch::HwToHw { i: 0 })
    );
}
