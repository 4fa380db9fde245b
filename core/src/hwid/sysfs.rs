//! Devices from a Linux sysfs tree.
//!
//! The reader takes a root directory (normally `/sys`; tests pass recorded trees) and reads only
//! these attribute files (all ASCII, one value per file, as the kernel prints them):
//!
//! | bus | directory | files |
//! |---|---|---|
//! | PCI | `bus/pci/devices/<DDDD:BB:DD.F>/` | `vendor`, `device`, `subsystem_vendor`, `subsystem_device` (`0x%04x`), `class` (`0x%06x`), `revision` (`0x%02x`); optional `config` (binary configuration space, for the PCI Express Device/Port Type of the `DT_` IDs and, of bridges, the secondary bus number that places a function in a flat tree — only root reads past byte 64) |
//! | USB device | `bus/usb/devices/<bus>-<port…>/` | `idVendor`, `idProduct`, `bcdDevice` (`%04x`), `bDeviceClass`, `bDeviceSubClass`, `bDeviceProtocol` (`%02x`), `bNumConfigurations` (`%d`), `descriptors` (raw, for Interface Association Descriptors) |
//! | USB root hub | `bus/usb/devices/usb<N>/` | `serial` (the host controller's PCI name), `idProduct`, `bDeviceProtocol` — which controller, hence which Windows hub driver, serves bus N (see `usb_stack`); on a live `/sys` the `class` of the PCI function above a device's real path comes first |
//! | USB interface | `bus/usb/devices/<dev>:<cfg>.<n>/` | `bInterfaceNumber`, `bInterfaceClass`, `bInterfaceSubClass`, `bInterfaceProtocol` (`%02x`) |
//! | HD Audio | `bus/hdaudio/devices/hdaudioC<c>D<a>/` | `type`, `vendor_id`, `subsystem_id`, `revision_id` (`0x%x`); the controller is the parent directory of the device's real path (its `vendor`, `device`) |
//! | ACPI | `bus/acpi/devices/<HID>:<nn>/` | `hid`, `modalias` (`acpi:<HID>:<CID>:…:<CLS>:`, the `_CLS` as 6 hex digits; Linux's synthetic `LNX*` IDs dropped), optional `status` (decimal `_STA`), `path` |
//!
//! Left out, as Windows has no such device or its driver is always inbox: USB root hubs
//! (`usbN`, served by the host controller's inbox hub driver), ACPI nodes without `_HID`
//! (`device:NN`), Linux-only ACPI pseudo devices (`LNX*` except the fixed power button), and ACPI
//! devices whose `_STA` says not present.

use std::path::{Path, PathBuf};

use super::ladder::{
    self, HdaCodec, LadderTarget, PciFunction, PciSlot, UsbDevice, UsbInterface, UsbStack,
};
use super::{Bus, Device, HwidError, Inventory, parse_hex};

/// Read every supported device under a sysfs root, with the ladders of
/// [`LadderTarget::default`].
pub fn scan(root: &Path) -> Result<Inventory, HwidError> {
    scan_for(root, LadderTarget::default())
}

/// Read every supported device under a sysfs root, with the ID ladders `target` reports.
pub fn scan_for(root: &Path, target: LadderTarget) -> Result<Inventory, HwidError> {
    if !root.join("bus").is_dir() {
        return Err(HwidError::Format {
            path: root.to_path_buf(),
            msg: "not a sysfs tree (no `bus` directory)".into(),
            hint: "pass the sysfs root, e.g. `--sysfs /sys`".into(),
        });
    }
    let mut inv = Inventory {
        source: format!("sysfs {}; {}", root.display(), target.describe()),
        ..Inventory::default()
    };
    pci(root, &mut inv)?;
    usb(root, &mut inv, target)?;
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
    let mut funcs = Vec::new();
    for (name, dir) in entries(&root.join("bus/pci/devices"))? {
        let Some(f) = pci_function(&dir, inv)? else {
            continue;
        };
        // `config` (binary; complete only when read by root) gives the PCI Express type.
        let config = read_config(&dir)?;
        funcs.push((name, dir, f, config));
    }
    // What the topology check of a flat tree needs of every function (the real path, when
    // there is one, is asked first: `pci_parent`).
    let listed: Vec<ladder::PciListed> = funcs
        .iter()
        .filter_map(|(n, _, f, c)| {
            let c = c.as_deref();
            let type1 = c.and_then(|c| c.get(0x0E)).is_some_and(|h| h & 0x7F == 1);
            Some(ladder::PciListed {
                slot: PciSlot::parse(n)?,
                class: f.class,
                secondary: c.filter(|_| type1).and_then(|c| c.get(0x19).copied()),
                express_type: c.and_then(ladder::pcie_type),
                ari_forwarding: c.is_some_and(ladder::pcie_ari_forwarding),
            })
        })
        .collect();
    for (name, dir, f, config) in &funcs {
        let dt = match config {
            Some(c) => ladder::express_port_type(c, pci_parent(name, dir, &listed)?),
            None => None,
        };
        let mut d = Device::pci_express(f, dt, name);
        d.location = Some(name.clone());
        inv.devices.push(d);
    }
    Ok(())
}

fn read_config(dir: &Path) -> Result<Option<Vec<u8>>, HwidError> {
    match fs_err::read(dir.join("config")) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(HwidError::Io {
            path: dir.join("config"),
            source,
        }),
    }
}

/// Where the function `name` sits, for pci.sys's Express topology check
/// ([`ladder::express_port_type`]). On a live `/sys`, the parent directory of its real path:
/// `pci<domain>:<bus>` (drivers/pci/probe.c `pci_register_host_bridge`: `"pci%04x:%02x"`) is a
/// root bus, a PCI function's name (`0000:00:1c.0`, `10000:e0:06.0` under Intel VMD) that
/// bridge. In a flat tree (fixtures, a copied `bus/pci/devices`), [`ladder::pci_parent_among`]:
/// the bridge whose `config` names the function's bus as its secondary bus, a root bus only
/// for bus 00 or a host bridge's bus, else unknown — a tree holding only some functions, or a
/// bridge without its `config`, skips the check rather than call an endpoint a root-bus one.
fn pci_parent(
    name: &str,
    dir: &Path,
    listed: &[ladder::PciListed],
) -> Result<ladder::PciParent, HwidError> {
    let Some(slot) = PciSlot::parse(name) else {
        return Ok(ladder::PciParent::Unknown);
    };
    if let Ok(real) = fs_err::canonicalize(dir)
        && let Some(parent) = real.parent()
        && let Some(pname) = parent.file_name().and_then(|n| n.to_str())
    {
        if is_pci_name(pname) {
            let config = read_config(parent)?;
            return Ok(ladder::PciParent::Bridge {
                express_type: config.as_deref().and_then(ladder::pcie_type),
                ari_forwarding: config.as_deref().is_some_and(ladder::pcie_ari_forwarding),
                device_number: slot.device,
            });
        }
        if is_root_bus_name(pname) {
            return Ok(ladder::PciParent::RootBus);
        }
    }
    Ok(ladder::pci_parent_among(slot, listed))
}

/// `pci<domain>:<bus>`, the kernel's name of a root bus's host bridge device.
fn is_root_bus_name(n: &str) -> bool {
    n.strip_prefix("pci").is_some_and(|rest| {
        rest.split_once(':').is_some_and(|(dom, bus)| {
            ladder::hex_digits(dom, 4, 8) && ladder::hex_digits(bus, 2, 2)
        })
    })
}

