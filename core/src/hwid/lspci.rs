//! Devices from `lspci` text, the form Linux live media and hardware-probe archives keep.
//!
//! Two layouts are read (detected per file):
//! - `lspci -nnvmm` (or `-vmmnn`): records separated by blank lines, `Tag:<TAB>value` lines;
//!   `Slot`, `Class … [ccss]`, `Vendor … [vvvv]`, `Device … [dddd]`, `SVendor … [vvvv]`,
//!   `SDevice … [dddd]`, optional `Rev` and `ProgIf` (both hex, 00 when absent).
//! - `lspci -vvnn` (or `-nnv`, `-nn`): a header line per device
//!   `00:02.0 VGA compatible controller [0300]: Intel Corporation … [8086:0106] (rev 09) (prog-if 00 [VGA controller])`
//!   followed by indented lines, of which `Subsystem: … [1043:844d]` is used, and (with `-v`)
//!   `Capabilities: [xx] Express (v2) Root Port (Slot+), MSI 00`, whose version and port-type
//!   words (pciutils `ls-caps.c` `cap_express`) give the PCI Express Device/Port Type of the
//!   `DT_` IDs; a bridge's `Capabilities: [xx] Subsystem: … [vvvv:dddd]` (its Subsystem ID
//!   capability, which pci.sys reads for a type-1 header) gives its subsystem IDs when no plain
//!   `Subsystem:` line did; `Bus: primary=…, secondary=ss` and `DevCtl2: … ARIFwd+` place the
//!   functions behind their bridge for pci.sys's topology check
//!   ([`super::ladder::express_port_kept`]; [`super::ladder::pci_parent_among`]: the secondary
//!   bus's bridge is the parent; bus 00 and a host bridge's bus are root buses; any other bus —
//!   a partial `lspci -s` dump without the bridges — is unknown and the check is skipped).
//!
//! Both yield the PCI ladder of [`super::ladder::pci_express_ids`]. A device without subsystem IDs gets
//! `SUBSYS_00000000`, and its `REV` and bare `VEN&DEV` forms as hardware IDs, as pci.sys reports it.

use std::path::Path;

use super::ladder::{self, PciFunction, PciListed, PciParent, PciSlot};
use super::{Device, HwidError, Inventory, read_text};

/// Read an lspci file.
pub fn read(path: &Path) -> Result<Inventory, HwidError> {
    let text = read_text(path)?;
    let mut inv = parse(&text, path)?;
    inv.source = format!("lspci {}", path.display());
    if inv.devices.is_empty() {
        return Err(HwidError::Empty { path: path.to_path_buf(), hint: "expected `lspci -nnvmm` or `lspci -vvnn` output (the numeric IDs `-nn` are required)".into() });
    }
    Ok(inv)
}

/// Parse lspci text (either layout).
pub fn parse(text: &str, path: &Path) -> Result<Inventory, HwidError> {
    let machine = text.lines().any(|l| l.starts_with("Slot:"));
    let mut inv = Inventory::default();
    let records = if machine {
        parse_vmm(text, path)?
    } else {
        parse_verbose(text, &mut inv)
    };
    let listed: Vec<PciListed> = records
        .iter()
        .filter_map(|r| {
            Some(PciListed {
                slot: PciSlot::parse(&r.slot)?,
                class: r.f.class,
                secondary: r.secondary,
                express_type: r.express.map(|(_, t)| t),
                ari_forwarding: r.ari_forwarding,
            })
        })
        .collect();
    let dts: Vec<Option<u8>> = records.iter().map(|r| express_dt(r, &listed)).collect();
    for (r, dt) in records.into_iter().zip(dts) {
        let Record { slot, f, desc, .. } = r;
        let mut d = Device::pci_express(&f, dt, &slot);
        d.description = desc;
        d.location = Some(slot);
        inv.devices.push(d);
    }
    Ok(inv)
}

