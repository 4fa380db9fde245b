//! Hardware profiles: a machine described by hand (TOML, or JSON when the file ends in `.json`),
//! for a hardware line that is not on the desk yet.
//!
//! Schema (every number may be written as an integer — TOML allows `0x1af4` — or as a hex
//! string `"1af4"` / `"0x1af4"`; unknown keys are errors, so typos do not pass silently):
//!
//! ```toml
//! name = "QEMU q35 with virtio"            # optional, shown in reports
//!
//! [[device]]                               # one table per device; exactly one of
//! description = "virtio SCSI"              #   pci / usb / hdaudio / acpi / hardware_ids
//! boot_critical = true                     # optional; PCI base class 01 implies it
//! location = "00:04.0"                     # optional
//! pci = { vendor = 0x1af4, device = 0x1004, subsys_vendor = 0x1af4, subsys_device = 0x0008,
//!         class = 0x010000, revision = 0x00,
//!         pcie_type = 0 }   # optional: PCI Express Device/Port Type (0 endpoint, 4 root port, …),
//!                           # adds the `PCI\CC_…&DT_t` compatible IDs; absent = no PCIe capability
//!
//! [[device]]                               # a composite USB device: the parent and one
//! usb = { vendor = 0x04f2, product = 0xb5d8, bcd_device = 0x0017,     # child per interface
//!         class = 0xef, subclass = 0x02, protocol = 0x01,
//!         interfaces = [ { number = 0, class = 0x0e, subclass = 0x01, protocol = 0 },
//!                        { number = 1, class = 0x0e, subclass = 0x02, protocol = 0 } ],
//!         # optional Interface Association Descriptors: grouped interfaces form one child
//!         associations = [ { first = 0, count = 2, class = 0x0e, subclass = 0x03, protocol = 0 } ],
//!         # optional: the host controller at the root of the device's tree, "xhci" (default:
//!         # usbhub3's lists) or "ehci" / "ohci" / "uhci" (the USB 2.0 stack's usbhub.sys lists)
//!         controller = "xhci" }
//!
//! [[device]]
//! hdaudio = { vendor_id = 0x10ec0236, subsystem_id = 0x17aa3808, revision_id = 0x100002,
//!             controller_vendor = 0x8086, controller_device = 0x9ca0 }   # function = 1 default
//!
//! [[device]]
//! acpi = { hid = "PNP0303", cids = ["PNP030B"] }   # optional cls = 0x010601 (_CLS)
//!
//! [[device]]                               # IDs written out, for anything else
//! instance_id = "ROOT\\VENDOR_FOO\\0000"
//! hardware_ids = ["ROOT\\VENDOR_FOO"]
//! compatible_ids = []
//! ```
//!
//! The bus-specific forms expand through the same ladder builders as sysfs, so a profile gives
//! exactly the IDs Windows would report for that hardware.

use std::path::Path;

use serde::Deserialize;

use super::ladder::{
    self, HdaCodec, LadderTarget, PciFunction, UsbAssociation, UsbDevice, UsbInterface, UsbStack,
};
use super::{Bus, Device, HwidError, Inventory, read_text};

/// Read a hardware profile, with the ladders of [`LadderTarget::default`].
pub fn read(path: &Path) -> Result<Inventory, HwidError> {
    read_for(path, LadderTarget::default())
}

/// Read a hardware profile, with the ID ladders `target` reports.
pub fn read_for(path: &Path, target: LadderTarget) -> Result<Inventory, HwidError> {
    let text = read_text(path)?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut inv = parse_for(&text, json, path, target)?;
    if inv.devices.is_empty() {
        return Err(HwidError::Empty {
            path: path.to_path_buf(),
            hint: "add `[[device]]` tables (see `infuse scan --help`)".into(),
        });
    }
    inv.source = match inv.source.is_empty() {
        true => format!("profile {}", path.display()),
        false => format!("profile {} ({})", path.display(), inv.source),
    } + "; "
        + &target.describe();
    Ok(inv)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    device: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    boot_critical: Option<bool>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    pci: Option<PciEntry>,
    #[serde(default)]
    usb: Option<UsbEntry>,
    #[serde(default)]
    hdaudio: Option<HdaEntry>,
    #[serde(default)]
    acpi: Option<AcpiEntry>,
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    hardware_ids: Option<Vec<String>>,
    #[serde(default)]
    compatible_ids: Option<Vec<String>>,
}

/// A number written as an integer or as a hex string.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum Num {
    Int(u64),
    Hex(HexStr),
}

