//! A minimal offline image laid out from nothing with infuse's own hive engine, for tests and
//! `infuse demo`: the folders an injection touches, SYSTEM / SOFTWARE / DRIVERS hives with the
//! keys of windows-driver-internals.md §1.4–§1.7, a kernel file whose PE header names the
//! architecture, and optionally driver packages registered the way Windows registers them
//! (§1.5: `DriverInfFiles`, `DriverPackages` with the 48-byte `Version`, `DeviceIds` 4-byte
//! values, `OemInfMap`; the INF in `Windows/INF` and its `FileRepository` folder; the associated
//! service in SYSTEM with its binary in `System32/drivers`).
//!
//! The sample "inbox" packages ([`PackageSpec::sample_inbox`]) are infuse's own data modelled
//! on the roles of Windows' hdaudio.inf, e1d68x64.inf and stornvme.inf (a generic compatible-ID
//! driver, a vendor driver for a hardware ID, a boot-start storage driver); their INF text is
//! generated here, not copied.

use std::path::{Path, PathBuf};

use infuse_driver_store::inf::model::Arch;

use super::ddb::{self, VersionBlob};
use crate::hive::{self, Hive};

/// A Windows release the builder can lay out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Windows 7 SP1: `CurrentVersion` "6.1", no DriverDatabase (CriticalDeviceDatabase).
    Win7,
    /// Windows 8.1: `SYSTEM\DriverDatabase`, no DRIVERS hive.
    Win81,
    /// Windows 10 22H2 (19045).
    Win10,
    /// Windows 11 23H2 (22631).
    Win11,
    /// Windows Server 2022 (20348).
    Server2022,
}

impl Release {
    /// (major, minor, build, CurrentVersion, ProductName, EditionID, InstallationType,
    /// ProductType)
    fn values(
        self,
    ) -> (
        u32,
        u32,
        u32,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        match self {
            Release::Win7 => (
                6,
                1,
                7601,
                "6.1",
                "Windows 7 Professional",
                "Professional",
                "Client",
                "WinNT",
            ),
            Release::Win81 => (
                6,
                3,
                9600,
                "6.3",
                "Windows 8.1 Pro",
                "Professional",
                "Client",
                "WinNT",
            ),
            Release::Win10 => (
                10,
                0,
                19045,
                "6.3",
                "Windows 10 Pro",
                "Professional",
                "Client",
                "WinNT",
            ),
            Release::Win11 => (
                10,
                0,
                22631,
                "6.3",
                "Windows 10 Pro",
                "Professional",
                "Client",
                "WinNT",
            ),
            Release::Server2022 => (
                10,
                0,
                20348,
                "6.3",
                "Windows Server 2022 Standard",
                "ServerStandard",
                "Server",
                "ServerNT",
            ),
        }
    }

    /// Where its driver database lives (§1.4).
    pub fn layout(self) -> super::DriverDbLayout {
        match self {
            Release::Win7 => super::DriverDbLayout::Legacy,
            Release::Win81 => super::DriverDbLayout::SystemHive,
            _ => super::DriverDbLayout::DriversHive,
        }
    }
}

/// An associated service (AddService flag 0x2) of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    /// 0 boot … 4 disabled.
    pub start: u32,
    pub group: Option<String>,
}

/// One Models entry: its hardware ID and its compatible IDs (k = position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLine {
    pub description: String,
    pub hardware_id: String,
    pub compatible_ids: Vec<String>,
}

/// A driver package as registered in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSpec {
    /// `oem<N>.inf` for third-party packages, the INF's own name for inbox ones.
    pub published: String,
    /// The original INF name (`InfName`).
    pub inf_name: String,
    pub provider: String,
    pub class: String,
    /// Braced GUID.
    pub class_guid: String,
    pub date: (i32, u32, u32),
    pub version: [u16; 4],
    /// `SignerScore` (0x0D000003 inbox, 0x0D000005 WHQL, 0x0F000000 Authenticode, §3.1).
    pub signer_score: u32,
    pub install_section: String,
    pub feature_score: u8,
    pub models: Vec<ModelLine>,
    pub service: Option<ServiceSpec>,
}

/// SCSIAdapter, Net and MEDIA setup classes.
pub const CLASS_SCSI_ADAPTER: (&str, &str) =
    ("SCSIAdapter", "{4D36E97B-E325-11CE-BFC1-08002BE10318}");