/// The hex number inside the last `[...]` of `s`, when it has `digits` hex digits.
fn last_bracket_hex(s: &str, digits: usize) -> Option<u32> {
    let open = s.rfind('[')?;
    let close = s[open..].find(']')? + open;
    let inner = &s[open + 1..close];
    (inner.len() == digits && inner.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(inner, 16).ok())
        .flatten()
}

/// Text before the last ` [` (the name part of `Name [1234]`).
fn name_part(s: &str) -> &str {
    s.rfind(" [").map_or(s, |i| &s[..i]).trim()
}

/// One function of the text.
struct Record {
    slot: String,
    f: PciFunction,
    desc: Option<String>,
    /// PCI Express capability: version (1 when the text gives none) and Device/Port Type.
    express: Option<(u8, u8)>,
    /// A bridge's secondary bus (`Bus: primary=pp, secondary=ss, …`).
    secondary: Option<u8>,
    /// `ARIFwd+` in its `DevCtl2:` line.
    ari_forwarding: bool,
}

/// The `DT_` digit Windows lists for `r` ([`ladder::express_port_kept`] with the parent
/// [`ladder::pci_parent_among`] finds in `listed`: the bridge whose secondary bus is the
/// function's, a root bus only where that is known — bus 00 or a host bridge's bus — and
/// otherwise unknown, so that a one-device `lspci -vvnn -s 03:00.0` keeps its endpoint's `DT_0`
/// as pci.sys does behind the root port the dump does not show).
fn express_dt(r: &Record, listed: &[PciListed]) -> Option<u8> {
    let (version, t) = r.express?;
    let parent = match PciSlot::parse(&r.slot) {
        Some(slot) => ladder::pci_parent_among(slot, listed),
        None => PciParent::Unknown,
    };
    ladder::express_port_kept(version, t, parent).then_some(t)
}

/// The version of an lspci `Express` capability line (`(v2) …` → 2; 1 when not printed, as
/// old pciutils releases did).
fn express_version(text: &str) -> u8 {
    text.trim_start()
        .strip_prefix("(v")
        .and_then(|rest| rest.split_once(')'))
        .and_then(|(v, _)| v.parse().ok())
        .unwrap_or(1)
}

/// The Device/Port Type named by an lspci `Express` capability line (the text after
/// `Express `): pciutils `ls-caps.c` prints `(vN) ` then one of these names (older releases
/// `PCI/PCI-X Bridge` for type 7), or `Unknown type N`.
fn express_type(text: &str) -> Option<u8> {
    let t = text.trim_start();
    let t = match t.strip_prefix("(v") {
        Some(rest) => rest.split_once(") ")?.1,
        None => t,
    };
    const NAMES: [(&str, u8); 10] = [
        ("Endpoint", 0),
        ("Legacy Endpoint", 1),
        ("Root Port", 4),
        ("Upstream Port", 5),
        ("Downstream Port", 6),
        ("PCI-Express to PCI/PCI-X Bridge", 7),
        ("PCI/PCI-X Bridge", 7),
        ("PCI/PCI-X to PCI-Express Bridge", 8),
        ("Root Complex Integrated Endpoint", 9),
        ("Root Complex Event Collector", 10),
    ];
    if let Some(n) = t.strip_prefix("Unknown type ") {
        let n: String = n.chars().take_while(char::is_ascii_digit).collect();
        return n.parse().ok().filter(|n| *n < 16);
    }
    // The longest name that starts the text ("Endpoint" is a prefix of nothing else here,
    // but "PCI/PCI-X Bridge" must not shadow "PCI/PCI-X to PCI-Express Bridge").
    NAMES
        .iter()
        .filter(|(name, _)| {
            t.strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([',', ' ']))
        })
        .max_by_key(|(name, _)| name.len())
        .map(|&(_, ty)| ty)
}

