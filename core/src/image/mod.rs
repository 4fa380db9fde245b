//! The offline Windows image: a directory holding `Windows/` (an applied WIM, a mounted VHD, a
//! virt-v2v disk), read without a Windows host.
//!
//! [`Image::open`] finds `Windows/` and the hives case-insensitively ([`path`]), and reads what
//! every later stage needs to know about the installed Windows
//! (`../shared/reference/windows-driver-internals.md` §1.4, §1.6, §1.7):
//! - the version, build, product name, edition and installation type from
//!   `SOFTWARE\Microsoft\Windows NT\CurrentVersion`;
//! - the product type from `SYSTEM\ControlSetNNN\Control\ProductOptions\ProductType`
//!   (`WinNT`/`ServerNT`/`LanmanNT` → 1/3/2);
//! - the architecture from the PE machine of `Windows/System32/ntoskrnl.exe`, else from the
//!   `PROCESSOR_ARCHITECTURE` environment value in the SYSTEM hive;
//! - the current control set (`ControlSet%03d` of `SYSTEM\Select\Current`: `CurrentControlSet`
//!   is a link the kernel makes at boot and does not exist offline);
//! - where the driver database lives: the DRIVERS hive (Windows 10+), `SYSTEM\DriverDatabase`
//!   (Windows 8/8.1), or neither (Windows 7 and older: the CriticalDeviceDatabase).
//!
//! [`Image::target`] turns that into the ranking target. [`ddb`] reads the DriverDatabase,
//! [`existing`] ranks the drivers already in the image, [`verify`] checks that the database,
//! `FileRepository` and `Windows/INF` agree, and [`build`] lays out a minimal image for tests
//! and the demo. Nothing here writes to an image: the stages do, through a plan.

use std::path::{Path, PathBuf};

use infuse_driver_store::inf::model::Arch;
use serde::Serialize;

use crate::hive::{self, Decoded, Hive};
use crate::rank::Target;
use crate::rank::target::{PRODUCT_DOMAIN_CONTROLLER, PRODUCT_SERVER, PRODUCT_WORKSTATION};
use crate::stage::plan::HiveFile;

pub mod build;
pub mod ddb;
pub mod drivers;
pub mod existing;
pub mod path;
pub mod verify;

pub use path::PathError;

/// Where `CurrentVersion` values live in the SOFTWARE hive.
pub const CURRENT_VERSION_KEY: &str = r"Microsoft\Windows NT\CurrentVersion";

/// What cannot be read from an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{root} is not a directory")]
    NotADirectory { root: PathBuf },
    #[error(
        "{root} holds no `Windows` folder\nhint: give the root of an applied or mounted image (the folder that contains `Windows/`)"
    )]
    NoWindows { root: PathBuf },
    #[error("the {hive} hive is missing: {path} does not exist")]
    MissingHive { hive: &'static str, path: PathBuf },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("cannot read the {hive} hive {path}")]
    Hive {
        hive: &'static str,
        path: PathBuf,
        /// Boxed: a hive error carries paths of its own, and on Windows (wider `PathBuf`) the
        /// unboxed variant makes every `Result<_, ImageError>` large (clippy `result_large_err`).
        #[source]
        source: Box<hive::HiveError>,
    },
    #[error("{path}: key `{key}`: {msg}")]
    Registry {
        path: PathBuf,
        key: String,
        msg: String,
    },
    #[error(
        "cannot tell the image's architecture: {kernel} is missing and the SYSTEM hive {hive} has no `{key}\\PROCESSOR_ARCHITECTURE`"
    )]
    NoArch {
        kernel: PathBuf,
        hive: PathBuf,
        key: String,
    },
    #[error("{path}: {msg}")]
    Kernel { path: PathBuf, msg: String },
}

/// Where the image's driver database lives (§1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriverDbLayout {
    /// `Windows/System32/config/DRIVERS`, key `DriverDatabase` (Windows 10/11, Server 2016+).
    DriversHive,
    /// `SYSTEM\DriverDatabase` only (Windows 8/8.1, Server 2012/R2).
    SystemHive,
    /// Neither: boot devices are bound through `ControlSetNNN\Control\CriticalDeviceDatabase`
    /// (Windows 7 and older).
    Legacy,
}

