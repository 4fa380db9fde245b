//! Devices from a Linux sysfs tree.
//!
//! The reader takes a root directory (normally `/sys`; tests pass recorded trees) and reads only
//! these attribute files (all ASCII, one value per file, as the kernel prints them):
//!
//! | bus | directory | files |
//! |---|---|---|
//! | PCI | `bus/pci/devices/<DDDD:BB:DD.F>/` | `vendor`, `device`, `subsystem_vendor`, `subsystem_device` (`0x%04x`), `class` (`0x%06x`), `revision` (`0x%02x`) |
//! | USB device | `bus/usb/devices/<bus>-<port…>/` | `idVendor`, `idProduct`, `bcdDevice` (`%04x`), `bDeviceClass`, `bDeviceSubClass`, `bDeviceProtocol` (`%02x`), `bNumConfigurations` (`%d`), `descriptors` (raw, for Interface Association Descriptors) |
//! | USB interface | `bus/usb/devices/<dev>:<cfg>.<n>/` | `bInterfaceNumber`, `bInterfaceClass`, `bInterfaceSubClass`, `bInterfaceProtocol` (`%02x`) |
//! | HD Audio | `bus/hdaudio/devices/hdaudioC<c>D<a>/` | `type`, `vendor_id`, `subsystem_id`, `revision_id` (`0x%x`); the controller is the parent directory of the device's real path (its `vendor`, `device`) |
//! | ACPI | `bus/acpi/devices/<HID>:<nn>/` | `hid`, `modalias` (`acpi:<HID>:<CID>:…`), optional `status` (decimal `_STA`), `path` |
//!
//! Left out, as Windows has no such device or its driver is always inbox: USB root hubs
//! (`usbN`, served by the host controller's inbox hub driver), ACPI nodes without `_HID`
//! (`device:NN`), Linux-only ACPI pseudo devices (`LNX*` except the fixed power button), and ACPI
//! devices whose `_STA` says not present.

use std::path::{Path, PathBuf};

use super::ladder::{self, HdaCodec, PciFunction, UsbDevice, UsbInterface};
use super::{Bus, Device, HwidError, Inventory, parse_hex};

/// Read every supported device under a sysfs root.
pub fn scan(root: &Path) -> Result<Inventory, HwidError> {
    if !root.join("bus").is_dir() {
        return Err(HwidError::Format {
            path: root.to_path_buf(),
            msg: "not a sysfs tree (no `bus` directory)".into(),
            hint: "pass the sysfs root, e.g. `--sysfs /sys`".into(),
        });
    }
    let mut inv = Inventory {
        source: format!("sysfs {}", root.display()),
        ..Inventory::default()
    };
    pci(root, &mut inv)?;
    usb(root, &mut inv)?;
    hdaudio(root, &mut inv)?;
    acpi(root, &mut inv)?;
    Ok(inv)
}

/// Directory entries of `dir`, sorted by name; a missing directory is empty.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, HwidError> {
    let rd = match fs_err::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(HwidError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|source| HwidError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        out.push((e.file_name().to_string_lossy().into_owned(), e.path()));
    }
    out.sort();
    Ok(out)
}

/// An attribute file's trimmed text, `None` when absent.
fn attr(dir: &Path, name: &str) -> Result<Option<String>, HwidError> {
    let path = dir.join(name);
    match fs_err::read(&path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(HwidError::Io { path, source }),
    }
}

/// A hexadecimal attribute; missing or malformed values are reported as a warning.
fn hex_attr(dir: &Path, name: &str, inv: &mut Inventory) -> Result<Option<u32>, HwidError> {
    let Some(text) = attr(dir, name)? else {
        inv.warnings.push(format!(
            "{}: missing attribute `{name}`, device skipped",
            dir.display()
        ));
        return Ok(None);
    };
    let v = parse_hex(&text);
    if v.is_none() {
        inv.warnings.push(format!(
            "{}: `{name}` is not hexadecimal: {text:?}, device skipped",
            dir.join(name).display()
        ));
    }
    Ok(v)
}

fn pci_function(dir: &Path, inv: &mut Inventory) -> Result<Option<PciFunction>, HwidError> {
    let mut vals = [0u32; 6];
    for (slot, name) in [
        "vendor",
        "device",
        "subsystem_vendor",
        "subsystem_device",
        "class",
        "revision",
    ]
    .iter()
    .enumerate()
    {
        match hex_attr(dir, name, inv)? {
            Some(v) => vals[slot] = v,
            None => return Ok(None),
        }
    }
    Ok(Some(PciFunction {
        vendor: vals[0] as u16,
        device: vals[1] as u16,
        subsys_vendor: vals[2] as u16,
        subsys_device: vals[3] as u16,
        class: vals[4] & 0xFF_FFFF,
        revision: vals[5] as u8,
    }))
}

