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

/// PCI IDs as Windows 10/11 reports them (pci.sys) for a function without a PCI Express
/// capability: [`pci_express_ids`] with no device/port type.
pub fn pci_ids(f: &PciFunction) -> (Vec<String>, Vec<String>) {
    pci_express_ids(f, None)
}

/// PCI IDs as Windows 10/11 reports them (pci.sys).
///
/// Reproduces the `devcon hwids` capture in windows-driver-internals.md §4.1 / inf-behaviour.md §J
/// (`PCI\VEN_8086&DEV_2FE1…`): four hardware IDs (`SUBSYS&REV`, `SUBSYS`, `CC_ccsspp`, `CC_ccss`)
/// and seven compatible IDs (`REV`, bare, `VEN&CC_ccsspp`, `VEN&CC_ccss`, `VEN`, `CC_ccsspp`,
/// `CC_ccss`). `SUBSYS_` is the subsystem *device* ID followed by the subsystem vendor ID.
///
/// **A function without subsystem IDs** (`SubSystemID << 16 | SubVendorID == 0`) still gets
/// `SUBSYS_00000000` in its first two IDs, but `PCI\VEN_v&DEV_d&REV_r` and `PCI\VEN_v&DEV_d`
/// move from the compatible IDs to the hardware IDs, after the two `SUBSYS_` forms and before
/// the `&CC_` forms: six hardware IDs, five compatible IDs. pci.sys source text `id.c`
/// ("Copyright (C) Microsoft", with the `PCIP\` VM-proxy prefix, so Windows 10 era),
/// `PciQueryHardwareIDs` ("If there is no subsystem ID, these are hardware IDs", `if (subsystem
/// == 0)`) and `PciQueryCompatibleIDs` (`if (subsystem != 0)`) — read through the search index
/// as file id 13492047778, its repository not identifiable there; the same rule, same order, in
/// the Windows Server 2003 pci.sys `PciQueryId` (github.com/selfrender/Windows-Server-2003
/// `base/busdrv/pci/id.c` @ b80a07e229fedcfebeebd356c814fd57afe44ca7: "If the subsystem is
/// non-zero, the second two are compatible IDs, otherwise they are hardware IDs"). Windows reads
/// a bridge's (header type 1) subsystem IDs from its Subsystem ID capability (ID 0x0D); Linux
/// shows them in sysfs the same way, so `subsys_*` is what both see.
///
/// A function whose `ExpressPort` pci.sys creates (`pcie_type`, see [`express_port_type`]) also
/// gets `PCI\CC_ccsspp&DT_t` before `PCI\CC_ccsspp` and `PCI\CC_ccss&DT_t` before `PCI\CC_ccss`
/// among the compatible IDs, `t` = `%01X` of the Device/Port Type (same `id.c`,
/// `PciQueryCompatibleIDs`: `if (Device->ExpressPort != NULL)`; [WDD]
/// `install/identifiers-for-pci-devices.md` documents the places; real Windows lists:
/// `PCI\CC_060400&DT_4`, `PCI\CC_0604&DT_4` for the VMware PCIe root port 15AD:07A0 in a
/// Win32_PnPEntity dump, `PCI\CC_020000&DT_0`, `PCI\CC_0200&DT_0` for the vmxnet3 endpoint
/// 15AD:07B0). The §J device 2FE1 is an uncore function without that capability, hence no
/// `DT_` there. Hardware IDs never carry `DT_`.
pub fn pci_express_ids(f: &PciFunction, pcie_type: Option<u8>) -> (Vec<String>, Vec<String>) {
    let ven = format!("PCI\\VEN_{:04X}", f.vendor);
    let vd = format!("{ven}&DEV_{:04X}", f.device);
    let subsys = format!("{vd}&SUBSYS_{:04X}{:04X}", f.subsys_device, f.subsys_vendor);
    let rev = format!("&REV_{:02X}", f.revision);
    let cc6 = format!("CC_{:06X}", f.class & 0xFF_FFFF);
    let cc4 = format!("CC_{:04X}", (f.class >> 8) & 0xFFFF);
    let plain = [format!("{vd}{rev}"), vd.clone()];
    let no_subsystem = f.subsys_vendor == 0 && f.subsys_device == 0;
    let mut hw = vec![format!("{subsys}{rev}"), subsys];
    let mut compat = Vec::new();
    if no_subsystem {
        hw.extend(plain);
    } else {
        compat.extend(plain);
    }
    hw.push(format!("{vd}&{cc6}"));
    hw.push(format!("{vd}&{cc4}"));
    compat.push(format!("{ven}&{cc6}"));
    compat.push(format!("{ven}&{cc4}"));
    compat.push(ven);
    for cc in [cc6, cc4] {
        if let Some(t) = pcie_type {
            compat.push(format!("PCI\\{cc}&DT_{:X}", t & 0xF));
        }
        compat.push(format!("PCI\\{cc}"));
    }
    (hw, compat)
}

/// Where a PCI function sits, as far as pci.sys's Express topology check needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PciParent {
    /// On a root bus (a host bridge's bus, `/sys/devices/pci0000:00/<fn>`).
    RootBus,
    /// Behind a PCI-to-PCI bridge: its PCI Express Device/Port Type (`None` for a bridge without
    /// a PCI Express capability), whether it has ARI Forwarding enabled (Device Control 2 bit 5),
    /// and the function's own device number on the bridge's secondary bus.
    Bridge {
        express_type: Option<u8>,
        ari_forwarding: bool,
        device_number: u8,
    },
    /// Not known (the parent bridge is not in the input: a partial `lspci -s` dump, a flat tree
    /// without the bridge or its `config`): the check is skipped.
    Unknown,
}

/// A PCI function's address: Linux's name `dddd:bb:dd.f` (drivers/pci/probe.c
/// `pci_setup_device`: `"%04x:%02x:%02x.%d"`, so the domain has four or more hex digits — five
/// for the Intel VMD domains `10000`…) or lspci's `[dddd:]bb:dd.f` (the domain printed only with
/// `-D` or when a non-zero domain exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciSlot {
    pub domain: u32,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
    /// Whether the text named the domain (the kernel's name always does).
    pub has_domain: bool,
}

impl PciSlot {
    /// Parse `[dddd:]bb:dd.f`: domain 4–8 hex digits, bus and device 1–2, function 0–7.
    pub fn parse(s: &str) -> Option<PciSlot> {
        let hex = hex_digits;
        let (head, func) = s.rsplit_once('.')?;
        let function = func
            .parse::<u8>()
            .ok()
            .filter(|f| func.len() == 1 && *f < 8)?;
        let mut parts = head.rsplitn(3, ':');
        let dev = parts.next().filter(|t| hex(t, 1, 2))?;
        let bus = parts.next().filter(|t| hex(t, 1, 2))?;
        let dom = parts.next();
        let domain = match dom {
            Some(d) if hex(d, 4, 8) => u32::from_str_radix(d, 16).ok()?,
            Some(_) => return None,
            None => 0,
        };
        let device = u8::from_str_radix(dev, 16).ok().filter(|d| *d < 0x20)?;
        Some(PciSlot {
            domain,
            bus: u8::from_str_radix(bus, 16).ok()?,
            device,
            function,
            has_domain: dom.is_some(),
        })
    }
}