pub const CLASS_NET: (&str, &str) = ("Net", "{4D36E972-E325-11CE-BFC1-08002BE10318}");
pub const CLASS_MEDIA: (&str, &str) = ("MEDIA", "{4D36E96C-E325-11CE-BFC1-08002BE10318}");

/// SIGNERSCORE_INBOX (§3.1).
pub const SIGNER_INBOX: u32 = 0x0D00_0003;
/// SIGNERSCORE_WHQL (§3.1).
pub const SIGNER_WHQL: u32 = 0x0D00_0005;

impl PackageSpec {
    /// Three inbox-style packages: a generic HD Audio function driver (matched through the
    /// compatible ID `HDAUDIO\FUNC_01`), an Intel Ethernet driver for `PCI\VEN_8086&DEV_15B8`
    /// (the demo machine's NIC), and a boot-start NVMe driver for `PCI\CC_010802`.
    pub fn sample_inbox() -> Vec<PackageSpec> {
        vec![
            PackageSpec {
                published: "hdaudio.inf".into(),
                inf_name: "hdaudio.inf".into(),
                provider: "Microsoft".into(),
                class: CLASS_MEDIA.0.into(),
                class_guid: CLASS_MEDIA.1.into(),
                date: (2006, 6, 21),
                version: [10, 0, 22621, 1],
                signer_score: SIGNER_INBOX,
                install_section: "HdAudModel".into(),
                feature_score: 0xFF,
                models: vec![ModelLine {
                    description: "High Definition Audio Device".into(),
                    hardware_id: "HDAUDIO\\FUNC_01&VEN_0000&DEV_0000".into(),
                    compatible_ids: vec!["HDAUDIO\\FUNC_01".into()],
                }],
                service: Some(ServiceSpec {
                    name: "HdAudAddService".into(),
                    start: 3,
                    group: None,
                }),
            },
            PackageSpec {
                published: "e1d68x64.inf".into(),
                inf_name: "e1d68x64.inf".into(),
                provider: "Intel".into(),
                class: CLASS_NET.0.into(),
                class_guid: CLASS_NET.1.into(),
                date: (2019, 3, 14),
                version: [12, 17, 10, 8],
                signer_score: SIGNER_INBOX,
                install_section: "E15B8.10.0.1".into(),
                feature_score: 0xFF,
                models: vec![ModelLine {
                    description: "Intel(R) Ethernet Connection I219-V".into(),
                    hardware_id: "PCI\\VEN_8086&DEV_15B8".into(),
                    compatible_ids: Vec::new(),
                }],
                service: Some(ServiceSpec {
                    name: "e1dexpress".into(),
                    start: 3,
                    group: Some("NDIS".into()),
                }),
            },
            PackageSpec {
                published: "stornvme.inf".into(),
                inf_name: "stornvme.inf".into(),
                provider: "Microsoft".into(),
                class: CLASS_SCSI_ADAPTER.0.into(),
                class_guid: CLASS_SCSI_ADAPTER.1.into(),
                date: (2006, 6, 21),
                version: [10, 0, 22621, 2506],
                signer_score: SIGNER_INBOX,
                install_section: "Stornvme_Inst".into(),
                feature_score: 0xFF,
                models: vec![ModelLine {
                    description: "Standard NVM Express Controller".into(),
                    hardware_id: "PCI\\VEN_0000&DEV_0000&CC_010802".into(),
                    compatible_ids: vec!["PCI\\CC_010802".into()],
                }],
                service: Some(ServiceSpec {
                    name: "stornvme".into(),
                    start: 0,
                    group: Some("SCSI miniport".into()),
                }),
            },
        ]
    }

