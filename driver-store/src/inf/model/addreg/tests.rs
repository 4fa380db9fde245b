//! AddReg behaviour as data: one add-registry line in, the typed entry out. Every snippet runs
//! as CRLF, LF, UTF-16LE with BOM and UTF-8 with BOM (STYLE.md). The rules are the AddReg
//! directive's (learn.microsoft.com "INF AddReg directive": flag values, field layout) and
//! SetupAPI's field readers (inf-behaviour.md §D: hex bytes for binary fields, `0x`/decimal
//! numbers).

use super::*;
use crate::inf::model::Model;
use crate::inf::{ParseOptions, parse_with};

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

fn opts() -> ParseOptions {
    ParseOptions {
        expand_dirids: false,
        ..ParseOptions::default()
    }
}

/// Parses `[R]` holding `line` (with a small [Strings]) in every encoding and returns the
/// entries or the diagnostics.
fn entries(line: &str) -> Result<Vec<RegEntry>, Vec<Diagnostic>> {
    let text = format!(
        "[Version]\nSignature=\"$Windows NT$\"\n[R]\n{line}\n[Strings]\nREG_DWORD=0x00010001\nName=\"Contoso\"\n"
    );
    let mut first: Option<Result<Vec<RegEntry>, Vec<Diagnostic>>> = None;
    for (variant, bytes) in variants(&text) {
        let inf = parse_with(&bytes, &opts());
        let mut diags = Vec::new();
        let got = read_add_reg(&inf, &["R".to_string()], &mut diags);
        let result = if diags.is_empty() {
            Ok(got)
        } else {
            Err(diags)
        };
        match &first {
            None => first = Some(result),
            Some(f) => assert_eq!(f, &result, "variant {variant} differs for `{line}`"),
        }
    }
    first.unwrap_or(Ok(Vec::new()))
}

fn one(line: &str) -> RegEntry {
    match entries(line) {
        Ok(mut v) if v.len() == 1 => v.remove(0),
        other => panic!("`{line}`: expected one entry, got {other:?}"),
    }
}

fn set(line: &str) -> RegData {
    match one(line).action {
        RegAction::Set(d) => d,
        other => panic!("`{line}`: expected a value, got {other:?}"),
    }
}