/// Whether `t` is `min` to `max` hex digits (the fields of PCI names).
pub(crate) fn hex_digits(t: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A function of a list (an lspci dump, a flat sysfs tree), as [`pci_parent_among`] needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciListed {
    pub slot: PciSlot,
    /// base class << 16 | subclass << 8 | prog-if
    pub class: u32,
    /// A bridge's secondary bus number (type-1 header byte 0x19, lspci `Bus: … secondary=ss`).
    pub secondary: Option<u8>,
    /// Its PCI Express Device/Port Type.
    pub express_type: Option<u8>,
    /// ARI Forwarding Enable in its Device Control 2.
    pub ari_forwarding: bool,
}

/// Where the function at `slot` sits, judged from the other functions of a list:
///
/// - behind the PCI-to-PCI bridge (class 0604 or 0609) of the same domain whose secondary bus is
///   the function's bus (a secondary bus not above the bridge's own bus — 00 in an unconfigured
///   bridge — names no bus behind it);
/// - on a root bus when that is known: bus 00 (a secondary bus is always above its bridge's bus,
///   so bus 00 is a host bridge's), or the bus of a host bridge (class 0600) in the list;
/// - otherwise [`PciParent::Unknown`]. A partial list — `lspci -vvnn -s 03:00.0`, the usual shape
///   of a forum or issue post, one endpoint and none of the bridges above it — must not make
///   every function a root-bus one: pci.sys would then drop the `DT_` of an endpoint that, on the
///   real machine, sits behind a root port and keeps it. The topology check can be applied only
///   when the parent is known; when it is not, the capability's type is used unchecked (the usual
///   case, an endpoint behind a root port, is the one Windows lists with `DT_`).
pub fn pci_parent_among(slot: PciSlot, listed: &[PciListed]) -> PciParent {
    let same_domain = || listed.iter().filter(move |l| l.slot.domain == slot.domain);
    let parent = same_domain().find(|l| {
        l.slot != slot
            && matches!(l.class >> 8, 0x0604 | 0x0609)
            && l.secondary == Some(slot.bus)
            && slot.bus > l.slot.bus
    });
    if let Some(b) = parent {
        return PciParent::Bridge {
            express_type: b.express_type,
            ari_forwarding: b.ari_forwarding,
            device_number: slot.device,
        };
    }
    let host_bridge_bus = same_domain().any(|l| l.class >> 8 == 0x0600 && l.slot.bus == slot.bus);
    if slot.bus == 0 || host_bridge_bus {
        PciParent::RootBus
    } else {
        PciParent::Unknown
    }
}

/// The PCI Express Device/Port Type Windows prints as `DT_t`, or `None` when pci.sys creates no
/// `ExpressPort` for the function and so lists no `DT_` IDs.
///
/// pci.sys source text (the Microsoft tree of `id.c`, see [`pci_express_ids`]; read through the
/// search index, repository not identifiable there): `PciQueryCompatibleIDs` emits `DT_` only
/// when `Device->ExpressPort != NULL`; the function-creation code creates it for every function
/// with a PCI Express capability (any type, bridge or endpoint) through `ExpressProcessNewPort`
/// (`expressport.c`) when the root bus's `_OSC` granted the OS control of any PCI Express feature
/// (`OscControlGranted != 0`, or a system hack flag), otherwise only an
/// `ExpressCompatibilityPort` (no `DT_`). `ExpressProcessNewPort` drops the port again when
///
/// - the capability's version field (bits 3:0 of its register) is 0;
/// - `ExpressValidateFabricTopology` fails: Root Port (4), Root Complex Event Collector (10) and
///   RC Integrated Endpoint (9) must be on a root bus; Endpoint (0), Legacy Endpoint (1),
///   Upstream Switch Port (5) and PCI Express-to-PCI/PCI-X bridge (7) must be behind a bridge
///   with an Express capability that is not an Upstream Switch Port, at device number 0 unless
///   that bridge forwards ARI; a Downstream Switch Port (6) must be behind an Upstream Switch
///   Port; PCI/PCI-X-to-PCI Express bridges (8) and undefined types always fail.
///
/// infuse assumes the `_OSC` grant (not visible in sysfs; Linux's `_OSC: OS now controls [...]`
/// in dmesg shows it) and, with [`PciParent::Unknown`], skips the topology check.
pub fn express_port_type(config: &[u8], parent: PciParent) -> Option<u8> {
    let (version, t) = pcie_capability(config)?;
    express_port_kept(version, t, parent).then_some(t)
}

/// [`express_port_type`]'s rule on the capability's version and Device/Port Type `t` as
/// decoded elsewhere (lspci text).
pub fn express_port_kept(version: u8, t: u8, parent: PciParent) -> bool {
    if version == 0 {
        return false;
    }
    match (t, parent) {
        (_, PciParent::Unknown) => matches!(t, 0 | 1 | 4..=7 | 9 | 10),
        (4 | 9 | 10, p) => p == PciParent::RootBus,
        (
            0 | 1 | 5 | 7,
            PciParent::Bridge {
                express_type: Some(bt),
                ari_forwarding,
                device_number,
            },
        ) => bt != 5 && (device_number == 0 || ari_forwarding),
        (
            6,
            PciParent::Bridge {
                express_type: Some(5),
                ..
            },
        ) => true,
        _ => false,
    }
}

/// The PCI Express capability's version (bits 3:0) and Device/Port Type (bits 7:4).
fn pcie_capability(config: &[u8]) -> Option<(u8, u8)> {
    let at = pcie_capability_offset(config)?;
    let reg = *config.get(at + 2)?;
    Some((reg & 0xF, reg >> 4))
}

/// Whether the PCI Express capability of a bridge's `config` has ARI Forwarding Enable set
/// (Device Control 2, capability offset 0x28, bit 5).
pub fn pcie_ari_forwarding(config: &[u8]) -> bool {
    pcie_capability_offset(config)
        .and_then(|at| config.get(at + 0x28))
        .is_some_and(|b| b & 0x20 != 0)
}

/// The PCI Express Device/Port Type of a function's configuration space (the sysfs `config`
/// file): the capability list (status bit 4, pointer at 0x34) walked to the PCI Express
/// capability (ID 0x10), bits 7:4 of the register at +2. `None` without one, or when the bytes
/// stop first (an unprivileged read of `config` gives only the first 64 bytes). Whether Windows
/// lists it is [`express_port_type`]'s question.
pub fn pcie_type(config: &[u8]) -> Option<u8> {
    pcie_capability(config).map(|(_, t)| t)
}

/// Offset of the PCI Express capability (ID 0x10) in the capability list of `config`.
fn pcie_capability_offset(config: &[u8]) -> Option<usize> {
    let status = u16::from_le_bytes([*config.get(6)?, *config.get(7)?]);
    if status & 0x10 == 0 {
        return None;
    }
    let mut ptr = usize::from(*config.get(0x34)? & 0xFC);
    // At most 48 capabilities fit in the 192 bytes after the header: a loop cannot go on.
    for _ in 0..48 {
        if ptr < 0x40 {
            return None;
        }
        let id = *config.get(ptr)?;
        if id == 0x10 {
            config.get(ptr + 2)?;
            return Some(ptr);
        }
        ptr = usize::from(*config.get(ptr + 1)? & 0xFC);
    }
    None
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

/// The Windows a ladder is built for. Some bus drivers changed what they report between
/// builds (usbhub3's `USB\COMPAT_VID_` IDs); `build: None` — no target given — gives the IDs
/// every build from Windows 8 to Windows 11 21H2 reports, i.e. none of the build-dependent ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LadderTarget {
    /// The target's build number (`22631` for Windows 11 23H2).
    pub build: Option<u32>,
}

/// The first build whose usbhub3 puts the three `USB\COMPAT_VID_vvvv&…` IDs ahead of the
/// class IDs. Decompiled usbhub3.sys `HUBID_BuildClassCompatibleID` /
/// `HUBID_BuildDeviceCompatibleID` (github.com/nohuto/decompiled-pseudocode @ 47643d2d):
/// absent in `11-21H2/USBHUB3` (build 22000; a real 22000 listing in pbatard/libwdi issue #155
/// shows `USB\Class_E0&SubClass_01&Prot_01` first), present in `11-23H2`, `11-24H2` and
/// `11-25H2`; Microsoft's own pnputil output ([WDD] "How to test a driver package", 2025) shows
/// them. 22621 (22H2) shares its system files with 22631 (23H2 is an enablement package over
/// 22H2), so it is counted in. **UNCONFIRMED**: whether early 22621 cumulative updates lacked
/// them, and whether a Windows 10 (19041–19045) servicing update back-ported them (none seen).
pub const USB_COMPAT_VID_FIRST_BUILD: u32 = 22621;

impl LadderTarget {
    /// The ladder of a given build.
    pub fn for_build(build: u32) -> LadderTarget {
        LadderTarget { build: Some(build) }
    }

    /// `--os major.minor.build[.revision]` as the ladder needs it (only the build matters).
    pub fn parse_os(os: &str) -> Option<LadderTarget> {
        let parts: Vec<&str> = os.trim().split('.').collect();
        if !(3..=4).contains(&parts.len()) || parts.iter().any(|p| p.trim().parse::<u32>().is_err())
        {
            return None;
        }
        parts[2].trim().parse().ok().map(LadderTarget::for_build)
    }

    /// Whether usbhub3 emits `USB\COMPAT_VID_…` compatible IDs on this target.
    pub fn usb_compat_vid(self) -> bool {
        self.build.is_some_and(|b| b >= USB_COMPAT_VID_FIRST_BUILD)
    }

    /// A short note for reports: which build's ladder this is.
    pub fn describe(self) -> String {
        match self.build {
            Some(b) => format!("IDs as Windows build {b} reports them"),
            None => format!(
                "IDs as Windows builds before {USB_COMPAT_VID_FIRST_BUILD} report them (no --os given)"
            ),
        }
    }
}

/// The Windows hub driver that enumerates a USB device, chosen by the host controller the device
/// hangs off: Windows loads the USB 3.0 stack (usbxhci + ucx + **usbhub3.sys**) for devices on an
/// xHCI controller and the USB 2.0 stack (usbehci/usbohci/usbuhci + usbport + **usbhub.sys**) for
/// devices on an EHCI, OHCI or UHCI controller ([WDD] `usbcon/usb-3-0-driver-stack-architecture.md`,
/// "USB host-side drivers in Windows"). A device behind a hub is enumerated by the stack of the
/// controller at the root of its tree. The two hub drivers build different ID lists (see
/// [`usb_device_ids_on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsbStack {
    /// usbhub3.sys under an xHCI controller (PCI class 0C0330). The default when the
    /// controller is not known: every Windows 8+ machine with USB 3 ports has one.
    #[default]
    Usb3,
    /// usbhub.sys under an EHCI (0C0320), OHCI (0C0310) or UHCI (0C0300) controller.
    Usb2,
}

