//! ID ladders: the ordered hardware and compatible IDs Windows' bus drivers report for a device,
//! built from the raw descriptor values (pure functions; the sources feed them).
//!
//! Each builder cites the Windows list it reproduces (`../shared/reference/windows-driver-internals.md` §4).

/// A PCI function's configuration-space identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciFunction {
    pub vendor: u16,
    pub device: u16,
    pub subsys_vendor: u16,
    pub subsys_device: u16,
    /// base class << 16 | subclass << 8 | prog-if
    pub class: u32,
    pub revision: u8,
}

/// PCI IDs as Windows 10/11 reports them (pci.sys).
///
/// Reproduces the `devcon hwids` capture in windows-driver-internals.md §4.1 / inf-behaviour.md §J
/// (`PCI\VEN_8086&DEV_2FE1…`): four hardware IDs (`SUBSYS&REV`, `SUBSYS`, `CC_ccsspp`, `CC_ccss`)
/// and seven compatible IDs (`REV`, bare, `VEN&CC_ccsspp`, `VEN&CC_ccss`, `VEN`, `CC_ccsspp`,
/// `CC_ccss`). `SUBSYS_` is the subsystem *device* ID followed by the subsystem vendor ID, and is
/// emitted even when both are zero (`SUBSYS_00000000`, as the same devcon capture shows for
/// `PCI\VEN_8086&DEV_2FBD&SUBSYS_00000000`). The PCIe-only `DT_` forms of the documentation do not
/// appear in the Windows 10 captures and are not emitted.
pub fn pci_ids(f: &PciFunction) -> (Vec<String>, Vec<String>) {
    let ven = format!("PCI\\VEN_{:04X}", f.vendor);
    let vd = format!("{ven}&DEV_{:04X}", f.device);
    let subsys = format!("{vd}&SUBSYS_{:04X}{:04X}", f.subsys_device, f.subsys_vendor);
    let rev = format!("&REV_{:02X}", f.revision);
    let cc6 = format!("CC_{:06X}", f.class & 0xFF_FFFF);
    let cc4 = format!("CC_{:04X}", (f.class >> 8) & 0xFFFF);
    let hw = vec![
        format!("{subsys}{rev}"),
        subsys,
        format!("{vd}&{cc6}"),
        format!("{vd}&{cc4}"),
    ];
    let compat = vec![
        format!("{vd}{rev}"),
        vd,
        format!("{ven}&{cc6}"),
        format!("{ven}&{cc4}"),
        ven,
        format!("PCI\\{cc6}"),
        format!("PCI\\{cc4}"),
    ];
    (hw, compat)
}

/// A USB device descriptor (plus the active configuration's interface count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbDevice {
    pub vendor: u16,
    pub product: u16,
    pub bcd_device: u16,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub num_configurations: u8,
}

/// A USB interface descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbInterface {
    pub number: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
}

/// Whether usbccgp (the generic parent) takes the device: several interfaces, one configuration,
/// and a device class of 0 or the IAD triple EF/02/01 (Windows "USB Generic Parent Driver").
pub fn usb_is_composite(dev: &UsbDevice, interfaces: &[UsbInterface]) -> bool {
    let class_ok =
        dev.class == 0 || (dev.class == 0xEF && dev.subclass == 0x02 && dev.protocol == 0x01);
    class_ok && interfaces.len() > 1 && dev.num_configurations <= 1
}

/// IDs of a USB device node (usbhub3/usbhub), windows-driver-internals.md §4.2 and
/// [WDD] `standard-usb-identifiers.md`: hardware `USB\VID_v&PID_p&REV_r`, `USB\VID_v&PID_p`.
/// Compatible: for a composite device `USB\DevClass_cc&SubClass_ss&Prot_pp`, `…&SubClass_ss`,
/// `USB\DevClass_cc`, `USB\COMPOSITE`; otherwise `USB\Class_cc&SubClass_ss&Prot_pp`,
/// `USB\Class_cc&SubClass_ss`, `USB\Class_cc` from the device descriptor, or from the single
/// interface when the device class is 0. Class bytes are printed in lower-case hex as Windows
/// prints them (`USB\Class_e0&SubClass_01&Prot_01`, §4.2); matching ignores case anyway.
pub fn usb_device_ids(dev: &UsbDevice, interfaces: &[UsbInterface]) -> (Vec<String>, Vec<String>) {
    let vp = format!("USB\\VID_{:04X}&PID_{:04X}", dev.vendor, dev.product);
    let hw = vec![format!("{vp}&REV_{:04X}", dev.bcd_device), vp];
    let compat = if usb_is_composite(dev, interfaces) {
        let mut c = class_triple("DevClass", dev.class, dev.subclass, dev.protocol);
        c.push("USB\\COMPOSITE".to_owned());
        c
    } else if dev.class == 0 {
        match interfaces.first() {
            Some(i) => class_triple("Class", i.class, i.subclass, i.protocol),
            None => Vec::new(),
        }
    } else {
        class_triple("Class", dev.class, dev.subclass, dev.protocol)
    };
    (hw, compat)
}