impl DriverDbLayout {
    pub fn describe(self) -> &'static str {
        match self {
            DriverDbLayout::DriversHive => "DRIVERS hive DriverDatabase (Windows 10 and later)",
            DriverDbLayout::SystemHive => "SYSTEM\\DriverDatabase (Windows 8/8.1)",
            DriverDbLayout::Legacy => {
                "no DriverDatabase: legacy CriticalDeviceDatabase (Windows 7 and older)"
            }
        }
    }
}

/// Where the architecture was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum ArchSource {
    /// The PE machine field of the kernel (`machine` as in the COFF header).
    Kernel { path: PathBuf, machine: u16 },
    /// `SYSTEM\ControlSetNNN\Control\Session Manager\Environment\PROCESSOR_ARCHITECTURE`.
    Hive { value: String },
}

/// The Windows version as the SOFTWARE hive states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WindowsVersion {
    pub major: u32,
    pub minor: u32,
    /// `CurrentBuildNumber` (or `CurrentBuild`); Windows 7's phony hives and some old images
    /// lack it.
    pub build: Option<u32>,
    /// Update build revision (`UBR`), when present.
    pub ubr: Option<u32>,
}

/// The product type (VER_NT_*) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductType {
    /// 1 workstation, 2 domain controller, 3 server.
    pub number: u32,
    /// `WinNT`, `ServerNT`, `LanmanNT` as stored, or how it was inferred.
    pub source: String,
}

/// Everything `infuse image info` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ImageInfo {
    pub root: PathBuf,
    pub windows_dir: PathBuf,
    pub system_hive: PathBuf,
    pub software_hive: PathBuf,
    pub drivers_hive: Option<PathBuf>,
    pub version: WindowsVersion,
    pub product_name: Option<String>,
    pub edition_id: Option<String>,
    pub installation_type: Option<String>,
    pub product_type: ProductType,
    pub arch: Arch,
    pub arch_source: ArchSource,
    /// `ControlSet001`, … (from `SYSTEM\Select\Current`).
    pub current_control_set: String,
    pub driver_database: DriverDbLayout,
    /// `SYSTEM\DriverDatabase` exists (also on Windows 10+, where boot-critical packages are
    /// mirrored there, §1.4).
    pub system_has_driver_database: bool,
    /// Things read with a fallback, worth a look.
    pub notes: Vec<String>,
}

/// An open offline image: its hives in memory and what they say.
#[derive(Debug)]
pub struct Image {
    info: ImageInfo,
    system: Hive,
    software: Hive,
    drivers: Option<Hive>,
}

impl Image {
    /// Open the image rooted at `root` (the folder that holds `Windows/`).
    pub fn open(root: impl AsRef<Path>) -> Result<Image, ImageError> {
        let root = root.as_ref();
        if !root.is_dir() {
            return Err(ImageError::NotADirectory {
                root: root.to_path_buf(),
            });
        }
        let windows_dir = path::resolve(root, "Windows")?;
        if !windows_dir.is_dir() {
            return Err(ImageError::NoWindows {
                root: root.to_path_buf(),
            });
        }
        let system_path = path::resolve(root, HiveFile::System.image_path())?;
        let software_path = path::resolve(root, HiveFile::Software.image_path())?;
        let drivers_path = path::resolve(root, HiveFile::Drivers.image_path())?;
        let system = load_hive("SYSTEM", &system_path)?;
        let software = load_hive("SOFTWARE", &software_path)?;
        let drivers = if drivers_path.is_file() {
            Some(load_hive("DRIVERS", &drivers_path)?)
        } else {
            None
        };
        let mut notes = Vec::new();
        let reg = Reg {
            hive: &system,
            path: &system_path,
        };
        let current_control_set = current_control_set(&reg)?;
        let sw = Reg {
            hive: &software,
            path: &software_path,
        };
        let version = read_version(&sw)?;
        if version.build.is_none() {
            notes.push(format!(
                "{}: `{CURRENT_VERSION_KEY}` has no CurrentBuildNumber/CurrentBuild: the build counts as 0 when ranking",
                software_path.display()
            ));
        }
        let product_name = sw.string(CURRENT_VERSION_KEY, "ProductName")?;
        let edition_id = sw.string(CURRENT_VERSION_KEY, "EditionID")?;
        let installation_type = sw.string(CURRENT_VERSION_KEY, "InstallationType")?;
        let product_type = read_product_type(
            &reg,
            &current_control_set,
            installation_type.as_deref(),
            &mut notes,
        )?;
        let kernel = path::resolve(root, "Windows/System32/ntoskrnl.exe")?;
        let (arch, arch_source) = read_arch(&reg, &current_control_set, &kernel, &mut notes)?;
        let drivers_has_db = match &drivers {
            Some(h) => h.key(ddb::ROOT).is_ok(),
            None => false,
        };
        let system_has_driver_database = system.key(ddb::ROOT).is_ok();
        let driver_database = if drivers_has_db {
            DriverDbLayout::DriversHive
        } else if system_has_driver_database {
            DriverDbLayout::SystemHive
        } else {
            DriverDbLayout::Legacy
        };
        if drivers.is_some() && !drivers_has_db {
            notes.push(format!(
                "{} has no `DriverDatabase` key: the hive is not used",
                drivers_path.display()
            ));
        }
        let info = ImageInfo {
            root: root.to_path_buf(),
            windows_dir,
            system_hive: system_path,
            software_hive: software_path,
            drivers_hive: drivers.as_ref().map(|_| drivers_path),
            version,
            product_name,
            edition_id,
            installation_type,
            product_type,
            arch,
            arch_source,
            current_control_set,
            driver_database,
            system_has_driver_database,
            notes,
        };
        Ok(Image {
            info,
            system,
            software,
            drivers,
        })
    }

