//! The INF semantic model: `[Version]`, `[Manufacturer]` with decorations, models entries,
//! DDInstall resolution per architecture, services, files.
//!
//! [`Model::new`] reads a parsed [`Inf`] once and never fails: what it cannot use becomes a
//! [`Diagnostic`] with the line it is about. It does no IO (it builds for `wasm32-wasip2`); the
//! store layer turns the [`FileCopy`] list into real files.
//!
//! Shape: a Manufacturer line names a Models base and TargetOSVersion decorations; every
//! decorated (and the undecorated) Models section that exists becomes a [`Models`] with its
//! architecture; each entry's install section is resolved for that architecture
//! (`.NT<arch>` → `.NT` → undecorated, inf-behaviour.md §E) into a shared [`DdInstall`].
//! [`Model::nodes`] walks the result as driver nodes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::inf::{Diagnostic, Inf, Section};

pub mod addreg;
mod decoration;
mod install;
pub mod paths;
mod version;

pub use addreg::{InstallRegistry, RegAction, RegData, RegEntry, RegRoot, install_registry};
pub use decoration::{Arch, Decoration, DecorationError, parse_number};
pub use install::{
    DdInstall, FileCopy, SERVICE_BOOT_START, SPSVCINST_ASSOCSERVICE, Service, candidates,
};
pub use version::{CatalogFile, DriverVer, VersionInfo};

/// The semantic view of one INF file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    pub version: VersionInfo,
    pub manufacturers: Vec<Manufacturer>,
    /// Every DDInstall resolution the models entries need, shared by index.
    pub installs: Vec<DdInstall>,
    /// `$ARCH$`-style placeholders remain: the INF was never run through stampinf.
    pub unstamped: bool,
    pub diagnostics: Vec<Diagnostic>,
}

/// One `[Manufacturer]` line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manufacturer {
    pub name: String,
    pub line: u32,
    /// The Models base name (`VirtioScsi`).
    pub models_base: String,
    /// The TargetOSVersion decorations listed on the line, parsed.
    pub decorations: Vec<Decoration>,
    /// The Models sections that exist for this line.
    pub models: Vec<Models>,
}

/// One Models section (decorated or not) and its entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Models {
    /// The section name as written (`VirtioScsi.NTamd64.10.0`).
    pub section: String,
    /// `None` for the undecorated section.
    pub decoration: Option<Decoration>,
    /// The architecture the section installs on (undecorated and `NT` mean x86, §3.3 rule h).
    pub arch: Arch,
    pub entries: Vec<ModelEntry>,
}

/// One Models line: `description = install-section, hw-id[, compatible-id...]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    pub description: String,
    /// `None` when the line leaves the install section empty.
    pub install_section: Option<String>,
    /// Empty when the line gives only compatible IDs.
    pub hardware_id: String,
    pub compatible_ids: Vec<String>,
    pub line: u32,
    /// Index into [`Model::installs`].
    pub install: Option<usize>,
}

/// Why a driver node counts as boot-critical (windows-driver-internals.md §1.2, a heuristic: no
/// Microsoft text gives DISM's exact test).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootCritical {
    /// The associated service (AddService flag 0x2) has StartType 0 (SERVICE_BOOT_START).
    pub boot_start_service: bool,
    /// The package's class is a storage-controller class (`SCSIAdapter`, `HDC`): "storage
    /// drivers may sometimes need to be added … (boot-critical)".
    pub storage_class: bool,
}

impl BootCritical {
    pub fn any(self) -> bool {
        self.boot_start_service || self.storage_class
    }
}

/// Storage-controller setup classes treated as boot-critical (§1.2).
pub const STORAGE_CLASSES: [&str; 2] = ["SCSIAdapter", "HDC"];

/// A driver node: one Models entry in one Models section, with its resolved install section.
#[derive(Debug, Clone, Copy)]
pub struct NodeRef<'m> {
    pub manufacturer: &'m Manufacturer,
    pub models: &'m Models,
    pub entry: &'m ModelEntry,
    pub install: Option<&'m DdInstall>,
}

