//! Model behaviour as data: an INF snippet in, the facts the model must report out. Every
//! snippet runs four times: CRLF, LF, UTF-16LE with BOM and UTF-8 with BOM (STYLE.md).

use super::*;
use crate::inf::parse_with;

fn variants(text: &str) -> Vec<(&'static str, Vec<u8>)> {
    let lf = text.replace("\r\n", "\n");
    let crlf = lf.replace('\n', "\r\n");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(crlf.encode_utf16().flat_map(u16::to_le_bytes));
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend_from_slice(crlf.as_bytes());
    vec![
        ("crlf", crlf.clone().into_bytes()),
        ("lf", lf.into_bytes()),
        ("utf-16le-bom", utf16),
        ("utf-8-bom", utf8),
    ]
}

/// Runs `expect` on the model of `text` in every encoding variant.
fn check(text: &str, expect: impl Fn(&Model)) {
    for (name, bytes) in variants(text) {
        let opts = crate::inf::ParseOptions {
            expand_dirids: false,
            ..crate::inf::ParseOptions::default()
        };
        let model = Model::new(&parse_with(&bytes, &opts));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| expect(&model)));
        if result.is_err() {
            panic!(
                "variant {name} failed (see the assertion above); diagnostics: {:#?}",
                model.diagnostics
            );
        }
    }
}

const HEAD: &str = "[Version]\nSignature=\"$Windows NT$\"\nClass=Net\nClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}\nProvider=%Mfg%\nDriverVer=03/04/2022,1.2.3.4\nCatalogFile=demo.cat\nCatalogFile.NTarm64=demo_arm64.cat\nPnpLockdown=1\n";

fn inf(body: &str) -> String {
    format!("{HEAD}{body}\n[Strings]\nMfg=\"Contoso, Ltd.\"\nDesc=\"Contoso Demo NIC\"\n")
}

#[test]
fn version_section() {
    check(&inf(""), |m| {
        let v = &m.version;
        assert_eq!(v.signature.as_deref(), Some("$Windows NT$"));
        assert_eq!(v.class.as_deref(), Some("Net"));
        assert_eq!(v.provider.as_deref(), Some("Contoso, Ltd."));
        assert_eq!(
            v.driver_ver,
            DriverVer::parse("03/04/2022", Some("1.2.3.4")).ok()
        );
        assert!(v.pnp_lockdown);
        // CatalogFile.NT<arch> beats CatalogFile (same platform-extension order as DDInstall,
        // windows-driver-internals.md §3.3).
        assert_eq!(
            v.catalog_for(Arch::Arm64).map(|c| c.name.as_str()),
            Some("demo_arm64.cat")
        );
        assert_eq!(
            v.catalog_for(Arch::Amd64).map(|c| c.name.as_str()),
            Some("demo.cat")
        );
    });
}