fn pci(root: &Path, inv: &mut Inventory) -> Result<(), HwidError> {
    for (name, dir) in entries(&root.join("bus/pci/devices"))? {
        let Some(f) = pci_function(&dir, inv)? else {
            continue;
        };
        let mut d = Device::pci(&f, &name);
        d.location = Some(name);
        inv.devices.push(d);
    }
    Ok(())
}

fn usb(root: &Path, inv: &mut Inventory) -> Result<(), HwidError> {
    let all = entries(&root.join("bus/usb/devices"))?;
    for (name, dir) in &all {
        // Devices are `<bus>-<ports>`; interfaces contain ':'; root hubs are `usbN`.
        if name.contains(':') || name.starts_with("usb") {
            continue;
        }
        let mut vals = [0u32; 6];
        let mut ok = true;
        for (slot, attr_name) in [
            "idVendor",
            "idProduct",
            "bcdDevice",
            "bDeviceClass",
            "bDeviceSubClass",
            "bDeviceProtocol",
        ]
        .iter()
        .enumerate()
        {
            match hex_attr(dir, attr_name, inv)? {
                Some(v) => vals[slot] = v,
                None => ok = false,
            }
        }
        if !ok {
            continue;
        }
        let num_configurations = attr(dir, "bNumConfigurations")?
            .and_then(|s| s.trim().parse::<u8>().ok())
            .unwrap_or(1);
        let dev = UsbDevice {
            vendor: vals[0] as u16,
            product: vals[1] as u16,
            bcd_device: vals[2] as u16,
            class: vals[3] as u8,
            subclass: vals[4] as u8,
            protocol: vals[5] as u8,
            num_configurations,
        };
        // Interfaces of the active configuration: `<name>:<cfg>.<n>`.
        let prefix = format!("{name}:");
        let mut interfaces = Vec::new();
        for (iname, idir) in all.iter().filter(|(n, _)| n.starts_with(&prefix)) {
            let mut v = [0u32; 4];
            let mut iok = true;
            for (slot, a) in [
                "bInterfaceNumber",
                "bInterfaceClass",
                "bInterfaceSubClass",
                "bInterfaceProtocol",
            ]
            .iter()
            .enumerate()
            {
                match hex_attr(idir, a, inv)? {
                    Some(x) => v[slot] = x,
                    None => iok = false,
                }
            }
            if iok {
                interfaces.push((
                    iname.clone(),
                    UsbInterface {
                        number: v[0] as u8,
                        class: v[1] as u8,
                        subclass: v[2] as u8,
                        protocol: v[3] as u8,
                    },
                ));
            }
        }
        interfaces.sort_by_key(|(_, i)| i.number);
        let descs: Vec<UsbInterface> = interfaces.iter().map(|(_, i)| *i).collect();
        let (hw, compat) = ladder::usb_device_ids(&dev, &descs);
        let composite = ladder::usb_is_composite(&dev, &descs);
        let class_code =
            |c: u8, s: u8, p: u8| Some(u32::from(c) << 16 | u32::from(s) << 8 | u32::from(p));
        inv.devices.push(Device {
            instance_id: format!("{}\\{name}", hw[1]),
            bus: Bus::Usb,
            hardware_ids: hw,
            compatible_ids: compat,
            class_code: class_code(dev.class, dev.subclass, dev.protocol),
            description: None,
            location: Some(name.clone()),
            boot_critical: false,
        });
        if composite {
            let raw = match fs_err::read(dir.join("descriptors")) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(source) => {
                    return Err(HwidError::Io {
                        path: dir.join("descriptors"),
                        source,
                    });
                }
            };
            let functions = ladder::usb_functions(&descs, &ladder::usb_associations(&raw));
            for intf in &functions {
                let iname = interfaces
                    .iter()
                    .find(|(_, i)| i.number == intf.number)
                    .map_or_else(|| format!("{name}:?.{}", intf.number), |(n, _)| n.clone());
                let (hw, compat) = ladder::usb_interface_ids(&dev, intf);
                inv.devices.push(Device {
                    instance_id: format!("{}\\{iname}", hw[1]),
                    bus: Bus::Usb,
                    hardware_ids: hw,
                    compatible_ids: compat,
                    class_code: class_code(intf.class, intf.subclass, intf.protocol),
                    description: None,
                    location: Some(iname),
                    boot_critical: false,
                });
            }
        }
    }
    Ok(())
}