#[test]
fn value_types_follow_the_flags() {
    let s = |t: &str| RegData::String {
        kind: REG_SZ,
        text: t.into(),
    };
    let rows: Vec<(&str, RegData)> = vec![
        // flags 0 / empty: REG_SZ from field 5
        (r#"HKR,Parameters,DisableMSI,,"0""#, s("0")),
        (r#"HKR,,BusNumber,0,"0""#, s("0")),
        ("HKR,,Name,0,%Name%", s("Contoso")),
        // no value field: an empty string value
        ("HKR,Parameters,Empty", s("")),
        // 0x00020000 REG_EXPAND_SZ (%% is a literal %)
        (
            r#"HKR,,EventMessageFile,0x00020000,"%%SystemRoot%%\System32\IoLogMsg.dll""#,
            RegData::String {
                kind: REG_EXPAND_SZ,
                text: r"%SystemRoot%\System32\IoLogMsg.dll".into(),
            },
        ),
        // 0x00010000 REG_MULTI_SZ: every field from 5
        (
            "HKR,,UpperFilters,0x00010000,a,b,c",
            RegData::MultiString(vec!["a".into(), "b".into(), "c".into()]),
        ),
        // 0x00010001 REG_DWORD: one number field, hex or decimal (or a string token)
        ("HKR,,TypesSupported,0x00010001,7", RegData::Dword(7)),
        ("HKR,,Limit,%REG_DWORD%,258", RegData::Dword(258)),
        ("HKR,,BusType,0x00010001,0x0000000A", RegData::Dword(10)),
        (
            "HKR,,All,0x00010001,0xFFFFFFFF",
            RegData::Dword(0xFFFF_FFFF),
        ),
        ("HKR,,Octal,0x00010001,010", RegData::Dword(8)),
        // DWORD given as hex bytes: raw data of type REG_DWORD
        (
            "HKR,,Raw,0x00010001,01,00,00,00",
            RegData::Binary {
                kind: REG_DWORD,
                bytes: vec![1, 0, 0, 0],
            },
        ),
        // 0x00000001 REG_BINARY: hex bytes, optional 0x, any case
        (
            "HKR,,Blob,1,de,0xAD,be,EF",
            RegData::Binary {
                kind: REG_BINARY,
                bytes: vec![0xDE, 0xAD, 0xBE, 0xEF],
            },
        ),
        // 0x00020001 REG_NONE
        (
            "HKR,,Marker,0x00020001",
            RegData::Binary {
                kind: REG_NONE,
                bytes: vec![],
            },
        ),
        // FLG_ADDREG_BINVALUETYPE with the type in the high word: REG_QWORD (11) as bytes
        (
            "HKR,,Q,0x000B0001,01,02,03,04,05,06,07,08",
            RegData::Binary {
                kind: 11,
                bytes: vec![1, 2, 3, 4, 5, 6, 7, 8],
            },
        ),
        // NOCLOBBER (0x2) and APPEND (0x8) keep the type bits
        ("HKR,,Keep,0x00010003,5", RegData::Dword(5)),
        (
            "HKR,,UpperFilters,0x00010008,f",
            RegData::MultiString(vec!["f".into()]),
        ),
    ];
    for (line, want) in rows {
        assert_eq!(set(line), want, "`{line}`");
    }
}

#[test]
fn key_only_and_deletion() {
    // FLG_ADDREG_KEYONLY (0x10), as vioscsi's .HW section creates "Interrupt Management".
    let e = one(r#"HKR, "Interrupt Management",, 0x00000010"#);
    assert_eq!(
        (e.root, e.subkey.as_str(), e.action),
        (RegRoot::Hkr, "Interrupt Management", RegAction::KeyOnly)
    );
    // FLG_ADDREG_KEYONLY_COMMON (0x2000)
    assert_eq!(one("HKR,Sub,,0x2000").action, RegAction::KeyOnly);
    // root and subkey alone create the key
    assert_eq!(one(r"HKLM,Software\Contoso").action, RegAction::KeyOnly);
    // FLG_ADDREG_DELVAL (0x4)
    assert_eq!(one("HKR,,Old,0x00000004").action, RegAction::DeleteValue);
}

#[test]
fn fields_are_read_as_written() {
    let e = one(r"HKLM, System\CurrentControlSet\Services\x\Parameters, Value Name, 0x00010001, 1");
    assert_eq!(e.root, RegRoot::Hklm);
    assert_eq!(e.subkey, r"System\CurrentControlSet\Services\x\Parameters");
    assert_eq!(e.value_name, "Value Name");
    assert_eq!(e.flags, FLG_ADDREG_TYPE_DWORD);
    assert_eq!(e.section, "R");
    // default value: empty value name
    assert_eq!(one(r#"HKR,,,,"d""#).value_name, "");
}

#[test]
fn bad_lines_are_diagnostics() {
    for line in [
        "HKXX,,V,0,x",            // unknown root
        "HKR,,V,flags,x",         // flags not a number
        "HKR,,V,1,zz",            // binary field not hex
        "HKR,,V,1,100",           // does not fit a byte
        "HKR,,V,0x00010001,nope", // DWORD not a number
        "Key = HKR,,V,0,x",       // not an add-registry line
    ] {
        match entries(line) {
            Err(d) => assert!(
                d.iter().all(|d| d.line == 4 && d.message.contains("[R]")),
                "`{line}`: {d:?}"
            ),
            Ok(v) => panic!("`{line}` accepted: {v:?}"),
        }
    }
}

#[test]
fn data_bytes_are_hive_bytes() {
    assert_eq!(
        RegData::String {
            kind: REG_SZ,
            text: "ab".into()
        }
        .to_bytes(),
        [b'a', 0, b'b', 0, 0, 0]
    );
    assert_eq!(
        RegData::MultiString(vec!["a".into(), "b".into()]).to_bytes(),
        [b'a', 0, 0, 0, b'b', 0, 0, 0, 0, 0]
    );
    assert_eq!(RegData::Dword(0x0102_0304).to_bytes(), [4, 3, 2, 1]);
}

const SVC_INF: &str = r#"[Version]
Signature="$Windows NT$"
Class=SCSIAdapter
ClassGuid={4D36E97B-E325-11CE-BFC1-08002BE10318}
Provider=%Mfg%
DriverVer=01/02/2024,1.0.0.0
[Manufacturer]
%Mfg%=M,NTamd64
[M.NTamd64]
%Desc%=inst,PCI\VEN_1234&DEV_0001
[inst.NTamd64]
AddReg=drv_reg
Needs=common
[common]
AddReg=common_reg
[inst.NTamd64.HW]
AddReg=hw_reg
[inst.NTamd64.Services]
AddService=blk,0x2,svc,evt,Application,BlkSource
AddService=helper,,helper_svc
[svc]
DisplayName=%Desc%
Description="Block service"
ServiceType=1
StartType=0
ErrorControl=1
ServiceBinary=%12%\blk.sys
Dependencies=+SCSI miniport,other
AddReg=svc_reg
[helper_svc]
ServiceType=1
StartType=3
ErrorControl=0
ServiceBinary=%12%\helper.sys
[evt]
AddReg=evt_reg
[drv_reg]
HKR,,DrvValue,0x00010001,1
[common_reg]
HKR,,Common,,"c"
[hw_reg]
HKR,Interrupt Management\MessageSignaledInterruptProperties,MSISupported,0x00010001,1
[svc_reg]
HKR,Parameters,BusType,0x00010001,10
[evt_reg]
HKR,,TypesSupported,0x00010001,7
[Strings]
Mfg="Contoso"
Desc="Contoso Block"
"#;

#[test]
fn install_registry_collects_every_context() {
    for (variant, bytes) in variants(SVC_INF) {
        let inf = parse_with(&bytes, &opts());
        let model = Model::new(&inf);
        let install = &model.installs[0];
        let mut diags = Vec::new();
        let reg = install_registry(&inf, install, &mut diags);
        assert!(diags.is_empty(), "{variant}: {diags:?}");
        let names = |v: &[RegEntry]| v.iter().map(|e| e.value_name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&reg.driver), ["DrvValue", "Common"], "{variant}");
        assert_eq!(names(&reg.hw), ["MSISupported"], "{variant}");
        assert_eq!(reg.services.len(), 2, "{variant}");
        let blk = &reg.services[0];
        assert_eq!(names(&blk.add_reg), ["BusType"]);
        assert_eq!(blk.display_name.as_deref(), Some("Contoso Block"));
        assert_eq!(blk.description.as_deref(), Some("Block service"));
        assert_eq!(blk.dependencies, ["+SCSI miniport", "other"]);
        let evt = blk.event_log.as_ref().expect("event log section");
        assert_eq!(
            (
                evt.section.as_str(),
                evt.log_type.as_str(),
                evt.source.as_str()
            ),
            ("evt", "Application", "BlkSource")
        );
        assert_eq!(names(&evt.add_reg), ["TypesSupported"]);
        let helper = &reg.services[1];
        assert!(helper.event_log.is_none() && helper.add_reg.is_empty());
    }
}

/// The shared corpus's real virtio INFs, when present (`../shared/corpus/inf`).
#[allow(
    clippy::print_stderr,
    reason = "tests using the shared corpus say whether it was there (DESIGN.md)"
)]
fn corpus_inf(name_part: &str) -> Option<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/inf");
    let Ok(entries) = std::fs::read_dir(dir.join("OSDeploy__WinPEDriverPack")) else {
        eprintln!("shared INF corpus not present: corpus AddReg checks not run");
        return None;
    };
    let path = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains(name_part))?;
    eprintln!("using {}", path.display());
    std::fs::read(path).ok()
}