fn parse_vmm(text: &str, path: &Path) -> Result<Vec<Record>, HwidError> {
    let mut out = Vec::new();
    let mut cur: Vec<(usize, &str, &str)> = Vec::new();
    let mut flush = |cur: &mut Vec<(usize, &str, &str)>| -> Result<(), HwidError> {
        if cur.is_empty() {
            return Ok(());
        }
        let first_line = cur[0].0;
        let get = |tag: &str| {
            cur.iter()
                .find(|(_, t, _)| *t == tag)
                .map(|(l, _, v)| (*l, *v))
        };
        let need = |tag: &str, digits: usize| -> Result<u32, HwidError> {
            let (line, v) = get(tag).ok_or_else(|| HwidError::Syntax {
                path: path.to_path_buf(),
                line: first_line,
                msg: format!("record has no `{tag}:` line"),
            })?;
            last_bracket_hex(v, digits).ok_or_else(|| HwidError::Syntax {
                path: path.to_path_buf(),
                line,
                msg: format!(
                    "`{tag}:` has no [{}] numeric ID\nhint: run lspci with -nn",
                    "x".repeat(digits)
                ),
            })
        };
        let slot = get("Slot")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        let class = need("Class", 4)?;
        let vendor = need("Vendor", 4)?;
        let device = need("Device", 4)?;
        let sv = match get("SVendor") {
            Some(_) => need("SVendor", 4)?,
            None => 0,
        };
        let sd = match get("SDevice") {
            Some(_) => need("SDevice", 4)?,
            None => 0,
        };
        let hex2 = |tag: &str| -> Result<u32, HwidError> {
            match get(tag) {
                None => Ok(0),
                Some((line, v)) => {
                    u32::from_str_radix(v.trim(), 16).map_err(|_| HwidError::Syntax {
                        path: path.to_path_buf(),
                        line,
                        msg: format!("`{tag}:` is not hexadecimal: {v:?}"),
                    })
                }
            }
        };
        let rev = hex2("Rev")?;
        let progif = hex2("ProgIf")?;
        let desc = get("Device").map(|(_, v)| name_part(v).to_owned());
        out.push(Record {
            slot,
            f: PciFunction {
                vendor: vendor as u16,
                device: device as u16,
                subsys_vendor: sv as u16,
                subsys_device: sd as u16,
                class: (class << 8) | (progif & 0xFF),
                revision: rev as u8,
            },
            desc,
            express: None,
            secondary: None,
            ari_forwarding: false,
        });
        cur.clear();
        Ok(())
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            flush(&mut cur)?;
            continue;
        }
        if let Some((tag, value)) = line.split_once(':') {
            if tag.contains(' ') && !tag.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            cur.push((n + 1, tag.trim(), value.trim()));
        }
    }
    flush(&mut cur)?;
    Ok(out)
}