    pub fn info(&self) -> &ImageInfo {
        &self.info
    }

    pub fn root(&self) -> &Path {
        &self.info.root
    }

    /// The ranking target this image is (suite mask: Windows' client default, 0x100; the
    /// hives do not store it).
    pub fn target(&self) -> Target {
        let v = self.info.version;
        let mut t = Target::new(v.major, v.minor, v.build.unwrap_or(0), self.info.arch);
        t.product_type = self.info.product_type.number;
        if t.product_type != PRODUCT_WORKSTATION {
            // VER_SUITE_SINGLEUSERTS is a client trait; servers report no such bit.
            t.suite_mask = 0;
        }
        t
    }

    /// Resolve an image-relative, `/`-separated path against the image (case-insensitive).
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, PathError> {
        path::resolve(&self.info.root, rel)
    }

    /// A hive of the image as loaded (DRIVERS: `None` when the image has none).
    pub fn hive(&self, which: HiveFile) -> Option<&Hive> {
        match which {
            HiveFile::System => Some(&self.system),
            HiveFile::Software => Some(&self.software),
            HiveFile::Drivers => self.drivers.as_ref(),
        }
    }

    /// The file of a hive of the image (DRIVERS: `None` when the image has none).
    pub fn hive_path(&self, which: HiveFile) -> Option<&Path> {
        match which {
            HiveFile::System => Some(&self.info.system_hive),
            HiveFile::Software => Some(&self.info.software_hive),
            HiveFile::Drivers => self.info.drivers_hive.as_deref(),
        }
    }

    /// The hive holding the full driver database, if the image has one (§1.4): DRIVERS when
    /// it has `DriverDatabase`, else SYSTEM when it has.
    pub fn driver_database(&self) -> Option<ddb::DriverDb<'_>> {
        let which = match self.info.driver_database {
            DriverDbLayout::DriversHive => HiveFile::Drivers,
            DriverDbLayout::SystemHive => HiveFile::System,
            DriverDbLayout::Legacy => return None,
        };
        Some(ddb::DriverDb::new(
            self.hive(which)?,
            which,
            self.hive_path(which)?,
        ))
    }

    /// `SYSTEM\DriverDatabase`, where it exists (on Windows 10+ beside the DRIVERS hive).
    pub fn system_driver_database(&self) -> Option<ddb::DriverDb<'_>> {
        self.info
            .system_has_driver_database
            .then(|| ddb::DriverDb::new(&self.system, HiveFile::System, &self.info.system_hive))
    }

    /// `ControlSetNNN\<rest>` in the SYSTEM hive.
    pub fn control_set_key(&self, rest: &str) -> String {
        format!("{}\\{rest}", self.info.current_control_set)
    }
}