impl NodeRef<'_> {
    /// FeatureScore of the DDInstall section, 0xFF when absent (§3.1).
    pub fn feature_score(&self) -> u8 {
        self.install.and_then(|i| i.feature_score).unwrap_or(0xFF)
    }
}

impl Model {
    /// Reads the model out of a parsed INF.
    pub fn new(inf: &Inf) -> Model {
        let sections = Sections::new(inf);
        let mut diags = Vec::new();
        let version = version::read_version(&sections, &mut diags);
        let mut model = Model {
            version,
            ..Model::default()
        };
        model.unstamped = inf
            .sections
            .iter()
            .any(|s| s.name().to_ascii_uppercase().contains("$ARCH$"));
        let mut install_ids: HashMap<(String, Arch), usize> = HashMap::new();
        if let Some(mfg) = sections.get("Manufacturer") {
            for line in mfg.lines() {
                let mut fields = line.fields().map(|f| f.trim());
                let Some(base) = fields.next().filter(|b| !b.is_empty()) else {
                    diags.push(Diagnostic {
                        line: line.number(),
                        message: "[Manufacturer] line names no Models section".into(),
                    });
                    continue;
                };
                let name = line.key().map(str::trim).unwrap_or(base).to_string();
                let mut m = Manufacturer {
                    name,
                    line: line.number(),
                    models_base: base.to_string(),
                    decorations: Vec::new(),
                    models: Vec::new(),
                };
                for raw in fields.filter(|f| !f.is_empty()) {
                    match Decoration::parse(raw) {
                        Ok(d) => m.decorations.push(d),
                        Err(e) => {
                            if matches!(e, DecorationError::Unstamped(_)) {
                                model.unstamped = true;
                            }
                            diags.push(Diagnostic {
                                line: line.number(),
                                message: format!("[Manufacturer] {e}"),
                            });
                        }
                    }
                }
                let mut seen = Vec::new();
                let decorated = m
                    .decorations
                    .iter()
                    .map(|d| (Some(d), format!("{base}.{}", d.raw)));
                for (deco, name) in decorated.chain([(None, base.to_string())]) {
                    let Some(section) = sections.get(&name) else {
                        if deco.is_some() {
                            diags.push(Diagnostic {
                                line: line.number(),
                                message: format!(
                                    "[Manufacturer] Models section [{name}] not found"
                                ),
                            });
                        }
                        continue;
                    };
                    let key = section.name().to_lowercase();
                    if seen.contains(&key) {
                        continue;
                    }
                    seen.push(key);
                    let arch = deco.map_or(Arch::X86, Decoration::effective_arch);
                    let entries = read_entries(section, &mut diags);
                    m.models.push(Models {
                        section: section.name().to_owned(),
                        decoration: deco.cloned(),
                        arch,
                        entries,
                    });
                }
                model.manufacturers.push(m);
            }
        }
        // Resolve every (install section, arch) once.
        for m in &mut model.manufacturers {
            for models in &mut m.models {
                for entry in &mut models.entries {
                    let Some(base) = entry.install_section.clone() else {
                        continue;
                    };
                    let key = (base.to_lowercase(), models.arch);
                    let idx = *install_ids.entry(key).or_insert_with(|| {
                        let inst = install::read_install(&sections, &base, models.arch, &mut diags);
                        if inst.section.is_none() {
                            diags.push(Diagnostic {
                                line: entry.line,
                                message: format!(
                                    "install section [{base}] not found for {} (tried {})",
                                    models.arch,
                                    candidates(&base, models.arch).join(", ")
                                ),
                            });
                        }
                        model.installs.push(inst);
                        model.installs.len() - 1
                    });
                    entry.install = Some(idx);
                }
            }
        }
        if model.unstamped {
            diags.push(Diagnostic {
                line: 0,
                message: "the INF still contains `$ARCH$` placeholders: it was not stamped \
                          (hint: run stampinf, or use the built package from the WDK output)"
                    .into(),
            });
        }
        model.diagnostics = diags;
        model
    }

