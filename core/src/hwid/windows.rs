//! Devices from exports made on a running Windows. The format is detected from the content:
//!
//! - `pnputil /enum-devices /ids` (or `/deviceids`, Windows 10 2004+/11): blocks starting with
//!   `Instance ID:`; `Device Description:`, `Hardware IDs:` and `Compatible IDs:` take the rest of
//!   their line and the following indented lines (English labels only).
//! - `devcon hwids *`: an instance ID at column 0, then indented `Name:`, `Hardware IDs:`,
//!   `Compatible IDs:` with the IDs indented below, `No hardware/compatible IDs found for this
//!   device.` for ID-less nodes, and a closing `N matching device(s) found.`
//!   (layout as in the intel/mfd-devcon captures cited in inf-behaviour.md §J).
//! - `Get-PnpDevice | Select-Object InstanceId,HardwareID,CompatibleID | ConvertTo-Json`: an array
//!   (or one object) with `InstanceId` and `HardwareID`/`CompatibleID` as arrays, a single string
//!   or null; `FriendlyName`, `Name` or `Description` when selected become the description.
//!
//! PowerShell 5 redirection writes UTF-16LE with a BOM; every encoding is accepted.
//! Devices without any ID (`HTREE\ROOT\0`) are kept: they simply match nothing.

use std::path::Path;

use super::{Device, HwidError, Inventory, read_text};

/// Read a Windows export, detecting its format.
pub fn read(path: &Path) -> Result<Inventory, HwidError> {
    let text = read_text(path)?;
    let inv = parse(&text, path)?;
    if inv.devices.is_empty() {
        return Err(HwidError::Empty {
            path: path.to_path_buf(),
            hint: "expected `pnputil /enum-devices /ids`, `devcon hwids *` or `Get-PnpDevice | Select-Object InstanceId,HardwareID,CompatibleID | ConvertTo-Json` output".into(),
        });
    }
    Ok(inv)
}

/// Parse an export's text.
pub fn parse(text: &str, path: &Path) -> Result<Inventory, HwidError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let mut inv = parse_json(trimmed, path)?;
        inv.source = format!("Get-PnpDevice JSON {}", path.display());
        return Ok(inv);
    }
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("Instance ID:"))
    {
        let mut inv = parse_pnputil(text);
        inv.source = format!("pnputil export {}", path.display());
        return Ok(inv);
    }
    let mut inv = parse_devcon(text);
    inv.source = format!("devcon export {}", path.display());
    Ok(inv)
}

#[derive(Clone, Copy, PartialEq)]
enum List {
    None,
    Hw,
    Compat,
}

/// `pnputil /enum-devices /ids` text.
pub fn parse_pnputil(text: &str) -> Inventory {
    let mut inv = Inventory::default();
    let mut cur: Option<Device> = None;
    let mut list = List::None;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            list = List::None;
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let key_value = (!indented).then(|| line.split_once(':')).flatten();
        match key_value {
            Some((key, value)) => {
                let value = value.trim();
                list = List::None;
                match key.trim() {
                    "Instance ID" => {
                        inv.devices.extend(cur.take());
                        cur = Some(Device::new(value, Vec::new(), Vec::new()));
                    }
                    "Device Description" => {
                        if let Some(d) = cur.as_mut() {
                            d.description = Some(value.to_owned());
                        }
                    }
                    "Hardware IDs" | "Compatible IDs" => {
                        list = if key.trim() == "Hardware IDs" {
                            List::Hw
                        } else {
                            List::Compat
                        };
                        push_id(cur.as_mut(), list, value);
                    }
                    _ => {}
                }
            }
            None if indented => push_id(cur.as_mut(), list, line.trim()),
            None => list = List::None,
        }
    }
    inv.devices.extend(cur);
    inv
}

fn push_id(dev: Option<&mut Device>, list: List, id: &str) {
    let (Some(d), false) = (dev, id.is_empty()) else {
        return;
    };
    match list {
        List::Hw => d.hardware_ids.push(id.to_owned()),
        List::Compat => d.compatible_ids.push(id.to_owned()),
        List::None => {}
    }
}