fn hdaudio(root: &Path, inv: &mut Inventory) -> Result<(), HwidError> {
    for (name, dir) in entries(&root.join("bus/hdaudio/devices"))? {
        let mut v = [0u32; 4];
        let mut ok = true;
        for (slot, a) in ["type", "vendor_id", "subsystem_id", "revision_id"]
            .iter()
            .enumerate()
        {
            match hex_attr(&dir, a, inv)? {
                Some(x) => v[slot] = x,
                None => ok = false,
            }
        }
        if !ok {
            continue;
        }
        // The codec's parent in the device tree is the PCI HD Audio controller.
        let controller = fs_err::canonicalize(&dir).ok().and_then(|real| {
            let parent = real.parent()?.to_path_buf();
            let ven = attr(&parent, "vendor")
                .ok()
                .flatten()
                .and_then(|s| parse_hex(&s))?;
            let dev = attr(&parent, "device")
                .ok()
                .flatten()
                .and_then(|s| parse_hex(&s))?;
            Some((ven as u16, dev as u16))
        });
        if controller.is_none() {
            inv.warnings.push(format!(
                "{}: controller not found (parent has no PCI vendor/device); CTLR_ IDs left out",
                dir.display()
            ));
        }
        let codec = HdaCodec {
            function: v[0] as u8,
            vendor_id: v[1],
            subsystem_id: v[2],
            revision_id: v[3],
            controller,
        };
        let (hw, compat) = ladder::hdaudio_ids(&codec);
        inv.devices.push(Device {
            instance_id: format!("{}\\{name}", hw[0]),
            bus: Bus::HdAudio,
            hardware_ids: hw,
            compatible_ids: compat,
            class_code: None,
            description: None,
            location: Some(name),
            boot_critical: false,
        });
    }
    Ok(())
}

