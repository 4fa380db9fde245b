//! Devices (ordered hardware and compatible IDs) and the sources they are read from.
//!
//! A [`Device`] is what Windows' PnP manager sees when it looks for a driver: an instance ID, the
//! bus that enumerated it, the ordered hardware IDs (most specific first) and the ordered
//! compatible IDs. The position of an ID in those lists is part of the driver rank
//! (`../shared/reference/windows-driver-internals.md` §3.1), so every source here keeps the
//! order Windows' bus drivers produce.
//!
//! Sources, each a documented input format:
//! - [`sysfs`]: a Linux sysfs tree (a root directory, so tests use recorded trees) — PCI, USB
//!   devices and interfaces, HD Audio codecs, ACPI. IDs are built by [`ladder`] exactly as the
//!   Windows bus drivers build them (§4 of the same reference).
//! - [`lspci`]: `lspci -nnvmm` and `lspci -vvnn` text (live media, hardware-probe archives).
//! - [`windows`]: exports made on a running Windows: `pnputil /enum-devices /ids`
//!   (or `/deviceids`), `devcon hwids *`, and
//!   `Get-PnpDevice | Select-Object InstanceId,HardwareID,CompatibleID | ConvertTo-Json`.
//! - [`profile`]: a hardware profile (TOML or JSON) an imaging team writes for a new line.
//! - [`names`]: vendor/device names from `pci.ids` / `usb.ids` (display only).
//!
//! **Invariant:** IDs are kept as the source spelled them; every comparison goes through
//! [`id_key`] / [`id_eq`], which compare case-insensitively as Windows does (§4: "treat as
//! case-insensitive"; setupapi logs print lower-case IDs for upper-case INF entries).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod ladder;
pub mod lspci;
pub mod names;
pub mod profile;
pub mod sysfs;
pub mod windows;

pub use ladder::LadderTarget;

/// The bus (Windows enumerator) that reported a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bus {
    Pci,
    Usb,
    HdAudio,
    Acpi,
    Root,
    Other,
}

impl Bus {
    /// The bus named by the enumerator part of an instance or hardware ID (`PCI\...`).
    pub fn from_id(id: &str) -> Bus {
        let enumerator = id.split('\\').next().unwrap_or("");
        match enumerator.to_ascii_uppercase().as_str() {
            "PCI" => Bus::Pci,
            "USB" => Bus::Usb,
            "HDAUDIO" => Bus::HdAudio,
            "ACPI" | "ACPI_HAL" => Bus::Acpi,
            "ROOT" => Bus::Root,
            _ => Bus::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Bus::Pci => "pci",
            Bus::Usb => "usb",
            Bus::HdAudio => "hdaudio",
            Bus::Acpi => "acpi",
            Bus::Root => "root",
            Bus::Other => "other",
        }
    }
}

/// One device as Windows' PnP manager sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Instance ID. Windows exports carry the real one; Linux sources use the hardware ID 0
    /// followed by the Linux bus address (Windows derives its instance part from the parent's
    /// unique ID, which cannot be reproduced offline).
    pub instance_id: String,
    pub bus: Bus,
    /// Ordered most → least specific; position i is the `i` of the identifier score.
    pub hardware_ids: Vec<String>,
    /// Ordered most → least specific; position j is the `j` of the identifier score.
    pub compatible_ids: Vec<String>,
    /// PCI class code (base << 16 | sub << 8 | prog-if), or USB class (class << 16 | sub << 8 |
    /// protocol) where the bus has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Bus location (PCI `0000:00:1f.3`, USB `1-2:1.0`, ACPI path, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Needed to boot: mass-storage controllers (PCI base class 0x01), or set by a profile.
    #[serde(default)]
    pub boot_critical: bool,
}

impl Device {
    /// A device with the given IDs; the bus comes from the instance ID's enumerator.
    /// A PCI function as Windows' PCI bus driver reports it: the ID ladder of
    /// [`ladder::pci_ids`], instance ID `<first HW ID>\<suffix>`, the class code, and the
    /// boot-critical flag of its class.
    pub fn pci(f: &ladder::PciFunction, suffix: &str) -> Device {
        Device::pci_express(f, None, suffix)
    }