#[test]
fn manufacturer_decorations_pick_their_models_sections() {
    let text = inf(
        "[Manufacturer]\n%Mfg%=Contoso,NTamd64,NTarm64.10.0...22000,NTx86.6.1\n\
        [Contoso.NTamd64]\n%Desc%=Inst,PCI\\VEN_8086&DEV_1234&SUBSYS_00011234,PCI\\VEN_8086&DEV_1234,PCI\\CC_0200\n\
        [Contoso.NTarm64.10.0...22000]\n%Desc%=Inst,USB\\VID_045E&PID_0001\n\
        [Contoso]\n%Desc%=Inst,PCI\\VEN_8086&DEV_0001\n\
        [Inst]\nCopyFiles=F\n[F]\ndemo.sys\n[DestinationDirs]\nDefaultDestDir=12\n\
        [SourceDisksNames]\n1=%Desc%\n[SourceDisksFiles]\ndemo.sys=1\n",
    );
    check(&text, |m| {
        let mfg = &m.manufacturers[0];
        assert_eq!(mfg.name, "Contoso, Ltd.");
        assert_eq!(mfg.models_base, "Contoso");
        let raws: Vec<&str> = mfg.decorations.iter().map(|d| d.raw.as_str()).collect();
        assert_eq!(raws, ["NTamd64", "NTarm64.10.0...22000", "NTx86.6.1"]);
        // NTx86.6.1 names a missing section: a diagnostic, no Models; the undecorated section is
        // kept as x86 (windows-driver-internals.md §3.3 rules f, h).
        let got: Vec<(&str, Arch, Option<u32>)> = mfg
            .models
            .iter()
            .map(|s| {
                (
                    s.section.as_str(),
                    s.arch,
                    s.decoration.as_ref().and_then(|d| d.build),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Contoso.NTamd64", Arch::Amd64, None),
                ("Contoso.NTarm64.10.0...22000", Arch::Arm64, Some(22000)),
                ("Contoso", Arch::X86, None),
            ]
        );
        assert!(
            m.diagnostics
                .iter()
                .any(|d| d.message.contains("[Contoso.NTx86.6.1] not found"))
        );
        let e = &mfg.models[0].entries[0];
        assert_eq!(e.description, "Contoso Demo NIC");
        assert_eq!(e.install_section.as_deref(), Some("Inst"));
        assert_eq!(e.hardware_id, "PCI\\VEN_8086&DEV_1234&SUBSYS_00011234");
        assert_eq!(e.compatible_ids, ["PCI\\VEN_8086&DEV_1234", "PCI\\CC_0200"]);
        assert_eq!(m.nodes().count(), 3);
    });
}

#[test]
fn models_entries_as_in_wine_driver_list() {
    // inf-behaviour.md §F: `desc0=,other_hardware_id,bogus_compat_id` has no install section;
    // `desc1=install1,bogus_hardware_id`; a line with only a compatible ID keeps it.
    let text = inf(
        "[Manufacturer]\nmfg1=mfg1_key,NTAMD64\n[mfg1_key.ntAMD64]\n\
        desc0=,other_hardware_id,bogus_compat_id\ndesc1=install1,bogus_hardware_id\n\
        desc4=,wrong_hardware_id,bogus_compat_id\ndesc7=install1,,only_compat\ndesc8=install1\n\
        [install1.ntAMD64]\n",
    );
    check(&text, |m| {
        let entries = &m.manufacturers[0].models[0].entries;
        let got: Vec<(&str, Option<&str>, &str, usize)> = entries
            .iter()
            .map(|e| {
                (
                    e.description.as_str(),
                    e.install_section.as_deref(),
                    e.hardware_id.as_str(),
                    e.compatible_ids.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("desc0", None, "other_hardware_id", 1),
                ("desc1", Some("install1"), "bogus_hardware_id", 0),
                ("desc4", None, "wrong_hardware_id", 1),
                ("desc7", Some("install1"), "", 1),
            ]
        );
        assert!(
            m.diagnostics
                .iter()
                .any(|d| d.message.contains("`desc8` gives no hardware ID"))
        );
        // Models line numbers are the physical lines of the file.
        assert!(entries.windows(2).all(|w| w[0].line < w[1].line));
    });
}

#[test]
fn ddinstall_resolution_per_architecture() {
    // inf-behaviour.md §E: `.NT<arch>` beats `.NT` beats undecorated; wrong-arch variants are
    // never chosen (section7 + section7.ntARM64 → section7 on amd64).
    let sections = "[section1]\n[section2]\n[section2.nt]\n[section3]\n[section3.ntAMD64]\n\
        [section4]\n[section4.nt]\n[section4.ntAMD64]\n[section5.nt]\n[section6.ntAMD64]\n\
        [section7]\n[section7.ntARM64]\n[section8.ntARM64]\n[section9.ntAMD64]\n[section9.ntx86]\n[section10.ntx86]\n";
    let table: &[(&str, Arch, Option<&str>)] = &[
        ("section1", Arch::Amd64, Some("section1")),
        ("section2", Arch::Amd64, Some("section2.nt")),
        ("section3", Arch::Amd64, Some("section3.ntAMD64")),
        ("section4", Arch::Amd64, Some("section4.ntAMD64")),
        ("section5", Arch::Amd64, Some("section5.nt")),
        ("section6", Arch::Amd64, Some("section6.ntAMD64")),
        ("section7", Arch::Amd64, Some("section7")),
        ("section8", Arch::Amd64, None),
        ("section9", Arch::Amd64, Some("section9.ntAMD64")),
        ("section9", Arch::X86, Some("section9.ntx86")),
        ("section10", Arch::Amd64, None),
        ("section7", Arch::Arm64, Some("section7.ntARM64")),
        ("SECTION4", Arch::Arm64, Some("section4.nt")),
    ];
    for &(base, arch, expect) in table {
        let mut models = String::new();
        let deco = format!("NT{}", arch.as_str());
        models.push_str(&format!(
            "[Manufacturer]\nM=Models,{deco}\n[Models.{deco}]\nd={base},HW\\ID\n"
        ));
        check(&inf(&format!("{models}{sections}")), |m| {
            let inst = m.install(base, arch).expect("resolved");
            assert_eq!(inst.section.as_deref(), expect, "{base} on {arch}");
        });
    }
}

#[test]
fn feature_score_driver_ver_override_services_and_boot_critical() {
    let text = inf(
        "[Manufacturer]\n%Mfg%=M,NTamd64\n[M.NTamd64]\n%Desc%=Inst,PCI\\VEN_1AF4&DEV_1004\n\
        [Inst.NT]\nFeatureScore=0x80\nDriverVer=12/01/2023,2.0.0.0\nCopyFiles=F\nNeeds=Shared\nInclude=machine.inf\n\
        [Inst.NT.Services]\nAddService=demo,0x00000002,Svc,Log\nAddService=filt,0,FiltSvc\n\
        [Svc]\nServiceType=1\nStartType=0\nErrorControl=1\nServiceBinary=%12%\\demo.sys\nLoadOrderGroup=SCSI miniport\nAddReg=SvcReg,SvcReg2\n\
        [FiltSvc]\nServiceType=1\nStartType=3\n\
        [Shared]\nCopyFiles=@shared.dll\n\
        [F]\ndemo.sys\n[DestinationDirs]\nDefaultDestDir=11\nF=12\n\
        [SourceDisksNames]\n1=disk\n[SourceDisksFiles]\ndemo.sys=1\nshared.dll=1\n",
    );
    check(&text, |m| {
        let node = m.nodes().next().expect("node");
        let inst = node.install.expect("install");
        assert_eq!(inst.section.as_deref(), Some("Inst.NT"));
        assert_eq!(node.feature_score(), 0x80);
        // A DDInstall-level DriverVer overrides [Version]'s (windows-driver-internals.md §3.2).
        assert_eq!(
            inst.driver_ver,
            DriverVer::parse("12/01/2023", Some("2.0.0.0")).ok()
        );
        assert_eq!(inst.includes, ["machine.inf"]);
        assert_eq!(inst.needs, ["Shared"]);
        let svc = &inst.services[0];
        assert_eq!(
            (
                svc.name.as_str(),
                svc.flags,
                svc.service_type,
                svc.start_type,
                svc.error_control
            ),
            ("demo", 2, Some(1), Some(0), Some(1))
        );
        assert_eq!(svc.binary.as_deref(), Some("%12%\\demo.sys"));
        assert_eq!(svc.load_order_group.as_deref(), Some("SCSI miniport"));
        assert_eq!(svc.add_reg, ["SvcReg", "SvcReg2"]);
        // inf-behaviour.md §G: a service section without ServiceBinary/ErrorControl is bad.
        assert!(m.diagnostics.iter().any(|d| {
            d.message
                .contains("[FiltSvc] lacks ServiceBinary, ErrorControl")
        }));
        // Boot-start associated service → boot-critical (windows-driver-internals.md §1.2).
        let bc = m.boot_critical(node.install);
        assert!(bc.boot_start_service && !bc.storage_class);
        let files: Vec<(String, Option<u32>)> = m
            .files()
            .iter()
            .map(|f| (f.source_path(), f.dest_dirid))
            .collect();
        assert_eq!(
            files,
            [
                ("demo.sys".to_string(), Some(12)),
                ("shared.dll".to_string(), Some(11))
            ]
        );
    });
}

#[test]
fn missing_feature_score_is_ff_and_storage_class_is_boot_critical() {
    let text = inf("[Manufacturer]\nM=M,NTamd64\n[M.NTamd64]\nd=I,X\\Y\n[I]\n")
        .replace("Class=Net", "Class=SCSIAdapter");
    check(&text, |m| {
        let node = m.nodes().next().expect("node");
        assert_eq!(node.feature_score(), 0xFF);
        assert!(m.boot_critical(node.install).storage_class);
    });
}

#[test]
fn file_list_resolution() {
    // SourceDisksNames path + SourceDisksFiles subdir, arch variants first; CopyFiles renames;
    // DestinationDirs per section with a subdir, else DefaultDestDir.
    let text = inf(
        "[Manufacturer]\nM=M,NTamd64,NTarm64\n[M.NTamd64]\nd=I,X\\Y\n[M.NTarm64]\nd=I,X\\Y\n\
        [I]\nCopyFiles=Drv,Utils\n\
        [Drv]\nnet.sys\nrenamed.dll,orig.dll,,0x4000\n[Utils]\ntool.exe\n\
        [DestinationDirs]\nDefaultDestDir=13\nDrv=12\nUtils=16422,Contoso\\Tools\n\
        [SourceDisksNames]\n1=disk,,,\\common\n[SourceDisksNames.amd64]\n1=disk,,,\\x64\n[SourceDisksNames.arm64]\n1=disk,,,\\arm64\n\
        [SourceDisksFiles]\nnet.sys=1\norig.dll=1,lib\ntool.exe=1\n[SourceDisksFiles.arm64]\nnet.sys=1,special\n",
    );
    check(&text, |m| {
        let got: Vec<(String, String, Option<u32>, String)> = m
            .files()
            .iter()
            .map(|f| {
                (
                    f.source_path(),
                    f.name.clone(),
                    f.dest_dirid,
                    f.dest_subdir.join("/"),
                )
            })
            .collect();
        let expect = [
            ("x64/net.sys", "net.sys", Some(12), ""),
            ("x64/lib/orig.dll", "renamed.dll", Some(12), ""),
            ("x64/tool.exe", "tool.exe", Some(16422), "Contoso/Tools"),
            ("arm64/special/net.sys", "net.sys", Some(12), ""),
            ("arm64/lib/orig.dll", "renamed.dll", Some(12), ""),
            ("arm64/tool.exe", "tool.exe", Some(16422), "Contoso/Tools"),
        ];
        let expect: Vec<(String, String, Option<u32>, String)> = expect
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), *c, d.to_string()))
            .collect();
        assert_eq!(got, expect);
    });
}