fn parse_verbose(text: &str, inv: &mut Inventory) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if line.starts_with(|c: char| c.is_whitespace()) {
            let t = line.trim();
            let Some(last) = out.last_mut() else {
                continue;
            };
            if let Some(rest) = t.strip_prefix("Subsystem:")
                && let Some((sv, sd)) = pair_id(rest)
            {
                last.f.subsys_vendor = sv;
                last.f.subsys_device = sd;
            }
            if let Some(rest) = t.strip_prefix("Capabilities: [")
                && let Some((_, cap)) = rest.split_once("] ")
            {
                if let Some(kind) = cap.strip_prefix("Express ") {
                    last.express = express_type(kind).map(|ty| (express_version(kind), ty));
                }
                // A bridge's Subsystem ID capability (printed as well as, or instead of, the
                // plain line): the subsystem IDs pci.sys and Linux read for a type-1 header.
                if let Some(rest) = cap.strip_prefix("Subsystem:")
                    && let Some((sv, sd)) = pair_id(rest)
                    && last.f.subsys_vendor == 0
                    && last.f.subsys_device == 0
                {
                    last.f.subsys_vendor = sv;
                    last.f.subsys_device = sd;
                }
            }
            if let Some(rest) = t.strip_prefix("Bus: ")
                && let Some(sec) = rest
                    .split(", ")
                    .find_map(|kv| kv.strip_prefix("secondary="))
            {
                last.secondary = u8::from_str_radix(sec, 16).ok();
            }
            if t.starts_with("DevCtl2:")
                && t.split_whitespace()
                    .any(|w| w.trim_matches(',') == "ARIFwd+")
            {
                last.ari_forwarding = true;
            }
            continue;
        }
        // Header: `<slot> <class name> [ccss]: <vendor device names> [vvvv:dddd] (rev rr) (prog-if pp …)`
        let Some((slot, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(colon) = rest.find("]: ") else {
            inv.warnings.push(format!(
                "line {}: not an `lspci -nn` device line, skipped",
                n + 1
            ));
            continue;
        };
        let class_part = &rest[..=colon];
        let Some(class) = last_bracket_hex(class_part, 4) else {
            inv.warnings
                .push(format!("line {}: no [ccss] class code, skipped", n + 1));
            continue;
        };
        let tail = &rest[colon + 3..];
        let names_end = tail
            .find(" (rev ")
            .or_else(|| tail.find(" (prog-if "))
            .unwrap_or(tail.len());
        let Some((vendor, device)) = pair_id(&tail[..names_end]) else {
            inv.warnings.push(format!(
                "line {}: no [vvvv:dddd] ID, skipped\nhint: run lspci with -nn",
                n + 1
            ));
            continue;
        };
        let rev = paren_hex(tail, "(rev ").unwrap_or(0);
        let progif = paren_hex(tail, "(prog-if ").unwrap_or(0);
        let desc = tail[..names_end]
            .rfind(" [")
            .map(|i| tail[..i].trim().to_owned());
        out.push(Record {
            slot: slot.to_owned(),
            f: PciFunction {
                vendor,
                device,
                subsys_vendor: 0,
                subsys_device: 0,
                class: (class << 8) | u32::from(progif),
                revision: rev,
            },
            desc,
            express: None,
            secondary: None,
            ari_forwarding: false,
        });
    }
    out
}

/// The last `[vvvv:dddd]` in `s`.
fn pair_id(s: &str) -> Option<(u16, u16)> {
    let open = s.rfind('[')?;
    let close = s[open..].find(']')? + open;
    let (a, b) = s[open + 1..close].split_once(':')?;
    if a.len() != 4 || b.len() != 4 {
        return None;
    }
    Some((
        u16::from_str_radix(a, 16).ok()?,
        u16::from_str_radix(b, 16).ok()?,
    ))
}