impl UsbStack {
    /// The stack Windows loads for a host controller of PCI class code `class`
    /// (`0xCCSSPP`): 0C0330 xHCI → usbhub3; 0C0320 EHCI, 0C0310 OHCI, 0C0300 UHCI → usbhub.
    /// Anything else (not a USB host controller, or 0C03FE device-mode controllers) is `None`.
    pub fn for_controller_class(class: u32) -> Option<UsbStack> {
        match class & 0xFF_FFFF {
            0x0C0330 => Some(UsbStack::Usb3),
            0x0C0320 | 0x0C0310 | 0x0C0300 => Some(UsbStack::Usb2),
            _ => None,
        }
    }
}

/// IDs of a USB device node as usbhub3 builds them ([`UsbStack::Usb3`]); see
/// [`usb_device_ids_on`].
pub fn usb_device_ids(
    dev: &UsbDevice,
    interfaces: &[UsbInterface],
    target: LadderTarget,
) -> (Vec<String>, Vec<String>) {
    usb_device_ids_on(dev, interfaces, target, UsbStack::Usb3)
}

/// IDs of a USB device node as the hub driver of `stack` builds them.
///
/// **usbhub3** (the hub driver of every xHCI port and USB 3 hub, Windows 8 and later) —
/// decompiled `HUBID_BuildHardwareID` / `HUBID_BuildCompatibleID` and its three callees
/// (github.com/nohuto/decompiled-pseudocode, `11-21H2` … `11-25H2/USBHUB3`):
///
/// - hardware `USB\VID_v&PID_p&REV_r`, `USB\VID_v&PID_p` ([WDD] `standard-usb-identifiers.md`);
/// - a composite device (`HUBID_BuildDeviceCompatibleID`): on builds with
///   [`LadderTarget::usb_compat_vid`] first `USB\COMPAT_VID_v&DevClass_00&SubClass_00&Prot00`
///   (sic, no underscore), `…&SubClass_00`, `USB\COMPAT_VID_v&DevClass_00`; then always the
///   literals `USB\DevClass_00&SubClass_00&Prot_00`, `USB\DevClass_00&SubClass_00`,
///   `USB\DevClass_00`, `USB\COMPOSITE` — `DevClass_00` whatever the device's class, so an IAD
///   device (EF/02/01) reports `DevClass_00` too;
/// - a hub (device class 09, `HUBID_BuildHubCompatibleID`, the same in every build from 21H2 to
///   25H2): only `USB\USB30_HUB` when it runs at SuperSpeed, else `USB\USB20_HUB` (usbhub3
///   picks by the device's speed: full or high → 20, super → 30; a hub's bDeviceProtocol says
///   which — 3 for the SuperSpeed hub of a USB 3 hub, 0/1/2 for full-speed, single-TT,
///   multi-TT — USB 3.2 spec §10.15.1, USB 2.0 spec §11.23.1). No class IDs, no COMPAT_VID;
/// - any other device (`HUBID_BuildClassCompatibleID`): on those builds
///   `USB\COMPAT_VID_v&Class_cc&SubClass_ss&Prot_pp`, `…&SubClass_ss`, `…&Class_cc`, then
///   `USB\Class_cc&SubClass_ss&Prot_pp`, `USB\Class_cc&SubClass_ss`, `USB\Class_cc` — from the
///   device descriptor, or from the single interface when the device class is 0 (`hid/plug-and-
///   play-support.md` example 1). All printed `%04X` / `%02X`: upper-case hex.
///
/// **usbhub.sys** (the USB 2.0 stack's hub driver, under EHCI/OHCI/UHCI) — decompiled
/// `UsbhBuildHardwareID` / `UsbhBuildCompatibleID` → `UsbhBuildDeviceCompatibleID` or
/// `UsbhBuildClassCompatibleID`, both through `UsbhBuildVendorSpecificCompatibleIDs` (same
/// repository @ 47643d2d, `11-21H2/usbhub`, `11-23H2/usbhub`, `11-24H2/usbhub`, `11-25H2/usbhub`).
/// Hardware IDs are usbhub3's two (`USB\VID_nnnn` `&PID_nnnn` `&REV_nnnn`, then without `REV`,
/// 4 hex digits each); the compatible IDs differ in two places:
///
/// - a **hub has no hub-specific ID**: `UsbhBuildCompatibleID` has no hub branch (a PDO flagged
///   0x20 — composite — goes to `UsbhBuildDeviceCompatibleID`, every other one to
///   `UsbhBuildClassCompatibleID`), so a hub reports the class triple `USB\Class_09&SubClass_00&
///   Prot_pp`, `USB\Class_09&SubClass_00`, `USB\Class_09` (with the COMPAT_VID three before it on
///   builds with them) — what usb.inf's generic hub entry `USB\CLASS_09` matches (device list of
///   the Windows Embedded 8 "INF-usb" module, learn.microsoft.com previous-versions jj979861).
///   No `USB\USB20_HUB`;
/// - the composite COMPAT_VID forms keep the underscore: `UsbhBuildVendorSpecificCompatibleIDs`
///   appends `&DevClass_nn` (filled with `00`), `&SubClass_nn`, `&Prot_nn` (both from zeroed
///   values for a composite), so `USB\COMPAT_VID_v&DevClass_00&SubClass_00&Prot_00`, unlike
///   usbhub3's `…&Prot00`. `UsbhBuildDeviceCompatibleID` then appends the same 190-byte literal
///   `USB\DevClass_00&SubClass_00&Prot_00`, `USB\DevClass_00&SubClass_00`, `USB\DevClass_00`,
///   `USB\COMPOSITE` (`11-21H2/usbhub` has no `UsbhBuildDeviceCompatibleID.c` in the dump; the
///   four literals are the ones [WDD] `standard-usb-identifiers.md` and usbhub3 give);
///
/// COMPAT_VID itself follows the same builds as usbhub3: `11-21H2/usbhub`'s
/// `UsbhBuildClassCompatibleID` goes from the `USB\MS_COMP_…` IDs straight to `USB\Class_nn`,
/// `11-23H2/usbhub` calls `UsbhBuildVendorSpecificCompatibleIDs` first, as `11-24H2`/`11-25H2`
/// do — [`USB_COMPAT_VID_FIRST_BUILD`] for both stacks. The class triple itself (`Class_nn`,
/// `&SubClass_nn`, `&Prot_nn`, from the device descriptor or the single interface) is the same
/// as usbhub3's.
///
/// Not reproduced (not in sysfs): `USB\MS_COMP_…` IDs from a device's MS OS descriptors (both
/// drivers put them first), usbhub3's controller-suffixed audio class IDs under a platform flag,
/// and usbhub.sys's fixed 68-byte list for PDOs flagged 0x40 (a 32-character ID whose text is in
/// a data section the decompiled output does not show; the flag is not set on the enumeration
/// path `UsbhSetupDevice`, so ordinary devices do not take it).
pub fn usb_device_ids_on(
    dev: &UsbDevice,
    interfaces: &[UsbInterface],
    target: LadderTarget,
    stack: UsbStack,
) -> (Vec<String>, Vec<String>) {
    let vp = format!("USB\\VID_{:04X}&PID_{:04X}", dev.vendor, dev.product);
    let hw = vec![format!("{vp}&REV_{:04X}", dev.bcd_device), vp];
    let vid = dev.vendor;
    let mut compat = Vec::new();
    if usb_is_composite(dev, interfaces) {
        if target.usb_compat_vid() {
            let prot = match stack {
                UsbStack::Usb3 => "Prot00",
                UsbStack::Usb2 => "Prot_00",
            };
            compat.push(format!(
                "USB\\COMPAT_VID_{vid:04X}&DevClass_00&SubClass_00&{prot}"
            ));
            compat.push(format!("USB\\COMPAT_VID_{vid:04X}&DevClass_00&SubClass_00"));
            compat.push(format!("USB\\COMPAT_VID_{vid:04X}&DevClass_00"));
        }
        for id in [
            "USB\\DevClass_00&SubClass_00&Prot_00",
            "USB\\DevClass_00&SubClass_00",
            "USB\\DevClass_00",
            "USB\\COMPOSITE",
        ] {
            compat.push(id.to_owned());
        }
        return (hw, compat);
    }
    if dev.class == USB_CLASS_HUB && stack == UsbStack::Usb3 {
        compat.push(usb_hub_id(dev).to_owned());
        return (hw, compat);
    }
    let (class, sub, prot) = match (dev.class, interfaces.first()) {
        (0, Some(i)) => (i.class, i.subclass, i.protocol),
        (0, None) => return (hw, compat),
        _ => (dev.class, dev.subclass, dev.protocol),
    };
    if target.usb_compat_vid() {
        compat.push(format!(
            "USB\\COMPAT_VID_{vid:04X}&Class_{class:02X}&SubClass_{sub:02X}&Prot_{prot:02X}"
        ));
        compat.push(format!(
            "USB\\COMPAT_VID_{vid:04X}&Class_{class:02X}&SubClass_{sub:02X}"
        ));
        compat.push(format!("USB\\COMPAT_VID_{vid:04X}&Class_{class:02X}"));
    }
    compat.push(format!(
        "USB\\Class_{class:02X}&SubClass_{sub:02X}&Prot_{prot:02X}"
    ));
    compat.push(format!("USB\\Class_{class:02X}&SubClass_{sub:02X}"));
    compat.push(format!("USB\\Class_{class:02X}"));
    (hw, compat)
}