/// `devcon hwids *` text.
pub fn parse_devcon(text: &str) -> Inventory {
    let mut inv = Inventory::default();
    let mut cur: Option<Device> = None;
    let mut list = List::None;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            if t.ends_with("matching device(s) found.") {
                list = List::None;
                continue;
            }
            inv.devices.extend(cur.take());
            cur = Some(Device::new(t, Vec::new(), Vec::new()));
            list = List::None;
            continue;
        }
        if let Some(name) = t.strip_prefix("Name:") {
            if let Some(d) = cur.as_mut() {
                d.description = Some(name.trim().to_owned());
            }
            list = List::None;
        } else if t == "Hardware IDs:" {
            list = List::Hw;
        } else if t == "Compatible IDs:" {
            list = List::Compat;
        } else if t.starts_with("No hardware/compatible IDs") {
            list = List::None;
        } else {
            push_id(cur.as_mut(), list, t);
        }
    }
    inv.devices.extend(cur);
    inv
}

/// `Get-PnpDevice … | ConvertTo-Json` text.
pub fn parse_json(text: &str, path: &Path) -> Result<Inventory, HwidError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| HwidError::Syntax {
        path: path.to_path_buf(),
        line: e.line(),
        msg: format!("not valid JSON: {e}"),
    })?;
    let items = match value {
        serde_json::Value::Array(a) => a,
        obj @ serde_json::Value::Object(_) => vec![obj],
        _ => {
            return Err(HwidError::Format {
                path: path.to_path_buf(),
                msg: "expected a JSON array of devices".into(),
                hint: "export with `Get-PnpDevice | Select-Object InstanceId,HardwareID,CompatibleID | ConvertTo-Json`".into(),
            });
        }
    };
    let mut inv = Inventory::default();
    for (n, item) in items.iter().enumerate() {
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|k| item.get(*k))
                .filter(|v| !v.is_null())
        };
        let Some(instance) = field(&["InstanceId", "InstanceID", "DeviceID", "PNPDeviceID"])
            .and_then(|v| v.as_str())
        else {
            inv.warnings.push(format!(
                "{}: entry {n} has no InstanceId, skipped",
                path.display()
            ));
            continue;
        };
        let ids = |names: &[&str]| -> Vec<String> {
            match field(names) {
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .map(str::to_owned)
                    .collect(),
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            }
        };
        let mut d = Device::new(
            instance,
            ids(&["HardwareID", "HardwareIDs", "HardwareId"]),
            ids(&["CompatibleID", "CompatibleIDs", "CompatibleId"]),
        );
        d.description = field(&["FriendlyName", "Name", "Description"])
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        inv.devices.push(d);
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Layout of the intel/mfd-devcon `devcon hwids` capture (inf-behaviour.md §J).
    const DEVCON: &str = "ACPI_HAL\\PNP0C08\\0\r\n    Name: Microsoft ACPI-Compliant System\r\n    Hardware IDs:\r\n        ACPI_HAL\\PNP0C08\r\n        *PNP0C08\r\nHTREE\\ROOT\\0\r\n    No hardware/compatible IDs found for this device.\r\nROOT\\BASICRENDER\\0000\r\n    Name: Microsoft Basic Render Driver\r\n    Hardware IDs:\r\n        ROOT\\BasicRender\r\nPCI\\VEN_8086&DEV_2FE1&SUBSYS_2FE18086&REV_02\\3&103A9D54&0&61\r\n    Name: Base System Device\r\n    Hardware IDs:\r\n        PCI\\VEN_8086&DEV_2FE1&SUBSYS_2FE18086&REV_02\r\n        PCI\\VEN_8086&DEV_2FE1&SUBSYS_2FE18086\r\n        PCI\\VEN_8086&DEV_2FE1&CC_088000\r\n        PCI\\VEN_8086&DEV_2FE1&CC_0880\r\n    Compatible IDs:\r\n        PCI\\VEN_8086&DEV_2FE1&REV_02\r\n        PCI\\VEN_8086&DEV_2FE1\r\n        PCI\\VEN_8086&CC_088000\r\n        PCI\\VEN_8086&CC_0880\r\n        PCI\\VEN_8086\r\n        PCI\\CC_088000\r\n        PCI\\CC_0880\r\n4 matching device(s) found.\r\n";

    #[test]
    fn devcon_hwids_capture() {
        let inv = parse(DEVCON, Path::new("d.txt")).expect("parses");
        assert!(inv.source.starts_with("devcon"));
        assert_eq!(inv.devices.len(), 4);
        assert_eq!(
            inv.devices[0].hardware_ids,
            ["ACPI_HAL\\PNP0C08", "*PNP0C08"]
        );
        assert!(inv.devices[1].hardware_ids.is_empty() && inv.devices[1].compatible_ids.is_empty());
        assert_eq!(
            inv.devices[2].description.as_deref(),
            Some("Microsoft Basic Render Driver")
        );
        let pci = &inv.devices[3];
        assert_eq!(pci.hardware_ids.len(), 4);
        assert_eq!(pci.compatible_ids.len(), 7);
        assert_eq!(pci.compatible_ids[6], "PCI\\CC_0880");
        // The sysfs ladder builder gives the same lists for the same device.
        let (hw, compat) = crate::hwid::ladder::pci_ids(&crate::hwid::ladder::PciFunction {
            vendor: 0x8086,
            device: 0x2FE1,
            subsys_vendor: 0x8086,
            subsys_device: 0x2FE1,
            class: 0x088000,
            revision: 2,
        });
        assert_eq!(pci.hardware_ids, hw);
        assert_eq!(pci.compatible_ids, compat);
    }

    #[test]
    fn pnputil_ids() {
        let text = "Microsoft PnP Utility\n\nInstance ID:                PCI\\VEN_8086&DEV_2F34&SUBSYS_2F348086&REV_02\\3&103a9d54&0&81\nDevice Description:         Intel(R) Xeon(R) E7 v3/Xeon(R) E5 v3/Core i7 PCIe Ring Interface - 2F34\nClass Name:                 System\nStatus:                     Started\nHardware IDs:               PCI\\VEN_8086&DEV_2F34&SUBSYS_2F348086&REV_02\n                            PCI\\VEN_8086&DEV_2F34&SUBSYS_2F348086\n                            PCI\\VEN_8086&DEV_2F34&CC_110100\n                            PCI\\VEN_8086&DEV_2F34&CC_1101\nCompatible IDs:             PCI\\VEN_8086&DEV_2F34&REV_02\n                            PCI\\VEN_8086&DEV_2F34\n                            PCI\\VEN_8086&CC_110100\n                            PCI\\VEN_8086&CC_1101\n                            PCI\\VEN_8086\n                            PCI\\CC_110100\n                            PCI\\CC_1101\n\nInstance ID:                ROOT\\BasicRender\\0000\nDevice Description:         Microsoft Basic Render Driver\nHardware IDs:               ROOT\\BasicRender\n";
        let inv = parse(text, Path::new("p.txt")).expect("parses");
        assert!(inv.source.starts_with("pnputil"));
        assert_eq!(inv.devices.len(), 2);
        assert_eq!(inv.devices[0].hardware_ids.len(), 4);
        assert_eq!(inv.devices[0].compatible_ids.len(), 7);
        assert_eq!(
            inv.devices[0].hardware_ids[2],
            "PCI\\VEN_8086&DEV_2F34&CC_110100"
        );
        assert_eq!(inv.devices[1].hardware_ids, ["ROOT\\BasicRender"]);
        assert!(inv.devices[1].compatible_ids.is_empty());
    }

    #[test]
    fn get_pnpdevice_json_in_utf16() {
        let json = r#"[{"InstanceId":"PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00\\3&13C0B0C5&0&18","HardwareID":["PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00","PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4","PCI\\VEN_1AF4&DEV_1000&CC_020000","PCI\\VEN_1AF4&DEV_1000&CC_0200"],"CompatibleID":["PCI\\VEN_1AF4&DEV_1000&REV_00","PCI\\VEN_1AF4&DEV_1000"]},{"InstanceId":"HTREE\\ROOT\\0","HardwareID":null,"CompatibleID":null},{"InstanceId":"ROOT\\X\\0000","HardwareID":"ROOT\\X","CompatibleID":null}]"#;
        let mut bytes = vec![0xFF, 0xFE];
        for u in json.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let text = crate::hwid::decode_text(&bytes);
        let inv = parse(&text, Path::new("j.json")).expect("parses");
        assert_eq!(inv.devices.len(), 3);
        assert_eq!(
            inv.devices[0].hardware_ids[3],
            "PCI\\VEN_1AF4&DEV_1000&CC_0200"
        );
        assert_eq!(inv.devices[0].bus, crate::hwid::Bus::Pci);
        assert!(inv.devices[1].hardware_ids.is_empty());
        assert_eq!(inv.devices[2].hardware_ids, ["ROOT\\X"]);
    }

    #[test]
    fn broken_json_names_the_line() {
        let err = parse("[\n{\"InstanceId\": }\n]", Path::new("j.json")).expect_err("invalid");
        assert!(err.to_string().starts_with("j.json:2:"), "{err}");
    }
}
