//! Ranking the candidates of one device: identifier positions, eligibility by decoration,
//! rank, tie-breakers, and the reason every other candidate lost.
//!
//! Tie-breakers (windows-driver-internals.md §3.2): lowest rank; then the newer DriverVer date;
//! then the higher DriverVer version (a missing DriverVer counts as 00/00/0000, 0.0.0.0). Windows
//! "can select any" package when rank, date and version are equal; infuse then takes the first in
//! a stable order — the store's package order (package ids, sorted), then the Models entry's line
//! in the INF — which agrees with Wine's `SetupDiSelectBestCompatDrv` picking
//! the earlier of two equal entries (inf-behaviour.md §F, desc1 over desc2).

use std::cmp::Ordering;
use std::collections::HashMap;

use infuse_driver_store::inf::model::{Arch, Decoration, DriverVer};
use serde::{Serialize, Serializer};

use super::decoration::{ModelsChoice, NotApplicable, applies, has_nt_extension};
use super::score::{IdMatch, Rank, SignatureRules};
use super::target::Target;
use crate::hwid::{Device, id_eq};

/// A driver node as the ranking sees it (from the store index or from an INF model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Store-wide package id.
    pub package: String,
    /// Position of the package in the store's package order (the last tie-breaker).
    pub package_order: u32,
    pub inf: String,
    pub provider: Option<String>,
    /// Every file the package references is present; incomplete packages are never chosen.
    pub complete: bool,
    pub manufacturer: String,
    /// 1-based line of the `[Manufacturer]` entry: identifies the line within the package.
    pub manufacturer_line: u32,
    pub models_section: String,
    #[serde(serialize_with = "ser_decoration")]
    pub decoration: Option<Decoration>,
    pub arch: Arch,
    pub description: String,
    /// The DDInstall section resolved for the node's architecture.
    pub install_section: Option<String>,
    /// 1-based line of the Models entry.
    pub line: u32,
    pub feature_score: u8,
    #[serde(serialize_with = "ser_driver_ver")]
    pub driver_ver: Option<DriverVer>,
    /// The catalog named for the node's architecture is in the package.
    pub catalog_present: bool,
    pub boot_critical: bool,
    /// Already registered in the target image's DriverDatabase (`image::existing`), not a
    /// store package: on a full tie it is kept, since injecting would change nothing Windows
    /// must prefer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_image: bool,
}

fn ser_decoration<S: Serializer>(d: &Option<Decoration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.raw),
        None => s.serialize_none(),
    }
}

fn ser_driver_ver<S: Serializer>(d: &Option<DriverVer>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.to_string()),
        None => s.serialize_none(),
    }
}

impl Node {
    /// Identity of the node within a store: a Models entry is one line of one INF.
    fn key(&self) -> (u32, u32) {
        (self.package_order, self.line)
    }

    fn date_code(&self) -> u32 {
        self.driver_ver.map_or(0, |d| d.date_code())
    }

    fn version_code(&self) -> u64 {
        self.driver_ver.map_or(0, |d| d.version_code())
    }
}

/// Where an ID sits on a Models entry: its hardware ID, or its compatible ID `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfPos {
    Hardware,
    Compatible(u16),
}

/// Combine the device-side and INF-side positions of one matching ID.
pub fn id_match(
    device_hw: Option<u16>,
    device_compat: Option<u16>,
    inf: InfPos,
) -> Option<IdMatch> {
    Some(match (device_hw, device_compat, inf) {
        (Some(i), _, InfPos::Hardware) => IdMatch::HwToHw { i },
        (Some(i), _, InfPos::Compatible(k)) => IdMatch::HwToCompat { i, k },
        (None, Some(j), InfPos::Hardware) => IdMatch::CompatToHw { j },
        (None, Some(j), InfPos::Compatible(k)) => IdMatch::CompatToCompat { j, k },
        (None, None, _) => return None,
    })
}