/// An Interface Association Descriptor: interfaces `first .. first + count` form one function
/// (a webcam's video control + streaming interfaces), which usbccgp reports as one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbAssociation {
    pub first: u8,
    pub count: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
}

/// The functions usbccgp creates children for: one per IAD (named by its first interface, with
/// the IAD's function class), and one per interface no IAD covers.
pub fn usb_functions(
    interfaces: &[UsbInterface],
    associations: &[UsbAssociation],
) -> Vec<UsbInterface> {
    let mut out: Vec<UsbInterface> = Vec::new();
    for i in interfaces {
        let iad = associations.iter().find(|a| {
            i.number >= a.first
                && u16::from(i.number) < u16::from(a.first) + u16::from(a.count.max(1))
        });
        match iad {
            Some(a) if out.iter().any(|f| f.number == a.first) => {}
            Some(a) => out.push(UsbInterface {
                number: a.first,
                class: a.class,
                subclass: a.subclass,
                protocol: a.protocol,
            }),
            None => out.push(*i),
        }
    }
    out
}

/// The IADs in a raw `descriptors` blob (device descriptor, then the configuration's
/// descriptors); only the first configuration is read. Malformed lengths end the walk.
pub fn usb_associations(descriptors: &[u8]) -> Vec<UsbAssociation> {
    let mut out = Vec::new();
    let mut pos = 18usize; // skip the device descriptor
    let mut configs = 0;
    while let Some(&len) = descriptors.get(pos) {
        let len = usize::from(len);
        let Some(d) = descriptors.get(pos..pos + len) else {
            break;
        };
        if len < 2 {
            break;
        }
        match d[1] {
            0x02 => {
                configs += 1;
                if configs > 1 {
                    break;
                }
            }
            0x0B if len >= 7 => out.push(UsbAssociation {
                first: d[2],
                count: d[3],
                class: d[4],
                subclass: d[5],
                protocol: d[6],
            }),
            _ => {}
        }
        pos += len;
    }
    out
}

/// IDs of one function of a composite device (usbccgp children), §4.2: hardware
/// `USB\VID_v&PID_p&REV_r&MI_nn`, `USB\VID_v&PID_p&MI_nn`; compatible from the interface
/// descriptor `USB\Class_cc&SubClass_ss&Prot_pp`, `USB\Class_cc&SubClass_ss`, `USB\Class_cc`.
pub fn usb_interface_ids(dev: &UsbDevice, intf: &UsbInterface) -> (Vec<String>, Vec<String>) {
    let vp = format!("USB\\VID_{:04X}&PID_{:04X}", dev.vendor, dev.product);
    let hw = vec![
        format!("{vp}&REV_{:04X}&MI_{:02X}", dev.bcd_device, intf.number),
        format!("{vp}&MI_{:02X}", intf.number),
    ];
    (
        hw,
        class_triple("Class", intf.class, intf.subclass, intf.protocol),
    )
}

fn class_triple(word: &str, class: u8, sub: u8, prot: u8) -> Vec<String> {
    vec![
        format!("USB\\{word}_{class:02x}&SubClass_{sub:02x}&Prot_{prot:02x}"),
        format!("USB\\{word}_{class:02x}&SubClass_{sub:02x}"),
        format!("USB\\{word}_{class:02x}"),
    ]
}

/// An HD Audio codec function group and its controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HdaCodec {
    /// Function group type (1 = audio, 2 = modem).
    pub function: u8,
    /// Vendor (high 16 bits) and device (low 16 bits).
    pub vendor_id: u32,
    pub subsystem_id: u32,
    /// The 32-bit revision ID as Linux prints it (`0x100002`).
    pub revision_id: u32,
    /// The PCI controller's vendor and device.
    pub controller: Option<(u16, u16)>,
}