fn corpus_registry(name_part: &str) -> Option<InstallRegistry> {
    let bytes = corpus_inf(name_part)?;
    let inf = parse_with(&bytes, &opts());
    let model = Model::new(&inf);
    let install = model
        .installs
        .iter()
        .find(|i| i.arch == crate::inf::model::Arch::Amd64)?;
    let mut diags = Vec::new();
    let reg = install_registry(&inf, install, &mut diags);
    assert!(diags.is_empty(), "{name_part}: {diags:?}");
    Some(reg)
}

#[test]
fn vioscsi_registry_from_the_corpus() {
    let Some(reg) = corpus_registry("__vioscsi.inf") else {
        return;
    };
    // [scsi_inst.HW] AddReg = pnpsafe_pci_addreg_msix: 3 key-only lines, 5 DWORDs.
    assert_eq!(reg.hw.len(), 8);
    assert_eq!(
        reg.hw
            .iter()
            .filter(|e| e.action == RegAction::KeyOnly)
            .count(),
        3
    );
    let limit = reg
        .hw
        .iter()
        .find(|e| e.value_name == "MessageNumberLimit")
        .expect("MessageNumberLimit");
    assert_eq!(
        limit.subkey,
        r"Interrupt Management\MessageSignaledInterruptProperties"
    );
    assert_eq!(limit.action, RegAction::Set(RegData::Dword(258)));
    // AddService = vioscsi, 0x2, scsi_Service_Inst, scsi_EventLog_Inst
    let svc = &reg.services[0];
    assert_eq!(svc.name, "vioscsi");
    let got: Vec<(&str, &str, &RegAction)> = svc
        .add_reg
        .iter()
        .map(|e| (e.subkey.as_str(), e.value_name.as_str(), &e.action))
        .collect();
    assert_eq!(
        got,
        [
            (
                r"Parameters\PnpInterface",
                "5",
                &RegAction::Set(RegData::Dword(1))
            ),
            ("Parameters", "BusType", &RegAction::Set(RegData::Dword(10))),
        ]
    );
    let evt = svc.event_log.as_ref().expect("scsi_EventLog_Inst");
    assert_eq!(
        (evt.log_type.as_str(), evt.source.as_str()),
        ("System", "vioscsi")
    );
    assert_eq!(
        evt.add_reg[0].action,
        RegAction::Set(RegData::String {
            kind: REG_EXPAND_SZ,
            text: r"%SystemRoot%\System32\IoLogMsg.dll".into()
        })
    );
    assert_eq!(
        svc.display_name.as_deref(),
        Some("Red Hat VirtIO SCSI pass-through Service")
    );
}