fn usb(root: &Path, inv: &mut Inventory, target: LadderTarget) -> Result<(), HwidError> {
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
        let stack = usb_stack(root, name, dir)?;
        let (hw, compat) = ladder::usb_device_ids_on(&dev, &descs, target, stack);
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

/// The Windows USB stack that would enumerate the device `name` (directory `dir`): the one of
/// the host controller at the root of its tree ([`UsbStack::for_controller_class`]). Found, in
/// this order:
///
/// 1. the device's real path (`/sys/devices/pci0000:00/0000:00:1d.0/usb2/2-1/2-1.4`): the
///    nearest ancestor inside `root` named like a PCI function (`dddd:bb:dd.f`) with a `class`;
/// 2. the root hub `usbN` of the device's bus (`N` = the digits before the first `-`): its
///    `serial` is the controller's bus name (`0000:00:1d.0`; drivers/usb/core/hcd.c `rh_string`
///    returns `hcd->self.bus_name` for string 1), whose `bus/pci/devices/<serial>/class` counts;
/// 3. the root hub's own descriptor, which Linux builds per controller type (hcd.c): `idProduct`
///    0001 is a USB 1.1 root hub (OHCI/UHCI → usbhub.sys), 0003 the USB 3 root hub of an xHCI
///    (→ usbhub3), 0002 a USB 2 root hub whose `bDeviceProtocol` is 1 ("single TT") only when the
///    controller has an integrated TT (`hcd->has_tt`) — set by xhci.c for the USB 2 root hub of
///    every xHCI ("USB 2.0 roothub under xHCI has an integrated TT") and by a few embedded EHCIs
///    (TDI/ChipIdea, Intel CE4100), so 1 → xHCI, 0 → EHCI. An EHCI with an integrated TT on such
///    an SoC is read as xHCI here; steps 1 and 2 tell it apart on a live `/sys`.
///
/// With none of these (a tree without root hubs, a non-PCI controller whose root hub is
/// missing), [`UsbStack::default`] — usbhub3, the lists infuse built before it knew the stack.
fn usb_stack(root: &Path, name: &str, dir: &Path) -> Result<UsbStack, HwidError> {
    let pci_class = |d: &Path| -> Result<Option<UsbStack>, HwidError> {
        Ok(attr(d, "class")?
            .and_then(|c| parse_hex(&c))
            .and_then(UsbStack::for_controller_class))
    };
    // 1. The real path, up to the first PCI function inside the sysfs root.
    if let (Ok(real), Ok(top)) = (fs_err::canonicalize(dir), fs_err::canonicalize(root)) {
        for anc in real.ancestors().skip(1) {
            if !anc.starts_with(&top) || anc == top {
                break;
            }
            let is_pci = anc
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_pci_name);
            if is_pci {
                if let Some(stack) = pci_class(anc)? {
                    return Ok(stack);
                }
                break;
            }
        }
    }
    let bus: String = name.chars().take_while(char::is_ascii_digit).collect();
    if bus.is_empty() {
        return Ok(UsbStack::default());
    }
    let hub = root.join("bus/usb/devices").join(format!("usb{bus}"));
    // 2. The root hub's serial names the controller.
    if let Some(serial) = attr(&hub, "serial")?
        && is_pci_name(&serial)
        && let Some(stack) = pci_class(&root.join("bus/pci/devices").join(&serial))?
    {
        return Ok(stack);
    }
    // 3. The root hub's descriptor.
    let product = attr(&hub, "idProduct")?.and_then(|s| parse_hex(&s));
    let protocol = attr(&hub, "bDeviceProtocol")?.and_then(|s| parse_hex(&s));
    Ok(match (product, protocol) {
        (Some(0x0001), _) => UsbStack::Usb2,
        (Some(0x0003), _) => UsbStack::Usb3,
        (Some(0x0002), Some(0)) => UsbStack::Usb2,
        (Some(0x0002), Some(1)) => UsbStack::Usb3,
        _ => UsbStack::default(),
    })
}

