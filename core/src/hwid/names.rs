//! Vendor and device names from the `pci.ids` / `usb.ids` databases (display only).
//!
//! Format (both files): `vvvv  Vendor name` at column 0, `<TAB>dddd  Device name` below it,
//! `<TAB><TAB>…` subsystem lines (ignored); `#` comments; the class lists after the first
//! `C ` line (and other upper-case section lines) end the vendor part. Looked up in
//! `/usr/share/misc`, `/usr/share/hwdata`, `/usr/share/pci.ids`-style locations; absent files
//! simply give no names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Bus, Device, parse_hex};

/// Names for a set of (vendor, device) pairs from an ids file.
#[derive(Debug, Default)]
pub struct Names {
    names: HashMap<(u16, u16), String>,
}

impl Names {
    /// Parse the ids text, keeping only the wanted pairs (one pass, no allocation for others).
    pub fn parse(text: &str, wanted: &[(u16, u16)]) -> Names {
        let mut names = HashMap::new();
        let mut vendor: Option<(u16, &str)> = None;
        for line in text.lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('\t') {
                if rest.starts_with('\t') {
                    continue;
                }
                let Some((v, vname)) = vendor else { continue };
                let (id, name) =
                    rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len()));
                if let Some(d) = u16::from_str_radix(id, 16)
                    .ok()
                    .filter(|d| wanted.contains(&(v, *d)))
                {
                    names.insert((v, d), format!("{} {}", vname, name.trim()));
                }
                continue;
            }
            let (id, name) = line.split_at(line.find(char::is_whitespace).unwrap_or(line.len()));
            match u16::from_str_radix(id, 16) {
                Ok(v) if id.len() == 4 => vendor = Some((v, name.trim())),
                _ => {
                    // `C 00  Unclassified device` and later sections: no more vendors.
                    if line.starts_with(|c: char| c.is_ascii_uppercase())
                        && line.as_bytes().get(1) == Some(&b' ')
                    {
                        break;
                    }
                    vendor = None;
                }
            }
        }
        Names { names }
    }

    pub fn get(&self, vendor: u16, device: u16) -> Option<&str> {
        self.names.get(&(vendor, device)).map(String::as_str)
    }
}

/// Where distributions install the ids files.
fn find(file: &str) -> Option<PathBuf> {
    ["/usr/share/misc", "/usr/share/hwdata", "/usr/share"]
        .iter()
        .map(|d| Path::new(d).join(file))
        .find(|p| p.is_file())
}

/// Vendor and device of a PCI or USB hardware ID (`PCI\VEN_8086&DEV_1563…`, `USB\VID_046D&PID_C077…`).
fn vendor_device(bus: Bus, id: &str) -> Option<(u16, u16)> {
    let upper = id.to_ascii_uppercase();
    let (vk, dk) = match bus {
        Bus::Pci => ("VEN_", "DEV_"),
        Bus::Usb => ("VID_", "PID_"),
        _ => return None,
    };
    let field = |key: &str| -> Option<u16> {
        let i = upper.find(key)? + key.len();
        parse_hex(upper.get(i..i + 4)?).map(|v| v as u16)
    };
    Some((field(vk)?, field(dk)?))
}

/// Fill in missing descriptions of PCI and USB devices from the system's ids files, when present.
pub fn annotate(devices: &mut [Device]) {
    for (bus, file) in [(Bus::Pci, "pci.ids"), (Bus::Usb, "usb.ids")] {
        let wanted: Vec<(u16, u16)> = devices
            .iter()
            .filter(|d| d.bus == bus && d.description.is_none())
            .filter_map(|d| vendor_device(bus, d.hardware_ids.first()?))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let Some(path) = find(file) else {
            tracing::debug!("{file} not found, no names");
            continue;
        };
        let Ok(bytes) = fs_err::read(&path) else {
            continue;
        };
        let names = Names::parse(&String::from_utf8_lossy(&bytes), &wanted);
        for d in devices
            .iter_mut()
            .filter(|d| d.bus == bus && d.description.is_none())
        {
            if let Some(name) = d
                .hardware_ids
                .first()
                .and_then(|h| vendor_device(bus, h))
                .and_then(|(v, p)| names.get(v, p))
            {
                d.description = Some(name.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vendor_and_device_lines() {
        let text = "# comment\n1af4  Red Hat, Inc.\n\t1000  Virtio network device\n\t\t1af4 0001  Virtio network device\n\t1001  Virtio block device\n8086  Intel Corporation\n\t1563  Ethernet Controller X550\nC 00  Unclassified device\n\t00  Non-VGA unclassified device\n";
        let names = Names::parse(text, &[(0x1af4, 0x1000), (0x8086, 0x1563)]);
        assert_eq!(
            names.get(0x1af4, 0x1000),
            Some("Red Hat, Inc. Virtio network device")
        );
        assert_eq!(
            names.get(0x8086, 0x1563),
            Some("Intel Corporation Ethernet Controller X550")
        );
        assert_eq!(names.get(0x1af4, 0x1001), None, "not wanted");
    }

    #[test]
    fn vendor_device_from_ids() {
        assert_eq!(
            vendor_device(Bus::Pci, r"PCI\VEN_8086&DEV_1563&SUBSYS_35D48086&REV_01"),
            Some((0x8086, 0x1563))
        );
        assert_eq!(
            vendor_device(Bus::Usb, r"USB\VID_046D&PID_C077&REV_7200"),
            Some((0x046D, 0xC077))
        );
        assert_eq!(vendor_device(Bus::Acpi, r"ACPI\PNP0303"), None);
    }
}