    /// The FileRepository folder name, `<inf lower>_<arch>_<16 hex>` (§1.3; the hex is a
    /// stable FNV-1a hash of the generated INF — Windows' own algorithm is undocumented).
    pub fn package_id(&self, arch: Arch) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.inf_text(arch).bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!(
            "{}_{}_{h:016x}",
            self.inf_name.to_ascii_lowercase(),
            arch.as_str()
        )
    }

    /// The DeviceIds values the package's Models lines give (§1.5: flag 1 = the entry's
    /// hardware ID, 2 = a compatible ID at position k; the feature score in byte 1).
    pub fn device_ids(&self) -> Vec<(String, [u8; 4])> {
        let mut out: Vec<(String, [u8; 4])> = Vec::new();
        let mut add = |id: &str, flag: u8, k: u16| {
            let k = if flag == 2 { k } else { 0 };
            match out.iter_mut().find(|(i, _)| i.eq_ignore_ascii_case(id)) {
                Some((_, v)) => {
                    v[0] |= flag;
                    if flag == 2 && v[0] & 1 == 0 {
                        v[2..4].copy_from_slice(&k.to_le_bytes());
                    }
                }
                None => {
                    let kb = k.to_le_bytes();
                    out.push((id.to_owned(), [flag, self.feature_score, kb[0], kb[1]]));
                }
            }
        };
        for m in &self.models {
            add(&m.hardware_id, 1, 0);
            for (k, c) in m.compatible_ids.iter().enumerate() {
                add(c, 2, k as u16);
            }
        }
        out
    }

    pub fn version_blob(&self, arch: Arch) -> VersionBlob {
        let v = self.version;
        VersionBlob {
            flags: [0x00, 0xFF],
            arch: processor_architecture(arch),
            class_guid: ddb::guid_bytes(&self.class_guid).unwrap_or_default(),
            date_filetime: VersionBlob::filetime_of(self.date.0, self.date.1, self.date.2),
            version: (u64::from(v[0]) << 48)
                | (u64::from(v[1]) << 32)
                | (u64::from(v[2]) << 16)
                | u64::from(v[3]),
        }
    }

    /// The INF text this package stands for.
    pub fn inf_text(&self, arch: Arch) -> String {
        let (y, m, d) = self.date;
        let v = self.version;
        let a = arch.as_str();
        let mut s = format!(
            "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass={}\r\nClassGuid={}\r\nProvider=%Prov%\r\nDriverVer={m:02}/{d:02}/{y:04},{}.{}.{}.{}\r\nCatalogFile={}\r\n\r\n[Manufacturer]\r\n%Prov%=Models,NT{a}\r\n\r\n[Models.NT{a}]\r\n",
            self.class,
            self.class_guid,
            v[0],
            v[1],
            v[2],
            v[3],
            self.catalog()
        );
        for (n, line) in self.models.iter().enumerate() {
            s.push_str(&format!(
                "%Desc{n}%={}, {}",
                self.install_section, line.hardware_id
            ));
            for c in &line.compatible_ids {
                s.push_str(&format!(", {c}"));
            }
            s.push_str("\r\n");
        }
        s.push_str(&format!("\r\n[{}]\r\n", self.install_section));
        if self.feature_score != 0xFF {
            s.push_str(&format!("FeatureScore=0x{:02X}\r\n", self.feature_score));
        }
        if let Some(svc) = &self.service {
            s.push_str(&format!(
                "CopyFiles=@{0}.sys\r\n\r\n[{1}.Services]\r\nAddService={0},0x00000002,svc_inst\r\n\r\n[svc_inst]\r\nServiceType=1\r\nStartType={2}\r\nErrorControl=1\r\nServiceBinary=%12%\\{0}.sys\r\n",
                svc.name, self.install_section, svc.start
            ));
            if let Some(g) = &svc.group {
                s.push_str(&format!("LoadOrderGroup={g}\r\n"));
            }
            s.push_str("\r\n[SourceDisksNames]\r\n1=%Disk%\r\n\r\n[SourceDisksFiles]\r\n");
            s.push_str(&format!(
                "{}.sys=1\r\n\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n",
                svc.name
            ));
        }
        s.push_str(&format!(
            "\r\n[Strings]\r\nProv=\"{}\"\r\nDisk=\"Disk 1\"\r\n",
            self.provider
        ));
        for (n, line) in self.models.iter().enumerate() {
            s.push_str(&format!("Desc{n}=\"{}\"\r\n", line.description));
        }
        s
    }

    fn catalog(&self) -> String {
        let stem = self
            .inf_name
            .rsplit_once('.')
            .map_or(self.inf_name.as_str(), |(s, _)| s);
        format!("{stem}.cat")
    }

    /// The payload of the service binary (a recognisable placeholder, not a driver).
    pub fn sys_bytes(&self) -> Vec<u8> {
        format!("infuse test payload for {}\n", self.inf_name).into_bytes()
    }
}

/// PROCESSOR_ARCHITECTURE_* numbers as the `Version` blob stores them (§1.5).
pub fn processor_architecture(arch: Arch) -> u16 {
    match arch {
        Arch::X86 => 0,
        Arch::Arm => 5,
        Arch::Ia64 => 6,
        Arch::Amd64 => 9,
        Arch::Arm64 => 12,
    }
}