/// `dddd:bb:dd.f`, the kernel's name of a PCI function (the domain is 4 or more hex digits).
fn is_pci_name(n: &str) -> bool {
    PciSlot::parse(n).is_some_and(|s| s.has_domain)
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
        // modalias: `acpi:<HID>:<CID1>:<CID2>:…:` — Linux's `acpi_set_pnp_ids` (drivers/acpi/
        // scan.c) lists the _HID, each _CID, then the _CLS as 6 hex digits (ACPICA's class-code
        // string), then its own synthetic IDs (`LNXVIDEO`, `LNXIOBAY`, …), which Windows does
        // not have.
        let mut cids: Vec<String> = Vec::new();
        let mut class = None;
        let modalias = attr(&dir, "modalias")?.unwrap_or_default();
        for id in modalias
            .strip_prefix("acpi:")
            .unwrap_or("")
            .split(':')
            .skip(1)
            .filter(|s| !s.is_empty())
        {
            if id.len() == 6 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                let v = u32::from_str_radix(id, 16).unwrap_or(0);
                class = Some(((v >> 16) as u8, (v >> 8) as u8, v as u8));
            } else if !id.starts_with("LNX") {
                cids.push(id.to_owned());
            }
        }
        let (hw, compat) = ladder::acpi_ids_with_class(&hid, &cids, class);
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

    /// The Windows 10 PCI ladder (devcon capture, inf-behaviour.md §J; windows-driver-internals.md §4.1)
    /// of a function without a PCI Express port: [`pci_ladder_dt`] with no `DT_`.
    fn pci_ladder(
        ven: &str,
        dev: &str,
        subsys: &str,
        rev: &str,
        cc: &str,
    ) -> (Vec<String>, Vec<String>) {
        pci_ladder_dt(ven, dev, subsys, rev, cc, None)
    }

    /// The PCI ladder written out (not built by `ladder`, so a change of the rule there fails
    /// these tests): pci.sys `id.c` `PciQueryHardwareIDs` / `PciQueryCompatibleIDs` (cited at
    /// `ladder::pci_express_ids`). With subsystem IDs: 4 hardware IDs, compatible `REV`, bare,
    /// `VEN&CC…`, `VEN`, `CC…`; with `SUBSYS_00000000` the `REV` and bare forms are hardware IDs
    /// 3 and 4 instead. `dt`: the Device/Port Type digit of `PCI\CC_…&DT_t`.
    fn pci_ladder_dt(
        ven: &str,
        dev: &str,
        subsys: &str,
        rev: &str,
        cc: &str,
        dt: Option<&str>,
    ) -> (Vec<String>, Vec<String>) {
        let vd = format!("PCI\\VEN_{ven}&DEV_{dev}");
        let cc4 = &cc[..4];
        let plain = [format!("{vd}&REV_{rev}"), vd.clone()];
        let mut hw = vec![
            format!("{vd}&SUBSYS_{subsys}&REV_{rev}"),
            format!("{vd}&SUBSYS_{subsys}"),
        ];
        let mut compat = Vec::new();
        if subsys == "00000000" {
            hw.extend(plain);
        } else {
            compat.extend(plain);
        }
        hw.extend([format!("{vd}&CC_{cc}"), format!("{vd}&CC_{cc4}")]);
        compat.extend([
            format!("PCI\\VEN_{ven}&CC_{cc}"),
            format!("PCI\\VEN_{ven}&CC_{cc4}"),
            format!("PCI\\VEN_{ven}"),
        ]);
        for c in [cc, cc4] {
            if let Some(t) = dt {
                compat.push(format!("PCI\\CC_{c}&DT_{t}"));
            }
            compat.push(format!("PCI\\CC_{c}"));
        }
        (hw, compat)
    }

    #[test]
    fn this_vm_recorded() {
        // Recorded from the build machine's own /sys with record.sh: an EC2-style VM with modern
        // virtio devices (vendor 1AF4, device 1041 net, 1042 block, 1045 balloon, 1053 vsock,
        // 1044 rng) and an Intel 0D57 host bridge without subsystem IDs.
        let inv = fixture("this-vm");
        let pci: Vec<&Device> = inv.devices.iter().filter(|d| d.bus == Bus::Pci).collect();
        assert_eq!(pci.len(), 6);
        // A function without subsystem IDs: `SUBSYS_00000000` in the first two hardware IDs,
        // then `REV` and the bare VEN&DEV as hardware IDs 3 and 4, not compatible IDs (pci.sys
        // id.c PciQueryHardwareIDs `if (subsystem == 0)`, cited at ladder::pci_express_ids).
        let (hw, compat) = pci_ladder("8086", "0D57", "00000000", "00", "060000");
        let host = find(&inv, &hw[0]);
        assert_eq!(host.hardware_ids, hw);
        assert_eq!(host.compatible_ids, compat);
        // The recorded `config` files (read as root) have no PCI Express capability on this VM,
        // so no `DT_` IDs (identifiers-for-pci-devices.md: "PCIe only").
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

    /// The compatible IDs Windows' USB stack gives a device or interface of class `c`/`s`/`p`:
    /// `USB\Class_cc&SubClass_ss&Prot_pp`, `USB\Class_cc&SubClass_ss`, `USB\Class_cc` ([WDD]
    /// `install/standard-usb-identifiers.md`; `hid/plug-and-play-support.md` example 1 takes them
    /// from the interface descriptor when the device class is 0). Written out here, not built by
    /// `ladder`, so a change of the rule there fails these tests.
    fn usb_class(c: &str, s: &str, p: &str) -> [String; 3] {
        [
            format!(r"USB\Class_{c}&SubClass_{s}&Prot_{p}"),
            format!(r"USB\Class_{c}&SubClass_{s}"),
            format!(r"USB\Class_{c}"),
        ]
    }

    /// One PCI function of a tree and what Windows lists for it: VEN, DEV, SUBSYS as pci.sys
    /// prints it (subdevice then subvendor), REV, class code (`ccsspp`), and the `DT_` digit
    /// where pci.sys keeps an ExpressPort.
    type PciRow = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    );

    /// The PCI part of a fixture tree built by from-lspci.py: every row's ladder is
    /// [`pci_ladder_dt`], the rows cover every PCI function of the scan, and every function has
    /// a `config` — each one is sourced (README "PCI Express and bridge subsystem IDs"), so none
    /// lacks a `DT_` for want of data.
    fn assert_pci_tree(tree: &str, inv: &Inventory, rows: &[PciRow]) {
        for &(ven, dev, subsys, rev, cc, dt) in rows {
            let (hw, compat) = pci_ladder_dt(ven, dev, subsys, rev, cc, dt);
            assert_eq!(
                ladder_of(inv, &hw[0]),
                (&hw[..], &compat[..]),
                "{ven}:{dev}"
            );
        }
        let pci = inv.devices.iter().filter(|d| d.bus == Bus::Pci).count();
        assert_eq!(pci, rows.len(), "one row per PCI function of {tree}");
        let functions = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/sysfs")
            .join(tree)
            .join("bus/pci/devices");
        for (name, dir) in entries(&functions).expect("the tree lists") {
            assert!(dir.join("config").is_file(), "{tree}: {name} has no config");
        }
    }

    /// A device of the trees built from public probe dumps by `from-lspci.py`/`from-lsusb.py`
    /// (provenance in `core/fixtures/sysfs/README.md`): hardware IDs and compatible IDs.
    fn ladder_of<'a>(inv: &'a Inventory, hw0: &str) -> (&'a [String], &'a [String]) {
        let d = find(inv, hw0);
        (&d.hardware_ids, &d.compatible_ids)
    }

    #[test]
    fn laptop_thinkpad_t450_from_linuxhw_dumps() {
        // linuxhw/LsPCI + linuxhw/LsUSB probe 15996CBF93 (ThinkPad 20BUS1G600: machine type
        // 20BU is the ThinkPad T450; the probe's DMI has no model name).
        let inv = fixture("laptop-thinkpad-t450");
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        let pci: Vec<&Device> = inv.devices.iter().filter(|d| d.bus == Bus::Pci).collect();
        assert_eq!(pci.len(), 16, "every function of the lspci dump");

        // Every PCI function: the ladder of pci.sys id.c (ladder::pci_express_ids; Windows 10
        // order of the devcon capture, windows-driver-internals.md §4.1), `DT_` where pci.sys
        // keeps an ExpressPort (ladder::express_port_type). The probe was unprivileged
        // (`Capabilities: <access denied>`); the capability facts written into `config` by
        // from-lspci.py --caps come from root-run linuxhw/LsPCI probes of other units of the
        // same machine type with the same silicon (same VEN:DEV:REV, README "PCI Express and
        // bridge subsystem IDs"):
        //   T = Notebook/Lenovo/ThinkPad/ThinkPad T450 20BUS14900/7C50274A6FA9/OL-8.5/
        //       4.18.0-348.12.2.EL8_5.X86_64/X86_64/BD60AAE97A @ 28198bc0 — machine type 20BU
        //       like this one, same 16 functions at the same slots with the same subsystem IDs;
        //   U = …/ThinkPad T450s 20BWS0B500/DFEC13B38C39/RHEL-8.1/4.18.0-147.8.1.EL8_1.X86_64/
        //       X86_64/EA2A99E61E @ 926a35a5;
        //   V = …/ThinkPad T450s 20BWS00V00/72DC33BA7867/UBUNTU-20.04/5.11.0-34-GENERIC/X86_64/
        //       6E2B20FD64 @ 48079bcb.
        // T, U and V agree on every capability line quoted below.
        //   P = search-index file 57138278074: a forum post with a root `lspci -vv` of an
        //       ASUS Broadwell-U laptop (160C rev 09, 9CA0 rev 03).
        //   L = search-index files 57084189905, 56678296959: `sudo lshw -C display` of
        //       Broadwell-U 8086:1616 laptops, capabilities `msi pm vga_controller … cap_list`
        //       without `pciexpress` (the NVIDIA GPUs there list `pciexpress`).
        let p = Some;
        assert_pci_tree(
            "laptop-thinkpad-t450",
            &inv,
            &[
                // T, U, V: only `[e0] Vendor Specific Information`.
                ("8086", "1604", "503417AA", "09", "060000", None),
                // T, U, V: `[90] MSI`, `[d0] Power Management`, `[a4] PCI Advanced Features`; L.
                ("8086", "1616", "503417AA", "09", "030000", None),
                // T, U, V, P: `[70] Express (v1) Root Complex Integrated Endpoint` on the root bus:
                // DT_9. 8086:160C is the HDMI audio controller; 9CA0 is the CTLR_ of the real
                // Windows HDAUDIO list of §4.3 (CTLR_DEV_9CA0).
                ("8086", "160C", "503417AA", "09", "040300", p("9")),
                // T, U, V: `[70] Power Management`, `[80] MSI`.
                ("8086", "9CB1", "503417AA", "03", "0C0330", None),
                // T, U, V: `[50] Power Management`, `[8c] MSI`.
                ("8086", "9CBA", "503417AA", "03", "078000", None),
                // `Subsystem: Lenovo Device [17aa:2226]`: SUBSYS is subdevice then subvendor.
                // T, U, V: `[c8] Power Management`, `[d0] MSI`, `[e0] PCI Advanced Features`.
                ("8086", "15A2", "222617AA", "03", "020000", None),
                // T, U, V, P: `[50] Power Management`, `[60] MSI` only.
                ("8086", "9CA0", "503417AA", "03", "040300", None),
                // Root ports: no `Subsystem:` line in the unprivileged probe, but T, U, V show
                // `[40] Express (v2) Root Port (Slot+)` and `[90] Subsystem: Lenovo Device
                // [17aa:5034]` — the bridge's Subsystem ID capability, which pci.sys reads into
                // SUBSYS_ for a type-1 header: SUBSYS_503417AA with the four-ID hardware list (not
                // SUBSYS_00000000), and DT_4 (root port on the root bus). `(rev e3)` is REV_E3.
                ("8086", "9C9A", "503417AA", "E3", "060400", p("4")),
                ("8086", "9C94", "503417AA", "E3", "060400", p("4")),
                // T, U, V: `[50] Power Management`, `[58] Debug port`, `[98] PCI Advanced Features`.
                ("8086", "9CA6", "503417AA", "03", "0C0320", None),
                // T, U, V: only `[e0] Vendor Specific Information`.
                ("8086", "9CC3", "503417AA", "03", "060100", None),
                // T, U, V: `[80] MSI`, `[70] Power Management`, `[a8] SATA HBA v1.0`.
                ("8086", "9C83", "503417AA", "03", "010601", None),
                // Own probe (and T, U, V): `Status: Cap-`.
                ("8086", "9CA2", "503417AA", "03", "0C0500", None),
                // T, U, V: `[50] Power Management`, `[80] MSI`.
                ("8086", "9CA4", "503417AA", "03", "118000", None),
                // Class `[ff00]` (unassigned) keeps its digits: CC_FF0000 / CC_FF00. T, U, V:
                // `[70] Express (v2) Endpoint` at 02:00.0, behind root port 1c.0 (secondary bus
                // 02), device 0: DT_0.
                ("10EC", "5227", "503417AA", "01", "FF0000", p("0")),
                // T, U, V: `[40] Express (v2) Endpoint` at 03:00.0, behind root port 1c.1
                // (secondary bus 03), device 0: DT_0.
                ("8086", "095B", "52108086", "59", "028000", p("0")),
            ],
        );
        // The root port 1c.0 written out in full (T: `[40] Express (v2) Root Port (Slot+)`,
        // `[90] Subsystem: Lenovo Device [17aa:5034]`): four hardware IDs since the subsystem
        // is not 0 (id.c PciQueryHardwareIDs), REV and bare VEN&DEV among the compatible IDs,
        // and the DT_ forms before their class IDs (PciQueryCompatibleIDs).
        let (hw, compat) = ladder_of(&inv, r"PCI\VEN_8086&DEV_9C9A&SUBSYS_503417AA&REV_E3");
        same(
            hw,
            &[
                r"PCI\VEN_8086&DEV_9C9A&SUBSYS_503417AA&REV_E3",
                r"PCI\VEN_8086&DEV_9C9A&SUBSYS_503417AA",
                r"PCI\VEN_8086&DEV_9C9A&CC_060400",
                r"PCI\VEN_8086&DEV_9C9A&CC_0604",
            ],
        );
        same(
            compat,
            &[
                r"PCI\VEN_8086&DEV_9C9A&REV_E3",
                r"PCI\VEN_8086&DEV_9C9A",
                r"PCI\VEN_8086&CC_060400",
                r"PCI\VEN_8086&CC_0604",
                r"PCI\VEN_8086",
                r"PCI\CC_060400&DT_4",
                r"PCI\CC_060400",
                r"PCI\CC_0604&DT_4",
                r"PCI\CC_0604",
            ],
        );
        assert!(find(&inv, r"PCI\VEN_8086&DEV_9C83&SUBSYS_503417AA&REV_03").boot_critical);
        assert!(!find(&inv, r"PCI\VEN_8086&DEV_095B&SUBSYS_52108086&REV_59").boot_critical);

        // USB. The webcam 04ca:703c is class EF/02/01 with two interfaces in one configuration,
        // so the hub reports USB\COMPOSITE ([WDD] usbcon/enumeration-of-the-composite-parent-
        // device.md: class 0, or EF/02/01; several interfaces; one configuration).
        let (hw, compat) = ladder_of(&inv, r"USB\VID_04CA&PID_703C&REV_0017");
        same(
            hw,
            &[r"USB\VID_04CA&PID_703C&REV_0017", r"USB\VID_04CA&PID_703C"],
        );
        // usbhub3 writes the literal DevClass_00 forms for every composite parent, this EF/02/01
        // one too (decompiled HUBID_BuildDeviceCompatibleID, 11-21H2 … 11-25H2/USBHUB3; a
        // build-22000 listing of the IAD webcam 04F2:B6DD in pbatard/libwdi issue #155 shows
        // `USB\DevClass_00&SubClass_00&Prot_00`).
        same(
            compat,
            &[
                r"USB\DevClass_00&SubClass_00&Prot_00",
                r"USB\DevClass_00&SubClass_00",
                r"USB\DevClass_00",
                r"USB\COMPOSITE",
            ],
        );
        // Its IAD (first 0, count 2, function 0E/03/00) makes both interfaces one function:
        // one child MI_00 whose compatible IDs come from the IAD's bFunctionClass/SubClass/
        // Protocol ([WDD] usbcon/enumeration-of-interface-collections-on-devices-that-have-
        // iads.md: `USB\VID_v&PID_p&Rev_r&MI_z`, `USB\VID_v&PID_p&MI_z`, z = bFirstInterface).
        let (hw, compat) = ladder_of(&inv, r"USB\VID_04CA&PID_703C&REV_0017&MI_00");
        same(
            hw,
            &[
                r"USB\VID_04CA&PID_703C&REV_0017&MI_00",
                r"USB\VID_04CA&PID_703C&MI_00",
            ],
        );
        same(
            compat,
            &usb_class("0e", "03", "00").each_ref().map(String::as_str),
        );
        assert!(
            inv.devices.iter().all(|d| !d
                .hardware_ids
                .iter()
                .any(|h| id_eq(h, r"USB\VID_04CA&PID_703C&MI_01"))),
            "interface 1 belongs to the IAD's function, not a child of its own"
        );
        // Bluetooth 8087:0a2a: class E0 on the device, two interfaces, but not class 0 or
        // EF/02/01, so not composite: the device class gives the compatible IDs
        // (standard-usb-identifiers.md, single device) and there are no MI_ children.
        let (hw, compat) = ladder_of(&inv, r"USB\VID_8087&PID_0A2A&REV_0001");
        same(
            hw,
            &[r"USB\VID_8087&PID_0A2A&REV_0001", r"USB\VID_8087&PID_0A2A"],
        );
        same(
            compat,
            &usb_class("e0", "01", "01").each_ref().map(String::as_str),
        );
        assert!(
            inv.devices
                .iter()
                .all(|d| !d.hardware_ids.iter().any(|h| h.contains("0A2A&MI_")))
        );
        // Class-0 single-interface devices take the interface's class (hid/plug-and-play-
        // support.md example 1): the smart-card reader (0B/00/00) and the mouse (03/01/02).
        let (_, compat) = ladder_of(&inv, r"USB\VID_058F&PID_9540&REV_0120");
        same(
            compat,
            &usb_class("0b", "00", "00").each_ref().map(String::as_str),
        );
        let (_, compat) = ladder_of(&inv, r"USB\VID_15D9&PID_0A4D&REV_0100");
        same(
            compat,
            &usb_class("03", "01", "02").each_ref().map(String::as_str),
        );
        // The rate-matching hub 8087:8001 (bcdDevice 0.03, bDeviceProtocol 1) is on bus 1, whose
        // root hub is 1d6b:0002 with bDeviceProtocol 0 — an EHCI (no integrated TT; Linux hcd.c),
        // the 8086:9CA6 of the lspci dump. Windows enumerates it with the USB 2.0 stack ([WDD]
        // usbcon/usb-3-0-driver-stack-architecture.md), and usbhub.sys has no hub ID: its
        // UsbhBuildClassCompatibleID gives the hub's class triple (decompiled 11-21H2 …
        // 11-25H2/usbhub), not usbhub3's `USB\USB20_HUB`.
        let (_, compat) = ladder_of(&inv, r"USB\VID_8087&PID_8001&REV_0003");
        assert_eq!(
            compat,
            [
                r"USB\Class_09&SubClass_00&Prot_01",
                r"USB\Class_09&SubClass_00",
                r"USB\Class_09",
            ]
        );
        // The devices of bus 2 hang off the xHCI (root hub 1d6b:0002 with bDeviceProtocol 1, the
        // integrated TT xhci.c sets): usbhub3's lists, as the webcam's DevClass_00 forms above.
        // Root hubs (usbN) are not listed: the host controller's inbox driver serves them.
        assert!(
            inv.devices
                .iter()
                .all(|d| !d.hardware_ids.iter().any(|h| h.contains("VID_1D6B")))
        );
        let usb = inv.devices.iter().filter(|d| d.bus == Bus::Usb).count();
        assert_eq!(
            usb, 6,
            "hub, webcam + its MI_00, bluetooth, smart card, mouse"
        );
    }

    #[test]
    fn desktop_asus_p8b75_m_from_linuxhw_dumps() {
        // linuxhw/LsPCI probe 8EA192F8A0 and linuxhw/LsUSB probe 02CB4F0683 of the same
        // machine (ASUS P8B75-M, hwid 304A4ADB51DE).
        let inv = fixture("desktop-asus-p8b75-m");
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        // Every PCI function, the Windows ladder of pci.sys id.c (ladder::pci_express_ids) with
        // the `DT_` digit where pci.sys keeps an ExpressPort (ladder::express_port_type). The
        // PCI Express capabilities and the bridges' Subsystem ID capabilities are not in the
        // unprivileged probe; they come from root-run linuxhw/LsPCI probes of other P8B75-M
        // boards with the same silicon (same VEN:DEV:REV), written into `config` by
        // from-lspci.py --caps (README "PCI Express and bridge subsystem IDs"):
        //   A = Desktop/ASUSTek Computer/P8/P8B75-M/BBA0A2846257/ROSA-2014.1/
        //       3.14.44-NRJ-DESKTOP-2ROSA-X86_64/X86_64/0A39EFD0FD @ d3e6e44e (7-series PCH)
        //   B = …/P8B75-M/46E0F9879B7F/ROSA-2016.1/4.9.124-NRJ-DESKTOP-1ROSA-X86_64/X86_64/
        //       6B668249FB @ 48079bcb (Ivy Bridge 0150/0151 rev 09)
        //   D = …/P8B75-M/6F35BBA52509/DEBIAN-11/5.15.39-1-PVE/X86_64/46E85F96CA @ c7762b29 and
        //   E = …/P8B75-M/C209E78862BD/DEBIAN-11/5.15.60-1-PVE/X86_64/0299E4F7B1 @ c7762b29
        //       (SATA in AHCI mode, 8086:1E02 rev 04; they agree with A and B on every other row)
        //   M = search-index file 15908748583: linux-pci list mail of 2021-01-14 quoting kernel
        //       bugzilla 211189, a root `lspci -vnn` of the HD 4000 8086:0162 rev 09 (MSI
        //       Z77A-GD65, i5-3570K) — no linuxhw root-run probe with this iGPU was found.
        // `Status: Cap-` in this machine's own probe (8EA192F8A0): no capability list at all.
        let p = Some;
        assert_pci_tree(
            "desktop-asus-p8b75-m",
            &inv,
            &[
                // B: only `[e0] Vendor Specific`.
                ("8086", "0150", "84CA1043", "09", "060000", None),
                // B: `[88] Subsystem: … [1043:84ca]`, `[a0] Express (v2) Root Port` on bus 00.
                ("8086", "0151", "84CA1043", "09", "060400", p("4")),
                // M: `[90] MSI`, `[d0] Power Management version 2`, `[a4] PCI Advanced Features`
                // only (D shows the same three for its sibling iGPU 8086:0152 rev 09).
                ("8086", "0162", "84CA1043", "09", "030000", None),
                // A: PM + MSI only; PM + MSI; PM + Debug port + AF (both EHCIs).
                ("8086", "1E31", "84CA1043", "04", "0C0330", None),
                ("8086", "1E3A", "84CA1043", "04", "078000", None),
                ("8086", "1E2D", "84CA1043", "04", "0C0320", None),
                ("8086", "1E26", "84CA1043", "04", "0C0320", None),
                // A: `[70] Express (v1) Root Complex Integrated Endpoint` on the root bus: DT_9.
                ("8086", "1E20", "84151043", "04", "040300", p("9")),
                // A: `[40] Express (v2) Root Port (Slot+)`, `[90] Subsystem: … [1043:84ca]`.
                ("8086", "1E10", "84CA1043", "C4", "060400", p("4")),
                ("8086", "1E1A", "84CA1043", "C4", "060400", p("4")),
                // A: the subtractive bridge has only `[50] Subsystem: … [1043:84ca]` — no Express
                // capability, and subsystem IDs after all (Linux and pci.sys read that capability
                // for a type-1 header); `(prog-if 01 [Subtractive decode])`.
                ("8086", "244E", "84CA1043", "A4", "060401", None),
                // A: `[e0] Vendor Specific` only.
                ("8086", "1E49", "84CA1043", "04", "060100", None),
                // D, E: `[80] MSI`, `[70] Power Management`, `[a8] SATA HBA v1.0`, `[b0] PCI
                // Advanced Features` (A, B, C run the controller in IDE mode, 8086:1E00).
                ("8086", "1E02", "84CA1043", "04", "010601", None),
                // Own probe: `Status: Cap-`.
                ("8086", "1E22", "84CA1043", "04", "0C0500", None),
                // A: `[70] Express (v2) Endpoint` behind root port 1c.5 (secondary bus 03): DT_0.
                ("10EC", "8168", "85051043", "09", "020000", p("0")),
                // Own probe: `Status: Cap-` (a conventional PCI card behind the 244E bridge).
                ("1822", "4E35", "00021AE4", "01", "048000", None),
            ],
        );
        assert_eq!(inv.devices.iter().filter(|d| d.bus == Bus::Pci).count(), 16);

        // A Canon printer/scanner 04a9:1890: class 0, seven interfaces, one configuration, so
        // composite. The parent's compatible IDs are the ones of the real `pnputil /enum-devices
        // /ids` output for a class-0 composite device in [WDD] usbcon/usb-device-specific-
        // registry-settings.md ("USB device registry entries", 2023): `USB\DevClass_00&SubClass_00
        // &Prot_00`, `USB\DevClass_00&SubClass_00`, `USB\DevClass_00`, `USB\COMPOSITE` — that
        // output also lists three `USB\COMPAT_VID_045E&DevClass_00…` IDs first, which infuse
        // builds for targets from 22621 on (usb_ladders_follow_the_target_build; this Canon is on
        // an EHCI bus, so usbhub.sys's `&Prot_00` form).
        let (hw, compat) = ladder_of(&inv, r"USB\VID_04A9&PID_1890&REV_0102");
        same(
            hw,
            &[r"USB\VID_04A9&PID_1890&REV_0102", r"USB\VID_04A9&PID_1890"],
        );
        same(
            compat,
            &[
                r"USB\DevClass_00&SubClass_00&Prot_00",
                r"USB\DevClass_00&SubClass_00",
                r"USB\DevClass_00",
                r"USB\COMPOSITE",
            ],
        );
        // One usbccgp child per interface (no IAD), IDs from the interface descriptor ([WDD]
        // usbcon/enumeration-of-interfaces-not-grouped-in-collections.md).
        let children: Vec<&Device> = inv
            .devices
            .iter()
            .filter(|d| d.hardware_ids[0].starts_with(r"USB\VID_04A9&PID_1890&REV_0102&MI_"))
            .collect();
        assert_eq!(children.len(), 7);
        let (hw, compat) = ladder_of(&inv, r"USB\VID_04A9&PID_1890&REV_0102&MI_02");
        same(
            hw,
            &[
                r"USB\VID_04A9&PID_1890&REV_0102&MI_02",
                r"USB\VID_04A9&PID_1890&MI_02",
            ],
        );
        same(
            compat,
            &usb_class("08", "06", "50").each_ref().map(String::as_str),
        );
        // Interface 3 has two alternate settings, FF/FF/FF (0) and 07/01/04 (1): the IDs come
        // from setting 0, the one the device is enumerated with (what sysfs shows; the
        // documents do not say which setting usbccgp reads — UNCONFIRMED beyond that).
        let (_, compat) = ladder_of(&inv, r"USB\VID_04A9&PID_1890&REV_0102&MI_03");
        same(
            compat,
            &usb_class("ff", "ff", "ff").each_ref().map(String::as_str),
        );
        // The Logitech receiver 046d:c529: a class-0 composite with keyboard and mouse children.
        let (_, compat) = ladder_of(&inv, r"USB\VID_046D&PID_C529&REV_0700");
        assert!(id_eq(&compat[3], r"USB\COMPOSITE"));
        let (_, compat) = ladder_of(&inv, r"USB\VID_046D&PID_C529&REV_0700&MI_00");
        same(
            compat,
            &usb_class("03", "01", "01").each_ref().map(String::as_str),
        );
        let (_, compat) = ladder_of(&inv, r"USB\VID_046D&PID_C529&REV_0700&MI_01");
        same(
            compat,
            &usb_class("03", "01", "02").each_ref().map(String::as_str),
        );
        // Two USB 3 disks with the same VID/PID differ by REV_ (bcdDevice 1.07 and 1.00); their
        // bulk-only SCSI interface gives the compatible ID usbstor.inf lists
        // ([WDD] install/identifiers-generated-by-usbstor-sys.md: USB\CLASS_08&SUBCLASS_06&PROT_50).
        for rev in ["0107", "0100"] {
            let (_, compat) = ladder_of(&inv, &format!(r"USB\VID_0480&PID_A006&REV_{rev}"));
            assert!(id_eq(&compat[0], r"USB\CLASS_08&SUBCLASS_06&PROT_50"));
        }
        // BCD revisions keep their digits: the Genesys hub's bcdDevice 77.64 is REV_7764, the
        // VL812's 90.91 REV_9091.
        find(&inv, r"USB\VID_05E3&PID_0608&REV_7764");
        // Buses 1 and 2 are the two EHCIs (8086:1E2D, 8086:1E26 in the lspci dump; root hubs
        // 1d6b:0002 with bDeviceProtocol 0, Linux hcd.c: no integrated TT): their rate-matching
        // hubs 8087:0024 and the Genesys hub 05E3:0608 behind one of them are enumerated by the
        // USB 2.0 stack ([WDD] usbcon/usb-3-0-driver-stack-architecture.md), whose usbhub.sys
        // gives a hub the class triple (UsbhBuildCompatibleID has no hub branch; decompiled
        // 11-21H2 … 11-25H2/usbhub) — single TT, so Prot_01.
        let ehci_hub = [
            r"USB\Class_09&SubClass_00&Prot_01",
            r"USB\Class_09&SubClass_00",
            r"USB\Class_09",
        ];
        let hubs: Vec<&Device> = inv
            .devices
            .iter()
            .filter(|d| {
                d.hardware_ids[0] == r"USB\VID_8087&PID_0024&REV_0000"
                    || d.hardware_ids[0] == r"USB\VID_05E3&PID_0608&REV_7764"
            })
            .collect();
        assert_eq!(hubs.len(), 3);
        for d in hubs {
            assert_eq!(d.compatible_ids, ehci_hub, "{}", d.instance_id);
        }
        // Both VL812s are the SuperSpeed hubs (bDeviceProtocol 3) on the xHCI's bus 4: the one
        // compatible ID `USB\USB30_HUB` (HUBID_BuildHubCompatibleID).
        for d in inv
            .devices
            .iter()
            .filter(|d| d.hardware_ids[0].contains("VID_2109&PID_0812"))
        {
            assert_eq!(d.compatible_ids, [r"USB\USB30_HUB"], "{}", d.instance_id);
        }
        assert_eq!(
            inv.devices.iter().filter(|d| d.bus == Bus::Usb).count(),
            19,
            "Canon + 7, Logitech + 2, 2 disks, flash drive, 5 hubs"
        );
    }

    #[test]
    fn usb_ladders_follow_the_target_build() {
        // The same trees for Windows 11 21H2 (22000) and 23H2 (22631). usbhub3's
        // HUBID_BuildClassCompatibleID / HUBID_BuildDeviceCompatibleID (decompiled, nohuto/
        // decompiled-pseudocode 11-21H2 vs 11-23H2/USBHUB3) add three COMPAT_VID IDs first on
        // 22621 and later; expected lists in the shape of Microsoft's pnputil outputs ([WDD]
        // "How to test a driver package": 0547:1002 class FF; usbcon/usb-device-specific-
        // registry-settings.md: composite 045E:0840). The first two devices sit on xHCI buses
        // (usbhub3): the desktop's bus 4 (SuperSpeed hubs 2109:0812 behind the xHCI 8086:1E31) and
        // the laptop's bus 2 (bus 1 is the EHCI's rate-matching hub 8087:8001).
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sysfs");
        let desktop = root.join("desktop-asus-p8b75-m");
        let old = scan_for(&desktop, LadderTarget::for_build(22000)).expect("scans");
        let new = scan_for(&desktop, LadderTarget::for_build(22631)).expect("scans");
        assert_eq!(old.devices.len(), new.devices.len());
        // The SanDisk flash drive 0781:5580 (bcdDevice 0.10): class 0, one interface 08/06/50.
        let (_, compat) = ladder_of(&new, r"USB\VID_0781&PID_5580&REV_0010");
        assert_eq!(
            compat,
            [
                r"USB\COMPAT_VID_0781&Class_08&SubClass_06&Prot_50",
                r"USB\COMPAT_VID_0781&Class_08&SubClass_06",
                r"USB\COMPAT_VID_0781&Class_08",
                r"USB\Class_08&SubClass_06&Prot_50",
                r"USB\Class_08&SubClass_06",
                r"USB\Class_08",
            ]
        );
        let (_, compat_old) = ladder_of(&old, r"USB\VID_0781&PID_5580&REV_0010");
        assert_eq!(compat_old, &compat[3..]);
        // Only USB device nodes change: usbccgp children, PCI and the rest are equal.
        for (a, b) in old.devices.iter().zip(&new.devices) {
            assert_eq!(a.hardware_ids, b.hardware_ids);
            let changed = a.compatible_ids != b.compatible_ids;
            let usb_node = a.bus == Bus::Usb && !a.hardware_ids[0].contains("&MI_");
            assert!(!changed || usb_node, "{} changed", a.instance_id);
        }
        assert!(new.source.contains("build 22631"), "{}", new.source);
        // On the EHCI buses usbhub.sys builds the lists, with its COMPAT_VID forms from the same
        // builds (UsbhBuildVendorSpecificCompatibleIDs: absent in 11-21H2/usbhub, called from
        // 11-23H2/usbhub on): the Genesys hub gets them before its class triple, and the Canon
        // composite's end `&Prot_00` — usbhub.sys appends `&Prot_nn` with a zero protocol, where
        // usbhub3 writes `Prot00`.
        let (_, compat) = ladder_of(&new, r"USB\VID_05E3&PID_0608&REV_7764");
        assert_eq!(
            compat,
            [
                r"USB\COMPAT_VID_05E3&Class_09&SubClass_00&Prot_01",
                r"USB\COMPAT_VID_05E3&Class_09&SubClass_00",
                r"USB\COMPAT_VID_05E3&Class_09",
                r"USB\Class_09&SubClass_00&Prot_01",
                r"USB\Class_09&SubClass_00",
                r"USB\Class_09",
            ]
        );
        let (_, compat) = ladder_of(&new, r"USB\VID_04A9&PID_1890&REV_0102");
        assert_eq!(
            compat,
            [
                r"USB\COMPAT_VID_04A9&DevClass_00&SubClass_00&Prot_00",
                r"USB\COMPAT_VID_04A9&DevClass_00&SubClass_00",
                r"USB\COMPAT_VID_04A9&DevClass_00",
                r"USB\DevClass_00&SubClass_00&Prot_00",
                r"USB\DevClass_00&SubClass_00",
                r"USB\DevClass_00",
                r"USB\COMPOSITE",
            ]
        );
        // The laptop's IAD webcam 04CA:703C (EF/02/01), a composite parent: usbhub3 writes the
        // literal DevClass_00 forms whatever the device class.
        let laptop = scan_for(
            &root.join("laptop-thinkpad-t450"),
            LadderTarget::for_build(26100),
        )
        .expect("scans");
        let (_, compat) = ladder_of(&laptop, r"USB\VID_04CA&PID_703C&REV_0017");
        assert_eq!(
            compat,
            [
                r"USB\COMPAT_VID_04CA&DevClass_00&SubClass_00&Prot00",
                r"USB\COMPAT_VID_04CA&DevClass_00&SubClass_00",
                r"USB\COMPAT_VID_04CA&DevClass_00",
                r"USB\DevClass_00&SubClass_00&Prot_00",
                r"USB\DevClass_00&SubClass_00",
                r"USB\DevClass_00",
                r"USB\COMPOSITE",
            ]
        );
    }

    /// Writes the attribute files of a full-speed/high-speed hub (class 09/00/01, single TT) with
    /// its one hub interface into `dir` and `dir:1.0` (as the kernel names them).
    fn write_hub(dir: &Path, vendor: &str, product: &str) {
        let attrs = [
            ("idVendor", vendor),
            ("idProduct", product),
            ("bcdDevice", "7764"),
            ("bDeviceClass", "09"),
            ("bDeviceSubClass", "00"),
            ("bDeviceProtocol", "01"),
            ("bNumConfigurations", "1"),
        ];
        fs_err::create_dir_all(dir).expect("mkdir");
        for (name, value) in attrs {
            fs_err::write(dir.join(name), format!("{value}\n")).expect("write");
        }
        let intf = dir.with_file_name(format!(
            "{}:1.0",
            dir.file_name().and_then(|n| n.to_str()).expect("name")
        ));
        fs_err::create_dir_all(&intf).expect("mkdir");
        for (name, value) in [
            ("bInterfaceNumber", "00"),
            ("bInterfaceClass", "09"),
            ("bInterfaceSubClass", "00"),
            ("bInterfaceProtocol", "00"),
        ] {
            fs_err::write(intf.join(name), format!("{value}\n")).expect("write");
        }
    }

    /// The compatible IDs usbhub.sys gives a single-TT hub (class 09/00/01): its class triple
    /// (decompiled UsbhBuildClassCompatibleID, 11-21H2 … 11-25H2/usbhub; [WDD] usbcon/usb-3-0-
    /// driver-stack-architecture.md: EHCI/OHCI/UHCI buses). usbhub3 (xHCI) gives the one ID
    /// `USB\USB20_HUB` instead (decompiled HUBID_BuildHubCompatibleID).
    const USBHUB_HUB_IDS: [&str; 3] = [
        r"USB\Class_09&SubClass_00&Prot_01",
        r"USB\Class_09&SubClass_00",
        r"USB\Class_09",
    ];

    /// The compatible IDs of the hub 05E3:0608 written by [`write_hub`] in the tree at `root`.
    fn hub_ids(root: &Path) -> Vec<String> {
        let inv = scan(root).expect("scans");
        ladder_of(&inv, r"USB\VID_05E3&PID_0608&REV_7764")
            .1
            .to_vec()
    }

    /// A live-style tree: bus/usb/devices/2-1.4 is a symlink into the device hierarchy, and the
    /// controller is the PCI function above it. Unix only: the tree needs symlinks.
    #[cfg(unix)]
    #[test]
    fn usb_stack_from_the_pci_function_above_a_live_device() {
        // `class` 0x0c0320, EHCI.
        let live = tempfile::tempdir().expect("tempdir");
        let pci = live.path().join("devices/pci0000:00/0000:00:1d.0");
        let dev = pci.join("usb2/2-1/2-1.4");
        write_hub(&dev, "05e3", "0608");
        fs_err::write(pci.join("class"), "0x0c0320\n").expect("write");
        let links = live.path().join("bus/usb/devices");
        fs_err::create_dir_all(&links).expect("mkdir");
        for name in ["2-1.4", "2-1.4:1.0"] {
            std::os::unix::fs::symlink(
                format!("../../../devices/pci0000:00/0000:00:1d.0/usb2/2-1/{name}"),
                links.join(name),
            )
            .expect("symlink");
        }
        assert_eq!(hub_ids(live.path()), USBHUB_HUB_IDS);
        // The same hub under an OHCI (0C0310) or UHCI (0C0300): the USB 2.0 stack too.
        for class in ["0x0c0310", "0x0c0300"] {
            fs_err::write(pci.join("class"), class).expect("write");
            assert_eq!(hub_ids(live.path()), USBHUB_HUB_IDS, "{class}");
        }
        // Under an xHCI (0C0330): usbhub3.
        fs_err::write(pci.join("class"), "0x0c0330\n").expect("write");
        assert_eq!(hub_ids(live.path()), [r"USB\USB20_HUB"]);
    }

    #[test]
    fn usb_stack_from_the_controller_of_the_bus() {
        // A hub's compatible IDs show which hub driver Windows would use (USBHUB_HUB_IDS for
        // usbhub.sys, `USB\USB20_HUB` for usbhub3). For a live tree whose device paths lead to
        // the controller, see usb_stack_from_the_pci_function_above_a_live_device.
        let usbhub = USBHUB_HUB_IDS;

        // 1. A flat tree (as the fixtures): the root hub usb3's `serial` names the controller,
        // whose class decides — and it outranks the root hub's descriptor, which here says
        // xHCI (1d6b:0002 with the single-TT protocol 1).
        let flat = tempfile::tempdir().expect("tempdir");
        let devices = flat.path().join("bus/usb/devices");
        write_hub(&devices.join("3-2"), "05e3", "0608");
        let root_hub = devices.join("usb3");
        write_hub(&root_hub, "1d6b", "0002");
        fs_err::write(root_hub.join("serial"), "0000:00:1a.0\n").expect("write");
        let ctl = flat.path().join("bus/pci/devices/0000:00:1a.0");
        fs_err::create_dir_all(&ctl).expect("mkdir");
        fs_err::write(ctl.join("class"), "0x0c0320\n").expect("write");
        assert_eq!(hub_ids(flat.path()), usbhub);
        // 2. Without the serial, the descriptor: protocol 1 is the xHCI's USB 2 root hub.
        fs_err::remove_file(root_hub.join("serial")).expect("rm");
        assert_eq!(hub_ids(flat.path()), [r"USB\USB20_HUB"]);
        // 1d6b:0001 is a USB 1.1 root hub (OHCI/UHCI): usbhub.sys.
        fs_err::write(root_hub.join("idProduct"), "0001\n").expect("write");
        assert_eq!(hub_ids(flat.path()), usbhub);
        // The root hub itself is never listed.
        assert!(
            scan(flat.path())
                .expect("scans")
                .devices
                .iter()
                .all(|d| !d.hardware_ids[0].contains("VID_1D6B"))
        );
    }

    /// Unix only: the tree needs the kernel's bus symlink (and record.sh runs under bash).
    #[cfg(unix)]
    #[test]
    fn hdaudio_codec_under_its_controller() {
        // The codec values of a public alsa-info dump (github.com/markc-attic/alsa issue #3,
        // 2014, a Gigabyte desktop): card 1 is the controller 0000:00:1b.0 (`/dev/snd/by-path`
        // `pci-0000:00:1b.0 -> ../controlC1`; `lspci`: Intel 8c20, rev 05) and its codec at
        // address 2 is `Realtek ALC887-VD`, `AFG Function Id: 0x1`, `Vendor Id: 0x10ec0887`,
        // `Subsystem Id: 0x1458a002`, `Revision Id: 0x100302`. Laid out as the kernel does
        // (the codec inside the controller's directory, bus/hdaudio/devices a symlink to it).
        let dir = tempfile::tempdir().expect("tempdir");
        let ctl = dir.path().join("bus/pci/devices/0000:00:1b.0");
        let codec = ctl.join("hdaudioC1D2");
        fs_err::create_dir_all(&codec).expect("mkdir");
        for (n, v) in [
            ("vendor", "0x8086"),
            ("device", "0x8c20"),
            ("subsystem_vendor", "0x1458"),
            ("subsystem_device", "0xa002"),
            ("class", "0x040300"),
            ("revision", "0x05"),
        ] {
            fs_err::write(ctl.join(n), format!("{v}\n")).expect("write");
        }
        for (n, v) in [
            ("type", "0x1"),
            ("vendor_id", "0x10ec0887"),
            ("subsystem_id", "0x1458a002"),
            ("revision_id", "0x100302"),
        ] {
            fs_err::write(codec.join(n), format!("{v}\n")).expect("write");
        }
        let link = dir.path().join("bus/hdaudio/devices");
        fs_err::create_dir_all(&link).expect("mkdir");
        std::os::unix::fs::symlink(
            "../../pci/devices/0000:00:1b.0/hdaudioC1D2",
            link.join("hdaudioC1D2"),
        )
        .expect("symlink");
        let inv = scan(dir.path()).expect("scans");
        // windows-driver-internals.md §4.3 ([WDD] install/identifiers-for-hdaudio-devices.md and
        // the real 2 + 13 list there): FUNC_01 = function group 1, VEN/DEV = vendor_id halves,
        // SUBSYS = subsystem_id, REV = revision bits 23:8 (0x100302 -> 1003), CTLR_ = the parent
        // PCI controller. The REV_ mapping now has a second real pair besides §4.3's ALC236
        // (0x100002 -> REV_1000): a Windows 8.1 device report (DEVPKEY listing, driver
        // 6.3.9600) of a Gigabyte board with this very codec and subsystem shows
        // `HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&SUBSYS_1458A002&REV_1003`.
        let d = find(
            &inv,
            r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&SUBSYS_1458A002&REV_1003",
        );
        assert_eq!(d.bus, Bus::HdAudio);
        same(
            &d.hardware_ids,
            &[
                r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&SUBSYS_1458A002&REV_1003",
                r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&SUBSYS_1458A002",
            ],
        );
        same(
            &d.compatible_ids,
            &[
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&CTLR_DEV_8C20&VEN_10EC&DEV_0887&REV_1003",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&VEN_10EC&DEV_0887&REV_1003",
                r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&REV_1003",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&CTLR_DEV_8C20&VEN_10EC&DEV_0887",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&VEN_10EC&DEV_0887",
                r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&CTLR_DEV_8C20&VEN_10EC",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&VEN_10EC",
                r"HDAUDIO\FUNC_01&VEN_10EC",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086&CTLR_DEV_8C20",
                r"HDAUDIO\FUNC_01&CTLR_VEN_8086",
                r"HDAUDIO\FUNC_01&GF&VEN_10EC&DEV_0887&SUBSYS_1458A002&REV_1003",
                r"HDAUDIO\FUNC_01",
            ],
        );
        assert_eq!(d.location.as_deref(), Some("hdaudioC1D2"));
        // record.sh keeps the codec inside its controller with the bus symlink (the fixture
        // trees from probe dumps have no codecs, so this is its only codec check).
        let rec = tempfile::tempdir().expect("tempdir");
        let status = std::process::Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sysfs/record.sh"))
            .arg(dir.path())
            .arg(rec.path())
            .status()
            .expect("run record.sh");
        assert!(status.success());
        assert_eq!(scan(rec.path()).expect("scans").devices, inv.devices);
        // A codec whose parent is not a PCI function loses only the CTLR_ forms, with a warning.
        fs_err::remove_file(ctl.join("vendor")).expect("rm");
        let inv = scan(dir.path()).expect("scans");
        let d = find(
            &inv,
            r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0887&SUBSYS_1458A002&REV_1003",
        );
        assert_eq!(d.compatible_ids.len(), 5);
        assert!(d.compatible_ids.iter().all(|c| !c.contains("CTLR_")));
        assert!(
            inv.warnings
                .iter()
                .any(|w| w.contains("CTLR_ IDs left out")),
            "{:?}",
            inv.warnings
        );
    }
    #[test]
    fn pcie_config_space_adds_the_dt_ids() {
        // A PCI Express root port laid out as sysfs shows it, the VMware port 15AD:07A0 of a
        // Win32_PnPEntity dump whose CompatibleID list carries `PCI\CC_060400&DT_4` and
        // `PCI\CC_0604&DT_4` (ladder::pci_express_ids cites it): `config` with the capability
        // list bit, pointer 0x40 → PCI Express capability, Capabilities register 0x0042.
        let dir = tempfile::tempdir().expect("tempdir");
        let dev = dir.path().join("bus/pci/devices/0000:00:15.0");
        fs_err::create_dir_all(&dev).expect("mkdir");
        for (n, v) in [
            ("vendor", "0x15ad"),
            ("device", "0x07a0"),
            ("subsystem_vendor", "0x15ad"),
            ("subsystem_device", "0x07a0"),
            ("class", "0x060400"),
            ("revision", "0x01"),
        ] {
            fs_err::write(dev.join(n), format!("{v}\n")).expect("write");
        }
        let mut cfg = vec![0u8; 256];
        cfg[6] = 0x10;
        cfg[0x34] = 0x40;
        cfg[0x40] = 0x10;
        cfg[0x42] = 0x42;
        fs_err::write(dev.join("config"), &cfg).expect("write");
        let inv = scan(dir.path()).expect("scans");
        let (hw, compat) = ladder_of(&inv, r"PCI\VEN_15AD&DEV_07A0&SUBSYS_07A015AD&REV_01");
        assert_eq!(hw.len(), 4, "no DT_ among the hardware IDs");
        same(
            compat,
            &[
                r"PCI\VEN_15AD&DEV_07A0&REV_01",
                r"PCI\VEN_15AD&DEV_07A0",
                r"PCI\VEN_15AD&CC_060400",
                r"PCI\VEN_15AD&CC_0604",
                r"PCI\VEN_15AD",
                r"PCI\CC_060400&DT_4",
                r"PCI\CC_060400",
                r"PCI\CC_0604&DT_4",
                r"PCI\CC_0604",
            ],
        );
        // What an unprivileged read of `config` gives (64 bytes): no type, the 7-ID ladder.
        fs_err::write(dev.join("config"), &cfg[..64]).expect("write");
        let inv = scan(dir.path()).expect("scans");
        let (_, compat) = ladder_of(&inv, r"PCI\VEN_15AD&DEV_07A0&SUBSYS_07A015AD&REV_01");
        assert_eq!(compat.len(), 7);
    }

    /// A PCI function directory with its attributes and a 256-byte `config` whose PCI Express
    /// capability (at 0x40) has the register byte `reg` (version in bits 3:0, type in 7:4);
    /// `secondary`: a type-1 header with that secondary bus.
    fn write_pcie_function(dir: &Path, ids: [&str; 6], reg: u8, secondary: Option<u8>) -> PathBuf {
        fs_err::create_dir_all(dir).expect("mkdir");
        let names = [
            "vendor",
            "device",
            "subsystem_vendor",
            "subsystem_device",
            "class",
            "revision",
        ];
        for (n, v) in names.iter().zip(ids) {
            fs_err::write(dir.join(n), format!("{v}\n")).expect("write");
        }
        let mut cfg = vec![0u8; 256];
        cfg[6] = 0x10;
        cfg[0x34] = 0x40;
        cfg[0x40] = 0x10;
        cfg[0x42] = reg;
        if let Some(sec) = secondary {
            cfg[0x0E] = 1;
            cfg[0x19] = sec;
        }
        fs_err::write(dir.join("config"), &cfg).expect("write");
        dir.to_path_buf()
    }

    /// The `DT_` IDs among the compatible IDs of the function whose first hardware ID is `hw0`.
    fn dt_of(inv: &Inventory, hw0: &str) -> Vec<String> {
        find(inv, hw0)
            .compatible_ids
            .iter()
            .filter(|c| c.contains("&DT_"))
            .cloned()
            .collect()
    }

    /// The Wi-Fi 7265 of the laptop tree (8086:095B rev 59, subsystem 8086:5210, class 028000;
    /// its `[40] Express (v2) Endpoint`, source T of core/fixtures/sysfs/README.md).
    const WIFI_7265: [&str; 6] = ["0x8086", "0x095b", "0x8086", "0x5210", "0x028000", "0x59"];
    const WIFI_7265_HW0: &str = r"PCI\VEN_8086&DEV_095B&SUBSYS_52108086&REV_59";

    #[test]
    fn flat_tree_without_the_parent_bridge_keeps_the_endpoint_dt() {
        // A flat tree holding one function (a copied `bus/pci/devices/0000:03:00.0`): its bridge
        // is not there, so pci.sys's topology check cannot be applied and the Endpoint keeps the
        // DT_0 Windows lists for it behind its root port (README's laptop 03:00.0 row;
        // ladder::pci_parent_among).
        let dir = tempfile::tempdir().expect("tempdir");
        let pci = dir.path().join("bus/pci/devices");
        write_pcie_function(&pci.join("0000:03:00.0"), WIFI_7265, 0x02, None);
        let inv = scan(dir.path()).expect("scans");
        same(
            &dt_of(&inv, WIFI_7265_HW0),
            &[r"PCI\CC_028000&DT_0", r"PCI\CC_0280&DT_0"],
        );
        // On bus 00 it is known to sit on a root bus: an Endpoint there fails
        // ExpressValidateFabricTopology (pci.sys expressport.c, ladder::express_port_type).
        fs_err::rename(pci.join("0000:03:00.0"), pci.join("0000:00:19.0")).expect("rename");
        let inv = scan(dir.path()).expect("scans");
        assert_eq!(dt_of(&inv, WIFI_7265_HW0), Vec::<String>::new());
        // So it does on the bus of a host bridge (class 0600) of the tree (synthetic IDs).
        fs_err::rename(pci.join("0000:00:19.0"), pci.join("0000:40:07.0")).expect("rename");
        let host = pci.join("0000:40:00.0");
        fs_err::create_dir_all(&host).expect("mkdir");
        for (n, v) in [
            ("vendor", "0x1022"),
            ("device", "0x1480"),
            ("subsystem_vendor", "0x0000"),
            ("subsystem_device", "0x0000"),
            ("class", "0x060000"),
            ("revision", "0x00"),
        ] {
            fs_err::write(host.join(n), format!("{v}\n")).expect("write");
        }
        let inv = scan(dir.path()).expect("scans");
        assert_eq!(dt_of(&inv, WIFI_7265_HW0), Vec::<String>::new());
    }

    #[test]
    fn five_digit_vmd_domains_place_a_function_behind_its_root_port() {
        // Intel VMD domains are 10000 and up, and the kernel names their functions
        // `10000:e1:00.0` (drivers/pci/probe.c "%04x:%02x:%02x.%d"; ladder::PciSlot). A flat
        // tree of a root port 10000:e0:06.0 (secondary bus e1) and two endpoints on bus e1
        // (synthetic IDs): the one at device 0 passes pci.sys's check (DT_0), the one at
        // device 3 needs ARI forwarding its port lacks (no DT_), the port on the VMD root bus
        // e0 has no parent in the tree (DT_4, unchecked).
        // The names themselves: functions (`dddd:bb:dd.f`, any domain width from 4) and root
        // buses (`pci<domain>:<bus>`).
        assert!(is_pci_name("10000:e0:06.0") && is_pci_name("0000:00:1c.5"));
        assert!(!is_pci_name("e0:06.0") && !is_pci_name("pci10000:e0"));
        assert!(is_root_bus_name("pci10000:e0") && is_root_bus_name("pci0000:00"));
        assert!(!is_root_bus_name("pci_bus") && !is_root_bus_name("pci10000"));
        let dir = tempfile::tempdir().expect("tempdir");
        let pci = dir.path().join("bus/pci/devices");
        let port = ["0x8086", "0x09ab", "0x0000", "0x0000", "0x060400", "0x00"];
        let nvme = |dev: &'static str| ["0x144d", dev, "0x144d", "0xa801", "0x010802", "0x00"];
        write_pcie_function(&pci.join("10000:e0:06.0"), port, 0x42, Some(0xE1));
        write_pcie_function(&pci.join("10000:e1:00.0"), nvme("0xa808"), 0x02, None);
        write_pcie_function(&pci.join("10000:e1:03.0"), nvme("0xa809"), 0x02, None);
        let inv = scan(dir.path()).expect("scans");
        same(
            &dt_of(&inv, r"PCI\VEN_144D&DEV_A808&SUBSYS_A801144D&REV_00"),
            &[r"PCI\CC_010802&DT_0", r"PCI\CC_0108&DT_0"],
        );
        assert_eq!(
            dt_of(&inv, r"PCI\VEN_144D&DEV_A809&SUBSYS_A801144D&REV_00"),
            Vec::<String>::new()
        );
        assert_eq!(
            dt_of(&inv, r"PCI\VEN_8086&DEV_09AB&SUBSYS_00000000&REV_00").len(),
            2
        );
    }

    #[cfg(unix)]
    #[test]
    fn live_tree_under_vmd_reads_the_five_digit_names() {
        // The real paths of a live /sys under Intel VMD (synthetic IDs as above): the root port
        // directly under `pci10000:e0` (drivers/pci/probe.c "pci%04x:%02x") is on a root bus
        // (DT_4), the endpoint under `10000:e0:06.0` is behind that port (DT_0); the
        // bus/pci/devices entries are symlinks, as the kernel makes them.
        let dir = tempfile::tempdir().expect("tempdir");
        let vmd = dir
            .path()
            .join("devices/pci0000:00/0000:00:0e.0/pci10000:e0");
        let port = write_pcie_function(
            &vmd.join("10000:e0:06.0"),
            ["0x8086", "0x09ab", "0x0000", "0x0000", "0x060400", "0x00"],
            0x42,
            Some(0xE1),
        );
        let nvme = write_pcie_function(
            &port.join("10000:e1:00.0"),
            ["0x144d", "0xa808", "0x144d", "0xa801", "0x010802", "0x00"],
            0x02,
            None,
        );
        // Beside them, an Endpoint at device 3 of bus e1 (its port forwards no ARI: no DT_) and
        // one directly on the root bus e0 (an Endpoint there fails the check: no DT_) — both
        // would keep DT_0 were their parents read as unknown.
        let off_device_0 = write_pcie_function(
            &port.join("10000:e1:03.0"),
            ["0x144d", "0xa809", "0x144d", "0xa801", "0x010802", "0x00"],
            0x02,
            None,
        );
        let on_root_bus = write_pcie_function(
            &vmd.join("10000:e0:17.0"),
            ["0x144d", "0xa80a", "0x144d", "0xa801", "0x010802", "0x00"],
            0x02,
            None,
        );
        let pci = dir.path().join("bus/pci/devices");
        fs_err::create_dir_all(&pci).expect("mkdir");
        for (target, name) in [
            (&port, "10000:e0:06.0"),
            (&nvme, "10000:e1:00.0"),
            (&off_device_0, "10000:e1:03.0"),
            (&on_root_bus, "10000:e0:17.0"),
        ] {
            std::os::unix::fs::symlink(target, pci.join(name)).expect("symlink");
        }
        let inv = scan(dir.path()).expect("scans");
        for dev in ["A809", "A80A"] {
            let hw0 = format!(r"PCI\VEN_144D&DEV_{dev}&SUBSYS_A801144D&REV_00");
            assert_eq!(dt_of(&inv, &hw0), Vec::<String>::new(), "{dev}");
        }
        same(
            &dt_of(&inv, r"PCI\VEN_8086&DEV_09AB&SUBSYS_00000000&REV_00"),
            &[r"PCI\CC_060400&DT_4", r"PCI\CC_0604&DT_4"],
        );
        same(
            &dt_of(&inv, r"PCI\VEN_144D&DEV_A808&SUBSYS_A801144D&REV_00"),
            &[r"PCI\CC_010802&DT_0", r"PCI\CC_0108&DT_0"],
        );
    }

    #[test]
    fn acpi_class_code_and_linux_synthetic_ids_in_the_modalias() {
        // Linux lists _HID, _CIDs, the _CLS string, then synthetic IDs (drivers/acpi/scan.c
        // acpi_set_pnp_ids). An ACPI AHCI controller (AMDI0600, _CLS 01/06/01) and a video
        // device with Linux's LNXVIDEO.
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, hid, modalias) in [
            ("AMDI0600:00", "AMDI0600", "acpi:AMDI0600:010601:"),
            ("PNP0A03:00", "PNP0A03", "acpi:PNP0A03:LNXVIDEO:"),
        ] {
            let dev = dir.path().join("bus/acpi/devices").join(name);
            fs_err::create_dir_all(&dev).expect("mkdir");
            fs_err::write(dev.join("hid"), format!("{hid}\n")).expect("write");
            fs_err::write(dev.join("modalias"), format!("{modalias}\n")).expect("write");
        }
        let inv = scan(dir.path()).expect("scans");
        let ahci = find(&inv, r"ACPI\VEN_AMDI&DEV_0600");
        // The _CLS gives acpi.sys's class forms (ladder::acpi_ids_with_class; decompiled
        // ACPIBusIrpQueryCompatibleId, 11-21H2/acpi and later), among them the INF form
        // `ACPI\CLS_0001&SUBCLS_0006` — never `ACPI\010601` from the modalias string.
        assert_eq!(
            ahci.compatible_ids,
            [
                r"ACPI\VEN_AMDI&CLS_0001&SUBCLS_0006&PI_01",
                r"ACPI\VEN_AMDI&CLS_0001&SUBCLS_0006",
                r"ACPI\VEN_AMDI",
                r"ACPI\CLS_0001&SUBCLS_0006&PI_01",
                r"ACPI\CLS_0001&SUBCLS_0006",
            ]
        );
        let video = find(&inv, r"ACPI\VEN_PNP&DEV_0A03");
        assert!(
            video.compatible_ids.is_empty(),
            "{:?}",
            video.compatible_ids
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