fn acpi(root: &Path, inv: &mut Inventory) -> Result<(), HwidError> {
    for (name, dir) in entries(&root.join("bus/acpi/devices"))? {
        let Some(hid) = attr(&dir, "hid")? else {
            continue;
        };
        if hid.is_empty() || (hid.starts_with("LNX") && hid != "LNXPWRBN") {
            continue;
        }
        if let Some(status) = attr(&dir, "status")? {
            match status.parse::<u32>() {
                Ok(s) if s & 1 == 0 => continue, // _STA: not present
                Ok(_) => {}
                Err(_) => inv
                    .warnings
                    .push(format!("{}: unreadable `status` {status:?}", dir.display())),
            }
        }
        // modalias: `acpi:<HID>:<CID1>:<CID2>:` — everything after the HID is the _CID list.
        let cids: Vec<String> = attr(&dir, "modalias")?
            .and_then(|m| m.strip_prefix("acpi:").map(str::to_owned))
            .map(|m| {
                m.split(':')
                    .skip(1)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let (hw, compat) = ladder::acpi_ids(&hid, &cids);
        let path = attr(&dir, "path")?;
        let instance = match hid.as_str() {
            "LNXPWRBN" => "FixedButton".to_owned(),
            _ => hid.clone(),
        };
        inv.devices.push(Device {
            instance_id: format!(
                "ACPI\\{instance}\\{}",
                name.rsplit(':').next().unwrap_or("0")
            ),
            bus: Bus::Acpi,
            hardware_ids: hw,
            compatible_ids: compat,
            class_code: None,
            description: None,
            location: path.or(Some(name)),
            boot_critical: false,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Recorded and reconstructed sysfs trees (`core/fixtures/sysfs/`, see its README) against the
    //! ID lists Windows reports for the same hardware. The sources of each expected list are cited
    //! per test.
    use super::*;
    use crate::hwid::id_eq;

    fn fixture(name: &str) -> Inventory {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/sysfs")
            .join(name);
        scan(&root).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn find<'a>(inv: &'a Inventory, hw0: &str) -> &'a Device {
        inv.devices
            .iter()
            .find(|d| d.hardware_ids.first().is_some_and(|h| id_eq(h, hw0)))
            .unwrap_or_else(|| {
                panic!(
                    "no device {hw0} in {:#?}",
                    inv.devices
                        .iter()
                        .map(|d| &d.instance_id)
                        .collect::<Vec<_>>()
                )
            })
    }

    fn same(actual: &[String], expected: &[&str]) {
        let a: Vec<String> = actual.iter().map(|s| s.to_uppercase()).collect();
        let e: Vec<String> = expected.iter().map(|s| s.to_uppercase()).collect();
        assert_eq!(a, e);
    }

    /// The Windows 10 PCI ladder (devcon capture, inf-behaviour.md §J; windows-driver-internals.md §4.1).
    fn pci_ladder(
        ven: &str,
        dev: &str,
        subsys: &str,
        rev: &str,
        cc: &str,
    ) -> (Vec<String>, Vec<String>) {
        let vd = format!("PCI\\VEN_{ven}&DEV_{dev}");
        let cc4 = &cc[..4];
        (
            vec![
                format!("{vd}&SUBSYS_{subsys}&REV_{rev}"),
                format!("{vd}&SUBSYS_{subsys}"),
                format!("{vd}&CC_{cc}"),
                format!("{vd}&CC_{cc4}"),
            ],
            vec![
                format!("{vd}&REV_{rev}"),
                vd.clone(),
                format!("PCI\\VEN_{ven}&CC_{cc}"),
                format!("PCI\\VEN_{ven}&CC_{cc4}"),
                format!("PCI\\VEN_{ven}"),
                format!("PCI\\CC_{cc}"),
                format!("PCI\\CC_{cc4}"),
            ],
        )
    }

    #[test]
    fn this_vm_recorded() {
        // Recorded from the build machine's own /sys with record.sh: an EC2-style VM with modern
        // virtio devices (vendor 1AF4, device 1041 net, 1042 block, 1045 balloon, 1053 vsock,
        // 1044 rng) and an Intel 0D57 host bridge without subsystem IDs.
        let inv = fixture("this-vm");
        let pci: Vec<&Device> = inv.devices.iter().filter(|d| d.bus == Bus::Pci).collect();
        assert_eq!(pci.len(), 6);
        // Windows emits SUBSYS_00000000 for a function without subsystem IDs (devcon capture
        // §J lists PCI\VEN_8086&DEV_2FBD&SUBSYS_00000000&REV_02).
        let (hw, compat) = pci_ladder("8086", "0D57", "00000000", "00", "060000");
        let host = find(&inv, &hw[0]);
        assert_eq!(host.hardware_ids, hw);
        assert_eq!(host.compatible_ids, compat);
        let (hw, compat) = pci_ladder("1AF4", "1041", "10411AF4", "01", "020000");
        let net = find(&inv, &hw[0]);
        assert_eq!(net.hardware_ids, hw);
        assert_eq!(net.compatible_ids, compat);
        assert_eq!(net.location.as_deref(), Some("0000:00:03.0"));
        let (hw, _) = pci_ladder("1AF4", "1042", "10421AF4", "01", "018000");
        assert!(
            find(&inv, &hw[0]).boot_critical,
            "a mass-storage controller (class 01) is boot-critical"
        );
        // ACPI: PNP0A08 with _CID PNP0A03; LNX* pseudo devices and _HID-less nodes are not devices.
        let root = find(&inv, r"ACPI\VEN_PNP&DEV_0A08");
        same(
            &root.hardware_ids,
            &[r"ACPI\VEN_PNP&DEV_0A08", r"ACPI\PNP0A08", "*PNP0A08"],
        );
        same(&root.compatible_ids, &[r"ACPI\PNP0A03", "*PNP0A03"]);
        assert!(inv.devices.iter().all(|d| !d.instance_id.contains("LNXSYSTM") && !d.instance_id.contains("LNXSYBUS")));
        assert!(
            inv.devices
                .iter()
                .all(|d| !d.instance_id.to_lowercase().contains("device:"))
        );
    }

    #[test]
    fn laptop_with_usb_composite_devices_and_hdaudio() {
        let inv = fixture("laptop-lenovo-broadwell");
        // HD Audio: the exact real Windows list of windows-driver-internals.md §4.3
        // (setupapi.dev.log: ALC236, subsystem 17AA3808, on an Intel 9CA0 controller).
        let codec = find(
            &inv,
            r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0236&SUBSYS_17AA3808&REV_1000",
        );
        same(
            &codec.hardware_ids,
            &[
                r"hdaudio\func_01&ven_10ec&dev_0236&subsys_17aa3808&rev_1000",
                r"hdaudio\func_01&ven_10ec&dev_0236&subsys_17aa3808",
            ],
        );
        same(
            &codec.compatible_ids,
            &[
                r"hdaudio\func_01&ctlr_ven_8086&ctlr_dev_9ca0&ven_10ec&dev_0236&rev_1000",
                r"hdaudio\func_01&ctlr_ven_8086&ven_10ec&dev_0236&rev_1000",
                r"hdaudio\func_01&ven_10ec&dev_0236&rev_1000",
                r"hdaudio\func_01&ctlr_ven_8086&ctlr_dev_9ca0&ven_10ec&dev_0236",
                r"hdaudio\func_01&ctlr_ven_8086&ven_10ec&dev_0236",
                r"hdaudio\func_01&ven_10ec&dev_0236",
                r"hdaudio\func_01&ctlr_ven_8086&ctlr_dev_9ca0&ven_10ec",
                r"hdaudio\func_01&ctlr_ven_8086&ven_10ec",
                r"hdaudio\func_01&ven_10ec",
                r"hdaudio\func_01&ctlr_ven_8086&ctlr_dev_9ca0",
                r"hdaudio\func_01&ctlr_ven_8086",
                r"hdaudio\func_01&gf&ven_10ec&dev_0236&subsys_17aa3808&rev_1000",
                r"hdaudio\func_01",
            ],
        );
        // The HDMI codec sits on the other controller (8086:160C): CTLR_ IDs follow the parent.
        let hdmi = find(
            &inv,
            r"HDAUDIO\FUNC_01&VEN_8086&DEV_2808&SUBSYS_80860101&REV_1000",
        );
        assert!(id_eq(
            &hdmi.compatible_ids[0],
            r"HDAUDIO\FUNC_01&CTLR_VEN_8086&CTLR_DEV_160C&VEN_8086&DEV_2808&REV_1000"
        ));

        // USB, [WDD] standard-usb-identifiers.md and windows-driver-internals.md §4.2.
        // A composite receiver (class 00, three HID interfaces): parent + one child per interface.
        let parent = find(&inv, r"USB\VID_046D&PID_C52B&REV_1211");
        same(
            &parent.hardware_ids,
            &[r"USB\VID_046D&PID_C52B&REV_1211", r"USB\VID_046D&PID_C52B"],
        );
        same(
            &parent.compatible_ids,
            &[
                r"USB\DevClass_00&SubClass_00&Prot_00",
                r"USB\DevClass_00&SubClass_00",
                r"USB\DevClass_00",
                r"USB\COMPOSITE",
            ],
        );
        let mi2 = find(&inv, r"USB\VID_046D&PID_C52B&REV_1211&MI_02");
        same(
            &mi2.hardware_ids,
            &[
                r"USB\VID_046D&PID_C52B&REV_1211&MI_02",
                r"USB\VID_046D&PID_C52B&MI_02",
            ],
        );
        same(
            &mi2.compatible_ids,
            &[
                r"USB\Class_03&SubClass_00&Prot_00",
                r"USB\Class_03&SubClass_00",
                r"USB\Class_03",
            ],
        );
        // A webcam with an Interface Association Descriptor: interfaces 0 and 1 are one function,
        // MI_00, with the IAD's class 0E/03 (video interface collection).
        let cam = find(&inv, r"USB\VID_5986&PID_0535&REV_0006&MI_00");
        same(
            &cam.compatible_ids,
            &[
                r"USB\Class_0e&SubClass_03&Prot_00",
                r"USB\Class_0e&SubClass_03",
                r"USB\Class_0e",
            ],
        );
        assert!(inv.devices.iter().all(|d| {
            !d.hardware_ids
                .iter()
                .any(|h| id_eq(h, r"USB\VID_5986&PID_0535&MI_01"))
        }));
        // A Bluetooth radio declares class E0 on the device: no generic parent, device class IDs.
        let bt = find(&inv, r"USB\VID_8087&PID_0A2A&REV_0001");
        same(
            &bt.compatible_ids,
            &[
                r"USB\Class_e0&SubClass_01&Prot_01",
                r"USB\Class_e0&SubClass_01",
                r"USB\Class_e0",
            ],
        );
        assert!(
            inv.devices
                .iter()
                .all(|d| !d.hardware_ids.iter().any(|h| h.contains("0A2A&MI_")))
        );
        // Root hubs are not listed (inbox hub driver).
        assert!(
            inv.devices
                .iter()
                .all(|d| !d.hardware_ids.iter().any(|h| h.contains("VID_1D6B")))
        );

        // ACPI (§4.4): keyboard with _CID PNP0303; the fixed power button is ACPI\FixedButton,
        // the device machine.inf matches with rank 0x00FF0000 in the §J devcon capture; a battery
        // whose _STA says "not present" is not enumerated.
        let kbd = find(&inv, r"ACPI\VEN_LEN&DEV_0071");
        same(
            &kbd.hardware_ids,
            &[r"ACPI\VEN_LEN&DEV_0071", r"ACPI\LEN0071", "*LEN0071"],
        );
        same(&kbd.compatible_ids, &[r"ACPI\PNP0303", "*PNP0303"]);
        let button = find(&inv, r"ACPI\FixedButton");
        assert_eq!(button.instance_id, r"ACPI\FixedButton\00");
        assert_eq!(
            inv.devices
                .iter()
                .filter(|d| d.hardware_ids.iter().any(|h| h == r"ACPI\PNP0C0A"))
                .count(),
            1
        );

        // The SATA AHCI controller is boot-critical; the Wi-Fi card is not.
        assert!(find(&inv, r"PCI\VEN_8086&DEV_9C83&SUBSYS_380817AA&REV_03").boot_critical);
        assert!(!find(&inv, r"PCI\VEN_8086&DEV_095A&SUBSYS_50108086&REV_59").boot_critical);
    }

    #[test]
    fn desktop_with_hdaudio() {
        let inv = fixture("desktop-asus-hdaudio");
        // peers-and-corpora.md §4: the linuxhw/LsPCI probe of this ASUS board lists
        // `[8086:0106] (rev 09)` with `Subsystem: … [1043:844d]`, and the Windows ladder written
        // out there (per the devcon sample of inf-behaviour.md §J).
        let (hw, compat) = pci_ladder("8086", "0106", "844D1043", "09", "030000");
        let gpu = find(&inv, &hw[0]);
        assert_eq!(gpu.hardware_ids, hw);
        assert_eq!(gpu.compatible_ids, compat);
        // Realtek ALC887 on the 6-series HD Audio controller 8086:1C20, in the shape of the real
        // list of §4.3; Linux revision 0x100302 is Windows REV_1003.
        let codec = find(
            &inv,
            r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&SUBSYS_10438445&REV_1003",
        );
        assert_eq!(codec.compatible_ids.len(), 13);
        same(
            &codec.compatible_ids[..3],
            &[
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&CTLR_DEV_1C20&VEN_10EC&DEV_0887&REV_1003",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&VEN_10EC&DEV_0887&REV_1003",
                r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&REV_1003",
            ],
        );
        assert!(id_eq(&codec.compatible_ids[12], r"HDAUDIO\FUNC_01"));
        // Two codecs on one controller.
        assert_eq!(
            inv.devices.iter().filter(|d| d.bus == Bus::HdAudio).count(),
            2
        );
        // A composite keyboard behind a hub: parent + 2 interfaces; the hub is one device.
        assert!(
            inv.devices
                .iter()
                .any(|d| d.hardware_ids[0] == r"USB\VID_046D&PID_C31C&REV_6400&MI_01")
        );
        assert_eq!(inv.devices.iter().filter(|d| d.bus == Bus::Usb).count(), 4);
        let ps2 = find(&inv, r"ACPI\VEN_PNP&DEV_0303");
        same(
            &ps2.hardware_ids,
            &[r"ACPI\VEN_PNP&DEV_0303", r"ACPI\PNP0303", "*PNP0303"],
        );
    }

    #[test]
    fn a_directory_that_is_not_sysfs_is_an_error_with_a_hint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = scan(dir.path()).expect_err("not sysfs");
        assert!(
            err.to_string().contains("hint: pass the sysfs root"),
            "{err}"
        );
    }

    #[test]
    fn malformed_attributes_skip_the_device_with_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dev = dir.path().join("bus/pci/devices/0000:00:01.0");
        fs_err::create_dir_all(&dev).expect("mkdir");
        for (n, v) in [
            ("vendor", "0x8086"),
            ("device", "zzzz"),
            ("subsystem_vendor", "0x0"),
            ("subsystem_device", "0x0"),
            ("class", "0x010000"),
            ("revision", "0x01"),
        ] {
            fs_err::write(dev.join(n), v).expect("write");
        }
        let inv = scan(dir.path()).expect("scans");
        assert!(inv.devices.is_empty());
        assert!(
            inv.warnings
                .iter()
                .any(|w| w.contains("`device` is not hexadecimal")),
            "{:?}",
            inv.warnings
        );
    }
}