/// PROCESSOR_ARCHITECTURE environment value.
fn env_arch(arch: Arch) -> &'static str {
    match arch {
        Arch::X86 => "x86",
        Arch::Arm => "ARM",
        Arch::Ia64 => "IA64",
        Arch::Amd64 => "AMD64",
        Arch::Arm64 => "ARM64",
    }
}

/// IMAGE_FILE_MACHINE_* of an architecture.
pub fn pe_machine_of(arch: Arch) -> u16 {
    match arch {
        Arch::X86 => 0x014c,
        Arch::Arm => 0x01c4,
        Arch::Ia64 => 0x0200,
        Arch::Amd64 => 0x8664,
        Arch::Arm64 => 0xaa64,
    }
}

/// The headers of a PE file for `machine`: DOS header, `PE\0\0`, COFF header, a PE32+/PE32
/// optional header with no data directories. Enough for a reader of the machine field.
pub fn pe_header(machine: u16) -> Vec<u8> {
    let mut f = vec![0u8; 0x40];
    f[0..2].copy_from_slice(b"MZ");
    f[0x3C..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    f.extend_from_slice(b"PE\0\0");
    let pe32_plus = !matches!(machine, 0x014c | 0x01c4);
    let opt_len: u16 = if pe32_plus { 112 } else { 96 };
    f.extend_from_slice(&machine.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes()); // sections
    f.extend_from_slice(&0u32.to_le_bytes()); // timestamp
    f.extend_from_slice(&0u32.to_le_bytes()); // symbol table
    f.extend_from_slice(&0u32.to_le_bytes()); // symbols
    f.extend_from_slice(&opt_len.to_le_bytes());
    f.extend_from_slice(&0x0022u16.to_le_bytes()); // executable, large address aware
    let mut opt = vec![0u8; usize::from(opt_len)];
    opt[0..2].copy_from_slice(&(if pe32_plus { 0x20bu16 } else { 0x10bu16 }).to_le_bytes());
    // SectionAlignment (32), FileAlignment (36) and Subsystem (68, native = 1) sit at the
    // same offsets in PE32 and PE32+.
    let (sa, fa, subsystem) = (32, 36, 68);
    opt[sa..sa + 4].copy_from_slice(&0x1000u32.to_le_bytes());
    opt[fa..fa + 4].copy_from_slice(&0x200u32.to_le_bytes());
    opt[subsystem..subsystem + 2].copy_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&opt);
    f
}

/// What went wrong laying out an image.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("building the {hive} hive")]
    Hive {
        hive: &'static str,
        #[source]
        source: hive::HiveError,
    },
}

/// Lays out a minimal offline image.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    release: Release,
    arch: Arch,
    kernel: bool,
    env_arch: bool,
    packages: Vec<PackageSpec>,
}

/// What [`ImageBuilder::build`] made.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub root: PathBuf,
    /// (published name, FileRepository folder) of each registered package.
    pub packages: Vec<(String, String)>,
}

impl ImageBuilder {
    /// An image of `release` for amd64, with a kernel and the environment value.
    pub fn new(release: Release) -> ImageBuilder {
        ImageBuilder {
            release,
            arch: Arch::Amd64,
            kernel: true,
            env_arch: true,
            packages: Vec::new(),
        }
    }

    pub fn arch(mut self, arch: Arch) -> Self {
        self.arch = arch;
        self
    }

    /// Write `Windows/System32/ntoskrnl.exe` (PE headers naming the architecture).
    pub fn kernel(mut self, yes: bool) -> Self {
        self.kernel = yes;
        self
    }

    /// Write `PROCESSOR_ARCHITECTURE` in the SYSTEM hive's environment.
    pub fn env_arch(mut self, yes: bool) -> Self {
        self.env_arch = yes;
        self
    }

    /// Register a package (ignored on Windows 7, which has no DriverDatabase).
    pub fn package(mut self, p: PackageSpec) -> Self {
        self.packages.push(p);
        self
    }

    /// Register [`PackageSpec::sample_inbox`].
    pub fn sample_inbox(mut self) -> Self {
        self.packages.extend(PackageSpec::sample_inbox());
        self
    }