/// Every node one of the device's IDs reaches, each with its best (lowest) identifier score.
/// `lookup` answers one ID (case-insensitively) with the nodes naming it and where.
pub fn gather<E>(
    device: &Device,
    mut lookup: impl FnMut(&str) -> Result<Vec<(Node, InfPos)>, E>,
) -> Result<Vec<(Node, IdMatch)>, E> {
    let mut best: HashMap<(u32, u32), (Node, IdMatch)> = HashMap::new();
    let all: Vec<&String> = device
        .hardware_ids
        .iter()
        .chain(&device.compatible_ids)
        .collect();
    let positions = device
        .hardware_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id, Some(i as u16), None))
        .chain(
            device
                .compatible_ids
                .iter()
                .enumerate()
                .map(|(j, id)| (id, None, Some(j as u16))),
        );
    for (n, (id, hw, compat)) in positions.enumerate() {
        // An ID listed twice keeps its first (better) position.
        if all[..n].iter().any(|earlier| id_eq(earlier, id)) {
            continue;
        }
        for (node, pos) in lookup(id)? {
            let Some(m) = id_match(hw, compat, pos) else {
                continue;
            };
            match best.get_mut(&node.key()) {
                Some(slot) if m.score() < slot.1.score() => slot.1 = m,
                Some(_) => {}
                None => {
                    best.insert(node.key(), (node, m));
                }
            }
        }
    }
    let mut out: Vec<(Node, IdMatch)> = best.into_values().collect();
    out.sort_by_key(|(n, _)| n.key());
    Ok(out)
}

/// Why a candidate cannot be chosen on this target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Exclusion {
    /// Its Models section is for another architecture.
    WrongArch { section: String, arch: Arch },
    /// Its Models section's decoration does not apply to the target OS.
    Decoration { section: String, why: NotApplicable },
    /// The line's applicable Models section is empty: the INF excludes this OS (§3.3 rule g).
    EmptyModelsSection { section: String },
    /// Another decoration of the same Manufacturer line is closer to the target.
    Superseded { section: String, by: String },
    /// The line's applicable Models section does not exist, or nothing applies.
    NoModelsSection { section: Option<String> },
    /// Files the INF references are missing from the package.
    IncompletePackage,
    /// A vendor plugin rejected it.
    Plugin { plugin: String, why: String },
}

impl std::fmt::Display for Exclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exclusion::WrongArch { section, arch } => {
                write!(f, "wrong architecture: [{section}] is for {arch}")
            }
            Exclusion::Decoration { section, why } => {
                write!(f, "excluded by decoration: [{section}] {why}")
            }
            Exclusion::EmptyModelsSection { section } => {
                write!(
                    f,
                    "excluded by decoration: the applicable Models section [{section}] is empty"
                )
            }
            Exclusion::Superseded { section, by } => write!(
                f,
                "excluded by decoration: [{by}] is closer to the target than [{section}]"
            ),
            Exclusion::NoModelsSection { section: Some(s) } => write!(
                f,
                "excluded by decoration: the applicable Models section [{s}] does not exist"
            ),
            Exclusion::NoModelsSection { section: None } => write!(
                f,
                "excluded by decoration: no decoration of its Manufacturer line applies"
            ),
            Exclusion::IncompletePackage => write!(
                f,
                "package incomplete: files the INF references are missing"
            ),
            Exclusion::Plugin { plugin, why } => {
                write!(f, "rejected by plugin {plugin}: {why}")
            }
        }
    }
}

/// The verdict on one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    Selected,
    /// Eligible, but lost to the winner for this reason.
    Lost {
        why: String,
    },
    Excluded {
        exclusion: Exclusion,
    },
}

/// One candidate with its rank decomposed.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub node: Node,
    pub rank: Rank,
    /// `0x00FF0001 = signed | feature FF | HW ID #1 = INF HW ID`.
    pub explanation: String,
    /// The device ID that matched.
    pub matched_id: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What vendor plugins said about it, in the order they said it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plugin_notes: Vec<PluginNote>,
}

/// What a vendor plugin's `select` said about a candidate, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginNote {
    pub plugin: String,
    #[serde(flatten)]
    pub action: PluginAction,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PluginAction {
    /// Excluded ([`Exclusion::Plugin`]).
    Reject,
    /// First among the candidates of equal (effective) rank, before the DriverVer tie-breakers.
    Prefer,
    /// Added to the rank value (negative is better), clamped to the rank's 32-bit range.
    Adjust { delta: i32 },
}

impl std::fmt::Display for PluginNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.action {
            PluginAction::Reject => write!(f, "plugin {} rejects: {}", self.plugin, self.reason),
            PluginAction::Prefer => write!(f, "plugin {} prefers: {}", self.plugin, self.reason),
            PluginAction::Adjust { delta } => write!(
                f,
                "plugin {} adjusts the rank by {delta:+}: {}",
                self.plugin, self.reason
            ),
        }
    }
}

