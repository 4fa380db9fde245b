//! Windows-exact driver ranking: decoration selection, rank = signature + feature + identifier
//! score, tie-breakers — with every candidate kept and explained.
//!
//! The facts are those of `../shared/reference/windows-driver-internals.md` §3:
//! - [`decoration`]: each Manufacturer line contributes the Models section of the one
//!   TargetOSVersion decoration that applies to the [`Target`] (or none: wrong architecture,
//!   newer OS, empty section…); DDInstall sections are resolved `.NT<arch>` → `.NT` → plain by
//!   the INF model.
//! - [`score`]: `rank = SS << 24 | GG << 16 | THHH` — the signature score from the package's
//!   catalog state under named [`SignatureRules`], the DDInstall's FeatureScore, and the
//!   identifier score from the device-list position (i, j) and the Models-entry position (k).
//! - [`select`]: lowest rank wins; then the newer DriverVer date, then the higher version, then a
//!   stable, documented order. Every other candidate is kept with the reason it lost or was
//!   excluded.
//! - [`store`] ranks against an infuse store (its memory-mapped index); [`memory`] against INF
//!   files held in memory (the golden tests use it).
//!
//! **Invariant:** ranking is pure: given the same devices, nodes and target it gives the same
//! order, whatever the order the index answered in.

use serde::Serialize;

pub mod decoration;
pub mod memory;
pub mod score;
pub mod select;
pub mod store;
pub mod target;

pub use decoration::{LineView, ModelsChoice, select_models};
pub use score::{IdMatch, Rank, Signature, SignatureRules};
pub use select::{
    Candidate, DeviceMatch, Exclusion, Node, PluginAction, PluginFailure, PluginNote, Verdict,
};
pub use target::Target;

/// Coverage of a whole machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub devices: usize,
    pub covered: usize,
    pub uncovered: usize,
    /// Uncovered devices that are needed to boot (mass-storage controllers, boot-start drivers).
    pub boot_critical_uncovered: usize,
    /// Covered, but only through a compatible ID of the device (a generic driver).
    pub covered_by_compatible_id_only: usize,
    /// Covered by a driver already in the target image (`match --image`): nothing to inject.
    pub covered_by_image: usize,
}

impl Summary {
    pub fn of(results: &[DeviceMatch]) -> Summary {
        let mut s = Summary {
            devices: results.len(),
            ..Summary::default()
        };
        for r in results {
            match r.winner() {
                Some(w) => {
                    s.covered += 1;
                    if w.node.in_image {
                        s.covered_by_image += 1;
                    }
                    if w.rank.id_match.is_compatible_only() {
                        s.covered_by_compatible_id_only += 1;
                    }
                }
                None => {
                    s.uncovered += 1;
                    if r.boot_critical() {
                        s.boot_critical_uncovered += 1;
                    }
                }
            }
        }
        s
    }
}

/// What `infuse match` reports.
#[derive(Debug, Clone, Serialize)]
pub struct MatchReport {
    pub target: Target,
    /// The signature rule set, named and described.
    pub signature_rules: &'static str,
    pub source: String,
    pub store: String,
    /// The offline image whose drivers were ranked with the store's (`match --image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub devices: Vec<DeviceMatch>,
    pub summary: Summary,
}

impl MatchReport {
    /// Ranks every device of `inventory` that has an ID against the store behind `matcher`.
    pub fn build(
        matcher: &store::StoreMatcher,
        inventory: &crate::hwid::Inventory,
        target: Target,
        rules: SignatureRules,
        store_label: String,
    ) -> Result<MatchReport, store::MatchError> {
        Self::build_with(matcher, inventory, target, rules, store_label, None)
    }

    /// [`MatchReport::build`] with extra candidates (the drivers already in an image).
    pub fn build_with(
        matcher: &store::StoreMatcher,
        inventory: &crate::hwid::Inventory,
        target: Target,
        rules: SignatureRules,
        store_label: String,
        extra: Option<&dyn store::ExtraNodes>,
    ) -> Result<MatchReport, store::MatchError> {
        let mut devices = Vec::with_capacity(inventory.devices.len());
        for d in inventory
            .devices
            .iter()
            .filter(|d| !d.hardware_ids.is_empty() || !d.compatible_ids.is_empty())
        {
            devices.push(matcher.match_device_with(d, &target, rules, extra)?);
        }
        let summary = Summary::of(&devices);
        Ok(MatchReport {
            target,
            signature_rules: rules.describe(),
            source: inventory.source.clone(),
            store: store_label,
            image: extra.map(|x| x.label()),
            devices,
            summary,
        })
    }
}

#[cfg(test)]
mod golden;