    /// Lay the image out under `root` (created if missing).
    pub fn build(&self, root: &Path) -> Result<BuiltImage, BuildError> {
        let win = root.join("Windows");
        let sys32 = win.join("System32");
        let config = sys32.join("config");
        let repo = sys32.join("DriverStore").join("FileRepository");
        for d in [
            win.join("INF"),
            sys32.join("drivers"),
            repo.clone(),
            config.clone(),
        ] {
            fs_err::create_dir_all(d)?;
        }
        if self.kernel {
            fs_err::write(
                sys32.join("ntoskrnl.exe"),
                pe_header(pe_machine_of(self.arch)),
            )?;
        }
        let (major, minor, build, cur, name, edition, install, ptype) = self.release.values();
        let hive_err = |hive| move |source| BuildError::Hive { hive, source };

        // SOFTWARE (§1.7).
        let software = Hive::new_empty("ROOT").map_err(hive_err("SOFTWARE"))?;
        let mut sw = software.edit().map_err(hive_err("SOFTWARE"))?;
        let cv = super::CURRENT_VERSION_KEY;
        (|| -> hive::Result<()> {
            if major >= 10 {
                sw.set_dword(cv, "CurrentMajorVersionNumber", major)?;
                sw.set_dword(cv, "CurrentMinorVersionNumber", minor)?;
                sw.set_dword(cv, "UBR", 1)?;
            }
            sw.set_string(cv, "CurrentVersion", cur)?;
            sw.set_string(cv, "CurrentBuild", &build.to_string())?;
            sw.set_string(cv, "CurrentBuildNumber", &build.to_string())?;
            sw.set_string(cv, "ProductName", name)?;
            sw.set_string(cv, "EditionID", edition)?;
            sw.set_string(cv, "InstallationType", install)?;
            sw.set_expand_string(
                r"Microsoft\Windows\CurrentVersion",
                "DevicePath",
                r"%SystemRoot%\inf",
            )?;
            Ok(())
        })()
        .map_err(hive_err("SOFTWARE"))?;

        // SYSTEM (§1.4, §1.6).
        let system = Hive::new_empty("ROOT").map_err(hive_err("SYSTEM"))?;
        let mut sy = system.edit().map_err(hive_err("SYSTEM"))?;
        let layout = self.release.layout();
        (|| -> hive::Result<()> {
            sy.set_dword("Select", "Current", 1)?;
            sy.set_dword("Select", "Default", 1)?;
            sy.set_dword("Select", "Failed", 0)?;
            sy.set_dword("Select", "LastKnownGood", 2)?;
            sy.set_string(
                r"ControlSet001\Control\ProductOptions",
                "ProductType",
                ptype,
            )?;
            if self.env_arch {
                sy.set_string(
                    r"ControlSet001\Control\Session Manager\Environment",
                    "PROCESSOR_ARCHITECTURE",
                    env_arch(self.arch),
                )?;
            }
            sy.create_key(r"ControlSet001\Services")?;
            sy.create_key(r"ControlSet001\Control\Class")?;
            if layout == super::DriverDbLayout::Legacy {
                sy.create_key(r"ControlSet001\Control\CriticalDeviceDatabase")?;
            } else {
                sy.create_key(ddb::ROOT)?;
            }
            Ok(())
        })()
        .map_err(hive_err("SYSTEM"))?;

        // DRIVERS (§1.4, §1.5) on Windows 10+.
        let drivers = Hive::new_empty("ROOT").map_err(hive_err("DRIVERS"))?;
        let mut dr = drivers.edit().map_err(hive_err("DRIVERS"))?;
        let mut built = Vec::new();
        let mut oems = Vec::new();
        let packages: &[PackageSpec] = if layout == super::DriverDbLayout::Legacy {
            &[]
        } else {
            &self.packages
        };
        for p in packages {
            let pkg = p.package_id(self.arch);
            let text = p.inf_text(self.arch);
            fs_err::write(win.join("INF").join(&p.published), &text)?;
            let folder = repo.join(&pkg);
            fs_err::create_dir_all(&folder)?;
            fs_err::write(folder.join(&p.inf_name), &text)?;
            if let Some(n) = ddb::oem_number(&p.published) {
                oems.push(n);
            }
            let db = if layout == super::DriverDbLayout::DriversHive {
                &mut dr
            } else {
                &mut sy
            };
            register(db, p, &pkg, self.arch).map_err(hive_err("DriverDatabase"))?;
            (|| -> hive::Result<()> {
                let class_key = format!(r"ControlSet001\Control\Class\{}", p.class_guid);
                sy.set_string(&class_key, "Class", &p.class)?;
                if let Some(svc) = &p.service {
                    let k = format!(r"ControlSet001\Services\{}", svc.name);
                    sy.set_dword(&k, "Type", 1)?;
                    sy.set_dword(&k, "Start", svc.start)?;
                    sy.set_dword(&k, "ErrorControl", 1)?;
                    sy.set_expand_string(
                        &k,
                        "ImagePath",
                        &format!(r"System32\drivers\{}.sys", svc.name),
                    )?;
                    if let Some(g) = &svc.group {
                        sy.set_string(&k, "Group", g)?;
                    }
                    sy.set_multi_string(&k, "Owners", &[p.published.as_str()])?;
                }
                Ok(())
            })()
            .map_err(hive_err("SYSTEM"))?;
            if let Some(svc) = &p.service {
                let sys = format!("{}.sys", svc.name);
                fs_err::write(folder.join(&sys), p.sys_bytes())?;
                fs_err::write(sys32.join("drivers").join(&sys), p.sys_bytes())?;
                if svc.start == 0 {
                    // A boot-start (boot-critical, §1.2) package is reflected the way a real
                    // image holds it: mirrored in SYSTEM\DriverDatabase next to the DRIVERS
                    // hive's record (§1.4), and its file outside the store protected by a
                    // PnpLockdownFiles entry (§1.7).
                    if layout == super::DriverDbLayout::DriversHive {
                        register(&mut sy, p, &pkg, self.arch).map_err(hive_err("SYSTEM"))?;
                    }
                    lockdown(&mut sw, &p.published, &pkg, &sys).map_err(hive_err("SOFTWARE"))?;
                }
            }
            built.push((p.published.clone(), pkg));
        }
        if layout != super::DriverDbLayout::Legacy {
            let db = if layout == super::DriverDbLayout::DriversHive {
                &mut dr
            } else {
                &mut sy
            };
            (|| -> hive::Result<()> {
                for k in ["DeviceIds", "DriverInfFiles", "DriverPackages"] {
                    db.create_key(&format!(r"{}\{k}", ddb::ROOT))?;
                }
                // No oemN.inf yet: one byte with no bits set, the form a removal of the last
                // one leaves (§1.3: the map grows only as far as the highest oemN).
                let mut map = ddb::oem_inf_map(oems.iter().copied());
                if map.is_empty() {
                    map.push(0);
                }
                db.set_binary(ddb::ROOT, "OemInfMap", map)?;
                Ok(())
            })()
            .map_err(hive_err("DriverDatabase"))?;
        }
        sw.commit(config.join("SOFTWARE"))
            .map_err(hive_err("SOFTWARE"))?;
        sy.commit(config.join("SYSTEM"))
            .map_err(hive_err("SYSTEM"))?;
        if layout == super::DriverDbLayout::DriversHive {
            dr.commit(config.join("DRIVERS"))
                .map_err(hive_err("DRIVERS"))?;
        }
        Ok(BuiltImage {
            root: root.to_path_buf(),
            packages: built,
        })
    }
}