/// The two hex digits after `marker` (`(rev 09)` → 9).
fn paren_hex(s: &str, marker: &str) -> Option<u8> {
    let i = s.find(marker)? + marker.len();
    let digits: String = s[i..].chars().take_while(char::is_ascii_hexdigit).collect();
    u8::from_str_radix(&digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VVNN: &str = "00:02.0 VGA compatible controller [0300]: Intel Corporation 2nd Generation Core Processor Family Integrated Graphics Controller [8086:0106] (rev 09) (prog-if 00 [VGA controller])\n\tSubsystem: ASUSTeK Computer Inc. Device [1043:844d]\n\tControl: I/O+ Mem+ BusMaster+\n\n01:00.0 VGA compatible controller [0300]: Advanced Micro Devices, Inc. [AMD/ATI] Navi 10 [Radeon RX 5600 OEM/5600 XT / 5700/5700 XT] [1002:731f] (rev c1) (prog-if 00 [VGA controller])\n\tSubsystem: Sapphire Technology Limited Device [1da2:e411]\n";

    #[test]
    fn verbose_layout_gives_the_windows_ladder() {
        // peers-and-corpora.md §4: the linuxhw/LsPCI probe line for 8086:0106 converts to
        // PCI\VEN_8086&DEV_0106&SUBSYS_844D1043&REV_09 … (ladder per the devcon sample).
        let inv = parse(VVNN, Path::new("x")).expect("parses");
        assert_eq!(inv.devices.len(), 2);
        let d = &inv.devices[0];
        assert_eq!(
            d.hardware_ids[0],
            r"PCI\VEN_8086&DEV_0106&SUBSYS_844D1043&REV_09"
        );
        assert_eq!(d.hardware_ids[3], r"PCI\VEN_8086&DEV_0106&CC_0300");
        assert_eq!(d.compatible_ids[2], r"PCI\VEN_8086&CC_030000");
        assert_eq!(d.compatible_ids[6], r"PCI\CC_0300");
        // Vendor names with brackets do not confuse the ID search.
        assert_eq!(
            inv.devices[1].hardware_ids[0],
            r"PCI\VEN_1002&DEV_731F&SUBSYS_E4111DA2&REV_C1"
        );
    }

    #[test]
    fn root_run_dump_gives_bridge_subsystems_and_topology_checked_dt_ids() {
        // Lines of a root-run `lspci -vvnn` of an ASUS P8B75-M (linuxhw/LsPCI
        // Desktop/ASUSTek Computer/P8/P8B75-M/BBA0A2846257/ROSA-2014.1/
        // 3.14.44-NRJ-DESKTOP-2ROSA-X86_64/X86_64/0A39EFD0FD @ d3e6e44e), cut to the lines read.
        let text = "00:1b.0 Audio device [0403]: Intel Corporation 7 Series/C210 Series Chipset Family High Definition Audio Controller [8086:1e20] (rev 04)\n\tSubsystem: ASUSTeK Computer Inc. P8H77-I Motherboard [1043:8415]\n\tCapabilities: [70] Express (v1) Root Complex Integrated Endpoint, MSI 00\n\n00:1c.5 PCI bridge [0604]: Intel Corporation 7 Series/C210 Series Chipset Family PCI Express Root Port 6 [8086:1e1a] (rev c4) (prog-if 00 [Normal decode])\n\tBus: primary=00, secondary=03, subordinate=03, sec-latency=0\n\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00\n\t\tDevCtl2: Completion Timeout: 50us to 50ms, TimeoutDis-, LTR-, OBFF Disabled ARIFwd-\n\tCapabilities: [90] Subsystem: ASUSTeK Computer Inc. Device [1043:84ca]\n\n00:1e.0 PCI bridge [0604]: Intel Corporation 82801 PCI Bridge [8086:244e] (rev a4) (prog-if 01 [Subtractive decode])\n\tBus: primary=00, secondary=04, subordinate=04, sec-latency=32\n\tCapabilities: [50] Subsystem: ASUSTeK Computer Inc. Device [1043:84ca]\n\n03:00.0 Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8111/8168/8411 PCI Express Gigabit Ethernet Controller [10ec:8168] (rev 09)\n\tSubsystem: ASUSTeK Computer Inc. P8 series motherboard [1043:8505]\n\tCapabilities: [70] Express (v2) Endpoint, MSI 01\n";
        let inv = parse(text, Path::new("x")).expect("parses");
        let ids = |hw0: &str| {
            let d = inv
                .devices
                .iter()
                .find(|d| d.hardware_ids[0] == hw0)
                .unwrap_or_else(|| panic!("{hw0} missing"));
            d.compatible_ids.clone()
        };
        // The bridges' Subsystem ID capability gives their SUBSYS (pci.sys reads it for a
        // type-1 header, ladder::pci_express_ids); the root port on bus 00 keeps DT_4, the
        // RC integrated HD Audio controller DT_9, the endpoint behind 1c.5 (bus 03) DT_0
        // (pci.sys ExpressValidateFabricTopology, ladder::express_port_type).
        assert!(
            ids(r"PCI\VEN_8086&DEV_1E1A&SUBSYS_84CA1043&REV_C4")
                .contains(&r"PCI\CC_0604&DT_4".to_owned())
        );
        assert!(
            ids(r"PCI\VEN_8086&DEV_1E20&SUBSYS_84151043&REV_04")
                .contains(&r"PCI\CC_0403&DT_9".to_owned())
        );
        assert!(
            ids(r"PCI\VEN_10EC&DEV_8168&SUBSYS_85051043&REV_09")
                .contains(&r"PCI\CC_0200&DT_0".to_owned())
        );
        // The subtractive bridge: subsystem from its capability, no Express capability.
        assert_eq!(
            ids(r"PCI\VEN_8086&DEV_244E&SUBSYS_84CA1043&REV_A4").len(),
            7
        );
        // The same endpoint moved onto the root bus fails pci.sys's topology check: no DT_.
        let moved = text.replace("03:00.0 Ethernet", "00:19.0 Ethernet");
        let inv = parse(&moved, Path::new("x")).expect("parses");
        let nic = inv
            .devices
            .iter()
            .find(|d| d.hardware_ids[0].contains("DEV_8168"))
            .expect("nic");
        assert!(
            nic.compatible_ids.iter().all(|c| !c.contains("DT_")),
            "{:?}",
            nic.compatible_ids
        );
        // A bridge without a `Bus:` line leaves the bus of 03:00.0 unknown: its type is kept.
        let unknown = text.replace(
            "\tBus: primary=00, secondary=04, subordinate=04, sec-latency=32\n",
            "",
        );
        let unknown = unknown.replace(
            "\tBus: primary=00, secondary=03, subordinate=03, sec-latency=0\n",
            "",
        );
        let inv = parse(&unknown, Path::new("x")).expect("parses");
        assert!(
            inv.devices
                .iter()
                .any(|d| d.compatible_ids.contains(&r"PCI\CC_0200&DT_0".to_owned()))
        );
    }

    /// The compatible IDs of the one device whose first hardware ID contains `dev`.
    fn compat_of(text: &str, dev: &str) -> Vec<String> {
        let inv = parse(text, Path::new("x")).expect("parses");
        inv.devices
            .iter()
            .find(|d| d.hardware_ids[0].contains(dev))
            .unwrap_or_else(|| panic!("{dev} missing"))
            .compatible_ids
            .clone()
    }

    /// `PCI\CC_…&DT_…` IDs among `ids`.
    fn dt_ids(ids: &[String]) -> Vec<&str> {
        ids.iter()
            .filter(|c| c.contains("&DT_"))
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn partial_dump_without_the_bridges_keeps_the_endpoint_dt() {
        // `lspci -vvnn -s 03:00.0` as root, the shape of forum and issue posts: one function,
        // no bridge above it. The Wi-Fi 7265 block of a root-run T450 dump (linuxhw/LsPCI
        // Notebook/Lenovo/ThinkPad/ThinkPad T450 20BUS14900/7C50274A6FA9/OL-8.5/
        // 4.18.0-348.12.2.EL8_5.X86_64/X86_64/BD60AAE97A @ 28198bc0, source T of
        // core/fixtures/sysfs/README.md), cut after its Express capability. On that machine it
        // sits behind root port 00:1c.1 at device 0, so pci.sys's ExpressValidateFabricTopology
        // passes and Windows lists DT_0 (ladder::express_port_type cites expressport.c); the
        // dump does not show the parent, so the type is kept unchecked.
        let wifi = "03:00.0 Network controller [0280]: Intel Corporation Wireless 7265 [8086:095b] (rev 59)\n\tSubsystem: Intel Corporation Dual Band Wireless-AC 7265 [8086:5210]\n\tControl: I/O- Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx+\n\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-\n\tLatency: 0, Cache Line Size: 64 bytes\n\tInterrupt: pin A routed to IRQ 50\n\tRegion 0: Memory at f1000000 (64-bit, non-prefetchable) [size=8K]\n\tCapabilities: [c8] Power Management version 3\n\t\tFlags: PMEClk- DSI+ D1- D2- AuxCurrent=0mA PME(D0+,D1-,D2-,D3hot+,D3cold+)\n\t\tStatus: D0 NoSoftRst- PME-Enable- DSel=0 DScale=0 PME-\n\tCapabilities: [d0] MSI: Enable+ Count=1/1 Maskable- 64bit+\n\t\tAddress: 00000000fee00398  Data: 0000\n\tCapabilities: [40] Express (v2) Endpoint, MSI 00\n\t\tDevCap:\tMaxPayload 128 bytes, PhantFunc 0, Latency L0s <512ns, L1 unlimited\n\t\tDevCtl2: Completion Timeout: 16ms to 55ms, TimeoutDis- LTR+ OBFF Disabled,\n\tKernel driver in use: iwlwifi\n";
        let ids = compat_of(wifi, "DEV_095B");
        assert_eq!(
            dt_ids(&ids),
            [r"PCI\CC_028000&DT_0", r"PCI\CC_0280&DT_0"],
            "{ids:?}"
        );
        // The RTL8168 of the P8B75-M (source A, lines as in the test above) alone: DT_0, as
        // Windows lists it behind root port 1c.5 (README's desktop 03:00.0 row).
        let nic = "03:00.0 Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8111/8168/8411 PCI Express Gigabit Ethernet Controller [10ec:8168] (rev 09)\n\tSubsystem: ASUSTeK Computer Inc. P8 series motherboard [1043:8505]\n\tCapabilities: [70] Express (v2) Endpoint, MSI 01\n";
        assert_eq!(
            dt_ids(&compat_of(nic, "DEV_8168")),
            [r"PCI\CC_020000&DT_0", r"PCI\CC_0200&DT_0"]
        );
        // With a domain (`lspci -D`), the same.
        assert_eq!(
            dt_ids(&compat_of(&format!("0000:{nic}"), "DEV_8168")).len(),
            2
        );
        // A root port alone on bus 00 (source A's 00:1c.5): bus 00 is a root bus (a bridge's
        // secondary bus is above its own), the check passes, DT_4 as the README's row says.
        let port = "00:1c.5 PCI bridge [0604]: Intel Corporation 7 Series/C210 Series Chipset Family PCI Express Root Port 6 [8086:1e1a] (rev c4) (prog-if 00 [Normal decode])\n\tBus: primary=00, secondary=03, subordinate=03, sec-latency=0\n\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00\n\t\tDevCtl2: Completion Timeout: 50us to 50ms, TimeoutDis-, LTR-, OBFF Disabled ARIFwd-\n\tCapabilities: [90] Subsystem: ASUSTeK Computer Inc. Device [1043:84ca]\n";
        assert_eq!(
            dt_ids(&compat_of(port, "DEV_1E1A")),
            [r"PCI\CC_060400&DT_4", r"PCI\CC_0604&DT_4"]
        );
        // Known root buses still fail an endpoint (pci.sys: an Endpoint must be behind a
        // bridge): alone on bus 00, and (synthetic) on bus 40 beside a host bridge 40:00.0.
        let on_bus_00 = nic.replace("03:00.0 ", "00:19.0 ");
        assert_eq!(dt_ids(&compat_of(&on_bus_00, "DEV_8168")), [] as [&str; 0]);
        let host = "40:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Root Complex [1022:1480]\n";
        let on_bus_40 = format!("{host}{}", nic.replace("03:00.0 ", "40:07.0 "));
        assert_eq!(dt_ids(&compat_of(&on_bus_40, "DEV_8168")), [] as [&str; 0]);
        // A host bridge on another bus says nothing about bus 03: the endpoint keeps DT_0.
        let other_bus = format!("{host}{nic}");
        assert_eq!(dt_ids(&compat_of(&other_bus, "DEV_8168")).len(), 2);
    }

    #[test]
    fn express_capability_lines_give_the_dt_ids() {
        // `lspci -vvnn` prints the PCI Express capability as pciutils ls-caps.c cap_express
        // does (lines written in that format for the two VMware devices of the Windows lists);
        // the root port then gets `PCI\CC_060400&DT_4` / `PCI\CC_0604&DT_4` as in the
        // Windows list of the VMware root port 15AD:07A0 (ladder::pci_express_ids).
        let text = "00:15.0 PCI bridge [0604]: VMware PCI Express Root Port [15ad:07a0] (rev 01) (prog-if 00 [Normal decode])\n\tSubsystem: VMware PCI Express Root Port [15ad:07a0]\n\tCapabilities: [40] Subsystem: VMware PCI Express Root Port [15ad:07a0]\n\tCapabilities: [48] Power Management version 3\n\tCapabilities: [8c] Express (v2) Root Port (Slot+), MSI 00\n\n0b:00.0 Ethernet controller [0200]: VMware VMXNET3 Ethernet Controller [15ad:07b0] (rev 01)\n\tSubsystem: VMware VMXNET3 Ethernet Controller [15ad:07b0]\n\tCapabilities: [48] Express (v2) Endpoint, MSI 00\n";
        let inv = parse(text, Path::new("x")).expect("parses");
        let port = &inv.devices[0];
        assert_eq!(
            port.hardware_ids[0],
            r"PCI\VEN_15AD&DEV_07A0&SUBSYS_07A015AD&REV_01"
        );
        assert_eq!(
            port.compatible_ids[5..],
            [
                r"PCI\CC_060400&DT_4",
                r"PCI\CC_060400",
                r"PCI\CC_0604&DT_4",
                r"PCI\CC_0604"
            ]
        );
        assert_eq!(inv.devices[1].compatible_ids[5], r"PCI\CC_020000&DT_0");
        // Every name of cap_express, and the unknown form.
        for (line, ty) in [
            ("(v1) Legacy Endpoint, MSI 00", 1),
            ("(v2) Upstream Port, MSI 00", 5),
            ("(v2) Downstream Port (Slot-), MSI 00", 6),
            ("(v1) PCI-Express to PCI/PCI-X Bridge, MSI 00", 7),
            ("PCI/PCI-X Bridge, MSI 00", 7),
            ("(v2) PCI/PCI-X to PCI-Express Bridge, MSI 00", 8),
            ("(v2) Root Complex Integrated Endpoint, MSI 00", 9),
            ("(v2) Root Complex Event Collector, MSI 00", 10),
            ("(v2) Unknown type 11, MSI 00", 11),
        ] {
            assert_eq!(express_type(line), Some(ty), "{line}");
        }
        assert_eq!(express_type("(v2) Something else"), None);
        // Without -v there is no capability line, hence no DT_ (7 compatible IDs).
        assert_eq!(
            parse(VVNN, Path::new("x")).expect("parses").devices[0]
                .compatible_ids
                .len(),
            7
        );
    }

    #[test]
    fn machine_layout_gives_the_same_ladder() {
        let vmm = "Slot:\t00:02.0\nClass:\tVGA compatible controller [0300]\nVendor:\tIntel Corporation [8086]\nDevice:\t2nd Generation Core Processor Family Integrated Graphics Controller [0106]\nSVendor:\tASUSTeK Computer Inc. [1043]\nSDevice:\tDevice [844d]\nRev:\t09\n\nSlot:\t00:1f.2\nClass:\tSATA controller [0106]\nVendor:\tIntel Corporation [8086]\nDevice:\t6 Series/C200 Series Chipset Family 6 port Desktop SATA AHCI Controller [1c02]\nSVendor:\tASUSTeK Computer Inc. [1043]\nSDevice:\tP8 series motherboard [844d]\nRev:\t05\nProgIf:\t01\n";
        let a = parse(vmm, Path::new("x")).expect("parses");
        let b = parse(VVNN, Path::new("x")).expect("parses");
        assert_eq!(a.devices[0].hardware_ids, b.devices[0].hardware_ids);
        assert_eq!(a.devices[0].compatible_ids, b.devices[0].compatible_ids);
        assert_eq!(
            a.devices[1].hardware_ids[2],
            r"PCI\VEN_8086&DEV_1C02&CC_010601"
        );
        assert!(
            a.devices[1].boot_critical,
            "a SATA controller is boot-critical"
        );
    }

    #[test]
    fn missing_numeric_ids_are_an_error_with_a_hint() {
        let err = parse(
            "Slot:\t00:02.0\nClass:\tVGA compatible controller\nVendor:\tIntel\nDevice:\tGPU\n",
            Path::new("p.txt"),
        )
        .expect_err("no numeric IDs");
        let msg = err.to_string();
        assert!(
            msg.contains("p.txt:2") && msg.contains("hint: run lspci with -nn"),
            "{msg}"
        );
    }
}