fn load_hive(name: &'static str, path: &Path) -> Result<Hive, ImageError> {
    if !path.is_file() {
        return Err(ImageError::MissingHive {
            hive: name,
            path: path.to_path_buf(),
        });
    }
    Hive::open(path).map_err(|source| ImageError::Hive {
        hive: name,
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

/// Typed reads of one hive, with errors naming the file and the key.
pub(crate) struct Reg<'a> {
    pub(crate) hive: &'a Hive,
    pub(crate) path: &'a Path,
}

impl Reg<'_> {
    fn err(&self, key: &str, msg: impl Into<String>) -> ImageError {
        ImageError::Registry {
            path: self.path.to_path_buf(),
            key: key.to_owned(),
            msg: msg.into(),
        }
    }

    /// A value's decoded data; `None` when the key or the value is absent.
    pub(crate) fn value(&self, key: &str, name: &str) -> Result<Option<Decoded>, ImageError> {
        let k = match self.hive.key(key) {
            Ok(k) => k,
            Err(hive::HiveError::KeyNotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err(key, e.to_string())),
        };
        Ok(k.value(name)
            .map_err(|e| self.err(key, e.to_string()))?
            .map(|v| v.decode()))
    }

    pub(crate) fn string(&self, key: &str, name: &str) -> Result<Option<String>, ImageError> {
        match self.value(key, name)? {
            None => Ok(None),
            Some(Decoded::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.err(
                key,
                format!("value `{name}` should be a string, found {other:?}"),
            )),
        }
    }

    pub(crate) fn dword(&self, key: &str, name: &str) -> Result<Option<u32>, ImageError> {
        match self.value(key, name)? {
            None => Ok(None),
            Some(Decoded::Dword(n)) => Ok(Some(n)),
            Some(other) => Err(self.err(
                key,
                format!("value `{name}` should be a REG_DWORD, found {other:?}"),
            )),
        }
    }
}

fn current_control_set(reg: &Reg<'_>) -> Result<String, ImageError> {
    let n = reg.dword("Select", "Current")?.ok_or_else(|| {
        reg.err(
            "Select",
            "no `Current` value: the current control set is unknown",
        )
    })?;
    let name = format!("ControlSet{n:03}");
    if reg.hive.key(&name).is_err() {
        return Err(reg.err(
            "Select",
            format!("`Current` = {n}, but the hive has no `{name}` key"),
        ));
    }
    Ok(name)
}

fn read_version(sw: &Reg<'_>) -> Result<WindowsVersion, ImageError> {
    let k = CURRENT_VERSION_KEY;
    let parse_num = |name: &str, s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| sw.err(k, format!("value `{name}` = `{s}` is not a number")))
    };
    let (major, minor) = match (
        sw.dword(k, "CurrentMajorVersionNumber")?,
        sw.dword(k, "CurrentMinorVersionNumber")?,
    ) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            // Before Windows 10 (and frozen at "6.3" after it), CurrentVersion is "major.minor".
            let v = sw.string(k, "CurrentVersion")?.ok_or_else(|| {
                sw.err(
                    k,
                    "neither CurrentMajorVersionNumber/CurrentMinorVersionNumber nor CurrentVersion: the Windows version is unknown",
                )
            })?;
            let (a, b) = v
                .split_once('.')
                .ok_or_else(|| sw.err(k, format!("CurrentVersion `{v}` is not major.minor")))?;
            (
                parse_num("CurrentVersion", a)?,
                parse_num("CurrentVersion", b)?,
            )
        }
    };
    let build = match sw.string(k, "CurrentBuildNumber")? {
        Some(s) => Some(parse_num("CurrentBuildNumber", &s)?),
        None => match sw.string(k, "CurrentBuild")? {
            Some(s) => Some(parse_num("CurrentBuild", &s)?),
            None => None,
        },
    };
    let ubr = sw.dword(k, "UBR")?;
    Ok(WindowsVersion {
        major,
        minor,
        build,
        ubr,
    })
}