    /// [`Device::pci`] for a function with a PCI Express capability of Device/Port Type
    /// `pcie_type` ([`ladder::pci_express_ids`]).
    pub fn pci_express(f: &ladder::PciFunction, pcie_type: Option<u8>, suffix: &str) -> Device {
        let (hw, compat) = ladder::pci_express_ids(f, pcie_type);
        let mut d = Device::new(format!("{}\\{suffix}", hw[0]), hw, compat);
        d.class_code = Some(f.class);
        d.boot_critical = pci_class_is_boot_critical(f.class);
        d
    }

    pub fn new(
        instance_id: impl Into<String>,
        hardware_ids: Vec<String>,
        compatible_ids: Vec<String>,
    ) -> Device {
        let instance_id = instance_id.into();
        let bus = Bus::from_id(&instance_id);
        Device {
            instance_id,
            bus,
            hardware_ids,
            compatible_ids,
            class_code: None,
            description: None,
            location: None,
            boot_critical: false,
        }
    }
}

/// Whether a PCI class code names a boot-critical device (mass-storage controller, base class 01).
pub fn pci_class_is_boot_critical(class_code: u32) -> bool {
    class_code >> 16 == 0x01
}

/// The comparison key of an ID: Windows compares device IDs case-insensitively.
pub fn id_key(id: &str) -> String {
    id.to_uppercase()
}

/// Case-insensitive ID equality, as Windows compares hardware and compatible IDs.
pub fn id_eq(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_uppercase() == b.to_uppercase()
    }
}

/// The devices read from one source, plus what the reader noticed on the way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// What was read (`sysfs /sys`, `pnputil export foo.txt`, …).
    pub source: String,
    pub devices: Vec<Device>,
    /// Non-fatal notes (skipped entries, unreadable attributes), with their location.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Where devices come from (`infuse scan` / `infuse match` arguments).
#[derive(Debug, Clone)]
pub enum Source {
    /// A sysfs root (normally `/sys`).
    Sysfs(PathBuf),
    /// `lspci -nnvmm` or `lspci -vvnn` output.
    Lspci(PathBuf),
    /// A Windows export: pnputil, devcon or Get-PnpDevice JSON (detected from the content).
    Inventory(PathBuf),
    /// A hardware profile (TOML, or JSON when the file ends in `.json`).
    Profile(PathBuf),
}

/// Errors reading a device source.
#[derive(Debug, thiserror::Error)]
pub enum HwidError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {msg}")]
    Syntax {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("{path}: {msg}\nhint: {hint}")]
    Format {
        path: PathBuf,
        msg: String,
        hint: String,
    },
    #[error("{path}: no devices found\nhint: {hint}")]
    Empty { path: PathBuf, hint: String },
}

/// Read the devices of a source, with the ID ladders of Windows before the build-dependent IDs
/// ([`LadderTarget::default`]); [`load_for`] builds them for a target.
pub fn load(source: &Source) -> Result<Inventory, HwidError> {
    load_for(source, LadderTarget::default())
}

/// Read the devices of a source with the ID ladders `target` reports. Windows exports carry
/// the IDs of the machine they were made on and are read as they are.
pub fn load_for(source: &Source, target: LadderTarget) -> Result<Inventory, HwidError> {
    match source {
        Source::Sysfs(root) => sysfs::scan_for(root, target),
        Source::Lspci(path) => lspci::read(path),
        Source::Inventory(path) => windows::read(path),
        Source::Profile(path) => profile::read_for(path, target),
    }
}