impl HdaCodec {
    /// Windows' 4-digit `REV_`: bits 23:8 of the revision ID (spec major, spec minor, vendor
    /// revision), dropping the stepping byte. [WDD] `identifiers-for-hdaudio-devices.md` lays the
    /// field out as 31:24 reserved, 23:20 major, 19:16 minor, 15:8 revision, 7:0 stepping; the
    /// real list in §4.3 shows `REV_1000` for an ALC236 (Linux revision 0x100002).
    pub fn windows_rev(&self) -> u16 {
        ((self.revision_id >> 8) & 0xFFFF) as u16
    }
}

/// HD Audio IDs (hdaudbus.sys), the exact 2 + 13 list of windows-driver-internals.md §4.3
/// (a real setupapi.dev.log): hardware `FUNC&VEN&DEV&SUBSYS&REV`, `FUNC&VEN&DEV&SUBSYS`;
/// compatible IDs going from `CTLR_VEN&CTLR_DEV&VEN&DEV&REV` down to bare `FUNC_01`, including
/// the `&GF&` form Windows inserts before the last one. Without a known controller the
/// `CTLR_` forms are left out.
pub fn hdaudio_ids(c: &HdaCodec) -> (Vec<String>, Vec<String>) {
    let func = format!("HDAUDIO\\FUNC_{:02X}", c.function);
    let ven = format!("VEN_{:04X}", c.vendor_id >> 16);
    let dev = format!("DEV_{:04X}", c.vendor_id & 0xFFFF);
    let subsys = format!("SUBSYS_{:08X}", c.subsystem_id);
    let rev = format!("REV_{:04X}", c.windows_rev());
    let hw = vec![
        format!("{func}&{ven}&{dev}&{subsys}&{rev}"),
        format!("{func}&{ven}&{dev}&{subsys}"),
    ];
    let mut compat = Vec::new();
    let ctlr = c
        .controller
        .map(|(v, d)| (format!("CTLR_VEN_{v:04X}"), format!("CTLR_DEV_{d:04X}")));
    // Levels of codec detail, most specific first; for each, controller vendor+device, vendor only, none.
    for tail in [
        format!("{ven}&{dev}&{rev}"),
        format!("{ven}&{dev}"),
        ven.clone(),
    ] {
        if let Some((cv, cd)) = &ctlr {
            compat.push(format!("{func}&{cv}&{cd}&{tail}"));
            compat.push(format!("{func}&{cv}&{tail}"));
        }
        compat.push(format!("{func}&{tail}"));
    }
    if let Some((cv, cd)) = &ctlr {
        compat.push(format!("{func}&{cv}&{cd}"));
        compat.push(format!("{func}&{cv}"));
    }
    compat.push(format!("{func}&GF&{ven}&{dev}&{subsys}&{rev}"));
    compat.push(func);
    (hw, compat)
}

/// ACPI IDs (acpi.sys) from `_HID` and `_CID`, windows-driver-internals.md §4.4: hardware
/// `ACPI\VEN_vvv&DEV_dddd` (only when the HID has the PNP `AAA####` or ACPI `AAAA####` shape),
/// `ACPI\<HID>`, `*<HID>`; compatible `ACPI\<CID>`, `*<CID>` for each `_CID` in order.
/// Linux's fixed power button `LNXPWRBN` is Windows' `ACPI\FixedButton` (the device of
/// inf-behaviour.md §J, `ACPI\FIXEDBUTTON\2&DABA3FF&0`).
pub fn acpi_ids(hid: &str, cids: &[String]) -> (Vec<String>, Vec<String>) {
    let hid = if hid.eq_ignore_ascii_case("LNXPWRBN") {
        "FixedButton"
    } else {
        hid
    };
    let mut hw = Vec::new();
    if let Some((v, d)) = split_pnp_id(hid) {
        hw.push(format!("ACPI\\VEN_{v}&DEV_{d}"));
    }
    hw.push(format!("ACPI\\{hid}"));
    hw.push(format!("*{hid}"));
    let mut compat = Vec::new();
    for cid in cids {
        compat.push(format!("ACPI\\{cid}"));
        compat.push(format!("*{cid}"));
    }
    (hw, compat)
}