    /// Every driver node, in INF order (Manufacturer line, Models section, entry).
    pub fn nodes(&self) -> impl Iterator<Item = NodeRef<'_>> {
        self.manufacturers.iter().flat_map(move |m| {
            m.models.iter().flat_map(move |models| {
                models.entries.iter().map(move |entry| NodeRef {
                    manufacturer: m,
                    models,
                    entry,
                    install: entry.install.and_then(|i| self.installs.get(i)),
                })
            })
        })
    }

    /// The boot-critical verdict for a node's install section.
    pub fn boot_critical(&self, install: Option<&DdInstall>) -> BootCritical {
        BootCritical {
            boot_start_service: install
                .is_some_and(|i| i.services.iter().any(Service::is_boot_start)),
            storage_class: self.version.class.as_deref().is_some_and(|c| {
                STORAGE_CLASSES
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(c.trim()))
            }),
        }
    }

    /// The package's files: every file any resolved install section copies, once per source
    /// path (compared case-insensitively, as Windows compares file names).
    pub fn files(&self) -> Vec<&FileCopy> {
        let mut seen = std::collections::HashSet::new();
        self.installs
            .iter()
            .flat_map(|i| &i.files)
            .filter(|f| seen.insert(f.source_path().to_lowercase()))
            .collect()
    }

    /// How many paths from the INF were refused (`..`, absolute, drive, stream, device name).
    /// A package with refused paths is never complete.
    pub fn refused_paths(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.message.contains(paths::REFUSED))
            .count()
    }

    /// The DDInstall resolution for `base` on `arch`, if a models entry needed it.
    pub fn install(&self, base: &str, arch: Arch) -> Option<&DdInstall> {
        self.installs
            .iter()
            .find(|i| i.arch == arch && i.base.eq_ignore_ascii_case(base))
    }
}

fn read_entries(section: &Section, diags: &mut Vec<Diagnostic>) -> Vec<ModelEntry> {
    let mut out = Vec::new();
    for line in section.lines() {
        let Some(desc) = line.key() else {
            diags.push(Diagnostic {
                line: line.number(),
                message: format!("[{}] models line has no `=`", section.name()),
            });
            continue;
        };
        let field = |i: usize| line.fields().get(i).map(|f| f.trim()).unwrap_or_default();
        let install = field(0);
        let hardware_id = field(1).to_string();
        let compatible_ids: Vec<String> = line
            .fields()
            .skip(2)
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect();
        if hardware_id.is_empty() && compatible_ids.is_empty() {
            diags.push(Diagnostic {
                line: line.number(),
                message: format!(
                    "[{}] models line `{desc}` gives no hardware ID",
                    section.name()
                ),
            });
            continue;
        }
        out.push(ModelEntry {
            description: desc.trim().to_string(),
            install_section: (!install.is_empty()).then(|| install.to_string()),
            hardware_id,
            compatible_ids,
            line: line.number(),
            install: None,
        });
    }
    out
}

/// Case-insensitive section lookup over a parsed INF (names compare case-insensitively,
/// inf-behaviour.md §B #2, §H).
pub(crate) struct Sections<'a> {
    by_name: HashMap<String, &'a Section>,
}

impl<'a> Sections<'a> {
    pub(crate) fn new(inf: &'a Inf) -> Sections<'a> {
        let mut by_name = HashMap::with_capacity(inf.sections.len());
        for s in &inf.sections {
            by_name.entry(s.name().to_lowercase()).or_insert(s);
        }
        Sections { by_name }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&'a Section> {
        self.by_name.get(&name.to_lowercase()).copied()
    }
}

#[cfg(test)]
mod tests;