#[test]
fn netkvm_registry_from_the_corpus() {
    let Some(reg) = corpus_registry("__netkvm.inf") else {
        return;
    };
    // [kvmnet6.ndi] AddReg = kvmnet6.Reg, Parameters: BusNumber first, then the Ndi params.
    assert_eq!(reg.driver[0].value_name, "BusNumber");
    assert!(reg.driver.len() > 100, "{}", reg.driver.len());
    assert!(reg.driver.iter().all(|e| e.root == RegRoot::Hkr));
    // [kvmnet6.ndi.hw] AddReg = kvmnet6.EnableMSI: 4 DWORDs.
    let hw: Vec<(&str, &RegAction)> = reg
        .hw
        .iter()
        .map(|e| (e.value_name.as_str(), &e.action))
        .collect();
    assert_eq!(
        hw,
        [
            ("MSISupported", &RegAction::Set(RegData::Dword(1))),
            ("MessageNumberLimit", &RegAction::Set(RegData::Dword(2048))),
            ("DevicePolicy", &RegAction::Set(RegData::Dword(0))),
            ("DevicePriority", &RegAction::Set(RegData::Dword(2))),
        ]
    );
    // [TextModeFlags.Reg]: a DWORD and two strings with an empty flags field.
    let svc = &reg.services[0];
    assert_eq!(svc.name, "netkvm");
    assert_eq!(
        svc.add_reg[0].action,
        RegAction::Set(RegData::Dword(1)),
        "TextModeFlags"
    );
    assert_eq!(
        svc.add_reg[2].action,
        RegAction::Set(RegData::String {
            kind: REG_SZ,
            text: "3".into()
        }),
        "EarlyDebug"
    );
    assert_eq!(
        svc.event_log.as_ref().map(|e| e.add_reg.len()),
        Some(2),
        "kvmnet6.EventLog"
    );
}