/// `PNP0A08` → (`PNP`, `0A08`); `ACPI0013` → (`ACPI`, `0013`); anything else → None.
fn split_pnp_id(id: &str) -> Option<(&str, &str)> {
    let b = id.as_bytes();
    let vendor_len = match b.len() {
        7 => 3,
        8 => 4,
        _ => return None,
    };
    let (v, d) = id.split_at(vendor_len);
    let vendor_ok = v
        .bytes()
        .all(|c| c.is_ascii_uppercase() || (vendor_len == 4 && c.is_ascii_digit()));
    let dev_ok = d.bytes().all(|c| c.is_ascii_hexdigit());
    (vendor_ok && dev_ok).then_some((v, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hwid::id_eq;

    fn same(actual: &[String], expected: &[&str]) {
        assert_eq!(actual.len(), expected.len(), "{actual:#?}");
        for (a, e) in actual.iter().zip(expected) {
            assert!(id_eq(a, e), "{a} != {e}");
        }
    }

    #[test]
    fn pci_ladder_matches_the_windows_10_devcon_capture() {
        // inf-behaviour.md §J / windows-driver-internals.md §4.1: `devcon hwids` on Windows 10.
        let (hw, compat) = pci_ids(&PciFunction {
            vendor: 0x8086,
            device: 0x2FE1,
            subsys_vendor: 0x8086,
            subsys_device: 0x2FE1,
            class: 0x088000,
            revision: 0x02,
        });
        same(
            &hw,
            &[
                r"PCI\VEN_8086&DEV_2FE1&SUBSYS_2FE18086&REV_02",
                r"PCI\VEN_8086&DEV_2FE1&SUBSYS_2FE18086",
                r"PCI\VEN_8086&DEV_2FE1&CC_088000",
                r"PCI\VEN_8086&DEV_2FE1&CC_0880",
            ],
        );
        same(
            &compat,
            &[
                r"PCI\VEN_8086&DEV_2FE1&REV_02",
                r"PCI\VEN_8086&DEV_2FE1",
                r"PCI\VEN_8086&CC_088000",
                r"PCI\VEN_8086&CC_0880",
                r"PCI\VEN_8086",
                r"PCI\CC_088000",
                r"PCI\CC_0880",
            ],
        );
        // Exact spelling too: Windows prints upper-case hex.
        assert_eq!(hw[0], r"PCI\VEN_8086&DEV_2FE1&SUBSYS_2FE18086&REV_02");
    }

    #[test]
    fn pci_subsys_is_subdevice_then_subvendor() {
        // windows-driver-internals.md §4.1: virtio-blk SUBSYS_00021AF4 = subdevice 0002, subvendor 1AF4.
        let (hw, _) = pci_ids(&PciFunction {
            vendor: 0x1AF4,
            device: 0x1001,
            subsys_vendor: 0x1AF4,
            subsys_device: 0x0002,
            class: 0x010000,
            revision: 0,
        });
        assert_eq!(hw[0], r"PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00");
        assert_eq!(hw[2], r"PCI\VEN_1AF4&DEV_1001&CC_010000");
    }

    #[test]
    fn hdaudio_ladder_matches_the_real_windows_list() {
        // windows-driver-internals.md §4.3: setupapi.dev.log, ALC236 on an Intel 9CA0 controller.
        let (hw, compat) = hdaudio_ids(&HdaCodec {
            function: 1,
            vendor_id: 0x10EC0236,
            subsystem_id: 0x17AA3808,
            revision_id: 0x100002,
            controller: Some((0x8086, 0x9CA0)),
        });
        same(
            &hw,
            &[
                r"hdaudio\func_01&ven_10ec&dev_0236&subsys_17aa3808&rev_1000",
                r"hdaudio\func_01&ven_10ec&dev_0236&subsys_17aa3808",
            ],
        );
        same(
            &compat,
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
        // hdaudio.inf's rank 0x00ff300c is compatible ID #12 (§3.1): the last entry.
        assert_eq!(compat.len(), 13);
        assert_eq!(compat[12], r"HDAUDIO\FUNC_01");
    }

    #[test]
    fn usb_composite_parent_and_interfaces() {
        let dev = UsbDevice {
            vendor: 0x04F2,
            product: 0xB5D8,
            bcd_device: 0x0017,
            class: 0xEF,
            subclass: 0x02,
            protocol: 0x01,
            num_configurations: 1,
        };
        let intfs = [
            UsbInterface {
                number: 0,
                class: 0x0E,
                subclass: 0x01,
                protocol: 0x00,
            },
            UsbInterface {
                number: 1,
                class: 0x0E,
                subclass: 0x02,
                protocol: 0x00,
            },
        ];
        assert!(usb_is_composite(&dev, &intfs));
        let (hw, compat) = usb_device_ids(&dev, &intfs);
        assert_eq!(
            hw,
            [r"USB\VID_04F2&PID_B5D8&REV_0017", r"USB\VID_04F2&PID_B5D8"]
        );
        assert_eq!(
            compat,
            [
                r"USB\DevClass_ef&SubClass_02&Prot_01",
                r"USB\DevClass_ef&SubClass_02",
                r"USB\DevClass_ef",
                r"USB\COMPOSITE"
            ]
        );
        let (hw, compat) = usb_interface_ids(&dev, &intfs[1]);
        assert_eq!(
            hw,
            [
                r"USB\VID_04F2&PID_B5D8&REV_0017&MI_01",
                r"USB\VID_04F2&PID_B5D8&MI_01"
            ]
        );
        assert_eq!(
            compat,
            [
                r"USB\Class_0e&SubClass_02&Prot_00",
                r"USB\Class_0e&SubClass_02",
                r"USB\Class_0e"
            ]
        );
    }

    #[test]
    fn iad_groups_interfaces_into_one_function() {
        // device descriptor (18 bytes), config descriptor, IAD 0..2 class 0E/03/00, two
        // interfaces, then an interface 2 of class FE outside any IAD.
        let mut blob = vec![18, 1];
        blob.resize(18, 0);
        blob.extend_from_slice(&[9, 2, 0, 0, 3, 1, 0, 0x80, 50]);
        blob.extend_from_slice(&[8, 0x0B, 0, 2, 0x0E, 0x03, 0x00, 0]);
        blob.extend_from_slice(&[9, 4, 0, 0, 1, 0x0E, 1, 0, 0]);
        blob.extend_from_slice(&[9, 4, 1, 0, 0, 0x0E, 2, 0, 0]);
        blob.extend_from_slice(&[9, 4, 2, 0, 0, 0xFE, 1, 1, 0]);
        blob.extend_from_slice(&[0]); // a zero length ends the walk
        let iads = usb_associations(&blob);
        assert_eq!(
            iads,
            [UsbAssociation {
                first: 0,
                count: 2,
                class: 0x0E,
                subclass: 3,
                protocol: 0
            }]
        );
        let intfs = [
            UsbInterface {
                number: 0,
                class: 0x0E,
                subclass: 1,
                protocol: 0,
            },
            UsbInterface {
                number: 1,
                class: 0x0E,
                subclass: 2,
                protocol: 0,
            },
            UsbInterface {
                number: 2,
                class: 0xFE,
                subclass: 1,
                protocol: 1,
            },
        ];
        let f = usb_functions(&intfs, &iads);
        assert_eq!(
            f,
            [
                UsbInterface {
                    number: 0,
                    class: 0x0E,
                    subclass: 3,
                    protocol: 0
                },
                UsbInterface {
                    number: 2,
                    class: 0xFE,
                    subclass: 1,
                    protocol: 1
                }
            ]
        );
        // Truncated blobs never panic.
        assert!(usb_associations(&blob[..30]).is_empty());
        assert!(usb_associations(&[]).is_empty());
    }

    #[test]
    fn usb_single_interface_device_takes_the_interface_class() {
        let dev = UsbDevice {
            vendor: 0x046D,
            product: 0xC077,
            bcd_device: 0x7200,
            class: 0,
            subclass: 0,
            protocol: 0,
            num_configurations: 1,
        };
        let intfs = [UsbInterface {
            number: 0,
            class: 3,
            subclass: 1,
            protocol: 2,
        }];
        assert!(!usb_is_composite(&dev, &intfs));
        let (_, compat) = usb_device_ids(&dev, &intfs);
        assert_eq!(
            compat,
            [
                r"USB\Class_03&SubClass_01&Prot_02",
                r"USB\Class_03&SubClass_01",
                r"USB\Class_03"
            ]
        );
    }

    #[test]
    fn acpi_ids_for_pnp_and_other_hids() {
        let (hw, compat) = acpi_ids("PNP0A08", &["PNP0A03".to_owned()]);
        assert_eq!(hw, [r"ACPI\VEN_PNP&DEV_0A08", r"ACPI\PNP0A08", "*PNP0A08"]);
        assert_eq!(compat, [r"ACPI\PNP0A03", "*PNP0A03"]);
        let (hw, _) = acpi_ids("ACPI0013", &[]);
        assert_eq!(
            hw,
            [r"ACPI\VEN_ACPI&DEV_0013", r"ACPI\ACPI0013", "*ACPI0013"]
        );
        let (hw, _) = acpi_ids("VMGENCTR", &[]);
        assert_eq!(hw, [r"ACPI\VMGENCTR", "*VMGENCTR"]);
        let (hw, _) = acpi_ids("LNXPWRBN", &[]);
        assert_eq!(hw, [r"ACPI\FixedButton", "*FixedButton"]);
    }
}