/// `SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles\%SystemRoot%/System32/
/// drivers/<sys>` {Class 4, Owners, Source in the package's FileRepository folder} (§1.7).
fn lockdown(sw: &mut hive::Edit<'_>, published: &str, pkg: &str, sys: &str) -> hive::Result<()> {
    let key = format!(
        r"{}\%SystemRoot%/System32/drivers/{sys}",
        crate::stage::records::PNP_LOCKDOWN_FILES
    );
    sw.set_dword(&key, "Class", crate::stage::records::LOCKDOWN_CLASS)?;
    sw.set_multi_string(&key, "Owners", &[published])?;
    sw.set_expand_string(
        &key,
        "Source",
        &format!(r"%SystemRoot%\System32\DriverStore\FileRepository\{pkg}\{sys}"),
    )
}

/// The DriverDatabase record of one package (§1.5), in `DriverDatabase\…` of `db`'s hive.
pub fn register(
    db: &mut hive::Edit<'_>,
    p: &PackageSpec,
    pkg: &str,
    arch: Arch,
) -> hive::Result<()> {
    let root = ddb::ROOT;
    let inf_key = format!(r"{root}\DriverInfFiles\{}", p.published);
    db.set_multi_string(&inf_key, "", &[pkg])?;
    db.set_string(&inf_key, "Active", pkg)?;
    db.set_multi_string(&inf_key, "Configurations", &[p.install_section.as_str()])?;
    let pk = format!(r"{root}\DriverPackages\{pkg}");
    db.set_string(&pk, "", &p.published)?;
    db.set_string(&pk, "Catalog", &p.catalog())?;
    db.set_string(&pk, "InfName", &p.inf_name)?;
    db.set_string(&pk, "Provider", &p.provider)?;
    db.set_string(
        &pk,
        "SignerName",
        if p.signer_score == SIGNER_INBOX {
            "Microsoft Windows"
        } else {
            "Microsoft Windows Hardware Compatibility Publisher"
        },
    )?;
    db.set_dword(&pk, "SignerScore", p.signer_score)?;
    db.set_binary(&pk, "Version", p.version_blob(arch).encode())?;
    let cfg = format!(r"{pk}\Configurations\{}", p.install_section);
    db.set_dword(&cfg, "ConfigFlags", 0)?;
    db.set_dword(&cfg, "ConfigScope", 7)?;
    if let Some(svc) = &p.service {
        db.set_string(&cfg, "Service", &svc.name)?;
    }
    for (n, m) in p.models.iter().enumerate() {
        for id in std::iter::once(&m.hardware_id).chain(&m.compatible_ids) {
            let d = format!(r"{pk}\Descriptors\{id}");
            db.set_string(&d, "Configuration", &p.install_section)?;
            db.set_string(&d, "Description", &format!("%desc{n}%"))?;
            db.set_string(&d, "Manufacturer", "%prov%")?;
        }
    }
    db.set_string(&format!(r"{pk}\Strings"), "prov", &p.provider)?;
    for (id, v) in p.device_ids() {
        db.set_binary(&format!(r"{root}\DeviceIds\{id}"), &p.published, v.to_vec())?;
    }
    db.set_value(
        &format!(r"{root}\DeviceIds\{}", p.class_guid.to_ascii_lowercase()),
        &p.published,
        hive::ValueType::NONE,
        Vec::new(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_values_follow_the_models_lines() {
        // §1.5: viostor's Models line `..., PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00,
        // PCI\VEN_1AF4&DEV_1001` gave `01 ff 00 00` for the hardware ID and `02 ff 00 00` for
        // the first compatible ID.
        let p = PackageSpec {
            published: "oem0.inf".into(),
            inf_name: "viostor.inf".into(),
            provider: "Red Hat, Inc.".into(),
            class: CLASS_SCSI_ADAPTER.0.into(),
            class_guid: CLASS_SCSI_ADAPTER.1.into(),
            date: (2021, 12, 2),
            version: [100, 90, 104, 21500],
            signer_score: SIGNER_WHQL,
            install_section: "scsi_inst".into(),
            feature_score: 0xFF,
            models: vec![ModelLine {
                description: "Red Hat VirtIO SCSI controller".into(),
                hardware_id: "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00".into(),
                compatible_ids: vec!["PCI\\VEN_1AF4&DEV_1001".into(), "PCI\\VEN_1AF4".into()],
            }],
            service: None,
        };
        assert_eq!(
            p.device_ids(),
            vec![
                (
                    "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00".into(),
                    [1, 0xff, 0, 0]
                ),
                ("PCI\\VEN_1AF4&DEV_1001".into(), [2, 0xff, 0, 0]),
                ("PCI\\VEN_1AF4".into(), [2, 0xff, 1, 0]),
            ]
        );
        // §1.5: the captured Version blob of viostor 0.1.215 on amd64.
        assert_eq!(
            hex::encode(p.version_blob(Arch::Amd64).encode()),
            "00ff0900000000007be9364d25e3ce11bfc108002be1031800c0978c0fe7d701fc5368005a0064000000000000000000"
        );
        let id = p.package_id(Arch::Amd64);
        assert!(
            id.starts_with("viostor.inf_amd64_") && id.len() == "viostor.inf_amd64_".len() + 16
        );
    }

    #[test]
    fn the_kernel_header_reads_back_through_goblin() {
        for arch in [Arch::Amd64, Arch::X86, Arch::Arm64, Arch::Arm, Arch::Ia64] {
            let bytes = pe_header(pe_machine_of(arch));
            let h = goblin::pe::header::Header::parse(&bytes).expect("goblin parses it");
            assert_eq!(
                super::super::arch_of_machine(h.coff_header.machine),
                Some(arch)
            );
        }
    }
}