/// bDeviceClass of a hub.
pub const USB_CLASS_HUB: u8 = 0x09;

/// The one compatible ID usbhub3 gives a hub: `USB\USB30_HUB` for a SuperSpeed hub
/// (bDeviceProtocol 3), `USB\USB20_HUB` for a full- or high-speed one.
fn usb_hub_id(dev: &UsbDevice) -> &'static str {
    if dev.protocol == 3 {
        "USB\\USB30_HUB"
    } else {
        "USB\\USB20_HUB"
    }
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
    /// real list in §4.3 shows `REV_1000` for an ALC236 (Linux revision 0x100002), and a Windows
    /// 8.1 listing shows `…DEV_0887&SUBSYS_1458A002&REV_1003` for the Gigabyte ALC887-VD whose
    /// alsa-info dump says `Revision Id: 0x100302` (sysfs.rs `hdaudio_codec_under_its_controller`).
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

/// [`acpi_ids`] for a device that also has a `_CLS` (base class, subclass, programming
/// interface, as PCI class codes), as acpi.sys builds the lists — decompiled
/// `ACPIBusIrpQueryHardwareId` / `ACPIBusIrpQueryCompatibleId` (github.com/nohuto/decompiled-
/// pseudocode @ 47643d2d: the compatible list read in `11-21H2/acpi` and a 24H2-era build, the
/// hardware list in two builds, the same class code in each; `%04I64X` for class and subclass,
/// `%02I64X` for the interface):
///
/// - hardware: `ACPI\VEN_v&DEV_d`, then `ACPI\VEN_v&DEV_d&CLS_cccc&SUBCLS_ssss&PI_pp`,
///   `ACPI\VEN_v&DEV_d&CLS_cccc&SUBCLS_ssss`, then `ACPI\<HID>`, `*<HID>`;
/// - compatible: `ACPI\VEN_v&CLS_cccc&SUBCLS_ssss&PI_pp`, `ACPI\VEN_v&CLS_cccc&SUBCLS_ssss`,
///   `ACPI\VEN_v`, `ACPI\CLS_cccc&SUBCLS_ssss&PI_pp`, `ACPI\CLS_cccc&SUBCLS_ssss`, **then** the
///   `_CID` IDs (the class block is written before the `_CID` list is copied in).
///
/// With a `_CLS`, acpi.sys writes the `VEN`/`DEV` forms even for a HID of neither PNP nor ACPI
/// shape (its flag test `& 0x1C` includes the `_CLS` bit), splitting it after 3 characters when
/// it has 7, else after 4. `ACPI\CLS_cccc&SUBCLS_ssss` is the form INFs match (Microsoft's KMDOD
/// sample `sampledisplay.inf`: `ACPI\CLS_0003&SUBCLS_0000`; an HP `hdaudbus.inf`:
/// `ACPI\CLS_0004&SUBCLS_0003`). The `_SUB` (`&SUBSYS_`) and `_HRV` (`&REV_`) forms of the same
/// functions are not built: Linux's sysfs shows neither.
pub fn acpi_ids_with_class(
    hid: &str,
    cids: &[String],
    class: Option<(u8, u8, u8)>,
) -> (Vec<String>, Vec<String>) {
    let (hw, compat) = acpi_ids(hid, cids);
    let Some((base, sub, pi)) = class else {
        return (hw, compat);
    };
    let (v, d) = split_pnp_id(hid).unwrap_or_else(|| {
        let at = (if hid.len() == 7 { 3 } else { 4 }).min(hid.len());
        if hid.is_char_boundary(at) {
            hid.split_at(at)
        } else {
            (hid, "")
        }
    });
    let cls = format!("CLS_{base:04X}&SUBCLS_{sub:04X}");
    let pi = format!("&PI_{pi:02X}");
    let vd = format!("ACPI\\VEN_{v}&DEV_{d}");
    let mut hw_out = Vec::with_capacity(hw.len() + 3);
    hw_out.push(vd.clone());
    hw_out.push(format!("{vd}&{cls}{pi}"));
    hw_out.push(format!("{vd}&{cls}"));
    hw_out.extend(hw.into_iter().filter(|id| *id != vd));
    let mut compat_out = vec![
        format!("ACPI\\VEN_{v}&{cls}{pi}"),
        format!("ACPI\\VEN_{v}&{cls}"),
        format!("ACPI\\VEN_{v}"),
        format!("ACPI\\{cls}{pi}"),
        format!("ACPI\\{cls}"),
    ];
    compat_out.extend(compat);
    (hw_out, compat_out)
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
    fn pcie_functions_get_dt_compatible_ids() {
        // A Win32_PnPEntity dump of a VMware VM (PCIe root port 15AD:07A0 rev 01, subsystem
        // 07A0:15AD, class 060400): HardwareID `…&SUBSYS_07A015AD&REV_01`, `…&SUBSYS_07A015AD`,
        // `…&CC_060400`, `…&CC_0604`; CompatibleID `PCI\VEN_15AD&DEV_07A0&REV_01`,
        // `PCI\VEN_15AD&DEV_07A0`, `PCI\VEN_15AD&CC_060400`, `PCI\VEN_15AD&CC_0604`,
        // `PCI\VEN_15AD`, `PCI\CC_060400&DT_4`, `PCI\CC_060400`, `PCI\CC_0604&DT_4`, `PCI\CC_0604`.
        let port = PciFunction {
            vendor: 0x15AD,
            device: 0x07A0,
            subsys_vendor: 0x15AD,
            subsys_device: 0x07A0,
            class: 0x060400,
            revision: 0x01,
        };
        let (hw, compat) = pci_express_ids(&port, Some(4));
        assert_eq!(
            hw,
            [
                r"PCI\VEN_15AD&DEV_07A0&SUBSYS_07A015AD&REV_01",
                r"PCI\VEN_15AD&DEV_07A0&SUBSYS_07A015AD",
                r"PCI\VEN_15AD&DEV_07A0&CC_060400",
                r"PCI\VEN_15AD&DEV_07A0&CC_0604",
            ]
        );
        assert_eq!(
            compat,
            [
                r"PCI\VEN_15AD&DEV_07A0&REV_01",
                r"PCI\VEN_15AD&DEV_07A0",
                r"PCI\VEN_15AD&CC_060400",
                r"PCI\VEN_15AD&CC_0604",
                r"PCI\VEN_15AD",
                r"PCI\CC_060400&DT_4",
                r"PCI\CC_060400",
                r"PCI\CC_0604&DT_4",
                r"PCI\CC_0604",
            ]
        );
        // The vmxnet3 endpoint 15AD:07B0 rev 01 (class 020000), compatible IDs as a script copied
        // them from Windows: `…&DT_0` for a PCI Express endpoint (type 0).
        let nic = PciFunction {
            device: 0x07B0,
            subsys_device: 0x07B0,
            class: 0x020000,
            ..port
        };
        let (_, compat) = pci_express_ids(&nic, Some(0));
        assert_eq!(
            compat[5..],
            [
                r"PCI\CC_020000&DT_0",
                r"PCI\CC_020000",
                r"PCI\CC_0200&DT_0",
                r"PCI\CC_0200",
            ]
        );
        assert_eq!(pci_ids(&nic).1.len(), 7, "no PCIe capability, no DT_");
    }

    #[test]
    fn a_function_without_subsystem_ids_has_rev_and_bare_as_hardware_ids() {
        // pci.sys id.c (Microsoft source text, Windows 10 era; search-index file 13492047778):
        // PciQueryHardwareIDs writes `…&SUBSYS_%08X&REV_%02X`, `…&SUBSYS_%08X`, then
        // `if (subsystem == 0)` `…&REV_%02X` and `PCI\VEN_%04X&DEV_%04X`, then the `&CC_` forms;
        // PciQueryCompatibleIDs writes `REV` and bare only `if (subsystem != 0)`. Same in the
        // Windows Server 2003 PciQueryId (selfrender/Windows-Server-2003 base/busdrv/pci/id.c
        // @ b80a07e2). A real function without subsystem IDs: the host bridge 8086:0D57 of
        // `fixtures/sysfs/this-vm` (recorded from the build machine's /sys, `subsystem_vendor`
        // and `subsystem_device` 0x0000; sysfs::tests::this_vm_recorded). Not a Broadwell-U root
        // port such as 9C9A: on Lenovo boards it carries the Subsystem ID capability [17aa:5034]
        // (fixtures/sysfs README, probes T, U, V), so Windows lists SUBSYS_503417AA for it.
        let host = PciFunction {
            vendor: 0x8086,
            device: 0x0D57,
            subsys_vendor: 0,
            subsys_device: 0,
            class: 0x060000,
            revision: 0x00,
        };
        let (hw, compat) = pci_ids(&host);
        assert_eq!(
            hw,
            [
                r"PCI\VEN_8086&DEV_0D57&SUBSYS_00000000&REV_00",
                r"PCI\VEN_8086&DEV_0D57&SUBSYS_00000000",
                r"PCI\VEN_8086&DEV_0D57&REV_00",
                r"PCI\VEN_8086&DEV_0D57",
                r"PCI\VEN_8086&DEV_0D57&CC_060000",
                r"PCI\VEN_8086&DEV_0D57&CC_0600",
            ]
        );
        assert_eq!(
            compat,
            [
                r"PCI\VEN_8086&CC_060000",
                r"PCI\VEN_8086&CC_0600",
                r"PCI\VEN_8086",
                r"PCI\CC_060000",
                r"PCI\CC_0600",
            ]
        );
        // The `DT_` rule is separate from the subsystem one in id.c (PciQueryCompatibleIDs adds
        // the `&DT_%01X` forms under `Device->ExpressPort != NULL`, not under the subsystem
        // test): the same function given an Express port type keeps its six hardware IDs and
        // gains the DT_ forms before their class IDs. No function of the trees has both (every
        // root port there has a Subsystem ID capability), so this pairing is synthetic.
        let (hw4, compat4) = pci_express_ids(&host, Some(4));
        assert_eq!(hw4, hw);
        assert_eq!(compat4[..3], compat[..3]);
        assert_eq!(
            compat4[3..],
            [
                r"PCI\CC_060000&DT_4",
                r"PCI\CC_060000",
                r"PCI\CC_0600&DT_4",
                r"PCI\CC_0600",
            ]
        );
        // One of the two subsystem halves non-zero is "a subsystem ID": the 4 + 7 ladder.
        let half = PciFunction {
            subsys_vendor: 0x17AA,
            ..host
        };
        let (hw, compat) = pci_ids(&half);
        assert_eq!(hw.len(), 4);
        assert_eq!(
            compat[..2],
            [r"PCI\VEN_8086&DEV_0D57&REV_00", r"PCI\VEN_8086&DEV_0D57"]
        );
    }

    #[test]
    fn express_port_follows_pci_sys_topology_check() {
        // pci.sys expressport.c ExpressProcessNewPort / ExpressValidateFabricTopology (cited at
        // express_port_type): DT_ only for a function pci.sys keeps an ExpressPort for.
        let cfg = |reg: u8, devctl2: u8| {
            let mut c = vec![0u8; 256];
            c[6] = 0x10;
            c[0x34] = 0x40;
            c[0x40] = 0x10;
            c[0x42] = reg;
            c[0x40 + 0x28] = devctl2;
            c
        };
        let root_port = cfg(0x42, 0);
        let endpoint = cfg(0x02, 0);
        let behind_root_port = |device_number| PciParent::Bridge {
            express_type: Some(4),
            ari_forwarding: false,
            device_number,
        };
        assert_eq!(express_port_type(&root_port, PciParent::RootBus), Some(4));
        assert_eq!(
            express_port_type(&cfg(0x92, 0), PciParent::RootBus),
            Some(9)
        );
        assert_eq!(
            express_port_type(&cfg(0xA2, 0), PciParent::RootBus),
            Some(10)
        );
        assert_eq!(express_port_type(&endpoint, behind_root_port(0)), Some(0));
        assert_eq!(
            express_port_type(&cfg(0x12, 0), behind_root_port(0)),
            Some(1)
        );
        // Root ports, RCiEPs behind a bridge; endpoints on a root bus: validation fails.
        assert_eq!(express_port_type(&root_port, behind_root_port(0)), None);
        assert_eq!(express_port_type(&cfg(0x92, 0), behind_root_port(0)), None);
        assert_eq!(express_port_type(&endpoint, PciParent::RootBus), None);
        // An endpoint off device 0 needs ARI forwarding on its bridge; none under an upstream
        // switch port or a conventional bridge.
        assert_eq!(express_port_type(&endpoint, behind_root_port(3)), None);
        let ari = PciParent::Bridge {
            express_type: Some(4),
            ari_forwarding: true,
            device_number: 3,
        };
        assert_eq!(express_port_type(&endpoint, ari), Some(0));
        let upstream = PciParent::Bridge {
            express_type: Some(5),
            ari_forwarding: false,
            device_number: 0,
        };
        assert_eq!(express_port_type(&endpoint, upstream), None);
        assert_eq!(express_port_type(&cfg(0x62, 0), upstream), Some(6));
        assert_eq!(express_port_type(&cfg(0x62, 0), behind_root_port(0)), None);
        let conventional = PciParent::Bridge {
            express_type: None,
            ari_forwarding: false,
            device_number: 0,
        };
        assert_eq!(express_port_type(&endpoint, conventional), None);
        // PCI-to-PCIe bridges (8) always fail; capability version 0 makes no port.
        assert_eq!(express_port_type(&cfg(0x82, 0), PciParent::Unknown), None);
        assert_eq!(express_port_type(&cfg(0x40, 0), PciParent::RootBus), None);
        // Parent unknown: the type is kept for the defined types.
        assert_eq!(express_port_type(&endpoint, PciParent::Unknown), Some(0));
        assert!(pcie_ari_forwarding(&cfg(0x42, 0x20)));
        assert!(!pcie_ari_forwarding(&root_port));
    }

    #[test]
    fn pci_slots_parse_kernel_and_lspci_names() {
        // Kernel names (drivers/pci/probe.c "%04x:%02x:%02x.%d"), the VMD domain 10000 with five
        // digits, and lspci's form without a domain.
        let slot = |s| PciSlot::parse(s).map(|p| (p.domain, p.bus, p.device, p.function));
        assert_eq!(slot("0000:00:1c.5"), Some((0, 0, 0x1C, 5)));
        assert_eq!(slot("10000:e0:06.0"), Some((0x10000, 0xE0, 6, 0)));
        assert_eq!(slot("03:00.0"), Some((0, 3, 0, 0)));
        assert!(PciSlot::parse("0000:03:00.0").is_some_and(|s| s.has_domain));
        assert!(PciSlot::parse("03:00.0").is_some_and(|s| !s.has_domain));
        for bad in [
            "pci0000:00",
            "2-1.4",
            "2-1:1.0",
            "0000:00:20.0",
            "0000:00:1c.8",
            "000:00:1c.0",
            "0000:000:1c.0",
            "0000:00:1c.",
            "x0000:00:1c.0",
        ] {
            assert_eq!(PciSlot::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parent_is_known_only_where_the_list_shows_it() {
        let at = |s: &str| PciSlot::parse(s).expect("slot");
        let listed = |s: &str, class: u32, secondary: Option<u8>, express_type| PciListed {
            slot: at(s),
            class,
            secondary,
            express_type,
            ari_forwarding: false,
        };
        let port = listed("00:1c.5", 0x060400, Some(0x03), Some(4));
        let host = listed("40:00.0", 0x060000, None, None);
        // An unconfigured bridge (secondary 00, as lspci prints one the kernel left alone)
        // names no bus behind it.
        let unconfigured = listed("00:1c.0", 0x060400, Some(0x00), Some(4));
        let all = [port, host, unconfigured];
        let behind_port = PciParent::Bridge {
            express_type: Some(4),
            ari_forwarding: false,
            device_number: 0,
        };
        assert_eq!(pci_parent_among(at("03:00.0"), &all), behind_port);
        assert_eq!(pci_parent_among(at("00:19.0"), &all), PciParent::RootBus);
        assert_eq!(pci_parent_among(at("40:07.0"), &all), PciParent::RootBus);
        assert_eq!(pci_parent_among(at("05:00.0"), &all), PciParent::Unknown);
        // A partial dump (the function alone): bus 03 is unknown, bus 00 a root bus.
        assert_eq!(pci_parent_among(at("03:00.0"), &[]), PciParent::Unknown);
        assert_eq!(pci_parent_among(at("00:1c.5"), &[]), PciParent::RootBus);
        // Another domain's bridge is not the parent.
        assert_eq!(
            pci_parent_among(at("0001:03:00.0"), &all),
            PciParent::Unknown
        );
    }

    #[test]
    fn pcie_type_comes_from_the_capability_list() {
        // Header with the capability-list status bit, pointer 0x40: a power-management
        // capability (ID 01) linking to the PCI Express one (ID 10) at 0x60, register 0x0042
        // (version 2, type 4 = root port).
        let mut cfg = vec![0u8; 256];
        cfg[6] = 0x10;
        cfg[0x34] = 0x40;
        cfg[0x40] = 0x01;
        cfg[0x41] = 0x60;
        cfg[0x60] = 0x10;
        cfg[0x61] = 0x00;
        cfg[0x62] = 0x42;
        assert_eq!(pcie_type(&cfg), Some(4));
        // The 64 bytes an unprivileged read gives, no status bit, a loop: no type, no panic.
        assert_eq!(pcie_type(&cfg[..64]), None);
        let mut plain = cfg.clone();
        plain[6] = 0;
        assert_eq!(pcie_type(&plain), None);
        let mut looped = cfg.clone();
        looped[0x41] = 0x40;
        looped[0x40] = 0x05;
        assert_eq!(pcie_type(&looped), None);
        assert_eq!(pcie_type(&[]), None);
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
        let (hw, compat) = usb_device_ids(&dev, &intfs, LadderTarget::default());
        assert_eq!(
            hw,
            [r"USB\VID_04F2&PID_B5D8&REV_0017", r"USB\VID_04F2&PID_B5D8"]
        );
        // usbhub3's HUBID_BuildDeviceCompatibleID writes the literal DevClass_00 IDs whatever
        // the device class (here EF/02/01, an IAD device); pbatard/libwdi issue #155 shows the
        // same on build 22000 for the IAD webcam 04F2:B6DD.
        assert_eq!(
            compat,
            [
                r"USB\DevClass_00&SubClass_00&Prot_00",
                r"USB\DevClass_00&SubClass_00",
                r"USB\DevClass_00",
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
        let (_, compat) = usb_device_ids(&dev, &intfs, LadderTarget::default());
        assert_eq!(
            compat,
            [
                r"USB\Class_03&SubClass_01&Prot_02",
                r"USB\Class_03&SubClass_01",
                r"USB\Class_03"
            ]
        );
    }

    /// The OSR USB-FX2 board 0547:1002 (device class FF/00/00, bcdDevice 0000) of Microsoft's
    /// `pnputil /enum-devices /problem /deviceids` output in [WDD] "How to test a driver package
    /// (manual deployment)" (ms.date 2025-02-25): the order usbhub3's
    /// `HUBID_BuildClassCompatibleID` writes on 22621 and later.
    fn osr_fx2() -> UsbDevice {
        UsbDevice {
            vendor: 0x0547,
            product: 0x1002,
            bcd_device: 0x0000,
            class: 0xFF,
            subclass: 0x00,
            protocol: 0x00,
            num_configurations: 1,
        }
    }

    #[test]
    fn usb_compat_vid_ids_come_first_on_22621_and_later() {
        let intfs = [UsbInterface {
            number: 0,
            class: 0xFF,
            subclass: 0,
            protocol: 0,
        }];
        let (hw, compat) = usb_device_ids(&osr_fx2(), &intfs, LadderTarget::for_build(22631));
        assert_eq!(
            hw,
            [r"USB\VID_0547&PID_1002&REV_0000", r"USB\VID_0547&PID_1002"]
        );
        // Byte for byte the Microsoft listing (upper-case hex, %04X / %02X).
        assert_eq!(
            compat,
            [
                r"USB\COMPAT_VID_0547&Class_FF&SubClass_00&Prot_00",
                r"USB\COMPAT_VID_0547&Class_FF&SubClass_00",
                r"USB\COMPAT_VID_0547&Class_FF",
                r"USB\Class_FF&SubClass_00&Prot_00",
                r"USB\Class_FF&SubClass_00",
                r"USB\Class_FF",
            ]
        );
        // 22621 (22H2) shares usbhub3 with 22631; 26100 (24H2) has them (11-24H2/USBHUB3).
        for build in [22621, 26100] {
            let (_, c) = usb_device_ids(&osr_fx2(), &intfs, LadderTarget::for_build(build));
            assert_eq!(c.len(), 6, "build {build}");
        }
        // Build 22000 (11-21H2/USBHUB3) and Windows 10 19045 have only the class IDs, so a
        // class-matching INF is compatible ID #0 there and #3 on 23H2.
        for target in [
            LadderTarget::for_build(22000),
            LadderTarget::for_build(19045),
            LadderTarget::default(),
        ] {
            let (_, c) = usb_device_ids(&osr_fx2(), &intfs, target);
            assert_eq!(c, compat[3..], "{target:?}");
        }
    }

    #[test]
    fn usb_composite_parent_gets_compat_vid_devclass_ids_with_prot00() {
        // usbhub3 HUBID_BuildDeviceCompatibleID (11-23H2 … 11-25H2): `Prot00` without the
        // underscore is Windows' own spelling. Expected list: the `pnputil /enum-devices /ids`
        // output for the class-0 composite device 045E:0840 (bcdDevice 2.15) in [WDD]
        // usbcon/usb-device-specific-registry-settings.md (2023); its interfaces are not listed
        // there, two HID interfaces stand in (any two make it composite).
        let dev = UsbDevice {
            vendor: 0x045E,
            product: 0x0840,
            bcd_device: 0x0215,
            class: 0,
            subclass: 0,
            protocol: 0,
            num_configurations: 1,
        };
        let intfs = [
            UsbInterface {
                number: 0,
                class: 3,
                subclass: 1,
                protocol: 1,
            },
            UsbInterface {
                number: 1,
                class: 3,
                subclass: 0,
                protocol: 0,
            },
        ];
        let (hw, compat) = usb_device_ids(&dev, &intfs, LadderTarget::for_build(26100));
        assert_eq!(
            hw,
            [r"USB\VID_045E&PID_0840&REV_0215", r"USB\VID_045E&PID_0840"]
        );
        assert_eq!(
            compat,
            [
                r"USB\COMPAT_VID_045E&DevClass_00&SubClass_00&Prot00",
                r"USB\COMPAT_VID_045E&DevClass_00&SubClass_00",
                r"USB\COMPAT_VID_045E&DevClass_00",
                r"USB\DevClass_00&SubClass_00&Prot_00",
                r"USB\DevClass_00&SubClass_00",
                r"USB\DevClass_00",
                r"USB\COMPOSITE",
            ]
        );
        // The usbccgp children are not usbhub3's: no COMPAT_VID forms on any build (a Windows 11
        // usbmidi2-era listing, Valeton GP-180, shows `USB\CLASS_01&SUBCLASS_03&PROT_00` first
        // for MI_03 under a COMPAT_VID parent).
        let (_, c) = usb_interface_ids(&dev, &intfs[0]);
        assert!(c.iter().all(|id| !id.contains("COMPAT_VID")), "{c:?}");
    }

    #[test]
    fn hubs_report_only_the_usb20_or_usb30_hub_id() {
        // usbhub3 HUBID_BuildCompatibleID sends hubs to HUBID_BuildHubCompatibleID, which
        // assigns exactly one ID, `USB\USB20_HUB` (full/high speed) or `USB\USB30_HUB`
        // (SuperSpeed), in 11-21H2 … 11-25H2/USBHUB3; public Windows captures agree that it is
        // a generic hub's sole compatible ID (e.g. the isUSBHub notes quoted in the README).
        let hub = |vendor, product, protocol| UsbDevice {
            vendor,
            product,
            bcd_device: 0x9091,
            class: 9,
            subclass: 0,
            protocol,
            num_configurations: 1,
        };
        let intf = [UsbInterface {
            number: 0,
            class: 9,
            subclass: 0,
            protocol: 0,
        }];
        for target in [LadderTarget::default(), LadderTarget::for_build(26100)] {
            // VIA VL812 2109:0812: its SuperSpeed hub (protocol 3) and its USB 2 hub (1 = single TT).
            let (hw, c) = usb_device_ids(&hub(0x2109, 0x0812, 3), &intf, target);
            assert_eq!(hw[0], r"USB\VID_2109&PID_0812&REV_9091");
            assert_eq!(c, [r"USB\USB30_HUB"]);
            let (_, c) = usb_device_ids(&hub(0x2109, 0x2812, 1), &intf, target);
            assert_eq!(c, [r"USB\USB20_HUB"]);
            // Multi-TT (2) and full-speed (0) hubs are USB 2.0 hubs too.
            for p in [0, 2] {
                let (_, c) = usb_device_ids(&hub(0x05E3, 0x0608, p), &intf, target);
                assert_eq!(c, [r"USB\USB20_HUB"]);
            }
        }
    }

    #[test]
    fn usbhub_sys_lists_differ_from_usbhub3_for_hubs_and_composite_compat_vid() {
        // usbhub.sys (USB 2.0 stack, under EHCI/OHCI/UHCI): UsbhBuildCompatibleID has no hub
        // branch — a hub takes UsbhBuildClassCompatibleID's class triple, with the COMPAT_VID
        // three of UsbhBuildVendorSpecificCompatibleIDs before it on 22621+ (decompiled
        // 11-21H2/usbhub: no COMPAT_VID; 11-23H2, 11-24H2, 11-25H2/usbhub: present).
        let hub = UsbDevice {
            vendor: 0x8087,
            product: 0x0024,
            bcd_device: 0x0000,
            class: 9,
            subclass: 0,
            protocol: 1,
            num_configurations: 1,
        };
        let intf = [UsbInterface {
            number: 0,
            class: 9,
            subclass: 0,
            protocol: 0,
        }];
        let (hw, c) = usb_device_ids_on(&hub, &intf, LadderTarget::default(), UsbStack::Usb2);
        assert_eq!(
            hw,
            [r"USB\VID_8087&PID_0024&REV_0000", r"USB\VID_8087&PID_0024"]
        );
        assert_eq!(
            c,
            [
                r"USB\Class_09&SubClass_00&Prot_01",
                r"USB\Class_09&SubClass_00",
                r"USB\Class_09",
            ]
        );
        let (_, c) = usb_device_ids_on(&hub, &intf, LadderTarget::for_build(22000), UsbStack::Usb2);
        assert_eq!(c.len(), 3, "no COMPAT_VID in 11-21H2/usbhub: {c:?}");
        let (_, c) = usb_device_ids_on(&hub, &intf, LadderTarget::for_build(22631), UsbStack::Usb2);
        assert_eq!(
            c,
            [
                r"USB\COMPAT_VID_8087&Class_09&SubClass_00&Prot_01",
                r"USB\COMPAT_VID_8087&Class_09&SubClass_00",
                r"USB\COMPAT_VID_8087&Class_09",
                r"USB\Class_09&SubClass_00&Prot_01",
                r"USB\Class_09&SubClass_00",
                r"USB\Class_09",
            ]
        );
        // A composite: UsbhBuildVendorSpecificCompatibleIDs appends `&Prot_nn` with a zeroed
        // protocol (`Prot_00`, where usbhub3 writes `Prot00`), then UsbhBuildDeviceCompatibleID
        // the 190-byte literal of the four DevClass_00/COMPOSITE IDs.
        let webcam = UsbDevice {
            vendor: 0x04F2,
            product: 0xB5D8,
            bcd_device: 0x0017,
            class: 0xEF,
            subclass: 2,
            protocol: 1,
            num_configurations: 1,
        };
        let video = [
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
        ];
        let target = LadderTarget::for_build(26100);
        let (_, c2) = usb_device_ids_on(&webcam, &video, target, UsbStack::Usb2);
        let (_, c3) = usb_device_ids_on(&webcam, &video, target, UsbStack::Usb3);
        assert_eq!(
            c2[0],
            r"USB\COMPAT_VID_04F2&DevClass_00&SubClass_00&Prot_00"
        );
        assert_eq!(c3[0], r"USB\COMPAT_VID_04F2&DevClass_00&SubClass_00&Prot00");
        assert_eq!(c2[1..], c3[1..]);
        assert_eq!(c2[6], r"USB\COMPOSITE");
        // Any other device: the same lists from both drivers.
        let fx2 = osr_fx2();
        let vendor_intf = [UsbInterface {
            number: 0,
            class: 0xFF,
            subclass: 0,
            protocol: 0,
        }];
        for target in [LadderTarget::default(), LadderTarget::for_build(22631)] {
            assert_eq!(
                usb_device_ids_on(&fx2, &vendor_intf, target, UsbStack::Usb2),
                usb_device_ids_on(&fx2, &vendor_intf, target, UsbStack::Usb3)
            );
        }
    }

    #[test]
    fn host_controller_classes_pick_the_stack() {
        // [WDD] usbcon/usb-3-0-driver-stack-architecture.md: the USB 3.0 stack for devices on
        // xHCI controllers, the USB 2.0 stack for eHCI, oHCI and uHCI ones (PCI class 0C03,
        // programming interface 30 / 20 / 10 / 00).
        assert_eq!(
            UsbStack::for_controller_class(0x0C0330),
            Some(UsbStack::Usb3)
        );
        for class in [0x0C0320, 0x0C0310, 0x0C0300] {
            assert_eq!(UsbStack::for_controller_class(class), Some(UsbStack::Usb2));
        }
        // A USB device controller (prog-if FE) or anything else is no host controller.
        assert_eq!(UsbStack::for_controller_class(0x0C03FE), None);
        assert_eq!(UsbStack::for_controller_class(0x010601), None);
    }

    #[test]
    fn os_versions_give_the_build() {
        assert_eq!(
            LadderTarget::parse_os("10.0.22631"),
            Some(LadderTarget::for_build(22631))
        );
        assert_eq!(
            LadderTarget::parse_os("10.0.26100.2605"),
            Some(LadderTarget::for_build(26100))
        );
        assert_eq!(LadderTarget::parse_os("10.0"), None);
        assert_eq!(LadderTarget::parse_os("10.0.x"), None);
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
        // An ACPI AHCI controller (_HID AMDI0600, _CLS 01/06/01, as Linux's ahci_platform
        // matches it), with a _CID: acpi.sys's ACPIBusIrpQueryHardwareId adds the two
        // VEN&DEV&CLS forms after VEN&DEV, ACPIBusIrpQueryCompatibleId writes its five class
        // forms before the _CID list (decompiled, 11-21H2/acpi and later). Never `ACPI\010601`.
        let (hw, compat) =
            acpi_ids_with_class("AMDI0600", &["PNP0C01".to_owned()], Some((1, 6, 1)));
        assert_eq!(
            hw,
            [
                r"ACPI\VEN_AMDI&DEV_0600",
                r"ACPI\VEN_AMDI&DEV_0600&CLS_0001&SUBCLS_0006&PI_01",
                r"ACPI\VEN_AMDI&DEV_0600&CLS_0001&SUBCLS_0006",
                r"ACPI\AMDI0600",
                "*AMDI0600",
            ]
        );
        assert_eq!(
            compat,
            [
                r"ACPI\VEN_AMDI&CLS_0001&SUBCLS_0006&PI_01",
                r"ACPI\VEN_AMDI&CLS_0001&SUBCLS_0006",
                r"ACPI\VEN_AMDI",
                r"ACPI\CLS_0001&SUBCLS_0006&PI_01",
                r"ACPI\CLS_0001&SUBCLS_0006",
                r"ACPI\PNP0C01",
                "*PNP0C01",
            ]
        );
        // Without _CLS nothing changes; a HID of neither shape still gets VEN/DEV forms when
        // it has one (split after 4 characters).
        assert_eq!(
            acpi_ids_with_class("PNP0A08", &[], None),
            acpi_ids("PNP0A08", &[])
        );
        let (hw, _) = acpi_ids_with_class("VMGENCTR", &[], Some((0xFF, 0, 0)));
        assert_eq!(hw[0], r"ACPI\VEN_VMGE&DEV_NCTR");
        assert_eq!(hw[3..], [r"ACPI\VMGENCTR", "*VMGENCTR"]);
        let (hw, _) = acpi_ids("LNXPWRBN", &[]);
        assert_eq!(hw, [r"ACPI\FixedButton", "*FixedButton"]);
    }
}