#[derive(Debug, Clone, Copy)]
struct HexStr(u64);

impl<'de> Deserialize<'de> for HexStr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.trim();
        let t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        u64::from_str_radix(t, 16)
            .map(HexStr)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a hex number")))
    }
}

impl Num {
    fn get(self) -> u64 {
        match self {
            Num::Int(v) => v,
            Num::Hex(HexStr(v)) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PciEntry {
    vendor: Num,
    device: Num,
    #[serde(default)]
    subsys_vendor: Option<Num>,
    #[serde(default)]
    subsys_device: Option<Num>,
    class: Num,
    #[serde(default)]
    revision: Option<Num>,
    #[serde(default)]
    pcie_type: Option<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsbEntry {
    vendor: Num,
    product: Num,
    bcd_device: Num,
    #[serde(default)]
    class: Option<Num>,
    #[serde(default)]
    subclass: Option<Num>,
    #[serde(default)]
    protocol: Option<Num>,
    #[serde(default)]
    interfaces: Vec<UsbIntfEntry>,
    #[serde(default)]
    associations: Vec<IadEntry>,
    #[serde(default)]
    controller: Option<UsbController>,
}

/// The host controller a profile's USB device hangs off, which picks the Windows hub driver
/// ([`UsbStack`]).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum UsbController {
    Xhci,
    Ehci,
    Ohci,
    Uhci,
}

impl UsbController {
    fn stack(self) -> UsbStack {
        match self {
            UsbController::Xhci => UsbStack::Usb3,
            UsbController::Ehci | UsbController::Ohci | UsbController::Uhci => UsbStack::Usb2,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IadEntry {
    first: Num,
    count: Num,
    class: Num,
    #[serde(default)]
    subclass: Option<Num>,
    #[serde(default)]
    protocol: Option<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsbIntfEntry {
    number: Num,
    class: Num,
    #[serde(default)]
    subclass: Option<Num>,
    #[serde(default)]
    protocol: Option<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HdaEntry {
    #[serde(default)]
    function: Option<Num>,
    vendor_id: Num,
    subsystem_id: Num,
    revision_id: Num,
    #[serde(default)]
    controller_vendor: Option<Num>,
    #[serde(default)]
    controller_device: Option<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcpiEntry {
    hid: String,
    #[serde(default)]
    cids: Vec<String>,
    /// `_CLS` as base class << 16 | subclass << 8 | programming interface.
    #[serde(default)]
    cls: Option<Num>,
}

fn opt(n: Option<Num>) -> u64 {
    n.map_or(0, Num::get)
}

/// Parse profile text (TOML, or JSON when `json`), with the ladders of [`LadderTarget::default`].
pub fn parse(text: &str, json: bool, path: &Path) -> Result<Inventory, HwidError> {
    parse_for(text, json, path, LadderTarget::default())
}

/// Parse profile text (TOML, or JSON when `json`), with the ID ladders `target` reports.
pub fn parse_for(
    text: &str,
    json: bool,
    path: &Path,
    target: LadderTarget,
) -> Result<Inventory, HwidError> {
    let profile: Profile = if json {
        serde_json::from_str(text).map_err(|e| HwidError::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            msg: e.to_string(),
        })?
    } else {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            HwidError::Syntax {
                path: path.to_path_buf(),
                line,
                msg: e.message().to_owned(),
            }
        })?
    };
    let mut inv = Inventory {
        source: profile.name.clone().unwrap_or_default(),
        ..Inventory::default()
    };
    for (n, e) in profile.device.into_iter().enumerate() {
        let kinds = [
            e.pci.is_some(),
            e.usb.is_some(),
            e.hdaudio.is_some(),
            e.acpi.is_some(),
            e.hardware_ids.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(HwidError::Format {
                path: path.to_path_buf(),
                msg: format!(
                    "device #{} must have exactly one of pci, usb, hdaudio, acpi, hardware_ids",
                    n + 1
                ),
                hint: "split it into several [[device]] tables".into(),
            });
        }
        let first = inv.devices.len();
        let tag = e.location.clone().unwrap_or_else(|| format!("profile{n}"));
        if let Some(p) = &e.pci {
            let f = PciFunction {
                vendor: p.vendor.get() as u16,
                device: p.device.get() as u16,
                subsys_vendor: opt(p.subsys_vendor) as u16,
                subsys_device: opt(p.subsys_device) as u16,
                class: (p.class.get() & 0xFF_FFFF) as u32,
                revision: opt(p.revision) as u8,
            };
            let pcie = p.pcie_type.map(|t| (t.get() & 0xF) as u8);
            inv.devices.push(Device::pci_express(&f, pcie, &tag));
        } else if let Some(u) = &e.usb {
            let dev = UsbDevice {
                vendor: u.vendor.get() as u16,
                product: u.product.get() as u16,
                bcd_device: u.bcd_device.get() as u16,
                class: opt(u.class) as u8,
                subclass: opt(u.subclass) as u8,
                protocol: opt(u.protocol) as u8,
                num_configurations: 1,
            };
            let intfs: Vec<UsbInterface> = u
                .interfaces
                .iter()
                .map(|i| UsbInterface {
                    number: i.number.get() as u8,
                    class: i.class.get() as u8,
                    subclass: opt(i.subclass) as u8,
                    protocol: opt(i.protocol) as u8,
                })
                .collect();
            let stack = u
                .controller
                .map_or(UsbStack::default(), UsbController::stack);
            let (hw, compat) = ladder::usb_device_ids_on(&dev, &intfs, target, stack);
            inv.devices
                .push(Device::new(format!("{}\\{tag}", hw[1]), hw, compat));
            if ladder::usb_is_composite(&dev, &intfs) {
                let iads: Vec<UsbAssociation> = u
                    .associations
                    .iter()
                    .map(|a| UsbAssociation {
                        first: a.first.get() as u8,
                        count: a.count.get() as u8,
                        class: a.class.get() as u8,
                        subclass: opt(a.subclass) as u8,
                        protocol: opt(a.protocol) as u8,
                    })
                    .collect();
                for i in &ladder::usb_functions(&intfs, &iads) {
                    let (hw, compat) = ladder::usb_interface_ids(&dev, i);
                    let mut child =
                        Device::new(format!("{}\\{tag}.{}", hw[1], i.number), hw, compat);
                    child.description = e.description.clone();
                    inv.devices.push(child);
                }
            }
        } else if let Some(h) = &e.hdaudio {
            let controller = match (h.controller_vendor, h.controller_device) {
                (Some(v), Some(d)) => Some((v.get() as u16, d.get() as u16)),
                _ => None,
            };
            let codec = HdaCodec {
                function: h.function.map_or(1, Num::get) as u8,
                vendor_id: h.vendor_id.get() as u32,
                subsystem_id: h.subsystem_id.get() as u32,
                revision_id: h.revision_id.get() as u32,
                controller,
            };
            let (hw, compat) = ladder::hdaudio_ids(&codec);
            inv.devices
                .push(Device::new(format!("{}\\{tag}", hw[0]), hw, compat));
        } else if let Some(a) = &e.acpi {
            let class = a.cls.map(|c| {
                let v = c.get();
                ((v >> 16) as u8, (v >> 8) as u8, v as u8)
            });
            let (hw, compat) = ladder::acpi_ids_with_class(&a.hid, &a.cids, class);
            inv.devices
                .push(Device::new(format!("ACPI\\{}\\{tag}", a.hid), hw, compat));
        } else if let Some(hw) = e.hardware_ids.clone() {
            let instance = e
                .instance_id
                .clone()
                .or_else(|| hw.first().map(|h| format!("{h}\\{tag}")))
                .unwrap_or_default();
            let mut d = Device::new(instance, hw, e.compatible_ids.clone().unwrap_or_default());
            if d.bus == Bus::Other {
                d.bus = d
                    .hardware_ids
                    .first()
                    .map_or(Bus::Other, |h| Bus::from_id(h));
            }
            inv.devices.push(d);
        }
        if let Some(d) = inv.devices.get_mut(first) {
            d.description = e.description.clone().or(d.description.take());
            d.location = e.location.clone();
            if let Some(b) = e.boot_critical {
                d.boot_critical = b;
            }
        }
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_profile_expands_through_the_ladders() {
        let text = r#"
name = "test"
[[device]]
description = "virtio SCSI"
pci = { vendor = 0x1af4, device = 0x1004, subsys_vendor = 0x1af4, subsys_device = 0x0008, class = 0x010000, revision = 0 }
[[device]]
usb = { vendor = "04f2", product = "0xb5d8", bcd_device = 0x0017, class = 0xef, subclass = 2, protocol = 1, interfaces = [ { number = 0, class = 0x0e, subclass = 1 }, { number = 1, class = 0x0e, subclass = 2 } ] }
[[device]]
acpi = { hid = "PNP0303", cids = ["PNP030B"] }
[[device]]
instance_id = 'ROOT\FOO\0000'
hardware_ids = ['ROOT\FOO']
boot_critical = true
"#;
        let inv = parse(text, false, Path::new("p.toml")).expect("parses");
        assert_eq!(inv.source, "test");
        assert_eq!(
            inv.devices.len(),
            6,
            "pci + usb parent + 2 interfaces + acpi + explicit"
        );
        assert_eq!(
            inv.devices[0].hardware_ids[0],
            r"PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00"
        );
        assert!(inv.devices[0].boot_critical);
        assert_eq!(inv.devices[0].description.as_deref(), Some("virtio SCSI"));
        assert_eq!(
            inv.devices[1].compatible_ids.last().map(String::as_str),
            Some(r"USB\COMPOSITE")
        );
        assert_eq!(
            inv.devices[3].hardware_ids[0],
            r"USB\VID_04F2&PID_B5D8&REV_0017&MI_01"
        );
        assert_eq!(inv.devices[4].compatible_ids, [r"ACPI\PNP030B", "*PNP030B"]);
        assert_eq!(inv.devices[5].instance_id, r"ROOT\FOO\0000");
        assert!(inv.devices[5].boot_critical);
    }

    #[test]
    fn pcie_type_adds_the_dt_ids() {
        // The VMware PCIe root port 15AD:07A0 of ladder::pci_express_ids' Windows list.
        let text = "[[device]]\npci = { vendor = 0x15ad, device = 0x07a0, subsys_vendor = 0x15ad, subsys_device = 0x07a0, class = 0x060400, revision = 1, pcie_type = 4 }\n";
        let inv = parse(text, false, Path::new("p.toml")).expect("parses");
        assert_eq!(inv.devices[0].compatible_ids[5], r"PCI\CC_060400&DT_4");
        assert_eq!(inv.devices[0].compatible_ids[7], r"PCI\CC_0604&DT_4");
    }

    #[test]
    fn usb_controller_picks_the_hub_driver() {
        // The rate-matching hub 8087:0024 (class 09/00/01) of the desktop fixture. On an EHCI
        // the USB 2.0 stack's usbhub.sys gives it the class triple (decompiled
        // UsbhBuildClassCompatibleID, 11-21H2 … 11-25H2/usbhub); on an xHCI, or with no
        // controller given, usbhub3's one ID (HUBID_BuildHubCompatibleID).
        let hub = |extra: &str| {
            format!(
                "[[device]]\nusb = {{ vendor = 0x8087, product = 0x0024, bcd_device = 0, class = 9, subclass = 0, protocol = 1, interfaces = [ {{ number = 0, class = 9 }} ]{extra} }}\n"
            )
        };
        let ids = |text: &str| {
            parse(text, false, Path::new("p.toml"))
                .expect("parses")
                .devices[0]
                .compatible_ids
                .clone()
        };
        let triple = [
            r"USB\Class_09&SubClass_00&Prot_01",
            r"USB\Class_09&SubClass_00",
            r"USB\Class_09",
        ];
        for c in ["ehci", "ohci", "uhci"] {
            assert_eq!(ids(&hub(&format!(", controller = \"{c}\""))), triple, "{c}");
        }
        assert_eq!(ids(&hub(", controller = \"xhci\"")), [r"USB\USB20_HUB"]);
        assert_eq!(ids(&hub("")), [r"USB\USB20_HUB"]);
        let err = parse(&hub(", controller = \"ehc\""), false, Path::new("p.toml"))
            .expect_err("unknown controller");
        assert!(err.to_string().contains("ehc"), "{err}");
    }

    #[test]
    fn json_profile_uses_the_same_schema() {
        let text = r#"{"device":[{"pci":{"vendor":6900,"device":"1000","subsys_vendor":"1af4","subsys_device":1,"class":"020000"}}]}"#;
        let inv = parse(text, true, Path::new("p.json")).expect("parses");
        assert_eq!(
            inv.devices[0].hardware_ids[0],
            r"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00"
        );
    }

    #[test]
    fn typos_and_ambiguity_are_errors_with_a_line() {
        let err = parse(
            "[[device]]\npci = { vendr = 1, device = 2, class = 3 }\n",
            false,
            Path::new("p.toml"),
        )
        .expect_err("typo");
        assert!(err.to_string().starts_with("p.toml:2:"), "{err}");
        let err = parse(
            "[[device]]\nacpi = { hid = \"X\" }\nhardware_ids = [\"Y\"]\n",
            false,
            Path::new("p.toml"),
        )
        .expect_err("two kinds");
        assert!(err.to_string().contains("exactly one of"), "{err}");
    }
}
