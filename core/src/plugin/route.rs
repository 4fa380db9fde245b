//! Which plugins see which devices and packages, and applying `select` to a device's ranked
//! candidates.
//!
//! A device goes to the plugins whose `vendors.pci` / `vendors.usb` list its bus vendor ID
//! (`VEN_xxxx` of a PCI hardware ID, `VID_xxxx` of a USB one). A package goes to the plugins
//! whose `vendors.providers` list its `[Version] Provider` (case-insensitively), or whose vendor
//! IDs appear in the hardware IDs of its models (sdk/wit/plugin.wit, `record vendors`).

use crate::hwid::{Bus, Device};
use crate::rank::{DeviceMatch, PluginAction, PluginFailure, PluginNote, Target};

use super::{Hook, Plugin, PluginError, Vendors, Verdict};

/// The bus vendor ID a hardware ID names: `PCI\VEN_8086&…` → (PCI, 0x8086),
/// `USB\VID_046D&…` → (USB, 0x046D).
pub fn vendor_of_id(id: &str) -> Option<(Bus, u16)> {
    let (enumerator, rest) = id.split_once('\\')?;
    let (bus, tag) = if enumerator.eq_ignore_ascii_case("PCI") {
        (Bus::Pci, "VEN_")
    } else if enumerator.eq_ignore_ascii_case("USB") {
        (Bus::Usb, "VID_")
    } else {
        return None;
    };
    let first = rest.split('&').next()?;
    let hex = first
        .get(..tag.len())
        .filter(|t| t.eq_ignore_ascii_case(tag))
        .and_then(|_| first.get(tag.len()..))?;
    (hex.len() == 4)
        .then(|| u16::from_str_radix(hex, 16).ok())
        .flatten()
        .map(|v| (bus, v))
}

fn lists(v: &Vendors, bus: Bus, id: u16) -> bool {
    match bus {
        Bus::Pci => v.pci.contains(&id),
        Bus::Usb => v.usb.contains(&id),
        _ => false,
    }
}

/// Whether a device is routed to a plugin handling `v`: its first hardware ID with a bus vendor.
pub fn device_routed(v: &Vendors, d: &Device) -> bool {
    d.hardware_ids
        .iter()
        .find_map(|id| vendor_of_id(id))
        .is_some_and(|(bus, id)| lists(v, bus, id))
}

/// Whether a package is routed to a plugin handling `v`.
pub fn package_routed<'a>(
    v: &Vendors,
    provider: &str,
    mut hardware_ids: impl Iterator<Item = &'a str>,
) -> bool {
    v.providers
        .iter()
        .any(|p| p.eq_ignore_ascii_case(provider.trim()))
        || hardware_ids.any(|id| vendor_of_id(id).is_some_and(|(bus, n)| lists(v, bus, n)))
}

