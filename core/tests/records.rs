//! Injection records applied to hives built by hivex, read back with hivex and reglookup (the
//! independent oracles), and removal returning the hives to their original logical content.
//!
//! The hives start as `../shared/fixtures/hives/minimal-hive` (hivex's empty hive; our own empty
//! hive when the shared fixtures are absent) with `.reg` content merged by `hivexregedit`. The
//! packages are the corpus's real vioscsi (boot-critical) and netkvm INFs when
//! `../shared/corpus/inf` is present, else INFs written for this test; payload files are dummies
//! named by the INFs.

#![allow(
    clippy::print_stderr,
    reason = "tests say which data they ran on (DESIGN.md: shared corpus present or not)"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use infuse::hive::{Hive, ValueType};
use infuse::rank::Target;
use infuse::stage::plan::{FileOp, HiveFile, HiveOp, RegOp};
use infuse::stage::records::{
    DbLayout, PackageFile, PackageInstall, PackageRecords, install_records, oem_inf_map,
    package_files, removal_records, repository_name,
};
use infuse_driver_store::inf::model::{Arch, Model};
use infuse_driver_store::inf::{Inf, ParseOptions, parse_with};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared` next to the repository (`INFUSE_SHARED_DIR` overrides it, e.g. with a missing
/// folder to run the fallback path).
fn shared() -> Option<PathBuf> {
    let d = std::env::var_os("INFUSE_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    d.is_dir().then_some(d)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (hint: `bash .ci/setup` installs the oracles)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The SYSTEM, SOFTWARE and DRIVERS hives of a Windows 11 image, written by hivex.
struct Hives {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

const DRIVERS_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase]
"OemInfMap"=hex:e0
"UpdateDate"=hex:00,80,36,f1,c5,4c,da,01

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DeviceIds]

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DeviceIds\PCI]

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DeviceIds\PCI\VEN_8086&DEV_2922]
"oem0.inf"=hex:01,ff,00,00

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DeviceIds\{4d36e97b-e325-11ce-bfc1-08002be10318}]
"oem0.inf"=hex(0):

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DriverInfFiles]

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DriverInfFiles\oem0.inf]
"Active"="ahci.inf_amd64_00000000000000aa"

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DriverPackages]

[HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase\DriverPackages\ahci.inf_amd64_00000000000000aa]
@="oem0.inf"
"InfName"="ahci.inf"
"Provider"="Contoso"
"#;

/// A `SYSTEM\DriverDatabase` with no boot-critical mirror yet (the injection creates its
/// containers and the removal deletes them again, stage/records/prune.rs), and an event log with
/// one source as every real image has.
const SYSTEM_EXTRA_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SYSTEM\DriverDatabase]

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\EventLog]

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\EventLog\System]

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\EventLog\System\storahci]
"TypesSupported"=dword:00000007

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control]
"#;

const SOFTWARE_EXTRA_REG: &str = r#"Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles\%SystemRoot%/System32/drivers/storahci.sys]
"Class"=dword:00000004
"#;

fn merge(hive: &Path, prefix: &str, reg: &Path) {
    run(Command::new("hivexregedit")
        .arg("--merge")
        .arg(hive)
        .args(["--prefix", prefix])
        .arg(reg));
}

impl Hives {
    fn new() -> Hives {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        let base = root.join("base");
        match shared() {
            Some(s) => {
                std::fs::copy(s.join("fixtures/hives/minimal-hive"), &base).expect("copy");
            }
            None => {
                eprintln!("shared hive fixtures absent: the base hive is our own empty hive");
                let h = Hive::new_empty("minimal").expect("empty hive");
                std::fs::write(&base, h.as_bytes()).expect("write");
            }
        }
        let mut perms = std::fs::metadata(&base).expect("meta").permissions();
        #[allow(
            clippy::permissions_set_readonly_false,
            reason = "a temp copy of a read-only fixture"
        )]
        perms.set_readonly(false);
        std::fs::set_permissions(&base, perms).expect("chmod");
        let write = |name: &str, text: &str| {
            let p = root.join(name);
            std::fs::write(&p, text).expect("write reg");
            p
        };
        let sys_reg = match shared() {
            Some(s) => s.join("fixtures/hives/windows-system.reg"),
            None => write(
                "system.reg",
                "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services]\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Tcpip]\n",
            ),
        };
        let sw_reg = match shared() {
            Some(s) => s.join("fixtures/hives/win11-software.reg"),
            None => write(
                "software.reg",
                "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n\"CurrentBuild\"=\"22631\"\n",
            ),
        };
        for (name, prefix, regs) in [
            (
                "SYSTEM",
                r"HKEY_LOCAL_MACHINE\SYSTEM",
                vec![sys_reg, write("system-extra.reg", SYSTEM_EXTRA_REG)],
            ),
            (
                "SOFTWARE",
                r"HKEY_LOCAL_MACHINE\SOFTWARE",
                vec![sw_reg, write("software-extra.reg", SOFTWARE_EXTRA_REG)],
            ),
            (
                "DRIVERS",
                r"HKEY_LOCAL_MACHINE\DRIVERS",
                vec![write("drivers.reg", DRIVERS_REG)],
            ),
        ] {
            let p = root.join(name);
            std::fs::copy(&base, &p).expect("copy base");
            for r in regs {
                merge(&p, prefix, &r);
            }
        }
        Hives { _dir: dir, root }
    }

    fn path(&self, f: HiveFile) -> PathBuf {
        self.root.join(match f {
            HiveFile::System => "SYSTEM",
            HiveFile::Software => "SOFTWARE",
            HiveFile::Drivers => "DRIVERS",
        })
    }

    fn open(&self, f: HiveFile) -> Hive {
        Hive::open(self.path(f)).expect("open hive")
    }

    /// Applies the ops with our hive engine, one commit per hive.
    fn apply(&self, ops: &[HiveOp]) {
        for f in [HiveFile::System, HiveFile::Software, HiveFile::Drivers] {
            let mine: Vec<&RegOp> = ops.iter().filter(|o| o.hive == f).map(|o| &o.op).collect();
            if mine.is_empty() {
                continue;
            }
            let hive = self.open(f);
            let mut edit = hive.edit().expect("edit");
            for op in mine {
                match op {
                    RegOp::CreateKey { key } => edit.create_key(key).expect("create"),
                    RegOp::SetValue {
                        key,
                        name,
                        kind,
                        data,
                    } => edit
                        .set_value(key, name, ValueType(*kind), data.clone())
                        .expect("set"),
                    RegOp::DeleteValue { key, name } => {
                        edit.delete_value(key, name).expect("delete value");
                    }
                    RegOp::DeleteKey { key } => {
                        edit.delete_key(key).expect("delete key");
                    }
                }
            }
            edit.commit(self.path(f)).expect("commit");
        }
    }

    /// `hivexregedit --export` of the whole hive, as a map key → sorted value lines (the
    /// logical content: value order inside a key is not part of it).
    fn export(&self, f: HiveFile) -> BTreeMap<String, Vec<String>> {
        let text = run(Command::new("hivexregedit")
            .arg("--export")
            .args(["--prefix", "HKLM"])
            .arg(self.path(f))
            .arg("\\"));
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(k) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = k.to_string();
                out.entry(current.clone()).or_default();
            } else if !line.is_empty() && !current.is_empty() {
                out.entry(current.clone())
                    .or_default()
                    .push(line.to_string());
            }
        }
        for v in out.values_mut() {
            v.sort();
        }
        out
    }

    /// One value as hivexregedit exports it (`hex:01,ff,00,00`, `dword:00000000`, ...).
    fn exported(&self, f: HiveFile, key: &str, name: &str) -> Option<String> {
        let all = self.export(f);
        let want_key = format!(r"HKLM\{key}").to_lowercase();
        let lines = all.iter().find(|(k, _)| k.to_lowercase() == want_key)?.1;
        let head = if name.is_empty() {
            "@=".to_string()
        } else {
            format!("\"{}\"=", name.replace('\\', "\\\\"))
        };
        lines
            .iter()
            .find(|l| l.to_lowercase().starts_with(&head.to_lowercase()))
            .map(|l| l[head.len()..].to_string())
    }

    /// reglookup's reading of one value: (type, value).
    fn reglookup(&self, f: HiveFile, key: &str, name: &str) -> Option<(String, String)> {
        let path = format!("/{}/{}", key.replace('\\', "/"), name);
        let text = run(Command::new("reglookup")
            .args(["-H", "-p"])
            .arg(&path)
            .arg(self.path(f)));
        text.lines().find_map(|l| {
            let mut parts = l.splitn(4, ',');
            let p = parts.next()?;
            (p.eq_ignore_ascii_case(&path)).then(|| {
                (
                    parts.next().unwrap_or_default().to_string(),
                    parts.next().unwrap_or_default().to_string(),
                )
            })
        })
    }
}

fn hex_list(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn utf16_hex(s: &str) -> String {
    hex_list(&infuse::hive::utf16z(s))
}

/// A package: its INF text, parsed, and dummy payload files named by it.
struct Package {
    name: String,
    bytes: Vec<u8>,
    dir: tempfile::TempDir,
}

impl Package {
    fn new(name: &str, bytes: Vec<u8>) -> Package {
        Package {
            name: name.into(),
            bytes,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn parse(&self) -> (Inf, Model) {
        let opts = ParseOptions {
            expand_dirids: false,
            ..ParseOptions::default()
        };
        let inf = parse_with(&self.bytes, &opts);
        let model = Model::new(&inf);
        (inf, model)
    }

    fn records(&self, hives: &Hives, published: &str) -> PackageRecords {
        let (inf, model) = self.parse();
        let target = win11();
        let mut files = Vec::new();
        for rel in package_files(&self.name, &model, &target) {
            let path = self.dir.path().join(&rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let bytes = if rel == self.name {
                self.bytes.clone()
            } else {
                format!("dummy payload {rel}\n").into_bytes()
            };
            std::fs::write(&path, &bytes).expect("write payload");
            files.push(PackageFile {
                path: rel,
                size: bytes.len() as u64,
                source: path,
            });
        }
        let drivers = hives.open(HiveFile::Drivers);
        let input = PackageInstall {
            inf: &inf,
            model: &model,
            inf_name: self.name.clone(),
            published: published.into(),
            repository: repository_name(&self.name, Arch::Amd64, &self.bytes, b""),
            target,
            layout: DbLayout::DriversHive,
            control_set: 1,
            system_has_driver_database: true,
            oem_path: r"D:\amd64\w11".into(),
            signer_name: "Microsoft Windows Hardware Compatibility Publisher".into(),
            signer_score: 0x0D00_0005,
            import_date: 0x01DA_4CC5_F136_8000,
            files,
            oem_inf_map: oem_inf_map(&drivers).expect("OemInfMap"),
            previous_packages: Vec::new(),
        };
        install_records(&input).expect("install records")
    }

    fn repository(&self) -> String {
        repository_name(&self.name, Arch::Amd64, &self.bytes, b"")
    }
}

fn win11() -> Target {
    Target {
        major: 10,
        minor: 0,
        build: 22631,
        arch: Arch::Amd64,
        product_type: 1,
        suite_mask: 0x100,
    }
}

fn corpus_inf(part: &str) -> Option<Vec<u8>> {
    let dir = shared()?.join("corpus/inf/OSDeploy__WinPEDriverPack");
    let path = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(part))?;
    eprintln!("using {}", path.display());
    std::fs::read(path).ok()
}

/// The boot-critical storage package: the corpus's vioscsi, else our own.
fn storage() -> (Package, Expect) {
    match corpus_inf("__vioscsi.inf") {
        Some(bytes) => (
            Package::new("vioscsi.inf", bytes),
            Expect {
                service: "vioscsi",
                hw_id: r"PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00",
                compat_id: r"PCI\VEN_1AF4&DEV_1004",
                // vioscsi.inf: DriverVer = 01/22/2024,100.94.104.24700; ClassGUID {4D36E97B-…}
                date: "00,80,36,f1,c5,4c,da,01",
                version: [100, 94, 104, 24700],
                start: 0,
                error_control: 1,
                bus_type: 10,
                config: "scsi_inst",
            },
        ),
        None => {
            eprintln!("shared corpus absent: using this test's own storage INF");
            (
                Package::new("vblk.inf", VBLK.as_bytes().to_vec()),
                Expect {
                    service: "vblk",
                    hw_id: r"PCI\VEN_1D0F&DEV_8061&SUBSYS_00000000&REV_00",
                    compat_id: r"PCI\VEN_1D0F&DEV_8061",
                    // DriverVer=01/22/2024,2.0.7.9
                    date: "00,80,36,f1,c5,4c,da,01",
                    version: [2, 0, 7, 9],
                    start: 0,
                    error_control: 3,
                    bus_type: 17,
                    config: "blk_inst",
                },
            )
        }
    }
}

/// The staged-only network package: the corpus's netkvm, else the repo's cnet fixture.
fn network() -> Package {
    match corpus_inf("__netkvm.inf") {
        Some(bytes) => Package::new("netkvm.inf", bytes),
        None => {
            let p = repo().join("driver-store/fixtures/packages/cnet/cnet.inf");
            Package::new("cnet.inf", std::fs::read(p).expect("cnet fixture"))
        }
    }
}

struct Expect {
    service: &'static str,
    hw_id: &'static str,
    compat_id: &'static str,
    date: &'static str,
    version: [u16; 4],
    start: u32,
    error_control: u32,
    bus_type: u32,
    config: &'static str,
}

const VBLK: &str = r#"[Version]
Signature="$Windows NT$"
Class=SCSIAdapter
ClassGuid={4D36E97B-E325-11CE-BFC1-08002BE10318}
Provider=%Mfg%
DriverVer=01/22/2024,2.0.7.9
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
%Blk.Desc%=blk_inst,PCI\VEN_1D0F&DEV_8061&SUBSYS_00000000&REV_00,PCI\VEN_1D0F&DEV_8061
[blk_inst]
CopyFiles=blk_files
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

/// §1.5 DeviceIds values and Version blob, §1.6 service values, §1.3 file copy, §1.7
/// PnpLockdownFiles — read back with hivexregedit and reglookup.
#[test]
fn boot_critical_package_writes_the_documented_records() {
    let hives = Hives::new();
    let (pkg, want) = storage();
    let rec = pkg.records(&hives, "oem3.inf");
    assert!(rec.boot_critical);
    hives.apply(&rec.hives);
    let d = HiveFile::Drivers;

    // DeviceIds: `01 ff 00 00` for the Models hardware ID, `02 ff 00 00` for the first
    // compatible ID (§1.5, verified against viostor.inx by [DB]).
    let key = |id: &str| format!(r"DriverDatabase\DeviceIds\{id}");
    assert_eq!(
        hives.exported(d, &key(want.hw_id), "oem3.inf").as_deref(),
        Some("hex(3):01,ff,00,00")
    );
    assert_eq!(
        hives
            .exported(d, &key(want.compat_id), "oem3.inf")
            .as_deref(),
        Some("hex(3):02,ff,00,00")
    );
    assert_eq!(
        hives.reglookup(d, &key(want.hw_id), "oem3.inf"),
        Some(("BINARY".into(), "%01%FF%00%00".into()))
    );
    assert_eq!(
        hives
            .exported(
                d,
                &key("{4d36e97b-e325-11ce-bfc1-08002be10318}"),
                "oem3.inf"
            )
            .as_deref(),
        Some("hex(0):")
    );

    // Version: 00 ff | arch 9 | 0 | class GUID in Windows byte order | FILETIME of the DriverVer
    // date (computed independently with Python's datetime) | packed version | 0.
    let [w, x, y, z] = want.version.map(u64::from);
    let version = (w << 48) | (x << 32) | (y << 16) | z;
    let blob = format!(
        "hex(3):00,ff,09,00,00,00,00,00,7b,e9,36,4d,25,e3,ce,11,bf,c1,08,00,2b,e1,03,18,{},{},00,00,00,00,00,00,00,00",
        want.date,
        hex_list(&version.to_le_bytes())
    );
    let pkg_key = format!(r"DriverDatabase\DriverPackages\{}", pkg.repository());
    assert_eq!(hives.exported(d, &pkg_key, "Version"), Some(blob));
    assert_eq!(
        hives.exported(d, &pkg_key, "").as_deref(),
        Some(format!("hex(1):{}", utf16_hex("oem3.inf")).as_str())
    );
    assert_eq!(
        hives.reglookup(d, &pkg_key, "InfName"),
        Some(("SZ".into(), pkg.name.clone()))
    );
    let inf_key = r"DriverDatabase\DriverInfFiles\oem3.inf";
    assert_eq!(
        hives.reglookup(d, inf_key, "Active"),
        Some(("SZ".into(), pkg.repository()))
    );
    assert_eq!(
        hives.reglookup(
            d,
            &format!(r"{pkg_key}\Configurations\{}", want.config),
            "Service"
        ),
        Some(("SZ".into(), want.service.to_string()))
    );
    // OemInfMap: oem0-2 in the fixture (e0), oem3 added.
    assert_eq!(
        hives.exported(d, "DriverDatabase", "OemInfMap").as_deref(),
        Some("hex(3):f0")
    );

    // The service key, with the values the INF gives (§1.6), read by reglookup.
    let s = HiveFile::System;
    let svc = format!(r"ControlSet001\Services\{}", want.service);
    let dword = |v: u32| ("DWORD".to_string(), format!("0x{v:08X}"));
    assert_eq!(hives.reglookup(s, &svc, "Type"), Some(dword(1)));
    assert_eq!(hives.reglookup(s, &svc, "Start"), Some(dword(want.start)));
    assert_eq!(
        hives.reglookup(s, &svc, "ErrorControl"),
        Some(dword(want.error_control))
    );
    assert_eq!(
        hives.reglookup(s, &svc, "ImagePath"),
        Some((
            "EXPAND_SZ".into(),
            format!(r"System32\drivers\{}.sys", want.service)
        ))
    );
    assert_eq!(
        hives.reglookup(s, &svc, "Group"),
        Some(("SZ".into(), "SCSI miniport".into()))
    );
    assert_eq!(
        hives.reglookup(s, &format!(r"{svc}\Parameters"), "BusType"),
        Some(dword(want.bus_type))
    );
    let hivexget = run(Command::new("hivexget")
        .arg(hives.path(s))
        .arg(&svc)
        .arg("Start"));
    assert_eq!(hivexget.trim(), want.start.to_string());
    let evt = format!(r"ControlSet001\Services\EventLog\System\{}", want.service);
    assert_eq!(hives.reglookup(s, &evt, "TypesSupported"), Some(dword(7)));
    // The SYSTEM\DriverDatabase mirror (§1.4).
    assert_eq!(
        hives.exported(s, &key(want.hw_id), "oem3.inf").as_deref(),
        Some("hex(3):01,ff,00,00")
    );

    // §1.7 PnpLockdownFiles and §1.3 the reflected .sys.
    let lock = format!(
        r"Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles\%SystemRoot%/System32/drivers/{}.sys",
        want.service
    );
    assert_eq!(
        hives
            .exported(HiveFile::Software, &lock, "Class")
            .as_deref(),
        Some("dword:00000004")
    );
    assert!(
        rec.files
            .iter()
            .any(|f| matches!(f, FileOp::Put { dest, .. }
            if *dest == format!("Windows/System32/drivers/{}.sys", want.service))),
        "{:?}",
        rec.files
    );
}

/// A non-boot-critical package is staged: DriverDatabase records only, no service key (§1.1).
#[test]
fn staged_package_writes_only_the_driver_database() {
    let hives = Hives::new();
    let pkg = network();
    let rec = pkg.records(&hives, "oem4.inf");
    assert!(!rec.boot_critical);
    assert!(rec.files.is_empty());
    assert!(
        rec.hives.iter().all(|o| o.hive == HiveFile::Drivers),
        "only the DRIVERS hive changes"
    );
    hives.apply(&rec.hives);
    let (_, model) = pkg.parse();
    let entry = model
        .nodes()
        .find(|n| n.models.arch == Arch::Amd64)
        .expect("an amd64 node")
        .entry;
    let feature = format!(
        "{:02x}",
        model.installs[entry.install.expect("install")]
            .feature_score
            .unwrap_or(0xFF)
    );
    let key = format!(r"DriverDatabase\DeviceIds\{}", entry.hardware_id);
    assert_eq!(
        hives.exported(HiveFile::Drivers, &key, "oem4.inf"),
        Some(format!("hex(3):01,{feature},00,00"))
    );
}

/// Inject → remove-driver returns the hives' logical content to the original (the issue's
/// "must show"); `UpdateDate` alone records that the database changed.
#[test]
fn removal_restores_the_original_hives() {
    let hives = Hives::new();
    let files = [HiveFile::System, HiveFile::Software, HiveFile::Drivers];
    let before: Vec<_> = files.iter().map(|f| hives.export(*f)).collect();
    let (storage, _) = storage();
    let network = network();
    let first = storage.records(&hives, "oem3.inf");
    hives.apply(&first.hives);
    let second = network.records(&hives, "oem4.inf");
    hives.apply(&second.hives);
    assert_ne!(hives.export(HiveFile::Drivers), before[2]);

    for published in ["oem3.inf", "oem4.inf"] {
        let system = hives.open(HiveFile::System);
        let software = hives.open(HiveFile::Software);
        let drivers = hives.open(HiveFile::Drivers);
        let rec = removal_records(
            Some(&drivers),
            HiveFile::Drivers,
            &system,
            Some(&software),
            published,
        )
        .expect("removal records");
        if published == "oem3.inf" {
            let removed: Vec<&str> = rec
                .files
                .iter()
                .filter_map(|f| match f {
                    FileOp::Remove { dest } => Some(dest.as_str()),
                    FileOp::Put { .. } => None,
                })
                .collect();
            let put: Vec<&str> = first
                .files
                .iter()
                .filter_map(|f| match f {
                    FileOp::Put { dest, .. } => Some(dest.as_str()),
                    FileOp::Remove { .. } => None,
                })
                .collect();
            assert_eq!(removed, put, "the reflected files are removed");
        }
        hives.apply(&rec.hives);
    }
    for (f, want) in files.iter().zip(&before) {
        let mut got = hives.export(*f);
        let mut want = want.clone();
        for m in [&mut got, &mut want] {
            for lines in m.values_mut() {
                lines.retain(|l| !l.starts_with("\"UpdateDate\"="));
            }
        }
        assert_eq!(&got, &want, "{f:?} differs after removal");
    }
    // Removing it again is an error naming the hive and the name.
    let drivers = hives.open(HiveFile::Drivers);
    let system = hives.open(HiveFile::System);
    let err = removal_records(Some(&drivers), HiveFile::Drivers, &system, None, "oem3.inf")
        .expect_err("already removed");
    assert!(err.to_string().contains("oem3.inf"), "{err}");
}

/// The image module's DriverDatabase reader (written independently, issue 5 "image") reads what
/// the record builder wrote, and `find_package` finds it again for an update or a re-injection.
#[test]
fn injected_records_read_back_as_a_package() {
    let hives = Hives::new();
    let (pkg, want) = storage();
    let rec = pkg.records(&hives, "oem3.inf");
    hives.apply(&rec.hives);
    let path = hives.path(HiveFile::Drivers);
    let drivers = hives.open(HiveFile::Drivers);
    let db = infuse::image::ddb::DriverDb::new(&drivers, HiveFile::Drivers, &path);
    let record = db
        .package(&pkg.repository())
        .expect("read package")
        .expect("package present");
    assert_eq!(record.published.as_deref(), Some("oem3.inf"));
    assert_eq!(record.inf_name.as_deref(), Some(pkg.name.as_str()));
    assert_eq!(record.version_error, None);
    let version = record.version.expect("Version blob");
    assert_eq!(
        version.version_text(),
        want.version.map(|p| p.to_string()).join(".")
    );
    assert!(
        record
            .descriptors
            .iter()
            .any(|d| d.eq_ignore_ascii_case(want.hw_id)),
        "{:?}",
        record.descriptors
    );
    assert_eq!(
        record.services,
        [(want.config.to_string(), want.service.to_string())]
    );
    let ids = db.device_id(want.compat_id).expect("DeviceIds");
    let mine = ids
        .iter()
        .find(|e| e.inf == "oem3.inf")
        .expect("oem3.inf entry");
    assert_eq!(
        (mine.flags, mine.feature_score, mine.position),
        (2, 0xFF, 0)
    );

    let (_, model) = pkg.parse();
    let found = infuse::stage::records::find_package(
        &drivers,
        &pkg.name.to_uppercase(),
        model.version.provider.as_deref(),
    )
    .expect("find")
    .expect("the injected package");
    assert_eq!(found.published, "oem3.inf");
    assert!(found.contains(&pkg.repository()));
    assert_eq!(found.active.as_deref(), Some(pkg.repository().as_str()));
    let other = infuse::stage::records::find_package(&drivers, &pkg.name, Some("Someone Else"))
        .expect("find");
    assert_eq!(
        other, None,
        "another provider's INF of the same name is another package"
    );
}