/// A vendor plugin that failed on a device: the device keeps Windows' choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginFailure {
    pub plugin: String,
    /// `out_of_fuel`, `deadline`, `memory`, `trap`, `invalid_output`, `plugin_error`, …
    pub kind: String,
    pub message: String,
}

impl Candidate {
    /// The DDInstall section, or "" when the Models line gives none.
    pub fn install(&self) -> &str {
        self.node.install_section.as_deref().unwrap_or("")
    }

    /// `selected`, `lost: <why>`, or the exclusion reason.
    pub fn verdict_text(&self) -> String {
        match &self.verdict {
            Verdict::Selected => "selected".to_owned(),
            Verdict::Lost { why } => format!("lost: {why}"),
            Verdict::Excluded { exclusion } => exclusion.to_string(),
        }
    }

    /// The rank value after plugin adjustments (the Windows rank when there are none).
    pub fn effective_rank(&self) -> u32 {
        let delta: i64 = self
            .plugin_notes
            .iter()
            .map(|n| match n.action {
                PluginAction::Adjust { delta } => i64::from(delta),
                _ => 0,
            })
            .sum();
        (i64::from(self.rank.value()) + delta).clamp(0, i64::from(u32::MAX)) as u32
    }

    fn preferred_by(&self) -> Option<&PluginNote> {
        self.plugin_notes
            .iter()
            .find(|n| n.action == PluginAction::Prefer)
    }
}

/// The outcome for one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceMatch {
    pub device: Device,
    /// Eligible candidates best first, then excluded ones; the winner, if any, is first.
    pub candidates: Vec<Candidate>,
    /// Vendor plugins that failed on this device (its candidates are as Windows ranks them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plugin_failures: Vec<PluginFailure>,
}

impl DeviceMatch {
    pub fn winner(&self) -> Option<&Candidate> {
        self.candidates
            .first()
            .filter(|c| c.verdict == Verdict::Selected)
    }

    /// Needed to boot: the device says so, or a candidate's driver is boot-critical.
    pub fn boot_critical(&self) -> bool {
        self.device.boot_critical || self.candidates.iter().any(|c| c.node.boot_critical)
    }

    /// The hook for vendor plugins: attach `notes` (by index into `candidates`) and rank again.
    /// A rejected candidate becomes [`Exclusion::Plugin`]; an adjusted one ranks by its
    /// [`Candidate::effective_rank`]; a preferred one comes first among equal ranks. Notes on
    /// candidates already excluded are kept for `--explain` but do not make them eligible.
    pub fn apply_plugin_notes(&mut self, notes: Vec<(usize, PluginNote)>) {
        for (i, note) in notes {
            if let Some(c) = self.candidates.get_mut(i) {
                c.plugin_notes.push(note);
            }
        }
        let mut eligible = Vec::new();
        let mut excluded = Vec::new();
        for mut c in std::mem::take(&mut self.candidates) {
            if matches!(c.verdict, Verdict::Excluded { .. }) {
                excluded.push(c);
                continue;
            }
            let rejected = c
                .plugin_notes
                .iter()
                .find(|n| n.action == PluginAction::Reject)
                .map(|n| Exclusion::Plugin {
                    plugin: n.plugin.clone(),
                    why: n.reason.clone(),
                });
            match rejected {
                Some(exclusion) => {
                    c.verdict = Verdict::Excluded { exclusion };
                    excluded.push(c);
                }
                None => eligible.push(c),
            }
        }
        self.candidates = settle(eligible, excluded);
    }
}

/// The order among eligible candidates (§3.2, then the stable order of the module docs).
fn better(a: &Candidate, b: &Candidate) -> Ordering {
    a.effective_rank()
        .cmp(&b.effective_rank())
        .then_with(|| b.preferred_by().is_some().cmp(&a.preferred_by().is_some()))
        .then_with(|| b.node.date_code().cmp(&a.node.date_code()))
        .then_with(|| b.node.version_code().cmp(&a.node.version_code()))
        .then_with(|| b.node.in_image.cmp(&a.node.in_image))
        .then_with(|| a.node.key().cmp(&b.node.key()))
}