/// Read a text file in any of the encodings Windows tools write (UTF-16LE/BE with BOM from
/// PowerShell 5 redirection, UTF-8 with or without BOM, else Windows-1252).
pub(crate) fn read_text(path: &Path) -> Result<String, HwidError> {
    let bytes = fs_err::read(path).map_err(|source| HwidError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(decode_text(&bytes))
}

/// Decode bytes by BOM (UTF-16LE/BE, UTF-8), falling back to UTF-8, then Windows-1252.
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return text.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Parse a hexadecimal number with or without a `0x` prefix (sysfs prints `0x8086`, lspci `8086`).
pub(crate) fn parse_hex(s: &str) -> Option<u32> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if t.is_empty() || t.len() > 8 {
        return None;
    }
    u32::from_str_radix(t, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_case_insensitively_like_windows() {
        // windows-driver-internals.md §4: "Matching is case-insensitive in practice".
        assert!(id_eq(r"hdaudio\func_01", r"HDAUDIO\FUNC_01"));
        assert!(id_eq(
            r"USB\Class_e0&SubClass_01",
            r"USB\CLASS_E0&SUBCLASS_01"
        ));
        assert!(!id_eq(r"PCI\VEN_8086", r"PCI\VEN_8087"));
        assert_eq!(id_key(r"pci\ven_8086&dev_2fe1"), r"PCI\VEN_8086&DEV_2FE1");
    }

    #[test]
    fn text_is_decoded_by_bom() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "PCI\\VEN_8086".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&utf16), "PCI\\VEN_8086");
        assert_eq!(decode_text(b"\xEF\xBB\xBFabc"), "abc");
        assert_eq!(decode_text(b"caf\xE9"), "café");
    }

    #[test]
    fn hex_parses_with_and_without_prefix() {
        assert_eq!(parse_hex("0x8086\n"), Some(0x8086));
        assert_eq!(parse_hex("10ec0236"), Some(0x10ec0236));
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_hex("0xzz"), None);
        assert_eq!(parse_hex("123456789"), None);
    }

    #[test]
    fn bus_comes_from_the_enumerator() {
        assert_eq!(Bus::from_id(r"PCI\VEN_1AF4&DEV_1000\3&1"), Bus::Pci);
        assert_eq!(Bus::from_id(r"hdaudio\func_01"), Bus::HdAudio);
        assert_eq!(Bus::from_id(r"ACPI_HAL\PNP0C08\0"), Bus::Acpi);
        assert_eq!(Bus::from_id(r"HTREE\ROOT\0"), Bus::Other);
    }
}

#[cfg(test)]
mod hostile {
    //! Parsers of device sources never panic, whatever the bytes (DESIGN.md invariant).
    use std::path::Path;

    use proptest::prelude::*;

    use super::{decode_text, ladder, lspci, profile, windows};

    /// Text made of the characters the parsers branch on.
    fn lexer_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("\n".to_owned()),
                Just("\r\n".to_owned()),
                Just("\t".to_owned()),
                Just(" ".to_owned()),
                Just(":".to_owned()),
                Just("[".to_owned()),
                Just("]".to_owned()),
                Just("(rev ".to_owned()),
                Just("Slot:".to_owned()),
                Just("Instance ID:".to_owned()),
                Just("Hardware IDs:".to_owned()),
                Just("Subsystem:".to_owned()),
                // lspci -vv's topology and capability lines (bridges, Express types, ARI).
                Just("00:1c.0 PCI bridge [0604]: Intel [8086:9c9a] (rev e3)".to_owned()),
                Just("10000:e0:00.0 ".to_owned()),
                Just("Bus: primary=00, secondary=".to_owned()),
                Just(", subordinate=".to_owned()),
                Just("Capabilities: [40] Express (v2) ".to_owned()),
                Just("Root Port (Slot+)".to_owned()),
                Just("Endpoint".to_owned()),
                Just("DevCtl2:".to_owned()),
                Just("ARIFwd+".to_owned()),
                Just("[90] Subsystem: Lenovo Device [17aa:5034]".to_owned()),
                Just("[[device]]".to_owned()),
                Just("pci = {".to_owned()),
                Just("{".to_owned()),
                "[0-9a-fA-F]{1,9}".prop_map(|s| s),
                "\\PC{0,6}".prop_map(|s| s),
            ],
            0..60,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn text_sources_never_panic(text in lexer_text()) {
            let p = Path::new("x");
            let _ = lspci::parse(&text, p);
            let _ = windows::parse(&text, p);
            let _ = profile::parse(&text, false, p);
            let _ = profile::parse(&text, true, p);
        }

        #[test]
        fn usb_descriptors_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ladder::usb_associations(&bytes);
            let _ = decode_text(&bytes);
        }

        /// A sysfs `config` of any length and content (an unprivileged read stops at 64 bytes;
        /// capability pointers may loop or point past the end), and any slot name.
        #[test]
        fn pci_config_and_slot_names_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            name in "[0-9a-fA-F:.x ]{0,16}",
        ) {
            let _ = ladder::pcie_type(&bytes);
            let _ = ladder::pcie_ari_forwarding(&bytes);
            for parent in [ladder::PciParent::RootBus, ladder::PciParent::Unknown] {
                let _ = ladder::express_port_type(&bytes, parent);
            }
            let _ = ladder::PciSlot::parse(&name);
        }
    }
}