#[test]
fn hostile_paths_are_refused_with_the_line() {
    let text = inf("[Manufacturer]\nM=M,NTamd64\n[M.NTamd64]\nd=I,X\\Y\n\
        [I]\nCopyFiles=F,@..\\..\\evil.sys\n[F]\nok.sys\nNUL.sys\nstream.sys:evil\nabs.sys\nup.sys\n\
        [DestinationDirs]\nDefaultDestDir=12\n[SourceDisksNames]\n1=disk\n2=disk,,,C:\\Windows\n\
        [SourceDisksFiles]\nok.sys=1\nNUL.sys=1\nabs.sys=2\nup.sys=1,..\\..\n");
    check(&text, |m| {
        let files: Vec<String> = m.files().iter().map(|f| f.source_path()).collect();
        assert_eq!(files, ["ok.sys"]);
        assert_eq!(m.refused_paths(), 5, "{:#?}", m.diagnostics);
        for needle in ["`..`", "device `NUL`", "stream", "drive"] {
            assert!(
                m.diagnostics
                    .iter()
                    .any(|d| d.message.contains(needle) && d.line > 0),
                "{needle}"
            );
        }
    });
}

#[test]
fn needs_cycles_terminate() {
    let text = inf("[Manufacturer]\nM=M,NTamd64\n[M.NTamd64]\nd=A,X\\Y\n\
        [A]\nNeeds=B\nCopyFiles=@a.sys\n[B]\nNeeds=A,B\nCopyFiles=@b.sys\n\
        [DestinationDirs]\nDefaultDestDir=12\n[SourceDisksNames]\n1=d\n[SourceDisksFiles]\na.sys=1\nb.sys=1\n");
    check(&text, |m| {
        let files: Vec<String> = m.files().iter().map(|f| f.source_path()).collect();
        assert_eq!(files, ["a.sys", "b.sys"]);
        assert_eq!(
            m.diagnostics
                .iter()
                .filter(|d| d.message.contains("Needs cycle"))
                .count(),
            2
        );
    });
}

#[test]
fn unstamped_infs_are_reported() {
    let text = inf(
        "[Manufacturer]\nM=M,NT$ARCH$.10.0...16299\n[M.NT$ARCH$.10.0...16299]\nd=I,X\\Y\n[I]\n",
    );
    check(&text, |m| {
        assert!(m.unstamped);
        assert_eq!(m.nodes().count(), 0);
        assert!(
            m.diagnostics
                .iter()
                .any(|d| d.message.contains("not stamped"))
        );
    });
}

#[test]
fn missing_sections_are_diagnostics_not_failures() {
    check(
        "[Version]\nSignature=$Chicago$\n[Manufacturer]\nM=Nowhere,NTamd64\nEmpty=\n",
        |m| {
            assert_eq!(m.nodes().count(), 0);
            assert!(
                m.diagnostics
                    .iter()
                    .any(|d| d.message.contains("[Nowhere.NTamd64] not found"))
            );
            assert!(
                m.diagnostics
                    .iter()
                    .any(|d| d.message.contains("names no Models section"))
            );
        },
    );
}