fn loss_reason(loser: &Candidate, winner: &Candidate) -> String {
    let (l, w) = (&loser.node, &winner.node);
    let ver = |n: &Node| {
        n.driver_ver
            .map_or_else(|| "none".to_owned(), |d| d.to_string())
    };
    let (le, we) = (loser.effective_rank(), winner.effective_rank());
    let adjusted = le != loser.rank.value() || we != winner.rank.value();
    if le != we && adjusted {
        format!("higher rank after plugin adjustments (0x{le:08X} > 0x{we:08X})")
    } else if le != we {
        format!("higher rank ({} > {})", loser.rank, winner.rank)
    } else if let (Some(p), None) = (winner.preferred_by(), loser.preferred_by()) {
        format!(
            "same rank, plugin {} prefers the winner: {}",
            p.plugin, p.reason
        )
    } else if l.date_code() != w.date_code() {
        format!("same rank, older DriverVer date ({} vs {})", ver(l), ver(w))
    } else if l.version_code() != w.version_code() {
        format!(
            "same rank and date, lower DriverVer version ({} vs {})",
            ver(l),
            ver(w)
        )
    } else if w.in_image && !l.in_image {
        "same rank, date and version as the driver already in the image".to_owned()
    } else {
        "same rank, date and version: later in the stable order (store package order, then INF line)".to_owned()
    }
}

/// Rank a device's candidates. `choice` gives the Models section the node's Manufacturer line
/// contributes on the target (see [`super::decoration::select_models`]).
pub fn rank_device(
    device: &Device,
    hits: Vec<(Node, IdMatch)>,
    mut choice: impl FnMut(&Node) -> ModelsChoice,
    target: &Target,
    rules: SignatureRules,
) -> DeviceMatch {
    let mut eligible = Vec::new();
    let mut excluded = Vec::new();
    for (node, m) in hits {
        let nt = node
            .install_section
            .as_deref()
            .is_some_and(has_nt_extension);
        let rank = Rank {
            signature: rules.classify(node.catalog_present, nt),
            feature: node.feature_score,
            id_match: m,
        };
        let matched_id = match m {
            IdMatch::HwToHw { i } | IdMatch::HwToCompat { i, .. } => {
                device.hardware_ids.get(usize::from(i))
            }
            IdMatch::CompatToHw { j } | IdMatch::CompatToCompat { j, .. } => {
                device.compatible_ids.get(usize::from(j))
            }
        }
        .cloned()
        .unwrap_or_default();
        let exclusion = exclusion(&node, &mut choice, target);
        let c = Candidate {
            explanation: rank.explain(),
            rank,
            matched_id,
            verdict: Verdict::Selected,
            plugin_notes: Vec::new(),
            node,
        };
        match exclusion {
            Some(e) => excluded.push(Candidate {
                verdict: Verdict::Excluded { exclusion: e },
                ..c
            }),
            None => eligible.push(c),
        }
    }
    DeviceMatch {
        device: device.clone(),
        candidates: settle(eligible, excluded),
        plugin_failures: Vec::new(),
    }
}

/// Orders eligible candidates (the first is selected, the others lost to it), then the excluded
/// ones, near-misses (best rank) first.
fn settle(mut eligible: Vec<Candidate>, mut excluded: Vec<Candidate>) -> Vec<Candidate> {
    eligible.sort_by(better);
    if let Some((first, rest)) = eligible.split_first_mut() {
        first.verdict = Verdict::Selected;
        for c in rest {
            c.verdict = Verdict::Lost {
                why: loss_reason(c, first),
            };
        }
    }
    excluded.sort_by(better);
    eligible.extend(excluded);
    eligible
}

fn exclusion(
    node: &Node,
    choice: &mut impl FnMut(&Node) -> ModelsChoice,
    target: &Target,
) -> Option<Exclusion> {
    if let Err(why) = applies(node.decoration.as_ref(), target) {
        return Some(match why {
            NotApplicable::Arch {
                decoration_arch, ..
            } => Exclusion::WrongArch {
                section: node.models_section.clone(),
                arch: decoration_arch,
            },
            why => Exclusion::Decoration {
                section: node.models_section.clone(),
                why,
            },
        });
    }
    let verdict = match choice(node) {
        ModelsChoice::Section { section } if section.eq_ignore_ascii_case(&node.models_section) => {
            None
        }
        ModelsChoice::Section { section } => Some(Exclusion::Superseded {
            section: node.models_section.clone(),
            by: section,
        }),
        ModelsChoice::Empty { section } => Some(Exclusion::EmptyModelsSection { section }),
        ModelsChoice::Missing { section } => Some(Exclusion::NoModelsSection {
            section: Some(section),
        }),
        ModelsChoice::None => Some(Exclusion::NoModelsSection { section: None }),
    };
    verdict.or_else(|| (!node.complete).then_some(Exclusion::IncompletePackage))
}