/// Runs `select` of every routed plugin (in the order given) on `m`, applying each plugin's
/// decisions before the next one runs. A failing plugin leaves the candidates as they were,
/// is recorded in `m.plugin_failures`, and is returned (for `--strict`).
pub fn apply_select(plugins: &[Plugin], m: &mut DeviceMatch, target: &Target) -> Vec<PluginError> {
    let mut failures = Vec::new();
    for p in plugins {
        if !p.has(Hook::Select) || !device_routed(&p.manifest.vendors, &m.device) {
            continue;
        }
        match p.select(&m.device, target, &m.candidates) {
            Ok(decisions) => {
                let notes = decisions
                    .into_iter()
                    .filter_map(|d| {
                        let (action, reason) = match d.verdict {
                            Verdict::Keep => return None,
                            Verdict::Reject { reason } => (PluginAction::Reject, reason),
                            Verdict::Prefer { reason } => (PluginAction::Prefer, reason),
                            Verdict::Adjust { delta, reason } => {
                                (PluginAction::Adjust { delta }, reason)
                            }
                        };
                        Some((
                            d.candidate as usize,
                            PluginNote {
                                plugin: p.name().to_owned(),
                                action,
                                reason,
                            },
                        ))
                    })
                    .collect::<Vec<_>>();
                if !notes.is_empty() {
                    m.apply_plugin_notes(notes);
                }
            }
            Err(e) => {
                tracing::warn!("{}: {e}", m.device.instance_id);
                m.plugin_failures.push(PluginFailure {
                    plugin: p.name().to_owned(),
                    kind: e.kind().to_owned(),
                    message: e.to_string(),
                });
                failures.push(e);
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(hw: &[&str]) -> Device {
        Device {
            instance_id: format!("{}\\0", hw[0]),
            bus: Bus::from_id(hw[0]),
            hardware_ids: hw.iter().map(|s| s.to_string()).collect(),
            compatible_ids: vec![],
            class_code: None,
            description: None,
            location: None,
            boot_critical: false,
        }
    }

    fn intel() -> Vendors {
        Vendors {
            pci: vec![0x8086],
            usb: vec![0x046d],
            providers: vec!["Intel".into()],
        }
    }

    #[test]
    fn vendor_ids_from_hardware_ids() {
        assert_eq!(
            vendor_of_id(r"PCI\VEN_8086&DEV_15BE&SUBSYS_22AB17AA"),
            Some((Bus::Pci, 0x8086))
        );
        assert_eq!(
            vendor_of_id(r"pci\ven_10ec&dev_8168"),
            Some((Bus::Pci, 0x10ec))
        );
        assert_eq!(
            vendor_of_id(r"USB\VID_046D&PID_C52B"),
            Some((Bus::Usb, 0x046d))
        );
        // Compatible-style IDs without a vendor, other buses, malformed IDs.
        assert_eq!(vendor_of_id(r"PCI\CC_0200"), None);
        assert_eq!(vendor_of_id(r"USB\Class_03&SubClass_01"), None);
        assert_eq!(vendor_of_id(r"HDAUDIO\FUNC_01&VEN_10EC&DEV_0269"), None);
        assert_eq!(vendor_of_id(r"PCI\VEN_80&DEV_1"), None);
    }

    #[test]
    fn devices_route_by_bus_vendor() {
        assert!(device_routed(&intel(), &dev(&[r"PCI\VEN_8086&DEV_15BE"])));
        assert!(device_routed(
            &intel(),
            &dev(&[r"USB\VID_046D&PID_C52B&REV_1201"])
        ));
        assert!(!device_routed(&intel(), &dev(&[r"PCI\VEN_10EC&DEV_8168"])));
        // A USB device whose vendor number equals a listed PCI vendor is not Intel's.
        assert!(!device_routed(&intel(), &dev(&[r"USB\VID_8086&PID_0001"])));
        assert!(!device_routed(&intel(), &dev(&[r"ACPI\PNP0A08"])));
    }

    #[test]
    fn packages_route_by_provider_or_model_vendor() {
        let none = std::iter::empty::<&str>;
        assert!(package_routed(&intel(), "INTEL", none()));
        assert!(!package_routed(&intel(), "Realtek", none()));
        assert!(package_routed(
            &intel(),
            "Contoso",
            [r"PCI\VEN_10EC&DEV_8168", r"PCI\VEN_8086&DEV_1533"].into_iter()
        ));
        assert!(!package_routed(
            &intel(),
            "Contoso",
            [r"PCI\VEN_10EC&DEV_8168"].into_iter()
        ));
    }

    /// Two packages for one device, equal rank; `new.inf` has the newer DriverVer date, so
    /// Windows picks it (windows-driver-internals.md §3.2).
    fn two_candidates() -> DeviceMatch {
        use crate::rank::SignatureRules;
        use crate::rank::memory::MemoryStore;
        use infuse_driver_store::inf::model::Arch;
        let inf = |date: &str| {
            format!(
                "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nProvider=Contoso\r\nDriverVer={date},1.0.0.0\r\n[Manufacturer]\r\nContoso=M,NTamd64\r\n[M.NTamd64]\r\nNet=Inst, PCI\\VEN_8086&DEV_15B8\r\n[Inst.NTamd64]\r\n"
            )
        };
        let mut store = MemoryStore::new();
        store.add_inf("old.inf", inf("01/01/2020").as_bytes(), |_| true);
        store.add_inf("new.inf", inf("01/01/2024").as_bytes(), |_| true);
        let m = store.match_device(
            &dev(&[r"PCI\VEN_8086&DEV_15B8"]),
            &Target::new(10, 0, 22631, Arch::Amd64),
            SignatureRules::CatalogPresent,
        );
        assert_eq!(m.winner().map(|w| w.node.inf.as_str()), Some("new.inf"));
        m
    }

    fn note(action: PluginAction) -> PluginNote {
        PluginNote {
            plugin: "p".into(),
            action,
            reason: "vendor says so".into(),
        }
    }

    fn index(m: &DeviceMatch, inf: &str) -> usize {
        m.candidates
            .iter()
            .position(|c| c.node.inf == inf)
            .expect("candidate")
    }

    #[test]
    fn prefer_wins_among_equal_ranks_before_the_date() {
        let mut m = two_candidates();
        let old = index(&m, "old.inf");
        m.apply_plugin_notes(vec![(old, note(PluginAction::Prefer))]);
        assert_eq!(m.winner().map(|w| w.node.inf.as_str()), Some("old.inf"));
        assert_eq!(
            m.candidates[1].verdict_text(),
            "lost: same rank, plugin p prefers the winner: vendor says so"
        );
    }

    #[test]
    fn adjust_moves_the_rank_and_reject_excludes() {
        let mut m = two_candidates();
        let new = index(&m, "new.inf");
        m.apply_plugin_notes(vec![(new, note(PluginAction::Adjust { delta: 1 }))]);
        let w = m.winner().expect("winner");
        assert_eq!(w.node.inf, "old.inf");
        assert_eq!(m.candidates[1].effective_rank(), w.rank.value() + 1);
        assert!(
            m.candidates[1]
                .verdict_text()
                .starts_with("lost: higher rank after plugin adjustments"),
            "{}",
            m.candidates[1].verdict_text()
        );
        // Clamped to the rank's range rather than wrapping.
        let mut m = two_candidates();
        let new = index(&m, "new.inf");
        m.apply_plugin_notes(vec![(new, note(PluginAction::Adjust { delta: i32::MIN }))]);
        assert_eq!(m.winner().map(|w| w.effective_rank()), Some(0));

        let mut m = two_candidates();
        let new = index(&m, "new.inf");
        m.apply_plugin_notes(vec![(new, note(PluginAction::Reject))]);
        assert_eq!(m.winner().map(|w| w.node.inf.as_str()), Some("old.inf"));
        assert_eq!(
            m.candidates[1].verdict_text(),
            "rejected by plugin p: vendor says so"
        );
    }
}