fn read_product_type(
    reg: &Reg<'_>,
    ccs: &str,
    installation_type: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<ProductType, ImageError> {
    let key = format!(r"{ccs}\Control\ProductOptions");
    if let Some(s) = reg.string(&key, "ProductType")? {
        // §1.6: WinNT / ServerNT / LanmanNT → VER_NT_WORKSTATION / _SERVER / _DOMAIN_CONTROLLER.
        let number = match s.to_ascii_lowercase().as_str() {
            "winnt" => PRODUCT_WORKSTATION,
            "servernt" => PRODUCT_SERVER,
            "lanmannt" => PRODUCT_DOMAIN_CONTROLLER,
            _ => {
                return Err(reg.err(
                    &key,
                    format!("ProductType `{s}` is none of WinNT, ServerNT, LanmanNT"),
                ));
            }
        };
        return Ok(ProductType { number, source: s });
    }
    // Not in the hive: InstallationType (SOFTWARE) says Client or Server.
    let server = installation_type.is_some_and(|t| t.to_ascii_lowercase().starts_with("server"));
    notes.push(format!(
        "{}: `{key}` has no ProductType: {} assumed from InstallationType",
        reg.path.display(),
        if server { "ServerNT" } else { "WinNT" }
    ));
    Ok(ProductType {
        number: if server {
            PRODUCT_SERVER
        } else {
            PRODUCT_WORKSTATION
        },
        source: format!(
            "InstallationType {}",
            installation_type.unwrap_or("(absent)")
        ),
    })
}

/// PE machine → architecture (`IMAGE_FILE_MACHINE_*`).
pub fn arch_of_machine(machine: u16) -> Option<Arch> {
    use goblin::pe::header::{
        COFF_MACHINE_ARM64, COFF_MACHINE_ARMNT, COFF_MACHINE_IA64, COFF_MACHINE_X86,
        COFF_MACHINE_X86_64,
    };
    Some(match machine {
        COFF_MACHINE_X86_64 => Arch::Amd64,
        COFF_MACHINE_X86 => Arch::X86,
        COFF_MACHINE_ARM64 => Arch::Arm64,
        COFF_MACHINE_ARMNT => Arch::Arm,
        COFF_MACHINE_IA64 => Arch::Ia64,
        _ => return None,
    })
}

/// The PE machine of a kernel file, reading only its headers.
pub fn pe_machine(path: &Path) -> Result<u16, ImageError> {
    use std::io::Read;
    let kerr = |msg: String| ImageError::Kernel {
        path: path.to_path_buf(),
        msg,
    };
    let mut head = Vec::with_capacity(64 * 1024);
    fs_err::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|e| kerr(e.to_string()))?;
    let header = goblin::pe::header::Header::parse(&head)
        .map_err(|e| kerr(format!("not a PE file: {e}")))?;
    Ok(header.coff_header.machine)
}

fn read_arch(
    reg: &Reg<'_>,
    ccs: &str,
    kernel: &Path,
    notes: &mut Vec<String>,
) -> Result<(Arch, ArchSource), ImageError> {
    let env_key = format!(r"{ccs}\Control\Session Manager\Environment");
    let from_hive = reg.string(&env_key, "PROCESSOR_ARCHITECTURE")?;
    let hive_arch = |v: &str| match v.to_ascii_uppercase().as_str() {
        "AMD64" => Some(Arch::Amd64),
        "X86" => Some(Arch::X86),
        "ARM64" => Some(Arch::Arm64),
        "ARM" => Some(Arch::Arm),
        "IA64" => Some(Arch::Ia64),
        _ => None,
    };
    if kernel.is_file() {
        let machine = pe_machine(kernel)?;
        let arch = arch_of_machine(machine).ok_or_else(|| ImageError::Kernel {
            path: kernel.to_path_buf(),
            msg: format!("PE machine {machine:#06x} is not a Windows architecture"),
        })?;
        if let Some(v) = &from_hive
            && hive_arch(v) != Some(arch)
        {
            notes.push(format!(
                "{}: PROCESSOR_ARCHITECTURE `{v}` disagrees with the kernel ({arch}); the kernel wins",
                reg.path.display()
            ));
        }
        return Ok((
            arch,
            ArchSource::Kernel {
                path: kernel.to_path_buf(),
                machine,
            },
        ));
    }
    match from_hive {
        Some(v) => {
            let arch = hive_arch(&v).ok_or_else(|| {
                reg.err(
                    &env_key,
                    format!("PROCESSOR_ARCHITECTURE `{v}` is none of AMD64, x86, ARM64, ARM, IA64"),
                )
            })?;
            Ok((arch, ArchSource::Hive { value: v }))
        }
        None => Err(ImageError::NoArch {
            kernel: kernel.to_path_buf(),
            hive: reg.path.to_path_buf(),
            key: env_key,
        }),
    }
}

#[cfg(test)]
mod tests;
